//! CDO's `Folder.Messages`: a contents table shaped with a filter (RopRestrict, MS-OXCTABL
//! 2.2.2.4), a sort (RopSortTable, 2.2.2.3) and a column set (RopSetColumns, 2.2.2.2), read
//! as an async stream of rows in large batches, or CDO-style with `get_first`/`get_next`.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::SystemTime;

use futures_util::Stream;
use oxmapi_wire::data::restriction::{
    BMR_EQZ, BMR_NEZ, FL_IGNORECASE, FL_SUBSTRING, RELOP_EQ, RELOP_GE, RELOP_LT,
};
use oxmapi_wire::data::{
    FolderId, MessageId, PropertyRow, PropertyTag, PropertyValue, RelOp, Restriction, RowValue,
    TaggedPropertyValue, tags,
};
use oxmapi_wire::rop::{
    GetContentsTableRequest, OpenFolderRequest, SortOrder, SortOrderSet, table_flags,
};

use crate::entryid::EntryId;
use crate::error::Error;
use crate::filetime;
use crate::ropkit::{Batch, NEW_HANDLE};
use crate::session::{DeferredRelease, Session};
use crate::table::{StatCounters, TableCursor, TableOpen, TableSpec, TableStats};

/// MSGFLAG_READ in PidTagMessageFlags (MS-OXCMSG 2.2.1.6).
pub const MSGFLAG_READ: u32 = 0x0000_0001;
/// MSGFLAG_HASATTACH in PidTagMessageFlags (MS-OXCMSG 2.2.1.6).
pub const MSGFLAG_HASATTACH: u32 = 0x0000_0010;

/// The columns a listing reads unless [`Messages::columns`] says otherwise.
pub const DEFAULT_COLUMNS: [PropertyTag; 10] = [
    tags::PidTagEntryId,
    tags::PidTagSubject,
    tags::PidTagSenderName,
    tags::PidTagSenderEmailAddress,
    tags::PidTagMessageDeliveryTime,
    tags::PidTagMessageFlags,
    tags::PidTagMessageSize,
    tags::PidTagHasAttachments,
    tags::PidTagImportance,
    tags::PidTagMessageClass,
];

/// A filter on a message listing (CDO `MessageFilter`), turned into a MS-OXCDATA 2.12
/// restriction.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Filter {
    /// CDO `Filter.Unread = True`: MSGFLAG_READ clear.
    Unread,
    /// Read messages only.
    Read,
    /// Received at or after this time (PidTagMessageDeliveryTime ≥).
    Since(SystemTime),
    /// Received before this time (PidTagMessageDeliveryTime <).
    Before(SystemTime),
    /// The subject contains the text (case-insensitive substring).
    SubjectContains(String),
    /// The sender's name or address contains the text (case-insensitive substring).
    SenderContains(String),
    /// Messages with attachments (PidTagHasAttachments = true).
    HasAttachments,
    /// CDO `Filter.Fields`: a property compared with a value.
    Property {
        /// The property.
        tag: PropertyTag,
        /// The comparison (`RELOP_EQ`, `RELOP_GE`, ...).
        relop: RelOp,
        /// The value compared with.
        value: PropertyValue,
    },
    /// The property exists on the message.
    Exists(PropertyTag),
    /// All of these.
    And(Vec<Self>),
    /// Any of these.
    Or(Vec<Self>),
    /// Not this.
    Not(Box<Self>),
    /// A restriction written by hand.
    Restriction(Restriction),
}

impl Filter {
    /// The MS-OXCDATA 2.12 restriction for this filter.
    pub fn to_restriction(&self) -> Restriction {
        match self {
            Self::Unread => flags(BMR_EQZ, MSGFLAG_READ),
            Self::Read => flags(BMR_NEZ, MSGFLAG_READ),
            Self::Since(t) => time_cmp(RELOP_GE, *t),
            Self::Before(t) => time_cmp(RELOP_LT, *t),
            Self::SubjectContains(s) => contains(tags::PidTagSubject, s),
            Self::SenderContains(s) => Restriction::Or(vec![
                contains(tags::PidTagSenderName, s),
                contains(tags::PidTagSenderEmailAddress, s),
                contains(tags::PidTagSenderSmtpAddress, s),
            ]),
            Self::HasAttachments => property(
                RELOP_EQ,
                tags::PidTagHasAttachments,
                PropertyValue::Boolean(true),
            ),
            Self::Property { tag, relop, value } => property(*relop, *tag, value.clone()),
            Self::Exists(tag) => Restriction::Exist { tag: *tag },
            Self::And(v) => Restriction::And(v.iter().map(Self::to_restriction).collect()),
            Self::Or(v) => Restriction::Or(v.iter().map(Self::to_restriction).collect()),
            Self::Not(f) => Restriction::Not(Box::new(f.to_restriction())),
            Self::Restriction(r) => r.clone(),
        }
    }
}

