//! Reply, Reply All and Forward against the lab server: what the response carries (subject,
//! recipients, quoted body, threading properties, attachments copied stream to stream) and
//! what the recipients' own sessions see.

mod write_support;

use oxmapi::{
    DefaultFolder, Message, PID_TAG_CONVERSATION_INDEX, PID_TAG_CONVERSATION_TOPIC,
    PID_TAG_IN_REPLY_TO_ID, PID_TAG_INTERNET_REFERENCES, RecipientType, ResponseKind,
    ResponseOptions, Session,
};
use oxmapi_wire::data::{PropertyValue, tags};
use write_support::{Lab, lab};

/// The messages of a session's Inbox, opened, oldest first.
async fn inbox(s: &mut Session) -> Vec<Message> {
    let f = s.inbox().await.unwrap();
    let rows = f.messages().collect(s).await.unwrap();
    let mut out = Vec::new();
    for r in &rows {
        out.push(r.open(s).await.unwrap());
    }
    out.sort_by_key(|m| m.time_received());
    out
}

async fn user(lab: &Lab, alias: &str, pw: &str) -> Session {
    let u = lab.server.store().user_by_alias(alias).unwrap().unwrap();
    let u = oxmapi_server::store::UserRecord::clone(&u);
    Session::logon(&lab.config(), Lab::params(&u, pw))
        .await
        .unwrap()
}

fn text(m: &oxmapi::Fields, tag: oxmapi_wire::data::PropertyTag) -> String {
    m.get(tag)
        .and_then(PropertyValue::as_str)
        .map(|s| s.into_owned())
        .unwrap_or_default()
}

fn bytes(m: &oxmapi::Fields, tag: oxmapi_wire::data::PropertyTag) -> Vec<u8> {
    m.get(tag)
        .and_then(PropertyValue::as_bytes)
        .map(<[u8]>::to_vec)
        .unwrap_or_default()
}

const THREAD: [oxmapi_wire::data::PropertyTag; 5] = [
    PID_TAG_CONVERSATION_TOPIC,
    PID_TAG_CONVERSATION_INDEX,
    PID_TAG_IN_REPLY_TO_ID,
    PID_TAG_INTERNET_REFERENCES,
    tags::PidTagInternetMessageId,
];

