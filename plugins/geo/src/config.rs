//! The geo collector's settings: its `[collectors.geo]` table in a profile.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use sonde_core::SpecialRange;

/// The environment variable naming the database when the profile names none.
pub const DATABASE_ENV: &str = "SONDE_GEO_DB";

/// Settings of the geo collector.
///
/// ```toml
/// [collectors.geo]
/// database = "/var/lib/GeoIP/GeoLite2-City.mmdb"
/// language = "en"
/// http-url = "https://ipinfo.io/{ip}/json"
/// http-token-env = "IPINFO_TOKEN"
/// local-ranges = ["private", "loopback", "link-local", "cgnat", "documentation"]
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct GeoConfig {
    /// A MaxMind-format database: GeoLite2/GeoIP2 City or Country, DB-IP's
    /// City or Country lite. Unset: `$SONDE_GEO_DB`, then a known file name
    /// in `$XDG_DATA_HOME/sonde` (`~/.local/share/sonde`).
    pub database: Option<PathBuf>,
    /// Language of place names, when the database has it (English otherwise).
    pub language: String,
    /// An ipinfo-style JSON API, used when there is no database; `{ip}` is
    /// replaced by the address. Addresses are sent to that service.
    pub http_url: Option<String>,
    /// Bearer token for the API (prefer `http-token-env`).
    pub http_token: Option<String>,
    /// Environment variable holding the API token.
    pub http_token_env: Option<String>,
    /// Special-purpose ranges answered locally ("no public location")
    /// without a lookup. Take `documentation` out to look those addresses
    /// up (a lab, a test database).
    pub local_ranges: Vec<SpecialRange>,
}

impl Default for GeoConfig {
    fn default() -> Self {
        GeoConfig {
            database: None,
            language: "en".into(),
            http_url: None,
            http_token: None,
            http_token_env: None,
            local_ranges: SpecialRange::ALL.to_vec(),
        }
    }
}

impl GeoConfig {
    /// Checks every rule and returns the first broken one, naming its key.
    pub fn check(&self) -> Result<(), String> {
        let lang_ok = !self.language.is_empty()
            && self.language.len() <= 8
            && self
                .language
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !lang_ok {
            return Err(format!(
                "language: `{}` is not a language code such as \"en\", \"de\" or \"pt-BR\"",
                self.language
            ));
        }
        if let Some(url) = &self.http_url {
            check_url(url).map_err(|why| format!("http-url: `{url}` {why}"))?;
        }
        if self.http_token.is_some() && self.http_token_env.is_some() {
            return Err("http-token: set either `http-token` or `http-token-env`, not both".into());
        }
        if let Some(token) = &self.http_token {
            if token.is_empty() || token.chars().any(|c| c.is_control() || c == ' ') {
                return Err("http-token: empty, or has spaces or control characters".into());
            }
        }
        Ok(())
    }

    /// The API token, from the setting or its environment variable.
    pub fn token(&self) -> Option<String> {
        self.http_token.clone().or_else(|| {
            let var = self.http_token_env.as_ref()?;
            std::env::var(var).ok().filter(|t| !t.is_empty())
        })
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
    if !url.contains("{ip}") {
        return Err("has no `{ip}` placeholder for the address");
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("has spaces or control characters");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_rules() {
        let base = GeoConfig::default();
        assert_eq!(base.check(), Ok(()));
        let ok = GeoConfig {
            http_url: Some("https://ipinfo.io/{ip}/json".into()),
            http_token_env: Some("IPINFO_TOKEN".into()),
            ..base.clone()
        };
        assert_eq!(ok.check(), Ok(()));
        let cases = [
            (
                GeoConfig {
                    language: "english please".into(),
                    ..base.clone()
                },
                "language: `english please` is not a language code",
            ),
            (
                GeoConfig {
                    http_url: Some("ftp://x/{ip}".into()),
                    ..base.clone()
                },
                "http-url: `ftp://x/{ip}` is not an http:// or https:// URL",
            ),
            (
                GeoConfig {
                    http_url: Some("https://ipinfo.io/json".into()),
                    ..base.clone()
                },
                "http-url: `https://ipinfo.io/json` has no `{ip}` placeholder",
            ),
            (
                GeoConfig {
                    http_url: Some("https:///{ip}".into()),
                    ..base.clone()
                },
                "http-url: `https:///{ip}` has no host",
            ),
            (
                GeoConfig {
                    http_token: Some("a".into()),
                    http_token_env: Some("B".into()),
                    ..base.clone()
                },
                "http-token: set either",
            ),
            (
                GeoConfig {
                    http_token: Some("a b".into()),
                    ..base.clone()
                },
                "http-token: empty, or has spaces",
            ),
        ];
        for (config, want) in cases {
            let err = config.check().expect_err(want);
            assert!(err.starts_with(want), "got {err:?}, want {want:?}");
        }
    }

    #[test]
    fn parses_toml_strictly() {
        let config: GeoConfig = toml::from_str(
            "database = \"/tmp/city.mmdb\"\nlanguage = \"de\"\nlocal-ranges = [\"private\"]",
        )
        .expect("valid settings");
        assert_eq!(config.language, "de");
        assert_eq!(config.local_ranges, vec![SpecialRange::Private]);
        let err = toml::from_str::<GeoConfig>("db = \"x\"").expect_err("unknown key");
        assert!(err.to_string().contains("unknown field `db`"), "{err}");
    }
}
