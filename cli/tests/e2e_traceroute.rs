//! End to end: the real `sonde` traces lab hosts from the client namespace, as root (raw ICMP
//! socket) and as an unprivileged user (ICMP datagram socket, then UDP with the error queue).
//! Hop addresses and names are checked exactly against the lab: five routers to far, a silent
//! router in front of hidden, a host that drops UDP, one that drops ICMP echo; IPv4 and IPv6
//! alike. Needs root (network namespaces); skips visibly otherwise.

mod lab_run;

use std::net::IpAddr;

use lab_run::{json, ping_group_range, profile, sonde, stderr, stdout, User};
use serde_json::Value;
use sonde_lab::{addr, paths, require_root_or_skip, Lab};

fn settings(extra: &str) -> String {
    format!("[collectors.ping]\nenabled = false\n\n[collectors.traceroute]\naddresses = \"all\"\nmax-hops = 8\n{extra}")
}

fn trace(tr: &Value, dest: IpAddr) -> &Value {
    tr["traces"]
        .as_array()
        .expect("traces")
        .iter()
        .find(|t| t["destination"] == dest.to_string())
        .unwrap_or_else(|| panic!("no trace to {dest} in {tr:#}"))
}

/// The hop addresses of a trace, `None` for a silent hop.
fn hop_addresses(trace: &Value) -> Vec<Option<String>> {
    trace["hops"]
        .as_array()
        .expect("hops")
        .iter()
        .map(|h| {
            let addrs = h["addresses"].as_array().expect("addresses");
            assert!(addrs.len() <= 1, "one path in the lab: {h:#}");
            addrs.first().map(|a| a["ip"].as_str().unwrap().to_string())
        })
        .collect()
}

/// Asserts every hop of `trace` in order: its TTL, its address (`None`: a silent hop), its PTR
/// name, and its loss: 3 of 3 probes answered (0%) for an answering hop, 0 of 3 (100%) for a
/// silent one.
fn expect_hops(trace: &Value, want: &[Option<IpAddr>], names: &[Option<&str>]) {
    let addrs: Vec<Option<String>> = want.iter().map(|a| a.map(|a| a.to_string())).collect();
    assert_eq!(hop_addresses(trace), addrs, "{trace:#}");
    let hops = trace["hops"].as_array().expect("hops");
    let got: Vec<Option<&str>> = hops
        .iter()
        .map(|h| h["addresses"][0]["name"].as_str())
        .collect();
    assert_eq!(got, names, "{trace:#}");
    for (i, (hop, want)) in hops.iter().zip(want).enumerate() {
        let (received, loss) = if want.is_some() { (3, 0.0) } else { (0, 100.0) };
        assert_eq!(hop["ttl"], i + 1, "{hop:#}");
        assert_eq!(
            (hop["sent"].as_u64(), hop["received"].as_u64()),
            (Some(3), Some(received)),
            "{hop:#}"
        );
        assert_eq!(hop["loss_percent"], loss, "{hop:#}");
        assert_eq!(hop["probes"].as_array().map(Vec::len), Some(3), "{hop:#}");
    }
}

fn expect_far(trace: &Value, v4: bool) {
    let want: Vec<Option<IpAddr>> = if v4 {
        paths::FAR_V4.iter().map(|&a| Some(a.into())).collect()
    } else {
        paths::FAR_V6.iter().map(|&a| Some(a.into())).collect()
    };
    expect_hops(trace, &want, &paths::FAR_NAMES.map(Some));
    assert_eq!(trace["reached"], true);
    assert_eq!(trace["end"]["reason"], "reached");
    assert_eq!(trace["end"]["hop"], 6);
}

/// client → hidden: r1 to r4 answer, the silent router (hop 5) never does, hidden answers at
/// hop 6 and ends the trace.
fn expect_hidden(trace: &Value, v4: bool) {
    let want: Vec<Option<IpAddr>> = if v4 {
        paths::HIDDEN_V4
            .iter()
            .map(|a| a.map(IpAddr::from))
            .collect()
    } else {
        paths::HIDDEN_V6
            .iter()
            .map(|a| a.map(IpAddr::from))
            .collect()
    };
    expect_hops(trace, &want, &paths::HIDDEN_NAMES);
    assert_eq!(trace["reached"], true, "{trace:#}");
    assert_eq!(trace["end"]["reason"], "reached");
    assert_eq!(trace["end"]["hop"], 6);
}

