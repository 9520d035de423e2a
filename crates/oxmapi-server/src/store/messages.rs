//! Messages, recipients, attachments, chunked large values and named properties
//! (MS-OXCMSG 2.2, MS-OXCPRPT 2.2, MS-OXCDATA 2.8.3) over the tables of [`super::schema`].
//!
//! A *message instance* is the property bag (`props` kind 1), recipients and attachments
//! stored under one object id: a committed message's MID, an embedded message's id, or a
//! negative working-copy id (changes made through a Message object before
//! RopSaveChangesMessage, MS-OXCMSG 3.2.5.3). Attachments are rows of `attachments` whose
//! `att_id` is the object id of their own property bag (`props` kind 2).
//!
//! Values larger than [`INLINE_LIMIT`] live in `blobs` as [`CHUNK`]-byte rows keyed by
//! (owner, tag, seq), so a large attachment is read and written piecewise, never whole. A
//! chunked value is `seq_last * CHUNK + length(last row)` bytes long; every row before the
//! last is exactly [`CHUNK`] bytes, and a missing row before the last reads as zeros, so
//! extending a value (RopSetStreamSize, a write past a seek beyond the end) stores at most
//! one chunk of zeros, never the whole gap.
//!
//! Nothing here knows about ROPs; callers own the transaction.

use oxmapi_wire::data::{
    FolderId, PropertyTag, PropertyType, PropertyValue, ValueContext, decode_typed_value,
    encode_typed_value,
};
use oxmapi_wire::{ReadCursor, WriteCursor};
use rusqlite::{Connection, OptionalExtension, params};

/// `props.kind` / `blobs.kind` of messages (agreed schema).
pub const KIND_MESSAGE: i64 = 1;
/// `props.kind` / `blobs.kind` of attachments (added by this module).
pub const KIND_ATTACHMENT: i64 = 2;
/// Size of one `blobs` row.
pub const CHUNK: usize = 64 * 1024;
/// Values whose payload is larger than this are stored in `blobs`.
pub const INLINE_LIMIT: usize = 16 * 1024;

/// A property list: (tag, value).
pub type PropList = Vec<(PropertyTag, PropertyValue)>;

