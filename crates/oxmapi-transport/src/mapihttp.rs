//! The MAPI extensions for HTTP client (MS-OXCMAPIHTTP 2.2.2–2.2.3, 3.1.5): request headers,
//! session-context cookies, `X-ResponseCode`, and the PROCESSING/PENDING/DONE body framing.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{CONTENT_TYPE, COOKIE, SET_COOKIE, USER_AGENT};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use uuid::Uuid;

use crate::config::{AuthScheme, TransportConfig};
use crate::cookies::CookieJar;
use crate::error::TransportError;
use crate::http::{ConnPool, HttpChannel, Outgoing, Target};
use crate::stats::SessionStats;
use crate::tls::TlsSetup;
use oxmapi_wire::mapihttp::{FrameEvent, FramedResponse, ResponseCode, ResponseFramer};

/// MS-OXCMAPIHTTP 2.2.2.1: the `Content-Type` of every request.
pub const CONTENT_TYPE_MAPI_HTTP: &str = "application/mapi-http";

/// A MAPI/HTTP endpoint (MS-OXCMAPIHTTP 2.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// The mailbox endpoint, `/mapi/emsmdb/`.
    Emsmdb,
    /// The address book endpoint, `/mapi/nspi/`.
    Nspi,
}

impl Endpoint {
    /// The path prefix of the endpoint.
    pub fn path(self) -> &'static str {
        match self {
            Self::Emsmdb => "/mapi/emsmdb/",
            Self::Nspi => "/mapi/nspi/",
        }
    }
}

/// A successful (`X-ResponseCode: 0`) MAPI/HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapiHttpResponse {
    /// The binary response body after the additional headers.
    pub body: Vec<u8>,
    /// The additional headers after `DONE` (`X-ElapsedTime`, `X-StartTime`, ...).
    pub additional_headers: Vec<(String, String)>,
    /// `PENDING` keep-alives received while the server worked.
    pub pending_count: u32,
    /// The `X-RequestId` sent with the final leg.
    pub request_id: String,
    /// `X-PendingPeriod` in milliseconds, if sent.
    pub pending_period_ms: Option<u64>,
    /// `X-ExpirationInfo` in milliseconds, if sent.
    pub expiration_info_ms: Option<u64>,
    /// `X-ServerApplication`, if sent.
    pub server_application: Option<String>,
    /// Wall time of the request, auth legs included.
    pub elapsed: Duration,
}

