//! A blocking DNS client for tests: one query, one answer, no retries, no resolver logic, so
//! a test sees exactly what the lab's server sent. Run it inside the client namespace
//! ([`crate::Lab::run_in`]).

use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, UdpSocket};
use std::time::Duration;

use hickory_proto::op::{Edns, Message, Query};
use hickory_proto::rr::{Name, RecordType};

/// The EDNS buffer size the client advertises over UDP.
pub const CLIENT_UDP_PAYLOAD: u16 = 4096;

/// How the query is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// One UDP datagram each way, with EDNS ([`CLIENT_UDP_PAYLOAD`]).
    Udp,
    /// A TCP connection with 2-byte length framing.
    Tcp,
}

/// Sends one query for `name`/`record_type` to `server` port 53 and returns the answer.
///
/// A silent server gives an error of kind `WouldBlock` or `TimedOut` after `timeout`.
pub fn query(
    server: IpAddr,
    name: &str,
    record_type: RecordType,
    transport: Transport,
    timeout: Duration,
) -> io::Result<Message> {
    let qname = Name::from_ascii(name).map_err(io::Error::other)?;
    let mut request = Message::query();
    request.metadata.recursion_desired = true;
    request.add_query(Query::query(qname, record_type));
    let server = SocketAddr::new(server, 53);
    let answer = match transport {
        Transport::Udp => {
            let mut edns = Edns::new();
            edns.set_max_payload(CLIENT_UDP_PAYLOAD);
            request.set_edns(edns);
            udp_exchange(
                server,
                &request.to_vec().map_err(io::Error::other)?,
                timeout,
            )?
        }
        Transport::Tcp => tcp_exchange(
            server,
            &request.to_vec().map_err(io::Error::other)?,
            timeout,
        )?,
    };
    let answer = Message::from_vec(&answer).map_err(io::Error::other)?;
    if answer.metadata.id != request.metadata.id {
        return Err(io::Error::other("answer id does not match the query"));
    }
    Ok(answer)
}

fn udp_exchange(server: SocketAddr, request: &[u8], timeout: Duration) -> io::Result<Vec<u8>> {
    let local: IpAddr = match server {
        SocketAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
        SocketAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
    };
    let socket = UdpSocket::bind(SocketAddr::new(local, 0))?;
    socket.connect(server)?;
    socket.set_read_timeout(Some(timeout))?;
    socket.send(request)?;
    let mut buf = vec![0u8; 65535];
    let len = socket.recv(&mut buf)?;
    buf.truncate(len);
    Ok(buf)
}

fn tcp_exchange(server: SocketAddr, request: &[u8], timeout: Duration) -> io::Result<Vec<u8>> {
    let mut stream = TcpStream::connect_timeout(&server, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let len = u16::try_from(request.len()).map_err(io::Error::other)?;
    let mut framed = len.to_be_bytes().to_vec();
    framed.extend_from_slice(request);
    stream.write_all(&framed)?;
    let mut len = [0u8; 2];
    stream.read_exact(&mut len)?;
    let mut answer = vec![0u8; usize::from(u16::from_be_bytes(len))];
    stream.read_exact(&mut answer)?;
    Ok(answer)
}
