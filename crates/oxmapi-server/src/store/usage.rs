//! Bytes stored per mailbox, for the mailbox quota (`Limits::mailbox_quota`).
//!
//! A TEMP table holds, per `mailbox_id`, the bytes of its property values (`props.value`),
//! chunked values (`blobs.data`) and recipient rows (`recipients.props`). It is filled once
//! when the store is opened and kept exact by TEMP triggers on those tables, so every write
//! path (ROPs of any session, delivery, import, raw SQL through
//! [`Store::with_conn`](super::Store::with_conn)) is counted and a quota check is one indexed
//! lookup. Like [`super::changes`], it lives in this connection's memory only: writes through
//! another connection to the same file are seen at the next open.
//!
//! REPLACE conflict resolution deletes rows without firing delete triggers unless
//! `recursive_triggers` is on; `Store::open` turns it on. The trigger bodies never rely on a
//! conflict clause: an outer statement's ON CONFLICT policy (INSERT OR REPLACE) would
//! override it.

use rusqlite::{Connection, OptionalExtension};

use super::tx;

/// The TEMP table: bytes per mailbox.
const TABLE: &str = "oxmapi_mailbox_usage";

/// Creates the table and its triggers and counts what is stored; runs once per connection
/// (from `Store::open`).
pub(crate) fn install(conn: &Connection) -> rusqlite::Result<()> {
    let mut sql = format!(
        "CREATE TEMP TABLE IF NOT EXISTS {TABLE} (mailbox_id INTEGER PRIMARY KEY,
           bytes INTEGER NOT NULL);
         DELETE FROM temp.{TABLE};
         INSERT INTO temp.{TABLE} (mailbox_id, bytes)
           SELECT mailbox_id, SUM(n) FROM (
             SELECT mailbox_id, length(value) AS n FROM main.props
             UNION ALL SELECT mailbox_id, length(data) FROM main.blobs
             UNION ALL SELECT mailbox_id, length(props) FROM main.recipients)
           GROUP BY mailbox_id;"
    );
    for (table, column) in [
        ("props", "value"),
        ("blobs", "data"),
        ("recipients", "props"),
    ] {
        let add = |row: &str, sign: &str| {
            format!(
                "INSERT INTO {TABLE} (mailbox_id, bytes) SELECT {row}.mailbox_id, 0
                   WHERE NOT EXISTS (SELECT 1 FROM {TABLE} WHERE mailbox_id = {row}.mailbox_id);
                 UPDATE {TABLE} SET bytes = bytes {sign} length({row}.{column})
                   WHERE mailbox_id = {row}.mailbox_id;"
            )
        };
        let (plus_new, minus_old) = (add("NEW", "+"), add("OLD", "-"));
        sql.push_str(&format!(
            "CREATE TEMP TRIGGER IF NOT EXISTS {TABLE}_{table}_ai AFTER INSERT ON main.{table}
               FOR EACH ROW BEGIN {plus_new} END;
             CREATE TEMP TRIGGER IF NOT EXISTS {TABLE}_{table}_ad AFTER DELETE ON main.{table}
               FOR EACH ROW BEGIN {minus_old} END;
             CREATE TEMP TRIGGER IF NOT EXISTS {TABLE}_{table}_au AFTER UPDATE ON main.{table}
               FOR EACH ROW BEGIN {minus_old} {plus_new} END;"
        ));
    }
    conn.execute_batch(&sql)
}

/// Bytes stored for `mailbox_id` (0 = the public store), working copies included.
pub fn mailbox_bytes(conn: &Connection, mailbox_id: i64) -> rusqlite::Result<u64> {
    let n: Option<i64> = conn
        .prepare_cached(&format!(
            "SELECT bytes FROM temp.{TABLE} WHERE mailbox_id = ?1"
        ))?
        .query_row([mailbox_id], |r| r.get(0))
        .optional()?;
    Ok(n.map_or(0, i64::unsigned_abs))
}

/// A write refused because it would have taken a mailbox past its quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("mailbox {mailbox_id} would hold {would_hold} bytes, over its quota of {quota}")]
pub struct OverQuota {
    /// The mailbox (`users.id`, 0 = the public store).
    pub mailbox_id: i64,
    /// Bytes it held before the write.
    pub used: u64,
    /// Bytes it would have held after it.
    pub would_hold: u64,
    /// [`crate::Limits::mailbox_quota`].
    pub quota: u64,
}

/// `Some` when mailbox `mailbox_id` now holds more than `quota` bytes *and* more than
/// `before` (what it held before the caller's write): a write that frees space, or leaves the
/// usage as it was, is never refused, even in a mailbox already over its quota.
pub fn over_quota(
    conn: &Connection,
    mailbox_id: i64,
    quota: u64,
    before: u64,
) -> rusqlite::Result<Option<OverQuota>> {
    let now = mailbox_bytes(conn, mailbox_id)?;
    Ok((now > quota && now > before).then_some(OverQuota {
        mailbox_id,
        used: before,
        would_hold: now,
        quota,
    }))
}

