//! The transport against a small in-test HTTPS server on 127.0.0.1.

mod support;

use std::sync::atomic::Ordering;
use std::time::Duration;

use oxmapi_transport::*;
use support::{DOMAIN, Gate, PASSWORD, Script, TestServer, USER};

fn config(url: String, policy: TlsPolicy) -> TransportConfig {
    let mut config = TransportConfig::new(url);
    config.tls.policy = policy;
    config.timeouts = Timeouts {
        connect: Duration::from_secs(5),
        response_headers: Duration::from_secs(5),
        body_idle: Duration::from_secs(5),
    };
    config
}

fn with_auth(mut config: TransportConfig, scheme: AuthScheme, password: &str) -> TransportConfig {
    config.auth = Some(HttpAuth {
        scheme,
        credentials: Credentials {
            user: USER.into(),
            domain: Some(DOMAIN.into()),
            password: password.into(),
        },
    });
    config
}

fn ca_file(server: &TestServer) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &server.cert_pem).unwrap();
    file
}

async fn post_once(
    config: TransportConfig,
) -> Result<(MapiHttpResponse, SessionStats), TransportError> {
    let client = MapiHttpClient::new(config)?;
    let mut session = client.session(Endpoint::Emsmdb, "mbx@example.test");
    let response = session.post("Execute", b"hello".to_vec()).await?;
    Ok((response, session.stats()))
}

#[tokio::test]
async fn verify_policy_rejects_a_self_signed_certificate_helpfully() {
    let server = TestServer::start(Gate::None, Script::Echo { pending: 0 }).await;
    let err = post_once(config(server.url("localhost"), TlsPolicy::Verify))
        .await
        .unwrap_err();
    let TransportError::Tls {
        host, policy, hint, ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!((host.as_str(), *policy), ("localhost", "verify"));
    let text = err.to_string();
    assert!(text.contains("not trusted"), "{text}");
    // The hint travels beside the message (the session shows it on its own line).
    let text = format!("{text}\nhint: {hint}");
    assert!(
        text.contains("certificate = { ca_file = \"/path/to/ca.pem\" }")
            && text.contains("certificate = \"ignore\"")
            && text.contains("certificate = { sha256 = \""),
        "{text}"
    );
}

#[tokio::test]
async fn ca_file_policy_accepts_the_generated_certificate() {
    let server = TestServer::start(Gate::None, Script::Echo { pending: 0 }).await;
    let ca = ca_file(&server);
    let (response, stats) = post_once(config(
        server.url("localhost"),
        TlsPolicy::CaFile(ca.path().to_owned()),
    ))
    .await
    .unwrap();
    assert_eq!(response.body, b"hello");
    let tls = stats.tls.unwrap();
    assert_eq!((tls.policy, tls.verification_skipped), ("ca-file", false));
    assert!(tls.version.starts_with("TLSv1_"), "{}", tls.version);
    assert!(!tls.cipher_suite.is_empty());
    assert_eq!(tls.peer_cert_sha256.map(|f| f.len()), Some(64));
}

#[tokio::test]
async fn ca_file_problems_are_reported_before_connecting() {
    let missing = config(
        "https://localhost".into(),
        TlsPolicy::CaFile("/nonexistent/ca.pem".into()),
    );
    let err = MapiHttpClient::new(missing).err().unwrap();
    assert!(matches!(err, TransportError::CaFile { .. }), "{err:?}");
    assert!(err.to_string().contains("/nonexistent/ca.pem"));
    let empty = tempfile::NamedTempFile::new().unwrap();
    let err = MapiHttpClient::new(config(
        "https://localhost".into(),
        TlsPolicy::CaFile(empty.path().into()),
    ))
    .err()
    .unwrap();
    assert!(err.to_string().contains("no certificates"), "{err}");
}

#[tokio::test]
async fn ignore_policy_accepts_and_says_so() {
    let server = TestServer::start(Gate::None, Script::Echo { pending: 0 }).await;
    let (response, stats) = post_once(config(server.url("127.0.0.1"), TlsPolicy::Ignore))
        .await
        .unwrap();
    assert_eq!(response.body, b"hello");
    let tls = stats.tls.unwrap();
    assert!(tls.verification_skipped);
    assert_eq!(tls.policy, "ignore");
}

#[tokio::test]
async fn expected_principal_replaces_the_url_host() {
    let server = TestServer::start(Gate::None, Script::Echo { pending: 0 }).await;
    let ca = ca_file(&server);
    let policy = TlsPolicy::CaFile(ca.path().to_owned());
    // The certificate names localhost and mail.test.local, not 127.0.0.1.
    let err = post_once(config(server.url("127.0.0.1"), policy.clone()))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("not valid for the name \"127.0.0.1\""),
        "{err}"
    );

    let mut good = config(server.url("127.0.0.1"), policy.clone());
    good.tls.expected_principal = Some("msstd:mail.test.local".into());
    let (_, stats) = post_once(good).await.unwrap();
    assert_eq!(stats.tls.unwrap().checked_name, "mail.test.local");

    let mut wrong = config(server.url("localhost"), policy);
    wrong.tls.expected_principal = Some("msstd:other.example".into());
    let err = post_once(wrong).await.unwrap_err();
    assert!(matches!(err, TransportError::Tls { .. }));
    assert!(err.to_string().contains("other.example"), "{err}");
}

