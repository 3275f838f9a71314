//! Port scan and TLS inspection against the lab, next to the standard tools in the same run:
//! `nmap -sT`, `nmap -sS`, RustScan (when installed), `openssl s_client` and
//! `nmap --script ssl-cert`. Every comparison also checks that the tools agree on the result.
//!
//! `cargo bench -p sonde --bench ports_tls` (root, nmap and openssl installed). Knobs:
//! `SONDE_BENCH_RUNS` (timed runs per tool and case, default 3; the median is reported),
//! `SONDE_BENCH_SLOW_NMAP_RUNS` (runs of nmap on the filtered host, default 1: it takes
//! minutes), `RUSTSCAN` (path of a rustscan binary; else `rustscan` on PATH, else skipped).
//! Traffic goes only to the lab's target host, in namespaces this bench creates.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use sonde_lab::{addr, ports, Lab, Role};

const SONDE: &str = env!("CARGO_BIN_EXE_sonde");

fn runs(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(default)
}

/// Runs a command `n` times; the median time and the last output.
fn timed(n: usize, mut make: impl FnMut() -> Command) -> (Duration, Output) {
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..n {
        let mut command = make();
        let start = Instant::now();
        let out = command.output().expect("the command runs");
        times.push(start.elapsed());
        last = Some(out);
    }
    times.sort();
    (times[times.len() / 2], last.expect("at least one run"))
}

fn secs(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{:.1} ms", d.as_secs_f64() * 1000.0)
    } else {
        format!("{:.2} s", d.as_secs_f64())
    }
}

/// The default profile's other collectors, off: each row times dns, the scan (and tls) alone.
const OTHERS_OFF: &str =
    "[collectors.ping]\nenabled = false\n[collectors.traceroute]\nenabled = false\n\
                          [collectors.whois]\nenabled = false\n[collectors.asn]\nenabled = false\n\
                          [collectors.geo]\nenabled = false\n";

fn profile(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sonde-bench-ports-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(
        &path,
        format!("name = \"{name}\"\nextends = \"default\"\n{OTHERS_OFF}{text}"),
    )
    .expect("profile");
    path
}

fn sonde(lab: &Lab, target: &str, profile: &PathBuf) -> Command {
    let mut c = lab.command(Role::Client, SONDE);
    c.args([
        target,
        "--ports",
        "--json",
        "--timeout",
        "300s",
        "--profile",
    ])
    .arg(profile)
    .env("NO_COLOR", "1");
    c
}

fn tool(lab: &Lab, program: &str, args: &[&str]) -> Command {
    let mut c = lab.command(Role::Client, program);
    c.args(args);
    c
}

/// `(open, filtered)` from sonde's JSON for the first address.
fn sonde_sets(out: &Output) -> (BTreeSet<u16>, BTreeSet<u16>, String) {
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("sonde JSON");
    let section = &report["sections"]["ports"];
    let host = &section["hosts"][0];
    let open = host["open"]
        .as_array()
        .expect("open")
        .iter()
        .filter_map(|p| p["port"].as_u64())
        .map(|p| p as u16)
        .collect();
    let filtered = match host["filtered"].as_str() {
        Some("") | None => BTreeSet::new(),
        Some(text) => sonde_ports::PortSet::parse(text)
            .expect("ports")
            .ports()
            .iter()
            .copied()
            .collect(),
    };
    (
        open,
        filtered,
        section["method"].as_str().unwrap_or("?").to_string(),
    )
}

/// `(open, filtered)` from `nmap -oG -`.
fn nmap_sets(out: &Output) -> (BTreeSet<u16>, BTreeSet<u16>) {
    let text = String::from_utf8_lossy(&out.stdout);
    let mut open = BTreeSet::new();
    let mut filtered = BTreeSet::new();
    for line in text.lines().filter(|l| l.contains("Ports:")) {
        let ports = line.split("Ports:").nth(1).unwrap_or_default();
        let ports = ports.split("Ignored State").next().unwrap_or_default();
        for entry in ports.split(',') {
            let mut f = entry.trim().split('/');
            let (Some(port), Some(state)) = (f.next(), f.next()) else {
                continue;
            };
            let Ok(port) = port.parse::<u16>() else {
                continue;
            };
            match state {
                "open" => open.insert(port),
                "filtered" => filtered.insert(port),
                _ => false,
            };
        }
    }
    (open, filtered)
}

fn rustscan() -> Option<String> {
    if let Ok(path) = std::env::var("RUSTSCAN") {
        return Some(path);
    }
    Command::new("rustscan")
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|_| "rustscan".to_string())
}

