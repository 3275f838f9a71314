//! The HTTP(S) client sonde's collectors share: RDAP in whois, RDAP autnum in asn, an
//! ipinfo-style API in geo.
//!
//! One way to do it for all of them: reqwest over rustls with the ring provider (the
//! workspace's one TLS stack), trusting the bundled web roots (webpki-roots) plus an optional
//! CA file; host names resolved through the run's own DNS servers, never the machine's, so
//! that what sonde reports is what that network's DNS says and the lab can serve any name;
//! bodies read with a size bound; every request bounded by its own timeout and the
//! collector's deadline; errors in a few words, naming the URL.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Once};
use std::time::Duration;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use sonde_dns::Resolver;
use tokio::time::Instant;

/// Why a request gave nothing usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// The server answered with an error status.
    #[error("{url} answered HTTP {status}{}", describe_status(*status, retry_after.as_deref()))]
    Status {
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
        /// The `Retry-After` header, for 429 and 503.
        retry_after: Option<String>,
    },
    /// No complete answer: connection, TLS, timeout, size.
    #[error("{url}: {why}")]
    Transport {
        /// The URL.
        url: String,
        /// What went wrong.
        why: String,
    },
}

fn describe_status(status: u16, retry_after: Option<&str>) -> String {
    match status {
        404 => " (not found: the server has no such object)".to_string(),
        429 => format!(
            " (rate limited{})",
            retry_after
                .map(|r| format!("; retry after {r} s"))
                .unwrap_or_default()
        ),
        503 => " (unavailable)".to_string(),
        _ => String::new(),
    }
}

/// The process-wide rustls provider: ring, installed once so every TLS user in sonde agrees.
pub fn install_ring() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Another part of the process may have installed ring first; that is the same choice.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// The TLS settings: web roots plus the certificates of `ca_file` (errors name the
/// `ca-file` setting and the file).
pub fn tls_config(ca_file: Option<&Path>) -> Result<rustls::ClientConfig, String> {
    install_ring();
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(path) = ca_file {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .map_err(|e| format!("ca-file: cannot read {}: {e}", path.display()))?
            .collect::<Result<_, _>>()
            .map_err(|e| format!("ca-file: {}: {e}", path.display()))?;
        if certs.is_empty() {
            return Err(format!("ca-file: no certificate in {}", path.display()));
        }
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| format!("ca-file: {}: {e}", path.display()))?;
        }
    }
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map(|b| b.with_root_certificates(roots).with_no_client_auth())
        .map_err(|e| format!("TLS settings: {e}"))
}

/// How a [`Client`] is built.
#[derive(Debug, Clone)]
pub struct ClientOptions<'a> {
    /// Certificates trusted beside the web roots (the collector's `ca-file` setting).
    pub ca_file: Option<&'a Path>,
    /// The servers every host name is resolved through (the run's, from the dns section).
    pub resolver: Resolver,
    /// No name is resolved past this instant (the collector's deadline).
    pub deadline: Instant,
    /// Refuse `http://` URLs, redirects included.
    pub https_only: bool,
    /// Most redirects followed.
    pub max_redirects: usize,
}

/// One GET.
#[derive(Debug, Clone, Copy)]
pub struct Get<'a> {
    /// The URL.
    pub url: &'a str,
    /// The `Accept` header.
    pub accept: &'a str,
    /// A bearer token for the `Authorization` header.
    pub bearer: Option<&'a str>,
    /// Largest body read; a larger one is an error.
    pub max_bytes: usize,
    /// The request's own time limit.
    pub timeout: Duration,
    /// The collector's deadline, which the request never passes.
    pub deadline: Instant,
}

/// A complete answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The body, at most [`Get::max_bytes`].
    pub body: Vec<u8>,
}

/// An HTTP(S) client; cheap to clone.
#[derive(Clone)]
pub struct Client {
    client: reqwest::Client,
}

