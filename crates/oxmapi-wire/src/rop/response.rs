//! [`RopResponse`]: every supported ROP response, decoded against a [`ResponseContext`].

use crate::cursor::{Decode, Encode, ReadCursor, WriteCursor};
use crate::data::ErrorCode;
use crate::error::{DecodeContext, DecodeError, DecodeResult, EncodeResult};
use crate::rop::context::ResponseContext;
use crate::rop::folder::{GetContentsTableResponse, GetHierarchyTableResponse, OpenFolderResponse};
use crate::rop::logon::{
    GetReceiveFolderResponse, LogonPrivateResponse, LogonPublicResponse, LogonRedirectResponse,
};
use crate::rop::message::{
    GetAttachmentTableResponse, OpenAttachmentResponse, OpenMessageResponse, ReadRecipientsResponse,
};
use crate::rop::notify::{NotifyResponse, PendingResponse, UndecodedNotifications};
use crate::rop::property::{
    GetNamesFromPropertyIdsResponse, GetPropertiesAllResponse, GetPropertiesListResponse,
    GetPropertiesSpecificResponse, GetPropertyIdsFromNamesResponse, SetPropertiesResponse,
};
use crate::rop::special::{BackoffResponse, BufferTooSmallResponse, RopErrorResponse};
use crate::rop::stream::{OpenStreamResponse, ReadStreamResponse};
use crate::rop::submit::{AbortSubmitResponse, SubmitMessageResponse, TransportSendResponse};
use crate::rop::table::{
    QueryPositionResponse, QueryRowsResponse, RestrictResponse, SeekRowResponse,
    SetColumnsResponse, SortTableResponse,
};
use crate::rop::wire::RopId;
use crate::rop::write_attach::{
    CreateAttachmentResponse, DeleteAttachmentResponse, OpenEmbeddedMessageResponse,
    SaveChangesAttachmentResponse,
};
use crate::rop::write_folder::{
    CopyFolderResponse, CreateFolderResponse, DeleteFolderResponse, DeleteMessagesResponse,
    EmptyFolderResponse, HardDeleteMessagesAndSubfoldersResponse, HardDeleteMessagesResponse,
    MoveCopyMessagesResponse, MoveFolderResponse, NullDestinationFailureResponse,
    SetReceiveFolderResponse,
};
use crate::rop::write_message::{
    CreateMessageResponse, DeletePropertiesResponse, ModifyRecipientsResponse,
    ReloadCachedInformationResponse, RemoveAllRecipientsResponse, SaveChangesMessageResponse,
    SetMessageReadFlagResponse, SetReadFlagsResponse,
};
use crate::rop::write_stream::{
    CommitStreamResponse, GetStreamSizeResponse, SeekStreamResponse, SetStreamSizeResponse,
    WriteStreamResponse,
};

