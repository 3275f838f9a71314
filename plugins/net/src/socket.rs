//! [`PacketSocket`]: a non-blocking socket driven by tokio that sends with a
//! chosen TTL and receives datagrams, their TTL, and the ICMP errors the
//! kernel queued for it (IP_RECVERR), with the router that sent each.
//!
//! Everything goes through safe APIs (socket2, nix's `recvmsg`, tokio's
//! `AsyncFd`): no `unsafe` here.

use std::io::{self, IoSliceMut};
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;
use std::time::Instant;

use nix::errno::Errno;
use nix::sys::socket::{
    recvmsg, setsockopt, sockopt, ControlMessageOwned, MsgFlags, SockaddrLike, SockaddrStorage,
};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use crate::access::Rung;
use crate::packet::{ErrorKind, Family};

/// Sends tried before an error is taken as the send's own (see [`PacketSocket::send_to`]).
const SEND_TRIES: u32 = 8;

/// Who produced a queued error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorOrigin {
    /// An ICMP or ICMPv6 message from the network.
    Icmp,
    /// The local stack (e.g. no route, message too long).
    Local,
    /// Something else (timestamping, zero-copy notices).
    Other(u8),
}

/// An error the kernel queued for the socket: an ICMP error about a packet
/// it sent, or a local failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueuedError {
    /// Who produced it.
    pub origin: ErrorOrigin,
    /// ICMP type (for [`ErrorOrigin::Icmp`]).
    pub icmp_type: u8,
    /// ICMP code.
    pub icmp_code: u8,
    /// The host that sent the ICMP error.
    pub offender: Option<IpAddr>,
    /// The errno the error maps to.
    pub errno: i32,
}

impl QueuedError {
    /// The error's kind in the family's ICMP numbering, for ICMP errors.
    pub fn kind(&self, family: Family) -> Option<ErrorKind> {
        match self.origin {
            ErrorOrigin::Icmp => ErrorKind::from_type(family, self.icmp_type, self.icmp_code),
            _ => None,
        }
    }
}

/// One thing received: a datagram, or an error from the error queue (then
/// the bytes are the start of the packet the error is about, as the kernel
/// keeps it: for ICMP datagram sockets the quoted ICMP header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    /// The sender (for an error: the original destination).
    pub from: Option<IpAddr>,
    /// Bytes written to the buffer.
    pub len: usize,
    /// TTL or hop limit of the datagram, when the kernel told.
    pub ttl: Option<u8>,
    /// Set when this came from the error queue.
    pub error: Option<QueuedError>,
    /// When it was read.
    pub at: Instant,
}

/// A tokio-driven socket for probes and replies.
#[derive(Debug)]
pub struct PacketSocket {
    fd: AsyncFd<Socket>,
    family: Family,
    recv_err: bool,
}

impl PacketSocket {
    /// An ICMP socket: raw for [`Rung::Raw`], datagram otherwise. Datagram
    /// sockets read errors from their error queue; raw sockets get them as
    /// packets.
    pub fn icmp(family: Family, rung: Rung) -> io::Result<PacketSocket> {
        let kind = if rung == Rung::Raw {
            Type::RAW
        } else {
            Type::DGRAM
        };
        let (domain, protocol) = match family {
            Family::V4 => (Domain::IPV4, Protocol::ICMPV4),
            Family::V6 => (Domain::IPV6, Protocol::ICMPV6),
        };
        let socket = Socket::new(domain, kind, Some(protocol))?;
        PacketSocket::new(socket, family, rung != Rung::Raw)
    }

    /// A UDP socket; errors about what it sends come through its error
    /// queue.
    pub fn udp(family: Family) -> io::Result<PacketSocket> {
        let domain = match family {
            Family::V4 => Domain::IPV4,
            Family::V6 => Domain::IPV6,
        };
        let socket = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
        PacketSocket::new(socket, family, true)
    }

