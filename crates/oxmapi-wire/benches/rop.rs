//! Decoding a realistic RopQueryRows response (MS-OXCROPS 2.2.5.4.2): 1,000 contents-table
//! rows × 8 columns, beside a plain copy of the same bytes measured in the same run.
//!
//! RopSize is a u16 (MS-OXCROPS 2.2.1), so one ROP output buffer holds at most 64 KiB: the
//! 1,000 rows come as four buffers of 250 rows, as a server answers a large QueryRows over
//! several round trips or chained RPC_HEADER_EXT payloads.
//!
//! `cargo bench -p oxmapi-wire --bench rop -- --quick`

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use oxmapi_wire::data::tags::{
    PidTagEntryId, PidTagHasAttachments, PidTagMessageDeliveryTime, PidTagMessageFlags,
    PidTagMessageSize, PidTagMid, PidTagSenderName, PidTagSubject,
};
use oxmapi_wire::data::{PropertyRow, PropertyTag, PropertyType, PropertyValue, RowValue};
use oxmapi_wire::rop::{QueryRowsResponse, ResponseContext, RopResponse, RopResponseBuffer};

const ROWS: usize = 1_000;
const ROWS_PER_BUFFER: usize = 250;

/// The 8 columns a message list asks for.
fn columns() -> Vec<PropertyTag> {
    vec![
        PidTagSubject,
        PidTagSenderName,
        PidTagMessageDeliveryTime,
        PidTagMessageSize,
        PidTagMid,
        PidTagMessageFlags,
        PidTagHasAttachments,
        PidTagEntryId,
    ]
}

/// Row `i`: a ~40-character subject, a sender, a 70-byte entry ID; every 9th row is a
/// FlaggedPropertyRow whose sender name is not found.
fn row(i: usize, x: &mut u64) -> PropertyRow {
    let mut next = || {
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
        *x
    };
    let senders = [
        "Alice Example",
        "Bob Builder",
        "Carol Jones",
        "Dave O'Brien",
    ];
    let subject = format!("Re: quarterly report {i:04} for the sales team");
    let sender = if i % 9 == 4 {
        RowValue::NotFound(PropertyType::UNICODE)
    } else {
        RowValue::Value(PropertyValue::Unicode(
            senders[i % senders.len()].to_string(),
        ))
    };
    let entry_id: Vec<u8> = (0..70).map(|k| (next() >> (k % 8)) as u8).collect();
    PropertyRow::from_values(vec![
        RowValue::Value(PropertyValue::Unicode(subject)),
        sender,
        RowValue::Value(PropertyValue::Time(
            133_500_000_000_000_000 + (next() % 10_000_000_000_000),
        )),
        RowValue::Value(PropertyValue::Int32((next() % 2_000_000) as i32)),
        RowValue::Value(PropertyValue::Int64((next() >> 8) as i64)),
        RowValue::Value(PropertyValue::Int32((next() % 0x400) as i32)),
        RowValue::Value(PropertyValue::Boolean(next() % 4 == 0)),
        RowValue::Value(PropertyValue::Binary(entry_id)),
    ])
}

/// The encoded ROP output buffers holding the 1,000 rows.
fn buffers() -> Vec<Vec<u8>> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let rows: Vec<PropertyRow> = (0..ROWS).map(|i| row(i, &mut x)).collect();
    rows.chunks(ROWS_PER_BUFFER)
        .map(|chunk| {
            RopResponseBuffer {
                rops: vec![RopResponse::QueryRows(QueryRowsResponse {
                    input_handle_index: 0,
                    origin: 0,
                    columns: columns(),
                    rows: chunk.to_vec(),
                })],
                handles: vec![0x0000_0042],
            }
            .to_bytes()
            .expect("250 rows fit in one ROP buffer")
        })
        .collect()
}

fn decode_all(bufs: &[Vec<u8>], ctx: &[ResponseContext]) -> usize {
    bufs.iter()
        .map(|b| match RopResponseBuffer::decode(b, ctx) {
            Ok(buf) => match buf.rops.first() {
                Some(RopResponse::QueryRows(q)) => q.rows.len(),
                _ => 0,
            },
            Err(_) => 0,
        })
        .sum()
}

fn copy_all(bufs: &[Vec<u8>]) -> usize {
    bufs.iter().map(|b| black_box(b.to_vec()).len()).sum()
}

/// Mean time per call over about `budget`.
fn time(budget: Duration, mut f: impl FnMut()) -> Duration {
    let start = Instant::now();
    let mut n = 0u32;
    while start.elapsed() < budget || n < 3 {
        f();
        n += 1;
    }
    start.elapsed() / n
}

/// Prints throughput and the ratio to a plain copy, measured back to back.
fn report(bufs: &[Vec<u8>], ctx: &[ResponseContext]) {
    let bytes: usize = bufs.iter().map(Vec::len).sum();
    let budget = Duration::from_millis(300);
    let copy = time(budget, || {
        black_box(copy_all(black_box(bufs)));
    });
    let decode = time(budget, || {
        black_box(decode_all(black_box(bufs), ctx));
    });
    let mb_s = |d: Duration| bytes as f64 / d.as_secs_f64() / 1e6;
    println!(
        "RopQueryRows decode: {ROWS} rows x 8 columns in {} buffers, {bytes} bytes",
        bufs.len()
    );
    println!("  memcpy  {:>9.1} MB/s", mb_s(copy));
    println!(
        "  decode  {:>9.1} MB/s  {:>6.2} M rows/s  ({:.1}x the time of memcpy)",
        mb_s(decode),
        ROWS as f64 / decode.as_secs_f64() / 1e6,
        decode.as_secs_f64() / copy.as_secs_f64()
    );
}

fn bench(c: &mut Criterion) {
    let bufs = buffers();
    let ctx = [ResponseContext::QueryRows { columns: columns() }];
    assert_eq!(decode_all(&bufs, &ctx), ROWS);
    report(&bufs, &ctx);

    let bytes: usize = bufs.iter().map(Vec::len).sum();
    let mut g = c.benchmark_group("rop_query_rows_1000x8");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("memcpy", |b| b.iter(|| copy_all(black_box(&bufs))));
    g.bench_function("decode", |b| b.iter(|| decode_all(black_box(&bufs), &ctx)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