/// Drops the working copies a previous run left behind (no session survives a restart);
/// called from `Store::open`.
pub(crate) fn drop_working_copies(conn: &Connection) -> rusqlite::Result<()> {
    let stale: Vec<(i64, i64)> = {
        let mut st = conn.prepare("SELECT mailbox_id, id FROM instance_seq WHERE working = 1")?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for (mb, id) in stale {
        delete_instance(conn, mb, -id)?;
    }
    conn.execute("DELETE FROM instance_seq WHERE working = 1", [])?;
    Ok(())
}

/// Allocates one GLOBCNT of a mailbox (0 = public store) and returns the stored ID
/// (REPLID 1), as the agreed ID scheme says.
pub fn alloc_id(conn: &Connection, mailbox_id: i64) -> rusqlite::Result<i64> {
    let g: i64 = if mailbox_id == 0 {
        conn.query_row(
            "UPDATE org SET public_next_globcnt = public_next_globcnt + 1 WHERE id = 1
             RETURNING public_next_globcnt - 1",
            [],
            |r| r.get(0),
        )?
    } else {
        conn.query_row(
            "UPDATE users SET next_globcnt = next_globcnt + 1 WHERE id = ?1
             RETURNING next_globcnt - 1",
            [mailbox_id],
            |r| r.get(0),
        )?
    };
    Ok(FolderId::new(1, g.unsigned_abs()).0 as i64)
}

/// A fresh negative instance id (working copies and embedded messages).
pub fn new_instance_id(conn: &Connection, mailbox_id: i64) -> rusqlite::Result<i64> {
    conn.execute(
        "INSERT INTO instance_seq (mailbox_id) VALUES (?1)",
        [mailbox_id],
    )?;
    Ok(-conn.last_insert_rowid())
}

// ---------------------------------------------------------------------------------------
// Property bags
// ---------------------------------------------------------------------------------------

/// Sets one property, inline or chunked depending on its size; replaces any value of the
/// same property ID.
pub fn put_prop(
    conn: &Connection,
    mailbox_id: i64,
    kind: i64,
    object_id: i64,
    tag: PropertyTag,
    value: &PropertyValue,
) -> rusqlite::Result<()> {
    delete_prop(conn, mailbox_id, kind, object_id, tag.id())?;
    let tag = tag.with_type(value.ty());
    if let Some(raw) = blob_bytes(value).filter(|b| b.len() > INLINE_LIMIT) {
        let mut st = conn.prepare_cached("INSERT INTO blobs VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?;
        for (seq, chunk) in raw.chunks(CHUNK).enumerate() {
            st.execute(params![
                mailbox_id,
                kind,
                object_id,
                i64::from(tag.0),
                seq as i64,
                chunk
            ])?;
        }
        return Ok(());
    }
    let mut w = WriteCursor::new();
    encode_typed_value(value, &mut w, ValueContext::Rop)
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    conn.prepare_cached("INSERT INTO props VALUES (?1, ?2, ?3, ?4, ?5)")?
        .execute(params![
            mailbox_id,
            kind,
            object_id,
            i64::from(tag.0),
            w.into_inner()
        ])?;
    Ok(())
}

/// Deletes every value (inline or chunked) with this property ID; true when one existed.
pub fn delete_prop(
    conn: &Connection,
    mailbox_id: i64,
    kind: i64,
    object_id: i64,
    prop_id: u16,
) -> rusqlite::Result<bool> {
    let lo = i64::from(prop_id) << 16;
    let hi = lo + 0xFFFF;
    let a = conn
        .prepare_cached(
            "DELETE FROM props WHERE mailbox_id = ?1 AND kind = ?2 AND object_id = ?3
             AND tag BETWEEN ?4 AND ?5",
        )?
        .execute(params![mailbox_id, kind, object_id, lo, hi])?;
    let b = conn
        .prepare_cached(
            "DELETE FROM blobs WHERE mailbox_id = ?1 AND kind = ?2 AND object_id = ?3
             AND tag BETWEEN ?4 AND ?5",
        )?
        .execute(params![mailbox_id, kind, object_id, lo, hi])?;
    Ok(a + b > 0)
}

/// The inline (small) properties of an object; undecodable values are skipped.
pub fn inline_props(
    conn: &Connection,
    mailbox_id: i64,
    kind: i64,
    object_id: i64,
) -> rusqlite::Result<PropList> {
    let mut st = conn.prepare_cached(
        "SELECT tag, value FROM props WHERE mailbox_id = ?1 AND kind = ?2 AND object_id = ?3
         ORDER BY tag",
    )?;
    let rows = st.query_map(params![mailbox_id, kind, object_id], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (tag, blob) = row?;
        if let (Ok(tag), Some(v)) = (u32::try_from(tag), decode_value(&blob)) {
            out.push((PropertyTag(tag), v));
        }
    }
    Ok(out)
}

/// One inline property by ID.
pub fn inline_prop(
    conn: &Connection,
    mailbox_id: i64,
    kind: i64,
    object_id: i64,
    prop_id: u16,
) -> rusqlite::Result<Option<(PropertyTag, PropertyValue)>> {
    let lo = i64::from(prop_id) << 16;
    let row: Option<(i64, Vec<u8>)> = conn
        .prepare_cached(
            "SELECT tag, value FROM props WHERE mailbox_id = ?1 AND kind = ?2 AND object_id = ?3
             AND tag BETWEEN ?4 AND ?5",
        )?
        .query_row(params![mailbox_id, kind, object_id, lo, lo + 0xFFFF], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    Ok(row.and_then(|(t, b)| Some((PropertyTag(u32::try_from(t).ok()?), decode_value(&b)?))))
}

/// The chunked properties of an object with their byte sizes.
pub fn blob_props(
    conn: &Connection,
    mailbox_id: i64,
    kind: i64,
    object_id: i64,
) -> rusqlite::Result<Vec<(PropertyTag, u64)>> {
    // With one max() aggregate, SQLite takes the bare column from the row holding the max.
    let mut st = conn.prepare_cached(
        "SELECT tag, MAX(seq), length(data) FROM blobs WHERE mailbox_id = ?1 AND kind = ?2
         AND object_id = ?3 GROUP BY tag ORDER BY tag",
    )?;
    let rows = st.query_map(params![mailbox_id, kind, object_id], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, i64>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (tag, last, len) = row?;
        if let Ok(tag) = u32::try_from(tag) {
            out.push((PropertyTag(tag), logical_size(last, len)));
        }
    }
    Ok(out)
}

/// The size of a chunked value whose last row is `last` and `len` bytes long.
fn logical_size(last: i64, len: i64) -> u64 {
    last.unsigned_abs()
        .saturating_mul(CHUNK as u64)
        .saturating_add(len.unsigned_abs())
}

/// The chunked property with this ID, if any: its tag and size.
pub fn blob_prop(
    conn: &Connection,
    mailbox_id: i64,
    kind: i64,
    object_id: i64,
    prop_id: u16,
) -> rusqlite::Result<Option<(PropertyTag, u64)>> {
    Ok(blob_props(conn, mailbox_id, kind, object_id)?
        .into_iter()
        .find(|(t, _)| t.id() == prop_id))
}

/// Reads `len` bytes at `offset` of a chunked value, touching only the chunks involved
/// (missing chunks read as zeros).
pub fn read_blob(
    conn: &Connection,
    owner: BlobOwner,
    tag: PropertyTag,
    offset: u64,
    len: usize,
) -> rusqlite::Result<Vec<u8>> {
    let size = blob_size(conn, owner, tag)?;
    let end = offset.saturating_add(len as u64).min(size);
    let mut out = Vec::with_capacity(
        usize::try_from(end.saturating_sub(offset))
            .unwrap_or(0)
            .min(CHUNK * 2),
    );
    let chunk = CHUNK as u64;
    let mut pos = offset;
    while pos < end {
        let seq = pos / chunk;
        let start = usize::try_from(pos - seq * chunk).unwrap_or(0);
        let take = usize::try_from((end - pos).min(chunk - (pos - seq * chunk))).unwrap_or(0);
        match chunk_at(conn, owner, tag, seq)? {
            Some(data) => {
                let part = data.get(start..).unwrap_or_default();
                let n = part.len().min(take);
                out.extend_from_slice(&part[..n]);
                // Rows before the last are whole chunks; pad defensively all the same.
                out.resize(out.len() + (take - n), 0);
            }
            None => out.resize(out.len() + take, 0),
        }
        pos += take as u64;
    }
    Ok(out)
}

/// Writes `data` at `offset` of a chunked value, extending it if `offset` is past its end:
/// only the chunks written to (and the old last one, filled up to a whole chunk) are stored;
/// the gap between stays unstored and reads as zeros.
pub fn write_blob(
    conn: &Connection,
    owner: BlobOwner,
    tag: PropertyTag,
    offset: u64,
    data: &[u8],
) -> rusqlite::Result<()> {
    let size = blob_size(conn, owner, tag)?;
    let end = offset.saturating_add(data.len() as u64);
    if data.is_empty() {
        if offset > size {
            set_blob_size(conn, owner, tag, offset)?;
        }
        return Ok(());
    }
    let new_size = size.max(end);
    extend_last_chunk(conn, owner, tag, size, new_size)?;
    let chunk = CHUNK as u64;
    let last = (new_size - 1) / chunk;
    let mut pos = offset;
    let mut rest = data;
    while !rest.is_empty() {
        let seq = pos / chunk;
        let start = usize::try_from(pos - seq * chunk).unwrap_or(0);
        let mut cur = chunk_at(conn, owner, tag, seq)?.unwrap_or_default();
        let take = rest.len().min(CHUNK - start);
        let want = if seq < last {
            CHUNK
        } else {
            usize::try_from(new_size - seq * chunk).unwrap_or(CHUNK)
        };
        if cur.len() < want.max(start + take) {
            cur.resize(want.max(start + take), 0);
        }
        cur[start..start + take].copy_from_slice(&rest[..take]);
        put_chunk(conn, owner, tag, seq, &cur)?;
        rest = &rest[take..];
        pos += take as u64;
    }
    Ok(())
}

/// When a value grows from `size` to `new_size` past its last chunk, that chunk becomes an
/// inner one and is filled up to a whole chunk (at most one chunk of zeros).
fn extend_last_chunk(
    conn: &Connection,
    owner: BlobOwner,
    tag: PropertyTag,
    size: u64,
    new_size: u64,
) -> rusqlite::Result<()> {
    let chunk = CHUNK as u64;
    if new_size <= size {
        return Ok(());
    }
    let new_last = (new_size - 1) / chunk;
    if size == 0 {
        // The empty row of an empty value would become an inner row: the gap reads as zeros
        // without it.
        if new_last > 0 {
            conn.prepare_cached(
                "DELETE FROM blobs WHERE mailbox_id = ?1 AND kind = ?2 AND object_id = ?3
                 AND tag = ?4 AND seq = 0",
            )?
            .execute(owner.params(tag))?;
        }
        return Ok(());
    }
    let seq = (size - 1) / chunk;
    if seq == new_last {
        return Ok(());
    }
    let mut data = chunk_at(conn, owner, tag, seq)?.unwrap_or_default();
    if data.len() < CHUNK {
        data.resize(CHUNK, 0);
        put_chunk(conn, owner, tag, seq, &data)?;
    }
    Ok(())
}

/// Total size of a chunked value (0 when absent).
pub fn blob_size(conn: &Connection, owner: BlobOwner, tag: PropertyTag) -> rusqlite::Result<u64> {
    let last: Option<(i64, i64)> = conn
        .prepare_cached(
            "SELECT seq, length(data) FROM blobs WHERE mailbox_id = ?1 AND kind = ?2
             AND object_id = ?3 AND tag = ?4 ORDER BY seq DESC LIMIT 1",
        )?
        .query_row(owner.params(tag), |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    Ok(last.map_or(0, |(seq, len)| logical_size(seq, len)))
}

/// Truncates or extends a chunked value to `size` bytes. Extending stores only the new last
/// chunk (and fills the old last one up to a whole chunk): the gap reads as zeros.
pub fn set_blob_size(
    conn: &Connection,
    owner: BlobOwner,
    tag: PropertyTag,
    size: u64,
) -> rusqlite::Result<()> {
    let chunk = CHUNK as u64;
    let cur = blob_size(conn, owner, tag)?;
    if size < cur {
        let keep = size.div_ceil(chunk);
        conn.prepare_cached(
            "DELETE FROM blobs WHERE mailbox_id = ?1 AND kind = ?2 AND object_id = ?3
             AND tag = ?4 AND seq >= ?5",
        )?
        .execute(params![
            owner.mailbox_id,
            owner.kind,
            owner.object_id,
            i64::from(tag.0),
            keep as i64
        ])?;
        if keep > 0 {
            let last = keep - 1;
            let want = usize::try_from(size - last * chunk).unwrap_or(CHUNK);
            // The new last row must exist (a gap row is stored as zeros now).
            let mut data = chunk_at(conn, owner, tag, last)?.unwrap_or_default();
            data.resize(want, 0);
            put_chunk(conn, owner, tag, last, &data)?;
        }
        return Ok(());
    }
    if size > cur {
        extend_last_chunk(conn, owner, tag, cur, size)?;
        let seq = (size - 1) / chunk;
        let mut data = chunk_at(conn, owner, tag, seq)?.unwrap_or_default();
        data.resize(usize::try_from(size - seq * chunk).unwrap_or(CHUNK), 0);
        put_chunk(conn, owner, tag, seq, &data)?;
    }
    if size == 0 && cur == 0 {
        // An empty value still exists: one empty chunk.
        put_chunk(conn, owner, tag, 0, &[])?;
    }
    Ok(())
}

/// Number of `blobs` rows of a value (for tests and diagnostics).
pub fn blob_chunk_count(
    conn: &Connection,
    owner: BlobOwner,
    tag: PropertyTag,
) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT COUNT(*) FROM blobs WHERE mailbox_id = ?1 AND kind = ?2 AND object_id = ?3
         AND tag = ?4",
        owner.params(tag),
        |r| r.get(0),
    )
}

/// Whose chunked value: (mailbox, kind, object id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlobOwner {
    /// `folders.mailbox_id`.
    pub mailbox_id: i64,
    /// [`KIND_MESSAGE`] or [`KIND_ATTACHMENT`].
    pub kind: i64,
    /// Message instance id or attachment id.
    pub object_id: i64,
}

impl BlobOwner {
    fn params(self, tag: PropertyTag) -> [i64; 4] {
        [self.mailbox_id, self.kind, self.object_id, i64::from(tag.0)]
    }
}

fn chunk_at(
    conn: &Connection,
    owner: BlobOwner,
    tag: PropertyTag,
    seq: u64,
) -> rusqlite::Result<Option<Vec<u8>>> {
    conn.prepare_cached(
        "SELECT data FROM blobs WHERE mailbox_id = ?1 AND kind = ?2 AND object_id = ?3
         AND tag = ?4 AND seq = ?5",
    )?
    .query_row(
        params![
            owner.mailbox_id,
            owner.kind,
            owner.object_id,
            i64::from(tag.0),
            seq as i64
        ],
        |r| r.get(0),
    )
    .optional()
}

fn put_chunk(
    conn: &Connection,
    owner: BlobOwner,
    tag: PropertyTag,
    seq: u64,
    data: &[u8],
) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT OR REPLACE INTO blobs VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?
        .execute(params![
            owner.mailbox_id,
            owner.kind,
            owner.object_id,
            i64::from(tag.0),
            seq as i64,
            data
        ])?;
    Ok(())
}

