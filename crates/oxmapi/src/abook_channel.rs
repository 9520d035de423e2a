//! The address-book (NSPI) channel, whatever carries it: MAPI/HTTP (MS-OXCMAPIHTTP 2.2.5,
//! request bodies posted to the NSPI endpoint) or RPC over HTTP (MS-OXNSPI 3.1.4.1 NDR calls on
//! a DCE/RPC channel, MS-RPCH). Every call returns the MAPI/HTTP success body; over RPC/HTTP
//! the NDR response is converted into it (`PropertyRow_r` cells, each tagged, become a
//! [`ColumnsAndRows`] laid out by the requested columns), so the address-book code above is
//! written once. The NSPI result (`ErrorCode`/return value) is the caller's to judge.

use oxmapi_transport::{MapiHttpSession, NspiRpc};
use oxmapi_wire::data::{ErrorCode, PropertyRow, PropertyTag, PropertyType, Restriction, RowValue};
use oxmapi_wire::dcerpc::nspi_types::PropertyRowR;
use oxmapi_wire::mapihttp::Stat;
use oxmapi_wire::mapihttp::nspi::{
    ColumnsAndRows, DnToMIdRequest, DnToMIdResponse, DnToMIdSuccess, GetMatchesRequest,
    GetMatchesResponse, GetMatchesSuccess, GetPropsRequest, GetPropsResponse, GetPropsSuccess,
    GetSpecialTableRequest, GetSpecialTableResponse, GetSpecialTableSuccess, LargePropertyTagArray,
    QueryRowsRequest, QueryRowsResponse, QueryRowsSuccess, ResolveNamesRequest,
    ResolveNamesResponse, ResolveNamesSuccess, UnbindRequest,
};

use crate::channel::{decode, encode, post, rpc_error, success};
use crate::error::Error;

/// The bound address book of a session.
pub(crate) enum AddressBook {
    /// NSPI over MAPI/HTTP.
    Http(Box<MapiHttpSession>),
    /// NSPI over RPC/HTTP v2.
    Rpc(Box<NspiRpc>),
}

impl AddressBook {
    /// Requests so far: HTTP round trips for MAPI/HTTP; RPC calls plus the HTTP requests that
    /// set the channels up for RPC/HTTP.
    pub(crate) fn round_trips(&self) -> u64 {
        match self {
            Self::Http(h) => h.stats().http_round_trips,
            Self::Rpc(r) => {
                let st = r.channel().stats();
                st.calls + st.http.http_round_trips
            }
        }
    }

    /// NspiResolveNames / NspiResolveNamesW (MS-OXNSPI 3.1.4.1.17).
    pub(crate) async fn resolve_names(
        &mut self,
        step: &'static str,
        stat: Stat,
        names: &[&str],
        columns: Vec<PropertyTag>,
    ) -> Result<ResolveNamesSuccess, Error> {
        match self {
            Self::Http(h) => {
                let req = ResolveNamesRequest {
                    reserved: 0,
                    state: Some(stat),
                    property_tags: Some(LargePropertyTagArray(columns)),
                    names: Some(names.iter().map(|n| (*n).to_owned()).collect()),
                    aux: Vec::new(),
                };
                let body = post(h, step, "ResolveNames", encode(step, &req)?).await?;
                success(step, decode::<ResolveNamesResponse>(step, &body)?)
            }
            Self::Rpc(r) => {
                let resp = r
                    .resolve_names(stat, names, Some(columns.clone()))
                    .await
                    .map_err(|e| rpc_error(step, e))?;
                Ok(ResolveNamesSuccess {
                    error_code: resp.result.0,
                    code_page: stat.code_page,
                    minimal_ids: resp.mids,
                    columns_and_rows: resp.rows.map(|rows| columns_and_rows(&columns, rows)),
                    aux: Vec::new(),
                })
            }
        }
    }

