//! How long a geolocation takes: sonde's database (open the file, look up
//! the target's addresses) against `mmdblookup` (libmaxminddb's tool, one
//! process per address, as a script would use it), on the lab's City
//! database; and the cost of one lookup in an open database.
//!
//! `cargo bench -p sonde-geo --bench lookup` (SONDE_BENCH_RUNS, default 50).

use std::net::IpAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sonde_geo::{Database, Status};
use sonde_lab::{geo, Topology};

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
        .unwrap_or(50);
    let path = std::env::temp_dir().join(format!("sonde-geo-bench-{}.mmdb", std::process::id()));
    geo::write_city_db(&path).expect("lab database");
    let file = path.to_str().expect("utf-8 path").to_string();
    let ips: Vec<IpAddr> = Topology::standard()
        .addresses()
        .into_iter()
        .map(|(ip, _)| ip)
        .collect();
    let target = &ips[..2];

    let (mut sonde, mut tool) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let t = Instant::now();
        let db = Database::open(&path).expect("opens");
        for ip in target {
            assert_eq!(db.lookup(*ip, "en").status, Status::Found);
        }
        sonde.push(t.elapsed());
        let t = Instant::now();
        for ip in target {
            let ok = Command::new("mmdblookup")
                .args(["--file", &file, "--ip", &ip.to_string()])
                .stdout(Stdio::null())
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            assert!(ok, "mmdblookup failed: is it installed (mmdb-bin)?");
        }
        tool.push(t.elapsed());
    }

    let db = Database::open(&path).expect("opens");
    let rounds = 10_000;
    let t = Instant::now();
    for i in 0..rounds {
        let ip = ips[i % ips.len()];
        std::hint::black_box(db.lookup(ip, "en"));
    }
    let per_lookup = t.elapsed() / rounds as u32;
    let _ = std::fs::remove_file(&path);

    let (s, m) = (median(sonde), median(tool));
    println!("geo lookup of the target's 2 addresses, median of {runs} runs");
    println!("{:<40} {:>9}  {:>7}", "", "ms", "× sonde");
    println!(
        "{:<40} {:>9.3}  {:>7.2}",
        "sonde_geo::Database open + 2 lookups",
        ms(s),
        1.0
    );
    println!(
        "{:<40} {:>9.3}  {:>7.2}",
        "mmdblookup, one process per address",
        ms(m),
        ms(m) / ms(s)
    );
    println!(
        "one lookup in an open database: {:.2} µs",
        per_lookup.as_secs_f64() * 1e6
    );
    println!(
        "{{\"bench\":\"geo_lookup\",\"sonde_ms\":{:.4},\"mmdblookup_ms\":{:.4},\"lookup_us\":{:.3}}}",
        ms(s),
        ms(m),
        per_lookup.as_secs_f64() * 1e6
    );
}
