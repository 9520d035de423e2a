//! A small HTTPS test server: rustls (ring) with an rcgen certificate, hyper's per-connection
//! loop (so NTLM state lives with the connection), Basic/NTLM gates and scripted MAPI/HTTP
//! responses. Private to these tests.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Channel, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rustls::ServerConfig;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sspi::{
    AuthIdentity, BufferType, CredentialUse, DataRepresentation, Ntlm, SecurityBuffer,
    SecurityStatus, ServerRequestFlags, Sspi, SspiEx, SspiImpl, Username,
};
use tokio::net::TcpListener;

pub(crate) type Body = BoxBody<Bytes, Infallible>;

pub(crate) const USER: &str = "alice";
pub(crate) const DOMAIN: &str = "TESTDOM";
pub(crate) const PASSWORD: &str = "Passw0rd!";

/// How the server authenticates.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gate {
    None,
    Basic,
    Ntlm,
    /// NTLM, but the connection's authentication is forgotten after every request.
    NtlmForgetful,
}

/// What the MAPI handler answers.
#[derive(Clone)]
pub(crate) enum Script {
    /// PROCESSING, `pending` PENDINGs (one every 20 ms), DONE, headers, then the request body echoed.
    Echo { pending: usize },
    /// `X-ResponseCode: <code>` with a text body.
    ResponseCode(u32),
    /// An HTTP status.
    Status(u16),
    /// Never answer.
    Stall,
    /// Send PROCESSING, then never finish.
    StallBody,
}

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub(crate) struct Seen {
    pub(crate) conn: usize,
    pub(crate) headers: HeaderMap,
    pub(crate) status: u16,
}

pub(crate) struct TestServer {
    pub(crate) addr: SocketAddr,
    pub(crate) cert_pem: String,
    pub(crate) seen: Arc<Mutex<Vec<Seen>>>,
    pub(crate) connections: Arc<AtomicUsize>,
}

#[derive(Clone)]
struct Shared {
    gate: Gate,
    script: Script,
    seen: Arc<Mutex<Vec<Seen>>>,
    users: Arc<HashMap<String, String>>,
    cookie_counter: Arc<AtomicUsize>,
}

/// A certificate for `localhost` and `mail.test.local` (not for 127.0.0.1).
fn certificate() -> (String, CertificateDer<'static>, PrivateKeyDer<'static>) {
    let ck = rcgen::generate_simple_self_signed(vec![
        "localhost".to_owned(),
        "mail.test.local".to_owned(),
    ])
    .unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.signing_key.serialize_der()));
    (ck.cert.pem(), ck.cert.der().clone(), key)
}

impl TestServer {
    pub(crate) async fn start(gate: Gate, script: Script) -> Self {
        Self::start_with(gate, script, true).await
    }

