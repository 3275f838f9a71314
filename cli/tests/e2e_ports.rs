//! End to end: the real `sonde --ports` in the lab's client namespace, scanning the target
//! host through three routers; every port's classification checked against what the lab
//! serves ([`sonde_lab::ports`]). Needs root (network namespaces); skips visibly otherwise.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::Output;

use serde_json::Value;
use sonde_lab::ports::{self, FILTERED, OPEN};
use sonde_lab::{addr, require_root_or_skip, zone, Lab, Role};
use sonde_ports::PortSet;

fn sonde(lab: &Lab, args: &[&str]) -> Output {
    lab.command(Role::Client, env!("CARGO_BIN_EXE_sonde"))
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
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

/// A profile file extending the default one with `extra` TOML.
fn profile(test: &str, extra: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sonde-e2e-ports-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(format!("{test}.toml"));
    std::fs::write(
        &path,
        format!("name = \"{test}\"\nextends = \"default\"\n{extra}"),
    )
    .expect("profile written");
    path
}

fn target() -> &'static str {
    zone::TARGET_NAME.trim_end_matches('.')
}

fn require_firewall(lab: &Lab) {
    if let Some(why) = lab.firewall_error() {
        panic!("the lab has no filtered ports ({why}); install nftables");
    }
}

fn set(v: &Value) -> BTreeSet<u16> {
    let text = v.as_str().expect("a port list is a string");
    if text.is_empty() {
        return BTreeSet::new();
    }
    PortSet::parse(text)
        .expect("a port list reads back")
        .ports()
        .iter()
        .copied()
        .collect()
}

/// Checks that every scanned port of every target address is classified as the lab serves it.
fn assert_exact(section: &Value, scanned: &PortSet) {
    let hosts = section["hosts"].as_array().expect("hosts");
    let ips: Vec<IpAddr> = hosts
        .iter()
        .map(|h| h["ip"].as_str().expect("ip").parse().expect("an address"))
        .collect();
    assert_eq!(
        ips,
        [IpAddr::V4(addr::TARGET_V4), IpAddr::V6(addr::TARGET_V6)],
        "both target addresses, IPv4 first"
    );
    let all: BTreeSet<u16> = scanned.ports().iter().copied().collect();
    let want_open: BTreeSet<u16> = OPEN.iter().copied().filter(|p| all.contains(p)).collect();
    let want_filtered: BTreeSet<u16> = FILTERED
        .iter()
        .copied()
        .filter(|p| all.contains(p))
        .collect();
    let want_closed: BTreeSet<u16> = all
        .iter()
        .copied()
        .filter(|p| !want_open.contains(p) && !want_filtered.contains(p))
        .collect();
    for h in hosts {
        let ip = &h["ip"];
        let open: BTreeSet<u16> = h["open"]
            .as_array()
            .expect("open")
            .iter()
            .map(|p| p["port"].as_u64().expect("port") as u16)
            .collect();
        assert_eq!(open, want_open, "open on {ip}");
        assert_eq!(set(&h["closed"]), want_closed, "closed on {ip}");
        assert_eq!(set(&h["filtered"]), want_filtered, "filtered on {ip}");
        assert_eq!(h["counts"]["open"], want_open.len(), "{ip}");
        assert_eq!(h["counts"]["closed"], want_closed.len(), "{ip}");
        assert_eq!(h["counts"]["filtered"], want_filtered.len(), "{ip}");
        assert_eq!(h["counts"]["not_reached"], 0, "{ip}");
    }
}

fn open_port(host: &Value, port: u16) -> &Value {
    host["open"]
        .as_array()
        .expect("open")
        .iter()
        .find(|p| p["port"] == port)
        .unwrap_or_else(|| panic!("{port} is not open on {}", host["ip"]))
}

/// The banner text as sonde escapes it.
fn escaped(text: &str) -> String {
    text.replace('\r', "\\r").replace('\n', "\\n")
}

