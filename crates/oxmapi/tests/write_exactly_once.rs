//! Exactly-once sending when the connection breaks after RopSubmitMessage (or
//! RopSaveChangesMessage) was sent.
//!
//! A TLS-terminating proxy sits between client and server (`proxy_support`). For the first
//! Execute carrying the chosen ROP it forwards the request, waits for the server's whole
//! answer (so the ROP really ran), and drops the client's connection without relaying it;
//! it may then refuse the next requests, as a server that is restarting would. It counts
//! every Execute carrying RopSubmitMessage: the client must send exactly one.

mod proxy_support;
mod write_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use oxmapi::{DefaultFolder, EntryId, RetryPolicy, SendOutcome, Session};
use oxmapi_wire::data::tags;
use oxmapi_wire::rop::RopRequest;
use proxy_support::{Hook, Message, Plan};
use write_support::{ALICE_PW, Lab, lab};

/// Loses the answer of the first Execute carrying a ROP `lose` picks, then refuses the next
/// `refuse_after` requests.
struct LoseThenRefuse {
    lose: fn(&RopRequest) -> bool,
    refuse_after: usize,
    submits: AtomicUsize,
    lost: AtomicBool,
    refused: AtomicUsize,
}

impl LoseThenRefuse {
    fn new(lose: fn(&RopRequest) -> bool, refuse_after: usize) -> Arc<Self> {
        Arc::new(Self {
            lose,
            refuse_after,
            submits: AtomicUsize::new(0),
            lost: AtomicBool::new(false),
            refused: AtomicUsize::new(0),
        })
    }
}

impl Hook for LoseThenRefuse {
    fn plan(&self, request: &Message) -> Plan {
        if request.carries(|r| matches!(r, RopRequest::SubmitMessage(_))) {
            self.submits.fetch_add(1, Ordering::SeqCst);
        }
        if self.lost.load(Ordering::SeqCst) {
            let n = self.refused.fetch_add(1, Ordering::SeqCst);
            if n < self.refuse_after {
                return Plan::Refuse;
            }
            self.refused.fetch_sub(1, Ordering::SeqCst);
            return Plan::Relay;
        }
        if request.carries(self.lose) {
            self.lost.store(true, Ordering::SeqCst);
            // The server has answered: the ROP ran. The client never hears of it.
            return Plan::LoseAnswer;
        }
        Plan::Relay
    }
}

fn submit(r: &RopRequest) -> bool {
    matches!(r, RopRequest::SubmitMessage(_))
}

fn save(r: &RopRequest) -> bool {
    matches!(r, RopRequest::SaveChangesMessage(_))
}

/// Alice logged on through `hook`'s proxy, over MAPI/HTTP whatever OXMAPI_TEST_TRANSPORT
/// says (the proxy reads Execute bodies, MS-OXCMAPIHTTP 2.2.4.2).
async fn alice_via(lab: &Lab, hook: Arc<dyn Hook>, check_window: Duration) -> Session {
    let url = proxy_support::start(lab, hook).await;
    let mut params = Lab::params(&lab.alice, ALICE_PW);
    params.overrides.transport = Some(oxmapi_profile::Transport::MapiHttp);
    params.retry = RetryPolicy {
        check_window,
        ..RetryPolicy::default()
    };
    Session::logon(&lab.config_via(&url), params).await.unwrap()
}

fn message_to_bob(alice: &Session, subject: &str) -> oxmapi::NewMessage {
    let outbox = alice.default_folder_id(DefaultFolder::Outbox);
    let mut m = alice.new_message(outbox);
    m.set_subject(subject).set_body_text("hello").to("bob");
    m
}

/// The subjects in bob's Inbox.
async fn bobs_inbox(lab: &Lab) -> Vec<String> {
    let mut bob = lab.bob().await;
    let inbox = bob.default_folder_id(DefaultFolder::Inbox);
    let f = bob.get_folder(inbox).await.unwrap();
    let rows = f.messages().collect(&mut bob).await.unwrap();
    rows.iter()
        .map(|r| r.subject().unwrap_or_default())
        .collect()
}

#[tokio::test]
async fn a_lost_submit_answer_is_checked_not_resent() {
    let lab = lab().await;
    let hook = LoseThenRefuse::new(submit, 0);
    let mut alice = alice_via(&lab, hook.clone(), Duration::from_secs(30)).await;
    let m = message_to_bob(&alice, "exactly once");
    let id = m.internet_message_id().to_owned();
    let outcome = m.send(&mut alice).await.unwrap();
    assert!(
        hook.lost.load(Ordering::SeqCst),
        "the proxy never saw the submit"
    );
    assert_eq!(
        outcome,
        SendOutcome::Sent {
            internet_message_id: id,
            verified_after_reconnect: true
        }
    );
    assert_eq!(
        hook.submits.load(Ordering::SeqCst),
        1,
        "RopSubmitMessage was sent more than once"
    );
    assert_eq!(bobs_inbox(&lab).await, ["exactly once"]);
}

