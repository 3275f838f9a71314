//! End to end: the real `sonde` pings lab hosts from the client namespace, as root (raw ICMP
//! socket) and as an unprivileged user (ICMP datagram socket, then TCP connect when
//! net.ipv4.ping_group_range is closed). Every figure is checked against the lab: five routers
//! to far, so replies arrive with TTL 64 - 5 = 59. Needs root (network namespaces); skips
//! visibly otherwise.

mod lab_run;

use lab_run::{json, ping_group_range, profile, sonde, stderr, stdout, User};
use serde_json::Value;
use sonde_lab::{addr, paths, require_root_or_skip, Lab};

/// Four quick probes; traceroute off, because r1 rate-limits its "network unreachable"
/// messages per client (the kernel's route error_cost, a machine-wide setting a lab cannot
/// change) and a trace to the same address would use them up.
const FAST: &str = "[collectors.ping]\ncount = 4\ninterval = \"20ms\"\nwait = \"500ms\"\n\n[collectors.traceroute]\nenabled = false\n";

fn target<'a>(ping: &'a Value, ip: &str) -> &'a Value {
    ping["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .find(|t| t["address"] == ip)
        .unwrap_or_else(|| panic!("no target {ip} in {ping:#}"))
}

/// The probes of a target that was sent `FAST`'s four: checks that four were sent and that
/// each has its entry, in order, so loops over them cannot pass by finding none.
fn four_probes(t: &Value) -> &[Value] {
    assert_eq!(t["sent"], 4, "{t:#}");
    let probes = t["probes"].as_array().expect("probes");
    assert_eq!(probes.len(), 4, "one entry per probe sent: {t:#}");
    for (seq, probe) in probes.iter().enumerate() {
        assert_eq!(probe["seq"], seq, "{probe:#}");
    }
    probes
}

fn assert_all_answered(ping: &Value, ip: &str, ttl: Option<u64>) {
    let t = target(ping, ip);
    assert_eq!(
        (t["sent"].as_u64(), t["received"].as_u64()),
        (Some(4), Some(4)),
        "{t:#}"
    );
    assert_eq!(t["loss_percent"], 0.0);
    for probe in four_probes(t) {
        assert_eq!(probe["fate"], "reply", "{probe:#}");
        assert!(probe["rtt_ms"]
            .as_f64()
            .is_some_and(|r| (0.0..500.0).contains(&r)));
    }
    let rtt = &t["rtt"];
    assert!(rtt["min_ms"].as_f64() <= rtt["avg_ms"].as_f64());
    assert!(rtt["avg_ms"].as_f64() <= rtt["max_ms"].as_f64());
    assert_eq!(t["reply_ttl"].as_u64(), ttl, "{t:#}");
}

#[test]
fn root_pings_both_families_with_a_raw_socket() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    let p = profile("ping-root", FAST);
    let o = sonde(
        &lab,
        User::Root,
        &["far.sonde.test", "--profile", &p, "--json"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let report = json(&o);
    assert_eq!(report["collectors"]["ping"]["outcome"]["status"], "ok");
    let ping = &report["sections"]["ping"];
    assert_eq!(ping["method"], "icmp_raw");
    assert_eq!(
        ping["method_reason"],
        "raw ICMP socket opened (root or CAP_NET_RAW)"
    );
    assert_eq!(ping["targets"].as_array().map(Vec::len), Some(2));
    assert_all_answered(ping, &addr::FAR_V4.to_string(), Some(59));
    assert_all_answered(ping, &addr::FAR_V6.to_string(), Some(59));
}

#[test]
fn text_view_shows_method_and_figures() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    let p = profile("ping-text", FAST);
    let o = sonde(&lab, User::Root, &["far.sonde.test", "--profile", &p]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    let section = &text[text.find("PING").expect("ping section")..];
    assert!(
        section.contains("method  ICMP echo, raw socket"),
        "{section}"
    );
    assert!(
        section.contains("4 per address, 20 ms apart, 500 ms timeout"),
        "{section}"
    );
    let row = section
        .lines()
        .find(|l| l.trim_start().starts_with("203.0.113.70 "))
        .expect("a row for far's IPv4 address");
    assert!(
        row.contains("4/4") && row.contains("0%") && row.contains(" 59 "),
        "{row}"
    );
}

#[test]
fn a_host_dropping_echo_fails_ping_alone() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    // Traceroute runs beside ping here (UDP probes, which noecho answers).
    let p = profile(
        "ping-noecho",
        "[collectors.ping]\ncount = 4\ninterval = \"20ms\"\nwait = \"500ms\"\n\n\
         [collectors.traceroute]\nmethod = \"udp\"\nmax-hops = 8\n",
    );
    let o = sonde(
        &lab,
        User::Root,
        &["noecho.sonde.test", "--profile", &p, "--json"],
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "a failed collector is exit 1: {}",
        stderr(&o)
    );
    let report = json(&o);
    assert_eq!(report["collectors"]["ping"]["outcome"]["status"], "failed");
    assert_eq!(report["collectors"]["dns"]["outcome"]["status"], "ok");
    let error = report["errors"]["ping"].as_str().expect("ping error");
    assert!(
        error.starts_with("no reply from any address (203.0.113.90: 4 sent, 0 received"),
        "{error}"
    );
    // Every collector other than ping kept its result; traceroute reached noecho.
    assert_eq!(
        report["sections"]["traceroute"]["traces"][0]["end"]["reason"],
        "reached"
    );
    for (name, run) in report["collectors"].as_object().expect("collectors") {
        if name != "ping" {
            assert_eq!(run["outcome"]["status"], "ok", "{name}: {run:#}");
            assert!(
                report["sections"].get(name).is_some(),
                "{name} lost its section"
            );
        }
    }
    // The partial section still says what happened to each probe.
    let ping = &report["sections"]["ping"];
    for ip in [addr::NOECHO_V4.to_string(), addr::NOECHO_V6.to_string()] {
        let t = target(ping, &ip);
        assert_eq!(
            (t["sent"].as_u64(), t["received"].as_u64()),
            (Some(4), Some(0))
        );
        assert_eq!(t["loss_percent"], 100.0);
        for probe in four_probes(t) {
            assert_eq!(probe["fate"], "timeout", "{probe:#}");
        }
    }
}

