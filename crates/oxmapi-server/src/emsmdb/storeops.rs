//! Read-only SQL over the agreed mailbox schema (`folders`, `messages`, `props`, `users`,
//! `org`) that the ROP handlers need. Nothing here knows about ROPs.

use oxmapi_wire::ReadCursor;
use oxmapi_wire::data::{PropertyTag, PropertyValue, ValueContext, decode_typed_value};
use rusqlite::{Connection, OptionalExtension, params};

/// `props.kind` for folders.
pub(super) const KIND_FOLDER: i64 = 0;
/// `props.kind` for messages.
pub(super) const KIND_MESSAGE: i64 = 1;

/// One row of `folders`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct FolderRow {
    pub(super) fid: i64,
    pub(super) parent_fid: Option<i64>,
    pub(super) display_name: String,
    pub(super) container_class: Option<String>,
    pub(super) special: Option<i64>,
}

/// What the logon needs from `org`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct OrgRow {
    pub(super) name: String,
    pub(super) public_folders: bool,
    pub(super) public_replica_guid: [u8; 16],
}

fn guid(blob: Vec<u8>) -> [u8; 16] {
    let mut g = [0u8; 16];
    if let Some(src) = blob.get(..16) {
        g.copy_from_slice(src);
    }
    g
}

/// The organization row, if the store has been provisioned.
pub(super) fn org(conn: &Connection) -> rusqlite::Result<Option<OrgRow>> {
    conn.query_row(
        "SELECT name, public_folders, public_replica_guid FROM org WHERE id = 1",
        [],
        |r| {
            Ok(OrgRow {
                name: r.get(0)?,
                public_folders: r.get::<_, i64>(1)? != 0,
                public_replica_guid: guid(r.get(2)?),
            })
        },
    )
    .optional()
}

/// `(special, fid)` of every special folder of a store.
pub(super) fn special_folders(
    conn: &Connection,
    mailbox_id: i64,
) -> rusqlite::Result<Vec<(i64, i64)>> {
    let mut st = conn.prepare_cached(
        "SELECT special, fid FROM folders WHERE mailbox_id = ?1 AND special IS NOT NULL",
    )?;
    let rows = st.query_map([mailbox_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

const FOLDER_COLS: &str = "fid, parent_fid, display_name, container_class, special";

fn folder_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<FolderRow> {
    Ok(FolderRow {
        fid: r.get(0)?,
        parent_fid: r.get(1)?,
        display_name: r.get(2)?,
        container_class: r.get(3)?,
        special: r.get(4)?,
    })
}

/// One folder.
pub(super) fn folder(
    conn: &Connection,
    mailbox_id: i64,
    fid: i64,
) -> rusqlite::Result<Option<FolderRow>> {
    conn.query_row(
        &format!("SELECT {FOLDER_COLS} FROM folders WHERE mailbox_id = ?1 AND fid = ?2"),
        params![mailbox_id, fid],
        folder_row,
    )
    .optional()
}

/// Direct children of a folder in creation (rowid) order.
pub(super) fn child_folders(
    conn: &Connection,
    mailbox_id: i64,
    fid: i64,
) -> rusqlite::Result<Vec<FolderRow>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {FOLDER_COLS} FROM folders WHERE mailbox_id = ?1 AND parent_fid = ?2 ORDER BY rowid"
    ))?;
    let rows = st.query_map(params![mailbox_id, fid], folder_row)?;
    rows.collect()
}

/// Descendants in depth-first pre-order with their depth (1 = direct child), for the
/// Depth flag of RopGetHierarchyTable (MS-OXCFOLD 2.2.1.13.1).
pub(super) fn descendants(
    conn: &Connection,
    mailbox_id: i64,
    fid: i64,
    all: bool,
) -> rusqlite::Result<Vec<(i64, u32)>> {
    let mut out = Vec::new();
    let mut stack: Vec<(i64, u32)> = child_folders(conn, mailbox_id, fid)?
        .into_iter()
        .rev()
        .map(|f| (f.fid, 1))
        .collect();
    while let Some((f, d)) = stack.pop() {
        out.push((f, d));
        // A corrupt parent cycle cannot loop forever: a folder is never expanded twice.
        if all && out.len() <= 100_000 && !out[..out.len() - 1].iter().any(|(x, _)| *x == f) {
            for c in child_folders(conn, mailbox_id, f)?.into_iter().rev() {
                stack.push((c.fid, d + 1));
            }
        }
    }
    Ok(out)
}

/// Messages of a folder in creation (rowid) order: MIDs do not sort numerically by GLOBCNT.
pub(super) fn messages_in(
    conn: &Connection,
    mailbox_id: i64,
    fid: i64,
) -> rusqlite::Result<Vec<i64>> {
    let mut st = conn.prepare_cached(
        "SELECT mid FROM messages WHERE mailbox_id = ?1 AND fid = ?2 ORDER BY rowid",
    )?;
    let rows = st.query_map(params![mailbox_id, fid], |r| r.get(0))?;
    rows.collect()
}

/// Number of messages in a folder (maintained with the folder: no scan).
pub(super) fn message_count(
    conn: &Connection,
    mailbox_id: i64,
    fid: i64,
) -> rusqlite::Result<usize> {
    let (n, _) = crate::store::summary::counts(conn, mailbox_id, fid)?;
    Ok(usize::try_from(n).unwrap_or(0))
}

/// The folder a message lives in.
pub(super) fn message_folder(
    conn: &Connection,
    mailbox_id: i64,
    mid: i64,
) -> rusqlite::Result<Option<i64>> {
    conn.query_row(
        "SELECT fid FROM messages WHERE mailbox_id = ?1 AND mid = ?2",
        params![mailbox_id, mid],
        |r| r.get(0),
    )
    .optional()
}

/// Whether a folder has child folders.
pub(super) fn has_subfolders(
    conn: &Connection,
    mailbox_id: i64,
    fid: i64,
) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS(SELECT 1 FROM folders WHERE mailbox_id = ?1 AND parent_fid = ?2)",
        params![mailbox_id, fid],
        |r| r.get(0),
    )
}

/// Every stored property of an object (undecodable blobs are skipped, not fatal).
pub(super) fn stored_props(
    conn: &Connection,
    mailbox_id: i64,
    kind: i64,
    object_id: i64,
) -> rusqlite::Result<Vec<(PropertyTag, PropertyValue)>> {
    let mut st = conn.prepare_cached(
        "SELECT tag, value FROM props WHERE mailbox_id = ?1 AND kind = ?2 AND object_id = ?3 ORDER BY tag",
    )?;
    let rows = st.query_map(params![mailbox_id, kind, object_id], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (tag, blob) = row?;
        if let (Ok(tag), Some(value)) = (u32::try_from(tag), decode_blob(&blob)) {
            out.push((PropertyTag(tag), value));
        }
    }
    Ok(out)
}

/// A stored TypedPropertyValue (ROP dialect) back to a value.
fn decode_blob(blob: &[u8]) -> Option<PropertyValue> {
    let mut r = ReadCursor::new(blob);
    let v = decode_typed_value(&mut r, ValueContext::Rop).ok()?;
    r.is_empty().then_some(v)
}
