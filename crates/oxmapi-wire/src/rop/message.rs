//! Message and attachment ROPs (MS-OXCROPS 2.2.6, semantics in MS-OXCMSG) and the recipient
//! rows they carry (MS-OXCDATA 2.8.3).

use crate::cursor::{Encode, ReadCursor, WriteCursor, count_u16};
use crate::data::{ErrorCode, FolderId, MessageId, PropertyRow, PropertyTag, ValueContext};
use crate::error::{DecodeContext, DecodeError, DecodeResult, EncodeError, EncodeResult};
use crate::rop::wire::{
    RopId, check_latin1, read_tags, rop_request, rop_response, write_latin1_z,
    write_response_header, write_tags, write_utf16_z,
};

/// RecipientFlags bits (MS-OXCDATA 2.8.3.1).
pub mod recipient_flags {
    /// Mask of the 3-bit Type field.
    pub const TYPE_MASK: u16 = 0x0007;
    /// Type NoType.
    pub const TYPE_NONE: u16 = 0x0000;
    /// Type X500DN: AddressPrefixUsed, DisplayType and X500DN follow.
    pub const TYPE_X500DN: u16 = 0x0001;
    /// Type MsMail.
    pub const TYPE_MSMAIL: u16 = 0x0002;
    /// Type SMTP.
    pub const TYPE_SMTP: u16 = 0x0003;
    /// Type Fax.
    pub const TYPE_FAX: u16 = 0x0004;
    /// Type ProfessionalOfficeSystem.
    pub const TYPE_PROFESSIONAL_OFFICE_SYSTEM: u16 = 0x0005;
    /// Type PersonalDistributionList1: EntryId and SearchKey follow.
    pub const TYPE_PERSONAL_DLIST1: u16 = 0x0006;
    /// Type PersonalDistributionList2: EntryId and SearchKey follow.
    pub const TYPE_PERSONAL_DLIST2: u16 = 0x0007;
    /// E: EmailAddress present.
    pub const EMAIL: u16 = 0x0008;
    /// D: DisplayName present.
    pub const DISPLAY: u16 = 0x0010;
    /// T: TransmittableDisplayName present.
    pub const TRANSMITTABLE: u16 = 0x0020;
    /// S: TransmittableDisplayName is the same as DisplayName.
    pub const SAME: u16 = 0x0040;
    /// R: Responsible.
    pub const RESPONSIBLE: u16 = 0x0080;
    /// N: NonRichInfo.
    pub const NON_RICH: u16 = 0x0100;
    /// U: the strings are UTF-16LE (else 8-bit).
    pub const UNICODE: u16 = 0x0200;
    /// I: SimpleDisplayName present.
    pub const SIMPLE: u16 = 0x0400;
    /// O: OutOfStandard; with Type NoType, AddressType follows.
    pub const OUT_OF_STANDARD: u16 = 0x8000;
}

use recipient_flags as rf;

/// TypedString (MS-OXCROPS 2.2.6.1.2.1): a string with its own type byte.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TypedString {
    /// StringType 0x00: no string.
    #[default]
    None,
    /// StringType 0x01: the empty string.
    Empty,
    /// StringType 0x02: 8-bit string in the message's code page (bytes, without the NUL).
    String8(Vec<u8>),
    /// StringType 0x03: reduced Unicode, one byte per character (bytes, without the NUL).
    ReducedUnicode(Vec<u8>),
    /// StringType 0x04: UTF-16LE.
    Unicode(String),
}

impl TypedString {
    /// Decodes StringType and the string.
    pub fn decode(r: &mut ReadCursor<'_>, field: &'static str) -> DecodeResult<Self> {
        let at = r.offset();
        Ok(match r.u8(field)? {
            0x00 => Self::None,
            0x01 => Self::Empty,
            0x02 => Self::String8(r.cstr(field)?.to_vec()),
            0x03 => Self::ReducedUnicode(r.cstr(field)?.to_vec()),
            0x04 => Self::Unicode(r.utf16_z(field)?),
            t => {
                return Err(DecodeError::invalid(
                    field,
                    at,
                    format!("StringType 0x{t:02X} is not 0x00-0x04"),
                ));
            }
        })
    }

