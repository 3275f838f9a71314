//! The cost of one plugin call, per mode, beside a built-in no-op
//! collector: `Collector::collect` timed end to end (request written,
//! plugin run, answer read and checked against the output schema).
//!
//! Modes: in-process library, isolated library (a `sonde __plugin-child`
//! process per call, start included), executables (a C program, for the
//! bare cost of a process, and the Python example, for an interpreter's).
//! Plugins: the faults example with `fault = "none"`. Nothing touches the
//! network.
//!
//! cargo bench -p sonde --bench plugins   (SONDE_BENCH_SCALE=0.1 for a quick run)

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sonde_core::profile::{Isolation, PluginKind};
use sonde_core::{
    Collector, Context, Failure, RunFlags, Settings, Spec, Target, TypedCollector, View,
};
use sonde_plugin_host::{ChildCommand, Plugin, PluginCollector};

struct Noop;

#[async_trait::async_trait]
impl TypedCollector for Noop {
    type Config = toml::Table;
    type Output = ();
    fn spec(&self) -> Spec {
        Spec::new("noop", "does nothing")
    }
    async fn collect(&self, _: &toml::Table, _: &Context) -> Result<(), Failure> {
        Ok(())
    }
    fn view(&self, _: &()) -> View {
        View::new()
    }
}

fn context() -> Context {
    let target = Arc::new(Target::parse("localhost").expect("target"));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    Context::new(
        target,
        BTreeMap::new(),
        deadline,
        tokio_util::sync::CancellationToken::new(),
        Arc::new(RunFlags::default()),
    )
}

/// Median and 90th percentile of `n` calls, in microseconds.
async fn time(collector: &dyn Collector, settings: toml::Table, n: usize) -> (f64, f64) {
    let config = collector
        .configure(Settings::Plain(settings))
        .expect("settings");
    let ctx = context();
    for _ in 0..(n / 10).max(2) {
        collector
            .collect(&config, &ctx)
            .await
            .expect("warm-up call");
    }
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        collector.collect(&config, &ctx).await.expect("call");
        samples.push(start.elapsed().as_secs_f64() * 1e6);
    }
    samples.sort_by(f64::total_cmp);
    let at =
        |q: f64| samples[((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1];
    (at(0.5), at(0.9))
}

fn faults_library() -> PathBuf {
    let exe = std::env::current_exe().expect("bench path");
    exe.parent()
        .expect("deps")
        .join("libsonde_plugin_faults.so")
}

fn c_executable(dir: &Path) -> PathBuf {
    let src = dir.join("noop.c");
    std::fs::write(
        &src,
        r#"#include <stdio.h>
#include <string.h>
int main(void) {
    char call[65536];
    size_t n = fread(call, 1, sizeof call - 1, stdin);
    call[n] = 0;
    if (strstr(call, "\"describe\"")) {
        fputs("{\"name\":\"noop\",\"version\":\"1\",\"summary\":\"answers at once\",\"abi\":{\"major\":1,\"minor\":0}}", stdout);
    } else {
        fputs("{\"status\":\"ok\",\"section\":{}}", stdout);
    }
    return 0;
}
"#,
    )
    .expect("source");
    let out = dir.join("noop");
    let ok = std::process::Command::new("cc")
        .args(["-O2", "-o"])
        .arg(&out)
        .arg(&src)
        .status()
        .expect("cc runs")
        .success();
    assert!(ok, "cc failed");
    out
}

async fn plugin(path: &Path, kind: PluginKind, isolation: Isolation) -> PluginCollector {
    let child = ChildCommand {
        program: PathBuf::from(env!("CARGO_BIN_EXE_sonde")),
        args: vec!["__plugin-child".into()],
    };
    let p = Plugin::load(
        path,
        Some(kind),
        isolation,
        &child,
        sonde_plugin_host::DESCRIBE_TIMEOUT,
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    PluginCollector::new(&p, |_| true)
}

fn main() {
    let scale: f64 = std::env::var("SONDE_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let n = |base: usize| ((base as f64 * scale) as usize).max(5);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = std::env::temp_dir().join(format!("sonde-bench-plugins-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let mut faults = toml::Table::new();
    faults.insert("fault".into(), "none".into());
    let rows = runtime.block_on(async {
        let builtin = sonde_core::Typed::new(Noop);
        let in_process = plugin(&faults_library(), PluginKind::Library, Isolation::None).await;
        let isolated = plugin(&faults_library(), PluginKind::Library, Isolation::Process).await;
        let c_exe = plugin(
            &c_executable(&dir),
            PluginKind::Executable,
            Isolation::Process,
        )
        .await;
        let python = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../plugins/examples/python/sonde-addrcount");
        let py = plugin(&python, PluginKind::Executable, Isolation::Process).await;
        vec![
            (
                "built-in no-op",
                time(&builtin, toml::Table::new(), n(20_000)).await,
                None,
            ),
            (
                "in-process library",
                time(&in_process, faults.clone(), n(20_000)).await,
                Some(50.0),
            ),
            (
                "isolated library (child sonde)",
                time(&isolated, faults.clone(), n(300)).await,
                Some(5000.0),
            ),
            (
                "executable (C)",
                time(&c_exe, toml::Table::new(), n(300)).await,
                None,
            ),
            (
                "executable (Python)",
                time(&py, toml::Table::new(), n(30)).await,
                None,
            ),
        ]
    });
    let _ = std::fs::remove_dir_all(&dir);
    let base = rows[0].1 .0;
    println!(
        "{:<32} {:>12} {:>12} {:>10} {:>10}",
        "mode", "median µs", "p90 µs", "× builtin", "goal µs"
    );
    let mut json = Vec::new();
    for (name, (median, p90), goal) in &rows {
        println!(
            "{name:<32} {median:>12.1} {p90:>12.1} {:>10.0} {:>10}",
            median / base,
            goal.map_or("-".to_string(), |g| format!("< {g:.0}"))
        );
        json.push(format!(
            "{{\"mode\":\"{name}\",\"median_us\":{median:.1},\"p90_us\":{p90:.1}}}"
        ));
    }
    println!("{{\"bench\":\"plugins\",\"rows\":[{}]}}", json.join(","));
}
