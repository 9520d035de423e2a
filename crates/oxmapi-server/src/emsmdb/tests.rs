//! Drives `MailboxContext::execute` with ROP buffers built byte by byte from MS-OXCROPS.

use oxmapi_wire::WriteCursor;
use oxmapi_wire::data::{
    ErrorCode, PropertyTag, PropertyValue, ValueContext, encode_typed_value, tags,
};
use oxmapi_wire::rpcext::unpack_segments;

use super::MailboxContext;
use crate::store::{Store, UserRecord, tx};

const NULL: u32 = 0xFFFF_FFFF;
const NO_COMP_NO_XOR: u32 = 0x3;
const CHAIN: u32 = 0x4;
const BIG: u32 = 0x40000;

struct Fixture {
    _dir: tempfile::TempDir,
    store: Store,
    alice: UserRecord,
    bob: UserRecord,
}

fn fixture(public_folders: bool) -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    store
        .init_org("Org", "example.test", public_folders)
        .expect("org");
    let alice = store
        .add_user("alice", "Alice Example", "pw")
        .expect("alice");
    let bob = store.add_user("bob", "Bob", "pw").expect("bob");
    Fixture {
        _dir: dir,
        store,
        alice,
        bob,
    }
}

fn ctx(f: &Fixture, pf: bool) -> MailboxContext {
    MailboxContext::new(f.alice.clone(), f.store.clone(), pf)
}

/// MS-OXCROPS 2.2.1 ROP input buffer inside one RPC_HEADER_EXT with Last (MS-OXCRPC 2.2.2.1).
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

/// Splits each output segment into (RopsList, handle table).
fn segments(out: &[u8]) -> Vec<(Vec<u8>, Vec<u32>)> {
    unpack_segments(out)
        .expect("valid rgbOut")
        .into_iter()
        .map(|s| {
            let p = s.payload;
            let size = u16::from_le_bytes([p[0], p[1]]) as usize;
            assert_eq!((p.len() - size) % 4, 0);
            let h = p[size..]
                .chunks(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            (p[2..size].to_vec(), h)
        })
        .collect()
}

fn one(out: &[u8]) -> (Vec<u8>, Vec<u32>) {
    let mut s = segments(out);
    assert_eq!(s.len(), 1);
    s.remove(0)
}

fn rv(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[2], b[3], b[4], b[5]])
}

/// RopLogon request (MS-OXCROPS 2.2.3.1.1).
fn logon_rop(out_index: u8, flags: u8, open: u32, dn: &str) -> Vec<u8> {
    let mut b = vec![0xFE, 0x00, out_index, flags];
    b.extend(open.to_le_bytes());
    b.extend(0u32.to_le_bytes());
    if dn.is_empty() {
        b.extend(0u16.to_le_bytes());
    } else {
        b.extend(((dn.len() + 1) as u16).to_le_bytes());
        b.extend(dn.as_bytes());
        b.push(0);
    }
    b
}

fn private_logon(f: &Fixture) -> Vec<u8> {
    logon_rop(0, 0x01, 0x0100_000C, &f.alice.legacy_dn)
}

fn logon(c: &mut MailboxContext, f: &Fixture) -> u32 {
    let out = c
        .execute(NO_COMP_NO_XOR, &rgb_in(&private_logon(f), &[NULL]), BIG)
        .expect("execute");
    let (rops, h) = one(&out);
    assert_eq!(rv(&rops), 0);
    h[0]
}

fn fid(f: &Fixture, special: i64) -> u64 {
    f.store
        .special_folder(f.alice.id, special)
        .expect("sql")
        .expect("folder")
}

fn utf16z(s: &str) -> Vec<u8> {
    s.encode_utf16()
        .chain([0])
        .flat_map(u16::to_le_bytes)
        .collect()
}

