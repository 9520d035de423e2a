//! The [`Store`] handle: the writer connection behind a fair lock, the pool of read-only
//! connections, the time limits of store work, opening (schema migration, file modes) and the
//! organization row.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension};

use super::error::StoreError;
use super::{changes, folders, messages, schema, summary, tx, usage};

/// The organization row (table `org`).
#[derive(Clone, PartialEq, Eq)]
pub struct OrgRecord {
    /// Organization name, the `/o=` of every legacy DN.
    pub name: String,
    /// Mail domain (`example.test`).
    pub domain: String,
    /// Whether the organization has public folders.
    pub public_folders: bool,
    /// The server GUID (wire byte order), returned by NSPI Bind.
    pub server_guid: [u8; 16],
    /// The public store's replica GUID (wire byte order).
    pub public_replica_guid: [u8; 16],
}

impl fmt::Debug for OrgRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OrgRecord")
            .field("name", &self.name)
            .field("domain", &self.domain)
            .field("public_folders", &self.public_folders)
            .finish_non_exhaustive()
    }
}

impl OrgRecord {
    /// The legacy DN prefix of the organization's recipients:
    /// `/o=<org>/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients`.
    pub fn recipients_dn(&self) -> String {
        format!(
            "/o={}/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients",
            self.name
        )
    }
}

/// A handle on the mailbox database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    pub(super) conn: Arc<FairConn>,
    readers: Arc<ReadPool>,
    dir: PathBuf,
    watch: Arc<Watch>,
}

/// Read-only connections beside the writer: in WAL mode a reader sees the last committed
/// state and neither waits for the writer nor holds it up, so listing or sorting a big table
/// never queues another session's request behind it. Idle ones are kept for reuse.
struct ReadPool {
    path: PathBuf,
    idle: Mutex<Vec<Reader>>,
}

/// One read-only connection with its own time limit (see [`Watch`]).
struct Reader {
    conn: Connection,
    watch: Arc<Watch>,
}

/// Bytes of the database file each connection maps (SQLite reads pages through the mapping).
const MMAP_SIZE: i64 = 256 * 1024 * 1024;

/// Idle read connections kept open.
const MAX_IDLE_READERS: usize = 8;

impl ReadPool {
    fn take(&self) -> Result<Reader, StoreError> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        if let Some(r) = idle {
            return Ok(r);
        }
        let mut conn = Connection::open_with_flags(
            &self.path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.pragma_update(None, "query_only", true)?;
        // Pages straight from the file's mapping (no copy per page read) and a larger cache:
        // a reader lists whole folders.
        conn.pragma_update(None, "mmap_size", MMAP_SIZE)?;
        conn.pragma_update(None, "cache_size", -16_384)?;
        let watch = Arc::new(Watch::new());
        let w = watch.clone();
        conn.progress_handler(PROGRESS_OPS, Some(move || w.expired()))?;
        Ok(Reader { conn, watch })
    }

    fn give_back(&self, r: Reader) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < MAX_IDLE_READERS && r.conn.is_autocommit() {
            idle.push(r);
        }
    }
}

/// The connection behind a FIFO lock: callers get it in the order they asked. Work that
/// takes and releases the connection row by row (a long sort or restriction) then cannot
/// starve a short request of another session, as `std`'s `Mutex` allows (the releasing
/// thread usually takes it again before a woken waiter runs).
pub(super) struct FairConn {
    conn: Mutex<Connection>,
    /// Tickets handed out and the ticket whose turn it is.
    queue: Mutex<Tickets>,
    turn: Condvar,
}

#[derive(Default)]
struct Tickets {
    next: u64,
    serving: u64,
}

/// The locked connection; the next ticket's turn comes when it is dropped (also on a panic).
pub(super) struct ConnGuard<'a> {
    conn: MutexGuard<'a, Connection>,
    fair: &'a FairConn,
}

impl FairConn {
    fn new(conn: Connection) -> Self {
        Self {
            conn: Mutex::new(conn),
            queue: Mutex::new(Tickets::default()),
            turn: Condvar::new(),
        }
    }

    /// Waits for this caller's turn, then locks the connection.
    pub(super) fn lock(&self) -> Result<ConnGuard<'_>, StoreError> {
        // The ticket counters stay consistent whatever panicked: poisoning is ignored.
        let mut q = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        let ticket = q.next;
        q.next += 1;
        while q.serving != ticket {
            q = self.turn.wait(q).unwrap_or_else(PoisonError::into_inner);
        }
        drop(q);
        match self.conn.lock() {
            Ok(conn) => Ok(ConnGuard { conn, fair: self }),
            Err(_) => {
                self.next_turn();
                Err(StoreError::Poisoned)
            }
        }
    }

    fn next_turn(&self) {
        self.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .serving += 1;
        self.turn.notify_all();
    }
}

