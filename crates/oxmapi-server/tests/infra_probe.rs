//! Runs the independent Python MAPI/HTTP probe (`/work/shared/tools/mapihttp-probe.py`)
//! against the server: NSPI Bind/Unbind and name resolution (ResolveNames → DNToMId →
//! GetProps). Skipped with a note when python3 or the probe is absent.

#[path = "infra_support.rs"]
mod support;

use std::path::Path;
use std::process::Command;

use support::*;

const PROBE: &str = "/work/shared/tools/mapihttp-probe.py";

fn python() -> Option<&'static str> {
    if !Path::new(PROBE).exists() {
        return None;
    }
    let ok = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then_some("python3")
}

async fn probe(ts: &TestServer, extra: &[&str]) -> (i32, String) {
    let mut args = vec![
        PROBE.to_owned(),
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
    if python().is_none() {
        eprintln!("note: python3 or {PROBE} not available; probe test skipped");
        return;
    }
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
