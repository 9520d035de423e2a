//! Composing and sending messages: CDO's `Messages.Add`, `Message.Recipients`,
//! `Message.Attachments`, `Message.Update` and `Message.Send`.
//!
//! A [`NewMessage`] is built locally and validated before anything exists on the server:
//! every recipient is resolved in the address book and every attachment file is opened
//! first, so a message that cannot be sent is never half-created. `save()` and `send()` then
//! create it in as few Execute round trips as the ROP buffer size allows (MS-OXCMSG 3.1.4.1,
//! MS-OXOMSG 3.1.4.1):
//!
//! 1. RopCreateMessage, RopSetProperties, RopModifyRecipients (one Execute);
//! 2. per attachment: RopCreateAttachment + RopSetProperties + RopOpenStream, then
//!    RopWriteStream in chunks that fit one ROP buffer, then RopCommitStream +
//!    RopSaveChangesAttachment (the file is read a chunk at a time: constant memory);
//! 3. RopSaveChangesMessage, and for `send()` a last Execute with RopSubmitMessage alone.
//!
//! Exactly-once sending: the message carries a unique PidTagInternetMessageId from the start.
//! If the Execute carrying RopSubmitMessage gets no answer (the connection broke), the
//! submit is never sent again: the session reconnects and looks for that ID in Sent Items
//! and in the folder the message was created in, and reports [`SendOutcome`] precisely. The
//! mailbox may be out of reach for a while (a server restarting): reconnecting and looking
//! are tried again with growing pauses for up to [`RetryPolicy::check_window`] before the
//! answer is [`SendOutcome::Unknown`]. When the answer to RopSaveChangesMessage is lost the
//! same search tells whether a draft was left behind, and the error names it ([`Draft`]).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use oxmapi_wire::data::restriction::RELOP_EQ;
use oxmapi_wire::data::{
    ErrorCode, FolderId, MessageId, PropertyRow, PropertyTag, PropertyValue, RowValue,
    TaggedPropertyValue, tags,
};
use oxmapi_wire::rop::{
    CommitStreamRequest, CreateAttachmentRequest, CreateMessageRequest, DeletePropertiesRequest,
    ModifyRecipientRow, ModifyRecipientsRequest, OpenStreamRequest, RecipientRow, RopResponse,
    SaveChangesAttachmentRequest, SaveChangesMessageRequest, SetPropertiesRequest,
    SubmitMessageRequest, WriteStreamRequest, X500Info, recipient_flags, save_flags, submit_flags,
};
use serde::Serialize;
use tokio::io::AsyncReadExt;

use crate::addressbook::{AddressEntry, Resolution};
use crate::backoff::RetryPolicy;
use crate::error::{Error, ErrorKind};
use crate::messages::{Filter, MessageRow, Messages};
use crate::ropkit::{Batch, NEW_HANDLE};
use crate::session::Session;

/// PidTagAttachDataBinary (MS-OXPROPS 2.587).
const PID_TAG_ATTACH_DATA_BINARY: PropertyTag = PropertyTag(0x3701_0102);
/// PidTagRecipientDisplayName (MS-OXPROPS 2.900).
const PID_TAG_RECIPIENT_DISPLAY_NAME: PropertyTag = PropertyTag(0x5FF6_001F);
/// PidTagBodyHtml as PtypBinary is PidTagHtml (MS-OXPROPS 2.727).
const PID_TAG_HTML: PropertyTag = tags::PidTagHtml;
/// ATTACH_BY_VALUE (MS-OXCMSG 2.2.2.9 PidTagAttachMethod).
const ATTACH_BY_VALUE: i32 = 0x0000_0001;
/// OpenModeFlags Create (MS-OXCPRPT 2.2.14.1): a new, empty stream.
const STREAM_CREATE: u8 = 0x02;
/// Largest ROP request buffer one Execute may carry (MS-OXCRPC 3.1.4.2.1.1: 32 KB).
const MAX_ROP_BUFFER: usize = oxmapi_wire::rpcext::MAX_SEGMENT_PAYLOAD;
/// RopWriteStream data per Execute: the buffer minus RopSize (2), the ROP header and
/// DataSize (5), the handle table (4 slots) and some margin.
pub(crate) const WRITE_CHUNK: usize = MAX_ROP_BUFFER - 64;

/// PidTagRecipientType values (MS-OXOMSG 2.2.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RecipientType {
    /// MAPI_TO (1).
    To,
    /// MAPI_CC (2).
    Cc,
    /// MAPI_BCC (3).
    Bcc,
}

impl RecipientType {
    fn code(self) -> u8 {
        match self {
            Self::To => 1,
            Self::Cc => 2,
            Self::Bcc => 3,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::To => "To",
            Self::Cc => "Cc",
            Self::Bcc => "Bcc",
        }
    }
}

/// A recipient of a new message (CDO `Recipient`): the name as given, and the address-book
/// entry once [`Recipients::resolve`] ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recipient {
    /// The name as given (CDO `Recipient.Name` before Resolve).
    pub name: String,
    /// To, Cc or Bcc.
    pub kind: RecipientType,
    /// The resolved entry (CDO `Recipient.AddressEntry`).
    pub entry: Option<AddressEntry>,
}

/// The recipients of a new message (CDO `Message.Recipients`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recipients {
    list: Vec<Recipient>,
}

impl Recipients {
    /// CDO `Recipients.Add`: a name, alias, SMTP address or `Name <address>`.
    pub fn add(&mut self, name: impl Into<String>, kind: RecipientType) -> &mut Self {
        self.list.push(Recipient {
            name: name.into(),
            kind,
            entry: None,
        });
        self
    }

    /// Adds an entry already resolved (from the GAL, say).
    pub fn add_entry(&mut self, entry: AddressEntry, kind: RecipientType) -> &mut Self {
        self.list.push(Recipient {
            name: entry.name.clone(),
            kind,
            entry: Some(entry),
        });
        self
    }

