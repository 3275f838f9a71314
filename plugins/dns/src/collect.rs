//! What the collector does for one target: local answers first, then the
//! record types concurrently, then PTR of every address.

use std::net::IpAddr;
use std::time::Duration;

use futures_util::future::join_all;
use sonde_core::{Context, Failure, Host};
use tokio::time::Instant;

use crate::answer::reverse_name;
use crate::config::DnsConfig;
use crate::hosts::{self, Hosts, SpecialName};
use crate::output::{
    Address, CnameLink, DnsOutput, LocalAnswer, Lookup, Ptr, Record, RecordType, ResolverInfo,
    ResolverSource, SearchedName, Source, Status,
};
use crate::resolver::Resolver;

/// Runs the collector, giving up at once when the run is cancelled.
pub(crate) async fn run(config: &DnsConfig, ctx: &Context) -> Result<DnsOutput, Failure> {
    tokio::select! {
        biased;
        _ = ctx.cancelled() => Err(Failure::failed("cancelled before DNS answered")),
        out = gather(config, ctx) => out,
    }
}

async fn gather(config: &DnsConfig, ctx: &Context) -> Result<DnsOutput, Failure> {
    let started = Instant::now();
    let mut warnings = Vec::new();
    let hosts = if config.use_hosts {
        Hosts::read(&config.hosts_file).unwrap_or_else(|e| {
            warnings.push(format!(
                "hosts file {} could not be read ({e}); only DNS was used",
                config.hosts_file.display()
            ));
            Hosts::default()
        })
    } else {
        Hosts::default()
    };
    let hosts_file = config
        .use_hosts
        .then(|| config.hosts_file.display().to_string());
    let resolver = Resolver::from_config(config);
    let info = match &resolver {
        Ok(r) => r.info(hosts_file.clone()),
        Err(_) => ResolverInfo {
            source: ResolverSource::System,
            nameservers: Vec::new(),
            query_timeout_ms: config.query_timeout.as_millis() as u64,
            attempts: config.attempts,
            hosts_file,
            search: config.search.clone().unwrap_or_default(),
            ndots: config.ndots.unwrap_or(1),
        },
    };
    let mut out = DnsOutput {
        query: ctx.target().host.to_string(),
        is_address: ctx.target().ip().is_some(),
        resolver: info,
        local: None,
        resolved_name: None,
        searched: Vec::new(),
        addresses: Vec::new(),
        cname_chain: Vec::new(),
        lookups: Default::default(),
        ptr: Vec::new(),
        warnings,
        elapsed_ms: 0,
    };
    let deadline = query_deadline(ctx);
    match &ctx.target().host {
        Host::Name(name) => {
            if let Some(answer) = local_answer(name, &hosts, config)? {
                out.addresses = answer.0;
                out.local = Some(answer.1);
            } else {
                let resolver = resolver.as_ref().map_err(Failure::failed)?;
                let names = resolver.candidates(name, typed_absolute(&ctx.target().input));
                resolve_name(resolver, &names, config, deadline, &mut out).await;
            }
        }
        host => {
            if let Some(ip) = host.ip() {
                out.addresses.push(Address {
                    ip,
                    source: Source::Literal,
                });
            }
        }
    }
    if config.ptr {
        // A name answered locally never leads to a query, not even PTR.
        let offline = out.local.is_some();
        out.ptr = reverse_all(
            &out.addresses,
            &hosts,
            resolver.as_ref().ok(),
            offline,
            deadline,
        )
        .await;
    }
    warn_about(&mut out);
    out.elapsed_ms = started.elapsed().as_millis() as u64;
    if let (Host::Name(name), true) = (&ctx.target().host, out.addresses.is_empty()) {
        // The run fails without an address, but every lookup made on the way
        // stays in the report: that is what explains the failure.
        let cause = no_address_cause(name, &out);
        return Err(Failure::partial(cause, out));
    }
    Ok(out)
}

/// Most a query may leave between its end and the collector's deadline.
const MARGIN: Duration = Duration::from_millis(250);

/// When queries stop: a margin before the collector's deadline, so that the
/// collector returns its own section (with the lookups made) instead of the
/// scheduler timing it out with nothing at the same instant.
fn query_deadline(ctx: &Context) -> Instant {
    let margin = (ctx.remaining() / 10).min(MARGIN);
    ctx.deadline().checked_sub(margin).unwrap_or(ctx.deadline())
}

