//! Server-side limits on store work, over MAPI/HTTP on 127.0.0.1: the per-request store time
//! budget (RopBackoff, MS-OXCROPS 3.2.4.2) while other sessions keep being served, the
//! per-session object and table caps (ecMaxObjsExceeded), stream, message and mailbox sizes
//! (StreamSizeError, StreamSeekError, ecTooBig, ecQuotaExceeded) on saves, stream writes and
//! seeks, message and folder copies and local delivery, and the store's file modes.
//!
//! Times are only compared with each other within one run; nothing asserts a wall-clock
//! threshold.

mod infra_support;

use std::path::Path;
use std::time::{Duration, Instant};

use infra_support::*;
use oxmapi_server::store::deliver::{NewAttachment, NewMessage};
use oxmapi_server::store::usage::mailbox_bytes;
use oxmapi_server::store::{Store, UserRecord};
use oxmapi_server::{Limits, ServerConfig};
use oxmapi_wire::WriteCursor;
use oxmapi_wire::data::{
    ErrorCode, FolderId, MessageId, PropertyTag, PropertyValue, ValueContext, encode_typed_value,
    tags,
};
use oxmapi_wire::rop::{
    CopyFolderRequest, CreateFolderRequest, CreateMessageRequest, GetContentsTableRequest,
    GetPropertiesSpecificRequest, GetStreamSizeRequest, MoveCopyMessagesRequest, OpenFolderRequest,
    OpenMessageRequest, OpenStreamRequest, QueryRowsRequest, ReadStreamRequest, ReleaseRequest,
    RopId, RopRequest, RopResponse, SaveChangesMessageRequest, SeekStreamRequest,
    SetColumnsRequest, SetStreamSizeRequest, SortOrder, SortOrderSet, SortTableRequest,
    SubmitMessageRequest, WriteStreamRequest, folder_type, seek_origin,
};

const NULL: u32 = 0xFFFF_FFFF;
/// Messages in the heavy mailbox.
const ROWS: usize = 20_000;
/// MS-OXCDATA 2.4.2 ecMaxObjsExceeded.
const EC_MAX_OBJS_EXCEEDED: ErrorCode = ErrorCode(0x0000_04DE);
/// MS-OXCDATA 2.4.2 ecQuotaExceeded.
const EC_QUOTA_EXCEEDED: ErrorCode = ErrorCode(0x0000_04D9);
/// MS-OXCDATA 2.4.1 StreamSizeError.
const STREAM_SIZE_ERROR: ErrorCode = ErrorCode(0x8003_0070);
/// MS-OXCPRPT 3.2.5.18 StreamSeekError.
const STREAM_SEEK_ERROR: ErrorCode = ErrorCode(0x8003_0019);
/// Special folder numbers (`folders.special`).
const INBOX: i64 = 5;
const SENT_ITEMS: i64 = 7;
const DRAFTS: i64 = 11;

async fn start_with(limits: Limits) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::new(dir.path());
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.limits = limits;
    let server = oxmapi_server::serve(config).await.unwrap();
    let alice = server
        .store()
        .add_user("alice", "Alice Example", ALICE_PASSWORD)
        .unwrap();
    let bob = server
        .store()
        .add_user("bob", "Bob Builder", BOB_PASSWORD)
        .unwrap();
    TestServer {
        server,
        dir,
        alice,
        bob,
    }
}

impl Session {
    /// A small request: open a folder and its (empty) contents table, read the folder's
    /// display name, release both (a few short store reads).
    async fn small(&mut self, fid: u64) -> Duration {
        let started = Instant::now();
        let (r, _) = self
            .exec(
                vec![
                    open_folder(fid, 1),
                    contents_table(1, 2),
                    GetPropertiesSpecificRequest {
                        logon_id: 0,
                        input_handle_index: 1,
                        property_size_limit: 0,
                        want_unicode: 1,
                        property_tags: vec![tags::PidTagDisplayName],
                    }
                    .into(),
                    release(2),
                    release(1),
                ],
                vec![self.logon, NULL, NULL],
            )
            .await;
        assert!(
            matches!(r[2], RopResponse::GetPropertiesSpecific(_)),
            "{r:?}"
        );
        started.elapsed()
    }
}

fn folder(ts: &TestServer, user: &UserRecord, special: i64) -> u64 {
    ts.server
        .store()
        .special_folder(user.id, special)
        .unwrap()
        .unwrap()
}

fn open_folder(fid: u64, out: u8) -> RopRequest {
    OpenFolderRequest {
        logon_id: 0,
        input_handle_index: 0,
        output_handle_index: out,
        folder_id: FolderId(fid),
        open_mode_flags: 0,
    }
    .into()
}

fn release(index: u8) -> RopRequest {
    ReleaseRequest {
        logon_id: 0,
        input_handle_index: index,
    }
    .into()
}

fn contents_table(input: u8, out: u8) -> RopRequest {
    GetContentsTableRequest {
        logon_id: 0,
        input_handle_index: input,
        output_handle_index: out,
        table_flags: 0,
    }
    .into()
}

