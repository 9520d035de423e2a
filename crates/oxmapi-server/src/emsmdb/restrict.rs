//! Restrictions (MS-OXCDATA 2.12) and their evaluation against a row's properties
//! (MS-OXCTABL 3.2.5.4 RopRestrict).
//!
//! Private decoder for the ROP dialect (16-bit RestrictCount) until
//! `oxmapi_wire::data::restriction` lands.

use std::cmp::Ordering;

use oxmapi_wire::ReadCursor;
use oxmapi_wire::data::{PropertyTag, PropertyValue, TaggedPropertyValue, ValueContext};
use oxmapi_wire::error::DecodeResult;

/// RelOp values (MS-OXCDATA 2.12.5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RelOp {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    /// RELOP_RE and RELOP_MEMBER_OF_DL: never match here.
    Other(u8),
}

impl RelOp {
    fn from_u8(v: u8) -> Self {
        match v {
            0 => Self::Lt,
            1 => Self::Le,
            2 => Self::Gt,
            3 => Self::Ge,
            4 => Self::Eq,
            5 => Self::Ne,
            o => Self::Other(o),
        }
    }

    fn holds(self, ord: Ordering) -> bool {
        match self {
            Self::Lt => ord.is_lt(),
            Self::Le => ord.is_le(),
            Self::Gt => ord.is_gt(),
            Self::Ge => ord.is_ge(),
            Self::Eq => ord.is_eq(),
            Self::Ne => ord.is_ne(),
            Self::Other(_) => false,
        }
    }
}

/// A restriction tree (MS-OXCDATA 2.12.1-2.12.11).
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Restriction {
    And(Vec<Self>),
    Or(Vec<Self>),
    Not(Box<Self>),
    /// 2.12.4 ContentRestriction: FuzzyLevelLow (0 full, 1 substring, 2 prefix), FuzzyLevelHigh.
    Content {
        fuzzy_low: u16,
        fuzzy_high: u16,
        tag: PropertyTag,
        value: PropertyValue,
    },
    /// 2.12.5 PropertyRestriction.
    Property {
        op: RelOp,
        tag: PropertyTag,
        value: PropertyValue,
    },
    /// 2.12.6 ComparePropertiesRestriction.
    Compare {
        op: RelOp,
        tag1: PropertyTag,
        tag2: PropertyTag,
    },
    /// 2.12.7 BitMaskRestriction: `nez` = BMR_NEZ (0x01), else BMR_EQZ.
    Bitmask {
        nez: bool,
        tag: PropertyTag,
        mask: u32,
    },
    /// 2.12.8 SizeRestriction (size of the value in bytes).
    Size {
        op: RelOp,
        tag: PropertyTag,
        size: u32,
    },
    /// 2.12.9 ExistRestriction.
    Exist(PropertyTag),
    /// 2.12.10/2.12.11/2.12.12 SubObject, Comment and Count restrictions: the sub-restriction.
    Wrapped(Box<Self>),
    /// A SubObject restriction on recipients/attachments (no sub-objects here: no match).
    Never,
}

/// How deep restrictions may nest before the request is refused (stack safety).
const MAX_DEPTH: u32 = 64;

impl Restriction {
    /// Decodes a restriction in the ROP dialect (MS-OXCDATA 2.12: counts are 16-bit).
    pub(super) fn decode(r: &mut ReadCursor<'_>) -> DecodeResult<Self> {
        decode_at(r, 0)
    }

    /// Evaluates the restriction; `get` returns the row's value of a property (by tag).
    pub(super) fn matches(&self, get: &dyn Fn(PropertyTag) -> Option<PropertyValue>) -> bool {
        match self {
            Self::And(v) => v.iter().all(|x| x.matches(get)),
            Self::Or(v) => v.iter().any(|x| x.matches(get)),
            Self::Not(x) => !x.matches(get),
            Self::Content {
                fuzzy_low,
                fuzzy_high,
                tag,
                value,
            } => get(*tag).is_some_and(|have| content_match(&have, value, *fuzzy_low, *fuzzy_high)),
            Self::Property { op, tag, value } => get(*tag)
                .and_then(|have| compare(&have, value))
                .is_some_and(|o| op.holds(o)),
            Self::Compare { op, tag1, tag2 } => match (get(*tag1), get(*tag2)) {
                (Some(a), Some(b)) => compare(&a, &b).is_some_and(|o| op.holds(o)),
                _ => false,
            },
            Self::Bitmask { nez, tag, mask } => get(*tag)
                .and_then(|v| v.as_i64())
                .is_some_and(|v| ((v as u32) & mask != 0) == *nez),
            Self::Size { op, tag, size } => get(*tag)
                .map(|v| value_size(&v))
                .is_some_and(|s| op.holds(s.cmp(&(*size as usize)))),
            Self::Exist(tag) => get(*tag).is_some(),
            Self::Wrapped(x) => x.matches(get),
            Self::Never => false,
        }
    }
}

