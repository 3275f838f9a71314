//! What a collector is: the spec it declares, the context it runs in, and
//! the two traits that describe it.
//!
//! [`Collector`] is the object-safe form the engine schedules; built-in
//! collectors implement the friendlier [`TypedCollector`] (typed config and
//! output) and are wrapped by [`Typed`]. Dynamic plugins implement
//! [`Collector`] directly, since only JSON crosses their boundary.

use std::any::Any;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::target::Target;
use crate::view::View;

/// Where a collector comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Origin {
    /// Compiled into sonde.
    Builtin,
    /// Loaded at run time.
    Plugin {
        /// The library or executable it was loaded from.
        path: String,
        /// The plugin's own version.
        version: String,
    },
}

/// What a collector declares about itself; the planner checks it before
/// anything runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spec {
    /// Unique name; also the report section's name and the profile table's.
    pub name: String,
    /// One line saying what it finds out.
    pub summary: String,
    /// Collectors whose success this one requires; it is skipped otherwise.
    pub needs: Vec<String>,
    /// Collectors that must have finished (in any way) before this starts.
    pub after: Vec<String>,
    /// Time limit when the profile sets none.
    #[serde(with = "crate::duration::serde_ms")]
    pub timeout: Duration,
    /// Whether it wants raw sockets (it must still work without them).
    pub raw_sockets: bool,
    /// Runs only when asked for (`--ports`, or `enabled = true` in the profile).
    pub on_request: bool,
    /// The headline used when this collector is critical and fails.
    pub failure_headline: Option<String>,
    /// Built in, or a plugin.
    pub origin: Origin,
}

impl Spec {
    /// A built-in collector's spec with no dependencies and a 10 s timeout.
    pub fn new(name: impl Into<String>, summary: impl Into<String>) -> Self {
        Spec {
            name: name.into(),
            summary: summary.into(),
            needs: Vec::new(),
            after: Vec::new(),
            timeout: Duration::from_secs(10),
            raw_sockets: false,
            on_request: false,
            failure_headline: None,
            origin: Origin::Builtin,
        }
    }

    /// Adds hard dependencies.
    pub fn needs<I: IntoIterator<Item = S>, S: Into<String>>(mut self, names: I) -> Self {
        self.needs.extend(names.into_iter().map(Into::into));
        self
    }

    /// Adds ordering-only dependencies.
    pub fn after<I: IntoIterator<Item = S>, S: Into<String>>(mut self, names: I) -> Self {
        self.after.extend(names.into_iter().map(Into::into));
        self
    }

    /// Sets the default timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Marks the collector as wanting raw sockets.
    pub fn raw_sockets(mut self) -> Self {
        self.raw_sockets = true;
        self
    }

    /// Marks the collector as running only on request.
    pub fn on_request(mut self) -> Self {
        self.on_request = true;
        self
    }

    /// Sets the headline for a critical failure, e.g. "DNS resolution failed".
    pub fn failure_headline(mut self, headline: impl Into<String>) -> Self {
        self.failure_headline = Some(headline.into());
        self
    }

    /// The headline for a critical failure.
    pub fn headline(&self) -> String {
        self.failure_headline
            .clone()
            .unwrap_or_else(|| format!("collector `{}` failed", self.name))
    }
}

/// Why a collector did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// It tried and failed; the message says why.
    Failed(String),
    /// It decided not to run; the reason says why (e.g. "no TLS port open").
    Skipped(String),
    /// What ran it died (a plugin's process was killed by a signal, or
    /// exited before answering); the message says how.
    Crashed(String),
    /// It failed, but what it found on the way is worth reporting (the
    /// lookups of a name without an address, the ports scanned before a
    /// deadline). The report keeps the section; the outcome is `failed`.
    Partial {
        /// Why it failed.
        error: String,
        /// What it found.
        section: Section,
    },
}

impl Failure {
    /// A failure with the message of `err` and all its sources.
    pub fn failed(err: impl fmt::Display) -> Self {
        Failure::Failed(err.to_string())
    }

    /// A deliberate skip.
    pub fn skipped(reason: impl Into<String>) -> Self {
        Failure::Skipped(reason.into())
    }

    /// A crash of what ran the collector (dynamic plugins).
    pub fn crashed(message: impl Into<String>) -> Self {
        Failure::Crashed(message.into())
    }

