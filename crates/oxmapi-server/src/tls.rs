//! The server certificate: a self-signed certificate generated on first start into
//! `<dir>/cert.pem` + `<dir>/key.pem` (mode 0600) and reused afterwards, and the rustls
//! server configuration (ring provider).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};

/// Errors while preparing TLS.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// Reading or writing a PEM file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A PEM file holds no usable certificate or key.
    #[error("{path}: {detail}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// Certificate generation failed.
    #[error("certificate generation: {0}")]
    Generate(#[from] rcgen::Error),
    /// rustls refused the certificate or key.
    #[error("tls configuration: {0}")]
    Rustls(#[from] rustls::Error),
}

/// The server's certificate and key, loaded or generated.
#[derive(Debug, Clone)]
pub struct ServerCert {
    /// The certificate in DER.
    pub der: CertificateDer<'static>,
    /// The certificate in PEM (what a client pins or trusts).
    pub pem: String,
    /// Path of `cert.pem` (usable as a CA file: the certificate is self-signed).
    pub cert_path: PathBuf,
    key: Arc<PrivateKeyDer<'static>>,
}

impl ServerCert {
    /// Loads `<dir>/cert.pem` and `<dir>/key.pem`, generating both first if `cert.pem` is missing.
    /// The certificate's SANs are `localhost`, `127.0.0.1` and `::1`.
    pub fn load_or_generate(dir: &Path) -> Result<Self, TlsError> {
        let cert_path = dir.join("cert.pem");
        let key_path = dir.join("key.pem");
        if !cert_path.exists() {
            generate(&cert_path, &key_path)?;
        }
        tighten_key_mode(&key_path);
        let pem = std::fs::read_to_string(&cert_path).map_err(|source| TlsError::Io {
            path: cert_path.clone(),
            source,
        })?;
        let der = CertificateDer::from_pem_slice(pem.as_bytes()).map_err(|e| TlsError::Pem {
            path: cert_path.clone(),
            detail: e.to_string(),
        })?;
        let key = PrivateKeyDer::from_pem_file(&key_path).map_err(|e| TlsError::Pem {
            path: key_path.clone(),
            detail: e.to_string(),
        })?;
        Ok(Self {
            der,
            pem,
            cert_path,
            key: Arc::new(key),
        })
    }

    /// SHA-256 of the certificate DER as upper-case hex pairs joined by colons.
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.der)
    }

    /// A rustls server configuration (ring provider, HTTP/1.1 ALPN) serving this certificate.
    pub fn server_config(&self) -> Result<rustls::ServerConfig, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(vec![self.der.clone()], self.key.clone_key())?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        // Debugging aid, off by default: with SSLKEYLOGFILE set, append the TLS secrets there
        // (NSS key log format) so Wireshark/tshark can decrypt a capture (docs/captures.md).
        if std::env::var_os("SSLKEYLOGFILE").is_some() {
            config.key_log = Arc::new(rustls::KeyLogFile::new());
        }
        Ok(config)
    }
}

/// SHA-256 of `der` as `AB:CD:...`.
pub fn fingerprint(der: &[u8]) -> String {
    let digest = Sha256::digest(der);
    let hex: Vec<String> = digest.iter().map(|b| format!("{b:02X}")).collect();
    hex.join(":")
}

fn generate(cert_path: &Path, key_path: &Path) -> Result<(), TlsError> {
    let names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    let certified = rcgen::generate_simple_self_signed(names)?;
    write_private(key_path, certified.signing_key.serialize_pem().as_bytes())?;
    std::fs::write(cert_path, certified.cert.pem()).map_err(|source| TlsError::Io {
        path: cert_path.to_path_buf(),
        source,
    })
}

/// An existing `key.pem` readable by others (written by an older version, copied in) is
/// made owner-only, with a warning; failing that, the warning says so.
fn tighten_key_mode(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let Ok(meta) = std::fs::metadata(path) else {
            return;
        };
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 == 0 {
            return;
        }
        match std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)) {
            Ok(()) => tracing::warn!(
                path = %path.display(),
                "the TLS private key was mode {mode:o}; made it 0600"
            ),
            Err(e) => tracing::warn!(
                path = %path.display(),
                "the TLS private key is mode {mode:o} (readable by others) and cannot be made 0600: {e}"
            ),
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Writes `bytes` to a new file readable by its owner only.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), TlsError> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let io = |source| TlsError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut f = opts.open(path).map_err(io)?;
    f.write_all(bytes).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_once_and_reuses() {
        let dir = tempfile::tempdir().unwrap();
        let a = ServerCert::load_or_generate(dir.path()).unwrap();
        let b = ServerCert::load_or_generate(dir.path()).unwrap();
        assert_eq!(a.der, b.der);
        assert_eq!(a.fingerprint().len(), 32 * 3 - 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("key.pem"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
            // An existing key readable by others is tightened on the next start.
            let key = dir.path().join("key.pem");
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
            ServerCert::load_or_generate(dir.path()).unwrap();
            let mode = std::fs::metadata(&key).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        a.server_config().unwrap();
    }

    #[test]
    fn fingerprint_format() {
        // SHA-256("") = e3b0c442...
        assert!(fingerprint(b"").starts_with("E3:B0:C4:42:"));
    }
}
