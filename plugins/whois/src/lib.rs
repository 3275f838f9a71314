//! sonde's whois collector: who registered the target's name, and who holds its addresses.
//!
//! For the target's registrable domain (found with the Public Suffix List) and for the
//! network of each of its first addresses, it asks RDAP (RFC 9083 JSON over HTTPS, servers
//! from IANA's bootstrap registries) and port-43 WHOIS (from IANA's server, following
//! referrals), in the order the profile gives. Every server name is resolved through the dns
//! section's resolver, never the machine's. The section keeps the common fields
//! ([`Record`]), each protocol's own answers, and the raw JSON and text.
//!
//! Other collectors ask the registries through [`Registries`] (domains, addresses and AS
//! numbers alike).

mod collect;
pub mod config;
pub mod net;
pub mod output;
pub mod query;
pub mod rdap;
mod registries;
mod view;
pub mod whois;

use std::time::Duration;

use sonde_core::{Context, Failure, Spec, TypedCollector, View};

pub use config::WhoisConfig;
pub use output::{
    BootstrapSource, BootstrapUse, Entity, Event, Lookup, Protocol, QueryKind, RdapAnswer,
    RdapLookup, RdapObject, Record, Referral, ReferralKind, WhoisHop, WhoisLookup, WhoisOutput,
};
pub use query::{parse_asn, registrable_domain, DomainError, Query};
pub use registries::Registries;

/// The collector's name, also its report section's.
pub const NAME: &str = "whois";

/// The whois collector.
#[derive(Debug, Clone, Copy, Default)]
pub struct WhoisCollector;

sonde_core::register_builtin!(WhoisCollector);

#[async_trait::async_trait]
impl TypedCollector for WhoisCollector {
    type Config = WhoisConfig;
    type Output = WhoisOutput;

    fn spec(&self) -> Spec {
        Spec::new(
            NAME,
            "who registered the name and who holds the addresses (RDAP, then port-43 WHOIS)",
        )
        .needs(["dns"])
        .timeout(Duration::from_secs(10))
    }

    fn check(&self, config: &WhoisConfig) -> Result<(), String> {
        config.check()
    }

    async fn collect(&self, config: &WhoisConfig, ctx: &Context) -> Result<WhoisOutput, Failure> {
        collect::run(config, ctx).await
    }

    fn view(&self, output: &WhoisOutput) -> View {
        view::render(output)
    }
}