impl MapiHttpResponse {
    /// The first additional header called `name` (ASCII case-insensitive).
    pub fn additional_header(&self, name: &str) -> Option<&str> {
        self.additional_headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A MAPI/HTTP client: TLS policy, credentials and the `X-ClientInfo` identity shared by its
/// sessions. Cheap to clone.
#[derive(Clone)]
pub struct MapiHttpClient {
    inner: Arc<ClientInner>,
}

struct ClientInner {
    config: TransportConfig,
    target: Target,
    tls: Option<TlsSetup>,
    client_info_guid: Uuid,
    /// Connections the sessions share when the auth scheme binds to the connection.
    pool: Option<ConnPool>,
    /// X-ClientInfo counter: a different value for every new session context.
    contexts: AtomicU32,
}

impl MapiHttpClient {
    /// Checks the URL and builds the TLS configuration (reading a CA file now).
    pub fn new(config: TransportConfig) -> Result<Self, TransportError> {
        let target = Target::parse(&config.base_url)?;
        let tls = if target.https {
            Some(TlsSetup::new(&config.tls)?)
        } else {
            None
        };
        // NTLM and Negotiate authenticate the connection (connection-oriented NTLM,
        // MS-NLMP 1.3.1.1): the NSPI and EMSMDB sessions take turns on one, so the handshake
        // is done once per front end.
        let pool = config
            .auth
            .as_ref()
            .filter(|a| matches!(a.scheme, AuthScheme::Ntlm | AuthScheme::Negotiate))
            .map(|_| ConnPool::default());
        let inner = ClientInner {
            pool,
            config,
            target,
            tls,
            client_info_guid: Uuid::new_v4(),
            contexts: AtomicU32::new(1),
        };
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// A session (one connection, one session context) with `endpoint` for `mailbox_id`
    /// (`MailboxId` query parameter, e.g. `<mailbox-guid>@<domain>` or the server name).
    pub fn session(&self, endpoint: Endpoint, mailbox_id: &str) -> MapiHttpSession {
        let inner = &self.inner;
        let mut channel = HttpChannel::new(
            inner.target.clone(),
            inner.tls.clone(),
            inner.config.auth.clone(),
            inner.config.timeouts,
        );
        if let Some(pool) = &inner.pool {
            channel = channel.with_pool(pool.clone());
        }
        MapiHttpSession {
            client: self.inner.clone(),
            path: format!("{}?MailboxId={}", endpoint.path(), encode_query(mailbox_id)),
            channel,
            cookies: CookieJar::default(),
            request_guid: Uuid::new_v4(),
            request_counter: 0,
            client_info_counter: inner.contexts.fetch_add(1, Ordering::Relaxed),
            mapi_requests: 0,
            pending_keepalives: 0,
        }
    }
}

/// One session context on one endpoint; requests are strictly sequential (`&mut self`).
pub struct MapiHttpSession {
    client: Arc<ClientInner>,
    path: String,
    channel: HttpChannel,
    cookies: CookieJar,
    request_guid: Uuid,
    request_counter: u64,
    client_info_counter: u32,
    mapi_requests: u64,
    pending_keepalives: u64,
}

impl MapiHttpSession {
    /// Sends one request (`X-RequestType: request_type`) and returns the framed response.
    pub async fn post(
        &mut self,
        request_type: &str,
        body: Vec<u8>,
    ) -> Result<MapiHttpResponse, TransportError> {
        let result = self.post_once(request_type, body).await;
        // The response is read: the connection may serve another session of the client.
        self.channel.park();
        result
    }

    async fn post_once(
        &mut self,
        request_type: &str,
        body: Vec<u8>,
    ) -> Result<MapiHttpResponse, TransportError> {
        let started = Instant::now();
        let request_type = HeaderValue::from_str(request_type).map_err(|_| {
            TransportError::Protocol(format!("invalid request type {request_type:?}"))
        })?;
        let body = Bytes::from(body);
        let fixed = self.fixed_headers(request_type)?;
        let (path, guid, cookie) = (self.path.clone(), self.request_guid, self.cookies.header());
        let counter = &mut self.request_counter;
        let mut last_id = String::new();
        let mut next = || -> Result<Outgoing, TransportError> {
            *counter += 1;
            last_id = format!("{{{}}}:{}", guid_text(guid), *counter);
            let mut headers = fixed.clone();
            headers.push((
                HeaderName::from_static("x-requestid"),
                header_value(&last_id)?,
            ));
            if let Some(cookie) = &cookie {
                headers.push((COOKIE, header_value(cookie)?));
            }
            Ok(Outgoing {
                path: path.clone(),
                headers,
                body: body.clone(),
            })
        };
        let response = self.channel.send(&mut next).await?;
        for value in response.headers().get_all(SET_COOKIE) {
            if let Ok(text) = value.to_str() {
                self.cookies.store(text);
            }
        }
        if response.status() != StatusCode::OK {
            let status = response.status();
            self.channel.drain(response).await;
            return Err(self.status_error(status));
        }
        let head = response.headers().clone();
        let code = match head.get("x-responsecode").and_then(|v| v.to_str().ok()) {
            Some(text) => text.trim().parse::<u32>().map_err(|_| {
                TransportError::Protocol(format!("x-responsecode is not a number: {text:?}"))
            })?,
            None => 0, // lenient: servers always send it, and the framing still has to parse
        };
        if code != 0 {
            self.channel.drain(response).await;
            return Err(TransportError::ResponseCode {
                code,
                name: ResponseCode(code).name().unwrap_or("unknown response code"),
            });
        }
        let (framed, pending) = self.read_framed(response.into_body()).await?;
        self.mapi_requests += 1;
        self.pending_keepalives += u64::from(pending);
        Ok(MapiHttpResponse {
            body: framed.body,
            additional_headers: framed.additional_headers,
            pending_count: pending,
            request_id: last_id,
            pending_period_ms: header_u64(&head, "x-pendingperiod"),
            expiration_info_ms: header_u64(&head, "x-expirationinfo"),
            server_application: head
                .get("x-serverapplication")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            elapsed: started.elapsed(),
        })
    }

    /// MS-OXCMAPIHTTP 2.2.4.5 PING: an empty request that keeps the session context alive.
    pub async fn ping(&mut self) -> Result<MapiHttpResponse, TransportError> {
        self.post("PING", Vec::new()).await
    }

    /// Forgets the session context: cookies dropped, a new `X-RequestId` GUID and a new
    /// `X-ClientInfo` counter. The connection (and its authentication) is kept.
    pub fn reset(&mut self) {
        self.cookies.clear();
        self.request_guid = Uuid::new_v4();
        self.client_info_counter = self.client.contexts.fetch_add(1, Ordering::Relaxed);
    }

    /// Counters for the logon report.
    pub fn stats(&self) -> SessionStats {
        let c = &self.channel.stats;
        SessionStats {
            http_round_trips: c.round_trips,
            auth_challenges: c.auth_challenges,
            bytes_sent: self.channel.counters.sent(),
            bytes_received: self.channel.counters.received(),
            connections: c.connections,
            mapi_requests: self.mapi_requests,
            pending_keepalives: self.pending_keepalives,
            tls: c.tls.clone(),
            auth_scheme: c.auth_scheme,
        }
    }

    /// The cookies of the current session context (name, value).
    pub fn cookies(&self) -> Vec<(String, String)> {
        self.cookies
            .iter()
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect()
    }

    /// The full URL of the endpoint.
    pub fn url(&self) -> String {
        self.channel.target().url(&self.path)
    }

    fn fixed_headers(
        &self,
        request_type: HeaderValue,
    ) -> Result<Vec<(HeaderName, HeaderValue)>, TransportError> {
        let config = &self.client.config;
        let client_info = format!(
            "{{{}}}:{}",
            guid_text(self.client.client_info_guid),
            self.client_info_counter
        );
        Ok(vec![
            (
                CONTENT_TYPE,
                HeaderValue::from_static(CONTENT_TYPE_MAPI_HTTP),
            ),
            (HeaderName::from_static("x-requesttype"), request_type),
            (
                HeaderName::from_static("x-clientinfo"),
                header_value(&client_info)?,
            ),
            (
                HeaderName::from_static("x-clientapplication"),
                header_value(&config.client_application)?,
            ),
            (USER_AGENT, header_value(&config.user_agent)?),
        ])
    }

    async fn read_framed(
        &mut self,
        mut body: hyper::body::Incoming,
    ) -> Result<(FramedResponse, u32), TransportError> {
        let mut framer = ResponseFramer::new();
        let mut pending = 0u32;
        while let Some(chunk) = self.channel.next_chunk(&mut body).await? {
            let mut event = framer.push(&chunk).map_err(TransportError::Framing)?;
            while event != FrameEvent::Incomplete {
                if event == FrameEvent::Pending {
                    pending = pending.saturating_add(1);
                }
                event = framer.poll().map_err(TransportError::Framing)?;
            }
        }
        match framer.finish().map_err(TransportError::Framing)? {
            FrameEvent::Done(framed) => Ok((framed, pending)),
            other => Err(TransportError::Protocol(format!(
                "unexpected framing event {other:?}"
            ))),
        }
    }

    fn status_error(&self, status: StatusCode) -> TransportError {
        let reason = match status.as_u16() {
            404 => "endpoint not found; check the mapi/http url (is mapi over http enabled?)"
                .to_owned(),
            503 => {
                "service unavailable; the server is down or overloaded, try again later".to_owned()
            }
            500 => "internal server error".to_owned(),
            _ => status
                .canonical_reason()
                .unwrap_or("unexpected status")
                .to_lowercase(),
        };
        TransportError::HttpStatus {
            status: status.as_u16(),
            reason,
            url: self.url(),
        }
    }
}

fn guid_text(guid: Uuid) -> String {
    guid.hyphenated().to_string().to_uppercase()
}

fn header_value(text: &str) -> Result<HeaderValue, TransportError> {
    HeaderValue::from_str(text)
        .map_err(|_| TransportError::Protocol(format!("invalid header value {text:?}")))
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// Percent-encodes a query value (RFC 3986 unreserved characters and `@` stay as they are).
fn encode_query(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~@".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(encode_query("a1b2@contoso.com"), "a1b2@contoso.com");
        assert_eq!(encode_query("a b&c"), "a%20b%26c");
    }

    #[test]
    fn guid_format_matches_the_spec_example() {
        // MS-OXCMAPIHTTP 2.2.3.3.2: {E2EA6C1C-E61B-49E9-9CFB-38184F907552}:123456
        let guid = Uuid::parse_str("e2ea6c1c-e61b-49e9-9cfb-38184f907552").unwrap();
        assert_eq!(
            format!("{{{}}}:{}", guid_text(guid), 123456),
            "{E2EA6C1C-E61B-49E9-9CFB-38184F907552}:123456"
        );
    }
}
