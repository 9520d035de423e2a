//! NDR 1.0 little-endian primitives ([C706 chapter 14](https://pubs.opengroup.org/onlinepubs/9629399/chap14.htm)).
//!
//! Alignment is relative to the start of the stub (C706 14.2.2). Conformant arrays carry
//! `MaxCount` (14.3.3.2), varying arrays `Offset` and `ActualCount` (14.3.3.3), strings are
//! conformant-varying arrays whose last element is NUL (14.3.4). Pointers (14.3.10): top-level
//! `[ref]` pointers have no wire form; unique and full pointers, and embedded `[ref]` ones, are
//! a 4-byte referent ID (0 = null), and the pointee of an embedded pointer is deferred until the
//! end of the outermost structure or array containing it. Full pointers are written like unique
//! ones (no aliasing is produced; decoders here do not track aliases).

use super::uuid::Uuid;
use crate::cursor::{ReadCursor, WriteCursor, count_u32};
use crate::error::{DecodeError, DecodeResult, EncodeResult};

/// MS-RPCE 2.2.4.6 / C706 14.3.12 context handle: attributes (4) + UUID (16).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ContextHandle {
    /// context_handle_attributes (0).
    pub attributes: u32,
    /// context_handle_uuid; nil for a closed handle.
    pub uuid: Uuid,
}

impl ContextHandle {
    /// Wire size.
    pub const SIZE: usize = 20;

    /// A handle with the given UUID.
    pub fn new(uuid: Uuid) -> Self {
        Self {
            attributes: 0,
            uuid,
        }
    }

    /// True for the null handle (all zero), the value returned when a handle is closed.
    pub fn is_null(&self) -> bool {
        self.attributes == 0 && self.uuid == Uuid::NIL
    }
}

/// Writes an NDR stub.
#[derive(Debug, Clone)]
pub struct NdrWriter {
    w: WriteCursor,
    next_referent: u32,
}

impl Default for NdrWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl NdrWriter {
    /// An empty stub. Referent IDs start at 0x00020000 and grow by 4, as MIDL stubs do.
    pub fn new() -> Self {
        Self {
            w: WriteCursor::new(),
            next_referent: 0x0002_0000,
        }
    }

    /// Bytes written.
    pub fn len(&self) -> usize {
        self.w.len()
    }

    /// True when nothing was written.
    pub fn is_empty(&self) -> bool {
        self.w.is_empty()
    }

    /// The stub.
    pub fn into_bytes(self) -> Vec<u8> {
        self.w.into_inner()
    }

    /// Writes zero bytes up to a multiple of `n`.
    pub fn align(&mut self, n: usize) {
        let n = n.max(1);
        while !self.w.len().is_multiple_of(n) {
            self.w.u8(0);
        }
    }

    /// A byte.
    pub fn u8(&mut self, v: u8) {
        self.w.u8(v);
    }

    /// An aligned u16.
    pub fn u16(&mut self, v: u16) {
        self.align(2);
        self.w.u16(v);
    }

    /// An aligned u32.
    pub fn u32(&mut self, v: u32) {
        self.align(4);
        self.w.u32(v);
    }

    /// An aligned i32.
    pub fn i32(&mut self, v: i32) {
        self.align(4);
        self.w.i32(v);
    }

    /// Raw bytes (no alignment).
    pub fn bytes(&mut self, b: &[u8]) {
        self.w.bytes(b);
    }

    /// A fresh non-zero referent ID for a non-null pointer.
    pub fn referent(&mut self) -> u32 {
        let id = self.next_referent;
        self.u32(id);
        self.next_referent = self.next_referent.wrapping_add(4).max(4);
        id
    }

    /// A null pointer.
    pub fn null(&mut self) {
        self.u32(0);
    }

    /// A pointer: referent ID when `present`, else null. Returns `present`.
    pub fn pointer(&mut self, present: bool) -> bool {
        if present {
            self.referent();
        } else {
            self.null();
        }
        present
    }

    /// A context handle (20 bytes, 4-aligned).
    pub fn context_handle(&mut self, h: &ContextHandle) {
        self.u32(h.attributes);
        h.uuid.encode(&mut self.w);
    }

    /// A u32 count from a length.
    pub fn count(
        &mut self,
        n: usize,
        structure: &'static str,
        field: &'static str,
    ) -> EncodeResult {
        let v = count_u32(n, structure, field)?;
        self.u32(v);
        Ok(())
    }