#[test]
fn logon_private_returns_the_13_folders() {
    let f = fixture(false);
    let mut c = ctx(&f, false);
    let out = c
        .execute(NO_COMP_NO_XOR, &rgb_in(&private_logon(&f), &[NULL]), BIG)
        .expect("execute");
    let (r, h) = one(&out);
    // MS-OXCROPS 2.2.3.1.2: RopId, OutputHandleIndex, ReturnValue, LogonFlags, 13 FIDs,
    // ResponseFlags, MailboxGuid, ReplId, ReplGuid, LogonTime, GwartTime, StoreState.
    assert_eq!(r.len(), 6 + 1 + 104 + 1 + 16 + 2 + 16 + 8 + 8 + 4);
    assert_eq!(&r[..6], &[0xFE, 0, 0, 0, 0, 0]);
    assert_eq!(r[6], 0x01);
    for i in 0..13 {
        let got = u64::from_le_bytes(r[7 + 8 * i..15 + 8 * i].try_into().unwrap());
        assert_eq!(got, fid(&f, i as i64 + 1), "folder {}", i + 1);
    }
    assert_eq!(r[111], 0x07);
    assert_eq!(&r[112..128], &f.alice.mailbox_guid);
    assert_eq!(&r[128..130], &[1, 0]);
    assert_eq!(&r[130..146], &f.alice.replica_guid);
    let year = u16::from_le_bytes([r[152], r[153]]);
    assert!((2024..2200).contains(&year), "year {year}");
    assert!((1..=12).contains(&r[151]) && (1..=31).contains(&r[150]));
    assert_eq!(&r[162..166], &[0, 0, 0, 0]);
    assert_eq!(h.len(), 1);
    assert_ne!(h[0], NULL);
}

#[test]
fn logon_refuses_other_users_and_unknown_dns() {
    let f = fixture(false);
    let mut c = ctx(&f, false);
    let cases = [
        (logon_rop(0, 1, 0x0100_000C, &f.bob.legacy_dn), 0x0000_011C),
        (
            logon_rop(0, 1, 0x0100_000D, &f.bob.legacy_dn),
            ErrorCode::LOGIN_PERM.0,
        ),
        (
            logon_rop(0, 1, 0x0100_000C, "/o=Org/cn=nobody"),
            ErrorCode::UNKNOWN_USER.0,
        ),
    ];
    for (rop, want) in cases {
        let (r, h) = one(&c
            .execute(NO_COMP_NO_XOR, &rgb_in(&rop, &[NULL]), BIG)
            .expect("execute"));
        assert_eq!(r.len(), 6, "failure response is header only");
        assert_eq!(rv(&r), want);
        assert_eq!(h, vec![NULL]);
    }
}

#[test]
fn public_logon_with_and_without_public_folders() {
    let rop = logon_rop(0, 0x00, 0x0100_0002, "");
    let f = fixture(false);
    let mut c = ctx(&f, false);
    let (r, _) = one(&c
        .execute(NO_COMP_NO_XOR, &rgb_in(&rop, &[NULL]), BIG)
        .expect("execute"));
    assert_eq!(rv(&r), ErrorCode::LOGON_FAILED.0);

    let f = fixture(true);
    let mut c = ctx(&f, true);
    let (r, h) = one(&c
        .execute(NO_COMP_NO_XOR, &rgb_in(&rop, &[NULL]), BIG)
        .expect("execute"));
    assert_eq!(rv(&r), 0);
    // MS-OXCROPS 2.2.3.1.3: LogonFlags, 13 FIDs, ReplId, ReplGuid, PerUserGuid.
    assert_eq!(r.len(), 6 + 1 + 104 + 2 + 16 + 16);
    let root = f
        .store
        .special_folder(0, 1)
        .expect("sql")
        .expect("public root");
    assert_eq!(u64::from_le_bytes(r[7..15].try_into().unwrap()), root);
    assert_eq!(&r[r.len() - 16..], &[0; 16]);
    assert_ne!(h[0], NULL);
}

