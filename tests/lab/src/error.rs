//! The lab's error type.

use std::io;

/// Why a lab could not be built or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LabError {
    /// The process cannot create network namespaces (not root, no `ip`, no netns support).
    #[error("the lab needs root and network namespaces: {0}")]
    Unavailable(String),
    /// An `ip` command failed.
    #[error("`{command}` failed: {stderr}")]
    Command {
        /// The command line, as run.
        command: String,
        /// What it printed on stderr (or its exit status when it printed nothing).
        stderr: String,
    },
    /// Entering a namespace failed.
    #[error("cannot enter network namespace {namespace}: {source}")]
    Enter {
        /// The namespace's name.
        namespace: String,
        /// The underlying error.
        source: io::Error,
    },
    /// A server could not start.
    #[error("the {server} server in {namespace} did not start: {source}")]
    Server {
        /// Which server (`dns`, ...).
        server: &'static str,
        /// The namespace it runs in.
        namespace: String,
        /// The underlying error.
        source: io::Error,
    },
    /// Any other I/O error, with what was being done.
    #[error("{what}: {source}")]
    Io {
        /// What the lab was doing.
        what: String,
        /// The underlying error.
        source: io::Error,
    },
}

impl LabError {
    pub(crate) fn io(what: impl Into<String>, source: io::Error) -> Self {
        LabError::Io {
            what: what.into(),
            source,
        }
    }
}
