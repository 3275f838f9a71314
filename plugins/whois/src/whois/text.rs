//! Reading WHOIS answers: referrals to the next server and the common fields.
//!
//! There is no WHOIS format: each registry writes `key: value` lines its own way (RIPE's
//! `netname:`, ARIN's `NetName:`, ICANN's `Registry Expiry Date:`). The tables below map the
//! spellings in use onto one [`Record`]; lines that fit none are kept only in the raw text.

use crate::net::{distinct_blocks, parse_range, range_to_cidrs, Cidr};
use crate::output::{field_text, QueryKind, Record, Referral, ReferralKind, MAX_CIDRS};

/// Most remarks kept per record.
const MAX_REMARKS: usize = 5;

/// The `key: value` lines of an answer, keys lower case, values without control characters
/// ([`field_text`]). Comments (`%`, `#`, `>>>`) and lines without a plausible key are
/// skipped.
pub fn pairs(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with(['%', '#', '>']) {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let key = key.trim();
        let value = field_text(value);
        let value = value.trim();
        if key.is_empty()
            || key.len() > 48
            || value.is_empty()
            || !key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || " -_/.".contains(c))
        {
            continue;
        }
        out.push((key.to_ascii_lowercase(), value.to_string()));
    }
    out
}

/// The server this answer hands the query on to, if any: IANA's `refer:` (then `whois:`),
/// ARIN's `ReferralServer:`, a thin registry's `Registrar WHOIS Server:`. RWhois and web
/// referrals are not followed.
pub fn find_referral(text: &str) -> Option<Referral> {
    let pairs = pairs(text);
    let order = [
        ("refer", ReferralKind::Refer),
        ("whois", ReferralKind::Whois),
        ("referralserver", ReferralKind::ReferralServer),
        ("registrar whois server", ReferralKind::RegistrarWhoisServer),
        ("whois server", ReferralKind::RegistrarWhoisServer),
    ];
    for (key, kind) in order {
        for (k, v) in &pairs {
            if k != key {
                continue;
            }
            if let Some(server) = referral_server(v) {
                return Some(Referral { server, kind });
            }
        }
    }
    None
}

/// `whois://host:port/`, `host`, `host:43` → `host` or `host:port`; other schemes are none.
fn referral_server(value: &str) -> Option<String> {
    let v = value.trim().to_ascii_lowercase();
    let v = match v.split_once("://") {
        Some(("whois", rest)) => rest.to_string(),
        Some(_) => return None,
        None => v,
    };
    let v = v.trim_end_matches('/').trim_end_matches('.');
    let (host, port) = super::parse_server(v).ok()?;
    Some(if port == 43 {
        host
    } else if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    })
}

/// The common fields of one answer.
pub fn parse_record(text: &str, kind: QueryKind) -> Record {
    let pairs = pairs(text);
    let first = |keys: &[&str]| -> Option<String> {
        keys.iter()
            .find_map(|key| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()))
    };
    let all = |keys: &[&str]| -> Vec<String> {
        pairs
            .iter()
            .filter(|(k, _)| keys.contains(&k.as_str()))
            .map(|(_, v)| v.clone())
            .collect()
    };
    let name_keys: &[&str] = match kind {
        QueryKind::Domain => &["domain name", "domain"],
        QueryKind::Ipv4 | QueryKind::Ipv6 => &["netname"],
        QueryKind::Asn => &["as-name", "asname"],
    };
    let handle_keys: &[&str] = match kind {
        QueryKind::Domain => &["registry domain id", "domain id", "roid"],
        QueryKind::Ipv4 | QueryKind::Ipv6 => &["nethandle", "handle"],
        QueryKind::Asn => &["aut-num", "ashandle", "asnumber"],
    };
    let mut record = Record {
        handle: first(handle_keys),
        name: first(name_keys).map(|n| {
            if kind == QueryKind::Domain {
                n.to_ascii_lowercase()
            } else {
                n
            }
        }),
        registrar: first(&["registrar", "sponsoring registrar", "registrar name"]),
        registrant: first(&[
            "registrant organization",
            "registrant organisation",
            "registrant",
        ]),
        org: first(&[
            "org-name",
            "orgname",
            "organization",
            "organisation",
            "owner",
        ]),
        country: first(&["country", "registrant country"]).map(|c| c.to_ascii_uppercase()),
        created: first(&[
            "creation date",
            "created",
            "registered on",
            "registration time",
            "regdate",
            "registered",
        ]),
        updated: first(&[
            "updated date",
            "last-modified",
            "last modified",
            "updated",
            "lastupdated",
            "last updated",
            "changed",
        ]),
        expires: first(&[
            "registry expiry date",
            "registrar registration expiration date",
            "expiration date",
            "expiry date",
            "paid-till",
            "expires",
        ]),
        status: dedup(
            all(&["domain status", "status"])
                .into_iter()
                .map(|s| strip_url(&s))
                .collect(),
        ),
        nameservers: dedup(
            all(&["name server", "nserver", "nameserver", "nameservers"])
                .into_iter()
                .filter_map(|v| {
                    v.split_whitespace()
                        .next()
                        .map(|n| n.trim_end_matches('.').to_ascii_lowercase())
                })
                .collect(),
        ),
        abuse_email: first(&[
            "registrar abuse contact email",
            "abuse-mailbox",
            "orgabuseemail",
        ])
        .or_else(|| abuse_comment(text)),
        abuse_phone: first(&["registrar abuse contact phone", "orgabusephone"]),
        range: None,
        cidr: Vec::new(),
        cidr_dropped: 0,
        remarks: all(&["remarks"]).into_iter().take(MAX_REMARKS).collect(),
    };
    if record.org.is_none() && kind != QueryKind::Domain {
        record.org = first(&["descr"]);
    }
    if matches!(kind, QueryKind::Ipv4 | QueryKind::Ipv6) {
        network(
            &mut record,
            &first(&["inetnum", "inet6num", "netrange"]),
            &all(&["cidr"]),
        );
    }
    record
}

