//! Words and advice for a failed handshake: what went wrong, and which config key to change
//! (`certificate = { ca_file = ... }`, `certificate = { sha256 = ... }`, `certificate = "ignore"`,
//! `expected_principal`).

use rustls::{CertificateError, OtherError};

use super::verify::PinMismatch;
use crate::error::TlsFailure;

const IGNORE: &str = "`certificate = \"ignore\"` to skip verification (insecure)";

/// What went wrong in a handshake, for [`TransportError::Tls`](crate::TransportError::Tls).
pub(super) struct Diagnosis {
    pub(super) failure: TlsFailure,
    pub(super) reason: String,
    pub(super) hint: String,
}

/// Turns a rustls certificate error into words and advice. `checked` is the name the
/// certificate had to carry; `presented` the SHA-256 of the leaf, if the server sent one.
pub(super) fn describe_cert_error(
    err: &CertificateError,
    checked: &str,
    presented: Option<&str>,
) -> Diagnosis {
    let seen = SeenLeaf(presented);
    match err {
        CertificateError::Other(OtherError(other)) => {
            if let Some(mismatch) = other.downcast_ref::<PinMismatch>() {
                return pin_mismatch(mismatch);
            }
            match other.downcast_ref::<webpki::Error>() {
                Some(webpki::Error::CaUsedAsEndEntity) => seen.untrusted(
                    "the server presents a ca certificate (basicConstraints CA:TRUE) as its \
                     own, which no chain may end in (RFC 5280 §4.2.1.9)",
                ),
                _ => seen.untrusted(&format!("certificate rejected: {err}")),
            }
        }
        CertificateError::UnknownIssuer => {
            seen.untrusted("certificate is not trusted (unknown issuer: self-signed or private ca)")
        }
        // A certificate signature in the chain, or the handshake signature (RFC 8446 §4.4.3)
        // made with the leaf's key: trusting the certificate would not help.
        CertificateError::BadSignature => Diagnosis {
            failure: TlsFailure::Untrusted {
                presented_sha256: seen.sha256(),
            },
            reason: format!("a signature does not verify{}", seen.note()),
            hint: "the server may not hold the private key of the certificate it presents \
                   (an impostor, or a misconfigured front end), or its chain is corrupt"
                .to_owned(),
        },
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            name_mismatch(err, checked, seen)
        }
        CertificateError::Expired
        | CertificateError::ExpiredContext { .. }
        | CertificateError::NotValidYet
        | CertificateError::NotValidYetContext { .. } => Diagnosis {
            failure: TlsFailure::NotValidNow {
                presented_sha256: seen.sha256(),
            },
            reason: format!("certificate is outside its validity period: {err}"),
            hint: format!(
                "renew the server certificate (or fix this machine's clock), or pin it with {} \
                 (a pin ignores dates), or {IGNORE}",
                seen.pin()
            ),
        },
        other => seen.untrusted(&format!("certificate rejected: {other}")),
    }
}

/// The presented leaf's fingerprint, woven into messages.
#[derive(Clone, Copy)]
struct SeenLeaf<'a>(Option<&'a str>);

impl SeenLeaf<'_> {
    fn sha256(self) -> Option<String> {
        self.0.map(str::to_owned)
    }

    fn note(self) -> String {
        self.0
            .map(|fp| format!(" (presented certificate sha256 {fp})"))
            .unwrap_or_default()
    }

    /// The pin to write, with the presented fingerprint when known.
    fn pin(self) -> String {
        match self.0 {
            Some(fp) => format!("`certificate = {{ sha256 = \"{fp}\" }}`"),
            None => "`certificate = { sha256 = \"<fingerprint>\" }`".to_owned(),
        }
    }

    fn untrusted(self, reason: &str) -> Diagnosis {
        Diagnosis {
            failure: TlsFailure::Untrusted {
                presented_sha256: self.sha256(),
            },
            reason: format!("{reason}{}", self.note()),
            hint: format!(
                "if the server uses a private or self-signed certificate, set \
                 `certificate = {{ ca_file = \"/path/to/ca.pem\" }}` in its proxy-map entry \
                 (the CA, or the server's own certificate), or pin this certificate with {} \
                 after checking the fingerprint on the server (`openssl x509 -in cert.pem \
                 -noout -fingerprint -sha256`), or {IGNORE}",
                self.pin()
            ),
        }
    }
}

fn pin_mismatch(m: &PinMismatch) -> Diagnosis {
    Diagnosis {
        failure: TlsFailure::PinMismatch {
            expected: m.expected.clone(),
            presented: m.presented.clone(),
        },
        reason: format!(
            "the certificate's sha256 fingerprint {} is not the pinned {}",
            m.presented, m.expected
        ),
        hint: format!(
            "if the server's certificate was replaced on purpose, check the new fingerprint on \
             the server and set `certificate = {{ sha256 = \"{}\" }}` in the proxy-map entry; \
             otherwise something else is answering for the server",
            m.presented
        ),
    }
}

