//! [`RopRequest`]: every supported ROP request.

use crate::cursor::{Decode, Encode, ReadCursor, WriteCursor};
use crate::data::PropertyTag;
use crate::error::{DecodeError, DecodeResult, EncodeResult};
use crate::rop::context::ResponseContext;
use crate::rop::folder::{GetContentsTableRequest, GetHierarchyTableRequest, OpenFolderRequest};
use crate::rop::logon::{GetReceiveFolderRequest, LogonRequest};
use crate::rop::message::{
    GetAttachmentTableRequest, OpenAttachmentRequest, OpenMessageRequest, ReadRecipientsRequest,
};
use crate::rop::property::{
    GetNamesFromPropertyIdsRequest, GetPropertiesAllRequest, GetPropertiesListRequest,
    GetPropertiesSpecificRequest, GetPropertyIdsFromNamesRequest, SetPropertiesRequest,
};
use crate::rop::special::ReleaseRequest;
use crate::rop::stream::{OpenStreamRequest, ReadStreamRequest};
use crate::rop::submit::{AbortSubmitRequest, SubmitMessageRequest, TransportSendRequest};
use crate::rop::table::{
    QueryPositionRequest, QueryRowsRequest, RestrictRequest, SeekRowRequest, SetColumnsRequest,
    SortTableRequest,
};
use crate::rop::wire::RopId;
use crate::rop::write_attach::{
    CreateAttachmentRequest, DeleteAttachmentRequest, OpenEmbeddedMessageRequest,
    SaveChangesAttachmentRequest,
};
use crate::rop::write_folder::{
    CopyFolderRequest, CreateFolderRequest, DeleteFolderRequest, DeleteMessagesRequest,
    EmptyFolderRequest, HardDeleteMessagesAndSubfoldersRequest, HardDeleteMessagesRequest,
    MoveCopyMessagesRequest, MoveFolderRequest, SetReceiveFolderRequest,
};
use crate::rop::write_message::{
    CreateMessageRequest, DeletePropertiesRequest, ModifyRecipientsRequest,
    ReloadCachedInformationRequest, RemoveAllRecipientsRequest, SaveChangesMessageRequest,
    SetMessageReadFlagRequest, SetReadFlagsRequest,
};
use crate::rop::write_stream::{
    CommitStreamRequest, GetStreamSizeRequest, SeekStreamRequest, SetStreamSizeRequest,
    WriteStreamRequest,
};

macro_rules! requests {
    ($($variant:ident($ty:ty),)*) => {
        /// A ROP request (MS-OXCROPS 2.2.3 - 2.2.15), one variant per supported ROP.
        #[derive(Debug, Clone, PartialEq)]
        #[allow(missing_docs)]
        pub enum RopRequest {
            $( $variant($ty), )*
        }

        impl RopRequest {
            /// The request's RopId.
            pub fn rop_id(&self) -> RopId {
                match self {
                    $( Self::$variant(_) => <$ty>::ROP_ID, )*
                }
            }
        }

        impl Decode for RopRequest {
            /// Decodes one request. An unsupported RopId is an error naming the RopId and its
            /// offset: requests carry no length, so nothing after it can be located.
            fn decode(r: &mut ReadCursor<'_>) -> DecodeResult<Self> {
                let at = r.offset();
                let id = RopId(*r.rest().first().ok_or_else(|| {
                    DecodeError::truncated("RopId", at, 1, 0)
                })?);
                $(
                    if id == <$ty>::ROP_ID {
                        return Ok(Self::$variant(<$ty>::decode(r)?));
                    }
                )*
                Err(DecodeError::invalid(
                    "RopId",
                    at,
                    format!(
                        "unsupported {id:?} in the request buffer; the ROPs after it cannot be \
                         located because ROP requests carry no length"
                    ),
                ))
            }
        }

        impl Encode for RopRequest {
            fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
                match self {
                    $( Self::$variant(x) => x.encode(w), )*
                }
            }
        }

        $(
            impl From<$ty> for RopRequest {
                fn from(x: $ty) -> Self {
                    Self::$variant(x)
                }
            }
        )*
    };
}

