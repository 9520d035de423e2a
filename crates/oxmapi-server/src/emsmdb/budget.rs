//! Store access within a request's store time budget ([`crate::Limits::request_time_budget`]).
//!
//! Inside an Execute request every statement's time counts against the request's budget; once
//! it is spent, the running statement is interrupted (its transaction rolled back) and no
//! further store work starts, and the ROP is answered with RopBackoff (MS-OXCROPS 3.2.4.2,
//! decided by the dispatcher from [`StoreAccess::rop_stopped`]). Outside a request (or while
//! the budget is paused) store work is not limited.
//!
//! A leaf: it knows nothing of ROPs, handles or the session.

use std::cell::Cell;
use std::time::Duration;

use oxmapi_wire::data::ErrorCode;

use crate::store::{Hold, Store, StoreError};

/// The store of a session context and the budget of the request being run.
#[derive(Debug)]
pub(super) struct StoreAccess {
    /// The store, for work that is not budgeted (folder writes, delivery).
    pub(super) store: Store,
    /// The store time budget of the ROP buffer being run; `None` outside a request.
    budget: Cell<Option<Budget>>,
}

/// What is left of a request's store time and what the current ROP did with it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Budget {
    /// Store time left to the request.
    left: Duration,
    /// The current ROP's store work was stopped because the budget ran out.
    interrupted: bool,
    /// Transactions the current ROP committed.
    commits: u64,
}

impl StoreAccess {
    /// Access to `store`, outside any request.
    pub(super) fn new(store: Store) -> Self {
        Self {
            store,
            budget: Cell::new(None),
        }
    }

    /// Starts a request with `left` store time.
    pub(super) fn begin_request(&self, left: Duration) {
        self.budget.set(Some(Budget {
            left,
            interrupted: false,
            commits: 0,
        }));
    }

    /// Pauses the request's budget (store work is not limited until [`Self::resume`]);
    /// returns what is left of it.
    pub(super) fn pause(&self) -> Option<Budget> {
        self.budget.take()
    }

    /// Resumes a budget returned by [`Self::pause`].
    pub(super) fn resume(&self, budget: Option<Budget>) {
        self.budget.set(budget);
    }

    /// Ends the request: store work is no longer limited.
    pub(super) fn end_request(&self) {
        self.budget.set(None);
    }

    /// Starts a ROP's account of the request budget.
    pub(super) fn begin_rop(&self) {
        if let Some(mut b) = self.budget.get() {
            b.interrupted = false;
            b.commits = 0;
            self.budget.set(Some(b));
        }
    }

    /// Whether the ROP just run had its store work stopped by the budget, and whether it
    /// committed anything before that.
    pub(super) fn rop_stopped(&self) -> (bool, bool) {
        self.budget
            .get()
            .map_or((false, false), |b| (b.interrupted, b.commits > 0))
    }

    /// Whether the request has used up its store time.
    pub(super) fn budget_spent(&self) -> bool {
        self.budget.get().is_some_and(|b| b.left.is_zero())
    }

    /// Runs `f` on the store connection; SQL failures become ecError. Inside a request the
    /// store time counts against its budget: once it is spent, the running statement is
    /// interrupted (its transaction rolled back) and no further store work starts.
    pub(super) fn with_conn<T>(
        &self,
        f: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T>,
    ) -> Result<T, ErrorCode> {
        self.budgeted(|store, limit| match limit {
            None => (
                store.with_conn(|c| f(c).map_err(Into::into)),
                Hold::default(),
            ),
            Some(l) => store.with_conn_limited(l, |c| f(c).map_err(Into::into)),
        })
    }

    /// Like [`Self::with_conn`], on a read-only connection of the store's pool: for work that
    /// only reads (listing, sorting, restricting, reading rows), which then neither waits for
    /// nor holds up the writer and the other sessions. `f` sees one committed snapshot.
    pub(super) fn with_read<T>(
        &self,
        f: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T>,
    ) -> Result<T, ErrorCode> {
        self.budgeted(|store, limit| match limit {
            None => (
                store.with_read(|c| f(c).map_err(Into::into)),
                Hold::default(),
            ),
            Some(l) => store.with_read_limited(l, |c| f(c).map_err(Into::into)),
        })
    }

    /// Runs store work `run` (given the time it may take, `None` outside a budget) and
    /// accounts its time and commits against the request's budget.
    fn budgeted<T>(
        &self,
        run: impl FnOnce(&Store, Option<Duration>) -> (Result<T, StoreError>, Hold),
    ) -> Result<T, ErrorCode> {
        let Some(mut b) = self.budget.get() else {
            return run(&self.store, None).0.map_err(|e| {
                tracing::warn!(error = %e, "emsmdb store access failed");
                ErrorCode::CALL_FAILED
            });
        };
        if b.left.is_zero() {
            b.interrupted = true;
            self.budget.set(Some(b));
            return Err(ErrorCode::CALL_FAILED);
        }
        let (out, hold) = run(&self.store, Some(b.left));
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
}