/// RFC 6125 §6: the certificate does not carry the name checked.
fn name_mismatch(err: &CertificateError, checked: &str, seen: SeenLeaf<'_>) -> Diagnosis {
    let reason = match err {
        CertificateError::NotValidForNameContext { presented, .. } if presented.is_empty() => {
            format!(
                "certificate is not valid for the name {checked:?}; it names none in its \
                 subjectAltName extension"
            )
        }
        CertificateError::NotValidForNameContext { presented, .. } => format!(
            "certificate is not valid for the name {checked:?}; it names only {}",
            presented.join(", ")
        ),
        _ => format!("certificate is not valid for the name {checked:?}"),
    };
    Diagnosis {
        failure: TlsFailure::NameMismatch {
            presented_sha256: seen.sha256(),
        },
        reason,
        hint: format!(
            "connect by a name the certificate carries, or set `expected_principal = \
             \"msstd:<name on the certificate>\"` in the proxy-map entry, or {IGNORE}"
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rustls_pki_types::ServerName;

    use super::*;

    const FP: &str = "f2849a4aa9033abeb6d39698e2ee88d61505bfa7688a1a0eebdab00b2fdc8aaf";

    fn other(e: impl std::error::Error + Send + Sync + 'static) -> CertificateError {
        CertificateError::Other(OtherError(Arc::new(e)))
    }

    #[test]
    fn every_hint_names_real_config_keys() {
        let name = ServerName::try_from("mail.contoso.com").unwrap();
        let errors = [
            CertificateError::UnknownIssuer,
            CertificateError::BadSignature,
            CertificateError::NotValidForName,
            CertificateError::NotValidForNameContext {
                expected: name.clone(),
                presented: vec![],
            },
            CertificateError::Expired,
            CertificateError::NotValidYet,
            CertificateError::UnhandledCriticalExtension,
            other(webpki::Error::CaUsedAsEndEntity),
            other(PinMismatch {
                expected: "ab".repeat(32),
                presented: FP.to_owned(),
            }),
        ];
        for err in &errors {
            for presented in [Some(FP), None] {
                let d = describe_cert_error(err, "mail.contoso.com", presented);
                let text = format!("{}; {}", d.reason, d.hint);
                for wrong in ["ca-file =", "cert =", "ca_file =\"", "{ ca_file=\""] {
                    assert!(!text.contains(wrong), "{err:?}: {text}");
                }
                let want = match d.failure {
                    TlsFailure::PinMismatch { .. } => Some(FP),
                    _ => presented,
                };
                assert_eq!(d.failure.presented_sha256(), want, "{err:?}");
                if matches!(d.failure, TlsFailure::Untrusted { .. })
                    && *err != CertificateError::BadSignature
                {
                    assert!(text.contains("certificate = { ca_file = \"/path/to/ca.pem\" }"));
                    assert!(text.contains("certificate = \"ignore\""));
                    let pin = presented.unwrap_or("<fingerprint>");
                    assert!(text.contains(&format!("certificate = {{ sha256 = \"{pin}\" }}")));
                }
            }
        }
    }

    #[test]
    fn failures_are_classified() {
        let d = |e: CertificateError| describe_cert_error(&e, "localhost", Some(FP)).failure;
        let fp = Some(FP.to_owned());
        assert_eq!(
            d(other(webpki::Error::CaUsedAsEndEntity)),
            TlsFailure::Untrusted {
                presented_sha256: fp.clone()
            }
        );
        assert_eq!(
            d(CertificateError::NotValidForName),
            TlsFailure::NameMismatch {
                presented_sha256: fp.clone()
            }
        );
        assert_eq!(
            d(CertificateError::NotValidYet),
            TlsFailure::NotValidNow {
                presented_sha256: fp
            }
        );
        let mismatch = describe_cert_error(
            &other(PinMismatch {
                expected: "ab".repeat(32),
                presented: FP.to_owned(),
            }),
            "localhost",
            None,
        );
        assert_eq!(
            mismatch.failure,
            TlsFailure::PinMismatch {
                expected: "ab".repeat(32),
                presented: FP.to_owned()
            }
        );
        assert!(mismatch.reason.contains(&"ab".repeat(32)));
        assert!(
            mismatch
                .hint
                .contains(&format!("certificate = {{ sha256 = \"{FP}\" }}"))
        );
    }

    #[test]
    fn name_mismatch_lists_the_names_on_the_certificate() {
        let expected = ServerName::try_from("127.0.0.2").unwrap();
        let err = CertificateError::NotValidForNameContext {
            expected,
            presented: vec![
                "DnsName(\"localhost\")".to_owned(),
                "IpAddress(127.0.0.1)".to_owned(),
            ],
        };
        let d = describe_cert_error(&err, "127.0.0.2", None);
        assert_eq!(
            d.reason,
            "certificate is not valid for the name \"127.0.0.2\"; it names only \
             DnsName(\"localhost\"), IpAddress(127.0.0.1)"
        );
        assert!(d.hint.contains("expected_principal = \"msstd:"));
    }
}