/// A destination that never answers the probes (max-hops 8): r1 to r5 answer, hops 6 to 8
/// are silent, and the trace ends in a timeout after hop 5.
fn expect_silent_after_r5(trace: &Value, v4: bool) {
    let mut want: Vec<Option<IpAddr>> = if v4 {
        paths::TO_R5_V4.iter().map(|&a| Some(a.into())).collect()
    } else {
        paths::TO_R5_V6.iter().map(|&a| Some(a.into())).collect()
    };
    want.extend([None, None, None]);
    let mut names: Vec<Option<&str>> = paths::FAR_NAMES[..5].iter().copied().map(Some).collect();
    names.extend([None, None, None]);
    expect_hops(trace, &want, &names);
    assert_eq!(trace["reached"], false, "{trace:#}");
    assert_eq!(trace["end"]["reason"], "timeout");
    assert_eq!(trace["end"]["hop"], 5);
    assert_eq!(
        trace["end"]["detail"],
        "no answer beyond hop 5: hops 6 to 8 stayed silent"
    );
}

fn run(lab: &Lab, user: User, tag: &str, extra: &str, target: &str) -> Value {
    let p = profile(tag, &settings(extra));
    let o = sonde(lab, user, &[target, "--profile", &p, "--json"]);
    let report = json(&o);
    assert_eq!(
        report["collectors"]["traceroute"]["outcome"]["status"],
        "ok",
        "{}\n{report:#}",
        stderr(&o)
    );
    report["sections"]["traceroute"].clone()
}

#[test]
fn icmp_trace_to_far_has_the_exact_hops_and_names_on_both_families() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    let tr = run(&lab, User::Root, "tr-far", "", "far.sonde.test");
    assert_eq!(tr["method"]["probe"], "icmp");
    assert_eq!(tr["method"]["rung"], "raw");
    assert_eq!(tr["method"]["paris"], true);
    expect_far(trace(&tr, addr::FAR_V4.into()), true);
    expect_far(trace(&tr, addr::FAR_V6.into()), false);
    // The echo replies come from five routers away.
    let last = &trace(&tr, addr::FAR_V4.into())["hops"][5]["probes"][0];
    assert_eq!(last["answer"], "reached");
    assert_eq!(last["reply_ttl"], 59);
}

#[test]
fn paris_udp_shows_the_silent_router_as_a_silent_hop() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    let tr = run(
        &lab,
        User::Root,
        "tr-hidden",
        "method = \"udp\"\n",
        "hidden.sonde.test",
    );
    assert_eq!(tr["method"]["probe"], "udp");
    assert_eq!(tr["method"]["paris"], true);
    let t = trace(&tr, addr::HIDDEN_V4.into());
    expect_hidden(t, true);
    assert_eq!(t["hops"][4]["ttl"], 5);
    assert_eq!(t["hops"][5]["probes"][0]["detail"], "port unreachable");
    // The IPv6 path has the same shape, ended by ICMPv6's port unreachable.
    let t6 = trace(&tr, addr::HIDDEN_V6.into());
    expect_hidden(t6, false);
    assert_eq!(t6["hops"][5]["probes"][0]["detail"], "port unreachable");
}

#[test]
fn udp_to_a_host_that_drops_it_ends_in_silence_after_r5() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    let tr = run(
        &lab,
        User::Root,
        "tr-noudp",
        "method = \"udp\"\n",
        "noudp.sonde.test",
    );
    expect_silent_after_r5(trace(&tr, addr::NOUDP_V4.into()), true);
    expect_silent_after_r5(trace(&tr, addr::NOUDP_V6.into()), false);
}

#[test]
fn icmp_through_the_silent_router_shows_hop_5_silent_on_both_families() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    let tr = run(&lab, User::Root, "tr-icmp-hidden", "", "hidden.sonde.test");
    assert_eq!(tr["method"]["probe"], "icmp");
    for (dest, v4) in [
        (IpAddr::from(addr::HIDDEN_V4), true),
        (addr::HIDDEN_V6.into(), false),
    ] {
        let t = trace(&tr, dest);
        expect_hidden(t, v4);
        // Echo replies, not errors, end an ICMP trace.
        for probe in t["hops"][5]["probes"].as_array().unwrap() {
            assert_eq!(probe["answer"], "reached", "{probe:#}");
        }
    }
}

#[test]
fn icmp_to_a_host_that_drops_echo_ends_in_silence_after_r5() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    let tr = run(&lab, User::Root, "tr-noecho", "", "noecho.sonde.test");
    assert_eq!(tr["method"]["probe"], "icmp");
    expect_silent_after_r5(trace(&tr, addr::NOECHO_V4.into()), true);
    expect_silent_after_r5(trace(&tr, addr::NOECHO_V6.into()), false);
}

