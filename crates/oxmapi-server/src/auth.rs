//! HTTP authentication: `Basic` (user = alias, SMTP address or `DOMAIN\alias`), `NTLM`
//! (MS-NLMP, server side through `sspi`), `Bearer` (RFC 6750, tokens from [`crate::tokens`])
//! and `Negotiate` (RFC 4559, SPNEGO carrying NTLM, see [`negotiate`]).
//!
//! * Basic and Bearer credentials authenticate the one request that carries them (RFC 7617 2,
//!   RFC 6750 2.1): a request without an `Authorization` header is refused, whatever an earlier
//!   request on the connection presented.
//! * NTLM and Negotiate authenticate the connection (MS-N2HT 3.2.5.1, `Persistent-Auth`), but
//!   only once the handshake completed: later requests on it need no header. A request that
//!   carries an `Authorization` header drops the connection's identity first, so a failed leg,
//!   an AUTHENTICATE without its NEGOTIATE or any other scheme leaves the connection
//!   unauthenticated.
//! * Every failed logon is counted per account and per client address by [`throttle`]: it is
//!   answered late after a few failures, and a locked account or address is refused without
//!   looking at its credentials. Failed logons are logged at `warn` with the user name as
//!   given (printable characters only, at most 64), the scheme and the client address — never
//!   the password, the token or an NTLM/SPNEGO message. Why a bearer token was refused goes to
//!   the `debug` log only: the client gets one `error="invalid_token"` answer for all of them.

mod attempt;
mod negotiate;
pub(crate) mod ntlm;
pub(crate) mod throttle;

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Response, StatusCode};
use sspi::{Ntlm, SecurityStatus};

use crate::body::{ChunkedBody, plain};
use crate::state::AppState;
use crate::store::UserRecord;
use crate::tokens::TokenCheck;
use attempt::{Account, Attempt, Leg, Scheme, challenge};
use ntlm::{accept, finish_ntlm, ntlm_message_type, orphan_authenticate};

/// Longest user name written to the log, in characters.
const MAX_LOGGED_NAME: usize = 64;

/// Authentication state of one TCP connection.
pub(crate) struct ConnAuth {
    /// The client's address (throttling, logs).
    peer: SocketAddr,
    /// The user of a completed NTLM or Negotiate handshake on this connection.
    user: Option<UserRecord>,
    /// An NTLM handshake waiting for its AUTHENTICATE message.
    ntlm: Option<Ntlm>,
    /// A Negotiate handshake waiting for its next leg.
    spnego: Option<negotiate::Spnego>,
}

impl ConnAuth {
    /// A connection from `peer`, not authenticated yet.
    pub(crate) fn new(peer: SocketAddr) -> Self {
        Self {
            peer,
            user: None,
            ntlm: None,
            spnego: None,
        }
    }
}

/// The user of this request, or the 401 response to send. A failed logon is answered only
/// after the throttle's delay (an async sleep: no worker thread waits).
pub(crate) async fn authenticate(
    state: &AppState,
    conn: &Mutex<ConnAuth>,
    headers: &HeaderMap,
) -> Result<UserRecord, Box<Response<ChunkedBody>>> {
    match authenticate_now(state, conn, headers) {
        Ok(user) => Ok(user),
        Err(Refusal { response, delay }) => {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            Err(response)
        }
    }
}

/// A 401 and how long to hold it back.
struct Refusal {
    response: Box<Response<ChunkedBody>>,
    delay: Duration,
}

impl Refusal {
    fn now(response: Box<Response<ChunkedBody>>) -> Self {
        Self {
            response,
            delay: Duration::ZERO,
        }
    }
}

fn authenticate_now(
    state: &AppState,
    conn: &Mutex<ConnAuth>,
    headers: &HeaderMap,
) -> Result<UserRecord, Refusal> {
    let mut conn = conn
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        // Only a completed NTLM/Negotiate handshake stays with the connection.
        return conn.user.clone().ok_or_else(|| Refusal::now(challenge()));
    };
    // New credentials replace whatever the connection held, even when they fail.
    conn.user = None;
    let ntlm = conn.ntlm.take();
    let spnego = conn.spnego.take();
    let Some((scheme, token)) = value.to_str().ok().map(|v| {
        let (scheme, token) = v.split_once(' ').unwrap_or((v, ""));
        (Scheme::parse(scheme), token.trim())
    }) else {
        return Err(Refusal::now(challenge()));
    };
    let Some(scheme) = scheme else {
        return Err(Refusal::now(challenge()));
    };
    let attempt = Attempt {
        state,
        client: conn.peer.ip(),
        scheme,
        now: Instant::now(),
    };
    let leg = match scheme {
        Scheme::Basic => basic(&attempt, token),
        Scheme::Ntlm => ntlm_step(&attempt, &mut conn, ntlm, token),
        Scheme::Negotiate => negotiate::negotiate_step(&attempt, &mut conn.spnego, spnego, token),
        Scheme::Bearer => bearer(&attempt, token),
    };
    conclude(&attempt, &mut conn, leg)
}