#[test]
fn get_properties_specific_on_the_store() {
    let f = fixture(false);
    let mut c = ctx(&f, false);
    let mut rops = private_logon(&f);
    // RopGetPropertiesSpecific (MS-OXCROPS 2.2.8.3.1): input 0, no size limit, WantUnicode.
    rops.extend([0x07, 0x00, 0x00, 0, 0, 1, 0, 2, 0]);
    rops.extend(0x661C_001Fu32.to_le_bytes());
    rops.extend(0x3004_001Fu32.to_le_bytes());
    let (r, _) = one(&c
        .execute(NO_COMP_NO_XOR, &rgb_in(&rops, &[NULL]), BIG)
        .expect("execute"));
    let resp = &r[166..];
    assert_eq!(&resp[..6], &[0x07, 0, 0, 0, 0, 0]);
    let mut want = vec![0x01, 0x00];
    want.extend(utf16z("Alice Example"));
    want.extend([0x0A, 0x0F, 0x01, 0x04, 0x80]);
    assert_eq!(&resp[6..], &want[..]);
}

#[test]
fn hierarchy_of_the_ipm_subtree_lists_special_folders() {
    let f = fixture(false);
    let mut c = ctx(&f, false);
    let logon_h = logon(&mut c, &f);
    let mut rops = vec![0x02, 0, 0, 1];
    rops.extend(fid(&f, 4).to_le_bytes());
    rops.push(0);
    rops.extend([0x04, 0, 1, 2, 0x04]); // hierarchy table of slot 1 into slot 2, Depth
    rops.extend([0x12, 0, 2, 0, 2, 0]);
    rops.extend(0x3001_001Fu32.to_le_bytes());
    rops.extend(0x6748_0014u32.to_le_bytes());
    rops.extend([0x15, 0, 2, 0, 1, 0xFF, 0xFF]);
    let out = c
        .execute(NO_COMP_NO_XOR, &rgb_in(&rops, &[logon_h, NULL, NULL]), BIG)
        .expect("execute");
    let (r, h) = one(&out);
    assert_eq!(&r[..8], &[0x02, 1, 0, 0, 0, 0, 0, 0]);
    assert_eq!(&r[8..14], &[0x04, 2, 0, 0, 0, 0]);
    let count = u32::from_le_bytes(r[14..18].try_into().unwrap());
    assert_eq!(count, 10, "Inbox, Outbox, Sent, Deleted + 6 IPF folders");
    assert_eq!(&r[18..25], &[0x12, 2, 0, 0, 0, 0, 0]);
    assert_eq!(&r[25..31], &[0x15, 2, 0, 0, 0, 0]);
    assert_eq!(r[31], 2, "BOOKMARK_END");
    assert_eq!(u16::from_le_bytes([r[32], r[33]]), 10);
    for name in [
        "Inbox",
        "Outbox",
        "Sent Items",
        "Deleted Items",
        "Calendar",
        "Drafts",
    ] {
        let want = utf16z(name);
        assert!(
            r[34..].windows(want.len()).any(|w| w == want),
            "{name} missing"
        );
    }
    assert!(r[34..].windows(8).any(|w| w == fid(&f, 5).to_le_bytes()));
    assert_eq!(h.len(), 3);
    assert!(h[1] != NULL && h[2] != NULL && h[1] != h[2]);
}

fn seed(f: &Fixture, folder: u64, n: usize, subject: impl Fn(usize) -> String) {
    f.store
        .with_conn(|c| {
            tx::write(c, |c| {
                for i in 0..n {
                    let mid = oxmapi_wire::data::MessageId::new(1, 0x10_0000 + i as u64).0 as i64;
                    c.execute(
                        "INSERT INTO messages (mailbox_id, mid, fid) VALUES (?1, ?2, ?3)",
                        rusqlite::params![f.alice.id, mid, folder as i64],
                    )?;
                    let mut w = WriteCursor::new();
                    encode_typed_value(
                        &PropertyValue::Unicode(subject(i)),
                        &mut w,
                        ValueContext::Rop,
                    )
                    .unwrap();
                    c.execute(
                        "INSERT INTO props VALUES (?1, 1, ?2, ?3, ?4)",
                        rusqlite::params![
                            f.alice.id,
                            mid,
                            i64::from(tags::PidTagSubject.0),
                            w.into_inner()
                        ],
                    )?;
                }
                Ok(())
            })
        })
        .expect("seed");
}

