//! Property tests for the write-side ROPs: every request and response survives
//! encode → decode unchanged (alone and inside buffers), every strict prefix fails to decode,
//! and the failure forms with extra fields (PartialCompletion, ecDstNullObject) round-trip.

use oxmapi_wire::data::{
    ErrorCode, FolderId, MessageId, PropertyProblem, PropertyRow, PropertyTag, PropertyType,
    PropertyValue, RowValue, TaggedPropertyValue,
};
use oxmapi_wire::rop::*;
use oxmapi_wire::{Decode, Encode, ReadCursor};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::strategy::{Union, ValueTree};
use proptest::test_runner::TestRunner;

const TYPES: [u16; 5] = [0x0003, 0x000B, 0x001F, 0x0102, 0x0040];

fn value_of(ty: u16) -> BoxedStrategy<PropertyValue> {
    match ty {
        0x0003 => any::<i32>().prop_map(PropertyValue::Int32).boxed(),
        0x000B => any::<bool>().prop_map(PropertyValue::Boolean).boxed(),
        0x001F => "[a-zA-Z0-9 äé€]{0,6}"
            .prop_map(PropertyValue::Unicode)
            .boxed(),
        0x0102 => vec(any::<u8>(), 0..6)
            .prop_map(PropertyValue::Binary)
            .boxed(),
        _ => any::<u64>().prop_map(PropertyValue::Time).boxed(),
    }
}

fn columns() -> impl Strategy<Value = Vec<PropertyTag>> {
    vec((any::<u16>(), 0..TYPES.len()), 0..4).prop_map(|v| {
        v.into_iter()
            .map(|(id, i)| PropertyTag::new(id, PropertyType(TYPES[i])))
            .collect()
    })
}

fn row_for(cols: &[PropertyTag]) -> BoxedStrategy<PropertyRow> {
    let cells: Vec<BoxedStrategy<RowValue>> = cols
        .iter()
        .map(|c| {
            let t = c.ty();
            prop_oneof![
                3 => value_of(t.0).prop_map(RowValue::Value),
                1 => Just(RowValue::NotFound(t)),
            ]
            .boxed()
        })
        .collect();
    (cells, any::<bool>())
        .prop_map(|(values, f)| PropertyRow {
            flagged: f || values.iter().any(|v| v.value().is_none()),
            values,
        })
        .boxed()
}

fn tagged() -> impl Strategy<Value = TaggedPropertyValue> {
    (any::<u16>(), 0..TYPES.len()).prop_flat_map(|(id, i)| {
        value_of(TYPES[i]).prop_map(move |value| TaggedPropertyValue {
            tag: PropertyTag::new(id, PropertyType(TYPES[i])),
            value,
        })
    })
}

fn tags() -> impl Strategy<Value = Vec<PropertyTag>> {
    vec(any::<u32>().prop_map(PropertyTag), 0..5)
}

fn mids() -> impl Strategy<Value = Vec<MessageId>> {
    vec(any::<u64>().prop_map(MessageId), 0..5)
}

fn latin1() -> impl Strategy<Value = String> {
    "[ -~é]{0,12}"
}

fn unicode() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 äé€😀]{0,10}"
}

/// A flag byte and a string that encoding can represent.
fn flagged_string() -> impl Strategy<Value = (u8, String, String)> {
    prop_oneof![
        (Just(0u8), latin1(), latin1()),
        (1u8..=255, unicode(), unicode()),
    ]
}

/// A RecipientRow with a simple SMTP layout (display name, e-mail, optional transmittable).
fn recipient_row(cols: Vec<PropertyTag>) -> BoxedStrategy<RecipientRow> {
    let n = cols.len();
    (any::<bool>(), unicode(), latin1(), any::<bool>(), 0..=n)
        .prop_flat_map(move |(uni, name, email, transmit, count)| {
            use recipient_flags as rf;
            let mut flags = rf::TYPE_SMTP | rf::EMAIL | rf::DISPLAY;
            if uni {
                flags |= rf::UNICODE;
            }
            if transmit {
                flags |= rf::TRANSMITTABLE;
            }
            let display = if uni { name } else { email.clone() };
            let base = RecipientRow {
                flags,
                x500: None,
                entry_id: None,
                search_key: None,
                address_type: None,
                email_address: Some(email),
                display_name: Some(display.clone()),
                simple_display_name: None,
                transmittable_display_name: transmit.then_some(display),
                column_count: count as u16,
                properties: PropertyRow {
                    flagged: false,
                    values: vec![],
                },
            };
            row_for(&cols[..count]).prop_map(move |properties| RecipientRow {
                properties,
                ..base.clone()
            })
        })
        .boxed()
}

