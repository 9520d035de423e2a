//! The attacker's network pieces: TCP from a chosen loopback source address, TLS trusting the
//! server's self-signed certificate, a small hyper HTTP/1.1 client, a MAPI/HTTP EMSMDB
//! session built from `oxmapi_wire` types, and an RPC over HTTP v2 virtual connection
//! (MS-RPCH 3.2.2.5.3: CONN/A1, B1, A3, C2) with fragmented DCE/RPC requests.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use oxmapi_wire::dcerpc::emsmdb::{
    EcDoConnectExRequest, EcDoConnectExResponse, OPNUM_EC_DO_CONNECT_EX,
};
use oxmapi_wire::dcerpc::framer::fragment_stub;
use oxmapi_wire::dcerpc::ndr::{ContextHandle, NdrCodec};
use oxmapi_wire::dcerpc::pdu::{Bind, PresentationContext, Request as RpcRequest};
use oxmapi_wire::dcerpc::rts::RtsKind;
use oxmapi_wire::dcerpc::{FrameStatus, Pdu, PduBody, PduFramer, RtsPdu, SyntaxId, Uuid};
use oxmapi_wire::mapihttp::Response;
use oxmapi_wire::mapihttp::emsmdb::{ConnectRequest, ExecuteRequest, ExecuteResponse};
use oxmapi_wire::rop::{RopRequest, RopRequestBuffer, RopResponse, RopResponseBuffer};
use oxmapi_wire::rpcext::{PackOptions, pack_segment, unpack_segments};
use oxmapi_wire::{Decode, Encode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_rustls::client::TlsStream;

use super::harness::User;

/// The attacker's source address: per-address caps and lockouts apply to it, not to the
/// normal client on 127.0.0.1.
pub(crate) const ATTACKER: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

/// Longest wait for any single answer from the server in the attacks' own requests.
pub(crate) const WAIT: Duration = Duration::from_secs(20);

/// The server under attack.
#[derive(Clone)]
pub(crate) struct Target {
    pub(crate) addr: SocketAddr,
    tls: tokio_rustls::TlsConnector,
}

pub(crate) type Tls = TlsStream<TcpStream>;

impl Target {
    pub(crate) fn new(addr: SocketAddr, cert_pem: &[u8]) -> Self {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        let der: rustls_pki_types::CertificateDer<'_> =
            rustls_pki_types::pem::PemObject::from_pem_slice(cert_pem)
                .expect("the server's cert.pem");
        roots.add(der.into_owned()).expect("a usable certificate");
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        Self {
            addr,
            tls: tokio_rustls::TlsConnector::from(Arc::new(config)),
        }
    }

    /// A TCP connection from `src` (port chosen by the kernel).
    pub(crate) async fn tcp(&self, src: IpAddr) -> io::Result<TcpStream> {
        self.tcp_with(src, None).await
    }

    /// A TCP connection from `src` whose receive buffer (SO_RCVBUF) is set to `recv_buffer`
    /// bytes before connecting, so that the window it advertises stays that small.
    pub(crate) async fn tcp_with(
        &self,
        src: IpAddr,
        recv_buffer: Option<u32>,
    ) -> io::Result<TcpStream> {
        let sock = TcpSocket::new_v4()?;
        if let Some(n) = recv_buffer {
            sock.set_recv_buffer_size(n)?;
        }
        sock.bind(SocketAddr::new(src, 0))?;
        tokio::time::timeout(WAIT, sock.connect(self.addr))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))?
    }

    /// A TLS connection from `src`.
    pub(crate) async fn tls(&self, src: IpAddr) -> io::Result<Tls> {
        self.tls_with(src, None).await
    }

    /// A TLS connection from `src` over [`Self::tcp_with`].
    pub(crate) async fn tls_with(&self, src: IpAddr, recv_buffer: Option<u32>) -> io::Result<Tls> {
        let tcp = self.tcp_with(src, recv_buffer).await?;
        let name = rustls_pki_types::ServerName::try_from("127.0.0.1").expect("server name");
        tokio::time::timeout(WAIT, self.tls.connect(name, tcp))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out"))?
    }
}

