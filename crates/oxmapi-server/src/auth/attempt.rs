//! One logon attempt of [`super`]: the scheme a request names, the account it claims, what
//! one leg of a scheme came to ([`Leg`]) and the `401` challenges (RFC 9110 11.6.1; RFC 6750
//! 3 for `Bearer`). Shared by every scheme, NTLM and Negotiate included.

use std::net::IpAddr;
use std::time::Instant;

use http::header::{self, HeaderValue};
use http::{Response, StatusCode};

use crate::body::{ChunkedBody, plain};
use crate::state::AppState;
use crate::store::UserRecord;

/// The schemes the server offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scheme {
    Basic,
    Ntlm,
    Negotiate,
    Bearer,
}

impl Scheme {
    pub(super) fn parse(name: &str) -> Option<Self> {
        [Self::Basic, Self::Ntlm, Self::Negotiate, Self::Bearer]
            .into_iter()
            .find(|s| s.name().eq_ignore_ascii_case(name))
    }

    pub(super) fn name(self) -> &'static str {
        match self {
            Self::Basic => "Basic",
            Self::Ntlm => "NTLM",
            Self::Negotiate => "Negotiate",
            Self::Bearer => "Bearer",
        }
    }

    /// NTLM and Negotiate authenticate the connection; Basic and Bearer one request.
    pub(super) fn binds_connection(self) -> bool {
        matches!(self, Self::Ntlm | Self::Negotiate)
    }
}

/// One request's logon attempt.
pub(super) struct Attempt<'a> {
    pub(super) state: &'a AppState,
    pub(super) client: IpAddr,
    pub(super) scheme: Scheme,
    pub(super) now: Instant,
}

impl Attempt<'_> {
    /// Whether `account` (when known) or the client address is locked out.
    pub(super) fn locked(&self, account: Option<&Account>) -> bool {
        self.state.throttle.is_locked(
            &self.state.config.limits,
            account.map(|a| a.key.as_str()),
            self.client,
            self.now,
        )
    }

    /// The 401 of a refused logon: the normal challenge, or for Bearer `invalid_token`.
    pub(super) fn refusal(&self) -> Box<Response<ChunkedBody>> {
        match self.scheme {
            Scheme::Bearer => invalid_token(),
            _ => challenge(),
        }
    }
}

/// The account a logon named.
#[derive(Debug, Clone)]
pub(super) struct Account {
    /// The name as the client gave it (for the log, after [`loggable`]).
    pub(super) given: String,
    /// What the throttle counts: the alias of the user it designates, else the name itself.
    pub(super) key: String,
}

impl Account {
    /// A Basic logon name: alias, SMTP address or `DOMAIN\alias`.
    pub(super) fn from_login(state: &AppState, login: &str) -> Self {
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
    pub(super) fn unresolved(given: &str) -> Self {
        Self {
            given: given.to_owned(),
            key: given.to_owned(),
        }
    }
}

/// What one leg of a scheme came to.
pub(super) enum Leg {
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

/// 401 offering Negotiate, NTLM, Basic and Bearer.
pub(super) fn challenge() -> Box<Response<ChunkedBody>> {
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
pub(super) fn invalid_token() -> Box<Response<ChunkedBody>> {
    challenge_with(
        "invalid token",
        HeaderValue::from_static(
            "Bearer realm=\"oxmapi\", error=\"invalid_token\", \
             error_description=\"the token is not valid; obtain a new token\"",
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