fn typed_string() -> impl Strategy<Value = TypedString> {
    prop_oneof![
        Just(TypedString::None),
        Just(TypedString::Empty),
        vec(1u8..=255, 0..6).prop_map(TypedString::String8),
        "[a-z€]{0,6}".prop_map(TypedString::Unicode),
    ]
}

fn message_info() -> BoxedStrategy<MessageInfo> {
    columns()
        .prop_flat_map(|cols| {
            let rows = vec(
                (any::<u8>(), any::<u16>(), recipient_row(cols.clone())),
                0..3,
            );
            (
                any::<u8>(),
                typed_string(),
                typed_string(),
                any::<u16>(),
                Just(cols),
                rows,
            )
        })
        .prop_map(|(hn, sp, ns, rc, cols, rows)| MessageInfo {
            has_named_properties: hn,
            subject_prefix: sp,
            normalized_subject: ns,
            recipient_count: rc,
            recipient_columns: cols,
            recipient_rows: rows
                .into_iter()
                .map(|(t, cp, row)| OpenRecipientRow {
                    recipient_type: t,
                    code_page_id: cp,
                    reserved: 0,
                    row,
                })
                .collect(),
        })
        .boxed()
}

fn modify_recipients() -> BoxedStrategy<RopRequest> {
    columns()
        .prop_flat_map(|cols| {
            let rows = vec(
                (
                    any::<u32>(),
                    any::<u8>(),
                    proptest::option::of(recipient_row(cols.clone())),
                ),
                0..3,
            );
            (any::<u8>(), any::<u8>(), Just(cols), rows)
        })
        .prop_map(|(l, h, cols, rows)| {
            RopRequest::ModifyRecipients(ModifyRecipientsRequest {
                logon_id: l,
                input_handle_index: h,
                recipient_columns: cols,
                rows: rows
                    .into_iter()
                    .map(|(row_id, recipient_type, row)| ModifyRecipientRow {
                        row_id,
                        recipient_type,
                        row,
                    })
                    .collect(),
            })
        })
        .boxed()
}