    /// The recipients.
    pub fn iter(&self) -> impl Iterator<Item = &Recipient> {
        self.list.iter()
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// True when every recipient has an address-book entry.
    pub fn resolved(&self) -> bool {
        self.list.iter().all(|r| r.entry.is_some())
    }

    /// CDO `Recipients.Resolve`: resolves every recipient not yet resolved. Fails, naming
    /// every recipient that is unknown (`MAPI_E_NOT_FOUND`) or ambiguous
    /// (`MAPI_E_AMBIGUOUS_RECIP`, with the candidates), and then changes nothing.
    pub async fn resolve(&mut self, session: &mut Session) -> Result<(), Error> {
        const STEP: &str = "resolve-recipients";
        let mut found = Vec::with_capacity(self.list.len());
        let mut problems = Vec::new();
        let mut code = ErrorCode::NOT_FOUND;
        for r in &self.list {
            if let Some(e) = &r.entry {
                found.push(Some(e.clone()));
                continue;
            }
            match session.resolve_name(&r.name).await? {
                Resolution::Resolved(e) => found.push(Some(e)),
                Resolution::NotFound => {
                    found.push(None);
                    problems.push(format!(
                        "{} recipient {:?} is not in the address book",
                        r.kind.label(),
                        r.name
                    ));
                }
                Resolution::Ambiguous { candidates } => {
                    found.push(None);
                    code = ErrorCode::AMBIGUOUS_RECIP;
                    let names: Vec<String> =
                        candidates.iter().map(AddressEntry::describe).collect();
                    problems.push(format!(
                        "{} recipient {:?} is ambiguous: {}",
                        r.kind.label(),
                        r.name,
                        names.join("; ")
                    ));
                }
            }
        }
        if !problems.is_empty() {
            return Err(Error::mapi(STEP, code, problems.join(", "))
                .with_hint("give the exact alias or SMTP address of each recipient"));
        }
        for (r, e) in self.list.iter_mut().zip(found) {
            r.entry = e;
        }
        Ok(())
    }
}

/// Where an attachment's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    Bytes(Vec<u8>),
    File(PathBuf),
    /// An attachment of a stored message, copied stream to stream (see `reply.rs`).
    Stored(crate::stream::Target),
}

/// An attachment of a new message (CDO `Attachment`, ATTACH_BY_VALUE).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAttachment {
    /// PidTagAttachLongFilename.
    pub file_name: String,
    /// PidTagAttachMimeTag, if known.
    pub mime_type: Option<String>,
    source: Source,
}

impl NewAttachment {
    /// The attachment's size, as far as known now (files are measured when checked).
    fn size_hint(&self) -> Option<u64> {
        match &self.source {
            Source::Bytes(b) => Some(b.len() as u64),
            Source::File(_) | Source::Stored(_) => None,
        }
    }
}

/// What became of a [`NewMessage::send`], as precisely as can be known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum SendOutcome {
    /// The server accepted the submission (Exchange keeps the copy in Sent Items).
    Sent {
        /// The message's PidTagInternetMessageId.
        internet_message_id: String,
        /// True when the submit's answer was lost and the message was found in Sent Items
        /// after reconnecting.
        verified_after_reconnect: bool,
    },
    /// The message was not sent; a saved draft stays where it was created.
    NotSent {
        /// The message's PidTagInternetMessageId.
        internet_message_id: String,
        /// The unsent draft left in its folder, if it was saved.
        draft: Option<Draft>,
        /// Why, with the MAPI error when the server refused.
        reason: String,
    },
    /// The connection broke after RopSubmitMessage was sent and the message could be found
    /// neither in Sent Items nor in its folder (or the mailbox could not be reached again).
    /// It was NOT submitted again.
    Unknown {
        /// The message's PidTagInternetMessageId: look for it before sending again.
        internet_message_id: String,
        /// What was tried.
        reason: String,
    },
}

impl SendOutcome {
    /// True for [`SendOutcome::Sent`].
    pub fn is_sent(&self) -> bool {
        matches!(self, Self::Sent { .. })
    }
}

/// An unsent message a failed [`NewMessage::send`] or [`NewMessage::save`] left in the
/// mailbox: saved before the failure, so a person can send or delete it
/// ([`Error::drafts`], [`SendOutcome::NotSent`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Draft {
    /// The folder holding it, by name when known (`Outbox`), else its folder ID.
    pub folder: String,
    /// The folder's ID.
    #[serde(serialize_with = "fid_text")]
    pub folder_id: FolderId,
    /// PidTagSubject.
    pub subject: String,
    /// Its entry ID in hex (what `oxmapi show` and `oxmapi rm` take), when it could be read.
    pub entry_id: Option<String>,
    /// Its MID.
    #[serde(serialize_with = "mid_text")]
    pub message_id: MessageId,
    /// PidTagInternetMessageId.
    pub internet_message_id: String,
}

impl std::fmt::Display for Draft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "an unsent draft was left in folder {}: subject {:?}, entry ID {}",
            self.folder,
            self.subject,
            self.entry_id.as_deref().unwrap_or("(unknown)")
        )?;
        write!(f, ", message ID {}", self.internet_message_id)
    }
}

/// A message being composed (CDO `Messages.Add` → `Message`). Nothing exists on the server
/// until [`NewMessage::save`] or [`NewMessage::send`].
#[derive(Debug, Clone)]
pub struct NewMessage {
    folder: FolderId,
    props: Vec<TaggedPropertyValue>,
    deleted: Vec<PropertyTag>,
    recipients: Recipients,
    attachments: Vec<NewAttachment>,
    internet_message_id: String,
    saved: Option<MessageId>,
}

impl Session {
    /// CDO `Folder.Messages.Add`: a new message to be created in `folder` (the Outbox for
    /// messages to send, Drafts or any folder for drafts).
    pub fn new_message(&self, folder: FolderId) -> NewMessage {
        let smtp = self
            .report()
            .resolved
            .as_ref()
            .and_then(|r| r.smtp_address.as_deref());
        let profile = self.profile();
        let domain = message_id_domain(&[
            smtp,
            Some(profile.mailbox.as_str()),
            Some(profile.server_name.as_str()),
        ])
        .to_owned();
        NewMessage {
            folder,
            props: vec![TaggedPropertyValue::new(
                tags::PidTagMessageClass,
                PropertyValue::Unicode("IPM.Note".into()),
            )],
            deleted: Vec::new(),
            recipients: Recipients::default(),
            attachments: Vec::new(),
            internet_message_id: unique_message_id(&domain),
            saved: None,
        }
    }
}

impl NewMessage {
    /// CDO `Message.Subject` (PidTagSubject).
    pub fn set_subject(&mut self, subject: &str) -> &mut Self {
        self.set(
            tags::PidTagSubject,
            PropertyValue::Unicode(subject.to_owned()),
        )
    }

