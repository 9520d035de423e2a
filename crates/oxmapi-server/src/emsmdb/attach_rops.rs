//! Attachment ROPs (MS-OXCMSG 3.2.5.6 - 3.2.5.10, 3.2.5.12 RopGetAttachmentTable). The
//! attachment table's rows are read like any table's (`table_rops`, from
//! `msgobj::attachment_table_rows`).

use oxmapi_wire::data::{ErrorCode, MessageId, PropertyValue, tags};
use oxmapi_wire::rop::{
    CreateAttachmentRequest, CreateAttachmentResponse, DeleteAttachmentRequest,
    DeleteAttachmentResponse, GetAttachmentTableRequest, GetAttachmentTableResponse,
    OpenAttachmentRequest, OpenAttachmentResponse, OpenEmbeddedMessageRequest,
    OpenEmbeddedMessageResponse, RopId, SaveChangesAttachmentRequest,
    SaveChangesAttachmentResponse,
};

use super::context::MailboxContext;
use super::msgobj::{self, fit_rows, header_of, initial_props};
use super::objects::{AttachObj, Bag, Message, MsgState, Object, Subscription, Table, TableKind};
use super::step::{Step, WRITE_ROOM, fail, out_slot, reply, slot};
use crate::store::messages::{self as m, KIND_ATTACHMENT, KIND_MESSAGE};
use crate::store::tx;

/// PidTagAttachMethod ATTACH_EMBEDDED_MSG (MS-OXCMSG 2.2.2.9).
const ATTACH_EMBEDDED_MSG: i32 = 5;

/// RopGetAttachmentTable (MS-OXCMSG 3.2.5.12): a table over the current instance's
/// attachments, used with RopSetColumns / RopQueryRows like any other table.
pub(super) fn get_table(
    ctx: &mut MailboxContext,
    handles: &mut [u32],
    q: &GetAttachmentTableRequest,
    room: usize,
) -> Step {
    let rop = RopId::GET_ATTACHMENT_TABLE;
    let out = q.output_handle_index;
    if room < WRITE_ROOM {
        return Step::NoRoom(WRITE_ROOM);
    }
    let result = (|| {
        let bag = msgobj::message_instance(ctx, slot(handles, q.input_handle_index)?, false)?;
        out_slot(handles, out)?;
        ctx.handles.room_for(true)?;
        let rows = ctx.with_conn(|c| msgobj::attachment_table_rows(c, bag.mailbox_id, bag.id))?;
        Ok(Table {
            mailbox_id: bag.mailbox_id,
            fid: bag.id,
            kind: TableKind::Attachments,
            columns: None,
            restriction: None,
            sort: Vec::new(),
            rows: Some(rows),
            position: 0,
            logon_id: q.logon_id,
            subscription: Subscription::Never,
        })
    })();
    match result {
        Err(ec) => fail(rop, out, ec),
        Ok(t) => {
            match ctx.handles.insert(Object::Table(Box::new(t))) {
                Ok(h) => handles[usize::from(out)] = h,
                Err(ec) => return fail(rop, out, ec),
            }
            reply(
                rop,
                out,
                &GetAttachmentTableResponse {
                    output_handle_index: out,
                },
            )
        }
    }
}

fn parent_writable(ctx: &MailboxContext, h: u32) -> Result<bool, ErrorCode> {
    match ctx.handles.get(h)? {
        Object::Message(msg) => Ok(msg.state.writable),
        _ => Err(ErrorCode::NO_SUPPORT),
    }
}

