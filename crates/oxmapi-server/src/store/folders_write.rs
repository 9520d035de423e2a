//! Folder writes over the agreed schema: create, delete, empty, move, copy, rename, receive
//! folders, and moving messages between folders (the operations behind MS-OXCFOLD 3.2.5 and
//! MS-OXCSTOR 3.2.5.3). Nothing here knows about ROPs.
//!
//! Every public function is one write unit ([`tx::write`]: a transaction of its own, or a
//! savepoint of the caller's), so it is all-or-nothing whether or not the caller already
//! holds a transaction, and composes with the caller's own statements.
//!
//! Soft delete (no DELETE_HARD_DELETE): this store keeps no dumpster. A soft-deleted folder
//! disappears from the hierarchy, and every message it held (in its whole subtree) moves to
//! the mailbox's Deleted Items, as CDO's Delete does. Inside the Deleted Items subtree, and in
//! stores without Deleted Items (the public store), soft delete is a hard delete.

use oxmapi_wire::WriteCursor;
use oxmapi_wire::data::{PropertyTag, PropertyValue, ValueContext, encode_typed_value};
use rusqlite::{Connection, OptionalExtension, params};

use super::folders::stored_id;
use super::tx;

/// `props.kind` of folders.
pub(crate) const KIND_FOLDER: i64 = 0;
/// `props.kind` of messages.
pub(crate) const KIND_MESSAGE: i64 = 1;
/// `folders.special` of Deleted Items (MS-OXCSTOR 2.2.1.1.3, eighth logon folder ID).
pub(crate) const SPECIAL_DELETED_ITEMS: i64 = 8;

/// Why a folder write was refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FolderWriteError {
    /// SQLite failed.
    #[error("sqlite: {0}")]
    Sql(#[from] rusqlite::Error),
    /// The folder (or the destination, or the parent) does not exist where it was named.
    #[error("no such folder")]
    NotFound,
    /// A sibling folder already has the name; `existing` is its FID.
    #[error("a sibling folder has this name already")]
    Collision { existing: i64 },
    /// Special folders cannot be deleted, moved or renamed.
    #[error("special folders cannot be deleted, moved or renamed")]
    Special,
    /// The destination is the folder itself or inside its subtree.
    #[error("a folder cannot go into its own subtree")]
    Cycle,
    /// A property value could not be encoded for the `props` table.
    #[error("property value cannot be stored: {0}")]
    Encode(String),
}

/// Result of the folder write functions.
pub(crate) type WriteResult<T> = Result<T, FolderWriteError>;

/// A folder to create.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NewFolder<'a> {
    /// PidTagDisplayName.
    pub(crate) name: &'a str,
    /// PidTagComment, stored in `props` when present and not empty.
    pub(crate) comment: Option<&'a str>,
    /// PidTagContainerClass.
    pub(crate) container_class: Option<&'a str>,
}

/// DeleteFolderFlags of RopDeleteFolder (MS-OXCFOLD 2.2.1.3.1), as booleans.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct DeleteOptions {
    /// DEL_MESSAGES: delete even if the subtree holds messages.
    pub(crate) messages: bool,
    /// DEL_FOLDERS: delete even if the folder has subfolders.
    pub(crate) subfolders: bool,
    /// DELETE_HARD_DELETE.
    pub(crate) hard: bool,
}

/// Allocates `n` consecutive GLOBCNTs of a store (`users.next_globcnt`, or
/// `org.public_next_globcnt` for mailbox 0) and returns the first.
pub(crate) fn allocate_globcnt(conn: &Connection, mailbox_id: i64, n: i64) -> WriteResult<i64> {
    tx::write(conn, |c| {
        let first: i64 = if mailbox_id == 0 {
            c.query_row(
                "SELECT public_next_globcnt FROM org WHERE id = 1",
                [],
                |r| r.get(0),
            )
        } else {
            c.query_row(
                "SELECT next_globcnt FROM users WHERE id = ?1",
                [mailbox_id],
                |r| r.get(0),
            )
        }
        .optional()?
        .ok_or(FolderWriteError::NotFound)?;
        if mailbox_id == 0 {
            c.execute(
                "UPDATE org SET public_next_globcnt = ?1 WHERE id = 1",
                [first + n],
            )?;
        } else {
            c.execute(
                "UPDATE users SET next_globcnt = ?1 WHERE id = ?2",
                [first + n, mailbox_id],
            )?;
        }
        Ok(first)
    })
}

