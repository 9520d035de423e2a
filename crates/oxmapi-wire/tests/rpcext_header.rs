//! MS-OXCRPC 2.2.2.1 RPC_HEADER_EXT chains, 3.1.4.1.1.3 obfuscation.

use oxmapi_wire::rpcext::{
    PackOptions, RpcHeaderExt, RpcHeaderFlags, pack_chain, pack_segment, unpack_chain,
    unpack_segments, xor_magic,
};
use oxmapi_wire::{Decode, DecodeErrorKind, Encode, EncodeError};
use proptest::prelude::*;

/// VECTORS.md §1.4 (constructed): Compressed|Last, Size 13, SizeActual 300.
const COMPRESSED_LAST: &str = "0000 0500 0d00 2c01 ffffff1f 616263 1700 0f ff 2601";
/// VECTORS.md §1.4 (constructed): Compressed|XorMagic|Last, payload XOR 0xA5.
const COMPRESSED_XOR_LAST: &str = "0000 0700 0d00 2c01 5a5a5aba c4c7c6 b2a5 aa 5a 83a4";

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).unwrap()
}

#[test]
fn vectors_1_4_unpack_to_abc_x100() {
    for v in [COMPRESSED_LAST, COMPRESSED_XOR_LAST] {
        let buf = unhex(v);
        let segments = unpack_segments(&buf).unwrap();
        assert_eq!(segments.len(), 1);
        let s = &segments[0];
        assert_eq!(s.payload, b"abc".repeat(100));
        assert_eq!(s.payload_offset, 8);
        assert_eq!(s.header.size, 13);
        assert_eq!(s.header.size_actual, 300);
        assert!(s.header.is_last());
        assert!(s.header.flags.contains(RpcHeaderFlags::COMPRESSED));
        assert_eq!(unpack_chain(&buf).unwrap(), vec![b"abc".repeat(100)]);
    }
}

#[test]
fn vectors_1_4_are_what_pack_segment_builds() {
    let abc = b"abc".repeat(100);
    let opts = PackOptions {
        compress: true,
        ..PackOptions::default()
    };
    assert_eq!(pack_segment(&abc, opts).unwrap(), unhex(COMPRESSED_LAST));
    let opts = PackOptions { xor: true, ..opts };
    assert_eq!(
        pack_segment(&abc, opts).unwrap(),
        unhex(COMPRESSED_XOR_LAST)
    );
}

#[test]
fn every_truncated_prefix_fails() {
    for v in [COMPRESSED_LAST, COMPRESSED_XOR_LAST] {
        let buf = unhex(v);
        for n in 0..buf.len() {
            let e = unpack_chain(&buf[..n]).unwrap_err();
            assert!(e.is_truncated(), "prefix {n}: {e}");
        }
    }
}

#[test]
fn header_round_trip_and_debug() {
    let buf = unhex("0000 0700 0d00 2c01");
    let h = RpcHeaderExt::from_bytes(&buf).unwrap();
    assert_eq!(
        h.flags,
        RpcHeaderFlags::COMPRESSED | RpcHeaderFlags::XOR_MAGIC | RpcHeaderFlags::LAST
    );
    assert_eq!(format!("{:?}", h.flags), "Compressed | XorMagic | Last");
    assert_eq!(format!("{:?}", RpcHeaderFlags(0x0014)), "Last | 0x0010");
    assert_eq!(h.to_bytes().unwrap(), buf);
}

#[test]
fn xor_magic_vector() {
    // VECTORS.md §2 (constructed from MS-OXCRPC 3.1.4.1.1.3).
    let mut b = [0x00, 0x01, 0xFF];
    xor_magic(&mut b);
    assert_eq!(b, [0xA5, 0xA4, 0x5A]);
    xor_magic(&mut b);
    assert_eq!(b, [0x00, 0x01, 0xFF]);
}

