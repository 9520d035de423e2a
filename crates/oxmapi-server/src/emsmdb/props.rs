//! Property values of store, folder and message objects: the stored `props` bag plus the
//! values the server computes (MS-OXCSTOR 2.2.2, MS-OXCFOLD 2.2.2.2.1, MS-OXCMSG 2.2.1),
//! the projection of those values onto requested tags (MS-OXCPRPT 3.2.5.1), and the
//! RopGetPropertiesSpecific / RopGetPropertiesAll responses of objects whose values are such
//! a list (logons and folders).

use oxmapi_wire::data::{
    ErrorCode, PropertyRow, PropertyTag, PropertyType, PropertyValue, RowValue,
    TaggedPropertyValue, tags,
};
use oxmapi_wire::rop::{
    GetPropertiesAllRequest, GetPropertiesAllResponse, GetPropertiesSpecificRequest,
    GetPropertiesSpecificResponse, RopId,
};
use rusqlite::Connection;

use super::objects::Bag;
use super::step::{Step, fail, reply};
use super::storeops::{self, FolderRow, KIND_FOLDER, KIND_MESSAGE};
use crate::store::deliver::MSGFLAG_HASATTACH;
use crate::store::messages as m;
use crate::store::summary::{self, StoredRow};
use crate::store::{SPECIAL_INBOX, SPECIAL_ROOT};

/// Identity of a logged-on store, fixed at RopLogon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct StoreInfo {
    /// `folders.mailbox_id` (0 = public folders).
    pub(super) mailbox_id: i64,
    pub(super) private: bool,
    /// MailboxGuid of the RopLogon response (private only).
    pub(super) mailbox_guid: [u8; 16],
    /// ReplGuid of the RopLogon response: DatabaseGuid in EntryIDs and LongTermIDs.
    pub(super) replica_guid: [u8; 16],
    pub(super) owner_name: String,
    pub(super) owner_dn: String,
    /// `(special index, fid)` pairs (see the agreed schema's `folders.special`).
    pub(super) special: Vec<(i64, i64)>,
}

/// A property list: (tag, value), at most one entry per property ID.
pub(super) type PropList = Vec<(PropertyTag, PropertyValue)>;

/// MS-OXOSFLD 2.2.3 binary identification properties and the `folders.special` index of
/// the folder each one identifies (Calendar, Contacts, Journal, Notes, Tasks, Drafts).
const IPM_DEFAULT_FOLDERS: [(PropertyTag, i64); 6] = [
    (tags::PidTagIpmAppointmentEntryId, 20),
    (tags::PidTagIpmContactEntryId, 21),
    (tags::PidTagIpmJournalEntryId, 22),
    (tags::PidTagIpmNoteEntryId, 23),
    (tags::PidTagIpmTaskEntryId, 24),
    (tags::PidTagIpmDraftsEntryId, 25),
];

/// MS-OXCDATA 2.2.4.1: ProviderUID of public folder EntryIDs.
const PUBLIC_PROVIDER_UID: [u8; 16] = [
    0x1A, 0x44, 0x73, 0x90, 0xAA, 0x66, 0x11, 0xCD, 0x9B, 0xC8, 0x00, 0xAA, 0x00, 0x2F, 0xC4, 0x5A,
];
/// MS-OXCDATA 2.2.5.2: ProviderUID of Address Book EntryIDs.
const AB_PROVIDER_UID: [u8; 16] = [
    0xDC, 0xA7, 0x40, 0xC8, 0xC0, 0x42, 0x10, 0x1A, 0xB4, 0xB9, 0x08, 0x00, 0x2B, 0x2F, 0xE1, 0x82,
];
/// PidTagStoreSupportMask (MS-OXPROPS 2.1027): ENTRYID_UNIQUE | MODIFY_OK | CREATE_OK |
/// ATTACH_OK | OLE_OK | NOTIFY_OK | MV_PROPS_OK | CATEGORIZE_OK | RTF_OK | RESTRICTION_OK |
/// SORT_OK | HTML_OK | UNICODE_OK.
const STORE_SUPPORT_MASK: i32 = 0x0000_0001
    | 0x0000_0010
    | 0x0000_0020
    | 0x0000_0040
    | 0x0000_0080
    | 0x0000_0100
    | 0x0000_0200
    | 0x0000_0400
    | 0x0000_0800
    | 0x0000_1000
    | 0x0000_2000
    | 0x0001_0000
    | 0x0004_0000;

