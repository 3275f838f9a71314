//! One GET of one URL at one address: connect, TLS when asked, request,
//! and the response head, each timed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::head::{self, Head};

/// What one exchange gave.
#[derive(Debug)]
pub struct Fetched {
    /// The response head.
    pub head: Head,
    /// The TLS version, for HTTPS.
    pub tls_version: Option<String>,
    /// Milliseconds to connect.
    pub connect_ms: f64,
    /// Milliseconds of the TLS handshake.
    pub tls_ms: Option<f64>,
    /// Milliseconds from the start to the complete head.
    pub first_byte_ms: f64,
}

fn ms(since: Instant) -> f64 {
    (since.elapsed().as_secs_f64() * 10_000.0).round() / 10.0
}

/// Fetches `path` from `host` at `addr`, over TLS when `tls` is given.
pub async fn fetch(
    addr: SocketAddr,
    host: &str,
    host_header: &str,
    path: &str,
    tls: Option<Arc<rustls::ClientConfig>>,
) -> Result<Fetched, String> {
    let start = Instant::now();
    let tcp = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    let connect_ms = ms(start);
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: sonde-http/{}\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        env!("CARGO_PKG_VERSION")
    );
    match tls {
        None => {
            let head = exchange(tcp, &request).await?;
            Ok(Fetched {
                head,
                tls_version: None,
                connect_ms,
                tls_ms: None,
                first_byte_ms: ms(start),
            })
        }
        Some(config) => {
            let name = ServerName::try_from(host.to_string())
                .map_err(|e| format!("`{host}` cannot be a TLS server name: {e}"))?;
            let tls_start = Instant::now();
            let stream = tokio_rustls::TlsConnector::from(config)
                .connect(name, tcp)
                .await
                .map_err(|e| format!("TLS handshake with {addr} failed: {e}"))?;
            let tls_ms = ms(tls_start);
            let tls_version = stream
                .get_ref()
                .1
                .protocol_version()
                .and_then(|v| v.as_str())
                .map(|v| {
                    v.replace('_', ".")
                        .replace("TLSv1.", "TLS 1.")
                        .replace("TLSv1", "TLS 1.0")
                });
            let head = exchange(stream, &request).await?;
            Ok(Fetched {
                head,
                tls_version,
                connect_ms,
                tls_ms: Some(tls_ms),
                first_byte_ms: ms(start),
            })
        }
    }
}

/// Writes the request and reads until the head is complete (bounded).
async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    request: &str,
) -> Result<Head, String> {
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("cannot send the request: {e}"))?;
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream
            .read(&mut chunk)
            .await
            .map_err(|e| format!("cannot read the response: {e}"))?;
        if n == 0 {
            return Err(if buf.is_empty() {
                "the server closed the connection without answering".into()
            } else {
                "the server closed the connection in the middle of the response head".into()
            });
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(head) = head::parse(&buf)? {
            return Ok(head);
        }
    }
}
