//! Looking up many addresses at once: origins first, a bounded number of
//! queries in flight, then each AS's name once, however many addresses
//! share it. This is what traceroute calls to put an AS on every hop.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use sonde_core::SpecialRange;
use sonde_dns::{RecordType, Resolver, Status as DnsStatus};
use tokio::time::Instant;

use crate::config::{AsnConfig, Zones};
use crate::cymru;
use crate::output::{AddressAsn, Answers, AutonomousSystem, NameSource, Origin, Source, Status};
use crate::rdap::RdapClient;
use crate::table::Table;

/// How long [`lookup_many`] may take when the caller gives no deadline.
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(5);

/// Looks up the origin AS of `ips` through Cymru's DNS interface with the
/// default settings, asking `resolver`'s servers, at most
/// [`DEFAULT_BUDGET`] long.
///
/// ```no_run
/// # async fn f(dns: &sonde_dns::DnsOutput, hops: &[std::net::IpAddr]) {
/// let resolver = sonde_dns::Resolver::from_info(&dns.resolver);
/// let answers = sonde_asn::lookup_many(&resolver, hops).await;
/// for hop in &answers.addresses {
///     println!("{} AS{:?}", hop.ip, hop.primary_asn());
/// }
/// # }
/// ```
pub async fn lookup_many(resolver: &Resolver, ips: &[IpAddr]) -> Answers {
    AsnLookup::new(Some(resolver.clone()))
        .lookup_many(ips, Instant::now() + DEFAULT_BUDGET)
        .await
}

/// A configured batch lookup: which sources, zones, table and ranges.
#[derive(Clone)]
pub struct AsnLookup {
    resolver: Option<Resolver>,
    zones: Zones,
    sources: Vec<Source>,
    table: Option<Arc<Table>>,
    local_ranges: Vec<SpecialRange>,
    concurrency: usize,
    rdap: Option<Arc<RdapClient>>,
}

impl AsnLookup {
    /// Default settings: Cymru's real zones through `resolver`, no table,
    /// every special-purpose range answered locally, 16 queries at once.
    pub fn new(resolver: Option<Resolver>) -> Self {
        AsnLookup::from_config(resolver, &AsnConfig::default(), None)
    }

    /// The lookup a profile's settings describe, with `table` already
    /// opened (see [`crate::table::find`]).
    pub fn from_config(
        resolver: Option<Resolver>,
        config: &AsnConfig,
        table: Option<Arc<Table>>,
    ) -> Self {
        AsnLookup {
            resolver,
            zones: config.zones(),
            sources: config.sources.clone(),
            table,
            local_ranges: config.local_ranges.clone(),
            concurrency: config.concurrency.clamp(1, crate::config::MAX_CONCURRENCY),
            rdap: None,
        }
    }

    /// Asks `client` for the names of ASes that neither Cymru nor the table
    /// names.
    pub fn with_rdap(mut self, client: Option<Arc<RdapClient>>) -> Self {
        self.rdap = client;
        self
    }

    /// Looks up every address, never past `deadline`; answers come back in
    /// the order asked.
    pub async fn lookup_many(&self, ips: &[IpAddr], deadline: Instant) -> Answers {
        let addresses: Vec<AddressAsn> = stream::iter(ips.iter().copied())
            .map(|ip| self.address(ip, deadline))
            .buffered(self.concurrency)
            .collect()
            .await;
        let mut wanted: BTreeMap<u32, Vec<IpAddr>> = BTreeMap::new();
        for a in &addresses {
            for o in &a.origins {
                wanted.entry(o.asn).or_default().push(a.ip);
            }
        }
        let systems: Vec<AutonomousSystem> = stream::iter(wanted)
            .map(|(asn, ips)| self.system(asn, ips, deadline))
            .buffered(self.concurrency)
            .collect()
            .await;
        let names: BTreeMap<u32, &str> = systems
            .iter()
            .filter_map(|s| Some((s.asn, s.name.as_deref()?)))
            .collect();
        let addresses = addresses
            .into_iter()
            .map(|mut a| {
                for o in &mut a.origins {
                    o.as_name = names.get(&o.asn).map(|n| n.to_string());
                }
                a
            })
            .collect();
        Answers { addresses, systems }
    }

