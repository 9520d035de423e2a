//! The RPC over HTTP v2 endpoint driven with hand-built HTTP requests and PDUs over raw
//! tokio-rustls connections: channel setup (MS-RPCH 3.2.2.5.3: CONN/A1, B1, A3, C2), DCE/RPC
//! bind and NSPI calls (MS-OXNSPI 3.1.4.1), faults, `503 RPC Error` refusals (2.1.2.1.3), echo
//! (2.1.2.1.6), and malformed or abandoned channels ending without a hang.

#[path = "infra_support.rs"]
mod support;

use oxmapi_wire::data::PropertyTag;
use oxmapi_wire::dcerpc::ndr::NdrCodec;
use oxmapi_wire::dcerpc::nspi::{
    NspiBindRequest, NspiBindResponse, NspiQueryRowsRequest, NspiQueryRowsResponse, opnum,
};
use oxmapi_wire::dcerpc::nspi_types::Stat;
use oxmapi_wire::dcerpc::pdu::{ContextResultKind, Request};
use oxmapi_wire::dcerpc::rts::RtsKind;
use oxmapi_wire::dcerpc::{FaultStatus, Pdu, PduBody, PfcFlags, RtsPdu, SyntaxId, Uuid};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[path = "rpch_harness/mod.rs"]
mod harness;
use harness::*;

fn fault_status(p: Pdu) -> FaultStatus {
    match p.body {
        PduBody::Fault(f) => f.status,
        other => panic!("expected a fault, got {other:?}"),
    }
}

#[tokio::test]
async fn nspi_over_a_virtual_connection() {
    let ts = start().await;
    let mut vc = open_vc(&ts).await;

    let ack = vc.bind(SyntaxId::NSPI).await;
    let PduBody::BindAck(ack) = ack.body else {
        panic!("expected bind_ack, got {ack:?}")
    };
    assert_eq!(ack.results.len(), 1);
    assert_eq!(ack.results[0].result, ContextResultKind::ACCEPTANCE);
    assert_eq!(ack.results[0].transfer_syntax, SyntaxId::NDR);
    assert_eq!(ack.secondary_address, b"6004\0");
    assert_eq!(ack.max_xmit_frag, 4280);

    let bind = NspiBindRequest {
        flags: 0,
        stat: Stat {
            code_page: 1252,
            ..Stat::default()
        },
        server_guid: None,
    };
    let resp = vc.call(opnum::BIND, bind.to_stub().unwrap()).await;
    let resp = NspiBindResponse::from_stub(&response_stub(resp)).unwrap();
    assert!(resp.result.is_success());
    assert!(!resp.handle.is_null());
    let handle = resp.handle;

    let query = NspiQueryRowsRequest {
        handle,
        flags: 0,
        stat: Stat::default(),
        table: None,
        count: 10,
        prop_tags: Some(vec![PropertyTag(0x3001_001F), PropertyTag(0x39FE_001F)]),
    };
    let resp = vc.call(opnum::QUERY_ROWS, query.to_stub().unwrap()).await;
    let resp = NspiQueryRowsResponse::from_stub(&response_stub(resp)).unwrap();
    assert!(resp.result.is_success());
    let rows = resp.rows.unwrap();
    let names: Vec<String> = rows
        .iter()
        .map(|r| format!("{:?}", r.values[0].value))
        .collect();
    assert_eq!(rows.len(), 2);
    assert!(names[0].contains("Alice Example"), "{names:?}");
    assert!(names[1].contains("Bob Builder"), "{names:?}");
    assert_eq!(resp.stat.current_rec, 2, "MID_END_OF_TABLE");
    assert_eq!(resp.stat.total_recs, 2);

    // Unknown opnum and a bad stub are faults; the connection stays usable.
    let f = vc.call(99, Vec::new()).await;
    assert!(f.pfc_flags.contains(PfcFlags::DID_NOT_EXECUTE));
    assert_eq!(fault_status(f), FaultStatus::NCA_OP_RNG_ERROR);
    let f = vc.call(opnum::QUERY_ROWS, vec![1, 2, 3]).await;
    assert_eq!(fault_status(f), FaultStatus::NCA_S_FAULT_NDR);
    // A handle this connection never issued.
    let mut stale = query.clone();
    stale.handle.uuid = Uuid([9; 16]);
    let f = vc.call(opnum::QUERY_ROWS, stale.to_stub().unwrap()).await;
    assert_eq!(fault_status(f), FaultStatus::NCA_S_FAULT_CONTEXT_MISMATCH);
    let resp = vc.call(opnum::QUERY_ROWS, query.to_stub().unwrap()).await;
    assert!(NspiQueryRowsResponse::from_stub(&response_stub(resp)).is_ok());

    // Closing the IN channel ends the OUT channel.
    drop(vc.input);
    while vc.out.next().await.is_some() {}
}

