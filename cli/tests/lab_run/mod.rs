//! Running the real `sonde` in the lab's client namespace, as root or as an unprivileged
//! user, with a profile written for the test; shared by the path collectors' end-to-end tests.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Output;

use serde_json::Value;
use sonde_lab::{Lab, Role};

/// The registry collectors, turned off.
const REGISTRIES_OFF: &str = "[collectors.asn]\nenabled = false\n\n[collectors.geo]\nenabled = false\n\n[collectors.whois]\nenabled = false\n\n";

/// Who sonde runs as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum User {
    /// root, with every capability.
    Root,
    /// uid/gid 65534 (nobody), no supplementary group, no capability.
    Nobody,
}

/// Writes a profile extending the default one with `extra` TOML (under the target folder,
/// which the unprivileged user can read: it is created with the usual umask). The registry
/// collectors (asn, geo, whois) are left out: these tests are about the path collectors, and
/// the lab's registries do not hold every host of the long path.
pub fn profile(tag: &str, extra: &str) -> String {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("lab-run-{tag}"));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let path = dir.join("profile.toml");
    std::fs::write(
        &path,
        format!(
            "name = \"{tag}\"\ndescription = \"test\"\nextends = \"default\"\n\n{REGISTRIES_OFF}{extra}"
        ),
    )
    .expect("profile");
    path.display().to_string()
}

/// Runs sonde with `args` in the client namespace as `user`.
pub fn sonde(lab: &Lab, user: User, args: &[&str]) -> Output {
    let bin = env!("CARGO_BIN_EXE_sonde");
    let mut command = match user {
        User::Root => lab.command(Role::Client, bin),
        User::Nobody => {
            let mut c = lab.command(Role::Client, "setpriv");
            c.args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "--inh-caps=-all",
                bin,
            ]);
            c
        }
    };
    command
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .output()
        .expect("sonde runs in the client namespace")
}

/// Opens (`true`) or closes the client namespace's net.ipv4.ping_group_range.
pub fn ping_group_range(lab: &Lab, open: bool) {
    let value = if open { "0 2147483647" } else { "1 0" };
    lab.run_in(Role::Client, move || {
        std::fs::write("/proc/sys/net/ipv4/ping_group_range", value)
    })
    .expect("enter the client namespace")
    .expect("set net.ipv4.ping_group_range");
}

/// The report, parsed.
pub fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&o.stdout),
            stderr(o)
        )
    })
}

/// stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
