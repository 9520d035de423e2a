//! Composing and sending against the lab server: send/receive between two users checked from
//! the recipient's session, refusals before anything is created, attachments, drafts.

mod write_support;

use oxmapi::{DefaultFolder, ErrorKind, RecipientType, SendOutcome, Session};
use oxmapi_wire::data::{FolderId, PropertyValue, tags};
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

/// Every message of a folder (subject, MID), read through the read API.
async fn subjects(s: &mut Session, folder: FolderId) -> Vec<String> {
    let f = s.get_folder(folder).await.unwrap();
    let rows = f.messages().columns(&COLS).collect(s).await.unwrap();
    rows.iter()
        .map(|r| r.subject().unwrap_or_default())
        .collect()
}

#[tokio::test]
async fn alice_sends_to_bob_and_bob_reads_it() {
    let lab = lab().await;
    let mut alice = lab.alice().await;
    let outbox = alice.default_folder_id(DefaultFolder::Outbox);
    let mut m = alice.new_message(outbox);
    m.set_subject("Lunch?")
        .set_body_text("Noon at the usual place.")
        .to("Bob Builder")
        .cc("carol@outside.example");
    m.recipients_mut().add("jsmith", RecipientType::Bcc);
    m.attach_bytes("menu.txt", b"soup\nbread\n".to_vec());
    let id = m.internet_message_id().to_owned();
    let outcome = m.send(&mut alice).await.unwrap();
    assert_eq!(
        outcome,
        SendOutcome::Sent {
            internet_message_id: id.clone(),
            verified_after_reconnect: false
        }
    );
    // Sent Items has it; the Outbox is empty again.
    let sent = alice.default_folder_id(DefaultFolder::SentItems);
    assert_eq!(subjects(&mut alice, sent).await, ["Lunch?"]);
    assert!(subjects(&mut alice, outbox).await.is_empty());

    // Bob sees exactly one copy, from Alice, unread, with the attachment.
    let mut bob = lab.bob().await;
    let inbox = bob.default_folder_id(DefaultFolder::Inbox);
    let f = bob.get_folder(inbox).await.unwrap();
    let rows = f.messages().columns(&COLS).collect(&mut bob).await.unwrap();
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row.subject().as_deref(), Some("Lunch?"));
    assert_eq!(row.sender_name().as_deref(), Some("Alice Example"));
    assert!(row.unread());
    assert!(row.has_attachments());
    // jsmith (Bcc) got it too.
    let jsmith = lab.server.store().user_by_alias("jsmith").unwrap().unwrap();
    let js = oxmapi_server::store::UserRecord::clone(&jsmith);
    let mut jo = Session::logon(&lab.config(), write_support::Lab::params(&js, "x1"))
        .await
        .unwrap();
    let jin = jo.default_folder_id(DefaultFolder::Inbox);
    assert_eq!(subjects(&mut jo, jin).await, ["Lunch?"]);
    // The outside address was queued, not delivered.
    let queued = oxmapi_server::queue::list_queue(lab.server.store()).unwrap();
    assert_eq!(queued.len(), 1, "{queued:?}");
    alice.logoff().await.unwrap();
    bob.logoff().await.unwrap();
    jo.logoff().await.unwrap();
}

#[tokio::test]
async fn unresolvable_and_ambiguous_recipients_are_refused_before_anything_is_created() {
    let lab = lab().await;
    let mut alice = lab.alice().await;
    let outbox = alice.default_folder_id(DefaultFolder::Outbox);
    let drafts_before = subjects(&mut alice, outbox).await;

    let mut m = alice.new_message(outbox);
    m.set_subject("nope").to("bob").to("nobody-here").cc("Jo");
    let err = m.send(&mut alice).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Ambiguous, "{err}");
    let text = err.to_string();
    assert!(text.contains("MAPI_E_AMBIGUOUS_RECIP"), "{text}");
    assert!(
        text.contains("\"nobody-here\" is not in the address book"),
        "{text}"
    );
    assert!(text.contains("\"Jo\" is ambiguous"), "{text}");
    assert!(
        text.contains("Jo Smith") && text.contains("Jo Brown"),
        "{text}"
    );

    let mut m = alice.new_message(outbox);
    m.set_subject("nope").to("nobody-here");
    let err = m.send(&mut alice).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.to_string().contains("MAPI_E_NOT_FOUND"), "{err}");

    // Nothing was created anywhere, nothing delivered.
    assert_eq!(subjects(&mut alice, outbox).await, drafts_before);
    let sent = alice.default_folder_id(DefaultFolder::SentItems);
    assert!(subjects(&mut alice, sent).await.is_empty());
    let mut bob = lab.bob().await;
    let inbox = bob.default_folder_id(DefaultFolder::Inbox);
    assert!(subjects(&mut bob, inbox).await.is_empty());
}

#[tokio::test]
async fn a_missing_attachment_file_is_refused_before_creation() {
    let lab = lab().await;
    let mut alice = lab.alice().await;
    let outbox = alice.default_folder_id(DefaultFolder::Outbox);
    let mut m = alice.new_message(outbox);
    m.set_subject("with file")
        .to("bob")
        .attach_file("/nonexistent/report.pdf");
    let err = m.send(&mut alice).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.step(), Some("check-attachments"));
    assert!(err.to_string().contains("/nonexistent/report.pdf"), "{err}");
    assert!(subjects(&mut alice, outbox).await.is_empty());
}

