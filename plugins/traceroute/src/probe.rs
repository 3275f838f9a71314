//! The probes and the readers of their answers, one per method and rung.
//!
//! Every reader turns what it reads into an [`Event`] naming the probe (by
//! its index) and sends it to the trace's loop. Which packet belongs to
//! which probe:
//!
//! | probe | raw rung (raw ICMP socket reads every error) | without raw sockets |
//! | --- | --- | --- |
//! | ICMP echo | identifier + sequence, quoted or echoed | datagram socket: sequence in the error queue's copy of our request |
//! | UDP | one flow (fixed ports); the quoted UDP length tells probes apart | one socket per probe; its error queue |
//! | TCP SYN | one socket per probe; the quoted source port | one socket per probe; its error queue |

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use socket2::{Domain, Protocol, Socket, Type};
use sonde_net::packet::{self, Family, Message, Transport};
use sonde_net::{ErrorKind, PacketSocket, Received, Rung, Unreachable};
use tokio::sync::mpsc::UnboundedSender;

/// What answered a probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A router: time exceeded.
    TimeExceeded,
    /// The destination; the words say how (`echo reply`, `open`...).
    Reached(&'static str),
    /// Destination unreachable.
    Unreachable(Unreachable),
}

/// An answer to one probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    /// The probe's index in the trace.
    pub probe: usize,
    /// Who answered.
    pub from: IpAddr,
    /// When it was read.
    pub at: Instant,
    /// What it was.
    pub kind: Kind,
    /// TTL of the answer as it arrived.
    pub reply_ttl: Option<u8>,
}

/// Lowest UDP payload length; probe `i` carries `UDP_BASE_PAYLOAD + i` bytes.
pub const UDP_BASE_PAYLOAD: usize = 12;

/// How a raw reader recognises our probes in what it reads.
#[derive(Debug, Clone)]
pub enum Matcher {
    /// ICMP echo: identifier, and the sequence of probe 0.
    Echo {
        /// Identifier.
        ident: u16,
        /// Sequence number of probe 0.
        base_seq: u16,
    },
    /// Paris UDP: the flow's ports; the UDP length gives the probe.
    Udp {
        /// Our source port.
        src_port: u16,
        /// The destination port.
        dst_port: u16,
    },
    /// TCP: the probe of each source port.
    Tcp(Arc<Mutex<HashMap<u16, usize>>>),
}

impl Matcher {
    fn probe_of(&self, transport: Transport) -> Option<usize> {
        match (self, transport) {
            (Matcher::Echo { ident, base_seq }, Transport::Echo { id, seq }) if id == *ident => {
                Some(usize::from(seq.wrapping_sub(*base_seq)))
            }
            (
                Matcher::Udp { src_port, dst_port },
                Transport::Udp {
                    src_port: s,
                    dst_port: d,
                    length,
                    ..
                },
            ) if s == *src_port && d == *dst_port => {
                usize::from(length).checked_sub(8 + UDP_BASE_PAYLOAD)
            }
            (Matcher::Tcp(ports), Transport::Tcp { src_port, .. }) => ports
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(&src_port)
                .copied(),
            _ => None,
        }
    }
}

/// Reads one packet of a raw ICMP socket (or an ICMP datagram socket's
/// ordinary queue) and says which probe it answers, if any.
pub fn classify_packet(
    family: Family,
    raw_v4: bool,
    dest: IpAddr,
    matcher: &Matcher,
    bytes: &[u8],
    got: &Received,
) -> Option<Event> {
    let at = got.at;
    let (icmp, from, reply_ttl) = if raw_v4 {
        let (header, rest) = packet::parse_ipv4(bytes).ok()?;
        (rest, IpAddr::V4(header.src), Some(header.ttl))
    } else {
        (bytes, got.from?, got.ttl)
    };
    let (probe, kind) = match packet::parse_icmp(family, icmp).ok()? {
        Message::EchoReply { id, seq, .. } if from == dest => {
            let probe = matcher.probe_of(Transport::Echo { id, seq })?;
            (probe, Kind::Reached("echo reply"))
        }
        Message::Error { kind, quote } => {
            let quote = quote.ok()?;
            if quote.dst != dest {
                return None;
            }
            let probe = matcher.probe_of(quote.transport)?;
            (probe, kind_of(kind, from == dest)?)
        }
        _ => return None,
    };
    Some(Event {
        probe,
        from,
        at,
        kind,
        reply_ttl,
    })
}

/// What an ICMP error means for a trace: port unreachable from the
/// destination is the destination answering a UDP probe.
pub fn kind_of(kind: ErrorKind, from_dest: bool) -> Option<Kind> {
    match kind {
        ErrorKind::TimeExceeded => Some(Kind::TimeExceeded),
        ErrorKind::Unreachable(u) if u.is_port() && from_dest => {
            Some(Kind::Reached("port unreachable"))
        }
        ErrorKind::Unreachable(u) => Some(Kind::Unreachable(u)),
        ErrorKind::Other { .. } => None,
    }
}

