//! NDR forms of the NSPI structures: [MS-NSPI 2.2.2](https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-nspi/)
//! (STAT, PropertyTagArray_r, StringsArray_r, WStringsArray_r, PropertyValue_r with
//! PROP_VAL_UNION, PropertyRow_r, PropertyRowSet_r, PropertyName_r) as laid out by the IDL of
//! MS-NSPI 6 (`pointer_default(unique)`).
//!
//! Embedded pointers defer their pointees (C706 14.3.12.3): each structure is written in two
//! passes, its flat part and then, in order, the pointees of its pointers. Property values use
//! the shared [`PropertyValue`] type; PROP_VAL_UNION has arms only for Int16, Int32, Boolean,
//! String8, Unicode, Binary, Guid, Time, ErrorCode, their multi-valued forms (no MV Boolean or
//! MV ErrorCode) and Null/EmbeddedTable. Other types (Int64, floats, ...) cannot be sent over
//! NSPI and fail to encode.
//!
//! Restriction_r (MS-NSPI 2.2.2.5 ff., the `RestrictionUnion_r` of the IDL) is read into and
//! written from the shared [`Restriction`] type; see [`write_restriction`].

use super::ndr::{NdrReader, NdrWriter};
use super::uuid::Uuid;
use crate::data::restriction::{BitmapRelOp, MAX_DEPTH, RelOp, Restriction, restrict_type};
use crate::data::{ErrorCode, PropertyTag, PropertyType, PropertyValue, TaggedPropertyValue};
use crate::error::{DecodeContext, DecodeError, DecodeResult, EncodeError, EncodeResult};

/// MS-NSPI 2.2.8 STAT: the one STAT type of the crate, shared with MAPI/HTTP
/// ([`crate::mapihttp::stat::Stat`]); its NDR form (nine 4-byte fields, no pointers) is
/// written and read here.
pub use crate::mapihttp::stat::Stat;

impl Stat {
    /// Nine 4-byte fields (the NDR name of [`Stat::FIXED_PART_SIZE`]).
    pub const SIZE: usize = Self::FIXED_PART_SIZE;

    /// Writes the structure (NDR, MS-NSPI 2.2.8).
    pub fn write(&self, w: &mut NdrWriter) {
        w.u32(self.sort_type);
        w.u32(self.container_id);
        w.u32(self.current_rec);
        w.i32(self.delta);
        w.u32(self.num_pos);
        w.u32(self.total_recs);
        w.u32(self.code_page);
        w.u32(self.template_locale);
        w.u32(self.sort_locale);
    }

    /// Reads the structure (NDR, MS-NSPI 2.2.8).
    pub fn read(r: &mut NdrReader<'_>) -> DecodeResult<Self> {
        (|| {
            Ok(Self {
                sort_type: r.u32("SortType")?,
                container_id: r.u32("ContainerID")?,
                current_rec: r.u32("CurrentRec")?,
                delta: r.i32("Delta")?,
                num_pos: r.u32("NumPos")?,
                total_recs: r.u32("TotalRecs")?,
                code_page: r.u32("CodePage")?,
                template_locale: r.u32("TemplateLocale")?,
                sort_locale: r.u32("SortLocale")?,
            })
        })()
        .within("STAT")
    }
}

/// MS-NSPI 2.2.2.1 PropertyTagArray_r pointee (also used for MId arrays): MaxCount
/// (cValues + 1), cValues, Offset 0, ActualCount (cValues), values.
pub fn write_u32_array(w: &mut NdrWriter, values: &[u32]) -> EncodeResult {
    w.count(values.len() + 1, "PropertyTagArray_r", "MaxCount")?;
    w.count(values.len(), "PropertyTagArray_r", "cValues")?;
    w.u32(0);
    w.count(values.len(), "PropertyTagArray_r", "ActualCount")?;
    for v in values {
        w.u32(*v);
    }
    Ok(())
}

/// Reads a PropertyTagArray_r pointee.
pub fn read_u32_array(r: &mut NdrReader<'_>) -> DecodeResult<Vec<u32>> {
    (|| {
        let max = usize::try_from(r.u32("MaxCount")?).unwrap_or(usize::MAX);
        let at = r.offset();
        let c = r.u32("cValues")?;
        let n = r.variance(max, 4, "ActualCount")?;
        if usize::try_from(c).ok() != Some(n) {
            return Err(DecodeError::invalid(
                "cValues",
                at,
                "differs from ActualCount",
            ));
        }
        (0..n).map(|_| r.u32("aulPropTag")).collect()
    })()
    .within("PropertyTagArray_r")
}

/// Writes a `[unique] PropertyTagArray_r*` (referent + pointee, or null).
pub fn write_opt_tags(w: &mut NdrWriter, tags: Option<&[PropertyTag]>) -> EncodeResult {
    if let Some(t) = tags {
        w.referent();
        write_u32_array(w, &t.iter().map(|t| t.0).collect::<Vec<_>>())?;
    } else {
        w.null();
    }
    Ok(())
}

