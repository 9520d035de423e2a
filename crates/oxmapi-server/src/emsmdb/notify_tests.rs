//! Table notifications through `MailboxContext::execute`: RopNotify (MS-OXCROPS 2.2.14.2)
//! after the answers for open tables whose rows changed, RopPending (2.2.14.3) when not all
//! fit. Responses are decoded with `oxmapi_wire::rop::RopResponseBuffer`, and the bytes of
//! both are checked against the spec by hand as well.

use oxmapi_wire::data::{
    ErrorCode, FolderId, MessageId, PropertyRow, PropertyTag, PropertyValue, TaggedPropertyValue,
    tags,
};
use oxmapi_wire::rop::{
    CreateFolderRequest, CreateMessageRequest, GetContentsTableRequest, GetHierarchyTableRequest,
    ModifyRecipientRow, ModifyRecipientsRequest, MoveCopyMessagesRequest, NotificationType,
    OpenFolderRequest, QueryPositionRequest, QueryRowsRequest, RecipientRow, ReleaseRequest,
    RopRequest, RopRequestBuffer, RopResponse, RopResponseBuffer, SetColumnsRequest,
    SetPropertiesRequest, SubmitMessageRequest, TableEventType, recipient_flags as rf,
};
use oxmapi_wire::rpcext::{PackOptions, pack_segment, unpack_segments};

use super::MailboxContext;
use crate::store::deliver::NewMessage;
use crate::store::{Store, UserRecord, tx};

const NULL: u32 = 0xFFFF_FFFF;
const BIG: u32 = 0x40000;
/// Execute Flags: NoCompression | NoXorMagic; with Chain.
const PLAIN: u32 = 0x3;
const CHAIN: u32 = 0x7;
/// Special folders (`folders.special`).
const ROOT: i64 = 1;
const IPM_SUBTREE: i64 = 4;
const INBOX: i64 = 5;
const OUTBOX: i64 = 6;
const DELETED: i64 = 8;
/// TableFlags (MS-OXCFOLD 2.2.1.13.1, 2.2.1.14.1).
const DEPTH: u8 = 0x04;
const NO_NOTIFICATIONS: u8 = 0x10;
/// A RopNotify TableModified/TableChanged response and a RopPending response, in bytes.
const NOTIFY_SIZE: u32 = 10;
const PENDING_SIZE: u32 = 3;

struct Fx {
    _dir: tempfile::TempDir,
    store: Store,
    alice: UserRecord,
    bob: UserRecord,
}

fn fixture() -> Fx {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    store.init_org("Org", "example.test", false).expect("org");
    let alice = store.add_user("alice", "Alice", "pw").expect("alice");
    let bob = store.add_user("bob", "Bob", "pw").expect("bob");
    Fx {
        _dir: dir,
        store,
        alice,
        bob,
    }
}

/// One session context of one user, logged on with LogonId 0.
struct Sess {
    ctx: MailboxContext,
    user: UserRecord,
    store: Store,
    logon: u32,
}

/// What one Execute returned: the first segment decoded, its raw RopsList, and the chained
/// segments (RopQueryRows continuations) decoded on their own.
struct Out {
    rops: Vec<RopResponse>,
    handles: Vec<u32>,
    raw: Vec<u8>,
    chained: Vec<Vec<RopResponse>>,
}

impl Sess {
    fn new(f: &Fx, user: &UserRecord) -> Self {
        let mut s = Self {
            ctx: MailboxContext::new(user.clone(), f.store.clone(), false),
            user: user.clone(),
            store: f.store.clone(),
            logon: NULL,
        };
        let logon = oxmapi_wire::rop::LogonRequest {
            logon_id: 0,
            output_handle_index: 0,
            logon_flags: 0x01,
            open_flags: 0x0100_000C,
            store_state: 0,
            essdn: Some(user.legacy_dn.clone()),
        };
        let (r, h) = s.exec(vec![logon.into()], vec![NULL]);
        assert!(matches!(r[0], RopResponse::LogonPrivate(_)), "{r:?}");
        s.logon = h[0];
        s
    }

