//! MS-XCA 2.3/2.4 "Plain LZ77", which MS-OXCRPC 3.1.4.1.1.2 calls "LZ77 + DIRECT2".
//!
//! [MS-XCA 2.3 Plain LZ77 Compression](https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-xca/)
//! and 2.4 Plain LZ77 Decompression;
//! [MS-OXCRPC 3.1.4.1.1.2 Compression](https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-oxcrpc/d136be7d-66e2-45cd-bf1a-ce4bb42cddb9).
//!
//! The stream is a sequence of 32-bit little-endian flag words, each followed by the 32
//! elements it describes, most significant bit first: `0` is a literal byte, `1` a match.
//! A match is a u16 `((distance - 1) << 3) | min(length - 3, 7)`; the escape value 7 is
//! followed by a length nibble (two matches share one byte: low nibble first, then the high
//! one), the escape nibble 15 by a byte, the escape byte 255 by a u16 holding `length - 3`,
//! and a zero u16 by a u32 holding `length - 3`. Unused flag bits are ones.

use crate::error::{DecodeError, DecodeResult};

/// Largest match distance the format can express (13 bits, MS-XCA 2.3.4).
pub const MAX_DISTANCE: usize = 8192;

/// Shortest match the format can express.
pub const MIN_MATCH: usize = 3;

/// Decompresses `input`, which must expand to exactly `expected_len` bytes.
///
/// Decoding stops as soon as `expected_len` bytes were produced (the end-of-stream flag bits
/// and a missing final flag word are not required). The output buffer is allocated once with
/// `expected_len` bytes and never grows: a match that would write past it, a match reaching
/// before the start of the output, truncated metadata or a stream that ends early is an
/// error. Callers decoding untrusted input must bound `expected_len` themselves (MS-OXCRPC
/// bounds it by the u16 `SizeActual`).
pub fn decompress(input: &[u8], expected_len: usize) -> DecodeResult<Vec<u8>> {
    Decoder {
        input,
        pos: 0,
        nibble_at: None,
        out: Vec::with_capacity(expected_len),
        expected_len,
    }
    .run()
}

/// Compresses `input` with a greedy, hash-table matcher (window 8192, minimum match 3).
///
/// The output always decodes back to `input` with [`decompress`]; it may be larger than the
/// input for incompressible data (by at most 4 bytes per 32 input bytes plus 4).
pub fn compress(input: &[u8]) -> Vec<u8> {
    Encoder::new(input).run()
}

const STRUCTURE: &str = "LZ77";

struct Decoder<'a> {
    input: &'a [u8],
    pos: usize,
    /// Position of the byte whose high nibble the next escaped length uses.
    nibble_at: Option<usize>,
    out: Vec<u8>,
    expected_len: usize,
}

