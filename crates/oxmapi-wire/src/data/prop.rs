//! Property tags, types and values (MS-OXCDATA 2.9 and 2.11).
//!
//! One [`PropertyValue`] type serves both wire dialects, chosen by [`ValueContext`]:
//! ROP buffers (MS-OXCROPS; binary byte counts are 16-bit) and the MAPI/HTTP address book
//! (MS-OXCMAPIHTTP 2.2.1; 32-bit counts and a `HasValue` byte before strings, binaries and
//! multi-valued properties).

use std::fmt;

use crate::cursor::{ReadCursor, WriteCursor, count_u16, count_u32};
use crate::data::errcode::ErrorCode;
use crate::error::{DecodeContext, DecodeError, DecodeResult, EncodeError, EncodeResult};

/// A property data type (MS-OXCDATA 2.11.1 "Property Data Types"), an open set.
///
/// [MS-OXCDATA 2.11.1](https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-oxcdata/0c77892e-288e-435a-9c49-be1c20c7afdb)
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct PropertyType(pub u16);

impl PropertyType {
    /// PtypUnspecified: the type travels with the value.
    pub const UNSPECIFIED: Self = Self(0x0000);
    /// PtypNull: no value.
    pub const NULL: Self = Self(0x0001);
    /// PtypInteger16.
    pub const INT16: Self = Self(0x0002);
    /// PtypInteger32.
    pub const INT32: Self = Self(0x0003);
    /// PtypFloating32.
    pub const FLOAT32: Self = Self(0x0004);
    /// PtypFloating64.
    pub const FLOAT64: Self = Self(0x0005);
    /// PtypCurrency (64-bit, scaled by 10,000).
    pub const CURRENCY: Self = Self(0x0006);
    /// PtypFloatingTime (OLE automation date).
    pub const FLOATING_TIME: Self = Self(0x0007);
    /// PtypErrorCode.
    pub const ERROR: Self = Self(0x000A);
    /// PtypBoolean (one byte on the wire).
    pub const BOOLEAN: Self = Self(0x000B);
    /// PtypObject / PtypEmbeddedTable.
    pub const OBJECT: Self = Self(0x000D);
    /// PtypInteger64.
    pub const INT64: Self = Self(0x0014);
    /// PtypString8: NUL-terminated 8-bit string.
    pub const STRING8: Self = Self(0x001E);
    /// PtypString: NUL-terminated UTF-16LE string.
    pub const UNICODE: Self = Self(0x001F);
    /// PtypTime: FILETIME.
    pub const TIME: Self = Self(0x0040);
    /// PtypGuid.
    pub const GUID: Self = Self(0x0048);
    /// PtypServerId.
    pub const SERVER_ID: Self = Self(0x00FB);
    /// PtypRestriction.
    pub const RESTRICTION: Self = Self(0x00FD);
    /// PtypRuleAction.
    pub const RULE_ACTION: Self = Self(0x00FE);
    /// PtypBinary.
    pub const BINARY: Self = Self(0x0102);
    /// The multi-valued flag (MV_FLAG).
    pub const MV_FLAG: u16 = 0x1000;
    /// The multi-value-instance flag used in table columns (MS-OXCTABL 2.2.2.2.1).
    pub const MV_INSTANCE_FLAG: u16 = 0x2000;
    /// PtypMultipleInteger16.
    pub const MV_INT16: Self = Self(0x1002);
    /// PtypMultipleInteger32.
    pub const MV_INT32: Self = Self(0x1003);
    /// PtypMultipleFloating32.
    pub const MV_FLOAT32: Self = Self(0x1004);
    /// PtypMultipleFloating64.
    pub const MV_FLOAT64: Self = Self(0x1005);
    /// PtypMultipleCurrency.
    pub const MV_CURRENCY: Self = Self(0x1006);
    /// PtypMultipleFloatingTime.
    pub const MV_FLOATING_TIME: Self = Self(0x1007);
    /// PtypMultipleInteger64.
    pub const MV_INT64: Self = Self(0x1014);
    /// PtypMultipleString8.
    pub const MV_STRING8: Self = Self(0x101E);
    /// PtypMultipleString.
    pub const MV_UNICODE: Self = Self(0x101F);
    /// PtypMultipleTime.
    pub const MV_TIME: Self = Self(0x1040);
    /// PtypMultipleGuid.
    pub const MV_GUID: Self = Self(0x1048);
    /// PtypMultipleBinary.
    pub const MV_BINARY: Self = Self(0x1102);

    /// True for the multi-valued types.
    pub fn is_multi(self) -> bool {
        self.0 & Self::MV_FLAG != 0
    }

    /// The type without the multi-value-instance flag.
    pub fn without_instance(self) -> Self {
        Self(self.0 & !Self::MV_INSTANCE_FLAG)
    }

