//! With `--json`, a failing command prints one JSON error object on stdout
//! (`{"error": {"name", "code", "kind", "step", "message", "hint", "drafts"}}`) and still
//! exits non-zero; without it, stdout stays empty. The real `oxmapi` binary against the
//! embedded server on loopback HTTPS.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use oxmapi_server::store::UserRecord;
use oxmapi_server::{RunningServer, ServerConfig, serve};
use serde_json::Value;

const PASSWORD: &str = "Js0n-Err0rs-Pa55";

struct Lab {
    _server: RunningServer,
    _dir: tempfile::TempDir,
    config: PathBuf,
    alice: UserRecord,
}

async fn lab() -> Lab {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = ServerConfig::new(dir.path().join("server"));
    cfg.listen = "127.0.0.1:0".parse().unwrap();
    let server = serve(cfg).await.unwrap();
    let alice = server
        .store()
        .add_user("alice", "Alice Example", PASSWORD)
        .unwrap();
    let config = dir.path().join("oxmapi.toml");
    std::fs::write(
        &config,
        format!(
            "ignore_no_public_folders = true\n[proxy_map.\"example.test\"]\nurl = \"https://127.0.0.1:{}\"\nauth = \"basic\"\ncertificate = {{ ca_file = {:?} }}\n",
            server.local_addr().port(),
            server.ca_path().display().to_string()
        ),
    )
    .unwrap();
    Lab {
        _server: server,
        _dir: dir,
        config,
        alice,
    }
}

struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Lab {
    /// Runs `oxmapi <args>` as alice with `password`, off the async runtime.
    async fn run(&self, password: &str, args: &[&str]) -> Out {
        let mut cmd = Command::cargo_bin("oxmapi").unwrap();
        cmd.args(args)
            .arg("--profile-info")
            .arg(format!("{}\\nalice", self.alice.personalized_server_name))
            .args(["--user", "alice", "--config"])
            .arg(&self.config)
            .env("OXMAPI_PASSWORD", password)
            .env_remove("OXMAPI_CONFIG")
            .env_remove("OXMAPI_LOG");
        let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap();
        Out {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// The one JSON error object on stdout.
fn error_of(out: &Out) -> Value {
    assert_ne!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
    let v: Value = serde_json::from_str(out.stdout.trim())
        .unwrap_or_else(|e| panic!("stdout is not one JSON value ({e}): {:?}", out.stdout));
    let err = v["error"].clone();
    assert!(err.is_object(), "{v}");
    for field in ["name", "code", "kind", "step", "message", "hint", "drafts"] {
        assert!(err.get(field).is_some(), "no {field:?} in {err}");
    }
    assert!(
        err["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{err}"
    );
    err
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_logon_is_a_json_error_on_stdout() {
    let lab = lab().await;
    let wrong = "Wr0ng-Js0n-Pa55";
    let out = lab.run(wrong, &["ls", "Inbox", "--json"]).await;
    let err = error_of(&out);
    assert_eq!(err["name"], "MAPI_E_LOGON_FAILED", "{err}");
    assert_eq!(err["code"], "0x80040111", "{err}");
    assert_eq!(err["kind"], "Authentication", "{err}");
    assert!(err["step"].is_string(), "{err}");
    assert!(err["hint"].is_string(), "{err}");
    assert!(!out.stdout.contains(wrong) && !out.stderr.contains(wrong));
    // The person still reads it on stderr.
    assert!(out.stderr.contains("MAPI_E_LOGON_FAILED"), "{}", out.stderr);

    // Without --json: nothing on stdout.
    let out = lab.run(wrong, &["ls", "Inbox"]).await;
    assert_eq!(out.code, Some(1));
    assert_eq!(out.stdout, "");
    assert!(out.stderr.contains("MAPI_E_LOGON_FAILED"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_send_and_a_missing_folder_are_json_errors() {
    let lab = lab().await;
    let out = lab
        .run(
            PASSWORD,
            &[
                "send",
                "--json",
                "--to",
                "nobody-by-that-name",
                "--subject",
                "x",
            ],
        )
        .await;
    let err = error_of(&out);
    assert!(
        err["name"]
            .as_str()
            .is_some_and(|n| n.starts_with("MAPI_E_")),
        "{err}"
    );
    assert!(
        err["message"]
            .as_str()
            .is_some_and(|m| m.contains("nobody-by-that-name")),
        "{err}"
    );
    assert_eq!(
        err["drafts"],
        Value::Array(Vec::new()),
        "nothing was created"
    );

    let out = lab.run(PASSWORD, &["ls", "No Such Folder", "--json"]).await;
    let err = error_of(&out);
    assert!(
        err["message"]
            .as_str()
            .is_some_and(|m| m.contains("No Such Folder")),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_that_is_not_a_mapi_error_has_null_name_and_code() {
    let lab = lab().await;
    let missing = Path::new("/nonexistent/oxmapi-body.txt");
    let out = lab
        .run(
            PASSWORD,
            &[
                "send",
                "--json",
                "--to",
                "alice",
                "--subject",
                "x",
                "--body-file",
                missing.to_str().unwrap(),
            ],
        )
        .await;
    let err = error_of(&out);
    assert_eq!(err["name"], Value::Null, "{err}");
    assert_eq!(err["code"], Value::Null, "{err}");
    assert!(
        err["message"]
            .as_str()
            .is_some_and(|m| m.contains("oxmapi-body.txt")),
        "{err}"
    );
}
