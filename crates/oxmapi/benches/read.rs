//! Read benchmark against the embedded server on loopback HTTPS (one run, figures printed):
//!
//! 1. list N headers (8 columns) through `Folder::messages()`: rows/s, HTTP round trips,
//!    bytes on the wire;
//! 2. a raw replay of the same ROP requests (RopOpenFolder, RopGetContentsTable,
//!    RopSetColumns, RopQueryRows with the Chain flag, looped) straight over the transport
//!    and the wire codecs, with and without response compression (Execute Flags
//!    NoCompression): the API's overhead is the ratio of the two times;
//! 3. export 1k and 10k messages to .eml files (msgs/s, peak RSS from VmHWM).
//!
//! `OXMAPI_BENCH_ROWS` (default 100000) and `OXMAPI_BENCH_EXPORT` (default "1000,10000")
//! change the sizes. The server runs in this process, so RSS and CPU include it.

use std::time::Instant;

use futures_util::StreamExt;
use oxmapi::{LogonParams, Session};
use oxmapi_profile::{Config, Secret};
use oxmapi_server::store::deliver::{NewMessage, insert_message};
use oxmapi_server::{ServerConfig, serve};
use oxmapi_transport::{
    AuthScheme, Credentials, Endpoint, HttpAuth, MapiHttpClient, MapiHttpSession, TlsConfig,
    TlsPolicy, TransportConfig,
};
use oxmapi_wire::data::{FolderId, PropertyTag, PropertyValue, tags};
use oxmapi_wire::mapihttp::Response;
use oxmapi_wire::mapihttp::emsmdb::{
    ConnectRequest, ConnectResponse, EXECUTE_FLAG_CHAIN, EXECUTE_FLAG_NO_COMPRESSION,
    ExecuteRequest, ExecuteResponse,
};
use oxmapi_wire::rop::{
    GetContentsTableRequest, LogonRequest, OpenFolderRequest, QueryRowsRequest, ResponseContext,
    RopRequest, RopRequestBuffer, RopResponse, RopResponseBuffer, SetColumnsRequest, logon_flags,
    open_flags,
};
use oxmapi_wire::rpcext::{PackOptions, pack_segment, unpack_chain};
use oxmapi_wire::{Decode, Encode};

const PASSWORD: &str = "Passw0rd!";
const T0: u64 = 133_537_248_000_000_000;

/// The 8 header columns listed.
const COLUMNS: [PropertyTag; 8] = [
    tags::PidTagEntryId,
    tags::PidTagSubject,
    tags::PidTagSenderName,
    tags::PidTagSenderEmailAddress,
    tags::PidTagMessageDeliveryTime,
    tags::PidTagMessageFlags,
    tags::PidTagMessageSize,
    tags::PidTagHasAttachments,
];

fn note(i: u64, body: bool) -> NewMessage {
    let s = |v: String| PropertyValue::Unicode(v);
    let mut props = vec![
        (tags::PidTagMessageClass, s("IPM.Note".into())),
        (
            tags::PidTagSubject,
            s(format!("Status report #{i} for the weekly sync")),
        ),
        (tags::PidTagSenderName, s(format!("Sender {}", i % 97))),
        (
            tags::PidTagSenderEmailAddress,
            s(format!("sender{}@example.test", i % 97)),
        ),
        (
            tags::PidTagMessageDeliveryTime,
            PropertyValue::Time(T0 + i * 10_000_000),
        ),
        (
            tags::PidTagMessageFlags,
            PropertyValue::Int32((i % 2) as i32),
        ),
    ];
    if body {
        props.push((
            tags::PidTagBody,
            s(format!(
                "Hello,\r\n\r\nthis is message {i}.\r\n{}\r\n",
                "lorem ipsum ".repeat(40)
            )),
        ));
    }
    NewMessage {
        props,
        ..NewMessage::default()
    }
}

fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rows = env_num("OXMAPI_BENCH_ROWS", 100_000);
    let exports: Vec<u64> = std::env::var("OXMAPI_BENCH_EXPORT")
        .unwrap_or_else(|_| "1000,10000".into())
        .split(',')
        .filter_map(|v| v.trim().parse().ok())
        .collect();

    let dir = tempfile::tempdir().unwrap();
    let mut cfg = ServerConfig::new(dir.path().join("server"));
    cfg.listen = "127.0.0.1:0".parse().unwrap();
    let server = serve(cfg).await.unwrap();
    let alice = server
        .store()
        .add_user("alice", "Alice Example", PASSWORD)
        .unwrap();
    let inbox = server.store().special_folder(alice.id, 5).unwrap().unwrap() as i64;
    let new_folder = |name: &str| {
        let mailbox = alice.id;
        server
            .store()
            .with_conn(|c| {
                let fid = oxmapi_server::store::messages::alloc_id(c, mailbox)?;
                c.execute(
                    "INSERT INTO folders (mailbox_id, fid, parent_fid, display_name, container_class, special)
                     VALUES (?1, ?2, ?3, ?4, 'IPF.Note', NULL)",
                    rusqlite::params![mailbox, fid, inbox, name],
                )?;
                Ok(fid)
            })
            .unwrap()
    };
    let seed = |fid: i64, n: u64, body: bool| {
        let mailbox = alice.id;
        server
            .store()
            .with_conn(|c| {
                let tx = c.transaction()?;
                for i in 0..n {
                    insert_message(&tx, mailbox, fid, &note(i, body))?;
                }
                tx.commit()?;
                Ok(())
            })
            .unwrap();
    };

    let t = Instant::now();
    let bench_fid = new_folder("Bench");
    seed(bench_fid, rows, false);
    println!(
        "seeded {rows} headers in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let toml = format!(
        "ignore_no_public_folders = true\n[proxy_map.\"example.test\"]\nurl = \"https://127.0.0.1:{}\"\nauth = \"basic\"\ncertificate = {{ ca_file = {:?} }}\n",
        server.local_addr().port(),
        server.ca_path().display().to_string()
    );
    let config = Config::from_toml(&toml, std::path::Path::new("bench.toml")).unwrap();
    let params = LogonParams {
        profile_info: Some(format!(
            "{}\n{}",
            alice.personalized_server_name, alice.alias
        )),
        password: Some(Secret::new(PASSWORD)),
        ..LogonParams::default()
    };
    let mut session = Session::logon(&config, params.clone()).await.unwrap();
    let folder = session.folder_by_path("Inbox/Bench").await.unwrap();

    // Warm-up (SQLite page cache, TLS session): one raw listing, not reported.
    {
        let mut http = raw_session(&server, &alice).await;
        let logon = raw_logon(&mut http, &alice.legacy_dn).await;
        raw_list(
            &mut http,
            logon,
            FolderId(bench_fid as u64),
            EXECUTE_FLAG_CHAIN,
        )
        .await;
    }
    // 1. Through the API, and 2. the raw replay with and without compression, interleaved
    // twice; the best time of each is compared.
    let mut api_best = f64::MAX;
    let mut raw_best = [f64::MAX; 2];
    for round in 0..2 {
        let before = session.wire_stats();
        let t = Instant::now();
        let n = folder
            .messages()
            .columns(&COLUMNS)
            .stream(&mut session)
            .fold(0u64, |n, r| async move {
                let r = r.unwrap();
                n + u64::from(r.subject().is_some())
            })
            .await;
        let api_secs = t.elapsed().as_secs_f64();
        let after = session.wire_stats();
        assert_eq!(n, rows);
        api_best = api_best.min(api_secs);
        println!(
            "[{round}] API listing: {n} rows x {} columns in {api_secs:.2} s = {:.0} rows/s; {} HTTP round trips; {} bytes received, {} sent (compressed responses)",
            COLUMNS.len(),
            n as f64 / api_secs,
            after.http_round_trips - before.http_round_trips,
            after.bytes_received - before.bytes_received,
            after.bytes_sent - before.bytes_sent
        );
        for (i, (label, flags)) in [
            ("compressed", EXECUTE_FLAG_CHAIN),
            (
                "NoCompression",
                EXECUTE_FLAG_CHAIN | EXECUTE_FLAG_NO_COMPRESSION,
            ),
        ]
        .into_iter()
        .enumerate()
        {
            let mut http = raw_session(&server, &alice).await;
            let logon = raw_logon(&mut http, &alice.legacy_dn).await;
            let before = http.stats();
            let t = Instant::now();
            let (got, requests) =
                raw_list(&mut http, logon, FolderId(bench_fid as u64), flags).await;
            let secs = t.elapsed().as_secs_f64();
            let after = http.stats();
            assert_eq!(got, rows);
            raw_best[i] = raw_best[i].min(secs);
            println!(
                "[{round}] raw replay ({label}): {got} rows in {secs:.2} s = {:.0} rows/s; {requests} Execute requests; {} bytes received, {} sent",
                got as f64 / secs,
                after.bytes_received - before.bytes_received,
                after.bytes_sent - before.bytes_sent
            );
        }
    }
    println!(
        "best: API {:.0} rows/s, raw compressed {:.0} rows/s, raw uncompressed {:.0} rows/s; API overhead (API time / raw compressed time) = {:.2}x",
        rows as f64 / api_best,
        rows as f64 / raw_best[0],
        rows as f64 / raw_best[1],
        api_best / raw_best[0]
    );

    // 3. Export.
    let out = dir.path().join("export");
    for &count in &exports {
        let fid = new_folder(&format!("Export{count}"));
        seed(fid, count, true);
        let f = session
            .folder_by_path(&format!("Inbox/Export{count}"))
            .await
            .unwrap();
        let target = out.join(count.to_string());
        std::fs::create_dir_all(&target).unwrap();
        let t = Instant::now();
        let mut m = f.messages().columns(&[tags::PidTagEntryId]);
        let mut written = 0u64;
        while let Some(row) = m.get_next(&mut session).await.unwrap() {
            let msg = row.open(&mut session).await.unwrap();
            let body = msg.text(&mut session).await.unwrap().unwrap_or_default();
            let eml = mail_builder::MessageBuilder::new()
                .from((
                    msg.sender_name().unwrap_or_default(),
                    msg.sender_email().unwrap_or_default(),
                ))
                .subject(msg.subject().unwrap_or_default())
                .text_body(body)
                .write_to_vec()
                .unwrap();
            let name = target.join(format!("{}.eml", msg.id().0));
            let tmp = target.join(format!(".{}.part", msg.id().0));
            std::fs::write(&tmp, eml).unwrap();
            std::fs::rename(&tmp, &name).unwrap();
            written += 1;
        }
        let secs = t.elapsed().as_secs_f64();
        println!(
            "export {written} messages: {secs:.2} s = {:.0} msgs/s; peak RSS (VmHWM, client+server) {} KiB",
            written as f64 / secs,
            vm_hwm_kib()
        );
    }
    session.logoff().await.unwrap();
    server.shutdown().await;
}

