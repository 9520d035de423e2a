//! The I/O driver: [`RpcHttpClient`] builds a virtual connection and binds an interface on it;
//! [`RpcChannel`] makes calls. All protocol decisions live in [`super::vconn`] and
//! [`super::dce`]; this file only moves bytes and bounds every wait.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use oxmapi_wire::dcerpc::{AuthLevel, RtsPdu, SyntaxId};
use tokio::sync::{mpsc, oneshot};
use tokio::task::AbortHandle;

use super::dce::{DceClient, DceState};
use super::error::RpcError;
use super::proxy::{ChannelBody, IN_CHANNEL_LENGTH, ProxyContext};
use super::security::RpcSecurity;
use super::vconn::{Cookies, DEFAULT_RECEIVE_WINDOW, VcEvent, VcState, VirtualConnection};
use crate::config::{AuthScheme, Timeouts, TransportConfig};
use crate::error::TransportError;
use crate::http::{ChannelStats, Target};
use crate::io::ByteCounters;
use crate::stats::SessionStats;
use crate::tls::TlsSetup;

/// PDUs queued for the IN channel before the writer applies back-pressure.
const IN_QUEUE: usize = 32;

/// The RPC server "port" named in the proxy URL (MS-OXCRPC 2.1, MS-OXNSPI 2.1, MS-OXABREF 2.1),
/// and the interface bound on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RpcPort {
    /// 6001: EMSMDB (MS-OXCRPC).
    Emsmdb,
    /// 6002: the referral service (MS-OXABREF).
    Referral,
    /// 6004: NSPI (MS-OXNSPI).
    Nspi,
}

impl RpcPort {
    /// The port number of the `rpcproxy.dll?<server>:<port>` query.
    pub fn number(self) -> u16 {
        match self {
            Self::Emsmdb => 6001,
            Self::Referral => 6002,
            Self::Nspi => 6004,
        }
    }

    /// The interface bound on this port.
    pub fn interface(self) -> SyntaxId {
        match self {
            Self::Emsmdb => SyntaxId::EMSMDB,
            Self::Referral => SyntaxId::RFR,
            Self::Nspi => SyntaxId::NSPI,
        }
    }

    /// The interface's name for messages.
    pub fn interface_name(self) -> &'static str {
        match self {
            Self::Emsmdb => "EMSMDB",
            Self::Referral => "RFR",
            Self::Nspi => "NSPI",
        }
    }
}

/// The DCE/RPC authentication level (MS-RPCE 2.2.1.1.8), NTLM (RPC_C_AUTHN_WINNT) with the
/// HTTP credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RpcAuthLevel {
    /// RPC_C_AUTHN_LEVEL_PKT_PRIVACY: every stub sealed (what Outlook uses).
    #[default]
    Privacy,
    /// RPC_C_AUTHN_LEVEL_PKT_INTEGRITY: every stub signed.
    Integrity,
    /// RPC_C_AUTHN_LEVEL_NONE: no RPC-level security (test servers only).
    None,
}

impl RpcAuthLevel {
    fn wire(self) -> Option<AuthLevel> {
        match self {
            Self::Privacy => Some(AuthLevel::PKT_PRIVACY),
            Self::Integrity => Some(AuthLevel::PKT_INTEGRITY),
            Self::None => None,
        }
    }
}

/// What one RPC/HTTP channel did, for the logon report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RpcStats {
    /// The HTTP side, summed over the IN and OUT connections (`mapi_requests` counts RPC calls,
    /// `pending_keepalives` the RTS pings received).
    pub http: SessionStats,
    /// DCE/RPC calls completed (bind not included).
    pub calls: u64,
    /// PDUs written to the IN channel (RTS included).
    pub pdus_sent: u64,
    /// DCE/RPC PDUs read from the OUT channel.
    pub pdus_received: u64,
    /// FlowControlAckWithDestination PDUs sent.
    pub flow_control_acks_sent: u64,
    /// The negotiated max_xmit_frag.
    pub max_xmit_frag: u16,
    /// Whether DCE/RPC header signing was negotiated.
    pub header_signing: bool,
    /// The RPC auth level in force.
    pub auth_level: Option<RpcAuthLevel>,
    /// The server's IN channel receive window from CONN/C2.
    pub server_receive_window: u32,
    /// The connection timeout announced in CONN/A3 / CONN/C2, milliseconds.
    pub connection_timeout_ms: u32,
}

