//! Authentication hardening over real loopback sockets: logon throttling and lockout per
//! account and per client address (attackers' sockets are bound to 127.0.0.2 to 127.0.0.4, the
//! normal clients' to 127.0.0.1), Basic and Bearer bound to each request, NTLM bound to the
//! connection only after a completed handshake, one answer for every refused bearer token,
//! RPC/HTTP virtual connection cookies kept from other users, and what a failed logon leaves in
//! the server log (captured with a `tracing-subscriber` writer).

#[path = "infra_support.rs"]
mod support;

#[allow(dead_code)]
#[path = "rpch_harness/mod.rs"]
mod harness;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use harness::*;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use oxmapi_server::store::UserRecord;
use oxmapi_server::{Limits, ServerConfig};
use oxmapi_wire::dcerpc::rts::RtsKind;
use oxmapi_wire::dcerpc::{PduBody, PduFramer, RtsPdu, SyntaxId, Uuid};
use support::*;
use tokio::io::AsyncWriteExt;

const LOCAL: [u8; 4] = [127, 0, 0, 1];
const HOUR: Duration = Duration::from_secs(3600);

// --- log capture --------------------------------------------------------------------------

static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the capture (once per test binary): every `oxmapi_server` event at debug and
/// above, as the fmt subscriber prints it.
fn capture_log() {
    LOG.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let writer = buf.clone();
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("oxmapi_server=debug"))
            .with_writer(move || Capture(writer.clone()))
            .with_ansi(false)
            .init();
        buf
    });
}

/// What the servers of this binary logged so far.
fn logged() -> String {
    let buf = LOG.get().expect("capture_log first");
    String::from_utf8_lossy(&buf.lock().unwrap()).into_owned()
}

/// Logged lines containing every one of `parts`.
fn lines_with(parts: &[&str]) -> Vec<String> {
    logged()
        .lines()
        .filter(|l| parts.iter().all(|p| l.contains(p)))
        .map(str::to_owned)
        .collect()
}

// --- server and client ----------------------------------------------------------------------

