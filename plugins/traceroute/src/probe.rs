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
//! | TCP SYN | one flow (fixed ports, hand-built SYNs); sequence number, quoted or acknowledged | one socket per probe; its error queue |

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use socket2::{Domain, Protocol, Socket, Type};
use sonde_net::packet::{self, Family, Message, Transport};
use sonde_net::{ErrorKind, PacketSocket, Received, Rung, Unreachable};
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinSet;

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

/// Bytes of an echo probe's payload.
pub const ECHO_PAYLOAD: usize = 24;

/// The payload of echo probe `seq`: two bytes that keep the ICMP checksum the
/// same for every sequence number (so that load balancers hashing the ICMP
/// header keep one path: Paris), then a pattern seeded by the identifier, so
/// a foreign echo with the same identifier rarely matches.
pub fn echo_payload(ident: u16, seq: u16) -> [u8; ECHO_PAYLOAD] {
    let mut data = [0u8; ECHO_PAYLOAD];
    // seq + !seq is 0xffff whatever seq is: the ones'-complement sum, hence
    // the checksum, does not move.
    data[..2].copy_from_slice(&(!seq).to_be_bytes());
    let seed = ident.to_be_bytes();
    for (i, b) in data.iter_mut().enumerate().skip(2) {
        *b = (i as u8).wrapping_mul(31) ^ seed[i % 2];
    }
    data
}

/// A random 64-bit value, from the randomly keyed hasher the standard library
/// seeds from the operating system.
pub fn random_u64() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.finish()
}

/// How a raw reader recognises our probes in what it reads.
#[derive(Debug, Clone, Copy)]
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
    /// TCP SYN, one flow: the ports; the sequence number gives the probe.
    Tcp {
        /// Our source port.
        src_port: u16,
        /// The destination port.
        dst_port: u16,
        /// Sequence number of probe 0.
        base_seq: u32,
    },
}

impl Matcher {
    fn probe_of(&self, transport: Transport) -> Option<usize> {
        match (*self, transport) {
            (Matcher::Echo { ident, base_seq }, Transport::Echo { id, seq }) if id == ident => {
                Some(usize::from(seq.wrapping_sub(base_seq)))
            }
            (
                Matcher::Udp { src_port, dst_port },
                Transport::Udp {
                    src_port: s,
                    dst_port: d,
                    length,
                    ..
                },
            ) if s == src_port && d == dst_port => {
                usize::from(length).checked_sub(8 + UDP_BASE_PAYLOAD)
            }
            (
                Matcher::Tcp {
                    src_port,
                    dst_port,
                    base_seq,
                },
                Transport::Tcp {
                    src_port: s,
                    dst_port: d,
                    seq,
                },
            ) if s == src_port && d == dst_port => usize::try_from(seq.wrapping_sub(base_seq)).ok(),
            _ => None,
        }
    }

