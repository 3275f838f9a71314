//! The asn collector's settings: its `[collectors.asn]` table in a profile.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use sonde_core::SpecialRange;

use crate::output::Source;

/// The environment variable naming an offline ASN table when the profile
/// names none.
pub const DATABASE_ENV: &str = "SONDE_ASN_DB";

/// The three DNS zones of Cymru's interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Zones {
    /// Where IPv4 origins are asked: `d.c.b.a.<origin>`.
    pub origin: String,
    /// Where IPv6 origins are asked: 32 reversed nibbles, then `<origin6>`.
    pub origin6: String,
    /// Where AS names are asked: `AS<n>.<asn>`.
    pub asn: String,
}

impl Default for Zones {
    fn default() -> Self {
        Zones {
            origin: "origin.asn.cymru.com".into(),
            origin6: "origin6.asn.cymru.com".into(),
            asn: "asn.cymru.com".into(),
        }
    }
}

/// Settings of the asn collector.
///
/// ```toml
/// [collectors.asn]
/// sources = ["cymru", "database"]
/// origin-zone = "origin.asn.cymru.com"
/// origin6-zone = "origin6.asn.cymru.com"
/// asn-zone = "asn.cymru.com"
/// database = "/var/lib/GeoIP/GeoLite2-ASN.mmdb"   # or a CSV: prefix,asn[,name[,country]]
/// local-ranges = ["private", "loopback", "link-local", "cgnat", "documentation"]
/// concurrency = 16
/// rdap-url = "https://rdap.org/autnum/{asn}"
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct AsnConfig {
    /// Sources in order of preference; a later one answers an address only
    /// when the earlier ones could not (no reply, malformed reply).
    pub sources: Vec<Source>,
    /// Zone of IPv4 origin TXT records.
    pub origin_zone: String,
    /// Zone of IPv6 origin TXT records.
    pub origin6_zone: String,
    /// Zone of AS name TXT records.
    pub asn_zone: String,
    /// Offline table: an MMDB ASN database (GeoLite2-ASN, DB-IP ASN lite)
    /// or a CSV of `prefix,asn[,name[,country]]`. Unset: `$SONDE_ASN_DB`,
    /// then the data directory; none found means the database source is
    /// left out.
    pub database: Option<PathBuf>,
    /// Special-purpose ranges answered locally, without a lookup. Take
    /// `documentation` out to look those addresses up (a lab, a test).
    pub local_ranges: Vec<SpecialRange>,
    /// Most lookups in flight at once (1 to 64).
    pub concurrency: usize,
    /// RDAP autnum URL with `{asn}`, asked for the name of an AS that
    /// neither Cymru nor the table names, e.g.
    /// `https://rdap.org/autnum/{asn}`. Unset: not asked.
    pub rdap_url: Option<String>,
}

impl Default for AsnConfig {
    fn default() -> Self {
        let zones = Zones::default();
        AsnConfig {
            sources: vec![Source::Cymru, Source::Database],
            origin_zone: zones.origin,
            origin6_zone: zones.origin6,
            asn_zone: zones.asn,
            database: None,
            local_ranges: SpecialRange::ALL.to_vec(),
            concurrency: 16,
            rdap_url: None,
        }
    }
}

/// Most lookups in flight at once.
pub const MAX_CONCURRENCY: usize = 64;

impl AsnConfig {
    /// Checks every rule and returns the first broken one, naming its key.
    pub fn check(&self) -> Result<(), String> {
        if self.sources.is_empty() {
            return Err("sources: empty; name at least one of \"cymru\" and \"database\"".into());
        }
        for (i, s) in self.sources.iter().enumerate() {
            if self.sources[..i].contains(s) {
                return Err(format!("sources: \"{}\" is named twice", s.as_str()));
            }
        }
        for (key, zone) in [
            ("origin-zone", &self.origin_zone),
            ("origin6-zone", &self.origin6_zone),
            ("asn-zone", &self.asn_zone),
        ] {
            check_zone(zone).map_err(|why| format!("{key}: `{zone}` {why}"))?;
        }
        if !(1..=MAX_CONCURRENCY).contains(&self.concurrency) {
            return Err(format!(
                "concurrency: {} is out of range; allowed 1 to {MAX_CONCURRENCY} lookups at once",
                self.concurrency
            ));
        }
        if let Some(url) = &self.rdap_url {
            check_url(url).map_err(|why| format!("rdap-url: `{url}` {why}"))?;
        }
        Ok(())
    }

