//! Message, attachment, stream, named-property and submit ROPs through
//! `MailboxContext::execute`, with requests encoded and responses decoded by
//! `oxmapi_wire::rop` (plus a hand-built known-answer buffer).

use oxmapi_wire::data::{
    ErrorCode, FolderId, MessageId, PropertyRow, PropertyTag, PropertyType, PropertyValue,
    RowValue, TaggedPropertyValue, tags,
};
use oxmapi_wire::rop::{
    CommitStreamRequest, CreateAttachmentRequest, CreateMessageRequest, DeleteMessagesRequest,
    DeletePropertiesRequest, GetAttachmentTableRequest, GetNamesFromPropertyIdsRequest,
    GetPropertiesAllRequest, GetPropertiesListRequest, GetPropertiesSpecificRequest,
    GetPropertyIdsFromNamesRequest, GetStreamSizeRequest, LogonRequest, ModifyRecipientRow,
    ModifyRecipientsRequest, MoveCopyMessagesRequest, OpenAttachmentRequest,
    OpenEmbeddedMessageRequest, OpenFolderRequest, OpenMessageRequest, OpenStreamRequest,
    PropertyName, PropertyNameKind, QueryRowsRequest, ReadRecipientsRequest, ReadStreamRequest,
    RecipientRow, ReleaseRequest, RopRequest, RopRequestBuffer, RopResponse, RopResponseBuffer,
    SaveChangesAttachmentRequest, SaveChangesMessageRequest, SeekStreamRequest, SetColumnsRequest,
    SetPropertiesRequest, SetReadFlagsRequest, SetStreamSizeRequest, SubmitMessageRequest,
    WriteStreamRequest, X500Info, recipient_flags as rf,
};
use oxmapi_wire::rpcext::{PackOptions, pack_segment, unpack_segments};

use super::MailboxContext;
use crate::store::deliver::SubmitHooks;
use crate::store::messages::{self as m, KIND_ATTACHMENT};
use crate::store::{Store, UserRecord};

const NULL: u32 = 0xFFFF_FFFF;
const INBOX: i64 = 5;
const OUTBOX: i64 = 6;
const SENT: i64 = 7;
const DRAFTS: i64 = 25;

struct T {
    _dir: tempfile::TempDir,
    store: Store,
    alice: UserRecord,
    bob: UserRecord,
    carol: UserRecord,
    ctx: MailboxContext,
    logon: u32,
}

fn setup() -> T {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    store.init_org("Org", "example.test", false).expect("org");
    let alice = store
        .add_user("alice", "Alice Example", "pw")
        .expect("alice");
    let bob = store.add_user("bob", "Bob Builder", "pw").expect("bob");
    let carol = store.add_user("carol", "Carol Jones", "pw").expect("carol");
    let ctx = MailboxContext::new(alice.clone(), store.clone(), false);
    let mut t = T {
        _dir: dir,
        store,
        alice,
        bob,
        carol,
        ctx,
        logon: 0,
    };
    let logon = LogonRequest {
        logon_id: 0,
        output_handle_index: 0,
        logon_flags: 0x01,
        open_flags: 0x0100_000C,
        store_state: 0,
        essdn: Some(t.alice.legacy_dn.clone()),
    };
    let (r, h) = t.exec(vec![logon.into()], vec![NULL], None);
    assert!(matches!(r[0], RopResponse::LogonPrivate(_)), "{r:?}");
    t.logon = h[0];
    t
}

impl T {
    /// One Execute: encodes the buffer, runs it, decodes the responses.
    fn exec(
        &mut self,
        rops: Vec<RopRequest>,
        handles: Vec<u32>,
        recipient_columns: Option<Vec<PropertyTag>>,
    ) -> (Vec<RopResponse>, Vec<u32>) {
        let req = RopRequestBuffer { rops, handles };
        let payload = req.to_bytes().expect("encode");
        let out = self.exec_raw(&payload).expect("execute");
        let segs = unpack_segments(&out).expect("rgbOut");
        assert_eq!(segs.len(), 1);
        let contexts = req
            .response_contexts(|_, _| recipient_columns.clone())
            .expect("contexts");
        let resp = RopResponseBuffer::decode(&segs[0].payload, &contexts).expect("decode");
        (resp.rops, resp.handles)
    }

    fn exec_raw(&mut self, payload: &[u8]) -> Result<Vec<u8>, ErrorCode> {
        let seg = pack_segment(
            payload,
            PackOptions {
                compress: false,
                xor: false,
                last: true,
            },
        )
        .expect("pack");
        self.ctx.execute(0x3, &seg, 0x40000)
    }

    fn fid(&self, user: &UserRecord, special: i64) -> u64 {
        self.store
            .special_folder(user.id, special)
            .expect("sql")
            .expect("folder")
    }

    fn count(&self, user: &UserRecord, special: i64) -> i64 {
        let fid = self.fid(user, special) as i64;
        self.store
            .with_conn(|c| {
                Ok(c.query_row(
                    "SELECT COUNT(*) FROM messages WHERE mailbox_id = ?1 AND fid = ?2",
                    [user.id, fid],
                    |r| r.get(0),
                )?)
            })
            .expect("count")
    }

    /// One ROP on one object handle (slot 0), output (if any) to slot 1.
    fn on(&mut self, h: u32, rop: RopRequest) -> (RopResponse, u32) {
        let (mut r, hs) = self.exec(vec![rop], vec![h, NULL], None);
        (r.remove(0), hs[1])
    }

    fn create(&mut self, special: i64) -> (u32, u64) {
        let fid = self.fid(&self.alice.clone(), special);
        let (r, h) = self.on(
            self.logon,
            CreateMessageRequest {
                logon_id: 0,
                input_handle_index: 0,
                output_handle_index: 1,
                code_page_id: 0x0FFF,
                folder_id: FolderId(fid),
                associated_flag: 0,
            }
            .into(),
        );
        let RopResponse::CreateMessage(c) = r else {
            panic!("create: {r:?}")
        };
        (h, c.message_id.expect("mid").0)
    }

    fn open(&mut self, special: i64, mid: u64, mode: u8) -> (u32, RopResponse) {
        let fid = self.fid(&self.alice.clone(), special);
        let (r, h) = self.on(
            self.logon,
            OpenMessageRequest {
                logon_id: 0,
                input_handle_index: 0,
                output_handle_index: 1,
                code_page_id: 0x0FFF,
                folder_id: FolderId(fid),
                open_mode_flags: mode,
                message_id: MessageId(mid),
            }
            .into(),
        );
        (h, r)
    }

    fn set(&mut self, h: u32, values: Vec<(PropertyTag, PropertyValue)>) {
        let values = values
            .into_iter()
            .map(|(t, v)| TaggedPropertyValue::new(t, v))
            .collect();
        let (r, _) = self.on(
            h,
            SetPropertiesRequest {
                logon_id: 0,
                input_handle_index: 0,
                values,
            }
            .into(),
        );
        assert_eq!(r.return_value(), Some(ErrorCode::SUCCESS), "{r:?}");
    }

