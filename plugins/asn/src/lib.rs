//! sonde's asn collector: for every address of the target, the origin AS,
//! the announced prefix, its country, registry and allocation date, and
//! the AS's name, as `mtr -z` and nmap's `asn-query` show them.
//!
//! The source is Team Cymru's DNS interface, asked through the same
//! servers as the dns collector (`origin`/`origin6` TXT per address,
//! `AS<n>` TXT per AS; the zone names are settings). When Cymru cannot
//! answer, an offline table (an MMDB ASN database or a CSV) does; an AS
//! neither names can be named by RDAP autnum (`rdap-url`).
//! Special-purpose addresses are answered locally.
//!
//! Other collectors enrich addresses in one batch with [`lookup_many`] or a
//! configured [`AsnLookup`]; the crate's second collector, `hop-asn`
//! ([`hops`]), does so for every traceroute hop.

pub mod config;
pub mod cymru;
pub mod hops;
mod lookup;
pub mod output;
pub mod rdap;
pub mod table;
mod view;

use std::sync::Arc;
use std::time::Duration;

use sonde_core::{Context, Failure, Spec, TypedCollector, View};
use sonde_dns::Resolver;
use tokio::time::Instant;

pub use config::{AsnConfig, Zones};
pub use hops::{HopAsn, HopAsnCollector, HopAsnOutput, TraceAsn};
pub use lookup::{lookup_many, AsnLookup, DEFAULT_BUDGET};
pub use output::{
    AddressAsn, Answers, AsnOutput, AutonomousSystem, NameSource, Origin, Source, Status,
};
pub use table::Table;

/// The collector's name, also its report section's.
pub const NAME: &str = "asn";

/// The credit DB-IP's CC BY 4.0 licence asks for wherever its data is shown.
pub const DB_IP_ATTRIBUTION: &str = "IP to ASN data by DB-IP (https://db-ip.com), CC BY 4.0";

/// The asn collector.
#[derive(Debug, Clone, Copy, Default)]
pub struct AsnCollector;

sonde_core::register_builtin!(AsnCollector);

#[async_trait::async_trait]
impl TypedCollector for AsnCollector {
    type Config = AsnConfig;
    type Output = AsnOutput;

    fn spec(&self) -> Spec {
        Spec::new(
            NAME,
            "origin AS, prefix, country, registry and AS name of every address (Team Cymru, offline table)",
        )
        .needs([sonde_dns::NAME])
        .timeout(Duration::from_secs(5))
    }

    fn check(&self, config: &AsnConfig) -> Result<(), String> {
        config.check()
    }

    async fn collect(&self, config: &AsnConfig, ctx: &Context) -> Result<AsnOutput, Failure> {
        let dns = sonde_dns::section(ctx)?;
        let ips = dns.addresses();
        if ips.is_empty() {
            return Err(Failure::skipped("dns found no address to look up"));
        }
        let started = Instant::now();
        let Prepared {
            lookup,
            database,
            attribution,
            warnings,
        } = prepare(config, Resolver::from_info(&dns.resolver), ctx)?;
        let answers = batch(&lookup, &ips, ctx).await?;
        let output = AsnOutput {
            sources: config.sources.clone(),
            zones: config
                .sources
                .contains(&Source::Cymru)
                .then(|| config.zones()),
            database,
            attribution,
            addresses: answers.addresses,
            systems: answers.systems,
            warnings,
            elapsed_ms: started.elapsed().as_millis() as u64,
        };
        match unanswered(&output.addresses) {
            None => Ok(output),
            Some(error) => Err(Failure::partial(error, output)),
        }
    }

    fn view(&self, output: &AsnOutput) -> View {
        view::render(output)
    }
}

/// A lookup built from a profile's settings: the table opened, the RDAP client made.
struct Prepared {
    lookup: AsnLookup,
    /// The table used, as the section shows it.
    database: Option<String>,
    /// The credit the table's licence asks for.
    attribution: Option<String>,
    /// Why a configured source could not be used.
    warnings: Vec<String>,
}

/// Builds what both collectors (asn and hop-asn) run from their settings.
fn prepare(config: &AsnConfig, resolver: Resolver, ctx: &Context) -> Result<Prepared, Failure> {
    let mut warnings = Vec::new();
    let mut database = None;
    let mut attribution = None;
    let table = if config.sources.contains(&Source::Database) {
        match table::find(config.database.as_deref()) {
            None => None,
            Some(path) => match Table::open(&path) {
                Ok(t) => {
                    database = Some(format!("{} ({})", path.display(), t.describe()));
                    attribution = t.is_db_ip().then(|| DB_IP_ATTRIBUTION.to_string());
                    Some(Arc::new(t))
                }
                Err(e) => {
                    warnings.push(format!("{e}; the database was not used"));
                    None
                }
            },
        }
    } else {
        None
    };
    let rdap = match &config.rdap_url {
        Some(url) => Some(Arc::new(
            rdap::RdapClient::new(url, resolver.clone(), ctx.deadline())
                .map_err(Failure::failed)?,
        )),
        None => None,
    };
    Ok(Prepared {
        lookup: AsnLookup::from_config(Some(resolver), config, table).with_rdap(rdap),
        database,
        attribution,
        warnings,
    })
}

/// Looks `ips` up, stopping a little before the scheduler would, so that what was found is
/// reported rather than lost to a timeout.
async fn batch(
    lookup: &AsnLookup,
    ips: &[std::net::IpAddr],
    ctx: &Context,
) -> Result<Answers, Failure> {
    let margin = (ctx.remaining() / 10).min(Duration::from_millis(250));
    let deadline = ctx.deadline().checked_sub(margin).unwrap_or(ctx.deadline());
    tokio::select! {
        biased;
        _ = ctx.cancelled() => Err(Failure::failed("cancelled before the lookups ended")),
        answers = lookup.lookup_many(ips, deadline) => Ok(answers),
    }
}

/// The error of a batch in which some addresses got no usable answer from any source, naming
/// the first; `None` when every address was answered.
fn unanswered<'a>(addresses: impl IntoIterator<Item = &'a AddressAsn>) -> Option<String> {
    let failed: Vec<&AddressAsn> = addresses
        .into_iter()
        .filter(|a| a.status == Status::Error)
        .collect();
    let (first, rest) = failed.split_first()?;
    let mut error = format!(
        "no AS for {}: {}",
        first.ip,
        first.detail.as_deref().unwrap_or("no answer")
    );
    if !rest.is_empty() {
        error.push_str(&format!(" (and {} more address(es))", rest.len()));
    }
    Some(error)
}
