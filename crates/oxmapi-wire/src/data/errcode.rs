//! MAPI and Exchange error codes as an open set (MS-OXCDATA 2.4 "Error Codes").
//!
//! [MS-OXCDATA 2.4](https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-oxcdata/4b3e7a3e-b4e2-4e5f-8d1a-8b5f1d5c3e0a)
//! lists the MAPI (`MAPI_E_*`) names and the Exchange (`ec*`) names of each code. Unknown codes
//! are kept intact and printed in hex.

use std::fmt;

/// A 32-bit MAPI/Exchange error code (HRESULT-like; 0 is success).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ErrorCode(pub u32);

macro_rules! error_codes {
    ($($name:ident = $value:expr, $mapi:expr, $ec:expr;)*) => {
        impl ErrorCode {
            $(
                #[doc = concat!("`", $mapi, "` / `", $ec, "`")]
                pub const $name: Self = Self($value);
            )*

            /// The MAPI name (`MAPI_E_LOGON_FAILED`) of a known code.
            pub fn mapi_name(self) -> Option<&'static str> {
                match self.0 {
                    $( $value => Some($mapi), )*
                    _ => None,
                }
            }

            /// The Exchange name (`ecLoginFailure`) of a known code.
            pub fn ec_name(self) -> Option<&'static str> {
                match self.0 {
                    $( $value => Some($ec), )*
                    _ => None,
                }
            }
        }
    };
}

