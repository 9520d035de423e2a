//! The one way store work runs in a transaction (issue 11): every `BEGIN`, `COMMIT`,
//! `SAVEPOINT` and `ROLLBACK` of the server is issued here.
//!
//! * [`write`]: a unit of write work. On a connection in autocommit mode it is a transaction
//!   of its own, begun `IMMEDIATE` (the write lock is taken at once, so the unit never fails
//!   half-way for a lock it could not upgrade); inside an open transaction it is a savepoint,
//!   so units nest and an inner failure undoes only the inner work. `Ok` commits (releases),
//!   `Err` rolls back, and so does a panic inside the unit.
//! * [`write_or_decline`]: the same, where the work may also decline with a value (a quota
//!   refusal): declining rolls back like an error but is not one.
//! * [`read`]: a read snapshot (a deferred transaction) for the read-only connections.
//!
//! This module is a leaf: it uses nothing of the store around it.

use std::convert::Infallible;

use rusqlite::Connection;

/// The name of the savepoints of nested units (SQLite resolves a name to the innermost
/// savepoint that has it, so one name serves every depth).
const SAVEPOINT: &str = "oxmapi_tx";

/// Runs the write `f` as one unit: all of it is kept (`Ok`) or none (`Err`, or a panic in
/// `f`). Nested inside an open transaction, the unit is a savepoint of it.
pub(crate) fn write<T, E: From<rusqlite::Error>>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> Result<T, E>,
) -> Result<T, E> {
    write_or_decline(conn, |c| f(c).map(Ok::<T, Infallible>))
        .map(|kept| kept.unwrap_or_else(|never| match never {}))
}

/// Like [`write`], but `f` may decline: `Ok(Err(d))` rolls back everything `f` wrote and is
/// returned as it is. Only `Ok(Ok(v))` is kept.
pub(crate) fn write_or_decline<T, D, E: From<rusqlite::Error>>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> Result<Result<T, D>, E>,
) -> Result<Result<T, D>, E> {
    let unit = Unit::begin(conn, Mode::Write)?;
    let out = f(conn)?;
    if out.is_ok() {
        unit.finish()?;
    }
    // Declined: dropping the unfinished unit rolls it back.
    Ok(out)
}

/// Runs `f` on one snapshot of the database: in a (deferred) read transaction, ended
/// whatever `f` returns. Inside an open transaction `f` simply runs in it.
pub(crate) fn read<T, E: From<rusqlite::Error>>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> Result<T, E>,
) -> Result<T, E> {
    if !conn.is_autocommit() {
        return f(conn);
    }
    let unit = Unit::begin(conn, Mode::Read)?;
    let out = f(conn)?;
    unit.finish()?;
    Ok(out)
}

/// What a [`Unit`] is for.
#[derive(Debug, Clone, Copy)]
enum Mode {
    Write,
    Read,
}

/// How a [`Unit`] ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// A transaction of its own (`COMMIT` / `ROLLBACK`).
    Transaction,
    /// A savepoint of the caller's transaction (`RELEASE` / `ROLLBACK TO` + `RELEASE`).
    Savepoint,
}

/// An open unit of work: rolled back when dropped unless [`Unit::finish`] succeeded (so on
/// an error and on a panic alike).
#[derive(Debug)]
struct Unit<'c> {
    conn: &'c Connection,
    scope: Scope,
    finished: bool,
}

impl<'c> Unit<'c> {
    fn begin(conn: &'c Connection, mode: Mode) -> rusqlite::Result<Self> {
        let (scope, sql) = match (conn.is_autocommit(), mode) {
            (true, Mode::Write) => (Scope::Transaction, "BEGIN IMMEDIATE".to_owned()),
            (true, Mode::Read) => (Scope::Transaction, "BEGIN DEFERRED".to_owned()),
            (false, _) => (Scope::Savepoint, format!("SAVEPOINT {SAVEPOINT}")),
        };
        conn.execute_batch(&sql)?;
        Ok(Self {
            conn,
            scope,
            finished: false,
        })
    }

    /// Commits (releases) the unit. On failure the unit stays open and is rolled back when
    /// dropped.
    fn finish(mut self) -> rusqlite::Result<()> {
        let sql = match self.scope {
            Scope::Transaction => "COMMIT".to_owned(),
            Scope::Savepoint => format!("RELEASE {SAVEPOINT}"),
        };
        self.conn.execute_batch(&sql)?;
        self.finished = true;
        Ok(())
    }
}

