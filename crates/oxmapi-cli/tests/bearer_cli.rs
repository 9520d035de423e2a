//! Bearer tokens from the command line: `oxmapi server issue-token|revoke-token`, then
//! `oxmapi -vvv logon --token-file` / `$OXMAPI_TOKEN` against the embedded server on loopback
//! HTTPS. The token must never reach the output, even at trace level, and nothing is prompted.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use assert_cmd::prelude::*;
use oxmapi_server::{ServerConfig, serve};

struct Lab {
    server: oxmapi_server::RunningServer,
    dir: tempfile::TempDir,
    config: tempfile::NamedTempFile,
    server_name: String,
}

async fn lab() -> Lab {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = ServerConfig::new(dir.path());
    cfg.listen = "127.0.0.1:0".parse().unwrap();
    let server = serve(cfg).await.unwrap();
    let u = server
        .store()
        .add_user("alice", "Alice Example", "unused-password")
        .unwrap();
    let mut config = tempfile::NamedTempFile::new().unwrap();
    write!(
        config,
        "ignore_no_public_folders = true\n[proxy_map.\"example.test\"]\nurl = \"https://127.0.0.1:{}\"\nauth = \"bearer\"\ncertificate = {{ ca_file = {:?} }}\n",
        server.local_addr().port(),
        server.ca_path().display().to_string()
    )
    .unwrap();
    Lab {
        server,
        dir,
        config,
        server_name: u.personalized_server_name,
    }
}

fn oxmapi(args: &[&str]) -> Command {
    let mut cmd = Command::cargo_bin("oxmapi").unwrap();
    cmd.args(args)
        .stdin(Stdio::null())
        .env_remove("OXMAPI_CONFIG")
        .env_remove("OXMAPI_PASSWORD")
        .env_remove("OXMAPI_TOKEN");
    cmd
}

fn logon(lab: &Lab, extra: &[&str], token_env: Option<&str>) -> Output {
    let mut cmd = oxmapi(&["-vvv", "logon", "--config"]);
    cmd.arg(lab.config.path())
        .args(["--profile-info", &format!("{}\\nalice", lab.server_name)])
        .args(extra);
    if let Some(t) = token_env {
        cmd.env("OXMAPI_TOKEN", t);
    }
    cmd.output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn issue(data: &Path, extra: &[&str]) -> (String, Output) {
    let out = oxmapi(&["server", "issue-token", "--data"])
        .arg(data)
        .args(["--alias", "alice"])
        .args(extra)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let token = String::from_utf8(out.stdout.clone())
        .unwrap()
        .trim()
        .to_owned();
    (token, out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_logon_revoke_and_the_token_never_shows() {
    let lab = lab().await;
    let (token, issued) = tokio::task::block_in_place(|| issue(lab.dir.path(), &[]));
    assert!(token.starts_with("oxmapi_"), "{token}");
    assert_eq!(
        String::from_utf8_lossy(&issued.stdout)
            .matches(&token)
            .count(),
        1,
        "printed once"
    );
    assert!(!String::from_utf8_lossy(&issued.stderr).contains(&token));
    assert!(String::from_utf8_lossy(&issued.stderr).contains("for alice expires"));

    let token_file = lab.dir.path().join("token.txt");
    std::fs::write(&token_file, format!("{token}\n")).unwrap();
    let file_arg = token_file.to_str().unwrap();

    // --token-file, at trace level.
    let out = tokio::task::block_in_place(|| logon(&lab, &["--token-file", file_arg], None));
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    assert!(all.contains("auth            bearer as alice"), "{all}");
    assert!(all.contains("ok   rop-logon"), "{all}");
    assert!(!all.contains(&token), "token in the output");
    assert!(
        !all.contains(&token[..20]),
        "part of the token in the output"
    );

    // $OXMAPI_TOKEN, as JSON.
    let out = tokio::task::block_in_place(|| logon(&lab, &["--json"], Some(&token)));
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    assert!(!all.contains(&token), "token in the output");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["profile"]["auth"], "bearer");
    assert_eq!(report["auth_scheme"], "Bearer");

    // Revoked: a logon failure with the hint, still no token.
    let out = oxmapi(&["server", "revoke-token", "--data"])
        .arg(lab.dir.path())
        .args(["--token-file", file_arg])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(!text(&out).contains(&token));
    let out = tokio::task::block_in_place(|| logon(&lab, &["--token-file", file_arg], None));
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("MAPI_E_LOGON_FAILED 0x80040111"), "{all}");
    assert!(all.contains("obtain a new token"), "{all}");
    assert!(!all.contains(&token), "token in the output");
    drop(lab.server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_token_and_missing_token() {
    let lab = lab().await;
    let (token, _) = tokio::task::block_in_place(|| issue(lab.dir.path(), &["--expires-in", "0"]));
    let out = tokio::task::block_in_place(|| logon(&lab, &[], Some(&token)));
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("MAPI_E_LOGON_FAILED 0x80040111"), "{all}");
    assert!(all.contains("hint: the bearer token was refused"), "{all}");
    assert!(!all.contains(&token), "token in the output");

    // No token at all: a clear error, no password prompt (stdin is not a terminal anyway).
    let out = tokio::task::block_in_place(|| logon(&lab, &[], None));
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("no bearer token"), "{all}");
    assert!(all.contains("--token-file"), "{all}");
    assert!(!all.to_ascii_lowercase().contains("password:"), "{all}");

    // A malformed token file is refused before anything is sent, without echoing it.
    let bad = lab.dir.path().join("bad.txt");
    std::fs::write(&bad, "Bearer sekrit-value\n").unwrap();
    let out =
        tokio::task::block_in_place(|| logon(&lab, &["--token-file", bad.to_str().unwrap()], None));
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("not one bearer token"), "{all}");
    assert!(!all.contains("sekrit"), "{all}");
    drop(lab.server);
}
