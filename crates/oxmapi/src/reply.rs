//! CDO's `Message.Reply`, `Message.ReplyAll` and `Message.Forward` (CDO 1.2.1): a new
//! [`NewMessage`] in Drafts (or a given folder) that the caller edits and sends.
//!
//! - the subject gets `RE: ` or `FW: ` unless it already starts with it;
//! - recipients: Reply → the original sender; Reply All → the sender and the original To
//!   (as To) and Cc (as Cc), without the mailbox owner and without duplicates; Forward → none;
//! - the body quotes the original: a header block (From / Sent / To / Cc / Subject) and the
//!   original text; an HTML body too when the original had one;
//! - Forward keeps the attachments, copied stream to stream a chunk at a time (RopOpenStream
//!   + RopReadStream on the original, RopWriteStream on the copy: constant memory);
//! - threading: PidTagInReplyToId (replies), PidTagInternetReferences (RFC 5322 3.6.4),
//!   PidTagConversationTopic, and PidTagConversationIndex with a 5-byte response level
//!   appended (MS-OXOMSG 2.2.1.3).

use std::time::SystemTime;

use oxmapi_wire::data::{
    ErrorCode, FolderId, PropertyTag, PropertyValue, TaggedPropertyValue, tags,
};
use oxmapi_wire::rop::{CommitStreamRequest, OpenStreamRequest, ReadStreamRequest, RopResponse};

use crate::addressbook::{AddressEntry, Resolution};
use crate::attachment::ATTACH_BY_VALUE;
use crate::compose::{NewMessage, RecipientType};
use crate::entryid::EntryId;
use crate::error::{Error, ErrorKind};
use crate::fields::Fields;
use crate::filetime;
use crate::message::Message;
use crate::ropkit::{Batch, NEW_HANDLE, bad_data};
use crate::session::Session;
use crate::stream::Target;

/// PidTagConversationTopic (MS-OXPROPS 2.652, MS-OXOMSG 2.2.1.5).
pub const PID_TAG_CONVERSATION_TOPIC: PropertyTag = PropertyTag(0x0070_001F);
/// PidTagConversationIndex (MS-OXPROPS 2.651, MS-OXOMSG 2.2.1.3).
pub const PID_TAG_CONVERSATION_INDEX: PropertyTag = PropertyTag(0x0071_0102);
/// PidTagInReplyToId (MS-OXPROPS 2.737, MS-OXOMSG 2.2.1.41).
pub const PID_TAG_IN_REPLY_TO_ID: PropertyTag = PropertyTag(0x1042_001F);
/// PidTagInternetReferences (MS-OXPROPS 2.743, MS-OXOMSG 2.2.1.43).
pub const PID_TAG_INTERNET_REFERENCES: PropertyTag = PropertyTag(0x1039_001F);
/// PidTagInternetCodepage (MS-OXPROPS 2.736).
const PID_TAG_INTERNET_CODEPAGE: PropertyTag = tags::PidTagInternetCodepage;

/// Size of the conversation index header block (MS-OXOMSG 2.2.1.3).
const INDEX_HEADER_SIZE: usize = 22;
/// Size of one response level (child block).
const INDEX_CHILD_SIZE: usize = 5;
/// Bytes asked for per RopReadStream when copying an attachment: the answer plus the
/// handle table fits one 32 KiB RPC_HEADER_EXT segment (MS-OXCRPC 3.1.4.2.1.1) and the copy
/// fits one RopWriteStream.
const COPY_CHUNK: u16 = 0x7000;
/// OpenModeFlags Create (MS-OXCPRPT 2.2.14.1): a new, empty stream.
const STREAM_CREATE: u8 = 0x02;

/// Which response to a message (CDO `Reply`, `ReplyAll`, `Forward`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseKind {
    /// CDO `Message.Reply`: to the original sender.
    Reply,
    /// CDO `Message.ReplyAll`: to the sender and every To and Cc recipient but yourself.
    ReplyAll,
    /// CDO `Message.Forward`: no recipients, the attachments kept.
    Forward,
}

impl ResponseKind {
    /// The subject prefix (MS-OXCMSG 2.2.1.46 PidTagSubjectPrefix): `RE: ` or `FW: `.
    pub fn prefix(self) -> &'static str {
        match self {
            Self::Reply | Self::ReplyAll => "RE: ",
            Self::Forward => "FW: ",
        }
    }
}

