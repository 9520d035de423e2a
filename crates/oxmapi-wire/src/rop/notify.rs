//! The notification ROPs (MS-OXCROPS 2.2.14): RopNotify and RopPending responses, and the
//! NotificationData a RopNotify carries (MS-OXCNOTIF 2.2.1.4.1.2).
//!
//! A server appends these to the ROP output buffer of any Execute on a session with open
//! tables or notification subscriptions (MS-OXCNOTIF 3.1.5.7). They answer no request, so
//! [`RopResponseBuffer::decode`](crate::rop::RopResponseBuffer::decode) accepts them anywhere
//! in the list.
//!
//! [MS-OXCROPS 2.2.14](https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-oxcrops/795ba822-d055-4b88-b555-b4a0df8eb73c)

use std::fmt;

use crate::cursor::{Decode, Encode, ReadCursor, WriteCursor, count_u16};
use crate::data::{FolderId, MessageId, PropertyRow, PropertyTag, ValueContext};
use crate::error::{DecodeContext, DecodeError, DecodeResult, EncodeError, EncodeResult};
use crate::rop::wire::{RopId, WireField, expect_rop_id, write_latin1_z, write_utf16_z};

/// The bits of NotificationFlags besides the type (MS-OXCNOTIF 2.2.1.4.1.2).
pub mod notification_flags {
    /// The low 12 bits: the NotificationType.
    pub const TYPE_MASK: u16 = 0x0FFF;
    /// T: TotalMessageCount is present.
    pub const TOTAL_MESSAGE_COUNT: u16 = 0x1000;
    /// U: UnreadMessageCount is present.
    pub const UNREAD_MESSAGE_COUNT: u16 = 0x2000;
    /// S: the event concerns a search folder.
    pub const SEARCH_FOLDER: u16 = 0x4000;
    /// M: the event concerns a message.
    pub const MESSAGE: u16 = 0x8000;
}

use notification_flags as nf;

/// NotificationType: the low 12 bits of NotificationFlags, exactly one bit set
/// (MS-OXCNOTIF 2.2.1.4.1.2). It decides which fields follow, so unknown values are rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotificationType {
    /// 0x0002 NewMail.
    NewMail,
    /// 0x0004 ObjectCreated.
    ObjectCreated,
    /// 0x0008 ObjectDeleted.
    ObjectDeleted,
    /// 0x0010 ObjectModified.
    ObjectModified,
    /// 0x0020 ObjectMoved.
    ObjectMoved,
    /// 0x0040 ObjectCopied.
    ObjectCopied,
    /// 0x0080 SearchComplete.
    SearchComplete,
    /// 0x0100 TableModified.
    TableModified,
    /// 0x0400 StatusObjectModified.
    StatusObjectModified,
    /// 0x0800 reserved (no fields of its own).
    Reserved,
}

impl NotificationType {
    const ALL: [(Self, u16); 10] = [
        (Self::NewMail, 0x0002),
        (Self::ObjectCreated, 0x0004),
        (Self::ObjectDeleted, 0x0008),
        (Self::ObjectModified, 0x0010),
        (Self::ObjectMoved, 0x0020),
        (Self::ObjectCopied, 0x0040),
        (Self::SearchComplete, 0x0080),
        (Self::TableModified, 0x0100),
        (Self::StatusObjectModified, 0x0400),
        (Self::Reserved, 0x0800),
    ];

    /// The type's bit in NotificationFlags.
    pub fn bits(self) -> u16 {
        Self::ALL
            .iter()
            .find(|(t, _)| *t == self)
            .map_or(0, |&(_, b)| b)
    }

    /// The type whose bit is `bits` (the low 12 bits of NotificationFlags), if exactly one
    /// known bit is set.
    pub fn from_bits(bits: u16) -> Option<Self> {
        Self::ALL.iter().find(|&&(_, b)| b == bits).map(|&(t, _)| t)
    }

    /// NewMail or one of the Object* types: FolderId follows, and MessageId when M is set.
    fn names_an_object(self) -> bool {
        matches!(
            self,
            Self::NewMail
                | Self::ObjectCreated
                | Self::ObjectDeleted
                | Self::ObjectModified
                | Self::ObjectMoved
                | Self::ObjectCopied
        )
    }
}