macro_rules! responses {
    ($($variant:ident($ty:ty) = $id:expr,)*) => {
        /// A ROP response (MS-OXCROPS 2.2.3 - 2.2.15).
        ///
        /// Success responses have one variant per ROP; failures use [`Self::Error`] except
        /// where the spec gives a failing ROP more fields (RopLogon's ecWrongServer redirect,
        /// RopGetPropertyIdsFromNames' ecWarnWithErrors, the PartialCompletion of the folder
        /// delete/move/copy ROPs, whose variants carry any ReturnValue, and the
        /// ecDstNullObject form of the move/copy ROPs, [`Self::NullDestination`]).
        #[derive(Debug, Clone, PartialEq)]
        #[allow(missing_docs)]
        pub enum RopResponse {
            $( $variant($ty), )*
            /// A failed ROP: header with a non-zero ReturnValue, nothing else.
            Error(RopErrorResponse),
            /// RopMoveCopyMessages / RopMoveFolder / RopCopyFolder failed with
            /// ecDstNullObject (0x503): DestHandleIndex and PartialCompletion follow.
            NullDestination(NullDestinationFailureResponse),
            /// RopBufferTooSmall (0xFF): the rest did not fit.
            BufferTooSmall(BufferTooSmallResponse),
            /// RopBackoff (0xF9): the server asks the client to wait.
            Backoff(BackoffResponse),
            /// RopNotify (0x2A, MS-OXCROPS 2.2.14.2): an event the server pushes; answers no
            /// request.
            Notify(NotifyResponse),
            /// RopPending (0x6E, MS-OXCROPS 2.2.14.3): more notifications are queued; answers
            /// no request.
            Pending(PendingResponse),
            /// The rest of the list from a RopNotify/RopPending that did not decode, after
            /// every answer (see [`RopResponseBuffer::decode`](crate::rop::RopResponseBuffer::decode)).
            UndecodedNotifications(UndecodedNotifications),
        }

        impl RopResponse {
            /// The response's RopId.
            pub fn rop_id(&self) -> RopId {
                match self {
                    $( Self::$variant(_) => $id, )*
                    Self::Error(e) => e.rop_id,
                    Self::NullDestination(e) => e.rop_id,
                    Self::BufferTooSmall(_) => RopId::BUFFER_TOO_SMALL,
                    Self::Backoff(_) => RopId::BACKOFF,
                    Self::Notify(_) => RopId::NOTIFY,
                    Self::Pending(_) => RopId::PENDING,
                    Self::UndecodedNotifications(u) => u.rop_id(),
                }
            }
        }

        impl Encode for RopResponse {
            fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
                match self {
                    $( Self::$variant(x) => x.encode(w), )*
                    Self::Error(x) => x.encode(w),
                    Self::NullDestination(x) => x.encode(w),
                    Self::BufferTooSmall(x) => x.encode(w),
                    Self::Backoff(x) => x.encode(w),
                    Self::Notify(x) => x.encode(w),
                    Self::Pending(x) => x.encode(w),
                    Self::UndecodedNotifications(x) => x.encode(w),
                }
            }
        }

        $(
            impl From<$ty> for RopResponse {
                fn from(x: $ty) -> Self {
                    Self::$variant(x)
                }
            }
        )*
    };
}

