//! MAPI/HTTP session contexts (MS-OXCMAPIHTTP 3.1.5.1, 3.2.5.1): created by Connect (EMSMDB)
//! or Bind (NSPI), named by an opaque `MapiContext` cookie, checked on every later request,
//! expired after an idle timeout, destroyed by Disconnect/Unbind.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::Rng;

use crate::emsmdb::MailboxContext;

/// Cookie naming the session context.
pub(crate) const CONTEXT_COOKIE: &str = "MapiContext";

/// Which endpoint a session context belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    /// `/mapi/emsmdb/`
    Emsmdb,
    /// `/mapi/nspi/`
    Nspi,
}

/// One session context.
pub(crate) struct Session {
    pub(crate) endpoint: Endpoint,
    /// The authenticated user the context was created for.
    pub(crate) user_id: i64,
    /// GUID part of X-RequestId, fixed for the context's life (MS-OXCMAPIHTTP 2.2.3.3.2).
    request_guid: String,
    /// Last X-RequestId counter seen.
    last_counter: u64,
    last_used: Instant,
    /// The mailbox state (EMSMDB contexts only).
    pub(crate) mailbox: Option<Arc<Mutex<MailboxContext>>>,
}

/// Why a session lookup failed; maps to an X-ResponseCode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LookupError {
    /// No such context, or it expired: 10 Context Not Found.
    NotFound,
    /// It belongs to another user or endpoint: 11 No Privilege.
    NoPrivilege,
    /// X-RequestId changed its GUID or did not increase: 4 Invalid Header.
    BadRequestId,
}

/// All live session contexts.
pub(crate) struct SessionTable {
    idle_timeout: Duration,
    map: Mutex<HashMap<String, Session>>,
}

