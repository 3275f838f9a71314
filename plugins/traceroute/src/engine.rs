//! One trace: every TTL in flight at once, rounds of probes, and the end.
//!
//! Round 0 sends a probe for every TTL from `first-hop` to `max-hops` at
//! once. The next round leaves as soon as the previous one is answered (or
//! after `round-gap`), and only up to the lowest TTL that reached the
//! destination (or got an unreachable), so nothing is sent past the end of
//! the path once it is known. The trace is over when every probe up to that
//! TTL is answered or has waited `wait`: a silent hop costs one `wait` for
//! the whole trace, not one per probe.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use sonde_net::packet::{self, Family};
use sonde_net::{PacketSocket, Rung};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::{sleep_until, Instant};

use crate::config::ProbeMethod;
use crate::output::{Answer, End, EndReason, Hop, HopAddress, HopProbe, Trace};
use crate::probe::{self, Event, Kind, Matcher};
use crate::tcp::{self, RawSyn};

/// Everything one trace needs.
#[derive(Debug, Clone)]
pub struct TraceSpec {
    /// The destination.
    pub dest: IpAddr,
    /// What the probes are (already adjusted to the rung).
    pub method: ProbeMethod,
    /// The rung in use.
    pub rung: Rung,
    /// Lowest TTL.
    pub first_hop: u8,
    /// Highest TTL.
    pub max_hops: u8,
    /// Probes per hop.
    pub probes: u8,
    /// Wait per probe.
    pub wait: Duration,
    /// Most time between rounds.
    pub round_gap: Duration,
    /// Give up on a probe after this many times the slowest answer to a
    /// higher TTL of its round (0: always wait `wait`), as traceroute's
    /// `-w MAX,HERE,NEAR` does with NEAR.
    pub near_factor: u32,
    /// UDP destination port.
    pub udp_port: u16,
    /// TCP destination port.
    pub tcp_port: u16,
    /// Echo identifier (raw ICMP).
    pub ident: u16,
    /// Sequence number of the first TCP SYN (raw TCP).
    pub tcp_seq: u32,
    /// Give up at this instant and report what was found.
    pub stop_at: Instant,
}

#[derive(Debug)]
struct Sent {
    ttl: u8,
    round: u8,
    at: Instant,
    answer: Option<Event>,
    failed: Option<String>,
}

enum Sender {
    Icmp {
        socket: Arc<PacketSocket>,
        ident: u16,
    },
    Paris {
        socket: PacketSocket,
    },
    UdpAlone,
    TcpRaw(RawSyn),
    TcpConnect,
}

/// Runs one trace. Never fails as a whole: a setup problem is the trace's
/// `error`.
pub async fn trace(spec: TraceSpec) -> Trace {
    let started = Instant::now();
    let (tx, mut rx) = mpsc::unbounded_channel();
    // Every task of the trace (readers and per-probe waits) is in here, so
    // none outlives it.
    let mut readers = JoinSet::new();
    let sender = match setup(&spec, &tx, &mut readers) {
        Ok(s) => s,
        Err(e) => {
            return Trace {
                destination: spec.dest,
                reached: false,
                end: End {
                    reason: EndReason::Stopped,
                    hop: None,
                    detail: format!("could not start: {e}"),
                },
                hops: Vec::new(),
                duration_ms: 0.0,
                error: Some(e.to_string()),
                warnings: Vec::new(),
            }
        }
    };
    let mut sent: Vec<Sent> = Vec::new();
    let mut horizon = spec.max_hops;
    let mut round = 0u8;
    let mut round_at = Instant::now();
    let mut io = RoundIo {
        tx: &tx,
        rx: &mut rx,
        tasks: &mut readers,
    };
    send_round(&spec, &sender, &mut io, &mut sent, &mut horizon, round).await;
    let mut stopped = false;
    loop {
        while let Ok(event) = rx.try_recv() {
            apply(&mut sent, event, &mut horizon);
        }
        let now = Instant::now();
        let open = |s: &&Sent| s.ttl <= horizon && s.answer.is_none() && s.failed.is_none();
        let round_answered = sent
            .iter()
            .filter(|s| s.round == round)
            .filter(open)
            .all(|s| now >= expires(&spec, &sent, s));
        let more_rounds = round + 1 < spec.probes;
        if more_rounds && (round_answered || now >= round_at + spec.round_gap) {
            round += 1;
            round_at = now;
            let mut io = RoundIo {
                tx: &tx,
                rx: &mut rx,
                tasks: &mut readers,
            };
            send_round(&spec, &sender, &mut io, &mut sent, &mut horizon, round).await;
            continue;
        }
        let expiry = sent
            .iter()
            .filter(open)
            .map(|s| expires(&spec, &sent, s))
            .filter(|&t| t > now)
            .min();
        let Some(expiry) = expiry else {
            if !more_rounds {
                break;
            }
            // Everything answered or expired: the next round goes now.
            continue;
        };
        if now >= spec.stop_at {
            stopped = true;
            break;
        }
        let wake = if more_rounds {
            expiry.min(round_at + spec.round_gap)
        } else {
            expiry
        }
        .min(spec.stop_at);
        tokio::select! {
            got = rx.recv() => if let Some(event) = got {
                apply(&mut sent, event, &mut horizon);
            },
            () = sleep_until(wake) => {}
        }
    }
    let mut warnings = Vec::new();
    while let Some(finished) = readers.try_join_next() {
        if let Ok(Err(e)) = finished {
            warnings.push(format!(
                "receiving stopped: {e}; later answers were not read"
            ));
        }
    }
    // Aborted and waited for: every probe socket is closed when the trace returns.
    readers.shutdown().await;
    let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    Trace {
        warnings,
        ..summarise(&spec, &sent, horizon, stopped, duration_ms)
    }
}