#[tokio::test]
async fn reply_goes_to_the_sender_quotes_and_threads() {
    let lab = lab().await;
    let mut alice = lab.alice().await;
    let outbox = alice.default_folder_id(DefaultFolder::Outbox);
    let mut m = alice.new_message(outbox);
    m.set_subject("Lunch?")
        .set_body_text("Noon at the usual place?")
        .to("bob")
        .cc("jsmith");
    let original_id = m.internet_message_id().to_owned();
    assert!(m.send(&mut alice).await.unwrap().is_sent());

    // Bob replies.
    let mut bob = lab.bob().await;
    let got = inbox(&mut bob).await;
    assert_eq!(got.len(), 1);
    let mut r = got[0]
        .respond(
            &mut bob,
            ResponseKind::Reply,
            &ResponseOptions {
                text: "Sure, see you there.".into(),
                ..ResponseOptions::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        r.get(tags::PidTagSubject)
            .and_then(|v| v.as_str())
            .as_deref(),
        Some("RE: Lunch?")
    );
    let names: Vec<(String, RecipientType)> = r
        .recipients()
        .iter()
        .map(|x| (x.entry.as_ref().unwrap().name.clone(), x.kind))
        .collect();
    assert_eq!(names, [("Alice Example".to_owned(), RecipientType::To)]);
    let body = r
        .get(tags::PidTagBody)
        .and_then(|v| v.as_str())
        .unwrap()
        .into_owned();
    assert!(body.starts_with("Sure, see you there.\r\n"), "{body}");
    assert!(body.contains("-----Original Message-----"), "{body}");
    assert!(body.contains("From: Alice Example"), "{body}");
    assert!(body.contains("Subject: Lunch?"), "{body}");
    assert!(body.contains("Cc: Jo Smith"), "{body}");
    assert!(body.ends_with("Noon at the usual place?"), "{body}");
    assert!(
        r.get(tags::PidTagHtml).is_none(),
        "no HTML without an HTML original"
    );
    // Created in Bob's Drafts until sent.
    let drafts = bob.drafts_folder_id().await.unwrap();
    assert_eq!(r.folder_id(), drafts);
    let reply_id = r.internet_message_id().to_owned();
    r.set_body_text(&body); // the caller may edit
    assert!(r.send(&mut bob).await.unwrap().is_sent());

    // Alice sees Bob's reply, with the threading properties.
    let got = inbox(&mut alice).await;
    assert_eq!(got.len(), 1);
    let reply = &got[0];
    assert_eq!(reply.subject().as_deref(), Some("RE: Lunch?"));
    assert_eq!(reply.sender_name().as_deref(), Some("Bob Builder"));
    assert_eq!(
        reply.text(&mut alice).await.unwrap().as_deref(),
        Some(body.as_str())
    );
    let f = reply.fields(&mut alice, &THREAD).await.unwrap();
    assert_eq!(text(&f, PID_TAG_CONVERSATION_TOPIC), "Lunch?");
    assert_eq!(text(&f, PID_TAG_IN_REPLY_TO_ID), original_id);
    assert_eq!(text(&f, PID_TAG_INTERNET_REFERENCES), original_id);
    let index = bytes(&f, PID_TAG_CONVERSATION_INDEX);
    assert_eq!(
        index.len(),
        27,
        "a new header (22) and one response level (5)"
    );
    assert!(oxmapi::is_conversation_index(&index));

    // Alice answers the reply: no doubled prefix, one more level, the references grow.
    let mut rr = reply.reply(&mut alice).await.unwrap();
    assert_eq!(
        rr.get(tags::PidTagSubject)
            .and_then(|v| v.as_str())
            .as_deref(),
        Some("RE: Lunch?")
    );
    let names: Vec<String> = rr
        .recipients()
        .iter()
        .map(|x| x.entry.as_ref().unwrap().name.clone())
        .collect();
    assert_eq!(names, ["Bob Builder"]);
    match rr.get(PID_TAG_CONVERSATION_INDEX) {
        Some(PropertyValue::Binary(b)) => {
            assert_eq!(b.len(), 32);
            assert_eq!(&b[..27], &index[..]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        rr.get(PID_TAG_INTERNET_REFERENCES)
            .and_then(|v| v.as_str())
            .as_deref(),
        Some(format!("{original_id} {reply_id}").as_str())
    );
    rr.set_body_text("ok");
    assert!(rr.send(&mut alice).await.unwrap().is_sent());
    let got = inbox(&mut bob).await;
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].subject().as_deref(), Some("RE: Lunch?"));
    assert_eq!(got[1].sender_name().as_deref(), Some("Alice Example"));
}

#[tokio::test]
async fn reply_all_adds_everyone_but_yourself() {
    let lab = lab().await;
    let mut alice = lab.alice().await;
    let outbox = alice.default_folder_id(DefaultFolder::Outbox);
    let mut m = alice.new_message(outbox);
    m.set_subject("Plan")
        .set_body_text("Thoughts?")
        .to("bob")
        .to("jbrown")
        .cc("jsmith")
        .cc("carol@outside.example");
    assert!(m.send(&mut alice).await.unwrap().is_sent());

    let mut bob = lab.bob().await;
    let got = inbox(&mut bob).await;
    let r = got[0].reply_all(&mut bob).await.unwrap();
    let mut names: Vec<(String, RecipientType)> = r
        .recipients()
        .iter()
        .map(|x| (x.entry.as_ref().unwrap().name.clone(), x.kind))
        .collect();
    names.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        names,
        [
            ("Alice Example".to_owned(), RecipientType::To),
            ("Jo Brown".to_owned(), RecipientType::To),
            ("Jo Smith".to_owned(), RecipientType::Cc),
            ("carol@outside.example".to_owned(), RecipientType::Cc),
        ],
        "Bob himself is not among them, nobody twice"
    );
    assert!(r.send(&mut bob).await.unwrap().is_sent());
    for (alias, pw) in [("jsmith", "x1"), ("jbrown", "x2")] {
        let mut s = user(&lab, alias, pw).await;
        let got = inbox(&mut s).await;
        let subjects: Vec<String> = got.iter().filter_map(Message::subject).collect();
        assert_eq!(subjects, ["Plan", "RE: Plan"], "{alias}");
    }
    let got = inbox(&mut alice).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].subject().as_deref(), Some("RE: Plan"));
    // Bob got no copy of his own reply.
    assert_eq!(inbox(&mut bob).await.len(), 1);
}

