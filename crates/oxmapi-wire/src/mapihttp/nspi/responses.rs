//! Address book response bodies (MS-OXCMAPIHTTP 2.2.5.x.2): the fields after a zero
//! StatusCode, wrapped in [`Response`] for the failure form.

use super::{
    ColumnsAndRows, LargePropertyTagArray, MIdList, read_u32_list, read_value_list, write_u32_list,
    write_value_list,
};
use crate::cursor::{Decode, Encode, ReadCursor, WriteCursor, count_u32};
use crate::data::prop::TaggedPropertyValue;
use crate::error::{DecodeResult, EncodeResult};
use crate::mapihttp::emsmdb::write_utf16_z;
use crate::mapihttp::stat::Stat;
use crate::mapihttp::{Response, ResponseBody, read_aux, read_opt, write_aux, write_opt};

/// Implements [`ResponseBody`] and a `Response<…>` alias.
macro_rules! body {
    ($ty:ident, $alias:ident, $name:literal, |$r:ident| $dec:expr, |$s:ident, $w:ident| $enc:expr) => {
        impl ResponseBody for $ty {
            const NAME: &'static str = $name;

            fn decode_body($r: &mut ReadCursor<'_>) -> DecodeResult<Self> {
                Ok($dec)
            }

            fn encode_body(&self, $w: &mut WriteCursor) -> EncodeResult {
                let $s = self;
                $enc
            }
        }

        #[doc = concat!("The ", $name, " body (success or failure form).")]
        pub type $alias = Response<$ty>;
    };
}

fn stat(r: &mut ReadCursor<'_>) -> DecodeResult<Option<Stat>> {
    read_opt(r, "HasState", Stat::decode)
}

fn put_stat(w: &mut WriteCursor, s: Option<&Stat>) -> EncodeResult {
    write_opt(w, s, |w, s| s.encode(w))
}

fn mids(r: &mut ReadCursor<'_>) -> DecodeResult<Option<MIdList>> {
    read_opt(r, "HasMinimalIds", |r| read_u32_list(r, "MinimalIds"))
}

fn put_mids(w: &mut WriteCursor, m: Option<&MIdList>) -> EncodeResult {
    write_opt(w, m, |w, m| write_u32_list(w, m, "MinimalIds"))
}

fn cols_rows(r: &mut ReadCursor<'_>) -> DecodeResult<Option<ColumnsAndRows>> {
    read_opt(r, "HasColumnsAndRows", ColumnsAndRows::decode)
}

fn put_cols_rows(w: &mut WriteCursor, c: Option<&ColumnsAndRows>) -> EncodeResult {
    write_opt(w, c, |w, c| c.encode(w))
}

fn tags(
    r: &mut ReadCursor<'_>,
    field: &'static str,
) -> DecodeResult<Option<LargePropertyTagArray>> {
    read_opt(r, field, LargePropertyTagArray::decode)
}

fn put_tags(w: &mut WriteCursor, t: Option<&LargePropertyTagArray>) -> EncodeResult {
    write_opt(w, t, |w, t| t.encode(w))
}

/// Success body with only ErrorCode and the auxiliary buffer (Unbind, ModProps, ModLinkAtt).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UnbindSuccess {
    /// ErrorCode.
    pub error_code: u32,
    /// AuxiliaryBuffer (opaque).
    pub aux: Vec<u8>,
}

body!(
    UnbindSuccess,
    UnbindResponse,
    "UnbindResponse",
    |r| UnbindSuccess {
        error_code: r.u32("ErrorCode")?,
        aux: read_aux(r)?,
    },
    |s, w| {
        w.u32(s.error_code);
        write_aux(w, &s.aux, "UnbindResponse")
    }
);

/// Bind response fields (MS-OXCMAPIHTTP 2.2.5.1.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BindSuccess {
    /// ErrorCode.
    pub error_code: u32,
    /// ServerGuid, wire byte order.
    pub server_guid: [u8; 16],
    /// AuxiliaryBuffer (opaque).
    pub aux: Vec<u8>,
}

body!(
    BindSuccess,
    BindResponse,
    "BindResponse",
    |r| BindSuccess {
        error_code: r.u32("ErrorCode")?,
        server_guid: r.guid("ServerGuid")?,
        aux: read_aux(r)?,
    },
    |s, w| {
        w.u32(s.error_code);
        w.bytes(&s.server_guid);
        write_aux(w, &s.aux, "BindResponse")
    }
);

