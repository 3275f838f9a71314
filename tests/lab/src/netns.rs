//! Network namespaces: creating and deleting them with `ip netns`, running code inside them,
//! and cleaning up what a crashed earlier run left behind.
//!
//! Code runs inside a namespace on a thread of its own that calls `setns(2)`: a thread's
//! network namespace is its own, so the rest of the process (and the root namespace) is never
//! touched, and every socket the thread opens lives in the lab.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};

use nix::sched::{setns, CloneFlags};

use crate::LabError;

/// Where `ip netns` keeps the namespaces' bind mounts.
const NETNS_RUN_DIR: &str = "/run/netns";
/// Where `ip netns exec` finds per-namespace files (resolv.conf) to bind over /etc.
pub(crate) const NETNS_ETC_DIR: &str = "/etc/netns";

/// Whether this process can build a lab; the error says what is missing.
///
/// The first call creates and deletes a probe namespace, so a root process that may not make
/// namespaces (a locked-down container) is told so here instead of failing in
/// [`crate::Lab::start`]. The answer is kept for the life of the process.
pub fn check_available() -> Result<(), LabError> {
    static AVAILABLE: OnceLock<Result<(), String>> = OnceLock::new();
    AVAILABLE
        .get_or_init(probe)
        .clone()
        .map_err(LabError::Unavailable)
}

fn probe() -> Result<(), String> {
    if !nix::unistd::geteuid().is_root() {
        return Err("not running as root (network namespaces need CAP_SYS_ADMIN)".into());
    }
    if !Path::new("/proc/self/ns/net").exists() {
        return Err("this kernel has no network namespaces (/proc/self/ns/net is missing)".into());
    }
    match Command::new("ip").arg("-V").stdout(Stdio::null()).status() {
        Ok(s) if s.success() => {}
        Ok(s) => return Err(format!("`ip -V` exited with {s}")),
        Err(e) => return Err(format!("cannot run `ip` (install iproute2): {e}")),
    }
    // Named like a lab's, so a crash right here is cleaned up like any stale lab.
    let name = format!("{}probe", lab_prefix(std::process::id(), u32::MAX));
    let created = add_all(std::slice::from_ref(&name));
    let deleted = delete_all(std::slice::from_ref(&name));
    created
        .and(deleted)
        .map_err(|e| format!("cannot create a network namespace: {e}"))
}

/// Moves the calling thread into network namespace `ns` (a name under /run/netns).
///
/// Only the calling thread changes namespace; call it on a thread made for the purpose.
pub fn enter(ns: &str) -> Result<(), LabError> {
    let enter_err = |source| LabError::Enter {
        namespace: ns.to_owned(),
        source,
    };
    let file = File::open(Path::new(NETNS_RUN_DIR).join(ns)).map_err(enter_err)?;
    setns(&file, CloneFlags::CLONE_NEWNET).map_err(|e| enter_err(e.into()))
}

