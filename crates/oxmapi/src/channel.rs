//! The channels a session uses: the mailbox (EMSMDB, over MAPI/HTTP or RPC/HTTP) and the
//! address book (NSPI). Each turns typed requests into bodies, sends them, and decodes the
//! answers.

use oxmapi_transport::{MapiHttpSession, TransportError};
use oxmapi_wire::data::ErrorCode;
use oxmapi_wire::mapihttp::Response;
use oxmapi_wire::mapihttp::emsmdb::{
    ConnectRequest, ConnectResponse, ConnectSuccess, DisconnectRequest, EXECUTE_FLAG_CHAIN,
    ExecuteRequest, ExecuteResponse,
};
use oxmapi_wire::rop::{RopRequestBuffer, RopResponseBuffer};
use oxmapi_wire::rpcext::{PackOptions, pack_segment, unpack_chain};
use oxmapi_wire::{Decode, Encode};

use crate::error::{Error, ErrorKind};

/// MaxRopOut we ask for (MS-OXCMAPIHTTP 2.2.4.2.1; what Outlook sends).
const MAX_ROP_OUT: u32 = 0x40000;

/// Maps a transport error onto a session error for `step`.
pub(crate) fn transport_error(step: &'static str, e: TransportError) -> Error {
    let (kind, code, hint) = if e.is_auth_failed() {
        (
            ErrorKind::Authentication,
            ErrorCode::LOGON_FAILED,
            Some(auth_failed_hint(&e)),
        )
    } else {
        match &e {
            TransportError::Tls { .. } | TransportError::CaFile { .. } => (
                ErrorKind::Tls,
                ErrorCode::NETWORK_ERROR,
                Some(
                    "trust the server's CA with `certificate = { ca_file = \"PATH\" }` in the proxy-map entry, \
                     or (lab only) `certificate = \"ignore\"`",
                ),
            ),
            TransportError::AuthNotOffered { .. } | TransportError::AuthRequired { .. } => (
                ErrorKind::Authentication,
                ErrorCode::LOGON_FAILED,
                Some("set `auth` in the proxy-map entry to a scheme the front end offers"),
            ),
            TransportError::HttpStatus { status: 404, .. } => (
                ErrorKind::Network,
                ErrorCode::NETWORK_ERROR,
                Some(
                    "the front end has no MAPI/HTTP endpoint at this URL: check the proxy-map url",
                ),
            ),
            _ if e.is_context_lost() => (ErrorKind::Network, ErrorCode::END_OF_SESSION, None),
            // X-ResponseCode 11 "No Privilege" (MS-OXCMAPIHTTP 2.2.3.3.3).
            TransportError::ResponseCode { code: 11, .. } => (
                ErrorKind::AccessDenied,
                ErrorCode::NO_ACCESS,
                Some(
                    "the account may only open its own mailbox: check the server part of ProfileInfo",
                ),
            ),
            _ => (
                ErrorKind::Network,
                ErrorCode::NETWORK_ERROR,
                Some("check that the front end URL is right and reachable"),
            ),
        }
    };
    let mut err = Error::new(kind, code, e.to_string()).at_step(step);
    if let Some(h) = hint {
        err = err.with_hint(h);
    }
    err.with_source(e)
}

pub(crate) fn decode<T: Decode>(step: &'static str, body: &[u8]) -> Result<T, Error> {
    T::from_bytes(body).map_err(|e| Error::protocol(step, e))
}

pub(crate) fn encode(step: &'static str, v: &impl Encode) -> Result<Vec<u8>, Error> {
    v.to_bytes().map_err(|e| {
        Error::new(
            ErrorKind::Protocol,
            ErrorCode::INVALID_PARAMETER,
            format!("request could not be encoded: {e}"),
        )
        .at_step(step)
    })
}

/// Posts `body` as `request_type` on `session`.
pub(crate) async fn post(
    session: &mut MapiHttpSession,
    step: &'static str,
    request_type: &str,
    body: Vec<u8>,
) -> Result<Vec<u8>, Error> {
    session
        .post(request_type, body)
        .await
        .map(|r| r.body)
        .map_err(|e| transport_error(step, e))
}

/// A MAPI/HTTP Response<T> failure (non-zero StatusCode) as an error.
pub(crate) fn success<T>(step: &'static str, r: Response<T>) -> Result<T, Error> {
    match r {
        Response::Success(t) => Ok(t),
        Response::Failure(f) => Err(Error::mapi(
            step,
            ErrorCode(f.status_code),
            format!(
                "the server refused the request (StatusCode 0x{:08X})",
                f.status_code
            ),
        )),
    }
}

/// The mailbox channel (EMSMDB), whatever carries it: MAPI/HTTP (MS-OXCMAPIHTTP) or RPC over
/// HTTP (MS-OXCRPC EcDoConnectEx/EcDoRpcExt2 on MS-RPCH). Both carry the same RPC_HEADER_EXT +
/// ROP buffers, so everything above this type is written once.
pub(crate) enum Mailbox {
    /// MAPI over HTTP.
    Http(Box<MapiHttpSession>),
    /// RPC over HTTP v2.
    Rpc(Box<oxmapi_transport::EmsmdbRpc>),
}

