//! NDR call stubs (MS-OXCRPC 3.1.4, MS-NSPI 3.1.4, MS-OXABREF 3.1.4): hand-laid known answers
//! for the layout rules (NOTES.md §3.5, C706 14.3), encode → decode round trips for every stub,
//! and truncation of every prefix.

use std::fmt::Debug;

use oxmapi_wire::data::{ErrorCode, PropertyTag, PropertyType, PropertyValue, TaggedPropertyValue};
use oxmapi_wire::dcerpc::Uuid;
use oxmapi_wire::dcerpc::emsmdb::*;
use oxmapi_wire::dcerpc::ndr::{ContextHandle, NdrCodec};
use oxmapi_wire::dcerpc::nspi::*;
use oxmapi_wire::dcerpc::nspi_types::{PropertyNameR, PropertyRowR, Stat};
use proptest::prelude::*;

fn h(s: &str) -> Vec<u8> {
    hex::decode(s.split_whitespace().collect::<String>()).unwrap()
}

fn round_trip<T: NdrCodec + PartialEq + Debug>(v: &T) -> Vec<u8> {
    let b = v.to_stub().unwrap();
    assert_eq!(&T::from_stub(&b).unwrap(), v);
    for n in 0..b.len() {
        assert!(
            T::from_stub(&b[..n]).is_err(),
            "prefix {n} of {v:?} decoded"
        );
    }
    b
}

fn cxh() -> ContextHandle {
    ContextHandle::new(Uuid::from_u128(0x11223344_5566_7788_99aa_bbccddeeff00))
}

fn tag(id: u16, ty: PropertyType) -> PropertyTag {
    PropertyTag::new(id, ty)
}

fn gal_row() -> PropertyRowR {
    PropertyRowR::new(vec![
        TaggedPropertyValue::new(
            tag(0x3001, PropertyType::UNICODE),
            PropertyValue::Unicode("Alice Example".into()),
        ),
        TaggedPropertyValue::new(
            tag(0x39FE, PropertyType::STRING8),
            PropertyValue::String8(b"alice@example.com".to_vec()),
        ),
        TaggedPropertyValue::new(tag(0x0FFE, PropertyType::INT32), PropertyValue::Int32(6)),
        TaggedPropertyValue::new(
            tag(0x3A40, PropertyType::BOOLEAN),
            PropertyValue::Boolean(true),
        ),
        TaggedPropertyValue::new(
            tag(0x0FFF, PropertyType::BINARY),
            PropertyValue::Binary(vec![0, 0, 0, 0, 0xdc, 0xa7]),
        ),
        TaggedPropertyValue::new(
            tag(0x3007, PropertyType::TIME),
            PropertyValue::Time(0x01d9_0000_1234_5678),
        ),
        TaggedPropertyValue::new(
            tag(0x3A00, PropertyType::ERROR),
            PropertyValue::Error(ErrorCode::NOT_FOUND),
        ),
        TaggedPropertyValue::new(
            tag(0x800F, PropertyType::MV_UNICODE),
            PropertyValue::MvUnicode(vec!["SMTP:a@x".into(), "smtp:b@x".into()]),
        ),
        TaggedPropertyValue::new(
            tag(0x8010, PropertyType::MV_STRING8),
            PropertyValue::MvString8(vec![b"X500:/o=x".to_vec()]),
        ),
        TaggedPropertyValue::new(
            tag(0x8011, PropertyType::MV_BINARY),
            PropertyValue::MvBinary(vec![vec![1], vec![], vec![2, 3, 4]]),
        ),
        TaggedPropertyValue::new(
            tag(0x8012, PropertyType::MV_INT32),
            PropertyValue::MvInt32(vec![-1, 7]),
        ),
        TaggedPropertyValue::new(tag(0x8013, PropertyType::INT16), PropertyValue::Int16(-2)),
        TaggedPropertyValue::new(
            tag(0x8014, PropertyType::GUID),
            PropertyValue::Guid([9; 16]),
        ),
        TaggedPropertyValue::new(
            tag(0x8015, PropertyType::MV_GUID),
            PropertyValue::MvGuid(vec![[1; 16], [2; 16]]),
        ),
        TaggedPropertyValue::new(
            tag(0x8016, PropertyType::MV_TIME),
            PropertyValue::MvTime(vec![1, u64::MAX]),
        ),
        TaggedPropertyValue::new(
            tag(0x8017, PropertyType::MV_INT16),
            PropertyValue::MvInt16(vec![1, -1, 3]),
        ),
    ])
}

