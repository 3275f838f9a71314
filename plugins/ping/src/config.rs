//! The ping collector's settings: its `[collectors.ping]` table.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use sonde_net::{AddressChoice, Rung};

/// The smallest interval a process without raw sockets may ask for, as
/// iputils ping enforces for users ("minimal interval allowed for user is
/// 2ms").
pub const MIN_USER_INTERVAL: Duration = Duration::from_millis(2);
/// Most probes per address.
pub const MAX_COUNT: u32 = 10_000;
/// Largest payload: what fits in an IPv4 datagram after the headers.
pub const MAX_SIZE: usize = 65_507;

/// Which rung of the privilege ladder ping may use at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MethodChoice {
    /// The best the process may do: raw ICMP, else datagram ICMP, else TCP.
    #[default]
    Auto,
    /// ICMP datagram socket at most (raw sockets are not used).
    Datagram,
    /// TCP connect timing only.
    Tcp,
}

impl MethodChoice {
    /// The highest rung this choice allows.
    pub fn ceiling(self) -> Rung {
        match self {
            MethodChoice::Auto => Rung::Raw,
            MethodChoice::Datagram => Rung::Datagram,
            MethodChoice::Tcp => Rung::Unprivileged,
        }
    }
}

/// Settings of the ping collector.
///
/// ```toml
/// [collectors.ping]
/// count = 4
/// interval = "200ms"
/// wait = "1s"              # per probe (`timeout` is the whole collector's)
/// size = 56
/// addresses = "all"          # or "first-per-family"
/// method = "auto"            # or "datagram", "tcp": use at most this rung
/// tcp-ports = [443, 80]      # tried in order when ICMP is not allowed
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct PingConfig {
    /// Probes per address.
    pub count: u32,
    /// Time between two probes to the same address.
    #[serde(with = "sonde_core::duration::serde_human")]
    pub interval: Duration,
    /// How long a probe waits for its reply (ping's `-W`). The table's
    /// `timeout` key is the engine's: the whole collector's limit.
    #[serde(with = "sonde_core::duration::serde_human")]
    pub wait: Duration,
    /// Payload bytes after the 8-byte ICMP header (ping's `-s`).
    pub size: usize,
    /// Every address dns found, or the first of each family.
    pub addresses: AddressChoice,
    /// The highest rung of the privilege ladder to use.
    pub method: MethodChoice,
    /// Ports for TCP connect timing, tried in order until one answers.
    pub tcp_ports: Vec<u16>,
}

impl Default for PingConfig {
    fn default() -> Self {
        PingConfig {
            count: 4,
            interval: Duration::from_millis(200),
            wait: Duration::from_secs(1),
            size: 56,
            addresses: AddressChoice::All,
            method: MethodChoice::Auto,
            tcp_ports: vec![443, 80],
        }
    }
}

impl PingConfig {
    /// Checks ranges; the message names the key.
    pub fn check(&self) -> Result<(), String> {
        if self.count == 0 || self.count > MAX_COUNT {
            return Err(format!(
                "count = {} is out of range: 1 to {MAX_COUNT}",
                self.count
            ));
        }
        if self.interval.is_zero() {
            return Err("interval must be above 0 (the minimum without root is 2ms)".into());
        }
        if self.wait.is_zero() {
            return Err("wait must be above 0".into());
        }
        if self.size > MAX_SIZE {
            return Err(format!(
                "size = {} is out of range: 0 to {MAX_SIZE}",
                self.size
            ));
        }
        if self.tcp_ports.is_empty() || self.tcp_ports.contains(&0) {
            return Err("tcp-ports needs at least one port, none of them 0".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_pings() {
        let c = PingConfig::default();
        assert_eq!((c.count, c.size), (4, 56));
        assert_eq!(c.interval, Duration::from_millis(200));
        assert!(c.check().is_ok());
    }

    #[test]
    fn settings_read_from_toml_and_are_checked() {
        let c: PingConfig = toml::from_str(
            "count = 2\ninterval = \"10ms\"\naddresses = \"first-per-family\"\nmethod = \"tcp\"",
        )
        .unwrap();
        assert_eq!(c.count, 2);
        assert_eq!(c.addresses, AddressChoice::FirstPerFamily);
        assert_eq!(c.method.ceiling(), Rung::Unprivileged);
        let bad = PingConfig {
            count: 0,
            ..PingConfig::default()
        };
        assert!(bad.check().unwrap_err().starts_with("count = 0"));
        assert!(toml::from_str::<PingConfig>("cont = 3").is_err());
    }
}
