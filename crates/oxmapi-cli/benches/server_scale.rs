//! Server-scale benchmark (issue 11, section 3): the embedded server *before* the store
//! rewrite, *after* it, and a real server (the gromox peer), on the same data in one run.
//! It prints figures and ratios; it asserts no wall-clock threshold (not a CI test).
//!
//! Run it with `scripts/bench-server.sh` (see docs/benchmarks.md), or
//! `cargo bench -p oxmapi-cli --bench server_scale`.
//!
//! * BEFORE: `$OXMAPI_BEFORE_BIN` (default /tmp/before-target/release/oxmapi), AFTER: this
//!   crate's `oxmapi` binary (`$OXMAPI_AFTER_BIN` overrides). Each runs as `oxmapi serve` in
//!   its own process on its own copy of the data, one server at a time (2-core machines).
//! * Data: N generated .eml files (`OXMAPI_BENCH_SIZES`, default "10000,100000") imported into
//!   alice's Inbox with `oxmapi server import` by BEFORE (timed: (d)); AFTER serves a copy of
//!   BEFORE's data directory (so it must open the old store format) and imports the same files
//!   afresh into another directory (timed: (d)). bob's sessions send the small requests of
//!   (c) and (e). gromox gets the same files in test@'s Inbox (other@ plays bob).
//! * (a) listing all rows: the independent probe vs `oxmapi ls --json`; (b) RopSortTable and
//!   RopRestrict + 50 rows on the big Inbox; (c) 16 and 100 sessions' small requests alone and
//!   beside a session sorting the big Inbox; (d) import rate; (e) server memory with 100 idle
//!   sessions. Medians of 3 with min–max.
//!
//! The table goes to stdout and to `target/bench-server.txt` (`OXMAPI_BENCH_OUT`).

mod server_scale {
    pub(crate) mod eml;
    pub(crate) mod gromox;
    pub(crate) mod load;
    pub(crate) mod mapi;
    pub(crate) mod measure;
    pub(crate) mod procs;
    pub(crate) mod report;
}

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use server_scale::eml;
use server_scale::gromox::{self, Peer};
use server_scale::mapi::Target;
use server_scale::measure::{self, Subject, Tools};
use server_scale::procs::{self, ServerProc};
use server_scale::report::{Col, Report, Stat};

const PASSWORD: &str = "Passw0rd!";
/// Sizes up to this are always seeded into gromox; above it only when the predicted time
/// stays under the seeding limit (issue 11: "100,000 only if it takes < 10 min").
const GROMOX_ALWAYS: usize = 10_000;

/// Everything the environment can change.
struct Settings {
    sizes: Vec<usize>,
    before: PathBuf,
    after: PathBuf,
    shared: PathBuf,
    gromox: bool,
    seed_limit: Duration,
    window: Duration,
    pace: Duration,
    budget_ms: Option<u64>,
    sessions: Vec<usize>,
    keep: bool,
    out: PathBuf,
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| default.to_owned())
}

fn list(name: &str, default: &str) -> Result<Vec<usize>> {
    let mut v = env_or(name, default)
        .split(',')
        .map(|x| {
            x.trim()
                .parse::<usize>()
                .with_context(|| format!("{name}: {x:?} is not a count"))
        })
        .collect::<Result<Vec<_>>>()?;
    v.sort_unstable();
    v.dedup();
    v.retain(|&x| x > 0);
    if v.is_empty() {
        bail!("{name} names no count");
    }
    Ok(v)
}

fn num(name: &str, default: u64) -> Result<u64> {
    env_or(name, &default.to_string())
        .trim()
        .parse()
        .with_context(|| format!("{name} is not a number"))
}

