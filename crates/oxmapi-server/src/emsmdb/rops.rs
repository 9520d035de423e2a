//! ROP dispatch for the logon, folder-open, table and property-read ROPs (MS-OXCROPS 2.2,
//! 3.2.5), and the budget rules of a ROP output buffer.
//!
//! Requests are decoded and responses encoded with `oxmapi_wire::rop`; this module only
//! decides what to answer. The message, attachment, stream and named-property ROPs go to
//! [`super::message_rops`] first, the folder write ROPs to [`super::folder_rops`].

use oxmapi_wire::data::{
    ErrorCode, FolderId, PropertyRow, PropertyValue, TaggedPropertyValue, ValueContext,
};
use oxmapi_wire::rop::{
    BackoffResponse, BackoffRop, BufferTooSmallResponse, GetContentsTableRequest,
    GetContentsTableResponse, GetHierarchyTableRequest, GetHierarchyTableResponse,
    GetPropertiesAllRequest, GetPropertiesAllResponse, GetPropertiesSpecificRequest,
    GetPropertiesSpecificResponse, GetReceiveFolderRequest, GetReceiveFolderResponse,
    LogonPrivateResponse, LogonPublicResponse, LogonRequest, LogonTime, OpenFolderRequest,
    OpenFolderResponse, QueryPositionRequest, QueryPositionResponse, QueryRowsRequest,
    QueryRowsResponse, ReleaseRequest, RestrictRequest, RestrictResponse, RopErrorResponse, RopId,
    SeekRowRequest, SeekRowResponse, SetColumnsRequest, SetColumnsResponse, SortTableRequest,
    SortTableResponse, open_flags, table_flags,
};
use oxmapi_wire::{Decode, DecodeResult, Encode, ReadCursor, WriteCursor};

use super::MailboxContext;
use super::notify::Subscription;
use super::objects::{Folder, Logon, Object, SortKey, Table, TableKind};
use super::props::{self, PropList, StoreInfo};
use super::restrict::Evaluate as _;
use super::storeops;

/// What running a ROP input buffer produced.
pub(super) struct Outcome {
    /// Concatenated ROP responses.
    pub(super) responses: Vec<u8>,
    /// Set when the last ROP was a forward, advancing RopQueryRows that may continue
    /// into chained segments.
    pub(super) chain: Option<Continuation>,
    /// The responses end with a RopBufferTooSmall: nothing may follow it.
    pub(super) too_small: bool,
    /// The responses end with a RopBackoff: the request's store time ran out.
    pub(super) backoff: bool,
}

/// A RopQueryRows that can continue into further segments (MS-OXCRPC 3.1.4.2.1.1).
pub(super) struct Continuation {
    slot: u8,
    handle: u32,
    remaining: u16,
    /// The table is exhausted or the requested count is satisfied.
    pub(super) done: bool,
}

/// Bookmarks (MS-OXCTABL 2.2.2.1.1).
const BOOKMARK_BEGINNING: u8 = 0x00;
const BOOKMARK_CURRENT: u8 = 0x01;
const BOOKMARK_END: u8 = 0x02;
/// QueryRowsFlags NoAdvance (MS-OXCROPS 2.2.5.4.1).
const QUERY_NO_ADVANCE: u8 = 0x01;
/// SortOrder Order: Descending (MS-OXCDATA 2.13.1).
const ORDER_DESCENDING: u8 = 0x01;
/// TableStatus TBLSTAT_COMPLETE (MS-OXCTABL 2.2.2.1.3).
const TBLSTAT_COMPLETE: u8 = 0x00;
/// RopQueryRows response fixed part: RopId, InputHandleIndex, ReturnValue, Origin, RowCount.
const QUERY_ROWS_HEADER: usize = 9;
/// RopBufferTooSmall fixed part: RopId, SizeNeeded (MS-OXCROPS 2.2.15.1).
const BUFFER_TOO_SMALL_HEADER: usize = 3;
/// A RopBackoff response naming one ROP: RopId, LogonId, Duration, BackoffRopCount,
/// RopIdBackoff, Duration, AdditionalDataSize (MS-OXCROPS 2.2.15.2.1).
const BACKOFF_SIZE: usize = 1 + 1 + 4 + 1 + (1 + 4) + 2;
/// MS-OXCSTOR 3.2.5.1.3 ecProfileNotConfigured.
const EC_PROFILE_NOT_CONFIGURED: ErrorCode = ErrorCode(0x0000_011C);
/// ResponseFlags of a private logon (MS-OXCSTOR 2.2.1.1.3): Reserved (must be set) |
/// OwnerRight | SendAsRight.
const LOGON_RESPONSE_FLAGS: u8 = 0x01 | 0x02 | 0x04;
/// The REPLID of every FID/MID this server allocates.
const REPLID: u16 = 1;

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
///
/// The request's store time is limited ([`crate::Limits::request_time_budget`]). When it
/// runs out, MS-OXCROPS 3.2.4.2 applies: a RopBackoff response takes the place of the
/// response of the delayed ROP, and no later ROP is processed (the responses before it
/// stay). The delayed ROP is the one whose store work was stopped (if it committed nothing:
/// one that did keeps its own response), else the first ROP not yet run.
pub(super) fn run_buffer(
    ctx: &mut MailboxContext,
    rops: &[u8],
    handles: &mut [u32],
    budget: usize,
) -> Result<Outcome, ErrorCode> {
    let mut r = ReadCursor::new(rops);
    let mut out = Vec::new();
    let mut chain = None;
    let mut too_small = false;
    let mut backoff = false;
    while !r.is_empty() {
        let rest = r.rest();
        let room = budget.saturating_sub(out.len());
        ctx.begin_rop();
        let step = run_one(ctx, &mut r, handles, room, out.is_empty(), &mut chain)
            .map_err(|_| ErrorCode::RPC_FORMAT)?;
        let (stopped, committed) = ctx.rop_stopped();
        if stopped && !committed {
            // Nothing of it stayed: the client sends it again after the back-off.
            back_off(ctx, &mut out, rest, room)?;
            chain = None;
            backoff = true;
            break;
        }
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
                buffer_too_small(&mut out, resp.len(), rest, room)?;
                chain = None;
                too_small = true;
                break;
            }
            Step::NoRoom(needed) => {
                buffer_too_small(&mut out, needed, rest, room)?;
                chain = None;
                too_small = true;
                break;
            }
        }
        if r.is_empty() {
            break;
        }
        chain = None;
        if ctx.budget_spent() {
            let room = budget.saturating_sub(out.len());
            back_off(ctx, &mut out, r.rest(), room)?;
            backoff = true;
            break;
        }
    }
    Ok(Outcome {
        responses: out,
        chain,
        too_small,
        backoff,
    })
}

