//! EMSMDB: ROP processing over the mailbox store (MS-OXCRPC 3.1.4.2, MS-OXCROPS 3.2.5).
//!
//! [`MailboxContext::execute`] is one Execute request (MS-OXCMAPIHTTP 2.2.4.2) or
//! EcDoRpcExt2 call: unpack rgbIn (one RPC_HEADER_EXT), run each ROP in order against the
//! session's Server object handle table, and pack the responses into rgbOut within
//! MaxRopOut, continuing a trailing RopQueryRows into further segments when the client set
//! the Chain flag (MS-OXCRPC 3.1.4.2.1.1). The session's queued table notifications
//! (RopNotify, RopPending: `notify`) follow the answers of the first segment.
//!
//! Each request's store time is bounded by [`Limits::request_time_budget`] (past it the
//! delayed ROP is answered with RopBackoff, MS-OXCROPS 3.2.4.2: see `rops::run_buffer`), a
//! session holds at most [`Limits::max_objects_per_session`] Server objects of which
//! [`Limits::max_tables_per_session`] tables, and streams, messages and the mailbox are
//! bounded by [`Limits::max_stream_size`], [`Limits::max_message_size`] and
//! [`Limits::mailbox_quota`].

mod attach_rops;
#[cfg(test)]
mod fold_tests;
mod folder_rops;
#[cfg(test)]
mod limits_tests;
mod message_rops;
#[cfg(test)]
mod msg_tests;
mod msgobj;
mod notify;
#[cfg(test)]
mod notify_tests;
mod objects;
mod props;
mod recipients;
mod restrict;
mod rops;
mod storeops;
mod stream_rops;
#[cfg(test)]
mod tests;

use std::cell::Cell;
use std::time::Duration;

use oxmapi_wire::data::ErrorCode;
use oxmapi_wire::rpcext::{
    MAX_SEGMENT_PAYLOAD, PackOptions, UnpackLimits, pack_segment, unpack_segments_within,
};

use crate::limits::Limits;
use crate::store::{Store, UserRecord};

use objects::HandleTable;
use props::StoreInfo;

/// MS-OXCDATA 2.4.2 ecQuotaExceeded (QuotaExceeded, 0x000004D9).
const EC_QUOTA_EXCEEDED: ErrorCode = ErrorCode(0x0000_04D9);

/// Execute Flags / pulFlags (MS-OXCRPC 3.1.4.2): do not compress the response.
const FLAG_NO_COMPRESSION: u32 = 0x1;
/// Do not obfuscate the response.
const FLAG_NO_XOR_MAGIC: u32 = 0x2;
/// Several RPC_HEADER_EXT segments may be returned.
const FLAG_CHAIN: u32 = 0x4;
/// RPC_HEADER_EXT size.
const RHE_SIZE: usize = 8;

/// The mailbox side of one MAPI/HTTP session context: who is logged on, and the Server
/// objects the client holds handles to.
#[derive(Debug)]
pub(crate) struct MailboxContext {
    user: UserRecord,
    store: Store,
    org_public_folders: bool,
    handles: HandleTable,
    /// Stores logged on to, by `folders.mailbox_id`.
    stores: Vec<StoreInfo>,
    /// Table notifications waiting to be sent.
    notify: notify::NotifyQueue,
    /// Per-session, per-request and per-mailbox limits.
    limits: Limits,
    /// The store time budget of the ROP buffer being run; `None` outside [`Self::execute`].
    budget: Cell<Option<Budget>>,
}

/// What is left of a request's store time ([`Limits::request_time_budget`]) and what the
/// current ROP did with it.
#[derive(Debug, Clone, Copy)]
struct Budget {
    /// Store time left to the request.
    left: Duration,
    /// The current ROP's store work was stopped because the budget ran out.
    interrupted: bool,
    /// Transactions the current ROP committed.
    commits: u64,
}

impl MailboxContext {
    /// Number of live Server objects (logons, folders, tables, ...): a test hook.
    pub(crate) fn object_count(&self) -> usize {
        self.handles.len()
    }

    /// A context for `user` (the authenticated session user) over `store`, with the default
    /// [`Limits`].
    pub(crate) fn new(user: UserRecord, store: Store, org_public_folders: bool) -> Self {
        let limits = Limits::default();
        Self {
            user,
            store,
            org_public_folders,
            handles: HandleTable::new(&limits),
            stores: Vec::new(),
            notify: notify::NotifyQueue::default(),
            limits,
            budget: Cell::new(None),
        }
    }

