//! Stand-in for the emsmdb engineer's `MailboxContext` until `src/emsmdb/mod.rs` compiles.
//! Same contract; every Execute fails with ecNotSupported.

use oxmapi_wire::data::ErrorCode;

use crate::store::{Store, UserRecord};

/// Per MAPI/HTTP session context mailbox state (stub).
#[derive(Debug)]
pub(crate) struct MailboxContext {
    _user: UserRecord,
    _store: Store,
    _public_folders: bool,
}

impl MailboxContext {
    pub(crate) fn new(user: UserRecord, store: Store, org_public_folders: bool) -> Self {
        Self {
            _user: user,
            _store: store,
            _public_folders: org_public_folders,
        }
    }

    /// Executes one EMSMDB Execute (stub: ROP processing is not linked in yet).
    pub(crate) fn execute(
        &mut self,
        _flags: u32,
        _rop_buffer: &[u8],
        _max_rop_out: u32,
    ) -> Result<Vec<u8>, ErrorCode> {
        Err(ErrorCode::NO_SUPPORT)
    }
}
