//! The measurements (a), (b), (c) and (e) of issue 11 section 3 against one running server
//! (ours or gromox), each repeated and reported as median (min–max).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use tokio::runtime::Runtime;

use super::eml::TOPICS;
use super::load;
use super::mapi::{Mapi, Target};
use super::procs;
use super::report::{Col, Report, Stat};

/// Repetitions of (a) and (b), and windows of each (c) phase.
const REPS: usize = 3;
/// Rows read after a sort or a restriction.
const ROWS: u16 = 50;
/// Idle sessions of (e).
const IDLE_SESSIONS: usize = 100;
/// Bound of one raw-client step (a sort over 100k rows included).
const STEP_TIMEOUT: Duration = Duration::from_secs(1800);

/// Settings shared by every server.
pub(crate) struct Tools {
    /// The CLI whose `ls` is timed (the AFTER binary).
    pub(crate) cli: PathBuf,
    pub(crate) probe: PathBuf,
    /// Where config files go.
    pub(crate) work: PathBuf,
    /// Session counts of (c).
    pub(crate) sessions: Vec<usize>,
    /// Length of one (c) window; each phase has [`REPS`] of them.
    pub(crate) window: Duration,
    /// Pause between two small requests of one session.
    pub(crate) pace: Duration,
}

/// One server under test.
pub(crate) struct Subject {
    pub(crate) col: Col,
    /// The user with the big Inbox (alice / test@).
    pub(crate) big: Target,
    /// The user whose sessions send the small requests (bob / other@).
    pub(crate) small: Target,
    /// The process whose memory (e) reads.
    pub(crate) pid: Option<u32>,
    /// `oxmapi ls --profile-info` for the big user.
    pub(crate) profile_info: String,
    /// `oxmapi ls --user`, when the alias is not the login.
    pub(crate) ls_user: Option<String>,
    /// Messages in the big Inbox.
    pub(crate) rows: usize,
    /// Messages imported by the bench (the size of the run).
    pub(crate) size: usize,
}

/// Runs (e), (a), (b), (c) in that order (so (e)'s VmHWM reflects a freshly started server
/// plus logons); a failed measurement is noted in its cells and the others still run.
pub(crate) fn all(rt: &Runtime, s: &Subject, tools: &Tools, report: &mut Report) {
    let n = s.size;
    println!("-- {} with {n} messages", s.col.name());
    if let Err(e) = memory(rt, s, report) {
        report.note_cell(
            &format!("(e) {n}: server VmRSS, {IDLE_SESSIONS} idle sessions [MiB]"),
            s.col,
            &short(&e),
        );
    }
    listing(s, tools, report);
    if let Err(e) = sort_restrict(rt, s, report) {
        report.note_cell(
            &format!("(b) {n}: SortTable delivery desc + QueryRows {ROWS} [ms]"),
            s.col,
            &short(&e),
        );
    }
    for &sessions in &tools.sessions {
        if let Err(e) = concurrency(rt, s, tools, sessions, report) {
            report.note_cell(
                &format!("(c) {n}: {sessions} sessions GetPropertiesSpecific p50 alone [ms]"),
                s.col,
                &short(&e),
            );
        }
    }
}

fn short(e: &anyhow::Error) -> String {
    let text = format!("{e:#}");
    let line = text.lines().next().unwrap_or_default();
    line.chars().take(100).collect()
}

fn block<T>(rt: &Runtime, what: &str, f: impl Future<Output = Result<T>>) -> Result<T> {
    rt.block_on(async {
        tokio::time::timeout(STEP_TIMEOUT, f)
            .await
            .with_context(|| format!("{what}: no answer within {STEP_TIMEOUT:?}"))?
    })
}

/// (e) VmRSS / VmHWM of the server process with [`IDLE_SESSIONS`] logged-on idle sessions.
fn memory(rt: &Runtime, s: &Subject, report: &mut Report) -> Result<()> {
    let n = s.size;
    let pid = s.pid.context("no server process id")?;
    let (rss0, _, _) = procs::memory_kib(pid).context("no /proc/PID/status")?;
    let client = s.small.client()?;
    let sessions = block(rt, "logons", async {
        let mut v = Vec::new();
        for i in 0..IDLE_SESSIONS {
            v.push(
                Mapi::logon(&client, &s.small)
                    .await
                    .with_context(|| format!("logon {} of {IDLE_SESSIONS}", i + 1))?,
            );
        }
        Ok(v)
    });
    let sessions = sessions?;
    std::thread::sleep(Duration::from_secs(2));
    let mem = procs::memory_kib(pid);
    let _ = block(rt, "disconnect", async {
        for m in sessions {
            let _ = m.disconnect().await;
        }
        Ok(())
    });
    let (rss, hwm, anon) = mem.context("no /proc/PID/status")?;
    let mib = |kib: u64| kib as f64 / 1024.0;
    report.set(
        &format!("(e) {n}: server VmRSS before the sessions [MiB]"),
        s.col,
        Stat::one(mib(rss0)),
    );
    report.set(
        &format!("(e) {n}: server VmRSS, {IDLE_SESSIONS} idle sessions [MiB]"),
        s.col,
        Stat::one(mib(rss)),
    );
    report.set(
        &format!("(e) {n}: server VmHWM since start [MiB]"),
        s.col,
        Stat::one(mib(hwm)),
    );
    report.set(
        &format!("(e) {n}: server RssAnon (heap; VmRSS less mapped files), {IDLE_SESSIONS} idle sessions [MiB]"),
        s.col,
        Stat::one(mib(anon)),
    );
    Ok(())
}

