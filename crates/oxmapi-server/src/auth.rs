//! HTTP authentication, per connection: `Basic` (user = alias, SMTP address or `DOMAIN\alias`),
//! `NTLM` (MS-NLMP, server side through `sspi`) and `Bearer` (RFC 6750, tokens from
//! [`crate::tokens`]) and `Negotiate` (RFC 4559, SPNEGO carrying NTLM, see [`negotiate`]). Once
//! a connection authenticated, the identity sticks to it; a request carrying new credentials
//! re-authenticates.

mod negotiate;

use std::sync::Mutex;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Response, StatusCode};
use sspi::{
    AuthIdentity, AuthIdentityBuffers, BufferType, DataRepresentation, Ntlm, SecurityBuffer,
    SecurityStatus, ServerRequestFlags, Sspi, SspiEx, SspiImpl,
};

use crate::http::{AppState, ChunkedBody, plain};
use crate::store::UserRecord;
use crate::tokens::TokenCheck;

/// Authentication state of one TCP connection.
#[derive(Default)]
pub(crate) struct ConnAuth {
    user: Option<UserRecord>,
    ntlm: Option<Ntlm>,
    spnego: Option<negotiate::Spnego>,
}

/// The user of this request, or the 401 response to send.
pub(crate) fn authenticate(
    state: &AppState,
    conn: &Mutex<ConnAuth>,
    headers: &HeaderMap,
) -> Result<UserRecord, Box<Response<ChunkedBody>>> {
    let mut conn = conn
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return conn.user.clone().ok_or_else(challenge);
    };
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    let token = token.trim();
    if scheme.eq_ignore_ascii_case("Basic") {
        conn.user = None;
        let user = basic(state, token).ok_or_else(challenge)?;
        conn.user = Some(user.clone());
        Ok(user)
    } else if scheme.eq_ignore_ascii_case("NTLM") {
        ntlm_step(state, &mut conn, token)
    } else if scheme.eq_ignore_ascii_case("Negotiate") {
        negotiate::negotiate_step(state, &mut conn, token)
    } else if scheme.eq_ignore_ascii_case("Bearer") {
        conn.user = None;
        let user = bearer(state, token)?;
        conn.user = Some(user.clone());
        Ok(user)
    } else {
        Err(challenge())
    }
}

/// 401 offering Negotiate, NTLM, Basic and Bearer.
fn challenge() -> Box<Response<ChunkedBody>> {
    challenge_with(
        "authentication required",
        HeaderValue::from_static("Bearer realm=\"oxmapi\""),
    )
}

fn challenge_with(body: &'static str, bearer: HeaderValue) -> Box<Response<ChunkedBody>> {
    let mut resp = plain(StatusCode::UNAUTHORIZED, body);
    let h = resp.headers_mut();
    h.append(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Negotiate"),
    );
    h.append(header::WWW_AUTHENTICATE, HeaderValue::from_static("NTLM"));
    h.append(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"oxmapi\""),
    );
    h.append(header::WWW_AUTHENTICATE, bearer);
    Box::new(resp)
}

/// A bearer token: its user, or 401 with RFC 6750 3.1 `error="invalid_token"` and why.
fn bearer(state: &AppState, token: &str) -> Result<UserRecord, Box<Response<ChunkedBody>>> {
    let why = match state.store.check_token(token) {
        Ok(TokenCheck::Valid(user)) => return Ok(user),
        Ok(TokenCheck::Expired) => "the token has expired; obtain a new token",
        Ok(TokenCheck::Revoked) => "the token was revoked; obtain a new token",
        Ok(TokenCheck::Unknown) => "the token was not issued by this server",
        Err(e) => {
            tracing::warn!("bearer auth: {e}");
            "the token cannot be checked now"
        }
    };
    tracing::debug!(reason = why, "bearer token refused");
    let value =
        format!("Bearer realm=\"oxmapi\", error=\"invalid_token\", error_description=\"{why}\"");
    let value = HeaderValue::from_str(&value)
        .unwrap_or_else(|_| HeaderValue::from_static("Bearer error=\"invalid_token\""));
    Err(challenge_with("invalid token", value))
}

