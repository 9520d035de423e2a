//! Folders the CDO way: `Session.Inbox`, `Session.GetDefaultFolder`, `Session.GetFolder`,
//! `Folder.Folders`, plus a path lookup (`"Inbox/Projects"`).
//!
//! Folder properties come from RopOpenFolder + RopGetPropertiesSpecific (MS-OXCFOLD 2.2.1.1,
//! MS-OXCPRPT 2.2.2); subfolders from the hierarchy table (MS-OXCFOLD 2.2.1.13).

use std::sync::Arc;

use oxmapi_wire::data::{ErrorCode, FolderId, PropertyRow, PropertyTag, PropertyValue, tags};
use oxmapi_wire::rop::{
    GetHierarchyTableRequest, GetPropertiesSpecificRequest, OpenFolderRequest, RopResponse,
    table_flags,
};

use crate::entryid::{self, EntryId};
use crate::error::{Error, ErrorKind};
use crate::messages::Messages;
use crate::ropkit::{Batch, NEW_HANDLE, bad_data, not_found};
use crate::session::{DefaultFolder, Session};
use crate::table::{StatCounters, TableCursor, TableOpen, TableSpec};

/// CDO's `CdoDefaultFolderTypes` for `Session.GetDefaultFolder`, with CDO's numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum CdoDefaultFolder {
    /// CdoDefaultFolderCalendar (0).
    Calendar = 0,
    /// CdoDefaultFolderInbox (1).
    Inbox = 1,
    /// CdoDefaultFolderOutbox (2).
    Outbox = 2,
    /// CdoDefaultFolderSentItems (3).
    SentItems = 3,
    /// CdoDefaultFolderDeletedItems (4).
    DeletedItems = 4,
    /// CdoDefaultFolderContacts (5).
    Contacts = 5,
    /// CdoDefaultFolderJournal (6).
    Journal = 6,
    /// CdoDefaultFolderNotes (7).
    Notes = 7,
    /// CdoDefaultFolderTasks (8).
    Tasks = 8,
}

impl CdoDefaultFolder {
    /// The folder for a CDO constant (0..=8).
    pub fn from_cdo(value: i32) -> Option<Self> {
        Some(match value {
            0 => Self::Calendar,
            1 => Self::Inbox,
            2 => Self::Outbox,
            3 => Self::SentItems,
            4 => Self::DeletedItems,
            5 => Self::Contacts,
            6 => Self::Journal,
            7 => Self::Notes,
            8 => Self::Tasks,
            _ => return None,
        })
    }

    /// The entry-ID property naming this folder on the Inbox and the root folder
    /// (MS-OXOSFLD 2.2.3), for the folders the logon response does not carry.
    fn entry_id_tag(self) -> Option<PropertyTag> {
        Some(match self {
            Self::Calendar => tags::PidTagIpmAppointmentEntryId,
            Self::Contacts => tags::PidTagIpmContactEntryId,
            Self::Journal => tags::PidTagIpmJournalEntryId,
            Self::Notes => tags::PidTagIpmNoteEntryId,
            Self::Tasks => tags::PidTagIpmTaskEntryId,
            _ => return None,
        })
    }

    fn logon_folder(self) -> Option<DefaultFolder> {
        Some(match self {
            Self::Inbox => DefaultFolder::Inbox,
            Self::Outbox => DefaultFolder::Outbox,
            Self::SentItems => DefaultFolder::SentItems,
            Self::DeletedItems => DefaultFolder::DeletedItems,
            _ => return None,
        })
    }
}

impl From<DefaultFolder> for CdoDefaultFolder {
    fn from(d: DefaultFolder) -> Self {
        match d {
            DefaultFolder::Inbox => Self::Inbox,
            DefaultFolder::Outbox => Self::Outbox,
            DefaultFolder::SentItems => Self::SentItems,
            DefaultFolder::DeletedItems => Self::DeletedItems,
        }
    }
}

/// What `Session::get_folder` accepts: a folder ID of this session or an entry ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FolderRef {
    /// A folder ID (FID) of this mailbox.
    Id(FolderId),
    /// A folder entry ID (valid across sessions).
    EntryId(EntryId),
}

impl From<FolderId> for FolderRef {
    fn from(id: FolderId) -> Self {
        Self::Id(id)
    }
}

impl From<EntryId> for FolderRef {
    fn from(id: EntryId) -> Self {
        Self::EntryId(id)
    }
}

/// A folder (CDO `Folder`): a snapshot of its properties when it was read.
#[derive(Debug, Clone, PartialEq)]
pub struct Folder {
    id: FolderId,
    parent_id: Option<FolderId>,
    entry_id: Option<EntryId>,
    name: String,
    count: u32,
    unread: u32,
    has_subfolders: bool,
    container_class: Option<String>,
    depth: u32,
}

