//! Path collectors against the standard tools, in one lab, in the same run.
//!
//! `cargo bench -p sonde --bench path` (root, network namespaces, `traceroute` and `mtr`
//! installed). Every figure is the median wall time of whole processes run in the lab's
//! client namespace (sonde's includes its dns step and its PTR lookups; traceroute and mtr
//! do their reverse lookups too). Ping's overhead is read from sonde's own report: the ping
//! collector's time minus the (count - 1) x interval its schedule needs.
//!
//! Before anything is timed, every sonde profile runs once and its result is checked (the
//! trace reached its host with the lab's hop addresses, ping got every reply), and each tool
//! must show the far host: a broken run fails the bench instead of being timed.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use sonde_lab::{addr, paths, Lab, Role};

const RUNS: usize = 15;

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    xs[xs.len() / 2]
}

/// Median wall time of each command over `runs` rounds; each round runs every command once,
/// in turn, so that all tools see the same load.
fn walls<const N: usize>(lab: &Lab, runs: usize, commands: [(&str, &[&str]); N]) -> [f64; N] {
    let mut times: [Vec<f64>; N] = std::array::from_fn(|_| Vec::with_capacity(runs));
    for _ in 0..runs {
        for ((program, args), times) in commands.iter().zip(&mut times) {
            let start = Instant::now();
            let out = lab
                .command(Role::Client, program)
                .args(*args)
                .output()
                .expect("run");
            assert!(
                out.status.code().is_some(),
                "{program} {args:?} did not finish"
            );
            times.push(start.elapsed().as_secs_f64() * 1000.0);
        }
    }
    times.map(median)
}

/// Median time of the traceroute collector itself (its start to its end, from the report).
fn collector_ms(lab: &Lab, sonde: &str, target: &str, profile: &str) -> f64 {
    let times = (0..RUNS)
        .map(|_| {
            let out = lab
                .command(Role::Client, sonde)
                .args([target, "-p", profile, "--json"])
                .output()
                .expect("sonde");
            let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
            let run = &report["collectors"]["traceroute"];
            run["end_ms"].as_f64().unwrap_or(f64::NAN) - run["start_ms"].as_f64().unwrap_or(0.0)
        })
        .collect();
    median(times)
}

/// sonde's JSON report of one run of `profile` against `target`.
fn report(lab: &Lab, sonde: &str, target: &str, profile: &str) -> Value {
    let out = lab
        .command(Role::Client, sonde)
        .args([target, "-p", profile, "--json"])
        .output()
        .expect("sonde");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "sonde {target} -p {profile}: no JSON report ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Fails the bench unless the IPv4 trace of `report` reached its destination at hop
/// `hops.len()` through exactly `hops` (`None`: a silent hop) with `probes` probes per hop.
fn check_trace(report: &Value, what: &str, hops: &[Option<String>], probes: u64) {
    let traces = report["sections"]["traceroute"]["traces"]
        .as_array()
        .unwrap_or_else(|| panic!("{what}: no traceroute section: {report:#}"));
    let trace = traces
        .iter()
        .find(|t| t["destination"].as_str().is_some_and(|d| !d.contains(':')))
        .unwrap_or_else(|| panic!("{what}: no IPv4 trace: {report:#}"));
    let seen: Vec<Option<String>> = trace["hops"]
        .as_array()
        .expect("hops")
        .iter()
        .map(|h| h["addresses"][0]["ip"].as_str().map(str::to_string))
        .collect();
    assert_eq!(seen, hops, "{what}: hop addresses: {trace:#}");
    assert_eq!(trace["end"]["reason"], "reached", "{what}: {trace:#}");
    assert_eq!(trace["end"]["hop"], hops.len(), "{what}: {trace:#}");
    for hop in trace["hops"].as_array().expect("hops") {
        assert_eq!(hop["sent"], probes, "{what}: probes per hop: {hop:#}");
    }
}

/// Fails the bench unless `program args` exits successfully and names `expect`.
fn check_tool(lab: &Lab, program: &str, args: &[&str], expect: &str) {
    let out = lab
        .command(Role::Client, program)
        .args(args)
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains(expect),
        "{program} {args:?} did not reach {expect}: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn profile(name: &str, body: &str) -> String {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-path");
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(
        &path,
        format!("name = \"{name}\"\ndescription = \"bench\"\nextends = \"default\"\n{body}"),
    )
    .expect("profile");
    path.display().to_string()
}

