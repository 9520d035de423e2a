//! `cargo bench -p oxmapi --bench send`: messages sent per second (one session, then 16
//! concurrent sessions on tokio tasks) and the peak RSS (VmHWM) of streaming a 50 MB
//! attachment, against the embedded server on loopback (server in the same process, so
//! VmHWM covers client and server together). Prints figures; asserts nothing.

use std::time::Instant;

use oxmapi::{DefaultFolder, LogonParams, Session};
use oxmapi_profile::{Config, Secret};
use oxmapi_server::{ServerConfig, serve};

fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

#[tokio::main]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let n: usize = std::env::var("SEND_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let mb: usize = std::env::var("SEND_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = ServerConfig::new(dir.path());
    cfg.listen = "127.0.0.1:0".parse().unwrap();
    let server = serve(cfg).await.unwrap();
    let mut users = Vec::new();
    for i in 0..16 {
        users.push(
            server
                .store()
                .add_user(&format!("u{i}"), &format!("User {i}"), "pw")
                .unwrap(),
        );
    }
    let toml = format!(
        "ignore_no_public_folders = true\n[proxy_map.\"example.test\"]\nurl = \"https://127.0.0.1:{}\"\nauth = \"basic\"\ncertificate = {{ ca_file = {:?} }}\n",
        server.local_addr().port(),
        server.ca_path().display().to_string()
    );
    let config = Config::from_toml(&toml, std::path::Path::new("bench.toml")).unwrap();
    let params = |u: &oxmapi_server::store::UserRecord| LogonParams {
        profile_info: Some(format!("{}\n{}", u.personalized_server_name, u.alias)),
        password: Some(Secret::new("pw")),
        ..LogonParams::default()
    };

    // One session.
    let mut s = Session::logon(&config, params(&users[0])).await.unwrap();
    let t = Instant::now();
    for i in 0..n {
        let mut m = s.new_message(s.default_folder_id(DefaultFolder::Outbox));
        m.set_subject(&format!("bench {i}"))
            .set_body_text("hello")
            .to("u1");
        assert!(m.send(&mut s).await.unwrap().is_sent());
    }
    let el = t.elapsed().as_secs_f64();
    println!(
        "one session: {n} messages in {el:.2} s = {:.1} msg/s",
        n as f64 / el
    );

    // 16 sessions on tokio tasks.
    let per = n / 16 + 1;
    let t = Instant::now();
    let mut tasks = Vec::new();
    for u in &users {
        let config = config.clone();
        let p = params(u);
        tasks.push(tokio::spawn(async move {
            let mut s = Session::logon(&config, p).await.unwrap();
            for i in 0..per {
                let mut m = s.new_message(s.default_folder_id(DefaultFolder::Outbox));
                m.set_subject(&format!("c {i}"))
                    .set_body_text("hello")
                    .to("u0");
                assert!(m.send(&mut s).await.unwrap().is_sent());
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let el = t.elapsed().as_secs_f64();
    let total = per * 16;
    println!(
        "16 sessions: {total} messages in {el:.2} s = {:.1} msg/s",
        total as f64 / el
    );

    // A large attachment, streamed from a file.
    let path = dir.path().join("big.bin");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&path).unwrap();
        let block: Vec<u8> = (0..1024 * 1024).map(|i| (i * 7 % 251) as u8).collect();
        for _ in 0..mb {
            f.write_all(&block).unwrap();
        }
    }
    let before = vm_hwm_kib();
    let t = Instant::now();
    let mut m = s.new_message(s.default_folder_id(DefaultFolder::Outbox));
    m.set_subject("big").to("u1").attach_file(&path);
    assert!(m.send(&mut s).await.unwrap().is_sent());
    let el = t.elapsed().as_secs_f64();
    let after = vm_hwm_kib();
    println!(
        "{mb} MB attachment sent in {el:.2} s ({:.1} MB/s); VmHWM {} MiB before, {} MiB after (+{} MiB)",
        mb as f64 / el,
        before / 1024,
        after / 1024,
        after.saturating_sub(before) / 1024
    );

    // ...and read back from Sent Items, streamed into a sink (a 50 MB round trip).
    let before = vm_hwm_kib();
    let t = Instant::now();
    let sent = s
        .get_default_folder(oxmapi::CdoDefaultFolder::SentItems)
        .await
        .unwrap();
    let rows = sent.messages().collect(&mut s).await.unwrap();
    let row = rows
        .iter()
        .find(|r| r.subject().as_deref() == Some("big"))
        .expect("the big message is in Sent Items");
    let msg = row.open(&mut s).await.unwrap();
    let atts = msg.attachments(&mut s).await.unwrap();
    let att = atts.iter().next().expect("one attachment");
    let n = att.write_to(&mut s, &mut tokio::io::sink()).await.unwrap();
    let el = t.elapsed().as_secs_f64();
    let after = vm_hwm_kib();
    assert_eq!(n, mb as u64 * 1024 * 1024);
    println!(
        "{mb} MB attachment read back in {el:.2} s ({:.1} MB/s); VmHWM {} MiB before, {} MiB after (+{} MiB)",
        mb as f64 / el,
        before / 1024,
        after / 1024,
        after.saturating_sub(before) / 1024
    );
    s.logoff().await.unwrap();
}