/// Options of [`Message::respond`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResponseOptions {
    /// The folder to create the response in (default: Drafts).
    pub folder: Option<FolderId>,
    /// Text written above the quoted original.
    pub text: String,
}

impl Message {
    /// CDO `Message.Reply`: a response to the sender, in Drafts.
    pub async fn reply(&self, session: &mut Session) -> Result<NewMessage, Error> {
        self.respond(session, ResponseKind::Reply, &ResponseOptions::default())
            .await
    }

    /// CDO `Message.ReplyAll`: a response to the sender and the other To and Cc recipients.
    pub async fn reply_all(&self, session: &mut Session) -> Result<NewMessage, Error> {
        self.respond(session, ResponseKind::ReplyAll, &ResponseOptions::default())
            .await
    }

    /// CDO `Message.Forward`: a copy with the attachments and no recipients.
    pub async fn forward(&self, session: &mut Session) -> Result<NewMessage, Error> {
        self.respond(session, ResponseKind::Forward, &ResponseOptions::default())
            .await
    }

    /// Reply, Reply All or Forward with options. Nothing is created on the server until
    /// the returned message is saved or sent.
    pub async fn respond(
        &self,
        session: &mut Session,
        kind: ResponseKind,
        options: &ResponseOptions,
    ) -> Result<NewMessage, Error> {
        let folder = match options.folder {
            Some(f) => f,
            None => session.drafts_folder_id().await?,
        };
        let original = Original::read(self, session).await?;
        let mut m = session.new_message(folder);
        m.set_subject(&response_subject(kind, original.subject.as_deref()));
        original.set_threading(&mut m, kind);
        let quote = original.header_block();
        let text = format!(
            "{}\r\n\r\n{}\r\n{}",
            options.text,
            quote.join("\r\n"),
            original.text.as_deref().unwrap_or_default()
        );
        m.set_body_text(&text);
        if let Some(html) = &original.html {
            m.set_body_html(&quote_html(&options.text, &quote, html));
        }
        match kind {
            ResponseKind::Reply => {
                // A reply goes to the sender, also when that is the user (a message sent to
                // oneself): Outlook and CDO's Reply do the same.
                let to = original.sender().into_iter().collect::<Vec<_>>();
                add_recipients(session, &mut m, &to, &[], false).await?;
            }
            ResponseKind::ReplyAll => {
                let mut to: Vec<Party> = original.sender().into_iter().collect();
                to.extend(parties(self, RecipientType::To));
                let cc = parties(self, RecipientType::Cc);
                add_recipients(session, &mut m, &to, &cc, true).await?;
            }
            ResponseKind::Forward => self.copy_attachments(session, &mut m).await?,
        }
        if matches!(kind, ResponseKind::Reply | ResponseKind::ReplyAll) && m.recipients().is_empty()
        {
            return Err(Error::new(
                ErrorKind::NotFound,
                ErrorCode::NOT_FOUND,
                format!(
                    "message {} has no sender to reply to",
                    self.internet_message_id().unwrap_or_default()
                ),
            )
            .at_step("reply"));
        }
        Ok(m)
    }

    /// Adds every by-value attachment as a stored copy (embedded messages and OLE objects
    /// are not copied).
    async fn copy_attachments(
        &self,
        session: &mut Session,
        m: &mut NewMessage,
    ) -> Result<(), Error> {
        if !self.has_attachments() {
            return Ok(());
        }
        let Target::Message { folder, message } = self.target() else {
            return Ok(());
        };
        let list = self.attachments(session).await?;
        for a in &list {
            if a.method().is_some_and(|x| x != ATTACH_BY_VALUE) {
                continue;
            }
            let name = a
                .name()
                .map_or_else(|| format!("attachment-{}", a.number()), str::to_owned);
            m.attach_stored(
                name,
                a.mime_type().map(str::to_owned),
                Target::Attachment {
                    folder,
                    message,
                    attach: a.number(),
                },
            );
        }
        Ok(())
    }
}

