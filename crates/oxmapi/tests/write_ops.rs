//! Move, copy, delete (soft and hard), read flags and folder writes against the lab server.

mod write_support;

use oxmapi::{DefaultFolder, DeleteMode, Session};
use oxmapi_wire::data::{FolderId, MessageId, tags};
use write_support::lab;

const COLS: [oxmapi_wire::data::PropertyTag; 8] = [
    tags::PidTagMid,
    tags::PidTagSubject,
    tags::PidTagMessageFlags,
    tags::PidTagSenderName,
    tags::PidTagHasAttachments,
    tags::PidTagImportance,
    tags::PidTagMessageSize,
    tags::PidTagMessageClass,
];

async fn mids(s: &mut Session, folder: FolderId) -> Vec<MessageId> {
    let f = s.get_folder(folder).await.unwrap();
    let rows = f.messages().columns(&COLS).collect(s).await.unwrap();
    rows.iter().filter_map(|r| r.message_id()).collect()
}

async fn unread(s: &mut Session, folder: FolderId) -> Vec<bool> {
    let f = s.get_folder(folder).await.unwrap();
    let rows = f.messages().columns(&COLS).collect(s).await.unwrap();
    rows.iter().map(|r| r.unread()).collect()
}

#[tokio::test]
async fn messages_move_copy_delete_and_read_flags() {
    let lab = lab().await;
    let mut s = lab.alice().await;
    let inbox = s.default_folder_id(DefaultFolder::Inbox);
    let deleted = s.default_folder_id(DefaultFolder::DeletedItems);
    let archive = s.create_folder(inbox, "Archive").await.unwrap();
    let mut ids = Vec::new();
    for subject in ["one", "two", "three"] {
        let mut m = s.new_message(inbox);
        m.set_subject(subject);
        ids.push(m.save(&mut s).await.unwrap());
    }
    assert_eq!(mids(&mut s, inbox).await.len(), 3);

    // Read flags.
    s.set_read(inbox, &ids, false).await.unwrap();
    assert_eq!(unread(&mut s, inbox).await, [true, true, true]);
    s.set_read(inbox, &ids[..1], true).await.unwrap();
    let u = unread(&mut s, inbox).await;
    assert_eq!(u.iter().filter(|x| !**x).count(), 1);

    // Move one, copy one.
    s.move_messages(inbox, &ids[..1], archive).await.unwrap();
    assert_eq!(mids(&mut s, inbox).await.len(), 2);
    assert_eq!(mids(&mut s, archive).await.len(), 1);
    s.copy_messages(inbox, &ids[1..2], archive).await.unwrap();
    assert_eq!(mids(&mut s, inbox).await.len(), 2);
    assert_eq!(mids(&mut s, archive).await.len(), 2);

    // Soft delete goes to Deleted Items; hard delete there removes it.
    s.delete_messages(inbox, &ids[1..2], DeleteMode::Soft)
        .await
        .unwrap();
    assert_eq!(mids(&mut s, inbox).await, [ids[2]]);
    let in_deleted = mids(&mut s, deleted).await;
    assert_eq!(in_deleted.len(), 1);
    s.delete_messages(deleted, &in_deleted, DeleteMode::Soft)
        .await
        .unwrap();
    assert!(mids(&mut s, deleted).await.is_empty());
    s.delete_messages(inbox, &ids[2..], DeleteMode::Hard)
        .await
        .unwrap();
    assert!(mids(&mut s, inbox).await.is_empty());
    assert!(mids(&mut s, deleted).await.is_empty());
    s.logoff().await.unwrap();
}

#[tokio::test]
async fn folders_create_rename_move_empty_delete() {
    let lab = lab().await;
    let mut s = lab.alice().await;
    let inbox = s.default_folder_id(DefaultFolder::Inbox);
    let a = s.create_folder(inbox, "Projects").await.unwrap();
    let b = s.create_folder(inbox, "Old").await.unwrap();
    assert_eq!(s.get_folder(a).await.unwrap().name(), "Projects");
    s.rename_folder(a, "Projects 2026").await.unwrap();
    assert_eq!(s.get_folder(a).await.unwrap().name(), "Projects 2026");
    s.move_folder(a, b).await.unwrap();
    assert_eq!(s.get_folder(a).await.unwrap().parent_id(), Some(b));
    let mut m = s.new_message(a);
    m.set_subject("x");
    m.save(&mut s).await.unwrap();
    assert_eq!(mids(&mut s, a).await.len(), 1);
    s.empty_folder(a).await.unwrap();
    assert!(mids(&mut s, a).await.is_empty());
    s.delete_folder(b).await.unwrap();
    let err = s.get_folder(a).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    let err = s
        .create_folder(FolderId(0xDEAD_0001), "x")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("creating folder \"x\""), "{err}");
    s.logoff().await.unwrap();
}
