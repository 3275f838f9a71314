//! The whois collector's settings: its `[collectors.whois]` table in a profile.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sonde_core::SpecialRange;

use crate::output::Protocol;

/// Where port-43 queries start.
pub const IANA_WHOIS: &str = "whois.iana.org";
/// Where the IANA RDAP bootstrap registries are published.
pub const IANA_BOOTSTRAP: &str = "https://data.iana.org/rdap/";

/// Settings of the whois collector.
///
/// ```toml
/// [collectors.whois]
/// order = ["rdap", "whois"]     # tried in this order; the next only when one fails
/// all = false                   # true: every protocol of `order` runs
/// domain = true                 # look up the target's registrable domain
/// addresses = 2                 # and the network of up to 2 of its addresses
/// local-ranges = ["private", "loopback", "link-local", "cgnat", "documentation"]
/// whois-server = "whois.iana.org"
/// max-referrals = 4
/// hop-timeout = "4s"
/// max-response-bytes = 1048576
/// bootstrap-url = "https://data.iana.org/rdap/"
/// bootstrap-max-age = "1day"
/// refresh-bootstrap = true
/// cache-dir = "/var/cache/sonde"  # default: $XDG_CACHE_HOME/sonde or ~/.cache/sonde
/// request-timeout = "4s"
/// follow-related = true
/// ca-file = "/etc/ssl/internal-ca.pem"  # trusted besides the bundled web roots
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct WhoisConfig {
    /// Protocols in the order they are tried.
    pub order: Vec<Protocol>,
    /// Run every protocol of `order`, not only until one answers.
    pub all: bool,
    /// Look up the target's registrable domain.
    pub domain: bool,
    /// How many of the target's addresses to look up (0: none).
    pub addresses: usize,
    /// Special-purpose address ranges never sent to a registry (all of them by default,
    /// as for asn and geo). Take `documentation` out to look those addresses up (a lab, a
    /// test).
    pub local_ranges: Vec<SpecialRange>,
    /// The WHOIS server queries start at, `host` or `host:port`.
    pub whois_server: String,
    /// Most referrals followed after the first server.
    pub max_referrals: usize,
    /// Time one WHOIS server gets (connect, send, whole answer).
    #[serde(with = "sonde_core::duration::serde_human")]
    pub hop_timeout: Duration,
    /// Largest answer read from one server (WHOIS text or RDAP JSON).
    pub max_response_bytes: usize,
    /// Base URL of the IANA RDAP bootstrap registries (`dns.json`, `ipv4.json`, ...).
    pub bootstrap_url: String,
    /// A cached bootstrap file older than this is fetched again.
    #[serde(with = "sonde_core::duration::serde_human")]
    pub bootstrap_max_age: Duration,
    /// Fetch stale bootstrap files; `false` uses the cache or the built-in snapshot only.
    pub refresh_bootstrap: bool,
    /// Folder of the bootstrap cache (`<cache-dir>/rdap/`); unset: `$XDG_CACHE_HOME/sonde`,
    /// else `~/.cache/sonde`.
    pub cache_dir: Option<PathBuf>,
    /// Time one RDAP request gets (connect, TLS, whole body).
    #[serde(with = "sonde_core::duration::serde_human")]
    pub request_timeout: Duration,
    /// Follow a domain's `related` link to the registrar's RDAP record.
    pub follow_related: bool,
    /// PEM file of extra certificate authorities trusted for RDAP, besides the bundled
    /// web roots.
    pub ca_file: Option<PathBuf>,
}

impl Default for WhoisConfig {
    fn default() -> Self {
        WhoisConfig {
            order: vec![Protocol::Rdap, Protocol::Whois],
            all: false,
            domain: true,
            addresses: 2,
            local_ranges: SpecialRange::ALL.to_vec(),
            whois_server: IANA_WHOIS.into(),
            max_referrals: 4,
            hop_timeout: Duration::from_secs(4),
            max_response_bytes: 1 << 20,
            bootstrap_url: IANA_BOOTSTRAP.into(),
            bootstrap_max_age: Duration::from_secs(24 * 3600),
            refresh_bootstrap: true,
            cache_dir: None,
            request_timeout: Duration::from_secs(4),
            follow_related: true,
            ca_file: None,
        }
    }
}

/// Most referrals allowed by `max-referrals`.
pub const MAX_REFERRALS: usize = 10;
/// Most addresses allowed by `addresses`.
pub const MAX_ADDRESSES: usize = 16;
/// Smallest and largest `max-response-bytes`.
pub const RESPONSE_LIMITS: (usize, usize) = (1024, 16 << 20);
/// Longest per-hop or per-request timeout.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(60);