error_codes! {
    SUCCESS = 0x0000_0000, "S_OK", "ecSuccess";
    UNKNOWN_USER = 0x0000_03EB, "MAPI_E_UNKNOWN_USER", "ecUnknownUser";
    SERVER_OOM = 0x0000_03F0, "MAPI_E_SERVER_OOM", "ecServerOOM";
    LOGIN_PERM = 0x0000_03F2, "MAPI_E_LOGIN_PERM", "ecLoginPerm";
    NOT_PRIVATE_MDB = 0x0000_0473, "MAPI_E_NOT_PRIVATE_MDB", "ecNotPrivateMDB";
    WRONG_SERVER = 0x0000_0478, "MAPI_E_WRONG_SERVER", "ecWrongServer";
    BUFFER_TOO_SMALL = 0x0000_047D, "MAPI_E_BUFFER_TOO_SMALL", "ecBufferTooSmall";
    RPC_FORMAT = 0x0000_04B6, "MAPI_E_RPC_FORMAT", "ecRpcFormat";
    NULL_OBJECT = 0x0000_04B9, "MAPI_E_NULL_OBJECT", "ecNullObject";
    NOT_IN_QUEUE_EC = 0x0000_0480, "MAPI_E_NOT_IN_QUEUE_SPOOLER", "ecNoRecipients";
    CALL_FAILED = 0x8000_4005, "MAPI_E_CALL_FAILED", "ecError";
    INTERFACE_NOT_SUPPORTED = 0x8000_4002, "MAPI_E_INTERFACE_NOT_SUPPORTED", "ecInterfaceNotSupported";
    NO_SUPPORT = 0x8004_0102, "MAPI_E_NO_SUPPORT", "ecNotSupported";
    BAD_CHARWIDTH = 0x8004_0103, "MAPI_E_BAD_CHARWIDTH", "ecBadCharwidth";
    STRING_TOO_LONG = 0x8004_0105, "MAPI_E_STRING_TOO_LONG", "ecStringTooLarge";
    UNKNOWN_FLAGS = 0x8004_0106, "MAPI_E_UNKNOWN_FLAGS", "ecUnknownFlags";
    INVALID_ENTRYID = 0x8004_0107, "MAPI_E_INVALID_ENTRYID", "ecInvalidEntryId";
    INVALID_OBJECT = 0x8004_0108, "MAPI_E_INVALID_OBJECT", "ecInvalidObject";
    OBJECT_CHANGED = 0x8004_0109, "MAPI_E_OBJECT_CHANGED", "ecObjectModified";
    OBJECT_DELETED = 0x8004_010A, "MAPI_E_OBJECT_DELETED", "ecObjectDeleted";
    BUSY = 0x8004_010B, "MAPI_E_BUSY", "ecBusy";
    NOT_ENOUGH_DISK = 0x8004_010D, "MAPI_E_NOT_ENOUGH_DISK", "ecDiskFull";
    NOT_ENOUGH_RESOURCES = 0x8004_010E, "MAPI_E_NOT_ENOUGH_RESOURCES", "ecInsufficientResrc";
    NOT_FOUND = 0x8004_010F, "MAPI_E_NOT_FOUND", "ecNotFound";
    VERSION = 0x8004_0110, "MAPI_E_VERSION", "ecVersionMismatch";
    LOGON_FAILED = 0x8004_0111, "MAPI_E_LOGON_FAILED", "ecLoginFailure";
    SESSION_LIMIT = 0x8004_0112, "MAPI_E_SESSION_LIMIT", "ecTooManySessions";
    USER_CANCEL = 0x8004_0113, "MAPI_E_USER_CANCEL", "ecUserAbort";
    UNABLE_TO_ABORT = 0x8004_0114, "MAPI_E_UNABLE_TO_ABORT", "ecUnableToAbort";
    NETWORK_ERROR = 0x8004_0115, "MAPI_E_NETWORK_ERROR", "ecRpcFailed";
    DISK_ERROR = 0x8004_0116, "MAPI_E_DISK_ERROR", "ecReadFault";
    TOO_COMPLEX = 0x8004_0117, "MAPI_E_TOO_COMPLEX", "ecTooComplex";
    BAD_COLUMN = 0x8004_0118, "MAPI_E_BAD_COLUMN", "ecBadColumn";
    EXTENDED_ERROR = 0x8004_0119, "MAPI_E_EXTENDED_ERROR", "ecExtendedError";
    COMPUTED = 0x8004_011A, "MAPI_E_COMPUTED", "ecComputed";
    CORRUPT_DATA = 0x8004_011B, "MAPI_E_CORRUPT_DATA", "ecCorruptData";
    UNCONFIGURED = 0x8004_011C, "MAPI_E_UNCONFIGURED", "ecUnconfigured";
    FAILONEPROVIDER = 0x8004_011D, "MAPI_E_FAILONEPROVIDER", "ecFailOneProvider";
    UNKNOWN_CPID = 0x8004_011E, "MAPI_E_UNKNOWN_CPID", "ecUnknownCodePage";
    UNKNOWN_LCID = 0x8004_011F, "MAPI_E_UNKNOWN_LCID", "ecUnknownLocale";
    PASSWORD_CHANGE_REQUIRED = 0x8004_0120, "MAPI_E_PASSWORD_CHANGE_REQUIRED", "ecPasswordChangeRequired";
    PASSWORD_EXPIRED = 0x8004_0121, "MAPI_E_PASSWORD_EXPIRED", "ecPasswordExpired";
    INVALID_WORKSTATION_ACCOUNT = 0x8004_0122, "MAPI_E_INVALID_WORKSTATION_ACCOUNT", "ecInvalidWorkstationAccount";
    INVALID_ACCESS_TIME = 0x8004_0123, "MAPI_E_INVALID_ACCESS_TIME", "ecInvalidAccessTime";
    ACCOUNT_DISABLED = 0x8004_0124, "MAPI_E_ACCOUNT_DISABLED", "ecAccountDisabled";
    END_OF_SESSION = 0x8004_0200, "MAPI_E_END_OF_SESSION", "ecEndOfSession";
    UNKNOWN_ENTRYID = 0x8004_0201, "MAPI_E_UNKNOWN_ENTRYID", "ecUnknownEntryId";
    MISSING_REQUIRED_COLUMN = 0x8004_0202, "MAPI_E_MISSING_REQUIRED_COLUMN", "ecMissingRequiredColumn";
    BAD_VALUE = 0x8004_0301, "MAPI_E_BAD_VALUE", "ecBadValue";
    INVALID_TYPE = 0x8004_0302, "MAPI_E_INVALID_TYPE", "ecInvalidType";
    TYPE_NO_SUPPORT = 0x8004_0303, "MAPI_E_TYPE_NO_SUPPORT", "ecTypeNotSupported";
    UNEXPECTED_TYPE = 0x8004_0304, "MAPI_E_UNEXPECTED_TYPE", "ecUnexpectedType";
    TOO_BIG = 0x8004_0305, "MAPI_E_TOO_BIG", "ecTooBig";
    DECLINE_COPY = 0x8004_0306, "MAPI_E_DECLINE_COPY", "ecDeclineCopy";
    UNEXPECTED_ID = 0x8004_0307, "MAPI_E_UNEXPECTED_ID", "ecUnexpectedId";
    UNABLE_TO_COMPLETE = 0x8004_0400, "MAPI_E_UNABLE_TO_COMPLETE", "ecUnableToComplete";
    TIMEOUT = 0x8004_0401, "MAPI_E_TIMEOUT", "ecTimeout";
    TABLE_EMPTY = 0x8004_0402, "MAPI_E_TABLE_EMPTY", "ecTableEmpty";
    TABLE_TOO_BIG = 0x8004_0403, "MAPI_E_TABLE_TOO_BIG", "ecTableTooBig";
    INVALID_BOOKMARK = 0x8004_0405, "MAPI_E_INVALID_BOOKMARK", "ecInvalidBookmark";
    WAIT = 0x8004_0500, "MAPI_E_WAIT", "ecWait";
    CANCEL = 0x8004_0501, "MAPI_E_CANCEL", "ecCancel";
    NOT_ME = 0x8004_0502, "MAPI_E_NOT_ME", "ecNotMe";
    CORRUPT_STORE = 0x8004_0600, "MAPI_E_CORRUPT_STORE", "ecCorruptStore";
    NOT_IN_QUEUE = 0x8004_0601, "MAPI_E_NOT_IN_QUEUE", "ecNotInQueue";
    NO_SUPPRESS = 0x8004_0602, "MAPI_E_NO_SUPPRESS", "ecNoSuppress";
    COLLISION = 0x8004_0604, "MAPI_E_COLLISION", "ecDuplicateName";
    NOT_INITIALIZED = 0x8004_0605, "MAPI_E_NOT_INITIALIZED", "ecNotInitialized";
    NON_STANDARD = 0x8004_0606, "MAPI_E_NON_STANDARD", "ecNonStandard";
    NO_RECIPIENTS = 0x8004_0607, "MAPI_E_NO_RECIPIENTS", "ecNoRecipients";
    SUBMITTED = 0x8004_0608, "MAPI_E_SUBMITTED", "ecSubmitted";
    HAS_FOLDERS = 0x8004_0609, "MAPI_E_HAS_FOLDERS", "ecFolderHasChildren";
    HAS_MESSAGES = 0x8004_060A, "MAPI_E_HAS_MESSAGES", "ecFolderHasContents";
    FOLDER_CYCLE = 0x8004_060B, "MAPI_E_FOLDER_CYCLE", "ecRootFolder";
    AMBIGUOUS_RECIP = 0x8004_0700, "MAPI_E_AMBIGUOUS_RECIP", "ecAmbiguousRecip";
    NO_ACCESS = 0x8007_0005, "MAPI_E_NO_ACCESS", "ecAccessDenied";
    NOT_ENOUGH_MEMORY = 0x8007_000E, "MAPI_E_NOT_ENOUGH_MEMORY", "ecMAPIOOM";
    INVALID_PARAMETER = 0x8007_0057, "MAPI_E_INVALID_PARAMETER", "ecInvalidParam";
    WARN_ERRORS_RETURNED = 0x0004_0380, "MAPI_W_ERRORS_RETURNED", "ecWarnWithErrors";
    WARN_POSITION_CHANGED = 0x0004_0481, "MAPI_W_POSITION_CHANGED", "ecWarnPositionChanged";
    WARN_APPROX_COUNT = 0x0004_0482, "MAPI_W_APPROX_COUNT", "ecWarnApproxCount";
    WARN_PARTIAL_COMPLETION = 0x0004_0680, "MAPI_W_PARTIAL_COMPLETION", "ecPartialCompletion";
}

