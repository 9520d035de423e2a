//! HTTP `Negotiate` (RFC 4559): the SPNEGO framing (RFC 4178 4.2) around the NTLM acceptor of
//! [`super`]. sspi's own Negotiate acceptor wants every candidate credential, domain included,
//! when the context is created, before the client said who it is; our store resolves the user
//! from the AUTHENTICATE message, like the NTLM path, so we frame SPNEGO here and drive
//! `sspi::Ntlm` ourselves. Only NTLM (`1.3.6.1.4.1.311.2.2.10`) is accepted: no KDC here.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use http::header::{self, HeaderValue};
use http::{Response, StatusCode};
use sspi::{Ntlm, SecurityBufferRef, SecurityStatus, Sspi};

use super::attempt::{Attempt, Leg};
use super::ntlm::{accept, finish_ntlm, orphan_authenticate};
use crate::body::{ChunkedBody, plain};

/// Content octets of the SPNEGO OID `1.3.6.1.5.5.2` (RFC 4178 3).
const SPNEGO_OID: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x02];
/// Content octets of the NTLMSSP OID `1.3.6.1.4.1.311.2.2.10` (MS-SPNG 1.9).
const NTLMSSP_OID: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a];

/// `negState` accept-incomplete (RFC 4178 4.2.2).
const ACCEPT_INCOMPLETE: u8 = 1;

// DER identifier octets used by SPNEGO.
const TAG_APPLICATION_0: u8 = 0x60;
const TAG_SEQUENCE: u8 = 0x30;
const TAG_OID: u8 = 0x06;
const TAG_OCTET_STRING: u8 = 0x04;
const TAG_ENUMERATED: u8 = 0x0a;
const fn context(n: u8) -> u8 {
    0xa0 | n
}

/// A malformed SPNEGO token: what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad spnego token: {0}")]
pub(super) struct SpnegoError(&'static str);

/// RFC 4178 4.2 `NegotiationToken`, the initiator's side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum NegToken {
    /// `negTokenInit` (RFC 4178 4.2.1), inside the RFC 2743 3.1 `InitialContextToken`.
    Init(NegTokenInit),
    /// `negTokenResp` (RFC 4178 4.2.2).
    Resp(NegTokenResp),
}

/// RFC 4178 4.2.1 `NegTokenInit` (`reqFlags` and `mechListMIC` are ignored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct NegTokenInit {
    /// The content octets of each OID of `mechTypes`, most preferred first.
    pub(super) mech_types: Vec<Vec<u8>>,
    /// The DER encoding of `mechTypes` (the `MechTypeList` SEQUENCE), which `mechListMIC` signs.
    pub(super) mech_types_der: Vec<u8>,
    /// `mechToken`: the optimistic token of the first mechanism.
    pub(super) mech_token: Option<Vec<u8>>,
}

/// RFC 4178 4.2.2 `NegTokenResp`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct NegTokenResp {
    /// `negState`: 0 accept-completed, 1 accept-incomplete, 2 reject, 3 request-mic.
    pub(super) neg_state: Option<u8>,
    /// `supportedMech`: content octets of the OID.
    pub(super) supported_mech: Option<Vec<u8>>,
    /// `responseToken`: the mechanism's token.
    pub(super) response_token: Option<Vec<u8>>,
    /// `mechListMIC`.
    pub(super) mech_list_mic: Option<Vec<u8>>,
}

/// One DER TLV: identifier octet, contents, and what follows it.
struct Tlv<'a> {
    tag: u8,
    content: &'a [u8],
    rest: &'a [u8],
}