impl Client {
    /// A client with these options.
    pub fn new(options: ClientOptions<'_>) -> Result<Client, String> {
        let tls = tls_config(options.ca_file)?;
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .dns_resolver(Arc::new(Names {
                resolver: options.resolver,
                deadline: options.deadline,
            }))
            .no_proxy()
            .https_only(options.https_only)
            .redirect(reqwest::redirect::Policy::limited(options.max_redirects))
            .user_agent(concat!("sonde/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                format!(
                    "cannot build the HTTP client: {}",
                    sonde_core::error_chain(&e)
                )
            })?;
        Ok(Client { client })
    }

    /// GETs a URL: its status and body whatever the status (APIs explain their errors in
    /// the body).
    pub async fn fetch(&self, get: &Get<'_>) -> Result<Answer, HttpError> {
        self.send(get, false).await
    }

    /// GETs a URL; statuses other than 2xx are [`HttpError::Status`].
    pub async fn get(&self, get: &Get<'_>) -> Result<Answer, HttpError> {
        self.send(get, true).await
    }

    async fn send(&self, get: &Get<'_>, success_only: bool) -> Result<Answer, HttpError> {
        let &Get {
            url,
            accept,
            bearer,
            max_bytes,
            timeout,
            deadline,
        } = get;
        let own = Instant::now() + timeout;
        let limit = if own <= deadline {
            format!("within {}", sonde_core::duration::format(timeout))
        } else {
            "before the collector's deadline".to_string()
        };
        let transport = |why: String| HttpError::Transport {
            url: url.to_string(),
            why,
        };
        let work = async {
            let mut request = self.client.get(url).header(reqwest::header::ACCEPT, accept);
            if let Some(token) = bearer {
                request = request.bearer_auth(token);
            }
            let mut response = request.send().await.map_err(|e| transport(describe(&e)))?;
            let status = response.status().as_u16();
            if success_only && !response.status().is_success() {
                let retry_after = response
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .map(|v| v.chars().take(40).collect());
                return Err(HttpError::Status {
                    url: url.to_string(),
                    status,
                    retry_after,
                });
            }
            if response
                .content_length()
                .is_some_and(|n| n > max_bytes as u64)
            {
                return Err(transport(format!(
                    "announces a body larger than {max_bytes} bytes"
                )));
            }
            let mut body = Vec::new();
            while let Some(chunk) = response
                .chunk()
                .await
                .map_err(|e| transport(describe(&e)))?
            {
                body.extend_from_slice(&chunk);
                if body.len() > max_bytes {
                    return Err(transport(format!(
                        "body larger than {max_bytes} bytes; stopped reading"
                    )));
                }
            }
            Ok(Answer { status, body })
        };
        match tokio::time::timeout_at(own.min(deadline), work).await {
            Ok(result) => result,
            Err(_) => Err(transport(format!("no complete answer {limit}"))),
        }
    }
}

/// reqwest's resolver hook: every host name (redirects and links included) goes through the
/// run's DNS servers.
struct Names {
    resolver: Resolver,
    deadline: Instant,
}

impl reqwest::dns::Resolve for Names {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let resolver = self.resolver.clone();
        let deadline = self.deadline;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let ips = resolver
                .host_addresses(&host, deadline)
                .await
                .map_err(|e| Box::new(std::io::Error::other(e)) as Box<_>)?;
            let addrs: reqwest::dns::Addrs =
                Box::new(ips.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

/// A reqwest error in a few words: what failed, and the innermost cause (the resolver's
/// answer, the certificate problem), without reqwest's layers repeating the URL.
fn describe(err: &reqwest::Error) -> String {
    let what = if err.is_connect() {
        "cannot connect"
    } else if err.is_timeout() {
        "timed out"
    } else if err.is_redirect() {
        "bad redirect"
    } else if err.is_body() || err.is_decode() {
        "body could not be read"
    } else {
        "request failed"
    };
    let mut innermost: &dyn std::error::Error = err;
    while let Some(source) = innermost.source() {
        innermost = source;
    }
    format!("{what}: {innermost}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ca_file_errors_name_the_key_and_file() {
        let err = tls_config(Some(Path::new("/nonexistent/ca.pem"))).expect_err("missing");
        assert!(
            err.starts_with("ca-file: cannot read /nonexistent/ca.pem"),
            "{err}"
        );
        let dir = std::env::temp_dir().join(format!("sonde-http-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "no pem here\n").unwrap();
        let err = tls_config(Some(&empty)).expect_err("empty");
        assert!(err.contains("no certificate in"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
        assert!(tls_config(None).is_ok());
    }

    #[test]
    fn status_errors_read_well() {
        let e = HttpError::Status {
            url: "https://rdap.test/domain/x.test".into(),
            status: 429,
            retry_after: Some("30".into()),
        };
        assert_eq!(
            e.to_string(),
            "https://rdap.test/domain/x.test answered HTTP 429 (rate limited; retry after 30 s)"
        );
        let e = HttpError::Status {
            url: "u".into(),
            status: 404,
            retry_after: None,
        };
        assert_eq!(
            e.to_string(),
            "u answered HTTP 404 (not found: the server has no such object)"
        );
    }
}
