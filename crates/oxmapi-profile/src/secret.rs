//! Credentials: a redacting [`Secret`], where the password comes from
//! ([`find_password`]), where a bearer token comes from ([`find_token`]), and the user
//! name split ([`split_user`]).
//!
//! Passwords and tokens never come from a plain command-line flag (visible in `ps` and
//! shell history). The order is fixed: a file given by the caller, then the environment
//! (`$OXMAPI_PASSWORD`, `$OXMAPI_TOKEN`), else the caller must prompt (password) or
//! fail (token: nothing is prompted for).

use std::ffi::OsString;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{PasswordFileProblem, ProfileError, TokenFileProblem};

/// The environment variable holding a password.
pub const PASSWORD_ENV: &str = "OXMAPI_PASSWORD";

/// The environment variable holding an OAuth 2.0 access token (RFC 6750 bearer token).
pub const TOKEN_ENV: &str = "OXMAPI_TOKEN";

/// A secret string (password). `Debug` and `Display` print `***`; there is no
/// `Serialize`; the bytes are overwritten with zeros when it is dropped (best effort).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself. Call this only where it is sent (the auth exchange).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        let mut bytes = std::mem::take(&mut self.0).into_bytes();
        bytes.fill(0);
        std::hint::black_box(&bytes);
    }
}

/// Where the password came from, or that the caller must prompt for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordSource {
    /// The first line of this file.
    File {
        /// The file.
        path: PathBuf,
        /// The password.
        secret: Secret,
    },
    /// `$OXMAPI_PASSWORD`.
    Environment(Secret),
    /// Nothing given: the caller (the CLI) must prompt without echo.
    PromptNeeded,
}

impl PasswordSource {
    /// The password, unless a prompt is needed.
    pub fn secret(&self) -> Option<&Secret> {
        match self {
            Self::File { secret, .. } | Self::Environment(secret) => Some(secret),
            Self::PromptNeeded => None,
        }
    }
}

/// Finds the password: the first line of `password_file` (its line break stripped,
/// other whitespace kept), else a non-empty `env_value` (the caller passes
/// `std::env::var_os(PASSWORD_ENV)`), else [`PasswordSource::PromptNeeded`].
/// A given file that cannot be used is an error, never a silent fallback.
pub fn find_password(
    password_file: Option<&Path>,
    env_value: Option<OsString>,
) -> Result<PasswordSource, ProfileError> {
    if let Some(path) = password_file {
        let secret = read_password_file(path).map_err(|problem| ProfileError::PasswordFile {
            path: path.to_owned(),
            problem,
        })?;
        return Ok(PasswordSource::File {
            path: path.to_owned(),
            secret,
        });
    }
    match env_value.filter(|v| !v.is_empty()) {
        Some(value) => Ok(PasswordSource::Environment(Secret::new(
            value.to_string_lossy().into_owned(),
        ))),
        None => Ok(PasswordSource::PromptNeeded),
    }
}

/// [`find_password`] with the real `$OXMAPI_PASSWORD`.
pub fn find_password_from_env(
    password_file: Option<&Path>,
) -> Result<PasswordSource, ProfileError> {
    find_password(password_file, std::env::var_os(PASSWORD_ENV))
}

fn read_password_file(path: &Path) -> Result<Secret, PasswordFileProblem> {
    let bytes = Secret(
        String::from_utf8(fs::read(path).map_err(PasswordFileProblem::Read)?)
            .map_err(|_| PasswordFileProblem::NotUtf8)?,
    );
    let text = bytes.expose();
    let first = text.split('\n').next().unwrap_or("");
    let first = first.strip_suffix('\r').unwrap_or(first);
    if first.is_empty() {
        return Err(PasswordFileProblem::Empty);
    }
    Ok(Secret::new(first))
}