impl StoreInfo {
    /// The FID of a special folder (by its `folders.special` index).
    pub(super) fn special_fid(&self, index: i64) -> Option<i64> {
        self.special
            .iter()
            .find(|(s, _)| *s == index)
            .map(|(_, f)| *f)
    }

    /// MS-OXCDATA 2.2.4.1 Folder EntryID (46 bytes).
    pub(super) fn folder_entry_id(&self, fid: i64) -> Vec<u8> {
        let mut b = Vec::with_capacity(46);
        b.extend_from_slice(&[0; 4]);
        b.extend_from_slice(&self.provider_uid());
        b.extend_from_slice(&(if self.private { 0x0001u16 } else { 0x0003 }).to_le_bytes());
        self.push_ltid(&mut b, fid);
        b
    }

    /// MS-OXCDATA 2.2.4.2 Message EntryID (70 bytes).
    pub(super) fn message_entry_id(&self, fid: i64, mid: i64) -> Vec<u8> {
        let mut b = Vec::with_capacity(70);
        b.extend_from_slice(&[0; 4]);
        b.extend_from_slice(&self.provider_uid());
        b.extend_from_slice(&(if self.private { 0x0007u16 } else { 0x0009 }).to_le_bytes());
        self.push_ltid(&mut b, fid);
        self.push_ltid(&mut b, mid);
        b
    }

    fn provider_uid(&self) -> [u8; 16] {
        if self.private {
            self.mailbox_guid
        } else {
            PUBLIC_PROVIDER_UID
        }
    }

    /// DatabaseGuid (16) + GlobalCounter (6, the ID's bytes 2..8) + Pad (2).
    fn push_ltid(&self, b: &mut Vec<u8>, id: i64) {
        b.extend_from_slice(&self.replica_guid);
        b.extend_from_slice(&id.to_le_bytes()[2..8]);
        b.extend_from_slice(&[0, 0]);
    }

    /// The store object's properties (MS-OXCSTOR 2.2.2.1).
    pub(super) fn store_props(&self) -> PropList {
        let ab = ab_entry_id(&self.owner_dn);
        let display = if self.private {
            format!("Mailbox - {}", self.owner_name)
        } else {
            "Public Folders".to_owned()
        };
        let mut v: PropList = vec![
            (tags::PidTagDisplayName, PropertyValue::Unicode(display)),
            (
                tags::PidTagStoreSupportMask,
                PropertyValue::Int32(STORE_SUPPORT_MASK),
            ),
            (tags::PidTagStoreState, PropertyValue::Int32(0)),
            (tags::PidTagObjectType, PropertyValue::Int32(1)),
        ];
        if self.private {
            v.push((
                tags::PidTagMailboxOwnerName,
                PropertyValue::Unicode(self.owner_name.clone()),
            ));
            v.push((
                tags::PidTagMailboxOwnerEntryId,
                PropertyValue::Binary(ab.clone()),
            ));
            v.push((tags::PidTagUserEntryId, PropertyValue::Binary(ab)));
            let ipm = [
                (tags::PidTagIpmSubtreeEntryId, 4),
                (tags::PidTagIpmOutboxEntryId, 6),
                (tags::PidTagIpmSentMailEntryId, 7),
                (tags::PidTagIpmWastebasketEntryId, 8),
            ];
            for (tag, special) in ipm.into_iter().chain(IPM_DEFAULT_FOLDERS) {
                if let Some(fid) = self.special_fid(special) {
                    v.push((tag, PropertyValue::Binary(self.folder_entry_id(fid))));
                }
            }
        }
        v
    }

    /// MS-OXOSFLD 2.2.3: the binary identification properties of the Inbox and of the
    /// mailbox Root folder (private stores only); empty for every other folder.
    fn special_folder_entry_ids(&self, fid: i64) -> PropList {
        let on_inbox_or_root = [SPECIAL_ROOT, SPECIAL_INBOX]
            .into_iter()
            .any(|s| self.special_fid(s) == Some(fid));
        if !self.private || !on_inbox_or_root {
            return Vec::new();
        }
        IPM_DEFAULT_FOLDERS
            .into_iter()
            .filter_map(|(tag, special)| {
                let target = self.special_fid(special)?;
                Some((tag, PropertyValue::Binary(self.folder_entry_id(target))))
            })
            .collect()
    }

