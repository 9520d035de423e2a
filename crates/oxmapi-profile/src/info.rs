//! The dynamic profile string CDO 1.2.1 took as `Session.Logon ProfileInfo:=`:
//! `<server>` LF `<mailbox>`, and the server names it carries.
//!
//! On Exchange 2013 and later the server part is the mailbox's personalized server
//! name `<mailbox GUID>@<domain>` and the mailbox part is the user's alias; older
//! servers take a plain host name (NetBIOS or DNS).

use std::fmt;
use std::str::FromStr;

use crate::error::{ProfileInfoError, ProfileInfoPart};

/// A parsed dynamic profile: `<server>` LF `<mailbox>` (CDO 1.2.1 `ProfileInfo`).
///
/// `Display` writes the canonical form `server\nmailbox`, which [`ProfileInfo::parse`]
/// reads back unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProfileInfo {
    server: ServerName,
    mailbox: String,
}

impl ProfileInfo {
    /// Builds a profile from its two parts, trimming and validating each.
    pub fn new(server: &str, mailbox: &str) -> Result<Self, ProfileInfoError> {
        let server = server.trim();
        let mailbox = mailbox.trim();
        if server.is_empty() {
            return Err(ProfileInfoError::EmptyPart {
                part: ProfileInfoPart::Server,
            });
        }
        if mailbox.is_empty() {
            return Err(ProfileInfoError::EmptyPart {
                part: ProfileInfoPart::Mailbox,
            });
        }
        Ok(Self {
            server: ServerName::parse(server)?,
            mailbox: validate_mailbox(mailbox)?,
        })
    }

    /// Parses `server` LF `mailbox`.
    ///
    /// Accepted separators, in this order of preference: a real line break (LF, CRLF or
    /// a lone CR, as VB's `vbCrLf`/`vbLf`/`vbCr` produce), else the two characters `\n`
    /// (or four, `\r\n`) typed literally in a shell. Trailing whitespace of the whole
    /// text is dropped (so `echo`'s newline is harmless), then each part is trimmed.
    pub fn parse(text: &str) -> Result<Self, ProfileInfoError> {
        let text = text.trim_end();
        if text.trim_start().is_empty() {
            return Err(ProfileInfoError::Empty);
        }
        let parts = split_parts(text);
        match parts.as_slice() {
            [server] => Err(ProfileInfoError::MissingMailbox {
                server: server.trim().to_owned(),
            }),
            [server, mailbox] => Self::new(server, mailbox),
            _ => Err(ProfileInfoError::TooManyParts { count: parts.len() }),
        }
    }

    /// The server part.
    pub fn server(&self) -> &ServerName {
        &self.server
    }

    /// The mailbox part (alias, or whatever the server resolves by ambiguous name).
    pub fn mailbox(&self) -> &str {
        &self.mailbox
    }
}

impl fmt::Display for ProfileInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}\n{}", self.server, self.mailbox)
    }
}

impl FromStr for ProfileInfo {
    type Err = ProfileInfoError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// A server name as a profile carries it: a personalized server name
/// `<mailbox GUID>@<domain>` (Exchange 2013 and later) or a plain host name.
///
/// INVARIANT: non-empty, no whitespace or control characters; a name containing `@`
/// has a GUID before it and a valid host name after it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServerName(String);

/// What kind of server name a [`ServerName`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerKind<'a> {
    /// `<mailbox GUID>@<domain>`.
    Personalized {
        /// The mailbox GUID text as written (`8-4-4-4-12` hex digits).
        mailbox_guid: &'a str,
        /// The domain after `@`.
        domain: &'a str,
    },
    /// A NetBIOS or DNS host name, or an IPv4 address.
    Host(&'a str),
}

impl ServerName {
    /// Validates a server name (already trimmed).
    pub fn parse(name: &str) -> Result<Self, ProfileInfoError> {
        let invalid = |reason| ProfileInfoError::InvalidServer {
            name: name.to_owned(),
            reason,
        };
        if name.is_empty() {
            return Err(invalid("it is empty"));
        }
        if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid("it contains whitespace or control characters"));
        }
        match name.split_once('@') {
            Some((guid, domain)) => {
                if !is_guid(guid) {
                    return Err(invalid(
                        "the part before `@` is not a mailbox guid; this looks like an smtp \
                         address, but the server part must be a host name or \
                         <mailbox guid>@<domain>",
                    ));
                }
                check_host(domain).map_err(invalid)?;
            }
            None => check_host(name).map_err(invalid)?,
        }
        Ok(Self(name.to_owned()))
    }

    /// The name as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Personalized or plain host.
    pub fn kind(&self) -> ServerKind<'_> {
        match self.0.split_once('@') {
            Some((mailbox_guid, domain)) => ServerKind::Personalized {
                mailbox_guid,
                domain,
            },
            None => ServerKind::Host(&self.0),
        }
    }

    /// Whether this is a personalized server name `<GUID>@<domain>`.
    pub fn is_personalized(&self) -> bool {
        matches!(self.kind(), ServerKind::Personalized { .. })
    }

    /// The domain of a personalized server name.
    pub fn domain(&self) -> Option<&str> {
        match self.kind() {
            ServerKind::Personalized { domain, .. } => Some(domain),
            ServerKind::Host(_) => None,
        }
    }

    /// The mailbox GUID of a personalized server name, as written.
    pub fn mailbox_guid(&self) -> Option<&str> {
        match self.kind() {
            ServerKind::Personalized { mailbox_guid, .. } => Some(mailbox_guid),
            ServerKind::Host(_) => None,
        }
    }

    /// The plain host name, when this is not a personalized name.
    pub fn host(&self) -> Option<&str> {
        match self.kind() {
            ServerKind::Host(host) => Some(host),
            ServerKind::Personalized { .. } => None,
        }
    }

    /// The name the proxy map is searched with: the domain of a personalized name,
    /// else the whole host name.
    pub fn lookup_name(&self) -> &str {
        match self.kind() {
            ServerKind::Personalized { domain, .. } => domain,
            ServerKind::Host(host) => host,
        }
    }
}