fn sort(input: u8, tag: PropertyTag) -> RopRequest {
    SortTableRequest {
        logon_id: 0,
        input_handle_index: input,
        sort_table_flags: 0,
        sort_order_set: SortOrderSet {
            categorized_count: 0,
            expanded_count: 0,
            sort_orders: vec![SortOrder { tag, order: 1 }],
        },
    }
    .into()
}

fn encoded(v: &PropertyValue) -> Vec<u8> {
    let mut w = WriteCursor::new();
    encode_typed_value(v, &mut w, ValueContext::Rop).unwrap();
    w.into_inner()
}

/// `n` messages with a subject and a delivery time in `user`'s Inbox, straight into the
/// store in one transaction.
fn seed(ts: &TestServer, user: &UserRecord, n: usize) {
    let inbox = folder(ts, user, INBOX) as i64;
    ts.server
        .store()
        .with_conn(|c| {
            let tx = c.transaction()?;
            for i in 0..n {
                let mid = MessageId::new(1, 0x10_0000 + i as u64).0 as i64;
                tx.execute(
                    "INSERT INTO messages (mailbox_id, mid, fid) VALUES (?1, ?2, ?3)",
                    rusqlite::params![user.id, mid, inbox],
                )?;
                let values = [
                    (
                        tags::PidTagSubject,
                        PropertyValue::Unicode(format!("message {}", (i * 7919) % n)),
                    ),
                    (
                        tags::PidTagMessageDeliveryTime,
                        PropertyValue::Time(133_000_000_000_000_000 + i as u64),
                    ),
                ];
                for (tag, v) in values {
                    tx.execute(
                        "INSERT INTO props VALUES (?1, 1, ?2, ?3, ?4)",
                        rusqlite::params![user.id, mid, i64::from(tag.0), encoded(&v)],
                    )?;
                }
            }
            tx.commit()?;
            Ok(())
        })
        .unwrap();
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// RopSortTable per heavy request.
const SORTS: usize = 64;
/// PidTagImportance (MS-OXPROPS 2.735): not one of the store's indexed summary columns, so
/// each sort on it reads the whole folder.
const IMPORTANCE: PropertyTag = PropertyTag(0x0017_0003);

/// The heavy request: open the Inbox's contents table and order its rows [`SORTS`] times by a
/// property outside the store's indexed summary columns (one such sort takes tens of
/// milliseconds over 20,000 rows, so the request repeats it), then read. Returns its
/// responses and how long it took.
async fn heavy(s: &mut Session, inbox: u64) -> (Vec<RopResponse>, Vec<u32>, Duration) {
    let started = Instant::now();
    let mut rops = vec![open_folder(inbox, 1), contents_table(1, 2)];
    rops.extend((0..SORTS).map(|_| sort(2, IMPORTANCE)));
    let (r, h) = s
        .exec(
            rops.into_iter()
                .chain([
                    SetColumnsRequest {
                        logon_id: 0,
                        input_handle_index: 2,
                        set_columns_flags: 0,
                        property_tags: vec![tags::PidTagMid],
                    }
                    .into(),
                    QueryRowsRequest {
                        logon_id: 0,
                        input_handle_index: 2,
                        query_rows_flags: 0,
                        forward_read: 1,
                        row_count: 10,
                    }
                    .into(),
                ])
                .collect(),
            vec![s.logon, NULL, NULL],
        )
        .await;
    (r, h, started.elapsed())
}

/// Two clients order 20,000 rows at once with a small store time budget; a third client's
/// small requests on another session keep being answered meanwhile, and both heavy requests
/// are answered with RopBackoff in place of RopSortTable, the ROPs before it answered and
/// none after it processed (MS-OXCROPS 3.2.4.2). After the back-off, the resent ROPs of a
/// lighter order succeed with the returned handles.
///
/// The server runs on a multi-threaded runtime of its own (store work leaves its async
/// workers through `block_in_place`), the clients on a current-thread one.
#[test]
fn heavy_sorts_back_off_while_small_requests_are_served() {
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let client_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut limits = Limits::default();
    limits.request_time_budget = Duration::from_millis(300);
    limits.backoff = Duration::from_millis(1500);
    let ts = server_rt.block_on(start_with(limits));
    client_rt.block_on(heavy_and_small(&ts));
    server_rt.block_on(ts.server.shutdown());
}

async fn heavy_and_small(ts: &TestServer) {
    seed(ts, &ts.alice, ROWS);
    let inbox = folder(ts, &ts.alice, INBOX);

    let bob_inbox = folder(ts, &ts.bob, INBOX);
    let mut bob = Session::open(ts, &ts.bob, BOB_PASSWORD).await;
    let mut unloaded = Vec::new();
    for _ in 0..9 {
        unloaded.push(bob.small(bob_inbox).await);
    }
    let unloaded = median(unloaded);

    let mut a1 = Session::open(ts, &ts.alice, ALICE_PASSWORD).await;
    let mut a2 = Session::open(ts, &ts.alice, ALICE_PASSWORD).await;
    let h1 = tokio::spawn(async move {
        let (r, h, took) = heavy(&mut a1, inbox).await;
        (a1, r, h, took, Instant::now())
    });
    let h2 = tokio::spawn(async move {
        let (r, h, took) = heavy(&mut a2, inbox).await;
        (a2, r, h, took, Instant::now())
    });
    // Small requests while either heavy one is in flight.
    let mut loaded = Vec::new();
    let mut finished_at = Vec::new();
    while !(h1.is_finished() && h2.is_finished()) {
        loaded.push(bob.small(bob_inbox).await);
        finished_at.push(Instant::now());
    }
    let (mut a1, r1, handles1, took1, done1) = h1.await.unwrap();
    let (_a2, r2, _, took2, done2) = h2.await.unwrap();
    let first_heavy_answer = done1.min(done2);
    let before = finished_at
        .iter()
        .filter(|t| **t < first_heavy_answer)
        .count();
    println!(
        "small request unloaded median {unloaded:?}; during two heavy sorts: {} requests, \
         median {:?}, max {:?}, {before} answered before the first heavy answer; heavy \
         answers after {took1:?} and {took2:?}",
        loaded.len(),
        median(loaded.clone()),
        loaded.iter().max().unwrap(),
    );
    assert!(
        before >= 3,
        "only {before} small requests were answered while the heavy ones ran"
    );
    let loaded_median = median(loaded);
    assert!(
        loaded_median < unloaded * 50,
        "small requests took {loaded_median:?} under load, {unloaded:?} unloaded"
    );
    for r in [&r1, &r2] {
        // OpenFolder, GetContentsTable and the sorts within the budget answered, RopBackoff
        // instead of the next RopSortTable, the rest not processed.
        assert!(r.len() >= 3 && r.len() < SORTS + 2, "{r:?}");
        assert!(matches!(r[0], RopResponse::OpenFolder(_)), "{r:?}");
        assert!(matches!(r[1], RopResponse::GetContentsTable(_)), "{r:?}");
        assert!(
            r[2..r.len() - 1]
                .iter()
                .all(|x| matches!(x, RopResponse::SortTable(_))),
            "{r:?}"
        );
        let RopResponse::Backoff(b) = &r[r.len() - 1] else {
            panic!("expected RopBackoff, got {r:?}")
        };
        assert_eq!(b.logon_id, 0);
        assert_eq!(b.duration, 1500);
        assert_eq!(b.backoff_rops.len(), 1);
        assert_eq!(b.backoff_rops[0].rop_id, RopId::SORT_TABLE);
        assert_eq!(b.backoff_rops[0].duration, 1500);
        assert!(b.additional_data.is_empty());
    }

    // The client waits, then resends from the delayed ROP on with the returned handle
    // table; ordered by a summary column (an indexed sort) it fits in the budget.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (r, _) = a1
        .exec(
            vec![
                sort(2, tags::PidTagMessageDeliveryTime),
                SetColumnsRequest {
                    logon_id: 0,
                    input_handle_index: 2,
                    set_columns_flags: 0,
                    property_tags: vec![tags::PidTagSubject],
                }
                .into(),
                QueryRowsRequest {
                    logon_id: 0,
                    input_handle_index: 2,
                    query_rows_flags: 0,
                    forward_read: 1,
                    row_count: 3,
                }
                .into(),
            ],
            handles1,
        )
        .await;
    let RopResponse::QueryRows(q) = &r[2] else {
        panic!("{r:?}")
    };
    assert_eq!(q.rows.len(), 3);
}

/// 255 ROPs creating tables in one request: the session holds at most
/// `max_tables_per_session` tables, the rest fail with ecMaxObjsExceeded (MS-OXCDATA
/// 2.4.2), and the objects stay bounded; releasing tables makes room again.
#[tokio::test]
async fn table_and_object_caps() {
    let mut limits = Limits::default();
    limits.max_tables_per_session = 16;
    limits.max_objects_per_session = 40;
    let ts = start_with(limits).await;
    seed(&ts, &ts.alice, 2_000);
    let inbox = folder(&ts, &ts.alice, INBOX);
    let mut s = Session::open(&ts, &ts.alice, ALICE_PASSWORD).await;
    let mut rops = vec![open_folder(inbox, 1)];
    for out in 2..=255u8 {
        rops.push(contents_table(1, out));
    }
    let mut handles = vec![NULL; 256];
    handles[0] = s.logon;
    let (r, h) = s.exec(rops, handles).await;
    assert_eq!(r.len(), 255);
    let made = r
        .iter()
        .filter(|x| matches!(x, RopResponse::GetContentsTable(_)))
        .count();
    assert_eq!(made, 16);
    for x in &r[17..] {
        assert_eq!(x.return_value(), Some(EC_MAX_OBJS_EXCEEDED), "{x:?}");
    }
    // Logon, folder and 16 tables.
    assert_eq!(ts.server.open_object_count(), 18);

    // Other objects up to the object cap: folders, then ecMaxObjsExceeded.
    let mut rops = Vec::new();
    for out in 20..=60u8 {
        rops.push(open_folder(inbox, out));
    }
    let (r, _) = s.exec(rops, h.clone()).await;
    let opened = r
        .iter()
        .filter(|x| matches!(x, RopResponse::OpenFolder(_)))
        .count();
    assert_eq!(opened, 40 - 18);
    assert_eq!(r.last().unwrap().return_value(), Some(EC_MAX_OBJS_EXCEEDED));
    assert_eq!(ts.server.open_object_count(), 40);

    // RopRelease of two tables, then two tables fit again.
    let rops = vec![
        release(2),
        release(3),
        contents_table(1, 2),
        contents_table(1, 3),
        contents_table(1, 4),
    ];
    let (r, _) = s.exec(rops, h).await;
    assert!(matches!(r[0], RopResponse::GetContentsTable(_)), "{r:?}");
    assert!(matches!(r[1], RopResponse::GetContentsTable(_)), "{r:?}");
    assert_eq!(r[2].return_value(), Some(EC_MAX_OBJS_EXCEEDED));
    ts.server.shutdown().await;
}

/// Bytes of every file in the data directory.
fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum()
}

