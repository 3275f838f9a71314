//! The batch lookup against a real DNS server on 127.0.0.1 that serves the
//! lab's Cymru records (the same data the lab's DNS server serves), and
//! against the lab's offline tables. No namespace needed.

use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use sonde_asn::rdap::RdapClient;
use sonde_asn::{AsnConfig, AsnLookup, NameSource, Source, Status, Table};
use sonde_core::SpecialRange;
use sonde_dns::Resolver;
use sonde_lab::addr;
use sonde_lab::zone::cymru::{self, AS_NAMES, LAB_CYMRU_ZONE, MALFORMED_ORIGIN_IP};
use tokio::time::Instant;

mod support;

use support::{serve, serve_http, Mode, Server};

fn lab_config() -> AsnConfig {
    let base = LAB_CYMRU_ZONE.trim_end_matches('.');
    AsnConfig {
        origin_zone: format!("origin.{base}"),
        origin6_zone: format!("origin6.{base}"),
        asn_zone: base.to_string(),
        local_ranges: vec![SpecialRange::Private, SpecialRange::Loopback],
        ..AsnConfig::default()
    }
}

fn resolver(server: &Server) -> Resolver {
    Resolver::new(vec![server.addr]).with_query_timeout(Duration::from_millis(500))
}

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(5)
}

#[tokio::test]
async fn every_origin_and_name_of_the_lab_from_cymru_records() {
    let server = serve(Mode::Zone).await;
    let lookup = AsnLookup::from_config(Some(resolver(&server)), &lab_config(), None);
    let ips: Vec<IpAddr> = vec![
        addr::TARGET_V4.into(),
        addr::TARGET_V6.into(),
        addr::CLIENT_V4.into(),
        MALFORMED_ORIGIN_IP.into(),
        addr::DNS_V6.into(),
    ];
    let answers = lookup.lookup_many(&ips, soon()).await;
    assert_eq!(
        answers.addresses.iter().map(|a| a.ip).collect::<Vec<_>>(),
        ips,
        "answers come back in the order asked"
    );

    for ip in [
        addr::TARGET_V4.into(),
        addr::TARGET_V6.into(),
        addr::CLIENT_V4.into(),
        addr::DNS_V6.into(),
    ] {
        let got = answers.address(ip).expect("entry");
        assert_eq!(got.status, Status::Announced, "{ip}: {:?}", got.detail);
        assert_eq!(got.source, Some(Source::Cymru));
        assert_eq!(got.detail, None);
        assert_eq!(
            got.query.as_deref(),
            Some(cymru::origin_name(ip, LAB_CYMRU_ZONE).trim_end_matches('.'))
        );
        let mut want = Vec::new();
        for o in cymru::origins_of(ip) {
            for asn in o.asns {
                want.push((
                    *asn,
                    o.prefix.to_string(),
                    o.country,
                    o.registry,
                    o.allocated,
                ));
            }
        }
        let have: Vec<_> = got
            .origins
            .iter()
            .map(|o| {
                (
                    o.asn,
                    o.prefix.to_string(),
                    o.country.as_deref().unwrap_or_default(),
                    o.registry.as_deref().unwrap_or_default(),
                    o.allocated.as_deref().unwrap_or_default(),
                )
            })
            .collect();
        assert_eq!(have, want, "{ip}");
        for o in &got.origins {
            assert_eq!(
                o.as_name.as_deref(),
                cymru::as_name(o.asn).map(|a| a.name),
                "AS{}",
                o.asn
            );
        }
    }
    // The target's IPv4 address: /28 by AS64501 and AS64502, then the /24.
    let target = answers.address(addr::TARGET_V4.into()).expect("target");
    assert_eq!(
        target.origins.iter().map(|o| o.asn).collect::<Vec<_>>(),
        [64501, 64502, 64500]
    );
    assert_eq!(target.primary_asn(), Some(64501));

    let bad = answers
        .address(MALFORMED_ORIGIN_IP.into())
        .expect("malformed");
    assert_eq!(bad.status, Status::Error);
    assert!(bad.origins.is_empty());
    let detail = bad.detail.as_deref().unwrap_or_default();
    assert!(
        detail.contains(cymru::MALFORMED_ORIGIN_TXT) && detail.contains("not in Cymru's format"),
        "{detail}"
    );

    for a in AS_NAMES {
        if let Some(s) = answers.system(a.asn) {
            assert_eq!(s.name.as_deref(), Some(a.name));
            assert_eq!(s.country.as_deref(), Some(a.country));
            assert_eq!(s.registry.as_deref(), Some(a.registry));
            assert_eq!(s.allocated.as_deref(), Some(a.allocated));
            assert_eq!(s.source, Some(NameSource::Cymru));
        }
    }
    let nameless = answers.system(64502).expect("AS64502 is among the origins");
    assert_eq!(nameless.name, None);
    assert!(
        nameless
            .detail
            .as_deref()
            .unwrap_or_default()
            .contains("has no AS name record"),
        "{nameless:?}"
    );
    // One query per address, one per AS (64500, 64501, 64502, 64510, 64520).
    assert_eq!(server.queries.load(Ordering::SeqCst), ips.len() + 5);
}

