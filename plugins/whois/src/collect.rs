//! What the collector does for one target: the registrable domain and the first addresses,
//! all at once, each by RDAP and/or WHOIS as the profile says.

use std::time::Duration;

use futures_util::future::join_all;
use sonde_core::{Context, Failure};
use sonde_dns::Resolver;
use tokio::time::Instant;

use crate::config::WhoisConfig;
use crate::net::Cidr;
use crate::output::{Lookup, Protocol, Record, WhoisOutput, MAX_CIDRS};
use crate::query::{registrable_domain, special_address, special_name, Query};
use crate::registries::Registries;

/// Time kept back before the collector's deadline to hand in what was found.
const MARGIN: Duration = Duration::from_millis(200);

pub(crate) async fn run(config: &WhoisConfig, ctx: &Context) -> Result<WhoisOutput, Failure> {
    let started = Instant::now();
    let dns = sonde_dns::section(ctx)?;
    let mut out = WhoisOutput {
        // The name dns found the addresses under (search domains applied).
        name: ctx.target().name().map(|_| dns.name().to_string()),
        lookups: Vec::new(),
        bootstrap: Vec::new(),
        warnings: Vec::new(),
        elapsed_ms: 0,
    };
    let mut queries = Vec::new();
    let mut unasked = Vec::new();
    if let (true, Some(name)) = (config.domain, ctx.target().name().map(|_| dns.name())) {
        match special_name(name)
            .map_or_else(|| registrable_domain(name).map_err(|e| e.to_string()), Err)
        {
            Ok(domain) => queries.push(Query::Domain(domain)),
            Err(why) => unasked.push(why),
        }
    }
    let mut addresses = Vec::new();
    for ip in dns.addresses() {
        match special_address(ip, &config.local_ranges) {
            Some(why) => unasked.push(why),
            None if !addresses.contains(&ip) => addresses.push(ip),
            None => {}
        }
    }
    queries.extend(addresses.into_iter().take(config.addresses).map(Query::Ip));
    if queries.is_empty() {
        let why = if unasked.is_empty() {
            "no address".to_string()
        } else {
            format!("{}; not sent to a registry", unasked.join(", "))
        };
        return Err(Failure::skipped(format!("nothing to look up: {why}")));
    }
    out.warnings.extend(
        unasked
            .into_iter()
            .map(|w| format!("not looked up: {w}; not sent to a registry")),
    );

    let remaining = ctx.remaining();
    let deadline = Instant::now() + remaining.saturating_sub(MARGIN.min(remaining / 4));
    let registries = Registries::new(config.clone(), Resolver::from_info(&dns.resolver), deadline);
    let work = join_all(queries.iter().map(|q| registries.lookup(q)));
    out.lookups = tokio::select! {
        lookups = work => lookups,
        () = ctx.cancelled() => return Err(Failure::failed("cancelled")),
    };
    out.bootstrap = registries.bootstrap_used();
    for used in &out.bootstrap {
        if let Some(note) = &used.note {
            out.warnings.push(format!(
                "RDAP bootstrap {}.json from the {}: {note}",
                used.registry,
                match used.source {
                    crate::output::BootstrapSource::Fetched => "bootstrap URL",
                    crate::output::BootstrapSource::Cache => "cache",
                    crate::output::BootstrapSource::Snapshot => "built-in snapshot",
                }
            ));
        }
    }
    for lookup in &out.lookups {
        out.warnings.extend(warnings(lookup));
    }
    out.elapsed_ms = started.elapsed().as_millis() as u64;
    let failures: Vec<String> = out.lookups.iter().filter_map(Lookup::failure).collect();
    if failures.is_empty() {
        Ok(out)
    } else {
        Err(Failure::partial(failures.join("; "), out))
    }
}

