//! Logon end to end: our client against the embedded server over real loopback HTTPS.
//! No mocks in between: the server is the one `oxmapi serve` runs.

use std::path::PathBuf;

use oxmapi::{DefaultFolder, ErrorKind, LogonParams, Session};
use oxmapi_profile::{Config, Secret};
use oxmapi_server::store::UserRecord;
use oxmapi_server::{RunningServer, ServerConfig, serve};
use oxmapi_wire::data::{ErrorCode, PropertyValue, RowValue, tags};

const PASSWORD: &str = "Passw0rd!";

/// The transport the suite runs over: env `OXMAPI_TEST_TRANSPORT` = `mapihttp` (the default)
/// or `rpchttp` (`scripts/check.sh` runs the suites both ways).
fn test_transport() -> Option<oxmapi_profile::Transport> {
    match std::env::var("OXMAPI_TEST_TRANSPORT").as_deref() {
        Err(_) | Ok("") => None,
        Ok("mapihttp") => Some(oxmapi_profile::Transport::MapiHttp),
        Ok("rpchttp") => Some(oxmapi_profile::Transport::RpcHttp),
        Ok(other) => panic!("OXMAPI_TEST_TRANSPORT={other:?}: use mapihttp or rpchttp"),
    }
}

struct Lab {
    server: RunningServer,
    _dir: tempfile::TempDir,
    alice: UserRecord,
    bob: UserRecord,
}

async fn lab(public_folders: bool) -> Lab {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = ServerConfig::new(dir.path());
    cfg.listen = "127.0.0.1:0".parse().unwrap();
    cfg.public_folders = public_folders;
    let server = serve(cfg).await.unwrap();
    let alice = server
        .store()
        .add_user("alice", "Alice Example", PASSWORD)
        .unwrap();
    let bob = server
        .store()
        .add_user("bob", "Bob Builder", "bobs-password")
        .unwrap();
    server.store().add_user("jsmith", "Jo Smith", "x1").unwrap();
    server.store().add_user("jbrown", "Jo Brown", "x2").unwrap();
    Lab {
        server,
        _dir: dir,
        alice,
        bob,
    }
}

impl Lab {
    fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.server.local_addr().port())
    }

    fn ca(&self) -> PathBuf {
        self.server.ca_path().to_path_buf()
    }

    /// A config whose proxy map sends `example.test` to the lab, as RPCHttpProxyMap would.
    fn config(&self, auth: &str, certificate: &str, ignore_no_pf: bool) -> Config {
        let toml = format!(
            r#"
ignore_no_public_folders = {ignore_no_pf}
[proxy_map."example.test"]
url = "{url}"
auth = "{auth}"
certificate = {certificate}

[profiles.work]
server = "{server}"
mailbox = "alice"
user = "alice"
"#,
            url = self.url(),
            server = self.alice.personalized_server_name,
        );
        Config::from_toml(&toml, std::path::Path::new("test.toml")).unwrap()
    }

    fn ca_policy(&self) -> String {
        format!("{{ ca_file = {:?} }}", self.ca().display().to_string())
    }

    fn dynamic(&self, user: &UserRecord, password: &str) -> LogonParams {
        let mut p = LogonParams {
            profile_info: Some(format!("{}\n{}", user.personalized_server_name, user.alias)),
            password: Some(Secret::new(password)),
            ..LogonParams::default()
        };
        p.overrides.transport = test_transport();
        p
    }
}

#[tokio::test]
async fn dynamic_profile_basic_without_public_folders_with_ignore_no_pf() {
    let lab = lab(false).await;
    let config = lab.config("basic", &lab.ca_policy(), true);
    let (result, report) =
        Session::logon_with_report(&config, lab.dynamic(&lab.alice, PASSWORD)).await;
    let session = result.unwrap();
    assert_eq!(session.user_dn(), lab.alice.legacy_dn);
    assert_eq!(report.profile.kind, "dynamic");
    assert_eq!(
        report.profile.proxy_map_entry.as_deref(),
        Some("example.test")
    );
    assert_eq!(report.auth_scheme.as_deref(), Some("Basic"));
    let steps: Vec<&str> = report.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        steps,
        [
            "nspi-bind",
            "nspi-resolve",
            "emsmdb-connect",
            "rop-logon",
            "public-folders"
        ]
    );
    assert!(report.steps.iter().all(|s| s.ok));
    assert_eq!(
        report.public_folders.as_deref(),
        Some("absent (ignored: Ignore No PF is set)")
    );
    let mailbox = report.mailbox.as_ref().unwrap();
    assert_eq!(mailbox.display_name, "Alice Example");
    assert_eq!(mailbox.org_public_folders, Some(false));
    assert_eq!(mailbox.special_folders.len(), 13);
    assert!(!session.has_public_store());
    // The Inbox ID is the server's special folder 5.
    let inbox = lab
        .server
        .store()
        .special_folder(lab.alice.id, 5)
        .unwrap()
        .unwrap();
    assert_eq!(session.default_folder_id(DefaultFolder::Inbox).0, inbox);
    let tls = report.tls.as_ref().unwrap();
    assert_eq!(tls.policy, "ca-file");
    assert!(!tls.verification_skipped);
    assert!(report.warnings.is_empty());
    session.logoff().await.unwrap();
}

