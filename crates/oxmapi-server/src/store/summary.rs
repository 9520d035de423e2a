//! The *summary* of a committed message: the values contents tables sort, filter and show
//! most, kept as columns of its `messages` row (schema version 2, see [`super::schema`]),
//! so a table over a folder is one indexed statement instead of a query per row.
//!
//! | column | from |
//! |---|---|
//! | `size` | PidTagMessageSize: every value, recipient and attachment (MS-OXCMSG 2.2.1.7) |
//! | `has_attach` | PidTagHasAttachments (MS-OXCMSG 2.2.1.2) |
//! | `flags` | PidTagMessageFlags with mfHasAttach set from the attachments (MS-OXCMSG 2.2.1.6) |
//! | `delivery_time` / `submit_time` / `modified_time` | PidTagMessageDeliveryTime / PidTagClientSubmitTime / PidTagLastModificationTime (FILETIME) |
//! | `subject`, `sender`, `class` | PidTagSubject / PidTagSenderName / PidTagMessageClass |
//! | `*_key` | the same text in lower case (what sorting compares) |
//!
//! Persistent triggers mark a summary stale whenever anything it is made of changes, by any
//! write path; [`refresh_stale`] recomputes the stale ones and runs before the store's
//! connection is handed to the next caller, so no reader ever sees a stale summary.

use oxmapi_wire::data::{PropertyTag, PropertyValue, tags};
use rusqlite::{Connection, params};

use super::messages::{self as m, KIND_MESSAGE, PropList};
use super::tx;

/// mfHasAttach (MS-OXCMSG 2.2.1.6).
const MSGFLAG_HASATTACH: i32 = 0x10;

/// What a summary holds beyond the stored values: the computed ones.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// PidTagMessageSize(Extended).
    pub size: i64,
    /// PidTagHasAttachments.
    pub has_attach: bool,
    /// PidTagMessageFlags (mfHasAttach from the attachments).
    pub flags: i32,
}

/// A sortable summary column: the property ID it stands for and its column name.
const SORT_COLUMNS: [(u16, &str); 8] = [
    (tags::PidTagMessageDeliveryTime.id(), "delivery_time"),
    (tags::PidTagClientSubmitTime.id(), "submit_time"),
    (tags::PidTagLastModificationTime.id(), "modified_time"),
    (tags::PidTagSubject.id(), "subject_key"),
    (tags::PidTagSenderName.id(), "sender_key"),
    (tags::PidTagMessageClass.id(), "class_key"),
    (tags::PidTagMessageSize.id(), "size"),
    (tags::PidTagMessageFlags.id(), "flags"),
];

/// The summary column that orders like property `id` does (strings case-insensitively,
/// absent values first), if there is one.
pub fn sort_column(id: u16) -> Option<&'static str> {
    if id == tags::PidTagMessageSizeExtended.id() {
        return Some("size");
    }
    if id == tags::PidTagHasAttachments.id() {
        return Some("has_attach");
    }
    SORT_COLUMNS.iter().find(|(i, _)| *i == id).map(|(_, c)| *c)
}

/// The property IDs a summary is read from.
const SOURCE_IDS: [u16; 7] = [
    tags::PidTagMessageFlags.id(),
    tags::PidTagMessageDeliveryTime.id(),
    tags::PidTagClientSubmitTime.id(),
    tags::PidTagLastModificationTime.id(),
    tags::PidTagSubject.id(),
    tags::PidTagSenderName.id(),
    tags::PidTagMessageClass.id(),
];

/// Whether any summary is stale (a cheap lookup in the partial index `messages_stale`).
pub fn any_stale(conn: &Connection) -> rusqlite::Result<bool> {
    conn.prepare_cached("SELECT EXISTS(SELECT 1 FROM messages WHERE stale = 1)")?
        .query_row([], |r| r.get(0))
}

