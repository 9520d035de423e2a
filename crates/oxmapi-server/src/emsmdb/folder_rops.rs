//! Folder write ROPs: RopCreateFolder, RopDeleteFolder, RopEmptyFolder,
//! RopHardDeleteMessagesAndSubfolders, RopMoveFolder, RopCopyFolder (MS-OXCFOLD 3.2.5),
//! RopSetProperties on folders (MS-OXCPRPT 3.2.5.3), RopSetReceiveFolder and the configured
//! part of RopGetReceiveFolder (MS-OXCSTOR 3.2.5.2, 3.2.5.3).
//!
//! Requests are parsed here from MS-OXCROPS 2.2.4 / 2.2.3 / 2.2.8 (the cursor is positioned
//! after RopId and LogonId, as in the dispatcher); every field is read before anything
//! changes, and the response's room is checked before the store is written, so a
//! RopBufferTooSmall never follows a side effect. Store work is in
//! [`crate::store::folders_write`], one savepoint per ROP.

use oxmapi_wire::data::{
    ErrorCode, PropertyProblem, PropertyTag, PropertyValue, TaggedPropertyValue, ValueContext, tags,
};
use oxmapi_wire::rop::SetPropertiesResponse;
use oxmapi_wire::{DecodeResult, Encode, ReadCursor, WriteCursor};
use rusqlite::Connection;

use super::MailboxContext;
use super::objects::{Folder, Object};
use crate::store::folders_write::{
    self as fw, DeleteOptions, FolderWriteError, KIND_FOLDER, NewFolder, WriteResult,
};

/// What a folder ROP produced (mirrors the dispatcher's own step type).
pub(super) enum FoldStep {
    /// A response (success or failure) to append.
    Reply(Vec<u8>),
    /// The response would not fit in `room`; nothing was changed.
    NoRoom(usize),
}

/// RopIds handled here (MS-OXCROPS 2.2.2).
mod id {
    pub(super) const SET_PROPERTIES: u8 = 0x0A;
    pub(super) const CREATE_FOLDER: u8 = 0x1C;
    pub(super) const DELETE_FOLDER: u8 = 0x1D;
    pub(super) const SET_RECEIVE_FOLDER: u8 = 0x26;
    pub(super) const MOVE_FOLDER: u8 = 0x35;
    pub(super) const COPY_FOLDER: u8 = 0x36;
    pub(super) const EMPTY_FOLDER: u8 = 0x58;
    pub(super) const HARD_DELETE_MESSAGES_AND_SUBFOLDERS: u8 = 0x92;
}

/// DeleteFolderFlags (MS-OXCFOLD 2.2.1.3.1).
const DEL_MESSAGES: u8 = 0x01;
const DEL_FOLDERS: u8 = 0x04;
const DELETE_HARD_DELETE: u8 = 0x10;
/// FolderType of RopCreateFolder (MS-OXCFOLD 2.2.1.2.1): FOLDER_GENERIC, FOLDER_SEARCH.
const FOLDER_GENERIC: u8 = 1;
const FOLDER_SEARCH: u8 = 2;
/// ecDstNullObject (MS-OXCROPS 2.2.4.7.2): the destination handle is not an object.
const DST_NULL_OBJECT: ErrorCode = ErrorCode(0x0000_0503);
/// PidTagFolderChildCount (MS-OXPROPS 2.696), computed.
const PID_TAG_FOLDER_CHILD_COUNT: PropertyTag = PropertyTag(0x6638_0003);
/// Longest message class accepted (MS-OXCSTOR 2.2.1.2.1: 255 characters).
const MAX_CLASS_LEN: usize = 255;

/// Whether the ROP is handled here.
pub(super) fn handles_rop(rop: u8) -> bool {
    matches!(
        rop,
        id::SET_PROPERTIES
            | id::CREATE_FOLDER
            | id::DELETE_FOLDER
            | id::SET_RECEIVE_FOLDER
            | id::MOVE_FOLDER
            | id::COPY_FOLDER
            | id::EMPTY_FOLDER
            | id::HARD_DELETE_MESSAGES_AND_SUBFOLDERS
    )
}

