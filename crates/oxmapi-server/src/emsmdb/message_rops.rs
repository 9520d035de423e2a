//! Message ROPs (MS-OXCMSG 3.2.5, MS-OXOMSG 3.2.5.1): opening, creating, saving and
//! submitting messages, their recipients and read flags, and deleting, moving and copying
//! the messages of a folder (MS-OXCFOLD 3.2.5.5 - 3.2.5.12). Requests are decoded by the
//! dispatcher, responses encoded with `oxmapi_wire::rop`.

use oxmapi_wire::Encode;
use oxmapi_wire::data::{ErrorCode, MessageId, PropertyValue, tags};
use oxmapi_wire::rop::{
    CreateMessageRequest, CreateMessageResponse, DeleteMessagesRequest, DeleteMessagesResponse,
    HardDeleteMessagesRequest, HardDeleteMessagesResponse, ModifyRecipientsRequest,
    ModifyRecipientsResponse, MoveCopyMessagesRequest, MoveCopyMessagesResponse,
    OpenMessageRequest, OpenMessageResponse, ReadRecipientsRequest, ReadRecipientsResponse,
    RemoveAllRecipientsRequest, RemoveAllRecipientsResponse, RopId, SaveChangesMessageRequest,
    SaveChangesMessageResponse, SetMessageReadFlagRequest, SetMessageReadFlagResponse,
    SetReadFlagsRequest, SetReadFlagsResponse, SubmitMessageRequest, SubmitMessageResponse,
};

use super::context::{EC_QUOTA_EXCEEDED, MailboxContext};
use super::msgobj::{self, fit_rows, header_of, initial_props};
use super::objects::{Bag, Message, MsgState, Object};
use super::props::StoreInfo;
use super::recipients;
use super::step::{Step, WRITE_ROOM, encode, encoded_len, fail, out_slot, reply, slot};
use super::storeops;
use crate::store::deliver::{self, MSGFLAG_READ, SubmitError, SubmitHooks};
use crate::store::messages::{self as m, KIND_MESSAGE};
use crate::store::tx;
use crate::store::usage;

/// MS-OXCDATA 2.4.2 ecMaxSubmissionExceeded (MaxSubmissionExceeded, 0x000004DA): the message
/// exceeds the maximum size and is not submitted.
const EC_MAX_SUBMISSION_EXCEEDED: ErrorCode = ErrorCode(0x0000_04DA);

/// The store of a Logon or Folder object, and the folder (if a folder).
fn container(ctx: &MailboxContext, handle: u32) -> Result<(StoreInfo, Option<i64>), ErrorCode> {
    let (mb, fid) = match ctx.handles.get(handle)? {
        Object::Logon(l) => (l.mailbox_id, None),
        Object::Folder(f) => (f.mailbox_id, Some(f.fid)),
        _ => return Err(ErrorCode::NO_SUPPORT),
    };
    Ok((ctx.store_info(mb)?.clone(), fid))
}

// ---------------------------------------------------------------------------------------
// RopOpenMessage, RopCreateMessage, RopSaveChangesMessage
// ---------------------------------------------------------------------------------------

/// RopOpenMessage (MS-OXCMSG 3.2.5.1): the message handle plus the subject and as many
/// recipient rows as fit (the client reads the rest with RopReadRecipients).
pub(super) fn open_message(
    ctx: &mut MailboxContext,
    handles: &mut [u32],
    q: &OpenMessageRequest,
    room: usize,
) -> Step {
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
        return Step::NoRoom(room + 1);
    };
    match ctx.handles.insert(Object::Message(msg)) {
        Ok(h) => handles[usize::from(out)] = h,
        Err(ec) => return fail(rop, out, ec),
    }
    reply(rop, out, &resp)
}

