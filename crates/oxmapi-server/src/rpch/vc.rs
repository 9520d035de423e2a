//! Pairing of the two HTTP channels of a virtual connection (MS-RPCH 3.2.3.5.3, 3.2.4.5.2):
//! the OUT channel registers under the VirtualConnectionCookie of its CONN/A1, the IN channel
//! claims that registration with the cookie of its CONN/B1.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use oxmapi_wire::dcerpc::Uuid;
use tokio::sync::{Notify, mpsc};

/// An OUT channel waiting for its IN channel is dropped after this long.
const UNPAIRED_LIFETIME: Duration = Duration::from_secs(60);

/// The OUT channel half of a virtual connection, as its IN channel receives it.
#[derive(Debug)]
pub(crate) struct OutChannel {
    /// The user the OUT channel's HTTP request authenticated.
    pub(crate) user_id: i64,
    /// OutChannelCookie of CONN/A1.
    pub(crate) cookie: Uuid,
    /// The client's ReceiveWindowSize of CONN/A1 (bytes it accepts before acknowledging).
    pub(crate) receive_window: u32,
    /// The OUT response body: every PDU for the client goes here.
    pub(crate) tx: mpsc::Sender<Bytes>,
}

struct Pending {
    out: OutChannel,
    since: Instant,
}

/// Virtual connections whose OUT channel arrived and whose IN channel did not yet.
#[derive(Default)]
pub(crate) struct VcRegistry {
    pending: Mutex<HashMap<Uuid, Pending>>,
    arrived: Notify,
    /// Bumped by [`VcRegistry::expire_mailboxes`]: an EMSMDB virtual connection established
    /// under an older value closes at its next PDU (test hook).
    epoch: AtomicU64,
    /// Live server objects of every RPC/HTTP mailbox context, by context handle (test hook).
    objects: Mutex<HashMap<Uuid, usize>>,
}

/// Why an IN channel could not be paired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PairError {
    /// No OUT channel with that cookie arrived in time.
    #[error("no OUT channel for the virtual connection cookie")]
    Timeout,
    /// The OUT channel belongs to another user.
    #[error("the OUT channel was opened by another user")]
    OtherUser,
}

impl VcRegistry {
    /// Registers an OUT channel under its virtual connection cookie.
    pub(crate) fn register(&self, vc: Uuid, out: OutChannel) {
        let mut map = self.lock();
        map.retain(|_, p| p.since.elapsed() < UNPAIRED_LIFETIME && !p.out.tx.is_closed());
        map.insert(
            vc,
            Pending {
                out,
                since: Instant::now(),
            },
        );
        drop(map);
        self.arrived.notify_waiters();
    }

    /// Takes the OUT channel of `vc`, waiting up to `wait` for it to arrive.
    pub(crate) async fn claim(
        &self,
        vc: Uuid,
        user_id: i64,
        wait: Duration,
    ) -> Result<OutChannel, PairError> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let notified = self.arrived.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(p) = self.lock().remove(&vc) {
                return if p.out.user_id == user_id {
                    Ok(p.out)
                } else {
                    Err(PairError::OtherUser)
                };
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Err(PairError::Timeout);
            }
        }
    }

    /// The current mailbox epoch (see [`VcRegistry::expire_mailboxes`]).
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    /// Test hook: every EMSMDB virtual connection closes at its next PDU, which destroys its
    /// session contexts (the client sees the connection end, as after a server restart).
    pub(crate) fn expire_mailboxes(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
    }

    /// Records the live object count of a mailbox context (`None`: the context is gone).
    pub(crate) fn set_objects(&self, context: Uuid, count: Option<usize>) {
        let mut map = self
            .objects
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match count {
            Some(n) => map.insert(context, n),
            None => map.remove(&context),
        };
    }

    /// Live objects over all RPC/HTTP mailbox contexts.
    pub(crate) fn object_count(&self) -> usize {
        self.objects
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .values()
            .sum()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Pending>> {
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