fn decode_at(r: &mut ReadCursor<'_>, depth: u32) -> DecodeResult<Restriction> {
    let at = r.offset();
    if depth > MAX_DEPTH {
        return Err(oxmapi_wire::DecodeError::invalid(
            "RestrictType",
            at,
            "nested too deeply",
        ));
    }
    let ty = r.u8("RestrictType")?;
    let tagged = |r: &mut ReadCursor<'_>| TaggedPropertyValue::decode(r, ValueContext::Rop);
    Ok(match ty {
        0x00 | 0x01 => {
            let n = r.u16("RestrictCount")?;
            let mut v = Vec::new();
            for _ in 0..n {
                v.push(decode_at(r, depth + 1)?);
            }
            if ty == 0 {
                Restriction::And(v)
            } else {
                Restriction::Or(v)
            }
        }
        0x02 => Restriction::Not(Box::new(decode_at(r, depth + 1)?)),
        0x03 => {
            let fuzzy_low = r.u16("FuzzyLevelLow")?;
            let fuzzy_high = r.u16("FuzzyLevelHigh")?;
            let tag = PropertyTag::decode(r)?;
            let value = tagged(r)?.value;
            Restriction::Content {
                fuzzy_low,
                fuzzy_high,
                tag,
                value,
            }
        }
        0x04 => {
            let op = RelOp::from_u8(r.u8("RelOp")?);
            let tag = PropertyTag::decode(r)?;
            let value = tagged(r)?.value;
            Restriction::Property { op, tag, value }
        }
        0x05 => Restriction::Compare {
            op: RelOp::from_u8(r.u8("RelOp")?),
            tag1: PropertyTag::decode(r)?,
            tag2: PropertyTag::decode(r)?,
        },
        0x06 => Restriction::Bitmask {
            nez: r.u8("BitmapRelOp")? == 0x01,
            tag: PropertyTag::decode(r)?,
            mask: r.u32("Mask")?,
        },
        0x07 => Restriction::Size {
            op: RelOp::from_u8(r.u8("RelOp")?),
            tag: PropertyTag::decode(r)?,
            size: r.u32("Size")?,
        },
        0x08 => Restriction::Exist(PropertyTag::decode(r)?),
        0x09 => {
            r.u32("Subobject")?;
            decode_at(r, depth + 1)?;
            Restriction::Never
        }
        0x0A => {
            let n = r.u8("TaggedValuesCount")?;
            for _ in 0..n {
                tagged(r)?;
            }
            if r.u8("RestrictionPresent")? != 0 {
                Restriction::Wrapped(Box::new(decode_at(r, depth + 1)?))
            } else {
                Restriction::And(Vec::new())
            }
        }
        0x0B => {
            r.u32("Count")?;
            Restriction::Wrapped(Box::new(decode_at(r, depth + 1)?))
        }
        other => {
            return Err(oxmapi_wire::DecodeError::invalid(
                "RestrictType",
                at,
                format!("unknown restriction type 0x{other:02X}"),
            ));
        }
    })
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
    use oxmapi_wire::data::tags;

    fn row(tag: PropertyTag) -> Option<PropertyValue> {
        match tag {
            t if t == tags::PidTagSubject => Some(PropertyValue::Unicode("Hello World".into())),
            t if t == tags::PidTagMessageFlags => Some(PropertyValue::Int32(0x9)),
            t if t == tags::PidTagMessageSize => Some(PropertyValue::Int32(100)),
            _ => None,
        }
    }

    /// Bytes built from MS-OXCDATA 2.12: And(Content(substring|ignorecase, Subject, "world"),
    /// Bitmask(NEZ, MessageFlags, 0x1), Property(GT, MessageSize, 50), Not(Exist(Body))).
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
        let res = Restriction::decode(&mut r).expect("decodes");
        assert!(r.is_empty());
        assert!(res.matches(&row));
        let Restriction::And(parts) = &res else {
            panic!("and")
        };
        assert_eq!(parts.len(), 4);
        // every strict prefix fails to decode
        for n in 0..b.len() {
            assert!(Restriction::decode(&mut ReadCursor::new(&b[..n])).is_err());
        }
    }

    #[test]
    fn relops_and_exist() {
        let p = |op, v| Restriction::Property {
            op,
            tag: tags::PidTagMessageSize,
            value: PropertyValue::Int32(v),
        };
        assert!(p(RelOp::Eq, 100).matches(&row));
        assert!(!p(RelOp::Lt, 100).matches(&row));
        assert!(p(RelOp::Le, 100).matches(&row));
        assert!(p(RelOp::Ne, 7).matches(&row));
        assert!(!Restriction::Exist(tags::PidTagBody).matches(&row));
        let prefix = Restriction::Content {
            fuzzy_low: 2,
            fuzzy_high: 0,
            tag: tags::PidTagSubject,
            value: PropertyValue::Unicode("hello".into()),
        };
        assert!(!prefix.matches(&row), "case-sensitive prefix");
        assert!(
            Restriction::Bitmask {
                nez: false,
                tag: tags::PidTagMessageFlags,
                mask: 0x2
            }
            .matches(&row)
        );
    }
}