/// Parses and runs one ROP of [`handles_rop`]; `r` is after RopId and LogonId. A parse
/// error is a malformed buffer.
pub(super) fn run(
    ctx: &mut MailboxContext,
    rop: u8,
    r: &mut ReadCursor<'_>,
    handles: &mut [u32],
    room: usize,
) -> DecodeResult<FoldStep> {
    Ok(match rop {
        id::CREATE_FOLDER => {
            let req = CreateFolder::decode(r)?;
            create_folder(ctx, handles, &req, room)
        }
        id::DELETE_FOLDER => {
            let input = r.u8("InputHandleIndex")?;
            let flags = r.u8("DeleteFolderFlags")?;
            let fid = r.u64("FolderId")? as i64;
            delete_folder(ctx, handles, input, flags, fid, room)
        }
        id::EMPTY_FOLDER | id::HARD_DELETE_MESSAGES_AND_SUBFOLDERS => {
            let input = r.u8("InputHandleIndex")?;
            let _asynchronous = r.u8("WantAsynchronous")?;
            // FAI messages are not stored separately: nothing more to do for them.
            let _associated = r.u8("WantDeleteAssociated")?;
            let hard = rop == id::HARD_DELETE_MESSAGES_AND_SUBFOLDERS;
            empty_folder(ctx, handles, rop, input, hard, room)
        }
        id::MOVE_FOLDER | id::COPY_FOLDER => {
            let req = MoveCopy::decode(r, rop == id::COPY_FOLDER)?;
            move_copy(ctx, handles, rop, &req, room)
        }
        id::SET_RECEIVE_FOLDER => {
            let input = r.u8("InputHandleIndex")?;
            let fid = r.u64("FolderId")? as i64;
            let class = r.ascii_z("MessageClass")?;
            set_receive_folder(ctx, handles, input, fid, &class, room)
        }
        _ => {
            let input = r.u8("InputHandleIndex")?;
            let size = r.u16("PropertyValueSize")?;
            let mut s = r.sub(usize::from(size), "PropertyValues")?;
            let n = s.u16("PropertyValueCount")?;
            s.ensure(usize::from(n) * 4, "PropertyValues")?;
            let values = (0..n)
                .map(|_| TaggedPropertyValue::decode(&mut s, ValueContext::Rop))
                .collect::<DecodeResult<Vec<_>>>()?;
            s.finish("PropertyValues")?;
            set_properties(ctx, handles, input, &values, room)
        }
    })
}

/// RopGetReceiveFolder (MS-OXCSTOR 3.2.5.2) when a receive folder was configured for the
/// class or a base class of it: the response with that folder and class. `None` when the
/// input is not a private logon or nothing matches (the defaults apply).
pub(super) fn configured_receive_folder(
    ctx: &MailboxContext,
    handles: &[u32],
    input: u8,
    class: &str,
) -> Option<Vec<u8>> {
    let logon = match object(ctx, handles, input).ok()? {
        Object::Logon(l) if l.private => l,
        _ => return None,
    };
    let (configured, fid) = store_write(ctx, |c| fw::receive_folder(c, logon.mailbox_id, class))
        .ok()
        .flatten()?;
    let mut w = header(0x27, input, ErrorCode::SUCCESS);
    w.u64(fid as u64);
    w.ascii_z(&configured);
    Some(w.into_inner())
}

// ---- RopCreateFolder ----

/// MS-OXCROPS 2.2.4.2.1 RopCreateFolder request (after RopId, LogonId).
struct CreateFolder {
    input: u8,
    out: u8,
    folder_type: u8,
    open_existing: bool,
    name: String,
    comment: String,
}

impl CreateFolder {
    fn decode(r: &mut ReadCursor<'_>) -> DecodeResult<Self> {
        let input = r.u8("InputHandleIndex")?;
        let out = r.u8("OutputHandleIndex")?;
        let folder_type = r.u8("FolderType")?;
        let unicode = r.u8("UseUnicodeStrings")? != 0;
        let open_existing = r.u8("OpenExisting")? != 0;
        let _reserved = r.u8("Reserved")?;
        let name = string(r, unicode, "DisplayName")?;
        let comment = string(r, unicode, "Comment")?;
        Ok(Self {
            input,
            out,
            folder_type,
            open_existing,
            name,
            comment,
        })
    }
}

