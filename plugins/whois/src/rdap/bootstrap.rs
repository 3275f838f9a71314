//! IANA's RDAP bootstrap registries (RFC 9224): which RDAP server answers for a TLD, an
//! address block or an AS number range.
//!
//! A snapshot ships in the binary; a newer copy is fetched from the bootstrap URL when the
//! cached one is older than `bootstrap-max-age`, and cached on disk. A failed fetch falls
//! back to the stale cache, then to the snapshot, and says so.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde_json::Value;

use crate::net::Cidr;
use crate::output::{BootstrapSource, BootstrapUse};
use crate::query::Query;

/// Largest bootstrap file read (IANA's dns.json is about 100 KiB).
pub const MAX_BOOTSTRAP_BYTES: usize = 8 << 20;

/// One of IANA's four bootstrap registries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Registry {
    /// Top-level domains.
    Dns,
    /// IPv4 blocks.
    Ipv4,
    /// IPv6 blocks.
    Ipv6,
    /// AS number ranges.
    Asn,
}

impl Registry {
    /// The registry that answers for `query`.
    pub fn of(query: &Query) -> Registry {
        match query {
            Query::Domain(_) => Registry::Dns,
            Query::Ip(IpAddr::V4(_)) => Registry::Ipv4,
            Query::Ip(IpAddr::V6(_)) => Registry::Ipv6,
            Query::Asn(_) => Registry::Asn,
        }
    }

    /// `dns`, `ipv4`, `ipv6`, `asn`.
    pub fn name(self) -> &'static str {
        match self {
            Registry::Dns => "dns",
            Registry::Ipv4 => "ipv4",
            Registry::Ipv6 => "ipv6",
            Registry::Asn => "asn",
        }
    }

    /// Its file name under the bootstrap URL.
    pub fn file(self) -> String {
        format!("{}.json", self.name())
    }

    /// The copy compiled into sonde.
    pub fn snapshot(self) -> &'static str {
        match self {
            Registry::Dns => include_str!("../../snapshot/dns.json"),
            Registry::Ipv4 => include_str!("../../snapshot/ipv4.json"),
            Registry::Ipv6 => include_str!("../../snapshot/ipv6.json"),
            Registry::Asn => include_str!("../../snapshot/asn.json"),
        }
    }
}

/// One service: the entries (TLDs, CIDR blocks, AS ranges) and the base URLs serving them.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Service {
    entries: Vec<String>,
    urls: Vec<String>,
}

/// A parsed bootstrap registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bootstrap {
    /// The registry's `publication` date.
    pub publication: Option<String>,
    services: Vec<Service>,
}