fn tlv(input: &[u8]) -> Result<Tlv<'_>, SpnegoError> {
    let (&tag, after_tag) = input.split_first().ok_or(SpnegoError("truncated tag"))?;
    if tag & 0x1f == 0x1f {
        return Err(SpnegoError("multi-byte tags are not used by spnego"));
    }
    let (&first, mut after_len) = after_tag
        .split_first()
        .ok_or(SpnegoError("truncated length"))?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return Err(SpnegoError("unsupported length form"));
        }
        let bytes = after_len.get(..n).ok_or(SpnegoError("truncated length"))?;
        after_len = after_len.get(n..).unwrap_or_default();
        bytes
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
    };
    let content = after_len
        .get(..len)
        .ok_or(SpnegoError("truncated contents"))?;
    let rest = after_len.get(len..).unwrap_or_default();
    Ok(Tlv { tag, content, rest })
}

/// Reads one TLV that must have `tag`; returns its contents and what follows.
fn expect<'a>(
    input: &'a [u8],
    tag: u8,
    what: &'static str,
) -> Result<(&'a [u8], &'a [u8]), SpnegoError> {
    let t = tlv(input)?;
    if t.tag != tag {
        return Err(SpnegoError(what));
    }
    Ok((t.content, t.rest))
}

/// The `[n] EXPLICIT` fields of a SEQUENCE's contents, in order.
fn fields(mut seq: &[u8]) -> Result<Vec<(u8, &[u8])>, SpnegoError> {
    let mut out = Vec::new();
    while !seq.is_empty() {
        let t = tlv(seq)?;
        if t.tag & 0xe0 != 0xa0 {
            return Err(SpnegoError("expected a context-specific field"));
        }
        out.push((t.tag & 0x1f, t.content));
        seq = t.rest;
    }
    Ok(out)
}

fn single(content: &[u8], tag: u8, what: &'static str) -> Result<Vec<u8>, SpnegoError> {
    let (inner, rest) = expect(content, tag, what)?;
    if !rest.is_empty() {
        return Err(SpnegoError("trailing bytes in a field"));
    }
    Ok(inner.to_vec())
}

/// Decodes the token of an `Authorization: Negotiate` header.
pub(super) fn decode(token: &[u8]) -> Result<NegToken, SpnegoError> {
    let top = tlv(token)?;
    if !top.rest.is_empty() {
        return Err(SpnegoError("trailing bytes after the token"));
    }
    match top.tag {
        TAG_APPLICATION_0 => {
            let (oid, inner) = expect(top.content, TAG_OID, "expected thisMech")?;
            if oid != SPNEGO_OID {
                return Err(SpnegoError("thisMech is not spnego"));
            }
            let (init, rest) = expect(inner, context(0), "expected negTokenInit")?;
            if !rest.is_empty() {
                return Err(SpnegoError("trailing bytes after negTokenInit"));
            }
            decode_init(init).map(NegToken::Init)
        }
        t if t == context(1) => decode_resp(top.content).map(NegToken::Resp),
        _ => Err(SpnegoError(
            "neither an InitialContextToken nor a negTokenResp",
        )),
    }
}

fn decode_init(input: &[u8]) -> Result<NegTokenInit, SpnegoError> {
    let (seq, rest) = expect(input, TAG_SEQUENCE, "expected the NegTokenInit sequence")?;
    if !rest.is_empty() {
        return Err(SpnegoError("trailing bytes after NegTokenInit"));
    }
    let mut init = None;
    let mut mech_token = None;
    for (n, content) in fields(seq)? {
        match n {
            0 => {
                let (mut list, rest) = expect(content, TAG_SEQUENCE, "expected MechTypeList")?;
                if !rest.is_empty() {
                    return Err(SpnegoError("trailing bytes after mechTypes"));
                }
                let mut mechs = Vec::new();
                while !list.is_empty() {
                    let (oid, next) = expect(list, TAG_OID, "expected a MechType")?;
                    mechs.push(oid.to_vec());
                    list = next;
                }
                init = Some((mechs, content.to_vec()));
            }
            2 => mech_token = Some(single(content, TAG_OCTET_STRING, "expected mechToken")?),
            _ => {} // reqFlags, mechListMIC, negHints
        }
    }
    let (mech_types, mech_types_der) = init.ok_or(SpnegoError("mechTypes missing"))?;
    Ok(NegTokenInit {
        mech_types,
        mech_types_der,
        mech_token,
    })
}

