//! Reading a server table (MS-OXCTABL) in large batches: RopSetColumns, optional RopRestrict
//! and RopSortTable, then RopQueryRows with a big RowCount, decoding every chained
//! RPC_HEADER_EXT segment of the response (MS-OXCRPC 3.1.4.2.1.1), and looping until the
//! table says it is done — a server may return far fewer rows per RopQueryRows than asked.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use oxmapi_wire::data::{PropertyRow, PropertyTag, Restriction};
use oxmapi_wire::rop::{
    QueryRowsRequest, QueryRowsResponse, ResponseContext, RestrictRequest, RopResponse,
    RopResponseBuffer, SetColumnsRequest, SortOrderSet, SortTableRequest,
};

use crate::error::Error;
use crate::ropkit::{Batch, Replies, bad_data};
use crate::session::Session;

/// MS-OXCTABL 2.2.2.1.1: the cursor reached the end of the table.
const BOOKMARK_END: u8 = 0x02;

/// Rows asked for per RopQueryRows unless told otherwise (the most RowCount allows).
pub(crate) const DEFAULT_BATCH: u16 = 0xFFFF;

/// What a table listing cost on the wire, for benchmarks and reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TableStats {
    /// Execute requests that carried a RopQueryRows.
    pub query_requests: u64,
    /// RopQueryRows responses decoded (first buffer plus chained segments).
    pub segments: u64,
    /// Rows decoded.
    pub rows: u64,
    /// Rows the server returned a second time and the listing skipped: when rows are added
    /// ahead of the cursor while a table is read (mail arriving in a newest-first listing),
    /// a server may shift the cursor back over rows it already returned.
    pub repeated_rows: u64,
}

impl Session {
    /// What the mailbox channel has done on the network so far (HTTP round trips, bytes
    /// sent and received inside TLS), for reports and benchmarks.
    pub fn wire_stats(&self) -> oxmapi_transport::SessionStats {
        self.mailbox_stats()
    }
}

/// Shared counters behind [`TableStats`].
#[derive(Debug, Default)]
pub(crate) struct StatCounters {
    query_requests: AtomicU64,
    segments: AtomicU64,
    rows: AtomicU64,
    pub(crate) repeated_rows: AtomicU64,
}

impl StatCounters {
    pub(crate) fn snapshot(&self) -> TableStats {
        TableStats {
            query_requests: self.query_requests.load(Ordering::Relaxed),
            segments: self.segments.load(Ordering::Relaxed),
            rows: self.rows.load(Ordering::Relaxed),
            repeated_rows: self.repeated_rows.load(Ordering::Relaxed),
        }
    }
}

/// How to shape a table before reading it.
#[derive(Debug, Clone, Default)]
pub(crate) struct TableSpec {
    pub(crate) columns: Vec<PropertyTag>,
    pub(crate) restriction: Option<Restriction>,
    pub(crate) sort: Option<SortOrderSet>,
    pub(crate) batch: u16,
}

/// How to open a table: a batch whose first `prefix` requests open objects, the last of them
/// putting the table into `table_slot`; `owned_slots` are the slots of the handles those
/// requests create (released at close).
#[derive(Debug)]
pub(crate) struct TableOpen {
    pub(crate) step: &'static str,
    pub(crate) what: String,
    pub(crate) batch: Batch,
    pub(crate) prefix: usize,
    pub(crate) owned_slots: Vec<u8>,
    pub(crate) table_slot: u8,
    pub(crate) spec: TableSpec,
    pub(crate) stats: Arc<StatCounters>,
}

impl TableOpen {
    /// The usual shape: the batch opens one object into slot 1 and the table into slot 2.
    pub(crate) fn on_slot_2(
        step: &'static str,
        what: String,
        batch: Batch,
        spec: TableSpec,
        stats: Arc<StatCounters>,
    ) -> Self {
        Self {
            step,
            what,
            batch,
            prefix: 2,
            owned_slots: vec![1, 2],
            table_slot: 2,
            spec,
            stats,
        }
    }
}