/// RopOpenAttachment (MS-OXCMSG 3.2.5.6): OpenAttachmentFlags 0x01 ReadWrite,
/// 0x02 BestAccess (read-write when the message is).
pub(super) fn open(
    ctx: &mut MailboxContext,
    handles: &mut [u32],
    q: &OpenAttachmentRequest,
    room: usize,
) -> Step {
    let rop = RopId::OPEN_ATTACHMENT;
    let out = q.output_handle_index;
    if room < WRITE_ROOM {
        return Step::NoRoom(WRITE_ROOM);
    }
    let result = (|| {
        let parent = slot(handles, q.input_handle_index)?;
        let pw = parent_writable(ctx, parent)?;
        out_slot(handles, out)?;
        ctx.handles.room_for(false)?;
        let bag = msgobj::message_instance(ctx, parent, false)?;
        ctx.with_conn(|c| m::attachment(c, bag.mailbox_id, bag.id, q.attachment_id))?
            .ok_or(ErrorCode::NOT_FOUND)?;
        let writable = match q.open_attachment_flags & 0x03 {
            0x01 if !pw => return Err(ErrorCode::NO_ACCESS),
            0x01 => true,
            0x02 | 0x03 => pw,
            _ => false,
        };
        Ok(AttachObj {
            mailbox_id: bag.mailbox_id,
            parent,
            attach_num: q.attachment_id,
            writable,
            unsaved_new: false,
        })
    })();
    match result {
        Err(ec) => fail(rop, out, ec),
        Ok(a) => {
            match ctx.handles.insert(Object::Attachment(a)) {
                Ok(h) => handles[usize::from(out)] = h,
                Err(ec) => return fail(rop, out, ec),
            }
            reply(
                rop,
                out,
                &OpenAttachmentResponse {
                    output_handle_index: out,
                },
            )
        }
    }
}

/// RopCreateAttachment (MS-OXCMSG 3.2.5.7): a new attachment in the message's working
/// copy; discarded if released before RopSaveChangesAttachment.
pub(super) fn create(
    ctx: &mut MailboxContext,
    handles: &mut [u32],
    q: &CreateAttachmentRequest,
    room: usize,
) -> Step {
    let rop = RopId::CREATE_ATTACHMENT;
    let out = q.output_handle_index;
    if room < WRITE_ROOM {
        return Step::NoRoom(WRITE_ROOM);
    }
    let result = (|| {
        let parent = slot(handles, q.input_handle_index)?;
        parent_writable(ctx, parent)?;
        out_slot(handles, out)?;
        ctx.handles.room_for(false)?;
        let bag = msgobj::message_instance(ctx, parent, true)?;
        let row = ctx.with_conn(|c| m::create_attachment(c, bag.mailbox_id, bag.id))?;
        Ok(AttachObj {
            mailbox_id: bag.mailbox_id,
            parent,
            attach_num: row.attach_num,
            writable: true,
            unsaved_new: true,
        })
    })();
    match result {
        Err(ec) => fail(rop, out, ec),
        Ok(a) => {
            let num = a.attach_num;
            match ctx.handles.insert(Object::Attachment(a)) {
                Ok(h) => handles[usize::from(out)] = h,
                Err(ec) => return fail(rop, out, ec),
            }
            reply(
                rop,
                out,
                &CreateAttachmentResponse {
                    output_handle_index: out,
                    attachment_id: num,
                },
            )
        }
    }
}

/// RopDeleteAttachment (MS-OXCMSG 3.2.5.8): removed from the working copy.
pub(super) fn delete(
    ctx: &mut MailboxContext,
    handles: &[u32],
    q: &DeleteAttachmentRequest,
    room: usize,
) -> Step {
    let rop = RopId::DELETE_ATTACHMENT;
    let idx = q.input_handle_index;
    if room < WRITE_ROOM {
        return Step::NoRoom(WRITE_ROOM);
    }
    let result = (|| {
        let bag = msgobj::message_instance(ctx, slot(handles, idx)?, true)?;
        ctx.with_conn(|c| {
            tx::write(c, |c| {
                let found = match m::attachment(c, bag.mailbox_id, bag.id, q.attachment_id)? {
                    Some(row) => {
                        m::delete_attachment(c, bag.mailbox_id, row.att_id)?;
                        true
                    }
                    None => false,
                };
                Ok(found)
            })
        })
    })();
    match result {
        Ok(true) => reply(
            rop,
            idx,
            &DeleteAttachmentResponse {
                input_handle_index: idx,
            },
        ),
        Ok(false) => fail(rop, idx, ErrorCode::NOT_FOUND),
        Err(ec) => fail(rop, idx, ec),
    }
}