    /// `keep_alive = false` closes every connection after one response.
    pub(crate) async fn start_with(gate: Gate, script: Script, keep_alive: bool) -> Self {
        let (cert_pem, cert, key) = certificate();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .unwrap();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let users = Arc::new(HashMap::from([(USER.to_owned(), PASSWORD.to_owned())]));
        let shared = Shared {
            gate,
            script,
            seen: seen.clone(),
            users,
            cookie_counter: Arc::default(),
        };
        let conns = connections.clone();
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let conn_id = conns.fetch_add(1, Ordering::SeqCst);
                let acceptor = acceptor.clone();
                let shared = shared.clone();
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let state = Arc::new(tokio::sync::Mutex::new(ConnState::default()));
                    let service = service_fn(move |req| {
                        let (shared, state) = (shared.clone(), state.clone());
                        async move { Ok::<_, Infallible>(handle(req, conn_id, &shared, &state).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .keep_alive(keep_alive)
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        Self {
            addr,
            cert_pem,
            seen,
            connections,
        }
    }

    pub(crate) fn url(&self, host: &str) -> String {
        format!("https://{host}:{}", self.addr.port())
    }

    pub(crate) fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

#[derive(Default)]
struct ConnState {
    acceptor: Option<NtlmAcceptor>,
    authenticated: bool,
}

async fn handle(
    req: Request<Incoming>,
    conn: usize,
    shared: &Shared,
    state: &tokio::sync::Mutex<ConnState>,
) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let response = match gate(&parts.headers, shared, &mut *state.lock().await) {
        Some(denied) => denied,
        None => mapi(&parts.headers, body, shared).await,
    };
    shared.seen.lock().unwrap().push(Seen {
        conn,
        headers: parts.headers,
        status: response.status().as_u16(),
    });
    response
}

fn full(data: impl Into<Bytes>) -> Body {
    Full::new(data.into()).boxed()
}

fn unauthorized(challenges: &[String]) -> Response<Body> {
    let mut builder = Response::builder().status(StatusCode::UNAUTHORIZED);
    for c in challenges {
        builder = builder.header("WWW-Authenticate", c);
    }
    builder.body(full("denied")).unwrap()
}

/// `None` = let the request through.
fn gate(headers: &HeaderMap, shared: &Shared, state: &mut ConnState) -> Option<Response<Body>> {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match shared.gate {
        Gate::None => None,
        Gate::Basic => {
            let expected = format!(
                "Basic {}",
                B64.encode(format!("{DOMAIN}\\{USER}:{PASSWORD}"))
            );
            (auth != expected).then(|| unauthorized(&["Basic realm=\"test\"".to_owned()]))
        }
        Gate::Ntlm | Gate::NtlmForgetful => {
            if state.authenticated && auth.is_empty() {
                state.authenticated = shared.gate == Gate::Ntlm;
                return None;
            }
            let Some(token) = auth.strip_prefix("NTLM ").and_then(|t| B64.decode(t).ok()) else {
                state.authenticated = false;
                return Some(unauthorized(&["Negotiate".to_owned(), "NTLM".to_owned()]));
            };
            let acceptor = state.acceptor.get_or_insert_with(NtlmAcceptor::new);
            match acceptor.step(token, &shared.users) {
                Ok((out, false)) => Some(unauthorized(&[format!("NTLM {}", B64.encode(out))])),
                Ok((_, true)) => {
                    state.acceptor = None;
                    state.authenticated = shared.gate == Gate::Ntlm;
                    None
                }
                Err(_) => {
                    state.acceptor = None;
                    Some(unauthorized(&["NTLM".to_owned()]))
                }
            }
        }
    }
}

async fn mapi(headers: &HeaderMap, body: Bytes, shared: &Shared) -> Response<Body> {
    let n = shared.cookie_counter.fetch_add(1, Ordering::SeqCst);
    let builder = Response::builder()
        .header("Set-Cookie", format!("MapiSequence={n}; path=/mapi/"))
        .header(
            "X-RequestId",
            headers
                .get("x-requestid")
                .cloned()
                .unwrap_or(http::HeaderValue::from_static("")),
        );
    let builder = if headers.get("cookie").is_none() {
        builder.header("Set-Cookie", "MapiContext=ctx-1; path=/mapi/; HttpOnly")
    } else {
        builder
    };
    match shared.script.clone() {
        Script::Status(code) => builder.status(code).body(full("nope")).unwrap(),
        Script::ResponseCode(code) => builder
            .header("X-ResponseCode", code.to_string())
            .body(full("<html>error</html>"))
            .unwrap(),
        Script::Stall => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            builder.body(full("")).unwrap()
        }
        Script::StallBody | Script::Echo { .. } => {
            let (mut tx, channel) = Channel::<Bytes, Infallible>::new(4);
            let pending = match shared.script {
                Script::Echo { pending } => Some(pending),
                _ => None,
            };
            tokio::spawn(async move {
                let _ = tx.send_data(Bytes::from_static(b"PROCESSING\r\n")).await;
                let Some(pending) = pending else {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    return;
                };
                for _ in 0..pending {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    let _ = tx.send_data(Bytes::from_static(b"PENDING\r\n")).await;
                }
                let mut done = b"DONE\r\nX-ElapsedTime: 1\r\nX-StartTime: now\r\n\r\n".to_vec();
                done.extend_from_slice(&body);
                let _ = tx.send_data(Bytes::from(done)).await;
            });
            builder
                .header("X-ResponseCode", "0")
                .header("X-PendingPeriod", "15000")
                .header("X-ExpirationInfo", "900000")
                .header("Content-Type", "application/mapi-http")
                .body(channel.boxed())
                .unwrap()
        }
    }
}

/// Server side of NTLM for several users: accept without credentials, look the user up when
/// sspi asks for completion, then complete (fails on a wrong password).
struct NtlmAcceptor {
    ntlm: Ntlm,
    handle: Option<sspi::AuthIdentityBuffers>,
}

impl NtlmAcceptor {
    fn new() -> Self {
        let mut ntlm = Ntlm::new();
        let handle = ntlm
            .acquire_credentials_handle()
            .with_credential_use(CredentialUse::Inbound)
            .execute(&mut ntlm)
            .unwrap()
            .credentials_handle;
        Self { ntlm, handle }
    }

    /// Returns (output token, authenticated).
    fn step(
        &mut self,
        token: Vec<u8>,
        users: &HashMap<String, String>,
    ) -> sspi::Result<(Vec<u8>, bool)> {
        let mut input = vec![SecurityBuffer::new(token, BufferType::Token)];
        let mut output = vec![SecurityBuffer::new(Vec::new(), BufferType::Token)];
        let builder = self
            .ntlm
            .accept_security_context()
            .with_credentials_handle(&mut self.handle)
            .with_context_requirements(ServerRequestFlags::ALLOCATE_MEMORY)
            .with_target_data_representation(DataRepresentation::Native)
            .with_input(&mut input)
            .with_output(&mut output);
        let status = self
            .ntlm
            .accept_security_context_impl(builder)?
            .resolve_to_result()?
            .status;
        if matches!(
            status,
            SecurityStatus::CompleteNeeded | SecurityStatus::CompleteAndContinue
        ) {
            let name = self.ntlm.query_context_names()?.username;
            let account = name.account_name().to_owned();
            let password = users.get(&account).cloned().unwrap_or_default();
            let username = Username::new(&account, Some(DOMAIN))?;
            self.ntlm.custom_set_auth_identity(AuthIdentity {
                username,
                password: password.into(),
            })?;
            self.ntlm.complete_auth_token(&mut output)?;
            return Ok((Vec::new(), true));
        }
        let out = output
            .into_iter()
            .next()
            .map(|b| b.buffer)
            .unwrap_or_default();
        Ok((out, status == SecurityStatus::Ok))
    }
}
