//! MS-OXCROPS: ROP input/output buffers and the remote operations oxmapi uses.
//!
//! [MS-OXCROPS](https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-oxcrops/)
//!
//! * [`RopRequestBuffer`] / [`RopResponseBuffer`]: the ROP input and output buffers
//!   (MS-OXCROPS 2.2.1): `RopSize`, the ROP list, then the server object handle table.
//! * [`RopRequest`]: one variant per supported ROP request. Requests decode without context.
//! * [`RopResponse`]: success responses, the generic failure form ([`RopErrorResponse`]),
//!   the RopLogon redirect, the special RopBufferTooSmall / RopBackoff responses, and the
//!   RopNotify / RopPending responses a server adds on its own ([`NotifyResponse`],
//!   [`PendingResponse`], MS-OXCROPS 2.2.14).
//!
//! # Responses need the request
//!
//! ROP responses are not self-describing: a RopQueryRows response holds rows whose layout
//! depends on the columns set earlier with RopSetColumns, a RopGetPropertiesSpecific response
//! holds one row for the requested tags, and the RopLogon response layout depends on whether
//! the request asked for a private mailbox. A client therefore decodes a response buffer
//! against one [`ResponseContext`] per request it sent (see [`RopRequest::response_context`]
//! and [`RopRequestBuffer::response_contexts`]).
//!
//! Responses that carry rows also carry their column set ([`QueryRowsResponse::columns`],
//! [`GetPropertiesSpecificResponse::tags`], [`ReadRecipientsResponse::columns`]): the decoder
//! fills it in from the context, and the server-side encoder uses it to lay the rows out.
//! The column set itself is never written to the wire.

mod buffer;
mod context;
mod folder;
mod logon;
mod message;
mod notify;
mod property;
mod request;
mod response;
mod special;
mod stream;
mod submit;
mod table;
mod wire;
mod write_attach;
mod write_folder;
mod write_message;
mod write_stream;
mod write_util;

pub use buffer::{RopRequestBuffer, RopResponseBuffer};
pub use context::{MissingColumns, ResponseContext};
pub use folder::{
    GetContentsTableRequest, GetContentsTableResponse, GetHierarchyTableRequest,
    GetHierarchyTableResponse, GhostInfo, OpenFolderRequest, OpenFolderResponse, table_flags,
};
pub use logon::{
    GetReceiveFolderRequest, GetReceiveFolderResponse, LogonPrivateResponse, LogonPublicResponse,
    LogonRedirectResponse, LogonRequest, LogonTime, logon_flags, open_flags,
};
pub use message::{
    GetAttachmentTableRequest, GetAttachmentTableResponse, OpenAttachmentRequest,
    OpenAttachmentResponse, OpenMessageRequest, OpenMessageResponse, OpenRecipientRow,
    ReadRecipientRow, ReadRecipientsRequest, ReadRecipientsResponse, RecipientRow, TypedString,
    X500Info, recipient_flags,
};
pub use notify::{
    NewMailData, NotificationData, NotificationTags, NotificationType, NotifyResponse,
    PendingResponse, TableEventType, UndecodedNotifications, notification_flags,
};
pub use property::{
    GetNamesFromPropertyIdsRequest, GetNamesFromPropertyIdsResponse, GetPropertiesAllRequest,
    GetPropertiesAllResponse, GetPropertiesListRequest, GetPropertiesListResponse,
    GetPropertiesSpecificRequest, GetPropertiesSpecificResponse, GetPropertyIdsFromNamesRequest,
    GetPropertyIdsFromNamesResponse, PropertyName, PropertyNameKind, SetPropertiesRequest,
    SetPropertiesResponse,
};
pub use request::RopRequest;
pub use response::RopResponse;
pub use special::{
    BackoffResponse, BackoffRop, BufferTooSmallResponse, ReleaseRequest, RopErrorResponse,
};
pub use stream::{OpenStreamRequest, OpenStreamResponse, ReadStreamRequest, ReadStreamResponse};
pub use submit::{
    AbortSubmitRequest, AbortSubmitResponse, SubmitMessageRequest, SubmitMessageResponse,
    TransportSendRequest, TransportSendResponse, submit_flags,
};
pub use table::{
    QueryPositionRequest, QueryPositionResponse, QueryRowsRequest, QueryRowsResponse,
    RestrictRequest, RestrictResponse, SeekRowRequest, SeekRowResponse, SetColumnsRequest,
    SetColumnsResponse, SortOrder, SortOrderSet, SortTableRequest, SortTableResponse,
};
pub use wire::RopId;
pub use write_attach::{
    CreateAttachmentRequest, CreateAttachmentResponse, DeleteAttachmentRequest,
    DeleteAttachmentResponse, OpenEmbeddedMessageRequest, OpenEmbeddedMessageResponse,
    SaveChangesAttachmentRequest, SaveChangesAttachmentResponse,
};
pub use write_folder::{
    CopyFolderRequest, CopyFolderResponse, CreateFolderRequest, CreateFolderResponse,
    DeleteFolderRequest, DeleteFolderResponse, DeleteMessagesRequest, DeleteMessagesResponse,
    EmptyFolderRequest, EmptyFolderResponse, ExistingFolder,
    HardDeleteMessagesAndSubfoldersRequest, HardDeleteMessagesAndSubfoldersResponse,
    HardDeleteMessagesRequest, HardDeleteMessagesResponse, MoveCopyMessagesRequest,
    MoveCopyMessagesResponse, MoveFolderRequest, MoveFolderResponse,
    NullDestinationFailureResponse, SetReceiveFolderRequest, SetReceiveFolderResponse,
    delete_folder_flags, folder_type,
};
pub use write_message::{
    CreateMessageRequest, CreateMessageResponse, DeletePropertiesRequest, DeletePropertiesResponse,
    MessageInfo, ModifyRecipientRow, ModifyRecipientsRequest, ModifyRecipientsResponse,
    ReadStatusChange, ReloadCachedInformationRequest, ReloadCachedInformationResponse,
    RemoveAllRecipientsRequest, RemoveAllRecipientsResponse, SaveChangesMessageRequest,
    SaveChangesMessageResponse, SetMessageReadFlagRequest, SetMessageReadFlagResponse,
    SetReadFlagsRequest, SetReadFlagsResponse, read_flags, save_flags,
};
pub use write_stream::{
    CommitStreamRequest, CommitStreamResponse, GetStreamSizeRequest, GetStreamSizeResponse,
    SeekStreamRequest, SeekStreamResponse, SetStreamSizeRequest, SetStreamSizeResponse,
    WriteStreamRequest, WriteStreamResponse, seek_origin,
};
