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
use oxmapi_wire::rpcext::{PackOptions, UnpackLimits, pack_segment, unpack_chain_within};
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
            // The transport's own hint fits the failure (untrusted chain, name, dates, pin).
            TransportError::Tls { hint, .. } => {
                let hint = hint.clone();
                let mut err = Error::new(ErrorKind::Tls, ErrorCode::NETWORK_ERROR, e.to_string())
                    .at_step(step);
                if !hint.is_empty() {
                    err = err.with_hint(hint);
                }
                return err.with_source(e);
            }
            TransportError::CaFile { .. } => (
                ErrorKind::Tls,
                ErrorCode::NETWORK_ERROR,
                Some(
                    "point `certificate = { ca_file = \"PATH\" }` in the proxy-map entry at a PEM file \
                     holding the server's CA (or its own certificate)",
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
    Rpc(Box<RpcMailbox>),
}

/// EMSMDB over RPC/HTTP, with what it takes to build the virtual connection again.
pub(crate) struct RpcMailbox {
    emsmdb: oxmapi_transport::EmsmdbRpc,
    client: oxmapi_transport::RpcHttpClient,
    server: String,
    /// The virtual connection ended: the next reconnect builds a new one.
    closed: bool,
}

impl Mailbox {
    pub(crate) fn mapi_http(http: MapiHttpSession) -> Self {
        Self::Http(Box::new(http))
    }

    /// EMSMDB on `channel`, a virtual connection `client` built to `server` (the RPC server
    /// name, the personalized server name), which [`Mailbox::reopen`] builds again if needed.
    pub(crate) fn rpc_http(
        channel: oxmapi_transport::RpcChannel,
        client: oxmapi_transport::RpcHttpClient,
        server: String,
    ) -> Self {
        Self::Rpc(Box::new(RpcMailbox {
            emsmdb: oxmapi_transport::EmsmdbRpc::new(channel),
            client,
            server,
            closed: false,
        }))
    }

    /// Requests so far: HTTP round trips (including authentication legs) for MAPI/HTTP, RPC
    /// calls plus the HTTP requests that set the channels up for RPC/HTTP.
    pub(crate) fn round_trips(&self) -> u64 {
        match self {
            Self::Http(h) => h.stats().http_round_trips,
            Self::Rpc(r) => {
                let st = r.emsmdb.channel().stats();
                st.calls + st.http.http_round_trips
            }
        }
    }

    pub(crate) fn stats(&self) -> oxmapi_transport::SessionStats {
        match self {
            Self::Http(h) => h.stats(),
            Self::Rpc(r) => r.emsmdb.channel().stats().http,
        }
    }

    pub(crate) fn url(&self) -> String {
        match self {
            Self::Http(h) => h.url(),
            Self::Rpc(r) => r.emsmdb.channel().url().to_owned(),
        }
    }

    /// Forgets the session context after the server expired it, before a new
    /// [`Mailbox::connect`]. Over RPC/HTTP a virtual connection that ended is built again
    /// (MS-RPCH 3.2.2.4.1: new IN and OUT channels, then the EMSMDB bind); one that is still
    /// open (the server only dropped the context handle) is kept.
    pub(crate) async fn reopen(&mut self) -> Result<(), Error> {
        match self {
            Self::Http(h) => h.reset(),
            Self::Rpc(r) if r.closed => {
                const STEP: &str = "emsmdb-connect";
                let channel = r
                    .client
                    .connect(
                        &r.server,
                        oxmapi_transport::RpcPort::Emsmdb,
                        oxmapi_transport::RpcAuthLevel::Privacy,
                    )
                    .await
                    .map_err(|e| rpc_error(STEP, e))?;
                // Dropping the old channel ends what is left of its virtual connection.
                r.emsmdb = oxmapi_transport::EmsmdbRpc::new(channel);
                r.closed = false;
            }
            Self::Rpc(_) => {}
        }
        Ok(())
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
                    .emsmdb
                    .connect_ex(user_dn, flags)
                    .await
                    .map_err(|e| r.call_error(STEP, e))?;
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
                .emsmdb
                .disconnect()
                .await
                .map_err(|e| r.call_error("emsmdb-disconnect", e)),
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
                r.emsmdb
                    .rpc_ext2(EXECUTE_FLAG_CHAIN, &rgb_in, MAX_ROP_OUT)
                    .await
                    .map_err(|e| r.call_error(step, e))?
                    .0
            }
        };
        decode_rop_out(step, &rgb_out, contexts)
    }
}

impl RpcMailbox {
    /// Maps the error of a call on the established virtual connection, and notes whether
    /// the connection ended (then the session context is gone with it).
    fn call_error(&mut self, step: &'static str, e: oxmapi_transport::RpcError) -> Error {
        let ended = connection_ended(&e);
        self.closed |= ended;
        if ended && let oxmapi_transport::RpcError::Transport(_) = &e {
            return end_of_session(step, e);
        }
        rpc_error(step, e)
    }
}