/// A new message in Drafts (handle slot 1) with a stream on PidTagBody opened for writing
/// (slot 2).
async fn draft_with_stream(ts: &TestServer, s: &mut Session) -> Vec<u32> {
    let drafts = folder(ts, &ts.alice, DRAFTS);
    let (r, h) = s
        .exec(
            vec![
                CreateMessageRequest {
                    logon_id: 0,
                    input_handle_index: 0,
                    output_handle_index: 1,
                    code_page_id: 0x0FFF,
                    folder_id: FolderId(drafts),
                    associated_flag: 0,
                }
                .into(),
                OpenStreamRequest {
                    logon_id: 0,
                    input_handle_index: 1,
                    output_handle_index: 2,
                    property_tag: tags::PidTagBody,
                    open_mode_flags: 0x02,
                }
                .into(),
            ],
            vec![s.logon, NULL, NULL],
        )
        .await;
    assert!(matches!(r[1], RopResponse::OpenStream(_)), "{r:?}");
    h
}

fn set_size(size: u64) -> RopRequest {
    SetStreamSizeRequest {
        logon_id: 0,
        input_handle_index: 2,
        stream_size: size,
    }
    .into()
}

fn seek(origin: u8, offset: i64) -> RopRequest {
    SeekStreamRequest {
        logon_id: 0,
        input_handle_index: 2,
        origin,
        offset,
    }
    .into()
}

