//! Logon and store ROPs (MS-OXCROPS 2.2.3, semantics in MS-OXCSTOR).

use crate::cursor::{Decode, Encode, ReadCursor, WriteCursor, count_u16};
use crate::data::{ErrorCode, FolderId};
use crate::error::{DecodeContext, DecodeError, DecodeResult, EncodeError, EncodeResult};
use crate::rop::wire::{
    RopId, WireField, expect_rop_id, rop_response, write_latin1_z, write_response_header,
};

/// LogonFlags values (MS-OXCROPS 2.2.3.1.1, MS-OXCSTOR 2.2.1.1.1).
pub mod logon_flags {
    /// Private: log on to a private mailbox (else public folders).
    pub const PRIVATE: u8 = 0x01;
    /// Undercover.
    pub const UNDERCOVER: u8 = 0x02;
    /// Ghosted.
    pub const GHOSTED: u8 = 0x04;
    /// SpoolerProcess.
    pub const SPOOLER_PROCESS: u8 = 0x08;
}

/// OpenFlags values (MS-OXCSTOR 2.2.1.1.1).
pub mod open_flags {
    /// USE_ADMIN_PRIVILEGE.
    pub const USE_ADMIN_PRIVILEGE: u32 = 0x0000_0001;
    /// PUBLIC.
    pub const PUBLIC: u32 = 0x0000_0002;
    /// HOME_LOGON.
    pub const HOME_LOGON: u32 = 0x0000_0004;
    /// TAKE_OWNERSHIP.
    pub const TAKE_OWNERSHIP: u32 = 0x0000_0008;
    /// ALTERNATE_SERVER.
    pub const ALTERNATE_SERVER: u32 = 0x0000_0100;
    /// IGNORE_HOME_MDB.
    pub const IGNORE_HOME_MDB: u32 = 0x0000_0200;
    /// NO_MAIL.
    pub const NO_MAIL: u32 = 0x0000_0400;
    /// USE_PER_MDB_REPLID_MAPPING.
    pub const USE_PER_MDB_REPLID_MAPPING: u32 = 0x0100_0000;
    /// SUPPORT_PROGRESS.
    pub const SUPPORT_PROGRESS: u32 = 0x2000_0000;
}

/// MS-OXCROPS 2.2.3.1.1 RopLogon request.
///
/// [MS-OXCROPS 2.2.3.1.1](https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-oxcrops/86608b56-b668-4ad4-bf64-8baaf670cb05)
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LogonRequest {
    /// LogonId chosen by the client.
    pub logon_id: u8,
    /// OutputHandleIndex: where the logon handle goes.
    pub output_handle_index: u8,
    /// LogonFlags, see [`logon_flags`].
    pub logon_flags: u8,
    /// OpenFlags, see [`open_flags`].
    pub open_flags: u32,
    /// StoreState (0).
    pub store_state: u32,
    /// Essdn: the mailbox's DN, `None` when EssdnSize is 0 (public folders).
    pub essdn: Option<String>,
}

impl LogonRequest {
    /// This ROP's RopId.
    pub const ROP_ID: RopId = RopId::LOGON;

    /// True when the request asks for a private mailbox (the response layout depends on it).
    pub fn is_private(&self) -> bool {
        self.logon_flags & logon_flags::PRIVATE != 0
    }
}

impl Decode for LogonRequest {
    fn decode(r: &mut ReadCursor<'_>) -> DecodeResult<Self> {
        (|| {
            expect_rop_id(r, Self::ROP_ID)?;
            let logon_id = r.u8("LogonId")?;
            let output_handle_index = r.u8("OutputHandleIndex")?;
            let logon_flags = r.u8("LogonFlags")?;
            let open_flags = r.u32("OpenFlags")?;
            let store_state = r.u32("StoreState")?;
            let size = usize::from(r.u16("EssdnSize")?);
            let essdn = if size == 0 {
                None
            } else {
                let mut s = r.sub(size, "Essdn")?;
                let dn = s.ascii_z("Essdn")?;
                s.finish("Essdn")?;
                Some(dn)
            };
            Ok(Self {
                logon_id,
                output_handle_index,
                logon_flags,
                open_flags,
                store_state,
                essdn,
            })
        })()
        .within("RopLogon request")
    }
}

