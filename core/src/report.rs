//! The result of a run: sections, outcomes with timings, and errors.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::collector::Origin;
use crate::target::Target;

/// Version of the report's JSON layout; bumped on incompatible changes.
pub const SCHEMA_VERSION: u32 = 1;

/// Which limit a timed-out collector hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Limit {
    /// Its own timeout.
    Collector,
    /// The run's global deadline.
    Global,
}

/// How one collector's run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// It produced its section.
    Ok,
    /// It tried and failed.
    Failed {
        /// Why.
        error: String,
    },
    /// It ran out of time and was stopped.
    TimedOut {
        /// Which limit it hit.
        limit: Limit,
        /// The limit in milliseconds.
        after_ms: u64,
    },
    /// It did not run, or chose not to.
    Skipped {
        /// Why.
        reason: String,
    },
    /// It panicked (or its plugin process died).
    Crashed {
        /// The panic message or the way the process ended.
        message: String,
    },
    /// The run stopped before it finished (a critical collector failed).
    Cancelled {
        /// Why the run stopped.
        reason: String,
    },
}

impl Outcome {
    /// Whether the collector produced its section.
    pub fn is_ok(&self) -> bool {
        matches!(self, Outcome::Ok)
    }

    /// Whether this outcome counts as a problem for the exit code (skips do not).
    pub fn is_problem(&self) -> bool {
        !matches!(self, Outcome::Ok | Outcome::Skipped { .. })
    }

    /// One word for tables and progress lines.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Failed { .. } => "failed",
            Outcome::TimedOut { .. } => "timed out",
            Outcome::Skipped { .. } => "skipped",
            Outcome::Crashed { .. } => "crashed",
            Outcome::Cancelled { .. } => "cancelled",
        }
    }

    /// The sentence kept in `report.errors`, for outcomes that are errors.
    pub fn error_text(&self) -> Option<String> {
        match self {
            Outcome::Ok | Outcome::Skipped { .. } => None,
            Outcome::Failed { error } => Some(error.clone()),
            Outcome::TimedOut {
                limit: Limit::Collector,
                after_ms,
            } => Some(format!("timed out after {after_ms} ms (its own timeout)")),
            Outcome::TimedOut {
                limit: Limit::Global,
                after_ms,
            } => Some(format!("stopped by the global deadline ({after_ms} ms)")),
            Outcome::Crashed { message } => Some(format!("crashed: {message}")),
            Outcome::Cancelled { reason } => Some(format!("cancelled: {reason}")),
        }
    }
}

/// One collector's run: its outcome and when it ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct NodeRun {
    /// How it ended.
    pub outcome: Outcome,
    /// When it started, in milliseconds since the run began (absent if it never started).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_ms: Option<f64>,
    /// When it ended, in milliseconds since the run began.
    pub end_ms: f64,
    /// Built in or plugin.
    pub origin: Origin,
    /// Things worth a look that did not stop it (dynamic plugins report
    /// them beside their section).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl NodeRun {
    /// How long it ran, in milliseconds.
    pub fn duration_ms(&self) -> f64 {
        self.start_ms.map_or(0.0, |s| self.end_ms - s)
    }
}

/// The report of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Report {
    /// Layout version of this JSON.
    pub schema_version: u32,
    /// What was inspected.
    pub target: Target,
    /// When the run started, RFC 3339 in UTC.
    pub resolved_at: String,
    /// Whether the run worked without an agent (always, until agents exist).
    pub mode_no_agent: bool,
    /// The profile that was used.
    pub profile: String,
    /// How long the run took, in milliseconds.
    pub duration_ms: u64,
    /// Each collector's section, by collector name.
    pub sections: BTreeMap<String, serde_json::Value>,
    /// Each planned collector's outcome and timing.
    pub collectors: BTreeMap<String, NodeRun>,
    /// The error of every collector that did not succeed, in plain words.
    pub errors: BTreeMap<String, String>,
}

