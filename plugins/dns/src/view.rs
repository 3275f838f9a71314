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
    if out.name() != out.query {
        view = view.field("resolved as", out.name());
    }
    if out.searched.len() > 1 {
        let steps = out
            .searched
            .iter()
            .map(|step| format!("{} {}", step.name, step.status))
            .collect::<Vec<_>>()
            .join(", ");
        view = view.field("searched", steps);
    }
    if !out.cname_chain.is_empty() {
        let mut chain = vec![out.name().to_string()];
        chain.extend(out.cname_chain.iter().map(|l| l.target.clone()));
        view = view.field("cname chain", chain.join(" -> "));
    }
    // One row per address: where it came from and what its PTR says.
    let rows = out.addresses.iter().map(|a| {
        let ptr = out.ptr.iter().find(|p| p.ip == a.ip);
        let (names, ttl) = match ptr {
            Some(p) if p.lookup.status == Status::Answered => (
                p.names().collect::<Vec<_>>().join(", "),
                p.lookup
                    .min_ttl()
                    .map(|t| t.to_string())
                    .unwrap_or_default(),
            ),
            Some(p) => (p.lookup.status.to_string(), String::new()),
            None => ("-".to_string(), String::new()),
        };
        vec![a.ip.to_string(), a.source.as_str().to_string(), names, ttl]
    });
    view = view.table(["address", "source", "ptr", "ptr ttl"], rows);
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
    for warning in &out.warnings {
        view = view.note(warning.clone(), Tone::Warn);
    }
    view
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use sonde_core::Item;

    use super::*;
    use crate::output::{
        Address, CnameLink, Lookup, Ptr, Record, RecordType, ResolverInfo, SearchedName, Source,
        Transport,
    };

    /// A plain drawing of a view, close enough to the CLI's to review.
    fn draw(items: &[Item], indent: usize, out: &mut String) {
        let pad = " ".repeat(indent);
        for item in items {
            match item {
                Item::Field { key, value, tone } => {
                    out.push_str(&format!("{pad}{key:<12} {value}  [{tone:?}]\n"))
                }
                Item::Note { text, tone } => out.push_str(&format!("{pad}! {text}  [{tone:?}]\n")),
                Item::Table { headers, rows } => {
                    out.push_str(&format!("{pad}| {} |\n", headers.join(" | ")));
                    for row in rows {
                        out.push_str(&format!("{pad}| {} |\n", row.join(" | ")));
                    }
                }
                Item::Group { title, items } => {
                    out.push_str(&format!("{pad}{title}:\n"));
                    draw(items, indent + 2, out);
                }
            }
        }
    }

    fn lookup(t: RecordType, status: Status, values: &[(&str, u32)]) -> Lookup {
        Lookup {
            name: "alias.example.test".into(),
            record_type: t,
            status,
            records: values
                .iter()
                .map(|(v, ttl)| Record {
                    name: "www.example.test".into(),
                    ttl: Some(*ttl),
                    value: (*v).into(),
                })
                .collect(),
            server: Some("192.0.2.53:53".parse().expect("addr")),
            transport: Some(Transport::Udp),
            authoritative: false,
            elapsed_ms: 12,
            detail: None,
            failed_servers: Vec::new(),
        }
    }

    #[test]
    fn reads_well() {
        let mut lookups = BTreeMap::new();
        for l in [
            lookup(
                RecordType::A,
                Status::Answered,
                &[("192.0.2.10", 300), ("192.0.2.11", 300)],
            ),
            lookup(RecordType::Aaaa, Status::NoData, &[]),
            lookup(RecordType::Mx, Status::ServFail, &[]),
            Lookup {
                detail: Some("no reply from 192.0.2.53:53 within 2s".into()),
                ..lookup(RecordType::Caa, Status::Timeout, &[])
            },
        ] {
            lookups.insert(l.record_type, l);
        }
        let ptr_ok = Ptr {
            ip: "192.0.2.10".parse().expect("ip"),
            source: Source::Dns,
            lookup: lookup(
                RecordType::Ptr,
                Status::Answered,
                &[("www.example.test", 86400)],
            ),
        };
        let ptr_nx = Ptr {
            ip: "192.0.2.11".parse().expect("ip"),
            source: Source::Dns,
            lookup: lookup(RecordType::Ptr, Status::NxDomain, &[]),
        };
        let out = DnsOutput {
            query: "alias.example.test".into(),
            is_address: false,
            resolver: ResolverInfo {
                source: ResolverSource::System,
                nameservers: vec!["192.0.2.53:53".parse().expect("addr")],
                query_timeout_ms: 2000,
                attempts: 2,
                hosts_file: Some("/etc/hosts".into()),
                search: Vec::new(),
                ndots: 1,
            },
            local: None,
            resolved_name: Some("alias.example.test".into()),
            searched: vec![SearchedName {
                name: "alias.example.test".into(),
                status: Status::Answered,
                server: Some("192.0.2.53:53".parse().expect("addr")),
                detail: None,
            }],
            addresses: ["192.0.2.10", "192.0.2.11"]
                .iter()
                .map(|ip| Address {
                    ip: ip.parse().expect("ip"),
                    source: Source::Dns,
                })
                .collect(),
            cname_chain: vec![CnameLink {
                name: "alias.example.test".into(),
                target: "www.example.test".into(),
                ttl: 60,
            }],
            lookups,
            ptr: vec![ptr_ok, ptr_nx],
            warnings: vec![
                "MX: SERVFAIL from 192.0.2.53:53".into(),
                "CAA: timeout: no reply from 192.0.2.53:53 within 2s".into(),
            ],
            elapsed_ms: 40,
        };
        let mut text = String::new();
        draw(&render(&out).items, 0, &mut text);
        insta::assert_snapshot!(text);

        // With search domains applied, the name used and the names tried show.
        let searched = DnsOutput {
            query: "alias".into(),
            resolved_name: Some("alias.example.test".into()),
            searched: vec![
                SearchedName {
                    name: "alias.corp.test".into(),
                    status: Status::NxDomain,
                    server: None,
                    detail: None,
                },
                SearchedName {
                    name: "alias.example.test".into(),
                    status: Status::Answered,
                    server: None,
                    detail: None,
                },
            ],
            ..out
        };
        let mut text = String::new();
        draw(&render(&searched).items, 0, &mut text);
        for want in [
            "query        alias  [",
            "resolved as  alias.example.test  [",
            "searched     alias.corp.test NXDOMAIN, alias.example.test NOERROR  [",
            "cname chain  alias.example.test -> www.example.test  [",
        ] {
            assert!(text.contains(want), "{want:?} not in\n{text}");
        }
    }
}
