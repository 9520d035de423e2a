//! Attack 9: random bytes at every endpoint, from a seeded RNG (the seed is printed; set
//! `OXMAPI_ATTACK_SEED` to replay a run):
//!
//! * `/mapi/emsmdb/` and `/mapi/nspi/` POSTs with random bodies and random or real
//!   X-RequestType values (MS-OXCMAPIHTTP 2.2.3.1.1), with and without a valid session
//!   context cookie, including Execute bodies whose ROP buffer is random behind a valid
//!   RPC_HEADER_EXT;
//! * `/rpc/rpcproxy.dll` RPC_IN_DATA and RPC_OUT_DATA with random bodies;
//! * random bytes on a fresh TCP connection, before any TLS.
//!
//! Every request must be answered or its connection closed within a bound; the server must
//! stay up.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use oxmapi_wire::Encode;
use oxmapi_wire::mapihttp::nspi::BindRequest;
use oxmapi_wire::mapihttp::stat::Stat;
use oxmapi_wire::rpcext::{PackOptions, pack_segment};
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Mutex;

use super::harness::{AttackCtx, Outcome, User};
use super::net::{ATTACKER, Mapi, Target, basic, rpc_head};

/// Requests at least (the attack goes on until the runner says stop, then to this count).
const MIN_REQUESTS: usize = 400;
/// Requests at most.
const MAX_REQUESTS: usize = 1500;
const WORKERS: usize = 6;

const REQUEST_TYPES: &[&str] = &[
    "Connect",
    "Execute",
    "Disconnect",
    "NotificationWait",
    "PING",
    "Bind",
    "Unbind",
    "CompareMIds",
    "DNToMId",
    "GetMatches",
    "GetPropList",
    "GetProps",
    "GetSpecialTable",
    "GetTemplateInfo",
    "ModLinkAtt",
    "ModProps",
    "QueryColumns",
    "QueryRows",
    "ResolveNames",
    "ResortRestriction",
    "SeekEntries",
    "UpdateStat",
    "GetMailboxUrl",
    "GetAddressBookUrl",
];

