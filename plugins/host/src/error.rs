//! Why a plugin could not be loaded or did not answer.

use std::path::PathBuf;

use sonde_plugin_sdk::AbiVersion;

/// Why a plugin was refused at load time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// The file is missing or unreadable.
    #[error("plugin {}: {message}", path.display())]
    Missing {
        /// The path given.
        path: PathBuf,
        /// What the system said.
        message: String,
    },
    /// The library could not be opened, or has no entry symbol.
    #[error("plugin {}: {message}", path.display())]
    Library {
        /// The library.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The plugin speaks another ABI version.
    #[error(
        "plugin `{name}` ({}) is built for plugin ABI {plugin}, but this sonde speaks ABI {host}; \
         rebuild it against sonde-plugin-sdk {}.x (same major version, minor at most {})",
        path.display(), host.major, host.minor
    )]
    Abi {
        /// The plugin's name (its file name until the manifest is read).
        name: String,
        /// Where it is.
        path: PathBuf,
        /// What it speaks.
        plugin: AbiVersion,
        /// What this sonde speaks.
        host: AbiVersion,
    },
    /// The plugin (or the child that loaded it) refused to describe itself;
    /// the message says why.
    #[error("{message}")]
    Refused {
        /// Where it is.
        path: PathBuf,
        /// What it said.
        message: String,
    },
    /// `describe` failed or its answer is not a valid manifest.
    #[error("plugin {}: {message}", path.display())]
    Manifest {
        /// Where it is.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// Why one call of a plugin produced no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// What runs the plugin died: killed by a signal, or exited before
    /// answering. The node's outcome is `crashed`.
    #[error("{0}")]
    Crashed(String),
    /// It answered, but not usefully (invalid JSON, too large, ...), or
    /// could not be started. The node's outcome is `failed`.
    #[error("{0}")]
    Failed(String),
}
