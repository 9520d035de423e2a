//! The round-trip budget (issue 14): how many requests `oxmapi logon`, `ls Inbox`, `show` and
//! `send` cost against the embedded server, per transport and HTTP authentication scheme. The
//! sessions make the same library calls as the CLI commands, from the first logon request to
//! the end of the logoff; the table is printed, and every count must equal its budget so that a
//! change costing one more request fails here.
//!
//! Over RPC/HTTP a "round trip" is an RPC call or an HTTP request setting a channel up (what
//! [`Session::round_trips`] counts).

mod read_support;

use oxmapi::{DefaultFolder, EntryId, LogonParams, SendOutcome, Session, Sort};
use oxmapi_profile::{Config, Secret, Transport};
use oxmapi_wire::data::tags;
use read_support::{PASSWORD, T0, lab, note, s, with};

/// The commands measured, in the order of [`BUDGET`]'s columns.
const COMMANDS: [&str; 4] = ["logon", "ls Inbox", "show", "send"];

/// Requests per command: (transport, auth, [logon, ls Inbox, show, send]).
const BUDGET: [(&str, &str, [u64; 4]); 4] = [
    ("mapihttp", "basic", [6, 8, 8, 10]),
    ("mapihttp", "ntlm", [7, 9, 9, 11]),
    ("rpchttp", "basic", [10, 12, 12, 14]),
    ("rpchttp", "ntlm", [14, 16, 16, 18]),
];

fn config(lab: &read_support::Lab, auth: &str) -> Config {
    let toml = format!(
        r#"
ignore_no_public_folders = true
[proxy_map."example.test"]
url = "{url}"
auth = "{auth}"
certificate = {{ ca_file = {ca:?} }}
"#,
        url = lab.url(),
        ca = lab.ca().display().to_string(),
    );
    Config::from_toml(&toml, std::path::Path::new("test.toml")).unwrap()
}

fn params(lab: &read_support::Lab, transport: Transport) -> LogonParams {
    let mut p = LogonParams {
        profile_info: Some(format!(
            "{}\n{}",
            lab.alice.personalized_server_name, lab.alice.alias
        )),
        password: Some(Secret::new(PASSWORD)),
        ..LogonParams::default()
    };
    p.overrides.transport = Some(transport);
    p
}

/// `oxmapi logon`: the logon (with its report), then the logoff.
async fn logon(config: &Config, p: LogonParams) -> u64 {
    let (session, report) = Session::logon_with_report(config, p).await;
    let session = session.unwrap_or_else(|e| panic!("{e}\n{report:#?}"));
    assert_eq!(session.round_trips(), report.total_http_round_trips);
    session.round_trips() + session.logoff_counted().await.unwrap()
}

/// `oxmapi ls Inbox`: the folder by path, every row in the default order, the logoff.
async fn ls(config: &Config, p: LogonParams, want_rows: usize) -> (u64, Vec<EntryId>) {
    let mut s = Session::logon(config, p).await.unwrap();
    let folder = s.folder_by_path("Inbox").await.unwrap();
    let mut m = folder.messages().sort(Sort::received_newest_first());
    let mut ids = Vec::new();
    while let Some(row) = m.get_next(&mut s).await.unwrap() {
        ids.push(row.entry_id().unwrap());
    }
    drop(m);
    assert_eq!(ids.len(), want_rows);
    (s.round_trips() + s.logoff_counted().await.unwrap(), ids)
}

/// `oxmapi show ID`: the message, its text body, its attachments if it has any, the logoff.
async fn show(config: &Config, p: LogonParams, id: &EntryId) -> u64 {
    let mut s = Session::logon(config, p).await.unwrap();
    let msg = s.get_message(id).await.unwrap();
    let text = msg.text(&mut s).await.unwrap();
    assert!(text.is_some_and(|t| t.contains("budget")));
    if msg.has_attachments() {
        msg.attachments(&mut s).await.unwrap();
    }
    drop(msg);
    s.round_trips() + s.logoff_counted().await.unwrap()
}

/// `oxmapi send --to alice`: compose in the Outbox, send, the logoff.
async fn send(config: &Config, p: LogonParams) -> u64 {
    let mut s = Session::logon(config, p).await.unwrap();
    let outbox = s.default_folder_id(DefaultFolder::Outbox);
    let mut m = s.new_message(outbox);
    m.set_subject("to myself");
    m.set_body_text("round-trip budget\n");
    m.to("alice");
    let outcome = m.send(&mut s).await.unwrap();
    assert!(matches!(outcome, SendOutcome::Sent { .. }), "{outcome:?}");
    s.round_trips() + s.logoff_counted().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trips_per_command_stay_within_budget() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let lab = lab().await;
    let inbox = lab.inbox();
    for i in 0..3u64 {
        let m = with(
            note(
                &format!("budget {i}"),
                ("Bob Builder", "bob@example.test"),
                T0 + i,
                false,
            ),
            tags::PidTagBody,
            s(&format!("round-trip budget {i}\n")),
        );
        lab.put(inbox, &m);
    }
    let mut measured = Vec::new();
    for (round, (transport_name, auth, _)) in BUDGET.into_iter().enumerate() {
        // The 3 seeded messages, plus the one each earlier round sent to self.
        let inbox_rows = 3 + round;
        let transport = match transport_name {
            "mapihttp" => Transport::MapiHttp,
            _ => Transport::RpcHttp,
        };
        let config = config(&lab, auth);
        let logon = logon(&config, params(&lab, transport)).await;
        let (ls, ids) = ls(&config, params(&lab, transport), inbox_rows).await;
        let show = show(&config, params(&lab, transport), &ids[0]).await;
        let send = send(&config, params(&lab, transport)).await;
        measured.push((transport_name, auth, [logon, ls, show, send]));
    }
    println!(
        "{:<9} {:<6} {}",
        "transport",
        "auth",
        COMMANDS.map(|c| format!("{c:>9}")).join("")
    );
    for (t, a, counts) in &measured {
        println!(
            "{t:<9} {a:<6} {}",
            counts.map(|n| format!("{n:>9}")).join("")
        );
    }
    let budget: Vec<_> = BUDGET.to_vec();
    assert_eq!(measured, budget, "round trips (left) vs budget (right)");
}