impl Session {
    /// The Drafts folder: PidTagIpmDraftsEntryId on the store (MS-OXOSFLD 2.2.3), else the
    /// folder named "Drafts" below the top of the mailbox.
    pub async fn drafts_folder_id(&mut self) -> Result<FolderId, Error> {
        let row = self.store_properties(&[tags::PidTagIpmDraftsEntryId]).await;
        let from_store = row.ok().and_then(|r| {
            let bytes = r.values.first()?.value()?.as_bytes()?.to_vec();
            let id = EntryId::parse(&bytes).ok()?;
            self.folder_id_of(&id).ok()
        });
        match from_store {
            Some(f) => Ok(f),
            None => Ok(self.folder_by_path("Drafts").await?.id()),
        }
    }
}

/// A recipient of the response, as read from the original: a display name and an address
/// (SMTP, or the legacy DN of a directory user).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Party {
    name: String,
    address: String,
}

impl Party {
    /// `Name <address>` for name resolution, or whichever part is known.
    fn lookup(&self) -> String {
        match (self.name.is_empty(), self.address.is_empty()) {
            (_, true) => self.name.clone(),
            (true, false) => self.address.clone(),
            (false, false) => format!("{} <{}>", self.name, self.address),
        }
    }
}

fn parties(m: &Message, kind: RecipientType) -> Vec<Party> {
    m.recipients()
        .of(kind)
        .map(|r| Party {
            name: r.name().unwrap_or_default().to_owned(),
            address: r.address().unwrap_or_default().to_owned(),
        })
        .filter(|p| !p.name.is_empty() || !p.address.is_empty())
        .collect()
}

/// Resolves each party in the address book and adds it, without the mailbox owner and
/// without duplicates. A party that does not resolve to exactly one entry is added by name
/// (sending then names it).
async fn add_recipients(
    session: &mut Session,
    m: &mut NewMessage,
    to: &[Party],
    cc: &[Party],
    skip_me: bool,
) -> Result<(), Error> {
    // Reply All leaves the user out; a plain Reply to one's own message keeps them.
    let me = skip_me.then(|| session.user_dn().to_owned());
    let is_me = |a: &str| me.as_deref().is_some_and(|me| a.eq_ignore_ascii_case(me));
    let mut seen: Vec<String> = Vec::new();
    let lists = [(RecipientType::To, to), (RecipientType::Cc, cc)];
    for (kind, list) in lists {
        for p in list {
            if is_me(&p.address) {
                continue;
            }
            match session.resolve_name(&p.lookup()).await? {
                Resolution::Resolved(e) => {
                    if is_me(&e.address) || is_seen(&mut seen, &e) {
                        continue;
                    }
                    m.recipients_mut().add_entry(e, kind);
                }
                Resolution::NotFound | Resolution::Ambiguous { .. } => {
                    let key = p.lookup().to_ascii_lowercase();
                    if !seen.contains(&key) {
                        seen.push(key);
                        m.recipients_mut().add(p.lookup(), kind);
                    }
                }
            }
        }
    }
    Ok(())
}

fn is_seen(seen: &mut Vec<String>, e: &AddressEntry) -> bool {
    let key = e.address.to_ascii_lowercase();
    if seen.contains(&key) {
        return true;
    }
    seen.push(key);
    false
}

/// The properties of the original a response needs.
struct Original {
    subject: Option<String>,
    topic: Option<String>,
    index: Option<Vec<u8>>,
    message_id: Option<String>,
    references: Option<String>,
    display_to: Option<String>,
    display_cc: Option<String>,
    sent: Option<SystemTime>,
    sender_name: Option<String>,
    sender_address: Option<String>,
    text: Option<String>,
    html: Option<String>,
}

const ORIGINAL_TAGS: [PropertyTag; 15] = [
    tags::PidTagSubject,
    tags::PidTagNormalizedSubject,
    PID_TAG_CONVERSATION_TOPIC,
    PID_TAG_CONVERSATION_INDEX,
    tags::PidTagInternetMessageId,
    PID_TAG_INTERNET_REFERENCES,
    tags::PidTagDisplayTo,
    tags::PidTagDisplayCc,
    tags::PidTagSentRepresentingName,
    tags::PidTagSentRepresentingEmailAddress,
    tags::PidTagBody,
    tags::PidTagHtml,
    PID_TAG_INTERNET_CODEPAGE,
    tags::PidTagClientSubmitTime,
    tags::PidTagMessageDeliveryTime,
];