    async fn address(&self, ip: IpAddr, deadline: Instant) -> AddressAsn {
        let mut out = AddressAsn {
            ip,
            status: Status::Error,
            origins: Vec::new(),
            source: None,
            query: None,
            range: None,
            detail: None,
        };
        if let Some(range) = SpecialRange::of(ip).filter(|r| self.local_ranges.contains(r)) {
            out.status = Status::Local;
            out.range = Some(range);
            out.detail = Some(format!(
                "{}, not announced on the Internet",
                range.describe()
            ));
            return out;
        }
        let mut problems = Vec::new();
        for &source in &self.sources {
            let found = match source {
                Source::Cymru => {
                    let Some(resolver) = &self.resolver else {
                        problems.push("cymru: no resolver to ask".to_string());
                        continue;
                    };
                    let name = cymru::origin_name(ip, &self.zones);
                    out.query = Some(name.clone());
                    ask_origins(resolver, &name, ip, deadline).await
                }
                Source::Database => match &self.table {
                    None => continue,
                    Some(table) => table
                        .lookup(ip)
                        .map(|entry| {
                            entry
                                .map(|e| Origin {
                                    asn: e.asn,
                                    prefix: e.prefix,
                                    country: e.country,
                                    registry: None,
                                    allocated: None,
                                    as_name: None,
                                })
                                .into_iter()
                                .collect()
                        })
                        .map_err(|e| e.to_string()),
                },
            };
            match found {
                Ok(origins) => {
                    out.status = if origins.is_empty() {
                        Status::NotAnnounced
                    } else {
                        Status::Announced
                    };
                    out.origins = origins;
                    out.source = Some(source);
                    if !problems.is_empty() {
                        out.detail = Some(format!(
                            "{}; answered from the {}",
                            problems.join("; "),
                            source.as_str()
                        ));
                    }
                    return out;
                }
                Err(why) => problems.push(why),
            }
        }
        out.detail = Some(if problems.is_empty() {
            "no source to ask: set `database` or add \"cymru\" to `sources`".into()
        } else {
            problems.join("; ")
        });
        out
    }

    async fn system(&self, asn: u32, ips: Vec<IpAddr>, deadline: Instant) -> AutonomousSystem {
        let mut out = AutonomousSystem {
            asn,
            name: None,
            country: None,
            registry: None,
            allocated: None,
            source: None,
            detail: None,
        };
        let mut problems = Vec::new();
        if let (true, Some(resolver)) = (self.sources.contains(&Source::Cymru), &self.resolver) {
            match ask_as(resolver, &cymru::as_name(asn, &self.zones), asn, deadline).await {
                Ok(Some(record)) => {
                    out.country = record.country;
                    out.registry = record.registry;
                    out.allocated = record.allocated;
                    out.name = record.name;
                    out.source = Some(NameSource::Cymru);
                }
                Ok(None) => problems.push(format!(
                    "{} has no AS name record",
                    cymru::as_name(asn, &self.zones)
                )),
                Err(why) => problems.push(why),
            }
        }
        if out.name.is_none() {
            if let Some(table) = &self.table {
                // The table knows names by prefix: ask it for an address
                // this AS originates.
                let from_table = ips.iter().find_map(|ip| {
                    let entry = table.lookup(*ip).ok()??;
                    (entry.asn == asn).then_some(entry.name?)
                });
                if let Some(name) = from_table {
                    out.name = Some(name);
                    out.source = Some(NameSource::Database);
                }
            }
        }
        if out.name.is_none() {
            if let Some(rdap) = &self.rdap {
                match rdap.autnum(asn, deadline).await {
                    Ok(record) => {
                        out.country = out.country.or(record.country);
                        out.allocated = out.allocated.or(record.allocated);
                        out.name = record.name;
                        out.source = Some(NameSource::Rdap);
                    }
                    Err(why) => problems.push(why),
                }
            }
        }
        if out.name.is_none() {
            if problems.is_empty() {
                problems.push("no source has a name for it".into());
            }
            out.detail = Some(problems.join("; "));
        }
        out
    }
}

/// The origins of `ip` from one `origin` lookup: empty when the name does
/// not exist (not announced), an error when the server failed or an answer
/// is not in Cymru's format.
async fn ask_origins(
    resolver: &Resolver,
    name: &str,
    ip: IpAddr,
    deadline: Instant,
) -> Result<Vec<Origin>, String> {
    let texts = ask_txt(resolver, name, deadline).await?;
    let mut origins: Vec<Origin> = Vec::new();
    for text in texts {
        for origin in cymru::parse_origin(name, &text, ip).map_err(|e| e.to_string())? {
            if !origins
                .iter()
                .any(|o| o.asn == origin.asn && o.prefix == origin.prefix)
            {
                origins.push(origin);
            }
        }
    }
    origins.sort_by(|a, b| {
        b.prefix
            .prefix_len()
            .cmp(&a.prefix.prefix_len())
            .then(a.asn.cmp(&b.asn))
    });
    Ok(origins)
}

async fn ask_as(
    resolver: &Resolver,
    name: &str,
    asn: u32,
    deadline: Instant,
) -> Result<Option<cymru::AsRecord>, String> {
    let texts = ask_txt(resolver, name, deadline).await?;
    let mut first_error = None;
    for text in &texts {
        match cymru::parse_as(name, text, asn) {
            Ok(record) => return Ok(Some(record)),
            Err(e) => {
                first_error.get_or_insert(e.to_string());
            }
        }
    }
    first_error.map_or(Ok(None), Err)
}

/// The TXT strings of `name`; empty for NXDOMAIN and NODATA.
async fn ask_txt(
    resolver: &Resolver,
    name: &str,
    deadline: Instant,
) -> Result<Vec<String>, String> {
    let (lookup, _) = resolver.lookup_until(name, RecordType::Txt, deadline).await;
    match lookup.status {
        DnsStatus::Answered => Ok(lookup.records.into_iter().map(|r| r.value).collect()),
        DnsStatus::NxDomain | DnsStatus::NoData => Ok(Vec::new()),
        status => Err(format!(
            "TXT lookup of {name} failed: {status}{}",
            lookup.detail.map(|d| format!(" ({d})")).unwrap_or_default()
        )),
    }
}
