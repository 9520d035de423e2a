//! Mailbox endpoint (EMSMDB) request and response bodies (MS-OXCMAPIHTTP 2.2.4).
//!
//! [MS-OXCMAPIHTTP 2.2.4 Request Types for Mailbox Server Endpoint](https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-oxcmapihttp/22073d61-1311-45bb-a247-9a0e6af8666f)
//!
//! Responses are [`Response`]s: the success structs here hold the fields after StatusCode.

use crate::cursor::{Decode, Encode, ReadCursor, WriteCursor, count_u32};
use crate::error::{DecodeContext, DecodeResult, EncodeError, EncodeResult};
use crate::mapihttp::{Response, ResponseBody, read_aux, write_aux};

/// Execute request Flags / EcDoRpcExt2 pulFlags bit: do not compress the response.
pub const EXECUTE_FLAG_NO_COMPRESSION: u32 = 0x0000_0001;
/// Execute request Flags bit: do not XOR-obfuscate the response.
pub const EXECUTE_FLAG_NO_XOR_MAGIC: u32 = 0x0000_0002;
/// Execute request Flags bit: the server may chain several RPC_HEADER_EXT segments.
pub const EXECUTE_FLAG_CHAIN: u32 = 0x0000_0004;
/// Connect request Flags: normal user logon.
pub const CONNECT_FLAG_NONE: u32 = 0x0000_0000;
/// Connect request Flags: administrator privilege requested.
pub const CONNECT_FLAG_ADMIN: u32 = 0x0000_0001;

/// Connect request body (MS-OXCMAPIHTTP 2.2.4.1.1).
///
/// Field order follows the spec (DefaultCodePage, LcidSort, LcidString); gromox and ruler read
/// LcidString before LcidSort, so send the same value in both.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectRequest {
    /// UserDn: the user's legacyExchangeDN (ASCII, NUL-terminated).
    pub user_dn: String,
    /// Flags: [`CONNECT_FLAG_NONE`] or [`CONNECT_FLAG_ADMIN`].
    pub flags: u32,
    /// DefaultCodePage.
    pub default_code_page: u32,
    /// LcidSort.
    pub lcid_sort: u32,
    /// LcidString.
    pub lcid_string: u32,
    /// AuxiliaryBuffer (opaque).
    pub aux: Vec<u8>,
}

impl Decode for ConnectRequest {
    fn decode(r: &mut ReadCursor<'_>) -> DecodeResult<Self> {
        (|| {
            Ok(Self {
                user_dn: r.ascii_z("UserDn")?,
                flags: r.u32("Flags")?,
                default_code_page: r.u32("DefaultCodePage")?,
                lcid_sort: r.u32("LcidSort")?,
                lcid_string: r.u32("LcidString")?,
                aux: read_aux(r)?,
            })
        })()
        .within("ConnectRequest")
    }
}

impl Encode for ConnectRequest {
    fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        write_ascii_z(w, &self.user_dn, "ConnectRequest", "UserDn")?;
        w.u32(self.flags);
        w.u32(self.default_code_page);
        w.u32(self.lcid_sort);
        w.u32(self.lcid_string);
        write_aux(w, &self.aux, "ConnectRequest")
    }
}

/// Connect success response fields after StatusCode (MS-OXCMAPIHTTP 2.2.4.1.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectSuccess {
    /// ErrorCode: the result of the operation (0 on success).
    pub error_code: u32,
    /// PollsMax: milliseconds between NotificationWait polls.
    pub polls_max: u32,
    /// RetryCount.
    pub retry_count: u32,
    /// RetryDelay in milliseconds.
    pub retry_delay: u32,
    /// DnPrefix (ASCII, NUL-terminated).
    pub dn_prefix: String,
    /// DisplayName (UTF-16LE, NUL-terminated).
    pub display_name: String,
    /// AuxiliaryBuffer (opaque).
    pub aux: Vec<u8>,
}

impl ResponseBody for ConnectSuccess {
    const NAME: &'static str = "ConnectResponse";

