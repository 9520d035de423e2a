//! Mailbox names the server's ANR finds ambiguous (MS-OXNSPI 3.1.4.7): the embedded server,
//! like Exchange, matches prefixes and prefers no exact match, so `bob` is ambiguous once
//! `bobby` exists. The client narrows the GetMatches candidates (MS-OXOABK 3.1.4.4) to the
//! one the name names exactly, as CDO does at logon; zero, one, several and tied candidates.
//! Runs over the transport `OXMAPI_TEST_TRANSPORT` names; the last test puts a proxy that
//! refuses GetMatches (as gromox 3.10 does over MAPI/HTTP) in front of the server.

mod write_support;

use std::sync::Arc;

use oxmapi::{ErrorKind, Resolution, Session};
use oxmapi_wire::data::ErrorCode;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use write_support::{ALICE_PW, BOB_PW, Lab, lab};

/// The lab plus `bobby` ("Bobby Tables", whose alias and name start with `bob`) and two
/// users both called "Sam Lee".
async fn crowded_lab() -> Lab {
    let lab = lab().await;
    let store = lab.server.store();
    store.add_user("bobby", "Bobby Tables", "x3").unwrap();
    store.add_user("slee", "Sam Lee", "x4").unwrap();
    store.add_user("samlee", "Sam Lee", "x5").unwrap();
    lab
}

/// Alice's credentials with `mailbox` as the mailbox part of ProfileInfo.
fn alice_as(lab: &Lab, mailbox: &str) -> oxmapi::LogonParams {
    let mut p = Lab::params(&lab.alice, ALICE_PW);
    p.profile_info = Some(format!("{}\n{mailbox}", lab.alice.personalized_server_name));
    p.overrides.user = Some("alice".into());
    p
}

#[tokio::test]
async fn an_alias_that_prefixes_another_resolves_to_its_own_entry() {
    let lab = crowded_lab().await;
    for name in ["bob", "BOB", "bob@example.test"] {
        let mut p = Lab::params(&lab.bob, BOB_PW);
        p.profile_info = Some(format!("{}\n{name}", lab.bob.personalized_server_name));
        let (s, report) = Session::logon_with_report(&lab.config(), p).await;
        let resolved = report.resolved.clone().expect("resolved");
        assert_eq!(resolved.dn, lab.bob.legacy_dn, "{name}");
        assert!(resolved.mid > 2, "{name}: a real MId, got {}", resolved.mid);
        s.unwrap_or_else(|e| panic!("{name}: {e}"))
            .logoff()
            .await
            .unwrap();
    }
    // The recipient side narrows the same way (CDO Recipient.Resolve).
    let mut s = lab.alice().await;
    let Resolution::Resolved(bob) = s.resolve_name("bob").await.unwrap() else {
        panic!("bob is Bob Builder");
    };
    assert_eq!(bob.address, lab.bob.legacy_dn);
    s.logoff().await.unwrap();
}