/// Opens the Inbox contents table with columns Subject, Mid; returns (logon, table) handles
/// and the RowCount.
fn open_inbox_table(c: &mut MailboxContext, f: &Fixture) -> (u32, u32, u32) {
    let logon_h = logon(c, f);
    let mut rops = vec![0x02, 0, 0, 1];
    rops.extend(fid(f, 5).to_le_bytes());
    rops.push(0);
    rops.extend([0x05, 0, 1, 2, 0x10]);
    rops.extend([0x12, 0, 2, 0, 2, 0]);
    rops.extend(0x0037_001Fu32.to_le_bytes());
    rops.extend(0x674A_0014u32.to_le_bytes());
    let (r, h) = one(&c
        .execute(NO_COMP_NO_XOR, &rgb_in(&rops, &[logon_h, NULL, NULL]), BIG)
        .expect("execute"));
    assert_eq!(rv(&r[8..]), 0);
    (
        logon_h,
        h[2],
        u32::from_le_bytes(r[14..18].try_into().unwrap()),
    )
}

fn query_rows(count: u16) -> Vec<u8> {
    let mut q = vec![0x15, 0, 0, 0, 1];
    q.extend(count.to_le_bytes());
    q
}

#[test]
fn empty_and_seeded_contents_tables() {
    let f = fixture(false);
    let mut c = ctx(&f, false);
    let (_, table, count) = open_inbox_table(&mut c, &f);
    assert_eq!(count, 0);
    let (r, _) = one(&c
        .execute(NO_COMP_NO_XOR, &rgb_in(&query_rows(10), &[table]), BIG)
        .expect("execute"));
    assert_eq!(r, vec![0x15, 0, 0, 0, 0, 0, 2, 0, 0]);

    seed(&f, fid(&f, 5), 3, |i| format!("msg {i}"));
    let (_, table, count) = open_inbox_table(&mut c, &f);
    assert_eq!(count, 3);
    let (r, _) = one(&c
        .execute(NO_COMP_NO_XOR, &rgb_in(&query_rows(2), &[table]), BIG)
        .expect("execute"));
    assert_eq!(
        &r[..9],
        &[0x15, 0, 0, 0, 0, 0, 1, 2, 0],
        "BOOKMARK_CURRENT, 2 rows"
    );
    let mut row0 = vec![0x00];
    row0.extend(utf16z("msg 0"));
    row0.extend(
        oxmapi_wire::data::MessageId::new(1, 0x10_0000)
            .0
            .to_le_bytes(),
    );
    assert_eq!(&r[9..9 + row0.len()], &row0[..]);
    let (r, _) = one(&c
        .execute(NO_COMP_NO_XOR, &rgb_in(&query_rows(2), &[table]), BIG)
        .expect("execute"));
    assert_eq!(
        &r[..9],
        &[0x15, 0, 0, 0, 0, 0, 2, 1, 0],
        "BOOKMARK_END, last row"
    );
    // RopQueryPosition: 3 of 3.
    let (r, _) = one(&c
        .execute(NO_COMP_NO_XOR, &rgb_in(&[0x17, 0, 0], &[table]), BIG)
        .expect("execute"));
    assert_eq!(r, vec![0x17, 0, 0, 0, 0, 0, 3, 0, 0, 0, 3, 0, 0, 0]);
}

#[test]
fn open_unknown_folder_is_not_found_and_unknown_rop_not_supported() {
    let f = fixture(false);
    let mut c = ctx(&f, false);
    let logon_h = logon(&mut c, &f);
    let mut rops = vec![0x02, 0, 0, 1];
    rops.extend(0x1234_5678_0000_0001u64.to_le_bytes());
    rops.push(0);
    rops.extend([0x99, 0, 0, 1, 2, 3]);
    let (r, h) = one(&c
        .execute(NO_COMP_NO_XOR, &rgb_in(&rops, &[logon_h, NULL]), BIG)
        .expect("execute"));
    assert_eq!(rv(&r), ErrorCode::NOT_FOUND.0);
    assert_eq!(&r[6..], &[0x99, 0, 0x02, 0x01, 0x04, 0x80]);
    assert_eq!(h, vec![logon_h, NULL]);
}