impl Settings {
    fn from_env() -> Result<Self> {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        let root = manifest.join("../..");
        let root = std::fs::canonicalize(&root).unwrap_or(root);
        let budget = env_or("OXMAPI_BENCH_BUDGET_MS", "600000");
        Ok(Self {
            sizes: list("OXMAPI_BENCH_SIZES", "10000,100000")?,
            before: PathBuf::from(env_or(
                "OXMAPI_BEFORE_BIN",
                "/tmp/before-target/release/oxmapi",
            )),
            after: PathBuf::from(env_or("OXMAPI_AFTER_BIN", env!("CARGO_BIN_EXE_oxmapi"))),
            shared: PathBuf::from(env_or(
                "OXMAPI_SHARED_DIR",
                &root.join("../shared").display().to_string(),
            )),
            gromox: env_or("OXMAPI_BENCH_GROMOX", "1") != "0",
            seed_limit: Duration::from_secs(num("OXMAPI_BENCH_SEED_LIMIT_SECS", 600)?),
            window: Duration::from_secs(num("OXMAPI_BENCH_WINDOW_SECS", 5)?.max(1)),
            pace: Duration::from_millis(num("OXMAPI_BENCH_PACE_MS", 100)?),
            budget_ms: if budget == "default" {
                None
            } else {
                Some(
                    budget
                        .parse()
                        .context("OXMAPI_BENCH_BUDGET_MS is not a number")?,
                )
            },
            sessions: list("OXMAPI_BENCH_SESSIONS", "16,100")?,
            keep: env_or("OXMAPI_BENCH_KEEP", "0") == "1",
            out: PathBuf::from(env_or(
                "OXMAPI_BENCH_OUT",
                &root.join("target/bench-server.txt").display().to_string(),
            )),
        })
    }

    fn header(&self) -> String {
        let when = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
        format!(
            "oxmapi server-scale benchmark (issue 11 section 3), {when}, {cores} cores\n\
             before = {}\nafter  = {}\ngromox = {}\n\
             sizes {:?}; (c) sessions {:?}, windows of {:?}, pause {:?} between a session's requests; \
             server request_time_budget_ms = {}\n\
             cells: median (min–max) of 3 runs, or of 3 windows for (c); ratios are of the medians\n",
            self.before.display(),
            self.after.display(),
            if self.gromox {
                "the peer in shared/peers/gromox (3.10)"
            } else {
                "skipped (OXMAPI_BENCH_GROMOX=0)"
            },
            self.sizes,
            self.sessions,
            self.window,
            self.pace,
            self.budget_ms
                .map_or_else(|| "default".to_owned(), |b| b.to_string()),
        )
    }
}