    fn decode_body(r: &mut ReadCursor<'_>) -> DecodeResult<Self> {
        Ok(Self {
            error_code: r.u32("ErrorCode")?,
            polls_max: r.u32("PollsMax")?,
            retry_count: r.u32("RetryCount")?,
            retry_delay: r.u32("RetryDelay")?,
            dn_prefix: r.ascii_z("DnPrefix")?,
            display_name: r.utf16_z("DisplayName")?,
            aux: read_aux(r)?,
        })
    }

    fn encode_body(&self, w: &mut WriteCursor) -> EncodeResult {
        w.u32(self.error_code);
        w.u32(self.polls_max);
        w.u32(self.retry_count);
        w.u32(self.retry_delay);
        write_ascii_z(w, &self.dn_prefix, Self::NAME, "DnPrefix")?;
        write_utf16_z(w, &self.display_name, Self::NAME, "DisplayName")?;
        write_aux(w, &self.aux, Self::NAME)
    }
}

/// Connect response body (2.2.4.1.2 success, 2.2.4.1.3 failure).
pub type ConnectResponse = Response<ConnectSuccess>;

/// Execute request body (MS-OXCMAPIHTTP 2.2.4.2.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExecuteRequest {
    /// Flags: [`EXECUTE_FLAG_NO_COMPRESSION`], [`EXECUTE_FLAG_NO_XOR_MAGIC`], [`EXECUTE_FLAG_CHAIN`].
    pub flags: u32,
    /// RopBuffer: RPC_HEADER_EXT and the ROP request payload (opaque here).
    pub rop_buffer: Vec<u8>,
    /// MaxRopOut: the largest RopBuffer the client accepts in the response.
    pub max_rop_out: u32,
    /// AuxiliaryBuffer (opaque).
    pub aux: Vec<u8>,
}

impl Decode for ExecuteRequest {
    fn decode(r: &mut ReadCursor<'_>) -> DecodeResult<Self> {
        (|| {
            let flags = r.u32("Flags")?;
            let n = r.u32("RopBufferSize")? as usize;
            Ok(Self {
                flags,
                rop_buffer: r.bytes(n, "RopBuffer")?.to_vec(),
                max_rop_out: r.u32("MaxRopOut")?,
                aux: read_aux(r)?,
            })
        })()
        .within("ExecuteRequest")
    }
}

impl Encode for ExecuteRequest {
    fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        w.u32(self.flags);
        write_buf(w, &self.rop_buffer, "ExecuteRequest", "RopBufferSize")?;
        w.u32(self.max_rop_out);
        write_aux(w, &self.aux, "ExecuteRequest")
    }
}

/// Execute success response fields after StatusCode (MS-OXCMAPIHTTP 2.2.4.2.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExecuteSuccess {
    /// ErrorCode.
    pub error_code: u32,
    /// Flags (reserved, 0).
    pub flags: u32,
    /// RopBuffer: one or more RPC_HEADER_EXT segments with ROP responses (opaque here).
    pub rop_buffer: Vec<u8>,
    /// AuxiliaryBuffer (opaque).
    pub aux: Vec<u8>,
}

impl ResponseBody for ExecuteSuccess {
    const NAME: &'static str = "ExecuteResponse";

    fn decode_body(r: &mut ReadCursor<'_>) -> DecodeResult<Self> {
        let error_code = r.u32("ErrorCode")?;
        let flags = r.u32("Flags")?;
        let n = r.u32("RopBufferSize")? as usize;
        Ok(Self {
            error_code,
            flags,
            rop_buffer: r.bytes(n, "RopBuffer")?.to_vec(),
            aux: read_aux(r)?,
        })
    }

    fn encode_body(&self, w: &mut WriteCursor) -> EncodeResult {
        w.u32(self.error_code);
        w.u32(self.flags);
        write_buf(w, &self.rop_buffer, Self::NAME, "RopBufferSize")?;
        write_aux(w, &self.aux, Self::NAME)
    }
}

/// Execute response body.
pub type ExecuteResponse = Response<ExecuteSuccess>;

/// Disconnect request body (MS-OXCMAPIHTTP 2.2.4.3.1): only the auxiliary buffer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DisconnectRequest {
    /// AuxiliaryBuffer (opaque).
    pub aux: Vec<u8>,
}

impl Decode for DisconnectRequest {
    fn decode(r: &mut ReadCursor<'_>) -> DecodeResult<Self> {
        Ok(Self {
            aux: read_aux(r).within("DisconnectRequest")?,
        })
    }
}