    /// The type of one table cell in a column of this type: a column with the
    /// multi-value-instance flag (MS-OXCTABL 2.2.2.2.1, `MV_FLAG | MV_INSTANCE_FLAG`) yields one
    /// row per value, so each cell holds a single value of the base type.
    pub fn cell_type(self) -> Self {
        if self.0 & Self::MV_INSTANCE_FLAG != 0 {
            Self(self.0 & !(Self::MV_INSTANCE_FLAG | Self::MV_FLAG))
        } else {
            self
        }
    }

    /// The spec name (`PtypString`), if known.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0x0000 => "PtypUnspecified",
            0x0001 => "PtypNull",
            0x0002 => "PtypInteger16",
            0x0003 => "PtypInteger32",
            0x0004 => "PtypFloating32",
            0x0005 => "PtypFloating64",
            0x0006 => "PtypCurrency",
            0x0007 => "PtypFloatingTime",
            0x000A => "PtypErrorCode",
            0x000B => "PtypBoolean",
            0x000D => "PtypObject",
            0x0014 => "PtypInteger64",
            0x001E => "PtypString8",
            0x001F => "PtypString",
            0x0040 => "PtypTime",
            0x0048 => "PtypGuid",
            0x00FB => "PtypServerId",
            0x00FD => "PtypRestriction",
            0x00FE => "PtypRuleAction",
            0x0102 => "PtypBinary",
            0x1002 => "PtypMultipleInteger16",
            0x1003 => "PtypMultipleInteger32",
            0x1004 => "PtypMultipleFloating32",
            0x1005 => "PtypMultipleFloating64",
            0x1006 => "PtypMultipleCurrency",
            0x1007 => "PtypMultipleFloatingTime",
            0x1014 => "PtypMultipleInteger64",
            0x101E => "PtypMultipleString8",
            0x101F => "PtypMultipleString",
            0x1040 => "PtypMultipleTime",
            0x1048 => "PtypMultipleGuid",
            0x1102 => "PtypMultipleBinary",
            _ => return None,
        })
    }
}

impl fmt::Debug for PropertyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n}"),
            None => write!(f, "PropertyType(0x{:04X})", self.0),
        }
    }
}

/// A property tag: property ID in the high 16 bits, type in the low 16 (MS-OXCDATA 2.9).
///
/// [MS-OXCDATA 2.9 PropertyTag](https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-oxcdata/5316e9a9-2e56-4ae3-a3b8-2e8ba1ec2fce)
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct PropertyTag(pub u32);

impl PropertyTag {
    /// Builds a tag from an ID and a type.
    pub const fn new(id: u16, ty: PropertyType) -> Self {
        Self(((id as u32) << 16) | ty.0 as u32)
    }

    /// The property ID.
    pub const fn id(self) -> u16 {
        (self.0 >> 16) as u16
    }

    /// The property type.
    pub const fn ty(self) -> PropertyType {
        PropertyType(self.0 as u16)
    }

    /// The same ID with another type.
    pub const fn with_type(self, ty: PropertyType) -> Self {
        Self::new(self.id(), ty)
    }

    /// Reads a 32-bit tag.
    pub fn decode(r: &mut ReadCursor<'_>) -> DecodeResult<Self> {
        Ok(Self(r.u32("PropertyTag")?))
    }

    /// Writes a 32-bit tag.
    pub fn encode(self, w: &mut WriteCursor) {
        w.u32(self.0);
    }

    /// The canonical name (`PidTagSubject`) when known.
    pub fn name(self) -> Option<&'static str> {
        crate::data::tags::name_of(self)
    }
}

impl fmt::Debug for PropertyTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n}(0x{:08X})", self.0),
            None => write!(f, "0x{:08X}", self.0),
        }
    }
}

impl fmt::Display for PropertyTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Which wire dialect a property value travels in (MS-OXCDATA 2.11.1.1 "COUNT Data Type").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueContext {
    /// ROP buffers: PtypBinary byte counts are 16-bit, multi-value counts 32-bit.
    Rop,
    /// MAPI/HTTP address book (MS-OXCMAPIHTTP 2.2.1.1 AddressBookPropertyValue): 32-bit
    /// counts and a `HasValue` byte before string, binary and multi-valued values.
    AddressBook,
}

