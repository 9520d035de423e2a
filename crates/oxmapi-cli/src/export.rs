//! `oxmapi export FOLDER --eml DIR [--recursive]`: one RFC 5322 `.eml` file per message,
//! built with `mail-builder`. Each file is written to a temporary name and renamed when
//! complete, so an interrupted export leaves only whole files; files that exist already are
//! skipped, so re-running resumes.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Instant, UNIX_EPOCH};

use anyhow::{Context, Result};
use clap::Args;
use mail_builder::MessageBuilder;
use mail_builder::headers::address::Address;
use oxmapi::{Folder, Message, RecipientType, Session, Sort};
use oxmapi_wire::data::tags;

use crate::conn::ConnArgs;
use crate::read_cmds::{explain, folder_paths, logon, safe_file_name};

/// Arguments of `oxmapi export`.
#[derive(Args, Debug)]
pub(crate) struct ExportArgs {
    #[command(flatten)]
    conn: ConnArgs,
    /// Folder path below the top of the mailbox, e.g. "Inbox".
    folder: String,
    /// Directory to write one .eml file per message into (created if missing).
    #[arg(long, value_name = "DIR")]
    eml: PathBuf,
    /// Also export every subfolder, into subdirectories.
    #[arg(long)]
    recursive: bool,
}

/// What an export did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ExportCounts {
    pub(crate) written: u64,
    pub(crate) skipped: u64,
    pub(crate) failed: u64,
}

