//! Bounds-checked little-endian reader and a growable writer.
//!
//! Every read names its field so that a failure says what and where. Nothing here panics on
//! short or hostile input.

use crate::error::{DecodeError, DecodeResult, EncodeError, EncodeResult};

/// A reader over a byte slice that knows its absolute offset in the outermost buffer.
#[derive(Debug, Clone)]
pub struct ReadCursor<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> ReadCursor<'a> {
    /// A cursor at offset 0.
    pub fn new(buf: &'a [u8]) -> Self {
        Self {
            buf,
            pos: 0,
            base: 0,
        }
    }

    /// A cursor whose offsets are reported relative to `base` (for nested buffers).
    pub fn with_base(buf: &'a [u8], base: usize) -> Self {
        Self { buf, pos: 0, base }
    }

    /// Absolute offset of the next byte.
    pub fn offset(&self) -> usize {
        self.base + self.pos
    }

    /// Position inside this cursor's slice.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Bytes left.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// True when every byte was read.
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The bytes not yet read.
    pub fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }

    /// Fails with a truncation error unless `n` bytes are left.
    pub fn ensure(&self, n: usize, field: &'static str) -> DecodeResult<()> {
        if self.remaining() < n {
            Err(DecodeError::truncated(
                field,
                self.offset(),
                n,
                self.remaining(),
            ))
        } else {
            Ok(())
        }
    }

    /// Reads `n` bytes.
    pub fn bytes(&mut self, n: usize, field: &'static str) -> DecodeResult<&'a [u8]> {
        self.ensure(n, field)?;
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// Reads a fixed-size array.
    pub fn array<const N: usize>(&mut self, field: &'static str) -> DecodeResult<[u8; N]> {
        let s = self.bytes(N, field)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    /// Splits off the next `n` bytes as a sub-cursor that keeps absolute offsets.
    pub fn sub(&mut self, n: usize, field: &'static str) -> DecodeResult<Self> {
        let base = self.offset();
        let s = self.bytes(n, field)?;
        Ok(Self::with_base(s, base))
    }

    /// Skips `n` bytes.
    pub fn skip(&mut self, n: usize, field: &'static str) -> DecodeResult<()> {
        self.bytes(n, field).map(|_| ())
    }

    /// Reads a byte.
    pub fn u8(&mut self, field: &'static str) -> DecodeResult<u8> {
        Ok(self.array::<1>(field)?[0])
    }

    /// Reads a little-endian u16.
    pub fn u16(&mut self, field: &'static str) -> DecodeResult<u16> {
        Ok(u16::from_le_bytes(self.array(field)?))
    }

    /// Reads a little-endian u32.
    pub fn u32(&mut self, field: &'static str) -> DecodeResult<u32> {
        Ok(u32::from_le_bytes(self.array(field)?))
    }

    /// Reads a little-endian i32.
    pub fn i32(&mut self, field: &'static str) -> DecodeResult<i32> {
        Ok(i32::from_le_bytes(self.array(field)?))
    }

    /// Reads a little-endian u64.
    pub fn u64(&mut self, field: &'static str) -> DecodeResult<u64> {
        Ok(u64::from_le_bytes(self.array(field)?))
    }

    /// Reads a little-endian i64.
    pub fn i64(&mut self, field: &'static str) -> DecodeResult<i64> {
        Ok(i64::from_le_bytes(self.array(field)?))
    }

    /// Reads a little-endian f32.
    pub fn f32(&mut self, field: &'static str) -> DecodeResult<f32> {
        Ok(f32::from_le_bytes(self.array(field)?))
    }

    /// Reads a little-endian f64.
    pub fn f64(&mut self, field: &'static str) -> DecodeResult<f64> {
        Ok(f64::from_le_bytes(self.array(field)?))
    }

    /// Reads a 16-byte GUID in its wire (mixed-endian) byte order, kept as raw bytes.
    pub fn guid(&mut self, field: &'static str) -> DecodeResult<[u8; 16]> {
        self.array(field)
    }

    /// Reads a NUL-terminated 8-bit string; returns the bytes without the NUL.
    pub fn cstr(&mut self, field: &'static str) -> DecodeResult<&'a [u8]> {
        let rest = self.rest();
        match rest.iter().position(|&b| b == 0) {
            Some(n) => {
                let s = &rest[..n];
                self.pos += n + 1;
                Ok(s)
            }
            None => Err(DecodeError::truncated(
                field,
                self.offset(),
                rest.len() + 1,
                rest.len(),
            )),
        }
    }

    /// Reads a NUL-terminated 8-bit string and returns it as text (bytes above 0x7F are
    /// decoded as Latin-1 so that nothing is lost or rejected).
    pub fn ascii_z(&mut self, field: &'static str) -> DecodeResult<String> {
        Ok(self.cstr(field)?.iter().map(|&b| b as char).collect())
    }

    /// Reads a NUL-terminated UTF-16LE string.
    pub fn utf16_z(&mut self, field: &'static str) -> DecodeResult<String> {
        let start = self.offset();
        let rest = self.rest();
        let mut units = Vec::new();
        let mut i = 0;
        loop {
            if i + 2 > rest.len() {
                return Err(DecodeError::truncated(field, start, i + 2, rest.len()));
            }
            let u = u16::from_le_bytes([rest[i], rest[i + 1]]);
            i += 2;
            if u == 0 {
                break;
            }
            units.push(u);
        }
        let s = String::from_utf16(&units)
            .map_err(|_| DecodeError::invalid(field, start, "not valid UTF-16"))?;
        self.pos += i;
        Ok(s)
    }

    /// Fails unless every byte was consumed.
    pub fn finish(&self, after: &'static str) -> DecodeResult<()> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::trailing(
                after,
                self.offset(),
                self.remaining(),
            ))
        }
    }
}