fn setup(
    spec: &TraceSpec,
    tx: &mpsc::UnboundedSender<Event>,
    readers: &mut JoinSet<std::io::Result<()>>,
) -> std::io::Result<Sender> {
    let family = Family::of(spec.dest);
    let raw_reader =
        |matcher: Matcher, readers: &mut JoinSet<std::io::Result<()>>| -> std::io::Result<()> {
            let socket = Arc::new(PacketSocket::icmp(family, Rung::Raw)?);
            readers.spawn(probe::read_icmp(
                socket,
                Rung::Raw,
                spec.dest,
                matcher,
                tx.clone(),
            ));
            Ok(())
        };
    match spec.method {
        ProbeMethod::Icmp => {
            let socket = Arc::new(PacketSocket::icmp(family, spec.rung)?);
            let ident = if spec.rung == Rung::Raw {
                spec.ident
            } else {
                let any: IpAddr = match family {
                    Family::V4 => std::net::Ipv4Addr::UNSPECIFIED.into(),
                    Family::V6 => std::net::Ipv6Addr::UNSPECIFIED.into(),
                };
                socket
                    .socket()
                    .bind(&std::net::SocketAddr::new(any, 0).into())?;
                socket.local_port()?
            };
            readers.spawn(probe::read_icmp(
                Arc::clone(&socket),
                spec.rung,
                spec.dest,
                Matcher::Echo { ident, base_seq: 0 },
                tx.clone(),
            ));
            Ok(Sender::Icmp { socket, ident })
        }
        ProbeMethod::Udp if spec.rung == Rung::Raw => {
            let (socket, src_port) = probe::paris_udp(spec.dest)?;
            raw_reader(
                Matcher::Udp {
                    src_port,
                    dst_port: spec.udp_port,
                },
                readers,
            )?;
            Ok(Sender::Paris { socket })
        }
        ProbeMethod::Udp => Ok(Sender::UdpAlone),
        ProbeMethod::Tcp if spec.rung == Rung::Raw => {
            let syn = RawSyn::open(spec.dest, spec.tcp_port, spec.tcp_seq)?;
            raw_reader(
                Matcher::Tcp {
                    src_port: syn.src_port,
                    dst_port: syn.dst_port,
                    base_seq: syn.base_seq,
                },
                readers,
            )?;
            syn.spawn_reader(spec.dest, tx.clone(), readers);
            Ok(Sender::TcpRaw(syn))
        }
        ProbeMethod::Tcp => Ok(Sender::TcpConnect),
    }
}

/// The channels a round works with: answers so far, and the trace's tasks.
struct RoundIo<'a> {
    tx: &'a mpsc::UnboundedSender<Event>,
    rx: &'a mut mpsc::UnboundedReceiver<Event>,
    tasks: &'a mut JoinSet<std::io::Result<()>>,
}

