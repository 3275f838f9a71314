//! End to end: `sonde --ports` in the lab's client namespace runs tls on the TLS ports ports
//! found open on the target; every field and verdict checked against the certificates the lab
//! made ([`sonde_lab::pki`]) and the servers it runs ([`sonde_lab::ports`]). Needs root;
//! skips visibly otherwise.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;
use sonde_lab::pki::{self, LabCert};
use sonde_lab::ports;
use sonde_lab::{addr, require_root_or_skip, zone, Lab, Role};

fn sonde(lab: &Lab, args: &[&str]) -> Output {
    lab.command(Role::Client, env!("CARGO_BIN_EXE_sonde"))
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .output()
        .expect("sonde runs in the client namespace")
}

/// `sonde TARGET --ports --json [EXTRA] --profile PROFILE` in the client namespace.
fn scan(lab: &Lab, target: &str, profile: &Path, extra: &[&str]) -> Output {
    let mut args = vec![target, "--ports", "--json"];
    args.extend_from_slice(extra);
    args.extend(["--profile", profile.to_str().expect("utf-8")]);
    sonde(lab, &args)
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

fn temp(test: &str, file: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sonde-e2e-tls-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(file);
    std::fs::write(&path, text).expect("written");
    path
}

fn profile(test: &str, extra: &str) -> PathBuf {
    temp(
        test,
        "profile.toml",
        &format!("name = \"{test}\"\nextends = \"default\"\n{extra}"),
    )
}

fn target() -> &'static str {
    zone::TARGET_NAME.trim_end_matches('.')
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

fn hex(bytes: &[u8], upper: bool) -> String {
    bytes
        .iter()
        .map(|b| {
            if upper {
                format!("{b:02X}")
            } else {
                format!("{b:02x}")
            }
        })
        .collect::<Vec<_>>()
        .join(":")
}

fn serial(n: u64) -> String {
    let bytes = n.to_be_bytes();
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(7);
    hex(&bytes[first..], false)
}

fn rfc3339(ts: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ts)
        .expect("time")
        .format(&time::format_description::well_known::Rfc3339)
        .expect("format")
}

/// Days left toward zero at some moment between `before` and `after`.
fn days_options(not_after: i64, before: i64, after: i64) -> [i64; 2] {
    [(not_after - before) / 86_400, (not_after - after) / 86_400]
}

/// Checks one certificate of a reported chain against the lab's.
fn assert_cert(got: &Value, want: &LabCert, issuer_cn: &str, window: (i64, i64)) {
    let cn = &want.subject_cn;
    assert_eq!(got["common_name"], cn.as_str(), "{got}");
    assert_eq!(
        got["subject"],
        format!("O={}, CN={cn}", pki::ORGANISATION),
        "{cn}"
    );
    assert_eq!(
        got["issuer"],
        format!("O={}, CN={issuer_cn}", pki::ORGANISATION),
        "{cn}"
    );
    let sans: Vec<&str> = got["sans"]
        .as_array()
        .expect("sans")
        .iter()
        .map(|s| s.as_str().expect("san"))
        .collect();
    assert_eq!(sans, want.sans, "{cn}");
    assert_eq!(got["serial"], serial(want.serial), "{cn}");
    assert_eq!(got["sha256"], hex(&want.sha256, true), "{cn}");
    assert_eq!(got["not_before"], rfc3339(want.not_before), "{cn}");
    assert_eq!(got["not_after"], rfc3339(want.not_after), "{cn}");
    let days = got["days_left"].as_i64().expect("days");
    assert!(
        days_options(want.not_after, window.0, window.1).contains(&days),
        "{cn}: {days} days left"
    );
    assert_eq!(
        format!(
            "{} {}",
            got["key"]["algorithm"].as_str().expect("alg"),
            got["key"]["curve"].as_str().expect("curve")
        ),
        want.key,
        "{cn}"
    );
    assert_eq!(got["signature_algorithm"], want.signature, "{cn}");
}

fn endpoint<'a>(tls: &'a Value, ip: &str, port: u16) -> &'a Value {
    tls["endpoints"]
        .as_array()
        .expect("endpoints")
        .iter()
        .find(|e| e["ip"] == ip && e["port"] == port)
        .unwrap_or_else(|| panic!("no endpoint {ip}:{port} in {tls}"))
}

