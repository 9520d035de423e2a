//! The address book (NSPI) endpoint over MAPI/HTTP: the request types of MS-OXCMAPIHTTP
//! 2.2.5, decoded and encoded with the typed bodies of `oxmapi_wire::mapihttp::nspi`, over
//! the transport-neutral operations of [`core`] (MS-OXNSPI 3.1.4.1). The GAL is the
//! organization's users (see [`gal`]).

pub(crate) mod core;
mod gal;
mod matches;

use oxmapi_wire::data::PropertyRow;
use oxmapi_wire::mapihttp::nspi::{
    BindRequest, BindSuccess, ColumnsAndRows, DnToMIdRequest, DnToMIdSuccess, GetMatchesRequest,
    GetMatchesSuccess, GetPropListRequest, GetPropsRequest, GetPropsSuccess,
    GetSpecialTableRequest, GetSpecialTableSuccess, LargePropertyTagArray, PropListSuccess,
    QueryRowsRequest, QueryRowsSuccess, ResolveNamesRequest, ResolveNamesSuccess, UnbindRequest,
    UnbindSuccess, UpdateStatRequest, UpdateStatSuccess,
};
use oxmapi_wire::mapihttp::{Response, ResponseBody};
use oxmapi_wire::{Decode, DecodeError, DecodeResult, Encode, ReadCursor, WriteCursor};

use self::core::{AddressBook, RowSet, Stat};
use crate::mapihttp::common::{Outcome, RequestInfo, ResponseCode, context_cookie, lookup};
use crate::session::Endpoint;
use crate::state::AppState;
use crate::store::UserRecord;

/// CP_WINUNICODE, the code page reported when the request's STAT names none.
const CP_WINUNICODE: u32 = 1200;

/// A request-type handler: request body in, response body out.
type Handler = fn(&AddressBook, &[u8]) -> DecodeResult<Vec<u8>>;

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
        return Outcome::body(Vec::new());
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
        "getmatches" => get_matches,
        _ => return Outcome::fail(ResponseCode::InvalidRequestType),
    };
    if let Err(code) = lookup(state, Endpoint::Nspi, user, info) {
        return Outcome::fail(code);
    }
    let book = match AddressBook::load(&state.store) {
        Ok(b) => b,
        Err(e) => {
            tracing::debug!("nspi {rt}: {e}");
            return Outcome::fail(ResponseCode::UnknownFailure);
        }
    };
    let out = match handler(&book, body) {
        Ok(out) => out,
        Err(e) => {
            tracing::debug!("nspi {rt}: {e}");
            return Outcome::fail(ResponseCode::InvalidRequestBody);
        }
    };
    if let ("unbind", Some(c)) = (rt.as_str(), &info.cookie) {
        state.sessions.remove(c);
    }
    Outcome::body(out)
}

/// Decodes a whole request body with its `oxmapi_wire` codec (nothing may follow the
/// auxiliary buffer).
fn decode<T: Decode>(body: &[u8]) -> DecodeResult<T> {
    let mut r = ReadCursor::new(body);
    let req = T::decode(&mut r)?;
    r.finish("AuxiliaryBuffer")?;
    Ok(req)
}

/// Encodes the success form of a response body (StatusCode 0, MS-OXCMAPIHTTP 2.2.5.x.2).
/// The values come from the GAL, so encoding cannot fail on them; a failure is reported as
/// an invalid body anyway.
fn encode<T: ResponseBody>(body: T) -> DecodeResult<Vec<u8>> {
    let mut w = WriteCursor::new();
    Response::Success(body)
        .encode(&mut w)
        .map_err(|e| DecodeError::invalid(T::NAME, 0, e.to_string()))?;
    Ok(w.into_inner())
}

/// The CodePage of a response: the request STAT's, or CP_WINUNICODE when it has none.
fn code_page(stat: Option<&Stat>) -> u32 {
    match stat.map(|s| s.code_page) {
        None | Some(0) => CP_WINUNICODE,
        Some(cp) => cp,
    }
}

/// Columns + RowCount + AddressBookPropertyRows (MS-OXCMAPIHTTP 2.2.1.7): a standard row
/// when every cell has a value, else a flagged one.
fn columns_and_rows(set: RowSet) -> ColumnsAndRows {
    ColumnsAndRows {
        rows: set.rows.into_iter().map(PropertyRow::from_values).collect(),
        columns: LargePropertyTagArray(set.columns),
    }
}

