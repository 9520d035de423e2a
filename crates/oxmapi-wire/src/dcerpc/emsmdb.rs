//! EMSMDB call stubs over DCE/RPC: [MS-OXCRPC 3.1.4](https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-oxcrpc/)
//! and the IDL of MS-OXCRPC 6 (interface a4f1db00-ca47-1067-b31f-00dd010662da v0.81,
//! [`super::SyntaxId::EMSMDB`]).
//!
//! Requests hold the `[in]` parameters, responses the `[out]` parameters and the return value,
//! in IDL order. The ROP and AUX buffers are opaque bytes here (see the `rpcext` and `rop`
//! modules for their contents).

use super::ndr::{
    ContextHandle, NdrCodec, NdrReader, NdrWriter, latin1_to_string, string_to_latin1,
};
use crate::data::ErrorCode;
use crate::error::{DecodeContext, DecodeError, DecodeResult, EncodeResult};

/// Opnum of EcDoDisconnect.
pub const OPNUM_EC_DO_DISCONNECT: u16 = 1;
/// Opnum of EcDoConnectEx.
pub const OPNUM_EC_DO_CONNECT_EX: u16 = 10;
/// Opnum of EcDoRpcExt2.
pub const OPNUM_EC_DO_RPC_EXT2: u16 = 11;

/// MS-OXCRPC 3.1.4.1 EcDoConnectEx request (`[in]` parameters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcDoConnectExRequest {
    /// szUserDN (`[in, string] unsigned char*`), 8-bit text.
    pub user_dn: String,
    /// ulFlags (0 for a normal user).
    pub flags: u32,
    /// ulConMod: a hash of the DN chosen by the client.
    pub con_mod: u32,
    /// cbLimit (0).
    pub cb_limit: u32,
    /// ulCpid: code page.
    pub cpid: u32,
    /// ulLcidString.
    pub lcid_string: u32,
    /// ulLcidSort.
    pub lcid_sort: u32,
    /// ulIcxrLink (0xFFFFFFFF: no link).
    pub icxr_link: u32,
    /// usFCanConvertCodePages.
    pub can_convert_code_pages: u16,
    /// rgwClientVersion.
    pub client_version: [u16; 3],
    /// pulTimeStamp (in).
    pub timestamp: u32,
    /// rgbAuxIn (cbAuxIn is its length).
    pub aux_in: Vec<u8>,
    /// pcbAuxOut (in): the largest AUX output the client accepts (≤ 0x1008).
    pub max_aux_out: u32,
}

/// MS-OXCRPC 3.1.4.1 EcDoConnectEx response (`[out]` parameters and return value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcDoConnectExResponse {
    /// pcxh: the session context handle.
    pub handle: ContextHandle,
    /// pcmsPollsMax.
    pub polls_max: u32,
    /// pcRetry.
    pub retry: u32,
    /// pcmsRetryDelay.
    pub retry_delay: u32,
    /// picxr.
    pub icxr: u16,
    /// szDNPrefix (null pointer: `None`).
    pub dn_prefix: Option<String>,
    /// szDisplayName (null pointer: `None`).
    pub display_name: Option<String>,
    /// rgwServerVersion.
    pub server_version: [u16; 3],
    /// rgwBestVersion.
    pub best_version: [u16; 3],
    /// pulTimeStamp (out).
    pub timestamp: u32,
    /// rgbAuxOut (pcbAuxOut out is its length).
    pub aux_out: Vec<u8>,
    /// Return value.
    pub result: ErrorCode,
}

/// MS-OXCRPC 3.1.4.2 EcDoRpcExt2 request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcDoRpcExt2Request {
    /// pcxh.
    pub handle: ContextHandle,
    /// pulFlags (in).
    pub flags: u32,
    /// rgbIn: RPC_HEADER_EXT + ROP request buffer(s); cbIn is its length.
    pub rgb_in: Vec<u8>,
    /// pcbOut (in): the largest rgbOut accepted (≤ 0x40000).
    pub max_out: u32,
    /// rgbAuxIn; cbAuxIn is its length.
    pub aux_in: Vec<u8>,
    /// pcbAuxOut (in, ≤ 0x1008).
    pub max_aux_out: u32,
}

/// MS-OXCRPC 3.1.4.2 EcDoRpcExt2 response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcDoRpcExt2Response {
    /// pcxh (null when the server closed the session).
    pub handle: ContextHandle,
    /// pulFlags (out).
    pub flags: u32,
    /// rgbOut; pcbOut (out) is its length.
    pub rgb_out: Vec<u8>,
    /// rgbAuxOut; pcbAuxOut (out) is its length.
    pub aux_out: Vec<u8>,
    /// pulTransTime.
    pub trans_time: u32,
    /// Return value.
    pub result: ErrorCode,
}

