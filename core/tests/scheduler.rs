//! The scheduler's promises, proven with synthetic collectors.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{engine, fake, instant, spec};
use sonde_core::{CollectOptions, Failure, Limit, Outcome, Section, Target};
use tokio::sync::{Barrier, Notify};

fn target() -> Target {
    Target::parse("target.sonde.test").unwrap()
}

fn opts() -> CollectOptions {
    CollectOptions {
        profile: "test".into(),
        ..CollectOptions::default()
    }
}

const ALL_FOUR: &str = r#"
name = "test"
[collectors.dns]
[collectors.a]
[collectors.b]
[collectors.c]
"#;

#[tokio::test]
async fn siblings_run_concurrently() {
    // a and b each wait until the other has started: a serial scheduler
    // would leave both waiting until their timeout.
    let barrier = Arc::new(Barrier::new(2));
    let waiter = |name: &str| {
        let barrier = Arc::clone(&barrier);
        fake(
            spec(name).needs(["dns"]).timeout(Duration::from_secs(3)),
            move |_| {
                let barrier = Arc::clone(&barrier);
                async move {
                    barrier.wait().await;
                    Ok(Section::json(serde_json::json!({})))
                }
            },
        )
    };
    let e = engine(
        vec![
            instant(spec("dns")),
            waiter("a"),
            waiter("b"),
            instant(spec("c")),
        ],
        ALL_FOUR,
    );
    let report = e.collect(target(), opts()).await.unwrap();
    for name in ["dns", "a", "b", "c"] {
        assert_eq!(report.collectors[name].outcome, Outcome::Ok, "{name}");
    }
}

#[tokio::test]
async fn no_phase_barrier() {
    // slow waits for a signal that only `late` (which needs `fast`) sends:
    // with phase barriers `late` would wait for `slow`, and neither would end.
    let signal = Arc::new(Notify::new());
    let s1 = Arc::clone(&signal);
    let slow = fake(spec("slow").needs(["dns"]), move |_| {
        let s = Arc::clone(&s1);
        async move {
            s.notified().await;
            Ok(Section::json(serde_json::json!({})))
        }
    });
    let s2 = Arc::clone(&signal);
    let late = fake(spec("late").needs(["fast"]), move |_| {
        let s = Arc::clone(&s2);
        async move {
            s.notify_one();
            Ok(Section::json(serde_json::json!({})))
        }
    });
    let profile = "[collectors.dns]\n[collectors.slow]\n[collectors.fast]\n[collectors.late]\n";
    let e = engine(
        vec![
            instant(spec("dns")),
            slow,
            instant(spec("fast").needs(["dns"])),
            late,
        ],
        profile,
    );
    let report = e.collect(target(), opts()).await.unwrap();
    assert!(
        report.collectors.values().all(|r| r.outcome.is_ok()),
        "{:?}",
        report.collectors
    );
    assert!(report.collectors["late"].start_ms.unwrap() < report.collectors["slow"].end_ms);
}

#[tokio::test]
async fn a_failed_need_skips_its_dependents_with_the_reason() {
    let broken = fake(spec("a").needs(["dns"]), |_| async {
        Err(Failure::failed("no route to host"))
    });
    let e = engine(
        vec![
            instant(spec("dns")),
            broken,
            instant(spec("b").needs(["a"])),
            instant(spec("c").needs(["b"])),
        ],
        ALL_FOUR,
    );
    let report = e.collect(target(), opts()).await.unwrap();
    assert_eq!(
        report.collectors["a"].outcome,
        Outcome::Failed {
            error: "no route to host".into()
        }
    );
    assert_eq!(
        report.collectors["b"].outcome,
        Outcome::Skipped {
            reason: "needs `a`, which failed".into()
        }
    );
    assert_eq!(
        report.collectors["c"].outcome,
        Outcome::Skipped {
            reason: "needs `b`, which was skipped".into()
        }
    );
    assert_eq!(report.errors["a"], "no route to host");
    assert!(!report.errors.contains_key("b"), "a skip is not an error");
    assert!(report.has_problems());
}

#[tokio::test]
async fn after_is_ordering_only() {
    let broken = fake(spec("a").needs(["dns"]), |_| async {
        Err(Failure::failed("boom"))
    });
    let e = engine(
        vec![
            instant(spec("dns")),
            broken,
            instant(spec("b").after(["a"])),
            instant(spec("c")),
        ],
        ALL_FOUR,
    );
    let report = e.collect(target(), opts()).await.unwrap();
    assert_eq!(report.collectors["b"].outcome, Outcome::Ok);
    assert!(report.collectors["b"].start_ms.unwrap() >= report.collectors["a"].end_ms);
}

#[tokio::test]
async fn per_node_timeout() {
    let stuck = fake(
        spec("a").timeout(Duration::from_millis(100)),
        |ctx| async move {
            ctx.cancelled().await;
            Err(Failure::failed("cancelled"))
        },
    );
    let e = engine(
        vec![
            instant(spec("dns")),
            stuck,
            instant(spec("b")),
            instant(spec("c")),
        ],
        ALL_FOUR,
    );
    let report = e.collect(target(), opts()).await.unwrap();
    assert_eq!(
        report.collectors["a"].outcome,
        Outcome::TimedOut {
            limit: Limit::Collector,
            after_ms: 100
        }
    );
    assert_eq!(
        report.errors["a"],
        "timed out after 100 ms (its own timeout)"
    );
    assert_eq!(report.collectors["b"].outcome, Outcome::Ok);
}

