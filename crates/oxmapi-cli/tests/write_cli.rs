//! The writing commands as a person runs them: the real `oxmapi` binary against the embedded
//! server on loopback HTTPS (config file with a proxy-map entry and the lab CA,
//! `OXMAPI_PASSWORD`, `--user`): send with attachments, reply, forward, resolve, gal,
//! mkdir/rmdir, mv, mark, rm, and the refusals that must happen before anything is created.

use std::path::PathBuf;

use assert_cmd::Command;
use oxmapi_server::store::UserRecord;
use oxmapi_server::{RunningServer, ServerConfig, serve};
use serde_json::Value;

struct Lab {
    _server: RunningServer,
    dir: tempfile::TempDir,
    config: PathBuf,
    users: Vec<(UserRecord, &'static str)>,
}

const USERS: [(&str, &str, &str); 4] = [
    ("alice", "Alice Example", "Passw0rd!"),
    ("bob", "Bob Builder", "bobs-password"),
    ("jsmith", "Jo Smith", "x1-long-enough"),
    ("jbrown", "Jo Brown", "x2-long-enough"),
];

async fn lab() -> Lab {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = ServerConfig::new(dir.path().join("server"));
    cfg.listen = "127.0.0.1:0".parse().unwrap();
    cfg.public_folders = false;
    let server = serve(cfg).await.unwrap();
    let users = USERS
        .iter()
        .map(|(alias, name, pw)| (server.store().add_user(alias, name, pw).unwrap(), *pw))
        .collect();
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
        dir,
        config,
        users,
    }
}

