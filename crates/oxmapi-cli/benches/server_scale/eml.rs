//! The data set: N small, realistic RFC 5322 messages (RFC 5322 3.6 header fields, RFC 2045
//! MIME), deterministic for a seed, so every server imports the same bytes.
//!
//! Each message has From (one of a few hundred senders), To, Subject (a topic and a number),
//! Date (spread over 2024), Message-ID and a plain-text body of a few hundred bytes; every
//! 10th carries a 2 KiB attachment (multipart/mixed), and every 3rd has `Status: RO` (read, in
//! the mbox convention `oxmapi server import` honours; gromox's delivery mode marks all
//! unread).

use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc2822;

const FIRST: &[&str] = &[
    "Anna", "Ben", "Clara", "David", "Eva", "Felix", "Greta", "Hugo", "Ida", "Jonas", "Karla",
    "Lukas", "Mia", "Noah", "Olga", "Paul", "Rita", "Sven", "Tina", "Uwe", "Vera", "Yara", "Zoe",
];
const LAST: &[&str] = &[
    "Miller", "Schmidt", "Nguyen", "Garcia", "Rossi", "Dubois", "Kowalski", "Jensen", "Silva",
    "Novak", "Tanaka", "Smith", "Brown", "Weber", "Fischer", "Meyer",
];
const DOMAINS: &[&str] = &[
    "example.org",
    "example.net",
    "acme.example",
    "contoso.example",
    "fabrikam.example",
    "northwind.example",
];
/// Topics; "Invoice" appears in 1 of 20 subjects (the substring restriction of (b)).
pub(crate) const TOPICS: &[&str] = &[
    "Quarterly report",
    "Meeting notes",
    "Invoice",
    "Re: project timeline",
    "Fwd: customer feedback",
    "Lunch on Friday?",
    "Server maintenance window",
    "Budget review",
    "Re: Re: contract draft",
    "Travel booking confirmation",
    "Weekly status",
    "Question about the API",
    "Release planning",
    "Holiday schedule",
    "Security advisory",
    "Welcome aboard",
    "Action required: password expiry",
    "Design review",
    "Fwd: conference invitation",
    "Bug triage",
];
const WORDS: &[&str] = &[
    "the", "project", "server", "report", "customer", "budget", "meeting", "release", "invoice",
    "please", "review", "attached", "schedule", "team", "update", "thanks", "question", "next",
    "week", "before", "after", "status", "draft", "version", "change", "deadline", "and", "for",
    "with", "about", "from", "this", "that", "we", "will", "can", "should", "have", "been",
];
/// 2024-01-01T00:00:00Z.
const YEAR_START: i64 = 1_704_067_200;
const YEAR_SECS: u64 = 366 * 86_400;

/// SplitMix64: a small deterministic generator (no crate needed for a data set).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, v: &[&'a str]) -> &'a str {
        v[self.below(v.len())]
    }
}

/// The file name of message `i`.
pub(crate) fn file_name(i: usize) -> String {
    format!("m{i:06}.eml")
}

/// Writes messages `0..n` into `dir` (created); deterministic for `seed`.
pub(crate) fn generate(dir: &Path, n: usize, seed: u64) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut rng = Rng(seed);
    for i in 0..n {
        std::fs::write(dir.join(file_name(i)), message(&mut rng, i))?;
    }
    Ok(())
}

/// A directory holding the first `n` files of `all` as hard links (copies if linking fails).
pub(crate) fn subset(all: &Path, dir: &Path, n: usize) -> io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut files = Vec::with_capacity(n);
    for i in 0..n {
        let (from, to) = (all.join(file_name(i)), dir.join(file_name(i)));
        if !to.exists() && std::fs::hard_link(&from, &to).is_err() {
            std::fs::copy(&from, &to)?;
        }
        files.push(to);
    }
    Ok(files)
}

fn message(rng: &mut Rng, i: usize) -> Vec<u8> {
    let (first, last, domain) = (rng.pick(FIRST), rng.pick(LAST), rng.pick(DOMAINS));
    let topic = rng.pick(TOPICS);
    let number = 1 + rng.below(9999);
    let when = YEAR_START + (rng.next() % YEAR_SECS) as i64;
    let date = OffsetDateTime::from_unix_timestamp(when)
        .ok()
        .and_then(|d| d.format(&Rfc2822).ok())
        .unwrap_or_else(|| "Mon, 1 Jan 2024 00:00:00 +0000".to_owned());
    let mut body = String::from("Hi,\r\n\r\n");
    let target = 250 + rng.below(300);
    let mut line = 0;
    while body.len() < target {
        let w = rng.pick(WORDS);
        if line + w.len() > 72 {
            body.push_str("\r\n");
            line = 0;
        } else if line > 0 {
            body.push(' ');
            line += 1;
        }
        body.push_str(w);
        line += w.len();
    }
    let _ = write!(body, ".\r\n\r\nRegards,\r\n{first} {last}\r\n");

    let mut head = String::new();
    let _ = write!(
        head,
        "From: {first} {last} <{f}.{l}@{domain}>\r\n\
         To: Alice Example <alice@example.test>\r\n\
         Subject: {topic} #{number}\r\n\
         Date: {date}\r\n\
         Message-ID: <bench.{i}@gen.example>\r\n\
         MIME-Version: 1.0\r\n",
        f = first.to_lowercase(),
        l = last.to_lowercase(),
    );
    if i.is_multiple_of(3) {
        head.push_str("Status: RO\r\n");
    }
    if i % 10 == 9 {
        let data: Vec<u8> = (0..2048).map(|_| rng.next() as u8).collect();
        let b64 = base64::engine::general_purpose::STANDARD.encode(&data);
        let mut att = String::new();
        for chunk in b64.as_bytes().chunks(76) {
            att.push_str(&String::from_utf8_lossy(chunk));
            att.push_str("\r\n");
        }
        let b = format!("=_bench_{i}");
        let _ = write!(
            head,
            "Content-Type: multipart/mixed; boundary=\"{b}\"\r\n\r\n\
             --{b}\r\nContent-Type: text/plain; charset=utf-8\r\n\
             Content-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n\
             --{b}\r\nContent-Type: application/octet-stream; name=\"data{i}.bin\"\r\n\
             Content-Disposition: attachment; filename=\"data{i}.bin\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{att}--{b}--\r\n"
        );
        head.into_bytes()
    } else {
        let _ = write!(
            head,
            "Content-Type: text/plain; charset=utf-8\r\n\
             Content-Transfer-Encoding: 8bit\r\n\r\n{body}"
        );
        head.into_bytes()
    }
}
