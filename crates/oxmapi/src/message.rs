//! CDO's `Message`: opened by ID with RopOpenMessage (MS-OXCMSG 2.2.3.1), its standard
//! properties read with RopGetPropertiesSpecific, recipients from the RopOpenMessage rows and
//! RopReadRecipients (MS-OXCMSG 2.2.3.1.2, 2.2.3.2), bodies read inline or streamed.

use std::time::SystemTime;

use oxmapi_wire::data::{
    ErrorCode, FolderId, MessageId, PropertyTag, PropertyValue, RowValue, tags,
};
use oxmapi_wire::rop::{
    MessageInfo, OpenMessageResponse, OpenRecipientRow, ReadRecipientsRequest, RecipientRow,
    RopResponse, TypedString,
};
use tokio::io::AsyncWrite;

use crate::compose::RecipientType;
use crate::entryid::{self, EntryId};
use crate::error::{Error, ErrorKind};
use crate::filetime;
use crate::messages::{MSGFLAG_HASATTACH, MSGFLAG_READ, MessageRow};
use crate::ropkit::Batch;
use crate::session::Session;
use crate::stream::{INLINE_LIMIT, Target};

/// The properties read when a message is opened.
pub const MESSAGE_TAGS: [PropertyTag; 16] = [
    tags::PidTagEntryId,
    tags::PidTagMid,
    tags::PidTagSubject,
    tags::PidTagSenderName,
    tags::PidTagSenderEmailAddress,
    tags::PidTagSenderSmtpAddress,
    tags::PidTagMessageDeliveryTime,
    tags::PidTagClientSubmitTime,
    tags::PidTagMessageFlags,
    tags::PidTagImportance,
    tags::PidTagMessageSize,
    tags::PidTagMessageClass,
    tags::PidTagHasAttachments,
    tags::PidTagDisplayTo,
    tags::PidTagInternetMessageId,
    tags::PidTagSensitivity,
];

/// A message (CDO `Message`): its standard properties and recipients as read when it was
/// opened; bodies, attachments and other fields are read on demand.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    target: Target,
    id: MessageId,
    props: Vec<(PropertyTag, RowValue)>,
    recipients: MessageRecipients,
    has_named_properties: bool,
}

/// A recipient of a stored message (CDO `Recipient`, read side).
#[derive(Debug, Clone, PartialEq)]
pub struct MessageRecipient {
    recipient_type: u8,
    name: Option<String>,
    address: Option<String>,
    address_type: Option<String>,
    smtp: Option<String>,
    props: Vec<(PropertyTag, RowValue)>,
}

impl MessageRecipient {
    /// CDO `Recipient.Type`: To, Cc or Bcc (`None` for other values).
    pub fn kind(&self) -> Option<RecipientType> {
        match self.recipient_type & 0x0F {
            1 => Some(RecipientType::To),
            2 => Some(RecipientType::Cc),
            3 => Some(RecipientType::Bcc),
            _ => None,
        }
    }

    /// The RecipientType byte as sent (MS-OXCMSG 2.2.3.1.2).
    pub fn raw_type(&self) -> u8 {
        self.recipient_type
    }

    /// CDO `Recipient.Name` (display name).
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// CDO `Recipient.Address`: the SMTP address when known, else the address of its type.
    pub fn address(&self) -> Option<&str> {
        self.smtp.as_deref().or(self.address.as_deref())
    }

    /// The address type (`SMTP`, `EX`).
    pub fn address_type(&self) -> Option<&str> {
        self.address_type.as_deref()
    }

    /// Another recipient column, if the server sent it.
    pub fn get(&self, tag: PropertyTag) -> Option<&PropertyValue> {
        lookup(&self.props, tag)
    }

    /// `"Name <address>"`, or whichever part is known.
    pub fn display(&self) -> String {
        match (self.name(), self.address()) {
            (Some(n), Some(a)) if n != a => format!("{n} <{a}>"),
            (Some(n), _) => n.to_owned(),
            (None, Some(a)) => a.to_owned(),
            (None, None) => String::new(),
        }
    }