/// Fills the range and CIDR blocks from `inetnum`/`NetRange` (a range or a block) and ARIN's
/// `CIDR:` (blocks, comma separated).
fn network(record: &mut Record, range: &Option<String>, cidr_lines: &[String]) {
    let mut blocks: Vec<Cidr> = cidr_lines
        .iter()
        .flat_map(|l| l.split(','))
        .filter_map(Cidr::parse)
        .collect();
    if let Some(text) = range {
        if let Some((a, b)) = parse_range(text) {
            record.range = Some((a.to_string(), b.to_string()));
            if blocks.is_empty() {
                blocks = range_to_cidrs(a, b).unwrap_or_default();
            }
        } else if let Some(block) = Cidr::parse(text) {
            let (a, b) = block.range();
            record.range = Some((a.to_string(), b.to_string()));
            if blocks.is_empty() {
                blocks.push(block);
            }
        }
    }
    if record.range.is_none() {
        if let (Some(first), Some(last)) = (blocks.first(), blocks.last()) {
            record.range = Some((first.range().0.to_string(), last.range().1.to_string()));
        }
    }
    (record.cidr, record.cidr_dropped) = distinct_blocks(blocks, MAX_CIDRS);
}

/// RIPE-style `% Abuse contact for '...' is 'abuse@example.net'`.
fn abuse_comment(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let rest = line.trim().strip_prefix('%')?.trim();
        if !rest.to_ascii_lowercase().starts_with("abuse contact for") {
            return None;
        }
        let (_, tail) = rest.rsplit_once(" is ")?;
        let email = field_text(tail);
        let email = email.trim().trim_matches(['\'', '"']);
        email.contains('@').then(|| email.to_string())
    })
}

/// `clientTransferProhibited https://icann.org/epp#...` → `clientTransferProhibited`.
fn strip_url(status: &str) -> String {
    match status.find(" http") {
        Some(i) => status[..i].trim().to_string(),
        None => status.trim().to_string(),
    }
}