impl Original {
    async fn read(m: &Message, session: &mut Session) -> Result<Self, Error> {
        let f = m.fields(session, &ORIGINAL_TAGS).await?;
        let s = |t| string(&f, t);
        let html = match f.get(tags::PidTagHtml) {
            Some(PropertyValue::Binary(b)) => Some(decode_html(b, &f)),
            _ => None,
        };
        let time = |t| match f.get(t) {
            Some(PropertyValue::Time(ft)) => Some(filetime::to_system_time(*ft)),
            _ => None,
        };
        Ok(Self {
            subject: s(tags::PidTagSubject).or_else(|| m.subject()),
            topic: s(PID_TAG_CONVERSATION_TOPIC).or_else(|| s(tags::PidTagNormalizedSubject)),
            index: f
                .get(PID_TAG_CONVERSATION_INDEX)
                .and_then(PropertyValue::as_bytes)
                .map(<[u8]>::to_vec),
            message_id: s(tags::PidTagInternetMessageId),
            references: s(PID_TAG_INTERNET_REFERENCES),
            display_to: s(tags::PidTagDisplayTo),
            display_cc: s(tags::PidTagDisplayCc),
            sent: time(tags::PidTagClientSubmitTime)
                .or_else(|| time(tags::PidTagMessageDeliveryTime)),
            sender_name: m
                .sender_name()
                .or_else(|| s(tags::PidTagSentRepresentingName)),
            sender_address: m
                .sender_email()
                .or_else(|| s(tags::PidTagSentRepresentingEmailAddress)),
            text: s(tags::PidTagBody),
            html,
        })
    }

    fn sender(&self) -> Option<Party> {
        let p = Party {
            name: self.sender_name.clone().unwrap_or_default(),
            address: self.sender_address.clone().unwrap_or_default(),
        };
        (!p.name.is_empty() || !p.address.is_empty()).then_some(p)
    }

    /// The quoted header block, one line each (Outlook's "-----Original Message-----").
    fn header_block(&self) -> Vec<String> {
        let from = match (&self.sender_name, &self.sender_address) {
            (Some(n), Some(a)) if n != a && a.contains('@') => format!("{n} <{a}>"),
            (Some(n), _) => n.clone(),
            (None, Some(a)) => a.clone(),
            (None, None) => String::new(),
        };
        let mut lines = vec![
            "-----Original Message-----".to_owned(),
            format!("From: {from}"),
        ];
        if let Some(t) = self.sent {
            lines.push(format!("Sent: {}", rfc5322_date(t)));
        }
        lines.push(format!(
            "To: {}",
            self.display_to.as_deref().unwrap_or_default()
        ));
        if let Some(cc) = self.display_cc.as_deref().filter(|c| !c.is_empty()) {
            lines.push(format!("Cc: {cc}"));
        }
        lines.push(format!(
            "Subject: {}",
            self.subject.as_deref().unwrap_or_default()
        ));
        lines.push(String::new());
        lines
    }

    /// Conversation and Internet threading properties of the response.
    fn set_threading(&self, m: &mut NewMessage, kind: ResponseKind) {
        let topic = self
            .topic
            .clone()
            .unwrap_or_else(|| strip_prefixes(self.subject.as_deref().unwrap_or_default()));
        m.set(PID_TAG_CONVERSATION_TOPIC, PropertyValue::Unicode(topic));
        let now = filetime::from_system_time(SystemTime::now());
        let seed = random_bytes(17);
        let parent = match self.index.as_deref().filter(|i| is_conversation_index(i)) {
            Some(i) => i.to_vec(),
            None => {
                let start = self.sent.map_or(now, filetime::from_system_time);
                let mut guid = [0u8; 16];
                guid.copy_from_slice(seed.get(..16).unwrap_or(&[0; 16]));
                conversation_index_header(start, guid)
            }
        };
        let random = seed.get(16).copied().unwrap_or(0);
        m.set(
            PID_TAG_CONVERSATION_INDEX,
            PropertyValue::Binary(conversation_index_child(&parent, now, random)),
        );
        if let Some(id) = &self.message_id {
            if kind != ResponseKind::Forward {
                m.set(PID_TAG_IN_REPLY_TO_ID, PropertyValue::Unicode(id.clone()));
            }
            let refs = match &self.references {
                Some(r) if !r.trim().is_empty() => format!("{} {id}", r.trim()),
                _ => id.clone(),
            };
            m.set(PID_TAG_INTERNET_REFERENCES, PropertyValue::Unicode(refs));
        }
    }
}

