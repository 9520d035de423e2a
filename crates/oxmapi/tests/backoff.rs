//! A server asking the client to back off, through a proxy in front of the lab server that
//! rewrites its answers on cue (MAPI/HTTP):
//!
//! - RopBackoff after the first answers of a request (MS-OXCROPS 2.2.15.2, 3.1.5.1.1): the
//!   client waits, then resends the delayed ROP and the ones after it over the handle table
//!   the response returned;
//! - RPC_S_SERVER_TOO_BUSY as the StatusCode of a failed Execute (MS-OXCROPS 3.2.4.2):
//!   retried as often and as far apart as the Connect response's RetryCount and RetryDelay
//!   say (MS-OXCRPC 3.2.4.4);
//! - either one for longer than the call may wait: MAPI_E_BUSY, naming the back-off.

mod proxy_support;
mod write_support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use oxmapi::{DefaultFolder, ErrorKind, RetryPolicy, Session};
use oxmapi_wire::data::{ErrorCode, tags};
use oxmapi_wire::rop::{BackoffResponse, BackoffRop, RopId, RopRequest, RopRequestBuffer};
use proxy_support::{Hook, Message, Plan};
use write_support::{ALICE_PW, Lab, lab};

/// Logs alice on through `hook`'s proxy, over MAPI/HTTP whatever OXMAPI_TEST_TRANSPORT says
/// (the proxy reads Execute bodies).
async fn alice_via(lab: &Lab, hook: Arc<dyn Hook>, retry: RetryPolicy) -> Session {
    let url = proxy_support::start(lab, hook).await;
    let mut params = Lab::params(&lab.alice, ALICE_PW);
    params.overrides.transport = Some(oxmapi_profile::Transport::MapiHttp);
    params.retry = retry;
    Session::logon(&lab.config_via(&url), params).await.unwrap()
}

fn backoff(rop: RopId, ms: u32) -> BackoffResponse {
    BackoffResponse {
        logon_id: 0,
        duration: ms / 2,
        backoff_rops: vec![BackoffRop {
            rop_id: rop,
            duration: ms,
        }],
        additional_data: Vec::new(),
    }
}

/// What the proxy saw around the RopBackoff.
#[derive(Default)]
struct Seen {
    backoff_sent: bool,
    /// The handle table the server returned with the RopOpenFolder answer.
    returned: Option<Vec<u32>>,
    /// The Execute that came next.
    resent: Option<RopRequestBuffer>,
}

/// `get_folder` is RopOpenFolder, RopGetPropertiesSpecific on the folder, RopRelease. The
/// proxy lets the server run RopOpenFolder alone and adds a RopBackoff for
/// RopGetPropertiesSpecific after its answer.
#[derive(Default)]
struct BackoffAfterOpen {
    seen: Arc<Mutex<Seen>>,
}

impl Hook for BackoffAfterOpen {
    fn plan(&self, request: &Message) -> Plan {
        let Some((exec, rops)) = request.execute_rops() else {
            return Plan::Relay;
        };
        let mut seen = self.seen.lock().unwrap();
        if seen.backoff_sent {
            seen.resent.get_or_insert(rops);
            return Plan::Relay;
        }
        if rops.rops.len() < 2 || !matches!(rops.rops[0], RopRequest::OpenFolder(_)) {
            return Plan::Relay;
        }
        seen.backoff_sent = true;
        let first = RopRequestBuffer {
            rops: rops.rops[..1].to_vec(),
            handles: rops.handles.clone(),
        };
        let delayed = rops.rops[1].rop_id();
        let record = self.seen.clone();
        Plan::Rewrite {
            request: request.with_rops(&exec, &first),
            response: Box::new(move |answer: Message| {
                record.lock().unwrap().returned = Some(answer.execute_handles());
                answer.with_backoff(&backoff(delayed, 150), true)
            }),
        }
    }
}

#[tokio::test]
async fn a_rop_backoff_resends_the_delayed_rop_and_the_rest_over_the_returned_handles() {
    let lab = lab().await;
    let hook = Arc::new(BackoffAfterOpen::default());
    let mut alice = alice_via(&lab, hook.clone(), RetryPolicy::default()).await;
    let inbox = alice.default_folder_id(DefaultFolder::Inbox);
    let folder = alice.get_folder(inbox).await.unwrap();
    assert_eq!(folder.name(), "Inbox");
    assert_eq!(folder.id(), inbox);

    let seen = hook.seen.lock().unwrap();
    assert!(seen.backoff_sent, "the proxy never sent the RopBackoff");
    let returned = seen.returned.clone().unwrap();
    let resent = seen.resent.clone().expect("nothing was resent");
    let ids: Vec<RopId> = resent.rops.iter().map(RopRequest::rop_id).collect();
    assert_eq!(
        ids,
        [RopId::GET_PROPERTIES_SPECIFIC, RopId::RELEASE],
        "the delayed ROP and the one after it, not the answered RopOpenFolder"
    );
    assert_eq!(
        resent.handles, returned,
        "the handle table the server returned"
    );
    assert_ne!(returned[1], u32::MAX, "RopOpenFolder's handle is in slot 1");
}