    /// A folder's properties: stored ones, overridden by the computed ones.
    pub(super) fn folder_props(
        &self,
        conn: &Connection,
        f: &FolderRow,
        depth: Option<u32>,
    ) -> rusqlite::Result<PropList> {
        let (count, unread) = summary::counts(conn, self.mailbox_id, f.fid)?;
        let subfolders = storeops::has_subfolders(conn, self.mailbox_id, f.fid)?;
        let mut c: PropList = vec![
            (tags::PidTagFolderId, PropertyValue::Int64(f.fid)),
            (
                tags::PidTagDisplayName,
                PropertyValue::Unicode(f.display_name.clone()),
            ),
            (tags::PidTagContentCount, PropertyValue::Int32(clamp(count))),
            (
                tags::PidTagContentUnreadCount,
                PropertyValue::Int32(clamp(unread)),
            ),
            (tags::PidTagSubfolders, PropertyValue::Boolean(subfolders)),
            // PidTagFolderChildCount (MS-OXPROPS 2.696): number of direct subfolders.
            (
                PropertyTag(0x6638_0003),
                PropertyValue::Int32(clamp(conn.query_row(
                    "SELECT COUNT(*) FROM folders WHERE mailbox_id = ?1 AND parent_fid = ?2",
                    rusqlite::params![self.mailbox_id, f.fid],
                    |r| r.get::<_, i64>(0),
                )?)),
            ),
            (
                tags::PidTagEntryId,
                PropertyValue::Binary(self.folder_entry_id(f.fid)),
            ),
            (
                tags::PidTagInstanceKey,
                PropertyValue::Binary(f.fid.to_le_bytes().to_vec()),
            ),
            (tags::PidTagObjectType, PropertyValue::Int32(3)),
            // MS-OXCFOLD 2.2.2.2.1.3 PidTagFolderType: FOLDER_ROOT 0 for the root, else GENERIC 1.
            (
                tags::PidTagFolderType,
                PropertyValue::Int32(i32::from(f.parent_fid.is_some())),
            ),
        ];
        if let Some(class) = &f.container_class {
            c.push((
                tags::PidTagContainerClass,
                PropertyValue::Unicode(class.clone()),
            ));
        }
        if let Some(parent) = f.parent_fid {
            c.push((tags::PidTagParentFolderId, PropertyValue::Int64(parent)));
            c.push((
                tags::PidTagParentEntryId,
                PropertyValue::Binary(self.folder_entry_id(parent)),
            ));
        }
        if let Some(d) = depth {
            c.push((tags::PidTagDepth, PropertyValue::Int32(clamp(i64::from(d)))));
        }
        c.extend(self.special_folder_entry_ids(f.fid));
        let stored = storeops::stored_props(conn, self.mailbox_id, KIND_FOLDER, f.fid)?;
        Ok(merge(stored, c))
    }

    /// A message's properties: stored ones, overridden by the computed ones.
    pub(super) fn message_props(
        &self,
        conn: &Connection,
        fid: i64,
        mid: i64,
    ) -> rusqlite::Result<PropList> {
        let c: PropList = vec![
            (tags::PidTagMid, PropertyValue::Int64(mid)),
            (tags::PidTagFolderId, PropertyValue::Int64(fid)),
            (
                tags::PidTagEntryId,
                PropertyValue::Binary(self.message_entry_id(fid, mid)),
            ),
            (
                tags::PidTagParentEntryId,
                PropertyValue::Binary(self.folder_entry_id(fid)),
            ),
            (
                tags::PidTagInstanceKey,
                PropertyValue::Binary(mid.to_le_bytes().to_vec()),
            ),
            (tags::PidTagObjectType, PropertyValue::Int32(5)),
        ];
        let mut c = c;
        // Size, attachment flag, read state (MS-OXCMSG 2.2.1).
        let bag = Bag {
            mailbox_id: self.mailbox_id,
            kind: KIND_MESSAGE,
            id: mid,
        };
        c.extend(instance_computed(conn, bag)?);
        let stored = storeops::stored_props(conn, self.mailbox_id, KIND_MESSAGE, mid)?;
        Ok(merge(stored, c))
    }
}

/// The properties a contents-table row computes rather than stores (MS-OXCMSG 2.2.1; by ID
/// they replace stored values).
const ROW_COMPUTED: [PropertyTag; 11] = [
    tags::PidTagMid,
    tags::PidTagFolderId,
    tags::PidTagEntryId,
    tags::PidTagParentEntryId,
    tags::PidTagInstanceKey,
    tags::PidTagObjectType,
    tags::PidTagMessageSize,
    tags::PidTagMessageSizeExtended,
    tags::PidTagHasAttachments,
    tags::PidTagMessageFlags,
    tags::PidTagRead,
];