/// RopSaveChangesAttachment (MS-OXCMSG 3.2.5.9): keeps the attachment in the message's
/// working copy (committed with RopSaveChangesMessage).
pub(super) fn save(
    ctx: &mut MailboxContext,
    handles: &[u32],
    q: &SaveChangesAttachmentRequest,
    room: usize,
) -> Step {
    let rop = RopId::SAVE_CHANGES_ATTACHMENT;
    let idx = q.response_handle_index;
    if room < WRITE_ROOM {
        return Step::NoRoom(WRITE_ROOM);
    }
    let result = (|| {
        let h = slot(handles, q.input_handle_index)?;
        match ctx.handles.get_mut(h)? {
            Object::Attachment(a) if a.writable => {
                a.unsaved_new = false;
                Ok(())
            }
            Object::Attachment(_) => Err(ErrorCode::NO_ACCESS),
            _ => Err(ErrorCode::NO_SUPPORT),
        }
    })();
    match result {
        Ok(()) => reply(
            rop,
            idx,
            &SaveChangesAttachmentResponse {
                response_handle_index: idx,
            },
        ),
        Err(ec) => fail(rop, idx, ec),
    }
}

/// RopOpenEmbeddedMessage (MS-OXCMSG 3.2.5.10 / MS-OXCROPS 2.2.6.16): OpenModeFlags
/// 0x00 ReadOnly, 0x01 ReadWrite, 0x02 Create (creates the embedded message and sets
/// PidTagAttachMethod ATTACH_EMBEDDED_MSG).
pub(super) fn open_embedded(
    ctx: &mut MailboxContext,
    handles: &mut [u32],
    q: &OpenEmbeddedMessageRequest,
    room: usize,
) -> Step {
    let rop = RopId::OPEN_EMBEDDED_MESSAGE;
    let out = q.output_handle_index;
    let result = (|| {
        let ah = slot(handles, q.input_handle_index)?;
        let Object::Attachment(a) = ctx.handles.get(ah)?.clone() else {
            return Err(ErrorCode::NO_SUPPORT);
        };
        out_slot(handles, out)?;
        ctx.handles.room_for(false)?;
        let create = q.open_mode_flags & 0x02 != 0;
        let writable = q.open_mode_flags & 0x03 != 0;
        if writable && !a.writable {
            return Err(ErrorCode::NO_ACCESS);
        }
        let abag = msgobj::attachment_bag(ctx, ah, create)?;
        let existing = ctx
            .with_conn(|c| m::attachment_by_id(c, abag.id))?
            .and_then(|(_, _, row)| row.embedded);
        let id = match (existing, create) {
            (Some(e), _) => e,
            (None, false) => return Err(ErrorCode::NOT_FOUND),
            (None, true) => {
                let initial = initial_props(ctx);
                let mb = abag.mailbox_id;
                ctx.with_conn(|c| {
                    tx::write(c, |c| {
                        let id = m::alloc_id(c, mb)?;
                        m::set_embedded(c, abag.id, id)?;
                        for (tag, v) in &initial {
                            m::put_prop(c, mb, KIND_MESSAGE, id, *tag, v)?;
                        }
                        m::put_prop(
                            c,
                            mb,
                            KIND_ATTACHMENT,
                            abag.id,
                            tags::PidTagAttachMethod,
                            &PropertyValue::Int32(ATTACH_EMBEDDED_MSG),
                        )?;
                        Ok(id)
                    })
                })?
            }
        };
        let parent_fid = match ctx.handles.get(a.parent)? {
            Object::Message(p) => p.fid,
            _ => 0,
        };
        let h = header_of(
            ctx,
            Bag {
                mailbox_id: abag.mailbox_id,
                kind: KIND_MESSAGE,
                id,
            },
        )?;
        let msg = Message {
            mailbox_id: abag.mailbox_id,
            private: ctx.store_info(abag.mailbox_id)?.private,
            fid: parent_fid,
            mid: id,
            state: MsgState {
                work: None,
                committed: true,
                writable,
                embedded_in: Some(ah),
            },
        };
        Ok((msg, h))
    })();
    let (msg, h) = match result {
        Ok(v) => v,
        Err(ec) => return fail(rop, out, ec),
    };
    let mid = msg.mid;
    let Some(resp) = fit_rows(room, h, |info| OpenEmbeddedMessageResponse {
        output_handle_index: out,
        reserved: 0,
        message_id: MessageId(mid as u64),
        info,
    }) else {
        return Step::NoRoom(room + 1);
    };
    match ctx.handles.insert(Object::Message(msg)) {
        Ok(h) => handles[usize::from(out)] = h,
        Err(ec) => return fail(rop, out, ec),
    }
    reply(rop, out, &resp)
}