/// TableEventType of a TableModified notification (MS-OXCNOTIF 2.2.1.4.1.2). It decides which
/// fields follow, so unknown values are rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TableEventType {
    /// 0x0001 TableChanged: re-read the table.
    TableChanged,
    /// 0x0003 TableRowAdded.
    TableRowAdded,
    /// 0x0004 TableRowDeleted.
    TableRowDeleted,
    /// 0x0005 TableRowModified.
    TableRowModified,
    /// 0x0007 TableRestrictionChanged.
    TableRestrictionChanged,
}

impl TableEventType {
    const ALL: [(Self, u16); 5] = [
        (Self::TableChanged, 0x0001),
        (Self::TableRowAdded, 0x0003),
        (Self::TableRowDeleted, 0x0004),
        (Self::TableRowModified, 0x0005),
        (Self::TableRestrictionChanged, 0x0007),
    ];

    /// The wire value.
    pub fn value(self) -> u16 {
        Self::ALL
            .iter()
            .find(|(t, _)| *t == self)
            .map_or(0, |&(_, v)| v)
    }

    /// The event of wire value `v`, if known.
    pub fn from_value(v: u16) -> Option<Self> {
        Self::ALL.iter().find(|&&(_, x)| x == v).map(|&(t, _)| t)
    }

    /// Added, deleted or modified: the row's IDs follow.
    fn names_a_row(self) -> bool {
        matches!(
            self,
            Self::TableRowAdded | Self::TableRowDeleted | Self::TableRowModified
        )
    }

    /// Added or modified: the insert position and the row's data follow.
    fn carries_row_data(self) -> bool {
        matches!(self, Self::TableRowAdded | Self::TableRowModified)
    }
}

/// TagCount and Tags of an ObjectCreated / ObjectModified notification
/// (MS-OXCNOTIF 2.2.1.4.1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotificationTags {
    /// TagCount 0xFFFF: no list is sent.
    Unlisted,
    /// TagCount then the tags (an empty list is TagCount 0).
    List(Vec<PropertyTag>),
}

/// MessageFlags, UnicodeFlag and MessageClass of a NewMail notification
/// (MS-OXCNOTIF 2.2.1.4.1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMailData {
    /// MessageFlags: PidTagMessageFlags of the new message.
    pub message_flags: u32,
    /// UnicodeFlag, as sent: non-zero when MessageClass is UTF-16LE, zero for 8-bit.
    pub unicode_flag: u8,
    /// MessageClass of the new message.
    pub message_class: String,
}

