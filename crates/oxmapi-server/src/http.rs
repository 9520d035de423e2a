//! The HTTPS listener: TLS accept, one hyper HTTP/1.1 connection per TCP connection with
//! per-connection auth state, routing to the MAPI/HTTP endpoints, graceful shutdown.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode, header};
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use crate::auth::{self, ConnAuth};
use crate::session::{Endpoint, SessionTable};
use crate::store::{Store, StoreError};
use crate::tls::{ServerCert, TlsError};

/// Largest request body accepted (MS-OXCRPC: rgbIn ≤ 0x40000 plus headers and aux).
const MAX_BODY: usize = 0x10_0000;

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
        }
    }
}

/// Errors starting the server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// TLS setup failed.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// Binding the listener failed.
    #[error("listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
}

/// State shared by all connections.
pub(crate) struct AppState {
    pub(crate) store: Store,
    pub(crate) sessions: SessionTable,
    pub(crate) config: ServerConfig,
    /// RPC/HTTP virtual connections waiting for their IN channel.
    pub(crate) rpch: crate::rpch::VcRegistry,
}

/// A server running in the background.
pub struct RunningServer {
    local_addr: SocketAddr,
    cert: ServerCert,
    state: Arc<AppState>,
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for RunningServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningServer")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

impl RunningServer {
    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// SHA-256 fingerprint of the certificate (`AB:CD:...`).
    pub fn cert_fingerprint(&self) -> String {
        self.cert.fingerprint()
    }

    /// The certificate in PEM.
    pub fn cert_pem(&self) -> &str {
        &self.cert.pem
    }

    /// Path of `cert.pem`, usable as a CA file (the certificate is self-signed).
    pub fn ca_path(&self) -> &std::path::Path {
        &self.cert.cert_path
    }

    /// The store the server runs on.
    pub fn store(&self) -> &Store {
        &self.state.store
    }

    /// Test hook: every session context expires now. MAPI/HTTP requests then get Context Not
    /// Found; every RPC/HTTP EMSMDB virtual connection closes at its next PDU, destroying its
    /// EcDoConnectEx context handles.
    pub fn expire_all_sessions(&self) {
        self.state.sessions.expire_all();
        self.state.rpch.expire_mailboxes();
    }

    /// Test hook: live Server objects (logons, folders, tables, messages, ...) over all
    /// mailbox session contexts, MAPI/HTTP and RPC/HTTP.
    #[doc(hidden)]
    pub fn open_object_count(&self) -> usize {
        self.state.sessions.object_count() + self.state.rpch.object_count()
    }

    /// Number of live session contexts.
    pub fn session_count(&self) -> usize {
        self.state.sessions.len()
    }

    /// Stops accepting, lets in-flight requests finish, closes idle connections.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }
}

/// Opens the store (initializing the organization from `config` if needed), loads or
/// generates the certificate, binds and starts serving in the background.
pub async fn serve(config: ServerConfig) -> Result<RunningServer, ServerError> {
    let store = Store::open(&config.data_dir)?;
    store.init_org(&config.org_name, &config.domain, config.public_folders)?;
    let cert = ServerCert::load_or_generate(&config.data_dir)?;
    let acceptor = TlsAcceptor::from(Arc::new(cert.server_config()?));
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| ServerError::Bind {
            addr: config.listen,
            source,
        })?;
    let local_addr = listener.local_addr().map_err(|source| ServerError::Bind {
        addr: config.listen,
        source,
    })?;
    let state = Arc::new(AppState {
        store,
        sessions: SessionTable::new(config.session_idle_timeout),
        config,
        rpch: crate::rpch::VcRegistry::default(),
    });
    let (tx, rx) = watch::channel(false);
    let task = tokio::spawn(accept_loop(listener, acceptor, state.clone(), rx));
    tracing::info!(%local_addr, "oxmapi server listening");
    Ok(RunningServer {
        local_addr,
        cert,
        state,
        shutdown: tx,
        task,
    })
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    state: Arc<AppState>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => {
                    conns.spawn(connection(tcp, peer, acceptor.clone(), state.clone(), shutdown.clone()));
                }
                Err(e) => tracing::warn!("accept: {e}"),
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    drop(listener);
    let drain = async { while conns.join_next().await.is_some() {} };
    if tokio::time::timeout(Duration::from_secs(5), drain)
        .await
        .is_err()
    {
        conns.abort_all();
    }
}