/// Where a bearer token came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// The first line of this file.
    File {
        /// The file.
        path: PathBuf,
        /// The token.
        secret: Secret,
    },
    /// `$OXMAPI_TOKEN`.
    Environment(Secret),
}

impl TokenSource {
    /// The token.
    pub fn secret(&self) -> &Secret {
        match self {
            Self::File { secret, .. } | Self::Environment(secret) => secret,
        }
    }

    /// Where it came from, for messages: `token file <path>` or `$OXMAPI_TOKEN`.
    pub fn describe(&self) -> String {
        match self {
            Self::File { path, .. } => format!("token file {}", path.display()),
            Self::Environment(_) => format!("${TOKEN_ENV}"),
        }
    }
}

/// Finds the bearer token: the first non-blank line of `token_file` (surrounding
/// whitespace stripped), else a non-empty `env_value` (the caller passes
/// `std::env::var_os(TOKEN_ENV)`), else `None`. A token must be one RFC 6750 2.1
/// `b64token` (`A-Z a-z 0-9 - . _ ~ + /`, then optional `=`); anything else is refused,
/// since it could not be sent in an `Authorization` header. A given file that cannot be
/// used is an error, never a silent fallback. Errors never hold the token.
pub fn find_token(
    token_file: Option<&Path>,
    env_value: Option<OsString>,
) -> Result<Option<TokenSource>, ProfileError> {
    if let Some(path) = token_file {
        let secret = read_token_file(path).map_err(|problem| ProfileError::TokenFile {
            path: path.to_owned(),
            problem,
        })?;
        return Ok(Some(TokenSource::File {
            path: path.to_owned(),
            secret,
        }));
    }
    let Some(value) = env_value.filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let text = Secret::new(value.to_str().ok_or(ProfileError::TokenEnv {
        problem: TokenFileProblem::NotUtf8,
    })?);
    let secret =
        check_token(text.expose().trim()).map_err(|problem| ProfileError::TokenEnv { problem })?;
    Ok(Some(TokenSource::Environment(secret)))
}

/// [`find_token`] with the real `$OXMAPI_TOKEN`.
pub fn find_token_from_env(token_file: Option<&Path>) -> Result<Option<TokenSource>, ProfileError> {
    find_token(token_file, std::env::var_os(TOKEN_ENV))
}

fn read_token_file(path: &Path) -> Result<Secret, TokenFileProblem> {
    let text = Secret(
        String::from_utf8(fs::read(path).map_err(TokenFileProblem::Read)?)
            .map_err(|_| TokenFileProblem::NotUtf8)?,
    );
    let first = text.expose().trim_start().lines().next().unwrap_or("");
    check_token(first.trim())
}

/// RFC 6750 2.1: `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn check_token(token: &str) -> Result<Secret, TokenFileProblem> {
    if token.is_empty() {
        return Err(TokenFileProblem::Empty);
    }
    let body = token.trim_end_matches('=');
    let ok = !body.is_empty()
        && body.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        });
    if !ok {
        return Err(TokenFileProblem::NotAToken);
    }
    Ok(Secret::new(token))
}