    /// Encodes StringType and the string.
    pub fn encode(&self, w: &mut WriteCursor, field: &'static str) -> EncodeResult {
        const S: &str = "TypedString";
        let no_nul = |b: &[u8]| {
            if b.contains(&0) {
                Err(EncodeError::Invalid {
                    structure: S,
                    field,
                    detail: "contains a NUL byte".into(),
                })
            } else {
                Ok(())
            }
        };
        match self {
            Self::None => w.u8(0x00),
            Self::Empty => w.u8(0x01),
            Self::String8(b) => {
                no_nul(b)?;
                w.u8(0x02);
                w.cstr(b);
            }
            Self::ReducedUnicode(b) => {
                no_nul(b)?;
                w.u8(0x03);
                w.cstr(b);
            }
            Self::Unicode(s) => {
                w.u8(0x04);
                write_utf16_z(w, s, S, field)?;
            }
        }
        Ok(())
    }
}

/// The X500DN part of a RecipientRow (present when the Type is X500DN).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct X500Info {
    /// AddressPrefixUsed: bytes of the organisation prefix left out of `x500_dn`.
    pub address_prefix_used: u8,
    /// DisplayType (PidTagDisplayType, one byte).
    pub display_type: u8,
    /// X500DN (8-bit, NUL-terminated).
    pub x500_dn: String,
}

/// RecipientRow (MS-OXCDATA 2.8.3.2).
///
/// The optional fields are present exactly when [`Self::flags`] says so; the encoder
/// refuses a row where they disagree. Strings are UTF-16LE when the U flag is set, else 8-bit
/// (decoded as Latin-1). `properties` holds the first `column_count` recipient columns.
///
/// [MS-OXCDATA 2.8.3.2](https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-oxcdata/3f5019fb-f50b-4ba1-ae11-28361585da2f)
#[derive(Debug, Clone, PartialEq)]
pub struct RecipientRow {
    /// RecipientFlags, see [`recipient_flags`].
    pub flags: u16,
    /// Present when the Type is X500DN.
    pub x500: Option<X500Info>,
    /// EntryId (Type PersonalDistributionList1/2).
    pub entry_id: Option<Vec<u8>>,
    /// SearchKey (Type PersonalDistributionList1/2).
    pub search_key: Option<Vec<u8>>,
    /// AddressType (Type NoType with the O flag), 8-bit.
    pub address_type: Option<String>,
    /// EmailAddress (E flag).
    pub email_address: Option<String>,
    /// DisplayName (D flag).
    pub display_name: Option<String>,
    /// SimpleDisplayName (I flag).
    pub simple_display_name: Option<String>,
    /// TransmittableDisplayName (T flag).
    pub transmittable_display_name: Option<String>,
    /// RecipientColumnCount: how many of the recipient columns `properties` covers.
    pub column_count: u16,
    /// RecipientProperties.
    pub properties: PropertyRow,
}

impl RecipientRow {
    fn ty(&self) -> u16 {
        self.flags & rf::TYPE_MASK
    }

    fn unicode(&self) -> bool {
        self.flags & rf::UNICODE != 0
    }