/// Recomputes every stale summary; returns how many. One write unit ([`tx::write`]): its own
/// transaction, or a savepoint of the caller's.
pub fn refresh_stale(conn: &Connection) -> rusqlite::Result<usize> {
    let stale: Vec<(i64, i64)> = {
        let mut st = conn.prepare_cached("SELECT mailbox_id, mid FROM messages WHERE stale = 1")?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    if stale.is_empty() {
        return Ok(0);
    }
    tx::write(conn, |c| {
        stale.iter().try_for_each(|&(mb, mid)| refresh(c, mb, mid))
    })?;
    Ok(stale.len())
}

/// Recomputes the summary of message `mid`.
pub fn refresh(conn: &Connection, mailbox_id: i64, mid: i64) -> rusqlite::Result<()> {
    let c = compute(conn, mailbox_id, mid)?;
    conn.prepare_cached(
        "UPDATE messages SET stale = 0, size = ?3, has_attach = ?4, flags = ?5,
           delivery_time = ?6, submit_time = ?7, modified_time = ?8, subject = ?9,
           subject_key = ?10, sender = ?11, sender_key = ?12, class = ?13, class_key = ?14
         WHERE mailbox_id = ?1 AND mid = ?2",
    )?
    .execute(c.params(mailbox_id, mid))?;
    Ok(())
}

/// Adds the `messages` row of message `mid` in folder `fid` with its summary, once its values,
/// recipients and attachments are stored: one row write and one entry per index, where
/// inserting the row first and refreshing it after would write every index twice.
pub fn insert(conn: &Connection, mailbox_id: i64, mid: i64, fid: i64) -> rusqlite::Result<()> {
    let c = compute(conn, mailbox_id, mid)?;
    let [
        mb,
        mid,
        size,
        has_attach,
        flags,
        t1,
        t2,
        t3,
        s1,
        k1,
        s2,
        k2,
        s3,
        k3,
    ] = c.params(mailbox_id, mid);
    conn.prepare_cached(
        "INSERT INTO messages (mailbox_id, mid, fid, stale, size, has_attach, flags,
           delivery_time, submit_time, modified_time, subject, subject_key, sender, sender_key,
           class, class_key)
         VALUES (?1, ?2, ?15, 0, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    )?
    .execute(params![
        mb, mid, size, has_attach, flags, t1, t2, t3, s1, k1, s2, k2, s3, k3, fid
    ])?;
    Ok(())
}

/// A summary as computed from the stored instance.
struct Computed {
    size: i64,
    has_attach: bool,
    flags: i32,
    delivery: Option<i64>,
    submit: Option<i64>,
    modified: Option<i64>,
    subject: Option<String>,
    sender: Option<String>,
    class: Option<String>,
}

impl Computed {
    /// ?1 mailbox, ?2 mid, then the summary columns in table order.
    fn params(&self, mailbox_id: i64, mid: i64) -> [rusqlite::types::Value; 14] {
        use rusqlite::types::Value;
        let text = |s: &Option<String>| s.clone().map_or(Value::Null, Value::Text);
        let key = |s: &Option<String>| {
            s.as_deref()
                .map_or(Value::Null, |s| Value::Text(s.to_lowercase()))
        };
        let int = |v: Option<i64>| v.map_or(Value::Null, Value::Integer);
        [
            Value::Integer(mailbox_id),
            Value::Integer(mid),
            Value::Integer(self.size),
            Value::Integer(i64::from(self.has_attach)),
            Value::Integer(i64::from(self.flags)),
            int(self.delivery),
            int(self.submit),
            int(self.modified),
            text(&self.subject),
            key(&self.subject),
            text(&self.sender),
            key(&self.sender),
            text(&self.class),
            key(&self.class),
        ]
    }
}

fn compute(conn: &Connection, mailbox_id: i64, mid: i64) -> rusqlite::Result<Computed> {
    let atts = m::attachments(conn, mailbox_id, mid)?;
    let has_attach = !atts.is_empty();
    let size = m::message_size(conn, mailbox_id, mid)?;
    let values = inline_values(conn, mailbox_id, mid, &SOURCE_IDS)?;
    let get = |tag: PropertyTag| {
        values
            .iter()
            .find(|(t, _)| t.id() == tag.id())
            .map(|(_, v)| v)
    };
    let stored_flags = get(tags::PidTagMessageFlags)
        .and_then(PropertyValue::as_i64)
        .and_then(|v| i32::try_from(v).ok())
        .unwrap_or(0);
    let flags = if has_attach {
        stored_flags | MSGFLAG_HASATTACH
    } else {
        stored_flags & !MSGFLAG_HASATTACH
    };
    let time = |tag| match get(tag) {
        Some(PropertyValue::Time(t)) => i64::try_from(*t).ok(),
        _ => None,
    };
    let text = |tag| get(tag).and_then(|v| v.as_str()).map(|s| s.into_owned());
    Ok(Computed {
        size,
        has_attach,
        flags,
        delivery: time(tags::PidTagMessageDeliveryTime),
        submit: time(tags::PidTagClientSubmitTime),
        modified: time(tags::PidTagLastModificationTime),
        subject: text(tags::PidTagSubject),
        sender: text(tags::PidTagSenderName),
        class: text(tags::PidTagMessageClass),
    })
}

/// The summary's size of message `mid` (0 if there is no such message).
pub fn size(conn: &Connection, mailbox_id: i64, mid: i64) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT size FROM messages WHERE mailbox_id = ?1 AND mid = ?2")?
        .query_row(params![mailbox_id, mid], |r| r.get(0))
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(0),
            e => Err(e),
        })
}

