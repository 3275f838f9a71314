//! `http`: an example sonde plugin a user would want. After dns (and tls
//! when it runs), it fetches the target's root over HTTP and HTTPS, at the
//! addresses dns found, and reports the status, the redirect chain (on the
//! same host), the server header, HSTS, the security headers and the
//! timing of each step.
//!
//! ```toml
//! [collectors.http]
//! http-port = 80       # default: the target URL's port for its scheme, else 80
//! https-port = 443     # default: the target URL's port for its scheme, else 443
//! path = "/"
//! max-redirects = 5
//! ca-file = "/path/to/extra-roots.pem"   # trusted besides the system's
//! schemes = ["http", "https"]            # default: the target URL's scheme, else both
//! ```
//!
//! Each check has the time left before the deadline (less a margin to
//! answer in): a check that does not finish is reported as such, and the
//! checks that did finish are kept.
//!
//! It is a plain `cdylib` built on sonde-plugin-sdk: see
//! docs/writing-a-plugin.md.

mod fetch;
pub mod head;
mod view;

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sonde_plugin_sdk::{export_collector, Failure, Input, Manifest, Target};
use url::Url;

pub use view::view;

/// Headers whose presence the report lists (HSTS is reported on its own).
pub const SECURITY_HEADERS: [&str; 5] = [
    "content-security-policy",
    "x-frame-options",
    "x-content-type-options",
    "referrer-policy",
    "permissions-policy",
];

/// How long before its deadline the plugin stops waiting for a check, to
/// have the time to answer with what it has.
const ANSWER_MARGIN: Duration = Duration::from_millis(250);

/// The plugin's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    /// Port for `http`; by default the target URL's port when it is an
    /// `http` URL, else 80.
    pub http_port: Option<u16>,
    /// Port for `https`; by default the target URL's port when it is an
    /// `https` URL, else 443.
    pub https_port: Option<u16>,
    /// The path fetched.
    pub path: String,
    /// How many redirects are followed.
    pub max_redirects: usize,
    /// A PEM file of certificates trusted besides the system's.
    pub ca_file: Option<String>,
    /// Which schemes to try; by default the target URL's scheme when it is
    /// `http` or `https`, else both.
    pub schemes: Option<Vec<String>>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            http_port: None,
            https_port: None,
            path: "/".into(),
            max_redirects: 5,
            ca_file: None,
            schemes: None,
        }
    }
}

/// The schemes to check and the port of each: the settings when given,
/// else what the target URL says (`http://host:8080/` checks only
/// `http`, on 8080), else both schemes on their usual ports.
pub fn schemes_and_ports(config: &Config, target: &Target) -> Vec<(String, u16)> {
    let target_scheme = target
        .scheme
        .as_deref()
        .filter(|s| matches!(*s, "http" | "https"));
    let schemes = config
        .schemes
        .clone()
        .unwrap_or_else(|| match target_scheme {
            Some(s) => vec![s.to_string()],
            None => vec!["http".into(), "https".into()],
        });
    schemes
        .into_iter()
        .map(|scheme| {
            let (set, usual) = if scheme == "https" {
                (config.https_port, 443)
            } else {
                (config.http_port, 80)
            };
            let from_target = target
                .port
                .filter(|_| target_scheme == Some(scheme.as_str()));
            let port = set.or(from_target).unwrap_or(usual);
            (scheme, port)
        })
        .collect()
}

/// One request of a redirect chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hop {
    /// The URL asked.
    pub url: String,
    /// The status answered.
    pub status: u16,
    /// Where it redirected to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Milliseconds until its head was read.
    pub ms: f64,
}

/// Timing of the last request of a chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    /// TCP connect.
    pub connect_ms: f64,
    /// TLS handshake.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_ms: Option<f64>,
    /// From the start of the request to the complete response head.
    pub first_byte_ms: f64,
    /// The whole chain.
    pub total_ms: f64,
}

/// What one scheme gave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// `http` or `https`.
    pub scheme: String,
    /// The first URL asked.
    pub url: String,
    /// Every request of the chain, in order.
    pub hops: Vec<Hop>,
    /// The final status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The `Server` header of the final answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// The final answer's TLS version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_version: Option<String>,
    /// `Strict-Transport-Security` of the final answer (HTTPS only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hsts: Option<String>,
    /// Security headers present, with their values.
    pub security_headers: BTreeMap<String, String>,
    /// Security headers absent.
    pub missing_security_headers: Vec<String>,
    /// Timing of the final request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timing: Option<Timing>,
    /// Why the chain stopped early, when it was not an error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// What went wrong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Output {
    /// The host asked for.
    pub host: String,
    /// The address connected to.
    pub address: String,
    /// One check per scheme.
    pub checks: Vec<Check>,
}

