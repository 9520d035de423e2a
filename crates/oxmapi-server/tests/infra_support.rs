//! Shared test client for the `infra_*` and `nspi_*` suites: the server on 127.0.0.1:0 in a
//! temporary directory, and a raw HTTP/1.1-over-TLS client (hyper client conn + tokio-rustls)
//! that builds MAPI/HTTP requests by hand.
#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;

use base64::Engine;
use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use oxmapi_server::store::UserRecord;
use oxmapi_server::{RunningServer, ServerConfig};

pub const ALICE_PASSWORD: &str = "Passw0rd!";
pub const BOB_PASSWORD: &str = "hunter2";

pub struct TestServer {
    pub server: RunningServer,
    pub dir: tempfile::TempDir,
    pub alice: UserRecord,
    pub bob: UserRecord,
}

pub async fn start() -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::new(dir.path());
    config.listen = "127.0.0.1:0".parse().unwrap();
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

/// One TLS connection (the server's certificate is the only trust anchor).
pub struct Conn {
    sender: SendRequest<Full<Bytes>>,
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn response_code(&self) -> Option<u32> {
        self.header("x-responsecode").and_then(|v| v.parse().ok())
    }

    /// The binary body after `PROCESSING\r\n`, `DONE\r\n`, additional headers and a blank line
    /// (MS-OXCMAPIHTTP 2.2.7).
    pub fn mapi_body(&self) -> &[u8] {
        let b = &self.body[..];
        assert!(b.starts_with(b"PROCESSING\r\nDONE\r\n"), "framing: {b:?}");
        let end = b.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        &b[end + 4..]
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
            .collect()
    }
}

