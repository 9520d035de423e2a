//! Pieces of the NSPI request/response bodies over MAPI/HTTP (MS-OXCMAPIHTTP 2.2.5, 2.2.1):
//! STAT, presence bytes, LargePropertyTagArray, (W)StringArray, AddressBookPropertyRow.

use oxmapi_wire::data::{PropertyRow, PropertyTag, RowValue, ValueContext};
use oxmapi_wire::{DecodeError, DecodeResult, EncodeResult, ReadCursor, WriteCursor};

/// MS-OXNSPI 2.2.8 STAT: 9 × 32-bit fields (36 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Stat {
    pub(crate) sort_type: u32,
    pub(crate) container_id: u32,
    pub(crate) current_rec: u32,
    pub(crate) delta: i32,
    pub(crate) num_pos: u32,
    pub(crate) total_recs: u32,
    pub(crate) code_page: u32,
    pub(crate) template_locale: u32,
    pub(crate) sort_locale: u32,
}

impl Stat {
    pub(crate) fn decode(r: &mut ReadCursor<'_>) -> DecodeResult<Self> {
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
    }

    pub(crate) fn encode(&self, w: &mut WriteCursor) {
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
}

/// A presence byte: 0x00 absent, 0xFF present (anything else is invalid).
pub(crate) fn present(r: &mut ReadCursor<'_>, field: &'static str) -> DecodeResult<bool> {
    let at = r.offset();
    match r.u8(field)? {
        0x00 => Ok(false),
        0xFF => Ok(true),
        b => Err(DecodeError::invalid(
            field,
            at,
            format!("0x{b:02X} is neither 0x00 nor 0xFF"),
        )),
    }
}

/// An optional structure behind a presence byte.
pub(crate) fn optional<T>(
    r: &mut ReadCursor<'_>,
    field: &'static str,
    f: impl FnOnce(&mut ReadCursor<'_>) -> DecodeResult<T>,
) -> DecodeResult<Option<T>> {
    if present(r, field)? {
        f(r).map(Some)
    } else {
        Ok(None)
    }
}

/// A u32 count whose items take at least `item` bytes each (checked before allocating).
fn count(r: &mut ReadCursor<'_>, field: &'static str, item: usize) -> DecodeResult<usize> {
    let n = r.u32(field)? as usize;
    r.ensure(n.saturating_mul(item), field)?;
    Ok(n)
}

/// LargePropertyTagArray (MS-OXCMAPIHTTP 2.2.1.8): u32 count + tags.
pub(crate) fn tag_array(r: &mut ReadCursor<'_>) -> DecodeResult<Vec<PropertyTag>> {
    let n = count(r, "PropertyTagCount", 4)?;
    (0..n).map(|_| PropertyTag::decode(r)).collect()
}

pub(crate) fn write_tag_array(w: &mut WriteCursor, tags: &[PropertyTag]) {
    w.u32(u32::try_from(tags.len()).unwrap_or(u32::MAX));
    for t in tags {
        t.encode(w);
    }
}

/// u32 count + u32 values (MinimalIds, ExplicitTable).
pub(crate) fn u32_array(r: &mut ReadCursor<'_>, field: &'static str) -> DecodeResult<Vec<u32>> {
    let n = count(r, field, 4)?;
    (0..n).map(|_| r.u32(field)).collect()
}

pub(crate) fn write_u32_array(w: &mut WriteCursor, v: &[u32]) {
    w.u32(u32::try_from(v.len()).unwrap_or(u32::MAX));
    for x in v {
        w.u32(*x);
    }
}

/// StringArray (MS-OXCMAPIHTTP 2.2.1.? ): u32 count + ASCII NUL-terminated strings.
pub(crate) fn string_array(r: &mut ReadCursor<'_>) -> DecodeResult<Vec<String>> {
    let n = count(r, "StringCount", 1)?;
    (0..n).map(|_| r.ascii_z("String")).collect()
}

/// WStringArray: u32 count + UTF-16LE NUL-terminated strings.
pub(crate) fn wstring_array(r: &mut ReadCursor<'_>) -> DecodeResult<Vec<String>> {
    let n = count(r, "StringCount", 2)?;
    (0..n).map(|_| r.utf16_z("String")).collect()
}

/// Columns + RowCount + AddressBookPropertyRows (MS-OXCMAPIHTTP 2.2.1.7).
pub(crate) fn write_rows(
    w: &mut WriteCursor,
    columns: &[PropertyTag],
    rows: &[Vec<RowValue>],
) -> EncodeResult {
    write_tag_array(w, columns);
    w.u32(u32::try_from(rows.len()).unwrap_or(u32::MAX));
    for values in rows {
        PropertyRow::from_values(values.clone()).encode(w, columns, ValueContext::AddressBook)?;
    }
    Ok(())
}