/// Small delays and a short lockout, so the whole cycle fits in a test.
fn throttle_limits() -> Limits {
    let mut l = Limits::default();
    l.logon_free_failures = 2;
    l.logon_base_delay = Duration::from_millis(100);
    l.logon_max_delay = Duration::from_millis(400);
    l.logon_lockout_after = 8;
    l.logon_lockout = Duration::from_secs(2);
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

/// One TLS connection from a chosen loopback source address, sending MAPI/HTTP PINGs.
struct Client {
    sender: SendRequest<Full<Bytes>>,
    path: String,
    counter: u64,
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    took: Duration,
}

impl Answer {
    fn offers(&self) -> Vec<String> {
        self.headers
            .get_all("www-authenticate")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }
}

impl Client {
    async fn connect(ts: &TestServer, from: [u8; 4], mailbox: &UserRecord) -> Self {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::from((from, 0))).unwrap();
        let tcp = socket.connect(ts.server.local_addr()).await.unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        let der: rustls_pki_types::CertificateDer<'_> =
            rustls_pki_types::pem::PemObject::from_pem_slice(ts.server.cert_pem().as_bytes())
                .unwrap();
        roots.add(der.into_owned()).unwrap();
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let name = rustls_pki_types::ServerName::try_from("127.0.0.1").unwrap();
        let tls = connector.connect(name, tcp).await.unwrap();
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .unwrap();
        tokio::spawn(conn);
        Self {
            sender,
            path: format!(
                "/mapi/emsmdb/?MailboxId={}",
                mailbox.personalized_server_name
            ),
            counter: 0,
        }
    }

    async fn ping(&mut self, auth: Option<&str>) -> Answer {
        self.counter += 1;
        let mut b = Request::post(self.path.as_str())
            .header("host", "127.0.0.1")
            .header("content-type", "application/mapi-http")
            .header("x-requesttype", "PING")
            .header(
                "x-requestid",
                format!("{{E2EA6C1C-E61B-49E9-9CFB-38184F907552}}:{}", self.counter),
            )
            .header("x-clientinfo", "{2EF33C39-49C8-421C-B876-CDF7F2AC3AA0}:1");
        if let Some(a) = auth {
            b = b.header("authorization", a);
        }
        let started = Instant::now();
        self.sender.ready().await.unwrap();
        let resp = self
            .sender
            .send_request(b.body(Full::new(Bytes::new())).unwrap())
            .await
            .unwrap();
        let (parts, body) = resp.into_parts();
        let body = body.collect().await.unwrap().to_bytes();
        Answer {
            status: parts.status,
            headers: parts.headers,
            body,
            took: started.elapsed(),
        }
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

// --- throttling ---------------------------------------------------------------------------

/// 500 wrong passwords for alice from 127.0.0.2 over four connections: the answers slow
/// down, then the account and the address lock; bob, on 127.0.0.1, is served throughout, and
/// much faster than the attacker's delayed answers (the delay is an async sleep, no worker
/// thread waits). Few failures are logged (none during the lockout), never a password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_wrong_passwords_lock_the_account_and_spare_everyone_else() {
    capture_log();
    let limits = throttle_limits();
    let ts = start_with(limits.clone()).await;
    let bob_auth = basic("bob", BOB_PASSWORD);
    let mut bob = Client::connect(&ts, LOCAL, &ts.bob).await;
    let mut baseline = Vec::new();
    for _ in 0..10 {
        let a = bob.ping(Some(&bob_auth)).await;
        assert_eq!(a.status, 200);
        baseline.push(a.took);
    }

    let mut attackers = Vec::new();
    for k in 0..4 {
        let mut c = Client::connect(&ts, [127, 0, 0, 2], &ts.alice).await;
        attackers.push(tokio::spawn(async move {
            let mut took = Vec::new();
            for i in 0..125 {
                let a = c
                    .ping(Some(&basic("alice", &format!("guess-{k}-{i}"))))
                    .await;
                assert_eq!(a.status, 401);
                took.push(a.took);
            }
            took
        }));
    }
    let done = Arc::new(AtomicBool::new(false));
    let served = {
        let done = done.clone();
        let bob_auth = bob_auth.clone();
        tokio::spawn(async move {
            let mut took = Vec::new();
            while !done.load(Ordering::SeqCst) {
                let a = bob.ping(Some(&bob_auth)).await;
                assert_eq!(a.status, 200, "bob refused during the attack");
                took.push(a.took);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            (bob, took)
        })
    };
    let mut attack = Vec::new();
    for a in attackers {
        attack.extend(a.await.unwrap());
    }
    done.store(true, Ordering::SeqCst);
    let (mut bob, during) = served.await.unwrap();
    assert_eq!(attack.len(), 500);
    assert!(!during.is_empty());
    let slowest = attack.iter().max().copied().unwrap();
    let (base, loaded) = (median(baseline), median(during.clone()));
    eprintln!(
        "bob unloaded median {base:?}; during the attack median {loaded:?}, max {:?} over {} \
         requests; slowest attacker answer {slowest:?}",
        during.iter().max().unwrap(),
        during.len()
    );
    assert!(
        loaded * 4 < slowest,
        "bob ({loaded:?}) was not served much faster than the delayed attacker ({slowest:?})"
    );
    assert_eq!(bob.ping(Some(&bob_auth)).await.status, 200);

    // The lockouts were logged, and the failures before them, each with user and address.
    let account_locks = lines_with(&[
        "account locked out",
        "account=\"alice\"",
        "client=127.0.0.2",
    ])
    .len();
    let address_locks = lines_with(&["client address locked out", "client=127.0.0.2"]).len();
    assert!(account_locks >= 1 && address_locks >= 1, "{}", logged());
    let failures = lines_with(&[
        "failed logon",
        "user=\"alice\"",
        "client=127.0.0.2",
        "Basic",
    ]);
    assert!(!failures.is_empty());
    assert!(failures.iter().all(|l| l.contains("WARN")));
    // At most lockout_after per lockout, plus failures racing the one that locked.
    let bound = account_locks * (limits.logon_lockout_after as usize + 4);
    assert!(
        failures.len() <= bound,
        "{} failures logged",
        failures.len()
    );
    assert!(!logged().contains("guess-"), "a password reached the log");
    ts.server.shutdown().await;
}

/// A sequential attacker (127.0.0.3) locks carol after exactly `logon_lockout_after`
/// failures; during the lockout carol's right password from 127.0.0.1 gets the very same 401
/// as a wrong one, without being checked; after the window it works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_right_password_is_refused_during_the_lockout_and_works_after_it() {
    capture_log();
    let limits = throttle_limits();
    let ts = start_with(limits.clone()).await;
    let carol_password = "carol-Pa55";
    let carol = ts
        .server
        .store()
        .add_user("carol", "Carol Cat", carol_password)
        .unwrap();
    let right = basic("carol", carol_password);
    let mut attacker = Client::connect(&ts, [127, 0, 0, 3], &carol).await;
    let mut local = Client::connect(&ts, LOCAL, &carol).await;
    let lock_lines = || lines_with(&["account locked out", "account=\"carol\""]).len();
    for round in 0..4 {
        assert!(round < 3, "never answered within a 2 s lockout window");
        let mut sent = 0;
        let (lock_sent, lock_answered, wrong) = loop {
            let before = lock_lines();
            let t0 = Instant::now();
            let a = attacker
                .ping(Some(&basic("carol", &format!("nope-{round}-{sent}"))))
                .await;
            sent += 1;
            assert_eq!(a.status, 401);
            if lock_lines() > before {
                break (t0, Instant::now(), a);
            }
            assert!(sent < limits.logon_lockout_after, "no lockout after {sent}");
        };
        assert_eq!(sent, limits.logon_lockout_after);
        let refused = local.ping(Some(&right)).await;
        // The lockout started after `lock_sent`; an answer back before `lock_sent + lockout`
        // was given inside it.
        if Instant::now() < lock_sent + limits.logon_lockout {
            assert_eq!(refused.status, 401);
            assert_eq!(refused.offers(), wrong.offers());
            assert_eq!(refused.body, wrong.body);
            let quiet = lines_with(&[
                "logon refused: locked out",
                "user=\"carol\"",
                "client=127.0.0.1",
            ]);
            assert!(
                !quiet.is_empty(),
                "refused for the lockout, not the password"
            );
            let after = lock_answered + limits.logon_lockout + Duration::from_millis(50);
            tokio::time::sleep_until(after.into()).await;
            let ok = local.ping(Some(&right)).await;
            assert_eq!(ok.status, 200, "the right password after the lockout");
            assert_eq!(ok.headers.get("x-responsecode").unwrap(), "0");
            // The attacker's address is free again too: a wrong password is a plain failure.
            let a = attacker.ping(Some(&basic("carol", "again"))).await;
            assert_eq!(a.status, 401);
            break;
        }
        let after = lock_answered + limits.logon_lockout + Duration::from_millis(50);
        tokio::time::sleep_until(after.into()).await;
    }
    ts.server.shutdown().await;
}

/// The warn line of a failed logon names the user (sanitized) and the client address, never
/// the password or the Authorization header.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_logon_is_logged_with_user_and_address_but_not_the_password() {
    capture_log();
    let ts = start().await;
    let mut c = Client::connect(&ts, [127, 0, 0, 4], &ts.alice).await;
    let password = "Tr0ub4dor&3-unique-4711";
    let header = basic("alice", password);
    assert_eq!(c.ping(Some(&header)).await.status, 401);
    let forged = basic("mallory\r\nINFO forged line", "x");
    assert_eq!(c.ping(Some(&forged)).await.status, 401);

    let line = lines_with(&["failed logon", "user=\"alice\"", "client=127.0.0.4"]);
    assert_eq!(line.len(), 1, "{}", logged());
    assert!(
        line[0].contains("WARN") && line[0].contains("Basic"),
        "{}",
        line[0]
    );
    let log = logged();
    assert!(!log.contains(password), "password in the log");
    assert!(!log.contains(header.trim_start_matches("Basic ")));
    let sanitized = lines_with(&["failed logon", "client=127.0.0.4", "mallory"]);
    assert_eq!(sanitized.len(), 1, "{log}");
    assert!(
        sanitized[0].contains("mallory??INFO forged line"),
        "{}",
        sanitized[0]
    );
    assert!(!log.lines().any(|l| l.starts_with("INFO forged line")));
    ts.server.shutdown().await;
}

