//! Dynamic plugins through the real `sonde` binary: the fault-injection
//! plugin in both isolation modes, the C plugin, an executable in Python
//! and in shell, ABI refusals, name clashes, discovery and the CLI.
//! Nothing leaves the machine: targets are `localhost` from a hosts file.

mod plugin_support;

use std::path::Path;
use std::time::{Duration, Instant};

use plugin_support::*;

/// A profile loading the faults plugin from `lib` with `fault` set.
fn faults_profile(dir: &Path, lib: &Path, isolation: &str, fault: &str, timeout: &str) -> String {
    profile(
        dir,
        &format!(
            "[plugins.faults]\npath = \"{}\"\nisolation = \"{isolation}\"\n\n[collectors.faults]\nfault = \"{fault}\"\ntimeout = \"{timeout}\"\n",
            lib.display()
        ),
    )
    .display()
    .to_string()
}

/// Each fault: the outcome's status and a piece of its message.
const FAULTS: [(&str, &str, &str, &str); 11] = [
    // fault, timeout, status, message piece
    ("none", "5s", "ok", ""),
    ("stdout-noise", "5s", "ok", ""),
    (
        "panic",
        "5s",
        "crashed",
        "panicked at plugins/examples/faults/src/lib.rs",
    ),
    (
        "invalid-json",
        "5s",
        "failed",
        "it answered with invalid JSON",
    ),
    (
        "huge-output",
        "20s",
        "failed",
        "more than the 16 MiB sonde accepts",
    ),
    (
        "settings-panic",
        "5s",
        "crashed",
        "reading its settings panicked at plugins/examples/faults/src/lib.rs",
    ),
    ("loop", "500ms", "timed_out", ""),
    ("sleep", "500ms", "timed_out", ""),
    ("abort", "5s", "crashed", "killed by signal 6 (SIGABRT)"),
    ("segfault", "5s", "crashed", "killed by signal 11 (SIGSEGV)"),
    (
        "exit",
        "5s",
        "crashed",
        "exited with status 3 before answering",
    ),
];

fn run_faults(isolation: &str, faults: &[(&str, &str, &str, &str)]) {
    let dir = scratch(&format!("faults-{isolation}"));
    // A copy of its own, so that its child processes can be told apart.
    let lib = dir.join("libfaults.so");
    std::fs::copy(example_library("sonde-plugin-faults"), &lib).expect("copy");
    for (fault, timeout, status, piece) in faults {
        let profile = faults_profile(&dir, &lib, isolation, fault, timeout);
        let start = Instant::now();
        let o = sonde(&dir, &["localhost", "--profile", &profile, "--json"], &[]);
        let took = start.elapsed();
        let r = report(&o);
        let what = format!("{isolation}/{fault}: {}", stderr(&o));
        assert_eq!(r["collectors"]["dns"]["outcome"]["status"], "ok", "{what}");
        let outcome = &r["collectors"]["faults"]["outcome"];
        assert_eq!(outcome["status"], *status, "{what}: {outcome}");
        let expected_code = if *status == "ok" { 0 } else { 1 };
        assert_eq!(o.status.code(), Some(expected_code), "{what}");
        let text = r["errors"]["faults"].as_str().unwrap_or_default();
        assert!(text.contains(piece), "{what}: {text}");
        assert_eq!(
            r["collectors"]["faults"]["origin"]["path"],
            lib.display().to_string()
        );
        if *status == "ok" {
            assert_eq!(r["sections"]["faults"]["host"], "localhost", "{what}");
            assert_eq!(
                r["collectors"]["faults"]["warnings"][0],
                format!("fault `{fault}` injected"),
                "{what}"
            );
        }
        if *status == "timed_out" {
            assert_eq!(outcome["after_ms"], 500, "{what}");
            assert!(took < Duration::from_secs(4), "{what}: took {took:?}");
        }
    }
    // Every child is gone: the timed-out ones were stopped.
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(children_of(&lib), 0, "plugin children left running");
}

