//! The HTTPS listener, authentication and the MAPI/HTTP EMSMDB plumbing, with hand-built
//! request bodies (MS-OXCMAPIHTTP 2.2.4).

#[path = "infra_support.rs"]
mod support;

use bytes::Bytes;
use http::Request;
use http_body_util::Full;
use support::*;

#[tokio::test]
async fn unauthenticated_and_wrong_password_get_401() {
    let ts = start().await;
    let mut m = Mapi::new(&ts, "emsmdb", &ts.alice, ALICE_PASSWORD).await;
    m.auth = None;
    let r = m.post("Connect", connect_body(&ts.alice.legacy_dn)).await;
    assert_eq!(r.status, 401);
    let offers: Vec<_> = r
        .headers
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        offers,
        [
            "Negotiate",
            "NTLM",
            "Basic realm=\"oxmapi\"",
            "Bearer realm=\"oxmapi\""
        ]
    );

    m.auth = Some(basic("alice", "wrong"));
    let r = m.post("Connect", connect_body(&ts.alice.legacy_dn)).await;
    assert_eq!(r.status, 401);
    // Nothing stuck to the connection: a request without credentials is still refused.
    m.auth = None;
    let r = m.post("Connect", connect_body(&ts.alice.legacy_dn)).await;
    assert_eq!(r.status, 401);
    assert_eq!(ts.server.session_count(), 0);
    // SMTP address and DOMAIN\alias log on too.
    for login in ["alice@example.test", "EXAMPLE\\alice"] {
        let mut m = Mapi::new(&ts, "emsmdb", &ts.alice, ALICE_PASSWORD).await;
        m.auth = Some(basic(login, ALICE_PASSWORD));
        let r = m.post("PING", Vec::new()).await;
        assert_eq!(r.status, 200, "{login}");
        assert_eq!(r.response_code(), Some(0));
    }
    ts.server.shutdown().await;
}

#[tokio::test]
async fn connect_execute_disconnect() {
    let ts = start().await;
    let mut m = Mapi::new(&ts, "emsmdb", &ts.alice, ALICE_PASSWORD).await;
    let r = m.post("Connect", connect_body(&ts.alice.legacy_dn)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.response_code(), Some(0));
    assert_eq!(r.header("content-type"), Some("application/mapi-http"));
    assert_eq!(r.header("transfer-encoding"), Some("chunked"));
    assert_eq!(r.header("x-requesttype"), Some("Connect"));
    assert_eq!(
        r.header("x-requestid"),
        Some("{E2EA6C1C-E61B-49E9-9CFB-38184F907552}:1")
    );
    assert_eq!(
        r.header("x-clientinfo"),
        Some("{2EF33C39-49C8-421C-B876-CDF7F2AC3AA0}:1")
    );
    assert!(r.header("x-serverapplication").is_some());
    assert_eq!(r.header("x-pendingperiod"), Some("15000"));
    assert_eq!(r.header("x-expirationinfo"), Some("1800000"));
    assert!(m.cookies.iter().any(|c| c.starts_with("MapiContext=")));
    // Connect success response body (MS-OXCMAPIHTTP 2.2.4.1.2).
    let mut b = Rd(r.mapi_body());
    assert_eq!(b.u32(), 0, "StatusCode");
    assert_eq!(b.u32(), 0, "ErrorCode");
    assert_eq!(b.u32(), 60_000, "PollsMax");
    assert_eq!(b.u32(), 6, "RetryCount");
    assert_eq!(b.u32(), 10_000, "RetryDelay");
    assert_eq!(
        b.asciiz(),
        "/o=Oxmapi/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)"
    );
    assert_eq!(b.utf16z(), "Alice Example");
    let aux_len = b.u32() as usize;
    // RPC_HEADER_EXT (Last, 8 bytes) + AUX_HEADER (8, v1, AUX_TYPE_EXORGINFO) + OrgFlags 0.
    assert_eq!(
        b.raw(aux_len),
        [0, 0, 4, 0, 8, 0, 8, 0, 8, 0, 1, 0x17, 0, 0, 0, 0]
    );
    b.end();
    assert_eq!(ts.server.session_count(), 1);

    // Execute (2.2.4.2.1): Flags, RopBufferSize, RopBuffer, MaxRopOut, AuxiliaryBufferSize.
    let rops = [0u8, 0, 4, 0, 2, 0, 2, 0, 2, 0];
    let body = Bytes8::default()
        .u32(0x4)
        .u32(rops.len() as u32)
        .raw(&rops)
        .u32(0x40000)
        .u32(0)
        .done();
    let r = m.post("Execute", body).await;
    assert_eq!(r.response_code(), Some(0));
    let mut b = Rd(r.mapi_body());
    assert_eq!(b.u32(), 0, "StatusCode");
    let _error_code = b.u32();
    assert_eq!(b.u32(), 0, "Flags");
    let n = b.u32() as usize;
    b.raw(n);
    assert_eq!(b.u32(), 0, "AuxiliaryBufferSize");
    b.end();

    let r = m.post("Disconnect", Bytes8::default().u32(0).done()).await;
    assert_eq!(r.response_code(), Some(0));
    let mut b = Rd(r.mapi_body());
    assert_eq!((b.u32(), b.u32(), b.u32()), (0, 0, 0));
    b.end();
    assert_eq!(ts.server.session_count(), 0);
    // The context is gone.
    let r = m
        .post("NotificationWait", Bytes8::default().u32(0).u32(0).done())
        .await;
    assert_eq!(r.response_code(), Some(10));
    ts.server.shutdown().await;
}

