//! MS-OXCDATA 2.12 restriction codec: known answers, round trips, truncation, hostile nesting.

use oxmapi_wire::data::restriction::{
    BMR_NEZ, FL_IGNORECASE, FL_SUBSTRING, MAX_DEPTH, RELOP_EQ, RELOP_GE, Restriction,
};
use oxmapi_wire::data::{PropertyTag, PropertyValue, TaggedPropertyValue, ValueContext};
use oxmapi_wire::{DecodeErrorKind, ReadCursor, WriteCursor};
use proptest::prelude::*;

const CONTEXTS: [ValueContext; 2] = [ValueContext::Rop, ValueContext::AddressBook];

fn enc(r: &Restriction, ctx: ValueContext) -> Vec<u8> {
    let mut w = WriteCursor::new();
    r.encode(&mut w, ctx).unwrap();
    w.into_inner()
}

fn dec(b: &[u8], ctx: ValueContext) -> Result<Restriction, oxmapi_wire::DecodeError> {
    let mut r = ReadCursor::new(b);
    let v = Restriction::decode(&mut r, ctx)?;
    r.finish("Restriction")?;
    Ok(v)
}

fn sample() -> Restriction {
    let subject = PropertyTag(0x0037_001F);
    Restriction::And(vec![
        Restriction::Exist { tag: subject },
        Restriction::Content {
            fuzzy_level_low: FL_SUBSTRING,
            fuzzy_level_high: FL_IGNORECASE,
            tag: subject,
            value: TaggedPropertyValue::new(subject, PropertyValue::Unicode("Hi".into())),
        },
        Restriction::Or(vec![
            Restriction::Bitmask {
                relop: BMR_NEZ,
                tag: PropertyTag(0x0E07_0003),
                mask: 1,
            },
            Restriction::Not(Box::new(Restriction::Size {
                relop: RELOP_GE,
                tag: PropertyTag(0x0E08_0003),
                size: 1000,
            })),
        ]),
        Restriction::Comment {
            values: vec![TaggedPropertyValue::new(
                PropertyTag(0x6600_0003),
                PropertyValue::Int32(5),
            )],
            restriction: Some(Box::new(Restriction::Count {
                count: 3,
                restriction: Box::new(Restriction::SubObject {
                    subobject: PropertyTag(0x0E12_000D),
                    restriction: Box::new(Restriction::CompareProperties {
                        relop: RELOP_EQ,
                        tag1: PropertyTag(0x3001_001F),
                        tag2: PropertyTag(0x3003_001F),
                    }),
                }),
            })),
        },
    ])
}

/// Constructed from the MS-OXCDATA 2.12.1/2.12.9/2.12.5 layouts (not a published vector):
/// And(count 2) { Exist(PidTagSubject), Property(RELOP_EQ, PidTagImportance, Int32 2) }.
#[test]
fn known_answer_and_of_exist_and_property_rop() {
    let importance = PropertyTag(0x0017_0003);
    let r = Restriction::And(vec![
        Restriction::Exist {
            tag: PropertyTag(0x0037_001F),
        },
        Restriction::Property {
            relop: RELOP_EQ,
            tag: importance,
            value: TaggedPropertyValue::new(importance, PropertyValue::Int32(2)),
        },
    ]);
    let bytes = [
        0x00, 0x02, 0x00, // And, RestrictCount u16 = 2
        0x08, 0x1F, 0x00, 0x37, 0x00, // Exist PidTagSubject
        0x04, 0x04, 0x03, 0x00, 0x17, 0x00, // Property RELOP_EQ PidTagImportance
        0x03, 0x00, 0x17, 0x00, 0x02, 0x00, 0x00, 0x00, // TaggedValue Int32 2
    ];
    assert_eq!(enc(&r, ValueContext::Rop), bytes);
    assert_eq!(dec(&bytes, ValueContext::Rop).unwrap(), r);
    // The same in the wide-count dialect: RestrictCount becomes u32.
    let mut wide = vec![0x00, 0x02, 0x00, 0x00, 0x00];
    wide.extend_from_slice(&bytes[3..]);
    assert_eq!(enc(&r, ValueContext::AddressBook), wide);
    assert_eq!(dec(&wide, ValueContext::AddressBook).unwrap(), r);
}

#[test]
fn sample_round_trips_in_both_contexts() {
    for ctx in CONTEXTS {
        let b = enc(&sample(), ctx);
        assert_eq!(dec(&b, ctx).unwrap(), sample());
    }
}

#[test]
fn every_truncated_prefix_errors() {
    for ctx in CONTEXTS {
        let b = enc(&sample(), ctx);
        for n in 0..b.len() {
            let e = dec(&b[..n], ctx).unwrap_err();
            assert!(e.is_truncated(), "prefix {n}: {e}");
        }
    }
}

