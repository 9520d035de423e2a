//! MS-OXCRPC 2.2.2.2 auxiliary buffers: AUX_HEADER and the auxiliary blocks.
//!
//! [MS-OXCRPC 3.1.4.1.2 Auxiliary Buffer](https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-oxcrpc/a0266e59-0715-4de7-a4f0-5d5fa115324a):
//! an auxiliary buffer is one RPC_HEADER_EXT with `Last` whose payload is a sequence of
//! blocks, each an AUX_HEADER followed by the block structure its Version and Type select.
//! Unknown blocks are kept as raw bytes.

use std::fmt;

use super::header::{PackOptions, UnpackLimits, pack_segment, unpack_segments_within};
use crate::cursor::{Decode, Encode, ReadCursor, WriteCursor, count_u16};
use crate::error::{DecodeContext, DecodeError, DecodeResult, EncodeError, EncodeResult};

/// AUX_HEADER `Type` (MS-OXCRPC 2.2.2.2), an open set.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AuxType(pub u8);

macro_rules! aux_types {
    ($($name:ident = $value:expr;)*) => {
        impl AuxType {
            $(
                #[doc = concat!("`AUX_TYPE_", stringify!($name), "`")]
                pub const $name: Self = Self($value);
            )*

            /// The specification's name without the `AUX_TYPE_` prefix, for known types.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $( $value => Some(stringify!($name)), )*
                    _ => None,
                }
            }
        }
    };
}

aux_types! {
    PERF_REQUESTID = 0x01;
    PERF_CLIENTINFO = 0x02;
    PERF_SERVERINFO = 0x03;
    PERF_SESSIONINFO = 0x04;
    PERF_DEFMDB_SUCCESS = 0x05;
    PERF_DEFGC_SUCCESS = 0x06;
    PERF_MDB_SUCCESS = 0x07;
    PERF_GC_SUCCESS = 0x08;
    PERF_FAILURE = 0x09;
    CLIENT_CONTROL = 0x0A;
    PERF_PROCESSINFO = 0x0B;
    PERF_BG_DEFMDB_SUCCESS = 0x0C;
    PERF_BG_DEFGC_SUCCESS = 0x0D;
    PERF_BG_MDB_SUCCESS = 0x0E;
    PERF_BG_GC_SUCCESS = 0x0F;
    PERF_BG_FAILURE = 0x10;
    PERF_FG_DEFMDB_SUCCESS = 0x11;
    PERF_FG_DEFGC_SUCCESS = 0x12;
    PERF_FG_MDB_SUCCESS = 0x13;
    PERF_FG_GC_SUCCESS = 0x14;
    PERF_FG_FAILURE = 0x15;
    OSVERSIONINFO = 0x16;
    EXORGINFO = 0x17;
    PERF_ACCOUNTINFO = 0x18;
    SERVER_CAPABILITIES = 0x46;
    ENDPOINT_CAPABILITIES = 0x48;
    CLIENT_CONNECTION_INFO = 0x4A;
    SERVER_SESSION_INFO = 0x4B;
    PROTOCOL_DEVICE_ID = 0x4E;
}

impl fmt::Debug for AuxType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "AUX_TYPE_{n}"),
            None => write!(f, "AuxType({:#04x})", self.0),
        }
    }
}

/// `AUX_VERSION_1`.
pub const AUX_VERSION_1: u8 = 1;
/// `AUX_VERSION_2` (selects the `_V2` block of some types).
pub const AUX_VERSION_2: u8 = 2;

/// MS-OXCRPC 2.2.2.2 AUX_HEADER.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuxHeader {
    /// `Size`: this header plus the block that follows, in bytes.
    pub size: u16,
    /// `Version`: 1 or 2.
    pub version: u8,
    /// `Type`.
    pub ty: AuxType,
}

impl AuxHeader {
    /// Wire size: Size (2) + Version (1) + Type (1).
    pub const FIXED_PART_SIZE: usize = 4;
}