    /// Whether echo data (an echo reply's, or as much of a probe's as an
    /// error quotes) is what echo probe `seq` carried. Data beyond the
    /// payload (padding before ICMP extensions, RFC 4884) is not compared.
    fn echo_data_ok(&self, seq: u16, data: &[u8]) -> bool {
        match *self {
            Matcher::Echo { ident, .. } => {
                let want = echo_payload(ident, seq);
                let n = data.len().min(want.len());
                data[..n] == want[..n]
            }
            _ => true,
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
        Message::EchoReply { id, seq, payload } if from == dest => {
            if payload.len() != ECHO_PAYLOAD || !matcher.echo_data_ok(seq, payload) {
                return None;
            }
            let probe = matcher.probe_of(Transport::Echo { id, seq })?;
            (probe, Kind::Reached("echo reply"))
        }
        Message::Error { kind, quote } => {
            let quote = quote.ok()?;
            if quote.dst != dest {
                return None;
            }
            if let Transport::Echo { seq, .. } = quote.transport {
                // The quote's echo data, where the router quoted past the 8 bytes.
                let quoted = packet::split_quote(family, icmp.get(8..)?).ok()?;
                if !matcher.echo_data_ok(seq, quoted.transport.get(8..).unwrap_or_default()) {
                    return None;
                }
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

/// Sends one UDP probe on a socket of its own; the task waiting for what its
/// error queue (or the destination) says is in `tasks`, so it ends with the
/// trace.
pub async fn udp_alone(
    dest: IpAddr,
    port: u16,
    ttl: u8,
    probe: usize,
    events: UnboundedSender<Event>,
    tasks: &mut JoinSet<io::Result<()>>,
) -> io::Result<()> {
    let family = Family::of(dest);
    let socket = PacketSocket::udp(family)?;
    socket.set_ttl(ttl)?;
    socket.send_to(&udp_payload(probe), dest, port).await?;
    let mut buf = vec![0u8; 512];
    tasks.spawn(async move {
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
            break;
        }
        Ok(())
    });
    Ok(())
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
        let echo = packet::echo_request(Family::V4, 7, 103, &echo_payload(7, 103));
        let ours = time_exceeded(ip4([198, 51, 100, 10], [203, 0, 113, 70], 1, &echo));
        assert_eq!(classify(&matcher, &ours).map(|e| e.probe), Some(3));
        let elsewhere = time_exceeded(ip4([198, 51, 100, 10], [203, 0, 113, 10], 1, &echo));
        assert!(classify(&matcher, &elsewhere).is_none());
        let other_ident = packet::echo_request(Family::V4, 8, 103, &echo_payload(7, 103));
        let foreign = time_exceeded(ip4([198, 51, 100, 10], [203, 0, 113, 70], 1, &other_ident));
        assert!(classify(&matcher, &foreign).is_none());
    }

    #[test]
    fn echo_probes_keep_one_checksum_and_distinct_sequences() {
        for family in [Family::V4, Family::V6] {
            let a = packet::echo_request(family, 0x1234, 0, &echo_payload(0x1234, 0));
            let b = packet::echo_request(family, 0x1234, 517, &echo_payload(0x1234, 517));
            assert_ne!(a[6..8], b[6..8], "sequences differ");
            assert_eq!(a.len(), b.len());
            // ICMPv6's checksum is the kernel's, over the same sum plus a pseudo-header
            // that is the same for every probe: the sum of the message is what must match.
            let sum = |p: &[u8]| {
                let mut p = p.to_vec();
                p[2..4].copy_from_slice(&[0, 0]);
                packet::checksum(&p)
            };
            assert_eq!(sum(&a), sum(&b), "{family:?}");
        }
        let a = packet::echo_request(Family::V4, 9, 1, &echo_payload(9, 1));
        let b = packet::echo_request(Family::V4, 9, 0xfffe, &echo_payload(9, 0xfffe));
        assert_eq!(a[2..4], b[2..4], "the checksum on the wire");
    }

    #[test]
    fn echo_data_that_is_not_ours_is_refused() {
        let matcher = Matcher::Echo {
            ident: 7,
            base_seq: 0,
        };
        let reply = |seq: u16, data: &[u8]| {
            let mut r = packet::echo_request(Family::V4, 7, seq, data);
            r[0] = 0;
            ip4([203, 0, 113, 70], [198, 51, 100, 10], 1, &r)
        };
        assert_eq!(
            classify(&matcher, &reply(2, &echo_payload(7, 2))).map(|e| e.kind),
            Some(Kind::Reached("echo reply"))
        );
        // Same identifier and sequence, other data (another tool, or a forgery).
        assert!(classify(&matcher, &reply(2, &[0x53; ECHO_PAYLOAD])).is_none());
        // Another probe's data under this sequence.
        assert!(classify(&matcher, &reply(2, &echo_payload(7, 3))).is_none());
        // A quote with the data: checked as far as it goes; cut at 8 bytes: not checkable.
        let probe = |data: &[u8]| packet::echo_request(Family::V4, 7, 4, data);
        let quoted = |p: &[u8]| time_exceeded(ip4([198, 51, 100, 10], [203, 0, 113, 70], 1, p));
        let good = probe(&echo_payload(7, 4));
        assert_eq!(classify(&matcher, &quoted(&good)).map(|e| e.probe), Some(4));
        assert_eq!(
            classify(&matcher, &quoted(&good[..8])).map(|e| e.probe),
            Some(4)
        );
        let bad = probe(&[0; ECHO_PAYLOAD]);
        assert!(classify(&matcher, &quoted(&bad)).is_none());
        assert!(classify(&matcher, &quoted(&bad[..12])).is_none());
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
    fn tcp_probes_are_found_by_their_flow_and_sequence() {
        let matcher = Matcher::Tcp {
            src_port: 50000,
            dst_port: 80,
            base_seq: 0xffff_fffe,
        };
        // Probe 4: sequence base + 4, wrapped.
        let tcp = [0xc3, 0x50, 0, 80, 0, 0, 0, 2];
        let packet = time_exceeded(ip4([198, 51, 100, 10], [203, 0, 113, 70], 6, &tcp));
        assert_eq!(classify(&matcher, &packet).map(|e| e.probe), Some(4));
        let other_port = [0xc3, 0x51, 0, 80, 0, 0, 0, 2];
        let packet = time_exceeded(ip4([198, 51, 100, 10], [203, 0, 113, 70], 6, &other_port));
        assert!(classify(&matcher, &packet).is_none());
    }
}