impl Conn {
    pub async fn open(server: &RunningServer) -> Self {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        let der = rustls_pki_types::CertificateDer::from(
            rustls_pki_types::pem::PemObject::from_pem_slice(server.cert_pem().as_bytes())
                .map(|c: rustls_pki_types::CertificateDer<'_>| c.to_vec())
                .unwrap(),
        );
        roots.add(der).unwrap();
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let tcp = tokio::net::TcpStream::connect(server.local_addr())
            .await
            .unwrap();
        let name = rustls_pki_types::ServerName::try_from("127.0.0.1").unwrap();
        let tls = connector.connect(name, tcp).await.unwrap();
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .unwrap();
        tokio::spawn(conn);
        Self { sender }
    }

    pub async fn send(&mut self, req: Request<Full<Bytes>>) -> Resp {
        // The connection task may still be finishing the previous exchange (multi-thread
        // runtimes): wait until it can take the next request.
        self.sender.ready().await.unwrap();
        let resp = self.sender.send_request(req).await.unwrap();
        let (parts, body) = resp.into_parts();
        let body = body.collect().await.unwrap().to_bytes();
        Resp {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }
}

pub fn basic(user: &str, password: &str) -> String {
    let b = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {b}")
}

/// One MAPI/HTTP session context: its path, auth, X-RequestId GUID/counter and cookies.
pub struct Mapi {
    pub conn: Conn,
    pub path: String,
    pub auth: Option<String>,
    pub request_guid: String,
    pub counter: u64,
    pub cookies: Vec<String>,
    pub skip_header: Option<&'static str>,
}

impl Mapi {
    pub async fn new(ts: &TestServer, endpoint: &str, user: &UserRecord, password: &str) -> Self {
        Self {
            conn: Conn::open(&ts.server).await,
            path: format!(
                "/mapi/{endpoint}/?MailboxId={}",
                user.personalized_server_name
            ),
            auth: Some(basic(&user.alias, password)),
            request_guid: "{E2EA6C1C-E61B-49E9-9CFB-38184F907552}".to_owned(),
            counter: 0,
            cookies: Vec::new(),
            skip_header: None,
        }
    }

    pub async fn post(&mut self, request_type: &str, body: Vec<u8>) -> Resp {
        self.counter += 1;
        let mut b = Request::post(self.path.as_str())
            .header("host", "127.0.0.1")
            .header("content-type", "application/mapi-http")
            .header("x-requesttype", request_type)
            .header(
                "x-requestid",
                format!("{}:{}", self.request_guid, self.counter),
            )
            .header("x-clientinfo", "{2EF33C39-49C8-421C-B876-CDF7F2AC3AA0}:1");
        if let Some(a) = &self.auth {
            b = b.header("authorization", a.as_str());
        }
        if !self.cookies.is_empty() {
            b = b.header("cookie", self.cookies.join("; "));
        }
        let mut req = b.body(Full::new(Bytes::from(body))).unwrap();
        if let Some(h) = self.skip_header {
            req.headers_mut().remove(h);
        }
        let resp = self.conn.send(req).await;
        for c in resp.set_cookies() {
            let name = c.split('=').next().unwrap().to_owned();
            self.cookies.retain(|x| !x.starts_with(&format!("{name}=")));
            self.cookies.push(c);
        }
        resp
    }
}

/// Little-endian byte builder for hand-made request bodies.
#[derive(Default)]
pub struct Bytes8(pub Vec<u8>);

impl Bytes8 {
    pub fn u8(mut self, v: u8) -> Self {
        self.0.push(v);
        self
    }
    pub fn u32(mut self, v: u32) -> Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn raw(mut self, b: &[u8]) -> Self {
        self.0.extend_from_slice(b);
        self
    }
    pub fn asciiz(self, s: &str) -> Self {
        self.raw(s.as_bytes()).u8(0)
    }
    pub fn utf16z(mut self, s: &str) -> Self {
        for u in s.encode_utf16() {
            self.0.extend_from_slice(&u.to_le_bytes());
        }
        self.0.extend_from_slice(&[0, 0]);
        self
    }
    /// MS-OXNSPI 2.2.8 STAT (SortType 0, ContainerID 0 = GAL, ...).
    pub fn stat(self, current_rec: u32, delta: i32, num_pos: u32) -> Self {
        self.u32(0)
            .u32(0)
            .u32(current_rec)
            .u32(delta as u32)
            .u32(num_pos)
            .u32(0)
            .u32(1252)
            .u32(0x409)
            .u32(0x409)
    }
    pub fn done(self) -> Vec<u8> {
        self.0
    }
}

/// Reads little-endian fields from a response body, asserting as it goes.
pub struct Rd<'a>(pub &'a [u8]);

impl Rd<'_> {
    pub fn u8(&mut self) -> u8 {
        let v = self.0[0];
        self.0 = &self.0[1..];
        v
    }
    pub fn u16(&mut self) -> u16 {
        let v = u16::from_le_bytes(self.0[..2].try_into().unwrap());
        self.0 = &self.0[2..];
        v
    }
    pub fn u32(&mut self) -> u32 {
        let v = u32::from_le_bytes(self.0[..4].try_into().unwrap());
        self.0 = &self.0[4..];
        v
    }
    pub fn raw(&mut self, n: usize) -> Vec<u8> {
        let v = self.0[..n].to_vec();
        self.0 = &self.0[n..];
        v
    }
    pub fn asciiz(&mut self) -> String {
        let n = self.0.iter().position(|&b| b == 0).unwrap();
        let s = String::from_utf8(self.0[..n].to_vec()).unwrap();
        self.0 = &self.0[n + 1..];
        s
    }
    pub fn utf16z(&mut self) -> String {
        let mut units = Vec::new();
        loop {
            let u = self.u16();
            if u == 0 {
                break;
            }
            units.push(u);
        }
        String::from_utf16(&units).unwrap()
    }
    pub fn end(&self) {
        assert!(self.0.is_empty(), "trailing bytes: {:?}", self.0);
    }
}

/// An empty slot of the Server object handle table.
pub const NULL: u32 = 0xFFFF_FFFF;

/// Connect request body (MS-OXCMAPIHTTP 2.2.4.1.1): UserDn, Flags, DefaultCodePage,
/// LcidSort, LcidString, AuxiliaryBufferSize 0.
pub fn connect_body(dn: &str) -> Vec<u8> {
    Bytes8::default()
        .asciiz(dn)
        .u32(0)
        .u32(1252)
        .u32(0x409)
        .u32(0x409)
        .u32(0)
        .done()
}

/// One EMSMDB session context with a private logon in handle 0 (suites add their own
/// methods in `impl support::Session` blocks).
pub struct Session {
    pub m: Mapi,
    pub logon: u32,
}

impl Session {
    /// Connect, then RopLogon (private mailbox) as `user`.
    pub async fn open(ts: &TestServer, user: &UserRecord, password: &str) -> Self {
        let mut m = Mapi::new(ts, "emsmdb", user, password).await;
        let r = m.post("Connect", connect_body(&user.legacy_dn)).await;
        assert_eq!(r.response_code(), Some(0));
        let mut s = Self { m, logon: NULL };
        let logon = oxmapi_wire::rop::LogonRequest {
            logon_id: 0,
            output_handle_index: 0,
            logon_flags: 0x01,
            open_flags: 0x0100_000C,
            store_state: 0,
            essdn: Some(user.legacy_dn.clone()),
        };
        let (r, h) = s.exec(vec![logon.into()], vec![NULL]).await;
        assert!(
            matches!(r[0], oxmapi_wire::rop::RopResponse::LogonPrivate(_)),
            "{r:?}"
        );
        s.logon = h[0];
        s
    }

