//! Stream ROPs on message and attachment properties (MS-OXCPRPT 3.2.5.13 - 3.2.5.20).
//!
//! A stream works on the owner's current instance: reads come from the chunked value
//! (`blobs`) or, for a small value, from its inline copy; a writable stream first moves the
//! value into chunks of the owner's working copy, then every RopWriteStream rewrites only
//! the chunks it touches, so nothing is ever held whole. Writes land in the working copy
//! at once: RopCommitStream has nothing left to do, and the message commits with
//! RopSaveChangesMessage.
//!
//! Limits: a stream never grows beyond [`crate::Limits::max_stream_size`] (nor the 2^31
//! bytes of MS-OXCPRPT 3.2.5.18): RopSetStreamSize and RopWriteStream past it fail with
//! StreamSizeError, RopSeekStream past it with StreamSeekError, and nothing is written. A
//! stream that is only sized or seeked past its end (a seek extends a writable stream,
//! MS-OXCPRPT 3.2.5.18) stores no zeros for the gap (see [`crate::store::messages`]), and
//! growth that would take the mailbox past [`crate::Limits::mailbox_quota`] fails with
//! ecQuotaExceeded.

use oxmapi_wire::data::{ErrorCode, PropertyTag, PropertyType};
use oxmapi_wire::rop::{
    CommitStreamRequest, CommitStreamResponse, GetStreamSizeRequest, GetStreamSizeResponse,
    OpenStreamRequest, OpenStreamResponse, ReadStreamRequest, ReadStreamResponse, RopId,
    SeekStreamRequest, SeekStreamResponse, SetStreamSizeRequest, SetStreamSizeResponse,
    WriteStreamRequest, WriteStreamResponse, seek_origin,
};

use super::context::{EC_QUOTA_EXCEEDED, MailboxContext};
use super::msgobj;
use super::objects::{Bag, Object, StreamObj};
use super::step::{Step, WRITE_ROOM, fail, out_slot, reply, slot};
use crate::store::messages as m;
use crate::store::tx;
use crate::store::usage;

/// OpenModeFlags (MS-OXCPRPT 2.2.14.1): ReadOnly 0x00, ReadWrite 0x01, Create 0x02,
/// BestAccess 0x03.
const MODE_READ_WRITE: u8 = 0x01;
const MODE_CREATE: u8 = 0x02;
const MODE_BEST_ACCESS: u8 = 0x03;
/// STG_E_ACCESSDENIED: write to a read-only stream.
const STG_E_ACCESSDENIED: ErrorCode = ErrorCode(0x8003_0005);
/// MS-OXCDATA 2.4.1 StreamSizeError (STG_E_MEDIUMFULL): the maximum size of the object was
/// reached: a size that does not fit the 32-bit StreamSize, or a RopSetStreamSize /
/// RopWriteStream beyond the stream size limit.
const STREAM_SIZE_ERROR: ErrorCode = ErrorCode(0x8003_0070);
/// MS-OXCPRPT 3.2.5.18 StreamSeekError (STG_E_SEEKERROR): a seek before the start or
/// beyond the maximum stream size.
const STREAM_SEEK_ERROR: ErrorCode = ErrorCode(0x8003_0019);
/// MS-OXCPRPT 3.2.5.18 StreamInvalidParam (STG_E_INVALIDPARAMETER): an invalid Origin.
const STREAM_INVALID_PARAM: ErrorCode = ErrorCode(0x8003_0057);
/// MS-OXCPRPT 3.2.5.18: the seek pointer never moves beyond 2^31 bytes.
const SPEC_MAX_STREAM: u64 = 1 << 31;
/// RopReadStream response overhead: header 6 + DataSize 2.
const READ_OVERHEAD: usize = 8;