    /// Decodes a row whose properties follow `columns` (the message's recipient columns).
    pub fn decode(r: &mut ReadCursor<'_>, columns: &[PropertyTag]) -> DecodeResult<Self> {
        (|| {
            let flags = r.u16("RecipientFlags")?;
            let ty = flags & rf::TYPE_MASK;
            let unicode = flags & rf::UNICODE != 0;
            let x500 = if ty == rf::TYPE_X500DN {
                Some(X500Info {
                    address_prefix_used: r.u8("AddressPrefixUsed")?,
                    display_type: r.u8("DisplayType")?,
                    x500_dn: r.ascii_z("X500DN")?,
                })
            } else {
                None
            };
            let dlist = ty == rf::TYPE_PERSONAL_DLIST1 || ty == rf::TYPE_PERSONAL_DLIST2;
            let (entry_id, search_key) = if dlist {
                (
                    Some(read_bin(r, "EntryIdSize", "EntryId")?),
                    Some(read_bin(r, "SearchKeySize", "SearchKey")?),
                )
            } else {
                (None, None)
            };
            let address_type = if ty == rf::TYPE_NONE && flags & rf::OUT_OF_STANDARD != 0 {
                Some(r.ascii_z("AddressType")?)
            } else {
                None
            };
            let mut opt = |bit: u16, field| -> DecodeResult<Option<String>> {
                if flags & bit == 0 {
                    Ok(None)
                } else if unicode {
                    r.utf16_z(field).map(Some)
                } else {
                    r.ascii_z(field).map(Some)
                }
            };
            let email_address = opt(rf::EMAIL, "EmailAddress")?;
            let display_name = opt(rf::DISPLAY, "DisplayName")?;
            let simple_display_name = opt(rf::SIMPLE, "SimpleDisplayName")?;
            let transmittable_display_name = opt(rf::TRANSMITTABLE, "TransmittableDisplayName")?;
            let at = r.offset();
            let column_count = r.u16("RecipientColumnCount")?;
            let cols = columns.get(..usize::from(column_count)).ok_or_else(|| {
                DecodeError::invalid(
                    "RecipientColumnCount",
                    at,
                    format!(
                        "{column_count} is more than the {} recipient columns",
                        columns.len()
                    ),
                )
            })?;
            let properties = PropertyRow::decode(r, cols, ValueContext::Rop)?;
            Ok(Self {
                flags,
                x500,
                entry_id,
                search_key,
                address_type,
                email_address,
                display_name,
                simple_display_name,
                transmittable_display_name,
                column_count,
                properties,
            })
        })()
        .within("RecipientRow")
    }

    /// Encodes the row; `columns` are the message's recipient columns.
    pub fn encode(&self, w: &mut WriteCursor, columns: &[PropertyTag]) -> EncodeResult {
        self.check_presence()?;
        w.u16(self.flags);
        if let Some(x) = &self.x500 {
            w.u8(x.address_prefix_used);
            w.u8(x.display_type);
            write_latin1_z(w, &x.x500_dn, S, "X500DN")?;
        }
        if let (Some(e), Some(k)) = (&self.entry_id, &self.search_key) {
            write_bin(w, e, "EntryIdSize")?;
            write_bin(w, k, "SearchKeySize")?;
        }
        if let Some(a) = &self.address_type {
            write_latin1_z(w, a, S, "AddressType")?;
        }
        for (v, field) in [
            (&self.email_address, "EmailAddress"),
            (&self.display_name, "DisplayName"),
            (&self.simple_display_name, "SimpleDisplayName"),
            (&self.transmittable_display_name, "TransmittableDisplayName"),
        ] {
            if let Some(s) = v {
                if self.unicode() {
                    write_utf16_z(w, s, S, field)?;
                } else {
                    write_latin1_z(w, s, S, field)?;
                }
            }
        }
        w.u16(self.column_count);
        let cols = columns
            .get(..usize::from(self.column_count))
            .ok_or_else(|| EncodeError::Invalid {
                structure: S,
                field: "RecipientColumnCount",
                detail: format!("more than the {} recipient columns", columns.len()),
            })?;
        self.properties.encode(w, cols, ValueContext::Rop)
    }

    /// Fails when an optional field's presence disagrees with the flags.
    fn check_presence(&self) -> EncodeResult {
        let ty = self.ty();
        let dlist = ty == rf::TYPE_PERSONAL_DLIST1 || ty == rf::TYPE_PERSONAL_DLIST2;
        let checks = [
            ("X500DN", ty == rf::TYPE_X500DN, self.x500.is_some()),
            ("EntryId", dlist, self.entry_id.is_some()),
            ("SearchKey", dlist, self.search_key.is_some()),
            (
                "AddressType",
                ty == rf::TYPE_NONE && self.flags & rf::OUT_OF_STANDARD != 0,
                self.address_type.is_some(),
            ),
            (
                "EmailAddress",
                self.flags & rf::EMAIL != 0,
                self.email_address.is_some(),
            ),
            (
                "DisplayName",
                self.flags & rf::DISPLAY != 0,
                self.display_name.is_some(),
            ),
            (
                "SimpleDisplayName",
                self.flags & rf::SIMPLE != 0,
                self.simple_display_name.is_some(),
            ),
            (
                "TransmittableDisplayName",
                self.flags & rf::TRANSMITTABLE != 0,
                self.transmittable_display_name.is_some(),
            ),
        ];
        for (field, want, have) in checks {
            if want != have {
                return Err(EncodeError::Invalid {
                    structure: S,
                    field,
                    detail: format!(
                        "RecipientFlags 0x{:04X} say {}present but the field is {}",
                        self.flags,
                        if want { "" } else { "not " },
                        if have { "set" } else { "missing" }
                    ),
                });
            }
        }
        if let Some(x) = &self.x500 {
            check_latin1(&x.x500_dn, S, "X500DN")?;
        }
        Ok(())
    }
}