#[tokio::test]
async fn dynamic_profile_ntlm() {
    let lab = lab(false).await;
    let config = lab.config("ntlm", &lab.ca_policy(), true);
    let (result, report) =
        Session::logon_with_report(&config, lab.dynamic(&lab.alice, PASSWORD)).await;
    let session = result.unwrap();
    assert_eq!(report.auth_scheme.as_deref(), Some("NTLM"));
    // The NTLM handshake costs two extra round trips on the first request only.
    assert!(
        report.steps[0].http_round_trips >= 2,
        "{:?}",
        report.steps[0]
    );
    assert_eq!(report.steps[1].http_round_trips, 1);
    session.logoff().await.unwrap();
}

#[tokio::test]
async fn no_public_folders_without_ignore_fails_with_failoneprovider() {
    let lab = lab(false).await;
    let config = lab.config("basic", &lab.ca_policy(), false);
    let (result, report) =
        Session::logon_with_report(&config, lab.dynamic(&lab.alice, PASSWORD)).await;
    let err = result.unwrap_err();
    assert_eq!(err.code(), ErrorCode::FAILONEPROVIDER);
    assert_eq!(err.step(), Some("public-folders"));
    assert!(
        err.to_string()
            .contains("MAPI_E_FAILONEPROVIDER 0x8004011D"),
        "{err}"
    );
    assert!(err.hint().unwrap().contains("ignore_no_public_folders"));
    assert_eq!(report.public_folders.as_deref(), Some("absent"));
    assert!(!report.steps.last().unwrap().ok);
    assert_eq!(
        report.error.as_ref().unwrap().mapi_error,
        "MAPI_E_FAILONEPROVIDER"
    );
}

#[tokio::test]
async fn public_folders_present_with_and_without_ignore() {
    let lab = lab(true).await;
    for ignore in [false, true] {
        let config = lab.config("basic", &lab.ca_policy(), ignore);
        let (result, report) =
            Session::logon_with_report(&config, lab.dynamic(&lab.alice, PASSWORD)).await;
        let session = result.unwrap();
        assert!(session.has_public_store());
        assert_eq!(report.public_folders.as_deref(), Some("present"));
        assert_eq!(
            report.mailbox.as_ref().unwrap().org_public_folders,
            Some(true)
        );
        session.logoff().await.unwrap();
    }
}

#[tokio::test]
async fn static_profile_by_name() {
    let lab = lab(false).await;
    let config = lab.config("ntlm", &lab.ca_policy(), true);
    let mut params = LogonParams {
        profile_name: Some("work".into()),
        password: Some(Secret::new(PASSWORD)),
        ..LogonParams::default()
    };
    params.overrides.transport = test_transport();
    let (result, report) = Session::logon_with_report(&config, params).await;
    let session = result.unwrap();
    assert_eq!(report.profile.kind, "static");
    assert_eq!(report.profile.name.as_deref(), Some("work"));
    assert_eq!(session.user_dn(), lab.alice.legacy_dn);
    session.logoff().await.unwrap();
}

#[tokio::test]
async fn wrong_password_is_a_logon_failure_and_leaves_no_state() {
    let lab = lab(false).await;
    for auth in ["basic", "ntlm"] {
        let config = lab.config(auth, &lab.ca_policy(), true);
        let (result, report) =
            Session::logon_with_report(&config, lab.dynamic(&lab.alice, "wrong")).await;
        let err = result.unwrap_err();
        assert_eq!(err.code(), ErrorCode::LOGON_FAILED, "{auth}: {err}");
        assert!(err.is_logon_failure());
        assert_eq!(err.step(), Some("nspi-bind"));
        assert!(!format!("{err} {err:?} {report:?}").contains("wrong"));
        assert_eq!(
            lab.server.session_count(),
            0,
            "{auth}: server kept a session"
        );
    }
}