#[test]
fn chain_spans_several_segments() {
    let f = fixture(false);
    seed(&f, fid(&f, 5), 1200, |i| {
        format!("{i:05} a fairly long subject line to fill the segments up")
    });
    let mut c = ctx(&f, false);
    let (_, table, count) = open_inbox_table(&mut c, &f);
    assert_eq!(count, 1200);
    let out = c
        .execute(CHAIN, &rgb_in(&query_rows(0xFFFF), &[table]), BIG)
        .expect("execute");
    assert!(out.len() <= BIG as usize);
    let raw = unpack_segments(&out).expect("segments");
    assert!(raw.len() > 2, "{} segments", raw.len());
    for (i, s) in raw.iter().enumerate() {
        assert_eq!(s.header.is_last(), i + 1 == raw.len());
        assert!(s.payload.len() <= 0x8000);
        assert!(s.header.flags.0 & 0x2 != 0, "XorMagic allowed and used");
    }
    let mut total = 0;
    for (i, (r, h)) in segments(&out).into_iter().enumerate() {
        assert_eq!(h, vec![table]);
        assert_eq!(&r[..6], &[0x15, 0, 0, 0, 0, 0]);
        let n = u16::from_le_bytes([r[7], r[8]]) as usize;
        assert!(n > 0);
        let first = format!("{total:05}");
        assert_eq!(
            &r[10..20],
            &utf16z(&first)[..10],
            "segment {i} continues the table"
        );
        total += n;
        assert_eq!(r[6] == 2, total == 1200);
    }
    assert_eq!(total, 1200);

    // Without Chain: one segment of at most 32 KiB, BOOKMARK_CURRENT.
    let (_, table, _) = open_inbox_table(&mut c, &f);
    let out = c
        .execute(NO_COMP_NO_XOR, &rgb_in(&query_rows(0xFFFF), &[table]), BIG)
        .expect("execute");
    let (r, _) = one(&out);
    assert!(r.len() < 0x8000);
    assert_eq!(r[6], 1);
}

#[test]
fn compression_only_when_allowed() {
    let f = fixture(false);
    seed(&f, fid(&f, 5), 50, |_| {
        "same subject same subject same subject".into()
    });
    let mut c = ctx(&f, false);
    let (_, table, _) = open_inbox_table(&mut c, &f);
    let out = c
        .execute(0, &rgb_in(&query_rows(50), &[table]), BIG)
        .expect("execute");
    let s = unpack_segments(&out).expect("segments");
    assert_eq!(s[0].header.flags.0, 0x0007, "Compressed | XorMagic | Last");
    assert!(usize::from(s[0].header.size) < s[0].payload.len());
    let (_, table, _) = open_inbox_table(&mut c, &f);
    let out = c
        .execute(NO_COMP_NO_XOR, &rgb_in(&query_rows(50), &[table]), BIG)
        .expect("execute");
    assert_eq!(u16::from_le_bytes([out[2], out[3]]), 0x0004, "Last only");
    assert_eq!(
        u16::from_le_bytes([out[4], out[5]]),
        u16::from_le_bytes([out[6], out[7]])
    );
    let (r, _) = one(&out);
    assert_eq!(u16::from_le_bytes([r[7], r[8]]), 50);
}

#[test]
fn buffer_too_small_returns_the_unprocessed_requests() {
    let f = fixture(false);
    let mut c = ctx(&f, false);
    let mut rops = private_logon(&f);
    let rest = [0x07, 0x00, 0x00, 0, 0, 1, 0, 1, 0, 0x1F, 0x00, 0x1C, 0x66];
    rops.extend(rest);
    // Room for the 166-byte logon response and a 16-byte RopBufferTooSmall only.
    let max = (8 + 2 + 4 + 166 + 3 + rest.len()) as u32;
    let (r, h) = one(&c
        .execute(NO_COMP_NO_XOR, &rgb_in(&rops, &[NULL]), max)
        .expect("execute"));
    assert_eq!(rv(&r), 0);
    assert_eq!(r[166], 0xFF);
    assert!(u16::from_le_bytes([r[167], r[168]]) > 0);
    assert_eq!(&r[169..], &rest);
    assert_ne!(h[0], NULL);
    // Too small for anything: the Execute fails.
    assert_eq!(
        c.execute(NO_COMP_NO_XOR, &rgb_in(&rops, &[NULL]), 40),
        Err(ErrorCode::BUFFER_TOO_SMALL)
    );
}