/// A property value (MS-OXCDATA 2.11.1). The variant carries the type.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub enum PropertyValue {
    Null,
    Int16(i16),
    Int32(i32),
    Float32(f32),
    Float64(f64),
    Currency(i64),
    FloatingTime(f64),
    Error(ErrorCode),
    Boolean(bool),
    Int64(i64),
    /// 8-bit string bytes, without the terminating NUL (code page is the session's).
    String8(Vec<u8>),
    Unicode(String),
    /// FILETIME: 100 ns intervals since 1601-01-01 UTC.
    Time(u64),
    /// A GUID in wire byte order.
    Guid([u8; 16]),
    /// PtypServerId bytes (MS-OXCDATA 2.11.1.4), without the count.
    ServerId(Vec<u8>),
    Binary(Vec<u8>),
    MvInt16(Vec<i16>),
    MvInt32(Vec<i32>),
    MvFloat32(Vec<f32>),
    MvFloat64(Vec<f64>),
    MvCurrency(Vec<i64>),
    MvFloatingTime(Vec<f64>),
    MvInt64(Vec<i64>),
    MvString8(Vec<Vec<u8>>),
    MvUnicode(Vec<String>),
    MvTime(Vec<u64>),
    MvGuid(Vec<[u8; 16]>),
    MvBinary(Vec<Vec<u8>>),
}

impl PropertyValue {
    /// The value's property type.
    pub fn ty(&self) -> PropertyType {
        match self {
            Self::Null => PropertyType::NULL,
            Self::Int16(_) => PropertyType::INT16,
            Self::Int32(_) => PropertyType::INT32,
            Self::Float32(_) => PropertyType::FLOAT32,
            Self::Float64(_) => PropertyType::FLOAT64,
            Self::Currency(_) => PropertyType::CURRENCY,
            Self::FloatingTime(_) => PropertyType::FLOATING_TIME,
            Self::Error(_) => PropertyType::ERROR,
            Self::Boolean(_) => PropertyType::BOOLEAN,
            Self::Int64(_) => PropertyType::INT64,
            Self::String8(_) => PropertyType::STRING8,
            Self::Unicode(_) => PropertyType::UNICODE,
            Self::Time(_) => PropertyType::TIME,
            Self::Guid(_) => PropertyType::GUID,
            Self::ServerId(_) => PropertyType::SERVER_ID,
            Self::Binary(_) => PropertyType::BINARY,
            Self::MvInt16(_) => PropertyType::MV_INT16,
            Self::MvInt32(_) => PropertyType::MV_INT32,
            Self::MvFloat32(_) => PropertyType::MV_FLOAT32,
            Self::MvFloat64(_) => PropertyType::MV_FLOAT64,
            Self::MvCurrency(_) => PropertyType::MV_CURRENCY,
            Self::MvFloatingTime(_) => PropertyType::MV_FLOATING_TIME,
            Self::MvInt64(_) => PropertyType::MV_INT64,
            Self::MvString8(_) => PropertyType::MV_STRING8,
            Self::MvUnicode(_) => PropertyType::MV_UNICODE,
            Self::MvTime(_) => PropertyType::MV_TIME,
            Self::MvGuid(_) => PropertyType::MV_GUID,
            Self::MvBinary(_) => PropertyType::MV_BINARY,
        }
    }

    /// The text of a string value (8-bit strings decoded as Latin-1).
    pub fn as_str(&self) -> Option<std::borrow::Cow<'_, str>> {
        match self {
            Self::Unicode(s) => Some(std::borrow::Cow::Borrowed(s)),
            Self::String8(b) => Some(std::borrow::Cow::Owned(
                b.iter().map(|&c| c as char).collect(),
            )),
            _ => None,
        }
    }

    /// An integer value widened to i64.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Self::Int16(v) => Some(v.into()),
            Self::Int32(v) => Some(v.into()),
            Self::Int64(v) | Self::Currency(v) => Some(v),
            Self::Boolean(b) => Some(b.into()),
            Self::Time(t) => i64::try_from(t).ok(),
            _ => None,
        }
    }

    /// The bytes of a binary value.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Self::Binary(b) | Self::ServerId(b) | Self::String8(b) => Some(b),
            _ => None,
        }
    }

    /// Decodes a value of type `ty` (MS-OXCDATA 2.11.1; 2.11.1.1 for the count widths).
    pub fn decode(
        r: &mut ReadCursor<'_>,
        ty: PropertyType,
        ctx: ValueContext,
    ) -> DecodeResult<Self> {
        decode_value(r, ty.without_instance(), ctx).within("PropertyValue")
    }

    /// Encodes the value (without a tag or type) in `ctx`.
    pub fn encode(&self, w: &mut WriteCursor, ctx: ValueContext) -> EncodeResult {
        encode_value(self, w, ctx)
    }
}

fn has_value_byte(ty: PropertyType) -> bool {
    ty.is_multi()
        || matches!(
            ty,
            PropertyType::STRING8 | PropertyType::UNICODE | PropertyType::BINARY
        )
}

fn read_count(r: &mut ReadCursor<'_>, ctx: ValueContext, binary: bool) -> DecodeResult<usize> {
    if binary && ctx == ValueContext::Rop {
        Ok(r.u16("COUNT")? as usize)
    } else {
        Ok(r.u32("COUNT")? as usize)
    }
}