#[tokio::test]
async fn unknown_interface_is_rejected_in_bind_ack() {
    let ts = start().await;
    let mut vc = open_vc(&ts).await;
    let ack = vc.bind(SyntaxId::new(0x1234, 1, 0)).await;
    let PduBody::BindAck(ack) = ack.body else {
        panic!("expected bind_ack")
    };
    assert_eq!(ack.results[0].result, ContextResultKind::PROVIDER_REJECTION);
    assert_eq!(ack.results[0].reason, 1, "abstract_syntax_not_supported");
    // A call on the rejected context is refused.
    let f = vc.call(0, Vec::new()).await;
    assert_eq!(fault_status(f), FaultStatus::NCA_INVALID_PRES_CONTEXT_ID);
}

#[tokio::test]
async fn refused_targets_get_503_rpc_error() {
    let ts = start().await;
    let auth = basic("alice", ALICE_PASSWORD);
    let cases = [
        (
            format!("{}:6001", ts.bob.personalized_server_name),
            "RPC Error: 5",
        ),
        (
            format!("{}:6004", ts.bob.personalized_server_name),
            "RPC Error: 5",
        ),
        (
            format!("{}:593", ts.alice.personalized_server_name),
            "RPC Error: 6ba",
        ),
        ("nowhere.invalid:6004".to_owned(), "RPC Error: 6ba"),
        ("localhost:6001".to_owned(), "RPC Error: 6ba"),
    ];
    for (query, want) in cases {
        let mut s = tls(&ts).await;
        request_head(&mut s, "RPC_OUT_DATA", &query, &auth, 76, true).await;
        let (head, _) = read_head(&mut s).await;
        assert!(
            head.starts_with(&format!("HTTP/1.0 503 {want}\r\n")),
            "{query}: {head}"
        );
    }
    // The server's own name is fine for NSPI.
    let mut s = tls(&ts).await;
    request_head(&mut s, "RPC_OUT_DATA", "localhost:6004", &auth, 76, true).await;
    let (head, _) = read_head(&mut s).await;
    assert!(head.starts_with("HTTP/1.1 100 Continue"), "{head}");
}

#[tokio::test]
async fn unauthenticated_and_echo_requests() {
    let ts = start().await;
    let query = format!("{}:6004", ts.alice.personalized_server_name);
    let mut s = tls(&ts).await;
    request_head(&mut s, "RPC_IN_DATA", &query, "Basic eDp5", 0, false).await;
    let (head, _) = read_head(&mut s).await;
    assert!(head.starts_with("HTTP/1.1 401"), "{head}");

    let mut s = tls(&ts).await;
    let auth = basic("alice", ALICE_PASSWORD);
    request_head(&mut s, "RPC_IN_DATA", &query, &auth, 0, false).await;
    let (head, mut body) = read_head(&mut s).await;
    assert!(head.starts_with("HTTP/1.1 200 Success\r\n"), "{head}");
    assert!(
        head.to_ascii_lowercase().contains("content-length: 20"),
        "{head}"
    );
    while body.len() < 20 {
        let mut chunk = [0u8; 64];
        let n = s.read(&mut chunk).await.unwrap();
        assert!(n > 0);
        body.extend_from_slice(&chunk[..n]);
    }
    assert_eq!(RtsPdu::from_bytes(&body).unwrap().kind(), RtsKind::Echo);
}

