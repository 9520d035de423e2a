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
