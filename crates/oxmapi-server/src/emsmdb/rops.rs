//! ROP request parsing, dispatch and response encoding (MS-OXCROPS 2.2, 3.2.5).
//!
//! Private codec for the ROPs the server handles, written from MS-OXCROPS, until
//! `oxmapi_wire::rop` is exported; the dispatcher is the only user.

use oxmapi_wire::data::{ErrorCode, PropertyRow, PropertyTag, ValueContext};
use oxmapi_wire::{ReadCursor, WriteCursor};

use super::MailboxContext;
use super::objects::{Folder, Logon, Message, Object, SortKey, Table, TableKind};
use super::props::{self, PropList, StoreInfo};
use super::restrict::Restriction;
use super::storeops;

/// What running a ROP input buffer produced.
pub(super) struct Outcome {
    /// Concatenated ROP responses.
    pub(super) responses: Vec<u8>,
    /// Set when the last ROP was a forward, advancing RopQueryRows that may continue
    /// into chained segments.
    pub(super) chain: Option<Continuation>,
}

/// A RopQueryRows that can continue into further segments (MS-OXCRPC 3.1.4.2.1.1).
pub(super) struct Continuation {
    slot: u8,
    handle: u32,
    remaining: u16,
    /// The table is exhausted or the requested count is satisfied.
    pub(super) done: bool,
}

/// RopIds (MS-OXCROPS 2.2.2).
mod id {
    pub(super) const RELEASE: u8 = 0x01;
    pub(super) const OPEN_FOLDER: u8 = 0x02;
    pub(super) const OPEN_MESSAGE: u8 = 0x03;
    pub(super) const GET_HIERARCHY_TABLE: u8 = 0x04;
    pub(super) const GET_CONTENTS_TABLE: u8 = 0x05;
    pub(super) const GET_PROPERTIES_SPECIFIC: u8 = 0x07;
    pub(super) const GET_PROPERTIES_ALL: u8 = 0x08;
    pub(super) const SET_COLUMNS: u8 = 0x12;
    pub(super) const SORT_TABLE: u8 = 0x13;
    pub(super) const RESTRICT: u8 = 0x14;
    pub(super) const QUERY_ROWS: u8 = 0x15;
    pub(super) const QUERY_POSITION: u8 = 0x17;
    pub(super) const SEEK_ROW: u8 = 0x18;
    pub(super) const GET_RECEIVE_FOLDER: u8 = 0x27;
    pub(super) const LOGON: u8 = 0xFE;
    pub(super) const BUFFER_TOO_SMALL: u8 = 0xFF;
}

/// Bookmarks (MS-OXCTABL 2.2.2.1.1).
const BOOKMARK_BEGINNING: u8 = 0x00;
const BOOKMARK_CURRENT: u8 = 0x01;
const BOOKMARK_END: u8 = 0x02;
/// RopQueryRows response fixed part: RopId, InputHandleIndex, ReturnValue, Origin, RowCount.
const QUERY_ROWS_HEADER: usize = 9;
/// MS-OXCSTOR 3.2.5.1.3 ecProfileNotConfigured.
const EC_PROFILE_NOT_CONFIGURED: ErrorCode = ErrorCode(0x0000_011C);

/// The result of one ROP.
enum Step {
    /// A response to append (possibly a failure response).
    Reply(Vec<u8>),
    /// RopRelease: no response.
    Silent,
    /// The response did not fit; nothing was changed. Carries the size that was needed.
    NoRoom(usize),
    /// An unknown ROP: its length is unknown, so processing stops after its error response.
    Stop(Vec<u8>),
}

/// Runs the ROP list against the handle table, within `budget` bytes of responses.
pub(super) fn run_buffer(
    ctx: &mut MailboxContext,
    rops: &[u8],
    handles: &mut [u32],
    budget: usize,
) -> Result<Outcome, ErrorCode> {
    let mut r = ReadCursor::new(rops);
    let mut out = Vec::new();
    let mut chain = None;
    while !r.is_empty() {
        let start = r.pos();
        let room = budget.saturating_sub(out.len());
        let step = run_one(ctx, &mut r, handles, room, out.is_empty(), &mut chain)
            .map_err(|_| ErrorCode::RPC_FORMAT)?;
        match step {
            Step::Reply(resp) if resp.len() <= room => out.extend(resp),
            Step::Silent => {}
            Step::Stop(resp) if resp.len() <= room => {
                out.extend(resp);
                break;
            }
            Step::Reply(resp) | Step::Stop(resp) => {
                // Only ROPs without side effects get here (object-creating ROPs check
                // their room before creating anything).
                buffer_too_small(&mut out, resp.len(), &rops[start..], room)?;
                chain = None;
                break;
            }
            Step::NoRoom(needed) => {
                buffer_too_small(&mut out, needed, &rops[start..], room)?;
                chain = None;
                break;
            }
        }
        if r.is_empty() {
            break;
        }
        chain = None;
    }
    Ok(Outcome {
        responses: out,
        chain,
    })
}