const S: &str = "RecipientRow";

fn read_bin(
    r: &mut ReadCursor<'_>,
    size: &'static str,
    field: &'static str,
) -> DecodeResult<Vec<u8>> {
    let n = usize::from(r.u16(size)?);
    Ok(r.bytes(n, field)?.to_vec())
}

fn write_bin(w: &mut WriteCursor, b: &[u8], size: &'static str) -> EncodeResult {
    w.u16(count_u16(b.len(), S, size)?);
    w.bytes(b);
    Ok(())
}

/// Reads RecipientRowSize and a RecipientRow that must fill it exactly.
fn read_sized_row(r: &mut ReadCursor<'_>, columns: &[PropertyTag]) -> DecodeResult<RecipientRow> {
    let size = usize::from(r.u16("RecipientRowSize")?);
    let mut s = r.sub(size, "RecipientRow")?;
    let row = RecipientRow::decode(&mut s, columns)?;
    s.finish("RecipientRow")?;
    Ok(row)
}

fn write_sized_row(
    w: &mut WriteCursor,
    row: &RecipientRow,
    columns: &[PropertyTag],
) -> EncodeResult {
    let at = w.reserve_u16();
    row.encode(w, columns)?;
    let size = w.len() - at - 2;
    w.patch_u16(at, size, S, "RecipientRowSize")
}

/// OpenRecipientRow (MS-OXCDATA 2.8.3.1 usage in MS-OXCROPS 2.2.6.1.2): a recipient of a
/// RopOpenMessage response.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenRecipientRow {
    /// RecipientType (1 To, 2 Cc, 3 Bcc, with flag bits).
    pub recipient_type: u8,
    /// CodePageId of the 8-bit strings.
    pub code_page_id: u16,
    /// Reserved (0).
    pub reserved: u16,
    /// RecipientRow (RecipientRowSize is derived).
    pub row: RecipientRow,
}

impl OpenRecipientRow {
    /// Decodes one row against the message's recipient columns.
    pub fn decode(r: &mut ReadCursor<'_>, columns: &[PropertyTag]) -> DecodeResult<Self> {
        (|| {
            Ok(Self {
                recipient_type: r.u8("RecipientType")?,
                code_page_id: r.u16("CodePageId")?,
                reserved: r.u16("Reserved")?,
                row: read_sized_row(r, columns)?,
            })
        })()
        .within("OpenRecipientRow")
    }

    /// Encodes the row.
    pub fn encode(&self, w: &mut WriteCursor, columns: &[PropertyTag]) -> EncodeResult {
        w.u8(self.recipient_type);
        w.u16(self.code_page_id);
        w.u16(self.reserved);
        write_sized_row(w, &self.row, columns)
    }
}

/// ReadRecipientRow (MS-OXCROPS 2.2.6.6.2): a recipient of a RopReadRecipients response.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadRecipientRow {
    /// RowId of the recipient.
    pub row_id: u32,
    /// RecipientType.
    pub recipient_type: u8,
    /// CodePageId.
    pub code_page_id: u16,
    /// Reserved (0).
    pub reserved: u16,
    /// RecipientRow (RecipientRowSize is derived).
    pub row: RecipientRow,
}