    /// `[string] char*` pointee: MaxCount, Offset 0, ActualCount (NUL included), bytes, NUL.
    pub fn string_a(&mut self, s: &[u8], field: &'static str) -> EncodeResult {
        self.string_a_with_max(s, s.len() + 1, field)
    }

    /// Like [`Self::string_a`] but with MaxCount `max` (a `size_is` larger than the string).
    pub fn string_a_with_max(&mut self, s: &[u8], max: usize, field: &'static str) -> EncodeResult {
        let max = max.max(s.len() + 1);
        self.count(max, "string", field)?;
        self.u32(0);
        self.count(s.len() + 1, "string", field)?;
        self.bytes(s);
        self.u8(0);
        Ok(())
    }

    /// `[string] wchar_t*` pointee: MaxCount, Offset 0, ActualCount (in UTF-16 units, NUL
    /// included), UTF-16LE units, NUL.
    pub fn string_w(&mut self, s: &str, field: &'static str) -> EncodeResult {
        let units: Vec<u16> = s.encode_utf16().collect();
        self.count(units.len() + 1, "wstring", field)?;
        self.u32(0);
        self.count(units.len() + 1, "wstring", field)?;
        for u in units {
            self.w.u16(u);
        }
        self.w.u16(0);
        Ok(())
    }

    /// Conformant byte array: MaxCount, bytes.
    pub fn conformant_bytes(&mut self, b: &[u8], field: &'static str) -> EncodeResult {
        self.count(b.len(), "conformant array", field)?;
        self.bytes(b);
        Ok(())
    }

    /// Conformant-varying byte array: MaxCount, Offset 0, ActualCount, bytes.
    pub fn varying_bytes(&mut self, b: &[u8], field: &'static str) -> EncodeResult {
        self.count(b.len(), "conformant varying array", field)?;
        self.u32(0);
        self.count(b.len(), "conformant varying array", field)?;
        self.bytes(b);
        Ok(())
    }
}

/// Reads an NDR stub; offsets in errors are absolute, alignment is relative to the stub start.
#[derive(Debug, Clone)]
pub struct NdrReader<'a> {
    r: ReadCursor<'a>,
}

impl<'a> NdrReader<'a> {
    /// A reader over a whole stub.
    pub fn new(stub: &'a [u8]) -> Self {
        Self {
            r: ReadCursor::new(stub),
        }
    }

    /// Fails unless the stub was consumed entirely.
    pub fn finish(&self, after: &'static str) -> DecodeResult<()> {
        self.r.finish(after)
    }

    /// Bytes left.
    pub fn remaining(&self) -> usize {
        self.r.remaining()
    }

    /// Absolute offset of the next byte.
    pub fn offset(&self) -> usize {
        self.r.offset()
    }

    /// Skips padding up to a multiple of `n`.
    pub fn align(&mut self, n: usize, field: &'static str) -> DecodeResult<()> {
        let n = n.max(1);
        let pad = (n - self.r.pos() % n) % n;
        self.r.skip(pad, field)
    }

    /// A byte.
    pub fn u8(&mut self, field: &'static str) -> DecodeResult<u8> {
        self.r.u8(field)
    }

    /// An aligned u16.
    pub fn u16(&mut self, field: &'static str) -> DecodeResult<u16> {
        self.align(2, field)?;
        self.r.u16(field)
    }

    /// An aligned u32.
    pub fn u32(&mut self, field: &'static str) -> DecodeResult<u32> {
        self.align(4, field)?;
        self.r.u32(field)
    }

    /// An aligned i32.
    pub fn i32(&mut self, field: &'static str) -> DecodeResult<i32> {
        self.align(4, field)?;
        self.r.i32(field)
    }

