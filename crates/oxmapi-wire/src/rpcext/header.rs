//! MS-OXCRPC 2.2.2.1 RPC_HEADER_EXT and the extended buffers built from it.
//!
//! [MS-OXCRPC 2.2.2.1 RPC_HEADER_EXT](https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-oxcrpc/18d293ec-b551-42f5-8beb-32fe304225a9),
//! [3.1.4.1.1.3 Obfuscation](https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-oxcrpc/1395a1f7-9ffe-41a0-8649-e99dc310b27b),
//! [3.1.4.2.1 Extended Buffer Handling](https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-oxcrpc/a5e35715-b67d-4108-93bd-104f41288be6).
//!
//! A sender compresses, then obfuscates; a receiver de-obfuscates, then decompresses.

use std::fmt;

use super::lz77;
use crate::cursor::{Decode, Encode, ReadCursor, WriteCursor};
use crate::error::{DecodeContext, DecodeError, DecodeResult, EncodeError, EncodeResult};

/// The byte every obfuscated payload byte is XORed with (MS-OXCRPC 3.1.4.1.1.3).
pub const XOR_MAGIC: u8 = 0xA5;

/// Largest payload one segment should carry (MS-OXCRPC 3.1.4.2.1.1: 32 KB); the wire
/// allows up to `u16::MAX`, which [`pack_segment`] accepts.
pub const MAX_SEGMENT_PAYLOAD: usize = 0x8000;

/// Applies (or removes: it is its own inverse) the MS-OXCRPC 3.1.4.1.1.3 obfuscation.
pub fn xor_magic(buf: &mut [u8]) {
    for b in buf {
        *b ^= XOR_MAGIC;
    }
}

/// MS-OXCRPC 2.2.2.1 RPC_HEADER_EXT `Flags` (an open set: unknown bits are kept).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RpcHeaderFlags(pub u16);

impl RpcHeaderFlags {
    /// `Compressed` (0x0001): the payload is LZ77 + DIRECT2 compressed; Size < SizeActual.
    pub const COMPRESSED: Self = Self(0x0001);
    /// `XorMagic` (0x0002): every payload byte is XORed with 0xA5.
    pub const XOR_MAGIC: Self = Self(0x0002);
    /// `Last` (0x0004): no other RPC_HEADER_EXT follows this payload.
    pub const LAST: Self = Self(0x0004);
    /// No flags.
    pub const NONE: Self = Self(0);
    /// Every bit the specification defines.
    pub const KNOWN: Self = Self(0x0007);

    /// True when every bit of `other` is set.
    pub fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// The bits the specification does not define.
    pub fn unknown_bits(self) -> u16 {
        self.0 & !Self::KNOWN.0
    }
}

impl std::ops::BitOr for RpcHeaderFlags {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl std::ops::BitOrAssign for RpcHeaderFlags {
    fn bitor_assign(&mut self, rhs: Self) {
        self.0 |= rhs.0;
    }
}

impl fmt::Debug for RpcHeaderFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (Self::COMPRESSED, "Compressed"),
            (Self::XOR_MAGIC, "XorMagic"),
            (Self::LAST, "Last"),
        ];
        let mut first = true;
        for (flag, name) in names {
            if self.contains(flag) {
                f.write_str(if first { "" } else { " | " })?;
                f.write_str(name)?;
                first = false;
            }
        }
        if self.unknown_bits() != 0 || first {
            if !first {
                f.write_str(" | ")?;
            }
            write!(f, "{:#06x}", self.unknown_bits())?;
        }
        Ok(())
    }
}

/// MS-OXCRPC 2.2.2.1 RPC_HEADER_EXT: describes the payload that follows it.
///
/// Decoding reads the fields as they are; [`RpcHeaderExt::validate`] applies the rules of
/// the specification (the chain functions call it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RpcHeaderExt {
    /// `Version`: MUST be 0.
    pub version: u16,
    /// `Flags`.
    pub flags: RpcHeaderFlags,
    /// `Size`: payload bytes as transmitted.
    pub size: u16,
    /// `SizeActual`: payload bytes once decompressed.
    pub size_actual: u16,
}

impl RpcHeaderExt {
    /// Wire size: Version (2) + Flags (2) + Size (2) + SizeActual (2).
    pub const FIXED_PART_SIZE: usize = 8;

