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

mod negotiate;
mod throttle;

use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

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

pub(crate) use throttle::Throttle;

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
        Scheme::Negotiate => negotiate::negotiate_step(&attempt, &mut conn, spnego, token),
        Scheme::Bearer => bearer(&attempt, token),
    };
    conclude(&attempt, &mut conn, leg)
}

/// The schemes the server offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Basic,
    Ntlm,
    Negotiate,
    Bearer,
}

impl Scheme {
    fn parse(name: &str) -> Option<Self> {
        [Self::Basic, Self::Ntlm, Self::Negotiate, Self::Bearer]
            .into_iter()
            .find(|s| s.name().eq_ignore_ascii_case(name))
    }

    fn name(self) -> &'static str {
        match self {
            Self::Basic => "Basic",
            Self::Ntlm => "NTLM",
            Self::Negotiate => "Negotiate",
            Self::Bearer => "Bearer",
        }
    }

    /// NTLM and Negotiate authenticate the connection; Basic and Bearer one request.
    fn binds_connection(self) -> bool {
        matches!(self, Self::Ntlm | Self::Negotiate)
    }
}

/// One request's logon attempt.
struct Attempt<'a> {
    state: &'a AppState,
    client: IpAddr,
    scheme: Scheme,
    now: Instant,
}

impl Attempt<'_> {
    /// Whether `account` (when known) or the client address is locked out.
    fn locked(&self, account: Option<&Account>) -> bool {
        self.state.throttle.is_locked(
            &self.state.config.limits,
            account.map(|a| a.key.as_str()),
            self.client,
            self.now,
        )
    }

    /// The 401 of a refused logon: the normal challenge, or for Bearer `invalid_token`.
    fn refusal(&self) -> Box<Response<ChunkedBody>> {
        match self.scheme {
            Scheme::Bearer => invalid_token(),
            _ => challenge(),
        }
    }
}

/// The account a logon named.
#[derive(Debug, Clone)]
struct Account {
    /// The name as the client gave it (for the log, after [`loggable`]).
    given: String,
    /// What the throttle counts: the alias of the user it designates, else the name itself.
    key: String,
}

impl Account {
    /// A Basic logon name: alias, SMTP address or `DOMAIN\alias`.
    fn from_login(state: &AppState, login: &str) -> Self {
        let key = match state.store.user_by_login(login) {
            Ok(Some(user)) => user.alias,
            _ => login.rsplit_once('\\').map_or(login, |(_, a)| a).to_owned(),
        };
        Self {
            given: login.to_owned(),
            key,
        }
    }

    /// A name as given, not looked up (for a logon refused before any lookup).
    fn unresolved(given: &str) -> Self {
        Self {
            given: given.to_owned(),
            key: given.to_owned(),
        }
    }
}