/// Runs `f` on a new thread inside namespace `ns` and returns what it returns.
///
/// Sockets `f` opens belong to the namespace. A panic in `f` is resumed on the caller.
pub fn in_namespace<T, F>(ns: &str, f: F) -> Result<T, LabError>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let ns = ns.to_owned();
    let handle = std::thread::Builder::new()
        .name(format!("netns-{ns}"))
        .spawn(move || enter(&ns).map(|()| f()))
        .map_err(|e| LabError::io("cannot spawn a thread", e))?;
    match handle.join() {
        Ok(result) => result,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Runs several `ip` commands at once, each as its own process, and waits for all of them.
pub(crate) fn ip_parallel(commands: &[Vec<String>]) -> Result<(), LabError> {
    let children: Vec<_> = commands
        .iter()
        .map(|args| {
            let child = Command::new("ip")
                .args(args)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn();
            (args, child)
        })
        .collect();
    let mut first_error = None;
    for (args, child) in children {
        let result = child
            .and_then(|c| c.wait_with_output())
            .map_err(|e| LabError::io("cannot run `ip`", e))
            .and_then(|out| check(&format!("ip {}", args.join(" ")), &out));
        if let Err(e) = result {
            first_error.get_or_insert(e);
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// Runs `ip [-n NS] -batch -` with `script` (one `ip` command per line, without `ip`).
pub(crate) fn ip_batch(ns: Option<&str>, script: &str) -> Result<(), LabError> {
    let mut args: Vec<&str> = Vec::new();
    if let Some(ns) = ns {
        args.extend(["-n", ns]);
    }
    args.extend(["-batch", "-"]);
    let mut child = Command::new("ip")
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| LabError::io("cannot run `ip`", e))?;
    let mut stdin = child.stdin.take().expect("stdin is piped");
    stdin
        .write_all(script.as_bytes())
        .map_err(|e| LabError::io("cannot write to `ip -batch`", e))?;
    drop(stdin);
    let output = child
        .wait_with_output()
        .map_err(|e| LabError::io("cannot run `ip`", e))?;
    check(&format!("ip {} <<{script}", args.join(" ")), &output)
}

/// Loads an nftables script into namespace `ns` (`nft -f -` run there).
pub(crate) fn nft(ns: &str, script: &str) -> Result<(), LabError> {
    let mut child = Command::new("ip")
        .args(["netns", "exec", ns, "nft", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| LabError::io("cannot run `nft` (install nftables)", e))?;
    let mut stdin = child.stdin.take().expect("stdin is piped");
    stdin
        .write_all(script.as_bytes())
        .map_err(|e| LabError::io("cannot write to `nft -f -`", e))?;
    drop(stdin);
    let output = child
        .wait_with_output()
        .map_err(|e| LabError::io("cannot run `nft`", e))?;
    check(&format!("ip netns exec {ns} nft -f - <<{script}"), &output)
}

fn check(command: &str, output: &Output) -> Result<(), LabError> {
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    Err(LabError::Command {
        command: command.to_owned(),
        stderr: if stderr.is_empty() {
            output.status.to_string()
        } else {
            stderr
        },
    })
}

/// Creates the namespaces: the first alone, the others at once.
///
/// The first `ip netns add` on a machine turns /run/netns into a shared mount point; two doing
/// that at the same time could stack two mounts and hide namespaces. So within this process
/// one lab creates namespaces at a time, and each starts with a single `ip netns add`.
pub(crate) fn add_all(names: &[String]) -> Result<(), LabError> {
    static ADDING: Mutex<()> = Mutex::new(());
    let _one_at_a_time = ADDING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let command = |n: &String| vec!["netns".to_owned(), "add".to_owned(), n.clone()];
    let Some((first, rest)) = names.split_first() else {
        return Ok(());
    };
    ip_parallel(&[command(first)])?;
    ip_parallel(&rest.iter().map(command).collect::<Vec<_>>())
}

/// Deletes the namespaces and their /etc/netns folders. Missing ones are not an error; every
/// name is tried even when one fails.
pub(crate) fn delete_all(names: &[String]) -> Result<(), LabError> {
    let existing: Vec<Vec<String>> = names
        .iter()
        .filter(|n| Path::new(NETNS_RUN_DIR).join(n).exists())
        .map(|n| vec!["netns".into(), "delete".into(), n.clone()])
        .collect();
    let result = ip_parallel(&existing);
    for name in names {
        let etc = etc_dir(name);
        if etc.exists() {
            let _ = std::fs::remove_dir_all(&etc);
        }
    }
    result
}

/// The folder whose files `ip netns exec NS` mounts over /etc.
pub(crate) fn etc_dir(ns: &str) -> PathBuf {
    Path::new(NETNS_ETC_DIR).join(ns)
}

/// Writes sysctls (`net/ipv4/ip_forward` style paths under /proc/sys) inside namespace `ns`.
///
/// /proc/sys/net shows the network namespace of the thread that looks, so a thread in the lab
/// sets the lab's values and never the machine's.
pub(crate) fn set_sysctls(
    ns: &str,
    sysctls: Vec<(&'static str, &'static str)>,
) -> Result<(), LabError> {
    in_namespace(ns, move || {
        for (key, value) in sysctls {
            let path = Path::new("/proc/sys").join(key);
            std::fs::write(&path, value)
                .map_err(|e| LabError::io(format!("cannot set {}", path.display()), e))?;
        }
        Ok(())
    })?
}

/// The prefix of every namespace of one lab: `sl<pid>x<n>-`.
pub(crate) fn lab_prefix(pid: u32, n: u32) -> String {
    format!("sl{pid}x{n}-")
}

/// The pid of the process that made a namespace called `name`, if the name is a lab's.
fn owner_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix("sl")?;
    let (pid, rest) = rest.split_once('x')?;
    let (n, _role) = rest.split_once('-')?;
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    pid.parse().ok()
}

/// Deletes the namespaces and /etc/netns folders of labs whose process is gone (a crashed or
/// killed earlier run). Labs of live processes, this one included, are left alone.
///
/// Returns the names removed.
pub fn clean_stale() -> Result<Vec<String>, LabError> {
    let mut stale = std::collections::BTreeSet::new();
    for dir in [NETNS_RUN_DIR, NETNS_ETC_DIR] {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(pid) = owner_pid(&name) {
                if !Path::new("/proc").join(pid.to_string()).exists() {
                    stale.insert(name);
                }
            }
        }
    }
    let stale: Vec<String> = stale.into_iter().collect();
    delete_all(&stale)?;
    Ok(stale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_lab_names_have_an_owner() {
        assert_eq!(owner_pid("sl1234x0-client"), Some(1234));
        assert_eq!(owner_pid(&format!("{}r2", lab_prefix(7, 12))), Some(7));
        assert_eq!(owner_pid("slow"), None);
        assert_eq!(owner_pid("sl12x-client"), None);
        assert_eq!(owner_pid("slxx3-client"), None);
        assert_eq!(owner_pid("client"), None);
    }
}
