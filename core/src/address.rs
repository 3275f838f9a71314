//! Which special-purpose range an address belongs to (RFC 6890 and its
//! registries): private, loopback, link-local, CGNAT, documentation...
//!
//! Registry collectors (asn, geo, whois) answer such addresses locally
//! instead of asking a service that can only say "not found", and so that
//! an internal address is never sent to a third party. The ranges are data,
//! not network code, which is why they live in the engine crate that every
//! collector already depends on.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

/// A special-purpose address range, by what it is for.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum SpecialRange {
    /// `0.0.0.0/8`, `::`.
    Unspecified,
    /// `127.0.0.0/8`, `::1`.
    Loopback,
    /// RFC 1918: `10/8`, `172.16/12`, `192.168/16`.
    Private,
    /// RFC 6598 shared address space for carrier-grade NAT: `100.64/10`.
    Cgnat,
    /// `169.254/16`, `fe80::/10`.
    LinkLocal,
    /// RFC 5737 and RFC 3849: `192.0.2/24`, `198.51.100/24`, `203.0.113/24`,
    /// `2001:db8::/32`.
    Documentation,
    /// RFC 2544 benchmarking: `198.18/15`, `2001:2::/48`.
    Benchmarking,
    /// RFC 4193 unique local: `fc00::/7`.
    UniqueLocal,
    /// `224/4`, `ff00::/8`.
    Multicast,
    /// Anything else reserved: `192.0.0/24`, `240/4` and the broadcast
    /// address, `100::/64` (discard).
    Reserved,
}

impl SpecialRange {
    /// Every range, in declaration order.
    pub const ALL: [SpecialRange; 10] = [
        SpecialRange::Unspecified,
        SpecialRange::Loopback,
        SpecialRange::Private,
        SpecialRange::Cgnat,
        SpecialRange::LinkLocal,
        SpecialRange::Documentation,
        SpecialRange::Benchmarking,
        SpecialRange::UniqueLocal,
        SpecialRange::Multicast,
        SpecialRange::Reserved,
    ];

    /// The range of `ip`, if it is in one. IPv4-mapped IPv6 addresses
    /// (`::ffff:a.b.c.d`) are classified as their IPv4 address.
    pub fn of(ip: IpAddr) -> Option<SpecialRange> {
        match ip {
            IpAddr::V4(v4) => of_v4(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => of_v4(v4),
                None => of_v6(v6),
            },
        }
    }

    /// The name used in settings and reports, e.g. `link-local`.
    pub fn as_str(self) -> &'static str {
        match self {
            SpecialRange::Unspecified => "unspecified",
            SpecialRange::Loopback => "loopback",
            SpecialRange::Private => "private",
            SpecialRange::Cgnat => "cgnat",
            SpecialRange::LinkLocal => "link-local",
            SpecialRange::Documentation => "documentation",
            SpecialRange::Benchmarking => "benchmarking",
            SpecialRange::UniqueLocal => "unique-local",
            SpecialRange::Multicast => "multicast",
            SpecialRange::Reserved => "reserved",
        }
    }

    /// In words, for a report: "a private address (RFC 1918)".
    pub fn describe(self) -> &'static str {
        match self {
            SpecialRange::Unspecified => "the unspecified address",
            SpecialRange::Loopback => "a loopback address",
            SpecialRange::Private => "a private address (RFC 1918)",
            SpecialRange::Cgnat => "a carrier-grade NAT address (RFC 6598)",
            SpecialRange::LinkLocal => "a link-local address",
            SpecialRange::Documentation => "a documentation address (RFC 5737/3849)",
            SpecialRange::Benchmarking => "a benchmarking address (RFC 2544)",
            SpecialRange::UniqueLocal => "a unique local address (RFC 4193)",
            SpecialRange::Multicast => "a multicast address",
            SpecialRange::Reserved => "a reserved address",
        }
    }
}

