//! A rustls handshake that records instead of judging: the verifier keeps the chain, the
//! stapled OCSP response and the chain's trust verdicts ([`trust::judge`] against the bundled
//! web roots and a configured CA bundle),
//! and always lets the handshake go on, so a bad certificate is reported, not a dead end.
//! Handshake signatures are still checked: a server that cannot prove its key fails.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    ClientConfig, DigitallySignedStruct, Error, RootCertStore, SignatureScheme,
    SupportedProtocolVersion,
};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::output::{FailureKind, HandshakeFailure, Trust};
use crate::trust;

/// What the verifier saw.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    /// The chain, leaf first.
    pub chain: Vec<CertificateDer<'static>>,
    /// The stapled OCSP response (empty when none).
    pub ocsp: Vec<u8>,
    /// Against the web roots.
    pub web: Option<Trust>,
    /// Against the CA bundle.
    pub bundle: Option<Trust>,
}

/// The trust anchors a run judges by.
#[derive(Debug, Clone)]
pub struct Anchors {
    provider: Arc<CryptoProvider>,
    web: Arc<RootCertStore>,
    bundle: Option<Arc<RootCertStore>>,
}

impl Anchors {
    /// The bundled web roots and, when given, the CA certificates of a PEM bundle.
    pub fn new(bundle: Option<Vec<CertificateDer<'static>>>) -> Result<Anchors, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let web = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let bundle = match bundle {
            None => None,
            Some(certs) => {
                let mut store = RootCertStore::empty();
                let (added, ignored) = store.add_parsable_certificates(certs);
                if added == 0 {
                    return Err(format!(
                        "ca-bundle: no usable CA certificate ({ignored} could not be read)"
                    ));
                }
                Some(Arc::new(store))
            }
        };
        Ok(Anchors {
            provider,
            web: Arc::new(web),
            bundle,
        })
    }

    /// Whether a CA bundle is configured.
    pub fn has_bundle(&self) -> bool {
        self.bundle.is_some()
    }
}

#[derive(Debug)]
struct Recorder {
    anchors: Anchors,
    seen: Mutex<Seen>,
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        // The name is not judged here: `hostname_match` is its own verdict.
        _server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let now = now.as_secs() as i64;
        let algorithms = &self.anchors.provider.signature_verification_algorithms;
        let web = trust::judge(
            &self.anchors.web,
            algorithms,
            end_entity,
            intermediates,
            now,
        );
        let bundle = self
            .anchors
            .bundle
            .as_ref()
            .map(|roots| trust::judge(roots, algorithms, end_entity, intermediates, now));
        let mut chain = vec![end_entity.clone().into_owned()];
        chain.extend(intermediates.iter().map(|c| c.clone().into_owned()));
        *self.seen.lock().unwrap_or_else(|p| p.into_inner()) = Seen {
            chain,
            ocsp: ocsp_response.to_vec(),
            web: Some(web),
            bundle,
        };
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.anchors.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.anchors.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.anchors
            .provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// What a completed handshake negotiated.
#[derive(Debug, Clone, Default)]
pub struct Negotiated {
    /// `TLSv1.3`.
    pub protocol: Option<String>,
    /// `TLS13_AES_256_GCM_SHA384`.
    pub cipher_suite: Option<String>,
    /// `X25519`.
    pub key_exchange: Option<String>,
    /// The ALPN protocol chosen.
    pub alpn: Option<String>,
}

/// One handshake's outcome: what was seen (even when it failed later) and how it ended.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// The verifier's record.
    pub seen: Seen,
    /// Negotiated parameters, or why the handshake failed.
    pub result: Result<Negotiated, HandshakeFailure>,
    /// Time taken.
    pub elapsed: Duration,
}

/// How one handshake is made.
#[derive(Debug, Clone)]
pub struct Options {
    /// The name for SNI and checks; `send_sni` false for IP-only mode.
    pub server_name: ServerName<'static>,
    /// Whether SNI is sent.
    pub send_sni: bool,
    /// ALPN protocols offered.
    pub alpn: Vec<Vec<u8>>,
    /// Connection and handshake time limit.
    pub timeout: Duration,
}

fn version_label(v: rustls::ProtocolVersion) -> String {
    match v {
        rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3".into(),
        rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2".into(),
        other => format!("{other:?}"),
    }
}

fn failure(kind: FailureKind, detail: impl Into<String>) -> HandshakeFailure {
    HandshakeFailure {
        kind,
        detail: detail.into(),
    }
}

