//! Restrictions: the filter expressions of tables and searches (MS-OXCDATA 2.12).
//!
//! [MS-OXCDATA 2.12 Restrictions](https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-oxcdata/5d554ba7-b82f-42b6-8802-97c19f760633)
//!
//! Every restriction starts with a one-byte RestrictType. The And/Or sub-restriction count is a
//! COUNT (MS-OXCDATA 2.11.1.1): 16 bits in ROP buffers ([`ValueContext::Rop`]) and 32 bits in
//! the wide-count dialects ([`ValueContext::AddressBook`], which is what MAPI/HTTP NSPI bodies
//! use, e.g. the GetMatches `Filter`). Tagged values inside a restriction use the same dialect.
//!
//! Decoding is recursive; nesting deeper than [`MAX_DEPTH`] is rejected with a typed error so
//! that hostile input cannot exhaust the stack. Nothing here evaluates a restriction.

use std::fmt;

use crate::cursor::{ReadCursor, WriteCursor, count_u16, count_u32};
use crate::data::prop::{PropertyTag, TaggedPropertyValue, ValueContext};
use crate::error::{DecodeContext, DecodeError, DecodeResult, EncodeError, EncodeResult};

/// The deepest nesting accepted by [`Restriction::decode`] and [`Restriction::encode`]
/// (a leaf at the top level has depth 1).
pub const MAX_DEPTH: usize = 64;

/// A relational operator of Property, CompareProperties and Size restrictions
/// (MS-OXCDATA 2.12.5.1 "RelOp"), an open set.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RelOp(pub u8);

/// RELOP_LT: less than.
pub const RELOP_LT: RelOp = RelOp(0x00);
/// RELOP_LE: less than or equal.
pub const RELOP_LE: RelOp = RelOp(0x01);
/// RELOP_GT: greater than.
pub const RELOP_GT: RelOp = RelOp(0x02);
/// RELOP_GE: greater than or equal.
pub const RELOP_GE: RelOp = RelOp(0x03);
/// RELOP_EQ: equal.
pub const RELOP_EQ: RelOp = RelOp(0x04);
/// RELOP_NE: not equal.
pub const RELOP_NE: RelOp = RelOp(0x05);
/// RELOP_RE: regular-expression match.
pub const RELOP_RE: RelOp = RelOp(0x06);
/// RELOP_MEMBER_OF_DL: member of a distribution list.
pub const RELOP_MEMBER_OF_DL: RelOp = RelOp(0x64);

impl RelOp {
    /// The spec name (`RELOP_EQ`), if known.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0x00 => "RELOP_LT",
            0x01 => "RELOP_LE",
            0x02 => "RELOP_GT",
            0x03 => "RELOP_GE",
            0x04 => "RELOP_EQ",
            0x05 => "RELOP_NE",
            0x06 => "RELOP_RE",
            0x64 => "RELOP_MEMBER_OF_DL",
            _ => return None,
        })
    }
}

impl fmt::Debug for RelOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "RelOp(0x{:02X})", self.0),
        }
    }
}

/// The operator of a BitMaskRestriction (MS-OXCDATA 2.12.7.1 "BitmapRelOp"), an open set.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct BitmapRelOp(pub u8);

/// BMR_EQZ: `value & mask == 0`.
pub const BMR_EQZ: BitmapRelOp = BitmapRelOp(0x00);
/// BMR_NEZ: `value & mask != 0`.
pub const BMR_NEZ: BitmapRelOp = BitmapRelOp(0x01);

impl fmt::Debug for BitmapRelOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            0x00 => f.write_str("BMR_EQZ"),
            0x01 => f.write_str("BMR_NEZ"),
            v => write!(f, "BitmapRelOp(0x{v:02X})"),
        }
    }
}

