//! ROPs on folder objects: RopOpenFolder (MS-OXCFOLD 3.2.5.1), RopCreateFolder,
//! RopDeleteFolder, RopEmptyFolder, RopHardDeleteMessagesAndSubfolders, RopMoveFolder,
//! RopCopyFolder (MS-OXCFOLD 3.2.5), and RopGetPropertiesSpecific / RopGetPropertiesAll /
//! RopSetProperties on folders (MS-OXCPRPT 3.2.5.1 - 3.2.5.3).
//!
//! Requests are decoded by the dispatcher (MS-OXCROPS 2.2.4, 2.2.8), responses encoded with
//! `oxmapi_wire::rop`; the response's room is checked before the store is written, so a
//! RopBufferTooSmall never follows a side effect. Store work is in
//! [`crate::store::folders_write`], one savepoint per ROP.

use oxmapi_wire::data::{
    ErrorCode, FolderId, PropertyProblem, PropertyTag, PropertyValue, TaggedPropertyValue, tags,
};
use oxmapi_wire::rop::{
    CopyFolderRequest, CopyFolderResponse, CreateFolderRequest, CreateFolderResponse,
    DeleteFolderRequest, DeleteFolderResponse, EmptyFolderRequest, EmptyFolderResponse,
    ExistingFolder, GetPropertiesAllRequest, GetPropertiesSpecificRequest,
    HardDeleteMessagesAndSubfoldersRequest, HardDeleteMessagesAndSubfoldersResponse,
    MoveFolderRequest, MoveFolderResponse, NullDestinationFailureResponse, OpenFolderRequest,
    OpenFolderResponse, RopId, SetPropertiesRequest, SetPropertiesResponse, delete_folder_flags,
    folder_type,
};

use super::context::{EC_QUOTA_EXCEEDED, MailboxContext, folder_write_error};
use super::objects::{Folder, Object};
use super::props::{self, PropList};
use super::step::{Step, encode, fail, reply, slot};
use super::storeops;
use crate::store::folders_write::{
    self as fw, DeleteOptions, FolderWriteError, KIND_FOLDER, NewFolder,
};
use crate::store::usage;

/// PartialCompletion response size (MS-OXCROPS 2.2.4.3.2): header + PartialCompletion.
const PARTIAL_SIZE: usize = 7;
/// Null Destination Failure Response size (MS-OXCROPS 2.2.4.7.3): header + DestHandleIndex
/// (u32) + PartialCompletion.
const NULL_DESTINATION_SIZE: usize = 11;
/// PidTagFolderChildCount (MS-OXPROPS 2.696), computed.
const PID_TAG_FOLDER_CHILD_COUNT: PropertyTag = PropertyTag(0x6638_0003);

// ---- RopOpenFolder ----