/// Rejects a count that cannot possibly fit in what is left (each element needs at least
/// `min_size` bytes), so that hostile counts never drive huge allocations.
fn check_count(
    r: &ReadCursor<'_>,
    count: usize,
    min_size: usize,
    field: &'static str,
) -> DecodeResult<()> {
    if count.saturating_mul(min_size) > r.remaining() {
        Err(DecodeError::truncated(
            field,
            r.offset(),
            count.saturating_mul(min_size),
            r.remaining(),
        ))
    } else {
        Ok(())
    }
}

fn read_mv<T>(
    r: &mut ReadCursor<'_>,
    ctx: ValueContext,
    min_size: usize,
    mut f: impl FnMut(&mut ReadCursor<'_>) -> DecodeResult<T>,
) -> DecodeResult<Vec<T>> {
    let n = read_count(r, ctx, false)?;
    check_count(r, n, min_size, "Values")?;
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        v.push(f(r)?);
    }
    Ok(v)
}

fn read_binary(r: &mut ReadCursor<'_>, ctx: ValueContext) -> DecodeResult<Vec<u8>> {
    let n = read_count(r, ctx, true)?;
    Ok(r.bytes(n, "Bytes")?.to_vec())
}

fn decode_value(
    r: &mut ReadCursor<'_>,
    ty: PropertyType,
    ctx: ValueContext,
) -> DecodeResult<PropertyValue> {
    use PropertyValue as V;
    if ctx == ValueContext::AddressBook && has_value_byte(ty) {
        let at = r.offset();
        match r.u8("HasValue")? {
            0x00 => {
                return empty_of(ty).ok_or_else(|| {
                    DecodeError::invalid(
                        "PropertyType",
                        at,
                        format!("{ty:?} values are not supported in this context"),
                    )
                });
            }
            0xFF => {}
            b => {
                return Err(DecodeError::invalid(
                    "HasValue",
                    at,
                    format!("0x{b:02X} is neither 0x00 nor 0xFF"),
                ));
            }
        }
    }
    Ok(match ty {
        PropertyType::NULL => V::Null,
        PropertyType::INT16 => V::Int16(r.u16("Int16")? as i16),
        PropertyType::INT32 => V::Int32(r.i32("Int32")?),
        PropertyType::FLOAT32 => V::Float32(r.f32("Floating32")?),
        PropertyType::FLOAT64 => V::Float64(r.f64("Floating64")?),
        PropertyType::CURRENCY => V::Currency(r.i64("Currency")?),
        PropertyType::FLOATING_TIME => V::FloatingTime(r.f64("FloatingTime")?),
        PropertyType::ERROR => V::Error(ErrorCode(r.u32("ErrorCode")?)),
        PropertyType::BOOLEAN => {
            let at = r.offset();
            match r.u8("Boolean")? {
                0 => V::Boolean(false),
                1 => V::Boolean(true),
                b => {
                    return Err(DecodeError::invalid(
                        "Boolean",
                        at,
                        format!("0x{b:02X} is not 0 or 1"),
                    ));
                }
            }
        }
        PropertyType::INT64 => V::Int64(r.i64("Int64")?),
        PropertyType::STRING8 => V::String8(r.cstr("String8")?.to_vec()),
        PropertyType::UNICODE => V::Unicode(r.utf16_z("String")?),
        PropertyType::TIME => V::Time(r.u64("Time")?),
        PropertyType::GUID => V::Guid(r.guid("Guid")?),
        PropertyType::SERVER_ID => {
            let n = r.u16("COUNT")? as usize;
            V::ServerId(r.bytes(n, "ServerId")?.to_vec())
        }
        PropertyType::BINARY => V::Binary(read_binary(r, ctx)?),
        PropertyType::MV_INT16 => V::MvInt16(read_mv(r, ctx, 2, |r| Ok(r.u16("Int16")? as i16))?),
        PropertyType::MV_INT32 => V::MvInt32(read_mv(r, ctx, 4, |r| r.i32("Int32"))?),
        PropertyType::MV_FLOAT32 => V::MvFloat32(read_mv(r, ctx, 4, |r| r.f32("Floating32"))?),
        PropertyType::MV_FLOAT64 => V::MvFloat64(read_mv(r, ctx, 8, |r| r.f64("Floating64"))?),
        PropertyType::MV_CURRENCY => V::MvCurrency(read_mv(r, ctx, 8, |r| r.i64("Currency"))?),
        PropertyType::MV_FLOATING_TIME => {
            V::MvFloatingTime(read_mv(r, ctx, 8, |r| r.f64("FloatingTime"))?)
        }
        PropertyType::MV_INT64 => V::MvInt64(read_mv(r, ctx, 8, |r| r.i64("Int64"))?),
        PropertyType::MV_STRING8 => {
            V::MvString8(read_mv(r, ctx, 1, |r| Ok(r.cstr("String8")?.to_vec()))?)
        }
        PropertyType::MV_UNICODE => V::MvUnicode(read_mv(r, ctx, 2, |r| r.utf16_z("String"))?),
        PropertyType::MV_TIME => V::MvTime(read_mv(r, ctx, 8, |r| r.u64("Time"))?),
        PropertyType::MV_GUID => V::MvGuid(read_mv(r, ctx, 16, |r| r.guid("Guid"))?),
        PropertyType::MV_BINARY => {
            let min = if ctx == ValueContext::Rop { 2 } else { 4 };
            V::MvBinary(read_mv(r, ctx, min, |r| read_binary(r, ctx))?)
        }
        other => {
            return Err(DecodeError::invalid(
                "PropertyType",
                r.offset(),
                format!("{other:?} values are not supported in this context"),
            ));
        }
    })
}

