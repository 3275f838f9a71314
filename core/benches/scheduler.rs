//! Scheduler benchmark (no criterion; `harness = false`).
//!
//! `cargo bench -p sonde-core --bench scheduler`
//!
//! 1. Per-node overhead: 200 instant collectors in three shapes (independent,
//!    chain, layered), timed through the whole `sonde_core::run`, including
//!    the start and shutdown of the collector runtime, which an empty plan
//!    measures on its own.
//! 2. Critical path vs phase barriers: collectors that sleep for set
//!    durations, run by sonde (DAG) and by a tiny phase-barrier executor in
//!    this file (each phase joined before the next starts, as in the Go seed).
//!
//! Prints tables, then one JSON line (`{"bench":"scheduler",...}`) for docs.
//! Only synthetic collectors: no network traffic.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use serde_json::json;
use sonde_core::{
    Catalog, Collector, Config, Context, Engine, Plan, PlanOptions, Registry, RunFlags, Section,
    Settings, SettingsError, Spec, Target, View,
};
use tokio_util::sync::CancellationToken;

/// Nodes of each per-node shape.
const NODES: usize = 200;
/// Untimed runs before measuring.
const WARMUP: usize = 10;
/// Timed runs per case (overridable with `SONDE_BENCH_RUNS`).
const RUNS: usize = 50;
/// Timed runs of each executor in the critical-path benchmark.
const PATH_RUNS: usize = 5;
/// The goal stated by the issue.
const GOAL_US_PER_NODE: f64 = 20.0;

/// What a synthetic collector does when run.
#[derive(Clone, Copy)]
enum Work {
    /// Returns its section at once.
    Instant,
    /// Sleeps (tokio timer), then returns its section.
    Sleep(Duration),
}

struct Synthetic {
    spec: Spec,
    work: Work,
}

#[async_trait::async_trait]
impl Collector for Synthetic {
    fn spec(&self) -> &Spec {
        &self.spec
    }

    fn configure(&self, _settings: Settings<'_>) -> Result<Config, SettingsError> {
        Ok(Arc::new(()))
    }

    async fn collect(
        &self,
        _config: &Config,
        _ctx: &Context,
    ) -> Result<Section, sonde_core::Failure> {
        if let Work::Sleep(d) = self.work {
            tokio::time::sleep(d).await;
        }
        Ok(Section::json(json!({ "ok": self.spec.name })))
    }

    fn view(&self, section: &serde_json::Value) -> View {
        View::from_json(section)
    }
}

/// (name, needs, work) for each node of a graph.
type Graph = Vec<(String, Vec<String>, Work)>;

/// Builds the plan once, through the engine, as the CLI would.
fn plan(graph: &Graph) -> Plan {
    let mut registry = Registry::empty();
    let mut text = String::from("name = \"bench\"\n");
    for (name, needs, work) in graph {
        let spec = Spec::new(name.as_str(), "benchmark collector")
            .needs(needs.iter().cloned())
            .timeout(Duration::from_secs(10));
        let collector = Arc::new(Synthetic { spec, work: *work });
        if registry.add(collector).is_err() {
            panic!("duplicate collector name {name}");
        }
        text.push_str(&format!("[collectors.{name}]\n"));
    }
    let text: &'static str = Box::leak(text.into_boxed_str());
    let engine = Engine::new(registry, Catalog::new(vec![("bench", text)], None));
    let opts = PlanOptions {
        timeout: Some(Duration::from_secs(30)),
        ..PlanOptions::default()
    };
    match engine.plan("bench", &opts, |_| {}) {
        Ok(plan) => plan,
        Err(e) => panic!("benchmark plan rejected: {e:?}"),
    }
}

fn independent() -> Graph {
    (0..NODES)
        .map(|i| (format!("n{i:03}"), Vec::new(), Work::Instant))
        .collect()
}

fn chain() -> Graph {
    (0..NODES)
        .map(|i| {
            let needs = if i == 0 {
                Vec::new()
            } else {
                vec![format!("n{:03}", i - 1)]
            };
            (format!("n{i:03}"), needs, Work::Instant)
        })
        .collect()
}

/// 10 layers of 20; node j of a layer needs nodes j and j+1 of the layer
/// before, and every other node also needs j+7 (2 or 3 needs each).
fn layered() -> Graph {
    const LAYERS: usize = 10;
    const WIDTH: usize = NODES / LAYERS;
    let name = |l: usize, j: usize| format!("l{l:02}n{:02}", j % WIDTH);
    let mut graph = Vec::with_capacity(NODES);
    for l in 0..LAYERS {
        for j in 0..WIDTH {
            let mut needs = Vec::new();
            if l > 0 {
                needs.push(name(l - 1, j));
                needs.push(name(l - 1, j + 1));
                if j % 2 == 0 {
                    needs.push(name(l - 1, j + 7));
                }
            }
            graph.push((name(l, j), needs, Work::Instant));
        }
    }
    graph
}

