//! Message, attachment and stream Server objects (MS-OXCMSG 3.2.1, MS-OXCPRPT 3.2.1) and
//! how they find their data in the store.
//!
//! A Message object reads its committed instance until the first change; the first change
//! copies it into a working instance (negative id) that RopSaveChangesMessage commits and
//! RopRelease discards (MS-OXCMSG 3.2.5.3: nothing is committed before the save).
//! Attachments and embedded messages are resolved through their parent's *current*
//! instance on every call, so they follow the parent into its working copy.
//!
//! Also here, shared by the message, attachment, property, stream and table ROPs: the
//! values of message and attachment objects (stored and computed) and their projection
//! onto requested tags, the initial values and RopOpenMessage header of a message, the rows
//! of an attachment table, and RopRelease (which discards uncommitted objects).

use oxmapi_wire::Encode;
use oxmapi_wire::data::{ErrorCode, PropertyTag, PropertyType, PropertyValue, RowValue, tags};
use oxmapi_wire::rop::{MessageInfo, ReleaseRequest};

use super::context::MailboxContext;
use super::objects::{AttachObj, Bag, Message, Object};
use super::props::{PropList, StoreInfo, instance_computed};
use super::recipients;
use super::step::{Step, encoded_len, slot};
use crate::store::deliver::{MSGFLAG_READ, MSGFLAG_UNSENT};
use crate::store::messages::{self as m, KIND_ATTACHMENT, KIND_MESSAGE};
use crate::store::tx;

/// One value of an object as the ROPs see it: inline, or chunked with its size.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Cell {
    Value(PropertyValue),
    Big(u64),
}

/// The message instance a Message object reads (or, with `write`, changes: the working
/// copy, created on first use).
pub(super) fn message_instance(
    ctx: &mut MailboxContext,
    handle: u32,
    write: bool,
) -> Result<Bag, ErrorCode> {
    let Object::Message(msg) = ctx.handles.get(handle)?.clone() else {
        return Err(ErrorCode::INVALID_OBJECT);
    };
    if write && !msg.state.writable {
        return Err(ErrorCode::NO_ACCESS);
    }
    let mb = msg.mailbox_id;
    let bag = |id| Bag {
        mailbox_id: mb,
        kind: KIND_MESSAGE,
        id,
    };
    if let Some(att) = msg.state.embedded_in {
        let a = attachment_bag(ctx, att, write)?;
        let row = ctx
            .with_conn(|c| m::attachment_by_id(c, a.id))?
            .ok_or(ErrorCode::OBJECT_DELETED)?;
        return match (row.2.embedded, write) {
            (Some(e), _) => Ok(bag(e)),
            (None, false) => Err(ErrorCode::NOT_FOUND),
            (None, true) => {
                let id = ctx.with_conn(|c| {
                    let id = m::new_instance_id(c, mb)?;
                    m::set_embedded(c, a.id, id)?;
                    Ok(id)
                })?;
                Ok(bag(id))
            }
        };
    }
    if let Some(w) = msg.state.work {
        return Ok(bag(w));
    }
    if !write {
        return Ok(bag(msg.mid));
    }
    let committed = msg.state.committed;
    let w = ctx.with_conn(|c| {
        tx::write(c, |c| {
            let w = m::new_working_id(c, mb)?;
            if committed {
                m::copy_instance(c, mb, msg.mid, mb, w)?;
            }
            Ok(w)
        })
    })?;
    if let Object::Message(live) = ctx.handles.get_mut(handle)? {
        live.state.work = Some(w);
    }
    Ok(bag(w))
}

/// The property bag of an Attachment object (in the parent's current instance).
pub(super) fn attachment_bag(
    ctx: &mut MailboxContext,
    handle: u32,
    write: bool,
) -> Result<Bag, ErrorCode> {
    let Object::Attachment(a) = ctx.handles.get(handle)?.clone() else {
        return Err(ErrorCode::INVALID_OBJECT);
    };
    if write && !a.writable {
        return Err(ErrorCode::NO_ACCESS);
    }
    let parent = message_instance(ctx, a.parent, write)?;
    let row = ctx
        .with_conn(|c| m::attachment(c, parent.mailbox_id, parent.id, a.attach_num))?
        .ok_or(ErrorCode::OBJECT_DELETED)?;
    Ok(Bag {
        mailbox_id: parent.mailbox_id,
        kind: KIND_ATTACHMENT,
        id: row.att_id,
    })
}