/// MS-OXCNOTIF 2.2.1.4.1.2 NotificationData: what happened, with exactly the fields the
/// NotificationFlags (type, T/U/S/M bits) and TableEventType call for.
///
/// Every optional field is present on the wire under a condition the spec states (given on
/// each field); decoding fills them accordingly and encoding refuses any other combination,
/// naming the field. NotificationFlags is not stored: its T and U bits follow from
/// [`Self::total_message_count`] and [`Self::unread_message_count`].
///
/// [MS-OXCNOTIF 2.2.1.4.1.2](https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-oxcnotif/bf44a6b5-33f4-4a39-b204-04d1b2e4295d)
#[derive(Clone, PartialEq, Eq)]
pub struct NotificationData {
    /// NotificationType (low 12 bits of NotificationFlags).
    pub notification_type: NotificationType,
    /// S bit (0x4000): the event concerns a search folder.
    pub search_folder: bool,
    /// M bit (0x8000): the event concerns a message.
    pub message: bool,
    /// TableEventType: TableModified only.
    pub table_event: Option<TableEventType>,
    /// TableRowFolderID: TableRowAdded, TableRowDeleted, TableRowModified.
    pub table_row_folder_id: Option<FolderId>,
    /// TableRowMessageID: as TableRowFolderID, with M.
    pub table_row_message_id: Option<MessageId>,
    /// TableRowInstance: as TableRowMessageID.
    pub table_row_instance: Option<u32>,
    /// InsertAfterTableRowFolderID: TableRowAdded, TableRowModified.
    pub insert_after_table_row_folder_id: Option<FolderId>,
    /// InsertAfterTableRowID: as InsertAfterTableRowFolderID, with M.
    pub insert_after_table_row_id: Option<MessageId>,
    /// InsertAfterTableRowInstance: as InsertAfterTableRowID.
    pub insert_after_table_row_instance: Option<u32>,
    /// TableRowData (TableRowDataSize is derived): TableRowAdded, TableRowModified. A
    /// PropertyRow laid out by the table's columns; see [`Self::table_row`].
    pub table_row_data: Option<Vec<u8>>,
    /// FolderId: NewMail, Object*, SearchComplete.
    pub folder_id: Option<FolderId>,
    /// MessageId: NewMail and Object*, with M.
    pub message_id: Option<MessageId>,
    /// ParentFolderId: ObjectCreated/Deleted/Moved/Copied when S and M are both set or both
    /// clear.
    pub parent_folder_id: Option<FolderId>,
    /// OldFolderId: ObjectMoved, ObjectCopied.
    pub old_folder_id: Option<FolderId>,
    /// OldMessageId: ObjectMoved, ObjectCopied, with M.
    pub old_message_id: Option<MessageId>,
    /// OldParentFolderId: ObjectMoved, ObjectCopied, without M.
    pub old_parent_folder_id: Option<FolderId>,
    /// TagCount and Tags: ObjectCreated, ObjectModified.
    pub tags: Option<NotificationTags>,
    /// TotalMessageCount: present exactly when the T bit (0x1000) is set.
    pub total_message_count: Option<u32>,
    /// UnreadMessageCount: present exactly when the U bit (0x2000) is set.
    pub unread_message_count: Option<u32>,
    /// MessageFlags, UnicodeFlag, MessageClass: NewMail.
    pub new_mail: Option<NewMailData>,
}

impl NotificationData {
    /// An empty notification of `notification_type` (no bits, no fields): a base to fill in.
    pub fn new(notification_type: NotificationType) -> Self {
        Self {
            notification_type,
            search_folder: false,
            message: false,
            table_event: None,
            table_row_folder_id: None,
            table_row_message_id: None,
            table_row_instance: None,
            insert_after_table_row_folder_id: None,
            insert_after_table_row_id: None,
            insert_after_table_row_instance: None,
            table_row_data: None,
            folder_id: None,
            message_id: None,
            parent_folder_id: None,
            old_folder_id: None,
            old_message_id: None,
            old_parent_folder_id: None,
            tags: None,
            total_message_count: None,
            unread_message_count: None,
            new_mail: None,
        }
    }

    /// NotificationFlags as it goes on the wire.
    pub fn notification_flags(&self) -> u16 {
        let bit = |on: bool, b: u16| if on { b } else { 0 };
        self.notification_type.bits()
            | bit(self.total_message_count.is_some(), nf::TOTAL_MESSAGE_COUNT)
            | bit(
                self.unread_message_count.is_some(),
                nf::UNREAD_MESSAGE_COUNT,
            )
            | bit(self.search_folder, nf::SEARCH_FOLDER)
            | bit(self.message, nf::MESSAGE)
    }

    /// TableRowData decoded as a PropertyRow (MS-OXCDATA 2.8.1) for the table's `columns`
    /// (those last set with RopSetColumns); `None` when the notification carries no row. The
    /// row must fill TableRowData exactly; offsets in errors count from its first byte.
    pub fn table_row(&self, columns: &[PropertyTag]) -> Option<DecodeResult<PropertyRow>> {
        let data = self.table_row_data.as_deref()?;
        let mut r = ReadCursor::new(data);
        Some(
            PropertyRow::decode(&mut r, columns, ValueContext::Rop)
                .and_then(|row| r.finish("PropertyRow").map(|()| row))
                .within("TableRowData"),
        )
    }

    fn layout(&self) -> Layout {
        Layout::new(
            self.notification_type,
            self.search_folder,
            self.message,
            self.table_event,
        )
    }

