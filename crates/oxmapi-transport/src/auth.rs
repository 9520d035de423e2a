//! HTTP authentication: `WWW-Authenticate` parsing and the client side of Basic, Bearer, NTLM
//! and Negotiate (via `sspi`). No I/O here: callers feed challenges in and get header values
//! out.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use sspi::ntlm::NtlmConfig;
use sspi::{
    AuthIdentity, BufferType, ClientRequestFlags, CredentialUse, DataRepresentation, Negotiate,
    NegotiateConfig, Ntlm, SecurityBuffer, SecurityStatus, Sspi, Username,
};

use crate::config::{AuthScheme, Credentials, HttpAuth};
use crate::error::TransportError;

/// One scheme offered in a `WWW-Authenticate` header, with its token if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Challenge {
    pub(crate) scheme: String,
    pub(crate) token: Option<String>,
}

/// Splits `WWW-Authenticate` header values into schemes (RFC 7235 2.1, leniently).
pub(crate) fn parse_challenges<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<Challenge> {
    let mut out = Vec::new();
    for value in values {
        for part in split_outside_quotes(value) {
            let part = part.trim();
            let (scheme, rest) = part.split_once(' ').unwrap_or((part, ""));
            if scheme.is_empty() || scheme.contains('=') {
                continue; // an auth-param of the previous scheme
            }
            let rest = rest.trim();
            let token = (!rest.is_empty() && !rest.contains("=\"") && !rest.contains(' '))
                .then(|| rest.to_owned());
            out.push(Challenge {
                scheme: scheme.to_owned(),
                token,
            });
        }
    }
    out
}

fn split_outside_quotes(value: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (i, c) in value.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                parts.push(value.get(start..i).unwrap_or_default());
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(value.get(start..).unwrap_or_default());
    parts
}

/// The `Authorization` value for Basic (RFC 7617), `user` or `DOMAIN\user`.
pub(crate) fn basic_header(credentials: &Credentials) -> String {
    let raw = format!(
        "{}:{}",
        credentials.display_user(),
        credentials.password.expose()
    );
    format!("Basic {}", B64.encode(raw))
}

/// The `Authorization` value for a bearer token (RFC 6750 2.1): `Bearer <token>`.
pub(crate) fn bearer_header(credentials: &Credentials) -> String {
    format!("Bearer {}", credentials.password.expose())
}

/// The `Authorization` value of a scheme sent whole with every request (Basic, Bearer), or
/// `None` for the connection-based ones (NTLM, Negotiate). Refuses to produce one for a
/// connection without TLS: a password or token never travels in clear.
pub(crate) fn whole_request_header(
    auth: &HttpAuth,
    https: bool,
    host: &str,
) -> Result<Option<String>, TransportError> {
    let header = match auth.scheme {
        AuthScheme::Basic => basic_header(&auth.credentials),
        AuthScheme::Bearer => bearer_header(&auth.credentials),
        AuthScheme::Ntlm | AuthScheme::Negotiate => return Ok(None),
    };
    if !https {
        let host = host.to_owned();
        return Err(match auth.scheme {
            AuthScheme::Bearer => TransportError::BearerWithoutTls { host },
            _ => TransportError::BasicWithoutTls { host },
        });
    }
    Ok(Some(header))
}

/// The `error` and `error_description` of a `Bearer` challenge (RFC 6750 3), as
/// `invalid_token: the token has expired`, for logs. `None` without a Bearer challenge or
/// without an `error` parameter.
pub(crate) fn bearer_error<'a>(values: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let (mut error, mut description) = (None, None);
    for value in values {
        let mut in_bearer = false;
        for part in split_outside_quotes(value) {
            let part = part.trim();
            let (head, rest) = part.split_once(' ').unwrap_or((part, ""));
            let param = if head.contains('=') {
                part
            } else {
                in_bearer = head.eq_ignore_ascii_case("Bearer");
                rest.trim()
            };
            let Some((name, v)) = param.split_once('=').filter(|_| in_bearer) else {
                continue;
            };
            let v = v.trim().trim_matches('"').to_owned();
            match name.trim().to_ascii_lowercase().as_str() {
                "error" => error = Some(v),
                "error_description" => description = Some(v),
                _ => {}
            }
        }
    }
    let error = error?;
    Some(match description {
        Some(d) => format!("{error}: {d}"),
        None => error,
    })
}

