//! The SYN scan: crafted SYN probes on a raw socket (socket2 + etherparse), at a configured
//! packet rate, replies matched by address, ports and sequence number.
//!
//! Each probe's sequence number is a keyed hash of its address and port, so a reply's
//! acknowledgement (sequence + 1) proves which probe it answers, whichever host or port it
//! claims to come from. A SYN-ACK means open, a RST closed, silence after every retry
//! filtered. The probes leave from one source port that a bound (never listening) TCP socket
//! keeps for the scan: no other connection uses it, and the kernel, which knows no connection
//! on it, answers each SYN-ACK with the RST that closes the half-open connection, as in nmap's
//! SYN scan. No `unsafe`: packets are read with `Read` on the socket, and IPv6 replies (which
//! come without their IP header) are matched by their acknowledgement alone.

use std::collections::{HashMap, VecDeque};
use std::io::{self, Read};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

use etherparse::{Ipv4HeaderSlice, TcpHeader, TcpHeaderSlice, TcpOptionElement};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tokio::io::unix::AsyncFd;
use tokio::time::{sleep_until, Instant};

use crate::output::HostScan;
use crate::portspec::PortSet;
use crate::rtt::Bounds;
use crate::tally::Host;

/// How a SYN scan runs.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// Timeout bounds.
    pub bounds: Bounds,
    /// Extra probes for a port without an answer.
    pub retries: u8,
    /// Probes per second.
    pub rate: u32,
    /// No probe may still be waiting at this time.
    pub stop_at: Instant,
}

/// Whether raw TCP sockets may be opened here; the error says why not.
pub fn available(v6: bool) -> Result<(), String> {
    raw_socket(v6).map(drop).map_err(|e| {
        format!(
            "raw sockets refused ({e}); a SYN scan needs root or CAP_NET_RAW, so connect was used"
        )
    })
}

fn raw_socket(v6: bool) -> io::Result<Socket> {
    let domain = if v6 { Domain::IPV6 } else { Domain::IPV4 };
    let socket = Socket::new(domain, Type::RAW, Some(Protocol::TCP))?;
    socket.set_nonblocking(true)?;
    // Replies to a fast scan arrive in bursts; a large buffer keeps them.
    let _ = socket.set_recv_buffer_size(8 << 20);
    Ok(socket)
}

/// Hands a raw socket to tokio's reactor, so replies wake the scan instead of a busy loop.
#[allow(unsafe_code)]
fn register(socket: Socket) -> io::Result<AsyncFd<Socket>> {
    // SAFETY: `AsyncFd::register` needs the descriptor to stay open and `as_raw_fd` to keep
    // returning it for the life of the `AsyncFd`. `socket2::Socket` owns its descriptor: it
    // is closed only when the `Socket` is dropped, which the `AsyncFd` that takes ownership
    // here does last, and `as_raw_fd` always returns that same descriptor.
    Ok(unsafe { AsyncFd::register(socket) }?)
}