/// Bind (MS-OXCMAPIHTTP 2.2.5.1, MS-OXNSPI 3.1.4.1.1): creates the session context and
/// returns the server GUID.
fn bind(state: &AppState, user: &UserRecord, info: &RequestInfo<'_>, body: &[u8]) -> Outcome {
    if decode::<BindRequest>(body).is_err() {
        return Outcome::fail(ResponseCode::InvalidRequestBody);
    }
    let (guid, set_cookies) = match core::bind(&state.store) {
        Ok(guid) => {
            let cookie = state
                .sessions
                .create(Endpoint::Nspi, user.id, &info.request_id, None);
            (Ok(guid), vec![context_cookie(&cookie, Endpoint::Nspi)])
        }
        Err(code) => (Err(code), Vec::new()),
    };
    let body = BindSuccess {
        error_code: guid.map_or_else(|c| c.0, |_| 0),
        server_guid: guid.unwrap_or_default(),
        aux: Vec::new(),
    };
    match encode(body) {
        Ok(body) => Outcome {
            result: Ok(body),
            set_cookies,
        },
        Err(_) => Outcome::fail(ResponseCode::UnknownFailure),
    }
}

/// Unbind (2.2.5.2, MS-OXNSPI 3.1.4.1.2): UnbindSuccess; [`handle`] removes the context.
fn unbind(_: &AddressBook, body: &[u8]) -> DecodeResult<Vec<u8>> {
    decode::<UnbindRequest>(body)?;
    encode(UnbindSuccess {
        error_code: core::UNBIND_SUCCESS.0,
        aux: Vec::new(),
    })
}

/// GetSpecialTable (2.2.5.8, MS-OXNSPI 3.1.4.1.3); an absent Version is 0.
fn get_special_table(_: &AddressBook, body: &[u8]) -> DecodeResult<Vec<u8>> {
    let req: GetSpecialTableRequest = decode(body)?;
    let table = core::special_table(req.flags, req.version.unwrap_or(0));
    encode(GetSpecialTableSuccess {
        error_code: 0,
        code_page: code_page(req.state.as_ref()),
        version: Some(table.version),
        rows: Some(table.rows),
        aux: Vec::new(),
    })
}

/// QueryRows (2.2.5.13, MS-OXNSPI 3.1.4.1.8); an absent State is the zero STAT.
fn query_rows(book: &AddressBook, body: &[u8]) -> DecodeResult<Vec<u8>> {
    let req: QueryRowsRequest = decode(body)?;
    let stat = req.state.unwrap_or_default();
    let (stat, rows) = book.query_rows(
        &stat,
        Some(&req.explicit_table),
        req.row_count,
        req.columns.map(|c| c.0),
    );
    encode(QueryRowsSuccess {
        error_code: 0,
        state: Some(stat),
        columns_and_rows: Some(columns_and_rows(rows)),
        aux: Vec::new(),
    })
}

/// GetProps (2.2.5.7, MS-OXNSPI 3.1.4.1.7): the values, or no values with the error.
fn get_props(book: &AddressBook, body: &[u8]) -> DecodeResult<Vec<u8>> {
    let req: GetPropsRequest = decode(body)?;
    let stat = req.state.unwrap_or_default();
    let (error_code, property_values) = match book.get_props(&stat, req.property_tags.map(|t| t.0))
    {
        Ok(p) => (p.code.0, Some(p.values)),
        Err(e) => (e.0, None),
    };
    encode(GetPropsSuccess {
        error_code,
        code_page: code_page(req.state.as_ref()),
        property_values,
        aux: Vec::new(),
    })
}

/// GetPropList (2.2.5.6, MS-OXNSPI 3.1.4.1.6).
fn get_prop_list(book: &AddressBook, body: &[u8]) -> DecodeResult<Vec<u8>> {
    let req: GetPropListRequest = decode(body)?;
    let (error_code, property_tags) = match book.get_prop_list(req.mid) {
        Ok(tags) => (0, Some(LargePropertyTagArray(tags))),
        Err(e) => (e.0, None),
    };
    encode(PropListSuccess {
        error_code,
        property_tags,
        aux: Vec::new(),
    })
}