    fn fid(&self, special: i64) -> u64 {
        self.store
            .special_folder(self.user.id, special)
            .expect("sql")
            .expect("folder")
    }

    /// One Execute with `flags` and MaxRopOut `max_out`.
    fn run(&mut self, flags: u32, rops: Vec<RopRequest>, handles: Vec<u32>, max_out: u32) -> Out {
        let last = rops.last().cloned();
        let req = RopRequestBuffer { rops, handles };
        let seg = pack_segment(
            &req.to_bytes().expect("encode"),
            PackOptions {
                compress: false,
                xor: false,
                last: true,
            },
        )
        .expect("pack");
        let out = self.ctx.execute(flags, &seg, max_out).expect("execute");
        let segs = unpack_segments(&out).expect("rgbOut");
        let known = |_, _| Some(columns());
        let contexts = req.response_contexts(known).expect("contexts");
        let first = RopResponseBuffer::decode(&segs[0].payload, &contexts).expect("decode");
        let size = usize::from(u16::from_le_bytes([segs[0].payload[0], segs[0].payload[1]]));
        let chained = segs[1..]
            .iter()
            .map(|s| {
                let q = RopRequestBuffer {
                    rops: last.clone().into_iter().collect(),
                    handles: req.handles.clone(),
                };
                let c = q.response_contexts(known).expect("contexts");
                RopResponseBuffer::decode(&s.payload, &c)
                    .expect("chained segment")
                    .rops
            })
            .collect();
        Out {
            rops: first.rops,
            handles: first.handles,
            raw: segs[0].payload[2..size].to_vec(),
            chained,
        }
    }

    fn exec(&mut self, rops: Vec<RopRequest>, handles: Vec<u32>) -> (Vec<RopResponse>, Vec<u32>) {
        let out = self.run(PLAIN, rops, handles, BIG);
        assert!(out.chained.is_empty());
        (out.rops, out.handles)
    }

    /// An Execute whose ROP list is empty (MS-OXCNOTIF, server side of EcDoRpcExt2: "the
    /// server does not require that the EcDoRpcExt2 method call include a ROP request"), with
    /// `budget` bytes of room for responses.
    fn poll(&mut self, budget: u32) -> Out {
        // RPC_HEADER_EXT (8), RopSize (2), one handle (4).
        self.run(PLAIN, Vec::new(), vec![NULL], budget + 8 + 2 + 4)
    }

    /// Opens special folder `special` and its contents (or hierarchy) table with `flags`,
    /// sets the columns and, when `view`, reads it once (a table view, MS-OXCNOTIF 3.1.4.3).
    /// Returns the table handle.
    fn table(&mut self, special: i64, hierarchy: bool, flags: u8, view: bool) -> u32 {
        let fid = self.fid(special);
        let open_table: RopRequest = if hierarchy {
            GetHierarchyTableRequest {
                logon_id: 0,
                input_handle_index: 1,
                output_handle_index: 2,
                table_flags: flags,
            }
            .into()
        } else {
            GetContentsTableRequest {
                logon_id: 0,
                input_handle_index: 1,
                output_handle_index: 2,
                table_flags: flags,
            }
            .into()
        };
        let mut rops = vec![
            OpenFolderRequest {
                logon_id: 0,
                input_handle_index: 0,
                output_handle_index: 1,
                folder_id: FolderId(fid),
                open_mode_flags: 0,
            }
            .into(),
            open_table,
            SetColumnsRequest {
                logon_id: 0,
                input_handle_index: 2,
                set_columns_flags: 0,
                property_tags: columns(),
            }
            .into(),
        ];
        if view {
            rops.push(query_rows(2, 1));
        }
        let (r, h) = self.exec(rops, vec![self.logon, NULL, NULL]);
        for x in &r {
            assert_eq!(x.return_value(), Some(ErrorCode::SUCCESS), "{r:?}");
        }
        h[2]
    }

