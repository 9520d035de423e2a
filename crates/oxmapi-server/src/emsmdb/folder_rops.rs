//! Folder write ROPs: RopCreateFolder, RopDeleteFolder, RopEmptyFolder,
//! RopHardDeleteMessagesAndSubfolders, RopMoveFolder, RopCopyFolder (MS-OXCFOLD 3.2.5),
//! RopSetProperties on folders (MS-OXCPRPT 3.2.5.3), RopSetReceiveFolder and the configured
//! part of RopGetReceiveFolder (MS-OXCSTOR 3.2.5.2, 3.2.5.3).
//!
//! Requests are decoded and responses encoded with `oxmapi_wire::rop` (MS-OXCROPS 2.2.4,
//! 2.2.3, 2.2.8); the whole request is decoded before anything changes, and the response's
//! room is checked before the store is written, so a RopBufferTooSmall never follows a side
//! effect. Store work is in [`crate::store::folders_write`], one savepoint per ROP.

use oxmapi_wire::data::{
    ErrorCode, FolderId, PropertyProblem, PropertyTag, PropertyValue, TaggedPropertyValue, tags,
};
use oxmapi_wire::rop::{
    CopyFolderRequest, CopyFolderResponse, CreateFolderRequest, CreateFolderResponse,
    DeleteFolderRequest, DeleteFolderResponse, EmptyFolderRequest, EmptyFolderResponse,
    ExistingFolder, GetReceiveFolderResponse, HardDeleteMessagesAndSubfoldersRequest,
    HardDeleteMessagesAndSubfoldersResponse, MoveFolderRequest, MoveFolderResponse,
    NullDestinationFailureResponse, RopId, SetPropertiesRequest, SetPropertiesResponse,
    SetReceiveFolderRequest, SetReceiveFolderResponse, delete_folder_flags, folder_type,
};
use oxmapi_wire::{Decode, DecodeResult, Encode, ReadCursor};
use rusqlite::Connection;

use super::MailboxContext;
use super::objects::{Folder, Object};
use crate::store::folders_write::{
    self as fw, DeleteOptions, FolderWriteError, KIND_FOLDER, NewFolder, WriteResult,
};
use crate::store::usage;

/// What a folder ROP produced (mirrors the dispatcher's own step type).
pub(super) enum FoldStep {
    /// A response (success or failure) to append.
    Reply(Vec<u8>),
    /// The response would not fit in `room`; nothing was changed.
    NoRoom(usize),
}

/// PartialCompletion response size (MS-OXCROPS 2.2.4.3.2): header + PartialCompletion.
const PARTIAL_SIZE: usize = 7;
/// Null Destination Failure Response size (MS-OXCROPS 2.2.4.7.3): header + DestHandleIndex
/// (u32) + PartialCompletion.
const NULL_DESTINATION_SIZE: usize = 11;
/// PidTagFolderChildCount (MS-OXPROPS 2.696), computed.
const PID_TAG_FOLDER_CHILD_COUNT: PropertyTag = PropertyTag(0x6638_0003);
/// Longest message class accepted (MS-OXCSTOR 2.2.1.2.1: 255 characters).
const MAX_CLASS_LEN: usize = 255;

/// Whether the ROP is handled here.
pub(super) fn handles_rop(rop: RopId) -> bool {
    matches!(
        rop,
        RopId::SET_PROPERTIES
            | RopId::CREATE_FOLDER
            | RopId::DELETE_FOLDER
            | RopId::SET_RECEIVE_FOLDER
            | RopId::MOVE_FOLDER
            | RopId::COPY_FOLDER
            | RopId::EMPTY_FOLDER
            | RopId::HARD_DELETE_MESSAGES_AND_SUBFOLDERS
    )
}

