//! No credential material in any log, at any verbosity.
//!
//! `oxmapi -vvv serve` runs on loopback with `OXMAPI_LOG=trace` and `RUST_LOG=trace`; then
//! `oxmapi -vvv logon` runs with the same environment for every authentication scheme the
//! client has (NTLM, Negotiate, Basic, and Bearer with a token from `oxmapi server
//! issue-token`) over both transports (MAPI/HTTP and RPC/HTTP). The output of every run, and
//! the server's, must hold neither the password, nor `user:password` in base64 (a traced
//! Basic header), nor the token, nor the NT hash, nor any NTLM or SPNEGO message in any of
//! the forms a log prints bytes in. Each logon must have logged something at trace level,
//! so a test that sees nothing cannot pass.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use assert_cmd::prelude::*;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

const PASSWORD: &str = "Sc4n-Me-Pa55-QvZ";
const WRONG: &str = "Wr0ng-Sc4n-Pa55-KpX";

/// The `oxmapi` binary with a clean environment and tracing opened up as far as it goes.
fn oxmapi() -> Command {
    let mut cmd = Command::cargo_bin("oxmapi").unwrap();
    cmd.stdin(Stdio::null())
        .env_remove("OXMAPI_CONFIG")
        .env_remove("OXMAPI_PASSWORD")
        .env_remove("OXMAPI_TOKEN")
        .env("OXMAPI_LOG", "trace,sspi=trace,picky=trace")
        .env("RUST_LOG", "trace");
    cmd
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `oxmapi -vvv serve` on an ephemeral loopback port, its stdout and stderr collected.
struct Server {
    child: Child,
    port: u16,
    log: Arc<Mutex<String>>,
}

impl Server {
    fn start(data: &Path) -> Self {
        let mut child = oxmapi()
            .args(["-vvv", "serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(data)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let mut stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let (tx, rx) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = line.strip_prefix("oxmapi server listening on https://") {
                    let _ = tx.send(addr.to_owned());
                }
                sink.lock().unwrap().push_str(&line);
                sink.lock().unwrap().push('\n');
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the server did not say where it listens");
        let port = addr.rsplit(':').next().unwrap().parse().unwrap();
        Self { child, port, log }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a log may never hold, each with a name for the failure message.
struct Forbidden {
    needles: Vec<Needle>,
}

struct Needle {
    what: &'static str,
    text: String,
    /// Hex and byte dumps are matched whatever their case; base64 and secrets exactly.
    any_case: bool,
}

impl Forbidden {
    fn new(user: &str, passwords: &[&str], token: &str) -> Self {
        let mut needles = Vec::new();
        let mut add = |what: &'static str, text: String| {
            let any_case = what.contains("hex") || what.contains("bytes");
            needles.push(Needle {
                what,
                text,
                any_case,
            });
        };
        for p in passwords {
            add("the password", (*p).to_owned());
            let basic = B64.encode(format!("{user}:{p}"));
            add(
                "Basic credentials (base64)",
                basic[..basic.len() - 4].to_owned(),
            );
            let hash = oxmapi_server::store::nt_hash(p).0;
            add("the NT hash (hex)", hex::encode(hash));
            add("the NT hash (base64)", B64.encode(hash)[..20].to_owned());
        }
        add("the bearer token", token.to_owned());
        add("part of the bearer token", token[..20].to_owned());
        // "NTLMSSP\0", the signature of every NTLM message (MS-NLMP 2.2.1), at each of the
        // three base64 alignments (a raw NTLM header, or one inside an SPNEGO token).
        for pad in 0..3 {
            let mut raw = vec![0u8; pad];
            raw.extend_from_slice(b"NTLMSSP\0");
            let b64 = B64.encode(&raw);
            let stable = b64[(pad * 4).div_ceil(3)..b64.len() - 4].to_owned();
            add("an NTLM message (base64)", stable);
        }
        add("an NTLM message (hex)", "4e544c4d53535000".into());
        add("an NTLM message (bytes)", "ntlmssp".into());
        add(
            "an NTLM message (bytes, decimal)",
            "78, 84, 76, 77, 83, 83, 80".into(),
        );
        // SPNEGO tokens (RFC 4178): NegTokenInit is an [APPLICATION 0] (0x60, "YI" in
        // base64), NegTokenResp a [1] (0xA1, "oX"); both follow "Negotiate " in a header.
        add("an SPNEGO token", "Negotiate YI".into());
        add("an SPNEGO token", "Negotiate oX".into());
        add("an NTLM header", "NTLM TlRM".into());
        add(
            "an Authorization header value",
            "Basic ".to_owned() + &B64.encode(user)[..4],
        );
        Self { needles }
    }

    /// The first forbidden thing `log` holds.
    fn find(&self, log: &str) -> Option<&str> {
        let lower = log.to_ascii_lowercase();
        self.needles
            .iter()
            .find(|n| {
                if n.any_case {
                    lower.contains(&n.text.to_ascii_lowercase())
                } else {
                    log.contains(&n.text)
                }
            })
            .map(|n| n.what)
    }
}

fn write_config(dir: &Path, auth: &str, port: u16) -> std::path::PathBuf {
    let path = dir.join(format!("client-{auth}.toml"));
    std::fs::write(
        &path,
        format!(
            "ignore_no_public_folders = true\n[proxy_map.\"example.test\"]\nurl = \"https://127.0.0.1:{port}\"\nauth = \"{auth}\"\ncertificate = {{ ca_file = {:?} }}\n",
            dir.join("data").join("cert.pem").display().to_string()
        ),
    )
    .unwrap();
    path
}

fn logon(config: &Path, server_name: &str, transport: &str, secret: (&str, &str)) -> Output {
    oxmapi()
        .args(["-vvv", "logon", "--config"])
        .arg(config)
        .args(["--profile-info", &format!("{server_name}\\nalice")])
        .args(["--user", "alice", "--transport", transport])
        .env(secret.0, secret.1)
        .output()
        .unwrap()
}

/// The personalized server name `oxmapi server add-user` printed.
fn server_name_of(add_user: &Output) -> String {
    String::from_utf8_lossy(&add_user.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("personalized server name"))
        .map(|s| s.trim().to_owned())
        .expect("add-user prints the personalized server name")
}

#[test]
fn the_scan_sees_what_it_looks_for() {
    let f = Forbidden::new("alice", &[PASSWORD], "oxmapi_0123456789abcdefghijklmnop");
    // MS-NLMP 2.2.1.1 NEGOTIATE_MESSAGE header, as sspi's Debug printed it before the filter.
    let ntlm = b"NTLMSSP\0\x01\0\0\0\xb7\xa2\x08\xe2";
    assert!(
        f.find(&format!("buffer: 0x{}", hex::encode_upper(ntlm)))
            .is_some()
    );
    assert!(
        f.find(&format!("Authorization: NTLM {}", B64.encode(ntlm)))
            .is_some()
    );
    let spnego = [[0x60, 0x48, 0x06, 0x06].as_slice(), ntlm].concat();
    assert!(
        f.find(&format!("Negotiate {}", B64.encode(&spnego)))
            .is_some()
    );
    assert!(f.find(&format!("x{}", B64.encode(&spnego))).is_some());
    assert!(f.find(&format!("{:?}", ntlm.as_slice())).is_some());
    let hash = hex::encode_upper(oxmapi_server::store::nt_hash(PASSWORD).0);
    assert!(f.find(&format!("hash {hash}")).is_some());
    assert!(
        f.find("a log line about alice and MAPI_E_LOGON_FAILED")
            .is_none()
    );
}

#[test]
fn every_scheme_over_both_transports_at_trace_level_leaks_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let added = oxmapi()
        .args(["server", "add-user", "--data"])
        .arg(&data)
        .args(["--alias", "alice", "--display-name", "Alice Example"])
        .env("OXMAPI_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    assert!(added.status.success(), "{}", text(&added));
    let server_name = server_name_of(&added);
    let issued = oxmapi()
        .args(["server", "issue-token", "--data"])
        .arg(&data)
        .args(["--alias", "alice"])
        .output()
        .unwrap();
    assert!(issued.status.success(), "{}", text(&issued));
    let token = String::from_utf8(issued.stdout).unwrap().trim().to_owned();
    assert!(token.len() > 20, "{token}");
    let forbidden = Forbidden::new("alice", &[PASSWORD, WRONG], &token);

    let server = Server::start(&data);
    for auth in ["ntlm", "negotiate", "basic", "bearer"] {
        let config = write_config(dir.path(), auth, server.port);
        let secret = if auth == "bearer" {
            ("OXMAPI_TOKEN", token.as_str())
        } else {
            ("OXMAPI_PASSWORD", PASSWORD)
        };
        for transport in ["mapihttp", "rpchttp"] {
            let out = logon(&config, &server_name, transport, secret);
            let all = text(&out);
            let run = format!("{auth} over {transport}");
            assert!(out.status.success(), "{run}: {all}");
            assert!(
                all.contains(&format!("transport       {transport}")),
                "{run}: {all}"
            );
            assert!(
                String::from_utf8_lossy(&out.stderr).contains("TRACE"),
                "{run}: -vvv logged nothing at trace level:\n{all}"
            );
            if let Some(what) = forbidden.find(&all) {
                panic!("{run}: {what} in the client's output");
            }
        }
    }
    // A refused password at trace level, on both sides.
    let config = dir.path().join("client-ntlm.toml");
    let out = logon(
        &config,
        &server_name,
        "mapihttp",
        ("OXMAPI_PASSWORD", WRONG),
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("MAPI_E_LOGON_FAILED"), "{all}");
    if let Some(what) = forbidden.find(&all) {
        panic!("wrong password: {what} in the client's output");
    }

    let log = server.log.clone();
    drop(server);
    let log = log.lock().unwrap().clone();
    assert!(
        log.contains("TRACE"),
        "the server logged nothing at trace level:\n{log}"
    );
    if let Some(what) = forbidden.find(&log) {
        panic!("{what} in the server's output");
    }
}
