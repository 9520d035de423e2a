//! Bearer (OAuth 2.0, RFC 6750) logon end to end: the embedded server issues and checks the
//! tokens, our client sends `Authorization: Bearer` over MAPI/HTTP and over both RPC/HTTP
//! channels, on real loopback HTTPS.

use std::time::Duration;

use oxmapi::{ErrorKind, LogonParams, Session};
use oxmapi_profile::{Config, Secret, Transport};
use oxmapi_server::store::UserRecord;
use oxmapi_server::{RunningServer, ServerConfig, serve};
use oxmapi_wire::data::{ErrorCode, PropertyValue, RowValue, tags};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const HOUR: Duration = Duration::from_secs(3600);

struct Lab {
    server: RunningServer,
    _dir: tempfile::TempDir,
    alice: UserRecord,
    bob: UserRecord,
}

async fn lab() -> Lab {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = ServerConfig::new(dir.path());
    cfg.listen = "127.0.0.1:0".parse().unwrap();
    let server = serve(cfg).await.unwrap();
    let alice = server
        .store()
        .add_user("alice", "Alice Example", "alice-pw")
        .unwrap();
    let bob = server
        .store()
        .add_user("bob", "Bob Builder", "bob-pw")
        .unwrap();
    Lab {
        server,
        _dir: dir,
        alice,
        bob,
    }
}

impl Lab {
    fn config(&self) -> Config {
        let toml = format!(
            "ignore_no_public_folders = true\n\
             [proxy_map.\"example.test\"]\n\
             url = \"https://127.0.0.1:{}\"\n\
             auth = \"bearer\"\n\
             certificate = {{ ca_file = {:?} }}\n",
            self.server.local_addr().port(),
            self.server.ca_path().display().to_string(),
        );
        Config::from_toml(&toml, std::path::Path::new("bearer.toml")).unwrap()
    }

    fn token(&self, alias: &str, lifetime: Duration) -> String {
        self.server
            .store()
            .issue_token(alias, lifetime)
            .unwrap()
            .unwrap()
            .token()
            .to_owned()
    }

    fn params(&self, user: &UserRecord, token: &str, transport: Transport) -> LogonParams {
        let mut params = LogonParams {
            profile_info: Some(format!("{}\n{}", user.personalized_server_name, user.alias)),
            password: Some(Secret::new(token)),
            ..LogonParams::default()
        };
        params.overrides.transport = Some(transport);
        params
    }
}

const TRANSPORTS: [Transport; 2] = [Transport::MapiHttp, Transport::RpcHttp];

#[tokio::test]
async fn bearer_logon_over_mapi_http_and_rpc_http() {
    let lab = lab().await;
    let config = lab.config();
    let token = lab.token("alice", HOUR);
    for transport in TRANSPORTS {
        let params = lab.params(&lab.alice, &token, transport);
        assert!(!format!("{params:?}").contains(&token), "token in Debug");
        let (result, report) = Session::logon_with_report(&config, params).await;
        let mut session = result.unwrap_or_else(|e| panic!("{transport:?}: {e}\n{report:#?}"));
        assert_eq!(report.profile.auth, "bearer");
        assert_eq!(report.auth_scheme.as_deref(), Some("Bearer"));
        let used = if transport == Transport::RpcHttp {
            "rpchttp"
        } else {
            "mapihttp"
        };
        assert_eq!(report.transport.used, used);
        assert_eq!(session.user_dn(), lab.alice.legacy_dn);
        assert!(report.steps.iter().all(|s| s.ok), "{report:#?}");
        assert!(
            !format!("{report:?}").contains(&token),
            "token in the report"
        );
        let row = session
            .store_properties(&[tags::PidTagMailboxOwnerName])
            .await
            .unwrap();
        assert_eq!(
            row.values[0],
            RowValue::Value(PropertyValue::Unicode("Alice Example".into()))
        );
        session.logoff().await.unwrap();
    }
}

#[tokio::test]
async fn expired_revoked_and_foreign_tokens_are_logon_failures_with_a_hint() {
    let lab = lab().await;
    let config = lab.config();
    let expired = lab.token("alice", Duration::ZERO);
    let revoked = lab.token("alice", HOUR);
    assert!(lab.server.store().revoke_token(&revoked).unwrap());
    let foreign = "oxmapi_notIssuedByThisServer0123456789abcdefghijk".to_owned();
    for transport in TRANSPORTS {
        for token in [&expired, &revoked, &foreign] {
            let params = lab.params(&lab.alice, token, transport);
            let (result, report) = Session::logon_with_report(&config, params).await;
            let Err(err) = result else {
                panic!("{transport:?}: a refused token logged on")
            };
            assert_eq!(err.code(), ErrorCode::LOGON_FAILED, "{transport:?}: {err}");
            assert_eq!(err.kind(), ErrorKind::Authentication);
            assert_eq!(err.step(), Some("nspi-bind"), "{err}");
            assert!(
                err.hint()
                    .unwrap_or_default()
                    .contains("obtain a new token"),
                "{err}"
            );
            assert!(
                err.message().contains("Bearer authentication failed"),
                "{err}"
            );
            for text in [err.to_string(), format!("{err:?}"), format!("{report:?}")] {
                assert!(!text.contains(token.as_str()), "token leaked: {text}");
            }
        }
    }
}

