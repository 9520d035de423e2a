//! Message ROPs (MS-OXCMSG 3.2.5, MS-OXCPRPT 3.2.5, MS-OXOMSG 3.2.5.1), decoded and encoded
//! with `oxmapi_wire::rop`. [`try_run`] is called by the dispatcher before its own ROPs: it
//! takes the message, attachment, stream and named-property ROPs, and the property ROPs when
//! their input object is a Message or Attachment.

use oxmapi_wire::data::{
    ErrorCode, MessageId, PropertyRow, PropertyTag, PropertyType, PropertyValue, RowValue,
    TaggedPropertyValue, tags,
};
use oxmapi_wire::rop::{
    CreateMessageRequest, CreateMessageResponse, DeleteMessagesRequest, DeleteMessagesResponse,
    DeletePropertiesRequest, DeletePropertiesResponse, GetNamesFromPropertyIdsRequest,
    GetNamesFromPropertyIdsResponse, GetPropertiesAllRequest, GetPropertiesAllResponse,
    GetPropertiesListRequest, GetPropertiesListResponse, GetPropertiesSpecificRequest,
    GetPropertiesSpecificResponse, GetPropertyIdsFromNamesRequest, GetPropertyIdsFromNamesResponse,
    HardDeleteMessagesRequest, HardDeleteMessagesResponse, ModifyRecipientsRequest,
    ModifyRecipientsResponse, MoveCopyMessagesRequest, MoveCopyMessagesResponse,
    OpenMessageRequest, OpenMessageResponse, PropertyName, PropertyNameKind, ReadRecipientsRequest,
    ReadRecipientsResponse, RemoveAllRecipientsRequest, RemoveAllRecipientsResponse,
    RopErrorResponse, RopId, SaveChangesMessageRequest, SaveChangesMessageResponse,
    SetMessageReadFlagRequest, SetMessageReadFlagResponse, SetPropertiesRequest,
    SetPropertiesResponse, SetReadFlagsRequest, SetReadFlagsResponse, SubmitMessageRequest,
    SubmitMessageResponse,
};
use oxmapi_wire::{Decode, DecodeResult, Encode, ReadCursor, WriteCursor};

use super::msgobj::{self, Bag, MsgState};
use super::objects::{Message, Object};
use super::props::StoreInfo;
use super::recipients;
use super::storeops;
use super::{EC_QUOTA_EXCEEDED, MailboxContext};
use crate::store::deliver::{self, MSGFLAG_READ, MSGFLAG_UNSENT, SubmitError, SubmitHooks};
use crate::store::messages::{self as m, KIND_MESSAGE, NamedProp};
use crate::store::usage;

/// What a ROP of this module produced.
pub(super) enum MsgStep {
    /// A response (success or failure).
    Reply(Vec<u8>),
    /// The response would not fit; nothing was changed.
    NoRoom(usize),
}

/// Room every side-effecting ROP of this module needs before it acts (its largest fixed
/// response is 15 bytes).
const WRITE_ROOM: usize = 16;
/// MS-OXCDATA 2.4.2 ecMaxSubmissionExceeded (MaxSubmissionExceeded, 0x000004DA): the message
/// exceeds the maximum size and is not submitted.
const EC_MAX_SUBMISSION_EXCEEDED: ErrorCode = ErrorCode(0x0000_04DA);
/// PS_MAPI (MS-OXPROPS 1.3.2): names in this set map to the property ID = LID.
const PS_MAPI: [u8; 16] = [
    0x28, 0x03, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46,
];

/// Runs the ROP at `r` if it belongs here; `Ok(None)` leaves `r` untouched.
pub(super) fn try_run(
    ctx: &mut MailboxContext,
    r: &mut ReadCursor<'_>,
    handles: &mut [u32],
    room: usize,
) -> DecodeResult<Option<MsgStep>> {
    let rest = r.rest();
    let Some(&id) = rest.first() else {
        return Ok(None);
    };
    let id = RopId(id);
    let on_msg_object = |ctx: &MailboxContext, at: usize| {
        rest.get(at)
            .and_then(|&i| handles.get(usize::from(i)))
            .is_some_and(|&h| msgobj::is_msg_object(ctx, h))
    };
    Ok(Some(match id {
        RopId::OPEN_MESSAGE => open_message(ctx, handles, &OpenMessageRequest::decode(r)?, room),
        RopId::GET_PROPERTIES_SPECIFIC if on_msg_object(ctx, 2) => {
            get_specific(ctx, handles, &GetPropertiesSpecificRequest::decode(r)?)
        }
        RopId::GET_PROPERTIES_ALL if on_msg_object(ctx, 2) => {
            get_all(ctx, handles, &GetPropertiesAllRequest::decode(r)?)
        }
        RopId::GET_PROPERTIES_LIST if on_msg_object(ctx, 2) => {
            get_list(ctx, handles, &GetPropertiesListRequest::decode(r)?)
        }
        RopId::SET_PROPERTIES if on_msg_object(ctx, 2) => {
            set_props(ctx, handles, &SetPropertiesRequest::decode(r)?, room)
        }
        RopId::DELETE_PROPERTIES if on_msg_object(ctx, 2) => {
            delete_props(ctx, handles, &DeletePropertiesRequest::decode(r)?, room)
        }
        RopId::CREATE_MESSAGE => {
            create_message(ctx, handles, &CreateMessageRequest::decode(r)?, room)
        }
        RopId::SAVE_CHANGES_MESSAGE => {
            save_changes(ctx, handles, &SaveChangesMessageRequest::decode(r)?, room)
        }
        RopId::MODIFY_RECIPIENTS => {
            modify_recipients(ctx, handles, &ModifyRecipientsRequest::decode(r)?, room)
        }
        RopId::REMOVE_ALL_RECIPIENTS => {
            remove_all_recipients(ctx, handles, &RemoveAllRecipientsRequest::decode(r)?, room)
        }
        RopId::READ_RECIPIENTS => {
            read_recipients(ctx, handles, &ReadRecipientsRequest::decode(r)?, room)
        }
        RopId::SET_MESSAGE_READ_FLAG => {
            let private = rest
                .get(3)
                .and_then(|&i| handles.get(usize::from(i)))
                .and_then(|&h| ctx.handles.get(h).ok())
                .is_none_or(|o| !matches!(o, Object::Message(msg) if !msg.private));
            let q = SetMessageReadFlagRequest::decode_for_logon(r, private)?;
            set_message_read_flag(ctx, handles, &q, room)
        }
        RopId::SET_READ_FLAGS => {
            set_read_flags(ctx, handles, &SetReadFlagsRequest::decode(r)?, room)
        }
        RopId::DELETE_MESSAGES => {
            let q = DeleteMessagesRequest::decode(r)?;
            let (pc, ec) = delete_messages(ctx, handles, q.input_handle_index, &q.message_ids);
            partial(
                ec,
                |return_value, partial_completion| DeleteMessagesResponse {
                    input_handle_index: q.input_handle_index,
                    return_value,
                    partial_completion,
                },
                pc,
            )
        }
        RopId::HARD_DELETE_MESSAGES => {
            let q = HardDeleteMessagesRequest::decode(r)?;
            let (pc, ec) = delete_messages(ctx, handles, q.input_handle_index, &q.message_ids);
            partial(
                ec,
                |return_value, partial_completion| HardDeleteMessagesResponse {
                    input_handle_index: q.input_handle_index,
                    return_value,
                    partial_completion,
                },
                pc,
            )
        }
        RopId::MOVE_COPY_MESSAGES => {
            let q = MoveCopyMessagesRequest::decode(r)?;
            let (pc, ec) = move_copy(ctx, handles, &q);
            partial(
                ec,
                |return_value, partial_completion| MoveCopyMessagesResponse {
                    source_handle_index: q.source_handle_index,
                    return_value,
                    partial_completion,
                },
                pc,
            )
        }
        RopId::SUBMIT_MESSAGE => submit(ctx, handles, &SubmitMessageRequest::decode(r)?, room),
        RopId::GET_PROPERTY_IDS_FROM_NAMES => {
            ids_from_names(ctx, handles, &GetPropertyIdsFromNamesRequest::decode(r)?)
        }
        RopId::GET_NAMES_FROM_PROPERTY_IDS => {
            names_from_ids(ctx, handles, &GetNamesFromPropertyIdsRequest::decode(r)?)
        }
        _ => {
            if let Some(step) = super::attach_rops::try_run(ctx, r, handles, room)? {
                step
            } else if let Some(step) = super::stream_rops::try_run(ctx, r, handles, room)? {
                step
            } else {
                return Ok(None);
            }
        }
    }))
}

