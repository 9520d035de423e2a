//! A listing that stays open while its folder changes: the server appends RopNotify entries
//! (MS-OXCROPS 2.2.14.2) after the answers of later Execute responses, and the listing must
//! go on, return every row once, and keep the notifications (found against a real server,
//! where `oxmapi ls` died on the first notification). Runs over MAPI/HTTP, and over RPC/HTTP
//! with OXMAPI_TEST_TRANSPORT=rpchttp.

mod write_support;

use std::collections::HashSet;

use oxmapi::{DefaultFolder, NotificationContent, Session};
use oxmapi_wire::rop::{NotificationType, TableEventType};
use write_support::lab;

async fn send(from: &mut Session, to: &str, subject: &str) {
    let outbox = from.default_folder_id(DefaultFolder::Outbox);
    let mut m = from.new_message(outbox);
    m.set_subject(subject).set_body_text("x").to(to);
    assert!(m.send(from).await.unwrap().is_sent());
}

#[tokio::test]
async fn a_listing_goes_on_while_mail_arrives_and_keeps_the_notifications() {
    let lab = lab().await;
    let mut alice = lab.alice().await;
    for i in 0..12 {
        send(&mut alice, "bob", &format!("before {i}")).await;
    }
    let mut bob = lab.bob().await;
    let inbox = bob.inbox().await.unwrap();
    // Small batches: the table stays open over several Execute requests.
    let mut listing = inbox.messages().batch_size(4);
    let mut ids = Vec::new();
    let first = listing.get_first(&mut bob).await.unwrap().unwrap();
    ids.push(first.entry_id().unwrap().to_bytes());
    // Mail arrives in the open table's folder, from another user's session.
    send(&mut alice, "bob", "during").await;
    while let Some(row) = listing.get_next(&mut bob).await.unwrap() {
        ids.push(row.entry_id().unwrap().to_bytes());
    }
    let unique: HashSet<_> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "a row came twice");
    assert!(ids.len() >= 12, "{} rows", ids.len());

    let got = bob.take_notifications();
    let table_changed = got.iter().any(|n| match &n.content {
        NotificationContent::Notify(x) => {
            x.data.notification_type == NotificationType::TableModified
                && x.data.table_event == Some(TableEventType::TableChanged)
        }
        _ => false,
    });
    assert!(table_changed, "no TableModified notification kept: {got:?}");
    assert!(bob.take_notifications().is_empty(), "taken once");

    // A listing opened afterwards sees the new message.
    let rows = bob
        .inbox()
        .await
        .unwrap()
        .messages()
        .collect(&mut bob)
        .await
        .unwrap();
    assert_eq!(rows.len(), 13);
}