/// MS-OXCROPS 2.2.15.1 RopBufferTooSmall: SizeNeeded, then the unprocessed requests.
fn buffer_too_small(
    out: &mut Vec<u8>,
    needed: usize,
    rest: &[u8],
    room: usize,
) -> Result<(), ErrorCode> {
    if 3 + rest.len() > room {
        return Err(ErrorCode::BUFFER_TOO_SMALL);
    }
    // SizeNeeded: the response that did not fit plus the buffer's fixed overhead.
    let size = u16::try_from(needed + 2 + 8).unwrap_or(u16::MAX);
    out.push(id::BUFFER_TOO_SMALL);
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(rest);
    Ok(())
}

/// Response header: RopId, handle index, ReturnValue.
fn header(w: &mut WriteCursor, rop: u8, index: u8, ec: ErrorCode) {
    w.u8(rop);
    w.u8(index);
    w.u32(ec.0);
}

/// The generic failure response (RopId, handle index, ReturnValue).
fn failure(rop: u8, index: u8, ec: ErrorCode) -> Step {
    let mut w = WriteCursor::new();
    header(&mut w, rop, index, ec);
    Step::Reply(w.into_inner())
}

fn slot(handles: &[u32], index: u8) -> Result<u32, ErrorCode> {
    handles
        .get(usize::from(index))
        .copied()
        .ok_or(ErrorCode::NULL_OBJECT)
}

fn read_tags(r: &mut ReadCursor<'_>) -> oxmapi_wire::DecodeResult<Vec<PropertyTag>> {
    let n = r.u16("PropertyTagCount")?;
    r.ensure(usize::from(n) * 4, "PropertyTags")?;
    (0..n).map(|_| PropertyTag::decode(r)).collect()
}