pub(crate) fn basic(user: &str, password: &str) -> String {
    let b = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {b}")
}

// --- HTTP/1.1 over TLS (hyper) ----------------------------------------------------------

/// One HTTP/1.1 connection.
pub(crate) struct Http {
    sender: SendRequest<Full<Bytes>>,
}

/// A whole response.
pub(crate) struct Resp {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Resp {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// X-ResponseCode (MS-OXCMAPIHTTP 2.2.3.3.3).
    pub(crate) fn response_code(&self) -> Option<u32> {
        self.header("x-responsecode").and_then(|v| v.parse().ok())
    }

    /// The binary body after the meta-tags and additional headers (MS-OXCMAPIHTTP 2.2.7).
    pub(crate) fn mapi_body(&self) -> Result<Vec<u8>, String> {
        oxmapi_wire::mapihttp::framing::parse_response(&self.body)
            .map(|(r, _)| r.body)
            .map_err(|e| format!("response framing: {e}"))
    }
}

impl Http {
    pub(crate) async fn open(target: &Target, src: IpAddr) -> Result<Self, String> {
        let tls = target
            .tls(src)
            .await
            .map_err(|e| format!("connecting: {e}"))?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| format!("HTTP handshake: {e}"))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Self { sender })
    }

    /// Sends a request and reads the whole response, within [`WAIT`].
    pub(crate) async fn send(&mut self, req: Request<Full<Bytes>>) -> Result<Resp, String> {
        let fut = async {
            self.sender
                .ready()
                .await
                .map_err(|e| format!("connection not ready: {e}"))?;
            let resp = self
                .sender
                .send_request(req)
                .await
                .map_err(|e| format!("request failed: {e}"))?;
            let (parts, body) = resp.into_parts();
            let body = body
                .collect()
                .await
                .map_err(|e| format!("reading the body: {e}"))?
                .to_bytes();
            Ok(Resp {
                status: parts.status,
                headers: parts.headers,
                body,
            })
        };
        tokio::time::timeout(WAIT, fut)
            .await
            .map_err(|_| format!("no response within {WAIT:?}"))?
    }
}

// --- MAPI/HTTP -------------------------------------------------------------------------

/// One MAPI/HTTP session context on one connection.
pub(crate) struct Mapi {
    pub(crate) http: Http,
    pub(crate) path: String,
    pub(crate) auth: Option<String>,
    pub(crate) cookies: Vec<String>,
    guid: String,
    counter: u64,
}

impl Mapi {
    /// A connection to `/mapi/<endpoint>/?MailboxId=...` as `user` (Basic auth).
    pub(crate) async fn open(
        target: &Target,
        src: IpAddr,
        endpoint: &str,
        user: &User,
    ) -> Result<Self, String> {
        Ok(Self {
            http: Http::open(target, src).await?,
            path: format!(
                "/mapi/{endpoint}/?MailboxId={}",
                user.personalized_server_name
            ),
            auth: Some(basic(&user.alias, &user.password)),
            cookies: Vec::new(),
            guid: format!("{{{}}}", uuid::Uuid::new_v4()).to_uppercase(),
            counter: 0,
        })
    }

    pub(crate) fn request(&mut self, request_type: &str, body: Vec<u8>) -> Request<Full<Bytes>> {
        self.counter += 1;
        let mut b = Request::post(self.path.as_str())
            .header("host", "127.0.0.1")
            .header("content-type", "application/mapi-http")
            .header("x-requesttype", request_type)
            .header("x-requestid", format!("{}:{}", self.guid, self.counter))
            .header("x-clientinfo", "{2EF33C39-49C8-421C-B876-CDF7F2AC3AA0}:1");
        if let Some(a) = &self.auth {
            b = b.header("authorization", a.as_str());
        }
        if !self.cookies.is_empty() {
            b = b.header("cookie", self.cookies.join("; "));
        }
        b.body(Full::new(Bytes::from(body)))
            .unwrap_or_else(|_| Request::new(Full::new(Bytes::new())))
    }