responses! {
    LogonPrivate(LogonPrivateResponse) = RopId::LOGON,
    LogonPublic(LogonPublicResponse) = RopId::LOGON,
    LogonRedirect(LogonRedirectResponse) = RopId::LOGON,
    OpenFolder(OpenFolderResponse) = RopId::OPEN_FOLDER,
    OpenMessage(OpenMessageResponse) = RopId::OPEN_MESSAGE,
    GetHierarchyTable(GetHierarchyTableResponse) = RopId::GET_HIERARCHY_TABLE,
    GetContentsTable(GetContentsTableResponse) = RopId::GET_CONTENTS_TABLE,
    GetPropertiesSpecific(GetPropertiesSpecificResponse) = RopId::GET_PROPERTIES_SPECIFIC,
    GetPropertiesAll(GetPropertiesAllResponse) = RopId::GET_PROPERTIES_ALL,
    GetPropertiesList(GetPropertiesListResponse) = RopId::GET_PROPERTIES_LIST,
    SetProperties(SetPropertiesResponse) = RopId::SET_PROPERTIES,
    ReadRecipients(ReadRecipientsResponse) = RopId::READ_RECIPIENTS,
    SetColumns(SetColumnsResponse) = RopId::SET_COLUMNS,
    SortTable(SortTableResponse) = RopId::SORT_TABLE,
    Restrict(RestrictResponse) = RopId::RESTRICT,
    QueryRows(QueryRowsResponse) = RopId::QUERY_ROWS,
    QueryPosition(QueryPositionResponse) = RopId::QUERY_POSITION,
    SeekRow(SeekRowResponse) = RopId::SEEK_ROW,
    GetAttachmentTable(GetAttachmentTableResponse) = RopId::GET_ATTACHMENT_TABLE,
    OpenAttachment(OpenAttachmentResponse) = RopId::OPEN_ATTACHMENT,
    GetReceiveFolder(GetReceiveFolderResponse) = RopId::GET_RECEIVE_FOLDER,
    OpenStream(OpenStreamResponse) = RopId::OPEN_STREAM,
    ReadStream(ReadStreamResponse) = RopId::READ_STREAM,
    GetNamesFromPropertyIds(GetNamesFromPropertyIdsResponse) = RopId::GET_NAMES_FROM_PROPERTY_IDS,
    GetPropertyIdsFromNames(GetPropertyIdsFromNamesResponse) = RopId::GET_PROPERTY_IDS_FROM_NAMES,
    CreateMessage(CreateMessageResponse) = RopId::CREATE_MESSAGE,
    SaveChangesMessage(SaveChangesMessageResponse) = RopId::SAVE_CHANGES_MESSAGE,
    RemoveAllRecipients(RemoveAllRecipientsResponse) = RopId::REMOVE_ALL_RECIPIENTS,
    ModifyRecipients(ModifyRecipientsResponse) = RopId::MODIFY_RECIPIENTS,
    ReloadCachedInformation(ReloadCachedInformationResponse) = RopId::RELOAD_CACHED_INFORMATION,
    SetMessageReadFlag(SetMessageReadFlagResponse) = RopId::SET_MESSAGE_READ_FLAG,
    SetReadFlags(SetReadFlagsResponse) = RopId::SET_READ_FLAGS,
    DeleteProperties(DeletePropertiesResponse) = RopId::DELETE_PROPERTIES,
    CreateFolder(CreateFolderResponse) = RopId::CREATE_FOLDER,
    DeleteFolder(DeleteFolderResponse) = RopId::DELETE_FOLDER,
    DeleteMessages(DeleteMessagesResponse) = RopId::DELETE_MESSAGES,
    HardDeleteMessages(HardDeleteMessagesResponse) = RopId::HARD_DELETE_MESSAGES,
    EmptyFolder(EmptyFolderResponse) = RopId::EMPTY_FOLDER,
    HardDeleteMessagesAndSubfolders(HardDeleteMessagesAndSubfoldersResponse) =
        RopId::HARD_DELETE_MESSAGES_AND_SUBFOLDERS,
    MoveCopyMessages(MoveCopyMessagesResponse) = RopId::MOVE_COPY_MESSAGES,
    MoveFolder(MoveFolderResponse) = RopId::MOVE_FOLDER,
    CopyFolder(CopyFolderResponse) = RopId::COPY_FOLDER,
    SetReceiveFolder(SetReceiveFolderResponse) = RopId::SET_RECEIVE_FOLDER,
    CreateAttachment(CreateAttachmentResponse) = RopId::CREATE_ATTACHMENT,
    DeleteAttachment(DeleteAttachmentResponse) = RopId::DELETE_ATTACHMENT,
    SaveChangesAttachment(SaveChangesAttachmentResponse) = RopId::SAVE_CHANGES_ATTACHMENT,
    OpenEmbeddedMessage(OpenEmbeddedMessageResponse) = RopId::OPEN_EMBEDDED_MESSAGE,
    SubmitMessage(SubmitMessageResponse) = RopId::SUBMIT_MESSAGE,
    AbortSubmit(AbortSubmitResponse) = RopId::ABORT_SUBMIT,
    TransportSend(TransportSendResponse) = RopId::TRANSPORT_SEND,
    WriteStream(WriteStreamResponse) = RopId::WRITE_STREAM,
    CommitStream(CommitStreamResponse) = RopId::COMMIT_STREAM,
    GetStreamSize(GetStreamSizeResponse) = RopId::GET_STREAM_SIZE,
    SetStreamSize(SetStreamSizeResponse) = RopId::SET_STREAM_SIZE,
    SeekStream(SeekStreamResponse) = RopId::SEEK_STREAM,
}

impl RopResponse {
    /// The ReturnValue (0 for success responses; none for the special and unsolicited
    /// responses).
    pub fn return_value(&self) -> Option<ErrorCode> {
        match self {
            Self::Error(e) => Some(e.return_value),
            Self::LogonRedirect(_) => Some(LogonRedirectResponse::RETURN_VALUE),
            Self::GetPropertyIdsFromNames(g) => Some(g.return_value),
            Self::NullDestination(_) => Some(NullDestinationFailureResponse::RETURN_VALUE),
            Self::DeleteFolder(x) => Some(x.return_value),
            Self::DeleteMessages(x) => Some(x.return_value),
            Self::HardDeleteMessages(x) => Some(x.return_value),
            Self::EmptyFolder(x) => Some(x.return_value),
            Self::HardDeleteMessagesAndSubfolders(x) => Some(x.return_value),
            Self::MoveCopyMessages(x) => Some(x.return_value),
            Self::MoveFolder(x) => Some(x.return_value),
            Self::CopyFolder(x) => Some(x.return_value),
            Self::BufferTooSmall(_)
            | Self::Backoff(_)
            | Self::Notify(_)
            | Self::Pending(_)
            | Self::UndecodedNotifications(_) => None,
            _ => Some(ErrorCode::SUCCESS),
        }
    }

