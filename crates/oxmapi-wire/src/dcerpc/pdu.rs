//! Connection-oriented DCE/RPC PDUs: [C706 chapter 12](https://pubs.opengroup.org/onlinepubs/9629399/chap12.htm)
//! with the Windows extensions of [MS-RPCE 2.2.2](https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-rpce/).
//!
//! A [`Pdu`] is one fragment: the 16-byte common header, a body chosen by `PTYPE`, and an
//! optional auth verifier ([`SecTrailer`] + `auth_value`). Lengths (`frag_length`,
//! `auth_length`) are computed when encoding and checked when decoding. Sealing and signing are
//! left to the caller: [`AuthLayout`] tells where the stub, the padding, the sec_trailer and the
//! auth_value sit inside an encoded fragment.

use std::ops::Range;

use super::rts::RtsPdu;
use super::uuid::Uuid;
use crate::cursor::{ReadCursor, WriteCursor, count_u16};
use crate::error::{DecodeContext, DecodeError, DecodeResult, EncodeError, EncodeResult};

open_enum! {
    /// C706 12.6.3.1 / MS-RPCE 2.2.2.1 `PTYPE`, the packet type of the common header.
    pub struct PacketType(u8) {
        /// request (0).
        REQUEST = 0,
        /// ping (1, connectionless only).
        PING = 1,
        /// response (2).
        RESPONSE = 2,
        /// fault (3).
        FAULT = 3,
        /// working (4, connectionless only).
        WORKING = 4,
        /// nocall (5, connectionless only).
        NOCALL = 5,
        /// reject (6, connectionless only).
        REJECT = 6,
        /// ack (7, connectionless only).
        ACK = 7,
        /// cl_cancel (8, connectionless only).
        CL_CANCEL = 8,
        /// fack (9, connectionless only).
        FACK = 9,
        /// cancel_ack (10, connectionless only).
        CANCEL_ACK = 10,
        /// bind (11).
        BIND = 11,
        /// bind_ack (12).
        BIND_ACK = 12,
        /// bind_nak (13).
        BIND_NAK = 13,
        /// alter_context (14).
        ALTER_CONTEXT = 14,
        /// alter_context_resp (15).
        ALTER_CONTEXT_RESP = 15,
        /// rpc_auth3 (16, MS-RPCE 2.2.2.10).
        AUTH3 = 16,
        /// shutdown (17).
        SHUTDOWN = 17,
        /// co_cancel (18).
        CO_CANCEL = 18,
        /// orphaned (19).
        ORPHANED = 19,
        /// rts (20, MS-RPCH 2.2.3.6.1).
        RTS = 20,
    }
}

flag_set! {
    /// C706 12.6.3.1 `pfc_flags` (MS-RPCE 2.2.2.3 adds PFC_SUPPORT_HEADER_SIGN on bind PDUs).
    pub struct PfcFlags(u8) {
        /// PFC_FIRST_FRAG: first fragment of a call.
        FIRST_FRAG = 0x01,
        /// PFC_LAST_FRAG: last fragment of a call.
        LAST_FRAG = 0x02,
        /// PFC_PENDING_CANCEL; on bind/alter_context PFC_SUPPORT_HEADER_SIGN (MS-RPCE 2.2.2.3).
        PENDING_CANCEL = 0x04,
        /// Reserved (0x08).
        RESERVED_1 = 0x08,
        /// PFC_CONC_MPX: concurrent multiplexing supported.
        CONC_MPX = 0x10,
        /// PFC_DID_NOT_EXECUTE (fault PDUs).
        DID_NOT_EXECUTE = 0x20,
        /// PFC_MAYBE: maybe call semantics.
        MAYBE = 0x40,
        /// PFC_OBJECT_UUID: a request carries an object UUID.
        OBJECT_UUID = 0x80,
    }
}

impl PfcFlags {
    /// PFC_SUPPORT_HEADER_SIGN (MS-RPCE 2.2.2.3), the same bit as PFC_PENDING_CANCEL.
    pub const SUPPORT_HEADER_SIGN: Self = Self(0x04);
    /// FIRST_FRAG | LAST_FRAG: an unfragmented PDU.
    pub const FIRST_AND_LAST: Self = Self(0x03);
}

open_enum! {
    /// MS-RPCE 2.2.1.1.7 `auth_type` security provider identifiers.
    pub struct AuthType(u8) {
        /// RPC_C_AUTHN_NONE.
        NONE = 0x00,
        /// RPC_C_AUTHN_GSS_NEGOTIATE (SPNEGO).
        GSS_NEGOTIATE = 0x09,
        /// RPC_C_AUTHN_WINNT (NTLM).
        WINNT = 0x0A,
        /// RPC_C_AUTHN_GSS_SCHANNEL.
        GSS_SCHANNEL = 0x0E,
        /// RPC_C_AUTHN_GSS_KERBEROS.
        GSS_KERBEROS = 0x10,
        /// RPC_C_AUTHN_NETLOGON.
        NETLOGON = 0x44,
        /// RPC_C_AUTHN_DEFAULT.
        DEFAULT = 0xFF,
    }
}

