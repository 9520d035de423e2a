//! The attack harness: `oxmapi serve` as a separate process in a temporary data directory,
//! measurements taken from `/proc/<pid>` while an attack runs, a normal client (`oxmapi
//! folders` as a process, logging on from 127.0.0.1) timed before, during and after, and
//! one report line per attack.
//!
//! Bounds (documented here and in the report header):
//! * [`LATENCY_RATIO_MAX`]: the normal client's median latency during an attack is at most
//!   this many times its unloaded median measured just before, in the same run.
//! * [`RSS_CEILING_MIB`]: the server's resident memory, sampled every 20 ms during the
//!   attack, stays below this.

use std::fmt::Write as _;
use std::future::Future;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Once};
use std::time::{Duration, Instant};

use tokio::sync::watch;

/// A normal client's median latency during an attack may be at most this many times its
/// unloaded median (measured in the same run just before the attack). Generous on purpose:
/// the attacker runs in the test process on the same (often 2-core) machine, so some of
/// the slow-down is the attacker's own CPU use; the failures this guards against are
/// stalls of seconds to forever (41.6 s before the fixes).
pub(crate) const LATENCY_RATIO_MAX: f64 = 20.0;

/// The server's peak resident memory during any attack stays below this (MiB). An idle
/// debug server uses about 25 MiB; the decompression bomb took it to 3.5 GB before the
/// fixes.
pub(crate) const RSS_CEILING_MIB: f64 = 300.0;

/// Unloaded client runs per baseline (their median is the baseline).
const BASELINE_RUNS: usize = 5;
/// Client runs during an attack (their median is compared with the baseline).
const DURING_RUNS: usize = 3;
/// Longest a single normal-client run may take before it is killed and counted as failed.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest the server may take to print its listening address.
const START_TIMEOUT: Duration = Duration::from_secs(60);

pub(crate) const ALICE_PASSWORD: &str = "Alice-Passw0rd!";
pub(crate) const BOB_PASSWORD: &str = "Bob-Passw0rd!";

/// Attacks run one at a time: they measure CPU and latency and must not disturb each other.
static SERIAL: Mutex<()> = Mutex::new(());

/// Takes the suite-wide lock (a failed attack's panic must not stop the others).
pub(crate) fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// The test-sized limits written to the server's `--config` file. Short timeouts and a short
/// lockout keep the suite to a few minutes; the caps are small enough to be reached.
#[derive(Debug, Clone)]
pub(crate) struct TestLimits {
    pub(crate) tls_handshake_timeout: Duration,
    pub(crate) header_read_timeout: Duration,
    pub(crate) body_read_timeout: Duration,
    pub(crate) idle_timeout: Duration,
    pub(crate) write_stall_timeout: Duration,
    pub(crate) max_connections: usize,
    pub(crate) max_connections_per_ip: usize,
    pub(crate) max_objects_per_session: usize,
    pub(crate) max_tables_per_session: usize,
    pub(crate) request_time_budget: Duration,
    pub(crate) backoff: Duration,
    pub(crate) max_stream_size: u64,
    pub(crate) max_message_size: u64,
    pub(crate) mailbox_quota: u64,
    pub(crate) logon_free_failures: u32,
    pub(crate) logon_base_delay: Duration,
    pub(crate) logon_max_delay: Duration,
    pub(crate) logon_lockout_after: u32,
    pub(crate) logon_lockout: Duration,
}

impl Default for TestLimits {
    fn default() -> Self {
        Self {
            tls_handshake_timeout: Duration::from_secs(1),
            header_read_timeout: Duration::from_secs(2),
            body_read_timeout: Duration::from_secs(2),
            idle_timeout: Duration::from_secs(3),
            // The server's default; the never-reading client's attack shortens it.
            write_stall_timeout: Duration::from_secs(60),
            max_connections: 400,
            max_connections_per_ip: 32,
            max_objects_per_session: 256,
            max_tables_per_session: 32,
            request_time_budget: Duration::from_secs(2),
            backoff: Duration::from_secs(1),
            max_stream_size: 1 << 20,
            max_message_size: 2 << 20,
            mailbox_quota: 16 << 20,
            logon_free_failures: 3,
            logon_base_delay: Duration::from_millis(20),
            logon_max_delay: Duration::from_millis(200),
            logon_lockout_after: 10,
            logon_lockout: Duration::from_secs(3),
        }
    }
}

