//! The client side of connection-oriented DCE/RPC as a sans-IO state machine (C706 chapter 12,
//! MS-RPCE 3.3.1): bind with the NTLM legs, fragmented requests, reassembled responses,
//! faults, and the per-fragment verifier (see [`super::security`]).

use oxmapi_wire::dcerpc::framer::fragment_stub;
use oxmapi_wire::dcerpc::pdu::{Bind, ContextResultKind, PresentationContext, Request};
use oxmapi_wire::dcerpc::{
    AuthLevel, AuthType, CommonHeader, PacketType, Pdu, PduBody, PfcFlags, Reassembler, SecTrailer,
    SyntaxId,
};

use super::error::RpcError;
use super::security::{RpcSecurity, SIGNATURE_LEN};

/// Our max_xmit_frag / max_recv_frag in bind (the Windows value for ncacn_http).
pub(crate) const MAX_FRAG: u16 = 5840;
/// Largest reassembled response stub accepted (an EcDoRpcExt2 response is at most ~256 KiB).
const MAX_STUB: usize = 16 << 20;
/// Request (8) / response (8) body header before the stub.
const BODY_HEADER: usize = 8;
/// auth_context_id used for our single security context.
const AUTH_CONTEXT_ID: u32 = 0;
/// Sealed stubs are padded so that the sec_trailer starts 16-byte aligned (as Windows does).
const AUTH_ALIGN: usize = 16;

/// Where the association is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DceState {
    /// Nothing sent yet.
    Idle,
    /// bind sent, waiting for bind_ack.
    Binding,
    /// Bound (and rpc_auth3 sent when authenticating): calls may be made.
    Bound,
}

/// One association with one interface.
#[derive(Debug)]
pub(crate) struct DceClient {
    interface: SyntaxId,
    interface_name: &'static str,
    security: Option<RpcSecurity>,
    state: DceState,
    header_sign: bool,
    max_xmit: u16,
    context_id: u16,
    next_call_id: u32,
    bind_call_id: u32,
    reassembler: Reassembler,
}

impl DceClient {
    pub(crate) fn new(
        interface: SyntaxId,
        interface_name: &'static str,
        security: Option<RpcSecurity>,
    ) -> Self {
        Self {
            interface,
            interface_name,
            security,
            state: DceState::Idle,
            header_sign: false,
            max_xmit: MAX_FRAG,
            context_id: 0,
            next_call_id: 1,
            bind_call_id: 0,
            reassembler: Reassembler::new(MAX_STUB),
        }
    }

    pub(crate) fn state(&self) -> DceState {
        self.state
    }

    /// The negotiated max_xmit_frag (the server's max_recv_frag).
    pub(crate) fn max_xmit(&self) -> u16 {
        self.max_xmit
    }

    /// Whether header signing was negotiated (MS-RPCE 3.3.1.5.2.2).
    pub(crate) fn header_sign(&self) -> bool {
        self.header_sign
    }

    /// C706 12.6.4.3 bind with one presentation context (the interface over NDR 2.0) and, when
    /// authenticating, the NTLM NEGOTIATE in the auth verifier and PFC_SUPPORT_HEADER_SIGN.
    pub(crate) fn bind(&mut self) -> Result<Vec<u8>, RpcError> {
        let call_id = self.call_id();
        self.bind_call_id = call_id;
        let mut pdu = Pdu::new(
            call_id,
            PduBody::Bind(Bind {
                max_xmit_frag: MAX_FRAG,
                max_recv_frag: MAX_FRAG,
                assoc_group_id: 0,
                contexts: vec![PresentationContext {
                    context_id: self.context_id,
                    abstract_syntax: self.interface,
                    transfer_syntaxes: vec![SyntaxId::NDR],
                }],
            }),
        );
        if let Some(security) = self.security.as_mut() {
            let token = security.step(None)?;
            pdu.pfc_flags = pdu.pfc_flags.with(PfcFlags::SUPPORT_HEADER_SIGN);
            pdu = pdu.with_auth(trailer(security.level(), token), 4)?;
        }
        self.state = DceState::Binding;
        Ok(pdu.to_bytes()?)
    }

