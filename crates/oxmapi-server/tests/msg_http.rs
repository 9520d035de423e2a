//! Message ROPs end to end over MAPI/HTTP: submit between two users, the demo mailbox and an
//! imported `.eml` with attachments read back through tables and streams.

#[path = "infra_support.rs"]
mod support;

use oxmapi_server::store::UserRecord;
use oxmapi_wire::data::{
    FolderId, MessageId, PropertyRow, PropertyValue, RowValue, TaggedPropertyValue, tags,
};
use oxmapi_wire::rop::{
    CreateMessageRequest, GetAttachmentTableRequest, GetContentsTableRequest,
    GetPropertiesSpecificRequest, ModifyRecipientRow, ModifyRecipientsRequest,
    OpenAttachmentRequest, OpenFolderRequest, OpenMessageRequest, OpenStreamRequest,
    QueryRowsRequest, ReadStreamRequest, RecipientRow, RopResponse, SetColumnsRequest,
    SetPropertiesRequest, SubmitMessageRequest, recipient_flags as rf,
};
use support::*;

impl Session {
    async fn subjects(&mut self, fid: u64) -> Vec<(u64, String)> {
        let cols = vec![tags::PidTagMid, tags::PidTagSubject];
        let (r, _) = self
            .exec(
                vec![
                    OpenFolderRequest {
                        logon_id: 0,
                        input_handle_index: 0,
                        output_handle_index: 1,
                        folder_id: FolderId(fid),
                        open_mode_flags: 0,
                    }
                    .into(),
                    GetContentsTableRequest {
                        logon_id: 0,
                        input_handle_index: 1,
                        output_handle_index: 2,
                        table_flags: 0x40,
                    }
                    .into(),
                    SetColumnsRequest {
                        logon_id: 0,
                        input_handle_index: 2,
                        set_columns_flags: 0,
                        property_tags: cols,
                    }
                    .into(),
                    QueryRowsRequest {
                        logon_id: 0,
                        input_handle_index: 2,
                        query_rows_flags: 0,
                        forward_read: 1,
                        row_count: 100,
                    }
                    .into(),
                ],
                vec![self.logon, NULL, NULL],
            )
            .await;
        let RopResponse::QueryRows(q) = &r[3] else {
            panic!("{r:?}")
        };
        q.rows
            .iter()
            .map(|row| match (&row.values[0], &row.values[1]) {
                (
                    RowValue::Value(PropertyValue::Int64(m)),
                    RowValue::Value(PropertyValue::Unicode(s)),
                ) => (*m as u64, s.clone()),
                other => panic!("{other:?}"),
            })
            .collect()
    }
}

fn inbox(ts: &TestServer, u: &UserRecord) -> u64 {
    ts.server.store().special_folder(u.id, 5).unwrap().unwrap()
}

