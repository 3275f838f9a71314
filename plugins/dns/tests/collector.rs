//! The dns collector against a real (tiny) DNS server on 127.0.0.1.
//!
//! Every test names its servers explicitly; the ones that must send nothing
//! point at a server and check it saw no query.

mod support;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use sonde_core::{Context, Failure, RunFlags, Target, TypedCollector};
use sonde_dns::{
    lookup_txt, DnsCollector, DnsConfig, DnsOutput, RecordType, Resolver, Source, Status, Transport,
};
use support::{Mode, Seen, TestServer, SLOW};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

fn config(servers: &[&TestServer]) -> DnsConfig {
    DnsConfig {
        nameservers: servers.iter().map(|s| s.addr.to_string()).collect(),
        query_timeout: Duration::from_millis(400),
        attempts: 1,
        // An empty hosts file: only the zone answers.
        hosts_file: "/nonexistent/sonde-test/hosts".into(),
        ..DnsConfig::default()
    }
}

fn context(target: &str, budget: Duration, cancel: CancellationToken) -> Context {
    let target = Target::parse(target).expect("test target parses");
    Context::new(
        Arc::new(target),
        BTreeMap::new(),
        Instant::now() + budget,
        cancel,
        Arc::new(RunFlags::default()),
    )
}

async fn run(target: &str, config: &DnsConfig) -> Result<DnsOutput, Failure> {
    config.check().expect("test settings are valid");
    let ctx = context(target, Duration::from_secs(5), CancellationToken::new());
    DnsCollector.collect(config, &ctx).await
}

async fn ok(target: &str, config: &DnsConfig) -> DnsOutput {
    run(target, config)
        .await
        .unwrap_or_else(|e| panic!("{target}: {e:?}"))
}

/// The failure's message; a failure for want of an address must still carry
/// the lookups made on the way.
fn failed(result: Result<DnsOutput, Failure>) -> String {
    match result {
        Err(Failure::Failed(msg)) => msg,
        Err(Failure::Partial { error, section }) => {
            let out = section.get::<DnsOutput>().expect("a dns section");
            assert!(
                out.addresses.is_empty(),
                "{error}: partial output with addresses"
            );
            error
        }
        other => panic!("expected a failure, got {other:?}"),
    }
}

fn ips(texts: &[&str]) -> Vec<IpAddr> {
    texts.iter().map(|t| t.parse().expect("address")).collect()
}

/// (value, ttl) of a lookup's records.
fn records(out: &DnsOutput, t: RecordType) -> Vec<(String, Option<u32>)> {
    out.lookup(t)
        .unwrap_or_else(|| panic!("{t} was asked"))
        .records
        .iter()
        .map(|r| (r.value.clone(), r.ttl))
        .collect()
}

fn rec(value: &str, ttl: u32) -> (String, Option<u32>) {
    (value.to_string(), Some(ttl))
}