/// The raw bytes a stream over this value carries (MS-OXCPRPT 2.2.14): binary as is,
/// 8-bit strings as is, Unicode strings as UTF-16LE without the terminator.
pub fn blob_bytes(v: &PropertyValue) -> Option<Vec<u8>> {
    match v {
        PropertyValue::Binary(b) | PropertyValue::String8(b) => Some(b.clone()),
        PropertyValue::Unicode(s) => Some(s.encode_utf16().flat_map(u16::to_le_bytes).collect()),
        _ => None,
    }
}

/// The value of raw stream bytes for a property type (the inverse of [`blob_bytes`]).
pub fn value_from_bytes(ty: PropertyType, bytes: Vec<u8>) -> Option<PropertyValue> {
    match ty.without_instance() {
        PropertyType::BINARY => Some(PropertyValue::Binary(bytes)),
        PropertyType::STRING8 => {
            let mut b = bytes;
            while b.last() == Some(&0) {
                b.pop();
            }
            Some(PropertyValue::String8(b))
        }
        PropertyType::UNICODE => {
            let mut units: Vec<u16> = bytes
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect();
            while units.last() == Some(&0) {
                units.pop();
            }
            Some(PropertyValue::Unicode(String::from_utf16_lossy(&units)))
        }
        _ => None,
    }
}