/// A full Negotiate handshake on `c`: the final answer.
async fn negotiate_handshake(c: &mut Client, user: &str, password: &str) -> Answer {
    let mut step = negotiate_client(user, "TESTDOM", password);
    let init = B64.encode(step(None));
    let a = c.ping(Some(&format!("Negotiate {init}"))).await;
    assert_eq!(a.status, 401);
    let token = a
        .headers
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Negotiate "))
        .map(|v| B64.decode(v).unwrap())
        .expect("a Negotiate continuation");
    let authenticate = B64.encode(step(Some(token)));
    c.ping(Some(&format!("Negotiate {authenticate}"))).await
}

/// Negotiate failures count for the account and the address like Basic ones; Bearer failures
/// for the address only (a token names no account): a valid token from a locked-out address
/// is refused, the same token from another address works even while its user is locked out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negotiate_and_bearer_failures_are_throttled_too() {
    capture_log();
    let mut limits = Limits::default();
    // No delays, and a lockout far longer than this test.
    limits.logon_free_failures = 8;
    limits.logon_lockout_after = 8;
    limits.logon_lockout = Duration::from_secs(600);
    let ts = start_with(limits.clone()).await;

    let mut attacker = Client::connect(&ts, [127, 0, 0, 5], &ts.alice).await;
    for _ in 0..limits.logon_lockout_after {
        let a = negotiate_handshake(&mut attacker, "alice", "negotiate-guess").await;
        assert_eq!(a.status, 401);
    }
    let failed = lines_with(&[
        "failed logon",
        "\"Negotiate\"",
        "TESTDOM",
        "alice",
        "client=127.0.0.5",
    ]);
    assert_eq!(
        failed.len(),
        limits.logon_lockout_after as usize,
        "{}",
        logged()
    );
    assert_eq!(
        lines_with(&[
            "account locked out",
            "account=\"alice\"",
            "client=127.0.0.5"
        ])
        .len(),
        1
    );
    assert_eq!(
        lines_with(&["client address locked out", "client=127.0.0.5"]).len(),
        1
    );
    // Alice's right password from elsewhere: refused while her account is locked.
    let mut local = Client::connect(&ts, LOCAL, &ts.alice).await;
    let a = negotiate_handshake(&mut local, "alice", ALICE_PASSWORD).await;
    assert_eq!(a.status, 401);
    assert!(
        !lines_with(&["logon refused: locked out", "Negotiate", "client=127.0.0.1"]).is_empty()
    );

    // Bearer: unknown tokens lock the address only.
    let token = ts
        .server
        .store()
        .issue_token("alice", HOUR)
        .unwrap()
        .unwrap();
    let valid = format!("Bearer {}", token.token());
    let mut attacker = Client::connect(&ts, [127, 0, 0, 6], &ts.alice).await;
    let mut refused = Vec::new();
    for i in 0..limits.logon_lockout_after {
        let a = attacker
            .ping(Some(&format!("Bearer oxmapi_guess{i:040}")))
            .await;
        assert_eq!(a.status, 401);
        refused.push((a.offers(), a.body));
    }
    assert_eq!(
        lines_with(&["client address locked out", "client=127.0.0.6"]).len(),
        1
    );
    let a = attacker.ping(Some(&valid)).await;
    assert_eq!(a.status, 401, "a valid token from a locked-out address");
    assert_eq!((a.offers(), a.body), refused[0]);
    let a = local.ping(Some(&valid)).await;
    assert_eq!(a.status, 200, "the token from another address");
    ts.server.shutdown().await;
}

