//! The connection-oriented DCE/RPC server of one virtual connection (C706 chapter 12,
//! MS-RPCE 3.3.3): presentation context negotiation on bind/alter_context for the EMSMDB, NSPI
//! and RFR interfaces over NDR, NTLM authentication (bind → bind_ack → rpc_auth3), request
//! reassembly, signed/sealed responses split to the negotiated fragment size, and faults.
//!
//! Sans-IO: [`RpcConnection::handle`] takes one whole non-RTS PDU and returns the PDUs to send;
//! the calls themselves go to a [`Dispatch`] implementation.

use std::collections::HashMap;

use oxmapi_wire::dcerpc::pdu::{
    Bind, BindAck, BindNak, ContextResult, ContextResultKind, Fault, Response,
};
use oxmapi_wire::dcerpc::{
    AuthLevel, AuthType, CommonHeader, FaultStatus, PacketType, Pdu, PduBody, PfcFlags,
    Reassembler, SecTrailer, SyntaxId, framer::fragment_stub,
};

use super::security::{NtlmContext, SIGNATURE_SIZE, SecurityError};
use crate::store::{Store, UserRecord};

/// Largest reassembled request stub accepted (EcDoRpcExt2's rgbIn ≤ 0x40000 plus AUX and NDR).
const MAX_REQUEST_STUB: usize = 0x8_0000;
/// Fragment size we offer and never exceed (C706 12.6.3.1: at least 1432 must be accepted).
const MAX_FRAG: u16 = 5840;
/// Request/response body header: alloc_hint (4) + p_cont_id (2) + opnum or cancel_count/reserved (2).
const BODY_HEADER: usize = 8;
/// Worst case auth overhead of a fragment: 15 pad bytes + sec_trailer + signature.
const AUTH_OVERHEAD: usize = 15 + SecTrailer::SIZE + SIGNATURE_SIZE;

/// C706 12.6.3.1 p_provider_reason_t: abstract_syntax_not_supported.
const REASON_ABSTRACT_SYNTAX: u16 = 1;
/// p_provider_reason_t: proposed_transfer_syntaxes_not_supported.
const REASON_TRANSFER_SYNTAX: u16 = 2;
/// MS-RPCE 2.2.2.5 bind_nak reject reason authentication_type_not_recognized.
const NAK_AUTH_TYPE: u16 = 8;

/// The interfaces this server implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Interface {
    /// EMSMDB 0.81 (MS-OXCRPC).
    Emsmdb,
    /// NSPI 56.0 (MS-OXNSPI).
    Nspi,
    /// RFR 1.0 (MS-OXABREF).
    Rfr,
}

impl Interface {
    fn of(syntax: &SyntaxId) -> Option<Self> {
        let same = |s: SyntaxId| s.uuid == syntax.uuid && s.major == syntax.major;
        if same(SyntaxId::EMSMDB) {
            Some(Self::Emsmdb)
        } else if same(SyntaxId::NSPI) {
            Some(Self::Nspi)
        } else if same(SyntaxId::RFR) {
            Some(Self::Rfr)
        } else {
            None
        }
    }
}

/// The result of one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CallOutcome {
    /// The NDR-encoded `[out]` parameters and return value.
    Stub(Vec<u8>),
    /// A fault PDU with this status (C706 Appendix E, MS-RPCE 2.2.2.9).
    Fault(FaultStatus),
}

/// Executes calls on behalf of the connection.
pub(crate) trait Dispatch {
    /// Runs opnum `opnum` of `iface` on a request stub.
    fn call(&mut self, iface: Interface, opnum: u16, stub: &[u8]) -> CallOutcome;
}