/// RopCommitStream (MS-OXCPRPT 3.2.5.16): writes are already in the owner's working copy.
pub(super) fn commit(
    ctx: &mut MailboxContext,
    handles: &[u32],
    q: &CommitStreamRequest,
    room: usize,
) -> Step {
    let (rop, idx) = (RopId::COMMIT_STREAM, q.input_handle_index);
    simple(ctx, handles, rop, idx, room, |_, _| Ok(())).map_or_else(
        |s| s,
        |()| {
            reply(
                rop,
                idx,
                &CommitStreamResponse {
                    input_handle_index: idx,
                },
            )
        },
    )
}

/// RopGetStreamSize (MS-OXCPRPT 3.2.5.17): a size beyond 32 bits is StreamSizeError.
pub(super) fn get_size(
    ctx: &mut MailboxContext,
    handles: &[u32],
    q: &GetStreamSizeRequest,
    room: usize,
) -> Step {
    let (rop, idx) = (RopId::GET_STREAM_SIZE, q.input_handle_index);
    simple(ctx, handles, rop, idx, room, size_of).map_or_else(
        |s| s,
        |size| match u32::try_from(size) {
            Ok(stream_size) => reply(
                rop,
                idx,
                &GetStreamSizeResponse {
                    input_handle_index: idx,
                    stream_size,
                },
            ),
            Err(_) => fail(rop, idx, STREAM_SIZE_ERROR),
        },
    )
}

/// RopSetStreamSize (MS-OXCPRPT 3.2.5.19): see [`set_size`].
pub(super) fn set_stream_size(
    ctx: &mut MailboxContext,
    handles: &[u32],
    q: &SetStreamSizeRequest,
    room: usize,
) -> Step {
    let (rop, idx) = (RopId::SET_STREAM_SIZE, q.input_handle_index);
    simple(ctx, handles, rop, idx, room, |ctx, h| {
        set_size(ctx, h, q.stream_size)
    })
    .map_or_else(
        |s| s,
        |()| {
            reply(
                rop,
                idx,
                &SetStreamSizeResponse {
                    input_handle_index: idx,
                },
            )
        },
    )
}

/// RopSeekStream (MS-OXCPRPT 3.2.5.18): see [`seek`].
pub(super) fn seek_stream(
    ctx: &mut MailboxContext,
    handles: &[u32],
    q: &SeekStreamRequest,
    room: usize,
) -> Step {
    let (rop, idx) = (RopId::SEEK_STREAM, q.input_handle_index);
    simple(ctx, handles, rop, idx, room, |ctx, h| seek(ctx, h, q)).map_or_else(
        |s| s,
        |new_position| {
            reply(
                rop,
                idx,
                &SeekStreamResponse {
                    input_handle_index: idx,
                    new_position,
                },
            )
        },
    )
}

/// Runs `f` on the stream at `index`; `Err(step)` is the failure response to send.
fn simple<T>(
    ctx: &mut MailboxContext,
    handles: &[u32],
    rop: RopId,
    index: u8,
    room: usize,
    f: impl FnOnce(&mut MailboxContext, u32) -> Result<T, ErrorCode>,
) -> Result<T, Step> {
    if room < WRITE_ROOM {
        return Err(Step::NoRoom(WRITE_ROOM));
    }
    let h = slot(handles, index).map_err(|ec| fail(rop, index, ec))?;
    f(ctx, h).map_err(|ec| fail(rop, index, ec))
}

fn stream(ctx: &MailboxContext, h: u32) -> Result<StreamObj, ErrorCode> {
    match ctx.handles.get(h)? {
        Object::Stream(s) => Ok((**s).clone()),
        _ => Err(ErrorCode::NO_SUPPORT),
    }
}

fn writable(ctx: &mut MailboxContext, h: u32) -> Result<(StreamObj, Bag), ErrorCode> {
    let s = stream(ctx, h)?;
    if !s.writable {
        return Err(STG_E_ACCESSDENIED);
    }
    let bag = msgobj::object_bag(ctx, s.owner, true)?;
    Ok((s, bag))
}

/// The largest size a stream may reach.
fn max_stream(ctx: &MailboxContext) -> u64 {
    ctx.limits.max_stream_size.min(SPEC_MAX_STREAM)
}

