//! Writing commands: `send`, `reply`, `forward`, `resolve`, `gal`, `mv`, `cp`, `rm`, `mark`,
//! `mkdir`, `rmdir`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Args;
use oxmapi::{
    DefaultFolder, DeleteMode, EntryId, Resolution, ResponseKind, ResponseOptions, SendOutcome,
    Session,
};
use oxmapi_wire::data::FolderId;

use crate::conn::ConnArgs;

/// `oxmapi send`.
#[derive(Args, Debug)]
pub(crate) struct SendArgs {
    #[command(flatten)]
    conn: ConnArgs,
    /// To recipient (name, alias, SMTP address or "Name <address>"); repeatable.
    #[arg(long, required = true)]
    to: Vec<String>,
    /// Cc recipient; repeatable.
    #[arg(long)]
    cc: Vec<String>,
    /// Bcc recipient; repeatable.
    #[arg(long)]
    bcc: Vec<String>,
    /// Subject.
    #[arg(long)]
    subject: String,
    /// Body text.
    #[arg(long, conflicts_with = "body_file")]
    body: Option<String>,
    /// Read the body from FILE.
    #[arg(long, value_name = "FILE")]
    body_file: Option<PathBuf>,
    /// The body is HTML.
    #[arg(long)]
    html: bool,
    /// Attach FILE; repeatable.
    #[arg(long, value_name = "FILE")]
    attach: Vec<PathBuf>,
    /// Print the outcome as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `oxmapi reply MESSAGE-ID [--all] (--body TEXT | --body-file FILE)`.
#[derive(Args, Debug)]
pub(crate) struct ReplyArgs {
    #[command(flatten)]
    conn: ConnArgs,
    /// The message's entry ID (hex, as `oxmapi ls` prints it).
    message: String,
    /// Reply to the sender and every other To and Cc recipient (CDO ReplyAll).
    #[arg(long)]
    all: bool,
    /// Text written above the quoted original.
    #[arg(
        long,
        conflicts_with = "body_file",
        required_unless_present = "body_file"
    )]
    body: Option<String>,
    /// Read that text from FILE.
    #[arg(long, value_name = "FILE")]
    body_file: Option<PathBuf>,
    /// Save the response in Drafts instead of sending it.
    #[arg(long)]
    draft: bool,
    /// Print the outcome as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `oxmapi forward MESSAGE-ID --to A [--body TEXT]`.
