//! Address book endpoint (NSPI) bodies (MS-OXCMAPIHTTP 2.2.5) and their shared structures
//! (MS-OXCMAPIHTTP 2.2.1, MS-OXNSPI 2.2).
//!
//! [MS-OXCMAPIHTTP 2.2.5 Request Types for Address Book Server Endpoint](https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-oxcmapihttp/)
//!
//! Conventions: optional fields sit behind a HasX byte (0x00 absent, 0xFF present; anything
//! else is rejected), counts are 32-bit, property values are AddressBookPropertyValues
//! ([`ValueContext::AddressBook`]: HasValue byte before strings, binaries and multi-values).

use crate::cursor::{Decode, Encode, ReadCursor, WriteCursor, count_u32};
use crate::data::prop::{PropertyRow, PropertyTag, TaggedPropertyValue, ValueContext};
use crate::error::{DecodeContext, DecodeError, DecodeResult, EncodeResult};
use crate::mapihttp::emsmdb::{write_ascii_z, write_utf16_z};

mod requests;
mod responses;

pub use requests::*;
pub use responses::*;

/// Ambiguous-name-resolution MIds (MS-OXNSPI 2.2.1.8 "Ambiguous Name Resolution Minimal Entry
/// IDs"): the name matched no object. (Cross-checked with the independent probe, which was
/// checked against a real server, and impacket's nspi.py.)
pub const MID_UNRESOLVED: u32 = 0x0000_0000;
/// MId: the name matched more than one object.
pub const MID_AMBIGUOUS: u32 = 0x0000_0001;
/// MId: the name resolved to exactly one object (a server may return the real MId instead).
pub const MID_RESOLVED: u32 = 0x0000_0002;

/// Retrieve Property Flags fSkipObjects (MS-OXNSPI 2.2.1.13): skip object-valued properties.
pub const F_SKIP_OBJECTS: u32 = 0x0000_0001;
/// Retrieve Property Flags fEphID: return ephemeral instead of permanent EntryIDs.
pub const F_EPH_ID: u32 = 0x0000_0002;
/// Bind Flags fAnonymousLogin (MS-OXNSPI 2.2.1.7).
pub const F_ANONYMOUS_LOGIN: u32 = 0x0000_0020;
/// GetSpecialTable Flags NspiAddressCreationTemplates (MS-OXNSPI 2.2.1.12).
pub const NSPI_ADDRESS_CREATION_TEMPLATES: u32 = 0x0000_0002;
/// GetSpecialTable Flags NspiUnicodeStrings.
pub const NSPI_UNICODE_STRINGS: u32 = 0x0000_0004;
/// QueryColumns Flags NspiUnicodeProptypes (MS-OXNSPI 2.2.1.14).
pub const NSPI_UNICODE_PROPTYPES: u32 = 0x8000_0000;

/// LargePropertyTagArray (MS-OXCMAPIHTTP 2.2.1.8): u32 count and 32-bit property tags.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LargePropertyTagArray(pub Vec<PropertyTag>);

impl Decode for LargePropertyTagArray {
    fn decode(r: &mut ReadCursor<'_>) -> DecodeResult<Self> {
        Ok(Self(
            read_u32_list(r, "PropertyTags")
                .within("LargePropertyTagArray")?
                .into_iter()
                .map(PropertyTag)
                .collect(),
        ))
    }
}

impl Encode for LargePropertyTagArray {
    fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        w.u32(count_u32(
            self.0.len(),
            "LargePropertyTagArray",
            "PropertyTagCount",
        )?);
        for t in &self.0 {
            t.encode(w);
        }
        Ok(())
    }
}

/// A MinimalEntryID list (MS-OXCMAPIHTTP 2.2.5: MinimalIdCount u32 + MinimalIds u32[]).
pub type MIdList = Vec<u32>;

/// Reads a u32 count followed by that many u32 values (MinimalIds, explicit tables).
pub(crate) fn read_u32_list(r: &mut ReadCursor<'_>, field: &'static str) -> DecodeResult<Vec<u32>> {
    let n = r.u32("Count")? as usize;
    check_count(r, n, 4, field)?;
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        v.push(r.u32(field)?);
    }
    Ok(v)
}

/// Writes a u32 count followed by the values.
pub(crate) fn write_u32_list(
    w: &mut WriteCursor,
    v: &[u32],
    structure: &'static str,
) -> EncodeResult {
    w.u32(count_u32(v.len(), structure, "Count")?);
    for x in v {
        w.u32(*x);
    }
    Ok(())
}

/// StringArray (MS-OXCMAPIHTTP 2.2.1.3): u32 count + NUL-terminated 8-bit strings.
pub(crate) fn read_string_array(r: &mut ReadCursor<'_>) -> DecodeResult<Vec<String>> {
    let n = r.u32("Count")? as usize;
    check_count(r, n, 1, "Strings")?;
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        v.push(r.ascii_z("Strings")?);
    }
    Ok(v)
}

