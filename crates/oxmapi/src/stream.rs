//! Reading properties of messages and attachments, small ones inline
//! (RopGetPropertiesSpecific, MS-OXCPRPT 2.2.2) and large ones through a stream
//! (RopOpenStream + RopReadStream, MS-OXCPRPT 2.2.14 / 2.2.15) written chunk by chunk to a
//! writer, so memory stays constant whatever the size.
//!
//! MS-OXCPRPT 3.2.5.1: a value larger than PropertySizeLimit (or than the response buffer)
//! comes back as PtypErrorCode MAPI_E_NOT_ENOUGH_MEMORY (ecMAPIOOM) in a flagged row; the
//! client then opens a stream on the property.

use oxmapi_wire::data::{
    ErrorCode, FolderId, MessageId, PropertyRow, PropertyTag, PropertyType, PropertyValue, RowValue,
};
use oxmapi_wire::rop::{
    GetPropertiesSpecificRequest, OpenAttachmentRequest, OpenEmbeddedMessageRequest,
    OpenMessageRequest, OpenStreamRequest, ReadStreamRequest, RopResponse,
};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::error::{Error, ErrorKind};
use crate::ropkit::{Batch, NEW_HANDLE, Replies, bad_data};
use crate::session::Session;

/// PropertySizeLimit for inline reads: larger values are streamed.
pub(crate) const INLINE_LIMIT: u16 = 0x4000;
/// Bytes asked for per RopReadStream: the response (8-byte header + data) plus the handle
/// table must fit one 32 KiB RPC_HEADER_EXT segment (MS-OXCRPC 3.1.4.2.1.1).
const READ_CHUNK: u16 = 0x7000;
/// CodePageId 0x0FFF: use the logon's code page (MS-OXCROPS 2.2.6.1.1).
pub(crate) const CODE_PAGE_LOGON: u16 = 0x0FFF;

/// An object that properties are read from, reopened from IDs on every call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// A message.
    Message {
        folder: FolderId,
        message: MessageId,
    },
    /// An attachment of a message, by PidTagAttachNumber.
    Attachment {
        folder: FolderId,
        message: MessageId,
        attach: u32,
    },
    /// The message embedded in an attachment (PidTagAttachMethod afEmbeddedMessage).
    Embedded {
        folder: FolderId,
        message: MessageId,
        attach: u32,
    },
}

impl Target {
    /// Slots a batch needs: the logon and one per object opened.
    pub(crate) fn handles(self, logon: u32, extra: usize) -> Vec<u32> {
        let n = match self {
            Self::Message { .. } => 1,
            Self::Attachment { .. } => 2,
            Self::Embedded { .. } => 3,
        };
        let mut v = vec![logon];
        v.extend(std::iter::repeat_n(NEW_HANDLE, n + extra));
        v
    }

    /// Pushes the open ROPs; returns (how many responses they produce, the object's slot).
    pub(crate) fn push_open(self, b: &mut Batch) -> (usize, u8) {
        let (folder, message) = match self {
            Self::Message { folder, message }
            | Self::Attachment {
                folder, message, ..
            }
            | Self::Embedded {
                folder, message, ..
            } => (folder, message),
        };
        b.push(OpenMessageRequest {
            logon_id: 0,
            input_handle_index: 0,
            output_handle_index: 1,
            code_page_id: CODE_PAGE_LOGON,
            folder_id: folder,
            open_mode_flags: 0,
            message_id: message,
        });
        match self {
            Self::Message { .. } => (1, 1),
            Self::Attachment { attach, .. } | Self::Embedded { attach, .. } => {
                b.push(OpenAttachmentRequest {
                    logon_id: 0,
                    input_handle_index: 1,
                    output_handle_index: 2,
                    open_attachment_flags: 0,
                    attachment_id: attach,
                });
                if let Self::Embedded { .. } = self {
                    b.push(OpenEmbeddedMessageRequest {
                        logon_id: 0,
                        input_handle_index: 2,
                        output_handle_index: 3,
                        code_page_id: CODE_PAGE_LOGON,
                        open_mode_flags: 0,
                    });
                    (3, 3)
                } else {
                    (2, 2)
                }
            }
        }
    }

    /// Releases every slot the open ROPs (and `extra` more) created, innermost first.
    pub(crate) fn push_release(self, b: &mut Batch, object_slot: u8, extra: u8) {
        for slot in (1..=object_slot + extra).rev() {
            b.release(slot);
        }
    }