    /// True for the responses that answer no request of their own: RopBufferTooSmall,
    /// RopBackoff and the unsolicited ones ([`Self::is_unsolicited`]).
    pub fn is_special(&self) -> bool {
        matches!(self, Self::BufferTooSmall(_) | Self::Backoff(_)) || self.is_unsolicited()
    }

    /// True for what the server sends on its own initiative (MS-OXCROPS 2.2.14): RopNotify,
    /// RopPending and [`Self::UndecodedNotifications`].
    pub fn is_unsolicited(&self) -> bool {
        matches!(
            self,
            Self::Notify(_) | Self::Pending(_) | Self::UndecodedNotifications(_)
        )
    }

    /// Decodes one response to the request described by `ctx`.
    ///
    /// A RopBufferTooSmall, RopBackoff, RopNotify or RopPending response is returned whatever
    /// `ctx` says; any other RopId must match the request's.
    pub fn decode(r: &mut ReadCursor<'_>, ctx: &ResponseContext) -> DecodeResult<Self> {
        let at = r.offset();
        match r.rest().first().map(|&b| RopId(b)) {
            Some(RopId::BUFFER_TOO_SMALL) => {
                return BufferTooSmallResponse::decode(r).map(Self::BufferTooSmall);
            }
            Some(RopId::BACKOFF) => return BackoffResponse::decode(r).map(Self::Backoff),
            Some(RopId::NOTIFY) => return NotifyResponse::decode(r).map(Self::Notify),
            Some(RopId::PENDING) => return PendingResponse::decode(r).map(Self::Pending),
            _ => {}
        }
        let id = RopId(r.u8("RopId")?);
        let expected = ctx.rop_id();
        if id != expected {
            return Err(DecodeError::invalid(
                "RopId",
                at,
                format!("{id:?} does not answer the request, which was {expected:?}"),
            ));
        }
        (|| {
            let handle_index = r.u8("HandleIndex")?;
            let ret = ErrorCode(r.u32("ReturnValue")?);
            decode_body(r, ctx, handle_index, ret)
        })()
        .within(id.name().unwrap_or("ROP response"))
    }
}

fn decode_body(
    r: &mut ReadCursor<'_>,
    ctx: &ResponseContext,
    h: u8,
    ret: ErrorCode,
) -> DecodeResult<RopResponse> {
    use RopResponse as R;
    let id = ctx.rop_id();
    if ret != ErrorCode::SUCCESS {
        return Ok(match id {
            RopId::LOGON if ret == LogonRedirectResponse::RETURN_VALUE => {
                R::LogonRedirect(LogonRedirectResponse::decode_body(r, h)?)
            }
            RopId::GET_PROPERTY_IDS_FROM_NAMES
                if ret == GetPropertyIdsFromNamesResponse::WARN_WITH_ERRORS =>
            {
                R::GetPropertyIdsFromNames(GetPropertyIdsFromNamesResponse::decode_body(r, h, ret)?)
            }
            id if ret == NullDestinationFailureResponse::RETURN_VALUE
                && NullDestinationFailureResponse::applies_to(id) =>
            {
                R::NullDestination(NullDestinationFailureResponse::decode_body(r, id, h)?)
            }
            id if has_partial_completion(id) => decode_partial(r, id, h, ret)?,
            _ => R::Error(RopErrorResponse {
                rop_id: id,
                handle_index: h,
                return_value: ret,
            }),
        });
    }
    Ok(match ctx {
        ResponseContext::Release => {
            return Err(DecodeError::invalid(
                "RopId",
                r.offset(),
                "RopRelease has no response",
            ));
        }
        ResponseContext::Logon { private: true } => {
            R::LogonPrivate(LogonPrivateResponse::decode_body(r, h)?)
        }
        ResponseContext::Logon { private: false } => {
            R::LogonPublic(LogonPublicResponse::decode_body(r, h)?)
        }
        ResponseContext::GetPropertiesSpecific { tags } => {
            R::GetPropertiesSpecific(GetPropertiesSpecificResponse::decode_body(r, h, tags)?)
        }
        ResponseContext::QueryRows { columns } => {
            R::QueryRows(QueryRowsResponse::decode_body(r, h, columns)?)
        }
        ResponseContext::ReadRecipients { columns } => {
            R::ReadRecipients(ReadRecipientsResponse::decode_body(r, h, columns)?)
        }
        ResponseContext::Plain(id) => decode_plain(r, *id, h)?,
    })
}