open_enum! {
    /// MS-RPCE 2.2.1.1.8 `auth_level`.
    pub struct AuthLevel(u8) {
        /// RPC_C_AUTHN_LEVEL_DEFAULT.
        DEFAULT = 0,
        /// RPC_C_AUTHN_LEVEL_NONE.
        NONE = 1,
        /// RPC_C_AUTHN_LEVEL_CONNECT.
        CONNECT = 2,
        /// RPC_C_AUTHN_LEVEL_CALL.
        CALL = 3,
        /// RPC_C_AUTHN_LEVEL_PKT.
        PKT = 4,
        /// RPC_C_AUTHN_LEVEL_PKT_INTEGRITY (signed).
        PKT_INTEGRITY = 5,
        /// RPC_C_AUTHN_LEVEL_PKT_PRIVACY (sealed).
        PKT_PRIVACY = 6,
    }
}

open_enum! {
    /// Fault and reject status codes: C706 Appendix E (`nca_s_*`) and MS-RPCE 2.2.2.9 /
    /// 3.1.1.5.5 (Windows error codes carried in fault PDUs).
    pub struct FaultStatus(u32) {
        /// nca_s_fault_other / ERROR_ ... generic failure.
        NCA_S_FAULT_OTHER = 0x0000_0001,
        /// nca_s_fault_access_denied (ERROR_ACCESS_DENIED).
        NCA_S_FAULT_ACCESS_DENIED = 0x0000_0005,
        /// RPC_S_CALL_FAILED_DNE / nca_s_fault_cant_perform.
        NCA_S_FAULT_CANT_PERFORM = 0x0000_06D8,
        /// nca_s_fault_ndr (RPC_X_BAD_STUB_DATA).
        NCA_S_FAULT_NDR = 0x0000_06F7,
        /// nca_s_fault_int_div_by_zero.
        NCA_S_FAULT_INT_DIV_BY_ZERO = 0x1C00_0001,
        /// nca_s_fault_addr_error.
        NCA_S_FAULT_ADDR_ERROR = 0x1C00_0002,
        /// nca_s_fault_fp_div_zero.
        NCA_S_FAULT_FP_DIV_ZERO = 0x1C00_0003,
        /// nca_s_fault_fp_underflow.
        NCA_S_FAULT_FP_UNDERFLOW = 0x1C00_0004,
        /// nca_s_fault_fp_overflow.
        NCA_S_FAULT_FP_OVERFLOW = 0x1C00_0005,
        /// nca_s_fault_invalid_tag.
        NCA_S_FAULT_INVALID_TAG = 0x1C00_0006,
        /// nca_s_fault_invalid_bound.
        NCA_S_FAULT_INVALID_BOUND = 0x1C00_0007,
        /// nca_rpc_version_mismatch.
        NCA_RPC_VERSION_MISMATCH = 0x1C00_0008,
        /// nca_unspec_reject.
        NCA_UNSPEC_REJECT = 0x1C00_0009,
        /// nca_s_bad_actid.
        NCA_S_BAD_ACTID = 0x1C00_000A,
        /// nca_who_are_you_failed.
        NCA_WHO_ARE_YOU_FAILED = 0x1C00_000B,
        /// nca_manager_not_entered.
        NCA_MANAGER_NOT_ENTERED = 0x1C00_000C,
        /// nca_s_fault_cancel.
        NCA_S_FAULT_CANCEL = 0x1C00_000D,
        /// nca_s_fault_ill_inst.
        NCA_S_FAULT_ILL_INST = 0x1C00_000E,
        /// nca_s_fault_fp_error.
        NCA_S_FAULT_FP_ERROR = 0x1C00_000F,
        /// nca_s_fault_int_overflow.
        NCA_S_FAULT_INT_OVERFLOW = 0x1C00_0010,
        /// nca_s_fault_unspec.
        NCA_S_FAULT_UNSPEC = 0x1C00_0012,
        /// nca_s_fault_pipe_empty.
        NCA_S_FAULT_PIPE_EMPTY = 0x1C00_0014,
        /// nca_s_fault_pipe_closed.
        NCA_S_FAULT_PIPE_CLOSED = 0x1C00_0015,
        /// nca_s_fault_pipe_order.
        NCA_S_FAULT_PIPE_ORDER = 0x1C00_0016,
        /// nca_s_fault_pipe_discipline.
        NCA_S_FAULT_PIPE_DISCIPLINE = 0x1C00_0017,
        /// nca_s_fault_pipe_comm_error.
        NCA_S_FAULT_PIPE_COMM_ERROR = 0x1C00_0018,
        /// nca_s_fault_pipe_memory.
        NCA_S_FAULT_PIPE_MEMORY = 0x1C00_0019,
        /// nca_s_fault_context_mismatch.
        NCA_S_FAULT_CONTEXT_MISMATCH = 0x1C00_001A,
        /// nca_s_fault_remote_no_memory.
        NCA_S_FAULT_REMOTE_NO_MEMORY = 0x1C00_001B,
        /// nca_invalid_pres_context_id.
        NCA_INVALID_PRES_CONTEXT_ID = 0x1C00_001C,
        /// nca_unsupported_authn_level.
        NCA_UNSUPPORTED_AUTHN_LEVEL = 0x1C00_001D,
        /// nca_invalid_checksum.
        NCA_INVALID_CHECKSUM = 0x1C00_001F,
        /// nca_invalid_crc.
        NCA_INVALID_CRC = 0x1C00_0020,
        /// nca_s_fault_user_defined.
        NCA_S_FAULT_USER_DEFINED = 0x1C00_0021,
        /// nca_s_fault_tx_open_failed.
        NCA_S_FAULT_TX_OPEN_FAILED = 0x1C00_0022,
        /// nca_s_fault_codeset_conv_error.
        NCA_S_FAULT_CODESET_CONV_ERROR = 0x1C00_0023,
        /// nca_s_fault_object_not_found.
        NCA_S_FAULT_OBJECT_NOT_FOUND = 0x1C00_0024,
        /// nca_s_fault_no_client_stub.
        NCA_S_FAULT_NO_CLIENT_STUB = 0x1C00_0025,
        /// nca_op_rng_error: the opnum is out of range.
        NCA_OP_RNG_ERROR = 0x1C01_0002,
        /// nca_unk_if: unknown interface.
        NCA_UNK_IF = 0x1C01_0003,
        /// nca_wrong_boot_time.
        NCA_WRONG_BOOT_TIME = 0x1C01_0006,
        /// nca_s_you_crashed.
        NCA_S_YOU_CRASHED = 0x1C01_0009,
        /// nca_proto_error.
        NCA_PROTO_ERROR = 0x1C01_000B,
        /// nca_out_args_too_big.
        NCA_OUT_ARGS_TOO_BIG = 0x1C01_0013,
        /// nca_server_too_busy.
        NCA_SERVER_TOO_BUSY = 0x1C01_0014,
        /// nca_unsupported_type.
        NCA_UNSUPPORTED_TYPE = 0x1C01_0017,
    }
}

