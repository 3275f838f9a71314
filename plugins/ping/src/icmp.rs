//! ICMP echo to one address over a raw or a datagram socket.
//!
//! Probes leave on schedule (`interval` apart) while replies are read on the
//! same task, so a slow reply never delays the next probe. A reply counts
//! only when its identifier, sequence and payload are the ones sent:
//! another process's echoes (a raw socket sees them all), duplicates and
//! late replies are not counted as answers.

use std::net::IpAddr;
use std::time::Duration;

use sonde_net::packet::{self, Family, Message, Transport};
use sonde_net::{ErrorKind, PacketSocket, Received, Rung};
use tokio::time::{sleep_until, Instant};

use crate::output::{round3, Fate, PingTarget, Probe};

/// What one address is pinged with.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The address.
    pub address: IpAddr,
    /// Raw or datagram.
    pub rung: Rung,
    /// Echo identifier (raw sockets; the kernel picks it for datagram ones).
    pub ident: u16,
    /// Probes to send.
    pub count: u16,
    /// Time between probes.
    pub interval: Duration,
    /// Wait for each reply.
    pub timeout: Duration,
    /// Payload bytes.
    pub size: usize,
    /// Stop sending at this instant (the collector's deadline, less a margin).
    pub stop_at: Instant,
}

#[derive(Debug, Clone)]
struct Slot {
    sent_at: Instant,
    fate: Option<Outcome>,
}

#[derive(Debug, Clone)]
enum Outcome {
    Reply {
        rtt: Duration,
        ttl: Option<u8>,
    },
    Error {
        kind: ErrorKind,
        from: Option<IpAddr>,
    },
    NotSent(String),
}

/// The payload of every probe of one address: a pattern seeded by the
/// identifier, so a foreign echo with the same identifier rarely matches.
fn payload(ident: u16, size: usize) -> Vec<u8> {
    let seed = ident.to_be_bytes();
    (0..size)
        .map(|i| (i as u8).wrapping_mul(31) ^ seed[i % 2])
        .collect()
}

/// Pings one address; never fails as a whole (problems are in the target's
/// `error` or in its probes' fates).
pub async fn ping(plan: Plan) -> PingTarget {
    let family = Family::of(plan.address);
    let socket = match PacketSocket::icmp(family, plan.rung) {
        Ok(s) => s,
        Err(e) => {
            return PingTarget::failed(
                plan.address,
                format!("cannot open an ICMP {} socket: {e}", plan.rung),
            )
        }
    };
    let ident = if plan.rung == Rung::Raw {
        plan.ident
    } else {
        // The kernel writes its own identifier (the socket's "port") into
        // every request; binding picks it now so replies can be checked.
        let any = match family {
            Family::V4 => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
            Family::V6 => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
        };
        let bound = socket
            .socket()
            .bind(&std::net::SocketAddr::new(any, 0).into())
            .and_then(|()| socket.local_port());
        match bound {
            Ok(port) => port,
            Err(e) => {
                return PingTarget::failed(
                    plan.address,
                    format!("cannot bind the ICMP socket: {e}"),
                )
            }
        }
    };
    let data = payload(ident, plan.size);
    let mut slots: Vec<Slot> = Vec::with_capacity(usize::from(plan.count));
    let mut duplicates = 0u32;
    let mut notes = Vec::new();
    let mut buf = vec![0u8; plan.size + 1024];
    let start = Instant::now();
    let mut next_send = start;
    let mut stopped_early = false;
    loop {
        if !stopped_early && slots.len() < usize::from(plan.count) && next_send >= plan.stop_at {
            stopped_early = true;
            notes.push(format!(
                "stopped after {} of {} probes: the collector's time was up",
                slots.len(),
                plan.count
            ));
        }
        let may_send = !stopped_early && slots.len() < usize::from(plan.count);
        let last_wait = slots.last().map_or(start, |s| s.sent_at + plan.timeout);
        if !may_send && (slots.iter().all(|s| s.fate.is_some()) || Instant::now() >= last_wait) {
            break;
        }
        tokio::select! {
            biased;
            got = socket.recv(&mut buf) => match got {
                Ok(received) => {
                    let len = received.len.min(buf.len());
                    if let Some(Matched { seq, outcome }) =
                        classify(&plan, family, ident, &data, &received, &buf[..len])
                    {
                        let at = Instant::from_std(received.at);
                        record(&mut slots, seq, outcome, at, plan.timeout, &mut duplicates);
                    }
                }
                Err(e) => {
                    notes.push(format!("receiving stopped: {e}"));
                    break;
                }
            },
            () = sleep_until(next_send), if may_send => {
                let seq = slots.len() as u16;
                let packet = packet::echo_request(family, ident, seq, &data);
                let sent_at = Instant::now();
                let fate = match socket.send_to(&packet, plan.address, 0).await {
                    Ok(_) => None,
                    Err(e) => Some(Outcome::NotSent(e.to_string())),
                };
                slots.push(Slot { sent_at, fate });
                next_send += plan.interval;
            },
            () = sleep_until(last_wait), if !may_send => {}
        }
    }
    let probes = slots
        .iter()
        .enumerate()
        .map(|(seq, slot)| Probe {
            seq: seq as u16,
            fate: fate_of(family, slot.fate.clone()),
        })
        .collect();
    let mut target = PingTarget::from_probes(plan.address, probes, duplicates);
    target.notes = notes;
    target
}