    /// Fails, naming the first field whose presence the flags do not call for (or the
    /// reverse).
    fn check(&self) -> EncodeResult {
        let l = self.layout();
        let fields = [
            ("TableEventType", l.table_event, self.table_event.is_some()),
            (
                "TableRowFolderID",
                l.row,
                self.table_row_folder_id.is_some(),
            ),
            (
                "TableRowMessageID",
                l.row_message,
                self.table_row_message_id.is_some(),
            ),
            (
                "TableRowInstance",
                l.row_message,
                self.table_row_instance.is_some(),
            ),
            (
                "InsertAfterTableRowFolderID",
                l.row_data,
                self.insert_after_table_row_folder_id.is_some(),
            ),
            (
                "InsertAfterTableRowID",
                l.row_data_message,
                self.insert_after_table_row_id.is_some(),
            ),
            (
                "InsertAfterTableRowInstance",
                l.row_data_message,
                self.insert_after_table_row_instance.is_some(),
            ),
            ("TableRowData", l.row_data, self.table_row_data.is_some()),
            ("FolderId", l.folder_id, self.folder_id.is_some()),
            ("MessageId", l.message_id, self.message_id.is_some()),
            (
                "ParentFolderId",
                l.parent_folder_id,
                self.parent_folder_id.is_some(),
            ),
            ("OldFolderId", l.old_folder_id, self.old_folder_id.is_some()),
            (
                "OldMessageId",
                l.old_message_id,
                self.old_message_id.is_some(),
            ),
            (
                "OldParentFolderId",
                l.old_parent_folder_id,
                self.old_parent_folder_id.is_some(),
            ),
            ("TagCount", l.tags, self.tags.is_some()),
            ("MessageClass", l.new_mail, self.new_mail.is_some()),
        ];
        match fields.into_iter().find(|&(_, want, have)| want != have) {
            None => Ok(()),
            Some((field, want, _)) => Err(EncodeError::Invalid {
                structure: "NotificationData",
                field,
                detail: format!(
                    "{} with NotificationFlags 0x{:04X}{}",
                    if want { "missing" } else { "not allowed" },
                    self.notification_flags(),
                    self.table_event
                        .map(|e| format!(" and TableEventType 0x{:04X}", e.value()))
                        .unwrap_or_default(),
                ),
            }),
        }
    }
}

/// Which optional fields NotificationFlags and TableEventType call for
/// (MS-OXCNOTIF 2.2.1.4.1.2); T and U are read from the flags directly.
struct Layout {
    table_event: bool,
    row: bool,
    row_message: bool,
    row_data: bool,
    row_data_message: bool,
    folder_id: bool,
    message_id: bool,
    parent_folder_id: bool,
    old_folder_id: bool,
    old_message_id: bool,
    old_parent_folder_id: bool,
    tags: bool,
    new_mail: bool,
}

impl Layout {
    fn new(ty: NotificationType, s: bool, m: bool, event: Option<TableEventType>) -> Self {
        use NotificationType as T;
        let table = ty == T::TableModified;
        let event = event.filter(|_| table);
        let row = event.is_some_and(TableEventType::names_a_row);
        let row_data = event.is_some_and(TableEventType::carries_row_data);
        let moved = matches!(ty, T::ObjectMoved | T::ObjectCopied);
        let has_parent = moved || matches!(ty, T::ObjectCreated | T::ObjectDeleted);
        Self {
            table_event: table,
            row,
            row_message: row && m,
            row_data,
            row_data_message: row_data && m,
            folder_id: ty.names_an_object() || ty == T::SearchComplete,
            message_id: ty.names_an_object() && m,
            parent_folder_id: has_parent && s == m,
            old_folder_id: moved,
            old_message_id: moved && m,
            old_parent_folder_id: moved && !m,
            tags: matches!(ty, T::ObjectCreated | T::ObjectModified),
            new_mail: ty == T::NewMail,
        }
    }
}

