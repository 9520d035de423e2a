//! Evaluation of restrictions (MS-OXCDATA 2.12) against a row's properties
//! (MS-OXCTABL 3.2.5.4 RopRestrict).
//!
//! The restriction itself is [`oxmapi_wire::data::Restriction`], decoded by the wire crate
//! (RopRestrict's RestrictionData, MS-OXCROPS 2.2.5.3.1); this module only evaluates it.

use std::cmp::Ordering;

use oxmapi_wire::data::restriction::{BMR_NEZ, RelOp};
use oxmapi_wire::data::{PropertyTag, PropertyValue};

pub(super) use oxmapi_wire::data::Restriction;

/// Evaluating a restriction against one row.
pub(super) trait Evaluate {
    /// Whether the row matches; `get` returns the row's value of a property (by tag).
    fn matches(&self, get: &dyn Fn(PropertyTag) -> Option<PropertyValue>) -> bool;
}

impl Evaluate for Restriction {
    fn matches(&self, get: &dyn Fn(PropertyTag) -> Option<PropertyValue>) -> bool {
        match self {
            Self::And(v) => v.iter().all(|x| x.matches(get)),
            Self::Or(v) => v.iter().any(|x| x.matches(get)),
            Self::Not(x) => !x.matches(get),
            Self::Content {
                fuzzy_level_low,
                fuzzy_level_high,
                tag,
                value,
            } => get(*tag).is_some_and(|have| {
                content_match(&have, &value.value, *fuzzy_level_low, *fuzzy_level_high)
            }),
            Self::Property { relop, tag, value } => get(*tag)
                .and_then(|have| compare(&have, &value.value))
                .is_some_and(|o| holds(*relop, o)),
            Self::CompareProperties { relop, tag1, tag2 } => match (get(*tag1), get(*tag2)) {
                (Some(a), Some(b)) => compare(&a, &b).is_some_and(|o| holds(*relop, o)),
                _ => false,
            },
            Self::Bitmask { relop, tag, mask } => get(*tag)
                .and_then(|v| v.as_i64())
                .is_some_and(|v| ((v as u32) & mask != 0) == (*relop == BMR_NEZ)),
            Self::Size { relop, tag, size } => get(*tag)
                .map(|v| value_size(&v))
                .is_some_and(|s| holds(*relop, s.cmp(&(*size as usize)))),
            Self::Exist { tag } => get(*tag).is_some(),
            // Rows here have no recipient or attachment sub-objects: nothing matches.
            Self::SubObject { .. } => false,
            // A comment annotates its restriction; without one it does not restrict.
            Self::Comment { restriction, .. } => {
                restriction.as_ref().is_none_or(|x| x.matches(get))
            }
            // The match limit of a CountRestriction is not applied.
            Self::Count { restriction, .. } => restriction.matches(get),
        }
    }
}

/// Appends the property tags whose values evaluating `r` reads (MS-OXCDATA 2.12); a
/// SubObject restriction reads none (it never matches here).
pub(super) fn tags_of(r: &Restriction, out: &mut Vec<PropertyTag>) {
    match r {
        Restriction::And(v) | Restriction::Or(v) => v.iter().for_each(|x| tags_of(x, out)),
        Restriction::Not(x) => tags_of(x, out),
        Restriction::Content { tag, .. }
        | Restriction::Property { tag, .. }
        | Restriction::Bitmask { tag, .. }
        | Restriction::Size { tag, .. }
        | Restriction::Exist { tag } => out.push(*tag),
        Restriction::CompareProperties { tag1, tag2, .. } => out.extend([*tag1, *tag2]),
        Restriction::SubObject { .. } => {}
        Restriction::Comment { restriction, .. } => {
            if let Some(x) = restriction {
                tags_of(x, out);
            }
        }
        Restriction::Count { restriction, .. } => tags_of(restriction, out),
    }
}