/// RopOpenFolder (MS-OXCFOLD 3.2.5.1) on a logon or folder: unknown FID ⇒ ecNotFound.
pub(super) fn open_folder(
    ctx: &mut MailboxContext,
    handles: &mut [u32],
    q: &OpenFolderRequest,
    room: usize,
) -> Step {
    let (rop, out) = (RopId::OPEN_FOLDER, q.output_handle_index);
    let fid = q.folder_id.0 as i64;
    let result = (|| {
        let (obj, info) = ctx.object_store(handles, q.input_handle_index)?;
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
        Err(ec) => return fail(rop, out, ec),
        Ok(f) => f,
    };
    let resp = OpenFolderResponse {
        output_handle_index: out,
        has_rules: 0,
        ghost: None,
    };
    let resp = match encode(&resp) {
        Ok(b) => b,
        Err(_) => return fail(rop, out, ErrorCode::CALL_FAILED),
    };
    if resp.len() > room {
        return Step::NoRoom(resp.len());
    }
    match ctx.handles.insert(Object::Folder(folder)) {
        Ok(h) => handles[usize::from(out)] = h,
        Err(ec) => return fail(rop, out, ec),
    }
    Step::Reply(resp)
}

// ---- RopGetPropertiesSpecific, RopGetPropertiesAll on folders ----

/// A folder's properties (MS-OXCFOLD 2.2.2.2) behind a Folder input handle.
fn folder_props(ctx: &MailboxContext, handles: &[u32], input: u8) -> Result<PropList, ErrorCode> {
    let (obj, info) = ctx.object_store(handles, input)?;
    let Object::Folder(f) = obj else {
        return Err(ErrorCode::NO_SUPPORT);
    };
    ctx.with_conn(|c| match storeops::folder(c, f.mailbox_id, f.fid)? {
        Some(row) => info.folder_props(c, &row, None),
        None => Ok(Vec::new()),
    })
}

/// RopGetPropertiesSpecific (MS-OXCPRPT 3.2.5.1) on a folder.
pub(super) fn get_properties_specific(
    ctx: &MailboxContext,
    handles: &[u32],
    q: &GetPropertiesSpecificRequest,
) -> Step {
    props::specific_reply(q, folder_props(ctx, handles, q.input_handle_index))
}

/// RopGetPropertiesAll (MS-OXCPRPT 3.2.5.2) on a folder.
pub(super) fn get_properties_all(
    ctx: &MailboxContext,
    handles: &[u32],
    q: &GetPropertiesAllRequest,
) -> Step {
    props::all_reply(q, folder_props(ctx, handles, q.input_handle_index))
}

// ---- RopCreateFolder ----

/// RopCreateFolder (MS-OXCFOLD 3.2.5.2): a generic folder under the input folder. A sibling
/// with the same name is ecDuplicateName unless OpenExisting, which opens it instead.
/// Response (MS-OXCROPS 2.2.4.2.2): FolderId, IsExistingFolder, and for an existing folder
/// HasRules and IsGhosted.
pub(super) fn create_folder(
    ctx: &mut MailboxContext,
    handles: &mut [u32],
    req: &CreateFolderRequest,
    room: usize,
) -> Step {
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
        let created =
            ctx.folder_write(|c| Ok(fw::create_folder(c, parent.mailbox_id, parent.fid, &spec)))?;
        let (fid, existing) = match created {
            Ok(fid) => (fid, false),
            Err(FolderWriteError::Collision { existing }) if req.open_existing != 0 => {
                (existing, true)
            }
            Err(e) => return Err(folder_write_error(e)),
        };
        Ok(Some((parent, fid, existing)))
    })();
    match result {
        Err(ec) => fail(rop, out, ec),
        Ok(None) => Step::NoRoom(SIZE),
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
pub(super) fn delete_folder(
    ctx: &MailboxContext,
    handles: &[u32],
    req: &DeleteFolderRequest,
    room: usize,
) -> Step {
    let (rop, input) = (RopId::DELETE_FOLDER, req.input_handle_index);
    if room < PARTIAL_SIZE {
        return Step::NoRoom(PARTIAL_SIZE);
    }
    let flags = req.delete_folder_flags;
    let opts = DeleteOptions {
        messages: flags & delete_folder_flags::DEL_MESSAGES != 0,
        subfolders: flags & delete_folder_flags::DEL_FOLDERS != 0,
        hard: flags & delete_folder_flags::DELETE_HARD_DELETE != 0,
    };
    let fid = req.folder_id.0 as i64;
    let result = folder(ctx, handles, input).and_then(|parent| {
        ctx.folder_write(|c| fw::delete_folder(c, parent.mailbox_id, parent.fid, fid, opts))
    });
    let (return_value, partial_completion) = outcome(result.map(|deleted| !deleted));
    let resp = DeleteFolderResponse {
        input_handle_index: input,
        return_value,
        partial_completion,
    };
    reply(rop, input, &resp)
}

/// RopEmptyFolder (MS-OXCFOLD 3.2.5.9, soft). FAI messages are not stored separately:
/// WantDeleteAssociated changes nothing.
pub(super) fn empty(
    ctx: &MailboxContext,
    handles: &[u32],
    q: &EmptyFolderRequest,
    room: usize,
) -> Step {
    empty_folder(ctx, handles, q.input_handle_index, false, room)
}

/// RopHardDeleteMessagesAndSubfolders (MS-OXCFOLD 3.2.5.10).
pub(super) fn hard_delete_contents(
    ctx: &MailboxContext,
    handles: &[u32],
    q: &HardDeleteMessagesAndSubfoldersRequest,
    room: usize,
) -> Step {
    empty_folder(ctx, handles, q.input_handle_index, true, room)
}

/// RopEmptyFolder (MS-OXCFOLD 3.2.5.9, soft) and RopHardDeleteMessagesAndSubfolders
/// (3.2.5.10): the folder's messages and subfolders go; special subfolders stay
/// (PartialCompletion TRUE).
fn empty_folder(ctx: &MailboxContext, handles: &[u32], input: u8, hard: bool, room: usize) -> Step {
    if room < PARTIAL_SIZE {
        return Step::NoRoom(PARTIAL_SIZE);
    }
    let result = folder(ctx, handles, input)
        .and_then(|f| ctx.folder_write(|c| fw::empty_folder(c, f.mailbox_id, f.fid, hard)));
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

/// RopMoveFolder (MS-OXCFOLD 3.2.5.7): see [`move_copy`].
pub(super) fn move_folder(
    ctx: &MailboxContext,
    handles: &[u32],
    q: &MoveFolderRequest,
    room: usize,
) -> Step {
    let req = MoveCopy {
        source: q.source_handle_index,
        dest: q.dest_handle_index,
        recursive: false,
        fid: q.folder_id.0 as i64,
        new_name: q.new_folder_name.clone(),
    };
    move_copy(ctx, handles, RopId::MOVE_FOLDER, &req, room)
}

/// RopCopyFolder (MS-OXCFOLD 3.2.5.8): see [`move_copy`].
pub(super) fn copy_folder(
    ctx: &MailboxContext,
    handles: &[u32],
    q: &CopyFolderRequest,
    room: usize,
) -> Step {
    let req = MoveCopy {
        source: q.source_handle_index,
        dest: q.dest_handle_index,
        recursive: q.want_recursive != 0,
        fid: q.folder_id.0 as i64,
        new_name: q.new_folder_name.clone(),
    };
    move_copy(ctx, handles, RopId::COPY_FOLDER, &req, room)
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
) -> Step {
    if room < NULL_DESTINATION_SIZE {
        return Step::NoRoom(NULL_DESTINATION_SIZE);
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
        ctx.folder_write(|c| {
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
            EC_QUOTA_EXCEEDED
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

// ---- RopSetProperties on folders ----

/// RopSetProperties (MS-OXCPRPT 3.2.5.3) on a folder: PidTagDisplayName renames (siblings'
/// names collide: ecDuplicateName; special folders keep their names: ecAccessDenied),
/// PidTagContainerClass sets the class, computed properties are read-only (ecAccessDenied),
/// anything else is stored. Failures are PropertyProblems; the ROP itself succeeds.
pub(super) fn set_properties(
    ctx: &MailboxContext,
    handles: &[u32],
    q: &SetPropertiesRequest,
    room: usize,
) -> Step {
    let (rop, input, values) = (RopId::SET_PROPERTIES, q.input_handle_index, &q.values);
    let size = 6 + 2 + 10 * values.len();
    if room < size {
        return Step::NoRoom(size);
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
        return ctx.folder_write(|c| fw::rename_folder(c, f.mailbox_id, f.fid, &name));
    }
    if pid == tags::PidTagContainerClass.id() {
        let class = text()?;
        let class = (!class.is_empty()).then_some(class.as_str());
        return ctx.folder_write(|c| fw::set_container_class(c, f.mailbox_id, f.fid, class));
    }
    let value: PropertyValue = v.value.clone();
    ctx.folder_write(|c| fw::put_props(c, f.mailbox_id, KIND_FOLDER, f.fid, &[(v.tag, value)]))
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

/// The object behind an input handle, its store logged on. Attachments and streams are never
/// the input of these ROPs: ecNotSupported (a move or copy to one is a null destination).
fn object(ctx: &MailboxContext, handles: &[u32], index: u8) -> Result<Object, ErrorCode> {
    let obj = ctx.handles.get(slot(handles, index)?)?;
    if matches!(obj, Object::Attachment(_) | Object::Stream(_)) {
        return Err(ErrorCode::NO_SUPPORT);
    }
    ctx.store_info(obj.mailbox_id())?;
    Ok(obj.clone())
}

/// The folder behind an input handle; other objects are ecNotSupported.
fn folder(ctx: &MailboxContext, handles: &[u32], index: u8) -> Result<Folder, ErrorCode> {
    match object(ctx, handles, index)? {
        Object::Folder(f) => Ok(f),
        _ => Err(ErrorCode::NO_SUPPORT),
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
    use oxmapi_wire::ReadCursor;
    use oxmapi_wire::rop::{ResponseContext, RopResponse};

    fn bytes(step: Step) -> Vec<u8> {
        match step {
            Step::Reply(b) => b,
            other => panic!("not a reply: {other:?}"),
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