    /// Handles bind_ack / bind_nak; returns the rpc_auth3 PDU to send when authenticating.
    pub(crate) fn on_bind_ack(&mut self, frag: &[u8]) -> Result<Option<Vec<u8>>, RpcError> {
        if self.state != DceState::Binding {
            return Err(RpcError::Protocol("bind_ack without a bind".to_owned()));
        }
        let pdu = Pdu::from_bytes(frag)?;
        if pdu.call_id != self.bind_call_id {
            return Err(RpcError::Protocol(format!(
                "bind_ack for call {} (bind was call {})",
                pdu.call_id, self.bind_call_id
            )));
        }
        let ack = match &pdu.body {
            PduBody::BindAck(ack) => ack,
            PduBody::BindNak(nak) => {
                return Err(self.rejected(bind_nak_reason(nak.reject_reason)));
            }
            PduBody::Fault(f) => {
                return Err(RpcError::Fault {
                    status: f.status,
                    opnum: 0,
                });
            }
            other => {
                return Err(RpcError::Protocol(format!(
                    "{:?} in answer to bind",
                    other.ptype()
                )));
            }
        };
        let accepted = ack
            .results
            .first()
            .is_some_and(|r| r.result == ContextResultKind::ACCEPTANCE);
        if !accepted {
            let reason = match ack.results.first() {
                Some(r) => format!("presentation context {:?}, reason {}", r.result, r.reason),
                None => "no presentation context result".to_owned(),
            };
            return Err(self.rejected(reason));
        }
        self.max_xmit = ack.max_recv_frag.clamp(1024, MAX_FRAG);
        // The whole fragment (header and sec_trailer included) is signed, as Windows does for
        // NTLM and as our server expects, whether or not the bind_ack echoes
        // PFC_SUPPORT_HEADER_SIGN (MS-RPCE 2.2.2.3, 3.3.1.5.2.2).
        self.header_sign = self.security.is_some();
        let auth3 = match self.security.as_mut() {
            None => None,
            Some(security) => {
                let challenge = pdu.auth.as_ref().ok_or_else(|| RpcError::BadVerifier {
                    pdu: "bind_ack",
                    reason: "no NTLM CHALLENGE in the auth verifier".to_owned(),
                })?;
                let token = security.step(Some(&challenge.auth_value))?;
                let auth3 = Pdu::new(self.bind_call_id, PduBody::Auth3 { pad: 0 })
                    .with_auth(trailer(security.level(), token), 4)?;
                Some(auth3.to_bytes()?)
            }
        };
        self.state = DceState::Bound;
        Ok(auth3)
    }

    /// C706 12.6.4.9 request fragments of one call (each sealed or signed), and its call_id.
    pub(crate) fn request(
        &mut self,
        opnum: u16,
        stub: &[u8],
    ) -> Result<(u32, Vec<Vec<u8>>), RpcError> {
        if self.state != DceState::Bound {
            return Err(RpcError::Protocol(
                "call before the bind completed".to_owned(),
            ));
        }
        let call_id = self.call_id();
        let overhead = if self.security.is_some() {
            SecTrailer::SIZE + SIGNATURE_LEN + AUTH_ALIGN
        } else {
            0
        };
        let alloc_hint = u32::try_from(stub.len()).unwrap_or(u32::MAX);
        let mut out = Vec::new();
        for (flags, chunk) in fragment_stub(stub, usize::from(self.max_xmit), BODY_HEADER, overhead)
        {
            let mut pdu = Pdu::new(
                call_id,
                PduBody::Request(Request {
                    alloc_hint,
                    context_id: self.context_id,
                    opnum,
                    object: None,
                    stub: chunk.to_vec(),
                }),
            );
            pdu.pfc_flags = flags;
            match self.security.as_mut() {
                None => out.push(pdu.to_bytes()?),
                Some(security) => {
                    let level = security.level();
                    let pdu = pdu.with_auth(trailer(level, vec![0; SIGNATURE_LEN]), AUTH_ALIGN)?;
                    let mut frag = pdu.to_bytes()?;
                    security.protect(&mut frag, self.header_sign)?;
                    out.push(frag);
                }
            }
        }
        Ok((call_id, out))
    }

