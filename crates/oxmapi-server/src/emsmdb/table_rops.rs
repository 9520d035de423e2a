//! Table ROPs (MS-OXCTABL 3.2.5): RopGetHierarchyTable and RopGetContentsTable open a table
//! on a folder (MS-OXCFOLD 3.2.5.13, 3.2.5.14), then RopSetColumns, RopSortTable,
//! RopRestrict, RopQueryRows (continued into chained segments, MS-OXCRPC 3.1.4.2.1.1),
//! RopQueryPosition and RopSeekRow work on its rows and cursor. Attachment tables
//! (RopGetAttachmentTable, `attach_rops`) are read the same way.
//!
//! Contents tables are listed from the store's message summaries (`contents`); hierarchy
//! and attachment tables are small and listed row by row.

use oxmapi_wire::WriteCursor;
use oxmapi_wire::data::{ErrorCode, PropertyRow, ValueContext};
use oxmapi_wire::rop::{
    GetContentsTableRequest, GetContentsTableResponse, GetHierarchyTableRequest,
    GetHierarchyTableResponse, QueryPositionRequest, QueryPositionResponse, QueryRowsRequest,
    QueryRowsResponse, RestrictRequest, RestrictResponse, RopId, SeekRowRequest, SeekRowResponse,
    SetColumnsRequest, SetColumnsResponse, SortTableRequest, SortTableResponse, table_flags,
};

use super::contents;
use super::context::MailboxContext;
use super::msgobj;
use super::objects::{Object, SortKey, Subscription, Table, TableKind};
use super::props::{self, PropList, StoreInfo};
use super::restrict::Evaluate as _;
use super::step::{Step, encode, fail, reply, slot};
use super::storeops;
use crate::store::summary::{self, StoredRow};

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
/// Contents rows read from the store per statement by RopQueryRows.
const ROW_PAGE: usize = 128;