/// A stored TypedPropertyValue (ROP dialect) back to a value; `None` if it does not decode
/// exactly.
pub(crate) fn decode_value(blob: &[u8]) -> Option<PropertyValue> {
    let mut r = ReadCursor::new(blob);
    let v = decode_typed_value(&mut r, ValueContext::Rop).ok()?;
    r.is_empty().then_some(v)
}

/// Encodes a property list as concatenated TaggedPropertyValues (recipient rows).
pub fn encode_prop_list(props: &[(PropertyTag, PropertyValue)]) -> Vec<u8> {
    let mut w = WriteCursor::new();
    for (tag, v) in props {
        let tv = oxmapi_wire::data::TaggedPropertyValue::new(*tag, v.clone());
        // A value whose type matches its own tag always encodes.
        let _ = tv.encode(&mut w, ValueContext::Rop);
    }
    w.into_inner()
}

/// Decodes concatenated TaggedPropertyValues; stops at the first undecodable one.
pub fn decode_prop_list(blob: &[u8]) -> PropList {
    let mut r = ReadCursor::new(blob);
    let mut out = Vec::new();
    while !r.is_empty() {
        match oxmapi_wire::data::TaggedPropertyValue::decode(&mut r, ValueContext::Rop) {
            Ok(tv) => out.push((tv.tag, tv.value)),
            Err(_) => break,
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Recipients (MS-OXCMSG 2.2.1.? recipient properties; rows of MS-OXCDATA 2.8.3)
// ---------------------------------------------------------------------------------------

/// One recipient of a message instance.
#[derive(Debug, Clone, PartialEq)]
pub struct Recipient {
    /// RowId (MS-OXCROPS 2.2.6.5.1.1), stable per message.
    pub row_id: u32,
    /// PidTagRecipientType (1 To, 2 Cc, 3 Bcc).
    pub recipient_type: u8,
    /// The recipient's properties.
    pub props: PropList,
}

/// Recipients in RowId order.
pub fn recipients(
    conn: &Connection,
    mailbox_id: i64,
    mid: i64,
) -> rusqlite::Result<Vec<Recipient>> {
    let mut st = conn.prepare_cached(
        "SELECT row_id, recipient_type, props FROM recipients WHERE mailbox_id = ?1 AND mid = ?2
         ORDER BY row_id",
    )?;
    let rows = st.query_map(params![mailbox_id, mid], |r| {
        Ok(Recipient {
            row_id: u32::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
            recipient_type: u8::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
            props: decode_prop_list(&r.get::<_, Vec<u8>>(2)?),
        })
    })?;
    rows.collect()
}

/// Inserts or replaces a recipient.
pub fn put_recipient(
    conn: &Connection,
    mailbox_id: i64,
    mid: i64,
    rcpt: &Recipient,
) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT OR REPLACE INTO recipients VALUES (?1, ?2, ?3, ?4, ?5)")?
        .execute(params![
            mailbox_id,
            mid,
            i64::from(rcpt.row_id),
            i64::from(rcpt.recipient_type),
            encode_prop_list(&rcpt.props)
        ])?;
    Ok(())
}

/// Removes one recipient (by RowId) or all (`None`).
pub fn delete_recipients(
    conn: &Connection,
    mailbox_id: i64,
    mid: i64,
    row_id: Option<u32>,
) -> rusqlite::Result<usize> {
    match row_id {
        Some(id) => conn.execute(
            "DELETE FROM recipients WHERE mailbox_id = ?1 AND mid = ?2 AND row_id = ?3",
            params![mailbox_id, mid, i64::from(id)],
        ),
        None => conn.execute(
            "DELETE FROM recipients WHERE mailbox_id = ?1 AND mid = ?2",
            params![mailbox_id, mid],
        ),
    }
}

// ---------------------------------------------------------------------------------------
// Attachments
// ---------------------------------------------------------------------------------------

/// One attachment row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttachmentRow {
    /// Object id of the attachment's property bag.
    pub att_id: i64,
    /// PidTagAttachNumber.
    pub attach_num: u32,
    /// The embedded message instance, for ATTACH_EMBEDDED_MSG.
    pub embedded: Option<i64>,
}

/// Attachments of a message instance in attach-number order.
pub fn attachments(
    conn: &Connection,
    mailbox_id: i64,
    mid: i64,
) -> rusqlite::Result<Vec<AttachmentRow>> {
    let mut st = conn.prepare_cached(
        "SELECT att_id, attach_num, embedded_mid FROM attachments WHERE mailbox_id = ?1
         AND mid = ?2 ORDER BY attach_num",
    )?;
    let rows = st.query_map(params![mailbox_id, mid], attachment_row)?;
    rows.collect()
}

/// One attachment by number.
pub fn attachment(
    conn: &Connection,
    mailbox_id: i64,
    mid: i64,
    attach_num: u32,
) -> rusqlite::Result<Option<AttachmentRow>> {
    conn.prepare_cached(
        "SELECT att_id, attach_num, embedded_mid FROM attachments WHERE mailbox_id = ?1
         AND mid = ?2 AND attach_num = ?3",
    )?
    .query_row(
        params![mailbox_id, mid, i64::from(attach_num)],
        attachment_row,
    )
    .optional()
}

/// One attachment by id (mailbox, owner instance and row).
pub fn attachment_by_id(
    conn: &Connection,
    att_id: i64,
) -> rusqlite::Result<Option<(i64, i64, AttachmentRow)>> {
    conn.query_row(
        "SELECT att_id, attach_num, embedded_mid, mailbox_id, mid FROM attachments
         WHERE att_id = ?1",
        [att_id],
        |r| Ok((r.get(3)?, r.get(4)?, attachment_row(r)?)),
    )
    .optional()
}

fn attachment_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AttachmentRow> {
    Ok(AttachmentRow {
        att_id: r.get(0)?,
        attach_num: u32::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
        embedded: r.get(2)?,
    })
}

/// Creates an attachment with the next attach number; returns it.
pub fn create_attachment(
    conn: &Connection,
    mailbox_id: i64,
    mid: i64,
) -> rusqlite::Result<AttachmentRow> {
    let num: i64 = conn.query_row(
        "SELECT COALESCE(MAX(attach_num) + 1, 0) FROM attachments WHERE mailbox_id = ?1 AND mid = ?2",
        params![mailbox_id, mid],
        |r| r.get(0),
    )?;
    conn.execute(
        "INSERT INTO attachments (mailbox_id, mid, attach_num) VALUES (?1, ?2, ?3)",
        params![mailbox_id, mid, num],
    )?;
    Ok(AttachmentRow {
        att_id: conn.last_insert_rowid(),
        attach_num: u32::try_from(num).unwrap_or(0),
        embedded: None,
    })
}

/// Sets the embedded message instance of an attachment.
pub fn set_embedded(conn: &Connection, att_id: i64, embedded: i64) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE attachments SET embedded_mid = ?1 WHERE att_id = ?2",
        params![embedded, att_id],
    )?;
    Ok(())
}

