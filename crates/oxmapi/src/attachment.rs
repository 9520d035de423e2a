//! CDO's `Attachments` / `Attachment`: the attachment table (RopGetAttachmentTable,
//! MS-OXCMSG 2.2.3.17), contents streamed with RopOpenAttachment + RopOpenStream on
//! PidTagAttachDataBinary (MS-OXCMSG 2.2.2.7), embedded messages with
//! RopOpenEmbeddedMessage (MS-OXCMSG 2.2.3.16).

use std::path::Path;
use std::sync::Arc;

use oxmapi_wire::data::{ErrorCode, PropertyRow, PropertyTag, PropertyValue, tags};
use oxmapi_wire::rop::{GetAttachmentTableRequest, table_flags};
use tokio::io::AsyncWrite;

use crate::error::{Error, ErrorKind};
use crate::fields::Fields;
use crate::message::Message;
use crate::ropkit::{Batch, NEW_HANDLE};
use crate::session::Session;
use crate::stream::Target;
use crate::table::{StatCounters, TableCursor, TableOpen, TableSpec};

/// PidTagAttachMethod afByValue (MS-OXCMSG 2.2.2.9).
pub const ATTACH_BY_VALUE: i32 = 1;
/// PidTagAttachMethod afEmbeddedMessage.
pub const ATTACH_EMBEDDED_MESSAGE: i32 = 5;

/// The attachment table's columns.
const ATTACHMENT_TAGS: [PropertyTag; 8] = [
    tags::PidTagAttachNumber,
    tags::PidTagAttachLongFilename,
    tags::PidTagAttachFilename,
    tags::PidTagDisplayName,
    tags::PidTagAttachSize,
    tags::PidTagAttachMimeTag,
    tags::PidTagAttachMethod,
    tags::PidTagAttachContentId,
];

/// CDO `Attachment`: one row of the attachment table.
#[derive(Debug, Clone, PartialEq)]
pub struct Attachment {
    target: Target,
    number: u32,
    name: Option<String>,
    size: Option<u64>,
    mime_type: Option<String>,
    method: Option<i32>,
    content_id: Option<String>,
}

/// CDO `Attachments`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Attachments(Vec<Attachment>);

impl Attachments {
    /// CDO `Attachments.Count`.
    pub fn count(&self) -> usize {
        self.0.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// CDO `Attachments.Item(i)` (0-based here).
    pub fn item(&self, i: usize) -> Option<&Attachment> {
        self.0.get(i)
    }

    /// All attachments.
    pub fn iter(&self) -> std::slice::Iter<'_, Attachment> {
        self.0.iter()
    }
}

impl<'a> IntoIterator for &'a Attachments {
    type Item = &'a Attachment;
    type IntoIter = std::slice::Iter<'a, Attachment>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl Attachment {
    /// PidTagAttachNumber: the attachment's number within the message.
    pub fn number(&self) -> u32 {
        self.number
    }

    /// CDO `Attachment.Name`: the long file name, else the 8.3 name, else the display name.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// PidTagAttachSize (the attachment object's size, a little more than the data).
    pub fn size(&self) -> Option<u64> {
        self.size
    }

    /// PidTagAttachMimeTag.
    pub fn mime_type(&self) -> Option<&str> {
        self.mime_type.as_deref()
    }

    /// PidTagAttachMethod (1 by value, 5 embedded message, ...).
    pub fn method(&self) -> Option<i32> {
        self.method
    }

    /// PidTagAttachContentId (inline images of HTML bodies).
    pub fn content_id(&self) -> Option<&str> {
        self.content_id.as_deref()
    }

    /// True for an embedded message ([`Attachment::open_embedded`]).
    pub fn is_embedded_message(&self) -> bool {
        self.method == Some(ATTACH_EMBEDDED_MESSAGE)
    }

    /// Streams the contents (PidTagAttachDataBinary) into `out` in constant memory;
    /// returns the byte count.
    pub async fn write_to<W>(&self, session: &mut Session, out: &mut W) -> Result<u64, Error>
    where
        W: AsyncWrite + Unpin + Send,
    {
        session
            .stream_property(
                self.target,
                tags::PidTagAttachDataBinary,
                out,
                "attachment-data",
            )
            .await
    }

