//! The dns section as text.

use sonde_core::{Tone, View};

use crate::output::{DnsOutput, ResolverSource, Status};

/// Describes a dns section for people.
pub fn render(out: &DnsOutput) -> View {
    let servers = if out.resolver.nameservers.is_empty() {
        "none".to_string()
    } else {
        out.resolver
            .nameservers
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let source = match out.resolver.source {
        ResolverSource::System => "system",
        ResolverSource::Configured => "configured",
    };
    let mut view = View::new()
        .field("query", &out.query)
        .field("resolver", format!("{servers} ({source})"));
    if let Some(local) = &out.local {
        view = view.note(local.reason.clone(), Tone::Dim);
    }
    if !out.cname_chain.is_empty() {
        let mut chain = vec![out.query.clone()];
        chain.extend(out.cname_chain.iter().map(|l| l.target.clone()));
        view = view.field("cname chain", chain.join(" -> "));
    }
    view = view.table(
        ["address", "source"],
        out.addresses
            .iter()
            .map(|a| vec![a.ip.to_string(), a.source.as_str().to_string()]),
    );
    if !out.lookups.is_empty() {
        let mut rows = Vec::new();
        for lookup in out.lookups.values() {
            let server = lookup
                .server
                .map(|s| format!("{s} {}ms", lookup.elapsed_ms))
                .unwrap_or_default();
            if lookup.records.is_empty() {
                rows.push(vec![
                    lookup.record_type.to_string(),
                    lookup.status.to_string(),
                    String::new(),
                    lookup.detail.clone().unwrap_or_default(),
                    server,
                ]);
                continue;
            }
            for (i, record) in lookup.records.iter().enumerate() {
                let first = i == 0;
                rows.push(vec![
                    if first {
                        lookup.record_type.to_string()
                    } else {
                        String::new()
                    },
                    if first {
                        lookup.status.to_string()
                    } else {
                        String::new()
                    },
                    record.ttl.map(|t| t.to_string()).unwrap_or_default(),
                    record.value.clone(),
                    if first { server.clone() } else { String::new() },
                ]);
            }
        }
        view = view.table(["type", "status", "ttl", "value", "server"], rows);
    }
    if !out.ptr.is_empty() {
        let rows = out.ptr.iter().map(|p| {
            let names = p.names().collect::<Vec<_>>().join(", ");
            vec![
                p.ip.to_string(),
                if p.lookup.status == Status::Answered {
                    names
                } else {
                    p.lookup.status.to_string()
                },
                p.lookup
                    .min_ttl()
                    .map(|t| t.to_string())
                    .unwrap_or_default(),
                p.source.as_str().to_string(),
            ]
        });
        view = view.table(["address", "ptr", "ttl", "source"], rows);
    }
    for warning in &out.warnings {
        view = view.note(warning.clone(), Tone::Warn);
    }
    view
}