    fn get(&mut self, h: u32, tags: &[PropertyTag], limit: u16) -> Vec<RowValue> {
        let (r, _) = self.on(
            h,
            GetPropertiesSpecificRequest {
                logon_id: 0,
                input_handle_index: 0,
                property_size_limit: limit,
                want_unicode: 1,
                property_tags: tags.to_vec(),
            }
            .into(),
        );
        let RopResponse::GetPropertiesSpecific(g) = r else {
            panic!("get: {r:?}")
        };
        g.row.values
    }

    fn save(&mut self, h: u32) -> u64 {
        let (r, _) = self.on(
            h,
            SaveChangesMessageRequest {
                logon_id: 0,
                response_handle_index: 0,
                input_handle_index: 0,
                save_flags: 0x02,
            }
            .into(),
        );
        let RopResponse::SaveChangesMessage(s) = r else {
            panic!("save: {r:?}")
        };
        s.message_id.0
    }

    fn release(&mut self, h: u32) {
        let (r, _) = self.exec(
            vec![
                ReleaseRequest {
                    logon_id: 0,
                    input_handle_index: 0,
                }
                .into(),
            ],
            vec![h],
            None,
        );
        assert!(r.is_empty());
    }

    fn recipients(&mut self, h: u32, rows: Vec<ModifyRecipientRow>) {
        let (r, _) = self.on(
            h,
            ModifyRecipientsRequest {
                logon_id: 0,
                input_handle_index: 0,
                recipient_columns: vec![tags::PidTagSmtpAddress],
                rows,
            }
            .into(),
        );
        assert_eq!(r.return_value(), Some(ErrorCode::SUCCESS), "{r:?}");
    }
}

fn s(v: &str) -> PropertyValue {
    PropertyValue::Unicode(v.into())
}

/// An SMTP recipient row (MS-OXCDATA 2.8.3.2: Type SMTP, E, D, U; one column).
fn smtp_row(row_id: u32, ty: u8, name: &str, addr: &str) -> ModifyRecipientRow {
    ModifyRecipientRow {
        row_id,
        recipient_type: ty,
        row: Some(RecipientRow {
            flags: rf::TYPE_SMTP | rf::EMAIL | rf::DISPLAY | rf::UNICODE,
            x500: None,
            entry_id: None,
            search_key: None,
            address_type: None,
            email_address: Some(addr.into()),
            display_name: Some(name.into()),
            simple_display_name: None,
            transmittable_display_name: None,
            column_count: 1,
            properties: PropertyRow::from_values(vec![RowValue::Value(s(addr))]),
        }),
    }
}

/// An X500DN recipient row (Type X500DN, D, U, no columns).
fn x500_row(row_id: u32, name: &str, dn: &str) -> ModifyRecipientRow {
    ModifyRecipientRow {
        row_id,
        recipient_type: 1,
        row: Some(RecipientRow {
            flags: rf::TYPE_X500DN | rf::DISPLAY | rf::UNICODE,
            x500: Some(X500Info {
                address_prefix_used: 0,
                display_type: 0,
                x500_dn: dn.into(),
            }),
            entry_id: None,
            search_key: None,
            address_type: None,
            email_address: None,
            display_name: Some(name.into()),
            simple_display_name: None,
            transmittable_display_name: None,
            column_count: 0,
            properties: PropertyRow::from_values(vec![]),
        }),
    }
}

fn value(v: &RowValue) -> &PropertyValue {
    v.value().unwrap_or_else(|| panic!("no value: {v:?}"))
}

#[test]
fn create_is_uncommitted_until_saved_then_reads_back() {
    let mut t = setup();
    let (h, mid) = t.create(DRAFTS);
    // MS-OXCMSG 3.2.5.2 initial values.
    let v = t.get(
        h,
        &[
            tags::PidTagMessageClass,
            tags::PidTagImportance,
            tags::PidTagMessageFlags,
        ],
        0,
    );
    assert_eq!(value(&v[0]), &s("IPM.Note"));
    assert_eq!(value(&v[1]), &PropertyValue::Int32(1));
    assert_eq!(value(&v[2]), &PropertyValue::Int32(0x9));
    t.set(
        h,
        vec![
            (tags::PidTagSubject, s("Hello")),
            (tags::PidTagBody, s("Body text")),
        ],
    );
    t.recipients(
        h,
        vec![
            smtp_row(0, 1, "Bob Builder", "bob@example.test"),
            x500_row(1, "Carol Jones", &t.carol.legacy_dn.clone()),
        ],
    );
    assert_eq!(
        t.count(&t.alice.clone(), DRAFTS),
        0,
        "nothing committed before the save"
    );
    assert_eq!(t.save(h), mid);
    assert_eq!(t.count(&t.alice.clone(), DRAFTS), 1);
    t.release(h);

    let (h, r) = t.open(DRAFTS, mid, 0x00);
    let RopResponse::OpenMessage(o) = r else {
        panic!("{r:?}")
    };
    assert_eq!(
        o.normalized_subject,
        oxmapi_wire::rop::TypedString::Unicode("Hello".into())
    );
    assert_eq!(o.recipient_count, 2);
    assert_eq!(o.recipient_rows.len(), 2);
    let bob = &o.recipient_rows[0].row;
    assert_eq!(bob.flags & rf::TYPE_MASK, rf::TYPE_SMTP);
    assert_eq!(bob.email_address.as_deref(), Some("bob@example.test"));
    assert_eq!(bob.display_name.as_deref(), Some("Bob Builder"));
    let carol = &o.recipient_rows[1].row;
    assert_eq!(
        carol.x500.as_ref().map(|x| x.x500_dn.as_str()),
        Some(t.carol.legacy_dn.as_str())
    );

    let v = t.get(
        h,
        &[
            tags::PidTagSubject,
            tags::PidTagBody,
            tags::PidTagMid,
            tags::PidTagHasAttachments,
            tags::PidTagDisplayTo,
            tags::PidTagMessageSize,
        ],
        0,
    );
    assert_eq!(value(&v[0]), &s("Hello"));
    assert_eq!(value(&v[1]), &s("Body text"));
    assert_eq!(value(&v[2]), &PropertyValue::Int64(mid as i64));
    assert_eq!(value(&v[3]), &PropertyValue::Boolean(false));
    assert_eq!(value(&v[4]), &s("Bob Builder; Carol Jones"));
    assert!(matches!(value(&v[5]), PropertyValue::Int32(n) if *n > 20));

    // RopReadRecipients from RowId 1 with the OpenMessage columns.
    let cols = o.recipient_columns.clone();
    let (r, _) = t.exec(
        vec![
            ReadRecipientsRequest {
                logon_id: 0,
                input_handle_index: 0,
                row_id: 1,
                reserved: 0,
            }
            .into(),
        ],
        vec![h],
        Some(cols),
    );
    let RopResponse::ReadRecipients(rr) = &r[0] else {
        panic!("{r:?}")
    };
    assert_eq!(rr.rows.len(), 1);
    assert_eq!(rr.rows[0].row_id, 1);
    assert_eq!(rr.rows[0].row.display_name.as_deref(), Some("Carol Jones"));

    // A read-only message refuses changes.
    let (r, _) = t.on(
        h,
        SetPropertiesRequest {
            logon_id: 0,
            input_handle_index: 0,
            values: vec![TaggedPropertyValue::new(tags::PidTagSubject, s("x"))],
        }
        .into(),
    );
    assert_eq!(r.return_value(), Some(ErrorCode::NO_ACCESS));

    // GetPropertiesList / All include stored and computed values.
    let (r, _) = t.on(
        h,
        GetPropertiesListRequest {
            logon_id: 0,
            input_handle_index: 0,
        }
        .into(),
    );
    let RopResponse::GetPropertiesList(l) = r else {
        panic!("{r:?}")
    };
    assert!(l.property_tags.contains(&tags::PidTagSubject));
    assert!(
        l.property_tags
            .iter()
            .any(|t| t.id() == tags::PidTagMessageSize.id())
    );
    let (r, _) = t.on(
        h,
        GetPropertiesAllRequest {
            logon_id: 0,
            input_handle_index: 0,
            property_size_limit: 0,
            want_unicode: 1,
        }
        .into(),
    );
    let RopResponse::GetPropertiesAll(a) = r else {
        panic!("{r:?}")
    };
    assert!(
        a.values
            .iter()
            .any(|v| v.tag == tags::PidTagBody && v.value == s("Body text"))
    );
}