    /// A failure that still reports what was found.
    pub fn partial<T: Serialize + Send + Sync + 'static>(
        error: impl fmt::Display,
        found: T,
    ) -> Self {
        match Section::typed(found) {
            Ok(section) => Failure::Partial {
                error: error.to_string(),
                section,
            },
            Err(_) => Failure::Failed(error.to_string()),
        }
    }
}

impl<E: std::error::Error> From<E> for Failure {
    fn from(err: E) -> Self {
        Failure::Failed(sonde_plugin_sdk::error_chain(&err))
    }
}

/// A collector's output: the typed value for downstream collectors in the
/// same process, and its JSON form for the report.
#[derive(Clone)]
pub struct Section {
    typed: Option<Arc<dyn Any + Send + Sync>>,
    json: serde_json::Value,
    warnings: Vec<String>,
}

impl fmt::Debug for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.json.fmt(f)
    }
}

/// Sections are equal when their reports would be.
impl PartialEq for Section {
    fn eq(&self, other: &Self) -> bool {
        self.json == other.json
    }
}

impl Eq for Section {}

impl Section {
    /// A section from a typed output.
    pub fn typed<T: Serialize + Send + Sync + 'static>(value: T) -> Result<Self, Failure> {
        let json = serde_json::to_value(&value)
            .map_err(|e| Failure::Failed(format!("output could not be serialised: {e}")))?;
        Ok(Section {
            typed: Some(Arc::new(value)),
            json,
            warnings: Vec::new(),
        })
    }

    /// A section known only as JSON (plugins).
    pub fn json(json: serde_json::Value) -> Self {
        Section {
            typed: None,
            json,
            warnings: Vec::new(),
        }
    }

    /// Attaches warnings (things worth a look that did not stop the
    /// collector); the report keeps them beside the outcome.
    pub fn with_warnings(mut self, warnings: Vec<String>) -> Self {
        self.warnings = warnings;
        self
    }

    /// The attached warnings.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The JSON form.
    pub fn as_json(&self) -> &serde_json::Value {
        &self.json
    }

    /// The typed form, read back from JSON when the producer was a plugin.
    pub fn get<T: DeserializeOwned + Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        if let Some(typed) = &self.typed {
            if let Ok(t) = Arc::clone(typed).downcast::<T>() {
                return Some(t);
            }
        }
        serde_json::from_value(self.json.clone()).ok().map(Arc::new)
    }
}

/// Options of a run that collectors may need to know about.
#[derive(Debug, Clone, Default)]
pub struct RunFlags {
    /// The run was asked not to use an agent.
    pub no_agent: bool,
}

/// What a running collector sees: the target, the sections of the collectors
/// it depends on, its deadline and its cancellation signal.
#[derive(Clone)]
pub struct Context {
    target: Arc<Target>,
    inputs: Arc<BTreeMap<String, Section>>,
    deadline: Instant,
    cancel: CancellationToken,
    flags: Arc<RunFlags>,
}

impl Context {
    /// Builds a context; the scheduler does this for every node.
    pub fn new(
        target: Arc<Target>,
        inputs: BTreeMap<String, Section>,
        deadline: Instant,
        cancel: CancellationToken,
        flags: Arc<RunFlags>,
    ) -> Self {
        Context {
            target,
            inputs: Arc::new(inputs),
            deadline,
            cancel,
            flags,
        }
    }

    /// The target of the run.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The typed section of a collector this one depends on, if it succeeded.
    pub fn section<T: DeserializeOwned + Send + Sync + 'static>(
        &self,
        name: &str,
    ) -> Option<Arc<T>> {
        self.inputs.get(name).and_then(Section::get)
    }

    /// The JSON section of a collector this one depends on, if it succeeded.
    pub fn section_json(&self, name: &str) -> Option<&serde_json::Value> {
        self.inputs.get(name).map(Section::as_json)
    }

    /// Names of the sections available to this collector.
    pub fn inputs(&self) -> impl Iterator<Item = &str> {
        self.inputs.keys().map(String::as_str)
    }

    /// When this collector's time is up (its own timeout or the global
    /// deadline, whichever comes first).
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Time left before the deadline.
    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// Resolves when the run no longer wants this collector's result.
    pub async fn cancelled(&self) {
        self.cancel.cancelled().await
    }

    /// Whether the run no longer wants this collector's result.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Flags of the run.
    pub fn flags(&self) -> &RunFlags {
        &self.flags
    }
}

