//! The gromox test peer (`shared/peers/gromox`, see its README): wiped and started at the
//! beginning, seeded with the same .eml files through its own importer
//! (`gromox-eml2mt | gromox-import -D`, delivery mode, as its start.sh seeds), and wiped and
//! started again at the end (also when the bench panics) so it is back to its provisioned
//! state.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};

use super::mapi::Target;
use super::procs;

/// The peer's install prefix (compiled into its binaries).
const PREFIX: &str = "/opt/gromox-peer";
/// Files per `gromox-eml2mt | gromox-import` pipeline.
const BATCH: usize = 2000;

/// The running peer.
pub(crate) struct Peer {
    dir: PathBuf,
    log: PathBuf,
    env: HashMap<String, String>,
    /// Messages this bench imported into test@'s Inbox.
    pub(crate) imported: usize,
    restored: bool,
}

/// Why the peer cannot be used, if it cannot.
pub(crate) fn unavailable(dir: &Path) -> Option<String> {
    if !dir.join("start.sh").is_file() {
        return Some(format!("no gromox peer at {}", dir.display()));
    }
    let uid = procs::run(Command::new("id").arg("-u"), Duration::from_secs(10))
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    if uid.as_deref() != Some("0") {
        return Some("the gromox peer's scripts need root".to_owned());
    }
    None
}

impl Peer {
    /// reset.sh + start.sh: a freshly provisioned peer (one seed message in test@'s Inbox).
    pub(crate) fn fresh(dir: &Path, log: &Path) -> Result<Self> {
        let mut me = Self {
            dir: dir.to_owned(),
            log: log.to_owned(),
            env: HashMap::new(),
            imported: 0,
            restored: false,
        };
        me.script("reset.sh", Duration::from_secs(300))?;
        me.script("start.sh", Duration::from_secs(600))?;
        me.env = read_env(&Path::new(PREFIX).join("var/peer.env"))?;
        Ok(me)
    }

    fn script(&self, name: &str, timeout: Duration) -> Result<()> {
        let out = procs::run(Command::new("bash").arg(self.dir.join(name)), timeout)?;
        self.append_log(name, &out);
        if !out.ok() {
            bail!("{name} failed ({:?}):\n{}", out.status, out.tail());
        }
        Ok(())
    }

    fn append_log(&self, what: &str, out: &procs::Output) {
        use std::io::Write as _;
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
        {
            let _ = writeln!(f, "== {what} ({:?}, {:?})", out.status, out.elapsed);
            let _ = f.write_all(&out.stdout);
            let _ = f.write_all(&out.stderr);
        }
    }

    /// stop.sh + start.sh: a new `http` process (so its VmHWM starts afresh), data kept.
    /// start.sh right after stop.sh sometimes reports a daemon as exited that is in fact
    /// starting; a failed start is tried up to four more times after a pause. The peer's http
    /// log is kept in the bench's gromox log.
    pub(crate) fn restart(&self) -> Result<()> {
        self.script("stop.sh", Duration::from_secs(120))?;
        let mut tries = 0;
        loop {
            tries += 1;
            match self.script("start.sh", Duration::from_secs(600)) {
                Ok(()) => return Ok(()),
                Err(e) => {
                    self.keep_peer_log("http.log");
                    if tries >= 5 {
                        return Err(e);
                    }
                    eprintln!("gromox start.sh failed (try {tries}), retrying in 5 s: {e:#}");
                    std::thread::sleep(Duration::from_secs(5));
                }
            }
        }
    }

    fn keep_peer_log(&self, name: &str) {
        use std::io::Write as _;
        let text =
            std::fs::read(Path::new(PREFIX).join("var/log/peer").join(name)).unwrap_or_default();
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
        {
            let _ = writeln!(f, "== peer log {name}");
            let _ = f.write_all(&text);
        }
    }

    /// Imports `files` into test@'s Inbox in batches, stopping before `deadline`; the files
    /// imported and the time it took.
    pub(crate) fn import(
        &mut self,
        files: &[PathBuf],
        deadline: Instant,
    ) -> Result<(usize, Duration)> {
        let started = Instant::now();
        let mut done = 0;
        let user = self.var("GROMOX_PEER_USER1")?.to_owned();
        for batch in files.chunks(BATCH) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            let out = procs::run(
                Command::new("bash")
                    .args([
                        "-c",
                        "set -o pipefail; gromox-eml2mt \"$@\" | gromox-import -u \"$GROMOX_USER\" -D",
                        "bash",
                    ])
                    .args(batch)
                    .env("GROMOX_USER", &user)
                    .env(
                        "PATH",
                        format!(
                            "{PREFIX}/sbin:{PREFIX}/bin:{}",
                            std::env::var("PATH").unwrap_or_default()
                        ),
                    )
                    .env("LD_LIBRARY_PATH", format!("{PREFIX}/lib")),
                left,
            )?;
            self.append_log("import batch", &out);
            if out.timed_out() {
                break;
            }
            if !out.ok() {
                bail!("gromox import failed:\n{}", out.tail());
            }
            done += batch.len();
            self.imported += batch.len();
        }
        Ok((done, started.elapsed()))
    }

    fn var(&self, name: &str) -> Result<&str> {
        self.env
            .get(name)
            .map(String::as_str)
            .with_context(|| format!("peer.env has no {name}"))
    }

    /// test@ (the big Inbox) or other@ (`small`), with the peer's CA file.
    pub(crate) fn target(&self, small: bool) -> Result<Target> {
        let n = if small { 2 } else { 1 };
        Ok(Target {
            url: self.var("GROMOX_PEER_URL")?.to_owned(),
            ca: PathBuf::from(self.var("GROMOX_PEER_CA")?),
            user: self.var(&format!("GROMOX_PEER_USER{n}"))?.to_owned(),
            password: self.var("GROMOX_PEER_PASSWORD")?.to_owned(),
            mailbox_id: self.var(&format!("GROMOX_PEER_USER{n}_PSN"))?.to_owned(),
            dn: self.var(&format!("GROMOX_PEER_USER{n}_DN"))?.to_owned(),
        })
    }

    /// The process that serves MAPI/HTTP and runs exmdb (the store): `http`.
    pub(crate) fn http_pid(&self) -> Option<u32> {
        std::fs::read_to_string(Path::new(PREFIX).join("var/run/peer/http.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// reset.sh + start.sh: back to the provisioned state. Says what it did.
    pub(crate) fn restore(&mut self) -> String {
        self.restored = true;
        let r = self
            .script("reset.sh", Duration::from_secs(300))
            .and_then(|()| self.script("start.sh", Duration::from_secs(600)));
        match r {
            Ok(()) => {
                "gromox peer reset to its provisioned state (reset.sh + start.sh); it is running"
                    .to_owned()
            }
            Err(e) => {
                format!("gromox peer reset FAILED: {e:#} (run reset.sh and start.sh by hand)")
            }
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if !self.restored {
            eprintln!("{}", self.restore());
        }
    }
}

/// `KEY='value'` lines (the peer writes them for `.` in bash).
fn read_env(path: &Path) -> Result<HashMap<String, String>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(text
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| {
            let v = v.trim();
            let v = v
                .strip_prefix('\'')
                .and_then(|v| v.strip_suffix('\''))
                .unwrap_or(v);
            (k.trim().to_owned(), v.to_owned())
        })
        .collect())
}