/// Deletes an attachment with its values and embedded message.
pub fn delete_attachment(conn: &Connection, mailbox_id: i64, att_id: i64) -> rusqlite::Result<()> {
    let embedded: Option<Option<i64>> = conn
        .query_row(
            "SELECT embedded_mid FROM attachments WHERE att_id = ?1",
            [att_id],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(Some(e)) = embedded {
        delete_instance(conn, mailbox_id, e)?;
    }
    delete_bag(conn, mailbox_id, KIND_ATTACHMENT, att_id)?;
    conn.execute("DELETE FROM attachments WHERE att_id = ?1", [att_id])?;
    Ok(())
}

fn delete_bag(conn: &Connection, mailbox_id: i64, kind: i64, id: i64) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "DELETE FROM props WHERE mailbox_id = ?1 AND kind = ?2 AND object_id = ?3",
    )?
    .execute(params![mailbox_id, kind, id])?;
    conn.prepare_cached(
        "DELETE FROM blobs WHERE mailbox_id = ?1 AND kind = ?2 AND object_id = ?3",
    )?
    .execute(params![mailbox_id, kind, id])?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Whole instances
// ---------------------------------------------------------------------------------------

/// Deletes a message instance's values, recipients and attachments (not its `messages` row).
pub fn delete_instance(conn: &Connection, mailbox_id: i64, mid: i64) -> rusqlite::Result<()> {
    for a in attachments(conn, mailbox_id, mid)? {
        delete_attachment(conn, mailbox_id, a.att_id)?;
    }
    delete_recipients(conn, mailbox_id, mid, None)?;
    delete_bag(conn, mailbox_id, KIND_MESSAGE, mid)
}

/// Copies a message instance (values, recipients, attachments and embedded messages,
/// chunked values by SQL without loading them) to `dst` in `dst_mb`, which must be empty.
/// Named property IDs are remapped when the mailboxes differ.
pub fn copy_instance(
    conn: &Connection,
    src_mb: i64,
    src: i64,
    dst_mb: i64,
    dst: i64,
) -> rusqlite::Result<()> {
    copy_bag(conn, src_mb, KIND_MESSAGE, src, dst_mb, dst)?;
    for mut r in recipients(conn, src_mb, src)? {
        for (tag, _) in &mut r.props {
            *tag = map_tag(conn, src_mb, dst_mb, *tag)?;
        }
        put_recipient(conn, dst_mb, dst, &r)?;
    }
    for a in attachments(conn, src_mb, src)? {
        let embedded = match a.embedded {
            Some(e) => {
                let id = new_instance_id(conn, dst_mb)?;
                copy_instance(conn, src_mb, e, dst_mb, id)?;
                Some(id)
            }
            None => None,
        };
        conn.execute(
            "INSERT INTO attachments (mailbox_id, mid, attach_num, embedded_mid) VALUES (?1, ?2, ?3, ?4)",
            params![dst_mb, dst, i64::from(a.attach_num), embedded],
        )?;
        let new_att = conn.last_insert_rowid();
        copy_bag(conn, src_mb, KIND_ATTACHMENT, a.att_id, dst_mb, new_att)?;
    }
    Ok(())
}

