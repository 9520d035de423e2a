//! [`ResponseContext`]: what the client must remember about each request to decode its
//! response (MS-OXCROPS responses are not self-describing).

use crate::data::PropertyTag;
use crate::rop::wire::RopId;

/// What decoding one ROP response needs, one per request sent (in request order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseContext {
    /// RopRelease: no response is expected; the buffer decoder skips this entry.
    Release,
    /// RopLogon: the response layout depends on the request's Private flag.
    Logon {
        /// LogonFlags of the request had Private (0x01).
        private: bool,
    },
    /// RopGetPropertiesSpecific: the row holds the requested tags.
    GetPropertiesSpecific {
        /// The requested tags, in request order.
        tags: Vec<PropertyTag>,
    },
    /// RopQueryRows: the rows follow the table's column set.
    QueryRows {
        /// The columns set with RopSetColumns on the table.
        columns: Vec<PropertyTag>,
    },
    /// RopReadRecipients: the rows follow the message's recipient columns.
    ReadRecipients {
        /// RecipientColumns of the message's RopOpenMessage response.
        columns: Vec<PropertyTag>,
    },
    /// Any other supported ROP: its response decodes from its RopId alone.
    Plain(RopId),
}

impl ResponseContext {
    /// The RopId of the request this context stands for.
    pub fn rop_id(&self) -> RopId {
        match self {
            Self::Release => RopId::RELEASE,
            Self::Logon { .. } => RopId::LOGON,
            Self::GetPropertiesSpecific { .. } => RopId::GET_PROPERTIES_SPECIFIC,
            Self::QueryRows { .. } => RopId::QUERY_ROWS,
            Self::ReadRecipients { .. } => RopId::READ_RECIPIENTS,
            Self::Plain(id) => *id,
        }
    }

    /// False for RopRelease, which has no response.
    pub fn expects_response(&self) -> bool {
        !matches!(self, Self::Release)
    }
}

/// A request needs a column set (RopQueryRows, RopReadRecipients) that is not known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "request {index} ({rop_id}) needs a column set and none is known for handle index {handle_index}"
)]
pub struct MissingColumns {
    /// Position of the request in the buffer.
    pub index: usize,
    /// Its RopId.
    pub rop_id: RopId,
    /// Its InputHandleIndex.
    pub handle_index: u8,
}
