//! The trace's bookkeeping with made-up probes and answers: per-hop figures,
//! responders, late answers and every way a trace ends.

use std::net::Ipv4Addr;

use sonde_net::Unreachable;

use super::*;

const DEST: IpAddr = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 70));

fn router(n: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(198, 51, 100, n))
}

fn spec(max_hops: u8) -> TraceSpec {
    TraceSpec {
        dest: DEST,
        method: ProbeMethod::Icmp,
        rung: Rung::Raw,
        first_hop: 1,
        max_hops,
        probes: 3,
        wait: Duration::from_millis(500),
        round_gap: Duration::from_millis(50),
        near_factor: 10,
        udp_port: 33434,
        tcp_port: 80,
        ident: 1,
        tcp_seq: 1,
        stop_at: Instant::now() + Duration::from_secs(10),
    }
}

/// Probes sent at `base`, and the answers to give them.
struct Made {
    base: Instant,
    sent: Vec<Sent>,
    horizon: u8,
}

impl Made {
    fn new(max_hops: u8) -> Made {
        Made {
            base: Instant::now(),
            sent: Vec::new(),
            horizon: max_hops,
        }
    }

    /// One probe to `ttl` in `round`; returns its index.
    fn probe(&mut self, ttl: u8, round: u8) -> usize {
        self.sent.push(Sent {
            ttl,
            round,
            at: self.base,
            answer: None,
            failed: None,
        });
        self.sent.len() - 1
    }

    fn answer(&mut self, probe: usize, from: IpAddr, ms: u64, kind: Kind) {
        let event = Event {
            probe,
            from,
            at: (self.base + Duration::from_millis(ms)).into_std(),
            kind,
            reply_ttl: Some(60),
        };
        apply(&mut self.sent, event, &mut self.horizon);
    }

    /// A round of one probe per TTL up to `to`, each hop answering as `at` says.
    fn round(&mut self, round: u8, to: u8, at: impl Fn(u8) -> Option<(IpAddr, u64, Kind)>) {
        for ttl in 1..=to {
            let i = self.probe(ttl, round);
            if let Some((from, ms, kind)) = at(ttl) {
                self.answer(i, from, ms, kind);
            }
        }
    }

    fn trace(&self, spec: &TraceSpec, stopped: bool) -> Trace {
        summarise(spec, &self.sent, self.horizon, stopped, 12.3456)
    }
}

fn path(dest_at: u8) -> impl Fn(u8) -> Option<(IpAddr, u64, Kind)> {
    move |ttl| {
        if ttl == dest_at {
            Some((DEST, u64::from(ttl), Kind::Reached("echo reply")))
        } else {
            Some((router(ttl), u64::from(ttl), Kind::TimeExceeded))
        }
    }
}

#[test]
fn a_reached_trace_stops_at_the_destination_with_its_figures() {
    let spec = spec(8);
    let mut m = Made::new(8);
    m.round(0, 8, path(3));
    assert_eq!(m.horizon, 3, "the destination sets the horizon");
    m.round(1, 3, path(3));
    // Round 2: hop 2 silent, hop 1 slower.
    m.round(2, 3, |ttl| match ttl {
        1 => Some((router(1), 4, Kind::TimeExceeded)),
        2 => None,
        _ => path(3)(ttl),
    });
    let t = m.trace(&spec, false);
    assert_eq!(t.hops.len(), 3, "nothing past the destination is reported");
    assert!(t.reached);
    assert_eq!(t.end.reason, EndReason::Reached);
    assert_eq!(t.end.hop, Some(3));
    assert_eq!(t.end.detail, "reached 203.0.113.70 at hop 3 (echo reply)");
    let h1 = &t.hops[0];
    assert_eq!((h1.sent, h1.received, h1.loss_percent), (3, 3, 0.0));
    assert_eq!(
        (h1.rtt_min_ms, h1.rtt_avg_ms, h1.rtt_max_ms),
        (Some(1.0), Some(2.0), Some(4.0))
    );
    let h2 = &t.hops[1];
    assert_eq!((h2.sent, h2.received, h2.loss_percent), (3, 2, 33.333));
    assert_eq!(h2.probes[2].from, None);
    assert_eq!(h2.probes[2].answer, None);
    assert_eq!(t.hops[2].probes[0].answer, Some(Answer::Reached));
    assert_eq!(t.hops[2].probes[0].detail.as_deref(), Some("echo reply"));
    assert_eq!(t.duration_ms, 12.346);
}

