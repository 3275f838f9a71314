//! The `[collectors.tls]` table.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use sonde_core::duration::serde_human;

/// Which open ports get a ClientHello.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Probe {
    /// The ports of the `ports` setting that ports found open.
    #[default]
    Configured,
    /// Every open port: finds TLS on unusual ports; a port that is not TLS is reported as
    /// such.
    AllOpen,
}

/// Settings of the tls collector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct TlsConfig {
    /// The TLS ports to inspect when ports finds them open.
    pub ports: Vec<u16>,
    /// `configured` (the `ports` list) or `all-open` (every open port).
    pub probe: Probe,
    /// The name sent as SNI and checked against the certificate: `auto` (the target's host
    /// name; none for an address), `none` (IP-only: no SNI, the address is checked), or a
    /// host name.
    pub sni: String,
    /// A PEM file of CA certificates to judge trust by, besides the bundled web roots.
    pub ca_bundle: Option<String>,
    /// Time for the connection and the handshake, per attempt.
    #[serde(with = "serde_human")]
    pub handshake_timeout: Duration,
    /// ALPN protocols offered, in order.
    pub alpn: Vec<String>,
    /// Also test TLS 1.3 and 1.2 one by one, and TLS 1.1, TLS 1.0 and SSL 3.0 with hand-built
    /// ClientHellos.
    pub versions: bool,
}

impl Default for TlsConfig {
    fn default() -> Self {
        TlsConfig {
            ports: vec![443],
            probe: Probe::Configured,
            sni: "auto".into(),
            ca_bundle: None,
            handshake_timeout: Duration::from_secs(5),
            alpn: vec!["h2".into(), "http/1.1".into()],
            versions: true,
        }
    }
}

/// What to send as SNI and check the certificate against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sni {
    /// The target's host name (an address when the target is one).
    Auto,
    /// No SNI; the certificate is checked against the address.
    None,
    /// This name.
    Name(String),
}

impl TlsConfig {
    /// Checks what types cannot; each message names the key.
    pub fn check(&self) -> Result<(), String> {
        if self.ports.contains(&0) {
            return Err("ports: 0 is not a port".into());
        }
        if self.probe == Probe::Configured && self.ports.is_empty() {
            return Err("ports: empty; name at least one port or set probe = \"all-open\"".into());
        }
        if let Sni::Name(name) = self.sni() {
            if rustls::pki_types::ServerName::try_from(name.as_str()).is_err() {
                return Err(format!("sni: `{name}` is not a host name"));
            }
        }
        if self.alpn.iter().any(|p| p.is_empty() || p.len() > 255) {
            return Err("alpn: each protocol must be 1 to 255 bytes".into());
        }
        if let Some(path) = &self.ca_bundle {
            if path.trim().is_empty() {
                return Err("ca-bundle: empty path".into());
            }
        }
        Ok(())
    }

    /// The SNI setting, read.
    pub fn sni(&self) -> Sni {
        match self.sni.trim() {
            "" | "auto" => Sni::Auto,
            "none" => Sni::None,
            name => Sni::Name(name.trim_end_matches('.').to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sni_settings() {
        let mut c = TlsConfig::default();
        assert_eq!(c.sni(), Sni::Auto);
        c.sni = "none".into();
        assert_eq!(c.sni(), Sni::None);
        c.sni = "www.example.test.".into();
        assert_eq!(c.sni(), Sni::Name("www.example.test".into()));
        assert!(c.check().is_ok());
        c.sni = "bad name!".into();
        assert!(c.check().expect_err("refused").starts_with("sni:"));
        let c = TlsConfig {
            ports: vec![],
            ..TlsConfig::default()
        };
        assert!(c.check().expect_err("refused").starts_with("ports:"));
    }
}
