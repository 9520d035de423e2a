//! Write-side stream ROPs (MS-OXCROPS 2.2.9, semantics in MS-OXCPRPT 2.2.15 - 2.2.19).
//!
//! Failures use the generic failure response ([`crate::rop::RopErrorResponse`]): RopWriteStream
//! sends no WrittenSize with a non-zero ReturnValue.

use crate::cursor::{Decode, Encode, ReadCursor, WriteCursor, count_u16};
use crate::error::{DecodeContext, DecodeResult, EncodeResult};
use crate::rop::wire::{RopId, expect_rop_id, rop_request, rop_response};

/// MS-OXCROPS 2.2.9.3.1 RopWriteStream request.
///
/// [MS-OXCROPS 2.2.9.3.1](https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-oxcrops/937855f1-27de-4751-a794-98e7e6e840c5)
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WriteStreamRequest {
    /// LogonId.
    pub logon_id: u8,
    /// InputHandleIndex: the stream.
    pub input_handle_index: u8,
    /// Data (DataSize, u16, is derived).
    pub data: Vec<u8>,
}

impl WriteStreamRequest {
    /// This ROP's RopId.
    pub const ROP_ID: RopId = RopId::WRITE_STREAM;
}

impl Decode for WriteStreamRequest {
    fn decode(r: &mut ReadCursor<'_>) -> DecodeResult<Self> {
        (|| {
            expect_rop_id(r, Self::ROP_ID)?;
            let logon_id = r.u8("LogonId")?;
            let input_handle_index = r.u8("InputHandleIndex")?;
            let n = usize::from(r.u16("DataSize")?);
            Ok(Self {
                logon_id,
                input_handle_index,
                data: r.bytes(n, "Data")?.to_vec(),
            })
        })()
        .within("RopWriteStream request")
    }
}

impl Encode for WriteStreamRequest {
    fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        w.u8(Self::ROP_ID.0);
        w.u8(self.logon_id);
        w.u8(self.input_handle_index);
        w.u16(count_u16(
            self.data.len(),
            "RopWriteStream request",
            "DataSize",
        )?);
        w.bytes(&self.data);
        Ok(())
    }
}

rop_response! {
    /// MS-OXCROPS 2.2.9.3.2 RopWriteStream success response.
    pub struct WriteStreamResponse = RopId::WRITE_STREAM {
        /// InputHandleIndex, as in the request.
        pub input_handle_index: u8;
        /// WrittenSize: bytes actually written.
        pub written_size: u16 => "WrittenSize",
    }
}

rop_request! {
    /// MS-OXCROPS 2.2.9.5.1 RopCommitStream request.
    pub struct CommitStreamRequest = RopId::COMMIT_STREAM, "RopCommitStream request" {
        /// LogonId.
        pub logon_id: u8 => "LogonId",
        /// InputHandleIndex: the stream.
        pub input_handle_index: u8 => "InputHandleIndex",
    }
}

rop_response! {
    /// MS-OXCROPS 2.2.9.5.2 RopCommitStream response (header only).
    pub struct CommitStreamResponse = RopId::COMMIT_STREAM {
        /// InputHandleIndex, as in the request.
        pub input_handle_index: u8;
    }
}

rop_request! {
    /// MS-OXCROPS 2.2.9.6.1 RopGetStreamSize request.
    pub struct GetStreamSizeRequest = RopId::GET_STREAM_SIZE, "RopGetStreamSize request" {
        /// LogonId.
        pub logon_id: u8 => "LogonId",
        /// InputHandleIndex: the stream.
        pub input_handle_index: u8 => "InputHandleIndex",
    }
}

rop_response! {
    /// MS-OXCROPS 2.2.9.6.2 RopGetStreamSize success response.
    pub struct GetStreamSizeResponse = RopId::GET_STREAM_SIZE {
        /// InputHandleIndex, as in the request.
        pub input_handle_index: u8;
        /// StreamSize in bytes.
        pub stream_size: u32 => "StreamSize",
    }
}

rop_request! {
    /// MS-OXCROPS 2.2.9.7.1 RopSetStreamSize request.
    pub struct SetStreamSizeRequest = RopId::SET_STREAM_SIZE, "RopSetStreamSize request" {
        /// LogonId.
        pub logon_id: u8 => "LogonId",
        /// InputHandleIndex: the stream.
        pub input_handle_index: u8 => "InputHandleIndex",
        /// StreamSize: the new size in bytes.
        pub stream_size: u64 => "StreamSize",
    }
}

rop_response! {
    /// MS-OXCROPS 2.2.9.7.2 RopSetStreamSize response (header only).
    pub struct SetStreamSizeResponse = RopId::SET_STREAM_SIZE {
        /// InputHandleIndex, as in the request.
        pub input_handle_index: u8;
    }
}

/// Origin values of RopSeekStream (MS-OXCPRPT 2.2.19.1).
pub mod seek_origin {
    /// From the start of the stream.
    pub const BEGINNING: u8 = 0x00;
    /// From the current position.
    pub const CURRENT: u8 = 0x01;
    /// From the end of the stream.
    pub const END: u8 = 0x02;
}

/// MS-OXCROPS 2.2.9.8.1 RopSeekStream request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SeekStreamRequest {
    /// LogonId.
    pub logon_id: u8,
    /// InputHandleIndex: the stream.
    pub input_handle_index: u8,
    /// Origin, see [`seek_origin`].
    pub origin: u8,
    /// Offset from the origin (signed).
    pub offset: i64,
}

impl SeekStreamRequest {
    /// This ROP's RopId.
    pub const ROP_ID: RopId = RopId::SEEK_STREAM;
}

impl Decode for SeekStreamRequest {
    fn decode(r: &mut ReadCursor<'_>) -> DecodeResult<Self> {
        (|| {
            expect_rop_id(r, Self::ROP_ID)?;
            Ok(Self {
                logon_id: r.u8("LogonId")?,
                input_handle_index: r.u8("InputHandleIndex")?,
                origin: r.u8("Origin")?,
                offset: r.i64("Offset")?,
            })
        })()
        .within("RopSeekStream request")
    }
}

impl Encode for SeekStreamRequest {
    fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        w.u8(Self::ROP_ID.0);
        w.u8(self.logon_id);
        w.u8(self.input_handle_index);
        w.u8(self.origin);
        w.i64(self.offset);
        Ok(())
    }
}

rop_response! {
    /// MS-OXCROPS 2.2.9.8.2 RopSeekStream success response.
    pub struct SeekStreamResponse = RopId::SEEK_STREAM {
        /// InputHandleIndex, as in the request.
        pub input_handle_index: u8;
        /// NewPosition: the position after the seek.
        pub new_position: u64 => "NewPosition",
    }
}