/// (a) The whole Inbox listed by the independent probe (the floor) and by `oxmapi ls --json`,
/// interleaved, [`REPS`] times each.
fn listing(s: &Subject, tools: &Tools, report: &mut Report) {
    let n = s.size;
    let (probe_row, ls_row, ratio_row) = (
        format!("(a) {n}: probe lists the Inbox [s]"),
        format!("(a) {n}: oxmapi ls Inbox --json [s]"),
        format!("(a) {n}: ls / probe"),
    );
    let config = match cli_config(s, tools) {
        Ok(c) => c,
        Err(e) => {
            report.note_cell(&ls_row, s.col, &short(&e));
            return;
        }
    };
    let (mut probe, mut ls, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
    let (mut probe_err, mut ls_err) = (None, None);
    for _ in 0..REPS {
        let p = run_probe(s, tools);
        let l = run_ls(s, tools, &config);
        match &p {
            Ok(t) => probe.push(*t),
            Err(e) => probe_err = Some(short(e)),
        }
        match &l {
            Ok(t) => ls.push(*t),
            Err(e) => ls_err = Some(short(e)),
        }
        if let (Ok(p), Ok(l)) = (p, l) {
            ratio.push(l / p);
        }
    }
    for (row, v, err) in [(&probe_row, &probe, &probe_err), (&ls_row, &ls, &ls_err)] {
        match (Stat::of(v), err) {
            (Some(st), _) => report.set(row, s.col, st),
            (None, Some(e)) => report.note_cell(row, s.col, e),
            (None, None) => report.note_cell(row, s.col, "no samples"),
        }
    }
    if let Some(st) = Stat::of(&ratio) {
        report.set(&ratio_row, s.col, st);
    }
}

/// The CLI config: the proxy map entry for example.test (Basic, CA file), as the CLI tests
/// and scripts/interop-gromox.sh write it.
fn cli_config(s: &Subject, tools: &Tools) -> Result<PathBuf> {
    let path = tools
        .work
        .join(format!("cli-{}-{}.toml", s.col.name(), s.size));
    std::fs::write(
        &path,
        format!(
            "ignore_no_public_folders = true\n[proxy_map.\"example.test\"]\nurl = {:?}\nauth = \"basic\"\ncertificate = {{ ca_file = {:?} }}\n",
            s.big.url,
            s.big.ca.display().to_string()
        ),
    )?;
    Ok(path)
}

/// `mapihttp-probe.py` over the whole Inbox (Chain, compression, Basic); seconds.
fn run_probe(s: &Subject, tools: &Tools) -> Result<f64> {
    let out = procs::run(
        Command::new("python3")
            .arg(&tools.probe)
            .args(["--url", &s.big.url, "--mailbox-id", &s.big.mailbox_id])
            .args(["--user-dn", &s.big.dn, "--user", &s.big.user])
            .arg("--ca-file")
            .arg(&s.big.ca)
            .args(["--folder", "inbox", "--limit", "1", "--timeout", "900"])
            .env("OXMAPI_PASSWORD", &s.big.password),
        Duration::from_secs(1800),
    )?;
    if !out.ok() {
        bail!("probe failed ({:?}): {}", out.status, out.tail());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let rows: Option<usize> = text
        .split("row_count ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|v| v.parse().ok());
    if rows != Some(s.rows) {
        bail!("probe read {rows:?} rows, expected {}", s.rows);
    }
    Ok(out.elapsed.as_secs_f64())
}

/// `oxmapi ls Inbox --json` (every row); seconds.
fn run_ls(s: &Subject, tools: &Tools, config: &Path) -> Result<f64> {
    let mut cmd = Command::new(&tools.cli);
    cmd.args(["ls", "Inbox", "--json", "--profile-info", &s.profile_info])
        .arg("--config")
        .arg(config)
        .env("OXMAPI_PASSWORD", &s.big.password)
        .env_remove("OXMAPI_CONFIG")
        .env_remove("RUST_LOG");
    if let Some(u) = &s.ls_user {
        cmd.args(["--user", u]);
    }
    let out = procs::run(&mut cmd, Duration::from_secs(1800))?;
    if !out.ok() {
        bail!("ls failed ({:?}): {}", out.status, out.tail());
    }
    let rows = out
        .stdout
        .split(|&b| b == b'\n')
        .filter(|l| l.first() == Some(&b'{'))
        .count();
    if rows != s.rows {
        bail!("ls printed {rows} rows, expected {}", s.rows);
    }
    Ok(out.elapsed.as_secs_f64())
}

/// (b) On a new contents table of the big Inbox each time: opening it, then RopSortTable
/// (delivery time, newest first) + 50 rows, then RopRestrict on a subject substring + 50
/// rows, then RopRestrict on unread + 50 rows; each timed from sending to the rows back.
fn sort_restrict(rt: &Runtime, s: &Subject, report: &mut Report) -> Result<()> {
    let n = s.size;
    let word = TOPICS[2].to_lowercase();
    let client = s.big.client()?;
    let mut m = block(rt, "logon", Mapi::logon(&client, &s.big))?;
    let (mut open, mut sort, mut subj, mut unread) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut got = (0, 0, 0);
    let result = block(rt, "sort and restrict", async {
        for _ in 0..REPS {
            let t = Instant::now();
            let (folder, table) = m.open_table().await.context("open table")?;
            open.push(ms(t));
            let t = Instant::now();
            got.0 = m.sort_and_read(table, true, ROWS).await.context("sort")?;
            sort.push(ms(t));
            let t = Instant::now();
            got.1 = m
                .restrict_subject(table, &word, ROWS)
                .await
                .context("restrict subject")?;
            subj.push(ms(t));
            let t = Instant::now();
            got.2 = m
                .restrict_unread(table, ROWS)
                .await
                .context("restrict unread")?;
            unread.push(ms(t));
            m.release(table).await?;
            m.release(folder).await?;
        }
        Ok(())
    });
    let backoffs = m.backoffs;
    let _ = block(rt, "disconnect", m.disconnect());
    result?;
    println!(
        "  {:<7} (b) rows back: sorted {}, subject {}, unread {}; RopBackoff answers {backoffs}",
        s.col.name(),
        got.0,
        got.1,
        got.2
    );
    report.set_samples(
        &format!("(b) {n}: open contents table (OpenFolder+GetContentsTable+SetColumns) [ms]"),
        s.col,
        &open,
    );
    report.set_samples(
        &format!("(b) {n}: SortTable delivery desc + QueryRows {ROWS} [ms]"),
        s.col,
        &sort,
    );
    report.set_samples(
        &format!("(b) {n}: Restrict subject contains \"{word}\" + QueryRows {ROWS} [ms]"),
        s.col,
        &subj,
    );
    report.set_samples(
        &format!("(b) {n}: Restrict unread (bitmask) + QueryRows {ROWS} [ms]"),
        s.col,
        &unread,
    );
    Ok(())
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// (c) `sessions` small-request sessions alone, then beside one session sorting the big
/// Inbox again and again: p50 and p99 of the small request per window.
fn concurrency(
    rt: &Runtime,
    s: &Subject,
    tools: &Tools,
    sessions: usize,
    report: &mut Report,
) -> Result<()> {
    let n = s.size;
    let small_client = s.small.client()?;
    let big_client = s.big.client()?;
    let small = block(
        rt,
        "small sessions",
        load::open_small(&small_client, &s.small, sessions),
    )?;
    let sorter = match block(rt, "sorter", load::open_sorter(&big_client, &s.big)) {
        Ok(x) => x,
        Err(e) => {
            block(rt, "close", async {
                load::close(small, None).await;
                Ok(())
            })?;
            return Err(e);
        }
    };
    let (small, _, alone) = rt.block_on(load::phase(small, None, tools.window, REPS, tools.pace));
    let (small, sorter, busy) = rt.block_on(load::phase(
        small,
        Some(sorter),
        tools.window,
        REPS,
        tools.pace,
    ));
    let _ = block(rt, "close", async {
        load::close(small, sorter).await;
        Ok(())
    });
    for (label, p) in [("alone", &alone), ("beside sorter", &busy)] {
        let samples: usize = p.windows.iter().map(|w| w.samples).sum();
        println!(
            "  {:<7} (c) {sessions} sessions {label}: {samples} requests, {} errors in {:.1} s; client CPU {:.0}%",
            s.col.name(),
            p.errors,
            p.wall,
            100.0 * p.client_cpu / p.wall.max(1e-9)
        );
        let p50: Vec<f64> = p.windows.iter().map(|w| w.p50).collect();
        let p99: Vec<f64> = p.windows.iter().map(|w| w.p99).collect();
        report.set_samples(
            &format!("(c) {n}: {sessions} sessions GetPropertiesSpecific p50 {label} [ms]"),
            s.col,
            &p50,
        );
        report.set_samples(
            &format!("(c) {n}: {sessions} sessions GetPropertiesSpecific p99 {label} [ms]"),
            s.col,
            &p99,
        );
    }
    if let Some(e) = &busy.sort_error {
        report.note(format!(
            "{} (c) {sessions} sessions: the sorter stopped: {e}",
            s.col.name()
        ));
    }
    report.set(
        &format!("(c) {n}: {sessions} sessions: sorts completed beside them"),
        s.col,
        Stat::one(busy.sorts.len() as f64),
    );
    report.set_samples(
        &format!("(c) {n}: {sessions} sessions: sorter's SortTable+QueryRows [ms]"),
        s.col,
        &busy.sorts,
    );
    Ok(())
}