    /// Checks Version, unknown flags and the Size/SizeActual rule of MS-OXCRPC 2.2.2.1.
    ///
    /// `offset` is the header's absolute offset, used in errors.
    pub fn validate(&self, offset: usize) -> DecodeResult<()> {
        if self.version != 0 {
            let detail = format!("version {:#06x}, must be 0", self.version);
            return Err(DecodeError::invalid("Version", offset, detail));
        }
        if self.flags.unknown_bits() != 0 {
            let detail = format!("undefined flag bits {:#06x}", self.flags.unknown_bits());
            return Err(DecodeError::invalid("Flags", offset + 2, detail));
        }
        let compressed = self.flags.contains(RpcHeaderFlags::COMPRESSED);
        if compressed && self.size >= self.size_actual {
            let detail = format!(
                "Compressed set but Size {} is not below SizeActual {}",
                self.size, self.size_actual
            );
            return Err(DecodeError::invalid("Size", offset + 4, detail));
        }
        if !compressed && self.size != self.size_actual {
            let detail = format!(
                "not compressed but Size {} differs from SizeActual {}",
                self.size, self.size_actual
            );
            return Err(DecodeError::invalid("SizeActual", offset + 6, detail));
        }
        Ok(())
    }

    /// True when `Last` is set.
    pub fn is_last(&self) -> bool {
        self.flags.contains(RpcHeaderFlags::LAST)
    }
}

impl Decode for RpcHeaderExt {
    fn decode(r: &mut ReadCursor<'_>) -> DecodeResult<Self> {
        let decode = |r: &mut ReadCursor<'_>| -> DecodeResult<Self> {
            Ok(Self {
                version: r.u16("Version")?,
                flags: RpcHeaderFlags(r.u16("Flags")?),
                size: r.u16("Size")?,
                size_actual: r.u16("SizeActual")?,
            })
        };
        decode(r).within("RPC_HEADER_EXT")
    }
}

impl Encode for RpcHeaderExt {
    fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        w.u16(self.version);
        w.u16(self.flags.0);
        w.u16(self.size);
        w.u16(self.size_actual);
        Ok(())
    }
}

/// One RPC_HEADER_EXT of an extended buffer with its decoded payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// The header as received.
    pub header: RpcHeaderExt,
    /// Offset of the (transmitted) payload in the buffer given to [`unpack_segments`].
    pub payload_offset: usize,
    /// The payload after de-obfuscation and decompression (`SizeActual` bytes).
    pub payload: Vec<u8>,
}

/// How much an extended buffer may hold before anything in it is inflated.
///
/// A compressed payload of a few bytes can declare a `SizeActual` of 64 KiB, so a buffer
/// of tiny segments inflates thousands of times its size. [`unpack_segments_within`]
/// walks the headers first, checks the segment count, each `SizeActual` and their sum
/// against these limits, and only then inflates. Every decoder of untrusted extended
/// buffers (server requests, client responses, both transports) goes through it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnpackLimits {
    /// Most RPC_HEADER_EXT segments.
    pub max_segments: usize,
    /// Largest `SizeActual` of one segment.
    pub max_segment_size: usize,
    /// Largest sum of `SizeActual` over all segments.
    pub max_total: usize,
}

/// Budget for the inflated size of one response's extended buffer (our choice, not the
/// specification's: 64 times the 256 KiB `MaxRopOut`/`pcbOut` clients ask for).
pub const MAX_RESPONSE_INFLATED: usize = 64 * 0x4_0000;

impl UnpackLimits {
    /// A ROP request buffer (EcDoRpcExt2 `rgbIn`, MAPI/HTTP Execute `RopBuffer`) from a
    /// client the server offered no packing capability: one segment (MS-OXCRPC 3.1.4.2.1.1.1:
    /// more only with PACKED_FAST_TRANSFER_UPLOAD_BUFFERS / PACKED_WRITE_STREAM_UPLOAD_BUFFERS)
    /// whose payload does not exceed 32 KB (MS-OXCRPC 3.1.4.2.1).
    pub const REQUEST: Self = Self {
        max_segments: 1,
        max_segment_size: MAX_SEGMENT_PAYLOAD,
        max_total: MAX_SEGMENT_PAYLOAD,
    };

