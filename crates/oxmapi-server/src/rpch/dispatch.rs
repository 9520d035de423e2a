//! The calls of the three interfaces a virtual connection serves, over the NDR stubs of
//! `oxmapi_wire::dcerpc::{emsmdb, nspi}`: EMSMDB (MS-OXCRPC 3.1.4: EcDoConnectEx,
//! EcDoRpcExt2, EcDoDisconnect), NSPI (MS-OXNSPI 3.1.4.1 over the GAL of `crate::nspi::gal`)
//! and RFR (MS-OXABREF 3.1.4). Context handles belong to the virtual connection.

use std::collections::{HashMap, HashSet};

use oxmapi_wire::data::{
    ErrorCode, PropertyTag, PropertyType, PropertyValue, TaggedPropertyValue, tags,
};
use oxmapi_wire::dcerpc::emsmdb::{
    EcDoConnectExRequest, EcDoConnectExResponse, EcDoDisconnectRequest, EcDoDisconnectResponse,
    EcDoRpcExt2Request, EcDoRpcExt2Response, OPNUM_EC_DO_CONNECT_EX, OPNUM_EC_DO_DISCONNECT,
    OPNUM_EC_DO_RPC_EXT2,
};
use oxmapi_wire::dcerpc::ndr::{ContextHandle, NdrCodec};
use oxmapi_wire::dcerpc::nspi::{
    NspiBindRequest, NspiBindResponse, NspiDnToMIdRequest, NspiDnToMIdResponse,
    NspiGetMatchesRequest, NspiGetMatchesResponse, NspiGetPropsRequest, NspiGetPropsResponse,
    NspiGetSpecialTableRequest, NspiGetSpecialTableResponse, NspiQueryRowsRequest,
    NspiQueryRowsResponse, NspiResolveNamesWRequest, NspiResolveNamesWResponse, NspiUnbindRequest,
    NspiUnbindResponse, RfrGetFqdnFromServerDnRequest, RfrGetFqdnFromServerDnResponse,
    RfrGetNewDsaRequest, RfrGetNewDsaResponse, opnum,
};
use oxmapi_wire::dcerpc::nspi_types::{PropertyRowR, Stat};
use oxmapi_wire::dcerpc::{FaultStatus, Uuid};

use super::server::{CallOutcome, Dispatch, Interface};
use crate::emsmdb::MailboxContext;
use crate::http::AppState;
use crate::nspi::gal::{self, Gal, MID_BEGINNING_OF_TABLE, MID_END_OF_TABLE};
use crate::store::UserRecord;

/// NspiUnbind's UNBIND_SUCCESS (MS-OXNSPI 3.1.4.1.2).
const UNBIND_SUCCESS: ErrorCode = ErrorCode(1);
/// NspiGetSpecialTable dwFlags NspiUnicodeStrings (MS-OXNSPI 2.2.1.2).
const NSPI_UNICODE_STRINGS: u32 = 0x4;
/// Largest rows one NspiQueryRows returns.
const MAX_ROWS: usize = 1000;
/// The largest AUX output we write into (MS-OXCRPC 3.1.4.1: pcbAuxOut ≤ 0x1008).
const MAX_AUX_OUT: u32 = 0x1008;

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

/// The call handlers of one virtual connection, for the user its HTTP channels authenticated.
pub(crate) struct Calls<'a> {
    state: &'a AppState,
    user: UserRecord,
    mailboxes: HashMap<Uuid, MailboxContext>,
    nspi_handles: HashSet<Uuid>,
}

impl<'a> Calls<'a> {
    /// Handlers for `user`.
    pub(crate) fn new(state: &'a AppState, user: UserRecord) -> Self {
        Self {
            state,
            user,
            mailboxes: HashMap::new(),
            nspi_handles: HashSet::new(),
        }
    }
}

impl Drop for Calls<'_> {
    fn drop(&mut self) {
        for handle in self.mailboxes.keys() {
            self.state.rpch.set_objects(*handle, None);
        }
    }
}

impl Dispatch for Calls<'_> {
    fn call(&mut self, iface: Interface, op: u16, stub: &[u8]) -> CallOutcome {
        match self.call_inner(iface, op, stub) {
            Ok(stub) => CallOutcome::Stub(stub),
            Err(status) => CallOutcome::Fault(status),
        }
    }
}