// --- per-request and per-connection binding -----------------------------------------------

/// Basic and Bearer authenticate the request that carries them, on both endpoints: the
/// next request on the same connection without the header is refused.
#[tokio::test]
async fn basic_and_bearer_authenticate_one_request_only() {
    capture_log();
    let ts = start().await;
    let token = ts
        .server
        .store()
        .issue_token("alice", HOUR)
        .unwrap()
        .unwrap();
    for auth in [
        basic("alice", ALICE_PASSWORD),
        format!("Bearer {}", token.token()),
    ] {
        let mut m = Mapi::new(&ts, "emsmdb", &ts.alice, ALICE_PASSWORD).await;
        m.auth = Some(auth.clone());
        let r = m.post("PING", Vec::new()).await;
        assert_eq!((r.status.as_u16(), r.response_code()), (200, Some(0)));
        m.auth = None;
        let r = m.post("PING", Vec::new()).await;
        assert_eq!(
            r.status, 401,
            "{auth:.6}: the identity stuck to the connection"
        );

        // The RPC proxy the same (an echo request, MS-RPCH 2.1.2.1.5).
        let mut conn = Conn::open(&ts.server).await;
        let echo = |auth: Option<&str>| {
            let mut b = Request::builder()
                .method("RPC_IN_DATA")
                .uri(format!(
                    "/rpc/rpcproxy.dll?{}:6004",
                    ts.alice.personalized_server_name
                ))
                .header("host", "127.0.0.1")
                .header("content-length", "0");
            if let Some(a) = auth {
                b = b.header("authorization", a);
            }
            b.body(Full::new(Bytes::new())).unwrap()
        };
        assert_eq!(conn.send(echo(Some(&auth))).await.status, 200);
        assert_eq!(conn.send(echo(None)).await.status, 401);
    }
    ts.server.shutdown().await;
}