impl Encode for LogonRequest {
    fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        const S: &str = "RopLogon request";
        w.u8(Self::ROP_ID.0);
        w.u8(self.logon_id);
        w.u8(self.output_handle_index);
        w.u8(self.logon_flags);
        w.u32(self.open_flags);
        w.u32(self.store_state);
        match &self.essdn {
            None => w.u16(0),
            Some(dn) => {
                w.u16(count_u16(dn.chars().count() + 1, S, "EssdnSize")?);
                write_latin1_z(w, dn, S, "Essdn")?;
            }
        }
        Ok(())
    }
}

/// LogonTime of a private-mailbox RopLogon response (MS-OXCROPS 2.2.3.1.2): 8 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LogonTime {
    /// Seconds.
    pub seconds: u8,
    /// Minutes.
    pub minutes: u8,
    /// Hour.
    pub hour: u8,
    /// DayOfWeek (0 = Sunday).
    pub day_of_week: u8,
    /// Day of the month.
    pub day: u8,
    /// Month (1-12).
    pub month: u8,
    /// Year.
    pub year: u16,
}

impl WireField for LogonTime {
    fn read(r: &mut ReadCursor<'_>, _field: &'static str) -> DecodeResult<Self> {
        Ok(Self {
            seconds: r.u8("Seconds")?,
            minutes: r.u8("Minutes")?,
            hour: r.u8("Hour")?,
            day_of_week: r.u8("DayOfWeek")?,
            day: r.u8("Day")?,
            month: r.u8("Month")?,
            year: r.u16("Year")?,
        })
    }

    fn write(&self, w: &mut WriteCursor) {
        for b in [
            self.seconds,
            self.minutes,
            self.hour,
            self.day_of_week,
            self.day,
            self.month,
        ] {
            w.u8(b);
        }
        w.u16(self.year);
    }
}

rop_response! {
    /// MS-OXCROPS 2.2.3.1.2 RopLogon success response for a private mailbox.
    ///
    /// FolderIds order (MS-OXCSTOR 2.2.1.1.3): Root, Deferred Action, Spooler Queue, IPM
    /// Subtree, Inbox, Outbox, Sent Items, Deleted Items, Common Views, Schedule, Finder,
    /// Views, Shortcuts.
    pub struct LogonPrivateResponse = RopId::LOGON {
        /// OutputHandleIndex, as in the request.
        pub output_handle_index: u8;
        /// LogonFlags, as in the request.
        pub logon_flags: u8 => "LogonFlags",
        /// FolderIds: the 13 special folders.
        pub folder_ids: [FolderId; 13] => "FolderIds",
        /// ResponseFlags (0x01 Reserved, 0x02 OwnerRight, 0x04 SendAsRight, 0x10 OOF).
        pub response_flags: u8 => "ResponseFlags",
        /// MailboxGuid.
        pub mailbox_guid: [u8; 16] => "MailboxGuid",
        /// ReplId: the mailbox's replica ID.
        pub replica_id: u16 => "ReplId",
        /// ReplGuid: the replica GUID.
        pub replica_guid: [u8; 16] => "ReplGuid",
        /// LogonTime.
        pub logon_time: LogonTime => "LogonTime",
        /// GwartTime (FILETIME).
        pub gwart_time: u64 => "GwartTime",
        /// StoreState.
        pub store_state: u32 => "StoreState",
    }
}

rop_response! {
    /// MS-OXCROPS 2.2.3.1.3 RopLogon success response for public folders.
    pub struct LogonPublicResponse = RopId::LOGON {
        /// OutputHandleIndex, as in the request.
        pub output_handle_index: u8;
        /// LogonFlags, as in the request.
        pub logon_flags: u8 => "LogonFlags",
        /// FolderIds: the 13 public-folder special folders.
        pub folder_ids: [FolderId; 13] => "FolderIds",
        /// ReplId.
        pub replica_id: u16 => "ReplId",
        /// ReplGuid.
        pub replica_guid: [u8; 16] => "ReplGuid",
        /// PerUserGuid.
        pub per_user_guid: [u8; 16] => "PerUserGuid",
    }
}

