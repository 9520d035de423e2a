//! Write-side message ROPs (MS-OXCROPS 2.2.6, semantics in MS-OXCMSG 2.2.3) and
//! RopDeleteProperties (MS-OXCROPS 2.2.8.8, MS-OXCPRPT 2.2.7).

use crate::cursor::{Decode, Encode, ReadCursor, WriteCursor, count_u16};
use crate::data::{ErrorCode, FolderId, MessageId, PropertyProblem, PropertyTag};
use crate::error::{DecodeContext, DecodeResult, EncodeError, EncodeResult};
use crate::rop::message::{OpenRecipientRow, RecipientRow, TypedString};
use crate::rop::wire::{
    RopId, expect_rop_id, read_tags, rop_request, rop_response, write_response_header, write_tags,
};
use crate::rop::write_util::{read_message_ids, write_message_ids};

rop_request! {
    /// MS-OXCROPS 2.2.6.2.1 RopCreateMessage request.
    ///
    /// [MS-OXCMSG 2.2.3.2](https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-oxcmsg/45639421-de0e-43f2-8937-310671182428)
    pub struct CreateMessageRequest = RopId::CREATE_MESSAGE, "RopCreateMessage request" {
        /// LogonId.
        pub logon_id: u8 => "LogonId",
        /// InputHandleIndex: the logon or a folder.
        pub input_handle_index: u8 => "InputHandleIndex",
        /// OutputHandleIndex: where the message handle goes.
        pub output_handle_index: u8 => "OutputHandleIndex",
        /// CodePageId (0x0FFF: the logon's code page).
        pub code_page_id: u16 => "CodePageId",
        /// FolderId of the folder the message is created in.
        pub folder_id: FolderId => "FolderId",
        /// AssociatedFlag: nonzero for a folder associated information (FAI) message.
        pub associated_flag: u8 => "AssociatedFlag",
    }
}

/// MS-OXCROPS 2.2.6.2.2 RopCreateMessage success response.
///
/// HasMessageId is derived from `message_id` (sent as 0x01 when present).
///
/// [MS-OXCROPS 2.2.6.2.2](https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-oxcrops/804fb8cc-a835-45bd-9466-b7f70892f066)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CreateMessageResponse {
    /// OutputHandleIndex, as in the request.
    pub output_handle_index: u8,
    /// MessageId, when the server assigned one already.
    pub message_id: Option<MessageId>,
}

impl CreateMessageResponse {
    /// This ROP's RopId.
    pub const ROP_ID: RopId = RopId::CREATE_MESSAGE;

    pub(crate) fn decode_body(
        r: &mut ReadCursor<'_>,
        output_handle_index: u8,
    ) -> DecodeResult<Self> {
        // A Boolean is 0x00 or 0x01 (MS-OXCDATA 2.11.1); anything else would not re-encode.
        let at = r.offset();
        let message_id = match r.u8("HasMessageId")? {
            0 => None,
            1 => Some(MessageId(r.u64("MessageId")?)),
            b => {
                return Err(crate::error::DecodeError::invalid(
                    "HasMessageId",
                    at,
                    format!("0x{b:02X} is not 0 or 1"),
                ));
            }
        };
        Ok(Self {
            output_handle_index,
            message_id,
        })
    }
}

impl Encode for CreateMessageResponse {
    fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        write_response_header(
            w,
            Self::ROP_ID,
            self.output_handle_index,
            ErrorCode::SUCCESS,
        );
        match self.message_id {
            Some(id) => {
                w.u8(1);
                w.u64(id.0);
            }
            None => w.u8(0),
        }
        Ok(())
    }
}

/// SaveFlags of RopSaveChangesMessage / RopSaveChangesAttachment (MS-OXCMSG 2.2.3.3.1).
pub mod save_flags {
    /// Keep the object open read-only after saving.
    pub const KEEP_OPEN_READ_ONLY: u8 = 0x01;
    /// Keep the object open read/write after saving.
    pub const KEEP_OPEN_READ_WRITE: u8 = 0x02;
    /// Keep the object open read/write and overwrite concurrent changes.
    pub const FORCE_SAVE: u8 = 0x04;
}