/// An open table on the server plus the handles that lead to it (released by [`close`]).
///
/// [`close`]: TableCursor::close
#[derive(Debug)]
pub(crate) struct TableCursor {
    /// Handles to release, the table's last.
    owned: Vec<u32>,
    table: u32,
    columns: Arc<[PropertyTag]>,
    batch: u16,
    done: bool,
    what: String,
    stats: Arc<StatCounters>,
}

impl TableCursor {
    /// Sends the opening batch shaped by its spec (SetColumns, Restrict, SortTable,
    /// QueryRows) and reads the first rows.
    pub(crate) async fn open(
        session: &mut Session,
        how: TableOpen,
    ) -> Result<(Self, Vec<PropertyRow>), Error> {
        let TableOpen {
            step,
            what,
            mut batch,
            prefix,
            owned_slots,
            table_slot,
            spec,
            stats,
        } = how;
        let columns: Arc<[PropertyTag]> = spec.columns.clone().into();
        let t = table_slot;
        batch.push(SetColumnsRequest {
            logon_id: 0,
            input_handle_index: t,
            set_columns_flags: 0,
            property_tags: spec.columns.clone(),
        });
        if let Some(r) = spec.restriction.clone() {
            batch.push(RestrictRequest {
                logon_id: 0,
                input_handle_index: t,
                restrict_flags: 0,
                restriction: Some(r),
            });
        }
        if let Some(s) = spec.sort.clone() {
            batch.push(SortTableRequest {
                logon_id: 0,
                input_handle_index: t,
                sort_table_flags: 0,
                sort_order_set: s,
            });
        }
        let batch_size = if spec.batch == 0 {
            DEFAULT_BATCH
        } else {
            spec.batch
        };
        batch.push_rows(query_rows(t, batch_size), &spec.columns);
        stats.query_requests.fetch_add(1, Ordering::Relaxed);
        let mut replies = batch.send(session, step).await?;
        let owned: Vec<u32> = owned_slots
            .into_iter()
            .filter_map(|s| replies.handle(s).ok())
            .collect();
        let mut cursor = Self {
            table: owned.last().copied().unwrap_or(u32::MAX),
            owned,
            columns,
            batch: batch_size,
            done: false,
            what,
            stats,
        };
        match cursor.first_rows(session, &mut replies, prefix, &spec, step) {
            Ok(rows) => Ok((cursor, rows)),
            Err(e) => {
                cursor.close(session).await;
                Err(e)
            }
        }
    }

    fn first_rows(
        &mut self,
        session: &mut Session,
        replies: &mut Replies,
        prefix: usize,
        spec: &TableSpec,
        step: &'static str,
    ) -> Result<Vec<PropertyRow>, Error> {
        let what = self.what.clone();
        let w = || what.clone();
        for _ in 0..prefix {
            replies.next(&w, |r| match r {
                RopResponse::Error(_) | RopResponse::BufferTooSmall(_) => Err(r),
                ok => Ok(ok),
            })?;
        }
        if self.table == u32::MAX {
            return Err(bad_data(
                step,
                format!("{what}: the server returned no table handle"),
            ));
        }
        replies.next(&w, |r| match r {
            RopResponse::SetColumns(_) => Ok(()),
            other => Err(other),
        })?;
        if spec.restriction.is_some() {
            replies.next(&w, |r| match r {
                RopResponse::Restrict(_) => Ok(()),
                other => Err(other),
            })?;
        }
        if spec.sort.is_some() {
            replies.next(&w, |r| match r {
                RopResponse::SortTable(_) => Ok(()),
                other => Err(other),
            })?;
        }
        let first = replies.next(&w, |r| match r {
            RopResponse::QueryRows(q) => Ok(q),
            other => Err(other),
        })?;
        let chained = std::mem::take(&mut replies.chained);
        self.absorb(session, step, first, &chained)
    }

    /// The column set of the rows.
    pub(crate) fn columns(&self) -> &Arc<[PropertyTag]> {
        &self.columns
    }

    /// True once the table has no more rows.
    pub(crate) fn is_done(&self) -> bool {
        self.done
    }

