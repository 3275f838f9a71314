//! The `sonde` command: arguments, profile lookup, progress, text and JSON
//! output, exit codes. Glue only: the engine is sonde-core, the collectors
//! live in their own crates. The binary is `main.rs`; this library holds
//! its parts so that tests can reach them.

pub mod args;
pub mod commands;
pub mod output;
pub mod plugins;
pub mod profiles;
pub mod progress;
pub mod render;

// Built-in collectors register themselves with `inventory`; naming each
// crate here makes sure it is linked in.
use sonde_asn as _;
use sonde_dns as _;
use sonde_geo as _;
use sonde_ping as _;
use sonde_ports as _;
use sonde_tls as _;
use sonde_traceroute as _;
use sonde_whois as _;

/// Documented exit codes (see `sonde --help`).
pub mod exit {
    /// Every collector ran fine.
    pub const OK: u8 = 0;
    /// Some collectors failed, timed out or crashed.
    pub const PROBLEMS: u8 = 1;
    /// A critical collector failed or the global deadline passed.
    pub const CRITICAL: u8 = 2;
    /// Bad usage, bad target or invalid profile.
    pub const USAGE: u8 = 64;
    /// A bug in sonde.
    pub const INTERNAL: u8 = 70;
    /// Interrupted by Ctrl-C (SIGINT), as shells report it (128 + 2).
    pub const INTERRUPTED: u8 = 130;
    /// Stopped by SIGTERM (128 + 15).
    pub const TERMINATED: u8 = 143;
}
