//! End to end: the real `sonde` binary in the lab's client namespace asks the lab's
//! registries (IANA-like WHOIS, registry, registrar, RIR, LIR, and RDAP over HTTPS with the
//! lab's CA), every server name resolved through the lab's DNS; every field is checked
//! against what the lab serves, and every hostile server must give a clear error in the whois
//! section while the rest of the report stays as it was. Needs root; skips visibly otherwise.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Output;

use serde_json::Value;
use sonde_lab::registry::{self, Network, CLIENT_NET, TARGET_NET, TARGET_NET_V6};
use sonde_lab::{addr, require_root_or_skip, zone, Lab, Role};

/// The lab's addresses are documentation addresses: look them up (the default answers
/// every special-purpose range locally).
const LAB_RANGES: &str = "[\"private\", \"loopback\", \"link-local\", \"cgnat\"]";

/// A scratch folder for one test: profile, CA file and bootstrap cache.
struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    fn new(lab: &Lab, tag: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("sonde-e2e-whois-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        std::fs::write(dir.join("ca.pem"), lab.ca_pem()).expect("ca file");
        Scratch { dir }
    }

    /// A profile extending the default one, pointing whois at the lab; `settings` (key and
    /// TOML value) replace or add to the lab's; an empty value removes the key.
    fn profile(&self, name: &str, settings: &[(&str, &str)]) -> String {
        let q = |v: String| format!("\"{v}\"");
        let mut table: Vec<(String, String)> = vec![
            ("whois-server".into(), q(bare(registry::IANA.name).into())),
            ("bootstrap-url".into(), q(registry::BOOTSTRAP_URL.into())),
            (
                "cache-dir".into(),
                q(self.dir.join(format!("cache-{name}")).display().to_string()),
            ),
            (
                "ca-file".into(),
                q(self.dir.join("ca.pem").display().to_string()),
            ),
            ("hop-timeout".into(), q("1s".into())),
            ("request-timeout".into(), q("2s".into())),
            ("local-ranges".into(), LAB_RANGES.into()),
        ];
        for (key, value) in settings {
            table.retain(|(k, _)| k != key);
            if !value.is_empty() {
                table.push((key.to_string(), value.to_string()));
            }
        }
        let mut text = format!("name = \"{name}\"\nextends = \"default\"\n\n[collectors.whois]\n");
        for (k, v) in table {
            text.push_str(&format!("{k} = {v}\n"));
        }
        let path = self.dir.join(format!("{name}.toml"));
        std::fs::write(&path, text).expect("profile");
        path.display().to_string()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn sonde(lab: &Lab, args: &[&str]) -> Output {
    lab.command(Role::Client, env!("CARGO_BIN_EXE_sonde"))
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .env_remove("XDG_CACHE_HOME")
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

fn lookup<'a>(report: &'a Value, query: &str) -> &'a Value {
    report["sections"]["whois"]["lookups"]
        .as_array()
        .and_then(|ls| ls.iter().find(|l| l["query"] == query))
        .unwrap_or_else(|| panic!("no lookup of {query}: {}", report["sections"]["whois"]))
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// The record of a network lookup matches what the lab serves.
fn assert_network(record: &Value, net: &Network) {
    assert_eq!(record["name"], net.name, "{record}");
    assert_eq!(record["org"], net.org, "{record}");
    assert_eq!(record["country"], net.country, "{record}");
    assert_eq!(record["abuse_email"], net.abuse, "{record}");
    assert_eq!(record["created"], net.created, "{record}");
    assert_eq!(record["updated"], net.updated, "{record}");
    assert_eq!(strings(&record["cidr"]), [net.cidr], "{record}");
    assert_eq!(
        record["range"],
        serde_json::json!([net.start, net.end]),
        "{record}"
    );
    assert_eq!(strings(&record["remarks"]), [net.remark], "{record}");
}

fn assert_dns_untouched(report: &Value) {
    assert_eq!(
        report["collectors"]["dns"]["outcome"]["status"], "ok",
        "{}",
        report["collectors"]
    );
    assert!(
        report["errors"].get("dns").is_none(),
        "{}",
        report["errors"]
    );
}

#[test]
fn rdap_answers_for_the_domain_and_the_networks() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    let scratch = Scratch::new(&lab, "rdap");
    let profile = scratch.profile("lab-rdap", &[]);
    let o = sonde(
        &lab,
        &[bare(zone::TARGET_NAME), "--profile", &profile, "--json"],
    );
    let report = json(&o);
    assert_eq!(o.status.code(), Some(0), "{}", report["errors"]);
    assert_eq!(report["collectors"]["whois"]["outcome"]["status"], "ok");
    let whois = &report["sections"]["whois"];
    assert_eq!(whois["name"], bare(zone::TARGET_NAME));

    let domain = lookup(&report, registry::DOMAIN);
    assert_eq!(domain["kind"], "domain");
    assert_eq!(domain["answered_by"], "rdap");
    assert!(
        domain.get("whois").is_none(),
        "WHOIS runs only when RDAP fails"
    );
    let r = &domain["record"];
    assert_eq!(r["name"], registry::DOMAIN);
    assert_eq!(r["handle"], registry::DOMAIN_HANDLE);
    assert_eq!(r["registrar"], registry::REGISTRAR_NAME);
    assert_eq!(
        r["registrant"],
        registry::REGISTRANT,
        "from the registrar's record"
    );
    assert_eq!(r["country"], registry::REGISTRANT_COUNTRY);
    assert_eq!(r["created"], registry::CREATED);
    assert_eq!(r["updated"], registry::UPDATED);
    assert_eq!(r["expires"], registry::EXPIRES);
    assert_eq!(strings(&r["status"]), registry::RDAP_STATUS);
    assert_eq!(strings(&r["nameservers"]), [registry::NAMESERVER]);
    assert_eq!(r["abuse_email"], registry::REGISTRAR_ABUSE_EMAIL);
    assert_eq!(r["abuse_phone"], registry::REGISTRAR_ABUSE_PHONE);
    assert_eq!(
        strings(&r["remarks"]),
        ["Registrar record: Served by the lab registrar."]
    );
    let rdap = &domain["rdap"];
    assert_eq!(rdap["server"], registry::RDAP_REGISTRY_BASE);
    assert_eq!(
        rdap["registry"]["url"],
        format!(
            "{}domain/{}",
            registry::RDAP_REGISTRY_BASE,
            registry::DOMAIN
        )
    );
    assert_eq!(rdap["registry"]["status"], 200);
    assert_eq!(
        rdap["registry"]["raw"]["handle"],
        registry::DOMAIN_HANDLE,
        "raw JSON kept"
    );
    assert_eq!(
        rdap["registry"]["object"]["entities"][0]["iana_id"],
        registry::REGISTRAR_IANA_ID
    );
    assert_eq!(
        rdap["registrar"]["url"],
        registry::RDAP_REGISTRAR_URL,
        "related link followed"
    );
    assert_eq!(rdap["registrar"]["raw"]["ldhName"], registry::DOMAIN);

    for (ip, net) in [
        (addr::TARGET_V4.to_string(), &TARGET_NET),
        (addr::TARGET_V6.to_string(), &TARGET_NET_V6),
    ] {
        let l = lookup(&report, &ip);
        assert_eq!(l["answered_by"], "rdap", "{l}");
        assert_network(&l["record"], net);
        assert_eq!(l["record"]["handle"], net.handle);
        assert_eq!(l["rdap"]["server"], registry::RDAP_RIR_BASE);
        assert_eq!(l["rdap"]["registry"]["raw"]["name"], net.name);
    }

    let boot: Vec<(&str, &str)> = whois["bootstrap"]
        .as_array()
        .expect("bootstrap")
        .iter()
        .map(|b| {
            (
                b["registry"].as_str().unwrap_or(""),
                b["source"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        boot,
        [("dns", "fetched"), ("ipv4", "fetched"), ("ipv6", "fetched")]
    );
    assert_eq!(
        whois["bootstrap"][0]["publication"],
        registry::BOOTSTRAP_PUBLICATION
    );
    assert_eq!(
        whois["bootstrap"][0]["location"],
        format!("{}dns.json", registry::BOOTSTRAP_URL)
    );
    assert!(
        scratch.dir.join("cache-lab-rdap/rdap/dns.json").exists(),
        "bootstrap cached"
    );

    // The second run reads the cache, and the text report reads well.
    let o = sonde(
        &lab,
        &[bare(zone::TARGET_NAME), "--profile", &profile, "--json"],
    );
    let again = json(&o);
    assert_eq!(
        again["sections"]["whois"]["bootstrap"][0]["source"],
        "cache"
    );
    let o = sonde(&lab, &[bare(zone::TARGET_NAME), "--profile", &profile]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("\nWHOIS  ok "), "{text}");
    let has = |key: &str, value: &str| {
        text.lines().any(|l| {
            let l = l.trim();
            l.starts_with(key) && l[key.len()..].trim() == value
        })
    };
    for (key, value) in [
        ("domain sonde.test", ""),
        ("registrar", registry::REGISTRAR_NAME),
        ("registrant", registry::REGISTRANT),
        ("expires", registry::EXPIRES),
        ("network of 203.0.113.10", ""),
        ("cidr", TARGET_NET.cidr),
        ("abuse", TARGET_NET.abuse),
        ("abuse", "abuse@registrar.sonde.test (+1.5555550100)"),
        ("rdap bootstrap", "dns cached (2030-01-01T00:00:00Z), ipv4 cached (2030-01-01T00:00:00Z), ipv6 cached (2030-01-01T00:00:00Z)"),
    ] {
        assert!(has(key, value), "missing {key} {value:?} in\n{text}");
    }
}

#[test]
fn whois_follows_referrals_from_iana() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    let scratch = Scratch::new(&lab, "whois");
    let profile = scratch.profile("lab-whois", &[("order", "[\"whois\"]")]);
    let o = sonde(
        &lab,
        &[bare(zone::TARGET_NAME), "--profile", &profile, "--json"],
    );
    let report = json(&o);
    assert_eq!(o.status.code(), Some(0), "{}", report["errors"]);
    let domain = lookup(&report, registry::DOMAIN);
    assert_eq!(domain["answered_by"], "whois");
    assert!(domain.get("rdap").is_none());
    let hops = domain["whois"]["hops"].as_array().expect("hops");
    let chain: Vec<(&str, &str, &str)> = hops
        .iter()
        .map(|h| {
            (
                h["server"].as_str().unwrap_or(""),
                h["address"].as_str().unwrap_or(""),
                h["referral"]["kind"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    assert_eq!(
        chain,
        [
            ("whois.iana.sonde.test", "203.0.113.50:43", "refer"),
            (
                "whois.registry.sonde.test",
                "203.0.113.51:43",
                "registrar_whois_server"
            ),
            ("whois.registrar.sonde.test", "203.0.113.52:43", "-"),
        ]
    );
    assert!(hops.iter().all(|h| h["query"] == registry::DOMAIN));
    let last = hops[2]["raw"].as_str().expect("raw text kept");
    assert!(
        last.ends_with("% lab registrar, caf\u{fffd}\n"),
        "decoded lossily: {last:?}"
    );
    let r = &domain["record"];
    assert_eq!(r["name"], registry::DOMAIN);
    assert_eq!(r["handle"], registry::DOMAIN_HANDLE);
    assert_eq!(r["registrar"], registry::REGISTRAR_NAME);
    assert_eq!(r["registrant"], registry::REGISTRANT);
    assert_eq!(r["country"], registry::REGISTRANT_COUNTRY);
    assert_eq!(r["created"], registry::CREATED);
    assert_eq!(r["updated"], registry::UPDATED);
    assert_eq!(r["expires"], registry::EXPIRES);
    assert_eq!(strings(&r["status"]), registry::WHOIS_STATUS);
    assert_eq!(strings(&r["nameservers"]), [registry::NAMESERVER]);
    assert_eq!(r["abuse_email"], registry::REGISTRAR_ABUSE_EMAIL);
    assert_eq!(r["abuse_phone"], registry::REGISTRAR_ABUSE_PHONE);

    for (ip, net) in [
        (addr::TARGET_V4.to_string(), &TARGET_NET),
        (addr::TARGET_V6.to_string(), &TARGET_NET_V6),
    ] {
        let l = lookup(&report, &ip);
        assert_eq!(l["answered_by"], "whois", "{l}");
        let servers: Vec<&str> = l["whois"]["hops"]
            .as_array()
            .expect("hops")
            .iter()
            .filter_map(|h| h["server"].as_str())
            .collect();
        assert_eq!(servers, ["whois.iana.sonde.test", "whois.rir.sonde.test"]);
        assert_network(&l["record"], net);
    }
    assert!(
        report["sections"]["whois"].get("bootstrap").is_none(),
        "RDAP never ran"
    );
}

#[test]
fn arin_style_referral_server_and_rdap_range_without_cidr0() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    let scratch = Scratch::new(&lab, "client-net");
    let profile = scratch.profile("lab-both", &[("all", "true")]);
    let client = addr::CLIENT_V4.to_string();
    let o = sonde(&lab, &[&client, "--profile", &profile, "--json"]);
    let report = json(&o);
    assert_eq!(o.status.code(), Some(0), "{}", report["errors"]);
    assert!(report["sections"]["whois"].get("name").is_none());
    let l = lookup(&report, &client);
    assert_eq!(l["kind"], "ipv4");
    assert_eq!(l["answered_by"], "rdap", "first in the order");
    assert_network(&l["rdap"]["record"], &CLIENT_NET);
    let hops = l["whois"]["hops"].as_array().expect("whois ran too");
    let chain: Vec<(&str, &str)> = hops
        .iter()
        .map(|h| {
            (
                h["server"].as_str().unwrap_or(""),
                h["referral"]["kind"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    assert_eq!(
        chain,
        [
            ("whois.iana.sonde.test", "refer"),
            ("whois.rir.sonde.test", "referral_server"),
            ("whois.lir.sonde.test", "-"),
        ]
    );
    assert_network(&l["whois"]["record"], &CLIENT_NET);
}

/// Every collector's outcome but whois's, by name: what a hostile registry must leave as it
/// was.
fn others(report: &Value) -> BTreeMap<String, Value> {
    report["collectors"]
        .as_object()
        .expect("collectors")
        .iter()
        .filter(|(name, _)| name.as_str() != "whois")
        .map(|(name, run)| (name.clone(), run["outcome"].clone()))
        .collect()
}

/// The other collectors' outcomes in a run of the target with the lab's good registries.
fn baseline(lab: &Lab, scratch: &Scratch) -> BTreeMap<String, Value> {
    let profile = scratch.profile("baseline", &[]);
    let o = sonde(
        lab,
        &[bare(zone::TARGET_NAME), "--profile", &profile, "--json"],
    );
    let report = json(&o);
    assert_eq!(o.status.code(), Some(0), "{}", report["errors"]);
    let others = others(&report);
    for name in ["dns", "ping", "traceroute", "asn", "geo"] {
        assert!(others.contains_key(name), "{name} is not in {others:?}");
    }
    others
}

/// Runs a hostile case: the whois section must fail with `want` for the domain, the run
/// must end with exit code 1, whois must be the only error and every other collector must
/// end as it did in `baseline`.
fn hostile(lab: &Lab, profile: &str, want: &str, baseline: &BTreeMap<String, Value>) -> Value {
    let started = std::time::Instant::now();
    let o = sonde(
        lab,
        &[bare(zone::TARGET_NAME), "--profile", profile, "--json"],
    );
    let report = json(&o);
    assert_eq!(o.status.code(), Some(1), "{}", report["errors"]);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(8),
        "bounded"
    );
    assert_dns_untouched(&report);
    let errors: Vec<&String> = report["errors"]
        .as_object()
        .expect("errors")
        .keys()
        .collect();
    assert_eq!(errors, ["whois"], "{}", report["errors"]);
    assert_eq!(&others(&report), baseline, "the other collectors' outcomes");
    assert_eq!(report["collectors"]["whois"]["outcome"]["status"], "failed");
    let error = report["errors"]["whois"].as_str().unwrap_or_default();
    assert!(error.contains(want), "error {error:?} lacks {want:?}");
    let domain = lookup(&report, registry::DOMAIN);
    assert!(domain.get("record").is_none(), "{domain}");
    report
}

#[test]
fn hostile_whois_servers_give_clear_errors() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    let scratch = Scratch::new(&lab, "hostile-whois");
    let baseline = baseline(&lab, &scratch);
    let with_server = |name: &str, host: &str| {
        let server = format!("\"{}\"", bare(host));
        scratch.profile(name, &[("order", "[\"whois\"]"), ("whois-server", &server)])
    };
    let report = hostile(
        &lab,
        &with_server("stream", registry::STREAM.name),
        "whois.stream.sonde.test: 203.0.113.56:43 sent more than 1048576 bytes; stopped reading",
        &baseline,
    );
    let hop = &lookup(&report, registry::DOMAIN)["whois"]["hops"][0];
    assert!(hop["bytes"].as_u64().unwrap_or(0) > 1 << 20, "{hop}");
    assert!(hop.get("raw").is_none());

    hostile(
        &lab,
        &with_server("silent", registry::SILENT.name),
        "whois.silent.sonde.test: no complete answer from 203.0.113.57:43 within 1s (0 bytes received)",
        &baseline,
    );
    let report = hostile(
        &lab,
        &with_server("loop", registry::LOOP_A.name),
        "referral loop: whois.loop-a.sonde.test -> whois.loop-b.sonde.test -> whois.loop-a.sonde.test",
        &baseline,
    );
    // Every lookup met the same loop; each says so in its own entry.
    for l in report["sections"]["whois"]["lookups"]
        .as_array()
        .expect("lookups")
    {
        assert!(
            l["whois"]["error"]
                .as_str()
                .unwrap_or("")
                .starts_with("referral loop"),
            "{l}"
        );
    }
}

#[test]
fn hostile_rdap_servers_give_clear_errors_and_addresses_still_answer() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    let scratch = Scratch::new(&lab, "hostile-rdap");
    let baseline = baseline(&lab, &scratch);
    let cases = [
        (
            "malformed",
            registry::BOOTSTRAP_MALFORMED,
            "rdap: malformed RDAP JSON from https://rdap.sonde.test/malformed/domain/sonde.test: EOF while parsing",
        ),
        (
            "missing",
            registry::BOOTSTRAP_MISSING,
            "rdap: https://rdap.sonde.test/missing/domain/sonde.test answered HTTP 404 (not found: the server has no such object)",
        ),
        (
            "limited",
            registry::BOOTSTRAP_LIMITED,
            "rdap: https://rdap.sonde.test/limited/domain/sonde.test answered HTTP 429 (rate limited; retry after 30 s)",
        ),
    ];
    for (name, boot, want) in cases {
        let boot = format!("\"{boot}\"");
        let profile = scratch.profile(name, &[("order", "[\"rdap\"]"), ("bootstrap-url", &boot)]);
        let report = hostile(&lab, &profile, want, &baseline);
        let domain = lookup(&report, registry::DOMAIN);
        assert!(
            domain["rdap"]["error"]
                .as_str()
                .unwrap_or("")
                .contains(&want[6..]),
            "{domain}"
        );
        // The addresses' lookups are not disturbed.
        let target = lookup(&report, &addr::TARGET_V4.to_string());
        assert_network(&target["record"], &TARGET_NET);
    }

    // With WHOIS after RDAP, the rate-limited domain is answered by WHOIS, with a warning.
    let limited = format!("\"{}\"", registry::BOOTSTRAP_LIMITED);
    let profile = scratch.profile("fallback", &[("bootstrap-url", &limited)]);
    let o = sonde(
        &lab,
        &[bare(zone::TARGET_NAME), "--profile", &profile, "--json"],
    );
    let report = json(&o);
    assert_eq!(o.status.code(), Some(0), "{}", report["errors"]);
    let domain = lookup(&report, registry::DOMAIN);
    assert_eq!(domain["answered_by"], "whois");
    assert_eq!(domain["record"]["registrant"], registry::REGISTRANT);
    let warnings = strings(&report["sections"]["whois"]["warnings"]);
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with("sonde.test: rdap failed (")
                && w.contains("HTTP 429")
                && w.ends_with("; answered by whois")),
        "{warnings:?}"
    );
}

#[test]
fn default_settings_ask_the_lab_never_the_internet() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    let scratch = Scratch::new(&lab, "defaults");
    // The default profile as it ships: whois.iana.org (which the lab's DNS answers) and
    // IANA's bootstrap URL (which it does not). HOME is a scratch folder: no cache is left.
    let o = lab
        .command(Role::Client, env!("CARGO_BIN_EXE_sonde"))
        .args([bare(zone::TARGET_NAME), "--json"])
        .env("HOME", &scratch.dir)
        .env_remove("XDG_CACHE_HOME")
        .output()
        .expect("sonde runs");
    let report = json(&o);
    assert_eq!(o.status.code(), Some(0), "{}", report["errors"]);
    let domain = lookup(&report, registry::DOMAIN);
    assert_eq!(domain["answered_by"], "whois");
    assert_eq!(domain["whois"]["hops"][0]["server"], "whois.iana.org");
    assert_eq!(domain["whois"]["hops"][0]["address"], "203.0.113.50:43");
    assert_eq!(domain["record"]["registrant"], registry::REGISTRANT);
    assert_eq!(
        domain["rdap"]["error"],
        "the IANA bootstrap registry names no RDAP server for sonde.test"
    );
    let boot = &report["sections"]["whois"]["bootstrap"][0];
    assert_eq!(boot["source"], "snapshot");
    let note = boot["note"].as_str().unwrap_or_default();
    assert!(
        note.starts_with("refresh failed: https://data.iana.org/rdap/dns.json: ")
            && note.ends_with(
                ": cannot connect: cannot resolve data.iana.org: NXDOMAIN from 203.0.113.53:53"
            ),
        "{note}"
    );
    // The lab's addresses are documentation addresses: the default answers them locally,
    // no registry is asked.
    let whois = &report["sections"]["whois"];
    assert_eq!(
        whois["lookups"].as_array().map(Vec::len),
        Some(1),
        "{whois}"
    );
    let warnings = strings(&whois["warnings"]);
    for ip in [addr::TARGET_V4.to_string(), addr::TARGET_V6.to_string()] {
        let want = format!(
            "not looked up: {ip} is a documentation address (RFC 5737/3849); not sent to a registry"
        );
        assert!(warnings.contains(&want.as_str()), "{warnings:?}");
    }

    // With documentation addresses looked up (and nothing else changed): the snapshot names
    // APNIC for 203.0.0.0/8; its name does not resolve in the lab, so WHOIS answers.
    let profile = scratch.dir.join("defaults-lab.toml");
    std::fs::write(
        &profile,
        format!(
            "name = \"defaults-lab\"\nextends = \"default\"\n\n[collectors.whois]\nlocal-ranges = {LAB_RANGES}\n"
        ),
    )
    .expect("profile");
    let o = lab
        .command(Role::Client, env!("CARGO_BIN_EXE_sonde"))
        .args([bare(zone::TARGET_NAME), "--json", "--profile"])
        .arg(&profile)
        .env("HOME", &scratch.dir)
        .env_remove("XDG_CACHE_HOME")
        .output()
        .expect("sonde runs");
    let report = json(&o);
    assert_eq!(o.status.code(), Some(0), "{}", report["errors"]);
    let target = lookup(&report, &addr::TARGET_V4.to_string());
    let rdap_error = target["rdap"]["error"].as_str().unwrap_or_default();
    assert!(
        rdap_error.starts_with("https://rdap.apnic.net/ip/203.0.113.10: cannot connect: cannot resolve rdap.apnic.net: REFUSED"),
        "{rdap_error}"
    );
    assert_network(&target["record"], &TARGET_NET);
    assert!(!scratch.dir.join(".cache").exists());
}

#[test]
fn rdap_servers_are_verified_the_lab_ca_is_trusted_only_when_given() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    let scratch = Scratch::new(&lab, "no-ca");
    let profile = scratch.profile("no-ca", &[("ca-file", ""), ("order", "[\"rdap\"]")]);
    let o = sonde(
        &lab,
        &[bare(zone::TARGET_NAME), "--profile", &profile, "--json"],
    );
    let report = json(&o);
    assert_eq!(o.status.code(), Some(1), "{}", report["errors"]);
    let boot = &report["sections"]["whois"]["bootstrap"][0];
    assert_eq!(boot["source"], "snapshot");
    let note = boot["note"].as_str().unwrap_or_default();
    assert!(
        note.starts_with("refresh failed: https://rdap.sonde.test/bootstrap/dns.json: cannot connect: invalid peer certificate: UnknownIssuer"),
        "{note}"
    );
    assert!(
        !scratch.dir.join("cache-no-ca").exists(),
        "nothing cached from an untrusted server"
    );
}

#[test]
fn a_name_found_through_a_search_domain_is_looked_up_in_full() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    let scratch = Scratch::new(&lab, "search");
    let profile = scratch.profile("lab-search", &[("order", "[\"whois\"]")]);
    let mut text = std::fs::read_to_string(&profile).expect("profile");
    text.push_str("\n[collectors.dns]\nsearch = [\"sonde.test\"]\n");
    std::fs::write(&profile, text).expect("profile");
    // `target`, as a user on the lab's network would type it.
    let o = sonde(&lab, &["target", "--profile", &profile, "--json"]);
    let report = json(&o);
    assert_eq!(o.status.code(), Some(0), "{}", report["errors"]);
    assert_eq!(
        report["sections"]["dns"]["resolved_name"],
        bare(zone::TARGET_NAME)
    );
    assert_eq!(report["sections"]["whois"]["name"], bare(zone::TARGET_NAME));
    assert_eq!(lookup(&report, registry::DOMAIN)["answered_by"], "whois");
}