/// C706 12.6.3.1 / MS-RPCE 2.2.2.1: the 16-byte common header of every connection-oriented PDU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommonHeader {
    /// rpc_vers_minor (0 or 1; rpc_vers is always 5).
    pub rpc_vers_minor: u8,
    /// PTYPE.
    pub ptype: PacketType,
    /// pfc_flags.
    pub pfc_flags: PfcFlags,
    /// packed_drep (only little-endian integer representation is supported).
    pub drep: [u8; 4],
    /// frag_length: the whole fragment including this header.
    pub frag_length: u16,
    /// auth_length: length of auth_value (the sec_trailer itself is not counted).
    pub auth_length: u16,
    /// call_id.
    pub call_id: u32,
}

impl CommonHeader {
    /// rpc_vers (1) + rpc_vers_minor (1) + PTYPE (1) + pfc_flags (1) + packed_drep (4)
    /// + frag_length (2) + auth_length (2) + call_id (4).
    pub const SIZE: usize = 16;
    /// rpc_vers of connection-oriented RPC.
    pub const RPC_VERS: u8 = 5;
    /// Little-endian integers, ASCII characters, IEEE floats (C706 14.1).
    pub const DREP_LE: [u8; 4] = [0x10, 0, 0, 0];

    /// Decodes and validates the header (version 5, little-endian drep, frag_length ≥ 16).
    pub fn decode(r: &mut ReadCursor<'_>) -> DecodeResult<Self> {
        Self::decode_fields(r).within("CommonHeader")
    }

    /// Reads the header at the start of `buf` without consuming anything.
    pub fn peek(buf: &[u8]) -> DecodeResult<Self> {
        Self::decode(&mut ReadCursor::new(buf))
    }

    /// Writes the header.
    pub fn encode(&self, w: &mut WriteCursor) {
        w.u8(Self::RPC_VERS);
        w.u8(self.rpc_vers_minor);
        w.u8(self.ptype.0);
        w.u8(self.pfc_flags.0);
        w.bytes(&self.drep);
        w.u16(self.frag_length);
        w.u16(self.auth_length);
        w.u32(self.call_id);
    }

    fn decode_fields(r: &mut ReadCursor<'_>) -> DecodeResult<Self> {
        let at = r.offset();
        let vers = r.u8("rpc_vers")?;
        if vers != Self::RPC_VERS {
            return Err(DecodeError::invalid(
                "rpc_vers",
                at,
                format!("version {vers}, expected 5"),
            ));
        }
        let rpc_vers_minor = r.u8("rpc_vers_minor")?;
        let ptype = PacketType(r.u8("PTYPE")?);
        let pfc_flags = PfcFlags(r.u8("pfc_flags")?);
        let drep_at = r.offset();
        let drep: [u8; 4] = r.array("packed_drep")?;
        if drep[0] & 0xF0 != 0x10 {
            return Err(DecodeError::invalid(
                "packed_drep",
                drep_at,
                "big-endian integer representation is not supported",
            ));
        }
        let len_at = r.offset();
        let frag_length = r.u16("frag_length")?;
        if usize::from(frag_length) < Self::SIZE {
            return Err(DecodeError::invalid(
                "frag_length",
                len_at,
                "shorter than the header",
            ));
        }
        Ok(Self {
            rpc_vers_minor,
            ptype,
            pfc_flags,
            drep,
            frag_length,
            auth_length: r.u16("auth_length")?,
            call_id: r.u32("call_id")?,
        })
    }
}

/// C706 12.6.3.1 `p_syntax_id_t`: an interface or transfer syntax UUID with its version
/// (major in the low 16 bits of `if_version`, minor in the high 16 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SyntaxId {
    /// if_uuid.
    pub uuid: Uuid,
    /// Major version.
    pub major: u16,
    /// Minor version.
    pub minor: u16,
}