    fn from_row(recipient_type: u8, row: &RecipientRow, columns: &[PropertyTag]) -> Self {
        let props: Vec<(PropertyTag, RowValue)> = columns
            .iter()
            .copied()
            .zip(row.properties.values.iter().cloned())
            .collect();
        let s = |t| {
            lookup(&props, t)
                .and_then(|v| v.as_str())
                .map(|s| s.into_owned())
        };
        let flags = row.flags & oxmapi_wire::rop::recipient_flags::TYPE_MASK;
        let address_type = row
            .address_type
            .clone()
            .or_else(|| s(tags::PidTagAddressType))
            .or_else(|| match flags {
                oxmapi_wire::rop::recipient_flags::TYPE_X500DN => Some("EX".to_owned()),
                oxmapi_wire::rop::recipient_flags::TYPE_SMTP => Some("SMTP".to_owned()),
                _ => None,
            });
        Self {
            recipient_type,
            name: row
                .display_name
                .clone()
                .or_else(|| row.transmittable_display_name.clone())
                .or_else(|| s(tags::PidTagDisplayName)),
            address: row
                .email_address
                .clone()
                .or_else(|| row.x500.as_ref().map(|x| x.x500_dn.clone()))
                .or_else(|| s(tags::PidTagEmailAddress)),
            smtp: s(tags::PidTagSmtpAddress),
            address_type,
            props,
        }
    }
}

/// CDO `Recipients` of a stored message (read side).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MessageRecipients(Vec<MessageRecipient>);

impl MessageRecipients {
    /// CDO `Recipients.Count`.
    pub fn count(&self) -> usize {
        self.0.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// CDO `Recipients.Item(i)` (0-based here).
    pub fn item(&self, i: usize) -> Option<&MessageRecipient> {
        self.0.get(i)
    }

    /// All recipients.
    pub fn iter(&self) -> std::slice::Iter<'_, MessageRecipient> {
        self.0.iter()
    }

    /// The recipients of one type.
    pub fn of(&self, kind: RecipientType) -> impl Iterator<Item = &MessageRecipient> {
        self.0.iter().filter(move |r| r.kind() == Some(kind))
    }
}

impl<'a> IntoIterator for &'a MessageRecipients {
    type Item = &'a MessageRecipient;
    type IntoIter = std::slice::Iter<'a, MessageRecipient>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl Message {
    /// The message ID (MID) in this mailbox (for an embedded message, the ID the server
    /// gave it when it was opened).
    pub fn id(&self) -> MessageId {
        self.id
    }

    /// The folder holding the message (or the message holding the attachment).
    pub fn folder_id(&self) -> FolderId {
        match self.target {
            Target::Message { folder, .. }
            | Target::Attachment { folder, .. }
            | Target::Embedded { folder, .. } => folder,
        }
    }

    /// True for a message embedded in an attachment.
    pub fn is_embedded(&self) -> bool {
        matches!(self.target, Target::Embedded { .. })
    }

    /// CDO `Message.ID`: the entry ID, usable in later sessions.
    pub fn entry_id(&self) -> Option<EntryId> {
        self.get(tags::PidTagEntryId)
            .and_then(PropertyValue::as_bytes)
            .and_then(|b| EntryId::parse(b).ok())
    }

    /// A property read at open time (see [`MESSAGE_TAGS`]); others via [`Message::fields`].
    pub fn get(&self, tag: PropertyTag) -> Option<&PropertyValue> {
        lookup(&self.props, tag)
    }

    /// CDO `Message.Subject`.
    pub fn subject(&self) -> Option<String> {
        self.string(tags::PidTagSubject)
    }

    /// CDO `Message.Sender.Name`.
    pub fn sender_name(&self) -> Option<String> {
        self.string(tags::PidTagSenderName)
    }

    /// CDO `Message.Sender.Address` (SMTP when known).
    pub fn sender_email(&self) -> Option<String> {
        self.string(tags::PidTagSenderSmtpAddress)
            .or_else(|| self.string(tags::PidTagSenderEmailAddress))
    }

    /// CDO `Message.TimeReceived`.
    pub fn time_received(&self) -> Option<SystemTime> {
        self.time(tags::PidTagMessageDeliveryTime)
    }