/// The columns read for a folder (object properties or hierarchy table rows).
const FOLDER_TAGS: [PropertyTag; 9] = [
    tags::PidTagFolderId,
    tags::PidTagDisplayName,
    tags::PidTagContentCount,
    tags::PidTagContentUnreadCount,
    tags::PidTagSubfolders,
    tags::PidTagContainerClass,
    tags::PidTagEntryId,
    tags::PidTagParentFolderId,
    tags::PidTagDepth,
];

impl Folder {
    /// The folder ID (FID) in this mailbox.
    pub fn id(&self) -> FolderId {
        self.id
    }

    /// The parent folder's ID, if the server said.
    pub fn parent_id(&self) -> Option<FolderId> {
        self.parent_id
    }

    /// The entry ID (CDO `Folder.ID`), usable in later sessions.
    pub fn entry_id(&self) -> Option<&EntryId> {
        self.entry_id.as_ref()
    }

    /// CDO `Folder.Name` (PidTagDisplayName).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Messages in the folder (PidTagContentCount).
    pub fn count(&self) -> u32 {
        self.count
    }

    /// Unread messages (PidTagContentUnreadCount).
    pub fn unread(&self) -> u32 {
        self.unread
    }

    /// True when the folder has subfolders (PidTagSubfolders).
    pub fn has_subfolders(&self) -> bool {
        self.has_subfolders
    }

    /// PidTagContainerClass (`IPF.Note`, `IPF.Appointment`, ...).
    pub fn container_class(&self) -> Option<&str> {
        self.container_class.as_deref()
    }

    /// Depth below the folder a hierarchy listing started from (1 = direct child; 0 when the
    /// folder was opened directly).
    pub fn depth(&self) -> u32 {
        self.depth
    }

    /// CDO `Folder.Messages`: a builder for the contents table.
    pub fn messages(&self) -> Messages {
        Messages::new(self.id, self.name.clone())
    }

    /// CDO `Folder.Folders`: the direct subfolders.
    pub async fn folders(&self, session: &mut Session) -> Result<Vec<Self>, Error> {
        session.subfolders(self.id, false, &self.name).await
    }

    /// Every folder below this one (hierarchy table with the Depth flag), in the server's
    /// order; [`Folder::depth`] says how deep each is.
    pub async fn all_folders(&self, session: &mut Session) -> Result<Vec<Self>, Error> {
        session.subfolders(self.id, true, &self.name).await
    }

    /// Builds a folder from a row read with [`FOLDER_TAGS`].
    fn from_row(row: &PropertyRow, fallback_id: Option<FolderId>) -> Option<Self> {
        let v = |i: usize| row.values.get(i).and_then(|c| c.value());
        let id = match v(0) {
            Some(PropertyValue::Int64(x)) => FolderId(x.cast_unsigned()),
            _ => fallback_id?,
        };
        let int = |i| v(i).and_then(PropertyValue::as_i64).unwrap_or(0);
        Some(Self {
            id,
            name: v(1)
                .and_then(|x| x.as_str())
                .map(|s| s.into_owned())
                .unwrap_or_default(),
            count: u32::try_from(int(2)).unwrap_or(0),
            unread: u32::try_from(int(3)).unwrap_or(0),
            has_subfolders: matches!(v(4), Some(PropertyValue::Boolean(true))),
            container_class: v(5).and_then(|x| x.as_str()).map(|s| s.into_owned()),
            entry_id: v(6)
                .and_then(|x| x.as_bytes())
                .and_then(|b| EntryId::parse(b).ok()),
            parent_id: match v(7) {
                Some(PropertyValue::Int64(x)) => Some(FolderId(x.cast_unsigned())),
                _ => None,
            },
            depth: u32::try_from(int(8)).unwrap_or(0),
        })
    }
}

impl Session {
    /// CDO `Session.Inbox`.
    pub async fn inbox(&mut self) -> Result<Folder, Error> {
        self.get_default_folder(CdoDefaultFolder::Inbox).await
    }

    /// CDO `Session.GetDefaultFolder`. Inbox, Outbox, Sent Items and Deleted Items come from
    /// the logon response; Calendar, Contacts, Journal, Notes and Tasks from their entry-ID
    /// properties on the Inbox or the root folder (MS-OXOSFLD 2.2.3), else on the store.
    pub async fn get_default_folder(
        &mut self,
        which: impl Into<CdoDefaultFolder>,
    ) -> Result<Folder, Error> {
        let which = which.into();
        let id = match which.logon_folder() {
            Some(d) => self.default_folder_id(d),
            None => self.special_entry_id(which).await?,
        };
        self.get_folder(id).await
    }