// ---------------------------------------------------------------------------------------
// Helpers shared by the message, attachment and stream ROPs
// ---------------------------------------------------------------------------------------

/// The failure response (RopId, handle index, ReturnValue).
pub(super) fn fail(rop: RopId, index: u8, ec: ErrorCode) -> MsgStep {
    let ec = if ec == ErrorCode::SUCCESS {
        ErrorCode::CALL_FAILED
    } else {
        ec
    };
    let mut w = WriteCursor::new();
    let _ = RopErrorResponse {
        rop_id: rop,
        handle_index: index,
        return_value: ec,
    }
    .encode(&mut w);
    MsgStep::Reply(w.into_inner())
}

/// Encodes a success response; an encoding failure becomes ecError.
pub(super) fn reply(rop: RopId, index: u8, resp: &impl Encode) -> MsgStep {
    let mut w = WriteCursor::new();
    match resp.encode(&mut w) {
        Ok(()) => MsgStep::Reply(w.into_inner()),
        Err(e) => {
            tracing::warn!(error = %e, ?rop, "encoding a response failed");
            fail(rop, index, ErrorCode::CALL_FAILED)
        }
    }
}

/// The encoded size of a response.
pub(super) fn encoded_len(resp: &impl Encode) -> usize {
    let mut w = WriteCursor::new();
    match resp.encode(&mut w) {
        Ok(()) => w.len(),
        Err(_) => usize::MAX,
    }
}

/// The handle in slot `index`.
pub(super) fn slot(handles: &[u32], index: u8) -> Result<u32, ErrorCode> {
    handles
        .get(usize::from(index))
        .copied()
        .ok_or(ErrorCode::NULL_OBJECT)
}

/// Checks an output slot exists.
pub(super) fn out_slot(handles: &[u32], index: u8) -> Result<(), ErrorCode> {
    if usize::from(index) < handles.len() {
        Ok(())
    } else {
        Err(ErrorCode::INVALID_PARAMETER)
    }
}

/// The store of a Logon or Folder object, and the folder (if a folder).
pub(super) fn container(
    ctx: &MailboxContext,
    handle: u32,
) -> Result<(StoreInfo, Option<i64>), ErrorCode> {
    let (mb, fid) = match ctx.handles.get(handle)? {
        Object::Logon(l) => (l.mailbox_id, None),
        Object::Folder(f) => (f.mailbox_id, Some(f.fid)),
        _ => return Err(ErrorCode::NO_SUPPORT),
    };
    Ok((ctx.store_info(mb)?.clone(), fid))
}

/// The mailbox of any object.
pub(super) fn mailbox_of(ctx: &MailboxContext, handle: u32) -> Result<i64, ErrorCode> {
    Ok(match ctx.handles.get(handle)? {
        Object::Logon(l) => l.mailbox_id,
        Object::Folder(f) => f.mailbox_id,
        Object::Table(t) => t.mailbox_id,
        Object::Message(msg) => msg.mailbox_id,
        Object::Attachment(a) => a.mailbox_id,
        Object::Stream(s) => s.mailbox_id,
    })
}

/// Initial values of a new message (MS-OXCMSG 3.2.5.2).
pub(super) fn initial_props(ctx: &MailboxContext) -> Vec<(PropertyTag, PropertyValue)> {
    let now = m::now_filetime();
    let mut search_key = uuid::Uuid::new_v4().as_bytes().to_vec();
    search_key.truncate(16);
    vec![
        (tags::PidTagImportance, PropertyValue::Int32(1)),
        (
            tags::PidTagMessageClass,
            PropertyValue::Unicode("IPM.Note".into()),
        ),
        (tags::PidTagSensitivity, PropertyValue::Int32(0)),
        (
            tags::PidTagDisplayBcc,
            PropertyValue::Unicode(String::new()),
        ),
        (tags::PidTagDisplayCc, PropertyValue::Unicode(String::new())),
        (tags::PidTagDisplayTo, PropertyValue::Unicode(String::new())),
        (
            tags::PidTagMessageFlags,
            PropertyValue::Int32(MSGFLAG_UNSENT | MSGFLAG_READ),
        ),
        // PidTagTrustSender, PidTagAccess, PidTagAccessLevel.
        (PropertyTag(0x0E79_0003), PropertyValue::Int32(1)),
        (PropertyTag(0x0FF4_0003), PropertyValue::Int32(3)),
        (PropertyTag(0x0FF7_0003), PropertyValue::Int32(1)),
        (tags::PidTagCreationTime, PropertyValue::Time(now)),
        (tags::PidTagLastModificationTime, PropertyValue::Time(now)),
        // PidTagSearchKey.
        (PropertyTag(0x300B_0102), PropertyValue::Binary(search_key)),
        (tags::PidTagMessageLocaleId, PropertyValue::Int32(0x0409)),
        (
            tags::PidTagLastModifierName,
            PropertyValue::Unicode(ctx.user.display_name.clone()),
        ),
    ]
}

