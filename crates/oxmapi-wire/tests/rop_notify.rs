//! RopNotify / RopPending (MS-OXCROPS 2.2.14) and NotificationData (MS-OXCNOTIF 2.2.1.4.1.2):
//! known-answer vectors, property round trips for every notification type, and how a ROP
//! output buffer takes them before, between and after the answers.

use oxmapi_wire::data::{FolderId, MessageId, PropertyRow, PropertyTag, PropertyValue, RowValue};
use oxmapi_wire::rop::*;
use oxmapi_wire::rpcext::{PackOptions, pack_chain, unpack_chain};
use oxmapi_wire::{Decode, DecodeErrorKind, Encode, ReadCursor, fuzzing};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;

fn hex(s: &str) -> Vec<u8> {
    hex::decode(s.split_whitespace().collect::<String>()).expect("test hex")
}

const TYPES: [NotificationType; 10] = [
    NotificationType::NewMail,
    NotificationType::ObjectCreated,
    NotificationType::ObjectDeleted,
    NotificationType::ObjectModified,
    NotificationType::ObjectMoved,
    NotificationType::ObjectCopied,
    NotificationType::SearchComplete,
    NotificationType::TableModified,
    NotificationType::StatusObjectModified,
    NotificationType::Reserved,
];

const EVENTS: [TableEventType; 5] = [
    TableEventType::TableChanged,
    TableEventType::TableRowAdded,
    TableEventType::TableRowDeleted,
    TableEventType::TableRowModified,
    TableEventType::TableRestrictionChanged,
];

const SUBJECT: PropertyTag = PropertyTag(0x0037_001F);
const MESSAGE_SIZE: PropertyTag = PropertyTag(0x0E08_0003);

/// Table 1 of MS-OXCNOTIF 2.2.1.4.1.2 restated: a valid NotificationData with the fields its
/// flags call for, filled from the generated values.
fn notification() -> impl Strategy<Value = NotificationData> {
    (
        0..TYPES.len(),
        any::<bool>(),
        any::<bool>(),
        0..EVENTS.len(),
        any::<[u64; 10]>(),
        any::<[u32; 2]>(),
        vec(any::<u8>(), 0..8),
        proptest::option::of(vec(any::<u32>(), 0..4)),
        proptest::option::of(any::<u32>()),
        proptest::option::of(any::<u32>()),
        (any::<u32>(), any::<u8>(), "[ -~]{0,10}"),
    )
        .prop_map(
            |(t, s, m, e, ids, ints, data, tags, total, unread, (flags, uni, class))| {
                use NotificationType as T;
                use TableEventType as E;
                let ty = TYPES[t];
                let fid = |i: usize| FolderId(ids[i]);
                let mid = |i: usize| MessageId(ids[i]);
                let mut d = NotificationData::new(ty);
                d.search_folder = s;
                d.message = m;
                if ty == T::TableModified {
                    let ev = EVENTS[e];
                    d.table_event = Some(ev);
                    if matches!(
                        ev,
                        E::TableRowAdded | E::TableRowDeleted | E::TableRowModified
                    ) {
                        d.table_row_folder_id = Some(fid(0));
                        if m {
                            d.table_row_message_id = Some(mid(1));
                            d.table_row_instance = Some(ints[0]);
                        }
                    }
                    if matches!(ev, E::TableRowAdded | E::TableRowModified) {
                        d.insert_after_table_row_folder_id = Some(fid(2));
                        if m {
                            d.insert_after_table_row_id = Some(mid(3));
                            d.insert_after_table_row_instance = Some(ints[1]);
                        }
                        d.table_row_data = Some(data);
                    }
                }
                let object = matches!(
                    ty,
                    T::NewMail
                        | T::ObjectCreated
                        | T::ObjectDeleted
                        | T::ObjectModified
                        | T::ObjectMoved
                        | T::ObjectCopied
                );
                if object || ty == T::SearchComplete {
                    d.folder_id = Some(fid(4));
                }
                if object && m {
                    d.message_id = Some(mid(5));
                }
                let moved = matches!(ty, T::ObjectMoved | T::ObjectCopied);
                if (moved || matches!(ty, T::ObjectCreated | T::ObjectDeleted)) && s == m {
                    d.parent_folder_id = Some(fid(6));
                }
                if moved {
                    d.old_folder_id = Some(fid(7));
                    if m {
                        d.old_message_id = Some(mid(8));
                    } else {
                        d.old_parent_folder_id = Some(fid(9));
                    }
                }
                if matches!(ty, T::ObjectCreated | T::ObjectModified) {
                    d.tags = Some(match tags {
                        None => NotificationTags::Unlisted,
                        Some(t) => NotificationTags::List(t.into_iter().map(PropertyTag).collect()),
                    });
                }
                d.total_message_count = total;
                d.unread_message_count = unread;
                if ty == T::NewMail {
                    d.new_mail = Some(NewMailData {
                        message_flags: flags,
                        unicode_flag: uni,
                        message_class: if uni == 0 {
                            class
                        } else {
                            format!("{class}€")
                        },
                    });
                }
                d
            },
        )
}

