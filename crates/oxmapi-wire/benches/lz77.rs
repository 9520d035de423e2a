//! MS-XCA Plain LZ77 compress/decompress throughput on 1 MiB of mixed data, beside a plain
//! copy of the same bytes measured in the same run.
//!
//! `cargo bench -p oxmapi-wire --bench lz77 -- --quick`

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use oxmapi_wire::rpcext::lz77::{compress, decompress};

const SIZE: usize = 1 << 20;

/// 1 MiB of text-like lines, pseudo-random binary runs and long repeats, interleaved.
fn mixed_buffer() -> Vec<u8> {
    let words: [&[u8]; 10] = [
        b"Subject: ",
        b"Re: quarterly report ",
        b"From: alice@example.test\r\n",
        b"PidTagDisplayName ",
        b"the ",
        b"meeting ",
        b"attachment ",
        b"\r\n",
        b"IPM.Note ",
        b"Inbox ",
    ];
    let mut out = Vec::with_capacity(SIZE);
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    while out.len() < SIZE {
        match next() % 10 {
            0..=5 => {
                for _ in 0..20 {
                    out.extend_from_slice(words[(next() % 10) as usize]);
                }
            }
            6 | 7 => {
                for _ in 0..64 {
                    out.extend_from_slice(&next().to_le_bytes());
                }
            }
            _ => {
                let back = (next() % 4000) as usize + 1;
                let len = (next() % 600) as usize + 3;
                let start = out.len().saturating_sub(back);
                for i in 0..len.min(out.len() - start) {
                    out.push(out[start + i]);
                }
            }
        }
    }
    out.truncate(SIZE);
    out
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

fn mb_per_s(d: Duration) -> f64 {
    SIZE as f64 / d.as_secs_f64() / 1e6
}

/// Prints throughput and the ratio to a plain copy, all measured back to back.
fn report(data: &[u8], packed: &[u8]) {
    let budget = Duration::from_millis(300);
    let copy = time(budget, || {
        black_box(black_box(data).to_vec());
    });
    let comp = time(budget, || {
        black_box(compress(black_box(data)));
    });
    let decomp = time(budget, || {
        black_box(decompress(black_box(packed), SIZE).ok());
    });
    println!(
        "lz77 on 1 MiB mixed: ratio {:.3} ({} -> {} bytes)",
        packed.len() as f64 / SIZE as f64,
        SIZE,
        packed.len()
    );
    println!("  memcpy     {:>9.1} MB/s", mb_per_s(copy));
    for (name, d) in [("compress", comp), ("decompress", decomp)] {
        println!(
            "  {name:<10} {:>9.1} MB/s  ({:.1}x the time of memcpy)",
            mb_per_s(d),
            d.as_secs_f64() / copy.as_secs_f64()
        );
    }
}

fn bench(c: &mut Criterion) {
    let data = mixed_buffer();
    let packed = compress(&data);
    assert_eq!(
        decompress(&packed, SIZE).ok().as_deref(),
        Some(data.as_slice())
    );
    report(&data, &packed);

    let mut g = c.benchmark_group("lz77_1MiB_mixed");
    g.throughput(Throughput::Bytes(SIZE as u64));
    g.bench_function("memcpy", |b| b.iter(|| black_box(data.as_slice()).to_vec()));
    g.bench_function("compress", |b| b.iter(|| compress(black_box(&data))));
    g.bench_function("decompress", |b| {
        b.iter(|| decompress(black_box(&packed), SIZE))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
