//! RDAP (RFC 9082 queries, RFC 9083 answers): the server comes from IANA's bootstrap
//! registries, the answer is JSON over HTTPS, and a domain's `related` link leads to the
//! registrar's own record.

pub mod bootstrap;
pub mod parse;

use std::time::Duration;

use tokio::time::Instant;

use crate::output::{field_text, QueryKind, RdapAnswer, RdapLookup, Record};
use crate::query::Query;
use sonde_http::{Client, Get, HttpError};

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

/// Asks `servers` (from the bootstrap registry, HTTPS ones only) about `query`, in order: the
/// next one only when a server gave no answer at all (connection, TLS, timeout, size). An
/// answer that is an error (HTTP 404, malformed JSON) is the result: the servers of one entry
/// are mirrors and would say the same.
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
        unreachable: Vec::new(),
        elapsed_ms: 0,
    };
    let servers = servers.unwrap_or_default();
    let Some(first) = servers.first() else {
        out.error = Some(format!(
            "the IANA bootstrap registry names no RDAP server for {query}"
        ));
        return out;
    };
    let https: Vec<&String> = servers
        .iter()
        .filter(|s| s.starts_with("https://"))
        .collect();
    if https.is_empty() {
        out.server = Some(first.clone());
        out.error = Some(format!(
            "only a plain-HTTP RDAP server is listed ({first}); sonde asks RDAP over HTTPS only"
        ));
        return out;
    }
    for base in https {
        out.server = Some(base.clone());
        let mut url = base.clone();
        if !url.ends_with('/') {
            url.push('/');
        }
        url.push_str(&path(query));
        match fetch(&url, query.kind(), http, limits, deadline).await {
            Err(FetchError::Unreachable(why)) => out.unreachable.push(why),
            Err(FetchError::Answer(why)) => {
                out.error = Some(why);
                break;
            }
            Ok(answer) => {
                out.record =
                    Some(registry_record(answer, query, http, limits, deadline, &mut out).await);
                break;
            }
        }
    }
    if out.record.is_none() && out.error.is_none() {
        out.error = Some(out.unreachable.join("; then "));
        out.unreachable.clear();
    }
    out.elapsed_ms = started.elapsed().as_millis() as u64;
    out
}

/// The record of the registry's answer, with the registrar's filling gaps when the answer
/// links one (and it is about the same domain).
async fn registry_record(
    answer: RdapAnswer,
    query: &Query,
    http: &Client,
    limits: &Limits,
    deadline: Instant,
    out: &mut RdapLookup,
) -> Record {
    let mut record = parse::record(&answer.object, query.kind());
    let related = answer.object.related.clone();
    out.registry = Some(answer);
    if let (true, Some(link)) = (
        limits.follow_related && query.kind() == QueryKind::Domain,
        related,
    ) {
        match fetch(&link, QueryKind::Domain, http, limits, deadline)
            .await
            .map_err(FetchError::into_message)
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
    record
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

/// Why one RDAP request gave no object.
enum FetchError {
    /// No answer came (connection, TLS, timeout, size): another server may do better.
    Unreachable(String),
    /// The server answered, but with an error or not with the object.
    Answer(String),
}

impl FetchError {
    fn into_message(self) -> String {
        match self {
            FetchError::Unreachable(why) | FetchError::Answer(why) => why,
        }
    }
}

/// One RDAP request, read and checked.
async fn fetch(
    url: &str,
    kind: QueryKind,
    http: &Client,
    limits: &Limits,
    deadline: Instant,
) -> Result<RdapAnswer, FetchError> {
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
        .map_err(|e| match e {
            HttpError::Transport { .. } => FetchError::Unreachable(e.to_string()),
            HttpError::Status { .. } => FetchError::Answer(e.to_string()),
        })?;
    let raw: serde_json::Value = serde_json::from_slice(&body).map_err(|e| {
        FetchError::Answer(format!(
            "malformed RDAP JSON from {url}: {e} (body starts {:?})",
            excerpt(&body)
        ))
    })?;
    let object =
        parse::parse_object(&raw).map_err(|e| FetchError::Answer(format!("{url}: {e}")))?;
    let expected = match kind {
        QueryKind::Domain => "domain",
        QueryKind::Ipv4 | QueryKind::Ipv6 => "ip network",
        QueryKind::Asn => "autnum",
    };
    if let Some(class) = &object.object_class {
        if class != expected {
            return Err(FetchError::Answer(format!(
                "{url} answered with a `{class}` object, not `{expected}`"
            )));
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

    /// A loopback URL nobody listens on: the connection is refused at once.
    fn dead_server() -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        format!("https://127.0.0.1:{port}/")
    }

    #[tokio::test]
    async fn every_listed_server_is_tried_while_none_answers() {
        let deadline = Instant::now() + Duration::from_secs(5);
        let http = Client::new(sonde_http::ClientOptions {
            ca_file: None,
            resolver: sonde_dns::Resolver::new(vec!["127.0.0.1:9".parse().unwrap()]),
            deadline,
            https_only: true,
            max_redirects: 0,
        })
        .unwrap();
        let limits = Limits {
            max_bytes: 1 << 16,
            request_timeout: Duration::from_secs(2),
            follow_related: true,
        };
        let (a, b) = (dead_server(), dead_server());
        let servers = vec![a.clone(), "http://plain.test/".into(), b.clone()];
        let query = Query::Asn(64500);
        let out = lookup(&query, Some(servers), &http, &limits, deadline).await;
        let error = out.error.unwrap();
        assert!(
            error.starts_with(&format!("{a}autnum/64500: "))
                && error.contains(&format!("; then {b}autnum/64500: ")),
            "{error}"
        );
        assert_eq!(out.server, Some(b), "the last one asked");
        assert!(out.unreachable.is_empty(), "all in the error");
        assert!(out.record.is_none());

        let out = lookup(
            &query,
            Some(vec!["http://plain.test/".into()]),
            &http,
            &limits,
            deadline,
        )
        .await;
        assert_eq!(
            out.error.as_deref(),
            Some("only a plain-HTTP RDAP server is listed (http://plain.test/); sonde asks RDAP over HTTPS only")
        );
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
