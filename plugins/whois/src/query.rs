//! What can be asked of the registries: a domain, an address, an AS number.

use std::fmt;
use std::net::IpAddr;

use sonde_core::SpecialRange;

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

/// Why no registry is asked about `ip`, when none is: it is in one of the special-purpose
/// ranges of `local` (see [`SpecialRange`]; private, loopback, link-local, CGNAT,
/// documentation, benchmarking, reserved...), which belong to every network at once or to
/// none, and which are not sent to a registry. A lab takes `documentation` out of `local`
/// to have its addresses looked up.
pub fn special_address(ip: IpAddr, local: &[SpecialRange]) -> Option<String> {
    let range = SpecialRange::of(ip).filter(|r| local.contains(r))?;
    Some(format!("{ip} is {}", range.describe()))
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
        let all = SpecialRange::ALL;
        for (ip, why) in [
            ("127.0.0.1", "a loopback address"),
            ("::1", "a loopback address"),
            ("10.1.2.3", "a private address (RFC 1918)"),
            ("192.168.0.1", "a private address (RFC 1918)"),
            ("172.16.0.1", "a private address (RFC 1918)"),
            ("169.254.1.1", "a link-local address"),
            ("100.64.0.1", "a carrier-grade NAT address (RFC 6598)"),
            ("fd00::1", "a unique local address (RFC 4193)"),
            ("fe80::1", "a link-local address"),
            ("224.0.0.1", "a multicast address"),
            ("ff02::1", "a multicast address"),
            ("0.0.0.0", "the unspecified address"),
            ("::ffff:10.0.0.1", "a private address (RFC 1918)"),
            ("192.0.2.1", "a documentation address (RFC 5737/3849)"),
            ("2001:db8::1", "a documentation address (RFC 5737/3849)"),
            ("198.18.0.1", "a benchmarking address (RFC 2544)"),
            ("240.0.0.1", "a reserved address"),
            ("192.0.0.8", "a reserved address"),
        ] {
            assert_eq!(
                special_address(ip.parse().unwrap(), &all),
                Some(format!("{ip} is {why}")),
                "{ip}"
            );
        }
        for ip in ["8.8.8.8", "100.128.0.1", "2606:4700::1111"] {
            assert_eq!(special_address(ip.parse().unwrap(), &all), None, "{ip}");
        }
        // A lab's profile leaves documentation out: its addresses are looked up.
        let lab = [SpecialRange::Private, SpecialRange::Loopback];
        for ip in ["203.0.113.10", "198.51.100.10", "2001:db8::1"] {
            assert_eq!(special_address(ip.parse().unwrap(), &lab), None, "{ip}");
        }
        assert!(special_address("10.0.0.1".parse().unwrap(), &lab).is_some());
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
