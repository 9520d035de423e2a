//! `oxmapi inspect` end to end: spec vectors decode, bad input gives exit status 2 and a
//! message naming the structure, the field and the byte offset, never a panic.

use assert_cmd::Command;
use predicates::prelude::*;
use predicates::str::contains;

/// VECTORS.md §1.4: "abc" × 100 compressed (MS-XCA 3.1 example) in an RPC_HEADER_EXT with
/// Flags Compressed|Last, Size 13, SizeActual 300.
const RPC_EXT_COMPRESSED: &str = "00 00 05 00 0d 00 2c 01 ff ff ff 1f 61 62 63 17 00 0f ff 26 01";
/// The same, Compressed|XorMagic|Last: the compressed bytes XORed with 0xA5.
const RPC_EXT_XOR: &str = "00 00 07 00 0d 00 2c 01 5a 5a 5a ba c4 c7 c6 b2 a5 aa 5a 83 a4";

/// MS-OXCPRPT §4 RopSetProperties request (VECTORS.md §3.1) in a ROP input buffer:
/// RopSize 0x002B, the 41-byte ROP, one server object handle.
const SET_PROPERTIES_BUFFER: &str = "2B 00
    0A 00 00 24 00 02 00 1F 00 3D 00 00 00 1F 00 1D
    0E 48 00 65 00 6C 00 6C 00 6F 00 20 00 57 00 6F
    00 72 00 6C 00 64 00 00 00
    01 00 00 00";
/// The RopSetProperties response to it (MS-OXCROPS 2.2.8.6.2): RopId, InputHandleIndex,
/// ReturnValue 0, PropertyProblemCount 0; RopSize 10, the same handle.
const SET_PROPERTIES_RESPONSE: &str = "0a 00 0a 00 00 00 00 00 00 00 01 00 00 00";

/// VECTORS.md §3.5 (constructed): Connect request body.
const CONNECT_BODY: &str = "
    0000: 2f 6f 3d 4f 72 67 2f 6f 75 3d 41 47 2f 63 6e 3d
    0010: 52 65 63 69 70 69 65 6e 74 73 2f 63 6e 3d 61 6c
    0020: 69 63 65 00 00 00 00 00 e4 04 00 00 09 04 00 00
    0030: 09 04 00 00 00 00 00 00";
/// VECTORS.md §3.5 (constructed): Execute request body around a RopLogon.
const EXECUTE_BODY: &str = "
    0000: 03 00 00 00 40 00 00 00 00 00 04 00 38 00 38 00
    0010: 34 00 fe 00 00 01 0c 00 00 01 00 00 00 00 24 00
    0020: 2f 6f 3d 4f 72 67 2f 6f 75 3d 41 47 2f 63 6e 3d
    0030: 52 65 63 69 70 69 65 6e 74 73 2f 63 6e 3d 61 6c
    0040: 69 63 65 00 ff ff ff ff 00 00 04 00 00 00 00 00";

fn oxmapi() -> Command {
    Command::cargo_bin("oxmapi").unwrap()
}

fn inspect(args: &[&str]) -> assert_cmd::assert::Assert {
    oxmapi().arg("inspect").args(args).assert()
}

/// Exit status 2, no panic, and stderr naming everything in `parts`.
fn fails_with(args: &[&str], parts: &[&str]) {
    let mut p = contains("oxmapi inspect:").boxed();
    for part in parts {
        p = p.and(contains(*part)).boxed();
    }
    inspect(args)
        .code(2)
        .stderr(p.and(contains("panicked").not()));
}

#[test]
fn rpc_ext_compressed_segment_is_unpacked() {
    for (hex, flags) in [
        (RPC_EXT_COMPRESSED, "flags: Compressed | Last"),
        (RPC_EXT_XOR, "flags: Compressed | XorMagic | Last"),
    ] {
        inspect(&["rpc-ext", hex]).success().stdout(
            contains("RPC_HEADER_EXT #0 at offset 0")
                .and(contains("payload 300 bytes after unpacking"))
                .and(contains(flags))
                .and(contains("size: 13,"))
                .and(contains("size_actual: 300,"))
                // "abc" × 100 is not a ROP buffer: said so, and the payload is shown.
                .and(contains("segment #0: not a ROP request buffer"))
                .and(contains("616263".repeat(100))),
        );
    }
}

#[test]
fn rop_request_set_properties_text_and_json() {
    inspect(&["rop-request", SET_PROPERTIES_BUFFER])
        .success()
        .stdout(
            contains("ROP input buffer (MS-OXCROPS 2.2.1)")
                .and(contains("SetPropertiesRequest"))
                .and(contains("PidTagSubjectPrefix(0x003D001F)"))
                .and(contains("PidTagNormalizedSubject(0x0E1D001F)"))
                .and(contains("\"Hello World\"")),
        );
    let out = inspect(&["rop-request", "--json", SET_PROPERTIES_BUFFER])
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["kind"], "RopRequest");
    assert_eq!(v["bytes"], 47);
    let decoded = &v["items"][0]["decoded"];
    assert_eq!(decoded["handles"], serde_json::json!([1]));
    let values = &decoded["rops"][0]["SetProperties"]["values"];
    assert_eq!(values[1]["tag"], "PidTagNormalizedSubject(0x0E1D001F)");
    assert_eq!(values[1]["value"]["Unicode"], "Hello World");
    assert_eq!(values[0]["value"]["Unicode"], "");
}