/// The value HasValue 0x00 stands for; `None` for a type with no HasValue byte we decode.
fn empty_of(ty: PropertyType) -> Option<PropertyValue> {
    use PropertyValue as V;
    Some(match ty {
        PropertyType::STRING8 => V::String8(Vec::new()),
        PropertyType::UNICODE => V::Unicode(String::new()),
        PropertyType::BINARY => V::Binary(Vec::new()),
        PropertyType::MV_INT16 => V::MvInt16(Vec::new()),
        PropertyType::MV_INT32 => V::MvInt32(Vec::new()),
        PropertyType::MV_FLOAT32 => V::MvFloat32(Vec::new()),
        PropertyType::MV_FLOAT64 => V::MvFloat64(Vec::new()),
        PropertyType::MV_CURRENCY => V::MvCurrency(Vec::new()),
        PropertyType::MV_FLOATING_TIME => V::MvFloatingTime(Vec::new()),
        PropertyType::MV_INT64 => V::MvInt64(Vec::new()),
        PropertyType::MV_STRING8 => V::MvString8(Vec::new()),
        PropertyType::MV_UNICODE => V::MvUnicode(Vec::new()),
        PropertyType::MV_TIME => V::MvTime(Vec::new()),
        PropertyType::MV_GUID => V::MvGuid(Vec::new()),
        PropertyType::MV_BINARY => V::MvBinary(Vec::new()),
        _ => return None,
    })
}

fn write_count(w: &mut WriteCursor, n: usize, ctx: ValueContext, binary: bool) -> EncodeResult {
    if binary && ctx == ValueContext::Rop {
        w.u16(count_u16(n, "PropertyValue", "COUNT")?);
    } else {
        w.u32(count_u32(n, "PropertyValue", "COUNT")?);
    }
    Ok(())
}

fn write_mv<T>(
    w: &mut WriteCursor,
    ctx: ValueContext,
    items: &[T],
    mut f: impl FnMut(&mut WriteCursor, &T) -> EncodeResult,
) -> EncodeResult {
    write_count(w, items.len(), ctx, false)?;
    for i in items {
        f(w, i)?;
    }
    Ok(())
}

fn write_string8(w: &mut WriteCursor, s: &[u8]) -> EncodeResult {
    if s.contains(&0) {
        return Err(EncodeError::Invalid {
            structure: "PropertyValue",
            field: "String8",
            detail: "contains a NUL byte".into(),
        });
    }
    w.cstr(s);
    Ok(())
}

fn write_unicode(w: &mut WriteCursor, s: &str) -> EncodeResult {
    if s.contains('\0') {
        return Err(EncodeError::Invalid {
            structure: "PropertyValue",
            field: "String",
            detail: "contains a NUL character".into(),
        });
    }
    w.utf16_z(s);
    Ok(())
}