/// RopGetHierarchyTable (MS-OXCFOLD 3.2.5.13): the folder's subfolders, all descendants
/// with the Depth flag.
pub(super) fn get_hierarchy_table(
    ctx: &mut MailboxContext,
    handles: &mut [u32],
    q: &GetHierarchyTableRequest,
    room: usize,
) -> Step {
    let req = OpenTable {
        rop: RopId::GET_HIERARCHY_TABLE,
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

/// RopGetContentsTable (MS-OXCFOLD 3.2.5.14): the folder's messages.
pub(super) fn get_contents_table(
    ctx: &mut MailboxContext,
    handles: &mut [u32],
    q: &GetContentsTableRequest,
    room: usize,
) -> Step {
    let fill = q.table_flags & table_flags::ASSOCIATED == 0;
    let req = OpenTable {
        rop: RopId::GET_CONTENTS_TABLE,
        logon_id: q.logon_id,
        input: q.input_handle_index,
        out: q.output_handle_index,
        kind: TableKind::Contents,
        // Associated (FAI) contents: the store keeps none, so the table stays empty and
        // never changes.
        fill,
        notify: fill && q.table_flags & table_flags::NO_NOTIFICATIONS == 0,
    };
    open_table(ctx, handles, &req, room)
}

/// RopSetColumns (MS-OXCTABL 3.2.5.1): an empty column set is ecInvalidParam.
pub(super) fn set_columns(
    ctx: &mut MailboxContext,
    handles: &[u32],
    q: &SetColumnsRequest,
) -> Step {
    let (rop, input) = (RopId::SET_COLUMNS, q.input_handle_index);
    let tags = q.property_tags.clone();
    table_op(ctx, handles, input, |_, t| {
        if tags.is_empty() {
            return Err(ErrorCode::INVALID_PARAMETER);
        }
        t.columns = Some(tags);
        Ok(false)
    })
    .map_or_else(
        |ec| fail(rop, input, ec),
        |()| {
            let resp = SetColumnsResponse {
                input_handle_index: input,
                table_status: TBLSTAT_COMPLETE,
            };
            reply(rop, input, &resp)
        },
    )
}

/// RopSortTable (MS-OXCTABL 3.2.5.2): the rows are ordered again, the cursor back at the
/// beginning.
pub(super) fn sort_table(ctx: &mut MailboxContext, handles: &[u32], q: &SortTableRequest) -> Step {
    let (rop, input) = (RopId::SORT_TABLE, q.input_handle_index);
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
        |ec| fail(rop, input, ec),
        |()| {
            let resp = SortTableResponse {
                input_handle_index: input,
                table_status: TBLSTAT_COMPLETE,
            };
            reply(rop, input, &resp)
        },
    )
}

/// RopRestrict (MS-OXCTABL 3.2.5.4): the rows are filtered again, the cursor back at the
/// beginning.
pub(super) fn restrict(ctx: &mut MailboxContext, handles: &[u32], q: &RestrictRequest) -> Step {
    let (rop, input) = (RopId::RESTRICT, q.input_handle_index);
    let res = q.restriction.clone();
    table_op(ctx, handles, input, |_, t| {
        t.restriction = res;
        Ok(true)
    })
    .map_or_else(
        |ec| fail(rop, input, ec),
        |()| {
            let resp = RestrictResponse {
                input_handle_index: input,
                table_status: TBLSTAT_COMPLETE,
            };
            reply(rop, input, &resp)
        },
    )
}

/// RopQueryRows (MS-OXCTABL 3.2.5.5); `first` says the response is the first of the buffer
/// (else a too-small fit is a RopBufferTooSmall). A forward, advancing read sets `chain`, so
/// the Execute request may continue it into chained segments.
pub(super) fn query_rows(
    ctx: &mut MailboxContext,
    handles: &[u32],
    q: &QueryRowsRequest,
    room: usize,
    first: bool,
    chain: &mut Option<Continuation>,
) -> Step {
    let q = Query {
        input: q.input_handle_index,
        advance: q.query_rows_flags & QUERY_NO_ADVANCE == 0,
        forward: q.forward_read != 0,
        count: q.row_count,
        first,
    };
    let (step, cont) = run_query(ctx, handles, &q, room);
    *chain = cont;
    step
}

/// RopQueryPosition (MS-OXCTABL 3.2.5.6): the cursor position and the row count.
pub(super) fn query_position(
    ctx: &mut MailboxContext,
    handles: &[u32],
    q: &QueryPositionRequest,
) -> Step {
    let (rop, input) = (RopId::QUERY_POSITION, q.input_handle_index);
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
            reply(rop, input, &resp)
        }
        Err(ec) => fail(rop, input, ec),
    }
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
        let (obj, info) = ctx.object_store(handles, input)?;
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
        Err(ec) => return fail(rop, out, ec),
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
        Err(_) => return fail(rop, out, ErrorCode::CALL_FAILED),
    };
    if resp.len() > room {
        return Step::NoRoom(resp.len());
    }
    match ctx.handles.insert(Object::Table(Box::new(table))) {
        Ok(h) => handles[usize::from(out)] = h,
        Err(ec) => return fail(rop, out, ec),
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
/// as `contents::cmp_opt` does, ties keep creation order. Contents tables are listed by the
/// store's summaries (`contents`); hierarchy and attachment tables are small and listed
/// row by row.
fn rebuild_rows(ctx: &MailboxContext, info: &StoreInfo, t: &mut Table) -> Result<(), ErrorCode> {
    let rows = if t.kind == TableKind::Contents {
        let (mb, fid, restriction, sort) = (t.mailbox_id, t.fid, t.restriction.as_ref(), &t.sort);
        let fetched = match ctx.with_read(|c| contents::fetch(c, mb, fid, restriction, sort))? {
            Some(f) => f,
            None => ctx
                .with_conn(|c| {
                    summary::refresh_stale(c)?;
                    contents::fetch(c, mb, fid, restriction, sort)
                })?
                .ok_or(ErrorCode::CALL_FAILED)?,
        };
        contents::finish(info, fid, fetched, restriction, sort)
            .into_iter()
            .map(|m| (m, 0))
            .collect()
    } else if t.restriction.is_none() && t.sort.is_empty() {
        let src = Source::of(t);
        ctx.with_conn(|c| match src.kind {
            TableKind::Hierarchy { depth } => {
                storeops::descendants(c, src.mailbox_id, src.fid, depth)
            }
            TableKind::Attachments => msgobj::attachment_table_rows(c, src.mailbox_id, src.fid),
            TableKind::Contents => Ok(Vec::new()),
        })?
    } else {
        ordered_row_by_row(ctx, info, t)?
    };
    t.rows = Some(rows);
    t.position = 0;
    Ok(())
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
        TableKind::Attachments => msgobj::attachment_table_rows(c, src.mailbox_id, src.fid),
        TableKind::Contents => Ok(storeops::messages_in(c, src.mailbox_id, src.fid)?
            .into_iter()
            .map(|m| (m, 0))
            .collect()),
    })?;
    let mut keyed: Vec<contents::Keyed> = Vec::with_capacity(ids.len());
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
    Ok(contents::sorted(&t.sort, keyed))
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
        TableKind::Attachments => msgobj::attachment_row_props(c, t.mailbox_id, id),
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
fn run_query(
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
        Err(ec) => return (fail(rop, q.input, ec), None),
    };
    ctx.start_view(h);
    match read_rows(ctx, h, q, room - QUERY_ROWS_HEADER) {
        Err(ec) => (fail(rop, q.input, ec), None),
        Ok(None) if q.first => (fail(rop, q.input, ErrorCode::BUFFER_TOO_SMALL), None),
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
    // Contents rows are read a page at a time (a few statements per page, not per row).
    let mut page: std::collections::HashMap<i64, PropList> = Default::default();
    for (i, &(id, depth)) in candidates.iter().enumerate() {
        let all = if src.kind == TableKind::Contents {
            if i % ROW_PAGE == 0 {
                let mids: Vec<i64> = candidates[i..].iter().take(ROW_PAGE).map(|r| r.0).collect();
                let read =
                    |c: &rusqlite::Connection| contents::rows(c, &info, src.fid, &mids, &columns);
                let got = match ctx.with_read(read)? {
                    Some(rows) => rows,
                    None => ctx
                        .with_conn(|c| {
                            summary::refresh_stale(c)?;
                            read(c)
                        })?
                        .ok_or(ErrorCode::CALL_FAILED)?,
                };
                page = got.into_iter().collect();
            }
            // A message deleted since the table was listed has only its computed values.
            page.remove(&id)
                .unwrap_or_else(|| info.message_row(src.fid, StoredRow::empty(id)))
        } else {
            row_props(ctx, &info, src, id, depth)?
        };
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
pub(super) fn seek_row(ctx: &mut MailboxContext, handles: &[u32], q: &SeekRowRequest) -> Step {
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
        Err(ec) => fail(rop, input, ec),
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