fn versions(e: &Value) -> Vec<(String, String)> {
    e["versions"]
        .as_array()
        .expect("versions")
        .iter()
        .map(|v| {
            (
                v["version"].as_str().expect("v").to_string(),
                v["support"].as_str().expect("s").to_string(),
            )
        })
        .collect()
}

fn support(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn ports_then_tls_on_443_with_the_whole_chain() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    let before = now();
    let o = sonde(&lab, &[target(), "--ports", "--json"]);
    let after = now();
    let report = json(&o);
    assert_eq!(report["collectors"]["ports"]["outcome"]["status"], "ok");
    assert_eq!(
        report["collectors"]["tls"]["outcome"]["status"], "ok",
        "{}",
        report["errors"]
    );
    assert!(report["errors"].get("tls").is_none());
    let tls = &report["sections"]["tls"];
    assert_eq!(tls["candidates"], serde_json::json!([443]));
    assert_eq!(
        tls["endpoints"].as_array().expect("endpoints").len(),
        2,
        "443 on both addresses"
    );
    let pki = lab.pki();
    for ip in [addr::TARGET_V4.to_string(), addr::TARGET_V6.to_string()] {
        let e = endpoint(tls, &ip, ports::HTTPS);
        assert!(e.get("failure").is_none(), "{e}");
        assert_eq!(e["sni"], target());
        assert_eq!(e["protocol"], "TLSv1.3");
        assert_eq!(e["cipher_suite"], "TLS13_AES_256_GCM_SHA384");
        assert_eq!(e["key_exchange"], "X25519");
        assert_eq!(e["alpn"], ports::ALPN);
        let chain = e["chain"].as_array().expect("chain");
        assert_eq!(chain.len(), 2, "leaf and intermediate, as sent");
        assert_cert(
            &chain[0],
            &pki.leaf.chain[0],
            pki::INTERMEDIATE_CN,
            (before, after),
        );
        assert_cert(&chain[1], &pki.intermediate, pki::ROOT_CN, (before, after));
        assert_eq!(chain[0]["is_ca"], false);
        assert_eq!(chain[1]["is_ca"], true);
        assert_eq!(e["chain_problems"], serde_json::json!([]));
        let v = &e["verdict"];
        assert_eq!(v["web_roots"]["trusted"], false);
        assert_eq!(v["web_roots"]["error"], "unknown issuer");
        assert!(v.get("ca_bundle").is_none());
        assert_eq!(v["hostname_match"], true);
        assert_eq!(v["checked_name"], target());
        assert_eq!(v["expired"], false);
        assert_eq!(v["self_signed"], false);
        assert_eq!(e["ocsp"]["bytes"], pki::OCSP_STAPLE.len());
        assert_eq!(
            versions(e),
            support(&[
                ("TLSv1.3", "yes"),
                ("TLSv1.2", "yes"),
                ("TLSv1.1", "no"),
                ("TLSv1.0", "no"),
                ("SSLv3", "no"),
            ])
        );
    }
    // The text form: warnings first, a one-line-per-certificate chain.
    let o = sonde(&lab, &[target(), "--ports"]);
    let text = String::from_utf8_lossy(&o.stdout);
    let tls_text = text.split("\nTLS").nth(1).expect("a TLS section");
    let lines: Vec<&str> = tls_text.lines().map(str::trim).collect();
    assert_eq!(lines[1], "203.0.113.10:443");
    assert_eq!(lines[2], "the chain is not trusted: unknown issuer");
    assert!(
        tls_text.contains("TLSv1.3, TLS13_AES_256_GCM_SHA384, X25519"),
        "{tls_text}"
    );
    assert!(tls_text.contains("sonde lab intermediate CA  ECDSA P-256  ecdsa-with-SHA384"));
    assert!(tls_text.contains("[2001:db8:113::10]:443  same as 203.0.113.10:443"));
}