#[tokio::test]
async fn every_record_type_with_ttls_and_server() {
    let server = TestServer::start().await;
    let out = ok("www.example.test", &config(&[&server])).await;

    assert_eq!(out.query, "www.example.test");
    assert!(!out.is_address);
    assert_eq!(out.resolver.nameservers, vec![server.addr]);
    assert_eq!(
        out.addresses(),
        ips(&["192.0.2.10", "192.0.2.11", "2001:db8::10"])
    );
    assert!(out.addresses.iter().all(|a| a.source == Source::Dns));
    assert!(out.local.is_none());
    assert!(out.cname_chain.is_empty());

    assert_eq!(
        records(&out, RecordType::A),
        vec![rec("192.0.2.10", 300), rec("192.0.2.11", 300)]
    );
    assert_eq!(
        records(&out, RecordType::Aaaa),
        vec![rec("2001:db8::10", 600)]
    );
    assert_eq!(
        records(&out, RecordType::Mx),
        vec![
            rec("10 mx.example.test", 3600),
            rec("20 mx2.example.test", 3600)
        ]
    );
    assert_eq!(
        records(&out, RecordType::Ns),
        vec![rec("ns1.example.test", 7200)]
    );
    assert_eq!(
        records(&out, RecordType::Soa),
        vec![rec(
            "ns1.example.test hostmaster.example.test 2024010101 7200 900 1209600 300",
            900
        )]
    );
    assert_eq!(
        records(&out, RecordType::Txt),
        vec![rec("v=spf1 -all", 120)]
    );
    assert_eq!(
        records(&out, RecordType::Caa),
        vec![rec("0 issue \"ca.example.net\"", 1800)]
    );
    assert_eq!(
        out.lookup(RecordType::Cname).map(|l| l.status),
        Some(Status::NoData)
    );

    for lookup in out.lookups.values() {
        assert_eq!(lookup.server, Some(server.addr), "{}", lookup.record_type);
        assert_eq!(lookup.transport, Some(Transport::Udp));
        assert!(lookup.authoritative);
        assert!(lookup.failed_servers.is_empty());
        if lookup.record_type != RecordType::Cname {
            assert_eq!(lookup.status, Status::Answered, "{}", lookup.record_type);
        }
    }

    let ptr: Vec<(IpAddr, Status, Vec<&str>, Option<u32>)> = out
        .ptr
        .iter()
        .map(|p| {
            (
                p.ip,
                p.lookup.status,
                p.names().collect(),
                p.lookup.min_ttl(),
            )
        })
        .collect();
    let [v4a, v4b, v6] = ips(&["192.0.2.10", "192.0.2.11", "2001:db8::10"])[..] else {
        unreachable!()
    };
    assert_eq!(
        ptr,
        vec![
            (v4a, Status::Answered, vec!["www.example.test"], Some(86400)),
            (v4b, Status::NxDomain, vec![], None),
            (v6, Status::Answered, vec!["www.example.test"], Some(86400)),
        ]
    );
    assert_eq!(out.ptr[0].lookup.name, "10.2.0.192.in-addr.arpa");
    assert!(out
        .ptr
        .iter()
        .all(|p| p.source == Source::Dns && p.lookup.server == Some(server.addr)));
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    // 8 types and 3 PTR, each asked exactly once, over UDP.
    assert_eq!(server.count(), 11, "{:?}", server.seen());
    assert!(server.seen().iter().all(|s| !s.tcp));
}

#[tokio::test]
async fn cname_chain_followed_by_the_server() {
    let server = TestServer::start().await;
    let out = ok("alias.example.test", &config(&[&server])).await;
    let chain: Vec<(&str, &str, u32)> = out
        .cname_chain
        .iter()
        .map(|l| (l.name.as_str(), l.target.as_str(), l.ttl))
        .collect();
    assert_eq!(
        chain,
        vec![
            ("alias.example.test", "alias2.example.test", 60),
            ("alias2.example.test", "www.example.test", 120),
        ]
    );
    assert_eq!(out.canonical_name(), "www.example.test");
    assert_eq!(
        out.addresses(),
        ips(&["192.0.2.10", "192.0.2.11", "2001:db8::10"])
    );
    let a = out.lookup(RecordType::A).expect("A asked");
    assert_eq!(a.records[0].name, "www.example.test");
    assert_eq!(
        records(&out, RecordType::Cname),
        vec![rec("alias2.example.test", 60)]
    );
    // MX follows the chain too.
    assert_eq!(
        records(&out, RecordType::Mx)[0],
        rec("10 mx.example.test", 3600)
    );
}

#[tokio::test]
async fn cname_chased_when_the_server_does_not() {
    let server = TestServer::start().await;
    let out = ok("hop.example.test", &config(&[&server])).await;
    assert_eq!(out.cname_chain.len(), 1);
    assert_eq!(out.cname_chain[0].target, "www.example.test");
    assert_eq!(
        out.addresses(),
        ips(&["192.0.2.10", "192.0.2.11", "2001:db8::10"])
    );
    let asked: Vec<Seen> = server
        .seen()
        .into_iter()
        .filter(|s| s.rtype == "A")
        .collect();
    let names: Vec<&str> = asked.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, vec!["hop.example.test", "www.example.test"]);
}

#[tokio::test]
async fn cname_loop_is_an_error_not_a_hang() {
    let server = TestServer::start().await;
    let msg = failed(run("loop1.example.test", &config(&[&server])).await);
    assert!(
        msg.starts_with("no A or AAAA record for loop1.example.test"),
        "{msg}"
    );
    assert!(msg.contains("CNAME loop"), "{msg}");
}