async fn connection(
    tcp: tokio::net::TcpStream,
    peer: SocketAddr,
    acceptor: TlsAcceptor,
    state: Arc<AppState>,
    mut shutdown: watch::Receiver<bool>,
) {
    let tls = match acceptor.accept(tcp).await {
        Ok(t) => t,
        Err(e) => {
            tracing::debug!(%peer, "tls accept: {e}");
            return;
        }
    };
    let conn_auth = Arc::new(Mutex::new(ConnAuth::default()));
    let service = hyper::service::service_fn(move |req| {
        let state = state.clone();
        let conn_auth = conn_auth.clone();
        async move { Ok::<_, Infallible>(handle(req, &state, &conn_auth).await) }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(tls), service);
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        res = conn.as_mut() => {
            if let Err(e) = res { tracing::debug!(%peer, "connection: {e}"); }
        }
        _ = shutdown.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

async fn handle(
    req: Request<Incoming>,
    state: &AppState,
    conn_auth: &Mutex<ConnAuth>,
) -> Response<ChunkedBody> {
    if crate::rpch::is_rpch_path(req.uri().path()) {
        return crate::rpch::handle(req, state, conn_auth).await;
    }
    let Some(endpoint) = route(req.uri().path()).filter(|_| state.config.mapi_http) else {
        return plain(StatusCode::NOT_FOUND, "not found");
    };
    let user = match auth::authenticate(state, conn_auth, req.headers()) {
        Ok(user) => user,
        Err(challenge) => return *challenge,
    };
    let (parts, body) = req.into_parts();
    let body = match http_body_util::Limited::new(body, MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return crate::mapihttp::too_large(&parts.headers),
    };
    crate::mapihttp::dispatch(state, endpoint, &user, &parts, &body)
}

/// `/mapi/emsmdb/` or `/mapi/nspi/` (case-insensitive, trailing slash optional).
fn route(path: &str) -> Option<Endpoint> {
    let p = path.trim_end_matches('/').to_ascii_lowercase();
    match p.as_str() {
        "/mapi/emsmdb" => Some(Endpoint::Emsmdb),
        "/mapi/nspi" => Some(Endpoint::Nspi),
        _ => None,
    }
}

/// A plain-text response.
pub(crate) fn plain(status: StatusCode, text: &str) -> Response<ChunkedBody> {
    let mut resp = Response::new(ChunkedBody::sized(Bytes::copy_from_slice(text.as_bytes())));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

/// A response body sent as a fixed list of chunks. Without a known size hyper sends it with
/// `Transfer-Encoding: chunked`, one HTTP chunk per frame.
#[derive(Debug, Default)]
pub(crate) struct ChunkedBody {
    chunks: VecDeque<Bytes>,
    exact: Option<u64>,
    /// Frames after the fixed chunks, until the sender is dropped (the RPC/HTTP OUT channel).
    stream: Option<tokio::sync::mpsc::Receiver<Bytes>>,
}

impl ChunkedBody {
    /// A chunked body of these chunks.
    pub(crate) fn chunked(chunks: impl IntoIterator<Item = Bytes>) -> Self {
        Self {
            chunks: chunks.into_iter().collect(),
            exact: None,
            stream: None,
        }
    }

    /// A body with a Content-Length.
    pub(crate) fn sized(b: Bytes) -> Self {
        let exact = u64::try_from(b.len()).ok();
        Self {
            chunks: VecDeque::from([b]),
            exact,
            stream: None,
        }
    }

    /// A body fed by a channel, declared `exact` bytes long (the RPC/HTTP OUT channel).
    pub(crate) fn streaming(rx: tokio::sync::mpsc::Receiver<Bytes>, exact: Option<u64>) -> Self {
        Self {
            chunks: VecDeque::new(),
            exact,
            stream: Some(rx),
        }
    }
}

impl Body for ChunkedBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if let Some(c) = self.chunks.pop_front() {
            return Poll::Ready(Some(Ok(Frame::data(c))));
        }
        let Some(rx) = self.stream.as_mut() else {
            return Poll::Ready(None);
        };
        let next = std::task::ready!(rx.poll_recv(cx));
        if next.is_none() {
            self.stream = None;
        }
        Poll::Ready(next.map(|c| Ok(Frame::data(c))))
    }

    fn is_end_stream(&self) -> bool {
        self.chunks.is_empty() && self.stream.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        match self.exact {
            Some(n) => SizeHint::with_exact(n),
            None => SizeHint::default(),
        }
    }
}
