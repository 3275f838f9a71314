//! The state of one run and the rules that move it: start a node, finish
//! it, release its dependents, time it out, wind the run down.

use std::collections::{BTreeMap, HashMap};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::{JoinError, JoinHandle};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::{Event, RunOutput, Running, Stop, TaskResult};
use crate::collector::{Context, Failure, RunFlags, Section};
use crate::plan::Plan;
use crate::report::{Limit, NodeRun, Outcome};
use crate::target::Target;

/// The state of one run, shared by the loop and the watchdog.
pub(super) struct State {
    pub(super) plan: Arc<Plan>,
    pub(super) target: Arc<Target>,
    pub(super) events: Option<UnboundedSender<Event>>,
    pub(super) flags: Arc<RunFlags>,
    pub(super) start: Instant,
    pub(super) global: Instant,
    pub(super) root: CancellationToken,
    pub(super) index: HashMap<String, usize>,
    pub(super) waiting: Vec<usize>,
    pub(super) dependents: Vec<Vec<usize>>,
    pub(super) running: HashMap<usize, Running>,
    /// Tasks started since the loop last collected them.
    pub(super) spawned: Vec<(usize, JoinHandle<TaskResult>)>,
    pub(super) closed: bool,
    pub(super) out: RunOutput,
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
    pub(super) fn expire(&mut self) {
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
    pub(super) fn ready(&mut self, i: usize) {
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
        let own = super::later(now, node.timeout);
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
    pub(super) fn finish(&mut self, i: usize, outcome: Outcome, started: Option<Instant>) {
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
                warnings: Vec::new(),
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
    pub(super) fn wind_down(&mut self) {
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
                        warnings: Vec::new(),
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

pub(super) fn outcome_of(
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
