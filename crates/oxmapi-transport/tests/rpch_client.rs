//! The RPC over HTTP v2 client against a scripted RPC proxy + DCE/RPC server on loopback
//! (tests/rpch_support): virtual connection establishment, HTTP NTLM on both channels, NTLM
//! at PKT_PRIVACY / PKT_INTEGRITY, fragmentation, flow control, faults, and failures.

mod rpch_support;

use std::time::Duration;

use oxmapi_transport::{
    AuthScheme, Credentials, HttpAuth, NspiRpc, RpcAuthLevel, RpcError, RpcHttpClient, RpcPort,
    TransportConfig, TransportError,
};
use oxmapi_wire::dcerpc::FaultStatus;
use oxmapi_wire::dcerpc::nspi_types::Stat;
use oxmapi_wire::dcerpc::rts::RtsKind;
use rpch_support::{BAD_OPNUM, DOMAIN, Gate, PASSWORD, RpchServer, Script, USER};

const LIMIT: Duration = Duration::from_secs(20);

fn config(server: &RpchServer, password: &str) -> TransportConfig {
    let mut config = TransportConfig::new(server.url());
    config.auth = Some(HttpAuth {
        scheme: AuthScheme::Ntlm,
        credentials: Credentials {
            user: USER.into(),
            domain: Some(DOMAIN.into()),
            password: password.into(),
        },
    });
    config
}

async fn connect(
    server: &RpchServer,
    password: &str,
    level: RpcAuthLevel,
) -> Result<oxmapi_transport::RpcChannel, RpcError> {
    let client = RpcHttpClient::new(config(server, password)).unwrap();
    tokio::time::timeout(LIMIT, client.connect("EXSRV", RpcPort::Emsmdb, level))
        .await
        .expect("connect must not hang")
}

fn stub(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

fn reversed(mut v: Vec<u8>) -> Vec<u8> {
    v.reverse();
    v
}

#[tokio::test]
async fn privacy_over_http_ntlm_round_trips_small_and_fragmented_calls() {
    let server = RpchServer::start(Gate::Ntlm, Script::Normal).await;
    let mut channel = connect(&server, PASSWORD, RpcAuthLevel::Privacy)
        .await
        .unwrap();
    assert_eq!(
        channel.call(0, &stub(40)).await.unwrap(),
        reversed(stub(40))
    );
    // 20000 bytes: 4 request fragments of ≤ 5840 bytes and 4 sealed response fragments.
    for _ in 0..5 {
        let big = stub(20_000);
        assert_eq!(channel.call(3, &big).await.unwrap(), reversed(big));
    }
    let stats = channel.stats();
    assert_eq!(stats.calls, 6);
    assert_eq!(stats.http.connections, 2);
    assert_eq!(stats.http.auth_scheme, Some(AuthScheme::Ntlm));
    assert_eq!(stats.http.auth_challenges, 2);
    assert_eq!(stats.http.http_round_trips, 4);
    assert!(stats.header_signing);
    assert_eq!(stats.max_xmit_frag, 5840);
    assert_eq!(stats.auth_level, Some(RpcAuthLevel::Privacy));
    assert_eq!(stats.server_receive_window, 0x10000);
    // 5 × 20 KB received: half the 64 KiB window is crossed at least once.
    assert!(stats.flow_control_acks_sent >= 1, "{stats:?}");
    assert!(stats.http.bytes_received > 100_000);
    channel.close();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        server
            .rts_in()
            .contains(&RtsKind::FlowControlAckWithDestination)
    );
}