fn write(data: Vec<u8>) -> RopRequest {
    WriteStreamRequest {
        logon_id: 0,
        input_handle_index: 2,
        data,
    }
    .into()
}

fn save() -> RopRequest {
    SaveChangesMessageRequest {
        logon_id: 0,
        response_handle_index: 0,
        input_handle_index: 1,
        save_flags: 0x02,
    }
    .into()
}

/// RopSetStreamSize, RopSeekStream and RopWriteStream past the stream size limit fail with
/// StreamSizeError / StreamSeekError and write nothing; sizing and seeking within it store no
/// zeros for the gap, so the data directory grows by far less than the sizes asked for.
#[tokio::test]
async fn stream_size_abuse_is_refused_and_stores_no_gap() {
    const MAX: u64 = 64 << 20;
    let mut limits = Limits::default();
    limits.max_stream_size = MAX;
    limits.max_message_size = 2 * MAX;
    limits.mailbox_quota = 4 * MAX;
    let ts = start_with(limits).await;
    let mut s = Session::open(&ts, &ts.alice, ALICE_PASSWORD).await;
    let h = draft_with_stream(&ts, &mut s).await;
    let before = dir_bytes(ts.dir.path());

    let (r, _) = s
        .exec(
            vec![
                set_size(1 << 40),
                set_size(MAX + 1),
                seek(0, (MAX + 1) as i64),
                seek(1, i64::MAX),
                seek(0, -1),
                seek(0, (MAX - 4) as i64),
                write(vec![0xAB; 8]),
                write(vec![0xCD; 4]),
                set_size(MAX),
                seek(0, (MAX / 2) as i64),
                write(b"middle".to_vec()),
            ],
            h.clone(),
        )
        .await;
    let codes: Vec<_> = r.iter().map(|x| x.return_value()).collect();
    assert_eq!(
        codes,
        [
            Some(STREAM_SIZE_ERROR),
            Some(STREAM_SIZE_ERROR),
            Some(STREAM_SEEK_ERROR),
            Some(STREAM_SEEK_ERROR),
            Some(STREAM_SEEK_ERROR),
            Some(ErrorCode::SUCCESS),
            Some(STREAM_SIZE_ERROR),
            Some(ErrorCode::SUCCESS),
            Some(ErrorCode::SUCCESS),
            Some(ErrorCode::SUCCESS),
            Some(ErrorCode::SUCCESS),
        ],
        "{r:?}"
    );
    let RopResponse::GetStreamSize(size) = &s
        .exec(
            vec![
                GetStreamSizeRequest {
                    logon_id: 0,
                    input_handle_index: 2,
                }
                .into(),
            ],
            h.clone(),
        )
        .await
        .0[0]
    else {
        panic!("GetStreamSize")
    };
    assert_eq!(u64::from(size.stream_size), MAX);
    let grown = dir_bytes(ts.dir.path()).saturating_sub(before);
    println!("data directory grew by {grown} bytes for a {MAX}-byte sparse stream");
    assert!(
        grown < MAX / 8,
        "the data directory grew by {grown} bytes for a {MAX}-byte stream"
    );
    ts.server.shutdown().await;
}