#[tokio::test]
async fn a_draft_is_saved_with_its_properties() {
    let lab = lab().await;
    let mut alice = lab.alice().await;
    let inbox = alice.default_folder_id(DefaultFolder::Inbox);
    let drafts = alice.create_folder(inbox, "My Drafts").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.bin");
    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&file, &data).unwrap();
    let mut m = alice.new_message(drafts);
    m.set_subject("Draft")
        .set_body_html("<p>hi</p>")
        .to("bob")
        .attach_file(&file);
    m.set(tags::PidTagImportance, PropertyValue::Int32(2));
    let mid = m.save(&mut alice).await.unwrap();
    let f = alice.get_folder(drafts).await.unwrap();
    let rows = f
        .messages()
        .columns(&COLS)
        .collect(&mut alice)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].message_id(), Some(mid));
    assert_eq!(rows[0].subject().as_deref(), Some("Draft"));
    assert_eq!(rows[0].importance(), Some(2));
    assert!(rows[0].has_attachments());
    // The attachment's bytes arrived whole (the store holds them).
    assert!(
        rows[0].size().unwrap_or(0) >= data.len() as u64,
        "{:?}",
        rows[0].size()
    );
}

#[tokio::test]
async fn message_ids_take_the_users_smtp_domain() {
    // The profile's mailbox is the bare alias "alice": the domain comes from the SMTP
    // address the logon resolved in the address book.
    let lab = lab().await;
    let mut alice = lab.alice().await;
    assert!(!alice.profile().mailbox.contains('@'));
    let outbox = alice.default_folder_id(DefaultFolder::Outbox);
    let mut m = alice.new_message(outbox);
    m.set_subject("ids").to("Bob Builder");
    let id = m.internet_message_id().to_owned();
    assert!(
        id.starts_with('<') && id.ends_with("@example.test>"),
        "{id}"
    );
    m.send(&mut alice).await.unwrap();
    let sent = alice.default_folder_id(DefaultFolder::SentItems);
    let f = alice.get_folder(sent).await.unwrap();
    let rows = f
        .messages()
        .columns(&[tags::PidTagSubject, tags::PidTagInternetMessageId])
        .collect(&mut alice)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let Some(PropertyValue::Unicode(stored)) = rows[0].get(tags::PidTagInternetMessageId) else {
        panic!("PidTagInternetMessageId of the sent message: {:?}", rows[0])
    };
    assert_eq!(stored, &id);
    assert!(stored.ends_with("@example.test>"), "{stored}");
    alice.logoff().await.unwrap();
}

/// The recipients go out as RecipientRows with their identity in the row fields (X500DN for
/// directory users, SMTP for one-offs; no PidTagEntryId or PidTagDisplayName columns, which
/// a real server refuses) and read back from the sent copy and the delivered one with name,
/// address, address type and kind.
#[tokio::test]
async fn sent_recipients_read_back_with_name_address_and_type() {
    let lab = lab().await;
    let mut alice = lab.alice().await;
    let outbox = alice.default_folder_id(DefaultFolder::Outbox);
    let mut m = alice.new_message(outbox);
    m.set_subject("Recipients")
        .to("bob")
        .cc("Carol Outside <carol@outside.example>")
        .bcc("Jo Smith");
    m.send(&mut alice).await.unwrap();

    let sent = alice.default_folder_id(DefaultFolder::SentItems);
    let f = alice.get_folder(sent).await.unwrap();
    let rows = f
        .messages()
        .columns(&COLS)
        .collect(&mut alice)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let mid = rows[0].message_id().unwrap();
    let msg = alice.open_message(sent, mid).await.unwrap();
    let r: Vec<_> = msg.recipients().into_iter().collect();
    assert_eq!(r.len(), 3, "{r:?}");
    assert_eq!(r[0].kind(), Some(RecipientType::To));
    assert_eq!(r[0].name(), Some("Bob Builder"));
    assert_eq!(r[0].address(), Some(lab.bob.smtp.as_str()));
    assert_eq!(r[0].address_type(), Some("EX"));
    assert_eq!(r[1].kind(), Some(RecipientType::Cc));
    assert_eq!(r[1].name(), Some("Carol Outside"));
    assert_eq!(r[1].address(), Some("carol@outside.example"));
    assert_eq!(r[1].address_type(), Some("SMTP"));
    assert_eq!(r[2].kind(), Some(RecipientType::Bcc));
    assert_eq!(r[2].name(), Some("Jo Smith"));
    // The server derived an EntryId for each (MS-OXCDATA 2.2.5.2 / 2.2.5.1).
    for x in &r {
        assert!(
            matches!(x.get(tags::PidTagEntryId), Some(PropertyValue::Binary(b)) if b.len() > 20),
            "{x:?}"
        );
    }
    alice.logoff().await.unwrap();

    // Bob's delivered copy names him and Carol (To, Cc).
    let mut bob = lab.bob().await;
    let inbox = bob.default_folder_id(DefaultFolder::Inbox);
    let f = bob.get_folder(inbox).await.unwrap();
    let rows = f.messages().columns(&COLS).collect(&mut bob).await.unwrap();
    let msg = bob
        .open_message(inbox, rows[0].message_id().unwrap())
        .await
        .unwrap();
    let names: Vec<_> = msg
        .recipients()
        .into_iter()
        .filter(|x| x.kind() != Some(RecipientType::Bcc))
        .map(|x| x.display())
        .collect();
    assert_eq!(
        names,
        [
            format!("Bob Builder <{}>", lab.bob.smtp),
            "Carol Outside <carol@outside.example>".to_owned()
        ]
    );
    bob.logoff().await.unwrap();
}