    /// CDO `Session.GetFolder`: opens a folder by ID or entry ID.
    pub async fn get_folder(&mut self, id: impl Into<FolderRef>) -> Result<Folder, Error> {
        let fid = match id.into() {
            FolderRef::Id(f) => f,
            FolderRef::EntryId(e) => self.folder_id_of(&e)?,
        };
        self.with_reconnect(move |s| Box::pin(async move { s.folder_once(fid).await }))
            .await
    }

    /// A folder by path below the IPM subtree ("Top of Information Store"): segments separated
    /// by `/`, matched case-insensitively (`"Inbox/Projects"`). A missing segment is a
    /// NotFound error naming it.
    ///
    /// A first segment naming a well-known folder the logon response identifies (`Inbox`,
    /// `Outbox`, `Sent Items`, `Deleted Items`: RopLogon's FolderIds, MS-OXCSTOR 2.2.1.1.3)
    /// is that folder, whatever its display name in the mailbox's language, found without
    /// reading the IPM subtree's hierarchy table.
    pub async fn folder_by_path(&mut self, path: &str) -> Result<Folder, Error> {
        const STEP: &str = "folder-by-path";
        let mut segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let mut walked = String::new();
        let well_known = segments.first().and_then(|seg| self.well_known_folder(seg));
        let mut current = match well_known {
            Some(fid) => {
                segments.remove(0);
                let folder = self.get_folder(fid).await?;
                walked.push_str(&folder.name);
                folder
            }
            None => {
                let top = self.special_folder_ids()[3];
                self.get_folder(top).await?
            }
        };
        for seg in segments {
            let children = current.folders(self).await?;
            let Some(next) = children
                .into_iter()
                .find(|f| f.name.to_lowercase() == seg.to_lowercase())
            else {
                let parent = if walked.is_empty() {
                    "the top of the mailbox".to_owned()
                } else {
                    format!("\"{walked}\"")
                };
                return Err(not_found(
                    STEP,
                    format!("folder \"{path}\": there is no folder \"{seg}\" in {parent}"),
                ));
            };
            if !walked.is_empty() {
                walked.push('/');
            }
            walked.push_str(&next.name);
            current = next;
        }
        Ok(current)
    }

    /// The logon response's folder ID for a well-known folder directly below the IPM subtree,
    /// by its English name, case-insensitively (RopLogon FolderIds, MS-OXCSTOR 2.2.1.1.3).
    fn well_known_folder(&self, name: &str) -> Option<FolderId> {
        (4..=7)
            .find(|&i| crate::SPECIAL_FOLDER_NAMES[i].eq_ignore_ascii_case(name))
            .map(|i| self.special_folder_ids()[i])
    }

    /// The folder ID an entry ID names, in this mailbox.
    pub fn folder_id_of(&self, id: &EntryId) -> Result<FolderId, Error> {
        self.check_store(id)?;
        match id {
            EntryId::Folder(f) => Ok(entryid::folder_id(self.replid(), &f.folder)),
            EntryId::Message(_) => Err(Error::new(
                ErrorKind::NotFound,
                ErrorCode::INVALID_ENTRYID,
                format!("entry ID {id} names a message, not a folder"),
            )
            .at_step("get-folder")),
        }
    }

    /// The REPLID this session uses for its own mailbox's replica GUID.
    pub(crate) fn replid(&self) -> u16 {
        self.special_folder_ids()[0].replid()
    }

