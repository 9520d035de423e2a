//! Entry points shared by the cargo-fuzz targets in `fuzz/` and the corpus replay tests.
//!
//! Each function decodes arbitrary bytes; where decoding succeeds it checks the
//! decode → encode → decode oracle on bytes, never on values (NaN payloads compare unequal):
//!
//! * [`Exact::Bytes`]: the encoder must reproduce the input bytes that were consumed;
//! * [`Exact::SecondRoundTrip`]: the decoder normalises something by design (documented at
//!   each use), so only `encode(decode(encode(decode(x)))) == encode(decode(x))` is checked.
//!
//! A violated oracle panics — that is the fuzzer's signal. Arbitrary input must never panic
//! otherwise.
//!
//! Several targets read a small selector or parameter prefix before the bytes under test;
//! [`encode_response_contexts`] writes the prefix of [`rop_response_buffer`] so that seeds can
//! be produced from real request/response pairs.

use crate::cursor::{Decode, Encode, ReadCursor, WriteCursor};
use crate::data::{PropertyRow, PropertyTag, PropertyType, Restriction, ValueContext};
use crate::dcerpc::ndr::NdrCodec;
use crate::dcerpc::{FrameStatus, Pdu, PduFramer, RtsPdu};
use crate::error::{DecodeResult, EncodeResult};
use crate::rop::{
    NotifyResponse, PendingResponse, ResponseContext, RopId, RopRequestBuffer, RopResponseBuffer,
};

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

/// How strict the decode → encode → decode oracle is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exact {
    /// Re-encoding gives back exactly the bytes the decoder consumed.
    Bytes,
    /// The decoder normalises by design; the second round trip must be stable.
    SecondRoundTrip,
}

/// The oracle over a whole-buffer decoder: returns silently when `data` does not decode.
pub fn round_trip<T>(
    data: &[u8],
    exact: Exact,
    decode: impl Fn(&[u8]) -> DecodeResult<T>,
    encode: impl Fn(&T) -> EncodeResult<Vec<u8>>,
) {
    let Ok(value) = decode(data) else {
        return;
    };
    let first = encode(&value).expect("a decoded value re-encodes");
    if exact == Exact::Bytes {
        assert_eq!(first, data, "re-encoding does not reproduce the input");
    }
    let again = decode(&first).expect("re-encoded bytes decode");
    let second = encode(&again).expect("re-decoded value re-encodes");
    assert_eq!(first, second, "decode/encode is not stable");
}

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
    let cols = columns(types);
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

/// A ROP input buffer (MS-OXCROPS 2.2.1), server side; requests re-encode byte for byte.
pub fn rop_request_buffer(data: &[u8]) {
    round_trip(
        data,
        Exact::Bytes,
        RopRequestBuffer::decode,
        RopRequestBuffer::to_bytes,
    );
}

/// A ROP output buffer decoded against contexts read from a prefix (see
/// [`encode_response_contexts`]): byte 0 = number of contexts (low 4 bits), then per context
/// the RopId, a parameter byte and, for RopQueryRows / RopReadRecipients /
/// RopGetPropertiesSpecific, `param & 0x0F` column type bytes (indices into a fixed type
/// table). For RopLogon, bit 0 of the parameter is the Private flag. The rest is the buffer.
pub fn rop_response_buffer(data: &[u8]) {
    let Some((ctx, payload)) = read_response_contexts(data) else {
        return;
    };
    round_trip(
        payload,
        Exact::Bytes,
        |p| RopResponseBuffer::decode(p, &ctx),
        RopResponseBuffer::to_bytes,
    );
}

/// A RopNotify response with its NotificationData (MS-OXCROPS 2.2.14.2, MS-OXCNOTIF
/// 2.2.1.4.1.2), or a RopPending response when byte 0 is its RopId (0x6E); both re-encode
/// byte for byte (8-bit MessageClass text decodes as Latin-1 and encodes back the same).
pub fn rop_notify(data: &[u8]) {
    if data.first() == Some(&PendingResponse::ROP_ID.0) {
        whole::<PendingResponse>(data, Exact::Bytes);
    } else {
        whole::<NotifyResponse>(data, Exact::Bytes);
    }
}

/// Writes the [`rop_response_buffer`] prefix for `ctx` (`None` when a context does not fit
/// the format: more than 15 contexts or columns, or a column type outside the type table).
pub fn encode_response_contexts(ctx: &[ResponseContext]) -> Option<Vec<u8>> {
    let mut out = vec![u8::try_from(ctx.len()).ok().filter(|&n| n < 16)?];
    for c in ctx {
        out.push(c.rop_id().0);
        match c {
            ResponseContext::Logon { private } => out.push(u8::from(*private)),
            ResponseContext::QueryRows { columns }
            | ResponseContext::ReadRecipients { columns }
            | ResponseContext::GetPropertiesSpecific { tags: columns } => {
                out.push(u8::try_from(columns.len()).ok().filter(|&n| n < 16)?);
                for t in columns {
                    let i = TYPES.iter().position(|&ty| ty == t.ty())?;
                    out.push(u8::try_from(i).ok()?);
                }
            }
            ResponseContext::Release | ResponseContext::Plain(_) => out.push(0),
        }
    }
    Some(out)
}