#[tokio::test]
async fn malformed_pdu_closes_the_virtual_connection() {
    let ts = start().await;
    let mut vc = open_vc(&ts).await;
    // rpc_vers 4: the stream cannot be framed any more.
    let mut bad = [0u8; 16];
    bad[0] = 4;
    bad[4] = 0x10;
    bad[8] = 16;
    vc.input.write_all(&bad).await.unwrap();
    while vc.out.next().await.is_some() {}

    // A bind_ack sent by the client is a protocol error: fault, then the channel closes.
    let mut vc = open_vc(&ts).await;
    let ack = Pdu::new(7, PduBody::Rts(RtsPdu::ping()));
    vc.send(&ack).await; // an RTS ping on IN is consumed silently
    let bogus = Pdu::new(
        8,
        PduBody::Other {
            ptype: oxmapi_wire::dcerpc::PacketType::BIND_ACK,
            body: vec![0; 8],
        },
    );
    vc.send(&bogus).await;
    let f = vc.out.next_rpc().await;
    assert_eq!(f.call_id, 8);
    assert_eq!(fault_status(f), FaultStatus::NCA_PROTO_ERROR);
    while vc.out.next().await.is_some() {}
}

#[tokio::test]
async fn channel_closed_mid_call_ends_cleanly() {
    let ts = start().await;
    let mut vc = open_vc(&ts).await;
    vc.bind(SyntaxId::NSPI).await;
    // The first fragment of a call, then the IN channel goes away.
    let mut pdu = Pdu::new(
        5,
        PduBody::Request(Request {
            alloc_hint: 64,
            context_id: 0,
            opnum: opnum::BIND,
            object: None,
            stub: vec![0; 32],
        }),
    );
    pdu.pfc_flags = PfcFlags::FIRST_FRAG;
    let bytes = pdu.to_bytes().unwrap();
    vc.input.write_all(&bytes[..bytes.len() - 5]).await.unwrap();
    drop(vc.input);
    while vc.out.next().await.is_some() {}

    // The server still serves new virtual connections.
    let mut vc = open_vc(&ts).await;
    let ack = vc.bind(SyntaxId::EMSMDB).await;
    assert!(matches!(ack.body, PduBody::BindAck(_)));
}

#[tokio::test]
async fn in_channel_without_out_channel_gives_up() {
    // Only an IN channel with a cookie no OUT channel registered: no response, no panic; the
    // OUT channel of another virtual connection of another user cannot be claimed.
    let ts = start().await;
    let query = format!("{}:6004", ts.bob.personalized_server_name);
    let mut out = tls(&ts).await;
    request_head(
        &mut out,
        "RPC_OUT_DATA",
        &query,
        &basic("bob", BOB_PASSWORD),
        76,
        true,
    )
    .await;
    read_head(&mut out).await;
    out.write_all(
        &RtsPdu::conn_a1(Uuid([7; 16]), Uuid([8; 16]), 0x1_0000)
            .to_bytes()
            .unwrap(),
    )
    .await
    .unwrap();
    let (head, _) = read_head(&mut out).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");

    let alice_query = format!("{}:6004", ts.alice.personalized_server_name);
    let mut input = tls(&ts).await;
    request_head(
        &mut input,
        "RPC_IN_DATA",
        &alice_query,
        &basic("alice", ALICE_PASSWORD),
        1 << 30,
        true,
    )
    .await;
    read_head(&mut input).await;
    let b1 = RtsPdu::conn_b1(
        Uuid([7; 16]),
        Uuid([9; 16]),
        1 << 30,
        300_000,
        Uuid([1; 16]),
    );
    input.write_all(&b1.to_bytes().unwrap()).await.unwrap();
    // Pairing refused: the IN channel gets 503 access denied (MS-RPCH 2.1.2.1.3), bob's OUT
    // channel is not fed.
    let (head, _) = read_head(&mut input).await;
    assert!(head.starts_with("HTTP/1.0 503 RPC Error: 5\r\n"), "{head}");
}