/// FuzzyLevelLow FL_FULLSTRING: the whole string must match (MS-OXCDATA 2.12.4.1).
pub const FL_FULLSTRING: u16 = 0x0000;
/// FuzzyLevelLow FL_SUBSTRING: the value must be a substring.
pub const FL_SUBSTRING: u16 = 0x0001;
/// FuzzyLevelLow FL_PREFIX: the value must be a prefix.
pub const FL_PREFIX: u16 = 0x0002;
/// FuzzyLevelHigh FL_IGNORECASE: compare case-insensitively.
pub const FL_IGNORECASE: u16 = 0x0001;
/// FuzzyLevelHigh FL_IGNORENONSPACE: ignore non-spacing characters.
pub const FL_IGNORENONSPACE: u16 = 0x0002;
/// FuzzyLevelHigh FL_LOOSE: loose matching.
pub const FL_LOOSE: u16 = 0x0004;

/// RestrictType values (MS-OXCDATA 2.12, table of restriction types).
#[allow(missing_docs)]
pub mod restrict_type {
    pub const AND: u8 = 0x00;
    pub const OR: u8 = 0x01;
    pub const NOT: u8 = 0x02;
    pub const CONTENT: u8 = 0x03;
    pub const PROPERTY: u8 = 0x04;
    pub const COMPARE_PROPERTIES: u8 = 0x05;
    pub const BITMASK: u8 = 0x06;
    pub const SIZE: u8 = 0x07;
    pub const EXIST: u8 = 0x08;
    pub const SUB_OBJECT: u8 = 0x09;
    pub const COMMENT: u8 = 0x0A;
    pub const COUNT: u8 = 0x0B;
}

/// A restriction (MS-OXCDATA 2.12.1 – 2.12.12). The variant is the RestrictType.
#[derive(Debug, Clone, PartialEq)]
pub enum Restriction {
    /// 2.12.1 AndRestriction (0x00): all sub-restrictions hold.
    And(Vec<Self>),
    /// 2.12.2 OrRestriction (0x01): at least one sub-restriction holds.
    Or(Vec<Self>),
    /// 2.12.3 NotRestriction (0x02).
    Not(Box<Self>),
    /// 2.12.4 ContentRestriction (0x03): string/binary content match.
    Content {
        /// FuzzyLevelLow: [`FL_FULLSTRING`], [`FL_SUBSTRING`] or [`FL_PREFIX`].
        fuzzy_level_low: u16,
        /// FuzzyLevelHigh: flags [`FL_IGNORECASE`], [`FL_IGNORENONSPACE`], [`FL_LOOSE`].
        fuzzy_level_high: u16,
        /// PropertyTag: the property searched.
        tag: PropertyTag,
        /// TaggedValue: the value searched for.
        value: TaggedPropertyValue,
    },
    /// 2.12.5 PropertyRestriction (0x04): compares a property with a value.
    Property {
        /// RelOp.
        relop: RelOp,
        /// PropTag: the property compared.
        tag: PropertyTag,
        /// TaggedValue: the value compared with.
        value: TaggedPropertyValue,
    },
    /// 2.12.6 ComparePropertiesRestriction (0x05): compares two properties.
    CompareProperties {
        /// RelOp.
        relop: RelOp,
        /// PropTag1.
        tag1: PropertyTag,
        /// PropTag2.
        tag2: PropertyTag,
    },
    /// 2.12.7 BitMaskRestriction (0x06).
    Bitmask {
        /// BitmapRelOp.
        relop: BitmapRelOp,
        /// PropTag.
        tag: PropertyTag,
        /// Mask.
        mask: u32,
    },
    /// 2.12.8 SizeRestriction (0x07): compares a property's size in bytes.
    Size {
        /// RelOp.
        relop: RelOp,
        /// PropTag.
        tag: PropertyTag,
        /// Size.
        size: u32,
    },
    /// 2.12.9 ExistRestriction (0x08).
    Exist {
        /// PropTag.
        tag: PropertyTag,
    },
    /// 2.12.10 SubObjectRestriction (0x09): applies to recipients or attachments.
    SubObject {
        /// Subobject: PidTagMessageRecipients or PidTagMessageAttachments.
        subobject: PropertyTag,
        /// Restriction applied to each sub-object.
        restriction: Box<Self>,
    },
    /// 2.12.11 CommentRestriction (0x0A): annotation, never evaluated by itself.
    Comment {
        /// TaggedValues (at most 255: the count is one byte).
        values: Vec<TaggedPropertyValue>,
        /// Restriction, present when RestrictionPresent is 0x01.
        restriction: Option<Box<Self>>,
    },
    /// 2.12.12 CountRestriction (0x0B): limits the matches of a sub-restriction.
    Count {
        /// Count: the match limit.
        count: u32,
        /// SubRestriction.
        restriction: Box<Self>,
    },
}