/// Reads a `[unique] PropertyTagArray_r*`.
pub fn read_opt_tags(
    r: &mut NdrReader<'_>,
    field: &'static str,
) -> DecodeResult<Option<Vec<PropertyTag>>> {
    Ok(read_opt_u32_array(r, field)?.map(|v| v.into_iter().map(PropertyTag).collect()))
}

/// Writes a pointer to a PropertyTagArray_r of MIds (or null).
pub fn write_opt_u32_array(w: &mut NdrWriter, values: Option<&[u32]>) -> EncodeResult {
    if let Some(v) = values {
        w.referent();
        write_u32_array(w, v)?;
    } else {
        w.null();
    }
    Ok(())
}

/// Reads a pointer to a PropertyTagArray_r of MIds.
pub fn read_opt_u32_array(
    r: &mut NdrReader<'_>,
    field: &'static str,
) -> DecodeResult<Option<Vec<u32>>> {
    if r.pointer(field)? {
        Ok(Some(read_u32_array(r)?))
    } else {
        Ok(None)
    }
}

/// MS-NSPI 2.2.2.13 StringsArray_r (8-bit) or 2.2.2.14 WStringsArray_r (UTF-16), inline:
/// MaxCount, Count, Count unique pointers, then the strings. Null entries are `None`.
pub fn write_strings_a(w: &mut NdrWriter, strings: &[Option<Vec<u8>>]) -> EncodeResult {
    w.count(strings.len(), "StringsArray_r", "MaxCount")?;
    w.count(strings.len(), "StringsArray_r", "Count")?;
    for s in strings {
        w.pointer(s.is_some());
    }
    for s in strings.iter().flatten() {
        w.string_a(s, "Strings")?;
    }
    Ok(())
}

/// Reads a StringsArray_r.
pub fn read_strings_a(r: &mut NdrReader<'_>) -> DecodeResult<Vec<Option<Vec<u8>>>> {
    (|| {
        let present = read_string_ptrs(r)?;
        present
            .into_iter()
            .map(|p| {
                if p {
                    r.string_a("Strings").map(Some)
                } else {
                    Ok(None)
                }
            })
            .collect::<DecodeResult<Vec<_>>>()
    })()
    .within("StringsArray_r")
}

/// Writes a WStringsArray_r.
pub fn write_strings_w(w: &mut NdrWriter, strings: &[Option<String>]) -> EncodeResult {
    w.count(strings.len(), "WStringsArray_r", "MaxCount")?;
    w.count(strings.len(), "WStringsArray_r", "Count")?;
    for s in strings {
        w.pointer(s.is_some());
    }
    for s in strings.iter().flatten() {
        w.string_w(s, "Strings")?;
    }
    Ok(())
}

/// Reads a WStringsArray_r.
pub fn read_strings_w(r: &mut NdrReader<'_>) -> DecodeResult<Vec<Option<String>>> {
    (|| {
        let present = read_string_ptrs(r)?;
        present
            .into_iter()
            .map(|p| {
                if p {
                    r.string_w("Strings").map(Some)
                } else {
                    Ok(None)
                }
            })
            .collect::<DecodeResult<Vec<_>>>()
    })()
    .within("WStringsArray_r")
}

fn read_string_ptrs(r: &mut NdrReader<'_>) -> DecodeResult<Vec<bool>> {
    let max = r.count(4, "MaxCount")?;
    let at = r.offset();
    let n = r.count(4, "Count")?;
    if n != max {
        return Err(DecodeError::invalid("Count", at, "differs from MaxCount"));
    }
    (0..n).map(|_| r.pointer("Strings")).collect()
}

/// MS-NSPI 2.2.2.10 PropertyName_r: a named property (GUID pointer, reserved, LID).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PropertyNameR {
    /// lpguid (null: `None`).
    pub guid: Option<Uuid>,
    /// ulReserved.
    pub reserved: u32,
    /// lID.
    pub id: i32,
}

impl PropertyNameR {
    /// Writes the structure and then its deferred GUID.
    pub fn write(&self, w: &mut NdrWriter) {
        w.pointer(self.guid.is_some());
        w.u32(self.reserved);
        w.i32(self.id);
        if let Some(g) = &self.guid {
            w.bytes(&g.0);
        }
    }

    /// Reads the structure and its deferred GUID.
    pub fn read(r: &mut NdrReader<'_>) -> DecodeResult<Self> {
        (|| {
            let has = r.pointer("lpguid")?;
            let reserved = r.u32("ulReserved")?;
            let id = r.i32("lID")?;
            let guid = if has {
                Some(Uuid(read_guid_bytes(r)?))
            } else {
                None
            };
            Ok(Self { guid, reserved, id })
        })()
        .within("PropertyName_r")
    }
}

