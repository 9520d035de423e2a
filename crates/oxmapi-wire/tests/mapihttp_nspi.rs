//! MS-OXCMAPIHTTP 2.2.5 address book bodies, STAT, request types and response codes.

use oxmapi_wire::data::restriction::{FL_IGNORECASE, FL_PREFIX, Restriction};
use oxmapi_wire::data::{
    ErrorCode, PropertyRow, PropertyTag, PropertyType, PropertyValue, RowValue, TaggedPropertyValue,
};
use oxmapi_wire::mapihttp::nspi::*;
use oxmapi_wire::mapihttp::{Endpoint, FailureBody, RequestType, Response, ResponseCode, Stat};
use oxmapi_wire::{Decode, DecodeErrorKind, Encode};
use proptest::prelude::*;

fn round_trip<T: Decode + Encode + PartialEq + std::fmt::Debug>(v: &T) {
    let b = v.to_bytes().unwrap();
    assert_eq!(&T::from_bytes(&b).unwrap(), v);
    for n in 0..b.len() {
        let e = T::from_bytes(&b[..n]).unwrap_err();
        assert!(e.is_truncated(), "prefix {n}: {e}");
    }
}

fn gal_stat() -> Stat {
    Stat {
        code_page: 1252,
        template_locale: 0x409,
        sort_locale: 0x409,
        ..Stat::default()
    }
}

/// MS-OXNSPI 2.2.8: nine little-endian 32-bit fields, 36 bytes (constructed).
#[test]
fn stat_is_36_bytes() {
    let s = Stat {
        sort_type: 0,
        container_id: 0,
        current_rec: Stat::MID_BEGINNING_OF_TABLE,
        delta: -1,
        num_pos: 0,
        total_recs: 7,
        code_page: 1252,
        template_locale: 0x409,
        sort_locale: 0x409,
    };
    let b = s.to_bytes().unwrap();
    assert_eq!(b.len(), Stat::FIXED_PART_SIZE);
    assert_eq!(&b[12..16], &[0xFF; 4]);
    assert_eq!(&b[20..24], &[7, 0, 0, 0]);
    assert_eq!(&b[24..28], &[0xE4, 0x04, 0, 0]);
    round_trip(&s);
}

/// Bind request (constructed from MS-OXCMAPIHTTP 2.2.5.1.1): Flags 0, HasState 0xFF, STAT, no aux.
#[test]
fn bind_request_known_answer() {
    let req = BindRequest {
        flags: 0,
        state: Some(gal_stat()),
        aux: vec![],
    };
    let b = req.to_bytes().unwrap();
    assert_eq!(b.len(), 4 + 1 + 36 + 4);
    assert_eq!(&b[..5], &[0, 0, 0, 0, 0xFF]);
    round_trip(&req);
}

#[test]
fn presence_byte_0x01_is_rejected() {
    let mut b = BindRequest {
        flags: 0,
        state: Some(gal_stat()),
        aux: vec![],
    }
    .to_bytes()
    .unwrap();
    b[4] = 0x01;
    let e = BindRequest::from_bytes(&b).unwrap_err();
    assert_eq!(e.field, "HasState");
    assert_eq!(e.offset, 4);
    assert!(matches!(e.kind, DecodeErrorKind::InvalidValue(_)));
    // Also inside a response.
    let mut r = DnToMIdResponse::Success(DnToMIdSuccess {
        error_code: 0,
        minimal_ids: Some(vec![MID_RESOLVED]),
        aux: vec![],
    })
    .to_bytes()
    .unwrap();
    r[8] = 0x01;
    assert_eq!(
        DnToMIdResponse::from_bytes(&r).unwrap_err().field,
        "HasMinimalIds"
    );
}

fn columns() -> LargePropertyTagArray {
    LargePropertyTagArray(vec![
        PropertyTag(0x3001_001F), // PidTagDisplayName
        PropertyTag(0x39FE_001F), // PidTagSmtpAddress
        PropertyTag(0x0FFF_0102), // PidTagEntryId
        PropertyTag(0x3A00_0000), // PtypUnspecified column
    ])
}