fn row(case: &str, tool: &str, time: Duration, base: Duration, agrees: &str) {
    println!(
        "| {case} | {tool} | {} | {:.1}x | {agrees} |",
        secs(time),
        base.as_secs_f64() / time.as_secs_f64()
    );
}

fn main() {
    if let Err(why) = sonde_lab::check_available() {
        eprintln!("SKIPPED: the benchmark needs the lab: {why}");
        return;
    }
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let n = runs("SONDE_BENCH_RUNS", 3);
    let slow_n = runs("SONDE_BENCH_SLOW_NMAP_RUNS", 1);
    let lab = Lab::start().expect("lab");
    let ip = addr::TARGET_V4.to_string();
    let name = sonde_lab::zone::TARGET_NAME.trim_end_matches('.');
    println!("runs per tool: {n} (median); ratio = nmap (or the reference) time / tool time\n");
    println!("| case | tool | time | speed vs reference | same result |");
    println!("|---|---|---|---|---|");

    // 1. Every port by TCP connect.
    let full = profile(
        "full-connect",
        "[collectors.ports]\nports = \"all\"\nmethod = \"connect\"\ntimeout = \"300s\"\n[collectors.tls]\nenabled = false\n",
    );
    let (t_nmap, o_nmap) = timed(n, || {
        tool(
            &lab,
            "nmap",
            &["-sT", "-p-", "-T4", "-n", "-Pn", "-oG", "-", &ip],
        )
    });
    let (t_sonde, o_sonde) = timed(n, || sonde(&lab, &ip, &full));
    let (s_open, s_filt, method) = sonde_sets(&o_sonde);
    let (n_open, n_filt) = nmap_sets(&o_nmap);
    let want_open: BTreeSet<u16> = ports::OPEN.into_iter().collect();
    let want_filt: BTreeSet<u16> = ports::FILTERED.into_iter().collect();
    row(
        "65535 ports, connect",
        "nmap -sT -p- -T4",
        t_nmap,
        t_nmap,
        if n_open == want_open && n_filt == want_filt {
            "yes"
        } else {
            "NO"
        },
    );
    row(
        "65535 ports, connect",
        &format!("sonde ({method})"),
        t_sonde,
        t_nmap,
        if s_open == want_open && s_filt == want_filt {
            "yes"
        } else {
            "NO"
        },
    );
    match rustscan() {
        Some(rs) => {
            let (t_rs, o_rs) = timed(n, || {
                tool(
                    &lab,
                    &rs,
                    &[
                        "-a", &ip, "-r", "1-65535", "-b", "4500", "-t", "1500", "-g", "--ulimit",
                        "10000",
                    ],
                )
            });
            let text = String::from_utf8_lossy(&o_rs.stdout);
            let found: BTreeSet<u16> = text
                .split('[')
                .nth(1)
                .and_then(|r| r.split(']').next())
                .map(|list| {
                    list.split(',')
                        .filter_map(|p| p.trim().parse().ok())
                        .collect()
                })
                .unwrap_or_default();
            row(
                "65535 ports, connect",
                "rustscan -b 4500 -t 1500",
                t_rs,
                t_nmap,
                if found == want_open {
                    "yes (open only)"
                } else {
                    "NO"
                },
            );
        }
        None => println!("| 65535 ports, connect | rustscan | not installed | | |"),
    }

    // 2. Every port by SYN.
    let syn = profile(
        "full-syn",
        "[collectors.ports]\nports = \"all\"\nmethod = \"syn\"\ntimeout = \"300s\"\n[collectors.tls]\nenabled = false\n",
    );
    let (t_nmap, o_nmap) = timed(n, || {
        tool(
            &lab,
            "nmap",
            &["-sS", "-p-", "-T4", "-n", "-Pn", "-oG", "-", &ip],
        )
    });
    let (t_sonde, o_sonde) = timed(n, || sonde(&lab, &ip, &syn));
    let (s_open, s_filt, method) = sonde_sets(&o_sonde);
    let (n_open, n_filt) = nmap_sets(&o_nmap);
    row(
        "65535 ports, SYN",
        "nmap -sS -p- -T4",
        t_nmap,
        t_nmap,
        if n_open == want_open && n_filt == want_filt {
            "yes"
        } else {
            "NO"
        },
    );
    row(
        "65535 ports, SYN",
        &format!("sonde ({method})"),
        t_sonde,
        t_nmap,
        if s_open == want_open && s_filt == want_filt {
            "yes"
        } else {
            "NO"
        },
    );

    // 3. A thousand filtered ports: where adaptive timeouts pay.
    let added = lab.exec(
        Role::Target,
        "nft",
        &[
            "add",
            "rule",
            "inet",
            ports::NFT_TABLE,
            "input",
            "tcp",
            "dport",
            "20000-20999",
            "drop",
        ],
    );
    assert!(
        added.map(|o| o.status.success()).unwrap_or(false),
        "nft rule for 20000-20999"
    );
    for (method, flag) in [("connect", "-sT"), ("syn", "-sS")] {
        let p = profile(
            &format!("filtered-{method}"),
            &format!("[collectors.ports]\nports = \"20000-20999\"\nmethod = \"{method}\"\ntimeout = \"300s\"\n[collectors.tls]\nenabled = false\n"),
        );
        let (t_nmap, o_nmap) = timed(slow_n, || {
            tool(
                &lab,
                "nmap",
                &[
                    flag,
                    "-p",
                    "20000-20999",
                    "-T4",
                    "-n",
                    "-Pn",
                    "-oG",
                    "-",
                    &ip,
                ],
            )
        });
        let (t_sonde, o_sonde) = timed(n, || sonde(&lab, &ip, &p));
        let (s_open, s_filt, used) = sonde_sets(&o_sonde);
        let (n_open, _) = nmap_sets(&o_nmap);
        let nmap_all_filtered =
            String::from_utf8_lossy(&o_nmap.stdout).contains("Ignored State: filtered (1000)");
        let case = format!("1000 filtered ports, {method}");
        row(
            &case,
            &format!("nmap {flag} -T4"),
            t_nmap,
            t_nmap,
            if n_open.is_empty() && nmap_all_filtered {
                "yes"
            } else {
                "NO"
            },
        );
        row(
            &case,
            &format!("sonde ({used})"),
            t_sonde,
            t_nmap,
            if s_open.is_empty() && s_filt.len() == 1000 {
                "yes"
            } else {
                "NO"
            },
        );
    }

    // 4. TLS inspection of one port.
    let tls_plain = profile(
        "tls",
        "[collectors.ports]\nports = \"443\"\n[collectors.tls]\nversions = false\n",
    );
    let tls_full = profile("tls-versions", "[collectors.ports]\nports = \"443\"\n");
    let target443 = format!("{ip}:443");
    let (t_openssl, o_openssl) = timed(n, || {
        let mut c = tool(
            &lab,
            "openssl",
            &[
                "s_client",
                "-connect",
                &target443,
                "-servername",
                name,
                "-showcerts",
            ],
        );
        c.stdin(std::process::Stdio::null());
        c
    });
    let (t_nse, o_nse) = timed(n, || {
        tool(
            &lab,
            "nmap",
            &["-p", "443", "-n", "-Pn", "--script", "ssl-cert", &ip],
        )
    });
    let (t_sonde, o_sonde) = timed(n, || sonde(&lab, name, &tls_plain));
    let (t_sonde_v, _) = timed(n, || sonde(&lab, name, &tls_full));
    let leaf = lab.pki().leaf.chain[0]
        .sha256
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":");
    let report: serde_json::Value = serde_json::from_slice(&o_sonde.stdout).expect("sonde JSON");
    let sonde_leaf = report["sections"]["tls"]["endpoints"][0]["chain"][0]["sha256"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let openssl_text = String::from_utf8_lossy(&o_openssl.stdout).replace(" = ", "=");
    let openssl_ok = openssl_text.contains("CN=target.sonde.test");
    let nse_ok = String::from_utf8_lossy(&o_nse.stdout).contains("commonName=target.sonde.test");
    row(
        "TLS inspection of 443",
        "openssl s_client -showcerts",
        t_openssl,
        t_openssl,
        if openssl_ok { "yes" } else { "NO" },
    );
    row(
        "TLS inspection of 443",
        "nmap --script ssl-cert",
        t_nse,
        t_openssl,
        if nse_ok { "yes" } else { "NO" },
    );
    row(
        "TLS inspection of 443",
        "sonde --ports (dns + scan + tls)",
        t_sonde,
        t_openssl,
        if sonde_leaf == leaf { "yes" } else { "NO" },
    );
    row(
        "TLS inspection of 443",
        "sonde, + 5 version probes",
        t_sonde_v,
        t_openssl,
        "",
    );
    println!(
        "\nTLS ratios are against openssl s_client; nmap ssl-cert vs sonde: {:.1}x",
        t_nse.as_secs_f64() / t_sonde.as_secs_f64()
    );
}
