//! Per-session counters for the logon report.

use crate::config::AuthScheme;
use crate::tls::TlsInfo;

/// What one endpoint session did on the network.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionStats {
    /// HTTP requests sent, including the 401 legs of authentication.
    pub http_round_trips: u64,
    /// Responses with status 401 among them.
    pub auth_challenges: u64,
    /// Bytes of HTTP (headers and bodies, inside TLS) sent.
    pub bytes_sent: u64,
    /// Bytes of HTTP (headers and bodies, inside TLS) received.
    pub bytes_received: u64,
    /// TCP (+TLS) connections opened.
    pub connections: u64,
    /// MAPI/HTTP requests answered with `DONE`.
    pub mapi_requests: u64,
    /// `PENDING` keep-alives received.
    pub pending_keepalives: u64,
    /// The last TLS handshake, `None` over plain HTTP or before connecting.
    pub tls: Option<TlsInfo>,
    /// The scheme that authenticated us, `None` when the server never asked.
    pub auth_scheme: Option<AuthScheme>,
}
