//! The response body framing of MS-OXCMAPIHTTP 2.2.2.2 ("Common Response Format") and §4.
//!
//! After HTTP de-chunking a response body is:
//!
//! ```text
//! PROCESSING\r\n            meta-tag, sent when the server starts
//! PENDING\r\n ...           keep-alives, one per X-PendingPeriod
//! DONE\r\n                  the response is complete
//! X-ElapsedTime: 12\r\n     additional headers
//! X-StartTime: ...\r\n
//! \r\n
//! <binary response body>    up to the end of the HTTP body
//! ```
//!
//! [`ResponseFramer`] is a sans-IO incremental parser: feed it bytes as they arrive with
//! [`ResponseFramer::push`], drain events with [`ResponseFramer::poll`], and call
//! [`ResponseFramer::finish`] at the end of the HTTP body to get the
//! [`FrameEvent::Done`] event. Only the body after a zero `X-ResponseCode` is framed this way;
//! check that header first.
//!
//! Quirks accepted (see NOTES.md §2.4): `PENDING` without its CRLF (gromox writes the
//! keep-alive chunk as `PENDING` alone) and meta-tags in any order or repeated before `DONE`
//! (gromox repeats `PROCESSING` in its final chunk). Anything else before the blank line is
//! rejected with the offset of the offending byte.

use crate::error::{DecodeError, DecodeResult, EncodeError, EncodeResult};

/// The longest additional-header line accepted, CRLF included.
pub const MAX_HEADER_LINE: usize = 8 * 1024;
/// The most additional headers accepted.
pub const MAX_HEADERS: usize = 64;

/// A meta-tag (MS-OXCMAPIHTTP 2.2.7 "Response Meta-Tags").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetaTag {
    /// `PROCESSING`: the server has started the request.
    Processing,
    /// `PENDING`: keep-alive, still working.
    Pending,
    /// `DONE`: the additional headers and the body follow.
    Done,
}

impl MetaTag {
    /// The tag's text without line end.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Processing => "PROCESSING",
            Self::Pending => "PENDING",
            Self::Done => "DONE",
        }
    }
}

/// One thing the framer learned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameEvent {
    /// Need more input (not an error).
    Incomplete,
    /// A `PROCESSING` meta-tag.
    Processing,
    /// A `PENDING` keep-alive.
    Pending,
    /// The whole response (only from [`ResponseFramer::finish`]).
    Done(FramedResponse),
}

/// The additional headers and the binary body that follow `DONE`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FramedResponse {
    /// Additional headers in order (name, value), value trimmed.
    pub additional_headers: Vec<(String, String)>,
    /// The binary response body.
    pub body: Vec<u8>,
}

impl FramedResponse {
    /// The first additional header called `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.additional_headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// `X-ElapsedTime` as a number, if present and numeric.
    pub fn elapsed_time(&self) -> Option<u64> {
        self.header("X-ElapsedTime")?.parse().ok()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before `DONE`; `optional_crlf` after a `PENDING` that may lack its CRLF.
    Meta { optional_crlf: bool },
    /// Reading additional-header lines.
    Headers,
    /// After the blank line: everything else is body.
    Body,
}

/// Incremental parser for a MAPI/HTTP response body.
#[derive(Debug, Clone)]
pub struct ResponseFramer {
    buf: Vec<u8>,
    /// Absolute stream offset of `buf[0]`.
    base: usize,
    state: State,
    response: FramedResponse,
    done: bool,
}

impl Default for ResponseFramer {
    fn default() -> Self {
        Self::new()
    }
}

impl ResponseFramer {
    /// A framer at the start of a response body.
    pub fn new() -> Self {
        Self {
            buf: Vec::new(),
            base: 0,
            state: State::Meta {
                optional_crlf: false,
            },
            response: FramedResponse::default(),
            done: false,
        }
    }

    /// Appends input and returns the next event (see [`Self::poll`]).
    pub fn push(&mut self, data: &[u8]) -> DecodeResult<FrameEvent> {
        if self.state == State::Body {
            self.response.body.extend_from_slice(data);
        } else {
            self.buf.extend_from_slice(data);
        }
        self.poll()
    }

    /// The next event from input already pushed; `Incomplete` when more is needed. Call it
    /// until it returns `Incomplete`, since one push may carry several meta-tags.
    pub fn poll(&mut self) -> DecodeResult<FrameEvent> {
        loop {
            match self.state {
                State::Meta { optional_crlf } => {
                    if let Some(ev) = self.step_meta(optional_crlf)? {
                        return Ok(ev);
                    }
                }
                State::Headers => {
                    if !self.step_header()? {
                        return Ok(FrameEvent::Incomplete);
                    }
                }
                State::Body => return Ok(FrameEvent::Incomplete),
            }
        }
    }