impl fmt::Display for ServerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for ServerName {
    type Err = ProfileInfoError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s.trim())
    }
}

impl TryFrom<String> for ServerName {
    type Error = ProfileInfoError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(value.trim())
    }
}

impl From<ServerName> for String {
    fn from(value: ServerName) -> Self {
        value.0
    }
}

impl serde::Serialize for ServerName {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for ServerName {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::try_from(text).map_err(serde::de::Error::custom)
    }
}

/// Checks a DNS/NetBIOS host name: labels of ASCII letters, digits, `-` and `_`,
/// separated by single dots (one trailing dot allowed).
pub(crate) fn check_host(host: &str) -> Result<(), &'static str> {
    let host = host.strip_suffix('.').unwrap_or(host);
    if host.is_empty() {
        return Err("the host name is empty");
    }
    if host.len() > 253 {
        return Err("the host name is longer than 253 characters");
    }
    for label in host.split('.') {
        if label.is_empty() {
            return Err("the host name has an empty label (`..` or a leading dot)");
        }
        if label.len() > 63 {
            return Err("a host name label is longer than 63 characters");
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err("the host name may hold only letters, digits, `-`, `_` and dots");
        }
    }
    Ok(())
}

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` in hex digits.
fn is_guid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    let lengths = [8, 4, 4, 4, 12];
    groups.len() == lengths.len()
        && groups
            .iter()
            .zip(lengths)
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn validate_mailbox(mailbox: &str) -> Result<String, ProfileInfoError> {
    if mailbox.chars().any(char::is_control) {
        return Err(ProfileInfoError::InvalidMailbox {
            mailbox: mailbox.to_owned(),
            reason: "it contains control characters",
        });
    }
    Ok(mailbox.to_owned())
}

fn split_parts(text: &str) -> Vec<&str> {
    if text.contains(['\n', '\r']) {
        text.split("\r\n")
            .flat_map(|chunk| chunk.split(['\n', '\r']))
            .collect()
    } else if text.contains("\\r\\n") {
        text.split("\\r\\n").collect()
    } else {
        text.split("\\n").collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GUID: &str = "9a3c8e1b-4f2d-4c6a-8b7e-1d2f3a4b5c6d";

    #[test]
    fn parses_lf_crlf_cr_and_literal_escapes() {
        let server = format!("{GUID}@contoso.com");
        for text in [
            format!("{server}\nalice"),
            format!("{server}\r\nalice"),
            format!("{server}\ralice"),
            format!("{server}\\nalice"),
            format!("{server}\\r\\nalice"),
            format!("  {server}  \n  alice \n"),
        ] {
            let info = ProfileInfo::parse(&text).unwrap();
            assert_eq!(info.server().as_str(), server, "{text:?}");
            assert_eq!(info.mailbox(), "alice", "{text:?}");
        }
    }

    #[test]
    fn display_is_canonical() {
        let info = ProfileInfo::parse("exch01\\nBob").unwrap();
        assert_eq!(info.to_string(), "exch01\nBob");
        assert_eq!(ProfileInfo::parse(&info.to_string()).unwrap(), info);
    }

    #[test]
    fn missing_and_empty_parts() {
        assert_eq!(ProfileInfo::parse(""), Err(ProfileInfoError::Empty));
        assert_eq!(ProfileInfo::parse(" \n "), Err(ProfileInfoError::Empty));
        assert_eq!(
            ProfileInfo::parse("exch01"),
            Err(ProfileInfoError::MissingMailbox {
                server: "exch01".into()
            })
        );
        assert_eq!(
            ProfileInfo::parse("exch01\n   "),
            Err(ProfileInfoError::MissingMailbox {
                server: "exch01".into()
            }),
            "trailing whitespace is dropped before splitting"
        );
        assert_eq!(
            ProfileInfo::parse("\nalice"),
            Err(ProfileInfoError::EmptyPart {
                part: ProfileInfoPart::Server
            })
        );
        assert_eq!(
            ProfileInfo::parse("exch01\n \nalice"),
            Err(ProfileInfoError::TooManyParts { count: 3 })
        );
        assert_eq!(
            ProfileInfo::new("exch01", "  "),
            Err(ProfileInfoError::EmptyPart {
                part: ProfileInfoPart::Mailbox
            })
        );
    }

    #[test]
    fn error_messages_are_actionable() {
        let msg = ProfileInfo::parse("exch01").unwrap_err().to_string();
        assert!(msg.contains("no mailbox part"), "{msg}");
        assert!(msg.contains("\\n"), "{msg}");
        let msg = ProfileInfo::parse("a\nb\nc").unwrap_err().to_string();
        assert!(msg.contains("3 parts"), "{msg}");
        let msg = ProfileInfo::parse("alice@contoso.com\nalice")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("smtp address"), "{msg}");
        assert!(msg.starts_with("invalid server name"), "{msg}");
    }

    #[test]
    fn personalized_server_name() {
        let name = ServerName::parse(&format!("{GUID}@EU.Contoso.com")).unwrap();
        assert!(name.is_personalized());
        assert_eq!(name.mailbox_guid(), Some(GUID));
        assert_eq!(name.domain(), Some("EU.Contoso.com"));
        assert_eq!(name.host(), None);
        assert_eq!(name.lookup_name(), "EU.Contoso.com");
    }

    #[test]
    fn plain_hosts() {
        for host in [
            "exch01",
            "mail.contoso.com",
            "127.0.0.1",
            "mail.contoso.com.",
        ] {
            let name = ServerName::parse(host).unwrap();
            assert_eq!(name.host(), Some(host));
            assert_eq!(name.domain(), None);
            assert_eq!(name.mailbox_guid(), None);
            assert_eq!(name.lookup_name(), host);
        }
    }

    #[test]
    fn rejects_bad_server_names() {
        for bad in [
            "mail contoso",
            "a..b",
            ".contoso.com",
            "exch/01",
            "9a3c8e1b-4f2d-4c6a-8b7e-1d2f3a4b5c6@contoso.com",
            "9a3c8e1b-4f2d-4c6a-8b7e-1d2f3a4b5c6d@",
            "9a3c8e1b-4f2d-4c6a-8b7e-1d2f3a4b5c6d@a@b",
        ] {
            assert!(ServerName::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn mailbox_may_hold_spaces_but_no_controls() {
        let info = ProfileInfo::new("exch01", "Alice Example").unwrap();
        assert_eq!(info.mailbox(), "Alice Example");
        assert!(ProfileInfo::new("exch01", "ali\u{7}ce").is_err());
    }

    mod prop {
        use super::*;
        use proptest::prelude::*;

        fn host() -> impl Strategy<Value = String> {
            proptest::collection::vec("[a-zA-Z0-9_-]{1,12}", 1..4).prop_map(|l| l.join("."))
        }

        fn server() -> impl Strategy<Value = String> {
            prop_oneof![
                host(),
                (
                    "[0-9a-f]{8}",
                    "[0-9a-f]{4}",
                    "[0-9A-F]{4}",
                    "[0-9a-f]{4}",
                    "[0-9a-f]{12}",
                    host()
                )
                    .prop_map(|(a, b, c, d, e, h)| format!("{a}-{b}-{c}-{d}-{e}@{h}")),
            ]
        }

        proptest! {
            #[test]
            fn parse_format_round_trips(
                server in server(),
                mailbox in "[^\\s\\p{Cc}\\\\]([^\\p{Cc}\\\\]{0,20}[^\\s\\p{Cc}\\\\])?",
            ) {
                let info = ProfileInfo::new(&server, &mailbox).unwrap();
                prop_assert_eq!(info.server().as_str(), server.as_str());
                prop_assert_eq!(info.mailbox(), mailbox.as_str());
                let again = ProfileInfo::parse(&info.to_string()).unwrap();
                prop_assert_eq!(&again, &info);
                let literal = format!("{server}\\n{mailbox}");
                prop_assert_eq!(ProfileInfo::parse(&literal).unwrap(), info);
            }
        }
    }
}