/// Decodes and runs one ROP of [`handles_rop`]; `r` is at its RopId. A decode error is a
/// malformed buffer.
pub(super) fn run(
    ctx: &mut MailboxContext,
    rop: RopId,
    r: &mut ReadCursor<'_>,
    handles: &mut [u32],
    room: usize,
) -> DecodeResult<FoldStep> {
    Ok(match rop {
        RopId::CREATE_FOLDER => create_folder(ctx, handles, &CreateFolderRequest::decode(r)?, room),
        RopId::DELETE_FOLDER => delete_folder(ctx, handles, &DeleteFolderRequest::decode(r)?, room),
        // FAI messages are not stored separately: WantDeleteAssociated changes nothing.
        RopId::EMPTY_FOLDER => {
            let input = EmptyFolderRequest::decode(r)?.input_handle_index;
            empty_folder(ctx, handles, input, false, room)
        }
        RopId::HARD_DELETE_MESSAGES_AND_SUBFOLDERS => {
            let input = HardDeleteMessagesAndSubfoldersRequest::decode(r)?.input_handle_index;
            empty_folder(ctx, handles, input, true, room)
        }
        RopId::MOVE_FOLDER => {
            let q = MoveFolderRequest::decode(r)?;
            let req = MoveCopy {
                source: q.source_handle_index,
                dest: q.dest_handle_index,
                recursive: false,
                fid: q.folder_id.0 as i64,
                new_name: q.new_folder_name,
            };
            move_copy(ctx, handles, rop, &req, room)
        }
        RopId::COPY_FOLDER => {
            let q = CopyFolderRequest::decode(r)?;
            let req = MoveCopy {
                source: q.source_handle_index,
                dest: q.dest_handle_index,
                recursive: q.want_recursive != 0,
                fid: q.folder_id.0 as i64,
                new_name: q.new_folder_name,
            };
            move_copy(ctx, handles, rop, &req, room)
        }
        RopId::SET_RECEIVE_FOLDER => {
            set_receive_folder(ctx, handles, &SetReceiveFolderRequest::decode(r)?, room)
        }
        // RopSetProperties, the last of `handles_rop`; any other RopId fails to decode as
        // one (a malformed buffer), so the cursor never stays in place.
        _ => {
            let q = SetPropertiesRequest::decode(r)?;
            set_properties(ctx, handles, q.input_handle_index, &q.values, room)
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
    let resp = GetReceiveFolderResponse {
        input_handle_index: input,
        folder_id: FolderId(fid as u64),
        explicit_message_class: configured,
    };
    super::rops::encode(&resp).ok()
}

// ---- RopCreateFolder ----

/// RopCreateFolder (MS-OXCFOLD 3.2.5.2): a generic folder under the input folder. A sibling
/// with the same name is ecDuplicateName unless OpenExisting, which opens it instead.
/// Response (MS-OXCROPS 2.2.4.2.2): FolderId, IsExistingFolder, and for an existing folder
/// HasRules and IsGhosted.
fn create_folder(
    ctx: &mut MailboxContext,
    handles: &mut [u32],
    req: &CreateFolderRequest,
    room: usize,
) -> FoldStep {
    const SIZE: usize = 6 + 8 + 1 + 2;
    let (rop, out) = (RopId::CREATE_FOLDER, req.output_handle_index);
    let result = (|| {
        let parent = folder(ctx, handles, req.input_handle_index)?;
        if usize::from(out) >= handles.len() || req.display_name.is_empty() {
            return Err(ErrorCode::INVALID_PARAMETER);
        }
        ctx.handles.room_for(false)?;
        match req.folder_type {
            folder_type::GENERIC => {}
            folder_type::SEARCH => return Err(ErrorCode::NO_SUPPORT),
            _ => return Err(ErrorCode::INVALID_PARAMETER),
        }
        if room < SIZE {
            return Ok(None);
        }
        let spec = NewFolder {
            name: &req.display_name,
            comment: Some(req.comment.as_str()),
            container_class: None,
        };
        let created = store_write(ctx, |c| {
            Ok(fw::create_folder(c, parent.mailbox_id, parent.fid, &spec))
        })?;
        let (fid, existing) = match created {
            Ok(fid) => (fid, false),
            Err(FolderWriteError::Collision { existing }) if req.open_existing != 0 => {
                (existing, true)
            }
            Err(e) => return Err(map_error(e)),
        };
        Ok(Some((parent, fid, existing)))
    })();
    match result {
        Err(ec) => fail(rop, out, ec),
        Ok(None) => FoldStep::NoRoom(SIZE),
        Ok(Some((parent, fid, existing))) => {
            let folder = Object::Folder(Folder {
                mailbox_id: parent.mailbox_id,
                private: parent.private,
                fid,
            });
            match ctx.handles.insert(folder) {
                Ok(h) => handles[usize::from(out)] = h,
                Err(ec) => return fail(rop, out, ec),
            }
            let resp = CreateFolderResponse {
                output_handle_index: out,
                folder_id: FolderId(fid as u64),
                existing: existing.then_some(ExistingFolder {
                    has_rules: 0,
                    ghost: None,
                }),
            };
            reply(rop, out, &resp)
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
    req: &DeleteFolderRequest,
    room: usize,
) -> FoldStep {
    let (rop, input) = (RopId::DELETE_FOLDER, req.input_handle_index);
    if room < PARTIAL_SIZE {
        return FoldStep::NoRoom(PARTIAL_SIZE);
    }
    let flags = req.delete_folder_flags;
    let opts = DeleteOptions {
        messages: flags & delete_folder_flags::DEL_MESSAGES != 0,
        subfolders: flags & delete_folder_flags::DEL_FOLDERS != 0,
        hard: flags & delete_folder_flags::DELETE_HARD_DELETE != 0,
    };
    let fid = req.folder_id.0 as i64;
    let result = folder(ctx, handles, input).and_then(|parent| {
        store_write(ctx, |c| {
            fw::delete_folder(c, parent.mailbox_id, parent.fid, fid, opts)
        })
    });
    let (return_value, partial_completion) = outcome(result.map(|deleted| !deleted));
    let resp = DeleteFolderResponse {
        input_handle_index: input,
        return_value,
        partial_completion,
    };
    reply(rop, input, &resp)
}

/// RopEmptyFolder (MS-OXCFOLD 3.2.5.9, soft) and RopHardDeleteMessagesAndSubfolders
/// (3.2.5.10): the folder's messages and subfolders go; special subfolders stay
/// (PartialCompletion TRUE).
fn empty_folder(
    ctx: &MailboxContext,
    handles: &[u32],
    input: u8,
    hard: bool,
    room: usize,
) -> FoldStep {
    if room < PARTIAL_SIZE {
        return FoldStep::NoRoom(PARTIAL_SIZE);
    }
    let result = folder(ctx, handles, input)
        .and_then(|f| store_write(ctx, |c| fw::empty_folder(c, f.mailbox_id, f.fid, hard)));
    let (return_value, partial_completion) = outcome(result);
    if hard {
        let resp = HardDeleteMessagesAndSubfoldersResponse {
            input_handle_index: input,
            return_value,
            partial_completion,
        };
        reply(RopId::HARD_DELETE_MESSAGES_AND_SUBFOLDERS, input, &resp)
    } else {
        let resp = EmptyFolderResponse {
            input_handle_index: input,
            return_value,
            partial_completion,
        };
        reply(RopId::EMPTY_FOLDER, input, &resp)
    }
}

// ---- RopMoveFolder, RopCopyFolder ----

/// What RopMoveFolder and RopCopyFolder ask for (MS-OXCROPS 2.2.4.7.1, 2.2.4.8.1).
struct MoveCopy {
    source: u8,
    dest: u8,
    recursive: bool,
    fid: i64,
    new_name: String,
}

/// RopMoveFolder (MS-OXCFOLD 3.2.5.7) / RopCopyFolder (3.2.5.8): the folder `fid` under the
/// source folder goes (or is copied) under the destination folder, renamed to NewFolderName.
/// Both folders must be in the same store (ecNotSupported otherwise). A copy takes the
/// folder's properties and messages (their `messages`/`props` rows; recipient and attachment
/// rows of other tables are not copied), and its subfolders when WantRecursive. A copy that
/// would take the mailbox past [`crate::Limits::mailbox_quota`] fails with ecQuotaExceeded
/// (MS-OXCDATA 2.4.2) and copies nothing (PartialCompletion stays zero); a move stores
/// nothing new and is never refused.
fn move_copy(
    ctx: &MailboxContext,
    handles: &[u32],
    rop: RopId,
    req: &MoveCopy,
    room: usize,
) -> FoldStep {
    if room < NULL_DESTINATION_SIZE {
        return FoldStep::NoRoom(NULL_DESTINATION_SIZE);
    }
    let dest = match object(ctx, handles, req.dest) {
        Ok(Object::Folder(f)) => Ok(f),
        Ok(_) => Err(ErrorCode::NO_SUPPORT),
        Err(_) => {
            // MS-OXCROPS 2.2.4.7.3 / 2.2.4.8.3: ecDstNullObject carries the DestHandleIndex.
            let resp = NullDestinationFailureResponse {
                rop_id: rop,
                source_handle_index: req.source,
                dest_handle_index: u32::from(req.dest),
                partial_completion: 0,
            };
            return reply(rop, req.source, &resp);
        }
    };
    let result = dest.and_then(|dest| {
        let src = folder(ctx, handles, req.source)?;
        if src.mailbox_id != dest.mailbox_id {
            return Err(ErrorCode::NO_SUPPORT);
        }
        let name = Some(req.new_name.as_str());
        let quota = ctx.limits.mailbox_quota;
        store_write(ctx, |c| {
            if rop == RopId::MOVE_FOLDER {
                fw::move_folder(c, src.mailbox_id, src.fid, req.fid, dest.fid, name).map(Ok)
            } else {
                usage::within_quota(c, src.mailbox_id, quota, |c| {
                    fw::copy_folder(
                        c,
                        src.mailbox_id,
                        src.fid,
                        req.fid,
                        dest.fid,
                        name,
                        req.recursive,
                    )
                })
                .map(|r| r.map(|_| ()))
            }
        })?
        .map_err(|over| {
            tracing::info!(
                user = %ctx.user.alias,
                mailbox_id = over.mailbox_id,
                used = over.used,
                would_hold = over.would_hold,
                quota = over.quota,
                "mailbox quota reached: folder not copied"
            );
            super::EC_QUOTA_EXCEEDED
        })
    });
    let (return_value, partial_completion) = outcome(result.map(|()| false));
    if rop == RopId::MOVE_FOLDER {
        let resp = MoveFolderResponse {
            source_handle_index: req.source,
            return_value,
            partial_completion,
        };
        reply(rop, req.source, &resp)
    } else {
        let resp = CopyFolderResponse {
            source_handle_index: req.source,
            return_value,
            partial_completion,
        };
        reply(rop, req.source, &resp)
    }
}

// ---- RopSetReceiveFolder ----

/// RopSetReceiveFolder (MS-OXCSTOR 3.2.5.3) on a private logon: FolderId 0 removes the
/// class's entry; the classes "IPM" and "REPORT.IPM" cannot be changed (ecAccessDenied);
/// FolderId 0 for the empty (default) class is ecError.
fn set_receive_folder(
    ctx: &MailboxContext,
    handles: &[u32],
    req: &SetReceiveFolderRequest,
    room: usize,
) -> FoldStep {
    let (rop, input) = (RopId::SET_RECEIVE_FOLDER, req.input_handle_index);
    if room < 6 {
        return FoldStep::NoRoom(6);
    }
    let (fid, class) = (req.folder_id.0 as i64, req.message_class.as_str());
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
        Ok(()) => {
            let resp = SetReceiveFolderResponse {
                input_handle_index: input,
            };
            reply(rop, input, &resp)
        }
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
    let rop = RopId::SET_PROPERTIES;
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
    reply(rop, input, &resp)
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

/// The generic failure response.
fn fail(rop: RopId, index: u8, ec: ErrorCode) -> FoldStep {
    FoldStep::Reply(super::rops::error_bytes(rop, index, ec))
}

/// A response, or ecError when it cannot be encoded.
fn reply(rop: RopId, index: u8, resp: &impl Encode) -> FoldStep {
    match super::rops::encode(resp) {
        Ok(b) => FoldStep::Reply(b),
        Err(e) => {
            tracing::warn!(error = %e, ?rop, "encoding a folder response failed");
            fail(rop, index, ErrorCode::CALL_FAILED)
        }
    }
}

/// ReturnValue and PartialCompletion of a ROP whose single response buffer carries both
/// (MS-OXCROPS 2.2.4.3.2, 2.2.4.7.2, 2.2.4.8.2, 2.2.4.9.2, 2.2.4.10.2); a failure reports
/// PartialCompletion FALSE.
fn outcome(result: Result<bool, ErrorCode>) -> (ErrorCode, u8) {
    match result {
        Ok(partial) => (ErrorCode::SUCCESS, u8::from(partial)),
        Err(ec) => (ec, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxmapi_wire::rop::{ResponseContext, RopResponse};

    fn bytes(step: FoldStep) -> Vec<u8> {
        match step {
            FoldStep::Reply(b) => b,
            FoldStep::NoRoom(n) => panic!("no room: {n}"),
        }
    }

    /// The responses this module sends for failures decode with the wire crate as the
    /// spec's single response buffers: PartialCompletion follows any ReturnValue
    /// (MS-OXCROPS 2.2.4.3.2) and ecDstNullObject carries DestHandleIndex and
    /// PartialCompletion (2.2.4.7.3).
    #[test]
    fn failure_responses_decode_with_the_wire_crate() {
        let (return_value, partial_completion) = outcome(Err(ErrorCode::NOT_FOUND));
        let resp = DeleteFolderResponse {
            input_handle_index: 1,
            return_value,
            partial_completion,
        };
        let b = bytes(reply(RopId::DELETE_FOLDER, 1, &resp));
        assert_eq!(b, [0x1D, 1, 0x0F, 0x01, 0x04, 0x80, 0]);
        let mut r = ReadCursor::new(&b);
        let ctx = ResponseContext::Plain(RopId::DELETE_FOLDER);
        let got = RopResponse::decode(&mut r, &ctx).expect("decodes");
        assert!(r.is_empty());
        assert_eq!(got, RopResponse::DeleteFolder(resp));

        let null = NullDestinationFailureResponse {
            rop_id: RopId::MOVE_FOLDER,
            source_handle_index: 1,
            dest_handle_index: 3,
            partial_completion: 0,
        };
        let b = bytes(reply(RopId::MOVE_FOLDER, 1, &null));
        assert_eq!(b.len(), NULL_DESTINATION_SIZE);
        let mut r = ReadCursor::new(&b);
        let ctx = ResponseContext::Plain(RopId::MOVE_FOLDER);
        let got = RopResponse::decode(&mut r, &ctx).expect("decodes");
        assert!(r.is_empty());
        assert_eq!(got, RopResponse::NullDestination(null));
    }

    #[test]
    fn outcome_reports_partial_only_on_success() {
        assert_eq!(outcome(Ok(true)), (ErrorCode::SUCCESS, 1));
        assert_eq!(outcome(Ok(false)), (ErrorCode::SUCCESS, 0));
        assert_eq!(
            outcome(Err(ErrorCode::NO_ACCESS)),
            (ErrorCode::NO_ACCESS, 0)
        );
    }
}