fn flags(relop: oxmapi_wire::data::BitmapRelOp, mask: u32) -> Restriction {
    Restriction::Bitmask {
        relop,
        tag: tags::PidTagMessageFlags,
        mask,
    }
}

fn time_cmp(relop: RelOp, t: SystemTime) -> Restriction {
    property(
        relop,
        tags::PidTagMessageDeliveryTime,
        PropertyValue::Time(filetime::from_system_time(t)),
    )
}

fn property(relop: RelOp, tag: PropertyTag, value: PropertyValue) -> Restriction {
    let value = TaggedPropertyValue::new(tag, value);
    Restriction::Property {
        relop,
        tag: value.tag,
        value,
    }
}

fn contains(tag: PropertyTag, s: &str) -> Restriction {
    Restriction::Content {
        fuzzy_level_low: FL_SUBSTRING,
        fuzzy_level_high: FL_IGNORECASE,
        tag,
        value: TaggedPropertyValue::new(tag, PropertyValue::Unicode(s.to_owned())),
    }
}

/// A sort key (CDO `Messages.Sort`), a MS-OXCDATA 2.13.1 SortOrder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    /// The property sorted on.
    pub tag: PropertyTag,
    /// Descending (newest / largest first).
    pub descending: bool,
}

impl Sort {
    /// Ascending on `tag`.
    pub fn ascending(tag: PropertyTag) -> Self {
        Self {
            tag,
            descending: false,
        }
    }

    /// Descending on `tag`.
    pub fn descending(tag: PropertyTag) -> Self {
        Self {
            tag,
            descending: true,
        }
    }

    /// Oldest first (PidTagMessageDeliveryTime ascending).
    pub fn received() -> Self {
        Self::ascending(tags::PidTagMessageDeliveryTime)
    }

    /// Newest first (CDO's `CdoDescending` on `CdoPR_MESSAGE_DELIVERY_TIME`).
    pub fn received_newest_first() -> Self {
        Self::descending(tags::PidTagMessageDeliveryTime)
    }

    /// By subject, A to Z.
    pub fn subject() -> Self {
        Self::ascending(tags::PidTagSubject)
    }
}

/// CDO's `Messages` collection for one folder: a builder, then a reader.
///
/// Dropping a `Messages` (or a stream) before the end queues its server table (and the
/// folder opened for it) with the session, whose next request releases them;
/// [`Messages::close`] releases them at once.
#[derive(Debug)]
pub struct Messages {
    folder: FolderId,
    folder_name: String,
    filters: Vec<Filter>,
    sort: Vec<Sort>,
    columns: Vec<PropertyTag>,
    batch: u16,
    limit: Option<u64>,
    associated: bool,
    stats: Arc<StatCounters>,
    cursor: Option<TableCursor>,
    /// Where the open cursor's handles go if `self` is dropped first.
    release: Option<DeferredRelease>,
    buffer: VecDeque<PropertyRow>,
    yielded: u64,
    /// Entry IDs of the rows returned by this listing, so that a row the server sends again
    /// (the table changed under the cursor) is returned once.
    seen: HashSet<Vec<u8>>,
}

impl Drop for Messages {
    fn drop(&mut self) {
        if let (Some(mut cursor), Some(release)) = (self.cursor.take(), self.release.take()) {
            // The table first, as `TableCursor::close` releases them.
            let mut handles = cursor.take_owned();
            handles.reverse();
            release.queue(handles);
        }
    }
}

impl Messages {
    pub(crate) fn new(folder: FolderId, folder_name: String) -> Self {
        Self {
            folder,
            folder_name,
            filters: Vec::new(),
            sort: Vec::new(),
            columns: DEFAULT_COLUMNS.to_vec(),
            batch: 0,
            limit: None,
            associated: false,
            stats: Arc::default(),
            cursor: None,
            release: None,
            buffer: VecDeque::new(),
            yielded: 0,
            seen: HashSet::new(),
        }
    }

    /// Adds a filter; several filters must all hold.
    #[must_use]
    pub fn filter(mut self, f: Filter) -> Self {
        self.filters.push(f);
        self
    }