/// Sends one probe per TTL from `first-hop` up to the horizon. Answers are
/// read between two sends, so a round stops as soon as the destination (or
/// an unreachable) is known below the next TTL: nothing is sent past it.
async fn send_round(
    spec: &TraceSpec,
    sender: &Sender,
    io: &mut RoundIo<'_>,
    sent: &mut Vec<Sent>,
    horizon: &mut u8,
    round: u8,
) {
    for ttl in spec.first_hop..=spec.max_hops {
        while let Ok(event) = io.rx.try_recv() {
            apply(sent, event, horizon);
        }
        if ttl > *horizon {
            break;
        }
        let index = sent.len();
        let at = Instant::now();
        let result = match sender {
            Sender::Icmp { socket, ident } => {
                let request = packet::echo_request(
                    Family::of(spec.dest),
                    *ident,
                    index as u16,
                    &probe::echo_payload(*ident, index as u16),
                );
                match socket.set_ttl(ttl) {
                    Ok(()) => socket.send_to(&request, spec.dest, 0).await.map(drop),
                    Err(e) => Err(e),
                }
            }
            Sender::Paris { socket } => match socket.set_ttl(ttl) {
                Ok(()) => socket
                    .send_to(&probe::udp_payload(index), spec.dest, spec.udp_port)
                    .await
                    .map(drop),
                Err(e) => Err(e),
            },
            Sender::UdpAlone => {
                probe::udp_alone(
                    spec.dest,
                    spec.udp_port,
                    ttl,
                    index,
                    io.tx.clone(),
                    io.tasks,
                )
                .await
            }
            Sender::TcpRaw(syn) => syn.send(spec.dest, ttl, index).await,
            Sender::TcpConnect => tcp::connect_probe(
                spec.dest,
                spec.tcp_port,
                ttl,
                index,
                io.tx.clone(),
                io.tasks,
            ),
        };
        sent.push(Sent {
            ttl,
            round,
            at,
            answer: None,
            failed: result.err().map(|e| e.to_string()),
        });
        // Lets the reactor deliver answers already in (on a short path the
        // destination answers before the next TTL leaves).
        tokio::task::yield_now().await;
    }
}

/// When an unanswered probe counts as lost: after `wait`, or sooner once
/// probes of its round with a higher TTL were answered, after `near_factor`
/// times the slowest of those answers (a hop farther away answered, so this
/// one is silent rather than slow).
fn expires(spec: &TraceSpec, sent: &[Sent], probe: &Sent) -> Instant {
    let full = probe.at + spec.wait;
    if spec.near_factor == 0 {
        return full;
    }
    let slowest_beyond = sent
        .iter()
        .filter(|o| o.round == probe.round && o.ttl > probe.ttl)
        .filter_map(|o| {
            o.answer
                .map(|a| Instant::from_std(a.at).saturating_duration_since(o.at))
        })
        .max();
    match slowest_beyond {
        Some(rtt) => full.min(probe.at + rtt.saturating_mul(spec.near_factor).max(NEAR_FLOOR)),
        None => full,
    }
}

/// The least a probe waits, however fast the hops beyond it answered.
const NEAR_FLOOR: Duration = Duration::from_millis(5);

fn apply(sent: &mut [Sent], event: Event, horizon: &mut u8) {
    let Some(probe) = sent.get_mut(event.probe) else {
        return;
    };
    if probe.answer.is_some() || probe.failed.is_some() {
        return;
    }
    if matches!(event.kind, Kind::Reached(_) | Kind::Unreachable(_)) {
        *horizon = (*horizon).min(probe.ttl);
    }
    probe.answer = Some(event);
}

fn round3(ms: f64) -> f64 {
    (ms * 1000.0).round() / 1000.0
}