#[test]
fn query_rows_first_row_too_big_is_ec_buffer_too_small() {
    let f = fixture(false);
    seed(&f, fid(&f, 5), 1, |_| "x".repeat(200));
    let mut c = ctx(&f, false);
    let (_, table, _) = open_inbox_table(&mut c, &f);
    let (r, _) = one(&c
        .execute(
            NO_COMP_NO_XOR,
            &rgb_in(&query_rows(5), &[table]),
            8 + 2 + 4 + 100,
        )
        .expect("execute"));
    assert_eq!(r, vec![0x15, 0, 0x7D, 0x04, 0, 0]);
}

#[test]
fn release_frees_the_handle() {
    let f = fixture(false);
    let mut c = ctx(&f, false);
    let logon_h = logon(&mut c, &f);
    let mut rops = vec![0x01, 0, 0];
    rops.extend([0x07, 0x00, 0x00, 0, 0, 1, 0, 1, 0]);
    rops.extend(0x661C_001Fu32.to_le_bytes());
    let (r, _) = one(&c
        .execute(NO_COMP_NO_XOR, &rgb_in(&rops, &[logon_h]), BIG)
        .expect("execute"));
    assert_eq!(
        r,
        vec![0x07, 0, 0xB9, 0x04, 0, 0],
        "no Release response, then ecNullObject"
    );
    assert_eq!(c.handles.len(), 0);
}

#[test]
fn malformed_input_is_rpc_format() {
    let f = fixture(false);
    let mut c = ctx(&f, false);
    let good = rgb_in(&private_logon(&f), &[NULL]);
    for n in 0..good.len() {
        assert_eq!(
            c.execute(0, &good[..n], BIG),
            Err(ErrorCode::RPC_FORMAT),
            "prefix {n}"
        );
    }
    // A truncated ROP inside a well-formed buffer.
    let bad = rgb_in(&private_logon(&f)[..10], &[NULL]);
    assert_eq!(c.execute(0, &bad, BIG), Err(ErrorCode::RPC_FORMAT));
}

#[test]
fn receive_folder_is_the_inbox() {
    let f = fixture(false);
    let mut c = ctx(&f, false);
    let logon_h = logon(&mut c, &f);
    let mut rops = vec![0x27, 0, 0];
    rops.extend(b"IPM.Note\0");
    let (r, _) = one(&c
        .execute(NO_COMP_NO_XOR, &rgb_in(&rops, &[logon_h]), BIG)
        .expect("execute"));
    assert_eq!(rv(&r), 0);
    assert_eq!(u64::from_le_bytes(r[6..14].try_into().unwrap()), fid(&f, 5));
    assert_eq!(&r[14..], b"IPM\0");
    let _ = PropertyTag(0);
}

/// Encodes ROP requests back to back (a RopsList, MS-OXCROPS 2.2.1).
fn rops_of(reqs: Vec<oxmapi_wire::rop::RopRequest>) -> Vec<u8> {
    use oxmapi_wire::Encode as _;
    let mut w = WriteCursor::new();
    for r in reqs {
        r.encode(&mut w).expect("encode");
    }
    w.into_inner()
}

fn failure(rop: u8, index: u8, ec: ErrorCode) -> Vec<u8> {
    let mut b = vec![rop, index];
    b.extend(ec.0.to_le_bytes());
    b
}