fn requests() -> impl Strategy<Value = RopRequest> {
    let u = any::<u8>;
    Union::new(vec![
        (u(), u(), u(), any::<u16>(), any::<u64>(), u())
            .prop_map(|(a, b, c, d, e, f)| {
                RopRequest::CreateMessage(CreateMessageRequest {
                    logon_id: a,
                    input_handle_index: b,
                    output_handle_index: c,
                    code_page_id: d,
                    folder_id: FolderId(e),
                    associated_flag: f,
                })
            })
            .boxed(),
        (u(), u(), u(), u())
            .prop_map(|(a, b, c, d)| {
                RopRequest::SaveChangesMessage(SaveChangesMessageRequest {
                    logon_id: a,
                    response_handle_index: b,
                    input_handle_index: c,
                    save_flags: d,
                })
            })
            .boxed(),
        (u(), u(), any::<u32>())
            .prop_map(|(a, b, c)| {
                RopRequest::RemoveAllRecipients(RemoveAllRecipientsRequest {
                    logon_id: a,
                    input_handle_index: b,
                    reserved: c,
                })
            })
            .boxed(),
        modify_recipients(),
        (u(), u(), any::<u16>())
            .prop_map(|(a, b, c)| {
                RopRequest::ReloadCachedInformation(ReloadCachedInformationRequest {
                    logon_id: a,
                    input_handle_index: b,
                    reserved: c,
                })
            })
            .boxed(),
        (u(), u(), u(), u())
            .prop_map(|(a, b, c, d)| {
                RopRequest::SetMessageReadFlag(SetMessageReadFlagRequest {
                    logon_id: a,
                    response_handle_index: b,
                    input_handle_index: c,
                    read_flags: d,
                    client_data: None,
                })
            })
            .boxed(),
        (u(), u(), u(), u(), mids())
            .prop_map(|(a, b, c, d, e)| {
                RopRequest::SetReadFlags(SetReadFlagsRequest {
                    logon_id: a,
                    input_handle_index: b,
                    want_asynchronous: c,
                    read_flags: d,
                    message_ids: e,
                })
            })
            .boxed(),
        (u(), u(), tags())
            .prop_map(|(a, b, c)| {
                RopRequest::DeleteProperties(DeletePropertiesRequest {
                    logon_id: a,
                    input_handle_index: b,
                    property_tags: c,
                })
            })
            .boxed(),
        (u(), u(), u(), u(), u(), u(), flagged_string())
            .prop_map(|(a, b, c, d, e, f, (uni, name, comment))| {
                RopRequest::CreateFolder(CreateFolderRequest {
                    logon_id: a,
                    input_handle_index: b,
                    output_handle_index: c,
                    folder_type: d,
                    use_unicode_strings: uni,
                    open_existing: e,
                    reserved: f,
                    display_name: name,
                    comment,
                })
            })
            .boxed(),
        (u(), u(), u(), any::<u64>())
            .prop_map(|(a, b, c, d)| {
                RopRequest::DeleteFolder(DeleteFolderRequest {
                    logon_id: a,
                    input_handle_index: b,
                    delete_folder_flags: c,
                    folder_id: FolderId(d),
                })
            })
            .boxed(),
        (u(), u(), u(), u(), mids(), any::<bool>())
            .prop_map(|(a, b, c, d, e, hard)| {
                if hard {
                    RopRequest::HardDeleteMessages(HardDeleteMessagesRequest {
                        logon_id: a,
                        input_handle_index: b,
                        want_asynchronous: c,
                        notify_non_read: d,
                        message_ids: e,
                    })
                } else {
                    RopRequest::DeleteMessages(DeleteMessagesRequest {
                        logon_id: a,
                        input_handle_index: b,
                        want_asynchronous: c,
                        notify_non_read: d,
                        message_ids: e,
                    })
                }
            })
            .boxed(),
        (u(), u(), u(), u(), any::<bool>())
            .prop_map(|(a, b, c, d, hard)| {
                if hard {
                    RopRequest::HardDeleteMessagesAndSubfolders(
                        HardDeleteMessagesAndSubfoldersRequest {
                            logon_id: a,
                            input_handle_index: b,
                            want_asynchronous: c,
                            want_delete_associated: d,
                        },
                    )
                } else {
                    RopRequest::EmptyFolder(EmptyFolderRequest {
                        logon_id: a,
                        input_handle_index: b,
                        want_asynchronous: c,
                        want_delete_associated: d,
                    })
                }
            })
            .boxed(),
        (u(), u(), u(), mids(), u(), u())
            .prop_map(|(a, b, c, d, e, f)| {
                RopRequest::MoveCopyMessages(MoveCopyMessagesRequest {
                    logon_id: a,
                    source_handle_index: b,
                    dest_handle_index: c,
                    message_ids: d,
                    want_asynchronous: e,
                    want_copy: f,
                })
            })
            .boxed(),
        (u(), u(), u(), u(), any::<u64>(), flagged_string())
            .prop_map(|(a, b, c, d, e, (uni, name, _))| {
                RopRequest::MoveFolder(MoveFolderRequest {
                    logon_id: a,
                    source_handle_index: b,
                    dest_handle_index: c,
                    want_asynchronous: d,
                    use_unicode: uni,
                    folder_id: FolderId(e),
                    new_folder_name: name,
                })
            })
            .boxed(),
        (u(), u(), u(), u(), u(), any::<u64>(), flagged_string())
            .prop_map(|(a, b, c, d, r, e, (uni, name, _))| {
                RopRequest::CopyFolder(CopyFolderRequest {
                    logon_id: a,
                    source_handle_index: b,
                    dest_handle_index: c,
                    want_asynchronous: d,
                    want_recursive: r,
                    use_unicode: uni,
                    folder_id: FolderId(e),
                    new_folder_name: name,
                })
            })
            .boxed(),
        (u(), u(), any::<u64>(), latin1())
            .prop_map(|(a, b, c, d)| {
                RopRequest::SetReceiveFolder(SetReceiveFolderRequest {
                    logon_id: a,
                    input_handle_index: b,
                    folder_id: FolderId(c),
                    message_class: d,
                })
            })
            .boxed(),
        (u(), u(), u())
            .prop_map(|(a, b, c)| {
                RopRequest::CreateAttachment(CreateAttachmentRequest {
                    logon_id: a,
                    input_handle_index: b,
                    output_handle_index: c,
                })
            })
            .boxed(),
        (u(), u(), any::<u32>())
            .prop_map(|(a, b, c)| {
                RopRequest::DeleteAttachment(DeleteAttachmentRequest {
                    logon_id: a,
                    input_handle_index: b,
                    attachment_id: c,
                })
            })
            .boxed(),
        (u(), u(), u(), u())
            .prop_map(|(a, b, c, d)| {
                RopRequest::SaveChangesAttachment(SaveChangesAttachmentRequest {
                    logon_id: a,
                    response_handle_index: b,
                    input_handle_index: c,
                    save_flags: d,
                })
            })
            .boxed(),
        (u(), u(), u(), any::<u16>(), u())
            .prop_map(|(a, b, c, d, e)| {
                RopRequest::OpenEmbeddedMessage(OpenEmbeddedMessageRequest {
                    logon_id: a,
                    input_handle_index: b,
                    output_handle_index: c,
                    code_page_id: d,
                    open_mode_flags: e,
                })
            })
            .boxed(),
        (u(), u(), u())
            .prop_map(|(a, b, c)| {
                RopRequest::SubmitMessage(SubmitMessageRequest {
                    logon_id: a,
                    input_handle_index: b,
                    submit_flags: c,
                })
            })
            .boxed(),
        (u(), u(), any::<u64>(), any::<u64>())
            .prop_map(|(a, b, c, d)| {
                RopRequest::AbortSubmit(AbortSubmitRequest {
                    logon_id: a,
                    input_handle_index: b,
                    folder_id: FolderId(c),
                    message_id: MessageId(d),
                })
            })
            .boxed(),
        (u(), u(), 0..3u8)
            .prop_map(|(a, b, which)| match which {
                0 => RopRequest::TransportSend(TransportSendRequest {
                    logon_id: a,
                    input_handle_index: b,
                }),
                1 => RopRequest::CommitStream(CommitStreamRequest {
                    logon_id: a,
                    input_handle_index: b,
                }),
                _ => RopRequest::GetStreamSize(GetStreamSizeRequest {
                    logon_id: a,
                    input_handle_index: b,
                }),
            })
            .boxed(),
        (u(), u(), vec(any::<u8>(), 0..12))
            .prop_map(|(a, b, c)| {
                RopRequest::WriteStream(WriteStreamRequest {
                    logon_id: a,
                    input_handle_index: b,
                    data: c,
                })
            })
            .boxed(),
        (u(), u(), any::<u64>())
            .prop_map(|(a, b, c)| {
                RopRequest::SetStreamSize(SetStreamSizeRequest {
                    logon_id: a,
                    input_handle_index: b,
                    stream_size: c,
                })
            })
            .boxed(),
        (u(), u(), u(), any::<i64>())
            .prop_map(|(a, b, c, d)| {
                RopRequest::SeekStream(SeekStreamRequest {
                    logon_id: a,
                    input_handle_index: b,
                    origin: c,
                    offset: d,
                })
            })
            .boxed(),
    ])
}

