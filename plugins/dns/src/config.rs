//! The dns collector's settings: its `[collectors.dns]` table in a profile.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::output::RecordType;
use crate::search::{check_suffix, MAX_NDOTS, MAX_SEARCH};

/// Settings of the dns collector.
///
/// ```toml
/// [collectors.dns]
/// nameservers = ["192.0.2.53", "[2001:db8::53]:5353"]
/// query-timeout = "2s"
/// attempts = 2
/// record-types = ["A", "AAAA", "MX"]
/// ptr = true
/// hosts-file = "/etc/hosts"
/// use-hosts = true
/// search = ["corp.example"]
/// ndots = 1
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct DnsConfig {
    /// Servers to ask, as `ip` or `ip:port` (`[v6]:port`); empty means the
    /// system's, from `/etc/resolv.conf`.
    pub nameservers: Vec<String>,
    /// How long one server gets to answer one query (all its UDP attempts
    /// and a TCP retry included).
    #[serde(with = "sonde_core::duration::serde_human")]
    pub query_timeout: Duration,
    /// UDP sends per query and server before giving up on that server (1 to 5).
    pub attempts: u8,
    /// Record types asked for a name; A or AAAA must be among them.
    pub record_types: Vec<RecordType>,
    /// Whether to look up the PTR record of every address found.
    pub ptr: bool,
    /// The hosts file consulted before DNS.
    pub hosts_file: PathBuf,
    /// Whether names in the hosts file are answered from it, as the system
    /// resolver does.
    pub use_hosts: bool,
    /// Domains appended to a name typed without a final dot, as resolv.conf's
    /// `search` line does; unset means resolv.conf's list when the system's
    /// servers are used, none otherwise.
    pub search: Option<Vec<String>>,
    /// Dots a name needs to be asked as it is before the search domains
    /// (resolv.conf's `options ndots:N`, 0 to 15); unset means resolv.conf's
    /// when the system's servers are used, 1 otherwise.
    pub ndots: Option<u8>,
}

/// The record types asked for by default: all but PTR (see `ptr`).
pub const DEFAULT_RECORD_TYPES: [RecordType; 8] = [
    RecordType::A,
    RecordType::Aaaa,
    RecordType::Cname,
    RecordType::Mx,
    RecordType::Ns,
    RecordType::Soa,
    RecordType::Txt,
    RecordType::Caa,
];

impl Default for DnsConfig {
    fn default() -> Self {
        DnsConfig {
            nameservers: Vec::new(),
            query_timeout: Duration::from_secs(2),
            attempts: 2,
            record_types: DEFAULT_RECORD_TYPES.to_vec(),
            ptr: true,
            hosts_file: PathBuf::from("/etc/hosts"),
            use_hosts: true,
            search: None,
            ndots: None,
        }
    }
}

/// Most UDP sends per query and server.
pub const MAX_ATTEMPTS: u8 = 5;
/// Longest sensible per-query timeout.
pub const MAX_QUERY_TIMEOUT: Duration = Duration::from_secs(60);

impl DnsConfig {
    /// Checks every rule and returns the first broken one, naming its key.
    pub fn check(&self) -> Result<(), String> {
        self.nameserver_addrs()?;
        check_attempts(self.attempts)?;
        check_query_timeout(self.query_timeout)?;
        check_record_types(&self.record_types)?;
        check_search(self.search.as_deref().unwrap_or_default())?;
        check_ndots(self.ndots)?;
        Ok(())
    }

    /// The configured servers as socket addresses (port 53 unless given).
    pub fn nameserver_addrs(&self) -> Result<Vec<SocketAddr>, String> {
        self.nameservers
            .iter()
            .map(|text| {
                parse_nameserver(text).map_err(|why| {
                    format!("nameservers: `{text}` is not a nameserver address ({why}); write \"192.0.2.53\", \"192.0.2.53:5353\" or \"[2001:db8::53]:53\"")
                })
            })
            .collect()
    }
}

fn check_attempts(attempts: u8) -> Result<(), String> {
    if (1..=MAX_ATTEMPTS).contains(&attempts) {
        Ok(())
    } else {
        Err(format!(
            "attempts: {attempts} is out of range; allowed 1 to {MAX_ATTEMPTS} UDP sends per server"
        ))
    }
}