    /// Consumes the responses of the open ROPs.
    pub(crate) fn take_open(self, r: &mut Replies, what: &dyn Fn() -> String) -> Result<(), Error> {
        r.next(what, |x| match x {
            RopResponse::OpenMessage(_) => Ok(()),
            other => Err(other),
        })?;
        if let Self::Attachment { .. } | Self::Embedded { .. } = self {
            r.next(what, |x| match x {
                RopResponse::OpenAttachment(_) => Ok(()),
                other => Err(other),
            })?;
        }
        if let Self::Embedded { .. } = self {
            r.next(what, |x| match x {
                RopResponse::OpenEmbeddedMessage(_) => Ok(()),
                other => Err(other),
            })?;
        }
        Ok(())
    }

    pub(crate) fn describe(self) -> String {
        match self {
            Self::Message { folder, message } => format!("message {message} in folder {folder}"),
            Self::Attachment {
                folder,
                message,
                attach,
            } => format!("attachment {attach} of message {message} in folder {folder}"),
            Self::Embedded {
                folder,
                message,
                attach,
            } => format!(
                "the message embedded in attachment {attach} of message {message} in folder {folder}"
            ),
        }
    }
}

/// True when a cell says "too big to send inline: stream it".
pub(crate) fn needs_stream(cell: &RowValue) -> bool {
    matches!(
        cell,
        RowValue::Error(_, ErrorCode::NOT_ENOUGH_MEMORY | ErrorCode::TOO_BIG)
    )
}

impl Session {
    /// Reads `tags` of `target` inline (values above [`INLINE_LIMIT`] come back as
    /// ecMAPIOOM cells); one round trip.
    pub(crate) async fn read_props(
        &mut self,
        target: Target,
        tags: &[PropertyTag],
        size_limit: u16,
        step: &'static str,
    ) -> Result<PropertyRow, Error> {
        let tags = tags.to_vec();
        self.with_reconnect(move |s| {
            let tags = tags.clone();
            Box::pin(async move {
                let mut b = Batch::new(target.handles(s.logon_handle(), 0));
                let (_, slot) = target.push_open(&mut b);
                b.push(GetPropertiesSpecificRequest {
                    logon_id: 0,
                    input_handle_index: slot,
                    property_size_limit: size_limit,
                    want_unicode: 1,
                    property_tags: tags,
                });
                target.push_release(&mut b, slot, 0);
                let mut r = b.send(s, step).await?;
                let what = || target.describe();
                target.take_open(&mut r, &what)?;
                r.next(&what, |x| match x {
                    RopResponse::GetPropertiesSpecific(g) => Ok(g.row),
                    other => Err(other),
                })
            })
        })
        .await
    }

    /// Reads one property whole: inline when small, else streamed into memory.
    /// `Ok(None)` when the object does not have it.
    pub(crate) async fn read_value(
        &mut self,
        target: Target,
        tag: PropertyTag,
        step: &'static str,
    ) -> Result<Option<PropertyValue>, Error> {
        let row = self.read_props(target, &[tag], INLINE_LIMIT, step).await?;
        match row.values.into_iter().next() {
            Some(RowValue::Value(v)) => Ok(Some(v)),
            Some(RowValue::NotFound(_)) | None => Ok(None),
            Some(RowValue::Error(_, ErrorCode::NOT_FOUND)) => Ok(None),
            Some(cell) if needs_stream(&cell) => {
                let mut buf = Vec::new();
                self.stream_property(target, tag, &mut buf, step).await?;
                value_from_stream(tag, buf).map(Some).ok_or_else(|| {
                    bad_data(
                        step,
                        format!("{}: {tag} stream is not valid", target.describe()),
                    )
                })
            }
            Some(RowValue::Error(_, code)) => Err(Error::mapi(
                step,
                code,
                format!("{}: reading {tag} failed", target.describe()),
            )),
        }
    }