rop_request! {
    /// MS-OXCROPS 2.2.6.3.1 RopSaveChangesMessage request.
    ///
    /// The response echoes ResponseHandleIndex (a failure too); InputHandleIndex is the message.
    pub struct SaveChangesMessageRequest = RopId::SAVE_CHANGES_MESSAGE, "RopSaveChangesMessage request" {
        /// LogonId.
        pub logon_id: u8 => "LogonId",
        /// ResponseHandleIndex: the index the response refers to.
        pub response_handle_index: u8 => "ResponseHandleIndex",
        /// InputHandleIndex: the message.
        pub input_handle_index: u8 => "InputHandleIndex",
        /// SaveFlags, see [`save_flags`].
        pub save_flags: u8 => "SaveFlags",
    }
}

rop_response! {
    /// MS-OXCROPS 2.2.6.3.2 RopSaveChangesMessage success response.
    pub struct SaveChangesMessageResponse = RopId::SAVE_CHANGES_MESSAGE {
        /// ResponseHandleIndex, as in the request.
        pub response_handle_index: u8;
        /// InputHandleIndex, as in the request.
        pub input_handle_index: u8 => "InputHandleIndex",
        /// MessageId of the saved message.
        pub message_id: MessageId => "MessageId",
    }
}

rop_request! {
    /// MS-OXCROPS 2.2.6.4.1 RopRemoveAllRecipients request.
    pub struct RemoveAllRecipientsRequest = RopId::REMOVE_ALL_RECIPIENTS, "RopRemoveAllRecipients request" {
        /// LogonId.
        pub logon_id: u8 => "LogonId",
        /// InputHandleIndex: the message.
        pub input_handle_index: u8 => "InputHandleIndex",
        /// Reserved (0).
        pub reserved: u32 => "Reserved",
    }
}

rop_response! {
    /// MS-OXCROPS 2.2.6.4.2 RopRemoveAllRecipients response (header only).
    pub struct RemoveAllRecipientsResponse = RopId::REMOVE_ALL_RECIPIENTS {
        /// InputHandleIndex, as in the request.
        pub input_handle_index: u8;
    }
}

/// ModifyRecipientRow (MS-OXCDATA 2.8.3.3 usage in MS-OXCROPS 2.2.6.5.1): one recipient to
/// add, change or (with no row) remove.
#[derive(Debug, Clone, PartialEq)]
pub struct ModifyRecipientRow {
    /// RowId of the recipient.
    pub row_id: u32,
    /// RecipientType (1 To, 2 Cc, 3 Bcc, with flag bits).
    pub recipient_type: u8,
    /// RecipientRow; `None` (RecipientRowSize 0) removes the recipient.
    pub row: Option<RecipientRow>,
}

impl ModifyRecipientRow {
    /// Decodes one row against the request's recipient columns.
    pub fn decode(r: &mut ReadCursor<'_>, columns: &[PropertyTag]) -> DecodeResult<Self> {
        (|| {
            let row_id = r.u32("RowId")?;
            let recipient_type = r.u8("RecipientType")?;
            let size = usize::from(r.u16("RecipientRowSize")?);
            let row = if size == 0 {
                None
            } else {
                let mut s = r.sub(size, "RecipientRow")?;
                let row = RecipientRow::decode(&mut s, columns)?;
                s.finish("RecipientRow")?;
                Some(row)
            };
            Ok(Self {
                row_id,
                recipient_type,
                row,
            })
        })()
        .within("ModifyRecipientRow")
    }

    /// Encodes the row (RecipientRowSize is derived).
    pub fn encode(&self, w: &mut WriteCursor, columns: &[PropertyTag]) -> EncodeResult {
        w.u32(self.row_id);
        w.u8(self.recipient_type);
        let at = w.reserve_u16();
        if let Some(row) = &self.row {
            row.encode(w, columns)?;
        }
        let size = w.len() - at - 2;
        w.patch_u16(at, size, "ModifyRecipientRow", "RecipientRowSize")
    }
}