impl Decode for AuxHeader {
    fn decode(r: &mut ReadCursor<'_>) -> DecodeResult<Self> {
        let at = r.offset();
        let h = Self {
            size: r.u16("Size")?,
            version: r.u8("Version")?,
            ty: AuxType(r.u8("Type")?),
        };
        if usize::from(h.size) < Self::FIXED_PART_SIZE {
            let detail = format!("{} is smaller than the 4-byte header", h.size);
            return Err(DecodeError::invalid("Size", at, detail).within("AUX_HEADER"));
        }
        Ok(h)
    }
}

impl Encode for AuxHeader {
    fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        w.u16(self.size);
        w.u8(self.version);
        w.u8(self.ty.0);
        Ok(())
    }
}

/// One auxiliary block: the header's Version and Type and the raw block bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuxBlock {
    /// AUX_HEADER `Version`.
    pub version: u8,
    /// AUX_HEADER `Type`.
    pub ty: AuxType,
    /// The block after the AUX_HEADER (including any alignment padding).
    pub payload: Vec<u8>,
}

/// The typed content of an [`AuxBlock`] (see [`AuxBlock::body`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuxBody {
    /// AUX_PERF_CLIENTINFO.
    PerfClientInfo(PerfClientInfo),
    /// AUX_PERF_SESSIONINFO (version 1).
    PerfSessionInfo(PerfSessionInfo),
    /// AUX_PERF_SESSIONINFO_V2 (version 2).
    PerfSessionInfoV2(PerfSessionInfoV2),
    /// AUX_CLIENT_CONTROL.
    ClientControl(ClientControl),
    /// AUX_EXORGINFO.
    ExOrgInfo(ExOrgInfo),
    /// AUX_ENDPOINT_CAPABILITIES.
    EndpointCapabilities(EndpointCapabilities),
    /// A Version/Type pair this crate does not decode.
    Unknown,
}

impl AuxBlock {
    /// Decodes the block according to its Version and Type.
    pub fn body(&self) -> DecodeResult<AuxBody> {
        let p = &self.payload;
        Ok(match (self.ty, self.version) {
            (AuxType::PERF_CLIENTINFO, AUX_VERSION_1) => {
                AuxBody::PerfClientInfo(PerfClientInfo::decode_block(p)?)
            }
            (AuxType::PERF_SESSIONINFO, AUX_VERSION_1) => {
                AuxBody::PerfSessionInfo(PerfSessionInfo::decode_block(p)?)
            }
            (AuxType::PERF_SESSIONINFO, AUX_VERSION_2) => {
                AuxBody::PerfSessionInfoV2(PerfSessionInfoV2::decode_block(p)?)
            }
            (AuxType::CLIENT_CONTROL, AUX_VERSION_1) => {
                AuxBody::ClientControl(ClientControl::decode_block(p)?)
            }
            (AuxType::EXORGINFO, AUX_VERSION_1) => AuxBody::ExOrgInfo(ExOrgInfo::decode_block(p)?),
            (AuxType::ENDPOINT_CAPABILITIES, AUX_VERSION_1) => {
                AuxBody::EndpointCapabilities(EndpointCapabilities::decode_block(p)?)
            }
            _ => AuxBody::Unknown,
        })
    }
}

/// Decodes an auxiliary buffer (`rgbAuxIn`/`rgbAuxOut`, or a MAPI/HTTP AuxiliaryBuffer).
///
/// An empty buffer has no blocks. Otherwise it must be exactly one RPC_HEADER_EXT with
/// `Last` (it may be compressed and/or obfuscated), whose payload is parsed into blocks.
pub fn decode_aux_buffer(buf: &[u8]) -> DecodeResult<Vec<AuxBlock>> {
    if buf.is_empty() {
        return Ok(Vec::new());
    }
    let segments = unpack_segments_within(buf, UnpackLimits::AUX).within("auxiliary buffer")?;
    // unpack_segments stops at the first Last header and rejects trailing bytes.
    let [segment] = segments.as_slice() else {
        let offset = segments.get(1).map_or(0, |s| s.payload_offset - 8);
        let detail = "an auxiliary buffer carries exactly one RPC_HEADER_EXT";
        return Err(
            DecodeError::invalid("RPC_HEADER_EXT", offset, detail).within("auxiliary buffer")
        );
    };
    decode_blocks(&segment.payload, segment.payload_offset).within("auxiliary buffer")
}

