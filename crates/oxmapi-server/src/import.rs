//! Importing RFC 5322 `.eml` files into a mailbox's Inbox, and seeding a demo mailbox.
//!
//! Headers become the MS-OXCMAIL-style properties (PidTagSubject, PidTagSender*,
//! PidTagMessageDeliveryTime, PidTagInternetMessageId, PidTagTransportMessageHeaders),
//! To/Cc/Bcc become recipients, the text and HTML bodies PidTagBody and PidTagHtml, and
//! each attachment an attachment (file name, MIME type, content ID, data stored in chunks).
//! A message is read when its `Status:` header (mbox convention) contains `R`.
//!
//! Imports respect the mailbox limits ([`Limits::max_message_size`],
//! [`Limits::mailbox_quota`]): a message larger than the limit, or one that would take the
//! mailbox past its quota, is not stored and is listed in [`ImportReport::skipped`] with the
//! reason. The import runs without the server's config file, so [`import_eml`] applies
//! [`Limits::default`]; [`import_eml_within`] takes the limits to apply.

use std::path::{Path, PathBuf};

use mail_parser::{Address, MessageParser, MimeHeaders, PartType};
use oxmapi_wire::data::{PropertyTag, PropertyValue, tags};

use crate::limits::Limits;
use crate::store::deliver::{MSGFLAG_READ, NewAttachment, NewMessage, insert_message};
use crate::store::messages::PropList;
use crate::store::usage::within_quota;
use crate::store::{SPECIAL_INBOX, Store, StoreError};

/// PidTagAddressType-less SMTP recipient properties use these tags too.
const PID_TAG_SENDER_ADDRESS_TYPE: PropertyTag = PropertyTag(0x0C1E_001F);
/// PidTagInternetCodepage value for UTF-8 (65001) is not used: bodies are stored Unicode.
const ATTACH_BY_VALUE: i32 = 1;

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// MIDs of the imported messages (stored form).
    pub imported: Vec<i64>,
    /// Files not imported, with the reason: not parsable, larger than
    /// [`Limits::max_message_size`], or over the mailbox quota.
    pub skipped: Vec<(PathBuf, String)>,
}

/// Errors of an import.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Reading a file or directory failed.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// No user has this alias.
    #[error("no user {0:?}")]
    UnknownUser(String),
    /// The user's mailbox has no Inbox.
    #[error("user {0:?} has no Inbox")]
    NoInbox(String),
}

/// Imports one `.eml` file, or every `*.eml` file of a directory (sorted by name), into the
/// Inbox of `alias` under the default [`Limits`]. Unparsable files, and messages the limits
/// refuse, are reported in [`ImportReport::skipped`].
pub fn import_eml(store: &Store, alias: &str, path: &Path) -> Result<ImportReport, ImportError> {
    import_eml_within(store, alias, path, &Limits::default())
}

/// [`import_eml`] under `limits`: a message larger than `limits.max_message_size`
/// (PidTagMessageSize of the stored message), or one that would take the mailbox past
/// `limits.mailbox_quota`, is skipped with the reason and stores nothing; the files after it
/// are still imported.
pub fn import_eml_within(
    store: &Store,
    alias: &str,
    path: &Path,
    limits: &Limits,
) -> Result<ImportReport, ImportError> {
    let (mailbox, inbox) = inbox_of(store, alias)?;
    let io = |source| ImportError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut files = Vec::new();
    if path.is_dir() {
        for entry in std::fs::read_dir(path).map_err(io)? {
            let p = entry.map_err(io)?.path();
            if p.extension().is_some_and(|e| e.eq_ignore_ascii_case("eml")) {
                files.push(p);
            }
        }
        files.sort();
    } else {
        files.push(path.to_path_buf());
    }
    let mut report = ImportReport::default();
    for file in files {
        let bytes = std::fs::read(&file).map_err(|source| ImportError::Io {
            path: file.clone(),
            source,
        })?;
        match parse_eml(&bytes, None) {
            Some(msg) => match insert_within(store, mailbox, inbox, &msg, limits)? {
                Ok(mid) => report.imported.push(mid),
                Err(why) => {
                    tracing::warn!(file = %file.display(), "not imported: {why}");
                    report.skipped.push((file, why));
                }
            },
            None => report
                .skipped
                .push((file, "not an RFC 5322 message".into())),
        }
    }
    Ok(report)
}