#[tokio::test]
async fn submit_over_http_reaches_the_other_mailbox() {
    let ts = start().await;
    let mut alice = Session::open(&ts, &ts.alice, ALICE_PASSWORD).await;
    let outbox = ts
        .server
        .store()
        .special_folder(ts.alice.id, 6)
        .unwrap()
        .unwrap();
    let row = RecipientRow {
        flags: rf::TYPE_SMTP | rf::EMAIL | rf::DISPLAY | rf::UNICODE,
        x500: None,
        entry_id: None,
        search_key: None,
        address_type: None,
        email_address: Some(ts.bob.smtp.clone()),
        display_name: Some("Bob".into()),
        simple_display_name: None,
        transmittable_display_name: None,
        column_count: 0,
        properties: PropertyRow::from_values(vec![]),
    };
    let (r, _) = alice
        .exec(
            vec![
                CreateMessageRequest {
                    logon_id: 0,
                    input_handle_index: 0,
                    output_handle_index: 1,
                    code_page_id: 0x0FFF,
                    folder_id: FolderId(outbox),
                    associated_flag: 0,
                }
                .into(),
                SetPropertiesRequest {
                    logon_id: 0,
                    input_handle_index: 1,
                    values: vec![TaggedPropertyValue::new(
                        tags::PidTagSubject,
                        PropertyValue::Unicode("Über HTTP".into()),
                    )],
                }
                .into(),
                ModifyRecipientsRequest {
                    logon_id: 0,
                    input_handle_index: 1,
                    recipient_columns: vec![],
                    rows: vec![ModifyRecipientRow {
                        row_id: 0,
                        recipient_type: 1,
                        row: Some(row),
                    }],
                }
                .into(),
                SubmitMessageRequest {
                    logon_id: 0,
                    input_handle_index: 1,
                    submit_flags: 0,
                }
                .into(),
            ],
            vec![alice.logon, NULL],
        )
        .await;
    for x in &r {
        assert_eq!(
            x.return_value(),
            Some(oxmapi_wire::data::ErrorCode::SUCCESS),
            "{r:?}"
        );
    }

    let mut bob = Session::open(&ts, &ts.bob, BOB_PASSWORD).await;
    let got = bob.subjects(inbox(&ts, &ts.bob)).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].1, "Über HTTP");
    let (r, _) = bob
        .exec(
            vec![
                OpenMessageRequest {
                    logon_id: 0,
                    input_handle_index: 0,
                    output_handle_index: 1,
                    code_page_id: 0x0FFF,
                    folder_id: FolderId(inbox(&ts, &ts.bob)),
                    open_mode_flags: 0,
                    message_id: MessageId(got[0].0),
                }
                .into(),
                GetPropertiesSpecificRequest {
                    logon_id: 0,
                    input_handle_index: 1,
                    property_size_limit: 0,
                    want_unicode: 1,
                    property_tags: vec![tags::PidTagSenderName, tags::PidTagRead],
                }
                .into(),
            ],
            vec![bob.logon, NULL],
        )
        .await;
    let RopResponse::OpenMessage(o) = &r[0] else {
        panic!("{r:?}")
    };
    assert_eq!(o.recipient_count, 1);
    let RopResponse::GetPropertiesSpecific(g) = &r[1] else {
        panic!("{r:?}")
    };
    assert_eq!(
        g.row.values[0],
        RowValue::Value(PropertyValue::Unicode("Alice Example".into()))
    );
    assert_eq!(
        g.row.values[1],
        RowValue::Value(PropertyValue::Boolean(false))
    );
    ts.server.shutdown().await;
}

