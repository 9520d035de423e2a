//! Stream ROPs (MS-OXCROPS 2.2.9, semantics in MS-OXCPRPT).

use crate::cursor::{Decode, Encode, ReadCursor, WriteCursor, count_u16};
use crate::data::{ErrorCode, PropertyTag};
use crate::error::{DecodeContext, DecodeResult, EncodeError, EncodeResult};
use crate::rop::wire::{RopId, expect_rop_id, rop_request, rop_response, write_response_header};

rop_request! {
    /// MS-OXCROPS 2.2.9.1.1 RopOpenStream request.
    pub struct OpenStreamRequest = RopId::OPEN_STREAM, "RopOpenStream request" {
        /// LogonId.
        pub logon_id: u8 => "LogonId",
        /// InputHandleIndex: the object holding the property.
        pub input_handle_index: u8 => "InputHandleIndex",
        /// OutputHandleIndex: where the stream handle goes.
        pub output_handle_index: u8 => "OutputHandleIndex",
        /// PropertyTag of the property to stream.
        pub property_tag: PropertyTag => "PropertyTag",
        /// OpenModeFlags (0x00 ReadOnly, 0x01 ReadWrite, 0x02 Create, 0x03 BestAccess).
        pub open_mode_flags: u8 => "OpenModeFlags",
    }
}

rop_response! {
    /// MS-OXCROPS 2.2.9.1.2 RopOpenStream success response.
    pub struct OpenStreamResponse = RopId::OPEN_STREAM {
        /// OutputHandleIndex, as in the request.
        pub output_handle_index: u8;
        /// StreamSize in bytes.
        pub stream_size: u32 => "StreamSize",
    }
}

/// MS-OXCROPS 2.2.9.2.1 RopReadStream request.
///
/// MaximumByteCount is present exactly when ByteCount is the sentinel 0xBABE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReadStreamRequest {
    /// LogonId.
    pub logon_id: u8,
    /// InputHandleIndex: the stream.
    pub input_handle_index: u8,
    /// ByteCount: bytes to read, or [`Self::BYTE_COUNT_SENTINEL`].
    pub byte_count: u16,
    /// MaximumByteCount (only with the sentinel ByteCount).
    pub maximum_byte_count: Option<u32>,
}

impl ReadStreamRequest {
    /// This ROP's RopId.
    pub const ROP_ID: RopId = RopId::READ_STREAM;
    /// The ByteCount value that announces MaximumByteCount.
    pub const BYTE_COUNT_SENTINEL: u16 = 0xBABE;
}

impl Decode for ReadStreamRequest {
    fn decode(r: &mut ReadCursor<'_>) -> DecodeResult<Self> {
        (|| {
            expect_rop_id(r, Self::ROP_ID)?;
            let logon_id = r.u8("LogonId")?;
            let input_handle_index = r.u8("InputHandleIndex")?;
            let byte_count = r.u16("ByteCount")?;
            let maximum_byte_count = if byte_count == Self::BYTE_COUNT_SENTINEL {
                Some(r.u32("MaximumByteCount")?)
            } else {
                None
            };
            Ok(Self {
                logon_id,
                input_handle_index,
                byte_count,
                maximum_byte_count,
            })
        })()
        .within("RopReadStream request")
    }
}

impl Encode for ReadStreamRequest {
    fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        if (self.byte_count == Self::BYTE_COUNT_SENTINEL) != self.maximum_byte_count.is_some() {
            return Err(EncodeError::Invalid {
                structure: "RopReadStream request",
                field: "MaximumByteCount",
                detail: "must be present exactly when ByteCount is 0xBABE".into(),
            });
        }
        w.u8(Self::ROP_ID.0);
        w.u8(self.logon_id);
        w.u8(self.input_handle_index);
        w.u16(self.byte_count);
        if let Some(m) = self.maximum_byte_count {
            w.u32(m);
        }
        Ok(())
    }
}

/// MS-OXCROPS 2.2.9.2.2 RopReadStream response with ReturnValue 0.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReadStreamResponse {
    /// InputHandleIndex, as in the request.
    pub input_handle_index: u8,
    /// Data (DataSize is derived).
    pub data: Vec<u8>,
}

impl ReadStreamResponse {
    /// This ROP's RopId.
    pub const ROP_ID: RopId = RopId::READ_STREAM;

    pub(crate) fn decode_body(
        r: &mut ReadCursor<'_>,
        input_handle_index: u8,
    ) -> DecodeResult<Self> {
        let n = usize::from(r.u16("DataSize")?);
        Ok(Self {
            input_handle_index,
            data: r.bytes(n, "Data")?.to_vec(),
        })
    }
}

impl Encode for ReadStreamResponse {
    fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        write_response_header(w, Self::ROP_ID, self.input_handle_index, ErrorCode::SUCCESS);
        w.u16(count_u16(
            self.data.len(),
            "RopReadStream response",
            "DataSize",
        )?);
        w.bytes(&self.data);
        Ok(())
    }
}
