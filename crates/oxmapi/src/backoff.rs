//! Waiting for a busy server, within a bound.
//!
//! A server that wants the client to slow down either answers with RopBackoff in place of the
//! response of the ROP it delays (MS-OXCROPS 2.2.15.2; the delayed ROP's response and all
//! later ones are not in the buffer, 3.1.5.1.1), or fails the whole Execute / EcDoRpcExt2
//! with RPC_S_SERVER_TOO_BUSY (0x000006BB, MS-OXCROPS 3.2.4.2), which the client retries as
//! the Connect response's RetryCount and RetryDelay say (MS-OXCRPC 3.2.4.4). Either way
//! [`execute`] waits and resends, and gives up with MAPI_E_BUSY once one call has waited
//! [`RetryPolicy::backoff_budget`].

use std::borrow::Cow;
use std::time::Duration;

use oxmapi_wire::data::ErrorCode;
use oxmapi_wire::rop::{
    BackoffResponse, ResponseContext, RopId, RopRequest, RopRequestBuffer, RopResponse,
    RopResponseBuffer,
};

use crate::channel::Mailbox;
use crate::error::{Error, ErrorKind};

/// How long a [`Session`](crate::Session) waits for a busy server, and how long a send whose
/// answer was lost keeps looking for the message before it says "unknown".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Most time one call may spend waiting because the server asked it to back off
    /// (RopBackoff, or RPC_S_SERVER_TOO_BUSY); after it the call fails with `MAPI_E_BUSY`.
    /// A back-off that would end after it fails the call at once. Default 60 s.
    pub backoff_budget: Duration,
    /// How long [`NewMessage::send`](crate::NewMessage::send) keeps trying, with growing
    /// pauses, to reach the mailbox again and find the message after the answer to its
    /// RopSubmitMessage (or RopSaveChangesMessage) was lost, before it reports
    /// [`SendOutcome::Unknown`](crate::SendOutcome::Unknown). Default 30 s.
    pub check_window: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            backoff_budget: Duration::from_secs(60),
            check_window: Duration::from_secs(30),
        }
    }
}

/// RPC_S_SERVER_TOO_BUSY: the StatusCode of a failed MAPI/HTTP Execute, the return value or
/// fault status of a failed EcDoRpcExt2 (MS-OXCROPS 3.2.4.2).
pub(crate) const SERVER_TOO_BUSY: ErrorCode = ErrorCode(0x0000_06BB);

/// The shortest pause between two tries, so that a server answering "back off for 0 ms"
/// again and again cannot make the client spin.
const MIN_PAUSE: Duration = Duration::from_millis(100);

/// What one mailbox connection may wait: the policy's budget, and how the server asked
/// RPC_S_SERVER_TOO_BUSY to be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pacing {
    budget: Duration,
    busy_retries: u32,
    busy_delay: Duration,
}

impl Pacing {
    /// EcDoConnectEx's defaults (MS-OXCRPC 3.1.4.1: pcRetry 6, pcmsRetryDelay 10 s) until the
    /// Connect response says otherwise.
    pub(crate) fn new(policy: &RetryPolicy) -> Self {
        Self {
            budget: policy.backoff_budget,
            busy_retries: 6,
            busy_delay: Duration::from_secs(10),
        }
    }

    /// The same with another back-off budget.
    pub(crate) fn with_budget(mut self, budget: Duration) -> Self {
        self.budget = budget;
        self
    }

    /// Takes RetryCount / RetryDelay (ms) of the Connect response (MS-OXCMAPIHTTP 2.2.4.1.2;
    /// pcRetry / pcmsRetryDelay of EcDoConnectEx). Zero says nothing and keeps the default.
    pub(crate) fn with_connect(mut self, retry_count: u32, retry_delay_ms: u32) -> Self {
        if retry_count != 0 {
            self.busy_retries = retry_count;
        }
        if retry_delay_ms != 0 {
            self.busy_delay = Duration::from_millis(u64::from(retry_delay_ms));
        }
        self
    }
}

