//! The whole SQLite schema of `<data dir>/mailbox.db`, versioned with `PRAGMA user_version`.
//!
//! Every table, index and persistent trigger is here and nowhere else. [`migrate`] runs once
//! when the store opens: a new file gets [`VERSION`] at once; a file of an older version is
//! brought up to date in one transaction; a file of a newer version is refused (it was made
//! by a newer oxmapi).
//!
//! Version history:
//! - 0 with tables: the layout of oxmapi 0.1 (no `user_version`, tables created on first use
//!   in five places). Called version 1 below.
//! - 2: the columns contents tables sort and filter on are kept on the `messages` row (the
//!   *summary*, see [`super::summary`]) and indexed per folder; folders keep their message
//!   counts; `outbound_queue` has one definition (with `submit_id`).

use rusqlite::{Connection, OptionalExtension};

use super::error::StoreError;
use super::tx;

/// The schema version this build writes.
pub const VERSION: i64 = 2;

/// Tables of every version (created as they are in [`VERSION`]).
const TABLES: &str = "
CREATE TABLE IF NOT EXISTS org (id INTEGER PRIMARY KEY CHECK (id = 1), name TEXT NOT NULL,
  domain TEXT NOT NULL, public_folders INTEGER NOT NULL, server_guid BLOB NOT NULL,
  public_replica_guid BLOB NOT NULL, public_next_globcnt INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, alias TEXT NOT NULL UNIQUE COLLATE NOCASE,
  display_name TEXT NOT NULL, smtp TEXT NOT NULL UNIQUE COLLATE NOCASE,
  legacy_dn TEXT NOT NULL UNIQUE COLLATE NOCASE, nt_hash BLOB NOT NULL,
  mailbox_guid BLOB NOT NULL UNIQUE, replica_guid BLOB NOT NULL, next_globcnt INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS folders (mailbox_id INTEGER NOT NULL, fid INTEGER NOT NULL,
  parent_fid INTEGER, display_name TEXT NOT NULL, container_class TEXT, special INTEGER,
  content_count INTEGER NOT NULL DEFAULT 0, unread_count INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (mailbox_id, fid));
CREATE TABLE IF NOT EXISTS messages (mailbox_id INTEGER NOT NULL, mid INTEGER NOT NULL,
  fid INTEGER NOT NULL, stale INTEGER NOT NULL DEFAULT 1, size INTEGER NOT NULL DEFAULT 0,
  has_attach INTEGER NOT NULL DEFAULT 0, flags INTEGER NOT NULL DEFAULT 0, delivery_time INTEGER,
  submit_time INTEGER, modified_time INTEGER, subject TEXT, subject_key TEXT, sender TEXT,
  sender_key TEXT, class TEXT, class_key TEXT, PRIMARY KEY (mailbox_id, mid));
CREATE TABLE IF NOT EXISTS props (mailbox_id INTEGER NOT NULL, kind INTEGER NOT NULL,
  object_id INTEGER NOT NULL, tag INTEGER NOT NULL, value BLOB NOT NULL,
  PRIMARY KEY (mailbox_id, kind, object_id, tag));
CREATE TABLE IF NOT EXISTS recipients (mailbox_id INTEGER NOT NULL, mid INTEGER NOT NULL,
  row_id INTEGER NOT NULL, recipient_type INTEGER NOT NULL, props BLOB NOT NULL,
  PRIMARY KEY (mailbox_id, mid, row_id));
CREATE TABLE IF NOT EXISTS attachments (att_id INTEGER PRIMARY KEY AUTOINCREMENT,
  mailbox_id INTEGER NOT NULL, mid INTEGER NOT NULL, attach_num INTEGER NOT NULL,
  embedded_mid INTEGER, UNIQUE (mailbox_id, mid, attach_num));
CREATE TABLE IF NOT EXISTS blobs (mailbox_id INTEGER NOT NULL, kind INTEGER NOT NULL,
  object_id INTEGER NOT NULL, tag INTEGER NOT NULL, seq INTEGER NOT NULL, data BLOB NOT NULL,
  PRIMARY KEY (mailbox_id, kind, object_id, tag, seq));
CREATE TABLE IF NOT EXISTS named_props (mailbox_id INTEGER NOT NULL, propid INTEGER NOT NULL,
  guid BLOB NOT NULL, kind INTEGER NOT NULL, lid INTEGER, name TEXT,
  PRIMARY KEY (mailbox_id, propid));
CREATE TABLE IF NOT EXISTS instance_seq (id INTEGER PRIMARY KEY AUTOINCREMENT,
  mailbox_id INTEGER NOT NULL, working INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS submissions (mailbox_id INTEGER NOT NULL, submit_id TEXT NOT NULL,
  mid INTEGER NOT NULL, sent_mid INTEGER, delivered INTEGER NOT NULL, queued INTEGER NOT NULL,
  submitted_at INTEGER NOT NULL, PRIMARY KEY (mailbox_id, submit_id));
CREATE TABLE IF NOT EXISTS outbound_queue (id INTEGER PRIMARY KEY, mailbox_id INTEGER NOT NULL,
  mid INTEGER NOT NULL, recipient TEXT NOT NULL, queued_at INTEGER NOT NULL, submit_id TEXT);
CREATE TABLE IF NOT EXISTS receive_folders (mailbox_id INTEGER NOT NULL,
  message_class TEXT NOT NULL COLLATE NOCASE, fid INTEGER NOT NULL,
  PRIMARY KEY (mailbox_id, message_class));
CREATE TABLE IF NOT EXISTS tokens (id INTEGER PRIMARY KEY, sha256 BLOB NOT NULL UNIQUE,
  user_id INTEGER NOT NULL REFERENCES users(id), issued_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);
";

/// Indexes and triggers of [`VERSION`] 2 (created after the tables have their columns).
///
/// Indexes: contents tables list a folder in creation order (`messages_by_folder`, rowid
/// is the last column of every index) or sorted on a summary column (one index per column
/// a client sorts on: MS-OXCTABL 3.2.5.3 leaves the choice of keys to the client; these
/// are the ones Outlook's and our views use). `messages_stale` finds summaries to refresh.
///
/// Triggers: a change to a committed message's values, recipients, attachments or chunked
/// values marks its summary stale (refreshed before the connection is handed on, see
/// [`super::summary`]); inserting, deleting or moving a message, or a change of its flags,
/// keeps its folder's `content_count` / `unread_count` exact.
const INDEXES_AND_TRIGGERS: &str = "
CREATE INDEX IF NOT EXISTS messages_by_folder ON messages (mailbox_id, fid);
CREATE INDEX IF NOT EXISTS messages_by_delivery ON messages (mailbox_id, fid, delivery_time);
CREATE INDEX IF NOT EXISTS messages_by_submit ON messages (mailbox_id, fid, submit_time);
CREATE INDEX IF NOT EXISTS messages_by_modified ON messages (mailbox_id, fid, modified_time);
CREATE INDEX IF NOT EXISTS messages_by_subject ON messages (mailbox_id, fid, subject_key);
CREATE INDEX IF NOT EXISTS messages_by_sender ON messages (mailbox_id, fid, sender_key);
CREATE INDEX IF NOT EXISTS messages_by_size ON messages (mailbox_id, fid, size);
CREATE INDEX IF NOT EXISTS messages_by_flags ON messages (mailbox_id, fid, flags);
CREATE INDEX IF NOT EXISTS folders_by_parent ON folders (mailbox_id, parent_fid);
CREATE INDEX IF NOT EXISTS messages_stale ON messages (mailbox_id, mid) WHERE stale = 1;
CREATE INDEX IF NOT EXISTS attachments_by_embedded ON attachments (mailbox_id, embedded_mid)
  WHERE embedded_mid IS NOT NULL;

CREATE TRIGGER IF NOT EXISTS summary_props_ai AFTER INSERT ON props
  WHEN NEW.kind = 1 AND NEW.object_id > 0 BEGIN
  UPDATE messages SET stale = 1 WHERE mailbox_id = NEW.mailbox_id AND mid = NEW.object_id
    AND stale = 0; END;
CREATE TRIGGER IF NOT EXISTS summary_props_au AFTER UPDATE ON props
  WHEN NEW.kind = 1 AND NEW.object_id > 0 BEGIN
  UPDATE messages SET stale = 1 WHERE mailbox_id = NEW.mailbox_id AND mid = NEW.object_id
    AND stale = 0; END;
CREATE TRIGGER IF NOT EXISTS summary_props_ad AFTER DELETE ON props
  WHEN OLD.kind = 1 AND OLD.object_id > 0 BEGIN
  UPDATE messages SET stale = 1 WHERE mailbox_id = OLD.mailbox_id AND mid = OLD.object_id
    AND stale = 0; END;
CREATE TRIGGER IF NOT EXISTS summary_attprops_ai AFTER INSERT ON props WHEN NEW.kind = 2 BEGIN
  UPDATE messages SET stale = 1 WHERE stale = 0 AND (mailbox_id, mid) IN
    (SELECT mailbox_id, mid FROM attachments WHERE att_id = NEW.object_id); END;
CREATE TRIGGER IF NOT EXISTS summary_attprops_ad AFTER DELETE ON props WHEN OLD.kind = 2 BEGIN
  UPDATE messages SET stale = 1 WHERE stale = 0 AND (mailbox_id, mid) IN
    (SELECT mailbox_id, mid FROM attachments WHERE att_id = OLD.object_id); END;
CREATE TRIGGER IF NOT EXISTS summary_embedded_ai AFTER INSERT ON props
  WHEN NEW.kind = 1 AND NEW.object_id < 0 BEGIN
  UPDATE messages SET stale = 1 WHERE stale = 0 AND (mailbox_id, mid) IN
    (SELECT mailbox_id, mid FROM attachments
      WHERE mailbox_id = NEW.mailbox_id AND embedded_mid = NEW.object_id); END;
CREATE TRIGGER IF NOT EXISTS summary_blobs_ai AFTER INSERT ON blobs BEGIN
  UPDATE messages SET stale = 1 WHERE stale = 0 AND mailbox_id = NEW.mailbox_id AND mid IN
    (SELECT NEW.object_id WHERE NEW.kind = 1
     UNION ALL SELECT mid FROM attachments WHERE NEW.kind = 2 AND att_id = NEW.object_id); END;
CREATE TRIGGER IF NOT EXISTS summary_blobs_au AFTER UPDATE ON blobs BEGIN
  UPDATE messages SET stale = 1 WHERE stale = 0 AND mailbox_id = NEW.mailbox_id AND mid IN
    (SELECT NEW.object_id WHERE NEW.kind = 1
     UNION ALL SELECT mid FROM attachments WHERE NEW.kind = 2 AND att_id = NEW.object_id); END;
CREATE TRIGGER IF NOT EXISTS summary_blobs_ad AFTER DELETE ON blobs BEGIN
  UPDATE messages SET stale = 1 WHERE stale = 0 AND mailbox_id = OLD.mailbox_id AND mid IN
    (SELECT OLD.object_id WHERE OLD.kind = 1
     UNION ALL SELECT mid FROM attachments WHERE OLD.kind = 2 AND att_id = OLD.object_id); END;
CREATE TRIGGER IF NOT EXISTS summary_recipients_ai AFTER INSERT ON recipients BEGIN
  UPDATE messages SET stale = 1 WHERE mailbox_id = NEW.mailbox_id AND mid = NEW.mid
    AND stale = 0; END;
CREATE TRIGGER IF NOT EXISTS summary_recipients_au AFTER UPDATE ON recipients BEGIN
  UPDATE messages SET stale = 1 WHERE mailbox_id = NEW.mailbox_id AND mid = NEW.mid
    AND stale = 0; END;
CREATE TRIGGER IF NOT EXISTS summary_recipients_ad AFTER DELETE ON recipients BEGIN
  UPDATE messages SET stale = 1 WHERE mailbox_id = OLD.mailbox_id AND mid = OLD.mid
    AND stale = 0; END;
CREATE TRIGGER IF NOT EXISTS summary_attachments_ai AFTER INSERT ON attachments BEGIN
  UPDATE messages SET stale = 1 WHERE mailbox_id = NEW.mailbox_id AND mid = NEW.mid
    AND stale = 0; END;
CREATE TRIGGER IF NOT EXISTS summary_attachments_au AFTER UPDATE ON attachments BEGIN
  UPDATE messages SET stale = 1 WHERE mailbox_id = NEW.mailbox_id AND mid = NEW.mid
    AND stale = 0; END;
CREATE TRIGGER IF NOT EXISTS summary_attachments_ad AFTER DELETE ON attachments BEGIN
  UPDATE messages SET stale = 1 WHERE mailbox_id = OLD.mailbox_id AND mid = OLD.mid
    AND stale = 0; END;

CREATE TRIGGER IF NOT EXISTS counts_messages_ai AFTER INSERT ON messages BEGIN
  UPDATE folders SET content_count = content_count + 1,
    unread_count = unread_count + (NEW.flags & 1 = 0)
    WHERE mailbox_id = NEW.mailbox_id AND fid = NEW.fid; END;
CREATE TRIGGER IF NOT EXISTS counts_messages_ad AFTER DELETE ON messages BEGIN
  UPDATE folders SET content_count = content_count - 1,
    unread_count = unread_count - (OLD.flags & 1 = 0)
    WHERE mailbox_id = OLD.mailbox_id AND fid = OLD.fid; END;
CREATE TRIGGER IF NOT EXISTS counts_messages_au AFTER UPDATE OF fid, flags ON messages BEGIN
  UPDATE folders SET content_count = content_count - 1,
    unread_count = unread_count - (OLD.flags & 1 = 0)
    WHERE mailbox_id = OLD.mailbox_id AND fid = OLD.fid;
  UPDATE folders SET content_count = content_count + 1,
    unread_count = unread_count + (NEW.flags & 1 = 0)
    WHERE mailbox_id = NEW.mailbox_id AND fid = NEW.fid; END;
";

/// Columns version 2 adds to version-1 tables: (table, column definition).
const V2_COLUMNS: [(&str, &str); 16] = [
    ("folders", "content_count INTEGER NOT NULL DEFAULT 0"),
    ("folders", "unread_count INTEGER NOT NULL DEFAULT 0"),
    ("messages", "stale INTEGER NOT NULL DEFAULT 1"),
    ("messages", "size INTEGER NOT NULL DEFAULT 0"),
    ("messages", "has_attach INTEGER NOT NULL DEFAULT 0"),
    ("messages", "flags INTEGER NOT NULL DEFAULT 0"),
    ("messages", "delivery_time INTEGER"),
    ("messages", "submit_time INTEGER"),
    ("messages", "modified_time INTEGER"),
    ("messages", "subject TEXT"),
    ("messages", "subject_key TEXT"),
    ("messages", "sender TEXT"),
    ("messages", "sender_key TEXT"),
    ("messages", "class TEXT"),
    ("messages", "class_key TEXT"),
    ("outbound_queue", "submit_id TEXT"),
];

/// Brings the file to [`VERSION`] (see the module documentation).
pub(crate) fn migrate(conn: &Connection) -> Result<(), StoreError> {
    let found: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if found > VERSION {
        return Err(StoreError::Schema {
            found,
            supported: VERSION,
        });
    }
    if found == VERSION {
        return Ok(());
    }
    tx::write(conn, |c| {
        let existing = table_exists(c, "messages")?;
        if existing {
            // Version 1: add the new columns to the tables that exist, then create the rest.
            for (table, column) in V2_COLUMNS {
                let name = column.split_whitespace().next().unwrap_or_default();
                if table_exists(c, table)? && !column_exists(c, table, name)? {
                    c.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column};"))?;
                }
            }
        }
        c.execute_batch(TABLES)?;
        c.execute_batch(INDEXES_AND_TRIGGERS)?;
        if existing {
            // Every summary is stale (the new column's default); counts start as if every
            // message were unread (flags 0): refreshing the summaries moves them to the truth
            // through `counts_messages_au`.
            c.execute_batch(
                "UPDATE folders SET
                   content_count = (SELECT COUNT(*) FROM messages m
                     WHERE m.mailbox_id = folders.mailbox_id AND m.fid = folders.fid),
                   unread_count = (SELECT COUNT(*) FROM messages m
                     WHERE m.mailbox_id = folders.mailbox_id AND m.fid = folders.fid
                       AND m.flags & 1 = 0);",
            )?;
        }
        c.pragma_update(None, "user_version", VERSION)?;
        Ok(())
    })
}

fn table_exists(conn: &Connection, table: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1",
        [table],
        |_| Ok(()),
    )
    .optional()
    .map(|r| r.is_some())
}

