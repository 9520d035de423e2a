//! The per-session Server objects (MS-OXCROPS 1.3.1, 3.2.5.1): what each kind holds (logons,
//! folders, tables, messages, attachments, streams) and the handle table keying them by the
//! u32 handles the client sees.
//!
//! Data only: how messages and attachments find their values is `msgobj`, how tables list
//! their rows `table_rops`, how table notifications are queued `notify`.

use std::collections::HashMap;

use oxmapi_wire::data::{ErrorCode, PropertyTag};

use super::restrict::Restriction;
use crate::limits::Limits;
use crate::store::messages::BlobOwner;

/// MS-OXCDATA 2.4.2 ecMaxObjsExceeded (TooManyOpenObjects, 0x000004DE): "a client has opened
/// too many objects of a specific type". The ROP that would create one more Server object
/// (or one more table) than the session may hold fails with it.
pub(super) const EC_MAX_OBJS_EXCEEDED: ErrorCode = ErrorCode(0x0000_04DE);

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
    pub(super) state: MsgState,
}

/// Edit state of a Message object (MS-OXCMSG 3.2.1): a Message object reads its committed
/// instance until the first change, which copies it into a working instance that
/// RopSaveChangesMessage commits and RopRelease discards.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct MsgState {
    /// The working instance holding uncommitted changes.
    pub(super) work: Option<i64>,
    /// The MID exists in `messages` (false for a created, never saved message).
    pub(super) committed: bool,
    /// Opened read-write (or created).
    pub(super) writable: bool,
    /// For an embedded message: the handle of its Attachment object.
    pub(super) embedded_in: Option<u32>,
}

/// An Attachment object (MS-OXCMSG 3.2.5.6-3.2.5.9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct AttachObj {
    pub(super) mailbox_id: i64,
    /// Handle of the parent Message object.
    pub(super) parent: u32,
    pub(super) attach_num: u32,
    pub(super) writable: bool,
    /// Created by RopCreateAttachment and not yet saved: released ⇒ discarded.
    pub(super) unsaved_new: bool,
}

/// A Stream object (MS-OXCPRPT 3.2.5.13-3.2.5.20).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct StreamObj {
    pub(super) mailbox_id: i64,
    /// Handle of the Message or Attachment object.
    pub(super) owner: u32,
    pub(super) tag: PropertyTag,
    pub(super) writable: bool,
    /// Seek pointer.
    pub(super) pos: u64,
}

/// Where the property bag of a message or attachment instance lives: (mailbox, kind,
/// object id) of the store's `props` and `blobs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Bag {
    pub(super) mailbox_id: i64,
    pub(super) kind: i64,
    pub(super) id: i64,
}

impl Bag {
    /// The owner of the bag's chunked values.
    pub(super) fn owner(self) -> BlobOwner {
        BlobOwner {
            mailbox_id: self.mailbox_id,
            kind: self.kind,
            object_id: self.id,
        }
    }
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
    /// `None` until first needed: a contents table is listed when a ROP first reads, seeks
    /// or orders it, not when it is opened, so unread tables cost no memory.
    pub(super) rows: Option<Vec<(i64, u32)>>,
    /// Cursor: index of the next row a forward read returns.
    pub(super) position: usize,
    /// The LogonId of the ROP that opened the table (the LogonId of its notifications).
    pub(super) logon_id: u8,
    /// Whether its changes are notified (MS-OXCNOTIF 3.1.4.3).
    pub(super) subscription: Subscription,
}

/// Whether a table is subscribed to TableModified events (MS-OXCNOTIF 3.1.4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Subscription {
    /// Never: the table was opened with NoNotifications (TableFlags 0x10, MS-OXCFOLD
    /// 2.2.1.13.1 / 2.2.1.14.1; MS-OXCNOTIF 3.1.4.3: the server "MUST NOT create a
    /// subscription to table notifications" for it), or it is an attachment table.
    Never,
    /// Not yet: the table has no table view.
    NoView,
    /// Subscribed: store changes numbered above this one are reported.
    Since(i64),
}

/// One Server object.
#[derive(Debug, Clone)]
pub(super) enum Object {
    Logon(Logon),
    Folder(Folder),
    Table(Box<Table>),
    Message(Message),
    Attachment(AttachObj),
    Stream(Box<StreamObj>),
}

/// The kind of a Server object: what the dispatcher routes a ROP by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ObjectKind {
    Logon,
    Folder,
    Table,
    Message,
    Attachment,
    Stream,
}

impl Object {
    /// The object's kind.
    pub(super) fn kind(&self) -> ObjectKind {
        match self {
            Self::Logon(_) => ObjectKind::Logon,
            Self::Folder(_) => ObjectKind::Folder,
            Self::Table(_) => ObjectKind::Table,
            Self::Message(_) => ObjectKind::Message,
            Self::Attachment(_) => ObjectKind::Attachment,
            Self::Stream(_) => ObjectKind::Stream,
        }
    }