#[tokio::test]
async fn zero_one_several_and_tied_candidates() {
    let lab = crowded_lab().await;
    let config = lab.config();
    // Zero: unknown names are MAPI_E_NOT_FOUND, naming the name.
    let err = Session::logon(&config, alice_as(&lab, "nobody-here"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::NOT_FOUND, "{err}");
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.step(), Some("nspi-resolve"));
    assert!(err.to_string().contains("nobody-here"), "{err}");
    // One: a name only one entry starts with.
    let (s, report) = Session::logon_with_report(&config, alice_as(&lab, "Alice Ex")).await;
    assert_eq!(report.resolved.unwrap().dn, lab.alice.legacy_dn);
    s.unwrap().logoff().await.unwrap();
    // Several, none exact: ambiguous, listing them.
    let err = Session::logon(&config, alice_as(&lab, "Jo"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::AMBIGUOUS_RECIP, "{err}");
    assert_eq!(err.kind(), ErrorKind::Ambiguous);
    let text = err.to_string();
    assert!(
        text.contains("Jo Smith") && text.contains("Jo Brown"),
        "{text}"
    );
    // Two exact matches (both are called "Sam Lee"): a true tie, listing both.
    let err = Session::logon(&config, alice_as(&lab, "sam lee"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::AMBIGUOUS_RECIP, "{err}");
    let text = err.to_string();
    assert!(
        text.contains("matches 2 entries")
            && text.contains("slee@example.test")
            && text.contains("samlee@example.test"),
        "{text}"
    );
    // But the alias of one of them is exact.
    let mut s = lab.alice().await;
    let Resolution::Resolved(sam) = s.resolve_name("samlee").await.unwrap() else {
        panic!("samlee is one Sam Lee");
    };
    assert_eq!(sam.alias.as_deref(), Some("samlee"));
    let Resolution::Ambiguous { candidates } = s.resolve_name("Sam Lee").await.unwrap() else {
        panic!("two Sam Lees");
    };
    assert_eq!(candidates.len(), 2);
    s.logoff().await.unwrap();
}

/// gromox 3.10 refuses every MAPI/HTTP GetMatches whose restriction carries a value
/// (X-ResponseCode 5): the client lists the GAL instead and narrows the same way.
#[tokio::test]
async fn a_server_that_refuses_get_matches_gets_its_gal_listed() {
    let lab = crowded_lab().await;
    let url = refusing_proxy(&lab).await;
    let config = lab.config_via(&url);
    let mapi_http = |mut p: oxmapi::LogonParams| {
        p.overrides.transport = Some(oxmapi_profile::Transport::MapiHttp);
        p
    };
    let mut p = mapi_http(Lab::params(&lab.bob, BOB_PW));
    p.profile_info = Some(format!("{}\nbob", lab.bob.personalized_server_name));
    let (s, report) = Session::logon_with_report(&config, p).await;
    let mut s = s.unwrap_or_else(|e| panic!("{e}"));
    let resolved = report.resolved.unwrap();
    assert_eq!(resolved.dn, lab.bob.legacy_dn);
    assert!(resolved.mid > 2, "DNToMId gave the real MId");
    // The candidates still come, without MIds.
    let found = s.find_address_entries("jo").await.unwrap();
    let mut names: Vec<&str> = found.iter().map(|e| e.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["Jo Brown", "Jo Smith"]);
    assert!(found.iter().all(|e| e.mid.is_none()));
    let Resolution::Resolved(bobby) = s.resolve_name("bobby").await.unwrap() else {
        panic!("bobby");
    };
    assert_eq!(bobby.name, "Bobby Tables");
    s.logoff().await.unwrap();

    let err = Session::logon(&config, mapi_http(alice_as(&lab, "Jo")))
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::AMBIGUOUS_RECIP, "{err}");
    let text = err.to_string();
    assert!(
        text.contains("Jo Smith") && text.contains("Jo Brown"),
        "{text}"
    );
}

/// A TLS-terminating proxy (with the lab's certificate) that answers every NSPI GetMatches
/// the way gromox 3.10 answers a restriction it cannot parse: HTTP 200, X-ResponseCode 5,
/// an HTML body. Everything else is relayed.
async fn refusing_proxy(lab: &Lab) -> String {
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
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, connector) = (acceptor.clone(), connector.clone());
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
                let _ = relay(client, server).await;
            });
        }
    });
    url
}

async fn relay(
    mut client: impl AsyncRead + AsyncWrite + Unpin,
    mut server: impl AsyncRead + AsyncWrite + Unpin,
) -> std::io::Result<()> {
    const BODY: &str = "<html><body><p>The request body is invalid.</p></body></html>";
    let (mut cbuf, mut sbuf) = (Vec::new(), Vec::new());
    loop {
        let Some(req) = read_message(&mut client, &mut cbuf).await? else {
            return Ok(());
        };
        let head_end = find(&req, b"\r\n\r\n").unwrap_or(req.len());
        let head = String::from_utf8_lossy(&req[..head_end]).to_ascii_lowercase();
        if head.contains("x-requesttype: getmatches") {
            let resp = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-ResponseCode: 5\r\n\
                 Content-Length: {}\r\n\r\n{BODY}",
                BODY.len()
            );
            client.write_all(resp.as_bytes()).await?;
            continue;
        }
        server.write_all(&req).await?;
        let Some(resp) = read_message(&mut server, &mut sbuf).await? else {
            return Ok(());
        };
        client.write_all(&resp).await?;
    }
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

/// Reads one HTTP/1.1 message (head + Content-Length or chunked body), raw.
async fn read_message(
    s: &mut (impl AsyncRead + Unpin),
    buf: &mut Vec<u8>,
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
        head_end
    };
    while buf.len() < total {
        if !fill(s, buf).await? {
            return Ok(None);
        }
    }
    Ok(Some(buf.drain(..total).collect()))
}

async fn fill(s: &mut (impl AsyncRead + Unpin), buf: &mut Vec<u8>) -> std::io::Result<bool> {
    let mut chunk = [0u8; 16 * 1024];
    let n = s.read(&mut chunk).await?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(n > 0)
}