#[test]
fn an_unrouted_address_is_unreachable_with_its_code_and_router() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    let p = profile("ping-unrouted", FAST);
    let ip = paths::UNROUTED_V4.to_string();
    let o = sonde(&lab, User::Root, &[&ip, "--profile", &p, "--json"]);
    let report = json(&o);
    let t = target(&report["sections"]["ping"], &ip);
    assert_eq!(t["received"], 0);
    assert_eq!(t["loss_percent"], 100.0);
    for probe in four_probes(t) {
        assert_eq!(probe["fate"], "unreachable", "{probe:#}");
        assert_eq!(probe["code"], 0);
        assert_eq!(probe["reason"], "network unreachable");
        assert_eq!(probe["from"], addr::R1_CLIENT_V4.to_string());
    }
}

#[test]
fn without_privilege_ping_uses_the_datagram_socket_then_tcp() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    let p = profile("ping-nobody", FAST);
    // The datagram rung: net.ipv4.ping_group_range admits every group.
    ping_group_range(&lab, true);
    let o = sonde(
        &lab,
        User::Nobody,
        &["far.sonde.test", "--profile", &p, "--json"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let ping = &json(&o)["sections"]["ping"];
    assert_eq!(ping["method"], "icmp_datagram", "{ping:#}");
    let reason = ping["method_reason"].as_str().unwrap();
    assert!(reason.starts_with("no raw ICMP socket ("), "{reason}");
    assert!(
        reason.contains("group 65534 is inside net.ipv4.ping_group_range 0 2147483647"),
        "{reason}"
    );
    assert_all_answered(ping, &addr::FAR_V4.to_string(), Some(59));
    assert_all_answered(ping, &addr::FAR_V6.to_string(), Some(59));

    // The bottom rung: the range is closed, so TCP connects time the host. Nothing listens
    // on far, so each connect is answered by a RST, which is an answer.
    ping_group_range(&lab, false);
    let o = sonde(
        &lab,
        User::Nobody,
        &["far.sonde.test", "--profile", &p, "--json"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let ping = &json(&o)["sections"]["ping"];
    assert_eq!(ping["method"], "tcp_connect", "{ping:#}");
    let reason = ping["method_reason"].as_str().unwrap();
    assert!(
        reason.contains("net.ipv4.ping_group_range is 1 0, which admits no group"),
        "{reason}"
    );
    let t = target(ping, &addr::FAR_V4.to_string());
    assert_eq!(t["port"], 443);
    assert_all_answered(ping, &addr::FAR_V4.to_string(), None);
    for probe in four_probes(t) {
        assert_eq!(probe["detail"], "refused", "{probe:#}");
    }
}

#[test]
fn without_privilege_the_interval_is_raised_to_the_user_minimum() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    let p = profile(
        "ping-flood",
        "[collectors.ping]\ncount = 3\ninterval = \"1ms\"\nwait = \"500ms\"\n",
    );
    ping_group_range(&lab, true);
    let o = sonde(
        &lab,
        User::Nobody,
        &["far.sonde.test", "--profile", &p, "--json"],
    );
    let ping = &json(&o)["sections"]["ping"];
    assert_eq!(ping["interval_ms"], 2.0);
    assert_eq!(
        ping["warnings"][0],
        "interval raised from 1ms to 2ms: the minimum without raw sockets, as ping enforces"
    );
    let o = sonde(
        &lab,
        User::Root,
        &["far.sonde.test", "--profile", &p, "--json"],
    );
    let ping = &json(&o)["sections"]["ping"];
    assert_eq!(ping["interval_ms"], 1.0, "root may go faster");
}
