//! Folder write ROPs driven through `MailboxContext::execute` with request buffers built
//! byte by byte from MS-OXCROPS 2.2.4 / 2.2.3 / 2.2.8, plus the store layer they use.

use oxmapi_wire::WriteCursor;
use oxmapi_wire::data::{ErrorCode, PropertyValue, TaggedPropertyValue, ValueContext, tags};
use oxmapi_wire::rpcext::unpack_segments;
use rusqlite::params;

use super::MailboxContext;
use crate::store::folders_write as fw;
use crate::store::{Store, UserRecord, stored_id};

const NULL: u32 = 0xFFFF_FFFF;
const NO_COMP_NO_XOR: u32 = 0x3;
const BIG: u32 = 0x40000;
const INBOX: i64 = 5;
const DELETED: i64 = 8;
const IPM: i64 = 4;

struct Fx {
    _dir: tempfile::TempDir,
    store: Store,
    alice: UserRecord,
    ctx: MailboxContext,
    logon: u32,
}

fn fx() -> Fx {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    store.init_org("Org", "example.test", false).expect("org");
    let alice = store.add_user("alice", "Alice", "pw").expect("alice");
    let mut ctx = MailboxContext::new(alice.clone(), store.clone(), false);
    // RopLogon (MS-OXCROPS 2.2.3.1.1), private, into slot 0.
    let dn = alice.legacy_dn.clone();
    let mut rop = vec![0xFE, 0, 0, 0x01];
    rop.extend(0x0100_000Cu32.to_le_bytes());
    rop.extend(0u32.to_le_bytes());
    rop.extend(((dn.len() + 1) as u16).to_le_bytes());
    rop.extend(dn.as_bytes());
    rop.push(0);
    let (r, h) = exec(&mut ctx, &rop, &[NULL]);
    assert_eq!(rv(&r), 0);
    Fx {
        _dir: dir,
        store,
        alice,
        ctx,
        logon: h[0],
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

fn exec(c: &mut MailboxContext, rops: &[u8], handles: &[u32]) -> (Vec<u8>, Vec<u32>) {
    let out = c
        .execute(NO_COMP_NO_XOR, &rgb_in(rops, handles), BIG)
        .expect("execute");
    let segs = unpack_segments(&out).expect("rgbOut");
    assert_eq!(segs.len(), 1);
    let p = &segs[0].payload;
    let size = u16::from_le_bytes([p[0], p[1]]) as usize;
    let h = p[size..]
        .chunks(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    (p[2..size].to_vec(), h)
}

fn rv(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[2], b[3], b[4], b[5]])
}

fn utf16z(s: &str) -> Vec<u8> {
    s.encode_utf16()
        .chain([0])
        .flat_map(u16::to_le_bytes)
        .collect()
}

impl Fx {
    fn special(&self, n: i64) -> i64 {
        self.store
            .special_folder(self.alice.id, n)
            .expect("sql")
            .expect("special") as i64
    }

    /// Runs ROPs with the logon in slot 0 and three free slots; returns responses and slots.
    fn run(&mut self, rops: &[u8]) -> (Vec<u8>, Vec<u32>) {
        let handles = [self.logon, NULL, NULL, NULL];
        exec(&mut self.ctx, rops, &handles)
    }

    /// Runs ROPs after opening folder `a` into slot 1 and `b` into slot 2; returns the
    /// responses after the two RopOpenFolder responses.
    fn with_open(&mut self, a: i64, b: i64, rops: &[u8]) -> Vec<u8> {
        let mut all = open_rop(1, a);
        all.extend(open_rop(2, b));
        all.extend(rops);
        let (r, _) = self.run(&all);
        assert_eq!(&r[..8], &[0x02, 1, 0, 0, 0, 0, 0, 0], "open a");
        assert_eq!(&r[8..16], &[0x02, 2, 0, 0, 0, 0, 0, 0], "open b");
        r[16..].to_vec()
    }

    fn sql<T>(&self, f: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T>) -> T {
        self.store.with_conn(|c| Ok(f(c)?)).expect("sql")
    }

    fn parent_of(&self, fid: i64) -> Option<Option<i64>> {
        self.sql(|c| {
            use rusqlite::OptionalExtension;
            c.query_row(
                "SELECT parent_fid FROM folders WHERE mailbox_id = ?1 AND fid = ?2",
                params![self.alice.id, fid],
                |r| r.get(0),
            )
            .optional()
        })
    }

    fn name_of(&self, fid: i64) -> String {
        self.sql(|c| {
            c.query_row(
                "SELECT display_name FROM folders WHERE mailbox_id = ?1 AND fid = ?2",
                params![self.alice.id, fid],
                |r| r.get(0),
            )
        })
    }

    fn messages_in(&self, fid: i64) -> Vec<i64> {
        self.sql(|c| {
            let mut st = c.prepare(
                "SELECT mid FROM messages WHERE mailbox_id = ?1 AND fid = ?2 ORDER BY rowid",
            )?;
            st.query_map(params![self.alice.id, fid], |r| r.get(0))?
                .collect()
        })
    }

    fn message_count(&self) -> i64 {
        self.sql(|c| {
            c.query_row(
                "SELECT COUNT(*) FROM messages WHERE mailbox_id = ?1",
                [self.alice.id],
                |r| r.get(0),
            )
        })
    }

    /// A message row (with a subject) in `fid`.
    fn add_message(&self, fid: i64, subject: &str) -> i64 {
        let id = self.alice.id;
        self.store
            .with_conn(|c| {
                let mid = stored_id(fw::allocate_globcnt(c, id, 1).expect("globcnt"));
                c.execute(
                    "INSERT INTO messages (mailbox_id, mid, fid) VALUES (?1, ?2, ?3)",
                    params![id, mid, fid],
                )?;
                fw::put_props(
                    c,
                    id,
                    fw::KIND_MESSAGE,
                    mid,
                    &[(tags::PidTagSubject, PropertyValue::Unicode(subject.into()))],
                )
                .expect("props");
                Ok(mid)
            })
            .expect("message")
    }

    /// A user folder created through the store.
    fn add_folder(&self, parent: i64, name: &str) -> i64 {
        let spec = fw::NewFolder {
            name,
            comment: None,
            container_class: Some("IPF.Note"),
        };
        let id = self.alice.id;
        self.store
            .with_conn(|c| Ok(fw::create_folder(c, id, parent, &spec)))
            .expect("sql")
            .expect("create")
    }
}

// ---- request builders (MS-OXCROPS) ----

/// 2.2.4.1.1 RopOpenFolder from the logon (slot 0) into `out`.
fn open_rop(out: u8, fid: i64) -> Vec<u8> {
    let mut b = vec![0x02, 0, 0, out];
    b.extend(fid.to_le_bytes());
    b.push(0);
    b
}

/// 2.2.4.2.1 RopCreateFolder, Unicode strings.
fn create_rop(input: u8, out: u8, name: &str, comment: &str, open_existing: bool) -> Vec<u8> {
    let mut b = vec![0x1C, 0, input, out, 1, 1, u8::from(open_existing), 0];
    b.extend(utf16z(name));
    b.extend(utf16z(comment));
    b
}

/// 2.2.4.3.1 RopDeleteFolder.
fn delete_rop(input: u8, flags: u8, fid: i64) -> Vec<u8> {
    let mut b = vec![0x1D, 0, input, flags];
    b.extend(fid.to_le_bytes());
    b
}

/// 2.2.4.7.1 RopMoveFolder / 2.2.4.8.1 RopCopyFolder, Unicode name.
fn move_copy_rop(copy: bool, src: u8, dst: u8, fid: i64, name: &str) -> Vec<u8> {
    let mut b = if copy {
        vec![0x36, 0, src, dst, 0, 1, 1]
    } else {
        vec![0x35, 0, src, dst, 0, 1]
    };
    b.extend(fid.to_le_bytes());
    b.extend(utf16z(name));
    b
}

/// 2.2.8.6.1 RopSetProperties.
fn set_props_rop(input: u8, values: &[TaggedPropertyValue]) -> Vec<u8> {
    let mut w = WriteCursor::new();
    w.u16(values.len() as u16);
    for v in values {
        v.encode(&mut w, ValueContext::Rop).expect("encode");
    }
    let body = w.into_inner();
    let mut b = vec![0x0A, 0, input];
    b.extend((body.len() as u16).to_le_bytes());
    b.extend(body);
    b
}

/// 2.2.8.3.1 RopGetPropertiesSpecific, WantUnicode.
fn get_props_rop(input: u8, tags: &[u32]) -> Vec<u8> {
    let mut b = vec![0x07, 0, input, 0, 0, 1, 0];
    b.extend((tags.len() as u16).to_le_bytes());
    for t in tags {
        b.extend(t.to_le_bytes());
    }
    b
}

/// 2.2.3.3.1 RopSetReceiveFolder / 2.2.3.2.1 RopGetReceiveFolder on the logon.
fn set_receive_rop(fid: i64, class: &str) -> Vec<u8> {
    let mut b = vec![0x26, 0, 0];
    b.extend(fid.to_le_bytes());
    b.extend(class.as_bytes());
    b.push(0);
    b
}

fn get_receive_rop(class: &str) -> Vec<u8> {
    let mut b = vec![0x27, 0, 0];
    b.extend(class.as_bytes());
    b.push(0);
    b
}

fn u64_at(b: &[u8], at: usize) -> i64 {
    i64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

// ---- tests ----

#[test]
fn create_folder_then_collision_then_open_existing() {
    let mut f = fx();
    let inbox = f.special(INBOX);
    let mut rops = open_rop(1, inbox);
    rops.extend(create_rop(1, 2, "Projects", "work stuff", false));
    // Same name, other case: ecDuplicateName; with OpenExisting: the same folder.
    rops.extend(create_rop(1, 3, "PROJECTS", "", false));
    rops.extend(create_rop(1, 3, "projects", "", true));
    rops.extend(get_props_rop(2, &[0x3001_001F, 0x3004_001F, 0x6749_0014]));
    let (r, h) = f.run(&rops);
    // MS-OXCROPS 2.2.4.2.2: header, FolderId, IsExistingFolder = 0.
    assert_eq!(&r[8..14], &[0x1C, 2, 0, 0, 0, 0]);
    let fid = u64_at(&r, 14);
    assert_eq!(r[22], 0);
    assert_eq!(&r[23..29], &[0x1C, 3, 0x04, 0x06, 0x04, 0x80], "collision");
    // Existing: FolderId, IsExistingFolder 1, HasRules 0, IsGhosted 0.
    assert_eq!(&r[29..35], &[0x1C, 3, 0, 0, 0, 0]);
    assert_eq!(u64_at(&r, 35), fid);
    assert_eq!(&r[43..46], &[1, 0, 0]);
    let props = &r[46..];
    assert_eq!(&props[..6], &[0x07, 2, 0, 0, 0, 0]);
    let mut want = vec![0x00];
    want.extend(utf16z("Projects"));
    want.extend(utf16z("work stuff"));
    want.extend(inbox.to_le_bytes());
    assert_eq!(&props[6..], &want[..]);
    assert_ne!(h[2], NULL);
    assert_eq!(h[3], h[3].max(1));
    assert_ne!(h[2], h[3], "OpenExisting gives a new handle");
    assert_eq!(f.parent_of(fid), Some(Some(inbox)));
}

#[test]
fn create_folder_refusals() {
    let mut f = fx();
    let inbox = f.special(INBOX);
    let mut rops = open_rop(1, inbox);
    // Empty name, a search folder, and a logon (not a folder) as the parent.
    rops.extend(create_rop(1, 2, "", "", false));
    let mut search = create_rop(1, 2, "S", "", false);
    search[4] = 2;
    rops.extend(search);
    rops.extend(create_rop(0, 2, "X", "", false));
    let (r, h) = f.run(&rops);
    assert_eq!(rv(&r[8..]), ErrorCode::INVALID_PARAMETER.0);
    assert_eq!(rv(&r[14..]), ErrorCode::NO_SUPPORT.0);
    assert_eq!(rv(&r[20..]), ErrorCode::NO_SUPPORT.0);
    assert_eq!(r.len(), 26);
    assert_eq!(h[2], NULL);
}

#[test]
fn hierarchy_counts_follow_writes() {
    let mut f = fx();
    let inbox = f.special(INBOX);
    let a = f.add_folder(inbox, "A");
    f.add_folder(inbox, "B");
    f.add_message(a, "one");
    f.add_message(a, "two");
    // PidTagContentCount, PidTagSubfolders, PidTagFolderChildCount of Inbox and of A.
    let tags = [0x3602_0003, 0x360A_000B, 0x6638_0003];
    let r = f.with_open(inbox, a, &{
        let mut b = get_props_rop(1, &tags);
        b.extend(get_props_rop(2, &tags));
        b
    });
    assert_eq!(&r[..6], &[0x07, 1, 0, 0, 0, 0]);
    assert_eq!(
        &r[6..16],
        &[0, 0, 0, 0, 0, 1, 2, 0, 0, 0],
        "Inbox: 0, true, 2"
    );
    assert_eq!(&r[16..22], &[0x07, 2, 0, 0, 0, 0]);
    assert_eq!(
        &r[22..32],
        &[0, 2, 0, 0, 0, 0, 0, 0, 0, 0],
        "A: 2, false, 0"
    );
}

#[test]
fn set_properties_renames_and_reports_problems() {
    let mut f = fx();
    let inbox = f.special(INBOX);
    let a = f.add_folder(inbox, "A");
    f.add_folder(inbox, "B");
    let name = |s: &str| {
        TaggedPropertyValue::new(tags::PidTagDisplayName, PropertyValue::Unicode(s.into()))
    };
    let mut rops = set_props_rop(
        2,
        &[
            name("B"),
            TaggedPropertyValue::new(tags::PidTagFolderId, PropertyValue::Int64(1)),
            TaggedPropertyValue::new(tags::PidTagComment, PropertyValue::Unicode("remark".into())),
            TaggedPropertyValue::new(
                tags::PidTagContainerClass,
                PropertyValue::Unicode("IPF.Task".into()),
            ),
        ],
    );
    rops.extend(set_props_rop(2, &[name("Renamed")]));
    rops.extend(set_props_rop(1, &[name("My Inbox")]));
    rops.extend(get_props_rop(2, &[0x3004_001F, 0x3613_001F]));
    let r = f.with_open(inbox, a, &rops);
    // MS-OXCROPS 2.2.8.6.2: header, PropertyProblemCount, (Index, Tag, ErrorCode)*.
    let mut want = vec![0x0A, 2, 0, 0, 0, 0, 2, 0];
    want.extend(0u16.to_le_bytes());
    want.extend(tags::PidTagDisplayName.0.to_le_bytes());
    want.extend(ErrorCode::COLLISION.0.to_le_bytes());
    want.extend(1u16.to_le_bytes());
    want.extend(tags::PidTagFolderId.0.to_le_bytes());
    want.extend(ErrorCode::NO_ACCESS.0.to_le_bytes());
    assert_eq!(&r[..want.len()], &want[..]);
    let r = &r[want.len()..];
    assert_eq!(&r[..8], &[0x0A, 2, 0, 0, 0, 0, 0, 0], "rename ok");
    assert_eq!(
        &r[8..16],
        &[0x0A, 1, 0, 0, 0, 0, 1, 0],
        "special keeps name"
    );
    assert_eq!(rv(&r[8..]), 0);
    assert_eq!(
        u32::from_le_bytes(r[22..26].try_into().unwrap()),
        ErrorCode::NO_ACCESS.0
    );
    let mut props = vec![0x07, 2, 0, 0, 0, 0, 0];
    props.extend(utf16z("remark"));
    props.extend(utf16z("IPF.Task"));
    assert_eq!(&r[26..], &props[..]);
    assert_eq!(f.name_of(a), "Renamed");
    assert_eq!(f.name_of(inbox), "Inbox");
}

#[test]
fn delete_folder_flags_soft_and_hard() {
    let mut f = fx();
    let inbox = f.special(INBOX);
    let deleted = f.special(DELETED);
    let a = f.add_folder(inbox, "A");
    let a1 = f.add_folder(a, "A1");
    let m1 = f.add_message(a, "m1");
    let m2 = f.add_message(a1, "m2");
    let b = f.add_folder(inbox, "B");
    let m3 = f.add_message(b, "m3");
    let mut rops = open_rop(1, inbox);
    rops.extend(delete_rop(1, 0x01, a)); // subfolders without DEL_FOLDERS
    rops.extend(delete_rop(1, 0x04, a)); // messages without DEL_MESSAGES
    rops.extend(delete_rop(1, 0x05, a)); // soft: messages to Deleted Items
    rops.extend(delete_rop(1, 0x15, b)); // hard: messages purged
    rops.extend(delete_rop(1, 0x15, b)); // gone
    rops.extend(open_rop(2, f.special(IPM)));
    rops.extend(delete_rop(2, 0x15, inbox)); // special
    let (r, _) = f.run(&rops);
    // MS-OXCROPS 2.2.4.3.2: header + PartialCompletion.
    assert_eq!(&r[8..15], &[0x1D, 1, 0, 0, 0, 0, 1]);
    assert_eq!(&r[15..22], &[0x1D, 1, 0, 0, 0, 0, 1]);
    assert_eq!(&r[22..29], &[0x1D, 1, 0, 0, 0, 0, 0]);
    assert_eq!(&r[29..36], &[0x1D, 1, 0, 0, 0, 0, 0]);
    // A failure keeps PartialCompletion: the response buffer is the same (2.2.4.3.2).
    assert_eq!(&r[36..43], &[0x1D, 1, 0x0F, 0x01, 0x04, 0x80, 0]);
    assert_eq!(rv(&r[36..]), ErrorCode::NOT_FOUND.0);
    assert_eq!(rv(&r[51..]), ErrorCode::NO_ACCESS.0);
    assert_eq!(r.len(), 58);
    assert_eq!(f.parent_of(a), None);
    assert_eq!(f.parent_of(a1), None);
    assert_eq!(f.parent_of(b), None);
    assert_eq!(f.messages_in(deleted), vec![m1, m2]);
    assert_eq!(f.message_count(), 2, "m3 purged");
    let m3_props: i64 = f.sql(|c| {
        c.query_row(
            "SELECT COUNT(*) FROM props WHERE kind = 1 AND object_id = ?1",
            [m3],
            |r| r.get(0),
        )
    });
    assert_eq!(m3_props, 0);
    assert_eq!(f.parent_of(inbox), Some(Some(f.special(IPM))));
}

#[test]
fn empty_folder_soft_then_hard_in_deleted_items() {
    let mut f = fx();
    let inbox = f.special(INBOX);
    let deleted = f.special(DELETED);
    let sub = f.add_folder(inbox, "Sub");
    let m1 = f.add_message(inbox, "m1");
    let m2 = f.add_message(sub, "m2");
    let old = f.add_message(deleted, "old");
    // RopEmptyFolder (2.2.4.9.1): WantAsynchronous 0, WantDeleteAssociated 1.
    let r = f.with_open(inbox, deleted, &[0x58, 0, 1, 0, 1]);
    assert_eq!(r, vec![0x58, 1, 0, 0, 0, 0, 0]);
    assert!(f.messages_in(inbox).is_empty());
    assert_eq!(f.parent_of(sub), None);
    let mut got = f.messages_in(deleted);
    got.sort_unstable();
    let mut want = vec![old, m1, m2];
    want.sort_unstable();
    assert_eq!(got, want);
    // Soft-emptying Deleted Items itself purges.
    let r = f.with_open(inbox, deleted, &[0x58, 0, 2, 0, 0]);
    assert_eq!(r, vec![0x58, 2, 0, 0, 0, 0, 0]);
    assert_eq!(f.message_count(), 0);
    // RopHardDeleteMessagesAndSubfolders on the IPM subtree: special folders stay
    // (PartialCompletion), user folders go.
    let x = f.add_folder(f.special(IPM), "X");
    let r = f.with_open(f.special(IPM), inbox, &[0x92, 0, 1, 0, 0]);
    assert_eq!(r, vec![0x92, 1, 0, 0, 0, 0, 1]);
    assert_eq!(f.parent_of(x), None);
    assert!(f.parent_of(inbox).is_some());
}

#[test]
fn move_folder_rules() {
    let mut f = fx();
    let inbox = f.special(INBOX);
    let ipm = f.special(IPM);
    let a = f.add_folder(inbox, "A");
    let a1 = f.add_folder(a, "A1");
    f.add_folder(ipm, "Taken");
    let mut rops = open_rop(1, inbox);
    rops.extend(open_rop(2, a1));
    rops.extend(move_copy_rop(false, 1, 2, a, "")); // into its own subtree
    rops.extend(open_rop(2, ipm));
    rops.extend(move_copy_rop(false, 1, 2, a, "taken")); // name collision
    rops.extend(move_copy_rop(false, 2, 1, inbox, "")); // special folder
    rops.extend(move_copy_rop(false, 1, 3, a, "")); // no destination object
    rops.extend(move_copy_rop(false, 1, 2, a, "Moved"));
    let (r, _) = f.run(&rops);
    // MS-OXCROPS 2.2.4.7.2: failures other than ecDstNullObject keep PartialCompletion.
    assert_eq!(rv(&r[16..]), ErrorCode::FOLDER_CYCLE.0);
    assert_eq!(r[22], 0);
    assert_eq!(rv(&r[31..]), ErrorCode::COLLISION.0);
    assert_eq!(rv(&r[38..]), ErrorCode::NO_ACCESS.0);
    // MS-OXCROPS 2.2.4.7.3: ecDstNullObject, DestHandleIndex as a u32, PartialCompletion.
    assert_eq!(&r[45..56], &[0x35, 1, 0x03, 0x05, 0, 0, 3, 0, 0, 0, 0]);
    assert_eq!(&r[56..], &[0x35, 1, 0, 0, 0, 0, 0]);
    assert_eq!(f.parent_of(a), Some(Some(ipm)));
    assert_eq!(f.name_of(a), "Moved");
    assert_eq!(f.parent_of(a1), Some(Some(a)));
}

#[test]
fn copy_folder_recursive_copies_messages_and_subfolders() {
    let mut f = fx();
    let inbox = f.special(INBOX);
    let ipm = f.special(IPM);
    let a = f.add_folder(inbox, "A");
    let a1 = f.add_folder(a, "A1");
    let m = f.add_message(a, "m");
    f.add_message(a1, "n");
    let r = f.with_open(inbox, ipm, &move_copy_rop(true, 1, 2, a, "Copy"));
    assert_eq!(r, vec![0x36, 1, 0, 0, 0, 0, 0]);
    let copy: i64 = f.sql(|c| {
        c.query_row(
            "SELECT fid FROM folders WHERE parent_fid = ?1 AND display_name = 'Copy'",
            [ipm],
            |r| r.get(0),
        )
    });
    assert_ne!(copy, a);
    let copied = f.messages_in(copy);
    assert_eq!(copied.len(), 1);
    assert_ne!(copied[0], m);
    let subject: Vec<u8> = f.sql(|c| {
        c.query_row(
            "SELECT value FROM props WHERE kind = 1 AND object_id = ?1",
            [copied[0]],
            |r| r.get(0),
        )
    });
    assert_eq!(&subject[..2], &[0x1F, 0x00]);
    let sub: i64 = f.sql(|c| {
        c.query_row(
            "SELECT fid FROM folders WHERE parent_fid = ?1 AND display_name = 'A1'",
            [copy],
            |r| r.get(0),
        )
    });
    assert_eq!(f.messages_in(sub).len(), 1);
    assert_eq!(f.messages_in(a), vec![m], "source untouched");
    assert_eq!(f.message_count(), 4);
}

#[test]
fn receive_folders_set_get_and_reset() {
    let mut f = fx();
    let inbox = f.special(INBOX);
    let x = f.add_folder(inbox, "X");
    let mut rops = set_receive_rop(x, "IPM.Note.Custom");
    rops.extend(get_receive_rop("ipm.note.custom.sub"));
    rops.extend(get_receive_rop("IPM.Note.CustomX"));
    rops.extend(set_receive_rop(x, "IPM"));
    rops.extend(set_receive_rop(0, ""));
    rops.extend(set_receive_rop(0x7777, "Other"));
    rops.extend(set_receive_rop(0, "IPM.Note.Custom"));
    rops.extend(get_receive_rop("IPM.Note.Custom"));
    let (r, _) = f.run(&rops);
    assert_eq!(&r[..6], &[0x26, 0, 0, 0, 0, 0]);
    // MS-OXCROPS 2.2.3.2.2: FolderId, ExplicitMessageClass.
    let mut want = vec![0x27, 0, 0, 0, 0, 0];
    want.extend(x.to_le_bytes());
    want.extend(b"IPM.Note.Custom\0");
    assert_eq!(&r[6..6 + want.len()], &want[..]);
    let r = &r[6 + want.len()..];
    let mut want = vec![0x27, 0, 0, 0, 0, 0];
    want.extend(inbox.to_le_bytes());
    want.extend(b"IPM\0");
    assert_eq!(&r[..want.len()], &want[..], "no prefix match on CustomX");
    let r = &r[want.len()..];
    assert_eq!(rv(r), ErrorCode::NO_ACCESS.0);
    assert_eq!(rv(&r[6..]), ErrorCode::CALL_FAILED.0);
    assert_eq!(rv(&r[12..]), ErrorCode::NOT_FOUND.0);
    assert_eq!(&r[18..24], &[0x26, 0, 0, 0, 0, 0]);
    assert_eq!(&r[24..30], &[0x27, 0, 0, 0, 0, 0]);
    assert_eq!(u64_at(r, 30), inbox, "entry removed: default again");
}

#[test]
fn truncated_requests_are_rejected_without_changes() {
    let mut f = fx();
    let inbox = f.special(INBOX);
    let a = f.add_folder(inbox, "A");
    let reqs = [
        create_rop(1, 2, "New", "c", false),
        delete_rop(1, 0x15, a),
        vec![0x58, 0, 1, 0, 0],
        vec![0x92, 0, 1, 0, 0],
        move_copy_rop(false, 1, 1, a, "B"),
        move_copy_rop(true, 1, 1, a, "B"),
        set_receive_rop(a, "IPM.X"),
        set_props_rop(
            1,
            &[TaggedPropertyValue::new(
                tags::PidTagComment,
                PropertyValue::Unicode("c".into()),
            )],
        ),
    ];
    for req in &reqs {
        for cut in 1..req.len() {
            let handles = [f.logon, NULL, NULL];
            let out = f
                .ctx
                .execute(NO_COMP_NO_XOR, &rgb_in(&req[..cut], &handles), BIG);
            assert_eq!(
                out.err(),
                Some(ErrorCode::RPC_FORMAT),
                "{req:02X?} cut {cut}"
            );
        }
    }
    assert_eq!(f.parent_of(a), Some(Some(inbox)));
    assert_eq!(f.name_of(a), "A");
}

#[test]
fn store_move_and_purge_reach_side_tables() {
    let f = fx();
    let inbox = f.special(INBOX);
    let deleted = f.special(DELETED);
    let m1 = f.add_message(inbox, "a");
    let m2 = f.add_message(inbox, "b");
    let id = f.alice.id;
    f.store
        .with_conn(|c| {
            c.execute_batch(
                "CREATE TABLE IF NOT EXISTS test_recipients (mailbox_id INTEGER, mid INTEGER, addr TEXT)",
            )?;
            c.execute(
                "INSERT INTO test_recipients VALUES (?1, ?2, 'x'), (?1, ?3, 'y')",
                params![id, m1, m2],
            )?;
            Ok(())
        })
        .expect("seed");
    let moved = f
        .store
        .with_conn(|c| Ok(fw::move_messages(c, id, &[m1, 0x1234], deleted)))
        .expect("sql")
        .expect("move");
    assert_eq!(moved, 1);
    assert_eq!(f.messages_in(deleted), vec![m1]);
    let missing = f
        .store
        .with_conn(|c| Ok(fw::move_messages(c, id, &[m2], 0x4242)))
        .expect("sql");
    assert!(matches!(missing, Err(fw::FolderWriteError::NotFound)));
    f.store
        .with_conn(|c| Ok(fw::purge_messages(c, id, &[m1])))
        .expect("sql")
        .expect("purge");
    let left: Vec<String> = f.sql(|c| {
        let mut st = c.prepare("SELECT addr FROM test_recipients")?;
        st.query_map([], |r| r.get(0))?.collect()
    });
    assert_eq!(left, vec!["y".to_owned()]);
    assert_eq!(f.messages_in(inbox), vec![m2]);
}

/// MS-OXOSFLD 2.2.3: the Inbox and the mailbox Root carry the entry IDs of Calendar,
/// Contacts, Journal, Notes, Tasks and Drafts; RopGetPropertiesSpecific (MS-OXCROPS
/// 2.2.8.3) returns them as a standard row of PtypBinary values (2-byte count + bytes).
#[test]
fn inbox_and_root_carry_special_folder_entry_ids() {
    let mut f = fx();
    let inbox = f.special(INBOX);
    let calendar = f.special(20);
    let ipm = [
        (tags::PidTagIpmAppointmentEntryId, 20),
        (tags::PidTagIpmContactEntryId, 21),
        (tags::PidTagIpmJournalEntryId, 22),
        (tags::PidTagIpmNoteEntryId, 23),
        (tags::PidTagIpmTaskEntryId, 24),
        (tags::PidTagIpmDraftsEntryId, 25),
    ];
    let tag_ids: Vec<u32> = ipm.iter().map(|(t, _)| t.0).collect();
    for folder in [inbox, f.special(1)] {
        let mut rops = get_props_rop(1, &tag_ids);
        rops.extend(get_props_rop(2, &[tags::PidTagEntryId.0]));
        let r = f.with_open(folder, calendar, &rops);
        assert_eq!(&r[..7], &[0x07, 1, 0, 0, 0, 0, 0], "standard row");
        let mut at = 7;
        let mut first = Vec::new();
        for (_, special) in ipm {
            let len = u16::from_le_bytes([r[at], r[at + 1]]) as usize;
            assert_eq!(len, 46, "folder entry id of special {special}");
            let e = &r[at + 2..at + 2 + len];
            // MS-OXCDATA 2.2.4.1: eitLTPrivateFolder, GLOBCNT = bytes 2..8 of the FID.
            assert_eq!(&e[20..22], &[1, 0]);
            assert_eq!(&e[38..44], &f.special(special).to_le_bytes()[2..8]);
            if first.is_empty() {
                first = e.to_vec();
            }
            at += 2 + len;
        }
        // The Calendar's own PidTagEntryId is the value the Inbox/Root advertise.
        assert_eq!(&r[at..at + 7], &[0x07, 2, 0, 0, 0, 0, 0]);
        assert_eq!(&r[at + 7..at + 9], &46u16.to_le_bytes());
        assert_eq!(&r[at + 9..], &first[..]);
    }
    // Any other folder (here Sent Items) does not carry them: a flagged row with errors.
    let sent = f.special(7);
    let r = f.with_open(sent, calendar, &get_props_rop(1, &tag_ids[..1]));
    assert_eq!(&r[..7], &[0x07, 1, 0, 0, 0, 0, 1], "flagged row");
    assert_eq!(r[7], 0x0A, "PropertyFlag error");
    assert_eq!(&r[8..12], &ErrorCode::NOT_FOUND.0.to_le_bytes());
}
