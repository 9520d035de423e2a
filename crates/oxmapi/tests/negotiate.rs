//! Logon end to end with HTTP `Negotiate` (RFC 4559): SPNEGO carrying NTLM (no KDC), our
//! client against the embedded server over real loopback HTTPS, over MAPI/HTTP and RPC/HTTP.

use std::path::PathBuf;

use oxmapi::{LogonParams, Session};
use oxmapi_profile::{Config, Secret, Transport};
use oxmapi_server::store::UserRecord;
use oxmapi_server::{RunningServer, ServerConfig, serve};
use oxmapi_wire::data::{ErrorCode, PropertyValue, RowValue, tags};

const PASSWORD: &str = "Passw0rd!";

struct Lab {
    server: RunningServer,
    _dir: tempfile::TempDir,
    alice: UserRecord,
}

async fn lab() -> Lab {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = ServerConfig::new(dir.path());
    cfg.listen = "127.0.0.1:0".parse().unwrap();
    let server = serve(cfg).await.unwrap();
    let alice = server
        .store()
        .add_user("alice", "Alice Example", PASSWORD)
        .unwrap();
    server
        .store()
        .add_user("bob", "Bob Builder", "bobs-password")
        .unwrap();
    Lab {
        server,
        _dir: dir,
        alice,
    }
}

impl Lab {
    fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.server.local_addr().port())
    }

    fn ca(&self) -> PathBuf {
        self.server.ca_path().to_path_buf()
    }

    /// A config whose proxy map sends `example.test` to the lab with `auth = "negotiate"`.
    fn config(&self) -> Config {
        let toml = format!(
            r#"
ignore_no_public_folders = true
[proxy_map."example.test"]
url = "{url}"
auth = "negotiate"
certificate = {{ ca_file = {ca:?} }}
"#,
            url = self.url(),
            ca = self.ca().display().to_string(),
        );
        Config::from_toml(&toml, std::path::Path::new("test.toml")).unwrap()
    }

    fn dynamic(&self, password: &str, transport: Transport) -> LogonParams {
        let mut p = LogonParams {
            profile_info: Some(format!(
                "{}\n{}",
                self.alice.personalized_server_name, self.alice.alias
            )),
            password: Some(Secret::new(password)),
            ..LogonParams::default()
        };
        p.overrides.transport = Some(transport);
        p
    }
}

#[tokio::test]
async fn negotiate_logon_over_both_transports() {
    let lab = lab().await;
    let config = lab.config();
    for (transport, name) in [
        (Transport::MapiHttp, "mapihttp"),
        (Transport::RpcHttp, "rpchttp"),
    ] {
        let (result, report) =
            Session::logon_with_report(&config, lab.dynamic(PASSWORD, transport)).await;
        let mut session = result.unwrap_or_else(|e| panic!("{name}: {e}\n{report:#?}"));
        assert_eq!(report.transport.used, name);
        assert_eq!(report.auth_scheme.as_deref(), Some("Negotiate"), "{name}");
        assert_eq!(session.user_dn(), lab.alice.legacy_dn);
        assert!(report.steps.iter().all(|s| s.ok), "{name}");
        if transport == Transport::MapiHttp {
            // The SPNEGO legs cost extra round trips on the first request only.
            assert!(
                report.steps[0].http_round_trips >= 2,
                "{:?}",
                report.steps[0]
            );
            assert_eq!(report.steps[1].http_round_trips, 1);
        }
        let row = session
            .store_properties(&[tags::PidTagMailboxOwnerName])
            .await
            .unwrap();
        assert_eq!(
            row.values[0],
            RowValue::Value(PropertyValue::Unicode("Alice Example".into())),
            "{name}"
        );
        session.logoff().await.unwrap();
    }
}

#[tokio::test]
async fn negotiate_wrong_password_is_a_logon_failure() {
    let lab = lab().await;
    let config = lab.config();
    for transport in [Transport::MapiHttp, Transport::RpcHttp] {
        let (result, report) =
            Session::logon_with_report(&config, lab.dynamic("wrong", transport)).await;
        let err = result.unwrap_err();
        assert_eq!(err.code(), ErrorCode::LOGON_FAILED, "{transport:?}: {err}");
        assert!(err.is_logon_failure());
        assert!(!format!("{err} {err:?} {report:?}").contains("wrong"));
        assert_eq!(lab.server.session_count(), 0, "{transport:?}");
    }
}
