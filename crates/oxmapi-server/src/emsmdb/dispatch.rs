//! The ROP dispatcher (MS-OXCROPS 3.2.5): runs a ROP list against the request's handle
//! table within a response budget. Each request is decoded once with the wire crate
//! ([`RopRequest`]) and handed, in one `match`, to its handler, grouped by object kind:
//! `logon_rops`, `folder_rops`, `table_rops`, `message_rops` (with `msgprop_rops` for
//! properties of messages and attachments), `attach_rops`, `stream_rops`; RopRelease goes to
//! `msgobj`. ROPs valid on several kinds of object (the property ROPs, RopOpenStream) are
//! routed by the kind of the Server object behind their input handle.
//!
//! Also here: the budget rules of a ROP output buffer (RopBufferTooSmall, MS-OXCROPS
//! 2.2.15.1) and of the request's store time (RopBackoff, 3.2.4.2). A composition module:
//! no handler imports it.

use oxmapi_wire::data::ErrorCode;
use oxmapi_wire::rop::{BackoffResponse, BackoffRop, BufferTooSmallResponse, RopId, RopRequest};
use oxmapi_wire::{Decode, DecodeError, DecodeErrorKind, DecodeResult, ReadCursor};

use super::context::MailboxContext;
use super::objects::{Object, ObjectKind};
use super::step::{Step, encode, fail, slot, unsupported};
use super::table_rops::Continuation;
use super::{
    attach_rops, folder_rops, logon_rops, message_rops, msgobj, msgprop_rops, stream_rops,
    table_rops,
};

/// RopBufferTooSmall fixed part: RopId, SizeNeeded (MS-OXCROPS 2.2.15.1).
const BUFFER_TOO_SMALL_HEADER: usize = 3;
/// A RopBackoff response naming one ROP: RopId, LogonId, Duration, BackoffRopCount,
/// RopIdBackoff, Duration, AdditionalDataSize (MS-OXCROPS 2.2.15.2.1).
const BACKOFF_SIZE: usize = 1 + 1 + 4 + 1 + (1 + 4) + 2;

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
        ctx.db.begin_rop();
        let step = run_one(ctx, &mut r, handles, room, out.is_empty(), &mut chain)
            .map_err(|_| ErrorCode::RPC_FORMAT)?;
        let (stopped, committed) = ctx.db.rop_stopped();
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
        if ctx.db.budget_spent() {
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

/// Decodes and runs the ROP at `r`. A decode error is a malformed buffer.
fn run_one(
    ctx: &mut MailboxContext,
    r: &mut ReadCursor<'_>,
    handles: &mut [u32],
    room: usize,
    first: bool,
    chain: &mut Option<Continuation>,
) -> DecodeResult<Step> {
    let raw = r.rest();
    let Some(req) = decode(ctx, r, handles)? else {
        return Ok(unsupported(raw));
    };
    Ok(dispatch(ctx, req, raw, handles, room, first, chain))
}

/// Decodes the request at `r` with [`RopRequest`]; `Ok(None)` for a RopId it does not know
/// (MS-OXCROPS 3.2.5.1: its layout, so the rest of the buffer, is unknown).
///
/// RopSetMessageReadFlag carries ClientData exactly when the message is in a public folder
/// store (MS-OXCROPS 2.2.6.11.1), which the bytes do not say: [`RopRequest`] decodes the
/// private layout, and the ClientData of a public message (by its input object) is read
/// after it.
fn decode(
    ctx: &MailboxContext,
    r: &mut ReadCursor<'_>,
    handles: &[u32],
) -> DecodeResult<Option<RopRequest>> {
    let start = r.offset();
    let mut req = match RopRequest::decode(r) {
        Ok(req) => req,
        Err(e) if is_unknown_rop_id(&e, start) => return Ok(None),
        Err(e) => return Err(e),
    };
    if let RopRequest::SetMessageReadFlag(q) = &mut req
        && matches!(
            input_object(ctx, handles, q.input_handle_index),
            Some(Object::Message(m)) if !m.private
        )
    {
        let client_data = r
            .array("ClientData")
            .map_err(|e| e.within("RopSetMessageReadFlag request"))?;
        q.client_data = Some(client_data);
    }
    Ok(Some(req))
}

/// Whether `e` is [`RopRequest::decode`] refusing the RopId of the request at `start`: an
/// invalid RopId at the request's first byte, outside any request structure (a request's
/// own decoder only runs once its RopId is known, and reports within its structure).
fn is_unknown_rop_id(e: &DecodeError, start: usize) -> bool {
    e.path.is_empty()
        && e.field == "RopId"
        && e.offset == start
        && matches!(e.kind, DecodeErrorKind::InvalidValue(_))
}

/// The Server object behind handle slot `index`, if any.
fn input_object<'a>(ctx: &'a MailboxContext, handles: &[u32], index: u8) -> Option<&'a Object> {
    ctx.handles.get(slot(handles, index).ok()?).ok()
}

