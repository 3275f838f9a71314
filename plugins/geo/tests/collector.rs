//! The collector run in-process as the engine runs it (a context holding a
//! dns section), against the lab's MMDB files, a DB-IP-style file, broken
//! files, and an ipinfo-style API served on 127.0.0.1.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sonde_core::{Context, Failure, RunFlags, Section, SpecialRange, Target, TypedCollector};
use sonde_dns::{Address, DnsOutput, ResolverInfo, ResolverSource, Source};
use sonde_geo::{GeoCollector, GeoConfig, GeoOutput, SourceKind, Status};
use sonde_lab::{addr, geo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

fn context(ips: &[IpAddr]) -> Context {
    let dns = DnsOutput {
        query: "target.sonde.test".into(),
        resolved_name: None,
        searched: vec![],
        is_address: false,
        resolver: ResolverInfo {
            source: ResolverSource::Configured,
            nameservers: vec![],
            query_timeout_ms: 1000,
            attempts: 1,
            hosts_file: None,
            search: vec![],
            ndots: 1,
        },
        local: None,
        addresses: ips
            .iter()
            .map(|ip| Address {
                ip: *ip,
                source: Source::Dns,
            })
            .collect(),
        cname_chain: vec![],
        lookups: BTreeMap::new(),
        ptr: vec![],
        warnings: vec![],
        elapsed_ms: 1,
    };
    let mut inputs = BTreeMap::new();
    inputs.insert("dns".to_string(), Section::typed(dns).expect("section"));
    Context::new(
        Arc::new(Target::parse("target.sonde.test").expect("target")),
        inputs,
        Instant::now() + Duration::from_secs(5),
        CancellationToken::new(),
        Arc::new(RunFlags::default()),
    )
}

/// A temporary folder, removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("sonde-geo-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        Dir(dir)
    }

    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, bytes).expect("written");
        path
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The lab's addresses are documentation addresses: look them up.
fn lab_ranges() -> Vec<SpecialRange> {
    vec![
        SpecialRange::Private,
        SpecialRange::Loopback,
        SpecialRange::LinkLocal,
        SpecialRange::Cgnat,
    ]
}

const LAB_IPS: [IpAddr; 3] = [
    IpAddr::V4(addr::TARGET_V4),
    IpAddr::V6(addr::TARGET_V6),
    IpAddr::V4(addr::CLIENT_V4),
];

async fn run(config: &GeoConfig, ips: &[IpAddr]) -> Result<GeoOutput, Failure> {
    GeoCollector.collect(config, &context(ips)).await
}

#[tokio::test]
async fn every_field_of_the_lab_city_database() {
    let dir = Dir::new("city");
    let path = dir.file("city.mmdb", &geo::city_db().expect("db"));
    let config = GeoConfig {
        database: Some(path.clone()),
        local_ranges: lab_ranges(),
        ..GeoConfig::default()
    };
    let out = run(&config, &LAB_IPS).await.expect("ok");
    let source = out.source.expect("source");
    assert_eq!(source.kind, SourceKind::Database);
    assert_eq!(source.name, geo::CITY_DB_TYPE);
    assert_eq!(source.build_date.as_deref(), Some(geo::BUILD_DATE));
    assert_eq!(source.build_epoch, Some(geo::BUILD_EPOCH));
    assert_eq!(source.description.as_deref(), Some(geo::DESCRIPTION));
    assert_eq!(source.path.as_deref(), path.to_str());
    for (a, ip) in out.addresses.iter().zip(LAB_IPS) {
        let p = geo::place_of(ip).expect("lab place");
        assert_eq!(a.ip, ip);
        assert_eq!(a.status, Status::Found, "{a:?}");
        assert_eq!(a.network.as_deref(), Some(p.prefix));
        assert_eq!(a.continent.as_deref(), Some(p.continent_code));
        let c = a.country.as_ref().expect("country");
        assert_eq!(c.code.as_deref(), Some(p.country_code));
        assert_eq!(c.name.as_deref(), Some(p.country));
        let r = a.region.as_ref().expect("region");
        assert_eq!(r.code.as_deref(), Some(p.region_code));
        assert_eq!(r.name.as_deref(), Some(p.region));
        assert_eq!(a.city.as_deref(), Some(p.city));
        assert_eq!(a.postal_code.as_deref(), Some(p.postal));
        let xy = a.coordinates.as_ref().expect("coordinates");
        assert_eq!(xy.latitude, p.latitude);
        assert_eq!(xy.longitude, p.longitude);
        assert_eq!(xy.accuracy_radius_km, Some(p.accuracy_radius));
        assert_eq!(a.time_zone.as_deref(), Some(p.time_zone));
        assert_eq!(a.detail, None);
    }
}