fn encode_value(v: &PropertyValue, w: &mut WriteCursor, ctx: ValueContext) -> EncodeResult {
    use PropertyValue as V;
    if ctx == ValueContext::AddressBook && has_value_byte(v.ty()) {
        w.u8(0xFF);
    }
    match v {
        V::Null => {}
        V::Int16(x) => w.u16(*x as u16),
        V::Int32(x) => w.i32(*x),
        V::Float32(x) => w.f32(*x),
        V::Float64(x) | V::FloatingTime(x) => w.f64(*x),
        V::Currency(x) | V::Int64(x) => w.i64(*x),
        V::Error(e) => w.u32(e.0),
        V::Boolean(b) => w.u8(u8::from(*b)),
        V::String8(s) => write_string8(w, s)?,
        V::Unicode(s) => write_unicode(w, s)?,
        V::Time(t) => w.u64(*t),
        V::Guid(g) => w.bytes(g),
        V::ServerId(b) => {
            w.u16(count_u16(b.len(), "PropertyValue", "ServerId COUNT")?);
            w.bytes(b);
        }
        V::Binary(b) => {
            write_count(w, b.len(), ctx, true)?;
            w.bytes(b);
        }
        V::MvInt16(x) => write_mv(w, ctx, x, |w, v| {
            w.u16(*v as u16);
            Ok(())
        })?,
        V::MvInt32(x) => write_mv(w, ctx, x, |w, v| {
            w.i32(*v);
            Ok(())
        })?,
        V::MvFloat32(x) => write_mv(w, ctx, x, |w, v| {
            w.f32(*v);
            Ok(())
        })?,
        V::MvFloat64(x) | V::MvFloatingTime(x) => write_mv(w, ctx, x, |w, v| {
            w.f64(*v);
            Ok(())
        })?,
        V::MvCurrency(x) | V::MvInt64(x) => write_mv(w, ctx, x, |w, v| {
            w.i64(*v);
            Ok(())
        })?,
        V::MvString8(x) => write_mv(w, ctx, x, |w, v| write_string8(w, v))?,
        V::MvUnicode(x) => write_mv(w, ctx, x, |w, v| write_unicode(w, v))?,
        V::MvTime(x) => write_mv(w, ctx, x, |w, v| {
            w.u64(*v);
            Ok(())
        })?,
        V::MvGuid(x) => write_mv(w, ctx, x, |w, v| {
            w.bytes(v);
            Ok(())
        })?,
        V::MvBinary(x) => write_mv(w, ctx, x, |w, v| {
            write_count(w, v.len(), ctx, true)?;
            w.bytes(v);
            Ok(())
        })?,
    }
    Ok(())
}

/// TaggedPropertyValue: a tag followed by the value (MS-OXCDATA 2.11.4).
///
/// In the address book dialect this is AddressBookTaggedPropertyValue (MS-OXCMAPIHTTP 2.2.1.3).
#[derive(Debug, Clone, PartialEq)]
pub struct TaggedPropertyValue {
    /// The tag; its type matches the value's.
    pub tag: PropertyTag,
    /// The value.
    pub value: PropertyValue,
}

impl TaggedPropertyValue {
    /// Pairs a property ID's tag with a value, taking the type from the value.
    pub fn new(tag: PropertyTag, value: PropertyValue) -> Self {
        Self {
            tag: tag.with_type(value.ty()),
            value,
        }
    }

    /// Decodes a tag and its value.
    pub fn decode(r: &mut ReadCursor<'_>, ctx: ValueContext) -> DecodeResult<Self> {
        (|| {
            let at = r.offset();
            let tag = PropertyTag::decode(r)?;
            if tag.ty() == PropertyType::UNSPECIFIED {
                return Err(DecodeError::invalid(
                    "PropertyTag",
                    at,
                    "PtypUnspecified is not allowed in a tagged value",
                ));
            }
            let value = PropertyValue::decode(r, tag.ty(), ctx)?;
            Ok(Self { tag, value })
        })()
        .within("TaggedPropertyValue")
    }

    /// Encodes the tag and value.
    pub fn encode(&self, w: &mut WriteCursor, ctx: ValueContext) -> EncodeResult {
        if self.tag.ty().without_instance() != self.value.ty() {
            return Err(EncodeError::Invalid {
                structure: "TaggedPropertyValue",
                field: "PropertyTag",
                detail: format!(
                    "tag {} does not match value type {:?}",
                    self.tag,
                    self.value.ty()
                ),
            });
        }
        self.tag.encode(w);
        self.value.encode(w, ctx)
    }
}

/// TypedPropertyValue: a 16-bit type followed by the value (MS-OXCDATA 2.11.3).
pub fn decode_typed_value(
    r: &mut ReadCursor<'_>,
    ctx: ValueContext,
) -> DecodeResult<PropertyValue> {
    let ty = read_wire_type(r).within("TypedPropertyValue")?;
    PropertyValue::decode(r, ty, ctx).within("TypedPropertyValue")
}

/// Reads the 16-bit type sent before a value. The MultivalueInstance flag (0x2000) marks
/// table columns, never a value's own type, and a [`PropertyValue`] could not carry it back.
fn read_wire_type(r: &mut ReadCursor<'_>) -> DecodeResult<PropertyType> {
    let at = r.offset();
    let ty = PropertyType(r.u16("PropertyType")?);
    if ty.0 & PropertyType::MV_INSTANCE_FLAG != 0 {
        return Err(DecodeError::invalid(
            "PropertyType",
            at,
            format!("{ty:?} has the MultivalueInstance flag, which no value type has"),
        ));
    }
    Ok(ty)
}

/// Encodes a TypedPropertyValue (MS-OXCDATA 2.11.3).
pub fn encode_typed_value(
    v: &PropertyValue,
    w: &mut WriteCursor,
    ctx: ValueContext,
) -> EncodeResult {
    w.u16(v.ty().0);
    v.encode(w, ctx)
}

