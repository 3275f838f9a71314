//! The whois section as text: one group per lookup with the common fields, where they came
//! from, and what failed.

use sonde_core::{Tone, View};

use crate::output::{BootstrapSource, Lookup, QueryKind, Record, WhoisOutput};

/// Describes a whois section for people.
pub fn render(out: &WhoisOutput) -> View {
    let mut view = View::new();
    for lookup in &out.lookups {
        let title = match lookup.kind {
            QueryKind::Domain => format!("domain {}", lookup.query),
            QueryKind::Ipv4 | QueryKind::Ipv6 => format!("network of {}", lookup.query),
            QueryKind::Asn => lookup.query.clone(),
        };
        view = view.group(title, lookup_view(lookup));
    }
    if !out.bootstrap.is_empty() {
        let text = out
            .bootstrap
            .iter()
            .map(|b| {
                let source = match b.source {
                    BootstrapSource::Fetched => "fetched",
                    BootstrapSource::Cache => "cached",
                    BootstrapSource::Snapshot => "built-in",
                };
                match &b.publication {
                    Some(p) => format!("{} {source} ({p})", b.registry),
                    None => format!("{} {source}", b.registry),
                }
            })
            .collect::<Vec<_>>()
            .join(", ");
        view = view.toned("rdap bootstrap", text, Tone::Dim);
    }
    for warning in &out.warnings {
        view = view.note(warning.clone(), Tone::Warn);
    }
    view
}

fn lookup_view(lookup: &Lookup) -> View {
    let mut view = View::new();
    match (&lookup.record, lookup.answered_by) {
        (Some(record), Some(by)) => {
            view = view.toned("source", by, Tone::Dim);
            view = record_fields(view, record);
        }
        _ => {
            view = view.toned(
                "error",
                lookup.failure().unwrap_or_else(|| "no answer".into()),
                Tone::Bad,
            )
        }
    }
    if let Some(rdap) = &lookup.rdap {
        let mut parts = Vec::new();
        if let Some(a) = &rdap.registry {
            parts.push(format!("{} ({} in {} ms)", a.url, a.status, a.elapsed_ms));
        } else if let Some(s) = &rdap.server {
            parts.push(s.clone());
        }
        if let Some(a) = &rdap.registrar {
            parts.push(format!(
                "registrar {} ({} in {} ms)",
                a.url, a.status, a.elapsed_ms
            ));
        }
        if !parts.is_empty() {
            view = view.toned("rdap", parts.join(", "), Tone::Dim);
        }
    }
    if let Some(whois) = &lookup.whois {
        if !whois.hops.is_empty() {
            let chain = whois
                .hops
                .iter()
                .map(|h| h.server.as_str())
                .collect::<Vec<_>>()
                .join(" -> ");
            view = view.toned(
                "whois",
                format!("{chain} ({} ms)", whois.elapsed_ms),
                Tone::Dim,
            );
        }
    }
    view
}

fn record_fields(mut view: View, r: &Record) -> View {
    let mut field = |key: &str, value: &Option<String>| {
        if let Some(v) = value {
            view = std::mem::take(&mut view).field(key, v);
        }
    };
    field("name", &r.name);
    field("handle", &r.handle);
    field("registrar", &r.registrar);
    field("registrant", &r.registrant);
    field("org", &r.org);
    field("country", &r.country);
    field("created", &r.created);
    field("updated", &r.updated);
    field("expires", &r.expires);
    let range = r.range.as_ref().map(|(a, b)| format!("{a} - {b}"));
    field("range", &range);
    let joined = |v: &[String]| (!v.is_empty()).then(|| v.join(", "));
    field("cidr", &joined(&r.cidr));
    field("status", &joined(&r.status));
    field("name servers", &joined(&r.nameservers));
    let abuse = match (&r.abuse_email, &r.abuse_phone) {
        (Some(e), Some(p)) => Some(format!("{e} ({p})")),
        (Some(e), None) => Some(e.clone()),
        (None, Some(p)) => Some(p.clone()),
        (None, None) => None,
    };
    field("abuse", &abuse);
    for remark in &r.remarks {
        view = view.toned("remark", remark, Tone::Dim);
    }
    view
}

#[cfg(test)]
mod tests {
    use sonde_core::Item;

    use super::*;
    use crate::output::{
        BootstrapUse, Protocol, RdapAnswer, RdapLookup, RdapObject, WhoisHop, WhoisLookup,
    };

    fn draw(items: &[Item], indent: usize, out: &mut String) {
        let pad = " ".repeat(indent);
        for item in items {
            match item {
                Item::Field { key, value, tone } => {
                    out.push_str(&format!("{pad}{key:<13} {value}  [{tone:?}]\n"))
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

    #[test]
    fn reads_well() {
        let domain = Lookup {
            query: "example.test".into(),
            kind: QueryKind::Domain,
            answered_by: Some(Protocol::Rdap),
            record: Some(Record {
                name: Some("example.test".into()),
                registrar: Some("Lab Registrar, Inc.".into()),
                registrant: Some("Example Org".into()),
                created: Some("2001-02-03T04:05:06Z".into()),
                expires: Some("2031-02-03T04:05:06Z".into()),
                status: vec!["active".into(), "client transfer prohibited".into()],
                nameservers: vec!["ns1.example.test".into(), "ns2.example.test".into()],
                abuse_email: Some("abuse@registrar.test".into()),
                abuse_phone: Some("+1.5555550100".into()),
                ..Record::default()
            }),
            rdap: Some(RdapLookup {
                server: Some("https://rdap.test/".into()),
                registry: Some(RdapAnswer {
                    url: "https://rdap.test/domain/example.test".into(),
                    status: 200,
                    elapsed_ms: 12,
                    object: RdapObject::default(),
                    raw: serde_json::json!({}),
                }),
                registrar: None,
                registrar_error: None,
                record: None,
                error: None,
                unreachable: Vec::new(),
                elapsed_ms: 15,
            }),
            whois: None,
        };
        let network = Lookup {
            query: "192.0.2.10".into(),
            kind: QueryKind::Ipv4,
            answered_by: None,
            record: None,
            rdap: None,
            whois: Some(WhoisLookup {
                hops: vec![WhoisHop {
                    server: "whois.iana.org".into(),
                    address: None,
                    query: "192.0.2.10".into(),
                    bytes: 0,
                    elapsed_ms: 1000,
                    referral: None,
                    raw: None,
                    error: Some("no complete answer".into()),
                }],
                record: None,
                error: Some("whois.iana.org: no complete answer from 192.0.2.43:43 within 1s (0 bytes received)".into()),
                elapsed_ms: 1000,
            }),
        };
        let out = WhoisOutput {
            name: Some("www.example.test".into()),
            lookups: vec![domain, network],
            bootstrap: vec![BootstrapUse {
                registry: "dns".into(),
                source: BootstrapSource::Fetched,
                publication: Some("2030-01-01T00:00:00Z".into()),
                location: "https://bootstrap.test/dns.json".into(),
                note: None,
            }],
            warnings: vec![
                "example.test: registrar's RDAP record: https://r.test/ answered HTTP 404".into(),
            ],
            elapsed_ms: 1200,
        };
        let mut text = String::new();
        draw(&render(&out).items, 0, &mut text);
        insta::assert_snapshot!(text);
    }
}
