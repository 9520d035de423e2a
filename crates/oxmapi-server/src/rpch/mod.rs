//! RPC over HTTP v2 (MS-RPCH) on the HTTPS listener: `RPC_IN_DATA` / `RPC_OUT_DATA` on
//! `/rpc/rpcproxy.dll?<server>:<port>`, with the server playing inbound proxy, outbound proxy
//! and RPC server at once (so CONN/A2, B2, B3 and C1 never reach the wire).
//!
//! * [`handle`] authenticates the request like MAPI/HTTP (Basic or NTLM per connection),
//!   answers echo requests (MS-RPCH 2.1.2.1.5/6), and checks the target: the `<server>` must be
//!   the user's personalized server name (for the NSPI/RFR ports 6002 and 6004 the server's own
//!   names are accepted too); otherwise `HTTP/1.0 503 RPC Error: <hex>` (2.1.2.1.3).
//! * The OUT channel reads CONN/A1, answers `200` with `Content-Length: 1073741824` and sends
//!   CONN/A3; the IN channel reads CONN/B1, pairs with the OUT channel by the virtual connection
//!   cookie ([`vc`]), sends CONN/C2, then feeds every PDU to the DCE/RPC server
//!   ([`server::RpcConnection`]) whose responses go out on the OUT channel, acknowledging IN
//!   traffic with FlowControlAck and pinging an idle OUT channel.
//! * Channel recycling is not supported: the advertised lifetimes make it unnecessary.

mod channel;
mod dispatch;
mod proxy;
mod quirks;
mod security;
mod server;
pub(crate) mod vc;

use std::sync::Mutex;

use bytes::Bytes;
use http::{Request, Response, StatusCode, header};
use hyper::body::Incoming;

use crate::auth::{self, ConnAuth};
use crate::body::{BodyError, ChunkedBody, gone, plain, read_body, timed_out};
use crate::state::AppState;
use proxy::{ERROR_SERVER_UNAVAILABLE, Target, rpc_error, rpc_response};

/// Largest Content-Length of an echo request (MS-RPCH 2.1.2.1.5).
const ECHO_MAX_LENGTH: u64 = 16;

/// True for the RPC proxy paths (`/rpc/rpcproxy.dll`, case-insensitive).
pub(crate) fn is_rpch_path(path: &str) -> bool {
    path.eq_ignore_ascii_case("/rpc/rpcproxy.dll")
}

/// Handles one request to `/rpc/rpcproxy.dll`; for IN and OUT channels the returned future or
/// response body lives as long as the channel.
pub(crate) async fn handle(
    req: Request<Incoming>,
    state: &AppState,
    conn_auth: &Mutex<ConnAuth>,
) -> Response<ChunkedBody> {
    let user = match auth::authenticate(state, conn_auth, req.headers()).await {
        Ok(user) => user,
        Err(challenge) => return *challenge,
    };
    let is_in = req.method().as_str() == "RPC_IN_DATA";
    if !is_in && req.method().as_str() != "RPC_OUT_DATA" {
        return plain(
            StatusCode::METHOD_NOT_ALLOWED,
            "RPC_IN_DATA or RPC_OUT_DATA",
        );
    }
    if content_length(&req).is_some_and(|n| n <= ECHO_MAX_LENGTH) {
        return echo(state, req).await;
    }
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|h| h.rsplit_once(':').map_or(h, |(name, _)| name).to_owned());
    let target = match Target::parse(req.uri().query().unwrap_or("")) {
        Some(t) => t,
        None => return rpc_error(ERROR_SERVER_UNAVAILABLE),
    };
    if let Err(code) = target.check(state, &user, host.as_deref()) {
        tracing::info!(user = %user.alias, server = %target.server, port = target.port, "rpc proxy: target refused");
        return rpc_error(code);
    }
    if is_in {
        channel::in_channel(state, user, target, req.into_body()).await
    } else {
        channel::out_channel(state, user, req.into_body()).await
    }
}

/// MS-RPCH 2.1.2.1.6 echo response: 200 with the 20-byte Echo RTS PDU, once the (at most
/// 16-byte, 2.1.2.1.5) body arrived within the body read timeout.
async fn echo(state: &AppState, req: Request<Incoming>) -> Response<ChunkedBody> {
    let within = state.config.limits.body_read_timeout;
    match read_body(req.into_body(), 64, within).await {
        Ok(_) | Err(BodyError::TooLarge { .. }) => {}
        Err(e) => {
            tracing::debug!("rpc echo request: {e}");
            return match e {
                BodyError::TimedOut(_) => timed_out(),
                _ => gone(),
            };
        }
    }
    let pdu = oxmapi_wire::dcerpc::RtsPdu::echo()
        .to_bytes()
        .unwrap_or_default();
    rpc_response(ChunkedBody::sized(Bytes::from(pdu)))
}

fn content_length(req: &Request<Incoming>) -> Option<u64> {
    req.headers()
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}
