//! The Execute entry point ([`MailboxContext::execute`]): one Execute request (MS-OXCMAPIHTTP
//! 2.2.4.2) or EcDoRpcExt2 call. Unpacks rgbIn (one RPC_HEADER_EXT), runs its ROPs
//! (`dispatch`) within the request's store time budget, appends the queued table
//! notifications, and packs the responses into rgbOut within MaxRopOut, continuing a trailing
//! RopQueryRows into further segments when the client set the Chain flag (MS-OXCRPC
//! 3.1.4.2.1.1).
//!
//! A composition module: no other module imports it.

use oxmapi_wire::data::ErrorCode;
use oxmapi_wire::rpcext::{
    MAX_SEGMENT_PAYLOAD, PackOptions, UnpackLimits, pack_segment, unpack_segments_within,
};

use super::context::MailboxContext;
use super::dispatch;
use super::table_rops;

/// Execute Flags / pulFlags (MS-OXCRPC 3.1.4.2): do not compress the response.
const FLAG_NO_COMPRESSION: u32 = 0x1;
/// Do not obfuscate the response.
const FLAG_NO_XOR_MAGIC: u32 = 0x2;
/// Several RPC_HEADER_EXT segments may be returned.
const FLAG_CHAIN: u32 = 0x4;
/// RPC_HEADER_EXT size.
const RHE_SIZE: usize = 8;

impl MailboxContext {
    /// Runs one ROP buffer. `flags` are the Execute Flags, `rop_buffer` is rgbIn,
    /// `max_rop_out` the size limit of the returned rgbOut. An error is the Execute
    /// ErrorCode: ecRpcFormat for a malformed buffer, ecBufferTooSmall when not even a
    /// RopBufferTooSmall response fits.
    pub(crate) fn execute(
        &mut self,
        flags: u32,
        rop_buffer: &[u8],
        max_rop_out: u32,
    ) -> Result<Vec<u8>, ErrorCode> {
        let out = self.execute_budgeted(flags, rop_buffer, max_rop_out);
        self.db.end_request();
        out
    }

    fn execute_budgeted(
        &mut self,
        flags: u32,
        rop_buffer: &[u8],
        max_rop_out: u32,
    ) -> Result<Vec<u8>, ErrorCode> {
        // MS-OXCRPC 3.1.4.2.1: one segment of at most 32 KB (no packing was offered); the
        // headers are checked before anything is inflated.
        let segments = unpack_segments_within(rop_buffer, UnpackLimits::REQUEST).map_err(|e| {
            tracing::debug!("ROP request buffer refused: {e}");
            ErrorCode::RPC_FORMAT
        })?;
        let [segment] = segments.as_slice() else {
            return Err(ErrorCode::RPC_FORMAT);
        };
        let (rops, mut handles) = split_rop_input(&segment.payload)?;
        let max_out = usize::try_from(max_rop_out).unwrap_or(usize::MAX);
        let seg_limit = MAX_SEGMENT_PAYLOAD.min(max_out.saturating_sub(RHE_SIZE));
        let fixed = 2 + 4 * handles.len();
        let budget = seg_limit
            .checked_sub(fixed)
            .ok_or(ErrorCode::BUFFER_TOO_SMALL)?;

        self.db.begin_request(self.limits.request_time_budget);
        let outcome = dispatch::run_buffer(self, rops, &mut handles, budget);
        let left = self.db.pause();
        let mut outcome = outcome?;
        // MS-OXCNOTIF 3.1.5.6, 3.1.5.7: queued RopNotify (then RopPending) responses follow
        // the answers of the first segment; never a RopBufferTooSmall (its RequestBuffers run
        // to the end of the list) or a RopBackoff (nothing follows what was delayed), never the
        // chained RopQueryRows segments.
        self.poll_notifications();
        if !outcome.too_small && !outcome.backoff {
            self.append_notifications(&mut outcome.responses, budget);
        }
        // The chained RopQueryRows segments spend what the ROPs left of the budget.
        self.db.resume(left);
        let mut payloads = vec![rop_output(&outcome.responses, &handles)?];

        if flags & FLAG_CHAIN != 0
            && let Some(mut cont) = outcome.chain
        {
            let mut used = RHE_SIZE + payloads[0].len();
            loop {
                let room = MAX_SEGMENT_PAYLOAD.min(max_out.saturating_sub(used + RHE_SIZE));
                let Some(room) = room.checked_sub(fixed) else {
                    break;
                };
                let Some(resp) = table_rops::continue_query_rows(self, &mut cont, room)? else {
                    break;
                };
                let payload = rop_output(&resp, &handles)?;
                used += RHE_SIZE + payload.len();
                payloads.push(payload);
                if cont.done {
                    break;
                }
            }
        }

        let opts = PackOptions {
            compress: flags & FLAG_NO_COMPRESSION == 0,
            xor: flags & FLAG_NO_XOR_MAGIC == 0,
            last: false,
        };
        let mut out = Vec::new();
        let n = payloads.len();
        for (i, p) in payloads.iter().enumerate() {
            let seg = pack_segment(
                p,
                PackOptions {
                    last: i + 1 == n,
                    ..opts
                },
            )
            .map_err(|_| ErrorCode::CALL_FAILED)?;
            out.extend(seg);
        }
        Ok(out)
    }
}

/// Splits a ROP input buffer (MS-OXCROPS 2.2.1): `RopSize` counts itself and the ROP list;
/// the rest is the Server object handle table (u32 each).
fn split_rop_input(payload: &[u8]) -> Result<(&[u8], Vec<u32>), ErrorCode> {
    let bad = ErrorCode::RPC_FORMAT;
    let size = payload.get(..2).ok_or(bad)?;
    let rop_size = usize::from(u16::from_le_bytes([size[0], size[1]]));
    if rop_size < 2 || rop_size > payload.len() || !(payload.len() - rop_size).is_multiple_of(4) {
        return Err(bad);
    }
    let rops = &payload[2..rop_size];
    let handles = payload[rop_size..]
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Ok((rops, handles))
}

/// Builds a ROP output buffer: RopSize, responses, handle table (MS-OXCROPS 2.2.1, 3.2.5.2).
fn rop_output(responses: &[u8], handles: &[u32]) -> Result<Vec<u8>, ErrorCode> {
    let rop_size = u16::try_from(responses.len() + 2).map_err(|_| ErrorCode::CALL_FAILED)?;
    let mut out = Vec::with_capacity(2 + responses.len() + 4 * handles.len());
    out.extend_from_slice(&rop_size.to_le_bytes());
    out.extend_from_slice(responses);
    for h in handles {
        out.extend_from_slice(&h.to_le_bytes());
    }
    Ok(out)
}