    /// NspiGetMatches (MS-OXNSPI 3.1.4.1.10): up to `row_count` entries `filter` selects.
    pub(crate) async fn get_matches(
        &mut self,
        step: &'static str,
        stat: Stat,
        filter: Option<Restriction>,
        row_count: u32,
        columns: Vec<PropertyTag>,
    ) -> Result<GetMatchesSuccess, Error> {
        match self {
            Self::Http(h) => {
                let req = GetMatchesRequest {
                    state: Some(stat),
                    filter,
                    row_count,
                    columns: Some(LargePropertyTagArray(columns)),
                    ..GetMatchesRequest::default()
                };
                let body = post(h, step, "GetMatches", encode(step, &req)?).await?;
                success(step, decode::<GetMatchesResponse>(step, &body)?)
            }
            Self::Rpc(r) => {
                let resp = r
                    .get_matches(stat, filter, None, row_count, Some(columns.clone()))
                    .await
                    .map_err(|e| rpc_error(step, e))?;
                Ok(GetMatchesSuccess {
                    error_code: resp.result.0,
                    state: Some(resp.stat),
                    minimal_ids: resp.mids,
                    columns_and_rows: resp.rows.map(|rows| columns_and_rows(&columns, rows)),
                    aux: Vec::new(),
                })
            }
        }
    }

    /// NspiQueryRows (MS-OXNSPI 3.1.4.1.8): `row_count` rows from the STAT position, or the
    /// rows of `explicit_table` when it is not empty.
    pub(crate) async fn query_rows(
        &mut self,
        step: &'static str,
        flags: u32,
        stat: Stat,
        explicit_table: Vec<u32>,
        row_count: u32,
        columns: Vec<PropertyTag>,
    ) -> Result<QueryRowsSuccess, Error> {
        match self {
            Self::Http(h) => {
                let req = QueryRowsRequest {
                    flags,
                    state: Some(stat),
                    explicit_table,
                    row_count,
                    columns: Some(LargePropertyTagArray(columns)),
                    aux: Vec::new(),
                };
                let body = post(h, step, "QueryRows", encode(step, &req)?).await?;
                success(step, decode::<QueryRowsResponse>(step, &body)?)
            }
            Self::Rpc(r) => {
                let table = (!explicit_table.is_empty()).then_some(explicit_table);
                let resp = r
                    .query_rows(flags, stat, table, row_count, Some(columns.clone()))
                    .await
                    .map_err(|e| rpc_error(step, e))?;
                Ok(QueryRowsSuccess {
                    error_code: resp.result.0,
                    state: Some(resp.stat),
                    columns_and_rows: resp.rows.map(|rows| columns_and_rows(&columns, rows)),
                    aux: Vec::new(),
                })
            }
        }
    }

    /// NspiGetSpecialTable (MS-OXNSPI 3.1.4.1.3): the address-book hierarchy table.
    pub(crate) async fn get_special_table(
        &mut self,
        step: &'static str,
        flags: u32,
        stat: Stat,
        version: u32,
    ) -> Result<GetSpecialTableSuccess, Error> {
        match self {
            Self::Http(h) => {
                let req = GetSpecialTableRequest {
                    flags,
                    state: Some(stat),
                    version: Some(version),
                    aux: Vec::new(),
                };
                let body = post(h, step, "GetSpecialTable", encode(step, &req)?).await?;
                success(step, decode::<GetSpecialTableResponse>(step, &body)?)
            }
            Self::Rpc(r) => {
                let resp = r
                    .get_special_table(flags, stat, version)
                    .await
                    .map_err(|e| rpc_error(step, e))?;
                Ok(GetSpecialTableSuccess {
                    error_code: resp.result.0,
                    code_page: stat.code_page,
                    version: Some(resp.version),
                    rows: resp
                        .rows
                        .map(|rows| rows.into_iter().map(|r| r.values).collect()),
                    aux: Vec::new(),
                })
            }
        }
    }

    /// NspiGetProps (MS-OXNSPI 3.1.4.1.7) of the entry `stat.current_rec` names.
    #[allow(dead_code)] // part of the channel's surface; no public API reads single entries yet
    pub(crate) async fn get_props(
        &mut self,
        step: &'static str,
        flags: u32,
        stat: Stat,
        tags: Vec<PropertyTag>,
    ) -> Result<GetPropsSuccess, Error> {
        match self {
            Self::Http(h) => {
                let req = GetPropsRequest {
                    flags,
                    state: Some(stat),
                    property_tags: Some(LargePropertyTagArray(tags)),
                    aux: Vec::new(),
                };
                let body = post(h, step, "GetProps", encode(step, &req)?).await?;
                success(step, decode::<GetPropsResponse>(step, &body)?)
            }
            Self::Rpc(r) => {
                let resp = r
                    .get_props(flags, stat, Some(tags))
                    .await
                    .map_err(|e| rpc_error(step, e))?;
                Ok(GetPropsSuccess {
                    error_code: resp.result.0,
                    code_page: stat.code_page,
                    property_values: resp.row.map(|r| r.values),
                    aux: Vec::new(),
                })
            }
        }
    }

