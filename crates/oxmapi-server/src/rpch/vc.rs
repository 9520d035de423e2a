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

/// Longest an OUT channel waits for its IN channel before it is dropped (its response ends
/// and its connection closes); [`VcRegistry::new`] may shorten it.
const MAX_UNPAIRED_LIFETIME: Duration = Duration::from_secs(60);

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
pub(crate) struct VcRegistry {
    pending: Mutex<HashMap<Uuid, Pending>>,
    /// How long an OUT channel may wait for its IN channel.
    unpaired_lifetime: Duration,
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
    /// The virtual connection cookie belongs to another user's channel.
    #[error("the virtual connection cookie belongs to another user's channel")]
    OtherUser,
}

impl Default for VcRegistry {
    fn default() -> Self {
        Self::new(MAX_UNPAIRED_LIFETIME)
    }
}

impl VcRegistry {
    /// A registry whose unpaired OUT channels are dropped after `unpaired_lifetime` (at most
    /// 60 s) once [`VcRegistry::sweep`] runs.
    pub(crate) fn new(unpaired_lifetime: Duration) -> Self {
        Self {
            pending: Mutex::default(),
            unpaired_lifetime: unpaired_lifetime.min(MAX_UNPAIRED_LIFETIME),
            arrived: Notify::new(),
            epoch: AtomicU64::new(0),
            objects: Mutex::default(),
        }
    }

    /// How often [`VcRegistry::sweep`] should run.
    pub(crate) fn sweep_interval(&self) -> Duration {
        (self.unpaired_lifetime / 2).max(Duration::from_millis(100))
    }

    /// Drops the OUT channels that waited longer than the unpaired lifetime for their IN
    /// channel, or whose client went away: their response bodies end, their connections close
    /// (an authenticated client cannot park OUT channels forever).
    pub(crate) fn sweep(&self) {
        let dropped = self.prune(&mut self.lock());
        if dropped > 0 {
            tracing::debug!(dropped, "rpc out channels never paired: dropped");
        }
    }

    /// Removes the OUT channels past the unpaired lifetime or whose client went away;
    /// returns how many.
    fn prune(&self, map: &mut HashMap<Uuid, Pending>) -> usize {
        let before = map.len();
        let lifetime = self.unpaired_lifetime;
        map.retain(|_, p| p.since.elapsed() < lifetime && !p.out.tx.is_closed());
        before - map.len()
    }

    /// Registers an OUT channel under its virtual connection cookie. A pending OUT channel of
    /// the same user is replaced (its response ends); one of another user is kept and this
    /// one refused: a cookie never lets a user tear down someone else's channel (both halves
    /// of a virtual connection belong to one authenticated client, MS-RPCH 2.1.2.1).
    pub(crate) fn register(&self, vc: Uuid, out: OutChannel) -> Result<(), PairError> {
        let user_id = out.user_id;
        let owner = {
            let mut map = self.lock();
            self.prune(&mut map);
            match map.get(&vc).map(|p| p.out.user_id) {
                Some(owner) if owner != user_id => Some(owner),
                _ => {
                    map.insert(
                        vc,
                        Pending {
                            out,
                            since: Instant::now(),
                        },
                    );
                    None
                }
            }
        };
        if let Some(owner) = owner {
            tracing::warn!(
                user_id,
                owner_id = owner,
                "rpc out channel refused: its virtual connection cookie is another user's"
            );
            return Err(PairError::OtherUser);
        }
        self.arrived.notify_waiters();
        Ok(())
    }

    /// Takes the OUT channel of `vc`, waiting up to `wait` for it to arrive. An OUT channel of
    /// another user is refused and stays registered for its owner.
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
            // The owner is checked before anything is taken: another user's IN channel
            // leaves the pending OUT channel to its owner (MS-RPCH 2.1.2.1).
            let found = {
                let mut map = self.lock();
                match map.get(&vc).map(|p| p.out.user_id) {
                    Some(owner) if owner == user_id => map.remove(&vc).map(|p| Ok(p.out)),
                    Some(owner) => Some(Err(owner)),
                    None => None,
                }
            };
            match found {
                Some(Ok(out)) => return Ok(out),
                Some(Err(owner)) => {
                    tracing::warn!(
                        user_id,
                        owner_id = owner,
                        "rpc in channel refused: its virtual connection cookie is another user's"
                    );
                    return Err(PairError::OtherUser);
                }
                None => {}
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