/// The local address the kernel would use to reach `ip` (no packet is sent).
fn source_for(ip: IpAddr) -> io::Result<IpAddr> {
    let any: SocketAddr = match ip {
        IpAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        IpAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let udp = UdpSocket::bind(any)?;
    udp.connect((ip, 9))?;
    Ok(udp.local_addr()?.ip())
}

/// Keeps a TCP port for the probes' source: bound, never listening.
fn reserve_port(v6: bool) -> io::Result<(Socket, u16)> {
    let (domain, any): (Domain, SocketAddr) = if v6 {
        (Domain::IPV6, (Ipv6Addr::UNSPECIFIED, 0).into())
    } else {
        (Domain::IPV4, (Ipv4Addr::UNSPECIFIED, 0).into())
    };
    let socket = Socket::new(domain, Type::STREAM, Some(Protocol::TCP))?;
    if v6 {
        socket.set_only_v6(true)?;
    }
    socket.bind(&any.into())?;
    let port = socket
        .local_addr()?
        .as_socket()
        .map(|a| a.port())
        .ok_or_else(|| io::Error::other("the reserved socket has no port"))?;
    Ok((socket, port))
}

/// The sequence number of the probe to `ip`:`port`: a keyed mix, so replies cannot be
/// confused or forged by chance.
fn cookie(key: u64, ip: IpAddr, port: u16) -> u32 {
    let mut h = key ^ u64::from(port).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let octets: Vec<u8> = match ip {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    };
    for b in octets {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        h ^= h >> 29;
    }
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    (h ^ (h >> 32)) as u32
}

/// A SYN segment (TCP header with an MSS option) with its checksum for `src` -> `dst`.
pub fn syn_segment(src: IpAddr, dst: IpAddr, sport: u16, dport: u16, seq: u32) -> Vec<u8> {
    let mut tcp = TcpHeader::new(sport, dport, seq, 1024);
    tcp.syn = true;
    // Never fails: one MSS option fits in the option space.
    let _ = tcp.set_options(&[TcpOptionElement::MaximumSegmentSize(1460)]);
    let checksum = match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => tcp.calc_checksum_ipv4_raw(s.octets(), d.octets(), &[]),
        (IpAddr::V6(s), IpAddr::V6(d)) => tcp.calc_checksum_ipv6_raw(s.octets(), d.octets(), &[]),
        _ => Ok(0),
    };
    tcp.checksum = checksum.unwrap_or(0);
    tcp.to_bytes().to_vec()
}

/// What a received packet says, once matched to a probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// SYN-ACK: the port is open.
    Open,
    /// RST: the port is closed.
    Closed,
}

/// A TCP segment from the raw socket: `(remote port, our port, ack, reply)`, when it is a
/// SYN-ACK or a RST. Never panics, whatever the bytes.
pub fn read_segment(segment: &[u8]) -> Option<(u16, u16, u32, Reply)> {
    let tcp = TcpHeaderSlice::from_slice(segment).ok()?;
    let reply = if tcp.rst() {
        Reply::Closed
    } else if tcp.syn() && tcp.ack() {
        Reply::Open
    } else {
        return None;
    };
    Some((
        tcp.source_port(),
        tcp.destination_port(),
        tcp.acknowledgment_number(),
        reply,
    ))
}

/// The TCP segment inside an IPv4 packet from the raw socket, with its source.
pub fn ipv4_payload(packet: &[u8]) -> Option<(IpAddr, &[u8])> {
    let ip = Ipv4HeaderSlice::from_slice(packet).ok()?;
    if ip.protocol() != etherparse::IpNumber::TCP {
        return None;
    }
    let start = ip.slice().len();
    let end = usize::from(ip.total_len()).min(packet.len());
    packet
        .get(start..end.max(start))
        .map(|p| (IpAddr::V4(ip.source_addr()), p))
}

#[derive(Debug, Clone, Copy)]
struct Probe {
    host: usize,
    port: u16,
    attempt: u8,
}

/// One address family's socket and source.
struct Family {
    socket: AsyncFd<Socket>,
    _reserved: Socket,
    sport: u16,
    v6: bool,
}

struct State {
    hosts: Vec<Host>,
    /// The source address toward each host (every host in the queue has one).
    sources: Vec<IpAddr>,
    key: u64,
    /// Probes sent and not answered: (host, port) -> (sent at, attempt).
    outstanding: HashMap<(usize, u16), (Instant, u8)>,
    /// Per host, probes in the order they left, to find the expired ones.
    sent: Vec<VecDeque<(Instant, u16, u8)>>,
    queue: VecDeque<Probe>,
}