#[tokio::test]
async fn request_heads_follow_ms_rpch() {
    let server = RpchServer::start(Gate::Ntlm, Script::Normal).await;
    let mut channel = connect(&server, PASSWORD, RpcAuthLevel::Privacy)
        .await
        .unwrap();
    channel.call(0, b"ping").await.unwrap();
    let seen = server.seen();
    assert_eq!(seen.len(), 4, "{seen:?}");
    for s in &seen {
        assert_eq!(s.path, "/rpc/rpcproxy.dll?EXSRV:6001");
        assert_eq!(s.headers["accept"], "application/rpc");
        assert_eq!(s.headers["user-agent"], "MSRPC");
        assert_eq!(s.headers["cache-control"], "no-cache");
        assert_eq!(s.headers["pragma"], "No-cache");
        assert!(s.headers["authorization"].starts_with("NTLM "));
        assert!(!s.headers.contains_key("transfer-encoding"));
    }
    let out: Vec<_> = seen.iter().filter(|s| s.method == "RPC_OUT_DATA").collect();
    let inn: Vec<_> = seen.iter().filter(|s| s.method == "RPC_IN_DATA").collect();
    assert_eq!(out.len(), 2);
    assert_eq!(inn.len(), 2);
    // NTLM legs carry no body; the authenticated requests carry CONN/A1 and the 1 GiB stream.
    assert_eq!(out[0].headers["content-length"], "0");
    assert_eq!(out[1].headers["content-length"], "76");
    assert_eq!(inn[0].headers["content-length"], "0");
    assert_eq!(inn[1].headers["content-length"], "1073741824");
}

#[tokio::test]
async fn integrity_level_signs_without_sealing() {
    let server = RpchServer::start(Gate::None, Script::Normal).await;
    let mut channel = connect(&server, PASSWORD, RpcAuthLevel::Integrity)
        .await
        .unwrap();
    let big = stub(12_000);
    assert_eq!(channel.call(5, &big).await.unwrap(), reversed(big));
    assert_eq!(channel.stats().auth_level, Some(RpcAuthLevel::Integrity));
    assert_eq!(channel.stats().http.auth_scheme, None);
}

#[tokio::test]
async fn no_rpc_security_when_asked() {
    let server = RpchServer::start(Gate::None, Script::Normal).await;
    let mut channel = connect(&server, PASSWORD, RpcAuthLevel::None)
        .await
        .unwrap();
    assert_eq!(channel.call(1, &[1, 2, 3]).await.unwrap(), vec![3, 2, 1]);
    assert!(!channel.stats().header_signing);
}

#[tokio::test]
async fn wrong_http_password_is_auth_failed() {
    let server = RpchServer::start(Gate::Ntlm, Script::Normal).await;
    let err = connect(&server, "wrong", RpcAuthLevel::Privacy)
        .await
        .unwrap_err();
    assert!(err.is_auth_failed(), "{err}");
    assert!(
        matches!(err, RpcError::Transport(TransportError::AuthFailed { .. })),
        "{err:?}"
    );
    assert!(!err.to_string().contains("wrong"));
}

#[tokio::test]
async fn wrong_rpc_password_is_access_denied_on_the_first_call() {
    let server = RpchServer::start(Gate::None, Script::Normal).await;
    let mut channel = connect(&server, "wrong", RpcAuthLevel::Privacy)
        .await
        .unwrap();
    let err = channel.call(0, b"x").await.unwrap_err();
    assert_eq!(err.fault(), Some(FaultStatus::NCA_S_FAULT_ACCESS_DENIED));
    assert!(err.is_auth_failed());
}

