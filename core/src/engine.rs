//! The engine's single entry: `collect(target, options)`.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::mpsc::UnboundedSender;

use crate::collector::RunFlags;
use crate::plan::{Plan, PlanOptions};
use crate::profile::{Catalog, Profile, ProfileErrors};
use crate::registry::Registry;
use crate::report::{CollectError, Report, SCHEMA_VERSION};
use crate::scheduler::{self, Event, RunOptions, Stop};
use crate::target::Target;

/// What a run is asked to do.
#[derive(Debug, Clone, Default)]
pub struct CollectOptions {
    /// Profile name or path.
    pub profile: String,
    /// Run the on-request collectors (ports, tls).
    pub enable_ports: bool,
    /// Work without an agent.
    pub no_agent: bool,
    /// Global deadline; the profile's, or 15 s, when unset.
    pub timeout: Option<Duration>,
    /// Where to send progress events.
    pub events: Option<UnboundedSender<Event>>,
}

/// The collectors and profiles a run can use.
#[derive(Clone)]
pub struct Engine {
    /// Every collector available.
    pub registry: Registry,
    /// Every profile available.
    pub catalog: Catalog,
}

impl Engine {
    /// An engine over these collectors and profiles.
    pub fn new(registry: Registry, catalog: Catalog) -> Self {
        Engine { registry, catalog }
    }

    /// Loads the profile and checks it as a whole, file problems and graph
    /// problems together. `adjust` may change the merged profile first (the
    /// CLI's `--resolver` does).
    pub fn plan(
        &self,
        profile: &str,
        opts: &PlanOptions,
        adjust: impl FnOnce(&mut Profile),
    ) -> Result<Plan, ProfileErrors> {
        let (mut loaded, mut errors) =
            Profile::load_lenient(&self.catalog, profile, &self.registry);
        adjust(&mut loaded);
        match Plan::build(&loaded, &self.registry, opts) {
            Ok(plan) if errors.is_empty() => Ok(plan),
            Ok(_) => Err(ProfileErrors(errors)),
            Err(ProfileErrors(more)) => {
                for e in more {
                    if !errors.contains(&e) {
                        errors.push(e);
                    }
                }
                // Reading order: file by file along the chain, line by line.
                errors.sort_by_key(|e| {
                    (
                        loaded.chain.iter().position(|o| *o == e.loc.origin),
                        e.loc.line,
                    )
                });
                Err(ProfileErrors(errors))
            }
        }
    }

    /// Plans and runs: the single entry of the engine.
    pub async fn collect(
        &self,
        target: Target,
        options: CollectOptions,
    ) -> Result<Report, CollectError> {
        let plan_opts = PlanOptions {
            enable_ports: options.enable_ports,
            timeout: options.timeout,
        };
        let plan = self
            .plan(&options.profile, &plan_opts, |_| {})
            .map_err(CollectError::Profile)?;
        run(&plan, target, options.no_agent, options.events).await
    }
}

/// Runs a checked plan and assembles the report.
pub async fn run(
    plan: &Plan,
    target: Target,
    no_agent: bool,
    events: Option<UnboundedSender<Event>>,
) -> Result<Report, CollectError> {
    let started = SystemTime::now();
    let clock = std::time::Instant::now();
    let opts = RunOptions {
        flags: RunFlags { no_agent },
        events,
    };
    let output = scheduler::run(plan, Arc::new(target.clone()), &opts).await;
    let errors = output
        .runs
        .iter()
        .filter_map(|(name, run)| run.outcome.error_text().map(|e| (name.clone(), e)))
        .collect();
    let report = Report {
        schema_version: SCHEMA_VERSION,
        target,
        resolved_at: humantime::format_rfc3339_millis(started).to_string(),
        // Agents do not exist yet: every run is agentless, whatever was asked.
        mode_no_agent: true,
        profile: plan.profile.clone(),
        duration_ms: clock.elapsed().as_millis() as u64,
        sections: output
            .sections
            .into_iter()
            .map(|(name, s)| (name, s.as_json().clone()))
            .collect(),
        collectors: output.runs,
        errors,
    };
    match output.stop {
        None => Ok(report),
        Some(Stop::Deadline) => Err(CollectError::Deadline {
            timeout_ms: plan.timeout.as_millis() as u64,
            report: Box::new(report),
        }),
        Some(Stop::Critical { collector, cause }) => Err(CollectError::Critical {
            headline: plan
                .node(&collector)
                .map(|n| n.collector.spec().headline())
                .unwrap_or_else(|| format!("collector `{collector}` failed")),
            collector,
            cause,
            report: Box::new(report),
        }),
    }
}
