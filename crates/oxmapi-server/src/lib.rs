//! An embedded Exchange-protocol test server over a SQLite mailbox store

#![forbid(unsafe_code)]
