//! TCP SYN probes, which never leave a connection open at the destination.
//!
//! With raw sockets the SYNs are built here (etherparse) and sent on a raw TCP socket, all
//! from one source port that a bound, never listening, TCP socket keeps: one flow (Paris).
//! The probe's index is in its sequence number, which routers quote in their ICMP errors and
//! the destination acknowledges (+1) in its SYN-ACK or RST. The kernel, knowing no connection
//! on that port, answers a SYN-ACK with a RST, so the destination never accepts a connection.
//!
//! Without raw sockets each probe is a kernel `connect` on a socket of its own, whose error
//! queue names the routers. The moment an answer comes the socket is closed with `SO_LINGER`
//! 0, so an accepted connection is reset at once rather than closed politely later.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use etherparse::{TcpHeader, TcpHeaderSlice, TcpOptionElement};
use socket2::{Domain, Protocol, Socket, Type};
use sonde_net::packet::{self, Family};
use sonde_net::{PacketSocket, Received};
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinSet;

use crate::probe::{kind_of, Event, Kind};

fn domain(family: Family) -> Domain {
    match family {
        Family::V4 => Domain::IPV4,
        Family::V6 => Domain::IPV6,
    }
}

fn unspecified(family: Family) -> SocketAddr {
    match family {
        Family::V4 => SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
        Family::V6 => SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0),
    }
}

/// Hand-built SYNs on a raw TCP socket, all from one reserved source port.
#[derive(Debug)]
pub struct RawSyn {
    socket: Arc<PacketSocket>,
    /// Keeps the source port: bound, never listening, so no other socket uses it and the
    /// kernel resets every SYN-ACK that comes to it.
    _reserved: Socket,
    src: IpAddr,
    /// The probes' source port.
    pub src_port: u16,
    /// The destination port.
    pub dst_port: u16,
    /// Sequence number of probe 0; probe `i` carries `base_seq + i`.
    pub base_seq: u32,
}

impl RawSyn {
    /// Opens the raw socket and reserves a source port for probes to `dest`:`dst_port`.
    pub fn open(dest: IpAddr, dst_port: u16, base_seq: u32) -> io::Result<RawSyn> {
        let family = Family::of(dest);
        let raw = Socket::new(domain(family), Type::RAW, Some(Protocol::TCP))?;
        let socket = Arc::new(PacketSocket::new(raw, family, false)?);
        let reserved = Socket::new(domain(family), Type::STREAM, Some(Protocol::TCP))?;
        if family == Family::V6 {
            reserved.set_only_v6(true)?;
        }
        reserved.bind(&unspecified(family).into())?;
        let src_port = reserved
            .local_addr()?
            .as_socket()
            .map(|a| a.port())
            .ok_or_else(|| io::Error::other("the reserved TCP socket has no port"))?;
        Ok(RawSyn {
            socket,
            _reserved: reserved,
            src: source_for(dest)?,
            src_port,
            dst_port,
            base_seq,
        })
    }

    /// Sends the SYN of probe `index` with `ttl`.
    pub async fn send(&self, dest: IpAddr, ttl: u8, index: usize) -> io::Result<()> {
        let seq = self.base_seq.wrapping_add(index as u32);
        let segment = syn_segment(self.src, dest, self.src_port, self.dst_port, seq);
        self.socket.set_ttl(ttl)?;
        self.socket.send_to(&segment, dest, 0).await.map(drop)
    }

