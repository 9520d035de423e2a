//! Attack 11: the never-reading client. A client that asks for large answers and never reads
//! them holds a connection whose every server write stays pending (its TCP window is full).
//! The server bounds this with `write_stall_timeout` (docs/server-limits.md): a write that
//! makes no progress for that long ends the connection.
//!
//! Bob's Inbox is seeded with [`ROWS`] messages with long subjects ([`seed_bob_inbox`]). The
//! attacker opens an RPC/HTTP EMSMDB virtual connection (MS-RPCH 3.2.2.5.3) whose OUT
//! channel's TCP receive buffer is [`OUT_RECV_BUFFER`] bytes, logs on (EcDoConnectEx +
//! EcDoRpcExt2 with RopLogon, MS-OXCRPC 3.1.4.1, 3.1.4.2), opens the Inbox's contents table
//! with PidTagSubject as its only column, and measures a few calls of RopSeekRow + RopQueryRows
//! (MS-OXCROPS 2.2.5.8, 2.2.5.4) read normally. Then it sends enough of those calls to ask for
//! [`ANSWER_BYTES`] of answers and never reads the OUT channel again. The server must close
//! the virtual connection (its IN channel answers or ends, and the OUT channel ends after the
//! bytes already in flight) within [`STALL_FACTOR`] write stall timeouts plus twice the time
//! the calls take when read normally (measured just before, in the same round). Rounds repeat
//! on new virtual connections until the runner says stop.
//!
//! The server has a second, slower bound on the same client: the IN channel waits at most
//! the ConnectionTimeout plus slack (150 s) for room in the OUT channel's PDU queue
//! (`OutStalled`). The bound here (seconds) leaves only the write stall timeout to close the
//! OUT connection, after which the IN channel ends because its OUT channel is gone.

use std::path::Path;
use std::time::{Duration, Instant};

use oxmapi_wire::data::{FolderId, PropertyTag, PropertyValue, tags};
use oxmapi_wire::dcerpc::emsmdb::{EcDoRpcExt2Request, EcDoRpcExt2Response, OPNUM_EC_DO_RPC_EXT2};
use oxmapi_wire::dcerpc::ndr::{ContextHandle, NdrCodec};
use oxmapi_wire::rop::{
    GetContentsTableRequest, LogonRequest, OpenFolderRequest, QueryRowsRequest, RopRequest,
    RopRequestBuffer, RopResponse, RopResponseBuffer, SeekRowRequest, SetColumnsRequest,
};
use oxmapi_wire::rpcext::{PackOptions, pack_segment, unpack_segments};
use tokio::io::AsyncReadExt;

use super::harness::{AttackCtx, Outcome};
use super::net::{ATTACKER, Target, Vc, WAIT};
use super::rops::{NULL, code_name};
use super::seed::seed_inbox;

/// Messages in bob's Inbox.
pub(crate) const ROWS: usize = 300;
/// Characters of each seeded subject (UTF-16 in a row: twice as many bytes).
const SUBJECT_CHARS: usize = 1000;
/// Rows asked for by each RopQueryRows; the server answers as many as fit its ROP output
/// buffer (16 rows, 32 KB, here).
const ROWS_PER_CALL: u16 = 100;
/// SO_RCVBUF of the OUT channel's socket.
const OUT_RECV_BUFFER: u32 = 4096;
/// Answer bytes asked for per round without reading: several times what the kernel's send
/// buffer (autotuned up to about 4 MB) and the server's OUT queue can hold.
const ANSWER_BYTES: u64 = 16 << 20;
/// Most calls sent without reading per round (a safety stop).
const MAX_CALLS: usize = 1_000;
/// Calls read normally per round to measure the per-call time.
const MEASURED_CALLS: usize = 3;
/// The server closes the connection within this many write stall timeouts once it stalled.
const STALL_FACTOR: u32 = 3;
/// Most rounds (a safety stop; the stop signal ends the attack long before).
const MAX_ROUNDS: usize = 20;
/// The configured write stall timeout of this attack's server.
pub(crate) const WRITE_STALL: Duration = Duration::from_millis(1000);

