//! Attack 8: 500 wrong passwords for bob over Basic (RFC 7617) from 127.0.0.2, 16 at a
//! time. The server must keep answering the normal client (alice from 127.0.0.1), lock bob
//! out (the right password from the attacker's address is refused right after), let the
//! right password in again once the lockout is over, log the failures with user and
//! address, and never log a password.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use super::harness::{AttackCtx, Outcome, User};
use super::net::{ATTACKER, Mapi, Target, basic};

/// Every guessed password starts with this, so the server's log can be searched for them.
pub(crate) const GUESS_PREFIX: &str = "guess-7Qx";

/// Wrong passwords at least: the guessing goes on until the normal client's runs are done,
/// then to this count.
const GUESSES: usize = 500;
/// Wrong passwords at most.
const MAX_GUESSES: usize = 5000;
const WORKERS: usize = 16;

/// One PING (MS-OXCMAPIHTTP 2.2.6.5) to the mailbox endpoint with `password`; the status.
async fn attempt(
    m: &mut Option<Mapi>,
    target: &Target,
    user: &User,
    password: &str,
) -> Result<u16, String> {
    if m.is_none() {
        *m = Some(Mapi::open(target, ATTACKER, "emsmdb", user).await?);
    }
    let Some(conn) = m.as_mut() else {
        return Err("no connection".to_owned());
    };
    conn.auth = Some(basic(&user.alias, password));
    conn.cookies.clear();
    match conn.post("PING", Vec::new()).await {
        Ok(r) => Ok(r.status.as_u16()),
        Err(e) => {
            // The server may close the connection after a refusal: next time, a new one.
            *m = None;
            Err(e)
        }
    }
}

/// The right password for bob from the attacker's address, on a new connection.
async fn right_password(target: &Target, user: &User) -> Result<u16, String> {
    let mut m = None;
    attempt(&mut m, target, user, &user.password).await
}

pub(crate) async fn guess(ctx: AttackCtx) -> Outcome {
    let mut o = Outcome::default();
    let target = ctx.target();
    let next = Arc::new(AtomicUsize::new(0));
    let statuses: Arc<Mutex<BTreeMap<String, usize>>> = Arc::default();
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..WORKERS {
        let (target, user, next, statuses, ctx) = (
            target.clone(),
            ctx.bob.clone(),
            next.clone(),
            statuses.clone(),
            ctx.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut m = None;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= MAX_GUESSES || (i >= GUESSES && ctx.stopping()) {
                    break;
                }
                let key = match attempt(&mut m, &target, &user, &format!("{GUESS_PREFIX}-{i:04}"))
                    .await
                {
                    Ok(s) => s.to_string(),
                    Err(e) => format!("error: {}", e.split(':').next().unwrap_or_default()),
                };
                *statuses.lock().await.entry(key).or_default() += 1;
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let guessing = t0.elapsed();
    let statuses = statuses.lock().await.clone();
    let guesses: usize = statuses.values().sum();
    let accepted = statuses.get("200").copied().unwrap_or(0);
    o.check(
        accepted == 0,
        format!("{accepted} wrong passwords were accepted"),
    );

    // Locked out: the right password from the attacker's address is refused now.
    let during = right_password(&target, &ctx.bob).await;
    o.check(
        matches!(during, Ok(s) if s != 200),
        format!(
            "right password from {ATTACKER} right after {guesses} failures: {during:?} \
             (expected a refusal)"
        ),
    );

    // After the lockout window the right password works again.
    let lockout = ctx.limits.logon_lockout;
    let since_lock = Instant::now();
    tokio::time::sleep(lockout + Duration::from_millis(500)).await;
    let mut after = right_password(&target, &ctx.bob).await;
    while !matches!(after, Ok(200)) && since_lock.elapsed() < lockout * 4 + Duration::from_secs(2) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        after = right_password(&target, &ctx.bob).await;
    }
    o.check(
        matches!(after, Ok(200)),
        format!(
            "right password from {ATTACKER} {:.1}s after the attack (lockout {lockout:?}): {after:?}",
            since_lock.elapsed().as_secs_f64()
        ),
    );
    o.note = format!(
        "[{guesses} wrong Basic passwords for bob from {ATTACKER} ({WORKERS} at a time) in \
         {:.1}s: {statuses:?}; right password then: {during:?}; after lockout ({:.1}s): {after:?}]",
        guessing.as_secs_f64(),
        since_lock.elapsed().as_secs_f64()
    );
    o
}