/// Whether `ord` satisfies the relational operator (MS-OXCDATA 2.12.5.1); RELOP_RE,
/// RELOP_MEMBER_OF_DL and unknown operators never match here.
fn holds(op: RelOp, ord: Ordering) -> bool {
    match op.0 {
        0x00 => ord.is_lt(),
        0x01 => ord.is_le(),
        0x02 => ord.is_gt(),
        0x03 => ord.is_ge(),
        0x04 => ord.is_eq(),
        0x05 => ord.is_ne(),
        _ => false,
    }
}

/// Orders two values of compatible types; `None` when they cannot be compared.
fn compare(a: &PropertyValue, b: &PropertyValue) -> Option<Ordering> {
    use PropertyValue as V;
    match (a, b) {
        (V::Float32(x), V::Float32(y)) => x.partial_cmp(y),
        (V::Float64(x) | V::FloatingTime(x), V::Float64(y) | V::FloatingTime(y)) => {
            x.partial_cmp(y)
        }
        (V::Time(x), V::Time(y)) => Some(x.cmp(y)),
        (V::Guid(x), V::Guid(y)) => Some(x.cmp(y)),
        (V::Binary(x), V::Binary(y)) => Some(x.len().cmp(&y.len()).then_with(|| x.cmp(y))),
        _ => {
            if let (Some(x), Some(y)) = (a.as_str(), b.as_str()) {
                return Some(x.to_lowercase().cmp(&y.to_lowercase()));
            }
            Some(a.as_i64()?.cmp(&b.as_i64()?))
        }
    }
}

/// ContentRestriction matching (MS-OXCDATA 2.12.4): strings and binaries.
fn content_match(have: &PropertyValue, want: &PropertyValue, low: u16, high: u16) -> bool {
    let fold = high & 0x0003 != 0 || high & 0x0004 != 0;
    let norm = |s: &str| if fold { s.to_lowercase() } else { s.to_owned() };
    let test = |h: &[u8], w: &[u8]| match low & 0x000F {
        1 => w.is_empty() || h.windows(w.len()).any(|x| x == w),
        2 => h.starts_with(w),
        _ => h == w,
    };
    let one = |h: &PropertyValue| match (h.as_str(), want.as_str()) {
        (Some(h), Some(w)) => test(norm(&h).as_bytes(), norm(&w).as_bytes()),
        _ => match (h, want) {
            (PropertyValue::Binary(h), PropertyValue::Binary(w)) => test(h, w),
            _ => false,
        },
    };
    match have {
        PropertyValue::MvUnicode(v) => v.iter().any(|s| one(&PropertyValue::Unicode(s.clone()))),
        other => one(other),
    }
}

