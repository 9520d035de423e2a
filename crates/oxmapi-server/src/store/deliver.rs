//! Creating whole messages (import, seeding) and submitting them (MS-OXOMSG 3.2.5.1):
//! local delivery, the Sent Items copy and the outbound queue, all in one transaction.
//!
//! Local delivery respects the recipients' limits ([`Limits::max_message_size`],
//! [`Limits::mailbox_quota`]): a recipient whose mailbox cannot take the message gets no copy,
//! the others do, and the submit succeeds. This server generates no non-delivery reports, so
//! such a recipient is kept where undelivered mail is kept, the outbound queue (one row with
//! the recipient's SMTP address, listed by `oxmapi server queue`), reported in
//! [`SubmitOutcome::refused`] and logged at warn level.

use oxmapi_wire::data::{PropertyTag, PropertyValue, tags};
use rusqlite::{Connection, OptionalExtension, params};

use super::error::StoreError;
use super::handle::Store;
use super::messages::{self as m, BlobOwner, KIND_ATTACHMENT, KIND_MESSAGE, PropList, Recipient};
use super::tx;
use super::usage::{self, OverQuota};
use super::users::UserRecord;
use crate::limits::Limits;

/// PidTagSenderEntryId.
pub const PID_TAG_SENDER_ENTRY_ID: PropertyTag = PropertyTag(0x0C19_0102);
/// PidTagSenderAddressType.
pub const PID_TAG_SENDER_ADDRESS_TYPE: PropertyTag = PropertyTag(0x0C1E_001F);
/// PidTagSentRepresentingAddressType.
pub const PID_TAG_SENT_REPRESENTING_ADDRESS_TYPE: PropertyTag = PropertyTag(0x0064_001F);
/// PidTagSentRepresentingSmtpAddress.
pub const PID_TAG_SENT_REPRESENTING_SMTP_ADDRESS: PropertyTag = PropertyTag(0x5D02_001F);
/// PidTagSentRepresentingEntryId.
pub const PID_TAG_SENT_REPRESENTING_ENTRY_ID: PropertyTag = PropertyTag(0x0041_0102);
/// MSGFLAG_READ (MS-OXCMSG 2.2.1.6).
pub const MSGFLAG_READ: i32 = 0x0001;
/// MSGFLAG_UNSENT.
pub const MSGFLAG_UNSENT: i32 = 0x0008;
/// MSGFLAG_HASATTACH.
pub const MSGFLAG_HASATTACH: i32 = 0x0010;

/// A whole message to store at once (import, seeding).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewMessage {
    /// Message properties.
    pub props: PropList,
    /// Recipients: (PidTagRecipientType, properties).
    pub recipients: Vec<(u8, PropList)>,
    /// Attachments.
    pub attachments: Vec<NewAttachment>,
}

/// An attachment of a [`NewMessage`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewAttachment {
    /// Attachment properties (without the data).
    pub props: PropList,
    /// PidTagAttachDataBinary, written in chunks.
    pub data: Vec<u8>,
}

/// What a submit did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmitOutcome {
    /// The submit id recorded in `submissions` (the PidTagInternetMessageId).
    pub submit_id: String,
    /// The MID of the Sent Items copy.
    pub sent_mid: i64,
    /// (mailbox, MID) of every local delivery.
    pub delivered: Vec<(i64, i64)>,
    /// Queued external addresses.
    pub queued: Vec<String>,
    /// Local recipients that got no copy (their limits), each also queued.
    pub refused: Vec<Refused>,
    /// The submit id had been recorded before: nothing was done again.
    pub already_submitted: bool,
}

/// A local recipient that did not get its copy of a submitted message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The recipient's mailbox (`users.id`).
    pub mailbox_id: i64,
    /// The recipient's SMTP address, as queued.
    pub address: String,
    /// Why.
    pub reason: Undeliverable,
}

/// Why a local recipient got no copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Undeliverable {
    /// The message is larger than [`Limits::max_message_size`].
    #[error("the message ({size} bytes) is larger than the limit of {max} bytes")]
    TooLarge {
        /// The message's size (PidTagMessageSize).
        size: u64,
        /// [`Limits::max_message_size`].
        max: u64,
    },
    /// The copy would have taken the recipient's mailbox past [`Limits::mailbox_quota`].
    #[error("the recipient's mailbox is full: {0}")]
    QuotaExceeded(OverQuota),
}