/// Runs the write `f` as one write unit ([`tx::write_or_decline`]) and keeps it only if
/// mailbox `mailbox_id` is then within `quota` (see [`over_quota`]); otherwise everything `f`
/// wrote is rolled back and `Ok(Err(OverQuota))` returned. An error of `f` rolls its writes back too. The check
/// measures what was really stored (the TEMP usage table follows the savepoint), so it is
/// exact whatever `f` does: copies of sparse values, recipients, attachments.
///
/// Works inside or outside the caller's transaction (inside, the unit is a savepoint of it).
pub fn within_quota<T, E: From<rusqlite::Error>>(
    conn: &Connection,
    mailbox_id: i64,
    quota: u64,
    f: impl FnOnce(&Connection) -> Result<T, E>,
) -> Result<Result<T, OverQuota>, E> {
    let before = mailbox_bytes(conn, mailbox_id)?;
    tx::write_or_decline(conn, |c| {
        let v = f(c)?;
        Ok(match over_quota(c, mailbox_id, quota, before)? {
            None => Ok(v),
            Some(over) => Err(over),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    /// The exact sum over the three tables, computed the slow way.
    fn recount(c: &Connection, mb: i64) -> u64 {
        c.query_row(
            "SELECT COALESCE(SUM(n), 0) FROM (
               SELECT length(value) AS n FROM props WHERE mailbox_id = ?1
               UNION ALL SELECT length(data) FROM blobs WHERE mailbox_id = ?1
               UNION ALL SELECT length(props) FROM recipients WHERE mailbox_id = ?1)",
            [mb],
            |r| r.get::<_, i64>(0),
        )
        .expect("recount")
        .unsigned_abs()
    }

    #[test]
    fn usage_follows_inserts_updates_replaces_and_deletes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        store
            .with_conn(|c| {
                let base = mailbox_bytes(c, 7)?;
                assert_eq!(base, 0);
                c.execute("INSERT INTO props VALUES (7, 1, 1, 1, zeroblob(100))", [])?;
                c.execute(
                    "INSERT INTO blobs VALUES (7, 1, 1, 2, 0, zeroblob(1000))",
                    [],
                )?;
                c.execute(
                    "INSERT INTO recipients VALUES (7, 1, 0, 1, zeroblob(10))",
                    [],
                )?;
                assert_eq!(mailbox_bytes(c, 7)?, 1110);
                c.execute(
                    "UPDATE blobs SET data = zeroblob(10) WHERE mailbox_id = 7",
                    [],
                )?;
                assert_eq!(mailbox_bytes(c, 7)?, 120);
                c.execute(
                    "INSERT OR REPLACE INTO props VALUES (7, 1, 1, 1, zeroblob(50))",
                    [],
                )?;
                assert_eq!(mailbox_bytes(c, 7)?, 70);
                c.execute("UPDATE props SET mailbox_id = 8 WHERE mailbox_id = 7", [])?;
                assert_eq!((mailbox_bytes(c, 7)?, mailbox_bytes(c, 8)?), (20, 50));
                c.execute("DELETE FROM recipients", [])?;
                assert_eq!(mailbox_bytes(c, 7)?, recount(c, 7));
                assert_eq!(mailbox_bytes(c, 8)?, recount(c, 8));
                Ok(())
            })
            .expect("sql");
        drop(store);
        // Reopening counts what is stored.
        let store = Store::open(dir.path()).expect("reopen");
        store
            .with_conn(|c| {
                assert_eq!(mailbox_bytes(c, 7)?, 10);
                assert_eq!(mailbox_bytes(c, 8)?, 50);
                Ok(())
            })
            .expect("sql");
    }

    #[test]
    fn within_quota_keeps_or_rolls_back_exactly() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        store
            .with_conn(|c| {
                let put = |c: &Connection, id: i64, n: i64| {
                    c.execute(
                        "INSERT INTO props VALUES (7, 1, ?1, 1, zeroblob(?2))",
                        [id, n],
                    )
                };
                // Within the quota: kept, outside any transaction.
                let r = within_quota(c, 7, 1000, |c| put(c, 1, 600))?;
                assert_eq!(r, Ok(1));
                assert_eq!(mailbox_bytes(c, 7)?, 600);
                // Past it: rolled back, usage as before.
                let r = within_quota(c, 7, 1000, |c| put(c, 2, 500))?;
                assert_eq!(
                    r,
                    Err(OverQuota {
                        mailbox_id: 7,
                        used: 600,
                        would_hold: 1100,
                        quota: 1000
                    })
                );
                assert_eq!(mailbox_bytes(c, 7)?, 600);
                assert_eq!(recount(c, 7), 600);
                // Inside the caller's transaction, nested: the inner refusal leaves the outer
                // write, the caller's rollback removes it.
                let given_up: rusqlite::Result<()> = tx::write(c, |c| {
                    let r = within_quota(c, 7, 1000, |c| {
                        put(c, 3, 300)?;
                        within_quota(c, 7, 1000, |c| put(c, 4, 200))
                    })?;
                    assert!(matches!(
                        r,
                        Ok(Err(OverQuota {
                            would_hold: 1100,
                            ..
                        }))
                    ));
                    assert_eq!(mailbox_bytes(c, 7)?, 900);
                    Err(rusqlite::Error::InvalidQuery)
                });
                assert!(given_up.is_err());
                assert_eq!(mailbox_bytes(c, 7)?, 600);
                // A mailbox over its quota (lowered since) may still shrink or stay level.
                let r = within_quota(c, 7, 100, |c| {
                    c.execute(
                        "UPDATE props SET value = zeroblob(599) WHERE mailbox_id = 7",
                        [],
                    )
                })?;
                assert_eq!(r, Ok(1));
                // An error of the write rolls it back and is returned.
                let r = within_quota(c, 7, 10_000, |c| {
                    put(c, 5, 10)?;
                    put(c, 5, 10)
                });
                assert!(r.is_err());
                assert_eq!(mailbox_bytes(c, 7)?, 599);
                assert_eq!(recount(c, 7), 599);
                Ok(())
            })
            .expect("sql");
    }
}