    /// Sends a message to `to` from this session (create, recipients, submit: local delivery).
    fn send(&mut self, to: &UserRecord, subject: &str) {
        let row = RecipientRow {
            flags: rf::TYPE_SMTP | rf::EMAIL | rf::DISPLAY | rf::UNICODE,
            x500: None,
            entry_id: None,
            search_key: None,
            address_type: None,
            email_address: Some(to.smtp.clone()),
            display_name: Some(to.display_name.clone()),
            simple_display_name: None,
            transmittable_display_name: None,
            column_count: 0,
            properties: PropertyRow::from_values(vec![]),
        };
        let outbox = self.fid(OUTBOX);
        let (r, _) = self.exec(
            vec![
                CreateMessageRequest {
                    logon_id: 0,
                    input_handle_index: 0,
                    output_handle_index: 1,
                    code_page_id: 0x0FFF,
                    folder_id: FolderId(outbox),
                    associated_flag: 0,
                }
                .into(),
                SetPropertiesRequest {
                    logon_id: 0,
                    input_handle_index: 1,
                    values: vec![TaggedPropertyValue::new(
                        tags::PidTagSubject,
                        PropertyValue::Unicode(subject.into()),
                    )],
                }
                .into(),
                ModifyRecipientsRequest {
                    logon_id: 0,
                    input_handle_index: 1,
                    recipient_columns: vec![],
                    rows: vec![ModifyRecipientRow {
                        row_id: 0,
                        recipient_type: 1,
                        row: Some(row),
                    }],
                }
                .into(),
                SubmitMessageRequest {
                    logon_id: 0,
                    input_handle_index: 1,
                    submit_flags: 0,
                }
                .into(),
                ReleaseRequest {
                    logon_id: 0,
                    input_handle_index: 1,
                }
                .into(),
            ],
            vec![self.logon, NULL],
        );
        for x in r.iter().filter(|x| !x.is_unsolicited()) {
            assert_eq!(x.return_value(), Some(ErrorCode::SUCCESS), "{r:?}");
        }
    }
}

fn columns() -> Vec<PropertyTag> {
    vec![tags::PidTagSubject]
}

fn query_rows(index: u8, count: u16) -> RopRequest {
    QueryRowsRequest {
        logon_id: 0,
        input_handle_index: index,
        query_rows_flags: 0,
        forward_read: 1,
        row_count: count,
    }
    .into()
}