/// Opens RPC over HTTP v2 channels to one RPC proxy (the proxy map's front end). Cheap to clone.
///
/// ```no_run
/// # async fn demo() -> Result<(), oxmapi_transport::RpcError> {
/// use oxmapi_transport::*;
/// let mut config = TransportConfig::new("https://mail.contoso.com");
/// config.auth = Some(HttpAuth {
///     scheme: AuthScheme::Ntlm,
///     credentials: Credentials { user: "alice".into(), domain: Some("CONTOSO".into()), password: "pw".into() },
/// });
/// let client = RpcHttpClient::new(config)?;
/// let channel = client.connect("0a1b2c3d@contoso.com", RpcPort::Emsmdb, RpcAuthLevel::Privacy).await?;
/// let mut emsmdb = EmsmdbRpc::new(channel);
/// let connected = emsmdb.connect_ex("/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=alice", 0).await?;
/// println!("{:?} {:?}", connected.display_name, emsmdb.channel().stats());
/// emsmdb.disconnect().await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RpcHttpClient {
    inner: Arc<ClientInner>,
}

struct ClientInner {
    config: TransportConfig,
    target: Target,
    tls: Option<TlsSetup>,
}

impl RpcHttpClient {
    /// Checks the front end URL (`https://mail.contoso.com`) and builds the TLS configuration.
    pub fn new(config: TransportConfig) -> Result<Self, TransportError> {
        let target = Target::parse(&config.base_url)?;
        let tls = if target.https {
            Some(TlsSetup::new(&config.tls)?)
        } else {
            None
        };
        Ok(Self {
            inner: Arc::new(ClientInner {
                config,
                target,
                tls,
            }),
        })
    }

    /// Builds a virtual connection to `server_name:port` through the proxy (MS-RPCH 3.2.2.4.1)
    /// and binds the port's interface at `auth_level`, with NTLM and the HTTP credentials.
    /// With [`AuthScheme::Bearer`] the level is always [`RpcAuthLevel::None`]: DCE/RPC has no
    /// bearer form (MS-RPCE 2.2.1.1.7), so the token authenticates both HTTP channels, inside
    /// TLS, and the bind carries no auth verifier.
    pub async fn connect(
        &self,
        server_name: &str,
        port: RpcPort,
        auth_level: RpcAuthLevel,
    ) -> Result<RpcChannel, RpcError> {
        let inner = &self.inner;
        let auth_level = match &inner.config.auth {
            Some(a) if a.scheme == AuthScheme::Bearer => RpcAuthLevel::None,
            _ => auth_level,
        };
        let security = match auth_level.wire() {
            None => None,
            Some(level) => {
                let auth = inner.config.auth.as_ref().ok_or_else(|| {
                    RpcError::Security("rpc authentication needs credentials".to_owned())
                })?;
                Some(RpcSecurity::new(&auth.credentials, level, server_name)?)
            }
        };
        let counters = Arc::new(ByteCounters::default());
        let proxy = ProxyContext {
            target: &inner.target,
            tls: inner.tls.as_ref(),
            auth: inner.config.auth.as_ref(),
            timeouts: inner.config.timeouts,
            counters: counters.clone(),
            path: format!("/rpc/rpcproxy.dll?{server_name}:{}", port.number()),
        };
        let dce = DceClient::new(port.interface(), port.interface_name(), security);
        let mut channel = establish(&proxy, dce).await?;
        channel.auth_level = Some(auth_level);
        channel.bind().await?;
        Ok(channel)
    }
}