/// MS-NSPI 2.2.2.8 PropertyRow_r: Reserved and the values of one row.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PropertyRowR {
    /// Reserved.
    pub reserved: u32,
    /// lpProps (cValues is the length).
    pub values: Vec<TaggedPropertyValue>,
}

impl PropertyRowR {
    /// A row from its values.
    pub fn new(values: Vec<TaggedPropertyValue>) -> Self {
        Self {
            reserved: 0,
            values,
        }
    }

    fn write_flat(&self, w: &mut NdrWriter) -> EncodeResult {
        w.u32(self.reserved);
        w.count(self.values.len(), "PropertyRow_r", "cValues")?;
        w.referent();
        Ok(())
    }

    fn write_deferred(&self, w: &mut NdrWriter) -> EncodeResult {
        w.count(self.values.len(), "PropertyRow_r", "MaxCount")?;
        for v in &self.values {
            write_value_flat(w, v)?;
        }
        for v in &self.values {
            write_value_deferred(w, v)?;
        }
        Ok(())
    }

    /// Writes a pointer to a row (`PropertyRow_r**` out parameter), or null.
    pub fn write_opt(w: &mut NdrWriter, row: Option<&Self>) -> EncodeResult {
        if let Some(row) = row {
            w.referent();
            row.write_flat(w)?;
            row.write_deferred(w)?;
        } else {
            w.null();
        }
        Ok(())
    }

    /// Reads a pointer to a row.
    pub fn read_opt(r: &mut NdrReader<'_>, field: &'static str) -> DecodeResult<Option<Self>> {
        if !r.pointer(field)? {
            return Ok(None);
        }
        let flat = read_row_flat(r).within("PropertyRow_r")?;
        Ok(Some(read_row_deferred(r, flat).within("PropertyRow_r")?))
    }
}

/// Writes a `PropertyRowSet_r**` out parameter: referent, MaxCount, cRows, the rows' flat
/// parts, then each row's values (MS-NSPI 2.2.2.9). `None` writes a null pointer.
pub fn write_opt_row_set(w: &mut NdrWriter, rows: Option<&[PropertyRowR]>) -> EncodeResult {
    let Some(rows) = rows else {
        w.null();
        return Ok(());
    };
    w.referent();
    w.count(rows.len(), "PropertyRowSet_r", "MaxCount")?;
    w.count(rows.len(), "PropertyRowSet_r", "cRows")?;
    for row in rows {
        row.write_flat(w)?;
    }
    for row in rows {
        row.write_deferred(w)?;
    }
    Ok(())
}

/// Reads a `PropertyRowSet_r**` out parameter.
pub fn read_opt_row_set(
    r: &mut NdrReader<'_>,
    field: &'static str,
) -> DecodeResult<Option<Vec<PropertyRowR>>> {
    if !r.pointer(field)? {
        return Ok(None);
    }
    (|| {
        let max = r.count(12, "MaxCount")?;
        let at = r.offset();
        let n = r.u32("cRows")?;
        if usize::try_from(n).ok() != Some(max) {
            return Err(DecodeError::invalid("cRows", at, "differs from MaxCount"));
        }
        let flats = (0..max)
            .map(|_| read_row_flat(r))
            .collect::<DecodeResult<Vec<_>>>()?;
        flats
            .into_iter()
            .map(|f| read_row_deferred(r, f))
            .collect::<DecodeResult<Vec<_>>>()
            .map(Some)
    })()
    .within("PropertyRowSet_r")
}

struct RowFlat {
    reserved: u32,
    count: u32,
    present: bool,
}

fn read_row_flat(r: &mut NdrReader<'_>) -> DecodeResult<RowFlat> {
    Ok(RowFlat {
        reserved: r.u32("Reserved")?,
        count: r.u32("cValues")?,
        present: r.pointer("lpProps")?,
    })
}

fn read_row_deferred(r: &mut NdrReader<'_>, f: RowFlat) -> DecodeResult<PropertyRowR> {
    if !f.present {
        return Ok(PropertyRowR {
            reserved: f.reserved,
            values: Vec::new(),
        });
    }
    let at = r.offset();
    let max = r.count(12, "MaxCount")?;
    if usize::try_from(f.count).ok() != Some(max) {
        return Err(DecodeError::invalid("MaxCount", at, "differs from cValues"));
    }
    let flats = (0..max)
        .map(|_| read_value_flat(r))
        .collect::<DecodeResult<Vec<_>>>()
        .within("PropertyValue_r")?;
    let values = flats
        .into_iter()
        .map(|p| read_value_deferred(r, p))
        .collect::<DecodeResult<Vec<_>>>()
        .within("PropertyValue_r")?;
    Ok(PropertyRowR {
        reserved: f.reserved,
        values,
    })
}

