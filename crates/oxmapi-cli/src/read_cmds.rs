//! Reading a mailbox from the command line: `folders`, `ls`, `show`, `save-attachments`.
//! Presentation only: every call goes through the `oxmapi` CDO-style API.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::SystemTime;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use oxmapi::{EntryId, Filter, Folder, Message, MessageRow, Session, Sort};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::conn::ConnArgs;

/// Arguments of `oxmapi folders`.
#[derive(Args, Debug)]
pub(crate) struct FoldersArgs {
    #[command(flatten)]
    conn: ConnArgs,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Sort orders of `oxmapi ls`.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub(crate) enum SortArg {
    /// Oldest first.
    Received,
    /// Newest first.
    #[value(name = "-received")]
    ReceivedDesc,
    /// By subject.
    Subject,
}

/// Arguments of `oxmapi ls`.
#[derive(Args, Debug)]
pub(crate) struct LsArgs {
    #[command(flatten)]
    conn: ConnArgs,
    /// Folder path below the top of the mailbox, e.g. "Inbox" or "Inbox/Projects".
    folder: String,
    /// At most N messages.
    #[arg(long, value_name = "N")]
    limit: Option<u64>,
    /// Unread messages only.
    #[arg(long)]
    unread: bool,
    /// Received on or after DATE (YYYY-MM-DD or RFC 3339).
    #[arg(long, value_name = "DATE")]
    since: Option<String>,
    /// Sender name or address contains TEXT.
    #[arg(long, value_name = "TEXT")]
    from: Option<String>,
    /// Subject contains TEXT.
    #[arg(long, value_name = "TEXT")]
    subject: Option<String>,
    /// Sort order.
    #[arg(
        long,
        value_enum,
        allow_hyphen_values = true,
        default_value = "-received"
    )]
    sort: SortArg,
    /// Print JSON lines.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Arguments of `oxmapi show`.
#[derive(Args, Debug)]
pub(crate) struct ShowArgs {
    #[command(flatten)]
    conn: ConnArgs,
    /// The message's entry ID in hex (what `oxmapi ls` prints).
    message_id: String,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
    /// Show the HTML body instead of the text body.
    #[arg(long, conflicts_with = "rtf")]
    html: bool,
    /// Show the RTF body instead of the text body.
    #[arg(long)]
    rtf: bool,
}

/// Arguments of `oxmapi save-attachments`.
#[derive(Args, Debug)]
pub(crate) struct SaveArgs {
    #[command(flatten)]
    conn: ConnArgs,
    /// The message's entry ID in hex.
    message_id: String,
    /// Directory to write the attachments to (created if missing).
    dir: PathBuf,
}

pub(crate) async fn logon(conn: &ConnArgs) -> Result<Session> {
    let config = conn.load_config()?;
    let params = conn.logon_params()?;
    Session::logon(&config, params).await.map_err(explain)
}

/// An `oxmapi::Error` with its hint, for anyhow.
pub(crate) fn explain(e: oxmapi::Error) -> anyhow::Error {
    anyhow::Error::new(Explained(e))
}

/// An `oxmapi::Error` shown as its message with the hint on a line of its own; kept whole so
/// that `--json` can print its fields.
#[derive(Debug)]
pub(crate) struct Explained(pub(crate) oxmapi::Error);

impl std::fmt::Display for Explained {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        match self.0.hint() {
            Some(h) => write!(f, "\n  hint: {h}"),
            None => Ok(()),
        }
    }
}

/// No source: the message already says what the session error's sources said.
impl std::error::Error for Explained {}

#[derive(Serialize)]
struct FolderJson {
    path: String,
    name: String,
    id: String,
    entry_id: Option<String>,
    count: u32,
    unread: u32,
    depth: u32,
    container_class: Option<String>,
}

