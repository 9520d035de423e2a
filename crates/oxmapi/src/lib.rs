//! oxmapi: a CDO 1.2.1-style Exchange client API in async Rust.
//!
//! `Session::logon` takes what CDO's `Session.Logon` took — a profile name, or a *dynamic
//! profile* given as ProfileInfo `"<server>\n<mailbox>"` — and logs on over MAPI/HTTP
//! (MS-OXCMAPIHTTP): address-book bind and name resolution (NSPI), EMSMDB Connect, RopLogon.
//! The session keeps the logon's special folder IDs; the report of every step (timings,
//! HTTP round trips, TLS and auth details) is returned as data, never printed here.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;

pub use error::{Error, ErrorKind, Result};
