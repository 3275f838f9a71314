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
use crate::process::{die_with_sonde, exchange};

/// How long loading and `describe` may take for a plugin the user named
/// (in a profile's `[plugins]` table, or `plugins inspect`).
pub const DESCRIBE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long loading and `describe` may take for a plugin of the plugins
/// folder: every command loads them, so one that hangs must cost little; it
/// is left out with a warning.
pub const FOLDER_DESCRIBE_TIMEOUT: Duration = Duration::from_secs(2);

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
            Runner::Executable(path) => {
                let mut cmd = Command::new(path);
                die_with_sonde(&mut cmd);
                cmd
            }
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
        Call::Describe { .. } => None,
        Call::Run { request } => Some(
            serde_json::to_string(request)
                .map_err(|e| CallError::Failed(format!("cannot write the request: {e}")))?,
        ),
    };
    let task = tokio::task::spawn_blocking(move || match request {
        None => lib.describe(),
        Some(request) => lib.run(&request),
    });
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
    /// `kind` is guessed from the file when not given. Loading and
    /// describing must end within `limit`, or the plugin is refused.
    pub async fn load(
        path: &Path,
        kind: Option<PluginKind>,
        isolation: Isolation,
        child: &ChildCommand,
        limit: Duration,
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
        let too_slow = format!(
            "it did not load and describe itself within {}",
            sonde_core::duration::format(limit)
        );
        let describe = Call::Describe {
            abi: AbiVersion::CURRENT,
        };
        let (runner, described) = match (kind, isolation) {
            (PluginKind::Library, Isolation::None) => {
                let (lib, described) = open_in_process(path, &file_name, limit, too_slow).await?;
                (Runner::InProcess(lib), described)
            }
            (PluginKind::Library, Isolation::Process) | (PluginKind::Executable, _) => {
                let runner = match kind {
                    PluginKind::Library => Runner::Isolated {
                        library: path.to_path_buf(),
                        child: child.clone(),
                    },
                    PluginKind::Executable => Runner::Executable(path.to_path_buf()),
                };
                let stop = async {
                    tokio::time::sleep(limit).await;
                    too_slow
                };
                let described = runner.call(&describe, stop).await;
                (runner, described)
            }
        };
        let text = described.map_err(|e| LoadError::Manifest {
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

/// Opens a library in this process and asks it to describe itself, on a
/// thread of its own, so that initialisers or a `describe` that never
/// return cost that thread only: after `limit` the plugin is refused with
/// `too_slow` and the run goes on. A plain thread rather than tokio's
/// blocking pool: a runtime waits for its blocking tasks when it is
/// dropped, and sonde must be able to exit past a hung plugin.
async fn open_in_process(
    path: &Path,
    file_name: &str,
    limit: Duration,
    too_slow: String,
) -> Result<(&'static Library, Result<String, CallError>), LoadError> {
    let failed = |message: String| LoadError::Manifest {
        path: path.to_path_buf(),
        message,
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    let (owned_path, owned_name) = (path.to_path_buf(), file_name.to_string());
    std::thread::Builder::new()
        .name("sonde-plugin-load".into())
        .spawn(move || {
            let opened = Library::open(&owned_path, &owned_name).map(|lib| (lib, lib.describe()));
            let _ = tx.send(opened);
        })
        .map_err(|e| failed(format!("cannot start a thread to load it: {e}")))?;
    match tokio::time::timeout(limit, rx).await {
        Ok(Ok(opened)) => opened,
        Ok(Err(_)) => Err(failed("loading it ended abnormally".into())),
        Err(_) => Err(failed(format!("describe failed: {too_slow}"))),
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
    use crate::library::tests::c_library;

    /// A C plugin whose initialiser runs `init` and whose `describe` runs
    /// `describe` before answering.
    fn slow_library(name: &str, init: &str, describe: &str) -> PathBuf {
        c_library(
            name,
            &format!(
                "#include <unistd.h>\n#include <stdlib.h>\n#include <string.h>\n\
                 __attribute__((constructor)) static void init(void) {{ {init} }}\n\
                 static char *describe(void) {{ {describe} return strdup(\"{{\\\"name\\\":\\\"slow\\\",\\\"version\\\":\\\"1\\\",\\\"summary\\\":\\\"s\\\",\\\"abi\\\":{{\\\"major\\\":1,\\\"minor\\\":0}}}}\"); }}\n\
                 static char *run(const char *r) {{ (void)r; return strdup(\"{{}}\"); }}\n\
                 static void release(char *t) {{ free(t); }}\n\
                 static const struct sonde_plugin table = {{ 1, 0, sizeof(struct sonde_plugin), describe, run, release }};\n\
                 const struct sonde_plugin *sonde_plugin_entry(void) {{ return &table; }}"
            ),
        )
    }

    /// Loading in-process must not hold the runtime's thread: a hang in the
    /// initialisers or in `describe` is refused at the limit.
    #[tokio::test(flavor = "current_thread")]
    async fn an_in_process_library_that_hangs_loading_is_refused_in_time() {
        let child = ChildCommand {
            program: PathBuf::from("/nonexistent"),
            args: Vec::new(),
        };
        let fast = slow_library("fast", "", "");
        let plugin = Plugin::load(&fast, None, Isolation::None, &child, DESCRIBE_TIMEOUT)
            .await
            .expect("a library that answers at once loads");
        assert_eq!(plugin.manifest.name, "slow");
        for (name, init, describe) in [
            ("hang-init", "sleep(5);", ""),
            ("hang-describe", "", "sleep(5);"),
        ] {
            let path = slow_library(name, init, describe);
            let start = std::time::Instant::now();
            let err = Plugin::load(
                &path,
                Some(PluginKind::Library),
                Isolation::None,
                &child,
                Duration::from_millis(300),
            )
            .await
            .expect_err(name)
            .to_string();
            assert!(
                start.elapsed() < Duration::from_secs(2),
                "{name}: {:?}",
                start.elapsed()
            );
            assert_eq!(
                err,
                format!(
                    "plugin {}: describe failed: it did not load and describe itself within 300ms",
                    path.display()
                ),
                "{name}"
            );
        }
    }

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
