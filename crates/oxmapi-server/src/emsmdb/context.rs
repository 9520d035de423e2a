//! The mailbox side of one session context: who is logged on, the stores logged on to, the
//! Server objects the client holds handles to (MS-OXCROPS 1.3.1), the queued table
//! notifications, the limits, and the store access every handler goes through (budgeted:
//! `budget`; quota: [`MailboxContext::check_quota`]).
//!
//! Imports no handler: the ROP handlers, the dispatcher (`dispatch`) and the Execute entry
//! point (`execute`) build on it.

use oxmapi_wire::data::ErrorCode;
use rusqlite::Connection;

use super::budget::StoreAccess;
use super::notify::{self, NotifyQueue};
use super::objects::{HandleTable, Object};
use super::props::StoreInfo;
use super::step::slot;
use crate::limits::Limits;
use crate::store::folders_write::{FolderWriteError, WriteResult};
use crate::store::{Store, UserRecord};

/// MS-OXCDATA 2.4.2 ecQuotaExceeded (QuotaExceeded, 0x000004D9).
pub(super) const EC_QUOTA_EXCEEDED: ErrorCode = ErrorCode(0x0000_04D9);

/// The mailbox side of one MAPI/HTTP (or RPC/HTTP) session context: who is logged on, and the
/// Server objects the client holds handles to.
#[derive(Debug)]
pub(crate) struct MailboxContext {
    /// The authenticated session user.
    pub(super) user: UserRecord,
    /// The store, with the budget of the request being run.
    pub(super) db: StoreAccess,
    /// Whether the organization has public folders to log on to.
    pub(super) org_public_folders: bool,
    pub(super) handles: HandleTable,
    /// Stores logged on to, by `folders.mailbox_id`.
    pub(super) stores: Vec<StoreInfo>,
    /// Table notifications waiting to be sent.
    pub(super) notify: NotifyQueue,
    /// Per-session, per-request and per-mailbox limits.
    pub(super) limits: Limits,
}

impl MailboxContext {
    /// A context for `user` (the authenticated session user) over `store`, with the default
    /// [`Limits`].
    pub(crate) fn new(user: UserRecord, store: Store, org_public_folders: bool) -> Self {
        let limits = Limits::default();
        Self {
            user,
            db: StoreAccess::new(store),
            org_public_folders,
            handles: HandleTable::new(&limits),
            stores: Vec::new(),
            notify: NotifyQueue::default(),
            limits,
        }
    }

    /// Applies the server's limits (object and table caps, request budget, stream, message
    /// and mailbox sizes).
    pub(crate) fn with_limits(mut self, limits: &Limits) -> Self {
        self.handles.set_caps(limits);
        self.limits = limits.clone();
        self
    }

    /// Number of live Server objects (logons, folders, tables, ...): a test hook.
    pub(crate) fn object_count(&self) -> usize {
        self.handles.len()
    }

    /// Queues a TableChanged for every subscribed table whose folder changed since the last
    /// poll (MS-OXCNOTIF 3.1.5.6); true when notifications are queued.
    pub(crate) fn poll_notifications(&mut self) -> bool {
        self.notify.poll(&mut self.handles, &self.db)
    }

    /// Appends queued notifications to `out` within `budget` bytes (see `notify`).
    pub(super) fn append_notifications(&mut self, out: &mut Vec<u8>, budget: usize) {
        self.notify.append(&self.handles, out, budget);
    }

    /// A ROP that creates a table view was run on `handle` (MS-OXCNOTIF 3.1.4.3).
    pub(super) fn start_view(&mut self, handle: u32) {
        notify::start_view(&mut self.handles, &self.db, handle);
    }

    /// Runs `f` on the store connection within the request's budget (see `budget`).
    pub(super) fn with_conn<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, ErrorCode> {
        self.db.with_conn(f)
    }

    /// Runs read-only `f` on a read connection within the request's budget (see `budget`).
    pub(super) fn with_read<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, ErrorCode> {
        self.db.with_read(f)
    }

    /// Runs a folder write (`crate::store::folders_write`, one savepoint per ROP) outside the
    /// request budget; store refusals become their ROP error codes.
    pub(super) fn folder_write<T>(
        &self,
        f: impl FnOnce(&Connection) -> WriteResult<T>,
    ) -> Result<T, ErrorCode> {
        match self.db.store.with_conn(|c| Ok(f(c))) {
            Ok(r) => r.map_err(folder_write_error),
            Err(e) => {
                tracing::warn!(error = %e, "folder write: store unavailable");
                Err(ErrorCode::CALL_FAILED)
            }
        }
    }

    /// ecQuotaExceeded (MS-OXCDATA 2.4.2: "operation failed because it would have exceeded a
    /// resource quota") when storing `more` bytes would take mailbox `mailbox_id` past
    /// [`Limits::mailbox_quota`]; `freed` is what the operation frees (the old version a save
    /// replaces).
    pub(super) fn check_quota_after(
        &self,
        mailbox_id: i64,
        more: u64,
        freed: u64,
    ) -> Result<(), ErrorCode> {
        let used = self.with_conn(|c| crate::store::usage::mailbox_bytes(c, mailbox_id))?;
        if used.saturating_sub(freed).saturating_add(more) > self.limits.mailbox_quota {
            tracing::info!(
                user = %self.user.alias,
                mailbox_id,
                used,
                more,
                quota = self.limits.mailbox_quota,
                "mailbox quota reached"
            );
            return Err(EC_QUOTA_EXCEEDED);
        }
        Ok(())
    }

    /// [`Self::check_quota_after`] for pure growth.
    pub(super) fn check_quota(&self, mailbox_id: i64, more: u64) -> Result<(), ErrorCode> {
        self.check_quota_after(mailbox_id, more, 0)
    }

    /// The logged-on store `mailbox_id`; ecNullObject when it is not logged on.
    pub(super) fn store_info(&self, mailbox_id: i64) -> Result<&StoreInfo, ErrorCode> {
        self.stores
            .iter()
            .find(|s| s.mailbox_id == mailbox_id)
            .ok_or(ErrorCode::NULL_OBJECT)
    }

    /// The object behind handle slot `index` and its store: ecNullObject for an empty slot, an
    /// unknown handle (MS-OXCROPS 3.2.5.1) or a store not logged on.
    pub(super) fn object_store(
        &self,
        handles: &[u32],
        index: u8,
    ) -> Result<(Object, StoreInfo), ErrorCode> {
        let obj = self.handles.get(slot(handles, index)?)?.clone();
        let info = self.store_info(obj.mailbox_id())?.clone();
        Ok((obj, info))
    }
}

/// The ROP error code of a refused folder write.
pub(super) fn folder_write_error(e: FolderWriteError) -> ErrorCode {
    match e {
        FolderWriteError::NotFound => ErrorCode::NOT_FOUND,
        FolderWriteError::Collision { .. } => ErrorCode::COLLISION,
        FolderWriteError::Special => ErrorCode::NO_ACCESS,
        FolderWriteError::Cycle => ErrorCode::FOLDER_CYCLE,
        FolderWriteError::Sql(_) | FolderWriteError::Encode(_) => {
            tracing::warn!(error = %e, "folder write failed");
            ErrorCode::CALL_FAILED
        }
    }
}