#[tokio::test]
async fn demo_mailbox_and_imported_eml_read_back() {
    let ts = start().await;
    let store = ts.server.store().clone();
    let demo = oxmapi_server::import::seed_demo_mailbox(&store, "alice").unwrap();
    assert_eq!(demo.imported.len(), 5);
    let eml = ts.dir.path().join("in.eml");
    std::fs::write(
        &eml,
        "From: Zoe <zoe@remote.example>\r\nTo: alice@example.test, Bob <bob@example.test>\r\n\
         Subject: Files\r\nDate: Sat, 07 Nov 2026 10:00:00 +0000\r\nMessage-ID: <f1@remote.example>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee attached.\r\n\
         --b\r\nContent-Type: application/octet-stream; name=\"a.bin\"\r\nContent-Disposition: attachment; filename=\"a.bin\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\nAAECAwQFBgcICQ==\r\n\
         --b\r\nContent-Type: text/plain; name=\"notes.txt\"\r\nContent-Disposition: attachment; filename=\"notes.txt\"\r\n\r\nremember the milk\r\n--b--\r\n",
    )
    .unwrap();
    let rep = oxmapi_server::import::import_eml(&store, "alice", &eml).unwrap();
    assert_eq!(rep.imported.len(), 1);
    assert!(rep.skipped.is_empty());

    let mut a = Session::open(&ts, &ts.alice, ALICE_PASSWORD).await;
    let inbox_fid = inbox(&ts, &ts.alice);
    let got = a.subjects(inbox_fid).await;
    let subjects: Vec<&str> = got.iter().map(|(_, s)| s.as_str()).collect();
    assert_eq!(subjects.len(), 6);
    assert!(subjects.contains(&"Grüße aus Köln"), "{subjects:?}");
    assert!(subjects.contains(&"Report and logo"));
    let mid = got.iter().find(|(_, s)| s == "Files").unwrap().0;

    let cols = vec![
        tags::PidTagAttachNumber,
        tags::PidTagAttachLongFilename,
        tags::PidTagAttachMimeTag,
    ];
    let (r, h) = a
        .exec(
            vec![
                OpenMessageRequest {
                    logon_id: 0,
                    input_handle_index: 0,
                    output_handle_index: 1,
                    code_page_id: 0x0FFF,
                    folder_id: FolderId(inbox_fid),
                    open_mode_flags: 0,
                    message_id: MessageId(mid),
                }
                .into(),
                GetPropertiesSpecificRequest {
                    logon_id: 0,
                    input_handle_index: 1,
                    property_size_limit: 0,
                    want_unicode: 1,
                    property_tags: vec![
                        tags::PidTagBody,
                        tags::PidTagSenderName,
                        tags::PidTagHasAttachments,
                    ],
                }
                .into(),
                GetAttachmentTableRequest {
                    logon_id: 0,
                    input_handle_index: 1,
                    output_handle_index: 2,
                    table_flags: 0x40,
                }
                .into(),
                SetColumnsRequest {
                    logon_id: 0,
                    input_handle_index: 2,
                    set_columns_flags: 0,
                    property_tags: cols,
                }
                .into(),
                QueryRowsRequest {
                    logon_id: 0,
                    input_handle_index: 2,
                    query_rows_flags: 0,
                    forward_read: 1,
                    row_count: 10,
                }
                .into(),
                OpenAttachmentRequest {
                    logon_id: 0,
                    input_handle_index: 1,
                    output_handle_index: 3,
                    open_attachment_flags: 0,
                    attachment_id: 0,
                }
                .into(),
                OpenStreamRequest {
                    logon_id: 0,
                    input_handle_index: 3,
                    output_handle_index: 4,
                    property_tag: tags::PidTagAttachDataBinary,
                    open_mode_flags: 0,
                }
                .into(),
                ReadStreamRequest {
                    logon_id: 0,
                    input_handle_index: 4,
                    byte_count: 100,
                    maximum_byte_count: None,
                }
                .into(),
            ],
            vec![a.logon, NULL, NULL, NULL, NULL],
        )
        .await;
    assert_eq!(h.len(), 5);
    let RopResponse::GetPropertiesSpecific(g) = &r[1] else {
        panic!("{r:?}")
    };
    assert!(
        matches!(&g.row.values[0], RowValue::Value(PropertyValue::Unicode(b)) if b.contains("See attached."))
    );
    assert_eq!(
        g.row.values[1],
        RowValue::Value(PropertyValue::Unicode("Zoe".into()))
    );
    assert_eq!(
        g.row.values[2],
        RowValue::Value(PropertyValue::Boolean(true))
    );
    let RopResponse::QueryRows(q) = &r[4] else {
        panic!("{r:?}")
    };
    assert_eq!(q.rows.len(), 2);
    assert_eq!(
        q.rows[0].values[1],
        RowValue::Value(PropertyValue::Unicode("a.bin".into()))
    );
    assert_eq!(
        q.rows[1].values[1],
        RowValue::Value(PropertyValue::Unicode("notes.txt".into()))
    );
    assert_eq!(
        q.rows[1].values[2],
        RowValue::Value(PropertyValue::Unicode("text/plain".into()))
    );
    let RopResponse::OpenStream(o) = &r[6] else {
        panic!("{r:?}")
    };
    assert_eq!(o.stream_size, 10);
    let RopResponse::ReadStream(d) = &r[7] else {
        panic!("{r:?}")
    };
    assert_eq!(d.data, (0u8..10).collect::<Vec<_>>());
    ts.server.shutdown().await;
}
