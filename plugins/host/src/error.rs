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
        "plugin `{name}` ({}) is built for plugin ABI {plugin}, but this sonde speaks ABI {host}; {}",
        path.display(), abi_advice(*plugin, *host)
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

/// What to do about a plugin of ABI `plugin` that a host of ABI `host`
/// refuses: a plugin newer than the host needs a newer sonde (or an older
/// build of the plugin); an older one needs rebuilding.
fn abi_advice(plugin: AbiVersion, host: AbiVersion) -> String {
    let rebuild = format!(
        "rebuild it against sonde-plugin-sdk {}.x (same major version, minor at most {})",
        host.major, host.minor
    );
    if plugin.major > host.major {
        format!(
            "upgrade sonde to one that speaks ABI {}.x, or {rebuild}",
            plugin.major
        )
    } else if plugin.major == host.major && plugin.minor > host.minor {
        format!("upgrade sonde to one that speaks ABI {plugin} or later, or {rebuild}")
    } else {
        rebuild
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abi_refusals_say_what_to_upgrade_or_rebuild() {
        let host = AbiVersion { major: 1, minor: 2 };
        let rebuild =
            "rebuild it against sonde-plugin-sdk 1.x (same major version, minor at most 2)";
        let cases = [
            (
                (2, 0),
                format!("upgrade sonde to one that speaks ABI 2.x, or {rebuild}"),
            ),
            (
                (1, 3),
                format!("upgrade sonde to one that speaks ABI 1.3 or later, or {rebuild}"),
            ),
            ((0, 9), rebuild.to_string()),
        ];
        for ((major, minor), advice) in cases {
            let plugin = AbiVersion { major, minor };
            let message = LoadError::Abi {
                name: "x".into(),
                path: PathBuf::from("/p/libx.so"),
                plugin,
                host,
            }
            .to_string();
            assert_eq!(
                message,
                format!(
                    "plugin `x` (/p/libx.so) is built for plugin ABI {plugin}, but this sonde speaks ABI 1.2; {advice}"
                )
            );
        }
    }
}