/// A handshake failure in words and kind.
pub fn classify(e: &std::io::Error) -> HandshakeFailure {
    if let Some(tls) = e.get_ref().and_then(|i| i.downcast_ref::<Error>()) {
        return match tls {
            Error::AlertReceived(alert) => failure(
                FailureKind::Alert,
                format!("alert: {}", alert_label(*alert)),
            ),
            Error::InvalidMessage(m) => {
                failure(FailureKind::NotTls, format!("the reply is not TLS ({m:?})"))
            }
            Error::PeerIncompatible(rustls::PeerIncompatible::ServerDoesNotSupportTls12Or13) => {
                failure(
                    FailureKind::Incompatible,
                    "the server speaks neither TLS 1.2 nor TLS 1.3",
                )
            }
            Error::PeerIncompatible(why) => failure(
                FailureKind::Incompatible,
                format!("no common ground: {why:?}"),
            ),
            Error::InappropriateHandshakeMessage { .. } | Error::InappropriateMessage { .. } => {
                failure(FailureKind::Other, format!("unexpected message: {tls}"))
            }
            other => failure(FailureKind::Other, other.to_string()),
        };
    }
    match e.kind() {
        std::io::ErrorKind::UnexpectedEof => failure(
            FailureKind::Closed,
            "the server closed the connection during the handshake",
        ),
        std::io::ErrorKind::ConnectionReset => {
            failure(FailureKind::Closed, "the server reset the connection")
        }
        _ => failure(FailureKind::Other, e.to_string()),
    }
}

fn alert_label(a: rustls::AlertDescription) -> String {
    let debug = format!("{a:?}");
    // CamelCase to the RFC's snake_case: HandshakeFailure -> handshake_failure.
    let mut out = String::new();
    for (i, ch) in debug.chars().enumerate() {
        if ch.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(ch.to_ascii_lowercase());
        } else {
            out.push(ch);
        }
    }
    out
}

/// Connects to `addr` and makes one handshake with the given versions.
pub async fn attempt(
    addr: SocketAddr,
    anchors: &Anchors,
    opts: &Options,
    versions: &[&'static SupportedProtocolVersion],
) -> Attempt {
    let started = std::time::Instant::now();
    let recorder = Arc::new(Recorder {
        anchors: anchors.clone(),
        seen: Mutex::new(Seen::default()),
    });
    let result = run(addr, &recorder, opts, versions).await;
    let seen = recorder
        .seen
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    Attempt {
        seen,
        result,
        elapsed: started.elapsed(),
    }
}

async fn run(
    addr: SocketAddr,
    recorder: &Arc<Recorder>,
    opts: &Options,
    versions: &[&'static SupportedProtocolVersion],
) -> Result<Negotiated, HandshakeFailure> {
    let mut config = ClientConfig::builder_with_provider(recorder.anchors.provider.clone())
        .with_protocol_versions(versions)
        .map_err(|e| failure(FailureKind::Other, e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(recorder.clone())
        .with_no_client_auth();
    config.alpn_protocols = opts.alpn.clone();
    config.enable_sni = opts.send_sni;
    let connector = TlsConnector::from(Arc::new(config));
    let work = async {
        let tcp = TcpStream::connect(addr)
            .await
            .map_err(|e| failure(FailureKind::Connect, format!("cannot connect: {e}")))?;
        let mut tls = connector
            .connect(opts.server_name.clone(), tcp)
            .await
            .map_err(|e| classify(&e))?;
        let (_, conn) = tls.get_ref();
        let negotiated = Negotiated {
            protocol: conn.protocol_version().map(version_label),
            cipher_suite: conn
                .negotiated_cipher_suite()
                .map(|s| format!("{:?}", s.suite())),
            key_exchange: conn
                .negotiated_key_exchange_group()
                .map(|g| format!("{:?}", g.name())),
            alpn: conn
                .alpn_protocol()
                .map(|p| String::from_utf8_lossy(p).into_owned()),
        };
        let _ = tls.shutdown().await;
        Ok(negotiated)
    };
    match tokio::time::timeout(opts.timeout, work).await {
        Ok(r) => r,
        Err(_) => Err(failure(
            FailureKind::Timeout,
            format!(
                "no completed handshake within {} ms",
                opts.timeout.as_millis()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alerts_read_as_the_rfc_names_them() {
        assert_eq!(
            alert_label(rustls::AlertDescription::HandshakeFailure),
            "handshake_failure"
        );
        assert_eq!(
            alert_label(rustls::AlertDescription::ProtocolVersion),
            "protocol_version"
        );
    }

    #[test]
    fn io_errors_are_classified() {
        let eof = std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "eof");
        assert_eq!(classify(&eof).kind, FailureKind::Closed);
        let alert = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            Error::AlertReceived(rustls::AlertDescription::ProtocolVersion),
        );
        assert_eq!(
            classify(&alert),
            failure(FailureKind::Alert, "alert: protocol_version")
        );
    }
}