#[tokio::test]
async fn unknown_and_ambiguous_mailbox_names() {
    let lab = lab(false).await;
    let config = lab.config("basic", &lab.ca_policy(), true);
    let mut params = lab.dynamic(&lab.alice, PASSWORD);
    params.overrides.user = Some("alice".into());
    params.profile_info = Some(format!(
        "{}\nnobody-here",
        lab.alice.personalized_server_name
    ));
    let err = Session::logon(&config, params.clone()).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::NOT_FOUND, "{err}");
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.step(), Some("nspi-resolve"));

    params.profile_info = Some(format!("{}\nJo", lab.alice.personalized_server_name));
    let err = Session::logon(&config, params).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::AMBIGUOUS_RECIP, "{err}");
    assert_eq!(err.kind(), ErrorKind::Ambiguous);
    let text = err.to_string();
    assert!(
        text.contains("Jo Smith") && text.contains("Jo Brown"),
        "{text}"
    );
}

#[tokio::test]
async fn certificate_policies() {
    let lab = lab(false).await;
    // verify: a self-signed certificate is refused, with a hint.
    let config = lab.config("basic", "\"verify\"", true);
    let err = Session::logon(&config, lab.dynamic(&lab.alice, PASSWORD))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Tls, "{err}");
    assert!(err.hint().unwrap().contains("ca_file"));
    // ignore: accepted, with a loud warning in the report.
    let config = lab.config("basic", "\"ignore\"", true);
    let (result, report) =
        Session::logon_with_report(&config, lab.dynamic(&lab.alice, PASSWORD)).await;
    result.unwrap().logoff().await.unwrap();
    assert!(report.tls.as_ref().unwrap().verification_skipped);
    assert!(
        report.warnings.iter().any(|w| w.contains("NOT verified")),
        "{:?}",
        report.warnings
    );
}

#[tokio::test]
async fn expired_session_context_reconnects_for_a_read_only_call() {
    let lab = lab(false).await;
    let config = lab.config("basic", &lab.ca_policy(), true);
    // Over the transport the suite runs on: `expire_all_sessions` expires MAPI/HTTP session
    // contexts (X-ResponseCode 10) and closes RPC/HTTP EMSMDB virtual connections (the
    // session then builds a new one: new channels, bind, EcDoConnectEx, RopLogon).
    let params = lab.dynamic(&lab.alice, PASSWORD);
    let mut session = Session::logon(&config, params).await.unwrap();
    lab.server.expire_all_sessions();
    let row = session
        .store_properties(&[tags::PidTagMailboxOwnerName])
        .await
        .unwrap();
    assert_eq!(session.reconnects(), 1);
    assert_eq!(
        row.values[0],
        RowValue::Value(PropertyValue::Unicode("Alice Example".into()))
    );
    session.logoff().await.unwrap();
}

#[tokio::test]
async fn another_users_mailbox_is_refused() {
    let lab = lab(false).await;
    let config = lab.config("basic", &lab.ca_policy(), true);
    // Bob's mailbox server name with Alice's credentials.
    let mut params = lab.dynamic(&lab.bob, PASSWORD);
    params.overrides.user = Some("alice".into());
    let err = Session::logon(&config, params).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AccessDenied, "{err}");
    // Alice's own server name but Bob's mailbox name: Connect with Bob's DN is refused.
    let mut params = lab.dynamic(&lab.alice, PASSWORD);
    params.profile_info = Some(format!("{}\nbob", lab.alice.personalized_server_name));
    params.overrides.user = Some("alice".into());
    let err = Session::logon(&config, params).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AccessDenied, "{err}");
    assert_eq!(err.step(), Some("emsmdb-connect"));
}