/// The manifest.
pub fn manifest() -> Manifest {
    Manifest::new(
        "http",
        env!("CARGO_PKG_VERSION"),
        "HTTP and HTTPS: status, redirects, server, HSTS, security headers, timing",
    )
    .needs(["dns"])
    .after(["tls"])
    .timeout(std::time::Duration::from_secs(8))
    .config_schema(serde_json::json!({
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "http-port": {"type": "integer", "minimum": 1, "maximum": 65535},
            "https-port": {"type": "integer", "minimum": 1, "maximum": 65535},
            "path": {"type": "string", "minLength": 1},
            "max-redirects": {"type": "integer", "minimum": 0, "maximum": 20},
            "ca-file": {"type": "string", "minLength": 1},
            "schemes": {"type": "array", "items": {"enum": ["http", "https"]}, "minItems": 1}
        }
    }))
    .output_schema(serde_json::json!({
        "type": "object",
        "required": ["host", "address", "checks"],
        "properties": {
            "host": {"type": "string"},
            "address": {"type": "string"},
            "checks": {"type": "array", "items": {
                "type": "object",
                "required": ["scheme", "url", "hops", "security_headers", "missing_security_headers"],
                "properties": {
                    "scheme": {"enum": ["http", "https"]},
                    "url": {"type": "string"},
                    "hops": {"type": "array", "items": {
                        "type": "object",
                        "required": ["url", "status", "ms"],
                        "properties": {"status": {"type": "integer"}, "ms": {"type": "number"}}
                    }},
                    "status": {"type": "integer"},
                    "security_headers": {"type": "object", "additionalProperties": {"type": "string"}},
                    "missing_security_headers": {"type": "array", "items": {"type": "string"}}
                }
            }}
        }
    }))
}

/// The dns section, as far as this plugin reads it.
#[derive(Deserialize)]
struct Dns {
    addresses: Vec<DnsAddress>,
}

#[derive(Deserialize)]
struct DnsAddress {
    ip: IpAddr,
}