    /// NspiDNToMId (MS-OXNSPI 3.1.4.1.13): one MId per DN, 0 when unknown.
    pub(crate) async fn dn_to_mid(
        &mut self,
        step: &'static str,
        names: &[&str],
    ) -> Result<DnToMIdSuccess, Error> {
        match self {
            Self::Http(h) => {
                let req = DnToMIdRequest {
                    reserved: 0,
                    names: Some(names.iter().map(|n| (*n).to_owned()).collect()),
                    aux: Vec::new(),
                };
                let body = post(h, step, "DNToMId", encode(step, &req)?).await?;
                success(step, decode::<DnToMIdResponse>(step, &body)?)
            }
            Self::Rpc(r) => {
                let resp = r.dn_to_mid(names).await.map_err(|e| rpc_error(step, e))?;
                Ok(DnToMIdSuccess {
                    error_code: resp.result.0,
                    minimal_ids: resp.mids,
                    aux: Vec::new(),
                })
            }
        }
    }

    /// NspiUnbind (MS-OXNSPI 3.1.4.1.2).
    pub(crate) async fn unbind(&mut self) -> Result<(), Error> {
        const STEP: &str = "nspi-unbind";
        match self {
            Self::Http(h) => {
                let req = UnbindRequest::default();
                post(h, STEP, "Unbind", encode(STEP, &req)?).await?;
                Ok(())
            }
            Self::Rpc(r) => r.unbind().await.map_err(|e| rpc_error(STEP, e)),
        }
    }
}

/// NDR rows (each cell carries its tag) as MAPI/HTTP rows laid out by `columns`: cell `i`
/// belongs to column `i` (MS-OXNSPI 3.1.4.1.8: rows follow the requested column order); a
/// PtypErrorCode cell becomes NotFound (ecNotFound) or Error, a missing cell NotFound.
fn columns_and_rows(columns: &[PropertyTag], rows: Vec<PropertyRowR>) -> ColumnsAndRows {
    let rows = rows
        .into_iter()
        .map(|row| {
            let mut cells = row.values.into_iter();
            PropertyRow::from_values(
                columns
                    .iter()
                    .map(|col| match cells.next() {
                        Some(v) if v.tag.ty() == PropertyType::ERROR => {
                            let code = match v.value {
                                oxmapi_wire::data::PropertyValue::Error(c) => c,
                                _ => ErrorCode::NOT_FOUND,
                            };
                            if code == ErrorCode::NOT_FOUND {
                                RowValue::NotFound(col.ty())
                            } else {
                                RowValue::Error(col.ty(), code)
                            }
                        }
                        Some(v) => RowValue::Value(v.value),
                        None => RowValue::NotFound(col.ty()),
                    })
                    .collect(),
            )
        })
        .collect();
    ColumnsAndRows {
        columns: LargePropertyTagArray(columns.to_vec()),
        rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxmapi_wire::data::{PropertyValue, TaggedPropertyValue, tags};

    #[test]
    fn ndr_rows_become_columns_and_rows() {
        let cols = vec![
            tags::PidTagDisplayName,
            tags::PidTagSmtpAddress,
            tags::PidTagAccount,
        ];
        let row = PropertyRowR::new(vec![
            TaggedPropertyValue::new(
                tags::PidTagDisplayName,
                PropertyValue::Unicode("Alice".into()),
            ),
            TaggedPropertyValue::new(
                tags::PidTagSmtpAddress.with_type(PropertyType::ERROR),
                PropertyValue::Error(ErrorCode::NOT_FOUND),
            ),
        ]);
        let cr = columns_and_rows(&cols, vec![row]);
        assert_eq!(cr.columns.0, cols);
        let cells = &cr.rows[0].values;
        assert_eq!(
            cells[0],
            RowValue::Value(PropertyValue::Unicode("Alice".into()))
        );
        assert_eq!(cells[1], RowValue::NotFound(tags::PidTagSmtpAddress.ty()));
        assert_eq!(cells[2], RowValue::NotFound(tags::PidTagAccount.ty()));
        assert!(cr.rows[0].flagged);
    }
}