    /// Handles one fragment answering `call_id`; returns the whole response stub after the
    /// last fragment, a typed error for a fault.
    pub(crate) fn on_response(
        &mut self,
        call_id: u32,
        opnum: u16,
        mut frag: Vec<u8>,
    ) -> Result<Option<Vec<u8>>, RpcError> {
        let header = CommonHeader::peek(&frag)?;
        if header.call_id != call_id {
            return Err(RpcError::Protocol(format!(
                "{} for call {} while waiting for call {call_id}",
                header.ptype.name().unwrap_or("PDU"),
                header.call_id
            )));
        }
        match header.ptype {
            PacketType::RESPONSE => {}
            PacketType::FAULT => {
                let pdu = Pdu::from_bytes(&frag)?;
                return match pdu.body {
                    PduBody::Fault(f) => Err(RpcError::Fault {
                        status: f.status,
                        opnum,
                    }),
                    _ => Err(RpcError::Protocol("undecodable fault".to_owned())),
                };
            }
            other => {
                return Err(RpcError::Protocol(format!(
                    "{:?} in answer to a request",
                    other
                )));
            }
        }
        if let Some(security) = self.security.as_mut() {
            if header.auth_length == 0 {
                return Err(RpcError::BadVerifier {
                    pdu: "response",
                    reason: "no auth verifier at an authenticated level".to_owned(),
                });
            }
            security.unprotect(&mut frag, self.header_sign)?;
        }
        let pdu = Pdu::from_bytes(&frag)?;
        if let (Some(security), Some(auth)) = (self.security.as_ref(), pdu.auth.as_ref())
            && (auth.auth_level != security.level() || auth.auth_type != AuthType::WINNT)
        {
            return Err(RpcError::BadVerifier {
                pdu: "response",
                reason: format!("{:?} at {:?}", auth.auth_type, auth.auth_level),
            });
        }
        Ok(self.reassembler.push(&pdu)?.map(|call| call.stub))
    }

    fn call_id(&mut self) -> u32 {
        let id = self.next_call_id;
        self.next_call_id = self.next_call_id.wrapping_add(1).max(1);
        id
    }

    fn rejected(&self, reason: String) -> RpcError {
        RpcError::BindRejected {
            interface: self.interface_name,
            reason,
        }
    }
}

fn trailer(level: AuthLevel, auth_value: Vec<u8>) -> SecTrailer {
    SecTrailer {
        auth_type: AuthType::WINNT,
        auth_level: level,
        auth_pad_length: 0,
        auth_reserved: 0,
        auth_context_id: AUTH_CONTEXT_ID,
        auth_value,
    }
}

/// C706 12.6.3.1 `p_reject_reason_t` plus the MS-RPCE 2.2.2.5 additions.
fn bind_nak_reason(code: u16) -> String {
    let name = match code {
        0 => "reason not specified",
        1 => "temporary congestion",
        2 => "local limit exceeded",
        3 => "called paddr unknown",
        4 => "protocol version not supported",
        5 => "default context not supported",
        6 => "user data not readable",
        7 => "no psap available",
        8 => "authentication type not recognized",
        9 => "invalid checksum",
        _ => "unknown reason",
    };
    format!("bind_nak {code} ({name})")
}

#[cfg(test)]
mod tests {
    use oxmapi_wire::dcerpc::pdu::{BindAck, BindNak, ContextResult, Response};

    use super::*;
    use crate::config::Credentials;

    fn bound(security: Option<RpcSecurity>) -> DceClient {
        let mut dce = DceClient::new(SyntaxId::EMSMDB, "EMSMDB", security);
        dce.bind().unwrap();
        let ack = Pdu::new(1, PduBody::BindAck(bind_ack(ContextResultKind::ACCEPTANCE)));
        dce.on_bind_ack(&ack.to_bytes().unwrap()).unwrap();
        dce
    }

    fn bind_ack(result: ContextResultKind) -> BindAck {
        BindAck {
            max_xmit_frag: 4280,
            max_recv_frag: 4280,
            assoc_group_id: 7,
            secondary_address: b"6001\0".to_vec(),
            results: vec![ContextResult {
                result,
                reason: 0,
                transfer_syntax: SyntaxId::NDR,
            }],
        }
    }

    #[test]
    fn bind_offers_the_interface_over_ndr_with_an_ntlm_negotiate() {
        let credentials = Credentials {
            user: "alice".into(),
            domain: Some("TESTDOM".into()),
            password: "pw".into(),
        };
        let security = RpcSecurity::new(&credentials, AuthLevel::PKT_PRIVACY, "EXSRV").unwrap();
        let mut dce = DceClient::new(SyntaxId::NSPI, "NSPI", Some(security));
        let pdu = Pdu::from_bytes(&dce.bind().unwrap()).unwrap();
        assert!(pdu.pfc_flags.contains(PfcFlags::SUPPORT_HEADER_SIGN));
        let PduBody::Bind(bind) = &pdu.body else {
            panic!("{pdu:?}");
        };
        assert_eq!(bind.contexts[0].abstract_syntax, SyntaxId::NSPI);
        assert_eq!(bind.contexts[0].transfer_syntaxes, vec![SyntaxId::NDR]);
        let auth = pdu.auth.unwrap();
        assert_eq!(auth.auth_type, AuthType::WINNT);
        assert_eq!(auth.auth_level, AuthLevel::PKT_PRIVACY);
        // MS-NLMP 2.2.1.1 NEGOTIATE_MESSAGE: "NTLMSSP\0", MessageType 1.
        assert_eq!(&auth.auth_value[..12], b"NTLMSSP\0\x01\0\0\0");
        assert_eq!(dce.state(), DceState::Binding);
    }