/// sspi's NTLM client: NEGOTIATE for `None`, AUTHENTICATE for the CHALLENGE.
fn ntlm_client(user: &str, password: &str) -> impl FnMut(Option<Vec<u8>>) -> Vec<u8> {
    use sspi::{
        AuthIdentity, BufferType, ClientRequestFlags, CredentialUse, DataRepresentation, Ntlm,
        SecurityBuffer, Sspi, SspiImpl, Username,
    };
    let mut ntlm = Ntlm::new();
    let identity = AuthIdentity {
        username: Username::parse(user).unwrap(),
        password: password.to_owned().into(),
    };
    let mut creds = ntlm
        .acquire_credentials_handle()
        .with_credential_use(CredentialUse::Outbound)
        .with_auth_data(&identity)
        .execute(&mut ntlm)
        .unwrap()
        .credentials_handle;
    move |input| {
        let mut out = vec![SecurityBuffer::new(Vec::new(), BufferType::Token)];
        let mut inp = input
            .map(|b| vec![SecurityBuffer::new(b, BufferType::Token)])
            .unwrap_or_default();
        let mut builder = ntlm
            .initialize_security_context()
            .with_credentials_handle(&mut creds)
            .with_context_requirements(ClientRequestFlags::ALLOCATE_MEMORY)
            .with_target_data_representation(DataRepresentation::Native)
            .with_target_name("HTTP/127.0.0.1")
            .with_output(&mut out);
        if !inp.is_empty() {
            builder = builder.with_input(&mut inp);
        }
        ntlm.initialize_security_context_impl(&mut builder)
            .unwrap()
            .resolve_to_result()
            .unwrap();
        out.remove(0).buffer
    }
}

/// A full NTLM handshake on `m`: the final answer and the AUTHENTICATE message sent.
async fn ntlm_handshake(m: &mut Mapi, user: &str, password: &str) -> (Resp, String) {
    let mut step = ntlm_client(user, password);
    let negotiate = B64.encode(step(None));
    m.auth = Some(format!("NTLM {negotiate}"));
    let r = m.post("PING", Vec::new()).await;
    assert_eq!(r.status, 401);
    let challenge = r
        .header("www-authenticate")
        .and_then(|v| v.strip_prefix("NTLM "))
        .map(|v| B64.decode(v).unwrap())
        .expect("an NTLM challenge");
    let authenticate = B64.encode(step(Some(challenge)));
    m.auth = Some(format!("NTLM {authenticate}"));
    (m.post("PING", Vec::new()).await, authenticate)
}