/// A fresh working-copy id: like [`new_instance_id`], but remembered until
/// [`forget_working`] so a crash cannot leave it behind.
pub fn new_working_id(conn: &Connection, mailbox_id: i64) -> rusqlite::Result<i64> {
    conn.execute(
        "INSERT INTO instance_seq (mailbox_id, working) VALUES (?1, 1)",
        [mailbox_id],
    )?;
    Ok(-conn.last_insert_rowid())
}

/// The working copy `id` was committed or discarded.
pub fn forget_working(conn: &Connection, id: i64) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM instance_seq WHERE id = ?1", [-id])?;
    Ok(())
}

/// Renames instance `from` to `to` within a mailbox (`to` must be empty): the commit of a
/// working copy. Attachment ids stay the same.
pub fn move_instance(
    conn: &Connection,
    mailbox_id: i64,
    from: i64,
    to: i64,
) -> rusqlite::Result<()> {
    for table in ["props", "blobs"] {
        conn.execute(
            &format!(
                "UPDATE {table} SET object_id = ?3 WHERE mailbox_id = ?1 AND kind = {KIND_MESSAGE}
                 AND object_id = ?2"
            ),
            params![mailbox_id, from, to],
        )?;
    }
    for table in ["recipients", "attachments"] {
        conn.execute(
            &format!("UPDATE {table} SET mid = ?3 WHERE mailbox_id = ?1 AND mid = ?2"),
            params![mailbox_id, from, to],
        )?;
    }
    Ok(())
}

fn copy_bag(
    conn: &Connection,
    src_mb: i64,
    kind: i64,
    src: i64,
    dst_mb: i64,
    dst: i64,
) -> rusqlite::Result<()> {
    let named = src_mb != dst_mb
        && conn.query_row(
            "SELECT EXISTS(SELECT 1 FROM props WHERE mailbox_id = ?1 AND kind = ?2 AND object_id = ?3
             AND tag >= 2147483648) OR EXISTS(SELECT 1 FROM blobs WHERE mailbox_id = ?1 AND kind = ?2
             AND object_id = ?3 AND tag >= 2147483648)",
            params![src_mb, kind, src],
            |r| r.get::<_, bool>(0),
        )?;
    if !named {
        conn.execute(
            "INSERT INTO props SELECT ?4, kind, ?5, tag, value FROM props
             WHERE mailbox_id = ?1 AND kind = ?2 AND object_id = ?3",
            params![src_mb, kind, src, dst_mb, dst],
        )?;
        conn.execute(
            "INSERT INTO blobs SELECT ?4, kind, ?5, tag, seq, data FROM blobs
             WHERE mailbox_id = ?1 AND kind = ?2 AND object_id = ?3",
            params![src_mb, kind, src, dst_mb, dst],
        )?;
        return Ok(());
    }
    // Named properties: remap tag by tag (chunked values still copied by SQL).
    let tags: Vec<i64> = {
        let mut st = conn.prepare(
            "SELECT tag FROM props WHERE mailbox_id = ?1 AND kind = ?2 AND object_id = ?3
             UNION SELECT tag FROM blobs WHERE mailbox_id = ?1 AND kind = ?2 AND object_id = ?3",
        )?;
        let rows = st.query_map(params![src_mb, kind, src], |r| r.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for t in tags {
        let tag = PropertyTag(u32::try_from(t).unwrap_or(0));
        let to = i64::from(map_tag(conn, src_mb, dst_mb, tag)?.0);
        conn.execute(
            "INSERT INTO props SELECT ?4, kind, ?5, ?6, value FROM props
             WHERE mailbox_id = ?1 AND kind = ?2 AND object_id = ?3 AND tag = ?7",
            params![src_mb, kind, src, dst_mb, dst, to, t],
        )?;
        conn.execute(
            "INSERT INTO blobs SELECT ?4, kind, ?5, ?6, seq, data FROM blobs
             WHERE mailbox_id = ?1 AND kind = ?2 AND object_id = ?3 AND tag = ?7",
            params![src_mb, kind, src, dst_mb, dst, to, t],
        )?;
    }
    Ok(())
}

/// The tag of the same named property in another mailbox (created there if needed).
fn map_tag(
    conn: &Connection,
    src_mb: i64,
    dst_mb: i64,
    tag: PropertyTag,
) -> rusqlite::Result<PropertyTag> {
    if src_mb == dst_mb || tag.id() < 0x8000 {
        return Ok(tag);
    }
    match name_of(conn, src_mb, tag.id())? {
        Some(name) => {
            let id = id_of(conn, dst_mb, &name, true)?.unwrap_or(tag.id());
            Ok(PropertyTag::new(id, tag.ty()))
        }
        None => Ok(tag),
    }
}

// ---------------------------------------------------------------------------------------
// Named properties (MS-OXCPRPT 3.2.5.8, 3.2.5.9; MS-OXCDATA 2.6.1 PropertyName)
// ---------------------------------------------------------------------------------------

/// A property name: GUID plus a LID or a string name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamedProp {
    /// Kind 0x00: a long ID.
    Lid([u8; 16], u32),
    /// Kind 0x01: a string name.
    Name([u8; 16], String),
}

