//! ROP input and output buffers (MS-OXCROPS 2.2.1).
//!
//! ```text
//! RopSize u16            size of RopSize itself + RopsList
//! RopsList               the ROP requests (input) or responses (output)
//! ServerObjectHandleTable u32 × n, to the end of the payload
//! ```
//!
//! [MS-OXCROPS 2.2.1](https://learn.microsoft.com/es-es/openspecs/exchange_server_protocols/ms-oxcrops/b1a0f8d1-374a-41bd-a929-a3355475fb56)

use std::collections::HashMap;

use crate::cursor::{Decode, Encode, ReadCursor, WriteCursor};
use crate::data::PropertyTag;
use crate::error::{DecodeContext, DecodeError, DecodeResult, EncodeResult};
use crate::rop::context::{MissingColumns, ResponseContext};
use crate::rop::notify::UndecodedNotifications;
use crate::rop::request::RopRequest;
use crate::rop::response::RopResponse;

/// The ROP input buffer a client sends (MS-OXCROPS 2.2.1).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RopRequestBuffer {
    /// RopsList: the requests, in order.
    pub rops: Vec<RopRequest>,
    /// ServerObjectHandleTable: handles the requests' index bytes refer to (0xFFFFFFFF for
    /// slots that will receive new objects).
    pub handles: Vec<u32>,
}

/// The ROP output buffer a server returns (MS-OXCROPS 2.2.1).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RopResponseBuffer {
    /// RopsList: the responses, in order (RopRelease requests get none).
    pub rops: Vec<RopResponse>,
    /// ServerObjectHandleTable after processing, same slot count as the request's.
    pub handles: Vec<u32>,
}

impl RopRequestBuffer {
    /// Decodes a ROP input buffer (server side; no context needed).
    pub fn decode(payload: &[u8]) -> DecodeResult<Self> {
        decode_frame(payload, "ROP input buffer", |list| {
            let mut rops = Vec::new();
            while !list.is_empty() {
                rops.push(RopRequest::decode(list)?);
            }
            Ok(rops)
        })
        .map(|(rops, handles)| Self { rops, handles })
    }

    /// Encodes the buffer.
    pub fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        encode_frame(w, &self.rops, &self.handles, "ROP input buffer")
    }

    /// The buffer as bytes.
    pub fn to_bytes(&self) -> EncodeResult<Vec<u8>> {
        let mut w = WriteCursor::new();
        self.encode(&mut w)?;
        Ok(w.into_inner())
    }

    /// One [`ResponseContext`] per request, for [`RopResponseBuffer::decode`].
    ///
    /// Column sets for RopQueryRows come from a RopSetColumns earlier in this buffer on the
    /// same InputHandleIndex, else from `known_columns(index, handle_index)`; RopReadRecipients
    /// always asks `known_columns` (its columns come from the message's RopOpenMessage
    /// response). `index` is the request's position in [`Self::rops`].
    pub fn response_contexts(
        &self,
        mut known_columns: impl FnMut(usize, u8) -> Option<Vec<PropertyTag>>,
    ) -> Result<Vec<ResponseContext>, MissingColumns> {
        let mut set_here: HashMap<u8, Vec<PropertyTag>> = HashMap::new();
        let mut out = Vec::with_capacity(self.rops.len());
        for (index, rop) in self.rops.iter().enumerate() {
            let h = rop.input_handle_index();
            let columns = match rop {
                RopRequest::SetColumns(s) => {
                    set_here.insert(h, s.property_tags.clone());
                    None
                }
                RopRequest::QueryRows(_) => set_here
                    .get(&h)
                    .cloned()
                    .or_else(|| known_columns(index, h)),
                RopRequest::ReadRecipients(_) => known_columns(index, h),
                _ => None,
            };
            let ctx = rop
                .response_context(columns.as_deref())
                .ok_or(MissingColumns {
                    index,
                    rop_id: rop.rop_id(),
                    handle_index: h,
                })?;
            out.push(ctx);
        }
        Ok(out)
    }
}

