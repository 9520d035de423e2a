//! The HTTPS listener: TLS accept, one hyper HTTP/1.1 connection per TCP connection with
//! per-connection auth state, routing to the MAPI/HTTP endpoints, graceful shutdown.
//!
//! Connection limits ([`crate::Limits`], `docs/server-limits.md`): a semaphore permit is taken
//! before `accept` (excess connections wait in the listen backlog), a per-address count
//! closes connections over `max_connections_per_ip` right after accept, accept errors back
//! off (10 ms doubling to 1 s), and each connection has a TLS handshake timeout, hyper's
//! header read timeout, an idle timeout and body read timeouts ([`crate::body::read_body`]).

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tracing::Instrument;

use crate::activity::{Activity, InFlight};
use crate::auth::throttle::Throttle;
use crate::auth::{self, ConnAuth};
use crate::body::{BodyError, ChunkedBody, gone, plain, read_body, timed_out};
use crate::rpch::vc::VcRegistry;
use crate::session::{Endpoint, SessionTable};
use crate::state::{AppState, ServerConfig};
use crate::store::{Store, StoreError};
use crate::tls::{ServerCert, TlsError};

/// Largest request body accepted (MS-OXCRPC: rgbIn ≤ 0x40000 plus headers and aux).
const MAX_BODY: usize = 0x10_0000;

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
    let rpch = VcRegistry::new(config.limits.body_read_timeout * 2);
    let state = Arc::new(AppState {
        store,
        sessions: SessionTable::new(config.session_idle_timeout),
        config,
        rpch,
        throttle: Throttle::default(),
    });
    let (tx, rx) = watch::channel(false);
    tokio::spawn(sweep_unpaired(Arc::downgrade(&state), rx.clone()));
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

/// Drops RPC/HTTP OUT channels whose IN channel never came (see
/// [`VcRegistry::sweep`]) until the server shuts down.
async fn sweep_unpaired(state: std::sync::Weak<AppState>, mut shutdown: watch::Receiver<bool>) {
    let Some(every) = state.upgrade().map(|s| s.rpch.sweep_interval()) else {
        return;
    };
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = tick.tick() => match state.upgrade() {
                Some(s) => s.rpch.sweep(),
                None => return,
            },
        }
    }
}

/// First delay after an accept error; it doubles up to [`ACCEPT_BACKOFF_MAX`].
const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(10);
/// Longest delay after repeated accept errors.
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);
/// At most one log line per this interval for a repeating condition (accept errors,
/// connections refused over the per-address cap).
const LOG_INTERVAL: Duration = Duration::from_secs(1);

