//! Request budget, per-session object caps and stream limits of the ROP processor.

use std::time::{Duration, Instant};

use oxmapi_wire::WriteCursor;
use oxmapi_wire::data::{PropertyValue, ValueContext, encode_typed_value, tags};
use oxmapi_wire::rpcext::unpack_segments;

use super::MailboxContext;
use super::objects::{EC_MAX_OBJS_EXCEEDED, Object};
use crate::limits::Limits;
use crate::store::{Store, UserRecord, tx};

const NULL: u32 = 0xFFFF_FFFF;
const NO_COMP_NO_XOR: u32 = 0x3;
const BIG: u32 = 0x40000;

struct Fixture {
    _dir: tempfile::TempDir,
    store: Store,
    alice: UserRecord,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    store.init_org("Org", "example.test", false).expect("org");
    let alice = store
        .add_user("alice", "Alice Example", "pw")
        .expect("alice");
    Fixture {
        _dir: dir,
        store,
        alice,
    }
}

fn rgb_in(rops: &[u8], handles: &[u32]) -> Vec<u8> {
    let mut p = ((rops.len() + 2) as u16).to_le_bytes().to_vec();
    p.extend_from_slice(rops);
    for h in handles {
        p.extend_from_slice(&h.to_le_bytes());
    }
    let mut b = vec![0, 0, 0x04, 0];
    b.extend((p.len() as u16).to_le_bytes());
    b.extend((p.len() as u16).to_le_bytes());
    b.extend(p);
    b
}