impl Drop for Unit<'_> {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let sql = match self.scope {
            Scope::Transaction => "ROLLBACK".to_owned(),
            Scope::Savepoint => format!("ROLLBACK TO {SAVEPOINT}; RELEASE {SAVEPOINT}"),
        };
        // Fails only when SQLite already rolled the transaction back itself (an interrupted
        // write, a full disk) or the connection is broken; the caller's error is what matters.
        let _ = self.conn.execute_batch(&sql);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let c = Connection::open_in_memory().expect("open");
        c.execute_batch("CREATE TABLE t (x INTEGER)")
            .expect("table");
        c
    }

    fn rows(c: &Connection) -> Vec<i64> {
        let mut st = c.prepare("SELECT x FROM t ORDER BY x").expect("prepare");
        st.query_map([], |r| r.get(0))
            .expect("query")
            .collect::<rusqlite::Result<_>>()
            .expect("rows")
    }

    fn put(c: &Connection, x: i64) -> rusqlite::Result<usize> {
        c.execute("INSERT INTO t VALUES (?1)", [x])
    }

    #[test]
    fn ok_commits() {
        let c = db();
        let n = write(&c, |c| {
            put(c, 1)?;
            put(c, 2)?;
            assert!(!c.is_autocommit(), "inside a transaction");
            Ok::<_, rusqlite::Error>(7)
        })
        .expect("write");
        assert_eq!(n, 7);
        assert!(c.is_autocommit(), "transaction ended");
        assert_eq!(rows(&c), [1, 2]);
    }

    #[test]
    fn err_rolls_back_and_is_returned() {
        let c = db();
        let r: Result<(), rusqlite::Error> = write(&c, |c| {
            put(c, 1)?;
            c.execute("INSERT INTO missing VALUES (1)", [])?;
            Ok(())
        });
        assert!(r.is_err());
        assert!(c.is_autocommit(), "transaction ended");
        assert!(rows(&c).is_empty());
    }

    #[test]
    fn nested_failure_rolls_back_only_the_inner_work() {
        let c = db();
        write(&c, |c| {
            put(c, 1)?;
            let inner: rusqlite::Result<()> = write(c, |c| {
                put(c, 2)?;
                Err(rusqlite::Error::QueryReturnedNoRows)
            });
            assert!(inner.is_err());
            assert!(!c.is_autocommit(), "the outer transaction is still open");
            write(c, |c| put(c, 3))?;
            Ok::<_, rusqlite::Error>(())
        })
        .expect("outer");
        assert_eq!(rows(&c), [1, 3]);
    }

    #[test]
    fn outer_failure_rolls_back_released_inner_work() {
        let c = db();
        let r: rusqlite::Result<()> = write(&c, |c| {
            write(c, |c| put(c, 1))?;
            Err(rusqlite::Error::QueryReturnedNoRows)
        });
        assert!(r.is_err());
        assert!(rows(&c).is_empty());
    }

    #[test]
    fn a_panic_inside_rolls_back() {
        let c = db();
        put(&c, 1).expect("seed");
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _: rusqlite::Result<()> = write(&c, |c| {
                put(c, 2)?;
                panic!("inside the unit");
            });
        }));
        assert!(caught.is_err());
        assert!(c.is_autocommit(), "transaction ended");
        assert_eq!(rows(&c), [1]);
        // A panic in a nested unit undoes the inner work; the outer one goes on.
        write(&c, |c| {
            put(c, 3)?;
            let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let _: rusqlite::Result<()> = write(c, |c| {
                    put(c, 4)?;
                    panic!("inside the inner unit");
                });
            }));
            assert!(caught.is_err());
            Ok::<_, rusqlite::Error>(())
        })
        .expect("outer");
        assert_eq!(rows(&c), [1, 3]);
    }

    #[test]
    fn declining_rolls_back_and_returns_the_value() {
        let c = db();
        let r = write_or_decline(&c, |c| {
            put(c, 1)?;
            Ok::<Result<(), &str>, rusqlite::Error>(Err("over quota"))
        })
        .expect("no error");
        assert_eq!(r, Err("over quota"));
        assert!(c.is_autocommit());
        assert!(rows(&c).is_empty());
        let r = write_or_decline(&c, |c| {
            put(c, 2)?;
            Ok::<Result<u8, &str>, rusqlite::Error>(Ok(5))
        })
        .expect("no error");
        assert_eq!(r, Ok(5));
        assert_eq!(rows(&c), [2]);
    }

    #[test]
    fn a_write_unit_takes_the_write_lock_at_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("db");
        let a = Connection::open(&path).expect("a");
        a.execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (x INTEGER)")
            .expect("setup");
        let b = Connection::open(&path).expect("b");
        b.busy_timeout(std::time::Duration::ZERO)
            .expect("no waiting");
        write(&a, |_| {
            // Nothing written yet, but the lock is held: another writer is refused.
            let other: rusqlite::Result<()> = write(&b, |c| put(c, 1).map(drop));
            assert!(other.is_err(), "IMMEDIATE: the second writer must wait");
            Ok::<_, rusqlite::Error>(())
        })
        .expect("write");
        assert!(b.is_autocommit(), "the refused unit left nothing open");
    }

    #[test]
    fn read_sees_one_snapshot() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("db");
        let w = Connection::open(&path).expect("writer");
        w.execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (x INTEGER)")
            .expect("setup");
        put(&w, 1).expect("seed");
        let r = Connection::open(&path).expect("reader");
        let (before, after) = read(&r, |c| {
            let before = rows(c);
            put(&w, 2)?;
            Ok::<_, rusqlite::Error>((before, rows(c)))
        })
        .expect("read");
        assert_eq!(before, [1]);
        assert_eq!(after, [1], "the snapshot does not move");
        assert!(r.is_autocommit(), "snapshot ended");
        assert_eq!(rows(&r), [1, 2]);
    }
}