impl Calls<'_> {
    fn call_inner(
        &mut self,
        iface: Interface,
        op: u16,
        stub: &[u8],
    ) -> Result<Vec<u8>, FaultStatus> {
        match (iface, op) {
            (Interface::Emsmdb, OPNUM_EC_DO_CONNECT_EX) => run(stub, |r| self.connect_ex(r)),
            (Interface::Emsmdb, OPNUM_EC_DO_RPC_EXT2) => run(stub, |r| self.rpc_ext2(r)),
            (Interface::Emsmdb, OPNUM_EC_DO_DISCONNECT) => run(stub, |r| self.disconnect(r)),
            (Interface::Nspi, opnum::BIND) => run(stub, |r| self.nspi_bind(r)),
            (Interface::Nspi, opnum::UNBIND) => run(stub, |r| self.nspi_unbind(r)),
            (Interface::Nspi, opnum::GET_SPECIAL_TABLE) => {
                let req = decode(stub, super::quirks::special_table_unique)?;
                respond(self.special_table(req))
            }
            (Interface::Nspi, opnum::QUERY_ROWS) => run(stub, |r| self.query_rows(r)),
            (Interface::Nspi, opnum::GET_MATCHES) => run(stub, |r| self.get_matches(r)),
            (Interface::Nspi, opnum::RESOLVE_NAMES_W) => run(stub, |r| self.resolve_names(r)),
            (Interface::Nspi, opnum::GET_PROPS) => {
                let req = decode(stub, super::quirks::get_props_unique)?;
                respond(self.get_props(req))
            }
            (Interface::Nspi, opnum::DN_TO_MID) => run(stub, |r| self.dn_to_mid(r)),
            (Interface::Rfr, opnum::RFR_GET_NEW_DSA) => run(stub, |r| self.get_new_dsa(r)),
            (Interface::Rfr, opnum::RFR_GET_FQDN_FROM_SERVER_DN) => run(stub, |r| self.get_fqdn(r)),
            _ => Err(FaultStatus::NCA_OP_RNG_ERROR),
        }
    }
}

/// Decodes the request, runs the handler, encodes the response; a bad stub is
/// RPC_X_BAD_STUB_DATA (nca_s_fault_ndr).
fn run<Req: NdrCodec, Resp: NdrCodec>(
    stub: &[u8],
    handler: impl FnOnce(Req) -> Result<Resp, FaultStatus>,
) -> Result<Vec<u8>, FaultStatus> {
    let req = Req::from_stub(stub).map_err(|e| {
        tracing::debug!("rpc stub: {e}");
        FaultStatus::NCA_S_FAULT_NDR
    })?;
    respond(handler(req))
}

/// Decodes a request stub, falling back to a quirk decoder (see `super::quirks`).
fn decode<Req: NdrCodec>(
    stub: &[u8],
    quirk: fn(&[u8]) -> oxmapi_wire::DecodeResult<Req>,
) -> Result<Req, FaultStatus> {
    Req::from_stub(stub).or_else(|_| quirk(stub)).map_err(|e| {
        tracing::debug!("rpc stub: {e}");
        FaultStatus::NCA_S_FAULT_NDR
    })
}

fn respond<Resp: NdrCodec>(resp: Result<Resp, FaultStatus>) -> Result<Vec<u8>, FaultStatus> {
    resp?
        .to_stub()
        .map_err(|_| FaultStatus::NCA_S_FAULT_REMOTE_NO_MEMORY)
}

fn new_handle() -> Uuid {
    Uuid(*uuid::Uuid::new_v4().as_bytes())
}

/// The fault the RPC runtime raises for an unknown context handle.
const BAD_HANDLE: FaultStatus = FaultStatus::NCA_S_FAULT_CONTEXT_MISMATCH;

