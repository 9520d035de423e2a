//! NSPI over an RPC channel ([MS-OXNSPI 3.1.4](https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-oxnspi/)):
//! the calls a logon and an address book browser need. Responses are returned whole; their
//! `result` is the caller's to judge (NSPI uses warnings such as MAPI_W_ERRORS_RETURNED), except
//! for NspiBind, whose failure leaves no handle.

use oxmapi_wire::data::{PropertyTag, Restriction};
use oxmapi_wire::dcerpc::Uuid;
use oxmapi_wire::dcerpc::ndr::{ContextHandle, NdrCodec};
use oxmapi_wire::dcerpc::nspi::{
    NspiBindRequest, NspiBindResponse, NspiDnToMIdRequest, NspiDnToMIdResponse,
    NspiGetMatchesRequest, NspiGetMatchesResponse, NspiGetPropsRequest, NspiGetPropsResponse,
    NspiGetSpecialTableRequest, NspiGetSpecialTableResponse, NspiQueryRowsRequest,
    NspiQueryRowsResponse, NspiResolveNamesWRequest, NspiResolveNamesWResponse, NspiUnbindRequest,
    NspiUnbindResponse, opnum,
};
use oxmapi_wire::dcerpc::nspi_types::{PropertyNameR, Stat};

use super::channel::RpcChannel;
use super::error::RpcError;

/// An NSPI session on an [`RpcChannel`] bound to [`super::RpcPort::Nspi`].
#[derive(Debug)]
pub struct NspiRpc {
    channel: RpcChannel,
    handle: Option<ContextHandle>,
}

impl NspiRpc {
    /// Wraps a channel bound to the NSPI interface.
    pub fn new(channel: RpcChannel) -> Self {
        Self {
            channel,
            handle: None,
        }
    }

    /// MS-OXNSPI 3.1.4.1.1 NspiBind; keeps the handle and returns the server GUID.
    pub async fn bind(&mut self, stat: Stat) -> Result<Option<Uuid>, RpcError> {
        let request = NspiBindRequest {
            flags: 0,
            stat,
            server_guid: Some(Uuid::NIL),
        };
        let response: NspiBindResponse = self.call(opnum::BIND, &request).await?;
        if !response.result.is_success() {
            return Err(RpcError::Call {
                call: "NspiBind",
                code: response.result,
            });
        }
        self.handle = Some(response.handle);
        Ok(response.server_guid)
    }

    /// MS-OXNSPI 3.1.4.1.17 NspiResolveNamesW.
    pub async fn resolve_names(
        &mut self,
        stat: Stat,
        names: &[&str],
        tags: Option<Vec<PropertyTag>>,
    ) -> Result<NspiResolveNamesWResponse, RpcError> {
        let request = NspiResolveNamesWRequest {
            handle: self.handle("NspiResolveNamesW")?,
            reserved: 0,
            stat,
            prop_tags: tags,
            names: names.iter().map(|n| Some((*n).to_owned())).collect(),
        };
        self.call(opnum::RESOLVE_NAMES_W, &request).await
    }

    /// MS-OXNSPI 3.1.4.1.10 NspiGetMatches: the entries `filter` selects (`None`: all).
    pub async fn get_matches(
        &mut self,
        stat: Stat,
        filter: Option<Restriction>,
        prop_name: Option<PropertyNameR>,
        requested: u32,
        tags: Option<Vec<PropertyTag>>,
    ) -> Result<NspiGetMatchesResponse, RpcError> {
        let request = NspiGetMatchesRequest {
            handle: self.handle("NspiGetMatches")?,
            reserved1: 0,
            stat,
            reserved_tags: None,
            reserved2: 0,
            filter,
            prop_name,
            requested,
            prop_tags: tags,
        };
        self.call(opnum::GET_MATCHES, &request).await
    }

    /// MS-OXNSPI 3.1.4.1.8 NspiDNToMId.
    pub async fn dn_to_mid(&mut self, names: &[&str]) -> Result<NspiDnToMIdResponse, RpcError> {
        let request = NspiDnToMIdRequest {
            handle: self.handle("NspiDNToMId")?,
            reserved: 0,
            names: names.iter().map(|n| Some((*n).to_owned())).collect(),
        };
        self.call(opnum::DN_TO_MID, &request).await
    }

    /// MS-OXNSPI 3.1.4.1.7 NspiGetProps of the object at `stat.current_rec`.
    pub async fn get_props(
        &mut self,
        flags: u32,
        stat: Stat,
        tags: Option<Vec<PropertyTag>>,
    ) -> Result<NspiGetPropsResponse, RpcError> {
        let request = NspiGetPropsRequest {
            handle: self.handle("NspiGetProps")?,
            flags,
            stat,
            prop_tags: tags,
        };
        self.call(opnum::GET_PROPS, &request).await
    }

    /// MS-OXNSPI 3.1.4.1.8 NspiQueryRows: `count` rows from `stat` or the explicit `table`.
    pub async fn query_rows(
        &mut self,
        flags: u32,
        stat: Stat,
        table: Option<Vec<u32>>,
        count: u32,
        tags: Option<Vec<PropertyTag>>,
    ) -> Result<NspiQueryRowsResponse, RpcError> {
        let request = NspiQueryRowsRequest {
            handle: self.handle("NspiQueryRows")?,
            flags,
            stat,
            table,
            count,
            prop_tags: tags,
        };
        self.call(opnum::QUERY_ROWS, &request).await
    }

    /// MS-OXNSPI 3.1.4.1.3 NspiGetSpecialTable (hierarchy table, or address creation templates).
    pub async fn get_special_table(
        &mut self,
        flags: u32,
        stat: Stat,
        version: u32,
    ) -> Result<NspiGetSpecialTableResponse, RpcError> {
        let request = NspiGetSpecialTableRequest {
            handle: self.handle("NspiGetSpecialTable")?,
            flags,
            stat,
            version,
        };
        self.call(opnum::GET_SPECIAL_TABLE, &request).await
    }

    /// MS-OXNSPI 3.1.4.1.2 NspiUnbind; the handle is forgotten whatever the result.
    pub async fn unbind(&mut self) -> Result<(), RpcError> {
        let handle = self.handle("NspiUnbind")?;
        self.handle = None;
        let request = NspiUnbindRequest {
            handle,
            reserved: 0,
        };
        let _: NspiUnbindResponse = self.call(opnum::UNBIND, &request).await?;
        Ok(())
    }

    /// The underlying channel (for its stats).
    pub fn channel(&self) -> &RpcChannel {
        &self.channel
    }

    /// Gives the channel back.
    pub fn into_channel(self) -> RpcChannel {
        self.channel
    }

    async fn call<Q: NdrCodec, R: NdrCodec>(
        &mut self,
        opnum: u16,
        request: &Q,
    ) -> Result<R, RpcError> {
        let stub = self.channel.call(opnum, &request.to_stub()?).await?;
        Ok(R::from_stub(&stub)?)
    }

    fn handle(&self, call: &'static str) -> Result<ContextHandle, RpcError> {
        self.handle
            .ok_or_else(|| RpcError::Protocol(format!("{call} before NspiBind")))
    }
}