/// The client side of a connection-based (NTLM or SPNEGO) handshake.
pub(crate) struct SspiClient {
    scheme: AuthScheme,
    target: String,
    context: Context,
}

enum Context {
    Ntlm(Box<Ntlm>, <Ntlm as sspi::SspiImpl>::CredentialsHandle),
    Negotiate(
        Box<Negotiate>,
        <Negotiate as sspi::SspiImpl>::CredentialsHandle,
    ),
}

impl SspiClient {
    /// A fresh security context for `auth` against `host` (SPN `HTTP/<host>`).
    pub(crate) fn new(auth: &HttpAuth, host: &str) -> Result<Self, TransportError> {
        let scheme = auth.scheme;
        let err = |e: &dyn std::fmt::Display| TransportError::Sspi {
            scheme,
            reason: e.to_string(),
        };
        let identity = identity(&auth.credentials).map_err(|e| err(&e))?;
        let workstation = "OXMAPI".to_owned();
        let context = match scheme {
            AuthScheme::Negotiate => {
                let config = NegotiateConfig::new(
                    Box::new(NtlmConfig::new(workstation.clone())),
                    Some("!kerberos,!pku2u,ntlm".to_owned()),
                    workstation,
                );
                let mut ctx = Negotiate::new_client(config).map_err(|e| err(&e))?;
                let handle = ctx
                    .acquire_credentials_handle()
                    .with_credential_use(CredentialUse::Outbound)
                    .with_auth_data(&sspi::Credentials::AuthIdentity(identity))
                    .execute(&mut ctx)
                    .map_err(|e| err(&e))?
                    .credentials_handle;
                Context::Negotiate(Box::new(ctx), handle)
            }
            AuthScheme::Bearer => {
                return Err(err(&"bearer tokens are not a security package"));
            }
            AuthScheme::Ntlm | AuthScheme::Basic => {
                let mut ctx = Ntlm::with_config(NtlmConfig::new(workstation));
                let handle = ctx
                    .acquire_credentials_handle()
                    .with_credential_use(CredentialUse::Outbound)
                    .with_auth_data(&identity)
                    .execute(&mut ctx)
                    .map_err(|e| err(&e))?
                    .credentials_handle;
                Context::Ntlm(Box::new(ctx), handle)
            }
        };
        Ok(Self {
            scheme,
            target: format!("HTTP/{host}"),
            context,
        })
    }

    /// The next `Authorization` header value; `challenge` is the server's base64 token, if any.
    pub(crate) fn step(&mut self, challenge: Option<&str>) -> Result<String, TransportError> {
        let scheme = self.scheme;
        let err = |reason: String| TransportError::Sspi { scheme, reason };
        let input = match challenge {
            Some(token) => Some(
                B64.decode(token.trim())
                    .map_err(|e| err(format!("bad base64 challenge: {e}")))?,
            ),
            None => None,
        };
        let out = match &mut self.context {
            Context::Ntlm(ctx, handle) => init_step(ctx.as_mut(), handle, &self.target, input),
            Context::Negotiate(ctx, handle) => init_step(ctx.as_mut(), handle, &self.target, input),
        }
        .map_err(|e| err(e.to_string()))?;
        Ok(format!("{} {}", scheme.header_name(), B64.encode(out)))
    }
}

fn identity(credentials: &Credentials) -> Result<AuthIdentity, String> {
    let username = match credentials.domain.as_deref() {
        Some(domain) if !domain.is_empty() => {
            Username::new(&credentials.user, Some(domain)).map_err(|e| e.to_string())?
        }
        _ => Username::parse(&credentials.user).map_err(|e| e.to_string())?,
    };
    Ok(AuthIdentity {
        username,
        password: credentials.password.expose().to_owned().into(),
    })
}

