//! RDAP (RFC 9082 queries, RFC 9083 answers): the server comes from IANA's bootstrap
//! registries, the answer is JSON over HTTPS, and a domain's `related` link leads to the
//! registrar's own record.

pub mod bootstrap;
pub mod parse;

use std::time::Duration;

use tokio::time::Instant;

use crate::output::{field_text, QueryKind, RdapAnswer, RdapLookup};
use crate::query::Query;
use sonde_http::{Client, Get};

/// What RDAP asks for: `application/rdap+json`, plain JSON accepted.
const ACCEPT: &str = "application/rdap+json, application/json;q=0.9";

/// How an RDAP lookup is bounded.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest body read.
    pub max_bytes: usize,
    /// Time one request gets.
    pub request_timeout: Duration,
    /// Whether a domain's `related` link is followed.
    pub follow_related: bool,
}

/// The path of `query` under a base URL (RFC 9082).
pub fn path(query: &Query) -> String {
    match query {
        Query::Domain(d) => format!("domain/{d}"),
        Query::Ip(ip) => format!("ip/{ip}"),
        Query::Asn(n) => format!("autnum/{n}"),
    }
}

/// Asks the first of `servers` (from the bootstrap registry) about `query`.
pub async fn lookup(
    query: &Query,
    servers: Option<Vec<String>>,
    http: &Client,
    limits: &Limits,
    deadline: Instant,
) -> RdapLookup {
    let started = Instant::now();
    let mut out = RdapLookup {
        server: None,
        registry: None,
        registrar: None,
        registrar_error: None,
        record: None,
        error: None,
        elapsed_ms: 0,
    };
    let Some(base) = servers.and_then(|s| s.into_iter().next()) else {
        out.error = Some(format!(
            "the IANA bootstrap registry names no RDAP server for {query}"
        ));
        return out;
    };
    out.server = Some(base.clone());
    if !base.starts_with("https://") {
        out.error = Some(format!(
            "only a plain-HTTP RDAP server is listed ({base}); sonde asks RDAP over HTTPS only"
        ));
        return out;
    }
    let mut url = base;
    if !url.ends_with('/') {
        url.push('/');
    }
    url.push_str(&path(query));
    match fetch(&url, query.kind(), http, limits, deadline).await {
        Err(why) => out.error = Some(why),
        Ok(answer) => {
            let mut record = parse::record(&answer.object, query.kind());
            let related = answer.object.related.clone();
            out.registry = Some(answer);
            if let (true, Some(link)) = (
                limits.follow_related && query.kind() == QueryKind::Domain,
                related,
            ) {
                match fetch(&link, QueryKind::Domain, http, limits, deadline)
                    .await
                    .and_then(|answer| same_domain(answer, query))
                {
                    Ok(registrar) => {
                        let theirs = parse::record(&registrar.object, QueryKind::Domain);
                        if theirs.registrant.is_some() {
                            record.registrant.clone_from(&theirs.registrant);
                        }
                        record.fill_from(&theirs);
                        out.registrar = Some(registrar);
                    }
                    Err(why) => out.registrar_error = Some(why),
                }
            }
            out.record = Some(record);
        }
    }
    out.elapsed_ms = started.elapsed().as_millis() as u64;
    out
}

/// The registrar's answer, when it is about the domain asked for: its `ldhName` must be
/// the query (case and a final dot aside), or a registry's careless or hostile `related`
/// link could put another domain's registrant into this one's record.
fn same_domain(answer: RdapAnswer, query: &Query) -> Result<RdapAnswer, String> {
    let Query::Domain(domain) = query else {
        return Ok(answer);
    };
    match answer
        .raw
        .get("ldhName")
        .and_then(serde_json::Value::as_str)
    {
        Some(name) if name.trim_end_matches('.').eq_ignore_ascii_case(domain) => Ok(answer),
        Some(name) => Err(format!(
            "{} is about {:?}, not {domain}; not used",
            answer.url,
            field_text(name).chars().take(80).collect::<String>()
        )),
        None => Err(format!(
            "{} names no domain (no ldhName); not used for {domain}",
            answer.url
        )),
    }
}

/// One RDAP request, read and checked.
async fn fetch(
    url: &str,
    kind: QueryKind,
    http: &Client,
    limits: &Limits,
    deadline: Instant,
) -> Result<RdapAnswer, String> {
    let started = Instant::now();
    let sonde_http::Answer { status, body } = http
        .get(&Get {
            url,
            accept: ACCEPT,
            bearer: None,
            max_bytes: limits.max_bytes,
            timeout: limits.request_timeout,
            deadline,
        })
        .await
        .map_err(|e| e.to_string())?;
    let raw: serde_json::Value = serde_json::from_slice(&body).map_err(|e| {
        format!(
            "malformed RDAP JSON from {url}: {e} (body starts {:?})",
            excerpt(&body)
        )
    })?;
    let object = parse::parse_object(&raw).map_err(|e| format!("{url}: {e}"))?;
    let expected = match kind {
        QueryKind::Domain => "domain",
        QueryKind::Ipv4 | QueryKind::Ipv6 => "ip network",
        QueryKind::Asn => "autnum",
    };
    if let Some(class) = &object.object_class {
        if class != expected {
            return Err(format!(
                "{url} answered with a `{class}` object, not `{expected}`"
            ));
        }
    }
    Ok(RdapAnswer {
        url: url.to_string(),
        status,
        elapsed_ms: started.elapsed().as_millis() as u64,
        object,
        raw,
    })
}

/// The first bytes of a body, printable.
fn excerpt(body: &[u8]) -> String {
    String::from_utf8_lossy(&body[..body.len().min(60)])
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(
            path(&Query::Domain("sonde.test".into())),
            "domain/sonde.test"
        );
        assert_eq!(
            path(&Query::Ip("2001:db8::1".parse().unwrap())),
            "ip/2001:db8::1"
        );
        assert_eq!(path(&Query::Asn(64500)), "autnum/64500");
        assert_eq!(excerpt(b"<html>\n<body>"), "<html> <body>");
    }

    fn answer(raw: serde_json::Value) -> RdapAnswer {
        RdapAnswer {
            url: "https://rdap.registrar.test/domain/sonde.test".into(),
            status: 200,
            elapsed_ms: 0,
            object: parse::parse_object(&raw).unwrap(),
            raw,
        }
    }

    #[test]
    fn the_registrars_record_must_be_about_the_same_domain() {
        let query = Query::Domain("sonde.test".into());
        for name in ["sonde.test", "SONDE.Test", "sonde.test."] {
            let a = answer(serde_json::json!({"objectClassName": "domain", "ldhName": name}));
            assert!(same_domain(a, &query).is_ok(), "{name}");
        }
        let other = answer(
            serde_json::json!({"objectClassName": "domain", "ldhName": "evil.test\u{1b}[31m"}),
        );
        assert_eq!(
            same_domain(other, &query).unwrap_err(),
            "https://rdap.registrar.test/domain/sonde.test is about \"evil.test[31m\", not sonde.test; not used"
        );
        let unnamed =
            answer(serde_json::json!({"objectClassName": "domain", "unicodeName": "sonde.test"}));
        assert_eq!(
            same_domain(unnamed, &query).unwrap_err(),
            "https://rdap.registrar.test/domain/sonde.test names no domain (no ldhName); not used for sonde.test"
        );
        let sub =
            answer(serde_json::json!({"objectClassName": "domain", "ldhName": "www.sonde.test"}));
        assert!(same_domain(sub, &query).is_err());
    }
}
