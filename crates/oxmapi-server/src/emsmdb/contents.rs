//! Contents tables over the store's message summaries (MS-OXCTABL 3.2.5): which messages a
//! table lists, in which order, and their rows, with a fixed number of statements per call
//! whatever the folder's size.
//!
//! - No restriction, sort keys all summary columns (delivery/submit/modification time,
//!   subject, sender, class, size, flags, has-attachments): one `ORDER BY` over the folder's
//!   index ([`summary::ordered`]).
//! - Otherwise: the values the restriction and the sort keys read, for the whole folder in one
//!   statement ([`summary::folder_rows`]), filtered and ordered here.
//! - Rows: a page of MIDs in one statement ([`summary::rows`]).

use std::cmp::Ordering;

use oxmapi_wire::data::{PropertyTag, PropertyValue, Restriction};
use rusqlite::Connection;

use super::objects::SortKey;
use super::props::{self, PropList, StoreInfo};
use super::restrict::Evaluate as _;
use crate::store::summary::{self, StoredRow};

/// What listing a contents table reads from the store (see [`fetch`]).
pub(super) enum Fetched {
    /// The MIDs in table order (an indexed sort did all the work).
    Ordered(Vec<i64>),
    /// Every message of the folder with the values the restriction and the sort read, in
    /// creation order: [`finish`] filters and orders them.
    Rows(Vec<StoredRow>),
}

/// The store part of listing folder `fid` under `restriction` and `sort`: one statement.
/// `None` when some summary is stale (a writer has just committed and not yet refreshed it):
/// the caller then reads on the writer's connection after [`summary::refresh_stale`].
pub(super) fn fetch(
    conn: &Connection,
    mailbox_id: i64,
    fid: i64,
    restriction: Option<&Restriction>,
    sort: &[SortKey],
) -> rusqlite::Result<Option<Fetched>> {
    if summary::any_stale(conn)? {
        return Ok(None);
    }
    let columns: Option<Vec<(&'static str, bool)>> = sort
        .iter()
        .map(|k| summary::sort_column(k.tag.id()).map(|c| (c, k.descending)))
        .collect();
    if let (None, Some(columns)) = (restriction, &columns) {
        return summary::ordered(conn, mailbox_id, fid, columns).map(|m| Some(Fetched::Ordered(m)));
    }
    let mut tags: Vec<PropertyTag> = sort.iter().map(|k| k.tag).collect();
    if let Some(r) = restriction {
        super::restrict::tags_of(r, &mut tags);
    }
    // Computed values come from the summary and the IDs: only stored ones are read.
    let mut ids: Vec<u16> = tags
        .iter()
        .map(|t| t.id())
        .filter(|id| !props::row_computes(*id))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    summary::folder_rows(conn, mailbox_id, fid, &ids).map(|r| Some(Fetched::Rows(r)))
}

/// The MIDs that match `restriction`, in `sort` order (ties in creation order, as a stable
/// sort of the unsorted table gives: MS-OXCTABL 3.2.5.3). No store access: runs after the
/// connection is handed back.
pub(super) fn finish(
    info: &StoreInfo,
    fid: i64,
    fetched: Fetched,
    restriction: Option<&Restriction>,
    sort: &[SortKey],
) -> Vec<i64> {
    let rows = match fetched {
        Fetched::Ordered(mids) => return mids,
        Fetched::Rows(rows) => rows,
    };
    let mut keyed: Vec<Keyed> = Vec::with_capacity(rows.len());
    for row in rows {
        let value = |tag| info.row_value(fid, &row, tag);
        if restriction.is_none_or(|r| r.matches(&value)) {
            let keys = sort.iter().map(|k| value(k.tag)).collect();
            keyed.push(((row.mid, 0), keys));
        }
    }
    sorted(sort, keyed).into_iter().map(|(m, _)| m).collect()
}

/// The rows of messages `mids` of folder `fid` (in that order) with the values of `columns`
/// among them: one statement for the summaries, one for the stored values. `None` when some
/// summary is stale (see [`fetch`]).
pub(super) fn rows(
    conn: &Connection,
    info: &StoreInfo,
    fid: i64,
    mids: &[i64],
    columns: &[PropertyTag],
) -> rusqlite::Result<Option<Vec<(i64, PropList)>>> {
    if summary::any_stale(conn)? {
        return Ok(None);
    }
    let mut ids: Vec<u16> = columns.iter().map(|t| t.id()).collect();
    ids.sort_unstable();
    ids.dedup();
    Ok(Some(
        summary::rows(conn, info.mailbox_id, mids, &ids)?
            .into_iter()
            .map(|row| (row.mid, info.row_values(fid, &row, columns)))
            .collect(),
    ))
}

/// A row (object id, depth) with its sort key values.
pub(super) type Keyed = ((i64, u32), Vec<Option<PropertyValue>>);

/// Orders rows by their sort key values (a stable sort: ties keep table order).
pub(super) fn sorted(sort: &[SortKey], mut keyed: Vec<Keyed>) -> Vec<(i64, u32)> {
    if !sort.is_empty() {
        keyed.sort_by(|a, b| {
            for (i, k) in sort.iter().enumerate() {
                let o = cmp_opt(&a.1[i], &b.1[i]);
                let o = if k.descending { o.reverse() } else { o };
                if o.is_ne() {
                    return o;
                }
            }
            Ordering::Equal
        });
    }
    keyed.into_iter().map(|(r, _)| r).collect()
}

/// How sort keys compare: absent first, strings case-insensitively, times and numbers by
/// value (the summary columns of [`summary::sort_column`] order the same way).
pub(super) fn cmp_opt(a: &Option<PropertyValue>, b: &Option<PropertyValue>) -> Ordering {
    use PropertyValue as V;
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(x), Some(y)) => match (x.as_str(), y.as_str()) {
            (Some(s), Some(t)) => s.to_lowercase().cmp(&t.to_lowercase()),
            _ => match (x, y) {
                (V::Time(p), V::Time(q)) => p.cmp(q),
                _ => x.as_i64().cmp(&y.as_i64()),
            },
        },
    }
}
