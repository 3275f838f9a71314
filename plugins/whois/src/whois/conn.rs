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
    pub(super) address: SocketAddr,
    /// Bytes received.
    pub(super) bytes: usize,
    /// Time spent, from resolving the server's name to the end of the answer.
    pub(super) elapsed: Duration,
    /// The whole answer, or why there is none.
    pub(super) text: Result<String, String>,
}

/// A connection to a WHOIS server, nothing sent yet: the caller can still see where it
/// leads (a referral loop through another name for the same server) before asking.
pub(super) struct Connection {
    stream: TcpStream,
    address: SocketAddr,
    started: Instant,
}

/// Resolves `host` through `resolver` and connects to `port` on the first of its addresses
/// that accepts, never past `deadline`. `limit` says in words what the deadline is
/// ("within 4s").
pub(super) async fn connect(
    host: &str,
    port: u16,
    resolver: &Resolver,
    deadline: Instant,
    limit: &str,
) -> Result<Connection, String> {
    let started = Instant::now();
    let ips = resolver.host_addresses(host, deadline).await?;
    let (stream, address) = connect_first(&ips, port, deadline, limit).await?;
    Ok(Connection {
        stream,
        address,
        started,
    })
}

impl Connection {
    /// The server's address and port, IPv4-mapped IPv6 addresses as IPv4: the same server
    /// reached by two names, or by a name and an address, has the same one.
    pub(super) fn address(&self) -> SocketAddr {
        SocketAddr::new(self.address.ip().to_canonical(), self.address.port())
    }

    /// Sends `line` and reads the answer to the end, at most `max_bytes`, never past
    /// `deadline`.
    pub(super) async fn ask(
        self,
        line: &str,
        max_bytes: usize,
        deadline: Instant,
        limit: &str,
    ) -> Answer {
        let Connection {
            mut stream,
            address,
            started,
        } = self;
        let mut bytes = 0;
        let text = exchange(
            &mut stream,
            address,
            line,
            max_bytes,
            deadline,
            limit,
            &mut bytes,
        )
        .await;
        Answer {
            address,
            bytes,
            elapsed: started.elapsed(),
            text,
        }
    }
}

async fn exchange(
    stream: &mut TcpStream,
    at: SocketAddr,
    line: &str,
    max_bytes: usize,
    deadline: Instant,
    limit: &str,
    bytes: &mut usize,
) -> Result<String, String> {
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
                *bytes = body.len();
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
async fn connect_first(
    ips: &[IpAddr],
    port: u16,
    deadline: Instant,
    limit: &str,
) -> Result<(TcpStream, SocketAddr), String> {
    let mut errors = Vec::new();
    for &ip in ips {
        let addr = SocketAddr::new(ip, port);
        match tokio::time::timeout_at(deadline, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => return Ok((stream, addr)),
            Ok(Err(e)) => errors.push(format!("{addr}: {e}")),
            Err(_) => {
                errors.push(format!("{addr}: no connection {limit}"));
                break;
            }
        }
    }
    Err(format!("cannot connect: {}", errors.join("; ")))
}
