//! The JSON that crosses the plugin boundary, in both directions, and the
//! version it is written in.
//!
//! Compatibility rules (see docs/writing-a-plugin.md): within one major
//! version, fields are only ever added, always optional, and readers ignore
//! fields they do not know. A host of ABI 1.m runs plugins of 1.0 through
//! 1.m; a plugin of a newer minor version, or another major one, is refused.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The major ABI version: bumped only when a change would break plugins.
pub const ABI_MAJOR: u32 = 1;
/// The minor ABI version: bumped when optional fields are added.
pub const ABI_MINOR: u32 = 0;

/// An ABI version, `major.minor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AbiVersion {
    /// Incompatible changes.
    pub major: u32,
    /// Compatible additions.
    pub minor: u32,
}

impl AbiVersion {
    /// The version this SDK (and a host built with it) speaks.
    pub const CURRENT: AbiVersion = AbiVersion {
        major: ABI_MAJOR,
        minor: ABI_MINOR,
    };

    /// Whether a host speaking `self` can run a plugin built for `plugin`:
    /// same major version, and nothing newer than the host knows.
    pub fn runs(self, plugin: AbiVersion) -> bool {
        self.major == plugin.major && plugin.minor <= self.minor
    }
}

impl fmt::Display for AbiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

fn default_timeout_ms() -> u64 {
    10_000
}

fn any_object() -> Value {
    serde_json::json!({ "type": "object" })
}

/// What a plugin says about itself (`describe`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Unique collector name: the report section's and the profile table's.
    pub name: String,
    /// The plugin's own version.
    pub version: String,
    /// One line saying what it finds out.
    pub summary: String,
    /// The ABI version it was built for.
    pub abi: AbiVersion,
    /// Collectors whose success it requires.
    #[serde(default)]
    pub needs: Vec<String>,
    /// Collectors it runs after when they run (ordering only; names sonde
    /// does not know are ignored).
    #[serde(default)]
    pub after: Vec<String>,
    /// Its time limit when the profile sets none, in milliseconds.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Whether it wants raw sockets.
    #[serde(default)]
    pub raw_sockets: bool,
    /// Whether it runs only when a profile enables it.
    #[serde(default)]
    pub on_request: bool,
    /// JSON Schema of its profile table.
    #[serde(default = "any_object")]
    pub config_schema: Value,
    /// JSON Schema of its report section.
    #[serde(default = "any_object")]
    pub output_schema: Value,
}

impl Manifest {
    /// A manifest for the current ABI, no dependencies, a 10 s timeout and
    /// schemas that accept any object.
    pub fn new(
        name: impl Into<String>,
        version: impl Into<String>,
        summary: impl Into<String>,
    ) -> Self {
        Manifest {
            name: name.into(),
            version: version.into(),
            summary: summary.into(),
            abi: AbiVersion::CURRENT,
            needs: Vec::new(),
            after: Vec::new(),
            timeout_ms: default_timeout_ms(),
            raw_sockets: false,
            on_request: false,
            config_schema: any_object(),
            output_schema: any_object(),
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
    pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
        self.timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        self
    }

    /// Marks it as wanting raw sockets.
    pub fn raw_sockets(mut self) -> Self {
        self.raw_sockets = true;
        self
    }

    /// Marks it as running only when enabled.
    pub fn on_request(mut self) -> Self {
        self.on_request = true;
        self
    }

    /// Sets the JSON Schema of its profile table.
    pub fn config_schema(mut self, schema: Value) -> Self {
        self.config_schema = schema;
        self
    }

    /// Sets the JSON Schema of its section.
    pub fn output_schema(mut self, schema: Value) -> Self {
        self.output_schema = schema;
        self
    }
}

/// The target, as a plugin sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// Exactly what the user typed.
    pub input: String,
    /// The host: a lower-case ASCII name, or an address.
    pub host: String,
    /// `name`, `ipv4` or `ipv6`.
    pub kind: String,
    /// The URL scheme, when the target was a URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    /// The URL's explicit port, when it named one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}

/// One call of `run`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// The host's ABI version.
    pub abi: AbiVersion,
    /// What the run inspects.
    pub target: Target,
    /// The plugin's own table from the profile, checked against its schema.
    #[serde(default)]
    pub config: Map<String, Value>,
    /// The sections of the collectors it waits for that succeeded.
    #[serde(default)]
    pub inputs: Map<String, Value>,
    /// Milliseconds left, when the request was written, before the plugin
    /// is stopped.
    pub deadline_ms: u64,
}

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// `section` holds the result.
    Ok,
    /// `error` says why; `section`, when present, holds what was found.
    Failed,
    /// `reason` says why it chose not to run.
    Skipped,
    /// The plugin's code panicked (caught at the boundary); `error` says
    /// how. The node's outcome is `crashed`.
    Crashed,
}

/// The answer to a `run`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    /// How it ended.
    pub status: Status,
    /// The report section.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section: Option<Value>,
    /// Why it failed or crashed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Why it skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Things worth a look that did not stop it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// How the section reads as text (see [`View`](crate::View)); a generic
    /// rendering of the JSON is used without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view: Option<Value>,
}

impl Response {
    /// A failure without a section.
    pub fn failed(error: impl Into<String>) -> Self {
        Response {
            status: Status::Failed,
            section: None,
            error: Some(error.into()),
            reason: None,
            warnings: Vec::new(),
            view: None,
        }
    }

    /// A caught panic.
    pub fn crashed(error: impl Into<String>) -> Self {
        Response {
            status: Status::Crashed,
            ..Response::failed(error)
        }
    }
}

/// What an executable plugin (or sonde's isolated child) reads on stdin:
/// one JSON document, then end of input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "call", rename_all = "snake_case")]
pub enum Call {
    /// Answer with the manifest.
    Describe {
        /// The host's ABI version.
        abi: AbiVersion,
    },
    /// Answer with a [`Response`].
    Run {
        /// The request.
        request: Request,
    },
}

/// The answer to `describe` when the plugin cannot describe itself:
/// `{"error": "..."}` instead of a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DescribeError {
    /// What went wrong.
    pub error: String,
}
