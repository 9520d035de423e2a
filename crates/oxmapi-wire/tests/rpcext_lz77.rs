//! MS-XCA Plain LZ77 ("LZ77 + DIRECT2") known answers, edge cases and properties.

use oxmapi_wire::DecodeErrorKind;
use oxmapi_wire::rpcext::lz77::{compress, decompress};
use proptest::prelude::*;

/// MS-XCA 3.1 example 1 (VECTORS.md §1.1): 26 literals.
const ALPHABET_COMPRESSED: &str = "3f000000 6162636465666768696a6b6c6d6e6f707172737475767778797a";
/// MS-XCA 3.1 example 2 (VECTORS.md §1.2): "abc" x 100 = abc + match(distance 3, length 297).
const ABC100_COMPRESSED: &str = "ffffff1f 616263 1700 0f ff 2601";

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).unwrap()
}

fn abc100() -> Vec<u8> {
    b"abc".repeat(100)
}

#[test]
fn ms_xca_example_literals() {
    let c = unhex(ALPHABET_COMPRESSED);
    let expected = b"abcdefghijklmnopqrstuvwxyz";
    assert_eq!(decompress(&c, 26).unwrap(), expected);
    assert_eq!(
        compress(expected),
        c,
        "greedy output equals the spec example"
    );
    assert_eq!(decompress(&compress(expected), 26).unwrap(), expected);
}

#[test]
fn ms_xca_example_long_match() {
    let c = unhex(ABC100_COMPRESSED);
    assert_eq!(decompress(&c, 300).unwrap(), abc100());
    assert_eq!(
        compress(&abc100()),
        c,
        "greedy output equals the spec example"
    );
    assert_eq!(decompress(&compress(&abc100()), 300).unwrap(), abc100());
}

#[test]
fn every_truncated_prefix_of_the_vectors_fails() {
    for (hex, len) in [(ALPHABET_COMPRESSED, 26), (ABC100_COMPRESSED, 300)] {
        let c = unhex(hex);
        for n in 0..c.len() {
            let e = decompress(&c[..n], len).unwrap_err();
            assert!(e.is_truncated(), "prefix {n}: {e}");
        }
    }
}

#[test]
fn expected_length_is_enforced() {
    let c = unhex(ABC100_COMPRESSED);
    // Asking for less: the 297-byte match would overrun, which is an error, not a resize.
    let e = decompress(&c, 299).unwrap_err();
    assert_eq!(e.field, "MatchLength");
    assert!(matches!(e.kind, DecodeErrorKind::InvalidValue(_)));
    // Asking for more: the stream ends (end-marker bit) before producing it.
    assert!(decompress(&c, 301).unwrap_err().is_truncated());
    // Stopping early inside the literals is fine.
    assert_eq!(decompress(&c, 2).unwrap(), b"ab");
}

#[test]
fn distance_before_start_is_rejected() {
    // Literal 'a', then a match at distance 2 (only 1 byte of history).
    let c = [0xFF, 0xFF, 0xFF, 0x7F, b'a', 0x08, 0x00];
    let e = decompress(&c, 4).unwrap_err();
    assert_eq!(e.field, "MatchDistance");
    assert_eq!(e.offset, 5);
    // A match as the very first element.
    let e = decompress(&[0xFF, 0xFF, 0xFF, 0xFF, 0x08, 0x00], 3).unwrap_err();
    assert_eq!(e.field, "MatchDistance");
}

/// 'a' followed by a match at distance 1 whose length bytes are `tail` (after metadata 0x0007).
fn crafted(tail: &[u8]) -> Vec<u8> {
    // Flags MSB-first: 0 (literal), 1 (match), then end-marker ones.
    let mut c = 0x7FFF_FFFFu32.to_le_bytes().to_vec();
    c.push(b'a');
    c.extend_from_slice(&[0x07, 0x00]);
    c.extend_from_slice(tail);
    c
}

#[test]
fn direct2_length_table() {
    // VECTORS.md §1.3 (MS-OXCRPC 3.1.4.1.1.2.2 length representation table).
    let rows: [(&[u8], usize); 6] = [
        (&[0b1110], 24),
        (&[0b1111, 0x00], 25),
        (&[0b1111, 0x01], 26),
        (&[0b1111, 0xFE], 279),
        (&[0b1111, 0xFF, 0x15, 0x01], 280),
        (&[0b1111, 0xFF, 0x16, 0x01], 281),
    ];
    for (tail, length) in rows {
        let c = crafted(tail);
        let expected = vec![b'a'; length + 1];
        assert_eq!(
            decompress(&c, length + 1).unwrap(),
            expected,
            "length {length}"
        );
        // Our encoder picks the same representation for the same input.
        assert_eq!(compress(&expected), c, "length {length}");
        for n in 0..c.len() {
            assert!(
                decompress(&c[..n], length + 1).is_err(),
                "length {length} prefix {n}"
            );
        }
    }
}

