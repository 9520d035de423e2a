//! Folder.Messages with filters, sorts and large listings against the embedded server.

mod read_support;

use futures_util::StreamExt;
use oxmapi::{Filter, MessageRow, Sort, filetime};
use oxmapi_wire::data::restriction::RELOP_GE;
use oxmapi_wire::data::{PropertyValue, tags};
use read_support::*;

fn subjects(rows: &[MessageRow]) -> Vec<String> {
    rows.iter()
        .map(|r| r.subject().unwrap_or_default())
        .collect()
}

#[tokio::test]
async fn filters_and_sorts() {
    let lab = lab().await;
    let inbox = lab.inbox();
    let bob = ("Bob Builder", "bob@example.test");
    let eve = ("Eve Adams", "eve@example.test");
    lab.put(inbox, &note("Budget 2024", bob, T0, true));
    lab.put(inbox, &note("lunch?", eve, T0 + DAY, false));
    lab.put(
        inbox,
        &with(
            note("Re: budget", eve, T0 + 2 * DAY, true),
            tags::PidTagImportance,
            PropertyValue::Int32(2),
        ),
    );
    let mut with_att = note("Photos", bob, T0 + 3 * DAY, false);
    with_att
        .attachments
        .push(attachment("a.png", "image/png", vec![1, 2, 3]));
    lab.put(inbox, &with_att);

    let mut session = lab.session().await;
    let folder = session.inbox().await.unwrap();
    let list = |m: oxmapi::Messages| m.sort(Sort::received());

    let all = list(folder.messages()).collect(&mut session).await.unwrap();
    assert_eq!(
        subjects(&all),
        ["Budget 2024", "lunch?", "Re: budget", "Photos"]
    );
    let first = &all[0];
    assert_eq!(first.sender_name().as_deref(), Some("Bob Builder"));
    assert_eq!(first.sender_email().as_deref(), Some("bob@example.test"));
    assert_eq!(
        first.time_received().map(filetime::from_system_time),
        Some(T0)
    );
    assert!(!first.unread());
    assert!(all[1].unread());
    assert!(all[3].has_attachments());
    assert!(!all[0].has_attachments());
    assert_eq!(all[2].importance(), Some(2));
    assert_eq!(first.message_class().as_deref(), Some("IPM.Note"));

    let run = |f: Filter| list(folder.messages().filter(f));
    let unread = run(Filter::Unread).collect(&mut session).await.unwrap();
    assert_eq!(subjects(&unread), ["lunch?", "Photos"]);
    let read = run(Filter::Read).collect(&mut session).await.unwrap();
    assert_eq!(read.len(), 2);
    let since = run(Filter::Since(filetime::to_system_time(T0 + 2 * DAY)))
        .collect(&mut session)
        .await
        .unwrap();
    assert_eq!(subjects(&since), ["Re: budget", "Photos"]);
    let before = run(Filter::Before(filetime::to_system_time(T0 + DAY)))
        .collect(&mut session)
        .await
        .unwrap();
    assert_eq!(subjects(&before), ["Budget 2024"]);
    let subj = run(Filter::SubjectContains("BUDGET".into()))
        .collect(&mut session)
        .await
        .unwrap();
    assert_eq!(subjects(&subj), ["Budget 2024", "Re: budget"]);
    let from = run(Filter::SenderContains("eve@".into()))
        .collect(&mut session)
        .await
        .unwrap();
    assert_eq!(subjects(&from), ["lunch?", "Re: budget"]);
    let att = run(Filter::HasAttachments)
        .collect(&mut session)
        .await
        .unwrap();
    assert_eq!(subjects(&att), ["Photos"]);
    let important = run(Filter::Property {
        tag: tags::PidTagImportance,
        relop: RELOP_GE,
        value: PropertyValue::Int32(2),
    })
    .collect(&mut session)
    .await
    .unwrap();
    assert_eq!(subjects(&important), ["Re: budget"]);
    let both = list(
        folder
            .messages()
            .filter(Filter::Unread)
            .filter(Filter::SenderContains("bob".into())),
    )
    .collect(&mut session)
    .await
    .unwrap();
    assert_eq!(subjects(&both), ["Photos"]);

    // Sorts.
    let newest = folder
        .messages()
        .sort(Sort::received_newest_first())
        .collect(&mut session)
        .await
        .unwrap();
    assert_eq!(
        subjects(&newest),
        ["Photos", "Re: budget", "lunch?", "Budget 2024"]
    );
    let by_subject = folder
        .messages()
        .sort(Sort::subject())
        .collect(&mut session)
        .await
        .unwrap();
    assert_eq!(
        subjects(&by_subject),
        ["Budget 2024", "lunch?", "Photos", "Re: budget"]
    );

    // CDO GetFirst / GetNext, with a limit.
    let mut m = folder.messages().sort(Sort::received()).limit(3);
    let mut seen = Vec::new();
    let mut row = m.get_first(&mut session).await.unwrap();
    while let Some(r) = row {
        seen.push(r.subject().unwrap());
        row = m.get_next(&mut session).await.unwrap();
    }
    assert_eq!(seen, ["Budget 2024", "lunch?", "Re: budget"]);
    // GetFirst starts over.
    let again = m.get_first(&mut session).await.unwrap().unwrap();
    assert_eq!(again.subject().as_deref(), Some("Budget 2024"));
    m.close(&mut session).await;
    session.logoff().await.unwrap();
}