impl Drop for ConnGuard<'_> {
    fn drop(&mut self) {
        // Whatever the holder wrote, the next holder sees fresh summaries. A failure leaves
        // them marked stale: they are refreshed at the next release or the next open.
        if !std::thread::panicking()
            && let Err(e) = summary::refresh_stale(&self.conn)
        {
            tracing::warn!(error = %e, "refreshing message summaries failed");
        }
        // The connection itself is unlocked right after this, when `conn` drops; only the
        // next ticket's holder locks it.
        self.fair.next_turn();
    }
}

impl Deref for ConnGuard<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        &self.conn
    }
}

impl DerefMut for ConnGuard<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }
}

/// What the connection's SQLite hooks share with [`Store`]: the time limit of the current
/// holder (checked by the progress handler) and the number of committed transactions (counted
/// by the commit hook).
#[derive(Debug)]
struct Watch {
    epoch: Instant,
    /// Nanoseconds after `epoch` from which running statements are interrupted; 0: no limit.
    deadline: AtomicU64,
    /// Transactions committed on the connection so far.
    commits: AtomicU64,
}

/// SQLite virtual machine instructions between two progress handler calls (a few
/// microseconds of work).
const PROGRESS_OPS: std::ffi::c_int = 1000;

impl Watch {
    fn new() -> Self {
        Self {
            epoch: Instant::now(),
            deadline: AtomicU64::new(0),
            commits: AtomicU64::new(0),
        }
    }

    /// The progress handler: true (interrupt) once the armed deadline has passed.
    fn expired(&self) -> bool {
        let d = self.deadline.load(Ordering::Relaxed);
        d != 0 && nanos(self.epoch.elapsed()) >= d
    }

    /// Arms the deadline until the returned guard is dropped.
    fn arm(&self, deadline: Instant) -> Armed<'_> {
        let at = nanos(deadline.saturating_duration_since(self.epoch)).max(1);
        self.deadline.store(at, Ordering::Relaxed);
        Armed(self)
    }
}

/// Disarms the [`Watch`] deadline when dropped (also on a panic inside the holder).
struct Armed<'a>(&'a Watch);

impl Drop for Armed<'_> {
    fn drop(&mut self) {
        self.0.deadline.store(0, Ordering::Relaxed);
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// What one [`Store::with_conn_limited`] call used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Hold {
    /// How long the connection was held.
    pub held: Duration,
    /// Transactions committed meanwhile (by the caller: nobody else holds the connection).
    pub commits: u64,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store").field("dir", &self.dir).finish()
    }
}