impl SyntaxId {
    /// uuid (16) + if_version (4).
    pub const SIZE: usize = 20;
    /// NDR 2.0 transfer syntax 8a885d04-1ceb-11c9-9fe8-08002b104860 v2.0 (C706 Appendix I).
    pub const NDR: Self = Self::new(0x8a885d04_1ceb_11c9_9fe8_08002b104860, 2, 0);
    /// NDR64 transfer syntax 71710533-beba-4937-8319-b5dbef9ccc36 v1.0 (MS-RPCE 2.2.5).
    pub const NDR64: Self = Self::new(0x71710533_beba_4937_8319_b5dbef9ccc36, 1, 0);
    /// EMSMDB a4f1db00-ca47-1067-b31f-00dd010662da v0.81 (MS-OXCRPC 1.9).
    pub const EMSMDB: Self = Self::new(0xa4f1db00_ca47_1067_b31f_00dd010662da, 0, 81);
    /// AsyncEMSMDB 5261574a-4572-206e-b268-6b199213b4e4 v0.1 (MS-OXCRPC 1.9).
    pub const ASYNC_EMSMDB: Self = Self::new(0x5261574a_4572_206e_b268_6b199213b4e4, 0, 1);
    /// NSPI f5cc5a18-4264-101a-8c59-08002b2f8426 v56.0 (MS-NSPI 1.9).
    pub const NSPI: Self = Self::new(0xf5cc5a18_4264_101a_8c59_08002b2f8426, 56, 0);
    /// Referral interface 1544f5e0-613c-11d1-93df-00c04fd7bd09 v1.0 (MS-OXABREF 1.9).
    pub const RFR: Self = Self::new(0x1544f5e0_613c_11d1_93df_00c04fd7bd09, 1, 0);

    /// A syntax from the UUID's textual value as a number and its version.
    pub const fn new(uuid: u128, major: u16, minor: u16) -> Self {
        Self {
            uuid: Uuid::from_u128(uuid),
            major,
            minor,
        }
    }

    /// MS-RPCE 3.3.1.5.3 bind time feature negotiation syntax
    /// 6cb71c2c-9812-4540-`bitmask`-000000000000 v1.0 (the bitmask sits in bytes 8 and 9).
    pub const fn bind_time_features(bitmask: u16) -> Self {
        let mut s = Self::new(0x6cb71c2c_9812_4540_0000_000000000000, 1, 0);
        let b = bitmask.to_le_bytes();
        s.uuid.0[8] = b[0];
        s.uuid.0[9] = b[1];
        s
    }

    /// Reads 20 bytes.
    pub fn decode(r: &mut ReadCursor<'_>) -> DecodeResult<Self> {
        Ok(Self {
            uuid: Uuid::decode(r, "if_uuid")?,
            major: r.u16("if_version major")?,
            minor: r.u16("if_version minor")?,
        })
    }

    /// Writes 20 bytes.
    pub fn encode(&self, w: &mut WriteCursor) {
        self.uuid.encode(w);
        w.u16(self.major);
        w.u16(self.minor);
    }
}

/// C706 12.6.3.1 `p_cont_elem_t`: one presentation context offered in bind/alter_context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresentationContext {
    /// p_cont_id.
    pub context_id: u16,
    /// abstract_syntax: the interface.
    pub abstract_syntax: SyntaxId,
    /// transfer_syntaxes offered (1..=255).
    pub transfer_syntaxes: Vec<SyntaxId>,
}

open_enum! {
    /// C706 12.6.3.1 `p_cont_def_result_t` (MS-RPCE 2.2.2.4 adds negotiate_ack).
    pub struct ContextResultKind(u16) {
        /// acceptance.
        ACCEPTANCE = 0,
        /// user_rejection.
        USER_REJECTION = 1,
        /// provider_rejection.
        PROVIDER_REJECTION = 2,
        /// negotiate_ack (bind time feature negotiation).
        NEGOTIATE_ACK = 3,
    }
}

/// C706 12.6.3.1 `p_result_t`: the answer to one presentation context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContextResult {
    /// result.
    pub result: ContextResultKind,
    /// reason (p_provider_reason_t; for negotiate_ack the feature bitmask).
    pub reason: u16,
    /// transfer_syntax chosen (all zero when rejected).
    pub transfer_syntax: SyntaxId,
}

/// C706 12.6.4.3 bind / 12.6.4.1 alter_context body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bind {
    /// max_xmit_frag.
    pub max_xmit_frag: u16,
    /// max_recv_frag.
    pub max_recv_frag: u16,
    /// assoc_group_id (0 for a new association group).
    pub assoc_group_id: u32,
    /// p_context_elem.
    pub contexts: Vec<PresentationContext>,
}

/// C706 12.6.4.4 bind_ack / 12.6.4.2 alter_context_resp body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindAck {
    /// max_xmit_frag.
    pub max_xmit_frag: u16,
    /// max_recv_frag.
    pub max_recv_frag: u16,
    /// assoc_group_id.
    pub assoc_group_id: u32,
    /// sec_addr port_spec bytes as sent, including the terminating NUL when present
    /// (alter_context_resp usually sends none).
    pub secondary_address: Vec<u8>,
    /// p_result_list.
    pub results: Vec<ContextResult>,
}

/// C706 12.6.4.5 bind_nak body (MS-RPCE 2.2.2.6 may append a signature and extended error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindNak {
    /// provider_reject_reason.
    pub reject_reason: u16,
    /// versions: supported (major, minor) protocol versions.
    pub versions: Vec<(u8, u8)>,
    /// Bytes after the version list (MS-RPCE padding, signature, extended error), kept raw.
    pub rest: Vec<u8>,
}

/// C706 12.6.4.9 request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// alloc_hint: total stub length of the call, 0 when unknown.
    pub alloc_hint: u32,
    /// p_cont_id.
    pub context_id: u16,
    /// opnum.
    pub opnum: u16,
    /// object UUID, present iff PFC_OBJECT_UUID (set by the encoder).
    pub object: Option<Uuid>,
    /// Stub data of this fragment (without auth padding).
    pub stub: Vec<u8>,
}

