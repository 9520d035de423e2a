//! The address book (NSPI) endpoint over MAPI/HTTP: request bodies of MS-OXCMAPIHTTP 2.2.5,
//! semantics of MS-OXNSPI 3.1.4.1. The GAL is the organization's users (see [`gal`]).

mod codec;
pub(crate) mod gal;
pub(crate) mod matches;

use oxmapi_wire::data::{
    ErrorCode, PropertyTag, RowValue, TaggedPropertyValue, ValueContext, tags,
};
use oxmapi_wire::{DecodeResult, EncodeResult, ReadCursor, WriteCursor};

use crate::http::AppState;
use crate::mapihttp::{Outcome, RequestInfo, ResponseCode, context_cookie, lookup, skip_aux};
use crate::session::Endpoint;
use crate::store::UserRecord;
use codec::{
    Stat, optional, present, string_array, tag_array, u32_array, write_rows, wstring_array,
};
use gal::{Gal, MID_BEGINNING_OF_TABLE, MID_END_OF_TABLE};

/// NspiUnbind's UNBIND_SUCCESS (MS-OXNSPI 3.1.4.1.2).
const UNBIND_SUCCESS: u32 = 1;
/// CP_WINUNICODE code page.
const CP_WINUNICODE: u32 = 1200;

/// Columns returned when a request names none (MS-OXNSPI 3.1.4.1.8 default column set).
const DEFAULT_COLUMNS: &[PropertyTag] = &[
    tags::PidTagAddressBookContainerId,
    tags::PidTagObjectType,
    tags::PidTagDisplayType,
    tags::PidTagDisplayName,
    tags::PidTagAddressType,
    tags::PidTagEmailAddress,
    tags::PidTagEntryId,
];

/// A request-type handler: request body in, response body out.
type Handler = fn(&Gal, &[u8]) -> DecodeResult<Vec<u8>>;

/// Handles one NSPI request for an authenticated user.
pub(crate) fn handle(
    state: &AppState,
    user: &UserRecord,
    info: &RequestInfo<'_>,
    body: &[u8],
) -> Outcome {
    let rt = info.request_type.to_ascii_lowercase();
    if rt == "bind" {
        return bind(state, user, info, body);
    }
    if rt == "ping" {
        return ok(Vec::new());
    }
    let handler: Handler = match rt.as_str() {
        "unbind" => unbind,
        "getspecialtable" => get_special_table,
        "queryrows" => query_rows,
        "getprops" => get_props,
        "getproplist" => get_prop_list,
        "dntomid" => dn_to_mid,
        "resolvenames" => resolve_names,
        "updatestat" => update_stat,
        "getmatches" => matches::get_matches,
        _ => return fail(ResponseCode::InvalidRequestType),
    };
    if let Err(code) = lookup(state, Endpoint::Nspi, user, info) {
        return fail(code);
    }
    let gal = match load_gal(state) {
        Some(g) => g,
        None => return fail(ResponseCode::UnknownFailure),
    };
    let out = match handler(&gal, body) {
        Ok(out) => out,
        Err(e) => {
            tracing::debug!("nspi {rt}: {e}");
            return fail(ResponseCode::InvalidRequestBody);
        }
    };
    if let ("unbind", Some(c)) = (rt.as_str(), &info.cookie) {
        state.sessions.remove(c);
    }
    ok(out)
}

fn ok(body: Vec<u8>) -> Outcome {
    Outcome {
        result: Ok(body),
        set_cookies: Vec::new(),
    }
}

fn fail(code: ResponseCode) -> Outcome {
    Outcome {
        result: Err(code),
        set_cookies: Vec::new(),
    }
}

fn load_gal(state: &AppState) -> Option<Gal> {
    let users = state.store.all_users().ok()?;
    Some(Gal::new(users))
}

/// Encoding failures cannot happen for values we build; map them to an invalid body anyway.
fn enc(r: EncodeResult) -> DecodeResult<()> {
    r.map_err(|e| oxmapi_wire::DecodeError::invalid("response", 0, e.to_string()))
}