impl State {
    fn answer(&mut self, host: usize, port: u16, reply: Reply) {
        let Some((at, attempt)) = self.outstanding.remove(&(host, port)) else {
            return; // late or duplicate
        };
        let h = &self.hosts[host];
        let rtt = at.elapsed();
        // Karn: a retried probe's answer may be to an earlier copy; do not learn from it.
        let sample = attempt == 0;
        match (reply, sample) {
            (Reply::Open, true) => h.open(port, rtt, None),
            (Reply::Closed, true) => h.closed(port, rtt),
            (Reply::Open, false) => h.open_unsampled(port, rtt, None),
            (Reply::Closed, false) => h.closed_unsampled(port),
        }
    }

    fn expire(&mut self, now: Instant, retries: u8) {
        for host in 0..self.hosts.len() {
            let timeout = self.hosts[host].rtt.timeout();
            while let Some(&(at, port, attempt)) = self.sent[host].front() {
                match self.outstanding.get(&(host, port)) {
                    Some(&(when, a)) if a == attempt && when == at => {
                        if at + timeout > now {
                            break;
                        }
                        self.outstanding.remove(&(host, port));
                        if attempt < retries {
                            self.queue.push_back(Probe {
                                host,
                                port,
                                attempt: attempt + 1,
                            });
                        } else {
                            self.hosts[host].filtered(port);
                        }
                    }
                    _ => {}
                }
                self.sent[host].pop_front();
            }
        }
    }

    /// At the stop time, queued retries and probes still waiting have no verdict: not
    /// reached. Only a port whose every probe waited its full timeout is filtered.
    fn settle_at_stop(&mut self) {
        for probe in std::mem::take(&mut self.queue) {
            self.hosts[probe.host].not_reached(probe.port);
        }
        for ((host, port), _) in std::mem::take(&mut self.outstanding) {
            self.hosts[host].not_reached(port);
        }
    }

    fn find_host(&self, from: Option<IpAddr>, port: u16, ack: u32) -> Option<usize> {
        self.hosts.iter().position(|h| {
            from.is_none_or(|f| f == h.ip) && cookie(self.key, h.ip, port).wrapping_add(1) == ack
        })
    }
}