/// NTLM keeps its connection binding after a completed handshake; an AUTHENTICATE without
/// its NEGOTIATE, a failed AUTHENTICATE or a failed Basic logon on that connection clear it.
#[tokio::test]
async fn ntlm_binds_the_connection_only_after_a_completed_handshake() {
    capture_log();
    let ts = start().await;
    let mut m = Mapi::new(&ts, "emsmdb", &ts.alice, ALICE_PASSWORD).await;
    let mut blobs = Vec::new();
    let bound = |r: &Resp| r.status == 200 && r.response_code() == Some(0);

    let (r, authenticate) = ntlm_handshake(&mut m, "alice", ALICE_PASSWORD).await;
    assert!(bound(&r));
    m.auth = None;
    assert!(
        bound(&m.post("PING", Vec::new()).await),
        "kept after the handshake"
    );

    // The same AUTHENTICATE again, without a NEGOTIATE before it.
    m.auth = Some(format!("NTLM {authenticate}"));
    assert_eq!(m.post("PING", Vec::new()).await.status, 401);
    m.auth = None;
    assert_eq!(m.post("PING", Vec::new()).await.status, 401, "cleared");
    blobs.push(authenticate);

    // A new handshake authenticates again; a failed one clears it.
    let (r, authenticate) = ntlm_handshake(&mut m, "alice", ALICE_PASSWORD).await;
    assert!(bound(&r));
    blobs.push(authenticate);
    let (r, authenticate) = ntlm_handshake(&mut m, "alice", "wrong-ntlm-password").await;
    assert_eq!(r.status, 401);
    blobs.push(authenticate);
    m.auth = None;
    assert_eq!(m.post("PING", Vec::new()).await.status, 401, "cleared");

    // A failed Basic logon on an NTLM-authenticated connection clears it too.
    let (r, authenticate) = ntlm_handshake(&mut m, "alice", ALICE_PASSWORD).await;
    assert!(bound(&r));
    blobs.push(authenticate);
    m.auth = Some(basic("alice", "wrong"));
    assert_eq!(m.post("PING", Vec::new()).await.status, 401);
    m.auth = None;
    assert_eq!(m.post("PING", Vec::new()).await.status, 401, "cleared");

    // The failed AUTHENTICATE is logged with the user it named, without any NTLM message.
    let failed = lines_with(&["failed logon", "\"NTLM\"", "alice", "client=127.0.0.1"]);
    assert!(failed.len() >= 2, "{}", logged());
    let log = logged();
    for blob in &blobs {
        assert!(!log.contains(blob.as_str()), "an NTLM message in the log");
    }
    assert!(!log.contains("wrong-ntlm-password"));
    ts.server.shutdown().await;
}

// --- bearer -------------------------------------------------------------------------------

/// Expired, revoked and unknown tokens get byte-identical answers; only the debug log says
/// which, and never with the token.
#[tokio::test]
async fn refused_bearer_tokens_all_get_the_same_answer() {
    capture_log();
    let ts = start().await;
    let issue = |lifetime| {
        ts.server
            .store()
            .issue_token("alice", lifetime)
            .unwrap()
            .unwrap()
            .token()
            .to_owned()
    };
    let expired = issue(Duration::ZERO);
    let revoked = issue(HOUR);
    assert!(ts.server.store().revoke_token(&revoked).unwrap());
    let unknown = "oxmapi_neverIssuedByThisServer0123456789abcdefg".to_owned();
    let mut answers = Vec::new();
    for t in [&expired, &revoked, &unknown] {
        let mut m = Mapi::new(&ts, "emsmdb", &ts.alice, ALICE_PASSWORD).await;
        m.auth = Some(format!("Bearer {t}"));
        let r = m.post("PING", Vec::new()).await;
        assert_eq!(r.status, 401);
        let offers: Vec<String> = r
            .headers
            .get_all("www-authenticate")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        assert!(
            offers
                .iter()
                .any(|o| o.starts_with("Bearer ") && o.contains("error=\"invalid_token\"")),
            "{offers:?}"
        );
        assert!(!offers.iter().any(|o| o.contains(t.as_str())));
        answers.push((offers, r.body.clone()));
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[1], answers[2]);
    for reason in ["expired", "revoked", "not issued by this server"] {
        let lines = lines_with(&["bearer token refused", reason]);
        assert!(!lines.is_empty(), "{reason}");
        assert!(lines.iter().all(|l| l.contains("DEBUG")));
    }
    let log = logged();
    for t in [&expired, &revoked, &unknown] {
        assert!(!log.contains(t.as_str()), "a token in the log");
    }
    ts.server.shutdown().await;
}

// --- RPC/HTTP virtual connection cookies ---------------------------------------------------

/// Opens an OUT channel with CONN/A1 for `vc` and waits for its `200`, so the channel is
/// registered; returns it with the bytes already read after the head.
async fn open_out(ts: &TestServer, query: &str, auth: &str, vc: Uuid) -> OutReader {
    let mut out = tls(ts).await;
    request_head(&mut out, "RPC_OUT_DATA", query, auth, 76, true).await;
    let (head, _) = read_head(&mut out).await;
    assert!(head.starts_with("HTTP/1.1 100 Continue\r\n"), "{head}");
    let a1 = RtsPdu::conn_a1(vc, Uuid([2; 16]), 0x4_0000)
        .to_bytes()
        .unwrap();
    out.write_all(&a1).await.unwrap();
    let (head, rest) = read_head(&mut out).await;
    assert!(head.starts_with("HTTP/1.1 200 Success\r\n"), "{head}");
    let mut framer = PduFramer::new();
    framer.push(&rest);
    OutReader { s: out, framer }
}