/// One bound DCE/RPC association over one virtual connection; calls are sequential.
pub struct RpcChannel {
    in_tx: Option<mpsc::Sender<Bytes>>,
    out_body: Incoming,
    in_ended: Option<oneshot::Receiver<String>>,
    vc: VirtualConnection,
    dce: DceClient,
    timeouts: Timeouts,
    tasks: Vec<AbortHandle>,
    http: ChannelStats,
    counters: Arc<ByteCounters>,
    url: String,
    broken: Option<String>,
    calls: u64,
    pdus_sent: u64,
    pdus_received: u64,
    auth_level: Option<RpcAuthLevel>,
}

impl std::fmt::Debug for RpcChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpcChannel")
            .field("url", &self.url)
            .field("state", &self.dce.state())
            .finish_non_exhaustive()
    }
}

impl RpcChannel {
    /// Calls `opnum` with an NDR request stub and returns the response stub. A fault is
    /// [`RpcError::Fault`] and leaves the channel usable; any other failure closes it.
    pub async fn call(&mut self, opnum: u16, stub: &[u8]) -> Result<Vec<u8>, RpcError> {
        if let Some(reason) = &self.broken {
            return Err(RpcError::Closed(reason.clone()));
        }
        let result = self.call_inner(opnum, stub).await;
        match &result {
            Ok(_) => self.calls += 1,
            Err(RpcError::Fault { .. }) => {}
            Err(e) => self.fail(e),
        }
        result
    }

    /// Counters for the logon report.
    pub fn stats(&self) -> RpcStats {
        let c = &self.http;
        RpcStats {
            http: SessionStats {
                http_round_trips: c.round_trips,
                auth_challenges: c.auth_challenges,
                bytes_sent: self.counters.sent(),
                bytes_received: self.counters.received(),
                connections: c.connections,
                mapi_requests: self.calls,
                pending_keepalives: self.vc.counters.pings_received,
                tls: c.tls.clone(),
                auth_scheme: c.auth_scheme,
            },
            calls: self.calls,
            pdus_sent: self.pdus_sent,
            pdus_received: self.pdus_received,
            flow_control_acks_sent: self.vc.counters.flow_control_acks_sent,
            max_xmit_frag: self.dce.max_xmit(),
            header_signing: self.dce.header_sign(),
            auth_level: self.auth_level,
            server_receive_window: self.vc.peer_window(),
            connection_timeout_ms: self.vc.connection_timeout_ms(),
        }
    }

    /// The proxy URL of this channel.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Ends the virtual connection: the IN request body ends, both connections are closed.
    pub fn close(mut self) {
        self.shutdown();
    }

    async fn call_inner(&mut self, opnum: u16, stub: &[u8]) -> Result<Vec<u8>, RpcError> {
        let (call_id, fragments) = self.dce.request(opnum, stub)?;
        for fragment in fragments {
            self.send_in(fragment).await?;
        }
        loop {
            match self.next_event("the rpc response").await? {
                VcEvent::Pdu(pdu) => {
                    if let Some(stub) = self.dce.on_response(call_id, opnum, pdu)? {
                        return Ok(stub);
                    }
                }
                other => {
                    return Err(RpcError::Protocol(format!("unexpected {other:?}")));
                }
            }
        }
    }

    async fn bind(&mut self) -> Result<(), RpcError> {
        let result = self.bind_inner().await;
        if let Err(e) = &result {
            self.fail(e);
        }
        result
    }

    async fn bind_inner(&mut self) -> Result<(), RpcError> {
        let bind = self.dce.bind()?;
        self.send_in(bind).await?;
        let ack = match self.next_event("bind_ack").await? {
            VcEvent::Pdu(pdu) => pdu,
            other => return Err(RpcError::Protocol(format!("unexpected {other:?}"))),
        };
        if let Some(auth3) = self.dce.on_bind_ack(&ack)? {
            self.send_in(auth3).await?;
        }
        debug_assert_eq!(self.dce.state(), DceState::Bound);
        Ok(())
    }