/// Runs `request` on `mailbox` like [`Mailbox::execute`], waiting and resending while the
/// server backs off. The responses of every round are returned in request order, with the
/// handle table of the last round.
pub(crate) async fn execute(
    mailbox: &mut Mailbox,
    pacing: &Pacing,
    step: &'static str,
    request: &RopRequestBuffer,
    contexts: &[ResponseContext],
) -> Result<(RopResponseBuffer, Vec<Vec<u8>>), Error> {
    let mut expected: Vec<ResponseContext> = contexts
        .iter()
        .filter(|c| c.expects_response())
        .cloned()
        .collect();
    let mut pending = Cow::Borrowed(request);
    let mut answers = Vec::new();
    let mut waited = Duration::ZERO;
    let mut busy = 0u32;
    loop {
        let (resp, chained) = match mailbox.execute(step, &pending, &expected).await {
            Ok(r) => r,
            Err(e) if e.code() == SERVER_TOO_BUSY => {
                busy += 1;
                let why = Delay::busy(pacing, busy);
                wait(step, pacing, &mut waited, why).await?;
                continue;
            }
            Err(e) => return Err(e),
        };
        let (mut answered, mut backoffs) = (0, Vec::new());
        for r in resp.rops {
            match r {
                RopResponse::Backoff(b) => backoffs.push(b),
                other => {
                    answered += usize::from(!other.is_special());
                    answers.push(other);
                }
            }
        }
        let rest = if backoffs.is_empty() {
            None
        } else {
            remaining(step, &pending, answered, &backoffs, resp.handles.clone())?
        };
        let Some(rest) = rest else {
            let handles = resp.handles;
            return Ok((
                RopResponseBuffer {
                    rops: answers,
                    handles,
                },
                chained,
            ));
        };
        expected.drain(..answered.min(expected.len()));
        let why = Delay::backoff(&backoffs, rest.rops.first().map(RopRequest::rop_id));
        pending = Cow::Owned(rest);
        wait(step, pacing, &mut waited, why).await?;
    }
}

/// How long to pause before the next try, and why.
struct Delay {
    pause: Duration,
    /// What the server said, for the error when the budget is spent.
    cause: String,
    /// The retries RPC_S_SERVER_TOO_BUSY allows are used up.
    out_of_retries: bool,
}

impl Delay {
    /// The `attempt`th RPC_S_SERVER_TOO_BUSY: the Connect response's RetryDelay, at most
    /// RetryCount times (MS-OXCRPC 3.2.4.4).
    fn busy(pacing: &Pacing, attempt: u32) -> Self {
        Self {
            pause: pacing.busy_delay,
            cause: format!(
                "the server answered RPC_S_SERVER_TOO_BUSY (0x000006BB) {attempt} time(s); it asks \
                 for at most {} retries {} ms apart",
                pacing.busy_retries,
                pacing.busy_delay.as_millis()
            ),
            out_of_retries: attempt > pacing.busy_retries,
        }
    }

    /// The longest Duration that applies to `delayed` (the first ROP still to send): the
    /// logon's, and that of every BackoffRopData naming it (MS-OXCROPS 2.2.15.2.1).
    fn backoff(backoffs: &[BackoffResponse], delayed: Option<RopId>) -> Self {
        let ms = backoffs
            .iter()
            .flat_map(|b| {
                let per_rop = b
                    .backoff_rops
                    .iter()
                    .filter(move |r| Some(r.rop_id) == delayed)
                    .map(|r| r.duration);
                std::iter::once(b.duration).chain(per_rop)
            })
            .max()
            .unwrap_or(0);
        let rop = delayed
            .and_then(RopId::name)
            .map_or_else(|| "the request".to_owned(), str::to_owned);
        Self {
            pause: Duration::from_millis(u64::from(ms)),
            cause: format!("the server answered RopBackoff, delaying {rop} for {ms} ms"),
            out_of_retries: false,
        }
    }
}

