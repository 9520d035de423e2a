//! Table notifications (MS-OXCNOTIF 3.1.4.3, 3.1.5.6, 3.1.5.7): RopNotify responses for the
//! session's open hierarchy and contents tables whose rows changed, and RopPending when more
//! are queued than fit.
//!
//! A table is subscribed once it has a table view (MS-OXCNOTIF 3.1.4.3: RopQueryRows,
//! RopQueryPosition, RopSeekRow, ... create one), never when it was opened with the
//! NoNotifications table flag. After every ROP buffer (and on NotificationWait) the session
//! compares each subscribed table's folder with the store's per-folder change numbers
//! ([`crate::store::changes`]) and queues one TableModified / TableChanged notification for each
//! table whose folder changed, whoever changed it. The queued notifications go after the
//! answers of the ROP buffer, as many as fit.
//!
//! The session context holds the [`NotifyQueue`]; it works on the handle table and the
//! budgeted store access (`budget`) it is given.

use std::collections::VecDeque;

use oxmapi_wire::Encode;
use oxmapi_wire::data::ErrorCode;
use oxmapi_wire::rop::{
    NotificationData, NotificationType, NotifyResponse, PendingResponse, TableEventType,
};

use super::budget::StoreAccess;
use super::objects::{HandleTable, Object, Subscription, Table, TableKind};
use super::storeops;
use crate::store::changes::{self, Scope};

/// The notifications queued on one session context (MS-OXCNOTIF 3.1.5.6).
#[derive(Debug, Default)]
pub(super) struct NotifyQueue {
    /// Tables with a TableChanged waiting, oldest first; at most one per table (TableChanged
    /// means "re-read the table", so a second one would say nothing new).
    queue: VecDeque<Queued>,
    /// The store's change number at the last poll.
    seen: i64,
}

/// A queued TableChanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Queued {
    /// The table's Server object handle (the NotificationHandle).
    handle: u32,
    /// The LogonId the table was opened with.
    logon_id: u8,
}

/// A RopPending response: RopId, SessionIndex (MS-OXCROPS 2.2.14.3.1).
const PENDING_SIZE: usize = 3;

/// A ROP that creates a table view was run on `handle`: an unsubscribed table (not opened
/// with NoNotifications) subscribes from now on (MS-OXCNOTIF 3.1.4.3).
pub(super) fn start_view(handles: &mut HandleTable, db: &StoreAccess, handle: u32) {
    let Ok(Object::Table(t)) = handles.get(handle) else {
        return;
    };
    if t.subscription != Subscription::NoView {
        return;
    }
    let Ok(now) = db.with_conn(changes::latest) else {
        return;
    };
    if let Ok(t) = handles.table_mut(handle) {
        t.subscription = Subscription::Since(now);
    }
}

impl NotifyQueue {
    /// Queues a TableChanged for every subscribed table of `handles` whose folder changed
    /// since the last poll; true when notifications are queued. Store failures leave the
    /// queue as it was.
    pub(super) fn poll(&mut self, handles: &mut HandleTable, db: &StoreAccess) -> bool {
        if let Err(ec) = self.poll_changes(handles, db) {
            tracing::warn!(?ec, "polling table changes failed");
        }
        self.prune(handles);
        !self.queue.is_empty()
    }

    /// Appends queued notifications to `out` (the answers of a ROP buffer) while they fit
    /// within `budget` bytes, then one RopPending if any stay queued and it fits (MS-OXCNOTIF
    /// 3.1.5.7; MS-OXCROPS 2.2.14.3, SessionIndex 0). What does not fit stays queued.
    pub(super) fn append(&mut self, handles: &HandleTable, out: &mut Vec<u8>, budget: usize) {
        self.prune(handles);
        while let Some(&q) = self.queue.front() {
            let Some(bytes) = encode(&table_changed(q)) else {
                self.queue.pop_front();
                continue;
            };
            let more = self.queue.len() > 1;
            let need = bytes.len() + if more { PENDING_SIZE } else { 0 };
            if out.len() + need > budget {
                break;
            }
            out.extend(bytes);
            self.queue.pop_front();
        }
        if !self.queue.is_empty()
            && out.len() + PENDING_SIZE <= budget
            && let Some(bytes) = encode(&PendingResponse { session_index: 0 })
        {
            out.extend(bytes);
        }
    }

    fn poll_changes(
        &mut self,
        handles: &mut HandleTable,
        db: &StoreAccess,
    ) -> Result<(), ErrorCode> {
        let latest = db.with_conn(changes::latest)?;
        if latest == self.seen {
            return Ok(());
        }
        let watched: Vec<(u32, i64, Watched)> = handles
            .tables()
            .filter_map(|(h, t)| match t.subscription {
                Subscription::Since(since) if since < latest => Some((h, since, Watched::of(t))),
                _ => None,
            })
            .collect();
        for (handle, since, table) in watched {
            if db.with_conn(|c| table.last_change(c))? > since {
                let q = Queued {
                    handle,
                    logon_id: table.logon_id,
                };
                if !self.queue.contains(&q) {
                    self.queue.push_back(q);
                }
            }
            if let Ok(t) = handles.table_mut(handle) {
                t.subscription = Subscription::Since(latest);
            }
        }
        self.seen = latest;
        Ok(())
    }

    /// Drops what was queued for tables released since (RopRelease, or their logon replaced).
    fn prune(&mut self, handles: &HandleTable) {
        self.queue
            .retain(|q| matches!(handles.get(q.handle), Ok(Object::Table(_))));
    }
}

/// What a poll needs of a subscribed table.
struct Watched {
    mailbox_id: i64,
    fid: i64,
    kind: TableKind,
    logon_id: u8,
}

impl Watched {
    fn of(t: &Table) -> Self {
        Self {
            mailbox_id: t.mailbox_id,
            fid: t.fid,
            kind: t.kind,
            logon_id: t.logon_id,
        }
    }

    /// The number of the last change to the rows of the table's folder: its messages
    /// (contents table), its subfolders (hierarchy table), or those of every folder below it
    /// (Depth).
    fn last_change(&self, c: &rusqlite::Connection) -> rusqlite::Result<i64> {
        let (mb, fid) = (self.mailbox_id, self.fid);
        match self.kind {
            TableKind::Contents => changes::folder_change(c, mb, fid, Scope::Contents),
            TableKind::Hierarchy { depth: false } => {
                changes::folder_change(c, mb, fid, Scope::Hierarchy)
            }
            TableKind::Hierarchy { depth: true } => {
                let mut last = changes::folder_change(c, mb, fid, Scope::Hierarchy)?;
                for (sub, _) in storeops::descendants(c, mb, fid, true)? {
                    last = last.max(changes::folder_change(c, mb, sub, Scope::Hierarchy)?);
                }
                Ok(last)
            }
            TableKind::Attachments => Ok(0),
        }
    }
}

/// MS-OXCNOTIF 2.2.1.4.1.2: a TableModified notification (NotificationFlags 0x0100) with
/// TableEventType TableChanged (0x0001): "re-read the table", no row data.
fn table_changed(q: Queued) -> NotifyResponse {
    let mut data = NotificationData::new(NotificationType::TableModified);
    data.table_event = Some(TableEventType::TableChanged);
    NotifyResponse {
        notification_handle: q.handle,
        logon_id: q.logon_id,
        data,
    }
}

fn encode(resp: &impl Encode) -> Option<Vec<u8>> {
    super::step::encode(resp)
        .inspect_err(|e| tracing::warn!(error = %e, "encoding a notification failed"))
        .ok()
}