#[tokio::test]
async fn global_deadline_returns_the_partial_report() {
    let forever = fake(
        spec("a").needs(["dns"]).timeout(Duration::from_secs(60)),
        |_| std::future::pending::<Result<Section, Failure>>(),
    );
    let e = engine(
        vec![
            instant(spec("dns")),
            forever,
            instant(spec("b").needs(["a"])),
            instant(spec("c")),
        ],
        ALL_FOUR,
    );
    let o = CollectOptions {
        timeout: Some(Duration::from_millis(200)),
        ..opts()
    };
    let err = e.collect(target(), o).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "the global deadline of 200 ms passed before the run finished"
    );
    let report = err.into_report().unwrap();
    assert_eq!(report.collectors["dns"].outcome, Outcome::Ok);
    assert_eq!(report.collectors["c"].outcome, Outcome::Ok);
    assert!(report.sections.contains_key("dns"));
    assert!(matches!(
        report.collectors["a"].outcome,
        Outcome::TimedOut {
            limit: Limit::Global,
            ..
        }
    ));
    assert_eq!(
        report.collectors["b"].outcome,
        Outcome::Skipped {
            reason: "needs `a`, which timed out".into()
        }
    );
}

#[tokio::test]
async fn a_collector_that_blocks_its_thread_does_not_hold_the_run() {
    let blocker = || {
        fake(spec("a").needs(["dns"]), |_| async {
            std::thread::sleep(Duration::from_secs(5));
            Ok(Section::json(serde_json::json!({})))
        })
    };
    let e = engine(
        vec![
            instant(spec("dns")),
            blocker(),
            instant(spec("b")),
            instant(spec("c")),
        ],
        ALL_FOUR,
    );
    let o = CollectOptions {
        timeout: Some(Duration::from_millis(300)),
        ..opts()
    };
    let started = Instant::now();
    let err = e.collect(target(), o).await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "held for {:?}",
        started.elapsed()
    );
    let report = err.into_report().unwrap();
    assert!(matches!(
        report.collectors["a"].outcome,
        Outcome::TimedOut {
            limit: Limit::Global,
            ..
        }
    ));
    assert_eq!(report.collectors["b"].outcome, Outcome::Ok);
}

#[tokio::test]
async fn a_panicking_collector_crashes_alone() {
    let panicky = fake(spec("a").needs(["dns"]), |_| async {
        if true {
            panic!("index out of bounds");
        }
        Ok(Section::json(serde_json::json!({})))
    });
    let e = engine(
        vec![
            instant(spec("dns")),
            panicky,
            instant(spec("b").needs(["dns"])),
            instant(spec("c")),
        ],
        ALL_FOUR,
    );
    let report = e.collect(target(), opts()).await.unwrap();
    assert_eq!(
        report.collectors["a"].outcome,
        Outcome::Crashed {
            message: "panicked: index out of bounds".into()
        }
    );
    assert_eq!(report.errors["a"], "crashed: panicked: index out of bounds");
    assert_eq!(report.collectors["b"].outcome, Outcome::Ok);
    assert_eq!(report.collectors["c"].outcome, Outcome::Ok);
}

#[tokio::test]
async fn critical_failure_fails_the_run_with_the_partial_report() {
    let dns = fake(
        spec("dns").failure_headline("DNS resolution failed"),
        |_| async { Err(Failure::failed("NXDOMAIN for nowhere.sonde.test")) },
    );
    let e = engine(
        vec![
            dns,
            instant(spec("a").needs(["dns"])),
            instant(spec("b").needs(["dns"])),
            instant(spec("c")),
        ],
        ALL_FOUR,
    );
    let err = e.collect(target(), opts()).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "DNS resolution failed: NXDOMAIN for nowhere.sonde.test"
    );
    let report = err.into_report().unwrap();
    assert_eq!(
        report.collectors["a"].outcome,
        Outcome::Skipped {
            reason: "needs `dns`, which failed".into()
        }
    );
    assert_eq!(report.errors["dns"], "NXDOMAIN for nowhere.sonde.test");
    assert_eq!(
        report.collectors.len(),
        4,
        "every planned collector has an outcome"
    );
}

#[tokio::test]
async fn collectors_read_their_needs_sections() {
    let reader = fake(spec("a").needs(["dns"]), |ctx| async move {
        let dns = ctx
            .section_json("dns")
            .cloned()
            .ok_or_else(|| Failure::failed("no dns section"))?;
        Ok(Section::json(serde_json::json!({ "saw": dns })))
    });
    let e = engine(
        vec![
            instant(spec("dns")),
            reader,
            instant(spec("b")),
            instant(spec("c")),
        ],
        ALL_FOUR,
    );
    let report = e.collect(target(), opts()).await.unwrap();
    assert_eq!(
        report.sections["a"],
        serde_json::json!({ "saw": { "ok": "dns" } })
    );
}

