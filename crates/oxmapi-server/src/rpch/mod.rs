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
mod quirks;
mod security;
mod server;
mod vc;

use std::sync::Mutex;

use bytes::Bytes;
use http::{Request, Response, StatusCode, Version, header};
use hyper::body::Incoming;

use crate::auth::{self, ConnAuth};
use crate::http::{AppState, BodyError, ChunkedBody, gone, plain, read_body, timed_out};
use crate::store::UserRecord;

pub(crate) use vc::VcRegistry;

/// RPC "port" of EMSMDB (MS-OXCRPC), reached through the proxy.
pub(crate) const PORT_EMSMDB: u16 = 6001;
/// RPC "port" of the referral service (MS-OXABREF).
pub(crate) const PORT_RFR: u16 = 6002;
/// RPC "port" of NSPI (MS-OXNSPI).
pub(crate) const PORT_NSPI: u16 = 6004;

/// RPC_S_SERVER_UNAVAILABLE: unknown server name or port.
const ERROR_SERVER_UNAVAILABLE: u32 = 0x6BA;
/// ERROR_ACCESS_DENIED: another user's mailbox.
pub(crate) const ERROR_ACCESS_DENIED: u32 = 0x5;
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

/// `<server>:<port>` of the request URL's query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    /// The RPC server name.
    pub(crate) server: String,
    /// The RPC "port" (6001, 6002 or 6004).
    pub(crate) port: u16,
}

impl Target {
    /// Parses `server:port`; the port must be one of the three Exchange RPC ports.
    pub(crate) fn parse(query: &str) -> Option<Self> {
        let (server, port) = query.rsplit_once(':')?;
        let port: u16 = port.parse().ok()?;
        if server.is_empty() || ![PORT_EMSMDB, PORT_RFR, PORT_NSPI].contains(&port) {
            return None;
        }
        Some(Self {
            server: server.to_owned(),
            port,
        })
    }

    /// Checks the target for `user`: their personalized server name, or for NSPI/RFR one of
    /// the server's own names. `Err` is the RPC error code of the 503 response.
    fn check(&self, state: &AppState, user: &UserRecord, host: Option<&str>) -> Result<(), u32> {
        let name = self.server.as_str();
        if name.eq_ignore_ascii_case(&user.personalized_server_name) {
            return Ok(());
        }
        let users = state.store.all_users().unwrap_or_default();
        if users
            .iter()
            .any(|u| u.personalized_server_name.eq_ignore_ascii_case(name))
        {
            return Err(ERROR_ACCESS_DENIED);
        }
        let domain = state.store.org().ok().flatten().map(|o| o.domain);
        let own = ["localhost", "127.0.0.1", "::1"]
            .into_iter()
            .chain(domain.as_deref())
            .chain(host)
            .any(|n| n.eq_ignore_ascii_case(name));
        if own && self.port != PORT_EMSMDB {
            Ok(())
        } else {
            Err(ERROR_SERVER_UNAVAILABLE)
        }
    }
}

/// MS-RPCH 2.1.2.1.3: `HTTP/1.0 503 RPC Error: <hex>`.
pub(crate) fn rpc_error(code: u32) -> Response<ChunkedBody> {
    let mut resp = plain(StatusCode::SERVICE_UNAVAILABLE, "rpc error");
    *resp.version_mut() = Version::HTTP_10;
    if let Ok(reason) = hyper::ext::ReasonPhrase::try_from(format!("RPC Error: {code:x}")) {
        resp.extensions_mut().insert(reason);
    }
    resp.headers_mut().insert(
        header::CONNECTION,
        header::HeaderValue::from_static("close"),
    );
    resp
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

/// `200 Success` with `Content-Type: application/rpc` (MS-RPCH 2.1.2.1.4, 2.1.2.1.6).
fn rpc_response(body: ChunkedBody) -> Response<ChunkedBody> {
    let mut resp = Response::new(body);
    if let Ok(reason) = hyper::ext::ReasonPhrase::try_from(b"Success".as_slice()) {
        resp.extensions_mut().insert(reason);
    }
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/rpc"),
    );
    h.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("private"),
    );
    resp
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_parsing() {
        let t = Target::parse("a1b2@example.test:6001").unwrap();
        assert_eq!(t.server, "a1b2@example.test");
        assert_eq!(t.port, 6001);
        assert_eq!(Target::parse("host:6004").unwrap().port, 6004);
        assert!(Target::parse("host:593").is_none());
        assert!(Target::parse(":6004").is_none());
        assert!(Target::parse("host").is_none());
        assert!(Target::parse("host:x").is_none());
    }

    #[test]
    fn rpc_error_is_http_1_0_with_reason() {
        let r = rpc_error(0x6BA);
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.version(), Version::HTTP_10);
        let reason = r.extensions().get::<hyper::ext::ReasonPhrase>().unwrap();
        assert_eq!(reason.as_bytes(), b"RPC Error: 6ba");
    }
}