    /// Ends the input (the HTTP body is complete) and returns the whole response, or a
    /// truncation error when `DONE` or the blank line after the headers never came.
    pub fn finish(&mut self) -> DecodeResult<FrameEvent> {
        // Keep-alives still buffered at the very end are only progress; drain them.
        while !matches!(self.poll()?, FrameEvent::Incomplete) {}
        if self.done {
            return Err(
                DecodeError::invalid("DONE", self.offset(), "finish called twice")
                    .within("MapiHttpResponse"),
            );
        }
        if self.state != State::Body {
            let field = match self.state {
                State::Meta { .. } => "DONE",
                _ => "AdditionalHeaders",
            };
            return Err(DecodeError::truncated(
                field,
                self.offset(),
                self.buf.len() + 1,
                self.buf.len(),
            )
            .within("MapiHttpResponse"));
        }
        self.done = true;
        Ok(FrameEvent::Done(std::mem::take(&mut self.response)))
    }

    /// Absolute offset of the next unparsed byte.
    pub fn offset(&self) -> usize {
        self.base
    }

    /// Returns `Some(event)` to report, or `None` to loop (state changed).
    fn step_meta(&mut self, optional_crlf: bool) -> DecodeResult<Option<FrameEvent>> {
        if optional_crlf {
            match self.buf.as_slice() {
                [] | [b'\r'] => return Ok(Some(FrameEvent::Incomplete)),
                [b'\r', b'\n', ..] => self.consume(2),
                [b'\r', ..] => return Err(self.garbage(1, "CR not followed by LF")),
                _ => {}
            }
            self.state = State::Meta {
                optional_crlf: false,
            };
        }
        let Some(tag) = self.match_tag()? else {
            return Ok(Some(FrameEvent::Incomplete));
        };
        let len = tag.as_str().len();
        match tag {
            MetaTag::Pending => {
                self.consume(len);
                self.state = State::Meta {
                    optional_crlf: true,
                };
                Ok(Some(FrameEvent::Pending))
            }
            MetaTag::Processing | MetaTag::Done => match self.buf.get(len..len + 2) {
                None if self.buf.len() < len + 2 && self.crlf_prefix_ok(len) => {
                    Ok(Some(FrameEvent::Incomplete))
                }
                Some(b"\r\n") => {
                    self.consume(len + 2);
                    if tag == MetaTag::Done {
                        self.state = State::Headers;
                        Ok(None)
                    } else {
                        Ok(Some(FrameEvent::Processing))
                    }
                }
                _ => Err(self.garbage(len, "meta-tag not followed by CRLF")),
            },
        }
    }

    /// True when the bytes after a tag of length `len` could still become CRLF.
    fn crlf_prefix_ok(&self, len: usize) -> bool {
        matches!(self.buf.get(len), None | Some(b'\r'))
    }

    /// Matches a meta-tag at the start of the buffer; `None` when the buffer is a proper
    /// prefix of one.
    fn match_tag(&self) -> DecodeResult<Option<MetaTag>> {
        for tag in [MetaTag::Processing, MetaTag::Pending, MetaTag::Done] {
            if self.buf.starts_with(tag.as_str().as_bytes()) {
                return Ok(Some(tag));
            }
        }
        let is_prefix = [MetaTag::Processing, MetaTag::Pending, MetaTag::Done]
            .iter()
            .any(|t| t.as_str().as_bytes().starts_with(&self.buf));
        if is_prefix {
            Ok(None)
        } else {
            let bad = [MetaTag::Processing, MetaTag::Pending, MetaTag::Done]
                .iter()
                .map(|t| common_prefix(t.as_str().as_bytes(), &self.buf))
                .max()
                .unwrap_or(0);
            Err(self.garbage(bad, "expected PROCESSING, PENDING or DONE"))
        }
    }