/// CompareMIds response fields (MS-OXCMAPIHTTP 2.2.5.3.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CompareMIdsSuccess {
    /// ErrorCode.
    pub error_code: u32,
    /// Result: negative, zero or positive as MinimalId1 sorts before, with or after MinimalId2.
    pub result: i32,
    /// AuxiliaryBuffer (opaque).
    pub aux: Vec<u8>,
}

body!(
    CompareMIdsSuccess,
    CompareMIdsResponse,
    "CompareMIdsResponse",
    |r| CompareMIdsSuccess {
        error_code: r.u32("ErrorCode")?,
        result: r.i32("Result")?,
        aux: read_aux(r)?,
    },
    |s, w| {
        w.u32(s.error_code);
        w.i32(s.result);
        write_aux(w, &s.aux, "CompareMIdsResponse")
    }
);

/// DNToMId response fields (MS-OXCMAPIHTTP 2.2.5.4.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DnToMIdSuccess {
    /// ErrorCode.
    pub error_code: u32,
    /// MinimalIds (HasMinimalIds), one per requested name (0 when not found).
    pub minimal_ids: Option<MIdList>,
    /// AuxiliaryBuffer (opaque).
    pub aux: Vec<u8>,
}

body!(
    DnToMIdSuccess,
    DnToMIdResponse,
    "DNToMIdResponse",
    |r| DnToMIdSuccess {
        error_code: r.u32("ErrorCode")?,
        minimal_ids: mids(r)?,
        aux: read_aux(r)?,
    },
    |s, w| {
        w.u32(s.error_code);
        put_mids(w, s.minimal_ids.as_ref())?;
        write_aux(w, &s.aux, "DNToMIdResponse")
    }
);

/// GetMatches response fields (MS-OXCMAPIHTTP 2.2.5.5.2).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GetMatchesSuccess {
    /// ErrorCode.
    pub error_code: u32,
    /// State (HasState).
    pub state: Option<Stat>,
    /// MinimalIds (HasMinimalIds).
    pub minimal_ids: Option<MIdList>,
    /// Columns and rows (HasColumnsAndRows).
    pub columns_and_rows: Option<ColumnsAndRows>,
    /// AuxiliaryBuffer (opaque).
    pub aux: Vec<u8>,
}

body!(
    GetMatchesSuccess,
    GetMatchesResponse,
    "GetMatchesResponse",
    |r| GetMatchesSuccess {
        error_code: r.u32("ErrorCode")?,
        state: stat(r)?,
        minimal_ids: mids(r)?,
        columns_and_rows: cols_rows(r)?,
        aux: read_aux(r)?,
    },
    |s, w| {
        w.u32(s.error_code);
        put_stat(w, s.state.as_ref())?;
        put_mids(w, s.minimal_ids.as_ref())?;
        put_cols_rows(w, s.columns_and_rows.as_ref())?;
        write_aux(w, &s.aux, "GetMatchesResponse")
    }
);

/// GetPropList (2.2.5.6.2) and QueryColumns (2.2.5.12.2) response fields.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PropListSuccess {
    /// ErrorCode.
    pub error_code: u32,
    /// PropertyTags / Columns (HasPropertyTags / HasColumns).
    pub property_tags: Option<LargePropertyTagArray>,
    /// AuxiliaryBuffer (opaque).
    pub aux: Vec<u8>,
}

body!(
    PropListSuccess,
    GetPropListResponse,
    "GetPropListResponse",
    |r| PropListSuccess {
        error_code: r.u32("ErrorCode")?,
        property_tags: tags(r, "HasPropertyTags")?,
        aux: read_aux(r)?,
    },
    |s, w| {
        w.u32(s.error_code);
        put_tags(w, s.property_tags.as_ref())?;
        write_aux(w, &s.aux, "GetPropListResponse")
    }
);

/// QueryColumns response body: same layout as GetPropList's.
pub type QueryColumnsResponse = Response<PropListSuccess>;

