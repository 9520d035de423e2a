//! Creation of the special folders of a mailbox and of the public folder store.
//!
//! `folders.special` numbers (agreed schema): 1..=13 are the logon folder IDs of
//! MS-OXCSTOR 2.2.1.1.3 in order, 20..=25 the IPM default folders.

use oxmapi_wire::data::FolderId;
use rusqlite::{Connection, params};

use super::error::StoreError;

/// `folders.special`: Mailbox Root (MS-OXCSTOR 2.2.1.1.3, first logon folder ID).
pub const SPECIAL_ROOT: i64 = 1;
/// `folders.special`: IPM Subtree ("Top of Information Store").
pub const SPECIAL_IPM_SUBTREE: i64 = 4;
/// `folders.special`: Inbox.
pub const SPECIAL_INBOX: i64 = 5;

/// Parent of a special folder: the Mailbox Root, the IPM Subtree, or none (the root itself).
#[derive(Clone, Copy)]
enum Parent {
    None,
    Root,
    Ipm,
}

/// (special, display name, container class, parent) of a private mailbox, creation order.
const PRIVATE: &[(i64, &str, Option<&str>, Parent)] = &[
    (1, "Root", None, Parent::None),
    (2, "Deferred Action", None, Parent::Root),
    (3, "Spooler Queue", None, Parent::Root),
    (4, "Top of Information Store", None, Parent::Root),
    (5, "Inbox", Some("IPF.Note"), Parent::Ipm),
    (6, "Outbox", Some("IPF.Note"), Parent::Ipm),
    (7, "Sent Items", Some("IPF.Note"), Parent::Ipm),
    (8, "Deleted Items", Some("IPF.Note"), Parent::Ipm),
    (9, "Common Views", None, Parent::Root),
    (10, "Schedule", None, Parent::Root),
    (11, "Finder", None, Parent::Root),
    (12, "Views", None, Parent::Root),
    (13, "Shortcuts", None, Parent::Root),
    (20, "Calendar", Some("IPF.Appointment"), Parent::Ipm),
    (21, "Contacts", Some("IPF.Contact"), Parent::Ipm),
    (22, "Journal", Some("IPF.Journal"), Parent::Ipm),
    (23, "Notes", Some("IPF.StickyNote"), Parent::Ipm),
    (24, "Tasks", Some("IPF.Task"), Parent::Ipm),
    (25, "Drafts", Some("IPF.Note"), Parent::Ipm),
];

/// The public store's folders, numbered like the FolderIds of the public logon response
/// (MS-OXCSTOR 2.2.1.1.4): 1 Public Root, 2 IPM Subtree, 3 NON_IPM_SUBTREE, 4 EFORMS REGISTRY,
/// 5 FREE/BUSY DATA, 6 OFFLINE ADDRESS BOOK, 7 localized EFORMS REGISTRY, 8 local site's
/// free/busy, 9 local site's OAB, 10 NNTP article index; 11..=13 are zero in the response.
const PUBLIC: &[(i64, &str, Parent)] = &[
    (1, "Public Root", Parent::None),
    (2, "IPM_SUBTREE", Parent::Root),
    (3, "NON_IPM_SUBTREE", Parent::Root),
    (4, "EFORMS REGISTRY", Parent::Ipm),
    (5, "SCHEDULE+ FREE BUSY", Parent::Ipm),
    (6, "OFFLINE ADDRESS BOOK", Parent::Ipm),
    (7, "Organization Forms", Parent::Ipm),
    (
        8,
        "EX:/o=Oxmapi/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)",
        Parent::Ipm,
    ),
    (
        9,
        "/o=Oxmapi/cn=addrlists/cn=oabs/cn=Default Offline Address Book",
        Parent::Ipm,
    ),
    (10, "NNTP Article Index", Parent::Ipm),
];

/// Creates the 19 special folders of mailbox `mailbox_id`, allocating GLOBCNTs from
/// `users.next_globcnt` in the same transaction.
pub(crate) fn create_private(tx: &Connection, mailbox_id: i64) -> Result<(), StoreError> {
    let specs: Vec<_> = PRIVATE.iter().map(|&(s, n, c, p)| (s, n, c, p)).collect();
    let first: i64 = tx.query_row(
        "SELECT next_globcnt FROM users WHERE id = ?1",
        [mailbox_id],
        |r| r.get(0),
    )?;
    let next = insert_all(tx, mailbox_id, first, &specs)?;
    tx.execute(
        "UPDATE users SET next_globcnt = ?1 WHERE id = ?2",
        params![next, mailbox_id],
    )?;
    Ok(())
}

/// Creates the public store (mailbox_id 0) unless it exists, allocating from
/// `org.public_next_globcnt`. For `PUBLIC` entries, `Ipm` means "under the NON_IPM_SUBTREE"
/// for the system folders (4..=10) as in Exchange.
pub(crate) fn create_public(tx: &Connection) -> Result<(), StoreError> {
    let exists: i64 = tx.query_row(
        "SELECT COUNT(*) FROM folders WHERE mailbox_id = 0",
        [],
        |r| r.get(0),
    )?;
    if exists > 0 {
        return Ok(());
    }
    let first: i64 = tx.query_row(
        "SELECT public_next_globcnt FROM org WHERE id = 1",
        [],
        |r| r.get(0),
    )?;
    let specs: Vec<_> = PUBLIC.iter().map(|&(s, n, p)| (s, n, None, p)).collect();
    let next = insert_all(tx, 0, first, &specs)?;
    tx.execute(
        "UPDATE org SET public_next_globcnt = ?1 WHERE id = 1",
        [next],
    )?;
    Ok(())
}

/// The stored form of a folder or message ID: the i64 cast of the u64 wire value.
pub fn stored_id(globcnt: i64) -> i64 {
    // INVARIANT: GLOBCNTs are allocated from 1 upwards and stay far below 2^48.
    FolderId::new(1, globcnt.unsigned_abs()).0 as i64
}

type Spec<'a> = (i64, &'a str, Option<&'a str>, Parent);

fn insert_all(
    tx: &Connection,
    mailbox_id: i64,
    mut globcnt: i64,
    specs: &[Spec<'_>],
) -> Result<i64, StoreError> {
    let (mut root, mut second) = (None, None);
    let public = mailbox_id == 0;
    for &(special, name, class, parent) in specs {
        let fid = stored_id(globcnt);
        globcnt += 1;
        let parent_fid = match parent {
            Parent::None => None,
            Parent::Root => root,
            Parent::Ipm => second,
        };
        tx.execute(
            "INSERT INTO folders (mailbox_id, fid, parent_fid, display_name, container_class, special)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![mailbox_id, fid, parent_fid, name, class, special],
        )?;
        match (public, special) {
            (_, 1) => root = Some(fid),
            (false, 4) | (true, 3) => second = Some(fid),
            _ => {}
        }
    }
    Ok(globcnt)
}
