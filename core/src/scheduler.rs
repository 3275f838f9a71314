//! The scheduler: runs a [`Plan`] as a dependency graph.
//!
//! A node starts the moment everything it waits for has finished; there are
//! no phases. Every node is wrapped the same way: its own timeout capped by
//! the global deadline, cancellation, panic capture and timing. Collectors
//! run on a runtime of their own while the scheduler keeps time on the
//! caller's, so a collector that blocks its thread or ignores cancellation
//! cannot hold the run past a deadline: the scheduler records the timeout,
//! stops waiting for it and, at the end, abandons that runtime.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;

use futures_util::stream::{FuturesUnordered, StreamExt};
use futures_util::FutureExt;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::{AbortHandle, JoinError};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::collector::{Context, Failure, RunFlags, Section};
use crate::plan::{Node, Plan};
use crate::report::{Limit, NodeRun, Outcome};
use crate::target::Target;

/// What the scheduler tells the outside world while it runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A collector started.
    Started {
        /// Its name.
        name: String,
        /// Milliseconds since the run began.
        at_ms: f64,
    },
    /// A collector finished, in any way (skips included).
    Finished {
        /// Its name.
        name: String,
        /// How it ended.
        outcome: Outcome,
        /// Milliseconds since the run began.
        at_ms: f64,
    },
}

/// Options of one scheduled run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Flags the collectors can read.
    pub flags: RunFlags,
    /// Where to send progress events.
    pub events: Option<UnboundedSender<Event>>,
}

/// Why a run stopped early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// A critical collector did not succeed.
    Critical {
        /// Its name.
        collector: String,
        /// Its error.
        cause: String,
    },
    /// The global deadline passed.
    Deadline,
}

/// What a run produced.
#[derive(Debug, Default)]
pub struct RunOutput {
    /// Sections of the collectors that succeeded.
    pub sections: BTreeMap<String, Section>,
    /// Every planned collector's outcome and timing.
    pub runs: BTreeMap<String, NodeRun>,
    /// Why the run stopped early, if it did.
    pub stop: Option<Stop>,
}

type Finished = (
    String,
    Result<Result<Result<Section, Failure>, String>, JoinError>,
);

struct Running {
    abort: AbortHandle,
    cancel: CancellationToken,
    deadline: Instant,
    limit: Limit,
    started: Instant,
}

/// Worker threads for collectors: enough that one stuck collector does not
/// starve the others.
const COLLECTOR_THREADS: usize = 4;

struct Run<'a> {
    plan: &'a Plan,
    target: Arc<Target>,
    opts: &'a RunOptions,
    flags: Arc<RunFlags>,
    start: Instant,
    global: Instant,
    handle: tokio::runtime::Handle,
    root: CancellationToken,
    nodes: HashMap<&'a str, &'a Node>,
    waiting: HashMap<&'a str, usize>,
    dependents: HashMap<&'a str, Vec<&'a Node>>,
    running: HashMap<String, Running>,
    tasks: FuturesUnordered<Pin<Box<dyn Future<Output = Finished> + Send>>>,
    out: RunOutput,
}

/// Runs the plan against the target.
pub async fn run(plan: &Plan, target: Arc<Target>, opts: &RunOptions) -> RunOutput {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(COLLECTOR_THREADS)
        .thread_name("sonde-collector")
        .enable_all()
        .build();
    let (runtime, handle) = match runtime {
        Ok(rt) => {
            let handle = rt.handle().clone();
            (Some(rt), handle)
        }
        // Without a runtime of their own, collectors share the caller's:
        // deadlines still hold for every collector that yields.
        Err(e) => {
            tracing::warn!("cannot start the collector runtime ({e}); sharing the caller's");
            (None, tokio::runtime::Handle::current())
        }
    };
    let start = Instant::now();
    let mut run = Run {
        plan,
        target,
        opts,
        flags: Arc::new(opts.flags.clone()),
        start,
        global: start + plan.timeout,
        handle,
        root: CancellationToken::new(),
        nodes: HashMap::new(),
        waiting: HashMap::new(),
        dependents: HashMap::new(),
        running: HashMap::new(),
        tasks: FuturesUnordered::new(),
        out: RunOutput::default(),
    };
    run.go().await;
    if let Some(rt) = runtime {
        rt.shutdown_background();
    }
    run.out
}

impl<'a> Run<'a> {
    fn ms(&self, at: Instant) -> f64 {
        (at - self.start).as_secs_f64() * 1000.0
    }