#[tokio::test]
async fn nxdomain_is_a_precise_failure() {
    let server = TestServer::start().await;
    let msg = failed(run("missing.example.test", &config(&[&server])).await);
    assert_eq!(
        msg,
        format!(
            "no A or AAAA record for missing.example.test (NXDOMAIN from {})",
            server.addr
        )
    );
}

#[tokio::test]
async fn nodata_is_a_precise_failure() {
    let server = TestServer::start().await;
    let msg = failed(run("nodata.example.test", &config(&[&server])).await);
    assert_eq!(
        msg,
        format!(
            "no A or AAAA record for nodata.example.test (NODATA from {})",
            server.addr
        )
    );
}

#[tokio::test]
async fn servfail_refused_and_silence_are_failures() {
    let server = TestServer::start().await;
    let cases = [
        (
            "servfail.example.test",
            format!("(SERVFAIL from {})", server.addr),
        ),
        (
            "refused.example.test",
            format!("(REFUSED from {})", server.addr),
        ),
        (
            "blackhole.example.test",
            format!("(timeout: no reply from {} within 400ms)", server.addr),
        ),
    ];
    for (name, want) in cases {
        let msg = failed(run(name, &config(&[&server])).await);
        assert_eq!(msg, format!("no A or AAAA record for {name} {want}"));
    }
}

#[tokio::test]
async fn each_type_keeps_its_own_status() {
    let server = TestServer::start().await;
    let started = Instant::now();
    let out = ok("flaky.example.test", &config(&[&server])).await;
    let statuses: BTreeMap<RecordType, Status> =
        out.lookups.iter().map(|(t, l)| (*t, l.status)).collect();
    let want: BTreeMap<RecordType, Status> = [
        (RecordType::A, Status::Answered),
        (RecordType::Aaaa, Status::NoData),
        (RecordType::Cname, Status::NoData),
        (RecordType::Mx, Status::ServFail),
        (RecordType::Ns, Status::Error),
        (RecordType::Soa, Status::NoData),
        (RecordType::Txt, Status::Refused),
        (RecordType::Caa, Status::Timeout),
    ]
    .into();
    assert_eq!(statuses, want);
    assert_eq!(
        out.lookup(RecordType::Ns)
            .and_then(|l| l.detail.clone())
            .as_deref(),
        Some("response code Not Implemented")
    );
    assert_eq!(out.addresses(), ips(&["192.0.2.20"]));
    assert_eq!(
        out.ptr[0].names().collect::<Vec<_>>(),
        vec!["flaky.example.test"]
    );
    // Concurrent: one 400 ms timeout, not one per failing type.
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    let warnings = out.warnings.join("\n");
    for want in [
        "MX: SERVFAIL from",
        "TXT: REFUSED from",
        "CAA: timeout: no reply",
        "NS: error from",
    ] {
        assert!(warnings.contains(want), "{want:?} not in {warnings}");
    }
    let text = format!("{:?}", DnsCollector.view(&out));
    assert!(
        text.contains("SERVFAIL") && text.contains("192.0.2.20"),
        "{text}"
    );
}

#[tokio::test]
async fn truncated_udp_answer_is_retried_over_tcp() {
    let server = TestServer::start().await;
    let cfg = DnsConfig {
        record_types: vec![RecordType::A],
        ptr: false,
        ..config(&[&server])
    };
    let out = ok("big.example.test", &cfg).await;
    let a = out.lookup(RecordType::A).expect("A asked");
    assert_eq!(a.status, Status::Answered);
    assert_eq!(a.transport, Some(Transport::Tcp));
    assert_eq!(a.records.len(), 40);
    assert_eq!(
        a.records[39],
        sonde_dns::Record {
            name: "big.example.test".into(),
            ttl: Some(300),
            value: "198.51.100.39".into(),
        }
    );
    let seen: Vec<bool> = server.seen().iter().map(|s| s.tcp).collect();
    assert_eq!(seen, vec![false, true]);
}

#[tokio::test]
async fn slow_answers_within_the_timeout_are_kept() {
    let server = TestServer::start().await;
    let cfg = DnsConfig {
        record_types: vec![RecordType::A],
        ptr: false,
        query_timeout: Duration::from_secs(2),
        ..config(&[&server])
    };
    let out = ok("slow.example.test", &cfg).await;
    let a = out.lookup(RecordType::A).expect("A asked");
    assert_eq!(records(&out, RecordType::A), vec![rec("192.0.2.30", 300)]);
    assert!(a.elapsed_ms >= SLOW.as_millis() as u64, "{}", a.elapsed_ms);
    assert!(a.elapsed_ms < 1500, "{}", a.elapsed_ms);
}