/// The FID of the child of `parent` named `name` (case-insensitive), if any.
pub(crate) fn child_by_name(
    conn: &Connection,
    mailbox_id: i64,
    parent: i64,
    name: &str,
) -> rusqlite::Result<Option<i64>> {
    conn.query_row(
        "SELECT fid FROM folders WHERE mailbox_id = ?1 AND parent_fid = ?2 \
         AND lower(display_name) = lower(?3)",
        params![mailbox_id, parent, name],
        |r| r.get(0),
    )
    .optional()
}

/// Creates a generic folder under `parent`; a sibling with the same name is a collision.
/// Returns the new FID.
pub(crate) fn create_folder(
    conn: &Connection,
    mailbox_id: i64,
    parent: i64,
    spec: &NewFolder<'_>,
) -> WriteResult<i64> {
    tx::write(conn, |c| {
        folder_parent(c, mailbox_id, parent)?;
        if let Some(existing) = child_by_name(c, mailbox_id, parent, spec.name)? {
            return Err(FolderWriteError::Collision { existing });
        }
        let fid = stored_id(allocate_globcnt(c, mailbox_id, 1)?);
        c.execute(
            "INSERT INTO folders (mailbox_id, fid, parent_fid, display_name, container_class, special)
             VALUES (?1, ?2, ?3, ?4, ?5, NULL)",
            params![mailbox_id, fid, parent, spec.name, spec.container_class],
        )?;
        if let Some(comment) = spec.comment.filter(|s| !s.is_empty()) {
            put_props(
                c,
                mailbox_id,
                KIND_FOLDER,
                fid,
                &[(
                    oxmapi_wire::data::tags::PidTagComment,
                    PropertyValue::Unicode(comment.to_owned()),
                )],
            )?;
        }
        Ok(fid)
    })
}

/// Deletes folder `fid`, a child of `parent`. Returns `false` (nothing changed: partial
/// completion) when the folder holds messages without [`DeleteOptions::messages`] or
/// subfolders without [`DeleteOptions::subfolders`].
pub(crate) fn delete_folder(
    conn: &Connection,
    mailbox_id: i64,
    parent: i64,
    fid: i64,
    opts: DeleteOptions,
) -> WriteResult<bool> {
    tx::write(conn, |c| {
        let (at, special) = folder_parent(c, mailbox_id, fid)?;
        if at != Some(parent) {
            return Err(FolderWriteError::NotFound);
        }
        if special.is_some() {
            return Err(FolderWriteError::Special);
        }
        let tree = subtree(c, mailbox_id, fid)?;
        if !opts.subfolders && tree.len() > 1 {
            return Ok(false);
        }
        if !opts.messages && !messages_in(c, mailbox_id, &tree)?.is_empty() {
            return Ok(false);
        }
        let target = soft_target(c, mailbox_id, fid, opts.hard)?;
        remove_folders(c, mailbox_id, &tree, target)?;
        Ok(true)
    })
}

/// Deletes the messages and subfolders of `fid`, keeping the folder (RopEmptyFolder,
/// RopHardDeleteMessagesAndSubfolders). Special subfolders are kept; returns `true` when one
/// was (partial completion).
pub(crate) fn empty_folder(
    conn: &Connection,
    mailbox_id: i64,
    fid: i64,
    hard: bool,
) -> WriteResult<bool> {
    tx::write(conn, |c| {
        folder_parent(c, mailbox_id, fid)?;
        let target = soft_target(c, mailbox_id, fid, hard)?;
        let own = messages_in(c, mailbox_id, &[fid])?;
        dispose_messages(c, mailbox_id, &own, target)?;
        let mut partial = false;
        for (child, special) in children(c, mailbox_id, fid)? {
            if special.is_some() {
                partial = true;
                continue;
            }
            let tree = subtree(c, mailbox_id, child)?;
            remove_folders(c, mailbox_id, &tree, target)?;
        }
        Ok(partial)
    })
}

