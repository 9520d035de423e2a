//! Write-side attachment ROPs (MS-OXCROPS 2.2.6.13 - 2.2.6.16, semantics in MS-OXCMSG 2.2.3).

use crate::cursor::{Encode, ReadCursor, WriteCursor};
use crate::data::{ErrorCode, MessageId};
use crate::error::{DecodeResult, EncodeResult};
use crate::rop::wire::{RopId, rop_request, rop_response, write_response_header};
use crate::rop::write_message::MessageInfo;

rop_request! {
    /// MS-OXCROPS 2.2.6.13.1 RopCreateAttachment request.
    pub struct CreateAttachmentRequest = RopId::CREATE_ATTACHMENT, "RopCreateAttachment request" {
        /// LogonId.
        pub logon_id: u8 => "LogonId",
        /// InputHandleIndex: the message.
        pub input_handle_index: u8 => "InputHandleIndex",
        /// OutputHandleIndex: where the attachment handle goes.
        pub output_handle_index: u8 => "OutputHandleIndex",
    }
}

rop_response! {
    /// MS-OXCROPS 2.2.6.13.2 RopCreateAttachment success response.
    pub struct CreateAttachmentResponse = RopId::CREATE_ATTACHMENT {
        /// OutputHandleIndex, as in the request.
        pub output_handle_index: u8;
        /// AttachmentID (PidTagAttachNumber) of the new attachment.
        pub attachment_id: u32 => "AttachmentID",
    }
}

rop_request! {
    /// MS-OXCROPS 2.2.6.14.1 RopDeleteAttachment request.
    pub struct DeleteAttachmentRequest = RopId::DELETE_ATTACHMENT, "RopDeleteAttachment request" {
        /// LogonId.
        pub logon_id: u8 => "LogonId",
        /// InputHandleIndex: the message.
        pub input_handle_index: u8 => "InputHandleIndex",
        /// AttachmentID (PidTagAttachNumber) of the attachment to delete.
        pub attachment_id: u32 => "AttachmentID",
    }
}

rop_response! {
    /// MS-OXCROPS 2.2.6.14.2 RopDeleteAttachment response (header only).
    pub struct DeleteAttachmentResponse = RopId::DELETE_ATTACHMENT {
        /// InputHandleIndex, as in the request.
        pub input_handle_index: u8;
    }
}

rop_request! {
    /// MS-OXCROPS 2.2.6.15.1 RopSaveChangesAttachment request.
    ///
    /// The response (a failure too) echoes ResponseHandleIndex; InputHandleIndex is the
    /// attachment.
    pub struct SaveChangesAttachmentRequest = RopId::SAVE_CHANGES_ATTACHMENT, "RopSaveChangesAttachment request" {
        /// LogonId.
        pub logon_id: u8 => "LogonId",
        /// ResponseHandleIndex: the index the response refers to.
        pub response_handle_index: u8 => "ResponseHandleIndex",
        /// InputHandleIndex: the attachment.
        pub input_handle_index: u8 => "InputHandleIndex",
        /// SaveFlags, see [`crate::rop::save_flags`].
        pub save_flags: u8 => "SaveFlags",
    }
}

rop_response! {
    /// MS-OXCROPS 2.2.6.15.2 RopSaveChangesAttachment response (header only).
    pub struct SaveChangesAttachmentResponse = RopId::SAVE_CHANGES_ATTACHMENT {
        /// ResponseHandleIndex, as in the request.
        pub response_handle_index: u8;
    }
}

rop_request! {
    /// MS-OXCROPS 2.2.6.16.1 RopOpenEmbeddedMessage request.
    pub struct OpenEmbeddedMessageRequest = RopId::OPEN_EMBEDDED_MESSAGE, "RopOpenEmbeddedMessage request" {
        /// LogonId.
        pub logon_id: u8 => "LogonId",
        /// InputHandleIndex: the attachment.
        pub input_handle_index: u8 => "InputHandleIndex",
        /// OutputHandleIndex: where the embedded message handle goes.
        pub output_handle_index: u8 => "OutputHandleIndex",
        /// CodePageId (0x0FFF: the logon's code page).
        pub code_page_id: u16 => "CodePageId",
        /// OpenModeFlags (0x00 ReadOnly, 0x01 ReadWrite, 0x02 Create).
        pub open_mode_flags: u8 => "OpenModeFlags",
    }
}

/// MS-OXCROPS 2.2.6.16.2 RopOpenEmbeddedMessage success response.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OpenEmbeddedMessageResponse {
    /// OutputHandleIndex, as in the request.
    pub output_handle_index: u8,
    /// Reserved (0).
    pub reserved: u8,
    /// MessageId of the embedded message.
    pub message_id: MessageId,
    /// The embedded message's subject and recipients.
    pub info: MessageInfo,
}

impl OpenEmbeddedMessageResponse {
    /// This ROP's RopId.
    pub const ROP_ID: RopId = RopId::OPEN_EMBEDDED_MESSAGE;

    pub(crate) fn decode_body(
        r: &mut ReadCursor<'_>,
        output_handle_index: u8,
    ) -> DecodeResult<Self> {
        Ok(Self {
            output_handle_index,
            reserved: r.u8("Reserved")?,
            message_id: MessageId(r.u64("MessageId")?),
            info: MessageInfo::decode(r)?,
        })
    }
}

impl Encode for OpenEmbeddedMessageResponse {
    fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        write_response_header(
            w,
            Self::ROP_ID,
            self.output_handle_index,
            ErrorCode::SUCCESS,
        );
        w.u8(self.reserved);
        w.u64(self.message_id.0);
        self.info.encode(w, "RopOpenEmbeddedMessage response")
    }
}