async fn raw_session(
    server: &oxmapi_server::RunningServer,
    alice: &oxmapi_server::store::UserRecord,
) -> MapiHttpSession {
    let mut cfg = TransportConfig::new(format!("https://127.0.0.1:{}", server.local_addr().port()));
    cfg.tls = TlsConfig {
        policy: TlsPolicy::CaFile(server.ca_path().to_path_buf()),
        expected_principal: None,
    };
    cfg.auth = Some(HttpAuth {
        scheme: AuthScheme::Basic,
        credentials: Credentials {
            user: alice.alias.clone(),
            domain: None,
            password: oxmapi_transport::Secret::new(PASSWORD),
        },
    });
    let client = MapiHttpClient::new(cfg).unwrap();
    client.session(Endpoint::Emsmdb, &alice.personalized_server_name)
}

async fn execute(
    http: &mut MapiHttpSession,
    request: &RopRequestBuffer,
    flags: u32,
) -> Vec<Vec<u8>> {
    let payload = request.to_bytes().unwrap();
    let rop_buffer = pack_segment(
        &payload,
        PackOptions {
            compress: true,
            xor: true,
            last: true,
        },
    )
    .unwrap();
    let body = ExecuteRequest {
        flags,
        rop_buffer,
        max_rop_out: 0x40000,
        aux: Vec::new(),
    }
    .to_bytes()
    .unwrap();
    let resp = http.post("Execute", body).await.unwrap();
    let Response::Success(ok) = ExecuteResponse::from_bytes(&resp.body).unwrap() else {
        panic!("Execute failed");
    };
    unpack_chain(&ok.rop_buffer).unwrap()
}