#[tokio::test]
async fn special_addresses_are_answered_without_a_query() {
    let server = serve(Mode::Zone).await;
    let lookup = AsnLookup::new(Some(resolver(&server)));
    let ips: Vec<IpAddr> = [
        "10.1.2.3",
        "127.0.0.1",
        "100.64.0.1",
        "fe80::1",
        "203.0.113.10",
    ]
    .iter()
    .map(|s| s.parse().expect("ip"))
    .collect();
    let answers = lookup.lookup_many(&ips, soon()).await;
    for a in &answers.addresses {
        assert_eq!(a.status, Status::Local, "{}", a.ip);
        assert!(a.range.is_some() && a.query.is_none());
    }
    assert_eq!(
        answers
            .address("203.0.113.10".parse().expect("ip"))
            .and_then(|a| a.range),
        Some(SpecialRange::Documentation)
    );
    assert_eq!(server.queries.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_failing_cymru_falls_back_to_the_lab_asn_database() {
    let server = serve(Mode::ServFail).await;
    let dir = std::env::temp_dir().join(format!("sonde-asn-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mmdb = dir.join("asn.mmdb");
    sonde_lab::geo::write_asn_db(&mmdb).expect("writes the lab ASN database");
    let table = Arc::new(Table::open(&mmdb).expect("opens"));
    assert_eq!(table.describe(), "GeoLite2-ASN, MMDB built 2025-12-01");
    let lookup = AsnLookup::from_config(Some(resolver(&server)), &lab_config(), Some(table));
    let answers = lookup
        .lookup_many(&[addr::TARGET_V4.into(), addr::TARGET_V6.into()], soon())
        .await;
    for (a, entry) in answers.addresses.iter().zip([
        &sonde_lab::geo::ASN_ENTRIES[0],
        &sonde_lab::geo::ASN_ENTRIES[2],
    ]) {
        assert_eq!(a.status, Status::Announced, "{a:?}");
        assert_eq!(a.source, Some(Source::Database));
        assert_eq!(a.origins.len(), 1);
        assert_eq!(a.origins[0].asn, entry.asn);
        assert_eq!(a.origins[0].prefix.to_string(), entry.prefix);
        assert_eq!(a.origins[0].as_name.as_deref(), Some(entry.organization));
        let detail = a.detail.as_deref().unwrap_or_default();
        assert!(
            detail.contains("SERVFAIL") && detail.ends_with("answered from the database"),
            "{detail}"
        );
    }

    // A CSV table, and the same failure without any table.
    let csv = dir.join("asn.csv");
    std::fs::write(
        &csv,
        "# lab\n203.0.113.0/24,64500,Lab Transit,NL\n203.0.113.0/28,64501\n",
    )
    .expect("writes CSV");
    let table = Arc::new(Table::open(&csv).expect("opens CSV"));
    let lookup = AsnLookup::from_config(Some(resolver(&server)), &lab_config(), Some(table));
    let answers = lookup.lookup_many(&[addr::TARGET_V4.into()], soon()).await;
    assert_eq!(
        answers.addresses[0].origins[0].asn, 64501,
        "longest prefix wins"
    );
    let alone = AsnLookup::from_config(Some(resolver(&server)), &lab_config(), None);
    let answers = alone.lookup_many(&[addr::TARGET_V4.into()], soon()).await;
    assert_eq!(answers.addresses[0].status, Status::Error);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn broken_tables_are_refused_with_the_file_named() {
    let dir = std::env::temp_dir().join(format!("sonde-asn-broken-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let bytes = sonde_lab::geo::asn_db().expect("database");
    let truncated = dir.join("truncated.mmdb");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).expect("writes");
    let err = Table::open(&truncated).err().expect("refused").to_string();
    assert!(
        err.contains("truncated.mmdb is not a readable MaxMind database"),
        "{err}"
    );
    let missing = dir.join("missing.mmdb");
    let err = Table::open(&missing).err().expect("refused").to_string();
    assert!(
        err.contains("missing.mmdb") && err.contains("No such file"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn rdap_names_what_cymru_does_not() {
    let dns = serve(Mode::Zone).await;
    let registrant = r#"{"objectClassName":"autnum","startAutnum":64502,"endAutnum":64502,"name":"SONDE-ANYCAST","country":"NL","entities":[{"roles":["registrant"],"vcardArray":["vcard",[["fn",{},"text","Sonde Lab Anycast B.V."]]]}],"events":[{"eventAction":"registration","eventDate":"2019-03-01T10:00:00Z"}]}"#;
    let http = serve_http(vec![(
        "/autnum/64502".to_string(),
        200,
        registrant.to_string(),
    )])
    .await;
    let client = RdapClient::new(
        &format!("{}/autnum/{{asn}}", http.base),
        resolver(&dns),
        soon(),
    )
    .expect("client");
    let lookup = AsnLookup::from_config(Some(resolver(&dns)), &lab_config(), None)
        .with_rdap(Some(Arc::new(client)));
    let answers = lookup.lookup_many(&[addr::TARGET_V4.into()], soon()).await;
    let s = answers.system(64502).expect("AS64502");
    assert_eq!(
        s.name.as_deref(),
        Some("SONDE-ANYCAST - Sonde Lab Anycast B.V.")
    );
    assert_eq!(s.source, Some(NameSource::Rdap));
    assert_eq!(s.country.as_deref(), Some("NL"));
    assert_eq!(s.allocated.as_deref(), Some("2019-03-01"));
    assert_eq!(s.detail, None);
    let target = answers.address(addr::TARGET_V4.into()).expect("target");
    assert_eq!(
        target.origins[1].as_name.as_deref(),
        Some("SONDE-ANYCAST - Sonde Lab Anycast B.V.")
    );
    // Only the AS Cymru could not name was asked.
    assert_eq!(http.paths(), ["/autnum/64502"]);

    // A registry that answers 404: the name stays missing, with both reasons.
    let http = serve_http(vec![]).await;
    let client = RdapClient::new(
        &format!("{}/autnum/{{asn}}", http.base),
        resolver(&dns),
        soon(),
    )
    .expect("client");
    let lookup = AsnLookup::from_config(Some(resolver(&dns)), &lab_config(), None)
        .with_rdap(Some(Arc::new(client)));
    let answers = lookup.lookup_many(&[addr::TARGET_V4.into()], soon()).await;
    let s = answers.system(64502).expect("AS64502");
    assert_eq!(s.name, None);
    let detail = s.detail.as_deref().unwrap_or_default();
    assert!(
        detail.contains("has no AS name record") && detail.contains("answered HTTP 404 (not found"),
        "{detail}"
    );
}