#[tokio::test]
async fn header_cookie_and_context_checks() {
    let ts = start().await;
    let mut m = Mapi::new(&ts, "emsmdb", &ts.alice, ALICE_PASSWORD).await;
    for h in ["x-clientinfo", "x-requestid", "x-requesttype"] {
        m.skip_header = Some(h);
        let r = m.post("Connect", connect_body(&ts.alice.legacy_dn)).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.response_code(), Some(7), "without {h}");
    }
    m.skip_header = None;
    let r = m.post("Bogus", Vec::new()).await;
    assert_eq!(r.response_code(), Some(5));
    let r = m.post("Connect", vec![1, 2, 3]).await;
    assert_eq!(r.response_code(), Some(12));
    // No cookie: 13 Missing Cookie; unknown cookie: 10 Context Not Found.
    let r = m.post("Disconnect", Bytes8::default().u32(0).done()).await;
    assert_eq!(r.response_code(), Some(13));
    m.cookies = vec!["MapiContext=0123456789abcdef".to_owned()];
    let r = m.post("Disconnect", Bytes8::default().u32(0).done()).await;
    assert_eq!(r.response_code(), Some(10));
    // A live context, then expiry.
    m.cookies.clear();
    let r = m.post("Connect", connect_body(&ts.alice.legacy_dn)).await;
    assert_eq!(r.response_code(), Some(0));
    // The X-RequestId counter must increase.
    m.counter -= 1;
    let r = m
        .post("NotificationWait", Bytes8::default().u32(0).u32(0).done())
        .await;
    assert_eq!(r.response_code(), Some(4));
    let r = m
        .post("NotificationWait", Bytes8::default().u32(0).u32(0).done())
        .await;
    assert_eq!(r.response_code(), Some(0));
    ts.server.expire_all_sessions();
    let r = m
        .post("NotificationWait", Bytes8::default().u32(0).u32(0).done())
        .await;
    assert_eq!(r.response_code(), Some(10));
    ts.server.shutdown().await;
}

#[tokio::test]
async fn other_users_mailbox_and_dn_are_refused() {
    let ts = start().await;
    // Alice's credentials on Bob's MailboxId.
    let mut m = Mapi::new(&ts, "emsmdb", &ts.bob, ALICE_PASSWORD).await;
    m.auth = Some(basic("alice", ALICE_PASSWORD));
    let r = m.post("Connect", connect_body(&ts.alice.legacy_dn)).await;
    assert_eq!(r.response_code(), Some(11));
    // Her own MailboxId with Bob's DN: ecLoginPerm; an unknown DN: ecUnknownUser.
    let mut m = Mapi::new(&ts, "emsmdb", &ts.alice, ALICE_PASSWORD).await;
    for (dn, ec) in [
        (ts.bob.legacy_dn.as_str(), 0x3F2),
        ("/o=Oxmapi/cn=nobody", 0x3EB),
    ] {
        let r = m.post("Connect", connect_body(dn)).await;
        assert_eq!(r.response_code(), Some(0));
        let mut b = Rd(r.mapi_body());
        assert_eq!(b.u32(), 0, "StatusCode");
        assert_eq!(b.u32(), ec, "ErrorCode for {dn}");
        assert!(r.set_cookies().is_empty());
    }
    // Bob's context cookie used by Alice is refused.
    let mut bob = Mapi::new(&ts, "emsmdb", &ts.bob, BOB_PASSWORD).await;
    let r = bob.post("Connect", connect_body(&ts.bob.legacy_dn)).await;
    assert_eq!(r.response_code(), Some(0));
    m.cookies = bob.cookies.clone();
    m.path = bob.path.clone();
    let r = m
        .post("NotificationWait", Bytes8::default().u32(0).u32(0).done())
        .await;
    assert_eq!(r.response_code(), Some(11));
    ts.server.shutdown().await;
}