/// MS-OXCROPS 2.2.6.5.1 RopModifyRecipients request.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ModifyRecipientsRequest {
    /// LogonId.
    pub logon_id: u8,
    /// InputHandleIndex: the message.
    pub input_handle_index: u8,
    /// RecipientColumns: the columns of every row's RecipientProperties.
    pub recipient_columns: Vec<PropertyTag>,
    /// RecipientRows (RowCount, u16, is derived).
    pub rows: Vec<ModifyRecipientRow>,
}

impl ModifyRecipientsRequest {
    /// This ROP's RopId.
    pub const ROP_ID: RopId = RopId::MODIFY_RECIPIENTS;
}

impl Decode for ModifyRecipientsRequest {
    fn decode(r: &mut ReadCursor<'_>) -> DecodeResult<Self> {
        (|| {
            expect_rop_id(r, Self::ROP_ID)?;
            let logon_id = r.u8("LogonId")?;
            let input_handle_index = r.u8("InputHandleIndex")?;
            let recipient_columns = read_tags(r, "ColumnCount")?;
            let n = usize::from(r.u16("RowCount")?);
            // RowId, RecipientType and RecipientRowSize at least.
            r.ensure(n * 7, "RecipientRows")?;
            let rows = (0..n)
                .map(|_| ModifyRecipientRow::decode(r, &recipient_columns))
                .collect::<DecodeResult<_>>()?;
            Ok(Self {
                logon_id,
                input_handle_index,
                recipient_columns,
                rows,
            })
        })()
        .within("RopModifyRecipients request")
    }
}

impl Encode for ModifyRecipientsRequest {
    fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        const S: &str = "RopModifyRecipients request";
        w.u8(Self::ROP_ID.0);
        w.u8(self.logon_id);
        w.u8(self.input_handle_index);
        write_tags(w, &self.recipient_columns, S, "ColumnCount")?;
        w.u16(count_u16(self.rows.len(), S, "RowCount")?);
        self.rows
            .iter()
            .try_for_each(|row| row.encode(w, &self.recipient_columns))
    }
}

rop_response! {
    /// MS-OXCROPS 2.2.6.5.2 RopModifyRecipients response (header only).
    pub struct ModifyRecipientsResponse = RopId::MODIFY_RECIPIENTS {
        /// InputHandleIndex, as in the request.
        pub input_handle_index: u8;
    }
}

rop_request! {
    /// MS-OXCROPS 2.2.6.7.1 RopReloadCachedInformation request.
    pub struct ReloadCachedInformationRequest = RopId::RELOAD_CACHED_INFORMATION, "RopReloadCachedInformation request" {
        /// LogonId.
        pub logon_id: u8 => "LogonId",
        /// InputHandleIndex: the message.
        pub input_handle_index: u8 => "InputHandleIndex",
        /// Reserved (0).
        pub reserved: u16 => "Reserved",
    }
}

/// The message description that RopReloadCachedInformation (MS-OXCROPS 2.2.6.7.2) and
/// RopOpenEmbeddedMessage (2.2.6.16.2) responses share with RopOpenMessage (2.2.6.1.2):
/// HasNamedProperties through RecipientRows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MessageInfo {
    /// HasNamedProperties (boolean byte).
    pub has_named_properties: u8,
    /// SubjectPrefix.
    pub subject_prefix: TypedString,
    /// NormalizedSubject.
    pub normalized_subject: TypedString,
    /// RecipientCount: all recipients of the message (may exceed the rows sent).
    pub recipient_count: u16,
    /// RecipientColumns (ColumnCount is derived).
    pub recipient_columns: Vec<PropertyTag>,
    /// RecipientRows (RowCount, u8, is derived; at most 255).
    pub recipient_rows: Vec<OpenRecipientRow>,
}