/// The property ID mapped to `name` in a mailbox; with `create`, maps a new ID
/// (0x8000 upwards) when there is none. `None` when unmapped (or the 0x8000 range is full).
pub fn id_of(
    conn: &Connection,
    mailbox_id: i64,
    name: &NamedProp,
    create: bool,
) -> rusqlite::Result<Option<u16>> {
    let (guid, kind, lid, text) = match name {
        NamedProp::Lid(g, l) => (g, 0, Some(i64::from(*l)), None),
        NamedProp::Name(g, s) => (g, 1, None, Some(s.as_str())),
    };
    let found: Option<i64> = conn
        .prepare_cached(
            "SELECT propid FROM named_props WHERE mailbox_id = ?1 AND guid = ?2 AND kind = ?3
             AND lid IS ?4 AND name IS ?5",
        )?
        .query_row(params![mailbox_id, guid.as_slice(), kind, lid, text], |r| {
            r.get(0)
        })
        .optional()?;
    if let Some(id) = found {
        return Ok(u16::try_from(id).ok());
    }
    if !create {
        return Ok(None);
    }
    let next: i64 = conn.query_row(
        "SELECT COALESCE(MAX(propid) + 1, 32768) FROM named_props WHERE mailbox_id = ?1",
        [mailbox_id],
        |r| r.get(0),
    )?;
    if next > 0xFFFE {
        return Ok(None);
    }
    conn.execute(
        "INSERT INTO named_props VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![mailbox_id, next, guid.as_slice(), kind, lid, text],
    )?;
    Ok(u16::try_from(next).ok())
}

/// The name mapped to a property ID in a mailbox.
pub fn name_of(
    conn: &Connection,
    mailbox_id: i64,
    prop_id: u16,
) -> rusqlite::Result<Option<NamedProp>> {
    type NameRow = (Vec<u8>, i64, Option<i64>, Option<String>);
    let row: Option<NameRow> = conn
        .prepare_cached(
            "SELECT guid, kind, lid, name FROM named_props WHERE mailbox_id = ?1 AND propid = ?2",
        )?
        .query_row(params![mailbox_id, i64::from(prop_id)], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .optional()?;
    Ok(row.and_then(|(g, kind, lid, name)| {
        let guid: [u8; 16] = g.as_slice().try_into().ok()?;
        match (kind, lid, name) {
            (0, Some(l), _) => Some(NamedProp::Lid(guid, u32::try_from(l).ok()?)),
            (1, _, Some(n)) => Some(NamedProp::Name(guid, n)),
            _ => None,
        }
    }))
}

// ---------------------------------------------------------------------------------------
// Computed message values
// ---------------------------------------------------------------------------------------

/// PidTagMessageSize: the bytes of every value, recipient and attachment of an instance
/// (chunked values at their full size, unstored gaps included).
pub fn message_size(conn: &Connection, mailbox_id: i64, mid: i64) -> rusqlite::Result<i64> {
    let own: i64 = conn.query_row(
        &format!(
            "SELECT (SELECT COALESCE(SUM(length(value)), 0) FROM props WHERE mailbox_id = ?1 AND kind = 1 AND object_id = ?2)
                  + ({})
                  + (SELECT COALESCE(SUM(length(props)), 0) FROM recipients WHERE mailbox_id = ?1 AND mid = ?2)",
            logical_blob_bytes(KIND_MESSAGE)
        ),
        params![mailbox_id, mid],
        |r| r.get(0),
    )?;
    let mut total = own;
    for a in attachments(conn, mailbox_id, mid)? {
        total += attachment_size(conn, mailbox_id, a)?;
    }
    Ok(total)
}

/// A subquery: the sizes of the chunked values of object ?2 of `kind` in mailbox ?1, gaps
/// included (what a reader gets, not what is stored; see the module documentation).
fn logical_blob_bytes(kind: i64) -> String {
    format!(
        "SELECT COALESCE(SUM(last * {CHUNK} + len), 0) FROM (SELECT MAX(seq) AS last,
           length(data) AS len FROM blobs WHERE mailbox_id = ?1 AND kind = {kind}
           AND object_id = ?2 GROUP BY tag)"
    )
}

/// PidTagAttachSize: the bytes of an attachment's values (and embedded message).
pub fn attachment_size(
    conn: &Connection,
    mailbox_id: i64,
    a: AttachmentRow,
) -> rusqlite::Result<i64> {
    let own: i64 = conn.query_row(
        &format!(
            "SELECT (SELECT COALESCE(SUM(length(value)), 0) FROM props WHERE mailbox_id = ?1 AND kind = 2 AND object_id = ?2)
                  + ({})",
            logical_blob_bytes(KIND_ATTACHMENT)
        ),
        params![mailbox_id, a.att_id],
        |r| r.get(0),
    )?;
    Ok(match a.embedded {
        Some(e) => own + message_size(conn, mailbox_id, e)?,
        None => own,
    })
}