impl Mailbox {
    pub(crate) fn mapi_http(http: MapiHttpSession) -> Self {
        Self::Http(Box::new(http))
    }

    /// Requests so far: HTTP round trips (including authentication legs) for MAPI/HTTP, RPC
    /// calls plus the HTTP requests that set the channels up for RPC/HTTP.
    pub(crate) fn round_trips(&self) -> u64 {
        match self {
            Self::Http(h) => h.stats().http_round_trips,
            Self::Rpc(r) => {
                let st = r.channel().stats();
                st.calls + st.http.http_round_trips
            }
        }
    }

    pub(crate) fn stats(&self) -> oxmapi_transport::SessionStats {
        match self {
            Self::Http(h) => h.stats(),
            Self::Rpc(r) => r.channel().stats().http,
        }
    }

    pub(crate) fn url(&self) -> String {
        match self {
            Self::Http(h) => h.url(),
            Self::Rpc(r) => r.channel().url().to_owned(),
        }
    }

    /// Forgets the session context (after the server expired it).
    pub(crate) fn reset(&mut self) {
        if let Self::Http(h) = self {
            h.reset();
        }
    }

    /// EMSMDB Connect / EcDoConnectEx; also returns the server's version (X-ServerApplication,
    /// or EcDoConnectEx's rgwServerVersion).
    pub(crate) async fn connect(
        &mut self,
        user_dn: &str,
        flags: u32,
    ) -> Result<(ConnectSuccess, Option<String>), Error> {
        match self {
            Self::Http(h) => connect(h, user_dn, flags).await,
            Self::Rpc(r) => {
                const STEP: &str = "emsmdb-connect";
                let c = r
                    .connect_ex(user_dn, flags)
                    .await
                    .map_err(|e| rpc_error(STEP, e))?;
                let version = server_version(c.server_version);
                Ok((
                    ConnectSuccess {
                        error_code: 0,
                        polls_max: c.polls_max,
                        retry_count: c.retry,
                        retry_delay: c.retry_delay,
                        dn_prefix: c.dn_prefix.unwrap_or_default(),
                        display_name: c.display_name.unwrap_or_default(),
                        aux: c.aux_out,
                    },
                    Some(version),
                ))
            }
        }
    }

    /// EMSMDB Disconnect / EcDoDisconnect.
    pub(crate) async fn disconnect(&mut self) -> Result<(), Error> {
        match self {
            Self::Http(h) => disconnect(h).await,
            Self::Rpc(r) => r
                .disconnect()
                .await
                .map_err(|e| rpc_error("emsmdb-disconnect", e)),
        }
    }

    /// Runs ROPs: one Execute / EcDoRpcExt2. Returns the decoded responses of the first ROP
    /// output buffer and the raw payloads of any further chained segments.
    pub(crate) async fn execute(
        &mut self,
        step: &'static str,
        request: &RopRequestBuffer,
        contexts: &[oxmapi_wire::rop::ResponseContext],
    ) -> Result<(RopResponseBuffer, Vec<Vec<u8>>), Error> {
        let rgb_in = pack_request(step, request)?;
        let rgb_out = match self {
            Self::Http(h) => execute_http(h, step, rgb_in).await?,
            Self::Rpc(r) => {
                r.rpc_ext2(EXECUTE_FLAG_CHAIN, &rgb_in, MAX_ROP_OUT)
                    .await
                    .map_err(|e| rpc_error(step, e))?
                    .0
            }
        };
        decode_rop_out(step, &rgb_out, contexts)
    }
}

fn auth_failed_hint(e: &TransportError) -> &'static str {
    match e {
        TransportError::AuthFailed {
            scheme: oxmapi_transport::AuthScheme::Bearer,
            ..
        } => {
            "the bearer token was refused (expired, revoked, or not for this mailbox's server): \
             obtain a new token and pass it with --token-file or OXMAPI_TOKEN"
        }
        _ => "check the user name and password (OXMAPI_PASSWORD or --password-file)",
    }
}

/// rgwServerVersion (MS-OXCRPC 3.1.4.1.3): with the high bit of the second WORD set the
/// triple is major<<8|minor, 0x8000|build, revision; otherwise major, build, revision.
fn server_version(w: [u16; 3]) -> String {
    if w[1] & 0x8000 != 0 {
        format!("{}.{}.{}.{}", w[0] >> 8, w[0] & 0xFF, w[1] & 0x7FFF, w[2])
    } else {
        format!("{}.0.{}.{}", w[0], w[1], w[2])
    }
}