fn decode_resp(input: &[u8]) -> Result<NegTokenResp, SpnegoError> {
    let (seq, rest) = expect(input, TAG_SEQUENCE, "expected the NegTokenResp sequence")?;
    if !rest.is_empty() {
        return Err(SpnegoError("trailing bytes after NegTokenResp"));
    }
    let mut resp = NegTokenResp::default();
    for (n, content) in fields(seq)? {
        match n {
            0 => {
                let v = single(content, TAG_ENUMERATED, "expected negState")?;
                let [state] = v[..] else {
                    return Err(SpnegoError("negState is not one octet"));
                };
                resp.neg_state = Some(state);
            }
            1 => resp.supported_mech = Some(single(content, TAG_OID, "expected supportedMech")?),
            2 => {
                resp.response_token =
                    Some(single(content, TAG_OCTET_STRING, "expected responseToken")?);
            }
            3 => {
                resp.mech_list_mic =
                    Some(single(content, TAG_OCTET_STRING, "expected mechListMIC")?);
            }
            _ => return Err(SpnegoError("unknown NegTokenResp field")),
        }
    }
    Ok(resp)
}

fn put_tlv(out: &mut Vec<u8>, tag: u8, content: &[u8]) {
    out.push(tag);
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = (len as u32).to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        let used = bytes.get(skip..).unwrap_or_default();
        out.push(0x80 | used.len() as u8);
        out.extend_from_slice(used);
    }
    out.extend_from_slice(content);
}

fn explicit(out: &mut Vec<u8>, n: u8, tag: u8, content: &[u8]) {
    let mut inner = Vec::with_capacity(content.len() + 6);
    put_tlv(&mut inner, tag, content);
    put_tlv(out, context(n), &inner);
}

/// Encodes `[1] NegTokenResp` (RFC 4178 4.2.2), the acceptor's token.
pub(super) fn encode_resp(resp: &NegTokenResp) -> Vec<u8> {
    let mut seq = Vec::new();
    if let Some(state) = resp.neg_state {
        explicit(&mut seq, 0, TAG_ENUMERATED, &[state]);
    }
    if let Some(mech) = &resp.supported_mech {
        explicit(&mut seq, 1, TAG_OID, mech);
    }
    if let Some(token) = &resp.response_token {
        explicit(&mut seq, 2, TAG_OCTET_STRING, token);
    }
    if let Some(mic) = &resp.mech_list_mic {
        explicit(&mut seq, 3, TAG_OCTET_STRING, mic);
    }
    let mut sequence = Vec::with_capacity(seq.len() + 6);
    put_tlv(&mut sequence, TAG_SEQUENCE, &seq);
    let mut out = Vec::with_capacity(sequence.len() + 6);
    put_tlv(&mut out, context(1), &sequence);
    out
}

/// SPNEGO state of one connection between legs.
pub(super) struct Spnego {
    ntlm: Ntlm,
    /// DER `MechTypeList` of the client's NegTokenInit, for the `mechListMIC`.
    mech_types: Vec<u8>,
    /// Whether the NTLM NEGOTIATE was accepted (the CHALLENGE went out).
    challenged: bool,
}

