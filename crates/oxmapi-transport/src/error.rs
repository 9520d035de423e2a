//! Transport errors: each names the host or step involved and says what to do.

use std::fmt;
use std::io;
use std::path::PathBuf;

use oxmapi_wire::DecodeError;

use crate::config::AuthScheme;

/// The step that ran out of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeoutStep {
    /// TCP connect.
    Connect,
    /// TLS handshake.
    TlsHandshake,
    /// Waiting for the response status line and headers.
    ResponseHeaders,
    /// Waiting for the next piece of the response body.
    ResponseBody,
}

impl fmt::Display for TimeoutStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Connect => "tcp connect",
            Self::TlsHandshake => "tls handshake",
            Self::ResponseHeaders => "waiting for the response headers",
            Self::ResponseBody => "waiting for the response body",
        })
    }
}

/// Why a `ca_file` cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CaFileProblem {
    /// It cannot be read (missing, no permission).
    Unreadable,
    /// It is empty.
    Empty,
    /// It holds no PEM `CERTIFICATE` block (a DER file, only a key, random text).
    NoCertificates,
    /// A PEM block is malformed (no end line, bad base64).
    BadPem,
    /// A certificate in it cannot be used as a trust anchor (RFC 5280 §4.1 syntax).
    BadCertificate,
}

/// Why a TLS handshake failed. `presented_sha256` is the SHA-256 of the certificate the
/// server presented (lower-case hex), when the handshake got that far; fingerprints are not
/// secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsFailure {
    /// The certificate does not chain to a trusted root (unknown issuer, bad signature,
    /// a CA certificate used as the server's, ...).
    Untrusted {
        /// The presented certificate's SHA-256.
        presented_sha256: Option<String>,
    },
    /// The certificate is not valid for the name checked (RFC 6125 §6).
    NameMismatch {
        /// The presented certificate's SHA-256.
        presented_sha256: Option<String>,
    },
    /// The time is outside the certificate's validity period (RFC 5280 §4.1.2.5).
    NotValidNow {
        /// The presented certificate's SHA-256.
        presented_sha256: Option<String>,
    },
    /// Policy `pinned-sha256`: the presented certificate is not the pinned one.
    PinMismatch {
        /// The configured pin, lower-case hex.
        expected: String,
        /// The presented certificate's SHA-256, lower-case hex.
        presented: String,
    },
    /// Anything else: protocol version, handshake alert, local setup.
    Other,
}

impl TlsFailure {
    /// The SHA-256 of the certificate the server presented, if known.
    pub fn presented_sha256(&self) -> Option<&str> {
        match self {
            Self::Untrusted { presented_sha256 }
            | Self::NameMismatch { presented_sha256 }
            | Self::NotValidNow { presented_sha256 } => presented_sha256.as_deref(),
            Self::PinMismatch { presented, .. } => Some(presented),
            Self::Other => None,
        }
    }
}