#[tokio::test]
async fn unknown_path_is_404_and_path_is_case_insensitive() {
    let ts = start().await;
    let mut c = Conn::open(&ts.server).await;
    let req = Request::post("/owa/")
        .header("host", "x")
        .body(Full::new(Bytes::new()))
        .unwrap();
    assert_eq!(c.send(req).await.status, 404);
    let mut m = Mapi::new(&ts, "emsmdb", &ts.alice, ALICE_PASSWORD).await;
    m.path = m.path.replace("/mapi/emsmdb/", "/MAPI/EmsMdb/");
    let r = m.post("PING", Vec::new()).await;
    assert_eq!(r.response_code(), Some(0));
    assert_eq!(r.mapi_body(), b"");
    ts.server.shutdown().await;
}

#[tokio::test]
async fn store_and_certificate_survive_restart() {
    let ts = start().await;
    let fp = ts.server.cert_fingerprint();
    let dir = ts.dir;
    ts.server.shutdown().await;
    let mut config = oxmapi_server::ServerConfig::new(dir.path());
    config.listen = "127.0.0.1:0".parse().unwrap();
    let server = oxmapi_server::serve(config).await.unwrap();
    assert_eq!(server.cert_fingerprint(), fp);
    assert!(server.ca_path().ends_with("cert.pem"));
    let alice = server.store().user_by_alias("ALICE").unwrap().unwrap();
    assert_eq!(alice, ts.alice);
    server.shutdown().await;
}

#[tokio::test]
async fn ntlm_handshake_on_one_connection() {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD as B64;
    use sspi::{
        AuthIdentity, BufferType, ClientRequestFlags, CredentialUse, DataRepresentation, Ntlm,
        SecurityBuffer, Sspi, SspiImpl, Username,
    };

    let ts = start().await;
    let mut m = Mapi::new(&ts, "emsmdb", &ts.alice, ALICE_PASSWORD).await;
    for (password, ok) in [("wrong", false), (ALICE_PASSWORD, true)] {
        let mut ntlm = Ntlm::new();
        let identity = AuthIdentity {
            username: Username::parse("alice").unwrap(),
            password: password.to_owned().into(),
        };
        let mut creds = ntlm
            .acquire_credentials_handle()
            .with_credential_use(CredentialUse::Outbound)
            .with_auth_data(&identity)
            .execute(&mut ntlm)
            .unwrap()
            .credentials_handle;
        let mut step = |input: Option<Vec<u8>>| {
            let mut out = vec![SecurityBuffer::new(Vec::new(), BufferType::Token)];
            let mut inp = input
                .map(|b| vec![SecurityBuffer::new(b, BufferType::Token)])
                .unwrap_or_default();
            let mut builder = ntlm
                .initialize_security_context()
                .with_credentials_handle(&mut creds)
                .with_context_requirements(ClientRequestFlags::ALLOCATE_MEMORY)
                .with_target_data_representation(DataRepresentation::Native)
                .with_target_name("HTTP/127.0.0.1")
                .with_output(&mut out);
            if !inp.is_empty() {
                builder = builder.with_input(&mut inp);
            }
            ntlm.initialize_security_context_impl(&mut builder)
                .unwrap()
                .resolve_to_result()
                .unwrap();
            out.remove(0).buffer
        };
        let negotiate = step(None);
        m.auth = Some(format!("NTLM {}", B64.encode(negotiate)));
        let r = m.post("PING", Vec::new()).await;
        assert_eq!(r.status, 401);
        let challenge = r
            .header("www-authenticate")
            .and_then(|v| v.strip_prefix("NTLM "))
            .map(|v| B64.decode(v).unwrap())
            .unwrap();
        assert_eq!(&challenge[..8], b"NTLMSSP\0");
        assert!(
            has_av_pair(&challenge, 1),
            "MsvAvNbComputerName in CHALLENGE"
        );
        let authenticate = step(Some(challenge));
        m.auth = Some(format!("NTLM {}", B64.encode(authenticate)));
        let r = m.post("PING", Vec::new()).await;
        assert_eq!(r.status == 200, ok, "password {password}: {}", r.status);
    }
    // The identity sticks to the connection: no Authorization header needed any more.
    m.auth = None;
    let r = m.post("Connect", connect_body(&ts.alice.legacy_dn)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.response_code(), Some(0));
    ts.server.shutdown().await;
}

