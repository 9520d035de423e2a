//! Shared pieces of the ROP codec: [`RopId`], the field trait behind the fixed-layout ROPs, and
//! the macros that declare them.

use std::fmt;

use crate::cursor::{ReadCursor, WriteCursor, count_u16};
use crate::data::{ErrorCode, FolderId, MessageId, PropertyTag};
use crate::error::{DecodeError, DecodeResult, EncodeError, EncodeResult};

/// A ROP identifier (MS-OXCROPS 2.2.2 "Table of RopIds"), an open set.
///
/// [MS-OXCROPS 2.2.2](https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-oxcrops/6c623489-576d-45ef-9288-5b62b73c6961)
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct RopId(pub u8);

macro_rules! rop_ids {
    ($($name:ident = $value:expr, $spec:literal;)*) => {
        impl RopId {
            $(
                #[doc = concat!("`", $spec, "`")]
                pub const $name: Self = Self($value);
            )*

            /// The spec name (`RopLogon`) of a known RopId.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $( $value => Some($spec), )*
                    _ => None,
                }
            }
        }
    };
}

rop_ids! {
    RELEASE = 0x01, "RopRelease";
    OPEN_FOLDER = 0x02, "RopOpenFolder";
    OPEN_MESSAGE = 0x03, "RopOpenMessage";
    GET_HIERARCHY_TABLE = 0x04, "RopGetHierarchyTable";
    GET_CONTENTS_TABLE = 0x05, "RopGetContentsTable";
    CREATE_MESSAGE = 0x06, "RopCreateMessage";
    GET_PROPERTIES_SPECIFIC = 0x07, "RopGetPropertiesSpecific";
    GET_PROPERTIES_ALL = 0x08, "RopGetPropertiesAll";
    GET_PROPERTIES_LIST = 0x09, "RopGetPropertiesList";
    SET_PROPERTIES = 0x0A, "RopSetProperties";
    DELETE_PROPERTIES = 0x0B, "RopDeleteProperties";
    SAVE_CHANGES_MESSAGE = 0x0C, "RopSaveChangesMessage";
    REMOVE_ALL_RECIPIENTS = 0x0D, "RopRemoveAllRecipients";
    MODIFY_RECIPIENTS = 0x0E, "RopModifyRecipients";
    READ_RECIPIENTS = 0x0F, "RopReadRecipients";
    RELOAD_CACHED_INFORMATION = 0x10, "RopReloadCachedInformation";
    SET_MESSAGE_READ_FLAG = 0x11, "RopSetMessageReadFlag";
    SET_COLUMNS = 0x12, "RopSetColumns";
    SORT_TABLE = 0x13, "RopSortTable";
    RESTRICT = 0x14, "RopRestrict";
    QUERY_ROWS = 0x15, "RopQueryRows";
    QUERY_POSITION = 0x17, "RopQueryPosition";
    SEEK_ROW = 0x18, "RopSeekRow";
    CREATE_FOLDER = 0x1C, "RopCreateFolder";
    DELETE_FOLDER = 0x1D, "RopDeleteFolder";
    DELETE_MESSAGES = 0x1E, "RopDeleteMessages";
    GET_ATTACHMENT_TABLE = 0x21, "RopGetAttachmentTable";
    OPEN_ATTACHMENT = 0x22, "RopOpenAttachment";
    CREATE_ATTACHMENT = 0x23, "RopCreateAttachment";
    DELETE_ATTACHMENT = 0x24, "RopDeleteAttachment";
    SAVE_CHANGES_ATTACHMENT = 0x25, "RopSaveChangesAttachment";
    SET_RECEIVE_FOLDER = 0x26, "RopSetReceiveFolder";
    GET_RECEIVE_FOLDER = 0x27, "RopGetReceiveFolder";
    NOTIFY = 0x2A, "RopNotify";
    OPEN_STREAM = 0x2B, "RopOpenStream";
    READ_STREAM = 0x2C, "RopReadStream";
    WRITE_STREAM = 0x2D, "RopWriteStream";
    SEEK_STREAM = 0x2E, "RopSeekStream";
    SET_STREAM_SIZE = 0x2F, "RopSetStreamSize";
    SUBMIT_MESSAGE = 0x32, "RopSubmitMessage";
    MOVE_COPY_MESSAGES = 0x33, "RopMoveCopyMessages";
    ABORT_SUBMIT = 0x34, "RopAbortSubmit";
    MOVE_FOLDER = 0x35, "RopMoveFolder";
    COPY_FOLDER = 0x36, "RopCopyFolder";
    OPEN_EMBEDDED_MESSAGE = 0x46, "RopOpenEmbeddedMessage";
    TRANSPORT_SEND = 0x4A, "RopTransportSend";
    GET_NAMES_FROM_PROPERTY_IDS = 0x55, "RopGetNamesFromPropertyIds";
    GET_PROPERTY_IDS_FROM_NAMES = 0x56, "RopGetPropertyIdsFromNames";
    EMPTY_FOLDER = 0x58, "RopEmptyFolder";
    COMMIT_STREAM = 0x5D, "RopCommitStream";
    GET_STREAM_SIZE = 0x5E, "RopGetStreamSize";
    SET_READ_FLAGS = 0x66, "RopSetReadFlags";
    PENDING = 0x6E, "RopPending";
    HARD_DELETE_MESSAGES = 0x91, "RopHardDeleteMessages";
    HARD_DELETE_MESSAGES_AND_SUBFOLDERS = 0x92, "RopHardDeleteMessagesAndSubfolders";
    BACKOFF = 0xF9, "RopBackoff";
    LOGON = 0xFE, "RopLogon";
    BUFFER_TOO_SMALL = 0xFF, "RopBufferTooSmall";
}

