//! Replays the committed cargo-fuzz corpus (`fuzz/corpus/<target>/`) through the same entry
//! points the fuzz targets use, so every input a fuzzer ever kept is a regression test.

use std::path::PathBuf;

use oxmapi_wire::fuzzing;

fn replay(target: &str, f: fn(&[u8])) -> usize {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut n = 0;
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        f(&data);
        n += 1;
    }
    assert!(n > 0, "corpus {target} is empty");
    n
}

#[test]
fn property_row_corpus() {
    replay("property_row", fuzzing::property_row);
}

#[test]
fn lz77_corpus() {
    replay("lz77", fuzzing::lz77);
}

#[test]
fn rpc_ext_corpus() {
    replay("rpc_ext", fuzzing::rpc_ext);
}

#[test]
fn aux_corpus() {
    replay("aux", fuzzing::aux);
}

#[test]
fn rop_request_buffer_corpus() {
    replay("rop_request_buffer", fuzzing::rop_request_buffer);
}

#[test]
fn rop_response_buffer_corpus() {
    replay("rop_response_buffer", fuzzing::rop_response_buffer);
}

#[test]
fn restriction_corpus() {
    replay("restriction", fuzzing::restriction);
}

#[test]
fn mapihttp_framing_corpus() {
    replay("mapihttp_framing", fuzzing::mapihttp_framing);
}

#[test]
fn mapihttp_emsmdb_corpus() {
    replay("mapihttp_emsmdb", fuzzing::mapihttp_emsmdb);
}

#[test]
fn mapihttp_nspi_corpus() {
    replay("mapihttp_nspi", fuzzing::mapihttp_nspi);
}

#[test]
fn dcerpc_pdu_corpus() {
    replay("dcerpc_pdu", fuzzing::dcerpc_pdu);
}

#[test]
fn rts_corpus() {
    replay("rts", fuzzing::rts);
}

#[test]
fn ndr_stubs_corpus() {
    replay("ndr_stubs", fuzzing::ndr_stubs);
}

/// The prefix written by `encode_response_contexts` is the one `rop_response_buffer` reads:
/// a response buffer answering those requests decodes against the contexts it describes.
#[test]
fn response_context_prefix_round_trips() {
    use oxmapi_wire::data::RowValue;
    use oxmapi_wire::data::{ErrorCode, PropertyRow, PropertyTag, PropertyType, PropertyValue};
    use oxmapi_wire::rop::{
        QueryRowsResponse, ResponseContext, RopErrorResponse, RopId, RopResponse, RopResponseBuffer,
    };

    let columns = vec![PropertyTag::new(0x0E08, PropertyType::INT32)];
    let ctx = [
        ResponseContext::Release,
        ResponseContext::Logon { private: true },
        ResponseContext::QueryRows {
            columns: columns.clone(),
        },
        ResponseContext::Plain(RopId::SET_COLUMNS),
    ];
    let prefix = fuzzing::encode_response_contexts(&ctx).unwrap();
    // 4 contexts: Release + param 0; Logon + Private; QueryRows + 1 column of type-table
    // index 2 (PtypInteger32); RopSetColumns + param 0.
    assert_eq!(prefix, [4, 0x01, 0, 0xFE, 1, 0x15, 1, 2, 0x12, 0]);
    assert!(fuzzing::encode_response_contexts(&vec![ResponseContext::Release; 16]).is_none());

    let failed = |rop_id| {
        RopResponse::Error(RopErrorResponse {
            rop_id,
            handle_index: 0,
            return_value: ErrorCode(0x8004_0111),
        })
    };
    let buf = RopResponseBuffer {
        rops: vec![
            failed(RopId::LOGON),
            RopResponse::QueryRows(QueryRowsResponse {
                input_handle_index: 1,
                origin: 0,
                columns,
                rows: vec![PropertyRow::from_values(vec![RowValue::Value(
                    PropertyValue::Int32(42),
                )])],
            }),
            failed(RopId::SET_COLUMNS),
        ],
        handles: vec![7, 8],
    };
    let payload = buf.to_bytes().unwrap();
    assert_eq!(RopResponseBuffer::decode(&payload, &ctx).unwrap(), buf);
    let mut input = prefix;
    input.extend_from_slice(&payload);
    fuzzing::rop_response_buffer(&input);
}
