//! Pieces shared by the write-side ROPs: message ID lists, folder names whose encoding a flag
//! picks, and the PartialCompletion response shape of the folder ROPs.

use crate::cursor::{ReadCursor, WriteCursor, count_u16};
use crate::data::MessageId;
use crate::error::{DecodeResult, EncodeResult};
use crate::rop::wire::{write_latin1_z, write_utf16_z};

/// Reads MessageIdCount (u16) and that many MessageIds.
pub(crate) fn read_message_ids(r: &mut ReadCursor<'_>) -> DecodeResult<Vec<MessageId>> {
    let n = usize::from(r.u16("MessageIdCount")?);
    r.ensure(n * 8, "MessageIds")?;
    (0..n).map(|_| r.u64("MessageId").map(MessageId)).collect()
}

/// Writes MessageIdCount (u16) and the MessageIds.
pub(crate) fn write_message_ids(
    w: &mut WriteCursor,
    ids: &[MessageId],
    structure: &'static str,
) -> EncodeResult {
    w.u16(count_u16(ids.len(), structure, "MessageIdCount")?);
    for id in ids {
        w.u64(id.0);
    }
    Ok(())
}

/// Reads a NUL-terminated string: UTF-16LE when `unicode` is nonzero, else 8-bit (Latin-1).
pub(crate) fn read_flagged_string(
    r: &mut ReadCursor<'_>,
    unicode: u8,
    field: &'static str,
) -> DecodeResult<String> {
    if unicode != 0 {
        r.utf16_z(field)
    } else {
        r.ascii_z(field)
    }
}

/// Writes a NUL-terminated string: UTF-16LE when `unicode` is nonzero, else 8-bit.
pub(crate) fn write_flagged_string(
    w: &mut WriteCursor,
    s: &str,
    unicode: u8,
    structure: &'static str,
    field: &'static str,
) -> EncodeResult {
    if unicode != 0 {
        write_utf16_z(w, s, structure, field)
    } else {
        write_latin1_z(w, s, structure, field)
    }
}

/// Declares a response that carries ReturnValue and PartialCompletion whatever the
/// ReturnValue (the folder ROPs of MS-OXCROPS 2.2.4 that define a single response buffer).
///
/// With `null_destination = true` the ROP also has a Null Destination Failure Response
/// (ecDstNullObject), which this struct refuses to encode.
macro_rules! partial_completion_response {
    (
        $(#[$m:meta])*
        pub struct $name:ident = $id:path, $wire:literal, null_destination = $nd:literal {
            $(#[$hm:meta])* pub $h:ident;
        }
    ) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
        pub struct $name {
            $(#[$hm])* pub $h: u8,
            /// ReturnValue: success, or a failure that still reports PartialCompletion.
            pub return_value: $crate::data::ErrorCode,
            /// PartialCompletion: nonzero when the ROP failed for some of its targets.
            pub partial_completion: u8,
        }

        impl $name {
            /// This ROP's RopId.
            pub const ROP_ID: $crate::rop::RopId = $id;

            pub(crate) fn decode_body(
                r: &mut $crate::cursor::ReadCursor<'_>,
                $h: u8,
                return_value: $crate::data::ErrorCode,
            ) -> $crate::error::DecodeResult<Self> {
                Ok(Self {
                    $h,
                    return_value,
                    partial_completion: r.u8("PartialCompletion")?,
                })
            }
        }

        impl $crate::cursor::Encode for $name {
            fn encode(&self, w: &mut $crate::cursor::WriteCursor) -> $crate::error::EncodeResult {
                if $nd
                    && self.return_value
                        == $crate::rop::NullDestinationFailureResponse::RETURN_VALUE
                {
                    return Err($crate::error::EncodeError::Invalid {
                        structure: $wire,
                        field: "ReturnValue",
                        detail: "ecDstNullObject uses NullDestinationFailureResponse".into(),
                    });
                }
                $crate::rop::wire::write_response_header(w, $id, self.$h, self.return_value);
                w.u8(self.partial_completion);
                Ok(())
            }
        }
    };
}

pub(crate) use partial_completion_response;
