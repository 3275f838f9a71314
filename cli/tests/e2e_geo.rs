//! End to end: the real `sonde` binary in the lab's client namespace reads
//! the lab's MMDB files (made here) and an ipinfo-style API served from the
//! lab's target host; every field is checked against the lab's data, and
//! broken, missing and absent databases fail or skip geo alone. Needs root
//! (network namespaces); skips visibly otherwise.

use std::io::{Read, Write};
use std::net::{IpAddr, TcpListener};
use std::path::PathBuf;
use std::process::Output;
use std::time::{Duration, Instant};

use serde_json::Value;
use sonde_lab::{addr, geo, require_root_or_skip, Lab, Role};

/// The lab's addresses are documentation addresses: look them up.
const LAB_RANGES: &str = "local-ranges = [\"private\", \"loopback\", \"link-local\", \"cgnat\"]";

/// A temporary folder with a profile extending the default one, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str, geo_settings: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("sonde-e2e-geo-{}-{tag}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        std::fs::write(
            dir.join("lab.toml"),
            format!(
                "name = \"lab\"\nextends = \"default\"\n\n[collectors.asn]\n{LAB_RANGES}\n\n[collectors.geo]\n{LAB_RANGES}\n{geo_settings}\n"
            ),
        )
        .expect("profile written");
        Scratch(dir)
    }

    fn profile(&self) -> String {
        self.path("lab.toml")
    }

    fn path(&self, name: &str) -> String {
        self.0
            .join(name)
            .to_str()
            .expect("utf-8 temp path")
            .to_string()
    }

    fn write(&self, name: &str, bytes: &[u8]) -> String {
        std::fs::write(self.0.join(name), bytes).expect("written");
        self.path(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn sonde(lab: &Lab, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = lab.command(Role::Client, env!("CARGO_BIN_EXE_sonde"));
    cmd.args(args)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .env_remove("SONDE_GEO_DB")
        .env_remove("SONDE_ASN_DB")
        .env("XDG_DATA_HOME", "/nonexistent");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("sonde runs in the client namespace")
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

const TARGET: &str = "target.sonde.test";

fn check_place(entry: &Value, ip: IpAddr, with_database_fields: bool) {
    let p = geo::place_of(ip).expect("lab place");
    assert_eq!(entry["ip"], ip.to_string());
    assert_eq!(entry["status"], "found", "{entry}");
    assert_eq!(entry["country"]["code"], p.country_code);
    assert_eq!(entry["region"]["name"], p.region);
    assert_eq!(entry["city"], p.city);
    assert_eq!(entry["postal_code"], p.postal);
    assert_eq!(entry["coordinates"]["latitude"], p.latitude);
    assert_eq!(entry["coordinates"]["longitude"], p.longitude);
    assert_eq!(entry["time_zone"], p.time_zone);
    if with_database_fields {
        assert_eq!(entry["country"]["name"], p.country);
        assert_eq!(entry["region"]["code"], p.region_code);
        assert_eq!(entry["continent"], p.continent_code);
        assert_eq!(
            entry["coordinates"]["accuracy_radius_km"],
            p.accuracy_radius
        );
        assert_eq!(entry["network"], p.prefix);
    }
}

#[test]
fn every_field_from_the_lab_city_database() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    let s = Scratch::new("city", "");
    let db = s.write("city.mmdb", &geo::city_db().expect("db"));
    let env = [("SONDE_GEO_DB", db.as_str())];
    let o = sonde(&lab, &env, &[TARGET, "--json", "--profile", &s.profile()]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let report = json(&o);
    assert_eq!(report["collectors"]["geo"]["outcome"]["status"], "ok");
    let g = &report["sections"]["geo"];
    assert_eq!(g["source"]["kind"], "database");
    assert_eq!(g["source"]["name"], geo::CITY_DB_TYPE);
    assert_eq!(g["source"]["path"], db);
    assert_eq!(g["source"]["build_date"], geo::BUILD_DATE);
    assert_eq!(g["source"]["build_epoch"], geo::BUILD_EPOCH);
    assert_eq!(g["source"]["description"], geo::DESCRIPTION);
    let entries = g["addresses"].as_array().expect("addresses");
    assert_eq!(entries.len(), 2);
    check_place(&entries[0], IpAddr::V4(addr::TARGET_V4), true);
    check_place(&entries[1], IpAddr::V6(addr::TARGET_V6), true);

    let o = sonde(&lab, &env, &[TARGET, "--profile", &s.profile()]);
    let text = String::from_utf8_lossy(&o.stdout);
    let section = text
        .split("\nGEO")
        .nth(1)
        .unwrap_or_else(|| panic!("{text}"));
    for line in [
        format!(
            "source  {}, built {} ({db})",
            geo::CITY_DB_TYPE,
            geo::BUILD_DATE
        ),
        "country      NL Netherlands".to_string(),
        "region       North Holland (NH)".to_string(),
        "city         Amsterdam".to_string(),
        "postal code  1012".to_string(),
        "coordinates  52.3740, 4.8897 (within 20 km)".to_string(),
        "time zone    Europe/Amsterdam".to_string(),
        "country      DE Germany".to_string(),
        "time zone    Europe/Berlin".to_string(),
    ] {
        assert!(section.contains(&line), "{line:?} not in:\n{section}");
    }
}

#[test]
fn broken_and_missing_databases_fail_geo_alone() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    let s = Scratch::new("broken", "");
    let db = geo::city_db().expect("db");
    let truncated = s.write("truncated.mmdb", &db[..db.len() * 2 / 3]);
    let missing = s.path("missing.mmdb");
    for (path, want) in [
        (&truncated, "is not a readable MaxMind database"),
        (&missing, "No such file"),
    ] {
        let o = sonde(
            &lab,
            &[("SONDE_GEO_DB", path.as_str())],
            &[TARGET, "--json", "--profile", &s.profile()],
        );
        assert_eq!(o.status.code(), Some(1), "{path}");
        let report = json(&o);
        for other in ["dns", "asn"] {
            assert_eq!(
                report["collectors"][other]["outcome"]["status"], "ok",
                "{other}"
            );
        }
        assert_eq!(report["collectors"]["geo"]["outcome"]["status"], "failed");
        let errors = report["errors"].as_object().expect("errors");
        assert_eq!(errors.len(), 1, "{errors:?}");
        let error = errors["geo"].as_str().expect("geo error");
        assert!(
            error.starts_with(&format!("geo database {path}"))
                && error.ends_with("(named by $SONDE_GEO_DB)"),
            "{error}"
        );
        assert!(error.contains(want), "{error}");
    }
}

#[test]
fn no_database_skips_geo_with_the_way_to_get_one() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    let s = Scratch::new("none", "");
    let o = sonde(&lab, &[], &[TARGET, "--json", "--profile", &s.profile()]);
    assert_eq!(o.status.code(), Some(0), "a skip is not a failure");
    let outcome = &json(&o)["collectors"]["geo"]["outcome"];
    assert_eq!(outcome["status"], "skipped");
    let reason = outcome["reason"].as_str().unwrap_or_default();
    assert!(
        reason.starts_with("no geolocation database: set `database`")
            && reason.contains("CC BY 4.0")
            && reason.contains("licence key"),
        "{outcome}"
    );

    // The default profile answers the lab's documentation addresses locally.
    let o = sonde(&lab, &[], &[TARGET, "--json"]);
    let g = &json(&o)["sections"]["geo"];
    for a in g["addresses"].as_array().expect("addresses") {
        assert_eq!(a["status"], "local");
        assert_eq!(
            a["detail"],
            "a documentation address (RFC 5737/3849), no public location"
        );
    }
}

#[test]
fn asn_falls_back_to_the_lab_asn_database() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    let s = Scratch::new("asn", "");
    let db = s.write("asn.mmdb", &geo::asn_db().expect("db"));
    // Cymru is asked in a zone the lab does not serve (REFUSED), so the
    // database answers.
    std::fs::write(
        s.0.join("lab.toml"),
        format!(
            "name = \"lab\"\nextends = \"default\"\n\n[collectors.asn]\n{LAB_RANGES}\norigin-zone = \"origin.asn.example\"\norigin6-zone = \"origin6.asn.example\"\nasn-zone = \"asn.example\"\n\n[collectors.geo]\nenabled = false\n"
        ),
    )
    .expect("profile");
    let o = sonde(
        &lab,
        &[("SONDE_ASN_DB", db.as_str())],
        &[TARGET, "--json", "--profile", &s.profile()],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let asn = &json(&o)["sections"]["asn"];
    assert!(asn["database"]
        .as_str()
        .unwrap_or_default()
        .ends_with("asn.mmdb (GeoLite2-ASN, MMDB built 2025-12-01)"));
    for (a, e) in asn["addresses"]
        .as_array()
        .expect("addresses")
        .iter()
        .zip([&geo::ASN_ENTRIES[0], &geo::ASN_ENTRIES[2]])
    {
        assert_eq!(a["status"], "announced", "{a}");
        assert_eq!(a["source"], "database");
        assert_eq!(a["origins"][0]["asn"], e.asn);
        assert_eq!(a["origins"][0]["prefix"], e.prefix);
        assert_eq!(a["origins"][0]["as_name"], e.organization);
        assert!(
            a["detail"].as_str().unwrap_or_default().contains("REFUSED"),
            "{a}"
        );
    }
}

/// Serves `count` requests on `listener` like ipinfo, from the lab's
/// places, giving up after 10 s; hands back the paths asked.
fn serve_ipinfo(listener: TcpListener, count: usize) -> std::thread::JoinHandle<Vec<String>> {
    std::thread::spawn(move || {
        let mut seen = Vec::new();
        let until = Instant::now() + Duration::from_secs(10);
        if listener.set_nonblocking(true).is_err() {
            return seen;
        }
        while seen.len() < count && Instant::now() < until {
            let mut stream = match listener.accept() {
                Ok((stream, _)) => stream,
                Err(_) => {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
            };
            if stream.set_nonblocking(false).is_err()
                || stream
                    .set_read_timeout(Some(Duration::from_secs(5)))
                    .is_err()
            {
                continue;
            }
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && head.len() < 16 * 1024 {
                match stream.read(&mut byte) {
                    Ok(1) => head.push(byte[0]),
                    _ => break,
                }
            }
            let head = String::from_utf8_lossy(&head).to_string();
            let path = head
                .split_whitespace()
                .nth(1)
                .unwrap_or_default()
                .to_string();
            let ip: Option<IpAddr> = path.split('/').nth(1).and_then(|s| s.parse().ok());
            let body = match ip.and_then(|ip| geo::place_of(ip).map(|p| (ip, p))) {
                Some((ip, p)) => format!(
                    r#"{{"ip":"{ip}","city":"{}","region":"{}","country":"{}","loc":"{},{}","postal":"{}","timezone":"{}"}}"#,
                    p.city,
                    p.region,
                    p.country_code,
                    p.latitude,
                    p.longitude,
                    p.postal,
                    p.time_zone
                ),
                None => "{}".to_string(),
            };
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            seen.push(path);
        }
        seen
    })
}

#[test]
fn an_ipinfo_style_api_on_a_lab_host() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    let listener = lab
        .run_in(Role::Target, || TcpListener::bind((addr::TARGET_V4, 18080)))
        .expect("in the target's namespace")
        .expect("bound");
    let server = serve_ipinfo(listener, 2);
    let s = Scratch::new(
        "http",
        &format!(
            "http-url = \"http://{}:18080/{{ip}}/json\"",
            addr::TARGET_V4
        ),
    );
    let o = sonde(&lab, &[], &[TARGET, "--json", "--profile", &s.profile()]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let g = &json(&o)["sections"]["geo"];
    assert_eq!(g["source"]["kind"], "http");
    check_place(&g["addresses"][0], IpAddr::V4(addr::TARGET_V4), false);
    check_place(&g["addresses"][1], IpAddr::V6(addr::TARGET_V6), false);
    let mut seen = server.join().expect("server thread");
    seen.sort();
    let mut want = [
        format!("/{}/json", addr::TARGET_V4),
        format!("/{}/json", addr::TARGET_V6),
    ];
    want.sort();
    assert_eq!(seen, want);
}
