//! The ping section of the report.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// How the probes were sent: the rung of the privilege ladder that ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// ICMP echo over a raw socket (root or CAP_NET_RAW).
    IcmpRaw,
    /// ICMP echo over the unprivileged datagram socket.
    IcmpDatagram,
    /// TCP connect timing (no ICMP socket allowed).
    TcpConnect,
}

impl Method {
    /// Lower-case name, as in the JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::IcmpRaw => "icmp_raw",
            Method::IcmpDatagram => "icmp_datagram",
            Method::TcpConnect => "tcp_connect",
        }
    }
}

/// What became of one probe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "fate", rename_all = "snake_case")]
pub enum Fate {
    /// The destination answered (echo reply; for TCP a SYN-ACK or a RST).
    Reply {
        /// Round-trip time in milliseconds.
        rtt_ms: f64,
        /// TTL or hop limit of the reply, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ttl: Option<u8>,
        /// For TCP: `open` (SYN-ACK) or `refused` (RST).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    /// No answer within the probe timeout.
    Timeout,
    /// Destination unreachable.
    Unreachable {
        /// The ICMP code, when an ICMP message said so.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<u8>,
        /// The code (or the error) in words.
        reason: String,
        /// Who said so.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<IpAddr>,
    },
    /// A router dropped the probe: its TTL ran out.
    TtlExceeded {
        /// The router.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<IpAddr>,
    },
    /// The probe could not be sent, or another error came back.
    Error {
        /// What went wrong.
        message: String,
    },
}

impl Fate {
    /// The round-trip time, for replies.
    pub fn rtt_ms(&self) -> Option<f64> {
        match self {
            Fate::Reply { rtt_ms, .. } => Some(*rtt_ms),
            _ => None,
        }
    }

    /// Short words for the text view: `0.123 ms`, `timeout`, ...
    pub fn short(&self) -> String {
        match self {
            Fate::Reply { rtt_ms, .. } => format!("{rtt_ms:.3}"),
            Fate::Timeout => "timeout".into(),
            Fate::Unreachable { reason, from, .. } => match from {
                Some(ip) => format!("{reason} from {ip}"),
                None => reason.clone(),
            },
            Fate::TtlExceeded { from } => match from {
                Some(ip) => format!("ttl exceeded at {ip}"),
                None => "ttl exceeded".into(),
            },
            Fate::Error { message } => format!("error: {message}"),
        }
    }
}

/// One probe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Probe {
    /// Its sequence number (0-based).
    pub seq: u16,
    /// What became of it.
    #[serde(flatten)]
    pub fate: Fate,
}

/// Round-trip statistics, in milliseconds (stddev as ping's `mdev`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RttStats {
    /// Fastest.
    pub min_ms: f64,
    /// Mean.
    pub avg_ms: f64,
    /// Slowest.
    pub max_ms: f64,
    /// Standard deviation.
    pub stddev_ms: f64,
}

impl RttStats {
    /// Statistics of some round-trip times; `None` without any.
    pub fn of(rtts: &[f64]) -> Option<RttStats> {
        if rtts.is_empty() {
            return None;
        }
        let n = rtts.len() as f64;
        let min = rtts.iter().copied().fold(f64::INFINITY, f64::min);
        let max = rtts.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let avg = rtts.iter().sum::<f64>() / n;
        let var = rtts.iter().map(|r| (r - avg).powi(2)).sum::<f64>() / n;
        Some(RttStats {
            min_ms: round3(min),
            avg_ms: round3(avg),
            max_ms: round3(max),
            stddev_ms: round3(var.sqrt()),
        })
    }
}

/// Rounds to microseconds: finer digits are noise.
pub fn round3(ms: f64) -> f64 {
    (ms * 1000.0).round() / 1000.0
}