/// Why [`insert_within`] undid an insert.
enum Refusal {
    Sql(rusqlite::Error),
    TooLarge(u64),
}

impl From<rusqlite::Error> for Refusal {
    fn from(e: rusqlite::Error) -> Self {
        Self::Sql(e)
    }
}

/// Stores `msg` in folder `fid` of `mailbox` if the limits allow (one transaction); `Ok(Err)`
/// is why not (nothing stored).
fn insert_within(
    store: &Store,
    mailbox: i64,
    fid: i64,
    msg: &NewMessage,
    limits: &Limits,
) -> Result<Result<i64, String>, StoreError> {
    store.with_conn(|c| {
        let out = within_quota(c, mailbox, limits.mailbox_quota, |c| {
            let mid = insert_message(c, mailbox, fid, msg)?;
            let size = crate::store::summary::size(c, mailbox, mid)?.unsigned_abs();
            if size > limits.max_message_size {
                return Err(Refusal::TooLarge(size));
            }
            Ok(mid)
        });
        match out {
            Ok(Ok(mid)) => Ok(Ok(mid)),
            Ok(Err(over)) => Ok(Err(format!(
                "over the mailbox quota: the mailbox would hold {} bytes, the quota is {}",
                over.would_hold, over.quota
            ))),
            Err(Refusal::TooLarge(size)) => Ok(Err(format!(
                "message of {size} bytes is larger than max_message_size ({} bytes)",
                limits.max_message_size
            ))),
            Err(Refusal::Sql(e)) => Err(e.into()),
        }
    })
}

/// Creates a handful of realistic messages in the Inbox of `alias`: plain text, HTML, one
/// with two attachments (a text file and a small PNG), one with non-ASCII text, one unread.
pub fn seed_demo_mailbox(store: &Store, alias: &str) -> Result<ImportReport, ImportError> {
    let (mailbox, inbox) = inbox_of(store, alias)?;
    let org = store.org()?.ok_or(StoreError::NoOrg)?;
    let me = format!("{alias}@{}", org.domain);
    let mut report = ImportReport::default();
    for (eml, read) in demo_messages(&me) {
        if let Some(msg) = parse_eml(eml.as_bytes(), Some(read)) {
            report
                .imported
                .push(store.insert_message(mailbox, inbox, &msg)?);
        }
    }
    Ok(report)
}

fn inbox_of(store: &Store, alias: &str) -> Result<(i64, i64), ImportError> {
    let user = store
        .user_by_alias(alias)?
        .ok_or_else(|| ImportError::UnknownUser(alias.to_owned()))?;
    let inbox = store
        .special_folder(user.id, SPECIAL_INBOX)?
        .ok_or_else(|| ImportError::NoInbox(alias.to_owned()))?;
    Ok((user.id, inbox as i64))
}

fn unicode(s: &str) -> PropertyValue {
    PropertyValue::Unicode(s.replace('\0', ""))
}

fn unix_to_filetime(ts: i64) -> u64 {
    u64::try_from(ts.saturating_add(11_644_473_600)).unwrap_or(0) * 10_000_000
}