/// RopCreateFolder (MS-OXCFOLD 3.2.5.2): a generic folder under the input folder. A sibling
/// with the same name is ecDuplicateName unless OpenExisting, which opens it instead.
/// Response (MS-OXCROPS 2.2.4.2.2): FolderId, IsExistingFolder, and for an existing folder
/// HasRules and IsGhosted.
fn create_folder(
    ctx: &mut MailboxContext,
    handles: &mut [u32],
    req: &CreateFolder,
    room: usize,
) -> FoldStep {
    const SIZE: usize = 6 + 8 + 1 + 2;
    let result = (|| {
        let parent = folder(ctx, handles, req.input)?;
        if usize::from(req.out) >= handles.len() || req.name.is_empty() {
            return Err(ErrorCode::INVALID_PARAMETER);
        }
        match req.folder_type {
            FOLDER_GENERIC => {}
            FOLDER_SEARCH => return Err(ErrorCode::NO_SUPPORT),
            _ => return Err(ErrorCode::INVALID_PARAMETER),
        }
        if room < SIZE {
            return Ok(None);
        }
        let spec = NewFolder {
            name: &req.name,
            comment: Some(req.comment.as_str()),
            container_class: None,
        };
        let created = store_write(ctx, |c| {
            Ok(fw::create_folder(c, parent.mailbox_id, parent.fid, &spec))
        })?;
        let (fid, existing) = match created {
            Ok(fid) => (fid, false),
            Err(FolderWriteError::Collision { existing }) if req.open_existing => (existing, true),
            Err(e) => return Err(map_error(e)),
        };
        Ok(Some((parent, fid, existing)))
    })();
    match result {
        Err(ec) => fail(id::CREATE_FOLDER, req.out, ec),
        Ok(None) => FoldStep::NoRoom(SIZE),
        Ok(Some((parent, fid, existing))) => {
            handles[usize::from(req.out)] = ctx.handles.insert(Object::Folder(Folder {
                mailbox_id: parent.mailbox_id,
                private: parent.private,
                fid,
            }));
            let mut w = header(id::CREATE_FOLDER, req.out, ErrorCode::SUCCESS);
            w.u64(fid as u64);
            w.u8(u8::from(existing));
            if existing {
                w.u8(0); // HasRules
                w.u8(0); // IsGhosted
            }
            FoldStep::Reply(w.into_inner())
        }
    }
}

// ---- RopDeleteFolder, RopEmptyFolder, RopHardDeleteMessagesAndSubfolders ----

/// RopDeleteFolder (MS-OXCFOLD 3.2.5.3): deletes a subfolder of the input folder. A folder
/// that still has messages without DEL_MESSAGES, or subfolders without DEL_FOLDERS, stays:
/// PartialCompletion TRUE. Special folders are ecAccessDenied.
fn delete_folder(
    ctx: &MailboxContext,
    handles: &[u32],
    input: u8,
    flags: u8,
    fid: i64,
    room: usize,
) -> FoldStep {
    let rop = id::DELETE_FOLDER;
    if room < 7 {
        return FoldStep::NoRoom(7);
    }
    let opts = DeleteOptions {
        messages: flags & DEL_MESSAGES != 0,
        subfolders: flags & DEL_FOLDERS != 0,
        hard: flags & DELETE_HARD_DELETE != 0,
    };
    let result = folder(ctx, handles, input).and_then(|parent| {
        store_write(ctx, |c| {
            fw::delete_folder(c, parent.mailbox_id, parent.fid, fid, opts)
        })
    });
    match result {
        Ok(deleted) => partial(rop, input, !deleted),
        Err(ec) => fail(rop, input, ec),
    }
}