impl MessageInfo {
    /// Decodes HasNamedProperties through RecipientRows.
    pub fn decode(r: &mut ReadCursor<'_>) -> DecodeResult<Self> {
        let has_named_properties = r.u8("HasNamedProperties")?;
        let subject_prefix = TypedString::decode(r, "SubjectPrefix")?;
        let normalized_subject = TypedString::decode(r, "NormalizedSubject")?;
        let recipient_count = r.u16("RecipientCount")?;
        let recipient_columns = read_tags(r, "ColumnCount")?;
        let n = r.u8("RowCount")?;
        let recipient_rows = (0..n)
            .map(|_| OpenRecipientRow::decode(r, &recipient_columns))
            .collect::<DecodeResult<_>>()?;
        Ok(Self {
            has_named_properties,
            subject_prefix,
            normalized_subject,
            recipient_count,
            recipient_columns,
            recipient_rows,
        })
    }

    /// Encodes HasNamedProperties through RecipientRows; `structure` names the response.
    pub fn encode(&self, w: &mut WriteCursor, structure: &'static str) -> EncodeResult {
        w.u8(self.has_named_properties);
        self.subject_prefix.encode(w, "SubjectPrefix")?;
        self.normalized_subject.encode(w, "NormalizedSubject")?;
        w.u16(self.recipient_count);
        write_tags(w, &self.recipient_columns, structure, "ColumnCount")?;
        let n = self.recipient_rows.len();
        w.u8(u8::try_from(n).map_err(|_| EncodeError::TooLarge {
            structure,
            field: "RowCount",
            value: n,
            max: 255,
        })?);
        self.recipient_rows
            .iter()
            .try_for_each(|row| row.encode(w, &self.recipient_columns))
    }
}

/// MS-OXCROPS 2.2.6.7.2 RopReloadCachedInformation success response.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReloadCachedInformationResponse {
    /// InputHandleIndex, as in the request.
    pub input_handle_index: u8,
    /// The message's subject and recipients.
    pub info: MessageInfo,
}

impl ReloadCachedInformationResponse {
    /// This ROP's RopId.
    pub const ROP_ID: RopId = RopId::RELOAD_CACHED_INFORMATION;

    pub(crate) fn decode_body(
        r: &mut ReadCursor<'_>,
        input_handle_index: u8,
    ) -> DecodeResult<Self> {
        Ok(Self {
            input_handle_index,
            info: MessageInfo::decode(r)?,
        })
    }
}

impl Encode for ReloadCachedInformationResponse {
    fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        write_response_header(w, Self::ROP_ID, self.input_handle_index, ErrorCode::SUCCESS);
        self.info.encode(w, "RopReloadCachedInformation response")
    }
}

/// ReadFlags of RopSetMessageReadFlag and RopSetReadFlags (MS-OXCMSG 2.2.3.10.1, 2.2.3.11.1).
pub mod read_flags {
    /// rfDefault: set the read flag and send any read receipt.
    pub const DEFAULT: u8 = 0x00;
    /// rfSuppressReceipt: cancel a pending read receipt; set mfRead.
    pub const SUPPRESS_RECEIPT: u8 = 0x01;
    /// rfReserved: ignored by the server.
    pub const RESERVED: u8 = 0x0A;
    /// rfClearReadFlag: clear mfRead (with rfSuppressReceipt).
    pub const CLEAR_READ_FLAG: u8 = 0x04;
    /// rfGenerateReceiptOnly: send a pending read receipt, leave mfRead alone.
    pub const GENERATE_RECEIPT_ONLY: u8 = 0x10;
    /// rfClearNotifyRead: clear mfNotifyRead without a receipt.
    pub const CLEAR_NOTIFY_READ: u8 = 0x20;
    /// rfClearNotifyUnread: clear mfNotifyUnread without a non-read receipt.
    pub const CLEAR_NOTIFY_UNREAD: u8 = 0x40;
}

/// MS-OXCROPS 2.2.6.11.1 RopSetMessageReadFlag request.
///
/// ClientData (24 bytes) is present exactly when the logon is a public-folder logon (Private
/// flag unset, MS-OXCMSG 2.2.3.11), which the bytes do not say: [`Decode`] (and so
/// [`crate::rop::RopRequest::decode`]) assumes a private mailbox; a server with public-folder
/// logons decodes with [`Self::decode_for_logon`].
///
/// [MS-OXCROPS 2.2.6.11.1](https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-oxcrops/b7b2b5a6-2d76-4acb-bbf1-5c04448b743a)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SetMessageReadFlagRequest {
    /// LogonId.
    pub logon_id: u8,
    /// ResponseHandleIndex: the folder; the response echoes it.
    pub response_handle_index: u8,
    /// InputHandleIndex: the message.
    pub input_handle_index: u8,
    /// ReadFlags, see [`read_flags`].
    pub read_flags: u8,
    /// ClientData (public-folder logons only).
    pub client_data: Option<[u8; 24]>,
}