    /// CDO `Attachment.WriteToFile`: writes the contents to `path` through a temporary file
    /// in the same directory, renamed when complete (an interruption leaves no partial file).
    pub async fn write_to_file(&self, session: &mut Session, path: &Path) -> Result<u64, Error> {
        const STEP: &str = "attachment-write-file";
        let io = |e: std::io::Error| {
            Error::new(
                ErrorKind::Unsupported,
                ErrorCode::DISK_ERROR,
                format!(
                    "{}: writing {}: {e}",
                    self.target.describe(),
                    path.display()
                ),
            )
            .at_step(STEP)
        };
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "attachment".into());
        let tmp = dir
            .unwrap_or_else(|| Path::new("."))
            .join(format!(".{file_name}.{}.part", std::process::id()));
        let mut f = tokio::fs::File::create(&tmp).await.map_err(io)?;
        let result = self.write_to(session, &mut f).await;
        drop(f);
        match result {
            Ok(n) => {
                tokio::fs::rename(&tmp, path).await.map_err(io)?;
                Ok(n)
            }
            Err(e) => {
                let _ = tokio::fs::remove_file(&tmp).await;
                Err(e)
            }
        }
    }

    /// The contents in memory (for small attachments; prefer [`Attachment::write_to`]).
    pub async fn data(&self, session: &mut Session) -> Result<Vec<u8>, Error> {
        let mut v = Vec::new();
        self.write_to(session, &mut v).await?;
        Ok(v)
    }

    /// Opens the embedded message of an afEmbeddedMessage attachment.
    pub async fn open_embedded(&self, session: &mut Session) -> Result<Message, Error> {
        let Target::Attachment {
            folder,
            message,
            attach,
        } = self.target
        else {
            return Err(nested(self.target));
        };
        session
            .open_target(Target::Embedded {
                folder,
                message,
                attach,
            })
            .await
    }

    /// CDO `Attachment.Fields`: any properties of the attachment.
    pub async fn fields(
        &self,
        session: &mut Session,
        tags: &[PropertyTag],
    ) -> Result<Fields, Error> {
        Fields::read(session, self.target, tags).await
    }

    fn from_row(target_of: impl Fn(u32) -> Target, row: &PropertyRow) -> Option<Self> {
        let v = |i: usize| row.values.get(i).and_then(|c| c.value());
        let s = |i| v(i).and_then(PropertyValue::as_str).map(|s| s.into_owned());
        let number = u32::try_from(v(0).and_then(PropertyValue::as_i64)?).ok()?;
        Some(Self {
            target: target_of(number),
            number,
            name: s(1).or_else(|| s(2)).or_else(|| s(3)),
            size: v(4)
                .and_then(PropertyValue::as_i64)
                .and_then(|n| u64::try_from(n).ok()),
            mime_type: s(5),
            method: v(6)
                .and_then(PropertyValue::as_i64)
                .and_then(|n| i32::try_from(n).ok()),
            content_id: s(7),
        })
    }
}

fn nested(t: Target) -> Error {
    Error::new(
        ErrorKind::Unsupported,
        ErrorCode::NO_SUPPORT,
        format!(
            "{}: attachments of embedded messages are not supported yet",
            t.describe()
        ),
    )
    .at_step("attachments")
}

impl Message {
    /// CDO `Message.Attachments`: reads the attachment table.
    pub async fn attachments(&self, session: &mut Session) -> Result<Attachments, Error> {
        const STEP: &str = "attachments";
        let Target::Message { folder, message } = self.target() else {
            return Err(nested(self.target()));
        };
        let what = format!("attachments of {}", self.target().describe());
        session
            .with_reconnect(move |s| {
                let what = what.clone();
                Box::pin(async move {
                    let mut b = Batch::new(vec![s.logon_handle(), NEW_HANDLE, NEW_HANDLE]);
                    Target::Message { folder, message }.push_open(&mut b);
                    b.push(GetAttachmentTableRequest {
                        logon_id: 0,
                        input_handle_index: 1,
                        output_handle_index: 2,
                        table_flags: table_flags::USE_UNICODE,
                    });
                    let spec = TableSpec {
                        columns: ATTACHMENT_TAGS.to_vec(),
                        ..TableSpec::default()
                    };
                    let (mut cursor, mut rows) = TableCursor::open(
                        s,
                        TableOpen::on_slot_2(
                            STEP,
                            what,
                            b,
                            spec,
                            Arc::new(StatCounters::default()),
                        ),
                    )
                    .await?;
                    let target_of = |attach| Target::Attachment {
                        folder,
                        message,
                        attach,
                    };
                    let mut out = Vec::new();
                    loop {
                        out.extend(
                            rows.iter()
                                .filter_map(|r| Attachment::from_row(target_of, r)),
                        );
                        match cursor.next_rows(s, STEP).await {
                            Ok(Some(more)) => rows = more,
                            Ok(None) => break,
                            Err(e) => {
                                cursor.close(s).await;
                                return Err(e);
                            }
                        }
                    }
                    cursor.close(s).await;
                    Ok(Attachments(out))
                })
            })
            .await
    }
}