    /// CDO `Message.Text` (PidTagBody).
    pub fn set_body_text(&mut self, text: &str) -> &mut Self {
        self.set(tags::PidTagBody, PropertyValue::Unicode(text.to_owned()))
    }

    /// The HTML body (PidTagHtml, UTF-8 bytes; PidTagInternetCodepage 65001).
    pub fn set_body_html(&mut self, html: &str) -> &mut Self {
        self.set(
            PID_TAG_HTML,
            PropertyValue::Binary(html.as_bytes().to_vec()),
        );
        self.set(tags::PidTagInternetCodepage, PropertyValue::Int32(65001))
    }

    /// CDO `Message.Fields(tag) = value`: sets any property.
    pub fn set(&mut self, tag: PropertyTag, value: PropertyValue) -> &mut Self {
        self.props.retain(|p| p.tag.id() != tag.id());
        self.deleted.retain(|t| t.id() != tag.id());
        self.props.push(TaggedPropertyValue::new(tag, value));
        self
    }

    /// CDO `Fields.Delete`: removes a property (RopDeleteProperties).
    pub fn delete(&mut self, tag: PropertyTag) -> &mut Self {
        self.props.retain(|p| p.tag.id() != tag.id());
        if !self.deleted.iter().any(|t| t.id() == tag.id()) {
            self.deleted.push(tag);
        }
        self
    }

    /// A property set so far.
    pub fn get(&self, tag: PropertyTag) -> Option<&PropertyValue> {
        self.props
            .iter()
            .find(|p| p.tag.id() == tag.id())
            .map(|p| &p.value)
    }

    /// CDO `Message.Recipients`.
    pub fn recipients(&self) -> &Recipients {
        &self.recipients
    }

    /// CDO `Message.Recipients`, to add to.
    pub fn recipients_mut(&mut self) -> &mut Recipients {
        &mut self.recipients
    }

    /// Adds a To recipient.
    pub fn to(&mut self, name: &str) -> &mut Self {
        self.recipients.add(name, RecipientType::To);
        self
    }

    /// Adds a Cc recipient.
    pub fn cc(&mut self, name: &str) -> &mut Self {
        self.recipients.add(name, RecipientType::Cc);
        self
    }

    /// Adds a Bcc recipient.
    pub fn bcc(&mut self, name: &str) -> &mut Self {
        self.recipients.add(name, RecipientType::Bcc);
        self
    }

    /// CDO `Attachments.Add` with a file: read when the message is saved, a chunk at a time.
    pub fn attach_file(&mut self, path: impl AsRef<Path>) -> &mut Self {
        let path = path.as_ref().to_path_buf();
        let file_name = path
            .file_name()
            .map_or_else(|| "attachment".into(), |n| n.to_string_lossy().into_owned());
        self.attachments.push(NewAttachment {
            mime_type: mime_for(&file_name).map(str::to_owned),
            file_name,
            source: Source::File(path),
        });
        self
    }

    /// CDO `Attachments.Add` with bytes.
    pub fn attach_bytes(&mut self, file_name: &str, data: Vec<u8>) -> &mut Self {
        self.attachments.push(NewAttachment {
            file_name: file_name.to_owned(),
            mime_type: mime_for(file_name).map(str::to_owned),
            source: Source::Bytes(data),
        });
        self
    }

    /// Adds a copy of a stored attachment, streamed when the message is saved.
    pub(crate) fn attach_stored(
        &mut self,
        file_name: String,
        mime_type: Option<String>,
        target: crate::stream::Target,
    ) -> &mut Self {
        self.attachments.push(NewAttachment {
            file_name,
            mime_type,
            source: Source::Stored(target),
        });
        self
    }

    /// The attachments.
    pub fn attachments(&self) -> &[NewAttachment] {
        &self.attachments
    }

    /// The PidTagInternetMessageId this message carries (unique; the submit id).
    pub fn internet_message_id(&self) -> &str {
        &self.internet_message_id
    }

    /// The folder the message is created in.
    pub fn folder_id(&self) -> FolderId {
        self.folder
    }

    /// The MID once saved.
    pub fn message_id(&self) -> Option<MessageId> {
        self.saved
    }

    /// CDO `Message.Update`: resolves the recipients, checks the attachment files, then
    /// creates the message with everything and saves it. Returns its MID.
    pub async fn save(&mut self, session: &mut Session) -> Result<MessageId, Error> {
        if let Some(mid) = self.saved {
            return Err(Error::new(
                ErrorKind::Unsupported,
                ErrorCode::NO_SUPPORT,
                format!(
                    "message {mid} was already saved; changing a saved message is not supported"
                ),
            )
            .at_step("save-message"));
        }
        self.prepare(session).await?;
        let (mid, handle) = match self.create(session).await {
            Ok(created) => created,
            // The answer was lost, not the save: if the message is there, it was saved.
            Err(Created::SaveLost(lost)) => match self.look_for_draft(session).await {
                Search::Found(d) => {
                    self.saved = Some(d.message_id);
                    return Ok(d.message_id);
                }
                other => return Err(other.into_error(lost, self)),
            },
            Err(Created::Failed(e)) => return Err(e),
        };
        crate::write::release(session, handle).await;
        self.saved = Some(mid);
        Ok(mid)
    }

    /// CDO `Message.Send`: like [`Self::save`], then RopSubmitMessage exactly once.
    ///
    /// Errors before the submit (unresolved recipients, missing files, refused ROPs) come
    /// back as `Err` and nothing was sent. Once the submit is on the wire the answer is a
    /// [`SendOutcome`].
    pub async fn send(mut self, session: &mut Session) -> Result<SendOutcome, Error> {
        if self.saved.is_some() {
            return Err(Error::new(
                ErrorKind::Unsupported,
                ErrorCode::NO_SUPPORT,
                "send() after save() is not supported: send the message without saving it first",
            )
            .at_step("submit-message"));
        }
        if self.recipients.is_empty() {
            return Err(Error::mapi(
                "submit-message",
                ErrorCode(0x8004_0607),
                "the message has no recipients",
            )
            .with_hint("add at least one To, Cc or Bcc recipient"));
        }
        self.prepare(session).await?;
        let (mid, handle) = match self.create(session).await {
            Ok(created) => created,
            // Nothing was submitted; a draft may have been saved: name it.
            Err(Created::SaveLost(lost)) => {
                let lost = lost.with_note("the message was NOT sent");
                let search = self.look_for_draft(session).await;
                return Err(search.into_error(lost, &self));
            }
            Err(Created::Failed(e)) => return Err(e),
        };
        self.saved = Some(mid);
        Ok(self.submit(session, handle).await)
    }