fn one(out: &[u8]) -> (Vec<u8>, Vec<u32>) {
    let segs = unpack_segments(out).expect("valid rgbOut");
    let p = &segs[0].payload;
    let size = u16::from_le_bytes([p[0], p[1]]) as usize;
    let h = p[size..]
        .chunks(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    (p[2..size].to_vec(), h)
}

fn logon(c: &mut MailboxContext, f: &Fixture) -> u32 {
    let dn = &f.alice.legacy_dn;
    let mut b = vec![0xFE, 0x00, 0, 0x01];
    b.extend(0x0100_000Cu32.to_le_bytes());
    b.extend(0u32.to_le_bytes());
    b.extend(((dn.len() + 1) as u16).to_le_bytes());
    b.extend(dn.as_bytes());
    b.push(0);
    let out = c
        .execute(NO_COMP_NO_XOR, &rgb_in(&b, &[NULL]), BIG)
        .expect("execute");
    one(&out).1[0]
}

fn inbox(f: &Fixture) -> u64 {
    f.store
        .special_folder(f.alice.id, 5)
        .expect("sql")
        .expect("inbox")
}

/// `n` messages with a subject and a delivery time, in one transaction.
fn seed(f: &Fixture, n: usize) {
    let folder = inbox(f) as i64;
    f.store
        .with_conn(|c| {
            tx::write(c, |c| {
                for i in 0..n {
                    let mid = oxmapi_wire::data::MessageId::new(1, 0x10_0000 + i as u64).0 as i64;
                    c.execute(
                        "INSERT INTO messages (mailbox_id, mid, fid) VALUES (?1, ?2, ?3)",
                        rusqlite::params![f.alice.id, mid, folder],
                    )?;
                    let values = [
                        (
                            tags::PidTagSubject,
                            PropertyValue::Unicode(format!("subject {}", (i * 7919) % n)),
                        ),
                        (
                            tags::PidTagMessageDeliveryTime,
                            PropertyValue::Time(133_000_000_000_000_000 + i as u64),
                        ),
                    ];
                    for (tag, v) in values {
                        let mut w = WriteCursor::new();
                        encode_typed_value(&v, &mut w, ValueContext::Rop).expect("encode");
                        c.execute(
                            "INSERT INTO props VALUES (?1, 1, ?2, ?3, ?4)",
                            rusqlite::params![f.alice.id, mid, i64::from(tag.0), w.into_inner()],
                        )?;
                    }
                }
                Ok(())
            })
        })
        .expect("seed");
}

/// PidTagImportance (MS-OXPROPS 2.735): not a summary column.
const IMPORTANCE: u32 = 0x0017_0003;

/// OpenFolder(inbox) into slot 1, GetContentsTable into slot 2.
fn open_table_rops(f: &Fixture) -> Vec<u8> {
    let mut rops = vec![0x02, 0, 0, 1];
    rops.extend(inbox(f).to_le_bytes());
    rops.push(0);
    rops.extend([0x05, 0, 1, 2, 0x00]);
    rops
}

/// RopSortTable on slot 2 by one key.
fn sort_rop(tag: u32, descending: bool) -> Vec<u8> {
    let mut rops = vec![0x13, 0, 2, 0, 1, 0, 0, 0, 0, 0];
    rops.extend(tag.to_le_bytes());
    rops.push(u8::from(descending));
    rops
}

/// RopSetColumns on slot 2 (PidTagMid) and RopQueryRows of `n` rows.
fn read_rops(n: u16) -> Vec<u8> {
    let mut rops = vec![0x12, 0, 2, 0, 1, 0];
    rops.extend(tags::PidTagMid.0.to_le_bytes());
    rops.extend([0x15, 0, 2, 0, 1]);
    rops.extend(n.to_le_bytes());
    rops
}

/// The MIDs of the RopQueryRows response at `at` in `r` (columns: PidTagMid only): RopId,
/// InputHandleIndex, ReturnValue, Origin, RowCount, then standard rows of Flag + 8 bytes.
fn mids(r: &[u8], at: usize) -> Vec<i64> {
    assert_eq!(r[at], 0x15, "RopQueryRows");
    let count = u16::from_le_bytes([r[at + 7], r[at + 8]]) as usize;
    let rows = at + 9;
    (0..count)
        .map(|i| {
            let row = &r[rows + 9 * i..rows + 9 * (i + 1)];
            assert_eq!(row[0], 0, "standard row");
            i64::from_le_bytes(row[1..9].try_into().expect("8 bytes"))
        })
        .collect()
}

fn ctx_with(f: &Fixture, limits: &Limits) -> MailboxContext {
    MailboxContext::new(f.alice.clone(), f.store.clone(), false).with_limits(limits)
}

/// RopSortTable over 20,000 rows, by summary columns (one indexed statement) and by a
/// property outside the summary (its values for the folder in one statement, then an
/// in-memory sort). Printed, not asserted: the numbers of one run.
#[test]
fn sorting_20000_rows_timing() {
    let f = fixture();
    seed(&f, 20_000);
    let mut c = MailboxContext::new(f.alice.clone(), f.store.clone(), false);
    let h = logon(&mut c, &f);
    for (name, tag) in [
        ("PidTagSubject (stored)", tags::PidTagSubject.0),
        (
            "PidTagMessageDeliveryTime (stored)",
            tags::PidTagMessageDeliveryTime.0,
        ),
        (
            "PidTagMessageSize (summary column, indexed)",
            tags::PidTagMessageSize.0,
        ),
        (
            "PidTagImportance (not a summary column: read for the folder, sorted in memory)",
            IMPORTANCE,
        ),
    ] {
        let mut rops = open_table_rops(&f);
        rops.extend(sort_rop(tag, true));
        let started = Instant::now();
        let out = c
            .execute(NO_COMP_NO_XOR, &rgb_in(&rops, &[h, NULL, NULL]), BIG)
            .expect("execute");
        let took = started.elapsed();
        let (r, _) = one(&out);
        assert_eq!(
            r.len(),
            8 + 10 + 7,
            "OpenFolder, GetContentsTable, SortTable"
        );
        println!("RopSortTable over 20000 rows by {name}: {took:?}");
    }
}

/// The indexed ordering (summary columns in SQL) gives the rows in the same order as the
/// in-memory one (forced by a second key outside the summary, which never decides: subjects
/// differ), for ascending and descending subjects and delivery times.
#[test]
fn stored_value_ordering_matches_row_by_row() {
    let f = fixture();
    seed(&f, 500);
    let mut c = MailboxContext::new(f.alice.clone(), f.store.clone(), false);
    let h = logon(&mut c, &f);
    let order = |c: &mut MailboxContext, keys: &[(u32, bool)]| {
        let mut rops = open_table_rops(&f);
        rops.extend([0x13, 0, 2, 0]);
        rops.extend((keys.len() as u16).to_le_bytes());
        rops.extend([0, 0, 0, 0]);
        for (tag, desc) in keys {
            rops.extend(tag.to_le_bytes());
            rops.push(u8::from(*desc));
        }
        rops.extend(read_rops(1000));
        let out = c
            .execute(NO_COMP_NO_XOR, &rgb_in(&rops, &[h, NULL, NULL]), BIG)
            .expect("execute");
        // OpenFolder 8, GetContentsTable 10, SortTable 7, SetColumns 7 bytes.
        mids(&one(&out).0, 32)
    };
    for (key, desc) in [
        (tags::PidTagSubject.0, false),
        (tags::PidTagSubject.0, true),
        (tags::PidTagMessageDeliveryTime.0, true),
    ] {
        let fast = order(&mut c, &[(key, desc)]);
        let slow = order(&mut c, &[(key, desc), (IMPORTANCE, true)]);
        assert_eq!(fast.len(), 500);
        assert_eq!(fast, slow, "key {key:#x} descending {desc}");
    }
}

/// A contents-table row read from the store's summary has exactly the values the message
/// object has (computed ones from its live attachments, flags and size included), for a
/// message with an attachment, recipients and a read flag changed after it was stored.
#[test]
fn table_rows_equal_object_properties() {
    let f = fixture();
    seed(&f, 3);
    let mut c = MailboxContext::new(f.alice.clone(), f.store.clone(), false);
    logon(&mut c, &f);
    let mid = oxmapi_wire::data::MessageId::new(1, 0x10_0001).0 as i64;
    let info = c.store_info(f.alice.id).expect("logged on").clone();
    let folder = inbox(&f) as i64;
    f.store
        .with_conn(|conn| {
            use crate::store::messages as m;
            m::put_prop(
                conn,
                f.alice.id,
                1,
                mid,
                tags::PidTagMessageFlags,
                &PropertyValue::Int32(1),
            )?;
            let att = m::create_attachment(conn, f.alice.id, mid)?;
            m::put_prop(
                conn,
                f.alice.id,
                2,
                att.att_id,
                tags::PidTagAttachDataBinary,
                &PropertyValue::Binary(vec![7; 40_000]),
            )?;
            Ok(())
        })
        .expect("write");
    f.store
        .with_conn(|conn| {
            let object = info.message_props(conn, folder, mid)?;
            let columns: Vec<_> = object.iter().map(|(t, _)| *t).collect();
            let rows = super::contents::rows(conn, &info, folder, &[mid], &columns)?
                .expect("the summaries are fresh");
            assert_eq!(rows.len(), 1);
            let mut row = rows[0].1.clone();
            let mut object = object;
            row.sort_by_key(|(t, _)| t.0);
            object.sort_by_key(|(t, _)| t.0);
            // The object lists PidTagObjectType twice (stored-value merge); projection takes
            // the first, so compare one value per tag.
            object.dedup_by_key(|(t, _)| t.0);
            row.dedup_by_key(|(t, _)| t.0);
            assert_eq!(row, object);
            let size = super::props::lookup(&row, tags::PidTagMessageSize).and_then(|v| v.as_i64());
            assert!(
                size.is_some_and(|s| s > 40_000),
                "size includes the attachment: {size:?}"
            );
            assert_eq!(
                super::props::lookup(&row, tags::PidTagMessageFlags),
                Some(PropertyValue::Int32(0x11)),
                "read + has-attachment"
            );
            let (count, unread) = crate::store::summary::counts(conn, f.alice.id, folder)?;
            assert_eq!((count, unread), (3, 2), "one of three is read");
            Ok(())
        })
        .expect("sql");
}

/// With a small store time budget, a sort that reads every row is stopped: RopBackoff
/// (MS-OXCROPS 2.2.15.2) with the configured duration takes the place of RopSortTable, the
/// ROPs before it keep their responses (and objects), the ROPs after it are not run.
#[test]
fn budget_exceeded_answers_backoff_for_the_delayed_rop() {
    let f = fixture();
    seed(&f, 20_000);
    // Opening the folder and the table are a few indexed lookups (well under the budget);
    // a sort the summary's indexes cannot serve reads the whole folder (far over it).
    let limits = Limits {
        request_time_budget: Duration::from_millis(5),
        backoff: Duration::from_millis(2500),
        ..Limits::default()
    };
    let mut c = ctx_with(&f, &limits);
    let h = logon(&mut c, &f);
    let mut rops = open_table_rops(&f);
    rops.extend(sort_rop(IMPORTANCE, false));
    rops.extend(read_rops(10));
    let out = c
        .execute(NO_COMP_NO_XOR, &rgb_in(&rops, &[h, NULL, NULL]), BIG)
        .expect("execute");
    let (r, handles) = one(&out);
    assert_eq!(&r[..2], &[0x02, 1], "RopOpenFolder");
    assert_eq!(&r[8..10], &[0x05, 2], "RopGetContentsTable");
    // RopBackoff: RopId 0xF9, LogonId 0, Duration, BackoffRopCount 1, RopIdBackoff 0x13
    // (RopSortTable), Duration, AdditionalDataSize 0. Nothing follows.
    let mut want = vec![0xF9, 0];
    want.extend(2500u32.to_le_bytes());
    want.extend([1, 0x13]);
    want.extend(2500u32.to_le_bytes());
    want.extend([0, 0]);
    assert_eq!(&r[18..], &want[..]);
    assert_ne!(
        handles[2], NULL,
        "the table opened before the delayed ROP stays"
    );

    // Resent with a fresh (and, here, larger) budget, a sort on a summary column fits.
    c.limits.request_time_budget = Duration::from_secs(10);
    let mut rops = sort_rop(tags::PidTagMessageDeliveryTime.0, false);
    rops.extend(read_rops(10));
    let out = c
        .execute(NO_COMP_NO_XOR, &rgb_in(&rops, &handles), BIG)
        .expect("execute");
    let (r, _) = one(&out);
    assert_eq!(&r[..7], &[0x13, 2, 0, 0, 0, 0, 0], "RopSortTable");
    assert_eq!(mids(&r, 14).len(), 10);
}

/// A budget spent between ROPs (here: none at all) delays the next ROP that would use the
/// store; a ROP that needs no store work still runs, and RopBackoff names the next one.
#[test]
fn spent_budget_delays_the_next_rop() {
    let f = fixture();
    seed(&f, 10);
    let mut c = ctx_with(&f, &Limits::default());
    let h = logon(&mut c, &f);
    let out = c
        .execute(
            NO_COMP_NO_XOR,
            &rgb_in(&open_table_rops(&f), &[h, NULL, NULL]),
            BIG,
        )
        .expect("execute");
    let (_, handles) = one(&out);
    let mut c = c.with_limits(&Limits {
        request_time_budget: Duration::ZERO,
        ..Limits::default()
    });
    // RopSetColumns touches no store; RopQueryRows would.
    let out = c
        .execute(NO_COMP_NO_XOR, &rgb_in(&read_rops(5), &handles), BIG)
        .expect("execute");
    let (r, _) = one(&out);
    assert_eq!(&r[..7], &[0x12, 2, 0, 0, 0, 0, 0], "RopSetColumns");
    assert_eq!(&r[7..9], &[0xF9, 0]);
    assert_eq!(r[13..15], [1, 0x15], "RopQueryRows delayed");
    // Outside a request nothing is budgeted: notifications still poll.
    assert!(!c.poll_notifications());
}

/// 255 RopGetContentsTable in one request: at most `max_tables_per_session` tables, the rest
/// ecMaxObjsExceeded, and no table lists its rows before a ROP reads them.
#[test]
fn table_cap_and_lazy_rows() {
    let f = fixture();
    seed(&f, 2_000);
    let limits = Limits {
        max_tables_per_session: 100,
        ..Limits::default()
    };
    let mut c = ctx_with(&f, &limits);
    let h = logon(&mut c, &f);
    let mut rops = vec![0x02, 0, 0, 1];
    rops.extend(inbox(&f).to_le_bytes());
    rops.push(0);
    for out in 2..=255u8 {
        rops.extend([0x05, 0, 1, out, 0x00]);
    }
    let mut handles = vec![NULL; 256];
    handles[0] = h;
    let out = c
        .execute(NO_COMP_NO_XOR, &rgb_in(&rops, &handles), BIG)
        .expect("execute");
    let (r, handles) = one(&out);
    let mut at = 8;
    let mut made = 0;
    let mut refused = 0;
    while at < r.len() {
        let ec = u32::from_le_bytes(r[at + 2..at + 6].try_into().expect("4 bytes"));
        if ec == 0 {
            made += 1;
            at += 10;
        } else {
            assert_eq!(ec, EC_MAX_OBJS_EXCEEDED.0);
            refused += 1;
            at += 6;
        }
    }
    assert_eq!((made, refused), (100, 154));
    assert_eq!(c.object_count(), 102);
    let listed = c.handles.tables().filter(|(_, t)| t.rows.is_some()).count();
    assert_eq!(listed, 0, "tables list their rows when first read");
    // Reading one lists that one only.
    let out = c
        .execute(NO_COMP_NO_XOR, &rgb_in(&read_rops(3), &handles), BIG)
        .expect("execute");
    assert_eq!(mids(&one(&out).0, 7).len(), 3);
    let listed: Vec<_> = c
        .handles
        .tables()
        .filter(|(_, t)| t.rows.as_ref().is_some_and(|r| r.len() == 2_000))
        .collect();
    assert_eq!(listed.len(), 1);
    assert!(matches!(c.handles.get(handles[2]), Ok(Object::Table(_))));
}
