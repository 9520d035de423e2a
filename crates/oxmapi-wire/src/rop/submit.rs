//! Transport ROPs (MS-OXCROPS 2.2.7, semantics in MS-OXOMSG 2.2.3 and 3.2.5).

use crate::cursor::{Encode, ReadCursor, WriteCursor, count_u16};
use crate::data::{ErrorCode, FolderId, MessageId, TaggedPropertyValue, ValueContext};
use crate::error::{DecodeResult, EncodeResult};
use crate::rop::wire::{RopId, rop_request, rop_response, write_response_header};

/// SubmitFlags of RopSubmitMessage (MS-OXOMSG 2.2.3.1.1).
pub mod submit_flags {
    /// No special behaviour.
    pub const NONE: u8 = 0x00;
    /// The message needs preprocessing.
    pub const PRE_PROCESS: u8 = 0x01;
    /// The message needs to be processed by the spooler.
    pub const NEEDS_SPOOLER: u8 = 0x02;
}

rop_request! {
    /// MS-OXCROPS 2.2.7.1.1 RopSubmitMessage request.
    pub struct SubmitMessageRequest = RopId::SUBMIT_MESSAGE, "RopSubmitMessage request" {
        /// LogonId.
        pub logon_id: u8 => "LogonId",
        /// InputHandleIndex: the message.
        pub input_handle_index: u8 => "InputHandleIndex",
        /// SubmitFlags, see [`submit_flags`].
        pub submit_flags: u8 => "SubmitFlags",
    }
}

rop_response! {
    /// MS-OXCROPS 2.2.7.1.2 RopSubmitMessage response (header only).
    pub struct SubmitMessageResponse = RopId::SUBMIT_MESSAGE {
        /// InputHandleIndex, as in the request.
        pub input_handle_index: u8;
    }
}

rop_request! {
    /// MS-OXCROPS 2.2.7.2.1 RopAbortSubmit request.
    pub struct AbortSubmitRequest = RopId::ABORT_SUBMIT, "RopAbortSubmit request" {
        /// LogonId.
        pub logon_id: u8 => "LogonId",
        /// InputHandleIndex: the logon.
        pub input_handle_index: u8 => "InputHandleIndex",
        /// FolderId of the message's folder.
        pub folder_id: FolderId => "FolderId",
        /// MessageId of the submitted message.
        pub message_id: MessageId => "MessageId",
    }
}

rop_response! {
    /// MS-OXCROPS 2.2.7.2.2 RopAbortSubmit response (header only).
    pub struct AbortSubmitResponse = RopId::ABORT_SUBMIT {
        /// InputHandleIndex, as in the request.
        pub input_handle_index: u8;
    }
}

rop_request! {
    /// MS-OXCROPS 2.2.7.6.1 RopTransportSend request.
    pub struct TransportSendRequest = RopId::TRANSPORT_SEND, "RopTransportSend request" {
        /// LogonId.
        pub logon_id: u8 => "LogonId",
        /// InputHandleIndex: the message.
        pub input_handle_index: u8 => "InputHandleIndex",
    }
}

/// MS-OXCROPS 2.2.7.6.2 RopTransportSend success response.
///
/// `values` is `None` when NoPropertiesReturned is nonzero (then PropertyValueCount and
/// PropertyValues are absent).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TransportSendResponse {
    /// InputHandleIndex, as in the request.
    pub input_handle_index: u8,
    /// PropertyValues of the sent message, if any were returned.
    pub values: Option<Vec<TaggedPropertyValue>>,
}

impl TransportSendResponse {
    /// This ROP's RopId.
    pub const ROP_ID: RopId = RopId::TRANSPORT_SEND;

    pub(crate) fn decode_body(
        r: &mut ReadCursor<'_>,
        input_handle_index: u8,
    ) -> DecodeResult<Self> {
        let values = if r.u8("NoPropertiesReturned")? != 0 {
            None
        } else {
            let n = usize::from(r.u16("PropertyValueCount")?);
            // A tag at least.
            r.ensure(n * 4, "PropertyValues")?;
            Some(
                (0..n)
                    .map(|_| TaggedPropertyValue::decode(r, ValueContext::Rop))
                    .collect::<DecodeResult<_>>()?,
            )
        };
        Ok(Self {
            input_handle_index,
            values,
        })
    }
}

impl Encode for TransportSendResponse {
    fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        write_response_header(w, Self::ROP_ID, self.input_handle_index, ErrorCode::SUCCESS);
        let Some(values) = &self.values else {
            w.u8(1);
            return Ok(());
        };
        w.u8(0);
        w.u16(count_u16(
            values.len(),
            "RopTransportSend response",
            "PropertyValueCount",
        )?);
        values
            .iter()
            .try_for_each(|v| v.encode(w, ValueContext::Rop))
    }
}