fn init_step<T: Sspi>(
    ctx: &mut T,
    handle: &mut T::CredentialsHandle,
    target: &str,
    input: Option<Vec<u8>>,
) -> sspi::Result<Vec<u8>> {
    let mut input = input
        .map(|t| vec![SecurityBuffer::new(t, BufferType::Token)])
        .unwrap_or_default();
    let mut output = vec![SecurityBuffer::new(Vec::new(), BufferType::Token)];
    let mut builder = ctx
        .initialize_security_context()
        .with_credentials_handle(handle)
        .with_context_requirements(
            ClientRequestFlags::ALLOCATE_MEMORY | ClientRequestFlags::INTEGRITY,
        )
        .with_target_data_representation(DataRepresentation::Native)
        .with_target_name(target)
        .with_input(&mut input)
        .with_output(&mut output);
    let status = ctx
        .initialize_security_context_impl(&mut builder)?
        .resolve_to_result()?
        .status;
    if matches!(
        status,
        SecurityStatus::CompleteAndContinue | SecurityStatus::CompleteNeeded
    ) {
        ctx.complete_auth_token(&mut output)?;
    }
    Ok(output
        .into_iter()
        .next()
        .map(|b| b.buffer)
        .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    #[test]
    fn challenges_are_split_by_scheme() {
        let c = parse_challenges([
            "Negotiate",
            "NTLM",
            "Basic realm=\"mail, inc\", charset=\"UTF-8\"",
        ]);
        let names: Vec<_> = c.iter().map(|c| c.scheme.as_str()).collect();
        assert_eq!(names, ["Negotiate", "NTLM", "Basic"]);
        let c = parse_challenges(["NTLM TlRMTVNTUAACAAAA=="]);
        assert_eq!(c[0].token.as_deref(), Some("TlRMTVNTUAACAAAA=="));
    }

    #[test]
    fn basic_header_matches_rfc7617_example() {
        // RFC 7617 section 2: Aladdin / open sesame.
        let creds = Credentials {
            user: "Aladdin".into(),
            domain: None,
            password: Secret::new("open sesame"),
        };
        assert_eq!(basic_header(&creds), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
    }

    #[test]
    fn bearer_header_and_tls_only() {
        // RFC 6750 2.1 example: "Authorization: Bearer mF_9.B5f-4.1JqM".
        let auth = HttpAuth::bearer("alice", "mF_9.B5f-4.1JqM");
        assert_eq!(
            whole_request_header(&auth, true, "h").unwrap().as_deref(),
            Some("Bearer mF_9.B5f-4.1JqM")
        );
        let err = whole_request_header(&auth, false, "h").unwrap_err();
        assert!(
            matches!(err, TransportError::BearerWithoutTls { .. }),
            "{err}"
        );
        assert!(!err.to_string().contains("mF_9"), "{err}");
        assert!(!format!("{auth:?}").contains("mF_9"));
        let ntlm = HttpAuth {
            scheme: AuthScheme::Ntlm,
            ..auth
        };
        assert_eq!(whole_request_header(&ntlm, false, "h").unwrap(), None);
    }

    #[test]
    fn bearer_error_from_rfc6750_example() {
        // RFC 6750 3: the example response to an expired access token.
        let value = "Bearer realm=\"example\", error=\"invalid_token\", \
                     error_description=\"The access token expired\"";
        assert_eq!(
            bearer_error([value]).as_deref(),
            Some("invalid_token: The access token expired")
        );
        assert_eq!(
            bearer_error([
                "NTLM",
                "Basic realm=\"x\", error=\"no\"",
                "Bearer error=invalid_token"
            ])
            .as_deref(),
            Some("invalid_token")
        );
        assert_eq!(bearer_error(["Bearer realm=\"x\"", "Basic"]), None);
        let c = parse_challenges([value]);
        assert_eq!(c.len(), 1);
        assert_eq!(
            (c[0].scheme.as_str(), c[0].token.as_deref()),
            ("Bearer", None)
        );
    }

    #[test]
    fn ntlm_first_token_is_a_negotiate_message() {
        let auth = HttpAuth {
            scheme: AuthScheme::Ntlm,
            credentials: Credentials {
                user: "alice".into(),
                domain: Some("TESTDOM".into()),
                password: "pw".into(),
            },
        };
        let mut client = SspiClient::new(&auth, "mail.example.test").unwrap();
        let header = client.step(None).unwrap();
        let token = B64.decode(header.strip_prefix("NTLM ").unwrap()).unwrap();
        // MS-NLMP 2.2.1.1: Signature "NTLMSSP\0", MessageType 1.
        assert_eq!(&token[..12], b"NTLMSSP\0\x01\0\0\0");
    }
}
