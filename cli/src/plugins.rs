//! Plugins for the CLI: where the user's plugins folder is, loading a
//! profile's plugins into the registry before the profile is checked, and
//! `sonde plugins list | inspect`.

use std::path::{Path, PathBuf};

use sonde_core::profile::{Catalog, Isolation, PluginKind, Profile, ProfileError};
use sonde_core::Registry;
use sonde_plugin_host::discover::{self, Loaded};
use sonde_plugin_host::{ChildCommand, Plugin};

/// The folder whose libraries and executables are loaded as plugins.
pub fn folder() -> Option<PathBuf> {
    sonde_core::dirs::data_dir().map(|d| d.join("plugins"))
}

/// How isolated calls start: this very executable, hidden subcommand.
pub fn child_command() -> ChildCommand {
    ChildCommand {
        program: std::env::current_exe().unwrap_or_else(|_| PathBuf::from("sonde")),
        args: vec!["__plugin-child".into()],
    }
}

/// The registry a run uses, and what went wrong on the way.
pub struct Loading {
    /// Built-ins and every plugin that loaded.
    pub registry: Registry,
    /// Problems with plugins the profile declares: they fail the profile.
    pub errors: Vec<ProfileError>,
    /// Problems with plugins of the folder: they are only reported.
    pub warnings: Vec<String>,
    /// What was loaded, for `plugins list`.
    pub loaded: Vec<Loaded>,
}

/// Loads the plugins of the folder and of the profile `spec` (following
/// its `extends`) into a registry of the built-ins.
pub async fn load(catalog: &Catalog, spec: &str) -> Loading {
    let builtins = Registry::builtins();
    // Read only for its [plugins] tables: problems are reported when the
    // profile is checked again with the plugins loaded.
    let (profile, _) = Profile::load_lenient(catalog, spec, &builtins);
    let candidates = discover::candidates(&profile.plugins, folder().as_deref());
    if candidates.iter().any(|c| c.isolation == Isolation::None) {
        crate::output::protect();
    }
    let loaded = discover::load_all(candidates, &child_command()).await;
    let mut registry = builtins;
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    for problem in discover::register(&mut registry, &loaded) {
        match problem.declared {
            Some(decl) => errors.push(ProfileError::new(
                decl.loc,
                format!("plugins.{}", decl.name),
                problem.message,
            )),
            None => warnings.push(format!("ignoring a plugin: {}", problem.message)),
        }
    }
    Loading {
        registry,
        errors,
        warnings,
        loaded,
    }
}

/// How a plugin runs, in a word.
pub fn mode(kind: PluginKind, isolation: Isolation) -> &'static str {
    match (kind, isolation) {
        (PluginKind::Executable, _) => "executable",
        (PluginKind::Library, Isolation::Process) => "library, isolated",
        (PluginKind::Library, Isolation::None) => "library, in-process",
    }
}

/// A plugin's manifest as text, for `plugins inspect`.
pub fn describe(plugin: &Plugin) -> String {
    let m = &plugin.manifest;
    let list = |v: &[String]| {
        if v.is_empty() {
            "-".to_string()
        } else {
            v.join(", ")
        }
    };
    let pretty = |v: &serde_json::Value| {
        serde_json::to_string_pretty(v)
            .unwrap_or_default()
            .lines()
            .map(|l| format!("  {l}\n"))
            .collect::<String>()
    };
    format!(
        "name         {}\nversion      {}\nsummary      {}\nabi          {}\nkind         {}\npath         {}\n\
         needs        {}\nafter        {}\ntimeout      {}\nraw sockets  {}\non request   {}\n\
         config schema:\n{}output schema:\n{}",
        m.name,
        m.version,
        m.summary,
        m.abi,
        mode(plugin.kind, plugin.isolation),
        plugin.path.display(),
        list(&m.needs),
        list(&m.after),
        sonde_core::duration::format(std::time::Duration::from_millis(m.timeout_ms)),
        if m.raw_sockets { "yes" } else { "no" },
        if m.on_request { "yes" } else { "no" },
        pretty(&m.config_schema),
        pretty(&m.output_schema),
    )
}

/// Loads one plugin for `plugins inspect`, and checks that its name is free.
pub async fn inspect(path: &Path, in_process: bool) -> Result<Plugin, String> {
    let isolation = if in_process {
        crate::output::protect();
        Isolation::None
    } else {
        Isolation::Process
    };
    let plugin = Plugin::load(
        path,
        None,
        isolation,
        &child_command(),
        sonde_plugin_host::DESCRIBE_TIMEOUT,
    )
    .await
    .map_err(|e| e.to_string())?;
    if Registry::builtins().get(&plugin.manifest.name).is_some() {
        return Err(format!(
            "plugin {} is named `{}`, like a built-in collector; it would be refused",
            path.display(),
            plugin.manifest.name
        ));
    }
    Ok(plugin)
}

/// Ctrl-C or SIGTERM ends sonde at once, whatever the main thread is doing,
/// after stopping the plugin processes: they run in process groups of their
/// own, so the terminal's signal does not reach them (or what they started).
/// A thread of its own, so that a main thread busy in blocking code cannot
/// delay it. Started only when plugins loaded: without them the default
/// signal handling is right, and a run pays nothing for it.
pub fn stop_on_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let watcher = std::thread::Builder::new()
        .name("sonde-signals".into())
        .spawn(|| {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_io()
                .build()
            else {
                return;
            };
            let code = runtime.block_on(async {
                let mut interrupt = signal(SignalKind::interrupt()).ok()?;
                match signal(SignalKind::terminate()) {
                    Ok(mut terminate) => tokio::select! {
                        _ = interrupt.recv() => Some(crate::exit::INTERRUPTED),
                        _ = terminate.recv() => Some(crate::exit::TERMINATED),
                    },
                    Err(_) => interrupt.recv().await.map(|()| crate::exit::INTERRUPTED),
                }
            });
            if let Some(code) = code {
                sonde_plugin_host::finish_stopping();
                eprintln!("sonde: interrupted");
                std::process::exit(i32::from(code));
            }
        });
    if let Err(e) = watcher {
        tracing::debug!("no signal watcher: {e}");
    }
}
