//! The read tests' lab: the embedded server on loopback HTTPS with a seeded mailbox, and a
//! client session logged on to it. Messages are inserted through the server's store API.

#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;

use oxmapi::{LogonParams, Session};
use oxmapi_profile::{Config, Secret};
use oxmapi_server::store::UserRecord;
use oxmapi_server::store::deliver::{NewAttachment, NewMessage};
use oxmapi_server::{RunningServer, ServerConfig, serve};
use oxmapi_wire::data::{PropertyTag, PropertyValue, tags};

pub const PASSWORD: &str = "Passw0rd!";
/// 2024-03-01 00:00:00 UTC as FILETIME.
pub const T0: u64 = 133_537_248_000_000_000;
/// One day in FILETIME units.
pub const DAY: u64 = 864_000_000_000;

/// The transport the suite runs over: env `OXMAPI_TEST_TRANSPORT` = `mapihttp` (the default)
/// or `rpchttp` (`scripts/check.sh` runs the suites both ways).
pub fn test_transport() -> Option<oxmapi_profile::Transport> {
    match std::env::var("OXMAPI_TEST_TRANSPORT").as_deref() {
        Err(_) | Ok("") => None,
        Ok("mapihttp") => Some(oxmapi_profile::Transport::MapiHttp),
        Ok("rpchttp") => Some(oxmapi_profile::Transport::RpcHttp),
        Ok(other) => panic!("OXMAPI_TEST_TRANSPORT={other:?}: use mapihttp or rpchttp"),
    }
}

pub struct Lab {
    pub server: RunningServer,
    _dir: tempfile::TempDir,
    pub alice: UserRecord,
}

pub async fn lab() -> Lab {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = ServerConfig::new(dir.path());
    cfg.listen = "127.0.0.1:0".parse().unwrap();
    let server = serve(cfg).await.unwrap();
    let alice = server
        .store()
        .add_user("alice", "Alice Example", PASSWORD)
        .unwrap();
    Lab {
        server,
        _dir: dir,
        alice,
    }
}

impl Lab {
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.server.local_addr().port())
    }

    pub fn ca(&self) -> PathBuf {
        self.server.ca_path().to_path_buf()
    }

    pub fn config(&self) -> Config {
        let toml = format!(
            r#"
ignore_no_public_folders = true
[proxy_map."example.test"]
url = "{url}"
auth = "basic"
certificate = {{ ca_file = {ca:?} }}
"#,
            url = self.url(),
            ca = self.ca().display().to_string(),
        );
        Config::from_toml(&toml, std::path::Path::new("test.toml")).unwrap()
    }

    pub fn params(&self) -> LogonParams {
        let mut p = LogonParams {
            profile_info: Some(format!(
                "{}\n{}",
                self.alice.personalized_server_name, self.alice.alias
            )),
            password: Some(Secret::new(PASSWORD)),
            ..LogonParams::default()
        };
        p.overrides.transport = test_transport();
        p
    }

    pub async fn session(&self) -> Session {
        Session::logon(&self.config(), self.params()).await.unwrap()
    }

    /// FID of special folder `n` (`folders.special`: 4 IPM subtree, 5 Inbox, 20 Calendar).
    pub fn special(&self, n: i64) -> i64 {
        self.server
            .store()
            .special_folder(self.alice.id, n)
            .unwrap()
            .unwrap() as i64
    }

    pub fn inbox(&self) -> i64 {
        self.special(5)
    }

    /// Creates a user folder below `parent` (store rows, as the folder ROPs would).
    pub fn add_folder(&self, parent: i64, name: &str) -> i64 {
        let mailbox = self.alice.id;
        self.server
            .store()
            .with_conn(|c| {
                let fid = oxmapi_server::store::messages::alloc_id(c, mailbox)?;
                c.execute(
                    "INSERT INTO folders (mailbox_id, fid, parent_fid, display_name, container_class, special)
                     VALUES (?1, ?2, ?3, ?4, 'IPF.Note', NULL)",
                    rusqlite::params![mailbox, fid, parent, name],
                )?;
                Ok(fid)
            })
            .unwrap()
    }

    pub fn put(&self, fid: i64, msg: &NewMessage) -> i64 {
        self.server
            .store()
            .insert_message(self.alice.id, fid, msg)
            .unwrap()
    }

    /// Inserts many messages in one transaction.
    pub fn put_many(&self, fid: i64, msgs: impl Iterator<Item = NewMessage>) {
        let mailbox = self.alice.id;
        self.server
            .store()
            .with_conn(|c| {
                let tx = c.transaction()?;
                for m in msgs {
                    oxmapi_server::store::deliver::insert_message(&tx, mailbox, fid, &m)?;
                }
                tx.commit()?;
                Ok(())
            })
            .unwrap();
    }
}

/// A plain message: subject, sender, delivery time, read flag.
pub fn note(subject: &str, sender: (&str, &str), at: u64, read: bool) -> NewMessage {
    NewMessage {
        props: vec![
            (tags::PidTagMessageClass, s("IPM.Note")),
            (tags::PidTagSubject, s(subject)),
            (tags::PidTagSenderName, s(sender.0)),
            (tags::PidTagSenderEmailAddress, s(sender.1)),
            (tags::PidTagSenderSmtpAddress, s(sender.1)),
            (tags::PidTagMessageDeliveryTime, PropertyValue::Time(at)),
            (
                tags::PidTagMessageFlags,
                PropertyValue::Int32(if read { 1 } else { 0 }),
            ),
            (tags::PidTagImportance, PropertyValue::Int32(1)),
        ],
        ..NewMessage::default()
    }
}

pub fn s(v: &str) -> PropertyValue {
    PropertyValue::Unicode(v.to_owned())
}

pub fn with(mut m: NewMessage, tag: PropertyTag, v: PropertyValue) -> NewMessage {
    m.props.retain(|(t, _)| t.id() != tag.id());
    m.props.push((tag, v));
    m
}

pub fn recipient(kind: u8, name: &str, smtp: &str) -> (u8, Vec<(PropertyTag, PropertyValue)>) {
    (
        kind,
        vec![
            (tags::PidTagDisplayName, s(name)),
            (tags::PidTagEmailAddress, s(smtp)),
            (tags::PidTagSmtpAddress, s(smtp)),
            (tags::PidTagAddressType, s("SMTP")),
        ],
    )
}

pub fn attachment(name: &str, mime: &str, data: Vec<u8>) -> NewAttachment {
    NewAttachment {
        props: vec![
            (tags::PidTagAttachLongFilename, s(name)),
            (tags::PidTagAttachFilename, s(name)),
            (tags::PidTagDisplayName, s(name)),
            (tags::PidTagAttachMimeTag, s(mime)),
            (tags::PidTagAttachMethod, PropertyValue::Int32(1)),
        ],
        data,
    }
}

/// Deterministic pseudo-random bytes.
pub fn noise(n: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).max(1);
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}
