//! The RPC over HTTP v2 client against the embedded server (`oxmapi_server::serve`) on loopback
//! HTTPS: EMSMDB (EcDoConnectEx, EcDoRpcExt2 with RopLogon, EcDoDisconnect) and NSPI
//! (NspiBind, NspiResolveNamesW) at PKT_PRIVACY and PKT_INTEGRITY, and a wrong password.

use std::time::Duration;

use oxmapi_server::store::UserRecord;
use oxmapi_server::{RunningServer, ServerConfig, serve};
use oxmapi_transport::{
    AuthScheme, Credentials, EmsmdbRpc, HttpAuth, NspiRpc, RpcAuthLevel, RpcError, RpcHttpClient,
    RpcPort, TlsPolicy, TransportConfig,
};
use oxmapi_wire::dcerpc::nspi_types::Stat;
use oxmapi_wire::rop::{
    LogonRequest, ResponseContext, RopRequest, RopRequestBuffer, RopResponse, RopResponseBuffer,
    logon_flags, open_flags,
};
use oxmapi_wire::rpcext::{PackOptions, pack_segment, unpack_chain};

const PASSWORD: &str = "Passw0rd!";
const LIMIT: Duration = Duration::from_secs(30);

struct Lab {
    server: RunningServer,
    _dir: tempfile::TempDir,
    alice: UserRecord,
}

async fn lab() -> Lab {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = ServerConfig::new(dir.path());
    cfg.listen = "127.0.0.1:0".parse().unwrap();
    let server = serve(cfg).await.unwrap();
    let alice = server
        .store()
        .add_user("alice", "Alice Example", PASSWORD)
        .unwrap();
    Lab {
        server,
        _dir: dir,
        alice,
    }
}

impl Lab {
    fn client(&self, scheme: AuthScheme, password: &str) -> RpcHttpClient {
        let mut config = TransportConfig::new(format!(
            "https://127.0.0.1:{}",
            self.server.local_addr().port()
        ));
        config.tls.policy = TlsPolicy::CaFile(self.server.ca_path().to_path_buf());
        config.auth = Some(HttpAuth {
            scheme,
            credentials: Credentials {
                user: "alice".into(),
                domain: None,
                password: password.into(),
            },
        });
        RpcHttpClient::new(config).unwrap()
    }

    async fn emsmdb(&self, level: RpcAuthLevel) -> Result<EmsmdbRpc, RpcError> {
        let client = self.client(AuthScheme::Ntlm, PASSWORD);
        let server_name = &self.alice.personalized_server_name;
        let channel =
            tokio::time::timeout(LIMIT, client.connect(server_name, RpcPort::Emsmdb, level))
                .await
                .expect("connect must not hang")?;
        Ok(EmsmdbRpc::new(channel))
    }
}

fn logon_buffer(user_dn: &str) -> Vec<u8> {
    let request = RopRequestBuffer {
        rops: vec![RopRequest::Logon(LogonRequest {
            logon_id: 0,
            output_handle_index: 0,
            logon_flags: logon_flags::PRIVATE,
            open_flags: open_flags::USE_PER_MDB_REPLID_MAPPING | open_flags::HOME_LOGON,
            store_state: 0,
            essdn: Some(user_dn.to_owned()),
        })],
        handles: vec![u32::MAX],
    };
    pack_segment(&request.to_bytes().unwrap(), PackOptions::default()).unwrap()
}

async fn logon_round_trip(level: RpcAuthLevel) {
    let lab = lab().await;
    let mut emsmdb = lab.emsmdb(level).await.unwrap();
    let dn = lab.alice.legacy_dn.clone();
    let connect = emsmdb.connect_ex(&dn, 0).await.unwrap();
    assert!(!connect.handle.is_null());
    assert_eq!(connect.display_name.as_deref(), Some("Alice Example"));
    let (rgb_out, _aux) = emsmdb
        .rpc_ext2(0, &logon_buffer(&dn), 0x40000)
        .await
        .unwrap();
    let payloads = unpack_chain(&rgb_out).unwrap();
    let response =
        RopResponseBuffer::decode(&payloads[0], &[ResponseContext::Logon { private: true }])
            .unwrap();
    match &response.rops[0] {
        RopResponse::LogonPrivate(r) => assert_eq!(r.mailbox_guid, lab.alice.mailbox_guid),
        other => panic!("{other:?}"),
    }
    emsmdb.disconnect().await.unwrap();
    let stats = emsmdb.channel().stats();
    assert_eq!(stats.calls, 3);
    assert_eq!(stats.auth_level, Some(level));
    assert_eq!(stats.http.auth_scheme, Some(AuthScheme::Ntlm));
    assert!(stats.http.tls.is_some());
}

#[tokio::test]
async fn emsmdb_logon_at_privacy() {
    logon_round_trip(RpcAuthLevel::Privacy).await;
}

#[tokio::test]
async fn emsmdb_logon_at_integrity() {
    logon_round_trip(RpcAuthLevel::Integrity).await;
}

#[tokio::test]
async fn nspi_bind_and_resolve_names() {
    let lab = lab().await;
    for level in [RpcAuthLevel::Privacy, RpcAuthLevel::Integrity] {
        let client = lab.client(AuthScheme::Ntlm, PASSWORD);
        let channel = client
            .connect(&lab.alice.personalized_server_name, RpcPort::Nspi, level)
            .await
            .unwrap();
        let mut nspi = NspiRpc::new(channel);
        let stat = Stat {
            code_page: 1252,
            template_locale: 1033,
            sort_locale: 1033,
            ..Stat::default()
        };
        nspi.bind(stat).await.unwrap();
        let resolved = nspi.resolve_names(stat, &["alice"], None).await.unwrap();
        let mids = resolved.mids.unwrap();
        assert_eq!(mids.len(), 1);
        assert!(mids[0] > 2, "resolved to a real MId: {mids:?}");
        nspi.unbind().await.unwrap();
    }
}

#[tokio::test]
async fn basic_http_auth_carries_rpc_ntlm() {
    let lab = lab().await;
    let client = lab.client(AuthScheme::Basic, PASSWORD);
    let channel = client
        .connect(
            &lab.alice.personalized_server_name,
            RpcPort::Emsmdb,
            RpcAuthLevel::Privacy,
        )
        .await
        .unwrap();
    let mut emsmdb = EmsmdbRpc::new(channel);
    emsmdb.connect_ex(&lab.alice.legacy_dn, 0).await.unwrap();
    assert_eq!(
        emsmdb.channel().stats().http.auth_scheme,
        Some(AuthScheme::Basic)
    );
}

#[tokio::test]
async fn wrong_password_is_auth_failed() {
    let lab = lab().await;
    let client = lab.client(AuthScheme::Ntlm, "wrong");
    let err = client
        .connect(
            &lab.alice.personalized_server_name,
            RpcPort::Emsmdb,
            RpcAuthLevel::Privacy,
        )
        .await
        .unwrap_err();
    assert!(err.is_auth_failed(), "{err:?}");
}