#[test]
fn every_certificate_problem_has_its_verdict() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    let pki = lab.pki();
    let bundle = temp("verdicts", "ca.pem", &pki.root.pem);
    let path = profile(
        "verdicts",
        &format!(
            "[collectors.ports]\nports = \"443,8443-8448\"\nmethod = \"connect\"\n\
             [collectors.tls]\nports = [443, 8443, 8444, 8445, 8446, 8447, 8448]\n\
             ca-bundle = \"{}\"\n",
            bundle.display()
        ),
    );
    let before = now();
    let o = scan(&lab, target(), &path, &[]);
    let after = now();
    let report = json(&o);
    assert_eq!(
        report["collectors"]["tls"]["outcome"]["status"], "ok",
        "{}",
        report["errors"]
    );
    let tls = &report["sections"]["tls"];
    assert_eq!(tls["endpoints"].as_array().expect("endpoints").len(), 14);
    let v4 = addr::TARGET_V4.to_string();
    let verdict = |port: u16| endpoint(tls, &v4, port)["verdict"].clone();
    let bundle_error = |port: u16| verdict(port)["ca_bundle"]["error"].clone();

    // The good chain is trusted by the lab's root, not by the web's.
    assert_eq!(verdict(ports::HTTPS)["ca_bundle"]["trusted"], true);
    assert_eq!(verdict(ports::HTTPS)["web_roots"]["trusted"], false);

    let expired = verdict(ports::TLS_EXPIRED);
    assert_eq!(expired["expired"], true);
    // Trust is about the chain: the lab's CA issued it; the date is its own verdict.
    assert_eq!(expired["ca_bundle"]["trusted"], true, "{expired}");
    assert!(expired["ca_bundle"].get("error").is_none());
    let expired_warnings = &endpoint(tls, &v4, ports::TLS_EXPIRED)["warnings"];
    assert_eq!(
        expired_warnings[0],
        format!("the certificate expired {} days ago", pki::EXPIRED_DAYS_AGO)
    );
    assert!(
        !expired_warnings
            .as_array()
            .expect("warnings")
            .iter()
            .any(|w| w.as_str().is_some_and(|w| w.contains("not trusted"))),
        "{expired_warnings}"
    );
    assert!(
        days_options(pki.expired.chain[0].not_after, before, after)
            .contains(&expired["days_left"].as_i64().expect("days")),
        "{expired}"
    );
    assert_eq!(expired["days_left"], -pki::EXPIRED_DAYS_AGO);
    assert_cert(
        &endpoint(tls, &v4, ports::TLS_EXPIRED)["chain"][0],
        &pki.expired.chain[0],
        pki::INTERMEDIATE_CN,
        (before, after),
    );

    let wrong = verdict(ports::TLS_WRONG_NAME);
    assert_eq!(wrong["hostname_match"], false);
    assert_eq!(wrong["expired"], false);
    // The audit's case: a wrong name from a trusted CA is a name problem, not distrust.
    assert_eq!(wrong["ca_bundle"]["trusted"], true, "{wrong}");
    assert!(wrong["ca_bundle"].get("error").is_none());
    assert_eq!(
        endpoint(tls, &v4, ports::TLS_WRONG_NAME)["warnings"],
        serde_json::json!([format!("the certificate is not valid for {}", target())])
    );
    assert_eq!(
        endpoint(tls, &v4, ports::TLS_WRONG_NAME)["chain"][0]["sans"],
        serde_json::json!([pki::WRONG_NAME])
    );

    let own = verdict(ports::TLS_SELF_SIGNED);
    assert_eq!(own["self_signed"], true);
    assert_eq!(own["hostname_match"], true);
    assert_eq!(bundle_error(ports::TLS_SELF_SIGNED), "unknown issuer");
    let own_chain = endpoint(tls, &v4, ports::TLS_SELF_SIGNED)["chain"].clone();
    assert_eq!(own_chain.as_array().expect("chain").len(), 1);
    assert_cert(
        &own_chain[0],
        &pki.self_signed.chain[0],
        pki::LEAF_NAMES[0],
        (before, after),
    );
    assert_eq!(own_chain[0]["self_signed"], true);

    let only12 = endpoint(tls, &v4, ports::TLS12_ONLY);
    assert_eq!(only12["protocol"], "TLSv1.2");
    assert_eq!(
        only12["cipher_suite"],
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"
    );
    assert_eq!(only12["verdict"]["ca_bundle"]["trusted"], true);
    assert_eq!(
        versions(only12),
        support(&[
            ("TLSv1.3", "no"),
            ("TLSv1.2", "yes"),
            ("TLSv1.1", "no"),
            ("TLSv1.0", "no"),
            ("SSLv3", "no"),
        ])
    );

    let legacy = endpoint(tls, &v4, ports::TLS_LEGACY);
    assert_eq!(legacy["failure"]["kind"], "incompatible", "{legacy}");
    assert!(legacy.get("verdict").is_none(), "no certificate was seen");
    assert_eq!(
        versions(legacy),
        support(&[
            ("TLSv1.3", "no"),
            ("TLSv1.2", "no"),
            ("TLSv1.1", "yes"),
            ("TLSv1.0", "yes"),
            ("SSLv3", "no"),
        ])
    );
    assert!(legacy["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .any(|w| w == "TLSv1.0 is accepted (deprecated, RFC 8996)"));

    let mis = endpoint(tls, &v4, ports::TLS_MISORDERED);
    assert_eq!(mis["chain"].as_array().expect("chain").len(), 3);
    assert_eq!(
        mis["chain_problems"],
        serde_json::json!([
            "out of order: the issuer of #1 (target.sonde.test) is #3 (sonde lab intermediate CA), not the next certificate",
            "#2 (sonde lab root CA) is a self-signed root; servers should not send it",
        ])
    );
    assert_eq!(
        mis["verdict"]["ca_bundle"]["trusted"], true,
        "webpki reorders"
    );
}

#[test]
fn failed_handshakes_are_results_with_reasons() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    let path = profile(
        "failures",
        "[collectors.ports]\nports = \"22,9999\"\nmethod = \"connect\"\n\
         [collectors.tls]\nprobe = \"all-open\"\nhandshake-timeout = \"500ms\"\n",
    );
    let o = scan(&lab, target(), &path, &[]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "a failed collector is a problem, not a crash"
    );
    let report = json(&o);
    assert_eq!(report["collectors"]["tls"]["outcome"]["status"], "failed");
    let error = report["errors"]["tls"].as_str().expect("errors[tls]");
    assert!(error.starts_with("no TLS handshake completed"), "{error}");
    let tls = &report["sections"]["tls"];
    let v4 = addr::TARGET_V4.to_string();
    assert_eq!(endpoint(tls, &v4, ports::SSH)["failure"]["kind"], "not_tls");
    assert_eq!(
        endpoint(tls, &v4, ports::SILENT)["failure"]["kind"],
        "timeout"
    );
}

