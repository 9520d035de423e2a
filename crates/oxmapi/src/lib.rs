//! oxmapi: a CDO 1.2.1-style Exchange client API in async Rust.
//!
//! [`Session::logon`] takes what CDO's `Session.Logon` took — a profile name, or a *dynamic
//! profile* given as ProfileInfo `"<server>\n<mailbox>"` — and logs on over MAPI/HTTP
//! (MS-OXCMAPIHTTP): address-book bind and name resolution (NSPI), EMSMDB Connect, RopLogon,
//! then the public folder store (which may be absent: *Ignore No PF*). The session keeps
//! the logon's special folder IDs; the report of every step (timings, HTTP round trips, TLS
//! and auth details) is returned as data, never printed here.
//!
//! ```no_run
//! # async fn demo() -> Result<(), oxmapi::Error> {
//! use oxmapi::{LogonParams, Session};
//! use oxmapi_profile::{Config, Secret};
//! let config = Config::load_or_default(std::path::Path::new("oxmapi.toml")).expect("config");
//! let session = Session::logon(&config, LogonParams {
//!     profile_info: Some("4f1c2d3e-0000-4000-8000-000000000001@contoso.com\njdoe".into()),
//!     password: Some(Secret::new("...")),
//!     ..LogonParams::default()
//! }).await?;
//! println!("Inbox is {}", session.default_folder_id(oxmapi::DefaultFolder::Inbox));
//! session.logoff().await?;
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod channel;
mod error;
mod nspi;
pub mod report;
mod session;

pub use error::{Error, ErrorKind, Result};
pub use report::LogonReport;
pub use session::{DefaultFolder, LogonParams, SPECIAL_FOLDER_NAMES, Session, hex_guid};