    /// Adds a sort key (the first added sorts first).
    #[must_use]
    pub fn sort(mut self, s: Sort) -> Self {
        self.sort.push(s);
        self
    }

    /// The columns to read. [`PidTagEntryId`](tags::PidTagEntryId) is added when missing
    /// (rows must be openable).
    #[must_use]
    pub fn columns(mut self, columns: &[PropertyTag]) -> Self {
        let mut c = columns.to_vec();
        if !c.iter().any(|t| t.id() == tags::PidTagEntryId.id()) {
            c.insert(0, tags::PidTagEntryId);
        }
        self.columns = c;
        self
    }

    /// Rows asked for per RopQueryRows (default 0xFFFF; the server may return fewer).
    #[must_use]
    pub fn batch_size(mut self, rows: u16) -> Self {
        self.batch = rows;
        self
    }

    /// Stop after `n` rows.
    #[must_use]
    pub fn limit(mut self, n: u64) -> Self {
        self.limit = Some(n);
        if let Ok(small) = u16::try_from(n)
            && small > 0
            && (self.batch == 0 || small < self.batch)
        {
            self.batch = small;
        }
        self
    }

    /// Read the folder's associated (hidden, FAI) contents instead.
    #[must_use]
    pub fn associated(mut self, yes: bool) -> Self {
        self.associated = yes;
        self
    }

    /// What reading has cost so far (requests, segments, rows).
    pub fn stats(&self) -> TableStats {
        self.stats.snapshot()
    }

    /// The restriction sent with RopRestrict, if any filter was set.
    pub fn restriction(&self) -> Option<Restriction> {
        match self.filters.as_slice() {
            [] => None,
            [one] => Some(one.to_restriction()),
            many => Some(Restriction::And(
                many.iter().map(Filter::to_restriction).collect(),
            )),
        }
    }

    fn sort_order_set(&self) -> Option<SortOrderSet> {
        (!self.sort.is_empty()).then(|| SortOrderSet {
            categorized_count: 0,
            expanded_count: 0,
            sort_orders: self
                .sort
                .iter()
                .map(|s| SortOrder {
                    tag: s.tag,
                    order: u8::from(s.descending),
                })
                .collect(),
        })
    }

    /// CDO `Messages.GetFirst`: (re)opens the table and returns the first row.
    pub async fn get_first(&mut self, session: &mut Session) -> Result<Option<MessageRow>, Error> {
        self.close(session).await;
        self.yielded = 0;
        self.seen.clear();
        self.get_next(session).await
    }

    /// CDO `Messages.GetNext`: the next row, `None` at the end (the table is then released).
    pub async fn get_next(&mut self, session: &mut Session) -> Result<Option<MessageRow>, Error> {
        if self.limit.is_some_and(|l| self.yielded >= l) {
            self.close(session).await;
            return Ok(None);
        }
        if self.cursor.is_none() {
            let (cursor, rows) = self.open(session).await?;
            self.cursor = Some(cursor);
            self.release = Some(session.deferred_release());
            self.buffer = rows.into();
        }
        loop {
            if let Some(row) = self.buffer.pop_front() {
                let row = self.row(row);
                if let Some(PropertyValue::Binary(id)) = row.get(tags::PidTagEntryId)
                    && !self.seen.insert(id.clone())
                {
                    self.stats.repeated_rows.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                self.yielded += 1;
                return Ok(Some(row));
            }
            let Some(cursor) = self.cursor.as_mut() else {
                return Ok(None);
            };
            if cursor.is_done() {
                self.close(session).await;
                return Ok(None);
            }
            match cursor.next_rows(session, "messages").await {
                Ok(Some(rows)) => self.buffer = rows.into(),
                Ok(None) => {}
                Err(e) => {
                    self.close(session).await;
                    return Err(e);
                }
            }
        }
    }

    /// Releases the server table, if open.
    pub async fn close(&mut self, session: &mut Session) {
        if let Some(mut c) = self.cursor.take() {
            c.close(session).await;
        }
        self.buffer.clear();
    }

    /// All rows as an async stream, fetched in large batches; the table is released at the
    /// end of the stream.
    pub fn stream(
        self,
        session: &mut Session,
    ) -> impl Stream<Item = Result<MessageRow, Error>> + Send + '_ {
        futures_util::stream::unfold(Some((self, session)), |state| async move {
            let (mut m, s) = state?;
            match m.get_next(s).await {
                Ok(Some(row)) => Some((Ok(row), Some((m, s)))),
                Ok(None) => None,
                Err(e) => Some((Err(e), None)),
            }
        })
    }

