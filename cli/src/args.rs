//! Command-line arguments, as parsed: no resolution happens here.

use clap::{Args, Parser, Subcommand};

const ABOUT: &str = "What is this host, how do I reach it, and is it healthy? One command.";

const LONG_ABOUT: &str = "\
What is this host, how do I reach it, and is it healthy? One command.

sonde inspects a target with collectors run as a dependency graph: dns first,
then ping, traceroute, whois (RDAP and WHOIS), asn and geo in parallel; with
--ports, a port scan and, as soon as the scan ends with a TLS port open, TLS
inspection.
Each collector starts the moment what it needs is done, with its own timeout,
under one global deadline. A failing collector never stops the others; its
error is kept in the report. Plugins join the graph like built-ins.

TARGET is a host name (IDN allowed), an IPv4 or IPv6 address (brackets
optional), or a URL whose host is taken.";

const AFTER_HELP: &str = "\
Examples:
  sonde example.com                     report with the default profile
  sonde example.com --json | jq .       the same report as JSON
  sonde https://example.com/ --ports    add the port scan and TLS inspection
  sonde 192.0.2.7 --profile quick       a fast look at an address
  sonde example.com --resolver 127.0.0.1:5353
  sonde plan example.com --profile full show the collector graph, send nothing
  sonde profiles list                   the profiles you can use

Exit codes:
  0   every collector ran fine (skips included)
  1   some collectors failed, timed out or crashed; the report says which
  2   a critical collector (dns by default) failed, or the global deadline passed
  64  bad usage, bad target or invalid profile
  70  internal error (a bug: please report it)
  130 interrupted by Ctrl-C (143 for SIGTERM); plugin processes are stopped first

Profiles are TOML files: built in (default, quick, full) or NAME.toml in
$XDG_CONFIG_HOME/sonde/profiles (~/.config/sonde/profiles), which override
built-ins of the same name. See docs/profiles.md.

Plugins: libraries and executables in $XDG_DATA_HOME/sonde/plugins
(~/.local/share/sonde/plugins), or named in a profile's [plugins] table, run
like built-in collectors. See docs/writing-a-plugin.md.";

/// The `sonde` command line.
#[derive(Debug, Parser)]
#[command(
    name = "sonde",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = AFTER_HELP,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    max_term_width = 100
)]
pub struct Cli {
    /// Host name, IP address or URL to inspect.
    #[arg(value_name = "TARGET")]
    pub target: Option<String>,

    /// Options that shape the run.
    #[command(flatten)]
    pub run: RunArgs,

    /// Options that shape the output.
    #[command(flatten)]
    pub output: OutputArgs,

    /// A subcommand instead of a report.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Options that shape a run (and a plan).
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Profile to use: a name (built-in or user) or a path to a TOML file.
    #[arg(
        short,
        long,
        value_name = "NAME|PATH",
        default_value = "default",
        global = true
    )]
    pub profile: String,

    /// Also scan ports and inspect TLS on the ports found open.
    #[arg(long, global = true)]
    pub ports: bool,

    /// Run without an agent (every run is agentless for now).
    #[arg(long, global = true)]
    pub no_agent: bool,

    /// Global deadline for the whole run, e.g. 15s, 500ms, 1m (at most 24h).
    #[arg(long, value_name = "DUR", global = true)]
    pub timeout: Option<String>,

    /// DNS server to ask instead of the system's: IP or IP:PORT.
    #[arg(long, value_name = "ADDR", global = true)]
    pub resolver: Option<String>,
}

/// Options that shape the output.
#[derive(Debug, Clone, Args)]
pub struct OutputArgs {
    /// Print the report as JSON (schema: docs/report.schema.json).
    #[arg(long)]
    pub json: bool,

    /// Print each collector's start and end as a timeline after the report.
    #[arg(long)]
    pub debug: bool,

    /// Log what happens to stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the collector graph a run would execute, without sending anything.
    Plan {
        /// The target the run would inspect (only checked, never contacted).
        target: Option<String>,
        /// Print Graphviz DOT instead of text (pipe into `dot -Tsvg`).
        #[arg(long)]
        dot: bool,
    },
    /// List, show and validate profiles.
    #[command(subcommand)]
    Profiles(ProfilesCommand),
    /// List the collectors this sonde knows.
    #[command(subcommand)]
    Collectors(CollectorsCommand),
    /// List and inspect collector plugins.
    #[command(subcommand)]
    Plugins(PluginsCommand),
    /// Print the JSON Schema of `--json` reports.
    ///
    /// It describes the section of every collector this sonde knows, plugins
    /// included; docs/report.schema.json is this for the built-ins.
    Schema,
    /// Runs a plugin library for an isolated call (used by sonde itself).
    #[command(name = "__plugin-child", hide = true)]
    PluginChild {
        /// The plugin library.
        library: std::path::PathBuf,
    },
}

/// `sonde plugins ...`
#[derive(Debug, Subcommand)]
pub enum PluginsCommand {
    /// Every plugin found (the plugins folder and the profile's [plugins]) with its manifest.
    List,
    /// Load one plugin, check it and print its manifest, without running it.
    Inspect {
        /// The library or executable.
        path: std::path::PathBuf,
        /// Load a library into sonde itself rather than a child process.
        #[arg(long)]
        in_process: bool,
    },
}

/// `sonde profiles ...`
#[derive(Debug, Subcommand)]
pub enum ProfilesCommand {
    /// Every profile: built-in and user files.
    List,
    /// Print a profile's TOML.
    Show {
        /// Profile name or path.
        name: String,
        /// Show it merged with the profiles it extends, as one file; settings
        /// no file sets keep the collector's default and are not shown.
        #[arg(long)]
        resolved: bool,
    },
    /// Check a profile file and report every problem at once.
    Validate {
        /// Path to the TOML file (or a profile name).
        path: String,
    },
}

/// `sonde collectors ...`
#[derive(Debug, Subcommand)]
pub enum CollectorsCommand {
    /// Every collector with what it needs and its default timeout.
    List,
}
