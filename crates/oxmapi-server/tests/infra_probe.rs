//! Runs the independent Python MAPI/HTTP probe (`shared/tools/mapihttp-probe.py`, found
//! beside the repository as CI lays it out, or at `$OXMAPI_SHARED_DIR`) against the server:
//! NSPI Bind/Unbind and name resolution (ResolveNames → DNToMId → GetProps), and the folder
//! listing. CI installs python3 and lays out shared/, so a missing probe or interpreter is a
//! failure, not a skip.

#[path = "infra_support.rs"]
mod support;

use std::path::PathBuf;
use std::process::Command;

use support::*;

/// `shared/` beside the repository root (`<root>/../shared`), or `$OXMAPI_SHARED_DIR`.
fn shared_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("OXMAPI_SHARED_DIR") {
        return PathBuf::from(dir);
    }
    // CARGO_MANIFEST_DIR is <root>/crates/oxmapi-server.
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

/// The probe's path; panics (fails the test) when it or python3 is missing.
fn probe_path() -> String {
    let probe = shared_dir().join("tools/mapihttp-probe.py");
    assert!(
        probe.is_file(),
        "the independent probe is missing at {} (CI lays shared/ beside the clone; set \
         OXMAPI_SHARED_DIR to point elsewhere)",
        probe.display()
    );
    let ok = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "python3 is required for the probe interop test (scripts/check.sh installs it)"
    );
    probe.display().to_string()
}

async fn probe(ts: &TestServer, extra: &[&str]) -> (i32, String) {
    let mut args = vec![
        probe_path(),
        "--url".to_owned(),
        format!("https://127.0.0.1:{}", ts.server.local_addr().port()),
        "--mailbox-id".to_owned(),
        ts.alice.personalized_server_name.clone(),
        "--user-dn".to_owned(),
        ts.alice.legacy_dn.clone(),
        "--user".to_owned(),
        "alice".to_owned(),
        "--ca-file".to_owned(),
        ts.server.ca_path().display().to_string(),
        "--json".to_owned(),
    ];
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let out = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .args(&args)
            .env("OXMAPI_PASSWORD", ALICE_PASSWORD)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_probe_nspi_bind_and_resolve() {
    let ts = start().await;
    let (code, out) = probe(&ts, &["--nspi-bind"]).await;
    assert_eq!(code, 0, "probe --nspi-bind failed:\n{out}");
    for name in ["alice", "alice@example.test", "Alice Example"] {
        let (code, out) = probe(&ts, &["--resolve", name]).await;
        assert_eq!(code, 0, "probe --resolve {name} failed:\n{out}");
        assert!(out.contains(&ts.alice.legacy_dn), "{out}");
        assert!(!out.contains("\"warnings\": [\""), "probe warnings:\n{out}");
    }
    // The mailbox listing (Connect, RopLogon, RopOpenFolder, contents table, QueryRows,
    // Release, Disconnect) runs through the emsmdb ROP handlers.
    for folder in ["inbox", "Drafts"] {
        let (code, out) = probe(&ts, &["--folder", folder]).await;
        assert_eq!(code, 0, "probe --folder {folder} failed:\n{out}");
    }
    let (code, out) = probe(&ts, &["--resolve", "nobody"]).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("unresolved"), "{out}");
    ts.server.shutdown().await;
}