impl Decoder<'_> {
    fn run(mut self) -> DecodeResult<Vec<u8>> {
        while self.out.len() < self.expected_len {
            let flags = self.u32("Flags")?;
            for bit in (0..32).rev() {
                if self.out.len() == self.expected_len {
                    break;
                }
                if flags & (1 << bit) == 0 {
                    let b = self.u8("Literal")?;
                    self.out.push(b);
                } else {
                    self.copy_match()?;
                }
            }
        }
        Ok(self.out)
    }

    fn copy_match(&mut self) -> DecodeResult<()> {
        let at = self.pos;
        let meta = self.u16("MatchMetadata")?;
        let distance = usize::from(meta >> 3) + 1;
        let length = self.match_length(meta & 7)?;
        if distance > self.out.len() {
            return Err(self.error_at(
                "MatchDistance",
                at,
                format!(
                    "distance {distance} reaches before the start of the output ({} bytes)",
                    self.out.len()
                ),
            ));
        }
        let room = self.expected_len - self.out.len();
        if length > room {
            return Err(self.error_at(
                "MatchLength",
                at,
                format!(
                    "match of {length} bytes overruns the expected size by {}",
                    length - room
                ),
            ));
        }
        // An overlapping match (distance < length) repeats bytes it is producing: copying
        // from the same start in growing chunks gives out[i] = out[i - distance] throughout.
        let start = self.out.len() - distance;
        let mut left = length;
        while left > 0 {
            let n = left.min(self.out.len() - start);
            self.out.extend_from_within(start..start + n);
            left -= n;
        }
        Ok(())
    }

    /// Decodes the match length from the 3 low metadata bits and the escapes that follow.
    fn match_length(&mut self, low: u16) -> DecodeResult<usize> {
        let mut length = usize::from(low);
        if length == 7 {
            let nibble = match self.nibble_at.take() {
                None => {
                    self.nibble_at = Some(self.pos);
                    self.u8("MatchLengthNibble")? & 0x0F
                }
                Some(at) => self.input[at] >> 4,
            };
            length = usize::from(nibble);
            if length == 15 {
                length = usize::from(self.u8("MatchLengthByte")?);
                if length == 255 {
                    let at = self.pos;
                    length = usize::from(self.u16("MatchLengthU16")?);
                    if length == 0 {
                        length = usize::try_from(self.u32("MatchLengthU32")?).map_err(|_| {
                            self.error_at("MatchLengthU32", at, "length does not fit in memory")
                        })?;
                    }
                    if length < 15 + 7 {
                        return Err(self.error_at(
                            "MatchLengthU16",
                            at,
                            format!("extended length {length} is below the minimum of 22"),
                        ));
                    }
                    length -= 15 + 7;
                }
                length += 15;
            }
            length += 7;
        }
        length
            .checked_add(MIN_MATCH)
            .ok_or_else(|| self.error_at("MatchLength", self.pos, "length overflows"))
    }

    fn take<const N: usize>(&mut self, field: &'static str) -> DecodeResult<[u8; N]> {
        let rest = self.input.get(self.pos..).unwrap_or_default();
        match rest.first_chunk::<N>() {
            Some(a) => {
                self.pos += N;
                Ok(*a)
            }
            None => Err(DecodeError::truncated(field, self.pos, N, rest.len()).within(STRUCTURE)),
        }
    }

    fn u8(&mut self, field: &'static str) -> DecodeResult<u8> {
        Ok(self.take::<1>(field)?[0])
    }

    fn u16(&mut self, field: &'static str) -> DecodeResult<u16> {
        Ok(u16::from_le_bytes(self.take(field)?))
    }

    fn u32(&mut self, field: &'static str) -> DecodeResult<u32> {
        Ok(u32::from_le_bytes(self.take(field)?))
    }

    fn error_at(&self, field: &'static str, at: usize, detail: impl Into<String>) -> DecodeError {
        DecodeError::invalid(field, at, detail).within(STRUCTURE)
    }
}

const HASH_BITS: u32 = 15;
/// Matches longer than this only index their last few positions (speed over ratio).
const FULL_INSERT_LIMIT: usize = 32;
/// Longest match the encoder emits; the u32 length field holds `length - 3`.
const MAX_MATCH: usize = 1 << 30;

struct Encoder<'a> {
    input: &'a [u8],
    out: Vec<u8>,
    /// Most recent position (+1, 0 = empty) of each 3-byte hash.
    table: Vec<u32>,
    flags: u32,
    flag_count: u32,
    flag_at: usize,
    nibble_at: Option<usize>,
}

impl<'a> Encoder<'a> {
    fn new(input: &'a [u8]) -> Self {
        let mut out = Vec::with_capacity(input.len() + input.len() / 8 + 8);
        out.extend_from_slice(&[0; 4]);
        Self {
            input,
            out,
            table: vec![0; 1 << HASH_BITS],
            flags: 0,
            flag_count: 0,
            flag_at: 0,
            nibble_at: None,
        }
    }

    fn run(mut self) -> Vec<u8> {
        let n = self.input.len();
        let mut pos = 0;
        while pos < n {
            match self.find_match(pos) {
                Some((distance, length)) => {
                    self.emit_match(distance, length);
                    self.index_match(pos, length);
                    pos += length;
                }
                None => {
                    self.out.push(self.input[pos]);
                    self.push_flag(0);
                    pos += 1;
                }
            }
        }
        self.finish()
    }

    fn hash(&self, pos: usize) -> usize {
        let b = &self.input[pos..pos + 3];
        let v = u32::from(b[0]) | u32::from(b[1]) << 8 | u32::from(b[2]) << 16;
        (v.wrapping_mul(0x9E37_79B1) >> (32 - HASH_BITS)) as usize
    }

    /// Looks up (and records) `pos`; returns `(distance, length)` of a usable match.
    fn find_match(&mut self, pos: usize) -> Option<(usize, usize)> {
        if pos + MIN_MATCH > self.input.len() {
            return None;
        }
        let h = self.hash(pos);
        let candidate = self.table[h];
        // INVARIANT: positions are stored +1 so 0 means "empty"; inputs ≥ 4 GiB wrap and
        // merely miss matches, they never produce a wrong one (candidates are verified).
        self.table[h] = (pos as u32).wrapping_add(1);
        let candidate = (candidate as usize).checked_sub(1)?;
        if candidate >= pos || pos - candidate > MAX_DISTANCE {
            return None;
        }
        let length = common_prefix(&self.input[candidate..], &self.input[pos..], MAX_MATCH);
        (length >= MIN_MATCH).then_some((pos - candidate, length))
    }