fn rows() -> Vec<PropertyRow> {
    vec![
        PropertyRow {
            flagged: false,
            values: vec![
                RowValue::Value(PropertyValue::Unicode("Alice".into())),
                RowValue::Value(PropertyValue::Unicode("alice@example.test".into())),
                RowValue::Value(PropertyValue::Binary(vec![0x87, 0, 0, 0])),
                RowValue::Value(PropertyValue::Int32(3)),
            ],
        },
        PropertyRow {
            flagged: true,
            values: vec![
                RowValue::Value(PropertyValue::Unicode(String::new())),
                RowValue::NotFound(PropertyType::UNICODE),
                RowValue::Error(PropertyType::BINARY, ErrorCode::NOT_FOUND),
                RowValue::Value(PropertyValue::MvUnicode(vec!["a".into(), "b".into()])),
            ],
        },
    ]
}

#[test]
fn query_rows_response_with_rows() {
    let resp = QueryRowsResponse::Success(QueryRowsSuccess {
        error_code: 0,
        state: Some(gal_stat()),
        columns_and_rows: Some(ColumnsAndRows {
            columns: columns(),
            rows: rows(),
        }),
        aux: vec![],
    });
    round_trip(&resp);
    let b = resp.to_bytes().unwrap();
    // StatusCode, ErrorCode, HasState, STAT, HasColumnsAndRows, column count 4.
    assert_eq!(b[8], 0xFF);
    assert_eq!(b[45], 0xFF);
    assert_eq!(&b[46..50], &[4, 0, 0, 0]);
    // First row: standard flag, then AddressBookPropertyValue "Alice" with HasValue 0xFF.
    let row0 = 50 + 16 + 4;
    assert_eq!(&b[row0..row0 + 4], &[0x00, 0xFF, b'A', 0]);
}

#[test]
fn get_matches_request_with_filter() {
    let name = PropertyTag(0x3001_001F);
    let req = GetMatchesRequest {
        reserved: 0,
        state: Some(gal_stat()),
        minimal_ids: None,
        interface_option_flags: 0,
        filter: Some(Restriction::And(vec![
            Restriction::Exist { tag: name },
            Restriction::Content {
                fuzzy_level_low: FL_PREFIX,
                fuzzy_level_high: FL_IGNORECASE,
                tag: name,
                value: TaggedPropertyValue::new(name, PropertyValue::Unicode("Al".into())),
            },
        ])),
        property_name: Some(PropertyName {
            guid: [7; 16],
            id: 9,
        }),
        row_count: 50,
        columns: Some(columns()),
        aux: vec![1, 2],
    };
    round_trip(&req);
    let b = req.to_bytes().unwrap();
    // Reserved, HasState, STAT, HasMinimalIds 0, InterfaceOptionFlags, HasFilter, And with u32 count.
    assert_eq!(&b[41..51], &[0x00, 0, 0, 0, 0, 0xFF, 0x00, 2, 0, 0]);
}

#[test]
fn resolve_names_round_trip() {
    round_trip(&ResolveNamesRequest {
        reserved: 0,
        state: Some(gal_stat()),
        property_tags: Some(columns()),
        names: Some(vec!["alice".into(), "Bob Ü".into()]),
        aux: vec![],
    });
    round_trip(&ResolveNamesResponse::Success(ResolveNamesSuccess {
        error_code: 0,
        code_page: 1252,
        minimal_ids: Some(vec![MID_AMBIGUOUS, 0x1234, MID_UNRESOLVED]),
        columns_and_rows: Some(ColumnsAndRows {
            columns: columns(),
            rows: rows(),
        }),
        aux: vec![],
    }));
}