/// Splits `DOMAIN\user` into (`user`, `Some(DOMAIN)`); `user@domain` and plain names
/// are kept whole (the UPN form is what NTLM and Basic accept as a user name).
pub fn split_user(user: &str) -> (String, Option<String>) {
    match user.split_once('\\') {
        Some((domain, name)) if !domain.is_empty() && !name.is_empty() => {
            (name.to_owned(), Some(domain.to_owned()))
        }
        _ => (user.to_owned(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_is_redacted() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert_eq!(
            format!("{:?}", PasswordSource::Environment(s.clone())),
            "Environment(Secret(***))"
        );
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn password_file_first_line_newline_stripped() {
        let dir = tempfile::tempdir().unwrap();
        for (content, want) in [
            ("pa ss \n", "pa ss "),
            ("pass\r\nsecond line\n", "pass"),
            ("pass", "pass"),
        ] {
            let path = dir.path().join("pw");
            fs::write(&path, content).unwrap();
            let source = find_password(Some(&path), Some("env".into())).unwrap();
            assert_eq!(source.secret().unwrap().expose(), want, "{content:?}");
            assert!(matches!(source, PasswordSource::File { .. }));
        }
    }

    #[test]
    fn password_file_errors_never_show_content() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty");
        fs::write(&empty, "\nhunter2\n").unwrap();
        let err = find_password(Some(&empty), None).unwrap_err().to_string();
        assert!(err.contains("first line is empty"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");

        let binary = dir.path().join("bin");
        fs::write(&binary, [0xFF, 0xFE, b'x']).unwrap();
        let err = find_password(Some(&binary), None).unwrap_err().to_string();
        assert!(err.contains("not utf-8"), "{err}");

        let missing = dir.path().join("missing");
        let err = find_password(Some(&missing), Some("fallback".into())).unwrap_err();
        assert!(err.to_string().starts_with("password file "), "{err}");
    }

    #[test]
    fn env_then_prompt() {
        let s = find_password(None, Some("s3cret".into())).unwrap();
        assert_eq!(s, PasswordSource::Environment(Secret::new("s3cret")));
        assert_eq!(
            find_password(None, Some("".into())).unwrap(),
            PasswordSource::PromptNeeded
        );
        assert_eq!(
            find_password(None, None).unwrap(),
            PasswordSource::PromptNeeded
        );
    }

    #[test]
    fn token_file_then_env_then_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        fs::write(&path, "\n  eyJ0eXAi.eyJhdWQi-_~+/x.sig==  \r\nignored\n").unwrap();
        let found = find_token(Some(&path), Some("env-token".into()))
            .unwrap()
            .unwrap();
        assert_eq!(found.secret().expose(), "eyJ0eXAi.eyJhdWQi-_~+/x.sig==");
        assert!(matches!(found, TokenSource::File { .. }));
        assert!(found.describe().starts_with("token file "));
        assert!(!format!("{found:?}").contains("eyJ0eXAi"));

        let found = find_token(None, Some(" env-token\n".into()))
            .unwrap()
            .unwrap();
        assert_eq!(found, TokenSource::Environment(Secret::new("env-token")));
        assert_eq!(found.describe(), "$OXMAPI_TOKEN");
        assert_eq!(find_token(None, Some("".into())).unwrap(), None);
        assert_eq!(find_token(None, None).unwrap(), None);
    }

    #[test]
    fn token_errors_never_show_the_token() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        for (content, needle) in [
            ("\n \n", "empty"),
            ("Bearer abc.def", "not one bearer token"),
            ("abc\u{e9}def", "not one bearer token"),
            ("==", "not one bearer token"),
        ] {
            fs::write(&path, content).unwrap();
            let err = find_token(Some(&path), None).unwrap_err().to_string();
            assert!(err.contains(needle), "{content:?}: {err}");
            assert!(!err.contains("abc"), "{err}");
        }
        let err = find_token(None, Some("two words".into())).unwrap_err();
        assert!(err.to_string().starts_with("$OXMAPI_TOKEN: "), "{err}");
        assert!(!err.to_string().contains("words"), "{err}");
        let missing = dir.path().join("missing");
        let err = find_token(Some(&missing), Some("fallback".into())).unwrap_err();
        assert!(err.to_string().starts_with("token file "), "{err}");
    }

    #[test]
    fn split_user_forms() {
        assert_eq!(
            split_user("CONTOSO\\alice"),
            ("alice".into(), Some("CONTOSO".into()))
        );
        assert_eq!(
            split_user("alice@contoso.com"),
            ("alice@contoso.com".into(), None)
        );
        assert_eq!(split_user("alice"), ("alice".into(), None));
        assert_eq!(split_user("\\alice"), ("\\alice".into(), None));
    }
}
