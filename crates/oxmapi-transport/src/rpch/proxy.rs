//! The two HTTP requests of a virtual connection (MS-RPCH 2.1.2.1): each on its own TCP (+TLS)
//! connection that we open, authenticated there with the proxy map's HTTP scheme (NTLM legs
//! with `Content-Length: 0`, or Basic / Bearer), then the long-lived `RPC_IN_DATA` /
//! `RPC_OUT_DATA`.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{
    ACCEPT, AUTHORIZATION, CACHE_CONTROL, CONNECTION, CONTENT_LENGTH, HOST, PRAGMA, USER_AGENT,
    WWW_AUTHENTICATE,
};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use super::error::RpcError;
use crate::auth::{SspiClient, parse_challenges, whole_request_header};
use crate::config::{HttpAuth, Timeouts};
use crate::error::{TimeoutStep, TransportError};
use crate::http::{ChannelStats, Target};
use crate::io::{ByteCounters, Counting};
use crate::tls::TlsSetup;

/// MS-RPCH 2.1.2.1.1: the IN channel's Content-Length (1 GiB, the value Outlook and impacket use).
pub(crate) const IN_CHANNEL_LENGTH: u64 = 0x4000_0000;
/// The response future of a request whose head has not arrived yet.
pub(crate) type PendingResponse =
    Pin<Box<dyn Future<Output = hyper::Result<Response<Incoming>>> + Send>>;

/// A request body: a fixed buffer (auth legs, the OUT channel's CONN/A1) or the IN channel's
/// stream of PDUs fed from an mpsc channel. Never chunked: the Content-Length header is set.
#[derive(Debug)]
pub(crate) enum ChannelBody {
    /// A whole body (`None` = empty).
    Full(Option<Bytes>),
    /// PDUs as they are sent; the body ends when the sender is dropped.
    Stream(mpsc::Receiver<Bytes>),
}

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            Self::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            Self::Stream(rx) => rx.poll_recv(cx).map(|b| b.map(|b| Ok(Frame::data(b)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, Self::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Full(None) => SizeHint::with_exact(0),
            Self::Full(Some(b)) => SizeHint::with_exact(b.len() as u64),
            Self::Stream(_) => SizeHint::default(),
        }
    }
}

/// Everything needed to open one channel to the RPC proxy.
pub(crate) struct ProxyContext<'a> {
    pub(crate) target: &'a Target,
    pub(crate) tls: Option<&'a TlsSetup>,
    pub(crate) auth: Option<&'a HttpAuth>,
    pub(crate) timeouts: Timeouts,
    pub(crate) counters: Arc<ByteCounters>,
    /// `/rpc/rpcproxy.dll?<server>:<port>`.
    pub(crate) path: String,
}

/// One opened channel: the final request is on its way, its response head may still come.
pub(crate) struct OpenedChannel {
    pub(crate) response: PendingResponse,
    pub(crate) connection: AbortHandle,
}

