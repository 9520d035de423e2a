//! What the MAPI/HTTP endpoints share (MS-OXCMAPIHTTP 2.2.3.3, 2.2.4): the checked request
//! headers, the handler outcome and its X-ResponseCode, session-context cookies and lookup,
//! and the auxiliary buffers. Used by the EMSMDB requests of [`crate::mapihttp`], the NSPI
//! requests of [`crate::nspi`] and EMSMDB over RPC/HTTP.

use oxmapi_wire::WriteCursor;

use crate::emsmdb::MailboxContext;
use crate::session::{CONTEXT_COOKIE, Endpoint, LookupError, RequestId};
use crate::state::AppState;
use crate::store::UserRecord;

/// X-ResponseCode values (MS-OXCMAPIHTTP 2.2.3.3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub(crate) enum ResponseCode {
    Success = 0,
    UnknownFailure = 1,
    InvalidVerb = 2,
    InvalidHeader = 4,
    InvalidRequestType = 5,
    MissingHeader = 7,
    TooLarge = 9,
    ContextNotFound = 10,
    NoPrivilege = 11,
    InvalidRequestBody = 12,
    MissingCookie = 13,
}

/// What a request handler produces.
pub(crate) struct Outcome {
    /// The binary response body (after the meta-tags), or a transport-level failure.
    pub(crate) result: Result<Vec<u8>, ResponseCode>,
    /// Cookies to set.
    pub(crate) set_cookies: Vec<String>,
}

impl Outcome {
    /// A successful response with this body.
    pub(crate) fn body(b: Vec<u8>) -> Self {
        Self {
            result: Ok(b),
            set_cookies: Vec::new(),
        }
    }

    /// A transport-level failure.
    pub(crate) fn fail(code: ResponseCode) -> Self {
        Self {
            result: Err(code),
            set_cookies: Vec::new(),
        }
    }
}

/// The checked common request headers (MS-OXCMAPIHTTP 2.2.2.1, 2.2.3.3).
pub(crate) struct RequestInfo<'a> {
    pub(crate) request_type: &'a str,
    pub(crate) request_id: RequestId,
    pub(crate) cookie: Option<String>,
}

/// Finds the request's session context and checks it belongs to `user` and `endpoint`.
pub(crate) fn lookup(
    state: &AppState,
    endpoint: Endpoint,
    user: &UserRecord,
    info: &RequestInfo<'_>,
) -> Result<Option<std::sync::Arc<std::sync::Mutex<MailboxContext>>>, ResponseCode> {
    let cookie = info.cookie.as_deref().ok_or(ResponseCode::MissingCookie)?;
    state
        .sessions
        .touch(cookie, endpoint, user.id, &info.request_id)
        .map_err(|e| match e {
            LookupError::NotFound => ResponseCode::ContextNotFound,
            LookupError::NoPrivilege => ResponseCode::NoPrivilege,
            LookupError::BadRequestId => ResponseCode::InvalidHeader,
        })
}

/// The cookie line that creates a session context.
pub(crate) fn context_cookie(value: &str, endpoint: Endpoint) -> String {
    let path = match endpoint {
        Endpoint::Emsmdb => "/mapi/emsmdb/",
        Endpoint::Nspi => "/mapi/nspi/",
    };
    format!("{CONTEXT_COOKIE}={value}; path={path}; secure; HttpOnly")
}

/// An auxiliary buffer with one AUX_EXORGINFO block (MS-OXCRPC 2.2.2.2.17): RPC_HEADER_EXT
/// (Version 0, Flags Last, Size = SizeActual = 8), AUX_HEADER (Size 8, Version 1,
/// Type 0x17 AUX_TYPE_EXORGINFO), OrgFlags (0x1 PUBLIC_FOLDERS_ENABLED).
pub(crate) fn exorginfo_aux(public_folders: bool) -> Vec<u8> {
    let mut w = WriteCursor::new();
    w.u16(0x0000); // Version
    w.u16(0x0004); // Flags: Last
    w.u16(8); // Size
    w.u16(8); // SizeActual
    w.u16(8); // AUX_HEADER.Size
    w.u8(0x01); // AUX_VERSION_1
    w.u8(0x17); // AUX_TYPE_EXORGINFO
    w.u32(u32::from(public_folders));
    w.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exorginfo_bytes() {
        assert_eq!(
            exorginfo_aux(true),
            [0, 0, 4, 0, 8, 0, 8, 0, 8, 0, 1, 0x17, 1, 0, 0, 0]
        );
    }
}