/// The inline stored values of message `mid` among property IDs `ids`.
fn inline_values(
    conn: &Connection,
    mailbox_id: i64,
    mid: i64,
    ids: &[u16],
) -> rusqlite::Result<PropList> {
    let list = id_list(ids);
    let mut st = conn.prepare_cached(&format!(
        "SELECT tag, value FROM props WHERE mailbox_id = ?1 AND kind = {KIND_MESSAGE}
           AND object_id = ?2 AND (tag >> 16) IN ({list})"
    ))?;
    let rows = st.query_map(params![mailbox_id, mid], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (tag, blob) = row?;
        if let (Ok(tag), Some(v)) = (u32::try_from(tag), m::decode_value(&blob)) {
            out.push((PropertyTag(tag), v));
        }
    }
    Ok(out)
}

fn id_list(ids: &[u16]) -> String {
    if ids.is_empty() {
        return "NULL".to_owned();
    }
    ids.iter().map(u16::to_string).collect::<Vec<_>>().join(",")
}

/// One contents-table row as stored: the message, its folder, its summary and its inline
/// values of the requested property IDs.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRow {
    /// The MID (stored form).
    pub mid: i64,
    /// The computed values.
    pub summary: Summary,
    /// Inline stored values of the requested IDs.
    pub values: PropList,
}

impl StoredRow {
    /// A row without stored values or summary (a message that is gone).
    pub fn empty(mid: i64) -> Self {
        Self {
            mid,
            summary: Summary::default(),
            values: Vec::new(),
        }
    }
}

/// The rows of messages `mids` (in that order; unknown MIDs are left out) with their inline
/// values of property IDs `ids`: two statements whatever the number of rows.
pub fn rows(
    conn: &Connection,
    mailbox_id: i64,
    mids: &[i64],
    ids: &[u16],
) -> rusqlite::Result<Vec<StoredRow>> {
    if mids.is_empty() {
        return Ok(Vec::new());
    }
    let mid_list = mids
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let mut by_mid: std::collections::HashMap<i64, StoredRow> =
        std::collections::HashMap::with_capacity(mids.len());
    {
        let mut st = conn.prepare(&format!(
            "SELECT mid, size, has_attach, flags FROM messages
             WHERE mailbox_id = ?1 AND mid IN ({mid_list})"
        ))?;
        let mut q = st.query([mailbox_id])?;
        while let Some(r) = q.next()? {
            let mid: i64 = r.get(0)?;
            let summary = Summary {
                size: r.get(1)?,
                has_attach: r.get(2)?,
                flags: i32::try_from(r.get::<_, i64>(3)?).unwrap_or(0),
            };
            by_mid.insert(
                mid,
                StoredRow {
                    mid,
                    summary,
                    values: Vec::new(),
                },
            );
        }
    }
    if !ids.is_empty() {
        let mut st = conn.prepare(&format!(
            "SELECT object_id, tag, value FROM props WHERE mailbox_id = ?1
               AND kind = {KIND_MESSAGE} AND object_id IN ({mid_list})
               AND (tag >> 16) IN ({})",
            id_list(ids)
        ))?;
        let mut q = st.query([mailbox_id])?;
        while let Some(r) = q.next()? {
            let (mid, tag, blob): (i64, i64, Vec<u8>) = (r.get(0)?, r.get(1)?, r.get(2)?);
            if let (Some(row), Ok(tag), Some(v)) = (
                by_mid.get_mut(&mid),
                u32::try_from(tag),
                m::decode_value(&blob),
            ) {
                row.values.push((PropertyTag(tag), v));
            }
        }
    }
    Ok(mids.iter().filter_map(|m| by_mid.remove(m)).collect())
}