/// Answers the first `fails` Executes carrying RopGetPropertiesSpecific on the logon with
/// `how`, and tells the client to retry busy calls `retries` times, 100 ms apart.
struct Busy {
    fails: usize,
    retries: u32,
    how: fn(Message) -> Message,
    seen: AtomicUsize,
}

impl Hook for Busy {
    fn plan(&self, request: &Message) -> Plan {
        if request
            .request_type()
            .is_some_and(|t| t.eq_ignore_ascii_case("connect"))
        {
            let retries = self.retries;
            return Plan::Rewrite {
                request: request.clone(),
                response: Box::new(move |a: Message| a.with_connect_retry(retries, 100)),
            };
        }
        let store_props = request.carries(
            |r| matches!(r, RopRequest::GetPropertiesSpecific(g) if g.input_handle_index == 0),
        );
        if !store_props {
            return Plan::Relay;
        }
        let n = self.seen.fetch_add(1, Ordering::SeqCst);
        if n >= self.fails {
            return Plan::Relay;
        }
        // The server runs the (read-only) request; the client hears that it was busy.
        Plan::Rewrite {
            request: request.clone(),
            response: Box::new(self.how),
        }
    }
}

fn too_busy(answer: Message) -> Message {
    answer.with_execute_failure(0x0000_06BB)
}

fn backoff_instead(answer: Message) -> Message {
    answer.with_backoff(&backoff(RopId::GET_PROPERTIES_SPECIFIC, 200), false)
}

#[tokio::test]
async fn server_too_busy_is_retried_as_the_connect_response_says() {
    let lab = lab().await;
    let hook = Arc::new(Busy {
        fails: 2,
        retries: 6,
        how: too_busy,
        seen: AtomicUsize::new(0),
    });
    let mut alice = alice_via(&lab, hook.clone(), RetryPolicy::default()).await;
    let row = alice
        .store_properties(&[tags::PidTagDisplayName])
        .await
        .unwrap();
    assert!(!row.values.is_empty(), "{row:?}");
    assert_eq!(
        hook.seen.load(Ordering::SeqCst),
        3,
        "two busy answers, one retry each"
    );
}

#[tokio::test]
async fn server_too_busy_past_the_retry_count_is_mapi_e_busy() {
    let lab = lab().await;
    let hook = Arc::new(Busy {
        fails: usize::MAX,
        retries: 2,
        how: too_busy,
        seen: AtomicUsize::new(0),
    });
    let mut alice = alice_via(&lab, hook.clone(), RetryPolicy::default()).await;
    let e = alice
        .store_properties(&[tags::PidTagDisplayName])
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::BUSY, "{e}");
    assert_eq!(e.kind(), ErrorKind::ServerBusy);
    assert!(e.message().contains("RPC_S_SERVER_TOO_BUSY"), "{e}");
    assert_eq!(
        hook.seen.load(Ordering::SeqCst),
        3,
        "the first try and RetryCount (2) retries"
    );
}

#[tokio::test]
async fn a_backoff_longer_than_the_budget_is_mapi_e_busy_and_the_session_lives_on() {
    let lab = lab().await;
    let hook = Arc::new(Busy {
        fails: usize::MAX,
        retries: 6,
        how: backoff_instead,
        seen: AtomicUsize::new(0),
    });
    let retry = RetryPolicy {
        backoff_budget: Duration::from_millis(300),
        ..RetryPolicy::default()
    };
    let mut alice = alice_via(&lab, hook.clone(), retry).await;
    let e = alice
        .store_properties(&[tags::PidTagDisplayName])
        .await
        .unwrap_err();
    assert!(e.is_server_busy(), "{e}");
    assert_eq!(e.mapi_name(), "MAPI_E_BUSY");
    assert!(e.message().contains("RopBackoff"), "{e}");
    assert!(e.message().contains("RopGetPropertiesSpecific"), "{e}");
    assert!(e.hint().is_some());
    // 200 ms fits the 300 ms budget once; the second back-off would not.
    assert_eq!(hook.seen.load(Ordering::SeqCst), 2);
    // Other calls still work.
    let inbox = alice.default_folder_id(DefaultFolder::Inbox);
    assert_eq!(alice.get_folder(inbox).await.unwrap().name(), "Inbox");
}
