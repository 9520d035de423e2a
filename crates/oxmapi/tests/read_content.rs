//! Opening messages: properties, bodies (text, HTML, RTF), non-ASCII text, recipients,
//! attachments (saved, byte-compared, one of ~3 MB streamed), named properties, entry IDs
//! across sessions.

mod read_support;

use oxmapi::{
    EntryId, ErrorKind, Fields, NamedProperty, PS_PUBLIC_STRINGS, RecipientType, Session,
};
use oxmapi_server::store::messages::{NamedProp, id_of};
use oxmapi_wire::data::{PropertyTag, PropertyType, PropertyValue, tags};
use read_support::*;

const GRUSS: &str = "Grüße aus Köln — ½ € 日本語";

#[tokio::test]
async fn open_message_bodies_recipients_attachments_named_properties() {
    let lab = lab().await;
    let inbox = lab.inbox();
    let rtf =
        r"{\rtf1\ansi\ansicpg1252\deff0 {\fonttbl{\f0 Arial;}}\pard Hello {\b RTF} world\par}";
    let big_text: String = (0..3000).map(|i| format!("line {i} {GRUSS}\r\n")).collect();
    let big_att = noise(3 * 1024 * 1024 + 123, 7);
    let small_att = b"plain text attachment\n".to_vec();
    let png = noise(2048, 3);

    let mut m = note(GRUSS, ("Jürgen Müller", "jm@example.test"), T0, false);
    m.props.push((tags::PidTagBody, s(&big_text)));
    m.props.push((
        tags::PidTagHtml,
        PropertyValue::Binary(format!("<html><body><p>{GRUSS}</p></body></html>").into_bytes()),
    ));
    m.props.push((
        tags::PidTagRtfCompressed,
        PropertyValue::Binary(compressed_rtf::compress_rtf(rtf).unwrap()),
    ));
    m.recipients = vec![
        recipient(1, "Alice Example", "alice@example.test"),
        recipient(2, "Bob Builder", "bob@example.test"),
        recipient(3, "Zoë Secret", "zoe@example.test"),
    ];
    m.attachments = vec![
        attachment("notes.txt", "text/plain", small_att.clone()),
        attachment("pixel.png", "image/png", png.clone()),
        attachment("big.bin", "application/octet-stream", big_att.clone()),
    ];
    let mid = lab.put(inbox, &m);
    // A named property (PS_PUBLIC_STRINGS "X-Project") set on the message.
    let mailbox = lab.alice.id;
    lab.server
        .store()
        .with_conn(|c| {
            let id = id_of(
                c,
                mailbox,
                &NamedProp::Name(PS_PUBLIC_STRINGS, "X-Project".into()),
                true,
            )?
            .unwrap();
            oxmapi_server::store::messages::put_prop(
                c,
                mailbox,
                1,
                mid,
                PropertyTag::new(id, PropertyType::UNICODE),
                &s("Apollo"),
            )?;
            Ok(())
        })
        .unwrap();

    let mut session = lab.session().await;
    let inbox_f = session.inbox().await.unwrap();
    let row = inbox_f
        .messages()
        .collect(&mut session)
        .await
        .unwrap()
        .pop()
        .unwrap();
    let msg = row.open(&mut session).await.unwrap();
    assert_eq!(msg.id().0, mid as u64);
    assert_eq!(msg.subject().as_deref(), Some(GRUSS));
    assert_eq!(msg.sender_name().as_deref(), Some("Jürgen Müller"));
    assert_eq!(msg.sender_email().as_deref(), Some("jm@example.test"));
    assert!(msg.unread());
    assert_eq!(msg.importance(), Some(1));
    assert_eq!(msg.message_class().as_deref(), Some("IPM.Note"));
    assert!(
        msg.size().unwrap_or(0) > 3 * 1024 * 1024,
        "{:?}",
        msg.size()
    );
    assert!(msg.has_attachments());

    // Bodies: the text is ~200 KB, so it comes through RopOpenStream/RopReadStream.
    assert_eq!(
        msg.text(&mut session).await.unwrap().as_deref(),
        Some(big_text.as_str())
    );
    let html = msg.html(&mut session).await.unwrap().unwrap();
    assert!(String::from_utf8(html).unwrap().contains(GRUSS));
    assert_eq!(msg.rtf(&mut session).await.unwrap().as_deref(), Some(rtf));

    // Recipients.
    let r = msg.recipients();
    assert_eq!(r.count(), 3);
    let to: Vec<String> = r.of(RecipientType::To).map(|x| x.display()).collect();
    assert_eq!(to, ["Alice Example <alice@example.test>"]);
    assert_eq!(r.item(1).unwrap().kind(), Some(RecipientType::Cc));
    let bcc = r.of(RecipientType::Bcc).next().unwrap();
    assert_eq!(bcc.name(), Some("Zoë Secret"));
    assert_eq!(bcc.address(), Some("zoe@example.test"));

    // Attachments: listed, saved, byte-compared; the 3 MB one streamed to a file.
    let atts = msg.attachments(&mut session).await.unwrap();
    let names: Vec<_> = atts
        .iter()
        .map(|a| a.name().unwrap_or("").to_owned())
        .collect();
    assert_eq!(names, ["notes.txt", "pixel.png", "big.bin"]);
    assert_eq!(atts.item(1).unwrap().mime_type(), Some("image/png"));
    assert_eq!(
        atts.item(0).unwrap().data(&mut session).await.unwrap(),
        small_att
    );
    assert_eq!(atts.item(1).unwrap().data(&mut session).await.unwrap(), png);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.bin");
    let n = atts
        .item(2)
        .unwrap()
        .write_to_file(&mut session, &path)
        .await
        .unwrap();
    assert_eq!(n, big_att.len() as u64);
    assert!(
        std::fs::read(&path).unwrap() == big_att,
        "3 MB attachment differs"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temp file left"
    );

    // Fields: arbitrary tags, and a named property.
    let f = msg
        .fields(&mut session, &[tags::PidTagSubject, tags::PidTagComment])
        .await
        .unwrap();
    assert_eq!(
        f.get(tags::PidTagSubject)
            .and_then(|v| v.as_str())
            .as_deref(),
        Some(GRUSS)
    );
    assert_eq!(f.get(tags::PidTagComment), None);
    assert!(f.error(tags::PidTagComment).is_some());
    let project = Fields::named(PS_PUBLIC_STRINGS, "X-Project");
    let named = msg
        .named_fields(&mut session, std::slice::from_ref(&project))
        .await
        .unwrap();
    assert_eq!(
        named
            .get_named(&project)
            .and_then(|v| v.as_str())
            .as_deref(),
        Some("Apollo")
    );
    assert!(named.tag_of(&project).unwrap().id() >= 0x8000);
    let unknown = NamedProperty {
        guid: PS_PUBLIC_STRINGS,
        name: "X-Never-Seen".into(),
        ty: PropertyType::UNICODE,
    };
    let err = msg
        .named_fields(&mut session, &[unknown])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.to_string().contains("X-Never-Seen"), "{err}");

    // Entry IDs survive the session: log off, log on again, GetMessage by the hex form.
    let hex = msg.entry_id().unwrap().to_hex();
    session.logoff().await.unwrap();
    let mut second = Session::logon(&lab.config(), lab.params()).await.unwrap();
    let again = second
        .get_message(&EntryId::from_hex(&hex).unwrap())
        .await
        .unwrap();
    assert_eq!(again.subject().as_deref(), Some(GRUSS));
    assert_eq!(again.recipients().count(), 3);
    // A message that does not exist: NotFound naming the message.
    let EntryId::Message(mut gone) = EntryId::from_hex(&hex).unwrap() else {
        panic!("not a message entry ID");
    };
    gone.message.global_counter = [0, 0, 0x7F, 0xFF, 0xFF, 0xFF];
    let err = second
        .get_message(&EntryId::Message(gone))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.to_string().contains("message"), "{err}");
    // An entry ID of another store.
    let EntryId::Message(mut foreign) = EntryId::from_hex(&hex).unwrap() else {
        panic!("not a message entry ID");
    };
    foreign.provider_uid = [0x42; 16];
    let err = second
        .get_message(&EntryId::Message(foreign))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    second.logoff().await.unwrap();
}