/// Scans `ports` on every address with SYN probes; results in the order of `addrs`.
pub async fn scan(addrs: &[IpAddr], ports: &PortSet, params: Params) -> io::Result<Vec<HostScan>> {
    let mut families: Vec<Family> = Vec::new();
    for v6 in [false, true] {
        if addrs.iter().any(|a| a.is_ipv6() == v6) {
            let (reserved, sport) = reserve_port(v6)?;
            families.push(Family {
                socket: register(raw_socket(v6)?)?,
                _reserved: reserved,
                sport,
                v6,
            });
        }
    }
    let hosts: Vec<Host> = addrs
        .iter()
        .map(|ip| Host::new(*ip, params.bounds))
        .collect();
    // An address without a route gets its reason; the others are scanned all the same.
    let mut sources = Vec::with_capacity(addrs.len());
    let mut routed = Vec::with_capacity(addrs.len());
    for (host, ip) in hosts.iter().zip(addrs) {
        match source_for(*ip) {
            Ok(src) => {
                sources.push(src);
                routed.push(true);
            }
            Err(e) => {
                for &port in ports.ports() {
                    host.unreachable(port, &e);
                }
                sources.push(*ip);
                routed.push(false);
            }
        }
    }
    let key = {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x5eed);
        t ^ u64::from(std::process::id()).rotate_left(32)
    };
    let mut queue = VecDeque::with_capacity(ports.len() * addrs.len());
    for &port in ports.ports() {
        for host in (0..addrs.len()).filter(|&h| routed[h]) {
            queue.push_back(Probe {
                host,
                port,
                attempt: 0,
            });
        }
    }
    let mut state = State {
        hosts,
        sources,
        key,
        outstanding: HashMap::new(),
        sent: vec![VecDeque::new(); addrs.len()],
        queue,
    };
    let families = Arc::new(families);
    let tick = Duration::from_millis(1);
    // Pacing by elapsed time, not by ticks: a late wake-up sends what the rate allowed
    // meanwhile (at most one tick's burst more), so timer slack does not lower the rate.
    let per_tick = (params.rate / 1000).max(1) as u64;
    let paced_from = Instant::now();
    let mut sent_total: u64 = 0;
    let mut buf = vec![0u8; 65536];
    let mut next_tick = Instant::now();
    loop {
        let now = Instant::now();
        if now >= params.stop_at {
            state.settle_at_stop();
            break;
        }
        // Send this tick's share.
        if now >= next_tick {
            let allowed = (paced_from.elapsed().as_secs_f64() * f64::from(params.rate)) as u64;
            let mut budget = (allowed + per_tick)
                .saturating_sub(sent_total)
                .min(per_tick * 4);
            while budget > 0 {
                let Some(probe) = state.queue.pop_front() else {
                    break;
                };
                let h = &state.hosts[probe.host];
                if now + params.bounds.floor.min(h.rtt.timeout()) >= params.stop_at {
                    state.queue.push_front(probe);
                    state.settle_at_stop();
                    return Ok(state.hosts.iter().map(Host::finish).collect());
                }
                let Some(fam) = families.iter().find(|f| f.v6 == h.ip.is_ipv6()) else {
                    h.filtered(probe.port);
                    continue;
                };
                let seq = cookie(state.key, h.ip, probe.port);
                let segment =
                    syn_segment(state.sources[probe.host], h.ip, fam.sport, probe.port, seq);
                let to = SockAddr::from(SocketAddr::new(h.ip, 0));
                match fam.socket.get_ref().send_to(&segment, &to) {
                    Ok(_) => {
                        h.probe_sent();
                        let at = Instant::now();
                        state
                            .outstanding
                            .insert((probe.host, probe.port), (at, probe.attempt));
                        state.sent[probe.host].push_back((at, probe.port, probe.attempt));
                        budget -= 1;
                        sent_total += 1;
                    }
                    Err(e)
                        if e.kind() == io::ErrorKind::WouldBlock
                            || e.raw_os_error() == Some(105) =>
                    {
                        // The socket's send buffer is full: try again next tick.
                        state.queue.push_front(probe);
                        break;
                    }
                    Err(e) => {
                        // Unroutable from here (no route, refused by the local firewall):
                        // the system's verdict on this address, not the host's silence.
                        h.unreachable(probe.port, &e);
                    }
                }
            }
            next_tick += tick;
            if next_tick < now {
                next_tick = now + tick;
            }
        }
        state.expire(Instant::now(), params.retries);
        if state.queue.is_empty() && state.outstanding.is_empty() {
            break;
        }
        // Wait for replies until the next tick (or the next expiry when nothing is left to
        // send).
        let wake = if state.queue.is_empty() {
            Instant::now() + Duration::from_millis(5)
        } else {
            next_tick
        }
        .min(params.stop_at);
        read_replies(&families, &mut state, &mut buf, wake).await;
    }
    Ok(state.hosts.iter().map(Host::finish).collect())
}