#[test]
fn tls_is_skipped_with_its_reason_when_no_tls_port_is_open() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    let path = profile(
        "skip",
        "[collectors.ports]\nports = \"22,25,8080\"\nmethod = \"connect\"\n",
    );
    let o = scan(&lab, target(), &path, &[]);
    let report = json(&o);
    assert_eq!(o.status.code(), Some(0));
    let outcome = &report["collectors"]["tls"]["outcome"];
    assert_eq!(outcome["status"], "skipped");
    assert_eq!(outcome["reason"], "no TLS port open (looked for 443)");
    assert!(report["errors"].get("tls").is_none());
}

#[test]
fn ip_only_mode_checks_the_address() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    let path = profile(
        "ip",
        "[collectors.ports]\nports = \"443\"\n[collectors.tls]\nsni = \"none\"\n",
    );
    let o = scan(&lab, target(), &path, &[]);
    let report = json(&o);
    let tls = &report["sections"]["tls"];
    for ip in [addr::TARGET_V4.to_string(), addr::TARGET_V6.to_string()] {
        let e = endpoint(tls, &ip, ports::HTTPS);
        assert!(e.get("sni").is_none(), "no SNI sent");
        assert_eq!(e["verdict"]["checked_name"], ip);
        assert_eq!(
            e["verdict"]["hostname_match"], true,
            "the leaf names the address"
        );
    }
    // A target given as an address gets the same mode by itself.
    let v4 = addr::TARGET_V4.to_string();
    let o = sonde(&lab, &[&v4, "--ports", "--json"]);
    let report = json(&o);
    let e = endpoint(&report["sections"]["tls"], &v4, ports::HTTPS);
    assert!(e.get("sni").is_none());
    assert_eq!(e["verdict"]["checked_name"], v4);
}

/// The audit's case: the default profile gave ports 30 s under a 15 s run, so a scan the run's
/// deadline stopped left tls half a second. Now ports stops early enough for tls to have its
/// reserve (`reserve-for-tls`, at most half the time left).
#[test]
fn a_scan_cut_by_the_run_deadline_leaves_tls_its_time() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    // Every port, few at a time: far more than the run's 5 s allows.
    let path = profile(
        "reserve",
        "[collectors.ports]\nports = \"all\"\nmethod = \"connect\"\nmax-concurrency = 16\n\
         timeout = \"30s\"\n",
    );
    let o = scan(&lab, target(), &path, &["--timeout", "5s"]);
    let report = json(&o);
    let ports_run = &report["collectors"]["ports"];
    assert_eq!(ports_run["outcome"]["status"], "ok", "{ports_run}");
    assert_eq!(report["sections"]["ports"]["complete"], false);
    let ports_end = ports_run["end_ms"].as_f64().expect("end_ms");
    // 5 s less the reserve (about 2.4 s: half of what was left) and the hand-back margin.
    assert!(ports_end < 3_000.0, "ports ended at {ports_end} ms");
    let tls_run = &report["collectors"]["tls"];
    assert_eq!(tls_run["outcome"]["status"], "ok", "{tls_run}");
    let tls = &report["sections"]["tls"];
    let e = endpoint(tls, &addr::TARGET_V4.to_string(), ports::HTTPS);
    assert!(e.get("failure").is_none(), "{e}");
    assert_eq!(e["protocol"], "TLSv1.3");
}

