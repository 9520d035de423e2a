//! The attack suite of issue 10 (hardening): each test starts `oxmapi serve` as a separate
//! process with test-sized limits (`--config`, see `attack/harness.rs`), attacks it over
//! loopback, and asserts that the server stays up, keeps answering a normal client (`oxmapi
//! folders` from 127.0.0.1) within [`harness::LATENCY_RATIO_MAX`] times its unloaded
//! latency measured in the same run, and keeps its memory below
//! [`harness::RSS_CEILING_MIB`]. Attacks run one at a time; each prints one line
//!
//! `attack: <name> peak_rss=<MiB> cpu=<%> baseline=<ms> during=<ms> ratio=<x> ...`
//!
//! and appends it to `target/attack-report.txt`.

mod attack {
    pub(crate) mod bomb;
    pub(crate) mod fuzz;
    pub(crate) mod harness;
    pub(crate) mod heavy;
    pub(crate) mod net;
    pub(crate) mod passwords;
    pub(crate) mod rops;
    pub(crate) mod seed;
    pub(crate) mod slow;
    pub(crate) mod unread;
}

use std::time::Duration;

use attack::harness::{ServerProc, Spec, StartOpts, TestLimits, run_attack, serial};
use attack::{bomb, fuzz, heavy, passwords, rops, slow, unread};

fn default_server() -> ServerProc {
    ServerProc::start(StartOpts::default())
}

#[test]
fn decompression_bomb_over_mapi_http() {
    let _one_at_a_time = serial();
    let mut server = default_server();
    let row = run_attack(&mut server, Spec::new("bomb-mapihttp"), bomb::mapi_http);
    row.assert_ok(&server);
}

#[test]
fn decompression_bomb_over_rpc_http() {
    let _one_at_a_time = serial();
    let mut server = default_server();
    let row = run_attack(&mut server, Spec::new("bomb-rpchttp"), bomb::rpc_http);
    row.assert_ok(&server);
}

#[test]
fn slowloris() {
    let _one_at_a_time = serial();
    let mut server = default_server();
    let spec = Spec {
        // Let the 300 handshakes finish and the slow headers start.
        ramp_up: Duration::from_secs(2),
        ..Spec::new("slowloris")
    };
    let row = run_attack(&mut server, spec, slow::slowloris);
    row.assert_ok(&server);
}

#[test]
fn silent_rpc_in_data_announcing_1_gib() {
    let _one_at_a_time = serial();
    let mut server = default_server();
    let spec = Spec {
        ramp_up: Duration::from_secs(1),
        ..Spec::new("silent-rpc-in-data")
    };
    let row = run_attack(&mut server, spec, slow::silent_in_data);
    row.assert_ok(&server);
}

#[test]
fn descriptor_exhaustion_under_ulimit_256() {
    let _one_at_a_time = serial();
    let mut server = ServerProc::start(StartOpts {
        nofile: Some(256),
        ..StartOpts::default()
    });
    let handshake = server.limits.tls_handshake_timeout;
    let spec = Spec {
        ramp_up: Duration::from_millis(1500),
        // It spun at 67% of a core in accept() before the fixes.
        cpu_max_percent: Some(50.0),
        // With every descriptor taken, a new client can only be accepted once the server
        // closed an idle connection (TLS handshake timeout) and its accept back-off ended.
        latency_allowance: handshake * 2 + Duration::from_secs(1),
        // One warning per failed accept() filled 63 MB in 10 s before the fixes.
        max_log_growth: 1 << 20,
        ..Spec::new("descriptor-exhaustion")
    };
    let row = run_attack(&mut server, spec, slow::descriptor_exhaustion);
    row.assert_ok(&server);
}

#[test]
fn two_hundred_fifty_five_tables_per_request() {
    let _one_at_a_time = serial();
    // A folder with rows makes every table cost memory.
    let mut server = ServerProc::start(StartOpts {
        bob_messages: 300,
        ..StartOpts::default()
    });
    let row = run_attack(&mut server, Spec::new("255-tables"), rops::many_tables);
    row.assert_ok(&server);
}

#[test]
fn stream_size_abuse() {
    let _one_at_a_time = serial();
    let mut server = default_server();
    let row = run_attack(&mut server, Spec::new("stream-size"), rops::stream_abuse);
    row.assert_ok(&server);
}

/// Failed logons are logged (at warn, with user and address) and no guessed password is.
fn password_log_check(log: &str) -> Vec<String> {
    let mut failures = Vec::new();
    if log.contains(passwords::GUESS_PREFIX) {
        failures.push("a guessed password appears in the server's log".to_owned());
    }
    let logged = log
        .lines()
        .any(|l| l.contains("WARN") && l.contains("bob") && l.contains("127.0.0.2"));
    if !logged {
        failures.push("no WARN line names the failed logons' user (bob) and address".to_owned());
    }
    failures
}

#[test]
fn five_hundred_wrong_passwords() {
    let _one_at_a_time = serial();
    let mut server = default_server();
    let spec = Spec {
        ramp_up: Duration::from_millis(100),
        log_check: Some(password_log_check),
        ..Spec::new("500-wrong-passwords")
    };
    let row = run_attack(&mut server, spec, passwords::guess);
    row.assert_ok(&server);
}

#[test]
fn random_bytes_at_every_endpoint() {
    let _one_at_a_time = serial();
    let seed = fuzz::seed();
    println!("random-bytes seed {seed} (replay with OXMAPI_ATTACK_SEED={seed})");
    let mut server = default_server();
    let spec = Spec {
        finish_within: Duration::from_secs(120),
        ..Spec::new("random-bytes")
    };
    let row = run_attack(&mut server, spec, move |ctx| {
        fuzz::random_bytes_everywhere(ctx, seed)
    });
    row.assert_ok(&server);
}

#[test]
fn heavy_sorts_on_two_sessions() {
    let _one_at_a_time = serial();
    // 20,000 rows straight into bob's Inbox; a small store time budget per request.
    let mut server = ServerProc::start(StartOpts {
        limits: TestLimits {
            request_time_budget: Duration::from_millis(500),
            ..TestLimits::default()
        },
        prepare: Some(heavy::seed_bob_inbox),
        ..StartOpts::default()
    });
    let spec = Spec {
        // Let both attacker sessions log on and their first heavy requests start.
        ramp_up: Duration::from_secs(1),
        ..Spec::new("heavy-sort")
    };
    let row = run_attack(&mut server, spec, heavy::heavy_sort);
    row.assert_ok(&server);
}

#[test]
fn never_reading_client() {
    let _one_at_a_time = serial();
    // Long subjects in bob's Inbox make every RopQueryRows answer about 200 KB.
    let mut server = ServerProc::start(StartOpts {
        limits: TestLimits {
            write_stall_timeout: unread::WRITE_STALL,
            ..TestLimits::default()
        },
        prepare: Some(unread::seed_bob_inbox),
        ..StartOpts::default()
    });
    let spec = Spec {
        // Let the first virtual connection log on and its unread answers pile up.
        ramp_up: Duration::from_secs(1),
        ..Spec::new("never-reading")
    };
    let row = run_attack(&mut server, spec, unread::never_reading);
    row.assert_ok(&server);
}