    /// Reads every row into a vector.
    pub async fn collect(mut self, session: &mut Session) -> Result<Vec<MessageRow>, Error> {
        let mut out = Vec::new();
        while let Some(r) = self.get_next(session).await? {
            out.push(r);
        }
        Ok(out)
    }

    fn row(&self, row: PropertyRow) -> MessageRow {
        MessageRow {
            folder: self.folder,
            columns: self
                .cursor
                .as_ref()
                .map(|c| Arc::clone(c.columns()))
                .unwrap_or_else(|| self.columns.clone().into()),
            values: row.values,
        }
    }

    async fn open(&self, session: &mut Session) -> Result<(TableCursor, Vec<PropertyRow>), Error> {
        const STEP: &str = "messages";
        let spec = TableSpec {
            columns: self.columns.clone(),
            restriction: self.restriction(),
            sort: self.sort_order_set(),
            batch: self.batch,
        };
        let fid = self.folder;
        let what = format!("messages of \"{}\" ({fid})", self.folder_name);
        let flags = table_flags::USE_UNICODE
            | if self.associated {
                table_flags::ASSOCIATED
            } else {
                0
            };
        let stats = Arc::clone(&self.stats);
        session
            .with_reconnect(move |s| {
                let (spec, what, stats) = (spec.clone(), what.clone(), Arc::clone(&stats));
                Box::pin(async move {
                    let mut b = Batch::new(vec![s.logon_handle(), NEW_HANDLE, NEW_HANDLE]);
                    b.push(OpenFolderRequest {
                        logon_id: 0,
                        input_handle_index: 0,
                        output_handle_index: 1,
                        folder_id: fid,
                        open_mode_flags: 0,
                    })
                    .push(GetContentsTableRequest {
                        logon_id: 0,
                        input_handle_index: 1,
                        output_handle_index: 2,
                        table_flags: flags,
                    });
                    TableCursor::open(s, TableOpen::on_slot_2(STEP, what, b, spec, stats)).await
                })
            })
            .await
    }
}

/// One row of a message listing (what CDO reads from a `Message` without opening it).
#[derive(Debug, Clone, PartialEq)]
pub struct MessageRow {
    folder: FolderId,
    columns: Arc<[PropertyTag]>,
    values: Vec<RowValue>,
}

impl MessageRow {
    /// Builds a row from decoded values (for callers that read tables themselves).
    pub fn from_parts(
        folder: FolderId,
        columns: Arc<[PropertyTag]>,
        values: Vec<RowValue>,
    ) -> Self {
        Self {
            folder,
            columns,
            values,
        }
    }

    /// The value of a column (matched on the property ID), if present.
    pub fn get(&self, tag: PropertyTag) -> Option<&PropertyValue> {
        self.columns
            .iter()
            .position(|c| c.id() == tag.id())
            .and_then(|i| self.values.get(i))
            .and_then(RowValue::value)
    }

    /// The folder the row was listed from.
    pub fn folder_id(&self) -> FolderId {
        self.folder
    }

    /// The message's entry ID (CDO `Message.ID`).
    pub fn entry_id(&self) -> Option<EntryId> {
        self.get(tags::PidTagEntryId)
            .and_then(PropertyValue::as_bytes)
            .and_then(|b| EntryId::parse(b).ok())
    }

    /// PidTagMid, when it was a column.
    pub fn message_id(&self) -> Option<MessageId> {
        match self.get(tags::PidTagMid) {
            Some(PropertyValue::Int64(v)) => Some(MessageId(v.cast_unsigned())),
            _ => None,
        }
    }

    /// CDO `Message.Subject`.
    pub fn subject(&self) -> Option<String> {
        self.string(tags::PidTagSubject)
    }

    /// CDO `Message.Sender.Name`.
    pub fn sender_name(&self) -> Option<String> {
        self.string(tags::PidTagSenderName)
    }

    /// CDO `Message.Sender.Address`.
    pub fn sender_email(&self) -> Option<String> {
        self.string(tags::PidTagSenderEmailAddress)
            .or_else(|| self.string(tags::PidTagSenderSmtpAddress))
    }

    /// CDO `Message.TimeReceived`.
    pub fn time_received(&self) -> Option<SystemTime> {
        match self.get(tags::PidTagMessageDeliveryTime) {
            Some(PropertyValue::Time(t)) => Some(filetime::to_system_time(*t)),
            _ => None,
        }
    }

