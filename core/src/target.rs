//! What the user asked about: a hostname, an IP address, or a URL's host.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Longest DNS label, in octets (RFC 1035 §2.3.4).
const MAX_LABEL: usize = 63;
/// Longest DNS name in presentation form without the final dot.
const MAX_NAME: usize = 253;

/// The host part of a target.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Host {
    /// A DNS name in ASCII (internationalised names are converted to punycode),
    /// lower case, without the trailing dot.
    Name(String),
    /// An IPv4 address.
    Ipv4(Ipv4Addr),
    /// An IPv6 address.
    Ipv6(Ipv6Addr),
}

impl Host {
    /// The address when the host is one.
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Host::Name(_) => None,
            Host::Ipv4(a) => Some(IpAddr::V4(*a)),
            Host::Ipv6(a) => Some(IpAddr::V6(*a)),
        }
    }

    /// The name when the host is one.
    pub fn name(&self) -> Option<&str> {
        match self {
            Host::Name(n) => Some(n),
            _ => None,
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Name(n) => f.write_str(n),
            Host::Ipv4(a) => a.fmt(f),
            Host::Ipv6(a) => a.fmt(f),
        }
    }
}

/// A parsed and validated target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Target {
    /// Exactly what the user typed.
    pub input: String,
    /// The host to inspect.
    pub host: Host,
    /// The URL scheme, when the target was a URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    /// The URL's explicit port, when the target was a URL that named one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}

/// Why a target was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// Nothing was given.
    #[error("the target is empty")]
    Empty,
    /// White space inside the target.
    #[error("the target contains white space")]
    Whitespace,
    /// One label is longer than DNS allows.
    #[error("label `{label}` is {len} characters long; a DNS label holds at most 63")]
    LabelTooLong {
        /// The label as typed (ASCII form).
        label: String,
        /// Its length in characters.
        len: usize,
    },
    /// The whole name is longer than DNS allows.
    #[error("the name is {len} characters long; a DNS name holds at most 253")]
    NameTooLong {
        /// The name's length.
        len: usize,
    },
    /// Two dots in a row, or a leading dot.
    #[error("the name has an empty label (two dots in a row or a leading dot)")]
    EmptyLabel,
    /// A character that cannot appear in a host name.
    #[error("character {ch:?} is not allowed in a host name")]
    BadCharacter {
        /// The offending character.
        ch: char,
    },
    /// A label starts or ends with a hyphen.
    #[error("label `{label}` starts or ends with a hyphen")]
    HyphenEdge {
        /// The offending label.
        label: String,
    },
    /// Looks like a dotted IPv4 address but is not one.
    #[error("`{0}` looks like an IPv4 address but is not a valid one")]
    BadIpv4(String),
    /// Looks like an IPv6 address (colons, or brackets) but is not one.
    #[error("`{0}` is not a valid IPv6 address")]
    BadIpv6(String),
    /// An IPv6 address with a zone index (`fe80::1%eth0`).
    #[error("`{addr}%{zone}` names a network interface (zone `{zone}`), which sonde does not take; give the address `{addr}` alone")]
    ZoneIndex {
        /// The address without the zone.
        addr: String,
        /// The zone after `%`.
        zone: String,
    },
    /// A `host:` with nothing after the colon.
    #[error("`{host}:` ends with a colon but no port; give the host alone")]
    EmptyPort {
        /// The host part.
        host: String,
    },
    /// A `host:port` outside a URL.
    #[error("a port is only accepted inside a URL (for example https://{host}:{port}/); give the host alone or a full URL")]
    PortNotAllowed {
        /// The host part.
        host: String,
        /// The port part.
        port: String,
    },
    /// The internationalised name cannot be converted.
    #[error("`{0}` is not a valid internationalised domain name")]
    BadIdn(String),
    /// A URL that does not parse.
    #[error("not a valid URL: {0}")]
    BadUrl(String),
    /// A URL without a host.
    #[error("the URL has no host")]
    NoHost,
}

impl FromStr for Target {
    type Err = TargetError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        Target::parse(input)
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.host.fmt(f)
    }
}

