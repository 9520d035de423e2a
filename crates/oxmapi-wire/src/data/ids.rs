//! Folder and message identifiers (MS-OXCDATA 2.2.1).
//!
//! [MS-OXCDATA 2.2.1.1 Folder ID](https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-oxcdata/1c934e18-441b-4c47-9de0-eb34ffea47e3):
//! 8 bytes, a 2-byte ReplicaId (little-endian) followed by a 6-byte GlobalCounter stored
//! **big-endian** (MS-OXCFXICS 2.2.2.5 GLOBCNT). On the wire the whole ID is carried as a
//! little-endian u64, so bytes 0-1 are the REPLID and bytes 2-7 the GLOBCNT.

use std::fmt;

use crate::cursor::{ReadCursor, WriteCursor};
use crate::error::{DecodeContext, DecodeResult};

macro_rules! id_type {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        pub struct $name(pub u64);

        impl $name {
            /// Builds an ID from a replica ID and a 48-bit global counter.
            pub fn new(replid: u16, globcnt: u64) -> Self {
                let mut b = [0u8; 8];
                b[..2].copy_from_slice(&replid.to_le_bytes());
                b[2..].copy_from_slice(&globcnt.to_be_bytes()[2..]);
                Self(u64::from_le_bytes(b))
            }

            /// The replica ID (bytes 0-1, little-endian).
            pub fn replid(self) -> u16 {
                let b = self.0.to_le_bytes();
                u16::from_le_bytes([b[0], b[1]])
            }

            /// The 48-bit global counter (bytes 2-7, big-endian).
            pub fn globcnt(self) -> u64 {
                let b = self.0.to_le_bytes();
                let mut g = [0u8; 8];
                g[2..].copy_from_slice(&b[2..]);
                u64::from_be_bytes(g)
            }

            /// Reads the 8-byte ID.
            pub fn decode(r: &mut ReadCursor<'_>) -> DecodeResult<Self> {
                Ok(Self(r.u64(stringify!($name)).within(stringify!($name))?))
            }

            /// Writes the 8-byte ID.
            pub fn encode(self, w: &mut WriteCursor) {
                w.u64(self.0);
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}-{:X}", self.replid(), self.globcnt())
            }
        }

        impl fmt::Display for $name {
            /// `REPLID-GLOBCNT` in hex, the form the CLI accepts back.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(self, f)
            }
        }
    };
}

id_type!(
    /// Folder ID (MS-OXCDATA 2.2.1.1).
    FolderId
);
id_type!(
    /// Message ID (MS-OXCDATA 2.2.1.2).
    MessageId
);

/// LongTermID (MS-OXCDATA 2.2.1.3.1): a 24-byte ID valid across sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LongTermId {
    /// The store's replica GUID (DatabaseGuid).
    pub database_guid: [u8; 16],
    /// The 6-byte GLOBCNT, big-endian.
    pub global_counter: [u8; 6],
}

impl LongTermId {
    /// Reads 24 bytes (DatabaseGuid, GlobalCounter, 2 pad bytes that must be zero).
    pub fn decode(r: &mut ReadCursor<'_>) -> DecodeResult<Self> {
        (|| {
            let database_guid = r.guid("DatabaseGuid")?;
            let global_counter = r.array("GlobalCounter")?;
            let at = r.offset();
            let pad = r.u16("Pad")?;
            if pad != 0 {
                return Err(crate::error::DecodeError::invalid(
                    "Pad",
                    at,
                    "must be zero",
                ));
            }
            Ok(Self {
                database_guid,
                global_counter,
            })
        })()
        .within("LongTermID")
    }

    /// Writes the 24 bytes.
    pub fn encode(&self, w: &mut WriteCursor) {
        w.bytes(&self.database_guid);
        w.bytes(&self.global_counter);
        w.u16(0);
    }

    /// The GLOBCNT as a number.
    pub fn globcnt(&self) -> u64 {
        let mut g = [0u8; 8];
        g[2..].copy_from_slice(&self.global_counter);
        u64::from_be_bytes(g)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// NOTES.md §5.9: REPLID 1, counter 0x13FF856 → bytes `01 00 00 00 01 3F F8 56`.
    #[test]
    fn globcnt_is_big_endian() {
        let id = FolderId::new(1, 0x13F_F856);
        assert_eq!(
            id.0.to_le_bytes(),
            [0x01, 0x00, 0x00, 0x00, 0x01, 0x3F, 0xF8, 0x56]
        );
        assert_eq!(id.replid(), 1);
        assert_eq!(id.globcnt(), 0x13F_F856);
        assert_eq!(id.to_string(), "1-13FF856");
    }
}