fn string(f: &Fields, tag: PropertyTag) -> Option<String> {
    f.get(tag)
        .and_then(PropertyValue::as_str)
        .map(|s| s.into_owned())
        .filter(|s| !s.is_empty())
}

/// The HTML body as text: UTF-8 unless PidTagInternetCodepage says otherwise; Windows-1252
/// and Latin-1 bytes are mapped as Latin-1.
fn decode_html(bytes: &[u8], f: &Fields) -> String {
    let cp = f
        .get(PID_TAG_INTERNET_CODEPAGE)
        .and_then(PropertyValue::as_i64)
        .unwrap_or(65001);
    match cp {
        1252 | 28591 if std::str::from_utf8(bytes).is_err() => {
            bytes.iter().map(|&b| char::from(b)).collect()
        }
        _ => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// The response's subject: `RE: ` / `FW: ` before the original's, unless it already starts
/// with that prefix (any case).
pub fn response_subject(kind: ResponseKind, original: Option<&str>) -> String {
    let original = original.unwrap_or_default().trim_start();
    let bare = kind.prefix().trim_end();
    let has = original
        .get(..bare.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(bare));
    if has {
        original.to_owned()
    } else {
        format!("{}{original}", kind.prefix())
    }
}

/// The subject without leading `RE:` / `FW:` / `FWD:` prefixes (the conversation topic).
fn strip_prefixes(subject: &str) -> String {
    let mut s = subject.trim();
    loop {
        let lower = s.to_ascii_lowercase();
        let cut = ["re:", "fw:", "fwd:"]
            .iter()
            .find(|p| lower.starts_with(*p))
            .map(|p| p.len());
        match cut {
            Some(n) => s = s.get(n..).unwrap_or_default().trim_start(),
            None => return s.to_owned(),
        }
    }
}

/// The HTML body: the new text, the header block, then the original's body content.
fn quote_html(text: &str, header: &[String], original: &str) -> String {
    let mut out = String::from("<html><head><meta charset=\"utf-8\"></head><body>\r\n");
    for line in text.lines() {
        out.push_str(&format!("<div>{}</div>\r\n", escape_html(line)));
    }
    out.push_str("<div><br></div><hr>\r\n<div>");
    let lines: Vec<String> = header
        .iter()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| match l.split_once(": ") {
            Some((k, v)) => format!("<b>{}:</b> {}", escape_html(k), escape_html(v)),
            None => escape_html(l),
        })
        .collect();
    out.push_str(&lines.join("<br>\r\n"));
    out.push_str("</div><br>\r\n");
    out.push_str(html_body_content(original));
    out.push_str("\r\n</body></html>\r\n");
    out
}

/// What is between `<body ...>` and `</body>`, or the whole document.
fn html_body_content(html: &str) -> &str {
    let lower = html.to_ascii_lowercase();
    let start = lower
        .find("<body")
        .and_then(|i| lower.get(i..)?.find('>').map(|j| i + j + 1))
        .unwrap_or(0);
    let end = lower
        .rfind("</body")
        .filter(|&e| e >= start)
        .unwrap_or(html.len());
    html.get(start..end).unwrap_or(html)
}

fn escape_html(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '&' => o.push_str("&amp;"),
            '"' => o.push_str("&quot;"),
            c => o.push(c),
        }
    }
    o
}

/// True when `b` is a conversation index: a 22-byte header (reserved byte 0x01) and whole
/// 5-byte response levels (MS-OXOMSG 2.2.1.3).
pub fn is_conversation_index(b: &[u8]) -> bool {
    b.len() >= INDEX_HEADER_SIZE
        && (b.len() - INDEX_HEADER_SIZE).is_multiple_of(INDEX_CHILD_SIZE)
        && b.first() == Some(&0x01)
}

/// MS-OXOMSG 2.2.1.3 Conversation Index Header: Reserved 0x01, the 40 high bits of the
/// FILETIME `now` big-endian, then the thread GUID (Data1..Data3 big-endian: `guid` is
/// taken as already in that order).
pub fn conversation_index_header(now: u64, guid: [u8; 16]) -> Vec<u8> {
    let mut v = Vec::with_capacity(INDEX_HEADER_SIZE);
    v.push(0x01);
    v.extend_from_slice(&(now >> 24).to_be_bytes()[3..]);
    v.extend_from_slice(&guid);
    v
}