#[tokio::test]
async fn next_server_is_asked_when_the_first_is_dead() {
    let dead = TestServer::start_mode(Mode::Mute).await;
    let good = TestServer::start().await;
    let cfg = DnsConfig {
        record_types: vec![RecordType::A],
        ptr: false,
        ..config(&[&dead, &good])
    };
    let out = ok("www.example.test", &cfg).await;
    let a = out.lookup(RecordType::A).expect("A asked");
    assert_eq!(a.status, Status::Answered);
    assert_eq!(a.server, Some(good.addr));
    assert_eq!(a.failed_servers.len(), 1);
    assert_eq!(a.failed_servers[0].server, dead.addr);
    assert_eq!(a.failed_servers[0].status, Status::Timeout);
    assert_eq!(dead.count(), 1);
    assert!(
        out.warnings[0].contains("answered by the next server"),
        "{:?}",
        out.warnings
    );
}

#[tokio::test]
async fn an_address_target_gets_ptr_only() {
    let server = TestServer::start().await;
    let out = ok("192.0.2.10", &config(&[&server])).await;
    assert!(out.is_address);
    assert_eq!(out.addresses.len(), 1);
    assert_eq!(out.addresses[0].source, Source::Literal);
    assert!(out.lookups.is_empty());
    assert_eq!(
        out.ptr[0].names().collect::<Vec<_>>(),
        vec!["www.example.test"]
    );
    assert_eq!(
        server.seen(),
        vec![Seen {
            name: "10.2.0.192.in-addr.arpa".into(),
            rtype: "PTR".into(),
            tcp: false
        }]
    );
}

#[tokio::test]
async fn hostile_reply_is_an_error_value() {
    let server = TestServer::start().await;
    let msg = failed(run("garbage.example.test", &config(&[&server])).await);
    assert!(
        msg.starts_with("no A or AAAA record for garbage.example.test (error from"),
        "{msg}"
    );
}