    pub(crate) async fn send(&mut self, req: Request<Full<Bytes>>) -> Result<Resp, String> {
        let resp = self.http.send(req).await?;
        for c in resp.headers.get_all("set-cookie") {
            let Ok(c) = c.to_str() else { continue };
            let Some(pair) = c.split(';').next() else {
                continue;
            };
            let name = pair.split('=').next().unwrap_or_default().to_owned();
            self.cookies.retain(|x| !x.starts_with(&format!("{name}=")));
            self.cookies.push(pair.to_owned());
        }
        Ok(resp)
    }

    pub(crate) async fn post(&mut self, request_type: &str, body: Vec<u8>) -> Result<Resp, String> {
        let req = self.request(request_type, body);
        self.send(req).await
    }

    /// EMSMDB Connect (MS-OXCMAPIHTTP 2.2.4.1) as `user`: a new session context.
    pub(crate) async fn connect(&mut self, user: &User) -> Result<(), String> {
        let body = ConnectRequest {
            user_dn: user.legacy_dn.clone(),
            flags: 0,
            default_code_page: 1252,
            lcid_sort: 0x409,
            lcid_string: 0x409,
            aux: Vec::new(),
        }
        .to_bytes()
        .map_err(|e| e.to_string())?;
        let r = self.post("Connect", body).await?;
        if r.status != StatusCode::OK || r.response_code() != Some(0) {
            return Err(format!(
                "Connect: HTTP {} X-ResponseCode {:?}",
                r.status,
                r.header("x-responsecode")
            ));
        }
        let body = r.mapi_body()?;
        let status = body.get(..8).map(|b| {
            (
                u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
                u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
            )
        });
        match status {
            Some((0, 0)) => Ok(()),
            other => Err(format!("Connect: StatusCode/ErrorCode {other:?}")),
        }
    }

    /// Execute (MS-OXCMAPIHTTP 2.2.4.2) with a hand-made RopBuffer.
    pub(crate) async fn execute_raw(&mut self, rop_buffer: Vec<u8>) -> Result<Resp, String> {
        let body = ExecuteRequest {
            flags: 0x3,
            rop_buffer,
            max_rop_out: 0x4_0000,
            aux: Vec::new(),
        }
        .to_bytes()
        .map_err(|e| e.to_string())?;
        self.post("Execute", body).await
    }

    /// Execute with ROPs in one uncompressed segment; the decoded answers and handle table.
    pub(crate) async fn execute(
        &mut self,
        rops: Vec<RopRequest>,
        handles: Vec<u32>,
    ) -> Result<(Vec<RopResponse>, Vec<u32>), String> {
        let req = RopRequestBuffer { rops, handles };
        let seg = pack_segment(
            &req.to_bytes().map_err(|e| e.to_string())?,
            PackOptions::default(),
        )
        .map_err(|e| e.to_string())?;
        let r = self.execute_raw(seg).await?;
        if r.status != StatusCode::OK || r.response_code() != Some(0) {
            return Err(format!(
                "Execute: HTTP {} X-ResponseCode {:?}",
                r.status,
                r.header("x-responsecode")
            ));
        }
        let ok = match ExecuteResponse::from_bytes(&r.mapi_body()?)
            .map_err(|e| format!("Execute response: {e}"))?
        {
            Response::Success(s) => s,
            Response::Failure(f) => return Err(format!("Execute StatusCode {}", f.status_code)),
        };
        if ok.error_code != 0 {
            return Err(format!("Execute ErrorCode {:#x}", ok.error_code));
        }
        let segs = unpack_segments(&ok.rop_buffer).map_err(|e| format!("RopBuffer: {e}"))?;
        let payload: Vec<u8> = segs.into_iter().flat_map(|s| s.payload).collect();
        let contexts = req
            .response_contexts(|_, _| Some(Vec::new()))
            .map_err(|e| format!("{e:?}"))?;
        let out = RopResponseBuffer::decode(&payload, &contexts)
            .map_err(|e| format!("ROP output buffer: {e}"))?;
        Ok((out.rops, out.handles))
    }
}