    fn emit(&self, event: Event) {
        if let Some(tx) = &self.opts.events {
            let _ = tx.send(event);
        }
    }

    async fn go(&mut self) {
        for node in &self.plan.nodes {
            self.nodes.insert(&node.name, node);
            self.waiting.insert(&node.name, node.waits_for().count());
            for dep in node.waits_for() {
                self.dependents.entry(dep.as_str()).or_default().push(node);
            }
        }
        let ready: Vec<&Node> = self
            .plan
            .nodes
            .iter()
            .filter(|n| self.waiting[n.name.as_str()] == 0)
            .collect();
        for node in ready {
            self.ready(node);
        }
        while !self.running.is_empty() && self.out.stop.is_none() {
            let next = self
                .running
                .values()
                .map(|r| r.deadline)
                .min()
                .unwrap_or(self.global);
            tokio::select! {
                Some((name, result)) = self.tasks.next() => {
                    // A task that already timed out may still end later: ignore it.
                    if let Some(running) = self.running.remove(&name) {
                        let outcome = outcome_of(result, &mut self.out.sections, &name);
                        let warnings = self
                            .out
                            .sections
                            .get(&name)
                            .map(|s| s.warnings().to_vec())
                            .unwrap_or_default();
                        self.finish(&name, outcome, Some(running.started));
                        if let Some(run) = self.out.runs.get_mut(&name) {
                            run.warnings = warnings;
                        }
                    }
                }
                _ = tokio::time::sleep_until(next) => self.expire(),
            }
        }
        self.wind_down();
    }

    /// Times out every running node whose deadline has passed.
    fn expire(&mut self) {
        let now = Instant::now();
        let late: Vec<String> = self
            .running
            .iter()
            .filter(|(_, r)| r.deadline <= now)
            .map(|(n, _)| n.clone())
            .collect();
        for name in late {
            if let Some(r) = self.running.remove(&name) {
                r.cancel.cancel();
                r.abort.abort();
                let after_ms = (r.deadline - r.started).as_millis() as u64;
                let outcome = Outcome::TimedOut {
                    limit: r.limit,
                    after_ms,
                };
                if r.limit == Limit::Global {
                    self.out.stop = Some(Stop::Deadline);
                }
                self.finish(&name, outcome, Some(r.started));
            }
        }
        if now >= self.global {
            self.out.stop = Some(Stop::Deadline);
        }
    }

    /// A node whose dependencies are all done: start it, or skip it when a
    /// hard need did not succeed.
    fn ready(&mut self, node: &'a Node) {
        let failed_need = node
            .needs
            .iter()
            .find_map(|need| match self.out.runs.get(need) {
                Some(run) if run.outcome.is_ok() => None,
                Some(run) => Some((need, run.outcome.label())),
                None => Some((need, "did not run")),
            });
        if let Some((need, how)) = failed_need {
            let reason = format!("needs `{need}`, which {}", past(how));
            self.finish(&node.name, Outcome::Skipped { reason }, None);
            return;
        }
        if self.out.stop.is_some() {
            return;
        }
        let now = Instant::now();
        let own = now + node.timeout;
        let (deadline, limit) = if own < self.global {
            (own, Limit::Collector)
        } else {
            (self.global, Limit::Global)
        };
        let inputs = node
            .waits_for()
            .filter_map(|d| self.out.sections.get(d).map(|s| (d.clone(), s.clone())))
            .collect();
        let cancel = self.root.child_token();
        let ctx = Context::new(
            Arc::clone(&self.target),
            inputs,
            deadline,
            cancel.clone(),
            Arc::clone(&self.flags),
        );
        let collector = Arc::clone(&node.collector);
        let config = node.config.clone();
        let span = tracing::info_span!("collector", name = %node.name);
        let task = self.handle.spawn(
            async move {
                AssertUnwindSafe(collector.collect(&config, &ctx))
                    .catch_unwind()
                    .await
                    .map_err(panic_message)
            }
            .instrument(span),
        );
        self.running.insert(
            node.name.clone(),
            Running {
                abort: task.abort_handle(),
                cancel,
                deadline,
                limit,
                started: now,
            },
        );
        let name = node.name.clone();
        self.tasks.push(Box::pin(async move { (name, task.await) }));
        self.emit(Event::Started {
            name: node.name.clone(),
            at_ms: self.ms(now),
        });
    }