#[tokio::test]
async fn localhost_sends_nothing() {
    let trap = TestServer::start().await;
    let dir = std::env::temp_dir().join(format!("sonde-dns-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let hosts = dir.join("hosts");
    std::fs::write(
        &hosts,
        "127.0.0.1 localhost\n192.0.2.99 pinned.example.test pinned\n",
    )
    .expect("hosts file");
    let cfg = DnsConfig {
        hosts_file: hosts.clone(),
        ..config(&[&trap])
    };

    let out = ok("localhost", &cfg).await;
    assert_eq!(out.addresses(), ips(&["127.0.0.1"]));
    assert_eq!(out.addresses[0].source, Source::Hosts);
    assert_eq!(out.local.as_ref().map(|l| l.source), Some(Source::Hosts));
    assert!(out.lookups.is_empty());
    assert_eq!(out.ptr[0].names().collect::<Vec<_>>(), vec!["localhost"]);

    let out = ok("app.localhost", &cfg).await;
    assert_eq!(out.addresses(), ips(&["127.0.0.1", "::1"]));
    assert!(out.addresses.iter().all(|a| a.source == Source::SpecialUse));
    assert!(out
        .ptr
        .iter()
        .all(|p| p.lookup.status == Status::Answered && p.lookup.server.is_none()));

    let out = ok("pinned.example.test", &cfg).await;
    assert_eq!(out.addresses(), ips(&["192.0.2.99"]));
    assert_eq!(out.addresses[0].source, Source::Hosts);
    assert!(out
        .local
        .as_ref()
        .is_some_and(|l| l.reason.contains("other record types not queried")));
    assert_eq!(
        out.ptr[0].names().collect::<Vec<_>>(),
        vec!["pinned.example.test", "pinned"]
    );

    // With the hosts file off, localhost is still the loopback.
    let out = ok(
        "localhost",
        &DnsConfig {
            use_hosts: false,
            ..cfg.clone()
        },
    )
    .await;
    assert_eq!(out.addresses(), ips(&["127.0.0.1", "::1"]));
    assert_eq!(out.resolver.hosts_file, None);

    let out = ok("127.0.0.1", &cfg).await;
    assert_eq!(out.ptr[0].source, Source::Hosts);

    assert_eq!(trap.count(), 0, "{:?}", trap.seen());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn special_use_names_fail_without_a_query() {
    let trap = TestServer::start().await;
    let msg = failed(run("www.example.invalid", &config(&[&trap])).await);
    assert_eq!(
        msg,
        "no address for www.example.invalid: .invalid names never exist (RFC 6761 §6.4); no query was sent"
    );
    let msg = failed(
        run(
            "duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad.onion",
            &config(&[&trap]),
        )
        .await,
    );
    assert!(msg.contains("RFC 7686"), "{msg}");
    assert_eq!(trap.count(), 0);
}

#[tokio::test]
async fn the_deadline_bounds_every_query() {
    let server = TestServer::start().await;
    let cfg = DnsConfig {
        query_timeout: Duration::from_secs(5),
        ..config(&[&server])
    };
    let ctx = context(
        "blackhole.example.test",
        Duration::from_millis(300),
        CancellationToken::new(),
    );
    let started = Instant::now();
    let msg = failed(DnsCollector.collect(&cfg, &ctx).await);
    assert!(
        started.elapsed() < Duration::from_millis(800),
        "{:?}",
        started.elapsed()
    );
    assert!(msg.contains("timeout"), "{msg}");
}

/// dns stops its queries before its deadline, so the run gets the
/// collector's own section (the lookups made) rather than a bare timeout
/// decided by whichever timer fires first.
#[tokio::test]
async fn a_silent_server_fails_before_the_deadline_with_the_lookups() {
    let mute = TestServer::start_mode(Mode::Mute).await;
    let cfg = DnsConfig {
        query_timeout: Duration::from_secs(5),
        ..config(&[&mute])
    };
    let ctx = context(
        "www.example.test",
        Duration::from_millis(500),
        CancellationToken::new(),
    );
    let result = DnsCollector.collect(&cfg, &ctx).await;
    assert!(
        Instant::now() < ctx.deadline(),
        "returned {:?} after its deadline",
        Instant::now() - ctx.deadline()
    );
    match result {
        Err(Failure::Partial { error, section }) => {
            let out = section.get::<DnsOutput>().expect("a dns section");
            assert_eq!(out.lookup(RecordType::A).unwrap().status, Status::Timeout);
            assert!(error.contains("timeout"), "{error}");
        }
        other => panic!("expected a partial failure, got {other:?}"),
    }
}

/// For an address target the address is the answer: a PTR that never comes
/// is a warning, and the collector succeeds in time for the others.
#[tokio::test]
async fn an_address_target_succeeds_when_ptr_times_out() {
    let mute = TestServer::start_mode(Mode::Mute).await;
    let cfg = DnsConfig {
        query_timeout: Duration::from_secs(5),
        ..config(&[&mute])
    };
    let ctx = context(
        "192.0.2.10",
        Duration::from_millis(500),
        CancellationToken::new(),
    );
    let out = DnsCollector
        .collect(&cfg, &ctx)
        .await
        .expect("the address is the answer");
    assert!(
        Instant::now() < ctx.deadline(),
        "returned after its deadline"
    );
    assert_eq!(out.addresses.len(), 1);
    assert_eq!(out.ptr[0].lookup.status, Status::Timeout);
    assert!(
        out.warnings.iter().any(|w| w.starts_with("PTR 192.0.2.10")),
        "{:?}",
        out.warnings
    );
}

#[tokio::test]
async fn cancellation_stops_at_once() {
    let server = TestServer::start().await;
    let cfg = DnsConfig {
        query_timeout: Duration::from_secs(5),
        ..config(&[&server])
    };
    let cancel = CancellationToken::new();
    let ctx = context(
        "blackhole.example.test",
        Duration::from_secs(10),
        cancel.clone(),
    );
    let started = Instant::now();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        cancel.cancel();
    });
    let result = DnsCollector.collect(&cfg, &ctx).await;
    assert!(
        started.elapsed() < Duration::from_millis(600),
        "{:?}",
        started.elapsed()
    );
    assert!(
        matches!(result, Err(Failure::Failed(ref m)) if m.contains("cancelled")),
        "{result:?}"
    );
}

#[tokio::test]
async fn txt_helper_uses_the_same_servers() {
    let server = TestServer::start().await;
    let out = ok("www.example.test", &config(&[&server])).await;
    let resolver = Resolver::from_info(&out.resolver);
    assert_eq!(resolver.nameservers(), &[server.addr]);
    assert_eq!(
        lookup_txt(&resolver, "www.example.test").await,
        Ok(vec!["v=spf1 -all".to_string()])
    );
    assert_eq!(
        lookup_txt(&resolver, "missing.example.test").await,
        Ok(vec![])
    );
    let err = lookup_txt(&resolver, "servfail.example.test")
        .await
        .expect_err("SERVFAIL");
    assert_eq!(err.status, Status::ServFail);
}

#[tokio::test]
async fn section_round_trips_through_json() {
    let server = TestServer::start().await;
    let out = ok("alias.example.test", &config(&[&server])).await;
    let section = sonde_core::Section::typed(out.clone()).expect("serialises");
    let json = section.as_json();
    assert_eq!(
        json["addresses"][0],
        serde_json::json!({"ip": "192.0.2.10", "source": "dns"})
    );
    assert_eq!(json["lookups"]["A"]["status"], "answered");
    assert_eq!(json["lookups"]["A"]["records"][0]["ttl"], 300);
    assert_eq!(json["resolver"]["source"], "configured");
    let back: DnsOutput = serde_json::from_value(json.clone()).expect("reads back");
    assert_eq!(back, out);
}

/// Settings with a search list, as a corporate resolv.conf would give.
fn searching(server: &TestServer, search: &[&str], ndots: Option<u8>) -> DnsConfig {
    DnsConfig {
        search: Some(search.iter().map(|s| s.to_string()).collect()),
        ndots,
        ..config(&[server])
    }
}

/// The distinct names the server was asked (PTR aside), in the order first
/// asked.
fn names_asked(server: &TestServer) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for seen in server.seen().into_iter().filter(|s| s.rtype != "PTR") {
        if !names.contains(&seen.name) {
            names.push(seen.name);
        }
    }
    names
}