/// Applies the throttle and the log to a leg's outcome.
fn conclude(attempt: &Attempt<'_>, conn: &mut ConnAuth, leg: Leg) -> Result<UserRecord, Refusal> {
    let limits = &attempt.state.config.limits;
    let client = attempt.client;
    let scheme = attempt.scheme.name();
    match leg {
        Leg::User(user) => {
            attempt.state.throttle.succeeded(&user.alias);
            if attempt.scheme.binds_connection() {
                conn.user = Some(user.clone());
            }
            Ok(user)
        }
        Leg::Continue(response) => Err(Refusal::now(response)),
        Leg::Refused => Err(Refusal::now(challenge())),
        Leg::Unavailable => Err(Refusal::now(attempt.refusal())),
        Leg::Locked(account) => {
            let user = loggable(account.as_ref().map_or("", |a| a.given.as_str()));
            tracing::debug!(scheme, ?user, %client, "logon refused: locked out");
            Err(Refusal::now(attempt.refusal()))
        }
        // A failure racing a lockout that just started is not counted (nor logged) again.
        Leg::Failed(account) if attempt.locked(account.as_ref()) => {
            conclude(attempt, conn, Leg::Locked(account))
        }
        Leg::Failed(account) => {
            let user = loggable(account.as_ref().map_or("", |a| a.given.as_str()));
            let key = account.as_ref().map(|a| a.key.as_str());
            let failure = attempt
                .state
                .throttle
                .failed(limits, key, client, attempt.now);
            tracing::warn!(scheme, ?user, %client, "failed logon");
            let lockout = limits.logon_lockout.as_secs();
            if failure.account_locked {
                let account = loggable(key.unwrap_or_default());
                tracing::warn!(
                    ?account, %client, failures = limits.logon_lockout_after, lockout_secs = lockout,
                    "account locked out after repeated failed logons"
                );
            }
            if failure.client_locked {
                tracing::warn!(
                    %client, failures = limits.logon_lockout_after, lockout_secs = lockout,
                    "client address locked out after repeated failed logons"
                );
            }
            Err(Refusal {
                response: attempt.refusal(),
                delay: failure.delay,
            })
        }
    }
}

/// A user name fit for the log: printable characters only (others become `?`), at most
/// [`MAX_LOGGED_NAME`] of them.
fn loggable(name: &str) -> String {
    name.chars()
        .take(MAX_LOGGED_NAME)
        .map(|c| {
            if c == ' ' || c.is_ascii_graphic() || (!c.is_ascii() && c.is_alphanumeric()) {
                c
            } else {
                '?'
            }
        })
        .collect()
}

/// A bearer token (per client address only: a token names no account).
fn bearer(attempt: &Attempt<'_>, token: &str) -> Leg {
    if attempt.locked(None) {
        return Leg::Locked(None);
    }
    let reason = match attempt.state.store.check_token(token) {
        Ok(TokenCheck::Valid(user)) => return Leg::User(user),
        Ok(TokenCheck::Expired) => "expired",
        Ok(TokenCheck::Revoked) => "revoked",
        Ok(TokenCheck::Unknown) => "not issued by this server",
        Err(e) => {
            tracing::warn!("bearer auth: {e}");
            return Leg::Unavailable;
        }
    };
    tracing::debug!(reason, client = %attempt.client, "bearer token refused");
    Leg::Failed(None)
}

fn basic(attempt: &Attempt<'_>, token: &str) -> Leg {
    let decoded = B64
        .decode(token)
        .ok()
        .and_then(|raw| String::from_utf8(raw).ok());
    let Some((login, password)) = decoded.as_deref().and_then(|t| t.split_once(':')) else {
        return Leg::Failed(None);
    };
    // The address first: a locked-out client costs no store lookup.
    if attempt.locked(None) {
        return Leg::Locked(Some(Account::unresolved(login)));
    }
    let account = Account::from_login(attempt.state, login);
    if attempt.locked(Some(&account)) {
        return Leg::Locked(Some(account));
    }
    match attempt.state.store.check_password(login, password) {
        Ok(Some(user)) => Leg::User(user),
        Ok(None) => Leg::Failed(Some(account)),
        Err(e) => {
            tracing::warn!("basic auth: {e}");
            Leg::Unavailable
        }
    }
}

/// One NTLM leg: NEGOTIATE → 401 with the CHALLENGE; AUTHENTICATE → the user, or a failure
/// (also when no NEGOTIATE preceded it on this connection).
fn ntlm_step(
    attempt: &Attempt<'_>,
    conn: &mut ConnAuth,
    pending: Option<Ntlm>,
    token: &str,
) -> Leg {
    let Ok(input) = B64.decode(token) else {
        return Leg::Refused;
    };
    match ntlm_message_type(&input) {
        // NEGOTIATE_MESSAGE: starts over, even on an authenticated connection.
        Some(1) => {
            let mut ntlm = Ntlm::new();
            match accept(&mut ntlm, input) {
                Ok((SecurityStatus::ContinueNeeded, out)) => {
                    conn.ntlm = Some(ntlm);
                    let mut resp = plain(StatusCode::UNAUTHORIZED, "ntlm challenge");
                    let v = format!("NTLM {}", B64.encode(out));
                    if let Ok(v) = HeaderValue::from_str(&v) {
                        resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
                    }
                    Leg::Continue(Box::new(resp))
                }
                _ => Leg::Refused,
            }
        }
        // AUTHENTICATE_MESSAGE.
        Some(3) => match pending {
            Some(mut ntlm) => match finish_ntlm(attempt, &mut ntlm, input) {
                Ok((user, _)) => Leg::User(user),
                Err(leg) => *leg,
            },
            None => orphan_authenticate(attempt, Some(&input)),
        },
        _ => Leg::Refused,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loggable_names_are_printable_and_short() {
        assert_eq!(loggable("EXAMPLE\\alice"), "EXAMPLE\\alice");
        assert_eq!(loggable("bob@example.test"), "bob@example.test");
        assert_eq!(loggable("Zoë Ångström"), "Zoë Ångström");
        assert_eq!(loggable("a\nb\r\u{1b}[31m\u{202e}c\0"), "a?b??[31m?c?");
        assert_eq!(loggable(&"x".repeat(500)).chars().count(), MAX_LOGGED_NAME);
        assert_eq!(loggable(""), "");
    }
}