#[test]
fn ec_do_connect_ex_request_layout() {
    let req = EcDoConnectExRequest {
        user_dn: "/o=x".into(),
        flags: 0,
        con_mod: 0x1234,
        cb_limit: 0,
        cpid: 1252,
        lcid_string: 0x409,
        lcid_sort: 0x409,
        icxr_link: 0xFFFF_FFFF,
        can_convert_code_pages: 1,
        client_version: [0x000f, 0x1303, 0x03e8],
        timestamp: 0,
        aux_in: vec![0xAB],
        max_aux_out: 0x1008,
    };
    let b = round_trip(&req);
    let expected = h("05000000 00000000 05000000 2f6f3d78 00 000000
                      00000000 34120000 00000000 e4040000 09040000 09040000 ffffffff
                      0100 0f00 0313 e803 00000000
                      01000000 ab 000000 01000000 08100000");
    assert_eq!(b, expected);
}

#[test]
fn ec_do_connect_ex_response_round_trip() {
    let resp = EcDoConnectExResponse {
        handle: cxh(),
        polls_max: 60000,
        retry: 6,
        retry_delay: 10000,
        icxr: 1,
        dn_prefix: Some("/o=Org/ou=Exchange Administrative Group".into()),
        display_name: None,
        server_version: [15, 1, 2],
        best_version: [15, 1, 2],
        timestamp: 0,
        aux_out: vec![1, 2, 3],
        result: ErrorCode::SUCCESS,
    };
    let b = round_trip(&resp);
    assert_eq!(&b[..20], &cxh_bytes()[..]);
    assert_eq!(&b[b.len() - 4..], &[0, 0, 0, 0]);
}

fn cxh_bytes() -> Vec<u8> {
    let mut v = vec![0, 0, 0, 0];
    v.extend_from_slice(&cxh().uuid.0);
    v
}

#[test]
fn ec_do_rpc_ext2_round_trips() {
    let req = EcDoRpcExt2Request {
        handle: cxh(),
        flags: 0,
        rgb_in: vec![0, 0, 4, 0, 3, 0, 3, 0, 0xFE, 0xEE, 0xDD],
        max_out: 0x40000,
        aux_in: Vec::new(),
        max_aux_out: 0x1008,
    };
    let b = round_trip(&req);
    // handle, pulFlags, MaxCount 11, 11 bytes, 1 pad, cbIn 11.
    assert_eq!(&b[24..28], &11u32.to_le_bytes());
    assert_eq!(&b[40..44], &11u32.to_le_bytes());
    round_trip(&EcDoRpcExt2Response {
        handle: cxh(),
        flags: 0,
        rgb_out: vec![1, 2, 3, 4, 5],
        aux_out: vec![],
        trans_time: 12,
        result: ErrorCode::SUCCESS,
    });
    round_trip(&EcDoDisconnectRequest { handle: cxh() });
    round_trip(&EcDoDisconnectResponse {
        handle: ContextHandle::default(),
        result: ErrorCode::SUCCESS,
    });
}

#[test]
fn length_parameters_must_match_arrays() {
    let req = EcDoRpcExt2Request {
        handle: cxh(),
        flags: 0,
        rgb_in: vec![1, 2, 3, 4],
        max_out: 0,
        aux_in: Vec::new(),
        max_aux_out: 0,
    };
    let mut b = req.to_stub().unwrap();
    b[32] = 5; // cbIn
    let e = EcDoRpcExt2Request::from_stub(&b).unwrap_err();
    assert_eq!(e.field, "cbIn");
    assert_eq!(e.offset, 32);
}

#[test]
fn get_props_response_defers_pointees() {
    // One row, one PtypString8 value "ab": C706 14.3.12.3 deferral puts the string after
    // the PropertyValue_r array.
    let resp = NspiGetPropsResponse {
        row: Some(PropertyRowR::new(vec![TaggedPropertyValue::new(
            tag(0x3001, PropertyType::STRING8),
            PropertyValue::String8(b"ab".to_vec()),
        )])),
        result: ErrorCode::SUCCESS,
    };
    let b = round_trip(&resp);
    let expected = h("00000200 00000000 01000000 04000200
                      01000000 1e000130 00000000 1e000000 08000200
                      03000000 00000000 03000000 616200 00
                      00000000");
    assert_eq!(b, expected);
}

#[test]
fn nspi_stubs_round_trip() {
    let stat = Stat {
        code_page: 1252,
        template_locale: 0x409,
        sort_locale: 0x409,
        ..Stat::default()
    };
    round_trip(&NspiBindRequest {
        flags: 0,
        stat,
        server_guid: Some(Uuid::from_u128(5)),
    });
    round_trip(&NspiBindRequest {
        flags: 0,
        stat,
        server_guid: None,
    });
    round_trip(&NspiBindResponse {
        server_guid: Some(Uuid::from_u128(6)),
        handle: cxh(),
        result: ErrorCode::SUCCESS,
    });
    round_trip(&NspiUnbindRequest {
        handle: cxh(),
        reserved: 0,
    });
    round_trip(&NspiUnbindResponse {
        handle: ContextHandle::default(),
        result: ErrorCode(1),
    });
    round_trip(&NspiGetSpecialTableRequest {
        handle: cxh(),
        flags: 4,
        stat,
        version: 0,
    });
    round_trip(&NspiGetSpecialTableResponse {
        version: 1,
        rows: Some(vec![gal_row(), PropertyRowR::default()]),
        result: ErrorCode::SUCCESS,
    });
    let tags = Some(vec![
        tag(0x3001, PropertyType::UNICODE),
        tag(0x39FE, PropertyType::UNICODE),
    ]);
    round_trip(&NspiQueryRowsRequest {
        handle: cxh(),
        flags: 0,
        stat,
        table: None,
        count: 50,
        prop_tags: tags.clone(),
    });
    round_trip(&NspiQueryRowsRequest {
        handle: cxh(),
        flags: 0,
        stat,
        table: Some(vec![1, 2, 3]),
        count: 3,
        prop_tags: None,
    });
    round_trip(&NspiQueryRowsResponse {
        stat,
        rows: Some(vec![gal_row(), gal_row()]),
        result: ErrorCode::SUCCESS,
    });
    round_trip(&NspiQueryRowsResponse {
        stat,
        rows: None,
        result: ErrorCode::NOT_FOUND,
    });
    round_trip(&NspiGetMatchesRequest {
        handle: cxh(),
        reserved1: 0,
        stat,
        reserved_tags: None,
        reserved2: 0,
        filter: None,
        prop_name: Some(PropertyNameR {
            guid: Some(Uuid::from_u128(7)),
            reserved: 0,
            id: 0x8005,
        }),
        requested: 50,
        prop_tags: tags.clone(),
    });
    round_trip(&NspiGetMatchesResponse {
        stat,
        mids: Some(vec![10, 11]),
        rows: Some(vec![gal_row()]),
        result: ErrorCode::SUCCESS,
    });
    round_trip(&NspiResolveNamesWRequest {
        handle: cxh(),
        reserved: 0,
        stat,
        prop_tags: tags.clone(),
        names: vec![Some("alice".into()), None, Some("Grüße".into())],
    });
    round_trip(&NspiResolveNamesWResponse {
        mids: Some(vec![0, 1, 42]),
        rows: Some(vec![gal_row()]),
        result: ErrorCode::SUCCESS,
    });
    round_trip(&NspiGetPropsRequest {
        handle: cxh(),
        flags: 0,
        stat,
        prop_tags: tags,
    });
    round_trip(&NspiGetPropsResponse {
        row: Some(gal_row()),
        result: ErrorCode::SUCCESS,
    });
    round_trip(&NspiGetPropsResponse {
        row: None,
        result: ErrorCode::NOT_FOUND,
    });
    round_trip(&NspiDnToMIdRequest {
        handle: cxh(),
        reserved: 0,
        names: vec![Some("/o=x/cn=alice".into())],
    });
    round_trip(&NspiDnToMIdResponse {
        mids: Some(vec![42]),
        result: ErrorCode::SUCCESS,
    });
    round_trip(&RfrGetNewDsaRequest {
        flags: 0,
        user_dn: "/o=x/cn=alice".into(),
        unused: Some(None),
        server: Some(None),
    });
    round_trip(&RfrGetNewDsaRequest {
        flags: 0,
        user_dn: "".into(),
        unused: None,
        server: Some(Some("srv".into())),
    });
    round_trip(&RfrGetNewDsaResponse {
        unused: Some(None),
        server: Some(Some("mail.example.com".into())),
        result: ErrorCode::SUCCESS,
    });
    round_trip(&RfrGetFqdnFromServerDnRequest {
        flags: 0,
        server_dn: "/o=x/ou=y/cn=Servers/cn=mail".into(),
    });
    round_trip(&RfrGetFqdnFromServerDnResponse {
        fqdn: Some("mail.example.com".into()),
        result: ErrorCode::SUCCESS,
    });
}

#[test]
fn unsupported_property_types_fail_to_encode() {
    let resp = NspiGetPropsResponse {
        row: Some(PropertyRowR::new(vec![TaggedPropertyValue::new(
            tag(0x1000, PropertyType::INT64),
            PropertyValue::Int64(1),
        )])),
        result: ErrorCode::SUCCESS,
    };
    assert!(resp.to_stub().is_err());
}

#[test]
fn get_matches_with_a_bad_filter_is_reported() {
    let req = NspiGetMatchesRequest {
        handle: cxh(),
        reserved1: 0,
        stat: Stat::default(),
        reserved_tags: None,
        reserved2: 0,
        filter: None,
        prop_name: None,
        requested: 1,
        prop_tags: None,
    };
    let mut b = req.to_stub().unwrap();
    // Filter pointer follows handle (20), Reserved1 (4), STAT (36), pReserved (4), Reserved2 (4);
    // a non-null pointer makes the following bytes a Restriction_r, which they are not.
    b[68] = 4;
    let e = NspiGetMatchesRequest::from_stub(&b).unwrap_err();
    assert!(e.path.contains(&"Restriction_r"), "{e}");
}

proptest! {
    #[test]
    fn rpc_ext2_round_trip(flags in any::<u32>(), rgb_in in proptest::collection::vec(any::<u8>(), 0..64),
                           aux in proptest::collection::vec(any::<u8>(), 0..16), max in any::<u32>()) {
        let req = EcDoRpcExt2Request { handle: cxh(), flags, rgb_in, max_out: max, aux_in: aux, max_aux_out: max };
        let b = req.to_stub().unwrap();
        prop_assert_eq!(EcDoRpcExt2Request::from_stub(&b).unwrap(), req);
    }

    #[test]
    fn resolve_names_round_trip(names in proptest::collection::vec(proptest::option::of("\\PC{0,12}"), 0..5)) {
        let req = NspiResolveNamesWRequest { handle: cxh(), reserved: 0, stat: Stat::default(), prop_tags: None, names };
        let b = req.to_stub().unwrap();
        prop_assert_eq!(NspiResolveNamesWRequest::from_stub(&b).unwrap(), req);
    }

    #[test]
    fn stub_decoders_never_panic(b in proptest::collection::vec(any::<u8>(), 0..160)) {
        let _ = NspiQueryRowsResponse::from_stub(&b);
        let _ = NspiGetPropsResponse::from_stub(&b);
        let _ = EcDoConnectExResponse::from_stub(&b);
        let _ = NspiResolveNamesWRequest::from_stub(&b);
        let _ = RfrGetNewDsaResponse::from_stub(&b);
    }
}