impl Store {
    /// Opens (creating if needed) `<dir>/mailbox.db` in WAL mode with the agreed schema.
    ///
    /// The directory is created 0700 and the database files are set to 0600 (see the module
    /// documentation: the store holds password-equivalent NT hashes).
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, StoreError> {
        let dir = dir.as_ref().to_path_buf();
        let io = |source| StoreError::Io {
            path: dir.clone(),
            source,
        };
        create_private_dir(&dir).map_err(io)?;
        let db = dir.join("mailbox.db");
        let existed = db.exists();
        let mut conn = Connection::open(&db)?;
        restrict_file(&db, existed).map_err(io)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // In WAL mode NORMAL never corrupts the file; a power loss may lose the last
        // commits, not the database. FULL would fsync on every commit (every saved message).
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // REPLACE conflict resolution fires the delete triggers of `usage` too.
        conn.pragma_update(None, "recursive_triggers", "ON")?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.pragma_update(None, "mmap_size", MMAP_SIZE)?;
        schema::migrate(&conn)?;
        messages::drop_working_copies(&conn)?;
        summary::refresh_stale(&conn)?;
        changes::install(&conn)?;
        usage::install(&conn)?;
        for suffix in ["-wal", "-shm"] {
            let mut name = db.clone().into_os_string();
            name.push(suffix);
            restrict_file(Path::new(&name), existed).map_err(io)?;
        }
        tighten_dir(&dir, &db);
        let watch = Arc::new(Watch::new());
        let w = watch.clone();
        conn.progress_handler(PROGRESS_OPS, Some(move || w.expired()))?;
        let w = watch.clone();
        conn.commit_hook(Some(move || {
            w.commits.fetch_add(1, Ordering::Relaxed);
            false
        }))?;
        Ok(Self {
            conn: Arc::new(FairConn::new(conn)),
            readers: Arc::new(ReadPool {
                path: db,
                idle: Mutex::new(Vec::new()),
            }),
            dir,
            watch,
        })
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Runs `f` with the connection locked (for the ROP handlers' own queries).
    pub fn with_conn<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut guard = self.lock()?;
        f(&mut guard)
    }

    /// Runs `f` with the connection locked, for at most `limit`: a statement still running
    /// when `limit` has passed since the lock was taken is interrupted (SQLITE_INTERRUPT, see
    /// [`StoreError::is_interrupted`]) and its transaction rolled back. Also says how long the
    /// connection was held and how many transactions `f` committed.
    pub fn with_conn_limited<T>(
        &self,
        limit: Duration,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
    ) -> (Result<T, StoreError>, Hold) {
        let mut guard = match self.lock() {
            Ok(g) => g,
            Err(e) => return (Err(e), Hold::default()),
        };
        let started = Instant::now();
        let commits = self.watch.commits.load(Ordering::Relaxed);
        let out = {
            let _armed = self.watch.arm(started + limit);
            f(&mut guard)
        };
        let hold = Hold {
            held: started.elapsed(),
            commits: self
                .watch
                .commits
                .load(Ordering::Relaxed)
                .saturating_sub(commits),
        };
        (out, hold)
    }

    /// Runs `f` on a read-only connection (see [`ReadPool`]) for at most `limit`, like
    /// [`Self::with_conn_limited`] (no commits: `Hold::commits` is 0). `f` sees one snapshot
    /// of the store: it runs in a read transaction.
    pub fn with_read_limited<T>(
        &self,
        limit: Duration,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> (Result<T, StoreError>, Hold) {
        self.read(Some(limit), f)
    }

    fn read<T>(
        &self,
        limit: Option<Duration>,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> (Result<T, StoreError>, Hold) {
        let reader = match self.readers.take() {
            Ok(r) => r,
            Err(e) => return (Err(e), Hold::default()),
        };
        let started = Instant::now();
        let out = {
            let _armed = limit.map(|l| reader.watch.arm(started + l));
            tx::read(&reader.conn, f)
        };
        let hold = Hold {
            held: started.elapsed(),
            commits: 0,
        };
        self.readers.give_back(reader);
        (out, hold)
    }

    /// Runs `f` on a read-only connection without a time limit (see
    /// [`Self::with_read_limited`]).
    pub fn with_read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.read(None, f).0
    }

    /// Creates the organization row unless it exists (then nothing changes: idempotent);
    /// creates the public store when `public_folders` is set.
    pub fn init_org(
        &self,
        name: &str,
        domain: &str,
        public_folders: bool,
    ) -> Result<(), StoreError> {
        self.with_tx(|tx| {
            let exists: bool = tx
                .query_row("SELECT 1 FROM org WHERE id = 1", [], |_| Ok(true))
                .optional()?
                .unwrap_or(false);
            if exists {
                return Ok(());
            }
            tx.execute(
                "INSERT INTO org (id, name, domain, public_folders, server_guid, public_replica_guid,
                 public_next_globcnt) VALUES (1, ?1, ?2, ?3, ?4, ?5, 1)",
                rusqlite::params![
                    name,
                    domain,
                    public_folders,
                    new_guid().as_slice(),
                    new_guid().as_slice()
                ],
            )?;
            if public_folders {
                folders::create_public(tx)?;
            }
            Ok(())
        })
    }

    /// The organization, if initialized.
    pub fn org(&self) -> Result<Option<OrgRecord>, StoreError> {
        let conn = self.lock()?;
        Ok(conn
            .query_row(
                "SELECT name, domain, public_folders, server_guid, public_replica_guid FROM org
                 WHERE id = 1",
                [],
                |r| {
                    Ok(OrgRecord {
                        name: r.get(0)?,
                        domain: r.get(1)?,
                        public_folders: r.get(2)?,
                        server_guid: r.get(3)?,
                        public_replica_guid: r.get(4)?,
                    })
                },
            )
            .optional()?)
    }

    /// Switches public folders on or off; switching on creates the public store if missing.
    /// Switching off keeps the public store's rows (they are simply not offered).
    pub fn set_public_folders(&self, enabled: bool) -> Result<(), StoreError> {
        self.with_tx(|tx| {
            let n = tx.execute("UPDATE org SET public_folders = ?1 WHERE id = 1", [enabled])?;
            if n == 0 {
                return Err(StoreError::NoOrg);
            }
            if enabled {
                folders::create_public(tx)?;
            }
            Ok(())
        })
    }

    /// The folder ID (wire u64) of special folder `special` of `mailbox_id` (0 = public store).
    pub fn special_folder(&self, mailbox_id: i64, special: i64) -> Result<Option<u64>, StoreError> {
        let conn = self.lock()?;
        let fid: Option<i64> = conn
            .query_row(
                "SELECT fid FROM folders WHERE mailbox_id = ?1 AND special = ?2",
                [mailbox_id, special],
                |r| r.get(0),
            )
            .optional()?;
        Ok(fid.map(i64::cast_unsigned))
    }

    pub(super) fn lock(&self) -> Result<ConnGuard<'_>, StoreError> {
        self.conn.lock()
    }

