//! What can be asked of the registries: a domain, an address, an AS number.

use std::fmt;
use std::net::IpAddr;

use crate::output::QueryKind;

/// One question for the registries.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Query {
    /// A registrable domain, lower case, without the final dot (see [`registrable_domain`]).
    Domain(String),
    /// An address: the network holding it is looked up.
    Ip(IpAddr),
    /// An autonomous system number.
    Asn(u32),
}

impl Query {
    /// What kind of question it is.
    pub fn kind(&self) -> QueryKind {
        match self {
            Query::Domain(_) => QueryKind::Domain,
            Query::Ip(IpAddr::V4(_)) => QueryKind::Ipv4,
            Query::Ip(IpAddr::V6(_)) => QueryKind::Ipv6,
            Query::Asn(_) => QueryKind::Asn,
        }
    }
}

/// `sonde.test`, `203.0.113.10`, `AS64500`.
impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Query::Domain(d) => f.write_str(d),
            Query::Ip(ip) => write!(f, "{ip}"),
            Query::Asn(n) => write!(f, "AS{n}"),
        }
    }
}

/// Why a name has no registrable domain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// The name is a public suffix itself (`co.uk`, `com`).
    #[error("{0} is a public suffix: nobody registers it under a registrar")]
    PublicSuffix(String),
    /// The name is not a DNS name.
    #[error("{0} is not a domain name")]
    NotAName(String),
}

/// The part of `name` that was registered: the public suffix (from the Public Suffix List
/// compiled into sonde) plus one label. `www.example.co.uk` gives `example.co.uk`.
///
/// A top-level domain the list does not know is a one-label suffix, as browsers treat it,
/// so `target.sonde.test` gives `sonde.test`.
pub fn registrable_domain(name: &str) -> Result<String, DomainError> {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    let valid = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if !valid || name.parse::<IpAddr>().is_ok() {
        return Err(DomainError::NotAName(name));
    }
    match psl::domain_str(&name) {
        Some(domain) => Ok(domain.to_string()),
        None => Err(DomainError::PublicSuffix(name)),
    }
}

/// Why no registry is asked about `name`, when none is: names that RFC 6761, 6762 and 7686
/// keep out of the public DNS (`localhost`, `.local`, `.invalid`, `.onion`, `.arpa`) and
/// single labels. Documentation names (`.test`, `.example`) are asked, like documentation
/// addresses: registries and labs serve them.
pub fn special_name(name: &str) -> Option<String> {
    let n = name.trim_end_matches('.').to_ascii_lowercase();
    let tld = n.rsplit('.').next().unwrap_or_default();
    let why = match tld {
        "localhost" => "a loopback name (RFC 6761)",
        "local" => "a multicast DNS name (RFC 6762)",
        "invalid" => "a name that never exists (RFC 6761)",
        "onion" => "a Tor onion name (RFC 7686)",
        "arpa" => "an infrastructure name (.arpa)",
        _ if !n.contains('.') => "a single label, not a registered domain",
        _ => return None,
    };
    Some(format!("{n} is {why}"))
}

/// Why no registry is asked about `ip`, when none is: loopback, link-local, multicast,
/// private-use (RFC 1918, RFC 4193) and shared (RFC 6598) addresses belong to every network
/// at once. Documentation ranges are asked: registries publish them.
pub fn special_address(ip: IpAddr) -> Option<String> {
    let why = match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            if v4.is_loopback() {
                "loopback"
            } else if v4.is_unspecified() || v4.is_broadcast() {
                "not a host address"
            } else if v4.is_private() {
                "private-use (RFC 1918)"
            } else if v4.is_link_local() {
                "link-local"
            } else if v4.is_multicast() {
                "multicast"
            } else if a == 100 && (64..128).contains(&b) {
                "shared address space (RFC 6598)"
            } else {
                return None;
            }
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            if v6.is_loopback() {
                "loopback"
            } else if v6.is_unspecified() {
                "not a host address"
            } else if first & 0xfe00 == 0xfc00 {
                "unique local (RFC 4193)"
            } else if first & 0xffc0 == 0xfe80 {
                "link-local"
            } else if v6.is_multicast() {
                "multicast"
            } else if let Some(v4) = v6.to_ipv4_mapped() {
                return special_address(IpAddr::V4(v4));
            } else {
                return None;
            }
        }
    };
    Some(format!("{ip} is {why}"))
}

/// Reads `AS64500`, `as64500` or `64500`.
pub fn parse_asn(text: &str) -> Option<u32> {
    let t = text.trim();
    let digits = t
        .strip_prefix("AS")
        .or_else(|| t.strip_prefix("as"))
        .unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registrable_domains() {
        for (name, want) in [
            ("target.sonde.test.", Ok("sonde.test")),
            ("sonde.test", Ok("sonde.test")),
            ("WWW.Example.COM", Ok("example.com")),
            ("a.b.example.co.uk", Ok("example.co.uk")),
            ("foo.github.io", Ok("foo.github.io")),
            ("deep.name.unknowntld", Ok("name.unknowntld")),
            ("xn--mnchen-3ya.de", Ok("xn--mnchen-3ya.de")),
        ] {
            assert_eq!(
                registrable_domain(name).as_deref().map_err(|_| ()),
                want.map_err(|_: ()| ()),
                "{name}"
            );
        }
        assert_eq!(
            registrable_domain("co.uk"),
            Err(DomainError::PublicSuffix("co.uk".into()))
        );
        assert_eq!(
            registrable_domain("com"),
            Err(DomainError::PublicSuffix("com".into()))
        );
        for bad in ["", ".", "a..b", "203.0.113.10", "sp ace.test", "é.test"] {
            assert!(
                matches!(registrable_domain(bad), Err(DomainError::NotAName(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn special_names_and_addresses() {
        for name in [
            "localhost",
            "a.localhost.",
            "printer.local",
            "x.invalid",
            "abc.onion",
            "10.in-addr.arpa",
            "intranet",
        ] {
            assert!(special_name(name).is_some(), "{name}");
        }
        for name in ["sonde.test", "example.com", "www.example"] {
            assert_eq!(special_name(name), None, "{name}");
        }
        for ip in [
            "127.0.0.1",
            "::1",
            "10.1.2.3",
            "192.168.0.1",
            "172.16.0.1",
            "169.254.1.1",
            "100.64.0.1",
            "fd00::1",
            "fe80::1",
            "224.0.0.1",
            "ff02::1",
            "0.0.0.0",
            "::ffff:10.0.0.1",
        ] {
            assert!(special_address(ip.parse().unwrap()).is_some(), "{ip}");
        }
        for ip in [
            "203.0.113.10",
            "198.51.100.10",
            "2001:db8::1",
            "8.8.8.8",
            "100.128.0.1",
        ] {
            assert_eq!(special_address(ip.parse().unwrap()), None, "{ip}");
        }
    }

    #[test]
    fn asns_and_display() {
        assert_eq!(parse_asn("AS64500"), Some(64500));
        assert_eq!(parse_asn("as1"), Some(1));
        assert_eq!(parse_asn("4200000000"), Some(4_200_000_000));
        for bad in ["", "AS", "AS-1", "ASx", "99999999999", "AS 5"] {
            assert_eq!(parse_asn(bad), None, "{bad}");
        }
        assert_eq!(Query::Asn(64500).to_string(), "AS64500");
        assert_eq!(
            Query::Ip("2001:db8::1".parse().unwrap()).kind(),
            QueryKind::Ipv6
        );
    }
}
