//! Logon throttling, per account and per client address (no I/O, no clock: the caller passes
//! `now`, and sleeps the delay it is told).
//!
//! Each failed logon is counted twice, for the account it named (when there is one) and for
//! the client address. The first [`Limits::logon_free_failures`] failures are answered at once;
//! each further one only after [`Limits::logon_base_delay`] doubled per failure, up to
//! [`Limits::logon_max_delay`]. At [`Limits::logon_lockout_after`] failures the account (or the
//! address) is locked for [`Limits::logon_lockout`]: its logons are refused without looking at
//! the password, and attempts during the lockout neither count nor extend it. A counter whose
//! last failure is older than the lockout window is forgotten, like a lockout that ended, so the
//! right password works again afterwards. A successful logon resets its account's counter (not
//! the address's: a valid account must not buy an attacker more guesses at other accounts).
//! `logon_lockout_after == 0` disables lockouts.
//!
//! Memory is bounded: at most [`MAX_TRACKED`] accounts and as many addresses are remembered.
//! When a table is full, forgotten and ended records go first, then the oldest eighth of the
//! rest, unlocked records before locked ones. IPv6 clients are counted per /64 prefix, which a
//! single host usually holds whole.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::limits::Limits;

/// Most accounts, and separately most client addresses, whose failures are remembered.
pub(crate) const MAX_TRACKED: usize = 4096;

/// Longest account key kept (longer names are cut: they can only be unknown accounts).
const MAX_KEY_CHARS: usize = 128;

/// Failed-logon counters of one server.
pub(crate) struct Throttle {
    tables: Mutex<Tables>,
}

struct Tables {
    accounts: Table<String>,
    clients: Table<ClientKey>,
}

impl Default for Throttle {
    fn default() -> Self {
        Self::with_capacity(MAX_TRACKED)
    }
}

/// What one failed logon costs the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Failure {
    /// How long to wait before answering.
    pub(crate) delay: Duration,
    /// This failure locked the account.
    pub(crate) account_locked: bool,
    /// This failure locked the client address.
    pub(crate) client_locked: bool,
}

impl Throttle {
    /// Counters for at most `cap` accounts and `cap` addresses.
    pub(crate) fn with_capacity(cap: usize) -> Self {
        Self {
            tables: Mutex::new(Tables {
                accounts: Table::new(cap),
                clients: Table::new(cap),
            }),
        }
    }

    /// Whether logons for `account` (when named) or from `client` are refused at `now` without
    /// checking any credentials.
    pub(crate) fn is_locked(
        &self,
        limits: &Limits,
        account: Option<&str>,
        client: IpAddr,
        now: Instant,
    ) -> bool {
        let mut t = self.lock();
        let client = t.clients.is_locked(&ClientKey::of(client), limits, now);
        let account = account.is_some_and(|a| t.accounts.is_locked(&account_key(a), limits, now));
        client || account
    }

    /// Counts a failed logon for `account` (when named) and `client`.
    pub(crate) fn failed(
        &self,
        limits: &Limits,
        account: Option<&str>,
        client: IpAddr,
        now: Instant,
    ) -> Failure {
        let mut t = self.lock();
        let (client_delay, client_locked) = t.clients.fail(ClientKey::of(client), limits, now);
        let (account_delay, account_locked) = match account {
            Some(a) => t.accounts.fail(account_key(a), limits, now),
            None => (Duration::ZERO, false),
        };
        Failure {
            delay: client_delay.max(account_delay),
            account_locked,
            client_locked,
        }
    }

    /// A successful logon: the account starts over.
    pub(crate) fn succeeded(&self, account: &str) {
        self.lock().accounts.map.remove(&account_key(account));
    }

    /// Remembered accounts and addresses (for tests).
    #[cfg(test)]
    fn tracked(&self) -> (usize, usize) {
        let t = self.lock();
        (t.accounts.map.len(), t.clients.map.len())
    }