/// Parses the AUX_HEADER-prefixed blocks of an auxiliary buffer payload.
///
/// `base` is the absolute offset of the payload, for errors (when the payload was
/// compressed, offsets refer to the decompressed bytes).
pub fn decode_blocks(payload: &[u8], base: usize) -> DecodeResult<Vec<AuxBlock>> {
    let mut r = ReadCursor::with_base(payload, base);
    let mut blocks = Vec::new();
    while !r.is_empty() {
        let h = AuxHeader::decode(&mut r)?;
        let len = usize::from(h.size) - AuxHeader::FIXED_PART_SIZE;
        let body = r.bytes(len, "AuxiliaryBlock").within("AUX_HEADER")?;
        blocks.push(AuxBlock {
            version: h.version,
            ty: h.ty,
            payload: body.to_vec(),
        });
    }
    Ok(blocks)
}

/// Encodes blocks into an auxiliary buffer: one RPC_HEADER_EXT with `Last`.
///
/// `opts.last` is ignored (always set). Fails when a block or the whole payload does not
/// fit the u16 size fields.
pub fn encode_aux_buffer(blocks: &[AuxBlock], opts: PackOptions) -> EncodeResult<Vec<u8>> {
    let mut w = WriteCursor::new();
    for b in blocks {
        let size = AuxHeader::FIXED_PART_SIZE + b.payload.len();
        let size = u16::try_from(size).map_err(|_| EncodeError::TooLarge {
            structure: "AUX_HEADER",
            field: "Size",
            value: size,
            max: usize::from(u16::MAX),
        })?;
        AuxHeader {
            size,
            version: b.version,
            ty: b.ty,
        }
        .encode(&mut w)?;
        w.bytes(&b.payload);
    }
    pack_segment(w.as_slice(), PackOptions { last: true, ..opts })
}

/// MS-OXCRPC 2.2.2.2.17 AUX_EXORGINFO `OrgFlags`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExOrgInfo {
    /// `OrgFlags`, see the associated constants.
    pub org_flags: u32,
}

impl ExOrgInfo {
    /// `PUBLIC_FOLDERS_ENABLED`: the organization has public folders.
    pub const PUBLIC_FOLDERS_ENABLED: u32 = 0x0000_0001;
    /// `USE_AUTODISCOVER_FOR_PUBLIC_FOLDER_CONFIGURATION`.
    pub const USE_AUTODISCOVER_FOR_PUBLIC_FOLDER_CONFIGURATION: u32 = 0x0000_0002;

    /// True when public folders are enabled.
    pub fn public_folders_enabled(&self) -> bool {
        self.org_flags & Self::PUBLIC_FOLDERS_ENABLED != 0
    }

    fn decode_block(p: &[u8]) -> DecodeResult<Self> {
        let mut r = ReadCursor::new(p);
        let org_flags = r.u32("OrgFlags").within("AUX_EXORGINFO")?;
        Ok(Self { org_flags })
    }

    /// The block with its AUX_HEADER Version 1 / Type EXORGINFO.
    pub fn to_block(&self) -> AuxBlock {
        block(AUX_VERSION_1, AuxType::EXORGINFO, |w| w.u32(self.org_flags))
    }
}

/// MS-OXCRPC 2.2.2.2.15 AUX_CLIENT_CONTROL: the server asks the client to change behavior.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClientControl {
    /// `EnableFlags`, see the associated constants.
    pub enable_flags: u32,
    /// `ExpiryTime`: milliseconds the request stays in force.
    pub expiry_time: u32,
}

impl ClientControl {
    /// `ENABLE_PERF_SENDTOSERVER`.
    pub const ENABLE_PERF_SENDTOSERVER: u32 = 0x01;
    /// `ENABLE_COMPRESSION`.
    pub const ENABLE_COMPRESSION: u32 = 0x04;
    /// `ENABLE_HTTP_TUNNELING`.
    pub const ENABLE_HTTP_TUNNELING: u32 = 0x08;
    /// `ENABLE_PERF_SENDGCDATA`.
    pub const ENABLE_PERF_SENDGCDATA: u32 = 0x10;

