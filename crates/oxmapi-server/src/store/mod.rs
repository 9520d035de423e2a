//! The SQLite mailbox store (`<data dir>/mailbox.db`, WAL journal).
//!
//! The store knows nothing of ROPs or HTTP. It is synchronous (rusqlite): one
//! [`rusqlite::Connection`] behind an `Arc<Mutex<_>>`, shared by every clone of [`Store`].
//! Calls are short (indexed lookups, a few inserts), so async handlers call them directly
//! instead of going through `spawn_blocking`; a long query belongs in `spawn_blocking`.

pub mod changes;
pub mod deliver;
mod folders;
pub(crate) mod folders_write;
pub mod messages;
mod schema;
mod users;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

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
    conn: Arc<Mutex<Connection>>,
    dir: PathBuf,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store").field("dir", &self.dir).finish()
    }
}

impl Store {
    /// Opens (creating if needed) `<dir>/mailbox.db` in WAL mode with the agreed schema.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, StoreError> {
        let dir = dir.as_ref().to_path_buf();
        std::fs::create_dir_all(&dir).map_err(|source| StoreError::Io {
            path: dir.clone(),
            source,
        })?;
        let conn = Connection::open(dir.join("mailbox.db"))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(schema::SCHEMA)?;
        messages::migrate(&conn)?;
        changes::install(&conn)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            dir,
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

    fn lock(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        self.conn.lock().map_err(|_| StoreError::Poisoned)
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

/// A random GUID in wire (little-endian field) byte order.
pub(crate) fn new_guid() -> [u8; 16] {
    uuid::Uuid::new_v4().to_bytes_le()
}