/// Answers from the hosts file and special-use names; fails at once for
/// names that must never be asked.
fn local_answer(
    name: &str,
    hosts: &Hosts,
    config: &DnsConfig,
) -> Result<Option<(Vec<Address>, LocalAnswer)>, Failure> {
    let special = SpecialName::of(name);
    if let Some(kind @ (SpecialName::Invalid | SpecialName::Onion)) = special {
        return Err(Failure::Failed(format!(
            "no address for {name}: {}; no query was sent",
            kind.reason()
        )));
    }
    let from_hosts = hosts.addresses(name);
    if !from_hosts.is_empty() {
        let addresses = from_hosts
            .into_iter()
            .map(|ip| Address {
                ip,
                source: Source::Hosts,
            })
            .collect();
        let reason = format!(
            "{name} is in {}; answered from it as the system resolver does, other record types not queried",
            config.hosts_file.display()
        );
        return Ok(Some((
            addresses,
            LocalAnswer {
                source: Source::Hosts,
                reason,
            },
        )));
    }
    if special == Some(SpecialName::Localhost) {
        let addresses = hosts::LOOPBACK
            .into_iter()
            .map(|ip| Address {
                ip,
                source: Source::SpecialUse,
            })
            .collect();
        let reason = format!(
            "{}; answered locally, other record types not queried",
            SpecialName::Localhost.reason()
        );
        return Ok(Some((
            addresses,
            LocalAnswer {
                source: Source::SpecialUse,
                reason,
            },
        )));
    }
    Ok(None)
}

/// Whether the user typed the name with a final dot (`host.example.`),
/// which makes it absolute: no search domain is appended. The parsed target
/// drops the dot, so this reads what was typed, bare or inside a URL.
fn typed_absolute(input: &str) -> bool {
    let input = input.trim();
    let host = match input.split_once("://") {
        Some((_, rest)) => {
            let authority = rest.split(['/', '?', '#', '\\']).next().unwrap_or_default();
            let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            host_port.split(':').next().unwrap_or_default()
        }
        None => input,
    };
    host.ends_with('.')
}

/// Asks for the addresses of each candidate name in turn until one has
/// some, as the C library's search does, then the other record types of
/// that name; fills `out`.
///
/// NXDOMAIN and NODATA move on to the next name. A server failure or
/// timeout stops the search there and is reported, rather than letting a
/// later name answer in place of one that could not be asked. The last
/// candidate gets all its record types at once, as a name without search
/// domains always did.
async fn resolve_name(
    resolver: &Resolver,
    names: &[String],
    config: &DnsConfig,
    deadline: Instant,
    out: &mut DnsOutput,
) {
    let mut types = config.record_types.clone();
    types.sort();
    types.dedup();
    let (address_types, other_types): (Vec<RecordType>, Vec<RecordType>) = types
        .iter()
        .partition(|t| matches!(t, RecordType::A | RecordType::Aaaa));
    for (i, name) in names.iter().enumerate() {
        let last = i + 1 == names.len();
        let asked = if last { &types } else { &address_types };
        let results = lookup_types(resolver, name, asked, deadline).await;
        out.lookups.clear();
        out.cname_chain.clear();
        keep(results, out);
        let step = searched(name, out);
        let status = step.status;
        out.searched.push(step);
        if status == Status::Answered {
            out.resolved_name = Some(name.clone());
            if !last {
                let results = lookup_types(resolver, name, &other_types, deadline).await;
                keep(results, out);
            }
            break;
        }
        if !status.is_definite() {
            break;
        }
    }
    for t in [RecordType::A, RecordType::Aaaa] {
        let Some(lookup) = out.lookups.get(&t) else {
            continue;
        };
        for value in lookup.values() {
            if let Ok(ip) = value.parse::<IpAddr>() {
                if !out.addresses.iter().any(|a| a.ip == ip) {
                    out.addresses.push(Address {
                        ip,
                        source: Source::Dns,
                    });
                }
            }
        }
    }
}

