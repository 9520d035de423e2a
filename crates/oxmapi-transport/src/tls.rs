//! TLS client setup for the three certificate policies, and the facts kept for the logon report.

use std::fmt::Write as _;
use std::io;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use sha2::{Digest, Sha256};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::config::{TlsConfig, TlsPolicy};
use crate::error::TransportError;

/// What the TLS handshake established, for the logon report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsInfo {
    /// Negotiated protocol version, e.g. `TLSv1_3`.
    pub version: String,
    /// Negotiated cipher suite, e.g. `TLS13_AES_256_GCM_SHA384`.
    pub cipher_suite: String,
    /// SHA-256 of the peer's leaf certificate (DER), lower-case hex.
    pub peer_cert_sha256: Option<String>,
    /// The certificate policy in force (`verify`, `ca-file`, `ignore`).
    pub policy: &'static str,
    /// True when the certificate was NOT verified (policy `ignore`): print a loud warning.
    pub verification_skipped: bool,
    /// The name the certificate was checked against.
    pub checked_name: String,
}

/// A TLS connector built once per client from the endpoint's [`TlsConfig`].
#[derive(Clone)]
pub(crate) struct TlsSetup {
    connector: TlsConnector,
    policy: &'static str,
    ignore: bool,
    principal: Option<String>,
}

impl TlsSetup {
    /// Builds the rustls configuration (ring provider); reads the CA file now.
    pub(crate) fn new(config: &TlsConfig) -> Result<Self, TransportError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let principal = config.expected_principal.as_deref().map(principal_host);
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| tls_config_error(config, e))?;
        let verifier: Arc<dyn ServerCertVerifier> = match &config.policy {
            TlsPolicy::Ignore => Arc::new(AnyCertificate(provider)),
            TlsPolicy::Verify => {
                webpki_verifier(mozilla_roots(), provider, principal.as_deref(), config)?
            }
            TlsPolicy::CaFile(path) => {
                let roots = roots_from_pem(path)?;
                webpki_verifier(roots, provider, principal.as_deref(), config)?
            }
        };
        let mut tls = builder
            .dangerous()
            .with_custom_certificate_verifier(verifier)
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
        })
    }

    /// Runs the handshake on `tcp` for `host` (sent as SNI) and reports what was negotiated.
    pub(crate) async fn handshake(
        &self,
        host: &str,
        tcp: TcpStream,
    ) -> Result<(TlsStream<TcpStream>, TlsInfo), TransportError> {
        let server_name =
            ServerName::try_from(host.to_owned()).map_err(|e| TransportError::InvalidUrl {
                url: host.to_owned(),
                reason: format!("not a valid tls server name: {e}"),
            })?;
        let stream = self
            .connector
            .connect(server_name, tcp)
            .await
            .map_err(|e| self.handshake_error(host, e))?;
        let info = self.info(host, stream.get_ref().1);
        Ok((stream, info))
    }

    fn info(&self, host: &str, conn: &rustls::ClientConnection) -> TlsInfo {
        TlsInfo {
            version: conn
                .protocol_version()
                .map(|v| format!("{v:?}"))
                .unwrap_or_default(),
            cipher_suite: conn
                .negotiated_cipher_suite()
                .map(|s| format!("{:?}", s.suite()))
                .unwrap_or_default(),
            peer_cert_sha256: conn
                .peer_certificates()
                .and_then(|c| c.first())
                .map(|c| sha256_hex(c)),
            policy: self.policy,
            verification_skipped: self.ignore,
            checked_name: self.principal.clone().unwrap_or_else(|| host.to_owned()),
        }
    }

    fn handshake_error(&self, host: &str, err: io::Error) -> TransportError {
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
        let (reason, hint) = match tls_err {
            rustls::Error::InvalidCertificate(cert) => describe_cert_error(cert, checked),
            other => (
                other.to_string(),
                "check the server's tls setup (rustls speaks tls 1.2/1.3 only)".to_owned(),
            ),
        };
        TransportError::Tls {
            host: host.to_owned(),
            policy: self.policy,
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

fn describe_cert_error(err: &CertificateError, checked: &str) -> (String, String) {
    let trust_hint = "if the server uses a private or self-signed certificate, set `ca-file = \"/path/to/ca.pem\"` \
                      in its proxy-map entry, or `cert = \"ignore\"` to skip verification (insecure)";
    match err {
        CertificateError::UnknownIssuer | CertificateError::BadSignature => (
            "certificate is not trusted (unknown issuer: self-signed or private ca)".to_owned(),
            trust_hint.to_owned(),
        ),
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => (
            format!("certificate is not valid for the name {checked:?}"),
            "set the expected principal (`msstd:<name on the certificate>`) in the proxy-map entry, \
             or `cert = \"ignore\"` to skip verification (insecure)"
                .to_owned(),
        ),
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => (
            "certificate has expired".to_owned(),
            "renew the server certificate, or set `cert = \"ignore\"` in the proxy-map entry (insecure)".to_owned(),
        ),
        other => (format!("certificate rejected: {other:?}"), trust_hint.to_owned()),
    }
}

fn mozilla_roots() -> RootCertStore {
    RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    }
}

fn roots_from_pem(path: &std::path::Path) -> Result<RootCertStore, TransportError> {
    let ca_err = |reason: String| TransportError::CaFile {
        path: path.to_owned(),
        reason,
    };
    let data = std::fs::read(path).map_err(|e| ca_err(format!("cannot read it: {e}")))?;
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&data) {
        let cert = cert.map_err(|e| ca_err(format!("bad pem: {e}")))?;
        roots
            .add(cert)
            .map_err(|e| ca_err(format!("bad certificate: {e}")))?;
    }
    if roots.is_empty() {
        return Err(ca_err(
            "no certificates found (expected pem `BEGIN CERTIFICATE` blocks)".to_owned(),
        ));
    }
    Ok(roots)
}

fn webpki_verifier(
    roots: RootCertStore,
    provider: Arc<CryptoProvider>,
    principal: Option<&str>,
    config: &TlsConfig,
) -> Result<Arc<dyn ServerCertVerifier>, TransportError> {
    let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .map_err(|e| tls_config_error(config, e))?;
    let Some(principal) = principal else {
        return Ok(inner);
    };
    let name =
        ServerName::try_from(principal.to_owned()).map_err(|e| TransportError::InvalidUrl {
            url: principal.to_owned(),
            reason: format!("expected principal is not a valid name: {e}"),
        })?;
    Ok(Arc::new(PrincipalVerifier { inner, name }))
}

fn tls_config_error(config: &TlsConfig, err: impl std::fmt::Display) -> TransportError {
    TransportError::Tls {
        host: String::new(),
        policy: config.policy.name(),
        reason: format!("cannot build the tls configuration: {err}"),
        hint: "this is a bug in oxmapi; please report it".to_owned(),
    }
}

pub(crate) fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .fold(String::with_capacity(64), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Policy `ignore`: any certificate chain, but handshake signatures must still verify.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Verifies the chain as usual but checks the leaf against the expected principal, not the URL host.
#[derive(Debug)]
struct PrincipalVerifier {
    inner: Arc<WebPkiServerVerifier>,
    name: ServerName<'static>,
}

impl ServerCertVerifier for PrincipalVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.inner
            .verify_server_cert(end_entity, intermediates, &self.name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
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