#[derive(Args, Debug)]
pub(crate) struct ForwardArgs {
    #[command(flatten)]
    conn: ConnArgs,
    /// The message's entry ID (hex, as `oxmapi ls` prints it).
    message: String,
    /// To recipient; repeatable.
    #[arg(long, required = true)]
    to: Vec<String>,
    /// Cc recipient; repeatable.
    #[arg(long)]
    cc: Vec<String>,
    /// Text written above the forwarded message.
    #[arg(long, conflicts_with = "body_file")]
    body: Option<String>,
    /// Read that text from FILE.
    #[arg(long, value_name = "FILE")]
    body_file: Option<PathBuf>,
    /// Save the forward in Drafts instead of sending it.
    #[arg(long)]
    draft: bool,
    /// Print the outcome as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `oxmapi resolve NAME`.
#[derive(Args, Debug)]
pub(crate) struct ResolveArgs {
    #[command(flatten)]
    conn: ConnArgs,
    /// Name, alias or address to resolve.
    name: String,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `oxmapi gal`.
#[derive(Args, Debug)]
pub(crate) struct GalArgs {
    #[command(flatten)]
    conn: ConnArgs,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `oxmapi mv|cp MESSAGE-ID FOLDER`.
#[derive(Args, Debug)]
pub(crate) struct MoveArgs {
    #[command(flatten)]
    conn: ConnArgs,
    /// The message's entry ID (hex, as `oxmapi ls` prints it).
    message: String,
    /// Destination folder: a path below the top of the mailbox ("Inbox/Archive") or a
    /// folder entry ID.
    folder: String,
}

/// `oxmapi rm MESSAGE-ID [--hard]`.
#[derive(Args, Debug)]
pub(crate) struct RmArgs {
    #[command(flatten)]
    conn: ConnArgs,
    /// The message's entry ID (hex).
    message: String,
    /// Delete for good instead of moving to Deleted Items.
    #[arg(long)]
    hard: bool,
}

/// `oxmapi mark MESSAGE-ID --read|--unread`.
#[derive(Args, Debug)]
pub(crate) struct MarkArgs {
    #[command(flatten)]
    conn: ConnArgs,
    /// The message's entry ID (hex).
    message: String,
    /// Mark read.
    #[arg(long, conflicts_with = "unread", required_unless_present = "unread")]
    read: bool,
    /// Mark unread.
    #[arg(long)]
    unread: bool,
}

/// `oxmapi mkdir|rmdir FOLDER`.
#[derive(Args, Debug)]
pub(crate) struct FolderArgs {
    #[command(flatten)]
    conn: ConnArgs,
    /// Folder path below the top of the mailbox ("Inbox/Projects").
    path: String,
}

async fn logon(conn: &ConnArgs) -> Result<Session> {
    let config = conn.load_config()?;
    Ok(Session::logon(&config, conn.logon_params()?).await?)
}

pub(crate) async fn send(a: SendArgs) -> Result<ExitCode> {
    let body = match (&a.body, &a.body_file) {
        (Some(b), _) => b.clone(),
        (None, Some(f)) => {
            std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?
        }
        (None, None) => String::new(),
    };
    let mut s = logon(&a.conn).await?;
    let outbox = s.default_folder_id(DefaultFolder::Outbox);
    let mut m = s.new_message(outbox);
    m.set_subject(&a.subject);
    if a.html {
        m.set_body_html(&body);
    } else {
        m.set_body_text(&body);
    }
    for t in &a.to {
        m.to(t);
    }
    for c in &a.cc {
        m.cc(c);
    }
    for b in &a.bcc {
        m.bcc(b);
    }
    for f in &a.attach {
        m.attach_file(f);
    }
    let outcome = m.send(&mut s).await;
    let _ = s.logoff().await;
    print_outcome(&outcome?, a.json)
}

/// Prints what became of a send; success only when it was sent.
fn print_outcome(outcome: &SendOutcome, json: bool) -> Result<ExitCode> {
    if json {
        println!("{}", serde_json::to_string_pretty(&outcome)?);
    } else {
        match outcome {
            SendOutcome::Sent {
                internet_message_id,
                verified_after_reconnect,
            } => {
                println!("sent {internet_message_id}");
                if *verified_after_reconnect {
                    println!("(the answer was lost; found in Sent Items after reconnecting)");
                }
            }
            SendOutcome::NotSent {
                internet_message_id,
                reason,
                ..
            } => {
                println!("NOT sent {internet_message_id}: {reason}");
            }
            SendOutcome::Unknown {
                internet_message_id,
                reason,
            } => {
                println!("UNKNOWN whether {internet_message_id} was sent (not resent): {reason}");
            }
        }
    }
    Ok(if outcome.is_sent() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn body_text(body: &Option<String>, file: &Option<PathBuf>) -> Result<String> {
    match (body, file) {
        (Some(b), _) => Ok(b.clone()),
        (None, Some(f)) => {
            std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))
        }
        (None, None) => Ok(String::new()),
    }
}

/// What a response command did.
enum Responded {
    Sent(SendOutcome),
    Draft(String),
}

pub(crate) async fn reply(a: ReplyArgs) -> Result<ExitCode> {
    let kind = if a.all {
        ResponseKind::ReplyAll
    } else {
        ResponseKind::Reply
    };
    let r = Respond {
        message: a.message,
        kind,
        text: body_text(&a.body, &a.body_file)?,
        to: Vec::new(),
        cc: Vec::new(),
        draft: a.draft,
        json: a.json,
    };
    respond(&a.conn, r).await
}

pub(crate) async fn forward(a: ForwardArgs) -> Result<ExitCode> {
    let r = Respond {
        message: a.message,
        kind: ResponseKind::Forward,
        text: body_text(&a.body, &a.body_file)?,
        to: a.to,
        cc: a.cc,
        draft: a.draft,
        json: a.json,
    };
    respond(&a.conn, r).await
}

/// A `reply` or `forward` request.
struct Respond {
    message: String,
    kind: ResponseKind,
    text: String,
    to: Vec<String>,
    cc: Vec<String>,
    draft: bool,
    json: bool,
}

async fn respond(conn: &ConnArgs, a: Respond) -> Result<ExitCode> {
    let Respond {
        message,
        kind,
        text,
        to,
        cc,
        draft,
        json,
    } = a;
    let id = EntryId::from_hex(&message)
        .with_context(|| format!("{message:?} is not a message entry ID"))?;
    let mut s = logon(conn).await?;
    let r = async {
        let original = s.get_message(&id).await?;
        let options = ResponseOptions { folder: None, text };
        let mut m = original.respond(&mut s, kind, &options).await?;
        for t in &to {
            m.to(t);
        }
        for c in &cc {
            m.cc(c);
        }
        m.recipients_mut().resolve(&mut s).await?;
        let who: Vec<String> = m
            .recipients()
            .iter()
            .map(|r| {
                r.entry
                    .as_ref()
                    .map_or_else(|| r.name.clone(), |e| e.name.clone())
            })
            .collect();
        let subject = m
            .get(oxmapi_wire::data::tags::PidTagSubject)
            .and_then(|v| v.as_str().map(|s| s.into_owned()))
            .unwrap_or_default();
        if !json {
            println!("{subject:?} to {}", who.join("; "));
        }
        if draft {
            let mid = m.save(&mut s).await?;
            return anyhow::Ok(Responded::Draft(format!(
                "saved {subject:?} in Drafts ({mid})"
            )));
        }
        anyhow::Ok(Responded::Sent(m.send(&mut s).await?))
    }
    .await;
    let _ = s.logoff().await;
    match r? {
        Responded::Sent(outcome) => print_outcome(&outcome, json),
        Responded::Draft(what) => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "outcome": "draft", "detail": what })
                );
            } else {
                println!("{what}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

pub(crate) async fn resolve(a: ResolveArgs) -> Result<ExitCode> {
    let mut s = logon(&a.conn).await?;
    let r = s.resolve_name(&a.name).await;
    let _ = s.logoff().await;
    let r = r?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        match &r {
            Resolution::Resolved(e) => {
                println!("{} [{}:{}]", e.describe(), e.address_type, e.address)
            }
            Resolution::Ambiguous { candidates } => {
                println!("{:?} is ambiguous:", a.name);
                for c in candidates {
                    println!("  {} [{}]", c.describe(), c.address);
                }
            }
            Resolution::NotFound => println!("{:?} is not in the address book", a.name),
        }
    }
    Ok(match r {
        Resolution::Resolved(_) => ExitCode::SUCCESS,
        _ => ExitCode::FAILURE,
    })
}

pub(crate) async fn gal(a: GalArgs) -> Result<ExitCode> {
    let mut s = logon(&a.conn).await?;
    let entries = s.gal_entries().await;
    let _ = s.logoff().await;
    let entries = entries?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&entries)?);
    } else {
        for e in &entries {
            println!(
                "{:<30} {:<12} {}",
                e.name,
                e.alias.as_deref().unwrap_or(""),
                e.smtp_address.as_deref().unwrap_or("")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn message_arg(s: &Session, hex: &str) -> Result<(FolderId, oxmapi_wire::data::MessageId)> {
    let id =
        EntryId::from_hex(hex).with_context(|| format!("{hex:?} is not a message entry ID"))?;
    Ok(s.message_of(&id)?)
}

async fn folder_arg(s: &mut Session, f: &str) -> Result<FolderId> {
    if let Ok(id) = EntryId::from_hex(f) {
        return Ok(s.folder_id_of(&id)?);
    }
    Ok(s.folder_by_path(f).await?.id())
}

pub(crate) async fn move_copy(a: MoveArgs, copy: bool) -> Result<ExitCode> {
    let mut s = logon(&a.conn).await?;
    let r = async {
        let (from, mid) = message_arg(&s, &a.message)?;
        let to = folder_arg(&mut s, &a.folder).await?;
        if copy {
            s.copy_messages(from, &[mid], to).await?;
        } else {
            s.move_messages(from, &[mid], to).await?;
        }
        anyhow::Ok(())
    }
    .await;
    let _ = s.logoff().await;
    r?;
    println!(
        "{} {} to {}",
        if copy { "copied" } else { "moved" },
        a.message,
        a.folder
    );
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn rm(a: RmArgs) -> Result<ExitCode> {
    let mut s = logon(&a.conn).await?;
    let mode = if a.hard {
        DeleteMode::Hard
    } else {
        DeleteMode::Soft
    };
    let r = async {
        let (from, mid) = message_arg(&s, &a.message)?;
        s.delete_messages(from, &[mid], mode).await?;
        anyhow::Ok(())
    }
    .await;
    let _ = s.logoff().await;
    r?;
    println!(
        "deleted {}{}",
        a.message,
        if a.hard { " (hard)" } else { "" }
    );
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn mark(a: MarkArgs) -> Result<ExitCode> {
    let mut s = logon(&a.conn).await?;
    let r = async {
        let (from, mid) = message_arg(&s, &a.message)?;
        s.set_read(from, &[mid], a.read).await?;
        anyhow::Ok(())
    }
    .await;
    let _ = s.logoff().await;
    r?;
    println!(
        "marked {} {}",
        a.message,
        if a.read { "read" } else { "unread" }
    );
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn mkdir(a: FolderArgs) -> Result<ExitCode> {
    let (parent, name) = match a.path.trim_end_matches('/').rsplit_once('/') {
        Some((p, n)) => (p.to_owned(), n.to_owned()),
        None => (String::new(), a.path.clone()),
    };
    if name.is_empty() {
        bail!("give a folder path such as Inbox/Projects");
    }
    let mut s = logon(&a.conn).await?;
    let r = async {
        let parent = s.folder_by_path(&parent).await?.id();
        anyhow::Ok(s.create_folder(parent, &name).await?)
    }
    .await;
    let _ = s.logoff().await;
    println!("created {} ({})", a.path, r?);
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn rmdir(a: FolderArgs) -> Result<ExitCode> {
    let mut s = logon(&a.conn).await?;
    let r = async {
        let f = s.folder_by_path(&a.path).await?.id();
        s.delete_folder(f).await?;
        anyhow::Ok(())
    }
    .await;
    let _ = s.logoff().await;
    r?;
    println!("deleted folder {}", a.path);
    Ok(ExitCode::SUCCESS)
}
