//! Address book request bodies (MS-OXCMAPIHTTP 2.2.5.x.1).

use super::{
    LargePropertyTagArray, MIdList, PropertyName, read_string_array, read_u32_list,
    read_wstring_array, write_string_array, write_u32_list, write_wstring_array,
};
use crate::cursor::{Decode, Encode, ReadCursor, WriteCursor};
use crate::data::prop::{TaggedPropertyValue, ValueContext};
use crate::data::restriction::Restriction;
use crate::error::{DecodeContext, DecodeResult, EncodeResult};
use crate::mapihttp::emsmdb::write_utf16_z;
use crate::mapihttp::stat::Stat;
use crate::mapihttp::{read_aux, read_opt, read_presence, write_aux, write_opt, write_presence};

/// Implements `Decode` (with the structure name on errors) and `Encode` for a request body.
macro_rules! codec {
    ($ty:ident, $name:literal, |$r:ident| $dec:expr, |$s:ident, $w:ident| $enc:expr) => {
        impl Decode for $ty {
            fn decode($r: &mut ReadCursor<'_>) -> DecodeResult<Self> {
                (|| -> DecodeResult<Self> { Ok($dec) })().within($name)
            }
        }

        impl Encode for $ty {
            fn encode(&self, $w: &mut WriteCursor) -> EncodeResult {
                let $s = self;
                $enc
            }
        }
    };
}

fn stat(r: &mut ReadCursor<'_>) -> DecodeResult<Option<Stat>> {
    read_opt(r, "HasState", Stat::decode)
}

fn put_stat(w: &mut WriteCursor, s: Option<&Stat>) -> EncodeResult {
    write_opt(w, s, |w, s| s.encode(w))
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

fn mids(r: &mut ReadCursor<'_>, field: &'static str) -> DecodeResult<Option<MIdList>> {
    read_opt(r, field, |r| read_u32_list(r, "MinimalIds"))
}

fn put_mids(w: &mut WriteCursor, m: Option<&MIdList>, structure: &'static str) -> EncodeResult {
    write_opt(w, m, |w, m| write_u32_list(w, m, structure))
}

/// Bind request body (MS-OXCMAPIHTTP 2.2.5.1.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BindRequest {
    /// Flags: e.g. [`super::F_ANONYMOUS_LOGIN`].
    pub flags: u32,
    /// State (HasState).
    pub state: Option<Stat>,
    /// AuxiliaryBuffer (opaque).
    pub aux: Vec<u8>,
}

codec!(
    BindRequest,
    "BindRequest",
    |r| BindRequest {
        flags: r.u32("Flags")?,
        state: stat(r)?,
        aux: read_aux(r)?,
    },
    |s, w| {
        w.u32(s.flags);
        put_stat(w, s.state.as_ref())?;
        write_aux(w, &s.aux, "BindRequest")
    }
);

/// Unbind request body (MS-OXCMAPIHTTP 2.2.5.2.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UnbindRequest {
    /// Reserved (0).
    pub reserved: u32,
    /// AuxiliaryBuffer (opaque).
    pub aux: Vec<u8>,
}

codec!(
    UnbindRequest,
    "UnbindRequest",
    |r| UnbindRequest {
        reserved: r.u32("Reserved")?,
        aux: read_aux(r)?,
    },
    |s, w| {
        w.u32(s.reserved);
        write_aux(w, &s.aux, "UnbindRequest")
    }
);

/// CompareMIds request body (MS-OXCMAPIHTTP 2.2.5.3.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CompareMIdsRequest {
    /// Reserved (0).
    pub reserved: u32,
    /// State (HasState).
    pub state: Option<Stat>,
    /// MinimalId1.
    pub mid1: u32,
    /// MinimalId2.
    pub mid2: u32,
    /// AuxiliaryBuffer (opaque).
    pub aux: Vec<u8>,
}

codec!(
    CompareMIdsRequest,
    "CompareMIdsRequest",
    |r| CompareMIdsRequest {
        reserved: r.u32("Reserved")?,
        state: stat(r)?,
        mid1: r.u32("MinimalId1")?,
        mid2: r.u32("MinimalId2")?,
        aux: read_aux(r)?,
    },
    |s, w| {
        w.u32(s.reserved);
        put_stat(w, s.state.as_ref())?;
        w.u32(s.mid1);
        w.u32(s.mid2);
        write_aux(w, &s.aux, "CompareMIdsRequest")
    }
);

/// DNToMId request body (MS-OXCMAPIHTTP 2.2.5.4.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DnToMIdRequest {
    /// Reserved (0).
    pub reserved: u32,
    /// Names: distinguished names (HasNames + StringArray).
    pub names: Option<Vec<String>>,
    /// AuxiliaryBuffer (opaque).
    pub aux: Vec<u8>,
}

