//! Small helpers the read API uses to build one ROP request buffer, send it, and take the
//! responses apart in request order (MS-OXCROPS 2.2.1), with errors that say what was asked.

use oxmapi_wire::data::{ErrorCode, PropertyTag};
use oxmapi_wire::rop::{
    ReleaseRequest, ResponseContext, RopId, RopRequest, RopRequestBuffer, RopResponse,
    RopResponseBuffer,
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
        Ok(Replies::new(step, resp, chained))
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
    /// The answers of `resp`, which [`Session::rops`] has already rid of the notifications
    /// the server added (RopNotify / RopPending answer no request).
    fn new(step: &'static str, resp: RopResponseBuffer, chained: Vec<Vec<u8>>) -> Self {
        debug_assert!(!resp.rops.iter().any(RopResponse::is_unsolicited));
        Self {
            step,
            rops: resp.rops.into_iter(),
            handles: resp.handles,
            chained,
        }
    }

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

    /// The next answer as a RopReadStream's data, with the data of every chained
    /// RPC_HEADER_EXT segment appended: a server may continue the last RopReadStream of a
    /// request into further chained buffers of the same response (MS-OXCRPC 3.1.4.2.1.1,
    /// extended buffers: RopQueryRows, RopReadStream and RopFastTransferSourceGetBuffer), as a
    /// real server does over MAPI/HTTP. Use it only when the RopReadStream is the request's
    /// last ROP. Notifications in those segments go to the session's queue.
    pub(crate) fn read_stream(
        &mut self,
        session: &mut Session,
        what: &dyn Fn() -> String,
    ) -> Result<Vec<u8>, Error> {
        let mut data = self.next(what, |x| match x {
            RopResponse::ReadStream(d) => Ok(d.data),
            other => Err(other),
        })?;
        let ctx = [ResponseContext::Plain(RopId::READ_STREAM)];
        for (i, payload) in std::mem::take(&mut self.chained).iter().enumerate() {
            let buf = RopResponseBuffer::decode(payload, &ctx).map_err(|e| {
                Error::protocol(self.step, e.within("chained RPC_HEADER_EXT segment"))
            })?;
            let (unsolicited, answers): (Vec<_>, Vec<_>) =
                buf.rops.into_iter().partition(RopResponse::is_unsolicited);
            session.queue_notifications(self.step, unsolicited);
            for answer in answers {
                match answer {
                    RopResponse::ReadStream(d) => data.extend(d.data),
                    other => {
                        return Err(failure(
                            self.step,
                            &format!("{} (chained segment {})", what(), i + 1),
                            &other,
                        ));
                    }
                }
            }
        }
        Ok(data)
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

#[cfg(test)]
mod tests {
    use oxmapi_wire::data::FolderId;
    use oxmapi_wire::rop::{
        GetContentsTableResponse, NotificationData, NotificationType, NotifyResponse,
        OpenFolderResponse, PendingResponse, SetColumnsResponse,
    };

    use oxmapi_wire::Encode as _;

    use super::*;
    use crate::session::{NotificationContent, NotificationQueue};

    fn notify(handle: u32) -> RopResponse {
        let mut data = NotificationData::new(NotificationType::ObjectModified);
        data.folder_id = Some(FolderId(5));
        data.tags = Some(oxmapi_wire::rop::NotificationTags::List(Vec::new()));
        RopResponse::Notify(NotifyResponse {
            notification_handle: handle,
            logon_id: 0,
            data,
        })
    }

    /// A batch's requests, the bytes a server sends back with notifications between and after
    /// the answers, and the path `Batch::send` takes: decode, `Session::rops`' queue, `Replies`.
    #[test]
    fn notifications_between_answers_never_reach_replies() {
        let mut batch = Batch::new(vec![7, NEW_HANDLE, NEW_HANDLE]);
        batch
            .push(oxmapi_wire::rop::OpenFolderRequest {
                logon_id: 0,
                input_handle_index: 0,
                output_handle_index: 1,
                folder_id: FolderId(5),
                open_mode_flags: 0,
            })
            .push(oxmapi_wire::rop::GetContentsTableRequest {
                logon_id: 0,
                input_handle_index: 1,
                output_handle_index: 2,
                table_flags: 0,
            })
            .release(2);
        let sent = RopResponseBuffer {
            rops: vec![
                notify(1),
                RopResponse::OpenFolder(OpenFolderResponse {
                    output_handle_index: 1,
                    has_rules: 0,
                    ghost: None,
                }),
                notify(2),
                RopResponse::Pending(PendingResponse { session_index: 0 }),
                RopResponse::GetContentsTable(GetContentsTableResponse {
                    output_handle_index: 2,
                    row_count: 3,
                }),
                notify(3),
            ],
            handles: vec![7, 8, 9],
        };
        let bytes = sent.to_bytes().unwrap();
        let mut resp = RopResponseBuffer::decode(&bytes, &batch.contexts).unwrap();
        let mut queue = NotificationQueue::default();
        queue.absorb("open", &mut resp.rops);
        let mut replies = Replies::new("open", resp, Vec::new());
        let what = || "the folder".to_owned();
        replies
            .next(&what, |r| match r {
                RopResponse::OpenFolder(_) => Ok(()),
                other => Err(other),
            })
            .unwrap();
        let rows = replies
            .next(&what, |r| match r {
                RopResponse::GetContentsTable(g) => Ok(g.row_count),
                other => Err(other),
            })
            .unwrap();
        assert_eq!(rows, 3);
        assert!(replies.next(&what, Ok).is_err(), "no third answer");
        assert_eq!(replies.handle(2).unwrap(), 9);
        let stats = queue.stats();
        assert_eq!((stats.queued, stats.pending_signals), (3, 1));
        assert!(stats.more_pending);
        let got = queue.take();
        let handles: Vec<u32> = got
            .iter()
            .map(|n| match &n.content {
                NotificationContent::Notify(x) => x.notification_handle,
                NotificationContent::Undecoded(_) => 0,
            })
            .collect();
        assert_eq!(handles, [1, 2, 3]);
        assert!(got.iter().all(|n| n.step == "open"));
        assert!(
            !queue.stats().more_pending,
            "taking clears the pending flag"
        );
    }

    #[test]
    fn an_undecodable_notification_after_the_answers_is_queued_raw() {
        let mut batch = Batch::new(vec![7]);
        batch.push(oxmapi_wire::rop::SetColumnsRequest {
            logon_id: 0,
            input_handle_index: 0,
            set_columns_flags: 0,
            property_tags: Vec::new(),
        });
        let mut list = RopResponse::SetColumns(SetColumnsResponse {
            input_handle_index: 0,
            table_status: 0,
        })
        .to_bytes()
        .unwrap();
        // RopNotify with the unknown NotificationType 0x0200.
        list.extend([0x2A, 1, 0, 0, 0, 0, 0x00, 0x02, 0xEE]);
        let mut bytes = u16::try_from(list.len() + 2)
            .unwrap()
            .to_le_bytes()
            .to_vec();
        bytes.extend(list);
        bytes.extend(7u32.to_le_bytes());
        let mut resp = RopResponseBuffer::decode(&bytes, &batch.contexts).unwrap();
        let mut queue = NotificationQueue::default();
        queue.absorb("set-columns", &mut resp.rops);
        let mut replies = Replies::new("set-columns", resp, Vec::new());
        replies
            .next(&|| "t".to_owned(), |r| match r {
                RopResponse::SetColumns(_) => Ok(()),
                other => Err(other),
            })
            .unwrap();
        let got = queue.take();
        assert!(
            matches!(&got[..], [n] if matches!(&n.content, NotificationContent::Undecoded(u) if u.bytes.len() == 9)),
            "{got:?}"
        );
    }
}
