//! Team Cymru's IP-to-ASN DNS interface, as the lab serves it: `origin` and `origin6` TXT
//! records for every lab address and `AS<n>` TXT records with the AS names, in Cymru's
//! pipe-separated format, under a base name (`asn.cymru.com.` as the real service, and
//! `asn.sonde.test.` to prove the names are configurable).
//!
//! The lab's "routing table" is [`ORIGINS`]: every prefix that covers an address gives one TXT
//! record, so an address inside two announced prefixes has two origins, as with the real
//! service. One address ([`MALFORMED_ORIGIN_IP`]) answers a TXT that is not in Cymru's format.

use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;

use super::{RecordData, ZoneRecord, TTL};
use crate::topology::{addr, Topology};

/// The base name of the real service, which the lab also serves.
pub const CYMRU_ZONE: &str = "asn.cymru.com.";
/// The same data under the lab's own zone, for settings that rename the zones.
pub const LAB_CYMRU_ZONE: &str = "asn.sonde.test.";

/// One announced prefix of the lab's routing table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabOrigin {
    /// The prefix, e.g. `203.0.113.0/24`.
    pub prefix: &'static str,
    /// Its origin AS numbers (more than one: announced by several ASes).
    pub asns: &'static [u32],
    /// ISO 3166 country code of the registration.
    pub country: &'static str,
    /// The registry (`ripencc`, `arin`...).
    pub registry: &'static str,
    /// Allocation date, `YYYY-MM-DD`.
    pub allocated: &'static str,
}

/// The lab's routing table. `203.0.113.0/28` (the target's network) sits inside the /24 and is
/// announced by two ASes, so the target's IPv4 address has three origins.
pub const ORIGINS: [LabOrigin; 4] = [
    LabOrigin {
        prefix: "203.0.113.0/24",
        asns: &[64500],
        country: "NL",
        registry: "ripencc",
        allocated: "2010-07-14",
    },
    LabOrigin {
        prefix: "203.0.113.0/28",
        asns: &[64501, 64502],
        country: "NL",
        registry: "ripencc",
        allocated: "2019-03-01",
    },
    LabOrigin {
        prefix: "198.51.100.0/24",
        asns: &[64510],
        country: "US",
        registry: "arin",
        allocated: "2005-02-01",
    },
    LabOrigin {
        prefix: "2001:db8::/32",
        asns: &[64520],
        country: "DE",
        registry: "ripencc",
        allocated: "2012-05-05",
    },
];

/// One AS with its name record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabAs {
    /// The AS number.
    pub asn: u32,
    /// Country code of the registration.
    pub country: &'static str,
    /// The registry.
    pub registry: &'static str,
    /// Allocation date.
    pub allocated: &'static str,
    /// The name as Cymru gives it (`HANDLE - Organisation, CC`).
    pub name: &'static str,
}

/// The AS name records. AS64502 has none on purpose: its name lookup is NXDOMAIN.
pub const AS_NAMES: [LabAs; 4] = [
    LabAs {
        asn: 64500,
        country: "NL",
        registry: "ripencc",
        allocated: "2010-07-14",
        name: "SONDE-TRANSIT - Sonde Lab Transit B.V., NL",
    },
    LabAs {
        asn: 64501,
        country: "NL",
        registry: "ripencc",
        allocated: "2019-03-01",
        name: "SONDE-HOSTING - Sonde Lab Hosting B.V., NL",
    },
    LabAs {
        asn: 64510,
        country: "US",
        registry: "arin",
        allocated: "2005-02-01",
        name: "SONDE-ACCESS - Sonde Lab Access Inc., US",
    },
    LabAs {
        asn: 64520,
        country: "DE",
        registry: "ripencc",
        allocated: "2012-05-05",
        name: "SONDE-V6 - Sonde Lab IPv6 GmbH, DE",
    },
];

/// The address whose `origin` TXT is not in Cymru's format (the DNS host's IPv4 address; its
/// IPv6 address answers normally).
pub const MALFORMED_ORIGIN_IP: Ipv4Addr = addr::DNS_V4;
/// The TXT [`MALFORMED_ORIGIN_IP`] answers.
pub const MALFORMED_ORIGIN_TXT: &str = "origin lookups are closed for maintenance";