/// The bag of a Message or Attachment object.
pub(super) fn object_bag(
    ctx: &mut MailboxContext,
    handle: u32,
    write: bool,
) -> Result<Bag, ErrorCode> {
    match ctx.handles.get(handle)? {
        Object::Message(_) => message_instance(ctx, handle, write),
        Object::Attachment(_) => attachment_bag(ctx, handle, write),
        _ => Err(ErrorCode::NO_SUPPORT),
    }
}

/// Whether a Message or Attachment object may be changed (without creating anything).
pub(super) fn is_writable(ctx: &MailboxContext, handle: u32) -> bool {
    match ctx.handles.get(handle) {
        Ok(Object::Message(msg)) => msg.state.writable,
        Ok(Object::Attachment(a)) => a.writable,
        _ => false,
    }
}

/// Every value of a Message or Attachment object: stored (inline and chunked) overridden
/// by the computed ones (MS-OXCMSG 2.2.1, 2.2.2).
pub(super) fn object_cells(
    ctx: &mut MailboxContext,
    handle: u32,
) -> Result<Vec<(PropertyTag, Cell)>, ErrorCode> {
    let bag = object_bag(ctx, handle, false)?;
    let obj = ctx.handles.get(handle)?.clone();
    let info = ctx.store_info(bag.mailbox_id)?.clone();
    ctx.with_conn(|c| {
        let mut cells: Vec<(PropertyTag, Cell)> =
            m::inline_props(c, bag.mailbox_id, bag.kind, bag.id)?
                .into_iter()
                .map(|(t, v)| (t, Cell::Value(v)))
                .collect();
        for (t, size) in m::blob_props(c, bag.mailbox_id, bag.kind, bag.id)? {
            cells.push((t, Cell::Big(size)));
        }
        let computed = match &obj {
            Object::Message(msg) => message_computed(c, &info, msg, bag)?,
            Object::Attachment(a) => attachment_computed(c, a, bag)?,
            _ => Vec::new(),
        };
        cells.retain(|(t, _)| !computed.iter().any(|(ct, _)| ct.id() == t.id()));
        cells.extend(computed.into_iter().map(|(t, v)| (t, Cell::Value(v))));
        Ok(cells)
    })
}

/// Computed message values: PidTagMid, PidTagFolderId, PidTagEntryId, PidTagRecordKey,
/// PidTagInstanceKey, PidTagMessageSize, PidTagHasAttachments, PidTagMessageFlags
/// (MSGFLAG_HASATTACH), PidTagRead, PidTagObjectType.
fn message_computed(
    c: &rusqlite::Connection,
    info: &StoreInfo,
    msg: &Message,
    bag: Bag,
) -> rusqlite::Result<Vec<(PropertyTag, PropertyValue)>> {
    let mut v = instance_computed(c, bag)?;
    if msg.state.embedded_in.is_none() {
        let entry = info.message_entry_id(msg.fid, msg.mid);
        v.push((tags::PidTagMid, PropertyValue::Int64(msg.mid)));
        v.push((tags::PidTagFolderId, PropertyValue::Int64(msg.fid)));
        v.push((tags::PidTagEntryId, PropertyValue::Binary(entry.clone())));
        v.push((tags::PidTagRecordKey, PropertyValue::Binary(entry)));
        v.push((
            tags::PidTagParentEntryId,
            PropertyValue::Binary(info.folder_entry_id(msg.fid)),
        ));
        v.push((
            tags::PidTagInstanceKey,
            PropertyValue::Binary(msg.mid.to_le_bytes().to_vec()),
        ));
    }
    Ok(v)
}

fn attachment_computed(
    c: &rusqlite::Connection,
    a: &AttachObj,
    bag: Bag,
) -> rusqlite::Result<Vec<(PropertyTag, PropertyValue)>> {
    let size = match m::attachment_by_id(c, bag.id)? {
        Some((_, _, row)) => m::attachment_size(c, bag.mailbox_id, row)?,
        None => 0,
    };
    Ok(vec![
        (
            tags::PidTagAttachNumber,
            PropertyValue::Int32(i32::try_from(a.attach_num).unwrap_or(i32::MAX)),
        ),
        (
            tags::PidTagAttachSize,
            PropertyValue::Int32(i32::try_from(size).unwrap_or(i32::MAX)),
        ),
        (tags::PidTagObjectType, PropertyValue::Int32(7)),
        (
            tags::PidTagInstanceKey,
            PropertyValue::Binary(bag.id.to_le_bytes().to_vec()),
        ),
        (
            tags::PidTagRecordKey,
            PropertyValue::Binary(bag.id.to_le_bytes().to_vec()),
        ),
    ])
}

