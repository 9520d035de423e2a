//! The RPC over HTTP v2 client side the server tests drive by hand: TLS connections, the
//! IN/OUT channel pair (MS-RPCH 3.2.2.5.3: CONN/A1, B1, A3, C2), DCE/RPC bind and requests.
//! Shared by `rpch_endpoint.rs` and `notify_rpch.rs`.

use std::sync::Arc;
use std::time::Duration;

use oxmapi_wire::dcerpc::pdu::{Bind, PresentationContext, Request};
use oxmapi_wire::dcerpc::rts::RtsKind;
use oxmapi_wire::dcerpc::{FrameStatus, Pdu, PduBody, PduFramer, RtsPdu, SyntaxId, Uuid};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::client::TlsStream;

use super::support::*;

pub(crate) type Tls = TlsStream<tokio::net::TcpStream>;

pub(crate) const WAIT: Duration = Duration::from_secs(10);

pub(crate) async fn tls(ts: &TestServer) -> Tls {
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
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(ts.server.local_addr())
        .await
        .unwrap();
    let name = rustls_pki_types::ServerName::try_from("127.0.0.1").unwrap();
    connector.connect(name, tcp).await.unwrap()
}

/// Writes request headers; `expect` adds `Expect: 100-continue`.
pub(crate) async fn request_head(
    s: &mut Tls,
    method: &str,
    query: &str,
    auth: &str,
    len: u64,
    expect: bool,
) {
    let mut head = format!(
        "{method} /rpc/rpcproxy.dll?{query} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: MSRPC\r\n\
         Accept: application/rpc\r\nAuthorization: {auth}\r\nContent-Length: {len}\r\n"
    );
    if expect {
        head.push_str("Expect: 100-continue\r\n");
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).await.unwrap();
    s.flush().await.unwrap();
}

/// Reads one response head (up to the blank line); returns it and the bytes after it.
pub(crate) async fn read_head(s: &mut Tls) -> (String, Vec<u8>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buf.split_off(end + 4);
            return (String::from_utf8_lossy(&buf).into_owned(), rest);
        }
        let n = tokio::time::timeout(WAIT, s.read(&mut chunk))
            .await
            .expect("response head in time")
            .unwrap();
        assert!(n > 0, "connection closed before the response head: {buf:?}");
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The OUT channel's PDU stream.
pub(crate) struct OutReader {
    pub(crate) s: Tls,
    pub(crate) framer: PduFramer,
}

impl OutReader {
    /// The next PDU, or `None` when the server closed the channel.
    pub(crate) async fn next(&mut self) -> Option<Vec<u8>> {
        let mut chunk = [0u8; 8192];
        loop {
            if let FrameStatus::Ready(p) = self.framer.next_pdu().unwrap() {
                return Some(p);
            }
            let n = tokio::time::timeout(WAIT, self.s.read(&mut chunk))
                .await
                .expect("out channel produced nothing in time")
                .unwrap_or(0);
            if n == 0 {
                return None;
            }
            self.framer.push(&chunk[..n]);
        }
    }

    /// The next non-RTS PDU (flow control acks and pings are skipped).
    pub(crate) async fn next_rpc(&mut self) -> Pdu {
        loop {
            let p = self.next().await.expect("out channel closed");
            let pdu = Pdu::from_bytes(&p).unwrap();
            if !matches!(pdu.body, PduBody::Rts(_)) {
                return pdu;
            }
        }
    }
}

pub(crate) struct Vc {
    pub(crate) input: Tls,
    pub(crate) out: OutReader,
    pub(crate) call_id: u32,
}

/// Opens a virtual connection to `<server>:6004` as alice (Basic auth).
pub(crate) async fn open_vc(ts: &TestServer) -> Vc {
    let auth = basic("alice", ALICE_PASSWORD);
    let query = format!("{}:6004", ts.alice.personalized_server_name);
    let vc_cookie = Uuid([1; 16]);
    let mut out = tls(ts).await;
    request_head(&mut out, "RPC_OUT_DATA", &query, &auth, 76, true).await;
    let (head, _) = read_head(&mut out).await;
    assert!(head.starts_with("HTTP/1.1 100 Continue\r\n"), "{head}");
    let a1 = RtsPdu::conn_a1(vc_cookie, Uuid([2; 16]), 0x4_0000)
        .to_bytes()
        .unwrap();
    assert_eq!(a1.len(), 76);
    out.write_all(&a1).await.unwrap();

    let mut input = tls(ts).await;
    request_head(&mut input, "RPC_IN_DATA", &query, &auth, 1 << 30, true).await;
    let (head, _) = read_head(&mut input).await;
    assert!(head.starts_with("HTTP/1.1 100 Continue\r\n"), "{head}");
    let b1 = RtsPdu::conn_b1(vc_cookie, Uuid([3; 16]), 1 << 30, 300_000, Uuid([4; 16]));
    input.write_all(&b1.to_bytes().unwrap()).await.unwrap();

    let (head, rest) = read_head(&mut out).await;
    assert!(head.starts_with("HTTP/1.1 200 Success\r\n"), "{head}");
    let lower = head.to_ascii_lowercase();
    assert!(lower.contains("content-length: 1073741824"), "{head}");
    assert!(lower.contains("content-type: application/rpc"), "{head}");
    let mut framer = PduFramer::new();
    framer.push(&rest);
    let mut out = OutReader { s: out, framer };
    let a3 = RtsPdu::from_bytes(&out.next().await.unwrap()).unwrap();
    assert_eq!(a3.kind(), RtsKind::ConnA3);
    let c2 = RtsPdu::from_bytes(&out.next().await.unwrap()).unwrap();
    assert_eq!(c2.kind(), RtsKind::ConnC1OrC2);
    Vc {
        input,
        out,
        call_id: 1,
    }
}

impl Vc {
    pub(crate) async fn send(&mut self, pdu: &Pdu) {
        self.input
            .write_all(&pdu.to_bytes().unwrap())
            .await
            .unwrap();
        self.input.flush().await.unwrap();
    }

    pub(crate) async fn bind(&mut self, syntax: SyntaxId) -> Pdu {
        let bind = Bind {
            max_xmit_frag: 4280,
            max_recv_frag: 4280,
            assoc_group_id: 0,
            contexts: vec![PresentationContext {
                context_id: 0,
                abstract_syntax: syntax,
                transfer_syntaxes: vec![SyntaxId::NDR],
            }],
        };
        self.send(&Pdu::new(self.call_id, PduBody::Bind(bind)))
            .await;
        self.call_id += 1;
        self.out.next_rpc().await
    }

    pub(crate) async fn call(&mut self, op: u16, stub: Vec<u8>) -> Pdu {
        let req = Request {
            alloc_hint: u32::try_from(stub.len()).unwrap(),
            context_id: 0,
            opnum: op,
            object: None,
            stub,
        };
        self.send(&Pdu::new(self.call_id, PduBody::Request(req)))
            .await;
        self.call_id += 1;
        self.out.next_rpc().await
    }
}

pub(crate) fn response_stub(p: Pdu) -> Vec<u8> {
    match p.body {
        PduBody::Response(r) => r.stub,
        other => panic!("expected a response, got {other:?}"),
    }
}