fn check_query_timeout(timeout: Duration) -> Result<(), String> {
    if timeout > MAX_QUERY_TIMEOUT {
        Err(format!(
            "query-timeout: {} is too long; allowed up to {} (the collector's own timeout bounds the whole run)",
            sonde_core::duration::format(timeout),
            sonde_core::duration::format(MAX_QUERY_TIMEOUT)
        ))
    } else {
        Ok(())
    }
}

fn check_record_types(types: &[RecordType]) -> Result<(), String> {
    if types.contains(&RecordType::Ptr) {
        return Err(
            "record-types: PTR is not asked for a name; PTR of every address found is controlled by `ptr = true`".into(),
        );
    }
    if !types.contains(&RecordType::A) && !types.contains(&RecordType::Aaaa) {
        return Err(format!(
            "record-types: {:?} has neither A nor AAAA; the addresses are what every later collector uses",
            types.iter().map(|t| t.as_str()).collect::<Vec<_>>()
        ));
    }
    Ok(())
}

fn check_search(search: &[String]) -> Result<(), String> {
    if search.len() > MAX_SEARCH {
        return Err(format!(
            "search: {} domains are too many; allowed up to {MAX_SEARCH}",
            search.len()
        ));
    }
    for suffix in search {
        check_suffix(suffix).map_err(|why| {
            format!("search: `{suffix}` is not a domain ({why}); write \"corp.example\"")
        })?;
    }
    Ok(())
}

fn check_ndots(ndots: Option<u8>) -> Result<(), String> {
    match ndots {
        Some(n) if n > MAX_NDOTS => Err(format!(
            "ndots: {n} is out of range; allowed 0 to {MAX_NDOTS}, as in resolv.conf"
        )),
        _ => Ok(()),
    }
}