fn notify() -> impl Strategy<Value = NotifyResponse> {
    (any::<u32>(), any::<u8>(), notification()).prop_map(|(h, l, data)| NotifyResponse {
        notification_handle: h,
        logon_id: l,
        data,
    })
}

fn unsolicited() -> impl Strategy<Value = RopResponse> {
    prop_oneof![
        3 => notify().prop_map(RopResponse::Notify),
        1 => any::<u16>().prop_map(|session_index| RopResponse::Pending(PendingResponse { session_index })),
    ]
}

fn set_columns() -> RopResponse {
    RopResponse::SetColumns(SetColumnsResponse {
        input_handle_index: 1,
        table_status: 0,
    })
}

fn query_rows() -> RopResponse {
    RopResponse::QueryRows(QueryRowsResponse {
        input_handle_index: 1,
        origin: 2,
        columns: vec![MESSAGE_SIZE],
        rows: vec![PropertyRow::from_values(vec![RowValue::Value(
            PropertyValue::Int32(7),
        )])],
    })
}

/// SetColumns then QueryRows, with a RopRelease (no response) in front.
fn contexts() -> Vec<ResponseContext> {
    vec![
        ResponseContext::Release,
        ResponseContext::Plain(RopId::SET_COLUMNS),
        ResponseContext::QueryRows {
            columns: vec![MESSAGE_SIZE],
        },
    ]
}

/// A ROP output buffer whose RopsList is `list` as given, then the handles.
fn raw_buffer(list: &[u8], handles: &[u32]) -> Vec<u8> {
    let size = u16::try_from(list.len() + 2).expect("small list");
    let mut out = size.to_le_bytes().to_vec();
    out.extend_from_slice(list);
    handles
        .iter()
        .for_each(|h| out.extend_from_slice(&h.to_le_bytes()));
    out
}

fn assert_prefixes_fail<T: Decode + std::fmt::Debug>(bytes: &[u8]) {
    for n in 0..bytes.len() {
        let r = T::from_bytes(&bytes[..n]);
        assert!(r.is_err(), "prefix of {n} bytes decoded: {r:?}");
    }
}

/// Decodes, compares, re-encodes byte for byte, and checks every strict prefix fails.
fn known_answer<T: Decode + Encode + PartialEq + std::fmt::Debug>(bytes: &[u8], want: &T) {
    let got = T::from_bytes(bytes).expect("decodes");
    assert_eq!(&got, want);
    assert_eq!(got.to_bytes().expect("encodes"), bytes);
    assert_prefixes_fail::<T>(bytes);
    fuzzing::rop_notify(bytes);
}

/// A content table row added, about a message (M): every row field, and a PropertyRow of
/// PidTagMessageSize = 42 and PidTagSubject = "Ab".
const ROW_ADDED: &str = "2A 44332211 00  0081 0300
    0100000000000005 0100000000000123 00000000
    0100000000000005 0100000000000122 00000000
    0B00 00 2A000000 410062000000";

