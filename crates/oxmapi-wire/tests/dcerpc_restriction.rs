//! NDR Restriction_r (MS-NSPI 2.2.2.5 ff., the RestrictionUnion_r of the MS-NSPI 6 IDL) and
//! the NspiGetMatches Filter (MS-NSPI 3.1.4.1.10): hand-laid known answers for the layout
//! (C706 14.3.8 unions, 14.3.12.3 deferred pointees), round trips, every prefix truncated,
//! depth limits and proptest.

use oxmapi_wire::data::restriction::{
    BMR_NEZ, BitmapRelOp, FL_IGNORECASE, FL_PREFIX, MAX_DEPTH, RELOP_EQ, RELOP_GE, RELOP_NE, RelOp,
};
use oxmapi_wire::data::{
    PropertyTag, PropertyType, PropertyValue, Restriction, TaggedPropertyValue,
};
use oxmapi_wire::dcerpc::Uuid;
use oxmapi_wire::dcerpc::ndr::{ContextHandle, NdrCodec, NdrReader, NdrWriter};
use oxmapi_wire::dcerpc::nspi::NspiGetMatchesRequest;
use oxmapi_wire::dcerpc::nspi_types::{
    Stat, read_opt_restriction, read_restriction, write_opt_restriction, write_restriction,
};
use proptest::prelude::*;

fn h(s: &str) -> Vec<u8> {
    hex::decode(s.split_whitespace().collect::<String>()).unwrap()
}

const ANR: PropertyTag = PropertyTag(0x360C_001F);

fn anr(name: &str) -> Restriction {
    Restriction::Property {
        relop: RELOP_EQ,
        tag: ANR,
        value: TaggedPropertyValue::new(ANR, PropertyValue::Unicode(name.into())),
    }
}

fn encode_opt(res: Option<&Restriction>) -> Vec<u8> {
    let mut w = NdrWriter::new();
    write_opt_restriction(&mut w, res).unwrap();
    w.into_bytes()
}

fn decode_opt(b: &[u8]) -> Result<Option<Restriction>, oxmapi_wire::DecodeError> {
    let mut r = NdrReader::new(b);
    let v = read_opt_restriction(&mut r, "Filter")?;
    r.finish("Filter")?;
    Ok(v)
}

/// Encodes, decodes back, and checks that every proper prefix fails to decode.
fn round_trip(res: &Restriction) -> Vec<u8> {
    let b = encode_opt(Some(res));
    assert_eq!(decode_opt(&b).unwrap().as_ref(), Some(res));
    for n in 0..b.len() {
        assert!(
            decode_opt(&b[..n]).is_err(),
            "prefix {n} of {res:?} decoded"
        );
    }
    b
}

