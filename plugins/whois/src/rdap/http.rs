//! HTTPS for RDAP: reqwest over rustls with the ring provider, trusting the bundled web
//! roots (webpki-roots) plus an optional `ca-file`, host names resolved through the run's
//! DNS servers, bodies read with a size bound.

use std::path::Path;
use std::sync::{Arc, Once};
use std::time::Duration;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use tokio::time::Instant;

use crate::resolve::{HttpNames, Names};

/// Most redirects followed (RDAP aggregators redirect to the authoritative server).
const MAX_REDIRECTS: usize = 5;

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
    let words = match status {
        404 => " (not found: the server has no such object)".to_string(),
        429 => format!(
            " (rate limited{})",
            retry_after
                .map(|r| format!("; retry after {r} s"))
                .unwrap_or_default()
        ),
        503 => " (unavailable)".to_string(),
        _ => String::new(),
    };
    words
}

/// The process-wide rustls provider: ring, installed once so every TLS user in sonde agrees.
pub fn install_ring() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Another part of the process may have installed ring first; that is the same choice.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// The TLS settings: web roots plus the certificates of `ca_file`.
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

/// An HTTPS client for RDAP.
#[derive(Clone)]
pub struct Http {
    client: reqwest::Client,
}

impl Http {
    /// A client whose host names resolve through `names` until `deadline`.
    pub fn new(ca_file: Option<&Path>, names: Names, deadline: Instant) -> Result<Http, String> {
        let tls = tls_config(ca_file)?;
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .dns_resolver(HttpNames::shared(names, deadline))
            .no_proxy()
            .https_only(true)
            .redirect(reqwest::redirect::Policy::limited(MAX_REDIRECTS))
            .user_agent(concat!("sonde/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTPS client: {}", chain(&e)))?;
        Ok(Http { client })
    }

    /// GETs `url` and returns its status and body (at most `max_bytes`), never past
    /// `deadline` nor `timeout`. Statuses other than 2xx are errors.
    pub async fn get(
        &self,
        url: &str,
        accept: &str,
        max_bytes: usize,
        timeout: Duration,
        deadline: Instant,
    ) -> Result<(u16, Vec<u8>), HttpError> {
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
            let mut response = self
                .client
                .get(url)
                .header(reqwest::header::ACCEPT, accept)
                .send()
                .await
                .map_err(|e| transport(describe(&e)))?;
            let status = response.status().as_u16();
            if !response.status().is_success() {
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
            Ok((status, body))
        };
        match tokio::time::timeout_at(own.min(deadline), work).await {
            Ok(result) => result,
            Err(_) => Err(transport(format!("no complete answer {limit}"))),
        }
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

/// An error and its sources in one line, without repeats.
fn chain(err: &dyn std::error::Error) -> String {
    let mut msg = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !msg.contains(&text) {
            msg.push_str(": ");
            msg.push_str(&text);
        }
        source = s.source();
    }
    msg
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
        let dir = std::env::temp_dir().join(format!("sonde-whois-ca-{}", std::process::id()));
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