/// DNToMId (2.2.5.4, MS-OXNSPI 3.1.4.1.13): one MId per DN; no Names, no MinimalIds.
fn dn_to_mid(book: &AddressBook, body: &[u8]) -> DecodeResult<Vec<u8>> {
    let req: DnToMIdRequest = decode(body)?;
    let minimal_ids = req
        .names
        .map(|names| book.dn_to_mid(names.iter().map(|n| Some(n.as_str()))));
    encode(DnToMIdSuccess {
        error_code: 0,
        minimal_ids,
        aux: Vec::new(),
    })
}

/// ResolveNames (2.2.5.14, MS-OXNSPI 3.1.4.1.17 NspiResolveNamesW); no Names resolves none.
fn resolve_names(book: &AddressBook, body: &[u8]) -> DecodeResult<Vec<u8>> {
    let req: ResolveNamesRequest = decode(body)?;
    let names = req.names.unwrap_or_default();
    let (mids, rows) = book.resolve_names(&names, req.property_tags.map(|t| t.0));
    encode(ResolveNamesSuccess {
        error_code: 0,
        code_page: code_page(req.state.as_ref()),
        minimal_ids: Some(mids),
        columns_and_rows: Some(columns_and_rows(rows)),
        aux: Vec::new(),
    })
}

/// UpdateStat (2.2.5.17, MS-OXNSPI 3.1.4.1.4): Delta only when requested (constraint 7).
fn update_stat(book: &AddressBook, body: &[u8]) -> DecodeResult<Vec<u8>> {
    let req: UpdateStatRequest = decode(body)?;
    let (stat, moved) = book.update_stat(&req.state.unwrap_or_default());
    encode(UpdateStatSuccess {
        error_code: 0,
        state: Some(stat),
        delta: req.delta_requested.then_some(moved),
        aux: Vec::new(),
    })
}