impl TestLimits {
    /// The server config file: a `[limits]` section (durations in milliseconds).
    pub(crate) fn to_toml(&self) -> String {
        let ms = |d: Duration| d.as_millis();
        let mut s = String::from("[limits]\n");
        let _ = writeln!(
            s,
            "tls_handshake_timeout_ms = {}",
            ms(self.tls_handshake_timeout)
        );
        let _ = writeln!(
            s,
            "header_read_timeout_ms = {}",
            ms(self.header_read_timeout)
        );
        let _ = writeln!(s, "body_read_timeout_ms = {}", ms(self.body_read_timeout));
        let _ = writeln!(s, "idle_timeout_ms = {}", ms(self.idle_timeout));
        let _ = writeln!(
            s,
            "write_stall_timeout_ms = {}",
            ms(self.write_stall_timeout)
        );
        let _ = writeln!(s, "max_connections = {}", self.max_connections);
        let _ = writeln!(
            s,
            "max_connections_per_ip = {}",
            self.max_connections_per_ip
        );
        let _ = writeln!(
            s,
            "max_objects_per_session = {}",
            self.max_objects_per_session
        );
        let _ = writeln!(
            s,
            "max_tables_per_session = {}",
            self.max_tables_per_session
        );
        let _ = writeln!(
            s,
            "request_time_budget_ms = {}",
            ms(self.request_time_budget)
        );
        let _ = writeln!(s, "backoff_ms = {}", ms(self.backoff));
        let _ = writeln!(s, "max_stream_size = {}", self.max_stream_size);
        let _ = writeln!(s, "max_message_size = {}", self.max_message_size);
        let _ = writeln!(s, "mailbox_quota = {}", self.mailbox_quota);
        let _ = writeln!(s, "logon_free_failures = {}", self.logon_free_failures);
        let _ = writeln!(s, "logon_base_delay_ms = {}", ms(self.logon_base_delay));
        let _ = writeln!(s, "logon_max_delay_ms = {}", ms(self.logon_max_delay));
        let _ = writeln!(s, "logon_lockout_after = {}", self.logon_lockout_after);
        let _ = writeln!(s, "logon_lockout_ms = {}", ms(self.logon_lockout));
        s
    }
}

/// A mailbox user of the server under attack.
#[derive(Debug, Clone)]
pub(crate) struct User {
    pub(crate) alias: String,
    pub(crate) password: String,
    pub(crate) personalized_server_name: String,
    pub(crate) legacy_dn: String,
}

/// How to start the server.
#[derive(Debug, Clone, Default)]
pub(crate) struct StartOpts {
    pub(crate) limits: TestLimits,
    /// `ulimit -n` for the server process.
    pub(crate) nofile: Option<u32>,
    /// Messages imported into bob's Inbox before the server starts (`oxmapi server import`).
    pub(crate) bob_messages: usize,
    /// Prepares the data directory after the users were added and before the server starts
    /// (e.g. seeds a mailbox straight into the store; the store must be closed on return).
    pub(crate) prepare: Option<fn(&Path)>,
}

/// `oxmapi serve` in its own process; killed when dropped.
pub(crate) struct ServerProc {
    dir: tempfile::TempDir,
    child: Child,
    pub(crate) pid: u32,
    pub(crate) addr: SocketAddr,
    pub(crate) data: PathBuf,
    pub(crate) cert_pem: Vec<u8>,
    pub(crate) alice: User,
    pub(crate) bob: User,
    pub(crate) limits: TestLimits,
    client_config: PathBuf,
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_oxmapi")
}