fn plain(r: RopResponse) -> (RopResponse, ResponseContext) {
    let id = r.rop_id();
    (r, ResponseContext::Plain(id))
}

/// A ReturnValue for a PartialCompletion response: success or any failure but 0x503.
fn partial_ret() -> impl Strategy<Value = ErrorCode> {
    prop_oneof![
        Just(ErrorCode::SUCCESS),
        any::<u32>().prop_map(|e| ErrorCode(if e == 0x503 { 0x8004_010F } else { e })),
    ]
}

fn responses() -> impl Strategy<Value = (RopResponse, ResponseContext)> {
    let u = any::<u8>;
    Union::new(vec![
        (u(), proptest::option::of(any::<u64>()))
            .prop_map(|(h, m)| {
                plain(
                    CreateMessageResponse {
                        output_handle_index: h,
                        message_id: m.map(MessageId),
                    }
                    .into(),
                )
            })
            .boxed(),
        (u(), u(), any::<u64>())
            .prop_map(|(h, i, m)| {
                plain(
                    SaveChangesMessageResponse {
                        response_handle_index: h,
                        input_handle_index: i,
                        message_id: MessageId(m),
                    }
                    .into(),
                )
            })
            .boxed(),
        (u(), 0..12u8)
            .prop_map(|(h, which)| {
                plain(match which {
                    0 => RemoveAllRecipientsResponse {
                        input_handle_index: h,
                    }
                    .into(),
                    1 => ModifyRecipientsResponse {
                        input_handle_index: h,
                    }
                    .into(),
                    2 => SetReceiveFolderResponse {
                        input_handle_index: h,
                    }
                    .into(),
                    3 => DeleteAttachmentResponse {
                        input_handle_index: h,
                    }
                    .into(),
                    4 => SaveChangesAttachmentResponse {
                        response_handle_index: h,
                    }
                    .into(),
                    5 => SubmitMessageResponse {
                        input_handle_index: h,
                    }
                    .into(),
                    6 => AbortSubmitResponse {
                        input_handle_index: h,
                    }
                    .into(),
                    7 => CommitStreamResponse {
                        input_handle_index: h,
                    }
                    .into(),
                    8 => SetStreamSizeResponse {
                        input_handle_index: h,
                    }
                    .into(),
                    9 => SetReadFlagsResponse {
                        input_handle_index: h,
                        partial_completion: which,
                    }
                    .into(),
                    10 => CreateAttachmentResponse {
                        output_handle_index: h,
                        attachment_id: u32::from(which) << 20,
                    }
                    .into(),
                    _ => WriteStreamResponse {
                        input_handle_index: h,
                        written_size: 0xBEEF,
                    }
                    .into(),
                })
            })
            .boxed(),
        (u(), message_info())
            .prop_map(|(h, info)| {
                plain(
                    ReloadCachedInformationResponse {
                        input_handle_index: h,
                        info,
                    }
                    .into(),
                )
            })
            .boxed(),
        (u(), u(), any::<u64>(), message_info())
            .prop_map(|(h, res, m, info)| {
                plain(
                    OpenEmbeddedMessageResponse {
                        output_handle_index: h,
                        reserved: res,
                        message_id: MessageId(m),
                        info,
                    }
                    .into(),
                )
            })
            .boxed(),
        (u(), proptest::option::of((u(), any::<[u8; 24]>())))
            .prop_map(|(h, c)| {
                plain(
                    SetMessageReadFlagResponse {
                        response_handle_index: h,
                        changed: c.map(|(logon_id, client_data)| ReadStatusChange {
                            logon_id,
                            client_data,
                        }),
                    }
                    .into(),
                )
            })
            .boxed(),
        (u(), vec((any::<u16>(), any::<u32>(), any::<u32>()), 0..3))
            .prop_map(|(h, p)| {
                plain(
                    DeletePropertiesResponse {
                        input_handle_index: h,
                        problems: p
                            .into_iter()
                            .map(|(i, t, e)| PropertyProblem {
                                index: i,
                                tag: PropertyTag(t),
                                error: ErrorCode(e),
                            })
                            .collect(),
                    }
                    .into(),
                )
            })
            .boxed(),
        (
            u(),
            any::<u64>(),
            proptest::option::of((
                u(),
                proptest::option::of((vec(latin1(), 0..3), any::<u16>())),
            )),
        )
            .prop_map(|(h, f, e)| {
                plain(
                    CreateFolderResponse {
                        output_handle_index: h,
                        folder_id: FolderId(f),
                        existing: e.map(|(has_rules, g)| ExistingFolder {
                            has_rules,
                            ghost: g.map(|(servers, c)| GhostInfo {
                                cheap_server_count: c % (servers.len() as u16 + 1),
                                servers,
                            }),
                        }),
                    }
                    .into(),
                )
            })
            .boxed(),
        (u(), partial_ret(), u(), 0..8u8)
            .prop_map(|(h, ret, p, which)| {
                let r: RopResponse = match which {
                    0 => DeleteFolderResponse {
                        input_handle_index: h,
                        return_value: ret,
                        partial_completion: p,
                    }
                    .into(),
                    1 => DeleteMessagesResponse {
                        input_handle_index: h,
                        return_value: ret,
                        partial_completion: p,
                    }
                    .into(),
                    2 => HardDeleteMessagesResponse {
                        input_handle_index: h,
                        return_value: ret,
                        partial_completion: p,
                    }
                    .into(),
                    3 => EmptyFolderResponse {
                        input_handle_index: h,
                        return_value: ret,
                        partial_completion: p,
                    }
                    .into(),
                    4 => HardDeleteMessagesAndSubfoldersResponse {
                        input_handle_index: h,
                        return_value: ret,
                        partial_completion: p,
                    }
                    .into(),
                    5 => MoveCopyMessagesResponse {
                        source_handle_index: h,
                        return_value: ret,
                        partial_completion: p,
                    }
                    .into(),
                    6 => MoveFolderResponse {
                        source_handle_index: h,
                        return_value: ret,
                        partial_completion: p,
                    }
                    .into(),
                    _ => CopyFolderResponse {
                        source_handle_index: h,
                        return_value: ret,
                        partial_completion: p,
                    }
                    .into(),
                };
                plain(r)
            })
            .boxed(),
        (u(), any::<u32>(), u(), 0..3usize)
            .prop_map(|(h, d, p, i)| {
                let ids = [
                    RopId::MOVE_COPY_MESSAGES,
                    RopId::MOVE_FOLDER,
                    RopId::COPY_FOLDER,
                ];
                plain(RopResponse::NullDestination(
                    NullDestinationFailureResponse {
                        rop_id: ids[i],
                        source_handle_index: h,
                        dest_handle_index: d,
                        partial_completion: p,
                    },
                ))
            })
            .boxed(),
        (u(), proptest::option::of(vec(tagged(), 0..4)))
            .prop_map(|(h, values)| {
                plain(
                    TransportSendResponse {
                        input_handle_index: h,
                        values,
                    }
                    .into(),
                )
            })
            .boxed(),
        (u(), any::<u32>(), any::<u64>(), any::<bool>())
            .prop_map(|(h, size, pos, seek)| {
                plain(if seek {
                    SeekStreamResponse {
                        input_handle_index: h,
                        new_position: pos,
                    }
                    .into()
                } else {
                    GetStreamSizeResponse {
                        input_handle_index: h,
                        stream_size: size,
                    }
                    .into()
                })
            })
            .boxed(),
        // The generic failure form of ROPs without extra failure fields.
        (0..6usize, u(), 1u32..)
            .prop_map(|(i, h, e)| {
                let ids = [
                    RopId::CREATE_MESSAGE,
                    RopId::SAVE_CHANGES_MESSAGE,
                    RopId::MODIFY_RECIPIENTS,
                    RopId::SUBMIT_MESSAGE,
                    RopId::WRITE_STREAM,
                    RopId::CREATE_FOLDER,
                ];
                plain(RopResponse::Error(RopErrorResponse {
                    rop_id: ids[i],
                    handle_index: h,
                    return_value: ErrorCode(e),
                }))
            })
            .boxed(),
    ])
}