#[tokio::test]
async fn forward_keeps_attachments_and_html() {
    let lab = lab().await;
    let mut alice = lab.alice().await;
    let outbox = alice.default_folder_id(DefaultFolder::Outbox);
    // Three ReadStream chunks and a bit.
    let big: Vec<u8> = (0..100_000u32).map(|i| (i * 31 % 251) as u8).collect();
    let mut m = alice.new_message(outbox);
    m.set_subject("Report")
        .set_body_text("The report is attached.")
        .set_body_html("<html><body><p>The report is <b>attached</b>.</p></body></html>")
        .to("bob");
    m.attach_bytes("report.bin", big.clone());
    m.attach_bytes("notes.txt", b"one\ntwo\n".to_vec());
    assert!(m.send(&mut alice).await.unwrap().is_sent());

    let mut bob = lab.bob().await;
    let got = inbox(&mut bob).await;
    let mut f = got[0].forward(&mut bob).await.unwrap();
    assert_eq!(
        f.get(tags::PidTagSubject)
            .and_then(|v| v.as_str())
            .as_deref(),
        Some("FW: Report")
    );
    assert!(f.recipients().is_empty());
    let names: Vec<&str> = f
        .attachments()
        .iter()
        .map(|a| a.file_name.as_str())
        .collect();
    assert_eq!(names, ["report.bin", "notes.txt"]);
    assert!(
        f.get(PID_TAG_IN_REPLY_TO_ID).is_none(),
        "a forward is not a reply"
    );
    assert!(f.get(PID_TAG_INTERNET_REFERENCES).is_some());
    f.to("jbrown");
    assert!(f.send(&mut bob).await.unwrap().is_sent());

    let mut jo = user(&lab, "jbrown", "x2").await;
    let got = inbox(&mut jo).await;
    assert_eq!(got.len(), 1);
    let fw = &got[0];
    assert_eq!(fw.subject().as_deref(), Some("FW: Report"));
    assert!(fw.has_attachments());
    let atts = fw.attachments(&mut jo).await.unwrap();
    assert_eq!(atts.count(), 2);
    let a0 = atts.item(0).unwrap();
    assert_eq!(a0.name(), Some("report.bin"));
    assert_eq!(a0.data(&mut jo).await.unwrap(), big);
    assert_eq!(
        atts.item(1).unwrap().data(&mut jo).await.unwrap(),
        b"one\ntwo\n"
    );
    let html = String::from_utf8(fw.html(&mut jo).await.unwrap().unwrap()).unwrap();
    assert!(
        html.contains("<p>The report is <b>attached</b>.</p>"),
        "{html}"
    );
    assert!(html.contains("<b>Subject:</b> Report"), "{html}");
    let body = fw.text(&mut jo).await.unwrap().unwrap();
    assert!(body.contains("The report is attached."), "{body}");
    // The original is untouched in Bob's Inbox.
    assert_eq!(
        inbox(&mut bob).await[0]
            .attachments(&mut bob)
            .await
            .unwrap()
            .count(),
        2
    );
}

