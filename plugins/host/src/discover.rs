//! Finding plugins (a profile's `[plugins]` table and the user's plugins
//! folder), loading them together, and adding them to a registry.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sonde_core::profile::{Isolation, PluginDecl, PluginKind};
use sonde_core::{Collector, Registry, Settings};

use crate::collector::PluginCollector;
use crate::error::LoadError;
use crate::plugin::{guess_kind, ChildCommand, Plugin, DESCRIBE_TIMEOUT, FOLDER_DESCRIBE_TIMEOUT};

/// A file to load as a plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Where it is.
    pub path: PathBuf,
    /// What it is, when known.
    pub kind: Option<PluginKind>,
    /// How a library runs.
    pub isolation: Isolation,
    /// The profile's declaration, when it came from one.
    pub declared: Option<PluginDecl>,
}

/// A candidate and what loading it gave.
#[derive(Debug)]
pub struct Loaded {
    /// What was loaded.
    pub candidate: Candidate,
    /// The plugin, or why it was refused.
    pub result: Result<Plugin, LoadError>,
}

/// A plugin that could not be added, and where it was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The profile's declaration, when the plugin came from one.
    pub declared: Option<PluginDecl>,
    /// The plugin's path.
    pub path: PathBuf,
    /// What is wrong, naming the plugin.
    pub message: String,
}

/// The plugin files of a folder, sorted: libraries (`.so`, `.dylib`) and
/// executables; hidden files and anything else are ignored.
pub fn folder_entries(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            !p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'))
        })
        .filter(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file() && guess_kind(p, &m).is_some()))
        .collect();
    out.sort();
    out
}

/// What to load: the profile's declarations first, then the folder's files
/// that no declaration names.
pub fn candidates(
    declared: &BTreeMap<String, PluginDecl>,
    folder: Option<&Path>,
) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = declared
        .values()
        .map(|d| Candidate {
            path: d.path.clone(),
            kind: d.kind,
            isolation: d.isolation,
            declared: Some(d.clone()),
        })
        .collect();
    let canonical = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let taken: BTreeSet<PathBuf> = out.iter().map(|c| canonical(&c.path)).collect();
    for path in folder.map(folder_entries).unwrap_or_default() {
        if !taken.contains(&canonical(&path)) {
            out.push(Candidate {
                path,
                kind: None,
                isolation: Isolation::Process,
                declared: None,
            });
        }
    }
    out
}

/// Loads every candidate at once (each describes itself, in a child
/// process unless it is an in-process library). A plugin of the folder has
/// [`FOLDER_DESCRIBE_TIMEOUT`] to do it, one the profile declares
/// [`DESCRIBE_TIMEOUT`].
pub async fn load_all(candidates: Vec<Candidate>, child: &ChildCommand) -> Vec<Loaded> {
    let loads = candidates.into_iter().map(|candidate| async move {
        let limit = match candidate.declared {
            Some(_) => DESCRIBE_TIMEOUT,
            None => FOLDER_DESCRIBE_TIMEOUT,
        };
        let result = Plugin::load(
            &candidate.path,
            candidate.kind,
            candidate.isolation,
            child,
            limit,
        )
        .await;
        Loaded { candidate, result }
    });
    futures_util::future::join_all(loads).await
}

/// Adds the loaded plugins to the registry, in order; returns every plugin
/// that was refused (load errors, a name that differs from the profile's
/// declaration, a name already taken) with the reason.
///
/// A plugin of the folder joins every profile, so one that cannot run in
/// them all is left out here, with a problem naming it, rather than
/// failing every profile: one that needs a collector nobody provides, or
/// whose settings schema refuses an empty table (a profile that does not
/// mention it gives it none). A plugin the profile declares is kept and
/// checked with the profile: the user asked for it.
pub fn register(registry: &mut Registry, loaded: &[Loaded]) -> Vec<Problem> {
    let mut problems = Vec::new();
    let problem = |l: &Loaded, message: String| Problem {
        declared: l.candidate.declared.clone(),
        path: l.candidate.path.clone(),
        message,
    };
    // The plugins that loaded under the name they were declared with.
    let mut usable: Vec<(&Loaded, &Plugin)> = Vec::new();
    for l in loaded {
        let plugin = match &l.result {
            Ok(p) => p,
            Err(e) => {
                problems.push(problem(l, e.to_string()));
                continue;
            }
        };
        if let Some(decl) = &l.candidate.declared {
            if decl.name != plugin.manifest.name {
                problems.push(problem(
                    l,
                    format!(
                        "plugin {} is declared as `{}` but its manifest names it `{}`; \
                         name its table [plugins.{}]",
                        plugin.path.display(),
                        decl.name,
                        plugin.manifest.name,
                        plugin.manifest.name
                    ),
                ));
                continue;
            }
        }
        usable.push((l, plugin));
    }
    // Leaving out a folder plugin can strand another that needs it: repeat
    // until nothing more is left out.
    let builtins: BTreeSet<String> = registry.names().map(str::to_string).collect();
    let mut left_out: BTreeMap<usize, String> = BTreeMap::new();
    loop {
        let known = known_names(&builtins, &usable, &left_out);
        let before = left_out.len();
        for (i, (l, plugin)) in usable.iter().enumerate() {
            if l.candidate.declared.is_none() && !left_out.contains_key(&i) {
                if let Some(why) = cannot_join_every_profile(plugin, &known) {
                    left_out.insert(i, why);
                }
            }
        }
        if left_out.len() == before {
            break;
        }
    }
    let known = known_names(&builtins, &usable, &left_out);
    for (i, (l, plugin)) in usable.iter().enumerate() {
        if let Some(why) = left_out.remove(&i) {
            problems.push(problem(l, why));
            continue;
        }
        let collector = PluginCollector::new(plugin, |n| known.contains(n));
        if let Err(e) = registry.add(Arc::new(collector)) {
            problems.push(problem(l, e.to_string()));
        }
    }
    problems
}

/// The built-ins and the names of the plugins not left out.
fn known_names(
    builtins: &BTreeSet<String>,
    usable: &[(&Loaded, &Plugin)],
    left_out: &BTreeMap<usize, String>,
) -> BTreeSet<String> {
    let mut known = builtins.clone();
    known.extend(
        usable
            .iter()
            .enumerate()
            .filter(|(i, _)| !left_out.contains_key(i))
            .map(|(_, (_, p))| p.manifest.name.clone()),
    );
    known
}

/// Why a folder plugin cannot run in every profile, if it cannot.
fn cannot_join_every_profile(plugin: &Plugin, known: &BTreeSet<String>) -> Option<String> {
    let name = &plugin.manifest.name;
    let path = plugin.path.display();
    let missing: Vec<String> = plugin
        .manifest
        .needs
        .iter()
        .filter(|n| !known.contains(*n))
        .map(|n| format!("`{n}`"))
        .collect();
    if !missing.is_empty() {
        return Some(format!(
            "plugin `{name}` ({path}) needs {}, which no built-in or plugin provides; \
             it is left out of every profile",
            missing.join(", ")
        ));
    }
    let collector = PluginCollector::new(plugin, |n| known.contains(n));
    if let Err(e) = collector.configure(Settings::Plain(toml::Table::new())) {
        return Some(format!(
            "plugin `{name}` ({path}) cannot run without settings ({}); it is left out of \
             every profile: declare it in a profile's [plugins.{name}] table and give its \
             settings in [collectors.{name}]",
            e.message
        ));
    }
    None
}