/// The fixed part of RopOpenMessage / RopOpenEmbeddedMessage responses for an instance:
/// HasNamedProperties, SubjectPrefix, NormalizedSubject, recipients (as many rows as `room`
/// allows once the rest is counted by the caller).
pub(super) fn header_of(ctx: &MailboxContext, bag: Bag) -> Result<recipients::Header, ErrorCode> {
    ctx.with_conn(|c| recipients::header(c, bag))
}

// ---------------------------------------------------------------------------------------
// RopOpenMessage, RopCreateMessage, RopSaveChangesMessage
// ---------------------------------------------------------------------------------------

/// RopOpenMessage (MS-OXCMSG 3.2.5.1): the message handle plus the subject and as many
/// recipient rows as fit (the client reads the rest with RopReadRecipients).
fn open_message(
    ctx: &mut MailboxContext,
    handles: &mut [u32],
    q: &OpenMessageRequest,
    room: usize,
) -> MsgStep {
    let rop = RopId::OPEN_MESSAGE;
    let out = q.output_handle_index;
    let result = (|| {
        let (info, _) = container(ctx, slot(handles, q.input_handle_index)?)?;
        out_slot(handles, out)?;
        ctx.handles.room_for(false)?;
        let fid = q.folder_id.0 as i64;
        let mid = q.message_id.0 as i64;
        let at = ctx.with_conn(|c| storeops::message_folder(c, info.mailbox_id, mid))?;
        if at != Some(fid) {
            return Err(ErrorCode::NOT_FOUND);
        }
        let bag = Bag {
            mailbox_id: info.mailbox_id,
            kind: KIND_MESSAGE,
            id: mid,
        };
        let h = header_of(ctx, bag)?;
        let msg = Message {
            mailbox_id: info.mailbox_id,
            private: info.private,
            fid,
            mid,
            state: MsgState {
                work: None,
                committed: true,
                // OpenModeFlags: 0x01 ReadWrite, 0x03 BestAccess.
                writable: q.open_mode_flags & 0x03 != 0,
                embedded_in: None,
            },
        };
        Ok((msg, h))
    })();
    let (msg, h) = match result {
        Ok(v) => v,
        Err(ec) => return fail(rop, out, ec),
    };
    let Some(resp) = fit_rows(room, h, |info| OpenMessageResponse {
        output_handle_index: out,
        has_named_properties: info.has_named_properties,
        subject_prefix: info.subject_prefix,
        normalized_subject: info.normalized_subject,
        recipient_count: info.recipient_count,
        recipient_columns: info.recipient_columns,
        recipient_rows: info.recipient_rows,
    }) else {
        return MsgStep::NoRoom(room + 1);
    };
    match ctx.handles.insert(Object::Message(msg)) {
        Ok(h) => handles[usize::from(out)] = h,
        Err(ec) => return fail(rop, out, ec),
    }
    reply(rop, out, &resp)
}

/// Builds the response with as many recipient rows as fit in `room`; `None` when not even
/// zero rows fit.
pub(super) fn fit_rows<T: Encode>(
    room: usize,
    h: recipients::Header,
    build: impl Fn(oxmapi_wire::rop::MessageInfo) -> T,
) -> Option<T> {
    let mut n = h.rows.len().min(255);
    loop {
        let resp = build(h.info(n));
        if encoded_len(&resp) <= room {
            return Some(resp);
        }
        if n == 0 {
            return None;
        }
        n -= 1;
    }
}

/// RopCreateMessage (MS-OXCMSG 3.2.5.2): a new, uncommitted message with a MID allocated
/// now and the initial values of 3.2.5.2.
fn create_message(
    ctx: &mut MailboxContext,
    handles: &mut [u32],
    q: &CreateMessageRequest,
    room: usize,
) -> MsgStep {
    let rop = RopId::CREATE_MESSAGE;
    let out = q.output_handle_index;
    if room < WRITE_ROOM {
        return MsgStep::NoRoom(WRITE_ROOM);
    }
    let result = (|| {
        let (info, _) = container(ctx, slot(handles, q.input_handle_index)?)?;
        out_slot(handles, out)?;
        ctx.handles.room_for(false)?;
        let fid = q.folder_id.0 as i64;
        ctx.with_conn(|c| storeops::folder(c, info.mailbox_id, fid))?
            .ok_or(ErrorCode::NOT_FOUND)?;
        let initial = initial_props(ctx);
        let mb = info.mailbox_id;
        let (mid, work) = ctx.with_conn(|c| {
            let tx = c.unchecked_transaction()?;
            let mid = m::alloc_id(&tx, mb)?;
            let work = m::new_working_id(&tx, mb)?;
            for (tag, v) in &initial {
                m::put_prop(&tx, mb, KIND_MESSAGE, work, *tag, v)?;
            }
            tx.commit()?;
            Ok((mid, work))
        })?;
        Ok(Message {
            mailbox_id: mb,
            private: info.private,
            fid,
            mid,
            state: MsgState {
                work: Some(work),
                committed: false,
                writable: true,
                embedded_in: None,
            },
        })
    })();
    match result {
        Err(ec) => fail(rop, out, ec),
        Ok(msg) => {
            let mid = msg.mid;
            match ctx.handles.insert(Object::Message(msg)) {
                Ok(h) => handles[usize::from(out)] = h,
                Err(ec) => return fail(rop, out, ec),
            }
            reply(
                rop,
                out,
                &CreateMessageResponse {
                    output_handle_index: out,
                    message_id: Some(MessageId(mid as u64)),
                },
            )
        }
    }
}