/// Writes one PropertyValue_r flat part: ulPropTag, ulReserved, the union discriminant
/// (`ulPropTag & 0xFFFF`) and the arm; pointer arms write a referent.
fn write_value_flat(w: &mut NdrWriter, v: &TaggedPropertyValue) -> EncodeResult {
    w.u32(v.tag.0);
    w.u32(0);
    w.u32(v.tag.0 & 0xFFFF);
    match &v.value {
        PropertyValue::Int16(x) => w.u16(u16::from_le_bytes(x.to_le_bytes())),
        PropertyValue::Int32(x) => w.i32(*x),
        PropertyValue::Boolean(b) => w.u16(u16::from(*b)),
        PropertyValue::Error(e) => w.u32(e.0),
        PropertyValue::Time(t) => write_filetime(w, *t),
        PropertyValue::Null => w.u32(0),
        PropertyValue::String8(_) | PropertyValue::Unicode(_) | PropertyValue::Guid(_) => {
            w.referent();
        }
        PropertyValue::Binary(b) => {
            w.count(b.len(), "Binary_r", "cb")?;
            w.referent();
        }
        PropertyValue::MvInt16(x) => mv_header(w, x.len())?,
        PropertyValue::MvInt32(x) => mv_header(w, x.len())?,
        PropertyValue::MvTime(x) => mv_header(w, x.len())?,
        PropertyValue::MvString8(x) => mv_header(w, x.len())?,
        PropertyValue::MvUnicode(x) => mv_header(w, x.len())?,
        PropertyValue::MvBinary(x) => mv_header(w, x.len())?,
        PropertyValue::MvGuid(x) => mv_header(w, x.len())?,
        other => {
            return Err(EncodeError::Invalid {
                structure: "PropertyValue_r",
                field: "Value",
                detail: format!("{:?} has no PROP_VAL_UNION arm", other.ty()),
            });
        }
    }
    Ok(())
}

fn mv_header(w: &mut NdrWriter, n: usize) -> EncodeResult {
    w.count(n, "PropertyValue_r", "cValues")?;
    w.referent();
    Ok(())
}

fn write_filetime(w: &mut NdrWriter, t: u64) {
    w.u32((t & 0xFFFF_FFFF) as u32);
    w.u32((t >> 32) as u32);
}

fn write_value_deferred(w: &mut NdrWriter, v: &TaggedPropertyValue) -> EncodeResult {
    match &v.value {
        PropertyValue::String8(s) => w.string_a(s, "lpszA")?,
        PropertyValue::Unicode(s) => w.string_w(s, "lpszW")?,
        PropertyValue::Guid(g) => w.bytes(g),
        PropertyValue::Binary(b) => w.conformant_bytes(b, "lpb")?,
        PropertyValue::MvInt16(x) => {
            w.count(x.len(), "ShortArray_r", "MaxCount")?;
            for v in x {
                w.u16(u16::from_le_bytes(v.to_le_bytes()));
            }
        }
        PropertyValue::MvInt32(x) => {
            w.count(x.len(), "LongArray_r", "MaxCount")?;
            for v in x {
                w.i32(*v);
            }
        }
        PropertyValue::MvTime(x) => {
            w.count(x.len(), "DateTimeArray_r", "MaxCount")?;
            for v in x {
                write_filetime(w, *v);
            }
        }
        PropertyValue::MvString8(x) => {
            w.count(x.len(), "StringArray_r", "MaxCount")?;
            for _ in x {
                w.referent();
            }
            for s in x {
                w.string_a(s, "lppszA")?;
            }
        }
        PropertyValue::MvUnicode(x) => {
            w.count(x.len(), "WStringArray_r", "MaxCount")?;
            for _ in x {
                w.referent();
            }
            for s in x {
                w.string_w(s, "lppszW")?;
            }
        }
        PropertyValue::MvBinary(x) => {
            w.count(x.len(), "BinaryArray_r", "MaxCount")?;
            for b in x {
                w.count(b.len(), "Binary_r", "cb")?;
                w.referent();
            }
            for b in x {
                w.conformant_bytes(b, "lpb")?;
            }
        }
        PropertyValue::MvGuid(x) => {
            w.count(x.len(), "FlatUIDArray_r", "MaxCount")?;
            for _ in x {
                w.referent();
            }
            for g in x {
                w.bytes(g);
            }
        }
        _ => {}
    }
    Ok(())
}

/// A decoded flat part waiting for its deferred pointee.
enum Pending {
    Done(PropertyValue),
    /// A pointer arm: type, element count (or byte count for Binary), pointer present.
    Deferred(PropertyType, u32, bool),
}