/// Property ROPs go by the kind of the Server object behind their input handle (MS-OXCPRPT
/// 3.2.5): a table has no properties (ecNotSupported), an empty slot no object
/// (ecNullObject), RopSetProperties on a logon is refused as on any non-folder, a folder's
/// and the store's own properties are read.
#[test]
fn property_rops_route_by_the_input_object() {
    use oxmapi_wire::data::FolderId;
    use oxmapi_wire::rop::{
        GetContentsTableRequest, GetPropertiesAllRequest, GetPropertiesSpecificRequest,
        OpenFolderRequest, SetPropertiesRequest,
    };
    let f = fixture(false);
    let mut c = ctx(&f, false);
    let logon_h = logon(&mut c, &f);
    let specific = |input| GetPropertiesSpecificRequest {
        logon_id: 0,
        input_handle_index: input,
        property_size_limit: 0,
        want_unicode: 1,
        property_tags: vec![tags::PidTagDisplayName],
    };
    let rops = rops_of(vec![
        OpenFolderRequest {
            logon_id: 0,
            input_handle_index: 0,
            output_handle_index: 1,
            folder_id: FolderId(fid(&f, 5)),
            open_mode_flags: 0,
        }
        .into(),
        GetContentsTableRequest {
            logon_id: 0,
            input_handle_index: 1,
            output_handle_index: 2,
            table_flags: 0,
        }
        .into(),
        specific(2).into(),
        specific(3).into(),
        GetPropertiesAllRequest {
            logon_id: 0,
            input_handle_index: 2,
            property_size_limit: 0,
            want_unicode: 1,
        }
        .into(),
        SetPropertiesRequest {
            logon_id: 0,
            input_handle_index: 0,
            values: Vec::new(),
        }
        .into(),
        specific(1).into(),
        specific(0).into(),
    ]);
    let (r, h) = one(&c
        .execute(
            NO_COMP_NO_XOR,
            &rgb_in(&rops, &[logon_h, NULL, NULL, NULL]),
            BIG,
        )
        .expect("execute"));
    assert_eq!(&r[..6], &[0x02, 1, 0, 0, 0, 0, 0][..6], "open folder");
    let r = &r[8..];
    assert_eq!(&r[..6], &[0x05, 2, 0, 0, 0, 0], "contents table");
    let r = &r[10..];
    let mut want = failure(0x07, 2, ErrorCode::NO_SUPPORT);
    want.extend(failure(0x07, 3, ErrorCode::NULL_OBJECT));
    want.extend(failure(0x08, 2, ErrorCode::NO_SUPPORT));
    want.extend(failure(0x0A, 0, ErrorCode::NO_SUPPORT));
    want.extend([0x07, 1, 0, 0, 0, 0, 0x00]);
    want.extend(utf16z("Inbox"));
    want.extend([0x07, 0, 0, 0, 0, 0, 0x00]);
    want.extend(utf16z("Mailbox - Alice Example"));
    assert_eq!(r, &want[..]);
    assert_ne!(h[1], NULL);
    assert_ne!(h[2], NULL);
    assert_eq!(h[3], NULL);
}