/// MS-OXCROPS 2.2.15.2 RopBackoff for the ROP at the start of `rest` (the delayed one):
/// LogonId of that ROP, Duration = [`crate::Limits::backoff`] for the logon and, in one
/// BackoffRopData, for that RopId; no AdditionalData. A RopBufferTooSmall carrying the
/// unprocessed requests when even that does not fit.
fn back_off(
    ctx: &MailboxContext,
    out: &mut Vec<u8>,
    rest: &[u8],
    room: usize,
) -> Result<(), ErrorCode> {
    let (Some(&rop_id), Some(&logon_id)) = (rest.first(), rest.get(1)) else {
        return Err(ErrorCode::RPC_FORMAT);
    };
    if BACKOFF_SIZE > room {
        return buffer_too_small(out, BACKOFF_SIZE, rest, room);
    }
    let ms = u32::try_from(ctx.limits.backoff.as_millis()).unwrap_or(u32::MAX);
    tracing::info!(
        user = %ctx.user.alias,
        rop = ?RopId(rop_id),
        backoff_ms = ms,
        "request store time budget spent; answering RopBackoff"
    );
    let resp = BackoffResponse {
        logon_id,
        duration: ms,
        backoff_rops: vec![BackoffRop {
            rop_id: RopId(rop_id),
            duration: ms,
        }],
        additional_data: Vec::new(),
    };
    out.extend(encode(&resp).map_err(|_| ErrorCode::CALL_FAILED)?);
    Ok(())
}

/// MS-OXCROPS 2.2.15.1 RopBufferTooSmall: SizeNeeded, then the unprocessed requests.
fn buffer_too_small(
    out: &mut Vec<u8>,
    needed: usize,
    rest: &[u8],
    room: usize,
) -> Result<(), ErrorCode> {
    if BUFFER_TOO_SMALL_HEADER + rest.len() > room {
        return Err(ErrorCode::BUFFER_TOO_SMALL);
    }
    // SizeNeeded: the response that did not fit plus the buffer's fixed overhead.
    let resp = BufferTooSmallResponse {
        size_needed: u16::try_from(needed + 2 + 8).unwrap_or(u16::MAX),
        request_buffers: rest.to_vec(),
    };
    out.extend(encode(&resp).map_err(|_| ErrorCode::CALL_FAILED)?);
    Ok(())
}

/// Encodes one response.
pub(super) fn encode(resp: &impl Encode) -> oxmapi_wire::EncodeResult<Vec<u8>> {
    let mut w = WriteCursor::new();
    resp.encode(&mut w)?;
    Ok(w.into_inner())
}

/// The generic failure response bytes (MS-OXCROPS 2.2.15: RopId, handle index, ReturnValue).
pub(super) fn error_bytes(rop: RopId, index: u8, ec: ErrorCode) -> Vec<u8> {
    let return_value = if ec == ErrorCode::SUCCESS {
        ErrorCode::CALL_FAILED
    } else {
        ec
    };
    let resp = RopErrorResponse {
        rop_id: rop,
        handle_index: index,
        return_value,
    };
    // INVARIANT: a failure response with a non-zero ReturnValue always encodes.
    encode(&resp).unwrap_or_default()
}

/// The generic failure response.
fn failure(rop: RopId, index: u8, ec: ErrorCode) -> Step {
    Step::Reply(error_bytes(rop, index, ec))
}

/// A success response, or ecError when it cannot be encoded.
fn reply(rop: RopId, index: u8, resp: &impl Encode) -> Step {
    match encode(resp) {
        Ok(b) => Step::Reply(b),
        Err(e) => {
            tracing::warn!(error = %e, ?rop, "encoding a response failed");
            failure(rop, index, ErrorCode::CALL_FAILED)
        }
    }
}

fn slot(handles: &[u32], index: u8) -> Result<u32, ErrorCode> {
    handles
        .get(usize::from(index))
        .copied()
        .ok_or(ErrorCode::NULL_OBJECT)
}