/// The seed: `OXMAPI_ATTACK_SEED`, else the clock.
pub(crate) fn seed() -> u64 {
    std::env::var("OXMAPI_ATTACK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        })
}

fn random_bytes(rng: &mut StdRng, max: usize) -> Vec<u8> {
    let n = rng.random_range(0..=max);
    let mut v = vec![0u8; n];
    rng.fill_bytes(&mut v);
    v
}

fn request_type(rng: &mut StdRng) -> String {
    match rng.random_range(0..10) {
        0 => {
            let n = rng.random_range(0..24);
            (0..n)
                .map(|_| rng.random_range(b'!'..=b'~') as char)
                .collect()
        }
        _ => REQUEST_TYPES[rng.random_range(0..REQUEST_TYPES.len())].to_owned(),
    }
}

/// An Execute body (MS-OXCMAPIHTTP 2.2.4.2.1) with a random ROP buffer in one valid
/// RPC_HEADER_EXT segment: reaches the ROP parser.
fn execute_with_random_rops(rng: &mut StdRng) -> Vec<u8> {
    let mut rops = random_bytes(rng, 600);
    if rops.len() >= 2 {
        // RopSize (MS-OXCROPS 2.2.1): usually right, so the ROP list itself is parsed.
        if rng.random_bool(0.8) {
            let size = u16::try_from(rops.len()).unwrap_or(u16::MAX);
            rops[..2].copy_from_slice(&size.to_le_bytes());
        }
    }
    let seg = pack_segment(&rops, PackOptions::default()).unwrap_or_default();
    let mut body = Vec::new();
    body.extend_from_slice(&rng.random::<u32>().to_le_bytes()[..1]);
    body.extend_from_slice(&[0, 0, 0]);
    body.extend_from_slice(&u32::try_from(seg.len()).unwrap_or(0).to_le_bytes());
    body.extend_from_slice(&seg);
    body.extend_from_slice(&0x8000u32.to_le_bytes());
    body.extend_from_slice(&0u32.to_le_bytes());
    body
}

/// A worker's valid sessions (re-made when a random request ended them).
struct Sessions {
    emsmdb: Option<Mapi>,
    nspi: Option<Mapi>,
}

async fn emsmdb_session(target: &Target, user: &User) -> Option<Mapi> {
    let mut m = Mapi::open(target, ATTACKER, "emsmdb", user).await.ok()?;
    m.connect(user).await.ok()?;
    Some(m)
}

async fn nspi_session(target: &Target, user: &User) -> Option<Mapi> {
    let mut m = Mapi::open(target, ATTACKER, "nspi", user).await.ok()?;
    let bind = BindRequest {
        flags: 0,
        state: Some(Stat {
            code_page: 1252,
            template_locale: 0x409,
            sort_locale: 0x409,
            ..Stat::default()
        }),
        aux: Vec::new(),
    }
    .to_bytes()
    .ok()?;
    let r = m.post("Bind", bind).await.ok()?;
    (r.response_code() == Some(0)).then_some(m)
}

/// One random request; the outcome's name, or `Err` when it hung.
async fn one(
    rng: &mut StdRng,
    target: &Target,
    user: &User,
    s: &mut Sessions,
    hang: Duration,
) -> Result<String, String> {
    let kind = rng.random_range(0..9);
    let fut = async {
        match kind {
            // MAPI/HTTP with a valid session context.
            0..=2 => {
                let nspi = kind == 2;
                let slot = if nspi { &mut s.nspi } else { &mut s.emsmdb };
                if slot.is_none() {
                    *slot = if nspi {
                        nspi_session(target, user).await
                    } else {
                        emsmdb_session(target, user).await
                    };
                }
                let Some(m) = slot.as_mut() else {
                    return Ok("session setup failed".to_owned());
                };
                let (rt, body) = if !nspi && rng.random_bool(0.5) {
                    ("Execute".to_owned(), execute_with_random_rops(rng))
                } else {
                    (request_type(rng), random_bytes(rng, 2048))
                };
                let req = m.request(&rt, body);
                match m.send(req).await {
                    Ok(r) => Ok(format!(
                        "{} session {}",
                        r.status.as_u16(),
                        r.header("x-responsecode").unwrap_or("-")
                    )),
                    Err(e) => {
                        *slot = None;
                        if e.starts_with("no response") {
                            Err(e)
                        } else {
                            Ok("closed".to_owned())
                        }
                    }
                }
            }
            // MAPI/HTTP without a session (authenticated, no cookies).
            3 | 4 => {
                let endpoint = if kind == 3 { "emsmdb" } else { "nspi" };
                let mut m = Mapi::open(target, ATTACKER, endpoint, user)
                    .await
                    .map_err(|e| format!("connect: {e}"))?;
                if rng.random_bool(0.2) {
                    m.auth = None;
                }
                let rt = request_type(rng);
                let body = random_bytes(rng, 4096);
                match m.post(&rt, body).await {
                    Ok(r) => Ok(format!(
                        "{} {}",
                        r.status.as_u16(),
                        r.header("x-responsecode").unwrap_or("-")
                    )),
                    Err(e) if e.starts_with("no response") => Err(e),
                    Err(_) => Ok("closed".to_owned()),
                }
            }
            // RPC/HTTP channels with random bodies.
            5 | 6 => {
                let method = if kind == 5 {
                    "RPC_IN_DATA"
                } else {
                    "RPC_OUT_DATA"
                };
                let mut tls = target
                    .tls(ATTACKER)
                    .await
                    .map_err(|e| format!("connect: {e}"))?;
                let port = if rng.random_bool(0.5) { 6001 } else { 6004 };
                let query = format!("{}:{port}", user.personalized_server_name);
                let body = random_bytes(rng, 2048);
                let auth = basic(&user.alias, &user.password);
                let auth = rng.random_bool(0.9).then_some(auth.as_str());
                if rpc_head(&mut tls, method, &query, auth, body.len() as u64, false)
                    .await
                    .is_err()
                {
                    return Ok("closed".to_owned());
                }
                let _ = tls.write_all(&body).await;
                let _ = tls.flush().await;
                Ok(read_to_close(&mut tls).await)
            }
            // Random bytes before TLS.
            _ => {
                let mut tcp = target
                    .tcp(ATTACKER)
                    .await
                    .map_err(|e| format!("connect: {e}"))?;
                let mut bytes = random_bytes(rng, 2048);
                if rng.random_bool(0.5) && bytes.len() >= 5 {
                    // A TLS record header (handshake, TLS 1.0 record version) with a random
                    // length, so the bytes reach the handshake parser.
                    bytes[..3].copy_from_slice(&[0x16, 0x03, 0x01]);
                }
                let _ = tcp.write_all(&bytes).await;
                let mut buf = [0u8; 4096];
                let mut n_total = 0;
                loop {
                    match tcp.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n_total += n,
                    }
                }
                Ok(if n_total > 0 {
                    "raw: answered+closed"
                } else {
                    "raw: closed"
                }
                .to_owned())
            }
        }
    };
    match tokio::time::timeout(hang, fut).await {
        Ok(r) => r,
        Err(_) => Err(format!("request kind {kind} hung for {hang:?}")),
    }
}

