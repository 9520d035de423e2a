//! Attack 10: one request freezing everyone. Before the fixes one RopSortTable (MS-OXCROPS
//! 2.2.5.2) over 20,000 rows took 12 s, and two of them at once froze the server for 41.6 s
//! for every other user.
//!
//! Bob's Inbox is seeded with [`ROWS`] messages straight into the store before the server
//! starts ([`seed_bob_inbox`]). Two attacker sessions as bob then keep sending the heavy
//! request: RopOpenFolder(Inbox) + RopGetContentsTable + [`SORTS`] RopSortTable on
//! PidTagImportance, ascending and descending in turn (a property outside the store's indexed
//! summary columns: each sort reads the whole folder; since the store keeps those columns one
//! sort takes tens of milliseconds, not 12 s, so the attack repeats it within one request) +
//! RopSetColumns + RopQueryRows. Each answer must be
//! either the completed ROPs or, once the request's store time budget is spent, a RopBackoff
//! (MS-OXCROPS 2.2.15.2) in place of the delayed ROP with the configured duration and nothing
//! after it (MS-OXCROPS 3.2.4.2). The attacker ignores the back-off and keeps hammering.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use oxmapi_wire::data::{FolderId, PropertyValue, tags};
use oxmapi_wire::rop::{
    GetContentsTableRequest, OpenFolderRequest, QueryRowsRequest, ReleaseRequest, RopRequest,
    RopResponse, SetColumnsRequest, SortOrder, SortOrderSet, SortTableRequest,
};

use super::harness::{AttackCtx, Outcome};
use super::net::Target;
use super::rops::{NULL, code_name, logon};
use super::seed::seed_inbox;

/// Messages in bob's Inbox.
pub(crate) const ROWS: usize = 20_000;
/// Concurrent attacker sessions.
const SESSIONS: usize = 2;
/// Shortest time the attackers hammer (longer while the normal client is still measured).
const HAMMER: Duration = Duration::from_secs(8);
/// RopSortTable per heavy request.
const SORTS: usize = 64;
/// PidTagImportance (MS-OXPROPS 2.735): not one of the store's summary columns.
const IMPORTANCE: oxmapi_wire::data::PropertyTag = oxmapi_wire::data::PropertyTag(0x0017_0003);
/// Most heavy requests per session (a safety stop; the stop signal ends it long before).
const MAX_REQUESTS: usize = 2_000;

/// Puts [`ROWS`] messages with a subject and a delivery time into bob's Inbox of the store in
/// `data` (the server is not running yet).
pub(crate) fn seed_bob_inbox(data: &Path) {
    seed_inbox(data, "bob", ROWS, |i| {
        vec![
            (
                tags::PidTagSubject,
                PropertyValue::Unicode(format!("message {}", (i * 7919) % ROWS)),
            ),
            (
                tags::PidTagMessageDeliveryTime,
                PropertyValue::Time(133_000_000_000_000_000 + i as u64),
            ),
        ]
    });
}

/// The heavy request on a logon in handle slot 0: the Inbox in slot 1, its contents table in
/// slot 2, sorted [`SORTS`] times, then ten rows of PidTagMid.
fn heavy_request(inbox: FolderId) -> Vec<RopRequest> {
    [
        OpenFolderRequest {
            logon_id: 0,
            input_handle_index: 0,
            output_handle_index: 1,
            folder_id: inbox,
            open_mode_flags: 0,
        }
        .into(),
        GetContentsTableRequest {
            logon_id: 0,
            input_handle_index: 1,
            output_handle_index: 2,
            table_flags: 0,
        }
        .into(),
    ]
    .into_iter()
    .chain((0..SORTS).map(|i| {
        SortTableRequest {
            logon_id: 0,
            input_handle_index: 2,
            sort_table_flags: 0,
            sort_order_set: SortOrderSet {
                categorized_count: 0,
                expanded_count: 0,
                sort_orders: vec![SortOrder {
                    tag: IMPORTANCE,
                    order: u8::from(i % 2 == 1),
                }],
            },
        }
        .into()
    }))
    .chain([
        SetColumnsRequest {
            logon_id: 0,
            input_handle_index: 2,
            set_columns_flags: 0,
            property_tags: vec![tags::PidTagMid],
        }
        .into(),
        QueryRowsRequest {
            logon_id: 0,
            input_handle_index: 2,
            query_rows_flags: 0,
            forward_read: 1,
            row_count: 10,
        }
        .into(),
    ])
    .collect()
}

/// What one attacker session saw.
#[derive(Debug, Default)]
struct Side {
    requests: usize,
    completed: usize,
    backoffs: usize,
    /// Answer times of completed and backed-off requests.
    completed_times: Vec<Duration>,
    backoff_times: Vec<Duration>,
    /// The delayed ROPs named in the RopBackoff answers.
    delayed: BTreeMap<String, usize>,
    /// Anything else (ROP errors, Execute failures), by name.
    other: BTreeMap<String, usize>,
    failures: Vec<String>,
}

impl Side {
    fn slowest(&self) -> Duration {
        self.completed_times
            .iter()
            .chain(&self.backoff_times)
            .max()
            .copied()
            .unwrap_or_default()
    }
}

fn median_ms(v: &[Duration]) -> String {
    let mut v = v.to_vec();
    v.sort();
    v.get(v.len() / 2)
        .map_or_else(|| "-".to_owned(), |d| format!("{}", d.as_millis()))
}