fn read_value_flat(r: &mut NdrReader<'_>) -> DecodeResult<(PropertyTag, Pending)> {
    let tag = PropertyTag(r.u32("ulPropTag")?);
    r.u32("ulReserved")?;
    let at = r.offset();
    let disc = r.u32("discriminant")?;
    if disc != tag.0 & 0xFFFF {
        return Err(DecodeError::invalid(
            "discriminant",
            at,
            format!("{disc:#x} does not match the tag's type"),
        ));
    }
    let ty = tag.ty();
    let pending = match ty {
        PropertyType::INT16 => Pending::Done(PropertyValue::Int16(i16::from_le_bytes(
            r.u16("i")?.to_le_bytes(),
        ))),
        PropertyType::INT32 => Pending::Done(PropertyValue::Int32(r.i32("l")?)),
        PropertyType::BOOLEAN => Pending::Done(PropertyValue::Boolean(r.u16("b")? != 0)),
        PropertyType::ERROR => Pending::Done(PropertyValue::Error(ErrorCode(r.u32("err")?))),
        PropertyType::TIME => Pending::Done(PropertyValue::Time(read_filetime(r)?)),
        PropertyType::NULL | PropertyType::OBJECT => {
            r.u32("lReserved")?;
            Pending::Done(PropertyValue::Null)
        }
        PropertyType::STRING8 | PropertyType::UNICODE | PropertyType::GUID => {
            Pending::Deferred(ty, 0, r.pointer("pointer")?)
        }
        PropertyType::BINARY
        | PropertyType::MV_INT16
        | PropertyType::MV_INT32
        | PropertyType::MV_TIME
        | PropertyType::MV_STRING8
        | PropertyType::MV_UNICODE
        | PropertyType::MV_BINARY
        | PropertyType::MV_GUID => {
            let n = r.u32("cValues")?;
            Pending::Deferred(ty, n, r.pointer("pointer")?)
        }
        _ => {
            return Err(DecodeError::invalid(
                "discriminant",
                at,
                format!("{ty:?} has no PROP_VAL_UNION arm"),
            ));
        }
    };
    Ok((tag, pending))
}

fn read_filetime(r: &mut NdrReader<'_>) -> DecodeResult<u64> {
    let lo = r.u32("dwLowDateTime")?;
    let hi = r.u32("dwHighDateTime")?;
    Ok(u64::from(hi) << 32 | u64::from(lo))
}

fn read_guid_bytes(r: &mut NdrReader<'_>) -> DecodeResult<[u8; 16]> {
    let b = r.bytes(16, "FlatUID_r")?;
    let mut g = [0u8; 16];
    g.copy_from_slice(b);
    Ok(g)
}

/// Reads the MaxCount of a deferred array and checks it against the flat count.
fn read_max(r: &mut NdrReader<'_>, n: u32, elem: usize) -> DecodeResult<usize> {
    let at = r.offset();
    let max = r.count(elem, "MaxCount")?;
    if usize::try_from(n).ok() != Some(max) {
        return Err(DecodeError::invalid(
            "MaxCount",
            at,
            "differs from the count",
        ));
    }
    Ok(max)
}

fn read_value_deferred(
    r: &mut NdrReader<'_>,
    (tag, p): (PropertyTag, Pending),
) -> DecodeResult<TaggedPropertyValue> {
    let value = match p {
        Pending::Done(v) => v,
        Pending::Deferred(ty, _, false) => empty_value(ty),
        Pending::Deferred(ty, n, true) => match ty {
            PropertyType::STRING8 => PropertyValue::String8(r.string_a("lpszA")?),
            PropertyType::UNICODE => PropertyValue::Unicode(r.string_w("lpszW")?),
            PropertyType::GUID => PropertyValue::Guid(read_guid_bytes(r)?),
            PropertyType::BINARY => {
                let max = read_max(r, n, 1)?;
                PropertyValue::Binary(r.bytes(max, "lpb")?.to_vec())
            }
            PropertyType::MV_INT16 => {
                let max = read_max(r, n, 2)?;
                PropertyValue::MvInt16(
                    (0..max)
                        .map(|_| r.u16("lpi").map(|v| i16::from_le_bytes(v.to_le_bytes())))
                        .collect::<DecodeResult<_>>()?,
                )
            }
            PropertyType::MV_INT32 => {
                let max = read_max(r, n, 4)?;
                PropertyValue::MvInt32(
                    (0..max)
                        .map(|_| r.i32("lpl"))
                        .collect::<DecodeResult<_>>()?,
                )
            }
            PropertyType::MV_TIME => {
                let max = read_max(r, n, 8)?;
                PropertyValue::MvTime(
                    (0..max)
                        .map(|_| read_filetime(r))
                        .collect::<DecodeResult<_>>()?,
                )
            }
            PropertyType::MV_STRING8 => {
                let ptrs = read_ptrs(r, n)?;
                PropertyValue::MvString8(
                    ptrs.into_iter()
                        .map(|p| {
                            if p {
                                r.string_a("lppszA")
                            } else {
                                Ok(Vec::new())
                            }
                        })
                        .collect::<DecodeResult<_>>()?,
                )
            }
            PropertyType::MV_UNICODE => {
                let ptrs = read_ptrs(r, n)?;
                PropertyValue::MvUnicode(
                    ptrs.into_iter()
                        .map(|p| {
                            if p {
                                r.string_w("lppszW")
                            } else {
                                Ok(String::new())
                            }
                        })
                        .collect::<DecodeResult<_>>()?,
                )
            }
            PropertyType::MV_GUID => {
                let ptrs = read_ptrs(r, n)?;
                PropertyValue::MvGuid(
                    ptrs.into_iter()
                        .map(|p| if p { read_guid_bytes(r) } else { Ok([0; 16]) })
                        .collect::<DecodeResult<_>>()?,
                )
            }
            PropertyType::MV_BINARY => {
                let max = read_max(r, n, 8)?;
                let flats = (0..max)
                    .map(|_| Ok((r.u32("cb")?, r.pointer("lpb")?)))
                    .collect::<DecodeResult<Vec<_>>>()?;
                PropertyValue::MvBinary(
                    flats
                        .into_iter()
                        .map(|(cb, p)| {
                            if p {
                                let m = read_max(r, cb, 1)?;
                                Ok(r.bytes(m, "lpb")?.to_vec())
                            } else {
                                Ok(Vec::new())
                            }
                        })
                        .collect::<DecodeResult<_>>()?,
                )
            }
            _ => empty_value(ty),
        },
    };
    Ok(TaggedPropertyValue { tag, value })
}