/// Errors of a submit.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SubmitError {
    /// SQLite failed (the transaction was rolled back).
    #[error("sqlite: {0}")]
    Sql(#[from] rusqlite::Error),
    /// The message is not in the sender's mailbox.
    #[error("message not found")]
    NotFound,
    /// The message has no recipients (ecNoRecipients).
    #[error("the message has no recipients")]
    NoRecipients,
    /// The test hook fired (the transaction was rolled back).
    #[error("injected failure")]
    Injected,
}

/// Test hook: fail the submit transaction after this many local deliveries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SubmitHooks {
    /// `Some(n)`: return [`SubmitError::Injected`] once `n` deliveries are inserted.
    pub fail_after_deliveries: Option<usize>,
}

impl Store {
    /// Stores `msg` in folder `fid` of `mailbox_id` and returns its MID.
    pub fn insert_message(
        &self,
        mailbox_id: i64,
        fid: i64,
        msg: &NewMessage,
    ) -> Result<i64, StoreError> {
        self.with_tx(|tx| Ok(insert_message(tx, mailbox_id, fid, msg)?))
    }

    /// Submits committed message `mid` of `sender`'s mailbox (see [`submit`]) under the
    /// default [`Limits`].
    pub fn submit_message(
        &self,
        sender: &UserRecord,
        mid: i64,
        hooks: SubmitHooks,
    ) -> Result<SubmitOutcome, SubmitError> {
        self.submit_message_within(sender, mid, &Limits::default(), hooks)
    }

    /// Submits committed message `mid` of `sender`'s mailbox (see [`submit`]); local
    /// deliveries respect `limits`.
    pub fn submit_message_within(
        &self,
        sender: &UserRecord,
        mid: i64,
        limits: &Limits,
        hooks: SubmitHooks,
    ) -> Result<SubmitOutcome, SubmitError> {
        let conn = self.conn.lock().map_err(|_| SubmitError::NotFound)?;
        submit(&conn, sender, mid, limits, hooks)
    }
}

/// Inserts a whole message (caller's transaction).
pub fn insert_message(
    conn: &Connection,
    mailbox_id: i64,
    fid: i64,
    msg: &NewMessage,
) -> rusqlite::Result<i64> {
    let mid = m::alloc_id(conn, mailbox_id)?;
    for (tag, v) in &msg.props {
        m::put_prop(conn, mailbox_id, KIND_MESSAGE, mid, *tag, v)?;
    }
    for (i, (ty, props)) in msg.recipients.iter().enumerate() {
        let mut props = props.clone();
        props.retain(|(t, _)| t.id() != tags::PidTagRecipientType.id());
        props.push((
            tags::PidTagRecipientType,
            PropertyValue::Int32(i32::from(*ty)),
        ));
        let r = Recipient {
            row_id: u32::try_from(i).unwrap_or(u32::MAX),
            recipient_type: *ty,
            props,
        };
        m::put_recipient(conn, mailbox_id, mid, &r)?;
    }
    for a in &msg.attachments {
        let row = m::create_attachment(conn, mailbox_id, mid)?;
        for (tag, v) in &a.props {
            m::put_prop(conn, mailbox_id, KIND_ATTACHMENT, row.att_id, *tag, v)?;
        }
        let owner = BlobOwner {
            mailbox_id,
            kind: KIND_ATTACHMENT,
            object_id: row.att_id,
        };
        m::set_blob_size(conn, owner, tags::PidTagAttachDataBinary, 0)?;
        for (i, chunk) in a.data.chunks(m::CHUNK).enumerate() {
            m::write_blob(
                conn,
                owner,
                tags::PidTagAttachDataBinary,
                (i * m::CHUNK) as u64,
                chunk,
            )?;
        }
    }
    // The folder's row last, with its summary (see `summary::insert`).
    super::summary::insert(conn, mailbox_id, mid, fid)?;
    Ok(mid)
}