fn run_one(
    ctx: &mut MailboxContext,
    r: &mut ReadCursor<'_>,
    handles: &mut [u32],
    room: usize,
    first: bool,
    chain: &mut Option<Continuation>,
) -> oxmapi_wire::DecodeResult<Step> {
    // Message, attachment, stream and named-property ROPs (decoded with `oxmapi_wire::rop`).
    match super::message_rops::try_run(ctx, r, handles, room)? {
        Some(super::message_rops::MsgStep::Reply(resp)) => return Ok(Step::Reply(resp)),
        Some(super::message_rops::MsgStep::NoRoom(n)) => return Ok(Step::NoRoom(n)),
        None => {}
    }
    let rop = r.u8("RopId")?;
    let logon_id = r.u8("LogonId")?;
    Ok(match rop {
        id::RELEASE => {
            let input = r.u8("InputHandleIndex")?;
            if let Ok(h) = slot(handles, input)
                && let Some(obj) = ctx.handles.release(h)
            {
                super::msgobj::on_release(ctx, &obj);
            }
            Step::Silent
        }
        id::LOGON => {
            let out = r.u8("OutputHandleIndex")?;
            let logon_flags = r.u8("LogonFlags")?;
            let open_flags = r.u32("OpenFlags")?;
            let _store_state = r.u32("StoreState")?;
            let n = r.u16("EssdnSize")?;
            let essdn = r.bytes(usize::from(n), "Essdn")?;
            let essdn: String = essdn
                .iter()
                .take_while(|&&b| b != 0)
                .map(|&b| char::from(b))
                .collect();
            let req = LogonReq {
                logon_id,
                out,
                logon_flags,
                open_flags,
                essdn,
            };
            logon(ctx, handles, &req, room)
        }
        id::OPEN_FOLDER => {
            let input = r.u8("InputHandleIndex")?;
            let out = r.u8("OutputHandleIndex")?;
            let fid = r.u64("FolderId")? as i64;
            let _mode = r.u8("OpenModeFlags")?;
            open_folder(ctx, handles, input, out, fid, room)
        }
        id::OPEN_MESSAGE => {
            let input = r.u8("InputHandleIndex")?;
            let out = r.u8("OutputHandleIndex")?;
            let _cpid = r.u16("CodePageId")?;
            let fid = r.u64("FolderId")? as i64;
            let _mode = r.u8("OpenModeFlags")?;
            let mid = r.u64("MessageId")? as i64;
            open_message(ctx, handles, input, out, fid, mid, room)
        }
        id::GET_HIERARCHY_TABLE | id::GET_CONTENTS_TABLE => {
            let input = r.u8("InputHandleIndex")?;
            let out = r.u8("OutputHandleIndex")?;
            let flags = r.u8("TableFlags")?;
            open_table(ctx, handles, rop, input, out, flags, room)
        }
        id::GET_PROPERTIES_SPECIFIC => {
            let input = r.u8("InputHandleIndex")?;
            let _limit = r.u16("PropertySizeLimit")?;
            let unicode = r.u16("WantUnicode")? != 0;
            let tags = read_tags(r)?;
            get_props_specific(ctx, handles, input, &tags, unicode)
        }
        id::GET_PROPERTIES_ALL => {
            let input = r.u8("InputHandleIndex")?;
            let _limit = r.u16("PropertySizeLimit")?;
            let _unicode = r.u16("WantUnicode")?;
            get_props_all(ctx, handles, input)
        }
        id::SET_COLUMNS => {
            let input = r.u8("InputHandleIndex")?;
            let _flags = r.u8("SetColumnsFlags")?;
            let tags = read_tags(r)?;
            table_op(ctx, handles, id::SET_COLUMNS, input, |_, t| {
                if tags.is_empty() {
                    return Err(ErrorCode::INVALID_PARAMETER);
                }
                t.columns = Some(tags);
                Ok(false)
            })
        }
        id::SORT_TABLE => {
            let input = r.u8("InputHandleIndex")?;
            let _flags = r.u8("SortTableFlags")?;
            let n = r.u16("SortOrderCount")?;
            let _categorized = r.u16("CategorizedCount")?;
            let _expanded = r.u16("ExpandedCount")?;
            r.ensure(usize::from(n) * 5, "SortOrders")?;
            let mut keys = Vec::new();
            for _ in 0..n {
                let tag = PropertyTag::decode(r)?;
                let order = r.u8("Order")?;
                keys.push(SortKey {
                    tag,
                    descending: order == 0x01,
                });
            }
            table_op(ctx, handles, id::SORT_TABLE, input, |_, t| {
                t.sort = keys;
                Ok(true)
            })
        }
        id::RESTRICT => {
            let input = r.u8("InputHandleIndex")?;
            let _flags = r.u8("RestrictFlags")?;
            let n = r.u16("RestrictionDataSize")?;
            let mut data = r.sub(usize::from(n), "RestrictionData")?;
            let res = if n == 0 {
                None
            } else {
                Some(Restriction::decode(&mut data)?)
            };
            data.finish("RestrictionData")?;
            table_op(ctx, handles, id::RESTRICT, input, |_, t| {
                t.restriction = res;
                Ok(true)
            })
        }
        id::QUERY_ROWS => {
            let input = r.u8("InputHandleIndex")?;
            let flags = r.u8("QueryRowsFlags")?;
            let forward = r.u8("ForwardRead")? != 0;
            let count = r.u16("RowCount")?;
            let advance = flags & 0x01 == 0;
            let q = Query {
                input,
                advance,
                forward,
                count,
                first,
            };
            let (step, cont) = query_rows(ctx, handles, &q, room);
            *chain = cont;
            step
        }
        id::QUERY_POSITION => {
            let input = r.u8("InputHandleIndex")?;
            match slot(handles, input).and_then(|h| ctx.handles.table_mut(h)) {
                Ok(t) => {
                    let mut w = WriteCursor::new();
                    header(&mut w, rop, input, ErrorCode::SUCCESS);
                    w.u32(u32::try_from(t.position).unwrap_or(u32::MAX));
                    w.u32(u32::try_from(t.rows.len()).unwrap_or(u32::MAX));
                    Step::Reply(w.into_inner())
                }
                Err(ec) => failure(rop, input, ec),
            }
        }
        id::SEEK_ROW => {
            let input = r.u8("InputHandleIndex")?;
            let origin = r.u8("Origin")?;
            let count = r.i32("RowCount")?;
            let _want = r.u8("WantRowMovedCount")?;
            seek_row(ctx, handles, input, origin, count)
        }
        id::GET_RECEIVE_FOLDER => {
            let input = r.u8("InputHandleIndex")?;
            let class = r.ascii_z("MessageClass")?;
            match super::folder_rops::configured_receive_folder(ctx, handles, input, &class) {
                Some(resp) => Step::Reply(resp),
                None => get_receive_folder(ctx, handles, input, &class),
            }
        }
        other if super::folder_rops::handles_rop(other) => {
            match super::folder_rops::run(ctx, other, r, handles, room)? {
                super::folder_rops::FoldStep::Reply(resp) => Step::Reply(resp),
                super::folder_rops::FoldStep::NoRoom(needed) => Step::NoRoom(needed),
            }
        }
        other => {
            // MS-OXCROPS 3.2.5.1: an unsupported ROP fails; its layout is unknown, so the
            // rest of the buffer cannot be parsed.
            let index = r.u8("InputHandleIndex").unwrap_or(0);
            let mut w = WriteCursor::new();
            header(&mut w, other, index, ErrorCode::NO_SUPPORT);
            Step::Stop(w.into_inner())
        }
    })
}

struct LogonReq {
    logon_id: u8,
    out: u8,
    logon_flags: u8,
    open_flags: u32,
    essdn: String,
}