    /// Wraps an open socket: non-blocking, TTL reporting on, and the error
    /// queue when `recv_err`.
    pub fn new(socket: Socket, family: Family, recv_err: bool) -> io::Result<PacketSocket> {
        socket.set_nonblocking(true)?;
        match family {
            Family::V4 => {
                setsockopt(&socket, sockopt::Ipv4RecvTtl, &true).map_err(io::Error::from)?;
                if recv_err {
                    setsockopt(&socket, sockopt::Ipv4RecvErr, &true).map_err(io::Error::from)?;
                }
            }
            Family::V6 => {
                socket.set_recv_hoplimit_v6(true)?;
                if recv_err {
                    setsockopt(&socket, sockopt::Ipv6RecvErr, &true).map_err(io::Error::from)?;
                }
            }
        }
        let fd = register(socket)?;
        Ok(PacketSocket {
            fd,
            family,
            recv_err,
        })
    }

    /// The underlying socket (to bind, connect, or read its address).
    pub fn socket(&self) -> &Socket {
        self.fd.get_ref()
    }

    /// The family.
    pub fn family(&self) -> Family {
        self.family
    }

    /// The local port; for an ICMP datagram socket, the echo identifier the
    /// kernel puts in every request it sends.
    pub fn local_port(&self) -> io::Result<u16> {
        let addr = self.socket().local_addr()?;
        addr.as_socket()
            .map(|a| a.port())
            .ok_or_else(|| io::Error::other("socket has no IP address"))
    }

    /// Sets the TTL (IPv4) or unicast hop limit (IPv6) of what is sent next.
    pub fn set_ttl(&self, ttl: u8) -> io::Result<()> {
        match self.family {
            Family::V4 => self.socket().set_ttl_v4(u32::from(ttl)),
            Family::V6 => self.socket().set_unicast_hops_v6(u32::from(ttl)),
        }
    }

    /// Sends `data` to `ip`:`port` (the port is 0 for ICMP).
    ///
    /// With the error queue on, the kernel also keeps the last ICMP error as
    /// the socket's pending error and fails the next send with it once;
    /// that error belongs to an earlier probe (it is read from the queue),
    /// so the send is tried again. With every TTL in flight, time-exceeded
    /// replies (EHOSTUNREACH) keep arriving between two tries, so a few tries
    /// are allowed; an error that persists past them is the send's own.
    pub async fn send_to(&self, data: &[u8], ip: IpAddr, port: u16) -> io::Result<usize> {
        let to = SockAddr::from(SocketAddr::new(ip, port));
        let send = || {
            self.fd
                .async_io(Interest::WRITABLE, |s| s.send_to(data, &to))
        };
        let mut tries = 1;
        loop {
            match send().await {
                Err(e) if self.recv_err && tries < SEND_TRIES && is_pending_icmp_error(&e) => {
                    tries += 1
                }
                other => return other,
            }
        }
    }

    /// Waits for the next datagram or queued error. A socket closed for
    /// reading with nothing left to read is an error (tokio keeps reporting
    /// a closed socket as ready, so waiting on would spin).
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<Received> {
        loop {
            let mut guard = self.fd.ready(Interest::READABLE | Interest::ERROR).await?;
            let closed = guard.ready().is_read_closed();
            match guard.try_io(|fd| recv_now(fd.get_ref(), self.recv_err, buf)) {
                Ok(result) => return result,
                Err(_would_block) if closed => return Err(closed_socket()),
                Err(_would_block) => continue,
            }
        }
    }

    /// Waits for the next queued error only (for a socket whose ordinary
    /// queue is not for reading, such as a TCP socket still connecting).
    pub async fn recv_error(&self, buf: &mut [u8]) -> io::Result<Received> {
        loop {
            let mut guard = self.fd.ready(Interest::READABLE | Interest::ERROR).await?;
            let closed = guard.ready().is_read_closed();
            let flags = MsgFlags::MSG_ERRQUEUE | MsgFlags::MSG_DONTWAIT;
            match guard.try_io(|fd| recv_msg(fd.get_ref(), buf, flags)) {
                Ok(result) => return result,
                Err(_would_block) if closed => return Err(closed_socket()),
                Err(_would_block) => continue,
            }
        }
    }

    /// Waits until the socket is writable: for a TCP socket, until its
    /// connect finished one way or the other (then read `take_error`).
    pub async fn writable(&self) -> io::Result<()> {
        let mut guard = self.fd.ready(Interest::WRITABLE).await?;
        guard.retain_ready();
        Ok(())
    }