#[test]
fn hostile_nesting_is_rejected_not_overflowed() {
    // 100,000 nested Not restrictions followed by nothing: must fail at depth MAX_DEPTH + 1.
    let b = vec![0x02u8; 100_000];
    let e = dec(&b, ValueContext::Rop).unwrap_err();
    assert!(matches!(e.kind, DecodeErrorKind::InvalidValue(_)), "{e}");
    assert_eq!(e.offset, MAX_DEPTH);
    // Exactly MAX_DEPTH levels are fine.
    let mut ok = vec![0x02u8; MAX_DEPTH - 1];
    ok.extend_from_slice(&[0x08, 0, 0, 0, 0]);
    let r = dec(&ok, ValueContext::Rop).unwrap();
    assert_eq!(r.depth(), MAX_DEPTH);
    // Deep And chains are limited in the same way.
    let mut and = Vec::new();
    for _ in 0..1000 {
        and.extend_from_slice(&[0x00, 0x01, 0x00]);
    }
    assert!(dec(&and, ValueContext::Rop).is_err());
}

#[test]
fn encode_refuses_too_deep() {
    let mut r = Restriction::Exist {
        tag: PropertyTag(0),
    };
    for _ in 0..MAX_DEPTH {
        r = Restriction::Not(Box::new(r));
    }
    let mut w = WriteCursor::new();
    assert!(r.encode(&mut w, ValueContext::Rop).is_err());
}

#[test]
fn hostile_count_does_not_allocate() {
    let b = [0x01, 0xFF, 0xFF, 0xFF, 0xFF];
    let e = dec(&b, ValueContext::AddressBook).unwrap_err();
    assert!(e.is_truncated());
}

#[test]
fn unknown_type_and_bad_presence_rejected() {
    let e = dec(&[0x0C], ValueContext::Rop).unwrap_err();
    assert_eq!(e.field, "RestrictType");
    // Comment with no values and RestrictionPresent = 0x02.
    let e = dec(&[0x0A, 0x00, 0x02], ValueContext::Rop).unwrap_err();
    assert_eq!(e.field, "RestrictionPresent");
    assert_eq!(e.offset, 2);
}

fn value() -> impl Strategy<Value = PropertyValue> {
    prop_oneof![
        any::<i32>().prop_map(PropertyValue::Int32),
        any::<bool>().prop_map(PropertyValue::Boolean),
        any::<i64>().prop_map(PropertyValue::Int64),
        "[a-zA-Z0-9 é€]{0,12}".prop_map(PropertyValue::Unicode),
        proptest::collection::vec(1u8..=255, 0..12).prop_map(PropertyValue::String8),
        proptest::collection::vec(any::<u8>(), 0..16).prop_map(PropertyValue::Binary),
        proptest::collection::vec(any::<i32>(), 0..4).prop_map(PropertyValue::MvInt32),
    ]
}

fn tagged() -> impl Strategy<Value = TaggedPropertyValue> {
    (any::<u16>(), value())
        .prop_map(|(id, v)| TaggedPropertyValue::new(PropertyTag::new(id, v.ty()), v))
}

fn tag() -> impl Strategy<Value = PropertyTag> {
    any::<u32>().prop_map(PropertyTag)
}

fn restriction() -> impl Strategy<Value = Restriction> {
    let leaf = prop_oneof![
        tag().prop_map(|tag| Restriction::Exist { tag }),
        (any::<u8>(), tag(), tag()).prop_map(|(o, tag1, tag2)| Restriction::CompareProperties {
            relop: oxmapi_wire::data::RelOp(o),
            tag1,
            tag2
        }),
        (any::<u8>(), tag(), any::<u32>()).prop_map(|(o, tag, mask)| Restriction::Bitmask {
            relop: oxmapi_wire::data::BitmapRelOp(o),
            tag,
            mask
        }),
        (any::<u8>(), tag(), any::<u32>()).prop_map(|(o, tag, size)| Restriction::Size {
            relop: oxmapi_wire::data::RelOp(o),
            tag,
            size
        }),
        (any::<u16>(), any::<u16>(), tag(), tagged()).prop_map(|(l, h, tag, value)| {
            Restriction::Content {
                fuzzy_level_low: l,
                fuzzy_level_high: h,
                tag,
                value,
            }
        }),
        (any::<u8>(), tag(), tagged()).prop_map(|(o, tag, value)| Restriction::Property {
            relop: oxmapi_wire::data::RelOp(o),
            tag,
            value
        }),
    ];
    leaf.prop_recursive(6, 48, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Restriction::And),
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Restriction::Or),
            inner.clone().prop_map(|r| Restriction::Not(Box::new(r))),
            (tag(), inner.clone()).prop_map(|(subobject, r)| Restriction::SubObject {
                subobject,
                restriction: Box::new(r)
            }),
            (any::<u32>(), inner.clone()).prop_map(|(count, r)| Restriction::Count {
                count,
                restriction: Box::new(r)
            }),
            (
                proptest::collection::vec(tagged(), 0..3),
                proptest::option::of(inner)
            )
                .prop_map(|(values, r)| Restriction::Comment {
                    values,
                    restriction: r.map(Box::new)
                }),
        ]
    })
}

proptest! {
    #[test]
    fn round_trip(r in restriction()) {
        for ctx in CONTEXTS {
            let b = enc(&r, ctx);
            prop_assert_eq!(dec(&b, ctx).unwrap(), r.clone());
            // Every prefix fails.
            for n in 0..b.len() {
                prop_assert!(dec(&b[..n], ctx).is_err());
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..64)) {
        for ctx in CONTEXTS {
            let _ = dec(&b, ctx);
        }
    }
}