/// Reads a raw ICMP socket (or an ICMP datagram socket) until the trace drops the task or
/// nobody listens any more; a read that fails for good ends it with the error, which the
/// trace reports.
pub async fn read_icmp(
    socket: Arc<PacketSocket>,
    rung: Rung,
    dest: IpAddr,
    matcher: Matcher,
    events: UnboundedSender<Event>,
) -> io::Result<()> {
    let family = Family::of(dest);
    let raw_v4 = rung == Rung::Raw && family == Family::V4;
    let mut buf = vec![0u8; 2048];
    loop {
        let got = socket.recv(&mut buf).await?;
        let bytes = &buf[..got.len.min(buf.len())];
        let event = match got.error {
            // Datagram sockets: an error about one of our echo requests,
            // whose copy the queue hands back.
            Some(err) => {
                let Ok(Message::EchoRequest { id, seq }) = packet::parse_icmp(family, bytes) else {
                    continue;
                };
                let (Some(probe), Some(from)) =
                    (matcher.probe_of(Transport::Echo { id, seq }), err.offender)
                else {
                    continue;
                };
                let Some(kind) = err.kind(family).and_then(|k| kind_of(k, from == dest)) else {
                    continue;
                };
                Some(Event {
                    probe,
                    from,
                    at: got.at,
                    kind,
                    reply_ttl: got.ttl,
                })
            }
            None => classify_packet(family, raw_v4, dest, &matcher, bytes, &got),
        };
        if let Some(event) = event {
            if events.send(event).is_err() {
                return Ok(());
            }
        }
    }
}

fn unspecified(family: Family) -> IpAddr {
    match family {
        Family::V4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        Family::V6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    }
}

/// The Paris UDP socket: one source port for every probe. It is neither
/// connected nor reading its error queue: the routers' errors are the raw
/// reader's, and a connected socket would turn each of them into a failed
/// next send. Returns it and its source port.
pub fn paris_udp(dest: IpAddr) -> io::Result<(PacketSocket, u16)> {
    let family = Family::of(dest);
    let domain = match family {
        Family::V4 => Domain::IPV4,
        Family::V6 => Domain::IPV6,
    };
    let socket = PacketSocket::new(
        Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?,
        family,
        false,
    )?;
    socket
        .socket()
        .bind(&SocketAddr::new(unspecified(family), 0).into())?;
    let src_port = socket.local_port()?;
    Ok((socket, src_port))
}

/// The payload of UDP probe `index`: its length is the probe's identity.
pub fn udp_payload(index: usize) -> Vec<u8> {
    vec![0x53; UDP_BASE_PAYLOAD + index]
}

/// Sends one UDP probe on a socket of its own and waits for what its error
/// queue (or the destination) says.
pub async fn udp_alone(
    dest: IpAddr,
    port: u16,
    ttl: u8,
    probe: usize,
    events: UnboundedSender<Event>,
) -> io::Result<()> {
    let family = Family::of(dest);
    let socket = PacketSocket::udp(family)?;
    socket.set_ttl(ttl)?;
    socket.send_to(&udp_payload(probe), dest, port).await?;
    let mut buf = vec![0u8; 512];
    tokio::spawn(async move {
        while let Ok(got) = socket.recv(&mut buf).await {
            let event = match got.error {
                Some(err) => {
                    let Some(from) = err.offender else { continue };
                    let Some(kind) = err.kind(family).and_then(|k| kind_of(k, from == dest)) else {
                        continue;
                    };
                    Event {
                        probe,
                        from,
                        at: got.at,
                        kind,
                        reply_ttl: None,
                    }
                }
                None if got.from == Some(dest) => Event {
                    probe,
                    from: dest,
                    at: got.at,
                    kind: Kind::Reached("udp reply"),
                    reply_ttl: got.ttl,
                },
                None => continue,
            };
            let _ = events.send(event);
            return;
        }
    });
    Ok(())
}