#[test]
fn every_port_classified_with_services_and_banners() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    require_firewall(&lab);
    let spec = "20-30,79-82,440-445,8079-8082,8440-8450,9990-9999";
    let path = profile(
        "classify",
        &format!("[collectors.ports]\nports = \"{spec}\"\nmethod = \"connect\"\nbanners = true\n[collectors.tls]\nenabled = false\n"),
    );
    let o = sonde(
        &lab,
        &[
            target(),
            "--ports",
            "--json",
            "--profile",
            path.to_str().expect("utf-8"),
        ],
    );
    let report = json(&o);
    assert_eq!(
        report["collectors"]["ports"]["outcome"]["status"], "ok",
        "{report}"
    );
    let section = &report["sections"]["ports"];
    assert_eq!(section["method"], "connect");
    assert_eq!(section["complete"], true);
    assert_exact(section, &PortSet::parse(spec).expect("spec"));
    for host in section["hosts"].as_array().expect("hosts") {
        let ssh = open_port(host, ports::SSH);
        assert_eq!(ssh["service"], "ssh");
        assert_eq!(ssh["banner"]["text"], escaped(ports::SSH_BANNER));
        let smtp = open_port(host, ports::SMTP);
        assert_eq!(smtp["service"], "smtp");
        assert_eq!(smtp["banner"]["text"], escaped(ports::SMTP_BANNER));
        let silent = open_port(host, ports::SILENT);
        assert_eq!(silent["banner"]["bytes"], 0, "the silent port never speaks");
        assert_eq!(open_port(host, ports::HTTPS)["service"], "https");
        assert_eq!(
            open_port(host, ports::HTTP)["banner"]["bytes"],
            0,
            "HTTP waits"
        );
    }
}

#[test]
fn a_full_scan_of_every_port_is_exact() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    require_firewall(&lab);
    let path = profile(
        "full",
        "[collectors.ports]\nports = \"all\"\nmethod = \"connect\"\ntimeout = \"60s\"\n",
    );
    let o = sonde(
        &lab,
        &[
            target(),
            "--ports",
            "--json",
            "--timeout",
            "90s",
            "--profile",
            path.to_str().expect("utf-8"),
        ],
    );
    let report = json(&o);
    let section = &report["sections"]["ports"];
    assert_eq!(section["ports_per_address"], 65535);
    assert_exact(section, &PortSet::parse("all").expect("all"));
}

#[test]
fn a_deadline_keeps_what_was_classified() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    let path = profile(
        "deadline",
        "[collectors.ports]\nports = \"all\"\nmethod = \"connect\"\ntimeout = \"400ms\"\n\
         max-concurrency = 64\nreserve-for-tls = \"0s\"\n",
    );
    let o = sonde(
        &lab,
        &[
            target(),
            "--ports",
            "--json",
            "--profile",
            path.to_str().expect("utf-8"),
        ],
    );
    let report = json(&o);
    assert_eq!(
        report["collectors"]["ports"]["outcome"]["status"], "ok",
        "an incomplete scan is still a result: {}",
        report["collectors"]["ports"]
    );
    let section = &report["sections"]["ports"];
    assert_eq!(section["complete"], false);
    for h in section["hosts"].as_array().expect("hosts") {
        let c = &h["counts"];
        let sum: u64 = ["open", "closed", "filtered", "not_reached"]
            .iter()
            .map(|k| c[k].as_u64().expect("count"))
            .sum();
        assert_eq!(sum, 65535, "every port is counted once on {}", h["ip"]);
        assert!(c["not_reached"].as_u64().expect("count") > 0);
        assert_eq!(
            set(&h["not_reached"]).len() as u64,
            c["not_reached"].as_u64().expect("n")
        );
        // What was classified before the deadline is classified right: a probe the
        // deadline cut short is not reached, never filtered.
        let ip = &h["ip"];
        for p in h["open"].as_array().expect("open") {
            let port = p["port"].as_u64().expect("port") as u16;
            assert!(OPEN.contains(&port), "{port} reported open on {ip}");
        }
        for port in set(&h["closed"]) {
            assert!(
                !OPEN.contains(&port) && !FILTERED.contains(&port),
                "{port} reported closed on {ip}"
            );
        }
        for port in set(&h["filtered"]) {
            assert!(FILTERED.contains(&port), "{port} reported filtered on {ip}");
        }
        assert!(
            c["closed"].as_u64().expect("count") > 0,
            "the scan had time to classify some ports on {ip}"
        );
    }
    let warning = section["warnings"][0].as_str().expect("a warning");
    assert!(warning.contains("not reached"), "{warning}");
    // The text form says so too.
    let o = sonde(
        &lab,
        &[
            target(),
            "--ports",
            "--profile",
            path.to_str().expect("utf-8"),
        ],
    );
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("not reached"), "{text}");
}