/// Basic goes up front over TLS: no anonymous request to learn the scheme (issue 14).
#[tokio::test]
async fn basic_auth_up_front_without_an_anonymous_leg() {
    let server = TestServer::start(Gate::Basic, Script::Echo { pending: 0 }).await;
    let config = with_auth(
        config(server.url("localhost"), TlsPolicy::Ignore),
        AuthScheme::Basic,
        PASSWORD,
    );
    let client = MapiHttpClient::new(config).unwrap();
    let mut session = client.session(Endpoint::Nspi, "mbx@example.test");
    session.post("Bind", b"one".to_vec()).await.unwrap();
    session.post("GetProps", b"two".to_vec()).await.unwrap();
    let stats = session.stats();
    assert_eq!(stats.auth_scheme, Some(AuthScheme::Basic));
    assert_eq!((stats.http_round_trips, stats.auth_challenges), (2, 0));
    let seen = server.seen();
    let statuses: Vec<u16> = seen.iter().map(|s| s.status).collect();
    assert_eq!(statuses, [200, 200]);
    assert!(
        seen.iter().all(|s| s
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("Basic "))),
        "every request carries the credentials"
    );
}

#[tokio::test]
async fn wrong_basic_password_is_auth_failed_without_the_password() {
    let server = TestServer::start(Gate::Basic, Script::Echo { pending: 0 }).await;
    let config = with_auth(
        config(server.url("localhost"), TlsPolicy::Ignore),
        AuthScheme::Basic,
        "Wr0ngSecret",
    );
    assert!(!format!("{config:?}").contains("Wr0ngSecret"));
    let err = post_once(config).await.unwrap_err();
    assert!(err.is_auth_failed(), "{err:?}");
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(!text.contains("Wr0ngSecret"), "{text}");
        assert!(text.contains("alice"), "{text}");
    }
    // Refused credentials are not sent a second time (one failed attempt, not two).
    let statuses: Vec<u16> = server.seen().iter().map(|s| s.status).collect();
    assert_eq!(statuses, [401]);
}