    /// CDO `Message.TimeSent`.
    pub fn time_sent(&self) -> Option<SystemTime> {
        self.time(tags::PidTagClientSubmitTime)
    }

    /// CDO `Message.Unread`.
    pub fn unread(&self) -> bool {
        self.int(tags::PidTagMessageFlags)
            .is_some_and(|f| f as u32 & MSGFLAG_READ == 0)
    }

    /// CDO `Message.Importance` (0 low, 1 normal, 2 high).
    pub fn importance(&self) -> Option<i64> {
        self.int(tags::PidTagImportance)
    }

    /// CDO `Message.Size`.
    pub fn size(&self) -> Option<u64> {
        self.int(tags::PidTagMessageSize)
            .and_then(|v| u64::try_from(v).ok())
    }

    /// CDO `Message.Type` (PidTagMessageClass).
    pub fn message_class(&self) -> Option<String> {
        self.string(tags::PidTagMessageClass)
    }

    /// PidTagInternetMessageId.
    pub fn internet_message_id(&self) -> Option<String> {
        self.string(tags::PidTagInternetMessageId)
    }

    /// True when the message has attachments.
    pub fn has_attachments(&self) -> bool {
        match self.get(tags::PidTagHasAttachments) {
            Some(PropertyValue::Boolean(b)) => *b,
            _ => self
                .int(tags::PidTagMessageFlags)
                .is_some_and(|f| f as u32 & MSGFLAG_HASATTACH != 0),
        }
    }

    /// The RopOpenMessage response's HasNamedProperties.
    pub fn has_named_properties(&self) -> bool {
        self.has_named_properties
    }

    /// CDO `Message.MessageRecipients`.
    pub fn recipients(&self) -> &MessageRecipients {
        &self.recipients
    }

    /// CDO `Message.Text`: the plain-text body (PidTagBody), streamed when large.
    pub async fn text(&self, session: &mut Session) -> Result<Option<String>, Error> {
        let v = session
            .read_value(self.target(), tags::PidTagBody, "message-body")
            .await?;
        Ok(v.and_then(|v| v.as_str().map(|s| s.into_owned())))
    }

    /// The HTML body (PidTagHtml), streamed when large: the bytes as stored (their charset
    /// is PidTagInternetCodepage's).
    pub async fn html(&self, session: &mut Session) -> Result<Option<Vec<u8>>, Error> {
        let v = session
            .read_value(self.target(), tags::PidTagHtml, "message-html")
            .await?;
        Ok(v.and_then(|v| v.as_bytes().map(<[u8]>::to_vec)))
    }

    /// The RTF body: PidTagRtfCompressed, decompressed (MS-OXRTFCP).
    pub async fn rtf(&self, session: &mut Session) -> Result<Option<String>, Error> {
        const STEP: &str = "message-rtf";
        let v = session
            .read_value(self.target(), tags::PidTagRtfCompressed, STEP)
            .await?;
        let Some(bytes) = v.as_ref().and_then(PropertyValue::as_bytes) else {
            return Ok(None);
        };
        crate::rtf::decompress(bytes).map(Some).map_err(|e| {
            Error::new(
                ErrorKind::Protocol,
                ErrorCode::CORRUPT_DATA,
                format!("{}: PidTagRtfCompressed: {e}", self.target().describe()),
            )
            .at_step(STEP)
            .with_source(e)
        })
    }

    /// Streams any binary or string property into `out` in constant memory.
    pub async fn write_property_to<W>(
        &self,
        session: &mut Session,
        tag: PropertyTag,
        out: &mut W,
    ) -> Result<u64, Error>
    where
        W: AsyncWrite + Unpin + Send,
    {
        session
            .stream_property(self.target(), tag, out, "message-stream")
            .await
    }

    pub(crate) fn target(&self) -> Target {
        self.target
    }

    fn string(&self, tag: PropertyTag) -> Option<String> {
        self.get(tag)
            .and_then(|v| v.as_str())
            .map(|s| s.into_owned())
    }

    fn int(&self, tag: PropertyTag) -> Option<i64> {
        self.get(tag).and_then(PropertyValue::as_i64)
    }