/// The critical-path graph: (name, needs, duration in ms).
const PATH_GRAPH: &[(&str, &[&str], u64)] = &[
    ("dns", &[], 20),
    ("a", &["dns"], 200),
    ("b", &["dns"], 20),
    ("c", &["b"], 180),
    ("d", &["a"], 20),
];

fn path_graph() -> Graph {
    PATH_GRAPH
        .iter()
        .map(|(name, needs, ms)| {
            (
                name.to_string(),
                needs.iter().map(|n| n.to_string()).collect(),
                Work::Sleep(Duration::from_millis(*ms)),
            )
        })
        .collect()
}

fn target() -> Target {
    match Target::parse("bench.sonde.test") {
        Ok(t) => t,
        Err(e) => panic!("bad bench target: {e}"),
    }
}

/// Nearest-rank percentile of sorted values.
fn pct(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

/// One sonde run of the plan; its wall time, checked to have run every node.
async fn timed_run(plan: &Plan, target: &Target) -> (Duration, sonde_core::Report) {
    let t = target.clone();
    let start = Instant::now();
    let result = sonde_core::run(plan, t, true, None).await;
    let elapsed = start.elapsed();
    let report = match result {
        Ok(r) => r,
        Err(e) => panic!("benchmark run failed: {e}"),
    };
    assert_eq!(
        report.sections.len(),
        plan.nodes.len(),
        "a node did not succeed"
    );
    (elapsed, report)
}

/// The comparison baseline: runs the plan phase by phase, a phase being the
/// nodes at the same depth, and waits for the whole phase before the next.
/// Same collectors, same contexts; collectors run on the caller's runtime.
async fn run_with_barriers(plan: &Plan, target: &Arc<Target>) -> Duration {
    let start = Instant::now();
    let mut depth: HashMap<&str, usize> = HashMap::new();
    let mut phases: Vec<Vec<&sonde_core::plan::Node>> = Vec::new();
    for node in &plan.nodes {
        let d = node
            .waits_for()
            .map(|w| depth[w.as_str()] + 1)
            .max()
            .unwrap_or(0);
        depth.insert(&node.name, d);
        if phases.len() <= d {
            phases.resize_with(d + 1, Vec::new);
        }
        phases[d].push(node);
    }
    let flags = Arc::new(RunFlags { no_agent: true });
    let mut sections: BTreeMap<String, Section> = BTreeMap::new();
    for phase in phases {
        let runs = phase.iter().map(|node| {
            let inputs = node
                .waits_for()
                .filter_map(|d| sections.get(d).map(|s| (d.clone(), s.clone())))
                .collect();
            let ctx = Context::new(
                Arc::clone(target),
                inputs,
                tokio::time::Instant::now() + node.timeout,
                CancellationToken::new(),
                Arc::clone(&flags),
            );
            async move { (node, node.collector.collect(&node.config, &ctx).await) }
        });
        for (node, result) in join_all(runs).await {
            match result {
                Ok(section) => sections.insert(node.name.clone(), section),
                Err(e) => panic!("barrier run: {} failed: {e:?}", node.name),
            };
        }
    }
    start.elapsed()
}

/// Longest path and sum of phase maxima of `PATH_GRAPH`, from its durations.
fn theory() -> (u64, u64) {
    let mut finish: HashMap<&str, u64> = HashMap::new();
    let mut depth: HashMap<&str, usize> = HashMap::new();
    let mut phase_max: Vec<u64> = Vec::new();
    // PATH_GRAPH lists dependencies first.
    for (name, needs, ms) in PATH_GRAPH {
        let begin = needs.iter().map(|n| finish[n]).max().unwrap_or(0);
        finish.insert(name, begin + ms);
        let d = needs.iter().map(|n| depth[n] + 1).max().unwrap_or(0);
        depth.insert(name, d);
        if phase_max.len() <= d {
            phase_max.resize(d + 1, 0);
        }
        phase_max[d] = phase_max[d].max(*ms);
    }
    let critical = finish.values().copied().max().unwrap_or(0);
    (critical, phase_max.iter().sum())
}

/// One measured case of the per-node table.
enum Case {
    /// A whole `sonde_core::run` of this plan.
    Run(Plan),
    /// A reference for the chain shape: `NODES` sequential hops from the
    /// caller's runtime to a runtime built like sonde's collector runtime
    /// (4 workers) and back, each a spawn of a task that returns at once,
    /// awaited before the next. No scheduler involved.
    Hops(tokio::runtime::Handle),
}

/// Wall time of one run of the case, in µs.
async fn measure(case: &Case, target: &Target) -> f64 {
    match case {
        Case::Run(plan) => timed_run(plan, target).await.0.as_secs_f64() * 1e6,
        Case::Hops(handle) => {
            let start = Instant::now();
            for i in 0..NODES {
                let hop = handle.spawn(async move { i });
                assert_eq!(hop.await.ok(), Some(i));
            }
            start.elapsed().as_secs_f64() * 1e6
        }
    }
}

/// Sorted wall times (µs) of every case. Cases are interleaved round by
/// round (in rotating order) so that noise from other processes on the
/// machine falls on all of them alike.
async fn sample(cases: &[Case], target: &Target, runs: usize) -> Vec<Vec<f64>> {
    let mut us = vec![Vec::with_capacity(runs); cases.len()];
    for round in 0..WARMUP + runs {
        for k in 0..cases.len() {
            let i = (k + round) % cases.len();
            let t = measure(&cases[i], target).await;
            if round >= WARMUP {
                us[i].push(t);
            }
        }
    }
    for v in &mut us {
        v.sort_by(f64::total_cmp);
    }
    us
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| {
            let f: Vec<&str> = s.split_whitespace().take(3).collect();
            (f.len() == 3).then(|| f.join(" "))
        })
        .unwrap_or_else(|| "unknown".into())
}