#[tokio::test]
async fn country_and_asn_layouts_give_what_they_have() {
    let dir = Dir::new("layouts");
    let country = dir.file("country.mmdb", &geo::country_db().expect("db"));
    let config = GeoConfig {
        database: Some(country),
        local_ranges: lab_ranges(),
        ..GeoConfig::default()
    };
    let out = run(&config, &LAB_IPS[..1]).await.expect("ok");
    let a = &out.addresses[0];
    assert_eq!(
        a.country.as_ref().and_then(|c| c.name.as_deref()),
        Some("Netherlands")
    );
    assert_eq!((a.city.as_ref(), a.coordinates.as_ref()), (None, None));
    assert_eq!(out.source.expect("source").name, geo::COUNTRY_DB_TYPE);

    let asn = dir.file("asn.mmdb", &geo::asn_db().expect("db"));
    let config = GeoConfig {
        database: Some(asn),
        ..config
    };
    let out = run(&config, &LAB_IPS[..1]).await.expect("ok");
    assert_eq!(out.addresses[0].asn, Some(geo::ASN_ENTRIES[0].asn));
    assert_eq!(
        out.addresses[0].as_organization.as_deref(),
        Some(geo::ASN_ENTRIES[0].organization)
    );
}

#[tokio::test]
async fn a_db_ip_lite_file_reads_like_geolite2() {
    use mmdb_writer::{Value, Writer};
    // DB-IP's City Lite layout: no postal code, accuracy radius or time zone,
    // subdivisions without ISO codes, names in several languages.
    let names = |en: &str, de: &str| Value::map([("en", Value::from(en)), ("de", Value::from(de))]);
    let mut w = Writer::new("DBIP-City-Lite");
    w.insert_value(
        "203.0.113.0/24".parse::<ipnet::IpNet>().expect("net"),
        Value::map([
            ("city", Value::map([("names", names("Munich", "München"))])),
            (
                "continent",
                Value::map([
                    ("code", Value::from("EU")),
                    ("names", names("Europe", "Europa")),
                ]),
            ),
            (
                "country",
                Value::map([
                    ("iso_code", Value::from("DE")),
                    ("names", names("Germany", "Deutschland")),
                ]),
            ),
            (
                "location",
                Value::map([
                    ("latitude", Value::Double(48.1374)),
                    ("longitude", Value::Double(11.5755)),
                ]),
            ),
            (
                "subdivisions",
                Value::array([Value::map([("names", names("Bavaria", "Bayern"))])]),
            ),
        ]),
    )
    .expect("insert");
    let dir = Dir::new("dbip");
    let path = dir.file("dbip-city-lite.mmdb", &w.to_bytes().expect("bytes"));
    let config = GeoConfig {
        database: Some(path),
        language: "de".into(),
        local_ranges: lab_ranges(),
        ..GeoConfig::default()
    };
    let out = run(&config, &LAB_IPS[..1]).await.expect("ok");
    let a = &out.addresses[0];
    assert_eq!(a.city.as_deref(), Some("München"));
    assert_eq!(
        a.region.as_ref().and_then(|r| r.name.as_deref()),
        Some("Bayern")
    );
    assert_eq!(
        a.country.as_ref().and_then(|c| c.name.as_deref()),
        Some("Deutschland")
    );
    assert_eq!(
        a.coordinates.as_ref().map(|c| c.accuracy_radius_km),
        Some(None)
    );
    assert_eq!(a.postal_code, None);
    assert_eq!(out.source.expect("source").name, "DBIP-City-Lite");
}

#[tokio::test]
async fn broken_and_missing_databases_fail_with_the_file_named() {
    let dir = Dir::new("broken");
    let db = geo::city_db().expect("db");
    let truncated = dir.file("truncated.mmdb", &db[..db.len() / 2]);
    let garbage = dir.file("garbage.mmdb", &[0x5a; 4096]);
    // The metadata intact, the tree and data zeroed: opens, then lookups fail.
    let mut hollow = db.clone();
    let marker = b"\xab\xcd\xefMaxMind.com";
    let meta = hollow
        .windows(marker.len())
        .rposition(|w| w == marker)
        .expect("marker");
    for b in &mut hollow[..meta] {
        *b = 0xff;
    }
    let hollow = dir.file("hollow.mmdb", &hollow);
    let missing = dir.0.join("missing.mmdb");
    for (path, want) in [
        (&truncated, "is not a readable MaxMind database"),
        (&garbage, "is not a readable MaxMind database"),
        (&missing, "No such file"),
    ] {
        let config = GeoConfig {
            database: Some(path.clone()),
            local_ranges: lab_ranges(),
            ..GeoConfig::default()
        };
        match run(&config, &LAB_IPS).await {
            Err(Failure::Failed(e)) => {
                assert!(
                    e.contains(&path.display().to_string()) && e.contains(want),
                    "{e}"
                );
                assert!(e.ends_with("(named by the `database` setting)"), "{e}");
            }
            other => panic!("{}: {other:?}", path.display()),
        }
    }
    let config = GeoConfig {
        database: Some(hollow),
        local_ranges: lab_ranges(),
        ..GeoConfig::default()
    };
    match run(&config, &LAB_IPS).await {
        Err(Failure::Partial { error, section }) => {
            assert!(
                error.starts_with("no location for 203.0.113.10: lookup in"),
                "{error}"
            );
            let out = section.get::<GeoOutput>().expect("geo output");
            assert!(out.addresses.iter().all(|a| a.status == Status::Error));
        }
        other => panic!("hollow: {other:?}"),
    }
}

