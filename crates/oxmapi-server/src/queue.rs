//! Administration of the outbound queue: the messages users submitted for recipients outside
//! the organization, which this test server keeps instead of relaying, and for local
//! recipients whose mailbox refused the message (over `max_message_size` or over quota, see
//! docs/server-limits.md) (`oxmapi server queue --data DIR` lists them).
//!
//! The queue is the `outbound_queue` table of `mailbox.db`, one row per (message, undelivered
//! recipient): `id, mailbox_id, mid, recipient, queued_at` (`queued_at` in Unix seconds).
//! The submit path fills it; this module only reads and removes rows.

use oxmapi_wire::ReadCursor;
use oxmapi_wire::data::{PropertyValue, ValueContext, decode_typed_value, tags};
use rusqlite::types::Value;
use rusqlite::{Connection, params};

use crate::store::{Store, StoreError};

/// One queued (message, recipient) pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedMessage {
    /// Queue entry ID.
    pub id: i64,
    /// The sender's mailbox (`users.id`).
    pub mailbox_id: i64,
    /// The sender's alias, if the user still exists.
    pub sender: Option<String>,
    /// The message ID (the stored i64 form of the MID).
    pub mid: i64,
    /// The recipient's address.
    pub recipient: String,
    /// When the message was queued, in Unix seconds (0 if the stored value is not a number).
    pub queued_at: i64,
    /// The message's PidTagSubject, if it still exists and has one.
    pub subject: Option<String>,
}

/// Every queue entry, oldest first.
pub fn list_queue(store: &Store) -> Result<Vec<QueuedMessage>, StoreError> {
    store.with_conn(|c| Ok(list(c)?))
}

/// Removes one queue entry; returns whether it existed.
pub fn remove_queued(store: &Store, id: i64) -> Result<bool, StoreError> {
    store.with_conn(|c| Ok(c.execute("DELETE FROM outbound_queue WHERE id = ?1", [id])? > 0))
}

fn list(conn: &Connection) -> rusqlite::Result<Vec<QueuedMessage>> {
    let mut st = conn.prepare(
        "SELECT q.id, q.mailbox_id, u.alias, q.mid, q.recipient, q.queued_at, p.value
         FROM outbound_queue q
         LEFT JOIN users u ON u.id = q.mailbox_id
         LEFT JOIN props p ON p.mailbox_id = q.mailbox_id AND p.kind = 1 AND p.object_id = q.mid
           AND p.tag = ?1
         ORDER BY q.queued_at, q.id",
    )?;
    let rows = st.query_map(params![i64::from(tags::PidTagSubject.0)], |r| {
        Ok(QueuedMessage {
            id: r.get(0)?,
            mailbox_id: r.get(1)?,
            sender: r.get(2)?,
            mid: r.get(3)?,
            recipient: r.get(4)?,
            queued_at: seconds(r.get(5)?),
            subject: r.get::<_, Option<Vec<u8>>>(6)?.and_then(|b| text(&b)),
        })
    })?;
    rows.collect()
}

fn seconds(v: Value) -> i64 {
    match v {
        Value::Integer(i) => i,
        Value::Real(f) => f as i64,
        Value::Text(s) => s.trim().parse().unwrap_or(0),
        Value::Null | Value::Blob(_) => 0,
    }
}

/// A stored TypedPropertyValue string.
fn text(blob: &[u8]) -> Option<String> {
    let mut r = ReadCursor::new(blob);
    match decode_typed_value(&mut r, ValueContext::Rop).ok()? {
        PropertyValue::Unicode(s) => Some(s),
        PropertyValue::String8(b) => Some(b.iter().map(|&c| char::from(c)).collect()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use oxmapi_wire::WriteCursor;
    use oxmapi_wire::data::encode_typed_value;

    use super::*;

    #[test]
    fn lists_and_removes_entries_oldest_first() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        store.init_org("Org", "example.test", false).expect("org");
        let alice = store.add_user("alice", "Alice", "pw").expect("alice");
        assert!(list_queue(&store).expect("empty list").is_empty());
        store
            .with_conn(|c| {
                        let mut w = WriteCursor::new();
                encode_typed_value(
                    &PropertyValue::Unicode("Hello".into()),
                    &mut w,
                    ValueContext::Rop,
                )
                .expect("encode");
                c.execute(
                    "INSERT INTO props (mailbox_id, kind, object_id, tag, value) VALUES (?1, 1, 77, ?2, ?3)",
                    params![alice.id, i64::from(tags::PidTagSubject.0), w.into_inner()],
                )?;
                c.execute(
                    "INSERT INTO outbound_queue (mailbox_id, mid, recipient, queued_at) VALUES
                     (?1, 77, 'x@external.test', 200), (?1, 78, 'y@external.test', 100),
                     (99, 79, 'z@external.test', '150')",
                    [alice.id],
                )?;
                Ok(())
            })
            .expect("seed");
        let q = list_queue(&store).expect("list");
        let got: Vec<_> = q.iter().map(|m| (m.mid, m.queued_at)).collect();
        assert_eq!(got, vec![(78, 100), (79, 150), (77, 200)]);
        assert_eq!(q[2].subject.as_deref(), Some("Hello"));
        assert_eq!(q[2].sender.as_deref(), Some("alice"));
        assert_eq!(q[2].recipient, "x@external.test");
        assert_eq!(q[1].sender, None, "unknown mailbox");
        assert_eq!(q[0].subject, None);
        assert!(remove_queued(&store, q[0].id).expect("remove"));
        assert!(!remove_queued(&store, q[0].id).expect("remove again"));
        assert_eq!(list_queue(&store).expect("list").len(), 2);
    }
}
