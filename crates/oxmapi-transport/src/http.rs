//! One HTTP/1.1 channel to one endpoint: a kept-alive connection we opened ourselves (so the
//! connection-based NTLM/Negotiate handshake stays on it), reconnects, timeouts and the 401 legs.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{AUTHORIZATION, HOST, WWW_AUTHENTICATE};
use http::{HeaderName, HeaderValue, Method, Request, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::auth::{Challenge, SspiClient, bearer_error, parse_challenges, whole_request_header};
use crate::config::{AuthScheme, HttpAuth, Timeouts};
use crate::error::{TimeoutStep, TransportError};
use crate::io::{ByteCounters, Counting};
use crate::tls::{TlsInfo, TlsSetup};

/// Most bytes read from an error or 401 body before giving up on reusing the connection.
const DRAIN_LIMIT: usize = 1 << 20;

/// Scheme, host and port of the front end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub(crate) https: bool,
    /// Host name or address without IPv6 brackets.
    pub(crate) host: String,
    pub(crate) port: u16,
    /// `Host` header value.
    pub(crate) authority: String,
}

impl Target {
    pub(crate) fn parse(url: &str) -> Result<Self, TransportError> {
        let bad = |reason: &str| TransportError::InvalidUrl {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        let uri: Uri = url.parse().map_err(|_| bad("cannot parse it"))?;
        let https = match uri.scheme_str() {
            Some(s) if s.eq_ignore_ascii_case("https") => true,
            Some(s) if s.eq_ignore_ascii_case("http") => false,
            _ => return Err(bad("the scheme must be https:// or http://")),
        };
        let authority = uri.authority().ok_or_else(|| bad("no host"))?;
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
        Ok(Self {
            https,
            host,
            port,
            authority: authority.as_str().to_owned(),
        })
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!(
            "{}://{}{path}",
            if self.https { "https" } else { "http" },
            self.authority
        )
    }
}

/// One request to send; built again for every leg of an auth handshake.
pub(crate) struct Outgoing {
    pub(crate) path: String,
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    pub(crate) body: Bytes,
}

/// Counters kept by a channel.
#[derive(Debug, Clone, Default)]
pub(crate) struct ChannelStats {
    pub(crate) round_trips: u64,
    pub(crate) auth_challenges: u64,
    pub(crate) connections: u64,
    pub(crate) tls: Option<TlsInfo>,
    pub(crate) auth_scheme: Option<AuthScheme>,
}

pub(crate) struct Conn {
    sender: SendRequest<Full<Bytes>>,
    used: bool,
    authenticated: bool,
}

/// Idle connections to one front end that the sessions of one client take turns on, so that
/// an NTLM/Negotiate handshake (bound to the connection: connection-oriented NTLM,
/// MS-NLMP 1.3.1.1) is done once for the address book and the mailbox, not once per
/// endpoint. Bytes are counted by the session that opened the connection.
#[derive(Clone, Default)]
pub(crate) struct ConnPool(Arc<std::sync::Mutex<Vec<Conn>>>);

/// Most idle connections a [`ConnPool`] keeps.
const POOL_MAX: usize = 2;

impl ConnPool {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Conn>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// An open idle connection, if any.
    fn take(&self) -> Option<Conn> {
        let mut idle = self.lock();
        while let Some(conn) = idle.pop() {
            if !conn.sender.is_closed() {
                return Some(conn);
            }
        }
        None
    }

