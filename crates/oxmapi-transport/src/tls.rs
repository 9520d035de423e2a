//! TLS client setup for the four certificate policies, and the facts kept for the logon report.

mod diagnose;
mod validity;
mod verify;

use std::fmt::Write as _;
use std::io;
use std::path::Path;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::crypto::CryptoProvider;
use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use sha2::{Digest, Sha256};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::config::{TlsConfig, TlsPolicy};
use crate::error::{CaFileProblem, TlsFailure, TransportError};
use diagnose::{Diagnosis, describe_cert_error};
use verify::{
    AnyCertificate, CaFileTrust, CaFileVerifier, NotePresented, PinnedVerifier, Presented,
    PrincipalVerifier,
};

/// What the TLS handshake established, for the logon report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsInfo {
    /// Negotiated protocol version, e.g. `TLSv1_3`.
    pub version: String,
    /// Negotiated cipher suite, e.g. `TLS13_AES_256_GCM_SHA384`.
    pub cipher_suite: String,
    /// SHA-256 of the peer's leaf certificate (DER), lower-case hex.
    pub peer_cert_sha256: Option<String>,
    /// The certificate policy in force (`verify`, `ca-file`, `pinned-sha256`, `ignore`), and
    /// how it was met when that matters: [`CA_FILE_LISTED_LEAF`] when the leaf itself was
    /// found in the CA file rather than chained to it.
    pub policy: &'static str,
    /// True when the certificate was NOT verified (policy `ignore`): print a loud warning.
    pub verification_skipped: bool,
    /// The name the certificate was checked against.
    pub checked_name: String,
}

/// [`TlsInfo::policy`] when policy `ca-file` accepted the leaf because it is itself one of
/// the file's certificates (a self-signed server certificate), not by a chain.
pub const CA_FILE_LISTED_LEAF: &str = "ca-file (leaf in ca_file)";

/// A TLS connector built once per client from the endpoint's [`TlsConfig`].
#[derive(Clone)]
pub(crate) struct TlsSetup {
    connector: TlsConnector,
    policy: &'static str,
    ignore: bool,
    principal: Option<String>,
    /// Policy `ca-file`: asked again after a handshake how the leaf was trusted.
    ca_file: Option<Arc<CaFileVerifier>>,
}