impl Restriction {
    /// The RestrictType byte.
    pub fn restrict_type(&self) -> u8 {
        use restrict_type as t;
        match self {
            Self::And(_) => t::AND,
            Self::Or(_) => t::OR,
            Self::Not(_) => t::NOT,
            Self::Content { .. } => t::CONTENT,
            Self::Property { .. } => t::PROPERTY,
            Self::CompareProperties { .. } => t::COMPARE_PROPERTIES,
            Self::Bitmask { .. } => t::BITMASK,
            Self::Size { .. } => t::SIZE,
            Self::Exist { .. } => t::EXIST,
            Self::SubObject { .. } => t::SUB_OBJECT,
            Self::Comment { .. } => t::COMMENT,
            Self::Count { .. } => t::COUNT,
        }
    }

    /// Nesting depth (a leaf has depth 1).
    ///
    /// Iterative, so that even a value built in code far beyond [`MAX_DEPTH`] is measured
    /// without recursion.
    pub fn depth(&self) -> usize {
        let mut max = 0;
        let mut stack = vec![(self, 1usize)];
        while let Some((r, d)) = stack.pop() {
            max = max.max(d);
            match r {
                Self::And(v) | Self::Or(v) => stack.extend(v.iter().map(|c| (c, d + 1))),
                Self::Not(c)
                | Self::SubObject { restriction: c, .. }
                | Self::Count { restriction: c, .. }
                | Self::Comment {
                    restriction: Some(c),
                    ..
                } => stack.push((c, d + 1)),
                _ => {}
            }
        }
        max
    }

    /// Decodes one restriction in dialect `ctx`.
    pub fn decode(r: &mut ReadCursor<'_>, ctx: ValueContext) -> DecodeResult<Self> {
        decode_at(r, ctx, 1).within("Restriction")
    }

    /// Encodes the restriction in dialect `ctx`.
    pub fn encode(&self, w: &mut WriteCursor, ctx: ValueContext) -> EncodeResult {
        let depth = self.depth();
        if depth > MAX_DEPTH {
            return Err(EncodeError::TooLarge {
                structure: "Restriction",
                field: "nesting depth",
                value: depth,
                max: MAX_DEPTH,
            });
        }
        encode_inner(self, w, ctx)
    }
}

/// The smallest possible encoding of any restriction (an empty And/Or in the ROP dialect),
/// used to bound hostile counts before allocating.
const MIN_RESTRICTION_SIZE: usize = 3;