#[tokio::test]
async fn events_tell_start_and_end_of_every_collector() {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let e = engine(
        vec![
            instant(spec("dns")),
            instant(spec("a")),
            instant(spec("b")),
            instant(spec("c")),
        ],
        ALL_FOUR,
    );
    let o = CollectOptions {
        events: Some(tx),
        ..opts()
    };
    e.collect(target(), o).await.unwrap();
    let mut started = 0;
    let mut finished = 0;
    while let Ok(ev) = rx.try_recv() {
        match ev {
            sonde_core::Event::Started { .. } => started += 1,
            sonde_core::Event::Finished { .. } => finished += 1,
        }
    }
    assert_eq!((started, finished), (4, 4));
}

#[tokio::test]
async fn a_partial_failure_keeps_its_section() {
    let partial = fake(spec("a").needs(["dns"]), |_| async {
        Err(Failure::partial(
            "deadline before port 443",
            serde_json::json!({ "open": [22] }),
        ))
    });
    let e = engine(
        vec![
            instant(spec("dns")),
            partial,
            instant(spec("b").needs(["a"])),
            instant(spec("c")),
        ],
        ALL_FOUR,
    );
    let report = e.collect(target(), opts()).await.unwrap();
    assert_eq!(
        report.collectors["a"].outcome,
        Outcome::Failed {
            error: "deadline before port 443".into()
        }
    );
    assert_eq!(report.sections["a"], serde_json::json!({ "open": [22] }));
    assert_eq!(
        report.collectors["b"].outcome,
        Outcome::Skipped {
            reason: "needs `a`, which failed".into()
        }
    );
}

#[tokio::test]
async fn collectors_that_block_every_worker_do_not_hold_the_run() {
    // More blocking collectors than the run has threads: the scheduling loop
    // itself starves, and the watchdog closes the run at the deadline.
    let blockers: Vec<_> = (0..6)
        .map(|i| {
            fake(spec(&format!("block{i}")).needs(["dns"]), |_| async {
                std::thread::sleep(Duration::from_secs(3));
                Ok(Section::json(serde_json::json!({})))
            })
        })
        .collect();
    let mut collectors = vec![instant(spec("dns"))];
    collectors.extend(blockers);
    let profile: String = std::iter::once("[collectors.dns]\n".to_string())
        .chain((0..6).map(|i| format!("[collectors.block{i}]\n")))
        .collect();
    let e = engine(collectors, &profile);
    let o = CollectOptions {
        timeout: Some(Duration::from_millis(300)),
        ..opts()
    };
    let started = Instant::now();
    let err = e.collect(target(), o).await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "held for {:?}",
        started.elapsed()
    );
    let report = err.into_report().unwrap();
    assert_eq!(report.collectors["dns"].outcome, Outcome::Ok);
    for i in 0..6 {
        let outcome = &report.collectors[&format!("block{i}")].outcome;
        assert!(
            matches!(
                outcome,
                Outcome::TimedOut {
                    limit: Limit::Global,
                    ..
                }
            ),
            "block{i}: {outcome:?}"
        );
    }
}

#[tokio::test]
async fn crashes_reported_by_a_collector_and_warnings_reach_the_report() {
    let dead = fake(spec("a"), |_| async {
        Err(Failure::crashed(
            "its process was killed by signal 11 (SIGSEGV)",
        ))
    });
    let warned = fake(spec("b"), |_| async {
        Ok(Section::json(serde_json::json!({"x": 1})).with_warnings(vec!["look".into()]))
    });
    let e = engine(
        vec![instant(spec("dns")), dead, warned, instant(spec("c"))],
        ALL_FOUR,
    );
    let report = e.collect(target(), opts()).await.unwrap();
    assert_eq!(
        report.collectors["a"].outcome,
        Outcome::Crashed {
            message: "its process was killed by signal 11 (SIGSEGV)".into()
        }
    );
    assert_eq!(report.collectors["b"].warnings, ["look"]);
    assert!(report.collectors["c"].warnings.is_empty());
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(
        json["collectors"]["b"]["warnings"],
        serde_json::json!(["look"])
    );
    assert!(json["collectors"]["c"].get("warnings").is_none());
}

/// Timeouts too large to add to an instant (possible through the library API,
/// which the duration parser's limit does not cover) run like long ones.
#[tokio::test]
async fn huge_timeouts_do_not_overflow_the_deadline() {
    let e = engine(
        vec![
            instant(spec("dns").timeout(Duration::MAX)),
            instant(spec("a").needs(["dns"]).timeout(Duration::MAX)),
            instant(spec("b")),
            instant(spec("c")),
        ],
        ALL_FOUR,
    );
    let o = CollectOptions {
        timeout: Some(Duration::MAX),
        ..opts()
    };
    let report = e.collect(target(), o).await.unwrap();
    for name in ["dns", "a", "b", "c"] {
        assert_eq!(report.collectors[name].outcome, Outcome::Ok, "{name}");
    }
}