impl ErrorCode {
    /// True for 0 (success) and for MAPI warnings (`MAPI_W_*`, facility 0x0004 with the
    /// severity bit clear). Exchange `ec*` codes below 0x10000 are errors.
    pub fn is_success(self) -> bool {
        self.0 == 0 || self.0 & 0xFFFF_0000 == 0x0004_0000
    }

    /// True for exactly `ecSuccess`.
    pub fn is_ok(self) -> bool {
        self.0 == 0
    }

    /// The best name: the MAPI name, else the Exchange name, else `None`.
    pub fn name(self) -> Option<&'static str> {
        self.mapi_name()
    }
}

impl fmt::Debug for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for ErrorCode {
    /// `MAPI_E_LOGON_FAILED 0x80040111`, or `0x12345678` for an unknown code.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.mapi_name() {
            Some(n) => write!(f, "{n} 0x{:08X}", self.0),
            None => write!(f, "0x{:08X}", self.0),
        }
    }
}

impl From<u32> for ErrorCode {
    fn from(v: u32) -> Self {
        Self(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_display() {
        assert_eq!(
            ErrorCode::LOGON_FAILED.to_string(),
            "MAPI_E_LOGON_FAILED 0x80040111"
        );
        assert_eq!(ErrorCode(0x80040111).ec_name(), Some("ecLoginFailure"));
        assert_eq!(ErrorCode(0x1234_5678).to_string(), "0x12345678");
        assert_eq!(ErrorCode::FAILONEPROVIDER.0, 0x8004011D);
        assert!(!ErrorCode::NOT_FOUND.is_success());
        assert!(ErrorCode::SUCCESS.is_success());
    }
}
