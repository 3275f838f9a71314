//! Reverse names of the hops, looked up concurrently through the servers dns
//! used, never past a deadline.

use std::collections::BTreeSet;
use std::net::IpAddr;

use futures_util::future::join_all;
use sonde_dns::{reverse_name, RecordType, Resolver, Status};
use tokio::time::Instant;

use crate::output::Trace;

/// Fills in `name` of every hop address that has a PTR record, asking for
/// each distinct address once, all at once.
pub async fn name_hops(resolver: &Resolver, traces: &mut [Trace], until: Instant) {
    let ips: BTreeSet<IpAddr> = traces
        .iter()
        .flat_map(|t| t.hops.iter())
        .flat_map(|h| h.addresses.iter().map(|a| a.ip))
        .collect();
    let lookups = ips.iter().map(|&ip| async move {
        let (lookup, _) = resolver
            .lookup_until(&reverse_name(ip), RecordType::Ptr, until)
            .await;
        let name = (lookup.status == Status::Answered)
            .then(|| {
                lookup
                    .values()
                    .next()
                    .map(|n| n.trim_end_matches('.').to_string())
            })
            .flatten();
        (ip, name)
    });
    let names: Vec<(IpAddr, Option<String>)> = join_all(lookups).await;
    for trace in traces {
        for hop in &mut trace.hops {
            for address in &mut hop.addresses {
                address.name = names
                    .iter()
                    .find(|(ip, _)| *ip == address.ip)
                    .and_then(|(_, n)| n.clone());
            }
        }
    }
}
