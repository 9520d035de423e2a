//! (c) Concurrent sessions: each of N sessions (the small user) loops one small request
//! (RopGetPropertiesSpecific on its Inbox folder, MS-OXCROPS 2.2.8.3) with a pause between
//! requests, first alone, then while one other session (the big user) sorts the big Inbox
//! again and again (RopSortTable + RopQueryRows). Latency percentiles per time window.
//!
//! Everything runs as tasks of the caller's single-threaded runtime, so the client takes at
//! most one core and the server keeps the other.

use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use oxmapi_transport::MapiHttpClient;
use tokio::task::JoinSet;

use super::mapi::{Mapi, Target};
use super::report::quantile;

/// A small-request session: the logon and its open Inbox folder.
pub(crate) struct Small {
    mapi: Mapi,
    folder: u32,
}

/// The sorting session: the logon and its open contents table of the big Inbox.
pub(crate) struct Sorter {
    mapi: Mapi,
    table: u32,
}

/// Latency percentiles (ms) of one window.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    pub(crate) p50: f64,
    pub(crate) p99: f64,
    pub(crate) samples: usize,
}

/// What one phase measured.
#[derive(Debug, Default)]
pub(crate) struct Phase {
    pub(crate) windows: Vec<Window>,
    pub(crate) errors: usize,
    /// Sorts the sorter completed, and their times (ms).
    pub(crate) sorts: Vec<f64>,
    /// Why the sorter stopped early.
    pub(crate) sort_error: Option<String>,
    /// CPU seconds the bench process used during the phase.
    pub(crate) client_cpu: f64,
    pub(crate) wall: f64,
}

/// Logs `n` sessions on as `t`, each with its Inbox open; one warm-up request each.
pub(crate) async fn open_small(
    client: &MapiHttpClient,
    t: &Target,
    n: usize,
) -> Result<Vec<Small>> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let mut mapi = Mapi::logon(client, t)
            .await
            .with_context(|| format!("session {} of {n}", i + 1))?;
        let folder = mapi.open_inbox().await?;
        mapi.folder_props(folder).await?;
        out.push(Small { mapi, folder });
    }
    Ok(out)
}

/// The sorting session on `t`'s Inbox.
pub(crate) async fn open_sorter(client: &MapiHttpClient, t: &Target) -> Result<Sorter> {
    let mut mapi = Mapi::logon(client, t).await?;
    let (_, table) = mapi.open_table().await?;
    Ok(Sorter { mapi, table })
}

/// Disconnects every session (errors ignored: the server may already have dropped them).
pub(crate) async fn close(small: Vec<Small>, sorter: Option<Sorter>) {
    for s in small {
        let _ = s.mapi.disconnect().await;
    }
    if let Some(s) = sorter {
        let _ = s.mapi.disconnect().await;
    }
}

/// Runs one phase of `windows` windows of `window` each: every session sends its small
/// request, waits `pace`, and again, until the phase ends; the sorter (if any) sorts
/// meanwhile. Returns the sessions for the next phase.
pub(crate) async fn phase(
    small: Vec<Small>,
    sorter: Option<Sorter>,
    window: Duration,
    windows: usize,
    pace: Duration,
) -> (Vec<Small>, Option<Sorter>, Phase) {
    let cpu0 = super::procs::own_cpu_secs();
    let start = Instant::now();
    let end = start + window * windows as u32;
    let n = small.len().max(1);
    let mut tasks = JoinSet::new();
    for (i, mut s) in small.into_iter().enumerate() {
        // Spread the first requests over one pause so the sessions do not march in step.
        let offset = pace * i as u32 / n as u32;
        tasks.spawn(async move {
            tokio::time::sleep(offset).await;
            let mut samples: Vec<(Duration, f64)> = Vec::new();
            let mut errors = 0usize;
            while Instant::now() < end {
                let sent = Instant::now();
                match s.mapi.folder_props(s.folder).await {
                    Ok(()) => samples.push((sent - start, sent.elapsed().as_secs_f64() * 1e3)),
                    Err(_) => errors += 1,
                }
                tokio::time::sleep(pace).await;
            }
            (s, samples, errors)
        });
    }
    let sort_task = sorter.map(|mut s| {
        tokio::spawn(async move {
            let mut times = Vec::new();
            let mut desc = true;
            let mut failed = None;
            while Instant::now() < end {
                let t = Instant::now();
                if let Err(e) = s.mapi.sort_and_read(s.table, desc, 50).await {
                    failed = Some(format!("{e:#}"));
                    break;
                }
                times.push(t.elapsed().as_secs_f64() * 1e3);
                desc = !desc;
            }
            (s, times, failed)
        })
    });
    let mut out = Phase::default();
    let mut all: Vec<(Duration, f64)> = Vec::new();
    let mut sessions = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        if let Ok((s, samples, errors)) = joined {
            sessions.push(s);
            all.extend(samples);
            out.errors += errors;
        }
    }
    let mut sorter = None;
    if let Some(task) = sort_task
        && let Ok((s, times, failed)) = task.await
    {
        out.sorts = times;
        out.sort_error = failed;
        sorter = Some(s);
    }
    out.wall = start.elapsed().as_secs_f64();
    out.client_cpu = super::procs::own_cpu_secs() - cpu0;
    for w in 0..windows {
        let (lo, hi) = (window * w as u32, window * (w as u32 + 1));
        let v: Vec<f64> = all
            .iter()
            .filter(|(at, _)| *at >= lo && *at < hi)
            .map(|(_, ms)| *ms)
            .collect();
        if let (Some(p50), Some(p99)) = (quantile(&v, 0.5), quantile(&v, 0.99)) {
            out.windows.push(Window {
                p50,
                p99,
                samples: v.len(),
            });
        }
    }
    (sessions, sorter, out)
}