impl RopResponseBuffer {
    /// Decodes a ROP output buffer (client side) against one context per request sent.
    ///
    /// Release contexts are skipped (RopRelease has no response). The server may stop early
    /// (RopBufferTooSmall, which ends the list, or simply fewer responses); RopBackoff,
    /// RopNotify and RopPending responses may appear anywhere and answer no request
    /// (MS-OXCROPS 2.2.14). A response whose RopId does not match its request's is an error,
    /// and so is a response with no request left to answer.
    ///
    /// Once every expected answer is decoded, whatever fails to decode from a RopNotify or
    /// RopPending on (including what follows a notification whose layout misled us) is kept
    /// as [`RopResponse::UndecodedNotifications`], the last entry: RopSize frames the list,
    /// so the handle table is still read. Before that point it is an error, since the
    /// answers after it could not be found.
    pub fn decode(payload: &[u8], ctx: &[ResponseContext]) -> DecodeResult<Self> {
        decode_frame(payload, "ROP output buffer", |list| {
            let mut pending = ctx.iter().filter(|c| c.expects_response()).peekable();
            let mut rops: Vec<RopResponse> = Vec::new();
            while !list.is_empty() {
                let at = list.offset();
                let unsolicited = matches!(list.rest().first(), Some(0x2A | 0x6E));
                let after_notification = rops.last().is_some_and(RopResponse::is_unsolicited);
                if pending.peek().is_none() && (unsolicited || after_notification) {
                    rops.push(decode_or_keep(list)?);
                    continue;
                }
                let rop = if is_special(list) {
                    // The context is not consulted for special or unsolicited responses.
                    RopResponse::decode(list, &ResponseContext::Release)?
                } else {
                    let c = pending.next().ok_or_else(|| no_request_left(at))?;
                    RopResponse::decode(list, c)?
                };
                rops.push(rop);
            }
            Ok(rops)
        })
        .map(|(rops, handles)| Self { rops, handles })
    }

    /// Encodes the buffer (server side); rows are laid out by the column sets the responses
    /// carry.
    pub fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        encode_frame(w, &self.rops, &self.handles, "ROP output buffer")
    }

    /// The buffer as bytes.
    pub fn to_bytes(&self) -> EncodeResult<Vec<u8>> {
        let mut w = WriteCursor::new();
        self.encode(&mut w)?;
        Ok(w.into_inner())
    }
}

fn no_request_left(at: usize) -> DecodeError {
    DecodeError::invalid("RopId", at, "a response with no request left to answer")
}

/// RopBufferTooSmall, RopBackoff, RopNotify, RopPending: decoded without a context, answering
/// no request.
fn is_special(list: &ReadCursor<'_>) -> bool {
    matches!(list.rest().first(), Some(0xFF | 0xF9 | 0x2A | 0x6E))
}

/// Decodes one response that answers no request, or keeps the rest of the list when it does
/// not decode (only called once every answer is in).
fn decode_or_keep(list: &mut ReadCursor<'_>) -> DecodeResult<RopResponse> {
    let offset = list.offset();
    let mut probe = list.clone();
    let decoded = if is_special(list) {
        RopResponse::decode(&mut probe, &ResponseContext::Release)
    } else {
        Err(no_request_left(offset))
    };
    match decoded {
        Ok(rop) => {
            *list = probe;
            Ok(rop)
        }
        Err(reason) => {
            // Consumes the rest: nothing after it can be told apart.
            let bytes = list.bytes(list.remaining(), "RopsList")?.to_vec();
            Ok(RopResponse::UndecodedNotifications(
                UndecodedNotifications {
                    offset,
                    bytes,
                    reason,
                },
            ))
        }
    }
}

/// Splits RopSize / RopsList / handle table and runs `rops` over the list.
fn decode_frame<T>(
    payload: &[u8],
    structure: &'static str,
    rops: impl FnOnce(&mut ReadCursor<'_>) -> DecodeResult<Vec<T>>,
) -> DecodeResult<(Vec<T>, Vec<u32>)> {
    (|| {
        let mut r = ReadCursor::new(payload);
        let rop_size = usize::from(r.u16("RopSize")?);
        if rop_size < 2 {
            return Err(DecodeError::invalid(
                "RopSize",
                0,
                format!("{rop_size} is less than the 2 bytes of RopSize itself"),
            ));
        }
        if rop_size > payload.len() {
            return Err(DecodeError::truncated(
                "RopsList",
                2,
                rop_size - 2,
                payload.len() - 2,
            ));
        }
        let mut list = r.sub(rop_size - 2, "RopsList")?;
        let rops = rops(&mut list).within("RopsList")?;
        let table = r.remaining();
        if !table.is_multiple_of(4) {
            return Err(DecodeError::invalid(
                "ServerObjectHandleTable",
                r.offset(),
                format!("{table} bytes is not a whole number of 4-byte handles"),
            ));
        }
        let handles = (0..table / 4)
            .map(|_| r.u32("ServerObjectHandle"))
            .collect::<DecodeResult<_>>()?;
        Ok((rops, handles))
    })()
    .within(structure)
}

fn encode_frame<T: Encode>(
    w: &mut WriteCursor,
    rops: &[T],
    handles: &[u32],
    structure: &'static str,
) -> EncodeResult {
    let start = w.len();
    let at = w.reserve_u16();
    for rop in rops {
        rop.encode(w)?;
    }
    let size = w.len() - start;
    w.patch_u16(at, size, structure, "RopSize")?;
    for h in handles {
        w.u32(*h);
    }
    Ok(())
}
