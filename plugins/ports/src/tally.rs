//! What a scan learns about one address while it runs, turned into a [`HostScan`] at the end.
//! Both scanners (connect and SYN) write here.

use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use crate::output::{Banner, Counts, HostScan, OpenPort};
use crate::portspec::PortSet;
use crate::rtt::{Bounds, Estimator};
use crate::services;

#[derive(Debug, Default)]
struct Found {
    open: Vec<OpenPort>,
    closed: Vec<u16>,
    filtered: Vec<u16>,
    not_reached: Vec<u16>,
    unreachable: Vec<u16>,
    /// The first reason a probe could not be sent to the address.
    unreachable_why: Option<String>,
    probes: u64,
}

/// One address under scan: its round-trip estimate and the ports classified so far.
#[derive(Debug)]
pub(crate) struct Host {
    pub(crate) ip: IpAddr,
    pub(crate) rtt: Estimator,
    found: Mutex<Found>,
}

impl Host {
    pub(crate) fn new(ip: IpAddr, bounds: Bounds) -> Self {
        Host {
            ip,
            rtt: Estimator::new(bounds),
            found: Mutex::new(Found::default()),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Found) -> T) -> T {
        f(&mut self.found.lock().unwrap_or_else(|p| p.into_inner()))
    }

    pub(crate) fn probe_sent(&self) {
        self.with(|f| f.probes += 1);
    }

    pub(crate) fn open(&self, port: u16, rtt: Duration, banner: Option<Banner>) {
        self.rtt.sample(rtt);
        self.open_unsampled(port, rtt, banner);
    }

    /// An open port whose round trip is not a clean sample (the answer to a retried probe).
    pub(crate) fn open_unsampled(&self, port: u16, rtt: Duration, banner: Option<Banner>) {
        self.with(|f| {
            f.open.push(OpenPort {
                port,
                service: services::name(port).map(str::to_owned),
                rtt_us: rtt.as_micros() as u64,
                banner,
            })
        });
    }

    pub(crate) fn closed(&self, port: u16, rtt: Duration) {
        self.rtt.sample(rtt);
        self.closed_unsampled(port);
    }

    /// A closed port whose round trip is not a clean sample.
    pub(crate) fn closed_unsampled(&self, port: u16) {
        self.with(|f| f.closed.push(port));
    }

    pub(crate) fn filtered(&self, port: u16) {
        self.with(|f| f.filtered.push(port));
    }

    pub(crate) fn not_reached(&self, port: u16) {
        self.with(|f| f.not_reached.push(port));
    }

    /// A port that could not be probed: the system cannot reach the address (`why`).
    pub(crate) fn unreachable(&self, port: u16, why: &std::io::Error) {
        self.with(|f| {
            f.unreachable.push(port);
            f.unreachable_why
                .get_or_insert_with(|| unreachable_words(why));
        });
    }

    pub(crate) fn finish(&self) -> HostScan {
        self.with(|f| {
            let mut open = std::mem::take(&mut f.open);
            open.sort_by_key(|p| p.port);
            open.dedup_by_key(|p| p.port);
            // "Unreachable" from the system or a router is about the address only when no
            // port of it answered: then the silent ports are unreachable too (routers
            // rate-limit their ICMP errors, so most probes get none). An address that answered
            // is reachable, and an unreachable error for one of its ports is a firewall's
            // reject: filtered, as nmap reads it.
            let reachable = !open.is_empty() || !f.closed.is_empty();
            let mut filtered = std::mem::take(&mut f.filtered);
            let mut unreachable = std::mem::take(&mut f.unreachable);
            let mut why = f.unreachable_why.take();
            if reachable {
                filtered.append(&mut unreachable);
                why = None;
            } else if why.is_some() {
                unreachable.append(&mut filtered);
            }
            let closed = PortSet::from_ports(std::mem::take(&mut f.closed));
            let filtered = PortSet::from_ports(filtered);
            let not_reached = PortSet::from_ports(std::mem::take(&mut f.not_reached));
            let unreachable = PortSet::from_ports(unreachable);
            let error = why.map(|why| {
                format!(
                    "{why}: no port answered, {} ports unreachable",
                    unreachable.len()
                )
            });
            HostScan {
                ip: self.ip,
                counts: Counts {
                    open: open.len(),
                    closed: closed.len(),
                    filtered: filtered.len(),
                    not_reached: not_reached.len(),
                    unreachable: unreachable.len(),
                },
                open,
                closed,
                filtered,
                not_reached,
                unreachable,
                error,
                srtt_us: self.rtt.srtt().map(|d| d.as_micros() as u64),
                timeout_ms: self.rtt.timeout().as_millis() as u64,
                probes: f.probes,
            }
        })
    }
}

/// Why the system could not send to an address, in words.
fn unreachable_words(e: &std::io::Error) -> String {
    const ENETUNREACH: i32 = 101;
    const EHOSTUNREACH: i32 = 113;
    match e.raw_os_error() {
        Some(ENETUNREACH) => "no route to the address (network unreachable)".into(),
        Some(EHOSTUNREACH) => "no route to host".into(),
        _ => format!("cannot send to the address: {e}"),
    }
}

/// Banner bytes as text: printable ASCII kept, the rest escaped.
pub(crate) fn banner_text(bytes: &[u8]) -> Banner {
    let mut text = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'\r' => text.push_str("\\r"),
            b'\n' => text.push_str("\\n"),
            b'\t' => text.push_str("\\t"),
            b'\\' => text.push_str("\\\\"),
            0x20..=0x7e => text.push(b as char),
            _ => text.push_str(&format!("\\x{b:02x}")),
        }
    }
    Banner {
        text,
        bytes: bytes.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn banners_are_escaped() {
        let b = banner_text(b"SSH-2.0-x\r\n\x00\xff\\");
        assert_eq!(b.text, "SSH-2.0-x\\r\\n\\x00\\xff\\\\");
        assert_eq!(b.bytes, 14);
    }

    #[test]
    fn unreachable_ports_carry_the_reason_once() {
        let bounds = Bounds {
            initial: Duration::from_millis(300),
            floor: Duration::from_millis(50),
            ceiling: Duration::from_millis(500),
        };
        // No port answered: the address is unreachable, its silent ports with it.
        let host = Host::new("192.0.2.1".parse().expect("ip"), bounds);
        host.unreachable(80, &std::io::Error::from_raw_os_error(113));
        host.unreachable(81, &std::io::Error::from_raw_os_error(101));
        host.filtered(82);
        host.not_reached(83);
        let scan = host.finish();
        assert_eq!(scan.unreachable.ports(), &[80, 81, 82]);
        assert_eq!(scan.counts.unreachable, 3);
        assert_eq!(scan.counts.filtered, 0);
        assert_eq!(scan.not_reached.ports(), &[83]);
        assert_eq!(
            scan.error.as_deref(),
            Some("no route to host: no port answered, 3 ports unreachable")
        );
        // A port answered: the address is reachable; an unreachable reject is a firewall's.
        let host = Host::new("192.0.2.2".parse().expect("ip"), bounds);
        host.unreachable(80, &std::io::Error::from_raw_os_error(113));
        host.closed_unsampled(22);
        let scan = host.finish();
        assert_eq!(scan.filtered.ports(), &[80]);
        assert!(scan.unreachable.is_empty() && scan.error.is_none());
        // Silence alone is filtered.
        let host = Host::new("192.0.2.3".parse().expect("ip"), bounds);
        host.filtered(80);
        let scan = host.finish();
        assert_eq!(scan.filtered.ports(), &[80]);
        assert!(scan.unreachable.is_empty() && scan.error.is_none());
    }
}
