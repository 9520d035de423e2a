//! An embedded Exchange-protocol test server over a SQLite mailbox store.
//!
//! It serves MAPI over HTTP (MS-OXCMAPIHTTP) on HTTPS with Basic and NTLM authentication:
//! the mailbox endpoint `/mapi/emsmdb/` (ROP processing in `emsmdb`) and the address book
//! endpoint `/mapi/nspi/` (the GAL is the organization's users). It is built from the
//! specifications and `oxmapi-wire`, never from the client's logic.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let store = oxmapi_server::store::Store::open("/tmp/oxmapi")?;
//! let org = oxmapi_server::default_org("example.test");
//! store.init_org(&org.name, &org.domain, org.public_folders)?;
//! store.add_user("alice", "Alice Example", "secret")?;
//! let server = oxmapi_server::serve(oxmapi_server::ServerConfig::new("/tmp/oxmapi")).await?;
//! println!("listening on {} ({})", server.local_addr(), server.cert_fingerprint());
//! server.shutdown().await;
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod activity;
mod auth;
mod body;
mod emsmdb;
mod http;
pub mod import;
pub mod limits;
mod mapihttp;
mod nspi;
pub mod queue;
mod rpch;
mod session;
mod stall;
mod state;
pub mod store;
pub mod tls;
pub mod tokens;

pub use http::{RunningServer, ServerError, serve};
pub use limits::Limits;
pub use state::ServerConfig;

/// The default mail domain.
pub const DEFAULT_DOMAIN: &str = "example.test";
/// The default organization name.
pub const DEFAULT_ORG_NAME: &str = "Oxmapi";

/// Organization settings for [`store::Store::init_org`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgSettings {
    /// Organization name (`/o=` of legacy DNs).
    pub name: String,
    /// Mail domain.
    pub domain: String,
    /// Whether public folders exist.
    pub public_folders: bool,
}

/// The default organization for `domain`: name `Oxmapi`, no public folders.
pub fn default_org(domain: &str) -> OrgSettings {
    OrgSettings {
        name: DEFAULT_ORG_NAME.to_owned(),
        domain: domain.to_owned(),
        public_folders: false,
    }
}