/// A subject of [`SUBJECT_CHARS`] pseudo-random letters (so that no compression shrinks the
/// answers).
fn subject(i: usize) -> String {
    let mut x = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..SUBJECT_CHARS)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b'a' + (x % 26) as u8)
        })
        .collect()
}

/// Puts [`ROWS`] messages with long subjects into bob's Inbox of the store in `data` (the
/// server is not running yet).
pub(crate) fn seed_bob_inbox(data: &Path) {
    seed_inbox(data, "bob", ROWS, |i| {
        vec![(tags::PidTagSubject, PropertyValue::Unicode(subject(i)))]
    });
}

/// EcDoRpcExt2's request stub for `rops` in one uncompressed segment (pulFlags NoCompression
/// | NoXorMagic, MS-OXCRPC 3.1.4.2).
fn ext2_stub(
    cxh: ContextHandle,
    rops: Vec<RopRequest>,
    handles: Vec<u32>,
) -> Result<Vec<u8>, String> {
    let req = RopRequestBuffer { rops, handles };
    let rgb_in = pack_segment(
        &req.to_bytes().map_err(|e| e.to_string())?,
        PackOptions::default(),
    )
    .map_err(|e| e.to_string())?;
    EcDoRpcExt2Request {
        handle: cxh,
        flags: 0x3,
        rgb_in,
        max_out: 0x4_0000,
        aux_in: Vec::new(),
        max_aux_out: 0x1008,
    }
    .to_stub()
    .map_err(|e| e.to_string())
}

/// One EcDoRpcExt2 call read normally: the answers, the handle table and the rgbOut size.
async fn ext2(
    vc: &mut Vc,
    cxh: ContextHandle,
    rops: Vec<RopRequest>,
    handles: Vec<u32>,
    columns: &[PropertyTag],
) -> Result<(Vec<RopResponse>, Vec<u32>, usize), String> {
    let req = RopRequestBuffer {
        rops: rops.clone(),
        handles: handles.clone(),
    };
    let stub = vc
        .call_stub(OPNUM_EC_DO_RPC_EXT2, &ext2_stub(cxh, rops, handles)?)
        .await?;
    let resp = EcDoRpcExt2Response::from_stub(&stub).map_err(|e| format!("EcDoRpcExt2: {e}"))?;
    if !resp.result.is_success() {
        return Err(format!("EcDoRpcExt2: {:?}", resp.result));
    }
    let segs = unpack_segments(&resp.rgb_out).map_err(|e| format!("rgbOut: {e}"))?;
    let payload: Vec<u8> = segs.into_iter().flat_map(|s| s.payload).collect();
    let contexts = req
        .response_contexts(|_, _| Some(columns.to_vec()))
        .map_err(|e| format!("{e:?}"))?;
    let out = RopResponseBuffer::decode(&payload, &contexts)
        .map_err(|e| format!("ROP output buffer: {e}"))?;
    Ok((out.rops, out.handles, resp.rgb_out.len()))
}

/// RopSeekRow to the beginning + RopQueryRows of [`ROWS_PER_CALL`] rows on the table in
/// handle slot 0.
fn query() -> Vec<RopRequest> {
    vec![
        SeekRowRequest {
            logon_id: 0,
            input_handle_index: 0,
            origin: 0,
            row_count: 0,
            want_row_moved_count: 0,
        }
        .into(),
        QueryRowsRequest {
            logon_id: 0,
            input_handle_index: 0,
            query_rows_flags: 0,
            forward_read: 1,
            row_count: ROWS_PER_CALL,
        }
        .into(),
    ]
}

