//! Profile validation: every problem at once, each with file, line and key.

mod common;

use std::time::Duration;

use common::{engine, instant, spec};
use sonde_core::{Catalog, PlanOptions, Profile};

fn all() -> Vec<std::sync::Arc<dyn sonde_core::Collector>> {
    vec![
        instant(spec("dns")),
        instant(spec("ping").needs(["dns"])),
        instant(spec("traceroute").needs(["dns"])),
        instant(spec("ports").needs(["dns"]).on_request()),
        instant(spec("tls").needs(["ports"]).on_request()),
    ]
}

fn problems(text: &str) -> Vec<String> {
    let e = engine(all(), text);
    match e.plan("test", &PlanOptions::default(), |_| {}) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.0.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn unknown_collector_with_suggestion() {
    let text = "name = \"test\"\n[collectors.dns]\n[collectors.tracerout]\n";
    assert_eq!(
        problems(text),
        [
            "built-in profile \"test\":3: collectors.tracerout: unknown collector `tracerout` (did you mean `traceroute`?); known collectors: dns, ping, ports, tls, traceroute"
        ]
    );
}

#[test]
fn cycle_is_shown_as_a_chain() {
    let text = r#"
[collectors.dns]
[collectors.ping]
after = ["traceroute"]
[collectors.traceroute]
after = ["ping"]
"#;
    assert_eq!(
        problems(text),
        ["built-in profile \"test\":3: collectors.ping: cycle in the collector graph: ping -> traceroute -> ping"]
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let text = r#"name = "test"
timeout = "fast"
critcal = ["dns"]

[collectors.dns]
timeout = 5
bogus = true

[collectors.ping]
needs = ["dsn"]

[collectors.tls]
enabled = true
"#;
    assert_eq!(
        problems(text),
        [
            "built-in profile \"test\":2: timeout: `fast` is not a duration (expected number at 0); write e.g. \"3s\" or \"500ms\"",
            "built-in profile \"test\":3: critcal: unknown key (did you mean `critical`?); a profile's keys are name, description, extends, timeout, critical, collectors, plugins",
            "built-in profile \"test\":5: collectors.dns: unknown setting `bogus`",
            "built-in profile \"test\":6: collectors.dns.timeout: must be a string, not integer",
            "built-in profile \"test\":10: collectors.ping.needs: unknown collector `dsn` (did you mean `dns`?)",
            "built-in profile \"test\":12: collectors.tls.needs: it needs `ports`, which is not enabled in this profile; enable `ports` or disable `tls`",
        ]
    );
}

/// A collector with typed settings, as the built-ins have.
struct Knobs;

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
struct KnobsConfig {
    #[serde(with = "sonde_core::duration::serde_human")]
    query_timeout: Duration,
    attempts: u8,
}

#[async_trait::async_trait]
impl sonde_core::TypedCollector for Knobs {
    type Config = KnobsConfig;
    type Output = ();

    fn spec(&self) -> sonde_core::Spec {
        spec("knobs")
    }

    fn check(&self, config: &KnobsConfig) -> Result<(), String> {
        if config.attempts > 5 {
            return Err(format!(
                "attempts: {} is out of range; allowed 0 to 5",
                config.attempts
            ));
        }
        Ok(())
    }

    async fn collect(
        &self,
        _config: &KnobsConfig,
        _ctx: &sonde_core::Context,
    ) -> Result<(), sonde_core::Failure> {
        Ok(())
    }

    fn view(&self, _output: &()) -> sonde_core::View {
        sonde_core::View::default()
    }
}

fn knob_problems(settings: &str) -> Vec<String> {
    let mut collectors = all();
    collectors.push(std::sync::Arc::new(sonde_core::Typed::new(Knobs)));
    let text = format!("name = \"test\"\n[collectors.dns]\n[collectors.knobs]\n{settings}");
    let e = engine(collectors, &text);
    match e.plan("test", &PlanOptions::default(), |_| {}) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.0.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn setting_errors_name_the_setting_and_its_line() {
    let got = knob_problems("attempts = 1\nquery-timeout = 5\n");
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(
        got[0].starts_with(
            "built-in profile \"test\":5: collectors.knobs.query-timeout: invalid type: integer `5`"
        ),
        "{got:?}"
    );
    assert_eq!(
        knob_problems("query-timeout = \"1s\"\nattempts = 9\n"),
        ["built-in profile \"test\":5: collectors.knobs.attempts: 9 is out of range; allowed 0 to 5"]
    );
    let got = knob_problems("attempts = 1\natempts = 2\n");
    assert!(
        got[0].starts_with(
            "built-in profile \"test\":5: collectors.knobs.atempts: unknown field `atempts`"
        ),
        "{got:?}"
    );
}

#[test]
fn syntax_errors_name_the_line() {
    let got = problems("name = \"test\"\n[collectors.dns\n");
    assert_eq!(got.len(), 1);
    assert!(
        got[0].starts_with("built-in profile \"test\":2: not valid TOML"),
        "{got:?}"
    );
}

#[test]
fn ports_flag_adds_on_request_collectors() {
    let e = engine(all(), "[collectors.dns]\n[collectors.ping]\n");
    let plan = e.plan("test", &PlanOptions::default(), |_| {}).unwrap();
    let names: Vec<&str> = plan.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["dns", "ping"]);
    let with_ports = PlanOptions {
        enable_ports: true,
        ..PlanOptions::default()
    };
    let plan = e.plan("test", &with_ports, |_| {}).unwrap();
    let names: Vec<&str> = plan.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["dns", "ping", "ports", "tls"]);
}

#[test]
fn extends_merges_base_first_and_names_each_file() {
    let dir = std::env::temp_dir().join(format!("sonde-profile-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("child.toml"),
        "name = \"child\"\nextends = \"base\"\n[collectors.ping]\ntimeout = \"2s\"\ncuont = 3\n",
    )
    .unwrap();
    let base = "name = \"base\"\ntimeout = \"9s\"\ncritical = [\"dns\"]\n[collectors.dns]\n[collectors.ping]\ntimeout = \"7s\"\n";
    let catalog = Catalog::new(vec![("base", base)], Some(dir.clone()));
    let registry = common::registry(all());
    let err = Profile::load(&catalog, "child", &registry).unwrap_err();
    let path = dir.join("child.toml").display().to_string();
    assert_eq!(err.0.len(), 1);
    assert_eq!(
        err.0[0].to_string(),
        format!("{path}:3: collectors.ping: unknown setting `cuont`")
    );

    std::fs::write(
        dir.join("child.toml"),
        "name = \"child\"\nextends = \"base\"\n[collectors.ping]\ntimeout = \"2s\"\n",
    )
    .unwrap();
    let profile = Profile::load(&catalog, "child", &registry).unwrap();
    assert_eq!(profile.name, "child");
    assert_eq!(profile.timeout, Some(Duration::from_secs(9)));
    assert_eq!(
        profile.collectors["ping"].timeout,
        Some(Duration::from_secs(2))
    );
    assert_eq!(profile.chain.len(), 2);

    std::fs::write(dir.join("loop.toml"), "extends = \"loop.toml\"\n").unwrap();
    let err = Profile::load(
        &catalog,
        &dir.join("loop.toml").display().to_string(),
        &registry,
    )
    .unwrap_err();
    assert!(
        err.0[0]
            .message
            .starts_with("profiles extend each other in a loop"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A user file overriding a built-in may build on it by extending its own
/// name; a file that extends its own name by path is still a loop.
#[test]
fn a_user_profile_extending_its_own_name_extends_the_builtin() {
    let dir = std::env::temp_dir().join(format!("sonde-profile-self-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("default.toml"),
        "name = \"default\"\nextends = \"default\"\n[collectors.ping]\ntimeout = \"2s\"\n",
    )
    .unwrap();
    let builtin = "name = \"default\"\ntimeout = \"9s\"\n[collectors.dns]\n[collectors.ping]\n";
    let catalog = Catalog::new(vec![("default", builtin)], Some(dir.clone()));
    let registry = common::registry(all());
    let profile = Profile::load(&catalog, "default", &registry).unwrap();
    assert_eq!(profile.timeout, Some(Duration::from_secs(9)));
    assert_eq!(
        profile.collectors["ping"].timeout,
        Some(Duration::from_secs(2))
    );
    assert!(profile.collectors.contains_key("dns"));
    assert_eq!(profile.chain.len(), 2);

    std::fs::write(dir.join("default.toml"), "extends = \"default.toml\"\n").unwrap();
    let err = Profile::load(&catalog, "default", &registry).unwrap_err();
    assert!(
        err.0[0]
            .message
            .starts_with("profiles extend each other in a loop"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn unknown_profile_suggests() {
    let catalog = Catalog::new(vec![("default", ""), ("quick", "")], None);
    let err = catalog.find("qiuck", None).unwrap_err();
    assert_eq!(
        err,
        "no profile named `qiuck` (did you mean `quick`?); known profiles: default, quick"
    );
}

#[test]
fn plan_prints_as_text_and_dot() {
    let e = engine(
        all(),
        "[collectors.dns]\n[collectors.ping]\n[collectors.traceroute]\n",
    );
    let plan = e.plan("test", &PlanOptions::default(), |_| {}).unwrap();
    assert_eq!(
        plan.to_text(),
        "profile test: 3 collectors, global deadline 15s, worst case 10s\n  dns             5s  starts at once  [critical]\n  ping            5s  needs dns\n  traceroute      5s  needs dns\n"
    );
    assert!(plan.to_dot().contains("\"dns\" -> \"ping\";"));
}

#[test]
fn plugins_table_is_read_with_positions() {
    let text = r#"name = "test"
[plugins.http]
path = "lib/libhttp.so"
isolation = "none"
[plugins.py]
path = "py.py"
kind = "executable"
[plugins.bad]
isolaton = "none"
[plugins.worse]
path = "x"
isolation = "sandbox"
[plugins.exe]
path = "y"
kind = "executable"
isolation = "none"
[plugins.nopath]
kind = "library"
[collectors.dns]
"#;
    let text: &'static str = Box::leak(text.to_string().into_boxed_str());
    let catalog = Catalog::new(vec![("test", text)], None);
    let registry = sonde_core::Registry::empty();
    let (profile, errors) = Profile::load_lenient(&catalog, "test", &registry);
    let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        errors,
        [
            "built-in profile \"test\":9: plugins.bad.isolaton: unknown key (did you mean `isolation`?); a plugin's keys are path, isolation, kind",
            "built-in profile \"test\":12: plugins.worse.isolation: `sandbox` is not an isolation; write \"process\" (the default) or \"none\"",
            "built-in profile \"test\":16: plugins.exe.isolation: an executable always runs in its own process; `isolation` applies to libraries",
            "built-in profile \"test\":17: plugins.nopath: missing `path`: the plugin's library or executable",
        ]
    );
    let names: Vec<&str> = profile.plugins.keys().map(String::as_str).collect();
    assert_eq!(names, ["http", "py"]);
    let http = &profile.plugins["http"];
    assert_eq!(http.path, std::path::PathBuf::from("lib/libhttp.so"));
    assert_eq!(http.isolation, sonde_core::profile::Isolation::None);
    assert_eq!(http.kind, None);
    assert_eq!(http.loc.line, Some(2));
    let py = &profile.plugins["py"];
    assert_eq!(py.kind, Some(sonde_core::profile::PluginKind::Executable));
    assert_eq!(py.isolation, sonde_core::profile::Isolation::Process);
}
