//! Reading RFC 9083 JSON: domains, IP networks and autnums, their entities (jCard, RFC
//! 7095), events, status, name servers and remarks. Servers differ and some are careless, so
//! every member is optional and a wrong type is skipped, never trusted.

use serde_json::Value;

use crate::net::{distinct_blocks, range_to_cidrs, Cidr};
use crate::output::{field_text, Entity, Event, QueryKind, RdapObject, Record, MAX_CIDRS};

/// Most entities kept (nested ones included), remarks and name servers.
const MAX_ENTITIES: usize = 32;
const MAX_REMARKS: usize = 8;
const MAX_NAMESERVERS: usize = 32;

/// Reads an RDAP object; `Err` when the JSON is not an object or is an RDAP error object.
pub fn parse_object(json: &Value) -> Result<RdapObject, String> {
    let obj = json
        .as_object()
        .ok_or_else(|| format!("not an RDAP object: the JSON is {}", kind_of(json)))?;
    if obj.get("objectClassName").is_none() && obj.get("errorCode").is_some() {
        let title = str_of(json.get("title")).unwrap_or_default();
        return Err(format!("an RDAP error object: {title}"));
    }
    let class = str_of(json.get("objectClassName"));
    let name = match class.as_deref() {
        Some("domain") => str_of(json.get("ldhName"))
            .or_else(|| str_of(json.get("unicodeName")))
            .map(|n| n.trim_end_matches('.').to_ascii_lowercase()),
        _ => str_of(json.get("name")),
    };
    let mut entities = Vec::new();
    collect_entities(json.get("entities"), &mut entities, 0);
    let start = str_of(json.get("startAddress"));
    let end = str_of(json.get("endAddress"));
    let (mut cidr, mut cidr_dropped) = distinct_blocks(
        array(json.get("cidr0_cidrs")).filter_map(|c| {
            let prefix = str_of(c.get("v4prefix")).or_else(|| str_of(c.get("v6prefix")))?;
            let len = c.get("length")?.as_u64()?;
            Cidr::parse(&format!("{prefix}/{len}"))
        }),
        MAX_CIDRS,
    );
    if cidr.is_empty() {
        if let (Some(s), Some(e)) = (&start, &end) {
            if let (Ok(s), Ok(e)) = (s.parse(), e.parse()) {
                (cidr, cidr_dropped) =
                    distinct_blocks(range_to_cidrs(s, e).unwrap_or_default(), MAX_CIDRS);
            }
        }
    }
    let autnum_range = match (
        json.get("startAutnum").and_then(Value::as_u64),
        json.get("endAutnum").and_then(Value::as_u64),
    ) {
        (Some(a), Some(b)) => u32::try_from(a).ok().zip(u32::try_from(b).ok()),
        (Some(a), None) => u32::try_from(a).ok().map(|a| (a, a)),
        _ => None,
    };
    Ok(RdapObject {
        object_class: class,
        handle: str_of(json.get("handle")),
        name,
        status: strings(json.get("status")),
        events: events(json.get("events")),
        entities,
        nameservers: array(json.get("nameservers"))
            .filter_map(|ns| str_of(ns.get("ldhName")))
            .map(|n| n.trim_end_matches('.').to_ascii_lowercase())
            .take(MAX_NAMESERVERS)
            .collect(),
        start_address: start,
        end_address: end,
        cidr,
        cidr_dropped,
        autnum_range,
        country: str_of(json.get("country")).map(|c| c.to_ascii_uppercase()),
        kind: str_of(json.get("type")),
        remarks: array(json.get("remarks"))
            .filter_map(remark)
            .take(MAX_REMARKS)
            .collect(),
        related: related_link(json),
    })
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A string member as a field keeps it: without control characters ([`field_text`]),
/// trimmed, at most 512 characters; empty is none.
fn str_of(v: Option<&Value>) -> Option<String> {
    let text = field_text(v.and_then(Value::as_str)?);
    let text = text.trim();
    (!text.is_empty()).then(|| text.chars().take(512).collect())
}

fn array(v: Option<&Value>) -> impl Iterator<Item = &Value> {
    v.and_then(Value::as_array).into_iter().flatten()
}

fn strings(v: Option<&Value>) -> Vec<String> {
    array(v).filter_map(|s| str_of(Some(s))).take(32).collect()
}

fn events(v: Option<&Value>) -> Vec<Event> {
    array(v)
        .filter_map(|e| {
            Some(Event {
                action: str_of(e.get("eventAction"))?,
                date: str_of(e.get("eventDate"))?,
            })
        })
        .take(32)
        .collect()
}

fn remark(r: &Value) -> Option<String> {
    let title = str_of(r.get("title"));
    let text: Vec<String> = strings(r.get("description"));
    let body = text.join(" ");
    match (title, body.is_empty()) {
        (Some(t), false) => Some(format!("{t}: {body}")),
        (Some(t), true) => Some(t),
        (None, false) => Some(body),
        (None, true) => None,
    }
}

/// The registrar's record: a `related` link to RDAP JSON that is not the object itself.
fn related_link(json: &Value) -> Option<String> {
    let own = array(json.get("links"))
        .find(|l| str_of(l.get("rel")).as_deref() == Some("self"))
        .and_then(|l| str_of(l.get("href")));
    array(json.get("links"))
        .filter(|l| str_of(l.get("rel")).as_deref() == Some("related"))
        .filter(|l| str_of(l.get("type")).is_none_or(|t| t.starts_with("application/rdap+json")))
        .filter_map(|l| str_of(l.get("href")))
        .find(|href| href.starts_with("https://") && Some(href) != own.as_ref())
}

/// Entities and the entities inside them (an abuse contact inside the registrar), flattened.
fn collect_entities(v: Option<&Value>, out: &mut Vec<Entity>, depth: usize) {
    if depth > 3 {
        return;
    }
    for e in array(v) {
        if out.len() >= MAX_ENTITIES {
            return;
        }
        let mut entity = Entity {
            handle: str_of(e.get("handle")),
            roles: strings(e.get("roles"))
                .into_iter()
                .map(|r| r.to_ascii_lowercase())
                .collect(),
            ..Entity::default()
        };
        if let Some(props) = e
            .get("vcardArray")
            .and_then(|v| v.get(1))
            .and_then(Value::as_array)
        {
            vcard(props, &mut entity);
        }
        entity.iana_id = array(e.get("publicIds"))
            .find(|p| {
                str_of(p.get("type")).is_some_and(|t| t.eq_ignore_ascii_case("IANA Registrar ID"))
            })
            .and_then(|p| str_of(p.get("identifier")));
        out.push(entity);
        collect_entities(e.get("entities"), out, depth + 1);
    }
}

/// The jCard properties sonde reports: `fn`, `org`, `email`, `tel`, and the country of `adr`.
fn vcard(props: &[Value], entity: &mut Entity) {
    for prop in props {
        let Some(p) = prop.as_array() else { continue };
        let (Some(name), Some(params)) = (p.first().and_then(Value::as_str), p.get(1)) else {
            continue;
        };
        let value = p.get(3);
        let text = || match value {
            Some(Value::String(_)) => str_of(value),
            Some(Value::Array(parts)) => {
                let joined: Vec<String> = parts.iter().filter_map(|p| str_of(Some(p))).collect();
                (!joined.is_empty()).then(|| joined.join(" "))
            }
            _ => None,
        };
        let slot = match name.to_ascii_lowercase().as_str() {
            "fn" => &mut entity.name,
            "org" => &mut entity.org,
            "email" => &mut entity.email,
            "tel" => &mut entity.phone,
            "adr" => {
                let cc = str_of(params.get("cc")).or_else(|| match value {
                    Some(Value::Array(parts)) => str_of(parts.last()),
                    _ => None,
                });
                if entity.country.is_none() {
                    entity.country = cc;
                }
                continue;
            }
            _ => continue,
        };
        if slot.is_none() {
            *slot = text().map(|t| {
                t.strip_prefix("tel:")
                    .or_else(|| t.strip_prefix("mailto:"))
                    .unwrap_or(&t)
                    .chars()
                    .take(256)
                    .collect()
            });
        }
    }
}

/// The common fields of an RDAP object.
pub fn record(object: &RdapObject, kind: QueryKind) -> Record {
    let event = |action: &str| {
        object
            .events
            .iter()
            .find(|e| e.action.eq_ignore_ascii_case(action))
            .map(|e| e.date.clone())
    };
    let with_role = |role: &str| {
        object
            .entities
            .iter()
            .find(|e| e.roles.iter().any(|r| r == role))
    };
    let registrar = with_role("registrar");
    let registrant = with_role("registrant");
    let abuse = with_role("abuse");
    let holder = registrant.or_else(|| with_role("administrative"));
    let range = match (&object.start_address, &object.end_address) {
        (Some(s), Some(e)) => Some((s.clone(), e.clone())),
        _ => object
            .autnum_range
            .map(|(a, b)| (format!("AS{a}"), format!("AS{b}"))),
    };
    Record {
        handle: object.handle.clone(),
        name: object.name.clone(),
        registrar: registrar.and_then(|r| r.name.clone().or_else(|| r.org.clone())),
        registrant: match kind {
            QueryKind::Domain => registrant.and_then(|r| r.org.clone().or_else(|| r.name.clone())),
            _ => None,
        },
        org: match kind {
            QueryKind::Domain => None,
            _ => holder.and_then(|h| h.org.clone().or_else(|| h.name.clone())),
        },
        country: object
            .country
            .clone()
            .or_else(|| holder.and_then(|h| h.country.clone())),
        created: event("registration"),
        updated: event("last changed"),
        expires: event("expiration"),
        status: object.status.clone(),
        nameservers: object.nameservers.clone(),
        abuse_email: abuse.and_then(|a| a.email.clone()),
        abuse_phone: abuse.and_then(|a| a.phone.clone()),
        range,
        cidr: object.cidr.clone(),
        cidr_dropped: object.cidr_dropped,
        remarks: object.remarks.iter().take(5).cloned().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn domain_json() -> Value {
        serde_json::json!({
            "objectClassName": "domain",
            "handle": "2336799_DOMAIN_COM-VRSN",
            "ldhName": "EXAMPLE.COM",
            "status": ["client delete prohibited", "client transfer prohibited"],
            "events": [
                {"eventAction": "registration", "eventDate": "1995-08-14T04:00:00Z"},
                {"eventAction": "expiration", "eventDate": "2025-08-13T04:00:00Z"},
                {"eventAction": "last changed", "eventDate": "2024-08-14T07:01:34Z"},
                {"eventAction": 5}
            ],
            "entities": [{
                "objectClassName": "entity",
                "handle": "376",
                "roles": ["registrar"],
                "publicIds": [{"type": "IANA Registrar ID", "identifier": "376"}],
                "vcardArray": ["vcard", [["version", {}, "text", "4.0"], ["fn", {}, "text", "RESERVED-Internet Assigned Numbers Authority"]]],
                "entities": [{
                    "objectClassName": "entity",
                    "roles": ["abuse"],
                    "vcardArray": ["vcard", [
                        ["version", {}, "text", "4.0"],
                        ["fn", {}, "text", ""],
                        ["tel", {"type": "voice"}, "uri", "tel:+1.3108239358"],
                        ["email", {}, "text", "abuse@iana.org"]
                    ]]
                }]
            }],
            "nameservers": [
                {"objectClassName": "nameserver", "ldhName": "A.IANA-SERVERS.NET."},
                {"objectClassName": "nameserver", "ldhName": "b.iana-servers.net"}
            ],
            "links": [
                {"rel": "self", "href": "https://rdap.verisign.com/com/v1/domain/EXAMPLE.COM", "type": "application/rdap+json"},
                {"rel": "related", "href": "https://rdap.registrar.test/domain/EXAMPLE.COM", "type": "application/rdap+json"}
            ]
        })
    }

    #[test]
    fn domain_fields() {
        let o = parse_object(&domain_json()).unwrap();
        assert_eq!(o.name.as_deref(), Some("example.com"));
        assert_eq!(
            o.related.as_deref(),
            Some("https://rdap.registrar.test/domain/EXAMPLE.COM")
        );
        assert_eq!(o.entities.len(), 2);
        assert_eq!(o.entities[0].iana_id.as_deref(), Some("376"));
        let r = record(&o, QueryKind::Domain);
        assert_eq!(
            r.registrar.as_deref(),
            Some("RESERVED-Internet Assigned Numbers Authority")
        );
        assert_eq!(r.created.as_deref(), Some("1995-08-14T04:00:00Z"));
        assert_eq!(r.expires.as_deref(), Some("2025-08-13T04:00:00Z"));
        assert_eq!(r.updated.as_deref(), Some("2024-08-14T07:01:34Z"));
        assert_eq!(r.abuse_email.as_deref(), Some("abuse@iana.org"));
        assert_eq!(r.abuse_phone.as_deref(), Some("+1.3108239358"));
        assert_eq!(r.nameservers, ["a.iana-servers.net", "b.iana-servers.net"]);
        assert_eq!(r.status.len(), 2);
        assert_eq!(r.registrant, None);
    }

    #[test]
    fn network_fields() {
        let json = serde_json::json!({
            "objectClassName": "ip network",
            "handle": "NET-203-0-113-0-1",
            "startAddress": "203.0.113.0",
            "endAddress": "203.0.113.255",
            "ipVersion": "v4",
            "name": "LAB-NET",
            "type": "ASSIGNED PA",
            "country": "nl",
            "entities": [
                {"roles": ["registrant"], "vcardArray": ["vcard", [["fn", {}, "text", "Lab Org"], ["adr", {"cc": "NL"}, "text", ["", "", "Street", "City", "", "", "Netherlands"]]]]},
                {"roles": ["abuse"], "vcardArray": ["vcard", [["email", {}, "text", "abuse@lab.test"]]]}
            ],
            "remarks": [{"title": "Note", "description": ["line one", "line two"]}, {"description": []}]
        });
        let o = parse_object(&json).unwrap();
        assert_eq!(o.cidr, ["203.0.113.0/24"], "computed from the range");
        let r = record(&o, QueryKind::Ipv4);
        assert_eq!(r.org.as_deref(), Some("Lab Org"));
        assert_eq!(r.country.as_deref(), Some("NL"));
        assert_eq!(r.abuse_email.as_deref(), Some("abuse@lab.test"));
        assert_eq!(
            r.range,
            Some(("203.0.113.0".into(), "203.0.113.255".into()))
        );
        assert_eq!(r.remarks, ["Note: line one line two"]);
        assert_eq!(r.name.as_deref(), Some("LAB-NET"));

        let cidr0 = serde_json::json!({"objectClassName": "ip network", "cidr0_cidrs": [{"v6prefix": "2001:db8::", "length": 32}, {"v4prefix": "1.2.3.4", "length": 99}]});
        assert_eq!(parse_object(&cidr0).unwrap().cidr, ["2001:db8::/32"]);

        let autnum = serde_json::json!({"objectClassName": "autnum", "startAutnum": 64500, "endAutnum": 64500, "name": "LAB-AS"});
        let o = parse_object(&autnum).unwrap();
        assert_eq!(o.autnum_range, Some((64500, 64500)));
        assert_eq!(
            record(&o, QueryKind::Asn).range,
            Some(("AS64500".into(), "AS64500".into()))
        );
    }

    #[test]
    fn control_characters_never_reach_a_field() {
        let evil = "EVIL\u{1b}[31mred\u{1b}]0;pwned\u{7}\u{9b}2J";
        let json = serde_json::json!({
            "objectClassName": "ip network",
            "name": evil,
            "status": [evil],
            "remarks": [{"title": evil, "description": [evil]}],
            "entities": [{"roles": ["abuse"], "vcardArray": ["vcard", [
                ["email", {}, "text", "ab\u{1b}use@evil.test"],
                ["fn", {}, "text", ["A\tB", evil]]
            ]]}]
        });
        let clean = "EVIL[31mred]0;pwned2J";
        let o = parse_object(&json).unwrap();
        assert_eq!(o.name.as_deref(), Some(clean));
        assert_eq!(o.status, [clean]);
        assert_eq!(o.remarks, [format!("{clean}: {clean}")]);
        assert_eq!(o.entities[0].email.as_deref(), Some("abuse@evil.test"));
        assert_eq!(o.entities[0].name, Some(format!("A B {clean}")));
    }

    #[test]
    fn cidr0_blocks_are_distinct_and_bounded() {
        let copies: Vec<Value> = (0..5000)
            .map(|_| serde_json::json!({"v4prefix": "10.0.0.0", "length": 8}))
            .collect();
        let o = parse_object(
            &serde_json::json!({"objectClassName": "ip network", "cidr0_cidrs": copies}),
        )
        .unwrap();
        assert_eq!((o.cidr.len(), o.cidr_dropped), (1, 0));
        let many: Vec<Value> = (0..40)
            .map(|i| serde_json::json!({"v4prefix": format!("10.{i}.0.0"), "length": 16}))
            .collect();
        let o = parse_object(
            &serde_json::json!({"objectClassName": "ip network", "cidr0_cidrs": many}),
        )
        .unwrap();
        assert_eq!(o.cidr.len(), MAX_CIDRS);
        assert_eq!(o.cidr[0], "10.0.0.0/16");
        assert_eq!(o.cidr_dropped, 40 - MAX_CIDRS);
        assert_eq!(record(&o, QueryKind::Ipv4).cidr_dropped, 40 - MAX_CIDRS);
    }

    #[test]
    fn hostile_json_is_an_error_or_skipped() {
        assert!(parse_object(&Value::Null).unwrap_err().contains("null"));
        assert!(parse_object(&serde_json::json!([1, 2]))
            .unwrap_err()
            .contains("an array"));
        assert_eq!(
            parse_object(&serde_json::json!({"errorCode": 404, "title": "Not Found"})).unwrap_err(),
            "an RDAP error object: Not Found"
        );
        let weird = serde_json::json!({
            "objectClassName": 7,
            "entities": [1, "x", {"roles": "registrar", "vcardArray": ["vcard", "no"]}, {"vcardArray": ["vcard", [[], [1], ["fn"], ["fn", {}, "text", 5]]]}],
            "events": "soon",
            "nameservers": [{"ldhName": ["x"]}],
            "links": [{"rel": "related", "href": "http://plain.test/"}],
            "startAutnum": -1,
            "cidr0_cidrs": [{"v4prefix": 1}]
        });
        let o = parse_object(&weird).unwrap();
        assert_eq!(o.related, None, "plain HTTP is not followed");
        let _ = record(&o, QueryKind::Domain);
        let mut deep = serde_json::json!({"roles": ["abuse"]});
        for _ in 0..100 {
            deep = serde_json::json!({"entities": [deep]});
        }
        let o = parse_object(&serde_json::json!({"objectClassName": "domain", "entities": [deep]}))
            .unwrap();
        assert!(o.entities.len() <= 5);
    }
}