#[test]
fn other_bodies_round_trip() {
    let s = Some(gal_stat());
    round_trip(&UnbindRequest {
        reserved: 0,
        aux: vec![9],
    });
    round_trip(&UnbindResponse::Success(UnbindSuccess {
        error_code: 0,
        aux: vec![],
    }));
    round_trip(&BindResponse::Success(BindSuccess {
        error_code: 0,
        server_guid: [1; 16],
        aux: vec![],
    }));
    round_trip(&BindResponse::Failure(FailureBody {
        status_code: 0x8004_0111,
        aux: vec![],
    }));
    round_trip(&CompareMIdsRequest {
        reserved: 0,
        state: s,
        mid1: 5,
        mid2: 6,
        aux: vec![],
    });
    round_trip(&CompareMIdsResponse::Success(CompareMIdsSuccess {
        error_code: 0,
        result: -1,
        aux: vec![],
    }));
    round_trip(&DnToMIdRequest {
        reserved: 0,
        names: Some(vec!["/o=Org/cn=alice".into(), String::new()]),
        aux: vec![],
    });
    round_trip(&GetPropListRequest {
        flags: F_SKIP_OBJECTS,
        mid: 0x10,
        code_page: 1252,
        aux: vec![],
    });
    round_trip(&GetPropListResponse::Success(PropListSuccess {
        error_code: 0,
        property_tags: Some(columns()),
        aux: vec![],
    }));
    round_trip(&GetPropsRequest {
        flags: F_EPH_ID,
        state: s,
        property_tags: None,
        aux: vec![],
    });
    round_trip(&GetPropsResponse::Success(GetPropsSuccess {
        error_code: 0,
        code_page: 1252,
        property_values: Some(vec![
            TaggedPropertyValue::new(
                PropertyTag(0x3001_001F),
                PropertyValue::Unicode("Alice".into()),
            ),
            TaggedPropertyValue::new(PropertyTag(0x0FFE_0003), PropertyValue::Int32(6)),
        ]),
        aux: vec![],
    }));
    round_trip(&GetSpecialTableRequest {
        flags: NSPI_UNICODE_STRINGS,
        state: s,
        version: Some(3),
        aux: vec![],
    });
    round_trip(&GetSpecialTableResponse::Success(GetSpecialTableSuccess {
        error_code: 0,
        code_page: 1252,
        version: Some(4),
        rows: Some(vec![
            vec![TaggedPropertyValue::new(
                PropertyTag(0x3001_001F),
                PropertyValue::Unicode("GAL".into()),
            )],
            vec![],
        ]),
        aux: vec![],
    }));
    round_trip(&QueryColumnsRequest {
        reserved: 0,
        mapi_flags: NSPI_UNICODE_PROPTYPES,
        aux: vec![],
    });
    round_trip(&QueryRowsRequest {
        flags: 0,
        state: s,
        explicit_table: vec![1, 2, 3],
        row_count: 10,
        columns: Some(columns()),
        aux: vec![],
    });
    round_trip(&ResortRestrictionRequest {
        reserved: 0,
        state: s,
        minimal_ids: Some(vec![4, 5]),
        aux: vec![],
    });
    round_trip(&ResortRestrictionResponse::Success(
        ResortRestrictionSuccess {
            error_code: 0,
            state: s,
            minimal_ids: Some(vec![5, 4]),
            aux: vec![],
        },
    ));
    round_trip(&SeekEntriesRequest {
        reserved: 0,
        state: s,
        target: Some(TaggedPropertyValue::new(
            PropertyTag(0x3001_001F),
            PropertyValue::Unicode("B".into()),
        )),
        explicit_table: None,
        columns: Some(columns()),
        aux: vec![],
    });
    round_trip(&UpdateStatRequest {
        reserved: 0,
        state: s,
        delta_requested: true,
        aux: vec![],
    });
    round_trip(&UpdateStatResponse::Success(UpdateStatSuccess {
        error_code: 0,
        state: s,
        delta: Some(-3),
        aux: vec![],
    }));
    round_trip(&GetUrlRequest {
        flags: 0,
        user_dn: "/o=Org/cn=alice".into(),
        aux: vec![],
    });
    round_trip(&GetUrlResponse::Success(GetUrlSuccess {
        error_code: 0,
        server_url: "https://h/mapi/emsmdb/?MailboxId=x".into(),
        aux: vec![],
    }));
}

#[test]
fn hostile_counts_do_not_allocate() {
    // QueryRows request with an ExplicitTable count of 0x7FFFFFFF.
    let mut b = vec![0, 0, 0, 0, 0x00];
    b.extend_from_slice(&[0xFF, 0xFF, 0xFF, 0x7F]);
    assert!(QueryRowsRequest::from_bytes(&b).unwrap_err().is_truncated());
}

#[test]
fn request_types_and_response_codes() {
    assert_eq!(RequestType::ALL.len(), 24);
    assert_eq!(RequestType::from_header("ping"), Some(RequestType::Ping));
    assert_eq!(RequestType::Ping.as_str(), "PING");
    assert_eq!(
        RequestType::from_header("DNToMId"),
        Some(RequestType::DnToMId)
    );
    assert_eq!(RequestType::QueryColumns.endpoint(), Endpoint::AddressBook);
    assert_eq!(RequestType::Execute.endpoint(), Endpoint::Mailbox);
    assert_eq!(RequestType::from_header("Bogus"), None);
    for t in RequestType::ALL {
        assert_eq!(RequestType::from_header(t.as_str()), Some(*t));
    }
    assert_eq!(
        ResponseCode::from_header(" 6 "),
        Some(ResponseCode::INVALID_CONTEXT_COOKIE)
    );
    assert_eq!(
        ResponseCode::ENDPOINT_SHUTTING_DOWN.name(),
        Some("Endpoint Shutting Down")
    );
    assert_eq!(format!("{:?}", ResponseCode(15)), "15 (Invalid Sequence)");
    assert_eq!(format!("{:?}", ResponseCode(99)), "ResponseCode(99)");
    assert!(ResponseCode::SUCCESS.is_success());
}