    /// Records an outcome and releases the nodes that waited for it.
    fn finish(&mut self, name: &str, outcome: Outcome, started: Option<Instant>) {
        let now = Instant::now();
        let node = self.nodes.get(name).copied();
        if let (Some(node), false) = (node, outcome.is_ok()) {
            if node.critical && self.out.stop.is_none() {
                let cause = outcome.error_text().unwrap_or_else(|| match &outcome {
                    Outcome::Skipped { reason } => format!("skipped: {reason}"),
                    other => other.label().to_string(),
                });
                self.out.stop = Some(Stop::Critical {
                    collector: name.to_string(),
                    cause,
                });
            }
        }
        self.emit(Event::Finished {
            name: name.to_string(),
            outcome: outcome.clone(),
            at_ms: self.ms(now),
        });
        self.out.runs.insert(
            name.to_string(),
            NodeRun {
                outcome,
                start_ms: started.map(|s| self.ms(s)),
                end_ms: self.ms(now),
                origin: node.map_or(crate::Origin::Builtin, |n| {
                    n.collector.spec().origin.clone()
                }),
                warnings: Vec::new(),
            },
        );
        // Each node finishes once, so its dependents can be taken out.
        let dependents = self.dependents.remove(name).unwrap_or_default();
        for dep in dependents {
            if let Some(count) = self.waiting.get_mut(dep.name.as_str()) {
                *count -= 1;
                if *count == 0 {
                    self.ready(dep);
                }
            }
        }
    }

    /// After a stop: cancel what runs, and say why the rest never ran.
    fn wind_down(&mut self) {
        self.root.cancel();
        let reason = match &self.out.stop {
            Some(Stop::Critical { collector, .. }) => {
                let headline = self
                    .plan
                    .node(collector)
                    .map(|n| n.collector.spec().headline());
                format!(
                    "the run stopped: {}",
                    headline.unwrap_or_else(|| format!("`{collector}` failed"))
                )
            }
            Some(Stop::Deadline) | None => "the global deadline passed".to_string(),
        };
        let running: Vec<(String, Running)> = self.running.drain().collect();
        for (name, r) in running {
            r.abort.abort();
            let outcome = match self.out.stop {
                Some(Stop::Deadline) => Outcome::TimedOut {
                    limit: Limit::Global,
                    after_ms: (self.global - r.started).as_millis() as u64,
                },
                _ => Outcome::Cancelled {
                    reason: reason.clone(),
                },
            };
            self.finish(&name, outcome, Some(r.started));
        }
        for node in &self.plan.nodes {
            if !self.out.runs.contains_key(&node.name) {
                let reason = format!("{reason} before it could start");
                let now = Instant::now();
                self.out.runs.insert(
                    node.name.clone(),
                    NodeRun {
                        outcome: Outcome::Skipped { reason },
                        start_ms: None,
                        end_ms: self.ms(now),
                        origin: node.collector.spec().origin.clone(),
                        warnings: Vec::new(),
                    },
                );
            }
        }
    }
}

/// How a need's outcome reads after "needs `x`, which ...".
fn past(label: &str) -> &'static str {
    match label {
        "failed" => "failed",
        "timed out" => "timed out",
        "crashed" => "crashed",
        "skipped" => "was skipped",
        "cancelled" => "was cancelled",
        _ => "did not run",
    }
}

fn outcome_of(
    result: Result<Result<Result<Section, Failure>, String>, JoinError>,
    sections: &mut BTreeMap<String, Section>,
    name: &str,
) -> Outcome {
    match result {
        Ok(Ok(Ok(section))) => {
            sections.insert(name.to_string(), section);
            Outcome::Ok
        }
        Ok(Ok(Err(Failure::Failed(error)))) => Outcome::Failed { error },
        Ok(Ok(Err(Failure::Skipped(reason)))) => Outcome::Skipped { reason },
        Ok(Ok(Err(Failure::Crashed(message)))) => Outcome::Crashed { message },
        Ok(Ok(Err(Failure::Partial { error, section }))) => {
            sections.insert(name.to_string(), section);
            Outcome::Failed { error }
        }
        Ok(Err(message)) => Outcome::Crashed { message },
        Err(e) if e.is_panic() => Outcome::Crashed {
            message: panic_message(e.into_panic()),
        },
        Err(_) => Outcome::Cancelled {
            reason: "its task was cancelled".into(),
        },
    }
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        format!("panicked: {s}")
    } else if let Some(s) = payload.downcast_ref::<String>() {
        format!("panicked: {s}")
    } else {
        "panicked".to_string()
    }
}
