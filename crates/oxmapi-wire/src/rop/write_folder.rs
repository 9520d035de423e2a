//! Write-side folder ROPs (MS-OXCROPS 2.2.4, semantics in MS-OXCFOLD 2.2.1) and
//! RopSetReceiveFolder (MS-OXCROPS 2.2.3.3, MS-OXCSTOR 2.2.1.3).
//!
//! RopDeleteFolder, RopDeleteMessages, RopHardDeleteMessages, RopEmptyFolder,
//! RopHardDeleteMessagesAndSubfolders, RopMoveCopyMessages, RopMoveFolder and RopCopyFolder
//! have a single response buffer whose PartialCompletion follows any ReturnValue, so their
//! responses carry `return_value`; the three move/copy ROPs answer ecDstNullObject (0x503)
//! with [`NullDestinationFailureResponse`] instead.

use crate::cursor::{Decode, Encode, ReadCursor, WriteCursor, count_u16};
use crate::data::{ErrorCode, FolderId, MessageId};
use crate::error::{DecodeContext, DecodeError, DecodeResult, EncodeError, EncodeResult};
use crate::rop::folder::{GhostInfo, OpenFolderResponse};
use crate::rop::wire::{
    RopId, expect_rop_id, rop_request, rop_response, write_latin1_z, write_response_header,
};
use crate::rop::write_util::{
    partial_completion_response, read_flagged_string, read_message_ids, write_flagged_string,
    write_message_ids,
};

/// FolderType of RopCreateFolder (MS-OXCFOLD 2.2.1.2.1).
pub mod folder_type {
    /// A generic folder.
    pub const GENERIC: u8 = 0x01;
    /// A search folder.
    pub const SEARCH: u8 = 0x02;
}

/// DeleteFolderFlags of RopDeleteFolder (MS-OXCFOLD 2.2.1.3.1).
pub mod delete_folder_flags {
    /// DEL_MESSAGES: delete the folder's messages too.
    pub const DEL_MESSAGES: u8 = 0x01;
    /// DEL_FOLDERS: delete the folder's subfolders too.
    pub const DEL_FOLDERS: u8 = 0x04;
    /// DELETE_HARD_DELETE: hard delete (not recoverable).
    pub const DELETE_HARD_DELETE: u8 = 0x10;
}

/// MS-OXCROPS 2.2.4.2.1 RopCreateFolder request.
///
/// DisplayName and Comment are UTF-16LE when `use_unicode_strings` is nonzero, else 8-bit.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CreateFolderRequest {
    /// LogonId.
    pub logon_id: u8,
    /// InputHandleIndex: the parent folder.
    pub input_handle_index: u8,
    /// OutputHandleIndex: where the new folder's handle goes.
    pub output_handle_index: u8,
    /// FolderType, see [`folder_type`].
    pub folder_type: u8,
    /// UseUnicodeStrings (boolean byte): the string encoding.
    pub use_unicode_strings: u8,
    /// OpenExisting (boolean byte): open a folder of that name instead of failing.
    pub open_existing: u8,
    /// Reserved (0).
    pub reserved: u8,
    /// DisplayName of the folder.
    pub display_name: String,
    /// Comment of the folder.
    pub comment: String,
}

impl CreateFolderRequest {
    /// This ROP's RopId.
    pub const ROP_ID: RopId = RopId::CREATE_FOLDER;
}

impl Decode for CreateFolderRequest {
    fn decode(r: &mut ReadCursor<'_>) -> DecodeResult<Self> {
        (|| {
            expect_rop_id(r, Self::ROP_ID)?;
            let logon_id = r.u8("LogonId")?;
            let input_handle_index = r.u8("InputHandleIndex")?;
            let output_handle_index = r.u8("OutputHandleIndex")?;
            let folder_type = r.u8("FolderType")?;
            let use_unicode_strings = r.u8("UseUnicodeStrings")?;
            let open_existing = r.u8("OpenExisting")?;
            let reserved = r.u8("Reserved")?;
            let display_name = read_flagged_string(r, use_unicode_strings, "DisplayName")?;
            let comment = read_flagged_string(r, use_unicode_strings, "Comment")?;
            Ok(Self {
                logon_id,
                input_handle_index,
                output_handle_index,
                folder_type,
                use_unicode_strings,
                open_existing,
                reserved,
                display_name,
                comment,
            })
        })()
        .within("RopCreateFolder request")
    }
}