fn stat() -> impl Strategy<Value = Stat> {
    any::<[u32; 9]>().prop_map(|a| Stat {
        sort_type: a[0],
        container_id: a[1],
        current_rec: a[2],
        delta: a[3] as i32,
        num_pos: a[4],
        total_recs: a[5],
        code_page: a[6],
        template_locale: a[7],
        sort_locale: a[8],
    })
}

fn tags() -> impl Strategy<Value = LargePropertyTagArray> {
    proptest::collection::vec(any::<u32>().prop_map(PropertyTag), 0..5)
        .prop_map(LargePropertyTagArray)
}

fn aux() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..8)
}

fn mids() -> impl Strategy<Value = Vec<u32>> {
    proptest::collection::vec(any::<u32>(), 0..5)
}

proptest! {
    #[test]
    fn prop_query_rows_request(flags in any::<u32>(), state in proptest::option::of(stat()), et in mids(), rc in any::<u32>(), cols in proptest::option::of(tags()), aux in aux()) {
        round_trip(&QueryRowsRequest { flags, state, explicit_table: et, row_count: rc, columns: cols, aux });
    }

    #[test]
    fn prop_resolve_names_request(state in proptest::option::of(stat()), t in proptest::option::of(tags()), names in proptest::option::of(proptest::collection::vec("\\PC{0,8}", 0..4)), aux in aux()) {
        round_trip(&ResolveNamesRequest { reserved: 0, state, property_tags: t, names, aux });
    }

    #[test]
    fn prop_dntomid(names in proptest::option::of(proptest::collection::vec("[\\x01-\\xFF]{0,8}", 0..4)), m in proptest::option::of(mids()), aux in aux(), status in 0u32..3) {
        round_trip(&DnToMIdRequest { reserved: 0, names, aux: aux.clone() });
        let r = if status == 0 {
            Response::Success(DnToMIdSuccess { error_code: 0, minimal_ids: m, aux })
        } else {
            Response::Failure(FailureBody { status_code: status, aux })
        };
        round_trip(&r);
    }

    #[test]
    fn prop_update_stat(state in proptest::option::of(stat()), d in any::<bool>(), delta in proptest::option::of(any::<i32>()), aux in aux()) {
        round_trip(&UpdateStatRequest { reserved: 0, state, delta_requested: d, aux: aux.clone() });
        round_trip(&UpdateStatResponse::Success(UpdateStatSuccess { error_code: 0, state, delta, aux }));
    }

    #[test]
    fn prop_bind_and_specialtable(flags in any::<u32>(), state in proptest::option::of(stat()), version in proptest::option::of(any::<u32>()), aux in aux()) {
        round_trip(&BindRequest { flags, state, aux: aux.clone() });
        round_trip(&GetSpecialTableRequest { flags, state, version, aux: aux.clone() });
        round_trip(&GetPropsRequest { flags, state, property_tags: None, aux });
    }

    #[test]
    fn prop_int_rows(vals in proptest::collection::vec((any::<i32>(), "\\PC{0,6}"), 0..4), state in proptest::option::of(stat())) {
        let cols = LargePropertyTagArray(vec![PropertyTag(0x0FFE_0003), PropertyTag(0x3001_001F)]);
        let rows = vals.into_iter().map(|(i, s)| PropertyRow { flagged: false, values: vec![RowValue::Value(PropertyValue::Int32(i)), RowValue::Value(PropertyValue::Unicode(s))] }).collect();
        round_trip(&QueryRowsResponse::Success(QueryRowsSuccess { error_code: 0, state, columns_and_rows: Some(ColumnsAndRows { columns: cols, rows }), aux: vec![] }));
    }

    #[test]
    fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..80)) {
        let _ = QueryRowsResponse::from_bytes(&b);
        let _ = ResolveNamesResponse::from_bytes(&b);
        let _ = GetMatchesRequest::from_bytes(&b);
        let _ = GetSpecialTableResponse::from_bytes(&b);
        let _ = SeekEntriesRequest::from_bytes(&b);
        let _ = GetPropsResponse::from_bytes(&b);
    }
}