    /// Resolves recipients and checks attachment files: nothing is created on failure.
    async fn prepare(&mut self, session: &mut Session) -> Result<(), Error> {
        for a in &self.attachments {
            if let Source::File(p) = &a.source {
                check_file(p).await?;
            }
        }
        self.recipients.resolve(session).await
    }

    /// Creates the message with its properties, recipients and attachments and saves it,
    /// keeping it open read-write. Returns the MID and the open message's handle. Nothing
    /// exists on the server after a failure, unless the answer to the save was lost
    /// ([`Created::SaveLost`]).
    async fn create(&self, session: &mut Session) -> Result<(MessageId, u32), Created> {
        const STEP: &str = "create-message";
        let mut props = self.props.clone();
        props.push(TaggedPropertyValue::new(
            tags::PidTagInternetMessageId,
            PropertyValue::Unicode(self.internet_message_id.clone()),
        ));
        // Values too large for one RopSetProperties go through streams after it.
        let (props, large) = crate::reply::split_large(props);
        let mut b = Batch::new(vec![session.logon_handle(), NEW_HANDLE]);
        b.push(CreateMessageRequest {
            logon_id: 0,
            input_handle_index: 0,
            output_handle_index: 1,
            code_page_id: 0x0FFF,
            folder_id: self.folder,
            associated_flag: 0,
        });
        b.push(SetPropertiesRequest {
            logon_id: 0,
            input_handle_index: 1,
            values: props,
        });
        if !self.deleted.is_empty() {
            b.push(DeletePropertiesRequest {
                logon_id: 0,
                input_handle_index: 1,
                property_tags: self.deleted.clone(),
            });
        }
        if !self.recipients.is_empty() {
            b.push(modify_recipients(&self.recipients)?);
        }
        let mut r = b.send(session, STEP).await?;
        let what = || format!("creating a message in folder {}", self.folder);
        r.next(&what, |x| match x {
            RopResponse::CreateMessage(c) => Ok(c),
            o => Err(o),
        })?;
        let handle = r.handle(1)?;
        r.next(&what, |x| match x {
            RopResponse::SetProperties(p) => Ok(p),
            o => Err(o),
        })?;
        if !self.deleted.is_empty() {
            r.next(&what, |x| match x {
                RopResponse::DeleteProperties(p) => Ok(p),
                o => Err(o),
            })?;
        }
        if !self.recipients.is_empty() {
            let what = || {
                format!(
                    "setting the recipients of a message in folder {}",
                    self.folder
                )
            };
            r.next(&what, |x| match x {
                RopResponse::ModifyRecipients(p) => Ok(p),
                o => Err(o),
            })?;
        }
        for (tag, bytes) in large {
            if let Err(e) = crate::reply::write_property(session, handle, tag, bytes).await {
                crate::write::release(session, handle).await;
                return Err(e.into());
            }
        }
        for a in &self.attachments {
            if let Err(e) = add_attachment(session, handle, a).await {
                crate::write::release(session, handle).await;
                return Err(e.into());
            }
        }
        let mut b = Batch::new(vec![handle]);
        b.push(SaveChangesMessageRequest {
            logon_id: 0,
            response_handle_index: 0,
            input_handle_index: 0,
            save_flags: save_flags::KEEP_OPEN_READ_WRITE,
        });
        let mut r = match b.send(session, "save-message").await {
            Ok(r) => r,
            // A server that backed off did not run the ROP (MS-OXCROPS 3.1.5.1.1).
            Err(e) if e.is_server_busy() => return Err(Created::Failed(e)),
            Err(e) => return Err(Created::SaveLost(e)),
        };
        let what = || format!("saving the new message in folder {}", self.folder);
        let saved = r.next(&what, |x| match x {
            RopResponse::SaveChangesMessage(s) => Ok(s),
            o => Err(o),
        })?;
        Ok((saved.message_id, handle))
    }

    /// RopSubmitMessage, exactly once, and the outcome.
    async fn submit(&self, session: &mut Session, handle: u32) -> SendOutcome {
        const STEP: &str = "submit-message";
        let id = self.internet_message_id.clone();
        let mut b = Batch::new(vec![handle]);
        b.push(SubmitMessageRequest {
            logon_id: 0,
            input_handle_index: 0,
            submit_flags: submit_flags::NONE,
        });
        b.release(0);
        match b.send(session, STEP).await {
            Ok(mut r) => {
                let what = || format!("submitting message {id}");
                match r.next(&what, |x| match x {
                    RopResponse::SubmitMessage(s) => Ok(s),
                    o => Err(o),
                }) {
                    Ok(_) => SendOutcome::Sent {
                        internet_message_id: id,
                        verified_after_reconnect: false,
                    },
                    Err(e) => {
                        let draft = self.draft_by_id(session).await;
                        SendOutcome::NotSent {
                            internet_message_id: id,
                            reason: with_draft_note(e.to_string(), draft.as_ref()),
                            draft,
                        }
                    }
                }
            }
            // A server that backed off did not run the ROP (MS-OXCROPS 3.1.5.1.1).
            Err(busy) if busy.is_server_busy() => {
                let draft = self.draft_by_id(session).await;
                SendOutcome::NotSent {
                    internet_message_id: id,
                    reason: with_draft_note(busy.to_string(), draft.as_ref()),
                    draft,
                }
            }
            // The Execute may or may not have reached the server: never send it again.
            Err(lost) => self.check_after_loss(session, lost).await,
        }
    }