impl Report {
    /// Whether any collector failed, timed out, crashed or was cancelled.
    pub fn has_problems(&self) -> bool {
        self.collectors.values().any(|r| r.outcome.is_problem())
    }
}

/// Why a run as a whole failed; the partial report is inside whenever the
/// run started.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// The profile is not valid; nothing ran.
    #[error("{0}")]
    Profile(crate::profile::ProfileErrors),
    /// A critical collector did not succeed.
    #[error("{headline}: {cause}")]
    Critical {
        /// The collector.
        collector: String,
        /// e.g. "DNS resolution failed".
        headline: String,
        /// Its error.
        cause: String,
        /// Everything gathered until then.
        report: Box<Report>,
    },
    /// The global deadline passed.
    #[error("the global deadline of {timeout_ms} ms passed before the run finished")]
    Deadline {
        /// The deadline in milliseconds.
        timeout_ms: u64,
        /// Everything gathered until then.
        report: Box<Report>,
    },
}

impl CollectError {
    /// The partial report, when the run started.
    pub fn report(&self) -> Option<&Report> {
        match self {
            CollectError::Critical { report, .. } | CollectError::Deadline { report, .. } => {
                Some(report)
            }
            CollectError::Profile(_) => None,
        }
    }

    /// Takes the partial report out, when the run started.
    pub fn into_report(self) -> Option<Report> {
        match self {
            CollectError::Critical { report, .. } | CollectError::Deadline { report, .. } => {
                Some(*report)
            }
            CollectError::Profile(_) => None,
        }
    }
}

/// The JSON Schema of [`Report`], with the layout of each section given in
/// `sections` (collector name, the JSON Schema of its output, as
/// [`Collector::output_schema`](crate::Collector::output_schema) gives it).
/// `docs/report.schema.json` is this for the built-in collectors; a section
/// not listed may hold any object (a plugin's, say).
pub fn json_schema(
    sections: impl IntoIterator<Item = (String, serde_json::Value)>,
) -> serde_json::Value {
    use serde_json::Value;
    let mut schema = schemars::schema_for!(Report).to_value();
    let mut defs = serde_json::Map::new();
    let mut described = serde_json::Map::new();
    for (name, mut section) in sections {
        if let Some(obj) = section.as_object_mut() {
            obj.remove("$schema");
            if let Some(Value::Object(inner)) = obj.remove("$defs") {
                for (def, mut body) in inner {
                    prefix_refs(&mut body, &name);
                    defs.insert(format!("{name}.{def}"), body);
                }
            }
        }
        prefix_refs(&mut section, &name);
        described.insert(name, section);
    }
    if let Some(obj) = schema.as_object_mut() {
        obj.insert(
            "$id".into(),
            "https://sonde.invalid/schema/report-v1.json".into(),
        );
        obj.insert(
            "description".into(),
            "A sonde report (`sonde TARGET --json`). `sections` holds one object per collector \
             that produced output, laid out as its schema under `sections` says, `collectors` \
             every planned collector's outcome and timing, `errors` the error of each one that \
             did not succeed."
                .into(),
        );
        if let Some(Value::Object(all)) = obj.get_mut("$defs") {
            all.extend(defs);
        }
        if let Some(sections) = obj
            .get_mut("properties")
            .and_then(|p| p.get_mut("sections"))
            .and_then(Value::as_object_mut)
        {
            sections.insert("properties".into(), Value::Object(described));
        }
    }
    schema
}

/// Points a section schema's local references (`#/$defs/X`) at the report
/// schema's `$defs`, where its definitions are kept as `NAME.X`.
fn prefix_refs(value: &mut serde_json::Value, name: &str) {
    use serde_json::Value;
    match value {
        Value::Object(obj) => {
            for (key, inner) in obj.iter_mut() {
                match inner {
                    Value::String(target) if key == "$ref" => {
                        if let Some(def) = target.strip_prefix("#/$defs/") {
                            *target = format!("#/$defs/{name}.{def}");
                        }
                    }
                    _ => prefix_refs(inner, name),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| prefix_refs(v, name)),
        _ => {}
    }
}
