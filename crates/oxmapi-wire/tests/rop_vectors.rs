//! Known-answer tests for the ROP codec (MS-OXCROPS), from published spec examples and one
//! constructed fixture, plus the buffer-level error cases.

use oxmapi_wire::data::{
    ErrorCode, PropertyRow, PropertyTag, PropertyValue, RowValue, TaggedPropertyValue,
};
use oxmapi_wire::rop::{
    LogonRequest, QueryRowsRequest, QueryRowsResponse, ResponseContext, RopId, RopRequest,
    RopRequestBuffer, RopResponse, RopResponseBuffer, SetColumnsResponse, SetPropertiesRequest,
    SortTableResponse,
};
use oxmapi_wire::{Decode, Encode, ReadCursor};

fn hex(s: &str) -> Vec<u8> {
    hex::decode(s.split_whitespace().collect::<String>()).expect("test hex")
}

/// Every strict prefix of a single ROP must fail to decode, never panic.
fn assert_request_prefixes_fail(bytes: &[u8]) {
    for n in 0..bytes.len() {
        assert!(
            RopRequest::from_bytes(&bytes[..n]).is_err(),
            "prefix of {n} bytes decoded"
        );
    }
}

fn assert_response_prefixes_fail(bytes: &[u8], ctx: &ResponseContext) {
    for n in 0..bytes.len() {
        let mut r = ReadCursor::new(&bytes[..n]);
        let res = RopResponse::decode(&mut r, ctx).and_then(|v| r.finish("response").map(|()| v));
        assert!(res.is_err(), "prefix of {n} bytes decoded");
    }
}

fn decode_response(bytes: &[u8], ctx: &ResponseContext) -> RopResponse {
    let mut r = ReadCursor::new(bytes);
    let v = RopResponse::decode(&mut r, ctx).expect("decode");
    r.finish("response").expect("whole response consumed");
    v
}