    fn lock(&self) -> MutexGuard<'_, Tables> {
        self.tables.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The account key: case-insensitive (aliases are), cut to [`MAX_KEY_CHARS`].
fn account_key(account: &str) -> String {
    account
        .chars()
        .take(MAX_KEY_CHARS)
        .flat_map(char::to_lowercase)
        .collect()
}

/// A client address as counted: IPv4 (also IPv4-mapped IPv6) whole, IPv6 by its /64 prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct ClientKey(IpAddr);

impl ClientKey {
    fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(_) => Self(ip),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self(IpAddr::V4(v4)),
                None => {
                    let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                    Self(IpAddr::V6(Ipv6Addr::from(prefix)))
                }
            },
        }
    }
}

/// Failures of one account or address.
#[derive(Debug, Clone, Copy)]
struct Record {
    failures: u32,
    last: Instant,
    locked_until: Option<Instant>,
}

impl Record {
    /// A lockout that ended, or a counter whose last failure left the window: forget it.
    fn expired(&self, limits: &Limits, now: Instant) -> bool {
        match self.locked_until {
            Some(until) => now >= until,
            None => now.saturating_duration_since(self.last) >= limits.logon_lockout,
        }
    }

    fn locked_at(&self, now: Instant) -> bool {
        self.locked_until.is_some_and(|until| now < until)
    }
}

struct Table<K> {
    map: HashMap<K, Record>,
    cap: usize,
}

impl<K: Hash + Eq> Table<K> {
    fn new(cap: usize) -> Self {
        Self {
            map: HashMap::new(),
            cap: cap.max(1),
        }
    }

    fn is_locked(&mut self, key: &K, limits: &Limits, now: Instant) -> bool {
        let Some(record) = self.map.get(key) else {
            return false;
        };
        if record.expired(limits, now) {
            self.map.remove(key);
            return false;
        }
        record.locked_at(now)
    }

    /// Counts one failure: the delay it earns and whether it starts a lockout.
    fn fail(&mut self, key: K, limits: &Limits, now: Instant) -> (Duration, bool) {
        if self.map.get(&key).is_some_and(|r| r.expired(limits, now)) {
            self.map.remove(&key);
        }
        if !self.map.contains_key(&key) && self.map.len() >= self.cap {
            self.evict(limits, now);
        }
        let record = self.map.entry(key).or_insert(Record {
            failures: 0,
            last: now,
            locked_until: None,
        });
        record.failures = record.failures.saturating_add(1);
        record.last = now;
        let starts = record.locked_until.is_none()
            && limits.logon_lockout_after > 0
            && record.failures >= limits.logon_lockout_after;
        if starts {
            record.locked_until = Some(now + limits.logon_lockout);
        }
        (delay_after(record.failures, limits), starts)
    }

    /// Makes room: expired records, then the oldest eighth (unlocked before locked).
    fn evict(&mut self, limits: &Limits, now: Instant) {
        self.map.retain(|_, r| !r.expired(limits, now));
        if self.map.len() < self.cap {
            return;
        }
        let mut order: Vec<(bool, Instant)> = self
            .map
            .values()
            .map(|r| (r.locked_at(now), r.last))
            .collect();
        let n = (self.cap / 8).clamp(1, order.len());
        let (_, &mut cutoff, _) = order.select_nth_unstable(n - 1);
        self.map.retain(|_, r| (r.locked_at(now), r.last) > cutoff);
    }
}

