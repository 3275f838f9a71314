//! `sonde-lab`: build the test lab by hand, for manual runs and benchmarks.
//!
//! `sonde-lab up` builds a lab, prints its namespaces and addresses, and serves until Ctrl-C
//! (or SIGTERM), then tears it down. `sonde-lab clean` deletes labs left by crashed runs.

use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use nix::sys::signal::{SigSet, Signal};
use sonde_lab::{zone, Lab, Role};

/// Prints a line on stdout, ignoring a closed pipe: the lab must keep serving (and tear down)
/// whatever happens to its output.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// Exit code when the lab cannot be built.
const EXIT_FAILURE: u8 = 1;

#[derive(Debug, Parser)]
#[command(
    name = "sonde-lab",
    about = "Build sonde's test lab in network namespaces"
)]
struct Args {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Build the lab, print it, serve until Ctrl-C, then tear it down.
    Up {
        /// How long the DNS server takes to answer slow.sonde.test (e.g. "2s", "500ms").
        #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
        slow_delay: Duration,
    },
    /// Delete the namespaces of labs whose process is gone.
    Clean,
}

fn main() -> std::process::ExitCode {
    match run(Args::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sonde-lab: {e:#}");
            std::process::ExitCode::from(EXIT_FAILURE)
        }
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Cmd::Up { slow_delay } => up(slow_delay),
        Cmd::Clean => {
            for name in sonde_lab::netns::clean_stale()? {
                say!("deleted {name}");
            }
            Ok(())
        }
    }
}

fn up(slow_delay: Duration) -> anyhow::Result<()> {
    // Block the stop signals before any thread exists, so every thread inherits the mask and
    // the main thread alone receives them, through `wait` below.
    let mut stop = SigSet::empty();
    for signal in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        stop.add(signal);
    }
    stop.thread_block().context("cannot block signals")?;

    let lab = Lab::builder().slow_delay(slow_delay).start()?;
    say!("lab {} built in {:?}", lab.prefix(), lab.build_time());
    for (role, ns) in lab.namespaces() {
        let addrs: Vec<String> = lab
            .addresses(role)
            .iter()
            .map(ToString::to_string)
            .collect();
        say!("  {:<7} {:<22} {}", role.name(), ns, addrs.join(" "));
    }
    say!(
        "dns: {} (zone {}, slow answers after {:?})",
        lab.addresses(Role::Dns)
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        zone::ORIGIN,
        slow_delay
    );
    say!(
        "try: ip netns exec {} sonde {}",
        lab.client_ns(),
        zone::TARGET_NAME
    );
    say!("serving; Ctrl-C to tear down");
    let signal = stop.wait().context("cannot wait for a signal")?;
    say!("{signal}: tearing down");
    lab.stop()?;
    Ok(())
}
