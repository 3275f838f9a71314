//! Reverse names of the hops: first the names already known (the dns
//! section's PTR answers, from DNS or the hosts file, and the hosts file
//! itself, as traceroute's getnameinfo reads it), then the servers dns used
//! for the rest, all at once and never past a deadline.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;

use futures_util::future::join_all;
use sonde_dns::hosts::Hosts;
use sonde_dns::{reverse_name, DnsOutput, RecordType, Resolver, Status};
use tokio::time::{timeout_at, Instant};

use crate::output::Trace;

/// Where hop names come from.
#[derive(Debug, Clone, Default)]
pub struct Namer {
    /// Names known without asking: an address's first name.
    known: HashMap<IpAddr, String>,
    /// The hosts file dns read, when it read one.
    hosts: Hosts,
    /// The servers to ask for the others.
    resolver: Option<Resolver>,
}

impl Namer {
    /// Names from `known` and `hosts` first, then from `resolver`.
    pub fn new(known: HashMap<IpAddr, String>, hosts: Hosts, resolver: Option<Resolver>) -> Namer {
        Namer {
            known,
            hosts,
            resolver,
        }
    }

    /// The names the dns section found (PTR of the target's addresses), its
    /// hosts file, and its servers. A hosts file that cannot be read now is
    /// left out: dns already warned about it.
    pub fn from_dns(dns: &DnsOutput) -> Namer {
        let known = dns
            .ptr
            .iter()
            .filter(|p| p.lookup.status == Status::Answered)
            .filter_map(|p| Some((p.ip, trim(p.names().next()?))))
            .collect();
        let hosts = dns
            .resolver
            .hosts_file
            .as_deref()
            .and_then(|path| Hosts::read(std::path::Path::new(path)).ok())
            .unwrap_or_default();
        Namer::new(known, hosts, Some(Resolver::from_info(&dns.resolver)))
    }

    /// The name of `ip` if known without asking.
    fn local(&self, ip: IpAddr) -> Option<String> {
        self.known
            .get(&ip)
            .cloned()
            .or_else(|| self.hosts.names(ip).into_iter().next())
    }
}

fn trim(name: &str) -> String {
    name.trim_end_matches('.').to_string()
}

/// Fills in `name` of every hop address: known names at once, the others
/// asked for once per distinct address, all at once. Nothing waits past
/// `until`: a lookup still running then leaves its address unnamed.
pub async fn name_hops(namer: &Namer, traces: &mut [Trace], until: Instant) {
    let ips: BTreeSet<IpAddr> = traces
        .iter()
        .flat_map(|t| t.hops.iter())
        .flat_map(|h| h.addresses.iter().map(|a| a.ip))
        .collect();
    let mut names: HashMap<IpAddr, String> = HashMap::new();
    let mut ask = Vec::new();
    for ip in ips {
        match namer.local(ip) {
            Some(name) => {
                names.insert(ip, name);
            }
            None => ask.push(ip),
        }
    }
    if let Some(resolver) = &namer.resolver {
        let lookups = ask.into_iter().map(|ip| async move {
            let lookup = timeout_at(
                until,
                resolver.lookup_until(&reverse_name(ip), RecordType::Ptr, until),
            )
            .await
            .ok()?
            .0;
            let name = (lookup.status == Status::Answered)
                .then(|| lookup.values().next().map(trim))
                .flatten()?;
            Some((ip, name))
        });
        names.extend(join_all(lookups).await.into_iter().flatten());
    }
    for trace in traces {
        for hop in &mut trace.hops {
            for address in &mut hop.addresses {
                address.name = names.get(&address.ip).cloned();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, UdpSocket};
    use std::time::Duration;

    use super::*;
    use crate::output::{End, EndReason, Hop, HopAddress};

    fn trace_through(ips: &[IpAddr]) -> Trace {
        Trace {
            destination: ips[ips.len() - 1],
            reached: true,
            end: End {
                reason: EndReason::Reached,
                hop: Some(ips.len() as u8),
                detail: String::new(),
            },
            hops: ips
                .iter()
                .zip(1..)
                .map(|(&ip, ttl)| Hop {
                    ttl,
                    addresses: vec![HopAddress { ip, name: None }],
                    sent: 1,
                    received: 1,
                    loss_percent: 0.0,
                    rtt_min_ms: None,
                    rtt_avg_ms: None,
                    rtt_max_ms: None,
                    probes: Vec::new(),
                })
                .collect(),
            duration_ms: 1.0,
            error: None,
            warnings: Vec::new(),
        }
    }

    fn names(trace: &Trace) -> Vec<Option<&str>> {
        trace
            .hops
            .iter()
            .map(|h| h.addresses[0].name.as_deref())
            .collect()
    }

    /// A DNS server that never answers: a bound UDP socket nobody reads.
    fn silent_server() -> (UdpSocket, Resolver) {
        let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        socket.set_nonblocking(true).unwrap();
        let resolver = Resolver::new(vec![socket.local_addr().unwrap()])
            .with_query_timeout(Duration::from_secs(5));
        (socket, resolver)
    }

    #[tokio::test]
    async fn known_and_hosts_file_names_are_used_without_asking() {
        let (server, resolver) = silent_server();
        let loopback = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let router: IpAddr = "192.0.2.1".parse().unwrap();
        let namer = Namer::new(
            HashMap::from([(loopback, "localhost".to_string())]),
            Hosts::parse("192.0.2.1 r1.example r1\n"),
            Some(resolver),
        );
        let mut traces = [trace_through(&[router, loopback])];
        let started = Instant::now();
        name_hops(&namer, &mut traces, started + Duration::from_secs(5)).await;
        assert_eq!(names(&traces[0]), [Some("r1.example"), Some("localhost")]);
        assert!(started.elapsed() < Duration::from_millis(100));
        let mut buf = [0u8; 512];
        assert!(server.recv(&mut buf).is_err(), "nothing was asked");
    }

    #[tokio::test]
    async fn lookups_never_run_past_the_deadline() {
        let (_server, resolver) = silent_server();
        let unknown: IpAddr = "192.0.2.9".parse().unwrap();
        let loopback = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let namer = Namer::new(
            HashMap::from([(loopback, "localhost".to_string())]),
            Hosts::default(),
            Some(resolver),
        );
        let mut traces = [trace_through(&[unknown, loopback])];
        let started = Instant::now();
        name_hops(&namer, &mut traces, started + Duration::from_millis(150)).await;
        let took = started.elapsed();
        assert!(took < Duration::from_millis(400), "{took:?}");
        assert_eq!(names(&traces[0]), [None, Some("localhost")]);
    }
}