impl Calls<'_> {
    /// EcDoConnectEx (MS-OXCRPC 3.1.4.1): the same checks as the MAPI/HTTP Connect — szUserDN
    /// must be the authenticated user's legacy DN.
    fn connect_ex(
        &mut self,
        req: EcDoConnectExRequest,
    ) -> Result<EcDoConnectExResponse, FaultStatus> {
        let org = self
            .state
            .store
            .org()
            .ok()
            .flatten()
            .ok_or(FaultStatus::NCA_S_FAULT_REMOTE_NO_MEMORY)?;
        let result = if req.user_dn.eq_ignore_ascii_case(&self.user.legacy_dn) {
            ErrorCode::SUCCESS
        } else if matches!(self.state.store.user_by_dn(&req.user_dn), Ok(Some(_))) {
            ErrorCode::LOGIN_PERM
        } else {
            ErrorCode::UNKNOWN_USER
        };
        let mut resp = EcDoConnectExResponse {
            handle: ContextHandle::default(),
            polls_max: 60_000,
            retry: 6,
            retry_delay: 10_000,
            icxr: 0,
            dn_prefix: None,
            display_name: None,
            // 15.2.1544.4 in the "new" WORD-triple form (high bit of WORD 1 set: major<<8|minor,
            // 0x8000|build, revision), the form MS-OXCRPC 3.1.4.1.3 clients decode.
            server_version: [0x0F02, 0x8000 | 1544, 4],
            best_version: req.client_version,
            timestamp: req.timestamp,
            aux_out: Vec::new(),
            result,
        };
        if result != ErrorCode::SUCCESS {
            return Ok(resp);
        }
        let handle = new_handle();
        let mailbox = MailboxContext::new(
            self.user.clone(),
            self.state.store.clone(),
            org.public_folders,
        )
        .with_limits(&self.state.config.limits);
        self.state
            .rpch
            .set_objects(handle, Some(mailbox.object_count()));
        self.mailboxes.insert(handle, mailbox);
        resp.handle = ContextHandle::new(handle);
        resp.icxr = u16::try_from(self.mailboxes.len()).unwrap_or(u16::MAX);
        resp.dn_prefix = Some(format!(
            "/o={}/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)",
            org.name
        ));
        resp.display_name = Some(self.user.display_name.clone());
        let aux = crate::mapihttp::exorginfo_aux(org.public_folders);
        if u32::try_from(aux.len()).is_ok_and(|n| n <= req.max_aux_out.min(MAX_AUX_OUT)) {
            resp.aux_out = aux;
        }
        Ok(resp)
    }

    /// EcDoRpcExt2 (MS-OXCRPC 3.1.4.2): rgbIn through the session's ROP processor.
    fn rpc_ext2(&mut self, req: EcDoRpcExt2Request) -> Result<EcDoRpcExt2Response, FaultStatus> {
        let mailbox = self.mailboxes.get_mut(&req.handle.uuid).ok_or(BAD_HANDLE)?;
        let (result, rgb_out) = match mailbox.execute(req.flags, &req.rgb_in, req.max_out) {
            Ok(out) => (ErrorCode::SUCCESS, out),
            Err(e) => (e, Vec::new()),
        };
        self.state
            .rpch
            .set_objects(req.handle.uuid, Some(mailbox.object_count()));
        Ok(EcDoRpcExt2Response {
            handle: req.handle,
            flags: 0,
            rgb_out,
            aux_out: Vec::new(),
            trans_time: 0,
            result,
        })
    }

    /// EcDoDisconnect (MS-OXCRPC 3.1.4.3): destroys the session context.
    fn disconnect(
        &mut self,
        req: EcDoDisconnectRequest,
    ) -> Result<EcDoDisconnectResponse, FaultStatus> {
        self.mailboxes.remove(&req.handle.uuid).ok_or(BAD_HANDLE)?;
        self.state.rpch.set_objects(req.handle.uuid, None);
        Ok(EcDoDisconnectResponse {
            handle: ContextHandle::default(),
            result: ErrorCode::SUCCESS,
        })
    }

    /// NspiBind (MS-OXNSPI 3.1.4.1.1): a new handle and the server GUID.
    fn nspi_bind(&mut self, _req: NspiBindRequest) -> Result<NspiBindResponse, FaultStatus> {
        let org = self.state.store.org().ok().flatten();
        let handle = new_handle();
        self.nspi_handles.insert(handle);
        Ok(NspiBindResponse {
            server_guid: org.map(|o| Uuid(o.server_guid)),
            handle: ContextHandle::new(handle),
            result: ErrorCode::SUCCESS,
        })
    }

    /// NspiUnbind (3.1.4.1.2).
    fn nspi_unbind(&mut self, req: NspiUnbindRequest) -> Result<NspiUnbindResponse, FaultStatus> {
        self.nspi_handles.remove(&req.handle.uuid);
        Ok(NspiUnbindResponse {
            handle: ContextHandle::default(),
            result: UNBIND_SUCCESS,
        })
    }

    fn gal(&self, handle: &ContextHandle) -> Result<Gal, FaultStatus> {
        if !self.nspi_handles.contains(&handle.uuid) {
            return Err(BAD_HANDLE);
        }
        let users = self
            .state
            .store
            .all_users()
            .map_err(|_| FaultStatus::NCA_S_FAULT_REMOTE_NO_MEMORY)?;
        Ok(Gal::new(users))
    }

    /// NspiGetSpecialTable (3.1.4.1.3): the hierarchy table has one container, the GAL.
    fn special_table(
        &mut self,
        req: NspiGetSpecialTableRequest,
    ) -> Result<NspiGetSpecialTableResponse, FaultStatus> {
        self.gal(&req.handle)?;
        let name = if req.flags & NSPI_UNICODE_STRINGS != 0 {
            PropertyValue::Unicode(String::new())
        } else {
            PropertyValue::String8(Vec::new())
        };
        let row = PropertyRowR::new(vec![
            TaggedPropertyValue::new(
                tags::PidTagEntryId,
                PropertyValue::Binary(gal::permanent_entry_id("/")),
            ),
            TaggedPropertyValue::new(tags::PidTagContainerFlags, PropertyValue::Int32(0x9)),
            TaggedPropertyValue::new(tags::PidTagDepth, PropertyValue::Int32(0)),
            TaggedPropertyValue::new(tags::PidTagAddressBookContainerId, PropertyValue::Int32(0)),
            TaggedPropertyValue {
                tag: tags::PidTagDisplayName.with_type(name.ty()),
                value: name,
            },
        ]);
        Ok(NspiGetSpecialTableResponse {
            version: req.version.max(1),
            rows: Some(vec![row]),
            result: ErrorCode::SUCCESS,
        })
    }

    /// NspiQueryRows (3.1.4.1.8): rows of an explicit table, or of the GAL from the STAT's
    /// position; the STAT returned points after the last row.
    fn query_rows(
        &mut self,
        req: NspiQueryRowsRequest,
    ) -> Result<NspiQueryRowsResponse, FaultStatus> {
        let gal = self.gal(&req.handle)?;
        let columns = req.prop_tags.unwrap_or_else(|| DEFAULT_COLUMNS.to_vec());
        let count = usize::try_from(req.count).unwrap_or(MAX_ROWS).min(MAX_ROWS);
        let mut stat = req.stat;
        let rows = match req.table {
            Some(mids) if !mids.is_empty() => mids
                .iter()
                .take(count.max(1))
                .map(|&mid| match gal.by_mid(mid) {
                    Some(u) => row(&gal, u, &columns),
                    None => error_row(&columns),
                })
                .collect(),
            _ => {
                let start = position(&gal, &req.stat);
                let end = start.saturating_add(count).min(gal.users.len());
                stat.current_rec = gal.users.get(end).map_or(MID_END_OF_TABLE, Gal::mid);
                stat.num_pos = u32::try_from(end).unwrap_or(u32::MAX);
                gal.users
                    .get(start..end)
                    .unwrap_or_default()
                    .iter()
                    .map(|u| row(&gal, u, &columns))
                    .collect()
            }
        };
        stat.delta = 0;
        stat.total_recs = u32::try_from(gal.users.len()).unwrap_or(u32::MAX);
        Ok(NspiQueryRowsResponse {
            stat,
            rows: Some(rows),
            result: ErrorCode::SUCCESS,
        })
    }

    /// NspiGetMatches (3.1.4.1.10): the first `requested` GAL entries the Filter selects (all
    /// entries for a null Filter), evaluated as the MAPI/HTTP GetMatches does.
    fn get_matches(
        &mut self,
        req: NspiGetMatchesRequest,
    ) -> Result<NspiGetMatchesResponse, FaultStatus> {
        let gal = self.gal(&req.handle)?;
        if req.prop_name.is_some() {
            return Ok(NspiGetMatchesResponse {
                stat: req.stat,
                mids: None,
                rows: None,
                result: ErrorCode::NO_SUPPORT,
            });
        }
        let limit = usize::try_from(req.requested)
            .unwrap_or(MAX_ROWS)
            .min(MAX_ROWS);
        let matched: Vec<&UserRecord> = gal
            .users
            .iter()
            .filter(|u| {
                req.filter
                    .as_ref()
                    .is_none_or(|f| crate::nspi::matches::matches(&gal, u, f))
            })
            .take(limit)
            .collect();
        let rows = req
            .prop_tags
            .map(|cols| matched.iter().map(|u| row(&gal, u, &cols)).collect());
        Ok(NspiGetMatchesResponse {
            stat: req.stat,
            mids: Some(matched.iter().map(|u| Gal::mid(u)).collect()),
            rows,
            result: ErrorCode::SUCCESS,
        })
    }

    /// NspiResolveNamesW (3.1.4.1.17): one MId per name and one row per resolved name, by the
    /// ANR rules the MAPI/HTTP ResolveNames uses ([`Gal::resolve_names`]).
    fn resolve_names(
        &mut self,
        req: NspiResolveNamesWRequest,
    ) -> Result<NspiResolveNamesWResponse, FaultStatus> {
        let gal = self.gal(&req.handle)?;
        let columns = req.prop_tags.unwrap_or_else(|| DEFAULT_COLUMNS.to_vec());
        let names = req.names.iter().map(|n| n.as_deref().unwrap_or(""));
        let (mids, resolved) = gal.resolve_names(names);
        let rows: Vec<_> = resolved.iter().map(|u| row(&gal, u, &columns)).collect();
        Ok(NspiResolveNamesWResponse {
            mids: Some(mids),
            rows: Some(rows),
            result: ErrorCode::SUCCESS,
        })
    }

    /// NspiGetProps (3.1.4.1.7): properties of the entry STAT.CurrentRec names.
    fn get_props(&mut self, req: NspiGetPropsRequest) -> Result<NspiGetPropsResponse, FaultStatus> {
        let gal = self.gal(&req.handle)?;
        let Some(user) = gal.by_mid(req.stat.current_rec) else {
            return Ok(NspiGetPropsResponse {
                row: None,
                result: ErrorCode::NOT_FOUND,
            });
        };
        let tags = req.prop_tags.unwrap_or_else(|| gal::ENTRY_PROPS.to_vec());
        let r = row(&gal, user, &tags);
        let missing = r.values.iter().any(|v| v.tag.ty() == PropertyType::ERROR);
        Ok(NspiGetPropsResponse {
            row: Some(r),
            result: if missing {
                ErrorCode::WARN_ERRORS_RETURNED
            } else {
                ErrorCode::SUCCESS
            },
        })
    }

    /// NspiDNToMId (3.1.4.1.13): one MId per DN, 0 when unknown.
    fn dn_to_mid(&mut self, req: NspiDnToMIdRequest) -> Result<NspiDnToMIdResponse, FaultStatus> {
        let gal = self.gal(&req.handle)?;
        let mids = req
            .names
            .iter()
            .map(|dn| dn.as_deref().and_then(|d| gal.by_dn(d)).map_or(0, Gal::mid))
            .collect();
        Ok(NspiDnToMIdResponse {
            mids: Some(mids),
            result: ErrorCode::SUCCESS,
        })
    }

    /// RfrGetNewDSA (MS-OXABREF 3.1.4.1): the NSPI server is the user's personalized server.
    fn get_new_dsa(
        &mut self,
        req: RfrGetNewDsaRequest,
    ) -> Result<RfrGetNewDsaResponse, FaultStatus> {
        Ok(RfrGetNewDsaResponse {
            unused: req.unused,
            server: Some(Some(self.user.personalized_server_name.clone())),
            result: ErrorCode::SUCCESS,
        })
    }

    /// RfrGetFQDNFromServerDN (MS-OXABREF 3.1.4.2): the last `cn=` of the DN, else the user's
    /// personalized server name.
    fn get_fqdn(
        &mut self,
        req: RfrGetFqdnFromServerDnRequest,
    ) -> Result<RfrGetFqdnFromServerDnResponse, FaultStatus> {
        let lower = req.server_dn.to_ascii_lowercase();
        let fqdn = match lower.rfind("/cn=") {
            Some(i) => req.server_dn.get(i + 4..).unwrap_or("").to_owned(),
            None => self.user.personalized_server_name.clone(),
        };
        Ok(RfrGetFqdnFromServerDnResponse {
            fqdn: Some(fqdn),
            result: ErrorCode::SUCCESS,
        })
    }
}