#[tokio::test]
async fn basic_is_refused_over_plain_http() {
    // A plain TCP listener that answers 401 Basic.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut tcp, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 4096];
        let _ = tcp.read(&mut buf).await;
        let _ = tcp
            .write_all(b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"x\"\r\nContent-Length: 0\r\n\r\n")
            .await;
        tokio::time::sleep(Duration::from_secs(5)).await;
    });
    let config = with_auth(
        config(format!("http://127.0.0.1:{port}"), TlsPolicy::Verify),
        AuthScheme::Basic,
        PASSWORD,
    );
    let err = post_once(config).await.unwrap_err();
    assert!(
        matches!(err, TransportError::BasicWithoutTls { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn ntlm_handshake_stays_on_one_connection() {
    let server = TestServer::start(Gate::Ntlm, Script::Echo { pending: 0 }).await;
    let config = with_auth(
        config(server.url("localhost"), TlsPolicy::Ignore),
        AuthScheme::Ntlm,
        PASSWORD,
    );
    let client = MapiHttpClient::new(config).unwrap();
    let mut session = client.session(Endpoint::Emsmdb, "mbx@example.test");
    assert_eq!(
        session.post("Connect", b"a".to_vec()).await.unwrap().body,
        b"a"
    );
    assert_eq!(
        session.post("Execute", b"b".to_vec()).await.unwrap().body,
        b"b"
    );
    let seen = server.seen();
    let legs: Vec<(usize, u16, bool)> = seen
        .iter()
        .map(|s| (s.conn, s.status, s.headers.contains_key("authorization")))
        .collect();
    // The first request carries the NEGOTIATE leg: no anonymous request answered 401.
    assert_eq!(legs, [(0, 401, true), (0, 200, true), (0, 200, false)]);
    let stats = session.stats();
    assert_eq!(stats.auth_scheme, Some(AuthScheme::Ntlm));
    assert_eq!(
        (
            stats.http_round_trips,
            stats.auth_challenges,
            stats.connections
        ),
        (3, 1, 1)
    );
    assert!(stats.bytes_sent > 0 && stats.bytes_received > 0);
}

/// NSPI and EMSMDB sessions of one NTLM client take turns on one connection: the handshake
/// (bound to the connection) is done once, not once per endpoint (issue 14).
#[tokio::test]
async fn ntlm_sessions_of_one_client_share_the_connection() {
    let server = TestServer::start(Gate::Ntlm, Script::Echo { pending: 0 }).await;
    let config = with_auth(
        config(server.url("localhost"), TlsPolicy::Ignore),
        AuthScheme::Ntlm,
        PASSWORD,
    );
    let client = MapiHttpClient::new(config).unwrap();
    let mut nspi = client.session(Endpoint::Nspi, "mbx@example.test");
    let mut emsmdb = client.session(Endpoint::Emsmdb, "mbx@example.test");
    assert_eq!(nspi.post("Bind", b"a".to_vec()).await.unwrap().body, b"a");
    assert_eq!(
        emsmdb.post("Connect", b"b".to_vec()).await.unwrap().body,
        b"b"
    );
    assert_eq!(nspi.post("Unbind", b"c".to_vec()).await.unwrap().body, b"c");
    let legs: Vec<(usize, u16)> = server.seen().iter().map(|s| (s.conn, s.status)).collect();
    assert_eq!(legs, [(0, 401), (0, 200), (0, 200), (0, 200)]);
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);
    assert_eq!(
        (
            nspi.stats().http_round_trips,
            emsmdb.stats().http_round_trips
        ),
        (3, 1)
    );
}

#[tokio::test]
async fn wrong_ntlm_password_is_auth_failed_without_the_password() {
    let server = TestServer::start(Gate::Ntlm, Script::Echo { pending: 0 }).await;
    let config = with_auth(
        config(server.url("localhost"), TlsPolicy::Ignore),
        AuthScheme::Ntlm,
        "Wr0ngSecret",
    );
    let err = post_once(config).await.unwrap_err();
    assert!(err.is_auth_failed(), "{err:?}");
    assert_eq!(
        err.to_string(),
        "NTLM authentication failed for user TESTDOM\\alice; check the user name, domain and password"
    );
    assert!(!format!("{err:?}").contains("Wr0ngSecret"));
}

#[tokio::test]
async fn a_scheme_the_server_does_not_offer_is_reported() {
    let server = TestServer::start(Gate::Basic, Script::Echo { pending: 0 }).await;
    let config = with_auth(
        config(server.url("localhost"), TlsPolicy::Ignore),
        AuthScheme::Ntlm,
        PASSWORD,
    );
    let err = post_once(config).await.unwrap_err();
    let TransportError::AuthNotOffered { offered, wanted } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        (offered.as_slice(), *wanted),
        (&["Basic".to_owned()][..], AuthScheme::Ntlm)
    );
    // No credentials at all.
    let err = post_once(config_plain(&server)).await.unwrap_err();
    assert!(
        matches!(err, TransportError::AuthRequired { .. }),
        "{err:?}"
    );
}

fn config_plain(server: &TestServer) -> TransportConfig {
    config(server.url("localhost"), TlsPolicy::Ignore)
}

#[tokio::test]
async fn cookies_request_ids_and_client_info() {
    let server = TestServer::start(Gate::None, Script::Echo { pending: 0 }).await;
    let client = MapiHttpClient::new(config_plain(&server)).unwrap();
    let mut session = client.session(Endpoint::Emsmdb, "mbx@example.test");
    for _ in 0..3 {
        session.post("Execute", Vec::new()).await.unwrap();
    }
    assert_eq!(
        session.cookies(),
        [
            ("MapiSequence".into(), "2".into()),
            ("MapiContext".into(), "ctx-1".into())
        ]
    );
    session.reset();
    assert!(session.cookies().is_empty());
    session.post("Connect", Vec::new()).await.unwrap();

    let seen = server.seen();
    let header = |i: usize, name: &str| {
        seen[i]
            .headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    assert_eq!(header(0, "cookie"), None);
    assert_eq!(
        header(1, "cookie").as_deref(),
        Some("MapiSequence=0; MapiContext=ctx-1")
    );
    assert_eq!(
        header(2, "cookie").as_deref(),
        Some("MapiSequence=1; MapiContext=ctx-1")
    );
    assert_eq!(header(3, "cookie"), None);
    let ids: Vec<(String, u64)> = (0..4)
        .map(|i| {
            let id = header(i, "x-requestid").unwrap();
            let (guid, n) = id.rsplit_once(':').unwrap();
            assert!(
                guid.starts_with('{') && guid.ends_with('}') && guid.len() == 38,
                "{id}"
            );
            (guid.to_owned(), n.parse().unwrap())
        })
        .collect();
    assert_eq!(ids[0].0, ids[2].0);
    assert_ne!(
        ids[2].0, ids[3].0,
        "reset starts a new session context guid"
    );
    assert!(ids.windows(2).all(|w| w[1].1 > w[0].1), "{ids:?}");
    let info: Vec<String> = (0..4).map(|i| header(i, "x-clientinfo").unwrap()).collect();
    assert_eq!(info[0], info[2]);
    assert_ne!(info[2], info[3]);
    assert_eq!(
        info[0].split(':').next(),
        info[3].split(':').next(),
        "same client guid"
    );
    assert_eq!(
        header(0, "content-type").as_deref(),
        Some("application/mapi-http")
    );
    assert_eq!(header(0, "x-requesttype").as_deref(), Some("Execute"));
    assert!(
        header(0, "x-clientapplication")
            .unwrap()
            .starts_with("oxmapi/")
    );
    assert!(header(0, "user-agent").is_some());
    assert_eq!(
        server.connections.load(Ordering::SeqCst),
        1,
        "connection reused"
    );
}

#[tokio::test]
async fn chunked_body_with_pending_keepalives() {
    let server = TestServer::start(Gate::None, Script::Echo { pending: 3 }).await;
    let (response, stats) = post_once(config_plain(&server)).await.unwrap();
    assert_eq!(response.body, b"hello");
    assert_eq!(response.pending_count, 3);
    assert_eq!(stats.pending_keepalives, 3);
    assert_eq!(response.additional_header("x-elapsedtime"), Some("1"));
    assert_eq!(
        (response.pending_period_ms, response.expiration_info_ms),
        (Some(15000), Some(900_000))
    );
    assert!(response.request_id.ends_with(":1"));
}

#[tokio::test]
async fn ping_has_an_empty_body() {
    let server = TestServer::start(Gate::None, Script::Echo { pending: 0 }).await;
    let client = MapiHttpClient::new(config_plain(&server)).unwrap();
    let mut session = client.session(Endpoint::Emsmdb, "mbx@example.test");
    assert!(session.ping().await.unwrap().body.is_empty());
    assert_eq!(
        server.seen()[0].headers.get("x-requesttype").unwrap(),
        "PING"
    );
}

#[tokio::test]
async fn response_codes_are_typed() {
    for (code, name, lost) in [
        (10, "Context Not Found", true),
        (6, "Invalid Context Cookie", true),
        (7, "Missing Header", false),
    ] {
        let server = TestServer::start(Gate::None, Script::ResponseCode(code)).await;
        let err = post_once(config_plain(&server)).await.unwrap_err();
        let TransportError::ResponseCode { code: c, name: n } = &err else {
            panic!("{err:?}")
        };
        assert_eq!((*c, *n, err.is_context_lost()), (code, name, lost));
    }
}

#[tokio::test]
async fn http_errors_name_the_status() {
    let server = TestServer::start(Gate::None, Script::Status(404)).await;
    let err = post_once(config_plain(&server)).await.unwrap_err();
    let TransportError::HttpStatus {
        status,
        reason,
        url,
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(*status, 404);
    assert!(reason.contains("endpoint not found"));
    assert!(
        url.ends_with("/mapi/emsmdb/?MailboxId=mbx@example.test"),
        "{url}"
    );
    let server = TestServer::start(Gate::None, Script::Status(503)).await;
    let err = post_once(config_plain(&server)).await.unwrap_err();
    assert!(
        err.to_string().starts_with("http 503 service unavailable"),
        "{err}"
    );
}

#[tokio::test]
async fn a_stalled_server_times_out() {
    let server = TestServer::start(Gate::None, Script::Stall).await;
    let mut config = config_plain(&server);
    config.timeouts.response_headers = Duration::from_millis(300);
    let err = post_once(config).await.unwrap_err();
    assert!(
        matches!(
            err,
            TransportError::Timeout {
                step: TimeoutStep::ResponseHeaders,
                ..
            }
        ),
        "{err:?}"
    );

    let server = TestServer::start(Gate::None, Script::StallBody).await;
    let mut config = config_plain(&server);
    config.timeouts.body_idle = Duration::from_millis(300);
    let err = post_once(config).await.unwrap_err();
    assert!(
        matches!(
            err,
            TransportError::Timeout {
                step: TimeoutStep::ResponseBody,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn connection_refused_names_host_and_port() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let err = post_once(config(
        format!("https://127.0.0.1:{port}"),
        TlsPolicy::Ignore,
    ))
    .await
    .unwrap_err();
    let TransportError::Connect { host, port: p, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!((host.as_str(), *p), ("127.0.0.1", port));
}

#[tokio::test]
async fn lost_connection_auth_is_redone_once() {
    let server = TestServer::start(Gate::NtlmForgetful, Script::Echo { pending: 0 }).await;
    let config = with_auth(config_plain(&server), AuthScheme::Ntlm, PASSWORD);
    let client = MapiHttpClient::new(config).unwrap();
    let mut session = client.session(Endpoint::Emsmdb, "mbx@example.test");
    session.post("Connect", b"a".to_vec()).await.unwrap();
    session.post("Execute", b"b".to_vec()).await.unwrap();
    let legs: Vec<(usize, u16)> = server.seen().iter().map(|s| (s.conn, s.status)).collect();
    // NEGOTIATE + AUTHENTICATE; then the server forgot: its 401, NEGOTIATE + AUTHENTICATE.
    assert_eq!(legs, [(0, 401), (0, 200), (0, 401), (0, 401), (0, 200)]);
}

#[tokio::test]
async fn a_closed_connection_is_reopened_and_reauthenticated() {
    let server = TestServer::start_with(Gate::Ntlm, Script::Echo { pending: 0 }, false).await;
    let config = with_auth(config_plain(&server), AuthScheme::Ntlm, PASSWORD);
    let client = MapiHttpClient::new(config).unwrap();
    let mut session = client.session(Endpoint::Emsmdb, "mbx@example.test");
    // keep-alive off: the handshake itself cannot complete on one connection.
    let err = session.post("Connect", b"a".to_vec()).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("closed the connection during the NTLM handshake"),
        "{err}"
    );

    let server = TestServer::start_with(Gate::None, Script::Echo { pending: 0 }, false).await;
    let client = MapiHttpClient::new(config_plain(&server)).unwrap();
    let mut session = client.session(Endpoint::Emsmdb, "mbx@example.test");
    for body in [b"x", b"y", b"z"] {
        assert_eq!(
            session.post("Execute", body.to_vec()).await.unwrap().body,
            body
        );
    }
    assert_eq!(session.stats().connections, 3);
}
