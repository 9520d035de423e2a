//! What the server holds for all connections: its settings ([`ServerConfig`]) and the shared
//! state every request handler gets ([`AppState`]: store, session contexts, RPC/HTTP virtual
//! connections, logon throttle).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::auth::throttle::Throttle;
use crate::limits::Limits;
use crate::rpch::vc::VcRegistry;
use crate::session::SessionTable;
use crate::store::Store;

/// Server settings; [`ServerConfig::new`] gives the defaults.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerConfig {
    /// Holds `mailbox.db`, `cert.pem`, `key.pem`.
    pub data_dir: PathBuf,
    /// Address to listen on (port 0 picks a free port).
    pub listen: SocketAddr,
    /// A session context without requests for this long is destroyed.
    pub session_idle_timeout: Duration,
    /// Organization name used when the store has no organization yet.
    pub org_name: String,
    /// Mail domain used when the store has no organization yet.
    pub domain: String,
    /// Public folders setting used when the store has no organization yet.
    pub public_folders: bool,
    /// `X-ServerApplication` response header.
    pub server_application: String,
    /// Serve MAPI over HTTP. `false` behaves like Exchange 2013 before SP1: RPC over HTTP only
    /// (the `/mapi/` endpoints answer 404), which is what a client's `auto` transport must
    /// detect and fall back from.
    pub mapi_http: bool,
    /// Resource limits (timeouts, connection caps, per-session and per-mailbox limits,
    /// logon throttling); see [`crate::Limits`].
    pub limits: Limits,
}

impl ServerConfig {
    /// Defaults: `127.0.0.1:8443`, 30 minutes idle timeout, org `Oxmapi`, domain `example.test`,
    /// no public folders.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        let org = crate::default_org(crate::DEFAULT_DOMAIN);
        Self {
            data_dir: data_dir.into(),
            listen: SocketAddr::from(([127, 0, 0, 1], 8443)),
            session_idle_timeout: Duration::from_secs(30 * 60),
            org_name: org.name,
            domain: org.domain,
            public_folders: org.public_folders,
            server_application: "Exchange/15.02.1544.004".to_owned(),
            mapi_http: true,
            limits: Limits::default(),
        }
    }
}

/// State shared by all connections.
pub(crate) struct AppState {
    pub(crate) store: Store,
    pub(crate) sessions: SessionTable,
    pub(crate) config: ServerConfig,
    /// RPC/HTTP virtual connections waiting for their IN channel.
    pub(crate) rpch: VcRegistry,
    /// Failed-logon counters per account and client address (see `auth::throttle`).
    pub(crate) throttle: Throttle,
}