impl ProxyContext<'_> {
    pub(crate) fn url(&self) -> String {
        self.target.url(&self.path)
    }

    /// Opens a connection, runs the HTTP auth legs, and sends `method` with `content_length`
    /// and `body` as the final (authenticated) request without waiting for its response.
    pub(crate) async fn open(
        &self,
        stats: &mut ChannelStats,
        method: &'static str,
        content_length: u64,
        body: ChannelBody,
    ) -> Result<OpenedChannel, RpcError> {
        let (mut sender, connection) = self.connect(stats).await?;
        let authorization = self.authenticate(&mut sender, stats, method).await?;
        let request = self.request(method, content_length, body, authorization)?;
        self.ready(&mut sender).await?;
        stats.round_trips += 1;
        let response = sender.send_request(request);
        Ok(OpenedChannel {
            response: Box::pin(response),
            connection,
        })
    }

    /// Checks the final response head of a channel: 2xx passes, 401 is an authentication
    /// failure, anything else is the proxy's refusal (MS-RPCH 2.1.2.1.3 `503 RPC Error`).
    pub(crate) fn check(
        &self,
        channel: &'static str,
        response: Response<Incoming>,
    ) -> Result<Response<Incoming>, RpcError> {
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        if status == StatusCode::UNAUTHORIZED
            && let Some(auth) = self.auth
        {
            return Err(auth_failed(auth).into());
        }
        Err(RpcError::Proxy {
            channel,
            status: status.as_u16(),
            reason: reason_phrase(&response),
            url: self.url(),
        })
    }

    async fn authenticate(
        &self,
        sender: &mut SendRequest<ChannelBody>,
        stats: &mut ChannelStats,
        method: &'static str,
    ) -> Result<Option<String>, RpcError> {
        let Some(auth) = self.auth else {
            return Ok(None);
        };
        // Basic and Bearer: the same header on both channels' requests, over TLS only.
        if let Some(header) = whole_request_header(auth, self.target.https, &self.target.host)? {
            stats.auth_scheme = Some(auth.scheme);
            return Ok(Some(header));
        }
        let mut client = SspiClient::new(auth, &self.target.host)?;
        let negotiate = client.step(None)?;
        let request = self.request(method, 0, ChannelBody::Full(None), Some(negotiate))?;
        let response = self.round_trip(sender, stats, request).await?;
        let status = response.status();
        if status != StatusCode::UNAUTHORIZED {
            let checked = self.check(method, response)?;
            self.drain(checked).await?;
            return Ok(None); // the proxy did not ask for authentication
        }
        stats.auth_challenges += 1;
        let offered = parse_challenges(
            response
                .headers()
                .get_all(WWW_AUTHENTICATE)
                .iter()
                .filter_map(|v| v.to_str().ok()),
        );
        self.drain(response).await?;
        let wanted = auth.scheme.header_name();
        let Some(challenge) = offered
            .iter()
            .find(|c| c.scheme.eq_ignore_ascii_case(wanted))
        else {
            return Err(TransportError::AuthNotOffered {
                offered: offered.into_iter().map(|c| c.scheme).collect(),
                wanted: auth.scheme,
            }
            .into());
        };
        let token = challenge
            .token
            .as_deref()
            .ok_or_else(|| auth_failed(auth))?;
        stats.auth_scheme = Some(auth.scheme);
        Ok(Some(client.step(Some(token))?))
    }

    fn request(
        &self,
        method: &'static str,
        content_length: u64,
        body: ChannelBody,
        authorization: Option<String>,
    ) -> Result<Request<ChannelBody>, RpcError> {
        let method = Method::from_bytes(method.as_bytes())
            .map_err(|e| RpcError::Protocol(format!("bad method: {e}")))?;
        let mut builder = Request::builder()
            .method(method)
            .uri(self.path.as_str())
            .header(HOST, &self.target.authority)
            .header(ACCEPT, "application/rpc")
            .header(USER_AGENT, "MSRPC")
            .header(CACHE_CONTROL, "no-cache")
            .header(PRAGMA, "No-cache")
            .header(CONNECTION, "Keep-Alive")
            .header(CONTENT_LENGTH, content_length);
        if let Some(value) = authorization {
            let mut value = HeaderValue::from_str(&value)
                .map_err(|e| RpcError::Protocol(format!("bad auth header: {e}")))?;
            value.set_sensitive(true);
            builder = builder.header(AUTHORIZATION, value);
        }
        builder
            .body(body)
            .map_err(|e| RpcError::Protocol(format!("cannot build request: {e}")))
    }

    async fn round_trip(
        &self,
        sender: &mut SendRequest<ChannelBody>,
        stats: &mut ChannelStats,
        request: Request<ChannelBody>,
    ) -> Result<Response<Incoming>, RpcError> {
        self.ready(sender).await?;
        stats.round_trips += 1;
        let limit = self.timeouts.response_headers;
        tokio::time::timeout(limit, sender.send_request(request))
            .await
            .map_err(|_| self.timeout(TimeoutStep::ResponseHeaders))?
            .map_err(|e| self.io(e).into())
    }

    async fn ready(&self, sender: &mut SendRequest<ChannelBody>) -> Result<(), RpcError> {
        let limit = self.timeouts.response_headers;
        tokio::time::timeout(limit, sender.ready())
            .await
            .map_err(|_| self.timeout(TimeoutStep::ResponseHeaders))?
            .map_err(|e| self.io(e).into())
    }

    async fn drain(&self, response: Response<Incoming>) -> Result<(), RpcError> {
        let limit = self.timeouts.body_idle;
        tokio::time::timeout(limit, response.into_body().collect())
            .await
            .map_err(|_| self.timeout(TimeoutStep::ResponseBody))?
            .map_err(|e| self.io(e))?;
        Ok(())
    }

    async fn connect(
        &self,
        stats: &mut ChannelStats,
    ) -> Result<(SendRequest<ChannelBody>, AbortHandle), RpcError> {
        let limit = self.timeouts.connect;
        let t = self.target;
        let tcp = tokio::time::timeout(limit, TcpStream::connect((t.host.as_str(), t.port)))
            .await
            .map_err(|_| self.timeout(TimeoutStep::Connect))?
            .map_err(|source| TransportError::Connect {
                host: t.host.clone(),
                port: t.port,
                source,
            })?;
        let _ = tcp.set_nodelay(true);
        let started = match self.tls {
            Some(tls) => {
                let (stream, info) = tokio::time::timeout(limit, tls.handshake(&t.host, tcp))
                    .await
                    .map_err(|_| self.timeout(TimeoutStep::TlsHandshake))??;
                stats.tls = Some(info);
                self.start_http(stream).await?
            }
            None => self.start_http(tcp).await?,
        };
        stats.connections += 1;
        Ok(started)
    }

    async fn start_http<S>(
        &self,
        stream: S,
    ) -> Result<(SendRequest<ChannelBody>, AbortHandle), RpcError>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let io = TokioIo::new(Counting::new(stream, self.counters.clone()));
        let (sender, connection) = http1::handshake(io).await.map_err(|e| self.io(e))?;
        let host = self.target.host.clone();
        let task = tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(%host, error = %e, "rpc/http channel connection ended");
            }
        });
        Ok((sender, task.abort_handle()))
    }

    fn timeout(&self, step: TimeoutStep) -> TransportError {
        let limit = match step {
            TimeoutStep::Connect | TimeoutStep::TlsHandshake => self.timeouts.connect,
            TimeoutStep::ResponseHeaders => self.timeouts.response_headers,
            _ => self.timeouts.body_idle,
        };
        TransportError::Timeout {
            step,
            host: self.target.host.clone(),
            after_ms: limit.as_millis(),
        }
    }

    pub(crate) fn io(&self, e: hyper::Error) -> TransportError {
        TransportError::Io {
            host: self.target.host.clone(),
            source: std::io::Error::other(e),
        }
    }
}

fn auth_failed(auth: &HttpAuth) -> TransportError {
    TransportError::AuthFailed {
        scheme: auth.scheme,
        user: auth.credentials.display_user(),
    }
}

/// The reason phrase as sent (`RPC Error: 6ba`), else the canonical one.
fn reason_phrase(response: &Response<Incoming>) -> String {
    response
        .extensions()
        .get::<hyper::ext::ReasonPhrase>()
        .map(|r| String::from_utf8_lossy(r.as_bytes()).into_owned())
        .or_else(|| response.status().canonical_reason().map(str::to_owned))
        .unwrap_or_default()
}
