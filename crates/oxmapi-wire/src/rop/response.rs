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
use crate::rop::property::{
    GetNamesFromPropertyIdsResponse, GetPropertiesAllResponse, GetPropertiesListResponse,
    GetPropertiesSpecificResponse, GetPropertyIdsFromNamesResponse, SetPropertiesResponse,
};
use crate::rop::special::{BackoffResponse, BufferTooSmallResponse, RopErrorResponse};
use crate::rop::stream::{OpenStreamResponse, ReadStreamResponse};
use crate::rop::table::{
    QueryPositionResponse, QueryRowsResponse, RestrictResponse, SeekRowResponse,
    SetColumnsResponse, SortTableResponse,
};
use crate::rop::wire::RopId;

macro_rules! responses {
    ($($variant:ident($ty:ty) = $id:expr,)*) => {
        /// A ROP response (MS-OXCROPS 2.2.3 - 2.2.15).
        ///
        /// Success responses have one variant per ROP; failures use [`Self::Error`] except
        /// where the spec gives a failing ROP more fields (RopLogon's ecWrongServer redirect,
        /// RopGetPropertyIdsFromNames' ecWarnWithErrors).
        #[derive(Debug, Clone, PartialEq)]
        #[allow(missing_docs)]
        pub enum RopResponse {
            $( $variant($ty), )*
            /// A failed ROP: header with a non-zero ReturnValue, nothing else.
            Error(RopErrorResponse),
            /// RopBufferTooSmall (0xFF): the rest did not fit.
            BufferTooSmall(BufferTooSmallResponse),
            /// RopBackoff (0xF9): the server asks the client to wait.
            Backoff(BackoffResponse),
        }

        impl RopResponse {
            /// The response's RopId.
            pub fn rop_id(&self) -> RopId {
                match self {
                    $( Self::$variant(_) => $id, )*
                    Self::Error(e) => e.rop_id,
                    Self::BufferTooSmall(_) => RopId::BUFFER_TOO_SMALL,
                    Self::Backoff(_) => RopId::BACKOFF,
                }
            }
        }

        impl Encode for RopResponse {
            fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
                match self {
                    $( Self::$variant(x) => x.encode(w), )*
                    Self::Error(x) => x.encode(w),
                    Self::BufferTooSmall(x) => x.encode(w),
                    Self::Backoff(x) => x.encode(w),
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
}

impl RopResponse {
    /// The ReturnValue (0 for success responses; none for the special responses).
    pub fn return_value(&self) -> Option<ErrorCode> {
        match self {
            Self::Error(e) => Some(e.return_value),
            Self::LogonRedirect(_) => Some(LogonRedirectResponse::RETURN_VALUE),
            Self::GetPropertyIdsFromNames(g) => Some(g.return_value),
            Self::BufferTooSmall(_) | Self::Backoff(_) => None,
            _ => Some(ErrorCode::SUCCESS),
        }
    }

    /// True when this is a RopBufferTooSmall or RopBackoff response, which answer no request
    /// of their own.
    pub fn is_special(&self) -> bool {
        matches!(self, Self::BufferTooSmall(_) | Self::Backoff(_))
    }

    /// Decodes one response to the request described by `ctx`.
    ///
    /// A RopBufferTooSmall or RopBackoff response is returned whatever `ctx` says; any other
    /// RopId must match the request's.
    pub fn decode(r: &mut ReadCursor<'_>, ctx: &ResponseContext) -> DecodeResult<Self> {
        let at = r.offset();
        match r.rest().first().map(|&b| RopId(b)) {
            Some(RopId::BUFFER_TOO_SMALL) => {
                return BufferTooSmallResponse::decode(r).map(Self::BufferTooSmall);
            }
            Some(RopId::BACKOFF) => return BackoffResponse::decode(r).map(Self::Backoff),
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
        other => {
            return Err(DecodeError::invalid(
                "RopId",
                r.offset(),
                format!("{other:?} responses need a specific ResponseContext or are unsupported"),
            ));
        }
    })
}