    fn time(&self, tag: PropertyTag) -> Option<SystemTime> {
        match self.get(tag) {
            Some(PropertyValue::Time(t)) => Some(filetime::to_system_time(*t)),
            _ => None,
        }
    }
}

impl MessageRow {
    /// Opens the message this row lists (CDO: using a `Message` from `Messages`).
    pub async fn open(&self, session: &mut Session) -> Result<Message, Error> {
        match self.entry_id() {
            Some(e) => session.get_message(&e).await,
            None => match self.message_id() {
                Some(mid) => session.open_message(self.folder_id(), mid).await,
                None => Err(Error::new(
                    ErrorKind::Unsupported,
                    ErrorCode::INVALID_PARAMETER,
                    "the row has neither PidTagEntryId nor PidTagMid: it cannot be opened",
                )
                .at_step("open-message")),
            },
        }
    }
}

impl Session {
    /// CDO `Session.GetMessage`: opens a message by entry ID.
    pub async fn get_message(&mut self, entry_id: &EntryId) -> Result<Message, Error> {
        self.check_store(entry_id)?;
        let EntryId::Message(m) = entry_id else {
            return Err(Error::new(
                ErrorKind::NotFound,
                ErrorCode::INVALID_ENTRYID,
                format!("entry ID {entry_id} names a folder, not a message"),
            )
            .at_step("open-message"));
        };
        let replid = self.replid();
        self.open_message(
            entryid::folder_id(replid, &m.folder),
            entryid::message_id(replid, &m.message),
        )
        .await
    }

    /// Opens a message by folder ID and message ID.
    pub async fn open_message(
        &mut self,
        folder: FolderId,
        id: MessageId,
    ) -> Result<Message, Error> {
        self.open_target(Target::Message {
            folder,
            message: id,
        })
        .await
    }

    /// Opens a message or an embedded message and reads its standard properties and
    /// recipients.
    pub(crate) async fn open_target(&mut self, target: Target) -> Result<Message, Error> {
        self.with_reconnect(move |s| Box::pin(async move { s.open_target_once(target).await }))
            .await
    }

    async fn open_target_once(&mut self, target: Target) -> Result<Message, Error> {
        const STEP: &str = "open-message";
        let what = || target.describe();
        let mut b = Batch::new(target.handles(self.logon_handle(), 0));
        let (_, slot) = target.push_open(&mut b);
        b.push(oxmapi_wire::rop::GetPropertiesSpecificRequest {
            logon_id: 0,
            input_handle_index: slot,
            property_size_limit: INLINE_LIMIT,
            want_unicode: 1,
            property_tags: MESSAGE_TAGS.to_vec(),
        });
        target.push_release(&mut b, slot, 0);
        let mut r = b.send(self, STEP).await?;
        let opened = r.next(&what, |x| match x {
            RopResponse::OpenMessage(o) => Ok(Opened::from(o)),
            other => Err(other),
        })?;
        let (opened, id) = match target {
            Target::Message { message, .. } => (opened, message),
            Target::Embedded { .. } => {
                r.next(&what, |x| match x {
                    RopResponse::OpenAttachment(_) => Ok(()),
                    other => Err(other),
                })?;
                r.next(&what, |x| match x {
                    RopResponse::OpenEmbeddedMessage(e) => Ok((Opened::from(e.info), e.message_id)),
                    other => Err(other),
                })?
            }
            Target::Attachment { .. } => {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    ErrorCode::INVALID_PARAMETER,
                    format!("{}: an attachment is not a message", what()),
                )
                .at_step(STEP));
            }
        };
        let row = r.next(&what, |x| match x {
            RopResponse::GetPropertiesSpecific(g) => Ok(g.row),
            other => Err(other),
        })?;
        let mut props: Vec<(PropertyTag, RowValue)> =
            MESSAGE_TAGS.iter().copied().zip(row.values).collect();
        fill_subject(&mut props, &opened);
        let recipients = self.all_recipients(target, &opened).await?;
        Ok(Message {
            target,
            id,
            props,
            recipients,
            has_named_properties: opened.has_named_properties,
        })
    }

    /// The recipients of the RopOpenMessage response, then RopReadRecipients for the rest
    /// (MS-OXCMSG 3.2.5.3) until RecipientCount rows are known.
    async fn all_recipients(
        &mut self,
        target: Target,
        opened: &Opened,
    ) -> Result<MessageRecipients, Error> {
        const STEP: &str = "read-recipients";
        let columns = &opened.recipient_columns;
        let mut out: Vec<MessageRecipient> = opened
            .recipient_rows
            .iter()
            .map(|r: &OpenRecipientRow| {
                MessageRecipient::from_row(r.recipient_type, &r.row, columns)
            })
            .collect();
        let total = usize::from(opened.recipient_count);
        while out.len() < total {
            let row_id = u32::try_from(out.len()).unwrap_or(u32::MAX);
            let mut b = Batch::new(target.handles(self.logon_handle(), 0));
            let (opens, slot) = target.push_open(&mut b);
            b.push_rows(
                ReadRecipientsRequest {
                    logon_id: 0,
                    input_handle_index: slot,
                    row_id,
                    reserved: 0,
                },
                columns,
            );
            target.push_release(&mut b, slot, 0);
            let mut r = b.send(self, STEP).await?;
            let what = || format!("recipients of {} from row {row_id}", target.describe());
            for _ in 0..opens {
                r.next(&what, |x| match x {
                    RopResponse::Error(_) | RopResponse::BufferTooSmall(_) => Err(x),
                    _ => Ok(()),
                })?;
            }
            let rows = r.next(&what, |x| match x {
                RopResponse::ReadRecipients(rr) => Ok(rr.rows),
                other => Err(other),
            })?;
            if rows.is_empty() {
                break;
            }
            out.extend(
                rows.iter()
                    .map(|r| MessageRecipient::from_row(r.recipient_type, &r.row, columns)),
            );
        }
        Ok(MessageRecipients(out))
    }
}

