//! The scheduler: runs a [`Plan`] as a dependency graph.
//!
//! A node starts the moment everything it waits for has finished; there are
//! no phases. Every node is wrapped the same way: its own timeout capped by
//! the global deadline, cancellation, panic capture and timing.
//!
//! Each run gets a runtime of its own. The scheduling loop runs there as a
//! task beside the collectors, so starting a node and hearing that it ended
//! cost no hand-off between threads. The caller's runtime keeps a watchdog
//! on the global deadline: if collectors that block their threads or ignore
//! cancellation starve the loop, the watchdog closes the run from the
//! shared state at the deadline, and the run's runtime is abandoned with
//! whatever is still stuck in it.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::{Mutex, PoisonError};

use futures_util::stream::{FuturesUnordered, StreamExt};
use futures_util::FutureExt;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::{AbortHandle, JoinError, JoinHandle};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::collector::{Context, Failure, RunFlags, Section};
use crate::plan::Plan;
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
    usize,
    Result<Result<Result<Section, Failure>, String>, JoinError>,
);

type TaskResult = Result<Result<Section, Failure>, String>;

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

/// How long after the global deadline the watchdog steps in, if the loop has
/// not closed the run itself.
const WATCHDOG_GRACE: std::time::Duration = std::time::Duration::from_millis(25);

/// The state of one run, shared by the loop and the watchdog.
struct State {
    plan: Arc<Plan>,
    target: Arc<Target>,
    events: Option<UnboundedSender<Event>>,
    flags: Arc<RunFlags>,
    start: Instant,
    global: Instant,
    root: CancellationToken,
    index: HashMap<String, usize>,
    waiting: Vec<usize>,
    dependents: Vec<Vec<usize>>,
    running: HashMap<usize, Running>,
    /// Tasks started since the loop last collected them.
    spawned: Vec<(usize, JoinHandle<TaskResult>)>,
    closed: bool,
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
    let plan = Arc::new(plan.clone());
    let n = plan.nodes.len();
    let index: HashMap<String, usize> = plan
        .nodes
        .iter()
        .enumerate()
        .map(|(i, node)| (node.name.clone(), i))
        .collect();
    let mut waiting = vec![0; n];
    let mut dependents = vec![Vec::new(); n];
    for (i, node) in plan.nodes.iter().enumerate() {
        for dep in node.waits_for() {
            if let Some(&d) = index.get(dep) {
                waiting[i] += 1;
                dependents[d].push(i);
            }
        }
    }
    let global = start + plan.timeout;
    let shared = Arc::new(Mutex::new(State {
        plan,
        target,
        events: opts.events.clone(),
        flags: Arc::new(opts.flags.clone()),
        start,
        global,
        root: CancellationToken::new(),
        index,
        waiting,
        dependents,
        running: HashMap::new(),
        spawned: Vec::new(),
        closed: false,
        out: RunOutput::default(),
    }));
    let driver = handle.spawn(drive(Arc::clone(&shared)));
    tokio::select! {
        _ = driver => {}
        _ = tokio::time::sleep_until(global + WATCHDOG_GRACE) => {
            let mut state = lock(&shared);
            if !state.closed {
                tracing::warn!("collectors starved the scheduler; closing the run at the deadline");
                state.out.stop = Some(Stop::Deadline);
                state.wind_down();
            }
        }
    }
    if let Some(rt) = runtime {
        rt.shutdown_background();
    }
    let mut state = lock(&shared);
    std::mem::take(&mut state.out)
}

