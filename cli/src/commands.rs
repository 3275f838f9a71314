//! What each subcommand does.

use std::io::IsTerminal;

use anyhow::{bail, Context as _};
use sonde_core::plan::{Plan, PlanOptions};
use sonde_core::profile::{Profile, ProfileError};
use sonde_core::{Engine, ProfileErrors, Registry, Report, Target};

use crate::args::{Cli, CollectorsCommand, Command, PluginsCommand, ProfilesCommand, RunArgs};
use crate::exit;
use crate::render::{self, Style};

/// Runs the command line.
pub async fn dispatch(cli: Cli) -> anyhow::Result<u8> {
    let catalog = crate::profiles::catalog();
    // Plugins are loaded before any profile is checked, so that their
    // tables validate against their schemas; `profiles validate PATH`
    // loads the plugins PATH declares.
    let spec = match &cli.command {
        Some(Command::Profiles(ProfilesCommand::Validate { path })) => path.clone(),
        _ => cli.run.profile.clone(),
    };
    let loading = crate::plugins::load(&catalog, &spec).await;
    for warning in &loading.warnings {
        eprintln!("sonde: {warning}");
    }
    if !loading.loaded.is_empty() {
        crate::plugins::stop_on_signal();
    }
    let setup = Setup {
        engine: Engine::new(loading.registry.clone(), catalog),
        plugin_errors: loading.errors.clone(),
    };
    match cli.command {
        None => {
            let Some(target) = cli.target.as_deref() else {
                bail!("no target given; try `sonde example.com`, or `sonde --help`");
            };
            inspect(&setup, target, &cli.run, cli.output.json, cli.output.debug).await
        }
        Some(Command::Plan { target, dot }) => {
            if let Some(t) = &target {
                parse_target(t)?;
            }
            let Some(plan) = plan(&setup, &cli.run)? else {
                return Ok(exit::USAGE);
            };
            print(&if dot { plan.to_dot() } else { plan.to_text() })?;
            Ok(exit::OK)
        }
        Some(Command::Profiles(cmd)) => profiles(&setup, cmd),
        Some(Command::Collectors(CollectorsCommand::List)) => {
            print(&collectors(&setup.engine.registry))?;
            Ok(exit::OK)
        }
        Some(Command::Plugins(cmd)) => plugins(&loading, cmd).await,
        Some(Command::Schema) => {
            print(&(serde_json::to_string_pretty(&report_schema(&setup.engine.registry))? + "\n"))?;
            Ok(exit::OK)
        }
        // Handled by `main` before the runtime starts.
        Some(Command::PluginChild { .. }) => Ok(exit::INTERNAL),
    }
}

/// The engine with its plugins, and the problems of the plugins the
/// profile declares (reported with the profile's other problems).
struct Setup {
    engine: Engine,
    plugin_errors: Vec<ProfileError>,
}

async fn plugins(loading: &crate::plugins::Loading, cmd: PluginsCommand) -> anyhow::Result<u8> {
    match cmd {
        PluginsCommand::List => {
            let mut rows = Vec::new();
            for p in loading.loaded.iter().filter_map(|l| l.result.as_ref().ok()) {
                let m = &p.manifest;
                let shown = p.path.display().to_string();
                let accepted = loading.registry.get(&m.name).is_some_and(|c| {
                    matches!(&c.spec().origin, sonde_core::Origin::Plugin { path, .. } if *path == shown)
                });
                let mut mode = crate::plugins::mode(p.kind, p.isolation).to_string();
                if !accepted {
                    mode.push_str(", refused");
                }
                rows.push([
                    m.name.clone(),
                    m.version.clone(),
                    m.abi.to_string(),
                    mode,
                    shown,
                    m.summary.clone(),
                ]);
            }
            let mut text = columns(
                &[
                    "NAME",
                    "VERSION",
                    "ABI",
                    "RUNS AS",
                    "PATH",
                    "WHAT IT FINDS OUT",
                ],
                &rows,
            );
            for e in loading
                .errors
                .iter()
                .map(ToString::to_string)
                .chain(loading.warnings.iter().cloned())
            {
                text.push_str(&format!(
                    "refused: {e}
"
                ));
            }
            match crate::plugins::folder() {
                Some(dir) => text.push_str(&format!(
                    "
plugins folder: {}
",
                    dir.display()
                )),
                None => text.push_str(
                    "
no plugins folder: set SONDE_DATA_DIR or HOME
",
                ),
            }
            print(&text)?;
            Ok(if loading.errors.is_empty() {
                exit::OK
            } else {
                exit::USAGE
            })
        }
        PluginsCommand::Inspect { path, in_process } => {
            match crate::plugins::inspect(&path, in_process).await {
                Ok(plugin) => {
                    print(&crate::plugins::describe(&plugin))?;
                    print(&format!("{}: valid\n", path.display()))?;
                    Ok(exit::OK)
                }
                Err(e) => {
                    eprintln!("sonde: {e}");
                    Ok(exit::USAGE)
                }
            }
        }
    }
}