/// RopCreateMessage (MS-OXCMSG 3.2.5.2): a new, uncommitted message with a MID allocated
/// now and the initial values of 3.2.5.2.
pub(super) fn create_message(
    ctx: &mut MailboxContext,
    handles: &mut [u32],
    q: &CreateMessageRequest,
    room: usize,
) -> Step {
    let rop = RopId::CREATE_MESSAGE;
    let out = q.output_handle_index;
    if room < WRITE_ROOM {
        return Step::NoRoom(WRITE_ROOM);
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
            tx::write(c, |c| {
                let mid = m::alloc_id(c, mb)?;
                let work = m::new_working_id(c, mb)?;
                for (tag, v) in &initial {
                    m::put_prop(c, mb, KIND_MESSAGE, work, *tag, v)?;
                }
                Ok((mid, work))
            })
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
pub(super) fn save_changes(
    ctx: &mut MailboxContext,
    handles: &mut [u32],
    q: &SaveChangesMessageRequest,
    room: usize,
) -> Step {
    let rop = RopId::SAVE_CHANGES_MESSAGE;
    if room < WRITE_ROOM {
        return Step::NoRoom(WRITE_ROOM);
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
fn commit(ctx: &mut MailboxContext, handles: &[u32], index: u8) -> Result<i64, ErrorCode> {
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
        tx::write(c, |c| {
            let bag = Bag {
                mailbox_id: mb,
                kind: KIND_MESSAGE,
                id: work,
            };
            recipients::update_display_lists(c, bag)?;
            m::put_prop(
                c,
                mb,
                KIND_MESSAGE,
                work,
                tags::PidTagLastModificationTime,
                &PropertyValue::Time(m::now_filetime()),
            )?;
            if msg.state.committed {
                m::delete_instance(c, mb, msg.mid)?;
            } else {
                c.execute(
                    "INSERT INTO messages (mailbox_id, mid, fid) VALUES (?1, ?2, ?3)",
                    rusqlite::params![mb, msg.mid, msg.fid],
                )?;
            }
            m::move_instance(c, mb, work, msg.mid)?;
            m::forget_working(c, work)?;
            Ok(())
        })
    })?;
    if let Object::Message(live) = ctx.handles.get_mut(h)? {
        live.state.work = None;
        live.state.committed = true;
    }
    Ok(msg.mid)
}

// ---------------------------------------------------------------------------------------
// Recipients (MS-OXCMSG 3.2.5.4 - 3.2.5.5)
// ---------------------------------------------------------------------------------------

/// RopModifyRecipients (MS-OXCMSG 3.2.5.5): adds, replaces (same RowId) or removes
/// (RecipientRowSize 0) recipients of the working copy. RecipientColumns naming a property
/// the RecipientRow carries in its own fields (MS-OXCDATA 2.8.3.2) are refused with
/// ecInvalidParam before anything else, as a real server does
/// ([`recipients::ROW_FIELD_PROPERTIES`]).
pub(super) fn modify_recipients(
    ctx: &mut MailboxContext,
    handles: &[u32],
    q: &ModifyRecipientsRequest,
    room: usize,
) -> Step {
    let rop = RopId::MODIFY_RECIPIENTS;
    let idx = q.input_handle_index;
    if room < WRITE_ROOM {
        return Step::NoRoom(WRITE_ROOM);
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
            tx::write(c, |c| {
                for row in &q.rows {
                    match &row.row {
                        None => {
                            m::delete_recipients(c, bag.mailbox_id, bag.id, Some(row.row_id))?;
                        }
                        Some(rr) => {
                            let rcpt = recipients::from_row(
                                row.row_id,
                                row.recipient_type,
                                rr,
                                &q.recipient_columns,
                            );
                            m::put_recipient(c, bag.mailbox_id, bag.id, &rcpt)?;
                        }
                    }
                }
                Ok(())
            })
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
pub(super) fn remove_all_recipients(
    ctx: &mut MailboxContext,
    handles: &[u32],
    q: &RemoveAllRecipientsRequest,
    room: usize,
) -> Step {
    let rop = RopId::REMOVE_ALL_RECIPIENTS;
    let idx = q.input_handle_index;
    if room < WRITE_ROOM {
        return Step::NoRoom(WRITE_ROOM);
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
pub(super) fn read_recipients(
    ctx: &mut MailboxContext,
    handles: &[u32],
    q: &ReadRecipientsRequest,
    room: usize,
) -> Step {
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
            return Step::NoRoom(encoded_len(&resp));
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
pub(super) fn set_message_read_flag(
    ctx: &mut MailboxContext,
    handles: &[u32],
    q: &SetMessageReadFlagRequest,
    room: usize,
) -> Step {
    let rop = RopId::SET_MESSAGE_READ_FLAG;
    let idx = q.response_handle_index;
    if room < WRITE_ROOM {
        return Step::NoRoom(WRITE_ROOM);
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
pub(super) fn set_read_flags(
    ctx: &mut MailboxContext,
    handles: &[u32],
    q: &SetReadFlagsRequest,
    room: usize,
) -> Step {
    let rop = RopId::SET_READ_FLAGS;
    let idx = q.input_handle_index;
    if room < WRITE_ROOM {
        return Step::NoRoom(WRITE_ROOM);
    }
    let result = (|| {
        let (info, fid) = container(ctx, slot(handles, idx)?)?;
        let fid = fid.ok_or(ErrorCode::NO_SUPPORT)?;
        let read = q.read_flags & RF_CLEAR_READ_FLAG == 0;
        let mb = info.mailbox_id;
        ctx.with_conn(|c| {
            tx::write(c, |c| {
                let mut partial = false;
                let ids: Vec<i64> = if q.message_ids.is_empty() {
                    storeops::messages_in(c, mb, fid)?
                } else {
                    q.message_ids.iter().map(|m| m.0 as i64).collect()
                };
                for mid in ids {
                    if storeops::message_folder(c, mb, mid)? == Some(fid) {
                        set_read_bit(c, mb, mid, read)?;
                    } else {
                        partial = true;
                    }
                }
                Ok(partial)
            })
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
fn partial<T: Encode>(ec: ErrorCode, build: impl FnOnce(ErrorCode, u8) -> T, pc: bool) -> Step {
    Step::Reply(encode(&build(ec, u8::from(pc))).unwrap_or_default())
}

/// RopDeleteMessages (MS-OXCFOLD 3.2.5.11): see [`delete_messages`].
pub(super) fn delete(ctx: &mut MailboxContext, handles: &[u32], q: &DeleteMessagesRequest) -> Step {
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

/// RopHardDeleteMessages (MS-OXCFOLD 3.2.5.12): see [`delete_messages`].
pub(super) fn hard_delete(
    ctx: &mut MailboxContext,
    handles: &[u32],
    q: &HardDeleteMessagesRequest,
) -> Step {
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

/// RopMoveCopyMessages (MS-OXCFOLD 3.2.5.6): see [`move_copy`].
pub(super) fn move_copy_messages(
    ctx: &mut MailboxContext,
    handles: &[u32],
    q: &MoveCopyMessagesRequest,
) -> Step {
    let (pc, ec) = move_copy(ctx, handles, q);
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
            tx::write(c, |c| {
                let mut partial = false;
                for id in ids {
                    let mid = id.0 as i64;
                    if storeops::message_folder(c, mb, mid)? == Some(fid) {
                        m::delete_instance(c, mb, mid)?;
                        c.execute(
                            "DELETE FROM messages WHERE mailbox_id = ?1 AND mid = ?2",
                            rusqlite::params![mb, mid],
                        )?;
                    } else {
                        partial = true;
                    }
                }
                Ok(partial)
            })
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
            tx::write_or_decline(c, |c| {
                let before = usage::mailbox_bytes(c, dmb)?;
                let mut partial = false;
                for id in &q.message_ids {
                    let mid = id.0 as i64;
                    if storeops::message_folder(c, smb, mid)? != Some(src_fid) {
                        partial = true;
                        continue;
                    }
                    if copy || smb != dmb {
                        let new = m::alloc_id(c, dmb)?;
                        m::copy_instance(c, smb, mid, dmb, new)?;
                        c.execute(
                            "INSERT INTO messages (mailbox_id, mid, fid) VALUES (?1, ?2, ?3)",
                            rusqlite::params![dmb, new, dst_fid],
                        )?;
                        // Checked after each copy, so a large batch stops at the first message
                        // that does not fit; declining rolls back the ones before it.
                        if let Some(over) = usage::over_quota(c, dmb, quota, before)? {
                            return Ok(Err(over));
                        }
                        if !copy {
                            m::delete_instance(c, smb, mid)?;
                            c.execute(
                                "DELETE FROM messages WHERE mailbox_id = ?1 AND mid = ?2",
                                rusqlite::params![smb, mid],
                            )?;
                        }
                    } else {
                        c.execute(
                            "UPDATE messages SET fid = ?3 WHERE mailbox_id = ?1 AND mid = ?2",
                            rusqlite::params![smb, mid, dst_fid],
                        )?;
                    }
                }
                Ok(Ok(partial))
            })
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
pub(super) fn submit(
    ctx: &mut MailboxContext,
    handles: &[u32],
    q: &SubmitMessageRequest,
    room: usize,
) -> Step {
    let rop = RopId::SUBMIT_MESSAGE;
    let idx = q.input_handle_index;
    if room < WRITE_ROOM {
        return Step::NoRoom(WRITE_ROOM);
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
            .db
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