/// Maps an RPC/HTTP error onto a session error for `step`.
pub(crate) fn rpc_error(step: &'static str, e: oxmapi_transport::RpcError) -> Error {
    use oxmapi_transport::RpcError;
    if let RpcError::Transport(t) = e {
        return transport_error(step, t);
    }
    if e.is_auth_failed() {
        return Error::new(
            ErrorKind::Authentication,
            ErrorCode::LOGON_FAILED,
            e.to_string(),
        )
        .at_step(step)
        .with_hint("check the user name and password (OXMAPI_PASSWORD or --password-file)")
        .with_source(e);
    }
    if let RpcError::Call { code, .. } = &e {
        let code = *code;
        return Error::mapi(step, code, e.to_string()).with_source(e);
    }
    Error::new(ErrorKind::Network, ErrorCode::NETWORK_ERROR, e.to_string())
        .at_step(step)
        .with_source(e)
}

/// EMSMDB Connect (MS-OXCMAPIHTTP 2.2.4.1).
async fn connect(
    session: &mut MapiHttpSession,
    user_dn: &str,
    flags: u32,
) -> Result<(ConnectSuccess, Option<String>), Error> {
    const STEP: &str = "emsmdb-connect";
    let req = ConnectRequest {
        user_dn: user_dn.to_owned(),
        flags,
        default_code_page: 1252,
        lcid_sort: 0x409,
        lcid_string: 0x409,
        aux: Vec::new(),
    };
    let resp = session
        .post("Connect", encode(STEP, &req)?)
        .await
        .map_err(|e| transport_error(STEP, e))?;
    let version = resp.server_application.clone();
    let ok = success(STEP, decode::<ConnectResponse>(STEP, &resp.body)?)?;
    if ok.error_code != 0 {
        return Err(Error::mapi(
            STEP,
            ErrorCode(ok.error_code),
            format!("the server refused to connect {user_dn}"),
        ));
    }
    Ok((ok, version))
}

/// EMSMDB Disconnect (MS-OXCMAPIHTTP 2.2.4.3); errors are ignored by callers that are
/// tearing down anyway.
async fn disconnect(session: &mut MapiHttpSession) -> Result<(), Error> {
    const STEP: &str = "emsmdb-disconnect";
    let req = DisconnectRequest { aux: Vec::new() };
    post(session, STEP, "Disconnect", encode(STEP, &req)?).await?;
    Ok(())
}

/// rgbIn: the ROP buffer in one RPC_HEADER_EXT segment, compressed and obfuscated like
/// Outlook's requests (MS-OXCRPC 3.1.4.1.1.2/.3).
fn pack_request(step: &'static str, request: &RopRequestBuffer) -> Result<Vec<u8>, Error> {
    let payload = request.to_bytes().map_err(|e| {
        Error::new(
            ErrorKind::Protocol,
            ErrorCode::INVALID_PARAMETER,
            format!("ROP request could not be encoded: {e}"),
        )
        .at_step(step)
    })?;
    let opts = PackOptions {
        compress: true,
        xor: true,
        last: true,
    };
    pack_segment(&payload, opts).map_err(|e| {
        Error::new(ErrorKind::Unsupported, ErrorCode::TOO_BIG, e.to_string()).at_step(step)
    })
}

/// One MAPI/HTTP Execute (MS-OXCMAPIHTTP 2.2.4.2): rgbIn in, rgbOut back.
async fn execute_http(
    session: &mut MapiHttpSession,
    step: &'static str,
    rop_buffer: Vec<u8>,
) -> Result<Vec<u8>, Error> {
    let req = ExecuteRequest {
        flags: EXECUTE_FLAG_CHAIN,
        rop_buffer,
        max_rop_out: MAX_ROP_OUT,
        aux: Vec::new(),
    };
    let body = post(session, step, "Execute", encode(step, &req)?).await?;
    let ok = success(step, decode::<ExecuteResponse>(step, &body)?)?;
    if ok.error_code != 0 {
        return Err(Error::mapi(
            step,
            ErrorCode(ok.error_code),
            "the server failed the Execute request",
        ));
    }
    Ok(ok.rop_buffer)
}

/// rgbOut: one or more RPC_HEADER_EXT segments; the first holds the ROP output buffer for
/// `contexts`, later (chained) ones are returned raw.
fn decode_rop_out(
    step: &'static str,
    rgb_out: &[u8],
    contexts: &[oxmapi_wire::rop::ResponseContext],
) -> Result<(RopResponseBuffer, Vec<Vec<u8>>), Error> {
    let mut payloads = unpack_chain(rgb_out).map_err(|e| Error::protocol(step, e))?;
    if payloads.is_empty() {
        return Err(Error::protocol(
            step,
            oxmapi_wire::DecodeError::invalid("RopBuffer", 0, "no RPC_HEADER_EXT segment"),
        ));
    }
    let first = payloads.remove(0);
    let responses =
        RopResponseBuffer::decode(&first, contexts).map_err(|e| Error::protocol(step, e))?;
    Ok((responses, payloads))
}
