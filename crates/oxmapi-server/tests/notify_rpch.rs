//! Table notifications over RPC/HTTP: two EMSMDB session contexts of Alice on one virtual
//! connection; what the second saves into the Inbox reaches the first's open Inbox table as a
//! RopNotify after the answers of its next EcDoRpcExt2 (MS-OXCNOTIF 3.1.5.7), and an
//! EcDoRpcExt2 without ROPs collects notifications too (MS-OXCNOTIF: "the server does not
//! require that the EcDoRpcExt2 method call include a ROP request"). The channel harness is
//! the one of `rpch_endpoint.rs`.

#[path = "infra_support.rs"]
mod support;

use oxmapi_wire::data::{FolderId, PropertyValue, TaggedPropertyValue, tags};
use oxmapi_wire::dcerpc::emsmdb::{
    EcDoConnectExRequest, EcDoConnectExResponse, EcDoRpcExt2Request, EcDoRpcExt2Response,
    OPNUM_EC_DO_CONNECT_EX, OPNUM_EC_DO_RPC_EXT2,
};
use oxmapi_wire::dcerpc::ndr::{ContextHandle, NdrCodec};
use oxmapi_wire::dcerpc::{PduBody, SyntaxId};
use oxmapi_wire::rop::{
    CreateMessageRequest, GetContentsTableRequest, LogonRequest, NotificationType,
    OpenFolderRequest, QueryPositionRequest, QueryRowsRequest, RopRequest, RopRequestBuffer,
    RopResponse, RopResponseBuffer, SaveChangesMessageRequest, SetColumnsRequest,
    SetPropertiesRequest, TableEventType,
};
use oxmapi_wire::rpcext::{PackOptions, pack_segment, unpack_segments};
use support::*;

#[path = "rpch_harness/mod.rs"]
mod harness;
use harness::*;

const NULL: u32 = 0xFFFF_FFFF;

/// EcDoConnectEx as Alice: a new session context.
async fn connect(vc: &mut Vc, ts: &TestServer) -> ContextHandle {
    let req = EcDoConnectExRequest {
        user_dn: ts.alice.legacy_dn.clone(),
        flags: 0,
        con_mod: 0,
        cb_limit: 0,
        cpid: 1252,
        lcid_string: 0x409,
        lcid_sort: 0x409,
        icxr_link: 0xFFFF_FFFF,
        can_convert_code_pages: 1,
        client_version: [0x000F, 0x0000, 0x1F4F],
        timestamp: 0,
        aux_in: Vec::new(),
        max_aux_out: 0x1008,
    };
    let resp = vc
        .call(OPNUM_EC_DO_CONNECT_EX, req.to_stub().unwrap())
        .await;
    let resp = EcDoConnectExResponse::from_stub(&response_stub(resp)).unwrap();
    assert!(resp.result.is_success(), "{:?}", resp.result);
    resp.handle
}

/// EcDoRpcExt2 (MS-OXCRPC 3.1.4.2) with one uncompressed, unobfuscated segment.
async fn rpc(
    vc: &mut Vc,
    cxh: ContextHandle,
    rops: Vec<RopRequest>,
    handles: Vec<u32>,
) -> (Vec<RopResponse>, Vec<u32>) {
    let req = RopRequestBuffer { rops, handles };
    let rgb_in = pack_segment(
        &req.to_bytes().unwrap(),
        PackOptions {
            compress: false,
            xor: false,
            last: true,
        },
    )
    .unwrap();
    let call = EcDoRpcExt2Request {
        handle: cxh,
        flags: 0x3,
        rgb_in,
        max_out: 0x8000,
        aux_in: Vec::new(),
        max_aux_out: 0x1008,
    };
    let resp = vc.call(OPNUM_EC_DO_RPC_EXT2, call.to_stub().unwrap()).await;
    let resp = EcDoRpcExt2Response::from_stub(&response_stub(resp)).unwrap();
    assert!(resp.result.is_success(), "{:?}", resp.result);
    let segs = unpack_segments(&resp.rgb_out).unwrap();
    assert_eq!(segs.len(), 1);
    let contexts = req
        .response_contexts(|_, _| Some(vec![tags::PidTagSubject]))
        .unwrap();
    let out = RopResponseBuffer::decode(&segs[0].payload, &contexts).unwrap();
    (out.rops, out.handles)
}

