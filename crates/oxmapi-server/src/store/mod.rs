//! The SQLite mailbox store (`<data dir>/mailbox.db`, WAL journal).
//!
//! The store knows nothing of ROPs or HTTP. It is synchronous (rusqlite): one writer
//! [`rusqlite::Connection`] behind a first-come, first-served lock and a pool of read-only
//! connections ([`Store::with_read`]: WAL readers that neither wait for the writer nor hold it
//! up), shared by every clone of [`Store`]. The schema is versioned ([`schema`]).
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
mod error;
mod folders;
pub(crate) mod folders_write;
mod handle;
pub mod messages;
pub mod schema;
pub mod summary;
pub(crate) mod tx;
pub mod usage;
mod users;

pub use error::StoreError;
pub use folders::{SPECIAL_INBOX, SPECIAL_IPM_SUBTREE, SPECIAL_ROOT, stored_id};
pub use handle::{Hold, OrgRecord, Store};
pub use users::{NtHash, UserRecord, nt_hash};