    /// Applies the server's limits (object and table caps, request budget, stream, message
    /// and mailbox sizes).
    pub(crate) fn with_limits(mut self, limits: &Limits) -> Self {
        self.handles.set_caps(limits);
        self.limits = limits.clone();
        self
    }

    /// Runs one ROP buffer. `flags` are the Execute Flags, `rop_buffer` is rgbIn,
    /// `max_rop_out` the size limit of the returned rgbOut. An error is the Execute
    /// ErrorCode: ecRpcFormat for a malformed buffer, ecBufferTooSmall when not even a
    /// RopBufferTooSmall response fits.
    pub(crate) fn execute(
        &mut self,
        flags: u32,
        rop_buffer: &[u8],
        max_rop_out: u32,
    ) -> Result<Vec<u8>, ErrorCode> {
        let out = self.execute_budgeted(flags, rop_buffer, max_rop_out);
        self.budget.set(None);
        out
    }

    fn execute_budgeted(
        &mut self,
        flags: u32,
        rop_buffer: &[u8],
        max_rop_out: u32,
    ) -> Result<Vec<u8>, ErrorCode> {
        // MS-OXCRPC 3.1.4.2.1: one segment of at most 32 KB (no packing was offered); the
        // headers are checked before anything is inflated.
        let segments = unpack_segments_within(rop_buffer, UnpackLimits::REQUEST).map_err(|e| {
            tracing::debug!("ROP request buffer refused: {e}");
            ErrorCode::RPC_FORMAT
        })?;
        let [segment] = segments.as_slice() else {
            return Err(ErrorCode::RPC_FORMAT);
        };
        let (rops, mut handles) = split_rop_input(&segment.payload)?;
        let max_out = usize::try_from(max_rop_out).unwrap_or(usize::MAX);
        let seg_limit = MAX_SEGMENT_PAYLOAD.min(max_out.saturating_sub(RHE_SIZE));
        let fixed = 2 + 4 * handles.len();
        let budget = seg_limit
            .checked_sub(fixed)
            .ok_or(ErrorCode::BUFFER_TOO_SMALL)?;

        self.budget.set(Some(Budget {
            left: self.limits.request_time_budget,
            interrupted: false,
            commits: 0,
        }));
        let outcome = rops::run_buffer(self, rops, &mut handles, budget);
        let left = self.budget.take();
        let mut outcome = outcome?;
        // MS-OXCNOTIF 3.1.5.6, 3.1.5.7: queued RopNotify (then RopPending) responses follow
        // the answers of the first segment; never a RopBufferTooSmall (its RequestBuffers run
        // to the end of the list) or a RopBackoff (nothing follows what was delayed), never the
        // chained RopQueryRows segments.
        self.poll_notifications();
        if !outcome.too_small && !outcome.backoff {
            self.append_notifications(&mut outcome.responses, budget);
        }
        // The chained RopQueryRows segments spend what the ROPs left of the budget.
        self.budget.set(left);
        let mut payloads = vec![rop_output(&outcome.responses, &handles)?];

        if flags & FLAG_CHAIN != 0
            && let Some(mut cont) = outcome.chain
        {
            let mut used = RHE_SIZE + payloads[0].len();
            loop {
                let room = MAX_SEGMENT_PAYLOAD.min(max_out.saturating_sub(used + RHE_SIZE));
                let Some(room) = room.checked_sub(fixed) else {
                    break;
                };
                let Some(resp) = rops::continue_query_rows(self, &mut cont, room)? else {
                    break;
                };
                let payload = rop_output(&resp, &handles)?;
                used += RHE_SIZE + payload.len();
                payloads.push(payload);
                if cont.done {
                    break;
                }
            }
        }

        let opts = PackOptions {
            compress: flags & FLAG_NO_COMPRESSION == 0,
            xor: flags & FLAG_NO_XOR_MAGIC == 0,
            last: false,
        };
        let mut out = Vec::new();
        let n = payloads.len();
        for (i, p) in payloads.iter().enumerate() {
            let seg = pack_segment(
                p,
                PackOptions {
                    last: i + 1 == n,
                    ..opts
                },
            )
            .map_err(|_| ErrorCode::CALL_FAILED)?;
            out.extend(seg);
        }
        Ok(out)
    }

