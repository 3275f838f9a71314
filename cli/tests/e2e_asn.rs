//! End to end: the real `sonde` binary in the lab's client namespace looks
//! up the origin AS of the target's addresses in the Cymru-format records
//! the lab's DNS server serves, and every field is checked against the
//! lab's data. Needs root (network namespaces); skips visibly otherwise.

use std::io::{Read, Write};
use std::net::{IpAddr, TcpListener};
use std::path::PathBuf;
use std::process::Output;
use std::time::{Duration, Instant};

use serde_json::Value;
use sonde_lab::zone::cymru::{self, LAB_CYMRU_ZONE, MALFORMED_ORIGIN_IP, MALFORMED_ORIGIN_TXT};
use sonde_lab::zone::{self};
use sonde_lab::{addr, require_root_or_skip, Lab, Role};

fn sonde(lab: &Lab, args: &[&str]) -> Output {
    lab.command(Role::Client, env!("CARGO_BIN_EXE_sonde"))
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .env_remove("SONDE_ASN_DB")
        .env("XDG_DATA_HOME", "/nonexistent")
        .output()
        .expect("sonde runs in the client namespace")
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

fn bare(name: &str) -> &str {
    name.trim_end_matches('.')
}

/// A profile file extending the default one with `settings` for asn (whois,
/// whose lab registries do not hold every lab address, is left out: these
/// tests are about asn alone).
struct Profile(PathBuf);

impl Profile {
    fn new(tag: &str, settings: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("sonde-e2e-asn-{}-{tag}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("lab.toml");
        std::fs::write(
            &path,
            format!(
                "name = \"lab\"\nextends = \"default\"\n\n[collectors.whois]\nenabled = false\n\n[collectors.asn]\n{settings}\n"
            ),
        )
        .expect("profile written");
        Profile(path)
    }

    fn arg(&self) -> &str {
        self.0.to_str().expect("utf-8 temp path")
    }
}

impl Drop for Profile {
    fn drop(&mut self) {
        if let Some(dir) = self.0.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// The lab's addresses are documentation addresses: look them up.
const LOOK_UP_DOCUMENTATION: &str =
    "local-ranges = [\"private\", \"loopback\", \"link-local\", \"cgnat\"]";

fn check_origins(asn: &Value, ip: IpAddr, zone_base: &str) {
    let entry = asn["addresses"]
        .as_array()
        .expect("addresses")
        .iter()
        .find(|a| a["ip"] == ip.to_string())
        .unwrap_or_else(|| panic!("{ip} missing: {asn}"));
    assert_eq!(entry["status"], "announced", "{entry}");
    assert_eq!(entry["source"], "cymru");
    assert_eq!(
        entry["query"],
        bare(&cymru::origin_name(ip, zone_base)),
        "{entry}"
    );
    let mut want = Vec::new();
    for o in cymru::origins_of(ip) {
        for asn in o.asns {
            want.push(serde_json::json!({
                "asn": asn,
                "prefix": o.prefix,
                "country": o.country,
                "registry": o.registry,
                "allocated": o.allocated,
            }));
            if let Some(name) = cymru::as_name(*asn) {
                want.last_mut().expect("just pushed")["as_name"] = name.name.into();
            }
        }
    }
    assert_eq!(entry["origins"], Value::Array(want), "{ip}");
}

#[test]
fn origins_and_as_names_of_the_target_from_the_cymru_zone() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    let profile = Profile::new("target", LOOK_UP_DOCUMENTATION);
    let o = sonde(
        &lab,
        &[
            bare(zone::TARGET_NAME),
            "--json",
            "--profile",
            profile.arg(),
        ],
    );
    let report = json(&o);
    assert_eq!(
        report["collectors"]["asn"]["outcome"]["status"], "ok",
        "{report}"
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let asn = &report["sections"]["asn"];
    assert_eq!(asn["zones"]["origin"], "origin.asn.cymru.com");
    assert_eq!(asn["zones"]["origin6"], "origin6.asn.cymru.com");
    assert_eq!(asn["zones"]["asn"], "asn.cymru.com");
    for ip in [IpAddr::V4(addr::TARGET_V4), IpAddr::V6(addr::TARGET_V6)] {
        check_origins(asn, ip, cymru::CYMRU_ZONE);
    }
    let systems = asn["systems"].as_array().expect("systems");
    let numbers: Vec<u64> = systems.iter().filter_map(|s| s["asn"].as_u64()).collect();
    assert_eq!(numbers, [64500, 64501, 64502, 64520]);
    for s in systems {
        let n = s["asn"].as_u64().expect("asn") as u32;
        match cymru::as_name(n) {
            Some(a) => {
                assert_eq!(s["name"], a.name);
                assert_eq!(s["country"], a.country);
                assert_eq!(s["registry"], a.registry);
                assert_eq!(s["allocated"], a.allocated);
                assert_eq!(s["source"], "cymru");
            }
            None => {
                assert_eq!(s.get("name"), None, "{s}");
                assert_eq!(
                    s["detail"],
                    format!("AS{n}.asn.cymru.com has no AS name record")
                );
            }
        }
    }

    // The same run as text.
    let o = sonde(&lab, &[bare(zone::TARGET_NAME), "--profile", profile.arg()]);
    assert_eq!(o.status.code(), Some(0));
    let text = String::from_utf8_lossy(&o.stdout);
    let row = |needle: &str| {
        text.lines()
            .find(|l| l.contains(needle) && l.contains(" AS"))
            .unwrap_or_else(|| panic!("no line with {needle}:\n{text}"))
            .to_string()
    };
    let first = row(&addr::TARGET_V4.to_string());
    for cell in [
        "AS64501",
        "203.0.113.0/28",
        "NL",
        "ripencc",
        "2019-03-01",
        "SONDE-HOSTING",
    ] {
        assert!(first.contains(cell), "{cell} not in {first:?}");
    }
    assert!(row("AS64520").contains("SONDE-V6 - Sonde Lab IPv6 GmbH, DE"));
    assert!(text.contains("AS64502 has no name"), "{text}");
}

#[test]
fn zone_names_are_settings() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    let base = bare(LAB_CYMRU_ZONE);
    let profile = Profile::new(
        "zones",
        &format!(
            "{LOOK_UP_DOCUMENTATION}\norigin-zone = \"origin.{base}\"\norigin6-zone = \"origin6.{base}\"\nasn-zone = \"{base}\"\n"
        ),
    );
    let o = sonde(
        &lab,
        &[
            bare(zone::TARGET_NAME),
            "--json",
            "--profile",
            profile.arg(),
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let asn = &json(&o)["sections"]["asn"];
    assert_eq!(asn["zones"]["asn"], base);
    for ip in [IpAddr::V4(addr::TARGET_V4), IpAddr::V6(addr::TARGET_V6)] {
        check_origins(asn, ip, LAB_CYMRU_ZONE);
    }
}

#[test]
fn a_malformed_txt_is_an_error_in_the_asn_section_only() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    let profile = Profile::new("malformed", LOOK_UP_DOCUMENTATION);
    let dns_host = bare(sonde_lab::Role::Dns.hostname()).to_string();
    let o = sonde(&lab, &[&dns_host, "--json", "--profile", profile.arg()]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "a failed collector, not a failed run"
    );
    let report = json(&o);
    assert_eq!(report["collectors"]["dns"]["outcome"]["status"], "ok");
    assert_eq!(report["collectors"]["asn"]["outcome"]["status"], "failed");
    let error = report["errors"]["asn"].as_str().expect("asn error");
    assert!(
        error.starts_with(&format!("no AS for {MALFORMED_ORIGIN_IP}: "))
            && error.contains(MALFORMED_ORIGIN_TXT)
            && error.contains("not in Cymru's format"),
        "{error}"
    );
    assert_eq!(
        report["errors"].as_object().map(|e| e.len()),
        Some(1),
        "{report}"
    );
    let asn = &report["sections"]["asn"];
    let bad = &asn["addresses"][0];
    assert_eq!(bad["ip"], MALFORMED_ORIGIN_IP.to_string());
    assert_eq!(bad["status"], "error");
    // The host's IPv6 address is unaffected.
    check_origins(asn, IpAddr::V6(addr::DNS_V6), cymru::CYMRU_ZONE);

    let o = sonde(&lab, &[&dns_host, "--profile", profile.arg()]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains(MALFORMED_ORIGIN_TXT), "{text}");
}

#[test]
fn a_db_ip_table_is_credited_where_its_data_is_shown() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    let dir = std::env::temp_dir().join(format!("sonde-e2e-asn-{}-dbip", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let db = dir.join("dbip-asn-lite-2025-12.mmdb");
    std::fs::write(&db, sonde_lab::geo::asn_db().expect("lab ASN database")).expect("db");
    let profile = Profile::new(
        "dbip",
        &format!(
            "sources = [\"database\"]\ndatabase = \"{}\"\n{LOOK_UP_DOCUMENTATION}",
            db.display()
        ),
    );
    let target = bare(zone::TARGET_NAME);
    let o = sonde(&lab, &[target, "--json", "--profile", profile.arg()]);
    let report = json(&o);
    let asn = &report["sections"]["asn"];
    assert_eq!(
        report["collectors"]["asn"]["outcome"]["status"], "ok",
        "{asn}"
    );
    assert_eq!(asn["addresses"][0]["source"], "database", "{asn}");
    assert_eq!(asn["attribution"], sonde_asn::DB_IP_ATTRIBUTION, "{asn}");
    let o = sonde(&lab, &[target, "--profile", profile.arg()]);
    let text = String::from_utf8_lossy(&o.stdout);
    let block = text.split("\nASN ").nth(1).unwrap_or_default();
    assert!(
        block.contains("\n  IP to ASN data by DB-IP (https://db-ip.com), CC BY 4.0\n"),
        "{text}"
    );

    // The same table under another name is not DB-IP's: no credit.
    let other = dir.join("lab-asn.mmdb");
    std::fs::rename(&db, &other).expect("rename");
    let profile = Profile::new(
        "not-dbip",
        &format!(
            "sources = [\"database\"]\ndatabase = \"{}\"\n{LOOK_UP_DOCUMENTATION}",
            other.display()
        ),
    );
    let o = sonde(&lab, &[target, "--json", "--profile", profile.arg()]);
    let report = json(&o);
    assert!(report["sections"]["asn"].get("attribution").is_none());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_default_profile_answers_documentation_addresses_locally() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    let o = sonde(&lab, &[bare(zone::TARGET_NAME), "--json"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let asn = &json(&o)["sections"]["asn"];
    for a in asn["addresses"].as_array().expect("addresses") {
        assert_eq!(a["status"], "local", "{a}");
        assert_eq!(a["range"], "documentation", "{a}");
        assert_eq!(a.get("query"), None, "nothing was asked: {a}");
    }
}

/// Answers one RDAP autnum request on `listener` (given up after 10 s);
/// hands back the path asked.
fn serve_autnum(listener: TcpListener, body: &'static str) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let until = Instant::now() + Duration::from_secs(10);
        if listener.set_nonblocking(true).is_err() {
            return String::new();
        }
        while Instant::now() < until {
            let Ok((mut stream, _)) = listener.accept() else {
                std::thread::sleep(Duration::from_millis(10));
                continue;
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
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/rdap+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            return path;
        }
        String::new()
    })
}

#[test]
fn rdap_names_the_as_cymru_does_not() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    let listener = lab
        .run_in(Role::Target, || TcpListener::bind((addr::TARGET_V4, 18081)))
        .expect("in the target's namespace")
        .expect("bound");
    let server = serve_autnum(
        listener,
        r#"{"objectClassName":"autnum","startAutnum":64502,"endAutnum":64502,"name":"SONDE-ANYCAST","entities":[{"roles":["registrant"],"vcardArray":["vcard",[["fn",{},"text","Sonde Lab Anycast B.V."]]]}]}"#,
    );
    let profile = Profile::new(
        "rdap",
        &format!(
            "{LOOK_UP_DOCUMENTATION}\nrdap-url = \"http://{}:18081/autnum/{{asn}}\"",
            addr::TARGET_V4
        ),
    );
    let o = sonde(
        &lab,
        &[
            bare(zone::TARGET_NAME),
            "--json",
            "--profile",
            profile.arg(),
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(server.join().expect("server"), "/autnum/64502");
    let asn = &json(&o)["sections"]["asn"];
    let s = asn["systems"]
        .as_array()
        .expect("systems")
        .iter()
        .find(|s| s["asn"] == 64502)
        .expect("AS64502");
    assert_eq!(s["name"], "SONDE-ANYCAST - Sonde Lab Anycast B.V.");
    assert_eq!(s["source"], "rdap");
}

#[test]
fn hop_asn_names_the_network_of_every_hop_on_both_families() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    let profile = Profile::new(
        "hops",
        &format!(
            "{LOOK_UP_DOCUMENTATION}\n\n[collectors.hop-asn]\n{LOOK_UP_DOCUMENTATION}\n\n\
             [collectors.ping]\nenabled = false\n\n[collectors.traceroute]\naddresses = \"all\"\n"
        ),
    );
    let o = sonde(
        &lab,
        &["far.sonde.test", "--json", "--profile", profile.arg()],
    );
    let report = json(&o);
    assert_eq!(
        report["collectors"]["hop-asn"]["outcome"]["status"], "ok",
        "{report:#}"
    );
    let hops = &report["sections"]["hop-asn"];
    let paths: [(IpAddr, Vec<IpAddr>); 2] = [
        (
            addr::FAR_V4.into(),
            sonde_lab::paths::FAR_V4.iter().map(|&a| a.into()).collect(),
        ),
        (
            addr::FAR_V6.into(),
            sonde_lab::paths::FAR_V6.iter().map(|&a| a.into()).collect(),
        ),
    ];
    for (destination, path) in paths {
        let trace = hops["traces"]
            .as_array()
            .expect("traces")
            .iter()
            .find(|t| t["destination"] == destination.to_string())
            .unwrap_or_else(|| panic!("no trace to {destination}: {hops:#}"));
        let got = trace["hops"].as_array().expect("hops");
        assert_eq!(got.len(), path.len(), "{trace:#}");
        for (i, (hop, ip)) in got.iter().zip(&path).enumerate() {
            assert_eq!(hop["ttl"], i + 1);
            let address = &hop["addresses"][0];
            assert_eq!(address["name"], sonde_lab::paths::FAR_NAMES[i]);
            assert_eq!(address["ip"], ip.to_string());
            assert_eq!(address["status"], "announced", "{hop:#}");
            let want: Vec<u32> = cymru::origins_of(*ip)
                .iter()
                .flat_map(|o| o.asns.iter().copied())
                .collect();
            let origins: Vec<u64> = address["origins"]
                .as_array()
                .expect("origins")
                .iter()
                .map(|o| o["asn"].as_u64().expect("asn"))
                .collect();
            assert_eq!(
                origins,
                want.iter().map(|&a| u64::from(a)).collect::<Vec<_>>(),
                "{ip}"
            );
            let first = want[0];
            assert_eq!(
                address["origins"][0]["as_name"],
                cymru::as_name(first).expect("lab AS name").name,
                "{ip}"
            );
        }
    }
    // A silent router stays in the path as a hop with no address.
    let o = sonde(
        &lab,
        &["hidden.sonde.test", "--json", "--profile", profile.arg()],
    );
    let report = json(&o);
    let trace = &report["sections"]["hop-asn"]["traces"][0];
    assert_eq!(trace["destination"], addr::HIDDEN_V4.to_string());
    let silent = &trace["hops"][4];
    assert_eq!(
        (&silent["ttl"], silent["addresses"].as_array().map(Vec::len)),
        (&Value::from(5), Some(0)),
        "{trace:#}"
    );
    assert_eq!(trace["hops"][5]["addresses"][0]["origins"][0]["asn"], 64500);

    // The text report shows the path as networks: access (r1), transit, then IPv6.
    let o = sonde(&lab, &["far.sonde.test", "--profile", profile.arg()]);
    let text = String::from_utf8_lossy(&o.stdout);
    let section = text
        .split("HOP-ASN")
        .nth(1)
        .unwrap_or_else(|| panic!("no hop-asn section: {text}"));
    for want in [
        "to 203.0.113.70",
        "r1.sonde.test",
        "AS64510",
        "SONDE-ACCESS - Sonde Lab Access Inc., US",
        "AS64500",
        "to 2001:db8:64::70",
        "AS64520",
    ] {
        assert!(section.contains(want), "{want} not in {section}");
    }
}