    fn put(&self, conn: Conn) {
        let mut idle = self.lock();
        if idle.len() < POOL_MAX {
            idle.push(conn);
        }
    }
}

/// The HTTP side of one endpoint session.
pub(crate) struct HttpChannel {
    target: Target,
    tls: Option<TlsSetup>,
    auth: Option<HttpAuth>,
    timeouts: Timeouts,
    conn: Option<Conn>,
    pub(crate) counters: Arc<ByteCounters>,
    pub(crate) stats: ChannelStats,
    /// The server demanded auth before: authenticate new connections without the anonymous leg.
    auth_needed: bool,
    /// Basic or Bearer was accepted: send its header with every request from now on.
    whole_ok: bool,
    /// Where the connection goes between requests when it is shared with other sessions.
    pool: Option<ConnPool>,
}

enum SendFailure {
    /// The kept-alive connection was closed before a response arrived.
    Closed,
    Other(TransportError),
}

impl HttpChannel {
    pub(crate) fn new(
        target: Target,
        tls: Option<TlsSetup>,
        auth: Option<HttpAuth>,
        timeouts: Timeouts,
    ) -> Self {
        Self {
            target,
            tls,
            auth,
            timeouts,
            conn: None,
            counters: Arc::default(),
            stats: ChannelStats::default(),
            auth_needed: false,
            whole_ok: false,
            pool: None,
        }
    }

    /// Shares connections with the other channels of `pool` ([`Self::park`] after each
    /// request).
    pub(crate) fn with_pool(mut self, pool: ConnPool) -> Self {
        self.pool = Some(pool);
        self
    }

    /// Hands the connection, once its response is read, to the pool for the next request of
    /// any channel sharing it. Without a pool the channel keeps it.
    pub(crate) fn park(&mut self) {
        if let Some(pool) = &self.pool
            && let Some(conn) = self.conn.take()
            && !conn.sender.is_closed()
        {
            pool.put(conn);
        }
    }

    pub(crate) fn target(&self) -> &Target {
        &self.target
    }

    /// Sends a request (authenticating when asked to) and returns the final response head;
    /// the caller reads the body with [`Self::next_chunk`].
    pub(crate) async fn send(
        &mut self,
        next: &mut (dyn FnMut() -> Result<Outgoing, TransportError> + Send),
    ) -> Result<Response<Incoming>, TransportError> {
        let mut retried = false;
        loop {
            self.ensure_connected().await?;
            let (reused, authenticated) = self
                .conn
                .as_ref()
                .map_or((false, false), |c| (c.used, c.authenticated));
            // NTLM and Negotiate bind to the connection (MS-NLMP 1.3.1.1): a new one starts
            // with the first leg of the handshake, not an anonymous request answered 401.
            let connection_auth = self
                .auth
                .as_ref()
                .is_some_and(|a| matches!(a.scheme, AuthScheme::Ntlm | AuthScheme::Negotiate));
            if (self.auth_needed || connection_auth) && !authenticated && !self.whole_ok {
                return self.handshake(next, None).await;
            }
            // Basic and Bearer go up front over TLS, on the first request of every connection:
            // no anonymous leg to learn that the server wants them (RFC 7617 2, RFC 6750 2.1).
            let header = match &self.auth {
                Some(a) if self.whole_ok || self.target.https => {
                    whole_request_header(a, self.target.https, &self.target.host)?
                }
                _ => None,
            };
            let sent_credentials = header.is_some();
            let response = match self.send_once(next()?, header).await {
                Ok(response) => response,
                Err(SendFailure::Closed) if reused && !retried => {
                    retried = true;
                    self.conn = None;
                    continue;
                }
                Err(SendFailure::Closed) => return Err(self.closed_error()),
                Err(SendFailure::Other(e)) => return Err(e),
            };
            if response.status() != StatusCode::UNAUTHORIZED {
                if sent_credentials
                    && !self.whole_ok
                    && let Some(scheme) = self.auth.as_ref().map(|a| a.scheme)
                {
                    self.authenticated(scheme);
                    self.whole_ok = true;
                }
                return Ok(response);
            }
            let offered = challenges(&response);
            if sent_credentials {
                // The credentials were refused: asking again would only count one more
                // failed attempt against the account.
                return Err(self.refused(response, offered).await);
            }
            self.drain(response).await;
            self.ensure_connected().await?;
            return self.handshake(next, Some(offered)).await;
        }
    }