fn decode_plain(r: &mut ReadCursor<'_>, id: RopId, h: u8) -> DecodeResult<RopResponse> {
    use RopResponse as R;
    Ok(match id {
        RopId::OPEN_FOLDER => R::OpenFolder(OpenFolderResponse::decode_body(r, h)?),
        RopId::OPEN_MESSAGE => R::OpenMessage(OpenMessageResponse::decode_body(r, h)?),
        RopId::GET_HIERARCHY_TABLE => {
            R::GetHierarchyTable(GetHierarchyTableResponse::decode_body(r, h)?)
        }
        RopId::GET_CONTENTS_TABLE => {
            R::GetContentsTable(GetContentsTableResponse::decode_body(r, h)?)
        }
        RopId::GET_PROPERTIES_ALL => {
            R::GetPropertiesAll(GetPropertiesAllResponse::decode_body(r, h)?)
        }
        RopId::GET_PROPERTIES_LIST => {
            R::GetPropertiesList(GetPropertiesListResponse::decode_body(r, h)?)
        }
        RopId::SET_PROPERTIES => R::SetProperties(SetPropertiesResponse::decode_body(r, h)?),
        RopId::SET_COLUMNS => R::SetColumns(SetColumnsResponse::decode_body(r, h)?),
        RopId::SORT_TABLE => R::SortTable(SortTableResponse::decode_body(r, h)?),
        RopId::RESTRICT => R::Restrict(RestrictResponse::decode_body(r, h)?),
        RopId::QUERY_POSITION => R::QueryPosition(QueryPositionResponse::decode_body(r, h)?),
        RopId::SEEK_ROW => R::SeekRow(SeekRowResponse::decode_body(r, h)?),
        RopId::GET_ATTACHMENT_TABLE => {
            R::GetAttachmentTable(GetAttachmentTableResponse::decode_body(r, h)?)
        }
        RopId::OPEN_ATTACHMENT => R::OpenAttachment(OpenAttachmentResponse::decode_body(r, h)?),
        RopId::GET_RECEIVE_FOLDER => {
            R::GetReceiveFolder(GetReceiveFolderResponse::decode_body(r, h)?)
        }
        RopId::OPEN_STREAM => R::OpenStream(OpenStreamResponse::decode_body(r, h)?),
        RopId::READ_STREAM => R::ReadStream(ReadStreamResponse::decode_body(r, h)?),
        RopId::GET_NAMES_FROM_PROPERTY_IDS => {
            R::GetNamesFromPropertyIds(GetNamesFromPropertyIdsResponse::decode_body(r, h)?)
        }
        RopId::GET_PROPERTY_IDS_FROM_NAMES => R::GetPropertyIdsFromNames(
            GetPropertyIdsFromNamesResponse::decode_body(r, h, ErrorCode::SUCCESS)?,
        ),
        id if has_partial_completion(id) => decode_partial(r, id, h, ErrorCode::SUCCESS)?,
        RopId::CREATE_MESSAGE => R::CreateMessage(CreateMessageResponse::decode_body(r, h)?),
        RopId::SAVE_CHANGES_MESSAGE => {
            R::SaveChangesMessage(SaveChangesMessageResponse::decode_body(r, h)?)
        }
        RopId::REMOVE_ALL_RECIPIENTS => {
            R::RemoveAllRecipients(RemoveAllRecipientsResponse::decode_body(r, h)?)
        }
        RopId::MODIFY_RECIPIENTS => {
            R::ModifyRecipients(ModifyRecipientsResponse::decode_body(r, h)?)
        }
        RopId::RELOAD_CACHED_INFORMATION => {
            R::ReloadCachedInformation(ReloadCachedInformationResponse::decode_body(r, h)?)
        }
        RopId::SET_MESSAGE_READ_FLAG => {
            R::SetMessageReadFlag(SetMessageReadFlagResponse::decode_body(r, h)?)
        }
        RopId::SET_READ_FLAGS => R::SetReadFlags(SetReadFlagsResponse::decode_body(r, h)?),
        RopId::DELETE_PROPERTIES => {
            R::DeleteProperties(DeletePropertiesResponse::decode_body(r, h)?)
        }
        RopId::CREATE_FOLDER => R::CreateFolder(CreateFolderResponse::decode_body(r, h)?),
        RopId::SET_RECEIVE_FOLDER => {
            R::SetReceiveFolder(SetReceiveFolderResponse::decode_body(r, h)?)
        }
        RopId::CREATE_ATTACHMENT => {
            R::CreateAttachment(CreateAttachmentResponse::decode_body(r, h)?)
        }
        RopId::DELETE_ATTACHMENT => {
            R::DeleteAttachment(DeleteAttachmentResponse::decode_body(r, h)?)
        }
        RopId::SAVE_CHANGES_ATTACHMENT => {
            R::SaveChangesAttachment(SaveChangesAttachmentResponse::decode_body(r, h)?)
        }
        RopId::OPEN_EMBEDDED_MESSAGE => {
            R::OpenEmbeddedMessage(OpenEmbeddedMessageResponse::decode_body(r, h)?)
        }
        RopId::SUBMIT_MESSAGE => R::SubmitMessage(SubmitMessageResponse::decode_body(r, h)?),
        RopId::ABORT_SUBMIT => R::AbortSubmit(AbortSubmitResponse::decode_body(r, h)?),
        RopId::TRANSPORT_SEND => R::TransportSend(TransportSendResponse::decode_body(r, h)?),
        RopId::WRITE_STREAM => R::WriteStream(WriteStreamResponse::decode_body(r, h)?),
        RopId::COMMIT_STREAM => R::CommitStream(CommitStreamResponse::decode_body(r, h)?),
        RopId::GET_STREAM_SIZE => R::GetStreamSize(GetStreamSizeResponse::decode_body(r, h)?),
        RopId::SET_STREAM_SIZE => R::SetStreamSize(SetStreamSizeResponse::decode_body(r, h)?),
        RopId::SEEK_STREAM => R::SeekStream(SeekStreamResponse::decode_body(r, h)?),
        other => {
            return Err(DecodeError::invalid(
                "RopId",
                r.offset(),
                format!("{other:?} responses need a specific ResponseContext or are unsupported"),
            ));
        }
    })
}