/// MS-OXOMSG 2.2.1.3 Response Level appended to `parent` (a valid index): DeltaCode (1 bit),
/// TimeDelta (31 bits) = the time since the header's FILETIME, bits 48..18 when it is below
/// 2^49 (DeltaCode 0) else bits 53..23 (DeltaCode 1), saturated; then a 4-bit random value
/// and a 4-bit sequence count (0, as ScCreateConversationIndex).
pub fn conversation_index_child(parent: &[u8], now: u64, random: u8) -> Vec<u8> {
    let header_time = parent
        .get(1..6)
        .map(|b| b.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x)) << 24)
        .unwrap_or(now);
    let delta = now.saturating_sub(header_time);
    let (dc, td) = if delta < 1 << 49 {
        (0u32, delta >> 18)
    } else {
        (1u32, (delta >> 23).min(0x7FFF_FFFF))
    };
    let word = (dc << 31) | u32::try_from(td & 0x7FFF_FFFF).unwrap_or(0x7FFF_FFFF);
    let mut v = parent.to_vec();
    v.extend_from_slice(&word.to_be_bytes());
    v.push((random & 0x0F) << 4);
    v
}

/// `Tue, 14 Nov 2023 22:13:20 +0000` (RFC 5322 3.3, UTC).
fn rfc5322_date(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let (y, mo, d) = civil_from_days(days);
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let wd = WEEKDAYS
        .get(usize::try_from(days.rem_euclid(7)).unwrap_or(0))
        .copied()
        .unwrap_or("Thu");
    let mon = MONTHS
        .get(usize::try_from(mo.saturating_sub(1)).unwrap_or(0))
        .copied()
        .unwrap_or("Jan");
    format!(
        "{wd}, {d} {mon} {y} {:02}:{:02}:{:02} +0000",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        u32::try_from(m).unwrap_or(1),
        u32::try_from(d).unwrap_or(1),
    )
}

/// `n` bytes from the standard library's per-process random SipHash keys and the clock.
fn random_bytes(n: usize) -> Vec<u8> {
    use std::hash::{BuildHasher, Hasher};
    let mut out = Vec::with_capacity(n + 8);
    let mut i = 0u64;
    while out.len() < n {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        h.write_u64(i);
        out.extend_from_slice(&h.finish().to_le_bytes());
        i += 1;
    }
    out.truncate(n);
    out
}

/// A value larger than this (in wire bytes) is written through a stream, not with
/// RopSetProperties (whose PropertyValueSize and the 32 KiB ROP buffer cannot carry it).
const LARGE_VALUE: usize = 16 * 1024;

/// Splits `props` into those small enough for RopSetProperties and the stream bytes of the
/// large string and binary ones (MS-OXCPRPT 2.2.14: a string stream is the UTF-16LE text).
pub(crate) fn split_large(
    props: Vec<TaggedPropertyValue>,
) -> (Vec<TaggedPropertyValue>, Vec<(PropertyTag, Vec<u8>)>) {
    let mut small = Vec::with_capacity(props.len());
    let mut large = Vec::new();
    for p in props {
        let bytes = match &p.value {
            PropertyValue::Unicode(s) if s.len() * 2 > LARGE_VALUE => {
                Some(s.encode_utf16().flat_map(u16::to_le_bytes).collect())
            }
            PropertyValue::Binary(b) | PropertyValue::String8(b) if b.len() > LARGE_VALUE => {
                Some(b.clone())
            }
            _ => None,
        };
        match bytes {
            Some(b) => large.push((p.tag, b)),
            None => small.push(p),
        }
    }
    (small, large)
}

/// Writes one property of the open message `message` through a stream: RopOpenStream
/// (Create), RopWriteStream a chunk per Execute, RopCommitStream (MS-OXCPRPT 3.1.4.2).
pub(crate) async fn write_property(
    session: &mut Session,
    message: u32,
    tag: PropertyTag,
    bytes: Vec<u8>,
) -> Result<(), Error> {
    const STEP: &str = "write-property-stream";
    let what = format!("writing {tag} ({} bytes) through a stream", bytes.len());
    let w = || what.clone();
    let mut b = Batch::new(vec![message, NEW_HANDLE]);
    b.push(OpenStreamRequest {
        logon_id: 0,
        input_handle_index: 0,
        output_handle_index: 1,
        property_tag: tag,
        open_mode_flags: STREAM_CREATE,
    });
    let mut r = b.send(session, STEP).await?;
    r.next(&w, |x| match x {
        RopResponse::OpenStream(o) => Ok(o),
        other => Err(other),
    })?;
    let stream = r.handle(1)?;
    let result = async {
        for chunk in bytes.chunks(crate::compose::WRITE_CHUNK) {
            crate::compose::write_chunk(session, stream, chunk.to_vec(), &what).await?;
        }
        let mut b = Batch::new(vec![stream]);
        b.push(CommitStreamRequest {
            logon_id: 0,
            input_handle_index: 0,
        });
        let mut r = b.send(session, STEP).await?;
        r.next(&w, |x| match x {
            RopResponse::CommitStream(c) => Ok(c),
            other => Err(other),
        })?;
        Ok(())
    }
    .await;
    crate::write::release(session, stream).await;
    result
}