/// Runs sonde on the target's `ports` with the lab's CA bundle and `tls_extra` in the tls
/// table; the report.
fn run_tls_on(lab: &Lab, test: &str, ports: &[u16], tls_extra: &str) -> Value {
    let bundle = temp(test, "ca.pem", &lab.pki().root.pem);
    let list = ports
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let path = profile(
        test,
        &format!(
            "[collectors.ports]\nports = \"{list}\"\nmethod = \"connect\"\n\
             [collectors.tls]\nports = [{list}]\nca-bundle = \"{}\"\n{tls_extra}",
            bundle.display()
        ),
    );
    let o = scan(lab, target(), &path, &[]);
    json(&o)
}

/// Servers that refuse the handshake with an alert (one requires a client certificate, one
/// has no cipher suite for its own key): the endpoint's failure is that alert, by name, not a
/// crash and not "not TLS".
#[test]
fn a_handshake_refused_with_an_alert_names_the_alert() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    let report = run_tls_on(
        &lab,
        "alert",
        &[ports::TLS_CLIENT_AUTH, ports::TLS_NO_COMMON_SUITE],
        "",
    );
    let tls = &report["sections"]["tls"];
    for ip in [addr::TARGET_V4.to_string(), addr::TARGET_V6.to_string()] {
        let e = endpoint(tls, &ip, ports::TLS_CLIENT_AUTH);
        assert_eq!(
            e["failure"],
            serde_json::json!({"kind": "alert", "detail": "alert: certificate_required"}),
            "{e}"
        );
        let e = endpoint(tls, &ip, ports::TLS_NO_COMMON_SUITE);
        assert_eq!(
            e["failure"],
            serde_json::json!({"kind": "alert", "detail": "alert: handshake_failure"}),
            "{e}"
        );
    }
    let error = report["errors"]["tls"].as_str().expect("errors[tls]");
    assert!(error.starts_with("no TLS handshake completed"), "{error}");
}

/// A leaf whose validity begins in the future: `not_yet_valid`, not `expired`, and the chain
/// still trusted by the lab's CA (the date is its own verdict).
#[test]
fn a_certificate_not_valid_yet_has_its_verdict_and_a_trusted_chain() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    let before = now();
    let report = run_tls_on(&lab, "not-yet", &[ports::TLS_NOT_YET_VALID], "");
    let after = now();
    let pki = lab.pki();
    let e = endpoint(
        &report["sections"]["tls"],
        &addr::TARGET_V4.to_string(),
        ports::TLS_NOT_YET_VALID,
    );
    assert!(e.get("failure").is_none(), "{e}");
    let v = &e["verdict"];
    assert_eq!(v["not_yet_valid"], true, "{v}");
    assert_eq!(v["expired"], false, "{v}");
    assert_eq!(v["hostname_match"], true, "{v}");
    assert_eq!(v["ca_bundle"]["trusted"], true, "{v}");
    assert!(v["ca_bundle"].get("error").is_none(), "{v}");
    assert!(
        days_options(pki.not_yet_valid.chain[0].not_after, before, after)
            .contains(&v["days_left"].as_i64().expect("days")),
        "{v}"
    );
    assert_cert(
        &e["chain"][0],
        &pki.not_yet_valid.chain[0],
        pki::INTERMEDIATE_CN,
        (before, after),
    );
    assert_eq!(
        e["chain"][0]["not_before"],
        rfc3339(pki.not_yet_valid.chain[0].not_before)
    );
    assert_eq!(
        e["warnings"],
        serde_json::json!(["the certificate is not valid yet"]),
        "{e}"
    );
}