/// The results for one address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PingTarget {
    /// The address pinged.
    pub address: IpAddr,
    /// The TCP port timed (TCP connect method only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Probes sent.
    pub sent: u32,
    /// Probes answered by the destination.
    pub received: u32,
    /// Replies to a probe already answered (not counted in `received`).
    #[serde(default)]
    pub duplicates: u32,
    /// Share of probes without a reply, in percent.
    pub loss_percent: f64,
    /// Round-trip statistics of the replies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtt: Option<RttStats>,
    /// TTL (hop limit) of the last reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_ttl: Option<u8>,
    /// Every probe, in order.
    pub probes: Vec<Probe>,
    /// Why this address could not be pinged at all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Things worth a look (ports that did not answer, an early stop).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl PingTarget {
    /// An address that was not pinged, with the reason.
    pub fn failed(address: IpAddr, error: String) -> PingTarget {
        PingTarget {
            address,
            port: None,
            sent: 0,
            received: 0,
            duplicates: 0,
            loss_percent: 100.0,
            rtt: None,
            reply_ttl: None,
            probes: Vec::new(),
            error: Some(error),
            notes: Vec::new(),
        }
    }

    /// Builds the totals from the probes.
    pub fn from_probes(address: IpAddr, probes: Vec<Probe>, duplicates: u32) -> PingTarget {
        let sent = probes.len() as u32;
        let rtts: Vec<f64> = probes.iter().filter_map(|p| p.fate.rtt_ms()).collect();
        let received = rtts.len() as u32;
        let reply_ttl = probes.iter().rev().find_map(|p| match p.fate {
            Fate::Reply { ttl, .. } => ttl,
            _ => None,
        });
        let loss_percent = if sent == 0 {
            100.0
        } else {
            round3(100.0 * f64::from(sent - received) / f64::from(sent))
        };
        PingTarget {
            address,
            port: None,
            sent,
            received,
            duplicates,
            loss_percent,
            rtt: RttStats::of(&rtts),
            reply_ttl,
            probes,
            error: None,
            notes: Vec::new(),
        }
    }
}

/// The ping collector's section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PingOutput {
    /// The rung of the privilege ladder that ran.
    pub method: Method,
    /// Why that one: which socket opened, or which refusal came back.
    pub method_reason: String,
    /// Probes per address.
    pub count: u32,
    /// Time between probes, in milliseconds (after the non-root minimum).
    pub interval_ms: f64,
    /// Per-probe timeout, in milliseconds.
    pub timeout_ms: u64,
    /// Payload bytes per ICMP probe.
    pub payload_size: usize,
    /// One entry per address, in dns's order.
    pub targets: Vec<PingTarget>,
    /// Things worth a look (the interval raised to the user minimum...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Whole collection time, in milliseconds.
    pub elapsed_ms: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_match_pings_mdev() {
        // ping: rtt min/avg/max/mdev = 1.000/2.000/3.000/0.816 ms
        let s = RttStats::of(&[1.0, 2.0, 3.0]).unwrap();
        assert_eq!(
            (s.min_ms, s.avg_ms, s.max_ms, s.stddev_ms),
            (1.0, 2.0, 3.0, 0.816)
        );
        assert_eq!(RttStats::of(&[]), None);
    }

    #[test]
    fn totals_count_replies_only() {
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let reply = |seq, rtt_ms| Probe {
            seq,
            fate: Fate::Reply {
                rtt_ms,
                ttl: Some(61),
                detail: None,
            },
        };
        let t = PingTarget::from_probes(
            ip,
            vec![
                reply(0, 1.0),
                Probe {
                    seq: 1,
                    fate: Fate::Timeout,
                },
                reply(2, 3.0),
            ],
            1,
        );
        assert_eq!((t.sent, t.received, t.duplicates), (3, 2, 1));
        assert_eq!(t.loss_percent, 33.333);
        assert_eq!(t.reply_ttl, Some(61));
        let json = serde_json::to_value(&t.probes[1]).unwrap();
        assert_eq!(json, serde_json::json!({"seq": 1, "fate": "timeout"}));
        let back: Probe =
            serde_json::from_value(serde_json::to_value(&t.probes[0]).unwrap()).unwrap();
        assert_eq!(back, t.probes[0]);
    }
}
