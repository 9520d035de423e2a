//! OAuth 2.0 bearer tokens of the test server (RFC 6750), standing in for Entra ID's access
//! tokens so the `Authorization: Bearer` path of the client is tested on loopback.
//!
//! `oxmapi server issue-token` creates one for a user; the HTTP layer checks it on every
//! request. Tokens are opaque random strings (`oxmapi_` + 43 base64url characters, 256 bits);
//! the table `tokens` keeps only their SHA-256, the user, the expiry and a revoked flag, so
//! the database never holds a usable token.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rusqlite::{OptionalExtension, params};
use sha2::{Digest, Sha256};

use crate::store::{Store, StoreError, UserRecord};

/// The prefix of every token we issue (lets secret scanners recognise a leaked one).
pub const TOKEN_PREFIX: &str = "oxmapi_";

/// A token just issued. The token itself is only here: print it once. `Debug` redacts it.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedToken {
    /// Row ID in `tokens`.
    pub id: i64,
    /// The alias of the user the token is for.
    pub alias: String,
    /// Expiry, seconds since the Unix epoch; the token is refused from that second on.
    pub expires_at: i64,
    token: String,
}

impl IssuedToken {
    /// The token, to hand to the client (`--token-file` or `OXMAPI_TOKEN`).
    pub fn token(&self) -> &str {
        &self.token
    }
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("id", &self.id)
            .field("alias", &self.alias)
            .field("expires_at", &self.expires_at)
            .field("token", &"***")
            .finish()
    }
}

/// What a presented token is worth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenCheck {
    /// Valid: the request is this user's.
    Valid(UserRecord),
    /// Known but past its expiry.
    Expired,
    /// Known but revoked.
    Revoked,
    /// Not issued by this server.
    Unknown,
}

impl Store {
    /// Issues a token for `alias` valid for `lifetime` (0 gives a token that is already
    /// expired, for tests). `None` when there is no such user.
    pub fn issue_token(
        &self,
        alias: &str,
        lifetime: Duration,
    ) -> Result<Option<IssuedToken>, StoreError> {
        let Some(user) = self.user_by_alias(alias)? else {
            return Ok(None);
        };
        let token = format!(
            "{TOKEN_PREFIX}{}",
            URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
        );
        let now = unix_now();
        let lifetime = i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX);
        let expires_at = now.saturating_add(lifetime);
        let id = self.with_conn(|conn| {
            conn.execute(
                "INSERT INTO tokens (sha256, user_id, issued_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
                params![digest(&token).as_slice(), user.id, now, expires_at],
            )?;
            Ok(conn.last_insert_rowid())
        })?;
        Ok(Some(IssuedToken {
            id,
            alias: user.alias,
            expires_at,
            token,
        }))
    }

    /// Checks a presented token against the table, now.
    pub fn check_token(&self, token: &str) -> Result<TokenCheck, StoreError> {
        let row = self.with_conn(|conn| {
            Ok(conn
                .query_row(
                    "SELECT user_id, expires_at, revoked FROM tokens WHERE sha256 = ?1",
                    [digest(token).as_slice()],
                    |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, i64>(1)?,
                            r.get::<_, bool>(2)?,
                        ))
                    },
                )
                .optional()?)
        })?;
        let Some((user_id, expires_at, revoked)) = row else {
            return Ok(TokenCheck::Unknown);
        };
        if revoked {
            return Ok(TokenCheck::Revoked);
        }
        if unix_now() >= expires_at {
            return Ok(TokenCheck::Expired);
        }
        Ok(match self.user_by_id(user_id)? {
            Some(user) => TokenCheck::Valid(user),
            None => TokenCheck::Unknown,
        })
    }

    /// Revokes one token; `false` when this server never issued it.
    pub fn revoke_token(&self, token: &str) -> Result<bool, StoreError> {
        self.with_conn(|conn| {
            let n = conn.execute(
                "UPDATE tokens SET revoked = 1 WHERE sha256 = ?1",
                [digest(token).as_slice()],
            )?;
            Ok(n > 0)
        })
    }

    /// Revokes every token of `alias`; returns how many were still unrevoked. `None` when
    /// there is no such user.
    pub fn revoke_tokens_of(&self, alias: &str) -> Result<Option<usize>, StoreError> {
        let Some(user) = self.user_by_alias(alias)? else {
            return Ok(None);
        };
        self.with_conn(|conn| {
            let n = conn.execute(
                "UPDATE tokens SET revoked = 1 WHERE user_id = ?1 AND revoked = 0",
                [user.id],
            )?;
            Ok(Some(n))
        })
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.init_org("Oxmapi", "example.test", false).unwrap();
        store.add_user("alice", "Alice", "pw").unwrap();
        store.add_user("bob", "Bob", "pw").unwrap();
        (dir, store)
    }

    #[test]
    fn issue_check_revoke() {
        let (_dir, store) = store();
        let t = store
            .issue_token("alice", Duration::from_secs(3600))
            .unwrap()
            .unwrap();
        assert!(t.token().starts_with(TOKEN_PREFIX));
        assert_eq!(t.token().len(), TOKEN_PREFIX.len() + 43);
        assert!(!format!("{t:?}").contains(t.token()));
        match store.check_token(t.token()).unwrap() {
            TokenCheck::Valid(u) => assert_eq!(u.alias, "alice"),
            other => panic!("{other:?}"),
        }
        let other = store
            .issue_token("bob", Duration::from_secs(60))
            .unwrap()
            .unwrap();
        assert_ne!(other.token(), t.token());
        assert!(store.revoke_token(t.token()).unwrap());
        assert_eq!(store.check_token(t.token()).unwrap(), TokenCheck::Revoked);
        assert!(matches!(
            store.check_token(other.token()).unwrap(),
            TokenCheck::Valid(_)
        ));
        assert_eq!(store.revoke_tokens_of("bob").unwrap(), Some(1));
        assert_eq!(
            store.check_token(other.token()).unwrap(),
            TokenCheck::Revoked
        );
        assert_eq!(store.revoke_tokens_of("nobody").unwrap(), None);
        assert!(!store.revoke_token("oxmapi_unknown").unwrap());
    }

    #[test]
    fn expired_unknown_and_stored_as_hash_only() {
        let (dir, store) = store();
        let t = store.issue_token("alice", Duration::ZERO).unwrap().unwrap();
        assert_eq!(store.check_token(t.token()).unwrap(), TokenCheck::Expired);
        assert_eq!(store.check_token("nope").unwrap(), TokenCheck::Unknown);
        assert_eq!(store.check_token("").unwrap(), TokenCheck::Unknown);
        assert!(
            store
                .issue_token("nobody", Duration::ZERO)
                .unwrap()
                .is_none()
        );
        drop(store);
        let db = std::fs::read(dir.path().join("mailbox.db")).unwrap();
        let wal = std::fs::read(dir.path().join("mailbox.db-wal")).unwrap_or_default();
        let needle = t.token().as_bytes();
        for bytes in [&db, &wal] {
            assert!(!bytes.windows(needle.len()).any(|w| w == needle));
        }
    }
}