/// A connection-level failure: the virtual connection is closed after it.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RpcError {
    /// The PDU could not be decoded.
    #[error("malformed pdu: {0}")]
    Malformed(#[from] oxmapi_wire::DecodeError),
    /// A response could not be encoded.
    #[error("encoding a pdu: {0}")]
    Encode(#[from] oxmapi_wire::EncodeError),
    /// A PDU type a client must not send.
    #[error("unexpected pdu type {0:?}")]
    Unexpected(PacketType),
    /// Signing or sealing a response failed.
    #[error(transparent)]
    Security(#[from] SecurityError),
}

struct AuthState {
    ctx: NtlmContext,
    auth_type: AuthType,
    level: AuthLevel,
    context_id: u32,
    /// rpc_auth3 failed or named another user than the HTTP channels: every call is refused.
    refused: bool,
}

/// One DCE/RPC association on a virtual connection.
pub(crate) struct RpcConnection {
    store: Store,
    http_user: UserRecord,
    port_spec: String,
    contexts: HashMap<u16, Interface>,
    assoc_group: u32,
    max_xmit: u16,
    auth: Option<AuthState>,
    reassembler: Reassembler,
}

impl RpcConnection {
    /// A connection for the user the HTTP channels authenticated; `port` is the RPC "port" of
    /// the URL (it becomes bind_ack's secondary address).
    pub(crate) fn new(store: Store, http_user: UserRecord, port: u16, assoc_group: u32) -> Self {
        Self {
            store,
            http_user,
            port_spec: port.to_string(),
            contexts: HashMap::new(),
            assoc_group: assoc_group.max(1),
            max_xmit: MAX_FRAG,
            auth: None,
            reassembler: Reassembler::new(MAX_REQUEST_STUB),
        }
    }

    /// Handles one whole PDU (not RTS); returns the PDUs to send back, in order.
    pub(crate) fn handle(
        &mut self,
        mut frag: Vec<u8>,
        dispatch: &mut dyn Dispatch,
    ) -> Result<Vec<Vec<u8>>, RpcError> {
        let header = CommonHeader::peek(&frag)?;
        match header.ptype {
            PacketType::BIND | PacketType::ALTER_CONTEXT => {
                let pdu = Pdu::from_bytes(&frag)?;
                self.bind(pdu).map(|p| vec![p])
            }
            PacketType::AUTH3 => {
                let pdu = Pdu::from_bytes(&frag)?;
                self.auth3(pdu);
                Ok(Vec::new())
            }
            PacketType::REQUEST => {
                if let Some(fault) = self.unprotect(&header, &mut frag) {
                    self.reassembler = Reassembler::new(MAX_REQUEST_STUB);
                    return Ok(vec![fault_pdu(header.call_id, 0, fault)?]);
                }
                let pdu = Pdu::from_bytes(&frag)?;
                self.request(pdu, dispatch)
            }
            PacketType::CO_CANCEL | PacketType::ORPHANED | PacketType::SHUTDOWN => Ok(Vec::new()),
            other => Err(RpcError::Unexpected(other)),
        }
    }

    /// A fault PDU for `call_id` (used by the driver after a connection-level error).
    pub(crate) fn fault(call_id: u32, status: FaultStatus) -> Option<Vec<u8>> {
        fault_pdu(call_id, 0, status).ok()
    }

    fn bind(&mut self, pdu: Pdu) -> Result<Vec<u8>, RpcError> {
        let (bind, is_alter) = match pdu.body {
            PduBody::Bind(b) => (b, false),
            PduBody::AlterContext(b) => (b, true),
            _ => return Err(RpcError::Unexpected(pdu.body.ptype())),
        };
        let mut out_auth = None;
        if let Some(trailer) = pdu.auth {
            match self.bind_auth(trailer, is_alter) {
                Ok(t) => out_auth = t,
                Err(reason) if !is_alter => {
                    let nak = BindNak {
                        reject_reason: reason,
                        versions: vec![(5, 0)],
                        rest: Vec::new(),
                    };
                    return Ok(Pdu::new(pdu.call_id, PduBody::BindNak(nak)).to_bytes()?);
                }
                Err(_) => {
                    return fault_pdu(pdu.call_id, 0, FaultStatus::NCA_S_FAULT_ACCESS_DENIED);
                }
            }
        }
        if !is_alter {
            self.max_xmit = bind.max_recv_frag.clamp(1432, MAX_FRAG);
            if bind.assoc_group_id != 0 {
                self.assoc_group = bind.assoc_group_id;
            }
        }
        let ack = self.ack(&bind, is_alter);
        let body = if is_alter {
            PduBody::AlterContextResp(ack)
        } else {
            PduBody::BindAck(ack)
        };
        let mut reply = Pdu::new(pdu.call_id, body);
        if let Some(t) = out_auth {
            reply = reply.with_auth(t, 4)?;
        }
        Ok(reply.to_bytes()?)
    }

    /// The bind_ack for the offered contexts: our three interfaces over NDR 2.0.
    fn ack(&mut self, bind: &Bind, is_alter: bool) -> BindAck {
        let results = bind
            .contexts
            .iter()
            .map(|c| {
                let reject = |reason| ContextResult {
                    result: ContextResultKind::PROVIDER_REJECTION,
                    reason,
                    transfer_syntax: SyntaxId::new(0, 0, 0),
                };
                let Some(iface) = Interface::of(&c.abstract_syntax) else {
                    return reject(REASON_ABSTRACT_SYNTAX);
                };
                if !c.transfer_syntaxes.contains(&SyntaxId::NDR) {
                    return reject(REASON_TRANSFER_SYNTAX);
                }
                self.contexts.insert(c.context_id, iface);
                ContextResult {
                    result: ContextResultKind::ACCEPTANCE,
                    reason: 0,
                    transfer_syntax: SyntaxId::NDR,
                }
            })
            .collect();
        let mut secondary_address = Vec::new();
        if !is_alter {
            secondary_address.extend_from_slice(self.port_spec.as_bytes());
            secondary_address.push(0);
        }
        BindAck {
            max_xmit_frag: self.max_xmit,
            max_recv_frag: self.max_xmit,
            assoc_group_id: self.assoc_group,
            secondary_address,
            results,
        }
    }

    /// The auth verifier of a bind/alter_context: NEGOTIATE → CHALLENGE; an AUTHENTICATE on
    /// alter_context completes a context. `Err` is a bind_nak reason.
    fn bind_auth(&mut self, t: SecTrailer, is_alter: bool) -> Result<Option<SecTrailer>, u16> {
        if t.auth_type == AuthType::NONE || t.auth_level == AuthLevel::NONE {
            return Ok(None);
        }
        if t.auth_type != AuthType::WINNT {
            return Err(NAK_AUTH_TYPE);
        }
        if is_alter && let Some(a) = self.auth.as_mut() {
            if !a.ctx.is_established() {
                let ok = a.ctx.authenticate(&self.store, t.auth_value).ok();
                a.refused = ok.is_none_or(|u| u.id != self.http_user.id);
            }
            return Ok(None);
        }
        let mut ctx = NtlmContext::new();
        let challenge = ctx.challenge(t.auth_value).map_err(|e| {
            tracing::debug!("rpc bind: {e}");
            NAK_AUTH_TYPE
        })?;
        self.auth = Some(AuthState {
            ctx,
            auth_type: t.auth_type,
            level: t.auth_level,
            context_id: t.auth_context_id,
            refused: false,
        });
        Ok(Some(SecTrailer {
            auth_type: t.auth_type,
            auth_level: t.auth_level,
            auth_pad_length: 0,
            auth_reserved: 0,
            auth_context_id: t.auth_context_id,
            auth_value: challenge,
        }))
    }

    /// rpc_auth3 (MS-RPCE 2.2.2.10): the AUTHENTICATE message. The NTLM user must be the user
    /// of the HTTP channels; otherwise every later call faults with access denied.
    fn auth3(&mut self, pdu: Pdu) {
        let Some(a) = self.auth.as_mut() else { return };
        let Some(t) = pdu.auth else {
            a.refused = true;
            return;
        };
        match a.ctx.authenticate(&self.store, t.auth_value) {
            Ok(u) if u.id == self.http_user.id => {}
            Ok(u) => {
                tracing::warn!(rpc_user = %u.alias, http_user = %self.http_user.alias, "rpc auth3: user differs from the http user");
                a.refused = true;
            }
            Err(e) => {
                tracing::debug!("rpc auth3: {e}");
                a.refused = true;
            }
        }
    }

    /// Verifies/unseals a request fragment in place. `Some` is the fault to answer with.
    fn unprotect(&mut self, h: &CommonHeader, frag: &mut [u8]) -> Option<FaultStatus> {
        let a = self.auth.as_mut()?;
        if a.level < AuthLevel::PKT_INTEGRITY {
            return a.refused.then_some(FaultStatus::NCA_S_FAULT_ACCESS_DENIED);
        }
        if a.refused || !a.ctx.is_established() || h.auth_length == 0 {
            return Some(FaultStatus::NCA_S_FAULT_ACCESS_DENIED);
        }
        match a.ctx.unprotect(frag, a.level) {
            Ok(()) => None,
            Err(e) => {
                tracing::debug!("rpc request: {e}");
                Some(FaultStatus::NCA_S_FAULT_ACCESS_DENIED)
            }
        }
    }

    fn request(&mut self, pdu: Pdu, dispatch: &mut dyn Dispatch) -> Result<Vec<Vec<u8>>, RpcError> {
        let call_id = pdu.call_id;
        let call = match self.reassembler.push(&pdu) {
            Ok(Some(call)) => call,
            Ok(None) => return Ok(Vec::new()),
            Err(e) => {
                tracing::debug!("rpc request reassembly: {e}");
                self.reassembler = Reassembler::new(MAX_REQUEST_STUB);
                return Ok(vec![fault_pdu(call_id, 0, FaultStatus::NCA_PROTO_ERROR)?]);
            }
        };
        let Some(&iface) = self.contexts.get(&call.context_id) else {
            return Ok(vec![fault_pdu(
                call_id,
                call.context_id,
                FaultStatus::NCA_INVALID_PRES_CONTEXT_ID,
            )?]);
        };
        let opnum = call.opnum.unwrap_or(u16::MAX);
        match dispatch.call(iface, opnum, &call.stub) {
            CallOutcome::Stub(stub) => self.response(call_id, call.context_id, &stub),
            CallOutcome::Fault(status) => Ok(vec![fault_pdu(call_id, call.context_id, status)?]),
        }
    }

    /// The response fragments of a call, signed or sealed at the association's level.
    fn response(
        &mut self,
        call_id: u32,
        context_id: u16,
        stub: &[u8],
    ) -> Result<Vec<Vec<u8>>, RpcError> {
        let protect = self
            .auth
            .as_mut()
            .filter(|a| a.level >= AuthLevel::PKT_INTEGRITY);
        let overhead = if protect.is_some() { AUTH_OVERHEAD } else { 0 };
        let alloc_hint = u32::try_from(stub.len()).unwrap_or(u32::MAX);
        let frags = fragment_stub(stub, usize::from(self.max_xmit), BODY_HEADER, overhead);
        let mut out = Vec::with_capacity(frags.len());
        let mut protect = protect;
        for (flags, chunk) in frags {
            let mut pdu = Pdu::new(
                call_id,
                PduBody::Response(Response {
                    alloc_hint,
                    context_id,
                    cancel_count: 0,
                    stub: chunk.to_vec(),
                }),
            );
            pdu.pfc_flags = flags;
            let Some(a) = protect.as_deref_mut() else {
                out.push(pdu.to_bytes()?);
                continue;
            };
            let trailer = SecTrailer {
                auth_type: a.auth_type,
                auth_level: a.level,
                auth_pad_length: 0,
                auth_reserved: 0,
                auth_context_id: a.context_id,
                auth_value: vec![0; SIGNATURE_SIZE],
            };
            let mut bytes = pdu.with_auth(trailer, 16)?.to_bytes()?;
            a.ctx.protect(&mut bytes, a.level)?;
            out.push(bytes);
        }
        Ok(out)
    }
}

/// A fault PDU (C706 12.6.4.7); op-range and unknown-interface faults did not execute.
fn fault_pdu(call_id: u32, context_id: u16, status: FaultStatus) -> Result<Vec<u8>, RpcError> {
    let mut pdu = Pdu::new(
        call_id,
        PduBody::Fault(Fault {
            alloc_hint: 0,
            context_id,
            cancel_count: 0,
            flags: 0,
            status,
            reserved: 0,
            stub: Vec::new(),
        }),
    );
    if matches!(
        status,
        FaultStatus::NCA_OP_RNG_ERROR
            | FaultStatus::NCA_UNK_IF
            | FaultStatus::NCA_INVALID_PRES_CONTEXT_ID
            | FaultStatus::NCA_S_FAULT_ACCESS_DENIED
    ) {
        pdu.pfc_flags = PfcFlags::FIRST_AND_LAST.with(PfcFlags::DID_NOT_EXECUTE);
    }
    Ok(pdu.to_bytes()?)
}