/// RopLogon (MS-OXCROPS 2.2.3.1, MS-OXCSTOR 3.2.5.1).
fn logon(ctx: &mut MailboxContext, handles: &mut [u32], req: &LogonReq, room: usize) -> Step {
    let private = req.logon_flags & 0x01 != 0;
    let (info, folder_ids, size) = match logon_target(ctx, req, private) {
        Ok(v) => v,
        Err(ec) => return failure(id::LOGON, req.out, ec),
    };
    if usize::from(req.out) >= handles.len() {
        return failure(id::LOGON, req.out, ErrorCode::INVALID_PARAMETER);
    }
    if size > room {
        return Step::NoRoom(size);
    }
    let mut w = WriteCursor::new();
    header(&mut w, id::LOGON, req.out, ErrorCode::SUCCESS);
    w.u8(req.logon_flags);
    for f in folder_ids {
        w.u64(f as u64);
    }
    if private {
        // MS-OXCSTOR 2.2.1.1.3: Reserved (must be set) | OwnerRight | SendAsRight.
        w.u8(0x01 | 0x02 | 0x04);
        w.bytes(&info.mailbox_guid);
        w.u16(1);
        w.bytes(&info.replica_guid);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        write_logon_time(&mut w, now);
        w.u64(unix_to_filetime(now));
        w.u32(0);
    } else {
        // MS-OXCSTOR 2.2.1.1.4: ReplId, ReplGuid, PerUserGuid (zeros).
        w.u16(1);
        w.bytes(&info.replica_guid);
        w.bytes(&[0; 16]);
    }
    ctx.handles.release_logon(req.logon_id);
    ctx.stores.retain(|s| s.mailbox_id != info.mailbox_id);
    let logon = Logon {
        logon_id: req.logon_id,
        mailbox_id: info.mailbox_id,
        private,
    };
    ctx.stores.push(info);
    handles[usize::from(req.out)] = ctx.handles.insert(Object::Logon(logon));
    Step::Reply(w.into_inner())
}

/// Resolves the store of a logon request; returns it, its 13 folder IDs and the response size.
fn logon_target(
    ctx: &MailboxContext,
    req: &LogonReq,
    private: bool,
) -> Result<(StoreInfo, [i64; 13], usize), ErrorCode> {
    let (mailbox_id, replica_guid) = if private {
        if !req.essdn.eq_ignore_ascii_case(&ctx.user.legacy_dn) {
            // MS-OXCSTOR 3.2.5.1.1: an unknown ESSDN is ecUnknownUser; another user's
            // mailbox (a nonhome store) without USE_ADMIN_PRIVILEGE is
            // ecProfileNotConfigured; with it, the session user has no rights: ecLoginPerm.
            let known = ctx.with_conn(|c| {
                c.query_row(
                    "SELECT EXISTS(SELECT 1 FROM users WHERE legacy_dn = ?1)",
                    [&req.essdn],
                    |r| r.get::<_, bool>(0),
                )
            })?;
            return Err(match (known, req.open_flags & 0x1 != 0) {
                (false, _) => ErrorCode::UNKNOWN_USER,
                (true, false) => EC_PROFILE_NOT_CONFIGURED,
                (true, true) => ErrorCode::LOGIN_PERM,
            });
        }
        (ctx.user.id, ctx.user.replica_guid)
    } else {
        // MS-OXCSTOR 3.2.5.1.2: without a public folder container to log on to, no suitable
        // server can be found: ecLoginFailure.
        if !ctx.org_public_folders {
            return Err(ErrorCode::LOGON_FAILED);
        }
        let org = ctx
            .with_conn(storeops::org)?
            .ok_or(ErrorCode::LOGON_FAILED)?;
        if !org.public_folders {
            return Err(ErrorCode::LOGON_FAILED);
        }
        (0, org.public_replica_guid)
    };
    let special = ctx.with_conn(|c| storeops::special_folders(c, mailbox_id))?;
    let info = StoreInfo {
        mailbox_id,
        private,
        mailbox_guid: ctx.user.mailbox_guid,
        replica_guid,
        owner_name: ctx.user.display_name.clone(),
        owner_dn: ctx.user.legacy_dn.clone(),
        special,
    };
    let mut ids = [0i64; 13];
    for (i, slot) in ids.iter_mut().enumerate() {
        *slot = info.special_fid(i as i64 + 1).unwrap_or(0);
    }
    let size = 6
        + 1
        + 13 * 8
        + if private {
            1 + 16 + 2 + 16 + 8 + 8 + 4
        } else {
            2 + 16 + 16
        };
    Ok((info, ids, size))
}

/// LogonTime (MS-OXCSTOR 2.2.1.1.3): Seconds, Minutes, Hour, DayOfWeek, Day, Month, Year.
fn write_logon_time(w: &mut WriteCursor, unix: u64) {
    let days = unix / 86_400;
    let secs = unix % 86_400;
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    w.u8((secs % 60) as u8);
    w.u8((secs / 60 % 60) as u8);
    w.u8((secs / 3600) as u8);
    w.u8(((days + 4) % 7) as u8);
    w.u8(day as u8);
    w.u8(month as u8);
    w.u16(u16::try_from(year).unwrap_or(0));
}

fn unix_to_filetime(unix: u64) -> u64 {
    (unix + 11_644_473_600) * 10_000_000
}

/// The store and private flag of the object behind an input handle.
fn object_store(
    ctx: &MailboxContext,
    handles: &[u32],
    input: u8,
) -> Result<(Object, StoreInfo), ErrorCode> {
    let obj = ctx.handles.get(slot(handles, input)?)?.clone();
    let mailbox_id = match &obj {
        Object::Logon(l) => l.mailbox_id,
        Object::Folder(f) => f.mailbox_id,
        Object::Table(t) => t.mailbox_id,
        Object::Message(m) => m.mailbox_id,
        Object::Attachment(a) => a.mailbox_id,
        Object::Stream(s) => s.mailbox_id,
    };
    Ok((obj, ctx.store_info(mailbox_id)?.clone()))
}