/// Asks for the given record types of one name, all at once.
async fn lookup_types(
    resolver: &Resolver,
    name: &str,
    types: &[RecordType],
    deadline: Instant,
) -> Vec<(Lookup, Vec<CnameLink>)> {
    let queries = types.iter().map(|&t| async move {
        match t {
            RecordType::A | RecordType::Aaaa => resolver.lookup_addresses(name, t, deadline).await,
            _ => resolver.lookup_until(name, t, deadline).await,
        }
    });
    join_all(queries).await
}

/// Files lookups in `out`, the first address chain as the CNAME chain.
fn keep(results: Vec<(Lookup, Vec<CnameLink>)>, out: &mut DnsOutput) {
    for (lookup, chain) in results {
        let t = lookup.record_type;
        if matches!(t, RecordType::A | RecordType::Aaaa) && out.cname_chain.is_empty() {
            out.cname_chain = chain;
        }
        out.lookups.insert(t, lookup);
    }
}

/// How asking `name` for addresses ended: answered when a lookup found an
/// address; else the first failure (which stops the search); else NXDOMAIN
/// or NODATA.
fn searched(name: &str, out: &DnsOutput) -> SearchedName {
    let asked: Vec<&Lookup> = [RecordType::A, RecordType::Aaaa]
        .iter()
        .filter_map(|t| out.lookups.get(t))
        .collect();
    let pick = asked
        .iter()
        .find(|l| l.status == Status::Answered && !l.records.is_empty())
        .or_else(|| asked.iter().find(|l| !l.status.is_definite()))
        .or_else(|| asked.iter().find(|l| l.status == Status::NxDomain))
        .or_else(|| asked.first());
    match pick {
        Some(l) => SearchedName {
            name: name.to_string(),
            status: match l.status {
                Status::Answered if l.records.is_empty() => Status::NoData,
                status => status,
            },
            server: l.server,
            detail: l.detail.clone(),
        },
        None => SearchedName {
            name: name.to_string(),
            status: Status::Error,
            server: None,
            detail: Some("no A or AAAA lookup was asked".into()),
        },
    }
}

/// "no A or AAAA record for NAME (NXDOMAIN from 192.0.2.53:53)".
fn no_address_cause(name: &str, out: &DnsOutput) -> String {
    let asked: Vec<&Lookup> = [RecordType::A, RecordType::Aaaa]
        .iter()
        .filter_map(|t| out.lookups.get(t))
        .collect();
    let types = asked
        .iter()
        .map(|l| l.record_type.as_str())
        .collect::<Vec<_>>()
        .join(" or ");
    let descriptions: Vec<String> = asked.iter().map(|l| describe(l)).collect();
    let mut why = if descriptions.windows(2).all(|w| w[0] == w[1]) {
        descriptions.first().cloned().unwrap_or_default()
    } else {
        asked
            .iter()
            .zip(&descriptions)
            .map(|(l, d)| format!("{}: {d}", l.record_type))
            .collect::<Vec<_>>()
            .join("; ")
    };
    if let Some(last) = out.cname_chain.last() {
        why = format!("alias of {}; {why}", last.target);
    }
    let Some((last, before)) = out.searched.split_last().filter(|(_, b)| !b.is_empty()) else {
        return format!("no {types} record for {name} ({why})");
    };
    // Search domains were applied: name every name tried and how it ended.
    let mut tried: Vec<String> = before
        .iter()
        .map(|step| format!("{} ({})", step.name, describe_step(step)))
        .collect();
    tried.push(format!("{} ({why})", last.name));
    let stopped = if last.status.is_definite() {
        ""
    } else {
        "; the search stopped there, as the C library does on a server failure"
    };
    format!(
        "no {types} record for {name}; tried {}{stopped}",
        tried.join(", ")
    )
}

/// One searched name's outcome in a few words, like [`describe`].
fn describe_step(step: &SearchedName) -> String {
    let server = step
        .server
        .map(|s| format!(" from {s}"))
        .unwrap_or_default();
    match (step.status, &step.detail) {
        (Status::Timeout, Some(d)) => format!("timeout: {d}"),
        (Status::Error, Some(d)) => format!("error{server}: {d}"),
        (status, _) => format!("{status}{server}"),
    }
}