/// MS-OXCROPS 2.2.3.1.4 RopLogon redirect response (ReturnValue ecWrongServer 0x00000478).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LogonRedirectResponse {
    /// OutputHandleIndex, as in the request.
    pub output_handle_index: u8,
    /// LogonFlags, as in the request.
    pub logon_flags: u8,
    /// ServerName: the DN of the server to log on to instead.
    pub server_name: String,
}

impl LogonRedirectResponse {
    /// The ReturnValue this response carries.
    pub const RETURN_VALUE: ErrorCode = ErrorCode::WRONG_SERVER;

    pub(crate) fn decode_body(
        r: &mut ReadCursor<'_>,
        output_handle_index: u8,
    ) -> DecodeResult<Self> {
        let logon_flags = r.u8("LogonFlags")?;
        let at = r.offset();
        let size = usize::from(r.u8("ServerNameSize")?);
        if size == 0 {
            return Err(DecodeError::invalid(
                "ServerNameSize",
                at,
                "must count the NUL",
            ));
        }
        let mut s = r.sub(size, "ServerName")?;
        let server_name = s.ascii_z("ServerName")?;
        s.finish("ServerName")?;
        Ok(Self {
            output_handle_index,
            logon_flags,
            server_name,
        })
    }
}

impl Encode for LogonRedirectResponse {
    fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        const S: &str = "RopLogon redirect response";
        write_response_header(
            w,
            RopId::LOGON,
            self.output_handle_index,
            Self::RETURN_VALUE,
        );
        w.u8(self.logon_flags);
        let size = self.server_name.chars().count() + 1;
        let size = u8::try_from(size).map_err(|_| EncodeError::TooLarge {
            structure: S,
            field: "ServerNameSize",
            value: size,
            max: 255,
        })?;
        w.u8(size);
        write_latin1_z(w, &self.server_name, S, "ServerName")
    }
}

/// MS-OXCROPS 2.2.3.2.1 RopGetReceiveFolder request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetReceiveFolderRequest {
    /// LogonId.
    pub logon_id: u8,
    /// InputHandleIndex: the logon.
    pub input_handle_index: u8,
    /// MessageClass (8-bit, NUL-terminated; empty for the default).
    pub message_class: String,
}

impl GetReceiveFolderRequest {
    /// This ROP's RopId.
    pub const ROP_ID: RopId = RopId::GET_RECEIVE_FOLDER;
}

impl Decode for GetReceiveFolderRequest {
    fn decode(r: &mut ReadCursor<'_>) -> DecodeResult<Self> {
        (|| {
            expect_rop_id(r, Self::ROP_ID)?;
            Ok(Self {
                logon_id: r.u8("LogonId")?,
                input_handle_index: r.u8("InputHandleIndex")?,
                message_class: r.ascii_z("MessageClass")?,
            })
        })()
        .within("RopGetReceiveFolder request")
    }
}

impl Encode for GetReceiveFolderRequest {
    fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        w.u8(Self::ROP_ID.0);
        w.u8(self.logon_id);
        w.u8(self.input_handle_index);
        write_latin1_z(
            w,
            &self.message_class,
            "RopGetReceiveFolder request",
            "MessageClass",
        )
    }
}

/// MS-OXCROPS 2.2.3.2.2 RopGetReceiveFolder success response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetReceiveFolderResponse {
    /// InputHandleIndex, as in the request.
    pub input_handle_index: u8,
    /// FolderId of the receive folder.
    pub folder_id: FolderId,
    /// ExplicitMessageClass: the class the folder is registered for.
    pub explicit_message_class: String,
}

impl GetReceiveFolderResponse {
    /// This ROP's RopId.
    pub const ROP_ID: RopId = RopId::GET_RECEIVE_FOLDER;

    pub(crate) fn decode_body(
        r: &mut ReadCursor<'_>,
        input_handle_index: u8,
    ) -> DecodeResult<Self> {
        Ok(Self {
            input_handle_index,
            folder_id: FolderId::read(r, "FolderId")?,
            explicit_message_class: r.ascii_z("ExplicitMessageClass")?,
        })
    }
}

impl Encode for GetReceiveFolderResponse {
    fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        write_response_header(w, Self::ROP_ID, self.input_handle_index, ErrorCode::SUCCESS);
        self.folder_id.write(w);
        write_latin1_z(
            w,
            &self.explicit_message_class,
            "RopGetReceiveFolder response",
            "ExplicitMessageClass",
        )
    }
}