/// An RSA-2048 leaf: its key reads as RSA, 2048 bits, with no curve.
#[test]
fn an_rsa_leaf_reports_its_key_type_and_size() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    let report = run_tls_on(&lab, "rsa", &[ports::TLS_RSA], "");
    let pki = lab.pki();
    let e = endpoint(
        &report["sections"]["tls"],
        &addr::TARGET_V4.to_string(),
        ports::TLS_RSA,
    );
    assert!(e.get("failure").is_none(), "{e}");
    let leaf = &e["chain"][0];
    assert_eq!(leaf["sha256"], hex(&pki.rsa.chain[0].sha256, true));
    assert_eq!(
        leaf["key"],
        serde_json::json!({"algorithm": "RSA", "bits": 2048}),
        "{leaf}"
    );
    assert_eq!(pki.rsa.chain[0].key, "RSA 2048");
    assert_eq!(leaf["signature_algorithm"], "ecdsa-with-SHA384");
    assert_eq!(
        e["chain"][1]["key"],
        serde_json::json!({"algorithm": "ECDSA", "bits": 384, "curve": "P-384"})
    );
    assert_eq!(e["verdict"]["ca_bundle"]["trusted"], true, "{e}");
}

/// `sni = "other.sonde.test"` is sent (the server that chooses its certificate by SNI
/// answers with the leaf for that name) and is the name the leaf is checked against (the good
/// leaf, for the target's names, does not match it; the wrong-name leaf does).
#[test]
fn an_explicit_sni_is_sent_and_checked() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    let pki = lab.pki();
    let scanned = [ports::HTTPS, ports::TLS_WRONG_NAME, ports::TLS_BY_SNI];
    let report = run_tls_on(&lab, "sni", &scanned, "sni = \"other.sonde.test\"\n");
    let tls = &report["sections"]["tls"];
    let v4 = addr::TARGET_V4.to_string();
    for port in scanned {
        let e = endpoint(tls, &v4, port);
        assert_eq!(e["sni"], pki::WRONG_NAME, "{e}");
        assert_eq!(e["verdict"]["checked_name"], pki::WRONG_NAME, "{e}");
    }
    let by_sni = endpoint(tls, &v4, ports::TLS_BY_SNI);
    assert_eq!(
        by_sni["chain"][0]["sha256"],
        hex(&pki.wrong_name.chain[0].sha256, true),
        "the server chose the leaf for the SNI sent"
    );
    assert_eq!(by_sni["verdict"]["hostname_match"], true);
    assert_eq!(
        endpoint(tls, &v4, ports::TLS_WRONG_NAME)["verdict"]["hostname_match"],
        true
    );
    let good = endpoint(tls, &v4, ports::HTTPS);
    assert_eq!(good["verdict"]["hostname_match"], false);
    assert_eq!(
        good["warnings"],
        serde_json::json!([format!(
            "the certificate is not valid for {}",
            pki::WRONG_NAME
        )])
    );
    // The same server with the default SNI (the target's name): the good leaf, a match.
    let report = run_tls_on(&lab, "sni-auto", &[ports::TLS_BY_SNI], "");
    let e = endpoint(&report["sections"]["tls"], &v4, ports::TLS_BY_SNI);
    assert_eq!(e["sni"], target());
    assert_eq!(
        e["chain"][0]["sha256"],
        hex(&pki.leaf.chain[0].sha256, true)
    );
    assert_eq!(e["verdict"]["hostname_match"], true);
    assert_eq!(e["verdict"]["checked_name"], target());
}

/// `target`, typed bare and completed by a search domain: the SNI and the name checked are the
/// name dns found the addresses under.
#[test]
fn the_sni_is_the_name_dns_resolved_through_a_search_domain() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    let bundle = temp("search", "ca.pem", &lab.pki().root.pem);
    let path = profile(
        "search",
        &format!(
            "[collectors.dns]\nsearch = [\"sonde.test\"]\n\
             [collectors.ports]\nports = \"443\"\nmethod = \"connect\"\n\
             [collectors.tls]\nports = [443]\nca-bundle = \"{}\"\n",
            bundle.display()
        ),
    );
    let o = scan(&lab, "target", &path, &[]);
    let report = json(&o);
    let e = endpoint(
        &report["sections"]["tls"],
        &addr::TARGET_V4.to_string(),
        ports::HTTPS,
    );
    assert_eq!(e["sni"], target(), "{e}");
    assert_eq!(e["verdict"]["checked_name"], target());
    assert_eq!(e["verdict"]["hostname_match"], true);
}
