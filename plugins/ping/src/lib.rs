//! sonde's ping collector: ICMP echo to every address dns found, over IPv4
//! and IPv6 at once, with per-probe fates (reply, timeout, unreachable with
//! its code, TTL exceeded), round-trip statistics and the reply TTL.
//!
//! The privilege ladder ([`sonde_net::access`]) is climbed once per run and
//! reported as the section's `method` with its reason: raw ICMP socket, else
//! the unprivileged ICMP datagram socket, else TCP connect timing (443, then
//! 80). Nothing downgrades silently.

pub mod config;
mod icmp;
pub mod output;
mod tcp;
mod view;

use std::net::IpAddr;
use std::time::Duration;

use futures_util::future::join_all;
use sonde_core::{Context, Failure, Spec, TypedCollector, View};
use sonde_net::{Access, Rung};
use tokio::time::Instant;

pub use config::{MethodChoice, PingConfig};
pub use output::{Fate, Method, PingOutput, PingTarget, Probe, RttStats};

/// The collector's name, also its report section's.
pub const NAME: &str = "ping";

/// Time kept back from the collector's deadline to hand in what was found.
const MARGIN: Duration = Duration::from_millis(50);

/// The ping collector.
#[derive(Debug, Clone, Copy, Default)]
pub struct PingCollector;

sonde_core::register_builtin!(PingCollector);

#[async_trait::async_trait]
impl TypedCollector for PingCollector {
    type Config = PingConfig;
    type Output = PingOutput;

    fn spec(&self) -> Spec {
        Spec::new(
            NAME,
            "ICMP echo to every address (raw, datagram or TCP connect), loss and round trips",
        )
        .needs(["dns"])
        .timeout(Duration::from_secs(10))
        .raw_sockets()
    }

    fn check(&self, config: &PingConfig) -> Result<(), String> {
        config.check()
    }

    async fn collect(&self, config: &PingConfig, ctx: &Context) -> Result<PingOutput, Failure> {
        let dns = sonde_dns::section(ctx)?;
        let addresses = config.addresses.pick(&dns.addresses());
        if addresses.is_empty() {
            return Err(Failure::skipped("dns found no address to ping"));
        }
        let access = Access::detect(config.method.ceiling(), "method");
        let output = run(config, &access, &addresses, ctx.deadline()).await;
        let answered = output.targets.iter().any(|t| t.received > 0);
        if answered {
            Ok(output)
        } else {
            let lost = output
                .targets
                .iter()
                .map(|t| match &t.error {
                    Some(e) => format!("{}: {e}", t.address),
                    None => format!("{}: {} sent, 0 received", t.address, t.sent),
                })
                .collect::<Vec<_>>()
                .join("; ");
            Err(Failure::partial(
                format!("no reply from any address ({lost})"),
                output,
            ))
        }
    }

    fn view(&self, output: &PingOutput) -> View {
        view::render(output)
    }
}

/// Pings every address at once with the rung `access` allows.
pub async fn run(
    config: &PingConfig,
    access: &Access,
    addresses: &[IpAddr],
    deadline: Instant,
) -> PingOutput {
    let started = Instant::now();
    let mut warnings = Vec::new();
    let mut interval = config.interval;
    if access.rung != Rung::Raw && interval < config::MIN_USER_INTERVAL {
        warnings.push(format!(
            "interval raised from {} to 2ms: the minimum without raw sockets, as ping enforces",
            sonde_core::duration::format(interval)
        ));
        interval = config::MIN_USER_INTERVAL;
    }
    let count = u16::try_from(config.count).unwrap_or(u16::MAX);
    let stop_at = deadline
        .checked_sub(MARGIN + config.wait)
        .unwrap_or(started)
        .max(started + Duration::from_millis(1));
    let method = match access.rung {
        Rung::Raw => Method::IcmpRaw,
        Rung::Datagram => Method::IcmpDatagram,
        Rung::Unprivileged => Method::TcpConnect,
    };
    let seed = ident_seed();
    let jobs = addresses
        .iter()
        .enumerate()
        .map(|(i, &address)| async move {
            match method {
                Method::TcpConnect => {
                    tcp::ping(
                        address,
                        &config.tcp_ports,
                        count,
                        interval,
                        config.wait,
                        stop_at,
                    )
                    .await
                }
                Method::IcmpRaw | Method::IcmpDatagram => {
                    icmp::ping(icmp::Plan {
                        address,
                        rung: access.rung,
                        ident: seed.wrapping_add((i as u16).wrapping_mul(0x9e37)),
                        count,
                        interval,
                        timeout: config.wait,
                        size: config.size,
                        stop_at,
                    })
                    .await
                }
            }
        });
    let targets = join_all(jobs).await;
    PingOutput {
        method,
        method_reason: access.reason.clone(),
        count: config.count,
        interval_ms: interval.as_secs_f64() * 1000.0,
        timeout_ms: config.wait.as_millis() as u64,
        payload_size: config.size,
        targets,
        warnings,
        elapsed_ms: started.elapsed().as_millis() as u64,
    }
}

/// A per-run echo identifier base: the process id mixed with the clock, so
/// two sonde runs (or a ping beside it) rarely share one.
fn ident_seed() -> u16 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let mixed = std::process::id().wrapping_mul(0x9e37_79b9) ^ nanos;
    (mixed ^ (mixed >> 16)) as u16
}