/// ROPs whose single response buffer carries PartialCompletion whatever the ReturnValue.
fn has_partial_completion(id: RopId) -> bool {
    matches!(
        id,
        RopId::DELETE_FOLDER
            | RopId::DELETE_MESSAGES
            | RopId::HARD_DELETE_MESSAGES
            | RopId::EMPTY_FOLDER
            | RopId::HARD_DELETE_MESSAGES_AND_SUBFOLDERS
            | RopId::MOVE_COPY_MESSAGES
            | RopId::MOVE_FOLDER
            | RopId::COPY_FOLDER
    )
}

fn decode_partial(
    r: &mut ReadCursor<'_>,
    id: RopId,
    h: u8,
    ret: ErrorCode,
) -> DecodeResult<RopResponse> {
    use RopResponse as R;
    Ok(match id {
        RopId::DELETE_FOLDER => R::DeleteFolder(DeleteFolderResponse::decode_body(r, h, ret)?),
        RopId::DELETE_MESSAGES => {
            R::DeleteMessages(DeleteMessagesResponse::decode_body(r, h, ret)?)
        }
        RopId::HARD_DELETE_MESSAGES => {
            R::HardDeleteMessages(HardDeleteMessagesResponse::decode_body(r, h, ret)?)
        }
        RopId::EMPTY_FOLDER => R::EmptyFolder(EmptyFolderResponse::decode_body(r, h, ret)?),
        RopId::HARD_DELETE_MESSAGES_AND_SUBFOLDERS => R::HardDeleteMessagesAndSubfolders(
            HardDeleteMessagesAndSubfoldersResponse::decode_body(r, h, ret)?,
        ),
        RopId::MOVE_COPY_MESSAGES => {
            R::MoveCopyMessages(MoveCopyMessagesResponse::decode_body(r, h, ret)?)
        }
        RopId::MOVE_FOLDER => R::MoveFolder(MoveFolderResponse::decode_body(r, h, ret)?),
        RopId::COPY_FOLDER => R::CopyFolder(CopyFolderResponse::decode_body(r, h, ret)?),
        other => {
            return Err(DecodeError::invalid(
                "RopId",
                r.offset(),
                format!("{other:?} has no PartialCompletion response"),
            ));
        }
    })
}