fn query_position(index: u8) -> RopRequest {
    QueryPositionRequest {
        logon_id: 0,
        input_handle_index: index,
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

/// The NotificationHandles of the RopNotify responses, each checked to be a TableModified /
/// TableChanged of LogonId 0 (MS-OXCNOTIF 2.2.1.4.1.2), and whether a RopPending came last.
/// Unsolicited responses must all follow the answers.
fn notified(r: &[RopResponse]) -> (Vec<u32>, bool) {
    let answers = r.iter().take_while(|x| !x.is_unsolicited()).count();
    let (mut handles, mut pending) = (Vec::new(), false);
    for x in &r[answers..] {
        assert!(!pending, "RopPending is the last response: {r:?}");
        match x {
            RopResponse::Notify(n) => {
                assert_eq!(n.logon_id, 0);
                assert_eq!(n.data.notification_type, NotificationType::TableModified);
                assert_eq!(n.data.table_event, Some(TableEventType::TableChanged));
                assert_eq!(n.data.notification_flags(), 0x0100);
                handles.push(n.notification_handle);
            }
            RopResponse::Pending(p) => {
                assert_eq!(p.session_index, 0);
                pending = true;
            }
            other => panic!("an answer after a notification: {other:?} in {r:?}"),
        }
    }
    (handles, pending)
}

/// MS-OXCROPS 2.2.14.2.1 / MS-OXCNOTIF 2.2.1.4.1.2, by hand: RopId 0x2A, NotificationHandle,
/// LogonId, NotificationFlags 0x0100 (TableModified), TableEventType 0x0001 (TableChanged).
fn notify_bytes(handle: u32) -> Vec<u8> {
    let mut b = vec![0x2A];
    b.extend(handle.to_le_bytes());
    b.extend([0x00, 0x00, 0x01, 0x01, 0x00]);
    b
}

#[test]
fn delivery_into_an_open_inbox_table_is_notified_after_the_answers() {
    let f = fixture();
    let mut alice = Sess::new(&f, &f.alice);
    let mut bob = Sess::new(&f, &f.bob);
    let table = alice.table(INBOX, false, 0, true);
    let drafts = alice.table(OUTBOX, false, 0, true);

    bob.send(&f.alice, "hello");
    let (r, _) = alice.exec(vec![query_position(0)], vec![table]);
    assert!(matches!(r[0], RopResponse::QueryPosition(_)), "{r:?}");
    assert_eq!(notified(&r), (vec![table], false), "only the Inbox changed");
    // Nothing changed since: nothing more.
    let (r, _) = alice.exec(vec![query_position(0)], vec![table]);
    assert_eq!(notified(&r), (vec![], false));

    // Alice's other session moves the message out: both folders' tables hear of it.
    let mut alice2 = Sess::new(&f, &f.alice);
    let (inbox, deleted) = (alice2.fid(INBOX), alice2.fid(DELETED));
    let mid: i64 = f
        .store
        .with_conn(|c| {
            Ok(c.query_row(
                "SELECT mid FROM messages WHERE mailbox_id = ?1 AND fid = ?2",
                [f.alice.id, inbox as i64],
                |r| r.get(0),
            )?)
        })
        .expect("sql");
    let trash = alice.table(DELETED, false, 0, true);
    let (r, h) = alice2.exec(
        vec![
            OpenFolderRequest {
                logon_id: 0,
                input_handle_index: 0,
                output_handle_index: 1,
                folder_id: FolderId(inbox),
                open_mode_flags: 0,
            }
            .into(),
            OpenFolderRequest {
                logon_id: 0,
                input_handle_index: 0,
                output_handle_index: 2,
                folder_id: FolderId(deleted),
                open_mode_flags: 0,
            }
            .into(),
        ],
        vec![alice2.logon, NULL, NULL],
    );
    assert_eq!(r.len(), 2);
    let (r, _) = alice2.exec(
        vec![
            MoveCopyMessagesRequest {
                logon_id: 0,
                source_handle_index: 0,
                dest_handle_index: 1,
                message_ids: vec![MessageId(mid as u64)],
                want_asynchronous: 0,
                want_copy: 0,
            }
            .into(),
        ],
        vec![h[1], h[2]],
    );
    assert_eq!(r.len(), 1, "alice2 has no tables open: {r:?}");
    let out = alice.poll(1000);
    let (mut got, pending) = notified(&out.rops);
    got.sort_unstable();
    let mut want = vec![table, trash];
    want.sort_unstable();
    assert_eq!((got, pending), (want, false));
    assert!(!notified(&out.rops).0.contains(&drafts));
    // The bytes themselves, against the spec rather than our decoder.
    let mut expected: Vec<u8> = Vec::new();
    for x in &out.rops {
        let RopResponse::Notify(n) = x else {
            panic!("{x:?}")
        };
        expected.extend(notify_bytes(n.notification_handle));
    }
    assert_eq!(out.raw, expected);
}

#[test]
fn no_notifications_flag_and_tables_without_a_view_stay_silent() {
    let f = fixture();
    let mut alice = Sess::new(&f, &f.alice);
    let mut bob = Sess::new(&f, &f.bob);
    let silent = alice.table(INBOX, false, NO_NOTIFICATIONS, true);
    let no_view = alice.table(INBOX, false, 0, false);
    bob.send(&f.alice, "one");
    assert_eq!(notified(&alice.poll(1000).rops), (vec![], false));

    // A view (RopQueryPosition, MS-OXCNOTIF 3.1.4.3) subscribes the second table; the
    // NoNotifications one never is, views or not.
    let (r, _) = alice.exec(
        vec![query_position(0), query_position(1)],
        vec![silent, no_view],
    );
    assert_eq!(notified(&r), (vec![], false), "changes before the view");
    bob.send(&f.alice, "two");
    assert_eq!(notified(&alice.poll(1000).rops), (vec![no_view], false));
}

#[test]
fn creating_a_subfolder_notifies_hierarchy_tables_in_the_same_response() {
    let f = fixture();
    let mut alice = Sess::new(&f, &f.alice);
    let subtree = alice.table(IPM_SUBTREE, true, 0, true);
    let deep = alice.table(ROOT, true, DEPTH, true);
    let inbox_children = alice.table(INBOX, true, 0, true);
    let contents = alice.table(INBOX, false, 0, true);
    let fid = alice.fid(INBOX);
    let (r, _) = alice.exec(
        vec![
            OpenFolderRequest {
                logon_id: 0,
                input_handle_index: 0,
                output_handle_index: 1,
                folder_id: FolderId(fid),
                open_mode_flags: 0,
            }
            .into(),
            CreateFolderRequest {
                logon_id: 0,
                input_handle_index: 1,
                output_handle_index: 2,
                folder_type: 1,
                use_unicode_strings: 1,
                open_existing: 0,
                reserved: 0,
                display_name: "Projects".into(),
                comment: String::new(),
            }
            .into(),
        ],
        vec![alice.logon, NULL, NULL],
    );
    assert!(matches!(r[1], RopResponse::CreateFolder(_)), "{r:?}");
    let (mut got, pending) = notified(&r);
    got.sort_unstable();
    // The IPM subtree lists the Inbox, whose subfolder count changed.
    let mut want = vec![subtree, deep, inbox_children];
    want.sort_unstable();
    assert_eq!(
        (got, pending),
        (want, false),
        "not the contents table {contents}"
    );
}

#[test]
fn what_does_not_fit_waits_behind_a_rop_pending() {
    let f = fixture();
    let mut alice = Sess::new(&f, &f.alice);
    let mut bob = Sess::new(&f, &f.bob);
    let tables: Vec<u32> = (0..5).map(|_| alice.table(INBOX, false, 0, true)).collect();
    bob.send(&f.alice, "to all five");

    // No room even for RopPending: nothing is sent, nothing is lost.
    let out = alice.poll(PENDING_SIZE - 1);
    assert!(out.rops.is_empty(), "{:?}", out.rops);
    // Room for two notifications and a RopPending.
    let out = alice.poll(2 * NOTIFY_SIZE + PENDING_SIZE);
    let (mut got, pending) = notified(&out.rops);
    assert_eq!((got.len(), pending), (2, true));
    assert_eq!(&out.raw[2 * NOTIFY_SIZE as usize..], &[0x6E, 0x00, 0x00]);
    // One byte less: the second one would leave no room for the RopPending.
    let out = alice.poll(2 * NOTIFY_SIZE + PENDING_SIZE - 1);
    let (more, pending) = notified(&out.rops);
    assert_eq!((more.len(), pending), (1, true));
    got.extend(more);
    // The rest, with room to spare: no RopPending.
    let out = alice.poll(1000);
    let (rest, pending) = notified(&out.rops);
    assert_eq!((rest.len(), pending), (2, false));
    got.extend(rest);
    got.sort_unstable();
    assert_eq!(got, tables, "each table once");
    assert_eq!(notified(&alice.poll(1000).rops), (vec![], false));
}

#[test]
fn a_released_table_loses_its_queued_notification() {
    let f = fixture();
    let mut alice = Sess::new(&f, &f.alice);
    let mut bob = Sess::new(&f, &f.bob);
    let table = alice.table(INBOX, false, 0, true);
    bob.send(&f.alice, "hello");
    let out = alice.poll(NOTIFY_SIZE - 1);
    assert_eq!(notified(&out.rops), (vec![], true), "queued, announced");
    let (r, _) = alice.exec(vec![release(0)], vec![table]);
    assert!(r.is_empty(), "{r:?}");
    assert_eq!(notified(&alice.poll(1000).rops), (vec![], false));
}

#[test]
fn chained_query_rows_segments_carry_no_notifications() {
    let f = fixture();
    let inbox = f
        .store
        .special_folder(f.alice.id, INBOX)
        .expect("sql")
        .expect("inbox") as i64;
    let note = |i: usize| NewMessage {
        props: vec![(
            tags::PidTagSubject,
            PropertyValue::Unicode(format!(
                "{i:05} a fairly long subject line to fill segments"
            )),
        )],
        ..NewMessage::default()
    };
    f.store
        .with_conn(|c| {
            tx::write(c, |c| {
                for i in 0..1200 {
                    crate::store::deliver::insert_message(c, f.alice.id, inbox, &note(i))?;
                }
                Ok(())
            })
        })
        .expect("seed");
    let mut alice = Sess::new(&f, &f.alice);
    let table = alice.table(INBOX, false, 0, true);
    f.store
        .insert_message(f.alice.id, inbox, &note(9999))
        .expect("insert");

    let out = alice.run(CHAIN, vec![query_rows(0, 0xFFFF)], vec![table], BIG);
    assert!(out.chained.len() > 1, "{} segments", out.chained.len() + 1);
    assert!(matches!(out.rops[0], RopResponse::QueryRows(_)));
    for seg in &out.chained {
        assert!(
            matches!(seg.as_slice(), [RopResponse::QueryRows(_)]),
            "a chained segment holds one RopQueryRows only"
        );
    }
    // The notification follows the first segment's answer, or waits for the next Execute.
    let (mut got, _) = notified(&out.rops);
    got.extend(notified(&alice.poll(1000).rops).0);
    assert_eq!(got, vec![table]);
}

#[test]
fn nothing_follows_a_rop_buffer_too_small() {
    let f = fixture();
    let inbox = f
        .store
        .special_folder(f.alice.id, INBOX)
        .expect("sql")
        .expect("inbox") as i64;
    let long = NewMessage {
        props: vec![(tags::PidTagSubject, PropertyValue::Unicode("x".repeat(200)))],
        ..NewMessage::default()
    };
    for _ in 0..2 {
        f.store
            .insert_message(f.alice.id, inbox, &long)
            .expect("insert");
    }
    let mut alice = Sess::new(&f, &f.alice);
    let table = alice.table(INBOX, false, 0, true);
    f.store
        .insert_message(f.alice.id, inbox, &long)
        .expect("insert");
    // RopQueryPosition's answer (14 bytes) fits, the second row does not: RopQueryRows becomes
    // a RopBufferTooSmall carrying the request (3 + 7 bytes), leaving room a notification
    // would fit in.
    let budget = 14 + 9 + 40;
    let out = alice.run(
        PLAIN,
        vec![query_position(0), query_rows(0, 1)],
        vec![table],
        budget + 8 + 2 + 4,
    );
    assert!(
        matches!(out.rops.last(), Some(RopResponse::BufferTooSmall(_))),
        "{:?}",
        out.rops
    );
    assert_eq!(out.raw.len(), 14 + 10);
    assert_eq!(
        notified(&alice.poll(1000).rops),
        (vec![table], false),
        "kept for later"
    );
}