/// The size limit of RopGetProperties* (MS-OXCPRPT 3.2.5.1): PropertySizeLimit, or when 0
/// what a response buffer can carry.
pub(super) fn effective_limit(limit: u16) -> u64 {
    if limit == 0 {
        m::INLINE_LIMIT as u64
    } else {
        u64::from(limit)
    }
}

/// The byte size of an inline value for the limit check (strings and binaries only).
fn value_size(v: &PropertyValue) -> Option<u64> {
    m::blob_bytes(v).map(|b| b.len() as u64)
}

/// Resolves a cell into a row value: values above the limit are ecMAPIOOM
/// (MS-OXCPRPT 3.2.5.1) so the client opens a stream instead.
pub(super) fn materialize(
    ctx: &MailboxContext,
    bag: Bag,
    tag: PropertyTag,
    cell: &Cell,
    limit: u64,
) -> Result<RowValue, ErrorCode> {
    let ty = tag.ty().without_instance();
    match cell {
        Cell::Value(v) if value_size(v).is_some_and(|s| s > limit) => {
            Ok(RowValue::Error(ty, ErrorCode::NOT_ENOUGH_MEMORY))
        }
        Cell::Value(v) => Ok(RowValue::Value(v.clone())),
        Cell::Big(size) if *size > limit => Ok(RowValue::Error(ty, ErrorCode::NOT_ENOUGH_MEMORY)),
        Cell::Big(size) => {
            let bytes = ctx.with_conn(|c| {
                m::read_blob(c, bag.owner(), tag, 0, usize::try_from(*size).unwrap_or(0))
            })?;
            Ok(m::value_from_bytes(ty, bytes)
                .map(RowValue::Value)
                .unwrap_or(RowValue::Error(ty, ErrorCode::NOT_FOUND)))
        }
    }
}

/// Projects cells onto requested tags with the type rules of MS-OXCPRPT 3.2.5.1.
pub(super) fn project(
    ctx: &MailboxContext,
    bag: Bag,
    cells: &[(PropertyTag, Cell)],
    requested: &[PropertyTag],
    unicode: bool,
    limit: u64,
) -> Result<Vec<RowValue>, ErrorCode> {
    let mut out = Vec::with_capacity(requested.len());
    for &want in requested {
        let want_ty = want.ty().without_instance();
        let missing = || {
            let ty = if want_ty == PropertyType::UNSPECIFIED {
                PropertyType::ERROR
            } else {
                want_ty
            };
            RowValue::Error(ty, ErrorCode::NOT_FOUND)
        };
        let Some((have, cell)) = cells.iter().find(|(t, _)| t.id() == want.id()) else {
            out.push(missing());
            continue;
        };
        let have_ty = have.ty().without_instance();
        let convertible = want_ty == PropertyType::UNSPECIFIED
            || want_ty == have_ty
            || (is_string(want_ty) && is_string(have_ty));
        if !convertible {
            out.push(missing());
            continue;
        }
        let row = materialize(ctx, bag, *have, cell, limit)?;
        out.push(convert(row, want_ty, unicode));
    }
    Ok(out)
}

fn is_string(t: PropertyType) -> bool {
    t == PropertyType::STRING8 || t == PropertyType::UNICODE
}

fn convert(v: RowValue, want: PropertyType, unicode: bool) -> RowValue {
    let to8 = want == PropertyType::STRING8 || (want == PropertyType::UNSPECIFIED && !unicode);
    match v {
        RowValue::Value(PropertyValue::Unicode(s)) if to8 => {
            RowValue::Value(PropertyValue::String8(
                s.chars()
                    .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
                    .collect(),
            ))
        }
        RowValue::Value(PropertyValue::String8(b)) if want == PropertyType::UNICODE => {
            RowValue::Value(PropertyValue::Unicode(
                b.iter().map(|&c| char::from(c)).collect(),
            ))
        }
        RowValue::Error(ty, e) if is_string(want) && is_string(ty) => RowValue::Error(want, e),
        other => other,
    }
}