    /// Parses one header line; false when the line is not complete yet.
    fn step_header(&mut self) -> DecodeResult<bool> {
        // Only the first MAX_HEADER_LINE bytes matter for this line, so the outcome is the
        // same whether the bytes arrived at once or in pieces: a bare LF inside the line is
        // reported first (at its offset), then an over-long line, else we wait for more.
        let window = &self.buf[..self.buf.len().min(MAX_HEADER_LINE)];
        let crlf = window.windows(2).position(|w| w == b"\r\n");
        let line_end = crlf.unwrap_or(window.len());
        if let Some(lf) = window[..line_end].iter().position(|&b| b == b'\n') {
            return Err(self.garbage(lf, "bare LF in additional headers"));
        }
        let Some(end) = crlf else {
            if self.buf.len() >= MAX_HEADER_LINE {
                return Err(self.garbage(0, "additional header line too long"));
            }
            return Ok(false);
        };
        if end == 0 {
            self.consume(2);
            self.state = State::Body;
            self.response.body = std::mem::take(&mut self.buf);
            return Ok(true);
        }
        if self.response.additional_headers.len() >= MAX_HEADERS {
            return Err(self.garbage(0, "too many additional headers"));
        }
        let header = self.parse_header_line(end)?;
        self.response.additional_headers.push(header);
        self.consume(end + 2);
        Ok(true)
    }

    fn parse_header_line(&self, end: usize) -> DecodeResult<(String, String)> {
        let line = &self.buf[..end];
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return Err(self.garbage(0, "additional header without a colon"));
        };
        let name = &line[..colon];
        if name.is_empty() || !name.iter().all(|&b| is_token_char(b)) {
            return Err(self.garbage(0, "invalid additional header name"));
        }
        let value = &line[colon + 1..];
        if let Some(bad) = value.iter().position(|&b| b < 0x20 && b != b'\t') {
            return Err(self.garbage(colon + 1 + bad, "control character in header value"));
        }
        let value: String = value.iter().map(|&b| b as char).collect();
        let name: String = name.iter().map(|&b| b as char).collect();
        Ok((name, value.trim().to_owned()))
    }

    fn consume(&mut self, n: usize) {
        self.buf.drain(..n);
        self.base += n;
    }

    fn garbage(&self, at: usize, detail: &'static str) -> DecodeError {
        let field = match self.state {
            State::Meta { .. } => "MetaTag",
            _ => "AdditionalHeader",
        };
        DecodeError::invalid(field, self.base + at, detail).within("MapiHttpResponse")
    }
}

fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// RFC 9110 token characters (header names).
fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A meta-tag line as the server sends it (`PENDING\r\n`).
pub fn render_meta(tag: MetaTag) -> &'static [u8] {
    match tag {
        MetaTag::Processing => b"PROCESSING\r\n",
        MetaTag::Pending => b"PENDING\r\n",
        MetaTag::Done => b"DONE\r\n",
    }
}

/// The final part of a response: `DONE\r\n`, the additional headers, a blank line and the
/// body. Names must be tokens and values free of control characters; values are written as
/// ISO-8859-1 (the framer reads header bytes as ISO-8859-1), so characters above U+00FF are
/// refused.
pub fn render_final(additional_headers: &[(&str, &str)], body: &[u8]) -> EncodeResult<Vec<u8>> {
    let mut out = Vec::with_capacity(64 + body.len());
    out.extend_from_slice(render_meta(MetaTag::Done));
    for (name, value) in additional_headers {
        if name.is_empty() || !name.bytes().all(is_token_char) {
            return Err(invalid_header("name", name));
        }
        // Values are ISO-8859-1, one byte per char, as `ResponseFramer` reads them.
        let latin1: Option<Vec<u8>> = value.chars().map(|c| u8::try_from(c).ok()).collect();
        let Some(latin1) = latin1.filter(|v| !v.iter().any(|&b| b < 0x20 && b != b'\t')) else {
            return Err(invalid_header("value", value));
        };
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(&latin1);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    Ok(out)
}

fn invalid_header(what: &str, text: &str) -> EncodeError {
    EncodeError::Invalid {
        structure: "MapiHttpResponse",
        field: "AdditionalHeader",
        detail: format!("invalid header {what} {text:?}"),
    }
}

/// Frames a complete response body in one go; also returns how many keep-alives it saw.
pub fn parse_response(data: &[u8]) -> DecodeResult<(FramedResponse, usize)> {
    let mut framer = ResponseFramer::new();
    let mut pending = 0;
    let mut ev = framer.push(data)?;
    loop {
        match ev {
            FrameEvent::Incomplete => break,
            FrameEvent::Pending => pending += 1,
            FrameEvent::Processing | FrameEvent::Done(_) => {}
        }
        ev = framer.poll()?;
    }
    match framer.finish()? {
        FrameEvent::Done(r) => Ok((r, pending)),
        _ => {
            Err(DecodeError::invalid("DONE", framer.offset(), "no response")
                .within("MapiHttpResponse"))
        }
    }
}