fn main() -> ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("server_scale: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("server_scale: no runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let header = settings.header();
    print!("{header}");
    let mut report = Report::default();
    let result = run(&settings, &rt, &mut report);
    if let Err(e) = &result {
        report.note(format!("stopped early: {e:#}"));
    }
    let text = report.render(&header);
    println!("\n{text}");
    if let Some(dir) = settings.out.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    match std::fs::write(&settings.out, &text) {
        Ok(()) => println!("written to {}", settings.out.display()),
        Err(e) => eprintln!("could not write {}: {e}", settings.out.display()),
    }
    if result.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn run(s: &Settings, rt: &tokio::runtime::Runtime, report: &mut Report) -> Result<()> {
    for bin in [&s.before, &s.after] {
        if !bin.is_file() {
            bail!(
                "{} is missing (BEFORE is built from commit 53a9085: see scripts/bench-server.sh)",
                bin.display()
            );
        }
    }
    let work = tempfile::Builder::new()
        .prefix("oxmapi-bench-server.")
        .tempdir()?;
    let w = if s.keep {
        work.keep()
    } else {
        work.path().to_owned()
    };
    println!("work directory {}", w.display());
    let config = w.join("server.toml");
    let mut limits =
        String::from("[limits]\nmax_connections = 2048\nmax_connections_per_ip = 1024\n");
    if let Some(b) = s.budget_ms {
        limits.push_str(&format!("request_time_budget_ms = {b}\n"));
    }
    std::fs::write(&config, limits)?;

    let largest = s.sizes.iter().copied().max().unwrap_or(0);
    let t = Instant::now();
    let all = w.join("eml-all");
    eml::generate(&all, largest, 42)?;
    println!(
        "generated {largest} .eml files in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let tools = Tools {
        cli: s.after.clone(),
        probe: s.shared.join("tools/mapihttp-probe.py"),
        work: w.clone(),
        sessions: s.sessions.clone(),
        window: s.window,
        pace: s.pace,
    };
    let peer_dir = s.shared.join("peers/gromox");
    let mut peer = None;
    if s.gromox {
        match gromox::unavailable(&peer_dir) {
            Some(why) => report.note(format!("gromox skipped: {why}")),
            None => {
                println!("resetting and starting the gromox peer");
                match Peer::fresh(&peer_dir, &w.join("gromox.log")) {
                    Ok(p) => peer = Some(p),
                    Err(e) => report.note(format!("gromox skipped: {e:#}")),
                }
            }
        }
    }
    let mut gromox_rate: Option<f64> = None;
    let mut gromox_done = false;

    for &size in &s.sizes {
        println!("\n== {size} messages");
        let dir = w.join(size.to_string());
        let files = eml::subset(&all, &w.join(format!("eml-{size}")), size)?;
        let eml_dir = w.join(format!("eml-{size}"));
        let import_row = format!("(d) {size}: import {size} .eml [msg/s]");
        let import_secs_row = format!("(d) {size}: import {size} .eml [s]");

        // BEFORE imports; AFTER gets a copy of that store, and imports afresh elsewhere.
        let before_data = dir.join("before");
        let Some(took) = seed(&s.before, &before_data, &eml_dir, s.seed_limit)? else {
            report.note(format!(
                "BEFORE's import of {size} messages took over {:?}: stopped at the sizes done",
                s.seed_limit
            ));
            break;
        };
        report.set(
            &import_row,
            Col::Before,
            Stat::one(size as f64 / took.as_secs_f64()),
        );
        report.set(&import_secs_row, Col::Before, Stat::one(took.as_secs_f64()));
        let migrated = dir.join("after-on-before-store");
        procs::copy_dir(&before_data, &migrated)?;
        let fresh = dir.join("after-fresh");
        match seed(&s.after, &fresh, &eml_dir, s.seed_limit) {
            Ok(Some(took)) => {
                report.set(
                    &import_row,
                    Col::After,
                    Stat::one(size as f64 / took.as_secs_f64()),
                );
                report.set(&import_secs_row, Col::After, Stat::one(took.as_secs_f64()));
            }
            Ok(None) => {
                report.note_cell(&import_row, Col::After, &format!("over {:?}", s.seed_limit))
            }
            Err(e) => report.note_cell(&import_row, Col::After, &format!("{e:#}")),
        }

        // First start on BEFORE's store: BEFORE on its own, AFTER on the copy (migration).
        let start_row = format!("(d) {size}: first start on the store BEFORE imported [s]");
        let after_data = match ServerProc::start(
            &s.after,
            &migrated,
            &config,
            &dir.join("after-first.log"),
            Duration::from_secs(1800),
        ) {
            Ok(srv) => {
                report.set(
                    &start_row,
                    Col::After,
                    Stat::one(srv.ready_in.as_secs_f64()),
                );
                srv.stop();
                migrated.clone()
            }
            Err(e) => {
                report.note(format!(
                    "AFTER refused the store BEFORE wrote ({size}); it serves its own import instead: {e:#}"
                ));
                report.note_cell(&start_row, Col::After, "refused (see notes)");
                fresh.clone()
            }
        };

        for (col, bin, data) in [
            (Col::Before, &s.before, &before_data),
            (Col::After, &s.after, &after_data),
        ] {
            let log = dir.join(format!("{}.log", col.name()));
            let srv = match ServerProc::start(bin, data, &config, &log, Duration::from_secs(1800)) {
                Ok(srv) => srv,
                Err(e) => {
                    report.note(format!(
                        "{} did not start on {size} messages: {e:#}",
                        col.name()
                    ));
                    continue;
                }
            };
            if col == Col::Before {
                report.set(
                    &start_row,
                    Col::Before,
                    Stat::one(srv.ready_in.as_secs_f64()),
                );
            }
            match ours(&srv, col, size) {
                Ok(subject) => measure::all(rt, &subject, &tools, report),
                Err(e) => report.note(format!("{}: {e:#}", col.name())),
            }
            srv.stop();
        }

        // gromox: grow test@'s Inbox to `size`, then measure.
        if let Some(p) = peer.as_mut().filter(|_| !gromox_done) {
            let need = size.saturating_sub(p.imported);
            if size > GROMOX_ALWAYS
                && let Some(rate) = gromox_rate
                && need as f64 / rate > s.seed_limit.as_secs_f64()
            {
                report.note(format!(
                    "gromox not seeded to {size}: at {rate:.0} msg/s the {need} more messages would take {:.0} s (> {:?})",
                    need as f64 / rate,
                    s.seed_limit
                ));
                report.note_cell(&import_row, Col::Gromox, "skipped (see notes)");
                gromox_done = true;
                continue;
            }
            println!("  gromox: importing {need} messages");
            let limit = if size > GROMOX_ALWAYS {
                s.seed_limit
            } else {
                s.seed_limit * 6
            };
            let (done, took) = p.import(&files[p.imported..], Instant::now() + limit)?;
            if done > 0 {
                let rate = done as f64 / took.as_secs_f64();
                gromox_rate = Some(rate);
                report.set(&import_row, Col::Gromox, Stat::one(rate));
                report.set(&import_secs_row, Col::Gromox, Stat::one(took.as_secs_f64()));
                if done != size {
                    report.note(format!("gromox's (d) {size} figure is the import of the {done} messages beyond the previous size"));
                }
            }
            if p.imported < size {
                report.note(format!(
                    "gromox seeding stopped at {} of {size} messages (limit {limit:?})",
                    p.imported
                ));
                gromox_done = true;
                continue;
            }
            // A fresh http process, so that (e)'s VmHWM does not hold the import.
            if let Err(e) = p.restart() {
                report.note(format!(
                    "gromox not measured at {size}: restart failed: {e:#}"
                ));
                gromox_done = true;
                continue;
            }
            let subject = Subject {
                col: Col::Gromox,
                big: p.target(false)?,
                small: p.target(true)?,
                pid: p.http_pid(),
                profile_info: format!("{}\ntest", p.target(false)?.mailbox_id),
                ls_user: Some(p.target(false)?.user),
                // The peer's own seed message is in the Inbox too.
                rows: size + 1,
                size,
            };
            measure::all(rt, &subject, &tools, report);
        }
    }
    if let Some(mut p) = peer {
        report.note(
            "gromox (e) is its http process (MAPI/HTTP and the exmdb store); its MariaDB is not counted",
        );
        report.note(p.restore());
    }
    Ok(())
}

/// The subject for one of our servers: alice has the big Inbox, bob the small one.
fn ours(srv: &ServerProc, col: Col, size: usize) -> Result<Subject> {
    let target = |alias: &str| -> Result<Target> {
        let u = srv.user(alias)?;
        Ok(Target {
            url: format!("https://127.0.0.1:{}", srv.port),
            ca: srv.ca.clone(),
            user: alias.to_owned(),
            password: PASSWORD.to_owned(),
            mailbox_id: u.psn.clone(),
            dn: u.dn.clone(),
        })
    };
    let big = target("alice")?;
    Ok(Subject {
        col,
        profile_info: format!("{}\nalice", big.mailbox_id),
        big,
        small: target("bob")?,
        pid: Some(srv.pid()),
        ls_user: None,
        rows: size,
        size,
    })
}

/// `add-user` alice and bob, then `server import` of `emls` into alice's Inbox with `bin`;
/// the import's time, `None` when it ran past `limit` (killed).
fn seed(bin: &Path, data: &Path, emls: &Path, limit: Duration) -> Result<Option<Duration>> {
    for (alias, name) in [("alice", "Alice Example"), ("bob", "Bob Example")] {
        let out = procs::run(
            Command::new(bin)
                .args(["server", "add-user", "--data"])
                .arg(data)
                .args(["--alias", alias, "--display-name", name])
                .env("OXMAPI_PASSWORD", PASSWORD),
            Duration::from_secs(120),
        )?;
        if !out.ok() {
            bail!("{} server add-user {alias}: {}", bin.display(), out.tail());
        }
    }
    let out = procs::run(
        Command::new(bin)
            .args(["server", "import", "--data"])
            .arg(data)
            .args(["--user", "alice"])
            .arg(emls),
        limit,
    )?;
    if out.timed_out() {
        return Ok(None);
    }
    if !out.ok() {
        bail!("{} server import: {}", bin.display(), out.tail());
    }
    println!(
        "  {} imported: {}",
        bin.display(),
        String::from_utf8_lossy(&out.stdout).trim()
    );
    Ok(Some(out.elapsed))
}