fn basic(state: &AppState, token: &str) -> Option<UserRecord> {
    let raw = B64.decode(token).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (login, password) = text.split_once(':')?;
    match state.store.check_password(login, password) {
        Ok(user) => user,
        Err(e) => {
            tracing::warn!("basic auth: {e}");
            None
        }
    }
}

/// One NTLM leg: NEGOTIATE → 401 with the CHALLENGE; AUTHENTICATE → the user, or 401.
fn ntlm_step(
    state: &AppState,
    conn: &mut ConnAuth,
    token: &str,
) -> Result<UserRecord, Box<Response<ChunkedBody>>> {
    let Ok(input) = B64.decode(token) else {
        conn.ntlm = None;
        return Err(challenge());
    };
    // A NEGOTIATE (message type 1) starts over, even on an authenticated connection.
    let is_negotiate = input.get(8..12) == Some(&[1, 0, 0, 0][..]);
    if is_negotiate {
        conn.user = None;
        let mut ntlm = Ntlm::new();
        return match accept(&mut ntlm, input) {
            Ok((SecurityStatus::ContinueNeeded, out)) => {
                conn.ntlm = Some(ntlm);
                let mut resp = plain(StatusCode::UNAUTHORIZED, "ntlm challenge");
                let v = format!("NTLM {}", B64.encode(out));
                if let Ok(v) = HeaderValue::from_str(&v) {
                    resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
                }
                Err(Box::new(resp))
            }
            _ => Err(challenge()),
        };
    }
    let Some(mut ntlm) = conn.ntlm.take() else {
        return Err(challenge());
    };
    let user = finish_ntlm(state, &mut ntlm, input).ok_or_else(challenge)?;
    conn.user = Some(user.clone());
    Ok(user)
}

fn finish_ntlm(state: &AppState, ntlm: &mut Ntlm, input: Vec<u8>) -> Option<UserRecord> {
    let (status, _) = accept(ntlm, input).ok()?;
    if !matches!(
        status,
        SecurityStatus::CompleteNeeded | SecurityStatus::CompleteAndContinue | SecurityStatus::Ok
    ) {
        return None;
    }
    let names = ntlm.query_context_names().ok()?;
    let user = state
        .store
        .user_by_alias(names.username.account_name())
        .ok()
        .flatten()?;
    let hash = state.store.nt_hash_of(user.id).ok().flatten()?;
    let hex: String = hash.0.iter().map(|b| format!("{b:02x}")).collect();
    let identity = AuthIdentity {
        username: names.username.clone(),
        password: format!("{}{hex}", sspi::NTLM_HASH_PREFIX).into(),
    };
    ntlm.custom_set_auth_identity(identity).ok()?;
    ntlm.complete_auth_token(&mut []).ok()?;
    Some(user)
}

fn accept(ntlm: &mut Ntlm, input: Vec<u8>) -> sspi::Result<(SecurityStatus, Vec<u8>)> {
    let mut creds: Option<AuthIdentityBuffers> = None;
    let mut input = vec![SecurityBuffer::new(input, BufferType::Token)];
    let mut output = vec![SecurityBuffer::new(Vec::new(), BufferType::Token)];
    let builder = ntlm
        .accept_security_context()
        .with_credentials_handle(&mut creds)
        .with_context_requirements(ServerRequestFlags::ALLOCATE_MEMORY)
        .with_target_data_representation(DataRepresentation::Native)
        .with_input(&mut input)
        .with_output(&mut output);
    let result = ntlm
        .accept_security_context_impl(builder)?
        .resolve_to_result()?;
    let out = output
        .into_iter()
        .next()
        .map(|b| b.buffer)
        .unwrap_or_default();
    Ok((result.status, out))
}