    fn decode_block(p: &[u8]) -> DecodeResult<Self> {
        let mut r = ReadCursor::new(p);
        let decode = |r: &mut ReadCursor<'_>| {
            Ok(Self {
                enable_flags: r.u32("EnableFlags")?,
                expiry_time: r.u32("ExpiryTime")?,
            })
        };
        decode(&mut r).within("AUX_CLIENT_CONTROL")
    }

    /// The block with its AUX_HEADER Version 1 / Type CLIENT_CONTROL.
    pub fn to_block(&self) -> AuxBlock {
        block(AUX_VERSION_1, AuxType::CLIENT_CONTROL, |w| {
            w.u32(self.enable_flags);
            w.u32(self.expiry_time);
        })
    }
}

/// MS-OXCRPC 2.2.2.2 AUX_ENDPOINT_CAPABILITIES (Type 0x48): what the server endpoint supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EndpointCapabilities {
    /// `EndpointCapabilityFlag`, see the associated constants.
    pub flags: u32,
}

impl EndpointCapabilities {
    /// `ENDPOINT_CAPABILITIES_SINGLE_ENDPOINT`: mailbox and address book share one endpoint.
    pub const SINGLE_ENDPOINT: u32 = 0x0000_0001;

    fn decode_block(p: &[u8]) -> DecodeResult<Self> {
        let mut r = ReadCursor::new(p);
        let flags = r
            .u32("EndpointCapabilityFlag")
            .within("AUX_ENDPOINT_CAPABILITIES")?;
        Ok(Self { flags })
    }

    /// The block with its AUX_HEADER Version 1 / Type ENDPOINT_CAPABILITIES.
    pub fn to_block(&self) -> AuxBlock {
        block(AUX_VERSION_1, AuxType::ENDPOINT_CAPABILITIES, |w| {
            w.u32(self.flags)
        })
    }
}

/// MS-OXCRPC 2.2.2.2.2 AUX_PERF_SESSIONINFO (client to server).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PerfSessionInfo {
    /// `SessionID`: client-assigned session number.
    pub session_id: u16,
    /// `SessionGuid`, raw wire bytes.
    pub session_guid: [u8; 16],
}

impl PerfSessionInfo {
    fn decode_block(p: &[u8]) -> DecodeResult<Self> {
        let mut r = ReadCursor::new(p);
        let decode = |r: &mut ReadCursor<'_>| {
            let session_id = r.u16("SessionID")?;
            r.skip(2, "Reserved")?;
            Ok(Self {
                session_id,
                session_guid: r.guid("SessionGuid")?,
            })
        };
        decode(&mut r).within("AUX_PERF_SESSIONINFO")
    }

    /// The block with its AUX_HEADER Version 1 / Type PERF_SESSIONINFO.
    pub fn to_block(&self) -> AuxBlock {
        block(AUX_VERSION_1, AuxType::PERF_SESSIONINFO, |w| {
            w.u16(self.session_id);
            w.u16(0);
            w.bytes(&self.session_guid);
        })
    }
}

/// MS-OXCRPC 2.2.2.2.3 AUX_PERF_SESSIONINFO_V2 (client to server).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PerfSessionInfoV2 {
    /// `SessionID`: client-assigned session number.
    pub session_id: u16,
    /// `SessionGuid`, raw wire bytes.
    pub session_guid: [u8; 16],
    /// `ConnectionID`: client-assigned connection number.
    pub connection_id: u32,
}

impl PerfSessionInfoV2 {
    fn decode_block(p: &[u8]) -> DecodeResult<Self> {
        let mut r = ReadCursor::new(p);
        let decode = |r: &mut ReadCursor<'_>| {
            let session_id = r.u16("SessionID")?;
            r.skip(2, "Reserved")?;
            Ok(Self {
                session_id,
                session_guid: r.guid("SessionGuid")?,
                connection_id: r.u32("ConnectionID")?,
            })
        };
        decode(&mut r).within("AUX_PERF_SESSIONINFO_V2")
    }

    /// The block with its AUX_HEADER Version 2 / Type PERF_SESSIONINFO.
    pub fn to_block(&self) -> AuxBlock {
        block(AUX_VERSION_2, AuxType::PERF_SESSIONINFO, |w| {
            w.u16(self.session_id);
            w.u16(0);
            w.bytes(&self.session_guid);
            w.u32(self.connection_id);
        })
    }
}