    /// Reconnects and looks for the message by its PidTagInternetMessageId, first in Sent
    /// Items, then in its own folder; while the mailbox cannot be reached or the message is
    /// in neither, tries again with growing pauses for up to the session's
    /// [`RetryPolicy::check_window`].
    async fn check_after_loss(&self, session: &mut Session, lost: Error) -> SendOutcome {
        let id = self.internet_message_id.clone();
        let sent_items = session.default_folder_id(crate::DefaultFolder::SentItems);
        let mut window = CheckWindow::new(&session.retry_policy());
        let mut connected = false;
        let last = loop {
            let why = match self.look(session, &mut connected, sent_items).await {
                Ok(Some(Found::Sent)) => {
                    return SendOutcome::Sent {
                        internet_message_id: id,
                        verified_after_reconnect: true,
                    };
                }
                Ok(Some(Found::InFolder(row))) => {
                    let draft = self.draft_from(session, row).await;
                    return SendOutcome::NotSent {
                        internet_message_id: id,
                        reason: format!(
                            "the submit's answer was lost ({lost}); after reconnecting the message is \
                             still unsent in folder {}; {draft}",
                            draft.folder
                        ),
                        draft: Some(draft),
                    };
                }
                Ok(None) => format!(
                    "the message is neither in Sent Items nor in folder {}",
                    self.folder
                ),
                Err(e) => e.to_string(),
            };
            if !window.pause().await {
                break why;
            }
        };
        SendOutcome::Unknown {
            internet_message_id: id,
            reason: format!(
                "the submit's answer was lost ({lost}); after {} tries in {} s: {last}",
                window.tries,
                window.policy_window.as_secs()
            ),
        }
    }

    /// One try of [`Self::check_after_loss`]: reconnects if needed, then searches.
    async fn look(
        &self,
        session: &mut Session,
        connected: &mut bool,
        sent_items: FolderId,
    ) -> Result<Option<Found>, Error> {
        let id = &self.internet_message_id;
        let result = async {
            if !*connected {
                session.reconnect().await?;
                *connected = true;
            }
            if find_by_message_id(session, sent_items, id).await?.is_some() {
                return Ok(Some(Found::Sent));
            }
            Ok(find_by_message_id(session, self.folder, id)
                .await?
                .map(Found::InFolder))
        }
        .await;
        if let Err(e) = &result {
            *connected &= !lost_connection(e);
        }
        result
    }

    /// After the answer to RopSaveChangesMessage was lost: whether the message was saved,
    /// tried like [`Self::check_after_loss`].
    async fn look_for_draft(&self, session: &mut Session) -> Search {
        let mut window = CheckWindow::new(&session.retry_policy());
        let mut connected = false;
        loop {
            let result = async {
                if !connected {
                    session.reconnect().await?;
                    connected = true;
                }
                find_by_message_id(session, self.folder, &self.internet_message_id).await
            }
            .await;
            match result {
                Ok(Some(row)) => return Search::Found(self.draft_from(session, row).await),
                Ok(None) => return Search::Absent,
                Err(e) => {
                    connected &= !lost_connection(&e);
                    if !window.pause().await {
                        return Search::Unknown(e);
                    }
                }
            }
        }
    }

    /// The saved message, looked up again to name it; `None` if it cannot be found.
    async fn draft_by_id(&self, session: &mut Session) -> Option<Draft> {
        match find_by_message_id(session, self.folder, &self.internet_message_id).await {
            Ok(Some(row)) => Some(self.draft_from(session, row).await),
            _ => None,
        }
    }

    /// A [`Draft`] for a row found in this message's folder.
    async fn draft_from(&self, session: &mut Session, row: MessageRow) -> Draft {
        let subject = row.subject().unwrap_or_else(|| self.subject());
        Draft {
            folder: folder_name(session, self.folder).await,
            folder_id: self.folder,
            subject,
            entry_id: row.entry_id().map(|e| e.to_hex()),
            message_id: row.message_id().or(self.saved).unwrap_or_default(),
            internet_message_id: self.internet_message_id.clone(),
        }
    }

    fn subject(&self) -> String {
        match self.get(tags::PidTagSubject) {
            Some(PropertyValue::Unicode(s)) => s.clone(),
            _ => String::new(),
        }
    }
}

/// Why [`NewMessage::create`] failed.
enum Created {
    /// Refused or broken before the save: nothing exists on the server.
    Failed(Error),
    /// The answer to RopSaveChangesMessage was lost: the message may or may not be saved.
    SaveLost(Error),
}

impl From<Error> for Created {
    fn from(e: Error) -> Self {
        Self::Failed(e)
    }
}

/// What [`NewMessage::look_for_draft`] found.
enum Search {
    /// The save went through: the draft.
    Found(Draft),
    /// The mailbox answered and the message is not there: nothing was saved.
    Absent,
    /// The mailbox could not be searched within the window.
    Unknown(Error),
}

impl Search {
    /// The error for a lost save when no draft was found.
    fn into_error(self, lost: Error, m: &NewMessage) -> Error {
        match self {
            Self::Found(d) => lost.with_draft(d),
            Self::Absent => lost.with_note(format!(
                "after reconnecting, folder {} holds no such message: nothing was saved",
                m.folder
            )),
            Self::Unknown(e) => lost.with_note(format!(
                "it may have been saved as a draft in folder {} with PidTagInternetMessageId {} \
                 (the folder could not be searched: {e}); look for it before trying again",
                m.folder, m.internet_message_id
            )),
        }
    }
}

/// Where [`NewMessage::check_after_loss`] found the message.
enum Found {
    Sent,
    InFolder(MessageRow),
}

/// The pauses of a check: 200 ms, doubling up to 5 s, while they end within the window.
struct CheckWindow {
    deadline: Instant,
    next: Duration,
    tries: u32,
    policy_window: Duration,
}

impl CheckWindow {
    const FIRST: Duration = Duration::from_millis(200);
    const LONGEST: Duration = Duration::from_secs(5);

    fn new(policy: &RetryPolicy) -> Self {
        Self {
            deadline: Instant::now() + policy.check_window,
            next: Self::FIRST,
            tries: 1,
            policy_window: policy.check_window,
        }
    }

    /// Sleeps before the next try; `false` when it would end past the window.
    async fn pause(&mut self) -> bool {
        let pause = self.next;
        if Instant::now() + pause > self.deadline {
            return false;
        }
        tokio::time::sleep(pause).await;
        self.next = (pause * 2).min(Self::LONGEST);
        self.tries += 1;
        true
    }
}

/// True when `e` means the session context may be gone (reconnect before the next try).
fn lost_connection(e: &Error) -> bool {
    e.kind() == ErrorKind::Network || e.code() == ErrorCode::END_OF_SESSION
}

