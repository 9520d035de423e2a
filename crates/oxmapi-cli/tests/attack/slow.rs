//! Attacks 3, 4 and 5: holding connections open.
//!
//! * slowloris: 300 TLS connections from 127.0.0.2, each sending one header byte per second;
//! * a silent RPC_IN_DATA: authenticated request heads announcing a 1 GiB body
//!   (Content-Length 1073741824, MS-RPCH 2.1.2.1.1), then nothing;
//! * descriptor exhaustion: 300 idle TCP connections that never start TLS, against a server
//!   limited to 256 descriptors (`ulimit -n 256`), spread over 20 source addresses so that
//!   the per-address cap does not stop them before the descriptors run out.
//!
//! Each connection records whether and when the server closed it; a connection still open
//! when the attack ends is a violation (the server's timeouts must end it).

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::harness::{AttackCtx, Outcome};
use super::net::{ATTACKER, Target, basic, rpc_head};

/// How a held connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The connection or TLS handshake was refused or reset at once.
    Refused,
    /// The server closed it after this long.
    Closed(Duration),
    /// Still open when the attack ended.
    Open,
}

/// Waits until the peer closes (EOF or error) or `deadline`.
async fn until_closed<R: AsyncReadExt + Unpin>(r: &mut R, deadline: Instant) -> bool {
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout_at(deadline.into(), r.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}

fn summarize(ends: &[End]) -> (usize, usize, usize, Duration) {
    let refused = ends.iter().filter(|e| **e == End::Refused).count();
    let open = ends.iter().filter(|e| **e == End::Open).count();
    let closed: Vec<Duration> = ends
        .iter()
        .filter_map(|e| match e {
            End::Closed(d) => Some(*d),
            _ => None,
        })
        .collect();
    let longest = closed.iter().copied().max().unwrap_or_default();
    (refused, closed.len(), open, longest)
}

/// Attack 3: slowloris over TLS.
pub(crate) async fn slowloris(ctx: AttackCtx) -> Outcome {
    const CONNECTIONS: usize = 300;
    let target = ctx.target();
    let l = &ctx.limits;
    // Every connection must be gone well within this: the header timeout (or the handshake
    // timeout plus the header timeout), with slack for a loaded machine.
    let hold = (l.tls_handshake_timeout + l.header_read_timeout) * 2 + Duration::from_secs(3);
    let start = Instant::now();
    let deadline = start + hold;
    let header: &'static [u8] = b"POST /mapi/emsmdb/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\
        Content-Type: application/mapi-http\r\nX-RequestType: Connect\r\nX-Slow: \
        aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let bytes_sent = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..CONNECTIONS {
        let target = target.clone();
        let sent = bytes_sent.clone();
        tasks.push(tokio::spawn(async move {
            let Ok(tls) = target.tls(ATTACKER).await else {
                return End::Refused;
            };
            let t0 = Instant::now();
            let (mut rd, mut wr) = tokio::io::split(tls);
            let mut i = 0;
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tokio::select! {
                    closed = until_closed(&mut rd, deadline) => {
                        return if closed { End::Closed(t0.elapsed()) } else { End::Open };
                    }
                    _ = tick.tick() => {
                        let b = header[i % header.len()];
                        i += 1;
                        if wr.write_all(&[b]).await.is_err() || wr.flush().await.is_err() {
                            return End::Closed(t0.elapsed());
                        }
                        sent.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    let mut ends = Vec::new();
    for t in tasks {
        ends.push(t.await.unwrap_or(End::Open));
    }
    let (refused, closed, open, longest) = summarize(&ends);
    let mut o = Outcome::default();
    o.check(
        open == 0,
        format!("{open} of {CONNECTIONS} slowloris connections still open after {hold:?}"),
    );
    o.note = format!(
        "[{CONNECTIONS} TLS conns from {ATTACKER}: {refused} refused at once, {closed} closed \
         by the server (last after {:.1}s), {open} still open after {:.0}s; {} header bytes sent]",
        longest.as_secs_f64(),
        hold.as_secs_f64(),
        bytes_sent.load(Ordering::Relaxed)
    );
    o
}

/// Attack 4: silent RPC_IN_DATA requests announcing 1 GiB, half with `Expect: 100-continue`.
pub(crate) async fn silent_in_data(ctx: AttackCtx) -> Outcome {
    const CHANNELS: usize = 20;
    let target = ctx.target();
    let l = &ctx.limits;
    let longest_timeout = l
        .body_read_timeout
        .max(l.header_read_timeout)
        .max(l.idle_timeout);
    let hold = longest_timeout * 3 + Duration::from_secs(3);
    let deadline = Instant::now() + hold;
    let auth = basic(&ctx.bob.alias, &ctx.bob.password);
    let query = format!("{}:6001", ctx.bob.personalized_server_name);
    let mut tasks = Vec::new();
    for i in 0..CHANNELS {
        let target = target.clone();
        let auth = auth.clone();
        let query = query.clone();
        tasks.push(tokio::spawn(async move {
            let Ok(mut s) = target.tls(ATTACKER).await else {
                return (End::Refused, String::new());
            };
            let t0 = Instant::now();
            if rpc_head(
                &mut s,
                "RPC_IN_DATA",
                &query,
                Some(&auth),
                1 << 30,
                i % 2 == 0,
            )
            .await
            .is_err()
            {
                return (End::Closed(t0.elapsed()), String::new());
            }
            // Whatever the server answers (100 Continue, an error, nothing), the body never
            // comes; record the first line it sent, if any.
            let mut first = Vec::new();
            let mut buf = [0u8; 512];
            loop {
                match tokio::time::timeout_at(deadline.into(), s.read(&mut buf)).await {
                    Err(_) => return (End::Open, first_line(&first)),
                    Ok(Ok(0)) | Ok(Err(_)) => {
                        return (End::Closed(t0.elapsed()), first_line(&first));
                    }
                    Ok(Ok(n)) => {
                        if first.len() < 256 {
                            first.extend_from_slice(&buf[..n]);
                        }
                    }
                }
            }
        }));
    }
    let mut ends = Vec::new();
    let mut firsts: Vec<String> = Vec::new();
    for t in tasks {
        let (end, first) = t.await.unwrap_or((End::Open, String::new()));
        ends.push(end);
        if !first.is_empty() && !firsts.contains(&first) {
            firsts.push(first);
        }
    }
    let (refused, closed, open, longest) = summarize(&ends);
    let mut o = Outcome::default();
    o.check(
        open == 0,
        format!("{open} of {CHANNELS} silent RPC_IN_DATA requests still open after {hold:?}"),
    );
    o.check(
        refused == 0,
        format!("{refused} of {CHANNELS} connections refused (below the per-address cap)"),
    );
    o.note = format!(
        "[{CHANNELS} RPC_IN_DATA heads with Content-Length 1073741824 from {ATTACKER}: {closed} \
         closed by the server (last after {:.1}s), {open} still open after {:.0}s; answers: {}]",
        longest.as_secs_f64(),
        hold.as_secs_f64(),
        if firsts.is_empty() {
            "none".to_owned()
        } else {
            firsts.join(" | ")
        }
    );
    o
}

fn first_line(b: &[u8]) -> String {
    String::from_utf8_lossy(b)
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// Source addresses of the descriptor attack: 127.0.1.1 to 127.0.1.20.
fn spread(i: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 1, 1 + (i % 20) as u8))
}

/// Attack 5: 300 idle plain TCP connections, re-opened whenever the server closes one, for a
/// fixed window; then all closed.
pub(crate) async fn descriptor_exhaustion(ctx: AttackCtx) -> Outcome {
    const CONNECTIONS: usize = 300;
    let target: Target = ctx.target();
    let window = ctx.limits.tls_handshake_timeout * 4 + Duration::from_secs(4);
    let start = Instant::now();
    let deadline = start + window;
    let reopened = Arc::new(AtomicUsize::new(0));
    let closed_by_server = Arc::new(AtomicUsize::new(0));
    let connect_errors = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for i in 0..CONNECTIONS {
        let target = target.clone();
        let (reopened, closed, errors) = (
            reopened.clone(),
            closed_by_server.clone(),
            connect_errors.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut first = true;
            while Instant::now() < deadline {
                if !first {
                    reopened.fetch_add(1, Ordering::Relaxed);
                }
                first = false;
                let mut s = match target.tcp(spread(i)).await {
                    Ok(s) => s,
                    Err(_) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                if until_closed(&mut s, deadline).await {
                    closed.fetch_add(1, Ordering::Relaxed);
                    // Like a real attacker, come back at once (but not in a tight loop).
                    tokio::time::sleep(Duration::from_millis(20)).await;
                } else {
                    // Deadline: drop (close) it.
                    let _ = s.shutdown().await;
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let mut o = Outcome::default();
    let closed = closed_by_server.load(Ordering::Relaxed);
    o.check(
        closed > 0,
        format!("the server closed none of the idle connections within {window:?}"),
    );
    o.note = format!(
        "[{CONNECTIONS} idle TCP conns from 127.0.1.1-20 against ulimit -n 256 for {:.0}s: \
         {closed} closed by the server, {} re-opened, {} connect errors]",
        window.as_secs_f64(),
        reopened.load(Ordering::Relaxed),
        connect_errors.load(Ordering::Relaxed)
    );
    o
}
