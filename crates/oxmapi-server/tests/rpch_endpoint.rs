//! The RPC over HTTP v2 endpoint driven with hand-built HTTP requests and PDUs over raw
//! tokio-rustls connections: channel setup (MS-RPCH 3.2.2.5.3: CONN/A1, B1, A3, C2), DCE/RPC
//! bind and NSPI calls (MS-OXNSPI 3.1.4.1), faults, `503 RPC Error` refusals (2.1.2.1.3), echo
//! (2.1.2.1.6), and malformed or abandoned channels ending without a hang.

#[path = "infra_support.rs"]
mod support;

use oxmapi_wire::data::restriction::{RELOP_EQ, Restriction};
use oxmapi_wire::data::{ErrorCode, PropertyTag, PropertyValue, TaggedPropertyValue};
use oxmapi_wire::dcerpc::ndr::NdrCodec;
use oxmapi_wire::dcerpc::nspi::{
    NspiBindRequest, NspiBindResponse, NspiDnToMIdRequest, NspiDnToMIdResponse,
    NspiGetMatchesRequest, NspiGetMatchesResponse, NspiGetPropsRequest, NspiGetPropsResponse,
    NspiGetSpecialTableRequest, NspiGetSpecialTableResponse, NspiQueryRowsRequest,
    NspiQueryRowsResponse, NspiResolveNamesWRequest, NspiResolveNamesWResponse, opnum,
};
use oxmapi_wire::dcerpc::nspi_types::{PropertyNameR, Stat};
use oxmapi_wire::dcerpc::pdu::{ContextResultKind, Request};
use oxmapi_wire::dcerpc::rts::RtsKind;
use oxmapi_wire::dcerpc::{FaultStatus, Pdu, PduBody, PfcFlags, RtsPdu, SyntaxId, Uuid};
use oxmapi_wire::mapihttp::Response;
use oxmapi_wire::mapihttp::nspi::{
    BindRequest, GetMatchesRequest, GetMatchesResponse, GetSpecialTableRequest,
    GetSpecialTableResponse, LargePropertyTagArray, ResolveNamesRequest, ResolveNamesResponse,
};
use oxmapi_wire::{Decode, Encode, ReadCursor, WriteCursor};
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

fn encode(body: &impl Encode) -> Vec<u8> {
    let mut w = WriteCursor::new();
    body.encode(&mut w).unwrap();
    w.into_inner()
}

fn decode<T: Decode>(body: &[u8]) -> T {
    let mut r = ReadCursor::new(body);
    let v = T::decode(&mut r).unwrap();
    assert!(r.is_empty());
    v
}

async fn call(vc: &mut Vc, op: u16, stub: Vec<u8>) -> Vec<u8> {
    response_stub(vc.call(op, stub).await)
}

fn success<T>(r: Response<T>) -> T {
    match r {
        Response::Success(t) => t,
        Response::Failure(f) => panic!("status {}", f.status_code),
    }
}