fn searched(out: &DnsOutput) -> Vec<(String, Status)> {
    out.searched
        .iter()
        .map(|s| (s.name.clone(), s.status))
        .collect()
}

#[tokio::test]
async fn single_label_name_is_found_through_a_search_domain() {
    let server = TestServer::start().await;
    let cfg = searching(&server, &["nowhere.test", "example.test"], None);
    let out = ok("www", &cfg).await;

    assert_eq!(out.query, "www");
    assert_eq!(out.resolved_name.as_deref(), Some("www.example.test"));
    assert_eq!(out.name(), "www.example.test");
    assert_eq!(
        searched(&out),
        vec![
            ("www.nowhere.test".to_string(), Status::NxDomain),
            ("www.example.test".to_string(), Status::Answered),
        ]
    );
    assert_eq!(
        out.addresses(),
        ips(&["192.0.2.10", "192.0.2.11", "2001:db8::10"])
    );
    // The other record types are those of the name that answered.
    assert_eq!(
        records(&out, RecordType::Mx),
        vec![
            rec("10 mx.example.test", 3600),
            rec("20 mx2.example.test", 3600)
        ]
    );
    assert_eq!(out.resolver.search, vec!["nowhere.test", "example.test"]);
    assert_eq!(out.resolver.ndots, 1);
    // Fewer dots than ndots: the suffixes come first, and the search stops
    // at the first name with an address, so `www` alone is never asked.
    assert_eq!(
        names_asked(&server),
        vec!["www.nowhere.test", "www.example.test"]
    );
    let nowhere: Vec<String> = server
        .seen()
        .into_iter()
        .filter(|s| s.name == "www.nowhere.test")
        .map(|s| s.rtype)
        .collect();
    assert_eq!(
        nowhere.len(),
        2,
        "only A and AAAA of a name without address: {nowhere:?}"
    );
}

#[tokio::test]
async fn name_with_enough_dots_is_asked_as_is_first() {
    let server = TestServer::start().await;
    let out = ok(
        "www.example.test",
        &searching(&server, &["example.test"], Some(2)),
    )
    .await;
    assert_eq!(out.resolved_name.as_deref(), Some("www.example.test"));
    assert_eq!(
        searched(&out),
        vec![("www.example.test".to_string(), Status::Answered)]
    );
    assert_eq!(names_asked(&server), vec!["www.example.test"]);

    // The same name below ndots gets the suffixes first, then itself.
    let server = TestServer::start().await;
    let out = ok(
        "www.example.test",
        &searching(&server, &["nowhere.test"], Some(3)),
    )
    .await;
    assert_eq!(
        searched(&out),
        vec![
            (
                "www.example.test.nowhere.test".to_string(),
                Status::NxDomain
            ),
            ("www.example.test".to_string(), Status::Answered),
        ]
    );
    assert_eq!(out.resolved_name.as_deref(), Some("www.example.test"));
    assert_eq!(
        names_asked(&server),
        vec!["www.example.test.nowhere.test", "www.example.test"]
    );
}

