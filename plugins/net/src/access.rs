//! The privilege ladder: what this process may do with packets, decided
//! once per run and reported with the reason, so that a section always says
//! which method ran and why (never a silent downgrade).
//!
//! 1. [`Rung::Raw`]: raw ICMP sockets (root or CAP_NET_RAW). Every ICMP
//!    message reaches sonde, including errors about any probe it sends.
//! 2. [`Rung::Datagram`]: the unprivileged ICMP datagram socket ("ping
//!    socket"), allowed when one of the process's groups is inside
//!    `net.ipv4.ping_group_range`. The kernel owns the echo identifier and
//!    hands errors about our probes back through the socket's error queue.
//! 3. [`Rung::Unprivileged`]: neither. ping times TCP connects instead;
//!    traceroute still works with UDP or TCP probes, reading the routers'
//!    errors from the error queue (IP_RECVERR) of ordinary sockets.

use std::fmt;
use std::io;

use serde::{Deserialize, Serialize};
use socket2::{Domain, Protocol, Socket, Type};

/// Where on the ladder this process stands.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Rung {
    /// No ICMP socket at all: only ordinary UDP and TCP sockets.
    Unprivileged,
    /// The unprivileged ICMP datagram socket.
    Datagram,
    /// Raw ICMP sockets.
    Raw,
}

impl Rung {
    /// Lower-case name, as in the JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Rung::Unprivileged => "unprivileged",
            Rung::Datagram => "datagram",
            Rung::Raw => "raw",
        }
    }
}

impl fmt::Display for Rung {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The rung a run uses and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Access {
    /// What may be used.
    pub rung: Rung,
    /// Why, in words: which socket opened or which refusal came back.
    pub reason: String,
}

impl Access {
    /// Tries the rungs from the top: a raw ICMP socket, then an ICMP
    /// datagram socket. `ceiling` caps the rung (a profile setting may ask
    /// for less than the process could do, e.g. to test a fallback); the
    /// reason then says so.
    /// `setting` names the profile key that set the ceiling.
    pub fn detect(ceiling: Rung, setting: &str) -> Access {
        let raw = probe(Type::RAW);
        let dgram = probe(Type::DGRAM);
        decide(ceiling, setting, raw, dgram, &GroupRange::read())
    }
}

fn probe(kind: Type) -> io::Result<()> {
    Socket::new(Domain::IPV4, kind, Some(Protocol::ICMPV4))
        .or_else(|_| Socket::new(Domain::IPV6, kind, Some(Protocol::ICMPV6)))
        .map(drop)
}

/// `net.ipv4.ping_group_range` and the groups of this process, for reasons.
#[derive(Debug, Clone, PartialEq, Eq)]
struct GroupRange {
    range: Option<(u32, u32)>,
    groups: Vec<u32>,
}

impl GroupRange {
    fn read() -> GroupRange {
        let range = std::fs::read_to_string("/proc/sys/net/ipv4/ping_group_range")
            .ok()
            .and_then(|text| {
                let mut parts = text.split_whitespace().map(str::parse::<u32>);
                match (parts.next(), parts.next()) {
                    (Some(Ok(lo)), Some(Ok(hi))) => Some((lo, hi)),
                    _ => None,
                }
            });
        let mut groups = vec![nix::unistd::getegid().as_raw()];
        if let Ok(more) = nix::unistd::getgroups() {
            groups.extend(more.into_iter().map(|g| g.as_raw()));
        }
        groups.sort_unstable();
        groups.dedup();
        GroupRange { range, groups }
    }

    fn describe(&self) -> String {
        let groups = self
            .groups
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",");
        match self.range {
            Some((lo, hi)) if lo > hi => {
                format!("net.ipv4.ping_group_range is {lo} {hi}, which admits no group")
            }
            Some((lo, hi)) => {
                let inside = self.groups.iter().any(|g| (lo..=hi).contains(g));
                let verdict = if inside { "inside" } else { "outside" };
                format!("group {groups} is {verdict} net.ipv4.ping_group_range {lo} {hi}")
            }
            None => "net.ipv4.ping_group_range could not be read".to_string(),
        }
    }
}