/// The ANR filter Outlook sends for "Check Names": a PropertyRestriction_r (rt 4) whose lpProp
/// is deferred after the flat part, holding a PropertyValue_r with a PtypString lpszW.
#[test]
fn anr_property_restriction_layout() {
    let b = round_trip(&anr("al"));
    let expected = h("00000200
                      04000000 04000000
                      04000000 1f000c36 04000200
                      1f000c36 00000000 1f000000 08000200
                      03000000 00000000 03000000 6100 6c00 0000");
    assert_eq!(b, expected);
}

/// And of [Exist, Not(Content)]: the array of Restriction_r flat parts comes first, then each
/// element's pointees in order, each depth first (the Not's Restriction_r, then its lpProp).
#[test]
fn and_defers_children_depth_first() {
    let name = PropertyTag(0x3001_001F);
    let res = Restriction::And(vec![
        Restriction::Exist { tag: name },
        Restriction::Not(Box::new(Restriction::Content {
            fuzzy_level_low: FL_PREFIX,
            fuzzy_level_high: FL_IGNORECASE,
            tag: name,
            value: TaggedPropertyValue::new(name, PropertyValue::Unicode("A".into())),
        })),
    ]);
    let b = round_trip(&res);
    let expected = h("00000200
                      00000000 00000000 02000000 04000200
                      02000000
                      08000000 08000000 00000000 1f000130 00000000
                      02000000 02000000 08000200
                      03000000 03000000 02000100 1f000130 0c000200
                      1f000130 00000000 1f000000 10000200
                      02000000 00000000 02000000 4100 0000");
    assert_eq!(b, expected);
}

#[test]
fn every_arm_round_trips() {
    let t = |id, ty| PropertyTag::new(id, ty);
    let res = Restriction::Or(vec![
        Restriction::And(vec![]),
        anr("Grüße"),
        Restriction::CompareProperties {
            relop: RELOP_NE,
            tag1: t(0x3001, PropertyType::UNICODE),
            tag2: t(0x3003, PropertyType::UNICODE),
        },
        Restriction::Bitmask {
            relop: BMR_NEZ,
            tag: t(0x0E07, PropertyType::INT32),
            mask: 0x1,
        },
        Restriction::Size {
            relop: RELOP_GE,
            tag: t(0x0E08, PropertyType::INT32),
            size: 1024,
        },
        Restriction::SubObject {
            subobject: PropertyTag(0x0E12_000D),
            restriction: Box::new(Restriction::Property {
                relop: RELOP_EQ,
                tag: t(0x0C15, PropertyType::INT32),
                value: TaggedPropertyValue::new(
                    t(0x0C15, PropertyType::INT32),
                    PropertyValue::Int32(1),
                ),
            }),
        },
        Restriction::Property {
            relop: RELOP_EQ,
            tag: t(0x0FFF, PropertyType::BINARY),
            value: TaggedPropertyValue::new(
                t(0x0FFF, PropertyType::BINARY),
                PropertyValue::Binary(vec![1, 2, 3]),
            ),
        },
        Restriction::Not(Box::new(Restriction::Property {
            relop: RELOP_EQ,
            tag: t(0x3A40, PropertyType::BOOLEAN),
            value: TaggedPropertyValue::new(
                t(0x3A40, PropertyType::BOOLEAN),
                PropertyValue::Boolean(true),
            ),
        })),
    ]);
    round_trip(&res);
}

#[test]
fn get_matches_request_carries_the_filter() {
    let req = NspiGetMatchesRequest {
        handle: ContextHandle::new(Uuid::from_u128(5)),
        reserved1: 0,
        stat: Stat::default(),
        reserved_tags: None,
        reserved2: 0,
        filter: Some(Restriction::And(vec![
            anr("bob"),
            Restriction::Exist {
                tag: PropertyTag(0x39FE_001F),
            },
        ])),
        prop_name: None,
        requested: 50,
        prop_tags: Some(vec![PropertyTag(0x3001_001F)]),
    };
    let b = req.to_stub().unwrap();
    assert_eq!(NspiGetMatchesRequest::from_stub(&b).unwrap(), req);
    // The Filter referent sits after handle (20), Reserved1, STAT (36), pReserved, Reserved2.
    assert_ne!(&b[68..72], &[0, 0, 0, 0]);
    for n in 0..b.len() {
        assert!(
            NspiGetMatchesRequest::from_stub(&b[..n]).is_err(),
            "prefix {n}"
        );
    }
}

#[test]
fn comment_and_count_have_no_arm() {
    let inner = Box::new(Restriction::Exist { tag: ANR });
    for res in [
        Restriction::Count {
            count: 1,
            restriction: inner.clone(),
        },
        Restriction::Comment {
            values: vec![],
            restriction: Some(inner.clone()),
        },
        Restriction::And(vec![Restriction::Count {
            count: 1,
            restriction: inner.clone(),
        }]),
    ] {
        let mut w = NdrWriter::new();
        assert!(write_restriction(&mut w, &res).is_err(), "{res:?}");
    }
}

#[test]
fn unknown_type_mismatched_discriminant_and_null_pointers_are_typed_errors() {
    let dec = |s: &str| {
        let b = h(s);
        let mut r = NdrReader::new(&b);
        read_restriction(&mut r).unwrap_err()
    };
    assert_eq!(dec("0a000000 0a000000 00000000").field, "rt");
    assert_eq!(dec("08000000 07000000 00000000").field, "discriminant");
    assert_eq!(dec("02000000 02000000 00000000").field, "lpRes");
    assert_eq!(
        dec("04000000 04000000 04000000 1f000c36 00000000").field,
        "lpProp"
    );
    assert_eq!(
        dec("04000000 04000000 00010000 1f000c36 00000000").field,
        "relop"
    );
    assert_eq!(dec("00000000 00000000 02000000 00000000").field, "lpRes");
}

#[test]
fn nesting_is_bounded_both_ways() {
    let mut deep = Restriction::Exist { tag: ANR };
    for _ in 0..MAX_DEPTH {
        deep = Restriction::Not(Box::new(deep));
    }
    let mut w = NdrWriter::new();
    assert!(write_restriction(&mut w, &deep).is_err());

    // 10 000 nested NotRestriction_r on the wire: a typed error, no stack overflow.
    let mut b = Vec::new();
    for _ in 0..10_000 {
        b.extend_from_slice(&h("02000000 02000000 04000200"));
    }
    b.extend_from_slice(&h("08000000 08000000 00000000 1f000c36 00000000"));
    let mut r = NdrReader::new(&b);
    let e = read_restriction(&mut r).unwrap_err();
    assert_eq!(e.field, "lpRes");
}

fn leaf() -> impl Strategy<Value = Restriction> {
    let tag = (
        0x3000u16..0x3010,
        prop_oneof![Just(PropertyType::UNICODE), Just(PropertyType::INT32)],
    )
        .prop_map(|(id, ty)| PropertyTag::new(id, ty));
    let value = prop_oneof![
        "\\PC{0,8}".prop_map(|s| (PropertyType::UNICODE, PropertyValue::Unicode(s))),
        any::<i32>().prop_map(|v| (PropertyType::INT32, PropertyValue::Int32(v))),
        proptest::collection::vec(any::<u8>(), 0..6)
            .prop_map(|v| (PropertyType::BINARY, PropertyValue::Binary(v))),
    ];
    prop_oneof![
        tag.clone().prop_map(|tag| Restriction::Exist { tag }),
        (any::<u8>(), tag.clone(), tag.clone()).prop_map(|(r, tag1, tag2)| {
            Restriction::CompareProperties {
                relop: RelOp(r),
                tag1,
                tag2,
            }
        }),
        (any::<u8>(), tag.clone(), any::<u32>()).prop_map(|(r, tag, mask)| Restriction::Bitmask {
            relop: BitmapRelOp(r),
            tag,
            mask,
        }),
        (any::<u8>(), 0x3000u16..0x3010, value.clone()).prop_map(|(r, id, (ty, v))| {
            let tag = PropertyTag::new(id, ty);
            Restriction::Property {
                relop: RelOp(r),
                tag,
                value: TaggedPropertyValue::new(tag, v),
            }
        }),
        (any::<u16>(), any::<u16>(), value).prop_map(|(lo, hi, (ty, v))| {
            let tag = PropertyTag::new(0x3001, ty);
            Restriction::Content {
                fuzzy_level_low: lo,
                fuzzy_level_high: hi,
                tag,
                value: TaggedPropertyValue::new(tag, v),
            }
        }),
    ]
}

fn restriction() -> impl Strategy<Value = Restriction> {
    leaf().prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Restriction::And),
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Restriction::Or),
            inner.clone().prop_map(|r| Restriction::Not(Box::new(r))),
            inner.prop_map(|r| Restriction::SubObject {
                subobject: PropertyTag(0x0E12_000D),
                restriction: Box::new(r),
            }),
        ]
    })
}

proptest! {
    #[test]
    fn restrictions_round_trip(res in restriction()) {
        let b = encode_opt(Some(&res));
        prop_assert_eq!(decode_opt(&b).unwrap(), Some(res));
        for n in [0, b.len() / 2, b.len() - 1] {
            prop_assert!(decode_opt(&b[..n]).is_err());
        }
    }

    #[test]
    fn restriction_decoder_never_panics(b in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = decode_opt(&b);
        let _ = NspiGetMatchesRequest::from_stub(&b);
    }
}