/// GetProps response fields (MS-OXCMAPIHTTP 2.2.5.7.2).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GetPropsSuccess {
    /// ErrorCode (ecWarnWithErrors 0x00040380 when some properties failed).
    pub error_code: u32,
    /// CodePage.
    pub code_page: u32,
    /// PropertyValues (HasPropertyValues + AddressBookPropertyValueList).
    pub property_values: Option<Vec<TaggedPropertyValue>>,
    /// AuxiliaryBuffer (opaque).
    pub aux: Vec<u8>,
}

body!(
    GetPropsSuccess,
    GetPropsResponse,
    "GetPropsResponse",
    |r| GetPropsSuccess {
        error_code: r.u32("ErrorCode")?,
        code_page: r.u32("CodePage")?,
        property_values: read_opt(r, "HasPropertyValues", read_value_list)?,
        aux: read_aux(r)?,
    },
    |s, w| {
        w.u32(s.error_code);
        w.u32(s.code_page);
        write_opt(w, s.property_values.as_ref(), |w, v| write_value_list(w, v))?;
        write_aux(w, &s.aux, "GetPropsResponse")
    }
);

/// GetSpecialTable response fields (MS-OXCMAPIHTTP 2.2.5.8.2).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GetSpecialTableSuccess {
    /// ErrorCode.
    pub error_code: u32,
    /// CodePage.
    pub code_page: u32,
    /// Version (HasVersion).
    pub version: Option<u32>,
    /// Rows (HasRows + Count + AddressBookPropertyValueLists), one per container.
    pub rows: Option<Vec<Vec<TaggedPropertyValue>>>,
    /// AuxiliaryBuffer (opaque).
    pub aux: Vec<u8>,
}

fn read_rows(r: &mut ReadCursor<'_>) -> DecodeResult<Vec<Vec<TaggedPropertyValue>>> {
    let n = r.u32("RowCount")? as usize;
    super::check_count(r, n, 4, "Rows")?;
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        v.push(read_value_list(r)?);
    }
    Ok(v)
}

fn write_rows(w: &mut WriteCursor, rows: &[Vec<TaggedPropertyValue>]) -> EncodeResult {
    w.u32(count_u32(
        rows.len(),
        "GetSpecialTableResponse",
        "RowCount",
    )?);
    for row in rows {
        write_value_list(w, row)?;
    }
    Ok(())
}

body!(
    GetSpecialTableSuccess,
    GetSpecialTableResponse,
    "GetSpecialTableResponse",
    |r| GetSpecialTableSuccess {
        error_code: r.u32("ErrorCode")?,
        code_page: r.u32("CodePage")?,
        version: read_opt(r, "HasVersion", |r| r.u32("Version"))?,
        rows: read_opt(r, "HasRows", read_rows)?,
        aux: read_aux(r)?,
    },
    |s, w| {
        w.u32(s.error_code);
        w.u32(s.code_page);
        write_opt(w, s.version.as_ref(), |w, v| {
            w.u32(*v);
            Ok(())
        })?;
        write_opt(w, s.rows.as_ref(), |w, rows| write_rows(w, rows))?;
        write_aux(w, &s.aux, "GetSpecialTableResponse")
    }
);

/// QueryRows (2.2.5.13.2) and SeekEntries (2.2.5.16.2) response fields.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QueryRowsSuccess {
    /// ErrorCode.
    pub error_code: u32,
    /// State (HasState): the position after the rows.
    pub state: Option<Stat>,
    /// Columns and rows (HasColumnsAndRows).
    pub columns_and_rows: Option<ColumnsAndRows>,
    /// AuxiliaryBuffer (opaque).
    pub aux: Vec<u8>,
}

body!(
    QueryRowsSuccess,
    QueryRowsResponse,
    "QueryRowsResponse",
    |r| QueryRowsSuccess {
        error_code: r.u32("ErrorCode")?,
        state: stat(r)?,
        columns_and_rows: cols_rows(r)?,
        aux: read_aux(r)?,
    },
    |s, w| {
        w.u32(s.error_code);
        put_stat(w, s.state.as_ref())?;
        put_cols_rows(w, s.columns_and_rows.as_ref())?;
        write_aux(w, &s.aux, "QueryRowsResponse")
    }
);

/// SeekEntries response body: same layout as QueryRows'.
pub type SeekEntriesResponse = Response<QueryRowsSuccess>;