impl Encode for CreateFolderRequest {
    fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        const S: &str = "RopCreateFolder request";
        w.u8(Self::ROP_ID.0);
        w.u8(self.logon_id);
        w.u8(self.input_handle_index);
        w.u8(self.output_handle_index);
        w.u8(self.folder_type);
        w.u8(self.use_unicode_strings);
        w.u8(self.open_existing);
        w.u8(self.reserved);
        let u = self.use_unicode_strings;
        write_flagged_string(w, &self.display_name, u, S, "DisplayName")?;
        write_flagged_string(w, &self.comment, u, S, "Comment")
    }
}

/// What a RopCreateFolder response says about a public folder that already existed
/// (IsExistingFolder 0x01).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExistingFolder {
    /// HasRules (boolean byte).
    pub has_rules: u8,
    /// IsGhosted and, when set, ServerCount/CheapServerCount/Servers.
    pub ghost: Option<GhostInfo>,
}

/// MS-OXCROPS 2.2.4.2.2 RopCreateFolder success response.
///
/// IsExistingFolder is derived from `existing` (sent as 0x01 when present, as is IsGhosted).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CreateFolderResponse {
    /// OutputHandleIndex, as in the request.
    pub output_handle_index: u8,
    /// FolderId of the created (or opened) folder.
    pub folder_id: FolderId,
    /// Present when IsExistingFolder is 0x01 (public folders only).
    pub existing: Option<ExistingFolder>,
}

impl CreateFolderResponse {
    /// This ROP's RopId.
    pub const ROP_ID: RopId = RopId::CREATE_FOLDER;

    pub(crate) fn decode_body(
        r: &mut ReadCursor<'_>,
        output_handle_index: u8,
    ) -> DecodeResult<Self> {
        let folder_id = FolderId(r.u64("FolderId")?);
        let at = r.offset();
        // A Boolean is 0x00 or 0x01 (MS-OXCDATA 2.11.1); anything else would not re-encode.
        let existing = match r.u8("IsExistingFolder")? {
            0 => None,
            1 => {
                // HasRules, IsGhosted and the ghost info are laid out as in RopOpenFolder.
                let tail = OpenFolderResponse::decode_body(r, output_handle_index)?;
                Some(ExistingFolder {
                    has_rules: tail.has_rules,
                    ghost: tail.ghost,
                })
            }
            b => {
                return Err(DecodeError::invalid(
                    "IsExistingFolder",
                    at,
                    format!("0x{b:02X} is not 0 or 1"),
                ));
            }
        };
        Ok(Self {
            output_handle_index,
            folder_id,
            existing,
        })
    }
}

impl Encode for CreateFolderResponse {
    fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        const S: &str = "RopCreateFolder response";
        write_response_header(
            w,
            Self::ROP_ID,
            self.output_handle_index,
            ErrorCode::SUCCESS,
        );
        w.u64(self.folder_id.0);
        let Some(e) = &self.existing else {
            w.u8(0);
            return Ok(());
        };
        w.u8(1);
        w.u8(e.has_rules);
        let Some(g) = &e.ghost else {
            w.u8(0);
            return Ok(());
        };
        w.u8(1);
        w.u16(count_u16(g.servers.len(), S, "ServerCount")?);
        if usize::from(g.cheap_server_count) > g.servers.len() {
            return Err(EncodeError::Invalid {
                structure: S,
                field: "CheapServerCount",
                detail: "more than ServerCount".into(),
            });
        }
        w.u16(g.cheap_server_count);
        g.servers
            .iter()
            .try_for_each(|s| write_latin1_z(w, s, S, "Servers"))
    }
}

