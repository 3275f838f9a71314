//! A loaded plugin: its manifest, where it is, and how it is called.

use std::ffi::OsString;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use sonde_core::profile::{Isolation, PluginKind};
use sonde_plugin_sdk::protocol::DescribeError;
use sonde_plugin_sdk::{AbiVersion, Call, Manifest};
use tokio::process::Command;

use crate::error::{CallError, LoadError};
use crate::library::Library;
use crate::process::exchange;

/// How long `describe` may take in a child process or an executable.
pub const DESCRIBE_TIMEOUT: Duration = Duration::from_secs(10);

/// How to start sonde's isolated child: a program and the arguments that
/// come before the library's path (the CLI uses its own executable and
/// `__plugin-child`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildCommand {
    /// The program.
    pub program: PathBuf,
    /// Arguments before the library's path.
    pub args: Vec<OsString>,
}

impl ChildCommand {
    fn command(&self, library: &Path) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args).arg(library);
        cmd
    }
}

/// How calls reach the plugin.
#[derive(Debug)]
pub(crate) enum Runner {
    /// A library loaded into this process.
    InProcess(&'static Library),
    /// A library loaded by a child sonde process per call.
    Isolated {
        library: PathBuf,
        child: ChildCommand,
    },
    /// A program speaking the protocol on stdin/stdout.
    Executable(PathBuf),
}

impl Runner {
    /// Sends a call and returns the answer's text. `stop` resolves with a
    /// reason when the answer is no longer wanted.
    pub(crate) async fn call(
        &self,
        call: &Call,
        stop: impl Future<Output = String>,
    ) -> Result<String, CallError> {
        let text = serde_json::to_vec(call)
            .map_err(|e| CallError::Failed(format!("cannot write the call: {e}")))?;
        let cmd = match self {
            Runner::InProcess(lib) => return in_process(lib, call, stop).await,
            Runner::Isolated { library, child } => child.command(library),
            Runner::Executable(path) => Command::new(path),
        };
        let out = exchange(cmd, text, stop).await?;
        String::from_utf8(out)
            .map_err(|e| CallError::Failed(format!("its answer is not UTF-8: {e}")))
    }
}

/// Calls an in-process library on a blocking thread, so that a plugin
/// that never returns holds that thread only: the scheduler's timeout still
/// ends the node and the run goes on (the thread stays lost until exit).
async fn in_process(
    lib: &'static Library,
    call: &Call,
    stop: impl Future<Output = String>,
) -> Result<String, CallError> {
    let request = match call {
        Call::Describe { .. } => return lib.describe(),
        Call::Run { request } => serde_json::to_string(request)
            .map_err(|e| CallError::Failed(format!("cannot write the request: {e}")))?,
    };
    let task = tokio::task::spawn_blocking(move || lib.run(&request));
    tokio::select! {
        joined = task => joined.unwrap_or_else(|e| Err(CallError::Crashed(format!("its call ended abnormally: {e}")))),
        reason = stop => Err(CallError::Failed(reason)),
    }
}

/// A plugin that was found, described and checked.
#[derive(Debug, Clone)]
pub struct Plugin {
    /// What it says about itself.
    pub manifest: Manifest,
    /// Where it is.
    pub path: PathBuf,
    /// Library or executable.
    pub kind: PluginKind,
    /// How a library runs (executables always run in their own process).
    pub isolation: Isolation,
    pub(crate) runner: Arc<Runner>,
}

impl Plugin {
    /// Finds out what `path` is, asks it to describe itself (in a child
    /// process unless `isolation` is `None`), and checks the manifest.
    /// `kind` is guessed from the file when not given.
    pub async fn load(
        path: &Path,
        kind: Option<PluginKind>,
        isolation: Isolation,
        child: &ChildCommand,
    ) -> Result<Plugin, LoadError> {
        let meta = std::fs::metadata(path).map_err(|e| LoadError::Missing {
            path: path.to_path_buf(),
            message: format!("cannot read it: {e}"),
        })?;
        if !meta.is_file() {
            return Err(LoadError::Missing {
                path: path.to_path_buf(),
                message: "not a file".into(),
            });
        }
        let kind = match kind.or_else(|| guess_kind(path, &meta)) {
            Some(k) => k,
            None => {
                return Err(LoadError::Library {
                    path: path.to_path_buf(),
                    message: "neither a shared library (.so, .dylib) nor an executable file; \
                              set `kind` in its [plugins] table"
                        .into(),
                })
            }
        };
        let isolation = match kind {
            PluginKind::Executable => Isolation::Process,
            PluginKind::Library => isolation,
        };
        let file_name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into(),
        );
        let runner = match (kind, isolation) {
            (PluginKind::Library, Isolation::None) => {
                Runner::InProcess(Library::open(path, &file_name)?)
            }
            (PluginKind::Library, Isolation::Process) => Runner::Isolated {
                library: path.to_path_buf(),
                child: child.clone(),
            },
            (PluginKind::Executable, _) => Runner::Executable(path.to_path_buf()),
        };
        let stop = async {
            tokio::time::sleep(DESCRIBE_TIMEOUT).await;
            format!(
                "it did not describe itself within {} s",
                DESCRIBE_TIMEOUT.as_secs()
            )
        };
        let describe = Call::Describe {
            abi: AbiVersion::CURRENT,
        };
        let text = runner
            .call(&describe, stop)
            .await
            .map_err(|e| LoadError::Manifest {
                path: path.to_path_buf(),
                message: format!("describe failed: {e}"),
            })?;
        let manifest = parse_manifest(&text, path, &file_name)?;
        Ok(Plugin {
            manifest,
            path: path.to_path_buf(),
            kind,
            isolation,
            runner: Arc::new(runner),
        })
    }
}