impl Target {
    /// Parses what the user typed.
    pub fn parse(input: &str) -> Result<Self, TargetError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(TargetError::Empty);
        }
        if trimmed.chars().any(char::is_whitespace) {
            return Err(TargetError::Whitespace);
        }
        if trimmed.contains("://") {
            return Self::parse_url(input, trimmed);
        }
        Ok(Target {
            input: input.to_string(),
            host: parse_host(trimmed)?,
            scheme: None,
            port: None,
        })
    }

    fn parse_url(input: &str, trimmed: &str) -> Result<Self, TargetError> {
        let url = url::Url::parse(trimmed).map_err(|e| TargetError::BadUrl(e.to_string()))?;
        let host = match url.host() {
            None => return Err(TargetError::NoHost),
            Some(url::Host::Ipv4(a)) => {
                // The URL standard reads `1.2.3` as 1.2.0.3 and `0x7f000001`
                // as 127.0.0.1; a bare target refuses those forms, so a URL
                // does too: only the dotted quad means an address.
                let raw = raw_url_host(trimmed);
                match raw.strip_suffix('.').unwrap_or(raw).parse::<Ipv4Addr>() {
                    Ok(typed) if typed == a => Host::Ipv4(a),
                    _ => return Err(TargetError::BadIpv4(raw.to_string())),
                }
            }
            Some(url::Host::Ipv6(a)) => Host::Ipv6(a),
            Some(url::Host::Domain("")) => return Err(TargetError::NoHost),
            Some(url::Host::Domain(d)) => parse_host(d)?,
        };
        Ok(Target {
            input: input.to_string(),
            host,
            scheme: Some(url.scheme().to_string()),
            port: url.port(),
        })
    }

    /// The name to query, when the target is a name.
    pub fn name(&self) -> Option<&str> {
        self.host.name()
    }

    /// The address, when the target is one.
    pub fn ip(&self) -> Option<IpAddr> {
        self.host.ip()
    }
}

/// The host of a URL exactly as written: after `scheme://` and any
/// `user@`, before the port, path, query or fragment.
fn raw_url_host(url: &str) -> &str {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = after_scheme
        .split(['/', '?', '#', '\\'])
        .next()
        .unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    host_port.split(':').next().unwrap_or_default()
}

/// Parses a bare host: an IPv4 address, an IPv6 address with or without
/// brackets, or a DNS name.
fn parse_host(s: &str) -> Result<Host, TargetError> {
    if let Some(inner) = s.strip_prefix('[') {
        let Some((addr, rest)) = inner.split_once(']') else {
            return Err(TargetError::BadIpv6(s.to_string()));
        };
        let ip = Ipv6Addr::from_str(addr).map_err(|_| TargetError::BadIpv6(s.to_string()))?;
        return match rest.strip_prefix(':') {
            None if rest.is_empty() => Ok(Host::Ipv6(ip)),
            Some("") => Err(TargetError::EmptyPort {
                host: format!("[{addr}]"),
            }),
            Some(port) => Err(TargetError::PortNotAllowed {
                host: format!("[{addr}]"),
                port: port.to_string(),
            }),
            None => Err(TargetError::BadIpv6(s.to_string())),
        };
    }
    if let Ok(ip) = IpAddr::from_str(s) {
        return Ok(match ip {
            IpAddr::V4(a) => Host::Ipv4(a),
            IpAddr::V6(a) => Host::Ipv6(a),
        });
    }
    if let Some((addr, zone)) = s.split_once('%') {
        if Ipv6Addr::from_str(addr).is_ok() {
            return Err(TargetError::ZoneIndex {
                addr: addr.to_string(),
                zone: zone.to_string(),
            });
        }
    }
    if s.matches(':').count() > 1 {
        return Err(TargetError::BadIpv6(s.to_string()));
    }
    if let Some(host) = s.strip_suffix(':') {
        return Err(TargetError::EmptyPort {
            host: host.to_string(),
        });
    }
    if let Some((host, port)) = s.split_once(':') {
        return Err(TargetError::PortNotAllowed {
            host: host.to_string(),
            port: port.to_string(),
        });
    }
    parse_name(s).map(Host::Name)
}