/// ResolveNames response fields (MS-OXCMAPIHTTP 2.2.5.14.2).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResolveNamesSuccess {
    /// ErrorCode.
    pub error_code: u32,
    /// CodePage.
    pub code_page: u32,
    /// MinimalIds (HasMinimalIds): one per name, MID_RESOLVED/AMBIGUOUS/UNRESOLVED or an MId.
    pub minimal_ids: Option<MIdList>,
    /// Columns and rows (HasColumnsAndRows) of the resolved names.
    pub columns_and_rows: Option<ColumnsAndRows>,
    /// AuxiliaryBuffer (opaque).
    pub aux: Vec<u8>,
}

body!(
    ResolveNamesSuccess,
    ResolveNamesResponse,
    "ResolveNamesResponse",
    |r| ResolveNamesSuccess {
        error_code: r.u32("ErrorCode")?,
        code_page: r.u32("CodePage")?,
        minimal_ids: mids(r)?,
        columns_and_rows: cols_rows(r)?,
        aux: read_aux(r)?,
    },
    |s, w| {
        w.u32(s.error_code);
        w.u32(s.code_page);
        put_mids(w, s.minimal_ids.as_ref())?;
        put_cols_rows(w, s.columns_and_rows.as_ref())?;
        write_aux(w, &s.aux, "ResolveNamesResponse")
    }
);

/// ResortRestriction response fields (MS-OXCMAPIHTTP 2.2.5.15.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResortRestrictionSuccess {
    /// ErrorCode.
    pub error_code: u32,
    /// State (HasState).
    pub state: Option<Stat>,
    /// MinimalIds (HasMinimalIds): the re-sorted list.
    pub minimal_ids: Option<MIdList>,
    /// AuxiliaryBuffer (opaque).
    pub aux: Vec<u8>,
}

body!(
    ResortRestrictionSuccess,
    ResortRestrictionResponse,
    "ResortRestrictionResponse",
    |r| ResortRestrictionSuccess {
        error_code: r.u32("ErrorCode")?,
        state: stat(r)?,
        minimal_ids: mids(r)?,
        aux: read_aux(r)?,
    },
    |s, w| {
        w.u32(s.error_code);
        put_stat(w, s.state.as_ref())?;
        put_mids(w, s.minimal_ids.as_ref())?;
        write_aux(w, &s.aux, "ResortRestrictionResponse")
    }
);

/// UpdateStat response fields (MS-OXCMAPIHTTP 2.2.5.17.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UpdateStatSuccess {
    /// ErrorCode.
    pub error_code: u32,
    /// State (HasState).
    pub state: Option<Stat>,
    /// Delta (HasDelta): rows moved.
    pub delta: Option<i32>,
    /// AuxiliaryBuffer (opaque).
    pub aux: Vec<u8>,
}

body!(
    UpdateStatSuccess,
    UpdateStatResponse,
    "UpdateStatResponse",
    |r| UpdateStatSuccess {
        error_code: r.u32("ErrorCode")?,
        state: stat(r)?,
        delta: read_opt(r, "HasDelta", |r| r.i32("Delta"))?,
        aux: read_aux(r)?,
    },
    |s, w| {
        w.u32(s.error_code);
        put_stat(w, s.state.as_ref())?;
        write_opt(w, s.delta.as_ref(), |w, d| {
            w.i32(*d);
            Ok(())
        })?;
        write_aux(w, &s.aux, "UpdateStatResponse")
    }
);

/// GetMailboxUrl / GetAddressBookUrl response fields (2.2.5.19.2 / 2.2.5.18.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetUrlSuccess {
    /// ErrorCode.
    pub error_code: u32,
    /// ServerUrl (UTF-16LE, NUL-terminated).
    pub server_url: String,
    /// AuxiliaryBuffer (opaque).
    pub aux: Vec<u8>,
}

body!(
    GetUrlSuccess,
    GetUrlResponse,
    "GetUrlResponse",
    |r| GetUrlSuccess {
        error_code: r.u32("ErrorCode")?,
        server_url: r.utf16_z("ServerUrl")?,
        aux: read_aux(r)?,
    },
    |s, w| {
        w.u32(s.error_code);
        write_utf16_z(w, &s.server_url, "GetUrlResponse", "ServerUrl")?;
        write_aux(w, &s.aux, "GetUrlResponse")
    }
);