    fn index_match(&mut self, start: usize, length: usize) {
        let end = (start + length).min(self.input.len().saturating_sub(MIN_MATCH - 1));
        let first = if length > FULL_INSERT_LIMIT {
            end.saturating_sub(FULL_INSERT_LIMIT / 4).max(start + 1)
        } else {
            start + 1
        };
        for p in first..end {
            let h = self.hash(p);
            self.table[h] = (p as u32).wrapping_add(1);
        }
    }

    fn emit_match(&mut self, distance: usize, length: usize) {
        let base = ((distance - 1) as u16) << 3;
        let mut rest = length - MIN_MATCH;
        if rest < 7 {
            self.put_u16(base | rest as u16);
        } else {
            self.put_u16(base | 7);
            rest -= 7;
            let nibble = rest.min(15) as u8;
            match self.nibble_at.take() {
                None => {
                    self.nibble_at = Some(self.out.len());
                    self.out.push(nibble);
                }
                Some(at) => self.out[at] |= nibble << 4,
            }
            if rest >= 15 {
                rest -= 15;
                if rest < 255 {
                    self.out.push(rest as u8);
                } else {
                    self.out.push(255);
                    let total = length - MIN_MATCH;
                    match u16::try_from(total) {
                        Ok(v) => self.put_u16(v),
                        Err(_) => {
                            self.put_u16(0);
                            // INVARIANT: length ≤ MAX_MATCH < 2^32.
                            self.out.extend_from_slice(&(total as u32).to_le_bytes());
                        }
                    }
                }
            }
        }
        self.push_flag(1);
    }

    fn put_u16(&mut self, v: u16) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }

    fn push_flag(&mut self, bit: u32) {
        self.flags = self.flags << 1 | bit;
        self.flag_count += 1;
        if self.flag_count == 32 {
            self.write_flags(self.flags);
            self.flags = 0;
            self.flag_count = 0;
            self.flag_at = self.out.len();
            self.out.extend_from_slice(&[0; 4]);
        }
    }

    fn write_flags(&mut self, flags: u32) {
        self.out[self.flag_at..self.flag_at + 4].copy_from_slice(&flags.to_le_bytes());
    }

    fn finish(mut self) -> Vec<u8> {
        // Unused bits are ones (the end marker); with 0 pending elements the whole word is
        // ones. Done in u64 because shifting a u32 by 32 is not allowed.
        let free = 32 - self.flag_count;
        let word = (u64::from(self.flags) << free) | ((1u64 << free) - 1);
        self.write_flags(word as u32);
        self.out
    }
}

/// Number of equal leading bytes of `a` and `b`, at most `max`.
fn common_prefix(a: &[u8], b: &[u8], max: usize) -> usize {
    let limit = a.len().min(b.len()).min(max);
    let mut n = 0;
    while n + 8 <= limit {
        let x = u64::from_le_bytes(chunk8(&a[n..]));
        let y = u64::from_le_bytes(chunk8(&b[n..]));
        let diff = x ^ y;
        if diff != 0 {
            return n + (diff.trailing_zeros() / 8) as usize;
        }
        n += 8;
    }
    while n < limit && a[n] == b[n] {
        n += 1;
    }
    n
}

fn chunk8(s: &[u8]) -> [u8; 8] {
    s.first_chunk::<8>().copied().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_round_trip() {
        let c = compress(&[]);
        assert_eq!(c, [0xFF; 4]);
        assert_eq!(decompress(&c, 0).unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn exactly_32_literals_end_with_all_ones_word() {
        let input: Vec<u8> = (0u8..32).collect();
        let c = compress(&input);
        assert_eq!(&c[..4], &[0, 0, 0, 0]);
        assert_eq!(&c[36..], &[0xFF; 4]);
        assert_eq!(decompress(&c, 32).unwrap(), input);
    }

    #[test]
    fn overlapping_run() {
        let input = vec![b'a'; 1000];
        let c = compress(&input);
        assert!(c.len() < 16, "{}", c.len());
        assert_eq!(decompress(&c, 1000).unwrap(), input);
    }
}
