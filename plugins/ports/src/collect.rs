//! From the dns section's addresses to a [`PortsOutput`].

use std::net::IpAddr;
use std::time::Duration;

use sonde_core::{Context, Failure};
use tokio::time::Instant;

use crate::config::{Method, PortsConfig};
use crate::output::HostScan;
use crate::output::{PortsOutput, ScanMethod};
use crate::portspec::PortSet;
use crate::{connect, limits, syn};

/// How long before the collector's deadline the scan stops, so that what it found is handed
/// back before the scheduler aborts it: a tenth of the time left, between 100 and 500 ms.
fn stop_margin(remaining: Duration) -> Duration {
    (remaining / 10).clamp(Duration::from_millis(100), Duration::from_millis(500))
}

/// When the scan stops, with `remaining` before the collector's deadline: early enough to
/// hand its result back ([`stop_margin`]) and to leave tls, which starts when ports ends,
/// `reserve` of the run (at most half of what is left, so the scan always gets the rest).
fn stop_after(remaining: Duration, reserve: Duration) -> Duration {
    remaining
        .saturating_sub(stop_margin(remaining))
        .saturating_sub(reserve.min(remaining / 2))
}

pub(crate) async fn run(config: &PortsConfig, ctx: &Context) -> Result<PortsOutput, Failure> {
    let started = Instant::now();
    let dns = sonde_dns::section(ctx)?;
    let addrs: Vec<IpAddr> = dns.addresses();
    if addrs.is_empty() {
        return Err(Failure::skipped("the target has no address to scan"));
    }
    let ports = config.port_set().map_err(Failure::failed)?;
    let budget = limits::raise_and_measure();
    let concurrency = (config.max_concurrency as u64).min(budget.available) as usize;
    let mut warnings = Vec::new();
    if concurrency < config.max_concurrency as usize {
        warnings.push(format!(
            "{concurrency} connections at once: the open-file limit is {} with {} in use",
            budget.soft_limit, budget.in_use
        ));
    }
    let stop_at = Instant::now() + stop_after(ctx.remaining(), config.reserve_for_tls);
    let banner = config
        .banners
        .then_some((config.banner_bytes, config.banner_timeout));
    let connect_params = connect::Params {
        bounds: config.bounds(),
        retries: config.retries,
        concurrency,
        banner,
        stop_at,
    };
    let (mut method, mut fallback) = (ScanMethod::Connect, None);
    let mut hosts = None;
    if matches!(config.method, Method::Auto | Method::Syn) {
        let families = [false, true]
            .into_iter()
            .filter(|v6| addrs.iter().any(|a| a.is_ipv6() == *v6));
        match families
            .map(syn::available)
            .collect::<Result<Vec<()>, String>>()
        {
            Err(why) => fallback = Some(why),
            Ok(_) => {
                let params = syn::Params {
                    bounds: config.bounds(),
                    retries: config.retries,
                    rate: config.rate,
                    stop_at,
                };
                match syn::scan(&addrs, &ports, params).await {
                    Ok(found) => {
                        method = ScanMethod::Syn;
                        hosts = Some(found);
                    }
                    Err(e) => {
                        fallback = Some(format!("the SYN scan failed ({e}); connect was used"))
                    }
                }
            }
        }
    }
    let hosts = match hosts {
        Some(mut found) => {
            if banner.is_some() {
                read_banners(&mut found, connect_params).await;
            }
            found
        }
        None => connect::scan(&addrs, &ports, connect_params).await,
    };
    let mut out = PortsOutput {
        method,
        fallback,
        spec: config.ports.clone(),
        ports_per_address: ports.len(),
        concurrency,
        retries: config.retries,
        complete: true,
        hosts,
        warnings,
        elapsed_ms: started.elapsed().as_millis() as u64,
    };
    let totals = out.totals();
    let left = totals.not_reached;
    if left > 0 {
        out.complete = false;
        let total = ports.len() * addrs.len();
        out.warnings.push(format!(
            "the deadline stopped the scan: {} of {total} ports classified, {left} not reached",
            total - left - totals.unreachable
        ));
    }
    for host in &out.hosts {
        if let Some(error) = &host.error {
            out.complete = false;
            out.warnings.push(format!("{}: {error}", host.ip));
        }
    }
    Ok(out)
}

/// A SYN scan sees no data: banners come from one connection to each open port afterwards.
async fn read_banners(hosts: &mut [HostScan], params: connect::Params) {
    for host in hosts.iter_mut() {
        let open = PortSet::from_ports(host.open.iter().map(|p| p.port).collect());
        if open.is_empty() {
            continue;
        }
        let read = connect::scan(&[host.ip], &open, params).await;
        for found in read.iter().flat_map(|h| &h.open) {
            if let Some(p) = host.open.iter_mut().find(|p| p.port == found.port) {
                p.banner = found.banner.clone();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn margin_is_bounded() {
        assert_eq!(
            stop_margin(Duration::from_secs(60)),
            Duration::from_millis(500)
        );
        assert_eq!(
            stop_margin(Duration::from_secs(2)),
            Duration::from_millis(200)
        );
        assert_eq!(stop_margin(Duration::ZERO), Duration::from_millis(100));
    }

    #[test]
    fn tls_keeps_its_reserve_and_the_scan_at_least_half() {
        let s = Duration::from_secs;
        // The default profile's case: 15 s left, 3 s kept for tls, 0.5 s to hand back.
        assert_eq!(stop_after(s(15), s(3)), Duration::from_millis(11_500));
        assert_eq!(
            stop_after(s(15), Duration::ZERO),
            Duration::from_millis(14_500)
        );
        // A short deadline: the reserve gives way to half the time.
        assert_eq!(stop_after(s(2), s(3)), Duration::from_millis(800));
        assert_eq!(stop_after(Duration::ZERO, s(3)), Duration::ZERO);
    }
}