/// RopSaveChangesMessage (MS-OXCMSG 3.2.5.3): commits the working copy in one
/// transaction (PidTagDisplayTo/Cc/Bcc recomputed from the recipients). An embedded
/// message's changes are committed with its parent. A message larger than
/// [`crate::Limits::max_message_size`] is not saved: ecTooBig (MS-OXCDATA 2.4.1); nor one
/// whose growth would take the mailbox past [`crate::Limits::mailbox_quota`]:
/// ecQuotaExceeded (MS-OXCDATA 2.4.2).
fn save_changes(
    ctx: &mut MailboxContext,
    handles: &mut [u32],
    q: &SaveChangesMessageRequest,
    room: usize,
) -> MsgStep {
    let rop = RopId::SAVE_CHANGES_MESSAGE;
    if room < WRITE_ROOM {
        return MsgStep::NoRoom(WRITE_ROOM);
    }
    match commit(ctx, handles, q.input_handle_index) {
        Err(ec) => fail(rop, q.response_handle_index, ec),
        Ok(mid) => {
            // SaveFlags KeepOpenReadOnly (0x01) without KeepOpenReadWrite (0x02).
            if q.save_flags & 0x03 == 0x01
                && let Ok(h) = slot(handles, q.input_handle_index)
                && let Ok(Object::Message(live)) = ctx.handles.get_mut(h)
            {
                live.state.writable = false;
            }
            reply(
                rop,
                q.response_handle_index,
                &SaveChangesMessageResponse {
                    response_handle_index: q.response_handle_index,
                    input_handle_index: q.input_handle_index,
                    message_id: MessageId(mid as u64),
                },
            )
        }
    }
}

/// Commits a Message object's working copy; returns its MID.
pub(super) fn commit(
    ctx: &mut MailboxContext,
    handles: &[u32],
    index: u8,
) -> Result<i64, ErrorCode> {
    let h = slot(handles, index)?;
    let Object::Message(msg) = ctx.handles.get(h)?.clone() else {
        return Err(ErrorCode::NO_SUPPORT);
    };
    if !msg.state.writable {
        return Err(ErrorCode::NO_ACCESS);
    }
    if msg.state.embedded_in.is_some() {
        let bag = msgobj::message_instance(ctx, h, true)?;
        ctx.with_conn(|c| recipients::update_display_lists(c, bag))?;
        return Ok(bag.id);
    }
    let Some(work) = msg.state.work else {
        return Ok(msg.mid);
    };
    let mb = msg.mailbox_id;
    // Limits: the message itself (ecTooBig), then the mailbox once this version replaces
    // the saved one (ecQuotaExceeded).
    let (size, old) = ctx.with_conn(|c| {
        let size = m::message_size(c, mb, work)?;
        let old = if msg.state.committed {
            m::message_size(c, mb, msg.mid)?
        } else {
            0
        };
        Ok((size.unsigned_abs(), old.unsigned_abs()))
    })?;
    if size > ctx.limits.max_message_size {
        tracing::info!(
            user = %ctx.user.alias,
            size,
            max = ctx.limits.max_message_size,
            "message over the size limit not saved"
        );
        return Err(ErrorCode::TOO_BIG);
    }
    if size > old {
        ctx.check_quota_after(mb, 0, old)?;
    }
    ctx.with_conn(|c| {
        let tx = c.unchecked_transaction()?;
        let bag = Bag {
            mailbox_id: mb,
            kind: KIND_MESSAGE,
            id: work,
        };
        recipients::update_display_lists(&tx, bag)?;
        m::put_prop(
            &tx,
            mb,
            KIND_MESSAGE,
            work,
            tags::PidTagLastModificationTime,
            &PropertyValue::Time(m::now_filetime()),
        )?;
        if msg.state.committed {
            m::delete_instance(&tx, mb, msg.mid)?;
        } else {
            tx.execute(
                "INSERT INTO messages VALUES (?1, ?2, ?3)",
                rusqlite::params![mb, msg.mid, msg.fid],
            )?;
        }
        m::move_instance(&tx, mb, work, msg.mid)?;
        m::forget_working(&tx, work)?;
        tx.commit()
    })?;
    if let Object::Message(live) = ctx.handles.get_mut(h)? {
        live.state.work = None;
        live.state.committed = true;
    }
    Ok(msg.mid)
}

// ---------------------------------------------------------------------------------------
// Properties of messages and attachments (MS-OXCPRPT 3.2.5)
// ---------------------------------------------------------------------------------------

/// RopGetPropertiesSpecific (MS-OXCPRPT 3.2.5.1): values above PropertySizeLimit are
/// ecMAPIOOM in a flagged row.
fn get_specific(
    ctx: &mut MailboxContext,
    handles: &[u32],
    q: &GetPropertiesSpecificRequest,
) -> MsgStep {
    let rop = RopId::GET_PROPERTIES_SPECIFIC;
    let idx = q.input_handle_index;
    let result = (|| {
        let h = slot(handles, idx)?;
        let cells = msgobj::object_cells(ctx, h)?;
        let bag = msgobj::object_bag(ctx, h, false)?;
        let limit = msgobj::effective_limit(q.property_size_limit);
        let values = msgobj::project(
            ctx,
            bag,
            &cells,
            &q.property_tags,
            q.want_unicode != 0,
            limit,
        )?;
        Ok(GetPropertiesSpecificResponse {
            input_handle_index: idx,
            tags: q.property_tags.clone(),
            row: PropertyRow::from_values(values),
        })
    })();
    match result {
        Ok(resp) => reply(rop, idx, &resp),
        Err(ec) => fail(rop, idx, ec),
    }
}

/// RopGetPropertiesAll (MS-OXCPRPT 3.2.5.2): values above the limit come back as
/// PtypErrorCode ecMAPIOOM.
fn get_all(ctx: &mut MailboxContext, handles: &[u32], q: &GetPropertiesAllRequest) -> MsgStep {
    let rop = RopId::GET_PROPERTIES_ALL;
    let idx = q.input_handle_index;
    let result = (|| {
        let h = slot(handles, idx)?;
        let cells = msgobj::object_cells(ctx, h)?;
        let bag = msgobj::object_bag(ctx, h, false)?;
        let limit = msgobj::effective_limit(q.property_size_limit);
        let mut values = Vec::with_capacity(cells.len());
        for (tag, _) in &cells {
            let want = if q.want_unicode == 0 && tag.ty() == PropertyType::UNICODE {
                tag.with_type(PropertyType::STRING8)
            } else {
                *tag
            };
            let v = msgobj::project(ctx, bag, &cells, &[want], q.want_unicode != 0, limit)?;
            values.push(match v.into_iter().next() {
                Some(RowValue::Value(v)) => TaggedPropertyValue::new(*tag, v),
                Some(RowValue::Error(_, e)) => {
                    TaggedPropertyValue::new(*tag, PropertyValue::Error(e))
                }
                _ => continue,
            });
        }
        Ok(GetPropertiesAllResponse {
            input_handle_index: idx,
            values,
        })
    })();
    match result {
        Ok(resp) => reply(rop, idx, &resp),
        Err(ec) => fail(rop, idx, ec),
    }
}