/// What one leg of a scheme came to.
enum Leg {
    /// Authenticated.
    User(UserRecord),
    /// The handshake goes on: this 401 carries the next token.
    Continue(Box<Response<ChunkedBody>>),
    /// No logon attempt (a malformed or refused first leg): the plain challenge.
    Refused,
    /// Credentials refused; the account when the client named one.
    Failed(Option<Account>),
    /// Refused without checking the credentials: the account or the address is locked out.
    Locked(Option<Account>),
    /// The store could not check the credentials.
    Unavailable,
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

/// RFC 6750 3.1 `invalid_token`, the same for every refused token: whether it was unknown,
/// expired or revoked is only in the server's debug log.
fn invalid_token() -> Box<Response<ChunkedBody>> {
    challenge_with(
        "invalid token",
        HeaderValue::from_static(
            "Bearer realm=\"oxmapi\", error=\"invalid_token\", \
             error_description=\"the token is not valid; obtain a new token\"",
        ),
    )
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

/// MS-NLMP 2.2.1: the MessageType field at offset 8 of every NTLM message.
fn ntlm_message_type(message: &[u8]) -> Option<u32> {
    let field: [u8; 4] = message.get(8..12)?.try_into().ok()?;
    Some(u32::from_le_bytes(field))
}

/// MS-NLMP 2.2.1.3 AUTHENTICATE_MESSAGE: the `DOMAIN\user` (or `user`) it claims, read before
/// anything is verified, for the throttle and the log when the message fails early.
fn claimed_user(message: &[u8]) -> Option<String> {
    /// MS-NLMP 2.2.2.5 NTLMSSP_NEGOTIATE_UNICODE (flag A).
    const NEGOTIATE_UNICODE: u32 = 0x0000_0001;
    let u16_at = |at: usize| -> Option<u16> {
        let b: [u8; 2] = message.get(at..at.checked_add(2)?)?.try_into().ok()?;
        Some(u16::from_le_bytes(b))
    };
    let u32_at = |at: usize| -> Option<u32> {
        let b: [u8; 4] = message.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(u32::from_le_bytes(b))
    };
    if message.get(..8) != Some(b"NTLMSSP\0".as_slice()) || ntlm_message_type(message) != Some(3) {
        return None;
    }
    let flags = u32_at(60)?;
    // A `*Fields` descriptor at `at`: Len (2), MaxLen (2), BufferOffset (4).
    let field = |at: usize| -> Option<String> {
        let len = usize::from(u16_at(at)?);
        let offset = usize::try_from(u32_at(at + 4)?).ok()?;
        let bytes = message.get(offset..offset.checked_add(len)?)?;
        Some(if flags & NEGOTIATE_UNICODE != 0 {
            let units: Vec<u16> = bytes
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16_lossy(&units)
        } else {
            bytes.iter().copied().map(char::from).collect()
        })
    };
    let domain = field(28)?; // DomainNameFields
    let user = field(36)?; // UserNameFields
    Some(if domain.is_empty() {
        user
    } else {
        format!("{domain}\\{user}")
    })
}

/// An AUTHENTICATE (or a Negotiate continuation) without a handshake in progress on the
/// connection: a failed logon, counted for the account the message claims if it names one.
fn orphan_authenticate(attempt: &Attempt<'_>, message: Option<&[u8]>) -> Leg {
    let claimed = message.and_then(claimed_user);
    if attempt.locked(None) {
        return Leg::Locked(claimed.as_deref().map(Account::unresolved));
    }
    Leg::Failed(
        claimed
            .as_deref()
            .map(|name| Account::from_login(attempt.state, name)),
    )
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

/// Reads an AUTHENTICATE message and verifies it against the user's NT hash, unless the
/// account or the address is locked out. `Ok` gives the user and the account it named, `Err`
/// the leg's outcome.
fn finish_ntlm(
    attempt: &Attempt<'_>,
    ntlm: &mut Ntlm,
    input: Vec<u8>,
) -> Result<(UserRecord, Account), Box<Leg>> {
    let claimed = claimed_user(&input);
    if attempt.locked(None) {
        let account = claimed.as_deref().map(Account::unresolved);
        return Err(Box::new(Leg::Locked(account)));
    }
    let failed = || {
        let account = claimed
            .as_ref()
            .map(|n| Account::from_login(attempt.state, n));
        Box::new(Leg::Failed(account))
    };
    let status = accept(ntlm, input).map_err(|_| failed())?.0;
    if !matches!(
        status,
        SecurityStatus::CompleteNeeded | SecurityStatus::CompleteAndContinue | SecurityStatus::Ok
    ) {
        return Err(failed());
    }
    // Reading the message checked nothing yet: the names are what the client claims.
    let names = ntlm.query_context_names().map_err(|_| failed())?;
    let name = names.username.account_name();
    let user = match attempt.state.store.user_by_alias(name) {
        Ok(user) => user,
        Err(e) => {
            tracing::warn!("ntlm auth: {e}");
            return Err(Box::new(Leg::Unavailable));
        }
    };
    let account = Account {
        given: names.username.inner().to_owned(),
        key: user.as_ref().map_or(name, |u| u.alias.as_str()).to_owned(),
    };
    if attempt.locked(Some(&account)) {
        return Err(Box::new(Leg::Locked(Some(account))));
    }
    let Some(user) = user else {
        return Err(Box::new(Leg::Failed(Some(account))));
    };
    let Some(hash) = attempt.state.store.nt_hash_of(user.id).ok().flatten() else {
        return Err(Box::new(Leg::Failed(Some(account))));
    };
    let hex: String = hash.0.iter().map(|b| format!("{b:02x}")).collect();
    let identity = AuthIdentity {
        username: names.username.clone(),
        password: format!("{}{hex}", sspi::NTLM_HASH_PREFIX).into(),
    };
    let verified = ntlm
        .custom_set_auth_identity(identity)
        .and_then(|()| ntlm.complete_auth_token(&mut []));
    match verified {
        Ok(_) => Ok((user, account)),
        Err(_) => Err(Box::new(Leg::Failed(Some(account)))),
    }
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

    #[test]
    fn schemes_parse_case_insensitively() {
        assert_eq!(Scheme::parse("basic"), Some(Scheme::Basic));
        assert_eq!(Scheme::parse("ntlm"), Some(Scheme::Ntlm));
        assert_eq!(Scheme::parse("NEGOTIATE"), Some(Scheme::Negotiate));
        assert_eq!(Scheme::parse("Bearer"), Some(Scheme::Bearer));
        assert_eq!(Scheme::parse("Digest"), None);
        assert!(Scheme::Ntlm.binds_connection() && Scheme::Negotiate.binds_connection());
        assert!(!Scheme::Basic.binds_connection() && !Scheme::Bearer.binds_connection());
    }

    /// An AUTHENTICATE_MESSAGE (MS-NLMP 2.2.1.3) with only the fields `claimed_user` reads:
    /// DomainNameFields at 28, UserNameFields at 36, NegotiateFlags at 60, payload at 64.
    fn authenticate_message(domain: &str, user: &str, unicode: bool) -> Vec<u8> {
        let encode = |s: &str| -> Vec<u8> {
            if unicode {
                s.encode_utf16().flat_map(u16::to_le_bytes).collect()
            } else {
                s.bytes().collect()
            }
        };
        let (d, u) = (encode(domain), encode(user));
        let mut m = vec![0u8; 64];
        m[..8].copy_from_slice(b"NTLMSSP\0");
        m[8] = 3;
        let mut put = |at: usize, len: usize, offset: usize| {
            m[at..at + 2].copy_from_slice(&(len as u16).to_le_bytes());
            m[at + 2..at + 4].copy_from_slice(&(len as u16).to_le_bytes());
            m[at + 4..at + 8].copy_from_slice(&(offset as u32).to_le_bytes());
        };
        put(28, d.len(), 64);
        put(36, u.len(), 64 + d.len());
        m[60..64].copy_from_slice(&u32::from(unicode).to_le_bytes());
        m.extend_from_slice(&d);
        m.extend_from_slice(&u);
        m
    }

    #[test]
    fn claimed_user_of_an_authenticate_message() {
        let m = authenticate_message("TESTDOM", "alice", true);
        assert_eq!(claimed_user(&m).as_deref(), Some("TESTDOM\\alice"));
        let m = authenticate_message("", "Zoë", true);
        assert_eq!(claimed_user(&m).as_deref(), Some("Zoë"));
        let m = authenticate_message("DOM", "bob", false);
        assert_eq!(claimed_user(&m).as_deref(), Some("DOM\\bob"));
        // Every truncation, a wrong type and a field pointing past the end give nothing.
        let m = authenticate_message("TESTDOM", "alice", true);
        for n in 0..m.len() {
            assert_eq!(claimed_user(&m[..n]), None, "prefix {n}");
        }
        let mut wrong = m.clone();
        wrong[8] = 1;
        assert_eq!(claimed_user(&wrong), None);
        let mut past = m.clone();
        past[40..44].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(claimed_user(&past), None);
    }

    #[test]
    fn ntlm_message_types() {
        assert_eq!(ntlm_message_type(b"NTLMSSP\0\x01\0\0\0rest"), Some(1));
        assert_eq!(ntlm_message_type(b"NTLMSSP\0\x03\0\0\0"), Some(3));
        assert_eq!(ntlm_message_type(b"NTLMSSP\0\x03\0\0"), None);
        assert_eq!(ntlm_message_type(b""), None);
    }
}