/// C706 12.6.4.10 response body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// alloc_hint.
    pub alloc_hint: u32,
    /// p_cont_id.
    pub context_id: u16,
    /// cancel_count.
    pub cancel_count: u8,
    /// Stub data of this fragment (without auth padding).
    pub stub: Vec<u8>,
}

/// C706 12.6.4.7 / MS-RPCE 2.2.2.9 fault body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// alloc_hint.
    pub alloc_hint: u32,
    /// p_cont_id.
    pub context_id: u16,
    /// cancel_count.
    pub cancel_count: u8,
    /// reserved byte; MS-RPCE 2.2.2.9 uses 0x01 for "extended error information present".
    pub flags: u8,
    /// status.
    pub status: FaultStatus,
    /// reserved (4 bytes).
    pub reserved: u32,
    /// Anything after the fixed part (extended error information).
    pub stub: Vec<u8>,
}

/// The body of a PDU, chosen by `PTYPE`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PduBody {
    /// request (0).
    Request(Request),
    /// response (2).
    Response(Response),
    /// fault (3).
    Fault(Fault),
    /// bind (11).
    Bind(Bind),
    /// bind_ack (12).
    BindAck(BindAck),
    /// bind_nak (13).
    BindNak(BindNak),
    /// alter_context (14).
    AlterContext(Bind),
    /// alter_context_resp (15).
    AlterContextResp(BindAck),
    /// rpc_auth3 (16, MS-RPCE 2.2.2.10): 4 pad bytes, then the auth verifier.
    Auth3 {
        /// pad (4 bytes).
        pad: u32,
    },
    /// shutdown (17).
    Shutdown,
    /// co_cancel (18).
    CoCancel,
    /// orphaned (19).
    Orphaned,
    /// rts (20, MS-RPCH).
    Rts(RtsPdu),
    /// Any other PTYPE, body kept raw.
    Other {
        /// PTYPE.
        ptype: PacketType,
        /// Body bytes.
        body: Vec<u8>,
    },
}

impl PduBody {
    /// PTYPE of this body.
    pub fn ptype(&self) -> PacketType {
        match self {
            Self::Request(_) => PacketType::REQUEST,
            Self::Response(_) => PacketType::RESPONSE,
            Self::Fault(_) => PacketType::FAULT,
            Self::Bind(_) => PacketType::BIND,
            Self::BindAck(_) => PacketType::BIND_ACK,
            Self::BindNak(_) => PacketType::BIND_NAK,
            Self::AlterContext(_) => PacketType::ALTER_CONTEXT,
            Self::AlterContextResp(_) => PacketType::ALTER_CONTEXT_RESP,
            Self::Auth3 { .. } => PacketType::AUTH3,
            Self::Shutdown => PacketType::SHUTDOWN,
            Self::CoCancel => PacketType::CO_CANCEL,
            Self::Orphaned => PacketType::ORPHANED,
            Self::Rts(_) => PacketType::RTS,
            Self::Other { ptype, .. } => *ptype,
        }
    }
}

/// MS-RPCE 2.2.2.11 `sec_trailer` plus the auth_value that follows it.
///
/// On the wire: stub, `auth_pad_length` pad bytes (so that the sec_trailer starts aligned,
/// MS-RPCE requires 4; Windows pads request/response stubs to 16 when sealing), then
/// auth_type (1) · auth_level (1) · auth_pad_length (1) · auth_reserved (1) · auth_context_id (4)
/// · auth_value (`auth_length` bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecTrailer {
    /// auth_type.
    pub auth_type: AuthType,
    /// auth_level.
    pub auth_level: AuthLevel,
    /// auth_pad_length: pad bytes between the stub and this trailer (written as zeros).
    pub auth_pad_length: u8,
    /// auth_reserved.
    pub auth_reserved: u8,
    /// auth_context_id.
    pub auth_context_id: u32,
    /// auth_value: a security token (bind, alter_context, auth3) or a signature.
    pub auth_value: Vec<u8>,
}

impl SecTrailer {
    /// auth_type (1) + auth_level (1) + auth_pad_length (1) + auth_reserved (1) + auth_context_id (4).
    pub const SIZE: usize = 8;

    /// Pad bytes needed after `len` bytes (header + body) so that the trailer starts at a
    /// multiple of `align` (4 per MS-RPCE 2.2.2.11; 16 for sealed Windows stubs).
    pub fn pad_for(len: usize, align: usize) -> u8 {
        let align = align.max(1);
        u8::try_from((align - len % align) % align).unwrap_or(0)
    }
}

/// One connection-oriented PDU (one fragment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pdu {
    /// rpc_vers_minor (usually 0).
    pub rpc_vers_minor: u8,
    /// pfc_flags (PFC_OBJECT_UUID is derived from the request's object field on encode).
    pub pfc_flags: PfcFlags,
    /// packed_drep.
    pub drep: [u8; 4],
    /// call_id.
    pub call_id: u32,
    /// The body.
    pub body: PduBody,
    /// The auth verifier, if any.
    pub auth: Option<SecTrailer>,
}

impl Pdu {
    /// An unfragmented PDU with the default header values.
    pub fn new(call_id: u32, body: PduBody) -> Self {
        Self {
            rpc_vers_minor: 0,
            pfc_flags: PfcFlags::FIRST_AND_LAST,
            drep: CommonHeader::DREP_LE,
            call_id,
            body,
            auth: None,
        }
    }