impl Decode for NotificationData {
    fn decode(r: &mut ReadCursor<'_>) -> DecodeResult<Self> {
        (|| {
            let at = r.offset();
            let flags = r.u16("NotificationFlags")?;
            let ty = NotificationType::from_bits(flags & nf::TYPE_MASK).ok_or_else(|| {
                DecodeError::invalid(
                    "NotificationFlags",
                    at,
                    format!(
                        "NotificationType 0x{:04X} is not exactly one known type bit",
                        flags & nf::TYPE_MASK
                    ),
                )
            })?;
            let mut d = Self::new(ty);
            d.search_folder = flags & nf::SEARCH_FOLDER != 0;
            d.message = flags & nf::MESSAGE != 0;
            if ty == NotificationType::TableModified {
                d.table_event = Some(read_table_event(r)?);
            }
            let l = d.layout();
            let folder = |r: &mut ReadCursor<'_>, on: bool, f| on.then(|| FolderId::read(r, f));
            let message = |r: &mut ReadCursor<'_>, on: bool, f| on.then(|| MessageId::read(r, f));
            let int = |r: &mut ReadCursor<'_>, on: bool, f| on.then(|| r.u32(f));
            d.table_row_folder_id = folder(r, l.row, "TableRowFolderID").transpose()?;
            d.table_row_message_id = message(r, l.row_message, "TableRowMessageID").transpose()?;
            d.table_row_instance = int(r, l.row_message, "TableRowInstance").transpose()?;
            d.insert_after_table_row_folder_id =
                folder(r, l.row_data, "InsertAfterTableRowFolderID").transpose()?;
            d.insert_after_table_row_id =
                message(r, l.row_data_message, "InsertAfterTableRowID").transpose()?;
            d.insert_after_table_row_instance =
                int(r, l.row_data_message, "InsertAfterTableRowInstance").transpose()?;
            if l.row_data {
                let n = usize::from(r.u16("TableRowDataSize")?);
                d.table_row_data = Some(r.bytes(n, "TableRowData")?.to_vec());
            }
            d.folder_id = folder(r, l.folder_id, "FolderId").transpose()?;
            d.message_id = message(r, l.message_id, "MessageId").transpose()?;
            d.parent_folder_id = folder(r, l.parent_folder_id, "ParentFolderId").transpose()?;
            d.old_folder_id = folder(r, l.old_folder_id, "OldFolderId").transpose()?;
            d.old_message_id = message(r, l.old_message_id, "OldMessageId").transpose()?;
            d.old_parent_folder_id =
                folder(r, l.old_parent_folder_id, "OldParentFolderId").transpose()?;
            if l.tags {
                d.tags = Some(read_tags(r)?);
            }
            d.total_message_count =
                int(r, flags & nf::TOTAL_MESSAGE_COUNT != 0, "TotalMessageCount").transpose()?;
            d.unread_message_count = int(
                r,
                flags & nf::UNREAD_MESSAGE_COUNT != 0,
                "UnreadMessageCount",
            )
            .transpose()?;
            if l.new_mail {
                d.new_mail = Some(read_new_mail(r)?);
            }
            Ok(d)
        })()
        .within("NotificationData")
    }
}