/// StatusCode 0 + ErrorCode.
fn head(w: &mut WriteCursor, ec: ErrorCode) {
    w.u32(0);
    w.u32(ec.0);
}

/// Bind (MS-OXCMAPIHTTP 2.2.5.1): creates the session context; returns the server GUID.
fn bind(state: &AppState, user: &UserRecord, info: &RequestInfo<'_>, body: &[u8]) -> Outcome {
    let parsed = (|| -> DecodeResult<()> {
        let mut r = ReadCursor::new(body);
        r.u32("Flags")?;
        optional(&mut r, "HasState", Stat::decode)?;
        skip_aux(&mut r)?;
        r.finish("AuxiliaryBuffer")
    })();
    if parsed.is_err() {
        return fail(ResponseCode::InvalidRequestBody);
    }
    let Ok(Some(org)) = state.store.org() else {
        return fail(ResponseCode::UnknownFailure);
    };
    let mut w = WriteCursor::new();
    head(&mut w, ErrorCode::SUCCESS);
    w.bytes(&org.server_guid);
    w.u32(0);
    let cookie = state
        .sessions
        .create(Endpoint::Nspi, user.id, &info.request_id, None);
    Outcome {
        result: Ok(w.into_inner()),
        set_cookies: vec![context_cookie(&cookie, Endpoint::Nspi)],
    }
}

/// Unbind (2.2.5.2): Reserved, Aux → ErrorCode UNBIND_SUCCESS.
fn unbind(_: &Gal, body: &[u8]) -> DecodeResult<Vec<u8>> {
    let mut r = ReadCursor::new(body);
    r.u32("Reserved")?;
    skip_aux(&mut r)?;
    r.finish("AuxiliaryBuffer")?;
    let mut w = WriteCursor::new();
    head(&mut w, ErrorCode(UNBIND_SUCCESS));
    w.u32(0);
    Ok(w.into_inner())
}

/// GetSpecialTable (2.2.5.9, MS-OXNSPI 3.1.4.1.3): the address book hierarchy table has
/// one container, the GAL (container ID 0). Its row carries the properties 3.1.4.1.3 lists:
/// PidTagEntryId, PidTagContainerFlags, PidTagDepth, PidTagAddressBookContainerId,
/// PidTagDisplayName (PtypString8 unless NspiUnicodeStrings) and PidTagAddressBookIsMaster.
/// With NspiAddressCreationTemplates the (empty) address creation table is returned.
fn get_special_table(_: &Gal, body: &[u8]) -> DecodeResult<Vec<u8>> {
    let mut r = ReadCursor::new(body);
    let flags = r.u32("Flags")?;
    let stat = optional(&mut r, "HasState", Stat::decode)?;
    let version = optional(&mut r, "HasVersion", |r| r.u32("Version"))?;
    skip_aux(&mut r)?;
    r.finish("AuxiliaryBuffer")?;
    let rows: Vec<Vec<TaggedPropertyValue>> = if flags & NSPI_ADDRESS_CREATION_TEMPLATES != 0 {
        Vec::new()
    } else {
        vec![gal_container_row(flags & NSPI_UNICODE_STRINGS != 0)]
    };
    let mut w = WriteCursor::new();
    head(&mut w, ErrorCode::SUCCESS);
    w.u32(stat.map_or(CP_WINUNICODE, |s| s.code_page));
    w.u8(0xFF);
    w.u32(version.map_or(1, |v| v.max(1)));
    w.u8(0xFF);
    w.u32(u32::try_from(rows.len()).unwrap_or(u32::MAX));
    for row in &rows {
        w.u32(u32::try_from(row.len()).unwrap_or(u32::MAX));
        for v in row {
            enc(v.encode(&mut w, ValueContext::AddressBook))?;
        }
    }
    w.u32(0);
    Ok(w.into_inner())
}