    /// Reads a queued error or datagram if one is there, without waiting.
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<Option<Received>> {
        match recv_now(self.socket(), self.recv_err, buf) {
            Ok(r) => Ok(Some(r)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(e),
        }
    }
}

fn closed_socket() -> io::Error {
    io::Error::new(
        io::ErrorKind::NotConnected,
        "socket closed with nothing left to read",
    )
}

/// Registers a socket with tokio's reactor for reading, writing and errors.
#[allow(unsafe_code)]
fn register(socket: Socket) -> io::Result<AsyncFd<Socket>> {
    // SAFETY: tokio requires the descriptor to stay open and the same for as
    // long as the `AsyncFd` owns it. A `socket2::Socket` owns its descriptor
    // (it was opened just before and is closed only when the Socket drops,
    // which happens with the AsyncFd), `as_raw_fd` always returns that one
    // descriptor, and `PacketSocket` hands out only `&Socket`, through which
    // it cannot be closed or replaced.
    let registered = unsafe {
        AsyncFd::register_with_interest(
            socket,
            Interest::READABLE | Interest::WRITABLE | Interest::ERROR,
        )
    };
    registered.map_err(io::Error::from)
}

/// The error queue first (an error is as much an answer as a datagram), then
/// the ordinary queue; `WouldBlock` when both are empty.
///
/// With the error queue on, the kernel also keeps the last ICMP error as the socket's pending
/// error, and a plain read returns (and clears) it before any datagram. That error is in the
/// queue as well, read there with the probe it is about, so it is not the read's own: the
/// read is tried again rather than ending the reader.
pub fn recv_now(socket: &Socket, recv_err: bool, buf: &mut [u8]) -> io::Result<Received> {
    if !recv_err {
        return recv_msg(socket, buf, MsgFlags::MSG_DONTWAIT);
    }
    loop {
        match recv_msg(socket, buf, MsgFlags::MSG_ERRQUEUE | MsgFlags::MSG_DONTWAIT) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            other => return other,
        }
        match recv_msg(socket, buf, MsgFlags::MSG_DONTWAIT) {
            Err(e) if is_pending_icmp_error(&e) => continue,
            other => return other,
        }
    }
}

/// Whether a read or send failed with the errno the kernel gives a socket's pending ICMP error
/// (`icmp_err_convert` and `icmpv6_err_convert`): time exceeded is EHOSTUNREACH, port
/// unreachable ECONNREFUSED, and so on.
fn is_pending_icmp_error(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error().map(Errno::from_raw),
        Some(
            Errno::ENETUNREACH
                | Errno::EHOSTUNREACH
                | Errno::ENOPROTOOPT
                | Errno::ECONNREFUSED
                | Errno::EMSGSIZE
                | Errno::EOPNOTSUPP
                | Errno::EHOSTDOWN
                | Errno::ENONET
                | Errno::EACCES
                | Errno::EPROTO
        )
    )
}

fn recv_msg(socket: &Socket, buf: &mut [u8], flags: MsgFlags) -> io::Result<Received> {
    let mut control = [0u8; 256];
    let mut iov = [IoSliceMut::new(buf)];
    let msg =
        match recvmsg::<SockaddrStorage>(socket.as_raw_fd(), &mut iov, Some(&mut control), flags) {
            Ok(msg) => msg,
            Err(Errno::EAGAIN) => return Err(io::ErrorKind::WouldBlock.into()),
            Err(e) => return Err(e.into()),
        };
    let at = Instant::now();
    let from = msg.address.as_ref().and_then(ip_of);
    let mut ttl = None;
    let mut error = None;
    for cmsg in msg.cmsgs().map_err(io::Error::from)? {
        match cmsg {
            ControlMessageOwned::Ipv4Ttl(t) | ControlMessageOwned::Ipv6HopLimit(t) => {
                ttl = u8::try_from(t).ok();
            }
            ControlMessageOwned::Ipv4RecvErr(err, offender) => {
                let offender = offender.map(|sin| {
                    IpAddr::V4(std::net::Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)))
                });
                error = Some(queued(&err, offender));
            }
            ControlMessageOwned::Ipv6RecvErr(err, offender) => {
                let offender = offender
                    .map(|sin6| IpAddr::V6(std::net::Ipv6Addr::from(sin6.sin6_addr.s6_addr)));
                error = Some(queued(&err, offender));
            }
            _ => {}
        }
    }
    Ok(Received {
        from,
        len: msg.bytes,
        ttl,
        error,
        at,
    })
}

