//! Store entry IDs (MS-OXCDATA 2.2.4): the IDs CDO's `Session.GetFolder` / `GetMessage`
//! take, valid across sessions because they carry long-term IDs, not session handles.
//!
//! [MS-OXCDATA 2.2.4.1 Folder EntryID](https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-oxcdata/)
//! is 46 bytes, [2.2.4.2 Message EntryID] 70 bytes:
//!
//! ```text
//! Flags u32 (0) | ProviderUID 16 | Type u16 | LongTermID 24 (folder) [| LongTermID 24 (message)]
//! ```

use std::fmt;

use oxmapi_wire::data::{FolderId, LongTermId, MessageId};
use oxmapi_wire::{DecodeError, DecodeResult, ReadCursor, WriteCursor};

/// MS-OXCDATA 2.2.4.1 FolderType / 2.2.4.2 MessageType values.
pub mod entry_type {
    /// eitLTPrivateFolder: a folder of a private mailbox.
    pub const PRIVATE_FOLDER: u16 = 0x0001;
    /// eitLTPublicFolder: a public folder.
    pub const PUBLIC_FOLDER: u16 = 0x0003;
    /// eitLTPrivateMessage: a message in a private mailbox.
    pub const PRIVATE_MESSAGE: u16 = 0x0007;
    /// eitLTPublicMessage: a message in a public folder.
    pub const PUBLIC_MESSAGE: u16 = 0x0009;
}

/// A store entry ID: a folder's or a message's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryId {
    /// MS-OXCDATA 2.2.4.1 Folder EntryID.
    Folder(FolderEntryId),
    /// MS-OXCDATA 2.2.4.2 Message EntryID.
    Message(MessageEntryId),
}

/// MS-OXCDATA 2.2.4.1 Folder EntryID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FolderEntryId {
    /// ProviderUID: the mailbox GUID for a private store.
    pub provider_uid: [u8; 16],
    /// FolderType, see [`entry_type`].
    pub folder_type: u16,
    /// The folder's long-term ID.
    pub folder: LongTermId,
}

/// MS-OXCDATA 2.2.4.2 Message EntryID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MessageEntryId {
    /// ProviderUID: the mailbox GUID for a private store.
    pub provider_uid: [u8; 16],
    /// MessageType, see [`entry_type`].
    pub message_type: u16,
    /// The long-term ID of the folder holding the message.
    pub folder: LongTermId,
    /// The message's long-term ID.
    pub message: LongTermId,
}

/// Size of a Folder EntryID: Flags 4 + ProviderUID 16 + FolderType 2 + LongTermID 24.
pub const FOLDER_ENTRY_ID_SIZE: usize = 46;
/// Size of a Message EntryID: a Folder EntryID plus the message's LongTermID (24).
pub const MESSAGE_ENTRY_ID_SIZE: usize = 70;

impl EntryId {
    /// Decodes an entry ID; every byte must be used.
    pub fn parse(bytes: &[u8]) -> DecodeResult<Self> {
        let mut r = ReadCursor::new(bytes);
        let at = r.offset();
        let flags = r.u32("Flags")?;
        if flags != 0 {
            return Err(DecodeError::invalid(
                "Flags",
                at,
                format!("0x{flags:08X}: a store entry ID has Flags 0"),
            ));
        }
        let provider_uid = r.guid("ProviderUID")?;
        let at = r.offset();
        let ty = r.u16("Type")?;
        let folder = LongTermId::decode(&mut r)?;
        let id = match ty {
            entry_type::PRIVATE_FOLDER | entry_type::PUBLIC_FOLDER => Self::Folder(FolderEntryId {
                provider_uid,
                folder_type: ty,
                folder,
            }),
            entry_type::PRIVATE_MESSAGE | entry_type::PUBLIC_MESSAGE => {
                Self::Message(MessageEntryId {
                    provider_uid,
                    message_type: ty,
                    folder,
                    message: LongTermId::decode(&mut r)?,
                })
            }
            other => {
                return Err(DecodeError::invalid(
                    "Type",
                    at,
                    format!("0x{other:04X} is not a folder or message entry ID type"),
                ));
            }
        };
        r.finish("EntryID")?;
        Ok(id)
    }

    /// Decodes the hex form ([`EntryId::to_hex`], what `oxmapi ls` prints).
    pub fn from_hex(s: &str) -> Result<Self, EntryIdParseError> {
        let bytes = decode_hex(s.trim()).ok_or(EntryIdParseError::NotHex)?;
        Self::parse(&bytes).map_err(EntryIdParseError::Decode)
    }

    /// The wire bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = WriteCursor::new();
        w.u32(0);
        match self {
            Self::Folder(f) => {
                w.bytes(&f.provider_uid);
                w.u16(f.folder_type);
                f.folder.encode(&mut w);
            }
            Self::Message(m) => {
                w.bytes(&m.provider_uid);
                w.u16(m.message_type);
                m.folder.encode(&mut w);
                m.message.encode(&mut w);
            }
        }
        w.into_inner()
    }

    /// Upper-case hex of the bytes.
    pub fn to_hex(&self) -> String {
        hex_upper(&self.to_bytes())
    }

    /// The ProviderUID (the mailbox GUID for private stores).
    pub fn provider_uid(&self) -> [u8; 16] {
        match self {
            Self::Folder(f) => f.provider_uid,
            Self::Message(m) => m.provider_uid,
        }
    }
}

impl fmt::Display for EntryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// Why a hex entry ID was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EntryIdParseError {
    /// Not an even number of hex digits.
    #[error("an entry ID is written as hex digits (what `oxmapi ls` prints)")]
    NotHex,
    /// The bytes are not a store entry ID.
    #[error("not a store entry ID: {0}")]
    Decode(DecodeError),
}