/// One cell of a [`PropertyRow`].
#[derive(Debug, Clone, PartialEq)]
pub enum RowValue {
    /// A value (flag 0x00 in a flagged row; every cell of a standard row).
    Value(PropertyValue),
    /// Flag 0x01: the property does not exist on the object; carries the column's type
    /// (or, for a PtypUnspecified column, the type sent on the wire).
    NotFound(PropertyType),
    /// Flag 0x0A: the property could not be read; carries the type as for `NotFound`.
    Error(PropertyType, ErrorCode),
}

impl RowValue {
    /// The value, if present.
    pub fn value(&self) -> Option<&PropertyValue> {
        match self {
            Self::Value(v) => Some(v),
            _ => None,
        }
    }
}

/// PropertyRow: StandardPropertyRow (flag 0x00) or FlaggedPropertyRow (flag 0x01)
/// (MS-OXCDATA 2.8.1; in the address book dialect AddressBookPropertyRow, MS-OXCMAPIHTTP 2.2.1.7).
///
/// A row has no tags of its own: decoding needs the column set it was requested with.
///
/// [MS-OXCDATA 2.8.1](https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-oxcdata/a6ff4591-0ce2-4baa-81fa-7f4e68786a5f)
#[derive(Debug, Clone, PartialEq)]
pub struct PropertyRow {
    /// True for a FlaggedPropertyRow.
    pub flagged: bool,
    /// One cell per column, in column order.
    pub values: Vec<RowValue>,
}

impl PropertyRow {
    /// Builds the row form a server sends: standard when every cell has a value, else flagged.
    pub fn from_values(values: Vec<RowValue>) -> Self {
        let flagged = values.iter().any(|v| !matches!(v, RowValue::Value(_)));
        Self { flagged, values }
    }

    /// Decodes a row for `columns`.
    pub fn decode(
        r: &mut ReadCursor<'_>,
        columns: &[PropertyTag],
        ctx: ValueContext,
    ) -> DecodeResult<Self> {
        (|| {
            let at = r.offset();
            let flagged = match r.u8("Flag")? {
                0x00 => false,
                0x01 => true,
                b => {
                    return Err(DecodeError::invalid(
                        "Flag",
                        at,
                        format!("0x{b:02X} is neither 0x00 (standard) nor 0x01 (flagged)"),
                    ));
                }
            };
            let mut values = Vec::with_capacity(columns.len());
            for col in columns {
                values.push(decode_cell(r, col.ty().cell_type(), flagged, ctx)?);
            }
            Ok(Self { flagged, values })
        })()
        .within("PropertyRow")
    }

    /// Encodes the row for `columns`.
    pub fn encode(
        &self,
        w: &mut WriteCursor,
        columns: &[PropertyTag],
        ctx: ValueContext,
    ) -> EncodeResult {
        if columns.len() != self.values.len() {
            return Err(EncodeError::Invalid {
                structure: "PropertyRow",
                field: "values",
                detail: format!("{} values for {} columns", self.values.len(), columns.len()),
            });
        }
        let flagged = self.flagged || self.values.iter().any(|v| v.value().is_none());
        w.u8(u8::from(flagged));
        for (col, cell) in columns.iter().zip(&self.values) {
            encode_cell(w, col.ty().cell_type(), cell, flagged, ctx)?;
        }
        Ok(())
    }
}

fn decode_cell(
    r: &mut ReadCursor<'_>,
    col_ty: PropertyType,
    flagged: bool,
    ctx: ValueContext,
) -> DecodeResult<RowValue> {
    let ty = if col_ty == PropertyType::UNSPECIFIED {
        read_wire_type(r)?
    } else {
        col_ty
    };
    if !flagged {
        return Ok(RowValue::Value(PropertyValue::decode(r, ty, ctx)?));
    }
    let at = r.offset();
    match r.u8("Flag")? {
        0x00 => Ok(RowValue::Value(PropertyValue::decode(r, ty, ctx)?)),
        0x01 => Ok(RowValue::NotFound(ty)),
        0x0A => Ok(RowValue::Error(ty, ErrorCode(r.u32("ErrorCode")?))),
        b => Err(DecodeError::invalid(
            "Flag",
            at,
            format!("0x{b:02X} is not 0x00, 0x01 or 0x0A"),
        )),
    }
}