fn queued(err: &libc_err::SockExtendedErr, offender: Option<IpAddr>) -> QueuedError {
    let origin = match err.ee_origin {
        libc_err::ORIGIN_ICMP | libc_err::ORIGIN_ICMP6 => ErrorOrigin::Icmp,
        libc_err::ORIGIN_LOCAL => ErrorOrigin::Local,
        other => ErrorOrigin::Other(other),
    };
    // An all-zero offender is the kernel's "unknown".
    let offender = offender.filter(|ip| !ip.is_unspecified());
    QueuedError {
        origin,
        icmp_type: err.ee_type,
        icmp_code: err.ee_code,
        offender,
        errno: i32::try_from(err.ee_errno).unwrap_or(i32::MAX),
    }
}

fn ip_of(addr: &SockaddrStorage) -> Option<IpAddr> {
    if let Some(v4) = addr.as_sockaddr_in() {
        return Some(IpAddr::V4(v4.ip()));
    }
    if let Some(v6) = addr.as_sockaddr_in6() {
        return Some(IpAddr::V6(v6.ip()));
    }
    let _ = addr.family();
    None
}

/// The kernel's `sock_extended_err` and origin numbers, as nix hands them.
mod libc_err {
    pub use nix::libc::sock_extended_err as SockExtendedErr;
    pub const ORIGIN_LOCAL: u8 = nix::libc::SO_EE_ORIGIN_LOCAL;
    pub const ORIGIN_ICMP: u8 = nix::libc::SO_EE_ORIGIN_ICMP;
    pub const ORIGIN_ICMP6: u8 = nix::libc::SO_EE_ORIGIN_ICMP6;
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;
    use std::time::Duration;

    use super::*;

    /// Every send to a closed port of 127.0.0.1 gets an ICMP port unreachable back, which the
    /// kernel also keeps as the socket's pending error: the next send must still go out, and
    /// every error must then be read from the queue.
    #[tokio::test]
    async fn a_pending_icmp_error_does_not_fail_the_next_send() {
        let closed = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        let port = closed.local_addr().expect("addr").port();
        drop(closed);
        let socket = PacketSocket::udp(Family::V4).expect("udp socket");
        let loopback = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let mut buf = [0u8; 512];
        // All sends first, as traceroute does: each finds the error of the one before pending.
        for round in 0..20 {
            socket
                .send_to(b"probe", loopback, port)
                .await
                .unwrap_or_else(|e| panic!("send {round}: {e}"));
        }
        for round in 0..20 {
            let received = tokio::time::timeout(Duration::from_secs(2), socket.recv(&mut buf))
                .await
                .expect("an answer in time")
                .expect("an answer");
            assert!(received.error.is_some(), "round {round}: {received:?}");
            assert_eq!(received.from, Some(loopback));
        }
    }

    /// A pending error with an empty error queue (left by an ICMP error that came before the
    /// queue was on, as one can come between the two reads of `recv_now`) is not the read's
    /// own: the datagram behind it is read.
    #[tokio::test]
    async fn a_pending_error_does_not_end_a_read() {
        let closed = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        let peer = closed.local_addr().expect("addr");
        drop(closed);
        let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).expect("udp");
        socket
            .bind(&SocketAddr::from((Ipv4Addr::LOCALHOST, 0)).into())
            .expect("bind");
        socket.connect(&peer.into()).expect("connect");
        socket.send(b"probe").expect("send");
        let own = socket.local_addr().expect("addr").as_socket().expect("ip");
        // The port unreachable has come back by now (loopback answers within the send); a
        // datagram from the peer's port follows it.
        let answer = std::net::UdpSocket::bind(peer).expect("bind the peer's port");
        answer.send_to(b"reply", own).expect("reply");
        let socket = PacketSocket::new(socket, Family::V4, true).expect("wrap");
        let mut buf = [0u8; 64];
        let got = tokio::time::timeout(Duration::from_secs(2), socket.recv(&mut buf))
            .await
            .expect("in time")
            .expect("the datagram, not the pending error");
        assert_eq!((&buf[..got.len], got.error), (&b"reply"[..], None));
    }
}