fn read_ptrs(r: &mut NdrReader<'_>, n: u32) -> DecodeResult<Vec<bool>> {
    let max = read_max(r, n, 4)?;
    (0..max).map(|_| r.pointer("pointer")).collect()
}

/// The value of a pointer arm whose pointer was null (NSPI servers send no such values in
/// practice; an empty value keeps the row decodable).
fn empty_value(ty: PropertyType) -> PropertyValue {
    match ty {
        PropertyType::STRING8 => PropertyValue::String8(Vec::new()),
        PropertyType::UNICODE => PropertyValue::Unicode(String::new()),
        PropertyType::GUID => PropertyValue::Guid([0; 16]),
        PropertyType::BINARY => PropertyValue::Binary(Vec::new()),
        PropertyType::MV_INT16 => PropertyValue::MvInt16(Vec::new()),
        PropertyType::MV_INT32 => PropertyValue::MvInt32(Vec::new()),
        PropertyType::MV_TIME => PropertyValue::MvTime(Vec::new()),
        PropertyType::MV_STRING8 => PropertyValue::MvString8(Vec::new()),
        PropertyType::MV_UNICODE => PropertyValue::MvUnicode(Vec::new()),
        PropertyType::MV_GUID => PropertyValue::MvGuid(Vec::new()),
        PropertyType::MV_BINARY => PropertyValue::MvBinary(Vec::new()),
        _ => PropertyValue::Null,
    }
}

/// Writes a `[in, unique] Restriction_r*` (MS-NSPI 3.1.4.1.10 NspiGetMatches `Filter`):
/// a referent and the restriction, or a null pointer.
pub fn write_opt_restriction(w: &mut NdrWriter, res: Option<&Restriction>) -> EncodeResult {
    match res {
        Some(res) => {
            w.referent();
            write_restriction(w, res)
        }
        None => {
            w.null();
            Ok(())
        }
    }
}

/// Reads a `[unique] Restriction_r*`.
pub fn read_opt_restriction(
    r: &mut NdrReader<'_>,
    field: &'static str,
) -> DecodeResult<Option<Restriction>> {
    if r.pointer(field)? {
        Ok(Some(read_restriction(r)?))
    } else {
        Ok(None)
    }
}

/// MS-NSPI 2.2.2.5 Restriction_r: `rt`, then the `RestrictionUnion_r` arm it selects
/// (discriminant repeated, C706 14.3.8), then the deferred pointees of the arm (sub-restriction
/// arrays, `lpRes`, `lpProp`), depth first.
///
/// Mapping to [`Restriction`] (MS-OXCDATA 2.12): AndRestriction_r/OrRestriction_r (`cRes`,
/// `lpRes`; an empty list is a null `lpRes`), NotRestriction_r, ContentRestriction_r
/// (`ulFuzzyLevel` = FuzzyLevelLow | FuzzyLevelHigh << 16, `ulPropTag`, `lpProp`),
/// PropertyRestriction_r, ComparePropsRestriction_r, BitMaskRestriction_r,
/// SizeRestriction_r, ExistRestriction_r (both reserved fields 0) and SubRestriction_r.
/// Comment and Count restrictions have no arm and fail to encode; relational operators above
/// 0xFF, null `lpRes`/`lpProp` pointers and nesting deeper than [`MAX_DEPTH`] fail to decode.
pub fn write_restriction(w: &mut NdrWriter, res: &Restriction) -> EncodeResult {
    let depth = res.depth();
    if depth > MAX_DEPTH {
        return Err(EncodeError::TooLarge {
            structure: "Restriction_r",
            field: "nesting depth",
            value: depth,
            max: MAX_DEPTH,
        });
    }
    write_res_flat(w, res)?;
    write_res_deferred(w, res)
}