/// MS-OXCPRPT §4 "The client requests the server to set values for two properties on a
/// Message object" (published; VECTORS.md §3.1).
#[test]
fn set_properties_request_ms_oxcprpt_4() {
    let bytes = hex("0A 00 00 24 00 02 00 1F 00 3D 00 00 00 1F 00 1D
         0E 48 00 65 00 6C 00 6C 00 6F 00 20 00 57 00 6F
         00 72 00 6C 00 64 00 00 00");
    let req = RopRequest::from_bytes(&bytes).expect("decode");
    let RopRequest::SetProperties(sp) = &req else {
        panic!("not RopSetProperties: {req:?}")
    };
    assert_eq!(
        *sp,
        SetPropertiesRequest {
            logon_id: 0,
            input_handle_index: 0,
            values: vec![
                TaggedPropertyValue {
                    tag: PropertyTag(0x003D_001F),
                    value: PropertyValue::Unicode(String::new()),
                },
                TaggedPropertyValue {
                    tag: PropertyTag(0x0E1D_001F),
                    value: PropertyValue::Unicode("Hello World".into()),
                },
            ],
        }
    );
    assert_eq!(req.rop_id(), RopId::SET_PROPERTIES);
    assert_eq!(req.to_bytes().expect("encode"), bytes);
    assert_request_prefixes_fail(&bytes);
}

/// MS-OXCTABL 4.5.3.1 "Client Request Buffer" (published; VECTORS.md §3.2).
#[test]
fn query_rows_request_ms_oxctabl_4_5_3_1() {
    let bytes = hex("15 00 00 00 01 32 00");
    let req = RopRequest::from_bytes(&bytes).expect("decode");
    assert_eq!(
        req,
        RopRequest::QueryRows(QueryRowsRequest {
            logon_id: 0,
            input_handle_index: 0,
            query_rows_flags: 0x00,
            forward_read: 0x01,
            row_count: 50,
        })
    );
    assert_eq!(req.to_bytes().expect("encode"), bytes);
    assert_request_prefixes_fail(&bytes);
}

/// MS-OXORULE 4.2.2 RopSetColumns response (published).
#[test]
fn set_columns_response_ms_oxorule_4_2_2() {
    let bytes = hex("12 01 00 00 00 00 00");
    let ctx = ResponseContext::Plain(RopId::SET_COLUMNS);
    let resp = decode_response(&bytes, &ctx);
    assert_eq!(
        resp,
        RopResponse::SetColumns(SetColumnsResponse {
            input_handle_index: 1,
            table_status: 0
        })
    );
    assert_eq!(resp.to_bytes().expect("encode"), bytes);
    assert_response_prefixes_fail(&bytes, &ctx);
}

/// MS-OXCTABL 4.3.2 "Server Response to Client Request" (RopSortTable, published).
#[test]
fn sort_table_response_ms_oxctabl_4_3_2() {
    let bytes = hex("13 01 00 00 00 00 00");
    let ctx = ResponseContext::Plain(RopId::SORT_TABLE);
    let resp = decode_response(&bytes, &ctx);
    assert_eq!(
        resp,
        RopResponse::SortTable(SortTableResponse {
            input_handle_index: 1,
            table_status: 0
        })
    );
    assert_eq!(resp.to_bytes().expect("encode"), bytes);
    assert_response_prefixes_fail(&bytes, &ctx);
}

/// MS-OXORULE 4.2.2 RopQueryRows response on a rules table (published bytes). The page names
/// the values (rule ID, "Project X"); the column tags below are our reading of the row
/// (PtypInteger64, PtypBinary, PtypString), which consumes the 56 bytes exactly.
#[test]
fn query_rows_response_ms_oxorule_4_2_2() {
    let bytes = hex("15 01 00 00 00 00 02 01 00 00 01 00 00 00 01 3f
         f8 56 10 00 01 00 00 00 01 00 00 00 55 55 55 55
         d1 44 e3 40 50 00 72 00 6f 00 6a 00 65 00 63 00
         74 00 20 00 58 00 00 00");
    let columns = vec![
        PropertyTag(0x6674_0014), // PidTagRuleId
        PropertyTag(0x6675_0102), // PidTagRuleIds
        PropertyTag(0x6682_001F), // PidTagRuleName
    ];
    let ctx = ResponseContext::QueryRows {
        columns: columns.clone(),
    };
    let resp = decode_response(&bytes, &ctx);
    let expected = QueryRowsResponse {
        input_handle_index: 1,
        origin: 0x02,
        columns,
        rows: vec![PropertyRow {
            flagged: false,
            values: vec![
                RowValue::Value(PropertyValue::Int64(i64::from_le_bytes([
                    0x01, 0x00, 0x00, 0x00, 0x01, 0x3f, 0xf8, 0x56,
                ]))),
                RowValue::Value(PropertyValue::Binary(hex(
                    "01 00 00 00 01 00 00 00 55 55 55 55 d1 44 e3 40",
                ))),
                RowValue::Value(PropertyValue::Unicode("Project X".into())),
            ],
        }],
    };
    assert_eq!(resp, RopResponse::QueryRows(expected));
    assert_eq!(resp.to_bytes().expect("encode"), bytes);
    assert_response_prefixes_fail(&bytes, &ctx);
}

/// Constructed (NOT published) RopLogon input buffer of VECTORS.md §3.5, without its 8-byte
/// RPC_HEADER_EXT.
const LOGON_BUFFER: &str = "34 00 fe 00 00 01 0c 00
    00 01 00 00 00 00 24 00 2f 6f 3d 4f 72 67 2f 6f
    75 3d 41 47 2f 63 6e 3d 52 65 63 69 70 69 65 6e
    74 73 2f 63 6e 3d 61 6c 69 63 65 00 ff ff ff ff";

#[test]
fn logon_request_buffer_constructed_vector() {
    let bytes = hex(LOGON_BUFFER);
    let buf = RopRequestBuffer::decode(&bytes).expect("decode");
    assert_eq!(
        buf,
        RopRequestBuffer {
            rops: vec![RopRequest::Logon(LogonRequest {
                logon_id: 0,
                output_handle_index: 0,
                logon_flags: 0x01,
                open_flags: 0x0100_000C,
                store_state: 0,
                essdn: Some("/o=Org/ou=AG/cn=Recipients/cn=alice".into()),
            })],
            handles: vec![0xFFFF_FFFF],
        }
    );
    assert_eq!(buf.to_bytes().expect("encode"), bytes);
    // Every prefix that cuts the ROP list or a handle fails; a prefix ending exactly after
    // the list is a valid buffer with an empty handle table.
    for n in 0..bytes.len() {
        let res = RopRequestBuffer::decode(&bytes[..n]);
        if n == 0x34 {
            assert_eq!(
                res.expect("valid shorter buffer").handles,
                Vec::<u32>::new()
            );
        } else {
            assert!(res.is_err(), "prefix of {n} bytes decoded");
        }
    }
}

#[test]
fn unknown_rop_id_names_rop_and_offset() {
    // RopSize 0x0A: RopQueryPosition then an unsupported 0x99.
    let bytes = hex("0a 00 17 00 01 99 00 00 00 00");
    let err = RopRequestBuffer::decode(&bytes).expect_err("must fail");
    assert_eq!(err.field, "RopId");
    assert_eq!(err.offset, 5);
    assert!(err.to_string().contains("0x99"), "{err}");
}

#[test]
fn frame_errors() {
    // RopSize below 2.
    assert_eq!(
        RopRequestBuffer::decode(&hex("01 00"))
            .expect_err("RopSize 1")
            .field,
        "RopSize"
    );
    // RopSize beyond the payload.
    assert!(RopRequestBuffer::decode(&hex("09 00 17 00 01")).is_err());
    // Handle table of 3 bytes.
    let e = RopRequestBuffer::decode(&hex("05 00 17 00 01 ff ff ff")).expect_err("3 bytes");
    assert_eq!(e.field, "ServerObjectHandleTable");
    assert_eq!(e.offset, 5);
    // Empty list with two handles is fine.
    let b = RopRequestBuffer::decode(&hex("02 00 01 00 00 00 02 00 00 00")).expect("ok");
    assert_eq!(b.handles, vec![1, 2]);
}

#[test]
fn response_buffer_skips_release_and_stops_at_buffer_too_small() {
    let ctx = [
        ResponseContext::Release,
        ResponseContext::Plain(RopId::SET_COLUMNS),
        ResponseContext::QueryRows {
            columns: vec![PropertyTag(0x0037_001F)],
        },
    ];
    // SetColumns response, then RopBufferTooSmall carrying the unprocessed QueryRows request.
    let bytes = hex("13 00 12 01 00 00 00 00 00 ff 00 10 15 00 01 00 01 32 00 02 00 00 00");
    let buf = RopResponseBuffer::decode(&bytes, &ctx).expect("decode");
    assert_eq!(buf.rops.len(), 2);
    assert_eq!(buf.rops[0].rop_id(), RopId::SET_COLUMNS);
    let RopResponse::BufferTooSmall(b) = &buf.rops[1] else {
        panic!("{:?}", buf.rops[1])
    };
    assert_eq!(b.size_needed, 0x1000);
    assert_eq!(b.request_buffers, hex("15 00 01 00 01 32 00"));
    assert_eq!(buf.handles, vec![2]);
    assert_eq!(buf.to_bytes().expect("encode"), bytes);
}

#[test]
fn response_rop_id_must_match_request() {
    let ctx = [ResponseContext::Plain(RopId::SORT_TABLE)];
    let e = RopResponseBuffer::decode(&hex("09 00 12 01 00 00 00 00 00"), &ctx).expect_err("x");
    assert_eq!(e.field, "RopId");
    assert_eq!(e.offset, 2);
    // A response with no request left.
    let e = RopResponseBuffer::decode(
        &hex("10 00 13 01 00 00 00 00 00 13 01 00 00 00 00 00"),
        &ctx,
    )
    .expect_err("extra");
    assert_eq!(e.offset, 9);
}

#[test]
fn failures_logon_redirect_and_generic_error() {
    let ctx = [
        ResponseContext::Logon { private: true },
        ResponseContext::Plain(RopId::OPEN_FOLDER),
    ];
    // RopLogon ecWrongServer redirect to "EX1", then RopOpenFolder ecNotFound.
    let bytes = hex("14 00 fe 00 78 04 00 00 01 04 45 58 31 00 02 01 0f 01 04 80");
    let buf = RopResponseBuffer::decode(&bytes, &ctx).expect("decode");
    let RopResponse::LogonRedirect(r) = &buf.rops[0] else {
        panic!("{:?}", buf.rops[0])
    };
    assert_eq!(r.server_name, "EX1");
    assert_eq!(r.logon_flags, 1);
    assert_eq!(buf.rops[0].return_value(), Some(ErrorCode::WRONG_SERVER));
    let RopResponse::Error(e) = &buf.rops[1] else {
        panic!("{:?}", buf.rops[1])
    };
    assert_eq!(e.rop_id, RopId::OPEN_FOLDER);
    assert_eq!(e.handle_index, 1);
    assert_eq!(e.return_value, ErrorCode::NOT_FOUND);
    assert_eq!(buf.to_bytes().expect("encode"), bytes);
}

#[test]
fn response_contexts_track_set_columns_in_the_same_buffer() {
    let set = "12 00 01 00 01 00 1f 00 37 00";
    let query = "15 00 01 00 01 10 00";
    let mut body = hex(set);
    body.extend(hex(query));
    body.extend(hex("15 00 02 00 01 10 00"));
    let mut bytes = u16::try_from(body.len() + 2)
        .expect("small")
        .to_le_bytes()
        .to_vec();
    bytes.extend(body);
    let req = RopRequestBuffer::decode(&bytes).expect("decode");
    let ctx = req
        .response_contexts(|_, h| (h == 2).then(|| vec![PropertyTag(0x0E08_0003)]))
        .expect("contexts");
    assert_eq!(
        ctx[1],
        ResponseContext::QueryRows {
            columns: vec![PropertyTag(0x0037_001F)]
        }
    );
    assert_eq!(
        ctx[2],
        ResponseContext::QueryRows {
            columns: vec![PropertyTag(0x0E08_0003)]
        }
    );
    let missing = req
        .response_contexts(|_, _| None)
        .expect_err("handle 2 unknown");
    assert_eq!((missing.index, missing.handle_index), (2, 2));
}
