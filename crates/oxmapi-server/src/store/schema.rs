//! The agreed SQLite schema of `<data dir>/mailbox.db` (see the server brief).

/// Creates every table if it does not exist yet. Runs inside the opening connection.
pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS org (id INTEGER PRIMARY KEY CHECK (id = 1), name TEXT NOT NULL, domain TEXT NOT NULL,
  public_folders INTEGER NOT NULL, server_guid BLOB NOT NULL, public_replica_guid BLOB NOT NULL,
  public_next_globcnt INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, alias TEXT NOT NULL UNIQUE COLLATE NOCASE,
  display_name TEXT NOT NULL, smtp TEXT NOT NULL UNIQUE COLLATE NOCASE, legacy_dn TEXT NOT NULL UNIQUE COLLATE NOCASE,
  nt_hash BLOB NOT NULL, mailbox_guid BLOB NOT NULL UNIQUE, replica_guid BLOB NOT NULL, next_globcnt INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS folders (mailbox_id INTEGER NOT NULL, fid INTEGER NOT NULL, parent_fid INTEGER,
  display_name TEXT NOT NULL, container_class TEXT, special INTEGER, PRIMARY KEY (mailbox_id, fid));
CREATE TABLE IF NOT EXISTS messages (mailbox_id INTEGER NOT NULL, mid INTEGER NOT NULL, fid INTEGER NOT NULL,
  PRIMARY KEY (mailbox_id, mid));
CREATE TABLE IF NOT EXISTS props (mailbox_id INTEGER NOT NULL, kind INTEGER NOT NULL, object_id INTEGER NOT NULL,
  tag INTEGER NOT NULL, value BLOB NOT NULL, PRIMARY KEY (mailbox_id, kind, object_id, tag));
";
