//! Where profiles come from: the built-in set compiled into the binary, the
//! user's profile folder, or a path.

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The text of one profile file and where it came from.
#[derive(Debug, Clone)]
pub struct Source {
    /// How errors name it: a path, or `built-in profile "default"`.
    pub origin: Arc<str>,
    /// The TOML text.
    pub text: Arc<str>,
    /// The folder relative `extends` paths are resolved against.
    pub dir: Option<PathBuf>,
}

/// A profile the catalog knows about, for `sonde profiles list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// The profile's name.
    pub name: String,
    /// Where it lives.
    pub origin: String,
    /// Whether a user file hides a built-in of the same name.
    pub overrides_builtin: bool,
}

/// Finds profiles by name or path.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    builtins: Vec<(&'static str, &'static str)>,
    user_dir: Option<PathBuf>,
}

impl Catalog {
    /// A catalog of built-in profiles (name, TOML text) and an optional folder
    /// of user profiles (`NAME.toml`) that take precedence over them.
    pub fn new(builtins: Vec<(&'static str, &'static str)>, user_dir: Option<PathBuf>) -> Self {
        Catalog { builtins, user_dir }
    }

    /// The folder of user profiles.
    pub fn user_dir(&self) -> Option<&Path> {
        self.user_dir.as_deref()
    }

    /// Whether `spec` names a file rather than a profile.
    pub fn is_path(spec: &str) -> bool {
        spec.contains('/') || spec.ends_with(".toml")
    }

    /// Finds a profile by name (user folder first, then built-in) or by path
    /// (relative to `relative_to` when given).
    pub fn find(&self, spec: &str, relative_to: Option<&Path>) -> Result<Source, String> {
        if Self::is_path(spec) {
            let path = match relative_to {
                Some(dir) if Path::new(spec).is_relative() => dir.join(spec),
                _ => PathBuf::from(spec),
            };
            return read(&path);
        }
        if let Some(dir) = &self.user_dir {
            let path = dir.join(format!("{spec}.toml"));
            if path.is_file() {
                return read(&path);
            }
        }
        if let Some(builtin) = self.builtin(spec) {
            return Ok(builtin);
        }
        let names: Vec<String> = self.list().into_iter().map(|l| l.name).collect();
        let mut msg = format!("no profile named `{spec}`");
        if let Some(s) = crate::suggest::closest(spec, names.iter().map(String::as_str)) {
            msg.push_str(&format!(" (did you mean `{s}`?)"));
        }
        msg.push_str(&format!("; known profiles: {}", names.join(", ")));
        Err(msg)
    }

    /// The built-in profile of that name, even when a user file overrides it.
    pub fn builtin(&self, name: &str) -> Option<Source> {
        let (name, text) = self.builtins.iter().find(|(n, _)| *n == name)?;
        Some(Source {
            origin: format!("built-in profile \"{name}\"").into(),
            text: (*text).into(),
            dir: None,
        })
    }

    /// Every profile: user files and built-ins, by name.
    pub fn list(&self) -> Vec<Listing> {
        let mut out: Vec<Listing> = Vec::new();
        if let Some(dir) = &self.user_dir {
            if let Ok(entries) = std::fs::read_dir(dir) {
                for entry in entries.flatten() {
                    let path = entry.path();
                    if path.extension().is_some_and(|e| e == "toml") {
                        if let Some(stem) = path.file_stem().and_then(|s| s.to_str()) {
                            out.push(Listing {
                                name: stem.to_string(),
                                origin: path.display().to_string(),
                                overrides_builtin: self.builtins.iter().any(|(n, _)| *n == stem),
                            });
                        }
                    }
                }
            }
        }
        for (name, _) in &self.builtins {
            if !out.iter().any(|l| l.name == *name) {
                out.push(Listing {
                    name: name.to_string(),
                    origin: "built in".to_string(),
                    overrides_builtin: false,
                });
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }
}

fn read(path: &Path) -> Result<Source, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read profile {}: {e}", path.display()))?;
    Ok(Source {
        origin: path.display().to_string().into(),
        text: text.into(),
        dir: path.parent().map(Path::to_path_buf),
    })
}