/// The messages of folder `fid` ordered by summary columns `keys` ((column, descending)),
/// ties in creation order: one statement over the folder's index.
pub fn ordered(
    conn: &Connection,
    mailbox_id: i64,
    fid: i64,
    keys: &[(&'static str, bool)],
) -> rusqlite::Result<Vec<i64>> {
    let mut order: Vec<String> = keys
        .iter()
        .map(|(c, desc)| format!("{c} {}", if *desc { "DESC" } else { "ASC" }))
        .collect();
    order.push("rowid ASC".to_owned());
    let mut st = conn.prepare(&format!(
        "SELECT mid FROM messages WHERE mailbox_id = ?1 AND fid = ?2 ORDER BY {}",
        order.join(", ")
    ))?;
    let rows = st.query_map(params![mailbox_id, fid], |r| r.get(0))?;
    rows.collect()
}

/// Summary columns that hold a stored value as it is (strings as PtypString, times as
/// PtypTime): read from the row, no join with `props`.
const VALUE_COLUMNS: [(PropertyTag, &str); 6] = [
    (tags::PidTagSubject, "subject"),
    (tags::PidTagSenderName, "sender"),
    (tags::PidTagMessageClass, "class"),
    (tags::PidTagMessageDeliveryTime, "delivery_time"),
    (tags::PidTagClientSubmitTime, "submit_time"),
    (tags::PidTagLastModificationTime, "modified_time"),
];

/// Every message of folder `fid` in creation order with its summary and the values of
/// property IDs `ids` (one statement: what a restriction or a sort on stored values reads).
/// Values the summary holds come from the row; only the others are joined from `props`.
pub fn folder_rows(
    conn: &Connection,
    mailbox_id: i64,
    fid: i64,
    ids: &[u16],
) -> rusqlite::Result<Vec<StoredRow>> {
    let from_row: Vec<(usize, PropertyTag)> = VALUE_COLUMNS
        .iter()
        .enumerate()
        .filter(|(_, (t, _))| ids.contains(&t.id()))
        .map(|(i, (t, _))| (i, *t))
        .collect();
    let joined: Vec<u16> = ids
        .iter()
        .copied()
        .filter(|id| !VALUE_COLUMNS.iter().any(|(t, _)| t.id() == *id))
        .collect();
    let columns = VALUE_COLUMNS
        .iter()
        .map(|(_, c)| format!("m.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = if joined.is_empty() {
        format!(
            "SELECT m.mid, m.size, m.has_attach, m.flags, {columns}, NULL, NULL FROM messages m
             WHERE m.mailbox_id = ?1 AND m.fid = ?2 ORDER BY m.rowid"
        )
    } else {
        format!(
            "SELECT m.mid, m.size, m.has_attach, m.flags, {columns}, p.tag, p.value
             FROM messages m
               LEFT JOIN props p ON p.mailbox_id = m.mailbox_id AND p.kind = {KIND_MESSAGE}
                 AND p.object_id = m.mid AND (p.tag >> 16) IN ({})
             WHERE m.mailbox_id = ?1 AND m.fid = ?2 ORDER BY m.rowid",
            id_list(&joined)
        )
    };
    let mut st = conn.prepare(&sql)?;
    let mut rows = st.query(params![mailbox_id, fid])?;
    let mut out: Vec<StoredRow> = Vec::new();
    let first_value = 4;
    let tag_at = first_value + VALUE_COLUMNS.len();
    while let Some(r) = rows.next()? {
        let mid: i64 = r.get(0)?;
        if out.last().is_none_or(|row| row.mid != mid) {
            let mut values = Vec::with_capacity(ids.len());
            for &(i, tag) in &from_row {
                let value = if tag.ty() == tags::PidTagSubject.ty() {
                    r.get::<_, Option<String>>(first_value + i)?
                        .map(PropertyValue::Unicode)
                } else {
                    r.get::<_, Option<i64>>(first_value + i)?
                        .and_then(|t| u64::try_from(t).ok())
                        .map(PropertyValue::Time)
                };
                if let Some(v) = value {
                    values.push((tag, v));
                }
            }
            out.push(StoredRow {
                mid,
                summary: Summary {
                    size: r.get(1)?,
                    has_attach: r.get(2)?,
                    flags: i32::try_from(r.get::<_, i64>(3)?).unwrap_or(0),
                },
                values,
            });
        }
        let (Some(tag), Some(blob)) = (
            r.get::<_, Option<i64>>(tag_at)?,
            r.get::<_, Option<Vec<u8>>>(tag_at + 1)?,
        ) else {
            continue;
        };
        if let (Ok(tag), Some(value), Some(row)) =
            (u32::try_from(tag), m::decode_value(&blob), out.last_mut())
        {
            row.values.push((PropertyTag(tag), value));
        }
    }
    Ok(out)
}

/// A folder's message count and unread count, as maintained by the `counts_messages_*`
/// triggers.
pub fn counts(conn: &Connection, mailbox_id: i64, fid: i64) -> rusqlite::Result<(i64, i64)> {
    conn.prepare_cached(
        "SELECT content_count, unread_count FROM folders WHERE mailbox_id = ?1 AND fid = ?2",
    )?
    .query_row(params![mailbox_id, fid], |r| Ok((r.get(0)?, r.get(1)?)))
    .or_else(|e| match e {
        rusqlite::Error::QueryReturnedNoRows => Ok((0, 0)),
        e => Err(e),
    })
}
