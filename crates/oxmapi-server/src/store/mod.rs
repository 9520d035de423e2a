//! The SQLite mailbox store (`<data dir>/mailbox.db`, WAL journal).
//!
//! The store knows nothing of ROPs or HTTP. It is synchronous (rusqlite): one
//! [`rusqlite::Connection`] behind a first-come, first-served lock, shared by every clone of
//! [`Store`].
//! The request handlers run store work off the async workers (`crate::session::store_work`),
//! and a request's store work is bounded in time ([`Store::with_conn_limited`]: a SQLite
//! progress handler interrupts a statement that runs past the caller's limit).
//!
//! # Protecting the store
//!
//! `mailbox.db` holds all mail and, in table `users`, each user's NT hash (MD4 of the
//! UTF-16LE password, unsalted). For NTLM an NT hash is password-equivalent: whoever reads it
//! can authenticate as that user without knowing the password (pass-the-hash), and an
//! unsalted hash is cheap to crack. Protect the data directory like a password file:
//! [`Store::open`] creates it 0700 (and tightens an existing one of ours that is more open,
//! with a warning) and sets `mailbox.db` and its `-wal`/`-shm` files to 0600 whatever the
//! umask; keep backups and copies of the directory just as private.

pub mod changes;
pub mod deliver;
mod folders;
pub(crate) mod folders_write;
pub mod messages;
mod schema;
pub mod usage;
mod users;

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

pub use folders::{SPECIAL_INBOX, SPECIAL_IPM_SUBTREE, SPECIAL_ROOT, stored_id};
pub use users::{NtHash, UserRecord, nt_hash};

/// Errors of the mailbox store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// SQLite failed.
    #[error("sqlite: {0}")]
    Sql(#[from] rusqlite::Error),
    /// The data directory could not be created.
    #[error("data directory {path}: {source}")]
    Io {
        /// The directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// `init_org` was not called before an operation that needs the organization.
    #[error("the organization is not initialized")]
    NoOrg,
    /// A user with this alias, SMTP address or DN exists already.
    #[error("user {0} exists already")]
    UserExists(String),
    /// The alias is not usable (empty, or characters that break the DN or SMTP address).
    #[error("invalid alias {0:?}")]
    InvalidAlias(String),
    /// Another thread panicked while holding the connection.
    #[error("the store connection is poisoned")]
    Poisoned,
}

impl StoreError {
    /// True when SQLite stopped a statement because the caller's time limit ran out
    /// ([`Store::with_conn_limited`]); the statement's transaction was rolled back.
    pub fn is_interrupted(&self) -> bool {
        matches!(self, Self::Sql(e) if sql_interrupted(e))
    }
}

/// True when `e` is SQLITE_INTERRUPT: the progress handler stopped the statement.
pub(crate) fn sql_interrupted(e: &rusqlite::Error) -> bool {
    e.sqlite_error_code() == Some(rusqlite::ErrorCode::OperationInterrupted)
}

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
    conn: Arc<FairConn>,
    dir: PathBuf,
    watch: Arc<Watch>,
}

/// The connection behind a FIFO lock: callers get it in the order they asked. Work that
/// takes and releases the connection row by row (a long sort or restriction) then cannot
/// starve a short request of another session, as `std`'s `Mutex` allows (the releasing
/// thread usually takes it again before a woken waiter runs).
struct FairConn {
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
struct ConnGuard<'a> {
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
    fn lock(&self) -> Result<ConnGuard<'_>, StoreError> {
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
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // REPLACE conflict resolution fires the delete triggers of `usage` too.
        conn.pragma_update(None, "recursive_triggers", "ON")?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.execute_batch(schema::SCHEMA)?;
        messages::migrate(&conn)?;
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

    fn lock(&self) -> Result<ConnGuard<'_>, StoreError> {
        self.conn.lock()
    }

    fn with_tx<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.lock()?;
        let tx = rusqlite::Transaction::new(&mut conn, TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
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
            let tx = c.transaction()?;
            tx.execute("INSERT INTO t VALUES (2)", [])?;
            tx.query_row(SLOW, [1_000_000_000_000i64], |r| r.get::<_, i64>(0))?;
            tx.commit()?;
            Ok(())
        });
        assert!(out.expect_err("interrupted").is_interrupted());
        let rows: i64 = store
            .with_conn(|c| Ok(c.query_row("SELECT count(*) FROM t", [], |r| r.get(0))?))
            .expect("count");
        assert_eq!(rows, 1, "the interrupted transaction was rolled back");
    }
}