/// Sends the IN channel request and CONN/B1 for `vc`.
async fn send_in(ts: &TestServer, query: &str, auth: &str, vc: Uuid) -> Tls {
    let mut input = tls(ts).await;
    request_head(&mut input, "RPC_IN_DATA", query, auth, 1 << 30, true).await;
    let (head, _) = read_head(&mut input).await;
    assert!(head.starts_with("HTTP/1.1 100 Continue\r\n"), "{head}");
    let b1 = RtsPdu::conn_b1(vc, Uuid([3; 16]), 1 << 30, 300_000, Uuid([4; 16]));
    input.write_all(&b1.to_bytes().unwrap()).await.unwrap();
    input.flush().await.unwrap();
    input
}

/// Pairs alice's IN channel with her pending OUT channel and binds NSPI over it.
async fn alice_pairs_and_binds(ts: &TestServer, query: &str, vc: Uuid, mut out: OutReader) {
    let input = send_in(ts, query, &basic("alice", ALICE_PASSWORD), vc).await;
    let a3 = RtsPdu::from_bytes(&out.next().await.unwrap()).unwrap();
    assert_eq!(a3.kind(), RtsKind::ConnA3);
    let c2 = RtsPdu::from_bytes(&out.next().await.unwrap()).unwrap();
    assert_eq!(c2.kind(), RtsKind::ConnC1OrC2, "alice's channel was paired");
    let mut vc = Vc {
        input,
        out,
        call_id: 1,
    };
    let ack = vc.bind(SyntaxId::NSPI).await;
    assert!(matches!(ack.body, PduBody::BindAck(_)), "{ack:?}");
}

/// Bob presenting alice's pending virtual connection cookie, on an IN channel (claim) or on an
/// OUT channel (replacement), is refused; alice's OUT channel survives and pairs.
#[tokio::test]
async fn another_users_vc_cookie_is_refused_and_the_owners_channel_keeps_working() {
    capture_log();
    let ts = start().await;
    let alice_query = format!("{}:6004", ts.alice.personalized_server_name);
    let bob_query = format!("{}:6004", ts.bob.personalized_server_name);
    let bob_auth = basic("bob", BOB_PASSWORD);

    // Bob's IN channel claims alice's cookie: his channel ends, hers is untouched.
    let vc = Uuid([0x11; 16]);
    let out = open_out(&ts, &alice_query, &basic("alice", ALICE_PASSWORD), vc).await;
    let mut bob_in = send_in(&ts, &bob_query, &bob_auth, vc).await;
    let (mut head, _) = read_head(&mut bob_in).await;
    if head.starts_with("HTTP/1.1 100 ") {
        head = read_head(&mut bob_in).await.0;
    }
    assert!(head.starts_with("HTTP/1.0 503 RPC Error: 5\r\n"), "{head}");
    alice_pairs_and_binds(&ts, &alice_query, vc, out).await;

    // Bob's OUT channel under alice's pending cookie: refused (503 access denied).
    let vc = Uuid([0x22; 16]);
    let out = open_out(&ts, &alice_query, &basic("alice", ALICE_PASSWORD), vc).await;
    let mut bob_out = tls(&ts).await;
    request_head(
        &mut bob_out,
        "RPC_OUT_DATA",
        &bob_query,
        &bob_auth,
        76,
        true,
    )
    .await;
    let (head, _) = read_head(&mut bob_out).await;
    assert!(head.starts_with("HTTP/1.1 100 Continue\r\n"), "{head}");
    let a1 = RtsPdu::conn_a1(vc, Uuid([5; 16]), 0x4_0000)
        .to_bytes()
        .unwrap();
    bob_out.write_all(&a1).await.unwrap();
    let (head, _) = read_head(&mut bob_out).await;
    assert!(head.starts_with("HTTP/1.0 503 RPC Error: 5\r\n"), "{head}");
    alice_pairs_and_binds(&ts, &alice_query, vc, out).await;

    assert!(!lines_with(&["rpc in channel refused", "another user"]).is_empty());
    assert!(!lines_with(&["rpc out channel refused", "another user"]).is_empty());
    ts.server.shutdown().await;
}