pub(crate) async fn run(args: ExportArgs) -> Result<ExitCode> {
    let mut s = logon(&args.conn).await?;
    let root = s.folder_by_path(&args.folder).await.map_err(explain)?;
    let mut jobs: Vec<(Folder, PathBuf)> = vec![(root.clone(), args.eml.clone())];
    if args.recursive {
        let below = root.all_folders(&mut s).await.map_err(explain)?;
        let paths = folder_paths(&below);
        for (f, p) in below.into_iter().zip(paths) {
            let dir = p
                .split('/')
                .fold(args.eml.clone(), |d, seg| d.join(safe_file_name(seg)));
            jobs.push((f, dir));
        }
    }
    let total: u64 = jobs.iter().map(|(f, _)| u64::from(f.count())).sum();
    let progress = Progress::new(total);
    let started = Instant::now();
    let mut counts = ExportCounts::default();
    for (folder, dir) in &jobs {
        export_folder(&mut s, folder, dir, &mut counts, &progress).await?;
    }
    progress.finish();
    eprintln!(
        "exported {} message(s) to {} ({} already there, {} failed) in {:.1} s",
        counts.written,
        args.eml.display(),
        counts.skipped,
        counts.failed,
        started.elapsed().as_secs_f64()
    );
    s.logoff().await.map_err(explain)?;
    Ok(if counts.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Exports the messages of one folder into `dir`.
pub(crate) async fn export_folder(
    s: &mut Session,
    folder: &Folder,
    dir: &Path,
    counts: &mut ExportCounts,
    progress: &Progress,
) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    remove_stale_parts(dir)?;
    let mut m = folder
        .messages()
        .columns(&[tags::PidTagEntryId, tags::PidTagSubject])
        .sort(Sort::received());
    while let Some(row) = m.get_next(s).await.map_err(explain)? {
        let Some(id) = row.entry_id() else {
            counts.failed += 1;
            continue;
        };
        let file = dir.join(file_name(&id, row.subject().as_deref()));
        if file.exists() {
            counts.skipped += 1;
            progress.tick(counts);
            continue;
        }
        let result = async {
            let msg = s.get_message(&id).await.map_err(explain)?;
            let eml = to_eml(s, &msg).await?;
            write_atomically(&file, &eml)
        }
        .await;
        match result {
            Ok(()) => counts.written += 1,
            Err(e) => {
                counts.failed += 1;
                eprintln!("\r{}: {e:#}", file.display());
            }
        }
        progress.tick(counts);
    }
    Ok(())
}

/// `<message GLOBCNT hex>-<subject>.eml`: stable across runs and sessions.
fn file_name(id: &oxmapi::EntryId, subject: Option<&str>) -> String {
    let key = match id {
        oxmapi::EntryId::Message(m) => m.message.globcnt(),
        oxmapi::EntryId::Folder(f) => f.folder.globcnt(),
    };
    let slug: String = safe_file_name(subject.unwrap_or(""))
        .chars()
        .map(|c| if c.is_whitespace() { '-' } else { c })
        .take(60)
        .collect();
    if slug.is_empty() {
        format!("{key:012x}.eml")
    } else {
        format!("{key:012x}-{slug}.eml")
    }
}

/// Builds the RFC 5322 form of a message: headers from its properties, text and HTML
/// bodies, attachments (embedded messages are skipped).
pub(crate) async fn to_eml(s: &mut Session, msg: &Message) -> Result<Vec<u8>> {
    let mut b = MessageBuilder::new();
    let from_name = msg.sender_name().unwrap_or_default();
    let from_addr = msg.sender_email().unwrap_or_default();
    b = b.from(Address::new_address(Some(from_name), from_addr));
    for (kind, set) in [
        (RecipientType::To, 0),
        (RecipientType::Cc, 1),
        (RecipientType::Bcc, 2),
    ] {
        let list: Vec<Address<'static>> = msg
            .recipients()
            .of(kind)
            .map(|r| {
                Address::new_address(
                    r.name().map(str::to_owned),
                    r.address().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        if list.is_empty() {
            continue;
        }
        let list = Address::new_list(list);
        b = match set {
            0 => b.to(list),
            1 => b.cc(list),
            _ => b.bcc(list),
        };
    }
    b = b.subject(msg.subject().unwrap_or_default());
    if let Some(t) = msg.time_received().or(msg.time_sent())
        && let Ok(d) = t.duration_since(UNIX_EPOCH)
    {
        b = b.date(d.as_secs());
    }
    if let Some(id) = msg.internet_message_id() {
        let id = id
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>')
            .to_owned();
        if !id.is_empty() {
            b = b.message_id(id);
        }
    }
    if let Some(text) = msg.text(s).await.map_err(explain)? {
        b = b.text_body(text);
    }
    if let Some(html) = msg.html(s).await.map_err(explain)? {
        b = b.html_body(String::from_utf8_lossy(&html).into_owned());
    }
    if msg.has_attachments() {
        for a in &msg.attachments(s).await.map_err(explain)? {
            if a.is_embedded_message() {
                continue;
            }
            let data = a.data(s).await.map_err(explain)?;
            let mime = a
                .mime_type()
                .unwrap_or("application/octet-stream")
                .to_owned();
            let name = a
                .name()
                .map(str::to_owned)
                .unwrap_or_else(|| format!("attachment-{}", a.number()));
            b = b.attachment(mime, name, data);
        }
    }
    Ok(b.write_to_vec()?)
}

/// Removes temporary files an interrupted earlier export left behind (ours only: the
/// `.oxmapi-export-*.part` names of [`write_atomically`]).
fn remove_stale_parts(dir: &Path) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with(".oxmapi-export-") && name.ends_with(".part") && path.is_file() {
            std::fs::remove_file(&path)
                .with_context(|| format!("removing the stale {}", path.display()))?;
        }
    }
    Ok(())
}

/// Writes `bytes` to a temporary file beside `path`, then renames it into place.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".oxmapi-export-")
        .suffix(".part")
        .tempfile_in(dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    std::io::Write::write_all(&mut tmp, bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path)
        .with_context(|| format!("renaming into {}", path.display()))?;
    Ok(())
}

/// A progress line on a terminal; nothing otherwise (the summary line follows).
pub(crate) struct Progress {
    total: u64,
    tty: bool,
}

impl Progress {
    pub(crate) fn new(total: u64) -> Self {
        Self {
            total,
            tty: std::io::stderr().is_terminal(),
        }
    }

    fn tick(&self, c: &ExportCounts) {
        if self.tty {
            let done = c.written + c.skipped + c.failed;
            eprint!("\rexporting {done}/{} ...", self.total);
        }
    }

    fn finish(&self) {
        if self.tty {
            eprintln!();
        }
    }
}