/// Writes that would take the mailbox past its quota fail with ecQuotaExceeded, and a message
/// over the message size limit is not saved (ecTooBig); a small message still saves.
#[tokio::test]
async fn quota_and_message_size() {
    const QUOTA: u64 = 768 << 10;
    let mut limits = Limits::default();
    limits.max_stream_size = 4 << 20;
    limits.max_message_size = 256 << 10;
    limits.mailbox_quota = QUOTA;
    let ts = start_with(limits).await;
    let mut s = Session::open(&ts, &ts.alice, ALICE_PASSWORD).await;

    // 300 KiB body: the stream takes it, the save refuses it.
    let h = draft_with_stream(&ts, &mut s).await;
    for _ in 0..10 {
        let (r, _) = s.exec(vec![write(vec![b'x'; 30 << 10])], h.clone()).await;
        assert_eq!(r[0].return_value(), Some(ErrorCode::SUCCESS), "{r:?}");
    }
    let (r, _) = s.exec(vec![save()], h.clone()).await;
    assert_eq!(r[0].return_value(), Some(ErrorCode::TOO_BIG), "{r:?}");

    // Keep writing into the unsaved copy: the mailbox fills up to its quota, no further.
    let mut refused = None;
    for i in 0..40 {
        let (r, _) = s.exec(vec![write(vec![b'y'; 30 << 10])], h.clone()).await;
        match r[0].return_value() {
            Some(ErrorCode::SUCCESS) => {}
            other => {
                refused = Some((i, other));
                break;
            }
        }
    }
    let Some((_, code)) = refused else {
        panic!("40 writes of 30 KiB were all accepted under a {QUOTA}-byte quota")
    };
    assert_eq!(code, Some(EC_QUOTA_EXCEEDED));

    // A body only sized past the limit (nothing stored for it) counts at its full size.
    let (r, _) = s.exec(vec![release(1)], h).await;
    assert!(r.is_empty(), "{r:?}");
    let h2 = draft_with_stream(&ts, &mut s).await;
    let (r, _) = s.exec(vec![set_size(300 << 10), save()], h2.clone()).await;
    assert_eq!(r[0].return_value(), Some(ErrorCode::SUCCESS), "{r:?}");
    assert_eq!(r[1].return_value(), Some(ErrorCode::TOO_BIG), "{r:?}");

    // Releasing the oversized drafts frees their space; a small message saves.
    let (r, _) = s.exec(vec![release(1)], h2).await;
    assert!(r.is_empty(), "{r:?}");
    let h = draft_with_stream(&ts, &mut s).await;
    let (r, _) = s.exec(vec![write(b"small body".to_vec()), save()], h).await;
    assert_eq!(r[0].return_value(), Some(ErrorCode::SUCCESS), "{r:?}");
    assert!(matches!(r[1], RopResponse::SaveChangesMessage(_)), "{r:?}");
    ts.server.shutdown().await;
}

// ---- Quota on copies, delivery and seeks ----------------------------------------------

/// Bytes the usage table says `user`'s mailbox holds.
fn usage(store: &Store, user: &UserRecord) -> u64 {
    store.with_conn(|c| Ok(mailbox_bytes(c, user.id)?)).unwrap()
}

/// The same, summed the slow way over every stored value.
fn recount(store: &Store, user: &UserRecord) -> u64 {
    store
        .with_conn(|c| {
            Ok(c.query_row(
                "SELECT COALESCE(SUM(n), 0) FROM (
                   SELECT length(value) AS n FROM props WHERE mailbox_id = ?1
                   UNION ALL SELECT length(data) FROM blobs WHERE mailbox_id = ?1
                   UNION ALL SELECT length(props) FROM recipients WHERE mailbox_id = ?1)",
                [user.id],
                |r| r.get::<_, i64>(0),
            )?)
        })
        .unwrap()
        .unsigned_abs()
}

/// Messages in folder `fid` of `user`'s mailbox.
fn count_in(store: &Store, user: &UserRecord, fid: u64) -> i64 {
    store
        .with_conn(|c| {
            Ok(c.query_row(
                "SELECT COUNT(*) FROM messages WHERE mailbox_id = ?1 AND fid = ?2",
                rusqlite::params![user.id, fid as i64],
                |r| r.get(0),
            )?)
        })
        .unwrap()
}

/// Stores a message with `attachment` bytes of attachment data (and `recipients`) straight
/// into folder `fid` of `user`'s mailbox; returns its MID.
fn stored_message(
    store: &Store,
    user: &UserRecord,
    fid: u64,
    subject: &str,
    attachment: usize,
    recipients: &[&str],
) -> u64 {
    let msg = NewMessage {
        props: vec![
            (tags::PidTagSubject, PropertyValue::Unicode(subject.into())),
            (
                tags::PidTagMessageClass,
                PropertyValue::Unicode("IPM.Note".into()),
            ),
        ],
        recipients: recipients
            .iter()
            .map(|a| {
                (
                    1,
                    vec![
                        (tags::PidTagDisplayName, PropertyValue::Unicode((*a).into())),
                        (
                            tags::PidTagEmailAddress,
                            PropertyValue::Unicode((*a).into()),
                        ),
                        (tags::PidTagSmtpAddress, PropertyValue::Unicode((*a).into())),
                        (
                            tags::PidTagAddressType,
                            PropertyValue::Unicode("SMTP".into()),
                        ),
                    ],
                )
            })
            .collect(),
        attachments: if attachment == 0 {
            Vec::new()
        } else {
            vec![NewAttachment {
                props: vec![(
                    tags::PidTagAttachLongFilename,
                    PropertyValue::Unicode("data.bin".into()),
                )],
                data: vec![0x5A; attachment],
            }]
        },
    };
    store.insert_message(user.id, fid as i64, &msg).unwrap() as u64
}