async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    state: Arc<AppState>,
    mut shutdown: watch::Receiver<bool>,
) {
    let limits = state.config.limits.clone();
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let per_ip = Arc::new(PerIp::new(limits.max_connections_per_ip.max(1)));
    let mut backoff = AcceptBackoff::default();
    let mut accept_log = LogLimiter::new(LOG_INTERVAL);
    let mut refused_log = LogLimiter::new(LOG_INTERVAL);
    let mut conns = JoinSet::new();
    let mut permit: Option<OwnedSemaphorePermit> = None;
    loop {
        // The permit is taken before accept: over `max_connections`, new connections wait in
        // the kernel's listen backlog instead of costing a task and a descriptor.
        let Some(held) = permit.take() else {
            tokio::select! {
                _ = shutdown.changed() => break,
                p = permits.clone().acquire_owned() => match p {
                    Ok(p) => permit = Some(p),
                    Err(_) => break,
                },
                Some(_) = conns.join_next(), if !conns.is_empty() => {}
            }
            continue;
        };
        tokio::select! {
            _ = shutdown.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => {
                    backoff.reset();
                    match per_ip.try_acquire(peer.ip()) {
                        Some(slot) => {
                            let span = tracing::info_span!("conn", %peer);
                            let conn = connection(
                                tcp,
                                peer,
                                acceptor.clone(),
                                state.clone(),
                                shutdown.clone(),
                                (held, slot),
                            );
                            conns.spawn(conn.instrument(span));
                        }
                        None => {
                            permit = Some(held);
                            drop(tcp);
                            if let Some(suppressed) = refused_log.check(Instant::now()) {
                                tracing::debug!(
                                    %peer,
                                    limit = per_ip.limit,
                                    suppressed,
                                    "connection refused: too many connections from this address"
                                );
                            }
                        }
                    }
                }
                Err(e) if is_per_connection(&e) => {
                    permit = Some(held);
                    tracing::debug!("accept: {e}");
                }
                Err(e) => {
                    // EMFILE, ENFILE, ENOBUFS, ENOMEM...: the listener would fail again at once.
                    permit = Some(held);
                    let delay = backoff.failed();
                    if let Some(suppressed) = accept_log.check(Instant::now()) {
                        tracing::warn!(
                            retry_in_ms = delay.as_millis(),
                            suppressed,
                            "accept: {e}"
                        );
                    }
                    tokio::select! {
                        _ = shutdown.changed() => break,
                        () = tokio::time::sleep(delay) => {}
                    }
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => permit = Some(held),
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

/// Accept errors about one incoming connection only (the next accept may succeed at once).
fn is_per_connection(e: &std::io::Error) -> bool {
    use std::io::ErrorKind;
    matches!(
        e.kind(),
        ErrorKind::ConnectionAborted
            | ErrorKind::ConnectionReset
            | ErrorKind::ConnectionRefused
            | ErrorKind::Interrupted
            | ErrorKind::WouldBlock
    )
}

/// Exponential back-off after accept errors: [`ACCEPT_BACKOFF_MIN`] doubling up to
/// [`ACCEPT_BACKOFF_MAX`], back to the minimum after a successful accept.
#[derive(Debug)]
struct AcceptBackoff {
    next: Duration,
}

impl Default for AcceptBackoff {
    fn default() -> Self {
        Self {
            next: ACCEPT_BACKOFF_MIN,
        }
    }
}

impl AcceptBackoff {
    /// The delay before the next accept after a failure.
    fn failed(&mut self) -> Duration {
        let delay = self.next;
        self.next = (delay * 2).min(ACCEPT_BACKOFF_MAX);
        delay
    }

    fn reset(&mut self) {
        self.next = ACCEPT_BACKOFF_MIN;
    }
}

/// Lets one log line through per interval and counts the ones it held back.
#[derive(Debug)]
struct LogLimiter {
    interval: Duration,
    last: Option<Instant>,
    suppressed: u64,
}

impl LogLimiter {
    fn new(interval: Duration) -> Self {
        Self {
            interval,
            last: None,
            suppressed: 0,
        }
    }

    /// `Some(lines suppressed since the last one)` if a line may be logged at `now`.
    fn check(&mut self, now: Instant) -> Option<u64> {
        if self
            .last
            .is_some_and(|last| now.saturating_duration_since(last) < self.interval)
        {
            self.suppressed = self.suppressed.saturating_add(1);
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.suppressed))
    }
}

/// Live connections per client address (`max_connections_per_ip`).
#[derive(Debug)]
struct PerIp {
    limit: usize,
    counts: Mutex<HashMap<IpAddr, usize>>,
}

impl PerIp {
    fn new(limit: usize) -> Self {
        Self {
            limit,
            counts: Mutex::new(HashMap::new()),
        }
    }

    /// A slot for one more connection from `ip`, `None` at the limit. IPv4-mapped IPv6
    /// addresses count as their IPv4 address.
    fn try_acquire(self: &Arc<Self>, ip: IpAddr) -> Option<IpSlot> {
        let ip = ip.to_canonical();
        let mut counts = self.lock();
        let n = counts.entry(ip).or_insert(0);
        if *n >= self.limit {
            return None;
        }
        *n += 1;
        Some(IpSlot {
            table: self.clone(),
            ip,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, usize>> {
        self.counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// One connection's place in [`PerIp`], given back on drop.
#[derive(Debug)]
struct IpSlot {
    table: Arc<PerIp>,
    ip: IpAddr,
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let mut counts = self.table.lock();
        if let Some(n) = counts.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}

async fn connection(
    tcp: tokio::net::TcpStream,
    peer: SocketAddr,
    acceptor: TlsAcceptor,
    state: Arc<AppState>,
    mut shutdown: watch::Receiver<bool>,
    _held: (OwnedSemaphorePermit, IpSlot),
) {
    let limits = state.config.limits.clone();
    // A client that connects and never starts (or never finishes) TLS holds a descriptor and a
    // connection permit: bounded by the handshake timeout.
    let tls = match tokio::time::timeout(limits.tls_handshake_timeout, acceptor.accept(tcp)).await {
        Ok(Ok(t)) => t,
        Ok(Err(e)) => {
            tracing::debug!(%peer, "tls accept: {e}");
            return;
        }
        Err(_) => {
            tracing::debug!(%peer, timeout = ?limits.tls_handshake_timeout, "tls handshake timed out");
            return;
        }
    };
    let conn_auth = Arc::new(Mutex::new(ConnAuth::new(peer)));
    let activity = Activity::new();
    let service = {
        let activity = activity.clone();
        hyper::service::service_fn(move |req| {
            let state = state.clone();
            let conn_auth = conn_auth.clone();
            let in_flight = InFlight::start(&activity);
            async move {
                let mut resp = handle(req, &state, &conn_auth).await;
                resp.body_mut().in_flight = Some(in_flight);
                Ok::<_, Infallible>(resp)
            }
        })
    };
    // hyper's header read timer runs from the moment the connection waits for a request head:
    // it bounds slow headers and also idle keep-alive connections.
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true)
        .serve_connection(
            TokioIo::new(crate::stall::StallGuard::new(
                tls,
                limits.write_stall_timeout,
            )),
            service,
        );
    let mut conn = std::pin::pin!(conn);
    loop {
        let wake = activity
            .idle_deadline(limits.idle_timeout)
            .unwrap_or_else(|| Instant::now() + limits.idle_timeout);
        tokio::select! {
            res = conn.as_mut() => {
                if let Err(e) = res { tracing::debug!(%peer, "connection: {e}"); }
                return;
            }
            _ = shutdown.changed() => {
                conn.as_mut().graceful_shutdown();
                let _ = conn.await;
                return;
            }
            () = tokio::time::sleep_until(wake) => {
                if activity
                    .idle_deadline(limits.idle_timeout)
                    .is_some_and(|d| d <= Instant::now())
                {
                    tracing::debug!(%peer, timeout = ?limits.idle_timeout, "closing idle connection");
                    return;
                }
            }
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
    let user = match auth::authenticate(state, conn_auth, req.headers()).await {
        Ok(user) => user,
        Err(challenge) => return *challenge,
    };
    let (parts, body) = req.into_parts();
    let body = match read_body(body, MAX_BODY, state.config.limits.body_read_timeout).await {
        Ok(b) => b,
        Err(e) => {
            tracing::debug!(user = %user.alias, "mapi/http request: {e}");
            return match e {
                BodyError::TooLarge { .. } => crate::mapihttp::too_large(&parts.headers),
                BodyError::TimedOut(_) => timed_out(),
                BodyError::Aborted(_) => gone(),
            };
        }
    };
    crate::session::store_work(|| crate::mapihttp::dispatch(state, endpoint, &user, &parts, &body))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_backoff_doubles_to_one_second_and_resets() {
        let mut b = AcceptBackoff::default();
        let delays: Vec<u128> = (0..9).map(|_| b.failed().as_millis()).collect();
        assert_eq!(delays, [10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
        b.reset();
        assert_eq!(b.failed(), ACCEPT_BACKOFF_MIN);
    }

    #[test]
    fn log_limiter_lets_one_line_a_second_through_and_counts_the_rest() {
        let mut l = LogLimiter::new(Duration::from_secs(1));
        let t0 = Instant::now();
        assert_eq!(l.check(t0), Some(0));
        for ms in [1, 10, 500, 999] {
            assert_eq!(l.check(t0 + Duration::from_millis(ms)), None);
        }
        assert_eq!(l.check(t0 + Duration::from_millis(1000)), Some(4));
        assert_eq!(l.check(t0 + Duration::from_millis(1500)), None);
        assert_eq!(l.check(t0 + Duration::from_secs(5)), Some(1));
    }

    #[test]
    fn per_ip_slots_are_counted_per_address_and_given_back() {
        let table = Arc::new(PerIp::new(2));
        let a = IpAddr::from([127, 0, 0, 2]);
        let mapped: IpAddr = "::ffff:127.0.0.2".parse().unwrap();
        let b = IpAddr::from([127, 0, 0, 1]);
        let s1 = table.try_acquire(a).unwrap();
        let s2 = table.try_acquire(mapped).unwrap();
        assert!(table.try_acquire(a).is_none(), "IPv4-mapped counts as IPv4");
        let s3 = table.try_acquire(b).unwrap();
        drop(s1);
        let s4 = table.try_acquire(a).unwrap();
        drop((s2, s3, s4));
        assert!(
            table.lock().is_empty(),
            "no entry left for closed connections"
        );
    }
}