    /// Attaches an auth verifier and sets its auth_pad_length so that the sec_trailer starts at
    /// a multiple of `align` (see [`SecTrailer::pad_for`]).
    pub fn with_auth(mut self, mut trailer: SecTrailer, align: usize) -> EncodeResult<Self> {
        self.auth = None;
        let len = self.encoded_len_without_auth()?;
        trailer.auth_pad_length = SecTrailer::pad_for(len, align);
        self.auth = Some(trailer);
        Ok(self)
    }

    /// Decodes one whole fragment from the front of `r` (reads `frag_length` bytes).
    pub fn decode(r: &mut ReadCursor<'_>) -> DecodeResult<Self> {
        let start = r.offset();
        let header = CommonHeader::decode(r)?;
        let mut frag = r
            .sub(
                usize::from(header.frag_length) - CommonHeader::SIZE,
                "fragment",
            )
            .within("Pdu")?;
        decode_after_header(&header, &mut frag, start).within(pdu_name(header.ptype))
    }

    /// Decodes a buffer holding exactly one fragment.
    pub fn from_bytes(buf: &[u8]) -> DecodeResult<Self> {
        let mut r = ReadCursor::new(buf);
        let p = Self::decode(&mut r)?;
        r.finish("Pdu")?;
        Ok(p)
    }

    /// Appends the encoded fragment to `w`, computing frag_length and auth_length.
    pub fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        let start = w.len();
        let mut flags = self.pfc_flags;
        if let PduBody::Request(req) = &self.body {
            flags = if req.object.is_some() {
                flags.with(PfcFlags::OBJECT_UUID)
            } else {
                flags.without(PfcFlags::OBJECT_UUID)
            };
        }
        let auth_length = match &self.auth {
            Some(a) => count_u16(a.auth_value.len(), "sec_trailer", "auth_length")?,
            None => 0,
        };
        CommonHeader {
            rpc_vers_minor: self.rpc_vers_minor,
            ptype: self.body.ptype(),
            pfc_flags: flags,
            drep: self.drep,
            frag_length: 0,
            auth_length,
            call_id: self.call_id,
        }
        .encode(w);
        encode_body(&self.body, w, start)?;
        if let Some(a) = &self.auth {
            for _ in 0..a.auth_pad_length {
                w.u8(0);
            }
            w.u8(a.auth_type.0);
            w.u8(a.auth_level.0);
            w.u8(a.auth_pad_length);
            w.u8(a.auth_reserved);
            w.u32(a.auth_context_id);
            w.bytes(&a.auth_value);
        }
        let len = w.len() - start;
        w.patch_u16(start + 8, len, "Pdu", "frag_length")
    }

    /// The encoded fragment.
    pub fn to_bytes(&self) -> EncodeResult<Vec<u8>> {
        let mut w = WriteCursor::new();
        self.encode(&mut w)?;
        Ok(w.into_inner())
    }

    fn encoded_len_without_auth(&self) -> EncodeResult<usize> {
        let mut w = WriteCursor::new();
        encode_body(&self.body, &mut w, 0)?;
        Ok(CommonHeader::SIZE + w.len())
    }
}

/// Where the parts of an encoded fragment sit, for signing and sealing (MS-RPCE 2.2.2.11,
/// 3.3.1.5.2): the caller seals `stub_and_pad` in place, computes the signature over the
/// fragment with `auth_value` excluded as its provider requires, and writes it to `auth_value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthLayout {
    /// The stub data of a request/response/fault (the body for other PDUs).
    pub stub: Range<usize>,
    /// The stub plus the auth padding: the region that is sealed at PKT_PRIVACY.
    pub stub_and_pad: Range<usize>,
    /// The 8-byte sec_trailer.
    pub sec_trailer: Range<usize>,
    /// auth_value.
    pub auth_value: Range<usize>,
}

impl AuthLayout {
    /// Computes the layout of an encoded fragment that carries an auth verifier.
    pub fn of(frag: &[u8]) -> DecodeResult<Self> {
        let h = CommonHeader::peek(frag)?;
        let len = usize::from(h.frag_length);
        if frag.len() < len {
            return Err(DecodeError::truncated("fragment", 0, len, frag.len()).within("AuthLayout"));
        }
        let auth = usize::from(h.auth_length);
        let trailer = len
            .checked_sub(auth + SecTrailer::SIZE)
            .filter(|&t| t >= CommonHeader::SIZE && auth > 0)
            .ok_or_else(|| {
                DecodeError::invalid("auth_length", 10, "no room for an auth verifier")
                    .within("AuthLayout")
            })?;
        let pad = usize::from(frag.get(trailer + 2).copied().unwrap_or(0));
        let body_start = CommonHeader::SIZE + stub_offset(h.ptype, h.pfc_flags);
        let stub_end = trailer
            .checked_sub(pad)
            .filter(|&e| e >= body_start)
            .ok_or_else(|| {
                DecodeError::invalid("auth_pad_length", trailer + 2, "padding overlaps the body")
                    .within("AuthLayout")
            })?;
        Ok(Self {
            stub: body_start..stub_end,
            stub_and_pad: body_start..trailer,
            sec_trailer: trailer..trailer + SecTrailer::SIZE,
            auth_value: trailer + SecTrailer::SIZE..len,
        })
    }
}

/// Offset of the stub inside the body of request (8 or 24), response (8) and fault (16) PDUs.
fn stub_offset(ptype: PacketType, flags: PfcFlags) -> usize {
    match ptype {
        PacketType::REQUEST if flags.contains(PfcFlags::OBJECT_UUID) => 24,
        PacketType::REQUEST | PacketType::RESPONSE => 8,
        PacketType::FAULT => 16,
        _ => 0,
    }
}