/// RopEmptyFolder (MS-OXCFOLD 3.2.5.9, soft) and RopHardDeleteMessagesAndSubfolders
/// (3.2.5.10): the folder's messages and subfolders go; special subfolders stay
/// (PartialCompletion TRUE).
fn empty_folder(
    ctx: &MailboxContext,
    handles: &[u32],
    rop: u8,
    input: u8,
    hard: bool,
    room: usize,
) -> FoldStep {
    if room < 7 {
        return FoldStep::NoRoom(7);
    }
    let result = folder(ctx, handles, input)
        .and_then(|f| store_write(ctx, |c| fw::empty_folder(c, f.mailbox_id, f.fid, hard)));
    match result {
        Ok(kept) => partial(rop, input, kept),
        Err(ec) => fail(rop, input, ec),
    }
}

// ---- RopMoveFolder, RopCopyFolder ----

/// MS-OXCROPS 2.2.4.7.1 RopMoveFolder / 2.2.4.8.1 RopCopyFolder request (after RopId,
/// LogonId).
struct MoveCopy {
    source: u8,
    dest: u8,
    recursive: bool,
    fid: i64,
    new_name: String,
}

impl MoveCopy {
    fn decode(r: &mut ReadCursor<'_>, copy: bool) -> DecodeResult<Self> {
        let source = r.u8("SourceHandleIndex")?;
        let dest = r.u8("DestHandleIndex")?;
        let _asynchronous = r.u8("WantAsynchronous")?;
        let recursive = copy && r.u8("WantRecursive")? != 0;
        let unicode = r.u8("UseUnicode")? != 0;
        let fid = r.u64("FolderId")? as i64;
        let new_name = string(r, unicode, "NewFolderName")?;
        Ok(Self {
            source,
            dest,
            recursive,
            fid,
            new_name,
        })
    }
}

/// RopMoveFolder (MS-OXCFOLD 3.2.5.7) / RopCopyFolder (3.2.5.8): the folder `fid` under the
/// source folder goes (or is copied) under the destination folder, renamed to NewFolderName.
/// Both folders must be in the same store (ecNotSupported otherwise). A copy takes the
/// folder's properties and messages (their `messages`/`props` rows; recipient and attachment
/// rows of other tables are not copied), and its subfolders when WantRecursive.
fn move_copy(
    ctx: &MailboxContext,
    handles: &[u32],
    rop: u8,
    req: &MoveCopy,
    room: usize,
) -> FoldStep {
    if room < 10 {
        return FoldStep::NoRoom(10);
    }
    let dest = match object(ctx, handles, req.dest) {
        Ok(Object::Folder(f)) => f,
        Ok(_) => return fail(rop, req.source, ErrorCode::NO_SUPPORT),
        Err(_) => {
            // MS-OXCROPS 2.2.4.7.2: ecDstNullObject carries the DestHandleIndex (u32).
            let mut w = header(rop, req.source, DST_NULL_OBJECT);
            w.u32(u32::from(req.dest));
            return FoldStep::Reply(w.into_inner());
        }
    };
    let result = folder(ctx, handles, req.source).and_then(|src| {
        if src.mailbox_id != dest.mailbox_id {
            return Err(ErrorCode::NO_SUPPORT);
        }
        let name = Some(req.new_name.as_str());
        store_write(ctx, |c| {
            if rop == id::MOVE_FOLDER {
                fw::move_folder(c, src.mailbox_id, src.fid, req.fid, dest.fid, name)
            } else {
                fw::copy_folder(
                    c,
                    src.mailbox_id,
                    src.fid,
                    req.fid,
                    dest.fid,
                    name,
                    req.recursive,
                )
                .map(|_| ())
            }
        })
    });
    match result {
        Ok(()) => partial(rop, req.source, false),
        Err(ec) => fail(rop, req.source, ec),
    }
}

// ---- RopSetReceiveFolder ----

