//! `oxmapi folders / ls / show / save-attachments / export` end to end against the embedded
//! server on loopback HTTPS, with messages imported from .eml files by the server's importer.

use std::path::PathBuf;

use assert_cmd::Command;
use mail_builder::MessageBuilder;
use mail_parser::{MessageParser, MimeHeaders};
use oxmapi_server::{RunningServer, ServerConfig, serve};

const PASSWORD: &str = "Passw0rd!";

struct Lab {
    server: RunningServer,
    dir: tempfile::TempDir,
    profile_info: String,
    config: PathBuf,
    samples: Vec<Vec<u8>>,
}

fn samples() -> Vec<Vec<u8>> {
    let png: Vec<u8> = (0..3000u32).map(|i| (i * 7 % 251) as u8).collect();
    vec![
        MessageBuilder::new()
            .from(("Jürgen Müller", "jm@example.test"))
            .to(("Alice Example", "alice@example.test"))
            .subject("Grüße aus Köln — ½ €")
            .date(1_709_251_200u64)
            .message_id("gruss.1@example.test")
            .text_body("Liebe Grüße aus Köln!\nBis bald — ½ € für dich.\n")
            .write_to_vec()
            .unwrap(),
        MessageBuilder::new()
            .from(("Bob Builder", "bob@example.test"))
            .to(("Alice Example", "alice@example.test"))
            .cc(("Eve Adams", "eve@example.test"))
            .subject("Quarterly report")
            .date(1_709_337_600u64)
            .message_id("report.2@example.test")
            .text_body("The report is attached.\n")
            .html_body("<p>The report is <b>attached</b>.</p>")
            .attachment("text/plain", "report.txt", b"numbers: 1 2 3\n".to_vec())
            .attachment("image/png", "logo.png", png)
            .write_to_vec()
            .unwrap(),
        MessageBuilder::new()
            .from(("Eve Adams", "eve@example.test"))
            .to(("Alice Example", "alice@example.test"))
            .subject("lunch?")
            .date(1_709_424_000u64)
            .message_id("lunch.3@example.test")
            .text_body("Noon at the usual place?\n")
            .write_to_vec()
            .unwrap(),
    ]
}

async fn lab() -> Lab {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = ServerConfig::new(dir.path().join("server"));
    cfg.listen = "127.0.0.1:0".parse().unwrap();
    let server = serve(cfg).await.unwrap();
    let alice = server
        .store()
        .add_user("alice", "Alice Example", PASSWORD)
        .unwrap();
    let eml_dir = dir.path().join("in");
    std::fs::create_dir_all(&eml_dir).unwrap();
    let samples = samples();
    for (i, s) in samples.iter().enumerate() {
        std::fs::write(eml_dir.join(format!("{i}.eml")), s).unwrap();
    }
    let report = oxmapi_server::import::import_eml(server.store(), "alice", &eml_dir).unwrap();
    assert_eq!(report.imported.len(), 3, "{report:?}");
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
        profile_info: format!("{}\n{}", alice.personalized_server_name, alice.alias),
        server,
        dir,
        config,
        samples,
    }
}