codec!(
    DnToMIdRequest,
    "DNToMIdRequest",
    |r| DnToMIdRequest {
        reserved: r.u32("Reserved")?,
        names: read_opt(r, "HasNames", read_string_array)?,
        aux: read_aux(r)?,
    },
    |s, w| {
        w.u32(s.reserved);
        write_opt(w, s.names.as_ref(), |w, n| write_string_array(w, n))?;
        write_aux(w, &s.aux, "DNToMIdRequest")
    }
);

/// GetMatches request body (MS-OXCMAPIHTTP 2.2.5.5.1).
///
/// The Filter is decoded in the wide-count dialect ([`ValueContext::AddressBook`]).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GetMatchesRequest {
    /// Reserved (0).
    pub reserved: u32,
    /// State (HasState).
    pub state: Option<Stat>,
    /// MinimalIds (HasMinimalIds).
    pub minimal_ids: Option<MIdList>,
    /// InterfaceOptionFlags (reserved, 0).
    pub interface_option_flags: u32,
    /// Filter (HasFilter).
    pub filter: Option<Restriction>,
    /// PropertyNameGuid + PropertyNameId (HasPropertyName).
    pub property_name: Option<PropertyName>,
    /// RowCount: the most rows to return.
    pub row_count: u32,
    /// Columns (HasColumns).
    pub columns: Option<LargePropertyTagArray>,
    /// AuxiliaryBuffer (opaque).
    pub aux: Vec<u8>,
}

codec!(
    GetMatchesRequest,
    "GetMatchesRequest",
    |r| GetMatchesRequest {
        reserved: r.u32("Reserved")?,
        state: stat(r)?,
        minimal_ids: mids(r, "HasMinimalIds")?,
        interface_option_flags: r.u32("InterfaceOptionFlags")?,
        filter: read_opt(r, "HasFilter", |r| {
            Restriction::decode(r, ValueContext::AddressBook)
        })?,
        property_name: read_opt(r, "HasPropertyName", PropertyName::decode)?,
        row_count: r.u32("RowCount")?,
        columns: tags(r, "HasColumns")?,
        aux: read_aux(r)?,
    },
    |s, w| {
        w.u32(s.reserved);
        put_stat(w, s.state.as_ref())?;
        put_mids(w, s.minimal_ids.as_ref(), "GetMatchesRequest")?;
        w.u32(s.interface_option_flags);
        write_opt(w, s.filter.as_ref(), |w, f| {
            f.encode(w, ValueContext::AddressBook)
        })?;
        write_opt(w, s.property_name.as_ref(), |w, p| p.encode(w))?;
        w.u32(s.row_count);
        put_tags(w, s.columns.as_ref())?;
        write_aux(w, &s.aux, "GetMatchesRequest")
    }
);

/// GetPropList request body (MS-OXCMAPIHTTP 2.2.5.6.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetPropListRequest {
    /// Flags: [`super::F_SKIP_OBJECTS`].
    pub flags: u32,
    /// MinimalId of the object.
    pub mid: u32,
    /// CodePage.
    pub code_page: u32,
    /// AuxiliaryBuffer (opaque).
    pub aux: Vec<u8>,
}

codec!(
    GetPropListRequest,
    "GetPropListRequest",
    |r| GetPropListRequest {
        flags: r.u32("Flags")?,
        mid: r.u32("MinimalId")?,
        code_page: r.u32("CodePage")?,
        aux: read_aux(r)?,
    },
    |s, w| {
        w.u32(s.flags);
        w.u32(s.mid);
        w.u32(s.code_page);
        write_aux(w, &s.aux, "GetPropListRequest")
    }
);

/// GetProps request body (MS-OXCMAPIHTTP 2.2.5.7.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetPropsRequest {
    /// Flags: [`super::F_SKIP_OBJECTS`], [`super::F_EPH_ID`].
    pub flags: u32,
    /// State (HasState); CurrentRec names the object.
    pub state: Option<Stat>,
    /// PropertyTags (HasPropertyTags); absent = all properties.
    pub property_tags: Option<LargePropertyTagArray>,
    /// AuxiliaryBuffer (opaque).
    pub aux: Vec<u8>,
}

codec!(
    GetPropsRequest,
    "GetPropsRequest",
    |r| GetPropsRequest {
        flags: r.u32("Flags")?,
        state: stat(r)?,
        property_tags: tags(r, "HasPropertyTags")?,
        aux: read_aux(r)?,
    },
    |s, w| {
        w.u32(s.flags);
        put_stat(w, s.state.as_ref())?;
        put_tags(w, s.property_tags.as_ref())?;
        write_aux(w, &s.aux, "GetPropsRequest")
    }
);

