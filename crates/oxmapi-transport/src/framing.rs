//! Private stand-in for `oxmapi_wire::mapihttp::{ResponseFramer, FrameEvent, ResponseCode}` until
//! that module is exported; same API subset, so switching is a change of `use` lines.
//!
//! MS-OXCMAPIHTTP 2.2.2.2 Common Response Format: meta-tags (`PROCESSING`, `PENDING`, `DONE`),
//! additional headers, a blank line, then the binary body up to the end of the HTTP body.

use oxmapi_wire::{DecodeError, DecodeResult};

/// One thing the framer learned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FrameEvent {
    Incomplete,
    Processing,
    Pending,
    Done(FramedResponse),
}

/// The additional headers and the binary body that follow `DONE`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct FramedResponse {
    pub(crate) additional_headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Meta,
    /// After `DONE`, before its CRLF.
    AfterDone,
    Headers,
    Body,
}

const TAGS: [(&[u8], FrameEvent); 3] = [
    (b"PROCESSING", FrameEvent::Processing),
    (b"PENDING", FrameEvent::Pending),
    (b"DONE", FrameEvent::Incomplete),
];
const MAX_BUFFERED: usize = 64 * 1024;

/// Incremental parser of a MAPI/HTTP response body.
#[derive(Debug, Default)]
pub(crate) struct ResponseFramer {
    buf: Vec<u8>,
    base: usize,
    state: Option<State>,
    response: FramedResponse,
}

impl ResponseFramer {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Appends input and returns the next event.
    pub(crate) fn push(&mut self, data: &[u8]) -> DecodeResult<FrameEvent> {
        if self.state == Some(State::Body) {
            self.response.body.extend_from_slice(data);
        } else {
            self.buf.extend_from_slice(data);
        }
        self.poll()
    }

    /// The next event from input already pushed; call until `Incomplete`.
    pub(crate) fn poll(&mut self) -> DecodeResult<FrameEvent> {
        loop {
            match self.state.unwrap_or(State::Meta) {
                State::Body => return Ok(FrameEvent::Incomplete),
                State::Meta => {
                    if let Some(event) = self.step_meta()? {
                        return Ok(event);
                    }
                }
                State::AfterDone => match self.buf.as_slice() {
                    [] | [b'\r'] => return Ok(FrameEvent::Incomplete),
                    [b'\r', b'\n', ..] => {
                        self.consume(2);
                        self.state = Some(State::Headers);
                    }
                    _ => self.state = Some(State::Headers),
                },
                State::Headers => {
                    if !self.step_header()? {
                        return Ok(FrameEvent::Incomplete);
                    }
                }
            }
            if self.buf.len() > MAX_BUFFERED {
                return Err(DecodeError::invalid("AdditionalHeaders", self.base, "too long").within("MapiHttpResponse"));
            }
        }
    }

    /// Ends the input and returns the whole response.
    pub(crate) fn finish(&mut self) -> DecodeResult<FrameEvent> {
        while !matches!(self.poll()?, FrameEvent::Incomplete) {}
        if self.state != Some(State::Body) {
            let field = if self.state == Some(State::Meta) || self.state.is_none() { "DONE" } else { "AdditionalHeaders" };
            return Err(DecodeError::truncated(field, self.base, self.buf.len() + 1, self.buf.len())
                .within("MapiHttpResponse"));
        }
        Ok(FrameEvent::Done(std::mem::take(&mut self.response)))
    }

    fn consume(&mut self, n: usize) {
        let n = n.min(self.buf.len());
        self.buf.drain(..n);
        self.base += n;
    }

    fn step_meta(&mut self) -> DecodeResult<Option<FrameEvent>> {
        // Lenient: a CRLF after a meta-tag is optional (gromox sends `PENDING` alone).
        while self.buf.starts_with(b"\r\n") {
            self.consume(2);
        }
        if self.buf.is_empty() || self.buf == b"\r" {
            return Ok(Some(FrameEvent::Incomplete));
        }
        for (tag, event) in TAGS {
            if self.buf.starts_with(tag) {
                self.consume(tag.len());
                if tag == b"DONE" {
                    self.state = Some(State::AfterDone);
                    return Ok(None);
                }
                return Ok(Some(event));
            }
            if tag.starts_with(&self.buf) {
                return Ok(Some(FrameEvent::Incomplete));
            }
        }
        Err(DecodeError::invalid("MetaTag", self.base, "expected PROCESSING, PENDING or DONE").within("MapiHttpResponse"))
    }

