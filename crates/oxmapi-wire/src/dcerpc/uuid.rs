//! DCE UUIDs (C706 Appendix A) in their little-endian NDR wire form.

use std::fmt;

use crate::cursor::{ReadCursor, WriteCursor};
use crate::error::DecodeResult;

/// A UUID/GUID, stored in wire byte order (time_low, time_mid and time_hi_and_version
/// little-endian, the remaining eight bytes as they are), as NDR with little-endian drep
/// carries it (C706 Appendix A, MS-DTYP 2.3.4.2 GUID packet representation).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Uuid(pub [u8; 16]);

impl Uuid {
    /// The nil UUID.
    pub const NIL: Self = Self([0; 16]);

    /// Builds a UUID from its textual value written as one 128-bit number
    /// (`0x8a885d04_1ceb_11c9_9fe8_08002b104860` for `8a885d04-1ceb-11c9-9fe8-08002b104860`).
    pub const fn from_u128(v: u128) -> Self {
        let b = v.to_be_bytes();
        Self([
            b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13],
            b[14], b[15],
        ])
    }

    /// The textual value as one 128-bit number (inverse of [`Self::from_u128`]).
    pub const fn to_u128(self) -> u128 {
        let b = self.0;
        u128::from_be_bytes([
            b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13],
            b[14], b[15],
        ])
    }

    /// Reads 16 bytes.
    pub fn decode(r: &mut ReadCursor<'_>, field: &'static str) -> DecodeResult<Self> {
        r.guid(field).map(Self)
    }

    /// Writes 16 bytes.
    pub fn encode(&self, w: &mut WriteCursor) {
        w.bytes(&self.0);
    }
}

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.to_u128();
        write!(
            f,
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            v >> 96,
            (v >> 80) & 0xFFFF,
            (v >> 64) & 0xFFFF,
            (v >> 48) & 0xFFFF,
            v & 0xFFFF_FFFF_FFFF
        )
    }
}

impl fmt::Debug for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Uuid({self})")
    }
}