/// Sessions must work on a multi-threaded runtime: their futures are `Send`.
#[test]
fn session_futures_are_send() {
    fn assert_send<T: Send>(_: &T) {}
    let config = Config::default();
    let fut = Session::logon(&config, LogonParams::default());
    assert_send(&fut);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_run_concurrently_on_spawned_tasks() {
    let lab = lab(false).await;
    let config = std::sync::Arc::new(lab.config("ntlm", &lab.ca_policy(), true));
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let config = config.clone();
        let params = lab.dynamic(&lab.alice, PASSWORD);
        tasks.push(tokio::spawn(async move {
            let mut s = Session::logon(&config, params).await?;
            let row = s.store_properties(&[tags::PidTagMailboxOwnerName]).await?;
            s.logoff().await?;
            Ok::<_, oxmapi::Error>(row)
        }));
    }
    for t in tasks {
        let row = t.await.unwrap().unwrap();
        assert_eq!(
            row.values[0],
            RowValue::Value(PropertyValue::Unicode("Alice Example".into()))
        );
    }
}

/// The source's scenario over its own transport: RPC over HTTP v2 (MS-RPCH) carrying NSPI and
/// EMSMDB, with the same proxy-map entry, auth and Ignore No PF.
#[tokio::test]
async fn dynamic_profile_over_rpc_http() {
    let lab = lab(false).await;
    for auth in ["ntlm", "basic"] {
        let config = lab.config(auth, &lab.ca_policy(), true);
        let mut params = lab.dynamic(&lab.alice, PASSWORD);
        params.overrides.transport = Some(oxmapi_profile::Transport::RpcHttp);
        let (result, report) = Session::logon_with_report(&config, params).await;
        let mut session = result.unwrap_or_else(|e| panic!("{auth}: {e}\n{report:#?}"));
        assert_eq!(report.transport.used, "rpchttp");
        assert!(
            report.transport.emsmdb_url.contains("/rpc/rpcproxy.dll?"),
            "{:?}",
            report.transport
        );
        assert_eq!(session.user_dn(), lab.alice.legacy_dn);
        assert_eq!(
            report.public_folders.as_deref(),
            Some("absent (ignored: Ignore No PF is set)")
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
async fn auto_transport_uses_mapi_http_when_available() {
    let lab = lab(false).await;
    let config = lab.config("basic", &lab.ca_policy(), true);
    let mut params = lab.dynamic(&lab.alice, PASSWORD);
    params.overrides.transport = Some(oxmapi_profile::Transport::Auto);
    let (result, report) = Session::logon_with_report(&config, params).await;
    result.unwrap().logoff().await.unwrap();
    assert_eq!(report.transport.used, "mapihttp");
    assert!(report.transport.reason.starts_with("auto"));
}

/// `auto` against a server without MAPI/HTTP (Exchange 2013 before SP1): falls back to RPC
/// over HTTP as Outlook does, and the report says why.
#[tokio::test]
async fn auto_transport_falls_back_to_rpc_http() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = ServerConfig::new(dir.path());
    cfg.listen = "127.0.0.1:0".parse().unwrap();
    cfg.mapi_http = false;
    let server = serve(cfg).await.unwrap();
    let alice = server
        .store()
        .add_user("alice", "Alice Example", PASSWORD)
        .unwrap();
    let toml = format!(
        "ignore_no_public_folders = true\n[proxy_map.\"example.test\"]\nurl = \"https://127.0.0.1:{}\"\nauth = \"ntlm\"\ncertificate = {{ ca_file = {:?} }}\n",
        server.local_addr().port(),
        server.ca_path().display().to_string()
    );
    let config = Config::from_toml(&toml, std::path::Path::new("t.toml")).unwrap();
    let params = LogonParams {
        profile_info: Some(format!("{}\nalice", alice.personalized_server_name)),
        password: Some(Secret::new(PASSWORD)),
        overrides: oxmapi_profile::Overrides {
            transport: Some(oxmapi_profile::Transport::Auto),
            ..Default::default()
        },
        ..LogonParams::default()
    };
    let (result, report) = Session::logon_with_report(&config, params.clone()).await;
    let session = result.unwrap_or_else(|e| panic!("{e}\n{report:#?}"));
    assert_eq!(report.transport.used, "rpchttp");
    assert!(
        report.transport.reason.contains("falling back"),
        "{}",
        report.transport.reason
    );
    assert!(!report.steps[0].ok, "the MAPI/HTTP attempt is reported");
    session.logoff().await.unwrap();
    // mapihttp alone fails with a 404 hint.
    let mut only = params;
    only.overrides.transport = Some(oxmapi_profile::Transport::MapiHttp);
    let err = Session::logon(&config, only).await.unwrap_err();
    assert!(err.to_string().contains("404"), "{err}");
}