/// RopSetReceiveFolder (MS-OXCSTOR 3.2.5.3) on a private logon: FolderId 0 removes the
/// class's entry; the classes "IPM" and "REPORT.IPM" cannot be changed (ecAccessDenied);
/// FolderId 0 for the empty (default) class is ecError.
fn set_receive_folder(
    ctx: &MailboxContext,
    handles: &[u32],
    input: u8,
    fid: i64,
    class: &str,
    room: usize,
) -> FoldStep {
    let rop = id::SET_RECEIVE_FOLDER;
    if room < 6 {
        return FoldStep::NoRoom(6);
    }
    let result = (|| {
        let logon = match object(ctx, handles, input)? {
            Object::Logon(l) if l.private => l,
            _ => return Err(ErrorCode::NO_SUPPORT),
        };
        if class.len() > MAX_CLASS_LEN || !class.bytes().all(|b| (0x20..0x7F).contains(&b)) {
            return Err(ErrorCode::INVALID_PARAMETER);
        }
        if class.eq_ignore_ascii_case("IPM") || class.eq_ignore_ascii_case("REPORT.IPM") {
            return Err(ErrorCode::NO_ACCESS);
        }
        if fid == 0 && class.is_empty() {
            return Err(ErrorCode::CALL_FAILED);
        }
        let target = (fid != 0).then_some(fid);
        store_write(ctx, |c| {
            fw::set_receive_folder(c, logon.mailbox_id, class, target)
        })
    })();
    match result {
        Ok(()) => FoldStep::Reply(header(rop, input, ErrorCode::SUCCESS).into_inner()),
        Err(ec) => fail(rop, input, ec),
    }
}

// ---- RopSetProperties on folders ----

/// RopSetProperties (MS-OXCPRPT 3.2.5.3) on a folder: PidTagDisplayName renames (siblings'
/// names collide: ecDuplicateName; special folders keep their names: ecAccessDenied),
/// PidTagContainerClass sets the class, computed properties are read-only (ecAccessDenied),
/// anything else is stored. Failures are PropertyProblems; the ROP itself succeeds.
fn set_properties(
    ctx: &MailboxContext,
    handles: &[u32],
    input: u8,
    values: &[TaggedPropertyValue],
    room: usize,
) -> FoldStep {
    let rop = id::SET_PROPERTIES;
    let size = 6 + 2 + 10 * values.len();
    if room < size {
        return FoldStep::NoRoom(size);
    }
    let f = match folder(ctx, handles, input) {
        Ok(f) => f,
        Err(ec) => return fail(rop, input, ec),
    };
    let mut problems = Vec::new();
    for (i, v) in values.iter().enumerate() {
        if let Err(error) = set_one(ctx, &f, v)
            && let Ok(index) = u16::try_from(i)
        {
            problems.push(PropertyProblem {
                index,
                tag: v.tag,
                error,
            });
        }
    }
    let resp = SetPropertiesResponse {
        input_handle_index: input,
        problems,
    };
    let mut w = WriteCursor::new();
    match resp.encode(&mut w) {
        Ok(()) => FoldStep::Reply(w.into_inner()),
        Err(_) => fail(rop, input, ErrorCode::CALL_FAILED),
    }
}

fn set_one(ctx: &MailboxContext, f: &Folder, v: &TaggedPropertyValue) -> Result<(), ErrorCode> {
    let pid = v.tag.id();
    if read_only(pid) {
        return Err(ErrorCode::NO_ACCESS);
    }
    let text = || {
        v.value
            .as_str()
            .map(|s| s.into_owned())
            .ok_or(ErrorCode::INVALID_TYPE)
    };
    if pid == tags::PidTagDisplayName.id() {
        let name = text()?;
        if name.is_empty() {
            return Err(ErrorCode::INVALID_PARAMETER);
        }
        return store_write(ctx, |c| fw::rename_folder(c, f.mailbox_id, f.fid, &name));
    }
    if pid == tags::PidTagContainerClass.id() {
        let class = text()?;
        let class = (!class.is_empty()).then_some(class.as_str());
        return store_write(ctx, |c| {
            fw::set_container_class(c, f.mailbox_id, f.fid, class)
        });
    }
    let value: PropertyValue = v.value.clone();
    store_write(ctx, |c| {
        fw::put_props(c, f.mailbox_id, KIND_FOLDER, f.fid, &[(v.tag, value)])
    })
}