    #[test]
    fn bind_nak_and_rejected_context_are_bind_rejected() {
        let mut dce = DceClient::new(SyntaxId::EMSMDB, "EMSMDB", None);
        dce.bind().unwrap();
        let nak = Pdu::new(
            1,
            PduBody::BindNak(BindNak {
                reject_reason: 8,
                versions: vec![(5, 0)],
                rest: Vec::new(),
            }),
        );
        let err = dce.on_bind_ack(&nak.to_bytes().unwrap()).unwrap_err();
        assert!(
            err.to_string()
                .contains("authentication type not recognized"),
            "{err}"
        );
        let mut dce = DceClient::new(SyntaxId::EMSMDB, "EMSMDB", None);
        dce.bind().unwrap();
        let ack = Pdu::new(
            1,
            PduBody::BindAck(bind_ack(ContextResultKind::PROVIDER_REJECTION)),
        );
        let err = dce.on_bind_ack(&ack.to_bytes().unwrap()).unwrap_err();
        assert!(
            matches!(
                err,
                RpcError::BindRejected {
                    interface: "EMSMDB",
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn every_prefix_of_a_bind_ack_is_an_error_not_a_panic() {
        let ack = Pdu::new(1, PduBody::BindAck(bind_ack(ContextResultKind::ACCEPTANCE)))
            .to_bytes()
            .unwrap();
        for len in 0..ack.len() {
            let mut dce = DceClient::new(SyntaxId::EMSMDB, "EMSMDB", None);
            dce.bind().unwrap();
            assert!(dce.on_bind_ack(&ack[..len]).is_err(), "prefix {len}");
        }
    }

    #[test]
    fn requests_are_fragmented_to_the_servers_max_recv_frag_and_reassembled() {
        let mut dce = bound(None);
        assert_eq!(dce.max_xmit(), 4280);
        let stub: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        let (call_id, frags) = dce.request(11, &stub).unwrap();
        assert_eq!(frags.len(), 3);
        let mut joined = Vec::new();
        for (i, f) in frags.iter().enumerate() {
            assert!(f.len() <= 4280);
            let pdu = Pdu::from_bytes(f).unwrap();
            assert_eq!(pdu.pfc_flags.contains(PfcFlags::FIRST_FRAG), i == 0);
            assert_eq!(pdu.pfc_flags.contains(PfcFlags::LAST_FRAG), i == 2);
            let PduBody::Request(r) = pdu.body else {
                panic!()
            };
            assert_eq!((r.opnum, r.alloc_hint), (11, 10_000));
            joined.extend(r.stub);
        }
        assert_eq!(joined, stub);
        // The server answers in two fragments.
        for (i, part) in [&stub[..6000], &stub[6000..]].into_iter().enumerate() {
            let mut pdu = Pdu::new(
                call_id,
                PduBody::Response(Response {
                    alloc_hint: 10_000,
                    context_id: 0,
                    cancel_count: 0,
                    stub: part.to_vec(),
                }),
            );
            pdu.pfc_flags = if i == 0 {
                PfcFlags::FIRST_FRAG
            } else {
                PfcFlags::LAST_FRAG
            };
            let got = dce
                .on_response(call_id, 11, pdu.to_bytes().unwrap())
                .unwrap();
            assert_eq!(got.is_some(), i == 1);
            if let Some(got) = got {
                assert_eq!(got, stub);
            }
        }
    }

    #[test]
    fn a_response_for_another_call_or_without_verifier_is_refused() {
        let mut dce = bound(None);
        let (call_id, _) = dce.request(1, b"x").unwrap();
        let other = Pdu::new(
            call_id + 1,
            PduBody::Response(Response {
                alloc_hint: 0,
                context_id: 0,
                cancel_count: 0,
                stub: vec![1],
            }),
        );
        let err = dce
            .on_response(call_id, 1, other.to_bytes().unwrap())
            .unwrap_err();
        assert!(matches!(err, RpcError::Protocol(_)), "{err:?}");
        assert!(dce.on_response(call_id, 1, vec![5, 0, 2]).is_err());
    }
}
