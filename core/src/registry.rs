//! Which collectors exist: the built-ins, gathered at link time through
//! `inventory`, and any added at run time (dynamic plugins).

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::collector::{Collector, Origin};

/// A built-in collector's entry, submitted with [`register_builtin!`](crate::register_builtin).
pub struct Builtin {
    /// Builds the collector.
    pub make: fn() -> Arc<dyn Collector>,
}

inventory::collect!(Builtin);

/// Registers a [`TypedCollector`](crate::TypedCollector) as a built-in.
///
/// ```ignore
/// sonde_core::register_builtin!(DnsCollector);
/// ```
#[macro_export]
macro_rules! register_builtin {
    ($collector:expr) => {
        $crate::inventory::submit! {
            $crate::registry::Builtin {
                make: || ::std::sync::Arc::new($crate::Typed::new($collector)),
            }
        }
    };
}

/// Why a collector could not be added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// The name is taken.
    #[error(
        "a collector named `{name}` already exists ({existing}); `{name}` from {new} was refused"
    )]
    Duplicate {
        /// The contested name.
        name: String,
        /// Where the existing one comes from.
        existing: String,
        /// Where the refused one comes from.
        new: String,
    },
}

/// The collectors a run may use, by name.
#[derive(Clone, Default)]
pub struct Registry {
    collectors: BTreeMap<String, Arc<dyn Collector>>,
}

fn describe(origin: &Origin) -> String {
    match origin {
        Origin::Builtin => "built in".to_string(),
        Origin::Plugin { path, version } => format!("plugin {path} v{version}"),
    }
}

impl Registry {
    /// An empty registry (tests build their own graphs on it).
    pub fn empty() -> Self {
        Self::default()
    }

    /// Every built-in collector linked into this binary.
    pub fn builtins() -> Self {
        let mut registry = Self::empty();
        for builtin in inventory::iter::<Builtin> {
            // Built-in names are unique by construction; a clash is a
            // programming error caught by the registry test.
            let _ = registry.add((builtin.make)());
        }
        registry
    }

    /// Adds a collector, refusing a name that is taken.
    pub fn add(&mut self, collector: Arc<dyn Collector>) -> Result<(), RegistryError> {
        let name = collector.spec().name.clone();
        if let Some(existing) = self.collectors.get(&name) {
            return Err(RegistryError::Duplicate {
                existing: describe(&existing.spec().origin),
                new: describe(&collector.spec().origin),
                name,
            });
        }
        self.collectors.insert(name, collector);
        Ok(())
    }

    /// The collector of that name.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn Collector>> {
        self.collectors.get(name)
    }

    /// All collectors, by name.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn Collector>> {
        self.collectors.values()
    }

    /// All names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.collectors.keys().map(String::as_str)
    }

    /// The closest known name to a misspelt one.
    pub fn suggest(&self, name: &str) -> Option<&str> {
        crate::suggest::closest(name, self.names())
    }
}