impl TlsSetup {
    /// Builds the rustls configuration (ring provider); reads the CA file now.
    pub(crate) fn new(config: &TlsConfig) -> Result<Self, TransportError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let principal = config.expected_principal.as_deref().map(principal_host);
        // Only the chain-checking policies check a name; the others ignore the principal.
        let principal_name = || principal.as_deref().map(server_name).transpose();
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| tls_config_error(config, e))?;
        let mut ca_file = None;
        let verifier: Arc<dyn ServerCertVerifier> = match &config.policy {
            TlsPolicy::Ignore => Arc::new(AnyCertificate(provider)),
            TlsPolicy::PinnedSha256(pin) => Arc::new(PinnedVerifier {
                pin: *pin,
                signatures: AnyCertificate(provider),
            }),
            TlsPolicy::Verify => {
                let webpki = webpki_verifier(mozilla_roots(), provider, config)?;
                match principal_name()? {
                    Some(name) => Arc::new(PrincipalVerifier {
                        inner: webpki,
                        name,
                    }),
                    None => webpki,
                }
            }
            TlsPolicy::CaFile(path) => {
                let listed = read_ca_file(path)?;
                let roots = trust_anchors(path, &listed)?;
                let verifier = Arc::new(CaFileVerifier {
                    webpki: webpki_verifier(roots, provider, config)?,
                    listed,
                    principal: principal_name()?,
                });
                ca_file = Some(verifier.clone());
                verifier
            }
        };
        let mut tls = builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NotePresented(verifier)))
            .with_no_client_auth();
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        // Debugging aid, off by default: with SSLKEYLOGFILE set, append the TLS secrets there
        // (NSS key log format) so Wireshark/tshark can decrypt a capture (docs/captures.md).
        if std::env::var_os("SSLKEYLOGFILE").is_some() {
            tls.key_log = Arc::new(rustls::KeyLogFile::new());
        }
        Ok(Self {
            connector: TlsConnector::from(Arc::new(tls)),
            policy: config.policy.name(),
            ignore: config.policy == TlsPolicy::Ignore,
            principal,
            ca_file,
        })
    }

    /// Runs the handshake on `tcp` for `host` (sent as SNI) and reports what was negotiated.
    pub(crate) async fn handshake(
        &self,
        host: &str,
        tcp: TcpStream,
    ) -> Result<(TlsStream<TcpStream>, TlsInfo), TransportError> {
        let name =
            ServerName::try_from(host.to_owned()).map_err(|e| TransportError::InvalidUrl {
                url: host.to_owned(),
                reason: format!("not a valid tls server name: {e}"),
            })?;
        let (result, presented) =
            Presented::observe(self.connector.connect(name.clone(), tcp)).await;
        let stream = result.map_err(|e| self.handshake_error(host, e, presented))?;
        let info = self.info(host, &name, stream.get_ref().1);
        Ok((stream, info))
    }

    fn info(&self, host: &str, name: &ServerName<'_>, conn: &rustls::ClientConnection) -> TlsInfo {
        let chain = conn.peer_certificates().unwrap_or_default();
        TlsInfo {
            version: conn
                .protocol_version()
                .map(|v| format!("{v:?}"))
                .unwrap_or_default(),
            cipher_suite: conn
                .negotiated_cipher_suite()
                .map(|s| format!("{:?}", s.suite()))
                .unwrap_or_default(),
            peer_cert_sha256: chain.first().map(|c| sha256_hex(c)),
            policy: self.policy_met(name, chain),
            verification_skipped: self.ignore,
            checked_name: self.principal.clone().unwrap_or_else(|| host.to_owned()),
        }
    }

    /// The policy, or [`CA_FILE_LISTED_LEAF`] when `ca-file` trusted the leaf as is. Asks
    /// the verifier again, and only for a leaf that is in the file (rare and cheap).
    fn policy_met(&self, name: &ServerName<'_>, chain: &[CertificateDer<'_>]) -> &'static str {
        let (Some(ca_file), Some((leaf, intermediates))) = (&self.ca_file, chain.split_first())
        else {
            return self.policy;
        };
        if !ca_file.lists(leaf) {
            return self.policy;
        }
        match ca_file.verify(leaf, intermediates, name, &[], UnixTime::now()) {
            Ok(CaFileTrust::ListedLeaf) => CA_FILE_LISTED_LEAF,
            _ => self.policy,
        }
    }

    fn handshake_error(
        &self,
        host: &str,
        err: io::Error,
        presented: Option<[u8; 32]>,
    ) -> TransportError {
        let checked = self.principal.as_deref().unwrap_or(host);
        let Some(tls_err) = err
            .get_ref()
            .and_then(|e| e.downcast_ref::<rustls::Error>())
        else {
            return TransportError::Io {
                host: host.to_owned(),
                source: err,
            };
        };
        let presented = presented.map(|p| hex(&p));
        let Diagnosis {
            failure,
            reason,
            hint,
        } = match tls_err {
            rustls::Error::InvalidCertificate(cert) => {
                describe_cert_error(cert, checked, presented.as_deref())
            }
            other => Diagnosis {
                failure: TlsFailure::Other,
                reason: other.to_string(),
                hint: "check the server's tls setup (rustls speaks tls 1.2/1.3 only)".to_owned(),
            },
        };
        TransportError::Tls {
            host: host.to_owned(),
            policy: self.policy,
            failure: Box::new(failure),
            reason,
            hint,
        }
    }
}