fn decode_at(r: &mut ReadCursor<'_>, ctx: ValueContext, depth: usize) -> DecodeResult<Restriction> {
    let at = r.offset();
    if depth > MAX_DEPTH {
        return Err(DecodeError::invalid(
            "RestrictType",
            at,
            format!("restrictions nested deeper than {MAX_DEPTH} levels"),
        ));
    }
    let child = |r: &mut ReadCursor<'_>| decode_at(r, ctx, depth + 1).map(Box::new);
    Ok(match r.u8("RestrictType")? {
        restrict_type::AND => Restriction::And(decode_list(r, ctx, depth)?),
        restrict_type::OR => Restriction::Or(decode_list(r, ctx, depth)?),
        restrict_type::NOT => Restriction::Not(child(r)?),
        restrict_type::CONTENT => Restriction::Content {
            fuzzy_level_low: r.u16("FuzzyLevelLow")?,
            fuzzy_level_high: r.u16("FuzzyLevelHigh")?,
            tag: PropertyTag(r.u32("PropertyTag")?),
            value: TaggedPropertyValue::decode(r, ctx)?,
        },
        restrict_type::PROPERTY => Restriction::Property {
            relop: RelOp(r.u8("RelOp")?),
            tag: PropertyTag(r.u32("PropTag")?),
            value: TaggedPropertyValue::decode(r, ctx)?,
        },
        restrict_type::COMPARE_PROPERTIES => Restriction::CompareProperties {
            relop: RelOp(r.u8("RelOp")?),
            tag1: PropertyTag(r.u32("PropTag1")?),
            tag2: PropertyTag(r.u32("PropTag2")?),
        },
        restrict_type::BITMASK => Restriction::Bitmask {
            relop: BitmapRelOp(r.u8("BitmapRelOp")?),
            tag: PropertyTag(r.u32("PropTag")?),
            mask: r.u32("Mask")?,
        },
        restrict_type::SIZE => Restriction::Size {
            relop: RelOp(r.u8("RelOp")?),
            tag: PropertyTag(r.u32("PropTag")?),
            size: r.u32("Size")?,
        },
        restrict_type::EXIST => Restriction::Exist {
            tag: PropertyTag(r.u32("PropTag")?),
        },
        restrict_type::SUB_OBJECT => Restriction::SubObject {
            subobject: PropertyTag(r.u32("Subobject")?),
            restriction: child(r)?,
        },
        restrict_type::COMMENT => decode_comment(r, ctx, depth)?,
        restrict_type::COUNT => Restriction::Count {
            count: r.u32("Count")?,
            restriction: child(r)?,
        },
        other => {
            return Err(DecodeError::invalid(
                "RestrictType",
                at,
                format!("unknown restriction type 0x{other:02X}"),
            ));
        }
    })
}

fn decode_list(
    r: &mut ReadCursor<'_>,
    ctx: ValueContext,
    depth: usize,
) -> DecodeResult<Vec<Restriction>> {
    let n = match ctx {
        ValueContext::Rop => usize::from(r.u16("RestrictCount")?),
        ValueContext::AddressBook => r.u32("RestrictCount")? as usize,
    };
    let needed = n.saturating_mul(MIN_RESTRICTION_SIZE);
    if needed > r.remaining() {
        return Err(DecodeError::truncated(
            "Restricts",
            r.offset(),
            needed,
            r.remaining(),
        ));
    }
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        v.push(decode_at(r, ctx, depth + 1)?);
    }
    Ok(v)
}

fn decode_comment(
    r: &mut ReadCursor<'_>,
    ctx: ValueContext,
    depth: usize,
) -> DecodeResult<Restriction> {
    let n = r.u8("TaggedValuesCount")?;
    let mut values = Vec::with_capacity(usize::from(n));
    for _ in 0..n {
        values.push(TaggedPropertyValue::decode(r, ctx)?);
    }
    let at = r.offset();
    let restriction = match r.u8("RestrictionPresent")? {
        0x00 => None,
        0x01 => Some(Box::new(decode_at(r, ctx, depth + 1)?)),
        b => {
            return Err(DecodeError::invalid(
                "RestrictionPresent",
                at,
                format!("0x{b:02X} is neither 0x00 nor 0x01"),
            ));
        }
    };
    Ok(Restriction::Comment {
        values,
        restriction,
    })
}