/// A one-request-at-a-time HTTP/1.1 server on 127.0.0.1 answering like
/// ipinfo from the lab's places; it records each request line and its
/// Authorization header.
async fn ipinfo_server() -> (String, Arc<Mutex<Vec<(String, String)>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 1024];
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 16 * 1024 {
                match stream.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            let head = String::from_utf8_lossy(&buf).to_string();
            let path = head
                .split_whitespace()
                .nth(1)
                .unwrap_or_default()
                .to_string();
            let auth = head
                .lines()
                .find_map(|l| {
                    l.strip_prefix("authorization: ")
                        .or_else(|| l.strip_prefix("Authorization: "))
                })
                .unwrap_or_default()
                .to_string();
            log.lock().expect("log").push((path.clone(), auth));
            let ip: Option<IpAddr> = path.split('/').nth(1).and_then(|s| s.parse().ok());
            let (status, body) = match ip.and_then(|ip| geo::place_of(ip).map(|p| (ip, p))) {
                Some((ip, _)) if ip == IpAddr::V4(addr::CLIENT_V4) => (
                    "429 Too Many Requests",
                    r#"{"error":{"title":"Rate limit exceeded","message":"Upgrade your plan"}}"#
                        .to_string(),
                ),
                Some((ip, p)) => (
                    "200 OK",
                    format!(
                        r#"{{"ip":"{ip}","city":"{}","region":"{}","country":"{}","loc":"{},{}","postal":"{}","timezone":"{}","org":"AS64500 Sonde Lab Transit B.V."}}"#,
                        p.city,
                        p.region,
                        p.country_code,
                        p.latitude,
                        p.longitude,
                        p.postal,
                        p.time_zone
                    ),
                ),
                None => ("404 Not Found", "{}".to_string()),
            };
            let reply = format!(
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(reply.as_bytes()).await;
            let _ = stream.shutdown().await;
        }
    });
    (base, seen)
}

/// Everything that depends on where the database is searched for
/// (`$SONDE_GEO_DB`, the data directory) runs in this one test, in order,
/// since the environment is shared by the test threads.
#[tokio::test]
async fn without_a_named_database() {
    let data = Dir::new("nodata");
    std::env::remove_var("SONDE_GEO_DB");
    std::env::set_var("XDG_DATA_HOME", &data.0);

    // Special addresses need no database and no lookup.
    let ips: Vec<IpAddr> = ["10.0.0.1", "fe80::1", "100.64.1.1", "203.0.113.10"]
        .iter()
        .map(|s| s.parse().expect("ip"))
        .collect();
    let out = run(&GeoConfig::default(), &ips).await.expect("ok");
    assert_eq!(out.source, None);
    for a in &out.addresses {
        assert_eq!(a.status, Status::Local);
        assert!(
            a.detail
                .as_deref()
                .unwrap_or_default()
                .ends_with("no public location"),
            "{a:?}"
        );
    }
    assert_eq!(out.addresses[3].range, Some(SpecialRange::Documentation));

    // Nothing to read: a skip that says how to get a database.
    let lab = GeoConfig {
        local_ranges: lab_ranges(),
        ..GeoConfig::default()
    };
    match run(&lab, &LAB_IPS).await {
        Err(Failure::Skipped(reason)) => {
            for want in ["SONDE_GEO_DB", "CC BY 4.0", "licence key", "http-url"] {
                assert!(reason.contains(want), "{want}: {reason}");
            }
        }
        other => panic!("{other:?}"),
    }

    // An ipinfo-style API instead.
    api_answers_without_a_database().await;

    // $SONDE_GEO_DB names one.
    let env_db = data.file("env.mmdb", &geo::country_db().expect("db"));
    std::env::set_var("SONDE_GEO_DB", &env_db);
    let out = run(&lab, &LAB_IPS[..1])
        .await
        .expect("found through the environment");
    assert_eq!(out.source.expect("source").name, geo::COUNTRY_DB_TYPE);
    std::env::set_var("SONDE_GEO_DB", data.0.join("gone.mmdb"));
    match run(&lab, &LAB_IPS[..1]).await {
        Err(Failure::Failed(e)) => assert!(e.ends_with("(named by $SONDE_GEO_DB)"), "{e}"),
        other => panic!("{other:?}"),
    }
    std::env::remove_var("SONDE_GEO_DB");

    // A database in the data directory is found by its usual name.
    let sonde = data.0.join("sonde");
    std::fs::create_dir_all(&sonde).expect("dir");
    std::fs::write(
        sonde.join("GeoLite2-City.mmdb"),
        geo::city_db().expect("db"),
    )
    .expect("db");
    let out = run(&lab, &LAB_IPS[..1])
        .await
        .expect("found in the data dir");
    assert_eq!(out.addresses[0].city.as_deref(), Some("Amsterdam"));
}

