//! Folders the CDO way against the embedded server: tree, counts, default folders, paths.

mod read_support;

use oxmapi::{CdoDefaultFolder, DefaultFolder, EntryId, ErrorKind, Session};
use oxmapi_wire::data::{ErrorCode, FolderId};
use read_support::*;

#[tokio::test]
async fn folder_tree_counts_paths_and_default_folders() {
    let lab = lab().await;
    let inbox = lab.inbox();
    let projects = lab.add_folder(inbox, "Projects");
    let alpha = lab.add_folder(projects, "Alpha");
    lab.put(inbox, &note("one", ("Bob", "bob@example.test"), T0, true));
    lab.put(
        inbox,
        &note("two", ("Bob", "bob@example.test"), T0 + DAY, false),
    );
    lab.put(
        inbox,
        &note("three", ("Eve", "eve@example.test"), T0 + 2 * DAY, true),
    );
    lab.put(alpha, &note("deep", ("Eve", "eve@example.test"), T0, false));

    let mut session = lab.session().await;
    let inbox_f = session.inbox().await.unwrap();
    assert_eq!(inbox_f.name(), "Inbox");
    assert_eq!(inbox_f.id().0, inbox as u64);
    assert_eq!((inbox_f.count(), inbox_f.unread()), (3, 1));
    assert!(inbox_f.has_subfolders());
    assert_eq!(inbox_f.container_class(), Some("IPF.Note"));

    // Folder.Folders: direct children only.
    let children = inbox_f.folders(&mut session).await.unwrap();
    let names: Vec<&str> = children.iter().map(|f| f.name()).collect();
    assert_eq!(names, ["Projects"]);
    assert!(children[0].has_subfolders());

    // The whole IPM subtree with depth.
    let top = session
        .get_folder(session.special_folder_ids()[3])
        .await
        .unwrap();
    let all = top.all_folders(&mut session).await.unwrap();
    let alpha_f = all.iter().find(|f| f.name() == "Alpha").unwrap();
    assert_eq!(alpha_f.depth(), 3, "IPM subtree > Inbox > Projects > Alpha");
    assert_eq!((alpha_f.count(), alpha_f.unread()), (1, 1));
    assert_eq!(alpha_f.parent_id(), Some(FolderId(projects as u64)));
    for name in [
        "Inbox",
        "Outbox",
        "Sent Items",
        "Deleted Items",
        "Calendar",
        "Contacts",
    ] {
        assert!(all.iter().any(|f| f.name() == name), "{name} missing");
    }

    // Paths: case-insensitive, relative to the IPM subtree.
    let found = session
        .folder_by_path("inbox/PROJECTS/alpha")
        .await
        .unwrap();
    assert_eq!(found.id().0, alpha as u64);
    let err = session
        .folder_by_path("Inbox/Projects/Nope/Deeper")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.code(), ErrorCode::NOT_FOUND);
    let msg = err.to_string();
    assert!(
        msg.contains("\"Nope\"") && msg.contains("\"Inbox/Projects\""),
        "{msg}"
    );

    // GetDefaultFolder: logon folders and the entry-ID properties (MS-OXOSFLD).
    let cal = session
        .get_default_folder(CdoDefaultFolder::Calendar)
        .await
        .unwrap();
    assert_eq!(cal.name(), "Calendar");
    assert_eq!(cal.id().0, lab.special(20) as u64);
    assert_eq!(cal.container_class(), Some("IPF.Appointment"));
    let tasks = session
        .get_default_folder(CdoDefaultFolder::from_cdo(8).unwrap())
        .await
        .unwrap();
    assert_eq!(tasks.name(), "Tasks");
    let sent = session
        .get_default_folder(DefaultFolder::SentItems)
        .await
        .unwrap();
    assert_eq!(sent.name(), "Sent Items");

    // GetFolder by entry ID, across sessions.
    let eid: EntryId = *found.entry_id().unwrap();
    session.logoff().await.unwrap();
    let mut again = Session::logon(&lab.config(), lab.params()).await.unwrap();
    let reopened = again
        .get_folder(EntryId::from_hex(&eid.to_hex()).unwrap())
        .await
        .unwrap();
    assert_eq!(reopened.name(), "Alpha");
    let missing = again
        .get_folder(FolderId::new(1, 0x00FF_FFFF))
        .await
        .unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound);
    assert!(missing.to_string().contains("folder"), "{missing}");
    again.logoff().await.unwrap();
}