/// Whether a contents-table row computes property `id` (from its summary or its IDs) rather
/// than reading a stored value.
pub(super) fn row_computes(id: u16) -> bool {
    ROW_COMPUTED.iter().any(|t| t.id() == id)
}

impl StoreInfo {
    /// A contents-table row of a committed message from its stored summary and inline values
    /// (MS-OXCMSG 2.2.1): the same values [`StoreInfo::message_props`] gives, without a query.
    pub(super) fn message_row(&self, fid: i64, row: StoredRow) -> PropList {
        let c: PropList = ROW_COMPUTED
            .iter()
            .filter_map(|t| Some((*t, self.row_computed(fid, &row, *t)?)))
            .collect();
        merge(row.values, c)
    }

    /// The values of `columns` in a contents-table row (what [`Self::message_row`] gives
    /// for them, without computing the others).
    pub(super) fn row_values(
        &self,
        fid: i64,
        row: &StoredRow,
        columns: &[PropertyTag],
    ) -> PropList {
        let mut out = PropList::with_capacity(columns.len());
        for &tag in columns {
            if let Some(v) = self.row_computed(fid, row, tag) {
                out.push((tag.with_type(v.ty()), v));
            } else if let Some((t, v)) = row.values.iter().find(|(t, _)| t.id() == tag.id()) {
                out.push((*t, v.clone()));
            }
        }
        out
    }

    /// One value of a contents-table row ([`Self::message_row`] without building the row).
    pub(super) fn row_value(
        &self,
        fid: i64,
        row: &StoredRow,
        tag: PropertyTag,
    ) -> Option<PropertyValue> {
        self.row_computed(fid, row, tag)
            .or_else(|| lookup(&row.values, tag))
    }

    /// The computed value of property `tag` of a row, if its ID is one of [`ROW_COMPUTED`]
    /// (PidTagMessageSize and PidTagMessageSizeExtended share an ID: the type decides).
    fn row_computed(&self, fid: i64, row: &StoredRow, tag: PropertyTag) -> Option<PropertyValue> {
        let (mid, summary) = (row.mid, row.summary);
        if tag == tags::PidTagMessageSizeExtended {
            return Some(PropertyValue::Int64(summary.size));
        }
        let v = match tag.id() {
            i if i == tags::PidTagMid.id() => PropertyValue::Int64(mid),
            i if i == tags::PidTagFolderId.id() => PropertyValue::Int64(fid),
            i if i == tags::PidTagEntryId.id() => {
                PropertyValue::Binary(self.message_entry_id(fid, mid))
            }
            i if i == tags::PidTagParentEntryId.id() => {
                PropertyValue::Binary(self.folder_entry_id(fid))
            }
            i if i == tags::PidTagInstanceKey.id() => {
                PropertyValue::Binary(mid.to_le_bytes().to_vec())
            }
            i if i == tags::PidTagObjectType.id() => PropertyValue::Int32(5),
            i if i == tags::PidTagMessageSize.id() => {
                PropertyValue::Int32(i32::try_from(summary.size).unwrap_or(i32::MAX))
            }
            i if i == tags::PidTagHasAttachments.id() => PropertyValue::Boolean(summary.has_attach),
            i if i == tags::PidTagMessageFlags.id() => PropertyValue::Int32(summary.flags),
            i if i == tags::PidTagRead.id() => PropertyValue::Boolean(summary.flags & 1 != 0),
            _ => return None,
        };
        Some(v)
    }
}

