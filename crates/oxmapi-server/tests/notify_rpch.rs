//! Table notifications over RPC/HTTP: two EMSMDB session contexts of Alice on one virtual
//! connection; what the second saves into the Inbox reaches the first's open Inbox table as a
//! RopNotify after the answers of its next EcDoRpcExt2 (MS-OXCNOTIF 3.1.5.7), and an
//! EcDoRpcExt2 without ROPs collects notifications too (MS-OXCNOTIF: "the server does not
//! require that the EcDoRpcExt2 method call include a ROP request"). The channel harness is
//! the one of `rpch_endpoint.rs`.

#[path = "infra_support.rs"]
mod support;

use std::sync::Arc;
use std::time::Duration;

use oxmapi_wire::data::{FolderId, PropertyValue, TaggedPropertyValue, tags};
use oxmapi_wire::dcerpc::emsmdb::{
    EcDoConnectExRequest, EcDoConnectExResponse, EcDoRpcExt2Request, EcDoRpcExt2Response,
    OPNUM_EC_DO_CONNECT_EX, OPNUM_EC_DO_RPC_EXT2,
};
use oxmapi_wire::dcerpc::ndr::{ContextHandle, NdrCodec};
use oxmapi_wire::dcerpc::pdu::{Bind, PresentationContext, Request};
use oxmapi_wire::dcerpc::rts::RtsKind;
use oxmapi_wire::dcerpc::{FrameStatus, Pdu, PduBody, PduFramer, RtsPdu, SyntaxId, Uuid};
use oxmapi_wire::rop::{
    CreateMessageRequest, GetContentsTableRequest, LogonRequest, NotificationType,
    OpenFolderRequest, QueryPositionRequest, QueryRowsRequest, RopRequest, RopRequestBuffer,
    RopResponse, RopResponseBuffer, SaveChangesMessageRequest, SetColumnsRequest,
    SetPropertiesRequest, TableEventType,
};
use oxmapi_wire::rpcext::{PackOptions, pack_segment, unpack_segments};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::client::TlsStream;

type Tls = TlsStream<tokio::net::TcpStream>;

const WAIT: Duration = Duration::from_secs(10);