fn row_added() -> NotifyResponse {
    let mut d = NotificationData::new(NotificationType::TableModified);
    d.message = true;
    d.table_event = Some(TableEventType::TableRowAdded);
    d.table_row_folder_id = Some(FolderId::new(1, 5));
    d.table_row_message_id = Some(MessageId::new(1, 0x123));
    d.table_row_instance = Some(0);
    d.insert_after_table_row_folder_id = Some(FolderId::new(1, 5));
    d.insert_after_table_row_id = Some(MessageId::new(1, 0x122));
    d.insert_after_table_row_instance = Some(0);
    d.table_row_data = Some(hex("00 2A000000 410062000000"));
    NotifyResponse {
        notification_handle: 0x1122_3344,
        logon_id: 0,
        data: d,
    }
}

#[test]
fn table_row_added_with_message_bit() {
    let want = row_added();
    known_answer(&hex(ROW_ADDED), &want);
    let row = want
        .data
        .table_row(&[MESSAGE_SIZE, SUBJECT])
        .expect("has a row");
    assert_eq!(
        row.expect("decodes for its columns").values,
        vec![
            RowValue::Value(PropertyValue::Int32(42)),
            RowValue::Value(PropertyValue::Unicode("Ab".into())),
        ]
    );
    // Other columns: the row does not fill TableRowData exactly.
    assert!(want.data.table_row(&[MESSAGE_SIZE]).expect("row").is_err());
    assert!(
        NotificationData::new(NotificationType::TableModified)
            .table_row(&[MESSAGE_SIZE])
            .is_none()
    );
}