/// A collector's parsed settings, opaque to the engine.
pub type Config = Arc<dyn Any + Send + Sync>;

/// A collector's settings as the profile gives them.
pub enum Settings<'a> {
    /// Straight from one profile file, with positions for error messages.
    Spanned(toml::de::ValueDeserializer<'a>),
    /// After `extends` merged several files; positions are gone.
    Plain(toml::Table),
}

/// A settings problem, with the byte range in the profile file when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsError {
    /// What is wrong.
    pub message: String,
    /// Byte range in the profile text.
    pub span: Option<std::ops::Range<usize>>,
}

impl From<toml::de::Error> for SettingsError {
    fn from(e: toml::de::Error) -> Self {
        SettingsError {
            message: e.message().trim().to_string(),
            span: e.span(),
        }
    }
}

/// The object-safe collector the engine schedules.
#[async_trait::async_trait]
pub trait Collector: Send + Sync {
    /// The collector's declaration.
    fn spec(&self) -> &Spec;

    /// Parses and checks its own profile table (without the engine's keys).
    fn configure(&self, settings: Settings<'_>) -> Result<Config, SettingsError>;

    /// Gathers its facts.
    async fn collect(&self, config: &Config, ctx: &Context) -> Result<Section, Failure>;

    /// Describes a section (possibly from an older report) as text.
    fn view(&self, section: &serde_json::Value) -> View;

    /// The JSON Schema of its section, for the report's schema; `None` when
    /// the collector does not describe it.
    fn output_schema(&self) -> Option<serde_json::Value> {
        None
    }
}

/// The convenient trait built-in collectors implement.
#[async_trait::async_trait]
pub trait TypedCollector: Send + Sync + 'static {
    /// Its settings: `#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]`.
    type Config: DeserializeOwned + Default + Send + Sync + 'static;
    /// Its section; the `JsonSchema` derive documents it in the report's schema.
    type Output: Serialize + DeserializeOwned + schemars::JsonSchema + Send + Sync + 'static;

    /// The collector's declaration.
    fn spec(&self) -> Spec;

    /// Checks settings beyond their types (ranges, addresses). The message
    /// starts with the setting's key, `key: why` (e.g. `attempts: 9 is out of
    /// range`), so the profile error points at that key and its line.
    fn check(&self, _config: &Self::Config) -> Result<(), String> {
        Ok(())
    }

    /// Gathers its facts.
    async fn collect(&self, config: &Self::Config, ctx: &Context) -> Result<Self::Output, Failure>;

    /// Describes the output as text.
    fn view(&self, output: &Self::Output) -> View;
}

/// Adapts a [`TypedCollector`] to [`Collector`].
pub struct Typed<T: TypedCollector> {
    inner: T,
    spec: Spec,
}

impl<T: TypedCollector> Typed<T> {
    /// Wraps a typed collector.
    pub fn new(inner: T) -> Self {
        let spec = inner.spec();
        Typed { inner, spec }
    }
}

#[async_trait::async_trait]
impl<T: TypedCollector> Collector for Typed<T> {
    fn spec(&self) -> &Spec {
        &self.spec
    }

    fn configure(&self, settings: Settings<'_>) -> Result<Config, SettingsError> {
        let (config, span) = match settings {
            Settings::Spanned(de) => (T::Config::deserialize(de)?, None),
            Settings::Plain(table) => (T::Config::deserialize(toml::Value::Table(table))?, None),
        };
        self.inner
            .check(&config)
            .map_err(|message| SettingsError { message, span })?;
        Ok(Arc::new(config))
    }

    async fn collect(&self, config: &Config, ctx: &Context) -> Result<Section, Failure> {
        let config = config
            .downcast_ref::<T::Config>()
            .ok_or_else(|| Failure::Failed("internal error: settings of the wrong type".into()))?;
        let output = self.inner.collect(config, ctx).await?;
        Section::typed(output)
    }

    fn view(&self, section: &serde_json::Value) -> View {
        match T::Output::deserialize(section) {
            Ok(output) => self.inner.view(&output),
            Err(_) => View::from_json(section),
        }
    }

    fn output_schema(&self) -> Option<serde_json::Value> {
        Some(schemars::schema_for!(T::Output).to_value())
    }
}
