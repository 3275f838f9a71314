//! The traceroute section of the report.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::config::ProbeMethod;

/// How the probes were sent and answers read: the rung that ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MethodUsed {
    /// The probes: icmp, udp or tcp.
    pub probe: ProbeMethod,
    /// `raw` (raw ICMP socket reads every answer), `datagram` (ICMP
    /// datagram socket) or `unprivileged` (errors read from each probe
    /// socket's error queue).
    pub rung: sonde_net::Rung,
    /// Why this rung: which socket opened or which refusal came back, and
    /// any change of probe method it forced.
    pub reason: String,
    /// Whether every probe of an address used one flow (same addresses,
    /// protocol and ports), so per-flow load balancers keep one path.
    pub paris: bool,
}

/// What answered one probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    /// A router: ICMP time exceeded.
    TimeExceeded,
    /// The destination itself (echo reply, port unreachable, SYN-ACK or RST).
    Reached,
    /// Destination unreachable from a router or the destination.
    Unreachable,
}

/// One probe's fate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HopProbe {
    /// Who answered; none for a probe without answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<IpAddr>,
    /// Round trip in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtt_ms: Option<f64>,
    /// What the answer was; none for a probe without answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<Answer>,
    /// For unreachable: the ICMP code and its meaning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<u8>,
    /// The code in words, or other detail (`open`, `refused` for TCP).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// TTL of the answer as it arrived, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_ttl: Option<u8>,
}

/// One address seen at a hop, with its reverse name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HopAddress {
    /// The address.
    pub ip: IpAddr,
    /// Its PTR name (without the final dot), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// One TTL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Hop {
    /// The TTL (hop number).
    pub ttl: u8,
    /// The addresses that answered, in order of first answer (more than one
    /// when paths differ); empty for a silent hop.
    pub addresses: Vec<HopAddress>,
    /// Probes sent.
    pub sent: u32,
    /// Probes answered.
    pub received: u32,
    /// Share without answer, in percent.
    pub loss_percent: f64,
    /// Fastest, mean and slowest answer, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtt_min_ms: Option<f64>,
    /// Mean round trip.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtt_avg_ms: Option<f64>,
    /// Slowest round trip.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtt_max_ms: Option<f64>,
    /// Every probe of this hop, in the order sent.
    pub probes: Vec<HopProbe>,
}

impl Hop {
    /// Whether no probe of this hop was answered.
    pub fn is_silent(&self) -> bool {
        self.received == 0
    }
}

/// Why a trace ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// The destination answered.
    Reached,
    /// A destination-unreachable message ended it.
    Unreachable,
    /// The last TTL was reached while routers still answered.
    MaxHops,
    /// Nothing answered beyond some hop before the probes' wait ran out.
    Timeout,
    /// The collector's deadline or cancellation stopped it.
    Stopped,
}

/// How a trace ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct End {
    /// Why.
    pub reason: EndReason,
    /// The hop it ended at (the destination's, the unreachable one's, or the
    /// last that answered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hop: Option<u8>,
    /// In words.
    pub detail: String,
}

/// The trace to one address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Trace {
    /// The destination.
    pub destination: IpAddr,
    /// Whether the destination answered.
    pub reached: bool,
    /// How it ended.
    pub end: End,
    /// Every hop probed, from `first-hop` up; silent hops are kept.
    pub hops: Vec<Hop>,
    /// Time from the first probe to the end of the trace (reverse lookups
    /// not included), in milliseconds.
    pub duration_ms: f64,
    /// Why this address could not be traced at all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What went wrong during the trace without ending it (a reader that stopped: answers
    /// after that were not seen, and those probes count as lost).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The traceroute collector's section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TracerouteOutput {
    /// Probes and rung used, and why.
    pub method: MethodUsed,
    /// Highest TTL probed.
    pub max_hops: u8,
    /// Probes per hop.
    pub probes_per_hop: u8,
    /// Per-probe wait, in milliseconds.
    pub wait_ms: u64,
    /// One trace per address.
    pub traces: Vec<Trace>,
    /// Whole collection time (reverse lookups included), in milliseconds.
    pub elapsed_ms: u64,
}