/// Moves messages to `dest` (keeping their MIDs). Returns how many existed and moved; MIDs
/// that are not in the store are skipped.
pub(crate) fn move_messages(
    conn: &Connection,
    mailbox_id: i64,
    mids: &[i64],
    dest: i64,
) -> WriteResult<usize> {
    tx::write(conn, |c| {
        folder_parent(c, mailbox_id, dest)?;
        let mut st =
            c.prepare_cached("UPDATE messages SET fid = ?3 WHERE mailbox_id = ?1 AND mid = ?2")?;
        let mut n = 0;
        for mid in mids {
            n += st.execute(params![mailbox_id, mid, dest])?;
        }
        Ok(n)
    })
}

/// Removes messages for good: their `messages` and `props` rows and their rows in every other
/// table keyed by `(mailbox_id, mid)` (recipients, attachments, queue entries, ...).
pub(crate) fn purge_messages(conn: &Connection, mailbox_id: i64, mids: &[i64]) -> WriteResult<()> {
    tx::write(conn, |c| {
        let tables = message_side_tables(c)?;
        for mid in mids {
            c.execute(
                "DELETE FROM props WHERE mailbox_id = ?1 AND kind = ?2 AND object_id = ?3",
                params![mailbox_id, KIND_MESSAGE, mid],
            )?;
            for t in &tables {
                c.execute(
                    &format!(
                        "DELETE FROM {} WHERE mailbox_id = ?1 AND mid = ?2",
                        quote(t)
                    ),
                    params![mailbox_id, mid],
                )?;
            }
        }
        Ok(())
    })
}

/// Moves folder `fid` from `src_parent` to `dest_parent` (same store), optionally renaming it.
pub(crate) fn move_folder(
    conn: &Connection,
    mailbox_id: i64,
    src_parent: i64,
    fid: i64,
    dest_parent: i64,
    new_name: Option<&str>,
) -> WriteResult<()> {
    tx::write(conn, |c| {
        let (at, special) = folder_parent(c, mailbox_id, fid)?;
        if at != Some(src_parent) {
            return Err(FolderWriteError::NotFound);
        }
        if special.is_some() {
            return Err(FolderWriteError::Special);
        }
        folder_parent(c, mailbox_id, dest_parent)?;
        if subtree(c, mailbox_id, fid)?.contains(&dest_parent) {
            return Err(FolderWriteError::Cycle);
        }
        let name = match new_name.filter(|n| !n.is_empty()) {
            Some(n) => n.to_owned(),
            None => display_name(c, mailbox_id, fid)?,
        };
        match child_by_name(c, mailbox_id, dest_parent, &name)? {
            Some(existing) if existing != fid => {
                return Err(FolderWriteError::Collision { existing });
            }
            _ => {}
        }
        c.execute(
            "UPDATE folders SET parent_fid = ?3, display_name = ?4 WHERE mailbox_id = ?1 AND fid = ?2",
            params![mailbox_id, fid, dest_parent, name],
        )?;
        Ok(())
    })
}

/// Copies folder `fid` (a child of `src_parent`) under `dest_parent`, with its properties and
/// messages (their `messages` and `props` rows), and its subfolders when `recursive`. Returns
/// the FID of the copy. The copy is never a special folder.
pub(crate) fn copy_folder(
    conn: &Connection,
    mailbox_id: i64,
    src_parent: i64,
    fid: i64,
    dest_parent: i64,
    new_name: Option<&str>,
    recursive: bool,
) -> WriteResult<i64> {
    tx::write(conn, |c| {
        let (at, _) = folder_parent(c, mailbox_id, fid)?;
        if at != Some(src_parent) {
            return Err(FolderWriteError::NotFound);
        }
        folder_parent(c, mailbox_id, dest_parent)?;
        if recursive && subtree(c, mailbox_id, fid)?.contains(&dest_parent) {
            return Err(FolderWriteError::Cycle);
        }
        let name = match new_name.filter(|n| !n.is_empty()) {
            Some(n) => n.to_owned(),
            None => display_name(c, mailbox_id, fid)?,
        };
        if let Some(existing) = child_by_name(c, mailbox_id, dest_parent, &name)? {
            return Err(FolderWriteError::Collision { existing });
        }
        copy_tree(c, mailbox_id, fid, dest_parent, &name, recursive)
    })
}