fn add_user(data: &Path, alias: &str, display: &str, password: &str) -> User {
    let out = Command::new(bin())
        .args(["server", "add-user", "--data"])
        .arg(data)
        .args(["--alias", alias, "--display-name", display])
        .env("OXMAPI_PASSWORD", password)
        .env_remove("OXMAPI_LOG")
        .stdin(Stdio::null())
        .output()
        .expect("running oxmapi server add-user");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "add-user {alias}: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_owned())
            .unwrap_or_else(|| panic!("no {name:?} in add-user output: {text}"))
    };
    User {
        alias: alias.to_owned(),
        password: password.to_owned(),
        personalized_server_name: field("personalized server name"),
        legacy_dn: field("legacy DN"),
    }
}

/// Writes `n` small .eml files and imports them into `alias`'s Inbox.
fn import_messages(data: &Path, scratch: &Path, alias: &str, n: usize) {
    let eml = scratch.join("eml");
    std::fs::create_dir_all(&eml).expect("eml directory");
    for i in 0..n {
        let text = format!(
            "From: Sender {i} <sender{i}@outside.test>\r\nTo: {alias}@example.test\r\n\
             Subject: Message number {i} of {n}\r\nDate: Tue, 24 Nov 2026 10:{:02}:{:02} +0000\r\n\
             Message-ID: <m{i}@outside.test>\r\nMIME-Version: 1.0\r\n\
             Content-Type: text/plain; charset=utf-8\r\n\r\nBody of message {i}.\r\n",
            (i / 60) % 60,
            i % 60
        );
        std::fs::write(eml.join(format!("{i:05}.eml")), text).expect("writing an .eml file");
    }
    let out = Command::new(bin())
        .args(["server", "import", "--data"])
        .arg(data)
        .args(["--user", alias])
        .arg(&eml)
        .env_remove("OXMAPI_LOG")
        .stdin(Stdio::null())
        .output()
        .expect("running oxmapi server import");
    assert!(
        out.status.success(),
        "import: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl ServerProc {
    /// Adds alice and bob, writes the limits file and starts `oxmapi serve` on 127.0.0.1
    /// (port chosen by the server, read from its first output line).
    pub(crate) fn start(opts: StartOpts) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let data = dir.path().join("data");
        let alice = add_user(&data, "alice", "Alice Example", ALICE_PASSWORD);
        let bob = add_user(&data, "bob", "Bob Builder", BOB_PASSWORD);
        if opts.bob_messages > 0 {
            import_messages(&data, dir.path(), "bob", opts.bob_messages);
        }
        if let Some(prepare) = opts.prepare {
            prepare(&data);
        }
        let config = dir.path().join("limits.toml");
        std::fs::write(&config, opts.limits.to_toml()).expect("writing limits.toml");
        let out_path = dir.path().join("server.out");
        let err_path = dir.path().join("server.err");
        let stdout = std::fs::File::create(&out_path).expect("server.out");
        let stderr = std::fs::File::create(&err_path).expect("server.err");
        let mut cmd = match opts.nofile {
            Some(n) => {
                let mut c = Command::new("sh");
                c.arg("-c")
                    .arg(format!("ulimit -n {n} && exec \"$0\" \"$@\""))
                    .arg(bin());
                c
            }
            None => Command::new(bin()),
        };
        cmd.arg("serve")
            .arg("--data")
            .arg(&data)
            .args(["--listen", "127.0.0.1:0"])
            .arg("--config")
            .arg(&config)
            .env_remove("OXMAPI_LOG")
            .env_remove("OXMAPI_CONFIG")
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr);
        // OXMAPI_ATTACK_SERVER_LOG=debug (say) sets the server's log filter when debugging an
        // attack; the server logs at its default level otherwise.
        if let Some(filter) = std::env::var_os("OXMAPI_ATTACK_SERVER_LOG") {
            cmd.env("OXMAPI_LOG", filter);
        }
        let child = cmd.spawn().expect("spawning oxmapi serve");
        let pid = child.id();
        let mut me = Self {
            client_config: dir.path().join("client.toml"),
            dir,
            child,
            pid,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            data,
            cert_pem: Vec::new(),
            alice,
            bob,
            limits: opts.limits,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        let (addr, cert_path) = loop {
            let text = std::fs::read_to_string(&out_path).unwrap_or_default();
            let addr = text.lines().find_map(|l| {
                l.strip_prefix("oxmapi server listening on https://")
                    .and_then(|a| a.trim().parse::<SocketAddr>().ok())
            });
            let cert = text.lines().find_map(|l| {
                l.strip_prefix("certificate file")
                    .map(|p| PathBuf::from(p.trim()))
            });
            if let (Some(a), Some(c)) = (addr, cert) {
                break (a, c);
            }
            if let Ok(Some(status)) = me.child.try_wait() {
                panic!(
                    "oxmapi serve exited ({status}) before listening:\n{}\n{}",
                    text,
                    me.server_log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "oxmapi serve did not print its address within {START_TIMEOUT:?}:\n{text}\n{}",
                me.server_log()
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        me.addr = addr;
        me.cert_pem = std::fs::read(&cert_path).expect("reading the server certificate");
        let client = format!(
            "ignore_no_public_folders = true\n[proxy_map.\"example.test\"]\n\
             url = \"https://127.0.0.1:{}\"\nauth = \"basic\"\ncertificate = {{ ca_file = {:?} }}\n",
            addr.port(),
            cert_path.display().to_string()
        );
        std::fs::write(&me.client_config, client).expect("writing client.toml");
        me
    }

    /// The server's stderr so far (its log), for failure messages.
    pub(crate) fn server_log(&self) -> String {
        let text = std::fs::read_to_string(self.dir.path().join("server.err")).unwrap_or_default();
        // The tail only: a misbehaving server may have logged megabytes.
        let start = text.len().saturating_sub(4000);
        let start = (start..text.len())
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(text.len());
        text[start..].to_owned()
    }

    /// Size of the server's stdout+stderr in bytes.
    pub(crate) fn log_size(&self) -> u64 {
        ["server.out", "server.err"]
            .iter()
            .filter_map(|f| std::fs::metadata(self.dir.path().join(f)).ok())
            .map(|m| m.len())
            .sum()
    }

    /// The whole log (stdout + stderr) as text (lossy).
    pub(crate) fn whole_log(&self) -> String {
        let mut s = String::new();
        for f in ["server.out", "server.err"] {
            if let Ok(b) = std::fs::read(self.dir.path().join(f)) {
                s.push_str(&String::from_utf8_lossy(&b));
            }
        }
        s
    }

    /// True while the server process runs.
    pub(crate) fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// One run of the normal client: `oxmapi folders --json` as alice from 127.0.0.1 (a
    /// full logon and folder listing). `Ok` is its wall time.
    pub(crate) fn normal_client(&self) -> Result<Duration, String> {
        let out = self.dir.path().join("client.out");
        let err = self.dir.path().join("client.err");
        let start = Instant::now();
        let mut child = Command::new(bin())
            .args(["folders", "--json", "--profile-info"])
            .arg(format!(
                "{}\n{}",
                self.alice.personalized_server_name, self.alice.alias
            ))
            .arg("--config")
            .arg(&self.client_config)
            .env("OXMAPI_PASSWORD", &self.alice.password)
            .env("HOME", self.dir.path())
            .env_remove("OXMAPI_CONFIG")
            .env_remove("OXMAPI_LOG")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).map_err(|e| e.to_string())?)
            .stderr(std::fs::File::create(&err).map_err(|e| e.to_string())?)
            .spawn()
            .map_err(|e| format!("spawning oxmapi folders: {e}"))?;
        let status = loop {
            match child.try_wait() {
                Ok(Some(s)) => break s,
                Ok(None) if start.elapsed() > CLIENT_TIMEOUT => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!(
                        "oxmapi folders still running after {CLIENT_TIMEOUT:?}"
                    ));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(2)),
                Err(e) => return Err(format!("waiting for oxmapi folders: {e}")),
            }
        };
        let elapsed = start.elapsed();
        let stdout = std::fs::read_to_string(&out).unwrap_or_default();
        if !status.success() || !stdout.contains("\"Inbox\"") {
            let stderr = std::fs::read_to_string(&err).unwrap_or_default();
            return Err(format!(
                "oxmapi folders failed ({status}) after {elapsed:?}: {}",
                stderr.trim()
            ));
        }
        Ok(elapsed)
    }
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn dir_size(p: &Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(p) else {
        return 0;
    };
    rd.filter_map(Result::ok)
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

// --- /proc measurements ------------------------------------------------------------------

/// A `/proc/<pid>/status` field in kB.
fn status_kb(pid: u32, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// utime + stime of the process in clock ticks.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces): state is field 3, utime 14,
    // stime 15 (proc(5)).
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    Some(utime + stime)
}

fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .trim()
                .parse::<f64>()
                .ok()
        })
        .filter(|&t| t > 0.0)
        .unwrap_or(100.0)
}

