//! Per-folder change numbers: what changed in the store, and when, for whoever watches a
//! folder (the mailbox layer turns them into table notifications; nothing here knows of
//! tables or ROPs).
//!
//! Every write to `messages`, `folders` or `props` bumps, through TEMP triggers, the change
//! number of the folders whose contents or subfolders it changed, so no write path (ROPs of
//! any session, delivery, submit, import, raw SQL on [`Store::with_conn`](super::Store::with_conn))
//! can forget to. Change numbers come from one counter that only grows: a watcher remembers
//! the [`latest`] number it has seen and asks whether a folder's number is above it.
//!
//! The counters live in a TEMP table: in memory of this connection only, never in
//! `mailbox.db`, gone when the store is closed (nothing watches across a restart). Writes
//! made through another connection to the same file (another process) are not seen.

use rusqlite::{Connection, OptionalExtension};

/// What changed about a folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Its messages: one was added, removed, moved in or out, or had a property changed.
    Contents = 1,
    /// Its subfolders: one was added, removed, moved, renamed, had a property changed, or
    /// its message or subfolder counts changed.
    Hierarchy = 2,
}

/// The TEMP table and its triggers; runs once per connection (from `Store::open`).
pub(crate) fn install(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(&install_sql())
}

/// The highest change number handed out so far (0 before the first change).
pub fn latest(conn: &Connection) -> rusqlite::Result<i64> {
    conn.prepare_cached(&format!("SELECT coalesce(max(seq), 0) FROM temp.{TABLE}"))?
        .query_row([], |r| r.get(0))
}

/// The change number of the last change of `scope` to folder `fid` of `mailbox_id`
/// (0 = public store), or 0 if it has not changed since the store was opened.
pub fn folder_change(
    conn: &Connection,
    mailbox_id: i64,
    fid: i64,
    scope: Scope,
) -> rusqlite::Result<i64> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT seq FROM temp.{TABLE} WHERE mailbox_id = ?1 AND fid = ?2 AND scope = ?3"
        ))?
        .query_row([mailbox_id, fid, scope as i64], |r| r.get(0))
        .optional()?
        .unwrap_or(0))
}

/// The TEMP table: the last change number per (folder, scope).
const TABLE: &str = "oxmapi_folder_changes";

/// `props.kind` of folders and of messages (agreed schema).
const KIND_FOLDER: i64 = 0;
const KIND_MESSAGE: i64 = 1;
/// The property ID of PidTagMessageFlags (its read bit counts in the parent's unread count).
const MESSAGE_FLAGS_ID: i64 = 0x0E07;