/// Pauses for `why`, or fails with MAPI_E_BUSY when the pause would take the call past its
/// budget.
async fn wait(
    step: &'static str,
    pacing: &Pacing,
    waited: &mut Duration,
    why: Delay,
) -> Result<(), Error> {
    let pause = why.pause.max(MIN_PAUSE);
    if why.out_of_retries || *waited + pause > pacing.budget {
        return Err(Error::new(
            ErrorKind::ServerBusy,
            ErrorCode::BUSY,
            format!(
                "the server is busy: {}; gave up after waiting {} ms (back-off budget {} ms per call)",
                why.cause,
                waited.as_millis(),
                pacing.budget.as_millis()
            ),
        )
        .at_step(step)
        .with_hint(
            "the server asked the client to back off: try again later, or allow a longer wait \
             (RetryPolicy::backoff_budget, oxmapi --backoff-budget)",
        ));
    }
    tracing::debug!(step, pause_ms = pause.as_millis(), cause = %why.cause, "backing off");
    tokio::time::sleep(pause).await;
    *waited += pause;
    Ok(())
}

/// The requests still to send after a RopBackoff: the delayed ROP and the ones after it
/// (MS-OXCROPS 3.1.5.1.1), over the handle table the response returned, which holds the
/// handles the answered ROPs created. `answered` responses came back; the delayed ROP is the
/// first later one that has a response, or a RopRelease before it that a BackoffRopData
/// names (RopRelease has no response: the other releases before it were processed). `None`
/// when nothing is left to send.
fn remaining(
    step: &'static str,
    sent: &RopRequestBuffer,
    answered: usize,
    backoffs: &[BackoffResponse],
    handles: Vec<u32>,
) -> Result<Option<RopRequestBuffer>, Error> {
    let has_response = |r: &RopRequest| r.rop_id() != RopId::RELEASE;
    let first_open = if answered == 0 {
        0
    } else {
        match sent
            .rops
            .iter()
            .enumerate()
            .filter(|(_, r)| has_response(r))
            .nth(answered - 1)
        {
            Some((i, _)) => i + 1,
            None => return Err(bad_backoff(step, "more answers than requests")),
        }
    };
    let named = |r: &RopRequest| {
        backoffs
            .iter()
            .any(|b| b.backoff_rops.iter().any(|x| x.rop_id == r.rop_id()))
    };
    let open = sent.rops.get(first_open..).unwrap_or_default();
    let Some(delayed) = open.iter().position(|r| has_response(r) || named(r)) else {
        return Ok(None);
    };
    if handles.len() != sent.handles.len() {
        return Err(bad_backoff(
            step,
            "the handle table changed length with a RopBackoff",
        ));
    }
    Ok(Some(RopRequestBuffer {
        rops: open[delayed..].to_vec(),
        handles,
    }))
}

fn bad_backoff(step: &'static str, what: &str) -> Error {
    Error::protocol(
        step,
        oxmapi_wire::DecodeError::invalid("RopBackoff", 0, what.to_owned()),
    )
}

#[cfg(test)]
mod tests {
    use oxmapi_wire::data::FolderId;
    use oxmapi_wire::rop::{BackoffRop, OpenFolderRequest, ReleaseRequest};

    use super::*;

    fn open(slot: u8) -> RopRequest {
        RopRequest::OpenFolder(OpenFolderRequest {
            logon_id: 0,
            input_handle_index: 0,
            output_handle_index: slot,
            folder_id: FolderId(u64::from(slot)),
            open_mode_flags: 0,
        })
    }

    fn release(slot: u8) -> RopRequest {
        RopRequest::Release(ReleaseRequest {
            logon_id: 0,
            input_handle_index: slot,
        })
    }

    fn backoff(rops: &[RopId]) -> BackoffResponse {
        BackoffResponse {
            logon_id: 0,
            duration: 100,
            backoff_rops: rops
                .iter()
                .map(|&rop_id| BackoffRop {
                    rop_id,
                    duration: 250,
                })
                .collect(),
            additional_data: Vec::new(),
        }
    }

