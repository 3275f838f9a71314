//! Profiles: named TOML files that say which collectors run, with which
//! settings, dependencies, timeouts and critical nodes.
//!
//! A profile may `extends` another; the chain is merged base first. Every
//! file is checked on its own (syntax, keys, durations, each collector's
//! settings) so that each problem names its file and line; the merged
//! profile is then checked as a graph by [`Plan::build`](crate::plan::Plan::build).

mod layer;
mod plugins;
mod source;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

pub use layer::Named;
pub use plugins::{Isolation, PluginDecl, PluginKind};
pub use source::{Catalog, Listing, Source};

use crate::registry::Registry;

/// Where something was written: a file (or built-in profile) and a line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Loc {
    /// The file path or `built-in profile "NAME"`.
    pub origin: Arc<str>,
    /// 1-based line, when known.
    pub line: Option<usize>,
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}", self.origin),
            None => f.write_str(&self.origin),
        }
    }
}

/// One problem in a profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileError {
    /// Where.
    pub loc: Loc,
    /// The key, dotted (`collectors.dns.timeout`); empty for the whole file.
    pub key: String,
    /// What is wrong, and how to fix it when that is known.
    pub message: String,
}

impl ProfileError {
    /// A problem at a place.
    pub fn new(loc: Loc, key: impl Into<String>, message: impl Into<String>) -> Self {
        ProfileError {
            loc,
            key: key.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ProfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}", self.loc, self.message)
        } else {
            write!(f, "{}: {}: {}", self.loc, self.key, self.message)
        }
    }
}

/// Every problem found in a profile, reported together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileErrors(pub Vec<ProfileError>);