fn encode_inner(res: &Restriction, w: &mut WriteCursor, ctx: ValueContext) -> EncodeResult {
    w.u8(res.restrict_type());
    match res {
        Restriction::And(v) | Restriction::Or(v) => {
            match ctx {
                ValueContext::Rop => w.u16(count_u16(v.len(), "Restriction", "RestrictCount")?),
                ValueContext::AddressBook => {
                    w.u32(count_u32(v.len(), "Restriction", "RestrictCount")?);
                }
            }
            for c in v {
                encode_inner(c, w, ctx)?;
            }
        }
        Restriction::Not(c) => encode_inner(c, w, ctx)?,
        Restriction::Content {
            fuzzy_level_low,
            fuzzy_level_high,
            tag,
            value,
        } => {
            w.u16(*fuzzy_level_low);
            w.u16(*fuzzy_level_high);
            w.u32(tag.0);
            value.encode(w, ctx)?;
        }
        Restriction::Property { relop, tag, value } => {
            w.u8(relop.0);
            w.u32(tag.0);
            value.encode(w, ctx)?;
        }
        Restriction::CompareProperties { relop, tag1, tag2 } => {
            w.u8(relop.0);
            w.u32(tag1.0);
            w.u32(tag2.0);
        }
        Restriction::Bitmask { relop, tag, mask } => {
            w.u8(relop.0);
            w.u32(tag.0);
            w.u32(*mask);
        }
        Restriction::Size { relop, tag, size } => {
            w.u8(relop.0);
            w.u32(tag.0);
            w.u32(*size);
        }
        Restriction::Exist { tag } => w.u32(tag.0),
        Restriction::SubObject {
            subobject,
            restriction,
        } => {
            w.u32(subobject.0);
            encode_inner(restriction, w, ctx)?;
        }
        Restriction::Comment {
            values,
            restriction,
        } => encode_comment(values, restriction.as_deref(), w, ctx)?,
        Restriction::Count { count, restriction } => {
            w.u32(*count);
            encode_inner(restriction, w, ctx)?;
        }
    }
    Ok(())
}

fn encode_comment(
    values: &[TaggedPropertyValue],
    restriction: Option<&Restriction>,
    w: &mut WriteCursor,
    ctx: ValueContext,
) -> EncodeResult {
    let n = u8::try_from(values.len()).map_err(|_| EncodeError::TooLarge {
        structure: "CommentRestriction",
        field: "TaggedValuesCount",
        value: values.len(),
        max: u8::MAX.into(),
    })?;
    w.u8(n);
    for v in values {
        v.encode(w, ctx)?;
    }
    match restriction {
        None => w.u8(0x00),
        Some(c) => {
            w.u8(0x01);
            encode_inner(c, w, ctx)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::prop::PropertyValue;

    #[test]
    fn exist_is_five_bytes() {
        let r = Restriction::Exist {
            tag: PropertyTag(0x0037_001F),
        };
        let mut w = WriteCursor::new();
        r.encode(&mut w, ValueContext::Rop).unwrap();
        assert_eq!(w.as_slice(), &[0x08, 0x1F, 0x00, 0x37, 0x00]);
    }

    #[test]
    fn and_count_width_follows_context() {
        let r = Restriction::And(vec![]);
        let mut w = WriteCursor::new();
        r.encode(&mut w, ValueContext::Rop).unwrap();
        assert_eq!(w.as_slice(), &[0, 0, 0]);
        let mut w = WriteCursor::new();
        r.encode(&mut w, ValueContext::AddressBook).unwrap();
        assert_eq!(w.as_slice(), &[0, 0, 0, 0, 0]);
    }

    #[test]
    fn property_restriction_layout() {
        let tag = PropertyTag(0x3001_001F);
        let r = Restriction::Property {
            relop: RELOP_EQ,
            tag,
            value: TaggedPropertyValue::new(tag, PropertyValue::Unicode("A".into())),
        };
        let mut w = WriteCursor::new();
        r.encode(&mut w, ValueContext::Rop).unwrap();
        assert_eq!(
            w.as_slice(),
            &[
                0x04, 0x04, 0x1F, 0x00, 0x01, 0x30, 0x1F, 0x00, 0x01, 0x30, b'A', 0, 0, 0
            ]
        );
    }
}
