//! Small helpers the read API uses to build one ROP request buffer, send it, and take the
//! responses apart in request order (MS-OXCROPS 2.2.1), with errors that say what was asked.

use oxmapi_wire::data::{ErrorCode, PropertyTag};
use oxmapi_wire::rop::{
    ReleaseRequest, ResponseContext, RopRequest, RopRequestBuffer, RopResponse,
};

use crate::error::{Error, ErrorKind};
use crate::session::Session;

/// Placeholder for a handle-table slot that receives an output handle.
pub(crate) const NEW_HANDLE: u32 = u32::MAX;

/// One ROP request buffer under construction, with the response context of each request.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    rops: Vec<RopRequest>,
    contexts: Vec<ResponseContext>,
    handles: Vec<u32>,
}

impl Batch {
    /// A batch over `handles` (existing handles, then [`NEW_HANDLE`] slots).
    pub(crate) fn new(handles: Vec<u32>) -> Self {
        Self {
            handles,
            ..Self::default()
        }
    }

    /// Adds a request whose response decodes from its RopId alone (or its own tags).
    pub(crate) fn push(&mut self, rop: impl Into<RopRequest>) -> &mut Self {
        let rop = rop.into();
        let ctx = rop
            .response_context(None)
            .unwrap_or(ResponseContext::Plain(rop.rop_id()));
        self.rops.push(rop);
        self.contexts.push(ctx);
        self
    }

    /// Adds a request whose response rows follow `columns` (RopQueryRows, RopReadRecipients).
    pub(crate) fn push_rows(
        &mut self,
        rop: impl Into<RopRequest>,
        columns: &[PropertyTag],
    ) -> &mut Self {
        let rop = rop.into();
        let ctx = rop
            .response_context(Some(columns))
            .unwrap_or(ResponseContext::Plain(rop.rop_id()));
        self.rops.push(rop);
        self.contexts.push(ctx);
        self
    }

    /// Adds RopRelease for the handle in `slot` (no response).
    pub(crate) fn release(&mut self, slot: u8) -> &mut Self {
        self.push(ReleaseRequest {
            logon_id: 0,
            input_handle_index: slot,
        })
    }

    /// Sends the buffer as one Execute.
    pub(crate) async fn send(
        self,
        session: &mut Session,
        step: &'static str,
    ) -> Result<Replies, Error> {
        let request = RopRequestBuffer {
            rops: self.rops,
            handles: self.handles,
        };
        let (resp, chained) = session.rops(step, &request, &self.contexts).await?;
        Ok(Replies {
            step,
            rops: resp.rops.into_iter(),
            handles: resp.handles,
            chained,
        })
    }
}

/// The decoded responses of one [`Batch`], taken in order.
#[derive(Debug)]
pub(crate) struct Replies {
    step: &'static str,
    rops: std::vec::IntoIter<RopResponse>,
    /// The handle table the server returned.
    pub(crate) handles: Vec<u32>,
    /// Raw payloads of further chained RPC_HEADER_EXT segments.
    pub(crate) chained: Vec<Vec<u8>>,
}

impl Replies {
    /// The next response; `pick` returns `Err(response)` when it is not the expected one.
    /// Failures become errors that name `what` was asked.
    pub(crate) fn next<T>(
        &mut self,
        what: &dyn Fn() -> String,
        pick: impl FnOnce(RopResponse) -> Result<T, RopResponse>,
    ) -> Result<T, Error> {
        let step = self.step;
        let Some(r) = self.rops.next() else {
            return Err(Error::protocol(
                step,
                oxmapi_wire::DecodeError::invalid(
                    "RopResponseBuffer",
                    0,
                    format!("the server sent no response for {}", what()),
                ),
            ));
        };
        pick(r).map_err(|other| failure(step, &what(), &other))
    }

    /// The handle in `slot` of the returned handle table.
    pub(crate) fn handle(&self, slot: u8) -> Result<u32, Error> {
        self.handles
            .get(usize::from(slot))
            .copied()
            .filter(|&h| h != NEW_HANDLE)
            .ok_or_else(|| {
                Error::protocol(
                    self.step,
                    oxmapi_wire::DecodeError::invalid(
                        "ServerObjectHandleTable",
                        0,
                        format!("no handle in slot {slot}"),
                    ),
                )
            })
    }
}

/// A response that is not the success the caller expected, naming what was asked.
pub(crate) fn failure(step: &'static str, what: &str, r: &RopResponse) -> Error {
    match r {
        RopResponse::Error(e) => {
            let rop = e.rop_id.name().unwrap_or("the ROP");
            let mut err = Error::mapi(step, e.return_value, format!("{what}: {rop} failed"));
            if e.return_value == ErrorCode::NOT_FOUND {
                err = Error::new(
                    ErrorKind::NotFound,
                    e.return_value,
                    err.message().to_owned(),
                )
                .at_step(step);
            }
            err
        }
        RopResponse::BufferTooSmall(b) => Error::new(
            ErrorKind::Protocol,
            ErrorCode::BUFFER_TOO_SMALL,
            format!(
                "{what}: the server's response did not fit (RopBufferTooSmall, {} bytes needed)",
                b.size_needed
            ),
        )
        .at_step(step),
        other => Error::protocol(
            step,
            oxmapi_wire::DecodeError::invalid(
                "RopResponse",
                0,
                format!("{what}: unexpected response {:?}", other.rop_id()),
            ),
        ),
    }
}

/// A typed "not found" error.
pub(crate) fn not_found(step: &'static str, what: impl Into<String>) -> Error {
    Error::new(ErrorKind::NotFound, ErrorCode::NOT_FOUND, what).at_step(step)
}

/// A value the server sent that does not make sense for what was asked.
pub(crate) fn bad_data(step: &'static str, what: impl Into<String>) -> Error {
    Error::new(ErrorKind::Protocol, ErrorCode::CORRUPT_DATA, what).at_step(step)
}
