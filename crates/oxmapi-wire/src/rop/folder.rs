//! Folder ROPs (MS-OXCROPS 2.2.4, semantics in MS-OXCFOLD).

use crate::cursor::{Encode, ReadCursor, WriteCursor, count_u16};
use crate::data::{ErrorCode, FolderId};
use crate::error::{DecodeError, DecodeResult, EncodeError, EncodeResult};
use crate::rop::wire::{RopId, rop_request, rop_response, write_latin1_z, write_response_header};

/// TableFlags of RopGetHierarchyTable / RopGetContentsTable / RopGetAttachmentTable
/// (MS-OXCFOLD 2.2.1.13.1, 2.2.1.14.1).
pub mod table_flags {
    /// Associated (FAI) messages only (contents tables).
    pub const ASSOCIATED: u8 = 0x02;
    /// Whole subtree (hierarchy tables).
    pub const DEPTH: u8 = 0x04;
    /// Errors may be deferred.
    pub const DEFERRED_ERRORS: u8 = 0x08;
    /// No notifications on the table.
    pub const NO_NOTIFICATIONS: u8 = 0x10;
    /// Soft-deleted items only.
    pub const SOFT_DELETES: u8 = 0x20;
    /// PtypUnspecified string columns come back as PtypString.
    pub const USE_UNICODE: u8 = 0x40;
    /// Suppress notifications (hierarchy) / conversation members (contents).
    pub const SUPPRESS_NOTIFICATIONS: u8 = 0x80;
}

rop_request! {
    /// MS-OXCROPS 2.2.4.1.1 RopOpenFolder request.
    pub struct OpenFolderRequest = RopId::OPEN_FOLDER, "RopOpenFolder request" {
        /// LogonId.
        pub logon_id: u8 => "LogonId",
        /// InputHandleIndex: the logon or a folder.
        pub input_handle_index: u8 => "InputHandleIndex",
        /// OutputHandleIndex: where the folder handle goes.
        pub output_handle_index: u8 => "OutputHandleIndex",
        /// FolderId of the folder to open.
        pub folder_id: FolderId => "FolderId",
        /// OpenModeFlags (0x04 OpenSoftDeleted).
        pub open_mode_flags: u8 => "OpenModeFlags",
    }
}

/// Ghosted-folder replica information of a RopOpenFolder response (MS-OXCROPS 2.2.4.1.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GhostInfo {
    /// CheapServerCount: how many of the first servers are cheap to reach.
    pub cheap_server_count: u16,
    /// Servers (ServerCount of them), NUL-terminated 8-bit strings.
    pub servers: Vec<String>,
}

/// MS-OXCROPS 2.2.4.1.2 RopOpenFolder success response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OpenFolderResponse {
    /// OutputHandleIndex, as in the request.
    pub output_handle_index: u8,
    /// HasRules (boolean byte, kept as sent).
    pub has_rules: u8,
    /// IsGhosted and, when set, ServerCount/CheapServerCount/Servers.
    pub ghost: Option<GhostInfo>,
}

impl OpenFolderResponse {
    /// This ROP's RopId.
    pub const ROP_ID: RopId = RopId::OPEN_FOLDER;

    pub(crate) fn decode_body(
        r: &mut ReadCursor<'_>,
        output_handle_index: u8,
    ) -> DecodeResult<Self> {
        let has_rules = r.u8("HasRules")?;
        let at = r.offset();
        // A Boolean is 0x00 or 0x01 (MS-OXCDATA 2.11.1); anything else would not re-encode.
        let ghost = match r.u8("IsGhosted")? {
            0 => None,
            1 => Some(decode_ghost(r)?),
            b => {
                return Err(DecodeError::invalid(
                    "IsGhosted",
                    at,
                    format!("0x{b:02X} is not 0 or 1"),
                ));
            }
        };
        Ok(Self {
            output_handle_index,
            has_rules,
            ghost,
        })
    }
}

fn decode_ghost(r: &mut ReadCursor<'_>) -> DecodeResult<GhostInfo> {
    let at = r.offset();
    let server_count = usize::from(r.u16("ServerCount")?);
    let cheap_server_count = r.u16("CheapServerCount")?;
    if usize::from(cheap_server_count) > server_count {
        return Err(DecodeError::invalid(
            "CheapServerCount",
            at + 2,
            format!("{cheap_server_count} is more than ServerCount {server_count}"),
        ));
    }
    r.ensure(server_count, "Servers")?;
    let servers = (0..server_count)
        .map(|_| r.ascii_z("Servers"))
        .collect::<DecodeResult<_>>()?;
    Ok(GhostInfo {
        cheap_server_count,
        servers,
    })
}

impl Encode for OpenFolderResponse {
    fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        const S: &str = "RopOpenFolder response";
        write_response_header(
            w,
            Self::ROP_ID,
            self.output_handle_index,
            ErrorCode::SUCCESS,
        );
        w.u8(self.has_rules);
        let Some(g) = &self.ghost else {
            w.u8(0);
            return Ok(());
        };
        w.u8(1);
        w.u16(count_u16(g.servers.len(), S, "ServerCount")?);
        if usize::from(g.cheap_server_count) > g.servers.len() {
            return Err(EncodeError::Invalid {
                structure: S,
                field: "CheapServerCount",
                detail: "more than ServerCount".into(),
            });
        }
        w.u16(g.cheap_server_count);
        for s in &g.servers {
            write_latin1_z(w, s, S, "Servers")?;
        }
        Ok(())
    }
}

rop_request! {
    /// MS-OXCROPS 2.2.4.13.1 RopGetHierarchyTable request.
    pub struct GetHierarchyTableRequest = RopId::GET_HIERARCHY_TABLE, "RopGetHierarchyTable request" {
        /// LogonId.
        pub logon_id: u8 => "LogonId",
        /// InputHandleIndex: the folder.
        pub input_handle_index: u8 => "InputHandleIndex",
        /// OutputHandleIndex: where the table handle goes.
        pub output_handle_index: u8 => "OutputHandleIndex",
        /// TableFlags, see [`table_flags`].
        pub table_flags: u8 => "TableFlags",
    }
}

rop_response! {
    /// MS-OXCROPS 2.2.4.13.2 RopGetHierarchyTable success response.
    pub struct GetHierarchyTableResponse = RopId::GET_HIERARCHY_TABLE {
        /// OutputHandleIndex, as in the request.
        pub output_handle_index: u8;
        /// RowCount: folders in the table.
        pub row_count: u32 => "RowCount",
    }
}

rop_request! {
    /// MS-OXCROPS 2.2.4.14.1 RopGetContentsTable request.
    pub struct GetContentsTableRequest = RopId::GET_CONTENTS_TABLE, "RopGetContentsTable request" {
        /// LogonId.
        pub logon_id: u8 => "LogonId",
        /// InputHandleIndex: the folder.
        pub input_handle_index: u8 => "InputHandleIndex",
        /// OutputHandleIndex: where the table handle goes.
        pub output_handle_index: u8 => "OutputHandleIndex",
        /// TableFlags, see [`table_flags`].
        pub table_flags: u8 => "TableFlags",
    }
}

rop_response! {
    /// MS-OXCROPS 2.2.4.14.2 RopGetContentsTable success response.
    pub struct GetContentsTableResponse = RopId::GET_CONTENTS_TABLE {
        /// OutputHandleIndex, as in the request.
        pub output_handle_index: u8;
        /// RowCount: messages in the table.
        pub row_count: u32 => "RowCount",
    }
}
