//! What the RPC proxy checks and answers at the HTTP level (MS-RPCH 2.1.2.1): the target
//! `<server>:<port>` of the request URL, the `503 RPC Error` refusal (2.1.2.1.3) and the
//! `200 Success` channel response (2.1.2.1.4).

use http::{Response, StatusCode, Version, header};

use crate::body::{ChunkedBody, plain};
use crate::state::AppState;
use crate::store::UserRecord;

/// RPC "port" of EMSMDB (MS-OXCRPC), reached through the proxy.
pub(crate) const PORT_EMSMDB: u16 = 6001;
/// RPC "port" of the referral service (MS-OXABREF).
pub(crate) const PORT_RFR: u16 = 6002;
/// RPC "port" of NSPI (MS-OXNSPI).
pub(crate) const PORT_NSPI: u16 = 6004;

/// RPC_S_SERVER_UNAVAILABLE: unknown server name or port.
pub(crate) const ERROR_SERVER_UNAVAILABLE: u32 = 0x6BA;
/// ERROR_ACCESS_DENIED: another user's mailbox.
pub(crate) const ERROR_ACCESS_DENIED: u32 = 0x5;

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
    pub(crate) fn check(
        &self,
        state: &AppState,
        user: &UserRecord,
        host: Option<&str>,
    ) -> Result<(), u32> {
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

/// `200 Success` with `Content-Type: application/rpc` (MS-RPCH 2.1.2.1.4, 2.1.2.1.6).
pub(crate) fn rpc_response(body: ChunkedBody) -> Response<ChunkedBody> {
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