    /// Starts a ROP's account of the request budget.
    fn begin_rop(&self) {
        if let Some(mut b) = self.budget.get() {
            b.interrupted = false;
            b.commits = 0;
            self.budget.set(Some(b));
        }
    }

    /// Whether the ROP just run had its store work stopped by the budget, and whether it
    /// committed anything before that.
    fn rop_stopped(&self) -> (bool, bool) {
        self.budget
            .get()
            .map_or((false, false), |b| (b.interrupted, b.commits > 0))
    }

    /// Whether the request has used up its store time.
    fn budget_spent(&self) -> bool {
        self.budget.get().is_some_and(|b| b.left.is_zero())
    }

    /// Runs `f` on the store connection; SQL failures become ecError. Inside
    /// [`Self::execute`] the store time counts against the request's budget: once it is spent,
    /// the running statement is interrupted (its transaction rolled back) and no further store
    /// work starts (MS-OXCROPS 3.2.4.2: the ROP is then answered with RopBackoff).
    fn with_conn<T>(
        &self,
        f: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T>,
    ) -> Result<T, ErrorCode> {
        let Some(mut b) = self.budget.get() else {
            return self
                .store
                .with_conn(|c| f(c).map_err(Into::into))
                .map_err(|e| {
                    tracing::warn!(error = %e, "emsmdb store access failed");
                    ErrorCode::CALL_FAILED
                });
        };
        if b.left.is_zero() {
            b.interrupted = true;
            self.budget.set(Some(b));
            return Err(ErrorCode::CALL_FAILED);
        }
        let (out, hold) = self
            .store
            .with_conn_limited(b.left, |c| f(c).map_err(Into::into));
        b.left = b.left.saturating_sub(hold.held);
        b.commits += hold.commits;
        let out = out.map_err(|e| {
            if e.is_interrupted() {
                b.interrupted = true;
                b.left = Duration::ZERO;
            } else {
                tracing::warn!(error = %e, "emsmdb store access failed");
            }
            ErrorCode::CALL_FAILED
        });
        self.budget.set(Some(b));
        out
    }

    /// ecQuotaExceeded (MS-OXCDATA 2.4.2: "operation failed because it would have exceeded a
    /// resource quota") when storing `more` bytes would take mailbox `mailbox_id` past
    /// [`Limits::mailbox_quota`]; `freed` is what the operation frees (the old version a save
    /// replaces).
    fn check_quota_after(&self, mailbox_id: i64, more: u64, freed: u64) -> Result<(), ErrorCode> {
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
    fn check_quota(&self, mailbox_id: i64, more: u64) -> Result<(), ErrorCode> {
        self.check_quota_after(mailbox_id, more, 0)
    }

    fn store_info(&self, mailbox_id: i64) -> Result<&StoreInfo, ErrorCode> {
        self.stores
            .iter()
            .find(|s| s.mailbox_id == mailbox_id)
            .ok_or(ErrorCode::NULL_OBJECT)
    }
}

/// Splits a ROP input buffer (MS-OXCROPS 2.2.1): `RopSize` counts itself and the ROP list;
/// the rest is the Server object handle table (u32 each).
fn split_rop_input(payload: &[u8]) -> Result<(&[u8], Vec<u32>), ErrorCode> {
    let bad = ErrorCode::RPC_FORMAT;
    let size = payload.get(..2).ok_or(bad)?;
    let rop_size = usize::from(u16::from_le_bytes([size[0], size[1]]));
    if rop_size < 2 || rop_size > payload.len() || !(payload.len() - rop_size).is_multiple_of(4) {
        return Err(bad);
    }
    let rops = &payload[2..rop_size];
    let handles = payload[rop_size..]
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Ok((rops, handles))
}

/// Builds a ROP output buffer: RopSize, responses, handle table (MS-OXCROPS 2.2.1, 3.2.5.2).
fn rop_output(responses: &[u8], handles: &[u32]) -> Result<Vec<u8>, ErrorCode> {
    let rop_size = u16::try_from(responses.len() + 2).map_err(|_| ErrorCode::CALL_FAILED)?;
    let mut out = Vec::with_capacity(2 + responses.len() + 4 * handles.len());
    out.extend_from_slice(&rop_size.to_le_bytes());
    out.extend_from_slice(responses);
    for h in handles {
        out.extend_from_slice(&h.to_le_bytes());
    }
    Ok(out)
}
