//! Attacks 6 and 7: authenticated requests that ask the store for too much.
//!
//! * 255 RopGetContentsTable (MS-OXCROPS 2.2.4.14) in one Execute, all into the same handle
//!   slot so that every table stays allocated for the session context, repeated on several
//!   sessions: the server must refuse tables beyond its per-session limit with a ROP error.
//! * Stream-size abuse on a new message's PidTagBody stream (MS-OXCPRPT 3.2.5.17
//!   RopSetStreamSize, 3.2.5.19 RopSeekStream, 3.2.5.15 RopWriteStream): a size or a
//!   position far beyond the stream limit must be refused with a ROP error, and the data
//!   directory must not grow.

use std::collections::BTreeMap;

use oxmapi_wire::data::{FolderId, PropertyTag};
use oxmapi_wire::rop::{
    CreateMessageRequest, GetContentsTableRequest, LogonRequest, OpenFolderRequest,
    OpenStreamRequest, RopRequest, RopResponse, SeekStreamRequest, SetStreamSizeRequest,
    WriteStreamRequest, seek_origin,
};

use super::harness::{AttackCtx, Outcome, User};
use super::net::{ATTACKER, Mapi, Target};

/// A free handle slot.
pub(crate) const NULL: u32 = 0xFFFF_FFFF;
/// PidTagBody, PtypString (MS-OXPROPS 2.618).
const PID_TAG_BODY: PropertyTag = PropertyTag(0x1000_001F);

/// A MAPI/HTTP session logged on to `user`'s mailbox: the logon handle and the Inbox id.
pub(crate) async fn logon(target: &Target, user: &User) -> Result<(Mapi, u32, FolderId), String> {
    let mut m = Mapi::open(target, ATTACKER, "emsmdb", user).await?;
    m.connect(user).await?;
    let logon = LogonRequest {
        logon_id: 0,
        output_handle_index: 0,
        logon_flags: 0x01,
        open_flags: 0x0100_000C,
        store_state: 0,
        essdn: Some(user.legacy_dn.clone()),
    };
    let (r, h) = m.execute(vec![logon.into()], vec![NULL]).await?;
    match r.first() {
        // FolderIds[4] is the Inbox (MS-OXCROPS 2.2.3.1.3).
        Some(RopResponse::LogonPrivate(l)) => Ok((m, h[0], l.folder_ids[4])),
        other => Err(format!("RopLogon: {other:?}")),
    }
}

pub(crate) fn code_name(r: &RopResponse) -> String {
    match r {
        RopResponse::Error(e) => format!("{:?}", e.return_value),
        RopResponse::Backoff(_) => "RopBackoff".to_owned(),
        RopResponse::BufferTooSmall(_) => "RopBufferTooSmall".to_owned(),
        other => format!("{:?}", other.rop_id()),
    }
}