/// A growable little-endian writer.
#[derive(Debug, Default, Clone)]
pub struct WriteCursor {
    buf: Vec<u8>,
}

impl WriteCursor {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty writer with room for `n` bytes.
    pub fn with_capacity(n: usize) -> Self {
        Self {
            buf: Vec::with_capacity(n),
        }
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// True when nothing was written.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The bytes written.
    pub fn as_slice(&self) -> &[u8] {
        &self.buf
    }

    /// Takes the bytes written.
    pub fn into_inner(self) -> Vec<u8> {
        self.buf
    }

    /// Writes bytes.
    pub fn bytes(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }

    /// Writes a byte.
    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    /// Writes a little-endian u16.
    pub fn u16(&mut self, v: u16) {
        self.bytes(&v.to_le_bytes());
    }

    /// Writes a little-endian u32.
    pub fn u32(&mut self, v: u32) {
        self.bytes(&v.to_le_bytes());
    }

    /// Writes a little-endian i32.
    pub fn i32(&mut self, v: i32) {
        self.bytes(&v.to_le_bytes());
    }

    /// Writes a little-endian u64.
    pub fn u64(&mut self, v: u64) {
        self.bytes(&v.to_le_bytes());
    }

    /// Writes a little-endian i64.
    pub fn i64(&mut self, v: i64) {
        self.bytes(&v.to_le_bytes());
    }

    /// Writes a little-endian f32.
    pub fn f32(&mut self, v: f32) {
        self.bytes(&v.to_le_bytes());
    }

    /// Writes a little-endian f64.
    pub fn f64(&mut self, v: f64) {
        self.bytes(&v.to_le_bytes());
    }

    /// Writes an 8-bit string followed by a NUL.
    pub fn cstr(&mut self, s: &[u8]) {
        self.bytes(s);
        self.u8(0);
    }

    /// Writes text as a NUL-terminated 8-bit string (chars above U+00FF become `?`).
    pub fn ascii_z(&mut self, s: &str) {
        for c in s.chars() {
            self.u8(u8::try_from(u32::from(c)).unwrap_or(b'?'));
        }
        self.u8(0);
    }

    /// Writes a NUL-terminated UTF-16LE string.
    pub fn utf16_z(&mut self, s: &str) {
        for u in s.encode_utf16() {
            self.u16(u);
        }
        self.u16(0);
    }

    /// Reserves a u16 length slot and returns its position for [`Self::patch_u16`].
    pub fn reserve_u16(&mut self) -> usize {
        let at = self.len();
        self.u16(0);
        at
    }

    /// Reserves a u32 length slot and returns its position for [`Self::patch_u32`].
    pub fn reserve_u32(&mut self) -> usize {
        let at = self.len();
        self.u32(0);
        at
    }

    /// Back-patches a u16 at `at`, failing if `value` does not fit.
    pub fn patch_u16(
        &mut self,
        at: usize,
        value: usize,
        structure: &'static str,
        field: &'static str,
    ) -> EncodeResult {
        let v = u16::try_from(value).map_err(|_| EncodeError::TooLarge {
            structure,
            field,
            value,
            max: u16::MAX as usize,
        })?;
        self.buf[at..at + 2].copy_from_slice(&v.to_le_bytes());
        Ok(())
    }

    /// Back-patches a u32 at `at`, failing if `value` does not fit.
    pub fn patch_u32(
        &mut self,
        at: usize,
        value: usize,
        structure: &'static str,
        field: &'static str,
    ) -> EncodeResult {
        let v = u32::try_from(value).map_err(|_| EncodeError::TooLarge {
            structure,
            field,
            value,
            max: u32::MAX as usize,
        })?;
        self.buf[at..at + 4].copy_from_slice(&v.to_le_bytes());
        Ok(())
    }
}

/// Converts a count to u16 or reports which field overflowed.
pub fn count_u16(value: usize, structure: &'static str, field: &'static str) -> EncodeResult<u16> {
    u16::try_from(value).map_err(|_| EncodeError::TooLarge {
        structure,
        field,
        value,
        max: u16::MAX as usize,
    })
}

/// Converts a count to u32 or reports which field overflowed.
pub fn count_u32(value: usize, structure: &'static str, field: &'static str) -> EncodeResult<u32> {
    u32::try_from(value).map_err(|_| EncodeError::TooLarge {
        structure,
        field,
        value,
        max: u32::MAX as usize,
    })
}

/// Types with a wire encoding.
pub trait Encode {
    /// Appends the wire form to `w`.
    fn encode(&self, w: &mut WriteCursor) -> EncodeResult;