/// RecipientColumns naming a property the RecipientRow carries in its own fields
/// (MS-OXCDATA 2.8.3.2) are refused with ecInvalidParam, as gromox 3.10 refuses them, and
/// nothing is changed; any property type of those IDs is refused.
#[test]
fn modify_recipients_refuses_row_field_columns() {
    let mut t = setup();
    let (h, _) = t.create(DRAFTS);
    let forbidden = [
        tags::PidTagAddressType,
        tags::PidTagDisplayName,
        tags::PidTagEmailAddress,
        tags::PidTagEntryId,
        tags::PidTagInstanceKey,
        tags::PidTagRecipientType,
        PropertyTag(0x300B_0102), // PidTagSearchKey
        PropertyTag(0x3A40_000B), // PidTagSendRichInfo
        PropertyTag(0x3A20_001F), // PidTagTransmittableDisplayName
        PropertyTag(0x3001_001E), // PidTagDisplayName as PtypString8
    ];
    for tag in forbidden {
        let mut row = smtp_row(0, 1, "Bob Builder", "bob@example.test");
        if let Some(r) = row.row.as_mut() {
            r.column_count = 2;
            r.properties = PropertyRow::from_values(vec![
                RowValue::Value(s("bob@example.test")),
                RowValue::NotFound(tag.ty()),
            ]);
        }
        let (r, _) = t.on(
            h,
            ModifyRecipientsRequest {
                logon_id: 0,
                input_handle_index: 0,
                recipient_columns: vec![tags::PidTagSmtpAddress, tag],
                rows: vec![row],
            }
            .into(),
        );
        assert_eq!(
            r.return_value(),
            Some(ErrorCode::INVALID_PARAMETER),
            "{tag:?}: {r:?}"
        );
    }
    // Nothing was stored: RopReadRecipients finds no recipients (MS-OXCMSG 3.2.5.6).
    let (r, _) = t.exec(
        vec![
            ReadRecipientsRequest {
                logon_id: 0,
                input_handle_index: 0,
                row_id: 0,
                reserved: 0,
            }
            .into(),
        ],
        vec![h],
        Some(vec![tags::PidTagSmtpAddress]),
    );
    assert_eq!(r[0].return_value(), Some(ErrorCode::NOT_FOUND), "{r:?}");
}

/// The recipients a client sends the way MS-OXCDATA 2.8.3.2 lays them out (identity in the
/// row fields, only other properties as columns) read back with their display name, address,
/// type, and an EntryId and SearchKey the server derives from the row.
#[test]
fn modify_recipients_derives_entry_id_and_search_key_from_the_row() {
    let mut t = setup();
    let (h, mid) = t.create(DRAFTS);
    let columns = vec![
        tags::PidTagSmtpAddress,
        PropertyTag(0x5FF6_001F), // PidTagRecipientDisplayName
        tags::PidTagDisplayType,
        tags::PidTagObjectType,
    ];
    let carol_dn = t.carol.legacy_dn.clone();
    let mut carol = x500_row(0, "Carol Jones", &carol_dn);
    let mut one_off = smtp_row(1, 2, "Dan Outside", "dan@outside.example");
    for (row, smtp, name) in [
        (&mut carol, "carol@example.test", "Carol Jones"),
        (&mut one_off, "dan@outside.example", "Dan Outside"),
    ] {
        if let Some(r) = row.row.as_mut() {
            r.flags |= rf::SAME;
            r.column_count = 4;
            r.properties = PropertyRow::from_values(vec![
                RowValue::Value(s(smtp)),
                RowValue::Value(s(name)),
                RowValue::Value(PropertyValue::Int32(0)),
                RowValue::Value(PropertyValue::Int32(6)),
            ]);
        }
    }
    if let Some(r) = one_off.row.as_mut() {
        r.flags |= rf::NON_RICH;
    }
    let (r, _) = t.on(
        h,
        ModifyRecipientsRequest {
            logon_id: 0,
            input_handle_index: 0,
            recipient_columns: columns,
            rows: vec![carol, one_off],
        }
        .into(),
    );
    assert_eq!(r.return_value(), Some(ErrorCode::SUCCESS), "{r:?}");
    assert_eq!(t.save(h), mid);
    t.release(h);

    let (h, r) = t.open(DRAFTS, mid, 0x00);
    let RopResponse::OpenMessage(o) = r else {
        panic!("{r:?}")
    };
    let cols = o.recipient_columns.clone();
    let cell = |row: &RecipientRow, tag: PropertyTag| -> Option<PropertyValue> {
        let i = cols.iter().position(|c| c.id() == tag.id())?;
        row.properties.values.get(i)?.value().cloned()
    };
    assert_eq!(o.recipient_rows.len(), 2);
    let c = &o.recipient_rows[0];
    assert_eq!(c.recipient_type, 1);
    assert_eq!(c.row.display_name.as_deref(), Some("Carol Jones"));
    assert_eq!(
        c.row.x500.as_ref().map(|x| x.x500_dn.as_str()),
        Some(carol_dn.as_str())
    );
    assert_eq!(c.row.flags & rf::SAME, rf::SAME);
    assert_eq!(c.row.flags & rf::NON_RICH, 0);
    assert_eq!(
        cell(&c.row, tags::PidTagSmtpAddress),
        Some(s("carol@example.test"))
    );
    let Some(PropertyValue::Binary(eid)) = cell(&c.row, tags::PidTagEntryId) else {
        panic!("carol has no EntryId: {c:?}")
    };
    // MS-OXCDATA 2.2.5.2 Address Book EntryID: Flags, ProviderUID, Version 1, Type 0, DN.
    assert_eq!(&eid[4..8], &[0xDC, 0xA7, 0x40, 0xC8]);
    assert!(eid.ends_with(format!("{carol_dn}\0").as_bytes()));
    let key = format!("EX:{}\0", carol_dn.to_uppercase());
    assert_eq!(
        cell(&c.row, PropertyTag(0x300B_0102)),
        Some(PropertyValue::Binary(key.into_bytes()))
    );

    let d = &o.recipient_rows[1];
    assert_eq!(d.recipient_type, 2);
    assert_eq!(d.row.flags & rf::TYPE_MASK, rf::TYPE_SMTP);
    assert_eq!(d.row.flags & rf::NON_RICH, rf::NON_RICH);
    assert_eq!(d.row.email_address.as_deref(), Some("dan@outside.example"));
    assert_eq!(d.row.display_name.as_deref(), Some("Dan Outside"));
    let Some(PropertyValue::Binary(eid)) = cell(&d.row, tags::PidTagEntryId) else {
        panic!("the one-off has no EntryId: {d:?}")
    };
    // MS-OXCDATA 2.2.5.1 One-Off EntryID: MAPI_ONE_OFF_UID.
    assert_eq!(&eid[4..8], &[0x81, 0x2B, 0x1F, 0xA4]);
    assert_eq!(
        cell(&d.row, PropertyTag(0x300B_0102)),
        Some(PropertyValue::Binary(
            b"SMTP:DAN@OUTSIDE.EXAMPLE\0".to_vec()
        ))
    );
    // The display lists come from the stored names.
    let v = t.get(h, &[tags::PidTagDisplayTo, tags::PidTagDisplayCc], 0);
    assert_eq!(value(&v[0]), &s("Carol Jones"));
    assert_eq!(value(&v[1]), &s("Dan Outside"));
}