#[test]
fn direct2_u32_length_extension() {
    // Length 70000: byte 255, u16 0, then u32 length - 3 (MS-XCA 2.4.4).
    let length = 70_000usize;
    let mut tail = vec![0x0F, 0xFF, 0x00, 0x00];
    tail.extend_from_slice(&((length - 3) as u32).to_le_bytes());
    let c = crafted(&tail);
    assert_eq!(decompress(&c, length + 1).unwrap(), vec![b'a'; length + 1]);
    assert_eq!(compress(&vec![b'a'; length + 1]), c);
    // An extended length below 22 is invalid.
    let bad = crafted(&[0x0F, 0xFF, 0x10, 0x00]);
    let e = decompress(&bad, 100).unwrap_err();
    assert!(matches!(e.kind, DecodeErrorKind::InvalidValue(_)), "{e}");
    // A huge u32 length must fail without allocating it.
    let huge = crafted(&[0x0F, 0xFF, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF]);
    assert_eq!(decompress(&huge, 1000).unwrap_err().field, "MatchLength");
}

#[test]
fn shared_nibble_alternates_between_two_long_matches() {
    // 'a', match(1, 12) -> low nibble 2; 'b', match(1, 20) -> high nibble 10 of the same byte.
    let mut c = 0x5FFF_FFFFu32.to_le_bytes().to_vec(); // 0,1,0,1 then ones
    c.push(b'a');
    c.extend_from_slice(&[0x07, 0x00, 0xA2]);
    c.push(b'b');
    c.extend_from_slice(&[0x07, 0x00]);
    let mut expected = vec![b'a'; 13];
    expected.extend(vec![b'b'; 21]);
    assert_eq!(decompress(&c, expected.len()).unwrap(), expected);
    assert_eq!(compress(&expected), c);
}

#[test]
fn max_distance_8192_and_full_flag_words() {
    // 8192 literals (256 all-zero flag words), then one match at distance 8192, length 3.
    let literals: Vec<u8> = (0..8192u32).map(|i| (i * 7 + i / 256) as u8).collect();
    let mut c = Vec::new();
    for chunk in literals.chunks(32) {
        c.extend_from_slice(&[0, 0, 0, 0]);
        c.extend_from_slice(chunk);
    }
    c.extend_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF, 0xF8, 0xFF]);
    let mut expected = literals.clone();
    expected.extend_from_slice(&literals[..3]);
    assert_eq!(decompress(&c, expected.len()).unwrap(), expected);
    let c = compress(&expected);
    assert_eq!(decompress(&c, expected.len()).unwrap(), expected);
}

/// Text-like, repetitive data of a chosen size.
fn repetitive(seed: u64, len: usize) -> Vec<u8> {
    let words: [&[u8]; 8] = [
        b"Subject: ",
        b"hello ",
        b"world ",
        b"\r\n",
        b"From: ",
        b"\x00\x00",
        b"MAPI ",
        b"abc",
    ];
    let mut out = Vec::with_capacity(len);
    let mut x = seed | 1;
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if x.is_multiple_of(5) {
            out.push((x >> 24) as u8);
        } else {
            out.extend_from_slice(words[(x >> 40) as usize % words.len()]);
        }
    }
    out.truncate(len);
    out
}

proptest! {
    #[test]
    fn round_trip_arbitrary(data in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let c = compress(&data);
        prop_assert_eq!(decompress(&c, data.len()).unwrap(), data);
    }

    #[test]
    fn round_trip_small_alphabet(data in proptest::collection::vec(0u8..3, 0..20_000)) {
        let c = compress(&data);
        prop_assert_eq!(decompress(&c, data.len()).unwrap(), data);
    }

    #[test]
    fn decompress_never_panics(data in proptest::collection::vec(any::<u8>(), 0..512), len in 0usize..4096) {
        if let Ok(out) = decompress(&data, len) {
            prop_assert_eq!(out.len(), len);
        }
    }

    #[test]
    fn truncated_streams_fail(data in proptest::collection::vec(0u8..4, 1..2000), cut in any::<prop::sample::Index>()) {
        let c = compress(&data);
        // Dropping bytes that carry output (everything before the last element) must fail.
        let n = cut.index(c.len());
        if let Ok(out) = decompress(&c[..n], data.len()) {
            prop_assert_eq!(out, data);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn round_trip_large(seed in any::<u64>(), len in 70_000usize..150_000) {
        let data = repetitive(seed, len);
        let c = compress(&data);
        prop_assert!(c.len() < data.len());
        prop_assert_eq!(decompress(&c, data.len()).unwrap(), data);
    }

    #[test]
    fn round_trip_large_random(data in proptest::collection::vec(any::<u8>(), 70_000..80_000)) {
        let c = compress(&data);
        prop_assert!(c.len() <= data.len() + data.len() / 8 + 4);
        prop_assert_eq!(decompress(&c, data.len()).unwrap(), data);
    }
}