/// A restriction (MS-OXCDATA 2.12): byte 0 bit 0 selects the dialect.
///
/// In the ROP dialect re-encoding is byte-exact. In the address-book dialect a value with
/// HasValue 0x00 decodes to an empty value that re-encodes with HasValue 0xFF and a zero
/// count, so only the second round trip is compared there.
pub fn restriction(data: &[u8]) {
    let Some((&head, rest)) = data.split_first() else {
        return;
    };
    let (ctx, exact) = if head & 1 == 0 {
        (ValueContext::Rop, Exact::Bytes)
    } else {
        (ValueContext::AddressBook, Exact::SecondRoundTrip)
    };
    round_trip(
        rest,
        exact,
        |b| {
            let mut r = ReadCursor::new(b);
            let v = Restriction::decode(&mut r, ctx)?;
            r.finish("Restriction")?;
            Ok(v)
        },
        |v| {
            let mut w = WriteCursor::new();
            v.encode(&mut w, ctx)?;
            Ok(w.into_inner())
        },
    );
}

/// A MAPI/HTTP response body (MS-OXCMAPIHTTP 2.2.7): byte 0 gives the sizes of the pieces
/// fed to [`ResponseFramer`](crate::mapihttp::ResponseFramer) (pieces of `(byte 0 + k·7) % 41`
/// bytes, some empty); the result must equal the one-shot parse. A framed response rendered
/// again must frame to the same response (meta-tags and header whitespace are not kept, so
/// this is not byte-exact).
pub fn mapihttp_framing(data: &[u8]) {
    use crate::mapihttp::framing::parse_response;
    use crate::mapihttp::render_final;
    let Some((&seed, body)) = data.split_first() else {
        return;
    };
    let one_shot = parse_response(body);
    let pieces = framed_in_pieces(body, seed);
    assert_eq!(pieces, one_shot, "piecewise framing differs from one-shot");
    let Ok((resp, _)) = one_shot else {
        return;
    };
    let headers: Vec<(&str, &str)> = resp
        .additional_headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let rendered = render_final(&headers, &resp.body).expect("a framed response renders");
    let (again, pending) = parse_response(&rendered).expect("a rendered response frames");
    assert_eq!(pending, 0);
    assert_eq!(again, resp, "render/frame round trip");
}

/// Every mailbox (EMSMDB) request and response body of MS-OXCMAPIHTTP 2.2.4, selected by
/// byte 0; all re-encode byte for byte.
pub fn mapihttp_emsmdb(data: &[u8]) {
    use crate::mapihttp::emsmdb::*;
    let Some((&sel, body)) = data.split_first() else {
        return;
    };
    match sel % 8 {
        0 => whole::<ConnectRequest>(body, Exact::Bytes),
        1 => whole::<ConnectResponse>(body, Exact::Bytes),
        2 => whole::<ExecuteRequest>(body, Exact::Bytes),
        3 => whole::<ExecuteResponse>(body, Exact::Bytes),
        4 => whole::<DisconnectRequest>(body, Exact::Bytes),
        5 => whole::<DisconnectResponse>(body, Exact::Bytes),
        6 => whole::<NotificationWaitRequest>(body, Exact::Bytes),
        _ => whole::<NotificationWaitResponse>(body, Exact::Bytes),
    }
}

