//! How long it takes to put an AS on every hop of a traceroute: sonde's
//! batch lookup against the same queries made with `dig`, one process per
//! query (a shell loop) and one process for all of them (`dig -f`). Every
//! query goes to a DNS server on 127.0.0.1 serving the lab's Cymru records.
//!
//! `cargo bench -p sonde-asn --bench lookup` (SONDE_BENCH_RUNS, default 20).

use std::net::IpAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sonde_asn::{AsnConfig, AsnLookup, Status};
use sonde_core::SpecialRange;
use sonde_dns::Resolver;
use sonde_lab::zone::cymru::{self, LAB_CYMRU_ZONE, MALFORMED_ORIGIN_IP};
use sonde_lab::Topology;

#[path = "../tests/support/mod.rs"]
mod support;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let runs: usize = std::env::var("SONDE_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let server = rt.block_on(support::serve(support::Mode::Zone));
    let ips: Vec<IpAddr> = Topology::standard()
        .addresses()
        .into_iter()
        .map(|(ip, _)| ip)
        .filter(|ip| *ip != IpAddr::V4(MALFORMED_ORIGIN_IP))
        .collect();
    let base = LAB_CYMRU_ZONE.trim_end_matches('.');
    let config = AsnConfig {
        origin_zone: format!("origin.{base}"),
        origin6_zone: format!("origin6.{base}"),
        asn_zone: base.to_string(),
        local_ranges: vec![SpecialRange::Private],
        ..AsnConfig::default()
    };
    let resolver = Resolver::new(vec![server.addr]).with_query_timeout(Duration::from_secs(2));
    let lookup = AsnLookup::from_config(Some(resolver), &config, None);

    // The queries dig makes: the same origins, then each AS name once.
    let first = rt
        .block_on(lookup.lookup_many(&ips, tokio::time::Instant::now() + Duration::from_secs(10)));
    assert!(first
        .addresses
        .iter()
        .all(|a| a.status == Status::Announced));
    let mut names: Vec<String> = ips
        .iter()
        .map(|ip| cymru::origin_name(*ip, LAB_CYMRU_ZONE))
        .collect();
    names.extend(
        first
            .systems
            .iter()
            .map(|s| format!("AS{}.{LAB_CYMRU_ZONE}", s.asn)),
    );
    let batch = std::env::temp_dir().join(format!("sonde-asn-bench-{}.txt", std::process::id()));
    std::fs::write(
        &batch,
        names
            .iter()
            .map(|n| format!("{n} TXT\n"))
            .collect::<String>(),
    )
    .expect("batch file");
    let port = server.addr.port().to_string();
    let dig = |args: &[&str]| {
        let ok = Command::new("dig")
            .args(["@127.0.0.1", "-p", &port, "+short", "+tries=1", "+time=2"])
            .args(args)
            .stdout(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "dig failed: is it installed (bind9-dnsutils)?");
    };

    let (mut sonde, mut loop_, mut file) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let t = Instant::now();
        let answers = rt.block_on(
            lookup.lookup_many(&ips, tokio::time::Instant::now() + Duration::from_secs(10)),
        );
        sonde.push(t.elapsed());
        assert_eq!(answers.addresses.len(), ips.len());
        let t = Instant::now();
        for name in &names {
            dig(&[name, "TXT"]);
        }
        loop_.push(t.elapsed());
        let t = Instant::now();
        dig(&["-f", batch.to_str().expect("utf-8 path")]);
        file.push(t.elapsed());
    }
    let _ = std::fs::remove_file(&batch);
    let (s, l, f) = (median(sonde), median(loop_), median(file));
    println!(
        "asn lookup of {} addresses ({} queries), median of {runs} runs",
        ips.len(),
        names.len()
    );
    println!("{:<34} {:>9}  {:>7}", "", "ms", "× sonde");
    println!(
        "{:<34} {:>9.2}  {:>7.2}",
        "sonde_asn::AsnLookup::lookup_many",
        ms(s),
        1.0
    );
    println!(
        "{:<34} {:>9.2}  {:>7.2}",
        "dig, one process per query",
        ms(l),
        ms(l) / ms(s)
    );
    println!(
        "{:<34} {:>9.2}  {:>7.2}",
        "dig -f (one process, sequential)",
        ms(f),
        ms(f) / ms(s)
    );
    println!(
        "{{\"bench\":\"asn_lookup\",\"addresses\":{},\"queries\":{},\"sonde_ms\":{:.3},\"dig_loop_ms\":{:.3},\"dig_file_ms\":{:.3}}}",
        ips.len(),
        names.len(),
        ms(s),
        ms(l),
        ms(f)
    );
}