/// Reads a Restriction_r (see [`write_restriction`]).
pub fn read_restriction(r: &mut NdrReader<'_>) -> DecodeResult<Restriction> {
    (|| {
        let flat = read_res_flat(r)?;
        read_res_deferred(r, flat, 1)
    })()
    .within("Restriction_r")
}

fn write_res_flat(w: &mut NdrWriter, res: &Restriction) -> EncodeResult {
    let rt = u32::from(res.restrict_type());
    if matches!(res, Restriction::Comment { .. } | Restriction::Count { .. }) {
        return Err(EncodeError::Invalid {
            structure: "Restriction_r",
            field: "rt",
            detail: format!("restriction type 0x{rt:02X} has no RestrictionUnion_r arm"),
        });
    }
    w.u32(rt);
    w.u32(rt);
    match res {
        Restriction::And(v) | Restriction::Or(v) => {
            w.count(v.len(), "AndRestriction_r", "cRes")?;
            w.pointer(!v.is_empty());
        }
        Restriction::Not(_) => {
            w.referent();
        }
        Restriction::Content {
            fuzzy_level_low,
            fuzzy_level_high,
            tag,
            ..
        } => {
            w.u32(u32::from(*fuzzy_level_low) | u32::from(*fuzzy_level_high) << 16);
            w.u32(tag.0);
            w.referent();
        }
        Restriction::Property { relop, tag, .. } => {
            w.u32(u32::from(relop.0));
            w.u32(tag.0);
            w.referent();
        }
        Restriction::CompareProperties { relop, tag1, tag2 } => {
            w.u32(u32::from(relop.0));
            w.u32(tag1.0);
            w.u32(tag2.0);
        }
        Restriction::Bitmask { relop, tag, mask } => {
            w.u32(u32::from(relop.0));
            w.u32(tag.0);
            w.u32(*mask);
        }
        Restriction::Size { relop, tag, size } => {
            w.u32(u32::from(relop.0));
            w.u32(tag.0);
            w.u32(*size);
        }
        Restriction::Exist { tag } => {
            w.u32(0);
            w.u32(tag.0);
            w.u32(0);
        }
        Restriction::SubObject { subobject, .. } => {
            w.u32(subobject.0);
            w.referent();
        }
        Restriction::Comment { .. } | Restriction::Count { .. } => {}
    }
    Ok(())
}

fn write_res_deferred(w: &mut NdrWriter, res: &Restriction) -> EncodeResult {
    match res {
        Restriction::And(v) | Restriction::Or(v) if !v.is_empty() => {
            w.count(v.len(), "AndRestriction_r", "MaxCount")?;
            for c in v {
                write_res_flat(w, c)?;
            }
            for c in v {
                write_res_deferred(w, c)?;
            }
        }
        Restriction::Not(c) | Restriction::SubObject { restriction: c, .. } => {
            write_res_flat(w, c)?;
            write_res_deferred(w, c)?;
        }
        Restriction::Content { value, .. } | Restriction::Property { value, .. } => {
            write_value_flat(w, value)?;
            write_value_deferred(w, value)?;
        }
        _ => {}
    }
    Ok(())
}

/// The flat part of a Restriction_r whose pointees are still to come.
enum ResFlat {
    Done(Restriction),
    List {
        or: bool,
        count: u32,
        present: bool,
    },
    Not {
        present: bool,
    },
    Content {
        fuzzy: u32,
        tag: PropertyTag,
        present: bool,
    },
    Property {
        relop: RelOp,
        tag: PropertyTag,
        present: bool,
    },
    Sub {
        subobject: PropertyTag,
        present: bool,
    },
}

fn read_relop(r: &mut NdrReader<'_>, field: &'static str) -> DecodeResult<u8> {
    let at = r.offset();
    let v = r.u32(field)?;
    u8::try_from(v).map_err(|_| DecodeError::invalid(field, at, format!("{v:#x} is not a relop")))
}