fn run_one(
    ctx: &mut MailboxContext,
    r: &mut ReadCursor<'_>,
    handles: &mut [u32],
    room: usize,
    first: bool,
    chain: &mut Option<Continuation>,
) -> DecodeResult<Step> {
    // Message, attachment, stream and named-property ROPs.
    match super::message_rops::try_run(ctx, r, handles, room)? {
        Some(super::message_rops::MsgStep::Reply(resp)) => return Ok(Step::Reply(resp)),
        Some(super::message_rops::MsgStep::NoRoom(n)) => return Ok(Step::NoRoom(n)),
        None => {}
    }
    // Peek at the RopId: the request decoders read the whole request from it.
    let rest = r.rest();
    let id = RopId(
        *rest
            .first()
            .ok_or_else(|| oxmapi_wire::DecodeError::truncated("RopId", r.offset(), 1, 0))?,
    );
    if super::folder_rops::handles_rop(id) {
        return Ok(match super::folder_rops::run(ctx, id, r, handles, room)? {
            super::folder_rops::FoldStep::Reply(resp) => Step::Reply(resp),
            super::folder_rops::FoldStep::NoRoom(needed) => Step::NoRoom(needed),
        });
    }
    if !handled_here(id) {
        // MS-OXCROPS 3.2.5.1: an unsupported ROP fails; its layout is unknown, so the rest
        // of the buffer cannot be parsed. The byte after LogonId is its handle index.
        let index = rest.get(2).copied().unwrap_or(0);
        return Ok(Step::Stop(error_bytes(id, index, ErrorCode::NO_SUPPORT)));
    }
    Ok(match id {
        RopId::RELEASE => release(ctx, handles, &ReleaseRequest::decode(r)?),
        RopId::LOGON => logon(ctx, handles, &LogonRequest::decode(r)?, room),
        RopId::OPEN_FOLDER => open_folder(ctx, handles, &OpenFolderRequest::decode(r)?, room),
        RopId::GET_HIERARCHY_TABLE => {
            let q = GetHierarchyTableRequest::decode(r)?;
            let req = OpenTable {
                rop: id,
                logon_id: q.logon_id,
                input: q.input_handle_index,
                out: q.output_handle_index,
                kind: TableKind::Hierarchy {
                    depth: q.table_flags & table_flags::DEPTH != 0,
                },
                fill: true,
                notify: q.table_flags & table_flags::NO_NOTIFICATIONS == 0,
            };
            open_table(ctx, handles, &req, room)
        }
        RopId::GET_CONTENTS_TABLE => {
            let q = GetContentsTableRequest::decode(r)?;
            let fill = q.table_flags & table_flags::ASSOCIATED == 0;
            let req = OpenTable {
                rop: id,
                logon_id: q.logon_id,
                input: q.input_handle_index,
                out: q.output_handle_index,
                kind: TableKind::Contents,
                // Associated (FAI) contents: the store keeps none, so the table stays empty
                // and never changes.
                fill,
                notify: fill && q.table_flags & table_flags::NO_NOTIFICATIONS == 0,
            };
            open_table(ctx, handles, &req, room)
        }
        RopId::GET_PROPERTIES_SPECIFIC => {
            get_props_specific(ctx, handles, &GetPropertiesSpecificRequest::decode(r)?)
        }
        RopId::GET_PROPERTIES_ALL => {
            get_props_all(ctx, handles, &GetPropertiesAllRequest::decode(r)?)
        }
        RopId::SET_COLUMNS => {
            let q = SetColumnsRequest::decode(r)?;
            let input = q.input_handle_index;
            let tags = q.property_tags;
            table_op(ctx, handles, input, |_, t| {
                if tags.is_empty() {
                    return Err(ErrorCode::INVALID_PARAMETER);
                }
                t.columns = Some(tags);
                Ok(false)
            })
            .map_or_else(
                |ec| failure(id, input, ec),
                |()| {
                    let resp = SetColumnsResponse {
                        input_handle_index: input,
                        table_status: TBLSTAT_COMPLETE,
                    };
                    reply(id, input, &resp)
                },
            )
        }
        RopId::SORT_TABLE => {
            let q = SortTableRequest::decode(r)?;
            let input = q.input_handle_index;
            let keys = q
                .sort_order_set
                .sort_orders
                .iter()
                .map(|s| SortKey {
                    tag: s.tag,
                    descending: s.order == ORDER_DESCENDING,
                })
                .collect();
            table_op(ctx, handles, input, |_, t| {
                t.sort = keys;
                Ok(true)
            })
            .map_or_else(
                |ec| failure(id, input, ec),
                |()| {
                    let resp = SortTableResponse {
                        input_handle_index: input,
                        table_status: TBLSTAT_COMPLETE,
                    };
                    reply(id, input, &resp)
                },
            )
        }
        RopId::RESTRICT => {
            let q = RestrictRequest::decode(r)?;
            let input = q.input_handle_index;
            let res = q.restriction;
            table_op(ctx, handles, input, |_, t| {
                t.restriction = res;
                Ok(true)
            })
            .map_or_else(
                |ec| failure(id, input, ec),
                |()| {
                    let resp = RestrictResponse {
                        input_handle_index: input,
                        table_status: TBLSTAT_COMPLETE,
                    };
                    reply(id, input, &resp)
                },
            )
        }
        RopId::QUERY_ROWS => {
            let q = QueryRowsRequest::decode(r)?;
            let q = Query {
                input: q.input_handle_index,
                advance: q.query_rows_flags & QUERY_NO_ADVANCE == 0,
                forward: q.forward_read != 0,
                count: q.row_count,
                first,
            };
            let (step, cont) = query_rows(ctx, handles, &q, room);
            *chain = cont;
            step
        }
        RopId::QUERY_POSITION => {
            let input = QueryPositionRequest::decode(r)?.input_handle_index;
            if let Ok(h) = slot(handles, input) {
                ctx.start_view(h);
            }
            let listed = slot(handles, input).and_then(|h| listed_rows(ctx, h).map(|()| h));
            match listed.and_then(|h| ctx.handles.table_mut(h)) {
                Ok(t) => {
                    let resp = QueryPositionResponse {
                        input_handle_index: input,
                        numerator: u32::try_from(t.position).unwrap_or(u32::MAX),
                        denominator: u32::try_from(row_list(t).len()).unwrap_or(u32::MAX),
                    };
                    reply(id, input, &resp)
                }
                Err(ec) => failure(id, input, ec),
            }
        }
        RopId::SEEK_ROW => seek_row(ctx, handles, &SeekRowRequest::decode(r)?),
        RopId::GET_RECEIVE_FOLDER => {
            let q = GetReceiveFolderRequest::decode(r)?;
            let (input, class) = (q.input_handle_index, q.message_class.as_str());
            match super::folder_rops::configured_receive_folder(ctx, handles, input, class) {
                Some(resp) => Step::Reply(resp),
                None => get_receive_folder(ctx, handles, input, class),
            }
        }
        // INVARIANT: `handled_here` lists exactly the arms above; Stop ends the buffer, so the
        // cursor staying in place is harmless.
        _ => Step::Stop(error_bytes(id, 0, ErrorCode::NO_SUPPORT)),
    })
}