/// `msstd:mail.contoso.com` → `mail.contoso.com`; plain names are kept.
fn principal_host(principal: &str) -> String {
    let trimmed = principal.trim();
    match trimmed.get(..6) {
        Some(prefix) if prefix.eq_ignore_ascii_case("msstd:") => {
            trimmed.get(6..).unwrap_or_default().to_owned()
        }
        _ => trimmed.to_owned(),
    }
}

fn server_name(principal: &str) -> Result<ServerName<'static>, TransportError> {
    ServerName::try_from(principal.to_owned()).map_err(|e| TransportError::InvalidUrl {
        url: principal.to_owned(),
        reason: format!("expected principal is not a valid name: {e}"),
    })
}

fn mozilla_roots() -> RootCertStore {
    RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    }
}

/// Every PEM `CERTIFICATE` block of a `ca_file` (RFC 7468 §5), in file order.
fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, TransportError> {
    let data = std::fs::read(path).map_err(|e| {
        ca_file_error(
            path,
            CaFileProblem::Unreadable,
            format!("cannot read it: {e}"),
        )
    })?;
    if data.iter().all(u8::is_ascii_whitespace) {
        return Err(ca_file_error(
            path,
            CaFileProblem::Empty,
            "the file is empty, no certificates found".to_owned(),
        ));
    }
    let certs = CertificateDer::pem_slice_iter(&data)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ca_file_error(path, CaFileProblem::BadPem, format!("bad pem: {e}")))?;
    if certs.is_empty() {
        let why = if data.windows(11).any(|w| w == b"-----BEGIN ") {
            "no certificates found, only other pem blocks (a key?); expected \
             `-----BEGIN CERTIFICATE-----` blocks"
        } else {
            "no certificates found; expected pem `-----BEGIN CERTIFICATE-----` blocks (for a der \
             file: `openssl x509 -inform der -in FILE -out FILE.pem`)"
        };
        return Err(ca_file_error(
            path,
            CaFileProblem::NoCertificates,
            why.to_owned(),
        ));
    }
    Ok(certs)
}

/// The file's certificates as webpki trust anchors.
fn trust_anchors(
    path: &Path,
    certs: &[CertificateDer<'static>],
) -> Result<RootCertStore, TransportError> {
    let mut roots = RootCertStore::empty();
    for (i, cert) in certs.iter().enumerate() {
        roots.add(cert.clone()).map_err(|e| {
            ca_file_error(
                path,
                CaFileProblem::BadCertificate,
                format!("certificate {} of {}: {e}", i + 1, certs.len()),
            )
        })?;
    }
    Ok(roots)
}

fn ca_file_error(path: &Path, problem: CaFileProblem, reason: String) -> TransportError {
    TransportError::CaFile {
        path: path.to_owned(),
        problem,
        reason,
    }
}

fn webpki_verifier(
    roots: RootCertStore,
    provider: Arc<CryptoProvider>,
    config: &TlsConfig,
) -> Result<Arc<WebPkiServerVerifier>, TransportError> {
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .map_err(|e| tls_config_error(config, e))
}

fn tls_config_error(config: &TlsConfig, err: impl std::fmt::Display) -> TransportError {
    TransportError::Tls {
        host: String::new(),
        policy: config.policy.name(),
        failure: Box::new(TlsFailure::Other),
        reason: format!("cannot build the tls configuration: {err}"),
        hint: "this is a bug in oxmapi; please report it".to_owned(),
    }
}

pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// Lower-case hex, as fingerprints are printed everywhere in oxmapi.
fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principal_prefix_is_stripped() {
        assert_eq!(principal_host("msstd:mail.contoso.com"), "mail.contoso.com");
        assert_eq!(principal_host("MSSTD:mail.contoso.com"), "mail.contoso.com");
        assert_eq!(principal_host("mail.contoso.com"), "mail.contoso.com");
        assert_eq!(principal_host("ms"), "ms");
    }

    #[test]
    fn sha256_of_empty_input() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