fn read_res_flat(r: &mut NdrReader<'_>) -> DecodeResult<ResFlat> {
    let at = r.offset();
    let rt = r.u32("rt")?;
    let disc_at = r.offset();
    let disc = r.u32("discriminant")?;
    if disc != rt {
        return Err(DecodeError::invalid(
            "discriminant",
            disc_at,
            format!("{disc:#x} differs from rt {rt:#x}"),
        ));
    }
    let tag = |r: &mut NdrReader<'_>, f| r.u32(f).map(PropertyTag);
    Ok(match u8::try_from(rt).unwrap_or(u8::MAX) {
        t @ (restrict_type::AND | restrict_type::OR) => ResFlat::List {
            or: t == restrict_type::OR,
            count: r.u32("cRes")?,
            present: r.pointer("lpRes")?,
        },
        restrict_type::NOT => ResFlat::Not {
            present: r.pointer("lpRes")?,
        },
        restrict_type::CONTENT => ResFlat::Content {
            fuzzy: r.u32("ulFuzzyLevel")?,
            tag: tag(r, "ulPropTag")?,
            present: r.pointer("lpProp")?,
        },
        restrict_type::PROPERTY => ResFlat::Property {
            relop: RelOp(read_relop(r, "relop")?),
            tag: tag(r, "ulPropTag")?,
            present: r.pointer("lpProp")?,
        },
        restrict_type::COMPARE_PROPERTIES => ResFlat::Done(Restriction::CompareProperties {
            relop: RelOp(read_relop(r, "relop")?),
            tag1: tag(r, "ulPropTag1")?,
            tag2: tag(r, "ulPropTag2")?,
        }),
        restrict_type::BITMASK => ResFlat::Done(Restriction::Bitmask {
            relop: BitmapRelOp(read_relop(r, "relBMR")?),
            tag: tag(r, "ulPropTag")?,
            mask: r.u32("ulMask")?,
        }),
        restrict_type::SIZE => ResFlat::Done(Restriction::Size {
            relop: RelOp(read_relop(r, "relop")?),
            tag: tag(r, "ulPropTag")?,
            size: r.u32("cb")?,
        }),
        restrict_type::EXIST => {
            r.u32("ulReserved1")?;
            let t = tag(r, "ulPropTag")?;
            r.u32("ulReserved2")?;
            ResFlat::Done(Restriction::Exist { tag: t })
        }
        restrict_type::SUB_OBJECT => ResFlat::Sub {
            subobject: tag(r, "ulSubObject")?,
            present: r.pointer("lpRes")?,
        },
        _ => {
            return Err(DecodeError::invalid(
                "rt",
                at,
                format!("restriction type {rt:#x} has no RestrictionUnion_r arm"),
            ));
        }
    })
}

fn read_res_deferred(
    r: &mut NdrReader<'_>,
    flat: ResFlat,
    depth: usize,
) -> DecodeResult<Restriction> {
    let at = r.offset();
    if depth > MAX_DEPTH {
        return Err(DecodeError::invalid(
            "lpRes",
            at,
            format!("restrictions nested deeper than {MAX_DEPTH} levels"),
        ));
    }
    let required = |present: bool, field: &'static str| {
        if present {
            Ok(())
        } else {
            Err(DecodeError::invalid(field, at, "null pointer"))
        }
    };
    let child = |r: &mut NdrReader<'_>| -> DecodeResult<Box<Restriction>> {
        let f = read_res_flat(r)?;
        read_res_deferred(r, f, depth + 1).map(Box::new)
    };
    let value = |r: &mut NdrReader<'_>| -> DecodeResult<TaggedPropertyValue> {
        let f = read_value_flat(r)?;
        read_value_deferred(r, f).within("PropertyValue_r")
    };
    Ok(match flat {
        ResFlat::Done(res) => res,
        ResFlat::List { or, count, present } => {
            let children = if present {
                // A Restriction_r's flat part is at least 12 bytes (rt, discriminant, one u32).
                let max = read_max(r, count, 12)?;
                let flats = (0..max)
                    .map(|_| read_res_flat(r))
                    .collect::<DecodeResult<Vec<_>>>()?;
                flats
                    .into_iter()
                    .map(|f| read_res_deferred(r, f, depth + 1))
                    .collect::<DecodeResult<Vec<_>>>()?
            } else if count == 0 {
                Vec::new()
            } else {
                return Err(DecodeError::invalid(
                    "lpRes",
                    at,
                    "null pointer with cRes > 0",
                ));
            };
            if or {
                Restriction::Or(children)
            } else {
                Restriction::And(children)
            }
        }
        ResFlat::Not { present } => {
            required(present, "lpRes")?;
            Restriction::Not(child(r)?)
        }
        ResFlat::Sub { subobject, present } => {
            required(present, "lpRes")?;
            Restriction::SubObject {
                subobject,
                restriction: child(r)?,
            }
        }
        ResFlat::Content {
            fuzzy,
            tag,
            present,
        } => {
            required(present, "lpProp")?;
            Restriction::Content {
                fuzzy_level_low: (fuzzy & 0xFFFF) as u16,
                fuzzy_level_high: (fuzzy >> 16) as u16,
                tag,
                value: value(r)?,
            }
        }
        ResFlat::Property {
            relop,
            tag,
            present,
        } => {
            required(present, "lpProp")?;
            Restriction::Property {
                relop,
                tag,
                value: value(r)?,
            }
        }
    })
}