#[tokio::test]
async fn large_listings_loop_over_query_rows_and_chained_segments() {
    let lab = lab().await;
    let bulk = lab.add_folder(lab.inbox(), "Bulk");
    lab.put_many(
        bulk,
        (0..600u64).map(|i| {
            note(
                &format!("bulk message {i:04} with a subject long enough to fill segments"),
                ("Sender Name", "sender@example.test"),
                T0 + i,
                i % 3 == 0,
            )
        }),
    );
    let mut session = lab.session().await;
    let folder = session.folder_by_path("Inbox/Bulk").await.unwrap();
    assert_eq!(folder.count(), 600);

    // Default: RowCount 0xFFFF with the Chain flag; the server packs 32 KiB segments.
    let m = folder.messages().sort(Sort::received());
    let rows: Vec<MessageRow> = {
        let mut m = m;
        let mut out = Vec::new();
        while let Some(r) = m.get_next(&mut session).await.unwrap() {
            out.push(r);
        }
        let stats = m.stats();
        assert_eq!(stats.rows, 600);
        assert!(
            stats.segments > stats.query_requests,
            "chained segments were decoded: {stats:?}"
        );
        out
    };
    assert_eq!(rows.len(), 600);
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(
            r.subject().unwrap(),
            format!("bulk message {i:04} with a subject long enough to fill segments")
        );
    }

    // Small RowCount: many RopQueryRows requests until the table says BOOKMARK_END.
    let mut m = folder.messages().sort(Sort::received()).batch_size(100);
    let mut n = 0;
    while m.get_next(&mut session).await.unwrap().is_some() {
        n += 1;
    }
    assert_eq!(n, 600);
    assert!(m.stats().query_requests >= 6, "{:?}", m.stats());

    // The async stream, and a filter over the big table.
    let unread = folder
        .messages()
        .filter(Filter::Unread)
        .stream(&mut session)
        .filter_map(|r| async move { r.ok() })
        .count()
        .await;
    assert_eq!(unread, 400);
    session.logoff().await.unwrap();
}

/// A listing dropped before its end queues its table (and the folder opened for it) with the
/// session; the next request releases them (RopRelease in front), so the server's object
/// count goes back to where it was.
#[tokio::test]
async fn a_listing_dropped_early_is_released_by_the_next_request() {
    let lab = lab().await;
    let inbox = lab.inbox();
    let bob = ("Bob Builder", "bob@example.test");
    for i in 0..5u64 {
        lab.put(inbox, &note(&format!("m{i}"), bob, T0 + i * DAY, false));
    }
    let mut session = lab.session().await;
    let folder = session.inbox().await.unwrap();
    let before = lab.server.open_object_count();
    assert!(before >= 1, "the logon itself is an object");

    let mut listing = folder.messages().sort(Sort::received()).batch_size(2);
    let first = listing.get_next(&mut session).await.unwrap().unwrap();
    assert_eq!(first.subject().as_deref(), Some("m0"));
    assert_eq!(
        lab.server.open_object_count(),
        before + 2,
        "the listing holds a folder and its contents table"
    );
    drop(listing);
    assert_eq!(
        lab.server.open_object_count(),
        before + 2,
        "dropping sends nothing by itself"
    );

    // Any later request carries the releases; its own results are unaffected.
    let row = session
        .store_properties(&[tags::PidTagMailboxOwnerName])
        .await
        .unwrap();
    assert_eq!(
        row.values[0],
        oxmapi_wire::data::RowValue::Value(PropertyValue::Unicode("Alice Example".into()))
    );
    assert_eq!(lab.server.open_object_count(), before);

    // A listing read to its end queues its table's release the same way: the next request
    // carries it, and nothing is left over.
    let all = folder.messages().collect(&mut session).await.unwrap();
    assert_eq!(all.len(), 5);
    assert_eq!(lab.server.open_object_count(), before + 2);
    session
        .store_properties(&[tags::PidTagMailboxOwnerName])
        .await
        .unwrap();
    assert_eq!(lab.server.open_object_count(), before);
    session.logoff().await.unwrap();
}
