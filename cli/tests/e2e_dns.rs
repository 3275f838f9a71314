//! End to end: the real `sonde` binary in the lab's client namespace, asking
//! the lab's DNS server through three routers; every answer checked against
//! the zone the lab serves. Needs root (network namespaces); skips visibly
//! otherwise.

use std::net::IpAddr;
use std::process::Output;
use std::time::Duration;

use serde_json::Value;
use sonde_lab::zone::{self, BIG_TXT_COUNT, CAA_ISSUER, TARGET_TXT, TTL};
use sonde_lab::{addr, require_root_or_skip, Lab, Role};

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
            stderr(o)
        )
    })
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The name without its final dot, as sonde prints names.
fn bare(name: &str) -> &str {
    name.trim_end_matches('.')
}

fn values(lookup: &Value) -> Vec<String> {
    lookup["records"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .map(|r| r["value"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

const SERVER: &str = "203.0.113.53:53";

#[test]
fn every_record_type_of_the_target() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    let o = sonde(&lab, &[bare(zone::TARGET_NAME), "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let report = json(&o);
    let dns = &report["sections"]["dns"];
    assert_eq!(report["collectors"]["dns"]["outcome"]["status"], "ok");
    assert_eq!(dns["query"], bare(zone::TARGET_NAME));
    assert_eq!(
        dns["resolver"]["source"], "system",
        "the lab's resolv.conf is the system's here"
    );
    assert_eq!(dns["resolver"]["nameservers"][0], SERVER);

    let addresses: Vec<(IpAddr, &str)> = dns["addresses"]
        .as_array()
        .expect("addresses")
        .iter()
        .map(|a| {
            (
                a["ip"].as_str().unwrap().parse().unwrap(),
                a["source"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        addresses,
        [
            (IpAddr::V4(addr::TARGET_V4), "dns"),
            (IpAddr::V6(addr::TARGET_V6), "dns")
        ]
    );

    let lookups = &dns["lookups"];
    let expect: [(&str, &str, Vec<String>); 8] = [
        ("A", "answered", vec![addr::TARGET_V4.to_string()]),
        ("AAAA", "answered", vec![addr::TARGET_V6.to_string()]),
        ("CNAME", "no_data", vec![]),
        (
            "MX",
            "answered",
            vec![format!("10 {}", bare(zone::MAIL_NAME))],
        ),
        ("NS", "no_data", vec![]),
        ("SOA", "no_data", vec![]),
        ("TXT", "answered", vec![TARGET_TXT.to_string()]),
        ("CAA", "answered", vec![format!("0 issue \"{CAA_ISSUER}\"")]),
    ];
    for (rtype, status, want) in expect {
        let l = &lookups[rtype];
        assert_eq!(l["status"], status, "{rtype}: {l}");
        assert_eq!(values(l), want, "{rtype}");
        assert_eq!(l["server"], SERVER, "{rtype}");
        assert_eq!(l["authoritative"], true, "{rtype}");
        for r in l["records"].as_array().into_iter().flatten() {
            assert_eq!(r["ttl"], TTL, "{rtype}");
        }
    }
    let ptrs: Vec<(&str, Vec<String>)> = dns["ptr"]
        .as_array()
        .expect("ptr")
        .iter()
        .map(|p| (p["ip"].as_str().unwrap(), values(&p["lookup"])))
        .collect();
    let target = vec![bare(zone::TARGET_NAME).to_string()];
    assert_eq!(
        ptrs,
        [
            (&*addr::TARGET_V4.to_string(), target.clone()),
            (&*addr::TARGET_V6.to_string(), target)
        ]
    );
}

#[test]
fn apex_has_ns_and_soa() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    // The apex has no address: dns fails (exit 2), and its section still
    // holds every lookup made on the way.
    let o = sonde(&lab, &[bare(zone::ORIGIN), "--json"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let report = json(&o);
    assert_eq!(report["collectors"]["dns"]["outcome"]["status"], "failed");
    assert!(
        report["errors"]["dns"].as_str().unwrap().contains("NODATA"),
        "{}",
        report["errors"]["dns"]
    );
    let lookups = &report["sections"]["dns"]["lookups"];
    assert_eq!(values(&lookups["NS"]), [bare(zone::NS_NAME)]);
    let soa = values(&lookups["SOA"]);
    assert_eq!(soa.len(), 1);
    assert!(
        soa[0].starts_with(&format!(
            "{} {} {}",
            bare(zone::NS_NAME),
            bare(zone::HOSTMASTER),
            zone::SERIAL
        )),
        "{soa:?}"
    );
    assert_eq!(values(&lookups["TXT"]), [zone::APEX_TXT]);
}

#[test]
fn cname_chain_is_followed() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    let o = sonde(&lab, &[bare(zone::WWW_NAME), "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let chain: Vec<(String, String)> = json(&o)["sections"]["dns"]["cname_chain"]
        .as_array()
        .expect("chain")
        .iter()
        .map(|l| {
            (
                l["name"].as_str().unwrap().into(),
                l["target"].as_str().unwrap().into(),
            )
        })
        .collect();
    let pair = |a: &str, b: &str| (bare(a).to_string(), bare(b).to_string());
    assert_eq!(
        chain,
        [
            pair(zone::WWW_NAME, zone::WEB_NAME),
            pair(zone::WEB_NAME, zone::TARGET_NAME)
        ]
    );
}

#[test]
fn response_codes_fail_the_run_with_the_cause() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    for (name, code) in [
        (zone::NXDOMAIN_NAME, "NXDOMAIN"),
        (zone::NODATA_NAME, "NODATA"),
        (zone::SERVFAIL_NAME, "SERVFAIL"),
        (zone::REFUSED_NAME, "REFUSED"),
    ] {
        let o = sonde(&lab, &[bare(name)]);
        assert_eq!(o.status.code(), Some(2), "{name}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.starts_with("sonde: DNS resolution failed: "),
            "{name}: {err}"
        );
        assert!(err.contains(code), "{name}: {err}");
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("PROBLEMS"),
            "{name}: the partial report is printed"
        );
    }
}

#[test]
fn a_server_that_never_answers_times_out() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    let o = sonde(&lab, &[bare(zone::DROP_NAME), "--json"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let report = json(&o);
    let err = report["errors"]["dns"].as_str().unwrap().to_string();
    assert!(
        err.contains("timeout") || err.contains("timed out"),
        "{err}"
    );
}

#[test]
fn slow_answers_are_waited_for() {
    require_root_or_skip!();
    let lab = Lab::builder()
        .slow_delay(Duration::from_millis(400))
        .start()
        .expect("lab");
    let o = sonde(&lab, &[bare(zone::SLOW_NAME), "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let a = &json(&o)["sections"]["dns"]["lookups"]["A"];
    assert_eq!(values(a), [addr::TARGET_V4.to_string()]);
    assert!(a["elapsed_ms"].as_u64().unwrap() >= 400, "{a}");
}

#[test]
fn truncated_answers_are_retried_over_tcp() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    let o = sonde(&lab, &[bare(zone::BIG_TXT_NAME), "--json"]);
    // The name has TXT records only: the run fails for want of an address,
    // and the TXT answer, complete over TCP, is in the partial section.
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let txt = &json(&o)["sections"]["dns"]["lookups"]["TXT"];
    assert_eq!(txt["transport"], "tcp", "{txt}");
    let mut got = values(txt);
    got.sort();
    let mut want: Vec<String> = (0..BIG_TXT_COUNT).map(zone::big_txt).collect();
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn ip_target_gets_its_ptr_only() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    let ip = addr::TARGET_V4.to_string();
    let o = sonde(&lab, &[&ip, "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let dns = &json(&o)["sections"]["dns"];
    assert_eq!(
        dns["addresses"],
        serde_json::json!([{ "ip": ip, "source": "literal" }])
    );
    assert_eq!(dns["lookups"], serde_json::json!({}));
    assert_eq!(values(&dns["ptr"][0]["lookup"]), [bare(zone::TARGET_NAME)]);

    let ip6 = format!("[{}]", addr::TARGET_V6);
    let o = sonde(&lab, &[&ip6, "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        values(&json(&o)["sections"]["dns"]["ptr"][0]["lookup"]),
        [bare(zone::TARGET_NAME)]
    );
}

#[test]
fn resolver_flag_names_the_server() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    let server = format!("[{}]:53", addr::DNS_V6);
    let o = sonde(
        &lab,
        &[bare(zone::TARGET_NAME), "--resolver", &server, "--json"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let dns = &json(&o)["sections"]["dns"];
    assert_eq!(dns["resolver"]["source"], "configured");
    assert_eq!(dns["lookups"]["A"]["server"], server);
}

#[test]
fn text_report_reads_well() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    let o = sonde(&lab, &[bare(zone::TARGET_NAME)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.starts_with("sonde target.sonde.test  profile default"),
        "{text}"
    );
    let line = |prefix: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(prefix))
            .unwrap_or_default()
            .to_string()
    };
    assert!(line("MX").contains("10 mail.sonde.test"), "{text}");
    assert!(line("TXT").contains(TARGET_TXT), "{text}");
    assert!(!text.contains("PROBLEMS"), "{text}");
}