impl ReadRecipientRow {
    /// Decodes one row against the message's recipient columns.
    pub fn decode(r: &mut ReadCursor<'_>, columns: &[PropertyTag]) -> DecodeResult<Self> {
        (|| {
            Ok(Self {
                row_id: r.u32("RowId")?,
                recipient_type: r.u8("RecipientType")?,
                code_page_id: r.u16("CodePageId")?,
                reserved: r.u16("Reserved")?,
                row: read_sized_row(r, columns)?,
            })
        })()
        .within("ReadRecipientRow")
    }

    /// Encodes the row.
    pub fn encode(&self, w: &mut WriteCursor, columns: &[PropertyTag]) -> EncodeResult {
        w.u32(self.row_id);
        w.u8(self.recipient_type);
        w.u16(self.code_page_id);
        w.u16(self.reserved);
        write_sized_row(w, &self.row, columns)
    }
}

rop_request! {
    /// MS-OXCROPS 2.2.6.1.1 RopOpenMessage request.
    pub struct OpenMessageRequest = RopId::OPEN_MESSAGE, "RopOpenMessage request" {
        /// LogonId.
        pub logon_id: u8 => "LogonId",
        /// InputHandleIndex: the logon or a folder.
        pub input_handle_index: u8 => "InputHandleIndex",
        /// OutputHandleIndex: where the message handle goes.
        pub output_handle_index: u8 => "OutputHandleIndex",
        /// CodePageId (0x0FFF: the logon's code page).
        pub code_page_id: u16 => "CodePageId",
        /// FolderId of the message's folder.
        pub folder_id: FolderId => "FolderId",
        /// OpenModeFlags (0x00 ReadOnly, 0x01 ReadWrite, 0x03 BestAccess, 0x04 OpenSoftDeleted).
        pub open_mode_flags: u8 => "OpenModeFlags",
        /// MessageId.
        pub message_id: MessageId => "MessageId",
    }
}

/// MS-OXCROPS 2.2.6.1.2 RopOpenMessage success response.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OpenMessageResponse {
    /// OutputHandleIndex, as in the request.
    pub output_handle_index: u8,
    /// HasNamedProperties (boolean byte).
    pub has_named_properties: u8,
    /// SubjectPrefix.
    pub subject_prefix: TypedString,
    /// NormalizedSubject.
    pub normalized_subject: TypedString,
    /// RecipientCount: all recipients of the message (may exceed the rows sent).
    pub recipient_count: u16,
    /// RecipientColumns: the columns of every row's RecipientProperties.
    pub recipient_columns: Vec<PropertyTag>,
    /// RecipientRows (RowCount, at most 255).
    pub recipient_rows: Vec<OpenRecipientRow>,
}

impl OpenMessageResponse {
    /// This ROP's RopId.
    pub const ROP_ID: RopId = RopId::OPEN_MESSAGE;

    pub(crate) fn decode_body(
        r: &mut ReadCursor<'_>,
        output_handle_index: u8,
    ) -> DecodeResult<Self> {
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
            output_handle_index,
            has_named_properties,
            subject_prefix,
            normalized_subject,
            recipient_count,
            recipient_columns,
            recipient_rows,
        })
    }
}

impl Encode for OpenMessageResponse {
    fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        const S: &str = "RopOpenMessage response";
        write_response_header(
            w,
            Self::ROP_ID,
            self.output_handle_index,
            ErrorCode::SUCCESS,
        );
        w.u8(self.has_named_properties);
        self.subject_prefix.encode(w, "SubjectPrefix")?;
        self.normalized_subject.encode(w, "NormalizedSubject")?;
        w.u16(self.recipient_count);
        write_tags(w, &self.recipient_columns, S, "ColumnCount")?;
        w.u8(row_count_u8(self.recipient_rows.len(), S)?);
        for row in &self.recipient_rows {
            row.encode(w, &self.recipient_columns)?;
        }
        Ok(())
    }
}

fn row_count_u8(n: usize, structure: &'static str) -> EncodeResult<u8> {
    u8::try_from(n).map_err(|_| EncodeError::TooLarge {
        structure,
        field: "RowCount",
        value: n,
        max: 255,
    })
}