/// One attacker session: logs on as bob and sends the heavy request until [`HAMMER`] has
/// passed and the runner asked to stop.
async fn hammer(ctx: AttackCtx, target: Target) -> Side {
    let mut side = Side::default();
    let (mut m, logon_h, inbox) = match logon(&target, &ctx.bob).await {
        Ok(v) => v,
        Err(e) => {
            side.failures.push(format!("logon: {e}"));
            return side;
        }
    };
    let backoff_ms = u32::try_from(ctx.limits.backoff.as_millis()).unwrap_or(u32::MAX);
    let started = Instant::now();
    while (started.elapsed() < HAMMER || !ctx.stopping()) && side.requests < MAX_REQUESTS {
        side.requests += 1;
        let sent = Instant::now();
        let answer = m
            .execute(heavy_request(inbox), vec![logon_h, NULL, NULL])
            .await;
        let took = sent.elapsed();
        let (r, h) = match answer {
            Ok(v) => v,
            Err(e) => {
                // No answer in time, or a failed Execute: the server did not cope.
                side.failures
                    .push(format!("heavy request {}: {e}", side.requests));
                *side.other.entry(e).or_default() += 1;
                break;
            }
        };
        match r.iter().position(|x| matches!(x, RopResponse::Backoff(_))) {
            Some(at) => {
                side.backoffs += 1;
                side.backoff_times.push(took);
                if let RopResponse::Backoff(b) = &r[at] {
                    for d in &b.backoff_rops {
                        *side.delayed.entry(format!("{:?}", d.rop_id)).or_default() += 1;
                    }
                    // MS-OXCROPS 2.2.15.2: the configured duration, for the logon and the ROP.
                    let durations_ok = b.duration == backoff_ms
                        && b.backoff_rops.iter().all(|d| d.duration == backoff_ms);
                    if !durations_ok {
                        side.failures.push(format!(
                            "RopBackoff durations {b:?}, expected {backoff_ms} ms"
                        ));
                    }
                }
                // MS-OXCROPS 3.2.4.2: no ROP after the delayed one is processed.
                if at + 1 != r.len() {
                    side.failures
                        .push(format!("answers after the RopBackoff: {r:?}"));
                }
            }
            None if matches!(r.last(), Some(RopResponse::QueryRows(_))) && r.len() == SORTS + 4 => {
                side.completed += 1;
                side.completed_times.push(took);
            }
            None => {
                let names: Vec<String> = r.iter().map(code_name).collect();
                *side.other.entry(names.join("+")).or_default() += 1;
            }
        }
        // Free the folder and the table the request opened (RopRelease, MS-OXCROPS
        // 2.2.15.3), so that the session stays below its object and table caps.
        let opened: Vec<u32> = h.iter().skip(1).copied().filter(|&x| x != NULL).collect();
        if !opened.is_empty() {
            let release: Vec<RopRequest> = (0..opened.len())
                .map(|i| {
                    ReleaseRequest {
                        logon_id: 0,
                        input_handle_index: u8::try_from(i).unwrap_or(u8::MAX),
                    }
                    .into()
                })
                .collect();
            if let Err(e) = m.execute(release, opened).await {
                side.failures.push(format!("RopRelease: {e}"));
                break;
            }
        }
    }
    side
}

/// Attack 10: two sessions sending heavy sorts over [`ROWS`] rows at once.
pub(crate) async fn heavy_sort(ctx: AttackCtx) -> Outcome {
    let mut o = Outcome::default();
    let target = ctx.target();
    let tasks: Vec<_> = (0..SESSIONS)
        .map(|_| tokio::spawn(hammer(ctx.clone(), target.clone())))
        .collect();
    let mut sides = Vec::new();
    for t in tasks {
        match t.await {
            Ok(s) => sides.push(s),
            Err(e) => o.fail(format!("an attacker session failed: {e}")),
        }
    }
    for (i, s) in sides.iter().enumerate() {
        for f in &s.failures {
            o.fail(format!("session {}: {f}", i + 1));
        }
    }
    let requests: usize = sides.iter().map(|s| s.requests).sum();
    let backoffs: usize = sides.iter().map(|s| s.backoffs).sum();
    let completed: usize = sides.iter().map(|s| s.completed).sum();
    let slowest = sides.iter().map(Side::slowest).max().unwrap_or_default();
    // The budget must have been reached: else the heavy request is not heavy here, and the
    // attack proved nothing.
    o.check(
        backoffs > 0,
        format!(
            "none of {requests} heavy requests over {ROWS} rows was answered with RopBackoff \
             (budget {:?})",
            ctx.limits.request_time_budget
        ),
    );
    let per_side: Vec<String> = sides
        .iter()
        .enumerate()
        .map(|(i, s)| {
            format!(
                "s{}: {} requests, {} RopBackoff (median {} ms, delayed {:?}), {} completed \
                 (median {} ms), other {:?}, slowest {} ms",
                i + 1,
                s.requests,
                s.backoffs,
                median_ms(&s.backoff_times),
                s.delayed,
                s.completed,
                median_ms(&s.completed_times),
                s.other,
                s.slowest().as_millis()
            )
        })
        .collect();
    o.note = format!(
        "[{requests} heavy requests (OpenFolder+GetContentsTable+{SORTS}×SortTable(PidTagImportance)+\
         SetColumns+QueryRows over {ROWS} rows) on {SESSIONS} sessions, budget {} ms: \
         {backoffs} RopBackoff, {completed} completed, slowest answer {} ms; {}]",
        ctx.limits.request_time_budget.as_millis(),
        slowest.as_millis(),
        per_side.join("; ")
    );
    o
}