/// Reads until the server closes; the first status line seen (or "closed").
async fn read_to_close(s: &mut super::net::Tls) -> String {
    let mut first = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if first.len() < 64 {
                    first.extend_from_slice(&buf[..n]);
                }
            }
        }
    }
    let text = String::from_utf8_lossy(&first);
    match text.lines().next() {
        Some(l) if l.starts_with("HTTP/") => {
            format!(
                "rpc: {}",
                l.split_whitespace().take(2).collect::<Vec<_>>().join(" ")
            )
        }
        Some(_) => "rpc: non-HTTP answer".to_owned(),
        None => "rpc: closed".to_owned(),
    }
}

pub(crate) async fn random_bytes_everywhere(ctx: AttackCtx, seed: u64) -> Outcome {
    let target = ctx.target();
    let l = &ctx.limits;
    // A request is hung when neither answered nor closed within the longest timeout three
    // times over (plus slack for a loaded machine).
    let hang = l
        .body_read_timeout
        .max(l.header_read_timeout)
        .max(l.idle_timeout)
        .max(l.tls_handshake_timeout)
        * 3
        + Duration::from_secs(5);
    let counter = Arc::new(AtomicUsize::new(0));
    let outcomes: Arc<Mutex<BTreeMap<String, usize>>> = Arc::default();
    let hangs: Arc<Mutex<Vec<String>>> = Arc::default();
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..WORKERS {
        let (target, user, counter, outcomes, hangs, ctx) = (
            target.clone(),
            ctx.bob.clone(),
            counter.clone(),
            outcomes.clone(),
            hangs.clone(),
            ctx.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(seed.wrapping_add(w as u64));
            let mut s = Sessions {
                emsmdb: None,
                nspi: None,
            };
            loop {
                let i = counter.fetch_add(1, Ordering::Relaxed);
                if i >= MAX_REQUESTS || (i >= MIN_REQUESTS && ctx.stopping()) {
                    break;
                }
                match one(&mut rng, &target, &user, &mut s, hang).await {
                    Ok(k) => *outcomes.lock().await.entry(k).or_default() += 1,
                    Err(e) => hangs.lock().await.push(e),
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let mut o = Outcome::default();
    let hangs = hangs.lock().await.clone();
    for h in hangs.iter().take(5) {
        o.fail(h.clone());
    }
    if hangs.len() > 5 {
        o.fail(format!("... {} hung requests in all", hangs.len()));
    }
    let total = counter.load(Ordering::Relaxed).min(MAX_REQUESTS);
    o.note = format!(
        "[seed {seed}: {total} random requests in {:.1}s; outcomes {:?}]",
        t0.elapsed().as_secs_f64(),
        outcomes.lock().await
    );
    o
}
