//! RopRelease, the generic failure response and the special responses RopBufferTooSmall and
//! RopBackoff (MS-OXCROPS 2.2.15).

use crate::cursor::{Decode, Encode, ReadCursor, WriteCursor, count_u16};
use crate::data::ErrorCode;
use crate::error::{DecodeContext, DecodeResult, EncodeError, EncodeResult};
use crate::rop::wire::{RopId, expect_rop_id, rop_request, write_response_header};

rop_request! {
    /// MS-OXCROPS 2.2.15.3.1 RopRelease request. RopRelease has no response.
    pub struct ReleaseRequest = RopId::RELEASE, "RopRelease request" {
        /// LogonId.
        pub logon_id: u8 => "LogonId",
        /// InputHandleIndex: the object to release.
        pub input_handle_index: u8 => "InputHandleIndex",
    }
}

/// The generic failure response of a ROP: RopId, handle index, a non-zero ReturnValue and
/// nothing else (e.g. MS-OXCROPS 2.2.4.1.3 RopOpenFolder failure response).
///
/// The handle index is the request's OutputHandleIndex for ROPs that create an object, else
/// its InputHandleIndex.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RopErrorResponse {
    /// RopId of the failed ROP.
    pub rop_id: RopId,
    /// OutputHandleIndex or InputHandleIndex, as in the request.
    pub handle_index: u8,
    /// ReturnValue (never 0).
    pub return_value: ErrorCode,
}

impl Encode for RopErrorResponse {
    fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        if self.return_value == ErrorCode::SUCCESS {
            return Err(EncodeError::Invalid {
                structure: "ROP failure response",
                field: "ReturnValue",
                detail: "a failure response cannot carry success".into(),
            });
        }
        write_response_header(w, self.rop_id, self.handle_index, self.return_value);
        Ok(())
    }
}

/// MS-OXCROPS 2.2.15.1 RopBufferTooSmall response: the last response of a buffer when the
/// rest did not fit.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BufferTooSmallResponse {
    /// SizeNeeded: output buffer size the next request should allow.
    pub size_needed: u16,
    /// RequestBuffers: the request bytes not processed (runs to the end of the ROP list).
    pub request_buffers: Vec<u8>,
}

impl BufferTooSmallResponse {
    /// This ROP's RopId.
    pub const ROP_ID: RopId = RopId::BUFFER_TOO_SMALL;
}

impl Decode for BufferTooSmallResponse {
    /// Reads the response, consuming the rest of `r` as RequestBuffers.
    fn decode(r: &mut ReadCursor<'_>) -> DecodeResult<Self> {
        (|| {
            expect_rop_id(r, Self::ROP_ID)?;
            let size_needed = r.u16("SizeNeeded")?;
            let request_buffers = r.bytes(r.remaining(), "RequestBuffers")?.to_vec();
            Ok(Self {
                size_needed,
                request_buffers,
            })
        })()
        .within("RopBufferTooSmall response")
    }
}

impl Encode for BufferTooSmallResponse {
    fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        w.u8(Self::ROP_ID.0);
        w.u16(self.size_needed);
        w.bytes(&self.request_buffers);
        Ok(())
    }
}

/// BackoffRopData (MS-OXCROPS 2.2.15.2.1.1): one ROP to delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BackoffRop {
    /// RopIdBackoff: the ROP to delay.
    pub rop_id: RopId,
    /// Duration in milliseconds.
    pub duration: u32,
}

/// MS-OXCROPS 2.2.15.2 RopBackoff response: the server asks the client to wait.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BackoffResponse {
    /// LogonId the back-off applies to.
    pub logon_id: u8,
    /// Duration in milliseconds for the whole logon.
    pub duration: u32,
    /// BackoffRopData (BackoffRopCount of them; none means every ROP of the logon).
    pub backoff_rops: Vec<BackoffRop>,
    /// AdditionalData (AdditionalDataSize is derived).
    pub additional_data: Vec<u8>,
}

impl BackoffResponse {
    /// This ROP's RopId.
    pub const ROP_ID: RopId = RopId::BACKOFF;
}

impl Decode for BackoffResponse {
    fn decode(r: &mut ReadCursor<'_>) -> DecodeResult<Self> {
        (|| {
            expect_rop_id(r, Self::ROP_ID)?;
            let logon_id = r.u8("LogonId")?;
            let duration = r.u32("Duration")?;
            let n = r.u8("BackoffRopCount")?;
            let backoff_rops = (0..n)
                .map(|_| {
                    Ok(BackoffRop {
                        rop_id: RopId(r.u8("RopIdBackoff")?),
                        duration: r.u32("Duration")?,
                    })
                })
                .collect::<DecodeResult<_>>()?;
            let size = usize::from(r.u16("AdditionalDataSize")?);
            let additional_data = r.bytes(size, "AdditionalData")?.to_vec();
            Ok(Self {
                logon_id,
                duration,
                backoff_rops,
                additional_data,
            })
        })()
        .within("RopBackoff response")
    }
}

impl Encode for BackoffResponse {
    fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        const S: &str = "RopBackoff response";
        w.u8(Self::ROP_ID.0);
        w.u8(self.logon_id);
        w.u32(self.duration);
        let n = self.backoff_rops.len();
        w.u8(u8::try_from(n).map_err(|_| EncodeError::TooLarge {
            structure: S,
            field: "BackoffRopCount",
            value: n,
            max: 255,
        })?);
        for b in &self.backoff_rops {
            w.u8(b.rop_id.0);
            w.u32(b.duration);
        }
        w.u16(count_u16(
            self.additional_data.len(),
            S,
            "AdditionalDataSize",
        )?);
        w.bytes(&self.additional_data);
        Ok(())
    }
}
