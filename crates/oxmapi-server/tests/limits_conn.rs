//! Connection limits of the server (`Limits`, docs/server-limits.md) attacked over loopback:
//! slowloris headers, TCP without TLS, idle keep-alive connections, silent and half-sent
//! request bodies (MAPI/HTTP and a 1 GiB RPC_IN_DATA), the global and per-address connection
//! caps, and accept errors under descriptor exhaustion.
//!
//! Every timing assertion is relative to the configured timeout ("closed no earlier than the
//! timeout, and before N times it"), never an absolute latency.

#[path = "infra_support.rs"]
mod support;

#[path = "rpch_harness/mod.rs"]
mod harness;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use oxmapi_server::{Limits, ServerConfig};
use oxmapi_wire::dcerpc::ndr::NdrCodec;
use oxmapi_wire::dcerpc::nspi::{NspiBindRequest, NspiBindResponse, opnum};
use oxmapi_wire::dcerpc::nspi_types::Stat;
use oxmapi_wire::dcerpc::{PduBody, RtsPdu, SyntaxId, Uuid};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::RwLock;
use tokio_rustls::client::TlsStream;

use harness::{WAIT, open_vc, read_head, request_head, response_stub};
use support::*;

/// Tests hold it shared; the descriptor exhaustion test holds it alone (it starves the whole
/// process of file descriptors).
static FDS: RwLock<()> = RwLock::const_new(());

/// A timeout must have closed the connection before this many times its value.
const SLACK: u32 = 5;

/// The attacker's source address: Linux routes all of 127.0.0.0/8 to `lo`.
const ATTACKER: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

/// Short limits for the tests; each test changes what it exercises.
fn short_limits() -> Limits {
    let mut l = Limits::default();
    l.tls_handshake_timeout = Duration::from_secs(1);
    l.header_read_timeout = Duration::from_secs(2);
    l.body_read_timeout = Duration::from_secs(1);
    l.idle_timeout = Duration::from_secs(1);
    l
}

async fn start_with(limits: Limits) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::new(dir.path());
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.limits = limits;
    let server = oxmapi_server::serve(config).await.unwrap();
    let alice = server
        .store()
        .add_user("alice", "Alice Example", ALICE_PASSWORD)
        .unwrap();
    let bob = server
        .store()
        .add_user("bob", "Bob Builder", BOB_PASSWORD)
        .unwrap();
    TestServer {
        server,
        dir,
        alice,
        bob,
    }
}

fn tls_connector(ts: &TestServer) -> tokio_rustls::TlsConnector {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    let der: rustls_pki_types::CertificateDer<'_> =
        rustls_pki_types::pem::PemObject::from_pem_slice(ts.server.cert_pem().as_bytes()).unwrap();
    roots.add(der.into_owned()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// A TCP connection to the server from `source` (any port).
async fn tcp_from(source: IpAddr, ts: &TestServer) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(source, 0)).unwrap();
    socket.connect(ts.server.local_addr()).await.unwrap()
}

/// TLS over `tcp`; `Err` when the server closed the connection instead.
async fn tls_over(ts: &TestServer, tcp: TcpStream) -> std::io::Result<TlsStream<TcpStream>> {
    let name = rustls_pki_types::ServerName::try_from("127.0.0.1").unwrap();
    tls_connector(ts).connect(name, tcp).await
}

/// Reads (and discards) until the server closes the stream; the time it took. Panics if the
/// stream is still open after `limit`.
async fn closed_within<S: AsyncReadExt + Unpin>(s: &mut S, limit: Duration) -> Duration {
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(limit, s.read(&mut buf)).await {
            Err(_) => panic!("the server kept the connection open for {limit:?}"),
            Ok(Ok(0) | Err(_)) => return started.elapsed(),
            Ok(Ok(_)) => {}
        }
    }
}

