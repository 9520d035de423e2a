//! HTTP bodies and the plain answers every endpoint shares: the response body type
//! ([`ChunkedBody`]), reading a request body within a size limit and a deadline
//! ([`read_body`], `docs/server-limits.md`), and the plain-text, `408` and connection-closing
//! responses. A leaf: it imports only [`crate::activity`].

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{Response, StatusCode, header};
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use tokio::time::Instant;

use crate::activity::InFlight;

/// Why a request body could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BodyError {
    /// The body (or its Content-Length) is over the limit: answered (MAPI/HTTP: TooLarge).
    #[error("request body over the {limit}-byte limit")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The body did not arrive in time: answered `408` and the connection closed.
    #[error("request body not complete within {0:?}")]
    TimedOut(Duration),
    /// The client closed the connection or broke the body's framing: nobody reads an answer.
    #[error("client went away while sending the body: {0}")]
    Aborted(#[source] hyper::Error),
}

/// Reads a whole request body of at most `limit` bytes that must arrive within `within`
/// (the body read timeout) from now. A Content-Length over the limit fails at once.
pub(crate) async fn read_body(
    mut body: Incoming,
    limit: usize,
    within: Duration,
) -> Result<Bytes, BodyError> {
    if body.size_hint().lower() > u64::try_from(limit).unwrap_or(u64::MAX) {
        return Err(BodyError::TooLarge { limit });
    }
    let deadline = Instant::now() + within;
    let mut buf = BytesMut::new();
    loop {
        let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) => return Err(BodyError::TimedOut(within)),
            Ok(None) => return Ok(buf.freeze()),
            Ok(Some(Err(e))) => return Err(BodyError::Aborted(e)),
            Ok(Some(Ok(frame))) => frame,
        };
        if let Ok(data) = frame.into_data() {
            if buf.len().saturating_add(data.len()) > limit {
                return Err(BodyError::TooLarge { limit });
            }
            buf.extend_from_slice(&data);
        }
    }
}

/// Marks a response as the last one on its connection (the request body was not read to its
/// end, so the connection cannot carry another request).
pub(crate) fn closing(mut resp: Response<ChunkedBody>) -> Response<ChunkedBody> {
    resp.headers_mut().insert(
        header::CONNECTION,
        header::HeaderValue::from_static("close"),
    );
    resp
}

/// `408 Request Timeout` (RFC 9110 15.5.9) after a body read timeout; the connection closes.
pub(crate) fn timed_out() -> Response<ChunkedBody> {
    closing(plain(StatusCode::REQUEST_TIMEOUT, "request body timeout"))
}

/// The answer to a request whose client went away mid-body: nobody reads it, hyper only needs
/// a response to end the exchange; the connection closes.
pub(crate) fn gone() -> Response<ChunkedBody> {
    closing(plain(StatusCode::BAD_REQUEST, "incomplete request body"))
}

/// A plain-text response.
pub(crate) fn plain(status: StatusCode, text: &str) -> Response<ChunkedBody> {
    let mut resp = Response::new(ChunkedBody::sized(Bytes::copy_from_slice(text.as_bytes())));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

/// A response body sent as a fixed list of chunks. Without a known size hyper sends it with
/// `Transfer-Encoding: chunked`, one HTTP chunk per frame.
#[derive(Debug, Default)]
pub(crate) struct ChunkedBody {
    chunks: VecDeque<Bytes>,
    exact: Option<u64>,
    /// Frames after the fixed chunks, until the sender is dropped (the RPC/HTTP OUT channel).
    stream: Option<tokio::sync::mpsc::Receiver<Bytes>>,
    /// Keeps the connection's request counted as in flight until the body is sent or dropped
    /// (the idle timeout; set by the connection's service).
    pub(crate) in_flight: Option<InFlight>,
}

impl ChunkedBody {
    /// A chunked body of these chunks.
    pub(crate) fn chunked(chunks: impl IntoIterator<Item = Bytes>) -> Self {
        Self {
            chunks: chunks.into_iter().collect(),
            exact: None,
            stream: None,
            in_flight: None,
        }
    }

    /// A body with a Content-Length.
    pub(crate) fn sized(b: Bytes) -> Self {
        let exact = u64::try_from(b.len()).ok();
        Self {
            chunks: VecDeque::from([b]),
            exact,
            stream: None,
            in_flight: None,
        }
    }

    /// A body fed by a channel, declared `exact` bytes long (the RPC/HTTP OUT channel).
    pub(crate) fn streaming(rx: tokio::sync::mpsc::Receiver<Bytes>, exact: Option<u64>) -> Self {
        Self {
            chunks: VecDeque::new(),
            exact,
            stream: Some(rx),
            in_flight: None,
        }
    }
}

impl Body for ChunkedBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if let Some(c) = self.chunks.pop_front() {
            return Poll::Ready(Some(Ok(Frame::data(c))));
        }
        let Some(rx) = self.stream.as_mut() else {
            return Poll::Ready(None);
        };
        let next = std::task::ready!(rx.poll_recv(cx));
        if next.is_none() {
            self.stream = None;
        }
        Poll::Ready(next.map(|c| Ok(Frame::data(c))))
    }

    fn is_end_stream(&self) -> bool {
        self.chunks.is_empty() && self.stream.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        match self.exact {
            Some(n) => SizeHint::with_exact(n),
            None => SizeHint::default(),
        }
    }
}