impl fmt::Debug for RopId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n}(0x{:02X})", self.0),
            None => write!(f, "RopId(0x{:02X})", self.0),
        }
    }
}

impl fmt::Display for RopId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// A fixed-size wire field of a ROP: read and written little-endian.
pub(crate) trait WireField: Sized {
    /// Reads the field, naming it `field` in errors.
    fn read(r: &mut ReadCursor<'_>, field: &'static str) -> DecodeResult<Self>;
    /// Writes the field.
    fn write(&self, w: &mut WriteCursor);
}

macro_rules! int_field {
    ($($ty:ty => $read:ident, $write:ident;)*) => {
        $(
            impl WireField for $ty {
                fn read(r: &mut ReadCursor<'_>, field: &'static str) -> DecodeResult<Self> {
                    r.$read(field)
                }
                fn write(&self, w: &mut WriteCursor) {
                    w.$write(*self);
                }
            }
        )*
    };
}

int_field! {
    u8 => u8, u8;
    u16 => u16, u16;
    u32 => u32, u32;
    i32 => i32, i32;
    u64 => u64, u64;
}

macro_rules! u64_newtype_field {
    ($($ty:ty),*) => {
        $(
            impl WireField for $ty {
                fn read(r: &mut ReadCursor<'_>, field: &'static str) -> DecodeResult<Self> {
                    Ok(Self(r.u64(field)?))
                }
                fn write(&self, w: &mut WriteCursor) {
                    w.u64(self.0);
                }
            }
        )*
    };
}

u64_newtype_field!(FolderId, MessageId);

impl WireField for PropertyTag {
    fn read(r: &mut ReadCursor<'_>, field: &'static str) -> DecodeResult<Self> {
        Ok(Self(r.u32(field)?))
    }
    fn write(&self, w: &mut WriteCursor) {
        w.u32(self.0);
    }
}

impl WireField for ErrorCode {
    fn read(r: &mut ReadCursor<'_>, field: &'static str) -> DecodeResult<Self> {
        Ok(Self(r.u32(field)?))
    }
    fn write(&self, w: &mut WriteCursor) {
        w.u32(self.0);
    }
}

impl<T: WireField + Copy + Default, const N: usize> WireField for [T; N] {
    fn read(r: &mut ReadCursor<'_>, field: &'static str) -> DecodeResult<Self> {
        let mut a = [T::default(); N];
        for slot in &mut a {
            *slot = T::read(r, field)?;
        }
        Ok(a)
    }
    fn write(&self, w: &mut WriteCursor) {
        for v in self {
            v.write(w);
        }
    }
}

/// Consumes the RopId byte and checks it is `id`.
pub(crate) fn expect_rop_id(r: &mut ReadCursor<'_>, id: RopId) -> DecodeResult<()> {
    let at = r.offset();
    let got = RopId(r.u8("RopId")?);
    if got == id {
        Ok(())
    } else {
        Err(DecodeError::invalid(
            "RopId",
            at,
            format!("expected {id:?}, found {got:?}"),
        ))
    }
}

/// Writes the common response header: RopId, handle index, ReturnValue.
pub(crate) fn write_response_header(
    w: &mut WriteCursor,
    id: RopId,
    handle_index: u8,
    ret: ErrorCode,
) {
    w.u8(id.0);
    w.u8(handle_index);
    w.u32(ret.0);
}

/// Reads `count` (u16) then that many property tags.
pub(crate) fn read_tags(
    r: &mut ReadCursor<'_>,
    count_field: &'static str,
) -> DecodeResult<Vec<PropertyTag>> {
    let n = usize::from(r.u16(count_field)?);
    r.ensure(n * 4, "PropertyTags")?;
    (0..n)
        .map(|_| PropertyTag::read(r, "PropertyTag"))
        .collect()
}