fn lock(shared: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    // Nothing panics while holding the lock; a poisoned lock still holds
    // consistent state.
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The scheduling loop, run as a task on the run's own runtime.
async fn drive(shared: Arc<Mutex<State>>) {
    let mut tasks: FuturesUnordered<Pin<Box<dyn Future<Output = Finished> + Send>>> =
        FuturesUnordered::new();
    let collect = |state: &mut State, tasks: &mut FuturesUnordered<_>| {
        for (i, task) in state.spawned.drain(..) {
            tasks.push(Box::pin(async move { (i, task.await) }) as Pin<Box<_>>);
        }
    };
    {
        let mut state = lock(&shared);
        let ready: Vec<usize> = (0..state.waiting.len())
            .filter(|&i| state.waiting[i] == 0)
            .collect();
        for i in ready {
            state.ready(i);
        }
        collect(&mut state, &mut tasks);
    }
    loop {
        let next = {
            let state = lock(&shared);
            if state.closed || state.running.is_empty() || state.out.stop.is_some() {
                break;
            }
            state
                .running
                .values()
                .map(|r| r.deadline)
                .min()
                .unwrap_or(state.global)
        };
        tokio::select! {
            Some((i, result)) = tasks.next() => {
                let mut state = lock(&shared);
                // A task that already timed out may still end later: ignore it.
                if let Some(running) = state.running.remove(&i) {
                    let name = state.plan.nodes[i].name.clone();
                    let outcome = outcome_of(result, &mut state.out.sections, &name);
                    state.finish(i, outcome, Some(running.started));
                }
                collect(&mut state, &mut tasks);
            }
            _ = tokio::time::sleep_until(next) => {
                let mut state = lock(&shared);
                state.expire();
                collect(&mut state, &mut tasks);
            }
        }
    }
    let mut state = lock(&shared);
    if !state.closed {
        state.wind_down();
    }
}

impl State {
    fn ms(&self, at: Instant) -> f64 {
        (at - self.start).as_secs_f64() * 1000.0
    }

    fn emit(&self, event: Event) {
        if let Some(tx) = &self.events {
            let _ = tx.send(event);
        }
    }

    /// Times out every running node whose deadline has passed.
    fn expire(&mut self) {
        let now = Instant::now();
        let late: Vec<usize> = self
            .running
            .iter()
            .filter(|(_, r)| r.deadline <= now)
            .map(|(i, _)| *i)
            .collect();
        for i in late {
            if let Some(r) = self.running.remove(&i) {
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
                self.finish(i, outcome, Some(r.started));
            }
        }
        if now >= self.global {
            self.out.stop = Some(Stop::Deadline);
        }
    }

    /// A node whose dependencies are all done: start it, or skip it when a
    /// hard need did not succeed.
    fn ready(&mut self, i: usize) {
        let plan = Arc::clone(&self.plan);
        let node = &plan.nodes[i];
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
            self.finish(i, Outcome::Skipped { reason }, None);
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
        let task = tokio::spawn(
            async move {
                AssertUnwindSafe(collector.collect(&config, &ctx))
                    .catch_unwind()
                    .await
                    .map_err(panic_message)
            }
            .instrument(span),
        );
        self.running.insert(
            i,
            Running {
                abort: task.abort_handle(),
                cancel,
                deadline,
                limit,
                started: now,
            },
        );
        self.spawned.push((i, task));
        self.emit(Event::Started {
            name: node.name.clone(),
            at_ms: self.ms(now),
        });
    }

    /// Records an outcome and releases the nodes that waited for it.
    fn finish(&mut self, i: usize, outcome: Outcome, started: Option<Instant>) {
        let now = Instant::now();
        let plan = Arc::clone(&self.plan);
        let node = &plan.nodes[i];
        if !outcome.is_ok() && node.critical && self.out.stop.is_none() {
            let cause = outcome.error_text().unwrap_or_else(|| match &outcome {
                Outcome::Skipped { reason } => format!("skipped: {reason}"),
                other => other.label().to_string(),
            });
            self.out.stop = Some(Stop::Critical {
                collector: node.name.clone(),
                cause,
            });
        }
        self.emit(Event::Finished {
            name: node.name.clone(),
            outcome: outcome.clone(),
            at_ms: self.ms(now),
        });
        self.out.runs.insert(
            node.name.clone(),
            NodeRun {
                outcome,
                start_ms: started.map(|s| self.ms(s)),
                end_ms: self.ms(now),
                origin: node.collector.spec().origin.clone(),
            },
        );
        // Each node finishes once, so its dependents can be taken out.
        for d in std::mem::take(&mut self.dependents[i]) {
            self.waiting[d] -= 1;
            if self.waiting[d] == 0 {
                self.ready(d);
            }
        }
    }

    /// After a stop: cancel what runs, and say why the rest never ran.
    fn wind_down(&mut self) {
        self.closed = true;
        self.root.cancel();
        let reason = match &self.out.stop {
            Some(Stop::Critical { collector, .. }) => {
                let headline = self
                    .index
                    .get(collector)
                    .map(|&i| self.plan.nodes[i].collector.spec().headline());
                format!(
                    "the run stopped: {}",
                    headline.unwrap_or_else(|| format!("`{collector}` failed"))
                )
            }
            Some(Stop::Deadline) | None => "the global deadline passed".to_string(),
        };
        let running: Vec<(usize, Running)> = self.running.drain().collect();
        for (i, r) in running {
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
            self.finish(i, outcome, Some(r.started));
        }
        let now = Instant::now();
        let plan = Arc::clone(&self.plan);
        for node in &plan.nodes {
            if !self.out.runs.contains_key(&node.name) {
                let reason = format!("{reason} before it could start");
                self.out.runs.insert(
                    node.name.clone(),
                    NodeRun {
                        outcome: Outcome::Skipped { reason },
                        start_ms: None,
                        end_ms: self.ms(now),
                        origin: node.collector.spec().origin.clone(),
                    },
                );
            }
        }
        // Tasks started while winding down are not waited for.
        for (_, task) in self.spawned.drain(..) {
            task.abort();
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