struct Out {
    ok: bool,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Lab {
    /// Runs `oxmapi <args>` as `alias` off the async runtime.
    async fn run(&self, alias: &str, args: &[&str]) -> Out {
        let (u, pw) = self.users.iter().find(|(u, _)| u.alias == alias).unwrap();
        let mut cmd = Command::cargo_bin("oxmapi").unwrap();
        cmd.args(args)
            .arg("--profile-info")
            .arg(format!("{}\\n{}", u.personalized_server_name, u.alias))
            .arg("--user")
            .arg(&u.alias)
            .arg("--config")
            .arg(&self.config)
            .env("OXMAPI_PASSWORD", pw)
            .env_remove("OXMAPI_CONFIG");
        let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap();
        let o = Out {
            ok: out.status.success(),
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        assert!(!o.stderr.contains("panicked"), "{}", o.stderr);
        assert!(
            !o.stdout.contains(pw) && !o.stderr.contains(pw),
            "password in output"
        );
        o
    }

    async fn ok(&self, alias: &str, args: &[&str]) -> String {
        let o = self.run(alias, args).await;
        assert!(
            o.ok,
            "oxmapi {args:?} as {alias} failed:\n{}{}",
            o.stdout, o.stderr
        );
        o.stdout
    }

    /// `oxmapi ls FOLDER --json` as `alias`, oldest first.
    async fn ls(&self, alias: &str, folder: &str) -> Vec<Value> {
        self.ok(alias, &["ls", folder, "--json", "--sort", "received"])
            .await
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

fn subjects(rows: &[Value]) -> Vec<String> {
    rows.iter()
        .map(|r| r["subject"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_with_attachment_reply_and_forward() {
    let lab = lab().await;
    let file = lab.dir.path().join("figures.csv");
    let data: Vec<u8> = (0..50_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    std::fs::write(&file, &data).unwrap();
    let out = lab
        .ok(
            "alice",
            &[
                "send",
                "--to",
                "bob",
                "--cc",
                "jsmith",
                "--subject",
                "Figures",
                "--body",
                "Here they are.",
                "--attach",
                file.to_str().unwrap(),
                "--json",
            ],
        )
        .await;
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["outcome"], "sent", "{out}");

    let inbox = lab.ls("bob", "Inbox").await;
    assert_eq!(subjects(&inbox), ["Figures"]);
    assert_eq!(inbox[0]["attachments"], true);
    assert_eq!(inbox[0]["from"], "Alice Example");
    let id = inbox[0]["id"].as_str().unwrap().to_owned();

    // Reply all (Bob → Alice, Cc Jo Smith), text from a file.
    let body = lab.dir.path().join("reply.txt");
    std::fs::write(&body, "Thanks, got them.").unwrap();
    let out = lab
        .ok(
            "bob",
            &["reply", &id, "--all", "--body-file", body.to_str().unwrap()],
        )
        .await;
    assert!(
        out.contains("\"RE: Figures\" to Alice Example; Jo Smith"),
        "{out}"
    );
    assert!(out.contains("sent <"), "{out}");
    let a = lab.ls("alice", "Inbox").await;
    assert_eq!(subjects(&a), ["RE: Figures"]);
    assert_eq!(a[0]["from"], "Bob Builder");
    let shown = lab
        .ok("alice", &["show", a[0]["id"].as_str().unwrap()])
        .await;
    assert!(shown.contains("Thanks, got them."), "{shown}");
    assert!(shown.contains("-----Original Message-----"), "{shown}");
    assert!(shown.contains("Here they are."), "{shown}");
    assert_eq!(
        subjects(&lab.ls("jsmith", "Inbox").await),
        ["Figures", "RE: Figures"]
    );

    // Forward to Jo Brown with the attachment.
    let out = lab
        .ok("bob", &["forward", &id, "--to", "jbrown", "--body", "FYI"])
        .await;
    assert!(out.contains("\"FW: Figures\" to Jo Brown"), "{out}");
    let j = lab.ls("jbrown", "Inbox").await;
    assert_eq!(subjects(&j), ["FW: Figures"]);
    assert_eq!(j[0]["attachments"], true);
    let saved = lab.dir.path().join("saved");
    lab.ok(
        "jbrown",
        &[
            "save-attachments",
            j[0]["id"].as_str().unwrap(),
            saved.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(std::fs::read(saved.join("figures.csv")).unwrap(), data);

    // A plain reply from Alice back to Bob, saved as a draft only.
    let rid = a[0]["id"].as_str().unwrap().to_owned();
    let out = lab
        .ok("alice", &["reply", &rid, "--body", "later", "--draft"])
        .await;
    assert!(out.contains("saved \"RE: Figures\" in Drafts"), "{out}");
    assert_eq!(subjects(&lab.ls("alice", "Drafts").await), ["RE: Figures"]);
    assert_eq!(subjects(&lab.ls("bob", "Inbox").await), ["Figures"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolve_and_gal() {
    let lab = lab().await;
    let out = lab.ok("alice", &["resolve", "bob"]).await;
    assert!(out.contains("Bob Builder"), "{out}");
    let out = lab.ok("alice", &["resolve", "bob", "--json"]).await;
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["outcome"], "resolved", "{out}");

    let o = lab.run("alice", &["resolve", "Jo"]).await;
    assert_eq!(o.code, Some(1), "{}{}", o.stdout, o.stderr);
    assert!(o.stdout.contains("\"Jo\" is ambiguous"), "{}", o.stdout);
    assert!(
        o.stdout.contains("Jo Smith") && o.stdout.contains("Jo Brown"),
        "{}",
        o.stdout
    );

    let o = lab.run("alice", &["resolve", "nobody-here"]).await;
    assert_eq!(o.code, Some(1));
    assert!(
        o.stdout
            .contains("\"nobody-here\" is not in the address book"),
        "{}",
        o.stdout
    );

    let out = lab.ok("alice", &["gal", "--json"]).await;
    let v: Value = serde_json::from_str(&out).unwrap();
    let mut names: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["Alice Example", "Bob Builder", "Jo Brown", "Jo Smith"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn folders_move_mark_delete() {
    let lab = lab().await;
    lab.ok(
        "bob",
        &["send", "--to", "alice", "--subject", "One", "--body", "1"],
    )
    .await;
    let out = lab.ok("alice", &["mkdir", "Inbox/Projects"]).await;
    assert!(out.starts_with("created Inbox/Projects"), "{out}");
    let folders = lab.ok("alice", &["folders"]).await;
    assert!(folders.contains("Projects"), "{folders}");

    let inbox = lab.ls("alice", "Inbox").await;
    assert_eq!(inbox[0]["unread"], true);
    let id = inbox[0]["id"].as_str().unwrap().to_owned();
    lab.ok("alice", &["mark", &id, "--read"]).await;
    assert_eq!(lab.ls("alice", "Inbox").await[0]["unread"], false);
    lab.ok("alice", &["mark", &id, "--unread"]).await;
    assert_eq!(lab.ls("alice", "Inbox").await[0]["unread"], true);

    let out = lab.ok("alice", &["mv", &id, "Inbox/Projects"]).await;
    assert!(out.contains("moved"), "{out}");
    assert!(lab.ls("alice", "Inbox").await.is_empty());
    let moved = lab.ls("alice", "Inbox/Projects").await;
    assert_eq!(subjects(&moved), ["One"]);

    // A moved message has a new entry ID; delete it to Deleted Items, then for good.
    let mid = moved[0]["id"].as_str().unwrap().to_owned();
    lab.ok("alice", &["rm", &mid]).await;
    assert!(lab.ls("alice", "Inbox/Projects").await.is_empty());
    let deleted = lab.ls("alice", "Deleted Items").await;
    assert_eq!(subjects(&deleted), ["One"]);
    let did = deleted[0]["id"].as_str().unwrap().to_owned();
    let out = lab.ok("alice", &["rm", &did, "--hard"]).await;
    assert!(out.contains("(hard)"), "{out}");
    assert!(lab.ls("alice", "Deleted Items").await.is_empty());

    let out = lab.ok("alice", &["rmdir", "Inbox/Projects"]).await;
    assert!(out.contains("deleted folder Inbox/Projects"), "{out}");
    let o = lab.run("alice", &["ls", "Inbox/Projects"]).await;
    assert!(!o.ok);
    assert!(o.stderr.contains("no folder \"Projects\""), "{}", o.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_happen_before_anything_is_created() {
    let lab = lab().await;
    let o = lab
        .run(
            "alice",
            &[
                "send",
                "--to",
                "bob",
                "--to",
                "nobody-here",
                "--subject",
                "x",
                "--body",
                "y",
            ],
        )
        .await;
    assert!(!o.ok);
    assert!(
        o.stderr
            .contains("\"nobody-here\" is not in the address book"),
        "{}",
        o.stderr
    );
    assert!(o.stderr.contains("MAPI_E_NOT_FOUND"), "{}", o.stderr);

    let o = lab
        .run(
            "alice",
            &[
                "send",
                "--to",
                "bob",
                "--subject",
                "x",
                "--attach",
                "/nonexistent/report.pdf",
            ],
        )
        .await;
    assert!(!o.ok);
    assert!(o.stderr.contains("/nonexistent/report.pdf"), "{}", o.stderr);

    let o = lab.run("alice", &["reply", "00ff", "--body", "x"]).await;
    assert!(!o.ok);
    assert!(
        o.stderr.contains("is not a message entry ID"),
        "{}",
        o.stderr
    );

    // Nothing in the Outbox, Drafts or Sent Items; nothing delivered.
    for f in ["Outbox", "Drafts", "Sent Items"] {
        assert!(lab.ls("alice", f).await.is_empty(), "{f}");
    }
    assert!(lab.ls("bob", "Inbox").await.is_empty());
}

#[test]
fn demo_sends_to_mary_and_she_reads_it_on_both_transports() {
    for transport in ["mapihttp", "rpchttp"] {
        let out = Command::cargo_bin("oxmapi")
            .unwrap()
            .args(["demo", "--json", "--transport", transport])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{transport}: {err}");
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let mail = &v["mail"];
        assert_eq!(mail["from"], "John Doe", "{v}");
        assert_eq!(mail["to"], "Mary Major");
        assert_eq!(mail["found_in_inbox"], true);
        assert_eq!(mail["found_sender"], "John Doe");
        assert_eq!(mail["recipient_transport"], transport);
        assert!(
            mail["recipient_profile_info"]
                .as_str()
                .unwrap()
                .ends_with("\nmmajor")
        );
        assert!(
            mail["found_body"]
                .as_str()
                .unwrap()
                .starts_with("Hello Mary,")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forward_to_an_unknown_recipient_is_refused_and_creates_nothing() {
    let lab = lab().await;
    lab.ok(
        "bob",
        &[
            "send",
            "--to",
            "alice",
            "--subject",
            "Fwd me",
            "--body",
            ".",
        ],
    )
    .await;
    let id = lab.ls("alice", "Inbox").await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let o = lab
        .run("alice", &["forward", &id, "--to", "nobody-here"])
        .await;
    assert!(!o.ok);
    assert!(
        o.stderr
            .contains("\"nobody-here\" is not in the address book"),
        "{}",
        o.stderr
    );
    for f in ["Drafts", "Outbox", "Sent Items"] {
        assert!(lab.ls("alice", f).await.is_empty(), "{f}");
    }
}