#[test]
fn tcp_syn_reaches_far_and_its_rst_ends_the_trace() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    let tr = run(
        &lab,
        User::Root,
        "tr-tcp",
        "method = \"tcp\"\n",
        "far.sonde.test",
    );
    assert_eq!(tr["method"]["probe"], "tcp");
    // Hand-built SYNs from one reserved port: one flow.
    assert_eq!(tr["method"]["paris"], true);
    let t = trace(&tr, addr::FAR_V4.into());
    expect_far(t, true);
    assert_eq!(t["hops"][5]["probes"][0]["detail"], "refused");
    expect_far(trace(&tr, addr::FAR_V6.into()), false);
}

#[test]
fn an_unrouted_address_ends_with_network_unreachable_at_r1() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    let ip = paths::UNROUTED_V4.to_string();
    let p = profile("tr-unrouted", &settings("probes = 1\n"));
    let o = sonde(&lab, User::Root, &[&ip, "--profile", &p, "--json"]);
    let tr = &json(&o)["sections"]["traceroute"];
    let t = trace(tr, paths::UNROUTED_V4.into());
    assert_eq!(t["end"]["reason"], "unreachable", "{t:#}");
    assert_eq!(t["end"]["hop"], 1);
    let probe = &t["hops"][0]["probes"][0];
    assert_eq!(probe["code"], 0);
    assert_eq!(probe["detail"], "network unreachable");
    assert_eq!(probe["from"], addr::R1_CLIENT_V4.to_string());
    assert_eq!(
        t["hops"].as_array().unwrap().len(),
        1,
        "nothing probed past the end"
    );
}

#[test]
fn without_privilege_the_rung_and_method_change_and_say_why() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    ping_group_range(&lab, true);
    let tr = run(&lab, User::Nobody, "tr-dgram", "", "far.sonde.test");
    assert_eq!(tr["method"]["rung"], "datagram", "{tr:#}");
    assert_eq!(tr["method"]["probe"], "icmp");
    expect_far(trace(&tr, addr::FAR_V4.into()), true);
    expect_far(trace(&tr, addr::FAR_V6.into()), false);

    ping_group_range(&lab, false);
    let tr = run(&lab, User::Nobody, "tr-unpriv", "", "far.sonde.test");
    assert_eq!(tr["method"]["rung"], "unprivileged", "{tr:#}");
    assert_eq!(tr["method"]["probe"], "udp");
    assert_eq!(tr["method"]["paris"], false);
    let reason = tr["method"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("ICMP probes need a raw or datagram ICMP socket: UDP probes sent instead"),
        "{reason}"
    );
    expect_far(trace(&tr, addr::FAR_V4.into()), true);
    expect_far(trace(&tr, addr::FAR_V6.into()), false);

    // TCP works without privilege too: errors come through each socket's error queue.
    let tr = run(
        &lab,
        User::Nobody,
        "tr-unpriv-tcp",
        "method = \"tcp\"\n",
        "far.sonde.test",
    );
    assert_eq!(
        (
            tr["method"]["rung"].as_str(),
            tr["method"]["probe"].as_str()
        ),
        (Some("unprivileged"), Some("tcp"))
    );
    assert_eq!(
        tr["method"]["paris"], false,
        "a socket, so a port, per probe"
    );
    for (dest, v4) in [
        (IpAddr::from(addr::FAR_V4), true),
        (addr::FAR_V6.into(), false),
    ] {
        let t = trace(&tr, dest);
        expect_far(t, v4);
        // far refuses port 80: each connect's RST ends the trace at hop 6.
        for probe in t["hops"][5]["probes"].as_array().unwrap() {
            assert_eq!(probe["detail"], "refused", "{probe:#}");
        }
    }
}

#[test]
fn text_view_marks_silent_hops_and_the_silent_tail() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    let p = profile(
        "tr-text",
        &settings("method = \"udp\"\naddresses = \"first-per-family\"\n")
            .replace("addresses = \"all\"\n", ""),
    );
    let o = sonde(&lab, User::Root, &["hidden.sonde.test", "--profile", &p]);
    let text = stdout(&o);
    let section = &text[text.find("TRACEROUTE").expect("section")..];
    assert!(
        section.contains("method  UDP, raw socket, one flow (Paris)"),
        "{section}"
    );
    let row = |hop: &str| {
        section
            .lines()
            .map(str::trim_start)
            .find(|l| l.starts_with(&format!("{hop} ")))
            .unwrap_or_else(|| panic!("no row for hop {hop}: {section}"))
            .split_whitespace()
            .collect::<Vec<_>>()
    };
    assert_eq!(row("5")[..3], ["5", "*", "100%"]);
    assert_eq!(
        row("6")[..4],
        ["6", "203.0.113.120", "hidden.sonde.test", "0%"]
    );
    let o = sonde(&lab, User::Root, &["noudp.sonde.test", "--profile", &p]);
    let text = stdout(&o);
    assert!(
        text.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()
                == ["6-8", "*", "100%", "no", "answer"]),
        "{text}"
    );
}
