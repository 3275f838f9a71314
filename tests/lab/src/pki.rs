//! The lab's own certificate authority, made fresh at every lab start, and the server
//! certificates it signs. Clients trust it through its PEM ([`Pki::ca_pem`]), never by
//! turning verification off.

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// Common name of the lab's CA.
pub const CA_NAME: &str = "sonde lab CA";

/// The lab's CA.
pub struct Pki {
    ca: CertifiedIssuer<'static, KeyPair>,
}

impl std::fmt::Debug for Pki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pki").field("ca", &CA_NAME).finish()
    }
}

impl Pki {
    /// A new CA with a new key.
    pub fn new() -> Result<Pki, rcgen::Error> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, CA_NAME);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate()?)?;
        Ok(Pki { ca })
    }

    /// The CA certificate, PEM encoded: what a client trusts.
    pub fn ca_pem(&self) -> String {
        self.ca.pem()
    }

    /// A server configuration for `names`, with a leaf certificate signed by the CA (the
    /// chain sent is the leaf then the CA).
    pub fn server_config(&self, names: &[&str]) -> Result<Arc<rustls::ServerConfig>, String> {
        let names: Vec<String> = names
            .iter()
            .map(|n| n.trim_end_matches('.').to_string())
            .collect();
        let mut params = CertificateParams::new(names.clone()).map_err(|e| e.to_string())?;
        params.distinguished_name.push(
            DnType::CommonName,
            names.first().cloned().unwrap_or_default(),
        );
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let key = KeyPair::generate().map_err(|e| e.to_string())?;
        let leaf = params
            .signed_by(&key, &self.ca)
            .map_err(|e| e.to_string())?;
        let chain: Vec<CertificateDer<'static>> = vec![leaf.der().clone(), self.ca.der().clone()];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| e.to_string())?;
        Ok(Arc::new(config))
    }
}