requests! {
    Logon(LogonRequest),
    Release(ReleaseRequest),
    OpenFolder(OpenFolderRequest),
    OpenMessage(OpenMessageRequest),
    GetHierarchyTable(GetHierarchyTableRequest),
    GetContentsTable(GetContentsTableRequest),
    GetPropertiesSpecific(GetPropertiesSpecificRequest),
    GetPropertiesAll(GetPropertiesAllRequest),
    GetPropertiesList(GetPropertiesListRequest),
    SetProperties(SetPropertiesRequest),
    ReadRecipients(ReadRecipientsRequest),
    SetColumns(SetColumnsRequest),
    SortTable(SortTableRequest),
    Restrict(RestrictRequest),
    QueryRows(QueryRowsRequest),
    QueryPosition(QueryPositionRequest),
    SeekRow(SeekRowRequest),
    GetAttachmentTable(GetAttachmentTableRequest),
    OpenAttachment(OpenAttachmentRequest),
    GetReceiveFolder(GetReceiveFolderRequest),
    OpenStream(OpenStreamRequest),
    ReadStream(ReadStreamRequest),
    GetNamesFromPropertyIds(GetNamesFromPropertyIdsRequest),
    GetPropertyIdsFromNames(GetPropertyIdsFromNamesRequest),
    CreateMessage(CreateMessageRequest),
    SaveChangesMessage(SaveChangesMessageRequest),
    RemoveAllRecipients(RemoveAllRecipientsRequest),
    ModifyRecipients(ModifyRecipientsRequest),
    ReloadCachedInformation(ReloadCachedInformationRequest),
    SetMessageReadFlag(SetMessageReadFlagRequest),
    SetReadFlags(SetReadFlagsRequest),
    DeleteProperties(DeletePropertiesRequest),
    CreateFolder(CreateFolderRequest),
    DeleteFolder(DeleteFolderRequest),
    DeleteMessages(DeleteMessagesRequest),
    HardDeleteMessages(HardDeleteMessagesRequest),
    EmptyFolder(EmptyFolderRequest),
    HardDeleteMessagesAndSubfolders(HardDeleteMessagesAndSubfoldersRequest),
    MoveCopyMessages(MoveCopyMessagesRequest),
    MoveFolder(MoveFolderRequest),
    CopyFolder(CopyFolderRequest),
    SetReceiveFolder(SetReceiveFolderRequest),
    CreateAttachment(CreateAttachmentRequest),
    DeleteAttachment(DeleteAttachmentRequest),
    SaveChangesAttachment(SaveChangesAttachmentRequest),
    OpenEmbeddedMessage(OpenEmbeddedMessageRequest),
    SubmitMessage(SubmitMessageRequest),
    AbortSubmit(AbortSubmitRequest),
    TransportSend(TransportSendRequest),
    WriteStream(WriteStreamRequest),
    CommitStream(CommitStreamRequest),
    GetStreamSize(GetStreamSizeRequest),
    SetStreamSize(SetStreamSizeRequest),
    SeekStream(SeekStreamRequest),
}

impl RopRequest {
    /// What decoding this request's response needs.
    ///
    /// `columns` is the column set the response's rows follow: for RopQueryRows the columns
    /// set with RopSetColumns on that table (possibly in an earlier request), for
    /// RopReadRecipients the recipient columns of the message's RopOpenMessage response. It is
    /// ignored for other ROPs. Returns `None` for those two ROPs when `columns` is `None`.
    pub fn response_context(&self, columns: Option<&[PropertyTag]>) -> Option<ResponseContext> {
        Some(match self {
            Self::Release(_) => ResponseContext::Release,
            Self::Logon(l) => ResponseContext::Logon {
                private: l.is_private(),
            },
            Self::GetPropertiesSpecific(g) => ResponseContext::GetPropertiesSpecific {
                tags: g.property_tags.clone(),
            },
            Self::QueryRows(_) => ResponseContext::QueryRows {
                columns: columns?.to_vec(),
            },
            Self::ReadRecipients(_) => ResponseContext::ReadRecipients {
                columns: columns?.to_vec(),
            },
            other => ResponseContext::Plain(other.rop_id()),
        })
    }

