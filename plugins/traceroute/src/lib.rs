//! sonde's traceroute collector: the path to each address, every TTL in
//! flight at once (as mtr and trippy do), with ICMP echo, Paris-style UDP or
//! TCP SYN probes over IPv4 and IPv6.
//!
//! The privilege ladder ([`sonde_net::access`]) decides how answers are
//! read and is reported in the section: a raw ICMP socket reads every
//! router's error; without one, ICMP probes use the datagram socket and UDP
//! or TCP probes read the errors from their own socket's error queue. A
//! change of probe method forced by the rung is said in the reason.
//! Per hop: the addresses that answered (more than one when paths differ),
//! their reverse names, round trips and loss; silent hops stay in the
//! report; the end of each trace says why it ended.

pub mod config;
mod engine;
pub mod output;
mod probe;
mod ptr;
mod tcp;
mod view;

use std::time::Duration;

use futures_util::future::join_all;
use sonde_core::{Context, Failure, Spec, TypedCollector, View};
use sonde_net::{Access, Rung};
use tokio::time::Instant;

pub use config::{Privilege, ProbeMethod, TracerouteConfig};
pub use output::{
    Answer, End, EndReason, Hop, HopAddress, HopProbe, MethodUsed, Trace, TracerouteOutput,
};
pub use ptr::Namer;

/// The collector's name, also its report section's.
pub const NAME: &str = "traceroute";

/// Time kept back from the deadline for reverse lookups and the report.
const MARGIN: Duration = Duration::from_millis(100);

/// The traceroute collector.
#[derive(Debug, Clone, Copy, Default)]
pub struct TracerouteCollector;

sonde_core::register_builtin!(TracerouteCollector);

#[async_trait::async_trait]
impl TypedCollector for TracerouteCollector {
    type Config = TracerouteConfig;
    type Output = TracerouteOutput;

    fn spec(&self) -> Spec {
        Spec::new(
            NAME,
            "the path to each address: every TTL at once, ICMP, Paris UDP or TCP SYN, PTR per hop",
        )
        .needs(["dns"])
        .timeout(Duration::from_secs(10))
        .raw_sockets()
    }

    fn check(&self, config: &TracerouteConfig) -> Result<(), String> {
        config.check()
    }

    async fn collect(
        &self,
        config: &TracerouteConfig,
        ctx: &Context,
    ) -> Result<TracerouteOutput, Failure> {
        let dns = sonde_dns::section(ctx)?;
        let addresses = config.addresses.pick(&dns.addresses());
        if addresses.is_empty() {
            return Err(Failure::skipped("dns found no address to trace"));
        }
        let access = Access::detect(config.privilege.ceiling(), "privilege");
        let namer = config.ptr.then(|| Namer::from_dns(&dns));
        let output = run(config, &access, &addresses, namer.as_ref(), ctx.deadline()).await;
        if output
            .traces
            .iter()
            .any(|t| !t.hops.iter().all(Hop::is_silent))
        {
            Ok(output)
        } else {
            let why = output
                .traces
                .iter()
                .map(|t| format!("{}: {}", t.destination, t.end.detail))
                .collect::<Vec<_>>()
                .join("; ");
            Err(Failure::partial(format!("no hop answered ({why})"), output))
        }
    }

    fn view(&self, output: &TracerouteOutput) -> View {
        view::render(output)
    }
}

/// The probe method that can run on a rung, and the words saying why when
/// it is not the one configured.
pub fn method_for(wanted: ProbeMethod, rung: Rung) -> (ProbeMethod, Option<String>) {
    if wanted == ProbeMethod::Icmp && rung == Rung::Unprivileged {
        (
            ProbeMethod::Udp,
            Some("ICMP probes need a raw or datagram ICMP socket: UDP probes sent instead".into()),
        )
    } else {
        (wanted, None)
    }
}

/// Traces every address at once, then names the hops (`namer`: none when
/// names are not wanted).
pub async fn run(
    config: &TracerouteConfig,
    access: &Access,
    addresses: &[std::net::IpAddr],
    namer: Option<&Namer>,
    deadline: Instant,
) -> TracerouteOutput {
    let started = Instant::now();
    let (method, change) = method_for(config.method, access.rung);
    let mut reason = access.reason.clone();
    if let Some(change) = change {
        reason = format!("{reason}; {change}");
    }
    // ICMP probes keep one checksum (see `probe::echo_payload`); UDP and TCP
    // keep their ports only when raw sockets read the answers.
    let paris = match method {
        ProbeMethod::Icmp => true,
        ProbeMethod::Udp | ProbeMethod::Tcp => access.rung == Rung::Raw,
    };
    if method == ProbeMethod::Udp && !paris {
        reason.push_str("; without a raw socket each UDP probe has its own socket, so its own source port (no single Paris flow)");
    }
    let ptr_budget = if namer.is_some() {
        config.ptr_timeout
    } else {
        Duration::ZERO
    };
    let stop_at = deadline
        .checked_sub(MARGIN + ptr_budget)
        .unwrap_or(started)
        .max(started + Duration::from_millis(1));
    // Random, so that another tracer (or a forger) cannot guess which
    // echoes and SYNs are this run's.
    let seed = probe::random_u64();
    let jobs = addresses.iter().enumerate().map(|(i, &dest)| {
        engine::trace(engine::TraceSpec {
            dest,
            method,
            rung: access.rung,
            first_hop: config.first_hop,
            max_hops: config.max_hops,
            probes: config.probes,
            wait: config.wait,
            round_gap: config.round_gap,
            near_factor: config.near_factor,
            udp_port: config.port,
            tcp_port: config.tcp_port,
            ident: (seed as u16).wrapping_add(i as u16),
            tcp_seq: ((seed >> 32) as u32).wrapping_add((i as u32) << 16),
            stop_at,
        })
    });
    let mut traces = join_all(jobs).await;
    if let Some(namer) = namer {
        let until = (Instant::now() + config.ptr_timeout).min(deadline - MARGIN / 2);
        ptr::name_hops(namer, &mut traces, until).await;
    }
    TracerouteOutput {
        method: MethodUsed {
            probe: method,
            rung: access.rung,
            reason,
            paris,
        },
        max_hops: config.max_hops,
        probes_per_hop: config.probes,
        wait_ms: config.wait.as_millis() as u64,
        traces,
        elapsed_ms: started.elapsed().as_millis() as u64,
    }
}