/// Writes a u16 count then the tags.
pub(crate) fn write_tags(
    w: &mut WriteCursor,
    tags: &[PropertyTag],
    structure: &'static str,
    count_field: &'static str,
) -> EncodeResult {
    w.u16(count_u16(tags.len(), structure, count_field)?);
    for t in tags {
        t.write(w);
    }
    Ok(())
}

/// Writes text as a NUL-terminated 8-bit string, refusing characters above U+00FF and NULs
/// (8-bit strings decode as Latin-1, so this keeps decode/encode exact inverses).
pub(crate) fn write_latin1_z(
    w: &mut WriteCursor,
    s: &str,
    structure: &'static str,
    field: &'static str,
) -> EncodeResult {
    check_latin1(s, structure, field)?;
    w.ascii_z(s);
    Ok(())
}

/// Fails unless `s` is representable as a NUL-terminated 8-bit string.
pub(crate) fn check_latin1(s: &str, structure: &'static str, field: &'static str) -> EncodeResult {
    match s.chars().find(|&c| c == '\0' || u32::from(c) > 0xFF) {
        None => Ok(()),
        Some(c) => Err(EncodeError::Invalid {
            structure,
            field,
            detail: format!(
                "character U+{:04X} cannot be sent as an 8-bit string",
                u32::from(c)
            ),
        }),
    }
}

/// Writes a NUL-terminated UTF-16LE string, refusing embedded NULs.
pub(crate) fn write_utf16_z(
    w: &mut WriteCursor,
    s: &str,
    structure: &'static str,
    field: &'static str,
) -> EncodeResult {
    if s.contains('\0') {
        return Err(EncodeError::Invalid {
            structure,
            field,
            detail: "contains a NUL character".into(),
        });
    }
    w.utf16_z(s);
    Ok(())
}

/// Declares a ROP request with only fixed-size fields after the RopId.
macro_rules! rop_request {
    (
        $(#[$m:meta])*
        pub struct $name:ident = $id:expr, $wire:literal {
            $( $(#[$fm:meta])* pub $field:ident : $ty:ty => $fname:literal, )*
        }
    ) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
        pub struct $name {
            $( $(#[$fm])* pub $field: $ty, )*
        }

        impl $name {
            /// This ROP's RopId.
            pub const ROP_ID: $crate::rop::RopId = $id;
        }

        impl $crate::cursor::Decode for $name {
            fn decode(r: &mut $crate::cursor::ReadCursor<'_>) -> $crate::error::DecodeResult<Self> {
                use $crate::error::DecodeContext as _;
                use $crate::rop::wire::WireField as _;
                (|| {
                    $crate::rop::wire::expect_rop_id(r, $id)?;
                    Ok(Self { $( $field: <$ty>::read(r, $fname)?, )* })
                })()
                .within($wire)
            }
        }

        impl $crate::cursor::Encode for $name {
            fn encode(&self, w: &mut $crate::cursor::WriteCursor) -> $crate::error::EncodeResult {
                use $crate::rop::wire::WireField as _;
                w.u8($id.0);
                $( self.$field.write(w); )*
                Ok(())
            }
        }
    };
}

/// Declares a ROP success response with only fixed-size fields after the header.
macro_rules! rop_response {
    (
        $(#[$m:meta])*
        pub struct $name:ident = $id:path {
            $(#[$hm:meta])* pub $hfield:ident : u8;
            $( $(#[$fm:meta])* pub $field:ident : $ty:ty => $fname:literal, )*
        }
    ) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
        pub struct $name {
            $(#[$hm])* pub $hfield: u8,
            $( $(#[$fm])* pub $field: $ty, )*
        }

        impl $name {
            /// This ROP's RopId.
            pub const ROP_ID: $crate::rop::RopId = $id;

            /// Reads the fields after the header (RopId, handle index, ReturnValue 0).
            #[allow(unused_variables)]
            pub(crate) fn decode_body(
                r: &mut $crate::cursor::ReadCursor<'_>,
                $hfield: u8,
            ) -> $crate::error::DecodeResult<Self> {
                #[allow(unused_imports)]
                use $crate::rop::wire::WireField as _;
                Ok(Self { $hfield, $( $field: <$ty>::read(r, $fname)?, )* })
            }
        }

        impl $crate::cursor::Encode for $name {
            fn encode(&self, w: &mut $crate::cursor::WriteCursor) -> $crate::error::EncodeResult {
                #[allow(unused_imports)]
                use $crate::rop::wire::WireField as _;
                $crate::rop::wire::write_response_header(
                    w,
                    $id,
                    self.$hfield,
                    $crate::data::ErrorCode::SUCCESS,
                );
                $( self.$field.write(w); )*
                Ok(())
            }
        }
    };
}

pub(crate) use {rop_request, rop_response};
