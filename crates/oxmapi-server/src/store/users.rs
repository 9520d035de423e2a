//! Users: creation (with their mailbox), look-ups and credential checks.

use std::fmt;

use md4::{Digest, Md4};
use rusqlite::{OptionalExtension, Row, params};

use super::error::StoreError;
use super::folders;
use super::handle::{OrgRecord, Store, new_guid};

/// An NT hash (MD4 of the UTF-16LE password, MS-NLMP 3.3.1 NTOWFv1); `Debug` redacts it.
#[derive(Clone, PartialEq, Eq)]
pub struct NtHash(pub [u8; 16]);

impl fmt::Debug for NtHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NtHash(<redacted>)")
    }
}

/// The NT hash of `password`.
pub fn nt_hash(password: &str) -> NtHash {
    let utf16: Vec<u8> = password.encode_utf16().flat_map(u16::to_le_bytes).collect();
    NtHash(Md4::digest(&utf16).into())
}

/// A user of the organization and its mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// Row ID; also the mailbox ID of the user's mailbox (`folders.mailbox_id`).
    pub id: i64,
    /// Alias (`alice`), unique, case-insensitive.
    pub alias: String,
    /// Display name.
    pub display_name: String,
    /// Primary SMTP address `<alias>@<domain>`.
    pub smtp: String,
    /// Legacy DN (ESSDN) `/o=<org>/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=<alias>`.
    pub legacy_dn: String,
    /// The mailbox GUID in wire (little-endian fields) byte order.
    pub mailbox_guid: [u8; 16],
    /// The mailbox's replica GUID (REPLID 1) in wire byte order.
    pub replica_guid: [u8; 16],
    /// `<mailbox guid lowercase hyphenated>@<domain>`: the MailboxId of the MAPI/HTTP URLs.
    pub personalized_server_name: String,
}

const USER_COLUMNS: &str = "u.id, u.alias, u.display_name, u.smtp, u.legacy_dn, u.mailbox_guid, \
                            u.replica_guid, o.domain";

