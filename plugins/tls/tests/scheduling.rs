//! tls starts the moment ports ends, not after every collector: with a slow unrelated
//! collector beside ports (3 s, standing in for a traceroute stuck on a silent hop), the real
//! dns, ports and tls collectors run through the engine in the lab's client namespace, and tls
//! has finished long before the slow one. Needs root; skips visibly otherwise.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use sonde_core::{
    Catalog, CollectOptions, Context, Engine, Failure, Outcome, Registry, Spec, Target, Typed,
    TypedCollector, View,
};
use sonde_lab::{addr, require_root_or_skip, zone, Lab, Role};

/// How long the slow collector takes.
const SLOW: Duration = Duration::from_secs(3);

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoSettings {}

struct Slow;

#[async_trait::async_trait]
impl TypedCollector for Slow {
    type Config = NoSettings;
    type Output = u64;

    fn spec(&self) -> Spec {
        Spec::new("slow", "waits, like a traceroute behind a silent hop")
            .needs(["dns"])
            .timeout(Duration::from_secs(10))
    }

    async fn collect(&self, _: &NoSettings, _: &Context) -> Result<u64, Failure> {
        tokio::time::sleep(SLOW).await;
        Ok(SLOW.as_millis() as u64)
    }

    fn view(&self, _: &u64) -> View {
        View::new()
    }
}

const PROFILE: &str = r#"
name = "scheduling"
timeout = "20s"
critical = ["dns"]

[collectors.dns]
nameservers = ["203.0.113.53:53"]

[collectors.slow]

[collectors.ports]
ports = "22,443"
method = "connect"

[collectors.tls]
versions = false
"#;

#[test]
fn tls_begins_and_ends_before_a_slow_unrelated_collector_finishes() {
    require_root_or_skip!();
    // Link the built-ins this test runs.
    let _ = (
        sonde_dns::DnsCollector,
        sonde_ports::PortsCollector,
        sonde_tls::TlsCollector,
    );
    let lab = Lab::start().expect("lab");
    let mut registry = Registry::builtins();
    registry
        .add(Arc::new(Typed::new(Slow)))
        .expect("slow is a new name");
    let engine = Engine::new(registry, Catalog::new(vec![("scheduling", PROFILE)], None));
    let target = Target::parse(zone::TARGET_NAME.trim_end_matches('.')).expect("target");
    let report = lab
        .run_in(Role::Client, move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(engine.collect(
                target,
                CollectOptions {
                    profile: "scheduling".into(),
                    enable_ports: true,
                    ..CollectOptions::default()
                },
            ))
        })
        .expect("ran in the lab")
        .expect("a report");
    let run = |name: &str| {
        report
            .collectors
            .get(name)
            .unwrap_or_else(|| panic!("{name} ran: {:?}", report.collectors))
            .clone()
    };
    let (ports, tls, slow) = (run("ports"), run("tls"), run("slow"));
    for (name, r) in [("ports", &ports), ("tls", &tls), ("slow", &slow)] {
        assert_eq!(r.outcome, Outcome::Ok, "{name}: {:?}", report.errors);
    }
    let tls_start = tls.start_ms.expect("tls started");
    assert!(tls_start >= ports.end_ms, "tls waits for ports");
    assert!(
        tls_start - ports.end_ms < 100.0,
        "tls starts the moment ports ends: {tls_start} vs {}",
        ports.end_ms
    );
    assert!(
        tls.end_ms + 1000.0 < slow.end_ms,
        "tls ({tls:?}) ends well before the slow collector ({slow:?})"
    );
    let section = &report.sections["tls"];
    assert_eq!(section["endpoints"][0]["ip"], addr::TARGET_V4.to_string());
    assert_eq!(section["endpoints"][0]["port"], 443);
}
