//! The per-session Server object handle table (MS-OXCROPS 1.3.1, 3.2.5.1): the objects ROPs
//! create (logons, folders, tables, messages) keyed by the u32 handles the client sees.

use std::collections::HashMap;

use oxmapi_wire::data::{ErrorCode, PropertyTag};

use super::restrict::Restriction;

/// Which store a logon object refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Logon {
    /// The LogonId the client chose (MS-OXCROPS 2.2.3.1.1).
    pub(super) logon_id: u8,
    /// `folders.mailbox_id`: the user's id, or 0 for the public folder store.
    pub(super) mailbox_id: i64,
    /// Private mailbox (true) or public folders (false).
    pub(super) private: bool,
}

/// A folder opened with RopOpenFolder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Folder {
    pub(super) mailbox_id: i64,
    pub(super) private: bool,
    pub(super) fid: i64,
}

/// A message opened with RopOpenMessage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Message {
    pub(super) mailbox_id: i64,
    pub(super) private: bool,
    pub(super) fid: i64,
    pub(super) mid: i64,
    /// Edit state (working copy, access, embedding), see `msgobj`.
    pub(super) state: super::msgobj::MsgState,
}

/// What a table lists (MS-OXCFOLD 2.2.1.13, 2.2.1.14).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TableKind {
    /// Subfolders; `depth` = the Depth table flag (all descendants).
    Hierarchy { depth: bool },
    /// Messages of the folder.
    Contents,
    /// Attachments of a message instance (`Table::fid` holds the instance id; rows are
    /// attachment ids).
    Attachments,
}

/// A sort key of RopSortTable (MS-OXCDATA 2.13.1 SortOrder).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct SortKey {
    pub(super) tag: PropertyTag,
    /// 0x01 descending, 0x00 ascending.
    pub(super) descending: bool,
}

/// A hierarchy or contents table (MS-OXCTABL 3.2.1): its row ids and cursor.
#[derive(Debug, Clone)]
pub(super) struct Table {
    pub(super) mailbox_id: i64,
    pub(super) fid: i64,
    pub(super) kind: TableKind,
    /// Set by RopSetColumns; querying before that is ecNullObject-free but an error.
    pub(super) columns: Option<Vec<PropertyTag>>,
    pub(super) restriction: Option<Restriction>,
    pub(super) sort: Vec<SortKey>,
    /// Row object ids (FIDs or MIDs) with depths, in table order; rebuilt on sort/restrict.
    pub(super) rows: Vec<(i64, u32)>,
    /// Cursor: index of the next row a forward read returns.
    pub(super) position: usize,
    /// The LogonId of the ROP that opened the table (the LogonId of its notifications).
    pub(super) logon_id: u8,
    /// Whether its changes are notified (MS-OXCNOTIF 3.1.4.3).
    pub(super) subscription: super::notify::Subscription,
}

/// One Server object.
#[derive(Debug, Clone)]
pub(super) enum Object {
    Logon(Logon),
    Folder(Folder),
    Table(Box<Table>),
    Message(Message),
    Attachment(super::msgobj::AttachObj),
    Stream(Box<super::msgobj::StreamObj>),
}

/// The handle table. Handles start at 1 and are never reused within a session, so a stale
/// handle can never silently name another object.
#[derive(Debug, Default)]
pub(super) struct HandleTable {
    next: u32,
    objects: HashMap<u32, Object>,
}

/// MS-OXCROPS 2.2.1: 0xFFFFFFFF is the conventional "no object" handle value.
pub(super) const NULL_HANDLE: u32 = 0xFFFF_FFFF;

impl HandleTable {
    /// Stores an object and returns its new handle (never 0 or [`NULL_HANDLE`]).
    pub(super) fn insert(&mut self, obj: Object) -> u32 {
        self.next = self.next.wrapping_add(1);
        while self.next == 0 || self.next == NULL_HANDLE || self.objects.contains_key(&self.next) {
            self.next = self.next.wrapping_add(1);
        }
        self.objects.insert(self.next, obj);
        self.next
    }

    /// The object behind a handle, or ecNullObject (MS-OXCROPS 3.2.5.1).
    pub(super) fn get(&self, handle: u32) -> Result<&Object, ErrorCode> {
        self.objects.get(&handle).ok_or(ErrorCode::NULL_OBJECT)
    }

    /// Mutable access to any object.
    pub(super) fn get_mut(&mut self, handle: u32) -> Result<&mut Object, ErrorCode> {
        self.objects.get_mut(&handle).ok_or(ErrorCode::NULL_OBJECT)
    }

    /// Mutable access to a table object; other object kinds are ecNotSupported.
    pub(super) fn table_mut(&mut self, handle: u32) -> Result<&mut Table, ErrorCode> {
        match self.objects.get_mut(&handle) {
            Some(Object::Table(t)) => Ok(t),
            Some(_) => Err(ErrorCode::NO_SUPPORT),
            None => Err(ErrorCode::NULL_OBJECT),
        }
    }

    /// RopRelease: drops the object (unknown handles are ignored: RopRelease has no response).
    pub(super) fn release(&mut self, handle: u32) -> Option<Object> {
        self.objects.remove(&handle)
    }

    /// Every table object, with its handle.
    pub(super) fn tables(&self) -> impl Iterator<Item = (u32, &Table)> {
        self.objects.iter().filter_map(|(h, o)| match o {
            Object::Table(t) => Some((*h, t.as_ref())),
            _ => None,
        })
    }

    /// Number of live objects.
    pub(super) fn len(&self) -> usize {
        self.objects.len()
    }

    /// Releases every object of a logon id (a new RopLogon reusing the id replaces it,
    /// MS-OXCROPS 3.1.4.2).
    pub(super) fn release_logon(&mut self, logon_id: u8) {
        self.objects
            .retain(|_, o| !matches!(o, Object::Logon(l) if l.logon_id == logon_id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_get_release() {
        let mut t = HandleTable::default();
        let logon = Logon {
            logon_id: 0,
            mailbox_id: 1,
            private: true,
        };
        let h = t.insert(Object::Logon(logon.clone()));
        assert!(matches!(t.get(h), Ok(Object::Logon(l)) if *l == logon));
        assert_eq!(t.get(h + 1).err(), Some(ErrorCode::NULL_OBJECT));
        assert_eq!(t.table_mut(h).err(), Some(ErrorCode::NO_SUPPORT));
        let h2 = t.insert(Object::Logon(logon));
        assert_ne!(h, h2);
        assert!(t.release(h).is_some());
        assert_eq!(t.get(h).err(), Some(ErrorCode::NULL_OBJECT));
        assert_eq!(t.len(), 1);
        t.release_logon(0);
        assert_eq!(t.len(), 0);
    }
}