/// The announced prefixes covering `ip`, most specific first.
pub fn origins_of(ip: IpAddr) -> Vec<&'static LabOrigin> {
    let mut found: Vec<(u8, &LabOrigin)> = ORIGINS
        .iter()
        .filter_map(|o| {
            let net: IpNet = o.prefix.parse().ok()?;
            net.contains(&ip).then_some((net.prefix_len(), o))
        })
        .collect();
    found.sort_by_key(|f| std::cmp::Reverse(f.0));
    found.into_iter().map(|(_, o)| o).collect()
}

/// The AS name record of `asn`, if the lab has one.
pub fn as_name(asn: u32) -> Option<&'static LabAs> {
    AS_NAMES.iter().find(|a| a.asn == asn)
}

/// The `origin` TXT of a prefix: `64500 | 203.0.113.0/24 | NL | ripencc | 2010-07-14`.
pub fn origin_txt(o: &LabOrigin) -> String {
    let asns: Vec<String> = o.asns.iter().map(u32::to_string).collect();
    format!(
        "{} | {} | {} | {} | {}",
        asns.join(" "),
        o.prefix,
        o.country,
        o.registry,
        o.allocated
    )
}

/// The AS TXT: `64500 | NL | ripencc | 2010-07-14 | SONDE-TRANSIT - ...`.
pub fn as_txt(a: &LabAs) -> String {
    format!(
        "{} | {} | {} | {} | {}",
        a.asn, a.country, a.registry, a.allocated, a.name
    )
}

/// The name asked for the origins of `ip` under `base`: `10.113.0.203.origin.<base>`, or the
/// 32 reversed nibbles and `origin6.<base>` for IPv6.
pub fn origin_name(ip: IpAddr, base: &str) -> String {
    let reversed = super::reverse_name(ip);
    match ip {
        IpAddr::V4(_) => format!(
            "{}origin.{base}",
            reversed.trim_end_matches("in-addr.arpa.")
        ),
        IpAddr::V6(_) => format!("{}origin6.{base}", reversed.trim_end_matches("ip6.arpa.")),
    }
}

/// Every Cymru record for the addresses of `topology`, under `base`.
pub fn records(topology: &Topology, base: &str) -> Vec<ZoneRecord> {
    let record = |name: String, text: String| ZoneRecord {
        name,
        ttl: TTL,
        data: RecordData::Txt(vec![text]),
    };
    let mut out = Vec::new();
    for (ip, _) in topology.addresses() {
        let name = origin_name(ip, base);
        if ip == IpAddr::V4(MALFORMED_ORIGIN_IP) {
            out.push(record(name, MALFORMED_ORIGIN_TXT.into()));
            continue;
        }
        for o in origins_of(ip) {
            out.push(record(name.clone(), origin_txt(o)));
        }
    }
    for a in &AS_NAMES {
        out.push(record(format!("as{}.{base}", a.asn), as_txt(a)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_texts_in_cymru_form() {
        assert_eq!(
            origin_name(IpAddr::V4(addr::TARGET_V4), CYMRU_ZONE),
            "10.113.0.203.origin.asn.cymru.com."
        );
        assert_eq!(
            origin_name(IpAddr::V6(addr::TARGET_V6), CYMRU_ZONE),
            "0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.3.1.1.0.8.b.d.0.1.0.0.2.origin6.asn.cymru.com."
        );
        let target = origins_of(IpAddr::V4(addr::TARGET_V4));
        assert_eq!(
            target.iter().map(|o| o.prefix).collect::<Vec<_>>(),
            ["203.0.113.0/28", "203.0.113.0/24"]
        );
        assert_eq!(
            origin_txt(target[0]),
            "64501 64502 | 203.0.113.0/28 | NL | ripencc | 2019-03-01"
        );
        assert!(as_name(64502).is_none());
    }

    #[test]
    fn every_lab_address_has_origins_and_every_origin_has_a_name_or_is_64502() {
        let topology = Topology::standard();
        for (ip, role) in topology.addresses() {
            assert!(!origins_of(ip).is_empty(), "{role:?} {ip}");
        }
        let records = records(&topology, LAB_CYMRU_ZONE);
        assert!(records
            .iter()
            .any(|r| r.data == RecordData::Txt(vec![MALFORMED_ORIGIN_TXT.into()])));
        for o in ORIGINS {
            for asn in o.asns {
                assert!(as_name(*asn).is_some() || *asn == 64502, "{asn}");
            }
        }
    }
}
