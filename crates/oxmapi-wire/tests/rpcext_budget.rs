//! Decompression budget of extended buffers (MS-OXCRPC 3.1.4.2.1, 3.1.4.2.1.1.1): headers
//! are counted and their `SizeActual` summed before any payload is inflated.

use oxmapi_wire::DecodeErrorKind;
use oxmapi_wire::rpcext::{
    MAX_RESPONSE_INFLATED, MAX_SEGMENT_PAYLOAD, PackOptions, RpcHeaderExt, RpcHeaderFlags,
    UnpackLimits, lz77, pack_chain, pack_segment, unpack_chain_within, unpack_segments_within,
};
use oxmapi_wire::{Encode, WriteCursor};

/// One compressed segment of `SizeActual` 65,535 zero bytes: a few dozen bytes on the wire.
fn bomb_segment(last: bool) -> Vec<u8> {
    sized_bomb_segment(0xFFFF, last)
}

fn sized_bomb_segment(size_actual: u16, last: bool) -> Vec<u8> {
    let data = lz77::compress(&vec![0u8; usize::from(size_actual)]);
    let mut flags = RpcHeaderFlags::COMPRESSED;
    if last {
        flags |= RpcHeaderFlags::LAST;
    }
    let header = RpcHeaderExt {
        version: 0,
        flags,
        size: u16::try_from(data.len()).unwrap(),
        size_actual,
    };
    let mut w = WriteCursor::with_capacity(8 + data.len());
    header.encode(&mut w).unwrap();
    w.bytes(&data);
    w.into_inner()
}

fn bomb(segments: usize) -> Vec<u8> {
    sized_bomb(0xFFFF, segments)
}

fn sized_bomb(size_actual: u16, segments: usize) -> Vec<u8> {
    let (more, last) = (
        sized_bomb_segment(size_actual, false),
        sized_bomb_segment(size_actual, true),
    );
    let mut out = more.repeat(segments.saturating_sub(1));
    out.extend(last);
    out
}

fn limit_of(e: &oxmapi_wire::DecodeError) -> (&'static str, usize, usize) {
    match e.kind {
        DecodeErrorKind::LimitExceeded {
            what,
            limit,
            declared,
        } => (what, limit, declared),
        ref other => panic!("expected a limit error, got {other:?} ({e})"),
    }
}

#[test]
fn a_bomb_segment_is_tiny_on_the_wire() {
    assert!(
        bomb_segment(true).len() < 64,
        "{}",
        bomb_segment(true).len()
    );
}

#[test]
fn request_with_55000_bomb_segments_is_refused_at_the_second_header() {
    // Each segment within the 32 KB rule: only the count gives the bomb away.
    let buf = sized_bomb(0x8000, 55_000);
    let e = unpack_segments_within(&buf, UnpackLimits::REQUEST).unwrap_err();
    assert!(e.is_limit(), "{e}");
    let (what, limit, declared) = limit_of(&e);
    assert_eq!((what, limit, declared), ("segments", 1, 2));
    // The offending header is the second one.
    assert_eq!(e.offset, sized_bomb_segment(0x8000, false).len());
    assert!(e.to_string().contains("at most 1 allowed"), "{e}");
}

#[test]
fn request_segment_above_32_kb_is_refused_before_inflating() {
    // MS-OXCRPC 3.1.4.2.1: a single payload MUST NOT exceed 32 KB.
    let buf = bomb(1);
    let e = unpack_segments_within(&buf, UnpackLimits::REQUEST).unwrap_err();
    assert_eq!(
        limit_of(&e),
        ("bytes in one segment", MAX_SEGMENT_PAYLOAD, 0xFFFF)
    );
    assert_eq!(e.offset, 6, "SizeActual of the first header");
}

#[test]
fn request_of_one_32_kb_segment_is_accepted() {
    let payload = vec![7u8; MAX_SEGMENT_PAYLOAD];
    for compress in [false, true] {
        let opts = PackOptions {
            compress,
            ..PackOptions::default()
        };
        let buf = pack_segment(&payload, opts).unwrap();
        let out = unpack_chain_within(&buf, UnpackLimits::REQUEST).unwrap();
        assert_eq!(out, vec![payload.clone()]);
    }
}

#[test]
fn response_budget_bounds_the_inflated_total() {
    // 64 KiB each: the budget allows MAX_RESPONSE_INFLATED / 0xFFFF segments.
    let fits = MAX_RESPONSE_INFLATED / 0xFFFF;
    let ok = bomb(fits);
    let out = unpack_chain_within(&ok, UnpackLimits::RESPONSE).unwrap();
    assert_eq!(out.len(), fits);
    let over = bomb(fits + 1);
    let e = unpack_chain_within(&over, UnpackLimits::RESPONSE).unwrap_err();
    let (what, limit, declared) = limit_of(&e);
    assert_eq!((what, limit), ("inflated bytes", MAX_RESPONSE_INFLATED));
    assert!(declared > MAX_RESPONSE_INFLATED);
}

#[test]
fn response_chains_within_budget_still_decode() {
    let parts = [b"one".repeat(50), b"two".repeat(5000), b"three".to_vec()];
    let opts = PackOptions {
        compress: true,
        xor: true,
        last: false,
    };
    let buf = pack_chain(&parts, opts).unwrap();
    let out = unpack_chain_within(&buf, UnpackLimits::RESPONSE).unwrap();
    assert_eq!(out, parts.to_vec());
}

#[test]
fn custom_total_budget_counts_across_segments() {
    let parts = [vec![1u8; 100], vec![2u8; 100], vec![3u8; 100]];
    let buf = pack_chain(&parts, PackOptions::default()).unwrap();
    let tight = UnpackLimits {
        max_segments: 10,
        max_segment_size: 1000,
        max_total: 250,
    };
    let e = unpack_segments_within(&buf, tight).unwrap_err();
    assert_eq!(limit_of(&e), ("inflated bytes", 250, 300));
    let roomy = UnpackLimits {
        max_total: 300,
        ..tight
    };
    assert_eq!(unpack_segments_within(&buf, roomy).unwrap().len(), 3);
}

#[test]
fn aux_buffer_is_one_small_segment() {
    let e = oxmapi_wire::rpcext::decode_aux_buffer(&bomb(1)).unwrap_err();
    assert!(e.is_limit(), "{e}");
    let e = oxmapi_wire::rpcext::decode_aux_buffer(&bomb(3)).unwrap_err();
    assert!(e.is_limit(), "{e}");
}

#[test]
fn malformed_headers_are_still_reported_as_such() {
    // The budget pass validates headers too: a bad Version is a format error, not a limit.
    let mut buf = pack_segment(b"abc", PackOptions::default()).unwrap();
    buf[0] = 1;
    let e = unpack_segments_within(&buf, UnpackLimits::REQUEST).unwrap_err();
    assert!(matches!(e.kind, DecodeErrorKind::InvalidValue(_)), "{e}");
    // And a truncated chain stays a truncation.
    let chain = pack_chain(&[b"a", b"b"], PackOptions::default()).unwrap();
    let e = unpack_segments_within(&chain[..chain.len() - 1], UnpackLimits::RESPONSE).unwrap_err();
    assert!(e.is_truncated(), "{e}");
}
