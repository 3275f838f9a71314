//! The traceroute collector's settings: its `[collectors.traceroute]` table.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use sonde_net::{AddressChoice, Rung};

/// Largest TTL a probe may carry.
pub const MAX_TTL: u8 = 64;
/// Most probes per hop.
pub const MAX_PROBES: u8 = 10;

/// What the probes are.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ProbeMethod {
    /// ICMP echo requests (as mtr and trippy do by default).
    #[default]
    Icmp,
    /// UDP datagrams to a high port, Paris style: one flow for every probe.
    Udp,
    /// TCP SYNs to `port`.
    Tcp,
}

impl ProbeMethod {
    /// Lower-case name, as in the JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ProbeMethod::Icmp => "icmp",
            ProbeMethod::Udp => "udp",
            ProbeMethod::Tcp => "tcp",
        }
    }
}

/// Which rung of the privilege ladder traceroute may use at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Privilege {
    /// The best the process may do.
    #[default]
    Auto,
    /// No raw socket, the ICMP datagram socket at most.
    Datagram,
    /// Ordinary UDP and TCP sockets only.
    Unprivileged,
}

impl Privilege {
    /// The highest rung this choice allows.
    pub fn ceiling(self) -> Rung {
        match self {
            Privilege::Auto => Rung::Raw,
            Privilege::Datagram => Rung::Datagram,
            Privilege::Unprivileged => Rung::Unprivileged,
        }
    }
}

/// Settings of the traceroute collector.
///
/// ```toml
/// [collectors.traceroute]
/// method = "icmp"            # or "udp" (Paris), "tcp"
/// port = 33434               # UDP destination port; TCP uses tcp-port
/// tcp-port = 80
/// max-hops = 30
/// first-hop = 1
/// probes = 3                 # per hop
/// wait = "1s"                # how long each probe waits for its answer
/// round-gap = "50ms"         # most time between two rounds of probes
/// near-factor = 10           # lost after 10x the RTT of a farther hop's answer (0: off)
/// addresses = "first-per-family"
/// privilege = "auto"         # or "datagram", "unprivileged": use at most this rung
/// ptr = true
/// ptr-timeout = "1s"
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct TracerouteConfig {
    /// What the probes are.
    pub method: ProbeMethod,
    /// UDP destination port (fixed: part of the Paris flow).
    pub port: u16,
    /// TCP destination port.
    pub tcp_port: u16,
    /// Highest TTL probed.
    pub max_hops: u8,
    /// Lowest TTL probed.
    pub first_hop: u8,
    /// Probes per hop.
    pub probes: u8,
    /// How long each probe waits for its answer.
    #[serde(with = "sonde_core::duration::serde_human")]
    pub wait: Duration,
    /// Most time between two rounds (a round goes out as soon as the
    /// previous one is answered).
    #[serde(with = "sonde_core::duration::serde_human")]
    pub round_gap: Duration,
    /// A probe without answer is lost after this many times the slowest
    /// answer to a higher TTL of its round, instead of after `wait` (as
    /// traceroute's `-w MAX,HERE,NEAR`, whose NEAR is 10); 0 always waits.
    pub near_factor: u32,
    /// Every address dns found, or the first of each family.
    pub addresses: AddressChoice,
    /// The highest rung of the privilege ladder to use.
    pub privilege: Privilege,
    /// Whether to look up the reverse name of each hop.
    pub ptr: bool,
    /// How long reverse lookups may take after the trace.
    #[serde(with = "sonde_core::duration::serde_human")]
    pub ptr_timeout: Duration,
}

impl Default for TracerouteConfig {
    fn default() -> Self {
        TracerouteConfig {
            method: ProbeMethod::Icmp,
            port: 33434,
            tcp_port: 80,
            max_hops: 30,
            first_hop: 1,
            probes: 3,
            wait: Duration::from_secs(1),
            round_gap: Duration::from_millis(50),
            near_factor: 10,
            addresses: AddressChoice::FirstPerFamily,
            privilege: Privilege::Auto,
            ptr: true,
            ptr_timeout: Duration::from_secs(1),
        }
    }
}

impl TracerouteConfig {
    /// Checks ranges; the message names the key.
    pub fn check(&self) -> Result<(), String> {
        if self.max_hops == 0 || self.max_hops > MAX_TTL {
            return Err(format!(
                "max-hops = {} is out of range: 1 to {MAX_TTL}",
                self.max_hops
            ));
        }
        if self.first_hop == 0 || self.first_hop > self.max_hops {
            return Err(format!(
                "first-hop = {} is out of range: 1 to max-hops ({})",
                self.first_hop, self.max_hops
            ));
        }
        if self.probes == 0 || self.probes > MAX_PROBES {
            return Err(format!(
                "probes = {} is out of range: 1 to {MAX_PROBES}",
                self.probes
            ));
        }
        if self.wait.is_zero() {
            return Err("wait must be above 0".into());
        }
        if self.port == 0 || self.tcp_port == 0 {
            return Err("port and tcp-port must not be 0".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_read_and_are_checked() {
        let c: TracerouteConfig =
            toml::from_str("method = \"udp\"\nmax-hops = 8\nwait = \"300ms\"").unwrap();
        assert_eq!((c.method, c.max_hops), (ProbeMethod::Udp, 8));
        assert!(c.check().is_ok());
        let bad = TracerouteConfig {
            first_hop: 9,
            max_hops: 8,
            ..TracerouteConfig::default()
        };
        assert!(bad.check().unwrap_err().starts_with("first-hop = 9"));
        assert!(toml::from_str::<TracerouteConfig>("hops = 3").is_err());
    }
}