/// Submits a committed message (MS-OXOMSG 3.2.5.1) in ONE transaction:
///
/// 1. the sender is the authenticated user: every PidTagSender* / PidTagSentRepresenting*
///    value is overwritten;
/// 2. each recipient resolving to a local user (by SMTP address, legacy DN or display name)
///    gets a copy in their Inbox (unread), unless the message is larger than
///    `limits.max_message_size` or the copy would take that mailbox past
///    `limits.mailbox_quota`: then the recipient is queued in `outbound_queue` instead (under
///    its SMTP address), listed in [`SubmitOutcome::refused`] and logged at warn level; the
///    other recipients are served all the same;
/// 3. other SMTP recipients are queued in `outbound_queue`;
/// 4. the message itself moves to Sent Items (leaving the Outbox or Drafts), read and sent;
/// 5. the submit id (its PidTagInternetMessageId, created when missing) is recorded in
///    `submissions`; a second submit of the same id does nothing and reports
///    `already_submitted`.
///
/// Any failure rolls everything back: a delivery is complete or absent, never doubled.
pub fn submit(
    conn: &Connection,
    sender: &UserRecord,
    mid: i64,
    limits: &Limits,
    hooks: SubmitHooks,
) -> Result<SubmitOutcome, SubmitError> {
    tx::write(conn, |c| submit_in(c, sender, mid, limits, hooks))
}