/// Computed values of a message instance alone (MS-OXCMSG 2.2.1: size, attachment flag,
/// read state, object type), for Message objects and contents table rows.
pub(super) fn instance_computed(c: &Connection, bag: Bag) -> rusqlite::Result<PropList> {
    let size = m::message_size(c, bag.mailbox_id, bag.id)?;
    let has_attach = !m::attachments(c, bag.mailbox_id, bag.id)?.is_empty();
    let stored_flags = m::inline_prop(
        c,
        bag.mailbox_id,
        KIND_MESSAGE,
        bag.id,
        tags::PidTagMessageFlags.id(),
    )?
    .and_then(|(_, v)| v.as_i64())
    .and_then(|v| i32::try_from(v).ok())
    .unwrap_or(0);
    let flags = if has_attach {
        stored_flags | MSGFLAG_HASATTACH
    } else {
        stored_flags & !MSGFLAG_HASATTACH
    };
    Ok(vec![
        (
            tags::PidTagMessageSize,
            PropertyValue::Int32(i32::try_from(size).unwrap_or(i32::MAX)),
        ),
        (tags::PidTagMessageSizeExtended, PropertyValue::Int64(size)),
        (
            tags::PidTagHasAttachments,
            PropertyValue::Boolean(has_attach),
        ),
        (tags::PidTagMessageFlags, PropertyValue::Int32(flags)),
        (tags::PidTagRead, PropertyValue::Boolean(flags & 1 != 0)),
        (tags::PidTagObjectType, PropertyValue::Int32(5)),
    ])
}

/// MS-OXCDATA 2.2.5.2 Address Book EntryID of a mail user (Version 1, Type 0 DT_MAILUSER).
pub(super) fn ab_entry_id(dn: &str) -> Vec<u8> {
    let mut b = Vec::with_capacity(28 + dn.len() + 1);
    b.extend_from_slice(&[0; 4]);
    b.extend_from_slice(&AB_PROVIDER_UID);
    b.extend_from_slice(&1u32.to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes());
    b.extend_from_slice(dn.as_bytes());
    b.push(0);
    b
}

fn clamp(v: i64) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

/// Computed values replace stored values of the same property ID.
fn merge(stored: PropList, computed: PropList) -> PropList {
    let mut out: PropList = stored
        .into_iter()
        .filter(|(t, _)| !computed.iter().any(|(c, _)| c.id() == t.id()))
        .collect();
    out.extend(computed);
    out
}

/// Projects a property list onto the requested tags (MS-OXCPRPT 3.2.5.1): a missing property,
/// or one whose type does not match, is PtypErrorCode MAPI_E_NOT_FOUND in a flagged row.
/// `unicode` says how PtypUnspecified string requests are answered (WantUnicode).
pub(super) fn project(all: &PropList, requested: &[PropertyTag], unicode: bool) -> Vec<RowValue> {
    requested.iter().map(|t| pick(all, *t, unicode)).collect()
}

fn pick(all: &PropList, tag: PropertyTag, unicode: bool) -> RowValue {
    let want = tag.ty().without_instance();
    let missing = || {
        let ty = if want == PropertyType::UNSPECIFIED {
            PropertyType::ERROR
        } else {
            want
        };
        RowValue::Error(ty, ErrorCode::NOT_FOUND)
    };
    let Some((_, v)) = all.iter().find(|(t, _)| t.id() == tag.id()) else {
        return missing();
    };
    match (want, v) {
        (PropertyType::UNSPECIFIED, PropertyValue::Unicode(s)) if !unicode => {
            RowValue::Value(PropertyValue::String8(narrow(s)))
        }
        (PropertyType::UNSPECIFIED, _) => RowValue::Value(v.clone()),
        (w, _) if w == v.ty() => RowValue::Value(v.clone()),
        (PropertyType::STRING8, PropertyValue::Unicode(s)) => {
            RowValue::Value(PropertyValue::String8(narrow(s)))
        }
        (PropertyType::UNICODE, PropertyValue::String8(b)) => RowValue::Value(
            PropertyValue::Unicode(b.iter().map(|&c| char::from(c)).collect()),
        ),
        _ => missing(),
    }
}

/// Unicode to an 8-bit string: Latin-1 where possible, `?` otherwise.
fn narrow(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
        .collect()
}

/// The value of one property, if present (for restrictions and sorting).
pub(super) fn lookup(all: &PropList, tag: PropertyTag) -> Option<PropertyValue> {
    all.iter()
        .find(|(t, _)| t.id() == tag.id())
        .map(|(_, v)| v.clone())
}

/// RopGetPropertiesSpecific (MS-OXCPRPT 3.2.5.1) on an object whose values are `all`: one
/// PropertyRow in request order.
pub(super) fn specific_reply(
    q: &GetPropertiesSpecificRequest,
    all: Result<PropList, ErrorCode>,
) -> Step {
    let (rop, input) = (RopId::GET_PROPERTIES_SPECIFIC, q.input_handle_index);
    match all {
        Ok(all) => {
            let tags = q.property_tags.clone();
            let unicode = q.want_unicode != 0;
            let resp = GetPropertiesSpecificResponse {
                input_handle_index: input,
                row: PropertyRow::from_values(project(&all, &tags, unicode)),
                tags,
            };
            reply(rop, input, &resp)
        }
        Err(ec) => fail(rop, input, ec),
    }
}