    /// The wire form as a new vector.
    fn to_bytes(&self) -> EncodeResult<Vec<u8>> {
        let mut w = WriteCursor::new();
        self.encode(&mut w)?;
        Ok(w.into_inner())
    }
}

/// Types decodable without outside context.
pub trait Decode: Sized {
    /// Reads one value from `r`.
    fn decode(r: &mut ReadCursor<'_>) -> DecodeResult<Self>;

    /// Decodes a whole buffer, failing on trailing bytes.
    fn from_bytes(buf: &[u8]) -> DecodeResult<Self> {
        let mut r = ReadCursor::new(buf);
        let v = Self::decode(&mut r)?;
        r.finish(
            std::any::type_name::<Self>()
                .rsplit("::")
                .next()
                .unwrap_or("value"),
        )?;
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_reads_name_field_and_offset() {
        let mut r = ReadCursor::new(&[1, 2, 3]);
        assert_eq!(r.u16("A").unwrap(), 0x0201);
        let e = r.u32("B").unwrap_err();
        assert_eq!(e.field, "B");
        assert_eq!(e.offset, 2);
        assert!(e.is_truncated());
    }

    #[test]
    fn utf16_z_round_trip_and_unterminated() {
        let mut w = WriteCursor::new();
        w.utf16_z("Grüße €");
        let b = w.into_inner();
        assert_eq!(ReadCursor::new(&b).utf16_z("S").unwrap(), "Grüße €");
        assert!(ReadCursor::new(&b[..b.len() - 1]).utf16_z("S").is_err());
    }

    #[test]
    fn sub_cursor_keeps_absolute_offsets() {
        let data = [0u8; 10];
        let mut r = ReadCursor::new(&data);
        r.skip(4, "x").unwrap();
        let mut s = r.sub(2, "y").unwrap();
        let e = s.u32("z").unwrap_err();
        assert_eq!(e.offset, 4);
    }
}