    /// Streams property `tag` of `target` into `out` chunk by chunk (RopOpenStream +
    /// RopReadStream until a short read); returns the bytes written.
    pub(crate) async fn stream_property<W>(
        &mut self,
        target: Target,
        tag: PropertyTag,
        out: &mut W,
        step: &'static str,
    ) -> Result<u64, Error>
    where
        W: AsyncWrite + Unpin + Send,
    {
        let what = format!("{}: stream {tag}", target.describe());
        // Open the objects and the stream, and read the first chunk, in one round trip.
        let mut b = Batch::new(target.handles(self.logon_handle(), 1));
        let (_, slot) = target.push_open(&mut b);
        let stream_slot = slot + 1;
        b.push(OpenStreamRequest {
            logon_id: 0,
            input_handle_index: slot,
            output_handle_index: stream_slot,
            property_tag: tag,
            open_mode_flags: 0,
        })
        .push(read_stream(stream_slot));
        let mut r = b.send(self, step).await?;
        let handles: Vec<u32> = r.handles.clone();
        let w = || what.clone();
        let result = async {
            target.take_open(&mut r, &w)?;
            let size = r.next(&w, |x| match x {
                RopResponse::OpenStream(o) => Ok(o.stream_size),
                other => Err(other),
            })?;
            let stream = r.handle(stream_slot)?;
            let mut data = r.read_stream(self, &w)?;
            let mut total = 0u64;
            loop {
                let n = data.len();
                total += n as u64;
                if total > u64::from(size) {
                    return Err(bad_data(
                        step,
                        format!("{what}: the server sent more than the StreamSize {size}"),
                    ));
                }
                out.write_all(&data)
                    .await
                    .map_err(|e| io_error(step, &what, e))?;
                if n == 0 || total == u64::from(size) {
                    break;
                }
                let mut b = Batch::new(vec![stream]);
                b.push(read_stream(0));
                let mut r = b.send(self, step).await?;
                data = r.read_stream(self, &w)?;
            }
            if total != u64::from(size) {
                return Err(bad_data(
                    step,
                    format!("{what}: the stream ended after {total} of {size} bytes"),
                ));
            }
            out.flush().await.map_err(|e| io_error(step, &what, e))?;
            Ok(total)
        }
        .await;
        // Release the stream and the objects whatever happened, innermost first, with the
        // next request (a read-only stream has nothing to commit).
        self.release_later(
            handles
                .into_iter()
                .skip(1)
                .rev()
                .filter(|&h| h != NEW_HANDLE),
        );
        result
    }
}

fn read_stream(slot: u8) -> ReadStreamRequest {
    ReadStreamRequest {
        logon_id: 0,
        input_handle_index: slot,
        byte_count: READ_CHUNK,
        maximum_byte_count: None,
    }
}

fn io_error(step: &'static str, what: &str, e: std::io::Error) -> Error {
    Error::new(
        ErrorKind::Network,
        ErrorCode::DISK_ERROR,
        format!("{what}: writing the data failed: {e}"),
    )
    .at_step(step)
    .with_source(e)
}

/// A property value from its stream bytes (MS-OXCPRPT 2.2.14: string streams carry the
/// UTF-16LE text without the terminating NUL; binary streams the bytes).
pub(crate) fn value_from_stream(tag: PropertyTag, bytes: Vec<u8>) -> Option<PropertyValue> {
    match tag.ty() {
        PropertyType::BINARY => Some(PropertyValue::Binary(bytes)),
        PropertyType::STRING8 => {
            let mut b = bytes;
            while b.last() == Some(&0) {
                b.pop();
            }
            Some(PropertyValue::String8(b))
        }
        PropertyType::UNICODE => {
            if !bytes.len().is_multiple_of(2) {
                return None;
            }
            let units: Vec<u16> = bytes
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect();
            let mut s = String::from_utf16(&units).ok()?;
            while s.ends_with('\0') {
                s.pop();
            }
            Some(PropertyValue::Unicode(s))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxmapi_wire::data::tags;

    #[test]
    fn stream_bytes_to_values() {
        let text: Vec<u8> = "Grüße\0"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        assert_eq!(
            value_from_stream(tags::PidTagBody, text),
            Some(PropertyValue::Unicode("Grüße".into()))
        );
        assert_eq!(value_from_stream(tags::PidTagBody, vec![1, 2, 3]), None);
        assert_eq!(
            value_from_stream(tags::PidTagHtml, vec![1, 2, 3]),
            Some(PropertyValue::Binary(vec![1, 2, 3]))
        );
        assert!(needs_stream(&RowValue::Error(
            PropertyType::BINARY,
            ErrorCode::NOT_ENOUGH_MEMORY
        )));
        assert!(!needs_stream(&RowValue::NotFound(PropertyType::BINARY)));
    }
}