    /// The store (`folders.mailbox_id`) the object belongs to.
    pub(super) fn mailbox_id(&self) -> i64 {
        match self {
            Self::Logon(l) => l.mailbox_id,
            Self::Folder(f) => f.mailbox_id,
            Self::Table(t) => t.mailbox_id,
            Self::Message(m) => m.mailbox_id,
            Self::Attachment(a) => a.mailbox_id,
            Self::Stream(s) => s.mailbox_id,
        }
    }
}

/// The handle table. Handles start at 1 and are never reused within a session, so a stale
/// handle can never silently name another object. It holds at most
/// [`Limits::max_objects_per_session`] objects, of which at most
/// [`Limits::max_tables_per_session`] tables.
#[derive(Debug)]
pub(super) struct HandleTable {
    next: u32,
    objects: HashMap<u32, Object>,
    /// How many of `objects` are tables.
    tables: usize,
    max_objects: usize,
    max_tables: usize,
}

/// MS-OXCROPS 2.2.1: 0xFFFFFFFF is the conventional "no object" handle value.
pub(super) const NULL_HANDLE: u32 = 0xFFFF_FFFF;

impl HandleTable {
    /// An empty table with the caps of `limits`.
    pub(super) fn new(limits: &Limits) -> Self {
        Self {
            next: 0,
            objects: HashMap::new(),
            tables: 0,
            max_objects: limits.max_objects_per_session,
            max_tables: limits.max_tables_per_session,
        }
    }

    /// Changes the caps (objects already held stay).
    pub(super) fn set_caps(&mut self, limits: &Limits) {
        self.max_objects = limits.max_objects_per_session;
        self.max_tables = limits.max_tables_per_session;
    }

    /// Whether one more object (a table when `table`) fits: ecMaxObjsExceeded when not.
    /// Object-creating ROPs ask before doing any work.
    pub(super) fn room_for(&self, table: bool) -> Result<(), ErrorCode> {
        if self.objects.len() >= self.max_objects || (table && self.tables >= self.max_tables) {
            return Err(EC_MAX_OBJS_EXCEEDED);
        }
        Ok(())
    }

    /// Stores an object and returns its new handle (never 0 or [`NULL_HANDLE`]), or
    /// ecMaxObjsExceeded when the session holds as many objects (or tables) as it may.
    pub(super) fn insert(&mut self, obj: Object) -> Result<u32, ErrorCode> {
        let table = matches!(obj, Object::Table(_));
        self.room_for(table)?;
        self.next = self.next.wrapping_add(1);
        while self.next == 0 || self.next == NULL_HANDLE || self.objects.contains_key(&self.next) {
            self.next = self.next.wrapping_add(1);
        }
        self.objects.insert(self.next, obj);
        self.tables += usize::from(table);
        Ok(self.next)
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
        let obj = self.objects.remove(&handle)?;
        if matches!(obj, Object::Table(_)) {
            self.tables -= 1;
        }
        Some(obj)
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
        self.tables = self
            .objects
            .values()
            .filter(|o| matches!(o, Object::Table(_)))
            .count();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_get_release() {
        let mut t = HandleTable::new(&Limits::default());
        let logon = Logon {
            logon_id: 0,
            mailbox_id: 1,
            private: true,
        };
        let h = t.insert(Object::Logon(logon.clone())).expect("room");
        assert!(matches!(t.get(h), Ok(Object::Logon(l)) if *l == logon));
        assert_eq!(t.get(h + 1).err(), Some(ErrorCode::NULL_OBJECT));
        assert_eq!(t.table_mut(h).err(), Some(ErrorCode::NO_SUPPORT));
        let h2 = t.insert(Object::Logon(logon)).expect("room");
        assert_ne!(h, h2);
        assert!(t.release(h).is_some());
        assert_eq!(t.get(h).err(), Some(ErrorCode::NULL_OBJECT));
        assert_eq!(t.len(), 1);
        t.release_logon(0);
        assert_eq!(t.len(), 0);
    }

    fn table() -> Object {
        Object::Table(Box::new(Table {
            mailbox_id: 1,
            fid: 2,
            kind: TableKind::Contents,
            columns: None,
            restriction: None,
            sort: Vec::new(),
            rows: None,
            position: 0,
            logon_id: 0,
            subscription: Subscription::Never,
        }))
    }

    /// The caps count live objects: a released object or table makes room again.
    #[test]
    fn caps_on_objects_and_tables() {
        let limits = Limits {
            max_objects_per_session: 4,
            max_tables_per_session: 2,
            ..Limits::default()
        };
        let mut t = HandleTable::new(&limits);
        let logon = Object::Logon(Logon {
            logon_id: 0,
            mailbox_id: 1,
            private: true,
        });
        t.insert(logon.clone()).expect("logon");
        let t1 = t.insert(table()).expect("table 1");
        t.insert(table()).expect("table 2");
        assert_eq!(t.insert(table()), Err(EC_MAX_OBJS_EXCEEDED));
        assert_eq!(t.room_for(true), Err(EC_MAX_OBJS_EXCEEDED));
        assert_eq!(t.room_for(false), Ok(()));
        t.insert(logon.clone()).expect("fourth object");
        assert_eq!(t.insert(logon.clone()), Err(EC_MAX_OBJS_EXCEEDED));
        t.release(t1);
        t.insert(table()).expect("room again after a release");
        assert_eq!(t.len(), 4);
    }
}
