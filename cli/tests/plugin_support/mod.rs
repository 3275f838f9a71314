//! Shared by the plugin tests: where the example plugins are, scratch
//! folders, profiles that answer `localhost` from a fixed hosts file, and
//! running the real `sonde`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A built example plugin (a dev-dependency of this crate, so cargo builds
/// its cdylib next to the test binary).
pub fn example_library(crate_name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let deps = exe.parent().expect("deps folder");
    let path = deps.join(format!("lib{}.so", crate_name.replace('-', "_")));
    assert!(path.is_file(), "{} was not built", path.display());
    path
}

/// The repository's root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repo")
        .to_path_buf()
}

/// A fresh folder for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sonde-plugin-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// A profile in `dir` that answers `localhost` (127.0.0.1 and ::1) from a
/// hosts file, names a resolver on a closed loopback port, and adds `extra`.
pub fn profile(dir: &Path, extra: &str) -> PathBuf {
    let hosts = dir.join("hosts");
    std::fs::write(&hosts, "127.0.0.1 localhost\n::1 localhost\n").expect("hosts");
    let path = dir.join("profile.toml");
    std::fs::write(
        &path,
        format!(
            "name = \"plugins\"\nextends = \"default\"\n\n[collectors.dns]\nhosts-file = \"{}\"\nnameservers = [\"127.0.0.1:9\"]\n\n{extra}",
            hosts.display()
        ),
    )
    .expect("profile");
    path
}

/// Runs the real `sonde` with `args`, its config and data folders in `dir`.
pub fn sonde(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sonde"));
    cmd.args(args)
        .env("NO_COLOR", "1")
        .env("COLUMNS", "200")
        .env_remove("RUST_LOG")
        .env_remove("SONDE_FAULTS_ABI")
        .env("SONDE_CONFIG_DIR", dir.join("config"))
        .env("SONDE_DATA_DIR", dir.join("data"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("sonde runs")
}

/// `sonde localhost --profile PROFILE --json`, run in `dir` as [`sonde`] runs it.
pub fn sonde_localhost_json(dir: &Path, profile: &Path) -> Output {
    sonde(
        dir,
        &[
            "localhost",
            "--profile",
            profile.to_str().expect("utf-8"),
            "--json",
        ],
        &[],
    )
}

/// stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The JSON report on stdout.
pub fn report(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not a JSON report ({e}): {}{}", stdout(o), stderr(o)))
}

/// Compiles the C example into `dir`, with extra compiler flags.
pub fn compile_c(dir: &Path, name: &str, flags: &[&str]) -> PathBuf {
    let out = dir.join(format!("lib{name}.so"));
    let status = Command::new("cc")
        .args(["-shared", "-fPIC", "-Wall", "-Wextra", "-Werror", "-I"])
        .arg(repo().join("plugins/sdk/include"))
        .args(flags)
        .arg("-o")
        .arg(&out)
        .arg(repo().join("plugins/examples/c/greeting.c"))
        .status()
        .expect("the system C compiler (cc) runs");
    assert!(status.success(), "cc failed");
    out
}

/// Plugin child processes still running for a library path.
pub fn children_of(library: &Path) -> usize {
    running("__plugin-child", library)
}

/// Processes whose command line holds both `a` and `path`.
pub fn running(a: &str, path: &Path) -> usize {
    let needle = path.display().to_string();
    std::fs::read_dir("/proc")
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
                .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
                .filter(|c| c.contains(a) && c.contains(&needle))
                .count()
        })
        .unwrap_or(0)
}