/// One Negotiate leg: NegTokenInit → 401 with the NTLM CHALLENGE (or, when NTLM was not the
/// client's first choice, with the mechanism selection); NegTokenResp with AUTHENTICATE and
/// `mechListMIC` → the user, or a failure. A NegTokenResp without a handshake in progress on
/// this connection (`pending`) fails too. A handshake that goes on is left in `slot` (the
/// connection's).
pub(super) fn negotiate_step(
    attempt: &Attempt<'_>,
    slot: &mut Option<Spnego>,
    pending: Option<Spnego>,
    token: &str,
) -> Leg {
    let decoded = B64
        .decode(token)
        .map_err(|_| SpnegoError("bad base64"))
        .and_then(|raw| decode(&raw));
    let token = match decoded {
        Ok(token) => token,
        Err(e) => {
            tracing::debug!("negotiate: {e}");
            return Leg::Refused;
        }
    };
    match token {
        NegToken::Init(init) => {
            // A new NegTokenInit starts over, even on an authenticated connection.
            let Some(pos) = init.mech_types.iter().position(|m| m == NTLMSSP_OID) else {
                tracing::debug!("negotiate: the client does not offer ntlm");
                return Leg::Refused;
            };
            let sp = Spnego {
                ntlm: Ntlm::new(),
                mech_types: init.mech_types_der,
                challenged: false,
            };
            match init.mech_token.filter(|_| pos == 0) {
                Some(negotiate) => ntlm_challenge(slot, sp, negotiate, true),
                None => {
                    // RFC 4178 4.2.2: select NTLM; its first token comes in a negTokenResp.
                    *slot = Some(sp);
                    Leg::Continue(continue_needed(&NegTokenResp {
                        neg_state: Some(ACCEPT_INCOMPLETE),
                        supported_mech: Some(NTLMSSP_OID.to_vec()),
                        ..NegTokenResp::default()
                    }))
                }
            }
        }
        NegToken::Resp(resp) => {
            let Some(mut sp) = pending else {
                return orphan_authenticate(attempt, resp.response_token.as_deref());
            };
            if !sp.challenged {
                return match resp.response_token {
                    Some(inner) => ntlm_challenge(slot, sp, inner, false),
                    None => Leg::Refused,
                };
            }
            let Some(inner) = resp.response_token else {
                return Leg::Failed(None);
            };
            let (user, account) = match finish_ntlm(attempt, &mut sp.ntlm, inner) {
                Ok(verified) => verified,
                Err(leg) => return *leg,
            };
            // MS-SPNG 3.3.5.1: sspi's NTLM always puts a MIC in AUTHENTICATE, which makes
            // mechListMIC mandatory; we require it from every client.
            let Some(mic) = resp.mech_list_mic else {
                tracing::debug!("negotiate: mechListMIC missing");
                return Leg::Failed(Some(account));
            };
            if let Err(e) = verify_mic(&mut sp.ntlm, &sp.mech_types, mic) {
                tracing::debug!("negotiate: mechListMIC refused: {e}");
                return Leg::Failed(Some(account));
            }
            Leg::User(user)
        }
    }
}

/// Feeds the NTLM NEGOTIATE and answers with the CHALLENGE in a NegTokenResp.
fn ntlm_challenge(
    slot: &mut Option<Spnego>,
    mut sp: Spnego,
    negotiate: Vec<u8>,
    first: bool,
) -> Leg {
    match accept(&mut sp.ntlm, negotiate) {
        Ok((SecurityStatus::ContinueNeeded, out)) => {
            sp.challenged = true;
            *slot = Some(sp);
            Leg::Continue(continue_needed(&NegTokenResp {
                neg_state: Some(ACCEPT_INCOMPLETE),
                // RFC 4178 4.2.2: supportedMech only in the acceptor's first reply.
                supported_mech: first.then(|| NTLMSSP_OID.to_vec()),
                response_token: Some(out),
                mech_list_mic: None,
            }))
        }
        other => {
            if let Err(e) = other {
                tracing::debug!("negotiate: ntlm negotiate refused: {e}");
            }
            Leg::Refused
        }
    }
}