/// MS-OXCRPC 2.2.2.2.4 AUX_PERF_CLIENTINFO (client to server).
///
/// The variable fields are located by offsets counted from the start of the AUX_HEADER;
/// an offset of 0 means the field is absent. Strings are NUL-terminated UTF-16LE.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PerfClientInfo {
    /// `AdapterSpeed`: kilobits per second.
    pub adapter_speed: u32,
    /// `ClientID`: client-assigned number.
    pub client_id: u16,
    /// `MachineName`.
    pub machine_name: Option<String>,
    /// `UserName`.
    pub user_name: Option<String>,
    /// `ClientIP`.
    pub client_ip: Option<Vec<u8>>,
    /// `ClientIPMask`.
    pub client_ip_mask: Option<Vec<u8>>,
    /// `AdapterName`.
    pub adapter_name: Option<String>,
    /// `MacAddress`.
    pub mac_address: Option<Vec<u8>>,
    /// `ClientMode`: see the `CLIENTMODE_*` constants.
    pub client_mode: u16,
}

impl PerfClientInfo {
    /// `CLIENTMODE_UNKNOWN`.
    pub const CLIENTMODE_UNKNOWN: u16 = 0;
    /// `CLIENTMODE_CLASSIC`: online mode.
    pub const CLIENTMODE_CLASSIC: u16 = 1;
    /// `CLIENTMODE_CACHED`: cached mode.
    pub const CLIENTMODE_CACHED: u16 = 2;

    /// Fixed part after the AUX_HEADER: AdapterSpeed (4) + ClientID (2) + MachineNameOffset
    /// (2) + UserNameOffset (2) + ClientIPSize (2) + ClientIPOffset (2) + ClientIPMaskSize
    /// (2) + ClientIPMaskOffset (2) + AdapterNameOffset (2) + MacAddressSize (2) +
    /// MacAddressOffset (2) + ClientMode (2) + Reserved (2).
    pub const FIXED_PART_SIZE: usize = 28;

    fn decode_block(p: &[u8]) -> DecodeResult<Self> {
        Self::decode_fields(p).within("AUX_PERF_CLIENTINFO")
    }

    fn decode_fields(p: &[u8]) -> DecodeResult<Self> {
        let mut r = ReadCursor::new(p);
        let adapter_speed = r.u32("AdapterSpeed")?;
        let client_id = r.u16("ClientID")?;
        let machine_name_offset = r.u16("MachineNameOffset")?;
        let user_name_offset = r.u16("UserNameOffset")?;
        let client_ip_size = r.u16("ClientIPSize")?;
        let client_ip_offset = r.u16("ClientIPOffset")?;
        let client_ip_mask_size = r.u16("ClientIPMaskSize")?;
        let client_ip_mask_offset = r.u16("ClientIPMaskOffset")?;
        let adapter_name_offset = r.u16("AdapterNameOffset")?;
        let mac_address_size = r.u16("MacAddressSize")?;
        let mac_address_offset = r.u16("MacAddressOffset")?;
        let client_mode = r.u16("ClientMode")?;
        r.skip(2, "Reserved")?;
        Ok(Self {
            adapter_speed,
            client_id,
            machine_name: at_offset(p, machine_name_offset, "MachineName")?
                .map(|mut r| r.utf16_z("MachineName"))
                .transpose()?,
            user_name: at_offset(p, user_name_offset, "UserName")?
                .map(|mut r| r.utf16_z("UserName"))
                .transpose()?,
            client_ip: sized_at(p, client_ip_offset, client_ip_size, "ClientIP")?,
            client_ip_mask: sized_at(
                p,
                client_ip_mask_offset,
                client_ip_mask_size,
                "ClientIPMask",
            )?,
            adapter_name: at_offset(p, adapter_name_offset, "AdapterName")?
                .map(|mut r| r.utf16_z("AdapterName"))
                .transpose()?,
            mac_address: sized_at(p, mac_address_offset, mac_address_size, "MacAddress")?,
            client_mode,
        })
    }

