//! MS-OXCMAPIHTTP 2.2.4 mailbox endpoint bodies.

use oxmapi_wire::mapihttp::emsmdb::*;
use oxmapi_wire::mapihttp::{FailureBody, Response};
use oxmapi_wire::{Decode, Encode};
use proptest::prelude::*;

fn hex(s: &str) -> Vec<u8> {
    let clean: String = s
        .lines()
        .map(|l| l.split_once(':').map_or(l, |(_, b)| b))
        .collect::<Vec<_>>()
        .join(" ");
    hex::decode(clean.split_whitespace().collect::<String>()).unwrap()
}

/// Decode, compare, re-encode byte-exact, and check every proper prefix fails.
fn kat<T: Decode + Encode + PartialEq + std::fmt::Debug>(bytes: &[u8], expected: &T) {
    assert_eq!(&T::from_bytes(bytes).unwrap(), expected);
    assert_eq!(expected.to_bytes().unwrap(), bytes);
    every_prefix_fails::<T>(bytes);
}

fn every_prefix_fails<T: Decode>(bytes: &[u8]) {
    for n in 0..bytes.len() {
        let e = T::from_bytes(&bytes[..n]).err();
        assert!(e.is_some_and(|e| e.is_truncated()), "prefix {n} decoded");
    }
}

const ALICE: &str = "/o=Org/ou=AG/cn=Recipients/cn=alice";