#[test]
fn isolated_plugins_survive_every_fault() {
    run_faults("process", &FAULTS);
}

#[test]
fn in_process_plugins_survive_the_faults_a_process_can_survive() {
    // abort, segfault and exit end any process they run in: in-process
    // they would end sonde, which is why isolation is the default.
    let survivable: Vec<_> = FAULTS
        .iter()
        .copied()
        .filter(|(f, ..)| !matches!(*f, "abort" | "segfault" | "exit"))
        .collect();
    run_faults("none", &survivable);
}

#[test]
fn a_plugin_of_another_abi_is_refused_naming_it_its_path_and_both_versions() {
    let dir = scratch("abi");
    let lib = example_library("sonde-plugin-faults");
    for isolation in ["process", "none"] {
        let profile = faults_profile(&dir, &lib, isolation, "none", "5s");
        let o = sonde(
            &dir,
            &["localhost", "--profile", &profile],
            &[("SONDE_FAULTS_ABI", "2.0")],
        );
        assert_eq!(o.status.code(), Some(64), "{isolation}");
        let err = stderr(&o);
        let want = format!(
            "profile.toml:8: plugins.faults: plugin `faults` ({}) is built for plugin ABI 2.0, but this sonde speaks ABI 1.0",
            lib.display()
        );
        assert!(err.contains(&want), "{isolation}: {err}");
        // A newer minor version is refused too; an older one would run.
        let o = sonde(
            &dir,
            &["localhost", "--profile", &profile],
            &[("SONDE_FAULTS_ABI", "1.7")],
        );
        assert!(
            stderr(&o).contains(
                "built for plugin ABI 1.7, but this sonde speaks ABI 1.0; upgrade sonde to one that speaks ABI 1.7 or later"
            ),
            "{}",
            stderr(&o)
        );
    }
    // The entry table's own version is checked before anything is called.
    let c_lib = compile_c(&dir, "greeting2", &["-DSONDE_GREETING_ABI_MAJOR=2"]);
    for flag in [&[][..], &["--in-process"][..]] {
        let mut args = vec!["plugins", "inspect", c_lib.to_str().expect("utf-8")];
        args.extend_from_slice(flag);
        let o = sonde(&dir, &args, &[]);
        assert_eq!(o.status.code(), Some(64));
        assert_eq!(
            stderr(&o),
            format!(
                "sonde: plugin `libgreeting2.so` ({}) is built for plugin ABI 2.0, but this sonde speaks ABI 1.0; upgrade sonde to one that speaks ABI 2.x, or rebuild it against sonde-plugin-sdk 1.x (same major version, minor at most 0)\n",
                c_lib.display()
            )
        );
    }
}

#[test]
fn a_plugin_written_in_c_runs_in_both_modes() {
    let dir = scratch("c");
    let lib = compile_c(&dir, "greeting", &[]);
    for isolation in ["process", "none"] {
        let profile = profile(
            &dir,
            &format!(
                "[plugins.greeting]\npath = \"libgreeting.so\"\nisolation = \"{isolation}\"\n\n[collectors.greeting]\ngreeting = \"bonjour\"\n"
            ),
        );
        let o = sonde_localhost_json(&dir, &profile);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let r = report(&o);
        assert_eq!(
            r["sections"]["greeting"]["message"],
            "bonjour from C, localhost"
        );
        assert_eq!(r["sections"]["greeting"]["addresses"], 2);
        assert_eq!(
            r["collectors"]["greeting"]["origin"],
            serde_json::json!({"kind": "plugin", "path": lib.display().to_string(), "version": "1.0.0"})
        );
    }
}

