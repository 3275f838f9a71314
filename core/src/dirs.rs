//! sonde's folders in the user's home, one rule for every part that needs
//! one: `$SONDE_<KIND>_DIR`, else `$XDG_<KIND>_HOME/sonde`, else the XDG
//! default under `$HOME`. Empty variables count as unset.

use std::path::PathBuf;

fn non_empty(key: &str) -> Option<PathBuf> {
    std::env::var_os(key)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

fn folder(own: &str, xdg: &str, under_home: &str) -> Option<PathBuf> {
    non_empty(own)
        .or_else(|| non_empty(xdg).map(|d| d.join("sonde")))
        .or_else(|| non_empty("HOME").map(|h| h.join(under_home).join("sonde")))
}

/// Profiles and settings: `$SONDE_CONFIG_DIR`, `$XDG_CONFIG_HOME/sonde`,
/// `~/.config/sonde`.
pub fn config_dir() -> Option<PathBuf> {
    folder("SONDE_CONFIG_DIR", "XDG_CONFIG_HOME", ".config")
}

/// Databases and plugins: `$SONDE_DATA_DIR`, `$XDG_DATA_HOME/sonde`,
/// `~/.local/share/sonde`.
pub fn data_dir() -> Option<PathBuf> {
    folder("SONDE_DATA_DIR", "XDG_DATA_HOME", ".local/share")
}

/// Files that may be fetched again (RDAP bootstrap): `$SONDE_CACHE_DIR`,
/// `$XDG_CACHE_HOME/sonde`, `~/.cache/sonde`.
pub fn cache_dir() -> Option<PathBuf> {
    folder("SONDE_CACHE_DIR", "XDG_CACHE_HOME", ".cache")
}