/// The NSPI calls over RPC/HTTP (NDR) answer as the MAPI/HTTP request types do: both
/// transports run the same operations (MS-OXNSPI 3.1.4.1).
#[tokio::test]
async fn nspi_calls_answer_as_over_mapi_http() {
    let ts = start().await;
    ts.server
        .store()
        .add_user("bobby", "Bobby Tables", "x")
        .unwrap();
    let stat = Stat {
        code_page: 1252,
        sort_locale: 0x409,
        ..Stat::default()
    };
    let anr = Restriction::Property {
        relop: RELOP_EQ,
        tag: PropertyTag(0x360C_001F),
        value: TaggedPropertyValue::new(
            PropertyTag(0x360C_001F),
            PropertyValue::Unicode("bo".into()),
        ),
    };
    let cols = vec![PropertyTag(0x3A00_001F), PropertyTag(0x3A17_001F)];

    let mut m = Mapi::new(&ts, "nspi", &ts.alice, ALICE_PASSWORD).await;
    let bind = BindRequest {
        flags: 0,
        state: Some(stat),
        aux: Vec::new(),
    };
    assert_eq!(m.post("Bind", encode(&bind)).await.response_code(), Some(0));
    let special = GetSpecialTableRequest {
        flags: 4,
        state: Some(stat),
        version: None,
        aux: Vec::new(),
    };
    let r = m.post("GetSpecialTable", encode(&special)).await;
    let http_special = success(decode::<GetSpecialTableResponse>(r.mapi_body()));
    let matches = GetMatchesRequest {
        state: Some(stat),
        filter: Some(anr.clone()),
        row_count: 50,
        columns: Some(LargePropertyTagArray(cols.clone())),
        ..GetMatchesRequest::default()
    };
    let r = m.post("GetMatches", encode(&matches)).await;
    let http_matches = success(decode::<GetMatchesResponse>(r.mapi_body()));
    let resolve = ResolveNamesRequest {
        state: Some(stat),
        property_tags: Some(LargePropertyTagArray(cols.clone())),
        names: Some(vec!["alice".into(), "bo".into(), "zed".into()]),
        ..ResolveNamesRequest::default()
    };
    let r = m.post("ResolveNames", encode(&resolve)).await;
    let http_resolve = success(decode::<ResolveNamesResponse>(r.mapi_body()));

    let mut vc = open_vc(&ts).await;
    assert!(matches!(
        vc.bind(SyntaxId::NSPI).await.body,
        PduBody::BindAck(_)
    ));
    let bind = NspiBindRequest {
        flags: 0,
        stat,
        server_guid: Some(Uuid::NIL),
    };
    let resp =
        NspiBindResponse::from_stub(&call(&mut vc, opnum::BIND, bind.to_stub().unwrap()).await)
            .unwrap();
    let org = ts.server.store().org().unwrap().unwrap();
    assert_eq!(resp.server_guid, Some(Uuid(org.server_guid)));
    let handle = resp.handle;

    // GetSpecialTable: the same hierarchy row (MS-OXNSPI 3.1.4.1.3 constraints 14-16), and
    // no rows for the address creation table.
    let req = NspiGetSpecialTableRequest {
        handle,
        flags: 4,
        stat,
        version: 0,
    };
    let resp = NspiGetSpecialTableResponse::from_stub(
        &call(&mut vc, opnum::GET_SPECIAL_TABLE, req.to_stub().unwrap()).await,
    )
    .unwrap();
    let rows: Vec<_> = resp.rows.unwrap().into_iter().map(|r| r.values).collect();
    assert_eq!(Some(rows), http_special.rows);
    assert_eq!(Some(resp.version), http_special.version);
    let templates = NspiGetSpecialTableRequest { flags: 2, ..req };
    let resp = NspiGetSpecialTableResponse::from_stub(
        &call(
            &mut vc,
            opnum::GET_SPECIAL_TABLE,
            templates.to_stub().unwrap(),
        )
        .await,
    )
    .unwrap();
    assert_eq!(resp.rows, Some(Vec::new()));

    // GetMatches: the same Explicit Table, and the same cells (a missing PR_TITLE is
    // PtypErrorCode over NDR, a flagged error cell over MAPI/HTTP).
    let req = NspiGetMatchesRequest {
        handle,
        reserved1: 0,
        stat,
        reserved_tags: None,
        reserved2: 0,
        filter: Some(anr),
        prop_name: None,
        requested: 50,
        prop_tags: Some(cols.clone()),
    };
    let resp = NspiGetMatchesResponse::from_stub(
        &call(&mut vc, opnum::GET_MATCHES, req.clone().to_stub().unwrap()).await,
    )
    .unwrap();
    assert_eq!(resp.result, ErrorCode::SUCCESS);
    assert_eq!(resp.mids, http_matches.minimal_ids);
    assert_eq!(resp.mids.as_ref().map(Vec::len), Some(2));
    let ndr_rows = resp.rows.unwrap();
    let http_rows = http_matches.columns_and_rows.unwrap().rows;
    assert_eq!(ndr_rows.len(), http_rows.len());
    for (n, h) in ndr_rows.iter().zip(&http_rows) {
        assert_eq!(Some(&n.values[0].value), h.values[0].value());
        assert_eq!(n.values[1].tag, PropertyTag(0x3A17_000A));
        assert_eq!(
            n.values[1].value,
            PropertyValue::Error(ErrorCode::NOT_FOUND)
        );
        assert!(h.values[1].value().is_none());
    }
    // A named property is NotSupported; pStat unchanged, no MIds, no rows (constraint 4).
    let named = NspiGetMatchesRequest {
        prop_name: Some(PropertyNameR {
            guid: None,
            reserved: 0,
            id: 1,
        }),
        stat: Stat {
            current_rec: 0x1234,
            ..stat
        },
        ..req
    };
    let resp = NspiGetMatchesResponse::from_stub(
        &call(
            &mut vc,
            opnum::GET_MATCHES,
            named.clone().to_stub().unwrap(),
        )
        .await,
    )
    .unwrap();
    assert_eq!(resp.result, ErrorCode::NO_SUPPORT);
    assert_eq!((resp.stat, resp.mids, resp.rows), (named.stat, None, None));

    // ResolveNamesW: the same MIds and rows as ResolveNames.
    let req = NspiResolveNamesWRequest {
        handle,
        reserved: 0,
        stat,
        prop_tags: Some(cols.clone()),
        names: vec![Some("alice".into()), Some("bo".into()), Some("zed".into())],
    };
    let resp = NspiResolveNamesWResponse::from_stub(
        &call(&mut vc, opnum::RESOLVE_NAMES_W, req.to_stub().unwrap()).await,
    )
    .unwrap();
    assert_eq!(resp.mids, http_resolve.minimal_ids);
    assert_eq!(resp.mids, Some(vec![0x1000 + ts.alice.id as u32, 1, 0]));
    let rows = resp.rows.unwrap();
    assert_eq!(
        rows.len(),
        http_resolve.columns_and_rows.unwrap().rows.len()
    );
    assert_eq!(
        rows[0].values[0].value,
        PropertyValue::Unicode("alice".into())
    );

    // GetProps on an unknown MId, DNToMId on a known and an unknown DN.
    let req = NspiGetPropsRequest {
        handle,
        flags: 0,
        stat: Stat {
            current_rec: 0x9999,
            ..stat
        },
        prop_tags: Some(cols),
    };
    let resp = NspiGetPropsResponse::from_stub(
        &call(&mut vc, opnum::GET_PROPS, req.to_stub().unwrap()).await,
    )
    .unwrap();
    assert_eq!((resp.result, resp.row), (ErrorCode::NOT_FOUND, None));
    let req = NspiDnToMIdRequest {
        handle,
        reserved: 0,
        names: vec![Some(ts.bob.legacy_dn.clone()), Some("/o=x".into()), None],
    };
    let resp = NspiDnToMIdResponse::from_stub(
        &call(&mut vc, opnum::DN_TO_MID, req.to_stub().unwrap()).await,
    )
    .unwrap();
    assert_eq!(resp.mids, Some(vec![0x1000 + ts.bob.id as u32, 0, 0]));
    ts.server.shutdown().await;
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