fn decode_one(
    bytes: &[u8],
    ctx: &ResponseContext,
) -> Result<RopResponse, oxmapi_wire::DecodeError> {
    let mut r = ReadCursor::new(bytes);
    let v = RopResponse::decode(&mut r, ctx)?;
    r.finish("response")?;
    Ok(v)
}

proptest! {
    #[test]
    fn request_round_trip(req in requests()) {
        let bytes = req.to_bytes().expect("encode");
        prop_assert_eq!(RopRequest::from_bytes(&bytes).expect("decode"), req.clone());
        for n in 0..bytes.len() {
            prop_assert!(RopRequest::from_bytes(&bytes[..n]).is_err(), "prefix {} decoded", n);
        }
    }

    #[test]
    fn response_round_trip((resp, ctx) in responses()) {
        let bytes = resp.to_bytes().expect("encode");
        prop_assert_eq!(decode_one(&bytes, &ctx).expect("decode"), resp.clone());
        for n in 0..bytes.len() {
            prop_assert!(decode_one(&bytes[..n], &ctx).is_err(), "prefix {} decoded", n);
        }
    }

    #[test]
    fn request_buffer_round_trip(rops in vec(requests(), 0..5), handles in vec(any::<u32>(), 0..4)) {
        let buf = RopRequestBuffer { rops, handles };
        let bytes = buf.to_bytes().expect("encode");
        prop_assert_eq!(RopRequestBuffer::decode(&bytes).expect("decode"), buf);
    }

    #[test]
    fn response_buffer_round_trip(pairs in vec(responses(), 0..5), handles in vec(any::<u32>(), 0..4)) {
        let (rops, ctx): (Vec<_>, Vec<_>) = pairs.into_iter().unzip();
        let buf = RopResponseBuffer { rops, handles };
        let bytes = buf.to_bytes().expect("encode");
        prop_assert_eq!(RopResponseBuffer::decode(&bytes, &ctx).expect("decode"), buf);
    }

    #[test]
    fn public_set_message_read_flag_round_trip(a in any::<[u8; 4]>(), c in any::<[u8; 24]>()) {
        let req = SetMessageReadFlagRequest {
            logon_id: a[0],
            response_handle_index: a[1],
            input_handle_index: a[2],
            read_flags: a[3],
            client_data: Some(c),
        };
        let bytes = req.to_bytes().expect("encode");
        prop_assert_eq!(bytes.len(), 29);
        let mut r = ReadCursor::new(&bytes);
        prop_assert_eq!(SetMessageReadFlagRequest::decode_for_logon(&mut r, false).expect("decode"), req);
        prop_assert!(r.is_empty());
        for n in 0..bytes.len() {
            let mut r = ReadCursor::new(&bytes[..n]);
            prop_assert!(SetMessageReadFlagRequest::decode_for_logon(&mut r, false).is_err());
        }
        // Decoded as a private-mailbox request, ClientData is trailing garbage.
        prop_assert!(RopRequest::from_bytes(&bytes).is_err());
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..64)) {
        let _ = RopRequestBuffer::decode(&bytes);
        let ctx: Vec<ResponseContext> = [
            RopId::MOVE_FOLDER,
            RopId::OPEN_EMBEDDED_MESSAGE,
            RopId::CREATE_FOLDER,
            RopId::TRANSPORT_SEND,
        ]
        .into_iter()
        .map(ResponseContext::Plain)
        .collect();
        let _ = RopResponseBuffer::decode(&bytes, &ctx);
    }
}