/// Samples the server's VmRSS (kB) and open descriptors every 20 ms in a background thread;
/// keeps the maxima.
struct ProcSampler {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<(u64, usize)>,
}

impl ProcSampler {
    fn start(pid: u32) -> Self {
        // Resets VmHWM to the current RSS (proc(5), clear_refs "5"), so that VmHWM afterwards
        // is the peak of the attack rather than of the whole process life.
        let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let (mut rss, mut fds) = (0, 0);
            let fd_dir = format!("/proc/{pid}/fd");
            while !flag.load(Ordering::Relaxed) {
                if let Some(kb) = status_kb(pid, "VmRSS:") {
                    rss = rss.max(kb);
                }
                if let Ok(rd) = std::fs::read_dir(&fd_dir) {
                    fds = fds.max(rd.count());
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            (rss, fds)
        });
        Self { stop, thread }
    }

    fn finish(self) -> (u64, usize) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap_or((0, 0))
    }
}

// --- the attack runner -----------------------------------------------------------------

/// What an attack gets: where the server is, whom it logs on as (bob; alice is the normal
/// client's), and the stop signal (set once
/// the normal client's runs during the attack are done).
#[derive(Clone)]
pub(crate) struct AttackCtx {
    pub(crate) addr: SocketAddr,
    pub(crate) cert_pem: Vec<u8>,
    pub(crate) bob: User,
    pub(crate) limits: TestLimits,
    pub(crate) data: PathBuf,
    stop: watch::Receiver<bool>,
}