impl Encode for NotificationData {
    fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        const S: &str = "NotificationData";
        self.check()?;
        w.u16(self.notification_flags());
        if let Some(e) = self.table_event {
            w.u16(e.value());
        }
        let ids = [
            self.table_row_folder_id.map(|x| x.0),
            self.table_row_message_id.map(|x| x.0),
        ];
        ids.into_iter().flatten().for_each(|v| w.u64(v));
        if let Some(v) = self.table_row_instance {
            w.u32(v);
        }
        let after = [
            self.insert_after_table_row_folder_id.map(|x| x.0),
            self.insert_after_table_row_id.map(|x| x.0),
        ];
        after.into_iter().flatten().for_each(|v| w.u64(v));
        if let Some(v) = self.insert_after_table_row_instance {
            w.u32(v);
        }
        if let Some(data) = &self.table_row_data {
            w.u16(count_u16(data.len(), S, "TableRowDataSize")?);
            w.bytes(data);
        }
        let ids = [
            self.folder_id.map(|x| x.0),
            self.message_id.map(|x| x.0),
            self.parent_folder_id.map(|x| x.0),
            self.old_folder_id.map(|x| x.0),
            self.old_message_id.map(|x| x.0),
            self.old_parent_folder_id.map(|x| x.0),
        ];
        ids.into_iter().flatten().for_each(|v| w.u64(v));
        if let Some(tags) = &self.tags {
            write_tags(w, tags)?;
        }
        let counts = [self.total_message_count, self.unread_message_count];
        counts.into_iter().flatten().for_each(|v| w.u32(v));
        if let Some(m) = &self.new_mail {
            w.u32(m.message_flags);
            w.u8(m.unicode_flag);
            if m.unicode_flag == 0 {
                write_latin1_z(w, &m.message_class, S, "MessageClass")?;
            } else {
                write_utf16_z(w, &m.message_class, S, "MessageClass")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for NotificationData {
    /// The type, the S and M bits, and only the fields that are present.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("NotificationData");
        d.field("notification_type", &self.notification_type);
        if self.search_folder {
            d.field("search_folder", &true);
        }
        if self.message {
            d.field("message", &true);
        }
        macro_rules! present {
            ($($name:ident),*) => {
                $( if let Some(v) = &self.$name { d.field(stringify!($name), v); } )*
            };
        }
        present!(
            table_event,
            table_row_folder_id,
            table_row_message_id,
            table_row_instance,
            insert_after_table_row_folder_id,
            insert_after_table_row_id,
            insert_after_table_row_instance,
            table_row_data,
            folder_id,
            message_id,
            parent_folder_id,
            old_folder_id,
            old_message_id,
            old_parent_folder_id,
            tags,
            total_message_count,
            unread_message_count,
            new_mail
        );
        d.finish()
    }
}

fn read_table_event(r: &mut ReadCursor<'_>) -> DecodeResult<TableEventType> {
    let at = r.offset();
    let v = r.u16("TableEventType")?;
    TableEventType::from_value(v).ok_or_else(|| {
        DecodeError::invalid(
            "TableEventType",
            at,
            format!("0x{v:04X} is not a known table event"),
        )
    })
}

fn read_tags(r: &mut ReadCursor<'_>) -> DecodeResult<NotificationTags> {
    let n = r.u16("TagCount")?;
    if n == NotificationTags::UNLISTED {
        return Ok(NotificationTags::Unlisted);
    }
    let n = usize::from(n);
    r.ensure(n * 4, "Tags")?;
    let tags = (0..n)
        .map(|_| PropertyTag::read(r, "Tags"))
        .collect::<DecodeResult<_>>()?;
    Ok(NotificationTags::List(tags))
}

fn write_tags(w: &mut WriteCursor, tags: &NotificationTags) -> EncodeResult {
    match tags {
        NotificationTags::Unlisted => w.u16(NotificationTags::UNLISTED),
        NotificationTags::List(list) => {
            let n = count_u16(list.len(), "NotificationData", "TagCount")?;
            if n == NotificationTags::UNLISTED {
                return Err(EncodeError::TooLarge {
                    structure: "NotificationData",
                    field: "TagCount",
                    value: list.len(),
                    max: usize::from(NotificationTags::UNLISTED - 1),
                });
            }
            w.u16(n);
            list.iter().for_each(|t| t.write(w));
        }
    }
    Ok(())
}

fn read_new_mail(r: &mut ReadCursor<'_>) -> DecodeResult<NewMailData> {
    let message_flags = r.u32("MessageFlags")?;
    let unicode_flag = r.u8("UnicodeFlag")?;
    let message_class = if unicode_flag == 0 {
        r.ascii_z("MessageClass")?
    } else {
        r.utf16_z("MessageClass")?
    };
    Ok(NewMailData {
        message_flags,
        unicode_flag,
        message_class,
    })
}

impl NotificationTags {
    /// The TagCount that means "no list".
    pub const UNLISTED: u16 = 0xFFFF;
}

/// MS-OXCROPS 2.2.14.2.1 RopNotify response (MS-OXCNOTIF 2.2.1.4.1): one event on a table or
/// notification subscription of the session. It answers no request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyResponse {
    /// NotificationHandle: the Server object handle of the subscription or table.
    pub notification_handle: u32,
    /// LogonId of the logon the object belongs to.
    pub logon_id: u8,
    /// NotificationData.
    pub data: NotificationData,
}

impl NotifyResponse {
    /// This ROP's RopId.
    pub const ROP_ID: RopId = RopId::NOTIFY;
}

impl Decode for NotifyResponse {
    fn decode(r: &mut ReadCursor<'_>) -> DecodeResult<Self> {
        (|| {
            expect_rop_id(r, Self::ROP_ID)?;
            Ok(Self {
                notification_handle: r.u32("NotificationHandle")?,
                logon_id: r.u8("LogonId")?,
                data: NotificationData::decode(r)?,
            })
        })()
        .within("RopNotify response")
    }
}

impl Encode for NotifyResponse {
    fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        w.u8(Self::ROP_ID.0);
        w.u32(self.notification_handle);
        w.u8(self.logon_id);
        self.data.encode(w)
    }
}