/// Validates a DNS name and converts it to lower-case ASCII.
fn parse_name(s: &str) -> Result<String, TargetError> {
    let s = s.strip_suffix('.').unwrap_or(s);
    if s.is_empty() || s.split('.').any(str::is_empty) {
        return Err(TargetError::EmptyLabel);
    }
    // Reject characters that have no place in a host name before IDNA gets a
    // chance to map them to something else.
    if let Some(ch) = s.chars().find(|c| {
        c.is_ascii() && !(c.is_ascii_alphanumeric() || *c == '-' || *c == '.' || *c == '_')
    }) {
        return Err(TargetError::BadCharacter { ch });
    }
    let ascii = if s.is_ascii() {
        s.to_ascii_lowercase()
    } else {
        idna::domain_to_ascii(s).map_err(|_| TargetError::BadIdn(s.to_string()))?
    };
    if ascii.len() > MAX_NAME {
        return Err(TargetError::NameTooLong { len: ascii.len() });
    }
    for label in ascii.split('.') {
        if label.is_empty() {
            return Err(TargetError::EmptyLabel);
        }
        if label.len() > MAX_LABEL {
            return Err(TargetError::LabelTooLong {
                label: label.to_string(),
                len: label.len(),
            });
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(TargetError::HyphenEdge {
                label: label.to_string(),
            });
        }
    }
    let last = ascii.rsplit('.').next().unwrap_or_default();
    if last.chars().all(|c| c.is_ascii_digit()) {
        return Err(TargetError::BadIpv4(s.to_string()));
    }
    Ok(ascii)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(input: &str) -> Target {
        Target::parse(input).unwrap_or_else(|e| panic!("{input:?} should parse: {e}"))
    }

    #[test]
    fn good_inputs() {
        let cases: &[(&str, Host, Option<&str>, Option<u16>)] = &[
            ("example.com", Host::Name("example.com".into()), None, None),
            ("Example.COM.", Host::Name("example.com".into()), None, None),
            ("localhost", Host::Name("localhost".into()), None, None),
            (
                "_dmarc.example.com",
                Host::Name("_dmarc.example.com".into()),
                None,
                None,
            ),
            (
                "münchen.de",
                Host::Name("xn--mnchen-3ya.de".into()),
                None,
                None,
            ),
            (
                "bücher.example",
                Host::Name("xn--bcher-kva.example".into()),
                None,
                None,
            ),
            (
                "192.0.2.1",
                Host::Ipv4(Ipv4Addr::new(192, 0, 2, 1)),
                None,
                None,
            ),
            (
                "2001:db8::1",
                Host::Ipv6("2001:db8::1".parse().unwrap()),
                None,
                None,
            ),
            (
                "[2001:db8::1]",
                Host::Ipv6("2001:db8::1".parse().unwrap()),
                None,
                None,
            ),
            ("::1", Host::Ipv6(Ipv6Addr::LOCALHOST), None, None),
            (
                "  example.org  ",
                Host::Name("example.org".into()),
                None,
                None,
            ),
            (
                "https://www.example.com/path?q=1",
                Host::Name("www.example.com".into()),
                Some("https"),
                None,
            ),
            (
                "https://example.com:8443/",
                Host::Name("example.com".into()),
                Some("https"),
                Some(8443),
            ),
            (
                "http://[2001:db8::2]:8080/",
                Host::Ipv6("2001:db8::2".parse().unwrap()),
                Some("http"),
                Some(8080),
            ),
            (
                "http://198.51.100.7/",
                Host::Ipv4(Ipv4Addr::new(198, 51, 100, 7)),
                Some("http"),
                None,
            ),
            (
                "http://user@192.0.2.9:8080/x",
                Host::Ipv4(Ipv4Addr::new(192, 0, 2, 9)),
                Some("http"),
                Some(8080),
            ),
            (
                "https://Bücher.example/",
                Host::Name("xn--bcher-kva.example".into()),
                Some("https"),
                None,
            ),
        ];
        for (input, host, scheme, port) in cases {
            let t = ok(input);
            assert_eq!(&t.host, host, "{input}");
            assert_eq!(t.scheme.as_deref(), *scheme, "{input}");
            assert_eq!(t.port, *port, "{input}");
            assert_eq!(t.input, *input);
        }
    }

    #[test]
    fn bad_inputs() {
        let long_label = "a".repeat(64);
        let long_name = format!("{}.com", ["abcdefghij"; 23].join("."));
        let cases: Vec<(String, TargetError)> = vec![
            ("".into(), TargetError::Empty),
            ("   ".into(), TargetError::Empty),
            ("exa mple.com".into(), TargetError::Whitespace),
            (
                format!("{long_label}.com"),
                TargetError::LabelTooLong {
                    label: long_label.clone(),
                    len: 64,
                },
            ),
            (
                long_name.clone(),
                TargetError::NameTooLong {
                    len: long_name.len(),
                },
            ),
            ("a..b".into(), TargetError::EmptyLabel),
            (".example.com".into(), TargetError::EmptyLabel),
            ("exa$mple.com".into(), TargetError::BadCharacter { ch: '$' }),
            ("host/path".into(), TargetError::BadCharacter { ch: '/' }),
            (
                "-bad.example".into(),
                TargetError::HyphenEdge {
                    label: "-bad".into(),
                },
            ),
            (
                "bad-.example".into(),
                TargetError::HyphenEdge {
                    label: "bad-".into(),
                },
            ),
            ("999.1.1.1".into(), TargetError::BadIpv4("999.1.1.1".into())),
            ("1.2.3".into(), TargetError::BadIpv4("1.2.3".into())),
            (
                "[2001:db8::zz]".into(),
                TargetError::BadIpv6("[2001:db8::zz]".into()),
            ),
            (
                "[2001:db8::1".into(),
                TargetError::BadIpv6("[2001:db8::1".into()),
            ),
            (
                "2001:db8:::1".into(),
                TargetError::BadIpv6("2001:db8:::1".into()),
            ),
            (
                "example.com:443".into(),
                TargetError::PortNotAllowed {
                    host: "example.com".into(),
                    port: "443".into(),
                },
            ),
            (
                "[2001:db8::1]:443".into(),
                TargetError::PortNotAllowed {
                    host: "[2001:db8::1]".into(),
                    port: "443".into(),
                },
            ),
            ("file:///etc/passwd".into(), TargetError::NoHost),
            (
                "fe80::1%eth0".into(),
                TargetError::ZoneIndex {
                    addr: "fe80::1".into(),
                    zone: "eth0".into(),
                },
            ),
            (
                "example.com:".into(),
                TargetError::EmptyPort {
                    host: "example.com".into(),
                },
            ),
            (
                "[2001:db8::1]:".into(),
                TargetError::EmptyPort {
                    host: "[2001:db8::1]".into(),
                },
            ),
            (
                "https://1.2.3/".into(),
                TargetError::BadIpv4("1.2.3".into()),
            ),
            (
                "http://0x7f000001/".into(),
                TargetError::BadIpv4("0x7f000001".into()),
            ),
            (
                "http://user@0177.0.0.1:8080/".into(),
                TargetError::BadIpv4("0177.0.0.1".into()),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(Target::parse(&input), Err(want), "{input:?}");
        }
    }

    #[test]
    fn bad_url_is_named() {
        let err = Target::parse("https://exa mple").unwrap_err();
        assert_eq!(err, TargetError::Whitespace);
        let err = Target::parse("http://[::1/").unwrap_err();
        assert!(matches!(err, TargetError::BadUrl(_)), "{err:?}");
    }

    #[test]
    fn messages_name_the_problem() {
        for (input, want) in [
            ("2001:db8:::1", "`2001:db8:::1` is not a valid IPv6 address"),
            (
                "fe80::1%eth0",
                "`fe80::1%eth0` names a network interface (zone `eth0`), which sonde does not take; give the address `fe80::1` alone",
            ),
            ("example.com:", "`example.com:` ends with a colon but no port; give the host alone"),
            ("https://1.2.3/", "`1.2.3` looks like an IPv4 address but is not a valid one"),
        ] {
            assert_eq!(Target::parse(input).unwrap_err().to_string(), want, "{input}");
        }
        let err = Target::parse("example.com:443").unwrap_err();
        assert_eq!(
            err.to_string(),
            "a port is only accepted inside a URL (for example https://example.com:443/); give the host alone or a full URL"
        );
    }
}