#[tokio::test]
async fn proxy_503_is_a_typed_error_naming_it() {
    let server = RpchServer::start(Gate::None, Script::Proxy503).await;
    let err = connect(&server, PASSWORD, RpcAuthLevel::Privacy)
        .await
        .unwrap_err();
    match &err {
        RpcError::Proxy {
            channel,
            status,
            reason,
            ..
        } => {
            assert_eq!(*channel, "RPC_OUT_DATA");
            assert_eq!(*status, 503);
            assert_eq!(reason, "RPC Error: 6ba");
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("503 RPC Error: 6ba"), "{err}");
}

#[tokio::test]
async fn a_fault_is_typed_and_leaves_the_channel_usable() {
    let server = RpchServer::start(Gate::None, Script::Normal).await;
    let mut channel = connect(&server, PASSWORD, RpcAuthLevel::Privacy)
        .await
        .unwrap();
    let err = channel.call(BAD_OPNUM, b"abc").await.unwrap_err();
    assert_eq!(err.fault(), Some(FaultStatus::NCA_OP_RNG_ERROR));
    assert!(err.to_string().contains("nca_op_rng_error"), "{err}");
    assert!(err.to_string().contains("opnum 99"), "{err}");
    assert_eq!(channel.call(0, b"ok").await.unwrap(), b"ko");
}

#[tokio::test]
async fn a_bad_signature_is_a_bad_verifier() {
    let server = RpchServer::start(Gate::None, Script::BadSignature).await;
    let mut channel = connect(&server, PASSWORD, RpcAuthLevel::Privacy)
        .await
        .unwrap();
    let err = channel.call(0, b"abc").await.unwrap_err();
    assert!(matches!(err, RpcError::BadVerifier { .. }), "{err:?}");
    // The channel is closed after a verifier failure.
    let again = channel.call(0, b"abc").await.unwrap_err();
    assert!(matches!(again, RpcError::Closed(_)), "{again:?}");
}

#[tokio::test]
async fn an_out_channel_closed_mid_call_is_closed_not_a_hang() {
    let server = RpchServer::start(Gate::None, Script::CloseOutOnRequest).await;
    let mut channel = connect(&server, PASSWORD, RpcAuthLevel::Privacy)
        .await
        .unwrap();
    let err = tokio::time::timeout(LIMIT, channel.call(0, b"abc"))
        .await
        .expect("must not hang")
        .unwrap_err();
    assert!(matches!(err, RpcError::Closed(_)), "{err:?}");
    let again = channel.call(0, b"abc").await.unwrap_err();
    assert!(matches!(again, RpcError::Closed(_)), "{again:?}");
}

#[tokio::test]
async fn a_stalled_call_times_out() {
    let server = RpchServer::start(Gate::None, Script::Stall).await;
    let mut config = config(&server, PASSWORD);
    config.timeouts.body_idle = Duration::from_millis(300);
    let client = RpcHttpClient::new(config).unwrap();
    let mut channel = client
        .connect("EXSRV", RpcPort::Emsmdb, RpcAuthLevel::Privacy)
        .await
        .unwrap();
    let err = tokio::time::timeout(LIMIT, channel.call(0, b"abc"))
        .await
        .expect("must not hang")
        .unwrap_err();
    assert!(
        matches!(err, RpcError::Timeout { after_ms: 300, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn nspi_helper_binds_and_unbinds() {
    let server = RpchServer::start(Gate::Ntlm, Script::Normal).await;
    let client = RpcHttpClient::new(config(&server, PASSWORD)).unwrap();
    let channel = client
        .connect("EXSRV", RpcPort::Nspi, RpcAuthLevel::Privacy)
        .await
        .unwrap();
    assert!(channel.url().ends_with("/rpc/rpcproxy.dll?EXSRV:6004"));
    let mut nspi = NspiRpc::new(channel);
    let guid = nspi.bind(Stat::default()).await.unwrap();
    assert_eq!(guid, Some(oxmapi_wire::dcerpc::Uuid([9; 16])));
    nspi.unbind().await.unwrap();
    let err = nspi.dn_to_mid(&["/o=x"]).await.unwrap_err();
    assert!(matches!(err, RpcError::Protocol(_)), "{err:?}");
}

#[tokio::test]
async fn connection_refused_is_a_transport_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let client = RpcHttpClient::new(TransportConfig::new(format!("http://{addr}"))).unwrap();
    let err = client
        .connect("EXSRV", RpcPort::Emsmdb, RpcAuthLevel::None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, RpcError::Transport(TransportError::Connect { .. })),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_idle_in_channel_sends_pings_within_the_connection_timeout() {
    // MS-RPCH 3.2.2.6.1: the client pings the IN channel at least once per ConnectionTimeout
    // (CONN/A3, CONN/C2); ours pings every half of it. A 2 s timeout: a ping each second.
    let server = RpchServer::start_with_connection_timeout(Gate::None, Script::Normal, 2_000).await;
    let mut channel = connect(&server, PASSWORD, RpcAuthLevel::Privacy)
        .await
        .unwrap();
    let pings = || {
        server
            .rts_in()
            .into_iter()
            .filter(|k| *k == RtsKind::Ping)
            .count()
    };
    assert_eq!(pings(), 0, "no ping right after the connection opened");
    tokio::time::sleep(Duration::from_millis(2_600)).await;
    assert!(pings() >= 2, "pings after 2.6 s idle: {}", pings());
    // The channel still carries calls, pings interleaved or not.
    assert_eq!(
        channel.call(0, &stub(40)).await.unwrap(),
        reversed(stub(40))
    );
}