/// RopRelease (MS-OXCROPS 2.2.15.3): drops the object of any kind (unknown handles are
/// ignored), with a Message object's uncommitted working copy or an unsaved new attachment
/// (MS-OXCMSG 3.2.5.3: nothing is committed before the save). RopRelease has no response.
pub(super) fn release(ctx: &mut MailboxContext, handles: &[u32], q: &ReleaseRequest) -> Step {
    if let Ok(h) = slot(handles, q.input_handle_index)
        && let Some(obj) = ctx.handles.release(h)
    {
        on_release(ctx, &obj);
    }
    Step::Silent
}

/// Drops a working copy, or an unsaved new attachment, when its object is released.
fn on_release(ctx: &mut MailboxContext, released: &Object) {
    let result = match released {
        Object::Message(msg) if msg.state.embedded_in.is_none() => match msg.state.work {
            Some(w) => ctx.with_conn(|c| {
                tx::write(c, |c| {
                    m::delete_instance(c, msg.mailbox_id, w)?;
                    m::forget_working(c, w)?;
                    Ok(())
                })
            }),
            None => Ok(()),
        },
        Object::Attachment(a) if a.unsaved_new => {
            // The parent's working copy holds it; find it by number there.
            match ctx.handles.get(a.parent) {
                Ok(Object::Message(p)) => match p.state.work {
                    Some(w) => ctx.with_conn(|c| {
                        if let Some(row) = m::attachment(c, a.mailbox_id, w, a.attach_num)? {
                            m::delete_attachment(c, a.mailbox_id, row.att_id)?;
                        }
                        Ok(())
                    }),
                    None => Ok(()),
                },
                _ => Ok(()),
            }
        }
        _ => Ok(()),
    };
    if result.is_err() {
        tracing::warn!("discarding an uncommitted object failed");
    }
}

/// Initial values of a new message (MS-OXCMSG 3.2.5.2), for RopCreateMessage and a created
/// embedded message.
pub(super) fn initial_props(ctx: &MailboxContext) -> PropList {
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

/// Builds the RopOpenMessage / RopOpenEmbeddedMessage response with as many recipient rows
/// as fit in `room`; `None` when not even zero rows fit.
pub(super) fn fit_rows<T: Encode>(
    room: usize,
    h: recipients::Header,
    build: impl Fn(MessageInfo) -> T,
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

/// Attachment table rows of a message instance (MS-OXCMSG 3.2.5.12): attachment ids
/// (depth 0).
pub(super) fn attachment_table_rows(
    c: &rusqlite::Connection,
    mailbox_id: i64,
    instance: i64,
) -> rusqlite::Result<Vec<(i64, u32)>> {
    Ok(m::attachments(c, mailbox_id, instance)?
        .into_iter()
        .map(|a| (a.att_id, 0))
        .collect())
}

/// The values of one attachment table row (chunked values are left out of tables).
pub(super) fn attachment_row_props(
    c: &rusqlite::Connection,
    mailbox_id: i64,
    att_id: i64,
) -> rusqlite::Result<PropList> {
    let Some((_, _, row)) = m::attachment_by_id(c, att_id)? else {
        return Ok(Vec::new());
    };
    let mut v = m::inline_props(c, mailbox_id, KIND_ATTACHMENT, att_id)?;
    let size = m::attachment_size(c, mailbox_id, row)?;
    let computed = [
        (
            tags::PidTagAttachNumber,
            PropertyValue::Int32(i32::try_from(row.attach_num).unwrap_or(i32::MAX)),
        ),
        (
            tags::PidTagAttachSize,
            PropertyValue::Int32(i32::try_from(size).unwrap_or(i32::MAX)),
        ),
        (tags::PidTagObjectType, PropertyValue::Int32(7)),
        (
            tags::PidTagInstanceKey,
            PropertyValue::Binary(att_id.to_le_bytes().to_vec()),
        ),
    ];
    v.retain(|(t, _)| !computed.iter().any(|(c, _)| c.id() == t.id()));
    v.extend(computed);
    Ok(v)
}