/// GetSpecialTable Flags (MS-OXNSPI 2.2.1.7).
const NSPI_ADDRESS_CREATION_TEMPLATES: u32 = 0x0000_0002;
const NSPI_UNICODE_STRINGS: u32 = 0x0000_0004;
/// PidTagAddressBookIsMaster (MS-OXPROPS 2.531).
const PID_TAG_ADDRESS_BOOK_IS_MASTER: PropertyTag = PropertyTag(0xFFFB_000B);
/// PidTagContainerFlags of the GAL: AB_RECIPIENTS | AB_UNMODIFIABLE (MS-OXOABK 2.2.2.1).
const GAL_CONTAINER_FLAGS: i32 = 0x0000_0001 | 0x0000_0008;

/// The hierarchy table row of the GAL container (MS-OXNSPI 3.1.4.1.3).
fn gal_container_row(unicode: bool) -> Vec<TaggedPropertyValue> {
    use oxmapi_wire::data::PropertyValue as V;
    let name = if unicode {
        TaggedPropertyValue::new(tags::PidTagDisplayName, V::Unicode(String::new()))
    } else {
        TaggedPropertyValue::new(
            tags::PidTagDisplayName.with_type(oxmapi_wire::data::PropertyType::STRING8),
            V::String8(Vec::new()),
        )
    };
    vec![
        TaggedPropertyValue::new(tags::PidTagEntryId, V::Binary(gal::gal_entry_id())),
        TaggedPropertyValue::new(tags::PidTagContainerFlags, V::Int32(GAL_CONTAINER_FLAGS)),
        TaggedPropertyValue::new(tags::PidTagDepth, V::Int32(0)),
        TaggedPropertyValue::new(tags::PidTagAddressBookContainerId, V::Int32(0)),
        name,
        TaggedPropertyValue::new(PID_TAG_ADDRESS_BOOK_IS_MASTER, V::Boolean(false)),
    ]
}

/// QueryRows (2.2.5.11, MS-OXNSPI 3.1.4.1.8): rows of an explicit table, or of the GAL from
/// the STAT's position; the STAT returned points after the last row.
fn query_rows(gal: &Gal, body: &[u8]) -> DecodeResult<Vec<u8>> {
    let mut r = ReadCursor::new(body);
    r.u32("Flags")?;
    let stat = optional(&mut r, "HasState", Stat::decode)?.unwrap_or_default();
    let explicit = u32_array(&mut r, "ExplicitTable")?;
    let count = r.u32("RowCount")? as usize;
    let columns = optional(&mut r, "HasColumns", tag_array)?;
    skip_aux(&mut r)?;
    r.finish("AuxiliaryBuffer")?;
    let columns = columns.unwrap_or_else(|| DEFAULT_COLUMNS.to_vec());
    let mut out_stat = stat;
    let rows: Vec<Vec<RowValue>> = if explicit.is_empty() {
        let start = position(gal, &stat);
        let end = start.saturating_add(count).min(gal.users.len());
        out_stat.current_rec = gal.users.get(end).map_or(MID_END_OF_TABLE, Gal::mid);
        out_stat.num_pos = u32::try_from(end).unwrap_or(u32::MAX);
        gal.users
            .get(start..end)
            .unwrap_or_default()
            .iter()
            .map(|u| row(gal, u, &columns))
            .collect()
    } else {
        explicit
            .iter()
            .take(count.max(1).min(explicit.len()))
            .map(|&mid| match gal.by_mid(mid) {
                Some(u) => row(gal, u, &columns),
                None => columns
                    .iter()
                    .map(|c| RowValue::Error(c.ty(), ErrorCode::NOT_FOUND))
                    .collect(),
            })
            .collect()
    };
    out_stat.delta = 0;
    out_stat.total_recs = u32::try_from(gal.users.len()).unwrap_or(u32::MAX);
    let mut w = WriteCursor::new();
    head(&mut w, ErrorCode::SUCCESS);
    w.u8(0xFF);
    out_stat.encode(&mut w);
    w.u8(0xFF);
    enc(write_rows(&mut w, &columns, &rows))?;
    w.u32(0);
    Ok(w.into_inner())
}