#[test]
fn a_hop_with_two_responders_lists_both_in_order_of_first_answer() {
    let spec = spec(4);
    let mut m = Made::new(4);
    let a = router(20);
    let b = router(21);
    for (round, who) in [(0, a), (1, b), (2, a)] {
        m.round(round, 2, |ttl| match ttl {
            1 => Some((router(1), 1, Kind::TimeExceeded)),
            _ => Some((who, 2, Kind::TimeExceeded)),
        });
    }
    let t = m.trace(&spec, false);
    let ips: Vec<IpAddr> = t.hops[1].addresses.iter().map(|x| x.ip).collect();
    assert_eq!(ips, [a, b]);
    let froms: Vec<Option<IpAddr>> = t.hops[1].probes.iter().map(|p| p.from).collect();
    assert_eq!(froms, [Some(a), Some(b), Some(a)]);
    assert_eq!(t.hops[0].addresses.len(), 1);
}

#[test]
fn answers_after_the_wait_count_as_lost() {
    let spec = spec(2);
    let mut m = Made::new(2);
    m.round(0, 1, |_| Some((router(1), 600, Kind::TimeExceeded)));
    let t = m.trace(&spec, false);
    let h = &t.hops[0];
    assert_eq!((h.received, h.loss_percent), (0, 100.0));
    assert!(h.addresses.is_empty() && h.probes[0].rtt_ms.is_none());
}

#[test]
fn routers_up_to_the_last_ttl_end_at_max_hops() {
    let spec = spec(4);
    let mut m = Made::new(4);
    m.round(0, 4, path(0));
    let t = m.trace(&spec, false);
    assert_eq!(t.end.reason, EndReason::MaxHops);
    assert_eq!(t.end.hop, Some(4));
    assert_eq!(t.end.detail, "max hops (4) reached without the destination");
    assert!(!t.reached);
}

#[test]
fn silence_beyond_a_hop_ends_in_timeout_and_silent_hops_stay() {
    let spec = spec(6);
    let mut m = Made::new(6);
    m.round(0, 6, |ttl| {
        (ttl <= 3 && ttl != 2).then(|| (router(ttl), 1, Kind::TimeExceeded))
    });
    let t = m.trace(&spec, false);
    assert_eq!(t.hops.len(), 6, "silent hops are reported, not dropped");
    assert!(t.hops[1].is_silent());
    assert_eq!(t.end.reason, EndReason::Timeout);
    assert_eq!(t.end.hop, Some(3));
    assert_eq!(
        t.end.detail,
        "no answer beyond hop 3: hops 4 to 6 stayed silent"
    );
    let mut quiet = Made::new(3);
    quiet.round(0, 3, |_| None);
    let t = quiet.trace(&spec, false);
    assert_eq!((t.end.reason, t.end.hop), (EndReason::Timeout, None));
    assert_eq!(t.end.detail, "no hop answered");
}

#[test]
fn an_unreachable_ends_the_trace_at_its_hop_with_its_code() {
    let spec = spec(8);
    let mut m = Made::new(8);
    let unreachable = Kind::Unreachable(Unreachable {
        family: Family::V4,
        code: 1,
    });
    m.round(0, 8, |ttl| match ttl {
        1 => Some((router(1), 1, Kind::TimeExceeded)),
        2 => Some((router(2), 2, unreachable)),
        _ => None,
    });
    assert_eq!(m.horizon, 2);
    let t = m.trace(&spec, false);
    assert_eq!(t.hops.len(), 2);
    assert_eq!(t.end.reason, EndReason::Unreachable);
    assert_eq!(t.end.hop, Some(2));
    assert_eq!(
        t.end.detail,
        "host unreachable (code 1) from 198.51.100.2 at hop 2"
    );
    assert_eq!(t.hops[1].probes[0].code, Some(1));
}

#[test]
fn a_deadline_is_a_stop_and_repeats_and_strays_change_nothing() {
    let spec = spec(5);
    let mut m = Made::new(5);
    m.round(0, 2, path(0));
    // A second answer to probe 0 and an answer to a probe never sent are ignored.
    m.answer(0, router(99), 3, Kind::TimeExceeded);
    m.answer(42, DEST, 1, Kind::Reached("echo reply"));
    assert_eq!(m.horizon, 5);
    let failed = m.probe(3, 0);
    m.sent[failed].failed = Some("no buffer space".into());
    let t = m.trace(&spec, true);
    assert_eq!(t.hops[0].addresses[0].ip, router(1));
    assert_eq!(
        t.hops[2].probes[0].detail.as_deref(),
        Some("not sent: no buffer space")
    );
    assert_eq!(t.end.reason, EndReason::Stopped);
    assert_eq!(t.end.hop, Some(2));
}