/// Writes a StringArray.
pub(crate) fn write_string_array(w: &mut WriteCursor, v: &[String]) -> EncodeResult {
    w.u32(count_u32(v.len(), "StringArray", "Count")?);
    for s in v {
        write_ascii_z(w, s, "StringArray", "Strings")?;
    }
    Ok(())
}

/// WStringArray (MS-OXCMAPIHTTP 2.2.1.4): u32 count + NUL-terminated UTF-16LE strings.
pub(crate) fn read_wstring_array(r: &mut ReadCursor<'_>) -> DecodeResult<Vec<String>> {
    let n = r.u32("Count")? as usize;
    check_count(r, n, 2, "Strings")?;
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        v.push(r.utf16_z("Strings")?);
    }
    Ok(v)
}

/// Writes a WStringArray.
pub(crate) fn write_wstring_array(w: &mut WriteCursor, v: &[String]) -> EncodeResult {
    w.u32(count_u32(v.len(), "WStringArray", "Count")?);
    for s in v {
        write_utf16_z(w, s, "WStringArray", "Strings")?;
    }
    Ok(())
}

/// AddressBookPropertyValueList (MS-OXCMAPIHTTP 2.2.1.2): u32 count + tagged values.
pub(crate) fn read_value_list(r: &mut ReadCursor<'_>) -> DecodeResult<Vec<TaggedPropertyValue>> {
    (|| {
        let n = r.u32("PropertyValueCount")? as usize;
        check_count(r, n, 4, "PropertyValues")?;
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            v.push(TaggedPropertyValue::decode(r, ValueContext::AddressBook)?);
        }
        Ok(v)
    })()
    .within("AddressBookPropertyValueList")
}

/// Writes an AddressBookPropertyValueList.
pub(crate) fn write_value_list(w: &mut WriteCursor, v: &[TaggedPropertyValue]) -> EncodeResult {
    w.u32(count_u32(
        v.len(),
        "AddressBookPropertyValueList",
        "PropertyValueCount",
    )?);
    for t in v {
        t.encode(w, ValueContext::AddressBook)?;
    }
    Ok(())
}

/// The Columns + RowCount + RowData group of QueryRows, ResolveNames, GetMatches and
/// SeekEntries responses (AddressBookPropertyRow, MS-OXCMAPIHTTP 2.2.1.7).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ColumnsAndRows {
    /// Columns: the property tags of every row.
    pub columns: LargePropertyTagArray,
    /// RowData: one AddressBookPropertyRow per row, laid out by `columns`.
    pub rows: Vec<PropertyRow>,
}

impl Decode for ColumnsAndRows {
    fn decode(r: &mut ReadCursor<'_>) -> DecodeResult<Self> {
        let columns = LargePropertyTagArray::decode(r)?;
        let n = r.u32("RowCount")? as usize;
        check_count(r, n, 1, "RowData")?;
        let mut rows = Vec::with_capacity(n);
        for _ in 0..n {
            rows.push(PropertyRow::decode(
                r,
                &columns.0,
                ValueContext::AddressBook,
            )?);
        }
        Ok(Self { columns, rows })
    }
}

impl Encode for ColumnsAndRows {
    fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        self.columns.encode(w)?;
        w.u32(count_u32(self.rows.len(), "ColumnsAndRows", "RowCount")?);
        for row in &self.rows {
            row.encode(w, &self.columns.0, ValueContext::AddressBook)?;
        }
        Ok(())
    }
}

/// A named property to open as a table in GetMatches (PropertyNameGuid + PropertyNameId).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PropertyName {
    /// PropertyNameGuid, wire byte order.
    pub guid: [u8; 16],
    /// PropertyNameId.
    pub id: u32,
}

impl Decode for PropertyName {
    fn decode(r: &mut ReadCursor<'_>) -> DecodeResult<Self> {
        Ok(Self {
            guid: r.guid("PropertyNameGuid")?,
            id: r.u32("PropertyNameId")?,
        })
    }
}

impl Encode for PropertyName {
    fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        w.bytes(&self.guid);
        w.u32(self.id);
        Ok(())
    }
}

/// Rejects a count whose elements (at least `min_size` bytes each) cannot fit in what is
/// left, before allocating.
pub(crate) fn check_count(
    r: &ReadCursor<'_>,
    count: usize,
    min_size: usize,
    field: &'static str,
) -> DecodeResult<()> {
    let needed = count.saturating_mul(min_size);
    if needed > r.remaining() {
        Err(DecodeError::truncated(
            field,
            r.offset(),
            needed,
            r.remaining(),
        ))
    } else {
        Ok(())
    }
}