/// ecQuotaExceeded when growing a chunked value of `bag` from `size` to `new_size` bytes would
/// take the mailbox past its quota. What growth stores: the bytes written plus at most one
/// chunk of zeros (the old last chunk filled up, or the new last chunk of a mere resize).
fn check_growth(
    ctx: &MailboxContext,
    bag: Bag,
    size: u64,
    new_size: u64,
    written: usize,
) -> Result<(), ErrorCode> {
    if new_size <= size {
        return Ok(());
    }
    let stored = (written as u64).saturating_add(m::CHUNK as u64);
    ctx.check_quota(bag.mailbox_id, stored)
}

/// RopSetStreamSize (MS-OXCPRPT 2.2.20): truncates or extends the value; beyond the stream
/// size limit it is StreamSizeError (MS-OXCDATA 2.4.1) and nothing changes.
fn set_size(ctx: &mut MailboxContext, h: u32, size: u64) -> Result<(), ErrorCode> {
    if size > max_stream(ctx) {
        return Err(STREAM_SIZE_ERROR);
    }
    let (s, bag) = writable(ctx, h)?;
    let cur = ctx.with_conn(|c| m::blob_size(c, bag.owner(), s.tag))?;
    check_growth(ctx, bag, cur, size, 0)?;
    ctx.with_conn(|c| {
        tx::write(c, |c| {
            m::set_blob_size(c, bag.owner(), s.tag, size)?;
            Ok(())
        })
    })
}

fn set_pos(ctx: &mut MailboxContext, h: u32, pos: u64) -> Result<(), ErrorCode> {
    if let Object::Stream(s) = ctx.handles.get_mut(h)? {
        s.pos = pos;
    }
    Ok(())
}

/// The stream's data source: the chunked value's size, or the inline value's bytes.
enum Source {
    Chunked(u64),
    Inline(Vec<u8>),
}

fn source(ctx: &MailboxContext, bag: Bag, tag: PropertyTag) -> Result<Option<Source>, ErrorCode> {
    ctx.with_conn(|c| {
        if let Some((_, size)) = m::blob_prop(c, bag.mailbox_id, bag.kind, bag.id, tag.id())? {
            return Ok(Some(Source::Chunked(size)));
        }
        Ok(
            m::inline_prop(c, bag.mailbox_id, bag.kind, bag.id, tag.id())?
                .and_then(|(_, v)| m::blob_bytes(&v))
                .map(Source::Inline),
        )
    })
}

fn size_of(ctx: &mut MailboxContext, h: u32) -> Result<u64, ErrorCode> {
    let s = stream(ctx, h)?;
    let bag = msgobj::object_bag(ctx, s.owner, s.writable)?;
    Ok(match source(ctx, bag, s.tag)? {
        Some(Source::Chunked(n)) => n,
        Some(Source::Inline(b)) => b.len() as u64,
        None => 0,
    })
}