/// RopOpenFolder (MS-OXCFOLD 3.2.5.1): unknown FID ⇒ ecNotFound.
fn open_folder(
    ctx: &mut MailboxContext,
    handles: &mut [u32],
    input: u8,
    out: u8,
    fid: i64,
    room: usize,
) -> Step {
    let result = (|| {
        let (obj, info) = object_store(ctx, handles, input)?;
        if !matches!(obj, Object::Logon(_) | Object::Folder(_)) {
            return Err(ErrorCode::NO_SUPPORT);
        }
        ctx.with_conn(|c| storeops::folder(c, info.mailbox_id, fid))?
            .ok_or(ErrorCode::NOT_FOUND)?;
        if usize::from(out) >= handles.len() {
            return Err(ErrorCode::INVALID_PARAMETER);
        }
        Ok(Folder {
            mailbox_id: info.mailbox_id,
            private: info.private,
            fid,
        })
    })();
    match result {
        Err(ec) => failure(id::OPEN_FOLDER, out, ec),
        Ok(_) if room < 8 => Step::NoRoom(8),
        Ok(folder) => {
            handles[usize::from(out)] = ctx.handles.insert(Object::Folder(folder));
            let mut w = WriteCursor::new();
            header(&mut w, id::OPEN_FOLDER, out, ErrorCode::SUCCESS);
            w.u8(0); // HasRules
            w.u8(0); // IsGhosted
            Step::Reply(w.into_inner())
        }
    }
}

/// RopOpenMessage (MS-OXCMSG 3.2.5.1), read-only, without recipients.
fn open_message(
    ctx: &mut MailboxContext,
    handles: &mut [u32],
    input: u8,
    out: u8,
    fid: i64,
    mid: i64,
    room: usize,
) -> Step {
    let result = (|| {
        let (_, info) = object_store(ctx, handles, input)?;
        let at = ctx.with_conn(|c| storeops::message_folder(c, info.mailbox_id, mid))?;
        if at != Some(fid) {
            return Err(ErrorCode::NOT_FOUND);
        }
        if usize::from(out) >= handles.len() {
            return Err(ErrorCode::INVALID_PARAMETER);
        }
        let all = ctx.with_conn(|c| info.message_props(c, fid, mid))?;
        Ok((
            Message {
                mailbox_id: info.mailbox_id,
                private: info.private,
                fid,
                mid,
                state: Default::default(),
            },
            all,
        ))
    })();
    let (msg, all) = match result {
        Err(ec) => return failure(id::OPEN_MESSAGE, out, ec),
        Ok(v) => v,
    };
    let mut w = WriteCursor::new();
    header(&mut w, id::OPEN_MESSAGE, out, ErrorCode::SUCCESS);
    w.u8(0); // HasNamedProperties
    for tag in [
        oxmapi_wire::data::tags::PidTagSubjectPrefix,
        oxmapi_wire::data::tags::PidTagNormalizedSubject,
    ] {
        // TypedString (MS-OXCROPS 2.2.6.1.2): 0x01 empty, 0x04 UTF-16 string.
        match props::lookup(&all, tag).and_then(|v| v.as_str().map(|s| s.into_owned())) {
            Some(s) if !s.is_empty() => {
                w.u8(0x04);
                w.utf16_z(&s);
            }
            _ => w.u8(0x01),
        }
    }
    w.u16(0); // RecipientCount
    w.u16(0); // ColumnCount
    w.u8(0); // RowCount
    let resp = w.into_inner();
    if resp.len() > room {
        return Step::NoRoom(resp.len());
    }
    handles[usize::from(out)] = ctx.handles.insert(Object::Message(msg));
    Step::Reply(resp)
}

/// RopGetHierarchyTable / RopGetContentsTable (MS-OXCFOLD 3.2.5.13, 3.2.5.14).
fn open_table(
    ctx: &mut MailboxContext,
    handles: &mut [u32],
    rop: u8,
    input: u8,
    out: u8,
    flags: u8,
    room: usize,
) -> Step {
    let result = (|| {
        let (obj, info) = object_store(ctx, handles, input)?;
        let Object::Folder(f) = obj else {
            return Err(ErrorCode::NO_SUPPORT);
        };
        if usize::from(out) >= handles.len() {
            return Err(ErrorCode::INVALID_PARAMETER);
        }
        let kind = if rop == id::GET_HIERARCHY_TABLE {
            TableKind::Hierarchy {
                depth: flags & 0x04 != 0,
            }
        } else if flags & 0x02 != 0 {
            // Associated (FAI) contents: the store keeps none.
            TableKind::Contents
        } else {
            TableKind::Contents
        };
        let mut table = Table {
            mailbox_id: info.mailbox_id,
            fid: f.fid,
            kind,
            columns: None,
            restriction: None,
            sort: Vec::new(),
            rows: Vec::new(),
            position: 0,
        };
        if flags & 0x02 == 0 || rop == id::GET_HIERARCHY_TABLE {
            rebuild_rows(ctx, &info, &mut table)?;
        }
        Ok(table)
    })();
    match result {
        Err(ec) => failure(rop, out, ec),
        Ok(_) if room < 10 => Step::NoRoom(10),
        Ok(table) => {
            let count = u32::try_from(table.rows.len()).unwrap_or(u32::MAX);
            handles[usize::from(out)] = ctx.handles.insert(Object::Table(Box::new(table)));
            let mut w = WriteCursor::new();
            header(&mut w, rop, out, ErrorCode::SUCCESS);
            w.u32(count);
            Step::Reply(w.into_inner())
        }
    }
}

