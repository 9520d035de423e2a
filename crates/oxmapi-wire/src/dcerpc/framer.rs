//! Sans-IO framing of the PDU stream (C706 12.6.3.1 `frag_length`) and reassembly of
//! fragmented request/response calls (C706 12.6.3.7, PFC_FIRST_FRAG/PFC_LAST_FRAG).

use super::pdu::{CommonHeader, Pdu, PduBody, PfcFlags};
use super::uuid::Uuid;
use crate::error::{DecodeError, DecodeResult};

/// What the framer has for the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameStatus {
    /// Not a whole PDU yet: at least `needed` more bytes are required. Not an error.
    Incomplete {
        /// Bytes still missing (a lower bound while the header is incomplete).
        needed: usize,
    },
    /// One whole PDU (header included), ready for [`Pdu::from_bytes`] or
    /// [`super::RtsPdu::from_bytes`].
    Ready(Vec<u8>),
}

/// Cuts a byte stream (an RPC_OUT_DATA response body or an RPC_IN_DATA request body) into
/// whole PDUs using `frag_length` from the 16-byte common header.
#[derive(Debug, Default, Clone)]
pub struct PduFramer {
    buf: Vec<u8>,
}

impl PduFramer {
    /// An empty framer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes held that do not form a whole PDU yet.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Returns the next whole PDU, `Incomplete` when more bytes are needed, or an error when
    /// the header is invalid (the stream cannot be resynchronised after that).
    pub fn next_pdu(&mut self) -> DecodeResult<FrameStatus> {
        if self.buf.len() < CommonHeader::SIZE {
            return Ok(FrameStatus::Incomplete {
                needed: CommonHeader::SIZE - self.buf.len(),
            });
        }
        let h = CommonHeader::peek(&self.buf)?;
        let len = usize::from(h.frag_length);
        if self.buf.len() < len {
            return Ok(FrameStatus::Incomplete {
                needed: len - self.buf.len(),
            });
        }
        let rest = self.buf.split_off(len);
        Ok(FrameStatus::Ready(std::mem::replace(&mut self.buf, rest)))
    }
}

/// A call whose fragments were all received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReassembledCall {
    /// call_id.
    pub call_id: u32,
    /// p_cont_id of the first fragment.
    pub context_id: u16,
    /// opnum (requests only).
    pub opnum: Option<u16>,
    /// object UUID (requests only).
    pub object: Option<Uuid>,
    /// The concatenated stub.
    pub stub: Vec<u8>,
}

/// Joins the stub fragments of one request or response call at a time (connection-oriented
/// RPC does not interleave fragments of different calls on one connection, C706 12.4.2.3).
#[derive(Debug, Clone)]
pub struct Reassembler {
    max_stub: usize,
    current: Option<ReassembledCall>,
}

impl Reassembler {
    /// A reassembler that refuses calls whose stub grows beyond `max_stub` bytes.
    pub fn new(max_stub: usize) -> Self {
        Self {
            max_stub,
            current: None,
        }
    }

    /// Feeds one decoded request or response fragment. Returns the whole call after its
    /// PFC_LAST_FRAG fragment, `None` while more fragments are expected.
    pub fn push(&mut self, pdu: &Pdu) -> DecodeResult<Option<ReassembledCall>> {
        let (context_id, opnum, object, stub) = match &pdu.body {
            PduBody::Request(r) => (r.context_id, Some(r.opnum), r.object, &r.stub),
            PduBody::Response(r) => (r.context_id, None, None, &r.stub),
            _ => {
                return Err(DecodeError::invalid(
                    "PTYPE",
                    2,
                    "only request and response PDUs are fragmented",
                ));
            }
        };
        if pdu.pfc_flags.contains(PfcFlags::FIRST_FRAG) {
            if self.current.is_some() {
                return Err(DecodeError::invalid(
                    "pfc_flags",
                    3,
                    "new call started before the previous one ended",
                ));
            }
            self.current = Some(ReassembledCall {
                call_id: pdu.call_id,
                context_id,
                opnum,
                object,
                stub: Vec::new(),
            });
        }
        let Some(call) = self.current.as_mut() else {
            return Err(DecodeError::invalid(
                "pfc_flags",
                3,
                "fragment without PFC_FIRST_FRAG before it",
            ));
        };
        if call.call_id != pdu.call_id {
            return Err(DecodeError::invalid(
                "call_id",
                12,
                format!(
                    "fragment of call {} inside call {}",
                    pdu.call_id, call.call_id
                ),
            ));
        }
        if call.stub.len() + stub.len() > self.max_stub {
            self.current = None;
            return Err(DecodeError::invalid(
                "stub",
                CommonHeader::SIZE,
                "reassembled stub exceeds the limit",
            ));
        }
        call.stub.extend_from_slice(stub);
        if pdu.pfc_flags.contains(PfcFlags::LAST_FRAG) {
            Ok(self.current.take())
        } else {
            Ok(None)
        }
    }
}

/// Splits a stub into request or response fragments of at most `max_frag` bytes each
/// (header and, when `auth_overhead` > 0, room for padding and the verifier included).
pub fn fragment_stub(
    stub: &[u8],
    max_frag: usize,
    body_header: usize,
    auth_overhead: usize,
) -> Vec<(PfcFlags, &[u8])> {
    let room = max_frag
        .saturating_sub(CommonHeader::SIZE + body_header + auth_overhead)
        .max(8)
        & !7;
    let mut out = Vec::new();
    let mut chunks = stub.chunks(room).peekable();
    let mut first = true;
    if stub.is_empty() {
        return vec![(PfcFlags::FIRST_AND_LAST, stub)];
    }
    while let Some(c) = chunks.next() {
        let mut f = PfcFlags::NONE;
        if first {
            f = f.with(PfcFlags::FIRST_FRAG);
        }
        if chunks.peek().is_none() {
            f = f.with(PfcFlags::LAST_FRAG);
        }
        first = false;
        out.push((f, c));
    }
    out
}
