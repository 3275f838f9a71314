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
use std::pin::Pin;
use std::sync::Arc;
use std::sync::{Mutex, PoisonError};

use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::{AbortHandle, JoinError};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::collector::{Failure, RunFlags, Section};
use crate::plan::Plan;
use crate::report::{Limit, NodeRun, Outcome};
use crate::target::Target;

mod state;

use state::{outcome_of, State};

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

/// Stands in for a deadline too far to compute (about 30 years, as tokio's
/// own "far future"); no run lasts that long.
const FAR_FUTURE: std::time::Duration = std::time::Duration::from_secs(30 * 365 * 24 * 60 * 60);

/// `at + d`, or a far but representable instant when that overflows: a
/// timeout given through the library API is not bounded by the parser's limit.
pub(crate) fn later(at: Instant, d: std::time::Duration) -> Instant {
    at.checked_add(d)
        .or_else(|| at.checked_add(FAR_FUTURE))
        .unwrap_or(at)
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
    let global = later(start, plan.timeout);
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
        _ = tokio::time::sleep_until(later(global, WATCHDOG_GRACE)) => {
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
                    let warnings = state
                        .out
                        .sections
                        .get(&name)
                        .map(|s| s.warnings().to_vec())
                        .unwrap_or_default();
                    state.finish(i, outcome, Some(running.started));
                    if let Some(run) = state.out.runs.get_mut(&name) {
                        run.warnings = warnings;
                    }
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