/// GetProps (2.2.5.7, MS-OXNSPI 3.1.4.1.7): properties of the entry STAT.CurrentRec names;
/// missing ones come back as PtypErrorCode ecNotFound with ErrorCode ecWarnWithErrors.
fn get_props(gal: &Gal, body: &[u8]) -> DecodeResult<Vec<u8>> {
    let mut r = ReadCursor::new(body);
    r.u32("Flags")?;
    let stat = optional(&mut r, "HasState", Stat::decode)?.unwrap_or_default();
    let tags = optional(&mut r, "HasPropertyTags", tag_array)?;
    skip_aux(&mut r)?;
    r.finish("AuxiliaryBuffer")?;
    let code_page = if stat.code_page == 0 {
        CP_WINUNICODE
    } else {
        stat.code_page
    };
    let mut w = WriteCursor::new();
    let Some(user) = gal.by_mid(stat.current_rec) else {
        head(&mut w, ErrorCode::NOT_FOUND);
        w.u32(code_page);
        w.u8(0x00);
        w.u32(0);
        return Ok(w.into_inner());
    };
    let tags = tags.unwrap_or_else(|| gal::ENTRY_PROPS.to_vec());
    let mut values = Vec::with_capacity(tags.len());
    let mut missing = false;
    for tag in &tags {
        values.push(match gal.value(user, *tag) {
            Some(v) => TaggedPropertyValue {
                tag: tag.with_type(v.ty()),
                value: v,
            },
            None => {
                missing = true;
                TaggedPropertyValue {
                    tag: tag.with_type(oxmapi_wire::data::PropertyType::ERROR),
                    value: oxmapi_wire::data::PropertyValue::Error(ErrorCode::NOT_FOUND),
                }
            }
        });
    }
    let ec = if missing {
        ErrorCode::WARN_ERRORS_RETURNED
    } else {
        ErrorCode::SUCCESS
    };
    head(&mut w, ec);
    w.u32(code_page);
    w.u8(0xFF);
    w.u32(u32::try_from(values.len()).unwrap_or(u32::MAX));
    for v in &values {
        enc(v.encode(&mut w, ValueContext::AddressBook))?;
    }
    w.u32(0);
    Ok(w.into_inner())
}

/// GetPropList (2.2.5.6, MS-OXNSPI 3.1.4.1.6): the tags an entry has.
fn get_prop_list(gal: &Gal, body: &[u8]) -> DecodeResult<Vec<u8>> {
    let mut r = ReadCursor::new(body);
    r.u32("Flags")?;
    let mid = r.u32("MinimalId")?;
    r.u32("CodePage")?;
    skip_aux(&mut r)?;
    r.finish("AuxiliaryBuffer")?;
    let mut w = WriteCursor::new();
    if gal.by_mid(mid).is_some() {
        head(&mut w, ErrorCode::SUCCESS);
        w.u8(0xFF);
        codec::write_tag_array(&mut w, gal::ENTRY_PROPS);
    } else {
        head(&mut w, ErrorCode::INVALID_PARAMETER);
        w.u8(0x00);
    }
    w.u32(0);
    Ok(w.into_inner())
}

/// DNToMId (2.2.5.5, MS-OXNSPI 3.1.4.1.13): one MId per DN, 0 when unknown.
fn dn_to_mid(gal: &Gal, body: &[u8]) -> DecodeResult<Vec<u8>> {
    let mut r = ReadCursor::new(body);
    r.u32("Reserved")?;
    let names = optional(&mut r, "HasNames", string_array)?;
    skip_aux(&mut r)?;
    r.finish("AuxiliaryBuffer")?;
    let mut w = WriteCursor::new();
    head(&mut w, ErrorCode::SUCCESS);
    match names {
        Some(names) => {
            let mids: Vec<u32> = names
                .iter()
                .map(|dn| gal.by_dn(dn).map_or(0, Gal::mid))
                .collect();
            w.u8(0xFF);
            codec::write_u32_array(&mut w, &mids);
        }
        None => w.u8(0x00),
    }
    w.u32(0);
    Ok(w.into_inner())
}