fn submit_in(
    tx: &Connection,
    sender: &UserRecord,
    mid: i64,
    limits: &Limits,
    hooks: SubmitHooks,
) -> Result<SubmitOutcome, SubmitError> {
    let mb = sender.id;
    let exists: bool = tx.query_row(
        "SELECT EXISTS(SELECT 1 FROM messages WHERE mailbox_id = ?1 AND mid = ?2)",
        params![mb, mid],
        |r| r.get(0),
    )?;
    if !exists {
        return Err(SubmitError::NotFound);
    }
    let submit_id = match m::inline_prop(
        tx,
        mb,
        KIND_MESSAGE,
        mid,
        tags::PidTagInternetMessageId.id(),
    )?
    .and_then(|(_, v)| v.as_str().map(|s| s.into_owned()))
    {
        Some(id) if !id.is_empty() => id,
        _ => {
            let domain = sender.smtp.rsplit('@').next().unwrap_or("localhost");
            let id = format!("<{}@{domain}>", uuid::Uuid::new_v4().simple());
            m::put_prop(
                tx,
                mb,
                KIND_MESSAGE,
                mid,
                tags::PidTagInternetMessageId,
                &PropertyValue::Unicode(id.clone()),
            )?;
            id
        }
    };
    let prior: Option<i64> = tx
        .query_row(
            "SELECT sent_mid FROM submissions WHERE mailbox_id = ?1 AND submit_id = ?2",
            params![mb, submit_id],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(sent_mid) = prior {
        return Ok(SubmitOutcome {
            submit_id,
            sent_mid,
            delivered: Vec::new(),
            queued: Vec::new(),
            refused: Vec::new(),
            already_submitted: true,
        });
    }
    let rcpts = m::recipients(tx, mb, mid)?;
    if rcpts.is_empty() {
        return Err(SubmitError::NoRecipients);
    }
    // The size the client saved (and RopSubmitMessage checked), before the sender values.
    let size = m::message_size(tx, mb, mid)?.unsigned_abs();
    let too_large = (size > limits.max_message_size).then_some(Undeliverable::TooLarge {
        size,
        max: limits.max_message_size,
    });
    let now = m::now_filetime();
    set_sender(tx, sender, mid, now)?;

    let mut delivered = Vec::new();
    let mut queued = Vec::new();
    let mut refused = Vec::new();
    let mut seen_users = Vec::new();
    let queue = |addr: &str| -> rusqlite::Result<()> {
        tx.execute(
            "INSERT INTO outbound_queue (mailbox_id, mid, recipient, queued_at, submit_id)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![mb, mid, addr, unix_now(), submit_id],
        )?;
        Ok(())
    };
    for r in &rcpts {
        match resolve(tx, &r.props)? {
            Target::Local(user) => {
                if seen_users.contains(&user) {
                    continue;
                }
                seen_users.push(user);
                let inbox: Option<i64> = tx
                    .query_row(
                        "SELECT fid FROM folders WHERE mailbox_id = ?1 AND special = 5",
                        [user],
                        |r| r.get(0),
                    )
                    .optional()?;
                let Some(inbox) = inbox else { continue };
                let outcome = match too_large {
                    Some(reason) => Err(reason),
                    None => usage::within_quota(tx, user, limits.mailbox_quota, |tx| {
                        deliver_copy(tx, mb, mid, user, inbox, now)
                    })?
                    .map_err(Undeliverable::QuotaExceeded),
                };
                match outcome {
                    Ok(copy) => {
                        delivered.push((user, copy));
                        if hooks.fail_after_deliveries == Some(delivered.len()) {
                            return Err(SubmitError::Injected);
                        }
                    }
                    Err(reason) => {
                        let address: String =
                            tx.query_row("SELECT smtp FROM users WHERE id = ?1", [user], |r| {
                                r.get(0)
                            })?;
                        tracing::warn!(
                            sender = %sender.alias,
                            recipient = %address,
                            %submit_id,
                            %reason,
                            "not delivered to a local recipient; kept in the outbound queue"
                        );
                        queue(&address)?;
                        refused.push(Refused {
                            mailbox_id: user,
                            address,
                            reason,
                        });
                    }
                }
            }
            Target::External(addr) => {
                queue(&addr)?;
                queued.push(addr);
            }
            Target::Unresolved => {}
        }
    }

    let sent: Option<i64> = tx
        .query_row(
            "SELECT fid FROM folders WHERE mailbox_id = ?1 AND special = 7",
            [mb],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(sent) = sent {
        tx.execute(
            "UPDATE messages SET fid = ?3 WHERE mailbox_id = ?1 AND mid = ?2",
            params![mb, mid, sent],
        )?;
    }
    let flags = (current_flags(tx, mb, mid)? | MSGFLAG_READ) & !MSGFLAG_UNSENT;
    m::put_prop(
        tx,
        mb,
        KIND_MESSAGE,
        mid,
        tags::PidTagMessageFlags,
        &PropertyValue::Int32(flags),
    )?;
    tx.execute(
        "INSERT INTO submissions VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            mb,
            submit_id,
            mid,
            mid,
            delivered.len() as i64,
            (queued.len() + refused.len()) as i64,
            now as i64
        ],
    )?;
    Ok(SubmitOutcome {
        submit_id,
        sent_mid: mid,
        delivered,
        queued,
        refused,
        already_submitted: false,
    })
}

/// Copies message `mid` of mailbox `mb` into folder `inbox` of mailbox `user`, unread, with
/// its delivery time; returns the copy's MID.
fn deliver_copy(
    tx: &Connection,
    mb: i64,
    mid: i64,
    user: i64,
    inbox: i64,
    now: u64,
) -> rusqlite::Result<i64> {
    let copy = m::alloc_id(tx, user)?;
    m::copy_instance(tx, mb, mid, user, copy)?;
    let flags = current_flags(tx, user, copy)? & !(MSGFLAG_READ | MSGFLAG_UNSENT);
    m::put_prop(
        tx,
        user,
        KIND_MESSAGE,
        copy,
        tags::PidTagMessageFlags,
        &PropertyValue::Int32(flags),
    )?;
    m::put_prop(
        tx,
        user,
        KIND_MESSAGE,
        copy,
        tags::PidTagMessageDeliveryTime,
        &PropertyValue::Time(now),
    )?;
    // The folder's row last, with its summary (see `summary::insert`).
    super::summary::insert(tx, user, copy, inbox)?;
    Ok(copy)
}

fn current_flags(conn: &Connection, mb: i64, mid: i64) -> rusqlite::Result<i32> {
    Ok(
        m::inline_prop(conn, mb, KIND_MESSAGE, mid, tags::PidTagMessageFlags.id())?
            .and_then(|(_, v)| v.as_i64())
            .and_then(|v| i32::try_from(v).ok())
            .unwrap_or(0),
    )
}

/// Overwrites the sender and sent-representing values with the authenticated user.
fn set_sender(conn: &Connection, u: &UserRecord, mid: i64, now: u64) -> rusqlite::Result<()> {
    let ab = ab_entry_id(&u.legacy_dn);
    let values = [
        (
            tags::PidTagSenderName,
            PropertyValue::Unicode(u.display_name.clone()),
        ),
        (
            tags::PidTagSenderEmailAddress,
            PropertyValue::Unicode(u.legacy_dn.clone()),
        ),
        (
            tags::PidTagSenderSmtpAddress,
            PropertyValue::Unicode(u.smtp.clone()),
        ),
        (
            PID_TAG_SENDER_ADDRESS_TYPE,
            PropertyValue::Unicode("EX".into()),
        ),
        (PID_TAG_SENDER_ENTRY_ID, PropertyValue::Binary(ab.clone())),
        (
            tags::PidTagSentRepresentingName,
            PropertyValue::Unicode(u.display_name.clone()),
        ),
        (
            tags::PidTagSentRepresentingEmailAddress,
            PropertyValue::Unicode(u.legacy_dn.clone()),
        ),
        (
            PID_TAG_SENT_REPRESENTING_SMTP_ADDRESS,
            PropertyValue::Unicode(u.smtp.clone()),
        ),
        (
            PID_TAG_SENT_REPRESENTING_ADDRESS_TYPE,
            PropertyValue::Unicode("EX".into()),
        ),
        (
            PID_TAG_SENT_REPRESENTING_ENTRY_ID,
            PropertyValue::Binary(ab),
        ),
        (tags::PidTagClientSubmitTime, PropertyValue::Time(now)),
        (tags::PidTagMessageDeliveryTime, PropertyValue::Time(now)),
    ];
    for (tag, v) in &values {
        m::put_prop(conn, u.id, KIND_MESSAGE, mid, *tag, v)?;
    }
    Ok(())
}

/// MS-OXCDATA 2.2.5.2 Address Book EntryID of a mail user.
pub fn ab_entry_id(dn: &str) -> Vec<u8> {
    const AB_PROVIDER_UID: [u8; 16] = [
        0xDC, 0xA7, 0x40, 0xC8, 0xC0, 0x42, 0x10, 0x1A, 0xB4, 0xB9, 0x08, 0x00, 0x2B, 0x2F, 0xE1,
        0x82,
    ];
    let mut b = vec![0; 4];
    b.extend_from_slice(&AB_PROVIDER_UID);
    b.extend_from_slice(&1u32.to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes());
    b.extend_from_slice(dn.as_bytes());
    b.push(0);
    b
}

enum Target {
    Local(i64),
    External(String),
    Unresolved,
}

fn text(props: &PropList, tag: PropertyTag) -> Option<String> {
    props
        .iter()
        .find(|(t, _)| t.id() == tag.id())
        .and_then(|(_, v)| v.as_str().map(|s| s.trim().to_owned()))
        .filter(|s| !s.is_empty())
}

/// Resolves a recipient against `users`: SMTP address, then legacy DN, then display name
/// or alias; an unknown SMTP address is external.
fn resolve(conn: &Connection, props: &PropList) -> rusqlite::Result<Target> {
    let by = |sql: &str, key: &str| -> rusqlite::Result<Option<i64>> {
        conn.query_row(sql, [key], |r| r.get(0)).optional()
    };
    let addr_type = text(props, tags::PidTagAddressType).unwrap_or_default();
    let email = text(props, tags::PidTagEmailAddress);
    let smtp = text(props, tags::PidTagSmtpAddress).or_else(|| {
        email
            .clone()
            .filter(|e| addr_type.eq_ignore_ascii_case("SMTP") || e.contains('@'))
    });
    if let Some(s) = &smtp {
        let s = s.trim_start_matches("SMTP:").trim_start_matches("smtp:");
        if let Some(id) = by("SELECT id FROM users WHERE smtp = ?1", s)? {
            return Ok(Target::Local(id));
        }
    }
    if let Some(e) = &email
        && let Some(id) = by("SELECT id FROM users WHERE legacy_dn = ?1", e)?
    {
        return Ok(Target::Local(id));
    }
    if let Some(n) = text(props, tags::PidTagDisplayName)
        && let Some(id) = by(
            "SELECT id FROM users WHERE display_name = ?1 COLLATE NOCASE OR alias = ?1",
            &n,
        )?
    {
        return Ok(Target::Local(id));
    }
    Ok(match smtp {
        Some(s) if s.contains('@') => Target::External(s),
        _ => Target::Unresolved,
    })
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SPECIAL_INBOX;

    const DRAFTS: i64 = 11;

    fn count_in(store: &Store, mailbox: i64, fid: u64) -> i64 {
        store
            .with_conn(|c| {
                Ok(c.query_row(
                    "SELECT COUNT(*) FROM messages WHERE mailbox_id = ?1 AND fid = ?2",
                    params![mailbox, fid as i64],
                    |r| r.get(0),
                )?)
            })
            .expect("count")
    }

    fn usage(store: &Store, mailbox: i64) -> u64 {
        store
            .with_conn(|c| Ok(usage::mailbox_bytes(c, mailbox)?))
            .expect("usage")
    }

    fn to(addr: &str) -> (u8, PropList) {
        (
            1,
            vec![
                (tags::PidTagSmtpAddress, PropertyValue::Unicode(addr.into())),
                (
                    tags::PidTagAddressType,
                    PropertyValue::Unicode("SMTP".into()),
                ),
            ],
        )
    }

    /// A message larger than `max_message_size` reaches no local mailbox; a mailbox whose
    /// quota it would pass gets no copy while another one does. Either way the submit succeeds,
    /// the refused recipient is queued and reported, and the usage does not move.
    #[test]
    fn local_delivery_respects_size_and_quota() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        store.init_org("Org", "example.test", false).expect("org");
        let alice = store.add_user("alice", "Alice", "pw").expect("alice");
        let bob = store.add_user("bob", "Bob", "pw").expect("bob");
        let carol = store.add_user("carol", "Carol", "pw").expect("carol");
        let drafts = store
            .special_folder(alice.id, DRAFTS)
            .expect("sql")
            .expect("drafts");
        let inbox = |u: &UserRecord| {
            store
                .special_folder(u.id, SPECIAL_INBOX)
                .expect("sql")
                .expect("inbox")
        };
        let message = |subject: &str, bytes: usize| NewMessage {
            props: vec![(tags::PidTagSubject, PropertyValue::Unicode(subject.into()))],
            recipients: vec![to(&bob.smtp), to(&carol.smtp), to("eve@remote.example")],
            attachments: vec![NewAttachment {
                props: Vec::new(),
                data: vec![1; bytes],
            }],
        };

        // 40 KB against a 32 KiB message limit: nobody local gets it.
        let mid = store
            .insert_message(alice.id, drafts as i64, &message("large", 40_000))
            .expect("insert");
        let limits = Limits {
            max_message_size: 32 << 10,
            ..Limits::default()
        };
        let out = store
            .submit_message_within(&alice, mid, &limits, SubmitHooks::default())
            .expect("submit");
        assert!(out.delivered.is_empty());
        assert_eq!(out.queued, vec!["eve@remote.example".to_owned()]);
        let refused: Vec<_> = out.refused.iter().map(|r| r.mailbox_id).collect();
        assert_eq!(refused, vec![bob.id, carol.id]);
        assert!(out.refused.iter().all(|r| matches!(
            r.reason,
            Undeliverable::TooLarge { max: 32_768, size } if size > 40_000
        )));
        assert_eq!(out.refused[0].address, bob.smtp);
        assert_eq!(
            (count_in(&store, bob.id, inbox(&bob)), usage(&store, bob.id)),
            (0, 0)
        );
        assert_eq!(count_in(&store, carol.id, inbox(&carol)), 0);

        // A 20 KB message with a quota that Bob's filled mailbox cannot take.
        let limits = Limits {
            mailbox_quota: 64 << 10,
            ..Limits::default()
        };
        store
            .insert_message(bob.id, inbox(&bob) as i64, &message("filler", 50_000))
            .expect("filler");
        let bob_used = usage(&store, bob.id);
        let mid = store
            .insert_message(alice.id, drafts as i64, &message("medium", 20_000))
            .expect("insert");
        let out = store
            .submit_message_within(&alice, mid, &limits, SubmitHooks::default())
            .expect("submit");
        assert_eq!(out.delivered.len(), 1);
        assert_eq!(out.delivered[0].0, carol.id);
        assert_eq!(out.refused.len(), 1);
        let Undeliverable::QuotaExceeded(over) = out.refused[0].reason else {
            panic!("{:?}", out.refused)
        };
        assert_eq!(
            (over.mailbox_id, over.used, over.quota),
            (bob.id, bob_used, 64 << 10)
        );
        assert!(over.would_hold > 64 << 10);
        assert_eq!(usage(&store, bob.id), bob_used);
        assert_eq!(count_in(&store, bob.id, inbox(&bob)), 1);
        assert_eq!(count_in(&store, carol.id, inbox(&carol)), 1);
        let queued: i64 = store
            .with_conn(|c| {
                Ok(c.query_row(
                    "SELECT COUNT(*) FROM outbound_queue WHERE mid = ?1",
                    [mid],
                    |r| r.get(0),
                )?)
            })
            .expect("queue");
        assert_eq!(queued, 2, "eve and bob");
        // The same submit id again does nothing more.
        let again = store
            .submit_message_within(&alice, mid, &limits, SubmitHooks::default())
            .expect("again");
        assert!(again.already_submitted && again.refused.is_empty());
    }
}