/// Starts one TCP SYN probe on a socket of its own: a SYN-ACK or RST from
/// the destination, or an ICMP error in the socket's error queue, answers
/// it. The source port is registered in `ports` first, for the raw reader.
pub fn tcp_syn(
    dest: IpAddr,
    port: u16,
    ttl: u8,
    probe: usize,
    ports: &Mutex<HashMap<u16, usize>>,
    events: UnboundedSender<Event>,
) -> io::Result<()> {
    let family = Family::of(dest);
    let domain = match family {
        Family::V4 => Domain::IPV4,
        Family::V6 => Domain::IPV6,
    };
    let socket = PacketSocket::new(
        Socket::new(domain, Type::STREAM, Some(Protocol::TCP))?,
        family,
        true,
    )?;
    socket.set_ttl(ttl)?;
    socket
        .socket()
        .bind(&SocketAddr::new(unspecified(family), 0).into())?;
    ports
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(socket.local_port()?, probe);
    match socket.socket().connect(&SocketAddr::new(dest, port).into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(115) => {} // EINPROGRESS
        Err(e) => return Err(e),
    }
    tokio::spawn(async move {
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
        if let Some(event) = event {
            let _ = events.send(event);
        }
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

    const DEST: IpAddr = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 70));
    const ROUTER: [u8; 4] = [203, 0, 113, 242];

    fn ip4(src: [u8; 4], dst: [u8; 4], protocol: u8, payload: &[u8]) -> Vec<u8> {
        let mut p = vec![0x45, 0, 0, 0, 0, 0, 0, 0, 62, protocol, 0, 0];
        p.extend_from_slice(&src);
        p.extend_from_slice(&dst);
        p.extend_from_slice(payload);
        p
    }

    fn time_exceeded(quoted: Vec<u8>) -> Vec<u8> {
        let mut icmp = vec![11, 0, 0, 0, 0, 0, 0, 0];
        icmp.extend(quoted);
        ip4(ROUTER, [198, 51, 100, 10], 1, &icmp)
    }

    fn classify(matcher: &Matcher, bytes: &[u8]) -> Option<Event> {
        let got = Received {
            from: None,
            len: bytes.len(),
            ttl: None,
            error: None,
            at: Instant::now(),
        };
        classify_packet(Family::V4, true, DEST, matcher, bytes, &got)
    }

    #[test]
    fn paris_udp_probes_are_told_apart_by_length() {
        let matcher = Matcher::Udp {
            src_port: 40000,
            dst_port: 33434,
        };
        let len = (8 + UDP_BASE_PAYLOAD + 5) as u16;
        let mut udp = vec![0x9c, 0x40, 0x82, 0x9a];
        udp.extend_from_slice(&len.to_be_bytes());
        udp.extend_from_slice(&[0xab, 0xcd]);
        let packet = time_exceeded(ip4([198, 51, 100, 10], [203, 0, 113, 70], 17, &udp));
        let e = classify(&matcher, &packet).unwrap();
        assert_eq!((e.probe, e.kind), (5, Kind::TimeExceeded));
        assert_eq!(e.from, IpAddr::V4(Ipv4Addr::from(ROUTER)));
        // Another flow's datagram (other source port) is not ours.
        udp[0] = 0x11;
        let packet = time_exceeded(ip4([198, 51, 100, 10], [203, 0, 113, 70], 17, &udp));
        assert!(classify(&matcher, &packet).is_none());
        // A quote cut after 4 bytes cannot be matched.
        let packet = time_exceeded(ip4([198, 51, 100, 10], [203, 0, 113, 70], 17, &udp[..4]));
        assert!(classify(&matcher, &packet).is_none());
    }

    #[test]
    fn errors_about_other_destinations_are_foreign() {
        let matcher = Matcher::Echo {
            ident: 7,
            base_seq: 100,
        };
        let echo = packet::echo_request(Family::V4, 7, 103, &[0; 8]);
        let ours = time_exceeded(ip4([198, 51, 100, 10], [203, 0, 113, 70], 1, &echo));
        assert_eq!(classify(&matcher, &ours).map(|e| e.probe), Some(3));
        let elsewhere = time_exceeded(ip4([198, 51, 100, 10], [203, 0, 113, 10], 1, &echo));
        assert!(classify(&matcher, &elsewhere).is_none());
        let other_ident = packet::echo_request(Family::V4, 8, 103, &[0; 8]);
        let foreign = time_exceeded(ip4([198, 51, 100, 10], [203, 0, 113, 70], 1, &other_ident));
        assert!(classify(&matcher, &foreign).is_none());
    }

    #[test]
    fn port_unreachable_from_the_destination_is_arrival() {
        let u = Unreachable {
            family: Family::V4,
            code: 3,
        };
        assert_eq!(
            kind_of(ErrorKind::Unreachable(u), true),
            Some(Kind::Reached("port unreachable"))
        );
        assert_eq!(
            kind_of(ErrorKind::Unreachable(u), false),
            Some(Kind::Unreachable(u))
        );
    }

    #[test]
    fn tcp_probes_are_found_by_source_port() {
        let ports = Arc::new(Mutex::new(HashMap::from([(50000u16, 4usize)])));
        let matcher = Matcher::Tcp(ports);
        let tcp = [0xc3, 0x50, 0, 80, 0, 0, 0, 1];
        let packet = time_exceeded(ip4([198, 51, 100, 10], [203, 0, 113, 70], 6, &tcp));
        assert_eq!(classify(&matcher, &packet).map(|e| e.probe), Some(4));
    }
}