    async fn wait_opened(&mut self) -> Result<(), RpcError> {
        match self.next_event("CONN/A3 and CONN/C2").await? {
            VcEvent::Opened if self.vc.state() == VcState::Opened => Ok(()),
            other => Err(RpcError::Protocol(format!(
                "expected CONN/C2, got {other:?}"
            ))),
        }
    }

    async fn send_in(&mut self, pdu: Vec<u8>) -> Result<(), RpcError> {
        let tx = self
            .in_tx
            .as_ref()
            .ok_or_else(|| RpcError::Closed("the IN channel is closed".to_owned()))?;
        let len = pdu.len();
        let limit = self.timeouts.body_idle;
        match tokio::time::timeout(limit, tx.send(Bytes::from(pdu))).await {
            Err(_) => Err(timeout("room on the IN channel", limit)),
            Ok(Err(_)) => Err(RpcError::Closed("the IN channel request ended".to_owned())),
            Ok(Ok(())) => {
                self.vc.sent_in(len);
                self.pdus_sent += 1;
                Ok(())
            }
        }
    }

    /// The next event of the virtual connection, reading the OUT channel as needed; flow
    /// control acknowledgements are written on the way.
    async fn next_event(&mut self, waiting_for: &'static str) -> Result<VcEvent, RpcError> {
        loop {
            match self.vc.poll()? {
                Some(VcEvent::SendIn(rts)) => {
                    self.send_in(rts).await?;
                    continue;
                }
                Some(event) => {
                    if matches!(event, VcEvent::Pdu(_)) {
                        self.pdus_received += 1;
                    }
                    return Ok(event);
                }
                None => {}
            }
            let chunk = self.read_out(waiting_for).await?;
            self.vc.push(&chunk);
        }
    }

    async fn read_out(&mut self, waiting_for: &'static str) -> Result<Bytes, RpcError> {
        let limit = self.timeouts.body_idle;
        loop {
            let frame = {
                let in_ended = async {
                    match self.in_ended.as_mut() {
                        Some(rx) => rx.await.unwrap_or_else(|_| "its task ended".to_owned()),
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    frame = tokio::time::timeout(limit, self.out_body.frame()) => frame,
                    reason = in_ended => {
                        self.in_ended = None;
                        return Err(RpcError::Closed(format!("the IN channel ended: {reason}")));
                    }
                }
            };
            match frame {
                Err(_) => return Err(timeout(waiting_for, limit)),
                Ok(None) => {
                    return Err(RpcError::Closed(format!(
                        "the OUT channel ended while waiting for {waiting_for}"
                    )));
                }
                Ok(Some(Err(e))) => {
                    return Err(RpcError::Closed(format!("the OUT channel failed: {e}")));
                }
                Ok(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        return Ok(data);
                    }
                }
            }
        }
    }

    fn fail(&mut self, e: &RpcError) {
        self.broken = Some(format!("an earlier error closed the channel: {e}"));
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.in_tx = None;
        for task in self.tasks.drain(..) {
            task.abort();
        }
    }
}