impl AttackCtx {
    /// True once the runner asked the attack to stop.
    pub(crate) fn stopping(&self) -> bool {
        *self.stop.borrow()
    }

    pub(crate) fn target(&self) -> super::net::Target {
        super::net::Target::new(self.addr, &self.cert_pem)
    }
}

/// What an attack reports: a short note for the table, and the violations it found.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    pub(crate) note: String,
    pub(crate) failures: Vec<String>,
}

impl Outcome {
    pub(crate) fn fail(&mut self, what: impl Into<String>) {
        self.failures.push(what.into());
    }

    pub(crate) fn check(&mut self, ok: bool, what: impl Into<String>) {
        if !ok {
            self.fail(what);
        }
    }
}

/// Per-attack settings of the runner.
pub(crate) struct Spec {
    pub(crate) name: &'static str,
    /// How long after starting the attack the normal client's runs begin.
    pub(crate) ramp_up: Duration,
    /// Longest the attack may take after the stop signal.
    pub(crate) finish_within: Duration,
    /// The server's CPU use over the attack must stay below this (percent of one core).
    pub(crate) cpu_max_percent: Option<f64>,
    /// Added to the latency bound: a time the server legitimately needs before it can serve
    /// anyone (the connection slots an attacker holds are freed by the TLS handshake timeout).
    pub(crate) latency_allowance: Duration,
    /// The server's log (stdout + stderr) may grow by at most this many bytes.
    pub(crate) max_log_growth: u64,
    /// Further checks on the server's whole log after the attack.
    pub(crate) log_check: Option<fn(&str) -> Vec<String>>,
}

impl Spec {
    pub(crate) fn new(name: &'static str) -> Self {
        Self {
            name,
            ramp_up: Duration::from_millis(500),
            finish_within: Duration::from_secs(60),
            cpu_max_percent: None,
            latency_allowance: Duration::ZERO,
            max_log_growth: 4 << 20,
            log_check: None,
        }
    }
}

/// One measured table row.
#[derive(Debug)]
pub(crate) struct Row {
    pub(crate) name: &'static str,
    pub(crate) line: String,
    pub(crate) failures: Vec<String>,
}