fn move_copy(ids: &[u64], copy: bool) -> RopRequest {
    MoveCopyMessagesRequest {
        logon_id: 0,
        source_handle_index: 1,
        dest_handle_index: 2,
        message_ids: ids.iter().map(|&m| MessageId(m)).collect(),
        want_asynchronous: 0,
        want_copy: u8::from(copy),
    }
    .into()
}

/// RopMoveCopyMessages copies that would take the mailbox past its quota fail with
/// ecQuotaExceeded and copy nothing, also when only the second of two messages would not fit
/// (the ROP is all-or-nothing); copies that fit and moves within the mailbox go through, and
/// the usage stays exact throughout.
#[tokio::test]
async fn message_copies_respect_the_quota() {
    const QUOTA: u64 = 400 << 10;
    let mut limits = Limits::default();
    limits.mailbox_quota = QUOTA;
    let ts = start_with(limits).await;
    let store = ts.server.store().clone();
    let (inbox, drafts) = (
        folder(&ts, &ts.alice, INBOX),
        folder(&ts, &ts.alice, DRAFTS),
    );
    let big = stored_message(&store, &ts.alice, inbox, "big", 150 << 10, &[]);
    let small = stored_message(&store, &ts.alice, inbox, "small", 0, &[]);
    let mut s = Session::open(&ts, &ts.alice, ALICE_PASSWORD).await;
    let handles = vec![s.logon, NULL, NULL];
    let (r, h) = s
        .exec(vec![open_folder(inbox, 1), open_folder(drafts, 2)], handles)
        .await;
    assert!(matches!(r[1], RopResponse::OpenFolder(_)), "{r:?}");

    // One copy fits (about 300 KiB stored then).
    let (r, _) = s.exec(vec![move_copy(&[big], true)], h.clone()).await;
    assert_eq!(r[0].return_value(), Some(ErrorCode::SUCCESS), "{r:?}");
    assert_eq!(count_in(&store, &ts.alice, drafts), 1);
    let used = usage(&store, &ts.alice);
    assert!(used > 300 << 10 && used < QUOTA, "{used}");
    assert_eq!(used, recount(&store, &ts.alice));

    // A second copy of the big one would not: refused, nothing copied.
    let (r, _) = s.exec(vec![move_copy(&[big], true)], h.clone()).await;
    assert_eq!(r[0].return_value(), Some(EC_QUOTA_EXCEEDED), "{r:?}");
    // Two messages of which only the first fits: neither is copied.
    let (r, _) = s
        .exec(vec![move_copy(&[small, big], true)], h.clone())
        .await;
    assert_eq!(r[0].return_value(), Some(EC_QUOTA_EXCEEDED), "{r:?}");
    assert_eq!(count_in(&store, &ts.alice, drafts), 1);
    assert_eq!(count_in(&store, &ts.alice, inbox), 2);
    assert_eq!(usage(&store, &ts.alice), used);
    assert_eq!(recount(&store, &ts.alice), used);

    // What fits is still copied; a move stores nothing new and is never refused.
    let (r, _) = s
        .exec(
            vec![move_copy(&[small], true), move_copy(&[big], false)],
            h.clone(),
        )
        .await;
    assert_eq!(r[0].return_value(), Some(ErrorCode::SUCCESS), "{r:?}");
    assert_eq!(r[1].return_value(), Some(ErrorCode::SUCCESS), "{r:?}");
    assert_eq!(count_in(&store, &ts.alice, drafts), 3);
    assert_eq!(count_in(&store, &ts.alice, inbox), 1);
    assert_eq!(usage(&store, &ts.alice), recount(&store, &ts.alice));
    ts.server.shutdown().await;
}

