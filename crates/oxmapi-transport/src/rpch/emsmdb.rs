//! EMSMDB over an RPC channel: EcDoConnectEx, EcDoRpcExt2 and EcDoDisconnect
//! ([MS-OXCRPC 3.1.4](https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-oxcrpc/)).
//! The ROP and AUX buffers stay opaque: `rgb_in` is an RPC_HEADER_EXT-framed ROP buffer built
//! with `oxmapi_wire::rpcext`.

use oxmapi_wire::dcerpc::emsmdb::{
    EcDoConnectExRequest, EcDoConnectExResponse, EcDoDisconnectRequest, EcDoDisconnectResponse,
    EcDoRpcExt2Request, EcDoRpcExt2Response, OPNUM_EC_DO_CONNECT_EX, OPNUM_EC_DO_DISCONNECT,
    OPNUM_EC_DO_RPC_EXT2,
};
use oxmapi_wire::dcerpc::ndr::{ContextHandle, NdrCodec};

use super::channel::RpcChannel;
use super::error::RpcError;

/// MS-OXCRPC 3.1.4.1: largest AUX output buffer a client may ask for.
const MAX_AUX_OUT: u32 = 0x1008;
/// rgwClientVersion of Outlook 2013 (15.0.4867.1000), old-format WORD triple.
const CLIENT_VERSION: [u16; 3] = [0x000F, 0x1303, 0x03E8];

/// An EMSMDB session on an [`RpcChannel`] bound to [`super::RpcPort::Emsmdb`].
#[derive(Debug)]
pub struct EmsmdbRpc {
    channel: RpcChannel,
    handle: Option<ContextHandle>,
}

impl EmsmdbRpc {
    /// Wraps a channel bound to the EMSMDB interface.
    pub fn new(channel: RpcChannel) -> Self {
        Self {
            channel,
            handle: None,
        }
    }

    /// MS-OXCRPC 3.1.4.1 EcDoConnectEx for `user_dn` (the user's legacy DN); keeps the session
    /// context handle on success. A non-zero return value is [`RpcError::Call`].
    pub async fn connect_ex(
        &mut self,
        user_dn: &str,
        flags: u32,
    ) -> Result<EcDoConnectExResponse, RpcError> {
        let request = EcDoConnectExRequest {
            user_dn: user_dn.to_owned(),
            flags,
            con_mod: con_mod(user_dn),
            cb_limit: 0,
            cpid: 1252,
            lcid_string: 1033,
            lcid_sort: 1033,
            icxr_link: 0xFFFF_FFFF,
            can_convert_code_pages: 1,
            client_version: CLIENT_VERSION,
            timestamp: 0,
            aux_in: Vec::new(),
            max_aux_out: MAX_AUX_OUT,
        };
        let stub = self
            .channel
            .call(OPNUM_EC_DO_CONNECT_EX, &request.to_stub()?)
            .await?;
        let response = EcDoConnectExResponse::from_stub(&stub)?;
        if !response.result.is_success() {
            return Err(RpcError::Call {
                call: "EcDoConnectEx",
                code: response.result,
            });
        }
        self.handle = Some(response.handle);
        Ok(response)
    }

    /// MS-OXCRPC 3.1.4.2 EcDoRpcExt2: sends `rgb_in` (RPC_HEADER_EXT + ROP buffer) and returns
    /// (`rgbOut`, `rgbAuxOut`).
    pub async fn rpc_ext2(
        &mut self,
        flags: u32,
        rgb_in: &[u8],
        max_out: u32,
    ) -> Result<(Vec<u8>, Vec<u8>), RpcError> {
        let response = self.rpc_ext2_full(flags, rgb_in, max_out).await?;
        Ok((response.rgb_out, response.aux_out))
    }

    /// EcDoRpcExt2 returning the whole response (flags, transaction time).
    pub async fn rpc_ext2_full(
        &mut self,
        flags: u32,
        rgb_in: &[u8],
        max_out: u32,
    ) -> Result<EcDoRpcExt2Response, RpcError> {
        let handle = self.handle("EcDoRpcExt2")?;
        let request = EcDoRpcExt2Request {
            handle,
            flags,
            rgb_in: rgb_in.to_vec(),
            max_out,
            aux_in: Vec::new(),
            max_aux_out: MAX_AUX_OUT,
        };
        let stub = self
            .channel
            .call(OPNUM_EC_DO_RPC_EXT2, &request.to_stub()?)
            .await?;
        let response = EcDoRpcExt2Response::from_stub(&stub)?;
        if !response.result.is_success() {
            return Err(RpcError::Call {
                call: "EcDoRpcExt2",
                code: response.result,
            });
        }
        self.handle = Some(response.handle);
        Ok(response)
    }

    /// MS-OXCRPC 3.1.4.3 EcDoDisconnect; the context handle is forgotten whatever the result.
    pub async fn disconnect(&mut self) -> Result<(), RpcError> {
        let handle = self.handle("EcDoDisconnect")?;
        self.handle = None;
        let stub = self
            .channel
            .call(
                OPNUM_EC_DO_DISCONNECT,
                &EcDoDisconnectRequest { handle }.to_stub()?,
            )
            .await?;
        let response = EcDoDisconnectResponse::from_stub(&stub)?;
        if !response.result.is_success() {
            return Err(RpcError::Call {
                call: "EcDoDisconnect",
                code: response.result,
            });
        }
        Ok(())
    }

    /// The session context handle, `None` before EcDoConnectEx or after EcDoDisconnect.
    pub fn context_handle(&self) -> Option<ContextHandle> {
        self.handle
    }

    /// The underlying channel (for its stats).
    pub fn channel(&self) -> &RpcChannel {
        &self.channel
    }

    /// Gives the channel back.
    pub fn into_channel(self) -> RpcChannel {
        self.channel
    }

    fn handle(&self, call: &'static str) -> Result<ContextHandle, RpcError> {
        self.handle
            .ok_or_else(|| RpcError::Protocol(format!("{call} before EcDoConnectEx")))
    }
}

/// ulConMod: any client-side hash of the user DN (MS-OXCRPC 3.1.4.1); FNV-1a of its bytes.
fn con_mod(user_dn: &str) -> u32 {
    user_dn.bytes().fold(0x811C_9DC5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}