/// A normal request on a fresh connection: `GET /` answered 404.
async fn normal_request_served(ts: &TestServer) {
    let mut conn = tokio::time::timeout(WAIT, Conn::open(&ts.server))
        .await
        .expect("a normal client connects in time");
    let req = http::Request::get("/")
        .header("host", "127.0.0.1")
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .unwrap();
    let resp = tokio::time::timeout(WAIT, conn.send(req))
        .await
        .expect("a normal request is answered in time");
    assert_eq!(resp.status, http::StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn slowloris_headers_are_cut_at_the_header_read_timeout() {
    let _shared = FDS.read().await;
    let mut limits = short_limits();
    // Longer than the header read timeout, so that it is what closes the connections.
    limits.idle_timeout = Duration::from_secs(30);
    let timeout = limits.header_read_timeout;
    let ts = start_with(limits).await;
    let head = b"POST /mapi/emsmdb/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/mapi-http\r\n";

    let mut attackers = tokio::task::JoinSet::new();
    for _ in 0..5 {
        let mut s = tls_over(&ts, tcp_from(ATTACKER, &ts).await).await.unwrap();
        attackers.spawn(async move {
            // One header byte per second, never the blank line.
            let started = Instant::now();
            let mut buf = [0u8; 256];
            for &b in head.iter().cycle() {
                tokio::select! {
                    r = s.read(&mut buf) => if matches!(r, Ok(0) | Err(_)) {
                        return started.elapsed();
                    },
                    () = tokio::time::sleep(Duration::from_secs(1)) => {
                        if s.write_all(&[b]).await.is_err() || s.flush().await.is_err() {
                            return started.elapsed();
                        }
                    }
                }
                assert!(
                    started.elapsed() < timeout * SLACK,
                    "slowloris connection still open"
                );
            }
            unreachable!()
        });
    }
    // The server keeps serving while the attack is on.
    normal_request_served(&ts).await;
    while let Some(closed_after) = attackers.join_next().await {
        let closed_after = closed_after.unwrap();
        assert!(closed_after >= timeout, "closed after {closed_after:?}");
        assert!(
            closed_after < timeout * SLACK,
            "closed after {closed_after:?}"
        );
    }
    normal_request_served(&ts).await;
}

#[tokio::test]
async fn tcp_without_tls_is_closed_at_the_handshake_timeout() {
    let _shared = FDS.read().await;
    let limits = short_limits();
    let timeout = limits.tls_handshake_timeout;
    let ts = start_with(limits).await;

    let mut silent = tcp_from(ATTACKER, &ts).await;
    // A ClientHello that never finishes: the first bytes of a TLS record header.
    let mut half = tcp_from(ATTACKER, &ts).await;
    half.write_all(&[0x16, 0x03, 0x01, 0x02]).await.unwrap();
    let (a, b) = tokio::join!(
        closed_within(&mut silent, timeout * SLACK),
        closed_within(&mut half, timeout * SLACK)
    );
    for closed_after in [a, b] {
        assert!(closed_after >= timeout, "closed after {closed_after:?}");
    }
    normal_request_served(&ts).await;
}

#[tokio::test]
async fn idle_keep_alive_connection_is_closed_at_the_idle_timeout() {
    let _shared = FDS.read().await;
    let mut limits = short_limits();
    // Longer than the idle timeout, so that the idle timeout is what closes the connection.
    limits.header_read_timeout = Duration::from_secs(30);
    let timeout = limits.idle_timeout;
    let ts = start_with(limits).await;

    let mut s = tls_over(&ts, tcp_from(ATTACKER, &ts).await).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !got.ends_with(b"not found") {
        let n = tokio::time::timeout(WAIT, s.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "closed before the response: {got:?}");
        got.extend_from_slice(&buf[..n]);
    }
    assert!(got.starts_with(b"HTTP/1.1 404"));
    let closed_after = closed_within(&mut s, timeout * SLACK).await;
    assert!(closed_after >= timeout, "closed after {closed_after:?}");
}

#[tokio::test]
async fn mapi_http_bodies_too_large_or_too_slow() {
    let _shared = FDS.read().await;
    let limits = short_limits();
    let timeout = limits.body_read_timeout;
    let ts = start_with(limits).await;
    let auth = basic("alice", ALICE_PASSWORD);
    let head = |len: usize| {
        format!(
            "POST /mapi/emsmdb/?MailboxId={} HTTP/1.1\r\nHost: 127.0.0.1\r\n\
             Authorization: {auth}\r\nContent-Type: application/mapi-http\r\n\
             X-RequestType: Connect\r\nX-RequestId: {{E2EA6C1C-E61B-49E9-9CFB-38184F907552}}:1\r\n\
             X-ClientInfo: {{2EF33C39-49C8-421C-B876-CDF7F2AC3AA0}}:1\r\nContent-Length: {len}\r\n\r\n",
            ts.alice.personalized_server_name
        )
    };

    // Ten bytes of a thousand, then silence: 408 and the connection closes.
    let mut s = tls_over(&ts, tcp_from(ATTACKER, &ts).await).await.unwrap();
    let started = Instant::now();
    s.write_all(head(1000).as_bytes()).await.unwrap();
    s.write_all(&[0u8; 10]).await.unwrap();
    let mut got = Vec::new();
    let closed = {
        let mut buf = [0u8; 1024];
        loop {
            match tokio::time::timeout(timeout * SLACK, s.read(&mut buf)).await {
                Err(_) => panic!("half-sent body still open: {got:?}"),
                Ok(Ok(0) | Err(_)) => break started.elapsed(),
                Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            }
        }
    };
    let text = String::from_utf8_lossy(&got).to_ascii_lowercase();
    assert!(text.starts_with("http/1.1 408"), "{text}");
    assert!(text.contains("connection: close"), "{text}");
    assert!(closed >= timeout, "closed after {closed:?}");
    assert!(closed < timeout * SLACK, "closed after {closed:?}");

    // A Content-Length over the limit is refused before any body byte (X-ResponseCode 9).
    let mut s = tls_over(&ts, tcp_from(ATTACKER, &ts).await).await.unwrap();
    s.write_all(head(2 << 20).as_bytes()).await.unwrap();
    let (answer, _) = read_head(&mut s).await;
    let answer = answer.to_ascii_lowercase();
    assert!(answer.starts_with("http/1.1 200"), "{answer}");
    assert!(answer.contains("x-responsecode: 9"), "{answer}");
    assert!(answer.contains("connection: close"), "{answer}");

    // A client that goes away mid-body costs nothing.
    let mut s = tls_over(&ts, tcp_from(ATTACKER, &ts).await).await.unwrap();
    s.write_all(head(1000).as_bytes()).await.unwrap();
    s.write_all(&[0u8; 10]).await.unwrap();
    drop(s);
    normal_request_served(&ts).await;
}

#[tokio::test]
async fn silent_one_gib_rpc_in_data_is_closed_at_the_body_read_timeout() {
    let _shared = FDS.read().await;
    let limits = short_limits();
    let timeout = limits.body_read_timeout;
    let ts = start_with(limits).await;
    let auth = basic("alice", ALICE_PASSWORD);
    let query = format!("{}:6004", ts.alice.personalized_server_name);

    // Announces 1 GiB, sends nothing: closed before CONN/B1.
    let mut s = tls_over(&ts, tcp_from(ATTACKER, &ts).await).await.unwrap();
    let started = Instant::now();
    request_head(&mut s, "RPC_IN_DATA", &query, &auth, 1 << 30, false).await;
    let (head, _) = read_head(&mut s).await;
    assert!(head.starts_with("HTTP/1.1 408"), "{head}");
    let closed = started.elapsed() + closed_within(&mut s, timeout * SLACK).await;
    assert!(closed >= timeout, "closed after {closed:?}");
    assert!(closed < timeout * SLACK, "closed after {closed:?}");

    // Half a CONN/B1, then silence: the PDU must complete within the body read timeout.
    let b1 = RtsPdu::conn_b1(
        Uuid([1; 16]),
        Uuid([2; 16]),
        1 << 30,
        300_000,
        Uuid([3; 16]),
    )
    .to_bytes()
    .unwrap();
    let mut s = tls_over(&ts, tcp_from(ATTACKER, &ts).await).await.unwrap();
    let started = Instant::now();
    request_head(&mut s, "RPC_IN_DATA", &query, &auth, 1 << 30, false).await;
    s.write_all(&b1[..b1.len() / 2]).await.unwrap();
    let (head, _) = read_head(&mut s).await;
    assert!(head.starts_with("HTTP/1.1 408"), "{head}");
    let closed = started.elapsed() + closed_within(&mut s, timeout * SLACK).await;
    assert!(closed >= timeout, "closed after {closed:?}");

    // An RPC_OUT_DATA whose CONN/A1 never comes.
    let mut s = tls_over(&ts, tcp_from(ATTACKER, &ts).await).await.unwrap();
    request_head(&mut s, "RPC_OUT_DATA", &query, &auth, 76, false).await;
    let (head, _) = read_head(&mut s).await;
    assert!(head.starts_with("HTTP/1.1 408"), "{head}");
    closed_within(&mut s, timeout * SLACK).await;
    normal_request_served(&ts).await;
}

#[tokio::test]
async fn an_out_channel_never_paired_is_closed() {
    let _shared = FDS.read().await;
    let limits = short_limits();
    // Unpaired OUT channels live twice the body read timeout (at most 60 s).
    let lifetime = limits.body_read_timeout * 2;
    let ts = start_with(limits).await;
    let auth = basic("alice", ALICE_PASSWORD);
    let query = format!("{}:6004", ts.alice.personalized_server_name);
    let mut s = tls_over(&ts, tcp_from(ATTACKER, &ts).await).await.unwrap();
    let started = Instant::now();
    request_head(&mut s, "RPC_OUT_DATA", &query, &auth, 76, false).await;
    let a1 = RtsPdu::conn_a1(Uuid([4; 16]), Uuid([5; 16]), 0x1_0000)
        .to_bytes()
        .unwrap();
    s.write_all(&a1).await.unwrap();
    let (head, _) = read_head(&mut s).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    // CONN/A3 arrives, then nothing: no IN channel ever claims the cookie.
    let closed = started.elapsed() + closed_within(&mut s, lifetime * SLACK).await;
    assert!(closed >= lifetime, "closed after {closed:?}");
    normal_request_served(&ts).await;
}

#[tokio::test]
async fn established_virtual_connection_outlives_body_and_idle_timeouts() {
    // Between calls an IN channel may stay silent for the advertised ConnectionTimeout
    // (MS-RPCH 2.2.3.5.3), far longer than the body read and idle timeouts.
    let _shared = FDS.read().await;
    let limits = short_limits();
    let quiet = limits.body_read_timeout.max(limits.idle_timeout) * 3;
    let ts = start_with(limits).await;
    let mut vc = open_vc(&ts).await;
    let ack = vc.bind(SyntaxId::NSPI).await;
    assert!(matches!(ack.body, PduBody::BindAck(_)), "{ack:?}");
    tokio::time::sleep(quiet).await;
    let bind = NspiBindRequest {
        flags: 0,
        stat: Stat {
            code_page: 1252,
            ..Stat::default()
        },
        server_guid: None,
    };
    let resp = vc.call(opnum::BIND, bind.to_stub().unwrap()).await;
    let resp = NspiBindResponse::from_stub(&response_stub(resp)).unwrap();
    assert!(resp.result.is_success());
}

#[tokio::test]
async fn connections_over_the_per_address_cap_are_closed_at_once() {
    let _shared = FDS.read().await;
    let mut limits = short_limits();
    limits.max_connections_per_ip = 3;
    limits.tls_handshake_timeout = Duration::from_secs(20);
    limits.header_read_timeout = Duration::from_secs(20);
    let handshake_timeout = limits.tls_handshake_timeout;
    let ts = start_with(limits).await;

    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(tls_over(&ts, tcp_from(ATTACKER, &ts).await).await.unwrap());
    }
    for _ in 0..3 {
        let started = Instant::now();
        let refused = tls_over(&ts, tcp_from(ATTACKER, &ts).await).await;
        assert!(
            refused.is_err(),
            "a 4th connection from one address was served"
        );
        assert!(
            started.elapsed() < handshake_timeout,
            "closed by the handshake timeout, not at accept"
        );
    }
    // Another address is served.
    normal_request_served(&ts).await;
    // A slot given back is usable again.
    drop(held.pop());
    let mut again = None;
    for _ in 0..50 {
        if let Ok(s) = tls_over(&ts, tcp_from(ATTACKER, &ts).await).await {
            again = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(again.is_some(), "the freed slot never came back");
}

#[tokio::test]
async fn connections_over_the_global_cap_wait_in_the_backlog() {
    let _shared = FDS.read().await;
    let mut limits = short_limits();
    limits.max_connections = 2;
    limits.tls_handshake_timeout = Duration::from_secs(20);
    limits.header_read_timeout = Duration::from_secs(20);
    let ts = start_with(limits).await;

    let first = tls_over(&ts, tcp_from(ATTACKER, &ts).await).await.unwrap();
    let _second = tls_over(&ts, tcp_from(ATTACKER, &ts).await).await.unwrap();
    // The third connects (the kernel queues it) but is not served while two are open.
    let third = tcp_from(ATTACKER, &ts).await;
    let connector = tls_connector(&ts);
    let name = rustls_pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let mut handshake = Box::pin(connector.connect(name, third));
    let waited = Duration::from_millis(500);
    assert!(
        tokio::time::timeout(waited, handshake.as_mut())
            .await
            .is_err(),
        "a third connection was served over max_connections = 2"
    );
    drop(first);
    let third = tokio::time::timeout(WAIT, handshake)
        .await
        .expect("served once a slot is free");
    assert!(third.is_ok(), "{third:?}");
}

/// Counts the server's accept warnings and the `suppressed` count each carries.
#[derive(Clone, Default)]
struct AcceptWarnings(Arc<Mutex<Vec<u64>>>);

struct SuppressedField(Option<u64>, bool);

impl tracing::field::Visit for SuppressedField {
    fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
        if field.name() == "suppressed" {
            self.0 = Some(value);
        }
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" && format!("{value:?}").starts_with("accept") {
            self.1 = true;
        }
    }
}

impl tracing::Subscriber for AcceptWarnings {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let m = event.metadata();
        if *m.level() != tracing::Level::WARN || !m.target().starts_with("oxmapi_server") {
            return;
        }
        let mut v = SuppressedField(None, false);
        event.record(&mut v);
        if v.1 {
            self.0.lock().unwrap().push(v.0.unwrap_or(0));
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// Most descriptors the exhaustion test opens; a higher soft limit is lowered to this.
const MAX_HOG: u64 = 65_536;

/// The soft `RLIMIT_NOFILE` of this process.
fn open_files_limit() -> u64 {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    line.split_whitespace().nth(3).unwrap().parse().unwrap()
}

/// User + system CPU time of this process, from an already open `/proc/self/stat`.
fn cpu_time(stat: &std::fs::File) -> Duration {
    use std::os::unix::fs::FileExt;
    let mut buf = [0u8; 1024];
    let n = stat.read_at(&mut buf, 0).unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    // Fields after the parenthesized command name; utime and stime are fields 14 and 15.
    let after = &text[text.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
    // USER_HZ is 100 on every Linux architecture this runs on.
    Duration::from_millis(ticks * 10)
}

#[tokio::test(flavor = "current_thread")]
async fn accept_errors_back_off_without_spinning() {
    // Alone in the process: every descriptor is taken, so accept() fails with EMFILE while a
    // client waits in the backlog. The loop must back off (not spin on the error), log at most
    // one warning a second, and serve the waiting client once descriptors are free again.
    let _alone = FDS.write().await;
    if open_files_limit() > MAX_HOG {
        // Containers often allow a million descriptors: lower this process's soft limit.
        let status = std::process::Command::new("prlimit")
            .arg("--pid")
            .arg(std::process::id().to_string())
            .arg(format!("--nofile={MAX_HOG}:"))
            .status()
            .expect("prlimit (util-linux) lowers RLIMIT_NOFILE for this test");
        assert!(status.success());
        assert_eq!(open_files_limit(), MAX_HOG);
    }
    let warnings = AcceptWarnings::default();
    let _log = tracing::subscriber::set_default(warnings.clone());
    let mut limits = short_limits();
    // An accept that wins a descriptor early must not time out before the client speaks.
    limits.tls_handshake_timeout = Duration::from_secs(30);
    let ts = start_with(limits).await;
    normal_request_served(&ts).await;
    // Let the server notice that connection's end and give its descriptor back.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stat = std::fs::File::open("/proc/self/stat").unwrap();

    let mut hog = Vec::new();
    let grab = |hog: &mut Vec<std::fs::File>| {
        loop {
            match std::fs::File::open("/dev/null") {
                Ok(f) => hog.push(f),
                Err(e) if e.raw_os_error() == Some(24) => break, // EMFILE
                Err(e) => panic!("{e}"),
            }
        }
    };
    grab(&mut hog);
    // One descriptor for the client's socket; none left for the server's accept.
    drop(hog.pop());
    let waiting = TcpStream::connect(ts.server.local_addr()).await.unwrap();
    let wall = Instant::now();
    let cpu = cpu_time(&stat);
    while wall.elapsed() < Duration::from_millis(2500) {
        tokio::time::sleep(Duration::from_millis(50)).await;
        grab(&mut hog);
    }
    let cpu = cpu_time(&stat) - cpu;
    let wall = wall.elapsed();
    drop(hog);

    let served = tokio::time::timeout(WAIT, tls_over(&ts, waiting))
        .await
        .expect("the waiting client is served once descriptors are free");
    assert!(served.is_ok(), "{served:?}");
    normal_request_served(&ts).await;

    let warned = warnings.0.lock().unwrap().clone();
    assert!(!warned.is_empty(), "no accept warning logged");
    let per_second_bound = wall.as_secs() + 2;
    assert!(
        (warned.len() as u64) <= per_second_bound,
        "{} accept warnings in {wall:?}",
        warned.len()
    );
    assert!(
        warned.iter().skip(1).any(|&s| s > 0),
        "later warnings report the suppressed count: {warned:?}"
    );
    // A spinning loop keeps this (single-threaded) runtime busy the whole time.
    assert!(
        cpu * 4 < wall,
        "accept loop used {cpu:?} of CPU in {wall:?}"
    );
}
