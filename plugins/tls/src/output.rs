//! The tls section of the report: one inspection per open TLS port and address.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// Why a handshake did not complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// No TCP connection (refused, unreachable).
    Connect,
    /// No answer in time.
    Timeout,
    /// The server sent a TLS alert.
    Alert,
    /// The server speaks TLS, but nothing this client offers (versions, suites, groups).
    Incompatible,
    /// The server's bytes are not TLS (an SSH or SMTP banner, HTTP...).
    NotTls,
    /// The connection closed or broke during the handshake.
    Closed,
    /// Anything else; the detail says what.
    Other,
}

/// A handshake that did not complete, as data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HandshakeFailure {
    /// Which kind of failure.
    pub kind: FailureKind,
    /// In words, e.g. "alert: handshake_failure".
    pub detail: String,
}

/// A public key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct KeyInfo {
    /// `RSA`, `ECDSA`, `Ed25519`, ... or the algorithm's OID.
    pub algorithm: String,
    /// Size in bits (for ECDSA, the curve's).
    pub bits: usize,
    /// The curve of an ECDSA key (`P-256`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub curve: Option<String>,
}

impl KeyInfo {
    /// `ECDSA P-256`, `RSA 2048`.
    pub fn label(&self) -> String {
        match &self.curve {
            Some(curve) => format!("{} {curve}", self.algorithm),
            None if self.bits > 0 => format!("{} {}", self.algorithm, self.bits),
            None => self.algorithm.clone(),
        }
    }
}

/// One certificate of the chain as the server sent it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CertInfo {
    /// Subject distinguished name (`CN=..., O=...`).
    pub subject: String,
    /// Issuer distinguished name.
    pub issuer: String,
    /// The subject's common name, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub common_name: Option<String>,
    /// DNS names and addresses of the subject alternative name extension.
    #[serde(default)]
    pub sans: Vec<String>,
    /// Serial number, colon-separated hex (`10:01`).
    pub serial: String,
    /// Start of validity, RFC 3339.
    pub not_before: String,
    /// End of validity, RFC 3339.
    pub not_after: String,
    /// Whole days until `not_after`, toward zero (negative once expired).
    pub days_left: i64,
    /// The public key.
    pub key: KeyInfo,
    /// Signature algorithm (`ecdsa-with-SHA384`, `sha256WithRSAEncryption`).
    pub signature_algorithm: String,
    /// SHA-256 of the DER, colon-separated upper-case hex as browsers and openssl show it.
    pub sha256: String,
    /// Whether it is a CA certificate (basic constraints).
    pub is_ca: bool,
    /// Whether it is signed by its own key.
    pub self_signed: bool,
}

/// A trust verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Trust {
    /// Whether the chain sent leads to a trusted root through CAs allowed to issue server
    /// certificates. The name and the dates are their own verdicts (`hostname_match`,
    /// `expired`, `not_yet_valid`).
    pub trusted: bool,
    /// Why not, in words ("unknown issuer", "the server's certificate is a CA certificate").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Everything judged about the certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Verdict {
    /// Against the bundled web roots (Mozilla's, via webpki-roots).
    pub web_roots: Trust,
    /// Against the configured CA bundle, when one is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_bundle: Option<Trust>,
    /// Whether the leaf is valid for the name checked (`checked_name`).
    pub hostname_match: bool,
    /// The name or address the leaf was checked against.
    pub checked_name: String,
    /// The leaf's validity has ended.
    pub expired: bool,
    /// The leaf's validity has not begun.
    pub not_yet_valid: bool,
    /// Days until the leaf expires (negative once expired).
    pub days_left: i64,
    /// The leaf is signed by its own key.
    pub self_signed: bool,
}

/// Whether a protocol version is accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Support {
    /// The server completed (or, for legacy versions, began) a handshake with it.
    Yes,
    /// The server refused it (alert, another version, closed the connection).
    No,
    /// No verdict: the probe timed out or failed for another reason.
    Unknown,
}

/// One protocol version's test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct VersionTest {
    /// `TLSv1.3`, `TLSv1.2`, `TLSv1.1`, `TLSv1.0`, `SSLv3`.
    pub version: String,
    /// The verdict.
    pub support: Support,
    /// What the server did, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The stapled OCSP response, when the server sent one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Ocsp {
    /// Its size in bytes.
    pub bytes: usize,
    /// SHA-256 of the response, colon-separated hex.
    pub sha256: String,
}

/// The inspection of one TLS port on one address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Endpoint {
    /// The address.
    pub ip: IpAddr,
    /// The port.
    pub port: u16,
    /// The SNI sent; none in IP-only mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sni: Option<String>,
    /// Why the handshake did not complete; none when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<HandshakeFailure>,
    /// The negotiated version (`TLSv1.3`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// The negotiated cipher suite (`TLS13_AES_256_GCM_SHA384`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cipher_suite: Option<String>,
    /// The key-exchange group (`X25519`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_exchange: Option<String>,
    /// The ALPN protocol the server chose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpn: Option<String>,
    /// The chain as sent, leaf first.
    #[serde(default)]
    pub chain: Vec<CertInfo>,
    /// Order problems of the chain as sent.
    #[serde(default)]
    pub chain_problems: Vec<String>,
    /// The verdicts, when a certificate was seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
    /// The stapled OCSP response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ocsp: Option<Ocsp>,
    /// Protocol versions tested one by one, newest first.
    #[serde(default)]
    pub versions: Vec<VersionTest>,
    /// What needs attention, worst first.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Time for the main handshake, in milliseconds.
    pub handshake_ms: u64,
}

/// The tls collector's section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TlsOutput {
    /// The ports looked for (the configured list, or every open port).
    pub candidates: Vec<u16>,
    /// One inspection per open candidate and address.
    pub endpoints: Vec<Endpoint>,
    /// Whole collection time, in milliseconds.
    pub elapsed_ms: u64,
}