/// Index in the GAL the STAT designates (CurrentRec, else NumPos).
fn position(gal: &Gal, stat: &Stat) -> usize {
    match stat.current_rec {
        MID_BEGINNING_OF_TABLE => (stat.num_pos as usize).min(gal.users.len()),
        MID_END_OF_TABLE => gal.users.len(),
        mid => gal.position(mid).unwrap_or(0),
    }
}

/// One row: each column's value, or PtypErrorCode ecNotFound (MS-OXNSPI 3.1.4.1.8).
fn row(gal: &Gal, user: &UserRecord, columns: &[PropertyTag]) -> PropertyRowR {
    PropertyRowR::new(
        columns
            .iter()
            .map(|c| match gal.value(user, *c) {
                Some(v) => TaggedPropertyValue {
                    tag: c.with_type(v.ty()),
                    value: v,
                },
                None => not_found(*c),
            })
            .collect(),
    )
}

fn error_row(columns: &[PropertyTag]) -> PropertyRowR {
    PropertyRowR::new(columns.iter().map(|c| not_found(*c)).collect())
}

fn not_found(tag: PropertyTag) -> TaggedPropertyValue {
    TaggedPropertyValue {
        tag: tag.with_type(PropertyType::ERROR),
        value: PropertyValue::Error(ErrorCode::NOT_FOUND),
    }
}