rop_request! {
    /// MS-OXCROPS 2.2.4.3.1 RopDeleteFolder request.
    pub struct DeleteFolderRequest = RopId::DELETE_FOLDER, "RopDeleteFolder request" {
        /// LogonId.
        pub logon_id: u8 => "LogonId",
        /// InputHandleIndex: the parent folder.
        pub input_handle_index: u8 => "InputHandleIndex",
        /// DeleteFolderFlags, see [`delete_folder_flags`].
        pub delete_folder_flags: u8 => "DeleteFolderFlags",
        /// FolderId of the folder to delete.
        pub folder_id: FolderId => "FolderId",
    }
}

partial_completion_response! {
    /// MS-OXCROPS 2.2.4.3.2 RopDeleteFolder response (any ReturnValue).
    pub struct DeleteFolderResponse = RopId::DELETE_FOLDER, "RopDeleteFolder response",
        null_destination = false {
        /// InputHandleIndex, as in the request.
        pub input_handle_index;
    }
}

/// Declares RopDeleteMessages / RopHardDeleteMessages requests (same layout).
macro_rules! delete_messages_request {
    ($(#[$m:meta])* pub struct $name:ident = $id:path, $wire:literal;) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Default)]
        pub struct $name {
            /// LogonId.
            pub logon_id: u8,
            /// InputHandleIndex: the folder.
            pub input_handle_index: u8,
            /// WantAsynchronous (boolean byte).
            pub want_asynchronous: u8,
            /// NotifyNonRead (boolean byte): send non-read receipts.
            pub notify_non_read: u8,
            /// MessageIds (MessageIdCount, u16, is derived).
            pub message_ids: Vec<MessageId>,
        }

        impl $name {
            /// This ROP's RopId.
            pub const ROP_ID: RopId = $id;
        }

        impl Decode for $name {
            fn decode(r: &mut ReadCursor<'_>) -> DecodeResult<Self> {
                (|| {
                    expect_rop_id(r, Self::ROP_ID)?;
                    Ok(Self {
                        logon_id: r.u8("LogonId")?,
                        input_handle_index: r.u8("InputHandleIndex")?,
                        want_asynchronous: r.u8("WantAsynchronous")?,
                        notify_non_read: r.u8("NotifyNonRead")?,
                        message_ids: read_message_ids(r)?,
                    })
                })()
                .within($wire)
            }
        }

        impl Encode for $name {
            fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
                w.u8(Self::ROP_ID.0);
                w.u8(self.logon_id);
                w.u8(self.input_handle_index);
                w.u8(self.want_asynchronous);
                w.u8(self.notify_non_read);
                write_message_ids(w, &self.message_ids, $wire)
            }
        }
    };
}

delete_messages_request! {
    /// MS-OXCROPS 2.2.4.11.1 RopDeleteMessages request.
    pub struct DeleteMessagesRequest = RopId::DELETE_MESSAGES, "RopDeleteMessages request";
}

partial_completion_response! {
    /// MS-OXCROPS 2.2.4.11.2 RopDeleteMessages response (any ReturnValue).
    pub struct DeleteMessagesResponse = RopId::DELETE_MESSAGES, "RopDeleteMessages response",
        null_destination = false {
        /// InputHandleIndex, as in the request.
        pub input_handle_index;
    }
}

delete_messages_request! {
    /// MS-OXCROPS 2.2.4.12.1 RopHardDeleteMessages request.
    pub struct HardDeleteMessagesRequest = RopId::HARD_DELETE_MESSAGES, "RopHardDeleteMessages request";
}

partial_completion_response! {
    /// MS-OXCROPS 2.2.4.12.2 RopHardDeleteMessages response (any ReturnValue).
    pub struct HardDeleteMessagesResponse = RopId::HARD_DELETE_MESSAGES,
        "RopHardDeleteMessages response", null_destination = false {
        /// InputHandleIndex, as in the request.
        pub input_handle_index;
    }
}

rop_request! {
    /// MS-OXCROPS 2.2.4.9.1 RopEmptyFolder request.
    pub struct EmptyFolderRequest = RopId::EMPTY_FOLDER, "RopEmptyFolder request" {
        /// LogonId.
        pub logon_id: u8 => "LogonId",
        /// InputHandleIndex: the folder.
        pub input_handle_index: u8 => "InputHandleIndex",
        /// WantAsynchronous (boolean byte).
        pub want_asynchronous: u8 => "WantAsynchronous",
        /// WantDeleteAssociated (boolean byte): delete FAI messages too.
        pub want_delete_associated: u8 => "WantDeleteAssociated",
    }
}