#[test]
fn rop_response_needs_and_uses_the_request() {
    inspect(&[
        "rop-response",
        "--request",
        SET_PROPERTIES_BUFFER,
        SET_PROPERTIES_RESPONSE,
    ])
    .success()
    .stdout(
        contains("ROP output buffer (MS-OXCROPS 2.2.1)")
            .and(contains("SetPropertiesResponse"))
            .and(contains("problems: []")),
    );
    fails_with(&["rop-response", SET_PROPERTIES_RESPONSE], &["--request"]);
}

#[test]
fn mapihttp_connect_request() {
    inspect(&["mapihttp-request", "--type", "Connect", CONNECT_BODY])
        .success()
        .stdout(
            contains("MAPI/HTTP ConnectRequest")
                .and(contains("user_dn: \"/o=Org/ou=AG/cn=Recipients/cn=alice\""))
                .and(contains("default_code_page: 1252"))
                .and(contains("lcid_sort: 1033")),
        );
}

#[test]
fn mapihttp_execute_request_descends_into_the_logon() {
    inspect(&["mapihttp-request", "--type", "Execute", EXECUTE_BODY])
        .success()
        .stdout(
            contains("MAPI/HTTP ExecuteRequest")
                .and(contains("max_rop_out: 262144"))
                .and(contains(
                    "rop_buffer: [bytes; 64]: 00 00 04 00 38 00 38 00 34 00 fe 00",
                ))
                .and(contains("payload 56 bytes after unpacking"))
                .and(contains("ROP input buffer in segment #0"))
                .and(contains("LogonRequest"))
                .and(contains("logon_flags: 1"))
                .and(contains("essdn: Some(")),
        );
}

#[test]
fn truncated_input_names_structure_field_and_offset() {
    // The RopSetProperties buffer cut after 11 bytes: RopSize promises 41 bytes of ROPs.
    fails_with(
        &["rop-request", "2B 00 0A 00 00 24 00 02 00 1F 00"],
        &["ROP input buffer", "RopsList", "byte offset 2", "truncated"],
    );
    // A Connect body cut inside Flags.
    fails_with(
        &["mapihttp-request", "--type", "Connect", "2f 6f 3d 00 00 00"],
        &["ConnectRequest", "Flags", "byte offset 4", "truncated"],
    );
    // Every prefix of the Execute body fails cleanly (never a panic, never success).
    let full: Vec<&str> = EXECUTE_BODY
        .lines()
        .flat_map(|l| l.split_once(':').map_or(l, |(_, b)| b).split_whitespace())
        .collect();
    for n in [1, 4, 8, 20, 60, full.len() - 1] {
        let prefix = full[..n].join(" ");
        fails_with(
            &["mapihttp-request", "--type", "Execute", &prefix],
            &["decode error", "ExecuteRequest", "byte offset"],
        );
    }
}

#[test]
fn unsupported_rop_names_the_rop_id_and_offset() {
    // The bare ROP without its RopSize: 0x000A is read as RopSize, then RopId 0x00 at 2.
    fails_with(
        &[
            "rop-request",
            "0A 00 00 24 00 02 00 1F 00 3D 00 00 00 1F 00 1D",
        ],
        &["ROP input buffer", "RopId", "byte offset 2", "unsupported"],
    );
}

#[test]
fn odd_hex_and_unknown_kind_exit_2() {
    fails_with(
        &["rop-request", "2B 00 0A 0"],
        &["odd number of hex digits"],
    );
    inspect(&["bogus-kind", "00"])
        .code(2)
        .stderr(contains("invalid value 'bogus-kind'"));
    fails_with(
        &["mapihttp-request", "--type", "Frobnicate", "00"],
        &["unknown request type"],
    );
    fails_with(&["mapihttp-request", CONNECT_BODY], &["--type"]);
}

#[test]
fn stdin_hex_and_raw_bytes() {
    oxmapi()
        .args(["inspect", "rop-request", "--json"])
        .write_stdin(SET_PROPERTIES_BUFFER)
        .assert()
        .success()
        .stdout(contains("Hello World"));
    // Raw bytes on stdin (not hex text), with `-`.
    let raw = hex::decode(SET_PROPERTIES_RESPONSE.replace(' ', "")).unwrap();
    assert_eq!(raw.len(), 14);
    oxmapi()
        .args([
            "inspect",
            "rop-response",
            "-",
            "--request",
            SET_PROPERTIES_BUFFER,
        ])
        .write_stdin(raw)
        .assert()
        .success()
        .stdout(contains("SetPropertiesResponse"));
    // Truncated raw bytes on stdin.
    oxmapi()
        .args(["inspect", "rop-request"])
        .write_stdin(vec![0x2B, 0x00, 0x0A])
        .assert()
        .code(2)
        .stderr(contains("RopsList").and(contains("byte offset 2")));
}

#[test]
fn json_keeps_byte_vectors_as_arrays() {
    let out = inspect(&[
        "mapihttp-request",
        "--type",
        "Execute",
        EXECUTE_BODY,
        "--json",
    ])
    .success()
    .get_output()
    .stdout
    .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let rop_buffer = &v["items"][0]["decoded"]["rop_buffer"];
    let bytes = rop_buffer.as_array().unwrap();
    assert_eq!(bytes.len(), 64);
    assert_eq!(bytes[..4], [0, 0, 4, 0]);
    assert!(v["items"][0].get("tree").is_none());
}