/// A virtual connection logged on as bob with the Inbox's contents table open (PidTagSubject
/// as its column): the connection, its context handle and the table's handle.
async fn open_table(target: &Target, ctx: &AttackCtx) -> Result<(Vc, ContextHandle, u32), String> {
    let mut vc = Vc::open_with(target, ATTACKER, &ctx.bob, Some(OUT_RECV_BUFFER)).await?;
    vc.bind_emsmdb().await?;
    let cxh = vc.connect(&ctx.bob).await?;
    let logon = LogonRequest {
        logon_id: 0,
        output_handle_index: 0,
        logon_flags: 0x01,
        open_flags: 0x0100_000C,
        store_state: 0,
        essdn: Some(ctx.bob.legacy_dn.clone()),
    };
    let (r, h, _) = ext2(&mut vc, cxh, vec![logon.into()], vec![NULL], &[]).await?;
    // FolderIds[4] is the Inbox (MS-OXCROPS 2.2.3.1.3).
    let inbox: FolderId = match r.first() {
        Some(RopResponse::LogonPrivate(l)) => l.folder_ids[4],
        other => return Err(format!("RopLogon: {other:?}")),
    };
    let rops: Vec<RopRequest> = vec![
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
        SetColumnsRequest {
            logon_id: 0,
            input_handle_index: 2,
            set_columns_flags: 0,
            property_tags: vec![tags::PidTagSubject],
        }
        .into(),
    ];
    let (r, h2, _) = ext2(&mut vc, cxh, rops, vec![h[0], NULL, NULL], &[]).await?;
    match r.last() {
        Some(RopResponse::SetColumns(_)) if r.len() == 3 => Ok((vc, cxh, h2[2])),
        _ => Err(format!(
            "opening the Inbox's contents table: {:?}",
            r.iter().map(code_name).collect::<Vec<_>>()
        )),
    }
}

/// What one round saw.
#[derive(Debug, Default)]
struct Round {
    /// Bytes of one answer's rgbOut, and its rows.
    answer_bytes: usize,
    rows: usize,
    /// Median time of a call read normally.
    per_call: Duration,
    /// Calls sent without reading, and the bytes of answers they asked for.
    calls: usize,
    requested: u64,
    /// From the last call sent to the end of the virtual connection.
    close_after: Duration,
    /// The bound `close_after` was held to.
    bound: Duration,
    /// How the IN channel ended (an HTTP status line, EOF or a reset).
    in_end: String,
    /// OUT channel bytes read after the close, and how it ended.
    drained: u64,
    out_end: String,
}

/// Waits (up to `within`) for the server to end the IN channel: its first response bytes, an
/// EOF or an error.
async fn in_channel_end(vc: &mut Vc, within: Duration) -> Option<String> {
    let mut buf = [0u8; 512];
    match tokio::time::timeout(within, vc.input.read(&mut buf)).await {
        Ok(Ok(0)) => Some("EOF".to_owned()),
        Ok(Ok(n)) => {
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            Some(text.lines().next().unwrap_or_default().to_owned())
        }
        Ok(Err(e)) => Some(format!("{:?}", e.kind())),
        Err(_) => None,
    }
}

/// Reads the OUT channel until it ends: the bytes read and how it ended (`None` if it stayed
/// open and silent for [`WAIT`]).
async fn drain_out(vc: &mut Vc) -> (u64, Option<String>) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        match vc.read_out_raw(&mut buf).await {
            Ok(0) => return (total, Some("EOF".to_owned())),
            Ok(n) => total += n as u64,
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => return (total, None),
            Err(e) => return (total, Some(format!("{:?}", e.kind()))),
        }
    }
}