/// MS-SPNG 3.1.5.1 / RFC 4178 5: the client's `mechListMIC` is the NTLM signature (sequence
/// number 0) over the DER `MechTypeList` it sent.
fn verify_mic(ntlm: &mut Ntlm, mech_types: &[u8], mic: Vec<u8>) -> sspi::Result<u32> {
    let mut data = mech_types.to_vec();
    let mut signature = mic;
    let mut message = [
        SecurityBufferRef::data_buf(&mut data),
        SecurityBufferRef::token_buf(&mut signature),
    ];
    ntlm.verify_signature(&mut message, 0)
}

fn continue_needed(resp: &NegTokenResp) -> Box<Response<ChunkedBody>> {
    let mut out = plain(StatusCode::UNAUTHORIZED, "negotiate continue");
    let v = format!("Negotiate {}", B64.encode(encode_resp(resp)));
    if let Ok(v) = HeaderValue::from_str(&v) {
        out.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    Box::new(out)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use sspi::ntlm::NtlmConfig;
    use sspi::{
        AuthIdentity, BufferType, ClientRequestFlags, CredentialUse, Credentials,
        DataRepresentation, Negotiate, NegotiateConfig, SecurityBuffer, SspiImpl, Username,
    };

    use super::*;

    /// The reply IIS/Windows sends to select NTLM (RFC 4178 4.2.2, MS-SPNG 3.2.5.2), here with
    /// a 3-octet response token.
    const SELECT_NTLM: &[u8] = &[
        0xa1, 0x1c, 0x30, 0x1a, // [1] NegTokenResp, SEQUENCE
        0xa0, 0x03, 0x0a, 0x01, 0x01, // negState accept-incomplete
        0xa1, 0x0c, 0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02,
        0x0a, // supportedMech NTLMSSP
        0xa2, 0x05, 0x04, 0x03, 0x01, 0x02, 0x03, // responseToken
    ];

    fn select_ntlm() -> NegTokenResp {
        NegTokenResp {
            neg_state: Some(ACCEPT_INCOMPLETE),
            supported_mech: Some(NTLMSSP_OID.to_vec()),
            response_token: Some(vec![1, 2, 3]),
            mech_list_mic: None,
        }
    }

    #[test]
    fn neg_token_resp_known_answer() {
        assert_eq!(encode_resp(&select_ntlm()), SELECT_NTLM);
        assert_eq!(decode(SELECT_NTLM), Ok(NegToken::Resp(select_ntlm())));
    }

    /// The first token of sspi's Negotiate client (NTLM only, no KDC).
    fn client_init() -> Vec<u8> {
        let config = NegotiateConfig::new(
            Box::new(NtlmConfig::new("WS".to_owned())),
            Some("!kerberos,!pku2u,ntlm".to_owned()),
            "WS".to_owned(),
        );
        let mut ctx = Negotiate::new_client(config).unwrap();
        let identity = AuthIdentity {
            username: Username::parse("alice").unwrap(),
            password: "pw".to_owned().into(),
        };
        let mut handle = ctx
            .acquire_credentials_handle()
            .with_credential_use(CredentialUse::Outbound)
            .with_auth_data(&Credentials::AuthIdentity(identity))
            .execute(&mut ctx)
            .unwrap()
            .credentials_handle;
        let mut out = vec![SecurityBuffer::new(Vec::new(), BufferType::Token)];
        let mut builder = ctx
            .initialize_security_context()
            .with_credentials_handle(&mut handle)
            .with_context_requirements(ClientRequestFlags::ALLOCATE_MEMORY)
            .with_target_data_representation(DataRepresentation::Native)
            .with_target_name("HTTP/mail.example.test")
            .with_output(&mut out);
        ctx.initialize_security_context_impl(&mut builder)
            .unwrap()
            .resolve_to_result()
            .unwrap();
        out.remove(0).buffer
    }

    #[test]
    fn sspi_client_init_decodes() {
        let raw = client_init();
        // RFC 2743 3.1: [APPLICATION 0] with thisMech 1.3.6.1.5.5.2.
        assert_eq!(raw[0], 0x60);
        let NegToken::Init(init) = decode(&raw).unwrap() else {
            panic!("not a negTokenInit");
        };
        assert_eq!(init.mech_types, [NTLMSSP_OID.to_vec()]);
        // The MechTypeList DER: SEQUENCE { OID NTLMSSP }.
        assert_eq!(init.mech_types_der[..4], [0x30, 0x0c, 0x06, 0x0a]);
        assert_eq!(&init.mech_types_der[4..], NTLMSSP_OID);
        // MS-NLMP 2.2.1.1: NEGOTIATE_MESSAGE.
        let token = init.mech_token.unwrap();
        assert_eq!(&token[..12], b"NTLMSSP\0\x01\0\0\0");
    }

    #[test]
    fn init_keeps_mech_order_and_skips_req_flags() {
        // Kerberos (1.2.840.113554.1.2.2) first, then NTLMSSP; reqFlags present; no mechToken.
        let krb5 = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02];
        let mut list = vec![0x06, krb5.len() as u8];
        list.extend_from_slice(&krb5);
        list.extend_from_slice(&[0x06, 0x0a]);
        list.extend_from_slice(NTLMSSP_OID);
        let mut mech_types = Vec::new();
        put_tlv(&mut mech_types, TAG_SEQUENCE, &list);
        let mut seq = Vec::new();
        put_tlv(&mut seq, context(0), &mech_types);
        put_tlv(&mut seq, context(1), &[0x03, 0x02, 0x01, 0x06]); // ContextFlags BIT STRING
        let mut init = Vec::new();
        put_tlv(&mut init, TAG_SEQUENCE, &seq);
        let mut inner = vec![0x06, 0x06];
        inner.extend_from_slice(SPNEGO_OID);
        put_tlv(&mut inner, context(0), &init);
        let mut token = Vec::new();
        put_tlv(&mut token, TAG_APPLICATION_0, &inner);
        let NegToken::Init(init) = decode(&token).unwrap() else {
            panic!("not a negTokenInit");
        };
        assert_eq!(init.mech_types, [krb5.to_vec(), NTLMSSP_OID.to_vec()]);
        assert_eq!(init.mech_types_der, mech_types);
        assert_eq!(init.mech_token, None);
    }

    #[test]
    fn every_prefix_is_an_error() {
        for token in [client_init(), SELECT_NTLM.to_vec()] {
            for n in 0..token.len() {
                assert!(decode(&token[..n]).is_err(), "prefix {n}");
            }
            let mut longer = token.clone();
            longer.push(0);
            assert!(decode(&longer).is_err());
        }
    }

    #[test]
    fn wrong_outer_tags_are_refused() {
        assert_eq!(
            decode(&[0x30, 0x00]),
            Err(SpnegoError(
                "neither an InitialContextToken nor a negTokenResp"
            ))
        );
        // An InitialContextToken for another mechanism (Kerberos 1.2.840.113554.1.2.2).
        let token = [
            0x60, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02,
        ];
        assert_eq!(decode(&token), Err(SpnegoError("thisMech is not spnego")));
        // A negState of two octets.
        let token = [0xa1, 0x08, 0x30, 0x06, 0xa0, 0x04, 0x0a, 0x02, 0x00, 0x01];
        assert_eq!(
            decode(&token),
            Err(SpnegoError("negState is not one octet"))
        );
    }

    proptest! {
        #[test]
        fn neg_token_resp_round_trips(
            neg_state in proptest::option::of(0u8..4),
            supported_mech in proptest::option::of(proptest::collection::vec(any::<u8>(), 1..12)),
            response_token in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..600)),
            mech_list_mic in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..20)),
        ) {
            let resp = NegTokenResp { neg_state, supported_mech, response_token, mech_list_mic };
            let der = encode_resp(&resp);
            prop_assert_eq!(decode(&der), Ok(NegToken::Resp(resp)));
        }

        #[test]
        fn decode_never_panics(raw in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode(&raw);
        }
    }
}
