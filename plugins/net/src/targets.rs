//! Which of the target's addresses a path collector probes.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// The `addresses` setting of ping and traceroute.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum AddressChoice {
    /// Every address dns found.
    #[default]
    All,
    /// The first IPv4 and the first IPv6 address.
    FirstPerFamily,
}

impl AddressChoice {
    /// The addresses to probe, in dns's order, without repeats.
    pub fn pick(self, addresses: &[IpAddr]) -> Vec<IpAddr> {
        let mut picked: Vec<IpAddr> = Vec::new();
        for &ip in addresses {
            if picked.contains(&ip) {
                continue;
            }
            let same_family = picked.iter().any(|p| p.is_ipv4() == ip.is_ipv4());
            if self == AddressChoice::FirstPerFamily && same_family {
                continue;
            }
            picked.push(ip);
        }
        picked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_per_family_keeps_one_of_each() {
        let addrs: Vec<IpAddr> = [
            "192.0.2.1",
            "192.0.2.2",
            "2001:db8::1",
            "2001:db8::2",
            "192.0.2.1",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        assert_eq!(AddressChoice::All.pick(&addrs), addrs[..4]);
        assert_eq!(
            AddressChoice::FirstPerFamily.pick(&addrs),
            [addrs[0], addrs[2]]
        );
    }
}