    /// Reads the raw TCP socket for the destination's SYN-ACKs and RSTs until the trace ends
    /// or nobody listens.
    pub fn spawn_reader(
        &self,
        dest: IpAddr,
        events: UnboundedSender<Event>,
        tasks: &mut JoinSet<io::Result<()>>,
    ) {
        let socket = Arc::clone(&self.socket);
        let (src_port, dst_port, base_seq) = (self.src_port, self.dst_port, self.base_seq);
        tasks.spawn(async move {
            let family = Family::of(dest);
            let mut buf = vec![0u8; 2048];
            loop {
                let got = socket.recv(&mut buf).await?;
                let bytes = &buf[..got.len.min(buf.len())];
                // IPv4 raw sockets hand over the IP header, IPv6 ones only the segment.
                let (from, reply_ttl, segment) = match family {
                    Family::V4 => match packet::parse_ipv4(bytes) {
                        Ok((h, rest)) if h.protocol == packet::PROTO_TCP => {
                            (IpAddr::V4(h.src), Some(h.ttl), rest)
                        }
                        _ => continue,
                    },
                    Family::V6 => match got.from {
                        Some(from) => (from, got.ttl, bytes),
                        None => continue,
                    },
                };
                if from != dest {
                    continue;
                }
                let Some((probe, how)) = answer_of(segment, src_port, dst_port, base_seq) else {
                    continue;
                };
                let event = Event {
                    probe,
                    from,
                    at: got.at,
                    kind: Kind::Reached(how),
                    reply_ttl,
                };
                if events.send(event).is_err() {
                    return Ok(());
                }
            }
        });
    }
}

/// The local address the kernel would use to reach `ip` (a UDP connect sends nothing).
fn source_for(ip: IpAddr) -> io::Result<IpAddr> {
    let udp = UdpSocket::bind(unspecified(Family::of(ip)))?;
    udp.connect((ip, 9))?;
    Ok(udp.local_addr()?.ip())
}

/// A SYN (with an MSS option, as a kernel's) and its checksum for `src` -> `dst`.
pub fn syn_segment(src: IpAddr, dst: IpAddr, sport: u16, dport: u16, seq: u32) -> Vec<u8> {
    let mut tcp = TcpHeader::new(sport, dport, seq, 64240);
    tcp.syn = true;
    // One MSS option always fits in the option space.
    let _ = tcp.set_options(&[TcpOptionElement::MaximumSegmentSize(1460)]);
    let checksum = match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => tcp.calc_checksum_ipv4_raw(s.octets(), d.octets(), &[]),
        (IpAddr::V6(s), IpAddr::V6(d)) => tcp.calc_checksum_ipv6_raw(s.octets(), d.octets(), &[]),
        _ => Ok(0),
    };
    tcp.checksum = checksum.unwrap_or(0);
    tcp.to_bytes().to_vec()
}

/// Which probe a segment from the destination answers, and how: a SYN-ACK (`open`) or a RST
/// (`refused`) to our source port from the probed port, acknowledging a probe's sequence
/// number. Never panics, whatever the bytes.
pub fn answer_of(
    segment: &[u8],
    src_port: u16,
    dst_port: u16,
    base_seq: u32,
) -> Option<(usize, &'static str)> {
    let tcp = TcpHeaderSlice::from_slice(segment).ok()?;
    if tcp.source_port() != dst_port || tcp.destination_port() != src_port || !tcp.ack() {
        return None;
    }
    let how = if tcp.rst() {
        "refused"
    } else if tcp.syn() {
        "open"
    } else {
        return None;
    };
    let probe = tcp
        .acknowledgment_number()
        .wrapping_sub(1)
        .wrapping_sub(base_seq);
    Some((usize::try_from(probe).ok()?, how))
}

