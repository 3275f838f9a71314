//! The plugin host: loads third-party collectors and runs them like
//! built-ins.
//!
//! A plugin is a shared library exporting `sonde_plugin_entry` (see
//! sonde-plugin-sdk) or an executable speaking the same JSON protocol on
//! stdin/stdout. Libraries run, by default, in a child sonde process per
//! call ([`child::serve`] is that child's side), so that a crash or a hang
//! ends the child, never the run; `isolation = "none"` loads a trusted
//! library into sonde itself. Every plugin becomes a [`PluginCollector`]
//! in the engine's [`Registry`](sonde_core::Registry).

pub mod child;
mod collector;
pub mod discover;
mod error;
mod library;
mod plugin;
mod process;
pub mod schema;

pub use collector::PluginCollector;
pub use error::{CallError, LoadError};
pub use library::MAX_ANSWER;
pub use plugin::{ChildCommand, Plugin, DESCRIBE_TIMEOUT, FOLDER_DESCRIBE_TIMEOUT};
pub use process::finish_stopping;