fn install_sql() -> String {
    let c = Scope::Contents as i64;
    let h = Scope::Hierarchy as i64;
    let mut sql = format!(
        "CREATE TEMP TABLE IF NOT EXISTS {TABLE} (mailbox_id INTEGER NOT NULL,
           fid INTEGER NOT NULL, scope INTEGER NOT NULL, seq INTEGER NOT NULL,
           PRIMARY KEY (mailbox_id, fid, scope));
         CREATE INDEX IF NOT EXISTS temp.{TABLE}_seq ON {TABLE} (seq);"
    );
    // (name, event, WHEN clause, statements)
    let triggers: [(&str, &str, &str, String); 9] = [
        (
            "messages_ai",
            "INSERT ON messages",
            "",
            [message("NEW", c), message_parent("NEW")].concat(),
        ),
        (
            "messages_ad",
            "DELETE ON messages",
            "",
            [message("OLD", c), message_parent("OLD")].concat(),
        ),
        (
            "messages_au",
            // A message's summary columns (`super::summary`) are derived from its values,
            // whose changes bump through `props_*`; only a move is a change of its own.
            "UPDATE OF fid ON messages",
            "",
            [
                message("OLD", c),
                message("NEW", c),
                message_parent("OLD"),
                message_parent("NEW"),
            ]
            .concat(),
        ),
        (
            "folders_ai",
            "INSERT ON folders",
            "",
            [
                bump("NEW.mailbox_id", "NEW.parent_fid", h),
                parent_of("NEW.mailbox_id", "NEW.parent_fid", "1"),
            ]
            .concat(),
        ),
        (
            "folders_ad",
            "DELETE ON folders",
            "",
            [
                bump("OLD.mailbox_id", "OLD.parent_fid", h),
                parent_of("OLD.mailbox_id", "OLD.parent_fid", "1"),
                bump("OLD.mailbox_id", "OLD.fid", h),
                bump("OLD.mailbox_id", "OLD.fid", c),
            ]
            .concat(),
        ),
        (
            "folders_au",
            "UPDATE ON folders",
            "",
            [
                bump("OLD.mailbox_id", "OLD.parent_fid", h),
                bump("NEW.mailbox_id", "NEW.parent_fid", h),
                parent_of("OLD.mailbox_id", "OLD.parent_fid", MOVED),
                parent_of("NEW.mailbox_id", "NEW.parent_fid", MOVED),
            ]
            .concat(),
        ),
        ("props_ai", "INSERT ON props", "NEW", props("NEW")),
        ("props_ad", "DELETE ON props", "OLD", props("OLD")),
        ("props_au", "UPDATE ON props", "NEW", props("NEW")),
    ];
    for (name, event, row, body) in triggers {
        let when = if row.is_empty() {
            String::new()
        } else {
            format!("WHEN {row}.kind IN ({KIND_FOLDER}, {KIND_MESSAGE})")
        };
        sql.push_str(&format!(
            "CREATE TEMP TRIGGER IF NOT EXISTS {TABLE}_{name} AFTER {event} FOR EACH ROW {when}
             BEGIN {body} END;"
        ));
    }
    sql
}

/// The next change number (a subquery).
fn next() -> String {
    format!("(SELECT coalesce(max(seq), 0) + 1 FROM {TABLE})")
}

/// Bumps `scope` of folder (`mb`, `fid`), unless `fid` is NULL. Trigger bodies may only name
/// the table they write unqualified; TEMP names resolve first.
fn bump(mb: &str, fid: &str, scope: i64) -> String {
    format!(
        "INSERT OR REPLACE INTO {TABLE} (mailbox_id, fid, scope, seq)
           SELECT {mb}, {fid}, {scope}, {next} WHERE {fid} IS NOT NULL;",
        next = next()
    )
}

/// Bumps `scope` of the folder of the `messages` row `row` (NEW or OLD).
fn message(row: &str, scope: i64) -> String {
    bump(&format!("{row}.mailbox_id"), &format!("{row}.fid"), scope)
}

/// Bumps the hierarchy of the parent of the folder of a `messages` row: the folder's
/// message counts are columns of its parent's hierarchy table.
fn message_parent(row: &str) -> String {
    parent_of(&format!("{row}.mailbox_id"), &format!("{row}.fid"), "1")
}

/// A `folders` UPDATE that changed the parent (not a rename or a class change).
const MOVED: &str = "OLD.parent_fid IS NOT NEW.parent_fid";

/// When `cond` holds, bumps the hierarchy of the parent of folder (`mb`, `fid`): the
/// folder's row in its parent's hierarchy table changed (its message counts, or its
/// subfolder count and PidTagSubfolders).
fn parent_of(mb: &str, fid: &str, cond: &str) -> String {
    format!(
        "INSERT OR REPLACE INTO {TABLE} (mailbox_id, fid, scope, seq)
           SELECT mailbox_id, parent_fid, {h}, {next} FROM folders
           WHERE mailbox_id = {mb} AND fid = {fid} AND parent_fid IS NOT NULL AND ({cond});",
        h = Scope::Hierarchy as i64,
        next = next()
    )
}