/// The message information RopOpenMessage and RopOpenEmbeddedMessage both return.
struct Opened {
    has_named_properties: bool,
    subject_prefix: TypedString,
    normalized_subject: TypedString,
    recipient_count: u16,
    recipient_columns: Vec<PropertyTag>,
    recipient_rows: Vec<OpenRecipientRow>,
}

impl From<OpenMessageResponse> for Opened {
    fn from(o: OpenMessageResponse) -> Self {
        Self {
            has_named_properties: o.has_named_properties != 0,
            subject_prefix: o.subject_prefix,
            normalized_subject: o.normalized_subject,
            recipient_count: o.recipient_count,
            recipient_columns: o.recipient_columns,
            recipient_rows: o.recipient_rows,
        }
    }
}

impl From<MessageInfo> for Opened {
    fn from(o: MessageInfo) -> Self {
        Self {
            has_named_properties: o.has_named_properties != 0,
            subject_prefix: o.subject_prefix,
            normalized_subject: o.normalized_subject,
            recipient_count: o.recipient_count,
            recipient_columns: o.recipient_columns,
            recipient_rows: o.recipient_rows,
        }
    }
}

/// When PidTagSubject was not readable, rebuild it from the RopOpenMessage response's
/// SubjectPrefix + NormalizedSubject (MS-OXCMSG 2.2.1.46).
fn fill_subject(props: &mut [(PropertyTag, RowValue)], opened: &Opened) {
    let text = |t: &TypedString| match t {
        TypedString::Unicode(s) => Some(s.clone()),
        TypedString::String8(b) | TypedString::ReducedUnicode(b) => {
            Some(b.iter().map(|&c| char::from(c)).collect())
        }
        TypedString::None | TypedString::Empty => None,
    };
    for (tag, cell) in props.iter_mut() {
        if tag.id() == tags::PidTagSubject.id() && cell.value().is_none() {
            let prefix = text(&opened.subject_prefix).unwrap_or_default();
            if let Some(n) = text(&opened.normalized_subject) {
                *cell = RowValue::Value(PropertyValue::Unicode(prefix + &n));
            }
        }
    }
}

pub(crate) fn lookup(
    props: &[(PropertyTag, RowValue)],
    tag: PropertyTag,
) -> Option<&PropertyValue> {
    props
        .iter()
        .find(|(t, _)| t.id() == tag.id())
        .and_then(|(_, v)| v.value())
}