/// Every address book (NSPI) request and response body of MS-OXCMAPIHTTP 2.2.5, selected by
/// byte 0. Property values use the address-book dialect, where HasValue 0x00 decodes to an
/// empty value that re-encodes as HasValue 0xFF (see [`restriction`]), so bodies that can
/// carry values compare the second round trip.
pub fn mapihttp_nspi(data: &[u8]) {
    use crate::mapihttp::nspi::*;
    let Some((&sel, body)) = data.split_first() else {
        return;
    };
    let (b, v) = (Exact::Bytes, Exact::SecondRoundTrip);
    match sel % 28 {
        0 => whole::<BindRequest>(body, b),
        1 => whole::<UnbindRequest>(body, b),
        2 => whole::<CompareMIdsRequest>(body, b),
        3 => whole::<DnToMIdRequest>(body, b),
        4 => whole::<GetMatchesRequest>(body, v),
        5 => whole::<GetPropListRequest>(body, b),
        6 => whole::<GetPropsRequest>(body, b),
        7 => whole::<GetSpecialTableRequest>(body, b),
        8 => whole::<QueryColumnsRequest>(body, b),
        9 => whole::<QueryRowsRequest>(body, b),
        10 => whole::<ResolveNamesRequest>(body, b),
        11 => whole::<ResortRestrictionRequest>(body, b),
        12 => whole::<SeekEntriesRequest>(body, v),
        13 => whole::<UpdateStatRequest>(body, b),
        14 => whole::<GetUrlRequest>(body, b),
        15 => whole::<UnbindResponse>(body, b),
        16 => whole::<BindResponse>(body, b),
        17 => whole::<CompareMIdsResponse>(body, b),
        18 => whole::<DnToMIdResponse>(body, b),
        19 => whole::<GetMatchesResponse>(body, v),
        20 => whole::<GetPropListResponse>(body, b),
        21 => whole::<GetPropsResponse>(body, v),
        22 => whole::<GetSpecialTableResponse>(body, v),
        23 => whole::<QueryRowsResponse>(body, v),
        24 => whole::<ResolveNamesResponse>(body, v),
        25 => whole::<ResortRestrictionResponse>(body, b),
        26 => whole::<UpdateStatResponse>(body, b),
        _ => whole::<GetUrlResponse>(body, b),
    }
}

/// A stream of connection-oriented DCE/RPC PDUs (C706 12.6): byte 0 gives the size of the
/// pieces fed to [`PduFramer`] (`byte 0 % 32 + 1`), which must cut the same frames as when
/// fed at once. Every frame that decodes as a [`Pdu`] must re-encode to the same length; the
/// bytes are compared on the second round trip because the auth padding before a sec_trailer
/// (auth_pad_length octets, MS-RPCE 2.2.2.11) has no defined content: it is not kept and is
/// written as zeros.
pub fn dcerpc_pdu(data: &[u8]) {
    let Some((&seed, stream)) = data.split_first() else {
        return;
    };
    let all = frames(stream, stream.len().max(1));
    let pieces = frames(stream, usize::from(seed % 32) + 1);
    assert_eq!(pieces, all, "piecewise framing differs from one-shot");
    let (frames, _) = all;
    let mut at = 0;
    for f in &frames {
        assert_eq!(stream.get(at..at + f.len()), Some(f.as_slice()));
        at += f.len();
        round_trip(f, Exact::SecondRoundTrip, Pdu::from_bytes, Pdu::to_bytes);
        if let Ok(p) = Pdu::from_bytes(f) {
            assert_eq!(p.to_bytes().expect("re-encodes").len(), f.len());
        }
    }
    if frames.is_empty() {
        // The decoder also runs on unframed input (it reads frag_length itself).
        let mut r = ReadCursor::new(stream);
        if let Ok(p) = Pdu::decode(&mut r) {
            let consumed = stream.get(..r.offset()).unwrap_or_default();
            assert_eq!(p.to_bytes().expect("re-encodes").len(), consumed.len());
        }
    }
}

/// An RTS PDU (MS-RPCH 2.2.3.6.1). The encoder always writes rpc_vers_minor 0,
/// PFC_FIRST_FRAG|PFC_LAST_FRAG, little-endian drep and call_id 0, which the decoder does not
/// require, so the common header is compared on the second round trip; the RTS body (flags and
/// commands) must re-encode byte for byte.
pub fn rts(data: &[u8]) {
    round_trip(
        data,
        Exact::SecondRoundTrip,
        RtsPdu::from_bytes,
        RtsPdu::to_bytes,
    );
    if let Ok(p) = RtsPdu::from_bytes(data) {
        let again = p.to_bytes().expect("re-encodes");
        assert_eq!(again.get(16..), data.get(16..), "RTS body re-encodes");
    }
}