/// Renames a folder; special folders keep their names, siblings' names collide.
pub(crate) fn rename_folder(
    conn: &Connection,
    mailbox_id: i64,
    fid: i64,
    name: &str,
) -> WriteResult<()> {
    tx::write(conn, |c| {
        let (parent, special) = folder_parent(c, mailbox_id, fid)?;
        if special.is_some() {
            return Err(FolderWriteError::Special);
        }
        if let Some(parent) = parent {
            match child_by_name(c, mailbox_id, parent, name)? {
                Some(existing) if existing != fid => {
                    return Err(FolderWriteError::Collision { existing });
                }
                _ => {}
            }
        }
        c.execute(
            "UPDATE folders SET display_name = ?3 WHERE mailbox_id = ?1 AND fid = ?2",
            params![mailbox_id, fid, name],
        )?;
        Ok(())
    })
}

/// Sets (or clears, with `None`) a folder's PidTagContainerClass.
pub(crate) fn set_container_class(
    conn: &Connection,
    mailbox_id: i64,
    fid: i64,
    class: Option<&str>,
) -> WriteResult<()> {
    tx::write(conn, |c| {
        folder_parent(c, mailbox_id, fid)?;
        c.execute(
            "UPDATE folders SET container_class = ?3 WHERE mailbox_id = ?1 AND fid = ?2",
            params![mailbox_id, fid, class],
        )?;
        Ok(())
    })
}

/// Stores property values in the `props` bag (replacing values of the same tag, and of the
/// same property ID with another type).
pub(crate) fn put_props(
    conn: &Connection,
    mailbox_id: i64,
    kind: i64,
    object_id: i64,
    values: &[(PropertyTag, PropertyValue)],
) -> WriteResult<()> {
    tx::write(conn, |c| {
        for (tag, value) in values {
            let mut w = WriteCursor::new();
            encode_typed_value(value, &mut w, ValueContext::Rop)
                .map_err(|e| FolderWriteError::Encode(e.to_string()))?;
            c.execute(
                "DELETE FROM props WHERE mailbox_id = ?1 AND kind = ?2 AND object_id = ?3 \
                 AND (tag >> 16) = ?4",
                params![mailbox_id, kind, object_id, i64::from(tag.id())],
            )?;
            let stored = tag.with_type(value.ty());
            c.execute(
                "INSERT INTO props (mailbox_id, kind, object_id, tag, value) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![mailbox_id, kind, object_id, i64::from(stored.0), w.into_inner()],
            )?;
        }
        Ok(())
    })
}

/// Sets the receive folder of a message class (MS-OXCSTOR 3.2.5.3); `None` removes the entry.
pub(crate) fn set_receive_folder(
    conn: &Connection,
    mailbox_id: i64,
    message_class: &str,
    fid: Option<i64>,
) -> WriteResult<()> {
    tx::write(conn, |c| {
        c.execute(
            "DELETE FROM receive_folders WHERE mailbox_id = ?1 AND message_class = ?2",
            params![mailbox_id, message_class],
        )?;
        if let Some(fid) = fid {
            folder_parent(c, mailbox_id, fid)?;
            c.execute(
                "INSERT INTO receive_folders (mailbox_id, message_class, fid) VALUES (?1, ?2, ?3)",
                params![mailbox_id, message_class, fid],
            )?;
        }
        Ok(())
    })
}