fn parse_target(text: &str) -> anyhow::Result<Target> {
    Target::parse(text).with_context(|| format!("invalid target `{text}`"))
}

/// Builds the plan; profile problems are printed and `None` returned.
fn plan(setup: &Setup, run: &RunArgs) -> anyhow::Result<Option<Plan>> {
    let engine = &setup.engine;
    let timeout = run
        .timeout
        .as_deref()
        .map(sonde_core::duration::parse)
        .transpose()
        .map_err(|e| anyhow::anyhow!("--timeout: {e}"))?;
    let opts = PlanOptions {
        enable_ports: run.ports,
        timeout,
    };
    let resolver = run.resolver.clone();
    let adjust = |p: &mut Profile| {
        if let Some(r) = resolver {
            p.set(
                "dns",
                "nameservers",
                toml::Value::Array(vec![r.into()]),
                "--resolver",
            );
        }
    };
    match with_plugin_errors(setup, engine.plan(&run.profile, &opts, adjust)) {
        Ok(plan) => Ok(Some(plan)),
        Err(errors) => {
            eprint!("sonde: {errors}");
            Ok(None)
        }
    }
}

/// Adds the problems of the profile's plugins to those of the profile.
fn with_plugin_errors(
    setup: &Setup,
    planned: Result<Plan, ProfileErrors>,
) -> Result<Plan, ProfileErrors> {
    let mut errors = setup.plugin_errors.clone();
    match planned {
        Ok(plan) if errors.is_empty() => return Ok(plan),
        Ok(_) => {}
        Err(ProfileErrors(more)) => errors.extend(more),
    }
    Err(ProfileErrors(errors))
}

async fn inspect(
    setup: &Setup,
    target: &str,
    run: &RunArgs,
    json: bool,
    debug: bool,
) -> anyhow::Result<u8> {
    let engine = &setup.engine;
    let target = parse_target(target)?;
    let Some(plan) = plan(setup, run)? else {
        return Ok(exit::USAGE);
    };
    let order: Vec<String> = plan.nodes.iter().map(|n| n.name.clone()).collect();
    let (events, progress) = if std::io::stderr().is_terminal() {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        (
            Some(tx),
            Some(tokio::spawn(crate::progress::show(rx, plan.nodes.len()))),
        )
    } else {
        (None, None)
    };
    let result = sonde_core::run(&plan, target, run.no_agent, events).await;
    if let Some(p) = progress {
        let _ = p.await;
    }
    let (report, failure, code) = match result {
        Ok(report) => {
            let code = if report.has_problems() {
                exit::PROBLEMS
            } else {
                exit::OK
            };
            (report, None, code)
        }
        Err(e) => {
            let headline = e.to_string();
            match e.into_report() {
                Some(report) => (report, Some(headline), exit::CRITICAL),
                None => bail!("{headline}"),
            }
        }
    };
    emit(&report, &order, engine, json, debug)?;
    if let Some(headline) = failure {
        eprintln!("sonde: {headline}");
    }
    Ok(code)
}

fn emit(
    report: &Report,
    order: &[String],
    engine: &Engine,
    json: bool,
    debug: bool,
) -> anyhow::Result<()> {
    if json {
        let mut text = serde_json::to_string_pretty(report)?;
        text.push('\n');
        print(&text)?;
        if debug {
            eprint!("{}", render::timeline::timeline(report, order));
        }
    } else {
        let style = Style::for_terminal(crate::output::is_terminal());
        let mut text = render::text::report(report, order, &engine.registry, style);
        if debug {
            text.push('\n');
            text.push_str(&render::timeline::timeline(report, order));
        }
        print(&text)?;
    }
    Ok(())
}

