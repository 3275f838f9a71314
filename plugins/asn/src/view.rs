//! The asn section as text.

use sonde_core::{Tone, View};

use crate::output::{AsnOutput, NameSource, Source, Status};

/// Describes an asn section for people.
pub fn render(out: &AsnOutput) -> View {
    let sources: Vec<String> = out
        .sources
        .iter()
        .map(|s| match (s, &out.zones, &out.database) {
            (Source::Cymru, Some(z), _) => {
                format!("cymru ({}, {}, {})", z.origin, z.origin6, z.asn)
            }
            (Source::Database, _, Some(db)) => format!("database {db}"),
            (Source::Database, _, None) => "no database".to_string(),
            (s, _, _) => s.as_str().to_string(),
        })
        .collect();
    let mut view = View::new().field("sources", sources.join(", "));
    if let Some(credit) = &out.attribution {
        view = view.note(credit.clone(), Tone::Dim);
    }
    let mut rows = Vec::new();
    let mut notes = Vec::new();
    for a in &out.addresses {
        let ip = a.ip.to_string();
        match a.status {
            Status::Announced => {
                for (i, o) in a.origins.iter().enumerate() {
                    rows.push(vec![
                        if i == 0 { ip.clone() } else { String::new() },
                        format!("AS{}", o.asn),
                        o.prefix.to_string(),
                        o.country.clone().unwrap_or_default(),
                        o.registry.clone().unwrap_or_default(),
                        o.allocated.clone().unwrap_or_default(),
                        o.as_name.clone().unwrap_or_default(),
                    ]);
                }
                if let Some(detail) = &a.detail {
                    notes.push((format!("{ip}: {detail}"), Tone::Warn));
                }
            }
            Status::NotAnnounced => {
                view = view.toned(ip, "not announced", Tone::Warn);
            }
            Status::Local => {
                let what = a.range.map(|r| r.describe()).unwrap_or("a local address");
                view = view.toned(ip, format!("{what}, answered locally"), Tone::Dim);
            }
            Status::Error => {
                let detail = a.detail.as_deref().unwrap_or("no answer");
                view = view.toned(ip, format!("error: {detail}"), Tone::Bad);
            }
        }
    }
    if !rows.is_empty() {
        view = view.table(
            [
                "address",
                "AS",
                "prefix",
                "country",
                "registry",
                "allocated",
                "name",
            ],
            rows,
        );
    }
    for s in &out.systems {
        if let (None, Some(detail)) = (&s.name, &s.detail) {
            notes.push((format!("AS{} has no name: {detail}", s.asn), Tone::Dim));
        } else if let Some(source) = s.source.filter(|s| *s != NameSource::Cymru) {
            notes.push((
                format!("AS{} named from {}", s.asn, source.as_str()),
                Tone::Dim,
            ));
        }
    }
    for (text, tone) in notes {
        view = view.note(text, tone);
    }
    for w in &out.warnings {
        view = view.note(w.clone(), Tone::Warn);
    }
    view
}

#[cfg(test)]
mod tests {
    use sonde_core::{Item, SpecialRange};

    use super::*;
    use crate::config::Zones;
    use crate::output::{AddressAsn, AutonomousSystem, Origin};

    fn draw(items: &[Item]) -> String {
        let mut out = String::new();
        for item in items {
            match item {
                Item::Field { key, value, tone } => {
                    out.push_str(&format!("{key:<10} {value}  [{tone:?}]\n"))
                }
                Item::Note { text, tone } => out.push_str(&format!("! {text}  [{tone:?}]\n")),
                Item::Table { headers, rows } => {
                    out.push_str(&format!("| {} |\n", headers.join(" | ")));
                    for row in rows {
                        out.push_str(&format!("| {} |\n", row.join(" | ")));
                    }
                }
                Item::Group { title, items } => out.push_str(&format!("{title}:\n{}", draw(items))),
            }
        }
        out
    }

    fn origin(asn: u32, prefix: &str, name: Option<&str>) -> Origin {
        Origin {
            asn,
            prefix: prefix.parse().expect("prefix"),
            country: Some("NL".into()),
            registry: Some("ripencc".into()),
            allocated: Some("2010-07-14".into()),
            as_name: name.map(String::from),
        }
    }

    fn address(ip: &str, status: Status) -> AddressAsn {
        AddressAsn {
            ip: ip.parse().expect("ip"),
            status,
            origins: Vec::new(),
            source: Some(Source::Cymru),
            query: None,
            range: None,
            detail: None,
        }
    }

    #[test]
    fn reads_well() {
        let out = AsnOutput {
            sources: vec![Source::Cymru, Source::Database],
            zones: Some(Zones::default()),
            database: None,
            attribution: None,
            addresses: vec![
                AddressAsn {
                    origins: vec![
                        origin(64501, "203.0.113.0/28", Some("SONDE-HOSTING - Hosting, NL")),
                        origin(64502, "203.0.113.0/28", None),
                        origin(64500, "203.0.113.0/24", Some("SONDE-TRANSIT - Transit, NL")),
                    ],
                    ..address("203.0.113.10", Status::Announced)
                },
                AddressAsn {
                    range: Some(SpecialRange::Private),
                    source: None,
                    ..address("10.0.0.1", Status::Local)
                },
                address("192.0.2.99", Status::NotAnnounced),
                AddressAsn {
                    detail: Some("53.113.0.203.origin.asn.cymru.com answered \"x\", which is not in Cymru's format (1 field(s))".into()),
                    ..address("203.0.113.53", Status::Error)
                },
            ],
            systems: vec![AutonomousSystem {
                asn: 64502,
                name: None,
                country: None,
                registry: None,
                allocated: None,
                source: None,
                detail: Some("AS64502.asn.cymru.com has no AS name record".into()),
            }],
            warnings: vec![],
            elapsed_ms: 12,
        };
        insta::assert_snapshot!(draw(&render(&out).items));
    }

    #[test]
    fn a_db_ip_table_is_credited() {
        let out = AsnOutput {
            sources: vec![Source::Database],
            zones: None,
            database: Some(
                "/data/dbip-asn-lite.mmdb (DBIP-ASN-Lite, MMDB built 2025-12-01)".into(),
            ),
            attribution: Some(crate::DB_IP_ATTRIBUTION.into()),
            addresses: vec![],
            systems: vec![],
            warnings: vec![],
            elapsed_ms: 1,
        };
        let items = render(&out).items;
        assert_eq!(
            items.get(1),
            Some(&Item::Note {
                text: "IP to ASN data by DB-IP (https://db-ip.com), CC BY 4.0".into(),
                tone: Tone::Dim
            }),
            "{items:?}"
        );
        let without = AsnOutput {
            attribution: None,
            ..out
        };
        assert!(!render(&without)
            .items
            .iter()
            .any(|i| matches!(i, Item::Note { .. })));
    }
}
