//! The store's error type (a leaf: every store module uses it, it uses none of them).

use std::path::PathBuf;

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
    /// The data directory was written by a newer oxmapi (its schema version is unknown here).
    #[error(
        "the store's schema version {found} is newer than this oxmapi supports ({supported}); \
         use a newer oxmapi, or re-import the mail into a new data directory"
    )]
    Schema {
        /// `PRAGMA user_version` of the file.
        found: i64,
        /// The version this build writes.
        supported: i64,
    },
}

impl StoreError {
    /// True when SQLite stopped a statement because the caller's time limit ran out
    /// (`Store::with_conn_limited`); the statement's transaction was rolled back.
    pub fn is_interrupted(&self) -> bool {
        matches!(self, Self::Sql(e) if sql_interrupted(e))
    }
}

/// True when `e` is SQLITE_INTERRUPT: the progress handler stopped the statement.
pub(crate) fn sql_interrupted(e: &rusqlite::Error) -> bool {
    e.sqlite_error_code() == Some(rusqlite::ErrorCode::OperationInterrupted)
}