impl SetMessageReadFlagRequest {
    /// This ROP's RopId.
    pub const ROP_ID: RopId = RopId::SET_MESSAGE_READ_FLAG;

    /// Decodes the request for a private-mailbox (`private`) or public-folder logon.
    pub fn decode_for_logon(r: &mut ReadCursor<'_>, private: bool) -> DecodeResult<Self> {
        (|| {
            expect_rop_id(r, Self::ROP_ID)?;
            Ok(Self {
                logon_id: r.u8("LogonId")?,
                response_handle_index: r.u8("ResponseHandleIndex")?,
                input_handle_index: r.u8("InputHandleIndex")?,
                read_flags: r.u8("ReadFlags")?,
                client_data: if private {
                    None
                } else {
                    Some(r.array("ClientData")?)
                },
            })
        })()
        .within("RopSetMessageReadFlag request")
    }
}

impl Decode for SetMessageReadFlagRequest {
    /// Decodes the request of a private-mailbox logon (no ClientData).
    fn decode(r: &mut ReadCursor<'_>) -> DecodeResult<Self> {
        Self::decode_for_logon(r, true)
    }
}

impl Encode for SetMessageReadFlagRequest {
    fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        w.u8(Self::ROP_ID.0);
        w.u8(self.logon_id);
        w.u8(self.response_handle_index);
        w.u8(self.input_handle_index);
        w.u8(self.read_flags);
        if let Some(c) = &self.client_data {
            w.bytes(c);
        }
        Ok(())
    }
}

/// The LogonId and ClientData a RopSetMessageReadFlag response carries when the read status
/// of a public-folder message changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReadStatusChange {
    /// LogonId of the request.
    pub logon_id: u8,
    /// ClientData of the request.
    pub client_data: [u8; 24],
}

/// MS-OXCROPS 2.2.6.11.2 RopSetMessageReadFlag success response.
///
/// ReadStatusChanged is derived from `changed` (sent as 0x01 when present).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SetMessageReadFlagResponse {
    /// ResponseHandleIndex, as in the request.
    pub response_handle_index: u8,
    /// Present when ReadStatusChanged is nonzero.
    pub changed: Option<ReadStatusChange>,
}

impl SetMessageReadFlagResponse {
    /// This ROP's RopId.
    pub const ROP_ID: RopId = RopId::SET_MESSAGE_READ_FLAG;

    pub(crate) fn decode_body(
        r: &mut ReadCursor<'_>,
        response_handle_index: u8,
    ) -> DecodeResult<Self> {
        let at = r.offset();
        let changed = match r.u8("ReadStatusChanged")? {
            0 => None,
            1 => Some(ReadStatusChange {
                logon_id: r.u8("LogonId")?,
                client_data: r.array("ClientData")?,
            }),
            b => {
                return Err(crate::error::DecodeError::invalid(
                    "ReadStatusChanged",
                    at,
                    format!("0x{b:02X} is not 0 or 1"),
                ));
            }
        };
        Ok(Self {
            response_handle_index,
            changed,
        })
    }
}

impl Encode for SetMessageReadFlagResponse {
    fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        write_response_header(
            w,
            Self::ROP_ID,
            self.response_handle_index,
            ErrorCode::SUCCESS,
        );
        match &self.changed {
            Some(c) => {
                w.u8(1);
                w.u8(c.logon_id);
                w.bytes(&c.client_data);
            }
            None => w.u8(0),
        }
        Ok(())
    }
}