fn column_exists(conn: &Connection, table: &str, column: &str) -> rusqlite::Result<bool> {
    let mut st = conn.prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))?;
    let names = st.query_map([], |r| r.get::<_, String>(0))?;
    for n in names {
        if n?.eq_ignore_ascii_case(column) {
            return Ok(true);
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use oxmapi_wire::data::{PropertyValue, tags};

    use super::*;
    use crate::store::deliver::{NewAttachment, NewMessage};
    use crate::store::{SPECIAL_INBOX, Store};

    /// (mid, size, has_attach, flags, delivery_time, subject_key) of a message.
    type SummaryRow = (i64, i64, i64, i64, Option<i64>, Option<String>);

    /// The summary columns of every message, in MID order.
    fn summaries(store: &Store) -> Vec<SummaryRow> {
        store
            .with_conn(|c| {
                let mut st = c.prepare(
                    "SELECT mid, size, has_attach, flags, delivery_time, subject_key FROM messages
                     WHERE stale = 0 ORDER BY mid",
                )?;
                let rows = st.query_map([], |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                })?;
                Ok(rows.collect::<rusqlite::Result<_>>()?)
            })
            .expect("summaries")
    }

    fn version(store: &Store) -> i64 {
        store
            .with_conn(|c| Ok(c.pragma_query_value(None, "user_version", |r| r.get(0))?))
            .expect("user_version")
    }

    /// A store of the layout before versioning (oxmapi 0.1: `messages (mailbox_id, mid, fid)`,
    /// `folders` without counts, no `user_version`, no indexes or triggers of version 2) is
    /// brought to version 2 when opened: the summaries and counts equal those of a store
    /// written by this version.
    #[test]
    fn version_1_store_is_migrated() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        assert_eq!(version(&store), VERSION);
        store.init_org("Org", "example.test", false).expect("org");
        let alice = store.add_user("alice", "Alice", "pw").expect("alice");
        let inbox = store
            .special_folder(alice.id, SPECIAL_INBOX)
            .expect("inbox")
            .expect("has inbox") as i64;
        for i in 0..3u64 {
            let mut props = vec![
                (
                    tags::PidTagSubject,
                    PropertyValue::Unicode(format!("Subject {i}")),
                ),
                (
                    tags::PidTagMessageDeliveryTime,
                    PropertyValue::Time(133_000_000_000_000_000 + i),
                ),
                (
                    tags::PidTagMessageFlags,
                    PropertyValue::Int32(i32::from(i == 1)),
                ),
            ];
            props.push((
                tags::PidTagMessageClass,
                PropertyValue::Unicode("IPM.Note".into()),
            ));
            let attachments = if i == 2 {
                vec![NewAttachment {
                    props: vec![],
                    data: vec![1; 100],
                }]
            } else {
                vec![]
            };
            store
                .insert_message(
                    alice.id,
                    inbox,
                    &NewMessage {
                        props,
                        recipients: vec![],
                        attachments,
                    },
                )
                .expect("insert");
        }
        let want = summaries(&store);
        assert_eq!(want.len(), 3);
        assert_eq!(want[2].2, 1, "has_attach");
        assert_eq!(want[2].3, 0x10, "mfHasAttach");
        assert_eq!(want[1].3, 1, "read");
        let counts = |s: &Store| {
            s.with_conn(|c| Ok(crate::store::summary::counts(c, alice.id, inbox)?))
                .expect("counts")
        };
        assert_eq!(counts(&store), (3, 2));
        // Back to the version-1 layout, through a plain connection (the store's own has TEMP
        // triggers on these tables).
        drop(store);
        let c = Connection::open(dir.path().join("mailbox.db")).expect("raw open");
        let names: Vec<(String, String)> = {
            let mut st = c
                .prepare(
                    "SELECT type, name FROM sqlite_schema WHERE type IN ('index', 'trigger')
                     AND sql IS NOT NULL",
                )
                .expect("prepare");
            let rows = st
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .expect("query");
            rows.collect::<rusqlite::Result<_>>().expect("names")
        };
        for (ty, name) in names {
            c.execute_batch(&format!("DROP {ty} \"{name}\";"))
                .expect("drop");
        }
        c.execute_batch(
            "CREATE TABLE m1 (mailbox_id INTEGER NOT NULL, mid INTEGER NOT NULL,
               fid INTEGER NOT NULL, PRIMARY KEY (mailbox_id, mid));
             INSERT INTO m1 SELECT mailbox_id, mid, fid FROM messages ORDER BY rowid;
             DROP TABLE messages; ALTER TABLE m1 RENAME TO messages;
             ALTER TABLE folders DROP COLUMN content_count;
             ALTER TABLE folders DROP COLUMN unread_count;
             PRAGMA user_version = 0;",
        )
        .expect("downgrade");
        drop(c);
        let store = Store::open(dir.path()).expect("reopen migrates");
        assert_eq!(version(&store), VERSION);
        assert_eq!(summaries(&store), want);
        assert_eq!(counts(&store), (3, 2));
    }

    /// A store written by a newer version is refused with a message that says what to do.
    #[test]
    fn newer_store_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        store
            .with_conn(|c| Ok(c.pragma_update(None, "user_version", VERSION + 1)?))
            .expect("bump");
        drop(store);
        let err = Store::open(dir.path()).expect_err("refused");
        assert!(matches!(err, StoreError::Schema { found, .. } if found == VERSION + 1));
        assert!(err.to_string().contains("re-import"), "{err}");
    }
}