fn pdu_name(ptype: PacketType) -> &'static str {
    match ptype.name() {
        Some(n) => n,
        None => "Pdu",
    }
}

fn decode_after_header(
    h: &CommonHeader,
    frag: &mut ReadCursor<'_>,
    pdu_start: usize,
) -> DecodeResult<Pdu> {
    let auth_len = usize::from(h.auth_length);
    let (mut body, auth) = if auth_len == 0 {
        (frag.sub(frag.remaining(), "body")?, None)
    } else {
        let trailer_total = auth_len + SecTrailer::SIZE;
        let body_len = frag.remaining().checked_sub(trailer_total).ok_or_else(|| {
            DecodeError::invalid("auth_length", pdu_start + 10, "longer than the fragment")
        })?;
        let with_pad = frag.sub(body_len, "body")?;
        let t_at = frag.offset();
        let auth_type = AuthType(frag.u8("auth_type")?);
        let auth_level = AuthLevel(frag.u8("auth_level")?);
        let pad = frag.u8("auth_pad_length")?;
        let trailer = SecTrailer {
            auth_type,
            auth_level,
            auth_pad_length: pad,
            auth_reserved: frag.u8("auth_reserved")?,
            auth_context_id: frag.u32("auth_context_id")?,
            auth_value: frag.bytes(auth_len, "auth_value")?.to_vec(),
        };
        let body_len = body_len.checked_sub(usize::from(pad)).ok_or_else(|| {
            DecodeError::invalid("auth_pad_length", t_at + 2, "longer than the body")
        })?;
        let mut wp = with_pad;
        (wp.sub(body_len, "body")?, Some(trailer))
    };
    let parsed = decode_body(h, &mut body, pdu_start)?;
    Ok(Pdu {
        rpc_vers_minor: h.rpc_vers_minor,
        pfc_flags: h.pfc_flags,
        drep: h.drep,
        call_id: h.call_id,
        body: parsed,
        auth,
    })
}

fn decode_body(
    h: &CommonHeader,
    r: &mut ReadCursor<'_>,
    pdu_start: usize,
) -> DecodeResult<PduBody> {
    let body = match h.ptype {
        PacketType::REQUEST => PduBody::Request(Request {
            alloc_hint: r.u32("alloc_hint")?,
            context_id: r.u16("p_cont_id")?,
            opnum: r.u16("opnum")?,
            object: if h.pfc_flags.contains(PfcFlags::OBJECT_UUID) {
                Some(Uuid::decode(r, "object")?)
            } else {
                None
            },
            stub: r.rest().to_vec(),
        }),
        PacketType::RESPONSE => {
            let alloc_hint = r.u32("alloc_hint")?;
            let context_id = r.u16("p_cont_id")?;
            let cancel_count = r.u8("cancel_count")?;
            r.skip(1, "reserved")?;
            PduBody::Response(Response {
                alloc_hint,
                context_id,
                cancel_count,
                stub: r.rest().to_vec(),
            })
        }
        PacketType::FAULT => PduBody::Fault(Fault {
            alloc_hint: r.u32("alloc_hint")?,
            context_id: r.u16("p_cont_id")?,
            cancel_count: r.u8("cancel_count")?,
            flags: r.u8("reserved")?,
            status: FaultStatus(r.u32("status")?),
            reserved: r.u32("reserved2")?,
            stub: r.rest().to_vec(),
        }),
        PacketType::BIND => PduBody::Bind(decode_bind(r)?),
        PacketType::ALTER_CONTEXT => PduBody::AlterContext(decode_bind(r)?),
        PacketType::BIND_ACK => PduBody::BindAck(decode_bind_ack(r, pdu_start)?),
        PacketType::ALTER_CONTEXT_RESP => PduBody::AlterContextResp(decode_bind_ack(r, pdu_start)?),
        PacketType::BIND_NAK => {
            let reject_reason = r.u16("provider_reject_reason")?;
            let n = r.u8("n_protocols")?;
            let mut versions = Vec::with_capacity(usize::from(n));
            for _ in 0..n {
                versions.push((r.u8("major")?, r.u8("minor")?));
            }
            PduBody::BindNak(BindNak {
                reject_reason,
                versions,
                rest: r.rest().to_vec(),
            })
        }
        PacketType::AUTH3 => PduBody::Auth3 { pad: r.u32("pad")? },
        PacketType::SHUTDOWN => PduBody::Shutdown,
        PacketType::CO_CANCEL => PduBody::CoCancel,
        PacketType::ORPHANED => PduBody::Orphaned,
        PacketType::RTS => PduBody::Rts(RtsPdu::decode_body(r)?),
        ptype => PduBody::Other {
            ptype,
            body: r.rest().to_vec(),
        },
    };
    let consumed_all = matches!(
        body,
        PduBody::Request(_)
            | PduBody::Response(_)
            | PduBody::Fault(_)
            | PduBody::BindNak(_)
            | PduBody::Other { .. }
    );
    if !consumed_all {
        r.finish("body")?;
    }
    Ok(body)
}

