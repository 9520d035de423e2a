//! The session layer's error: opaque, with a kind, the MAPI error code and the failing step.

use std::fmt;

use oxmapi_wire::data::ErrorCode;

use crate::compose::Draft;

/// What kind of failure this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The profile or the ProfileInfo string could not be resolved.
    Profile,
    /// The network could not be reached, or the connection broke.
    Network,
    /// The server's certificate was not accepted.
    Tls,
    /// The credentials were refused.
    Authentication,
    /// A name, folder, message or property was not found.
    NotFound,
    /// A name matched more than one entry.
    Ambiguous,
    /// The server answered with a MAPI error.
    Mapi,
    /// The server sent bytes that do not follow the protocol.
    Protocol,
    /// The request was not allowed (another user's mailbox, for example).
    AccessDenied,
    /// The caller asked for something this library does not do.
    Unsupported,
    /// The server asked the client to back off (RopBackoff, RPC_S_SERVER_TOO_BUSY) for longer
    /// than the call may wait ([`RetryPolicy::backoff_budget`](crate::RetryPolicy)).
    ServerBusy,
}

/// An oxmapi error.
///
/// Its `Display` says which step failed, the MAPI error name and code (`MAPI_E_LOGON_FAILED
/// 0x80040111`) and what happened; [`Error::hint`] says what a person can do about it.
/// Passwords and tokens never appear in it.
pub struct Error {
    kind: ErrorKind,
    code: ErrorCode,
    step: Option<&'static str>,
    message: String,
    hint: Option<String>,
    drafts: Vec<Draft>,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    /// A new error.
    pub fn new(kind: ErrorKind, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            kind,
            code,
            step: None,
            message: message.into(),
            hint: None,
            drafts: Vec::new(),
            source: None,
        }
    }

    /// Records the step that failed (`nspi-resolve`, `emsmdb-connect`, ...).
    #[must_use]
    pub fn at_step(mut self, step: &'static str) -> Self {
        self.step.get_or_insert(step);
        self
    }

    /// Adds a hint a person can act on.
    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Adds what else is known to the message (`...; <note>`).
    #[must_use]
    pub(crate) fn with_note(mut self, note: impl fmt::Display) -> Self {
        self.message = format!("{}; {note}", self.message);
        self
    }

    /// Names a draft the failed call left in the mailbox (it also goes into the message).
    #[must_use]
    pub fn with_draft(mut self, draft: Draft) -> Self {
        self.message = format!("{}; {draft}", self.message);
        self.drafts.push(draft);
        self
    }

    /// Attaches the underlying error.
    #[must_use]
    pub fn with_source(mut self, e: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(e));
        self
    }

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The MAPI error code (`MAPI_E_CALL_FAILED` when nothing more precise is known).
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The MAPI name of the code, such as `MAPI_E_LOGON_FAILED`.
    pub fn mapi_name(&self) -> &'static str {
        self.code.mapi_name().unwrap_or("MAPI_E_UNKNOWN")
    }

    /// The step that failed, if known.
    pub fn step(&self) -> Option<&'static str> {
        self.step
    }

    /// What a person can do about it.
    pub fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    /// The message without step and code.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The unsent drafts the failed call left behind (saved before the failure), so that a
    /// person can send or delete them.
    pub fn drafts(&self) -> &[Draft] {
        &self.drafts
    }

    /// True when the server stayed busy longer than the call could wait (`MAPI_E_BUSY`).
    pub fn is_server_busy(&self) -> bool {
        self.kind == ErrorKind::ServerBusy
    }

    /// True for a refused logon.
    pub fn is_logon_failure(&self) -> bool {
        self.code == ErrorCode::LOGON_FAILED
    }

    /// True when a name or object was not found.
    pub fn is_not_found(&self) -> bool {
        self.kind == ErrorKind::NotFound
    }

    pub(crate) fn profile(e: oxmapi_profile::ProfileError) -> Self {
        Self::new(
            ErrorKind::Profile,
            ErrorCode::INVALID_PARAMETER,
            e.to_string(),
        )
        .at_step("profile")
        .with_source(e)
    }

    pub(crate) fn protocol(
        step: &'static str,
        e: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::new(
            ErrorKind::Protocol,
            ErrorCode::CALL_FAILED,
            format!("the server's answer could not be decoded: {e}"),
        )
        .at_step(step)
        .with_source(e)
    }

    pub(crate) fn mapi(step: &'static str, code: ErrorCode, what: impl Into<String>) -> Self {
        let kind = match code {
            ErrorCode::NOT_FOUND | ErrorCode::UNKNOWN_USER => ErrorKind::NotFound,
            ErrorCode::AMBIGUOUS_RECIP => ErrorKind::Ambiguous,
            ErrorCode::NO_ACCESS | ErrorCode::LOGIN_PERM => ErrorKind::AccessDenied,
            ErrorCode::LOGON_FAILED => ErrorKind::Authentication,
            ErrorCode::NO_SUPPORT => ErrorKind::Unsupported,
            _ => ErrorKind::Mapi,
        };
        Self::new(kind, code, what).at_step(step)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(step) = self.step {
            write!(f, "{step}: ")?;
        }
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.kind)
            .field("code", &self.code)
            .field("step", &self.step)
            .field("message", &self.message)
            .field("hint", &self.hint)
            .field("drafts", &self.drafts)
            .finish_non_exhaustive()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;