    /// Raw bytes.
    pub fn bytes(&mut self, n: usize, field: &'static str) -> DecodeResult<&'a [u8]> {
        self.r.bytes(n, field)
    }

    /// A 16-byte `GUID` structure (4-byte aligned: its first member is a u32).
    pub fn uuid(&mut self, field: &'static str) -> DecodeResult<Uuid> {
        self.align(4, field)?;
        Uuid::decode(&mut self.r, field)
    }

    /// A pointer's referent ID; `true` when non-null.
    pub fn pointer(&mut self, field: &'static str) -> DecodeResult<bool> {
        Ok(self.u32(field)? != 0)
    }

    /// A context handle.
    pub fn context_handle(&mut self, field: &'static str) -> DecodeResult<ContextHandle> {
        Ok(ContextHandle {
            attributes: self.u32(field)?,
            uuid: Uuid::decode(&mut self.r, field)?,
        })
    }

    /// A count of elements of `elem_size` bytes each that must fit in the remaining input
    /// (bounds allocations by the input size).
    pub fn count(&mut self, elem_size: usize, field: &'static str) -> DecodeResult<usize> {
        let at = self.offset();
        let n = usize::try_from(self.u32(field)?).unwrap_or(usize::MAX);
        if n.saturating_mul(elem_size.max(1)) > self.remaining() {
            return Err(DecodeError::truncated(
                field,
                at,
                n.saturating_mul(elem_size.max(1)),
                self.remaining(),
            ));
        }
        Ok(n)
    }

    /// Offset and ActualCount of a varying array with MaxCount `max`; Offset must be 0.
    pub fn variance(
        &mut self,
        max: usize,
        elem_size: usize,
        field: &'static str,
    ) -> DecodeResult<usize> {
        let at = self.offset();
        if self.u32(field)? != 0 {
            return Err(DecodeError::invalid(
                field,
                at,
                "non-zero varying array offset",
            ));
        }
        let at = self.offset();
        let n = self.count(elem_size, field)?;
        if n > max {
            return Err(DecodeError::invalid(
                field,
                at,
                "ActualCount exceeds MaxCount",
            ));
        }
        Ok(n)
    }

    /// `[string] char*` pointee; returns the bytes without the terminating NUL.
    pub fn string_a(&mut self, field: &'static str) -> DecodeResult<Vec<u8>> {
        let max = usize::try_from(self.u32(field)?).unwrap_or(usize::MAX);
        let n = self.variance(max, 1, field)?;
        let at = self.offset();
        let b = self.bytes(n, field)?;
        match b.split_last() {
            Some((0, s)) => Ok(s.to_vec()),
            _ => Err(DecodeError::invalid(
                field,
                at,
                "string is not NUL-terminated",
            )),
        }
    }

    /// `[string] wchar_t*` pointee.
    pub fn string_w(&mut self, field: &'static str) -> DecodeResult<String> {
        let max = usize::try_from(self.u32(field)?).unwrap_or(usize::MAX);
        let n = self.variance(max, 2, field)?;
        let at = self.offset();
        let mut units = Vec::with_capacity(n);
        for _ in 0..n {
            units.push(self.r.u16(field)?);
        }
        match units.split_last() {
            Some((0, s)) => String::from_utf16(s)
                .map_err(|_| DecodeError::invalid(field, at, "not valid UTF-16")),
            _ => Err(DecodeError::invalid(
                field,
                at,
                "string is not NUL-terminated",
            )),
        }
    }

    /// Conformant byte array.
    pub fn conformant_bytes(&mut self, field: &'static str) -> DecodeResult<Vec<u8>> {
        let n = self.count(1, field)?;
        Ok(self.bytes(n, field)?.to_vec())
    }

    /// Conformant-varying byte array.
    pub fn varying_bytes(&mut self, field: &'static str) -> DecodeResult<Vec<u8>> {
        let max = usize::try_from(self.u32(field)?).unwrap_or(usize::MAX);
        let n = self.variance(max, 1, field)?;
        Ok(self.bytes(n, field)?.to_vec())
    }
}

/// Latin-1 bytes to text (lossless for any byte).
pub fn latin1_to_string(b: &[u8]) -> String {
    b.iter().map(|&c| char::from(c)).collect()
}

/// Text to Latin-1 bytes (characters above U+00FF become `?`).
pub fn string_to_latin1(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
        .collect()
}

/// A type with an NDR representation (used for call stubs).
pub trait NdrCodec: Sized {
    /// Writes the stub.
    fn ndr_write(&self, w: &mut NdrWriter) -> EncodeResult;
    /// Reads the stub.
    fn ndr_read(r: &mut NdrReader<'_>) -> DecodeResult<Self>;

    /// The stub as bytes.
    fn to_stub(&self) -> EncodeResult<Vec<u8>> {
        let mut w = NdrWriter::new();
        self.ndr_write(&mut w)?;
        Ok(w.into_bytes())
    }

    /// Decodes a whole stub, failing on trailing bytes.
    fn from_stub(stub: &[u8]) -> DecodeResult<Self> {
        let mut r = NdrReader::new(stub);
        let v = Self::ndr_read(&mut r)?;
        r.finish("stub")?;
        Ok(v)
    }
}