impl fmt::Display for SpecialRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn of_v4(ip: Ipv4Addr) -> Option<SpecialRange> {
    let [a, b, c, _] = ip.octets();
    let range = match (a, b, c) {
        (0, _, _) => SpecialRange::Unspecified,
        (127, _, _) => SpecialRange::Loopback,
        (10, _, _) | (192, 168, _) => SpecialRange::Private,
        (172, b, _) if (16..32).contains(&b) => SpecialRange::Private,
        (100, b, _) if (64..128).contains(&b) => SpecialRange::Cgnat,
        (169, 254, _) => SpecialRange::LinkLocal,
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => SpecialRange::Documentation,
        (198, 18 | 19, _) => SpecialRange::Benchmarking,
        (224..=239, _, _) => SpecialRange::Multicast,
        (192, 0, 0) | (240..=255, _, _) => SpecialRange::Reserved,
        _ => return None,
    };
    Some(range)
}

fn of_v6(ip: Ipv6Addr) -> Option<SpecialRange> {
    let s = ip.segments();
    let range = if ip.is_unspecified() {
        SpecialRange::Unspecified
    } else if ip.is_loopback() {
        SpecialRange::Loopback
    } else if s[0] & 0xffc0 == 0xfe80 {
        SpecialRange::LinkLocal
    } else if s[0] == 0x2001 && s[1] == 0x0db8 {
        SpecialRange::Documentation
    } else if s[0] == 0x2001 && s[1] == 0x0002 && s[2] == 0 {
        SpecialRange::Benchmarking
    } else if s[0] & 0xfe00 == 0xfc00 {
        SpecialRange::UniqueLocal
    } else if s[0] & 0xff00 == 0xff00 {
        SpecialRange::Multicast
    } else if s[0] == 0x0100 && s[1..4] == [0, 0, 0] {
        SpecialRange::Reserved
    } else {
        return None;
    };
    Some(range)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_their_edges() {
        let cases = [
            ("0.0.0.0", Some(SpecialRange::Unspecified)),
            ("127.0.0.1", Some(SpecialRange::Loopback)),
            ("10.1.2.3", Some(SpecialRange::Private)),
            ("172.15.255.255", None),
            ("172.16.0.1", Some(SpecialRange::Private)),
            ("172.31.255.255", Some(SpecialRange::Private)),
            ("172.32.0.0", None),
            ("192.168.1.1", Some(SpecialRange::Private)),
            ("100.63.255.255", None),
            ("100.64.0.1", Some(SpecialRange::Cgnat)),
            ("100.127.255.255", Some(SpecialRange::Cgnat)),
            ("100.128.0.0", None),
            ("169.254.1.1", Some(SpecialRange::LinkLocal)),
            ("192.0.2.7", Some(SpecialRange::Documentation)),
            ("198.51.100.10", Some(SpecialRange::Documentation)),
            ("203.0.113.10", Some(SpecialRange::Documentation)),
            ("203.0.114.1", None),
            ("198.18.0.1", Some(SpecialRange::Benchmarking)),
            ("224.0.0.251", Some(SpecialRange::Multicast)),
            ("255.255.255.255", Some(SpecialRange::Reserved)),
            ("8.8.8.8", None),
            ("::", Some(SpecialRange::Unspecified)),
            ("::1", Some(SpecialRange::Loopback)),
            ("fe80::1", Some(SpecialRange::LinkLocal)),
            ("febf::1", Some(SpecialRange::LinkLocal)),
            ("fec0::1", None),
            ("2001:db8:113::10", Some(SpecialRange::Documentation)),
            ("2001:db9::1", None),
            ("fd12:3456::1", Some(SpecialRange::UniqueLocal)),
            ("ff02::1", Some(SpecialRange::Multicast)),
            ("100::1", Some(SpecialRange::Reserved)),
            ("::ffff:10.0.0.1", Some(SpecialRange::Private)),
            ("::ffff:8.8.8.8", None),
            ("2606:4700::1111", None),
        ];
        for (text, want) in cases {
            let ip: IpAddr = text.parse().expect("test address");
            assert_eq!(SpecialRange::of(ip), want, "{text}");
        }
    }

    #[test]
    fn names_round_trip_through_serde() {
        for range in SpecialRange::ALL {
            let json = serde_json::to_string(&range).expect("serialises");
            assert_eq!(json, format!("\"{}\"", range.as_str()));
            let back: SpecialRange = serde_json::from_str(&json).expect("parses");
            assert_eq!(back, range);
        }
    }
}