/// True when an error of a call means the virtual connection is gone: it closed, or an HTTP
/// request under it failed (other than for credentials or TLS, which a new connection would
/// hit again).
fn connection_ended(e: &oxmapi_transport::RpcError) -> bool {
    use oxmapi_transport::RpcError;
    match e {
        RpcError::Closed(_) => true,
        RpcError::Transport(t) => {
            !t.is_auth_failed()
                && !matches!(
                    t,
                    TransportError::Tls { .. }
                        | TransportError::CaFile { .. }
                        | TransportError::AuthNotOffered { .. }
                        | TransportError::AuthRequired { .. }
                )
        }
        _ => false,
    }
}

/// MAPI_E_END_OF_SESSION for an RPC/HTTP error that lost the session context.
fn end_of_session(step: &'static str, e: oxmapi_transport::RpcError) -> Error {
    Error::new(ErrorKind::Network, ErrorCode::END_OF_SESSION, e.to_string())
        .at_step(step)
        .with_source(e)
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
    // EcDoRpcExt2 "raising the RPC_S_SERVER_TOO_BUSY exception" (MS-OXCROPS 3.2.4.2): a fault
    // PDU with that status (or C706's nca_server_too_busy); retried like the return value.
    if let Some(status) = e.fault()
        && (status.0 == crate::backoff::SERVER_TOO_BUSY.0
            || status == oxmapi_wire::dcerpc::FaultStatus::NCA_SERVER_TOO_BUSY)
    {
        return Error::mapi(step, crate::backoff::SERVER_TOO_BUSY, e.to_string()).with_source(e);
    }
    // The virtual connection ended, or the server no longer knows the context handle
    // (C706 nca_s_fault_context_mismatch, MS-RPCE 2.2.2.9 / 3.3.3.2.2): the session context
    // is lost, as with MAPI/HTTP's X-ResponseCode 10 "Context Not Found".
    if matches!(e, RpcError::Closed(_))
        || e.fault() == Some(oxmapi_wire::dcerpc::FaultStatus::NCA_S_FAULT_CONTEXT_MISMATCH)
    {
        return end_of_session(step, e);
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
    // A hostile server's tiny compressed segments must not inflate without bound.
    let mut payloads = unpack_chain_within(rgb_out, UnpackLimits::RESPONSE)
        .map_err(|e| Error::protocol(step, e))?;
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

#[cfg(test)]
mod tests {
    use oxmapi_transport::RpcError;
    use oxmapi_wire::dcerpc::FaultStatus;

    use super::*;

    #[test]
    fn lost_rpc_contexts_are_end_of_session() {
        let closed = rpc_error("x", RpcError::Closed("the OUT channel ended".into()));
        assert_eq!(closed.code(), ErrorCode::END_OF_SESSION);
        let mismatch = rpc_error(
            "x",
            RpcError::Fault {
                status: FaultStatus::NCA_S_FAULT_CONTEXT_MISMATCH,
                opnum: 11,
            },
        );
        assert_eq!(mismatch.code(), ErrorCode::END_OF_SESSION);
        assert_eq!(mismatch.step(), Some("x"));
    }

    #[test]
    fn other_rpc_errors_are_not_end_of_session() {
        let fault = rpc_error(
            "x",
            RpcError::Fault {
                status: FaultStatus::NCA_OP_RNG_ERROR,
                opnum: 11,
            },
        );
        assert_eq!(fault.code(), ErrorCode::NETWORK_ERROR);
        let call = rpc_error(
            "x",
            RpcError::Call {
                call: "EcDoRpcExt2",
                code: ErrorCode::LOGON_FAILED,
            },
        );
        assert_eq!(call.code(), ErrorCode::LOGON_FAILED);
        let timeout = rpc_error(
            "x",
            RpcError::Timeout {
                waiting_for: "the rpc response",
                after_ms: 10,
            },
        );
        assert_eq!(timeout.code(), ErrorCode::NETWORK_ERROR);
        assert!(!connection_ended(&RpcError::Timeout {
            waiting_for: "the rpc response",
            after_ms: 10,
        }));
        assert!(connection_ended(&RpcError::Closed("gone".into())));
    }

    #[test]
    fn server_too_busy_faults_and_returns_are_retryable() {
        for status in [FaultStatus(0x6BB), FaultStatus::NCA_SERVER_TOO_BUSY] {
            let e = rpc_error("x", RpcError::Fault { status, opnum: 11 });
            assert_eq!(e.code(), crate::backoff::SERVER_TOO_BUSY, "{status:?}");
        }
        let e = rpc_error(
            "x",
            RpcError::Call {
                call: "EcDoRpcExt2",
                code: ErrorCode(0x6BB),
            },
        );
        assert_eq!(e.code(), crate::backoff::SERVER_TOO_BUSY);
    }
}