#[test]
fn release_without_save_discards_and_delete_properties_commits_on_save() {
    let mut t = setup();
    let (h, _) = t.create(DRAFTS);
    t.set(h, vec![(tags::PidTagSubject, s("draft"))]);
    t.release(h);
    assert_eq!(t.count(&t.alice.clone(), DRAFTS), 0);
    let leftovers: i64 = t
        .store
        .with_conn(|c| {
            Ok(
                c.query_row("SELECT COUNT(*) FROM props WHERE object_id < 0", [], |r| {
                    r.get(0)
                })?,
            )
        })
        .expect("sql");
    assert_eq!(leftovers, 0, "the working copy is dropped");

    let (h, mid) = t.create(DRAFTS);
    t.set(
        h,
        vec![
            (tags::PidTagSubject, s("keep")),
            (tags::PidTagComment, s("drop me")),
        ],
    );
    t.save(h);
    t.release(h);
    let (h, _) = t.open(DRAFTS, mid, 0x01);
    let (r, _) = t.on(
        h,
        DeletePropertiesRequest {
            logon_id: 0,
            input_handle_index: 0,
            property_tags: vec![tags::PidTagComment],
        }
        .into(),
    );
    assert_eq!(r.return_value(), Some(ErrorCode::SUCCESS));
    // Another reader still sees the committed value until the save.
    let (h2, _) = t.open(DRAFTS, mid, 0x00);
    assert_eq!(
        value(&t.get(h2, &[tags::PidTagComment], 0)[0]),
        &s("drop me")
    );
    t.save(h);
    assert_eq!(
        t.get(h2, &[tags::PidTagComment], 0)[0],
        RowValue::Error(PropertyType::UNICODE, ErrorCode::NOT_FOUND)
    );
    assert_eq!(value(&t.get(h2, &[tags::PidTagSubject], 0)[0]), &s("keep"));
}

/// The pattern byte at offset `i` of the big attachment.
fn pattern(i: u64) -> u8 {
    (i.wrapping_mul(31) ^ (i >> 9)) as u8
}

