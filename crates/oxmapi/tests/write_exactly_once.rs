//! Exactly-once sending when the connection breaks after RopSubmitMessage was sent.
//!
//! A TLS-terminating proxy sits between client and server (it presents the lab server's own
//! certificate, so the client's trust settings are unchanged). It forwards every request,
//! decodes each Execute's ROP buffer, and for the first Execute carrying RopSubmitMessage it
//! forwards the request, waits for the server's whole answer (so the submit really happened),
//! and then drops the client's connection without relaying it. It counts every Execute that
//! carries RopSubmitMessage: the client must send exactly one.

mod write_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use oxmapi::{DefaultFolder, SendOutcome, Session};
use oxmapi_wire::Decode;
use oxmapi_wire::mapihttp::emsmdb::ExecuteRequest;
use oxmapi_wire::rop::{RopRequest, RopRequestBuffer};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use write_support::{ALICE_PW, Lab, lab};

#[derive(Default)]
struct Counters {
    submits: AtomicUsize,
    dropped: AtomicBool,
}

async fn proxy(lab: &Lab) -> (String, Arc<Counters>) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cert = oxmapi_server::tls::ServerCert::load_or_generate(lab._dir.path()).unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cert.server_config().unwrap()));
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(lab.server.ca_path()).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let client_cfg = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client_cfg));
    let upstream = lab.server.local_addr();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "https://127.0.0.1:{}",
        listener.local_addr().unwrap().port()
    );
    let counters = Arc::new(Counters::default());
    let c = counters.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, connector, c) = (acceptor.clone(), connector.clone(), c.clone());
            tokio::spawn(async move {
                let Ok(client) = acceptor.accept(tcp).await else {
                    return;
                };
                let Ok(up) = TcpStream::connect(upstream).await else {
                    return;
                };
                let name = ServerName::IpAddress(upstream.ip().into());
                let Ok(server) = connector.connect(name, up).await else {
                    return;
                };
                let _ = relay(client, server, &c).await;
            });
        }
    });
    (url, counters)
}

/// Relays request/response pairs; drops the client after the first submit's answer.
async fn relay(
    mut client: impl AsyncRead + AsyncWrite + Unpin,
    mut server: impl AsyncRead + AsyncWrite + Unpin,
    c: &Counters,
) -> std::io::Result<()> {
    let mut cbuf = Vec::new();
    let mut sbuf = Vec::new();
    loop {
        let Some(req) = read_message(&mut client, &mut cbuf, true).await? else {
            return Ok(());
        };
        let submit = carries_submit(&req);
        if submit {
            c.submits.fetch_add(1, Ordering::SeqCst);
        }
        server.write_all(&req).await?;
        let Some(resp) = read_message(&mut server, &mut sbuf, false).await? else {
            return Ok(());
        };
        if submit && !c.dropped.swap(true, Ordering::SeqCst) {
            // The server has answered: the submit happened. The client never hears of it.
            return Ok(());
        }
        client.write_all(&resp).await?;
    }
}

fn carries_submit(raw: &[u8]) -> bool {
    let Some(at) = find(raw, b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&raw[..at]).to_ascii_lowercase();
    if !head.contains("x-requesttype: execute") {
        return false;
    }
    let Ok(exec) = ExecuteRequest::from_bytes(&raw[at + 4..]) else {
        return false;
    };
    let Ok(payloads) = oxmapi_wire::rpcext::unpack_chain(&exec.rop_buffer) else {
        return false;
    };
    payloads.iter().any(|p| {
        RopRequestBuffer::decode(p)
            .map(|b| {
                b.rops
                    .iter()
                    .any(|r| matches!(r, RopRequest::SubmitMessage(_)))
            })
            .unwrap_or(false)
    })
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

/// Reads one HTTP/1.1 message (head + Content-Length or chunked body), raw.
async fn read_message(
    s: &mut (impl AsyncRead + Unpin),
    buf: &mut Vec<u8>,
    _request: bool,
) -> std::io::Result<Option<Vec<u8>>> {
    let head_end = loop {
        if let Some(i) = find(buf, b"\r\n\r\n") {
            break i + 4;
        }
        if !fill(s, buf).await? {
            return Ok(None);
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let header = |name: &str| {
        head.lines()
            .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_owned()))
    };
    let total = if let Some(n) = header("content-length:") {
        head_end + n.parse::<usize>().unwrap_or(0)
    } else if header("transfer-encoding:").is_some_and(|v| v.contains("chunked")) {
        let mut at = head_end;
        loop {
            let line_end = loop {
                if let Some(i) = find(&buf[at..], b"\r\n") {
                    break at + i;
                }
                if !fill(s, buf).await? {
                    return Ok(None);
                }
            };
            let size_text = String::from_utf8_lossy(&buf[at..line_end]).to_string();
            let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("0").trim(), 16)
                .unwrap_or(0);
            at = line_end + 2 + size + 2;
            if size == 0 {
                break at;
            }
            while buf.len() < at {
                if !fill(s, buf).await? {
                    return Ok(None);
                }
            }
        }
    } else {
        // Requests without a body, and responses without framing headers.
        head_end
    };
    while buf.len() < total {
        if !fill(s, buf).await? {
            return Ok(None);
        }
    }
    let msg: Vec<u8> = buf.drain(..total).collect();
    Ok(Some(msg))
}

async fn fill(s: &mut (impl AsyncRead + Unpin), buf: &mut Vec<u8>) -> std::io::Result<bool> {
    let mut chunk = [0u8; 16 * 1024];
    let n = s.read(&mut chunk).await?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(n > 0)
}

#[tokio::test]
async fn a_lost_submit_answer_is_checked_not_resent() {
    let lab = lab().await;
    let (url, counters) = proxy(&lab).await;
    // MAPI/HTTP only: the proxy reads Execute bodies (MS-OXCMAPIHTTP 2.2.4.2), whatever
    // OXMAPI_TEST_TRANSPORT says.
    let mut params = Lab::params(&lab.alice, ALICE_PW);
    params.overrides.transport = Some(oxmapi_profile::Transport::MapiHttp);
    let mut alice = Session::logon(&lab.config_via(&url), params).await.unwrap();
    let outbox = alice.default_folder_id(DefaultFolder::Outbox);
    let mut m = alice.new_message(outbox);
    m.set_subject("exactly once")
        .set_body_text("hello")
        .to("bob");
    let id = m.internet_message_id().to_owned();
    let outcome = m.send(&mut alice).await.unwrap();
    assert!(
        counters.dropped.load(Ordering::SeqCst),
        "the proxy never saw the submit"
    );
    assert_eq!(
        outcome,
        SendOutcome::Sent {
            internet_message_id: id,
            verified_after_reconnect: true
        }
    );
    assert_eq!(
        counters.submits.load(Ordering::SeqCst),
        1,
        "RopSubmitMessage was sent more than once"
    );
    // Bob has exactly one copy.
    let mut bob = lab.bob().await;
    let inbox = bob.default_folder_id(DefaultFolder::Inbox);
    let f = bob.get_folder(inbox).await.unwrap();
    let rows = f.messages().collect(&mut bob).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].subject().as_deref(), Some("exactly once"));
}