pub(crate) async fn folders(args: FoldersArgs) -> Result<ExitCode> {
    let mut s = logon(&args.conn).await?;
    let top = s
        .get_folder(s.special_folder_ids()[3])
        .await
        .map_err(explain)?;
    let all = top.all_folders(&mut s).await.map_err(explain)?;
    let paths = folder_paths(&all);
    if args.json {
        let v: Vec<FolderJson> = all
            .iter()
            .zip(&paths)
            .map(|(f, p)| FolderJson {
                path: p.clone(),
                name: f.name().to_owned(),
                id: f.id().to_string(),
                entry_id: f.entry_id().map(EntryId::to_hex),
                count: f.count(),
                unread: f.unread(),
                depth: f.depth(),
                container_class: f.container_class().map(str::to_owned),
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        let mut out = std::io::stdout().lock();
        for f in &all {
            let indent = "  ".repeat(f.depth().saturating_sub(1) as usize);
            let unread = if f.unread() > 0 {
                format!(", {} unread", f.unread())
            } else {
                String::new()
            };
            writeln!(out, "{indent}{} ({}{unread})", f.name(), f.count())?;
        }
    }
    s.logoff().await.map_err(explain)?;
    Ok(ExitCode::SUCCESS)
}

/// The path of every folder of a depth-first hierarchy listing.
pub(crate) fn folder_paths(all: &[Folder]) -> Vec<String> {
    let mut stack: Vec<String> = Vec::new();
    all.iter()
        .map(|f| {
            stack.truncate(f.depth().saturating_sub(1) as usize);
            stack.push(f.name().replace('/', "\u{2215}"));
            stack.join("/")
        })
        .collect()
}

#[derive(Serialize)]
struct RowJson {
    id: Option<String>,
    received: Option<String>,
    from: Option<String>,
    from_address: Option<String>,
    subject: Option<String>,
    unread: bool,
    size: Option<u64>,
    attachments: bool,
}

pub(crate) async fn ls(args: LsArgs) -> Result<ExitCode> {
    let since = args.since.as_deref().map(parse_date).transpose()?;
    let mut s = logon(&args.conn).await?;
    let folder = s.folder_by_path(&args.folder).await.map_err(explain)?;
    let mut m = folder.messages().sort(match args.sort {
        SortArg::Received => Sort::received(),
        SortArg::ReceivedDesc => Sort::received_newest_first(),
        SortArg::Subject => Sort::subject(),
    });
    if args.unread {
        m = m.filter(Filter::Unread);
    }
    if let Some(t) = since {
        m = m.filter(Filter::Since(t));
    }
    if let Some(f) = &args.from {
        m = m.filter(Filter::SenderContains(f.clone()));
    }
    if let Some(t) = &args.subject {
        m = m.filter(Filter::SubjectContains(t.clone()));
    }
    if let Some(n) = args.limit {
        m = m.limit(n);
    }
    let mut out = std::io::stdout().lock();
    while let Some(row) = m.get_next(&mut s).await.map_err(explain)? {
        if args.json {
            writeln!(out, "{}", serde_json::to_string(&row_json(&row))?)?;
        } else {
            writeln!(
                out,
                "{}  {}  {}{}  {:<24}  {}",
                row.entry_id().map(|e| e.to_hex()).unwrap_or_default(),
                row.time_received()
                    .map(date_only)
                    .unwrap_or_else(|| "-".repeat(10)),
                if row.unread() { "U" } else { " " },
                if row.has_attachments() { "@" } else { " " },
                clip(&row.sender_name().unwrap_or_default(), 24),
                row.subject().unwrap_or_default()
            )?;
        }
    }
    drop(out);
    s.logoff().await.map_err(explain)?;
    Ok(ExitCode::SUCCESS)
}

fn row_json(r: &MessageRow) -> RowJson {
    RowJson {
        id: r.entry_id().map(|e| e.to_hex()),
        received: r.time_received().map(rfc3339),
        from: r.sender_name(),
        from_address: r.sender_email(),
        subject: r.subject(),
        unread: r.unread(),
        size: r.size(),
        attachments: r.has_attachments(),
    }
}

#[derive(Serialize)]
struct ShowJson {
    id: Option<String>,
    subject: Option<String>,
    from: Option<String>,
    from_address: Option<String>,
    received: Option<String>,
    unread: bool,
    importance: Option<i64>,
    size: Option<u64>,
    message_class: Option<String>,
    recipients: Vec<RecipientJson>,
    attachments: Vec<AttachmentJson>,
    body: Option<String>,
}

#[derive(Serialize)]
struct RecipientJson {
    kind: String,
    name: Option<String>,
    address: Option<String>,
}

#[derive(Serialize)]
struct AttachmentJson {
    number: u32,
    name: Option<String>,
    mime_type: Option<String>,
    size: Option<u64>,
}

pub(crate) async fn show(args: ShowArgs) -> Result<ExitCode> {
    let id = parse_id(&args.message_id)?;
    let mut s = logon(&args.conn).await?;
    let msg = s.get_message(&id).await.map_err(explain)?;
    let body = if args.html {
        msg.html(&mut s)
            .await
            .map_err(explain)?
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    } else if args.rtf {
        msg.rtf(&mut s).await.map_err(explain)?
    } else {
        msg.text(&mut s).await.map_err(explain)?
    };
    let atts = if msg.has_attachments() {
        msg.attachments(&mut s).await.map_err(explain)?
    } else {
        oxmapi::Attachments::default()
    };
    let recipients: Vec<RecipientJson> = msg
        .recipients()
        .iter()
        .map(|r| RecipientJson {
            kind: r
                .kind()
                .map_or_else(|| format!("{}", r.raw_type()), |k| format!("{k:?}")),
            name: r.name().map(str::to_owned),
            address: r.address().map(str::to_owned),
        })
        .collect();
    let attachments: Vec<AttachmentJson> = atts
        .iter()
        .map(|a| AttachmentJson {
            number: a.number(),
            name: a.name().map(str::to_owned),
            mime_type: a.mime_type().map(str::to_owned),
            size: a.size(),
        })
        .collect();
    if args.json {
        let v = ShowJson {
            id: msg.entry_id().map(|e| e.to_hex()),
            subject: msg.subject(),
            from: msg.sender_name(),
            from_address: msg.sender_email(),
            received: msg.time_received().map(rfc3339),
            unread: msg.unread(),
            importance: msg.importance(),
            size: msg.size(),
            message_class: msg.message_class(),
            recipients,
            attachments,
            body,
        };
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print_message(&msg, &recipients, &attachments, body.as_deref())?;
    }
    s.logoff().await.map_err(explain)?;
    Ok(ExitCode::SUCCESS)
}

fn print_message(
    msg: &Message,
    recipients: &[RecipientJson],
    attachments: &[AttachmentJson],
    body: Option<&str>,
) -> Result<()> {
    let mut out = std::io::stdout().lock();
    let from = match (msg.sender_name(), msg.sender_email()) {
        (Some(n), Some(a)) => format!("{n} <{a}>"),
        (Some(n), None) => n,
        (None, Some(a)) => a,
        (None, None) => String::new(),
    };
    writeln!(out, "From:     {from}")?;
    for kind in ["To", "Cc", "Bcc"] {
        let list: Vec<String> = recipients
            .iter()
            .filter(|r| r.kind == kind)
            .map(|r| match (&r.name, &r.address) {
                (Some(n), Some(a)) if n != a => format!("{n} <{a}>"),
                (Some(n), _) => n.clone(),
                (None, Some(a)) => a.clone(),
                (None, None) => String::new(),
            })
            .collect();
        if !list.is_empty() {
            writeln!(out, "{:<9} {}", format!("{kind}:"), list.join(", "))?;
        }
    }
    writeln!(out, "Subject:  {}", msg.subject().unwrap_or_default())?;
    if let Some(t) = msg.time_received() {
        writeln!(out, "Date:     {}", rfc3339(t))?;
    }
    for a in attachments {
        writeln!(
            out,
            "Attached: {} ({}, {} bytes)",
            a.name.as_deref().unwrap_or("(no name)"),
            a.mime_type.as_deref().unwrap_or("application/octet-stream"),
            a.size.unwrap_or(0)
        )?;
    }
    writeln!(out)?;
    writeln!(out, "{}", body.unwrap_or("(no body)"))?;
    Ok(())
}

pub(crate) async fn save_attachments(args: SaveArgs) -> Result<ExitCode> {
    let id = parse_id(&args.message_id)?;
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("creating {}", args.dir.display()))?;
    let mut s = logon(&args.conn).await?;
    let msg = s.get_message(&id).await.map_err(explain)?;
    let atts = msg.attachments(&mut s).await.map_err(explain)?;
    let mut used = Vec::new();
    for a in &atts {
        if a.is_embedded_message() {
            eprintln!(
                "skipping attachment {} (an embedded message)",
                a.name().unwrap_or("(no name)")
            );
            continue;
        }
        let name = unique_name(&args.dir, &mut used, a.name(), a.number());
        let path = args.dir.join(&name);
        let n = a.write_to_file(&mut s, &path).await.map_err(explain)?;
        println!("{}  {n} bytes", path.display());
    }
    s.logoff().await.map_err(explain)?;
    Ok(ExitCode::SUCCESS)
}

/// A safe file name: no directory parts, no control characters, unique in `dir`.
pub(crate) fn unique_name(
    dir: &Path,
    used: &mut Vec<String>,
    name: Option<&str>,
    number: u32,
) -> String {
    let cleaned = safe_file_name(name.unwrap_or(""));
    let base = if cleaned.is_empty() {
        format!("attachment-{number}")
    } else {
        cleaned
    };
    let (stem, ext) = match base.rfind('.') {
        Some(i) if i > 0 => (base[..i].to_owned(), base[i..].to_owned()),
        _ => (base.clone(), String::new()),
    };
    let mut candidate = base;
    let mut i = 1;
    while used.contains(&candidate) || dir.join(&candidate).exists() {
        candidate = format!("{stem} ({i}){ext}");
        i += 1;
    }
    used.push(candidate.clone());
    candidate
}

/// Replaces path separators and control characters; refuses `.`/`..`.
pub(crate) fn safe_file_name(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    let s = s.trim().trim_matches('.').to_owned();
    s.chars().take(200).collect()
}

pub(crate) fn parse_id(hex: &str) -> Result<EntryId> {
    EntryId::from_hex(hex).with_context(|| format!("message ID {hex:?}"))
}

/// `YYYY-MM-DD` (midnight UTC) or RFC 3339.
pub(crate) fn parse_date(s: &str) -> Result<SystemTime> {
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Ok(t.into());
    }
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    match time::Date::parse(s, &fmt) {
        Ok(d) => Ok(d.midnight().assume_utc().into()),
        Err(_) => bail!("--since {s:?}: give a date as YYYY-MM-DD or RFC 3339"),
    }
}