fn main() {
    if let Err(e) = sonde_lab::check_available() {
        eprintln!("SKIPPED: {e}");
        return;
    }
    for tool in ["traceroute", "mtr"] {
        if Command::new(tool).arg("--version").output().is_err() {
            eprintln!("SKIPPED: `{tool}` is not installed (apt-get install traceroute mtr-tiny)");
            return;
        }
    }
    let lab = Lab::start().expect("lab");
    let sonde = env!("CARGO_BIN_EXE_sonde");
    // Only dns (A records) and the collector measured: the registry collectors would add
    // their own lookups to the whole-process time.
    let trace_only = |extra: &str| {
        format!(
            "[collectors.ping]\nenabled = false\n[collectors.traceroute]\naddresses = \"first-per-family\"\n{extra}"
        )
    };
    let v4 = "[collectors.dns]\nrecord-types = [\"A\"]\n\
              [collectors.asn]\nenabled = false\n[collectors.geo]\nenabled = false\n\
              [collectors.whois]\nenabled = false\n";
    let q1 = profile("q1", &format!("{v4}{}", trace_only("probes = 1\n")));
    let q3 = profile("q3", &format!("{v4}{}", trace_only("")));
    let dns_only = profile(
        "dns-only",
        &format!(
            "{v4}[collectors.ping]\nenabled = false\n[collectors.traceroute]\nenabled = false\n"
        ),
    );

    let far: Vec<Option<String>> = paths::FAR_V4.iter().map(|a| Some(a.to_string())).collect();
    let hidden: Vec<Option<String>> = paths::HIDDEN_V4
        .iter()
        .map(|a| a.map(|a| a.to_string()))
        .collect();
    for (target, hops, name, profile, probes) in [
        ("far.sonde.test", &far, "q1", &q1, 1),
        ("far.sonde.test", &far, "q3", &q3, 3),
        ("hidden.sonde.test", &hidden, "q1", &q1, 1),
        ("hidden.sonde.test", &hidden, "q3", &q3, 3),
    ] {
        let r = report(&lab, sonde, target, profile);
        check_trace(&r, &format!("{target} with {name}"), hops, probes);
    }
    let r = report(&lab, sonde, "far.sonde.test", &dns_only);
    assert_eq!(
        r["collectors"]["dns"]["outcome"]["status"], "ok",
        "dns-only: {r:#}"
    );
    assert!(
        r["sections"].get("traceroute").is_none(),
        "dns-only traced: {r:#}"
    );
    let far_v4 = addr::FAR_V4.to_string();
    let hidden_v4 = addr::HIDDEN_V4.to_string();
    check_tool(
        &lab,
        "traceroute",
        &["-q", "1", "-N", "16", "far.sonde.test"],
        &far_v4,
    );
    check_tool(
        &lab,
        "traceroute",
        &["-q", "1", "hidden.sonde.test"],
        &hidden_v4,
    );

    println!("traceroute, clean 6-hop path (client -> far), median of {RUNS} runs (mtr: 3), ms");
    let [base, s1, s3, tr16] = walls(
        &lab,
        RUNS,
        [
            (sonde, &["far.sonde.test", "-p", &dns_only]),
            (sonde, &["far.sonde.test", "-p", &q1]),
            (sonde, &["far.sonde.test", "-p", &q3]),
            ("traceroute", &["-q", "1", "-N", "16", "far.sonde.test"]),
        ],
    );
    // mtr paces its rounds at 1 s: a few runs say enough.
    let [mtr] = walls(
        &lab,
        3,
        [("mtr", &["--report", "-c", "1", "far.sonde.test"])],
    );
    let c1 = collector_ms(&lab, sonde, "far.sonde.test", &q1);
    let c3 = collector_ms(&lab, sonde, "far.sonde.test", &q3);
    println!("  sonde (dns only, the floor)         {base:8.1}");
    println!("  traceroute collector alone, 1 / 3 probes per hop (PTR included) {c1:.1} / {c3:.1}");
    println!("  sonde traceroute, 1 probe/hop       {s1:8.1}");
    println!("  sonde traceroute, 3 probes/hop      {s3:8.1}");
    println!(
        "  traceroute -q 1 -N 16               {tr16:8.1}   ratio sonde(1)/traceroute {:.2}",
        s1 / tr16
    );
    println!(
        "  mtr --report -c 1                   {mtr:8.1}   ratio sonde(1)/mtr        {:.4}",
        s1 / mtr
    );

    println!(
        "traceroute, silent 5th hop (client -> hidden), median of {RUNS} runs (classic: 3), ms"
    );
    let [h1, h3, modern] = walls(
        &lab,
        RUNS,
        [
            (sonde, &["hidden.sonde.test", "-p", &q1]),
            (sonde, &["hidden.sonde.test", "-p", &q3]),
            ("traceroute", &["hidden.sonde.test"]),
        ],
    );
    // Classic traceroute waits 5 s per silent probe (15 s a run): three runs.
    let [classic] = walls(&lab, 3, [("traceroute", &["-N", "1", "hidden.sonde.test"])]);
    let ch3 = collector_ms(&lab, sonde, "hidden.sonde.test", &q3);
    println!("  sonde traceroute, 1 probe/hop       {h1:8.1}");
    println!("  traceroute collector alone, 3 probes per hop {ch3:.1}");
    println!("  sonde traceroute, 3 probes/hop      {h3:8.1}");
    println!(
        "  traceroute -N 1 (one probe at once) {classic:8.1}   ratio classic/sonde(3) {:.1}x",
        classic / h3
    );
    println!(
        "  traceroute (defaults, -N 16)        {modern:8.1}   ratio default/sonde(3) {:.1}x",
        modern / h3
    );

    println!("ping overhead beyond the probes (client -> far, IPv4, 4 probes 200 ms apart)");
    let ping = profile(
        "ping",
        &format!("{v4}[collectors.traceroute]\nenabled = false\n[collectors.ping]\ncount = 4\ninterval = \"200ms\"\n"),
    );
    let r = report(&lab, sonde, "far.sonde.test", &ping);
    let target = &r["sections"]["ping"]["targets"][0];
    assert_eq!(
        (target["sent"].as_u64(), target["received"].as_u64()),
        (Some(4), Some(4)),
        "ping to far: {r:#}"
    );
    let overheads: Vec<f64> = (0..RUNS)
        .map(|_| {
            let out = lab
                .command(Role::Client, sonde)
                .args(["far.sonde.test", "-p", &ping, "--json"])
                .output()
                .expect("sonde");
            let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
            let run = &report["collectors"]["ping"];
            let ms =
                run["end_ms"].as_f64().unwrap_or(0.0) - run["start_ms"].as_f64().unwrap_or(0.0);
            let rtt = report["sections"]["ping"]["targets"][0]["rtt"]["max_ms"]
                .as_f64()
                .unwrap_or(0.0);
            ms - Duration::from_millis(600).as_secs_f64() * 1000.0 - rtt
        })
        .collect();
    println!(
        "  collector time - 3 x 200 ms - last RTT: median {:.2} ms, max {:.2} ms",
        median(overheads.clone()),
        overheads.iter().copied().fold(0.0, f64::max)
    );
}