/// ResolveNames (2.2.5.14, MS-OXNSPI 3.1.4.1.17 NspiResolveNamesW): one MId per name (the
/// entry's MId, MID_AMBIGUOUS or MID_UNRESOLVED) and one row per resolved name, by the ANR
/// rules of [`Gal::resolve`] (shared with the RPC/HTTP NspiResolveNamesW).
fn resolve_names(gal: &Gal, body: &[u8]) -> DecodeResult<Vec<u8>> {
    let mut r = ReadCursor::new(body);
    r.u32("Reserved")?;
    let stat = optional(&mut r, "HasState", Stat::decode)?.unwrap_or_default();
    let tags = optional(&mut r, "HasPropertyTags", tag_array)?;
    let names = optional(&mut r, "HasNames", wstring_array)?.unwrap_or_default();
    skip_aux(&mut r)?;
    r.finish("AuxiliaryBuffer")?;
    let columns = tags.unwrap_or_else(|| DEFAULT_COLUMNS.to_vec());
    let (mids, resolved) = gal.resolve_names(&names);
    let rows: Vec<_> = resolved.iter().map(|u| row(gal, u, &columns)).collect();
    let mut w = WriteCursor::new();
    head(&mut w, ErrorCode::SUCCESS);
    w.u32(if stat.code_page == 0 {
        CP_WINUNICODE
    } else {
        stat.code_page
    });
    w.u8(0xFF);
    codec::write_u32_array(&mut w, &mids);
    w.u8(0xFF);
    enc(write_rows(&mut w, &columns, &rows))?;
    w.u32(0);
    Ok(w.into_inner())
}

/// UpdateStat (2.2.5.16, MS-OXNSPI 3.1.4.1.4): applies Delta to the position.
fn update_stat(gal: &Gal, body: &[u8]) -> DecodeResult<Vec<u8>> {
    let mut r = ReadCursor::new(body);
    r.u32("Reserved")?;
    let stat = optional(&mut r, "HasState", Stat::decode)?.unwrap_or_default();
    let want_delta = present(&mut r, "DeltaRequested")?;
    skip_aux(&mut r)?;
    r.finish("AuxiliaryBuffer")?;
    let from = position(gal, &stat);
    let len = gal.users.len();
    let to = if stat.delta >= 0 {
        from.saturating_add(stat.delta.unsigned_abs() as usize)
            .min(len)
    } else {
        from.saturating_sub(stat.delta.unsigned_abs() as usize)
    };
    let mut out = stat;
    out.current_rec = gal.users.get(to).map_or(MID_END_OF_TABLE, Gal::mid);
    out.num_pos = u32::try_from(to).unwrap_or(u32::MAX);
    out.total_recs = u32::try_from(len).unwrap_or(u32::MAX);
    out.delta = 0;
    let moved = i32::try_from(to).unwrap_or(i32::MAX) - i32::try_from(from).unwrap_or(i32::MAX);
    let mut w = WriteCursor::new();
    head(&mut w, ErrorCode::SUCCESS);
    w.u8(0xFF);
    out.encode(&mut w);
    if want_delta {
        w.u8(0xFF);
        w.i32(moved);
    } else {
        w.u8(0x00);
    }
    w.u32(0);
    Ok(w.into_inner())
}

/// Index in the GAL the STAT designates (CurrentRec, else NumPos, plus nothing else).
fn position(gal: &Gal, stat: &Stat) -> usize {
    match stat.current_rec {
        MID_BEGINNING_OF_TABLE => (stat.num_pos as usize).min(gal.users.len()),
        MID_END_OF_TABLE => gal.users.len(),
        mid => gal.position(mid).unwrap_or(0),
    }
}

