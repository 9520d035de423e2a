//! The SQLite store: organization, users, special folders, look-ups, credentials.

use oxmapi_server::store::{SPECIAL_INBOX, SPECIAL_IPM_SUBTREE, SPECIAL_ROOT, Store, StoreError};

/// fid, parent_fid, display_name, container_class, special
type FolderRow = (i64, Option<i64>, String, Option<String>, i64);

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    (dir, store)
}

#[test]
fn open_creates_wal_database_with_schema() {
    let (dir, store) = store();
    assert!(dir.path().join("mailbox.db").exists());
    let mode: String = store
        .with_conn(|c| Ok(c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?))
        .unwrap();
    assert_eq!(mode, "wal");
    let tables: Vec<String> = store
        .with_conn(|c| {
            let mut s =
                c.prepare("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")?;
            let rows = s.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .unwrap();
    // The agreed tables; later migrations (messages, attachments, blobs, ...) add more.
    for t in ["folders", "messages", "org", "props", "users"] {
        assert!(tables.iter().any(|x| x == t), "{t} missing from {tables:?}");
    }
}

#[test]
fn init_org_is_idempotent_and_add_user_needs_it() {
    let (_dir, store) = store();
    assert!(matches!(
        store.add_user("a", "A", "p"),
        Err(StoreError::NoOrg)
    ));
    store.init_org("Oxmapi", "example.test", false).unwrap();
    let first = store.org().unwrap().unwrap();
    store.init_org("Other", "other.test", true).unwrap();
    assert_eq!(store.org().unwrap().unwrap(), first);
    assert!(!first.public_folders);
}

#[test]
fn add_user_creates_mailbox_and_special_folders() {
    let (_dir, store) = store();
    store.init_org("Oxmapi", "example.test", false).unwrap();
    let u = store.add_user("alice", "Alice Example", "secret").unwrap();
    assert_eq!(u.smtp, "alice@example.test");
    assert_eq!(
        u.legacy_dn,
        "/o=Oxmapi/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=alice"
    );
    let guid = uuid::Uuid::from_bytes_le(u.mailbox_guid);
    assert_eq!(
        u.personalized_server_name,
        format!("{}@example.test", guid.hyphenated())
    );
    assert_eq!(
        u.personalized_server_name,
        u.personalized_server_name.to_lowercase()
    );
    // 13 logon folders + 6 IPM default folders, with the agreed parents and classes.
    let folders: Vec<FolderRow> = store
        .with_conn(|c| {
            let mut s = c.prepare(
                "SELECT fid, parent_fid, display_name, container_class, special FROM folders
                 WHERE mailbox_id = ?1 ORDER BY special",
            )?;
            let rows = s.query_map([u.id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .unwrap();
    let specials: Vec<i64> = folders.iter().map(|f| f.4).collect();
    let mut want: Vec<i64> = (1..=13).collect();
    want.extend(20..=25);
    assert_eq!(specials, want);
    let root = store.special_folder(u.id, SPECIAL_ROOT).unwrap().unwrap();
    let ipm = store
        .special_folder(u.id, SPECIAL_IPM_SUBTREE)
        .unwrap()
        .unwrap();
    let inbox = store.special_folder(u.id, SPECIAL_INBOX).unwrap().unwrap();
    assert_eq!(oxmapi_wire::data::FolderId(root).replid(), 1);
    assert_eq!(oxmapi_wire::data::FolderId(root).globcnt(), 1);
    for (fid, parent, name, class, special) in &folders {
        let parent = parent.map(i64::cast_unsigned);
        match special {
            1 => assert_eq!(parent, None),
            5..=8 | 20..=25 => assert_eq!(parent, Some(ipm), "{name}"),
            _ => assert_eq!(parent, Some(root), "{name}"),
        }
        if (5..=8).contains(special) || *special == 25 {
            assert_eq!(class.as_deref(), Some("IPF.Note"));
        }
        if *special == 5 {
            assert_eq!(fid.cast_unsigned(), inbox);
            assert_eq!(name, "Inbox");
        }
    }
    let class_of = |s: i64| folders.iter().find(|f| f.4 == s).unwrap().3.clone();
    assert_eq!(class_of(20).as_deref(), Some("IPF.Appointment"));
    assert_eq!(class_of(23).as_deref(), Some("IPF.StickyNote"));
    // The next GLOBCNT follows the 19 folders.
    let next: i64 = store
        .with_conn(|c| {
            Ok(c.query_row(
                "SELECT next_globcnt FROM users WHERE id = ?1",
                [u.id],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert_eq!(next, 20);
}

#[test]
fn lookups_and_passwords() {
    let (_dir, store) = store();
    store.init_org("Oxmapi", "example.test", false).unwrap();
    let a = store.add_user("alice", "Alice Example", "secret").unwrap();
    let b = store.add_user("bob", "Bob", "other").unwrap();
    assert!(matches!(
        store.add_user("ALICE", "x", "y"),
        Err(StoreError::UserExists(_))
    ));
    assert!(matches!(
        store.add_user("a/b", "x", "y"),
        Err(StoreError::InvalidAlias(_))
    ));
    assert_eq!(store.user_by_alias("Alice").unwrap().unwrap(), a);
    assert_eq!(
        store.user_by_smtp("ALICE@example.test").unwrap().unwrap(),
        a
    );
    assert_eq!(
        store
            .user_by_dn(&a.legacy_dn.to_uppercase())
            .unwrap()
            .unwrap(),
        a
    );
    assert_eq!(
        store
            .user_by_mailbox_guid(&b.mailbox_guid)
            .unwrap()
            .unwrap(),
        b
    );
    assert_eq!(store.all_users().unwrap(), [a.clone(), b]);
    assert_eq!(
        store.check_password("alice", "secret").unwrap(),
        Some(a.clone())
    );
    assert_eq!(
        store.check_password("EXAMPLE\\alice", "secret").unwrap(),
        Some(a.clone())
    );
    assert_eq!(
        store
            .check_password("alice@example.test", "secret")
            .unwrap(),
        Some(a.clone())
    );
    assert_eq!(store.check_password("alice", "Secret").unwrap(), None);
    assert_eq!(store.check_password("nobody", "secret").unwrap(), None);
    assert_eq!(
        store.nt_hash_of(a.id).unwrap().unwrap(),
        oxmapi_server::store::nt_hash("secret")
    );
}

#[test]
fn public_folders_are_created_on_enabling() {
    let (_dir, store) = store();
    store.init_org("Oxmapi", "example.test", false).unwrap();
    assert_eq!(store.special_folder(0, 1).unwrap(), None);
    store.set_public_folders(true).unwrap();
    assert!(store.org().unwrap().unwrap().public_folders);
    let root = store.special_folder(0, 1).unwrap().unwrap();
    let ipm = store.special_folder(0, 2).unwrap().unwrap();
    assert_ne!(root, ipm);
    // Enabling again does not duplicate; disabling keeps the rows.
    store.set_public_folders(true).unwrap();
    store.set_public_folders(false).unwrap();
    assert!(!store.org().unwrap().unwrap().public_folders);
    let n: i64 = store
        .with_conn(|c| {
            Ok(c.query_row(
                "SELECT COUNT(*) FROM folders WHERE mailbox_id = 0",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert_eq!(n, 10);
}
