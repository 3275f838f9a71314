//! The geo section as text.

use sonde_core::{Tone, View};

use crate::output::{AddressGeo, GeoOutput, SourceKind, Status};

/// Describes a geo section for people.
pub fn render(out: &GeoOutput) -> View {
    let mut view = View::new();
    if let Some(source) = &out.source {
        let text = match source.kind {
            SourceKind::Database => format!(
                "{}{}{}",
                source.name,
                source
                    .build_date
                    .as_ref()
                    .map(|d| format!(", built {d}"))
                    .unwrap_or_default(),
                source
                    .path
                    .as_ref()
                    .map(|p| format!(" ({p})"))
                    .unwrap_or_default()
            ),
            SourceKind::Http => format!("HTTP API {}", source.name),
        };
        view = view.field("source", text);
        if source.name.to_ascii_lowercase().starts_with("dbip") {
            view = view.note(
                "IP geolocation by DB-IP (https://db-ip.com), CC BY 4.0",
                Tone::Dim,
            );
        }
    }
    for a in &out.addresses {
        let ip = a.ip.to_string();
        match a.status {
            Status::Found => view = view.group(ip, place(a)),
            Status::NotFound => {
                let why = a.detail.as_deref().unwrap_or("not in the source");
                view = view.toned(ip, format!("no location: {why}"), Tone::Warn);
            }
            Status::Local => {
                let why = a.detail.as_deref().unwrap_or("no public location");
                view = view.toned(ip, why, Tone::Dim);
            }
            Status::Error => {
                let why = a.detail.as_deref().unwrap_or("no answer");
                view = view.toned(ip, format!("error: {why}"), Tone::Bad);
            }
        }
    }
    view
}

fn place(a: &AddressGeo) -> View {
    let mut v = View::new();
    if let Some(c) = &a.country {
        let text = match (&c.code, &c.name) {
            (Some(code), Some(name)) => format!("{code} {name}"),
            (Some(one), None) | (None, Some(one)) => one.clone(),
            (None, None) => String::new(),
        };
        v = v.field("country", text);
    }
    if let Some(r) = &a.region {
        let text = match (&r.name, &r.code) {
            (Some(name), Some(code)) => format!("{name} ({code})"),
            (Some(one), None) | (None, Some(one)) => one.clone(),
            (None, None) => String::new(),
        };
        v = v.field("region", text);
    }
    if let Some(city) = &a.city {
        v = v.field("city", city);
    }
    if let Some(postal) = &a.postal_code {
        v = v.field("postal code", postal);
    }
    if let Some(c) = &a.coordinates {
        let radius = c
            .accuracy_radius_km
            .map(|r| format!(" (within {r} km)"))
            .unwrap_or_default();
        v = v.field(
            "coordinates",
            format!("{:.4}, {:.4}{radius}", c.latitude, c.longitude),
        );
    }
    if let Some(tz) = &a.time_zone {
        v = v.field("time zone", tz);
    }
    if a.asn.is_some() || a.as_organization.is_some() {
        let asn = a.asn.map(|n| format!("AS{n} ")).unwrap_or_default();
        v = v.field(
            "AS",
            format!("{asn}{}", a.as_organization.as_deref().unwrap_or_default()).trim(),
        );
    }
    if let Some(net) = &a.network {
        v = v.toned("network", net, Tone::Dim);
    }
    if let Some(detail) = &a.detail {
        v = v.note(detail.clone(), Tone::Warn);
    }
    v
}

#[cfg(test)]
mod tests {
    use sonde_core::{Item, SpecialRange};

    use super::*;
    use crate::output::{Coordinates, Country, GeoSource, Region};

    fn draw(items: &[Item], indent: usize) -> String {
        let pad = " ".repeat(indent);
        let mut out = String::new();
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
                    out.push_str(&format!("{pad}{title}:\n{}", draw(items, indent + 2)))
                }
            }
        }
        out
    }

    #[test]
    fn reads_well() {
        let mut found = AddressGeo::empty("203.0.113.10".parse().expect("ip"), Status::Found);
        found.network = Some("203.0.113.0/24".into());
        found.country = Some(Country {
            code: Some("NL".into()),
            name: Some("Netherlands".into()),
        });
        found.region = Some(Region {
            code: Some("NH".into()),
            name: Some("North Holland".into()),
        });
        found.city = Some("Amsterdam".into());
        found.postal_code = Some("1012".into());
        found.coordinates = Some(Coordinates {
            latitude: 52.374,
            longitude: 4.8897,
            accuracy_radius_km: Some(20),
        });
        found.time_zone = Some("Europe/Amsterdam".into());
        let mut missing = AddressGeo::empty("192.0.2.1".parse().expect("ip"), Status::NotFound);
        missing.detail = Some("not in the database".into());
        let mut broken = AddressGeo::empty("198.51.100.7".parse().expect("ip"), Status::Error);
        broken.detail = Some("lookup in /x.mmdb failed: bad pointer".into());
        let out = GeoOutput {
            source: Some(GeoSource {
                kind: SourceKind::Database,
                name: "DBIP-City-Lite".into(),
                path: Some("/data/dbip-city-lite.mmdb".into()),
                build_date: Some("2025-12-01".into()),
                build_epoch: Some(1_764_547_200),
                description: None,
            }),
            addresses: vec![
                found,
                crate::local_answer("10.0.0.1".parse().expect("ip"), SpecialRange::Private),
                missing,
                broken,
            ],
            elapsed_ms: 1,
        };
        insta::assert_snapshot!(draw(&render(&out).items, 0));
    }
}