pub(crate) fn rfc3339(t: SystemTime) -> String {
    OffsetDateTime::from(t).format(&Rfc3339).unwrap_or_default()
}

fn date_only(t: SystemTime) -> String {
    let d = OffsetDateTime::from(t);
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let mut c: String = s.chars().take(n - 1).collect();
        c.push('…');
        c
    }
}

/// What `oxmapi demo` shows after the logon: the Inbox listing and the newest message.
pub(crate) async fn demo_tour(s: &mut Session) -> Result<()> {
    let inbox = s.inbox().await.map_err(explain)?;
    println!(
        "\nInbox: {} message(s), {} unread   (CDO: objSession.Inbox.Messages)",
        inbox.count(),
        inbox.unread()
    );
    let rows = inbox
        .messages()
        .sort(Sort::received_newest_first())
        .collect(s)
        .await
        .map_err(explain)?;
    for r in &rows {
        println!(
            "  {}{} {}  {:<24}  {}",
            if r.unread() { "U" } else { " " },
            if r.has_attachments() { "@" } else { " " },
            r.time_received().map(date_only).unwrap_or_default(),
            clip(&r.sender_name().unwrap_or_default(), 24),
            r.subject().unwrap_or_default()
        );
    }
    let Some(first) = rows.first() else {
        return Ok(());
    };
    let msg = first.open(s).await.map_err(explain)?;
    let body = msg.text(s).await.map_err(explain)?;
    let atts = if msg.has_attachments() {
        msg.attachments(s).await.map_err(explain)?
    } else {
        oxmapi::Attachments::default()
    };
    println!(
        "\nThe newest message (oxmapi show {}):\n",
        msg.entry_id().map(|e| e.to_hex()).unwrap_or_default()
    );
    let recipients: Vec<RecipientJson> = msg
        .recipients()
        .iter()
        .map(|r| RecipientJson {
            kind: r
                .kind()
                .map_or_else(|| format!("{}", r.raw_type()), |k| format!("{k:?}")),
            name: r.name().map(str::to_owned),
            address: r.address().map(str::to_owned),
        })
        .collect();
    let attachments: Vec<AttachmentJson> = atts
        .iter()
        .map(|a| AttachmentJson {
            number: a.number(),
            name: a.name().map(str::to_owned),
            mime_type: a.mime_type().map(str::to_owned),
            size: a.size(),
        })
        .collect();
    print_message(&msg, &recipients, &attachments, body.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_safe_and_unique() {
        assert_eq!(safe_file_name("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(safe_file_name(".."), "");
        assert_eq!(safe_file_name("a\u{0}b.txt"), "a_b.txt");
        let dir = tempfile::tempdir().unwrap();
        let mut used = Vec::new();
        assert_eq!(
            unique_name(dir.path(), &mut used, Some("a.txt"), 0),
            "a.txt"
        );
        assert_eq!(
            unique_name(dir.path(), &mut used, Some("a.txt"), 1),
            "a (1).txt"
        );
        assert_eq!(unique_name(dir.path(), &mut used, None, 7), "attachment-7");
    }

    #[test]
    fn dates() {
        let t = parse_date("2024-03-01").unwrap();
        assert_eq!(rfc3339(t), "2024-03-01T00:00:00Z");
        assert!(parse_date("2024-03-01T10:00:00+02:00").is_ok());
        assert!(parse_date("yesterday").is_err());
    }
}