fn dedup(values: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for v in values {
        if !out.iter().any(|o| o.eq_ignore_ascii_case(&v)) {
            out.push(v);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const IANA_COM: &str = "% IANA WHOIS server\n% for more information on IANA, visit http://www.iana.org\n% This query returned 1 object\n\nrefer:        whois.verisign-grs.com\n\ndomain:       COM\n\norganisation: VeriSign Global Registry Services\naddress:      12061 Bluemont Way\n\nwhois:        whois.verisign-grs.com\n\nstatus:       ACTIVE\ncreated:      1985-01-01\nchanged:      2023-12-07\nsource:       IANA\n";

    const VERISIGN: &str = "   Domain Name: EXAMPLE.COM\r\n   Registry Domain ID: 2336799_DOMAIN_COM-VRSN\r\n   Registrar WHOIS Server: whois.iana.org\r\n   Registrar URL: http://res-dom.iana.org\r\n   Updated Date: 2024-08-14T07:01:34Z\r\n   Creation Date: 1995-08-14T04:00:00Z\r\n   Registry Expiry Date: 2025-08-13T04:00:00Z\r\n   Registrar: RESERVED-Internet Assigned Numbers Authority\r\n   Registrar IANA ID: 376\r\n   Registrar Abuse Contact Email:\r\n   Domain Status: clientDeleteProhibited https://icann.org/epp#clientDeleteProhibited\r\n   Domain Status: clientTransferProhibited https://icann.org/epp#clientTransferProhibited\r\n   Name Server: A.IANA-SERVERS.NET\r\n   Name Server: B.IANA-SERVERS.NET\r\n   DNSSEC: signedDelegation\r\n>>> Last update of whois database: 2024-09-01T00:00:00Z <<<\r\n\r\nNOTICE: The expiration date displayed in this record is the date the\r\n";

    const RIPE: &str = "% This is the RIPE Database query service.\n\n% Abuse contact for '193.0.0.0 - 193.0.7.255' is 'abuse@ripe.net'\n\ninetnum:        193.0.0.0 - 193.0.7.255\nnetname:        RIPE-NCC\ndescr:          RIPE Network Coordination Centre\norg:            ORG-RIEN1-RIPE\ncountry:        NL\nstatus:         ASSIGNED PA\nremarks:        used for the NCC's own services\ncreated:        2003-03-17T12:15:57Z\nlast-modified:  2017-12-04T14:42:31Z\nsource:         RIPE\n\norganisation:   ORG-RIEN1-RIPE\norg-name:       Reseaux IP Europeens Network Coordination Centre (RIPE NCC)\n";

    const ARIN: &str = "NetRange:       8.8.8.0 - 8.8.8.255\nCIDR:           8.8.8.0/24\nNetName:        GOGL\nNetHandle:      NET-8-8-8-0-2\nParent:         NET8 (NET-8-0-0-0-0)\nRegDate:        2023-12-28\nUpdated:        2023-12-28\nOrgName:        Google LLC\nCountry:        US\nOrgAbuseEmail:  network-abuse@google.com\nOrgAbusePhone:  +1-650-253-0000\nReferralServer:  rwhois://rwhois.example.net:4321\n";

    #[test]
    fn referrals() {
        let r = find_referral(IANA_COM).unwrap();
        assert_eq!(
            (r.server.as_str(), r.kind),
            ("whois.verisign-grs.com", ReferralKind::Refer)
        );
        let r = find_referral(VERISIGN).unwrap();
        assert_eq!(
            (r.server.as_str(), r.kind),
            ("whois.iana.org", ReferralKind::RegistrarWhoisServer)
        );
        // IANA's answer for a TLD that names its server only on the `whois:` line.
        let r = find_referral("% IANA WHOIS server\n\ndomain:       NIC\n\nwhois:        whois.nic.test\n\nstatus:       ACTIVE\n").unwrap();
        assert_eq!(
            (r.server.as_str(), r.kind),
            ("whois.nic.test", ReferralKind::Whois)
        );
        assert_eq!(find_referral(ARIN), None, "rwhois is not followed");
        assert_eq!(find_referral(RIPE), None);
        for (text, want) in [
            ("ReferralServer: whois://whois.ripe.net", "whois.ripe.net"),
            (
                "ReferralServer: whois://whois.lir.test:4343/",
                "whois.lir.test:4343",
            ),
            (
                "Registrar WHOIS Server: WHOIS.Registrar.Test.",
                "whois.registrar.test",
            ),
            (
                "whois: whois.nic.test\nrefer: whois.registry.test",
                "whois.registry.test",
            ),
            ("refer: 2001:db8::43", "2001:db8::43"),
        ] {
            assert_eq!(
                find_referral(text).map(|r| r.server).as_deref(),
                Some(want),
                "{text}"
            );
        }
        for none in [
            "Registrar WHOIS Server:",
            "Registrar WHOIS Server: https://whois.example/",
            "refer: not a host!",
            "",
        ] {
            assert_eq!(find_referral(none), None, "{none}");
        }
    }

    #[test]
    fn icann_domain_record() {
        let r = parse_record(VERISIGN, QueryKind::Domain);
        assert_eq!(r.name.as_deref(), Some("example.com"));
        assert_eq!(r.handle.as_deref(), Some("2336799_DOMAIN_COM-VRSN"));
        assert_eq!(
            r.registrar.as_deref(),
            Some("RESERVED-Internet Assigned Numbers Authority")
        );
        assert_eq!(r.created.as_deref(), Some("1995-08-14T04:00:00Z"));
        assert_eq!(r.updated.as_deref(), Some("2024-08-14T07:01:34Z"));
        assert_eq!(r.expires.as_deref(), Some("2025-08-13T04:00:00Z"));
        assert_eq!(
            r.status,
            ["clientDeleteProhibited", "clientTransferProhibited"]
        );
        assert_eq!(r.nameservers, ["a.iana-servers.net", "b.iana-servers.net"]);
        assert_eq!(r.abuse_email, None, "an empty value is no value");
    }

    #[test]
    fn rir_network_records() {
        let r = parse_record(RIPE, QueryKind::Ipv4);
        assert_eq!(r.name.as_deref(), Some("RIPE-NCC"));
        assert_eq!(
            r.org.as_deref(),
            Some("Reseaux IP Europeens Network Coordination Centre (RIPE NCC)")
        );
        assert_eq!(r.country.as_deref(), Some("NL"));
        assert_eq!(r.abuse_email.as_deref(), Some("abuse@ripe.net"));
        assert_eq!(r.range, Some(("193.0.0.0".into(), "193.0.7.255".into())));
        assert_eq!(r.cidr, ["193.0.0.0/21"]);
        assert_eq!(r.status, ["ASSIGNED PA"]);
        assert_eq!(r.created.as_deref(), Some("2003-03-17T12:15:57Z"));
        assert_eq!(r.updated.as_deref(), Some("2017-12-04T14:42:31Z"));
        assert_eq!(r.remarks, ["used for the NCC's own services"]);

        let r = parse_record(ARIN, QueryKind::Ipv4);
        assert_eq!(r.name.as_deref(), Some("GOGL"));
        assert_eq!(r.handle.as_deref(), Some("NET-8-8-8-0-2"));
        assert_eq!(r.org.as_deref(), Some("Google LLC"));
        assert_eq!(r.cidr, ["8.8.8.0/24"]);
        assert_eq!(r.abuse_email.as_deref(), Some("network-abuse@google.com"));
        assert_eq!(r.abuse_phone.as_deref(), Some("+1-650-253-0000"));
        assert_eq!(r.created.as_deref(), Some("2023-12-28"));

        let v6 = parse_record(
            "inet6num: 2001:db8::/32\nnetname: DOC-V6\ncountry: zz\n",
            QueryKind::Ipv6,
        );
        assert_eq!(v6.cidr, ["2001:db8::/32"]);
        assert_eq!(
            v6.range,
            Some((
                "2001:db8::".into(),
                "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff".into()
            ))
        );
        assert_eq!(v6.country.as_deref(), Some("ZZ"));
    }

    #[test]
    fn control_characters_never_reach_a_field() {
        let text = "netname: EVIL\x1b[31mred\x1b]0;pwned\x07\r\norg-name:\tA\tB\u{9b}2J\x7f\n\
                    % Abuse contact for 'x' is 'ab\x1buse@evil.test'\n";
        let r = parse_record(text, QueryKind::Ipv4);
        assert_eq!(r.name.as_deref(), Some("EVIL[31mred]0;pwned"));
        assert_eq!(r.org.as_deref(), Some("A B2J"));
        assert_eq!(r.abuse_email.as_deref(), Some("abuse@evil.test"));
    }

    #[test]
    fn cidr_blocks_are_distinct_and_bounded() {
        let mut text = "NetRange: 10.0.0.0 - 10.255.255.255\n".to_string();
        text.push_str(&"CIDR: 10.0.0.0/8\n".repeat(5000));
        let r = parse_record(&text, QueryKind::Ipv4);
        assert_eq!(r.cidr, ["10.0.0.0/8"]);
        assert_eq!(r.cidr_dropped, 0);

        let blocks: Vec<String> = (0..40).map(|i| format!("10.{i}.0.0/16")).collect();
        let text = format!("CIDR: {}\nCIDR: {}\n", blocks.join(", "), blocks[0]);
        let r = parse_record(&text, QueryKind::Ipv4);
        assert_eq!(r.cidr.len(), MAX_CIDRS);
        assert_eq!(r.cidr[..], blocks[..MAX_CIDRS]);
        assert_eq!(r.cidr_dropped, 40 - MAX_CIDRS);
    }

    #[test]
    fn hostile_text_gives_nothing_and_no_panic() {
        let inputs = [
            String::new(),
            ":::::".into(),
            "\u{0}\u{1}key: value\n".into(),
            "inetnum: 1.2.3.4 - \nCIDR: 300.1.1.1/99, ::/999".into(),
            "refer: ".repeat(10_000),
            "a".repeat(100_000),
            "status: http".into(),
            "% Abuse contact for 'x' is ''".into(),
            "domain name: \u{fffd}\u{fffd}".into(),
        ];
        for text in &inputs {
            for kind in [QueryKind::Domain, QueryKind::Ipv4, QueryKind::Asn] {
                let _ = parse_record(text, kind);
            }
            let _ = find_referral(text);
        }
        assert!(parse_record("No match for \"NOPE.TEST\".", QueryKind::Domain).is_empty());
    }
}