/// GetSpecialTable request body (MS-OXCMAPIHTTP 2.2.5.8.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetSpecialTableRequest {
    /// Flags: [`super::NSPI_UNICODE_STRINGS`], [`super::NSPI_ADDRESS_CREATION_TEMPLATES`].
    pub flags: u32,
    /// State (HasState).
    pub state: Option<Stat>,
    /// Version (HasVersion): the hierarchy version the client already has.
    pub version: Option<u32>,
    /// AuxiliaryBuffer (opaque).
    pub aux: Vec<u8>,
}

codec!(
    GetSpecialTableRequest,
    "GetSpecialTableRequest",
    |r| GetSpecialTableRequest {
        flags: r.u32("Flags")?,
        state: stat(r)?,
        version: read_opt(r, "HasVersion", |r| r.u32("Version"))?,
        aux: read_aux(r)?,
    },
    |s, w| {
        w.u32(s.flags);
        put_stat(w, s.state.as_ref())?;
        write_opt(w, s.version.as_ref(), |w, v| {
            w.u32(*v);
            Ok(())
        })?;
        write_aux(w, &s.aux, "GetSpecialTableRequest")
    }
);

/// QueryColumns request body (MS-OXCMAPIHTTP 2.2.5.12.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueryColumnsRequest {
    /// Reserved (0).
    pub reserved: u32,
    /// MapiFlags: [`super::NSPI_UNICODE_PROPTYPES`].
    pub mapi_flags: u32,
    /// AuxiliaryBuffer (opaque).
    pub aux: Vec<u8>,
}

codec!(
    QueryColumnsRequest,
    "QueryColumnsRequest",
    |r| QueryColumnsRequest {
        reserved: r.u32("Reserved")?,
        mapi_flags: r.u32("MapiFlags")?,
        aux: read_aux(r)?,
    },
    |s, w| {
        w.u32(s.reserved);
        w.u32(s.mapi_flags);
        write_aux(w, &s.aux, "QueryColumnsRequest")
    }
);

/// QueryRows request body (MS-OXCMAPIHTTP 2.2.5.13.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueryRowsRequest {
    /// Flags: [`super::F_SKIP_OBJECTS`], [`super::F_EPH_ID`].
    pub flags: u32,
    /// State (HasState).
    pub state: Option<Stat>,
    /// ExplicitTable: MinimalIds to read instead of the container (always present, may be empty).
    pub explicit_table: MIdList,
    /// RowCount.
    pub row_count: u32,
    /// Columns (HasColumns).
    pub columns: Option<LargePropertyTagArray>,
    /// AuxiliaryBuffer (opaque).
    pub aux: Vec<u8>,
}

codec!(
    QueryRowsRequest,
    "QueryRowsRequest",
    |r| QueryRowsRequest {
        flags: r.u32("Flags")?,
        state: stat(r)?,
        explicit_table: read_u32_list(r, "ExplicitTable")?,
        row_count: r.u32("RowCount")?,
        columns: tags(r, "HasColumns")?,
        aux: read_aux(r)?,
    },
    |s, w| {
        w.u32(s.flags);
        put_stat(w, s.state.as_ref())?;
        write_u32_list(w, &s.explicit_table, "QueryRowsRequest")?;
        w.u32(s.row_count);
        put_tags(w, s.columns.as_ref())?;
        write_aux(w, &s.aux, "QueryRowsRequest")
    }
);

/// ResolveNames request body (MS-OXCMAPIHTTP 2.2.5.14.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResolveNamesRequest {
    /// Reserved (0).
    pub reserved: u32,
    /// State (HasState).
    pub state: Option<Stat>,
    /// PropertyTags (HasPropertyTags): columns of the returned rows.
    pub property_tags: Option<LargePropertyTagArray>,
    /// Names (HasNames + WStringArray).
    pub names: Option<Vec<String>>,
    /// AuxiliaryBuffer (opaque).
    pub aux: Vec<u8>,
}

codec!(
    ResolveNamesRequest,
    "ResolveNamesRequest",
    |r| ResolveNamesRequest {
        reserved: r.u32("Reserved")?,
        state: stat(r)?,
        property_tags: tags(r, "HasPropertyTags")?,
        names: read_opt(r, "HasNames", read_wstring_array)?,
        aux: read_aux(r)?,
    },
    |s, w| {
        w.u32(s.reserved);
        put_stat(w, s.state.as_ref())?;
        put_tags(w, s.property_tags.as_ref())?;
        write_opt(w, s.names.as_ref(), |w, n| write_wstring_array(w, n))?;
        write_aux(w, &s.aux, "ResolveNamesRequest")
    }
);