impl Row {
    /// Panics with every violation found (after the row was printed and written); the
    /// server's whole log is kept as `<target>/attack-logs/<name>.log` first.
    pub(crate) fn assert_ok(&self, server: &ServerProc) {
        if self.failures.is_empty() {
            return;
        }
        let kept = report_path().with_file_name("attack-logs");
        let kept = std::fs::create_dir_all(&kept)
            .and_then(|()| {
                let path = kept.join(format!("{}.log", self.name));
                std::fs::write(&path, server.whole_log()).map(|()| path)
            })
            .map_or_else(|e| format!("(not kept: {e})"), |p| p.display().to_string());
        panic!(
            "{}\nfailures:\n  - {}\nserver log (whole log in {kept}), tail:\n{}",
            self.line,
            self.failures.join("\n  - "),
            server.server_log()
        );
    }
}

fn median(mut v: Vec<Duration>) -> Option<Duration> {
    if v.is_empty() {
        return None;
    }
    v.sort();
    Some(v[v.len() / 2])
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Runs one attack against `server` and measures it (see the module docs).
pub(crate) fn run_attack<F, Fut>(server: &mut ServerProc, spec: Spec, attack: F) -> Row
where
    F: FnOnce(AttackCtx) -> Fut,
    Fut: Future<Output = Outcome> + Send + 'static,
{
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let mut failures = Vec::new();

    // Unloaded baseline (after one warm-up run).
    let _ = server.normal_client();
    let mut base = Vec::new();
    for _ in 0..BASELINE_RUNS {
        match server.normal_client() {
            Ok(d) => base.push(d),
            Err(e) => failures.push(format!("baseline client run failed: {e}")),
        }
    }
    let baseline = median(base);

    let (stop_tx, stop_rx) = watch::channel(false);
    let ctx = AttackCtx {
        addr: server.addr,
        cert_pem: server.cert_pem.clone(),
        bob: server.bob.clone(),
        limits: server.limits.clone(),
        data: server.data.clone(),
        stop: stop_rx,
    };
    let hz = clock_ticks_per_second();
    let log0 = server.log_size();
    let sampler = ProcSampler::start(server.pid);
    let cpu0 = cpu_ticks(server.pid);
    let t0 = Instant::now();
    let handle = rt.spawn(attack(ctx));

    std::thread::sleep(spec.ramp_up);
    let mut during = Vec::new();
    for i in 0..DURING_RUNS {
        match server.normal_client() {
            Ok(d) => during.push(d),
            Err(e) => {
                failures.push(format!("client run {} during the attack: {e}", i + 1));
                break;
            }
        }
    }
    let _ = stop_tx.send(true);
    let outcome = rt.block_on(async {
        match tokio::time::timeout(spec.finish_within, handle).await {
            Ok(Ok(o)) => o,
            Ok(Err(e)) => Outcome {
                note: String::new(),
                failures: vec![format!("the attack task failed: {e}")],
            },
            Err(_) => Outcome {
                note: String::new(),
                failures: vec![format!(
                    "the attack did not finish within {:?} of the stop signal",
                    spec.finish_within
                )],
            },
        }
    });
    rt.shutdown_timeout(Duration::from_secs(5));
    let wall = t0.elapsed();
    let cpu1 = cpu_ticks(server.pid);
    let hwm_kb = status_kb(server.pid, "VmHWM:").unwrap_or(0);
    let (sampled_kb, peak_fds) = sampler.finish();
    let peak_kb = sampled_kb.max(hwm_kb);
    failures.extend(outcome.failures);

    if !server.alive() {
        failures.push("the server process died".to_owned());
    }
    let log_growth = server.log_size().saturating_sub(log0);
    if log_growth > spec.max_log_growth {
        failures.push(format!(
            "the server logged {} KiB during the attack (bound {} KiB)",
            log_growth >> 10,
            spec.max_log_growth >> 10
        ));
    }
    let log = server.whole_log();
    if log.contains("panicked") {
        failures.push("the server's log shows a panic".to_owned());
    }
    if let Some(check) = spec.log_check {
        failures.extend(check(&log));
    }
    let after = server.normal_client();
    if let Err(e) = &after {
        failures.push(format!("client run after the attack: {e}"));
    }

    let peak_mib = peak_kb as f64 / 1024.0;
    let hwm_mib = hwm_kb as f64 / 1024.0;
    if peak_mib >= RSS_CEILING_MIB {
        failures.push(format!(
            "peak RSS {peak_mib:.1} MiB is not below the ceiling of {RSS_CEILING_MIB} MiB"
        ));
    }
    let cpu_pct = match (cpu0, cpu1) {
        (Some(a), Some(b)) => (b.saturating_sub(a)) as f64 / hz / wall.as_secs_f64() * 100.0,
        _ => f64::NAN,
    };
    if let Some(max) = spec.cpu_max_percent
        && (cpu_pct.is_nan() || cpu_pct >= max)
    {
        failures.push(format!(
            "server CPU {cpu_pct:.0}% over the attack is not below {max}%"
        ));
    }
    let during_med = median(during);
    let ratio = match (baseline, during_med) {
        (Some(b), Some(d)) if b > Duration::ZERO => ms(d) / ms(b),
        _ => f64::NAN,
    };
    if let (Some(b), Some(d)) = (baseline, during_med) {
        let bound = b.mul_f64(LATENCY_RATIO_MAX) + spec.latency_allowance;
        if d > bound {
            failures.push(format!(
                "client latency during the attack {:.0} ms exceeds {LATENCY_RATIO_MAX} x \
                 baseline {:.0} ms{}",
                ms(d),
                ms(b),
                if spec.latency_allowance.is_zero() {
                    String::new()
                } else {
                    format!(" + {:?} allowance", spec.latency_allowance)
                }
            ));
        }
    }
    let fmt_ms =
        |d: Option<Duration>| d.map_or_else(|| "-".to_owned(), |d| format!("{:.0}", ms(d)));
    let line = format!(
        "attack: {} peak_rss={peak_mib:.1}MiB hwm={hwm_mib:.1}MiB cpu={cpu_pct:.0}% \
         baseline={}ms during={}ms ratio={ratio:.1}x after={}ms wall={:.1}s fds={peak_fds} log=+{}KiB {} {}",
        spec.name,
        fmt_ms(baseline),
        fmt_ms(during_med),
        fmt_ms(after.ok()),
        wall.as_secs_f64(),
        log_growth >> 10,
        if failures.is_empty() { "PASS" } else { "FAIL" },
        outcome.note,
    );
    report(&line);
    Row {
        name: spec.name,
        line,
        failures,
    }
}

// --- the report ------------------------------------------------------------------------

static REPORT_INIT: Once = Once::new();

/// `<target dir>/attack-report.txt`: CARGO_TARGET_DIR, else the directory three levels above
/// the test executable (`target/debug/deps/attack-…`).
pub(crate) fn report_path() -> PathBuf {
    if let Some(t) = std::env::var_os("CARGO_TARGET_DIR") {
        let t = PathBuf::from(t);
        return if t.is_absolute() {
            t
        } else {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(t)
        }
        .join("attack-report.txt");
    }
    std::env::current_exe()
        .ok()
        .and_then(|p| p.ancestors().nth(3).map(Path::to_path_buf))
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"))
        .join("attack-report.txt")
}

/// Prints a report line and appends it to the report file (started afresh by the first
/// attack of this test run).
pub(crate) fn report(line: &str) {
    println!("{line}");
    let path = report_path();
    REPORT_INIT.call_once(|| {
        let header = format!(
            "# oxmapi attack suite (issue 10): server = `oxmapi serve` (this build) with \
             test-sized [limits]; normal client = `oxmapi folders --json` (logon + folder \
             listing) as alice from 127.0.0.1\n\
             # bounds: during <= {LATENCY_RATIO_MAX} x baseline (medians of {DURING_RUNS} and \
             {BASELINE_RUNS} runs, same run), peak RSS < {RSS_CEILING_MIB} MiB; cpu = server \
             utime+stime over the attack's wall time (percent of one core); fds = most open \
             descriptors seen\n"
        );
        let _ = std::fs::write(&path, header);
    });
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(&path)
    {
        let _ = writeln!(f, "{line}");
    }
}