/// The mailbox is out of reach for the next three requests after the lost answer (a server
/// restarting): one immediate reconnect would report "unknown" for mail that was delivered.
#[tokio::test]
async fn the_check_keeps_trying_until_the_mailbox_is_back() {
    let lab = lab().await;
    let hook = LoseThenRefuse::new(submit, 3);
    let mut alice = alice_via(&lab, hook.clone(), Duration::from_secs(30)).await;
    let m = message_to_bob(&alice, "delivered while away");
    let id = m.internet_message_id().to_owned();
    let outcome = m.send(&mut alice).await.unwrap();
    assert_eq!(
        hook.refused.load(Ordering::SeqCst),
        3,
        "the client gave up before the mailbox came back"
    );
    assert_eq!(
        outcome,
        SendOutcome::Sent {
            internet_message_id: id,
            verified_after_reconnect: true
        }
    );
    assert_eq!(hook.submits.load(Ordering::SeqCst), 1);
    assert_eq!(bobs_inbox(&lab).await, ["delivered while away"]);
}

/// A mailbox that stays away: tried again with pauses until the window closes, then
/// "unknown", and the submit is still not resent.
#[tokio::test]
async fn a_mailbox_that_stays_away_is_unknown_after_the_window() {
    let lab = lab().await;
    let hook = LoseThenRefuse::new(submit, usize::MAX);
    let mut alice = alice_via(&lab, hook.clone(), Duration::from_secs(1)).await;
    let m = message_to_bob(&alice, "lost in transit");
    let id = m.internet_message_id().to_owned();
    let outcome = m.send(&mut alice).await.unwrap();
    match &outcome {
        SendOutcome::Unknown {
            internet_message_id,
            reason,
        } => {
            assert_eq!(internet_message_id, &id);
            assert!(reason.contains("tries"), "{reason}");
        }
        other => panic!("expected Unknown, got {other:?}"),
    }
    assert!(
        hook.refused.load(Ordering::SeqCst) > 1,
        "the client tried only once"
    );
    assert_eq!(hook.submits.load(Ordering::SeqCst), 1);
}

/// The answer to RopSaveChangesMessage is lost: the message was saved in the Outbox but
/// never submitted. The error says so and names the draft.
#[tokio::test]
async fn a_lost_save_answer_names_the_draft_left_behind() {
    let lab = lab().await;
    let hook = LoseThenRefuse::new(save, 1);
    let mut alice = alice_via(&lab, hook.clone(), Duration::from_secs(30)).await;
    let m = message_to_bob(&alice, "half saved");
    let e = m.send(&mut alice).await.unwrap_err();
    assert!(hook.lost.load(Ordering::SeqCst));
    assert_eq!(
        hook.submits.load(Ordering::SeqCst),
        0,
        "nothing was submitted"
    );
    let [draft] = e.drafts() else {
        panic!("no draft named: {e}");
    };
    assert_eq!(draft.folder, "Outbox");
    assert_eq!(draft.subject, "half saved");
    let entry_id = draft.entry_id.clone().expect("the draft's entry ID");
    let text = e.to_string();
    assert!(text.contains(&entry_id), "{text}");
    assert!(
        text.contains("Outbox") && text.contains("half saved"),
        "{text}"
    );
    assert!(text.contains("NOT sent"), "{text}");
    // The entry ID opens that very draft.
    let entry_id = EntryId::from_hex(&entry_id).unwrap();
    let found = alice.get_message(&entry_id).await.unwrap();
    assert_eq!(found.subject().as_deref(), Some("half saved"));
    assert!(bobs_inbox(&lab).await.is_empty());
}

/// `save()` whose answer is lost: the message is there, so the save succeeded, once.
#[tokio::test]
async fn a_lost_save_answer_of_a_draft_is_found_not_saved_twice() {
    let lab = lab().await;
    let hook = LoseThenRefuse::new(save, 0);
    let mut alice = alice_via(&lab, hook.clone(), Duration::from_secs(30)).await;
    let mut m = message_to_bob(&alice, "draft once");
    let mid = m.save(&mut alice).await.unwrap();
    assert!(hook.lost.load(Ordering::SeqCst));
    let outbox = alice.default_folder_id(DefaultFolder::Outbox);
    let f = alice.get_folder(outbox).await.unwrap();
    let rows = f
        .messages()
        .columns(&[tags::PidTagMid, tags::PidTagSubject])
        .collect(&mut alice)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "saved once");
    assert_eq!(rows[0].message_id(), Some(mid));
    assert_eq!(rows[0].subject().as_deref(), Some("draft once"));
}
