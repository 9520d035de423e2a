//! EMSMDB: ROP processing over the mailbox store (MS-OXCRPC 3.1.4.2, MS-OXCROPS 3.2.5).
//!
//! [`MailboxContext::execute`] is one Execute request (MS-OXCMAPIHTTP 2.2.4.2) or
//! EcDoRpcExt2 call: unpack rgbIn (one RPC_HEADER_EXT), run each ROP in order against the
//! session's Server object handle table, and pack the responses into rgbOut within
//! MaxRopOut, continuing a trailing RopQueryRows into further segments when the client set
//! the Chain flag (MS-OXCRPC 3.1.4.2.1.1). The session's queued table notifications
//! (RopNotify, RopPending: `notify`) follow the answers of the first segment.
//!
//! Each request's store time is bounded by [`crate::Limits::request_time_budget`] (past it
//! the delayed ROP is answered with RopBackoff, MS-OXCROPS 3.2.4.2: see `dispatch`), a
//! session holds at most [`crate::Limits::max_objects_per_session`] Server objects of which
//! [`crate::Limits::max_tables_per_session`] tables, and streams, messages and the mailbox
//! are bounded by [`crate::Limits::max_stream_size`], [`crate::Limits::max_message_size`]
//! and [`crate::Limits::mailbox_quota`].
//!
//! Layers, each importing only those below it:
//!
//! - `execute` (the Execute entry point) → `dispatch` (decodes each ROP once and routes it
//!   in one `match`, by RopId and the kind of its input object);
//! - handlers by object kind: `logon_rops`, `folder_rops`, `table_rops`, `message_rops`,
//!   `msgprop_rops`, `attach_rops`, `stream_rops`;
//! - `msgobj` (message and attachment instances), `context` ([`MailboxContext`]), `notify`;
//! - leaves: `step` (a ROP's result and response helpers), `budget` (budgeted store
//!   access), `objects` (Server objects, handle table), `props`, `contents`, `recipients`,
//!   `restrict`, `storeops`.

mod attach_rops;
mod budget;
mod contents;
mod context;
mod dispatch;
mod execute;
#[cfg(test)]
mod fold_tests;
mod folder_rops;
#[cfg(test)]
mod limits_tests;
mod logon_rops;
mod message_rops;
#[cfg(test)]
mod msg_tests;
mod msgobj;
mod msgprop_rops;
mod notify;
#[cfg(test)]
mod notify_tests;
mod objects;
mod props;
mod recipients;
mod restrict;
mod step;
mod storeops;
mod stream_rops;
mod table_rops;
#[cfg(test)]
mod tests;

pub(crate) use context::MailboxContext;