fn summarise(
    spec: &TraceSpec,
    sent: &[Sent],
    horizon: u8,
    stopped: bool,
    duration_ms: f64,
) -> Trace {
    let mut hops = Vec::new();
    for ttl in spec.first_hop..=horizon {
        let mut addresses: Vec<HopAddress> = Vec::new();
        let mut probes = Vec::new();
        let mut rtts = Vec::new();
        for s in sent.iter().filter(|s| s.ttl == ttl) {
            let mut hp = HopProbe {
                from: None,
                rtt_ms: None,
                answer: None,
                code: None,
                detail: s.failed.as_ref().map(|e| format!("not sent: {e}")),
                reply_ttl: None,
            };
            if let Some(ev) = &s.answer {
                let rtt = round3(
                    Instant::from_std(ev.at)
                        .saturating_duration_since(s.at)
                        .as_secs_f64()
                        * 1000.0,
                );
                // Answers after the wait are treated as lost, as traceroute does.
                if rtt <= spec.wait.as_secs_f64() * 1000.0 {
                    rtts.push(rtt);
                    hp.from = Some(ev.from);
                    hp.rtt_ms = Some(rtt);
                    hp.reply_ttl = ev.reply_ttl;
                    match ev.kind {
                        Kind::TimeExceeded => hp.answer = Some(Answer::TimeExceeded),
                        Kind::Reached(how) => {
                            hp.answer = Some(Answer::Reached);
                            hp.detail = Some(how.to_string());
                        }
                        Kind::Unreachable(u) => {
                            hp.answer = Some(Answer::Unreachable);
                            hp.code = Some(u.code);
                            hp.detail = Some(u.describe().to_string());
                        }
                    }
                    if !addresses.iter().any(|a| a.ip == ev.from) {
                        addresses.push(HopAddress {
                            ip: ev.from,
                            name: None,
                        });
                    }
                }
            }
            probes.push(hp);
        }
        let sent_n = probes.len() as u32;
        let received = rtts.len() as u32;
        hops.push(Hop {
            ttl,
            addresses,
            sent: sent_n,
            received,
            loss_percent: if sent_n == 0 {
                100.0
            } else {
                round3(100.0 * f64::from(sent_n - received) / f64::from(sent_n))
            },
            rtt_min_ms: rtts.iter().copied().reduce(f64::min),
            rtt_avg_ms: (!rtts.is_empty())
                .then(|| round3(rtts.iter().sum::<f64>() / rtts.len() as f64)),
            rtt_max_ms: rtts.iter().copied().reduce(f64::max),
            probes,
        });
    }
    let end = end_of(spec, &hops, stopped);
    Trace {
        destination: spec.dest,
        reached: end.reason == EndReason::Reached,
        end,
        hops,
        duration_ms: round3(duration_ms),
        error: None,
        warnings: Vec::new(),
    }
}

fn end_of(spec: &TraceSpec, hops: &[Hop], stopped: bool) -> End {
    let answered = |want: Answer| {
        hops.iter().find_map(|h| {
            h.probes
                .iter()
                .find(|p| p.answer == Some(want))
                .map(|p| (h.ttl, p))
        })
    };
    if let Some((ttl, p)) = answered(Answer::Reached) {
        return End {
            reason: EndReason::Reached,
            hop: Some(ttl),
            detail: format!(
                "reached {} at hop {ttl} ({})",
                spec.dest,
                p.detail.as_deref().unwrap_or("answer")
            ),
        };
    }
    if let Some((ttl, p)) = answered(Answer::Unreachable) {
        let from = p.from.map(|f| f.to_string()).unwrap_or_default();
        return End {
            reason: EndReason::Unreachable,
            hop: Some(ttl),
            detail: format!(
                "{} (code {}) from {from} at hop {ttl}",
                p.detail.as_deref().unwrap_or("unreachable"),
                p.code.unwrap_or_default()
            ),
        };
    }
    let last = hops.iter().rev().find(|h| !h.is_silent()).map(|h| h.ttl);
    if stopped {
        return End {
            reason: EndReason::Stopped,
            hop: last,
            detail: "the collector's time ran out before the trace ended".into(),
        };
    }
    match last {
        Some(ttl) if ttl == spec.max_hops => End {
            reason: EndReason::MaxHops,
            hop: Some(ttl),
            detail: format!(
                "max hops ({}) reached without the destination",
                spec.max_hops
            ),
        },
        Some(ttl) => End {
            reason: EndReason::Timeout,
            hop: Some(ttl),
            detail: format!(
                "no answer beyond hop {ttl}: hops {} to {} stayed silent",
                ttl + 1,
                spec.max_hops
            ),
        },
        None => End {
            reason: EndReason::Timeout,
            hop: None,
            detail: "no hop answered".into(),
        },
    }
}

#[cfg(test)]
mod tests;