/// Parses `ip`, `ip:port` or `[v6]:port`; the port defaults to 53.
pub fn parse_nameserver(text: &str) -> Result<SocketAddr, String> {
    let text = text.trim();
    let addr = if let Ok(addr) = text.parse::<SocketAddr>() {
        addr
    } else if let Ok(ip) = text.parse::<IpAddr>() {
        SocketAddr::new(ip, 53)
    } else if let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        let ip = inner
            .parse::<IpAddr>()
            .map_err(|_| "not an IPv6 address in brackets".to_string())?;
        SocketAddr::new(ip, 53)
    } else if text.is_empty() {
        return Err("it is empty".into());
    } else {
        return Err("not an IP address with an optional port; host names are not accepted".into());
    };
    if addr.port() == 0 {
        return Err("port 0 is not a port".into());
    }
    if addr.ip().is_unspecified() {
        return Err("the unspecified address cannot be asked".into());
    }
    Ok(addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nameserver_forms() {
        let good = [
            ("192.0.2.53", "192.0.2.53:53"),
            (" 192.0.2.53:5353 ", "192.0.2.53:5353"),
            ("2001:db8::53", "[2001:db8::53]:53"),
            ("[2001:db8::53]", "[2001:db8::53]:53"),
            ("[2001:db8::53]:5300", "[2001:db8::53]:5300"),
            ("127.0.0.1:1053", "127.0.0.1:1053"),
        ];
        for (text, want) in good {
            assert_eq!(
                parse_nameserver(text).map(|a| a.to_string()),
                Ok(want.to_string()),
                "{text}"
            );
        }
        let bad = [
            ("", "empty"),
            ("dns.example", "host names are not accepted"),
            ("192.0.2.53:0", "port 0"),
            ("192.0.2.53:99999", "host names are not accepted"),
            ("[2001:db8::zz]", "IPv6"),
            ("0.0.0.0", "unspecified"),
            ("300.1.1.1", "host names are not accepted"),
        ];
        for (text, want) in bad {
            let err = parse_nameserver(text).expect_err(text);
            assert!(err.contains(want), "{text}: {err}");
        }
    }

    #[test]
    fn check_rules() {
        let base = DnsConfig::default();
        let cases: Vec<(DnsConfig, Option<&str>)> = vec![
            (base.clone(), None),
            (
                DnsConfig {
                    nameservers: vec!["127.0.0.1:5353".into(), "::1".into()],
                    ..base.clone()
                },
                None,
            ),
            (
                DnsConfig {
                    nameservers: vec!["127.0.0.1".into(), "ns1.example".into()],
                    ..base.clone()
                },
                Some("nameservers: `ns1.example` is not a nameserver address"),
            ),
            (
                DnsConfig {
                    attempts: 0,
                    ..base.clone()
                },
                Some("attempts: 0 is out of range; allowed 1 to 5"),
            ),
            (
                DnsConfig {
                    attempts: 9,
                    ..base.clone()
                },
                Some("attempts: 9 is out of range"),
            ),
            (
                DnsConfig {
                    query_timeout: Duration::from_secs(120),
                    ..base.clone()
                },
                Some("query-timeout: 120s is too long"),
            ),
            (
                DnsConfig {
                    record_types: vec![RecordType::Mx],
                    ..base.clone()
                },
                Some("record-types: [\"MX\"] has neither A nor AAAA"),
            ),
            (
                DnsConfig {
                    record_types: vec![RecordType::A, RecordType::Ptr],
                    ..base.clone()
                },
                Some("record-types: PTR is not asked for a name"),
            ),
            (
                DnsConfig {
                    record_types: vec![RecordType::Aaaa],
                    ..base.clone()
                },
                None,
            ),
            (
                DnsConfig {
                    search: Some(vec!["corp.example".into(), "lab.example.".into()]),
                    ndots: Some(15),
                    ..base.clone()
                },
                None,
            ),
            (
                DnsConfig {
                    search: Some(vec!["corp.example".into(), "".into()]),
                    ..base.clone()
                },
                Some("search: `` is not a domain (it is empty)"),
            ),
            (
                DnsConfig {
                    search: Some(vec!["bad..example".into()]),
                    ..base.clone()
                },
                Some("search: `bad..example` is not a domain"),
            ),
            (
                DnsConfig {
                    search: Some(vec!["a.example".into(); 33]),
                    ..base.clone()
                },
                Some("search: 33 domains are too many; allowed up to 32"),
            ),
            (
                DnsConfig {
                    ndots: Some(16),
                    ..base.clone()
                },
                Some("ndots: 16 is out of range; allowed 0 to 15"),
            ),
        ];
        for (config, want) in cases {
            match (config.check(), want) {
                (Ok(()), None) => {}
                (Err(e), Some(w)) => assert!(e.starts_with(w), "got {e:?}, want {w:?}"),
                (got, want) => panic!("{config:?}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn parses_toml_strictly() {
        let config: DnsConfig = toml::from_str(
            r#"
            nameservers = ["127.0.0.1:5353"]
            query-timeout = "500ms"
            attempts = 3
            record-types = ["a", "AAAA", "mx"]
            ptr = false
            hosts-file = "/tmp/hosts"
            use-hosts = false
            search = ["corp.example"]
            ndots = 2
            "#,
        )
        .expect("valid settings");
        assert_eq!(config.query_timeout, Duration::from_millis(500));
        assert_eq!(
            config.record_types,
            vec![RecordType::A, RecordType::Aaaa, RecordType::Mx]
        );
        assert!(!config.ptr && !config.use_hosts);
        assert_eq!(config.search, Some(vec!["corp.example".to_string()]));
        assert_eq!(config.ndots, Some(2));
        let err = toml::from_str::<DnsConfig>("resolver = \"1.1.1.1\"").expect_err("unknown key");
        assert!(
            err.to_string().contains("unknown field `resolver`"),
            "{err}"
        );
        let err =
            toml::from_str::<DnsConfig>("query-timeout = \"soon\"").expect_err("bad duration");
        assert!(err.to_string().contains("is not a duration"), "{err}");
        let err = toml::from_str::<DnsConfig>("record-types = [\"AXFR\"]").expect_err("bad type");
        assert!(err.to_string().contains("AXFR"), "{err}");
    }
}