/// Attack 6: 255 RopGetContentsTable per Execute.
pub(crate) async fn many_tables(ctx: AttackCtx) -> Outcome {
    const PER_REQUEST: usize = 255;
    const SESSIONS: usize = 3;
    const MIN_REQUESTS_PER_SESSION: usize = 4;
    let mut o = Outcome::default();
    let target = ctx.target();
    let limit = ctx.limits.max_tables_per_session;
    let mut sessions = Vec::new();
    for _ in 0..SESSIONS {
        let (mut m, logon_h, inbox) = match logon(&target, &ctx.bob).await {
            Ok(v) => v,
            Err(e) => {
                o.fail(format!("logon: {e}"));
                return o;
            }
        };
        let open = OpenFolderRequest {
            logon_id: 0,
            input_handle_index: 0,
            output_handle_index: 1,
            folder_id: inbox,
            open_mode_flags: 0,
        };
        let folder = match m.execute(vec![open.into()], vec![logon_h, NULL]).await {
            Ok((r, h)) if matches!(r.first(), Some(RopResponse::OpenFolder(_))) => h[1],
            Ok((r, _)) => {
                o.fail(format!("RopOpenFolder: {r:?}"));
                return o;
            }
            Err(e) => {
                o.fail(format!("RopOpenFolder: {e}"));
                return o;
            }
        };
        sessions.push((m, folder, 0usize));
    }
    let mut requests = 0;
    let mut codes: BTreeMap<String, usize> = BTreeMap::new();
    'outer: while requests < SESSIONS * MIN_REQUESTS_PER_SESSION || !ctx.stopping() {
        for (m, folder, granted) in &mut sessions {
            requests += 1;
            let rops: Vec<RopRequest> = (0..PER_REQUEST)
                .map(|_| {
                    GetContentsTableRequest {
                        logon_id: 0,
                        input_handle_index: 0,
                        output_handle_index: 1,
                        table_flags: 0,
                    }
                    .into()
                })
                .collect();
            match m.execute(rops, vec![*folder, NULL]).await {
                Ok((r, _)) => {
                    for x in &r {
                        match x {
                            RopResponse::GetContentsTable(_) => *granted += 1,
                            other => *codes.entry(code_name(other)).or_default() += 1,
                        }
                    }
                    if r.len() < PER_REQUEST
                        && !r
                            .iter()
                            .any(|x| !matches!(x, RopResponse::GetContentsTable(_)))
                    {
                        // Fewer answers without an error: the rest was silently dropped.
                        o.fail(format!("only {} of {PER_REQUEST} answers", r.len()));
                    }
                }
                Err(e) => {
                    // A request-level refusal is acceptable too, but note it.
                    *codes.entry(e).or_default() += 1;
                }
            }
            if requests > 400 {
                break 'outer;
            }
        }
    }
    let granted: Vec<usize> = sessions.iter().map(|s| s.2).collect();
    for (i, g) in granted.iter().enumerate() {
        o.check(
            *g <= limit,
            format!(
                "session {} holds {g} tables, above the limit of {limit}",
                i + 1
            ),
        );
    }
    o.check(!codes.is_empty(), "no table was ever refused".to_owned());
    o.note = format!(
        "[{requests} Executes of {PER_REQUEST} RopGetContentsTable on {SESSIONS} sessions: \
         tables granted per session {granted:?} (limit {limit}); refusals {codes:?}]"
    );
    o
}

/// What one stream abuse step got back.
fn refused(r: &Result<(Vec<RopResponse>, Vec<u32>), String>) -> (bool, String) {
    match r {
        Ok((rops, _)) => {
            let errs: Vec<String> = rops
                .iter()
                .filter(|x| {
                    matches!(
                        x,
                        RopResponse::Error(_)
                            | RopResponse::Backoff(_)
                            | RopResponse::BufferTooSmall(_)
                    )
                })
                .map(code_name)
                .collect();
            let names: Vec<String> = rops.iter().map(code_name).collect();
            (!errs.is_empty(), names.join("+"))
        }
        // A whole-request refusal (an Execute failure code, e.g. after the request time
        // budget) counts as refused; a transport failure (no answer in time) does not.
        Err(e) => (e.starts_with("Execute"), e.clone()),
    }
}