fn decide(
    ceiling: Rung,
    setting: &str,
    raw: io::Result<()>,
    dgram: io::Result<()>,
    groups: &GroupRange,
) -> Access {
    let raw_refusal =
        |e: &io::Error| format!("no raw ICMP socket ({e}; needs root or CAP_NET_RAW)");
    let limited = |available: Rung| {
        format!("limited to {ceiling} by the `{setting}` setting ({available} was available)")
    };
    match (&raw, &dgram) {
        (Ok(()), _) if ceiling == Rung::Raw => Access {
            rung: Rung::Raw,
            reason: "raw ICMP socket opened (root or CAP_NET_RAW)".into(),
        },
        (Ok(()), _) => Access {
            rung: ceiling,
            reason: limited(Rung::Raw),
        },
        (Err(raw_err), Ok(())) if ceiling >= Rung::Datagram => Access {
            rung: Rung::Datagram,
            reason: format!(
                "{}; ICMP datagram socket opened ({})",
                raw_refusal(raw_err),
                groups.describe()
            ),
        },
        (Err(_), Ok(())) => Access {
            rung: Rung::Unprivileged,
            reason: limited(Rung::Datagram),
        },
        (Err(raw_err), Err(dgram_err)) => Access {
            rung: Rung::Unprivileged,
            reason: format!(
                "{}; no ICMP datagram socket ({dgram_err}: {})",
                raw_refusal(raw_err),
                groups.describe()
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn denied() -> io::Result<()> {
        Err(io::Error::from_raw_os_error(1))
    }

    fn groups(range: Option<(u32, u32)>) -> GroupRange {
        GroupRange {
            range,
            groups: vec![65534],
        }
    }

    #[test]
    fn raw_wins_when_it_opens() {
        let a = decide(Rung::Raw, "method", Ok(()), Ok(()), &groups(Some((1, 0))));
        assert_eq!(a.rung, Rung::Raw);
        assert!(a.reason.contains("CAP_NET_RAW"), "{}", a.reason);
    }

    #[test]
    fn the_setting_can_only_lower_the_rung_and_says_so() {
        let a = decide(Rung::Unprivileged, "method", Ok(()), Ok(()), &groups(None));
        assert_eq!(a.rung, Rung::Unprivileged);
        assert_eq!(
            a.reason,
            "limited to unprivileged by the `method` setting (raw was available)"
        );
        let a = decide(
            Rung::Datagram,
            "method",
            denied(),
            Ok(()),
            &groups(Some((0, 100_000))),
        );
        assert_eq!(a.rung, Rung::Datagram);
        assert!(a.reason.starts_with("no raw ICMP socket"), "{}", a.reason);
        let a = decide(
            Rung::Unprivileged,
            "method",
            denied(),
            Ok(()),
            &groups(None),
        );
        assert_eq!(
            a.reason,
            "limited to unprivileged by the `method` setting (datagram was available)"
        );
    }

    #[test]
    fn datagram_reason_names_the_group_range() {
        let a = decide(
            Rung::Raw,
            "method",
            denied(),
            Ok(()),
            &groups(Some((0, 2147483647))),
        );
        assert_eq!(a.rung, Rung::Datagram);
        assert!(
            a.reason
                .contains("group 65534 is inside net.ipv4.ping_group_range 0 2147483647"),
            "{}",
            a.reason
        );
    }

    #[test]
    fn closed_range_falls_to_the_bottom_rung() {
        let a = decide(
            Rung::Raw,
            "method",
            denied(),
            Err(io::Error::from_raw_os_error(13)),
            &groups(Some((1, 0))),
        );
        assert_eq!(a.rung, Rung::Unprivileged);
        assert!(
            a.reason
                .contains("net.ipv4.ping_group_range is 1 0, which admits no group"),
            "{}",
            a.reason
        );
        assert!(
            a.reason.contains("needs root or CAP_NET_RAW"),
            "{}",
            a.reason
        );
    }
}