async fn tls(ts: &TestServer) -> Tls {
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
async fn request_head(s: &mut Tls, method: &str, query: &str, auth: &str, len: u64, expect: bool) {
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
async fn read_head(s: &mut Tls) -> (String, Vec<u8>) {
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
struct OutReader {
    s: Tls,
    framer: PduFramer,
}

impl OutReader {
    /// The next PDU, or `None` when the server closed the channel.
    async fn next(&mut self) -> Option<Vec<u8>> {
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
    async fn next_rpc(&mut self) -> Pdu {
        loop {
            let p = self.next().await.expect("out channel closed");
            let pdu = Pdu::from_bytes(&p).unwrap();
            if !matches!(pdu.body, PduBody::Rts(_)) {
                return pdu;
            }
        }
    }
}

struct Vc {
    input: Tls,
    out: OutReader,
    call_id: u32,
}

/// Opens a virtual connection to `<server>:6004` as alice (Basic auth).
async fn open_vc(ts: &TestServer) -> Vc {
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
    async fn send(&mut self, pdu: &Pdu) {
        self.input
            .write_all(&pdu.to_bytes().unwrap())
            .await
            .unwrap();
        self.input.flush().await.unwrap();
    }

    async fn bind(&mut self, syntax: SyntaxId) -> Pdu {
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

    async fn call(&mut self, op: u16, stub: Vec<u8>) -> Pdu {
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

fn response_stub(p: Pdu) -> Vec<u8> {
    match p.body {
        PduBody::Response(r) => r.stub,
        other => panic!("expected a response, got {other:?}"),
    }
}

const NULL: u32 = 0xFFFF_FFFF;

/// EcDoConnectEx as Alice: a new session context.
async fn connect(vc: &mut Vc, ts: &TestServer) -> ContextHandle {
    let req = EcDoConnectExRequest {
        user_dn: ts.alice.legacy_dn.clone(),
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
    let resp = vc
        .call(OPNUM_EC_DO_CONNECT_EX, req.to_stub().unwrap())
        .await;
    let resp = EcDoConnectExResponse::from_stub(&response_stub(resp)).unwrap();
    assert!(resp.result.is_success(), "{:?}", resp.result);
    resp.handle
}

/// EcDoRpcExt2 (MS-OXCRPC 3.1.4.2) with one uncompressed, unobfuscated segment.
async fn rpc(
    vc: &mut Vc,
    cxh: ContextHandle,
    rops: Vec<RopRequest>,
    handles: Vec<u32>,
) -> (Vec<RopResponse>, Vec<u32>) {
    let req = RopRequestBuffer { rops, handles };
    let rgb_in = pack_segment(
        &req.to_bytes().unwrap(),
        PackOptions {
            compress: false,
            xor: false,
            last: true,
        },
    )
    .unwrap();
    let call = EcDoRpcExt2Request {
        handle: cxh,
        flags: 0x3,
        rgb_in,
        max_out: 0x8000,
        aux_in: Vec::new(),
        max_aux_out: 0x1008,
    };
    let resp = vc.call(OPNUM_EC_DO_RPC_EXT2, call.to_stub().unwrap()).await;
    let resp = EcDoRpcExt2Response::from_stub(&response_stub(resp)).unwrap();
    assert!(resp.result.is_success(), "{:?}", resp.result);
    let segs = unpack_segments(&resp.rgb_out).unwrap();
    assert_eq!(segs.len(), 1);
    let contexts = req
        .response_contexts(|_, _| Some(vec![tags::PidTagSubject]))
        .unwrap();
    let out = RopResponseBuffer::decode(&segs[0].payload, &contexts).unwrap();
    (out.rops, out.handles)
}

async fn logon(vc: &mut Vc, ts: &TestServer, cxh: ContextHandle) -> u32 {
    let logon = LogonRequest {
        logon_id: 0,
        output_handle_index: 0,
        logon_flags: 0x01,
        open_flags: 0x0100_000C,
        store_state: 0,
        essdn: Some(ts.alice.legacy_dn.clone()),
    };
    let (r, h) = rpc(vc, cxh, vec![logon.into()], vec![NULL]).await;
    assert!(matches!(r[0], RopResponse::LogonPrivate(_)), "{r:?}");
    h[0]
}

/// Saves a new message into `fid` through session context `cxh`.
async fn save_into(vc: &mut Vc, cxh: ContextHandle, logon: u32, fid: u64, subject: &str) {
    let (r, _) = rpc(
        vc,
        cxh,
        vec![
            CreateMessageRequest {
                logon_id: 0,
                input_handle_index: 0,
                output_handle_index: 1,
                code_page_id: 0x0FFF,
                folder_id: FolderId(fid),
                associated_flag: 0,
            }
            .into(),
            SetPropertiesRequest {
                logon_id: 0,
                input_handle_index: 1,
                values: vec![TaggedPropertyValue::new(
                    tags::PidTagSubject,
                    PropertyValue::Unicode(subject.into()),
                )],
            }
            .into(),
            SaveChangesMessageRequest {
                logon_id: 0,
                response_handle_index: 1,
                input_handle_index: 1,
                save_flags: 0x02,
            }
            .into(),
        ],
        vec![logon, NULL],
    )
    .await;
    assert_eq!(r.len(), 3, "no tables open in this context: {r:?}");
}

fn table_changed(r: &RopResponse, table: u32) {
    let RopResponse::Notify(n) = r else {
        panic!("a RopNotify: {r:?}")
    };
    assert_eq!(n.notification_handle, table);
    assert_eq!(n.logon_id, 0);
    assert_eq!(n.data.notification_type, NotificationType::TableModified);
    assert_eq!(n.data.table_event, Some(TableEventType::TableChanged));
}

#[tokio::test]
async fn another_session_context_saving_into_the_inbox_is_notified() {
    let ts = start().await;
    let inbox = ts
        .server
        .store()
        .special_folder(ts.alice.id, 5)
        .unwrap()
        .unwrap();
    let mut vc = open_vc(&ts).await;
    let ack = vc.bind(SyntaxId::EMSMDB).await;
    assert!(matches!(ack.body, PduBody::BindAck(_)), "{ack:?}");
    let (first, second) = (connect(&mut vc, &ts).await, connect(&mut vc, &ts).await);
    let (l1, l2) = (
        logon(&mut vc, &ts, first).await,
        logon(&mut vc, &ts, second).await,
    );
    let (r, h) = rpc(
        &mut vc,
        first,
        vec![
            OpenFolderRequest {
                logon_id: 0,
                input_handle_index: 0,
                output_handle_index: 1,
                folder_id: FolderId(inbox),
                open_mode_flags: 0,
            }
            .into(),
            GetContentsTableRequest {
                logon_id: 0,
                input_handle_index: 1,
                output_handle_index: 2,
                table_flags: 0x40,
            }
            .into(),
            SetColumnsRequest {
                logon_id: 0,
                input_handle_index: 2,
                set_columns_flags: 0,
                property_tags: vec![tags::PidTagSubject],
            }
            .into(),
            QueryRowsRequest {
                logon_id: 0,
                input_handle_index: 2,
                query_rows_flags: 0,
                forward_read: 1,
                row_count: 10,
            }
            .into(),
        ],
        vec![l1, NULL, NULL],
    )
    .await;
    assert_eq!(r.len(), 4, "{r:?}");
    let table = h[2];

    save_into(&mut vc, second, l2, inbox, "one").await;
    let (r, _) = rpc(
        &mut vc,
        first,
        vec![
            QueryPositionRequest {
                logon_id: 0,
                input_handle_index: 0,
            }
            .into(),
        ],
        vec![table],
    )
    .await;
    assert_eq!(r.len(), 2, "{r:?}");
    assert!(matches!(r[0], RopResponse::QueryPosition(_)), "{r:?}");
    table_changed(&r[1], table);

    // No ROPs at all: the notification alone.
    save_into(&mut vc, second, l2, inbox, "two").await;
    let (r, _) = rpc(&mut vc, first, Vec::new(), vec![NULL]).await;
    assert_eq!(r.len(), 1, "{r:?}");
    table_changed(&r[0], table);

    drop(vc.input);
    while vc.out.next().await.is_some() {}
}
