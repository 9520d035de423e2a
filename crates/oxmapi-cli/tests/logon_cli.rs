//! `oxmapi logon` and `oxmapi demo` as a person runs them: real binary, real server on
//! loopback HTTPS, output checked. Passwords must never reach the output, even at trace level.

use std::io::Write;
use std::process::Command;

use assert_cmd::prelude::*;
use oxmapi_server::{ServerConfig, serve};

const PASSWORD: &str = "S3cret-Pa55-ZqX";

struct Lab {
    server: oxmapi_server::RunningServer,
    _dir: tempfile::TempDir,
    config: tempfile::NamedTempFile,
    server_name: String,
}

async fn lab(auth: &str, certificate: &str) -> Lab {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = ServerConfig::new(dir.path());
    cfg.listen = "127.0.0.1:0".parse().unwrap();
    let server = serve(cfg).await.unwrap();
    let u = server
        .store()
        .add_user("alice", "Alice Example", PASSWORD)
        .unwrap();
    let certificate = if certificate == "ca" {
        format!(
            "{{ ca_file = {:?} }}",
            server.ca_path().display().to_string()
        )
    } else {
        format!("{certificate:?}")
    };
    let mut config = tempfile::NamedTempFile::new().unwrap();
    write!(
        config,
        "ignore_no_public_folders = true\n[proxy_map.\"example.test\"]\nurl = \"https://127.0.0.1:{}\"\nauth = \"{auth}\"\ncertificate = {certificate}\n",
        server.local_addr().port()
    )
    .unwrap();
    Lab {
        server,
        _dir: dir,
        config,
        server_name: u.personalized_server_name,
    }
}

fn logon(lab: &Lab, password: &str, extra: &[&str]) -> std::process::Output {
    let mut cmd = Command::cargo_bin("oxmapi").unwrap();
    cmd.args(["-vvv", "logon", "--config"])
        .arg(lab.config.path())
        .args([
            "--profile-info",
            &format!("{}\\nalice", lab.server_name),
            "--user",
            "alice",
        ])
        .args(extra)
        .env("OXMAPI_PASSWORD", password)
        .env_remove("OXMAPI_CONFIG");
    cmd.output().unwrap()
}

fn text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logon_json_report_and_no_password_in_output() {
    for auth in ["ntlm", "basic"] {
        let lab = lab(auth, "ca").await;
        let out = tokio::task::spawn_blocking({
            let lab_cfg = (lab.config.path().to_owned(), lab.server_name.clone());
            move || {
                let mut cmd = Command::cargo_bin("oxmapi").unwrap();
                cmd.args(["-vvv", "logon", "--json", "--config"])
                    .arg(&lab_cfg.0)
                    .args(["--profile-info", &format!("{}\\nalice", lab_cfg.1)])
                    .args(["--user", "alice"])
                    .env("OXMAPI_PASSWORD", PASSWORD)
                    .env_remove("OXMAPI_CONFIG");
                cmd.output().unwrap()
            }
        })
        .await
        .unwrap();
        let all = text(&out);
        assert!(out.status.success(), "{auth}: {all}");
        assert!(!all.contains(PASSWORD), "{auth}: password in output");
        // Nor the Basic credentials in their base64 form (a traced Authorization header).
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(format!("alice:{PASSWORD}"));
        assert!(!all.contains(&b64[..20]), "{auth}: credentials in output");
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["profile"]["kind"], "dynamic");
        assert_eq!(report["profile"]["proxy_map_entry"], "example.test");
        assert_eq!(report["mailbox"]["display_name"], "Alice Example");
        assert_eq!(report["steps"].as_array().unwrap().len(), 5);
        assert_eq!(
            report["public_folders"],
            "absent (ignored: Ignore No PF is set)"
        );
        drop(lab);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_names_the_step_and_hides_the_password() {
    let lab = lab("ntlm", "ca").await;
    let wrong = "Wr0ng-Pa55-Unique-777";
    let out = tokio::task::block_in_place(|| logon(&lab, wrong, &[]));
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("MAPI_E_LOGON_FAILED 0x80040111"), "{all}");
    assert!(all.contains("FAILED at step nspi-bind"), "{all}");
    assert!(all.contains("hint:"), "{all}");
    assert!(!all.contains(wrong), "password in output: {all}");
    assert!(!all.contains(PASSWORD));
    drop(lab.server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ignored_certificate_is_announced_loudly() {
    let lab = lab("basic", "ignore").await;
    let out = tokio::task::block_in_place(|| logon(&lab, PASSWORD, &[]));
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("WARNING: the server certificate was NOT verified"),
        "{all}"
    );
}

#[test]
fn demo_runs_on_both_transports() {
    for transport in ["mapihttp", "rpchttp"] {
        let out = Command::cargo_bin("oxmapi")
            .unwrap()
            .args(["demo", "--transport", transport])
            .output()
            .unwrap();
        let all = text(&out);
        assert!(out.status.success(), "{transport}: {all}");
        assert!(all.contains("Ignore No PF    set"), "{all}");
        assert!(
            all.contains(&format!("transport       {transport}")),
            "{all}"
        );
        assert!(all.contains("ok   rop-logon"), "{all}");
    }
}

#[test]
fn demo_without_ignore_no_pf_fails_like_cdo() {
    let out = Command::cargo_bin("oxmapi")
        .unwrap()
        .args(["demo", "--no-ignore-no-pf"])
        .output()
        .unwrap();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("MAPI_E_FAILONEPROVIDER 0x8004011D"), "{all}");
}