async fn api_answers_without_a_database() {
    let (base, seen) = ipinfo_server().await;
    let config = GeoConfig {
        http_url: Some(format!("{base}/{{ip}}/json")),
        http_token: Some("lab-token".into()),
        local_ranges: vec![SpecialRange::Private],
        ..GeoConfig::default()
    };
    let ips = [
        IpAddr::V4(addr::TARGET_V4),
        IpAddr::V4(addr::CLIENT_V4),
        "10.1.1.1".parse().expect("ip"),
    ];
    let (error, out) = match run(&config, &ips).await {
        Err(Failure::Partial { error, section }) => {
            (error, section.get::<GeoOutput>().expect("output"))
        }
        other => panic!("{other:?}"),
    };
    assert!(
        error.contains("answered HTTP 429: Rate limit exceeded: Upgrade your plan"),
        "{error}"
    );
    let source = out.source.as_ref().expect("source");
    assert_eq!(source.kind, SourceKind::Http);
    let a = &out.addresses[0];
    let p = geo::place_of(ips[0]).expect("place");
    assert_eq!(a.status, Status::Found);
    assert_eq!(a.city.as_deref(), Some(p.city));
    assert_eq!(
        a.region.as_ref().and_then(|r| r.name.as_deref()),
        Some(p.region)
    );
    assert_eq!(
        a.country.as_ref().and_then(|c| c.code.as_deref()),
        Some(p.country_code)
    );
    assert_eq!(a.postal_code.as_deref(), Some(p.postal));
    assert_eq!(a.time_zone.as_deref(), Some(p.time_zone));
    assert_eq!(
        a.coordinates.as_ref().map(|c| (c.latitude, c.longitude)),
        Some((p.latitude, p.longitude))
    );
    assert_eq!(
        (a.asn, a.as_organization.as_deref()),
        (Some(64500), Some("Sonde Lab Transit B.V."))
    );
    assert_eq!(out.addresses[1].status, Status::Error);
    assert_eq!(out.addresses[2].status, Status::Local);
    let seen = seen.lock().expect("log").clone();
    assert_eq!(seen.len(), 2, "the private address is never sent: {seen:?}");
    for (path, auth) in &seen {
        assert!(path.ends_with("/json"), "{path}");
        assert_eq!(auth, "Bearer lab-token");
    }
}

/// Mutated databases (a few bytes changed at random, deterministic seed)
/// must open and look up without a panic: whatever comes back is `Found`,
/// `NotFound` or `Error`, never a crash.
#[test]
fn mutated_databases_never_panic() {
    let original = geo::city_db().expect("db");
    let dir = Dir::new("mutated");
    let path = dir.0.join("mutated.mmdb");
    let mut seed: u64 = 0x05ee_d0f5_04de;
    let mut next = move || {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) as usize
    };
    let (mut opened, mut errors) = (0, 0);
    for _ in 0..500 {
        let mut bytes = original.clone();
        for _ in 0..1 + next() % 4 {
            let at = next() % bytes.len();
            bytes[at] = (next() & 0xff) as u8;
        }
        std::fs::write(&path, &bytes).expect("written");
        let Ok(db) = sonde_geo::Database::open(&path) else {
            continue;
        };
        opened += 1;
        for ip in LAB_IPS {
            if db.lookup(ip, "en").status == Status::Error {
                errors += 1;
            }
        }
    }
    assert!(
        opened > 100,
        "most mutations keep the metadata readable: {opened}"
    );
    assert!(
        errors > 0,
        "some mutations reach the data section and are reported"
    );
}