partial_completion_response! {
    /// MS-OXCROPS 2.2.4.9.2 RopEmptyFolder response (any ReturnValue).
    pub struct EmptyFolderResponse = RopId::EMPTY_FOLDER, "RopEmptyFolder response",
        null_destination = false {
        /// InputHandleIndex, as in the request.
        pub input_handle_index;
    }
}

rop_request! {
    /// MS-OXCROPS 2.2.4.10.1 RopHardDeleteMessagesAndSubfolders request.
    pub struct HardDeleteMessagesAndSubfoldersRequest = RopId::HARD_DELETE_MESSAGES_AND_SUBFOLDERS,
        "RopHardDeleteMessagesAndSubfolders request" {
        /// LogonId.
        pub logon_id: u8 => "LogonId",
        /// InputHandleIndex: the folder.
        pub input_handle_index: u8 => "InputHandleIndex",
        /// WantAsynchronous (boolean byte).
        pub want_asynchronous: u8 => "WantAsynchronous",
        /// WantDeleteAssociated (boolean byte): delete FAI messages too.
        pub want_delete_associated: u8 => "WantDeleteAssociated",
    }
}

partial_completion_response! {
    /// MS-OXCROPS 2.2.4.10.2 RopHardDeleteMessagesAndSubfolders response (any ReturnValue).
    pub struct HardDeleteMessagesAndSubfoldersResponse = RopId::HARD_DELETE_MESSAGES_AND_SUBFOLDERS,
        "RopHardDeleteMessagesAndSubfolders response", null_destination = false {
        /// InputHandleIndex, as in the request.
        pub input_handle_index;
    }
}

/// MS-OXCROPS 2.2.4.6.1 RopMoveCopyMessages request.
///
/// [MS-OXCROPS 2.2.4.6.1](https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-oxcrops/1b10ce00-34a3-41a9-b6cd-221b9f635fc5)
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MoveCopyMessagesRequest {
    /// LogonId.
    pub logon_id: u8,
    /// SourceHandleIndex: the source folder; the response echoes it.
    pub source_handle_index: u8,
    /// DestHandleIndex: the destination folder.
    pub dest_handle_index: u8,
    /// MessageIds (MessageIdCount, u16, is derived).
    pub message_ids: Vec<MessageId>,
    /// WantAsynchronous (boolean byte).
    pub want_asynchronous: u8,
    /// WantCopy (boolean byte): copy instead of move.
    pub want_copy: u8,
}

impl MoveCopyMessagesRequest {
    /// This ROP's RopId.
    pub const ROP_ID: RopId = RopId::MOVE_COPY_MESSAGES;
}

impl Decode for MoveCopyMessagesRequest {
    fn decode(r: &mut ReadCursor<'_>) -> DecodeResult<Self> {
        (|| {
            expect_rop_id(r, Self::ROP_ID)?;
            Ok(Self {
                logon_id: r.u8("LogonId")?,
                source_handle_index: r.u8("SourceHandleIndex")?,
                dest_handle_index: r.u8("DestHandleIndex")?,
                message_ids: read_message_ids(r)?,
                want_asynchronous: r.u8("WantAsynchronous")?,
                want_copy: r.u8("WantCopy")?,
            })
        })()
        .within("RopMoveCopyMessages request")
    }
}

impl Encode for MoveCopyMessagesRequest {
    fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        w.u8(Self::ROP_ID.0);
        w.u8(self.logon_id);
        w.u8(self.source_handle_index);
        w.u8(self.dest_handle_index);
        write_message_ids(w, &self.message_ids, "RopMoveCopyMessages request")?;
        w.u8(self.want_asynchronous);
        w.u8(self.want_copy);
        Ok(())
    }
}

partial_completion_response! {
    /// MS-OXCROPS 2.2.4.6.2 RopMoveCopyMessages response (any ReturnValue but 0x503).
    pub struct MoveCopyMessagesResponse = RopId::MOVE_COPY_MESSAGES,
        "RopMoveCopyMessages response", null_destination = true {
        /// SourceHandleIndex, as in the request.
        pub source_handle_index;
    }
}