fn value_size(v: &PropertyValue) -> usize {
    match v {
        PropertyValue::Unicode(s) => (s.encode_utf16().count() + 1) * 2,
        PropertyValue::String8(b) => b.len() + 1,
        PropertyValue::Binary(b) => b.len(),
        PropertyValue::Int16(_) => 2,
        PropertyValue::Boolean(_) => 1,
        PropertyValue::Int32(_) | PropertyValue::Float32(_) | PropertyValue::Error(_) => 4,
        PropertyValue::Guid(_) => 16,
        _ => 8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxmapi_wire::ReadCursor;
    use oxmapi_wire::data::restriction::{BMR_EQZ, RELOP_EQ, RELOP_LE, RELOP_LT, RELOP_NE};
    use oxmapi_wire::data::{TaggedPropertyValue, ValueContext, tags};

    fn row(tag: PropertyTag) -> Option<PropertyValue> {
        match tag {
            t if t == tags::PidTagSubject => Some(PropertyValue::Unicode("Hello World".into())),
            t if t == tags::PidTagMessageFlags => Some(PropertyValue::Int32(0x9)),
            t if t == tags::PidTagMessageSize => Some(PropertyValue::Int32(100)),
            _ => None,
        }
    }

    /// Bytes built from MS-OXCDATA 2.12: And(Content(substring|ignorecase, Subject, "world"),
    /// Bitmask(NEZ, MessageFlags, 0x1), Property(GT, MessageSize, 50), Not(Exist(Body))),
    /// decoded by the wire crate, evaluated here.
    #[test]
    fn decode_and_evaluate() {
        let mut b = vec![0x00, 4, 0];
        b.extend([0x03, 0x01, 0x00, 0x01, 0x00]);
        b.extend(0x0037_001Fu32.to_le_bytes());
        b.extend(0x0037_001Fu32.to_le_bytes());
        for u in "world\0".encode_utf16() {
            b.extend(u.to_le_bytes());
        }
        b.extend([0x06, 0x01]);
        b.extend(0x0E07_0003u32.to_le_bytes());
        b.extend(1u32.to_le_bytes());
        b.extend([0x04, 0x02]);
        b.extend(0x0E08_0003u32.to_le_bytes());
        b.extend(0x0E08_0003u32.to_le_bytes());
        b.extend(50i32.to_le_bytes());
        b.extend([0x02, 0x08]);
        b.extend(0x1000_001Fu32.to_le_bytes());
        let mut r = ReadCursor::new(&b);
        let res = Restriction::decode(&mut r, ValueContext::Rop).expect("decodes");
        assert!(r.is_empty());
        assert!(res.matches(&row));
        let Restriction::And(parts) = &res else {
            panic!("and")
        };
        assert_eq!(parts.len(), 4);
        // Any one failing part fails the And.
        let Restriction::And(mut parts) = res.clone() else {
            panic!("and")
        };
        parts[2] = Restriction::Property {
            relop: RelOp(0x02),
            tag: tags::PidTagMessageSize,
            value: TaggedPropertyValue::new(tags::PidTagMessageSize, PropertyValue::Int32(100)),
        };
        assert!(!Restriction::And(parts).matches(&row));
    }

    #[test]
    fn relops_and_exist() {
        let p = |relop, v| Restriction::Property {
            relop,
            tag: tags::PidTagMessageSize,
            value: TaggedPropertyValue::new(tags::PidTagMessageSize, PropertyValue::Int32(v)),
        };
        assert!(p(RELOP_EQ, 100).matches(&row));
        assert!(!p(RELOP_LT, 100).matches(&row));
        assert!(p(RELOP_LE, 100).matches(&row));
        assert!(p(RELOP_NE, 7).matches(&row));
        assert!(!p(RelOp(0x06), 100).matches(&row), "RELOP_RE never matches");
        assert!(
            !Restriction::Exist {
                tag: tags::PidTagBody
            }
            .matches(&row)
        );
        let prefix = Restriction::Content {
            fuzzy_level_low: 2,
            fuzzy_level_high: 0,
            tag: tags::PidTagSubject,
            value: TaggedPropertyValue::new(
                tags::PidTagSubject,
                PropertyValue::Unicode("hello".into()),
            ),
        };
        assert!(!prefix.matches(&row), "case-sensitive prefix");
        assert!(
            Restriction::Bitmask {
                relop: BMR_EQZ,
                tag: tags::PidTagMessageFlags,
                mask: 0x2
            }
            .matches(&row)
        );
    }

    #[test]
    fn wrappers() {
        let exist = |tag| Box::new(Restriction::Exist { tag });
        let comment = |restriction| Restriction::Comment {
            values: Vec::new(),
            restriction,
        };
        assert!(comment(None).matches(&row));
        assert!(comment(Some(exist(tags::PidTagSubject))).matches(&row));
        assert!(!comment(Some(exist(tags::PidTagBody))).matches(&row));
        let count = Restriction::Count {
            count: 1,
            restriction: exist(tags::PidTagSubject),
        };
        assert!(count.matches(&row));
        let sub = Restriction::SubObject {
            subobject: PropertyTag(0x0E12_000D),
            restriction: Box::new(Restriction::And(Vec::new())),
        };
        assert!(!sub.matches(&row));
    }
}