/// A property of a committed message (its folder's contents; its parent's hierarchy when the
/// read flag may have changed) or of a folder (its parent's hierarchy). Working copies and
/// embedded messages are in no folder, so they bump nothing.
fn props(row: &str) -> String {
    let (c, h) = (Scope::Contents as i64, Scope::Hierarchy as i64);
    let next = next();
    format!(
        "INSERT OR REPLACE INTO {TABLE} (mailbox_id, fid, scope, seq)
           SELECT mailbox_id, fid, {c}, {next} FROM messages
           WHERE {row}.kind = {KIND_MESSAGE} AND mailbox_id = {row}.mailbox_id
             AND mid = {row}.object_id;
         INSERT OR REPLACE INTO {TABLE} (mailbox_id, fid, scope, seq)
           SELECT f.mailbox_id, f.parent_fid, {h}, {next} FROM messages m
           JOIN folders f ON f.mailbox_id = m.mailbox_id AND f.fid = m.fid
           WHERE {row}.kind = {KIND_MESSAGE} AND ({row}.tag >> 16) = {MESSAGE_FLAGS_ID}
             AND m.mailbox_id = {row}.mailbox_id AND m.mid = {row}.object_id
             AND f.parent_fid IS NOT NULL;
         INSERT OR REPLACE INTO {TABLE} (mailbox_id, fid, scope, seq)
           SELECT mailbox_id, parent_fid, {h}, {next} FROM folders
           WHERE {row}.kind = {KIND_FOLDER} AND mailbox_id = {row}.mailbox_id
             AND fid = {row}.object_id AND parent_fid IS NOT NULL;"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    /// Message inserts, moves, property writes and folder creation bump the folders they
    /// touch, and only those; the counter only grows.
    #[test]
    fn writes_bump_the_folders_they_touch() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        store.init_org("Org", "example.test", false).expect("org");
        let alice = store.add_user("alice", "Alice", "pw").expect("alice");
        let inbox = store
            .special_folder(alice.id, 5)
            .expect("sql")
            .expect("inbox") as i64;
        let drafts = store
            .special_folder(alice.id, 25)
            .expect("sql")
            .expect("drafts") as i64;
        store
            .with_conn(|c| {
                let parent: i64 = c.query_row(
                    "SELECT parent_fid FROM folders WHERE mailbox_id = ?1 AND fid = ?2",
                    [alice.id, inbox],
                    |r| r.get(0),
                )?;
                let at = |fid, scope| folder_change(c, alice.id, fid, scope);
                let start = latest(c)?;
                c.execute(
                    "INSERT INTO messages (mailbox_id, mid, fid) VALUES (?1, 77, ?2)",
                    [alice.id, inbox],
                )?;
                let after_insert = latest(c)?;
                assert!(after_insert > start);
                assert!(at(inbox, Scope::Contents)? > start);
                assert!(at(parent, Scope::Hierarchy)? > start, "counts changed");
                assert!(at(drafts, Scope::Contents)? <= start);

                c.execute(
                    "INSERT INTO props VALUES (?1, 1, 77, ?2, x'00')",
                    [alice.id, 0x0037_001F],
                )?;
                assert!(at(inbox, Scope::Contents)? > after_insert);
                assert!(at(parent, Scope::Hierarchy)? <= after_insert, "not a count");
                c.execute(
                    "INSERT INTO props VALUES (?1, 1, -5, ?2, x'00')",
                    [alice.id, 0x0E07_0003],
                )?;
                let before_move = latest(c)?;
                assert_eq!(at(inbox, Scope::Contents)?, before_move, "a working copy");
                c.execute(
                    "UPDATE messages SET fid = ?2 WHERE mailbox_id = ?1 AND mid = 77",
                    [alice.id, drafts],
                )?;
                assert!(at(inbox, Scope::Contents)? > before_move);
                assert!(at(drafts, Scope::Contents)? > before_move);

                let before_folder = latest(c)?;
                c.execute(
                    "INSERT INTO folders (mailbox_id, fid, parent_fid, display_name, container_class, special) VALUES (?1, 999, ?2, 'Sub', 'IPF.Note', NULL)",
                    [alice.id, inbox],
                )?;
                assert!(at(inbox, Scope::Hierarchy)? > before_folder);
                assert!(at(inbox, Scope::Contents)? <= before_folder);
                Ok(())
            })
            .expect("sql");
    }
}