/// The ROPs [`run_one`] decodes itself (after `message_rops` and `folder_rops`).
fn handled_here(id: RopId) -> bool {
    matches!(
        id,
        RopId::RELEASE
            | RopId::LOGON
            | RopId::OPEN_FOLDER
            | RopId::GET_HIERARCHY_TABLE
            | RopId::GET_CONTENTS_TABLE
            | RopId::GET_PROPERTIES_SPECIFIC
            | RopId::GET_PROPERTIES_ALL
            | RopId::SET_COLUMNS
            | RopId::SORT_TABLE
            | RopId::RESTRICT
            | RopId::QUERY_ROWS
            | RopId::QUERY_POSITION
            | RopId::SEEK_ROW
            | RopId::GET_RECEIVE_FOLDER
    )
}

/// RopRelease (MS-OXCROPS 2.2.15.3): no response.
fn release(ctx: &mut MailboxContext, handles: &[u32], q: &ReleaseRequest) -> Step {
    if let Ok(h) = slot(handles, q.input_handle_index)
        && let Some(obj) = ctx.handles.release(h)
    {
        super::msgobj::on_release(ctx, &obj);
    }
    Step::Silent
}

/// RopLogon (MS-OXCROPS 2.2.3.1, MS-OXCSTOR 3.2.5.1).
fn logon(ctx: &mut MailboxContext, handles: &mut [u32], req: &LogonRequest, room: usize) -> Step {
    let rop = RopId::LOGON;
    let out = req.output_handle_index;
    let private = req.is_private();
    let info = match logon_target(ctx, req, private) {
        Ok(v) => v,
        Err(ec) => return failure(rop, out, ec),
    };
    if usize::from(out) >= handles.len() {
        return failure(rop, out, ErrorCode::INVALID_PARAMETER);
    }
    let mut folder_ids = [FolderId(0); 13];
    for (i, slot) in folder_ids.iter_mut().enumerate() {
        *slot = FolderId(info.special_fid(i as i64 + 1).unwrap_or(0) as u64);
    }
    let encoded = if private {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        encode(&LogonPrivateResponse {
            output_handle_index: out,
            logon_flags: req.logon_flags,
            folder_ids,
            response_flags: LOGON_RESPONSE_FLAGS,
            mailbox_guid: info.mailbox_guid,
            replica_id: REPLID,
            replica_guid: info.replica_guid,
            logon_time: logon_time(now),
            gwart_time: unix_to_filetime(now),
            store_state: 0,
        })
    } else {
        // MS-OXCSTOR 2.2.1.1.4: PerUserGuid zeros.
        encode(&LogonPublicResponse {
            output_handle_index: out,
            logon_flags: req.logon_flags,
            folder_ids,
            replica_id: REPLID,
            replica_guid: info.replica_guid,
            per_user_guid: [0; 16],
        })
    };
    let resp = match encoded {
        Ok(b) => b,
        Err(_) => return failure(rop, out, ErrorCode::CALL_FAILED),
    };
    if resp.len() > room {
        return Step::NoRoom(resp.len());
    }
    ctx.handles.release_logon(req.logon_id);
    ctx.stores.retain(|s| s.mailbox_id != info.mailbox_id);
    let logon = Logon {
        logon_id: req.logon_id,
        mailbox_id: info.mailbox_id,
        private,
    };
    ctx.stores.push(info);
    match ctx.handles.insert(Object::Logon(logon)) {
        Ok(h) => handles[usize::from(out)] = h,
        Err(ec) => return failure(rop, out, ec),
    }
    Step::Reply(resp)
}

