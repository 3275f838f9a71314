//! `http`: an example sonde plugin a user would want. After dns (and tls
//! when it runs), it fetches the target's root over HTTP and HTTPS, at the
//! addresses dns found, and reports the status, the redirect chain (on the
//! same host), the server header, HSTS, the security headers and the
//! timing of each step.
//!
//! ```toml
//! [collectors.http]
//! http-port = 80
//! https-port = 443
//! path = "/"
//! max-redirects = 5
//! ca-file = "/path/to/extra-roots.pem"   # trusted besides the system's
//! schemes = ["http", "https"]
//! ```
//!
//! It is a plain `cdylib` built on sonde-plugin-sdk: see
//! docs/writing-a-plugin.md.

mod fetch;
pub mod head;
mod view;

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use sonde_plugin_sdk::{export_collector, Failure, Input, Manifest};
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

/// The plugin's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    /// Port for `http`.
    pub http_port: u16,
    /// Port for `https`.
    pub https_port: u16,
    /// The path fetched.
    pub path: String,
    /// How many redirects are followed.
    pub max_redirects: usize,
    /// A PEM file of certificates trusted besides the system's.
    pub ca_file: Option<String>,
    /// Which schemes to try.
    pub schemes: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            http_port: 80,
            https_port: 443,
            path: "/".into(),
            max_redirects: 5,
            ca_file: None,
            schemes: vec!["http".into(), "https".into()],
        }
    }
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

/// Follows one scheme's chain.
async fn check(
    scheme: &str,
    config: &Config,
    host: &str,
    ip: IpAddr,
    tls: Option<Arc<rustls::ClientConfig>>,
) -> Check {
    let port = if scheme == "https" {
        config.https_port
    } else {
        config.http_port
    };
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
    let mut url = match Url::parse(&first) {
        Ok(u) => u,
        Err(e) => {
            out.error = Some(format!("`{first}` is not a URL: {e}"));
            return out;
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
                    return out;
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
                return out;
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
            return out;
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
    let tls = if config.schemes.iter().any(|s| s == "https") {
        match tls_config(config.ca_file.as_deref()) {
            Ok(c) => Some(c),
            Err(e) => {
                input.warn(e);
                None
            }
        }
    } else {
        None
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::failed(format!("cannot start a runtime: {e}")))?;
    let remaining = input.remaining();
    // Both schemes at once: their times overlap.
    let checks = runtime.block_on(async {
        let all = config
            .schemes
            .iter()
            .map(|s| check(s, config, &host, ip, tls.clone()));
        tokio::time::timeout(remaining, futures_util::future::join_all(all)).await
    });
    let checks = checks.map_err(|_| Failure::failed("the deadline passed before any answer"))?;
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
