//! `oxmapi server add-user | import | queue` as an administrator runs them.

use std::process::Command;

use assert_cmd::prelude::*;

fn oxmapi(args: &[&str]) -> std::process::Output {
    Command::cargo_bin("oxmapi")
        .unwrap()
        .args(args)
        .env("OXMAPI_PASSWORD", "Adm1n-Pass")
        .output()
        .unwrap()
}

#[test]
fn add_user_import_eml_and_empty_queue() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let out = oxmapi(&[
        "server",
        "add-user",
        "--data",
        data,
        "--alias",
        "al",
        "--display-name",
        "Al Lee",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("@example.test"), "{text}");
    assert!(text.contains("/cn=Recipients/cn=al"), "{text}");
    assert!(!text.contains("Adm1n-Pass"));

    let eml = dir.path().join("hello.eml");
    std::fs::write(
        &eml,
        "From: Bob <bob@outside.test>\r\nTo: al@example.test\r\nSubject: Gr\u{fc}\u{df}e\r\n\
         Date: Tue, 24 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nHallo aus K\u{f6}ln\r\n",
    )
    .unwrap();
    let out = oxmapi(&[
        "server",
        "import",
        "--data",
        data,
        "--user",
        "al",
        eml.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{:?}", out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("imported 1 message(s)"));

    // An unknown user is refused with a message naming it.
    let out = oxmapi(&[
        "server",
        "import",
        "--data",
        data,
        "--user",
        "nobody",
        eml.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nobody"));

    let out = oxmapi(&["server", "queue", "--data", data, "--json"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v, serde_json::json!([]));
}

#[test]
fn import_applies_the_server_configs_message_size_limit() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let out = oxmapi(&[
        "server",
        "add-user",
        "--data",
        data,
        "--alias",
        "al",
        "--display-name",
        "Al Lee",
    ]);
    assert!(out.status.success(), "{out:?}");
    let small = dir.path().join("small.eml");
    std::fs::write(
        &small,
        "From: b@outside.test\r\nTo: al@example.test\r\nSubject: small\r\n\r\nhi\r\n",
    )
    .unwrap();
    let big = dir.path().join("big.eml");
    let body = "x".repeat(64 * 1024);
    std::fs::write(
        &big,
        format!("From: b@outside.test\r\nTo: al@example.test\r\nSubject: big\r\n\r\n{body}\r\n"),
    )
    .unwrap();
    let config = dir.path().join("server.toml");
    std::fs::write(&config, "[limits]\nmax_message_size = 16384\n").unwrap();
    let cfg = config.to_str().unwrap();
    for (file, imported) in [(&small, true), (&big, false)] {
        let out = oxmapi(&[
            "server",
            "import",
            "--data",
            data,
            "--user",
            "al",
            "--config",
            cfg,
            file.to_str().unwrap(),
        ]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if imported {
            assert!(out.status.success(), "{out:?}");
            assert!(stdout.contains("imported 1 message(s)"), "{stdout}");
        } else {
            assert!(!out.status.success(), "{out:?}");
            assert!(stdout.contains("imported 0 message(s)"), "{stdout}");
            assert!(
                stderr.contains("skipped") && stderr.contains("big.eml"),
                "{stderr}"
            );
        }
    }
    // Without the config the default limit (64 MiB) applies: the big one goes in.
    let out = oxmapi(&[
        "server",
        "import",
        "--data",
        data,
        "--user",
        "al",
        big.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{out:?}");
}