#[test]
fn executables_in_python_and_shell_are_plugins() {
    let dir = scratch("exe");
    let python = repo().join("plugins/examples/python/sonde-addrcount");
    let broken = dir.join("broken.sh");
    std::fs::write(
        &broken,
        "#!/bin/sh\nread -r call\ncase \"$call\" in\n*describe*) echo '{\"name\":\"broken\",\"version\":\"0.1\",\"summary\":\"answers garbage\",\"abi\":{\"major\":1,\"minor\":0}}' ;;\n*) echo 'not json'; exit 0 ;;\nesac\n",
    )
    .expect("script");
    let quitter = dir.join("quitter.sh");
    std::fs::write(
        &quitter,
        "#!/bin/sh\nread -r call\ncase \"$call\" in\n*describe*) echo '{\"name\":\"quitter\",\"version\":\"0.1\",\"summary\":\"leaves\",\"abi\":{\"major\":1,\"minor\":0}}' ;;\n*) echo 'giving up' >&2; exit 7 ;;\nesac\n",
    )
    .expect("script");
    for script in [&broken, &quitter] {
        make_executable(script);
    }
    let profile = profile(
        &dir,
        &format!(
            "[plugins.addrcount]\npath = \"{}\"\n[plugins.broken]\npath = \"broken.sh\"\n[plugins.quitter]\npath = \"quitter.sh\"\nkind = \"executable\"\n",
            python.display()
        ),
    );
    let o = sonde_localhost_json(&dir, &profile);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let r = report(&o);
    assert_eq!(r["sections"]["addrcount"]["ipv4"], 1);
    assert_eq!(r["sections"]["addrcount"]["ipv6"], 1);
    assert_eq!(
        r["collectors"]["addrcount"]["warnings"],
        serde_json::json!(["127.0.0.1 is loopback", "::1 is loopback"])
    );
    assert_eq!(r["collectors"]["broken"]["outcome"]["status"], "failed");
    assert!(r["errors"]["broken"]
        .as_str()
        .unwrap_or_default()
        .starts_with("it answered with invalid JSON"));
    assert_eq!(
        r["collectors"]["quitter"]["outcome"],
        serde_json::json!({"status": "crashed", "message": "its process exited with status 7 before answering; it said: giving up"})
    );
}