/// Each EMSMDB (MS-OXCRPC 3.1.4) and NSPI / referral (MS-NSPI, MS-OXABREF 3.1.4) NDR stub,
/// selected by byte 0. Pointer referent ids are renumbered by the writer (NDR gives them no
/// meaning beyond non-null), so stubs are compared on the second round trip.
pub fn ndr_stubs(data: &[u8]) {
    use crate::dcerpc::emsmdb::*;
    use crate::dcerpc::nspi::*;
    let Some((&sel, stub)) = data.split_first() else {
        return;
    };
    match sel % 26 {
        0 => ndr::<EcDoConnectExRequest>(stub),
        1 => ndr::<EcDoConnectExResponse>(stub),
        2 => ndr::<EcDoRpcExt2Request>(stub),
        3 => ndr::<EcDoRpcExt2Response>(stub),
        4 => ndr::<EcDoDisconnectRequest>(stub),
        5 => ndr::<EcDoDisconnectResponse>(stub),
        6 => ndr::<NspiBindRequest>(stub),
        7 => ndr::<NspiBindResponse>(stub),
        8 => ndr::<NspiUnbindRequest>(stub),
        9 => ndr::<NspiUnbindResponse>(stub),
        10 => ndr::<NspiGetSpecialTableRequest>(stub),
        11 => ndr::<NspiGetSpecialTableResponse>(stub),
        12 => ndr::<NspiQueryRowsRequest>(stub),
        13 => ndr::<NspiQueryRowsResponse>(stub),
        14 => ndr::<NspiGetMatchesRequest>(stub),
        15 => ndr::<NspiGetMatchesResponse>(stub),
        16 => ndr::<NspiResolveNamesWRequest>(stub),
        17 => ndr::<NspiResolveNamesWResponse>(stub),
        18 => ndr::<NspiGetPropsRequest>(stub),
        19 => ndr::<NspiGetPropsResponse>(stub),
        20 => ndr::<NspiDnToMIdRequest>(stub),
        21 => ndr::<NspiDnToMIdResponse>(stub),
        22 => ndr::<RfrGetNewDsaRequest>(stub),
        23 => ndr::<RfrGetNewDsaResponse>(stub),
        24 => ndr::<RfrGetFqdnFromServerDnRequest>(stub),
        _ => ndr::<RfrGetFqdnFromServerDnResponse>(stub),
    }
}

fn columns(types: &[u8]) -> Vec<PropertyTag> {
    (0u16..)
        .zip(types)
        .map(|(i, &t)| PropertyTag::new(0x8000 + i, TYPES[usize::from(t) % TYPES.len()]))
        .collect()
}

fn read_response_contexts(data: &[u8]) -> Option<(Vec<ResponseContext>, &[u8])> {
    let (&n, mut rest) = data.split_first()?;
    let mut ctx = Vec::new();
    for _ in 0..n & 0x0F {
        let (id, param, tail) = match rest {
            [id, param, tail @ ..] => (RopId(*id), *param, tail),
            _ => return None,
        };
        rest = tail;
        let mut cols = || {
            let n = usize::from(param & 0x0F);
            let (types, tail) = rest.split_at_checked(n)?;
            rest = tail;
            Some(columns(types))
        };
        ctx.push(match id {
            RopId::RELEASE => ResponseContext::Release,
            RopId::LOGON => ResponseContext::Logon {
                private: param & 1 != 0,
            },
            RopId::QUERY_ROWS => ResponseContext::QueryRows { columns: cols()? },
            RopId::READ_RECIPIENTS => ResponseContext::ReadRecipients { columns: cols()? },
            RopId::GET_PROPERTIES_SPECIFIC => {
                ResponseContext::GetPropertiesSpecific { tags: cols()? }
            }
            other => ResponseContext::Plain(other),
        });
    }
    Some((ctx, rest))
}

fn whole<T: Decode + Encode>(body: &[u8], exact: Exact) {
    round_trip(body, exact, T::from_bytes, T::to_bytes);
}

fn ndr<T: NdrCodec>(stub: &[u8]) {
    round_trip(stub, Exact::SecondRoundTrip, T::from_stub, T::to_stub);
}

type Framed = DecodeResult<(crate::mapihttp::FramedResponse, usize)>;

fn framed_in_pieces(body: &[u8], seed: u8) -> Framed {
    use crate::mapihttp::{FrameEvent, ResponseFramer};
    let mut framer = ResponseFramer::new();
    let mut pending = 0;
    let mut rest = body;
    let mut k = 0usize;
    loop {
        let size = (usize::from(seed) + k * 7) % 41;
        k += 1;
        let (piece, tail) = rest.split_at(size.min(rest.len()));
        rest = tail;
        let mut ev = framer.push(piece)?;
        while ev != FrameEvent::Incomplete {
            if ev == FrameEvent::Pending {
                pending += 1;
            }
            ev = framer.poll()?;
        }
        if rest.is_empty() {
            break;
        }
    }
    match framer.finish()? {
        FrameEvent::Done(r) => Ok((r, pending)),
        other => panic!("finish returned {other:?}"),
    }
}

/// Frames `stream` fed `piece` bytes at a time: the frames and whether it ended on an error.
fn frames(stream: &[u8], piece: usize) -> (Vec<Vec<u8>>, bool) {
    let mut framer = PduFramer::new();
    let mut out = Vec::new();
    for chunk in stream.chunks(piece) {
        framer.push(chunk);
        loop {
            match framer.next_pdu() {
                Ok(FrameStatus::Ready(f)) => out.push(f),
                Ok(FrameStatus::Incomplete { .. }) => break,
                Err(_) => return (out, true),
            }
        }
    }
    (out, false)
}