/// RopGetPropertiesList (MS-OXCPRPT 3.2.5.3).
fn get_list(ctx: &mut MailboxContext, handles: &[u32], q: &GetPropertiesListRequest) -> MsgStep {
    let rop = RopId::GET_PROPERTIES_LIST;
    let idx = q.input_handle_index;
    let result = (|| {
        let cells = msgobj::object_cells(ctx, slot(handles, idx)?)?;
        Ok(GetPropertiesListResponse {
            input_handle_index: idx,
            property_tags: cells.into_iter().map(|(t, _)| t).collect(),
        })
    })();
    match result {
        Ok(resp) => reply(rop, idx, &resp),
        Err(ec) => fail(rop, idx, ec),
    }
}

/// Property IDs the server computes; setting or deleting them is ecAccessDenied.
fn computed_only(tag: PropertyTag) -> bool {
    [
        tags::PidTagMid,
        tags::PidTagFolderId,
        tags::PidTagEntryId,
        tags::PidTagRecordKey,
        tags::PidTagInstanceKey,
        tags::PidTagMessageSize,
        tags::PidTagMessageSizeExtended,
        tags::PidTagHasAttachments,
        tags::PidTagObjectType,
        tags::PidTagAttachNumber,
        tags::PidTagAttachSize,
        tags::PidTagParentEntryId,
    ]
    .iter()
    .any(|t| t.id() == tag.id())
}

/// RopSetProperties (MS-OXCPRPT 3.2.5.5) on a Message (into its working copy) or an
/// Attachment.
fn set_props(
    ctx: &mut MailboxContext,
    handles: &[u32],
    q: &SetPropertiesRequest,
    room: usize,
) -> MsgStep {
    let rop = RopId::SET_PROPERTIES;
    let idx = q.input_handle_index;
    if room < WRITE_ROOM + 10 * q.values.len() {
        return MsgStep::NoRoom(WRITE_ROOM + 10 * q.values.len());
    }
    let result = (|| {
        let bag = msgobj::object_bag(ctx, slot(handles, idx)?, true)?;
        let mut problems = Vec::new();
        ctx.with_conn(|c| {
            let tx = c.unchecked_transaction()?;
            for (i, tv) in q.values.iter().enumerate() {
                if computed_only(tv.tag) {
                    problems.push(oxmapi_wire::data::PropertyProblem {
                        index: u16::try_from(i).unwrap_or(u16::MAX),
                        tag: tv.tag,
                        error: ErrorCode::NO_ACCESS,
                    });
                    continue;
                }
                m::put_prop(&tx, bag.mailbox_id, bag.kind, bag.id, tv.tag, &tv.value)?;
            }
            tx.commit()
        })?;
        Ok(SetPropertiesResponse {
            input_handle_index: idx,
            problems,
        })
    })();
    match result {
        Ok(resp) => reply(rop, idx, &resp),
        Err(ec) => fail(rop, idx, ec),
    }
}

/// RopDeleteProperties (MS-OXCPRPT 3.2.5.7).
fn delete_props(
    ctx: &mut MailboxContext,
    handles: &[u32],
    q: &DeletePropertiesRequest,
    room: usize,
) -> MsgStep {
    let rop = RopId::DELETE_PROPERTIES;
    let idx = q.input_handle_index;
    if room < WRITE_ROOM + 10 * q.property_tags.len() {
        return MsgStep::NoRoom(WRITE_ROOM + 10 * q.property_tags.len());
    }
    let result = (|| {
        let bag = msgobj::object_bag(ctx, slot(handles, idx)?, true)?;
        let mut problems = Vec::new();
        ctx.with_conn(|c| {
            for (i, tag) in q.property_tags.iter().enumerate() {
                if computed_only(*tag) {
                    problems.push(oxmapi_wire::data::PropertyProblem {
                        index: u16::try_from(i).unwrap_or(u16::MAX),
                        tag: *tag,
                        error: ErrorCode::NO_ACCESS,
                    });
                    continue;
                }
                m::delete_prop(c, bag.mailbox_id, bag.kind, bag.id, tag.id())?;
            }
            Ok(())
        })?;
        Ok(DeletePropertiesResponse {
            input_handle_index: idx,
            problems,
        })
    })();
    match result {
        Ok(resp) => reply(rop, idx, &resp),
        Err(ec) => fail(rop, idx, ec),
    }
}

// ---------------------------------------------------------------------------------------
// Recipients (MS-OXCMSG 3.2.5.4 - 3.2.5.5)
// ---------------------------------------------------------------------------------------

/// RopModifyRecipients (MS-OXCMSG 3.2.5.5): adds, replaces (same RowId) or removes
/// (RecipientRowSize 0) recipients of the working copy. RecipientColumns naming a property
/// the RecipientRow carries in its own fields (MS-OXCDATA 2.8.3.2) are refused with
/// ecInvalidParam before anything else, as a real server does
/// ([`recipients::ROW_FIELD_PROPERTIES`]).
fn modify_recipients(
    ctx: &mut MailboxContext,
    handles: &[u32],
    q: &ModifyRecipientsRequest,
    room: usize,
) -> MsgStep {
    let rop = RopId::MODIFY_RECIPIENTS;
    let idx = q.input_handle_index;
    if room < WRITE_ROOM {
        return MsgStep::NoRoom(WRITE_ROOM);
    }
    let result = (|| {
        if recipients::row_field_column(&q.recipient_columns).is_some() {
            return Err(ErrorCode::INVALID_PARAMETER);
        }
        let h = slot(handles, idx)?;
        if !matches!(ctx.handles.get(h)?, Object::Message(_)) {
            return Err(ErrorCode::NO_SUPPORT);
        }
        let bag = msgobj::message_instance(ctx, h, true)?;
        ctx.with_conn(|c| {
            let tx = c.unchecked_transaction()?;
            for row in &q.rows {
                match &row.row {
                    None => {
                        m::delete_recipients(&tx, bag.mailbox_id, bag.id, Some(row.row_id))?;
                    }
                    Some(rr) => {
                        let rcpt = recipients::from_row(
                            row.row_id,
                            row.recipient_type,
                            rr,
                            &q.recipient_columns,
                        );
                        m::put_recipient(&tx, bag.mailbox_id, bag.id, &rcpt)?;
                    }
                }
            }
            tx.commit()
        })?;
        Ok(())
    })();
    match result {
        Ok(()) => reply(
            rop,
            idx,
            &ModifyRecipientsResponse {
                input_handle_index: idx,
            },
        ),
        Err(ec) => fail(rop, idx, ec),
    }
}