impl Lab {
    /// Runs `oxmapi <args> --profile-info ... --config ...` off the async runtime.
    async fn run(&self, args: &[&str]) -> (bool, String, String) {
        let mut cmd = Command::cargo_bin("oxmapi").unwrap();
        cmd.args(args)
            .arg("--profile-info")
            .arg(&self.profile_info)
            .arg("--config")
            .arg(&self.config)
            .env("OXMAPI_PASSWORD", PASSWORD)
            .env_remove("OXMAPI_CONFIG");
        let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    async fn ok(&self, args: &[&str]) -> String {
        let (ok, out, err) = self.run(args).await;
        assert!(ok, "oxmapi {args:?} failed:\n{err}");
        assert!(!err.contains("panicked"), "{err}");
        out
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }
}

fn json_lines(s: &str) -> Vec<serde_json::Value> {
    s.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn folders_ls_show_save_attachments() {
    let lab = lab().await;

    let folders: serde_json::Value =
        serde_json::from_str(&lab.ok(&["folders", "--json"]).await).unwrap();
    let inbox = folders
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "Inbox")
        .unwrap();
    assert_eq!(inbox["count"], 3);
    let tree = lab.ok(&["folders"]).await;
    assert!(tree.contains("Inbox (3"), "{tree}");

    let all = json_lines(
        &lab.ok(&["ls", "Inbox", "--json", "--sort", "received"])
            .await,
    );
    let subjects: Vec<&str> = all.iter().map(|r| r["subject"].as_str().unwrap()).collect();
    assert_eq!(
        subjects,
        ["Grüße aus Köln — ½ €", "Quarterly report", "lunch?"]
    );
    let newest = json_lines(&lab.ok(&["ls", "Inbox", "--json", "--limit", "1"]).await);
    assert_eq!(newest.len(), 1);
    assert_eq!(newest[0]["subject"], "lunch?");
    let from_bob = json_lines(&lab.ok(&["ls", "Inbox", "--json", "--from", "bob"]).await);
    assert_eq!(from_bob.len(), 1);
    assert_eq!(from_bob[0]["attachments"], true);
    let subj = json_lines(
        &lab.ok(&["ls", "Inbox", "--json", "--subject", "KÖLN"])
            .await,
    );
    assert_eq!(subj.len(), 1);
    let since = json_lines(
        &lab.ok(&["ls", "Inbox", "--json", "--since", "2024-03-02T00:00:00Z"])
            .await,
    );
    assert_eq!(since.len(), 2);
    let text = lab.ok(&["ls", "Inbox", "--sort", "subject"]).await;
    assert_eq!(text.lines().count(), 3, "{text}");

    // show: the ID printed by ls.
    let id = from_bob[0]["id"].as_str().unwrap().to_owned();
    let shown: serde_json::Value =
        serde_json::from_str(&lab.ok(&["show", &id, "--json"]).await).unwrap();
    assert_eq!(shown["subject"], "Quarterly report");
    assert_eq!(
        shown["body"].as_str().unwrap().trim_end(),
        "The report is attached."
    );
    assert_eq!(shown["recipients"].as_array().unwrap().len(), 2);
    assert_eq!(shown["attachments"].as_array().unwrap().len(), 2);
    let html = lab.ok(&["show", &id, "--html"]).await;
    assert!(html.contains("<b>attached</b>"), "{html}");
    let plain = lab.ok(&["show", &id]).await;
    assert!(
        plain.contains("Subject:  Quarterly report") && plain.contains("Cc:"),
        "{plain}"
    );

    // save-attachments: byte-compared with the .eml's parts.
    let out = lab.path("saved");
    lab.ok(&["save-attachments", &id, out.to_str().unwrap()])
        .await;
    let original = MessageParser::default().parse(&lab.samples[1]).unwrap();
    for a in original.attachments() {
        let name = a.attachment_name().unwrap();
        assert_eq!(
            std::fs::read(out.join(name)).unwrap(),
            a.contents(),
            "{name}"
        );
    }

    // Bad input: a typed error, no panic.
    let (ok, _, err) = lab.run(&["show", "00FF"]).await;
    assert!(
        !ok && err.contains("message ID") && !err.contains("panicked"),
        "{err}"
    );
    let (ok, _, err) = lab.run(&["ls", "Inbox/Nope"]).await;
    assert!(
        !ok && err.contains("\"Nope\"") && err.contains("MAPI_E_NOT_FOUND"),
        "{err}"
    );
    lab.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn export_round_trips_the_imported_samples() {
    let lab = lab().await;
    let out = lab.path("export");
    let (ok, _, err) = lab
        .run(&["export", "Inbox", "--eml", out.to_str().unwrap()])
        .await;
    assert!(ok, "{err}");
    assert!(err.contains("exported 3 message(s)"), "{err}");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 3, "{files:?}");
    assert!(files.iter().all(|f| f.extension().unwrap() == "eml"));
    for original in &lab.samples {
        let want = MessageParser::default().parse(original).unwrap();
        let subject = want.subject().unwrap();
        let got_bytes = files
            .iter()
            .map(|f| std::fs::read(f).unwrap())
            .find(|b| MessageParser::default().parse(b).unwrap().subject() == Some(subject))
            .unwrap_or_else(|| panic!("no export with subject {subject}"));
        let got = MessageParser::default().parse(&got_bytes).unwrap();
        assert_eq!(
            got.body_text(0).map(|t| t.trim_end().to_owned()),
            want.body_text(0).map(|t| t.trim_end().to_owned()),
            "{subject}"
        );
        assert_eq!(
            got.from().unwrap().first().unwrap().address(),
            want.from().unwrap().first().unwrap().address()
        );
        assert_eq!(
            got.date().map(|d| d.to_timestamp()),
            want.date().map(|d| d.to_timestamp())
        );
        assert_eq!(got.message_id(), want.message_id());
        let parts = |m: &mail_parser::Message<'_>| -> Vec<(String, Vec<u8>)> {
            m.attachments()
                .map(|a| {
                    (
                        a.attachment_name().unwrap_or("").to_owned(),
                        a.contents().to_vec(),
                    )
                })
                .collect()
        };
        assert_eq!(parts(&got), parts(&want), "{subject}");
        if subject == "Quarterly report" {
            let html = got.body_html(0).unwrap();
            assert!(
                html.contains("<b>attached</b>"),
                "{html}\n{}",
                String::from_utf8_lossy(&got_bytes)
            );
        }
    }
    // Re-running skips what is there and writes nothing new.
    let (ok, _, err) = lab
        .run(&["export", "Inbox", "--eml", out.to_str().unwrap()])
        .await;
    assert!(ok, "{err}");
    assert!(
        err.contains("exported 0 message(s)") && err.contains("3 already there"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_dir(&out).unwrap().count(),
        3,
        "no temp files left"
    );
    lab.server.shutdown().await;
}

/// An export killed half-way leaves only complete `.eml` files (each is written under a
/// temporary `.part` name and renamed when whole), and the next run finishes the job without
/// rewriting what is there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupted_export_leaves_only_complete_files() {
    let lab = lab().await;
    // Enough messages that the export takes a while.
    let mut many = Vec::new();
    for i in 0..300 {
        many.push(
            MessageBuilder::new()
                .from(("Bulk Sender", "bulk@example.test"))
                .to(("Alice Example", "alice@example.test"))
                .subject(format!("bulk {i}"))
                .date(1_709_500_000u64 + i)
                .message_id(format!("bulk.{i}@example.test"))
                .text_body("x".repeat(20_000))
                .write_to_vec()
                .unwrap(),
        );
    }
    let bulk_dir = lab.path("bulk");
    std::fs::create_dir_all(&bulk_dir).unwrap();
    for (i, m) in many.iter().enumerate() {
        std::fs::write(bulk_dir.join(format!("{i}.eml")), m).unwrap();
    }
    oxmapi_server::import::import_eml(lab.server.store(), "alice", &bulk_dir).unwrap();
    let total = 3 + many.len();
    let out = lab.path("export");
    let bin = assert_cmd::cargo::cargo_bin("oxmapi");
    let mut child = std::process::Command::new(&bin)
        .args(["export", "Inbox", "--eml"])
        .arg(&out)
        .arg("--profile-info")
        .arg(&lab.profile_info)
        .arg("--config")
        .arg(&lab.config)
        .env("OXMAPI_PASSWORD", PASSWORD)
        .env_remove("OXMAPI_CONFIG")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill it as soon as some files exist (or after a bound, whichever comes first).
    let started = std::time::Instant::now();
    loop {
        let n = std::fs::read_dir(&out).map(|d| d.count()).unwrap_or(0);
        if n >= 5 || started.elapsed() > std::time::Duration::from_secs(60) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let complete = |dir: &std::path::Path| -> usize {
        let mut n = 0;
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "eml") {
                let bytes = std::fs::read(&p).unwrap();
                let m = MessageParser::default()
                    .parse(&bytes)
                    .unwrap_or_else(|| panic!("{} does not parse", p.display()));
                assert!(m.subject().is_some(), "{} is incomplete", p.display());
                if m.subject().unwrap_or("").starts_with("bulk") {
                    assert_eq!(
                        m.body_text(0).map(|b| b.trim_end().len()),
                        Some(20_000),
                        "{} is truncated",
                        p.display()
                    );
                }
                n += 1;
            }
        }
        n
    };
    let after_kill = complete(&out);
    assert!(after_kill <= total);
    // The next run finishes; existing files are skipped, not rewritten.
    let (ok, _, err) = lab
        .run(&["export", "Inbox", "--eml", out.to_str().unwrap()])
        .await;
    assert!(ok, "{err}");
    assert_eq!(complete(&out), total);
    let leftovers: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_none_or(|x| x != "eml"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}