/// RopGetPropertiesAll (MS-OXCPRPT 3.2.5.2) on an object whose values are `all`:
/// PropertyValueCount + TaggedPropertyValues.
pub(super) fn all_reply(q: &GetPropertiesAllRequest, all: Result<PropList, ErrorCode>) -> Step {
    let (rop, input) = (RopId::GET_PROPERTIES_ALL, q.input_handle_index);
    match all {
        Ok(all) if all.len() > usize::from(u16::MAX) => fail(rop, input, ErrorCode::TOO_BIG),
        Ok(all) => {
            let resp = GetPropertiesAllResponse {
                input_handle_index: input,
                values: all
                    .into_iter()
                    .map(|(tag, value)| TaggedPropertyValue::new(tag, value))
                    .collect(),
            };
            reply(rop, input, &resp)
        }
        Err(ec) => fail(rop, input, ec),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> StoreInfo {
        StoreInfo {
            mailbox_id: 1,
            private: true,
            mailbox_guid: [0x11; 16],
            replica_guid: [0x22; 16],
            owner_name: "Alice".into(),
            owner_dn: "/o=Org/cn=alice".into(),
            special: vec![(4, 0x0300_0000_0000_0001)],
        }
    }

    /// MS-OXCDATA 2.2.4.1: 4 flags, ProviderUID, FolderType 1, DatabaseGuid, GLOBCNT, pad.
    #[test]
    fn folder_entry_id_layout() {
        let s = store();
        let fid = oxmapi_wire::data::FolderId::new(1, 0x0102_0304_0506).0 as i64;
        let e = s.folder_entry_id(fid);
        assert_eq!(e.len(), 46);
        assert_eq!(&e[..4], &[0; 4]);
        assert_eq!(&e[4..20], &[0x11; 16]);
        assert_eq!(&e[20..22], &[1, 0]);
        assert_eq!(&e[22..38], &[0x22; 16]);
        assert_eq!(&e[38..44], &[1, 2, 3, 4, 5, 6]);
        assert_eq!(&e[44..], &[0, 0]);
        let m = s.message_entry_id(fid, fid);
        assert_eq!(m.len(), 70);
        assert_eq!(&m[20..22], &[7, 0]);
    }

    #[test]
    fn projection_types() {
        let all: PropList = vec![
            (
                tags::PidTagDisplayName,
                PropertyValue::Unicode("Inbox".into()),
            ),
            (tags::PidTagContentCount, PropertyValue::Int32(3)),
        ];
        let req = [
            tags::PidTagDisplayName,
            tags::PidTagDisplayName.with_type(PropertyType::STRING8),
            tags::PidTagContentCount.with_type(PropertyType::UNSPECIFIED),
            tags::PidTagComment,
            tags::PidTagContentCount.with_type(PropertyType::UNICODE),
        ];
        let row = project(&all, &req, true);
        assert_eq!(
            row[0],
            RowValue::Value(PropertyValue::Unicode("Inbox".into()))
        );
        assert_eq!(
            row[1],
            RowValue::Value(PropertyValue::String8(b"Inbox".to_vec()))
        );
        assert_eq!(row[2], RowValue::Value(PropertyValue::Int32(3)));
        assert_eq!(
            row[3],
            RowValue::Error(PropertyType::UNICODE, ErrorCode::NOT_FOUND)
        );
        assert_eq!(
            row[4],
            RowValue::Error(PropertyType::UNICODE, ErrorCode::NOT_FOUND)
        );
    }

    #[test]
    fn store_props_have_owner_and_subtree() {
        let p = store().store_props();
        assert_eq!(
            lookup(&p, tags::PidTagMailboxOwnerName),
            Some(PropertyValue::Unicode("Alice".into()))
        );
        let Some(PropertyValue::Binary(e)) = lookup(&p, tags::PidTagIpmSubtreeEntryId) else {
            panic!("subtree entry id")
        };
        assert_eq!(e.len(), 46);
        let Some(PropertyValue::Binary(ab)) = lookup(&p, tags::PidTagMailboxOwnerEntryId) else {
            panic!("owner entry id")
        };
        assert!(ab.ends_with(b"/o=Org/cn=alice\0"));
    }
}
