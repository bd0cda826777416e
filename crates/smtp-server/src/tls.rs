//! TLS for STARTTLS and implicit TLS (rustls): the certificate chain and key from PEM files,
//! TLS 1.2 and 1.3 only, and the protocol and cipher names a session reports (OpenSSL's,
//! as the Received line has always shown them).
//!
//! Failures: a file that cannot be read, holds no certificate or no key, or a key that does
//! not fit -> `Err` with the reason (the caller keeps the previous certificate).

use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::TlsAcceptor;

use crate::policy::TlsInfo;

/// An acceptor for the certificate chain and key in `cert` and `key` (PEM files).
pub fn acceptor(cert: &str, key: &str) -> Result<TlsAcceptor, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<Result<_, _>>())
        .map_err(|e| format!("TLS: cannot read certificates from {cert}: {e}"))?;
    if certs.is_empty() {
        return Err(format!("TLS: no certificate in {cert}"));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("TLS: cannot read the private key from {key}: {e}"))?;
    // ring: builds everywhere without cmake (the package is also built from source); its
    // provider lacks the post-quantum key exchange aws-lc-rs has, which SMTP's
    // opportunistic TLS does not need yet.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| format!("TLS: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("TLS: the key does not fit the certificate: {e}"))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// What a finished handshake negotiated.
pub fn info(conn: &rustls::ServerConnection) -> TlsInfo {
    let protocol = match conn.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3",
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2",
        _ => "TLS",
    };
    let cipher = conn.negotiated_cipher_suite().map_or_else(String::new, |s| openssl_name(s.suite().as_str().unwrap_or("")));
    TlsInfo { protocol: protocol.into(), cipher }
}

/// rustls calls the TLS 1.3 suites TLS13_*; OpenSSL and IANA call them TLS_*.
fn openssl_name(rustls_name: &str) -> String {
    rustls_name.strip_prefix("TLS13_").map_or_else(|| rustls_name.to_string(), |rest| format!("TLS_{rest}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cipher_names_are_openssls() {
        assert_eq!(openssl_name("TLS13_AES_256_GCM_SHA384"), "TLS_AES_256_GCM_SHA384");
        assert_eq!(openssl_name("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"), "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
    }

    #[test]
    fn missing_or_empty_files_are_errors() {
        let err = |c: &str, k: &str| acceptor(c, k).err().unwrap_or_default();
        assert!(err("/nonexistent/cert.pem", "/nonexistent/key.pem").contains("cannot read"));
        let dir = std::env::temp_dir().join(format!("qmta-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "").unwrap();
        let e = empty.to_str().unwrap();
        assert!(err(e, e).contains("no certificate"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