    /// The InputHandleIndex of the request (RopLogon has none and gives its output index).
    pub fn input_handle_index(&self) -> u8 {
        match self {
            Self::Logon(x) => x.output_handle_index,
            Self::Release(x) => x.input_handle_index,
            Self::OpenFolder(x) => x.input_handle_index,
            Self::OpenMessage(x) => x.input_handle_index,
            Self::GetHierarchyTable(x) => x.input_handle_index,
            Self::GetContentsTable(x) => x.input_handle_index,
            Self::GetPropertiesSpecific(x) => x.input_handle_index,
            Self::GetPropertiesAll(x) => x.input_handle_index,
            Self::GetPropertiesList(x) => x.input_handle_index,
            Self::SetProperties(x) => x.input_handle_index,
            Self::ReadRecipients(x) => x.input_handle_index,
            Self::SetColumns(x) => x.input_handle_index,
            Self::SortTable(x) => x.input_handle_index,
            Self::Restrict(x) => x.input_handle_index,
            Self::QueryRows(x) => x.input_handle_index,
            Self::QueryPosition(x) => x.input_handle_index,
            Self::SeekRow(x) => x.input_handle_index,
            Self::GetAttachmentTable(x) => x.input_handle_index,
            Self::OpenAttachment(x) => x.input_handle_index,
            Self::GetReceiveFolder(x) => x.input_handle_index,
            Self::OpenStream(x) => x.input_handle_index,
            Self::ReadStream(x) => x.input_handle_index,
            Self::GetNamesFromPropertyIds(x) => x.input_handle_index,
            Self::GetPropertyIdsFromNames(x) => x.input_handle_index,
            Self::CreateMessage(x) => x.input_handle_index,
            Self::SaveChangesMessage(x) => x.input_handle_index,
            Self::RemoveAllRecipients(x) => x.input_handle_index,
            Self::ModifyRecipients(x) => x.input_handle_index,
            Self::ReloadCachedInformation(x) => x.input_handle_index,
            Self::SetMessageReadFlag(x) => x.input_handle_index,
            Self::SetReadFlags(x) => x.input_handle_index,
            Self::DeleteProperties(x) => x.input_handle_index,
            Self::CreateFolder(x) => x.input_handle_index,
            Self::DeleteFolder(x) => x.input_handle_index,
            Self::DeleteMessages(x) => x.input_handle_index,
            Self::HardDeleteMessages(x) => x.input_handle_index,
            Self::EmptyFolder(x) => x.input_handle_index,
            Self::HardDeleteMessagesAndSubfolders(x) => x.input_handle_index,
            Self::MoveCopyMessages(x) => x.source_handle_index,
            Self::MoveFolder(x) => x.source_handle_index,
            Self::CopyFolder(x) => x.source_handle_index,
            Self::SetReceiveFolder(x) => x.input_handle_index,
            Self::CreateAttachment(x) => x.input_handle_index,
            Self::DeleteAttachment(x) => x.input_handle_index,
            Self::SaveChangesAttachment(x) => x.input_handle_index,
            Self::OpenEmbeddedMessage(x) => x.input_handle_index,
            Self::SubmitMessage(x) => x.input_handle_index,
            Self::AbortSubmit(x) => x.input_handle_index,
            Self::TransportSend(x) => x.input_handle_index,
            Self::WriteStream(x) => x.input_handle_index,
            Self::CommitStream(x) => x.input_handle_index,
            Self::GetStreamSize(x) => x.input_handle_index,
            Self::SetStreamSize(x) => x.input_handle_index,
            Self::SeekStream(x) => x.input_handle_index,
        }
    }

    /// The DestHandleIndex of RopMoveCopyMessages, RopMoveFolder and RopCopyFolder (the
    /// second input handle; for those three [`Self::input_handle_index`] is the
    /// SourceHandleIndex), `None` for other ROPs.
    pub fn dest_handle_index(&self) -> Option<u8> {
        match self {
            Self::MoveCopyMessages(x) => Some(x.dest_handle_index),
            Self::MoveFolder(x) => Some(x.dest_handle_index),
            Self::CopyFolder(x) => Some(x.dest_handle_index),
            _ => None,
        }
    }

    /// The handle index the response header echoes: ResponseHandleIndex for
    /// RopSaveChangesMessage, RopSaveChangesAttachment and RopSetMessageReadFlag, the
    /// OutputHandleIndex of ROPs that open or create an object, else
    /// [`Self::input_handle_index`].
    pub fn response_handle_index(&self) -> u8 {
        match self {
            Self::SaveChangesMessage(x) => x.response_handle_index,
            Self::SaveChangesAttachment(x) => x.response_handle_index,
            Self::SetMessageReadFlag(x) => x.response_handle_index,
            Self::OpenFolder(x) => x.output_handle_index,
            Self::OpenMessage(x) => x.output_handle_index,
            Self::GetHierarchyTable(x) => x.output_handle_index,
            Self::GetContentsTable(x) => x.output_handle_index,
            Self::GetAttachmentTable(x) => x.output_handle_index,
            Self::OpenAttachment(x) => x.output_handle_index,
            Self::OpenStream(x) => x.output_handle_index,
            Self::CreateMessage(x) => x.output_handle_index,
            Self::CreateFolder(x) => x.output_handle_index,
            Self::CreateAttachment(x) => x.output_handle_index,
            Self::OpenEmbeddedMessage(x) => x.output_handle_index,
            other => other.input_handle_index(),
        }
    }
}