fn decode_bind(r: &mut ReadCursor<'_>) -> DecodeResult<Bind> {
    let max_xmit_frag = r.u16("max_xmit_frag")?;
    let max_recv_frag = r.u16("max_recv_frag")?;
    let assoc_group_id = r.u32("assoc_group_id")?;
    let n = r.u8("n_context_elem")?;
    r.skip(3, "reserved")?;
    let mut contexts = Vec::with_capacity(usize::from(n));
    for _ in 0..n {
        let context_id = r.u16("p_cont_id")?;
        let n_syn = r.u8("n_transfer_syn")?;
        r.skip(1, "reserved")?;
        let abstract_syntax = SyntaxId::decode(r).within("abstract_syntax")?;
        let mut transfer_syntaxes = Vec::with_capacity(usize::from(n_syn));
        for _ in 0..n_syn {
            transfer_syntaxes.push(SyntaxId::decode(r).within("transfer_syntaxes")?);
        }
        contexts.push(PresentationContext {
            context_id,
            abstract_syntax,
            transfer_syntaxes,
        });
    }
    Ok(Bind {
        max_xmit_frag,
        max_recv_frag,
        assoc_group_id,
        contexts,
    })
}

fn decode_bind_ack(r: &mut ReadCursor<'_>, pdu_start: usize) -> DecodeResult<BindAck> {
    let max_xmit_frag = r.u16("max_xmit_frag")?;
    let max_recv_frag = r.u16("max_recv_frag")?;
    let assoc_group_id = r.u32("assoc_group_id")?;
    let n = r.u16("sec_addr length")?;
    let secondary_address = r.bytes(usize::from(n), "port_spec")?.to_vec();
    let rel = r.offset() - pdu_start;
    r.skip((4 - rel % 4) % 4, "pad2")?;
    let count = r.u8("n_results")?;
    r.skip(3, "reserved")?;
    let mut results = Vec::with_capacity(usize::from(count));
    for _ in 0..count {
        results.push(ContextResult {
            result: ContextResultKind(r.u16("result")?),
            reason: r.u16("reason")?,
            transfer_syntax: SyntaxId::decode(r).within("transfer_syntax")?,
        });
    }
    Ok(BindAck {
        max_xmit_frag,
        max_recv_frag,
        assoc_group_id,
        secondary_address,
        results,
    })
}

fn encode_body(body: &PduBody, w: &mut WriteCursor, pdu_start: usize) -> EncodeResult {
    match body {
        PduBody::Request(b) => {
            w.u32(b.alloc_hint);
            w.u16(b.context_id);
            w.u16(b.opnum);
            if let Some(o) = &b.object {
                o.encode(w);
            }
            w.bytes(&b.stub);
        }
        PduBody::Response(b) => {
            w.u32(b.alloc_hint);
            w.u16(b.context_id);
            w.u8(b.cancel_count);
            w.u8(0);
            w.bytes(&b.stub);
        }
        PduBody::Fault(b) => {
            w.u32(b.alloc_hint);
            w.u16(b.context_id);
            w.u8(b.cancel_count);
            w.u8(b.flags);
            w.u32(b.status.0);
            w.u32(b.reserved);
            w.bytes(&b.stub);
        }
        PduBody::Bind(b) | PduBody::AlterContext(b) => encode_bind(b, w)?,
        PduBody::BindAck(b) | PduBody::AlterContextResp(b) => encode_bind_ack(b, w, pdu_start)?,
        PduBody::BindNak(b) => {
            w.u16(b.reject_reason);
            w.u8(count_u8(b.versions.len(), "BindNak", "n_protocols")?);
            for (major, minor) in &b.versions {
                w.u8(*major);
                w.u8(*minor);
            }
            w.bytes(&b.rest);
        }
        PduBody::Auth3 { pad } => w.u32(*pad),
        PduBody::Shutdown | PduBody::CoCancel | PduBody::Orphaned => {}
        PduBody::Rts(rts) => rts.encode_body(w)?,
        PduBody::Other { body, .. } => w.bytes(body),
    }
    Ok(())
}

fn encode_bind(b: &Bind, w: &mut WriteCursor) -> EncodeResult {
    w.u16(b.max_xmit_frag);
    w.u16(b.max_recv_frag);
    w.u32(b.assoc_group_id);
    w.u8(count_u8(b.contexts.len(), "Bind", "n_context_elem")?);
    w.bytes(&[0; 3]);
    for c in &b.contexts {
        w.u16(c.context_id);
        w.u8(count_u8(
            c.transfer_syntaxes.len(),
            "p_cont_elem_t",
            "n_transfer_syn",
        )?);
        w.u8(0);
        c.abstract_syntax.encode(w);
        for t in &c.transfer_syntaxes {
            t.encode(w);
        }
    }
    Ok(())
}

fn encode_bind_ack(b: &BindAck, w: &mut WriteCursor, pdu_start: usize) -> EncodeResult {
    w.u16(b.max_xmit_frag);
    w.u16(b.max_recv_frag);
    w.u32(b.assoc_group_id);
    w.u16(count_u16(
        b.secondary_address.len(),
        "BindAck",
        "sec_addr length",
    )?);
    w.bytes(&b.secondary_address);
    let rel = w.len() - pdu_start;
    for _ in 0..(4 - rel % 4) % 4 {
        w.u8(0);
    }
    w.u8(count_u8(b.results.len(), "BindAck", "n_results")?);
    w.bytes(&[0; 3]);
    for res in &b.results {
        w.u16(res.result.0);
        w.u16(res.reason);
        res.transfer_syntax.encode(w);
    }
    Ok(())
}

fn count_u8(value: usize, structure: &'static str, field: &'static str) -> EncodeResult<u8> {
    u8::try_from(value).map_err(|_| EncodeError::TooLarge {
        structure,
        field,
        value,
        max: u8::MAX as usize,
    })
}