#[test]
fn new_mail_with_unicode_class() {
    let bytes = hex("2A 01000000 00 0280 0100000000000005 0100000000000123
         00000000 01 490050004D002E004E006F00740065000000");
    let mut d = NotificationData::new(NotificationType::NewMail);
    d.message = true;
    d.folder_id = Some(FolderId::new(1, 5));
    d.message_id = Some(MessageId::new(1, 0x123));
    d.new_mail = Some(NewMailData {
        message_flags: 0,
        unicode_flag: 1,
        message_class: "IPM.Note".into(),
    });
    let want = NotifyResponse {
        notification_handle: 1,
        logon_id: 0,
        data: d,
    };
    known_answer(&bytes, &want);
    // The same with an 8-bit class (UnicodeFlag 0).
    let bytes8 = hex("2A 01000000 00 0280 0100000000000005 0100000000000123
         00000000 00 49504D2E4E6F746500");
    let mut want8 = want.clone();
    if let Some(m) = &mut want8.data.new_mail {
        m.unicode_flag = 0;
    }
    known_answer(&bytes8, &want8);
}

#[test]
fn folder_modified_with_total_and_unread_counts() {
    let bytes = hex("2A 02000000 00 1030 0100000000000005
         0200 03000236 03000336 07000000 02000000");
    let mut d = NotificationData::new(NotificationType::ObjectModified);
    d.folder_id = Some(FolderId::new(1, 5));
    d.tags = Some(NotificationTags::List(vec![
        PropertyTag(0x3602_0003),
        PropertyTag(0x3603_0003),
    ]));
    d.total_message_count = Some(7);
    d.unread_message_count = Some(2);
    assert_eq!(d.notification_flags(), 0x3010);
    known_answer(
        &bytes,
        &NotifyResponse {
            notification_handle: 2,
            logon_id: 0,
            data: d,
        },
    );
}

#[test]
fn pending() {
    known_answer(&hex("6E 0500"), &PendingResponse { session_index: 5 });
}

#[test]
fn unknown_or_multi_bit_types_are_typed_errors() {
    for flags in ["0000", "0600", "0002", "0080"] {
        // 0x0000 none, 0x0006 two bits, 0x0200 unknown bit, 0x8000 only M.
        let bytes = hex(&format!("2A 01000000 00 {flags} 0100000000000005"));
        let e = NotifyResponse::from_bytes(&bytes).unwrap_err();
        assert_eq!(e.field, "NotificationFlags", "{flags}: {e}");
        assert_eq!(e.offset, 6);
        assert!(matches!(e.kind, DecodeErrorKind::InvalidValue(_)), "{e}");
    }
    let e = NotifyResponse::from_bytes(&hex("2A 01000000 00 0001 0200")).unwrap_err();
    assert_eq!(e.field, "TableEventType", "{e}");
}

#[test]
fn encoding_refuses_fields_the_flags_do_not_call_for() {
    let mut d = NotificationData::new(NotificationType::NewMail);
    let e = d.to_bytes().unwrap_err();
    assert!(e.to_string().contains("FolderId"), "{e}");
    d.folder_id = Some(FolderId(1));
    d.new_mail = Some(NewMailData {
        message_flags: 0,
        unicode_flag: 0,
        message_class: "IPM.Note".into(),
    });
    assert!(d.to_bytes().is_ok());
    d.message = true;
    let e = d.to_bytes().unwrap_err();
    assert!(e.to_string().contains("MessageId"), "{e}");
    // A row event without its row.
    let mut t = NotificationData::new(NotificationType::TableModified);
    t.table_event = Some(TableEventType::TableRowDeleted);
    let e = t.to_bytes().unwrap_err();
    assert!(e.to_string().contains("TableRowFolderID"), "{e}");
    // A table event on another type.
    let mut o = NotificationData::new(NotificationType::SearchComplete);
    o.folder_id = Some(FolderId(1));
    o.table_event = Some(TableEventType::TableChanged);
    assert!(
        o.to_bytes()
            .unwrap_err()
            .to_string()
            .contains("TableEventType")
    );
    // 65535 tags would read back as "no list".
    let mut c = NotificationData::new(NotificationType::ObjectModified);
    c.folder_id = Some(FolderId(1));
    c.tags = Some(NotificationTags::List(vec![PropertyTag(0); 0xFFFF]));
    assert!(c.to_bytes().is_err());
}

#[test]
fn debug_shows_only_present_fields() {
    let s = format!("{:?}", row_added().data);
    assert!(s.contains("table_row_message_id"), "{s}");
    assert!(!s.contains("new_mail") && !s.contains("None"), "{s}");
}

#[test]
fn notifications_before_between_and_after_answers() {
    let note = |h| {
        let mut n = row_added();
        n.notification_handle = h;
        RopResponse::Notify(n)
    };
    let pending = RopResponse::Pending(PendingResponse { session_index: 0 });
    let buf = RopResponseBuffer {
        rops: vec![
            note(1),
            set_columns(),
            note(2),
            pending.clone(),
            query_rows(),
            note(3),
            pending,
        ],
        handles: vec![5, 6],
    };
    let bytes = buf.to_bytes().expect("encodes");
    let got = RopResponseBuffer::decode(&bytes, &contexts()).expect("decodes");
    assert_eq!(got, buf);
    assert_eq!(got.rops.iter().filter(|r| r.is_unsolicited()).count(), 5);
    assert!(
        got.rops
            .iter()
            .all(|r| r.is_unsolicited() == r.return_value().is_none())
    );
}

#[test]
fn notifications_in_a_chained_segment() {
    let first = RopResponseBuffer {
        rops: vec![
            set_columns(),
            query_rows(),
            RopResponse::Notify(row_added()),
        ],
        handles: vec![5],
    };
    let chained = RopResponseBuffer {
        rops: vec![
            RopResponse::Notify(row_added()),
            query_rows(),
            RopResponse::Pending(PendingResponse { session_index: 0 }),
        ],
        handles: vec![5],
    };
    let opts = PackOptions {
        compress: true,
        xor: true,
        ..PackOptions::default()
    };
    let packed = pack_chain(
        &[first.to_bytes().unwrap(), chained.to_bytes().unwrap()],
        opts,
    )
    .unwrap();
    let payloads = unpack_chain(&packed).unwrap();
    assert_eq!(
        RopResponseBuffer::decode(&payloads[0], &contexts()).unwrap(),
        first
    );
    let qctx = [ResponseContext::QueryRows {
        columns: vec![MESSAGE_SIZE],
    }];
    assert_eq!(
        RopResponseBuffer::decode(&payloads[1], &qctx).unwrap(),
        chained
    );
}

/// A RopNotify with the unknown type bit 0x0200, and bytes after it.
const UNKNOWN: &str = "2A 01000000 00 0002 DEADBEEF";

#[test]
fn unknown_notification_after_every_answer_is_kept() {
    let mut list = set_columns().to_bytes().unwrap();
    let answers_end = 2 + list.len();
    list.extend(query_rows().to_bytes().unwrap());
    let at = 2 + list.len();
    list.extend(hex(UNKNOWN));
    let bytes = raw_buffer(&list, &[5, 6]);
    let got = RopResponseBuffer::decode(&bytes, &contexts()).expect("decodes");
    assert_eq!(
        got.handles,
        [5, 6],
        "the handle table after RopsList is read"
    );
    assert_eq!(got.rops.len(), 3);
    let RopResponse::UndecodedNotifications(u) = &got.rops[2] else {
        panic!("{:?}", got.rops[2]);
    };
    assert_eq!(u.offset, at);
    assert_eq!(u.bytes, hex(UNKNOWN));
    assert_eq!(u.reason.field, "NotificationFlags");
    assert_eq!(u.rop_id(), RopId::NOTIFY);
    assert!(got.rops[2].is_unsolicited());
    assert_eq!(
        got.to_bytes().unwrap(),
        bytes,
        "kept bytes re-encode as sent"
    );
    assert!(answers_end < at);
}

#[test]
fn truncated_or_misread_notifications_after_every_answer_are_kept() {
    let answers = [set_columns(), query_rows()]
        .iter()
        .flat_map(|r| r.to_bytes().unwrap())
        .collect::<Vec<_>>();
    let note = row_added().to_bytes().unwrap();
    // Truncated: every cut of the notification.
    for n in 1..note.len() {
        let mut list = answers.clone();
        list.extend_from_slice(&note[..n]);
        let got = RopResponseBuffer::decode(&raw_buffer(&list, &[9]), &contexts())
            .unwrap_or_else(|e| panic!("cut at {n}: {e}"));
        let Some(RopResponse::UndecodedNotifications(u)) = got.rops.last() else {
            panic!("cut at {n}: {:?}", got.rops);
        };
        assert!(u.reason.is_truncated(), "cut at {n}: {}", u.reason);
        assert_eq!(got.handles, [9]);
    }
    // A whole notification, then bytes that are no response at all.
    let mut list = answers.clone();
    list.extend_from_slice(&note);
    list.extend(hex("77 0102"));
    let got = RopResponseBuffer::decode(&raw_buffer(&list, &[]), &contexts()).unwrap();
    assert!(matches!(got.rops[2], RopResponse::Notify(_)));
    let RopResponse::UndecodedNotifications(u) = &got.rops[3] else {
        panic!("{:?}", got.rops);
    };
    assert_eq!(u.bytes, hex("77 0102"));
}

#[test]
fn undecodable_notifications_before_an_answer_are_errors() {
    // Unknown type before the answers: they could not be found after it.
    let mut list = hex(UNKNOWN);
    list.extend(set_columns().to_bytes().unwrap());
    list.extend(query_rows().to_bytes().unwrap());
    let e = RopResponseBuffer::decode(&raw_buffer(&list, &[]), &contexts()).unwrap_err();
    assert_eq!(e.field, "NotificationFlags", "{e}");
    // Between the answers.
    let mut list = set_columns().to_bytes().unwrap();
    list.extend(hex("2A 01000000 00 0002"));
    list.extend(query_rows().to_bytes().unwrap());
    assert!(RopResponseBuffer::decode(&raw_buffer(&list, &[]), &contexts()).is_err());
    // Bytes after the answers with no notification in front stay an error.
    let mut list = set_columns().to_bytes().unwrap();
    list.extend(query_rows().to_bytes().unwrap());
    list.extend(hex("77 0102"));
    let e = RopResponseBuffer::decode(&raw_buffer(&list, &[]), &contexts()).unwrap_err();
    assert!(e.to_string().contains("no request left"), "{e}");
}

#[test]
fn notifications_decode_whatever_the_context() {
    let bytes = hex(ROW_ADDED);
    for ctx in contexts() {
        let mut r = ReadCursor::new(&bytes);
        let got = RopResponse::decode(&mut r, &ctx).expect("decodes");
        assert_eq!(got, RopResponse::Notify(row_added()));
        assert!(r.is_empty());
    }
}

/// The committed seeds of the `rop_notify` fuzz target replay through its entry point.
#[test]
fn rop_notify_corpus() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/rop_notify");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        fuzzing::rop_notify(&std::fs::read(entry.unwrap().path()).unwrap());
        n += 1;
    }
    assert!(n > 0, "corpus rop_notify is empty");
}

/// The strategy reaches every notification type and table event.
#[test]
fn strategy_covers_every_type_and_event() {
    let mut runner = TestRunner::deterministic();
    let strat = notification();
    let mut types = std::collections::HashSet::new();
    let mut events = std::collections::HashSet::new();
    for _ in 0..2000 {
        let d = strat.new_tree(&mut runner).expect("tree").current();
        types.insert(d.notification_type);
        events.extend(d.table_event);
    }
    assert_eq!(types.len(), TYPES.len(), "{types:?}");
    assert_eq!(events.len(), EVENTS.len(), "{events:?}");
}

proptest! {
    #[test]
    fn notify_round_trip(n in notify()) {
        let bytes = n.to_bytes().expect("a valid notification encodes");
        prop_assert_eq!(NotifyResponse::from_bytes(&bytes).expect("decodes"), n.clone());
        prop_assert_eq!(bytes[6..8].to_vec(), n.data.notification_flags().to_le_bytes().to_vec());
        for k in 0..bytes.len() {
            prop_assert!(NotifyResponse::from_bytes(&bytes[..k]).is_err(), "prefix {} decoded", k);
        }
        fuzzing::rop_notify(&bytes);
    }

    #[test]
    fn pending_round_trip(session_index in any::<u16>()) {
        let p = PendingResponse { session_index };
        let bytes = p.to_bytes().unwrap();
        prop_assert_eq!(PendingResponse::from_bytes(&bytes).unwrap(), p);
    }

    #[test]
    fn buffer_takes_notifications_anywhere(
        notes in vec((0..3usize, unsolicited()), 0..6),
        handles in vec(any::<u32>(), 0..3),
    ) {
        let answers = [set_columns(), query_rows()];
        let mut rops = Vec::new();
        for slot in 0..3 {
            rops.extend(notes.iter().filter(|(s, _)| *s == slot).map(|(_, r)| r.clone()));
            if let Some(a) = answers.get(slot) {
                rops.push(a.clone());
            }
        }
        let buf = RopResponseBuffer { rops, handles };
        let bytes = buf.to_bytes().expect("encodes");
        prop_assert_eq!(RopResponseBuffer::decode(&bytes, &contexts()).expect("decodes"), buf);
        let mut seed = fuzzing::encode_response_contexts(&contexts()).expect("fits");
        seed.extend_from_slice(&bytes);
        fuzzing::rop_response_buffer(&seed);
    }

    #[test]
    fn arbitrary_notification_bytes_never_panic(bytes in vec(any::<u8>(), 0..64)) {
        let mut with_id = vec![0x2A];
        with_id.extend_from_slice(&bytes);
        fuzzing::rop_notify(&with_id);
        let mut list = set_columns().to_bytes().unwrap();
        list.extend(query_rows().to_bytes().unwrap());
        list.extend_from_slice(&with_id);
        let got = RopResponseBuffer::decode(&raw_buffer(&list, &[]), &contexts());
        let got = got.expect("after every answer a notification never fails the buffer");
        // RopBackoff / RopBufferTooSmall bytes after a notification still decode as such.
        prop_assert!(got.rops[2..].iter().all(RopResponse::is_special));
    }
}