async fn read_replies(families: &[Family], state: &mut State, buf: &mut [u8], until: Instant) {
    loop {
        let mut progressed = false;
        for fam in families {
            let mut socket = fam.socket.get_ref();
            while let Ok(n) = socket.read(buf) {
                progressed = true;
                let packet = &buf[..n];
                let (from, segment) = if fam.v6 {
                    (None, packet)
                } else {
                    match ipv4_payload(packet) {
                        Some((from, seg)) => (Some(from), seg),
                        None => continue,
                    }
                };
                let Some((rport, lport, ack, reply)) = read_segment(segment) else {
                    continue;
                };
                if lport != fam.sport {
                    continue;
                }
                if let Some(host) = state.find_host(from, rport, ack) {
                    state.answer(host, rport, reply);
                }
            }
        }
        if progressed {
            // Busy with replies: still hand back at the next tick, so sending goes on.
            if Instant::now() >= until {
                return;
            }
            continue;
        }
        let readable = async {
            match families {
                [a] => {
                    let _ = a.socket.readable().await.map(|mut g| g.clear_ready());
                }
                [a, b, ..] => {
                    tokio::select! {
                        r = a.socket.readable() => { let _ = r.map(|mut g| g.clear_ready()); }
                        r = b.socket.readable() => { let _ = r.map(|mut g| g.clear_ready()); }
                    }
                }
                [] => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            () = readable => {}
            () = sleep_until(until) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_syn_reads_back_with_its_checksum() {
        let src: IpAddr = "192.0.2.1".parse().expect("ip");
        let dst: IpAddr = "192.0.2.2".parse().expect("ip");
        let seg = syn_segment(src, dst, 40000, 443, 0xdead_beef);
        let tcp = TcpHeaderSlice::from_slice(&seg).expect("tcp");
        assert!(tcp.syn() && !tcp.ack() && !tcp.rst());
        assert_eq!((tcp.source_port(), tcp.destination_port()), (40000, 443));
        assert_eq!(tcp.sequence_number(), 0xdead_beef);
        let header = tcp.to_header();
        let want = header
            .calc_checksum_ipv4_raw([192, 0, 2, 1], [192, 0, 2, 2], &[])
            .expect("checksum");
        assert_eq!(tcp.checksum(), want);
        assert_ne!(want, 0);
    }

    #[test]
    fn replies_are_read_and_cookies_differ() {
        let mut synack = TcpHeader::new(443, 40000, 1, 1024);
        synack.syn = true;
        synack.ack = true;
        synack.acknowledgment_number = 77;
        let bytes = synack.to_bytes();
        assert_eq!(read_segment(&bytes), Some((443, 40000, 77, Reply::Open)));
        let mut rst = TcpHeader::new(22, 40000, 0, 0);
        rst.rst = true;
        rst.ack = true;
        assert_eq!(
            read_segment(&rst.to_bytes()).map(|r| r.3),
            Some(Reply::Closed)
        );
        let plain = TcpHeader::new(1, 2, 3, 4);
        assert_eq!(read_segment(&plain.to_bytes()), None);
        let a: IpAddr = "192.0.2.1".parse().expect("ip");
        let b: IpAddr = "192.0.2.2".parse().expect("ip");
        assert_ne!(cookie(1, a, 80), cookie(1, b, 80));
        assert_ne!(cookie(1, a, 80), cookie(1, a, 81));
        assert_ne!(cookie(1, a, 80), cookie(2, a, 80));
    }

    #[test]
    fn probes_left_at_the_stop_time_are_not_reached_not_filtered() {
        let bounds = Bounds {
            initial: Duration::from_millis(300),
            floor: Duration::from_millis(50),
            ceiling: Duration::from_millis(500),
        };
        let ip: IpAddr = "192.0.2.1".parse().expect("ip");
        let mut state = State {
            hosts: vec![Host::new(ip, bounds)],
            sources: vec![ip],
            key: 1,
            outstanding: HashMap::from([((0, 81), (Instant::now(), 2))]),
            sent: vec![VecDeque::new()],
            queue: VecDeque::from([Probe {
                host: 0,
                port: 80,
                attempt: 1,
            }]),
        };
        state.settle_at_stop();
        let scan = state.hosts[0].finish();
        assert_eq!(scan.not_reached.ports(), &[80, 81]);
        assert!(scan.filtered.is_empty());
    }

    #[test]
    fn hostile_packets_never_panic() {
        let mut seed = 0xdead_beef_cafe_f00du64;
        for len in 0..5000usize {
            let bytes: Vec<u8> = (0..len % 90)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed as u8
                })
                .collect();
            let _ = read_segment(&bytes);
            let mut v4 = bytes.clone();
            if v4.len() > 20 {
                v4[0] = 0x45;
                v4[9] = 6;
            }
            if let Some((_, seg)) = ipv4_payload(&v4) {
                let _ = read_segment(seg);
            }
        }
    }
}