/// Libraries by extension; anything else with an execute bit is a program.
pub(crate) fn guess_kind(path: &Path, meta: &std::fs::Metadata) -> Option<PluginKind> {
    use std::os::unix::fs::PermissionsExt;
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    if matches!(ext, "so" | "dylib" | "dll") {
        Some(PluginKind::Library)
    } else if meta.permissions().mode() & 0o111 != 0 {
        Some(PluginKind::Executable)
    } else {
        None
    }
}

fn manifest_error(path: &Path, message: impl Into<String>) -> LoadError {
    LoadError::Manifest {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Reads and checks a manifest's JSON.
pub(crate) fn parse_manifest(
    text: &str,
    path: &Path,
    file_name: &str,
) -> Result<Manifest, LoadError> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        manifest_error(
            path,
            format!(
                "its description is not valid JSON ({e}); it began: {}",
                preview(text)
            ),
        )
    })?;
    if value.get("name").is_none() {
        if let Ok(DescribeError { error }) = serde_json::from_value::<DescribeError>(value.clone())
        {
            let shown = path.display().to_string();
            let message = if error.contains(&shown) {
                error
            } else {
                format!("plugin {shown}: {error}")
            };
            return Err(LoadError::Refused {
                path: path.to_path_buf(),
                message,
            });
        }
    }
    // The ABI version first, so that a manifest of another version is
    // refused for that reason rather than for a field it does not have.
    if let Some(abi) = value
        .get("abi")
        .and_then(|a| serde_json::from_value::<AbiVersion>(a.clone()).ok())
    {
        if !AbiVersion::CURRENT.runs(abi) {
            let name = value
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or(file_name);
            return Err(LoadError::Abi {
                name: name.to_string(),
                path: path.to_path_buf(),
                plugin: abi,
                host: AbiVersion::CURRENT,
            });
        }
    }
    let manifest: Manifest = serde_json::from_value(value)
        .map_err(|e| manifest_error(path, format!("its manifest is not valid: {e}")))?;
    check_name(&manifest.name).map_err(|e| manifest_error(path, e))?;
    if manifest.timeout_ms == 0 {
        return Err(manifest_error(path, "its manifest's `timeout_ms` is zero"));
    }
    for (what, schema) in [
        ("config_schema", &manifest.config_schema),
        ("output_schema", &manifest.output_schema),
    ] {
        crate::schema::check_schema(schema)
            .map_err(|e| manifest_error(path, format!("its manifest's `{what}`: {e}")))?;
    }
    Ok(manifest)
}

/// A collector name: what profiles and reports use as a key.
fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "its name `{name}` is not a collector name: lower-case letters, digits, `-` and `_`, \
             starting with a letter, at most 64 characters"
        ))
    }
}

/// The start of a text, for messages.
pub(crate) fn preview(text: &str) -> String {
    let mut p: String = text.chars().take(80).collect();
    if p.len() < text.len() {
        p.push('…');
    }
    format!("{p:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Manifest, String> {
        parse_manifest(text, Path::new("/p/libx.so"), "libx.so").map_err(|e| e.to_string())
    }

    #[test]
    fn manifests_good_and_hostile() {
        let ok = parse(r#"{"name":"x","version":"1","summary":"s","abi":{"major":1,"minor":0},"future_field":[1,2]}"#)
            .expect("valid, unknown fields ignored");
        assert_eq!(ok.timeout_ms, 10_000);
        assert!(ok.needs.is_empty());
        let cases = [
            ("", "its description is not valid JSON"),
            ("nul", "its description is not valid JSON"),
            ("[]", "its manifest is not valid"),
            (r#"{"error":"cannot start: no config"}"#, "plugin /p/libx.so: cannot start: no config"),
            (r#"{"name":"x","version":"1","summary":"s"}"#, "missing field `abi`"),
            (r#"{"name":"x","version":"1","summary":"s","abi":{"major":2,"minor":0}}"#,
             "plugin `x` (/p/libx.so) is built for plugin ABI 2.0, but this sonde speaks ABI 1.0"),
            (r#"{"abi":{"major":0,"minor":9}}"#, "plugin `libx.so` (/p/libx.so) is built for plugin ABI 0.9"),
            (r#"{"name":"X y","version":"1","summary":"s","abi":{"major":1,"minor":0}}"#, "is not a collector name"),
            (r#"{"name":"","version":"1","summary":"s","abi":{"major":1,"minor":0}}"#, "is not a collector name"),
            (r#"{"name":"x","version":"1","summary":"s","abi":{"major":1,"minor":0},"timeout_ms":0}"#, "`timeout_ms` is zero"),
            (r#"{"name":"x","version":"1","summary":"s","abi":{"major":1,"minor":0},"config_schema":{"type":"nope"}}"#, "`config_schema`: `type` \"nope\" is not a JSON type"),
            (r#"{"name":"x","version":"1","summary":"s","abi":{"major":1,"minor":0},"timeout_ms":-5}"#, "its manifest is not valid"),
        ];
        for (text, want) in cases {
            let got = parse(text).expect_err(text);
            assert!(got.contains(want), "{text}: {got}");
        }
    }
}