    /// Reads the next batch: one Execute with one RopQueryRows, every chained segment
    /// decoded. `Ok(None)` once the table is exhausted.
    pub(crate) async fn next_rows(
        &mut self,
        session: &mut Session,
        step: &'static str,
    ) -> Result<Option<Vec<PropertyRow>>, Error> {
        if self.done {
            return Ok(None);
        }
        let mut batch = Batch::new(vec![self.table]);
        batch.push_rows(query_rows(0, self.batch), &self.columns);
        self.stats.query_requests.fetch_add(1, Ordering::Relaxed);
        let mut replies = batch.send(session, step).await?;
        let what = self.what.clone();
        let first = replies.next(&|| what.clone(), |r| match r {
            RopResponse::QueryRows(q) => Ok(q),
            other => Err(other),
        })?;
        let chained = std::mem::take(&mut replies.chained);
        let rows = self.absorb(session, step, first, &chained)?;
        Ok(Some(rows))
    }

    /// Collects the rows of the first RopQueryRows response and of every chained segment;
    /// updates `done` from the last Origin (BOOKMARK_END) or an empty answer. Notifications
    /// in the chained segments go to the session's queue.
    fn absorb(
        &mut self,
        session: &mut Session,
        step: &'static str,
        first: QueryRowsResponse,
        chained: &[Vec<u8>],
    ) -> Result<Vec<PropertyRow>, Error> {
        let mut notifications = Vec::new();
        let rows = collect_rows(
            &self.columns,
            first,
            chained,
            &mut self.done,
            &mut notifications,
        );
        session.queue_notifications(step, notifications);
        let rows = rows.map_err(|e| Error::protocol(step, e))?;
        self.stats
            .segments
            .fetch_add(1 + chained.len() as u64, Ordering::Relaxed);
        self.stats
            .rows
            .fetch_add(rows.len() as u64, Ordering::Relaxed);
        Ok(rows)
    }

    /// Gives up the handles to release (the table's last) without sending anything: for an
    /// owner that is dropped and queues them with the session instead.
    pub(crate) fn take_owned(&mut self) -> Vec<u32> {
        self.done = true;
        std::mem::take(&mut self.owned)
    }

    /// Releases the table and the objects opened on the way, the table first, with the
    /// session's next request ([`Session::release_later`]: no request of their own).
    pub(crate) async fn close(&mut self, session: &mut Session) {
        let handles = std::mem::take(&mut self.owned);
        session.release_later(handles.into_iter().rev());
        self.done = true;
    }
}

fn query_rows(slot: u8, count: u16) -> QueryRowsRequest {
    QueryRowsRequest {
        logon_id: 0,
        input_handle_index: slot,
        query_rows_flags: 0,
        forward_read: 1,
        row_count: count,
    }
}

