//! Activity of one connection: the requests in flight on it and since when it has none, for
//! the idle timeout of the HTTPS listener (`docs/server-limits.md`). A leaf: it imports no
//! other module of the server.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// Requests in flight on one connection and since when it has none (the idle timeout).
#[derive(Debug)]
pub(crate) struct Activity {
    state: Mutex<ActivityState>,
}

#[derive(Debug)]
struct ActivityState {
    in_flight: usize,
    idle_since: Instant,
}

impl Activity {
    /// A connection's activity, idle from now.
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(ActivityState {
                in_flight: 0,
                idle_since: Instant::now(),
            }),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ActivityState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// When the connection becomes idle for `timeout`; `None` while a request is in flight.
    pub(crate) fn idle_deadline(&self, timeout: Duration) -> Option<Instant> {
        let s = self.lock();
        (s.in_flight == 0).then(|| s.idle_since + timeout)
    }
}

/// One request in flight, from the moment hyper hands it to the service until its response
/// body was sent or dropped (so a streaming RPC/HTTP OUT channel counts as in flight).
#[derive(Debug)]
pub(crate) struct InFlight(Arc<Activity>);

impl InFlight {
    /// Counts one more request in flight on the connection of `activity`.
    pub(crate) fn start(activity: &Arc<Activity>) -> Self {
        activity.lock().in_flight += 1;
        Self(activity.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut s = self.0.lock();
        s.in_flight = s.in_flight.saturating_sub(1);
        if s.in_flight == 0 {
            s.idle_since = Instant::now();
        }
    }
}
