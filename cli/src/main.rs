//! The `sonde` binary: parses the command line, sets up logging and the
//! runtime, and turns every outcome into a documented exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // Collector panics are captured by the scheduler and reported as
    // outcomes; the default hook would also print them, so log them instead.
    std::panic::set_hook(Box::new(|info| {
        tracing::debug!("panic: {info}");
    }));
    match std::panic::catch_unwind(run) {
        Ok(code) => ExitCode::from(code),
        Err(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            eprintln!("sonde: internal error (this is a bug, please report it): {msg}");
            ExitCode::from(sonde::exit::INTERNAL)
        }
    }
}

fn run() -> u8 {
    let cli = match sonde::args::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    sonde::exit::OK
                }
                _ => sonde::exit::USAGE,
            };
        }
    };
    if let Some(sonde::args::Command::PluginChild { library }) = &cli.command {
        return sonde_plugin_host::child::serve(library);
    }
    init_tracing(cli.output.verbose);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("sonde: cannot start the async runtime: {e}");
            return sonde::exit::INTERNAL;
        }
    };
    let result = runtime.block_on(sonde::commands::dispatch(cli));
    // Plugin processes stopped at their deadline must be gone before sonde is.
    sonde_plugin_host::finish_stopping();
    match result {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => sonde::exit::OK,
        Err(e) => {
            eprintln!("sonde: {e:#}");
            sonde::exit::USAGE
        }
    }
}

/// A reader that closed the pipe (`sonde x | head`) is not an error.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn init_tracing(verbose: u8) {
    use tracing_subscriber::fmt::format::FmtSpan;
    use tracing_subscriber::EnvFilter;
    let from_env = std::env::var("RUST_LOG").ok().filter(|v| !v.is_empty());
    if verbose == 0 && from_env.is_none() {
        return;
    }
    let level = match verbose {
        0 | 1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = from_env
        .and_then(|v| EnvFilter::try_new(v).ok())
        .unwrap_or_else(|| EnvFilter::new(level));
    // Colour codes only where a person reads them: a terminal, NO_COLOR unset.
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr()) && !no_color;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr)
        .with_span_events(FmtSpan::CLOSE)
        .try_init();
}