/// Everything that can go wrong below the MAPI layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The base URL or mailbox id cannot be used.
    #[error("invalid url {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// Why it was rejected.
        reason: String,
    },
    /// The TCP connection failed.
    #[error("cannot connect to {host}:{port}: {source}")]
    Connect {
        /// Host name or address.
        host: String,
        /// TCP port.
        port: u16,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The CA file of the `ca-file` policy cannot be used.
    #[error("cannot use ca file {}: {reason}", path.display())]
    CaFile {
        /// The configured path.
        path: PathBuf,
        /// What is wrong with it.
        problem: CaFileProblem,
        /// Details for people (the OS or PEM error, which certificate).
        reason: String,
    },
    /// The TLS handshake failed, usually an untrusted certificate.
    #[error("tls handshake with {host} failed under policy `{policy}`: {reason}")]
    Tls {
        /// The host connected to.
        host: String,
        /// The policy in force (`verify`, `ca-file`, `pinned-sha256`, `ignore`).
        policy: &'static str,
        /// What went wrong, for programs (boxed: keeps `TransportError` small).
        failure: Box<TlsFailure>,
        /// What rustls reported.
        reason: String,
        /// What the user can do about it.
        hint: String,
    },
    /// A step took longer than its configured limit.
    #[error("timed out after {after_ms} ms {step} ({host})")]
    Timeout {
        /// The step.
        step: TimeoutStep,
        /// The host.
        host: String,
        /// The limit that was exceeded.
        after_ms: u128,
    },
    /// The server answered with an HTTP error status.
    #[error("http {status} {reason} from {url}")]
    HttpStatus {
        /// The status code.
        status: u16,
        /// A short explanation (`endpoint not found`, `service unavailable`, ...).
        reason: String,
        /// The URL requested.
        url: String,
    },
    /// The server rejected the credentials (for Bearer: the token, e.g. expired or revoked).
    /// Maps to MAPI_E_LOGON_FAILED.
    #[error("{scheme} authentication failed for user {user}; {}", auth_failed_advice(*scheme))]
    AuthFailed {
        /// The scheme used.
        scheme: AuthScheme,
        /// `DOMAIN\user`; never the password.
        user: String,
    },
    /// The server asked for a scheme we are not configured for.
    #[error("server does not offer {wanted} authentication (it offers: {}); change the auth method", offered.join(", "))]
    AuthNotOffered {
        /// The schemes in `WWW-Authenticate`.
        offered: Vec<String>,
        /// The configured scheme.
        wanted: AuthScheme,
    },
    /// The server asked for authentication but no credentials are configured.
    #[error("server requires authentication (it offers: {}) but no credentials are configured", offered.join(", "))]
    AuthRequired {
        /// The schemes in `WWW-Authenticate`.
        offered: Vec<String>,
    },
    /// Basic authentication was refused on a connection without TLS.
    #[error("refusing to send basic credentials over plain http to {host}; use https")]
    BasicWithoutTls {
        /// The host.
        host: String,
    },
    /// A bearer token was refused on a connection without TLS (RFC 6750 5.3).
    #[error("refusing to send a bearer token over plain http to {host}; use https")]
    BearerWithoutTls {
        /// The host.
        host: String,
    },
    /// The security package (NTLM/Negotiate) failed locally.
    #[error("{scheme} security context error: {reason}")]
    Sspi {
        /// The scheme.
        scheme: AuthScheme,
        /// The error text from the security package (never holds the password).
        reason: String,
    },
    /// MS-OXCMAPIHTTP 2.2.3.3.3: a non-zero X-ResponseCode.
    #[error("mapi/http response code {code} ({name})")]
    ResponseCode {
        /// The numeric code.
        code: u32,
        /// The spec's name of the code.
        name: &'static str,
    },
    /// The response body framing or a header was malformed.
    #[error("malformed mapi/http response: {0}")]
    Framing(DecodeError),
    /// A malformed HTTP response or header.
    #[error("malformed http response: {0}")]
    Protocol(String),
    /// An I/O or HTTP-connection error after connecting.
    #[error("i/o error talking to {host}: {source}")]
    Io {
        /// The host.
        host: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

impl TransportError {
    /// True when the server lost or rejected the session context (X-ResponseCode 6 Invalid
    /// Context Cookie or 10 Context Not Found); the session layer should reset and reconnect.
    pub fn is_context_lost(&self) -> bool {
        matches!(self, Self::ResponseCode { code: 6 | 10, .. })
    }

    /// True for rejected credentials (maps to MAPI_E_LOGON_FAILED).
    pub fn is_auth_failed(&self) -> bool {
        matches!(self, Self::AuthFailed { .. })
    }
}

fn auth_failed_advice(scheme: AuthScheme) -> &'static str {
    match scheme {
        AuthScheme::Bearer => {
            "the token was rejected (expired, revoked or not for this server); obtain a new token"
        }
        _ => "check the user name, domain and password",
    }
}