/// GetMatches (2.2.5.5, MS-OXNSPI 3.1.4.1.10). The State comes back when the request had
/// one; on an error it is unchanged and MinimalIds and rows are absent (constraint 4).
fn get_matches(book: &AddressBook, body: &[u8]) -> DecodeResult<Vec<u8>> {
    let req: GetMatchesRequest = decode(body)?;
    let stat = req.state.unwrap_or_default();
    let found = book.get_matches(
        &stat,
        req.filter.as_ref(),
        req.property_name.is_some(),
        req.row_count,
        req.columns.map(|c| c.0),
    );
    let out = match found {
        Ok(m) => GetMatchesSuccess {
            error_code: 0,
            state: req.state.map(|_| m.stat),
            minimal_ids: Some(m.mids),
            columns_and_rows: m.rows.map(columns_and_rows),
            aux: Vec::new(),
        },
        Err(e) => GetMatchesSuccess {
            error_code: e.0,
            state: req.state,
            minimal_ids: None,
            columns_and_rows: None,
            aux: Vec::new(),
        },
    };
    encode(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxmapi_wire::data::{PropertyTag, PropertyValue, TaggedPropertyValue, ValueContext};

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

    fn book() -> AddressBook {
        AddressBook::new(vec![user(1, "alice", "Alice")])
    }

    fn le(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    /// MS-OXCMAPIHTTP 2.2.5.8.2: StatusCode, ErrorCode, CodePage, HasVersion, Version,
    /// HasRows, RowsCount, rows of (PropertyValueCount, AddressBookTaggedPropertyValues).
    #[test]
    fn special_table_row_has_the_listed_properties() {
        use oxmapi_wire::data::PropertyType;
        for (flags, string_type) in [(4u32, PropertyType::UNICODE), (0, PropertyType::STRING8)] {
            let body = le(&[&flags.to_le_bytes(), &[0x00, 0x00], &[0; 4]]);
            let out = get_special_table(&book(), &body).expect("response");
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
        let out = get_special_table(&book(), &le(&[&[2, 0, 0, 0], &[0, 0], &[0; 4]])).unwrap();
        assert_eq!(&out[17..22], &[0xFF, 0, 0, 0, 0]);
    }

    /// GetMatches (MS-OXCMAPIHTTP 2.2.5.5) with an ANR restriction (MS-OXNSPI 3.1.4.7):
    /// prefix matches of display name (and its words), alias and SMTP address.
    #[test]
    fn get_matches_anr_is_a_prefix_match() {
        use oxmapi_wire::data::restriction::{RELOP_EQ, Restriction};
        let b = AddressBook::new(vec![
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
            let out = get_matches(&b, &body).expect("response");
            assert_eq!(&out[..8], &[0; 8]);
            assert_eq!(out[8], 0xFF);
            let mut r = ReadCursor::new(&out[45..]);
            assert_eq!(r.u8("HasMinimalIds").unwrap(), 0xFF);
            let n = r.u32("MinimalIdCount").unwrap();
            let mids = (0..n).map(|_| r.u32("MId").unwrap()).collect();
            assert_eq!(r.u8("HasColumnsAndRows").unwrap(), 0x00);
            assert_eq!(r.u32("AuxiliaryBufferSize").unwrap(), 0);
            assert!(r.is_empty());
            mids
        };
        let mid = |id: i64| gal::Gal::mid(&user(id, "x", "x"));
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
    }

    /// A property to open as a table is NotSupported (MS-OXNSPI 3.1.4.1.10 constraint 12):
    /// the State comes back unchanged, without MinimalIds or rows (constraint 4).
    #[test]
    fn get_matches_on_a_named_property_is_not_supported() {
        let mut stat = [0u8; 36];
        stat[24..28].copy_from_slice(&1252u32.to_le_bytes());
        let body = le(&[
            &[0; 4],
            &[0xFF],
            &stat,
            &[0x00],
            &[0; 4],
            &[0x00],
            &[0xFF],
            &[7; 16],
            &[1, 0, 0, 0],
            &[10, 0, 0, 0],
            &[0x00],
            &[0; 4],
        ]);
        let out = get_matches(&book(), &body).unwrap();
        let mut want = le(&[&[0; 4], &0x8004_0102u32.to_le_bytes(), &[0xFF], &stat]);
        want.extend([0x00, 0x00, 0, 0, 0, 0]);
        assert_eq!(out, want);
    }

    /// Every strict prefix of a valid request body is an error, never a panic; the full
    /// body succeeds, and so does nothing longer.
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
            (
                get_matches,
                le(&[
                    &[0; 4],
                    &[0xFF],
                    &stat,
                    &[0x00],
                    &[0; 4],
                    &[0x00],
                    &[0x00],
                    &[5, 0, 0, 0],
                    &[0xFF],
                    tags,
                    &[0; 4],
                ]),
            ),
        ];
        let b = book();
        for (i, (handler, body)) in cases.iter().enumerate() {
            assert!(handler(&b, body).is_ok(), "case {i} full body");
            for cut in 0..body.len() {
                assert!(handler(&b, &body[..cut]).is_err(), "case {i} cut at {cut}");
            }
            let mut long = body.clone();
            long.push(0);
            assert!(handler(&b, &long).is_err(), "case {i} trailing byte");
        }
    }

    /// The response bodies decode with the client's codecs (the same `oxmapi_wire` types).
    #[test]
    fn responses_decode_with_the_wire_codecs() {
        use oxmapi_wire::mapihttp::nspi::{QueryRowsResponse, UpdateStatResponse};
        let mut stat = [0u8; 36];
        stat[12..16].copy_from_slice(&1i32.to_le_bytes());
        let body = le(&[&[0; 4], &[0xFF], &stat, &[0xFF], &[0; 4]]);
        let out = update_stat(&book(), &body).unwrap();
        let Response::Success(s) = UpdateStatResponse::decode(&mut ReadCursor::new(&out)).unwrap()
        else {
            panic!("failure body")
        };
        let state = s.state.unwrap();
        assert_eq!((state.current_rec, state.num_pos, state.delta), (2, 1, 0));
        assert_eq!(s.delta, Some(1));
        let body = le(&[&[0; 4], &[0x00], &[0; 4], &[5, 0, 0, 0], &[0x00], &[0; 4]]);
        let out = query_rows(&book(), &body).unwrap();
        let Response::Success(q) = QueryRowsResponse::decode(&mut ReadCursor::new(&out)).unwrap()
        else {
            panic!("failure body")
        };
        let cr = q.columns_and_rows.unwrap();
        assert_eq!(cr.columns.0, core::DEFAULT_COLUMNS);
        assert_eq!(cr.rows.len(), 1);
    }
}