/// Attack 7: RopSetStreamSize(huge), RopSeekStream far past the end + RopWriteStream.
///
/// The first sizes are 256 MiB (far above the test limit of 1 MiB, yet bounded in case the
/// server writes them); the absurd ones (2^40, 2^62) follow only once those were refused.
pub(crate) async fn stream_abuse(ctx: AttackCtx) -> Outcome {
    let mut o = Outcome::default();
    let target = ctx.target();
    let before = super::harness::dir_size(&ctx.data);
    let (mut m, logon_h, inbox) = match logon(&target, &ctx.bob).await {
        Ok(v) => v,
        Err(e) => {
            o.fail(format!("logon: {e}"));
            return o;
        }
    };
    let setup = vec![
        CreateMessageRequest {
            logon_id: 0,
            input_handle_index: 0,
            output_handle_index: 1,
            code_page_id: 0x0FFF,
            folder_id: inbox,
            associated_flag: 0,
        }
        .into(),
        OpenStreamRequest {
            logon_id: 0,
            input_handle_index: 1,
            output_handle_index: 2,
            property_tag: PID_TAG_BODY,
            open_mode_flags: 0x02,
        }
        .into(),
    ];
    let stream = match m.execute(setup, vec![logon_h, NULL, NULL]).await {
        Ok((r, h)) if matches!(r.get(1), Some(RopResponse::OpenStream(_))) => h[2],
        Ok((r, _)) => {
            o.fail(format!("RopCreateMessage + RopOpenStream: {r:?}"));
            return o;
        }
        Err(e) => {
            o.fail(format!("RopCreateMessage + RopOpenStream: {e}"));
            return o;
        }
    };
    let set_size = |size: u64| -> Vec<RopRequest> {
        vec![
            SetStreamSizeRequest {
                logon_id: 0,
                input_handle_index: 0,
                stream_size: size,
            }
            .into(),
        ]
    };
    let seek_write = |offset: i64| -> Vec<RopRequest> {
        vec![
            SeekStreamRequest {
                logon_id: 0,
                input_handle_index: 0,
                origin: seek_origin::BEGINNING,
                offset,
            }
            .into(),
            WriteStreamRequest {
                logon_id: 0,
                input_handle_index: 0,
                data: vec![b'x'; 4096],
            }
            .into(),
        ]
    };
    let steps: [(&str, u64); 3] = [("256MiB", 256 << 20), ("2^40", 1 << 40), ("2^62", 1 << 62)];
    let mut answers: Vec<String> = Vec::new();
    let mut note = |line: String| {
        if !answers.contains(&line) {
            answers.push(line);
        }
    };
    // Just below the limit, a seek is fine; a write crossing the limit must not go through
    // whole (refused, or cut at the limit).
    let limit = ctx.limits.max_stream_size;
    let near = i64::try_from(limit.saturating_sub(100)).unwrap_or(i64::MAX);
    let r = m.execute(seek_write(near), vec![stream]).await;
    let crossed = match &r {
        Ok((rops, _)) => rops.iter().find_map(|x| match x {
            RopResponse::WriteStream(w) => Some(u64::from(w.written_size)),
            _ => None,
        }),
        Err(_) => None,
    };
    note(format!("Seek(limit-100)+Write(4096)={}", refused(&r).1));
    o.check(
        crossed.is_none_or(|n| n <= 100),
        format!("a 4096-byte write 100 bytes below the stream limit wrote {crossed:?} bytes"),
    );
    let mut rounds = 0;
    'rounds: while rounds < 2 || !ctx.stopping() {
        rounds += 1;
        for (name, size) in steps {
            let r = m.execute(set_size(size), vec![stream]).await;
            let (ok, what) = refused(&r);
            note(format!("SetStreamSize({name})={what}"));
            if !ok {
                o.fail(format!("RopSetStreamSize({name}) was not refused: {what}"));
                break 'rounds;
            }
            let offset = i64::try_from(size).unwrap_or(i64::MAX);
            let r = m.execute(seek_write(offset), vec![stream]).await;
            let (ok, what) = refused(&r);
            note(format!("Seek({name})+Write={what}"));
            if !ok {
                o.fail(format!(
                    "RopSeekStream({name}) + RopWriteStream was not refused: {what}"
                ));
                break 'rounds;
            }
        }
        if rounds >= 50 {
            break;
        }
    }
    let after = super::harness::dir_size(&ctx.data);
    let growth = after.saturating_sub(before);
    // Creating the message, the normal client's logons and the small writes that land where
    // a refused seek left the position (SQLite's WAL) add a few MiB; 32 MiB is far below
    // what any accepted abuse writes (256 MiB).
    const MAX_GROWTH: u64 = 32 << 20;
    o.check(
        growth <= MAX_GROWTH,
        format!(
            "the data directory grew by {} KiB (bound {} KiB)",
            growth >> 10,
            MAX_GROWTH >> 10
        ),
    );
    o.note = format!(
        "[{rounds} rounds; data dir {} KiB -> {} KiB (+{} KiB); {}]",
        before >> 10,
        after >> 10,
        growth >> 10,
        answers.join(", ")
    );
    o
}