fn encode_cell(
    w: &mut WriteCursor,
    col_ty: PropertyType,
    cell: &RowValue,
    flagged: bool,
    ctx: ValueContext,
) -> EncodeResult {
    let wire_ty = match cell {
        RowValue::Value(v) => v.ty(),
        RowValue::NotFound(t) | RowValue::Error(t, _) => *t,
    };
    if col_ty == PropertyType::UNSPECIFIED {
        w.u16(wire_ty.0);
    } else if wire_ty != col_ty {
        return Err(EncodeError::Invalid {
            structure: "PropertyRow",
            field: "value",
            detail: format!("value of type {wire_ty:?} in a {col_ty:?} column"),
        });
    }
    match cell {
        RowValue::Value(v) => {
            if flagged {
                w.u8(0x00);
            }
            v.encode(w, ctx)?;
        }
        RowValue::NotFound(_) => w.u8(0x01),
        RowValue::Error(_, e) => {
            w.u8(0x0A);
            w.u32(e.0);
        }
    }
    Ok(())
}

/// PropertyProblem (MS-OXCDATA 2.7): which property of a set/delete failed and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PropertyProblem {
    /// Index of the property in the request.
    pub index: u16,
    /// The property.
    pub tag: PropertyTag,
    /// The error.
    pub error: ErrorCode,
}

impl PropertyProblem {
    /// Decodes one problem (10 bytes: Index u16, PropertyTag u32, ErrorCode u32).
    pub fn decode(r: &mut ReadCursor<'_>) -> DecodeResult<Self> {
        (|| {
            Ok(Self {
                index: r.u16("Index")?,
                tag: PropertyTag::decode(r)?,
                error: ErrorCode(r.u32("ErrorCode")?),
            })
        })()
        .within("PropertyProblem")
    }

    /// Encodes one problem.
    pub fn encode(&self, w: &mut WriteCursor) {
        w.u16(self.index);
        self.tag.encode(w);
        w.u32(self.error.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rop_binary_count_is_16_bit_and_abk_is_32_bit_with_has_value() {
        let v = PropertyValue::Binary(vec![1, 2, 3]);
        let mut w = WriteCursor::new();
        v.encode(&mut w, ValueContext::Rop).unwrap();
        assert_eq!(w.as_slice(), &[3, 0, 1, 2, 3]);
        let mut w = WriteCursor::new();
        v.encode(&mut w, ValueContext::AddressBook).unwrap();
        assert_eq!(w.as_slice(), &[0xFF, 3, 0, 0, 0, 1, 2, 3]);
        for ctx in [ValueContext::Rop, ValueContext::AddressBook] {
            let mut w = WriteCursor::new();
            v.encode(&mut w, ctx).unwrap();
            let b = w.into_inner();
            let d = PropertyValue::decode(&mut ReadCursor::new(&b), PropertyType::BINARY, ctx);
            assert_eq!(d.unwrap(), v);
        }
    }

    #[test]
    fn flagged_row_with_unspecified_column() {
        let cols = [
            PropertyTag(0x0037_001F),
            PropertyTag(0x1000_0000),
            PropertyTag(0x0E08_0003),
        ];
        let row = PropertyRow {
            flagged: true,
            values: vec![
                RowValue::Value(PropertyValue::Unicode("Hi".into())),
                RowValue::Value(PropertyValue::Int32(7)),
                RowValue::Error(PropertyType::INT32, ErrorCode::NOT_FOUND),
            ],
        };
        let mut w = WriteCursor::new();
        row.encode(&mut w, &cols, ValueContext::Rop).unwrap();
        let b = w.into_inner();
        assert_eq!(
            b,
            [
                1, 0, b'H', 0, b'i', 0, 0, 0, // subject
                3, 0, 0, 7, 0, 0, 0, // typed, flag, value
                0x0A, 0x0F, 0x01, 0x04, 0x80 // error
            ]
        );
        let d = PropertyRow::decode(&mut ReadCursor::new(&b), &cols, ValueContext::Rop).unwrap();
        assert_eq!(d, row);
    }

    /// MS-OXCTABL 2.2.2.2.1: a MultivalueInstance column carries one base-type value per row.
    #[test]
    fn multivalue_instance_column_cells_are_single_values() {
        let cols = [PropertyTag(0x8001_301F)];
        let row = PropertyRow {
            flagged: false,
            values: vec![RowValue::Value(PropertyValue::Unicode("one".into()))],
        };
        let mut w = WriteCursor::new();
        row.encode(&mut w, &cols, ValueContext::Rop).unwrap();
        let b = w.into_inner();
        assert_eq!(b, [0, b'o', 0, b'n', 0, b'e', 0, 0, 0]);
        let d = PropertyRow::decode(&mut ReadCursor::new(&b), &cols, ValueContext::Rop).unwrap();
        assert_eq!(d, row);
    }

    #[test]
    fn hostile_mv_count_does_not_allocate() {
        let b = [0xFF, 0xFF, 0xFF, 0x7F];
        let e = PropertyValue::decode(
            &mut ReadCursor::new(&b),
            PropertyType::MV_INT64,
            ValueContext::Rop,
        )
        .unwrap_err();
        assert!(e.is_truncated());
    }
}
