//! The two MAPI/HTTP channels a session uses: the mailbox (EMSMDB) and the address book
//! (NSPI). Each turns typed requests into bodies, posts them, and decodes the answers.

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
            Some("check the user name and password (OXMAPI_PASSWORD or --password-file)"),
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

/// The mailbox channel (EMSMDB), whatever carries it. Today: MAPI/HTTP.
pub(crate) struct Mailbox {
    http: MapiHttpSession,
}

impl Mailbox {
    pub(crate) fn mapi_http(http: MapiHttpSession) -> Self {
        Self { http }
    }

    /// HTTP round trips so far (including authentication legs).
    pub(crate) fn round_trips(&self) -> u64 {
        self.http.stats().http_round_trips
    }

    pub(crate) fn stats(&self) -> oxmapi_transport::SessionStats {
        self.http.stats()
    }

    pub(crate) fn url(&self) -> String {
        self.http.url()
    }

    /// Forgets the session context (after the server expired it).
    pub(crate) fn reset(&mut self) {
        self.http.reset();
    }

    /// EMSMDB Connect.
    pub(crate) async fn connect(
        &mut self,
        user_dn: &str,
        flags: u32,
    ) -> Result<ConnectSuccess, Error> {
        connect(&mut self.http, user_dn, flags).await
    }

    /// EMSMDB Disconnect.
    pub(crate) async fn disconnect(&mut self) -> Result<(), Error> {
        disconnect(&mut self.http).await
    }

    /// Runs ROPs: see [`execute`].
    pub(crate) async fn execute(
        &mut self,
        step: &'static str,
        request: &RopRequestBuffer,
        contexts: &[oxmapi_wire::rop::ResponseContext],
    ) -> Result<(RopResponseBuffer, Vec<Vec<u8>>), Error> {
        execute(&mut self.http, step, request, contexts).await
    }
}

/// EMSMDB Connect (MS-OXCMAPIHTTP 2.2.4.1).
async fn connect(
    session: &mut MapiHttpSession,
    user_dn: &str,
    flags: u32,
) -> Result<ConnectSuccess, Error> {
    const STEP: &str = "emsmdb-connect";
    let req = ConnectRequest {
        user_dn: user_dn.to_owned(),
        flags,
        default_code_page: 1252,
        lcid_sort: 0x409,
        lcid_string: 0x409,
        aux: Vec::new(),
    };
    let body = post(session, STEP, "Connect", encode(STEP, &req)?).await?;
    let ok = success(STEP, decode::<ConnectResponse>(STEP, &body)?)?;
    if ok.error_code != 0 {
        return Err(Error::mapi(
            STEP,
            ErrorCode(ok.error_code),
            format!("the server refused to connect {user_dn}"),
        ));
    }
    Ok(ok)
}

/// EMSMDB Disconnect (MS-OXCMAPIHTTP 2.2.4.3); errors are ignored by callers that are
/// tearing down anyway.
async fn disconnect(session: &mut MapiHttpSession) -> Result<(), Error> {
    const STEP: &str = "emsmdb-disconnect";
    let req = DisconnectRequest { aux: Vec::new() };
    post(session, STEP, "Disconnect", encode(STEP, &req)?).await?;
    Ok(())
}

/// One EMSMDB Execute (MS-OXCMAPIHTTP 2.2.4.2): sends the ROPs, returns the decoded
/// responses of the first ROP output buffer and any further chained buffers' raw payloads.
async fn execute(
    session: &mut MapiHttpSession,
    step: &'static str,
    request: &RopRequestBuffer,
    contexts: &[oxmapi_wire::rop::ResponseContext],
) -> Result<(RopResponseBuffer, Vec<Vec<u8>>), Error> {
    let payload = request.to_bytes().map_err(|e| {
        Error::new(
            ErrorKind::Protocol,
            ErrorCode::INVALID_PARAMETER,
            format!("ROP request could not be encoded: {e}"),
        )
        .at_step(step)
    })?;
    // Requests are compressed and obfuscated like Outlook's (MS-OXCRPC 3.1.4.1.1.2/.3).
    let opts = PackOptions {
        compress: true,
        xor: true,
        last: true,
    };
    let rop_buffer = pack_segment(&payload, opts).map_err(|e| {
        Error::new(ErrorKind::Unsupported, ErrorCode::TOO_BIG, e.to_string()).at_step(step)
    })?;
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
    let mut payloads = unpack_chain(&ok.rop_buffer).map_err(|e| Error::protocol(step, e))?;
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