    /// Entry IDs of other stores cannot be opened through this logon.
    pub(crate) fn check_store(&self, id: &EntryId) -> Result<(), Error> {
        if id.provider_uid() == self.mailbox_guid() {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::NotFound,
                ErrorCode::UNKNOWN_ENTRYID,
                format!("entry ID {id} belongs to another message store"),
            )
            .at_step("entry-id"))
        }
    }

    async fn folder_once(&mut self, fid: FolderId) -> Result<Folder, Error> {
        const STEP: &str = "get-folder";
        let mut b = Batch::new(vec![self.logon_handle(), NEW_HANDLE]);
        b.push(OpenFolderRequest {
            logon_id: 0,
            input_handle_index: 0,
            output_handle_index: 1,
            folder_id: fid,
            open_mode_flags: 0,
        })
        .push(GetPropertiesSpecificRequest {
            logon_id: 0,
            input_handle_index: 1,
            property_size_limit: 0,
            want_unicode: 1,
            property_tags: FOLDER_TAGS.to_vec(),
        })
        .release(1);
        let mut r = b.send(self, STEP).await?;
        let what = || format!("folder {fid}");
        r.next(&what, |x| match x {
            RopResponse::OpenFolder(_) => Ok(()),
            other => Err(other),
        })?;
        let row = r.next(&what, |x| match x {
            RopResponse::GetPropertiesSpecific(g) => Ok(g.row),
            other => Err(other),
        })?;
        Folder::from_row(&row, Some(fid)).ok_or_else(|| {
            bad_data(
                STEP,
                format!("folder {fid}: no folder ID in its properties"),
            )
        })
    }

    /// Lists the hierarchy table of `fid` (all rows, in large batches).
    pub(crate) async fn subfolders(
        &mut self,
        fid: FolderId,
        depth: bool,
        name: &str,
    ) -> Result<Vec<Folder>, Error> {
        let name = name.to_owned();
        self.with_reconnect(move |s| {
            let name = name.clone();
            Box::pin(async move { s.subfolders_once(fid, depth, &name).await })
        })
        .await
    }

    async fn subfolders_once(
        &mut self,
        fid: FolderId,
        depth: bool,
        name: &str,
    ) -> Result<Vec<Folder>, Error> {
        const STEP: &str = "folders";
        let mut b = Batch::new(vec![self.logon_handle(), NEW_HANDLE, NEW_HANDLE]);
        b.push(OpenFolderRequest {
            logon_id: 0,
            input_handle_index: 0,
            output_handle_index: 1,
            folder_id: fid,
            open_mode_flags: 0,
        })
        .push(GetHierarchyTableRequest {
            logon_id: 0,
            input_handle_index: 1,
            output_handle_index: 2,
            table_flags: table_flags::USE_UNICODE | if depth { table_flags::DEPTH } else { 0 },
        });
        let spec = TableSpec {
            columns: FOLDER_TAGS.to_vec(),
            ..TableSpec::default()
        };
        let (mut cursor, mut rows) = TableCursor::open(
            self,
            TableOpen::on_slot_2(
                STEP,
                format!("subfolders of \"{name}\" ({fid})"),
                b,
                spec,
                Arc::new(StatCounters::default()),
            ),
        )
        .await?;
        let mut out = Vec::new();
        loop {
            out.extend(rows.iter().filter_map(|r| Folder::from_row(r, None)));
            match cursor.next_rows(self, STEP).await {
                Ok(Some(more)) => rows = more,
                Ok(None) => break,
                Err(e) => {
                    cursor.close(self).await;
                    return Err(e);
                }
            }
        }
        cursor.close(self).await;
        Ok(out)
    }

    /// Reads the entry-ID property of a default folder from the Inbox, the root folder and
    /// the store, in that order, in one round trip.
    async fn special_entry_id(&mut self, which: CdoDefaultFolder) -> Result<FolderId, Error> {
        const STEP: &str = "get-default-folder";
        let Some(tag) = which.entry_id_tag() else {
            return Err(not_found(STEP, format!("default folder {which:?}")));
        };
        let found = self
            .with_reconnect(move |s| {
                Box::pin(async move {
                    let ids = *s.special_folder_ids();
                    let mut b = Batch::new(vec![s.logon_handle(), NEW_HANDLE, NEW_HANDLE]);
                    for (slot, fid) in [(1u8, ids[4]), (2u8, ids[0])] {
                        b.push(OpenFolderRequest {
                            logon_id: 0,
                            input_handle_index: 0,
                            output_handle_index: slot,
                            folder_id: fid,
                            open_mode_flags: 0,
                        });
                    }
                    for slot in [1u8, 2, 0] {
                        b.push(GetPropertiesSpecificRequest {
                            logon_id: 0,
                            input_handle_index: slot,
                            property_size_limit: 0,
                            want_unicode: 1,
                            property_tags: vec![tag],
                        });
                    }
                    b.release(1).release(2);
                    let mut r = b.send(s, STEP).await?;
                    let what = || format!("default folder {which:?} ({tag})");
                    for _ in 0..2 {
                        r.next(&what, |x| match x {
                            RopResponse::OpenFolder(_) => Ok(()),
                            other => Err(other),
                        })?;
                    }
                    let mut found = None;
                    for _ in 0..3 {
                        let row = r.next(&what, |x| match x {
                            RopResponse::GetPropertiesSpecific(g) => Ok(Some(g.row)),
                            RopResponse::Error(_) => Ok(None),
                            other => Err(other),
                        })?;
                        let bytes = row
                            .as_ref()
                            .and_then(|row| row.values.first())
                            .and_then(|c| c.value())
                            .and_then(|v| v.as_bytes())
                            .map(<[u8]>::to_vec);
                        if found.is_none() {
                            found = bytes;
                        }
                    }
                    Ok(found)
                })
            })
            .await?;
        let bytes = found.ok_or_else(|| {
            not_found(
                STEP,
                format!("default folder {which:?}: the mailbox has no {tag} property"),
            )
        })?;
        let id = EntryId::parse(&bytes).map_err(|e| Error::protocol(STEP, e))?;
        self.folder_id_of(&id)
    }
}