    /// The Cymru zones, without final dots.
    pub fn zones(&self) -> Zones {
        let bare = |z: &str| z.trim_end_matches('.').to_ascii_lowercase();
        Zones {
            origin: bare(&self.origin_zone),
            origin6: bare(&self.origin6_zone),
            asn: bare(&self.asn_zone),
        }
    }
}

fn check_url(url: &str) -> Result<(), &'static str> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or("is not an http:// or https:// URL")?;
    if rest.is_empty() || rest.starts_with('/') || rest.starts_with('{') {
        return Err("has no host");
    }
    if !url.contains("{asn}") {
        return Err("has no `{asn}` placeholder for the AS number");
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("has spaces or control characters");
    }
    Ok(())
}

fn check_zone(zone: &str) -> Result<(), &'static str> {
    let zone = zone.trim_end_matches('.');
    if zone.is_empty() {
        return Err("is empty");
    }
    if zone.len() > 200 {
        return Err("is too long for a zone that names still go under");
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if zone.split('.').all(label_ok) {
        Ok(())
    } else {
        Err("is not a DNS name (letters, digits, `-` and `_` in dot-separated labels)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_rules() {
        let base = AsnConfig::default();
        assert_eq!(base.check(), Ok(()));
        let cases = [
            (
                AsnConfig {
                    sources: vec![],
                    ..base.clone()
                },
                "sources: empty",
            ),
            (
                AsnConfig {
                    sources: vec![Source::Cymru, Source::Cymru],
                    ..base.clone()
                },
                "sources: \"cymru\" is named twice",
            ),
            (
                AsnConfig {
                    origin_zone: "origin..example".into(),
                    ..base.clone()
                },
                "origin-zone: `origin..example` is not a DNS name",
            ),
            (
                AsnConfig {
                    asn_zone: String::new(),
                    ..base.clone()
                },
                "asn-zone: `` is empty",
            ),
            (
                AsnConfig {
                    concurrency: 0,
                    ..base.clone()
                },
                "concurrency: 0 is out of range",
            ),
            (
                AsnConfig {
                    rdap_url: Some("https://rdap.org/autnum/".into()),
                    ..base.clone()
                },
                "rdap-url: `https://rdap.org/autnum/` has no `{asn}` placeholder",
            ),
            (
                AsnConfig {
                    rdap_url: Some("whois://x/{asn}".into()),
                    ..base.clone()
                },
                "rdap-url: `whois://x/{asn}` is not an http:// or https:// URL",
            ),
        ];
        for (config, want) in cases {
            let err = config.check().expect_err(want);
            assert!(err.starts_with(want), "got {err:?}, want {want:?}");
        }
    }

    #[test]
    fn parses_toml_strictly() {
        let config: AsnConfig = toml::from_str(
            r#"
            sources = ["database"]
            origin-zone = "origin.asn.sonde.test."
            database = "/tmp/asn.csv"
            local-ranges = ["private", "cgnat"]
            concurrency = 4
            "#,
        )
        .expect("valid settings");
        assert_eq!(config.sources, vec![Source::Database]);
        assert_eq!(config.zones().origin, "origin.asn.sonde.test");
        assert_eq!(
            config.local_ranges,
            vec![SpecialRange::Private, SpecialRange::Cgnat]
        );
        let err = toml::from_str::<AsnConfig>("zone = \"x\"").expect_err("unknown key");
        assert!(err.to_string().contains("unknown field `zone`"), "{err}");
        let err = toml::from_str::<AsnConfig>("sources = [\"whois\"]").expect_err("bad source");
        assert!(err.to_string().contains("whois"), "{err}");
        let err =
            toml::from_str::<AsnConfig>("local-ranges = [\"public\"]").expect_err("bad range");
        assert!(err.to_string().contains("public"), "{err}");
    }
}
