//! What a plugin's function receives and what it may return instead of a
//! section.

use std::cell::RefCell;
use std::fmt;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::protocol::Target;

/// One call's input, with the plugin's config already typed.
#[derive(Debug)]
pub struct Input<C> {
    /// What the run inspects.
    pub target: Target,
    /// The plugin's table from the profile.
    pub config: C,
    inputs: Map<String, Value>,
    deadline: Instant,
    warnings: RefCell<Vec<String>>,
}

impl<C> Input<C> {
    pub(crate) fn new(
        target: Target,
        config: C,
        inputs: Map<String, Value>,
        deadline_ms: u64,
    ) -> Self {
        let now = Instant::now();
        Input {
            target,
            config,
            inputs,
            deadline: now
                .checked_add(Duration::from_millis(deadline_ms))
                .unwrap_or(now + Duration::from_secs(86_400)),
            warnings: RefCell::new(Vec::new()),
        }
    }

    /// The section of a collector this plugin waits for, read into `T`;
    /// `None` when it did not succeed or does not have that shape.
    pub fn section<T: DeserializeOwned>(&self, name: &str) -> Option<T> {
        self.inputs.get(name).and_then(|v| T::deserialize(v).ok())
    }

    /// The JSON section of a collector this plugin waits for.
    pub fn section_json(&self, name: &str) -> Option<&Value> {
        self.inputs.get(name)
    }

    /// When the host stops waiting (and, isolated, kills the plugin).
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Time left before the deadline.
    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// Records a warning; it is shown with the section.
    pub fn warn(&self, message: impl Into<String>) {
        self.warnings.borrow_mut().push(message.into());
    }

    pub(crate) fn take_warnings(&self) -> Vec<String> {
        self.warnings.take()
    }
}

/// Why a plugin produced no (complete) section.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// It tried and failed.
    Failed(String),
    /// It chose not to run.
    Skipped(String),
    /// It failed, but what it found is worth reporting.
    Partial {
        /// Why it failed.
        error: String,
        /// What it found, as JSON.
        section: Value,
    },
}

impl Failure {
    /// A failure with a message.
    pub fn failed(error: impl fmt::Display) -> Self {
        Failure::Failed(error.to_string())
    }

    /// A deliberate skip.
    pub fn skipped(reason: impl Into<String>) -> Self {
        Failure::Skipped(reason.into())
    }

    /// A failure that keeps what was found.
    pub fn partial(error: impl fmt::Display, found: &impl Serialize) -> Self {
        match serde_json::to_value(found) {
            Ok(section) => Failure::Partial {
                error: error.to_string(),
                section,
            },
            Err(_) => Failure::Failed(error.to_string()),
        }
    }
}

/// An error and its sources in one line, each source once (a layer that already quotes its
/// source is not repeated): `cannot read x.toml: No such file or directory`.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut msg = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !msg.contains(&text) {
            msg.push_str(": ");
            msg.push_str(&text);
        }
        source = s.source();
    }
    msg
}

impl<E: std::error::Error> From<E> for Failure {
    fn from(err: E) -> Self {
        Failure::Failed(error_chain(&err))
    }
}