impl WhoisConfig {
    /// Checks every rule and returns the first broken one, naming its key.
    pub fn check(&self) -> Result<(), String> {
        if self.order.is_empty() {
            return Err("order: empty; name \"rdap\", \"whois\" or both".into());
        }
        for (i, p) in self.order.iter().enumerate() {
            if self.order[..i].contains(p) {
                return Err(format!("order: \"{p}\" appears twice"));
            }
        }
        if self.addresses > MAX_ADDRESSES {
            return Err(format!(
                "addresses: {} is out of range; allowed 0 to {MAX_ADDRESSES}",
                self.addresses
            ));
        }
        if !self.domain && self.addresses == 0 {
            return Err(
                "domain, addresses: nothing to look up; set domain = true or addresses > 0".into(),
            );
        }
        crate::whois::parse_server(&self.whois_server)
            .map_err(|why| format!("whois-server: `{}` {why}", self.whois_server))?;
        if self.max_referrals > MAX_REFERRALS {
            return Err(format!(
                "max-referrals: {} is out of range; allowed 0 to {MAX_REFERRALS}",
                self.max_referrals
            ));
        }
        for (key, d) in [
            ("hop-timeout", self.hop_timeout),
            ("request-timeout", self.request_timeout),
        ] {
            if d > MAX_TIMEOUT {
                return Err(format!(
                    "{key}: {} is too long; allowed up to {} (the collector's own timeout bounds the run)",
                    sonde_core::duration::format(d),
                    sonde_core::duration::format(MAX_TIMEOUT)
                ));
            }
        }
        let (low, high) = RESPONSE_LIMITS;
        if !(low..=high).contains(&self.max_response_bytes) {
            return Err(format!(
                "max-response-bytes: {} is out of range; allowed {low} to {high}",
                self.max_response_bytes
            ));
        }
        match url::Url::parse(&self.bootstrap_url) {
            Ok(u) if u.scheme() == "https" && u.host_str().is_some() => {}
            Ok(_) => {
                return Err(format!(
                    "bootstrap-url: `{}` is not an https:// URL with a host",
                    self.bootstrap_url
                ))
            }
            Err(e) => {
                return Err(format!(
                    "bootstrap-url: `{}` is not a URL ({e})",
                    self.bootstrap_url
                ))
            }
        }
        Ok(())
    }

    /// The bootstrap URL with a final slash, so registry file names join onto it.
    pub fn bootstrap_base(&self) -> String {
        let mut base = self.bootstrap_url.clone();
        if !base.ends_with('/') {
            base.push('/');
        }
        base
    }

    /// Where bootstrap files are cached, if anywhere.
    pub fn cache_folder(&self) -> Option<PathBuf> {
        let base = match &self.cache_dir {
            Some(dir) => dir.clone(),
            None => sonde_core::dirs::cache_dir()?,
        };
        Some(base.join("rdap"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_pass_and_bad_values_name_their_key() {
        assert_eq!(WhoisConfig::default().check(), Ok(()));
        let base = WhoisConfig::default();
        let cases: Vec<(WhoisConfig, &str)> = vec![
            (
                WhoisConfig {
                    order: vec![],
                    ..base.clone()
                },
                "order: empty",
            ),
            (
                WhoisConfig {
                    order: vec![Protocol::Whois, Protocol::Whois],
                    ..base.clone()
                },
                "order: \"whois\" appears twice",
            ),
            (
                WhoisConfig {
                    addresses: 99,
                    ..base.clone()
                },
                "addresses: 99 is out of range",
            ),
            (
                WhoisConfig {
                    domain: false,
                    addresses: 0,
                    ..base.clone()
                },
                "domain, addresses: nothing to look up",
            ),
            (
                WhoisConfig {
                    whois_server: "who is:43".into(),
                    ..base.clone()
                },
                "whois-server: `who is:43`",
            ),
            (
                WhoisConfig {
                    max_referrals: 11,
                    ..base.clone()
                },
                "max-referrals: 11 is out of range",
            ),
            (
                WhoisConfig {
                    hop_timeout: Duration::from_secs(600),
                    ..base.clone()
                },
                "hop-timeout: 600s is too long",
            ),
            (
                WhoisConfig {
                    max_response_bytes: 10,
                    ..base.clone()
                },
                "max-response-bytes: 10 is out of range",
            ),
            (
                WhoisConfig {
                    bootstrap_url: "http://data.iana.org/rdap/".into(),
                    ..base.clone()
                },
                "bootstrap-url: `http://data.iana.org/rdap/` is not an https:// URL",
            ),
            (
                WhoisConfig {
                    bootstrap_url: "data.iana.org".into(),
                    ..base.clone()
                },
                "bootstrap-url: `data.iana.org` is not a URL",
            ),
        ];
        for (config, want) in cases {
            let err = config.check().expect_err(want);
            assert!(err.starts_with(want), "got {err:?}, want {want:?}");
        }
    }

    #[test]
    fn parses_toml_strictly() {
        let config: WhoisConfig = toml::from_str(
            r#"
            order = ["whois"]
            all = true
            addresses = 1
            whois-server = "whois.iana.sonde.test:4343"
            hop-timeout = "1s"
            bootstrap-url = "https://rdap.sonde.test/bootstrap"
            cache-dir = "/tmp/x"
            ca-file = "/tmp/ca.pem"
            local-ranges = ["private", "loopback"]
            "#,
        )
        .expect("valid settings");
        assert_eq!(config.order, [Protocol::Whois]);
        assert_eq!(config.hop_timeout, Duration::from_secs(1));
        assert_eq!(
            config.local_ranges,
            [SpecialRange::Private, SpecialRange::Loopback]
        );
        assert_eq!(WhoisConfig::default().local_ranges, SpecialRange::ALL);
        assert_eq!(
            config.bootstrap_base(),
            "https://rdap.sonde.test/bootstrap/"
        );
        assert_eq!(config.cache_folder(), Some(PathBuf::from("/tmp/x/rdap")));
        assert_eq!(config.check(), Ok(()));
        let err = toml::from_str::<WhoisConfig>("server = \"x\"").expect_err("unknown key");
        assert!(err.to_string().contains("unknown field `server`"), "{err}");
        let err = toml::from_str::<WhoisConfig>("order = [\"ftp\"]").expect_err("bad protocol");
        assert!(err.to_string().contains("ftp"), "{err}");
        let err =
            toml::from_str::<WhoisConfig>("local-ranges = [\"public\"]").expect_err("bad range");
        assert!(err.to_string().contains("public"), "{err}");
    }
}