/// Lists the table's rows, filtered by its restriction and ordered by its sort keys; the
/// cursor goes back to the beginning (MS-OXCTABL 3.2.5.3, 3.2.5.4).
fn rebuild_rows(ctx: &MailboxContext, info: &StoreInfo, t: &mut Table) -> Result<(), ErrorCode> {
    let ids = ctx.with_conn(|c| match t.kind {
        TableKind::Hierarchy { depth } => storeops::descendants(c, t.mailbox_id, t.fid, depth),
        TableKind::Attachments => super::attach_rops::table_rows(c, t.mailbox_id, t.fid),
        TableKind::Contents => Ok(storeops::messages_in(c, t.mailbox_id, t.fid)?
            .into_iter()
            .map(|m| (m, 0))
            .collect()),
    })?;
    let mut rows = ids;
    if t.restriction.is_some() || !t.sort.is_empty() {
        let mut keyed = Vec::with_capacity(rows.len());
        for (id, depth) in rows {
            let all = row_props(ctx, info, t, id, depth)?;
            if t.restriction
                .as_ref()
                .is_none_or(|res| res.matches(&|tag| props::lookup(&all, tag)))
            {
                let keys: Vec<_> = t.sort.iter().map(|k| props::lookup(&all, k.tag)).collect();
                keyed.push(((id, depth), keys));
            }
        }
        keyed.sort_by(|a, b| {
            for (i, k) in t.sort.iter().enumerate() {
                let o = cmp_opt(&a.1[i], &b.1[i]);
                let o = if k.descending { o.reverse() } else { o };
                if o.is_ne() {
                    return o;
                }
            }
            std::cmp::Ordering::Equal
        });
        rows = keyed.into_iter().map(|(r, _)| r).collect();
    }
    t.rows = rows;
    t.position = 0;
    Ok(())
}

fn cmp_opt(
    a: &Option<oxmapi_wire::data::PropertyValue>,
    b: &Option<oxmapi_wire::data::PropertyValue>,
) -> std::cmp::Ordering {
    use oxmapi_wire::data::PropertyValue as V;
    match (a, b) {
        (None, None) => std::cmp::Ordering::Equal,
        (None, Some(_)) => std::cmp::Ordering::Less,
        (Some(_), None) => std::cmp::Ordering::Greater,
        (Some(x), Some(y)) => match (x.as_str(), y.as_str()) {
            (Some(s), Some(t)) => s.to_lowercase().cmp(&t.to_lowercase()),
            _ => match (x, y) {
                (V::Time(p), V::Time(q)) => p.cmp(q),
                _ => x.as_i64().cmp(&y.as_i64()),
            },
        },
    }
}

fn row_props(
    ctx: &MailboxContext,
    info: &StoreInfo,
    t: &Table,
    id: i64,
    depth: u32,
) -> Result<PropList, ErrorCode> {
    ctx.with_conn(|c| match t.kind {
        TableKind::Hierarchy { .. } => match storeops::folder(c, t.mailbox_id, id)? {
            Some(f) => info.folder_props(c, &f, Some(depth)),
            None => Ok(Vec::new()),
        },
        TableKind::Contents => info.message_props(c, t.fid, id),
        TableKind::Attachments => super::attach_rops::row_props(c, t.mailbox_id, id),
    })
}

/// SetColumns / SortTable / Restrict: `f` updates the table and says whether the rows must
/// be rebuilt. Response: TableStatus TBLSTAT_COMPLETE (MS-OXCTABL 2.2.2.2.2).
fn table_op(
    ctx: &mut MailboxContext,
    handles: &[u32],
    rop: u8,
    input: u8,
    f: impl FnOnce(&MailboxContext, &mut Table) -> Result<bool, ErrorCode>,
) -> Step {
    let result = (|| {
        let h = slot(handles, input)?;
        let mut table = ctx.handles.table_mut(h)?.clone();
        if f(ctx, &mut table)? {
            let info = ctx.store_info(table.mailbox_id)?.clone();
            rebuild_rows(ctx, &info, &mut table)?;
        }
        *ctx.handles.table_mut(h)? = table;
        Ok(())
    })();
    match result {
        Err(ec) => failure(rop, input, ec),
        Ok(()) => {
            let mut w = WriteCursor::new();
            header(&mut w, rop, input, ErrorCode::SUCCESS);
            w.u8(0x00);
            Step::Reply(w.into_inner())
        }
    }
}

