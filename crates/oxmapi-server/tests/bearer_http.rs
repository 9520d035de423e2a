//! Bearer tokens (RFC 6750) at the HTTP level: the 401 offers, a valid token on MAPI/HTTP and
//! on the RPC/HTTP proxy, and the one `error="invalid_token"` answer for expired, revoked and
//! unknown tokens.

#[path = "infra_support.rs"]
mod support;

use std::time::Duration;

use bytes::Bytes;
use http::Request;
use http_body_util::Full;
use support::*;

const HOUR: Duration = Duration::from_secs(3600);

fn token(ts: &TestServer, alias: &str, lifetime: Duration) -> String {
    ts.server
        .store()
        .issue_token(alias, lifetime)
        .unwrap()
        .unwrap()
        .token()
        .to_owned()
}

fn offers(r: &Resp) -> Vec<String> {
    r.headers
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn bearer_is_offered_and_a_valid_token_is_the_users() {
    let ts = start().await;
    let mut m = Mapi::new(&ts, "emsmdb", &ts.alice, ALICE_PASSWORD).await;
    m.auth = None;
    let r = m.post("PING", Vec::new()).await;
    assert_eq!(r.status, 401);
    // RFC 6750 3: no error attribute when the request carried no token.
    assert!(offers(&r).contains(&"Bearer realm=\"oxmapi\"".to_owned()));
    assert!(offers(&r).contains(&"NTLM".to_owned()));

    m.auth = Some(format!("Bearer {}", token(&ts, "alice", HOUR)));
    let r = m.post("PING", Vec::new()).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.response_code(), Some(0));

    // Alice's token on Bob's mailbox: authenticated as Alice, so refused by the endpoint
    // (X-ResponseCode 11 No Privilege or an HTTP refusal), never served.
    let mut b = Mapi::new(&ts, "emsmdb", &ts.bob, BOB_PASSWORD).await;
    b.auth = m.auth.clone();
    let r = b.post("PING", Vec::new()).await;
    assert!(
        r.status != 200 || r.response_code() != Some(0),
        "{:?} {:?}",
        r.status,
        r.response_code()
    );
    ts.server.shutdown().await;
}

#[tokio::test]
async fn expired_revoked_and_unknown_tokens_get_invalid_token() {
    let ts = start().await;
    let expired = token(&ts, "alice", Duration::ZERO);
    let revoked = token(&ts, "alice", HOUR);
    assert!(ts.server.store().revoke_token(&revoked).unwrap());
    // One answer for all three: the reason is only in the server's debug log.
    let why = "the token is not valid; obtain a new token";
    for t in [expired, revoked, "oxmapi_neverIssued".to_owned()] {
        let mut m = Mapi::new(&ts, "emsmdb", &ts.alice, ALICE_PASSWORD).await;
        m.auth = Some(format!("Bearer {t}"));
        let r = m.post("PING", Vec::new()).await;
        assert_eq!(r.status, 401, "{why}");
        let want = format!(
            "Bearer realm=\"oxmapi\", error=\"invalid_token\", error_description=\"{why}\""
        );
        assert!(offers(&r).contains(&want), "{:?}", offers(&r));
        assert!(!offers(&r).iter().any(|o| o.contains(&t)));
        // Nothing stuck to the connection.
        m.auth = None;
        assert_eq!(m.post("PING", Vec::new()).await.status, 401);
    }
    ts.server.shutdown().await;
}

/// The RPC/HTTP proxy authenticates its channels the same way (MS-RPCH 2.1.2.1).
#[tokio::test]
async fn rpc_proxy_takes_bearer_tokens() {
    let ts = start().await;
    let path = format!(
        "/rpc/rpcproxy.dll?{}:6001",
        ts.alice.personalized_server_name
    );
    let out_data = |t: &str| {
        Request::builder()
            .method("RPC_OUT_DATA")
            .uri(path.as_str())
            .header("host", "127.0.0.1")
            .header("authorization", format!("Bearer {t}"))
            .header("content-length", "0")
            .body(Full::new(Bytes::new()))
            .unwrap()
    };
    let expired = token(&ts, "alice", Duration::ZERO);
    let mut conn = Conn::open(&ts.server).await;
    let r = conn.send(out_data(&expired)).await;
    assert_eq!(r.status, 401);
    assert!(
        offers(&r)
            .iter()
            .any(|o| o.contains("error=\"invalid_token\"")),
        "{:?}",
        offers(&r)
    );
    // A valid token gets past authentication (a real OUT channel would now stream; an empty
    // one is refused by the proxy itself, or kept open: either way not a 401).
    let good = token(&ts, "alice", HOUR);
    let mut conn = Conn::open(&ts.server).await;
    if let Ok(r) = tokio::time::timeout(Duration::from_secs(5), conn.send(out_data(&good))).await {
        assert_ne!(r.status, 401, "{:?}", offers(&r));
    }
    ts.server.shutdown().await;
}