/// `reason`, and the draft left behind if any.
fn with_draft_note(reason: String, draft: Option<&Draft>) -> String {
    match draft {
        Some(d) => format!("{reason}; {d}"),
        None => reason,
    }
}

/// The name of `folder`: a logon folder's ([`crate::SPECIAL_FOLDER_NAMES`]), else its
/// PidTagDisplayName, else its ID.
async fn folder_name(session: &mut Session, folder: FolderId) -> String {
    if let Some(i) = session
        .special_folder_ids()
        .iter()
        .position(|&f| f == folder)
        && let Some(name) = crate::SPECIAL_FOLDER_NAMES.get(i)
    {
        return (*name).to_owned();
    }
    match session.get_folder(folder).await {
        Ok(f) if !f.name().is_empty() => f.name().to_owned(),
        _ => folder.to_string(),
    }
}

fn fid_text<S: serde::Serializer>(f: &FolderId, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&f.to_string())
}

fn mid_text<S: serde::Serializer>(m: &MessageId, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&m.to_string())
}

/// The row (MID, entry ID, subject) of the message in `folder` whose PidTagInternetMessageId
/// is `id`.
pub(crate) async fn find_by_message_id(
    session: &mut Session,
    folder: FolderId,
    id: &str,
) -> Result<Option<MessageRow>, Error> {
    let mut m = Messages::new(folder, String::new())
        .filter(Filter::Property {
            tag: tags::PidTagInternetMessageId,
            relop: RELOP_EQ,
            value: PropertyValue::Unicode(id.to_owned()),
        })
        .columns(&[
            tags::PidTagMid,
            tags::PidTagInternetMessageId,
            tags::PidTagEntryId,
            tags::PidTagSubject,
        ])
        .limit(1);
    let first = m.get_first(session).await?;
    m.close(session).await;
    Ok(first)
}

/// One attachment: create it, stream its bytes, commit, save.
async fn add_attachment(
    session: &mut Session,
    message: u32,
    a: &NewAttachment,
) -> Result<(), Error> {
    const STEP: &str = "create-attachment";
    let what = || format!("attaching {:?}", a.file_name);
    let mut props = vec![
        TaggedPropertyValue::new(
            tags::PidTagAttachMethod,
            PropertyValue::Int32(ATTACH_BY_VALUE),
        ),
        TaggedPropertyValue::new(
            tags::PidTagAttachLongFilename,
            PropertyValue::Unicode(a.file_name.clone()),
        ),
        TaggedPropertyValue::new(
            tags::PidTagAttachFilename,
            PropertyValue::Unicode(short_name(&a.file_name)),
        ),
        TaggedPropertyValue::new(
            tags::PidTagDisplayName,
            PropertyValue::Unicode(a.file_name.clone()),
        ),
        TaggedPropertyValue::new(tags::PidTagRenderingPosition, PropertyValue::Int32(-1)),
    ];
    if let Some(m) = &a.mime_type {
        props.push(TaggedPropertyValue::new(
            tags::PidTagAttachMimeTag,
            PropertyValue::Unicode(m.clone()),
        ));
    }
    let mut b = Batch::new(vec![message, NEW_HANDLE, NEW_HANDLE]);
    b.push(CreateAttachmentRequest {
        logon_id: 0,
        input_handle_index: 0,
        output_handle_index: 1,
    });
    b.push(SetPropertiesRequest {
        logon_id: 0,
        input_handle_index: 1,
        values: props,
    });
    b.push(OpenStreamRequest {
        logon_id: 0,
        input_handle_index: 1,
        output_handle_index: 2,
        property_tag: PID_TAG_ATTACH_DATA_BINARY,
        open_mode_flags: STREAM_CREATE,
    });
    let mut r = b.send(session, STEP).await?;
    r.next(&what, |x| match x {
        RopResponse::CreateAttachment(c) => Ok(c),
        o => Err(o),
    })?;
    let attachment = r.handle(1)?;
    let opened = (|| {
        r.next(&what, |x| match x {
            RopResponse::SetProperties(p) => Ok(p),
            o => Err(o),
        })?;
        r.next(&what, |x| match x {
            RopResponse::OpenStream(s) => Ok(s),
            o => Err(o),
        })?;
        r.handle(2)
    })();
    let stream = match opened {
        Ok(s) => s,
        Err(e) => {
            crate::write::release(session, attachment).await;
            return Err(e);
        }
    };
    let written = write_stream(session, stream, a).await;
    let finished = match written {
        Ok(()) => finish_attachment(session, message, attachment, stream, a).await,
        Err(e) => Err(e),
    };
    if finished.is_err() {
        crate::write::release(session, stream).await;
        crate::write::release(session, attachment).await;
    }
    finished
}

/// RopWriteStream, one chunk per Execute; a file is read a chunk at a time.
async fn write_stream(session: &mut Session, stream: u32, a: &NewAttachment) -> Result<(), Error> {
    match &a.source {
        Source::Stored(target) => {
            crate::reply::copy_stream(session, *target, stream, &a.file_name).await
        }
        Source::Bytes(data) => {
            for chunk in data.chunks(WRITE_CHUNK) {
                write_chunk(session, stream, chunk.to_vec(), &a.file_name).await?;
            }
            Ok(())
        }
        Source::File(path) => {
            let mut f = tokio::fs::File::open(path)
                .await
                .map_err(|e| file_error(path, &e))?;
            let mut buf = vec![0u8; WRITE_CHUNK];
            loop {
                let mut filled = 0;
                while filled < buf.len() {
                    let n = f
                        .read(buf.get_mut(filled..).unwrap_or_default())
                        .await
                        .map_err(|e| file_error(path, &e))?;
                    if n == 0 {
                        break;
                    }
                    filled += n;
                }
                if filled == 0 {
                    return Ok(());
                }
                let chunk = buf.get(..filled).unwrap_or_default().to_vec();
                write_chunk(session, stream, chunk, &a.file_name).await?;
                if filled < buf.len() {
                    return Ok(());
                }
            }
        }
    }
}