/// MS-OXCRPC 3.1.4.3 EcDoDisconnect request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EcDoDisconnectRequest {
    /// pcxh.
    pub handle: ContextHandle,
}

/// MS-OXCRPC 3.1.4.3 EcDoDisconnect response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EcDoDisconnectResponse {
    /// pcxh (null after a successful disconnect).
    pub handle: ContextHandle,
    /// Return value.
    pub result: ErrorCode,
}

impl NdrCodec for EcDoConnectExRequest {
    fn ndr_write(&self, w: &mut NdrWriter) -> EncodeResult {
        w.string_a(&string_to_latin1(&self.user_dn), "szUserDN")?;
        for v in [
            self.flags,
            self.con_mod,
            self.cb_limit,
            self.cpid,
            self.lcid_string,
            self.lcid_sort,
            self.icxr_link,
        ] {
            w.u32(v);
        }
        w.u16(self.can_convert_code_pages);
        for v in self.client_version {
            w.u16(v);
        }
        w.u32(self.timestamp);
        w.conformant_bytes(&self.aux_in, "rgbAuxIn")?;
        w.count(self.aux_in.len(), "EcDoConnectEx", "cbAuxIn")?;
        w.u32(self.max_aux_out);
        Ok(())
    }

    fn ndr_read(r: &mut NdrReader<'_>) -> DecodeResult<Self> {
        read_connect_req(r).within("EcDoConnectExRequest")
    }
}

fn read_connect_req(r: &mut NdrReader<'_>) -> DecodeResult<EcDoConnectExRequest> {
    let user_dn = latin1_to_string(&r.string_a("szUserDN")?);
    let flags = r.u32("ulFlags")?;
    let con_mod = r.u32("ulConMod")?;
    let cb_limit = r.u32("cbLimit")?;
    let cpid = r.u32("ulCpid")?;
    let lcid_string = r.u32("ulLcidString")?;
    let lcid_sort = r.u32("ulLcidSort")?;
    let icxr_link = r.u32("ulIcxrLink")?;
    let can_convert_code_pages = r.u16("usFCanConvertCodePages")?;
    let client_version = read_version(r, "rgwClientVersion")?;
    let timestamp = r.u32("pulTimeStamp")?;
    let aux_in = r.conformant_bytes("rgbAuxIn")?;
    check_len(r, aux_in.len(), "cbAuxIn")?;
    Ok(EcDoConnectExRequest {
        user_dn,
        flags,
        con_mod,
        cb_limit,
        cpid,
        lcid_string,
        lcid_sort,
        icxr_link,
        can_convert_code_pages,
        client_version,
        timestamp,
        aux_in,
        max_aux_out: r.u32("pcbAuxOut")?,
    })
}

impl NdrCodec for EcDoConnectExResponse {
    fn ndr_write(&self, w: &mut NdrWriter) -> EncodeResult {
        w.context_handle(&self.handle);
        w.u32(self.polls_max);
        w.u32(self.retry);
        w.u32(self.retry_delay);
        w.u16(self.icxr);
        for s in [&self.dn_prefix, &self.display_name] {
            if let Some(s) = s {
                w.referent();
                w.string_a(&string_to_latin1(s), "string")?;
            } else {
                w.null();
            }
        }
        for v in self.server_version.iter().chain(&self.best_version) {
            w.u16(*v);
        }
        w.u32(self.timestamp);
        w.varying_bytes(&self.aux_out, "rgbAuxOut")?;
        w.count(self.aux_out.len(), "EcDoConnectEx", "pcbAuxOut")?;
        w.u32(self.result.0);
        Ok(())
    }

    fn ndr_read(r: &mut NdrReader<'_>) -> DecodeResult<Self> {
        read_connect_resp(r).within("EcDoConnectExResponse")
    }
}

fn read_connect_resp(r: &mut NdrReader<'_>) -> DecodeResult<EcDoConnectExResponse> {
    let handle = r.context_handle("pcxh")?;
    let polls_max = r.u32("pcmsPollsMax")?;
    let retry = r.u32("pcRetry")?;
    let retry_delay = r.u32("pcmsRetryDelay")?;
    let icxr = r.u16("picxr")?;
    let dn_prefix = read_opt_string_a(r, "szDNPrefix")?;
    let display_name = read_opt_string_a(r, "szDisplayName")?;
    let server_version = read_version(r, "rgwServerVersion")?;
    let best_version = read_version(r, "rgwBestVersion")?;
    let timestamp = r.u32("pulTimeStamp")?;
    let aux_out = r.varying_bytes("rgbAuxOut")?;
    check_len(r, aux_out.len(), "pcbAuxOut")?;
    Ok(EcDoConnectExResponse {
        handle,
        polls_max,
        retry,
        retry_delay,
        icxr,
        dn_prefix,
        display_name,
        server_version,
        best_version,
        timestamp,
        aux_out,
        result: ErrorCode(r.u32("return")?),
    })
}