/// RopCopyFolder of a folder whose copy would take the mailbox past its quota fails with
/// ecQuotaExceeded and creates nothing; a copy that fits goes through.
#[tokio::test]
async fn folder_copy_respects_the_quota() {
    const QUOTA: u64 = 256 << 10;
    let mut limits = Limits::default();
    limits.mailbox_quota = QUOTA;
    let ts = start_with(limits).await;
    let store = ts.server.store().clone();
    let (inbox, drafts) = (
        folder(&ts, &ts.alice, INBOX),
        folder(&ts, &ts.alice, DRAFTS),
    );
    let mut s = Session::open(&ts, &ts.alice, ALICE_PASSWORD).await;
    let (r, h) = s
        .exec(
            vec![
                open_folder(inbox, 1),
                open_folder(drafts, 2),
                CreateFolderRequest {
                    logon_id: 0,
                    input_handle_index: 1,
                    output_handle_index: 3,
                    folder_type: folder_type::GENERIC,
                    use_unicode_strings: 1,
                    open_existing: 0,
                    reserved: 0,
                    display_name: "Heavy".into(),
                    comment: String::new(),
                }
                .into(),
            ],
            vec![s.logon, NULL, NULL, NULL],
        )
        .await;
    let RopResponse::CreateFolder(created) = &r[2] else {
        panic!("{r:?}")
    };
    let heavy = created.folder_id;
    // Eight messages of about 14 KB each, inline values (the folder copy copies those).
    for i in 0..8 {
        let subject = format!("{i}{}", "s".repeat(7_000));
        stored_message(&store, &ts.alice, heavy.0, &subject, 0, &[]);
    }
    let copy = |name: &str| -> RopRequest {
        CopyFolderRequest {
            logon_id: 0,
            source_handle_index: 1,
            dest_handle_index: 2,
            want_asynchronous: 0,
            want_recursive: 0,
            use_unicode: 1,
            folder_id: heavy,
            new_folder_name: name.into(),
        }
        .into()
    };
    let folders = |store: &Store| -> i64 {
        store
            .with_conn(|c| {
                Ok(c.query_row(
                    "SELECT COUNT(*) FROM folders WHERE mailbox_id = ?1",
                    [ts.alice.id],
                    |r| r.get(0),
                )?)
            })
            .unwrap()
    };
    let (r, _) = s.exec(vec![copy("Heavy 1")], h.clone()).await;
    assert_eq!(r[0].return_value(), Some(ErrorCode::SUCCESS), "{r:?}");
    let used = usage(&store, &ts.alice);
    assert!(used > 220_000 && used < QUOTA, "{used}");
    let before = folders(&store);
    let (r, _) = s.exec(vec![copy("Heavy 2")], h.clone()).await;
    assert_eq!(r[0].return_value(), Some(EC_QUOTA_EXCEEDED), "{r:?}");
    let RopResponse::CopyFolder(c) = &r[0] else {
        panic!("{r:?}")
    };
    assert_eq!(c.partial_completion, 0);
    assert_eq!(folders(&store), before);
    assert_eq!(usage(&store, &ts.alice), used);
    assert_eq!(recount(&store, &ts.alice), used);
    ts.server.shutdown().await;
}

/// Alice sends one message to Bob, whose mailbox is nearly full, to Carol and to an outside
/// address. The submit succeeds; Carol gets her copy, Bob gets none (his usage does not move)
/// and is kept in the outbound queue next to the outside address; the message is in Alice's
/// Sent Items.
#[tokio::test]
async fn delivery_skips_a_full_mailbox_and_serves_the_others() {
    const QUOTA: u64 = 400 << 10;
    let mut limits = Limits::default();
    limits.mailbox_quota = QUOTA;
    let ts = start_with(limits).await;
    let store = ts.server.store().clone();
    let carol = store.add_user("carol", "Carol Jones", "carol-pw").unwrap();
    let bob_inbox = folder(&ts, &ts.bob, INBOX);
    let carol_inbox = folder(&ts, &carol, INBOX);
    stored_message(&store, &ts.bob, bob_inbox, "filler", 300 << 10, &[]);
    let bob_used = usage(&store, &ts.bob);
    let drafts = folder(&ts, &ts.alice, DRAFTS);
    let mid = stored_message(
        &store,
        &ts.alice,
        drafts,
        "hello all",
        150 << 10,
        &[&ts.bob.smtp, &carol.smtp, "eve@remote.example"],
    );

    let mut s = Session::open(&ts, &ts.alice, ALICE_PASSWORD).await;
    let (r, _) = s
        .exec(
            vec![
                OpenMessageRequest {
                    logon_id: 0,
                    input_handle_index: 0,
                    output_handle_index: 1,
                    code_page_id: 0x0FFF,
                    folder_id: FolderId(drafts),
                    open_mode_flags: 0x01,
                    message_id: MessageId(mid),
                }
                .into(),
                SubmitMessageRequest {
                    logon_id: 0,
                    input_handle_index: 1,
                    submit_flags: 0,
                }
                .into(),
            ],
            vec![s.logon, NULL],
        )
        .await;
    assert!(matches!(r[0], RopResponse::OpenMessage(_)), "{r:?}");
    assert_eq!(r[1].return_value(), Some(ErrorCode::SUCCESS), "{r:?}");

    assert_eq!(count_in(&store, &carol, carol_inbox), 1);
    assert_eq!(count_in(&store, &ts.bob, bob_inbox), 1, "only the filler");
    assert_eq!(usage(&store, &ts.bob), bob_used);
    assert_eq!(recount(&store, &ts.bob), bob_used);
    assert_eq!(usage(&store, &carol), recount(&store, &carol));
    assert!(usage(&store, &carol) > 150 << 10);
    assert_eq!(
        count_in(&store, &ts.alice, folder(&ts, &ts.alice, SENT_ITEMS)),
        1
    );
    let mut queued: Vec<String> = oxmapi_server::queue::list_queue(&store)
        .unwrap()
        .into_iter()
        .map(|q| {
            assert_eq!(q.mid as u64, mid);
            assert_eq!(q.sender.as_deref(), Some("alice"));
            q.recipient
        })
        .collect();
    queued.sort();
    let mut want = vec![ts.bob.smtp.clone(), "eve@remote.example".to_owned()];
    want.sort();
    assert_eq!(queued, want);
    ts.server.shutdown().await;
}

