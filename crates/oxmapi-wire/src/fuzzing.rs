//! Entry points shared by the cargo-fuzz targets in `fuzz/` and the corpus replay tests.
//!
//! Each function decodes arbitrary bytes; where decoding succeeds it checks the
//! decode → encode → decode oracle: re-encoding what was decoded must decode again and encode
//! to the same bytes (byte comparison, so NaN payloads compare sanely). A violated oracle
//! panics — that is the fuzzer's signal. Arbitrary input must never panic otherwise.

use crate::cursor::{ReadCursor, WriteCursor};
use crate::data::{PropertyRow, PropertyTag, PropertyType, ValueContext};

const TYPES: [PropertyType; 20] = [
    PropertyType::UNSPECIFIED,
    PropertyType::INT16,
    PropertyType::INT32,
    PropertyType::FLOAT64,
    PropertyType::BOOLEAN,
    PropertyType::INT64,
    PropertyType::STRING8,
    PropertyType::UNICODE,
    PropertyType::TIME,
    PropertyType::GUID,
    PropertyType::BINARY,
    PropertyType::SERVER_ID,
    PropertyType::ERROR,
    PropertyType::MV_INT32,
    PropertyType::MV_UNICODE,
    PropertyType::MV_BINARY,
    PropertyType::MV_STRING8,
    PropertyType::MV_GUID,
    PropertyType::CURRENCY,
    PropertyType::NULL,
];

/// Decodes a PropertyRow: byte 0 = dialect and column count, then one byte per column type,
/// then the row.
pub fn property_row(data: &[u8]) {
    let Some((&head, rest)) = data.split_first() else {
        return;
    };
    let ctx = if head & 0x80 != 0 {
        ValueContext::AddressBook
    } else {
        ValueContext::Rop
    };
    let n = usize::from(head & 0x07);
    if rest.len() < n {
        return;
    }
    let (types, row) = rest.split_at(n);
    let cols: Vec<PropertyTag> = types
        .iter()
        .enumerate()
        .map(|(i, &t)| PropertyTag::new(0x8000 + i as u16, TYPES[usize::from(t) % TYPES.len()]))
        .collect();
    let Ok(decoded) = PropertyRow::decode(&mut ReadCursor::new(row), &cols, ctx) else {
        return;
    };
    let mut w = WriteCursor::new();
    decoded
        .encode(&mut w, &cols, ctx)
        .expect("a decoded row re-encodes");
    let first = w.into_inner();
    let again = PropertyRow::decode(&mut ReadCursor::new(&first), &cols, ctx)
        .expect("re-encoded row decodes");
    let mut w = WriteCursor::new();
    again.encode(&mut w, &cols, ctx).expect("re-encodes");
    assert_eq!(first, w.into_inner(), "decode/encode is not stable");
}

/// LZ77 decompression of arbitrary bytes (first two bytes: the expected length), then the
/// compress → decompress oracle on whatever came out.
pub fn lz77(data: &[u8]) {
    if data.len() < 2 {
        return;
    }
    let expected = usize::from(u16::from_le_bytes([data[0], data[1]]));
    if let Ok(out) = crate::rpcext::lz77::decompress(&data[2..], expected) {
        assert_eq!(out.len(), expected, "decompress returned a wrong length");
    }
    let packed = crate::rpcext::lz77::compress(&data[2..]);
    let back =
        crate::rpcext::lz77::decompress(&packed, data.len() - 2).expect("own output decodes");
    assert_eq!(back, &data[2..], "compress/decompress round trip");
}

/// An RPC_HEADER_EXT chain; a decoded chain re-packed (uncompressed) must unpack the same.
pub fn rpc_ext(data: &[u8]) {
    use crate::rpcext::{PackOptions, pack_chain, unpack_chain};
    let Ok(payloads) = unpack_chain(data) else {
        return;
    };
    let opts = PackOptions {
        compress: true,
        xor: true,
        ..PackOptions::default()
    };
    let packed = pack_chain(&payloads, opts).expect("decoded payloads fit again");
    assert_eq!(unpack_chain(&packed).expect("own chain unpacks"), payloads);
}

/// An AUX buffer.
pub fn aux(data: &[u8]) {
    use crate::rpcext::{PackOptions, decode_aux_buffer, encode_aux_buffer};
    let Ok(blocks) = decode_aux_buffer(data) else {
        return;
    };
    for b in &blocks {
        let _ = b.body();
    }
    let packed = encode_aux_buffer(&blocks, PackOptions::default()).expect("re-encodes");
    assert_eq!(
        decode_aux_buffer(&packed).expect("own buffer decodes"),
        blocks
    );
}
