//! The lab shared by the write and address-book suites: the embedded server on loopback
//! HTTPS with four users, and dynamic-profile logons to it (the `lab()` pattern of
//! `tests/logon.rs`).

#![allow(dead_code)] // each suite uses part of it

use oxmapi::{LogonParams, Session};
use oxmapi_profile::{Config, Secret};
use oxmapi_server::store::UserRecord;
use oxmapi_server::{RunningServer, ServerConfig, serve};

pub(crate) const ALICE_PW: &str = "Passw0rd!";
pub(crate) const BOB_PW: &str = "bobs-password";

/// The transport the suite runs over: env `OXMAPI_TEST_TRANSPORT` = `mapihttp` (the default)
/// or `rpchttp` (`scripts/check.sh` runs the suites both ways).
pub(crate) fn test_transport() -> Option<oxmapi_profile::Transport> {
    match std::env::var("OXMAPI_TEST_TRANSPORT").as_deref() {
        Err(_) | Ok("") => None,
        Ok("mapihttp") => Some(oxmapi_profile::Transport::MapiHttp),
        Ok("rpchttp") => Some(oxmapi_profile::Transport::RpcHttp),
        Ok(other) => panic!("OXMAPI_TEST_TRANSPORT={other:?}: use mapihttp or rpchttp"),
    }
}

pub(crate) struct Lab {
    pub(crate) server: RunningServer,
    pub(crate) _dir: tempfile::TempDir,
    pub(crate) alice: UserRecord,
    pub(crate) bob: UserRecord,
}

pub(crate) async fn lab() -> Lab {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = ServerConfig::new(dir.path());
    cfg.listen = "127.0.0.1:0".parse().unwrap();
    cfg.public_folders = false;
    let server = serve(cfg).await.unwrap();
    let alice = server
        .store()
        .add_user("alice", "Alice Example", ALICE_PW)
        .unwrap();
    let bob = server
        .store()
        .add_user("bob", "Bob Builder", BOB_PW)
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
    pub(crate) fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.server.local_addr().port())
    }

    /// A config whose proxy map sends the users' server names to `url` (the lab, or a
    /// proxy in front of it).
    pub(crate) fn config_via(&self, url: &str) -> Config {
        let toml = format!(
            r#"
ignore_no_public_folders = true
[proxy_map."example.test"]
url = "{url}"
auth = "basic"
certificate = {{ ca_file = {ca:?} }}
"#,
            ca = self.server.ca_path().display().to_string(),
        );
        Config::from_toml(&toml, std::path::Path::new("test.toml")).unwrap()
    }

    pub(crate) fn config(&self) -> Config {
        self.config_via(&self.url())
    }

    pub(crate) fn params(user: &UserRecord, password: &str) -> LogonParams {
        let mut p = LogonParams {
            profile_info: Some(format!("{}\n{}", user.personalized_server_name, user.alias)),
            password: Some(Secret::new(password)),
            ..LogonParams::default()
        };
        p.overrides.transport = test_transport();
        p
    }

    pub(crate) async fn alice(&self) -> Session {
        Session::logon(&self.config(), Self::params(&self.alice, ALICE_PW))
            .await
            .unwrap()
    }

    pub(crate) async fn bob(&self) -> Session {
        Session::logon(&self.config(), Self::params(&self.bob, BOB_PW))
            .await
            .unwrap()
    }
}