    fn step_header(&mut self) -> DecodeResult<bool> {
        let Some(end) = self.buf.windows(2).position(|w| w == b"\r\n") else {
            return Ok(false);
        };
        let line = self.buf.get(..end).unwrap_or_default();
        if line.is_empty() {
            self.consume(2);
            self.state = Some(State::Body);
            self.response.body = std::mem::take(&mut self.buf);
            return Ok(true);
        }
        let text = std::str::from_utf8(line)
            .ok()
            .and_then(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()));
        let Some(header) = text else {
            return Err(DecodeError::invalid("AdditionalHeader", self.base, "not a `Name: value` line")
                .within("MapiHttpResponse"));
        };
        self.response.additional_headers.push(header);
        self.consume(end + 2);
        Ok(true)
    }
}

/// The spec's name of an `X-ResponseCode` value (MS-OXCMAPIHTTP 2.2.3.3.3).
pub(crate) fn response_code_name(code: u32) -> &'static str {
    const NAMES: [&str; 19] = [
        "Success",
        "Unknown Failure",
        "Invalid Verb",
        "Invalid Path",
        "Invalid Header",
        "Invalid Request Type",
        "Invalid Context Cookie",
        "Missing Header",
        "Anonymous Not Allowed",
        "Too Large",
        "Context Not Found",
        "No Privilege",
        "Invalid Request Body",
        "Missing Cookie",
        "Reserved",
        "Invalid Sequence",
        "Endpoint Disabled",
        "Invalid Response",
        "Endpoint Shutting Down",
    ];
    usize::try_from(code).ok().and_then(|i| NAMES.get(i)).copied().unwrap_or("unknown response code")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &[u8] = b"PROCESSING\r\nPENDING\r\nPENDINGDONE\r\nX-ElapsedTime: 5\r\nX-StartTime: x\r\n\r\n\x00\x01\x02";

    fn run(chunks: &[&[u8]]) -> DecodeResult<(u32, FramedResponse)> {
        let mut f = ResponseFramer::new();
        let mut pending = 0;
        let mut count = |mut ev: FrameEvent, f: &mut ResponseFramer| -> DecodeResult<()> {
            while ev != FrameEvent::Incomplete {
                if ev == FrameEvent::Pending {
                    pending += 1;
                }
                ev = f.poll()?;
            }
            Ok(())
        };
        for c in chunks {
            let ev = f.push(c)?;
            count(ev, &mut f)?;
        }
        match f.finish()? {
            FrameEvent::Done(r) => Ok((pending, r)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn whole_and_byte_by_byte_agree() {
        let (pending, whole) = run(&[SAMPLE]).unwrap();
        assert_eq!(pending, 2);
        assert_eq!(whole.body, [0, 1, 2]);
        assert_eq!(whole.additional_headers[0], ("X-ElapsedTime".to_owned(), "5".to_owned()));
        let bytes: Vec<&[u8]> = SAMPLE.chunks(1).collect();
        assert_eq!(run(&bytes).unwrap(), (2, whole));
    }

    #[test]
    fn every_truncation_before_the_blank_line_fails() {
        let blank = SAMPLE.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        for n in 0..blank {
            assert!(run(&[&SAMPLE[..n]]).is_err(), "prefix {n}");
        }
    }

    #[test]
    fn garbage_is_rejected_with_offset() {
        let err = run(&[b"PROCESSING\r\nHELLO\r\n"]).unwrap_err();
        assert_eq!(err.offset, 12);
    }

    #[test]
    fn names() {
        assert_eq!(response_code_name(10), "Context Not Found");
        assert_eq!(response_code_name(6), "Invalid Context Cookie");
        assert_eq!(response_code_name(99), "unknown response code");
    }
}