fn row(gal: &Gal, user: &UserRecord, columns: &[PropertyTag]) -> Vec<RowValue> {
    columns.iter().map(|c| gal.cell(user, *c)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gal() -> Gal {
        Gal::new(vec![UserRecord {
            id: 1,
            alias: "alice".into(),
            display_name: "Alice".into(),
            smtp: "alice@example.test".into(),
            legacy_dn: "/o=Oxmapi/cn=alice".into(),
            mailbox_guid: [0; 16],
            replica_guid: [0; 16],
            personalized_server_name: String::new(),
        }])
    }

    fn le(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    fn user(id: i64, alias: &str, name: &str) -> UserRecord {
        UserRecord {
            id,
            alias: alias.into(),
            display_name: name.into(),
            smtp: format!("{alias}@example.test"),
            legacy_dn: format!("/o=Oxmapi/cn={alias}"),
            mailbox_guid: [0; 16],
            replica_guid: [0; 16],
            personalized_server_name: String::new(),
        }
    }

    /// MS-OXCMAPIHTTP 2.2.5.9.2: StatusCode, ErrorCode, CodePage, HasVersion, Version,
    /// HasRows, RowsCount, rows of (PropertyValueCount, AddressBookTaggedPropertyValues).
    #[test]
    fn special_table_row_has_the_listed_properties() {
        use oxmapi_wire::data::{PropertyType, PropertyValue};
        for (flags, string_type) in [(4u32, PropertyType::UNICODE), (0, PropertyType::STRING8)] {
            let body = le(&[&flags.to_le_bytes(), &[0x00, 0x00], &[0; 4]]);
            let out = get_special_table(&gal(), &body).expect("response");
            let mut r = ReadCursor::new(&out);
            assert_eq!(r.u32("StatusCode").unwrap(), 0);
            assert_eq!(r.u32("ErrorCode").unwrap(), 0);
            assert_eq!(r.u32("CodePage").unwrap(), CP_WINUNICODE);
            assert_eq!(r.u8("HasVersion").unwrap(), 0xFF);
            assert_eq!(r.u32("Version").unwrap(), 1);
            assert_eq!(r.u8("HasRows").unwrap(), 0xFF);
            assert_eq!(r.u32("RowsCount").unwrap(), 1);
            assert_eq!(r.u32("PropertyValueCount").unwrap(), 6);
            let values: Vec<_> = (0..6)
                .map(|_| TaggedPropertyValue::decode(&mut r, ValueContext::AddressBook).unwrap())
                .collect();
            assert_eq!(r.u32("AuxiliaryBufferSize").unwrap(), 0);
            assert!(r.is_empty());
            let got: Vec<u32> = values.iter().map(|v| v.tag.0).collect();
            assert_eq!(
                got,
                vec![
                    0x0FFF_0102,
                    0x3600_0003,
                    0x3005_0003,
                    0xFFFD_0003,
                    0x3001_0000 | u32::from(string_type.0),
                    0xFFFB_000B
                ]
            );
            let PropertyValue::Binary(entry_id) = &values[0].value else {
                panic!("entry id")
            };
            // MS-OXNSPI 2.2.9.3: DisplayTypeString DT_CONTAINER, DN "/".
            assert_eq!(&entry_id[24..28], &[0, 1, 0, 0]);
            assert_eq!(&entry_id[28..], b"/\0");
            assert_eq!(values[1].value, PropertyValue::Int32(9));
            assert_eq!(values[5].value, PropertyValue::Boolean(false));
        }
        // NspiAddressCreationTemplates: no rows.
        let out = get_special_table(&gal(), &le(&[&[2, 0, 0, 0], &[0, 0], &[0; 4]])).unwrap();
        assert_eq!(&out[17..22], &[0xFF, 0, 0, 0, 0]);
    }

    /// GetMatches (MS-OXCMAPIHTTP 2.2.5.5) with an ANR restriction (MS-OXNSPI 3.1.4.7):
    /// prefix matches of display name (and its words), alias and SMTP address.
    #[test]
    fn get_matches_anr_is_a_prefix_match() {
        use oxmapi_wire::data::PropertyValue;
        use oxmapi_wire::data::restriction::{RELOP_EQ, Restriction};
        let g = Gal::new(vec![
            user(1, "test", "Test User"),
            user(2, "tester", "Another Tester"),
            user(3, "bob", "Bob Builder"),
        ]);
        let mids = |name: &str| -> Vec<u32> {
            let filter = Restriction::Property {
                relop: RELOP_EQ,
                tag: PropertyTag(0x360C_001F),
                value: TaggedPropertyValue::new(
                    PropertyTag(0x360C_001F),
                    PropertyValue::Unicode(name.into()),
                ),
            };
            let mut w = WriteCursor::new();
            filter.encode(&mut w, ValueContext::AddressBook).unwrap();
            let body = le(&[
                &[0; 4],
                &[0xFF],
                &[0; 36],
                &[0x00],
                &[0; 4],
                &[0xFF],
                &w.into_inner(),
                &[0x00],
                &50u32.to_le_bytes(),
                &[0x00],
                &[0; 4],
            ]);
            let out = matches::get_matches(&g, &body).expect("response");
            assert_eq!(&out[..8], &[0; 8]);
            assert_eq!(out[8], 0xFF);
            let mut r = ReadCursor::new(&out[45..]);
            assert_eq!(r.u8("HasMinimalIds").unwrap(), 0xFF);
            let n = r.u32("MinimalIdCount").unwrap();
            (0..n).map(|_| r.u32("MId").unwrap()).collect()
        };
        let mid = |id: i64| Gal::mid(&user(id, "x", "x"));
        // Sorted by display name: Another Tester, Bob Builder, Test User.
        assert_eq!(mids("tes"), vec![mid(2), mid(1)]);
        assert_eq!(
            mids("TEST"),
            vec![mid(2), mid(1)],
            "exact alias does not hide prefixes"
        );
        assert_eq!(mids("builder"), vec![mid(3)]);
        assert_eq!(mids("SMTP:bob@exa"), vec![mid(3)]);
        assert_eq!(mids("someone@external.test"), Vec::<u32>::new());
        // ResolveNames uses the same set: "test" is ambiguous, "Test User" is not.
        assert_eq!(g.resolve("test").unwrap_err(), gal::MID_AMBIGUOUS);
        assert_eq!(g.resolve("test user").unwrap().id, 1);
        assert!(g.resolve("someone@external.test").is_err());
    }

    /// Every strict prefix of a valid request body is an error, never a panic; the full
    /// body succeeds.
    #[test]
    fn truncated_request_bodies_are_rejected() {
        let stat = [0u8; 36];
        let tags: &[u8] = &[1, 0, 0, 0, 0x1F, 0, 0x00, 0x3A];
        let name: &[u8] = &[b'a', 0, 0, 0];
        let cases: Vec<(Handler, Vec<u8>)> = vec![
            (unbind, le(&[&[0; 4], &[0; 4]])),
            (
                get_special_table,
                le(&[&[0; 4], &[0xFF], &stat, &[0xFF, 1, 0, 0, 0], &[0; 4]]),
            ),
            (
                query_rows,
                le(&[
                    &[0; 4],
                    &[0xFF],
                    &stat,
                    &[0; 4],
                    &[5, 0, 0, 0],
                    &[0xFF],
                    tags,
                    &[0; 4],
                ]),
            ),
            (
                get_props,
                le(&[&[0; 4], &[0xFF], &stat, &[0xFF], tags, &[0; 4]]),
            ),
            (
                get_prop_list,
                le(&[&[0; 4], &[1, 0x10, 0, 0], &[0xE4, 4, 0, 0], &[0; 4]]),
            ),
            (
                dn_to_mid,
                le(&[&[0; 4], &[0xFF, 1, 0, 0, 0], b"/o=x\0", &[0; 4]]),
            ),
            (
                resolve_names,
                le(&[
                    &[0; 4],
                    &[0xFF],
                    &stat,
                    &[0xFF],
                    tags,
                    &[0xFF, 1, 0, 0, 0],
                    name,
                    &[0; 4],
                ]),
            ),
            (
                update_stat,
                le(&[&[0; 4], &[0xFF], &stat, &[0xFF], &[0; 4]]),
            ),
        ];
        let g = gal();
        for (i, (handler, body)) in cases.iter().enumerate() {
            assert!(handler(&g, body).is_ok(), "case {i} full body");
            for cut in 0..body.len() {
                assert!(handler(&g, &body[..cut]).is_err(), "case {i} cut at {cut}");
            }
            let mut long = body.clone();
            long.push(0);
            assert!(handler(&g, &long).is_err(), "case {i} trailing byte");
        }
    }
}