/// RopGetPropertiesSpecific (MS-OXCPRPT 3.2.5.1): one PropertyRow in request order.
fn get_props_specific(
    ctx: &MailboxContext,
    handles: &[u32],
    input: u8,
    tags: &[PropertyTag],
    unicode: bool,
) -> Step {
    let rop = id::GET_PROPERTIES_SPECIFIC;
    let result = (|| {
        let all = object_props(ctx, handles, input)?;
        let row = PropertyRow::from_values(props::project(&all, tags, unicode));
        let mut w = WriteCursor::new();
        header(&mut w, rop, input, ErrorCode::SUCCESS);
        row.encode(&mut w, tags, ValueContext::Rop)
            .map_err(|_| ErrorCode::CALL_FAILED)?;
        Ok(w.into_inner())
    })();
    match result {
        Ok(resp) => Step::Reply(resp),
        Err(ec) => failure(rop, input, ec),
    }
}

/// RopGetPropertiesAll (MS-OXCPRPT 3.2.5.2): PropertyValueCount + TaggedPropertyValues.
fn get_props_all(ctx: &MailboxContext, handles: &[u32], input: u8) -> Step {
    let rop = id::GET_PROPERTIES_ALL;
    let result = (|| {
        let all = object_props(ctx, handles, input)?;
        let mut w = WriteCursor::new();
        header(&mut w, rop, input, ErrorCode::SUCCESS);
        w.u16(u16::try_from(all.len()).map_err(|_| ErrorCode::TOO_BIG)?);
        for (tag, value) in all {
            let tv = oxmapi_wire::data::TaggedPropertyValue::new(tag, value);
            tv.encode(&mut w, ValueContext::Rop)
                .map_err(|_| ErrorCode::CALL_FAILED)?;
        }
        Ok(w.into_inner())
    })();
    match result {
        Ok(resp) => Step::Reply(resp),
        Err(ec) => failure(rop, input, ec),
    }
}

fn object_props(ctx: &MailboxContext, handles: &[u32], input: u8) -> Result<PropList, ErrorCode> {
    let (obj, info) = object_store(ctx, handles, input)?;
    match obj {
        Object::Logon(_) => Ok(info.store_props()),
        Object::Folder(f) => ctx.with_conn(|c| match storeops::folder(c, f.mailbox_id, f.fid)? {
            Some(row) => info.folder_props(c, &row, None),
            None => Ok(Vec::new()),
        }),
        Object::Message(m) => ctx.with_conn(|c| info.message_props(c, m.fid, m.mid)),
        Object::Table(_) | Object::Attachment(_) | Object::Stream(_) => Err(ErrorCode::NO_SUPPORT),
    }
}

struct Query {
    input: u8,
    advance: bool,
    forward: bool,
    count: u16,
    /// This is the first response of the buffer (else a too-small fit is RopBufferTooSmall).
    first: bool,
}

/// RopQueryRows (MS-OXCTABL 3.2.5.5): as many whole rows as fit; ecBufferTooSmall when not
/// even one fits; BOOKMARK_END once a forward read has exhausted the table.
fn query_rows(
    ctx: &mut MailboxContext,
    handles: &[u32],
    q: &Query,
    room: usize,
) -> (Step, Option<Continuation>) {
    let rop = id::QUERY_ROWS;
    if room < QUERY_ROWS_HEADER {
        return (Step::NoRoom(QUERY_ROWS_HEADER), None);
    }
    let h = match slot(handles, q.input) {
        Ok(h) => h,
        Err(ec) => return (failure(rop, q.input, ec), None),
    };
    match read_rows(ctx, h, q, room - QUERY_ROWS_HEADER) {
        Err(ec) => (failure(rop, q.input, ec), None),
        Ok(None) if q.first => (failure(rop, q.input, ErrorCode::BUFFER_TOO_SMALL), None),
        Ok(None) => (Step::NoRoom(room + 1), None),
        Ok(Some(res)) => {
            let mut w = WriteCursor::new();
            header(&mut w, rop, q.input, ErrorCode::SUCCESS);
            w.u8(res.origin);
            w.u16(res.count);
            w.bytes(&res.data);
            let done = res.origin == BOOKMARK_END || res.count >= q.count;
            let cont = (q.advance && q.forward).then(|| Continuation {
                slot: q.input,
                handle: h,
                remaining: q.count - res.count,
                done,
            });
            (Step::Reply(w.into_inner()), cont)
        }
    }
}

