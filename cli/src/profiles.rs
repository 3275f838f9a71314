//! The shipped profiles (config/*.toml, compiled in) and where user
//! profiles live.

use sonde_core::profile::{Catalog, Profile};

/// The built-in profiles, by name.
pub const BUILTIN: [(&str, &str); 3] = [
    ("default", include_str!("../../config/default.toml")),
    ("quick", include_str!("../../config/quick.toml")),
    ("full", include_str!("../../config/full.toml")),
];

/// The catalog: user profiles first, then built-ins.
pub fn catalog() -> Catalog {
    Catalog::new(
        BUILTIN.to_vec(),
        sonde_core::dirs::config_dir().map(|d| d.join("profiles")),
    )
}

/// A merged profile written back as TOML, for `profiles show --resolved`.
pub fn resolved_toml(profile: &Profile) -> String {
    let mut root = toml::Table::new();
    root.insert("name".into(), profile.name.clone().into());
    root.insert("description".into(), profile.description.clone().into());
    if let Some(t) = profile.timeout {
        root.insert("timeout".into(), sonde_core::duration::format(t).into());
    }
    let critical: Vec<toml::Value> = profile
        .critical
        .iter()
        .map(|n| n.name.clone().into())
        .collect();
    root.insert("critical".into(), critical.into());
    let mut collectors = toml::Table::new();
    for (name, entry) in &profile.collectors {
        let mut t = toml::Table::new();
        if let Some(e) = entry.enabled {
            t.insert("enabled".into(), e.into());
        }
        if let Some(d) = entry.timeout {
            t.insert("timeout".into(), sonde_core::duration::format(d).into());
        }
        let names = |v: &[sonde_core::profile::Named]| -> toml::Value {
            v.iter()
                .map(|n| toml::Value::from(n.name.clone()))
                .collect::<Vec<_>>()
                .into()
        };
        if !entry.needs.is_empty() {
            t.insert("needs".into(), names(&entry.needs));
        }
        if !entry.after.is_empty() {
            t.insert("after".into(), names(&entry.after));
        }
        t.extend(entry.settings.clone());
        collectors.insert(name.clone(), t.into());
    }
    root.insert("collectors".into(), collectors.into());
    if !profile.plugins.is_empty() {
        let mut plugins = toml::Table::new();
        for (name, decl) in &profile.plugins {
            let mut t = toml::Table::new();
            t.insert("path".into(), decl.path.display().to_string().into());
            let isolation = match decl.isolation {
                sonde_core::profile::Isolation::Process => "process",
                sonde_core::profile::Isolation::None => "none",
            };
            t.insert("isolation".into(), isolation.into());
            if let Some(kind) = decl.kind {
                let kind = match kind {
                    sonde_core::profile::PluginKind::Library => "library",
                    sonde_core::profile::PluginKind::Executable => "executable",
                };
                t.insert("kind".into(), kind.into());
            }
            plugins.insert(name.clone(), t.into());
        }
        root.insert("plugins".into(), plugins.into());
    }
    let chain: Vec<&str> = profile.chain.iter().map(|s| &**s).collect();
    format!(
        "# merged from: {}\n{}",
        chain.join(" <- "),
        toml::to_string_pretty(&root).unwrap_or_default()
    )
}
