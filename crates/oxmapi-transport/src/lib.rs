//! The network layer of oxmapi: HTTPS with a chosen certificate policy, HTTP authentication
//! (Basic, NTLM, Negotiate) and the MAPI extensions for HTTP (MS-OXCMAPIHTTP).
//!
//! This is the only oxmapi crate that opens sockets. It never looks inside a request or
//! response body: callers hand it the bytes `oxmapi-wire` encoded and get bytes back.
//!
//! * One [`MapiHttpSession`] = one kept-alive HTTP/1.1 connection (hyper's connection API on
//!   a stream we open, so the NTLM/Negotiate 401 legs stay on it) and one session context
//!   (its cookies, `X-RequestId` GUID and counter).
//! * [`TlsPolicy`] `Verify` (Mozilla roots), `CaFile` (a private CA, or the server's own
//!   self-signed certificate), `PinnedSha256` (exactly one certificate) or `Ignore` (any
//!   certificate; handshake signatures still checked; reported in [`TlsInfo`] so the caller
//!   can warn). `expected_principal` checks the certificate against another name.
//! * Every wait is bounded by [`Timeouts`]; errors are [`TransportError`], never panics, and
//!   never contain a password or token.
//!
//! ```no_run
//! # async fn demo() -> Result<(), oxmapi_transport::TransportError> {
//! use oxmapi_transport::*;
//! let mut config = TransportConfig::new("https://mail.contoso.com");
//! config.auth = Some(HttpAuth {
//!     scheme: AuthScheme::Ntlm,
//!     credentials: Credentials { user: "alice".into(), domain: Some("CONTOSO".into()), password: "pw".into() },
//! });
//! let client = MapiHttpClient::new(config)?;
//! let mut session = client.session(Endpoint::Emsmdb, "0a1b2c3d@contoso.com");
//! let response = session.post("Connect", vec![/* ConnectRequest bytes */]).await?;
//! println!("{} bytes, {:?}", response.body.len(), session.stats());
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod auth;
mod config;
mod cookies;
mod error;
mod http;
mod io;
mod mapihttp;
mod rpch;
mod stats;
mod tls;

pub use config::{
    AuthScheme, Credentials, HttpAuth, Secret, Timeouts, TlsConfig, TlsPolicy, TransportConfig,
};
pub use error::{CaFileProblem, TimeoutStep, TlsFailure, TransportError};
pub use mapihttp::{
    CONTENT_TYPE_MAPI_HTTP, Endpoint, MapiHttpClient, MapiHttpResponse, MapiHttpSession,
};
pub use rpch::{
    EmsmdbRpc, NspiRpc, RpcAuthLevel, RpcChannel, RpcError, RpcHttpClient, RpcPort, RpcStats,
    fault_name,
};
pub use stats::SessionStats;
pub use tls::{CA_FILE_LISTED_LEAF, TlsInfo};