#[tokio::test]
async fn a_reply_can_be_saved_as_a_draft_in_any_folder() {
    let lab = lab().await;
    let mut alice = lab.alice().await;
    let outbox = alice.default_folder_id(DefaultFolder::Outbox);
    let mut m = alice.new_message(outbox);
    m.set_subject("Draft me").set_body_text("x").to("bob");
    assert!(m.send(&mut alice).await.unwrap().is_sent());
    let mut bob = lab.bob().await;
    let got = inbox(&mut bob).await;
    let mut r = got[0].reply(&mut bob).await.unwrap();
    let mid = r.save(&mut bob).await.unwrap();
    let drafts = bob.drafts_folder_id().await.unwrap();
    let rows = bob
        .get_folder(drafts)
        .await
        .unwrap()
        .messages()
        .columns(&[tags::PidTagMid, tags::PidTagSubject])
        .collect(&mut bob)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].message_id(), Some(mid));
    assert_eq!(rows[0].subject().as_deref(), Some("RE: Draft me"));

    let inbox_id = bob.default_folder_id(DefaultFolder::Inbox);
    let elsewhere = bob.create_folder(inbox_id, "Replies").await.unwrap();
    let mut r = got[0]
        .respond(
            &mut bob,
            ResponseKind::Forward,
            &ResponseOptions {
                folder: Some(elsewhere),
                text: String::new(),
            },
        )
        .await
        .unwrap();
    r.save(&mut bob).await.unwrap();
    let rows = bob
        .get_folder(elsewhere)
        .await
        .unwrap()
        .messages()
        .collect(&mut bob)
        .await
        .unwrap();
    assert_eq!(rows[0].subject().as_deref(), Some("FW: Draft me"));
}

#[tokio::test]
async fn replying_to_a_long_message_streams_the_bodies() {
    let lab = lab().await;
    let mut alice = lab.alice().await;
    let outbox = alice.default_folder_id(DefaultFolder::Outbox);
    // 216 000 characters: far beyond one RopSetProperties (PropertyValueSize is a u16).
    let long = "0123456789abcdef\r\n".repeat(12_000);
    let html = format!("<html><body><pre>{long}</pre></body></html>");
    let mut m = alice.new_message(outbox);
    m.set_subject("Long")
        .set_body_text(&long)
        .set_body_html(&html)
        .to("bob");
    assert!(m.send(&mut alice).await.unwrap().is_sent());

    let mut bob = lab.bob().await;
    let got = inbox(&mut bob).await;
    assert_eq!(
        got[0].text(&mut bob).await.unwrap().as_deref(),
        Some(long.as_str())
    );
    let r = got[0].reply(&mut bob).await.unwrap();
    assert!(r.send(&mut bob).await.unwrap().is_sent());

    let got = inbox(&mut alice).await;
    let text = got[0].text(&mut alice).await.unwrap().unwrap();
    assert!(text.ends_with(&long), "the quoted original is whole");
    let html = String::from_utf8(got[0].html(&mut alice).await.unwrap().unwrap()).unwrap();
    assert!(html.contains(&format!("<pre>{long}</pre>")));
}

/// A reply to a message one sent to oneself goes back to oneself (found against a real
/// server: the sender was dropped as "me" and the reply had no recipient at all).
#[tokio::test]
async fn a_reply_to_ones_own_message_goes_to_oneself() {
    let lab = lab().await;
    let mut alice = lab.alice().await;
    let outbox = alice.default_folder_id(DefaultFolder::Outbox);
    let mut m = alice.new_message(outbox);
    m.set_subject("Note to self")
        .set_body_text("remember")
        .to("alice");
    assert!(m.send(&mut alice).await.unwrap().is_sent());
    let got = inbox(&mut alice).await;
    assert_eq!(got.len(), 1);
    let r = got[0]
        .respond(&mut alice, ResponseKind::Reply, &ResponseOptions::default())
        .await
        .unwrap();
    let names: Vec<(String, RecipientType)> = r
        .recipients()
        .iter()
        .map(|x| (x.entry.as_ref().unwrap().name.clone(), x.kind))
        .collect();
    assert_eq!(names, [("Alice Example".to_owned(), RecipientType::To)]);
    // Reply All still leaves the user out: nobody else is left to answer.
    let all = got[0]
        .respond(
            &mut alice,
            ResponseKind::ReplyAll,
            &ResponseOptions::default(),
        )
        .await;
    assert!(all.is_err(), "reply-all to a note to self has no recipient");
}