    /// Runs `f` as one write unit ([`tx::write`]) on the locked writer connection, the stale
    /// summaries it left refreshed in the same unit.
    pub(super) fn with_tx<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let conn = self.lock()?;
        tx::write(&conn, |c| {
            let out = f(c)?;
            // Summaries in the same transaction (not in one of their own when the lock passes on).
            summary::refresh_stale(c)?;
            Ok(out)
        })
    }
}

/// Creates `dir` (and missing parents) with mode 0700.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir)
}

/// Sets a store file to 0600 whatever the umask (an absent file is fine); warns when a file
/// that `existed` before this open was more open.
fn restrict_file(path: &Path, existed: bool) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = match std::fs::metadata(path) {
            Ok(m) => m.permissions().mode(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        if mode & 0o7777 != 0o600 {
            if existed && mode & 0o077 != 0 {
                tracing::warn!(
                    path = %path.display(),
                    mode = %format!("{:o}", mode & 0o7777),
                    "store file was readable by others; setting it to 0600"
                );
            }
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    #[cfg(not(unix))]
    let _ = (path, existed);
    Ok(())
}

/// Removes group and other access from an existing data directory that has it, when it
/// belongs to the owner of `db` (the store file just opened, so: to us); otherwise only
/// warns. Never fails the open: the files themselves are 0600.
fn tighten_dir(dir: &Path, db: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let (Ok(d), Ok(f)) = (std::fs::metadata(dir), std::fs::metadata(db)) else {
            return;
        };
        let mode = d.permissions().mode();
        if mode & 0o077 == 0 {
            return;
        }
        let shown = format!("{:o}", mode & 0o7777);
        if d.uid() != f.uid() {
            tracing::warn!(
                dir = %dir.display(),
                mode = %shown,
                "the data directory is accessible to others and not ours; left unchanged"
            );
            return;
        }
        let tightened = std::fs::Permissions::from_mode(mode & 0o7700);
        match std::fs::set_permissions(dir, tightened) {
            Ok(()) => tracing::warn!(
                dir = %dir.display(),
                mode = %shown,
                "the data directory was accessible to others; set to owner-only access"
            ),
            Err(e) => tracing::warn!(
                dir = %dir.display(),
                mode = %shown,
                "the data directory is accessible to others and could not be changed: {e}"
            ),
        }
    }
    #[cfg(not(unix))]
    let _ = (dir, db);
}

/// A random GUID in wire (little-endian field) byte order.
pub(crate) fn new_guid() -> [u8; 16] {
    uuid::Uuid::new_v4().to_bytes_le()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts to `n` in SQL: a statement that runs as long as asked.
    const SLOW: &str =
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?1)
                        SELECT count(*) FROM c";

    #[test]
    fn a_statement_past_the_limit_is_interrupted_and_its_transaction_rolled_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let (out, hold) = store.with_conn_limited(Duration::from_millis(20), |c| {
            Ok(c.query_row(SLOW, [1_000_000_000_000i64], |r| r.get::<_, i64>(0))?)
        });
        let err = out.expect_err("interrupted");
        assert!(err.is_interrupted(), "{err}");
        assert_eq!(hold.commits, 0);
        // The connection works afterwards, without a limit, and nothing stayed locked.
        let n: i64 = store
            .with_conn(|c| Ok(c.query_row(SLOW, [1000], |r| r.get(0))?))
            .expect("unlimited");
        assert_eq!(n, 1000);
        let (out, hold) = store.with_conn_limited(Duration::from_secs(60), |c| {
            c.execute("CREATE TABLE t (x)", [])?;
            c.execute("INSERT INTO t VALUES (1)", [])?;
            Ok(())
        });
        out.expect("within the limit");
        assert_eq!(hold.commits, 2, "two autocommitted writes");
        let (out, _) = store.with_conn_limited(Duration::from_millis(10), |c| {
            tx::write(c, |c| {
                c.execute("INSERT INTO t VALUES (2)", [])?;
                c.query_row(SLOW, [1_000_000_000_000i64], |r| r.get::<_, i64>(0))?;
                Ok(())
            })
        });
        assert!(out.expect_err("interrupted").is_interrupted());
        let rows: i64 = store
            .with_conn(|c| Ok(c.query_row("SELECT count(*) FROM t", [], |r| r.get(0))?))
            .expect("count");
        assert_eq!(rows, 1, "the interrupted transaction was rolled back");
    }
}