impl Store {
    /// Creates a user, its mailbox and all its special folders in one transaction.
    pub fn add_user(
        &self,
        alias: &str,
        display_name: &str,
        password: &str,
    ) -> Result<UserRecord, StoreError> {
        if alias.is_empty()
            || !alias
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        {
            return Err(StoreError::InvalidAlias(alias.to_owned()));
        }
        let hash = nt_hash(password);
        let id = self.with_tx(|tx| {
            let org = org_in(tx)?;
            let smtp = format!("{alias}@{}", org.domain);
            let dn = format!("{}/cn={alias}", org.recipients_dn());
            let taken: bool = tx
                .query_row(
                    "SELECT 1 FROM users WHERE alias = ?1 OR smtp = ?2 OR legacy_dn = ?3",
                    params![alias, smtp, dn],
                    |_| Ok(true),
                )
                .optional()?
                .unwrap_or(false);
            if taken {
                return Err(StoreError::UserExists(alias.to_owned()));
            }
            tx.execute(
                "INSERT INTO users (alias, display_name, smtp, legacy_dn, nt_hash, mailbox_guid,
                 replica_guid, next_globcnt) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1)",
                params![
                    alias,
                    display_name,
                    smtp,
                    dn,
                    hash.0.as_slice(),
                    new_guid().as_slice(),
                    new_guid().as_slice()
                ],
            )?;
            let id = tx.last_insert_rowid();
            folders::create_private(tx, id)?;
            Ok(id)
        })?;
        self.user_where("u.id = ?1", id)?
            .ok_or(StoreError::Sql(rusqlite::Error::QueryReturnedNoRows))
    }

    /// The user with this alias (case-insensitive).
    pub fn user_by_alias(&self, alias: &str) -> Result<Option<UserRecord>, StoreError> {
        self.user_where("u.alias = ?1", alias)
    }

    /// The user with this legacy DN (case-insensitive).
    pub fn user_by_dn(&self, dn: &str) -> Result<Option<UserRecord>, StoreError> {
        self.user_where("u.legacy_dn = ?1", dn)
    }

    /// The user with this SMTP address (case-insensitive).
    pub fn user_by_smtp(&self, smtp: &str) -> Result<Option<UserRecord>, StoreError> {
        self.user_where("u.smtp = ?1", smtp)
    }

    /// The user with this row ID.
    pub fn user_by_id(&self, id: i64) -> Result<Option<UserRecord>, StoreError> {
        self.user_where("u.id = ?1", id)
    }

    /// The user whose mailbox GUID (wire byte order) this is.
    pub fn user_by_mailbox_guid(&self, guid: &[u8; 16]) -> Result<Option<UserRecord>, StoreError> {
        self.user_where("u.mailbox_guid = ?1", guid.as_slice())
    }

    /// All users, by ID.
    pub fn all_users(&self) -> Result<Vec<UserRecord>, StoreError> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare(&format!(
            "SELECT {USER_COLUMNS} FROM users u, org o WHERE o.id = 1 ORDER BY u.id"
        ))?;
        let rows = stmt.query_map([], user_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Finds the user a logon name designates: an alias, an SMTP address or `DOMAIN\alias`.
    pub fn user_by_login(&self, login: &str) -> Result<Option<UserRecord>, StoreError> {
        let name = login.rsplit_once('\\').map_or(login, |(_, a)| a);
        if name.contains('@') {
            return self.user_by_smtp(name);
        }
        self.user_by_alias(name)
    }

    /// The stored NT hash of user `id` (for NTLM).
    pub fn nt_hash_of(&self, id: i64) -> Result<Option<NtHash>, StoreError> {
        let conn = self.lock()?;
        let h: Option<Vec<u8>> = conn
            .query_row("SELECT nt_hash FROM users WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()?;
        Ok(h.and_then(|h| <[u8; 16]>::try_from(h.as_slice()).ok())
            .map(NtHash))
    }

    /// Checks a login name and password (Basic auth); the hashes are compared in constant time.
    /// Unknown users cost a hash too, so timing does not tell them apart much.
    pub fn check_password(
        &self,
        login: &str,
        password: &str,
    ) -> Result<Option<UserRecord>, StoreError> {
        let given = nt_hash(password);
        let Some(user) = self.user_by_login(login)? else {
            return Ok(None);
        };
        let Some(stored) = self.nt_hash_of(user.id)? else {
            return Ok(None);
        };
        Ok(constant_time_eq(&given.0, &stored.0).then_some(user))
    }

    fn user_where(
        &self,
        cond: &str,
        arg: impl rusqlite::ToSql,
    ) -> Result<Option<UserRecord>, StoreError> {
        let conn = self.lock()?;
        Ok(conn
            .query_row(
                &format!("SELECT {USER_COLUMNS} FROM users u, org o WHERE o.id = 1 AND {cond}"),
                [arg],
                user_from_row,
            )
            .optional()?)
    }
}

fn org_in(tx: &rusqlite::Connection) -> Result<OrgRecord, StoreError> {
    tx.query_row(
        "SELECT name, domain, public_folders, server_guid, public_replica_guid FROM org WHERE id = 1",
        [],
        |r| {
            Ok(OrgRecord {
                name: r.get(0)?,
                domain: r.get(1)?,
                public_folders: r.get(2)?,
                server_guid: r.get(3)?,
                public_replica_guid: r.get(4)?,
            })
        },
    )
    .optional()?
    .ok_or(StoreError::NoOrg)
}

fn user_from_row(r: &Row<'_>) -> rusqlite::Result<UserRecord> {
    let mailbox_guid: [u8; 16] = r.get(5)?;
    let domain: String = r.get(7)?;
    Ok(UserRecord {
        id: r.get(0)?,
        alias: r.get(1)?,
        display_name: r.get(2)?,
        smtp: r.get(3)?,
        legacy_dn: r.get(4)?,
        mailbox_guid,
        replica_guid: r.get(6)?,
        personalized_server_name: format!(
            "{}@{domain}",
            uuid::Uuid::from_bytes_le(mailbox_guid).hyphenated()
        ),
    })
}

/// Compares two hashes without an early exit.
fn constant_time_eq(a: &[u8; 16], b: &[u8; 16]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nt_hash_matches_ms_nlmp_4_2_2_1_3() {
        // MS-NLMP 4.2.2.1.3 / 4.2.4.1.1: NTOWFv1("Password") = a4f49c406510bdcab6824ee7c30fd852
        let h = nt_hash("Password");
        assert_eq!(
            h.0,
            [
                0xa4, 0xf4, 0x9c, 0x40, 0x65, 0x10, 0xbd, 0xca, 0xb6, 0x82, 0x4e, 0xe7, 0xc3, 0x0f,
                0xd8, 0x52
            ]
        );
        assert_eq!(format!("{h:?}"), "NtHash(<redacted>)");
    }
}