/// Copies property PidTagAttachDataBinary of the stored attachment `source` into the open
/// stream `dest`, one RopReadStream and one RopWriteStream per chunk (constant memory).
pub(crate) async fn copy_stream(
    session: &mut Session,
    source: Target,
    dest: u32,
    name: &str,
) -> Result<(), Error> {
    const STEP: &str = "copy-attachment";
    let what = format!("copying {name:?} from {}", source.describe());
    let mut b = Batch::new(source.handles(session.logon_handle(), 1));
    let (_, slot) = source.push_open(&mut b);
    let stream_slot = slot + 1;
    b.push(OpenStreamRequest {
        logon_id: 0,
        input_handle_index: slot,
        output_handle_index: stream_slot,
        property_tag: tags::PidTagAttachDataBinary,
        open_mode_flags: 0,
    });
    let mut r = b.send(session, STEP).await?;
    let live: Vec<u32> = r.handles.iter().skip(1).copied().collect();
    let w = || what.clone();
    let opened = async {
        source.take_open(&mut r, &w)?;
        let size = r.next(&w, |x| match x {
            RopResponse::OpenStream(o) => Ok(o.stream_size),
            other => Err(other),
        })?;
        Ok::<_, Error>((size, r.handle(stream_slot)?))
    }
    .await;
    let result = match opened {
        Ok((size, stream)) => pump(session, stream, dest, u64::from(size), &what).await,
        Err(e) => Err(e),
    };
    release_all(session, &live).await;
    result
}

/// Reads `src` chunk by chunk and writes each chunk to `dest` until `size` bytes moved.
async fn pump(
    session: &mut Session,
    src: u32,
    dest: u32,
    size: u64,
    what: &str,
) -> Result<(), Error> {
    const STEP: &str = "copy-attachment";
    let w = || what.to_owned();
    let mut total = 0u64;
    while total < size {
        let mut b = Batch::new(vec![src]);
        b.push(ReadStreamRequest {
            logon_id: 0,
            input_handle_index: 0,
            byte_count: COPY_CHUNK,
            maximum_byte_count: None,
        });
        let mut r = b.send(session, STEP).await?;
        let data = r.read_stream(session, &w)?;
        if data.is_empty() {
            break;
        }
        total += data.len() as u64;
        if total > size {
            return Err(bad_data(
                STEP,
                format!("{what}: the server sent more than the StreamSize {size}"),
            ));
        }
        crate::compose::write_chunk(session, dest, data, what).await?;
    }
    if total != size {
        return Err(bad_data(
            STEP,
            format!("{what}: the stream ended after {total} of {size} bytes"),
        ));
    }
    Ok(())
}