    /// CDO `Message.Unread` (MSGFLAG_READ clear).
    pub fn unread(&self) -> bool {
        self.int(tags::PidTagMessageFlags)
            .is_some_and(|f| f as u32 & MSGFLAG_READ == 0)
    }

    /// CDO `Message.Size` (PidTagMessageSize).
    pub fn size(&self) -> Option<u64> {
        self.int(tags::PidTagMessageSize)
            .and_then(|v| u64::try_from(v).ok())
    }

    /// PidTagHasAttachments (or MSGFLAG_HASATTACH).
    pub fn has_attachments(&self) -> bool {
        match self.get(tags::PidTagHasAttachments) {
            Some(PropertyValue::Boolean(b)) => *b,
            _ => self
                .int(tags::PidTagMessageFlags)
                .is_some_and(|f| f as u32 & MSGFLAG_HASATTACH != 0),
        }
    }

    /// CDO `Message.Importance` (0 low, 1 normal, 2 high).
    pub fn importance(&self) -> Option<i64> {
        self.int(tags::PidTagImportance)
    }

    /// CDO `Message.Type` (PidTagMessageClass).
    pub fn message_class(&self) -> Option<String> {
        self.string(tags::PidTagMessageClass)
    }

    fn string(&self, tag: PropertyTag) -> Option<String> {
        self.get(tag)
            .and_then(|v| v.as_str())
            .map(|s| s.into_owned())
    }

    fn int(&self, tag: PropertyTag) -> Option<i64> {
        self.get(tag).and_then(PropertyValue::as_i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxmapi_wire::WriteCursor;
    use oxmapi_wire::data::ValueContext;

    #[test]
    fn filters_become_the_spec_restrictions() {
        assert_eq!(
            Filter::Unread.to_restriction(),
            Restriction::Bitmask {
                relop: BMR_EQZ,
                tag: tags::PidTagMessageFlags,
                mask: 1
            }
        );
        let r = Filter::SubjectContains("Hi".into()).to_restriction();
        let Restriction::Content {
            fuzzy_level_low,
            fuzzy_level_high,
            tag,
            ..
        } = &r
        else {
            panic!("{r:?}");
        };
        assert_eq!(
            (*fuzzy_level_low, *fuzzy_level_high, *tag),
            (FL_SUBSTRING, FL_IGNORECASE, tags::PidTagSubject)
        );
        let m = Messages::new(FolderId(1), "Inbox".into())
            .filter(Filter::Unread)
            .filter(Filter::HasAttachments);
        assert!(matches!(m.restriction(), Some(Restriction::And(v)) if v.len() == 2));
        // Every filter encodes in the ROP dialect (MS-OXCDATA 2.12, 16-bit counts).
        for f in [
            Filter::Unread,
            Filter::Read,
            Filter::Since(SystemTime::now()),
            Filter::Before(SystemTime::now()),
            Filter::SenderContains("bob".into()),
            Filter::HasAttachments,
            Filter::Exists(tags::PidTagBody),
            Filter::Not(Box::new(Filter::Unread)),
        ] {
            let mut w = WriteCursor::new();
            f.to_restriction()
                .encode(&mut w, ValueContext::Rop)
                .unwrap();
            assert!(!w.is_empty());
        }
    }

    #[test]
    fn sort_orders() {
        let m = Messages::new(FolderId(1), "Inbox".into())
            .sort(Sort::received_newest_first())
            .sort(Sort::subject());
        let set = m.sort_order_set().unwrap();
        assert_eq!(set.sort_orders.len(), 2);
        assert_eq!(set.sort_orders[0].order, 1);
        assert_eq!(set.sort_orders[1].tag, tags::PidTagSubject);
    }

    #[test]
    fn row_accessors() {
        let cols: Arc<[PropertyTag]> = vec![
            tags::PidTagSubject,
            tags::PidTagMessageFlags,
            tags::PidTagMessageSize,
        ]
        .into();
        let row = MessageRow::from_parts(
            FolderId(1),
            cols,
            vec![
                RowValue::Value(PropertyValue::Unicode("Grüße".into())),
                RowValue::Value(PropertyValue::Int32(0x10)),
                RowValue::NotFound(oxmapi_wire::data::PropertyType::INT32),
            ],
        );
        assert_eq!(row.subject().as_deref(), Some("Grüße"));
        assert!(row.unread());
        assert!(row.has_attachments());
        assert_eq!(row.size(), None);
        assert_eq!(row.entry_id(), None);
    }
}