/// Declares RopMoveFolder / RopCopyFolder requests (RopCopyFolder adds WantRecursive).
macro_rules! move_copy_folder_request {
    (
        $(#[$m:meta])* pub struct $name:ident = $id:path, $wire:literal
        { $( $(#[$rm:meta])* pub $rec:ident => $rname:literal, )? }
    ) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Default)]
        pub struct $name {
            /// LogonId.
            pub logon_id: u8,
            /// SourceHandleIndex: the current parent folder; the response echoes it.
            pub source_handle_index: u8,
            /// DestHandleIndex: the new parent folder.
            pub dest_handle_index: u8,
            /// WantAsynchronous (boolean byte).
            pub want_asynchronous: u8,
            $( $(#[$rm])* pub $rec: u8, )?
            /// UseUnicode (boolean byte): NewFolderName is UTF-16LE, else 8-bit.
            pub use_unicode: u8,
            /// FolderId of the folder to move or copy.
            pub folder_id: FolderId,
            /// NewFolderName.
            pub new_folder_name: String,
        }

        impl $name {
            /// This ROP's RopId.
            pub const ROP_ID: RopId = $id;
        }

        impl Decode for $name {
            fn decode(r: &mut ReadCursor<'_>) -> DecodeResult<Self> {
                (|| {
                    expect_rop_id(r, Self::ROP_ID)?;
                    let logon_id = r.u8("LogonId")?;
                    let source_handle_index = r.u8("SourceHandleIndex")?;
                    let dest_handle_index = r.u8("DestHandleIndex")?;
                    let want_asynchronous = r.u8("WantAsynchronous")?;
                    $( let $rec = r.u8($rname)?; )?
                    let use_unicode = r.u8("UseUnicode")?;
                    let folder_id = FolderId(r.u64("FolderId")?);
                    let new_folder_name = read_flagged_string(r, use_unicode, "NewFolderName")?;
                    Ok(Self {
                        logon_id,
                        source_handle_index,
                        dest_handle_index,
                        want_asynchronous,
                        $( $rec, )?
                        use_unicode,
                        folder_id,
                        new_folder_name,
                    })
                })()
                .within($wire)
            }
        }

        impl Encode for $name {
            fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
                w.u8(Self::ROP_ID.0);
                w.u8(self.logon_id);
                w.u8(self.source_handle_index);
                w.u8(self.dest_handle_index);
                w.u8(self.want_asynchronous);
                $( w.u8(self.$rec); )?
                w.u8(self.use_unicode);
                w.u64(self.folder_id.0);
                write_flagged_string(w, &self.new_folder_name, self.use_unicode, $wire, "NewFolderName")
            }
        }
    };
}

move_copy_folder_request! {
    /// MS-OXCROPS 2.2.4.7.1 RopMoveFolder request.
    pub struct MoveFolderRequest = RopId::MOVE_FOLDER, "RopMoveFolder request" {}
}

partial_completion_response! {
    /// MS-OXCROPS 2.2.4.7.2 RopMoveFolder response (any ReturnValue but 0x503).
    ///
    /// [MS-OXCROPS 2.2.4.7.2](https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-oxcrops/783bbd3b-615b-4e43-9ad0-55b058fd0e1d)
    pub struct MoveFolderResponse = RopId::MOVE_FOLDER, "RopMoveFolder response",
        null_destination = true {
        /// SourceHandleIndex, as in the request.
        pub source_handle_index;
    }
}

move_copy_folder_request! {
    /// MS-OXCROPS 2.2.4.8.1 RopCopyFolder request.
    pub struct CopyFolderRequest = RopId::COPY_FOLDER, "RopCopyFolder request" {
        /// WantRecursive (boolean byte): copy subfolders too.
        pub want_recursive => "WantRecursive",
    }
}

partial_completion_response! {
    /// MS-OXCROPS 2.2.4.8.2 RopCopyFolder response (any ReturnValue but 0x503).
    pub struct CopyFolderResponse = RopId::COPY_FOLDER, "RopCopyFolder response",
        null_destination = true {
        /// SourceHandleIndex, as in the request.
        pub source_handle_index;
    }
}

/// The Null Destination Failure Response of RopMoveCopyMessages, RopMoveFolder and
/// RopCopyFolder (MS-OXCROPS 2.2.4.6.3, 2.2.4.7.3, 2.2.4.8.3): ReturnValue ecDstNullObject
/// (0x503) with the DestHandleIndex that named no object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NullDestinationFailureResponse {
    /// RopMoveCopyMessages, RopMoveFolder or RopCopyFolder.
    pub rop_id: RopId,
    /// SourceHandleIndex, as in the request.
    pub source_handle_index: u8,
    /// DestHandleIndex (u32 on the wire), as in the request.
    pub dest_handle_index: u32,
    /// PartialCompletion (boolean byte).
    pub partial_completion: u8,
}

impl NullDestinationFailureResponse {
    /// ecDstNullObject: the destination handle refers to no object.
    pub const RETURN_VALUE: ErrorCode = ErrorCode(0x0000_0503);

    /// True for the ROPs that have this failure form.
    pub fn applies_to(rop_id: RopId) -> bool {
        matches!(
            rop_id,
            RopId::MOVE_COPY_MESSAGES | RopId::MOVE_FOLDER | RopId::COPY_FOLDER
        )
    }

    pub(crate) fn decode_body(
        r: &mut ReadCursor<'_>,
        rop_id: RopId,
        source_handle_index: u8,
    ) -> DecodeResult<Self> {
        Ok(Self {
            rop_id,
            source_handle_index,
            dest_handle_index: r.u32("DestHandleIndex")?,
            partial_completion: r.u8("PartialCompletion")?,
        })
    }
}

impl Encode for NullDestinationFailureResponse {
    fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        if !Self::applies_to(self.rop_id) {
            return Err(EncodeError::Invalid {
                structure: "Null Destination Failure Response",
                field: "RopId",
                detail: format!("{:?} has no null destination failure response", self.rop_id),
            });
        }
        write_response_header(w, self.rop_id, self.source_handle_index, Self::RETURN_VALUE);
        w.u32(self.dest_handle_index);
        w.u8(self.partial_completion);
        Ok(())
    }
}