    /// The next piece of a response body, `None` at its end; bounded by the body idle timeout.
    pub(crate) async fn next_chunk(
        &mut self,
        body: &mut Incoming,
    ) -> Result<Option<Bytes>, TransportError> {
        loop {
            let frame = match tokio::time::timeout(self.timeouts.body_idle, body.frame()).await {
                Err(_) => {
                    self.conn = None;
                    return Err(self.timeout(TimeoutStep::ResponseBody, self.timeouts.body_idle));
                }
                Ok(None) => return Ok(None),
                Ok(Some(Err(e))) => {
                    self.conn = None;
                    return Err(self.hyper_error(e));
                }
                Ok(Some(Ok(frame))) => frame,
            };
            if let Ok(data) = frame.into_data() {
                return Ok(Some(data));
            }
        }
    }

    /// Reads and discards a body so the connection can be reused (or drops the connection).
    pub(crate) async fn drain(&mut self, response: Response<Incoming>) {
        let mut body = response.into_body();
        let mut total = 0usize;
        loop {
            match self.next_chunk(&mut body).await {
                Ok(Some(chunk)) => {
                    total = total.saturating_add(chunk.len());
                    if total > DRAIN_LIMIT {
                        self.conn = None;
                        return;
                    }
                }
                Ok(None) => return,
                Err(_) => return,
            }
        }
    }

    async fn handshake(
        &mut self,
        next: &mut (dyn FnMut() -> Result<Outgoing, TransportError> + Send),
        offered: Option<Vec<Challenge>>,
    ) -> Result<Response<Incoming>, TransportError> {
        let names = |o: &Option<Vec<Challenge>>| {
            o.iter()
                .flatten()
                .map(|c| c.scheme.clone())
                .collect::<Vec<_>>()
        };
        let Some(auth) = self.auth.clone() else {
            return Err(TransportError::AuthRequired {
                offered: names(&offered),
            });
        };
        let wanted = auth.scheme.header_name();
        if let Some(list) = &offered
            && !list.iter().any(|c| c.scheme.eq_ignore_ascii_case(wanted))
        {
            return Err(TransportError::AuthNotOffered {
                offered: names(&offered),
                wanted: auth.scheme,
            });
        }
        let failed = || TransportError::AuthFailed {
            scheme: auth.scheme,
            user: auth.credentials.display_user(),
        };
        // Basic and Bearer: one leg, the header on every request, over TLS only.
        if let Some(header) = whole_request_header(&auth, self.target.https, &self.target.host)? {
            let response = self.send_leg(next()?, header).await?;
            if response.status() == StatusCode::UNAUTHORIZED {
                if let Some(error) = bearer_error(header_values(&response)) {
                    // RFC 6750 3.1, e.g. `invalid_token: the token has expired`; never the token.
                    tracing::debug!(host = %self.target.host, %error, "bearer token rejected");
                }
                self.drain(response).await;
                return Err(failed());
            }
            self.authenticated(auth.scheme);
            self.whole_ok = true;
            return Ok(response);
        }
        let mut client = SspiClient::new(&auth, &self.target.host)?;
        let mut challenge: Option<String> = None;
        for leg in 0..2 {
            let header = client.step(challenge.as_deref())?;
            let response = self.send_leg(next()?, header).await?;
            if response.status() != StatusCode::UNAUTHORIZED {
                self.authenticated(auth.scheme);
                return Ok(response);
            }
            let offered_now = challenges(&response);
            self.drain(response).await;
            if !offered_now.is_empty()
                && !offered_now
                    .iter()
                    .any(|c| c.scheme.eq_ignore_ascii_case(wanted))
            {
                return Err(TransportError::AuthNotOffered {
                    offered: offered_now.into_iter().map(|c| c.scheme).collect(),
                    wanted: auth.scheme,
                });
            }
            let token = offered_now
                .into_iter()
                .find(|c| c.scheme.eq_ignore_ascii_case(wanted))
                .and_then(|c| c.token);
            match token {
                Some(token) if leg == 0 => challenge = Some(token),
                _ => return Err(failed()),
            }
            if self.conn.as_ref().is_none_or(|c| c.sender.is_closed()) {
                self.conn = None;
                return Err(TransportError::Protocol(format!(
                    "{} closed the connection during the {wanted} handshake",
                    self.target.host
                )));
            }
        }
        Err(failed())
    }