/// MS-OXCROPS 2.2.6.10.1 RopSetReadFlags request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SetReadFlagsRequest {
    /// LogonId.
    pub logon_id: u8,
    /// InputHandleIndex: the folder.
    pub input_handle_index: u8,
    /// WantAsynchronous (boolean byte).
    pub want_asynchronous: u8,
    /// ReadFlags, see [`read_flags`].
    pub read_flags: u8,
    /// MessageIds (MessageIdCount, u16, is derived).
    pub message_ids: Vec<MessageId>,
}

impl SetReadFlagsRequest {
    /// This ROP's RopId.
    pub const ROP_ID: RopId = RopId::SET_READ_FLAGS;
}

impl Decode for SetReadFlagsRequest {
    fn decode(r: &mut ReadCursor<'_>) -> DecodeResult<Self> {
        (|| {
            expect_rop_id(r, Self::ROP_ID)?;
            Ok(Self {
                logon_id: r.u8("LogonId")?,
                input_handle_index: r.u8("InputHandleIndex")?,
                want_asynchronous: r.u8("WantAsynchronous")?,
                read_flags: r.u8("ReadFlags")?,
                message_ids: read_message_ids(r)?,
            })
        })()
        .within("RopSetReadFlags request")
    }
}

impl Encode for SetReadFlagsRequest {
    fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        w.u8(Self::ROP_ID.0);
        w.u8(self.logon_id);
        w.u8(self.input_handle_index);
        w.u8(self.want_asynchronous);
        w.u8(self.read_flags);
        write_message_ids(w, &self.message_ids, "RopSetReadFlags request")
    }
}

rop_response! {
    /// MS-OXCROPS 2.2.6.10.2 RopSetReadFlags success response.
    pub struct SetReadFlagsResponse = RopId::SET_READ_FLAGS {
        /// InputHandleIndex, as in the request.
        pub input_handle_index: u8;
        /// PartialCompletion: nonzero when some messages could not be changed.
        pub partial_completion: u8 => "PartialCompletion",
    }
}

/// MS-OXCROPS 2.2.8.8.1 RopDeleteProperties request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeletePropertiesRequest {
    /// LogonId.
    pub logon_id: u8,
    /// InputHandleIndex: the object.
    pub input_handle_index: u8,
    /// PropertyTags to delete (PropertyTagCount is derived).
    pub property_tags: Vec<PropertyTag>,
}

impl DeletePropertiesRequest {
    /// This ROP's RopId.
    pub const ROP_ID: RopId = RopId::DELETE_PROPERTIES;
}

impl Decode for DeletePropertiesRequest {
    fn decode(r: &mut ReadCursor<'_>) -> DecodeResult<Self> {
        (|| {
            expect_rop_id(r, Self::ROP_ID)?;
            Ok(Self {
                logon_id: r.u8("LogonId")?,
                input_handle_index: r.u8("InputHandleIndex")?,
                property_tags: read_tags(r, "PropertyTagCount")?,
            })
        })()
        .within("RopDeleteProperties request")
    }
}

impl Encode for DeletePropertiesRequest {
    fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        w.u8(Self::ROP_ID.0);
        w.u8(self.logon_id);
        w.u8(self.input_handle_index);
        write_tags(
            w,
            &self.property_tags,
            "RopDeleteProperties request",
            "PropertyTagCount",
        )
    }
}

/// MS-OXCROPS 2.2.8.8.2 RopDeleteProperties success response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeletePropertiesResponse {
    /// InputHandleIndex, as in the request.
    pub input_handle_index: u8,
    /// PropertyProblems: properties that could not be deleted.
    pub problems: Vec<PropertyProblem>,
}

impl DeletePropertiesResponse {
    /// This ROP's RopId.
    pub const ROP_ID: RopId = RopId::DELETE_PROPERTIES;

    pub(crate) fn decode_body(
        r: &mut ReadCursor<'_>,
        input_handle_index: u8,
    ) -> DecodeResult<Self> {
        Ok(Self {
            input_handle_index,
            problems: crate::rop::property::decode_problems(r)?,
        })
    }
}

impl Encode for DeletePropertiesResponse {
    fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        write_response_header(w, Self::ROP_ID, self.input_handle_index, ErrorCode::SUCCESS);
        crate::rop::property::encode_problems(w, &self.problems, "RopDeleteProperties response")
    }
}