impl SessionTable {
    pub(crate) fn new(idle_timeout: Duration) -> Self {
        Self {
            idle_timeout,
            map: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn idle_timeout(&self) -> Duration {
        self.idle_timeout
    }

    /// Creates a context; returns its cookie value.
    pub(crate) fn create(
        &self,
        endpoint: Endpoint,
        user_id: i64,
        request_id: &RequestId,
        mailbox: Option<MailboxContext>,
    ) -> String {
        let cookie = random_token();
        let session = Session {
            endpoint,
            user_id,
            request_guid: request_id.guid.clone(),
            last_counter: request_id.counter,
            last_used: Instant::now(),
            mailbox: mailbox.map(|m| Arc::new(Mutex::new(m))),
        };
        let mut map = self.lock();
        self.sweep(&mut map);
        map.insert(cookie.clone(), session);
        cookie
    }

    /// Checks a context for a request and refreshes its idle timer; returns its mailbox state.
    pub(crate) fn touch(
        &self,
        cookie: &str,
        endpoint: Endpoint,
        user_id: i64,
        request_id: &RequestId,
    ) -> Result<Option<Arc<Mutex<MailboxContext>>>, LookupError> {
        let mut map = self.lock();
        self.sweep(&mut map);
        let s = map.get_mut(cookie).ok_or(LookupError::NotFound)?;
        if s.endpoint != endpoint || s.user_id != user_id {
            return Err(LookupError::NoPrivilege);
        }
        if !s.request_guid.eq_ignore_ascii_case(&request_id.guid)
            || request_id.counter <= s.last_counter
        {
            return Err(LookupError::BadRequestId);
        }
        s.last_counter = request_id.counter;
        s.last_used = Instant::now();
        Ok(s.mailbox.clone())
    }

    /// Destroys a context (Disconnect/Unbind).
    pub(crate) fn remove(&self, cookie: &str) {
        self.lock().remove(cookie);
    }

    /// Test hook: every context expires now.
    pub(crate) fn expire_all(&self) {
        self.lock().clear();
    }

    /// Live Server objects over all EMSMDB contexts (a test hook).
    pub(crate) fn object_count(&self) -> usize {
        let mut map = self.lock();
        self.sweep(&mut map);
        map.values()
            .filter_map(|s| s.mailbox.as_ref())
            .map(|m| {
                m.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .object_count()
            })
            .sum()
    }

    /// Number of live contexts.
    pub(crate) fn len(&self) -> usize {
        let mut map = self.lock();
        self.sweep(&mut map);
        map.len()
    }

    fn sweep(&self, map: &mut HashMap<String, Session>) {
        let timeout = self.idle_timeout;
        map.retain(|_, s| s.last_used.elapsed() < timeout);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        // A panic while holding the map leaves it consistent (single inserts/removes).
        self.map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Runs synchronous store work (the ROP and NSPI processing of a request: SQLite behind one
/// lock, see [`crate::store`]) without stalling an async worker thread. On a multi-threaded
/// runtime the worker hands its other tasks to the rest of the pool while `f` runs
/// (`tokio::task::block_in_place`), so one slow request does not hold the connections that
/// happen to share its worker; on a current-thread runtime (tests) or outside a runtime `f`
/// simply runs. Both transports (MAPI/HTTP and RPC/HTTP) call it.
pub(crate) fn store_work<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

/// A parsed X-RequestId: `{GUID}:<decimal counter>` (MS-OXCMAPIHTTP 2.2.3.3.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RequestId {
    pub(crate) guid: String,
    pub(crate) counter: u64,
}

impl RequestId {
    /// Parses the header value; `None` if it is not `<guid>:<decimal>`.
    pub(crate) fn parse(value: &str) -> Option<Self> {
        let (guid, counter) = value.rsplit_once(':')?;
        let bare = guid.trim_start_matches('{').trim_end_matches('}');
        uuid::Uuid::parse_str(bare).ok()?;
        Some(Self {
            guid: guid.to_owned(),
            counter: counter.parse().ok()?,
        })
    }
}

/// 32 random hex digits.
pub(crate) fn random_token() -> String {
    let bytes: [u8; 16] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rid(n: u64) -> RequestId {
        RequestId::parse(&format!("{{E2EA6C1C-E61B-49E9-9CFB-38184F907552}}:{n}")).unwrap()
    }

    #[test]
    fn request_id_parse() {
        assert_eq!(rid(123456).counter, 123456);
        assert!(RequestId::parse("nonsense").is_none());
        assert!(RequestId::parse("{E2EA6C1C-E61B-49E9-9CFB-38184F907552}:x").is_none());
    }

    #[test]
    fn lifecycle_and_checks() {
        let t = SessionTable::new(Duration::from_secs(60));
        let c = t.create(Endpoint::Nspi, 7, &rid(1), None);
        assert!(t.touch(&c, Endpoint::Nspi, 7, &rid(2)).is_ok());
        assert_eq!(
            t.touch(&c, Endpoint::Nspi, 7, &rid(2)).unwrap_err(),
            LookupError::BadRequestId
        );
        assert_eq!(
            t.touch(&c, Endpoint::Nspi, 8, &rid(3)).unwrap_err(),
            LookupError::NoPrivilege
        );
        assert_eq!(
            t.touch(&c, Endpoint::Emsmdb, 7, &rid(3)).unwrap_err(),
            LookupError::NoPrivilege
        );
        assert_eq!(
            t.touch("nope", Endpoint::Nspi, 7, &rid(3)).unwrap_err(),
            LookupError::NotFound
        );
        t.expire_all();
        assert_eq!(
            t.touch(&c, Endpoint::Nspi, 7, &rid(4)).unwrap_err(),
            LookupError::NotFound
        );
        let c = t.create(Endpoint::Nspi, 7, &rid(1), None);
        t.remove(&c);
        assert_eq!(t.len(), 0);
    }

    #[test]
    fn idle_expiry() {
        let t = SessionTable::new(Duration::ZERO);
        let c = t.create(Endpoint::Nspi, 7, &rid(1), None);
        assert_eq!(
            t.touch(&c, Endpoint::Nspi, 7, &rid(2)).unwrap_err(),
            LookupError::NotFound
        );
    }
}