/// MS-OXCROPS 2.2.3.3.1 RopSetReceiveFolder request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SetReceiveFolderRequest {
    /// LogonId.
    pub logon_id: u8,
    /// InputHandleIndex: the logon.
    pub input_handle_index: u8,
    /// FolderId of the receive folder (0 removes the message class's entry).
    pub folder_id: FolderId,
    /// MessageClass (8-bit, NUL-terminated; empty for the default).
    pub message_class: String,
}

impl SetReceiveFolderRequest {
    /// This ROP's RopId.
    pub const ROP_ID: RopId = RopId::SET_RECEIVE_FOLDER;
}

impl Decode for SetReceiveFolderRequest {
    fn decode(r: &mut ReadCursor<'_>) -> DecodeResult<Self> {
        (|| {
            expect_rop_id(r, Self::ROP_ID)?;
            Ok(Self {
                logon_id: r.u8("LogonId")?,
                input_handle_index: r.u8("InputHandleIndex")?,
                folder_id: FolderId(r.u64("FolderId")?),
                message_class: r.ascii_z("MessageClass")?,
            })
        })()
        .within("RopSetReceiveFolder request")
    }
}

impl Encode for SetReceiveFolderRequest {
    fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        w.u8(Self::ROP_ID.0);
        w.u8(self.logon_id);
        w.u8(self.input_handle_index);
        w.u64(self.folder_id.0);
        write_latin1_z(
            w,
            &self.message_class,
            "RopSetReceiveFolder request",
            "MessageClass",
        )
    }
}

rop_response! {
    /// MS-OXCROPS 2.2.3.3.2 RopSetReceiveFolder response (header only).
    ///
    /// [MS-OXCROPS 2.2.3.3.2](https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-oxcrops/5b703870-15a3-4150-bc45-f5a166956fdb)
    pub struct SetReceiveFolderResponse = RopId::SET_RECEIVE_FOLDER {
        /// InputHandleIndex, as in the request.
        pub input_handle_index: u8;
    }
}