    /// Execute (MS-OXCMAPIHTTP 2.2.4.2) with one uncompressed, unobfuscated segment.
    pub async fn exec(
        &mut self,
        rops: Vec<oxmapi_wire::rop::RopRequest>,
        handles: Vec<u32>,
    ) -> (Vec<oxmapi_wire::rop::RopResponse>, Vec<u32>) {
        self.exec_with_columns(rops, handles, |_, _| None).await
    }

    /// [`Session::exec`], with the columns of tables whose RopSetColumns is not in this
    /// request (for decoding RopQueryRows and table notifications).
    pub async fn exec_with_columns(
        &mut self,
        rops: Vec<oxmapi_wire::rop::RopRequest>,
        handles: Vec<u32>,
        known_columns: impl FnMut(usize, u8) -> Option<Vec<oxmapi_wire::data::PropertyTag>>,
    ) -> (Vec<oxmapi_wire::rop::RopResponse>, Vec<u32>) {
        use oxmapi_wire::rpcext::{PackOptions, pack_segment, unpack_segments};
        let req = oxmapi_wire::rop::RopRequestBuffer { rops, handles };
        let seg = pack_segment(
            &req.to_bytes().unwrap(),
            PackOptions {
                compress: false,
                xor: false,
                last: true,
            },
        )
        .unwrap();
        let body = Bytes8::default()
            .u32(0x3)
            .u32(seg.len() as u32)
            .raw(&seg)
            .u32(0x40000)
            .u32(0)
            .done();
        let r = self.m.post("Execute", body).await;
        assert_eq!(r.response_code(), Some(0));
        let mut b = Rd(r.mapi_body());
        assert_eq!(b.u32(), 0, "StatusCode");
        assert_eq!(b.u32(), 0, "ErrorCode");
        b.u32();
        let n = b.u32() as usize;
        let out = b.raw(n);
        let segs = unpack_segments(&out).unwrap();
        let contexts = req.response_contexts(known_columns).unwrap();
        let resp =
            oxmapi_wire::rop::RopResponseBuffer::decode(&segs[0].payload, &contexts).unwrap();
        (resp.rops, resp.handles)
    }
}

/// sspi's Negotiate client (SPNEGO with NTLM only, as the client transport without a KDC).
pub fn negotiate_client(
    user: &str,
    domain: &str,
    password: &str,
) -> impl FnMut(Option<Vec<u8>>) -> Vec<u8> {
    use sspi::ntlm::NtlmConfig;
    use sspi::{
        AuthIdentity, BufferType, ClientRequestFlags, CredentialUse, Credentials,
        DataRepresentation, Negotiate, NegotiateConfig, SecurityBuffer, Sspi, SspiImpl, Username,
    };
    let config = NegotiateConfig::new(
        Box::new(NtlmConfig::new("WS".to_owned())),
        Some("!kerberos,!pku2u,ntlm".to_owned()),
        "WS".to_owned(),
    );
    let mut ctx = Negotiate::new_client(config).unwrap();
    let identity = AuthIdentity {
        username: Username::new(user, Some(domain)).unwrap(),
        password: password.to_owned().into(),
    };
    let mut creds = ctx
        .acquire_credentials_handle()
        .with_credential_use(CredentialUse::Outbound)
        .with_auth_data(&Credentials::AuthIdentity(identity))
        .execute(&mut ctx)
        .unwrap()
        .credentials_handle;
    move |input| {
        let mut out = vec![SecurityBuffer::new(Vec::new(), BufferType::Token)];
        let mut inp = input
            .map(|b| vec![SecurityBuffer::new(b, BufferType::Token)])
            .unwrap_or_default();
        let mut builder = ctx
            .initialize_security_context()
            .with_credentials_handle(&mut creds)
            .with_context_requirements(
                ClientRequestFlags::ALLOCATE_MEMORY | ClientRequestFlags::INTEGRITY,
            )
            .with_target_data_representation(DataRepresentation::Native)
            .with_target_name("HTTP/127.0.0.1")
            .with_output(&mut out);
        if !inp.is_empty() {
            builder = builder.with_input(&mut inp);
        }
        ctx.initialize_security_context_impl(&mut builder)
            .unwrap()
            .resolve_to_result()
            .unwrap();
        out.remove(0).buffer
    }
}