impl Bootstrap {
    /// Reads a bootstrap file; services that do not have the `[[entries], [urls]]` shape are
    /// skipped, a file with none usable is an error.
    pub fn parse(bytes: &[u8]) -> Result<Bootstrap, String> {
        let json: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
        let services = json
            .get("services")
            .and_then(Value::as_array)
            .ok_or("no `services` array")?;
        let strings = |v: &Value| -> Option<Vec<String>> {
            v.as_array().map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(|s| s.trim().to_ascii_lowercase())
                    .collect()
            })
        };
        let services: Vec<Service> = services
            .iter()
            .filter_map(|s| {
                let pair = s.as_array()?;
                // RFC 8521's object-tag registry puts e-mails first; the last two are the ones.
                let n = pair.len();
                if n < 2 {
                    return None;
                }
                let entries = strings(&pair[n - 2])?;
                let urls: Vec<String> = strings(&pair[n - 1])?
                    .into_iter()
                    .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
                    .collect();
                (!entries.is_empty() && !urls.is_empty()).then_some(Service { entries, urls })
            })
            .collect();
        if services.is_empty() {
            return Err("no usable service".into());
        }
        Ok(Bootstrap {
            publication: json
                .get("publication")
                .and_then(Value::as_str)
                .map(String::from),
            services,
        })
    }

    /// The base URLs for `query`, HTTPS first: the longest matching TLD label sequence, the
    /// longest matching block, or the AS range holding the number.
    pub fn find(&self, query: &Query) -> Option<Vec<String>> {
        let mut best: Option<(usize, &Service)> = None;
        let mut consider = |score: usize, s| {
            if best.is_none_or(|(b, _)| score > b) {
                best = Some((score, s));
            }
        };
        for service in &self.services {
            for entry in &service.entries {
                match query {
                    Query::Domain(domain) => {
                        let d = domain.to_ascii_lowercase();
                        if d == *entry || d.ends_with(&format!(".{entry}")) {
                            consider(entry.split('.').count(), service);
                        }
                    }
                    Query::Ip(ip) => {
                        if let Some(c) = Cidr::parse(entry).filter(|c| c.contains(*ip)) {
                            consider(usize::from(c.len) + 1, service);
                        }
                    }
                    Query::Asn(n) => {
                        let (lo, hi) = entry.split_once('-').unwrap_or((entry, entry));
                        if let (Ok(lo), Ok(hi)) = (lo.parse::<u32>(), hi.parse::<u32>()) {
                            if (lo..=hi).contains(n) {
                                consider(1, service);
                            }
                        }
                    }
                }
            }
        }
        let (_, service) = best?;
        let mut urls = service.urls.clone();
        urls.sort_by_key(|u| !u.starts_with("https://"));
        Some(urls)
    }
}

/// Where one registry's copy lives and how old it may be.
pub struct Source<'a> {
    /// The registry.
    pub registry: Registry,
    /// The bootstrap URL, ending in `/`.
    pub base_url: &'a str,
    /// The cache folder, if caching.
    pub cache: Option<PathBuf>,
    /// Fetch when the cache is older than this.
    pub max_age: Duration,
    /// Whether fetching is allowed.
    pub refresh: bool,
}

impl Source<'_> {
    fn cache_file(&self) -> Option<PathBuf> {
        self.cache.as_ref().map(|d| d.join(self.registry.file()))
    }

    fn url(&self) -> String {
        format!("{}{}", self.base_url, self.registry.file())
    }

    /// Loads the registry: the fresh cache, else a fetch with `fetch` (then cached), else the
    /// stale cache, else the snapshot. The notes say why a fresher copy was not used.
    pub async fn load<F, Fut>(&self, fetch: F) -> (Bootstrap, BootstrapUse)
    where
        F: FnOnce(String) -> Fut,
        Fut: std::future::Future<Output = Result<Vec<u8>, String>>,
    {
        let mut notes = Vec::new();
        let cached = match self.cache_file() {
            Some(path) => match read_cache(&path).await {
                Ok(Some(found)) => Some((path, found)),
                Ok(None) => None,
                Err(why) => {
                    notes.push(why);
                    None
                }
            },
            None => None,
        };
        let fresh = cached
            .as_ref()
            .is_some_and(|(_, (_, age))| *age < self.max_age);
        if let (true, Some((path, (bootstrap, _)))) = (fresh, &cached) {
            return self.used(bootstrap.clone(), BootstrapSource::Cache, path, notes);
        }
        if self.refresh {
            let url = self.url();
            match fetch(url.clone()).await.and_then(|b| {
                let parsed = Bootstrap::parse(&b).map_err(|e| format!("{url}: {e}"))?;
                Ok((b, parsed))
            }) {
                Ok((bytes, bootstrap)) => {
                    if let Some(path) = self.cache_file() {
                        if let Err(why) = write_cache(&path, &bytes).await {
                            notes.push(why);
                        }
                    }
                    let mut used = self.used(
                        bootstrap.clone(),
                        BootstrapSource::Fetched,
                        Path::new(""),
                        notes,
                    );
                    used.1.location = url;
                    return used;
                }
                Err(why) => notes.push(format!("refresh failed: {why}")),
            }
        } else {
            notes.push("refresh-bootstrap = false".into());
        }
        if let Some((path, (bootstrap, age))) = cached {
            notes.push(format!(
                "cached copy is {} old",
                sonde_core::duration::format(
                    Duration::from_secs(age.as_secs()).max(Duration::from_secs(1))
                )
            ));
            return self.used(bootstrap, BootstrapSource::Cache, &path, notes);
        }
        let snapshot = Bootstrap::parse(self.registry.snapshot().as_bytes()).unwrap_or(Bootstrap {
            publication: None,
            services: Vec::new(),
        });
        self.used(
            snapshot,
            BootstrapSource::Snapshot,
            Path::new("built-in snapshot"),
            notes,
        )
    }

    fn used(
        &self,
        bootstrap: Bootstrap,
        source: BootstrapSource,
        location: &Path,
        notes: Vec<String>,
    ) -> (Bootstrap, BootstrapUse) {
        let used = BootstrapUse {
            registry: self.registry.name().into(),
            source,
            publication: bootstrap.publication.clone(),
            location: location.display().to_string(),
            note: (!notes.is_empty()).then(|| notes.join("; ")),
        };
        (bootstrap, used)
    }
}

