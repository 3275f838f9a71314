//! sonde's ports collector: a TCP connect scan (or a SYN scan with raw sockets) of every
//! address of the target, with adaptive timeouts from measured round trips, retries only for
//! ports that gave no answer, and as many probes in flight as the open-file limit allows.
//!
//! It runs only on request (`--ports`). Port lists are written `22,80,443,8000-8100`, `all`
//! or `top-N` ([`services::TOP`], sonde's own curated list). The section
//! ([`PortsOutput`]) says per address which ports are open (with IANA service names and,
//! when asked, banners), closed or filtered; a deadline that comes first leaves the ports
//! classified so far and counts the rest as not reached. The tls collector reads
//! [`PortsOutput::open_on`].

mod collect;
pub mod config;
pub mod connect;
pub mod limits;
pub mod output;
pub mod portspec;
pub mod rtt;
pub mod services;
pub mod syn;
mod tally;
mod view;

use std::time::Duration;

use sonde_core::{Context, Failure, Spec, TypedCollector, View};

pub use config::{Method, PortsConfig};
pub use output::{Banner, Counts, HostScan, OpenPort, PortsOutput, ScanMethod};
pub use portspec::{PortSet, SpecError};

/// The collector's name, also its report section's.
pub const NAME: &str = "ports";

/// The ports collector.
#[derive(Debug, Clone, Copy, Default)]
pub struct PortsCollector;

sonde_core::register_builtin!(PortsCollector);

#[async_trait::async_trait]
impl TypedCollector for PortsCollector {
    type Config = PortsConfig;
    type Output = PortsOutput;

    fn spec(&self) -> Spec {
        Spec::new(
            NAME,
            "open, closed and filtered TCP ports of every address, with service names",
        )
        .needs(["dns"])
        .timeout(Duration::from_secs(30))
        .raw_sockets()
        .on_request()
    }

    fn check(&self, config: &PortsConfig) -> Result<(), String> {
        config.check()
    }

    async fn collect(&self, config: &PortsConfig, ctx: &Context) -> Result<PortsOutput, Failure> {
        collect::run(config, ctx).await
    }

    fn view(&self, output: &PortsOutput) -> View {
        view::render(output)
    }
}