/// A lookup's outcome in a few words: "NXDOMAIN from 192.0.2.53:53".
pub(crate) fn describe(lookup: &Lookup) -> String {
    let server = lookup
        .server
        .map(|s| format!(" from {s}"))
        .unwrap_or_default();
    let mut text = match (lookup.status, &lookup.detail) {
        (Status::Timeout, Some(d)) => format!("timeout: {d}"),
        (Status::Error, Some(d)) => format!("error{server}: {d}"),
        (status, _) => format!("{status}{server}"),
    };
    if !lookup.failed_servers.is_empty() {
        let n = lookup.failed_servers.len();
        text.push_str(&format!(
            ", after {n} other server{} failed",
            if n == 1 { "" } else { "s" }
        ));
    }
    text
}

/// PTR of every address: from the hosts file or the loopback rule when
/// they know it, otherwise from DNS, all at once.
async fn reverse_all(
    addresses: &[Address],
    hosts: &Hosts,
    resolver: Option<&Resolver>,
    offline: bool,
    deadline: Instant,
) -> Vec<Ptr> {
    let jobs = addresses.iter().map(|addr| async move {
        let ip = addr.ip;
        let arpa = reverse_name(ip);
        let local = |source: Source, names: Vec<String>| Ptr {
            ip,
            source,
            lookup: local_lookup(&arpa, names),
        };
        let names = hosts.names(ip);
        if !names.is_empty() {
            return local(Source::Hosts, names);
        }
        if hosts::is_local_reverse(ip) {
            return local(Source::SpecialUse, vec!["localhost".to_string()]);
        }
        match resolver {
            Some(resolver) if !offline => Ptr {
                ip,
                source: Source::Dns,
                lookup: resolver
                    .lookup_until(&arpa, RecordType::Ptr, deadline)
                    .await
                    .0,
            },
            _ => Ptr {
                ip,
                source: Source::Hosts,
                lookup: Lookup {
                    status: Status::NoData,
                    detail: Some(
                        "not in the hosts file; not asked, the name was answered locally".into(),
                    ),
                    ..local_lookup(&arpa, Vec::new())
                },
            },
        }
    });
    join_all(jobs).await
}

fn local_lookup(arpa: &str, names: Vec<String>) -> Lookup {
    Lookup {
        name: arpa.to_string(),
        record_type: RecordType::Ptr,
        status: if names.is_empty() {
            Status::NoData
        } else {
            Status::Answered
        },
        records: names
            .into_iter()
            .map(|value| Record {
                name: arpa.to_string(),
                ttl: None,
                value,
            })
            .collect(),
        server: None,
        transport: None,
        authoritative: false,
        elapsed_ms: 0,
        detail: None,
        failed_servers: Vec::new(),
    }
}

/// Adds a warning for every query that a server failed.
fn warn_about(out: &mut DnsOutput) {
    let lookups = out
        .lookups
        .values()
        .map(|l| (l.record_type.to_string(), l))
        .chain(out.ptr.iter().map(|p| (format!("PTR {}", p.ip), &p.lookup)));
    let mut warnings = Vec::new();
    for (what, lookup) in lookups {
        if !lookup.status.is_definite() {
            warnings.push(format!("{what}: {}", describe(lookup)));
        } else {
            for failed in &lookup.failed_servers {
                warnings.push(format!(
                    "{what}: {} failed ({}{}); answered by the next server",
                    failed.server,
                    failed.status,
                    failed
                        .detail
                        .as_ref()
                        .map(|d| format!(": {d}"))
                        .unwrap_or_default()
                ));
            }
        }
    }
    out.warnings.extend(warnings);
}

#[cfg(test)]
mod tests {
    use super::typed_absolute;

    #[test]
    fn a_final_dot_as_typed_makes_the_name_absolute() {
        let cases = [
            ("myhost", false),
            ("myhost.", true),
            (" www.example.test. ", true),
            ("https://www.example.test./", true),
            ("https://user@www.example.test.:8443/a.b.", true),
            ("https://www.example.test/path.", false),
            ("http://myhost?q=a.", false),
            ("https://myhost:443", false),
        ];
        for (input, want) in cases {
            assert_eq!(typed_absolute(input), want, "{input}");
        }
    }
}