fn read(n: u16) -> RopRequest {
    ReadStreamRequest {
        logon_id: 0,
        input_handle_index: 2,
        byte_count: n,
        maximum_byte_count: None,
    }
    .into()
}

/// MS-OXCPRPT 3.2.5.18: a seek past the end of a writable stream extends it with zeros,
/// storing only a chunk or two (the gap is sparse), within the mailbox quota: an extension
/// that would take the mailbox past it fails with ecQuotaExceeded and leaves the size and the
/// position as they were.
#[tokio::test]
async fn seek_past_the_end_extends_the_stream_within_the_quota() {
    const QUOTA: u64 = 300 << 10;
    let mut limits = Limits::default();
    limits.mailbox_quota = QUOTA;
    let ts = start_with(limits).await;
    let store = ts.server.store().clone();
    let mut s = Session::open(&ts, &ts.alice, ALICE_PASSWORD).await;
    let h = draft_with_stream(&ts, &mut s).await;
    let size = GetStreamSizeRequest {
        logon_id: 0,
        input_handle_index: 2,
    };
    let before = usage(&store, &ts.alice);
    let (r, _) = s
        .exec(
            vec![
                write(b"abc".to_vec()),
                seek(seek_origin::BEGINNING, 1_000_000),
                size.into(),
                seek(seek_origin::BEGINNING, 0),
                read(10),
                seek(seek_origin::END, -10),
                read(100),
            ],
            h.clone(),
        )
        .await;
    assert!(matches!(r[1], RopResponse::SeekStream(ref p) if p.new_position == 1_000_000));
    assert!(matches!(r[2], RopResponse::GetStreamSize(ref p) if p.stream_size == 1_000_000));
    assert!(matches!(r[4], RopResponse::ReadStream(ref d) if d.data == b"abc\0\0\0\0\0\0\0"));
    assert!(
        matches!(r[6], RopResponse::ReadStream(ref d) if d.data == [0; 10]),
        "{r:?}"
    );
    let grown = usage(&store, &ts.alice) - before;
    assert!(grown <= 2 * 65_536, "a 1 MB seek stored {grown} bytes");
    assert_eq!(usage(&store, &ts.alice), recount(&store, &ts.alice));

    // Fill the mailbox up to near its quota; a seek whose extension would pass it is refused.
    let inbox = folder(&ts, &ts.alice, INBOX);
    let room = QUOTA - usage(&store, &ts.alice);
    stored_message(
        &store,
        &ts.alice,
        inbox,
        "filler",
        (room - (20 << 10)) as usize,
        &[],
    );
    let used = usage(&store, &ts.alice);
    let (r, _) = s
        .exec(
            vec![
                seek(seek_origin::BEGINNING, 5_000_000),
                size.into(),
                seek(seek_origin::CURRENT, 0),
            ],
            h,
        )
        .await;
    assert_eq!(r[0].return_value(), Some(EC_QUOTA_EXCEEDED), "{r:?}");
    assert!(matches!(r[1], RopResponse::GetStreamSize(ref p) if p.stream_size == 1_000_000));
    assert!(matches!(r[2], RopResponse::SeekStream(ref p) if p.new_position == 1_000_000));
    assert_eq!(usage(&store, &ts.alice), used);
    assert_eq!(recount(&store, &ts.alice), used);
    ts.server.shutdown().await;
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

/// The data directory is 0700 and the database files 0600 whatever the umask; an existing,
/// more open directory and database are tightened.
#[cfg(unix)]
#[tokio::test]
async fn store_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let ts = start_with(Limits::default()).await;
    let dir = ts.dir.path();
    // The server runs: WAL files exist.
    let _ = Session::open(&ts, &ts.alice, ALICE_PASSWORD).await;
    assert_eq!(mode(dir), 0o700);
    for f in ["mailbox.db", "mailbox.db-wal", "mailbox.db-shm"] {
        assert_eq!(mode(&dir.join(f)), 0o600, "{f}");
    }
    println!("key.pem mode {:o}", mode(&dir.join("key.pem")));
    ts.server.shutdown().await;

    // A fresh data directory below a new parent.
    let parent = tempfile::tempdir().unwrap();
    let fresh = parent.path().join("a/b");
    let store = Store::open(&fresh).unwrap();
    assert_eq!(mode(&fresh), 0o700);
    assert_eq!(mode(&fresh.join("mailbox.db")), 0o600);
    drop(store);

    // An existing, world-readable store is tightened on open.
    std::fs::set_permissions(&fresh, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(
        fresh.join("mailbox.db"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let _store = Store::open(&fresh).unwrap();
    assert_eq!(mode(&fresh), 0o700);
    assert_eq!(mode(&fresh.join("mailbox.db")), 0o600);
}