/// The explicitly configured receive folder for `message_class`: the entry whose class is the
/// longest dot-separated prefix of it (the empty class matches everything). Returns
/// `(configured class, fid)`.
pub(crate) fn receive_folder(
    conn: &Connection,
    mailbox_id: i64,
    message_class: &str,
) -> WriteResult<Option<(String, i64)>> {
    let mut st = conn
        .prepare_cached("SELECT message_class, fid FROM receive_folders WHERE mailbox_id = ?1")?;
    let rows = st.query_map([mailbox_id], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
    })?;
    let want = message_class.to_ascii_lowercase();
    let mut best: Option<(String, i64)> = None;
    for row in rows {
        let (class, fid) = row?;
        let c = class.to_ascii_lowercase();
        let matches = c.is_empty()
            || want == c
            || (want.starts_with(&c) && want.as_bytes().get(c.len()) == Some(&b'.'));
        if matches && best.as_ref().is_none_or(|(b, _)| b.len() < class.len()) {
            best = Some((class, fid));
        }
    }
    Ok(best)
}

// ---- helpers ----

/// `(parent_fid, special)` of an existing folder, or [`FolderWriteError::NotFound`].
fn folder_parent(
    conn: &Connection,
    mailbox_id: i64,
    fid: i64,
) -> WriteResult<(Option<i64>, Option<i64>)> {
    conn.query_row(
        "SELECT parent_fid, special FROM folders WHERE mailbox_id = ?1 AND fid = ?2",
        params![mailbox_id, fid],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()?
    .ok_or(FolderWriteError::NotFound)
}

fn display_name(conn: &Connection, mailbox_id: i64, fid: i64) -> WriteResult<String> {
    Ok(conn.query_row(
        "SELECT display_name FROM folders WHERE mailbox_id = ?1 AND fid = ?2",
        params![mailbox_id, fid],
        |r| r.get(0),
    )?)
}

/// Direct children `(fid, special)` in creation order.
fn children(
    conn: &Connection,
    mailbox_id: i64,
    fid: i64,
) -> rusqlite::Result<Vec<(i64, Option<i64>)>> {
    let mut st = conn.prepare_cached(
        "SELECT fid, special FROM folders WHERE mailbox_id = ?1 AND parent_fid = ?2 ORDER BY rowid",
    )?;
    let rows = st.query_map(params![mailbox_id, fid], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

/// The folder and all its descendants (each once, even if the parent links are corrupt).
fn subtree(conn: &Connection, mailbox_id: i64, fid: i64) -> rusqlite::Result<Vec<i64>> {
    let mut out = vec![fid];
    let mut i = 0;
    while let Some(&f) = out.get(i) {
        for (child, _) in children(conn, mailbox_id, f)? {
            if !out.contains(&child) {
                out.push(child);
            }
        }
        i += 1;
    }
    Ok(out)
}

fn messages_in(conn: &Connection, mailbox_id: i64, fids: &[i64]) -> rusqlite::Result<Vec<i64>> {
    let mut st = conn.prepare_cached(
        "SELECT mid FROM messages WHERE mailbox_id = ?1 AND fid = ?2 ORDER BY rowid",
    )?;
    let mut out = Vec::new();
    for fid in fids {
        for mid in st.query_map(params![mailbox_id, fid], |r| r.get(0))? {
            out.push(mid?);
        }
    }
    Ok(out)
}

/// Where soft-deleted messages of `folder` go: Deleted Items, unless the delete is hard, the
/// store has no Deleted Items, or `folder` is Deleted Items or inside it.
fn soft_target(
    conn: &Connection,
    mailbox_id: i64,
    folder: i64,
    hard: bool,
) -> rusqlite::Result<Option<i64>> {
    if hard {
        return Ok(None);
    }
    let deleted: Option<i64> = conn
        .query_row(
            "SELECT fid FROM folders WHERE mailbox_id = ?1 AND special = ?2",
            params![mailbox_id, SPECIAL_DELETED_ITEMS],
            |r| r.get(0),
        )
        .optional()?;
    let Some(deleted) = deleted else {
        return Ok(None);
    };
    Ok((!subtree(conn, mailbox_id, deleted)?.contains(&folder)).then_some(deleted))
}

fn dispose_messages(
    conn: &Connection,
    mailbox_id: i64,
    mids: &[i64],
    target: Option<i64>,
) -> WriteResult<()> {
    match target {
        Some(dest) => move_messages(conn, mailbox_id, mids, dest).map(|_| ()),
        None => purge_messages(conn, mailbox_id, mids),
    }
}

/// Removes the folders of a subtree; their messages go to `target` or are purged.
fn remove_folders(
    conn: &Connection,
    mailbox_id: i64,
    tree: &[i64],
    target: Option<i64>,
) -> WriteResult<()> {
    let mids = messages_in(conn, mailbox_id, tree)?;
    dispose_messages(conn, mailbox_id, &mids, target)?;
    for fid in tree {
        conn.execute(
            "DELETE FROM props WHERE mailbox_id = ?1 AND kind = ?2 AND object_id = ?3",
            params![mailbox_id, KIND_FOLDER, fid],
        )?;
        conn.execute(
            "DELETE FROM receive_folders WHERE mailbox_id = ?1 AND fid = ?2",
            params![mailbox_id, fid],
        )?;
        conn.execute(
            "DELETE FROM folders WHERE mailbox_id = ?1 AND fid = ?2",
            params![mailbox_id, fid],
        )?;
    }
    Ok(())
}

fn copy_tree(
    conn: &Connection,
    mailbox_id: i64,
    src: i64,
    dest_parent: i64,
    name: &str,
    recursive: bool,
) -> WriteResult<i64> {
    let new = stored_id(allocate_globcnt(conn, mailbox_id, 1)?);
    conn.execute(
        "INSERT INTO folders (mailbox_id, fid, parent_fid, display_name, container_class, special)
         SELECT mailbox_id, ?3, ?4, ?5, container_class, NULL FROM folders
         WHERE mailbox_id = ?1 AND fid = ?2",
        params![mailbox_id, src, new, dest_parent, name],
    )?;
    copy_props(conn, mailbox_id, KIND_FOLDER, src, new)?;
    let mids = messages_in(conn, mailbox_id, &[src])?;
    let n = i64::try_from(mids.len()).unwrap_or(i64::MAX);
    if n > 0 {
        let first = allocate_globcnt(conn, mailbox_id, n)?;
        for (mid, globcnt) in mids.iter().zip(first..) {
            let copy = stored_id(globcnt);
            conn.execute(
                "INSERT INTO messages (mailbox_id, mid, fid) VALUES (?1, ?2, ?3)",
                params![mailbox_id, copy, new],
            )?;
            copy_props(conn, mailbox_id, KIND_MESSAGE, *mid, copy)?;
        }
    }
    if recursive {
        for (child, _) in children(conn, mailbox_id, src)? {
            // The copy itself is a new child of dest_parent, never of src: no endless recursion.
            let child_name = display_name(conn, mailbox_id, child)?;
            copy_tree(conn, mailbox_id, child, new, &child_name, true)?;
        }
    }
    Ok(new)
}

fn copy_props(
    conn: &Connection,
    mailbox_id: i64,
    kind: i64,
    from: i64,
    to: i64,
) -> rusqlite::Result<usize> {
    conn.execute(
        "INSERT OR REPLACE INTO props (mailbox_id, kind, object_id, tag, value)
         SELECT mailbox_id, kind, ?4, tag, value FROM props
         WHERE mailbox_id = ?1 AND kind = ?2 AND object_id = ?3",
        params![mailbox_id, kind, from, to],
    )
}

/// Tables other than `messages` keyed by message: they have `mailbox_id` and `mid` columns.
fn message_side_tables(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut st = conn.prepare_cached(
        "SELECT m.name FROM sqlite_master m WHERE m.type = 'table' AND m.name <> 'props' \
         AND EXISTS (SELECT 1 FROM pragma_table_info(m.name) WHERE name = 'mailbox_id') \
         AND EXISTS (SELECT 1 FROM pragma_table_info(m.name) WHERE name = 'mid')",
    )?;
    let rows = st.query_map([], |r| r.get(0))?;
    rows.collect()
}

/// An SQL identifier in double quotes.
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