/// RopOpenStream (MS-OXCPRPT 3.2.5.13): binary and string properties only. A writable
/// stream moves the value into chunks of the working copy (Create empties it).
pub(super) fn open(
    ctx: &mut MailboxContext,
    handles: &mut [u32],
    q: &OpenStreamRequest,
    room: usize,
) -> Step {
    let rop = RopId::OPEN_STREAM;
    let out = q.output_handle_index;
    if room < WRITE_ROOM {
        return Step::NoRoom(WRITE_ROOM);
    }
    let result = (|| {
        let owner = slot(handles, q.input_handle_index)?;
        out_slot(handles, out)?;
        ctx.handles.room_for(false)?;
        let ty = q.property_tag.ty().without_instance();
        if ![
            PropertyType::BINARY,
            PropertyType::STRING8,
            PropertyType::UNICODE,
        ]
        .contains(&ty)
        {
            return Err(ErrorCode::NOT_FOUND);
        }
        let mode = q.open_mode_flags;
        let owner_writable = msgobj::is_writable(ctx, owner);
        let writable = match mode {
            MODE_READ_WRITE | MODE_CREATE if !owner_writable => return Err(ErrorCode::NO_ACCESS),
            MODE_READ_WRITE | MODE_CREATE => true,
            MODE_BEST_ACCESS => owner_writable,
            _ => false,
        };
        let bag = msgobj::object_bag(ctx, owner, writable)?;
        let tag = q.property_tag.with_type(ty);
        let src = source(ctx, bag, tag)?;
        let size = match (src, writable) {
            (None, false) => return Err(ErrorCode::NOT_FOUND),
            (Some(Source::Chunked(n)), false) => n,
            (Some(Source::Inline(b)), false) => b.len() as u64,
            (src, true) => ctx.with_conn(|c| {
                tx::write(c, |c| {
                    let keep = match src {
                        Some(Source::Inline(b)) if mode != MODE_CREATE => Some(b),
                        _ => None,
                    };
                    m::delete_prop(c, bag.mailbox_id, bag.kind, bag.id, tag.id())?;
                    m::set_blob_size(c, bag.owner(), tag, 0)?;
                    if let Some(b) = &keep {
                        m::write_blob(c, bag.owner(), tag, 0, b)?;
                    }
                    let n = if mode == MODE_CREATE {
                        0
                    } else {
                        m::blob_size(c, bag.owner(), tag)?
                    };
                    Ok(n)
                })
            })?,
        };
        let stream_size = u32::try_from(size).map_err(|_| STREAM_SIZE_ERROR)?;
        Ok((
            StreamObj {
                mailbox_id: bag.mailbox_id,
                owner,
                tag,
                writable,
                pos: 0,
            },
            stream_size,
        ))
    })();
    match result {
        Err(ec) => fail(rop, out, ec),
        Ok((s, stream_size)) => {
            match ctx.handles.insert(Object::Stream(Box::new(s))) {
                Ok(h) => handles[usize::from(out)] = h,
                Err(ec) => return fail(rop, out, ec),
            }
            reply(
                rop,
                out,
                &OpenStreamResponse {
                    output_handle_index: out,
                    stream_size,
                },
            )
        }
    }
}

/// RopReadStream (MS-OXCPRPT 3.2.5.14): up to ByteCount (or MaximumByteCount) bytes from
/// the seek pointer, limited by the response room; fewer at the end of the stream.
pub(super) fn read(
    ctx: &mut MailboxContext,
    handles: &[u32],
    q: &ReadStreamRequest,
    room: usize,
) -> Step {
    let rop = RopId::READ_STREAM;
    let idx = q.input_handle_index;
    let want = match (q.byte_count, q.maximum_byte_count) {
        (ReadStreamRequest::BYTE_COUNT_SENTINEL, Some(max)) => {
            usize::try_from(max).unwrap_or(usize::MAX)
        }
        (n, _) => usize::from(n),
    };
    let Some(space) = room.checked_sub(READ_OVERHEAD) else {
        return Step::NoRoom(READ_OVERHEAD);
    };
    let want = want.min(space).min(usize::from(u16::MAX));
    let result = (|| {
        let h = slot(handles, idx)?;
        let s = stream(ctx, h)?;
        let bag = msgobj::object_bag(ctx, s.owner, s.writable)?;
        let data = match source(ctx, bag, s.tag)? {
            Some(Source::Chunked(_)) => {
                ctx.with_conn(|c| m::read_blob(c, bag.owner(), s.tag, s.pos, want))?
            }
            Some(Source::Inline(b)) => {
                let start = usize::try_from(s.pos).unwrap_or(usize::MAX).min(b.len());
                let end = start.saturating_add(want).min(b.len());
                b.get(start..end).map(<[u8]>::to_vec).unwrap_or_default()
            }
            None => Vec::new(),
        };
        set_pos(ctx, h, s.pos + data.len() as u64)?;
        Ok(data)
    })();
    match result {
        Ok(data) => reply(
            rop,
            idx,
            &ReadStreamResponse {
                input_handle_index: idx,
                data,
            },
        ),
        Err(ec) => fail(rop, idx, ec),
    }
}