    /// An auxiliary buffer (`rgbAuxIn`/`rgbAuxOut`, MAPI/HTTP `AuxiliaryBuffer`): one
    /// segment, at most 0x1008 bytes (MS-OXCRPC 3.1.4.1.1.1.1 caps `cbAuxIn` at 0x1008).
    pub const AUX: Self = Self {
        max_segments: 1,
        max_segment_size: 0x1008,
        max_total: 0x1008,
    };

    /// A ROP response buffer (`rgbOut`, MAPI/HTTP Execute response `RopBuffer`), chained
    /// segments allowed (MS-OXCRPC 3.1.4.2.1.1.2): at most [`MAX_RESPONSE_INFLATED`] bytes
    /// once inflated. The segment count is bounded by the buffer itself (8 header bytes
    /// each).
    pub const RESPONSE: Self = Self {
        max_segments: usize::MAX,
        max_segment_size: u16::MAX as usize,
        max_total: MAX_RESPONSE_INFLATED,
    };

    /// No limit beyond the wire format's own (a u16 `SizeActual` per segment): for
    /// buffers this process built itself.
    pub const TRUSTED: Self = Self {
        max_segments: usize::MAX,
        max_segment_size: u16::MAX as usize,
        max_total: usize::MAX,
    };
}

/// Walks an extended buffer: RPC_HEADER_EXT + payload, repeated until one has `Last`.
///
/// Each header is validated, each payload de-obfuscated and decompressed to exactly
/// `SizeActual` bytes. A buffer that ends before a `Last` header is truncated; bytes after
/// the `Last` segment are an error. Untrusted input belongs in [`unpack_segments_within`];
/// this is [`UnpackLimits::RESPONSE`]'s budget.
pub fn unpack_segments(buf: &[u8]) -> DecodeResult<Vec<Segment>> {
    unpack_segments_within(buf, UnpackLimits::RESPONSE)
}

/// [`unpack_segments`] within `limits`: every header is read and checked (count, each
/// `SizeActual`, their sum) before any payload is inflated, so a refused buffer costs no
/// more memory than its own bytes.
pub fn unpack_segments_within(buf: &[u8], limits: UnpackLimits) -> DecodeResult<Vec<Segment>> {
    let count = check_budget(buf, limits).within("extended buffer")?;
    let mut r = ReadCursor::new(buf);
    let mut segments = Vec::with_capacity(count);
    loop {
        let segment = unpack_one(&mut r).within("extended buffer")?;
        let last = segment.header.is_last();
        segments.push(segment);
        if last {
            break;
        }
    }
    r.finish("Last segment").within("extended buffer")?;
    Ok(segments)
}

/// Like [`unpack_segments`], keeping only the decoded payloads.
pub fn unpack_chain(buf: &[u8]) -> DecodeResult<Vec<Vec<u8>>> {
    unpack_chain_within(buf, UnpackLimits::RESPONSE)
}

/// Like [`unpack_segments_within`], keeping only the decoded payloads.
pub fn unpack_chain_within(buf: &[u8], limits: UnpackLimits) -> DecodeResult<Vec<Vec<u8>>> {
    Ok(unpack_segments_within(buf, limits)?
        .into_iter()
        .map(|s| s.payload)
        .collect())
}

/// First pass: headers only. Returns the segment count.
fn check_budget(buf: &[u8], limits: UnpackLimits) -> DecodeResult<usize> {
    let mut r = ReadCursor::new(buf);
    let mut count = 0usize;
    let mut total = 0usize;
    loop {
        let offset = r.offset();
        let header = RpcHeaderExt::decode(&mut r)?;
        header.validate(offset).within("RPC_HEADER_EXT")?;
        count += 1;
        if count > limits.max_segments {
            return Err(DecodeError::limit(
                "RPC_HEADER_EXT",
                offset,
                "segments",
                limits.max_segments,
                count,
            ));
        }
        let actual = usize::from(header.size_actual);
        if actual > limits.max_segment_size {
            return Err(DecodeError::limit(
                "SizeActual",
                offset + 6,
                "bytes in one segment",
                limits.max_segment_size,
                actual,
            ));
        }
        total = total.saturating_add(actual);
        if total > limits.max_total {
            return Err(DecodeError::limit(
                "SizeActual",
                offset + 6,
                "inflated bytes",
                limits.max_total,
                total,
            ));
        }
        r.bytes(usize::from(header.size), "Payload")?;
        if header.is_last() {
            return Ok(count);
        }
    }
}