impl Encode for DisconnectRequest {
    fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        write_aux(w, &self.aux, "DisconnectRequest")
    }
}

/// Disconnect (and any ErrorCode-plus-Aux) success response fields (2.2.4.3.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DisconnectSuccess {
    /// ErrorCode.
    pub error_code: u32,
    /// AuxiliaryBuffer (opaque).
    pub aux: Vec<u8>,
}

impl ResponseBody for DisconnectSuccess {
    const NAME: &'static str = "DisconnectResponse";

    fn decode_body(r: &mut ReadCursor<'_>) -> DecodeResult<Self> {
        Ok(Self {
            error_code: r.u32("ErrorCode")?,
            aux: read_aux(r)?,
        })
    }

    fn encode_body(&self, w: &mut WriteCursor) -> EncodeResult {
        w.u32(self.error_code);
        write_aux(w, &self.aux, Self::NAME)
    }
}

/// Disconnect response body.
pub type DisconnectResponse = Response<DisconnectSuccess>;

/// NotificationWait request body (MS-OXCMAPIHTTP 2.2.4.4.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NotificationWaitRequest {
    /// Flags (reserved, 0).
    pub flags: u32,
    /// AuxiliaryBuffer (opaque).
    pub aux: Vec<u8>,
}

impl Decode for NotificationWaitRequest {
    fn decode(r: &mut ReadCursor<'_>) -> DecodeResult<Self> {
        (|| {
            Ok(Self {
                flags: r.u32("Flags")?,
                aux: read_aux(r)?,
            })
        })()
        .within("NotificationWaitRequest")
    }
}

impl Encode for NotificationWaitRequest {
    fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        w.u32(self.flags);
        write_aux(w, &self.aux, "NotificationWaitRequest")
    }
}

/// NotificationWait success response fields after StatusCode (MS-OXCMAPIHTTP 2.2.4.4.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NotificationWaitSuccess {
    /// ErrorCode.
    pub error_code: u32,
    /// EventPending: non-zero when an event is waiting (collect it with Execute/RopNotify).
    pub event_pending: u32,
    /// AuxiliaryBuffer (opaque).
    pub aux: Vec<u8>,
}

impl ResponseBody for NotificationWaitSuccess {
    const NAME: &'static str = "NotificationWaitResponse";

    fn decode_body(r: &mut ReadCursor<'_>) -> DecodeResult<Self> {
        Ok(Self {
            error_code: r.u32("ErrorCode")?,
            event_pending: r.u32("EventPending")?,
            aux: read_aux(r)?,
        })
    }

    fn encode_body(&self, w: &mut WriteCursor) -> EncodeResult {
        w.u32(self.error_code);
        w.u32(self.event_pending);
        write_aux(w, &self.aux, Self::NAME)
    }
}

/// NotificationWait response body.
pub type NotificationWaitResponse = Response<NotificationWaitSuccess>;

fn write_buf(
    w: &mut WriteCursor,
    b: &[u8],
    structure: &'static str,
    field: &'static str,
) -> EncodeResult {
    w.u32(count_u32(b.len(), structure, field)?);
    w.bytes(b);
    Ok(())
}

/// Writes an 8-bit NUL-terminated string, refusing embedded NULs and non-Latin-1 text
/// (which would not read back the same).
pub(crate) fn write_ascii_z(
    w: &mut WriteCursor,
    s: &str,
    structure: &'static str,
    field: &'static str,
) -> EncodeResult {
    if s.chars().any(|c| c == '\0' || u32::from(c) > 0xFF) {
        return Err(EncodeError::Invalid {
            structure,
            field,
            detail: "contains NUL or a character outside Latin-1".into(),
        });
    }
    w.ascii_z(s);
    Ok(())
}

/// Writes a UTF-16LE NUL-terminated string, refusing embedded NULs.
pub(crate) fn write_utf16_z(
    w: &mut WriteCursor,
    s: &str,
    structure: &'static str,
    field: &'static str,
) -> EncodeResult {
    if s.contains('\0') {
        return Err(EncodeError::Invalid {
            structure,
            field,
            detail: "contains a NUL character".into(),
        });
    }
    w.utf16_z(s);
    Ok(())
}
