//! The calls of the three interfaces a virtual connection serves, over the NDR stubs of
//! `oxmapi_wire::dcerpc::{emsmdb, nspi}`: EMSMDB (MS-OXCRPC 3.1.4: EcDoConnectEx,
//! EcDoRpcExt2, EcDoDisconnect), NSPI (MS-OXNSPI 3.1.4.1: the stubs adapted to the
//! transport-neutral operations of `crate::nspi::core`, which the MAPI/HTTP endpoint shares)
//! and RFR (MS-OXABREF 3.1.4). Context handles belong to the virtual connection.

use std::collections::{HashMap, HashSet};

use oxmapi_wire::data::ErrorCode;
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
use oxmapi_wire::dcerpc::nspi_types::PropertyRowR;
use oxmapi_wire::dcerpc::{FaultStatus, Uuid};

use super::server::{CallOutcome, Dispatch, Interface};
use crate::emsmdb::MailboxContext;
use crate::mapihttp::common::exorginfo_aux;
use crate::nspi::core::{self as nspi, AddressBook, RowSet};
use crate::state::AppState;
use crate::store::UserRecord;

/// The largest AUX output we write into (MS-OXCRPC 3.1.4.1: pcbAuxOut ≤ 0x1008).
const MAX_AUX_OUT: u32 = 0x1008;

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
        let aux = exorginfo_aux(org.public_folders);
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

    /// NspiBind (MS-OXNSPI 3.1.4.1.1): a new context handle; the server GUID goes back only
    /// when the client passed a pServerGuid (constraint 6).
    fn nspi_bind(&mut self, req: NspiBindRequest) -> Result<NspiBindResponse, FaultStatus> {
        let guid = match nspi::bind(&self.state.store) {
            Ok(guid) => guid,
            Err(result) => {
                return Ok(NspiBindResponse {
                    server_guid: None,
                    handle: ContextHandle::default(),
                    result,
                });
            }
        };
        let handle = new_handle();
        self.nspi_handles.insert(handle);
        Ok(NspiBindResponse {
            server_guid: req.server_guid.map(|_| Uuid(guid)),
            handle: ContextHandle::new(handle),
            result: ErrorCode::SUCCESS,
        })
    }

    /// NspiUnbind (3.1.4.1.2): UnbindSuccess and a null handle (constraints 1, 3).
    fn nspi_unbind(&mut self, req: NspiUnbindRequest) -> Result<NspiUnbindResponse, FaultStatus> {
        self.nspi_handles.remove(&req.handle.uuid);
        Ok(NspiUnbindResponse {
            handle: ContextHandle::default(),
            result: nspi::UNBIND_SUCCESS,
        })
    }

    /// A handle this connection issued, else the RPC runtime's context fault.
    fn check_handle(&self, handle: &ContextHandle) -> Result<(), FaultStatus> {
        if self.nspi_handles.contains(&handle.uuid) {
            Ok(())
        } else {
            Err(BAD_HANDLE)
        }
    }

    /// The address book behind a valid handle.
    fn book(&self, handle: &ContextHandle) -> Result<AddressBook, FaultStatus> {
        self.check_handle(handle)?;
        AddressBook::load(&self.state.store).map_err(|e| {
            tracing::debug!("nspi: {e}");
            FaultStatus::NCA_S_FAULT_REMOTE_NO_MEMORY
        })
    }

    /// NspiGetSpecialTable (3.1.4.1.3).
    fn special_table(
        &mut self,
        req: NspiGetSpecialTableRequest,
    ) -> Result<NspiGetSpecialTableResponse, FaultStatus> {
        self.check_handle(&req.handle)?;
        let table = nspi::special_table(req.flags, req.version);
        Ok(NspiGetSpecialTableResponse {
            version: table.version,
            rows: Some(table.rows.into_iter().map(PropertyRowR::new).collect()),
            result: ErrorCode::SUCCESS,
        })
    }

    /// NspiQueryRows (3.1.4.1.8).
    fn query_rows(
        &mut self,
        req: NspiQueryRowsRequest,
    ) -> Result<NspiQueryRowsResponse, FaultStatus> {
        let book = self.book(&req.handle)?;
        let (stat, rows) =
            book.query_rows(&req.stat, req.table.as_deref(), req.count, req.prop_tags);
        Ok(NspiQueryRowsResponse {
            stat,
            rows: Some(row_set(&rows)),
            result: ErrorCode::SUCCESS,
        })
    }

    /// NspiGetMatches (3.1.4.1.10): on an error pStat is unchanged and ppOutMIds and ppRows
    /// are null (constraint 4).
    fn get_matches(
        &mut self,
        req: NspiGetMatchesRequest,
    ) -> Result<NspiGetMatchesResponse, FaultStatus> {
        let book = self.book(&req.handle)?;
        let found = book.get_matches(
            &req.stat,
            req.filter.as_ref(),
            req.prop_name.is_some(),
            req.requested,
            req.prop_tags,
        );
        Ok(match found {
            Ok(m) => NspiGetMatchesResponse {
                stat: m.stat,
                mids: Some(m.mids),
                rows: m.rows.as_ref().map(row_set),
                result: ErrorCode::SUCCESS,
            },
            Err(result) => NspiGetMatchesResponse {
                stat: req.stat,
                mids: None,
                rows: None,
                result,
            },
        })
    }

    /// NspiResolveNamesW (3.1.4.1.17); a null string is MID_UNRESOLVED (3.1.4.7).
    fn resolve_names(
        &mut self,
        req: NspiResolveNamesWRequest,
    ) -> Result<NspiResolveNamesWResponse, FaultStatus> {
        let book = self.book(&req.handle)?;
        let names = req.names.iter().map(|n| n.as_deref().unwrap_or(""));
        let (mids, rows) = book.resolve_names(names, req.prop_tags);
        Ok(NspiResolveNamesWResponse {
            mids: Some(mids),
            rows: Some(row_set(&rows)),
            result: ErrorCode::SUCCESS,
        })
    }

    /// NspiGetProps (3.1.4.1.7): the row, or a null row with the error (constraint 2).
    fn get_props(&mut self, req: NspiGetPropsRequest) -> Result<NspiGetPropsResponse, FaultStatus> {
        let book = self.book(&req.handle)?;
        Ok(match book.get_props(&req.stat, req.prop_tags) {
            Ok(p) => NspiGetPropsResponse {
                row: Some(PropertyRowR::new(p.values)),
                result: p.code,
            },
            Err(result) => NspiGetPropsResponse { row: None, result },
        })
    }

    /// NspiDNToMId (3.1.4.1.13).
    fn dn_to_mid(&mut self, req: NspiDnToMIdRequest) -> Result<NspiDnToMIdResponse, FaultStatus> {
        let book = self.book(&req.handle)?;
        let mids = book.dn_to_mid(req.names.iter().map(|n| n.as_deref()));
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

/// A PropertyRowSet_r (MS-OXNSPI 2.2.4): cells without a value as PtypErrorCode.
fn row_set(rows: &RowSet) -> Vec<PropertyRowR> {
    rows.tagged_rows()
        .into_iter()
        .map(PropertyRowR::new)
        .collect()
}