impl Drop for RpcChannel {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// MS-RPCH 3.2.2.4.1: OUT channel with CONN/A1, IN channel with CONN/B1, then CONN/A3 and
/// CONN/C2 on the OUT channel.
async fn establish(proxy: &ProxyContext<'_>, dce: DceClient) -> Result<RpcChannel, RpcError> {
    let vc = VirtualConnection::new(Cookies::random(), DEFAULT_RECEIVE_WINDOW);
    let mut http = ChannelStats::default();
    let a1 = Bytes::from(vc.conn_a1()?);
    let out = proxy
        .open(
            &mut http,
            "RPC_OUT_DATA",
            a1.len() as u64,
            ChannelBody::Full(Some(a1)),
        )
        .await?;
    let mut tasks = vec![out.connection];
    let (in_tx, rx) = mpsc::channel(IN_QUEUE);
    in_tx
        .send(Bytes::from(vc.conn_b1()?))
        .await
        .map_err(|_| RpcError::Closed("the IN channel queue closed".to_owned()))?;
    let opened_in = proxy
        .open(
            &mut http,
            "RPC_IN_DATA",
            IN_CHANNEL_LENGTH,
            ChannelBody::Stream(rx),
        )
        .await;
    let opened_in = match opened_in {
        Ok(o) => o,
        Err(e) => {
            tasks.iter().for_each(AbortHandle::abort);
            return Err(e);
        }
    };
    tasks.push(opened_in.connection);
    let (ended_tx, in_ended) = oneshot::channel();
    let watcher = tokio::spawn(async move {
        let reason = match opened_in.response.await {
            Ok(r) => format!("the proxy answered http {}", r.status()),
            Err(e) => e.to_string(),
        };
        let _ = ended_tx.send(reason);
    });
    tasks.push(watcher.abort_handle());
    let limit = proxy.timeouts.response_headers;
    let head = tokio::time::timeout(limit, out.response).await;
    let head = match head {
        Err(_) => Err(timeout("the RPC_OUT_DATA response", limit)),
        Ok(Err(e)) => Err(proxy.io(e).into()),
        Ok(Ok(response)) => proxy.check("RPC_OUT_DATA", response),
    };
    let response = match head {
        Ok(r) => r,
        Err(e) => {
            tasks.iter().for_each(AbortHandle::abort);
            return Err(e);
        }
    };
    let mut channel = RpcChannel {
        in_tx: Some(in_tx),
        out_body: response.into_body(),
        in_ended: Some(in_ended),
        vc,
        dce,
        timeouts: proxy.timeouts,
        tasks,
        http,
        counters: proxy.counters.clone(),
        url: proxy.url(),
        broken: None,
        calls: 0,
        pdus_sent: 1,
        pdus_received: 0,
        auth_level: None,
    };
    if let Err(e) = channel.wait_opened().await {
        channel.fail(&e);
        return Err(e);
    }
    if let Some(tx) = channel.in_tx.clone() {
        let every = keepalive_interval(channel.vc.connection_timeout_ms());
        channel
            .tasks
            .push(tokio::spawn(keep_alive(tx, every)).abort_handle());
    }
    Ok(channel)
}

/// How often the IN channel sends a Ping: half the ConnectionTimeout the inbound proxy
/// announced in CONN/A3 / CONN/C2 (MS-RPCH 3.2.2.6.1 asks for a Ping at least once per
/// ConnectionTimeout and allows a shorter interval), never more than once a second.
fn keepalive_interval(connection_timeout_ms: u32) -> Duration {
    Duration::from_millis(u64::from(connection_timeout_ms / 2)).max(Duration::from_secs(1))
}

/// Sends a Ping RTS PDU (MS-RPCH 2.2.4.49) on the IN channel every `every`, so an inbound
/// proxy that closes idle channels keeps this one while the session is idle. RTS PDUs are
/// not flow controlled, so they are not counted in the IN channel's window. Ends when the
/// IN channel closes (or the channel aborts the task).
async fn keep_alive(tx: mpsc::Sender<Bytes>, every: Duration) {
    let Ok(ping) = RtsPdu::ping().to_bytes() else {
        return;
    };
    let ping = Bytes::from(ping);
    loop {
        tokio::time::sleep(every).await;
        if tx.send(ping.clone()).await.is_err() {
            return;
        }
        tracing::trace!("rpc/http: ping sent on the IN channel");
    }
}

fn timeout(waiting_for: &'static str, limit: Duration) -> RpcError {
    RpcError::Timeout {
        waiting_for,
        after_ms: limit.as_millis(),
    }
}