/// RopGetPropertiesList, RopDeleteProperties and RopOpenStream exist only on messages and
/// attachments: on a folder they are not processed (ecNotSupported) and nothing after them
/// is (MS-OXCROPS 3.2.5.1).
#[test]
fn message_only_rops_on_a_folder_stop_the_buffer() {
    use oxmapi_wire::data::FolderId;
    use oxmapi_wire::rop::{
        DeletePropertiesRequest, GetPropertiesListRequest, OpenFolderRequest, OpenStreamRequest,
        RopRequest,
    };
    let f = fixture(false);
    let mut c = ctx(&f, false);
    let logon_h = logon(&mut c, &f);
    let open = OpenFolderRequest {
        logon_id: 0,
        input_handle_index: 0,
        output_handle_index: 1,
        folder_id: FolderId(fid(&f, 5)),
        open_mode_flags: 0,
    };
    let cases: [(u8, RopRequest); 3] = [
        (
            0x09,
            GetPropertiesListRequest {
                logon_id: 0,
                input_handle_index: 1,
            }
            .into(),
        ),
        (
            0x0B,
            DeletePropertiesRequest {
                logon_id: 0,
                input_handle_index: 1,
                property_tags: vec![tags::PidTagComment],
            }
            .into(),
        ),
        (
            0x2B,
            OpenStreamRequest {
                logon_id: 0,
                input_handle_index: 1,
                output_handle_index: 2,
                property_tag: tags::PidTagComment,
                open_mode_flags: 0,
            }
            .into(),
        ),
    ];
    for (id, rop) in cases {
        // The ROP, then one that would open the folder again into slot 3.
        let mut again = open;
        again.output_handle_index = 3;
        let rops = rops_of(vec![open.into(), rop, again.into()]);
        let (r, h) = one(&c
            .execute(
                NO_COMP_NO_XOR,
                &rgb_in(&rops, &[logon_h, NULL, NULL, NULL]),
                BIG,
            )
            .expect("execute"));
        assert_eq!(rv(&r), 0, "RopId {id:#04x}");
        assert_eq!(
            &r[8..],
            &failure(id, 1, ErrorCode::NO_SUPPORT)[..],
            "RopId {id:#04x}"
        );
        assert_eq!(h[3], NULL, "RopId {id:#04x}: nothing after it ran");
        let release = rops_of(vec![
            oxmapi_wire::rop::ReleaseRequest {
                logon_id: 0,
                input_handle_index: 0,
            }
            .into(),
        ]);
        c.execute(NO_COMP_NO_XOR, &rgb_in(&release, &[h[1]]), BIG)
            .expect("release");
    }
}

/// RopSetMessageReadFlag on a public-folder message carries ClientData (MS-OXCROPS
/// 2.2.6.11.1), which the dispatcher reads by the kind of store the input message is in:
/// the ROP after it decodes, and a private-store message takes no ClientData.
#[test]
fn set_message_read_flag_reads_client_data_of_public_messages() {
    use oxmapi_wire::data::FolderId;
    use oxmapi_wire::rop::{
        CreateMessageRequest, GetPropertiesSpecificRequest, SaveChangesMessageRequest,
        SetMessageReadFlagRequest,
    };
    let f = fixture(true);
    let mut c = ctx(&f, true);
    let (r, h) = one(&c
        .execute(
            NO_COMP_NO_XOR,
            &rgb_in(&logon_rop(0, 0x00, 0x0100_0002, ""), &[NULL]),
            BIG,
        )
        .expect("execute"));
    assert_eq!(rv(&r), 0);
    let public = h[0];
    let root = f
        .store
        .special_folder(0, 1)
        .expect("sql")
        .expect("public root");
    let rops = rops_of(vec![
        CreateMessageRequest {
            logon_id: 0,
            input_handle_index: 0,
            output_handle_index: 1,
            code_page_id: 0x0FFF,
            folder_id: FolderId(root),
            associated_flag: 0,
        }
        .into(),
        SaveChangesMessageRequest {
            logon_id: 0,
            response_handle_index: 0,
            input_handle_index: 1,
            save_flags: 0x02,
        }
        .into(),
    ]);
    let (r, h) = one(&c
        .execute(NO_COMP_NO_XOR, &rgb_in(&rops, &[public, NULL]), BIG)
        .expect("execute"));
    assert_eq!(rv(&r), 0);
    let msg = h[1];
    // ReadFlags 0x04 rfClearReadFlag, ClientData, then a read of PidTagRead.
    let rops = rops_of(vec![
        SetMessageReadFlagRequest {
            logon_id: 0,
            response_handle_index: 0,
            input_handle_index: 1,
            read_flags: 0x04,
            client_data: Some([0xCD; 24]),
        }
        .into(),
        GetPropertiesSpecificRequest {
            logon_id: 0,
            input_handle_index: 1,
            property_size_limit: 0,
            want_unicode: 1,
            property_tags: vec![tags::PidTagRead],
        }
        .into(),
    ]);
    let (r, _) = one(&c
        .execute(NO_COMP_NO_XOR, &rgb_in(&rops, &[public, msg]), BIG)
        .expect("execute"));
    // ReadStatusChanged 0; then PidTagRead FALSE.
    assert_eq!(r, [0x11, 0, 0, 0, 0, 0, 0, 0x07, 1, 0, 0, 0, 0, 0x00, 0x00]);
}