fn unpack_one(r: &mut ReadCursor<'_>) -> DecodeResult<Segment> {
    let header_offset = r.offset();
    let header = RpcHeaderExt::decode(r)?;
    header.validate(header_offset).within("RPC_HEADER_EXT")?;
    let payload_offset = r.offset();
    let raw = r.bytes(usize::from(header.size), "Payload")?;
    let mut data = raw.to_vec();
    if header.flags.contains(RpcHeaderFlags::XOR_MAGIC) {
        xor_magic(&mut data);
    }
    let payload = if header.flags.contains(RpcHeaderFlags::COMPRESSED) {
        lz77::decompress(&data, usize::from(header.size_actual))
            .map_err(|e| rebase(e, payload_offset))?
    } else {
        data
    };
    Ok(Segment {
        header,
        payload_offset,
        payload,
    })
}

/// Turns an error offset relative to the payload into an absolute one.
fn rebase(mut e: DecodeError, base: usize) -> DecodeError {
    e.offset += base;
    e
}

/// How [`pack_segment`] and [`pack_chain`] build RPC_HEADER_EXT segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackOptions {
    /// Compress the payload (only kept when it comes out strictly smaller).
    pub compress: bool,
    /// Obfuscate the payload with XOR 0xA5 (after compression).
    pub xor: bool,
    /// Set `Last` on the segment ([`pack_chain`] decides this itself).
    pub last: bool,
}

impl Default for PackOptions {
    /// A single uncompressed, unobfuscated segment with `Last`.
    fn default() -> Self {
        Self {
            compress: false,
            xor: false,
            last: true,
        }
    }
}

/// Builds one RPC_HEADER_EXT + payload.
///
/// Fails when the payload exceeds `u16::MAX` bytes (the `SizeActual` field); payloads
/// above [`MAX_SEGMENT_PAYLOAD`] are allowed by the wire but not by MS-OXCRPC 3.1.4.2.1.1,
/// so senders should split them with [`pack_chain`].
pub fn pack_segment(payload: &[u8], opts: PackOptions) -> EncodeResult<Vec<u8>> {
    let size_actual = u16::try_from(payload.len()).map_err(|_| EncodeError::TooLarge {
        structure: "RPC_HEADER_EXT",
        field: "SizeActual",
        value: payload.len(),
        max: usize::from(u16::MAX),
    })?;
    let mut flags = RpcHeaderFlags::NONE;
    let compressed = opts
        .compress
        .then(|| lz77::compress(payload))
        .filter(|c| c.len() < payload.len());
    let mut data = match compressed {
        Some(c) => {
            flags |= RpcHeaderFlags::COMPRESSED;
            c
        }
        None => payload.to_vec(),
    };
    if opts.xor {
        flags |= RpcHeaderFlags::XOR_MAGIC;
        xor_magic(&mut data);
    }
    if opts.last {
        flags |= RpcHeaderFlags::LAST;
    }
    // INVARIANT: data is the payload or something strictly shorter, so it fits a u16.
    let size = u16::try_from(data.len()).unwrap_or(size_actual);
    let header = RpcHeaderExt {
        version: 0,
        flags,
        size,
        size_actual,
    };
    let mut w = WriteCursor::with_capacity(RpcHeaderExt::FIXED_PART_SIZE + data.len());
    header.encode(&mut w)?;
    w.bytes(&data);
    Ok(w.into_inner())
}

/// Builds a chain of segments, `Last` set on the final one only.
///
/// An empty list is an error: a valid extended buffer holds at least one segment.
pub fn pack_chain<P: AsRef<[u8]>>(segments: &[P], opts: PackOptions) -> EncodeResult<Vec<u8>> {
    if segments.is_empty() {
        return Err(EncodeError::Invalid {
            structure: "extended buffer",
            field: "segments",
            detail: "at least one segment is required".to_owned(),
        });
    }
    let mut out = Vec::new();
    for (i, payload) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        out.extend(pack_segment(
            payload.as_ref(),
            PackOptions { last, ..opts },
        )?);
    }
    Ok(out)
}