pub(crate) async fn write_chunk(
    session: &mut Session,
    stream: u32,
    data: Vec<u8>,
    name: &str,
) -> Result<(), Error> {
    let len = data.len();
    let mut b = Batch::new(vec![stream]);
    b.push(WriteStreamRequest {
        logon_id: 0,
        input_handle_index: 0,
        data,
    });
    let mut r = b.send(session, "write-stream").await?;
    let what = || format!("writing {len} bytes of attachment {name:?}");
    let w = r.next(&what, |x| match x {
        RopResponse::WriteStream(w) => Ok(w),
        o => Err(o),
    })?;
    if usize::from(w.written_size) != len {
        return Err(Error::mapi(
            "write-stream",
            ErrorCode::CALL_FAILED,
            format!(
                "{}: the server wrote {} of {len} bytes",
                what(),
                w.written_size
            ),
        ));
    }
    Ok(())
}

async fn finish_attachment(
    session: &mut Session,
    message: u32,
    attachment: u32,
    stream: u32,
    a: &NewAttachment,
) -> Result<(), Error> {
    let what = || format!("saving attachment {:?}", a.file_name);
    let mut b = Batch::new(vec![message, attachment, stream]);
    b.push(CommitStreamRequest {
        logon_id: 0,
        input_handle_index: 2,
    });
    b.release(2);
    b.push(SaveChangesAttachmentRequest {
        logon_id: 0,
        response_handle_index: 0,
        input_handle_index: 1,
        save_flags: save_flags::KEEP_OPEN_READ_WRITE,
    });
    b.release(1);
    let mut r = b.send(session, "save-attachment").await?;
    r.next(&what, |x| match x {
        RopResponse::CommitStream(c) => Ok(c),
        o => Err(o),
    })?;
    r.next(&what, |x| match x {
        RopResponse::SaveChangesAttachment(s) => Ok(s),
        o => Err(o),
    })?;
    let _ = a.size_hint();
    Ok(())
}

/// The RecipientColumns of RopModifyRecipients: only properties the RecipientRow has no
/// field of its own for. A server refuses (ecInvalidParam, seen from gromox 3.10) columns
/// naming what the row's fields carry (MS-OXCDATA 2.8.3.2): PidTagAddressType,
/// PidTagDisplayName, PidTagEmailAddress, PidTagEntryId, PidTagInstanceKey,
/// PidTagRecipientType, PidTagSearchKey, PidTagSendRichInfo, PidTagTransmittableDisplayName.
const RECIPIENT_COLUMNS: [PropertyTag; 4] = [
    tags::PidTagSmtpAddress,
    PID_TAG_RECIPIENT_DISPLAY_NAME,
    tags::PidTagDisplayType,
    tags::PidTagObjectType,
];

/// RopModifyRecipients (MS-OXCROPS 2.2.6.5.1) with one RecipientRow (MS-OXCDATA 2.8.3.2) per
/// recipient, its identity in the row's own fields (see [`recipient_row`]) and the rest in
/// [`RECIPIENT_COLUMNS`].
fn modify_recipients(recipients: &Recipients) -> Result<ModifyRecipientsRequest, Error> {
    let mut rows = Vec::with_capacity(recipients.len());
    for (i, r) in recipients.iter().enumerate() {
        let Some(e) = &r.entry else {
            return Err(Error::mapi(
                "modify-recipients",
                ErrorCode::NOT_FOUND,
                format!("recipient {:?} was not resolved", r.name),
            ));
        };
        rows.push(ModifyRecipientRow {
            row_id: u32::try_from(i).unwrap_or(u32::MAX),
            recipient_type: r.kind.code(),
            row: Some(recipient_row(e)),
        });
    }
    Ok(ModifyRecipientsRequest {
        logon_id: 0,
        input_handle_index: 1,
        recipient_columns: RECIPIENT_COLUMNS.to_vec(),
        rows,
    })
}

/// The RecipientRow of an entry (MS-OXCDATA 2.8.3.1 flags, 2.8.3.2 fields):
/// * a directory user is Type X500DN with its DN (AddressType `EX` and EmailAddress are
///   implied; the server derives the Address Book EntryID from the DN, MS-OXCDATA 2.2.5.2;
///   the row's EntryId field exists only for personal distribution lists);
/// * a one-off is Type SMTP with EmailAddress (E) and NonRichInfo (N: MIME, not TNEF, as
///   the M bit of its One-Off EntryID says, MS-OXCDATA 2.2.5.1);
/// * both carry DisplayName (D), SimpleDisplayName (I), TransmittableDisplayName as the
///   same as DisplayName (S), in UTF-16 (U).
fn recipient_row(e: &AddressEntry) -> RecipientRow {
    use recipient_flags as rf;
    let smtp = e.smtp_address.clone().unwrap_or_default();
    let values = vec![
        RowValue::Value(PropertyValue::Unicode(smtp)),
        RowValue::Value(PropertyValue::Unicode(e.name.clone())),
        RowValue::Value(PropertyValue::Int32(0)), // DT_MAILUSER
        RowValue::Value(PropertyValue::Int32(6)), // MAPI_MAILUSER
    ];
    let one_off = e.is_one_off();
    let base = rf::DISPLAY | rf::SAME | rf::UNICODE | rf::SIMPLE;
    RecipientRow {
        flags: if one_off {
            rf::TYPE_SMTP | rf::EMAIL | rf::NON_RICH | base
        } else {
            rf::TYPE_X500DN | base
        },
        x500: (!one_off).then(|| X500Info {
            address_prefix_used: 0,
            display_type: 0,
            x500_dn: e.address.clone(),
        }),
        entry_id: None,
        search_key: None,
        address_type: None,
        email_address: one_off.then(|| e.address.clone()),
        display_name: Some(e.name.clone()),
        simple_display_name: Some(e.name.clone()),
        transmittable_display_name: None,
        column_count: u16::try_from(values.len()).unwrap_or(u16::MAX),
        properties: PropertyRow::from_values(values),
    }
}

/// Opens `path` to make sure it is a readable regular file.
async fn check_file(path: &Path) -> Result<u64, Error> {
    let f = tokio::fs::File::open(path)
        .await
        .map_err(|e| file_error(path, &e))?;
    let meta = f.metadata().await.map_err(|e| file_error(path, &e))?;
    if !meta.is_file() {
        return Err(Error::new(
            ErrorKind::NotFound,
            ErrorCode::NOT_FOUND,
            format!("attachment {} is not a regular file", path.display()),
        )
        .at_step("check-attachments"));
    }
    Ok(meta.len())
}