/// RopRemoveAllRecipients (MS-OXCMSG 3.2.5.4).
fn remove_all_recipients(
    ctx: &mut MailboxContext,
    handles: &[u32],
    q: &RemoveAllRecipientsRequest,
    room: usize,
) -> MsgStep {
    let rop = RopId::REMOVE_ALL_RECIPIENTS;
    let idx = q.input_handle_index;
    if room < WRITE_ROOM {
        return MsgStep::NoRoom(WRITE_ROOM);
    }
    let result = (|| {
        let h = slot(handles, idx)?;
        let bag = msgobj::message_instance(ctx, h, true)?;
        ctx.with_conn(|c| m::delete_recipients(c, bag.mailbox_id, bag.id, None))?;
        Ok(())
    })();
    match result {
        Ok(()) => reply(
            rop,
            idx,
            &RemoveAllRecipientsResponse {
                input_handle_index: idx,
            },
        ),
        Err(ec) => fail(rop, idx, ec),
    }
}

/// RopReadRecipients (MS-OXCMSG 3.2.5.? via MS-OXCROPS 2.2.6.6): rows from RowId on, as
/// many as fit; ecNotFound when there are none.
fn read_recipients(
    ctx: &mut MailboxContext,
    handles: &[u32],
    q: &ReadRecipientsRequest,
    room: usize,
) -> MsgStep {
    let rop = RopId::READ_RECIPIENTS;
    let idx = q.input_handle_index;
    let result = (|| {
        let bag = msgobj::message_instance(ctx, slot(handles, idx)?, false)?;
        let rows = ctx.with_conn(|c| recipients::read_rows(c, bag, q.row_id))?;
        if rows.is_empty() {
            return Err(ErrorCode::NOT_FOUND);
        }
        Ok(rows)
    })();
    let rows = match result {
        Ok(r) => r,
        Err(ec) => return fail(rop, idx, ec),
    };
    let mut n = rows.len().min(255);
    loop {
        let resp = ReadRecipientsResponse {
            input_handle_index: idx,
            columns: recipients::COLUMNS.to_vec(),
            rows: rows[..n].to_vec(),
        };
        if encoded_len(&resp) <= room {
            return reply(rop, idx, &resp);
        }
        if n <= 1 {
            return MsgStep::NoRoom(encoded_len(&resp));
        }
        n -= 1;
    }
}

// ---------------------------------------------------------------------------------------
// Read flags, delete, move/copy (MS-OXCMSG 3.2.5.10, 3.2.5.11; MS-OXCFOLD 3.2.5.5-3.2.5.9)
// ---------------------------------------------------------------------------------------

/// ReadFlags (MS-OXCMSG 2.2.3.?): rfClearReadFlag.
const RF_CLEAR_READ_FLAG: u8 = 0x04;

fn set_read_bit(c: &rusqlite::Connection, mb: i64, id: i64, read: bool) -> rusqlite::Result<bool> {
    let cur = m::inline_prop(c, mb, KIND_MESSAGE, id, tags::PidTagMessageFlags.id())?
        .and_then(|(_, v)| v.as_i64())
        .and_then(|v| i32::try_from(v).ok())
        .unwrap_or(0);
    let new = if read {
        cur | MSGFLAG_READ
    } else {
        cur & !MSGFLAG_READ
    };
    if new != cur {
        m::put_prop(
            c,
            mb,
            KIND_MESSAGE,
            id,
            tags::PidTagMessageFlags,
            &PropertyValue::Int32(new),
        )?;
    }
    Ok(new != cur)
}

/// RopSetMessageReadFlag (MS-OXCMSG 3.2.5.10): changes the read state at once (committed
/// message and working copy).
fn set_message_read_flag(
    ctx: &mut MailboxContext,
    handles: &[u32],
    q: &SetMessageReadFlagRequest,
    room: usize,
) -> MsgStep {
    let rop = RopId::SET_MESSAGE_READ_FLAG;
    let idx = q.response_handle_index;
    if room < WRITE_ROOM {
        return MsgStep::NoRoom(WRITE_ROOM);
    }
    let result = (|| {
        let h = slot(handles, q.input_handle_index)?;
        let Object::Message(msg) = ctx.handles.get(h)?.clone() else {
            return Err(ErrorCode::NO_SUPPORT);
        };
        let read = q.read_flags & RF_CLEAR_READ_FLAG == 0;
        ctx.with_conn(|c| {
            let mut ids = vec![msg.mid];
            ids.extend(msg.state.work);
            for id in ids {
                set_read_bit(c, msg.mailbox_id, id, read)?;
            }
            Ok(())
        })
    })();
    match result {
        Ok(()) => reply(
            rop,
            idx,
            &SetMessageReadFlagResponse {
                response_handle_index: idx,
                changed: None,
            },
        ),
        Err(ec) => fail(rop, idx, ec),
    }
}

/// RopSetReadFlags (MS-OXCMSG 3.2.5.11) on a folder's messages.
fn set_read_flags(
    ctx: &mut MailboxContext,
    handles: &[u32],
    q: &SetReadFlagsRequest,
    room: usize,
) -> MsgStep {
    let rop = RopId::SET_READ_FLAGS;
    let idx = q.input_handle_index;
    if room < WRITE_ROOM {
        return MsgStep::NoRoom(WRITE_ROOM);
    }
    let result = (|| {
        let (info, fid) = container(ctx, slot(handles, idx)?)?;
        let fid = fid.ok_or(ErrorCode::NO_SUPPORT)?;
        let read = q.read_flags & RF_CLEAR_READ_FLAG == 0;
        let mb = info.mailbox_id;
        ctx.with_conn(|c| {
            let tx = c.unchecked_transaction()?;
            let mut partial = false;
            let ids: Vec<i64> = if q.message_ids.is_empty() {
                storeops::messages_in(&tx, mb, fid)?
            } else {
                q.message_ids.iter().map(|m| m.0 as i64).collect()
            };
            for mid in ids {
                if storeops::message_folder(&tx, mb, mid)? == Some(fid) {
                    set_read_bit(&tx, mb, mid, read)?;
                } else {
                    partial = true;
                }
            }
            tx.commit()?;
            Ok(partial)
        })
    })();
    match result {
        Ok(partial) => reply(
            rop,
            idx,
            &SetReadFlagsResponse {
                input_handle_index: idx,
                partial_completion: u8::from(partial),
            },
        ),
        Err(ec) => fail(rop, idx, ec),
    }
}