/// The cached copy and its age, `None` when there is none.
async fn read_cache(path: &Path) -> Result<Option<(Bootstrap, Duration)>, String> {
    let meta = match tokio::fs::metadata(path).await {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    if meta.len() > MAX_BOOTSTRAP_BYTES as u64 {
        return Err(format!(
            "{} is larger than {MAX_BOOTSTRAP_BYTES} bytes",
            path.display()
        ));
    }
    let bytes = tokio::fs::read(path)
        .await
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let bootstrap = Bootstrap::parse(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    let age = meta
        .modified()
        .ok()
        .and_then(|m| SystemTime::now().duration_since(m).ok())
        .unwrap_or(Duration::MAX);
    Ok(Some((bootstrap, age)))
}

/// Writes the cache atomically (a temporary file renamed over the old one).
async fn write_cache(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let why = |e: std::io::Error| format!("cannot cache {}: {e}", path.display());
    if let Some(dir) = path.parent() {
        tokio::fs::create_dir_all(dir).await.map_err(why)?;
    }
    let tmp = path.with_extension(format!("json.{}.tmp", std::process::id()));
    tokio::fs::write(&tmp, bytes).await.map_err(why)?;
    tokio::fs::rename(&tmp, path).await.map_err(why)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(registry: Registry, query: Query) -> Option<String> {
        Bootstrap::parse(registry.snapshot().as_bytes())
            .expect("snapshot parses")
            .find(&query)
            .and_then(|u| u.into_iter().next())
    }

    #[test]
    fn snapshots_answer_for_well_known_names() {
        let d = |s: &str| Query::Domain(s.into());
        let ip = |s: &str| Query::Ip(s.parse().unwrap());
        assert_eq!(
            urls(Registry::Dns, d("example.com")).as_deref(),
            Some("https://rdap.verisign.com/com/v1/")
        );
        assert_eq!(urls(Registry::Dns, d("sonde.test")), None);
        assert_eq!(
            urls(Registry::Ipv4, ip("8.8.8.8")).as_deref(),
            Some("https://rdap.arin.net/registry/")
        );
        assert_eq!(
            urls(Registry::Ipv4, ip("193.0.6.139")).as_deref(),
            Some("https://rdap.db.ripe.net/")
        );
        assert_eq!(
            urls(Registry::Ipv6, ip("2001:4860:4860::8888")).as_deref(),
            Some("https://rdap.arin.net/registry/")
        );
        assert_eq!(
            urls(Registry::Asn, Query::Asn(3333)).as_deref(),
            Some("https://rdap.db.ripe.net/")
        );
        assert_eq!(urls(Registry::Asn, Query::Asn(64500)), None);
    }

    #[test]
    fn longest_match_wins_and_https_comes_first() {
        let b = Bootstrap::parse(
            br#"{"services": [
                [["test"], ["http://plain.test/", "https://tld.test/"]],
                [["sub.test"], ["https://sub.test/"]],
                [["203.0.0.0/8"], ["https://rir.test/"]],
                [["203.0.113.0/24"], ["https://lir.test/"]],
                [["64496-64511", "65551"], ["https://as.test/"]],
                "not a service",
                [["x"]],
                [["y"], ["ftp://nope/"]]
            ]}"#,
        )
        .unwrap();
        let first = |q: Query| b.find(&q).map(|u| u[0].clone());
        assert_eq!(
            first(Query::Domain("a.test".into())).as_deref(),
            Some("https://tld.test/")
        );
        assert_eq!(
            first(Query::Domain("a.sub.test".into())).as_deref(),
            Some("https://sub.test/")
        );
        assert_eq!(first(Query::Domain("atest".into())), None);
        assert_eq!(
            first(Query::Ip("203.0.113.9".parse().unwrap())).as_deref(),
            Some("https://lir.test/")
        );
        assert_eq!(
            first(Query::Ip("203.1.0.1".parse().unwrap())).as_deref(),
            Some("https://rir.test/")
        );
        assert_eq!(
            first(Query::Asn(64500)).as_deref(),
            Some("https://as.test/")
        );
        assert_eq!(
            first(Query::Asn(65551)).as_deref(),
            Some("https://as.test/")
        );
        assert_eq!(first(Query::Domain("y".into())), None);
    }

    #[test]
    fn hostile_files_are_errors_not_panics() {
        for bad in [
            &b""[..],
            b"null",
            b"[]",
            b"{\"services\": 5}",
            b"{\"services\": [[[], []]]}",
            b"{\"services\": [[[\"x\"], [\"https://a/\"]]",
            &[0xff, 0xfe, 0x00],
        ] {
            assert!(
                Bootstrap::parse(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[tokio::test]
    async fn cache_then_fetch_then_fallbacks() {
        let dir =
            std::env::temp_dir().join(format!("sonde-whois-bootstrap-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let good = br#"{"publication": "2030-01-01T00:00:00Z", "services": [[["test"], ["https://rdap.test/"]]]}"#.to_vec();
        let source = |refresh, max_age| Source {
            registry: Registry::Dns,
            base_url: "https://bootstrap.test/",
            cache: Some(dir.clone()),
            max_age,
            refresh,
        };
        // Nothing cached, fetch fails: the snapshot.
        let (_, used) = source(true, Duration::from_secs(60))
            .load(|_| async { Err("offline".to_string()) })
            .await;
        assert_eq!(used.source, BootstrapSource::Snapshot);
        assert_eq!(used.note.as_deref(), Some("refresh failed: offline"));
        // A fetch is cached.
        let g = good.clone();
        let (b, used) = source(true, Duration::from_secs(60))
            .load(|url| async move {
                assert_eq!(url, "https://bootstrap.test/dns.json");
                Ok(g)
            })
            .await;
        assert_eq!(used.source, BootstrapSource::Fetched);
        assert_eq!(used.location, "https://bootstrap.test/dns.json");
        assert_eq!(b.publication.as_deref(), Some("2030-01-01T00:00:00Z"));
        assert!(dir.join("dns.json").exists());
        // Fresh cache: no fetch.
        let (_, used) = source(true, Duration::from_secs(60))
            .load(|_| async { panic!("must not fetch") })
            .await;
        assert_eq!(used.source, BootstrapSource::Cache);
        // Stale cache and a broken fetch: the stale cache, with both reasons.
        let (_, used) = source(true, Duration::ZERO)
            .load(|_| async { Ok(b"{garbage".to_vec()) })
            .await;
        assert_eq!(used.source, BootstrapSource::Cache);
        let note = used.note.unwrap_or_default();
        assert!(
            note.starts_with("refresh failed: https://bootstrap.test/dns.json: not JSON"),
            "{note}"
        );
        assert!(note.contains("cached copy is"), "{note}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