fn file_error(path: &Path, e: &std::io::Error) -> Error {
    let kind = match e.kind() {
        std::io::ErrorKind::NotFound => ErrorKind::NotFound,
        std::io::ErrorKind::PermissionDenied => ErrorKind::AccessDenied,
        _ => ErrorKind::Mapi,
    };
    Error::new(
        kind,
        ErrorCode::NOT_FOUND,
        format!("attachment {} cannot be read: {e}", path.display()),
    )
    .at_step("check-attachments")
}

/// An 8.3 PidTagAttachFilename.
fn short_name(long: &str) -> String {
    let (stem, ext) = long.rsplit_once('.').unwrap_or((long, ""));
    let clean = |s: &str, n: usize| -> String {
        s.chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .take(n)
            .collect::<String>()
            .to_ascii_uppercase()
    };
    let stem = clean(stem, 8);
    let stem = if stem.is_empty() {
        "ATTACH".into()
    } else {
        stem
    };
    let ext = clean(ext, 3);
    if ext.is_empty() {
        stem
    } else {
        format!("{stem}.{ext}")
    }
}

fn mime_for(name: &str) -> Option<&'static str> {
    let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "txt" => "text/plain",
        "htm" | "html" => "text/html",
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "zip" => "application/zip",
        "eml" => "message/rfc822",
        "bin" => "application/octet-stream",
        _ => return None,
    })
}

/// `<random.time@domain>`: unique per message. The randomness comes from the standard
/// library's per-process random SipHash keys, plus the time and a counter.
/// The domain of generated Internet message IDs: that of the first candidate address
/// (`local@domain`: the logged-on user's SMTP address, an SMTP-style profile mailbox, the
/// personalized server name `guid@domain`) with a plausible domain, else `oxmapi.invalid`.
fn message_id_domain<'a>(candidates: &[Option<&'a str>]) -> &'a str {
    candidates
        .iter()
        .flatten()
        .filter_map(|a| a.rsplit_once('@').map(|(_, d)| d))
        .find(|d| {
            !d.is_empty()
                && d.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
        })
        .unwrap_or("oxmapi.invalid")
}

fn unique_message_id(domain: &str) -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(now);
    h.write_u64(n);
    h.write_u32(std::process::id());
    let a = h.finish();
    let mut h2 = std::collections::hash_map::RandomState::new().build_hasher();
    h2.write_u64(a ^ n);
    format!("<{a:016x}{:016x}.{n}@{domain}>", h2.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_are_unique_and_well_formed() {
        let a = unique_message_id("example.test");
        let b = unique_message_id("example.test");
        assert_ne!(a, b);
        assert!(a.starts_with('<') && a.ends_with("@example.test>"));
    }

    #[test]
    fn message_id_domain_prefers_smtp_then_mailbox_then_server_name() {
        let server = Some("6c0e919b-0000-4000-8000-000000000001@example.test");
        assert_eq!(
            message_id_domain(&[Some("alice@mail.example"), Some("alice"), server]),
            "mail.example"
        );
        assert_eq!(
            message_id_domain(&[None, Some("alice@other.example"), server]),
            "other.example"
        );
        assert_eq!(
            message_id_domain(&[None, Some("alice"), server]),
            "example.test"
        );
        assert_eq!(
            message_id_domain(&[Some("bad@"), Some("x@sp ace>"), Some("host.example")]),
            "oxmapi.invalid"
        );
        assert_eq!(message_id_domain(&[]), "oxmapi.invalid");
    }

    #[test]
    fn short_names_are_8_3() {
        assert_eq!(short_name("quarterly report.pdf"), "QUARTERL.PDF");
        assert_eq!(short_name("...."), "ATTACH");
        assert_eq!(short_name("noext"), "NOEXT");
    }

    #[test]
    fn recipient_rows_follow_the_entry_kind() {
        let one_off = AddressEntry::one_off("Carol", "carol@outside.example");
        let row = recipient_row(&one_off);
        assert_eq!(
            row.flags & recipient_flags::TYPE_MASK,
            recipient_flags::TYPE_SMTP
        );
        assert_ne!(row.flags & recipient_flags::NON_RICH, 0);
        assert_eq!(row.email_address.as_deref(), Some("carol@outside.example"));
        assert!(row.x500.is_none());
        let mut buf = oxmapi_wire::WriteCursor::new();
        row.encode(&mut buf, &RECIPIENT_COLUMNS).unwrap();
        let bytes = buf.into_inner();
        let back = RecipientRow::decode(
            &mut oxmapi_wire::ReadCursor::new(&bytes),
            &RECIPIENT_COLUMNS,
        )
        .unwrap();
        assert_eq!(back, row);

        let user = AddressEntry {
            name: "Bob Builder".into(),
            address_type: "EX".into(),
            address: "/o=Org/cn=bob".into(),
            smtp_address: Some("bob@example.test".into()),
            alias: Some("bob".into()),
            entry_id: vec![0; 28],
            mid: Some(0x1003),
        };
        let row = recipient_row(&user);
        assert_eq!(
            row.flags & recipient_flags::TYPE_MASK,
            recipient_flags::TYPE_X500DN
        );
        assert_eq!(row.flags & recipient_flags::NON_RICH, 0);
        assert_eq!(
            row.x500.as_ref().map(|x| x.x500_dn.as_str()),
            Some("/o=Org/cn=bob")
        );
        assert_eq!(row.display_name.as_deref(), Some("Bob Builder"));
        assert!(row.entry_id.is_none() && row.email_address.is_none());
    }

    /// No RecipientColumn names a property a RecipientRow field carries (what gromox
    /// refuses with ecInvalidParam).
    #[test]
    fn recipient_columns_name_no_row_field_property() {
        const ROW_FIELDS: [u16; 9] = [
            0x3002, // PidTagAddressType
            0x3001, // PidTagDisplayName
            0x3003, // PidTagEmailAddress
            0x0FFF, // PidTagEntryId
            0x0FF6, // PidTagInstanceKey
            0x0C15, // PidTagRecipientType
            0x300B, // PidTagSearchKey
            0x3A40, // PidTagSendRichInfo
            0x3A20, // PidTagTransmittableDisplayName
        ];
        for c in RECIPIENT_COLUMNS {
            assert!(!ROW_FIELDS.contains(&c.id()), "{c:?}");
        }
    }
}