/// Maps one parsed message to stored properties; `read` overrides the `Status:` header.
pub fn parse_eml(bytes: &[u8], read: Option<bool>) -> Option<NewMessage> {
    let msg = MessageParser::default().parse(bytes)?;
    let mut props: PropList = Vec::new();
    let subject = msg.subject().unwrap_or_default();
    props.push((tags::PidTagSubject, unicode(subject)));
    props.push((tags::PidTagNormalizedSubject, unicode(subject)));
    props.push((tags::PidTagMessageClass, unicode("IPM.Note")));
    if let Some(from) = msg.from().and_then(Address::first) {
        let addr = from.address().unwrap_or_default();
        let name = from.name().unwrap_or(addr);
        for (tag, v) in [
            (tags::PidTagSenderName, name),
            (tags::PidTagSenderEmailAddress, addr),
            (tags::PidTagSenderSmtpAddress, addr),
            (PID_TAG_SENDER_ADDRESS_TYPE, "SMTP"),
            (tags::PidTagSentRepresentingName, name),
            (tags::PidTagSentRepresentingEmailAddress, addr),
        ] {
            props.push((tag, unicode(v)));
        }
    }
    if let Some(date) = msg.date() {
        let t = unix_to_filetime(date.to_timestamp());
        props.push((tags::PidTagMessageDeliveryTime, PropertyValue::Time(t)));
        props.push((tags::PidTagClientSubmitTime, PropertyValue::Time(t)));
    }
    if let Some(id) = msg.message_id() {
        props.push((tags::PidTagInternetMessageId, unicode(&format!("<{id}>"))));
    }
    let header_end = usize::try_from(msg.root_part().raw_body_offset()).unwrap_or(0);
    if let Some(raw) = msg.raw_message().get(..header_end) {
        props.push((
            tags::PidTagTransportMessageHeaders,
            unicode(&String::from_utf8_lossy(raw)),
        ));
    }
    if msg.text_body_count() > 0
        && let Some(text) = msg.body_text(0)
    {
        props.push((tags::PidTagBody, unicode(&text)));
    }
    // mail-parser lists a text/plain part as the HTML body of a text-only message and
    // converts it on `body_html`; store PidTagHtml only for a real text/html part.
    if let Some(PartType::Html(html)) = msg.html_part(0).map(|p| &p.body) {
        props.push((
            tags::PidTagHtml,
            PropertyValue::Binary(html.as_bytes().to_vec()),
        ));
    }
    let status_read = msg
        .header("Status")
        .and_then(|h| h.as_text())
        .is_some_and(|s| s.contains('R'));
    let flags = if read.unwrap_or(status_read) {
        MSGFLAG_READ
    } else {
        0
    };
    props.push((tags::PidTagMessageFlags, PropertyValue::Int32(flags)));

    let mut recipients = Vec::new();
    let mut display = [Vec::new(), Vec::new(), Vec::new()];
    for (ty, list) in [(1u8, msg.to()), (2, msg.cc()), (3, msg.bcc())] {
        for a in list.into_iter().flat_map(Address::iter) {
            let addr = a.address().unwrap_or_default();
            let name = a.name().unwrap_or(addr);
            if let Some(d) = display.get_mut(usize::from(ty - 1)) {
                d.push(name.to_owned());
            }
            recipients.push((
                ty,
                vec![
                    (tags::PidTagDisplayName, unicode(name)),
                    (tags::PidTagEmailAddress, unicode(addr)),
                    (tags::PidTagSmtpAddress, unicode(addr)),
                    (tags::PidTagAddressType, unicode("SMTP")),
                ],
            ));
        }
    }
    for (tag, names) in [
        tags::PidTagDisplayTo,
        tags::PidTagDisplayCc,
        tags::PidTagDisplayBcc,
    ]
    .into_iter()
    .zip(display)
    {
        props.push((tag, unicode(&names.join("; "))));
    }

    let mut attachments = Vec::new();
    for part in msg.attachments() {
        let mut a: PropList = vec![(
            tags::PidTagAttachMethod,
            PropertyValue::Int32(ATTACH_BY_VALUE),
        )];
        if let Some(name) = part.attachment_name() {
            a.push((tags::PidTagAttachLongFilename, unicode(name)));
            a.push((tags::PidTagAttachFilename, unicode(name)));
            a.push((tags::PidTagDisplayName, unicode(name)));
        }
        if let Some(ct) = part.content_type() {
            let mime = match ct.subtype() {
                Some(sub) => format!("{}/{sub}", ct.ctype()),
                None => ct.ctype().to_owned(),
            };
            a.push((tags::PidTagAttachMimeTag, unicode(&mime)));
        }
        if let Some(cid) = part.content_id() {
            a.push((tags::PidTagAttachContentId, unicode(cid)));
        }
        attachments.push(NewAttachment {
            props: a,
            data: part.contents().to_vec(),
        });
    }
    Some(NewMessage {
        props,
        recipients,
        attachments,
    })
}

/// A 1x1 PNG.
const PNG_1X1_BASE64: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";