#[test]
fn five_mb_attachment_streams_in_chunks() {
    const SIZE: u64 = 5 * 1024 * 1024;
    const PIECE: usize = 15_000;
    let mut t = setup();
    let (msg, mid) = t.create(DRAFTS);
    t.set(msg, vec![(tags::PidTagSubject, s("big"))]);
    let (r, att) = t.on(
        msg,
        CreateAttachmentRequest {
            logon_id: 0,
            input_handle_index: 0,
            output_handle_index: 1,
        }
        .into(),
    );
    let RopResponse::CreateAttachment(c) = r else {
        panic!("{r:?}")
    };
    assert_eq!(c.attachment_id, 0);
    t.set(
        att,
        vec![
            (tags::PidTagAttachLongFilename, s("big.bin")),
            (tags::PidTagAttachMethod, PropertyValue::Int32(1)),
        ],
    );
    let (r, stream) = t.on(
        att,
        OpenStreamRequest {
            logon_id: 0,
            input_handle_index: 0,
            output_handle_index: 1,
            property_tag: tags::PidTagAttachDataBinary,
            open_mode_flags: 0x02,
        }
        .into(),
    );
    assert!(
        matches!(r, RopResponse::OpenStream(ref o) if o.stream_size == 0),
        "{r:?}"
    );
    // Two WriteStream ROPs per Execute; the test never holds the whole value either.
    let mut off = 0u64;
    while off < SIZE {
        let mut rops = Vec::new();
        for _ in 0..2 {
            let n = PIECE.min((SIZE - off) as usize);
            if n == 0 {
                break;
            }
            let data = (off..off + n as u64).map(pattern).collect();
            rops.push(
                WriteStreamRequest {
                    logon_id: 0,
                    input_handle_index: 0,
                    data,
                }
                .into(),
            );
            off += n as u64;
        }
        let (r, _) = t.exec(rops, vec![stream], None);
        for x in &r {
            assert!(
                matches!(x, RopResponse::WriteStream(w) if w.written_size as usize == PIECE || off == SIZE),
                "{x:?}"
            );
        }
    }
    let (r, _) = t.on(
        stream,
        CommitStreamRequest {
            logon_id: 0,
            input_handle_index: 0,
        }
        .into(),
    );
    assert_eq!(r.return_value(), Some(ErrorCode::SUCCESS));
    let (r, _) = t.on(
        stream,
        GetStreamSizeRequest {
            logon_id: 0,
            input_handle_index: 0,
        }
        .into(),
    );
    assert!(
        matches!(r, RopResponse::GetStreamSize(g) if u64::from(g.stream_size) == SIZE),
        "{r:?}"
    );
    t.release(stream);
    let (r, _) = t.on(
        att,
        SaveChangesAttachmentRequest {
            logon_id: 0,
            response_handle_index: 0,
            input_handle_index: 0,
            save_flags: 0,
        }
        .into(),
    );
    assert_eq!(r.return_value(), Some(ErrorCode::SUCCESS));
    t.release(att);
    t.save(msg);
    t.release(msg);

    // Stored as 64 KiB rows, never as one value.
    let (rows, max_len): (i64, i64) = t
        .store
        .with_conn(|c| {
            Ok(c.query_row(
                "SELECT COUNT(*), MAX(length(data)) FROM blobs WHERE kind = ?1 AND tag = ?2",
                [KIND_ATTACHMENT, i64::from(tags::PidTagAttachDataBinary.0)],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?)
        })
        .expect("sql");
    assert_eq!(rows as u64, SIZE.div_ceil(m::CHUNK as u64));
    assert_eq!(max_len as usize, m::CHUNK);

    // Read back: table, attachment, ecMAPIOOM for the big value, then the stream.
    let (msg, _) = t.open(DRAFTS, mid, 0x00);
    let cols = vec![
        tags::PidTagAttachNumber,
        tags::PidTagAttachSize,
        tags::PidTagAttachLongFilename,
    ];
    let (r, _) = t.exec(
        vec![
            GetAttachmentTableRequest {
                logon_id: 0,
                input_handle_index: 0,
                output_handle_index: 1,
                table_flags: 0x40,
            }
            .into(),
            SetColumnsRequest {
                logon_id: 0,
                input_handle_index: 1,
                set_columns_flags: 0,
                property_tags: cols.clone(),
            }
            .into(),
            QueryRowsRequest {
                logon_id: 0,
                input_handle_index: 1,
                query_rows_flags: 0,
                forward_read: 1,
                row_count: 10,
            }
            .into(),
        ],
        vec![msg, NULL],
        None,
    );
    let RopResponse::QueryRows(q) = &r[2] else {
        panic!("{r:?}")
    };
    assert_eq!(q.rows.len(), 1);
    assert_eq!(
        q.rows[0].values[0],
        RowValue::Value(PropertyValue::Int32(0))
    );
    assert!(
        matches!(q.rows[0].values[1], RowValue::Value(PropertyValue::Int32(n)) if n as u64 >= SIZE)
    );
    assert_eq!(q.rows[0].values[2], RowValue::Value(s("big.bin")));
    assert_eq!(
        value(&t.get(msg, &[tags::PidTagHasAttachments], 0)[0]),
        &PropertyValue::Boolean(true)
    );

    let (r, att) = t.on(
        msg,
        OpenAttachmentRequest {
            logon_id: 0,
            input_handle_index: 0,
            output_handle_index: 1,
            open_attachment_flags: 0,
            attachment_id: 0,
        }
        .into(),
    );
    assert!(matches!(r, RopResponse::OpenAttachment(_)), "{r:?}");
    let v = t.get(
        att,
        &[tags::PidTagAttachDataBinary, tags::PidTagAttachLongFilename],
        0,
    );
    assert_eq!(
        v[0],
        RowValue::Error(PropertyType::BINARY, ErrorCode::NOT_ENOUGH_MEMORY)
    );
    assert_eq!(value(&v[1]), &s("big.bin"));
    let (r, stream) = t.on(
        att,
        OpenStreamRequest {
            logon_id: 0,
            input_handle_index: 0,
            output_handle_index: 1,
            property_tag: tags::PidTagAttachDataBinary,
            open_mode_flags: 0,
        }
        .into(),
    );
    assert!(
        matches!(r, RopResponse::OpenStream(ref o) if u64::from(o.stream_size) == SIZE),
        "{r:?}"
    );
    let mut got = 0u64;
    while got < SIZE {
        let (r, _) = t.on(
            stream,
            ReadStreamRequest {
                logon_id: 0,
                input_handle_index: 0,
                byte_count: 0xBABE,
                maximum_byte_count: Some(30_000),
            }
            .into(),
        );
        let RopResponse::ReadStream(d) = r else {
            panic!("{r:?}")
        };
        assert!(!d.data.is_empty());
        for (i, b) in d.data.iter().enumerate() {
            assert_eq!(*b, pattern(got + i as u64), "byte {}", got + i as u64);
        }
        got += d.data.len() as u64;
    }
    assert_eq!(got, SIZE);
    let (r, _) = t.on(
        stream,
        ReadStreamRequest {
            logon_id: 0,
            input_handle_index: 0,
            byte_count: 100,
            maximum_byte_count: None,
        }
        .into(),
    );
    assert!(
        matches!(r, RopResponse::ReadStream(ref d) if d.data.is_empty()),
        "{r:?}"
    );
    // Seek into the middle, across a chunk boundary.
    let at = 65_536 * 3 - 10;
    let (r, _) = t.on(
        stream,
        SeekStreamRequest {
            logon_id: 0,
            input_handle_index: 0,
            origin: 0,
            offset: at as i64,
        }
        .into(),
    );
    assert!(
        matches!(r, RopResponse::SeekStream(ref p) if p.new_position == at),
        "{r:?}"
    );
    let (r, _) = t.on(
        stream,
        ReadStreamRequest {
            logon_id: 0,
            input_handle_index: 0,
            byte_count: 20,
            maximum_byte_count: None,
        }
        .into(),
    );
    let RopResponse::ReadStream(d) = r else {
        panic!("{r:?}")
    };
    assert_eq!(d.data, (at..at + 20).map(pattern).collect::<Vec<_>>());
    // A read-only stream refuses writes and size changes.
    let (r, _) = t.on(
        stream,
        SetStreamSizeRequest {
            logon_id: 0,
            input_handle_index: 0,
            stream_size: 10,
        }
        .into(),
    );
    assert_eq!(r.return_value(), Some(ErrorCode(0x8003_0005)));
}

#[test]
fn stream_over_small_value_truncate_and_size_limit() {
    let mut t = setup();
    let (h, _) = t.create(DRAFTS);
    t.set(h, vec![(tags::PidTagBody, s("short body"))]);
    // Read-write stream over an inline value: it keeps the value, then grows past the
    // inline limit; GetPropertiesSpecific then answers ecMAPIOOM.
    let (r, st) = t.on(
        h,
        OpenStreamRequest {
            logon_id: 0,
            input_handle_index: 0,
            output_handle_index: 1,
            property_tag: tags::PidTagBody,
            open_mode_flags: 0x01,
        }
        .into(),
    );
    assert!(
        matches!(r, RopResponse::OpenStream(ref o) if o.stream_size == 20),
        "{r:?}"
    );
    let (r, _) = t.on(
        st,
        SeekStreamRequest {
            logon_id: 0,
            input_handle_index: 0,
            origin: 2,
            offset: 0,
        }
        .into(),
    );
    assert!(
        matches!(r, RopResponse::SeekStream(ref p) if p.new_position == 20),
        "{r:?}"
    );
    let more: Vec<u8> = "é"
        .repeat(10_000)
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let (r, _) = t.on(
        st,
        WriteStreamRequest {
            logon_id: 0,
            input_handle_index: 0,
            data: more,
        }
        .into(),
    );
    assert!(
        matches!(r, RopResponse::WriteStream(ref w) if w.written_size == 20_000),
        "{r:?}"
    );
    let v = t.get(h, &[tags::PidTagBody], 0);
    assert_eq!(
        v[0],
        RowValue::Error(PropertyType::UNICODE, ErrorCode::NOT_ENOUGH_MEMORY)
    );
    let v = t.get(h, &[tags::PidTagBody], 0x8000);
    let PropertyValue::Unicode(body) = value(&v[0]) else {
        panic!()
    };
    assert!(body.starts_with("short bodyé") && body.chars().count() == 10_010);
    // Truncate back to the first 5 characters.
    let (r, _) = t.on(
        st,
        SetStreamSizeRequest {
            logon_id: 0,
            input_handle_index: 0,
            stream_size: 10,
        }
        .into(),
    );
    assert_eq!(r.return_value(), Some(ErrorCode::SUCCESS));
    assert_eq!(value(&t.get(h, &[tags::PidTagBody], 0)[0]), &s("short"));
    // Seeking before the start fails: StreamSeekError (MS-OXCPRPT 3.2.5.18).
    let (r, _) = t.on(
        st,
        SeekStreamRequest {
            logon_id: 0,
            input_handle_index: 0,
            origin: 1,
            offset: -1_000_000,
        }
        .into(),
    );
    assert_eq!(r.return_value(), Some(ErrorCode(0x8003_0019)));
}

#[test]
fn embedded_message_and_delete_attachment() {
    let mut t = setup();
    let (msg, mid) = t.create(DRAFTS);
    let (_, att) = t.on(
        msg,
        CreateAttachmentRequest {
            logon_id: 0,
            input_handle_index: 0,
            output_handle_index: 1,
        }
        .into(),
    );
    let (r, emb) = t.on(
        att,
        OpenEmbeddedMessageRequest {
            logon_id: 0,
            input_handle_index: 0,
            output_handle_index: 1,
            code_page_id: 0x0FFF,
            open_mode_flags: 0x02,
        }
        .into(),
    );
    assert!(matches!(r, RopResponse::OpenEmbeddedMessage(_)), "{r:?}");
    t.set(emb, vec![(tags::PidTagSubject, s("inner"))]);
    t.save(emb);
    t.release(emb);
    t.on(
        att,
        SaveChangesAttachmentRequest {
            logon_id: 0,
            response_handle_index: 0,
            input_handle_index: 0,
            save_flags: 0,
        }
        .into(),
    );
    t.release(att);
    t.save(msg);
    t.release(msg);

    let (msg, _) = t.open(DRAFTS, mid, 0x03);
    let (_, att) = t.on(
        msg,
        OpenAttachmentRequest {
            logon_id: 0,
            input_handle_index: 0,
            output_handle_index: 1,
            open_attachment_flags: 0,
            attachment_id: 0,
        }
        .into(),
    );
    assert_eq!(
        value(&t.get(att, &[tags::PidTagAttachMethod], 0)[0]),
        &PropertyValue::Int32(5)
    );
    let (r, emb) = t.on(
        att,
        OpenEmbeddedMessageRequest {
            logon_id: 0,
            input_handle_index: 0,
            output_handle_index: 1,
            code_page_id: 0x0FFF,
            open_mode_flags: 0,
        }
        .into(),
    );
    let RopResponse::OpenEmbeddedMessage(e) = r else {
        panic!("{r:?}")
    };
    assert_eq!(
        e.info.normalized_subject,
        oxmapi_wire::rop::TypedString::Unicode("inner".into())
    );
    t.release(emb);
    t.release(att);
    let (r, _) = t.on(
        msg,
        oxmapi_wire::rop::DeleteAttachmentRequest {
            logon_id: 0,
            input_handle_index: 0,
            attachment_id: 0,
        }
        .into(),
    );
    assert_eq!(r.return_value(), Some(ErrorCode::SUCCESS));
    t.save(msg);
    assert_eq!(
        value(&t.get(msg, &[tags::PidTagHasAttachments], 0)[0]),
        &PropertyValue::Boolean(false)
    );
    let left: i64 = t
        .store
        .with_conn(|c| Ok(c.query_row("SELECT COUNT(*) FROM attachments", [], |r| r.get(0))?))
        .expect("sql");
    assert_eq!(left, 0);
}

#[test]
fn named_properties_map_both_ways() {
    let mut t = setup();
    let guid = [7u8; 16];
    let names = vec![
        PropertyName {
            guid,
            kind: PropertyNameKind::Lid(0x8501),
        },
        PropertyName {
            guid,
            kind: PropertyNameKind::Name("Keywords".into()),
        },
    ];
    let req = |flags, names| GetPropertyIdsFromNamesRequest {
        logon_id: 0,
        input_handle_index: 0,
        flags,
        property_names: names,
    };
    let (r, _) = t.on(t.logon, req(0x00, names.clone()).into());
    let RopResponse::GetPropertyIdsFromNames(g) = r else {
        panic!("{r:?}")
    };
    assert_eq!(g.property_ids, vec![0, 0]);
    assert_eq!(g.return_value, ErrorCode(0x0004_0380));
    let (r, _) = t.on(t.logon, req(0x02, names.clone()).into());
    let RopResponse::GetPropertyIdsFromNames(g) = r else {
        panic!("{r:?}")
    };
    assert_eq!(g.property_ids, vec![0x8000, 0x8001]);
    assert_eq!(g.return_value, ErrorCode::SUCCESS);
    let (r, _) = t.on(t.logon, req(0x00, names[1..].to_vec()).into());
    assert!(
        matches!(r, RopResponse::GetPropertyIdsFromNames(ref g) if g.property_ids == vec![0x8001])
    );
    let (r, _) = t.on(
        t.logon,
        GetNamesFromPropertyIdsRequest {
            logon_id: 0,
            input_handle_index: 0,
            property_ids: vec![0x8001, 0x8000, 0x9999, 0x0037],
        }
        .into(),
    );
    let RopResponse::GetNamesFromPropertyIds(n) = r else {
        panic!("{r:?}")
    };
    assert_eq!(n.property_names[0], names[1]);
    assert_eq!(n.property_names[1], names[0]);
    assert_eq!(n.property_names[2].kind, PropertyNameKind::NoName);
    assert_eq!(n.property_names[3].kind, PropertyNameKind::Lid(0x37));
    // A named property is a property like any other on a message.
    let (h, _) = t.create(DRAFTS);
    let tag = PropertyTag::new(0x8001, PropertyType::UNICODE);
    t.set(h, vec![(tag, s("red"))]);
    assert_eq!(value(&t.get(h, &[tag], 0)[0]), &s("red"));
}

#[test]
fn read_flags_move_copy_and_delete() {
    let mut t = setup();
    let inbox = t.fid(&t.alice.clone(), INBOX);
    let deleted = t.fid(&t.alice.clone(), 8);
    let mut mids = Vec::new();
    for i in 0..3 {
        let (h, _) = t.create(INBOX);
        t.set(
            h,
            vec![
                (tags::PidTagSubject, s(&format!("m{i}"))),
                (tags::PidTagMessageFlags, PropertyValue::Int32(0)),
            ],
        );
        mids.push(t.save(h));
        t.release(h);
    }
    let (r, fh) = t.on(
        t.logon,
        OpenFolderRequest {
            logon_id: 0,
            input_handle_index: 0,
            output_handle_index: 1,
            folder_id: FolderId(inbox),
            open_mode_flags: 0,
        }
        .into(),
    );
    assert!(matches!(r, RopResponse::OpenFolder(_)), "{r:?}");
    let (r, _) = t.on(
        fh,
        SetReadFlagsRequest {
            logon_id: 0,
            input_handle_index: 0,
            want_asynchronous: 0,
            read_flags: 0,
            message_ids: vec![MessageId(mids[0]), MessageId(mids[1])],
        }
        .into(),
    );
    assert!(
        matches!(r, RopResponse::SetReadFlags(ref x) if x.partial_completion == 0),
        "{r:?}"
    );
    let (h, _) = t.open(INBOX, mids[1], 0);
    assert_eq!(
        value(&t.get(h, &[tags::PidTagRead], 0)[0]),
        &PropertyValue::Boolean(true)
    );
    let (h, _) = t.open(INBOX, mids[2], 0);
    assert_eq!(
        value(&t.get(h, &[tags::PidTagRead], 0)[0]),
        &PropertyValue::Boolean(false)
    );
    let (r, _) = t.exec(
        vec![
            oxmapi_wire::rop::SetMessageReadFlagRequest {
                logon_id: 0,
                response_handle_index: 0,
                input_handle_index: 0,
                read_flags: 0,
                client_data: None,
            }
            .into(),
        ],
        vec![h],
        None,
    );
    assert_eq!(r[0].return_value(), Some(ErrorCode::SUCCESS));
    assert_eq!(
        value(&t.get(h, &[tags::PidTagRead], 0)[0]),
        &PropertyValue::Boolean(true)
    );

    // Copy m0 and move m1 to Deleted Items.
    let (r, dh) = t.on(
        t.logon,
        OpenFolderRequest {
            logon_id: 0,
            input_handle_index: 0,
            output_handle_index: 1,
            folder_id: FolderId(deleted),
            open_mode_flags: 0,
        }
        .into(),
    );
    assert!(matches!(r, RopResponse::OpenFolder(_)));
    for (mid, copy) in [(mids[0], 1), (mids[1], 0)] {
        let (r, _) = t.exec(
            vec![
                MoveCopyMessagesRequest {
                    logon_id: 0,
                    source_handle_index: 0,
                    dest_handle_index: 1,
                    message_ids: vec![MessageId(mid)],
                    want_asynchronous: 0,
                    want_copy: copy,
                }
                .into(),
            ],
            vec![fh, dh],
            None,
        );
        assert!(
            matches!(r[0], RopResponse::MoveCopyMessages(ref x) if x.partial_completion == 0),
            "{r:?}"
        );
    }
    assert_eq!(t.count(&t.alice.clone(), INBOX), 2);
    assert_eq!(t.count(&t.alice.clone(), 8), 2);
    // Delete m0 and m2 from the Inbox; an unknown MID is a partial completion.
    let (r, _) = t.on(
        fh,
        DeleteMessagesRequest {
            logon_id: 0,
            input_handle_index: 0,
            want_asynchronous: 0,
            notify_non_read: 0,
            message_ids: vec![MessageId(mids[0]), MessageId(mids[2]), MessageId(12345)],
        }
        .into(),
    );
    assert!(
        matches!(r, RopResponse::DeleteMessages(ref x) if x.partial_completion == 1),
        "{r:?}"
    );
    assert_eq!(t.count(&t.alice.clone(), INBOX), 0);
    let (r, _) = t.on(
        dh,
        oxmapi_wire::rop::HardDeleteMessagesRequest {
            logon_id: 0,
            input_handle_index: 0,
            want_asynchronous: 0,
            notify_non_read: 0,
            message_ids: vec![MessageId(mids[1])],
        }
        .into(),
    );
    assert!(
        matches!(r, RopResponse::HardDeleteMessages(ref x) if x.partial_completion == 0),
        "{r:?}"
    );
    assert_eq!(t.count(&t.alice.clone(), 8), 1);
}

fn outbox_message(t: &mut T, subject: &str) -> (u32, u64) {
    let (h, mid) = t.create(OUTBOX);
    t.set(
        h,
        vec![
            (tags::PidTagSubject, s(subject)),
            (tags::PidTagSenderName, s("Mallory Spoofer")),
        ],
    );
    let carol = t.carol.display_name.clone();
    t.recipients(
        h,
        vec![
            smtp_row(0, 1, "Bob", "bob@example.test"),
            ModifyRecipientRow {
                row_id: 1,
                recipient_type: 2,
                row: Some(RecipientRow {
                    flags: rf::DISPLAY | rf::UNICODE,
                    x500: None,
                    entry_id: None,
                    search_key: None,
                    address_type: None,
                    email_address: None,
                    display_name: Some(carol),
                    simple_display_name: None,
                    transmittable_display_name: None,
                    column_count: 0,
                    properties: PropertyRow::from_values(vec![]),
                }),
            },
            smtp_row(2, 1, "Eve External", "eve@remote.example"),
        ],
    );
    (h, mid)
}

fn queue_rows(t: &T) -> i64 {
    t.store
        .with_conn(|c| Ok(c.query_row("SELECT COUNT(*) FROM outbound_queue", [], |r| r.get(0))?))
        .expect("sql")
}

#[test]
fn submit_delivers_locally_queues_external_and_moves_to_sent_items() {
    let mut t = setup();
    let (h, mid) = outbox_message(&mut t, "Lunch?");
    let (r, _) = t.on(
        h,
        SubmitMessageRequest {
            logon_id: 0,
            input_handle_index: 0,
            submit_flags: 0,
        }
        .into(),
    );
    assert_eq!(r.return_value(), Some(ErrorCode::SUCCESS), "{r:?}");
    assert_eq!(t.count(&t.bob.clone(), INBOX), 1);
    assert_eq!(t.count(&t.carol.clone(), INBOX), 1);
    assert_eq!(t.count(&t.alice.clone(), OUTBOX), 0);
    assert_eq!(t.count(&t.alice.clone(), SENT), 1);
    assert_eq!(queue_rows(&t), 1);
    // The delivered copy: unread, sender is the authenticated user, recipients kept.
    let (bob_mid, bob_props): (i64, Vec<(PropertyTag, PropertyValue)>) = t
        .store
        .with_conn(|c| {
            let mid: i64 = c.query_row(
                "SELECT mid FROM messages WHERE mailbox_id = ?1",
                [t.bob.id],
                |r| r.get(0),
            )?;
            Ok((mid, m::inline_props(c, t.bob.id, 1, mid)?))
        })
        .expect("sql");
    let get = |tag: PropertyTag| {
        bob_props
            .iter()
            .find(|(t, _)| t.id() == tag.id())
            .map(|(_, v)| v.clone())
    };
    assert_eq!(get(tags::PidTagSubject), Some(s("Lunch?")));
    assert_eq!(get(tags::PidTagSenderName), Some(s("Alice Example")));
    assert_eq!(
        get(tags::PidTagSenderSmtpAddress),
        Some(s("alice@example.test"))
    );
    assert_eq!(get(tags::PidTagMessageFlags), Some(PropertyValue::Int32(0)));
    let n: i64 = t
        .store
        .with_conn(|c| {
            Ok(c.query_row(
                "SELECT COUNT(*) FROM recipients WHERE mailbox_id = ?1 AND mid = ?2",
                [t.bob.id, bob_mid],
                |r| r.get(0),
            )?)
        })
        .expect("sql");
    assert_eq!(n, 3);
    // The sent copy is read and no longer unsent; the submit is recorded: a re-submit is a no-op.
    let again = t
        .store
        .submit_message(&t.alice, mid as i64, SubmitHooks::default())
        .expect("resubmit");
    assert!(again.already_submitted);
    assert_eq!(t.count(&t.bob.clone(), INBOX), 1);
    assert_eq!(queue_rows(&t), 1);
}

#[test]
fn submit_failure_in_the_middle_delivers_nothing() {
    let mut t = setup();
    let (h, mid) = outbox_message(&mut t, "Atomic");
    t.save(h);
    t.release(h);
    let err = t
        .store
        .submit_message(
            &t.alice,
            mid as i64,
            SubmitHooks {
                fail_after_deliveries: Some(1),
            },
        )
        .expect_err("injected");
    assert!(matches!(err, crate::store::deliver::SubmitError::Injected));
    assert_eq!(t.count(&t.bob.clone(), INBOX), 0);
    assert_eq!(t.count(&t.carol.clone(), INBOX), 0);
    assert_eq!(t.count(&t.alice.clone(), OUTBOX), 1);
    assert_eq!(queue_rows(&t), 0);
    let subs: i64 = t
        .store
        .with_conn(|c| Ok(c.query_row("SELECT COUNT(*) FROM submissions", [], |r| r.get(0))?))
        .expect("sql");
    assert_eq!(subs, 0);
    // Then it goes through once, completely.
    let ok = t
        .store
        .submit_message(&t.alice, mid as i64, SubmitHooks::default())
        .expect("submit");
    assert_eq!(ok.delivered.len(), 2);
    assert_eq!(ok.queued, vec!["eve@remote.example".to_owned()]);
    assert_eq!(t.count(&t.bob.clone(), INBOX), 1);
    assert_eq!(t.count(&t.alice.clone(), SENT), 1);
}

#[test]
fn submit_without_recipients_is_ec_no_recipients() {
    let mut t = setup();
    let (h, _) = t.create(OUTBOX);
    let (r, _) = t.on(
        h,
        SubmitMessageRequest {
            logon_id: 0,
            input_handle_index: 0,
            submit_flags: 0,
        }
        .into(),
    );
    assert_eq!(r.return_value(), Some(ErrorCode::NO_RECIPIENTS));
}

/// MS-OXCROPS 2.2.6.2.1 RopCreateMessage request and 2.2.6.2.2 response, byte by byte.
#[test]
fn create_message_known_answer() {
    let mut t = setup();
    let drafts = t.fid(&t.alice.clone(), DRAFTS);
    let mut rops = vec![0x06, 0x00, 0x00, 0x01, 0xFF, 0x0F];
    rops.extend(drafts.to_le_bytes());
    rops.push(0x00);
    let mut payload = ((rops.len() + 2) as u16).to_le_bytes().to_vec();
    payload.extend(&rops);
    payload.extend(t.logon.to_le_bytes());
    payload.extend(NULL.to_le_bytes());
    let out = t.exec_raw(&payload).expect("execute");
    let p = &unpack_segments(&out).expect("rgbOut")[0].payload;
    // RopSize 17: RopId, OutputHandleIndex 1, ReturnValue 0, HasMessageId 1, MessageId.
    assert_eq!(&p[..9], &[17, 0, 0x06, 0x01, 0, 0, 0, 0, 0x01]);
    let mid = u64::from_le_bytes(p[9..17].try_into().expect("8 bytes"));
    assert_eq!(FolderId(mid).replid(), 1);
    assert_eq!(p.len(), 17 + 8);
}

/// Every prefix of a valid message ROP buffer is ecRpcFormat or a response, never a panic.
#[test]
fn truncated_request_buffers_never_panic() {
    let mut t = setup();
    let (h, _) = t.create(DRAFTS);
    let req = RopRequestBuffer {
        rops: vec![
            SetPropertiesRequest {
                logon_id: 0,
                input_handle_index: 0,
                values: vec![TaggedPropertyValue::new(tags::PidTagSubject, s("x"))],
            }
            .into(),
            ModifyRecipientsRequest {
                logon_id: 0,
                input_handle_index: 0,
                recipient_columns: vec![tags::PidTagSmtpAddress],
                rows: vec![smtp_row(0, 1, "B", "b@x")],
            }
            .into(),
            WriteStreamRequest {
                logon_id: 0,
                input_handle_index: 1,
                data: vec![1, 2, 3],
            }
            .into(),
        ],
        handles: vec![h, NULL],
    };
    let full = req.to_bytes().expect("encode");
    let rop_len = full.len() - 8;
    for cut in 2..rop_len {
        let mut p = (cut as u16).to_le_bytes().to_vec();
        p.extend(&full[2..cut]);
        p.extend(h.to_le_bytes());
        p.extend(NULL.to_le_bytes());
        if let Err(ec) = t.exec_raw(&p) {
            assert_eq!(ec, ErrorCode::RPC_FORMAT, "cut {cut}");
        }
    }
}

#[test]
fn working_copies_left_by_a_crash_are_dropped_at_open() {
    let mut t = setup();
    let (h, _) = t.create(DRAFTS);
    t.set(h, vec![(tags::PidTagSubject, s("never saved"))]);
    let (_, att) = t.on(
        h,
        CreateAttachmentRequest {
            logon_id: 0,
            input_handle_index: 0,
            output_handle_index: 1,
        }
        .into(),
    );
    t.set(att, vec![(tags::PidTagAttachLongFilename, s("x.txt"))]);
    let count = |store: &Store| -> (i64, i64) {
        store
            .with_conn(|c| {
                Ok((
                    c.query_row("SELECT COUNT(*) FROM props WHERE object_id < 0", [], |r| {
                        r.get(0)
                    })?,
                    c.query_row("SELECT COUNT(*) FROM attachments", [], |r| r.get(0))?,
                ))
            })
            .expect("sql")
    };
    assert!(count(&t.store).0 > 0);
    assert_eq!(count(&t.store).1, 1);
    // The process "dies" with the handles open; the next start cleans up.
    let reopened = Store::open(t.store.dir()).expect("reopen");
    assert_eq!(count(&reopened), (0, 0));
}