/// Builds a PartialCompletion response (these ROPs answer with one layout for success
/// and failure).
fn partial<T: Encode>(ec: ErrorCode, build: impl FnOnce(ErrorCode, u8) -> T, pc: bool) -> MsgStep {
    let mut w = WriteCursor::new();
    match build(ec, u8::from(pc)).encode(&mut w) {
        Ok(()) => MsgStep::Reply(w.into_inner()),
        Err(_) => MsgStep::Reply(Vec::new()),
    }
}

/// RopDeleteMessages / RopHardDeleteMessages (MS-OXCFOLD 3.2.5.11, 3.2.5.12): removes the
/// messages of the input folder. Returns (PartialCompletion, ReturnValue).
fn delete_messages(
    ctx: &mut MailboxContext,
    handles: &[u32],
    index: u8,
    ids: &[MessageId],
) -> (bool, ErrorCode) {
    let result = (|| {
        let (info, fid) = container(ctx, slot(handles, index)?)?;
        let fid = fid.ok_or(ErrorCode::NO_SUPPORT)?;
        let mb = info.mailbox_id;
        ctx.with_conn(|c| {
            let tx = c.unchecked_transaction()?;
            let mut partial = false;
            for id in ids {
                let mid = id.0 as i64;
                if storeops::message_folder(&tx, mb, mid)? == Some(fid) {
                    m::delete_instance(&tx, mb, mid)?;
                    tx.execute(
                        "DELETE FROM messages WHERE mailbox_id = ?1 AND mid = ?2",
                        rusqlite::params![mb, mid],
                    )?;
                } else {
                    partial = true;
                }
            }
            tx.commit()?;
            Ok(partial)
        })
    })();
    match result {
        Ok(p) => (p, ErrorCode::SUCCESS),
        Err(ec) => (false, ec),
    }
}

/// RopMoveCopyMessages (MS-OXCFOLD 3.2.5.6): a move changes the folder of the row; a copy
/// is a new message (new MID) with copies of everything.
///
/// Quota: a copy, or a move into another store, that would take the destination mailbox past
/// [`crate::Limits::mailbox_quota`] fails with ecQuotaExceeded (MS-OXCDATA 2.4.2) and
/// changes nothing, however many of the messages would have fit. The PartialCompletion field
/// (MS-OXCFOLD 2.2.1.6.2: the ROP "fails for a subset of targets") would also allow copying
/// the messages that fit and flagging the rest; this server keeps the ROP all-or-nothing so
/// that the client sees the quota error itself and has no partial copy to clean up.
/// PartialCompletion stays for messages that are not in the source folder. A move within one
/// store stores nothing new and is never refused.
fn move_copy(
    ctx: &mut MailboxContext,
    handles: &[u32],
    q: &MoveCopyMessagesRequest,
) -> (bool, ErrorCode) {
    let result = (|| {
        let (src, src_fid) = container(ctx, slot(handles, q.source_handle_index)?)?;
        let (dst, dst_fid) = container(ctx, slot(handles, q.dest_handle_index)?)?;
        let (src_fid, dst_fid) = match (src_fid, dst_fid) {
            (Some(a), Some(b)) => (a, b),
            _ => return Err(ErrorCode::NO_SUPPORT),
        };
        let (smb, dmb) = (src.mailbox_id, dst.mailbox_id);
        let copy = q.want_copy != 0;
        let quota = ctx.limits.mailbox_quota;
        let out = ctx.with_conn(|c| {
            let tx = c.unchecked_transaction()?;
            let before = usage::mailbox_bytes(&tx, dmb)?;
            let mut partial = false;
            for id in &q.message_ids {
                let mid = id.0 as i64;
                if storeops::message_folder(&tx, smb, mid)? != Some(src_fid) {
                    partial = true;
                    continue;
                }
                if copy || smb != dmb {
                    let new = m::alloc_id(&tx, dmb)?;
                    m::copy_instance(&tx, smb, mid, dmb, new)?;
                    tx.execute(
                        "INSERT INTO messages VALUES (?1, ?2, ?3)",
                        rusqlite::params![dmb, new, dst_fid],
                    )?;
                    // Checked after each copy, so a large batch stops at the first message
                    // that does not fit; dropping `tx` rolls back the ones before it.
                    if let Some(over) = usage::over_quota(&tx, dmb, quota, before)? {
                        return Ok(Err(over));
                    }
                    if !copy {
                        m::delete_instance(&tx, smb, mid)?;
                        tx.execute(
                            "DELETE FROM messages WHERE mailbox_id = ?1 AND mid = ?2",
                            rusqlite::params![smb, mid],
                        )?;
                    }
                } else {
                    tx.execute(
                        "UPDATE messages SET fid = ?3 WHERE mailbox_id = ?1 AND mid = ?2",
                        rusqlite::params![smb, mid, dst_fid],
                    )?;
                }
            }
            tx.commit()?;
            Ok(Ok(partial))
        })?;
        out.map_err(|over| {
            tracing::info!(
                user = %ctx.user.alias,
                mailbox_id = over.mailbox_id,
                used = over.used,
                would_hold = over.would_hold,
                quota = over.quota,
                "mailbox quota reached: messages not copied"
            );
            EC_QUOTA_EXCEEDED
        })
    })();
    match result {
        Ok(p) => (p, ErrorCode::SUCCESS),
        Err(ec) => (false, ec),
    }
}

// ---------------------------------------------------------------------------------------
// RopSubmitMessage (MS-OXOMSG 3.2.5.1)
// ---------------------------------------------------------------------------------------

