//! Transport-level configuration: where to connect, how to trust the server, how to log on.
//!
//! These types are deliberately independent of `oxmapi-profile`; the session crate maps a
//! resolved profile onto them.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// How the server certificate is checked.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TlsPolicy {
    /// Mozilla's root store (webpki-roots) and the usual host-name check.
    #[default]
    Verify,
    /// Trust only the certificates in this PEM file, with the usual host-name check: a chain
    /// to one of them (a private CA), or a leaf that is itself one of them (a self-signed
    /// server certificate, even one marked `CA:TRUE`; its names and dates are still checked).
    CaFile(PathBuf),
    /// Accept exactly the leaf certificate whose SHA-256 over the DER is this digest; no
    /// chain, name or date check (the pin is the identity). Handshake signatures are verified.
    PinnedSha256([u8; 32]),
    /// Accept any certificate. Handshake signatures are still verified; the caller must warn.
    Ignore,
}

impl TlsPolicy {
    /// A short name for messages and reports: `verify`, `ca-file`, `pinned-sha256`, `ignore`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Verify => "verify",
            Self::CaFile(_) => "ca-file",
            Self::PinnedSha256(_) => "pinned-sha256",
            Self::Ignore => "ignore",
        }
    }
}

/// TLS settings of one endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TlsConfig {
    /// How the certificate chain is trusted.
    pub policy: TlsPolicy,
    /// Check the certificate against this name instead of the URL host, e.g.
    /// `msstd:mail.contoso.com` (the RPC/HTTP proxy-map form) or a plain `mail.contoso.com`.
    pub expected_principal: Option<String>,
}

/// A string that never shows up in `Debug` or `Display` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself; call only where it is sent on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

/// A user name, optional domain and password for HTTP authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The account name (`alice`) or a UPN (`alice@contoso.com`).
    pub user: String,
    /// The NetBIOS domain (`CONTOSO`), if any.
    pub domain: Option<String>,
    /// The password; redacted in every `Debug` output.
    pub password: Secret,
}

impl Credentials {
    /// The user as shown in messages: `DOMAIN\user` or `user`.
    pub fn display_user(&self) -> String {
        match &self.domain {
            Some(domain) if !domain.is_empty() => format!("{domain}\\{}", self.user),
            _ => self.user.clone(),
        }
    }
}

/// An HTTP authentication scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthScheme {
    /// NTLM (MS-NLMP) in `Authorization: NTLM`.
    Ntlm,
    /// SPNEGO (RFC 4559) in `Authorization: Negotiate`; falls back to NTLM without a KDC.
    Negotiate,
    /// RFC 7617 Basic; only ever sent over TLS.
    Basic,
    /// RFC 6750 OAuth 2.0 bearer token in `Authorization: Bearer <token>` (Exchange Online);
    /// only ever sent over TLS. The token is [`HttpAuth::credentials`]`.password` (see
    /// [`HttpAuth::bearer`]). DCE/RPC has no bearer form: RPC/HTTP channels bind with
    /// RPC_C_AUTHN_LEVEL_NONE inside the TLS connection.
    Bearer,
}

impl AuthScheme {
    /// The token used in `WWW-Authenticate` and `Authorization` headers.
    pub fn header_name(self) -> &'static str {
        match self {
            Self::Ntlm => "NTLM",
            Self::Negotiate => "Negotiate",
            Self::Basic => "Basic",
            Self::Bearer => "Bearer",
        }
    }
}

impl fmt::Display for AuthScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.header_name())
    }
}

/// How to log on over HTTP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpAuth {
    /// The scheme to use when the server asks for authentication.
    pub scheme: AuthScheme,
    /// The account. With [`AuthScheme::Bearer`], `password` is the access token and `user`
    /// only names the account in messages.
    pub credentials: Credentials,
}

impl HttpAuth {
    /// Bearer authentication with `token` (an OAuth 2.0 access token, RFC 6750); `user` is
    /// only shown in messages (`Bearer authentication failed for user alice`).
    pub fn bearer(user: impl Into<String>, token: impl Into<Secret>) -> Self {
        Self {
            scheme: AuthScheme::Bearer,
            credentials: Credentials {
                user: user.into(),
                domain: None,
                password: token.into(),
            },
        }
    }
}

/// Time limits; a hung server never hangs the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP connect plus TLS handshake.
    pub connect: Duration,
    /// From sending a request to receiving the response headers.
    pub response_headers: Duration,
    /// Longest silence between two pieces of a response body (PENDING keep-alives reset it).
    pub body_idle: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(20),
            response_headers: Duration::from_secs(60),
            body_idle: Duration::from_secs(60),
        }
    }
}

/// Everything a [`MapiHttpClient`](crate::MapiHttpClient) needs.
#[derive(Debug, Clone)]
pub struct TransportConfig {
    /// Scheme, host and optional port of the front end, e.g. `https://mail.contoso.com`.
    /// `http://` is accepted (loopback test servers), but Basic is then refused.
    pub base_url: String,
    /// Certificate policy.
    pub tls: TlsConfig,
    /// HTTP authentication; `None` sends no credentials.
    pub auth: Option<HttpAuth>,
    /// Time limits.
    pub timeouts: Timeouts,
    /// Sent as `X-ClientApplication`; defaults to `oxmapi/<version>`.
    pub client_application: String,
    /// Sent as `User-Agent`.
    pub user_agent: String,
}

impl TransportConfig {
    /// A configuration with default TLS policy (`verify`), no auth and default timeouts.
    pub fn new(base_url: impl Into<String>) -> Self {
        let app = format!("oxmapi/{}", env!("CARGO_PKG_VERSION"));
        Self {
            base_url: base_url.into(),
            tls: TlsConfig::default(),
            auth: None,
            timeouts: Timeouts::default(),
            user_agent: app.clone(),
            client_application: app,
        }
    }
}