/// A folder ID from a long-term ID, with the REPLID the session maps the store's replica
/// GUID to (MS-OXCDATA 2.2.1.1: REPLID 2 bytes + GLOBCNT 6 bytes).
pub(crate) fn folder_id(replid: u16, ltid: &LongTermId) -> FolderId {
    FolderId::new(replid, ltid.globcnt())
}

/// A message ID from a long-term ID (MS-OXCDATA 2.2.1.2).
pub(crate) fn message_id(replid: u16, ltid: &LongTermId) -> MessageId {
    MessageId::new(replid, ltid.globcnt())
}

pub(crate) fn hex_upper(b: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        let _ = write!(s, "{x:02X}");
    }
    s
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    s.as_bytes()
        .chunks_exact(2)
        .map(|p| {
            let hi = char::from(p[0]).to_digit(16)?;
            let lo = char::from(p[1]).to_digit(16)?;
            u8::try_from(hi * 16 + lo).ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ltid(g: u8, counter: u64) -> LongTermId {
        let c = counter.to_be_bytes();
        LongTermId {
            database_guid: [g; 16],
            global_counter: [c[2], c[3], c[4], c[5], c[6], c[7]],
        }
    }

    #[test]
    fn message_entry_id_round_trip_and_layout() {
        let id = EntryId::Message(MessageEntryId {
            provider_uid: [0xAB; 16],
            message_type: entry_type::PRIVATE_MESSAGE,
            folder: ltid(1, 0x1234),
            message: ltid(1, 0x0102_0304_0506),
        });
        let b = id.to_bytes();
        assert_eq!(b.len(), MESSAGE_ENTRY_ID_SIZE);
        assert_eq!(&b[..4], &[0, 0, 0, 0]);
        assert_eq!(&b[20..22], &[0x07, 0x00]);
        // GLOBCNT is big-endian inside the LongTermID (MS-OXCDATA 2.2.1.3.1).
        assert_eq!(&b[62..68], &[1, 2, 3, 4, 5, 6]);
        assert_eq!(EntryId::parse(&b).unwrap(), id);
        assert_eq!(EntryId::from_hex(&id.to_hex()).unwrap(), id);
        assert_eq!(EntryId::from_hex(&id.to_hex().to_lowercase()).unwrap(), id);
        let Some(EntryId::Message(m)) = EntryId::parse(&b).ok() else {
            panic!("not a message entry ID");
        };
        assert_eq!(
            message_id(1, &m.message),
            MessageId::new(1, 0x0102_0304_0506)
        );
        assert_eq!(folder_id(1, &m.folder), FolderId::new(1, 0x1234));
    }

    #[test]
    fn folder_entry_id_round_trip() {
        let id = EntryId::Folder(FolderEntryId {
            provider_uid: [7; 16],
            folder_type: entry_type::PRIVATE_FOLDER,
            folder: ltid(2, 99),
        });
        let b = id.to_bytes();
        assert_eq!(b.len(), FOLDER_ENTRY_ID_SIZE);
        assert_eq!(EntryId::parse(&b).unwrap(), id);
    }

    #[test]
    fn every_truncation_and_bad_input_is_an_error() {
        let id = EntryId::Message(MessageEntryId {
            provider_uid: [0xAB; 16],
            message_type: entry_type::PRIVATE_MESSAGE,
            folder: ltid(1, 5),
            message: ltid(1, 6),
        });
        let b = id.to_bytes();
        for n in 0..b.len() {
            assert!(EntryId::parse(&b[..n]).is_err(), "prefix {n} accepted");
        }
        let mut longer = b.clone();
        longer.push(0);
        assert!(EntryId::parse(&longer).is_err());
        let mut bad_type = b.clone();
        bad_type[20] = 0x42;
        let e = EntryId::parse(&bad_type).unwrap_err();
        assert_eq!(e.field, "Type");
        let mut bad_flags = b;
        bad_flags[0] = 1;
        assert_eq!(EntryId::parse(&bad_flags).unwrap_err().field, "Flags");
        assert_eq!(EntryId::from_hex("xyz"), Err(EntryIdParseError::NotHex));
        assert_eq!(EntryId::from_hex("0"), Err(EntryIdParseError::NotHex));
        assert!(matches!(
            EntryId::from_hex("00"),
            Err(EntryIdParseError::Decode(_))
        ));
    }

    proptest::proptest! {
        #[test]
        fn any_entry_id_round_trips(
            uid in proptest::array::uniform16(proptest::num::u8::ANY),
            g1 in proptest::array::uniform16(proptest::num::u8::ANY),
            c1 in 0u64..(1 << 48),
            c2 in 0u64..(1 << 48),
            message in proptest::bool::ANY,
        ) {
            let lt = |g: [u8; 16], c: u64| {
                let b = c.to_be_bytes();
                LongTermId { database_guid: g, global_counter: [b[2], b[3], b[4], b[5], b[6], b[7]] }
            };
            let id = if message {
                EntryId::Message(MessageEntryId {
                    provider_uid: uid,
                    message_type: entry_type::PRIVATE_MESSAGE,
                    folder: lt(g1, c1),
                    message: lt(g1, c2),
                })
            } else {
                EntryId::Folder(FolderEntryId {
                    provider_uid: uid,
                    folder_type: entry_type::PUBLIC_FOLDER,
                    folder: lt(g1, c1),
                })
            };
            proptest::prop_assert_eq!(EntryId::from_hex(&id.to_hex()).unwrap(), id);
            if let EntryId::Message(m) = id {
                proptest::prop_assert_eq!(message_id(1, &m.message).globcnt(), c2);
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..100)) {
            if let Ok(id) = EntryId::parse(&bytes) {
                proptest::prop_assert_eq!(id.to_bytes(), bytes);
            }
        }
    }
}