#[tokio::test]
async fn a_token_for_alice_cannot_open_bobs_mailbox() {
    let lab = lab().await;
    let config = lab.config();
    let token = lab.token("alice", HOUR);
    for transport in TRANSPORTS {
        // Bob's personalized server name and mailbox, Alice's token.
        let err = Session::logon(&config, lab.params(&lab.bob, &token, transport))
            .await
            .unwrap_err();
        if transport == Transport::RpcHttp {
            // The RPC proxy refuses the channel to Bob's mailbox server with `503 RPC Error: 5`
            // (ERROR_ACCESS_DENIED), which the session reports as a network error today (as it
            // does for Basic and NTLM).
            assert_eq!(err.step(), Some("nspi-bind"), "{err}");
            assert!(err.message().contains("RPC Error: 5"), "{err}");
        } else {
            assert_eq!(err.kind(), ErrorKind::AccessDenied, "{transport:?}: {err}");
        }
        // Alice's server name but Bob's mailbox: Connect with Bob's DN is refused.
        let mut params = lab.params(&lab.alice, &token, transport);
        params.profile_info = Some(format!("{}\nbob", lab.alice.personalized_server_name));
        let err = Session::logon(&config, params).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AccessDenied, "{transport:?}: {err}");
        assert_eq!(err.step(), Some("emsmdb-connect"), "{err}");
    }
    // Bob's own token opens Bob's mailbox.
    let bobs = lab.token("bob", HOUR);
    let session = Session::logon(&config, lab.params(&lab.bob, &bobs, Transport::MapiHttp))
        .await
        .unwrap();
    assert_eq!(session.user_dn(), lab.bob.legacy_dn);
}

#[tokio::test]
async fn no_token_is_a_logon_failure_that_says_how_to_give_one() {
    let lab = lab().await;
    let mut params = lab.params(&lab.alice, "x", Transport::MapiHttp);
    params.password = None;
    let err = Session::logon(&lab.config(), params).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::LOGON_FAILED);
    assert!(err.message().contains("no bearer token"), "{err}");
    assert!(
        err.hint().unwrap_or_default().contains("--token-file"),
        "{err}"
    );
}

#[tokio::test]
async fn bearer_over_plain_http_is_refused_by_the_profile() {
    let toml = "[proxy_map.\"example.test\"]\nurl = \"http://127.0.0.1:9\"\nauth = \"bearer\"\nallow_http = true\n";
    let config = Config::from_toml(toml, std::path::Path::new("http.toml")).unwrap();
    let params = LogonParams {
        profile_info: Some("mail.example.test\nalice".into()),
        password: Some(Secret::new("oxmapi_plainHttpToken")),
        ..LogonParams::default()
    };
    let err = Session::logon(&config, params).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Profile, "{err}");
    assert!(
        err.message()
            .contains("bearer tokens are sent over https only"),
        "{err}"
    );
    assert!(!format!("{err:?}").contains("plainHttpToken"));
}

/// The transport itself never sends a token over plain http, even when a server asks for it:
/// a stub answers every request with `401 WWW-Authenticate: Bearer` and records the bytes.
#[tokio::test]
async fn bearer_over_plain_http_is_refused_by_the_transport() {
    use oxmapi_transport::{Endpoint, HttpAuth, MapiHttpClient, TransportConfig, TransportError};
    const TOKEN: &str = "oxmapi_neverOnTheWireInClear";
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let stub = tokio::spawn(async move {
        let mut seen = Vec::new();
        let Ok(Ok((mut sock, _))) =
            tokio::time::timeout(Duration::from_secs(10), listener.accept()).await
        else {
            return seen;
        };
        let mut buf = [0u8; 4096];
        loop {
            match tokio::time::timeout(Duration::from_secs(2), sock.read(&mut buf)).await {
                Ok(Ok(n)) if n > 0 => {
                    seen.extend_from_slice(&buf[..n]);
                    if seen.windows(4).any(|w| w == b"\r\n\r\n") {
                        let _ = sock
                            .write_all(
                                b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm=\"stub\"\r\nContent-Length: 0\r\n\r\n",
                            )
                            .await;
                    }
                }
                _ => return seen,
            }
        }
    });
    let mut config = TransportConfig::new(format!("http://127.0.0.1:{port}"));
    config.auth = Some(HttpAuth::bearer("alice", TOKEN));
    let client = MapiHttpClient::new(config).unwrap();
    let mut session = client.session(Endpoint::Nspi, "x@example.test");
    let err = session.post("Bind", vec![0; 8]).await.unwrap_err();
    assert!(
        matches!(err, TransportError::BearerWithoutTls { .. }),
        "{err:?}"
    );
    assert!(!err.to_string().contains(TOKEN));
    drop(session);
    let seen = stub.await.unwrap();
    assert!(!seen.is_empty(), "the anonymous request reached the stub");
    assert!(
        !seen.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes()),
        "the token was sent over plain http"
    );
}