/// What went wrong on the way to an answer that was found anyway.
fn warnings(lookup: &Lookup) -> Vec<String> {
    let mut out = Vec::new();
    let Some(by) = lookup.answered_by else {
        return out;
    };
    if let Some(record) = &lookup.record {
        out.extend(block_warnings(lookup, record, by));
    }
    if let Some(rdap) = &lookup.rdap {
        if let (Some(e), true) = (&rdap.error, by != Protocol::Rdap) {
            out.push(format!(
                "{}: rdap failed ({e}); answered by {by}",
                lookup.query
            ));
        }
        for why in &rdap.unreachable {
            out.push(format!(
                "{}: rdap server gave no answer ({why}); the next one listed was asked",
                lookup.query
            ));
        }
        if let Some(e) = &rdap.registrar_error {
            out.push(format!("{}: registrar's RDAP record: {e}", lookup.query));
        }
    }
    if let Some(whois) = &lookup.whois {
        if let Some(e) = &whois.error {
            if whois.record.is_some() {
                out.push(format!(
                    "{}: whois: {e}; fields are from the servers that answered",
                    lookup.query
                ));
            } else if by != Protocol::Whois {
                out.push(format!(
                    "{}: whois failed ({e}); answered by {by}",
                    lookup.query
                ));
            }
        }
    }
    out
}

/// A record's CIDR blocks that were too many, or that do not hold the address asked about
/// (the server answered about some other network).
fn block_warnings(lookup: &Lookup, record: &Record, by: Protocol) -> Vec<String> {
    let mut out = Vec::new();
    if record.cidr_dropped > 0 {
        out.push(format!(
            "{}: the {by} answer listed {} more distinct CIDR blocks than the {MAX_CIDRS} kept; \
             they were dropped",
            lookup.query, record.cidr_dropped
        ));
    }
    let Ok(ip) = lookup.query.parse::<std::net::IpAddr>() else {
        return out;
    };
    let blocks: Vec<Cidr> = record.cidr.iter().filter_map(|c| Cidr::parse(c)).collect();
    if !blocks.is_empty() && !blocks.iter().any(|b| b.contains(ip)) {
        let shown: Vec<&str> = record.cidr.iter().take(3).map(String::as_str).collect();
        let more = if record.cidr.len() > shown.len() {
            format!(" and {} more", record.cidr.len() - shown.len())
        } else {
            String::new()
        };
        out.push(format!(
            "{ip}: no CIDR block of the {by} record ({}{more}) holds the address; \
             the server may have answered about another network",
            shown.join(", ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::QueryKind;

    fn answered(query: &str, cidr: &[&str], dropped: usize) -> Lookup {
        Lookup {
            query: query.to_string(),
            kind: QueryKind::Ipv4,
            answered_by: Some(Protocol::Whois),
            record: Some(Record {
                cidr: cidr.iter().map(|c| c.to_string()).collect(),
                cidr_dropped: dropped,
                ..Record::default()
            }),
            rdap: None,
            whois: None,
        }
    }

    #[test]
    fn blocks_that_miss_the_address_or_were_dropped_are_warnings() {
        assert_eq!(
            warnings(&answered("203.0.113.10", &["203.0.113.0/24"], 0)),
            Vec::<String>::new()
        );
        let miss = warnings(&answered(
            "203.0.113.10",
            &["10.0.0.0/8", "10.1.0.0/16", "10.2.0.0/16", "10.3.0.0/16"],
            0,
        ));
        assert_eq!(
            miss,
            [
                "203.0.113.10: no CIDR block of the whois record (10.0.0.0/8, 10.1.0.0/16, \
              10.2.0.0/16 and 1 more) holds the address; the server may have answered about \
              another network"
            ]
        );
        let dropped = warnings(&answered("203.0.113.10", &["203.0.113.0/24"], 7));
        assert_eq!(
            dropped,
            [
                "203.0.113.10: the whois answer listed 7 more distinct CIDR blocks than the 32 \
              kept; they were dropped"
            ]
        );
        assert_eq!(
            warnings(&answered("sonde.test", &["10.0.0.0/8"], 0)),
            Vec::<String>::new(),
            "a domain has no address to hold"
        );
    }
}