/// Releases the handles an open created (innermost first).
async fn release_all(session: &mut Session, live: &[u32]) {
    let mut b = Batch::new(live.to_vec());
    let mut any = false;
    for (slot, h) in live.iter().enumerate().rev() {
        if *h != NEW_HANDLE {
            b.release(u8::try_from(slot).unwrap_or(u8::MAX));
            any = true;
        }
    }
    if any {
        let _ = b.send(session, "release").await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_prefixed_once() {
        assert_eq!(
            response_subject(ResponseKind::Reply, Some("Lunch?")),
            "RE: Lunch?"
        );
        assert_eq!(
            response_subject(ResponseKind::ReplyAll, Some("RE: Lunch?")),
            "RE: Lunch?"
        );
        assert_eq!(
            response_subject(ResponseKind::Reply, Some("re: Lunch?")),
            "re: Lunch?"
        );
        assert_eq!(
            response_subject(ResponseKind::Forward, Some("RE: Lunch?")),
            "FW: RE: Lunch?"
        );
        assert_eq!(
            response_subject(ResponseKind::Forward, Some("FW: x")),
            "FW: x"
        );
        assert_eq!(response_subject(ResponseKind::Reply, None), "RE: ");
        assert_eq!(strip_prefixes("RE: FW: Fwd: Lunch"), "Lunch");
    }

    #[test]
    fn conversation_index_header_layout() {
        // MS-OXOMSG 2.2.1.3: 0x01, the 5 high bytes of the FILETIME big-endian, the GUID.
        let ft = 0x01D9_1234_5678_9ABC_u64;
        let guid = [0xAA; 16];
        let h = conversation_index_header(ft, guid);
        assert_eq!(h.len(), 22);
        assert_eq!(&h[..6], &[0x01, 0x01, 0xD9, 0x12, 0x34, 0x56]);
        assert_eq!(&h[6..], &guid);
        assert!(is_conversation_index(&h));
        assert!(!is_conversation_index(&h[..21]));
    }

    #[test]
    fn child_block_appends_five_bytes_with_the_delta() {
        let start = 0x01D9_1234_5600_0000_u64;
        let h = conversation_index_header(start, [7; 16]);
        // One hour later: 36_000_000_000 ticks; DeltaCode 0, TimeDelta = delta >> 18.
        let hour = 36_000_000_000u64;
        let c = conversation_index_child(&h, start + hour, 0x0B);
        assert_eq!(c.len(), 27);
        assert_eq!(&c[..22], &h[..]);
        let word = u32::from_be_bytes([c[22], c[23], c[24], c[25]]);
        assert_eq!(word >> 31, 0);
        assert_eq!(u64::from(word), hour >> 18);
        assert_eq!(c[26], 0xB0);
        assert!(is_conversation_index(&c));
        // A reply to the reply appends a second level.
        let c2 = conversation_index_child(&c, start + 2 * hour, 0);
        assert_eq!(c2.len(), 32);
        assert_eq!(&c2[..27], &c[..]);
        // More than 2^49 ticks (~1.78 years): DeltaCode 1, bits 53..23.
        let far = (1u64 << 50) + 12345;
        let c3 = conversation_index_child(&h, start + far, 0);
        let word = u32::from_be_bytes([c3[22], c3[23], c3[24], c3[25]]);
        assert_eq!(word >> 31, 1);
        assert_eq!(u64::from(word & 0x7FFF_FFFF), far >> 23);
    }

    #[test]
    fn dates_are_rfc5322() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        assert_eq!(rfc5322_date(t), "Tue, 14 Nov 2023 22:13:20 +0000");
        assert_eq!(
            rfc5322_date(SystemTime::UNIX_EPOCH),
            "Thu, 1 Jan 1970 00:00:00 +0000"
        );
    }

    #[test]
    fn html_quote_keeps_the_original_body() {
        let q = quote_html(
            "Sure <b>",
            &[
                "-----Original Message-----".into(),
                "From: A <a@x.y>".into(),
                String::new(),
            ],
            "<html><head><title>t</title></head><BODY class=x><p>Hi</p></BODY></html>",
        );
        assert!(q.contains("<div>Sure &lt;b&gt;</div>"), "{q}");
        assert!(q.contains("<b>From:</b> A &lt;a@x.y&gt;"), "{q}");
        assert!(q.contains("<p>Hi</p>"), "{q}");
        assert!(!q.contains("<title>"), "{q}");
        assert_eq!(html_body_content("no body tag"), "no body tag");
    }

    #[test]
    fn large_values_go_to_streams() {
        let big = "é".repeat(LARGE_VALUE);
        let props = vec![
            TaggedPropertyValue::new(tags::PidTagSubject, PropertyValue::Unicode("s".into())),
            TaggedPropertyValue::new(tags::PidTagBody, PropertyValue::Unicode(big.clone())),
            TaggedPropertyValue::new(tags::PidTagHtml, PropertyValue::Binary(vec![1; 100])),
        ];
        let (small, large) = split_large(props);
        assert_eq!(small.len(), 2);
        assert_eq!(large.len(), 1);
        assert_eq!(large[0].0, tags::PidTagBody);
        let units: Vec<u16> = large[0]
            .1
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        assert_eq!(String::from_utf16(&units).unwrap(), big);
    }
}
