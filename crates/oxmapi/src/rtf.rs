//! PidTagRtfCompressed (MS-OXRTFCP): decompression with the `compressed-rtf` crate, behind
//! checks of the 16-byte header so that hostile input gives an error instead of the crate's
//! panics (it indexes `data[..16]` and `data[16..16 + RawSize]` unchecked, and pre-allocates
//! RawSize bytes).

/// COMPTYPE "LZFu": compressed (MS-OXRTFCP 2.1.3.1.1).
const COMPRESSED: u32 = 0x7546_5A4C;
/// COMPTYPE "MELA": stored uncompressed.
const UNCOMPRESSED: u32 = 0x414C_454D;
/// The largest RawSize accepted (64 MiB).
const MAX_RAW: usize = 64 << 20;

/// Why a PidTagRtfCompressed value could not be decompressed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RtfError {
    /// Shorter than the 16-byte header.
    #[error("compressed RTF is {0} bytes, shorter than its 16-byte header")]
    TooShort(usize),
    /// COMPSIZE, RAWSIZE or COMPTYPE do not fit the data.
    #[error("compressed RTF header is inconsistent: {0}")]
    Header(String),
    /// The decompressor refused the data.
    #[error("compressed RTF is corrupt: {0}")]
    Corrupt(String),
}

/// Decompresses a PidTagRtfCompressed value into the RTF text.
pub fn decompress(data: &[u8]) -> Result<String, RtfError> {
    let word = |i: usize| {
        data.get(i..i + 4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_le_bytes)
    };
    let (Some(comp_size), Some(raw_size), Some(comp_type)) = (word(0), word(4), word(8)) else {
        return Err(RtfError::TooShort(data.len()));
    };
    if data.len() < 16 {
        return Err(RtfError::TooShort(data.len()));
    }
    let raw = usize::try_from(raw_size).unwrap_or(usize::MAX);
    if usize::try_from(comp_size)
        .ok()
        .and_then(|c| c.checked_add(4))
        != Some(data.len())
    {
        return Err(RtfError::Header(format!(
            "COMPSIZE {comp_size} does not match the {} bytes given",
            data.len()
        )));
    }
    let body = data.len() - 16;
    match comp_type {
        UNCOMPRESSED if raw > body => {
            return Err(RtfError::Header(format!(
                "RAWSIZE {raw} is more than the {body} stored bytes"
            )));
        }
        // Each control byte covers 8 tokens; a 2-byte reference expands to at most 17 bytes.
        COMPRESSED if raw > MAX_RAW || raw > body.saturating_mul(9).saturating_add(4096) => {
            return Err(RtfError::Header(format!(
                "RAWSIZE {raw} is not plausible for {body} compressed bytes"
            )));
        }
        COMPRESSED | UNCOMPRESSED => {}
        other => {
            return Err(RtfError::Header(format!(
                "COMPTYPE 0x{other:08X} is neither LZFu nor MELA"
            )));
        }
    }
    std::panic::catch_unwind(|| compressed_rtf::decompress_rtf(data))
        .map_err(|_| RtfError::Corrupt("the decompressor failed".into()))?
        .map_err(|e| RtfError::Corrupt(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_hostile_input() {
        let rtf = r"{\rtf1\ansi\ansicpg1252\pard Hello {\b world}\par}";
        let packed = compressed_rtf::compress_rtf(rtf).unwrap();
        assert_eq!(decompress(&packed).unwrap(), rtf);
        // Every prefix is an error, never a panic (the crate panics below 16 bytes).
        for n in 0..packed.len() {
            assert!(decompress(&packed[..n]).is_err(), "prefix {n}");
        }
        // MELA with a RAWSIZE beyond the data.
        let mut mela = vec![0u8; 20];
        mela[..4].copy_from_slice(&16u32.to_le_bytes());
        mela[4..8].copy_from_slice(&100u32.to_le_bytes());
        mela[8..12].copy_from_slice(&UNCOMPRESSED.to_le_bytes());
        assert!(matches!(decompress(&mela), Err(RtfError::Header(_))));
        // A huge RAWSIZE must not allocate.
        let mut huge = packed.clone();
        huge[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(decompress(&huge), Err(RtfError::Header(_))));
        let mut bad_type = packed;
        bad_type[8] ^= 0xFF;
        assert!(decompress(&bad_type).is_err());
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_input_never_panics(mut bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300), lzfu in proptest::bool::ANY) {
            // Make the header plausible half of the time so the decompressor itself runs.
            if lzfu && bytes.len() >= 16 {
                let comp = u32::try_from(bytes.len() - 4).unwrap_or(0);
                bytes[..4].copy_from_slice(&comp.to_le_bytes());
                bytes[8..12].copy_from_slice(&COMPRESSED.to_le_bytes());
            }
            let _ = decompress(&bytes);
        }

        #[test]
        fn ascii_rtf_round_trips(text in "[ -~]{0,200}") {
            let rtf = format!(r"{{\rtf1\ansi {text}}}");
            let packed = compressed_rtf::compress_rtf(&rtf).unwrap();
            proptest::prop_assert_eq!(decompress(&packed).unwrap(), rtf);
        }
    }
}