/// ResortRestriction request body (MS-OXCMAPIHTTP 2.2.5.15.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResortRestrictionRequest {
    /// Reserved (0).
    pub reserved: u32,
    /// State (HasState).
    pub state: Option<Stat>,
    /// MinimalIds (HasMinimalIds).
    pub minimal_ids: Option<MIdList>,
    /// AuxiliaryBuffer (opaque).
    pub aux: Vec<u8>,
}

codec!(
    ResortRestrictionRequest,
    "ResortRestrictionRequest",
    |r| ResortRestrictionRequest {
        reserved: r.u32("Reserved")?,
        state: stat(r)?,
        minimal_ids: mids(r, "HasMinimalIds")?,
        aux: read_aux(r)?,
    },
    |s, w| {
        w.u32(s.reserved);
        put_stat(w, s.state.as_ref())?;
        put_mids(w, s.minimal_ids.as_ref(), "ResortRestrictionRequest")?;
        write_aux(w, &s.aux, "ResortRestrictionRequest")
    }
);

/// SeekEntries request body (MS-OXCMAPIHTTP 2.2.5.16.1).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SeekEntriesRequest {
    /// Reserved (0).
    pub reserved: u32,
    /// State (HasState).
    pub state: Option<Stat>,
    /// Target (HasTarget): AddressBookTaggedPropertyValue to seek to.
    pub target: Option<TaggedPropertyValue>,
    /// ExplicitTable (HasExplicitTable).
    pub explicit_table: Option<MIdList>,
    /// Columns (HasColumns).
    pub columns: Option<LargePropertyTagArray>,
    /// AuxiliaryBuffer (opaque).
    pub aux: Vec<u8>,
}

codec!(
    SeekEntriesRequest,
    "SeekEntriesRequest",
    |r| SeekEntriesRequest {
        reserved: r.u32("Reserved")?,
        state: stat(r)?,
        target: read_opt(r, "HasTarget", |r| {
            TaggedPropertyValue::decode(r, ValueContext::AddressBook)
        })?,
        explicit_table: mids(r, "HasExplicitTable")?,
        columns: tags(r, "HasColumns")?,
        aux: read_aux(r)?,
    },
    |s, w| {
        w.u32(s.reserved);
        put_stat(w, s.state.as_ref())?;
        write_opt(w, s.target.as_ref(), |w, t| {
            t.encode(w, ValueContext::AddressBook)
        })?;
        put_mids(w, s.explicit_table.as_ref(), "SeekEntriesRequest")?;
        put_tags(w, s.columns.as_ref())?;
        write_aux(w, &s.aux, "SeekEntriesRequest")
    }
);

/// UpdateStat request body (MS-OXCMAPIHTTP 2.2.5.17.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UpdateStatRequest {
    /// Reserved (0).
    pub reserved: u32,
    /// State (HasState).
    pub state: Option<Stat>,
    /// DeltaRequested: whether the response carries Delta (0x00/0xFF).
    pub delta_requested: bool,
    /// AuxiliaryBuffer (opaque).
    pub aux: Vec<u8>,
}

codec!(
    UpdateStatRequest,
    "UpdateStatRequest",
    |r| UpdateStatRequest {
        reserved: r.u32("Reserved")?,
        state: stat(r)?,
        delta_requested: read_presence(r, "DeltaRequested")?,
        aux: read_aux(r)?,
    },
    |s, w| {
        w.u32(s.reserved);
        put_stat(w, s.state.as_ref())?;
        write_presence(w, s.delta_requested);
        write_aux(w, &s.aux, "UpdateStatRequest")
    }
);

/// GetMailboxUrl (2.2.5.19.1) and GetAddressBookUrl (2.2.5.18.1) request body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetUrlRequest {
    /// Flags (0).
    pub flags: u32,
    /// UserDn (UTF-16LE, NUL-terminated).
    pub user_dn: String,
    /// AuxiliaryBuffer (opaque).
    pub aux: Vec<u8>,
}

codec!(
    GetUrlRequest,
    "GetUrlRequest",
    |r| GetUrlRequest {
        flags: r.u32("Flags")?,
        user_dn: r.utf16_z("UserDn")?,
        aux: read_aux(r)?,
    },
    |s, w| {
        w.u32(s.flags);
        write_utf16_z(w, &s.user_dn, "GetUrlRequest", "UserDn")?;
        write_aux(w, &s.aux, "GetUrlRequest")
    }
);