rop_request! {
    /// MS-OXCROPS 2.2.6.6.1 RopReadRecipients request.
    pub struct ReadRecipientsRequest = RopId::READ_RECIPIENTS, "RopReadRecipients request" {
        /// LogonId.
        pub logon_id: u8 => "LogonId",
        /// InputHandleIndex: the message.
        pub input_handle_index: u8 => "InputHandleIndex",
        /// RowId of the first recipient to return.
        pub row_id: u32 => "RowId",
        /// Reserved (0).
        pub reserved: u16 => "Reserved",
    }
}

/// MS-OXCROPS 2.2.6.6.2 RopReadRecipients success response.
///
/// `columns` is not on the wire: the message's recipient columns (from its RopOpenMessage
/// response), filled from the context when decoding.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReadRecipientsResponse {
    /// InputHandleIndex, as in the request.
    pub input_handle_index: u8,
    /// The recipient columns (not sent).
    pub columns: Vec<PropertyTag>,
    /// RecipientRows (RowCount, at most 255).
    pub rows: Vec<ReadRecipientRow>,
}

impl ReadRecipientsResponse {
    /// This ROP's RopId.
    pub const ROP_ID: RopId = RopId::READ_RECIPIENTS;

    pub(crate) fn decode_body(
        r: &mut ReadCursor<'_>,
        input_handle_index: u8,
        columns: &[PropertyTag],
    ) -> DecodeResult<Self> {
        let n = r.u8("RowCount")?;
        let rows = (0..n)
            .map(|_| ReadRecipientRow::decode(r, columns))
            .collect::<DecodeResult<_>>()?;
        Ok(Self {
            input_handle_index,
            columns: columns.to_vec(),
            rows,
        })
    }
}

impl Encode for ReadRecipientsResponse {
    fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        write_response_header(w, Self::ROP_ID, self.input_handle_index, ErrorCode::SUCCESS);
        w.u8(row_count_u8(self.rows.len(), "RopReadRecipients response")?);
        for row in &self.rows {
            row.encode(w, &self.columns)?;
        }
        Ok(())
    }
}

rop_request! {
    /// MS-OXCROPS 2.2.6.17.1 RopGetAttachmentTable request.
    pub struct GetAttachmentTableRequest = RopId::GET_ATTACHMENT_TABLE, "RopGetAttachmentTable request" {
        /// LogonId.
        pub logon_id: u8 => "LogonId",
        /// InputHandleIndex: the message.
        pub input_handle_index: u8 => "InputHandleIndex",
        /// OutputHandleIndex: where the table handle goes.
        pub output_handle_index: u8 => "OutputHandleIndex",
        /// TableFlags (0x40 UseUnicode).
        pub table_flags: u8 => "TableFlags",
    }
}

rop_response! {
    /// MS-OXCROPS 2.2.6.17.2 RopGetAttachmentTable response (header only).
    pub struct GetAttachmentTableResponse = RopId::GET_ATTACHMENT_TABLE {
        /// OutputHandleIndex, as in the request.
        pub output_handle_index: u8;
    }
}

rop_request! {
    /// MS-OXCROPS 2.2.6.12.1 RopOpenAttachment request.
    pub struct OpenAttachmentRequest = RopId::OPEN_ATTACHMENT, "RopOpenAttachment request" {
        /// LogonId.
        pub logon_id: u8 => "LogonId",
        /// InputHandleIndex: the message.
        pub input_handle_index: u8 => "InputHandleIndex",
        /// OutputHandleIndex: where the attachment handle goes.
        pub output_handle_index: u8 => "OutputHandleIndex",
        /// OpenAttachmentFlags (0x00 ReadOnly, 0x01 ReadWrite, 0x02 BestAccess).
        pub open_attachment_flags: u8 => "OpenAttachmentFlags",
        /// AttachmentID (PidTagAttachNumber).
        pub attachment_id: u32 => "AttachmentID",
    }
}

rop_response! {
    /// MS-OXCROPS 2.2.6.12.2 RopOpenAttachment response (header only).
    pub struct OpenAttachmentResponse = RopId::OPEN_ATTACHMENT {
        /// OutputHandleIndex, as in the request.
        pub output_handle_index: u8;
    }
}