/// The wait before answering the `failures`-th failure in a row.
fn delay_after(failures: u32, limits: &Limits) -> Duration {
    let Some(over) = failures.checked_sub(limits.logon_free_failures.saturating_add(1)) else {
        return Duration::ZERO;
    };
    let factor = 1u32.checked_shl(over).unwrap_or(u32::MAX);
    limits
        .logon_base_delay
        .saturating_mul(factor)
        .min(limits.logon_max_delay)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn limits() -> Limits {
        Limits {
            logon_free_failures: 2,
            logon_base_delay: 10 * MS,
            logon_max_delay: 35 * MS,
            logon_lockout_after: 6,
            logon_lockout: 1000 * MS,
            ..Limits::default()
        }
    }

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 2));

    #[test]
    fn delays_double_then_cap_then_lock() {
        let l = limits();
        let t = Throttle::default();
        let now = Instant::now();
        let delays: Vec<_> = (0..6)
            .map(|_| t.failed(&l, Some("Alice"), A, now))
            .collect();
        let ms: Vec<_> = delays.iter().map(|f| f.delay.as_millis()).collect();
        assert_eq!(ms, [0, 0, 10, 20, 35, 35]);
        assert!(delays[..5].iter().all(|f| !f.account_locked));
        assert!(delays[5].account_locked && delays[5].client_locked);
        assert!(t.is_locked(&l, Some("alice"), B, now));
        assert!(t.is_locked(&l, Some("bob"), A, now), "the address too");
        assert!(!t.is_locked(&l, Some("bob"), B, now));
        // Inside the window still locked, after it forgotten.
        assert!(t.is_locked(&l, Some("ALICE"), B, now + 999 * MS));
        assert!(!t.is_locked(&l, Some("alice"), B, now + 1000 * MS));
        assert!(!t.is_locked(&l, None, A, now + 1000 * MS));
        // Counting starts over.
        let f = t.failed(&l, Some("alice"), A, now + 1001 * MS);
        assert_eq!((f.delay, f.account_locked), (Duration::ZERO, false));
    }

    #[test]
    fn success_resets_the_account_not_the_address() {
        let l = limits();
        let t = Throttle::default();
        let now = Instant::now();
        for _ in 0..4 {
            t.failed(&l, Some("alice"), A, now);
        }
        t.succeeded("ALICE");
        let f = t.failed(&l, Some("alice"), B, now);
        assert_eq!(f.delay, Duration::ZERO, "account starts over");
        let f = t.failed(&l, Some("carol"), A, now);
        assert_eq!(f.delay, 35 * MS, "address keeps its count (5th failure)");
    }

    #[test]
    fn counters_are_forgotten_after_the_window() {
        let l = limits();
        let t = Throttle::default();
        let now = Instant::now();
        for _ in 0..5 {
            t.failed(&l, Some("alice"), A, now);
        }
        let later = now + l.logon_lockout;
        let f = t.failed(&l, Some("alice"), A, later);
        assert_eq!((f.delay, f.account_locked), (Duration::ZERO, false));
    }

    #[test]
    fn zero_lockout_after_never_locks() {
        let mut l = limits();
        l.logon_lockout_after = 0;
        let t = Throttle::default();
        let now = Instant::now();
        for _ in 0..100 {
            assert!(!t.failed(&l, Some("alice"), A, now).account_locked);
        }
        assert!(!t.is_locked(&l, Some("alice"), A, now));
    }

    #[test]
    fn rotating_names_and_addresses_stays_bounded() {
        let l = limits();
        let t = Throttle::with_capacity(64);
        let now = Instant::now();
        // Lock one account first; it must survive the flood while unlocked records remain.
        for _ in 0..6 {
            t.failed(&l, Some("victim"), A, now);
        }
        for i in 0..10_000u32 {
            let ip = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            // All inside the lockout window (10 µs apart).
            let at = now + Duration::from_micros(10 * u64::from(i + 1));
            t.failed(&l, Some(&format!("user{i}")), ip, at);
            let (accounts, clients) = t.tracked();
            assert!(accounts <= 64 && clients <= 64, "{accounts} {clients}");
        }
        assert!(t.is_locked(&l, Some("victim"), B, now + 500 * MS));
    }

    #[test]
    fn ipv6_is_counted_per_64_and_mapped_v4_as_v4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(ClientKey::of(a), ClientKey::of(b));
        assert_ne!(ClientKey::of(a), ClientKey::of(c));
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(ClientKey::of(mapped), ClientKey::of(A));
    }

    #[test]
    fn long_names_are_cut() {
        let l = limits();
        let t = Throttle::default();
        let now = Instant::now();
        let long = "x".repeat(100_000);
        for _ in 0..6 {
            t.failed(&l, Some(&long), A, now);
        }
        assert!(t.is_locked(&l, Some(&"X".repeat(MAX_KEY_CHARS)), B, now));
    }
}