#[test]
fn header_rules_are_enforced() {
    let cases: [(&str, &str); 6] = [
        ("0100 0400 0100 0100 aa", "Version"),
        ("0000 0c00 0100 0100 aa", "Flags"),
        ("0000 0400 0100 0200 aa", "SizeActual"), // not compressed, sizes differ
        ("0000 0500 0100 0100 aa", "Size"),       // compressed, Size == SizeActual
        ("0000 0500 0200 0100 aaaa", "Size"),     // compressed, Size > SizeActual
        ("0000 0400 0100 0100 aa bb", "Last segment"), // bytes after Last
    ];
    for (hex, field) in cases {
        let e = unpack_chain(&unhex(hex)).unwrap_err();
        assert_eq!(e.field, field, "{hex}: {e}");
    }
}

#[test]
fn chain_without_last_is_truncated() {
    let buf = unhex("0000 0000 0100 0100 aa");
    assert!(unpack_chain(&buf).unwrap_err().is_truncated());
}

#[test]
fn bad_compressed_payload_reports_absolute_offset() {
    // One segment before, then a compressed payload whose first element is a match.
    let buf = unhex("0000 0000 0100 0100 aa 0000 0500 0600 0900 ffffffff 0800");
    let e = unpack_chain(&buf).unwrap_err();
    assert_eq!(e.field, "MatchDistance");
    assert_eq!(e.offset, 9 + 8 + 4);
    assert!(matches!(e.kind, DecodeErrorKind::InvalidValue(_)));
}

#[test]
fn compression_is_only_kept_when_it_shrinks() {
    let opts = PackOptions {
        compress: true,
        ..PackOptions::default()
    };
    let wire = pack_segment(b"abcdefgh", opts).unwrap();
    let h = RpcHeaderExt::decode(&mut oxmapi_wire::ReadCursor::new(&wire)).unwrap();
    assert_eq!(h.flags, RpcHeaderFlags::LAST);
    assert_eq!((h.size, h.size_actual), (8, 8));
    let empty = pack_segment(&[], opts).unwrap();
    assert_eq!(empty, unhex("0000 0400 0000 0000"));
    assert_eq!(unpack_chain(&empty).unwrap(), vec![Vec::<u8>::new()]);
}

#[test]
fn payload_size_limits() {
    assert!(pack_segment(&vec![0; 0xFFFF], PackOptions::default()).is_ok());
    let e = pack_segment(&vec![0; 0x10000], PackOptions::default()).unwrap_err();
    assert!(matches!(
        e,
        EncodeError::TooLarge {
            field: "SizeActual",
            ..
        }
    ));
    let none: [&[u8]; 0] = [];
    assert!(pack_chain(&none, PackOptions::default()).is_err());
}

#[test]
fn chain_sets_last_on_final_segment_only() {
    let parts = [b"first".to_vec(), b"second".repeat(50), Vec::new()];
    let opts = PackOptions {
        compress: true,
        xor: true,
        last: false,
    };
    let wire = pack_chain(&parts, opts).unwrap();
    let segments = unpack_segments(&wire).unwrap();
    let lasts: Vec<bool> = segments.iter().map(|s| s.header.is_last()).collect();
    assert_eq!(lasts, [false, false, true]);
    assert!(
        segments[1]
            .header
            .flags
            .contains(RpcHeaderFlags::COMPRESSED)
    );
    let payloads: Vec<Vec<u8>> = segments.into_iter().map(|s| s.payload).collect();
    assert_eq!(payloads, parts);
}

proptest! {
    #[test]
    fn pack_unpack_round_trip(
        parts in proptest::collection::vec(proptest::collection::vec(0u8..8, 0..3000), 1..4),
        compress in any::<bool>(),
        xor in any::<bool>(),
    ) {
        let opts = PackOptions { compress, xor, last: true };
        let wire = pack_chain(&parts, opts).unwrap();
        prop_assert_eq!(unpack_chain(&wire).unwrap(), parts);
    }

    #[test]
    fn unpack_never_panics(buf in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = unpack_chain(&buf);
    }

    #[test]
    fn unpack_truncations_fail(parts in proptest::collection::vec(proptest::collection::vec(0u8..4, 0..500), 1..3), cut in any::<prop::sample::Index>()) {
        let opts = PackOptions { compress: true, xor: true, last: true };
        let wire = pack_chain(&parts, opts).unwrap();
        let n = cut.index(wire.len());
        prop_assert!(unpack_chain(&wire[..n]).is_err());
    }
}