/// Runs one decoded request: the dispatch table. `raw` is the request's bytes (for the
/// answer to a ROP this server does not process), `first` whether its response is the
/// buffer's first, `chain` the RopQueryRows continuation it may set.
fn dispatch(
    ctx: &mut MailboxContext,
    req: RopRequest,
    raw: &[u8],
    handles: &mut [u32],
    room: usize,
    first: bool,
    chain: &mut Option<Continuation>,
) -> Step {
    use ObjectKind as K;
    use RopRequest as R;
    // What the input handle names decides the handler of ROPs valid on several kinds.
    let on = input_object(ctx, handles, req.input_handle_index()).map(Object::kind);
    let on_message = matches!(on, Some(K::Message | K::Attachment));
    match req {
        // Any object.
        R::Release(q) => msgobj::release(ctx, handles, &q),

        // Property ROPs, by the kind of the input object (MS-OXCPRPT 3.2.5).
        R::GetPropertiesSpecific(q) => match on {
            Some(K::Message | K::Attachment) => msgprop_rops::get_specific(ctx, handles, &q),
            Some(K::Logon) => logon_rops::get_properties_specific(ctx, handles, &q),
            Some(K::Folder) => folder_rops::get_properties_specific(ctx, handles, &q),
            _ => not_on_this_object(
                ctx,
                handles,
                RopId::GET_PROPERTIES_SPECIFIC,
                q.input_handle_index,
            ),
        },
        R::GetPropertiesAll(q) => match on {
            Some(K::Message | K::Attachment) => msgprop_rops::get_all(ctx, handles, &q),
            Some(K::Logon) => logon_rops::get_properties_all(ctx, handles, &q),
            Some(K::Folder) => folder_rops::get_properties_all(ctx, handles, &q),
            _ => not_on_this_object(
                ctx,
                handles,
                RopId::GET_PROPERTIES_ALL,
                q.input_handle_index,
            ),
        },
        R::GetPropertiesList(q) if on_message => msgprop_rops::get_list(ctx, handles, &q),
        R::SetProperties(q) if on_message => msgprop_rops::set_props(ctx, handles, &q, room),
        // On a folder; other objects are refused there.
        R::SetProperties(q) => folder_rops::set_properties(ctx, handles, &q, room),
        R::DeleteProperties(q) if on_message => msgprop_rops::delete_props(ctx, handles, &q, room),
        R::GetPropertyIdsFromNames(q) => msgprop_rops::ids_from_names(ctx, handles, &q),
        R::GetNamesFromPropertyIds(q) => msgprop_rops::names_from_ids(ctx, handles, &q),

        // Logon (store) object.
        R::Logon(q) => logon_rops::logon(ctx, handles, &q, room),
        R::GetReceiveFolder(q) => logon_rops::get_receive_folder(ctx, handles, &q),
        R::SetReceiveFolder(q) => logon_rops::set_receive_folder(ctx, handles, &q, room),

        // Folder objects.
        R::OpenFolder(q) => folder_rops::open_folder(ctx, handles, &q, room),
        R::CreateFolder(q) => folder_rops::create_folder(ctx, handles, &q, room),
        R::DeleteFolder(q) => folder_rops::delete_folder(ctx, handles, &q, room),
        R::EmptyFolder(q) => folder_rops::empty(ctx, handles, &q, room),
        R::HardDeleteMessagesAndSubfolders(q) => {
            folder_rops::hard_delete_contents(ctx, handles, &q, room)
        }
        R::MoveFolder(q) => folder_rops::move_folder(ctx, handles, &q, room),
        R::CopyFolder(q) => folder_rops::copy_folder(ctx, handles, &q, room),

        // Tables.
        R::GetHierarchyTable(q) => table_rops::get_hierarchy_table(ctx, handles, &q, room),
        R::GetContentsTable(q) => table_rops::get_contents_table(ctx, handles, &q, room),
        R::SetColumns(q) => table_rops::set_columns(ctx, handles, &q),
        R::SortTable(q) => table_rops::sort_table(ctx, handles, &q),
        R::Restrict(q) => table_rops::restrict(ctx, handles, &q),
        R::QueryRows(q) => table_rops::query_rows(ctx, handles, &q, room, first, chain),
        R::QueryPosition(q) => table_rops::query_position(ctx, handles, &q),
        R::SeekRow(q) => table_rops::seek_row(ctx, handles, &q),

        // Messages (and the messages of a folder).
        R::OpenMessage(q) => message_rops::open_message(ctx, handles, &q, room),
        R::CreateMessage(q) => message_rops::create_message(ctx, handles, &q, room),
        R::SaveChangesMessage(q) => message_rops::save_changes(ctx, handles, &q, room),
        R::ModifyRecipients(q) => message_rops::modify_recipients(ctx, handles, &q, room),
        R::RemoveAllRecipients(q) => message_rops::remove_all_recipients(ctx, handles, &q, room),
        R::ReadRecipients(q) => message_rops::read_recipients(ctx, handles, &q, room),
        R::SetMessageReadFlag(q) => message_rops::set_message_read_flag(ctx, handles, &q, room),
        R::SetReadFlags(q) => message_rops::set_read_flags(ctx, handles, &q, room),
        R::DeleteMessages(q) => message_rops::delete(ctx, handles, &q),
        R::HardDeleteMessages(q) => message_rops::hard_delete(ctx, handles, &q),
        R::MoveCopyMessages(q) => message_rops::move_copy_messages(ctx, handles, &q),
        R::SubmitMessage(q) => message_rops::submit(ctx, handles, &q, room),

        // Attachments.
        R::GetAttachmentTable(q) => attach_rops::get_table(ctx, handles, &q, room),
        R::OpenAttachment(q) => attach_rops::open(ctx, handles, &q, room),
        R::CreateAttachment(q) => attach_rops::create(ctx, handles, &q, room),
        R::DeleteAttachment(q) => attach_rops::delete(ctx, handles, &q, room),
        R::SaveChangesAttachment(q) => attach_rops::save(ctx, handles, &q, room),
        R::OpenEmbeddedMessage(q) => attach_rops::open_embedded(ctx, handles, &q, room),

        // Streams, opened on a message or attachment property.
        R::OpenStream(q) if on_message => stream_rops::open(ctx, handles, &q, room),
        R::ReadStream(q) => stream_rops::read(ctx, handles, &q, room),
        R::WriteStream(q) => stream_rops::write(ctx, handles, &q, room),
        R::CommitStream(q) => stream_rops::commit(ctx, handles, &q, room),
        R::GetStreamSize(q) => stream_rops::get_size(ctx, handles, &q, room),
        R::SetStreamSize(q) => stream_rops::set_stream_size(ctx, handles, &q, room),
        R::SeekStream(q) => stream_rops::seek_stream(ctx, handles, &q, room),

        // Not processed here, or not on this kind of object: ecNotSupported, and the rest of
        // the buffer is not processed.
        R::GetPropertiesList(_)
        | R::DeleteProperties(_)
        | R::OpenStream(_)
        | R::ReloadCachedInformation(_)
        | R::AbortSubmit(_)
        | R::TransportSend(_) => unsupported(raw),
    }
}

/// The failure of a property ROP on an object without such properties: ecNullObject when
/// the input handle names no object (or one whose store is not logged on), else
/// ecNotSupported.
fn not_on_this_object(ctx: &MailboxContext, handles: &[u32], rop: RopId, input: u8) -> Step {
    let ec = ctx
        .object_store(handles, input)
        .err()
        .unwrap_or(ErrorCode::NO_SUPPORT);
    fail(rop, input, ec)
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

#[cfg(test)]
mod tests {
    use super::*;

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

    /// Only RopRequest's refusal of an unknown RopId counts as one; a truncated known ROP
    /// is a malformed buffer.
    #[test]
    fn unknown_rop_id_is_told_from_a_truncated_request() {
        let mut r = ReadCursor::new(&[0x99, 0, 0]);
        let e = RopRequest::decode(&mut r).expect_err("unknown RopId");
        assert!(is_unknown_rop_id(&e, 0));
        // RopOpenFolder without its FolderId.
        let mut r = ReadCursor::new(&[0x02, 0, 0, 1]);
        let e = RopRequest::decode(&mut r).expect_err("truncated");
        assert!(!is_unknown_rop_id(&e, 0));
    }
}