impl fmt::Display for ProfileErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        writeln!(
            f,
            "the profile has {n} problem{}:",
            if n == 1 { "" } else { "s" }
        )?;
        for e in &self.0 {
            writeln!(f, "  {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ProfileErrors {}

/// One collector's settings in the merged profile.
#[derive(Debug, Clone, Default)]
pub struct Entry {
    /// Where its table was last written.
    pub loc: Loc,
    /// `enabled`: true forces it on (even an on-request collector), false off.
    pub enabled: Option<bool>,
    /// `timeout`, overriding the collector's default.
    pub timeout: Option<Duration>,
    /// `needs` added to the collector's own.
    pub needs: Vec<Named>,
    /// `after` added to the collector's own.
    pub after: Vec<Named>,
    /// The collector's own settings.
    pub settings: toml::Table,
    /// Its settings already failed to validate (the error is reported).
    pub(crate) invalid: bool,
}

/// A merged, file-checked profile.
#[derive(Debug, Clone, Default)]
pub struct Profile {
    /// The profile's name.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// The files it was merged from, base first.
    pub chain: Vec<Arc<str>>,
    /// The global timeout, when the profile sets one.
    pub timeout: Option<Duration>,
    /// Critical collectors (`["dns"]` when the profile says nothing).
    pub critical: Vec<Named>,
    /// Collector tables, by name.
    pub collectors: BTreeMap<String, Entry>,
    /// Plugins declared in `[plugins]`, by name (a later file's declaration
    /// replaces an earlier one's).
    pub plugins: BTreeMap<String, PluginDecl>,
    /// Whether some file set `critical` (an empty list is then meant).
    critical_set: bool,
}

/// How deep `extends` may go before it is taken for a mistake.
const MAX_EXTENDS: usize = 16;

impl Profile {
    /// Loads a profile by name or path, following `extends`, and checks every
    /// file. All problems found are returned together.
    pub fn load(
        catalog: &Catalog,
        spec: &str,
        registry: &Registry,
    ) -> Result<Profile, ProfileErrors> {
        let (profile, errors) = Self::load_lenient(catalog, spec, registry);
        if errors.is_empty() {
            Ok(profile)
        } else {
            Err(ProfileErrors(errors))
        }
    }

    /// Like [`load`](Self::load) but hands back what could be read beside the
    /// problems, so that the graph can still be checked and every problem
    /// reported at once.
    pub fn load_lenient(
        catalog: &Catalog,
        spec: &str,
        registry: &Registry,
    ) -> (Profile, Vec<ProfileError>) {
        let mut errors = Vec::new();
        let mut layers = Vec::new();
        let mut next = Some((spec.to_string(), None::<std::path::PathBuf>, None::<Loc>));
        while let Some((spec, dir, from)) = next.take() {
            let found = catalog.find(&spec, dir.as_deref()).map(|src| {
                // A user file that extends its own name (default.toml with
                // `extends = "default"`) builds on the built-in it overrides.
                let extends_itself = layers
                    .last()
                    .is_some_and(|(s, _): &(Source, layer::Layer)| s.origin == src.origin);
                match catalog.builtin(&spec) {
                    Some(builtin) if extends_itself => builtin,
                    _ => src,
                }
            });
            let src = match found {
                Ok(src) => src,
                Err(message) => {
                    let loc = from.unwrap_or_else(|| Loc {
                        origin: "command line".into(),
                        line: None,
                    });
                    let key = if loc.line.is_some() { "extends" } else { "" };
                    errors.push(ProfileError::new(loc, key, message));
                    break;
                }
            };
            if layers
                .iter()
                .any(|(s, _): &(Source, layer::Layer)| s.origin == src.origin)
            {
                let chain: Vec<&str> = layers.iter().map(|(s, _)| &*s.origin).collect();
                errors.push(ProfileError::new(
                    from.unwrap_or_default(),
                    "extends",
                    format!(
                        "profiles extend each other in a loop: {} -> {}",
                        chain.join(" -> "),
                        src.origin
                    ),
                ));
                break;
            }
            if layers.len() == MAX_EXTENDS {
                errors.push(ProfileError::new(
                    from.unwrap_or_default(),
                    "extends",
                    format!("more than {MAX_EXTENDS} profiles in the `extends` chain"),
                ));
                break;
            }
            let layer = layer::parse(&src, registry, &mut errors);
            if let Some(parent) = &layer.extends {
                next = Some((
                    parent.name.clone(),
                    src.dir.clone(),
                    Some(parent.loc.clone()),
                ));
            }
            layers.push((src, layer));
        }
        // Report problems in reading order: file by file, line by line.
        let order: Vec<Arc<str>> = layers.iter().map(|(s, _)| s.origin.clone()).collect();
        errors.sort_by_key(|e| (order.iter().position(|o| *o == e.loc.origin), e.loc.line));
        let mut profile = Profile::default();
        for (src, layer) in layers.into_iter().rev() {
            profile.merge(src, layer);
        }
        if profile.name.is_empty() {
            profile.name = spec.to_string();
        }
        if !profile.critical_set {
            profile.critical = vec![Named {
                name: "dns".into(),
                loc: Loc {
                    origin: "the default critical set".into(),
                    line: None,
                },
            }];
        }
        (profile, errors)
    }

    fn merge(&mut self, src: Source, layer: layer::Layer) {
        self.chain.push(src.origin.clone());
        if let Some(name) = layer.name {
            self.name = name;
        }
        if let Some(d) = layer.description {
            self.description = d;
        }
        if let Some(t) = layer.timeout {
            self.timeout = Some(t);
        }
        if let Some(c) = layer.critical {
            self.critical = c;
            self.critical_set = true;
        }
        for decl in layer.plugins {
            self.plugins.insert(decl.name.clone(), decl);
        }
        for (name, e) in layer.collectors {
            let entry = self.collectors.entry(name).or_default();
            entry.loc = e.loc;
            entry.enabled = e.enabled.or(entry.enabled);
            entry.timeout = e.timeout.or(entry.timeout);
            entry.needs.extend(e.needs);
            entry.after.extend(e.after);
            entry.settings.extend(e.settings);
            entry.invalid |= e.invalid;
        }
    }

    /// Sets one collector setting from outside the files (the CLI's
    /// `--resolver` sets `dns.nameservers`); `source` names it in errors.
    pub fn set(&mut self, collector: &str, key: &str, value: toml::Value, source: &str) {
        let entry = self.collectors.entry(collector.to_string()).or_default();
        entry.loc = Loc {
            origin: source.into(),
            line: None,
        };
        entry.settings.insert(key.to_string(), value);
    }
}