/// VECTORS.md §3.5 (CONSTRUCTED, not published): Connect request body.
#[test]
fn vectors_3_5_connect_request() {
    let bytes = hex("
        0000: 2f 6f 3d 4f 72 67 2f 6f 75 3d 41 47 2f 63 6e 3d
        0010: 52 65 63 69 70 69 65 6e 74 73 2f 63 6e 3d 61 6c
        0020: 69 63 65 00 00 00 00 00 e4 04 00 00 09 04 00 00
        0030: 09 04 00 00 00 00 00 00");
    kat(
        &bytes,
        &ConnectRequest {
            user_dn: ALICE.into(),
            flags: 0,
            default_code_page: 1252,
            lcid_sort: 0x409,
            lcid_string: 0x409,
            aux: vec![],
        },
    );
}

/// VECTORS.md §3.5 (CONSTRUCTED, not published): Execute request body around a RopLogon.
#[test]
fn vectors_3_5_execute_request() {
    let bytes = hex("
        0000: 03 00 00 00 40 00 00 00 00 00 04 00 38 00 38 00
        0010: 34 00 fe 00 00 01 0c 00 00 01 00 00 00 00 24 00
        0020: 2f 6f 3d 4f 72 67 2f 6f 75 3d 41 47 2f 63 6e 3d
        0030: 52 65 63 69 70 69 65 6e 74 73 2f 63 6e 3d 61 6c
        0040: 69 63 65 00 ff ff ff ff 00 00 04 00 00 00 00 00");
    let req = ExecuteRequest::from_bytes(&bytes).unwrap();
    assert_eq!(
        req.flags,
        EXECUTE_FLAG_NO_COMPRESSION | EXECUTE_FLAG_NO_XOR_MAGIC
    );
    assert_eq!(req.rop_buffer.len(), 0x40);
    assert_eq!(&req.rop_buffer[..8], &[0, 0, 4, 0, 0x38, 0, 0x38, 0]);
    assert_eq!(req.max_rop_out, 0x0004_0000);
    kat(&bytes, &req);
}

#[test]
fn connect_response_success_and_failure() {
    let ok = ConnectResponse::Success(ConnectSuccess {
        error_code: 0,
        polls_max: 60_000,
        retry_count: 6,
        retry_delay: 10_000,
        dn_prefix: "/o=Org/ou=AG".into(),
        display_name: "Alice Ä".into(),
        aux: vec![1, 2, 3],
    });
    let b = ok.to_bytes().unwrap();
    assert_eq!(&b[..8], &[0, 0, 0, 0, 0, 0, 0, 0]);
    kat(&b, &ok);
    // 2.2.4.1.3 failure form: StatusCode, AuxiliaryBufferSize, AuxiliaryBuffer.
    let fail = [0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0xAA, 0xBB];
    kat(
        &fail,
        &ConnectResponse::Failure(FailureBody {
            status_code: 1,
            aux: vec![0xAA, 0xBB],
        }),
    );
    let zero = ConnectResponse::Failure(FailureBody {
        status_code: 0,
        aux: vec![],
    });
    assert!(zero.to_bytes().is_err());
}

#[test]
fn every_response_has_the_failure_form() {
    let fail = [0x05, 0, 0, 0, 0, 0, 0, 0];
    assert!(
        matches!(ExecuteResponse::from_bytes(&fail), Ok(Response::Failure(f)) if f.status_code == 5)
    );
    assert!(matches!(
        DisconnectResponse::from_bytes(&fail),
        Ok(Response::Failure(_))
    ));
    assert!(matches!(
        NotificationWaitResponse::from_bytes(&fail),
        Ok(Response::Failure(_))
    ));
}

#[test]
fn hostile_lengths_are_truncation_errors() {
    let b = [0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF];
    let e = ExecuteRequest::from_bytes(&b).unwrap_err();
    assert!(e.is_truncated());
    assert_eq!(e.field, "RopBuffer");
    assert_eq!(e.offset, 8);
    assert_eq!(e.path, ["ExecuteRequest"]);
}

#[test]
fn trailing_bytes_rejected() {
    let mut b = DisconnectRequest { aux: vec![] }.to_bytes().unwrap();
    b.push(0);
    assert!(DisconnectRequest::from_bytes(&b).is_err());
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..24)
}

fn latin1() -> impl Strategy<Value = String> {
    "[\\x01-\\xFF]{0,16}"
}

fn response<T: std::fmt::Debug + Clone>(
    s: impl Strategy<Value = T>,
) -> impl Strategy<Value = Response<T>> {
    prop_oneof![
        s.prop_map(Response::Success),
        (1u32.., bytes())
            .prop_map(|(status_code, aux)| Response::Failure(FailureBody { status_code, aux })),
    ]
}

fn round_trip<T: Decode + Encode + PartialEq + std::fmt::Debug>(
    v: &T,
) -> Result<(), TestCaseError> {
    let b = v.to_bytes().unwrap();
    prop_assert_eq!(&T::from_bytes(&b).unwrap(), v);
    for n in 0..b.len() {
        prop_assert!(T::from_bytes(&b[..n]).is_err());
    }
    Ok(())
}

proptest! {
    #[test]
    fn connect_round_trip(user_dn in latin1(), f in any::<[u32; 4]>(), aux in bytes()) {
        round_trip(&ConnectRequest { user_dn, flags: f[0], default_code_page: f[1], lcid_sort: f[2], lcid_string: f[3], aux })?;
    }

    #[test]
    fn connect_response_round_trip(r in response((any::<[u32; 4]>(), latin1(), "\\PC{0,12}", bytes()).prop_map(|(n, dn_prefix, display_name, aux)| ConnectSuccess {
        error_code: n[0], polls_max: n[1], retry_count: n[2], retry_delay: n[3], dn_prefix, display_name, aux,
    }))) {
        round_trip(&r)?;
    }

    #[test]
    fn execute_round_trip(flags in any::<u32>(), rop_buffer in bytes(), max_rop_out in any::<u32>(), aux in bytes()) {
        round_trip(&ExecuteRequest { flags, rop_buffer, max_rop_out, aux })?;
    }

    #[test]
    fn execute_response_round_trip(r in response((any::<[u32; 2]>(), bytes(), bytes()).prop_map(|(n, rop_buffer, aux)| ExecuteSuccess {
        error_code: n[0], flags: n[1], rop_buffer, aux,
    }))) {
        round_trip(&r)?;
    }

    #[test]
    fn disconnect_round_trip(aux in bytes(), r in response((any::<u32>(), bytes()).prop_map(|(error_code, aux)| DisconnectSuccess { error_code, aux }))) {
        round_trip(&DisconnectRequest { aux })?;
        round_trip(&r)?;
    }

    #[test]
    fn notification_wait_round_trip(flags in any::<u32>(), aux in bytes(), r in response((any::<[u32; 2]>(), bytes()).prop_map(|(n, aux)| NotificationWaitSuccess { error_code: n[0], event_pending: n[1], aux }))) {
        round_trip(&NotificationWaitRequest { flags, aux })?;
        round_trip(&r)?;
    }

    #[test]
    fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..48)) {
        let _ = ConnectRequest::from_bytes(&b);
        let _ = ConnectResponse::from_bytes(&b);
        let _ = ExecuteRequest::from_bytes(&b);
        let _ = ExecuteResponse::from_bytes(&b);
        let _ = NotificationWaitResponse::from_bytes(&b);
    }
}