/// Starts one probe as a kernel connect on a socket of its own (no raw socket): a SYN-ACK or
/// a RST from the destination, or an ICMP error in the socket's error queue, answers it. The
/// task waiting for the answer is in `tasks`, so it ends with the trace.
pub fn connect_probe(
    dest: IpAddr,
    port: u16,
    ttl: u8,
    probe: usize,
    events: UnboundedSender<Event>,
    tasks: &mut JoinSet<io::Result<()>>,
) -> io::Result<()> {
    let family = Family::of(dest);
    let socket = PacketSocket::new(
        Socket::new(domain(family), Type::STREAM, Some(Protocol::TCP))?,
        family,
        true,
    )?;
    socket.set_ttl(ttl)?;
    match socket.socket().connect(&SocketAddr::new(dest, port).into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(115) => {} // EINPROGRESS
        Err(e) => return Err(e),
    }
    tasks.spawn(async move {
        let mut buf = vec![0u8; 512];
        // The error queue has the details (who sent the ICMP error); the
        // connect's own result says whether the destination answered.
        let queued = tokio::select! {
            biased;
            got = socket.recv_error(&mut buf) => got.ok().and_then(|g| error_event(&g, family, dest, probe)),
            _ = socket.writable() => None,
        };
        let event = queued.or_else(|| {
            let at = Instant::now();
            match socket.socket().take_error() {
                Ok(None) if socket.socket().peer_addr().is_ok() => {
                    Some(reached(probe, dest, at, "open"))
                }
                Ok(Some(e)) if e.kind() == io::ErrorKind::ConnectionRefused => {
                    Some(reached(probe, dest, at, "refused"))
                }
                _ => match socket.try_recv(&mut buf) {
                    Ok(Some(got)) => error_event(&got, family, dest, probe),
                    _ => None,
                },
            }
        });
        // Closed with a RST now, not a FIN later: the destination's connection (if it got
        // that far) is gone at once.
        let _ = socket.socket().set_linger(Some(Duration::ZERO));
        drop(socket);
        if let Some(event) = event {
            let _ = events.send(event);
        }
        Ok(())
    });
    Ok(())
}

fn reached(probe: usize, dest: IpAddr, at: Instant, how: &'static str) -> Event {
    Event {
        probe,
        from: dest,
        at,
        kind: Kind::Reached(how),
        reply_ttl: None,
    }
}

fn error_event(got: &Received, family: Family, dest: IpAddr, probe: usize) -> Option<Event> {
    let err = got.error?;
    let from = err.offender?;
    let kind = kind_of(err.kind(family)?, from == dest)?;
    Some(Event {
        probe,
        from,
        at: got.at,
        kind,
        reply_ttl: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_syn_carries_its_probe_in_the_sequence_and_a_valid_checksum() {
        let src: IpAddr = "192.0.2.1".parse().unwrap();
        let dst: IpAddr = "192.0.2.2".parse().unwrap();
        let seg = syn_segment(src, dst, 40000, 80, 1000 + 7);
        let tcp = TcpHeaderSlice::from_slice(&seg).unwrap();
        assert!(tcp.syn() && !tcp.ack() && !tcp.rst());
        assert_eq!(tcp.sequence_number(), 1007);
        let want = tcp
            .to_header()
            .calc_checksum_ipv4_raw([192, 0, 2, 1], [192, 0, 2, 2], &[])
            .unwrap();
        assert_eq!(tcp.checksum(), want);
    }

    #[test]
    fn syn_acks_and_resets_name_their_probe_and_others_do_not() {
        let reply = |sport, dport, ack, syn, rst, has_ack| {
            let mut h = TcpHeader::new(sport, dport, 5, 1024);
            (h.syn, h.rst, h.ack) = (syn, rst, has_ack);
            h.acknowledgment_number = ack;
            h.to_bytes().to_vec()
        };
        let base = u32::MAX - 1; // the sequence wraps between probes 1 and 2
        let synack = reply(80, 40000, base.wrapping_add(3 + 1), true, false, true);
        assert_eq!(answer_of(&synack, 40000, 80, base), Some((3, "open")));
        let rst = reply(80, 40000, base.wrapping_add(1), false, true, true);
        assert_eq!(answer_of(&rst, 40000, 80, base), Some((0, "refused")));
        // Our own SYN seen on loopback, another port's answer, another flow's: not answers.
        assert_eq!(
            answer_of(&reply(40000, 80, 0, true, false, false), 40000, 80, base),
            None
        );
        assert_eq!(
            answer_of(&reply(81, 40000, 1, true, false, true), 40000, 80, base),
            None
        );
        assert_eq!(
            answer_of(&reply(80, 40001, 1, true, false, true), 40000, 80, base),
            None
        );
        assert_eq!(answer_of(&synack[..12], 40000, 80, base), None);
    }
}