async fn raw_logon(http: &mut MapiHttpSession, dn: &str) -> u32 {
    let body = ConnectRequest {
        user_dn: dn.to_owned(),
        flags: 0,
        default_code_page: 1252,
        lcid_sort: 0x409,
        lcid_string: 0x409,
        aux: Vec::new(),
    }
    .to_bytes()
    .unwrap();
    let resp = http.post("Connect", body).await.unwrap();
    assert!(matches!(
        ConnectResponse::from_bytes(&resp.body).unwrap(),
        Response::Success(_)
    ));
    let req = RopRequestBuffer {
        rops: vec![RopRequest::Logon(LogonRequest {
            logon_id: 0,
            output_handle_index: 0,
            logon_flags: logon_flags::PRIVATE,
            open_flags: open_flags::USE_PER_MDB_REPLID_MAPPING
                | open_flags::TAKE_OWNERSHIP
                | open_flags::HOME_LOGON,
            store_state: 0,
            essdn: Some(dn.to_owned()),
        })],
        handles: vec![u32::MAX],
    };
    let payloads = execute(http, &req, EXECUTE_FLAG_CHAIN).await;
    let resp = RopResponseBuffer::decode(&payloads[0], &[ResponseContext::Logon { private: true }])
        .unwrap();
    resp.handles[0]
}

/// The same ROPs the API sends, decoded with the wire codecs only. Returns (rows, requests).
async fn raw_list(http: &mut MapiHttpSession, logon: u32, fid: FolderId, flags: u32) -> (u64, u64) {
    let qr = |slot| {
        RopRequest::QueryRows(QueryRowsRequest {
            logon_id: 0,
            input_handle_index: slot,
            query_rows_flags: 0,
            forward_read: 1,
            row_count: 0xFFFF,
        })
    };
    let first = RopRequestBuffer {
        rops: vec![
            RopRequest::OpenFolder(OpenFolderRequest {
                logon_id: 0,
                input_handle_index: 0,
                output_handle_index: 1,
                folder_id: fid,
                open_mode_flags: 0,
            }),
            RopRequest::GetContentsTable(GetContentsTableRequest {
                logon_id: 0,
                input_handle_index: 1,
                output_handle_index: 2,
                table_flags: 0x40,
            }),
            RopRequest::SetColumns(SetColumnsRequest {
                logon_id: 0,
                input_handle_index: 2,
                set_columns_flags: 0,
                property_tags: COLUMNS.to_vec(),
            }),
            qr(2),
        ],
        handles: vec![logon, u32::MAX, u32::MAX],
    };
    let qctx = ResponseContext::QueryRows {
        columns: COLUMNS.to_vec(),
    };
    let ctx = [
        ResponseContext::Plain(oxmapi_wire::rop::RopId::OPEN_FOLDER),
        ResponseContext::Plain(oxmapi_wire::rop::RopId::GET_CONTENTS_TABLE),
        ResponseContext::Plain(oxmapi_wire::rop::RopId::SET_COLUMNS),
        qctx.clone(),
    ];
    let mut rows = 0u64;
    let mut requests = 1u64;
    let mut payloads = execute(http, &first, flags).await;
    let head = RopResponseBuffer::decode(&payloads.remove(0), &ctx).unwrap();
    let table = head.handles[2];
    let mut done = false;
    let mut take = |r: Option<RopResponse>, done: &mut bool| {
        if let Some(RopResponse::QueryRows(q)) = r {
            rows += q.rows.len() as u64;
            *done = q.origin == 2 || q.rows.is_empty();
        }
    };
    take(head.rops.into_iter().nth(3), &mut done);
    for p in &payloads {
        let b = RopResponseBuffer::decode(p, std::slice::from_ref(&qctx)).unwrap();
        take(b.rops.into_iter().next(), &mut done);
    }
    while !done {
        let req = RopRequestBuffer {
            rops: vec![qr(0)],
            handles: vec![table],
        };
        requests += 1;
        for (i, p) in execute(http, &req, flags).await.iter().enumerate() {
            let b = RopResponseBuffer::decode(p, std::slice::from_ref(&qctx)).unwrap();
            take(b.rops.into_iter().next(), &mut done);
            let _ = i;
        }
    }
    (rows, requests)
}