/// The strategies reach every new request variant.
#[test]
fn request_strategy_covers_all_write_variants() {
    let mut runner = TestRunner::deterministic();
    let strat = requests();
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..3000 {
        let v = strat.new_tree(&mut runner).expect("tree").current();
        seen.insert(v.rop_id());
    }
    assert_eq!(seen.len(), 30, "{seen:?}");
}

#[test]
fn dest_and_response_handle_indexes() {
    let mv = RopRequest::MoveFolder(MoveFolderRequest {
        source_handle_index: 1,
        dest_handle_index: 2,
        ..Default::default()
    });
    assert_eq!(mv.input_handle_index(), 1);
    assert_eq!(mv.dest_handle_index(), Some(2));
    assert_eq!(mv.response_handle_index(), 1);
    let save = RopRequest::SaveChangesMessage(SaveChangesMessageRequest {
        response_handle_index: 3,
        input_handle_index: 4,
        ..Default::default()
    });
    assert_eq!(save.input_handle_index(), 4);
    assert_eq!(save.response_handle_index(), 3);
    assert_eq!(save.dest_handle_index(), None);
    let create = RopRequest::CreateMessage(CreateMessageRequest {
        input_handle_index: 0,
        output_handle_index: 5,
        ..Default::default()
    });
    assert_eq!(create.response_handle_index(), 5);
    assert_eq!(
        create.response_context(None),
        Some(ResponseContext::Plain(RopId::CREATE_MESSAGE))
    );
}

#[test]
fn encoders_refuse_inconsistent_failure_forms() {
    let mc = MoveCopyMessagesResponse {
        source_handle_index: 0,
        return_value: NullDestinationFailureResponse::RETURN_VALUE,
        partial_completion: 0,
    };
    assert!(
        mc.to_bytes().is_err(),
        "0x503 must use the null destination form"
    );
    // 0x503 is an ordinary failure for RopDeleteFolder.
    let df = DeleteFolderResponse {
        input_handle_index: 0,
        return_value: NullDestinationFailureResponse::RETURN_VALUE,
        partial_completion: 1,
    };
    assert_eq!(
        df.to_bytes().expect("encode"),
        [0x1D, 0x00, 0x03, 0x05, 0x00, 0x00, 0x01]
    );
    let nd = NullDestinationFailureResponse {
        rop_id: RopId::DELETE_FOLDER,
        source_handle_index: 0,
        dest_handle_index: 0,
        partial_completion: 0,
    };
    assert!(nd.to_bytes().is_err());
}