    /// The error for a 401 to a request that carried Basic or Bearer credentials.
    async fn refused(
        &mut self,
        response: Response<Incoming>,
        offered: Vec<Challenge>,
    ) -> TransportError {
        let Some(auth) = self.auth.clone() else {
            self.drain(response).await;
            return TransportError::Protocol("401 to a request without credentials".into());
        };
        if let Some(error) = bearer_error(header_values(&response)) {
            // RFC 6750 3.1, e.g. `invalid_token: the token has expired`; never the token.
            tracing::debug!(host = %self.target.host, %error, "bearer token rejected");
        }
        self.drain(response).await;
        let wanted = auth.scheme.header_name();
        if !offered.is_empty()
            && !offered
                .iter()
                .any(|c| c.scheme.eq_ignore_ascii_case(wanted))
        {
            return TransportError::AuthNotOffered {
                offered: offered.into_iter().map(|c| c.scheme).collect(),
                wanted: auth.scheme,
            };
        }
        TransportError::AuthFailed {
            scheme: auth.scheme,
            user: auth.credentials.display_user(),
        }
    }

    fn authenticated(&mut self, scheme: AuthScheme) {
        if let Some(conn) = self.conn.as_mut() {
            conn.authenticated = true;
        }
        self.auth_needed = true;
        self.stats.auth_scheme = Some(scheme);
    }

    async fn send_leg(
        &mut self,
        out: Outgoing,
        auth: String,
    ) -> Result<Response<Incoming>, TransportError> {
        match self.send_once(out, Some(auth)).await {
            Ok(response) => Ok(response),
            Err(SendFailure::Closed) => Err(self.closed_error()),
            Err(SendFailure::Other(e)) => Err(e),
        }
    }

    async fn send_once(
        &mut self,
        out: Outgoing,
        auth: Option<String>,
    ) -> Result<Response<Incoming>, SendFailure> {
        let request = self.build(out, auth).map_err(SendFailure::Other)?;
        let limit = self.timeouts.response_headers;
        let Some(conn) = self.conn.as_mut() else {
            return Err(SendFailure::Closed);
        };
        self.stats.round_trips += 1;
        // `sent` tells whether the request may have reached the server: only a request that
        // was never written (the connection was already closed, or hyper cancelled it before
        // dispatch) may be retried — a MAPI/HTTP Execute is not idempotent (a resent
        // RopSubmitMessage would send mail twice).
        let result = tokio::time::timeout(limit, async {
            if let Err(e) = conn.sender.ready().await {
                return Err((false, e));
            }
            conn.sender
                .send_request(request)
                .await
                .map_err(|e| (true, e))
        })
        .await;
        conn.used = true;
        match result {
            Err(_) => {
                self.conn = None;
                Err(SendFailure::Other(
                    self.timeout(TimeoutStep::ResponseHeaders, limit),
                ))
            }
            Ok(Err((sent, e))) => {
                self.conn = None;
                if !sent || e.is_canceled() {
                    Err(SendFailure::Closed)
                } else if e.is_closed() || e.is_incomplete_message() {
                    Err(SendFailure::Other(self.closed_error()))
                } else {
                    Err(SendFailure::Other(self.hyper_error(e)))
                }
            }
            Ok(Ok(response)) => {
                if response.status() == StatusCode::UNAUTHORIZED {
                    self.stats.auth_challenges += 1;
                }
                Ok(response)
            }
        }
    }