#[tokio::test]
async fn trailing_dot_is_never_searched() {
    let server = TestServer::start().await;
    let cfg = searching(&server, &["example.test"], Some(5));
    let msg = failed(run("www.", &cfg).await);
    assert_eq!(
        msg,
        format!(
            "no A or AAAA record for www (NXDOMAIN from {})",
            server.addr
        )
    );
    assert_eq!(names_asked(&server), vec!["www"]);

    let server = TestServer::start().await;
    let cfg = searching(&server, &["example.test"], Some(5));
    let out = ok("https://www.example.test.:8443/path", &cfg).await;
    assert_eq!(
        searched(&out),
        vec![("www.example.test".to_string(), Status::Answered)]
    );
    assert_eq!(names_asked(&server), vec!["www.example.test"]);
}

#[tokio::test]
async fn nxdomain_everywhere_names_every_name_tried() {
    let server = TestServer::start().await;
    let cfg = searching(&server, &["a.test", "b.test"], None);
    let result = run("missing", &cfg).await;
    let Err(Failure::Partial { section, .. }) = &result else {
        panic!("expected a partial failure, got {result:?}");
    };
    let out = section.get::<DnsOutput>().expect("a dns section");
    assert_eq!(out.resolved_name, None);
    assert_eq!(
        searched(&out),
        vec![
            ("missing.a.test".to_string(), Status::NxDomain),
            ("missing.b.test".to_string(), Status::NxDomain),
            ("missing".to_string(), Status::NxDomain),
        ]
    );
    let s = server.addr;
    assert_eq!(
        failed(result),
        format!(
            "no A or AAAA record for missing; tried missing.a.test (NXDOMAIN from {s}), \
             missing.b.test (NXDOMAIN from {s}), missing (NXDOMAIN from {s})"
        )
    );
}

#[tokio::test]
async fn a_server_failure_stops_the_search() {
    let server = TestServer::start().await;
    let cfg = searching(
        &server,
        &["nowhere.test", "example.test", "www.example.test"],
        None,
    );
    // `servfail.example.test` fails; `servfail.www.example.test` would not
    // exist either, but the search must not go past a failure to find out.
    let msg = failed(run("servfail", &cfg).await);
    let s = server.addr;
    assert_eq!(
        msg,
        format!(
            "no A or AAAA record for servfail; tried servfail.nowhere.test (NXDOMAIN from {s}), \
             servfail.example.test (SERVFAIL from {s}); the search stopped there, as the C \
             library does on a server failure"
        )
    );
    assert_eq!(
        names_asked(&server),
        vec!["servfail.nowhere.test", "servfail.example.test"]
    );
}

#[tokio::test]
async fn hosts_file_answers_the_bare_name_before_any_search() {
    let trap = TestServer::start().await;
    let dir = std::env::temp_dir().join(format!("sonde-dns-search-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let hosts = dir.join("hosts");
    std::fs::write(&hosts, "192.0.2.99 pinned\n").expect("hosts file");
    let cfg = DnsConfig {
        hosts_file: hosts,
        ..searching(&trap, &["example.test"], None)
    };
    let out = ok("pinned", &cfg).await;
    assert_eq!(out.addresses(), ips(&["192.0.2.99"]));
    assert_eq!(out.resolved_name, None);
    assert!(out.searched.is_empty());
    assert_eq!(out.name(), "pinned");

    // An address target is not a name: nothing is searched either.
    let out = ok("192.0.2.10", &cfg).await;
    assert!(out.searched.is_empty() && out.resolved_name.is_none());

    let ptr_only: Vec<Seen> = trap
        .seen()
        .into_iter()
        .filter(|s| s.rtype != "PTR")
        .collect();
    assert!(ptr_only.is_empty(), "{ptr_only:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