    #[test]
    fn the_delayed_rop_and_the_rest_go_again_over_the_returned_handles() {
        let sent = RopRequestBuffer {
            rops: vec![release(4), open(1), release(5), open(2), open(3)],
            handles: vec![7, u32::MAX, u32::MAX, u32::MAX, 40, 50],
        };
        let returned = vec![7, 11, u32::MAX, u32::MAX, 40, 50];
        // One answer (the first RopOpenFolder); the release after it was processed.
        let rest = remaining("t", &sent, 1, &[backoff(&[])], returned.clone())
            .unwrap()
            .unwrap();
        assert_eq!(rest.rops, vec![open(2), open(3)]);
        assert_eq!(rest.handles, returned);
        // Nothing answered: everything from the first ROP with a response on.
        let rest = remaining("t", &sent, 0, &[backoff(&[])], sent.handles.clone())
            .unwrap()
            .unwrap();
        assert_eq!(rest.rops, sent.rops[1..].to_vec());
        // A BackoffRopData naming RopRelease delays the release itself.
        let rest = remaining(
            "t",
            &sent,
            1,
            &[backoff(&[RopId::RELEASE])],
            returned.clone(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(rest.rops, sent.rops[2..].to_vec());
    }

    #[test]
    fn nothing_left_or_a_confused_server() {
        let sent = RopRequestBuffer {
            rops: vec![open(1), release(1)],
            handles: vec![7, u32::MAX],
        };
        assert_eq!(
            remaining("t", &sent, 1, &[backoff(&[])], vec![7, 9]).unwrap(),
            None
        );
        assert!(remaining("t", &sent, 2, &[backoff(&[])], vec![7, 9]).is_err());
        assert!(remaining("t", &sent, 0, &[backoff(&[])], vec![7]).is_err());
    }

    #[test]
    fn the_longest_applicable_duration_is_waited() {
        let b = backoff(&[RopId::OPEN_FOLDER]);
        assert_eq!(
            Delay::backoff(std::slice::from_ref(&b), Some(RopId::OPEN_FOLDER)).pause,
            Duration::from_millis(250)
        );
        let d = Delay::backoff(std::slice::from_ref(&b), Some(RopId::QUERY_ROWS));
        assert_eq!(d.pause, Duration::from_millis(100));
        assert!(d.cause.contains("RopQueryRows"), "{}", d.cause);
    }

    #[test]
    fn busy_retries_follow_the_connect_response() {
        let p = Pacing::new(&RetryPolicy::default()).with_connect(2, 50);
        assert_eq!(p.busy_delay, Duration::from_millis(50));
        assert!(!Delay::busy(&p, 2).out_of_retries);
        assert!(Delay::busy(&p, 3).out_of_retries);
        let p = Pacing::new(&RetryPolicy::default()).with_connect(0, 0);
        assert_eq!((p.busy_retries, p.busy_delay), (6, Duration::from_secs(10)));
    }

    #[tokio::test]
    async fn a_wait_past_the_budget_is_mapi_e_busy() {
        let policy = RetryPolicy {
            backoff_budget: MIN_PAUSE + MIN_PAUSE / 2,
            ..RetryPolicy::default()
        };
        let pacing = Pacing::new(&policy);
        let mut waited = Duration::ZERO;
        let short = || Delay {
            pause: Duration::ZERO,
            cause: "the server answered RopBackoff".into(),
            out_of_retries: false,
        };
        wait("s", &pacing, &mut waited, short()).await.unwrap();
        assert_eq!(waited, MIN_PAUSE, "a zero pause is raised to the floor");
        let e = wait("s", &pacing, &mut waited, short()).await.unwrap_err();
        assert_eq!(e.code(), ErrorCode::BUSY);
        assert_eq!(e.mapi_name(), "MAPI_E_BUSY");
        assert!(e.is_server_busy());
        assert_eq!(e.step(), Some("s"));
        assert!(e.message().contains("RopBackoff"), "{e}");
        assert_eq!(waited, MIN_PAUSE);
        let mut fresh = Duration::ZERO;
        let spent = Delay {
            out_of_retries: true,
            ..short()
        };
        assert!(wait("s", &pacing, &mut fresh, spent).await.is_err());
        assert_eq!(
            fresh,
            Duration::ZERO,
            "no pause once the retries are used up"
        );
    }
}