    fn build(
        &self,
        out: Outgoing,
        auth: Option<String>,
    ) -> Result<Request<Full<Bytes>>, TransportError> {
        let mut builder = Request::builder()
            .method(Method::POST)
            .uri(out.path)
            .header(HOST, &self.target.authority);
        for (name, value) in out.headers {
            builder = builder.header(name, value);
        }
        if let Some(auth) = auth {
            let mut value = HeaderValue::from_str(&auth)
                .map_err(|e| TransportError::Protocol(format!("bad auth header: {e}")))?;
            value.set_sensitive(true);
            builder = builder.header(AUTHORIZATION, value);
        }
        builder
            .body(Full::new(out.body))
            .map_err(|e| TransportError::Protocol(format!("cannot build request: {e}")))
    }

    async fn ensure_connected(&mut self) -> Result<(), TransportError> {
        if self.conn.as_ref().is_some_and(|c| !c.sender.is_closed()) {
            return Ok(());
        }
        self.conn = self.pool.as_ref().and_then(ConnPool::take);
        if self.conn.is_some() {
            return Ok(());
        }
        let tcp = self.tcp_connect().await?;
        let sender = match &self.tls {
            Some(tls) => {
                let limit = self.timeouts.connect;
                let (stream, info) =
                    tokio::time::timeout(limit, tls.handshake(&self.target.host, tcp))
                        .await
                        .map_err(|_| self.timeout(TimeoutStep::TlsHandshake, limit))??;
                self.stats.tls = Some(info);
                self.start_http(stream).await?
            }
            None => self.start_http(tcp).await?,
        };
        self.stats.connections += 1;
        self.conn = Some(Conn {
            sender,
            used: false,
            authenticated: false,
        });
        Ok(())
    }

    async fn tcp_connect(&self) -> Result<TcpStream, TransportError> {
        let limit = self.timeouts.connect;
        let addr = (self.target.host.as_str(), self.target.port);
        let stream = tokio::time::timeout(limit, TcpStream::connect(addr))
            .await
            .map_err(|_| self.timeout(TimeoutStep::Connect, limit))?
            .map_err(|source| TransportError::Connect {
                host: self.target.host.clone(),
                port: self.target.port,
                source,
            })?;
        let _ = stream.set_nodelay(true);
        Ok(stream)
    }

    async fn start_http<S>(&self, stream: S) -> Result<SendRequest<Full<Bytes>>, TransportError>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let io = TokioIo::new(Counting::new(stream, self.counters.clone()));
        let (sender, connection) = http1::handshake(io)
            .await
            .map_err(|e| self.hyper_error(e))?;
        let host = self.target.host.clone();
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(%host, error = %e, "http connection ended");
            }
        });
        Ok(sender)
    }

    fn timeout(&self, step: TimeoutStep, limit: Duration) -> TransportError {
        TransportError::Timeout {
            step,
            host: self.target.host.clone(),
            after_ms: limit.as_millis(),
        }
    }

    fn hyper_error(&self, e: hyper::Error) -> TransportError {
        TransportError::Io {
            host: self.target.host.clone(),
            source: std::io::Error::other(e),
        }
    }

    fn closed_error(&self) -> TransportError {
        TransportError::Io {
            host: self.target.host.clone(),
            source: std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "server closed the connection",
            ),
        }
    }
}

fn challenges(response: &Response<Incoming>) -> Vec<Challenge> {
    parse_challenges(header_values(response))
}

fn header_values(response: &Response<Incoming>) -> impl Iterator<Item = &str> {
    response
        .headers()
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse() {
        let t = Target::parse("https://mail.contoso.com").unwrap();
        assert_eq!(
            (t.https, t.host.as_str(), t.port, t.authority.as_str()),
            (true, "mail.contoso.com", 443, "mail.contoso.com")
        );
        let t = Target::parse("http://127.0.0.1:8080/").unwrap();
        assert_eq!(
            (t.https, t.port, t.authority.as_str()),
            (false, 8080, "127.0.0.1:8080")
        );
        let t = Target::parse("https://[::1]:4443").unwrap();
        assert_eq!(t.host, "::1");
        assert!(Target::parse("ftp://x").is_err());
        assert!(Target::parse("mail.contoso.com").is_err());
    }
}