fn median(sorted: &[f64]) -> f64 {
    pct(sorted, 50.0)
}

fn main() {
    let runs = std::env::var("SONDE_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(RUNS);
    // The caller's runtime, where the scheduler keeps time: current-thread
    // (like `#[tokio::test]`), or multi-thread (like `#[tokio::main]`) with
    // `SONDE_BENCH_CALLER=multi_thread`. Collectors get sonde's own runtime.
    let caller = match std::env::var("SONDE_BENCH_CALLER").as_deref() {
        Ok("multi_thread") => "multi_thread",
        _ => "current_thread",
    };
    let mut builder = if caller == "multi_thread" {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    let rt = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => panic!("no tokio runtime: {e}"),
    };
    let target = target();
    let bench_start = Instant::now();

    // 1. Per-node overhead.
    let hops_runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("no runtime for the bare hops: {e}"),
    };
    let shapes = [
        ("independent", independent()),
        ("chain", chain()),
        ("layered", layered()),
    ];
    let mut cases = vec![Case::Run(plan(&Vec::new()))];
    for (_, graph) in &shapes {
        let plan = plan(graph);
        assert_eq!(plan.nodes.len(), NODES);
        cases.push(Case::Run(plan));
    }
    cases.push(Case::Hops(hops_runtime.handle().clone()));
    let load_before = load_average();
    let us = rt.block_on(sample(&cases, &target, runs));
    hops_runtime.shutdown_background();
    let (empty_us, hops) = (&us[0], &us[us.len() - 1]);
    let empty_med = median(empty_us);
    let n = NODES as f64;

    println!("sonde scheduler benchmark");
    println!(
        "caller runtime: tokio {caller}; {runs} timed runs per case after {WARMUP} warm-up rounds, cases interleaved; nearest-rank percentiles"
    );
    println!(
        "cpus: {}; load average before: {load_before}",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!();
    println!("1. per-node overhead, {NODES} instant collectors (whole `sonde_core::run`)");
    println!(
        "  {:<12} {:>10} {:>10} {:>10} {:>10} {:>14}  goal < {GOAL_US_PER_NODE} µs/node",
        "shape", "total ms", "µs/node", "p90", "max", "net µs/node"
    );
    println!(
        "  {:<12} {:>10.3} {:>10} {:>10} {:>10} {:>14}  runtime start + shutdown alone (p90 {:.3} ms)",
        "empty plan",
        empty_med / 1000.0,
        "-",
        "-",
        "-",
        "-",
        pct(empty_us, 90.0) / 1000.0,
    );
    let mut per_node = serde_json::Map::new();
    for ((shape, _), us) in shapes.iter().zip(&us[1..]) {
        let (med, p90, max) = (median(us) / n, pct(us, 90.0) / n, us[us.len() - 1] / n);
        let net = (median(us) - empty_med) / n;
        println!(
            "  {:<12} {:>10.3} {:>10.2} {:>10.2} {:>10.2} {:>14.2}  {}",
            shape,
            median(us) / 1000.0,
            med,
            p90,
            max,
            net,
            if med < GOAL_US_PER_NODE { "ok" } else { "OVER" }
        );
        per_node.insert(
            shape.to_string(),
            json!({
                "total_ms_median": round(median(us) / 1000.0, 3),
                "us_per_node_median": round(med, 2),
                "us_per_node_p90": round(p90, 2),
                "us_per_node_max": round(max, 2),
                "us_per_node_net_of_startup": round(net, 2),
            }),
        );
    }
    println!(
        "  {:<12} {:>10.3} {:>10.2} {:>10.2} {:>10.2} {:>14}  {NODES} sequential spawn+await hops to a 4-worker runtime, no scheduler",
        "bare hops",
        median(hops) / 1000.0,
        median(hops) / n,
        pct(hops, 90.0) / n,
        hops[hops.len() - 1] / n,
        "-",
    );
    println!("  (net = (median − empty-plan median) / {NODES}: the scheduling cost without the runtime start)");
    println!("  (bare hops: what a chain would pay per node if the scheduling loop ran on the caller's runtime; it runs beside the collectors instead)");

    // 2. Critical path vs phase barriers.
    let (theory_dag, theory_barrier) = theory();
    let path_plan = plan(&path_graph());
    let shared = Arc::new(target.clone());
    let mut dag_ms = Vec::new();
    let mut barrier_ms = Vec::new();
    let mut last = None;
    rt.block_on(async {
        // One warm-up of each, then interleaved so both see the same noise.
        timed_run(&path_plan, &target).await;
        run_with_barriers(&path_plan, &shared).await;
        for _ in 0..PATH_RUNS {
            let (d, report) = timed_run(&path_plan, &target).await;
            dag_ms.push(d.as_secs_f64() * 1000.0);
            last = Some(report);
            barrier_ms.push(run_with_barriers(&path_plan, &shared).await.as_secs_f64() * 1000.0);
        }
    });
    dag_ms.sort_by(f64::total_cmp);
    barrier_ms.sort_by(f64::total_cmp);
    let (dag, barrier) = (median(&dag_ms), median(&barrier_ms));
    println!();
    println!(
        "2. critical path vs phase barriers (sleeping collectors; median of {PATH_RUNS} runs each)"
    );
    let graph_text: Vec<String> = PATH_GRAPH
        .iter()
        .map(|(n, needs, ms)| {
            if needs.is_empty() {
                format!("{n} {ms} ms")
            } else {
                format!("{n} {ms} ms (needs {})", needs.join(", "))
            }
        })
        .collect();
    println!("  graph: {}", graph_text.join("; "));
    println!(
        "  {:<26} {:>10} {:>10} {:>10}",
        "", "measured", "theory", "overshoot"
    );
    println!(
        "  {:<26} {:>10.1} {:>10} {:>10.1}",
        "sonde DAG (ms)",
        dag,
        theory_dag,
        dag - theory_dag as f64
    );
    println!(
        "  {:<26} {:>10.1} {:>10} {:>10.1}",
        "phase barriers (ms)",
        barrier,
        theory_barrier,
        barrier - theory_barrier as f64
    );
    println!(
        "  {:<26} {:>10.2} {:>10.2}",
        "barrier / DAG",
        barrier / dag,
        theory_barrier as f64 / theory_dag as f64
    );
    if let Some(report) = &last {
        println!("  sonde schedule of the last run (ms since start):");
        for (name, _, _) in PATH_GRAPH {
            let r = &report.collectors[*name];
            println!(
                "    {:<4} {:>7.1} -> {:>7.1}",
                name,
                r.start_ms.unwrap_or(f64::NAN),
                r.end_ms
            );
        }
    }
    println!();
    println!(
        "bench time: {:.1} s; load average after: {}",
        bench_start.elapsed().as_secs_f64(),
        load_average()
    );

    let line = json!({
        "bench": "scheduler",
        "nodes": NODES,
        "runs": runs,
        "warmup": WARMUP,
        "caller_runtime": caller,
        "cpus": std::thread::available_parallelism().map_or(0, |n| n.get()),
        "load_average_before": load_before,
        "empty_plan_us": { "median": round(empty_med, 1), "p90": round(pct(empty_us, 90.0), 1) },
        "per_node": per_node,
        "bare_hops_us_per_hop": { "median": round(median(hops) / n, 2), "p90": round(pct(hops, 90.0) / n, 2) },
        "critical_path": {
            "runs": PATH_RUNS,
            "dag_ms": round(dag, 1),
            "barrier_ms": round(barrier, 1),
            "theory_dag_ms": theory_dag,
            "theory_barrier_ms": theory_barrier,
            "ratio_measured": round(barrier / dag, 3),
            "ratio_theory": round(theory_barrier as f64 / theory_dag as f64, 3),
        },
    });
    println!("{line}");
}

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}