/// Now as a FILETIME (100 ns since 1601).
pub fn now_filetime() -> u64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (d.as_secs() + 11_644_473_600) * 10_000_000 + u64::from(d.subsec_nanos() / 100)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn conn() -> Connection {
        let c = Connection::open_in_memory().expect("sqlite");
        super::super::schema::migrate(&c).expect("schema");
        c
    }

    const OWNER: BlobOwner = BlobOwner {
        mailbox_id: 1,
        kind: KIND_ATTACHMENT,
        object_id: 7,
    };
    const TAG: PropertyTag = PropertyTag(0x3701_0102);

    #[derive(Debug, Clone)]
    enum Op {
        Write(u64, Vec<u8>),
        Resize(u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (
                0u64..200_000,
                proptest::collection::vec(any::<u8>(), 0..70_000)
            )
                .prop_map(|(o, d)| Op::Write(o, d)),
            (0u64..250_000).prop_map(Op::Resize),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Chunked writes, truncations and extensions behave like one flat buffer, every
        /// stored row but the last is exactly one CHUNK, and extending never stores the gap.
        #[test]
        fn chunked_value_matches_a_flat_model(ops in proptest::collection::vec(op(), 1..8)) {
            let c = conn();
            let mut model: Vec<u8> = Vec::new();
            for op in ops {
                match op {
                    Op::Write(at, data) => {
                        write_blob(&c, OWNER, TAG, at, &data).expect("write");
                        let at = at as usize;
                        if model.len() < at + data.len() {
                            model.resize(at + data.len(), 0);
                        }
                        model[at..at + data.len()].copy_from_slice(&data);
                    }
                    Op::Resize(n) => {
                        set_blob_size(&c, OWNER, TAG, n).expect("resize");
                        model.resize(n as usize, 0);
                    }
                }
                prop_assert_eq!(blob_size(&c, OWNER, TAG).expect("size"), model.len() as u64);
            }
            let all = read_blob(&c, OWNER, TAG, 0, model.len() + 10).expect("read");
            prop_assert_eq!(&all, &model);
            let mid = model.len() / 3;
            let part = read_blob(&c, OWNER, TAG, mid as u64, 1000).expect("read");
            prop_assert_eq!(&part[..], &model[mid..(mid + 1000).min(model.len())]);
            let rows: Vec<i64> = c
                .prepare("SELECT length(data) FROM blobs ORDER BY seq")
                .expect("sql")
                .query_map([], |r| r.get(0))
                .expect("sql")
                .collect::<rusqlite::Result<_>>()
                .expect("rows");
            if let Some((_, full)) = rows.split_last() {
                prop_assert!(full.iter().all(|&n| n as usize == CHUNK));
            }
        }
    }

    /// Extending a value (a size set far past the end, a write far past the end) stores at
    /// most the chunks written and one filled-up chunk, never the gap; the gap reads as zeros.
    #[test]
    fn extending_stores_no_gap() {
        let c = conn();
        set_blob_size(&c, OWNER, TAG, 64 << 20).expect("resize");
        assert_eq!(blob_size(&c, OWNER, TAG).expect("size"), 64 << 20);
        assert_eq!(blob_chunk_count(&c, OWNER, TAG).expect("rows"), 1);
        let stored: i64 = c
            .query_row("SELECT SUM(length(data)) FROM blobs", [], |r| r.get(0))
            .expect("sum");
        assert!(stored <= CHUNK as i64, "{stored} bytes stored");
        write_blob(&c, OWNER, TAG, 100 << 20, b"tail").expect("write");
        assert_eq!(blob_size(&c, OWNER, TAG).expect("size"), (100 << 20) + 4);
        assert!(blob_chunk_count(&c, OWNER, TAG).expect("rows") <= 3);
        let mid = read_blob(&c, OWNER, TAG, 80 << 20, 10).expect("read");
        assert_eq!(mid, vec![0; 10]);
        let end = read_blob(&c, OWNER, TAG, (100 << 20) - 2, 100).expect("read");
        assert_eq!(end, b"\0\0tail");
        set_blob_size(&c, OWNER, TAG, (10 << 20) + 5).expect("truncate");
        assert_eq!(blob_size(&c, OWNER, TAG).expect("size"), (10 << 20) + 5);
        assert_eq!(
            read_blob(&c, OWNER, TAG, 10 << 20, 100).expect("read"),
            vec![0; 5]
        );
    }

    #[test]
    fn values_round_trip_through_chunks_and_prop_lists() {
        let c = conn();
        let big = "Grüße ½ €".repeat(4000);
        put_prop(
            &c,
            1,
            KIND_MESSAGE,
            5,
            PropertyTag(0x1000_001F),
            &PropertyValue::Unicode(big.clone()),
        )
        .expect("put");
        assert!(
            inline_props(&c, 1, KIND_MESSAGE, 5)
                .expect("inline")
                .is_empty()
        );
        let (tag, size) = blob_props(&c, 1, KIND_MESSAGE, 5).expect("blobs")[0];
        let owner = BlobOwner {
            mailbox_id: 1,
            kind: KIND_MESSAGE,
            object_id: 5,
        };
        let bytes = read_blob(&c, owner, tag, 0, size as usize).expect("read");
        assert_eq!(
            value_from_bytes(tag.ty(), bytes),
            Some(PropertyValue::Unicode(big))
        );
        // Setting a small value replaces the chunked one.
        put_prop(
            &c,
            1,
            KIND_MESSAGE,
            5,
            PropertyTag(0x1000_001F),
            &PropertyValue::Unicode("s".into()),
        )
        .expect("put");
        assert!(
            blob_props(&c, 1, KIND_MESSAGE, 5)
                .expect("blobs")
                .is_empty()
        );
        let list = vec![
            (
                PropertyTag(0x3001_001F),
                PropertyValue::Unicode("Bob".into()),
            ),
            (PropertyTag(0x0C15_0003), PropertyValue::Int32(1)),
        ];
        assert_eq!(decode_prop_list(&encode_prop_list(&list)), list);
    }

    #[test]
    fn named_ids_are_per_mailbox_and_stable() {
        let c = conn();
        let n = NamedProp::Name([1; 16], "X".into());
        assert_eq!(id_of(&c, 1, &n, false).expect("q"), None);
        assert_eq!(id_of(&c, 1, &n, true).expect("q"), Some(0x8000));
        assert_eq!(
            id_of(&c, 1, &NamedProp::Lid([1; 16], 5), true).expect("q"),
            Some(0x8001)
        );
        assert_eq!(id_of(&c, 1, &n, true).expect("q"), Some(0x8000));
        assert_eq!(
            id_of(&c, 2, &NamedProp::Lid([1; 16], 5), true).expect("q"),
            Some(0x8000)
        );
        assert_eq!(name_of(&c, 1, 0x8000).expect("q"), Some(n));
    }
}