/// RopWriteStream (MS-OXCPRPT 3.2.5.15): writes at the seek pointer, touching only the
/// chunks involved. A write that would end beyond the stream size limit writes nothing and
/// fails with StreamSizeError.
pub(super) fn write(
    ctx: &mut MailboxContext,
    handles: &[u32],
    q: &WriteStreamRequest,
    room: usize,
) -> Step {
    let rop = RopId::WRITE_STREAM;
    let idx = q.input_handle_index;
    if room < WRITE_ROOM {
        return Step::NoRoom(WRITE_ROOM);
    }
    let result = (|| {
        let h = slot(handles, idx)?;
        let (s, bag) = writable(ctx, h)?;
        let end = s.pos.saturating_add(q.data.len() as u64);
        if end > max_stream(ctx) {
            return Err(STREAM_SIZE_ERROR);
        }
        let size = ctx.with_conn(|c| m::blob_size(c, bag.owner(), s.tag))?;
        check_growth(ctx, bag, size, end, q.data.len())?;
        ctx.with_conn(|c| {
            tx::write(c, |c| {
                m::write_blob(c, bag.owner(), s.tag, s.pos, &q.data)?;
                Ok(())
            })
        })?;
        set_pos(ctx, h, s.pos + q.data.len() as u64)?;
        Ok(u16::try_from(q.data.len()).unwrap_or(u16::MAX))
    })();
    match result {
        Ok(written_size) => reply(
            rop,
            idx,
            &WriteStreamResponse {
                input_handle_index: idx,
                written_size,
            },
        ),
        Err(ec) => fail(rop, idx, ec),
    }
}

/// RopSeekStream (MS-OXCPRPT 3.2.5.18): a position before the start or beyond the stream
/// size limit (at most 2^31) is StreamSeekError, an unknown Origin StreamInvalidParam.
///
/// "If the client requests the seek pointer be moved beyond the end of the stream, the stream
/// is extended, and zeros filled to the new seek location" (3.2.5.18): a writable stream's
/// value is extended to the new position like RopSetStreamSize does, sparsely (the gap is not
/// stored and reads as zeros, see [`crate::store::messages`]). An extension that would take
/// the mailbox past [`crate::Limits::mailbox_quota`] fails with ecQuotaExceeded and changes
/// nothing, the position included. A read-only stream cannot grow: its seek pointer moves and
/// reads there return no bytes.
fn seek(ctx: &mut MailboxContext, h: u32, q: &SeekStreamRequest) -> Result<u64, ErrorCode> {
    let s = stream(ctx, h)?;
    let base = match q.origin {
        seek_origin::BEGINNING => 0i128,
        seek_origin::CURRENT => i128::from(s.pos),
        seek_origin::END => i128::from(size_of(ctx, h)?),
        _ => return Err(STREAM_INVALID_PARAM),
    };
    let target = base + i128::from(q.offset);
    let pos = u64::try_from(target)
        .ok()
        .filter(|&p| p <= max_stream(ctx))
        .ok_or(STREAM_SEEK_ERROR)?;
    if s.writable {
        let (s, bag) = writable(ctx, h)?;
        let quota = ctx.limits.mailbox_quota;
        let extended = ctx.with_conn(|c| {
            if pos <= m::blob_size(c, bag.owner(), s.tag)? {
                return Ok(Ok(()));
            }
            usage::within_quota(c, bag.mailbox_id, quota, |c| {
                m::set_blob_size(c, bag.owner(), s.tag, pos)
            })
        })?;
        extended.map_err(|over| {
            tracing::info!(
                user = %ctx.user.alias,
                mailbox_id = over.mailbox_id,
                used = over.used,
                would_hold = over.would_hold,
                quota = over.quota,
                "mailbox quota reached: stream not extended by a seek"
            );
            EC_QUOTA_EXCEEDED
        })?;
    }
    set_pos(ctx, h, pos)?;
    Ok(pos)
}
