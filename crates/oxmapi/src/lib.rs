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
//!
//! # Logging and secrets
//!
//! The crate logs through `tracing` and never formats a password, token or `Authorization`
//! header. The `sspi` crate it uses for NTLM/Negotiate (and the `picky*` crates under it)
//! logs the authentication messages themselves at debug/trace level — an NTLM AUTHENTICATE
//! message can be cracked offline for the password — and the plaintext of sealed RPC/HTTP
//! PDUs. A program that installs its own subscriber should drop those targets whatever the
//! level, as the `oxmapi` command does (e.g. `tracing_subscriber::filter::filter_fn(|m|
//! !m.target().starts_with("sspi") && !m.target().starts_with("picky"))` on its layer).

#![forbid(unsafe_code)]
#![warn(missing_docs)]
// `ropkit::Replies::next` hands an unexpected RopResponse back by value for the error
// message; it never travels further than the next line.
#![allow(clippy::result_large_err)]

mod abook_channel;
mod addressbook;
mod attachment;
mod backoff;
mod channel;
mod compose;
mod entryid;
mod error;
mod fields;
pub mod filetime;
mod folder;
mod message;
mod messages;
mod nspi;
mod reply;
pub mod report;
mod ropkit;
pub mod rtf;
mod session;
mod stream;
mod table;
mod write;

pub use addressbook::{AddressEntry, AddressList, Resolution, one_off_entry_id};
pub use attachment::{ATTACH_BY_VALUE, ATTACH_EMBEDDED_MESSAGE, Attachment, Attachments};
pub use backoff::RetryPolicy;
pub use compose::{
    Draft, NewAttachment, NewMessage, Recipient, RecipientType, Recipients, SendOutcome,
};
pub use entryid::{
    EntryId, EntryIdParseError, FOLDER_ENTRY_ID_SIZE, FolderEntryId, MESSAGE_ENTRY_ID_SIZE,
    MessageEntryId, entry_type,
};
pub use error::{Error, ErrorKind, Result};
pub use fields::{Fields, NameOrId, NamedProperty, PS_PUBLIC_STRINGS};
pub use folder::{CdoDefaultFolder, Folder, FolderRef};
pub use message::{MESSAGE_TAGS, Message, MessageRecipient, MessageRecipients};
pub use messages::{
    DEFAULT_COLUMNS, Filter, MSGFLAG_HASATTACH, MSGFLAG_READ, MessageRow, Messages, Sort,
};
pub use reply::{
    PID_TAG_CONVERSATION_INDEX, PID_TAG_CONVERSATION_TOPIC, PID_TAG_IN_REPLY_TO_ID,
    PID_TAG_INTERNET_REFERENCES, ResponseKind, ResponseOptions, conversation_index_child,
    conversation_index_header, is_conversation_index, response_subject,
};
pub use report::LogonReport;
pub use session::{
    DefaultFolder, LogonParams, MAX_QUEUED_NOTIFICATIONS, Notification, NotificationContent,
    NotificationStats, SPECIAL_FOLDER_NAMES, Session, hex_guid,
};
pub use table::TableStats;
pub use write::DeleteMode;