/// Produces the next chained RopQueryRows response, or `None` when nothing more is sent.
pub(super) fn continue_query_rows(
    ctx: &mut MailboxContext,
    cont: &mut Continuation,
    room: usize,
) -> Result<Option<Vec<u8>>, ErrorCode> {
    if cont.done || cont.remaining == 0 || room < QUERY_ROWS_HEADER {
        return Ok(None);
    }
    let q = Query {
        input: cont.slot,
        advance: true,
        forward: true,
        count: cont.remaining,
        first: false,
    };
    let Ok(Some(res)) = read_rows(ctx, cont.handle, &q, room - QUERY_ROWS_HEADER) else {
        return Ok(None);
    };
    if res.count == 0 {
        return Ok(None);
    }
    cont.remaining -= res.count;
    cont.done = res.origin == BOOKMARK_END || cont.remaining == 0;
    let mut w = WriteCursor::new();
    header(&mut w, id::QUERY_ROWS, cont.slot, ErrorCode::SUCCESS);
    w.u8(res.origin);
    w.u16(res.count);
    w.bytes(&res.data);
    Ok(Some(w.into_inner()))
}

struct Rows {
    origin: u8,
    count: u16,
    data: Vec<u8>,
}

/// Reads rows from the cursor into at most `room` bytes; `Ok(None)` when rows remain but
/// not one fits. Moves the cursor when `q.advance`.
fn read_rows(
    ctx: &mut MailboxContext,
    h: u32,
    q: &Query,
    room: usize,
) -> Result<Option<Rows>, ErrorCode> {
    let table = ctx.handles.table_mut(h)?.clone();
    let columns = table.columns.clone().ok_or(ErrorCode::NULL_OBJECT)?;
    let info = ctx.store_info(table.mailbox_id)?.clone();
    let pos = table.position.min(table.rows.len());
    let want = usize::from(q.count);
    let candidates: Vec<(i64, u32)> = if q.forward {
        table.rows[pos..].iter().take(want).copied().collect()
    } else {
        let start = pos.saturating_sub(want);
        table.rows[start..pos].to_vec()
    };
    let mut data = Vec::new();
    let mut n = 0usize;
    for &(id, depth) in &candidates {
        let all = row_props(ctx, &info, &table, id, depth)?;
        let row = PropertyRow::from_values(props::project(&all, &columns, true));
        let mut w = WriteCursor::new();
        row.encode(&mut w, &columns, ValueContext::Rop)
            .map_err(|_| ErrorCode::CALL_FAILED)?;
        if data.len() + w.len() > room {
            break;
        }
        data.extend(w.into_inner());
        n += 1;
    }
    if n == 0 && !candidates.is_empty() {
        return Ok(None);
    }
    let (new_pos, origin) = if q.forward {
        let p = pos + n;
        (
            p,
            if p >= table.rows.len() {
                BOOKMARK_END
            } else {
                BOOKMARK_CURRENT
            },
        )
    } else {
        let p = pos - n;
        (
            p,
            if p == 0 {
                BOOKMARK_BEGINNING
            } else {
                BOOKMARK_CURRENT
            },
        )
    };
    if q.advance {
        ctx.handles.table_mut(h)?.position = new_pos;
    }
    // n <= want <= u16::MAX.
    Ok(Some(Rows {
        origin,
        count: n as u16,
        data,
    }))
}

/// RopSeekRow (MS-OXCTABL 3.2.5.7): Origin BOOKMARK_BEGINNING/CURRENT/END plus RowCount.
fn seek_row(ctx: &mut MailboxContext, handles: &[u32], input: u8, origin: u8, count: i32) -> Step {
    let rop = id::SEEK_ROW;
    let result = (|| {
        let t = ctx.handles.table_mut(slot(handles, input)?)?;
        let len = t.rows.len() as i64;
        let base = match origin {
            BOOKMARK_BEGINNING => 0,
            BOOKMARK_CURRENT => t.position as i64,
            BOOKMARK_END => len,
            _ => return Err(ErrorCode::INVALID_PARAMETER),
        };
        let target = base + i64::from(count);
        let clamped = target.clamp(0, len);
        t.position = clamped as usize;
        Ok((clamped != target, (clamped - base) as i32))
    })();
    match result {
        Err(ec) => failure(rop, input, ec),
        Ok((less, sought)) => {
            let mut w = WriteCursor::new();
            header(&mut w, rop, input, ErrorCode::SUCCESS);
            w.u8(u8::from(less));
            w.i32(sought);
            Step::Reply(w.into_inner())
        }
    }
}

/// RopGetReceiveFolder (MS-OXCSTOR 3.2.5.2): every class is received in the Inbox.
fn get_receive_folder(ctx: &MailboxContext, handles: &[u32], input: u8, class: &str) -> Step {
    let rop = id::GET_RECEIVE_FOLDER;
    let result = (|| {
        let (obj, info) = object_store(ctx, handles, input)?;
        if !matches!(obj, Object::Logon(_)) || !info.private {
            return Err(ErrorCode::NO_SUPPORT);
        }
        info.special_fid(5).ok_or(ErrorCode::NOT_FOUND)
    })();
    match result {
        Err(ec) => failure(rop, input, ec),
        Ok(fid) => {
            let explicit = if class
                .get(..3)
                .is_some_and(|p| p.eq_ignore_ascii_case("IPM"))
            {
                "IPM"
            } else {
                ""
            };
            let mut w = WriteCursor::new();
            header(&mut w, rop, input, ErrorCode::SUCCESS);
            w.u64(fid as u64);
            w.ascii_z(explicit);
            Step::Reply(w.into_inner())
        }
    }
}