/// The StatusCode and (for StatusCode 0) ErrorCode of an Execute response body.
pub(crate) fn execute_codes(r: &Resp) -> Result<(u32, Option<u32>), String> {
    let body = r.mapi_body()?;
    match ExecuteResponse::from_bytes(&body).map_err(|e| format!("Execute response: {e}"))? {
        Response::Success(s) => Ok((0, Some(s.error_code))),
        Response::Failure(f) => Ok((f.status_code, None)),
    }
}

// --- RPC over HTTP v2 ------------------------------------------------------------------

/// Writes an RPC_IN_DATA / RPC_OUT_DATA request head.
pub(crate) async fn rpc_head(
    s: &mut Tls,
    method: &str,
    query: &str,
    auth: Option<&str>,
    len: u64,
    expect: bool,
) -> io::Result<()> {
    let mut head = format!(
        "{method} /rpc/rpcproxy.dll?{query} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: MSRPC\r\n\
         Accept: application/rpc\r\nContent-Length: {len}\r\n"
    );
    if let Some(a) = auth {
        head.push_str(&format!("Authorization: {a}\r\n"));
    }
    if expect {
        head.push_str("Expect: 100-continue\r\n");
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).await?;
    s.flush().await
}

/// Reads one response head (to the blank line); the head and the bytes after it.
pub(crate) async fn read_head(s: &mut Tls) -> Result<(String, Vec<u8>), String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buf.split_off(end + 4);
            return Ok((String::from_utf8_lossy(&buf).into_owned(), rest));
        }
        let n = tokio::time::timeout(WAIT, s.read(&mut chunk))
            .await
            .map_err(|_| format!("no response head within {WAIT:?}"))?
            .map_err(|e| format!("reading the response head: {e}"))?;
        if n == 0 {
            return Err(format!(
                "connection closed before the response head ({} bytes)",
                buf.len()
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// An RPC/HTTP virtual connection: the IN channel to write PDUs on, the OUT channel's PDUs.
pub(crate) struct Vc {
    pub(crate) input: Tls,
    out: Tls,
    framer: PduFramer,
    call_id: u32,
    max_xmit: usize,
}

fn cookie() -> Uuid {
    Uuid(*uuid::Uuid::new_v4().as_bytes())
}

impl Vc {
    /// Opens a virtual connection to `<user's server>:6001` (EMSMDB) as `user`.
    pub(crate) async fn open(target: &Target, src: IpAddr, user: &User) -> Result<Self, String> {
        Self::open_with(target, src, user, None).await
    }

    /// [`Self::open`] with the OUT channel's TCP receive buffer set to `out_recv_buffer`.
    pub(crate) async fn open_with(
        target: &Target,
        src: IpAddr,
        user: &User,
        out_recv_buffer: Option<u32>,
    ) -> Result<Self, String> {
        let auth = basic(&user.alias, &user.password);
        let query = format!("{}:6001", user.personalized_server_name);
        let vc_cookie = cookie();
        let io = |e: io::Error| e.to_string();
        let mut out = target.tls_with(src, out_recv_buffer).await.map_err(io)?;
        rpc_head(&mut out, "RPC_OUT_DATA", &query, Some(&auth), 76, true)
            .await
            .map_err(io)?;
        let (head, _) = read_head(&mut out).await?;
        if !head.starts_with("HTTP/1.1 100") {
            return Err(format!("RPC_OUT_DATA: {head}"));
        }
        let a1 = RtsPdu::conn_a1(vc_cookie, cookie(), 0x4_0000)
            .to_bytes()
            .map_err(|e| e.to_string())?;
        out.write_all(&a1).await.map_err(io)?;
        out.flush().await.map_err(io)?;

        let mut input = target.tls(src).await.map_err(io)?;
        rpc_head(
            &mut input,
            "RPC_IN_DATA",
            &query,
            Some(&auth),
            1 << 30,
            true,
        )
        .await
        .map_err(io)?;
        let (head, _) = read_head(&mut input).await?;
        if !head.starts_with("HTTP/1.1 100") {
            return Err(format!("RPC_IN_DATA: {head}"));
        }
        let b1 = RtsPdu::conn_b1(vc_cookie, cookie(), 1 << 30, 300_000, cookie());
        input
            .write_all(&b1.to_bytes().map_err(|e| e.to_string())?)
            .await
            .map_err(io)?;
        input.flush().await.map_err(io)?;

        let (head, rest) = read_head(&mut out).await?;
        if !head.starts_with("HTTP/1.1 200") {
            return Err(format!("OUT channel: {head}"));
        }
        let mut framer = PduFramer::new();
        framer.push(&rest);
        let mut vc = Self {
            input,
            out,
            framer,
            call_id: 1,
            max_xmit: 4280,
        };
        for want in [RtsKind::ConnA3, RtsKind::ConnC1OrC2] {
            let p = vc
                .next_pdu()
                .await?
                .ok_or("OUT channel closed during setup")?;
            let rts = RtsPdu::from_bytes(&p).map_err(|e| e.to_string())?;
            if rts.kind() != want {
                return Err(format!("expected {want:?}, got {:?}", rts.kind()));
            }
        }
        Ok(vc)
    }

    /// The next PDU of the OUT channel, `None` once the server closed it.
    pub(crate) async fn next_pdu(&mut self) -> Result<Option<Vec<u8>>, String> {
        let mut chunk = [0u8; 8192];
        loop {
            match self.framer.next_pdu() {
                Ok(FrameStatus::Ready(p)) => return Ok(Some(p)),
                Ok(_) => {}
                Err(e) => return Err(format!("OUT channel framing: {e}")),
            }
            let n = tokio::time::timeout(WAIT, self.out.read(&mut chunk))
                .await
                .map_err(|_| format!("OUT channel silent for {WAIT:?}"))?
                .unwrap_or(0);
            if n == 0 {
                return Ok(None);
            }
            self.framer.push(&chunk[..n]);
        }
    }

    /// The next non-RTS PDU, `None` once the server closed the channel.
    pub(crate) async fn next_rpc(&mut self) -> Result<Option<Pdu>, String> {
        loop {
            let Some(p) = self.next_pdu().await? else {
                return Ok(None);
            };
            let pdu = Pdu::from_bytes(&p).map_err(|e| format!("PDU: {e}"))?;
            if !matches!(pdu.body, PduBody::Rts(_)) {
                return Ok(Some(pdu));
            }
        }
    }

    async fn send(&mut self, pdu: &Pdu) -> Result<(), String> {
        let bytes = pdu.to_bytes().map_err(|e| e.to_string())?;
        self.input
            .write_all(&bytes)
            .await
            .map_err(|e| format!("IN channel write: {e}"))?;
        self.input
            .flush()
            .await
            .map_err(|e| format!("IN channel flush: {e}"))
    }

    /// Binds the EMSMDB interface over NDR.
    pub(crate) async fn bind_emsmdb(&mut self) -> Result<(), String> {
        let bind = Bind {
            max_xmit_frag: 4280,
            max_recv_frag: 4280,
            assoc_group_id: 0,
            contexts: vec![PresentationContext {
                context_id: 0,
                abstract_syntax: SyntaxId::EMSMDB,
                transfer_syntaxes: vec![SyntaxId::NDR],
            }],
        };
        self.send(&Pdu::new(self.call_id, PduBody::Bind(bind)))
            .await?;
        self.call_id += 1;
        match self.next_rpc().await? {
            Some(Pdu {
                body: PduBody::BindAck(ack),
                ..
            }) => {
                self.max_xmit = usize::from(ack.max_recv_frag.min(4280));
                Ok(())
            }
            other => Err(format!("bind: {other:?}")),
        }
    }

    /// Sends a request, fragmented to the negotiated size (MS-RPCE 2.2.2.6: FIRST/LAST_FRAG),
    /// and returns the first answering PDU (a response fragment or a fault), `None` when the
    /// channel closed instead.
    pub(crate) async fn call(&mut self, opnum: u16, stub: &[u8]) -> Result<Option<Pdu>, String> {
        self.send_call(opnum, stub).await?;
        self.next_rpc().await
    }

    /// Sends a request like [`Self::call`] without reading anything from the OUT channel.
    pub(crate) async fn send_call(&mut self, opnum: u16, stub: &[u8]) -> Result<(), String> {
        let alloc_hint = u32::try_from(stub.len()).unwrap_or(u32::MAX);
        let call_id = self.call_id;
        self.call_id += 1;
        for (flags, chunk) in fragment_stub(stub, self.max_xmit, 8, 0) {
            let mut pdu = Pdu::new(
                call_id,
                PduBody::Request(RpcRequest {
                    alloc_hint,
                    context_id: 0,
                    opnum,
                    object: None,
                    stub: chunk.to_vec(),
                }),
            );
            pdu.pfc_flags = flags;
            self.send(&pdu).await?;
        }
        Ok(())
    }

    /// Reads raw bytes of the OUT channel (none of them framed), within [`WAIT`]; `Ok(0)`
    /// once the server closed it.
    pub(crate) async fn read_out_raw(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        tokio::time::timeout(WAIT, self.out.read(buf))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "OUT channel silent"))?
    }

    /// The whole response stub of a call (reassembling response fragments).
    pub(crate) async fn call_stub(&mut self, opnum: u16, stub: &[u8]) -> Result<Vec<u8>, String> {
        let mut pdu = self.call(opnum, stub).await?.ok_or("channel closed")?;
        let mut out = Vec::new();
        loop {
            let last = pdu
                .pfc_flags
                .contains(oxmapi_wire::dcerpc::PfcFlags::LAST_FRAG);
            match pdu.body {
                PduBody::Response(r) => out.extend_from_slice(&r.stub),
                other => return Err(format!("expected a response, got {other:?}")),
            }
            if last {
                return Ok(out);
            }
            pdu = self
                .next_rpc()
                .await?
                .ok_or("channel closed mid-response")?;
        }
    }

    /// EcDoConnectEx (MS-OXCRPC 3.1.4.1) as `user`.
    pub(crate) async fn connect(&mut self, user: &User) -> Result<ContextHandle, String> {
        let req = EcDoConnectExRequest {
            user_dn: user.legacy_dn.clone(),
            flags: 0,
            con_mod: 0,
            cb_limit: 0,
            cpid: 1252,
            lcid_string: 0x409,
            lcid_sort: 0x409,
            icxr_link: 0xFFFF_FFFF,
            can_convert_code_pages: 1,
            client_version: [0x000F, 0x0000, 0x1F4F],
            timestamp: 0,
            aux_in: Vec::new(),
            max_aux_out: 0x1008,
        };
        let stub = self
            .call_stub(
                OPNUM_EC_DO_CONNECT_EX,
                &req.to_stub().map_err(|e| e.to_string())?,
            )
            .await?;
        let resp = EcDoConnectExResponse::from_stub(&stub).map_err(|e| e.to_string())?;
        if !resp.result.is_success() {
            return Err(format!("EcDoConnectEx: {:?}", resp.result));
        }
        Ok(resp.handle)
    }
}