async fn round(target: &Target, ctx: &AttackCtx) -> Result<Round, String> {
    let mut r = Round::default();
    let (mut vc, cxh, table) = open_table(target, ctx).await?;
    let mut times = Vec::new();
    for _ in 0..MEASURED_CALLS {
        let sent = Instant::now();
        let (answers, _, len) = ext2(&mut vc, cxh, query(), vec![table], &[tags::PidTagSubject])
            .await
            .map_err(|e| format!("a query read normally: {e}"))?;
        times.push(sent.elapsed());
        match answers.last() {
            Some(RopResponse::QueryRows(q)) if !q.rows.is_empty() => r.rows = q.rows.len(),
            other => {
                let rows = match other {
                    Some(RopResponse::QueryRows(q)) => q.rows.len(),
                    _ => 0,
                };
                return Err(format!(
                    "a query read normally answered {:?} with {rows} rows in {len} bytes",
                    answers.iter().map(code_name).collect::<Vec<_>>()
                ));
            }
        }
        r.answer_bytes = len;
    }
    times.sort();
    r.per_call = times[times.len() / 2];

    let per_answer = r.answer_bytes.max(1) as u64;
    let planned = usize::try_from(ANSWER_BYTES.div_ceil(per_answer))
        .unwrap_or(MAX_CALLS)
        .min(MAX_CALLS);
    let stub = ext2_stub(cxh, query(), vec![table])?;
    for _ in 0..planned {
        match tokio::time::timeout(WAIT, vc.send_call(OPNUM_EC_DO_RPC_EXT2, &stub)).await {
            Ok(Ok(())) => r.calls += 1,
            // The server already ended the connection (a reset on the IN channel): the
            // close is then timed from this last send.
            Ok(Err(_)) | Err(_) => break,
        }
    }
    let last_sent = Instant::now();
    r.requested = r.calls as u64 * per_answer;
    // The time the server needs to answer every call if they were read (an upper bound of the
    // time to fill the buffers), twice, plus STALL_FACTOR stall timeouts.
    r.bound = WRITE_STALL * STALL_FACTOR + r.per_call * 2 * u32::try_from(r.calls).unwrap_or(0);
    // Wait longer than the bound, so that a late close is measured rather than cut off.
    let Some(in_end) = in_channel_end(&mut vc, r.bound * 2 + WAIT).await else {
        return Err(format!(
            "the server did not end the virtual connection within {:?} of the last of {} \
             unread calls ({} MiB of answers)",
            r.bound * 2 + WAIT,
            r.calls,
            r.requested >> 20
        ));
    };
    r.close_after = last_sent.elapsed();
    r.in_end = in_end;
    let (drained, out_end) = drain_out(&mut vc).await;
    r.drained = drained;
    r.out_end = out_end.unwrap_or_else(|| format!("still open after {WAIT:?} of silence"));
    Ok(r)
}

/// Attack 11: RopQueryRows answers asked for on an RPC/HTTP virtual connection whose OUT
/// channel is never read.
pub(crate) async fn never_reading(ctx: AttackCtx) -> Outcome {
    let mut o = Outcome::default();
    let target = ctx.target();
    let mut rounds = Vec::new();
    while rounds.is_empty() || (!ctx.stopping() && rounds.len() < MAX_ROUNDS) {
        let n = rounds.len() + 1;
        match round(&target, &ctx).await {
            Ok(r) => {
                o.check(
                    r.close_after <= r.bound,
                    format!(
                        "round {n}: the virtual connection ended {} ms after the last of {} \
                         unread calls, beyond {STALL_FACTOR} x the write stall timeout {} ms + \
                         2 x {} calls x {} ms per call read normally",
                        r.close_after.as_millis(),
                        r.calls,
                        WRITE_STALL.as_millis(),
                        r.calls,
                        r.per_call.as_millis()
                    ),
                );
                o.check(
                    !r.out_end.starts_with("still open"),
                    format!("round {n}: the OUT channel was {}", r.out_end),
                );
                o.check(
                    r.drained < r.requested,
                    format!(
                        "round {n}: all {} bytes of answers arrived: the writes never stalled",
                        r.requested
                    ),
                );
                rounds.push(r);
            }
            Err(e) => {
                o.fail(format!("round {n}: {e}"));
                break;
            }
        }
    }
    let calls: usize = rounds.iter().map(|r| r.calls).sum();
    let requested: u64 = rounds.iter().map(|r| r.requested).sum();
    let slowest = rounds.iter().max_by_key(|r| r.close_after);
    let per_round: Vec<String> = rounds
        .iter()
        .map(|r| {
            format!(
                "{} calls x {} KiB ({} rows), close after {} ms (bound {} ms), IN {}, OUT {} after {} KiB",
                r.calls,
                r.answer_bytes / 1024,
                r.rows,
                r.close_after.as_millis(),
                r.bound.as_millis(),
                r.in_end,
                r.out_end,
                r.drained / 1024
            )
        })
        .collect();
    o.note = format!(
        "[{} rounds, write stall timeout {} ms, OUT SO_RCVBUF {OUT_RECV_BUFFER}: {calls} unread \
         EcDoRpcExt2 calls (RopSeekRow+RopQueryRows) asking for {} MiB \
         of answers; last send to close: max {} ms (per call read normally {} ms); rounds: {}]",
        rounds.len(),
        WRITE_STALL.as_millis(),
        requested >> 20,
        slowest.map_or(0, |r| r.close_after.as_millis()),
        slowest.map_or(0, |r| r.per_call.as_millis()),
        per_round.join("; ")
    );
    o
}
