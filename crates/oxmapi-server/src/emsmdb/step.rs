//! What one ROP produces ([`Step`]) and the helpers every handler builds it with: encoding a
//! response, the generic failure response (MS-OXCROPS 2.2.15), the handle slots of the
//! request's Server object handle table (MS-OXCROPS 2.2.1).
//!
//! A leaf: it knows nothing of the session, the store or the handlers.

use oxmapi_wire::data::ErrorCode;
use oxmapi_wire::rop::{RopErrorResponse, RopId};
use oxmapi_wire::{Encode, EncodeResult, WriteCursor};

/// The result of one ROP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Step {
    /// A response to append (possibly a failure response).
    Reply(Vec<u8>),
    /// RopRelease: no response.
    Silent,
    /// The response did not fit; nothing was changed. Carries the size that was needed.
    NoRoom(usize),
    /// A ROP this server does not process: its failure response, after which processing
    /// stops (MS-OXCROPS 3.2.5.1; a request's length is only known from its layout).
    Stop(Vec<u8>),
}

/// Room every side-effecting message, attachment and stream ROP needs before it acts (their
/// largest fixed response is 15 bytes), so a RopBufferTooSmall never follows a change.
pub(super) const WRITE_ROOM: usize = 16;

/// Encodes one response.
pub(super) fn encode(resp: &impl Encode) -> EncodeResult<Vec<u8>> {
    let mut w = WriteCursor::new();
    resp.encode(&mut w)?;
    Ok(w.into_inner())
}

/// The encoded size of a response (`usize::MAX` when it cannot be encoded).
pub(super) fn encoded_len(resp: &impl Encode) -> usize {
    let mut w = WriteCursor::new();
    match resp.encode(&mut w) {
        Ok(()) => w.len(),
        Err(_) => usize::MAX,
    }
}

/// The generic failure response bytes (MS-OXCROPS 2.2.15: RopId, handle index,
/// ReturnValue); a success code cannot be sent as a failure and becomes ecError.
pub(super) fn error_bytes(rop: RopId, index: u8, ec: ErrorCode) -> Vec<u8> {
    let return_value = if ec == ErrorCode::SUCCESS {
        ErrorCode::CALL_FAILED
    } else {
        ec
    };
    let resp = RopErrorResponse {
        rop_id: rop,
        handle_index: index,
        return_value,
    };
    // INVARIANT: a failure response with a non-zero ReturnValue always encodes.
    encode(&resp).unwrap_or_default()
}

/// The generic failure response.
pub(super) fn fail(rop: RopId, index: u8, ec: ErrorCode) -> Step {
    Step::Reply(error_bytes(rop, index, ec))
}

/// A success response, or ecError when it cannot be encoded.
pub(super) fn reply(rop: RopId, index: u8, resp: &impl Encode) -> Step {
    match encode(resp) {
        Ok(b) => Step::Reply(b),
        Err(e) => {
            tracing::warn!(error = %e, ?rop, "encoding a response failed");
            fail(rop, index, ErrorCode::CALL_FAILED)
        }
    }
}

/// The answer to a ROP this server does not process, from its raw request bytes `raw`
/// (RopId, LogonId, then the byte taken as its handle index): ecNotSupported, and the rest
/// of the buffer is not processed (MS-OXCROPS 3.2.5.1).
pub(super) fn unsupported(raw: &[u8]) -> Step {
    let id = RopId(raw.first().copied().unwrap_or(0));
    let index = raw.get(2).copied().unwrap_or(0);
    Step::Stop(error_bytes(id, index, ErrorCode::NO_SUPPORT))
}

/// The handle in slot `index` of the request's handle table; ecNullObject past its end.
pub(super) fn slot(handles: &[u32], index: u8) -> Result<u32, ErrorCode> {
    handles
        .get(usize::from(index))
        .copied()
        .ok_or(ErrorCode::NULL_OBJECT)
}

/// Checks an output slot exists: ecInvalidParam otherwise.
pub(super) fn out_slot(handles: &[u32], index: u8) -> Result<(), ErrorCode> {
    if usize::from(index) < handles.len() {
        Ok(())
    } else {
        Err(ErrorCode::INVALID_PARAMETER)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The failure form is the generic one; a success code cannot be sent as a failure.
    #[test]
    fn error_bytes_are_header_only() {
        let b = error_bytes(RopId::OPEN_FOLDER, 3, ErrorCode::NOT_FOUND);
        assert_eq!(b, [0x02, 3, 0x0F, 0x01, 0x04, 0x80]);
        let b = error_bytes(RopId::OPEN_FOLDER, 3, ErrorCode::SUCCESS);
        assert_eq!(b, [0x02, 3, 0x05, 0x40, 0x00, 0x80]);
    }

    /// An unsupported ROP echoes its RopId and the byte after LogonId, and stops the buffer.
    #[test]
    fn unsupported_stops_with_no_support() {
        assert_eq!(
            unsupported(&[0x99, 0, 7, 1]),
            Step::Stop(vec![0x99, 7, 0x02, 0x01, 0x04, 0x80])
        );
        assert_eq!(
            unsupported(&[0x99]),
            Step::Stop(vec![0x99, 0, 0x02, 0x01, 0x04, 0x80])
        );
    }

    #[test]
    fn slots() {
        assert_eq!(slot(&[5, 6], 1), Ok(6));
        assert_eq!(slot(&[5, 6], 2), Err(ErrorCode::NULL_OBJECT));
        assert_eq!(out_slot(&[5, 6], 1), Ok(()));
        assert_eq!(out_slot(&[5, 6], 2), Err(ErrorCode::INVALID_PARAMETER));
    }
}