#[test]
fn the_plugins_folder_is_discovered_and_clashes_are_refused() {
    let dir = scratch("folder");
    let folder = dir.join("data/plugins");
    std::fs::create_dir_all(&folder).expect("folder");
    let faults = example_library("sonde-plugin-faults");
    std::fs::copy(&faults, folder.join("libfaults.so")).expect("copy");
    std::fs::copy(&faults, folder.join("libfaults-again.so")).expect("copy");
    let fake_dns = folder.join("dns-impostor");
    describing_script(
        &fake_dns,
        r#"{"name":"dns","version":"6.6.6","summary":"not the real one","abi":{"major":1,"minor":0}}"#,
    );
    std::fs::write(folder.join("README.txt"), "not a plugin").expect("readme");
    let o = sonde(&dir, &["plugins", "list"], &[]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{}", stderr(&o));
    assert!(
        out.lines().any(|l| l.starts_with("faults ")
            && l.contains("library, isolated")
            && l.ends_with("Misbehaves on purpose, as its settings say")
            && l.contains("libfaults-again.so")),
        "{out}"
    );
    assert!(out.contains("library, isolated, refused"), "{out}");
    assert!(
        out.contains(&format!(
            "refused: ignoring a plugin: a collector named `dns` already exists (built in); `dns` from plugin {} v6.6.6 was refused",
            fake_dns.display()
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "refused: ignoring a plugin: a collector named `faults` already exists (plugin {} v0.1.0); `faults` from plugin {} v0.1.0 was refused",
            folder.join("libfaults-again.so").display(),
            folder.join("libfaults.so").display()
        )),
        "{out}"
    );
    assert!(!out.contains("README"), "{out}");
    // A folder plugin runs in every profile, like a built-in, and is listed as one.
    let o = sonde(&dir, &["collectors", "list"], &[]);
    assert!(
        stdout(&o)
            .lines()
            .any(|l| l.starts_with("faults") && l.contains("plugin ") && l.contains("v0.1.0")),
        "{}",
        stdout(&o)
    );
    let o = sonde(&dir, &["plan"], &[]);
    assert!(
        stdout(&o)
            .lines()
            .any(|l| l.trim_start().starts_with("faults ")
                && l.contains(" 5s  starts at once  [plugin ")),
        "{}",
        stdout(&o)
    );
    let hosts_profile = profile(&dir, "");
    let o = sonde(
        &dir,
        &[
            "localhost",
            "--profile",
            hosts_profile.to_str().expect("utf-8"),
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("FAULTS  ok "), "{text}");
    assert!(text.contains(" · plugin v0.1.0 "), "{text}");
    assert!(text.contains("  warning: fault `none` injected"), "{text}");
    assert!(stderr(&o).contains("sonde: ignoring a plugin: a collector named `dns` already exists"));
}

#[test]
fn plugin_settings_are_checked_against_its_schema_with_positions() {
    let dir = scratch("schema");
    let lib = example_library("sonde-plugin-faults");
    let profile = profile(
        &dir,
        &format!(
            "[plugins.faults]\npath = \"{}\"\n\n[collectors.faults]\ntimeout = \"1s\"\nfault = \"explode\"\n",
            lib.display()
        ),
    );
    let o = sonde(
        &dir,
        &["profiles", "validate", profile.to_str().expect("utf-8")],
        &[],
    );
    assert_eq!(o.status.code(), Some(64));
    assert_eq!(
        stderr(&o),
        format!(
            "sonde: the profile has 1 problem:\n  {}:13: collectors.faults.fault: does not match plugin `faults`'s settings schema: `/fault`: \"explode\" is not one of \"none\", \"panic\", \"abort\", \"segfault\", \"loop\", \"sleep\", \"invalid-json\", \"huge-output\", \"exit\", \"stdout-noise\", \"settings-panic\"\n",
            profile.display()
        )
    );
    let missing = profile_with_missing(&dir);
    let o = sonde(
        &dir,
        &["plan", "--profile", missing.to_str().expect("utf-8")],
        &[],
    );
    assert_eq!(o.status.code(), Some(64));
    assert!(
        stderr(&o).contains("profile.toml:8: plugins.ghost: plugin /nonexistent/libghost.so: cannot read it: No such file or directory"),
        "{}",
        stderr(&o)
    );
}

fn profile_with_missing(dir: &Path) -> std::path::PathBuf {
    profile(
        dir,
        "[plugins.ghost]\npath = \"/nonexistent/libghost.so\"\n",
    )
}

#[test]
fn inspect_validates_without_running() {
    let dir = scratch("inspect");
    let lib = example_library("sonde-plugin-http");
    let o = sonde(
        &dir,
        &["plugins", "inspect", lib.to_str().expect("utf-8")],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    for line in [
        "name         http\n",
        "abi          1.0\n",
        "kind         library, isolated\n",
        "needs        dns\n",
        "after        tls\n",
        "timeout      8s\n",
        "\"max-redirects\": {",
    ] {
        assert!(out.contains(line), "{line}: {out}");
    }
    assert!(
        out.ends_with(&format!("{}: valid\n", lib.display())),
        "{out}"
    );
    let text = dir.join("notes.txt");
    std::fs::write(&text, "hello").expect("write");
    let o = sonde(
        &dir,
        &["plugins", "inspect", text.to_str().expect("utf-8")],
        &[],
    );
    assert_eq!(o.status.code(), Some(64));
    assert!(stderr(&o).contains("neither a shared library (.so, .dylib) nor an executable file"));
    let o = sonde(&dir, &["plugins", "inspect", "/bin/true"], &[]);
    assert_eq!(o.status.code(), Some(64));
    assert_eq!(
        stderr(&o),
        "sonde: plugin /bin/true: describe failed: its process exited without answering\n"
    );
}

#[test]
fn a_plugin_that_ignores_sigterm_is_killed_at_its_deadline() {
    let dir = scratch("stubborn");
    let script = dir.join("stubborn.sh");
    executable(
        &script,
        "#!/bin/sh\nread -r call\ncase \"$call\" in\n*describe*) echo '{\"name\":\"stubborn\",\"version\":\"1\",\"summary\":\"ignores SIGTERM\",\"abi\":{\"major\":1,\"minor\":0}}' ;;\n*) trap '' TERM; while :; do :; done ;;\nesac\n",
    );
    let profile = profile(
        &dir,
        "[plugins.stubborn]\npath = \"stubborn.sh\"\n\n[collectors.stubborn]\ntimeout = \"300ms\"\n",
    );
    let start = Instant::now();
    let o = sonde_localhost_json(&dir, &profile);
    let r = report(&o);
    assert_eq!(
        r["collectors"]["stubborn"]["outcome"],
        serde_json::json!({"status": "timed_out", "limit": "collector", "after_ms": 300})
    );
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    // SIGTERM is ignored: SIGKILL follows after the grace period.
    let gone = (0..40).any(|_| {
        std::thread::sleep(Duration::from_millis(50));
        running("/bin/sh", &script) == 0
    });
    assert!(gone, "the plugin process survived its deadline");
}

/// Whether process `pid` is gone (or a zombie waiting for init to reap it).
fn process_gone(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z')),
    }
}

/// Waits up to 3 s for the pid written to `file` to be gone.
fn written_pid_goes_away(file: &Path) -> (String, bool) {
    let pid = std::fs::read_to_string(file)
        .unwrap_or_else(|e| panic!("{} was not written: {e}", file.display()))
        .trim()
        .to_string();
    assert!(pid.parse::<u32>().is_ok(), "not a pid: {pid:?}");
    let gone = (0..60).any(|_| {
        std::thread::sleep(Duration::from_millis(50));
        process_gone(&pid)
    });
    if !gone {
        // Do not leave it behind for the next test run.
        let _ = std::process::Command::new("kill")
            .args(["-9", &pid])
            .status();
    }
    (pid, gone)
}

#[test]
fn what_a_timed_out_plugin_started_is_stopped_with_it() {
    let dir = scratch("group");
    let pidfile = dir.join("sleep.pid");
    let script = dir.join("spawner.sh");
    executable(
        &script,
        format!(
            "#!/bin/sh\nread -r call\ncase \"$call\" in\n*describe*) echo '{{\"name\":\"spawner\",\"version\":\"1\",\"summary\":\"starts a sleep and waits\",\"abi\":{{\"major\":1,\"minor\":0}}}}' ;;\n*) sleep 37 & echo $! > {}; wait ;;\nesac\n",
            pidfile.display()
        ),
    );
    let profile = profile(
        &dir,
        "[plugins.spawner]\npath = \"spawner.sh\"\n\n[collectors.spawner]\ntimeout = \"300ms\"\n",
    );
    let o = sonde_localhost_json(&dir, &profile);
    let r = report(&o);
    assert_eq!(
        r["collectors"]["spawner"]["outcome"]["status"],
        "timed_out",
        "{}",
        stderr(&o)
    );
    let (pid, gone) = written_pid_goes_away(&pidfile);
    assert!(gone, "the plugin's `sleep 37` (pid {pid}) outlived it");
}

/// Writes an executable plugin whose manifest is `manifest`.
fn describing_script(path: &Path, manifest: &str) {
    executable(path, format!("#!/bin/sh\necho '{manifest}'\n"));
}

/// Writes `text` to `path` as an executable file.
fn executable(path: &Path, text: impl AsRef<[u8]>) {
    std::fs::write(path, text).expect("script");
    make_executable(path);
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

#[test]
fn a_folder_plugin_that_cannot_run_everywhere_is_left_out_not_fatal() {
    let dir = scratch("unfit");
    let folder = dir.join("data/plugins");
    std::fs::create_dir_all(&folder).expect("folder");
    let needy = folder.join("needy");
    describing_script(
        &needy,
        r#"{"name":"needy","version":"1","summary":"needs a ghost","abi":{"major":1,"minor":0},"needs":["ghost"]}"#,
    );
    // Needs a plugin that is itself left out.
    let stranded = folder.join("stranded");
    describing_script(
        &stranded,
        r#"{"name":"stranded","version":"1","summary":"needs needy","abi":{"major":1,"minor":0},"needs":["needy"]}"#,
    );
    let strict = folder.join("strict");
    describing_script(
        &strict,
        r#"{"name":"strict","version":"1","summary":"requires a key","abi":{"major":1,"minor":0},"config_schema":{"type":"object","properties":{"key":{"type":"string"}},"required":["key"]}}"#,
    );
    std::fs::copy(
        example_library("sonde-plugin-faults"),
        folder.join("libfaults.so"),
    )
    .expect("copy");
    let o = sonde(&dir, &["plan", "--profile", "quick"], &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    for want in [
        format!(
            "sonde: ignoring a plugin: plugin `needy` ({}) needs `ghost`, which no built-in or plugin provides; it is left out of every profile\n",
            needy.display()
        ),
        format!(
            "sonde: ignoring a plugin: plugin `stranded` ({}) needs `needy`, which no built-in or plugin provides",
            stranded.display()
        ),
        format!(
            "sonde: ignoring a plugin: plugin `strict` ({}) cannot run without settings (does not match plugin `strict`'s settings schema: the top level: missing `key`); it is left out of every profile: declare it in a profile's [plugins.strict] table",
            strict.display()
        ),
    ] {
        assert!(err.contains(&want), "{want}\n---\n{err}");
    }
    // The good folder plugin still joins the plan; the others do not.
    let plan = stdout(&o);
    assert!(
        plan.lines().any(|l| l.trim_start().starts_with("faults ")),
        "{plan}"
    );
    for name in ["needy ", "stranded ", "strict "] {
        assert!(
            !plan.lines().any(|l| l.trim_start().starts_with(name)),
            "{plan}"
        );
    }
    let o = sonde(&dir, &["plugins", "list"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o)
            .lines()
            .any(|l| l.starts_with("needy ") && l.contains("executable, refused")),
        "{}",
        stdout(&o)
    );
    // Declared by the profile, the same plugins fail it, loudly.
    let profile = profile(
        &dir,
        &format!(
            "[plugins.needy]\npath = \"{}\"\n[plugins.strict]\npath = \"{}\"\n",
            needy.display(),
            strict.display()
        ),
    );
    let o = sonde(
        &dir,
        &["plan", "--profile", profile.to_str().expect("utf-8")],
        &[],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(64), "{err}");
    assert!(
        err.contains("collectors.needy.needs: unknown collector `ghost`"),
        "{err}"
    );
    assert!(
        err.contains("collectors.strict: does not match plugin `strict`'s settings schema: the top level: missing `key`"),
        "{err}"
    );
}

#[test]
fn a_folder_plugin_that_hangs_describing_costs_two_seconds_and_leaves_nothing() {
    let dir = scratch("hang-describe");
    let folder = dir.join("data/plugins");
    std::fs::create_dir_all(&folder).expect("folder");
    let pidfile = dir.join("sleep.pid");
    let script = folder.join("hangs");
    executable(
        &script,
        format!(
            "#!/bin/sh\nsleep 37 &\necho $! > {}\nwait\n",
            pidfile.display()
        ),
    );
    let start = Instant::now();
    let o = sonde(&dir, &["collectors", "list"], &[]);
    let took = start.elapsed();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(took < Duration::from_secs(4), "took {took:?}");
    assert_eq!(
        stderr(&o),
        format!(
            "sonde: ignoring a plugin: plugin {}: describe failed: it did not load and describe itself within 2s\n",
            script.display()
        )
    );
    let (pid, gone) = written_pid_goes_away(&pidfile);
    assert!(
        gone,
        "the describing plugin's `sleep 37` (pid {pid}) outlived it"
    );
}

/// Starts `sonde localhost` with an executable plugin `name` whose run does
/// `run` (shell), and returns once the plugin has written `pidfile`.
fn sonde_with_running_plugin(
    dir: &Path,
    name: &str,
    run: &str,
    pidfile: &Path,
) -> std::process::Child {
    executable(
        &dir.join(format!("{name}.sh")),
        format!(
            "#!/bin/sh\nread -r call\ncase \"$call\" in\n*describe*) echo '{{\"name\":\"{name}\",\"version\":\"1\",\"summary\":\"runs until stopped\",\"abi\":{{\"major\":1,\"minor\":0}}}}' ;;\n*) {run} ;;\nesac\n"
        ),
    );
    let profile = profile(
        dir,
        &format!(
            "[plugins.{name}]\npath = \"{name}.sh\"\n\n[collectors.{name}]\ntimeout = \"30s\"\n"
        ),
    );
    let sonde = std::process::Command::new(env!("CARGO_BIN_EXE_sonde"))
        .args(["localhost", "--profile", profile.to_str().expect("utf-8")])
        .env("SONDE_CONFIG_DIR", dir.join("config"))
        .env("SONDE_DATA_DIR", dir.join("data"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("sonde starts");
    let started = (0..100).any(|_| {
        std::thread::sleep(Duration::from_millis(50));
        std::fs::read_to_string(pidfile).is_ok_and(|p| p.ends_with('\n'))
    });
    assert!(started, "the plugin never ran");
    sonde
}

fn send(signal: &str, child: &std::process::Child) {
    let _ = std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status();
}

#[test]
fn an_executable_plugin_dies_with_a_killed_sonde() {
    let dir = scratch("killed");
    let pidfile = dir.join("plugin.pid");
    let run = format!("echo $$ > {}; while :; do sleep 1; done", pidfile.display());
    let mut sonde = sonde_with_running_plugin(&dir, "waits", &run, &pidfile);
    // SIGKILL leaves sonde no time to stop anything: the parent-death signal does.
    send("-KILL", &sonde);
    let _ = sonde.wait();
    let (pid, gone) = written_pid_goes_away(&pidfile);
    assert!(gone, "the plugin (pid {pid}) outlived the killed sonde");
}

#[test]
fn an_interrupted_sonde_stops_what_its_plugins_started_and_exits_130() {
    let dir = scratch("interrupted");
    let pidfile = dir.join("sleep.pid");
    let run = format!("sleep 37 & echo $! > {}; wait", pidfile.display());
    let sonde = sonde_with_running_plugin(&dir, "starts", &run, &pidfile);
    // Ctrl-C reaches sonde's group, not the plugin's: sonde stops the
    // plugin's group, and with it what the plugin started.
    send("-INT", &sonde);
    let out = sonde.wait_with_output().expect("sonde ends");
    let (pid, gone) = written_pid_goes_away(&pidfile);
    assert!(
        gone,
        "the plugin's `sleep 37` (pid {pid}) outlived the interrupted sonde"
    );
    assert_eq!(out.status.code(), Some(130));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).lines().last(),
        Some("sonde: interrupted")
    );
}

#[test]
fn sonde_schema_describes_a_plugins_section_with_its_manifests_output_schema() {
    let dir = scratch("report-schema");
    let lib = example_library("sonde-plugin-http");
    let profile = profile(
        &dir,
        &format!("[plugins.http]\npath = \"{}\"\n", lib.display()),
    );
    let o = sonde(
        &dir,
        &["schema", "--profile", profile.to_str().expect("utf-8")],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let schema: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("JSON");
    let http = &schema["properties"]["sections"]["properties"]["http"];
    // As the plugin's manifest declares it (plugins/examples/http).
    assert_eq!(http["type"], "object", "{http}");
    assert_eq!(
        http["required"],
        serde_json::json!(["host", "address", "checks"])
    );
    assert_eq!(
        http["properties"]["checks"]["items"]["properties"]["scheme"]["enum"],
        serde_json::json!(["http", "https"])
    );
    // The built-ins are described beside it.
    assert!(schema["properties"]["sections"]["properties"]["dns"].is_object());
}
