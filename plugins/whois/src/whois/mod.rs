//! Port-43 WHOIS (RFC 3912): the query starts at IANA's server and follows referrals
//! (`refer:`, `whois:`, `ReferralServer:`, `Registrar WHOIS Server:`) to the registry and
//! the registrar, or to the RIR holding an address.
//!
//! Every hop is bounded: its time ([`Limits::hop_timeout`]), the bytes read
//! ([`Limits::max_bytes`]), the number of referrals. A server named twice is a loop, and so
//! is a server reached again at the same address and port under another name (or by its
//! address): the connection is dropped before the query is sent. Answers are decoded as UTF-8 with invalid bytes replaced (registries still send Latin-1).

mod conn;
pub mod text;

use std::time::Duration;

use tokio::time::Instant;

use crate::output::{QueryKind, Record, ReferralKind, WhoisHop, WhoisLookup};
use crate::query::Query;
use sonde_dns::Resolver;

/// How far a WHOIS lookup may go.
#[derive(Debug, Clone)]
pub struct Limits {
    /// The first server, `host` or `host:port`.
    pub start: String,
    /// Most referrals after the first server.
    pub max_referrals: usize,
    /// Time one server gets.
    pub hop_timeout: Duration,
    /// Largest answer read from one server.
    pub max_bytes: usize,
}

/// Reads `host`, `host:port`, `v6-address` or `[v6-address]:port`; the port defaults to 43.
pub fn parse_server(text: &str) -> Result<(String, u16), String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("is empty".into());
    }
    if let Ok(ip) = text.parse::<std::net::IpAddr>() {
        return Ok((ip.to_string(), 43));
    }
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (ip, port) = rest
            .split_once(']')
            .ok_or("has an unclosed [ (write [2001:db8::43]:43)")?;
        let ip: std::net::Ipv6Addr = ip.parse().map_err(|_| "is not an IPv6 address in [ ]")?;
        let port = match port.strip_prefix(':') {
            Some(p) => p.parse::<u16>().map_err(|_| "has a bad port")?,
            None if port.is_empty() => 43,
            None => return Err("has text after ]".into()),
        };
        (ip.to_string(), port)
    } else if let Some((host, port)) = text.rsplit_once(':') {
        (
            host.to_string(),
            port.parse::<u16>().map_err(|_| "has a bad port")?,
        )
    } else {
        (text.to_string(), 43)
    };
    if port == 0 {
        return Err("has port 0".into());
    }
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let ok = host.parse::<std::net::IpAddr>().is_ok()
        || (!host.is_empty()
            && host.len() <= 253
            && host.split('.').all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && l.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            }));
    if !ok {
        return Err("is not a host name or address".into());
    }
    Ok((host, port))
}

/// The line sent to `host` for `query`: most servers take the bare query, a few want their
/// own flags (the same ones the `whois` tool sends).
pub fn query_line(host: &str, query: &Query) -> String {
    let q = query.to_string();
    match (host, query) {
        ("whois.arin.net", Query::Ip(_)) => format!("n + {q}"),
        ("whois.arin.net", Query::Asn(n)) => format!("a + {n}"),
        ("whois.verisign-grs.com", Query::Domain(_)) => format!("domain {q}"),
        ("whois.denic.de", Query::Domain(_)) => format!("-T dn,ace {q}"),
        ("whois.jprs.jp", _) => format!("{q}/e"),
        _ => q,
    }
}