#[test]
fn a_syn_scan_classifies_every_port_exactly() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    require_firewall(&lab);
    for (name, spec) in [
        (
            "syn-some",
            "20-30,79-82,440-445,8079-8082,8440-8450,9990-9999",
        ),
        ("syn-all", "all"),
    ] {
        let path = profile(
            name,
            &format!(
                "[collectors.ports]\nports = \"{spec}\"\nmethod = \"syn\"\nbanners = true\n\
                 timeout = \"60s\"\n[collectors.tls]\nenabled = false\n"
            ),
        );
        let o = sonde(
            &lab,
            &[
                target(),
                "--ports",
                "--json",
                "--timeout",
                "90s",
                "--profile",
                path.to_str().expect("utf-8"),
            ],
        );
        let report = json(&o);
        let section = &report["sections"]["ports"];
        assert_eq!(section["method"], "syn", "{spec}: {}", section["fallback"]);
        assert!(section.get("fallback").is_none());
        assert_exact(section, &PortSet::parse(spec).expect("spec"));
        for host in section["hosts"].as_array().expect("hosts") {
            assert_eq!(
                open_port(host, ports::SSH)["banner"]["text"],
                escaped(ports::SSH_BANNER),
                "banners are read after a SYN scan too"
            );
        }
    }
}

#[test]
fn without_raw_sockets_syn_falls_back_to_connect_with_the_reason() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    require_firewall(&lab);
    let spec = "20-30,79-82,440-445,9990-9999";
    let path = profile(
        "fallback",
        &format!("[collectors.ports]\nports = \"{spec}\"\nmethod = \"syn\"\n[collectors.tls]\nenabled = false\n"),
    );
    // The same sonde as an unprivileged user: no CAP_NET_RAW.
    let unprivileged = |extra: &[&str]| {
        lab.command(Role::Client, "setpriv")
            .args(["--reuid", "65534", "--regid", "65534", "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_sonde"))
            .args(extra)
            .env("NO_COLOR", "1")
            .output()
            .expect("setpriv runs")
    };
    if !unprivileged(&["--version"]).status.success() {
        sonde_lab::report_skip(&sonde_lab::LabError::Unavailable(
            "the sonde binary is not executable by an unprivileged user here".into(),
        ));
        return;
    }
    let o = unprivileged(&[
        target(),
        "--ports",
        "--json",
        "--profile",
        path.to_str().expect("utf-8"),
    ]);
    let report = json(&o);
    let section = &report["sections"]["ports"];
    assert_eq!(section["method"], "connect");
    let why = section["fallback"].as_str().expect("a fallback reason");
    assert!(why.contains("needs root or CAP_NET_RAW"), "{why}");
    assert_exact(section, &PortSet::parse(spec).expect("spec"));
}

/// The audit's case: an address the network has no route to looked filtered (the connect
/// errors were retried, then read as silence). r1 answers "network unreachable" for it, for
/// the first few probes only (ICMP errors are rate-limited): the silent ports of an address
/// that never answered are unreachable too.
#[test]
fn an_unreachable_address_is_an_error_not_filtered_ports() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    let ip = sonde_lab::topology::paths::UNROUTED_V4.to_string();
    let path = profile(
        "unreachable",
        "[collectors.ports]\nports = \"20-30\"\nmethod = \"connect\"\n",
    );
    let o = sonde(
        &lab,
        &[
            &ip,
            "--ports",
            "--json",
            "--profile",
            path.to_str().expect("utf-8"),
        ],
    );
    let report = json(&o);
    let section = &report["sections"]["ports"];
    let host = &section["hosts"][0];
    assert_eq!(host["ip"], ip.as_str());
    assert_eq!(host["counts"]["unreachable"], 11, "{host}");
    assert_eq!(host["counts"]["filtered"], 0, "{host}");
    assert_eq!(host["unreachable"], "20-30");
    let error = host["error"].as_str().expect("an error for the address");
    assert!(error.starts_with("no route to"), "{error}");
    assert_eq!(section["complete"], false);
    assert!(
        section["warnings"]
            .as_array()
            .expect("warnings")
            .iter()
            .any(|w| w.as_str() == Some(&format!("{ip}: {error}"))),
        "{section}"
    );
}