fn demo_messages(me: &str) -> Vec<(String, bool)> {
    vec![
        (
            format!(
                "From: Carol Planner <carol@partner.example>\r\nTo: {me}\r\n\
                 Subject: Quarterly planning meeting\r\nDate: Mon, 02 Nov 2026 09:15:00 +0000\r\n\
                 Message-ID: <plan-001@partner.example>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
                 Hi,\r\n\r\nCan we meet on Thursday at 10:00 to go through the Q1 plan?\r\n\r\nCarol\r\n"
            ),
            true,
        ),
        (
            format!(
                "From: Newsletter <news@tools.example>\r\nTo: {me}\r\n\
                 Subject: This week in tooling\r\nDate: Tue, 03 Nov 2026 07:00:00 +0000\r\n\
                 Message-ID: <news-42@tools.example>\r\nMIME-Version: 1.0\r\n\
                 Content-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n\
                 --alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThree new releases this week.\r\n\
                 --alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n\
                 <html><body><h1>This week</h1><p>Three <b>new</b> releases.</p></body></html>\r\n\
                 --alt--\r\n"
            ),
            true,
        ),
        (
            format!(
                "From: Dave Builder <dave@partner.example>\r\nTo: {me}\r\nCc: team@partner.example\r\n\
                 Subject: Report and logo\r\nDate: Wed, 04 Nov 2026 14:30:00 +0000\r\n\
                 Message-ID: <files-7@partner.example>\r\nMIME-Version: 1.0\r\n\
                 Content-Type: multipart/mixed; boundary=\"mix\"\r\n\r\n\
                 --mix\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe report and our logo are attached.\r\n\
                 --mix\r\nContent-Type: text/plain; name=\"report.txt\"\r\n\
                 Content-Disposition: attachment; filename=\"report.txt\"\r\n\r\n\
                 Revenue: up 4%\r\nCosts: flat\r\n\
                 --mix\r\nContent-Type: image/png; name=\"logo.png\"\r\n\
                 Content-Disposition: attachment; filename=\"logo.png\"\r\n\
                 Content-ID: <logo@partner.example>\r\nContent-Transfer-Encoding: base64\r\n\r\n\
                 {PNG_1X1_BASE64}\r\n--mix--\r\n"
            ),
            true,
        ),
        (
            format!(
                "From: =?utf-8?q?J=C3=BCrgen_M=C3=BCller?= <juergen@koeln.example>\r\nTo: {me}\r\n\
                 Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=\r\nDate: Thu, 05 Nov 2026 18:00:00 +0100\r\n\
                 Message-ID: <gruss-1@koeln.example>\r\nMIME-Version: 1.0\r\n\
                 Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
                 Grüße aus Köln — ½ € für den Kaffee!\r\n"
            ),
            true,
        ),
        (
            format!(
                "From: IT Service Desk <it@example.test>\r\nTo: {me}\r\n\
                 Subject: Action required: password expiry\r\nDate: Fri, 06 Nov 2026 08:00:00 +0000\r\n\
                 Message-ID: <it-99@example.test>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
                 Your password expires in 5 days.\r\n"
            ),
            false,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::usage::mailbox_bytes;

    fn prop(m: &NewMessage, tag: PropertyTag) -> Option<&PropertyValue> {
        m.props
            .iter()
            .find(|(t, _)| t.id() == tag.id())
            .map(|(_, v)| v)
    }

    #[test]
    fn text_only_message_gets_no_invented_html() {
        let eml = b"From: a@example.test\r\nTo: b@example.test\r\nSubject: plain\r\n\
                    Content-Type: text/plain; charset=utf-8\r\n\r\nJust <text> & words.\r\n";
        let m = parse_eml(eml, None).expect("parse");
        assert_eq!(
            prop(&m, tags::PidTagBody),
            Some(&PropertyValue::Unicode("Just <text> & words.\r\n".into()))
        );
        assert_eq!(prop(&m, tags::PidTagHtml), None);
        // A message with no Content-Type at all is text/plain too (RFC 2045 5.2).
        let bare = b"From: a@example.test\r\nSubject: bare\r\n\r\nhello\r\n";
        let m = parse_eml(bare, None).expect("parse");
        assert!(prop(&m, tags::PidTagBody).is_some());
        assert_eq!(prop(&m, tags::PidTagHtml), None);
    }

    #[test]
    fn html_message_keeps_its_html() {
        let html = "<html><body><p>Hi <b>there</b></p></body></html>";
        let alt = format!(
            "From: a@example.test\r\nSubject: alt\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/alternative; boundary=\"b\"\r\n\r\n\
             --b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHi there\r\n\
             --b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n--b--\r\n"
        );
        let m = parse_eml(alt.as_bytes(), None).expect("parse");
        assert_eq!(
            prop(&m, tags::PidTagHtml),
            Some(&PropertyValue::Binary(html.as_bytes().to_vec()))
        );
        assert_eq!(
            prop(&m, tags::PidTagBody),
            Some(&PropertyValue::Unicode("Hi there".into()))
        );
        let only = format!(
            "From: a@example.test\r\nSubject: html\r\n\
             Content-Type: text/html; charset=utf-8\r\n\r\n{html}"
        );
        let m = parse_eml(only.as_bytes(), None).expect("parse");
        assert_eq!(
            prop(&m, tags::PidTagHtml),
            Some(&PropertyValue::Binary(html.as_bytes().to_vec()))
        );
    }

    fn eml(subject: &str, attachment: usize) -> String {
        use base64::Engine as _;
        let data = base64::engine::general_purpose::STANDARD.encode(vec![7u8; attachment]);
        let lines: Vec<&str> = data
            .as_bytes()
            .chunks(76)
            .map(|c| std::str::from_utf8(c).unwrap_or_default())
            .collect();
        format!(
            "From: a@example.test\r\nTo: b@example.test\r\nSubject: {subject}\r\n\
             MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"m\"\r\n\r\n\
             --m\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n\
             --m\r\nContent-Type: application/octet-stream; name=\"d.bin\"\r\n\
             Content-Disposition: attachment; filename=\"d.bin\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--m--\r\n",
            lines.join("\r\n")
        )
    }

    /// Messages over max_message_size, or over the quota, are skipped with the reason and
    /// store nothing; the files after them are imported; the usage stays exact.
    #[test]
    fn import_skips_what_the_limits_refuse() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path().join("data")).expect("open");
        store.init_org("Org", "example.test", false).expect("org");
        let user = store.add_user("alice", "Alice", "pw").expect("alice");
        let files = dir.path().join("mail");
        std::fs::create_dir(&files).expect("mkdir");
        for (name, size) in [
            ("a.eml", 0),
            ("b.eml", 200 << 10),
            ("c.eml", 60 << 10),
            ("d.eml", 60 << 10),
            ("e.eml", 0),
        ] {
            std::fs::write(files.join(name), eml(name, size)).expect("write");
        }
        let limits = Limits {
            max_message_size: 100 << 10,
            mailbox_quota: 100 << 10,
            ..Limits::default()
        };
        let report = import_eml_within(&store, "alice", &files, &limits).expect("import");
        assert_eq!(report.imported.len(), 3, "{report:?}");
        let skipped: Vec<_> = report
            .skipped
            .iter()
            .map(|(p, why)| (p.file_name().and_then(|n| n.to_str()), why.as_str()))
            .collect();
        assert_eq!(skipped.len(), 2, "{skipped:?}");
        assert_eq!(skipped[0].0, Some("b.eml"));
        assert!(
            skipped[0].1.contains("larger than max_message_size"),
            "{skipped:?}"
        );
        assert_eq!(skipped[1].0, Some("d.eml"));
        assert!(
            skipped[1].1.contains("over the mailbox quota"),
            "{skipped:?}"
        );
        let (used, slow, count) = store
            .with_conn(|c| {
                let used = mailbox_bytes(c, user.id)?;
                let slow: i64 = c.query_row(
                    "SELECT SUM(n) FROM (SELECT length(value) AS n FROM props WHERE mailbox_id = ?1
                     UNION ALL SELECT length(data) FROM blobs WHERE mailbox_id = ?1
                     UNION ALL SELECT length(props) FROM recipients WHERE mailbox_id = ?1)",
                    [user.id],
                    |r| r.get(0),
                )?;
                let count: i64 = c.query_row(
                    "SELECT COUNT(*) FROM messages WHERE mailbox_id = ?1",
                    [user.id],
                    |r| r.get(0),
                )?;
                Ok((used, slow.unsigned_abs(), count))
            })
            .expect("sql");
        assert_eq!(used, slow);
        assert!(used <= 100 << 10 && used > 60 << 10, "{used}");
        assert_eq!(count, 3);
        // Under the defaults everything fits.
        let report = import_eml(&store, "alice", &files).expect("import");
        assert_eq!((report.imported.len(), report.skipped.len()), (5, 0));
    }
}