/// Asks the chain of servers about `query`, starting at `limits.start`, never past
/// `deadline`.
pub async fn lookup(
    query: &Query,
    limits: &Limits,
    resolver: &Resolver,
    deadline: Instant,
) -> WhoisLookup {
    let started = Instant::now();
    let mut out = WhoisLookup {
        hops: Vec::new(),
        record: None,
        error: None,
        elapsed_ms: 0,
    };
    let mut server = limits.start.clone();
    let mut visited: Vec<(String, u16)> = Vec::new();
    // The servers connected to, by address and port, with the name each was asked by.
    let mut asked: Vec<(std::net::SocketAddr, String)> = Vec::new();
    loop {
        let (host, port) = match parse_server(&server) {
            Ok(hp) => hp,
            Err(why) => {
                out.error = Some(format!("referral to `{server}`, which {why}"));
                break;
            }
        };
        if visited.contains(&(host.clone(), port)) {
            let mut chain: Vec<&str> = out.hops.iter().map(|h| h.server.as_str()).collect();
            chain.push(&server);
            out.error = Some(format!("referral loop: {}", chain.join(" -> ")));
            break;
        }
        if out.hops.len() > limits.max_referrals {
            let chain: Vec<&str> = out.hops.iter().map(|h| h.server.as_str()).collect();
            out.error = Some(format!(
                "more than {} referrals ({} -> {server}); not following further",
                limits.max_referrals,
                chain.join(" -> ")
            ));
            break;
        }
        if Instant::now() >= deadline {
            out.error = Some(format!("no time left to ask {server}"));
            break;
        }
        visited.push((host.clone(), port));
        let line = query_line(&host, query);
        let own = Instant::now() + limits.hop_timeout;
        let (hop_deadline, limit_words) = if own <= deadline {
            (
                own,
                format!(
                    "within {}",
                    sonde_core::duration::format(limits.hop_timeout)
                ),
            )
        } else {
            (deadline, "before the collector's deadline".to_string())
        };
        let hop_started = Instant::now();
        let connection =
            match conn::connect(&host, port, resolver, hop_deadline, &limit_words).await {
                Ok(connection) => connection,
                Err(why) => {
                    out.error = Some(format!("{server}: {why}"));
                    out.hops.push(WhoisHop {
                        server: server.clone(),
                        address: None,
                        query: line,
                        bytes: 0,
                        elapsed_ms: hop_started.elapsed().as_millis() as u64,
                        referral: None,
                        raw: None,
                        error: Some(why),
                    });
                    break;
                }
            };
        let address = connection.address();
        if let Some((_, earlier)) = asked.iter().find(|(a, _)| *a == address) {
            let mut chain: Vec<&str> = out.hops.iter().map(|h| h.server.as_str()).collect();
            chain.push(&server);
            out.error = Some(format!(
                "referral loop: {} ({server} is {address}, already asked as {earlier})",
                chain.join(" -> ")
            ));
            break;
        }
        asked.push((address, server.clone()));
        let answer = connection
            .ask(&line, limits.max_bytes, hop_deadline, &limit_words)
            .await;
        let mut hop = WhoisHop {
            server: server.clone(),
            address: Some(answer.address.to_string()),
            query: line,
            bytes: answer.bytes,
            elapsed_ms: answer.elapsed.as_millis() as u64,
            referral: None,
            raw: None,
            error: None,
        };
        match answer.text {
            Err(why) => {
                out.error = Some(format!("{server}: {why}"));
                hop.error = Some(why);
                out.hops.push(hop);
                break;
            }
            Ok(body) => {
                let referral = text::find_referral(&body).filter(|r| {
                    parse_server(&r.server).map(|hp| hp != (host.clone(), port)) == Ok(true)
                });
                hop.raw = Some(body);
                hop.referral = referral.clone();
                out.hops.push(hop);
                match referral {
                    Some(r) => server = r.server,
                    None => break,
                }
            }
        }
    }
    let record = merge(&out.hops, query.kind());
    if record.is_empty() {
        if out.error.is_none() {
            let last = out.hops.last();
            let said = last
                .and_then(|h| h.raw.as_deref())
                .and_then(first_words)
                .map(|w| format!(": \"{w}\""))
                .unwrap_or_default();
            out.error = Some(format!(
                "no record for {query} at {}{said}",
                last.map(|h| h.server.as_str())
                    .unwrap_or("the first server")
            ));
        }
    } else {
        out.record = Some(record);
    }
    out.elapsed_ms = started.elapsed().as_millis() as u64;
    out
}

/// One record from the hops: the most specific server first, earlier ones filling gaps.
/// IANA-style hops (those that handed on with `refer:`/`whois:`) describe the TLD or the
/// /8, not the query, so they never count: a chain that broke after them has no record.
fn merge(hops: &[WhoisHop], kind: QueryKind) -> Record {
    let mut record = Record::default();
    for hop in hops.iter().rev() {
        let pointer = matches!(
            hop.referral.as_ref().map(|r| r.kind),
            Some(ReferralKind::Refer | ReferralKind::Whois)
        );
        if pointer {
            continue;
        }
        if let Some(raw) = &hop.raw {
            record.fill_from(&text::parse_record(raw, kind));
        }
    }
    record
}