#[tokio::test]
async fn negotiate_handshake_on_one_connection() {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD as B64;

    let ts = start().await;
    let mut m = Mapi::new(&ts, "emsmdb", &ts.alice, ALICE_PASSWORD).await;
    // (password, flip a bit of the mechListMIC, expected to succeed)
    for (password, tamper, ok) in [
        ("wrong", false, false),
        (ALICE_PASSWORD, true, false),
        (ALICE_PASSWORD, false, true),
    ] {
        let mut step = negotiate_client("alice", "TESTDOM", password);
        let init = step(None);
        m.auth = Some(format!("Negotiate {}", B64.encode(init)));
        let r = m.post("PING", Vec::new()).await;
        assert_eq!(r.status, 401);
        let offers = r.headers.get_all("www-authenticate").iter().count();
        assert_eq!(offers, 1, "only the Negotiate continuation");
        let resp = r
            .header("www-authenticate")
            .and_then(|v| v.strip_prefix("Negotiate "))
            .map(|v| B64.decode(v).unwrap())
            .unwrap();
        // RFC 4178 4.2.2: [1] NegTokenResp, negState accept-incomplete first.
        assert_eq!(resp[0], 0xa1);
        assert!(resp.windows(5).any(|w| w == [0xa0, 0x03, 0x0a, 0x01, 0x01]));
        let mut authenticate = step(Some(resp));
        if tamper {
            // sspi puts mechListMIC ([3] OCTET STRING, 16 octets) last.
            let n = authenticate.len();
            assert_eq!(authenticate[n - 18..n - 16], [0x04, 0x10]);
            authenticate[n - 1] ^= 1;
        }
        m.auth = Some(format!("Negotiate {}", B64.encode(authenticate)));
        let r = m.post("PING", Vec::new()).await;
        assert_eq!(r.status == 200, ok, "{password} {tamper}: {}", r.status);
        if !ok {
            // A refused AUTHENTICATE offers every scheme again.
            let offers = r.headers.get_all("www-authenticate").iter().count();
            assert_eq!(offers, 4);
        }
    }
    // The identity sticks to the connection: no Authorization header needed any more.
    m.auth = None;
    let r = m.post("Connect", connect_body(&ts.alice.legacy_dn)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.response_code(), Some(0));
    // A continuation without a handshake in progress is refused.
    let mut m = Mapi::new(&ts, "emsmdb", &ts.alice, ALICE_PASSWORD).await;
    m.auth = Some("Negotiate oRswGaADCgEBohIEEE5UTE1TU1AAAwAAAAAAAAA=".to_owned());
    let r = m.post("PING", Vec::new()).await;
    assert_eq!(r.status, 401);
    ts.server.shutdown().await;
}

/// Whether the CHALLENGE's TargetInfo (MS-NLMP 2.2.1.2: TargetInfoFields at offset 40)
/// holds an AV_PAIR with this AvId.
fn has_av_pair(challenge: &[u8], id: u16) -> bool {
    let len = u16::from_le_bytes([challenge[40], challenge[41]]) as usize;
    let off = u32::from_le_bytes(challenge[44..48].try_into().unwrap()) as usize;
    let mut info = &challenge[off..off + len];
    while info.len() >= 4 {
        let av = u16::from_le_bytes([info[0], info[1]]);
        let n = u16::from_le_bytes([info[2], info[3]]) as usize;
        if av == id {
            return true;
        }
        if av == 0 {
            break;
        }
        info = &info[4 + n..];
    }
    false
}

#[tokio::test]
async fn exorginfo_reports_public_folders() {
    let ts = start().await;
    ts.server.store().set_public_folders(true).unwrap();
    let mut m = Mapi::new(&ts, "emsmdb", &ts.alice, ALICE_PASSWORD).await;
    let r = m.post("Connect", connect_body(&ts.alice.legacy_dn)).await;
    let body = r.mapi_body();
    // The body ends with AuxiliaryBufferSize 16 and the AUX_EXORGINFO block, OrgFlags
    // PUBLIC_FOLDERS_ENABLED (MS-OXCRPC 2.2.2.2.17).
    assert!(body.ends_with(&[
        16, 0, 0, 0, 0, 0, 4, 0, 8, 0, 8, 0, 8, 0, 1, 0x17, 1, 0, 0, 0
    ]));
    ts.server.shutdown().await;
}
