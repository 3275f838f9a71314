//! Whois against the standard tool, in the lab (needs root; skips otherwise): the time for
//! sonde's whole run with whois by port-43 WHOIS (dns first, then the domain and both
//! addresses through IANA → registry → registrar / RIR) and by RDAP, beside `whois(1)` asked
//! the same domain the same way (it starts at whois.iana.org, which the lab answers, and
//! follows the referrals it knows). Run: `cargo bench -p sonde --bench whois_lab`.

use std::time::{Duration, Instant};

use sonde_lab::{registry, zone, Lab, Role};

const ROUNDS: usize = 20;

/// The default profile's other collectors, off: the run is dns and whois alone (ping alone
/// would add its 600 ms of probes).
const OTHERS_OFF: &str =
    "[collectors.ping]\nenabled = false\n[collectors.traceroute]\nenabled = false\n\
                          [collectors.asn]\nenabled = false\n[collectors.geo]\nenabled = false\n";

/// Checks that a sonde run is what the row says: dns and whois only, whois answered.
fn check_sonde(lab: &Lab, sonde: &str, args: &[&str]) {
    let out = lab
        .command(Role::Client, sonde)
        .args(args)
        .output()
        .expect("run sonde");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    let ran: Vec<&str> = report["collectors"]
        .as_object()
        .expect("collectors")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(ran, ["dns", "whois"], "{args:?}");
    assert_eq!(
        report["collectors"]["whois"]["outcome"]["status"], "ok",
        "{args:?}: {:#}",
        report["sections"]["whois"]
    );
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time(lab: &Lab, program: &str, args: &[&str]) -> Option<Duration> {
    let mut runs = Vec::new();
    for _ in 0..ROUNDS {
        let started = Instant::now();
        let out = lab
            .command(Role::Client, program)
            .args(args)
            .output()
            .ok()?;
        if out.stdout.is_empty() {
            eprintln!(
                "{program} printed nothing: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            return None;
        }
        runs.push(started.elapsed());
    }
    Some(median(runs))
}

fn main() {
    if let Err(why) = sonde_lab::check_available() {
        println!("SKIPPED (needs root and network namespaces): whois_lab: {why}");
        return;
    }
    let lab = Lab::start().expect("lab");
    let dir = std::env::temp_dir().join(format!("sonde-bench-whois-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("ca.pem"), lab.ca_pem()).expect("ca");
    let profile = |name: &str, order: &str| {
        let path = dir.join(format!("{name}.toml"));
        std::fs::write(
            &path,
            format!(
                "name = \"{name}\"\nextends = \"default\"\n{OTHERS_OFF}[collectors.whois]\norder = {order}\nlocal-ranges = [\"private\", \"loopback\", \"link-local\", \"cgnat\"]\nbootstrap-url = \"{}\"\nca-file = \"{}\"\ncache-dir = \"{}\"\n",
                registry::BOOTSTRAP_URL,
                dir.join("ca.pem").display(),
                dir.join("cache").display()
            ),
        )
        .expect("profile");
        path.display().to_string()
    };
    let target = zone::TARGET_NAME.trim_end_matches('.');
    let sonde = env!("CARGO_BIN_EXE_sonde");
    let whois_profile = profile("bench-whois", "[\"whois\"]");
    let rdap_profile = profile("bench-rdap", "[\"rdap\"]");
    check_sonde(
        &lab,
        sonde,
        &[target, "--profile", &whois_profile, "--json"],
    );
    check_sonde(&lab, sonde, &[target, "--profile", &rdap_profile, "--json"]);
    println!("whois in the lab: median of {ROUNDS} runs each");
    let rows = [
        (
            "sonde (dns + whois: domain, 2 networks; port 43)",
            time(
                &lab,
                sonde,
                &[target, "--profile", &whois_profile, "--json"],
            ),
        ),
        (
            "sonde (dns + whois: domain, 2 networks; RDAP, cached bootstrap)",
            time(&lab, sonde, &[target, "--profile", &rdap_profile, "--json"]),
        ),
        (
            "whois(1) sonde.test",
            time(&lab, "whois", &[registry::DOMAIN]),
        ),
        (
            "whois(1) 203.0.113.10",
            time(
                &lab,
                "whois",
                &[
                    "-h",
                    registry::IANA.name.trim_end_matches('.'),
                    "203.0.113.10",
                ],
            ),
        ),
    ];
    for (what, t) in &rows {
        match t {
            Some(t) => println!("  {what:<66} {:>7.1} ms", t.as_secs_f64() * 1000.0),
            None => println!("  {what:<66}  not run"),
        }
    }
    if let (Some(Some(sonde)), Some(Some(d)), Some(Some(i))) = (
        rows.first().map(|r| r.1),
        rows.get(2).map(|r| r.1),
        rows.get(3).map(|r| r.1),
    ) {
        println!(
            "  ratio: sonde's port-43 run / (whois(1) domain + address) = {:.2}",
            sonde.as_secs_f64() / (d + i).as_secs_f64()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