fn profiles(setup: &Setup, cmd: ProfilesCommand) -> anyhow::Result<u8> {
    let engine = &setup.engine;
    match cmd {
        ProfilesCommand::List => {
            let mut rows = Vec::new();
            for listing in engine.catalog.list() {
                let (profile, _) =
                    Profile::load_lenient(&engine.catalog, &listing.name, &engine.registry);
                let origin = if listing.overrides_builtin {
                    format!("{} (overrides the built-in)", listing.origin)
                } else {
                    listing.origin
                };
                rows.push([listing.name, profile.description, origin]);
            }
            print(&columns(&["NAME", "DESCRIPTION", "FROM"], &rows))?;
            if let Some(dir) = engine.catalog.user_dir() {
                print(&format!("\nuser profiles: {}/NAME.toml\n", dir.display()))?;
            }
            Ok(exit::OK)
        }
        ProfilesCommand::Show { name, resolved } => {
            if resolved {
                match Profile::load(&engine.catalog, &name, &engine.registry) {
                    Ok(p) => print(&crate::profiles::resolved_toml(&p))?,
                    Err(errors) => {
                        eprint!("sonde: {errors}");
                        return Ok(exit::USAGE);
                    }
                }
            } else {
                let src = engine
                    .catalog
                    .find(&name, None)
                    .map_err(anyhow::Error::msg)?;
                print(&format!("# {}\n{}", src.origin, src.text))?;
            }
            Ok(exit::OK)
        }
        ProfilesCommand::Validate { path } => {
            let opts = PlanOptions::default();
            match with_plugin_errors(setup, engine.plan(&path, &opts, |_| {})) {
                Ok(plan) => {
                    let names: Vec<&str> = plan.nodes.iter().map(|n| n.name.as_str()).collect();
                    let noun = if names.len() == 1 {
                        "collector"
                    } else {
                        "collectors"
                    };
                    print(&format!(
                        "{path}: valid ({} {noun}: {})\n",
                        names.len(),
                        names.join(", ")
                    ))?;
                    Ok(exit::OK)
                }
                Err(errors) => {
                    eprint!("sonde: {errors}");
                    Ok(exit::USAGE)
                }
            }
        }
    }
}

/// The report's JSON Schema with the section of every collector that
/// describes its own.
fn report_schema(registry: &Registry) -> serde_json::Value {
    sonde_core::report::json_schema(
        registry
            .iter()
            .filter_map(|c| Some((c.spec().name.clone(), c.output_schema()?))),
    )
}

fn collectors(registry: &Registry) -> String {
    let rows: Vec<[String; 5]> = registry
        .iter()
        .map(|c| {
            let s = c.spec();
            let mut deps = s.needs.join(", ");
            if !s.after.is_empty() {
                deps.push_str(&format!(" (after {})", s.after.join(", ")));
            }
            let mut notes = Vec::new();
            if s.on_request {
                notes.push("on request".to_string());
            }
            if s.raw_sockets {
                notes.push("raw sockets".to_string());
            }
            if let sonde_core::Origin::Plugin { path, version } = &s.origin {
                notes.push(format!("plugin {path} v{version}"));
            }
            [
                s.name.clone(),
                s.summary.clone(),
                if deps.is_empty() { "-".into() } else { deps },
                sonde_core::duration::format(s.timeout),
                notes.join(", "),
            ]
        })
        .collect();
    columns(
        &["NAME", "WHAT IT FINDS OUT", "NEEDS", "TIMEOUT", "NOTES"],
        &rows,
    )
}

/// A plain aligned table.
fn columns<const N: usize>(headers: &[&str; N], rows: &[[String; N]]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            s.push_str(c);
            if i + 1 < N {
                s.push_str(&" ".repeat(widths[i] - c.chars().count() + 2));
            }
        }
        out.push_str(s.trim_end());
        out.push('\n');
    };
    line(headers.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
    out
}

/// Writes to stdout; a closed pipe surfaces as an error `main` treats as success.
fn print(text: &str) -> anyhow::Result<()> {
    crate::output::write(text.as_bytes())?;
    Ok(())
}