    /// The block with its AUX_HEADER Version 1 / Type PERF_CLIENTINFO; variable fields
    /// follow the fixed part in field order, and the block is padded to 4 bytes.
    pub fn to_block(&self) -> EncodeResult<AuxBlock> {
        let mut tail = Tail(WriteCursor::new());
        let machine = tail.string(self.machine_name.as_deref())?;
        let user = tail.string(self.user_name.as_deref())?;
        let ip = tail.bytes(self.client_ip.as_deref())?;
        let mask = tail.bytes(self.client_ip_mask.as_deref())?;
        let adapter = tail.string(self.adapter_name.as_deref())?;
        let mac = tail.bytes(self.mac_address.as_deref())?;
        let size = |b: &Option<Vec<u8>>, field| -> EncodeResult<u16> {
            let n = b.as_ref().map_or(0, Vec::len);
            count_u16(n, "AUX_PERF_CLIENTINFO", field)
        };
        let mut w = WriteCursor::new();
        w.u32(self.adapter_speed);
        w.u16(self.client_id);
        w.u16(machine);
        w.u16(user);
        w.u16(size(&self.client_ip, "ClientIPSize")?);
        w.u16(ip);
        w.u16(size(&self.client_ip_mask, "ClientIPMaskSize")?);
        w.u16(mask);
        w.u16(adapter);
        w.u16(size(&self.mac_address, "MacAddressSize")?);
        w.u16(mac);
        w.u16(self.client_mode);
        w.u16(0);
        w.bytes(tail.0.as_slice());
        while !w.len().is_multiple_of(4) {
            w.u8(0);
        }
        Ok(AuxBlock {
            version: AUX_VERSION_1,
            ty: AuxType::PERF_CLIENTINFO,
            payload: w.into_inner(),
        })
    }
}

/// The variable part of AUX_PERF_CLIENTINFO, handing out offsets from the AUX_HEADER.
struct Tail(WriteCursor);

impl Tail {
    fn offset(&self) -> EncodeResult<u16> {
        let offset = AuxHeader::FIXED_PART_SIZE + PerfClientInfo::FIXED_PART_SIZE + self.0.len();
        count_u16(offset, "AUX_PERF_CLIENTINFO", "offset")
    }

    fn string(&mut self, s: Option<&str>) -> EncodeResult<u16> {
        let Some(s) = s else { return Ok(0) };
        let offset = self.offset()?;
        self.0.utf16_z(s);
        Ok(offset)
    }

    fn bytes(&mut self, b: Option<&[u8]>) -> EncodeResult<u16> {
        let Some(b) = b else { return Ok(0) };
        let offset = self.offset()?;
        self.0.bytes(b);
        Ok(offset)
    }
}

/// A cursor at `offset` (counted from the AUX_HEADER start) into block payload `p`, or
/// `None` when the offset is 0 (field absent).
fn at_offset<'a>(
    p: &'a [u8],
    offset: u16,
    field: &'static str,
) -> DecodeResult<Option<ReadCursor<'a>>> {
    if offset == 0 {
        return Ok(None);
    }
    let rel = usize::from(offset)
        .checked_sub(AuxHeader::FIXED_PART_SIZE)
        .filter(|&rel| rel <= p.len())
        .ok_or_else(|| {
            let detail = format!("offset {offset} is outside the {}-byte block", p.len() + 4);
            DecodeError::invalid(field, 0, detail)
        })?;
    let rest = p.get(rel..).unwrap_or_default();
    Ok(Some(ReadCursor::with_base(rest, rel)))
}

fn sized_at(
    p: &[u8],
    offset: u16,
    size: u16,
    field: &'static str,
) -> DecodeResult<Option<Vec<u8>>> {
    if size == 0 {
        return Ok(None);
    }
    match at_offset(p, offset, field)? {
        Some(mut r) => Ok(Some(r.bytes(usize::from(size), field)?.to_vec())),
        None => Ok(None),
    }
}

fn block(version: u8, ty: AuxType, write: impl FnOnce(&mut WriteCursor)) -> AuxBlock {
    let mut w = WriteCursor::new();
    write(&mut w);
    AuxBlock {
        version,
        ty,
        payload: w.into_inner(),
    }
}
