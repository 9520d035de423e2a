//! Child processes: commands run with a deadline (output captured), `oxmapi serve` started as
//! a separate process and stopped when its guard drops (also while unwinding from a panic),
//! and memory figures from `/proc/PID/status` (proc(5)).

use std::io::{BufRead as _, BufReader, Read as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};

/// What a finished (or killed) command left.
#[derive(Debug)]
pub(crate) struct Output {
    /// `None` when it was killed at the deadline.
    pub(crate) status: Option<ExitStatus>,
    pub(crate) stdout: Vec<u8>,
    pub(crate) stderr: Vec<u8>,
    /// From spawn to exit.
    pub(crate) elapsed: Duration,
}

impl Output {
    pub(crate) fn ok(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }

    pub(crate) fn timed_out(&self) -> bool {
        self.status.is_none()
    }

    /// The last lines of stderr (then stdout), for an error message.
    pub(crate) fn tail(&self) -> String {
        let text = if self.stderr.iter().any(|b| !b.is_ascii_whitespace()) {
            &self.stderr
        } else {
            &self.stdout
        };
        let text = String::from_utf8_lossy(text);
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(6)..].join("\n")
    }
}

fn drain(mut r: impl std::io::Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        buf
    })
}

/// Runs `cmd` (stdin closed, stdout and stderr captured) and kills it at `timeout`.
pub(crate) fn run(cmd: &mut Command, timeout: Duration) -> Result<Output> {
    let started = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {cmd:?}"))?;
    let out = child.stdout.take().map(drain);
    let err = child.stderr.take().map(drain);
    let status = loop {
        if let Some(s) = child.try_wait()? {
            break Some(s);
        }
        if started.elapsed() >= timeout {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    let elapsed = started.elapsed();
    let join = |h: Option<JoinHandle<Vec<u8>>>| h.and_then(|h| h.join().ok()).unwrap_or_default();
    Ok(Output {
        status,
        stdout: join(out),
        stderr: join(err),
        elapsed,
    })
}

/// A user line of `oxmapi serve`'s banner: `user ALIAS PSN DN`.
#[derive(Debug, Clone)]
pub(crate) struct ServedUser {
    pub(crate) alias: String,
    pub(crate) psn: String,
    pub(crate) dn: String,
}

fn parse_user(line: &str) -> Option<ServedUser> {
    let rest = line.strip_prefix("user ")?.trim_start();
    let (alias, rest) = rest.split_once(char::is_whitespace)?;
    let rest = rest.trim_start();
    let (psn, dn) = rest.split_once(char::is_whitespace)?;
    Some(ServedUser {
        alias: alias.to_owned(),
        psn: psn.to_owned(),
        dn: dn.trim().to_owned(),
    })
}

/// `oxmapi serve` running as a child process; stopped (SIGINT, then SIGKILL) on drop.
pub(crate) struct ServerProc {
    child: Child,
    pub(crate) port: u16,
    pub(crate) ca: PathBuf,
    pub(crate) users: Vec<ServedUser>,
    /// From spawn to the banner's last line (store opened, port bound).
    pub(crate) ready_in: Duration,
    log: PathBuf,
}

impl ServerProc {
    /// Starts `bin serve --data DATA --listen 127.0.0.1:0 --config CONFIG` (stderr to `log`)
    /// and waits at most `timeout` for its banner.
    pub(crate) fn start(
        bin: &Path,
        data: &Path,
        config: &Path,
        log: &Path,
        timeout: Duration,
    ) -> Result<Self> {
        let started = Instant::now();
        let log_file = std::fs::File::create(log)?;
        let mut child = Command::new(bin)
            .arg("serve")
            .arg("--data")
            .arg(data)
            .args(["--listen", "127.0.0.1:0", "--config"])
            .arg(config)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log_file))
            .spawn()
            .with_context(|| format!("starting {} serve", bin.display()))?;
        let stdout = child.stdout.take().context("no stdout pipe")?;
        let (tx, rx) = mpsc::channel::<String>();
        // Reads the banner, then keeps draining until the server exits.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let mut me = Self {
            child,
            port: 0,
            ca: data.join("cert.pem"),
            users: Vec::new(),
            ready_in: Duration::ZERO,
            log: log.to_owned(),
        };
        loop {
            let left = timeout.saturating_sub(started.elapsed());
            match rx.recv_timeout(left.min(Duration::from_millis(200))) {
                Ok(line) => {
                    if let Some(rest) = line.strip_prefix("oxmapi server listening on https://") {
                        me.port = rest
                            .rsplit(':')
                            .next()
                            .and_then(|p| p.trim().parse().ok())
                            .context("no port in the banner")?;
                    } else if let Some(rest) = line.strip_prefix("certificate file") {
                        me.ca = PathBuf::from(rest.trim());
                    } else if let Some(u) = parse_user(&line) {
                        me.users.push(u);
                    } else if line.starts_with("press Ctrl-C") {
                        me.ready_in = started.elapsed();
                        if me.port == 0 {
                            bail!("the banner named no port");
                        }
                        return Ok(me);
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let Some(s) = me.child.try_wait()? {
                        bail!("exited with {s} before serving:\n{}", me.log_tail());
                    }
                    if started.elapsed() >= timeout {
                        bail!("not serving after {timeout:?}:\n{}", me.log_tail());
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let s = me.child.wait()?;
                    bail!("exited with {s} before serving:\n{}", me.log_tail());
                }
            }
        }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    pub(crate) fn user(&self, alias: &str) -> Result<&ServedUser> {
        self.users
            .iter()
            .find(|u| u.alias == alias)
            .with_context(|| format!("the server lists no user {alias}"))
    }

    /// The last lines of the server's log.
    pub(crate) fn log_tail(&self) -> String {
        let mut text = String::new();
        if let Ok(mut f) = std::fs::File::open(&self.log) {
            let _ = f.read_to_string(&mut text);
        }
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(8)..].join("\n")
    }

    /// Stops the server: SIGINT (it shuts down cleanly on Ctrl-C), SIGKILL after 15 s.
    pub(crate) fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// VmRSS, VmHWM and RssAnon of process `pid` in KiB (proc(5) `/proc/PID/status`). RssAnon is
/// the anonymous part (heap, stacks): VmRSS also counts the pages of files the process maps,
/// such as a memory-mapped database.
pub(crate) fn memory_kib(pid: u32) -> Option<(u64, u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
    };
    Some((field("VmRSS:")?, field("VmHWM:")?, field("RssAnon:")?))
}

/// CPU time (user + system) this process has used so far, in seconds (proc(5)
/// `/proc/self/stat` fields 14 and 15, in clock ticks of 1/100 s).
pub(crate) fn own_cpu_secs() -> f64 {
    let Ok(text) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // The command name (field 2) may contain spaces; count from the closing parenthesis.
    let Some(rest) = text.rsplit_once(')').map(|(_, r)| r) else {
        return 0.0;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // After ")": field 3 is index 0, so fields 14 and 15 are 11 and 12.
    (tick(11) + tick(12)) / 100.0
}

/// Copies a directory tree (regular files and directories).
pub(crate) fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}
