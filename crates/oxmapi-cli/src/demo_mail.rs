//! The demo's second act: John Doe sends Mary Major a message through the session API, then
//! Mary logs on with her own dynamic profile and finds it in her Inbox.

use std::time::Instant;

use anyhow::{Context, Result, bail};
use oxmapi::{DefaultFolder, Filter, LogonParams, LogonReport, SendOutcome, Session};
use oxmapi_profile::{Config, Overrides, Secret, Transport};
use oxmapi_server::RunningServer;
use oxmapi_wire::data::restriction::RELOP_EQ;
use oxmapi_wire::data::{PropertyValue, tags};
use serde::Serialize;

/// The second demo user.
const MARY_ALIAS: &str = "mmajor";
const MARY_NAME: &str = "Mary Major";
const SUBJECT: &str = "Welcome to oxmapi";
const BODY: &str = "Hello Mary,\r\n\r\nthis message went out through RopSubmitMessage from John's \
                    session and came back through your own logon.\r\n\r\nJohn";

/// What the send-and-read-back act did (the `mail` field of `oxmapi demo --json`).
#[derive(Debug, Serialize)]
pub(crate) struct MailDemo {
    from: String,
    to: String,
    subject: String,
    internet_message_id: String,
    send_ms: u128,
    recipient_profile_info: String,
    recipient_transport: String,
    found_in_inbox: bool,
    found_sender: Option<String>,
    found_unread: bool,
    found_body: Option<String>,
    read_back_ms: u128,
}

/// Adds Mary Major to the server, sends her a message from `session` (John Doe's), logs on
/// as Mary with her own dynamic profile and looks the message up in her Inbox by its
/// PidTagInternetMessageId.
pub(crate) async fn send_and_read_back(
    server: &RunningServer,
    config: &Config,
    session: &mut Session,
    transport: Option<Transport>,
) -> Result<MailDemo> {
    let password = uuid::Uuid::new_v4().simple().to_string();
    let mary = server
        .store()
        .add_user(MARY_ALIAS, MARY_NAME, &password)
        .context("adding the second demo user")?;
    let started = Instant::now();
    let outbox = session.default_folder_id(DefaultFolder::Outbox);
    let mut m = session.new_message(outbox);
    m.set_subject(SUBJECT).set_body_text(BODY).to(MARY_ALIAS);
    let id = m.internet_message_id().to_owned();
    match m.send(session).await? {
        SendOutcome::Sent { .. } => {}
        other => bail!("the demo message was not sent: {other:?}"),
    }
    let send_ms = started.elapsed().as_millis();

    let started = Instant::now();
    let profile_info = format!("{}\n{}", mary.personalized_server_name, mary.alias);
    let params = LogonParams {
        profile_info: Some(profile_info.clone()),
        password: Some(Secret::new(password)),
        overrides: Overrides {
            transport,
            ..Overrides::default()
        },
        ..LogonParams::default()
    };
    let mut her = Session::logon(config, params)
        .await
        .context("logging on as Mary Major")?;
    let used = her.report().transport.used.clone();
    let found = find(&mut her, &id).await;
    let _ = her.logoff().await;
    let Some(found) = found? else {
        bail!("the message {id} did not arrive in Mary Major's Inbox");
    };
    let found = Some(found);
    Ok(MailDemo {
        from: session
            .report()
            .mailbox
            .as_ref()
            .map_or_else(String::new, |m| m.display_name.clone()),
        to: MARY_NAME.to_owned(),
        subject: SUBJECT.to_owned(),
        internet_message_id: id,
        send_ms,
        recipient_profile_info: profile_info,
        recipient_transport: used,
        found_in_inbox: found.is_some(),
        found_sender: found.as_ref().and_then(|f| f.0.clone()),
        found_unread: found.as_ref().is_some_and(|f| f.1),
        found_body: found.and_then(|f| f.2),
        read_back_ms: started.elapsed().as_millis(),
    })
}

/// The message in the Inbox with PidTagInternetMessageId `id`: (sender, unread, body).
async fn find(s: &mut Session, id: &str) -> Result<Option<(Option<String>, bool, Option<String>)>> {
    let inbox = s.inbox().await?;
    let rows = inbox
        .messages()
        .filter(Filter::Property {
            tag: tags::PidTagInternetMessageId,
            relop: RELOP_EQ,
            value: PropertyValue::Unicode(id.to_owned()),
        })
        .collect(s)
        .await?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let msg = row.open(s).await?;
    let body = msg.text(s).await?;
    Ok(Some((row.sender_name(), row.unread(), body)))
}

/// Prints the act after the logon report.
pub(crate) fn print(m: &MailDemo) {
    println!(
        "\nSending mail   (CDO: Set m = objSession.Outbox.Messages.Add: m.Recipients.Add \"{MARY_ALIAS}\": m.Send)"
    );
    println!(
        "  {} -> {} <{MARY_ALIAS}>  {:?}  sent in {} ms",
        m.from, m.to, m.subject, m.send_ms
    );
    println!("  PidTagInternetMessageId {}", m.internet_message_id);
    println!(
        "  {} logs on with her own dynamic profile {:?} over {}",
        m.to, m.recipient_profile_info, m.recipient_transport
    );
    if m.found_in_inbox {
        println!(
            "  found in her Inbox: {:?} from {}{} ({} ms)",
            m.subject,
            m.found_sender.as_deref().unwrap_or("?"),
            if m.found_unread { ", unread" } else { "" },
            m.read_back_ms
        );
        if let Some(b) = &m.found_body {
            for line in b.lines() {
                println!("    | {line}");
            }
        }
    } else {
        println!("  NOT found in her Inbox");
    }
}

/// The logon report as JSON with the act as an extra `mail` field.
pub(crate) fn json_with_mail(report: &LogonReport, mail: Option<&MailDemo>) -> Result<String> {
    let mut v = serde_json::to_value(report)?;
    if let (Some(m), Some(obj)) = (mail, v.as_object_mut()) {
        obj.insert("mail".into(), serde_json::to_value(m)?);
    }
    Ok(serde_json::to_string_pretty(&v)?)
}