/// The first line of an answer that is not a comment, shortened and without control
/// characters: what a "no match" said.
fn first_words(text: &str) -> Option<String> {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with(['%', '#']))
        .or_else(|| text.lines().map(str::trim).find(|l| !l.is_empty()))?;
    Some(crate::output::field_text(line).chars().take(120).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_forms() {
        for (text, want) in [
            ("whois.iana.org", ("whois.iana.org", 43)),
            ("WHOIS.IANA.ORG.", ("whois.iana.org", 43)),
            ("whois.lab.test:4343", ("whois.lab.test", 4343)),
            ("192.0.2.43", ("192.0.2.43", 43)),
            ("2001:db8::43", ("2001:db8::43", 43)),
            ("[2001:db8::43]:4343", ("2001:db8::43", 4343)),
            ("[2001:db8::43]", ("2001:db8::43", 43)),
            ("192.0.2.43:4343", ("192.0.2.43", 4343)),
        ] {
            assert_eq!(
                parse_server(text),
                Ok((want.0.to_string(), want.1)),
                "{text}"
            );
        }
        for bad in [
            "",
            "who is",
            "host:0",
            "host:99999",
            "[::1",
            "[zz]:43",
            "a..b",
            "[::1]x",
        ] {
            assert!(parse_server(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn server_specific_query_lines() {
        let ip = Query::Ip("8.8.8.8".parse().unwrap());
        let dom = Query::Domain("example.com".into());
        assert_eq!(query_line("whois.arin.net", &ip), "n + 8.8.8.8");
        assert_eq!(
            query_line("whois.arin.net", &Query::Asn(15169)),
            "a + 15169"
        );
        assert_eq!(
            query_line("whois.verisign-grs.com", &dom),
            "domain example.com"
        );
        assert_eq!(
            query_line("whois.denic.de", &Query::Domain("denic.de".into())),
            "-T dn,ace denic.de"
        );
        assert_eq!(query_line("whois.iana.org", &dom), "example.com");
        assert_eq!(query_line("whois.ripe.net", &Query::Asn(3333)), "AS3333");
    }

    /// A loopback WHOIS server that refers every query to itself by another spelling of its
    /// address; it counts the queries it received.
    async fn self_referring_server() -> (
        std::net::SocketAddr,
        std::sync::Arc<std::sync::atomic::AtomicUsize>,
    ) {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let queries = std::sync::Arc::new(AtomicUsize::new(0));
        let counted = std::sync::Arc::clone(&queries);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let counted = std::sync::Arc::clone(&counted);
                tokio::spawn(async move {
                    let mut stream = BufReader::new(stream);
                    let mut line = String::new();
                    if stream.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    counted.fetch_add(1, Ordering::SeqCst);
                    let answer = format!("refer: [::ffff:127.0.0.1]:{}\n", addr.port());
                    let _ = stream.get_mut().write_all(answer.as_bytes()).await;
                });
            }
        });
        (addr, queries)
    }

    #[tokio::test]
    async fn the_same_server_under_another_name_is_a_loop() {
        let (addr, queries) = self_referring_server().await;
        let limits = Limits {
            start: addr.to_string(),
            max_referrals: 5,
            hop_timeout: Duration::from_secs(2),
            max_bytes: 1 << 16,
        };
        let resolver = Resolver::new(vec!["127.0.0.1:9".parse().unwrap()]);
        let deadline = Instant::now() + Duration::from_secs(5);
        let out = lookup(
            &Query::Domain("sonde.test".into()),
            &limits,
            &resolver,
            deadline,
        )
        .await;
        let mapped = format!("[::ffff:127.0.0.1]:{}", addr.port());
        assert_eq!(
            out.error,
            Some(format!(
                "referral loop: {addr} -> {mapped} ({mapped} is {addr}, already asked as {addr})"
            ))
        );
        assert_eq!(out.hops.len(), 1, "{:?}", out.hops);
        assert_eq!(
            queries.load(std::sync::atomic::Ordering::SeqCst),
            1,
            "the query is not sent again"
        );
    }

    #[test]
    fn what_a_no_match_said_is_printable() {
        assert_eq!(
            first_words("% comment\n\nNo match for \x1b]0;pwned\x07\"X.TEST\".\r\n").as_deref(),
            Some("No match for ]0;pwned\"X.TEST\".")
        );
    }

    fn hop(server: &str, raw: &str) -> WhoisHop {
        WhoisHop {
            server: server.into(),
            address: None,
            query: String::new(),
            bytes: raw.len(),
            elapsed_ms: 0,
            referral: text::find_referral(raw),
            raw: Some(raw.into()),
            error: None,
        }
    }

    #[test]
    fn merge_skips_iana_pointers_and_lets_the_registrar_win() {
        let hops = [
            hop("whois.iana.org", "refer: whois.registry.test\ndomain: TEST\ncreated: 1985-01-01\n"),
            hop(
                "whois.registry.test",
                "Domain Name: SONDE.TEST\nRegistrar WHOIS Server: whois.registrar.test\nCreation Date: 2001-02-03\nRegistrar: Lab Registrar\n",
            ),
            hop(
                "whois.registrar.test",
                "Domain Name: sonde.test\nRegistrar: Lab Registrar, Inc.\nRegistrant Organization: Sonde Lab\n",
            ),
        ];
        let r = merge(&hops, QueryKind::Domain);
        assert_eq!(r.created.as_deref(), Some("2001-02-03"));
        assert_eq!(r.registrar.as_deref(), Some("Lab Registrar, Inc."));
        assert_eq!(r.registrant.as_deref(), Some("Sonde Lab"));
        let only_iana = [hop("whois.iana.org", "refer: whois.x.test\ndomain: TEST\n")];
        assert!(merge(&only_iana, QueryKind::Domain).is_empty());
        // A `whois:`-only referral is a pointer too: IANA's dates are the TLD's, not the
        // domain's.
        let whois_only = [
            hop(
                "whois.iana.org",
                "domain: TEST\nwhois: whois.registry.test\ncreated: 1985-01-01\n",
            ),
            hop(
                "whois.registry.test",
                "Domain Name: SONDE.TEST\nRegistrar: Lab Registrar\n",
            ),
        ];
        assert_eq!(
            whois_only[0].referral.as_ref().map(|r| r.kind),
            Some(ReferralKind::Whois)
        );
        let r = merge(&whois_only, QueryKind::Domain);
        assert_eq!(r.registrar.as_deref(), Some("Lab Registrar"));
        assert_eq!(r.created, None, "{r:?}");
    }
}