fn tls_config(ca_file: Option<&str>) -> Result<Arc<rustls::ClientConfig>, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    if let Some(path) = ca_file {
        let certs =
            CertificateDer::pem_file_iter(path).map_err(|e| format!("ca-file {path}: {e}"))?;
        for cert in certs {
            let cert = cert.map_err(|e| format!("ca-file {path}: {e}"))?;
            roots
                .add(cert)
                .map_err(|e| format!("ca-file {path}: {e}"))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

fn same_host(a: &Url, b: &Url) -> bool {
    a.host_str().map(str::to_ascii_lowercase) == b.host_str().map(str::to_ascii_lowercase)
}

/// Follows one scheme's chain within `budget`; a chain that does not end
/// in time keeps the hops it found and says so.
async fn check(
    scheme: &str,
    port: u16,
    config: &Config,
    host: &str,
    ip: IpAddr,
    tls: Option<Arc<rustls::ClientConfig>>,
    budget: Duration,
) -> Check {
    let host_in_url = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    let first = format!("{scheme}://{host_in_url}:{port}{}", config.path);
    let mut out = Check {
        scheme: scheme.into(),
        url: first.clone(),
        hops: Vec::new(),
        status: None,
        server: None,
        tls_version: None,
        hsts: None,
        security_headers: BTreeMap::new(),
        missing_security_headers: Vec::new(),
        timing: None,
        note: None,
        error: None,
    };
    let followed = follow(&mut out, port, config, host, ip, tls);
    if tokio::time::timeout(budget, followed).await.is_err() {
        out.error = Some(format!(
            "no complete answer within {} ms, the time left before the deadline",
            budget.as_millis()
        ));
    }
    out
}

/// Fills `out` with the chain that starts at its `url`, as far as it goes.
async fn follow(
    out: &mut Check,
    port: u16,
    config: &Config,
    host: &str,
    ip: IpAddr,
    tls: Option<Arc<rustls::ClientConfig>>,
) {
    let first = out.url.clone();
    let host_in_url = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    let mut url = match Url::parse(&first) {
        Ok(u) => u,
        Err(e) => {
            out.error = Some(format!("`{first}` is not a URL: {e}"));
            return;
        }
    };
    out.url = url.to_string();
    let start = Instant::now();
    loop {
        let https = url.scheme() == "https";
        let port = url.port_or_known_default().unwrap_or(port);
        let host_header = match url.port() {
            Some(p) => format!("{host_in_url}:{p}"),
            None => host_in_url.clone(),
        };
        let path = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        };
        let tls_config = if https {
            match &tls {
                Some(c) => Some(Arc::clone(c)),
                None => {
                    out.error = Some("HTTPS is not available: TLS could not be set up".into());
                    return;
                }
            }
        } else {
            None
        };
        let fetched = match fetch::fetch(
            SocketAddr::new(ip, port),
            host,
            &host_header,
            &path,
            tls_config,
        )
        .await
        {
            Ok(f) => f,
            Err(e) => {
                out.error = Some(e);
                return;
            }
        };
        let head = &fetched.head;
        let location = head.header("location").map(str::to_string);
        out.hops.push(Hop {
            url: url.to_string(),
            status: head.status,
            location: location.clone(),
            ms: fetched.first_byte_ms,
        });
        let redirect = (300..400).contains(&head.status);
        let next = location
            .filter(|_| redirect)
            .and_then(|l| url.join(&l).ok());
        let mut done = true;
        match next {
            Some(next) if same_host(&url, &next) && matches!(next.scheme(), "http" | "https") => {
                if out.hops.len() > config.max_redirects {
                    out.note = Some(format!(
                        "stopped after {} redirects (max-redirects)",
                        config.max_redirects
                    ));
                } else {
                    url = next;
                    done = false;
                }
            }
            Some(next) => {
                out.note = Some(format!(
                    "redirects to {next}, on another host: not followed (sonde only contacts the addresses dns found)"
                ));
            }
            None => {}
        }
        if done {
            out.status = Some(head.status);
            out.server = head.header("server").map(str::to_string);
            out.tls_version = fetched.tls_version.clone();
            if https {
                out.hsts = head.header("strict-transport-security").map(str::to_string);
            }
            for name in SECURITY_HEADERS {
                match head.header(name) {
                    Some(v) => {
                        out.security_headers.insert(name.to_string(), v.to_string());
                    }
                    None => out.missing_security_headers.push(name.to_string()),
                }
            }
            out.timing = Some(Timing {
                connect_ms: fetched.connect_ms,
                tls_ms: fetched.tls_ms,
                first_byte_ms: fetched.first_byte_ms,
                total_ms: (start.elapsed().as_secs_f64() * 10_000.0).round() / 10.0,
            });
            return;
        }
    }
}

/// Fetches the root over each scheme, at once.
pub fn collect(input: &Input<Config>) -> Result<Output, Failure> {
    let config = &input.config;
    let host = input.target.host.clone();
    let ip = match input.target.kind.as_str() {
        "ipv4" | "ipv6" => host
            .parse::<IpAddr>()
            .map_err(|e| Failure::failed(format!("target address `{host}`: {e}")))?,
        _ => input
            .section::<Dns>("dns")
            .and_then(|d| d.addresses.first().map(|a| a.ip))
            .ok_or_else(|| Failure::skipped("dns found no address to connect to"))?,
    };
    let plan = schemes_and_ports(config, &input.target);
    // Also for `http` alone: its chain may redirect to `https`.
    let tls = match tls_config(config.ca_file.as_deref()) {
        Ok(c) => Some(c),
        Err(e) => {
            input.warn(e);
            None
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::failed(format!("cannot start a runtime: {e}")))?;
    // Each check has the time left, less the time to answer: one that
    // hangs does not cost the others their result.
    let budget = input.remaining().saturating_sub(ANSWER_MARGIN);
    // Both schemes at once: their times overlap.
    let checks = runtime
        .block_on(futures_util::future::join_all(plan.iter().map(
            |(s, port)| check(s, *port, config, &host, ip, tls.clone(), budget),
        )));
    let output = Output {
        host: host.clone(),
        address: ip.to_string(),
        checks,
    };
    let errors: Vec<String> = output
        .checks
        .iter()
        .filter_map(|c| c.error.as_ref().map(|e| format!("{}: {e}", c.scheme)))
        .collect();
    if errors.len() == output.checks.len() {
        return Err(Failure::partial(errors.join("; "), &output));
    }
    for e in errors {
        input.warn(e);
    }
    Ok(output)
}

export_collector!(manifest, collect, view);

#[cfg(test)]
mod tests {
    use super::*;

    fn target(scheme: Option<&str>, port: Option<u16>) -> Target {
        Target {
            input: "x".into(),
            host: "example.com".into(),
            kind: "name".into(),
            scheme: scheme.map(str::to_string),
            port,
        }
    }

    #[test]
    fn schemes_and_ports_come_from_the_settings_then_the_target() {
        let set = |http: Option<u16>, https: Option<u16>, schemes: Option<&[&str]>| Config {
            http_port: http,
            https_port: https,
            schemes: schemes.map(|s| s.iter().map(|s| s.to_string()).collect()),
            ..Config::default()
        };
        let both = || vec![("http".to_string(), 80), ("https".to_string(), 443)];
        let cases = [
            (Config::default(), target(None, None), both()),
            (
                Config::default(),
                target(Some("http"), Some(9)),
                vec![("http".into(), 9)],
            ),
            (
                Config::default(),
                target(Some("https"), None),
                vec![("https".into(), 443)],
            ),
            // Another scheme says nothing about HTTP.
            (Config::default(), target(Some("ftp"), Some(21)), both()),
            // Settings win over the target.
            (
                set(Some(8080), None, None),
                target(Some("http"), Some(9)),
                vec![("http".into(), 8080)],
            ),
            (
                set(None, None, Some(&["http", "https"])),
                target(Some("https"), Some(8443)),
                vec![("http".into(), 80), ("https".into(), 8443)],
            ),
            (
                set(Some(1), Some(2), None),
                target(None, None),
                vec![("http".into(), 1), ("https".into(), 2)],
            ),
        ];
        for (config, target, want) in cases {
            assert_eq!(schemes_and_ports(&config, &target), want, "{target:?}");
        }
    }
}
