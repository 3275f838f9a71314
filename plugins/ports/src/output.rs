//! The ports section of the report: per target address, which ports are open, closed or
//! filtered, and how the scan went. tls reads [`PortsOutput::open_on`].

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::portspec::PortSet;

/// The probe method a scan used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScanMethod {
    /// Full TCP connections.
    Connect,
    /// Half-open SYN probes on a raw socket.
    Syn,
}

impl ScanMethod {
    /// Lower-case name, as in the JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ScanMethod::Connect => "connect",
            ScanMethod::Syn => "syn",
        }
    }
}

/// What an open port said first, when banners were asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Banner {
    /// The bytes as text, non-printable bytes escaped (`\r`, `\n`, `\x00`).
    pub text: String,
    /// How many bytes were read (at most `banner-bytes`).
    pub bytes: usize,
}

/// One open port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OpenPort {
    /// The port.
    pub port: u16,
    /// Its IANA service name, when the registry has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Time from the probe to the answer, in microseconds.
    pub rtt_us: u64,
    /// What it said first; none when banners were off, empty text when it stayed silent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub banner: Option<Banner>,
}

/// How many ports ended in each state.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct Counts {
    /// Accepted a connection (or answered SYN-ACK).
    pub open: usize,
    /// Refused (RST).
    pub closed: usize,
    /// No answer after every retry.
    pub filtered: usize,
    /// Not classified: the deadline came before the probe, or cut it (or its retries) short.
    pub not_reached: usize,
    /// The address could not be reached: the system or a router said so (no route) and no
    /// port of it answered.
    #[serde(default)]
    pub unreachable: usize,
}

/// The scan of one target address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HostScan {
    /// The address scanned.
    pub ip: IpAddr,
    /// Counts per state.
    pub counts: Counts,
    /// Open ports, ascending.
    pub open: Vec<OpenPort>,
    /// Closed ports, folded into ranges (`"1-21,23-79"`).
    pub closed: PortSet,
    /// Filtered ports, folded into ranges.
    pub filtered: PortSet,
    /// Ports the deadline left unclassified, folded into ranges.
    #[serde(default, skip_serializing_if = "PortSet::is_empty")]
    pub not_reached: PortSet,
    /// Ports of an address that could not be reached (`error` says why), folded into ranges.
    #[serde(default, skip_serializing_if = "PortSet::is_empty")]
    pub unreachable: PortSet,
    /// Why the address could not be reached ("no route to host: ...").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The smoothed round trip measured, in microseconds, once the host answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub srtt_us: Option<u64>,
    /// The probe timeout in force at the end, in milliseconds.
    pub timeout_ms: u64,
    /// Probes sent, retries included.
    pub probes: u64,
}

impl HostScan {
    /// Whether `port` was found open.
    pub fn is_open(&self, port: u16) -> bool {
        self.open.iter().any(|p| p.port == port)
    }
}

/// The ports collector's section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PortsOutput {
    /// The method used.
    pub method: ScanMethod,
    /// Why the method asked for was not used (e.g. no raw sockets without root).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
    /// The port specification, as configured.
    pub spec: String,
    /// How many ports per address.
    pub ports_per_address: usize,
    /// Most probes in flight at once.
    pub concurrency: usize,
    /// Retries allowed for a port without an answer.
    pub retries: u8,
    /// Whether every port of every address was classified; false when the deadline stopped
    /// the scan (then `not_reached` says which ports were left) or an address could not be
    /// reached (its `error` says why, its `unreachable` which ports).
    pub complete: bool,
    /// One scan per target address, in the order dns gave them (IPv4 first).
    pub hosts: Vec<HostScan>,
    /// Things worth a look.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Whole scan time, in milliseconds.
    pub elapsed_ms: u64,
}

impl PortsOutput {
    /// The addresses on which `port` is open, in scan order.
    pub fn open_on(&self, port: u16) -> Vec<IpAddr> {
        self.hosts
            .iter()
            .filter(|h| h.is_open(port))
            .map(|h| h.ip)
            .collect()
    }

    /// Every `(address, port)` found open.
    pub fn open_ports(&self) -> Vec<(IpAddr, u16)> {
        self.hosts
            .iter()
            .flat_map(|h| h.open.iter().map(move |p| (h.ip, p.port)))
            .collect()
    }

    /// Counts over every address.
    pub fn totals(&self) -> Counts {
        self.hosts.iter().fold(Counts::default(), |a, h| Counts {
            open: a.open + h.counts.open,
            closed: a.closed + h.counts.closed,
            filtered: a.filtered + h.counts.filtered,
            not_reached: a.not_reached + h.counts.not_reached,
            unreachable: a.unreachable + h.counts.unreachable,
        })
    }
}