/// RopSubmitMessage: saves pending changes, then delivers in one transaction
/// (`store::deliver::submit`). Local recipients whose mailbox cannot take the message (its
/// size, their quota) get no copy and are kept in the outbound queue; the submit still
/// succeeds for everyone else.
fn submit(
    ctx: &mut MailboxContext,
    handles: &[u32],
    q: &SubmitMessageRequest,
    room: usize,
) -> MsgStep {
    let rop = RopId::SUBMIT_MESSAGE;
    let idx = q.input_handle_index;
    if room < WRITE_ROOM {
        return MsgStep::NoRoom(WRITE_ROOM);
    }
    let result = (|| {
        let h = slot(handles, idx)?;
        let Object::Message(msg) = ctx.handles.get(h)?.clone() else {
            return Err(ErrorCode::NO_SUPPORT);
        };
        if !msg.private || msg.mailbox_id != ctx.user.id || msg.state.embedded_in.is_some() {
            return Err(ErrorCode::NO_SUPPORT);
        }
        // MS-OXCDATA 2.4.2 ecMaxSubmissionExceeded: a message over the size limit is not
        // submitted.
        let mid = commit(ctx, handles, idx).map_err(|ec| match ec {
            ErrorCode::TOO_BIG => EC_MAX_SUBMISSION_EXCEEDED,
            ec => ec,
        })?;
        // A message saved earlier without changes since was not measured by the commit (it
        // may predate a lower limit).
        let size = ctx.with_conn(|c| m::message_size(c, ctx.user.id, mid))?;
        if size.unsigned_abs() > ctx.limits.max_message_size {
            return Err(EC_MAX_SUBMISSION_EXCEEDED);
        }
        let user = ctx.user.clone();
        let limits = &ctx.limits;
        let out = ctx
            .store
            .with_conn(|c| {
                Ok(deliver::submit(
                    c,
                    &user,
                    mid,
                    limits,
                    SubmitHooks::default(),
                ))
            })
            .map_err(|_| ErrorCode::CALL_FAILED)?;
        match out {
            Ok(o) => Ok(o),
            Err(SubmitError::NoRecipients) => Err(ErrorCode::NO_RECIPIENTS),
            Err(SubmitError::NotFound) => Err(ErrorCode::NOT_FOUND),
            Err(e) => {
                tracing::warn!(error = %e, "submit failed");
                Err(ErrorCode::CALL_FAILED)
            }
        }
    })();
    match result {
        Ok(outcome) => {
            // The message now lives in Sent Items.
            if let Ok(h) = slot(handles, idx) {
                let sent = ctx
                    .with_conn(|c| storeops::message_folder(c, ctx.user.id, outcome.sent_mid))
                    .ok()
                    .flatten();
                if let (Some(fid), Ok(Object::Message(live))) = (sent, ctx.handles.get_mut(h)) {
                    live.fid = fid;
                }
            }
            reply(
                rop,
                idx,
                &SubmitMessageResponse {
                    input_handle_index: idx,
                },
            )
        }
        Err(ec) => fail(rop, idx, ec),
    }
}

// ---------------------------------------------------------------------------------------
// Named properties (MS-OXCPRPT 3.2.5.8, 3.2.5.9)
// ---------------------------------------------------------------------------------------

fn named(n: &PropertyName) -> Option<NamedProp> {
    match &n.kind {
        PropertyNameKind::Lid(l) => Some(NamedProp::Lid(n.guid, *l)),
        PropertyNameKind::Name(s) => Some(NamedProp::Name(n.guid, s.clone())),
        PropertyNameKind::NoName => None,
    }
}

/// RopGetPropertyIdsFromNames: IDs ≥ 0x8000 per mailbox, created with flag 0x02
/// (MS-OXCPRPT 2.2.12.1); an unmapped name is 0 and the ROP returns ecWarnWithErrors.
fn ids_from_names(
    ctx: &mut MailboxContext,
    handles: &[u32],
    q: &GetPropertyIdsFromNamesRequest,
) -> MsgStep {
    let rop = RopId::GET_PROPERTY_IDS_FROM_NAMES;
    let idx = q.input_handle_index;
    let create = q.flags & 0x02 != 0;
    let result = (|| {
        let mb = mailbox_of(ctx, slot(handles, idx)?)?;
        ctx.with_conn(|c| {
            let mut ids = Vec::with_capacity(q.property_names.len());
            for n in &q.property_names {
                let id = match (&n.kind, named(n)) {
                    (PropertyNameKind::Lid(l), _) if n.guid == PS_MAPI => u16::try_from(*l).ok(),
                    (_, Some(name)) => m::id_of(c, mb, &name, create)?,
                    (_, None) => None,
                };
                ids.push(id.unwrap_or(0));
            }
            Ok(ids)
        })
    })();
    match result {
        Ok(ids) => {
            let return_value = if ids.contains(&0) {
                GetPropertyIdsFromNamesResponse::WARN_WITH_ERRORS
            } else {
                ErrorCode::SUCCESS
            };
            reply(
                rop,
                idx,
                &GetPropertyIdsFromNamesResponse {
                    input_handle_index: idx,
                    return_value,
                    property_ids: ids,
                },
            )
        }
        Err(ec) => fail(rop, idx, ec),
    }
}

/// RopGetNamesFromPropertyIds: IDs below 0x8000 are PS_MAPI LIDs; unknown IDs are
/// Kind 0xFF (no name).
fn names_from_ids(
    ctx: &mut MailboxContext,
    handles: &[u32],
    q: &GetNamesFromPropertyIdsRequest,
) -> MsgStep {
    let rop = RopId::GET_NAMES_FROM_PROPERTY_IDS;
    let idx = q.input_handle_index;
    let result = (|| {
        let mb = mailbox_of(ctx, slot(handles, idx)?)?;
        ctx.with_conn(|c| {
            let mut names = Vec::with_capacity(q.property_ids.len());
            for &id in &q.property_ids {
                names.push(if id < 0x8000 {
                    PropertyName {
                        guid: PS_MAPI,
                        kind: PropertyNameKind::Lid(u32::from(id)),
                    }
                } else {
                    match m::name_of(c, mb, id)? {
                        Some(NamedProp::Lid(guid, lid)) => PropertyName {
                            guid,
                            kind: PropertyNameKind::Lid(lid),
                        },
                        Some(NamedProp::Name(guid, s)) => PropertyName {
                            guid,
                            kind: PropertyNameKind::Name(s),
                        },
                        None => PropertyName {
                            guid: [0; 16],
                            kind: PropertyNameKind::NoName,
                        },
                    }
                });
            }
            Ok(names)
        })
    })();
    match result {
        Ok(names) => reply(
            rop,
            idx,
            &GetNamesFromPropertyIdsResponse {
                input_handle_index: idx,
                property_names: names,
            },
        ),
        Err(ec) => fail(rop, idx, ec),
    }
}