async fn logon(vc: &mut Vc, ts: &TestServer, cxh: ContextHandle) -> u32 {
    let logon = LogonRequest {
        logon_id: 0,
        output_handle_index: 0,
        logon_flags: 0x01,
        open_flags: 0x0100_000C,
        store_state: 0,
        essdn: Some(ts.alice.legacy_dn.clone()),
    };
    let (r, h) = rpc(vc, cxh, vec![logon.into()], vec![NULL]).await;
    assert!(matches!(r[0], RopResponse::LogonPrivate(_)), "{r:?}");
    h[0]
}

/// Saves a new message into `fid` through session context `cxh`.
async fn save_into(vc: &mut Vc, cxh: ContextHandle, logon: u32, fid: u64, subject: &str) {
    let (r, _) = rpc(
        vc,
        cxh,
        vec![
            CreateMessageRequest {
                logon_id: 0,
                input_handle_index: 0,
                output_handle_index: 1,
                code_page_id: 0x0FFF,
                folder_id: FolderId(fid),
                associated_flag: 0,
            }
            .into(),
            SetPropertiesRequest {
                logon_id: 0,
                input_handle_index: 1,
                values: vec![TaggedPropertyValue::new(
                    tags::PidTagSubject,
                    PropertyValue::Unicode(subject.into()),
                )],
            }
            .into(),
            SaveChangesMessageRequest {
                logon_id: 0,
                response_handle_index: 1,
                input_handle_index: 1,
                save_flags: 0x02,
            }
            .into(),
        ],
        vec![logon, NULL],
    )
    .await;
    assert_eq!(r.len(), 3, "no tables open in this context: {r:?}");
}

fn table_changed(r: &RopResponse, table: u32) {
    let RopResponse::Notify(n) = r else {
        panic!("a RopNotify: {r:?}")
    };
    assert_eq!(n.notification_handle, table);
    assert_eq!(n.logon_id, 0);
    assert_eq!(n.data.notification_type, NotificationType::TableModified);
    assert_eq!(n.data.table_event, Some(TableEventType::TableChanged));
}

#[tokio::test]
async fn another_session_context_saving_into_the_inbox_is_notified() {
    let ts = start().await;
    let inbox = ts
        .server
        .store()
        .special_folder(ts.alice.id, 5)
        .unwrap()
        .unwrap();
    let mut vc = open_vc(&ts).await;
    let ack = vc.bind(SyntaxId::EMSMDB).await;
    assert!(matches!(ack.body, PduBody::BindAck(_)), "{ack:?}");
    let (first, second) = (connect(&mut vc, &ts).await, connect(&mut vc, &ts).await);
    let (l1, l2) = (
        logon(&mut vc, &ts, first).await,
        logon(&mut vc, &ts, second).await,
    );
    let (r, h) = rpc(
        &mut vc,
        first,
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
        vec![l1, NULL, NULL],
    )
    .await;
    assert_eq!(r.len(), 4, "{r:?}");
    let table = h[2];

    save_into(&mut vc, second, l2, inbox, "one").await;
    let (r, _) = rpc(
        &mut vc,
        first,
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
    assert_eq!(r.len(), 2, "{r:?}");
    assert!(matches!(r[0], RopResponse::QueryPosition(_)), "{r:?}");
    table_changed(&r[1], table);

    // No ROPs at all: the notification alone.
    save_into(&mut vc, second, l2, inbox, "two").await;
    let (r, _) = rpc(&mut vc, first, Vec::new(), vec![NULL]).await;
    assert_eq!(r.len(), 1, "{r:?}");
    table_changed(&r[0], table);

    drop(vc.input);
    while vc.out.next().await.is_some() {}
}