struct Matched {
    seq: u16,
    outcome: Outcome,
}

/// Whether a received datagram or queued error answers one of our probes.
fn classify(
    plan: &Plan,
    family: Family,
    ident: u16,
    data: &[u8],
    received: &Received,
    bytes: &[u8],
) -> Option<Matched> {
    if let Some(err) = received.error {
        // Datagram sockets: the error queue hands back our own request.
        let Ok(Message::EchoRequest { id, seq }) = packet::parse_icmp(family, bytes) else {
            return None;
        };
        if id != ident {
            return None;
        }
        let kind = err.kind(family)?;
        return Some(Matched {
            seq,
            outcome: Outcome::Error {
                kind,
                from: err.offender,
            },
        });
    }
    let (icmp, ttl, from) = if plan.rung == Rung::Raw && family == Family::V4 {
        let (header, rest) = packet::parse_ipv4(bytes).ok()?;
        (rest, Some(header.ttl), IpAddr::V4(header.src))
    } else {
        (bytes, received.ttl, received.from?)
    };
    match packet::parse_icmp(family, icmp).ok()? {
        Message::EchoReply { id, seq, payload } => {
            (from == plan.address && id == ident && payload == data).then_some(Matched {
                seq,
                outcome: Outcome::Reply {
                    rtt: Duration::ZERO,
                    ttl,
                },
            })
        }
        Message::Error { kind, quote } => {
            let quote = quote.ok()?;
            match quote.transport {
                Transport::Echo { id, seq } if id == ident && quote.dst == plan.address => {
                    Some(Matched {
                        seq,
                        outcome: Outcome::Error {
                            kind,
                            from: Some(from),
                        },
                    })
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// Files a matched answer under its probe, unless it is late or a repeat.
fn record(
    slots: &mut [Slot],
    seq: u16,
    outcome: Outcome,
    at: Instant,
    timeout: Duration,
    duplicates: &mut u32,
) {
    let Some(slot) = slots.get_mut(usize::from(seq)) else {
        return;
    };
    let rtt = at.saturating_duration_since(slot.sent_at);
    if rtt > timeout {
        return;
    }
    match (&slot.fate, outcome) {
        (Some(Outcome::NotSent(_)), _) => {}
        (Some(Outcome::Reply { .. }), Outcome::Reply { .. }) => *duplicates += 1,
        (Some(_), _) => {}
        (None, Outcome::Reply { ttl, .. }) => slot.fate = Some(Outcome::Reply { rtt, ttl }),
        (None, error) => slot.fate = Some(error),
    }
}

fn fate_of(family: Family, outcome: Option<Outcome>) -> Fate {
    match outcome {
        None => Fate::Timeout,
        Some(Outcome::Reply { rtt, ttl }) => Fate::Reply {
            rtt_ms: round3(rtt.as_secs_f64() * 1000.0),
            ttl,
            detail: None,
        },
        Some(Outcome::NotSent(why)) => Fate::Error {
            message: format!("not sent: {why}"),
        },
        Some(Outcome::Error { kind, from }) => match kind {
            ErrorKind::TimeExceeded => Fate::TtlExceeded { from },
            ErrorKind::Unreachable(u) => Fate::Unreachable {
                code: Some(u.code),
                reason: u.describe().to_string(),
                from,
            },
            ErrorKind::Other { icmp_type, code } => Fate::Error {
                message: format!(
                    "ICMP{} type {icmp_type} code {code}",
                    if family == Family::V6 { "v6" } else { "" }
                ),
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Plan {
        Plan {
            address: "203.0.113.10".parse().unwrap(),
            rung: Rung::Raw,
            ident: 0x4242,
            count: 4,
            interval: Duration::from_millis(200),
            timeout: Duration::from_secs(1),
            size: 8,
            stop_at: Instant::now() + Duration::from_secs(10),
        }
    }

    fn raw_v4(src: [u8; 4], icmp: &[u8]) -> Vec<u8> {
        let mut p = vec![0x45, 0, 0, 0, 0, 0, 0, 0, 61, 1, 0, 0];
        p.extend_from_slice(&src);
        p.extend_from_slice(&[198, 51, 100, 10]);
        p.extend_from_slice(icmp);
        p
    }

    fn received() -> Received {
        Received {
            from: None,
            len: 0,
            ttl: None,
            error: None,
            at: std::time::Instant::now(),
        }
    }

    #[test]
    fn only_our_identifier_sequence_and_payload_count() {
        let plan = plan();
        let data = payload(plan.ident, plan.size);
        let reply = |id, seq, data: &[u8]| {
            let mut r = packet::echo_request(Family::V4, id, seq, data);
            r[0] = 0;
            raw_v4([203, 0, 113, 10], &r)
        };
        let ours = reply(0x4242, 2, &data);
        let m = classify(&plan, Family::V4, plan.ident, &data, &received(), &ours).unwrap();
        assert_eq!(m.seq, 2);
        assert!(matches!(m.outcome, Outcome::Reply { ttl: Some(61), .. }));
        // Another process's echo: other identifier.
        let foreign = reply(0x1111, 2, &data);
        assert!(classify(&plan, Family::V4, plan.ident, &data, &received(), &foreign).is_none());
        // Same identifier, other payload: not ours either.
        let spoof = reply(0x4242, 2, b"xxxxxxxx");
        assert!(classify(&plan, Family::V4, plan.ident, &data, &received(), &spoof).is_none());
        // From another host.
        let mut elsewhere = ours.clone();
        elsewhere[12..16].copy_from_slice(&[192, 0, 2, 1]);
        assert!(classify(
            &plan,
            Family::V4,
            plan.ident,
            &data,
            &received(),
            &elsewhere
        )
        .is_none());
    }

    #[test]
    fn repeats_are_duplicates_and_late_replies_do_not_count() {
        let now = Instant::now();
        let mut slots = vec![Slot {
            sent_at: now,
            fate: None,
        }];
        let mut dups = 0;
        let reply = Outcome::Reply {
            rtt: Duration::ZERO,
            ttl: None,
        };
        record(
            &mut slots,
            0,
            reply.clone(),
            now + Duration::from_millis(3),
            Duration::from_secs(1),
            &mut dups,
        );
        record(
            &mut slots,
            0,
            reply.clone(),
            now + Duration::from_millis(4),
            Duration::from_secs(1),
            &mut dups,
        );
        record(
            &mut slots,
            9,
            reply.clone(),
            now,
            Duration::from_secs(1),
            &mut dups,
        );
        assert_eq!(dups, 1);
        assert!(
            matches!(slots[0].fate, Some(Outcome::Reply { rtt, .. }) if rtt == Duration::from_millis(3))
        );
        let mut late = vec![Slot {
            sent_at: now,
            fate: None,
        }];
        record(
            &mut late,
            0,
            reply,
            now + Duration::from_secs(2),
            Duration::from_secs(1),
            &mut dups,
        );
        assert!(late[0].fate.is_none());
    }

    #[test]
    fn errors_are_matched_by_the_quoted_probe() {
        let plan = plan();
        let data = payload(plan.ident, plan.size);
        let probe = packet::echo_request(Family::V4, plan.ident, 1, &data);
        let mut icmp = vec![3, 1, 0, 0, 0, 0, 0, 0];
        icmp.extend(raw_v4([198, 51, 100, 10], &[]));
        // The quoted header: from us to the target.
        let quoted_len = icmp.len();
        icmp[quoted_len - 8..quoted_len - 4].copy_from_slice(&[198, 51, 100, 10]);
        icmp[quoted_len - 4..].copy_from_slice(&[203, 0, 113, 10]);
        icmp.extend(&probe);
        let packet = raw_v4([203, 0, 113, 1], &icmp);
        let m = classify(&plan, Family::V4, plan.ident, &data, &received(), &packet).unwrap();
        assert_eq!(m.seq, 1);
        let fate = fate_of(Family::V4, Some(m.outcome));
        assert_eq!(
            fate,
            Fate::Unreachable {
                code: Some(1),
                reason: "host unreachable".into(),
                from: Some("203.0.113.1".parse().unwrap())
            }
        );
        // The same error about someone else's echo is not ours.
        let other = packet::echo_request(Family::V4, 7, 1, &data);
        let mut foreign = packet[..packet.len() - probe.len()].to_vec();
        foreign.extend(other);
        assert!(classify(&plan, Family::V4, plan.ident, &data, &received(), &foreign).is_none());
    }
}