/// Decodes chained ROP output buffers, each holding one RopQueryRows response (MS-OXCRPC
/// 3.1.4.2.1.1), and appends their rows after `first`'s. Sets `done` when the last response
/// says BOOKMARK_END or when no rows came back at all (MS-OXCTABL 3.2.5.5: zero rows only at
/// the end of the table).
///
/// The RopNotify / RopPending responses a segment carries besides its answer (MS-OXCROPS
/// 2.2.14) are moved to `notifications`, also those of segments decoded before an error; a
/// segment may hold notifications only.
pub(crate) fn collect_rows(
    columns: &[PropertyTag],
    first: QueryRowsResponse,
    chained: &[Vec<u8>],
    done: &mut bool,
    notifications: &mut Vec<RopResponse>,
) -> Result<Vec<PropertyRow>, oxmapi_wire::DecodeError> {
    let mut origin = first.origin;
    let mut rows = first.rows;
    let ctx = [ResponseContext::QueryRows {
        columns: columns.to_vec(),
    }];
    for (i, payload) in chained.iter().enumerate() {
        let buf = RopResponseBuffer::decode(payload, &ctx)
            .map_err(|e| e.within("chained RPC_HEADER_EXT segment"))?;
        let (unsolicited, answers): (Vec<_>, Vec<_>) =
            buf.rops.into_iter().partition(RopResponse::is_unsolicited);
        let only_notifications = answers.is_empty() && !unsolicited.is_empty();
        notifications.extend(unsolicited);
        match answers.into_iter().next() {
            Some(RopResponse::QueryRows(q)) => {
                origin = q.origin;
                rows.extend(q.rows);
            }
            None if only_notifications => {}
            other => {
                return Err(oxmapi_wire::DecodeError::invalid(
                    "RopsList",
                    0,
                    format!(
                        "chained segment {} holds {:?}, not a RopQueryRows response",
                        i + 1,
                        other.map(|r| r.rop_id())
                    ),
                ));
            }
        }
    }
    *done = origin == BOOKMARK_END || rows.is_empty();
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxmapi_wire::data::{PropertyValue, RowValue, tags};
    use oxmapi_wire::rop::SetColumnsResponse;

    fn cols() -> Vec<PropertyTag> {
        vec![tags::PidTagSubject, tags::PidTagMessageSize]
    }

    fn rows(from: i32, n: i32) -> Vec<PropertyRow> {
        (from..from + n)
            .map(|i| {
                PropertyRow::from_values(vec![
                    RowValue::Value(PropertyValue::Unicode(format!("m{i}"))),
                    RowValue::Value(PropertyValue::Int32(i)),
                ])
            })
            .collect()
    }

    fn response(origin: u8, rows: Vec<PropertyRow>) -> QueryRowsResponse {
        QueryRowsResponse {
            input_handle_index: 0,
            origin,
            columns: cols(),
            rows,
        }
    }

    /// A chained segment's payload: a ROP output buffer holding one RopQueryRows response.
    fn segment(r: QueryRowsResponse) -> Vec<u8> {
        RopResponseBuffer {
            rops: vec![RopResponse::QueryRows(r)],
            handles: vec![7],
        }
        .to_bytes()
        .unwrap()
    }

    #[test]
    fn chained_segments_are_appended_in_order() {
        let chained = vec![
            segment(response(1, rows(3, 2))),
            segment(response(2, rows(5, 1))),
        ];
        let mut done = false;
        let got = collect_rows(
            &cols(),
            response(1, rows(0, 3)),
            &chained,
            &mut done,
            &mut Vec::new(),
        )
        .unwrap();
        assert_eq!(got, rows(0, 6));
        assert!(done, "the last segment said BOOKMARK_END");
    }

    #[test]
    fn not_done_until_the_table_says_so() {
        let mut done = true;
        let got = collect_rows(
            &cols(),
            response(1, rows(0, 127)),
            &[],
            &mut done,
            &mut Vec::new(),
        )
        .unwrap();
        assert_eq!(got.len(), 127);
        assert!(!done, "BOOKMARK_CURRENT with rows: more may follow");
        let got = collect_rows(
            &cols(),
            response(1, Vec::new()),
            &[],
            &mut done,
            &mut Vec::new(),
        )
        .unwrap();
        assert!(got.is_empty());
        assert!(done, "zero rows only at the end (MS-OXCTABL 3.2.5.5)");
    }

    #[test]
    fn truncated_chained_segments_are_typed_errors() {
        let seg = segment(response(2, rows(3, 2)));
        // RopSize: the ROP list ends there; cutting exactly the handle table off leaves a
        // valid buffer with no handles, every other cut is an error.
        let rop_size = usize::from(u16::from_le_bytes([seg[0], seg[1]]));
        for n in 0..seg.len() {
            let mut done = false;
            let r = collect_rows(
                &cols(),
                response(1, rows(0, 1)),
                &[seg[..n].to_vec()],
                &mut done,
                &mut Vec::new(),
            );
            if n == rop_size {
                assert_eq!(r.unwrap().len(), 3);
            } else {
                assert!(r.is_err(), "prefix {n} of {} accepted", seg.len());
            }
        }
    }

    #[test]
    fn inconsistent_segments_are_typed_errors() {
        // A segment that answers with another ROP.
        let other = RopResponseBuffer {
            rops: vec![RopResponse::SetColumns(SetColumnsResponse {
                input_handle_index: 0,
                table_status: 0,
            })],
            handles: vec![],
        }
        .to_bytes()
        .unwrap();
        let mut done = false;
        let e = collect_rows(
            &cols(),
            response(1, rows(0, 1)),
            &[other],
            &mut done,
            &mut Vec::new(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("RopId"), "{e}");
        // Rows laid out for other columns (an Int32 where a string is expected is cut short).
        let wrong = RopResponseBuffer {
            rops: vec![RopResponse::QueryRows(QueryRowsResponse {
                input_handle_index: 0,
                origin: 2,
                columns: vec![tags::PidTagMessageSize],
                rows: vec![PropertyRow::from_values(vec![RowValue::Value(
                    PropertyValue::Int32(0x0041_0041),
                )])],
            })],
            handles: vec![],
        }
        .to_bytes()
        .unwrap();
        assert!(
            collect_rows(
                &cols(),
                response(1, rows(0, 1)),
                &[wrong],
                &mut done,
                &mut Vec::new()
            )
            .is_err()
        );
        // Trailing garbage after the response.
        let mut trailing = segment(response(2, rows(3, 1)));
        let n = trailing.len();
        trailing.insert(n - 4, 0xAA);
        assert!(
            collect_rows(
                &cols(),
                response(1, rows(0, 1)),
                &[trailing],
                &mut done,
                &mut Vec::new()
            )
            .is_err()
        );
    }

    fn notify(handle: u32) -> RopResponse {
        use oxmapi_wire::rop::{NotificationData, NotificationType, NotifyResponse};
        let mut data = NotificationData::new(NotificationType::TableModified);
        data.table_event = Some(oxmapi_wire::rop::TableEventType::TableChanged);
        RopResponse::Notify(NotifyResponse {
            notification_handle: handle,
            logon_id: 0,
            data,
        })
    }

    /// Chained segments the way a server fills them while mail arrives: notifications around
    /// the RopQueryRows answer, a RopPending, and a segment of notifications only.
    #[test]
    fn notifications_in_chained_segments_are_handed_back() {
        use oxmapi_wire::rop::PendingResponse;
        let seg = |rops| {
            RopResponseBuffer {
                rops,
                handles: vec![7],
            }
            .to_bytes()
            .unwrap()
        };
        let chained = vec![
            seg(vec![
                notify(1),
                RopResponse::QueryRows(response(1, rows(3, 2))),
                notify(2),
                RopResponse::Pending(PendingResponse { session_index: 0 }),
            ]),
            seg(vec![notify(3)]),
            seg(vec![
                RopResponse::QueryRows(response(2, rows(5, 1))),
                notify(4),
            ]),
        ];
        let mut done = false;
        let mut notes = Vec::new();
        let got = collect_rows(
            &cols(),
            response(1, rows(0, 3)),
            &chained,
            &mut done,
            &mut notes,
        )
        .unwrap();
        assert_eq!(got, rows(0, 6));
        assert!(done);
        let handles: Vec<_> = notes
            .iter()
            .map(|n| match n {
                RopResponse::Notify(x) => x.notification_handle,
                _ => 0,
            })
            .collect();
        assert_eq!(
            handles,
            [1, 2, 0, 3, 4],
            "every unsolicited entry, in order"
        );
        // The session's queue takes them as `Session::queue_notifications` hands them over.
        let mut queue = crate::session::NotificationQueue::default();
        queue.absorb("list", &mut notes);
        assert!(notes.is_empty());
        let stats = queue.stats();
        assert_eq!((stats.queued, stats.pending_signals), (4, 1));
    }

    #[test]
    fn an_empty_chained_segment_is_still_an_error() {
        let empty = RopResponseBuffer {
            rops: Vec::new(),
            handles: vec![],
        }
        .to_bytes()
        .unwrap();
        let mut done = false;
        let r = collect_rows(
            &cols(),
            response(1, rows(0, 1)),
            &[empty],
            &mut done,
            &mut Vec::new(),
        );
        assert!(r.is_err());
    }
}
