//! From the dns section's addresses to a [`PortsOutput`].

use std::net::IpAddr;
use std::time::Duration;

use sonde_core::{Context, Failure};
use sonde_dns::DnsOutput;
use tokio::time::Instant;

use crate::config::{Method, PortsConfig};
use crate::output::{PortsOutput, ScanMethod};
use crate::{connect, limits};

/// How long before the collector's deadline the scan stops, so that what it found is handed
/// back before the scheduler aborts it: a tenth of the time left, between 100 and 500 ms.
fn stop_margin(remaining: Duration) -> Duration {
    (remaining / 10).clamp(Duration::from_millis(100), Duration::from_millis(500))
}

pub(crate) async fn run(config: &PortsConfig, ctx: &Context) -> Result<PortsOutput, Failure> {
    let started = Instant::now();
    let dns = ctx
        .section::<DnsOutput>("dns")
        .ok_or_else(|| Failure::failed("no dns section: the target's addresses are unknown"))?;
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
    let (method, fallback) = match config.method {
        Method::Connect => (ScanMethod::Connect, None),
        Method::Auto | Method::Syn => (
            ScanMethod::Connect,
            (config.method == Method::Syn)
                .then(|| "SYN scan is not built into this version of sonde".to_string()),
        ),
    };
    let stop_at = ctx.deadline() - stop_margin(ctx.remaining());
    let params = connect::Params {
        bounds: config.bounds(),
        retries: config.retries,
        concurrency,
        banner: config
            .banners
            .then_some((config.banner_bytes, config.banner_timeout)),
        stop_at,
    };
    let hosts = connect::scan(&addrs, &ports, params).await;
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
    let left = out.totals().not_reached;
    if left > 0 {
        out.complete = false;
        let total = ports.len() * addrs.len();
        out.warnings.push(format!(
            "the deadline stopped the scan: {} of {total} ports classified, {left} not reached",
            total - left
        ));
    }
    Ok(out)
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
}