/// MS-OXCROPS 2.2.14.3.1 RopPending response (MS-OXCNOTIF 2.2.1.3.4): the server holds more
/// notifications than fitted in this buffer. It answers no request.
///
/// [MS-OXCROPS 2.2.14.3](https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-oxcrops/c3fdb420-4c92-4b19-a894-f303c50f4a38)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PendingResponse {
    /// SessionIndex: the session with pending notifications.
    pub session_index: u16,
}

impl PendingResponse {
    /// This ROP's RopId.
    pub const ROP_ID: RopId = RopId::PENDING;
}

impl Decode for PendingResponse {
    fn decode(r: &mut ReadCursor<'_>) -> DecodeResult<Self> {
        (|| {
            expect_rop_id(r, Self::ROP_ID)?;
            Ok(Self {
                session_index: r.u16("SessionIndex")?,
            })
        })()
        .within("RopPending response")
    }
}

impl Encode for PendingResponse {
    fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        w.u8(Self::ROP_ID.0);
        w.u16(self.session_index);
        Ok(())
    }
}

/// The rest of a RopsList, from a RopNotify or RopPending response that did not decode, kept
/// as sent. [`RopResponseBuffer::decode`](crate::rop::RopResponseBuffer::decode) produces it
/// only once every expected answer was decoded: then nothing else can follow, and RopSize
/// still frames the handle table after it.
#[derive(Clone, PartialEq, Eq)]
pub struct UndecodedNotifications {
    /// Absolute offset of the first kept byte in the ROP output buffer.
    pub offset: usize,
    /// The bytes, to the end of RopsList; re-encoded as they are.
    pub bytes: Vec<u8>,
    /// Why the first of them did not decode.
    pub reason: DecodeError,
}

impl UndecodedNotifications {
    /// The RopId of the first kept byte (RopNotify when there is none).
    pub fn rop_id(&self) -> RopId {
        self.bytes.first().map_or(RopId::NOTIFY, |&b| RopId(b))
    }
}

impl fmt::Debug for UndecodedNotifications {
    /// The reason as its message (structure path, field, offset), not as a struct.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UndecodedNotifications")
            .field("offset", &self.offset)
            .field("bytes", &self.bytes)
            .field("reason", &self.reason.to_string())
            .finish()
    }
}

impl Encode for UndecodedNotifications {
    fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        w.bytes(&self.bytes);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_bit_maps_back() {
        for (t, b) in NotificationType::ALL {
            assert_eq!(t.bits(), b);
            assert_eq!(NotificationType::from_bits(b), Some(t));
        }
        for bad in [0x0000, 0x0001, 0x0200, 0x0006, 0x0FFF] {
            assert_eq!(NotificationType::from_bits(bad), None, "0x{bad:04X}");
        }
        for (e, v) in TableEventType::ALL {
            assert_eq!(e.value(), v);
            assert_eq!(TableEventType::from_value(v), Some(e));
        }
    }

    #[test]
    fn eight_bit_message_class_refuses_wide_characters() {
        let mut d = NotificationData::new(NotificationType::NewMail);
        d.folder_id = Some(FolderId(1));
        d.new_mail = Some(NewMailData {
            message_flags: 0,
            unicode_flag: 0,
            message_class: "IPM.Note.€".into(),
        });
        assert!(d.to_bytes().is_err(), "€ is not an 8-bit character");
    }
}