/// Resolves the store of a logon request.
fn logon_target(
    ctx: &MailboxContext,
    req: &LogonRequest,
    private: bool,
) -> Result<StoreInfo, ErrorCode> {
    let (mailbox_id, replica_guid) = if private {
        let essdn = req.essdn.as_deref().unwrap_or("");
        if !essdn.eq_ignore_ascii_case(&ctx.user.legacy_dn) {
            // MS-OXCSTOR 3.2.5.1.1: an unknown ESSDN is ecUnknownUser; another user's
            // mailbox (a nonhome store) without USE_ADMIN_PRIVILEGE is
            // ecProfileNotConfigured; with it, the session user has no rights: ecLoginPerm.
            let known = ctx.with_conn(|c| {
                c.query_row(
                    "SELECT EXISTS(SELECT 1 FROM users WHERE legacy_dn = ?1)",
                    [essdn],
                    |r| r.get::<_, bool>(0),
                )
            })?;
            let admin = req.open_flags & open_flags::USE_ADMIN_PRIVILEGE != 0;
            return Err(match (known, admin) {
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
    Ok(StoreInfo {
        mailbox_id,
        private,
        mailbox_guid: ctx.user.mailbox_guid,
        replica_guid,
        owner_name: ctx.user.display_name.clone(),
        owner_dn: ctx.user.legacy_dn.clone(),
        special,
    })
}

/// LogonTime (MS-OXCROPS 2.2.3.1.2) of a Unix time, in UTC.
fn logon_time(unix: u64) -> LogonTime {
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
    LogonTime {
        seconds: (secs % 60) as u8,
        minutes: (secs / 60 % 60) as u8,
        hour: (secs / 3600) as u8,
        day_of_week: ((days + 4) % 7) as u8,
        day: day as u8,
        month: month as u8,
        year: u16::try_from(year).unwrap_or(0),
    }
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
    q: &OpenFolderRequest,
    room: usize,
) -> Step {
    let (rop, out) = (RopId::OPEN_FOLDER, q.output_handle_index);
    let fid = q.folder_id.0 as i64;
    let result = (|| {
        let (obj, info) = object_store(ctx, handles, q.input_handle_index)?;
        if !matches!(obj, Object::Logon(_) | Object::Folder(_)) {
            return Err(ErrorCode::NO_SUPPORT);
        }
        ctx.handles.room_for(false)?;
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
    let folder = match result {
        Err(ec) => return failure(rop, out, ec),
        Ok(f) => f,
    };
    let resp = OpenFolderResponse {
        output_handle_index: out,
        has_rules: 0,
        ghost: None,
    };
    let resp = match encode(&resp) {
        Ok(b) => b,
        Err(_) => return failure(rop, out, ErrorCode::CALL_FAILED),
    };
    if resp.len() > room {
        return Step::NoRoom(resp.len());
    }
    match ctx.handles.insert(Object::Folder(folder)) {
        Ok(h) => handles[usize::from(out)] = h,
        Err(ec) => return failure(rop, out, ec),
    }
    Step::Reply(resp)
}

/// What RopGetHierarchyTable / RopGetContentsTable ask for.
struct OpenTable {
    rop: RopId,
    logon_id: u8,
    input: u8,
    out: u8,
    kind: TableKind,
    /// False for an associated contents table, which stays empty.
    fill: bool,
    /// False when TableFlags has NoNotifications (MS-OXCFOLD 2.2.1.13.1, 2.2.1.14.1).
    notify: bool,
}

/// RopGetHierarchyTable / RopGetContentsTable (MS-OXCFOLD 3.2.5.13, 3.2.5.14).
fn open_table(ctx: &mut MailboxContext, handles: &mut [u32], req: &OpenTable, room: usize) -> Step {
    let OpenTable {
        rop,
        logon_id,
        input,
        out,
        kind,
        fill,
        notify,
    } = *req;
    let result = (|| {
        let (obj, info) = object_store(ctx, handles, input)?;
        let Object::Folder(f) = obj else {
            return Err(ErrorCode::NO_SUPPORT);
        };
        if usize::from(out) >= handles.len() {
            return Err(ErrorCode::INVALID_PARAMETER);
        }
        ctx.handles.room_for(true)?;
        let mut table = Table {
            mailbox_id: info.mailbox_id,
            fid: f.fid,
            kind,
            columns: None,
            restriction: None,
            sort: Vec::new(),
            rows: None,
            position: 0,
            logon_id,
            subscription: if notify {
                Subscription::NoView
            } else {
                Subscription::Never
            },
        };
        let count = match (fill, kind) {
            (false, _) => {
                table.rows = Some(Vec::new());
                0
            }
            // Listed when first read (see `Table::rows`); only counted now.
            (true, TableKind::Contents) => {
                ctx.with_conn(|c| storeops::message_count(c, table.mailbox_id, table.fid))?
            }
            (true, _) => {
                rebuild_rows(ctx, &info, &mut table)?;
                table.rows.as_ref().map_or(0, Vec::len)
            }
        };
        Ok((table, count))
    })();
    let (table, count) = match result {
        Err(ec) => return failure(rop, out, ec),
        Ok(t) => t,
    };
    let row_count = u32::try_from(count).unwrap_or(u32::MAX);
    let resp = if rop == RopId::GET_HIERARCHY_TABLE {
        encode(&GetHierarchyTableResponse {
            output_handle_index: out,
            row_count,
        })
    } else {
        encode(&GetContentsTableResponse {
            output_handle_index: out,
            row_count,
        })
    };
    let resp = match resp {
        Ok(b) => b,
        Err(_) => return failure(rop, out, ErrorCode::CALL_FAILED),
    };
    if resp.len() > room {
        return Step::NoRoom(resp.len());
    }
    match ctx.handles.insert(Object::Table(Box::new(table))) {
        Ok(h) => handles[usize::from(out)] = h,
        Err(ec) => return failure(rop, out, ec),
    }
    Step::Reply(resp)
}

/// What a table lists, as its rows' properties are read.
#[derive(Debug, Clone, Copy)]
struct Source {
    mailbox_id: i64,
    fid: i64,
    kind: TableKind,
}

impl Source {
    fn of(t: &Table) -> Self {
        Self {
            mailbox_id: t.mailbox_id,
            fid: t.fid,
            kind: t.kind,
        }
    }
}

/// The table's rows; empty while not listed (callers run [`listed_rows`] first).
fn row_list(t: &Table) -> &[(i64, u32)] {
    t.rows.as_deref().unwrap_or_default()
}

/// Lists the rows of table `h` unless that happened already (see `Table::rows`).
fn listed_rows(ctx: &mut MailboxContext, h: u32) -> Result<(), ErrorCode> {
    let t = ctx.handles.table_mut(h)?;
    if t.rows.is_some() {
        return Ok(());
    }
    let mut table = t.clone();
    let info = ctx.store_info(table.mailbox_id)?.clone();
    rebuild_rows(ctx, &info, &mut table)?;
    ctx.handles.table_mut(h)?.rows = table.rows;
    Ok(())
}

/// Lists the table's rows, filtered by its restriction and ordered by its sort keys; the
/// cursor goes back to the beginning (MS-OXCTABL 3.2.5.3, 3.2.5.4). Sort keys are compared
/// as `cmp_opt` does, ties keep creation order.
fn rebuild_rows(ctx: &MailboxContext, info: &StoreInfo, t: &mut Table) -> Result<(), ErrorCode> {
    let rows = if t.restriction.is_none() && t.sort.is_empty() {
        let src = Source::of(t);
        ctx.with_conn(|c| match src.kind {
            TableKind::Hierarchy { depth } => {
                storeops::descendants(c, src.mailbox_id, src.fid, depth)
            }
            TableKind::Attachments => super::attach_rops::table_rows(c, src.mailbox_id, src.fid),
            TableKind::Contents => Ok(storeops::messages_in(c, src.mailbox_id, src.fid)?
                .into_iter()
                .map(|m| (m, 0))
                .collect()),
        })?
    } else if let Some(ids) = stored_ids_only(t) {
        ordered_from_stored(ctx, t, &ids)?
    } else {
        ordered_row_by_row(ctx, info, t)?
    };
    t.rows = Some(rows);
    t.position = 0;
    Ok(())
}

/// The property IDs a contents table's restriction and sort keys read, when none of them is
/// computed per row (then the stored values are all that is needed); `None` otherwise.
fn stored_ids_only(t: &Table) -> Option<Vec<u16>> {
    if t.kind != TableKind::Contents {
        return None;
    }
    let mut tags: Vec<_> = t.sort.iter().map(|k| k.tag).collect();
    if let Some(r) = &t.restriction {
        super::restrict::tags_of(r, &mut tags);
    }
    let mut ids: Vec<u16> = tags.iter().map(|t| t.id()).collect();
    ids.sort_unstable();
    ids.dedup();
    let computed = |id: u16| props::MESSAGE_COMPUTED.iter().any(|c| c.id() == id);
    (!ids.iter().any(|&id| computed(id))).then_some(ids)
}

/// Restricts and orders a contents table from the stored values of the properties `ids`,
/// read for every message of the folder in one query (instead of every property of every
/// row, row by row).
fn ordered_from_stored(
    ctx: &MailboxContext,
    t: &Table,
    ids: &[u16],
) -> Result<Vec<(i64, u32)>, ErrorCode> {
    let rows = ctx.with_conn(|c| storeops::messages_with_props(c, t.mailbox_id, t.fid, ids))?;
    let mut keyed = Vec::with_capacity(rows.len());
    for (mid, values) in rows {
        if t.restriction
            .as_ref()
            .is_none_or(|res| res.matches(&|tag| props::lookup(&values, tag)))
        {
            let keys: Vec<_> = t
                .sort
                .iter()
                .map(|k| props::lookup(&values, k.tag))
                .collect();
            keyed.push(((mid, 0), keys));
        }
    }
    Ok(sorted(t, keyed))
}

/// Restricts and orders any table from each row's full property list (computed values
/// included), read row by row.
fn ordered_row_by_row(
    ctx: &MailboxContext,
    info: &StoreInfo,
    t: &Table,
) -> Result<Vec<(i64, u32)>, ErrorCode> {
    let src = Source::of(t);
    let ids = ctx.with_conn(|c| match src.kind {
        TableKind::Hierarchy { depth } => storeops::descendants(c, src.mailbox_id, src.fid, depth),
        TableKind::Attachments => super::attach_rops::table_rows(c, src.mailbox_id, src.fid),
        TableKind::Contents => Ok(storeops::messages_in(c, src.mailbox_id, src.fid)?
            .into_iter()
            .map(|m| (m, 0))
            .collect()),
    })?;
    let mut keyed = Vec::with_capacity(ids.len());
    for (id, depth) in ids {
        let all = row_props(ctx, info, src, id, depth)?;
        if t.restriction
            .as_ref()
            .is_none_or(|res| res.matches(&|tag| props::lookup(&all, tag)))
        {
            let keys: Vec<_> = t.sort.iter().map(|k| props::lookup(&all, k.tag)).collect();
            keyed.push(((id, depth), keys));
        }
    }
    Ok(sorted(t, keyed))
}

/// A row (object id, depth) with its sort key values.
type Keyed = ((i64, u32), Vec<Option<PropertyValue>>);

/// Orders rows by their sort key values (a stable sort: ties keep table order).
fn sorted(t: &Table, mut keyed: Vec<Keyed>) -> Vec<(i64, u32)> {
    if !t.sort.is_empty() {
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
    }
    keyed.into_iter().map(|(r, _)| r).collect()
}

fn cmp_opt(a: &Option<PropertyValue>, b: &Option<PropertyValue>) -> std::cmp::Ordering {
    use PropertyValue as V;
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
    t: Source,
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
/// be rebuilt (MS-OXCTABL 3.2.5.2 - 3.2.5.4).
fn table_op(
    ctx: &mut MailboxContext,
    handles: &[u32],
    input: u8,
    f: impl FnOnce(&MailboxContext, &mut Table) -> Result<bool, ErrorCode>,
) -> Result<(), ErrorCode> {
    let h = slot(handles, input)?;
    let t = ctx.handles.table_mut(h)?;
    // Work on a copy without the row list (the table stays as it was if this fails).
    let rows = t.rows.take();
    let mut table = t.clone();
    t.rows = rows;
    if f(ctx, &mut table)? {
        let info = ctx.store_info(table.mailbox_id)?.clone();
        rebuild_rows(ctx, &info, &mut table)?;
    }
    let t = ctx.handles.table_mut(h)?;
    if table.rows.is_none() {
        table.rows = t.rows.take();
    }
    *t = table;
    Ok(())
}

/// RopGetPropertiesSpecific (MS-OXCPRPT 3.2.5.1): one PropertyRow in request order.
fn get_props_specific(
    ctx: &MailboxContext,
    handles: &[u32],
    q: &GetPropertiesSpecificRequest,
) -> Step {
    let (rop, input) = (RopId::GET_PROPERTIES_SPECIFIC, q.input_handle_index);
    match object_props(ctx, handles, input) {
        Ok(all) => {
            let tags = q.property_tags.clone();
            let unicode = q.want_unicode != 0;
            let resp = GetPropertiesSpecificResponse {
                input_handle_index: input,
                row: PropertyRow::from_values(props::project(&all, &tags, unicode)),
                tags,
            };
            reply(rop, input, &resp)
        }
        Err(ec) => failure(rop, input, ec),
    }
}

/// RopGetPropertiesAll (MS-OXCPRPT 3.2.5.2): PropertyValueCount + TaggedPropertyValues.
fn get_props_all(ctx: &MailboxContext, handles: &[u32], q: &GetPropertiesAllRequest) -> Step {
    let (rop, input) = (RopId::GET_PROPERTIES_ALL, q.input_handle_index);
    match object_props(ctx, handles, input) {
        Ok(all) if all.len() > usize::from(u16::MAX) => failure(rop, input, ErrorCode::TOO_BIG),
        Ok(all) => {
            let resp = GetPropertiesAllResponse {
                input_handle_index: input,
                values: all
                    .into_iter()
                    .map(|(tag, value)| TaggedPropertyValue::new(tag, value))
                    .collect(),
            };
            reply(rop, input, &resp)
        }
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
    let rop = RopId::QUERY_ROWS;
    if room < QUERY_ROWS_HEADER {
        return (Step::NoRoom(QUERY_ROWS_HEADER), None);
    }
    let h = match slot(handles, q.input) {
        Ok(h) => h,
        Err(ec) => return (failure(rop, q.input, ec), None),
    };
    ctx.start_view(h);
    match read_rows(ctx, h, q, room - QUERY_ROWS_HEADER) {
        Err(ec) => (failure(rop, q.input, ec), None),
        Ok(None) if q.first => (failure(rop, q.input, ErrorCode::BUFFER_TOO_SMALL), None),
        Ok(None) => (Step::NoRoom(room + 1), None),
        Ok(Some(res)) => {
            let count = row_count(&res);
            let done = res.origin == BOOKMARK_END || count >= q.count;
            let cont = (q.advance && q.forward).then(|| Continuation {
                slot: q.input,
                handle: h,
                remaining: q.count - count,
                done,
            });
            (reply(rop, q.input, &res), cont)
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
    let count = row_count(&res);
    if count == 0 {
        return Ok(None);
    }
    cont.remaining -= count;
    cont.done = res.origin == BOOKMARK_END || cont.remaining == 0;
    encode(&res).map(Some).map_err(|_| ErrorCode::CALL_FAILED)
}

/// RowCount of a response; at most the request's u16 RowCount.
fn row_count(resp: &QueryRowsResponse) -> u16 {
    u16::try_from(resp.rows.len()).unwrap_or(u16::MAX)
}

/// Reads rows from the cursor into a response whose rows take at most `room` bytes;
/// `Ok(None)` when rows remain but not one fits. Moves the cursor when `q.advance`.
fn read_rows(
    ctx: &mut MailboxContext,
    h: u32,
    q: &Query,
    room: usize,
) -> Result<Option<QueryRowsResponse>, ErrorCode> {
    if ctx.handles.table_mut(h)?.columns.is_none() {
        return Err(ErrorCode::NULL_OBJECT);
    }
    listed_rows(ctx, h)?;
    let table = ctx.handles.table_mut(h)?;
    let columns = table.columns.clone().ok_or(ErrorCode::NULL_OBJECT)?;
    let all = row_list(table);
    let pos = table.position.min(all.len());
    let want = usize::from(q.count);
    let range = if q.forward {
        pos..pos.saturating_add(want).min(all.len())
    } else {
        pos.saturating_sub(want)..pos
    };
    let candidates = all.get(range).unwrap_or_default().to_vec();
    let total = all.len();
    let src = Source::of(table);
    let info = ctx.store_info(src.mailbox_id)?.clone();
    let mut rows = Vec::new();
    let mut used = 0;
    for &(id, depth) in &candidates {
        let all = row_props(ctx, &info, src, id, depth)?;
        let row = PropertyRow::from_values(props::project(&all, &columns, true));
        let mut w = WriteCursor::new();
        row.encode(&mut w, &columns, ValueContext::Rop)
            .map_err(|_| ErrorCode::CALL_FAILED)?;
        if used + w.len() > room {
            break;
        }
        used += w.len();
        rows.push(row);
    }
    if rows.is_empty() && !candidates.is_empty() {
        return Ok(None);
    }
    let n = rows.len();
    let (new_pos, origin) = if q.forward {
        let p = pos + n;
        let origin = if p >= total {
            BOOKMARK_END
        } else {
            BOOKMARK_CURRENT
        };
        (p, origin)
    } else {
        let p = pos - n;
        let origin = if p == 0 {
            BOOKMARK_BEGINNING
        } else {
            BOOKMARK_CURRENT
        };
        (p, origin)
    };
    if q.advance {
        ctx.handles.table_mut(h)?.position = new_pos;
    }
    Ok(Some(QueryRowsResponse {
        input_handle_index: q.input,
        origin,
        columns,
        rows,
    }))
}

/// RopSeekRow (MS-OXCTABL 3.2.5.7): Origin BOOKMARK_BEGINNING/CURRENT/END plus RowCount.
fn seek_row(ctx: &mut MailboxContext, handles: &[u32], q: &SeekRowRequest) -> Step {
    let (rop, input) = (RopId::SEEK_ROW, q.input_handle_index);
    if let Ok(h) = slot(handles, input) {
        ctx.start_view(h);
    }
    let result = (|| {
        let h = slot(handles, input)?;
        listed_rows(ctx, h)?;
        let t = ctx.handles.table_mut(h)?;
        let len = row_list(t).len() as i64;
        let base = match q.origin {
            BOOKMARK_BEGINNING => 0,
            BOOKMARK_CURRENT => t.position as i64,
            BOOKMARK_END => len,
            _ => return Err(ErrorCode::INVALID_PARAMETER),
        };
        let target = base + i64::from(q.row_count);
        let clamped = target.clamp(0, len);
        t.position = clamped as usize;
        Ok((clamped != target, (clamped - base) as i32))
    })();
    match result {
        Err(ec) => failure(rop, input, ec),
        Ok((less, sought)) => {
            let resp = SeekRowResponse {
                input_handle_index: input,
                has_sought_less: u8::from(less),
                rows_sought: sought,
            };
            reply(rop, input, &resp)
        }
    }
}

/// RopGetReceiveFolder (MS-OXCSTOR 3.2.5.2): every class is received in the Inbox.
fn get_receive_folder(ctx: &MailboxContext, handles: &[u32], input: u8, class: &str) -> Step {
    let rop = RopId::GET_RECEIVE_FOLDER;
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
            let resp = GetReceiveFolderResponse {
                input_handle_index: input,
                folder_id: FolderId(fid as u64),
                explicit_message_class: explicit.to_owned(),
            };
            reply(rop, input, &resp)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// LogonTime fields (MS-OXCROPS 2.2.3.1.2) of known instants.
    #[test]
    fn logon_time_of_known_instants() {
        let epoch = logon_time(0);
        assert_eq!(
            (epoch.year, epoch.month, epoch.day, epoch.day_of_week),
            (1970, 1, 1, 4),
            "1970-01-01 was a Thursday"
        );
        // 2024-02-29T12:34:56Z, a Thursday in a leap year.
        let t = logon_time(1_709_210_096);
        assert_eq!(
            t,
            LogonTime {
                seconds: 56,
                minutes: 34,
                hour: 12,
                day_of_week: 4,
                day: 29,
                month: 2,
                year: 2024,
            }
        );
        assert_eq!(unix_to_filetime(0), 116_444_736_000_000_000);
    }

    /// The failure form is the generic one; a success code cannot be sent as a failure.
    #[test]
    fn error_bytes_are_header_only() {
        let b = error_bytes(RopId::OPEN_FOLDER, 3, ErrorCode::NOT_FOUND);
        assert_eq!(b, [0x02, 3, 0x0F, 0x01, 0x04, 0x80]);
        let b = error_bytes(RopId::OPEN_FOLDER, 3, ErrorCode::SUCCESS);
        assert_eq!(b, [0x02, 3, 0x05, 0x40, 0x00, 0x80]);
    }

    /// RopBufferTooSmall (MS-OXCROPS 2.2.15.1): SizeNeeded, then the unprocessed requests
    /// verbatim; ecBufferTooSmall when even that does not fit.
    #[test]
    fn buffer_too_small_layout() {
        let mut out = vec![0xAA];
        let rest = [0x15, 0, 1, 0, 0, 10, 0];
        buffer_too_small(&mut out, 20, &rest, 10).expect("fits");
        assert_eq!(out, [0xAA, 0xFF, 30, 0, 0x15, 0, 1, 0, 0, 10, 0]);
        let mut out = Vec::new();
        assert_eq!(
            buffer_too_small(&mut out, 20, &rest, 9),
            Err(ErrorCode::BUFFER_TOO_SMALL)
        );
        assert!(out.is_empty());
    }
}