impl NdrCodec for EcDoRpcExt2Request {
    fn ndr_write(&self, w: &mut NdrWriter) -> EncodeResult {
        w.context_handle(&self.handle);
        w.u32(self.flags);
        w.conformant_bytes(&self.rgb_in, "rgbIn")?;
        w.count(self.rgb_in.len(), "EcDoRpcExt2", "cbIn")?;
        w.u32(self.max_out);
        w.conformant_bytes(&self.aux_in, "rgbAuxIn")?;
        w.count(self.aux_in.len(), "EcDoRpcExt2", "cbAuxIn")?;
        w.u32(self.max_aux_out);
        Ok(())
    }

    fn ndr_read(r: &mut NdrReader<'_>) -> DecodeResult<Self> {
        (|| {
            let handle = r.context_handle("pcxh")?;
            let flags = r.u32("pulFlags")?;
            let rgb_in = r.conformant_bytes("rgbIn")?;
            check_len(r, rgb_in.len(), "cbIn")?;
            let max_out = r.u32("pcbOut")?;
            let aux_in = r.conformant_bytes("rgbAuxIn")?;
            check_len(r, aux_in.len(), "cbAuxIn")?;
            Ok(Self {
                handle,
                flags,
                rgb_in,
                max_out,
                aux_in,
                max_aux_out: r.u32("pcbAuxOut")?,
            })
        })()
        .within("EcDoRpcExt2Request")
    }
}

impl NdrCodec for EcDoRpcExt2Response {
    fn ndr_write(&self, w: &mut NdrWriter) -> EncodeResult {
        w.context_handle(&self.handle);
        w.u32(self.flags);
        w.varying_bytes(&self.rgb_out, "rgbOut")?;
        w.count(self.rgb_out.len(), "EcDoRpcExt2", "pcbOut")?;
        w.varying_bytes(&self.aux_out, "rgbAuxOut")?;
        w.count(self.aux_out.len(), "EcDoRpcExt2", "pcbAuxOut")?;
        w.u32(self.trans_time);
        w.u32(self.result.0);
        Ok(())
    }

    fn ndr_read(r: &mut NdrReader<'_>) -> DecodeResult<Self> {
        (|| {
            let handle = r.context_handle("pcxh")?;
            let flags = r.u32("pulFlags")?;
            let rgb_out = r.varying_bytes("rgbOut")?;
            check_len(r, rgb_out.len(), "pcbOut")?;
            let aux_out = r.varying_bytes("rgbAuxOut")?;
            check_len(r, aux_out.len(), "pcbAuxOut")?;
            Ok(Self {
                handle,
                flags,
                rgb_out,
                aux_out,
                trans_time: r.u32("pulTransTime")?,
                result: ErrorCode(r.u32("return")?),
            })
        })()
        .within("EcDoRpcExt2Response")
    }
}

impl NdrCodec for EcDoDisconnectRequest {
    fn ndr_write(&self, w: &mut NdrWriter) -> EncodeResult {
        w.context_handle(&self.handle);
        Ok(())
    }

    fn ndr_read(r: &mut NdrReader<'_>) -> DecodeResult<Self> {
        Ok(Self {
            handle: r.context_handle("pcxh").within("EcDoDisconnectRequest")?,
        })
    }
}

impl NdrCodec for EcDoDisconnectResponse {
    fn ndr_write(&self, w: &mut NdrWriter) -> EncodeResult {
        w.context_handle(&self.handle);
        w.u32(self.result.0);
        Ok(())
    }

    fn ndr_read(r: &mut NdrReader<'_>) -> DecodeResult<Self> {
        (|| {
            Ok(Self {
                handle: r.context_handle("pcxh")?,
                result: ErrorCode(r.u32("return")?),
            })
        })()
        .within("EcDoDisconnectResponse")
    }
}

fn read_version(r: &mut NdrReader<'_>, field: &'static str) -> DecodeResult<[u16; 3]> {
    Ok([r.u16(field)?, r.u16(field)?, r.u16(field)?])
}

/// `[out, string] unsigned char**`: a unique referent then the string.
pub(crate) fn read_opt_string_a(
    r: &mut NdrReader<'_>,
    field: &'static str,
) -> DecodeResult<Option<String>> {
    if r.pointer(field)? {
        Ok(Some(latin1_to_string(&r.string_a(field)?)))
    } else {
        Ok(None)
    }
}

/// Reads a u32 length parameter that must equal the array's count.
fn check_len(r: &mut NdrReader<'_>, len: usize, field: &'static str) -> DecodeResult<()> {
    let at = r.offset();
    let v = r.u32(field)?;
    if usize::try_from(v).ok() != Some(len) {
        return Err(DecodeError::invalid(
            field,
            at,
            format!("{v} does not match the array length {len}"),
        ));
    }
    Ok(())
}
