//! One WHOIS exchange: connect, send the query line, read to the end, all bounded.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use sonde_dns::Resolver;

/// What one server did.
pub(super) struct Answer {
    /// The address connected to.
    pub(super) address: Option<SocketAddr>,
    /// Bytes received.
    pub(super) bytes: usize,
    /// Time spent.
    pub(super) elapsed: Duration,
    /// The whole answer, or why there is none.
    pub(super) text: Result<String, String>,
}

/// Asks `host:port` for `line`, reading at most `max_bytes`, never past `deadline`.
/// `limit` says in words what the deadline is ("within 4s").
pub(super) async fn ask(
    host: &str,
    port: u16,
    line: &str,
    resolver: &Resolver,
    max_bytes: usize,
    deadline: Instant,
    limit: &str,
) -> Answer {
    let started = Instant::now();
    let mut answer = Answer {
        address: None,
        bytes: 0,
        elapsed: Duration::ZERO,
        text: Err(String::new()),
    };
    answer.text = exchange(
        host,
        port,
        line,
        resolver,
        max_bytes,
        deadline,
        limit,
        &mut answer,
    )
    .await;
    answer.elapsed = started.elapsed();
    answer
}

#[allow(clippy::too_many_arguments)]
async fn exchange(
    host: &str,
    port: u16,
    line: &str,
    resolver: &Resolver,
    max_bytes: usize,
    deadline: Instant,
    limit: &str,
    answer: &mut Answer,
) -> Result<String, String> {
    let ips = resolver.host_addresses(host, deadline).await?;
    let mut stream = connect(&ips, port, deadline, limit).await?;
    answer.address = stream.peer_addr().ok();
    let at = answer
        .address
        .map(|a| a.to_string())
        .unwrap_or_else(|| host.to_string());
    let request = format!("{line}\r\n");
    match tokio::time::timeout_at(deadline, stream.write_all(request.as_bytes())).await {
        Err(_) => return Err(format!("{at} did not take the query {limit}")),
        Ok(Err(e)) => return Err(format!("cannot send the query to {at}: {e}")),
        Ok(Ok(())) => {}
    }
    let mut body = Vec::new();
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Err(_) => {
                answer.bytes = body.len();
                return Err(format!(
                    "no complete answer from {at} {limit} ({} bytes received)",
                    body.len()
                ));
            }
            Ok(Err(e)) if body.is_empty() => {
                return Err(format!("{at} closed the connection: {e}"));
            }
            // A reset after data: keep what came, as the `whois` tool does.
            Ok(Err(_)) | Ok(Ok(0)) => break,
            Ok(Ok(n)) => {
                body.extend_from_slice(&chunk[..n]);
                answer.bytes = body.len();
                if body.len() > max_bytes {
                    return Err(format!(
                        "{at} sent more than {max_bytes} bytes; stopped reading"
                    ));
                }
            }
        }
    }
    if body.is_empty() {
        return Err(format!("{at} closed the connection without answering"));
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// Connects to the first address that accepts, in order.
async fn connect(
    ips: &[IpAddr],
    port: u16,
    deadline: Instant,
    limit: &str,
) -> Result<TcpStream, String> {
    let mut errors = Vec::new();
    for &ip in ips {
        let addr = SocketAddr::new(ip, port);
        match tokio::time::timeout_at(deadline, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => return Ok(stream),
            Ok(Err(e)) => errors.push(format!("{addr}: {e}")),
            Err(_) => {
                errors.push(format!("{addr}: no connection {limit}"));
                break;
            }
        }
    }
    Err(format!("cannot connect: {}", errors.join("; ")))
}