#[tokio::test]
async fn embedded_message_attachment_opens_as_a_message() {
    use oxmapi_server::store::messages as m;
    let lab = lab().await;
    let mut outer = note("Fwd: the plan", ("Bob", "bob@example.test"), T0, true);
    outer.attachments.push(attachment(
        "ignored.bin",
        "application/octet-stream",
        vec![9; 10],
    ));
    let mid = lab.put(lab.inbox(), &outer);
    let mailbox = lab.alice.id;
    lab.server
        .store()
        .with_conn(|c| {
            let att = m::attachments(c, mailbox, mid)?.remove(0);
            let inner = m::new_instance_id(c, mailbox)?;
            m::put_prop(c, mailbox, 1, inner, tags::PidTagSubject, &s("The plan"))?;
            m::put_prop(c, mailbox, 1, inner, tags::PidTagBody, &s("Step 1: Grüße"))?;
            m::put_prop(
                c,
                mailbox,
                1,
                inner,
                tags::PidTagMessageClass,
                &s("IPM.Note"),
            )?;
            m::put_prop(
                c,
                mailbox,
                m::KIND_ATTACHMENT,
                att.att_id,
                tags::PidTagAttachMethod,
                &PropertyValue::Int32(5),
            )?;
            m::set_embedded(c, att.att_id, inner)?;
            Ok(())
        })
        .unwrap();
    let mut session = lab.session().await;
    let msg = session
        .inbox()
        .await
        .unwrap()
        .messages()
        .collect(&mut session)
        .await
        .unwrap()[0]
        .open(&mut session)
        .await
        .unwrap();
    let atts = msg.attachments(&mut session).await.unwrap();
    let a = atts.item(0).unwrap();
    assert!(a.is_embedded_message());
    let inner = a.open_embedded(&mut session).await.unwrap();
    assert!(inner.is_embedded());
    assert_eq!(inner.subject().as_deref(), Some("The plan"));
    assert_eq!(
        inner.text(&mut session).await.unwrap().as_deref(),
        Some("Step 1: Grüße")
    );
    let err = inner.attachments(&mut session).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    session.logoff().await.unwrap();
}
