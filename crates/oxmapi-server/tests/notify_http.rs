//! Table notifications over MAPI/HTTP: a message Bob sends lands in Alice's open Inbox table,
//! NotificationWait reports EventPending (MS-OXCMAPIHTTP 2.2.4.4.2), and Alice's next Execute
//! carries a RopNotify after its answers (MS-OXCNOTIF 3.1.5.7).

#[path = "infra_support.rs"]
mod support;

use oxmapi_wire::data::{FolderId, PropertyRow, PropertyValue, TaggedPropertyValue, tags};
use oxmapi_wire::rop::{
    CreateMessageRequest, GetContentsTableRequest, ModifyRecipientRow, ModifyRecipientsRequest,
    NotificationType, OpenFolderRequest, QueryPositionRequest, QueryRowsRequest, RecipientRow,
    RopRequest, RopResponse, SetColumnsRequest, SetPropertiesRequest, SubmitMessageRequest,
    TableEventType, recipient_flags as rf,
};
use support::*;

impl Session {
    /// Execute, decoding rows of tables set up earlier as (PidTagSubject).
    async fn exec_subjects(
        &mut self,
        rops: Vec<RopRequest>,
        handles: Vec<u32>,
    ) -> (Vec<RopResponse>, Vec<u32>) {
        self.exec_with_columns(rops, handles, |_, _| Some(vec![tags::PidTagSubject]))
            .await
    }

    /// NotificationWait (MS-OXCMAPIHTTP 2.2.4.4): EventPending.
    async fn notification_wait(&mut self) -> u32 {
        let r = self
            .m
            .post("NotificationWait", Bytes8::default().u32(0).u32(0).done())
            .await;
        assert_eq!(r.response_code(), Some(0));
        let mut b = Rd(r.mapi_body());
        assert_eq!(b.u32(), 0, "StatusCode");
        assert_eq!(b.u32(), 0, "ErrorCode");
        let pending = b.u32();
        assert_eq!(b.u32(), 0, "AuxiliaryBufferSize");
        b.end();
        pending
    }
}

#[tokio::test]
async fn delivery_is_announced_by_notification_wait_and_sent_with_the_next_execute() {
    let ts = start().await;
    let store = ts.server.store();
    let inbox = store.special_folder(ts.alice.id, 5).unwrap().unwrap();
    let mut alice = Session::open(&ts, &ts.alice, ALICE_PASSWORD).await;
    let (r, h) = alice
        .exec_subjects(
            vec![
                OpenFolderRequest {
                    logon_id: 0,
                    input_handle_index: 0,
                    output_handle_index: 1,
                    folder_id: FolderId(inbox),
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
                    property_tags: vec![tags::PidTagSubject],
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
            ],
            vec![alice.logon, NULL, NULL],
        )
        .await;
    assert_eq!(r.len(), 4, "{r:?}");
    let table = h[2];
    assert_eq!(alice.notification_wait().await, 0, "nothing happened yet");

    let mut bob = Session::open(&ts, &ts.bob, BOB_PASSWORD).await;
    let outbox = store.special_folder(ts.bob.id, 6).unwrap().unwrap();
    let row = RecipientRow {
        flags: rf::TYPE_SMTP | rf::EMAIL | rf::DISPLAY | rf::UNICODE,
        x500: None,
        entry_id: None,
        search_key: None,
        address_type: None,
        email_address: Some(ts.alice.smtp.clone()),
        display_name: Some("Alice".into()),
        simple_display_name: None,
        transmittable_display_name: None,
        column_count: 0,
        properties: PropertyRow::from_values(vec![]),
    };
    let (r, _) = bob
        .exec_subjects(
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
                        PropertyValue::Unicode("ping".into()),
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
            vec![bob.logon, NULL],
        )
        .await;
    assert_eq!(r.len(), 4, "Bob has no tables open: {r:?}");

    assert_eq!(alice.notification_wait().await, 1, "EventPending");
    let (r, _) = alice
        .exec_subjects(
            vec![
                QueryPositionRequest {
                    logon_id: 0,
                    input_handle_index: 0,
                }
                .into(),
            ],
            vec![table],
        )
        .await;
    let [RopResponse::QueryPosition(_), RopResponse::Notify(n)] = r.as_slice() else {
        panic!("the answer, then the notification: {r:?}")
    };
    assert_eq!(n.notification_handle, table);
    assert_eq!(n.logon_id, 0);
    assert_eq!(n.data.notification_type, NotificationType::TableModified);
    assert_eq!(n.data.table_event, Some(TableEventType::TableChanged));
    assert_eq!(alice.notification_wait().await, 0, "delivered");
    ts.server.shutdown().await;
}