/// Folder properties the server computes (MS-OXCFOLD 2.2.2.2.1).
fn read_only(pid: u16) -> bool {
    [
        tags::PidTagFolderId,
        tags::PidTagParentFolderId,
        tags::PidTagContentCount,
        tags::PidTagContentUnreadCount,
        tags::PidTagSubfolders,
        PID_TAG_FOLDER_CHILD_COUNT,
        tags::PidTagEntryId,
        tags::PidTagParentEntryId,
        tags::PidTagInstanceKey,
        tags::PidTagObjectType,
        tags::PidTagFolderType,
        tags::PidTagDepth,
    ]
    .iter()
    .any(|t| t.id() == pid)
}

// ---- helpers ----

/// A string of the request: UTF-16LE or 8-bit, NUL-terminated (MS-OXCROPS 2.2.4.2.1).
fn string(r: &mut ReadCursor<'_>, unicode: bool, field: &'static str) -> DecodeResult<String> {
    if unicode {
        r.utf16_z(field)
    } else {
        r.ascii_z(field)
    }
}

fn object(ctx: &MailboxContext, handles: &[u32], index: u8) -> Result<Object, ErrorCode> {
    let h = handles
        .get(usize::from(index))
        .copied()
        .ok_or(ErrorCode::NULL_OBJECT)?;
    let obj = ctx.handles.get(h)?.clone();
    let mailbox_id = match &obj {
        Object::Logon(l) => l.mailbox_id,
        Object::Folder(f) => f.mailbox_id,
        Object::Table(t) => t.mailbox_id,
        Object::Message(m) => m.mailbox_id,
        // Attachments and streams are never the input of these ROPs.
        _ => return Err(ErrorCode::NO_SUPPORT),
    };
    // The store must still be logged on.
    ctx.store_info(mailbox_id)?;
    Ok(obj)
}

/// The folder behind an input handle; other objects are ecNotSupported.
fn folder(ctx: &MailboxContext, handles: &[u32], index: u8) -> Result<Folder, ErrorCode> {
    match object(ctx, handles, index)? {
        Object::Folder(f) => Ok(f),
        _ => Err(ErrorCode::NO_SUPPORT),
    }
}

/// Runs a store write; store refusals become their ROP error codes.
fn store_write<T>(
    ctx: &MailboxContext,
    f: impl FnOnce(&Connection) -> WriteResult<T>,
) -> Result<T, ErrorCode> {
    match ctx.store.with_conn(|c| Ok(f(c))) {
        Ok(r) => r.map_err(map_error),
        Err(e) => {
            tracing::warn!(error = %e, "folder write: store unavailable");
            Err(ErrorCode::CALL_FAILED)
        }
    }
}

fn map_error(e: FolderWriteError) -> ErrorCode {
    match e {
        FolderWriteError::NotFound => ErrorCode::NOT_FOUND,
        FolderWriteError::Collision { .. } => ErrorCode::COLLISION,
        FolderWriteError::Special => ErrorCode::NO_ACCESS,
        FolderWriteError::Cycle => ErrorCode::FOLDER_CYCLE,
        FolderWriteError::Sql(_) | FolderWriteError::Encode(_) => {
            tracing::warn!(error = %e, "folder write failed");
            ErrorCode::CALL_FAILED
        }
    }
}

/// Response header: RopId, handle index, ReturnValue.
fn header(rop: u8, index: u8, ec: ErrorCode) -> WriteCursor {
    let mut w = WriteCursor::new();
    w.u8(rop);
    w.u8(index);
    w.u32(ec.0);
    w
}

fn fail(rop: u8, index: u8, ec: ErrorCode) -> FoldStep {
    FoldStep::Reply(header(rop, index, ec).into_inner())
}

/// A success response with PartialCompletion.
fn partial(rop: u8, index: u8, partial: bool) -> FoldStep {
    let mut w = header(rop, index, ErrorCode::SUCCESS);
    w.u8(u8::from(partial));
    FoldStep::Reply(w.into_inner())
}
