//! sonde's dns collector: A, AAAA, the CNAME chain, MX, NS, SOA, TXT, CAA
//! and PTR of the target, each with its response code, TTLs and the server
//! that answered.
//!
//! It is the run's first and critical node: every later collector reads the
//! target's addresses from [`DnsOutput::addresses`]. Names in the hosts file
//! and `localhost` are answered without sending anything; `.invalid` and
//! `.onion` fail at once. Nothing is cached: every run asks the network.
//!
//! Other collectors that need a lookup of their own use the same servers
//! through [`Resolver::from_info`] and [`lookup_txt`].

mod answer;
mod collect;
pub mod config;
pub mod hosts;
pub mod output;
pub mod resolver;
pub mod search;
mod view;

use std::sync::Arc;
use std::time::Duration;

use sonde_core::{Context, Failure, Spec, TypedCollector, View};

pub use answer::reverse_name;
pub use config::DnsConfig;
pub use output::{
    Address, CnameLink, DnsOutput, LocalAnswer, Lookup, Ptr, Record, RecordType, ResolverInfo,
    ResolverSource, SearchedName, ServerAttempt, Source, Status, Transport,
};
pub use resolver::{lookup_txt, LookupError, Resolver, ResolverError};

/// The collector's name, also its report section's.
pub const NAME: &str = "dns";

/// The dns section of the run, for a collector that needs dns.
///
/// The scheduler starts such a collector only after dns succeeded, so a missing section means
/// the section could not be read as a [`DnsOutput`]: a failure, named as such.
pub fn section(ctx: &Context) -> Result<Arc<DnsOutput>, Failure> {
    ctx.section::<DnsOutput>(NAME).ok_or_else(|| {
        Failure::failed("the dns section is missing: the target's addresses are unknown")
    })
}

/// The dns collector.
#[derive(Debug, Clone, Copy, Default)]
pub struct DnsCollector;

sonde_core::register_builtin!(DnsCollector);

#[async_trait::async_trait]
impl TypedCollector for DnsCollector {
    type Config = DnsConfig;
    type Output = DnsOutput;

    fn spec(&self) -> Spec {
        Spec::new(
            NAME,
            "addresses, CNAME chain, MX, NS, SOA, TXT, CAA and PTR, with response codes and TTLs",
        )
        .timeout(Duration::from_secs(5))
        .failure_headline("DNS resolution failed")
    }

    fn check(&self, config: &DnsConfig) -> Result<(), String> {
        config.check()
    }

    async fn collect(&self, config: &DnsConfig, ctx: &Context) -> Result<DnsOutput, Failure> {
        collect::run(config, ctx).await
    }

    fn view(&self, output: &DnsOutput) -> View {
        view::render(output)
    }
}
