//! The `[collectors.ports]` table.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use sonde_core::duration::serde_human;

use crate::portspec::PortSet;
use crate::rtt::Bounds;

/// How ports are probed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// SYN scan when raw sockets are allowed, connect scan otherwise.
    #[default]
    Auto,
    /// Full TCP connections (no privilege needed).
    Connect,
    /// Half-open SYN probes on a raw socket (root or CAP_NET_RAW); falls back to connect,
    /// with the reason in the section, when raw sockets are refused.
    Syn,
}

/// Settings of the ports collector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct PortsConfig {
    /// Which ports: `22,80,443,8000-8100`, `all`, `top-N` (sonde's curated list), combined
    /// with commas.
    pub ports: String,
    /// `auto`, `connect` or `syn`.
    pub method: Method,
    /// Extra probes for a port that gave no answer (open and closed ports are never retried).
    pub retries: u8,
    /// The probe timeout until the host has answered once.
    #[serde(with = "serde_human")]
    pub initial_timeout: Duration,
    /// The shortest probe timeout, however fast the host answers.
    #[serde(with = "serde_human")]
    pub min_timeout: Duration,
    /// The longest probe timeout, however slow the host is.
    #[serde(with = "serde_human")]
    pub max_timeout: Duration,
    /// Most connections in flight at once (further capped by the open-file limit).
    pub max_concurrency: u32,
    /// SYN probes per second (SYN scan only).
    pub rate: u32,
    /// Read what open ports say first (SSH, SMTP, FTP banners).
    pub banners: bool,
    /// Most bytes kept of a banner.
    pub banner_bytes: usize,
    /// How long to wait for a banner.
    #[serde(with = "serde_human")]
    pub banner_timeout: Duration,
    /// Time kept free at the end of the collector's deadline for tls, which starts when ports
    /// ends: a scan the deadline would cut stops this much earlier (at most half the time
    /// left). `"0s"` when tls is not used.
    #[serde(with = "serde_reserve")]
    pub reserve_for_tls: Duration,
}

impl Default for PortsConfig {
    fn default() -> Self {
        PortsConfig {
            ports: "top-100".into(),
            method: Method::Auto,
            retries: 2,
            initial_timeout: Duration::from_secs(1),
            min_timeout: Duration::from_millis(100),
            max_timeout: Duration::from_secs(2),
            max_concurrency: 5000,
            rate: 50_000,
            banners: false,
            banner_bytes: 256,
            banner_timeout: Duration::from_secs(1),
            reserve_for_tls: Duration::from_secs(3),
        }
    }
}

/// Serde for `reserve-for-tls`: a human duration, where zero (`"0s"`) is allowed and means
/// no reserve.
mod serde_reserve {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};
    use sonde_core::duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        if d.is_zero() {
            s.serialize_str("0s")
        } else {
            s.serialize_str(&duration::format(*d))
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        let number = text
            .trim()
            .trim_end_matches(|c: char| c.is_ascii_alphabetic());
        if number.trim().parse::<f64>() == Ok(0.0) {
            return Ok(Duration::ZERO);
        }
        duration::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl PortsConfig {
    /// Checks what types cannot; each message names the key.
    pub fn check(&self) -> Result<(), String> {
        PortSet::parse(&self.ports).map_err(|e| format!("ports: {e}"))?;
        if self.min_timeout > self.max_timeout {
            return Err(format!(
                "min-timeout: {:?} is above max-timeout ({:?})",
                self.min_timeout, self.max_timeout
            ));
        }
        if self.retries > 10 {
            return Err(format!(
                "retries: {} is out of range (0 to 10)",
                self.retries
            ));
        }
        if self.max_concurrency == 0 {
            return Err("max-concurrency: must be at least 1".into());
        }
        if self.rate == 0 {
            return Err("rate: must be at least 1 packet per second".into());
        }
        if self.banner_bytes == 0 || self.banner_bytes > 64 * 1024 {
            return Err(format!(
                "banner-bytes: {} is out of range (1 to 65536)",
                self.banner_bytes
            ));
        }
        Ok(())
    }

    /// The port set (valid once [`check`](Self::check) passed).
    pub fn port_set(&self) -> Result<PortSet, String> {
        PortSet::parse(&self.ports).map_err(|e| format!("ports: {e}"))
    }

    /// The timeout bounds, the initial timeout held within them.
    pub fn bounds(&self) -> Bounds {
        Bounds {
            initial: self
                .initial_timeout
                .clamp(self.min_timeout, self.max_timeout),
            floor: self.min_timeout,
            ceiling: self.max_timeout,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tls_reserve_reads_zero_and_durations() {
        let read = |text: &str| toml::from_str::<PortsConfig>(text).map(|c| c.reserve_for_tls);
        assert_eq!(read(""), Ok(Duration::from_secs(3)));
        assert_eq!(read("reserve-for-tls = \"0s\""), Ok(Duration::ZERO));
        assert_eq!(read("reserve-for-tls = \"0\""), Ok(Duration::ZERO));
        assert_eq!(
            read("reserve-for-tls = \"1500ms\""),
            Ok(Duration::from_millis(1500))
        );
        let bad = read("reserve-for-tls = \"soon\"").expect_err("not a duration");
        assert!(bad.to_string().contains("not a duration"), "{bad}");
        let zero = PortsConfig {
            reserve_for_tls: Duration::ZERO,
            ..PortsConfig::default()
        };
        let text = toml::to_string(&zero).expect("serialises");
        assert!(text.contains("reserve-for-tls = \"0s\""), "{text}");
        assert_eq!(toml::from_str::<PortsConfig>(&text), Ok(zero));
    }
}
