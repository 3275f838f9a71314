//! One exchange with a plugin process: write a call on its stdin, read its
//! answer from stdout to the end, and make sure it is gone afterwards.
//!
//! Every plugin process starts in a process group of its own, and it is the
//! group that is stopped: a shell plugin's `sleep`, or anything else the
//! plugin started, goes with it. A process that must stop early (deadline,
//! cancellation, an answer too large) is first sent SIGTERM and, if its
//! group is still there after a short grace, SIGKILL; it is always reaped.
//! What the plugin leaves behind after answering is stopped the same way.
//! Its stderr is kept (bounded) so that a crash can say what the plugin
//! said last.

use std::future::Future;
use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};

use crate::error::CallError;
use crate::library::MAX_ANSWER;

/// How long a process has to stop after SIGTERM before SIGKILL.
const GRACE: Duration = Duration::from_millis(200);
/// How much of stderr is kept for messages.
const MAX_STDERR: usize = 64 * 1024;

/// Process groups of plugin processes that may still have members, by
/// process group id (the plugin process's pid).
static LIVE: std::sync::Mutex<std::collections::BTreeSet<i32>> =
    std::sync::Mutex::new(std::collections::BTreeSet::new());

fn live() -> std::sync::MutexGuard<'static, std::collections::BTreeSet<i32>> {
    LIVE.lock().unwrap_or_else(|p| p.into_inner())
}

/// Stops every plugin process group still running: SIGTERM, then SIGKILL
/// after the grace. Call it before sonde exits: a node that timed out may
/// not have been dropped yet (the scheduler abandons its runtime), and a
/// plugin that ignores SIGTERM must not outlive sonde. A group id stays
/// taken while the group has a member or its leader is unreaped, so every
/// id here is still ours.
pub fn finish_stopping() {
    let groups: Vec<i32> = live().iter().copied().collect();
    if groups.is_empty() {
        return;
    }
    for &group in &groups {
        signal_group(group, Signal::SIGTERM);
    }
    std::thread::sleep(GRACE);
    for &group in &groups {
        if live().contains(&group) {
            signal_group(group, Signal::SIGKILL);
        }
    }
}

/// Sends `signal` to every process of the group.
fn signal_group(group: i32, signal: Signal) {
    let _ = killpg(Pid::from_raw(group), signal);
}

/// Whether any process (a zombie included) is left in the group.
fn group_alive(group: i32) -> bool {
    killpg(Pid::from_raw(group), None::<Signal>).is_ok()
}

/// Owns a plugin process and its group until both are gone; dropping it
/// stops what is left of them (SIGTERM to the group, then SIGKILL after the
/// grace) and reaps the process.
struct Reaper {
    /// The process, until it has been reaped.
    child: Option<Child>,
    /// Its process group (its pid), until the group is known to be empty.
    group: Option<i32>,
}

impl Reaper {
    fn child(&mut self) -> Option<&mut Child> {
        self.child.as_mut()
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        let mut child = self.child.take();
        let leader_running = child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)));
        let Some(group) = self.group.take() else {
            return;
        };
        if !leader_running && !group_alive(group) {
            live().remove(&group);
            return;
        }
        live().insert(group);
        signal_group(group, Signal::SIGTERM);
        // The scheduler may drop this future from any thread, inside or
        // outside a runtime: a plain thread finishes the job.
        let _ = std::thread::Builder::new()
            .name("sonde-plugin-reaper".into())
            .spawn(move || {
                let start = std::time::Instant::now();
                let mut killed = false;
                loop {
                    // Reap the leader as soon as it exits, so that the
                    // group's emptiness can be seen.
                    if child
                        .as_mut()
                        .is_some_and(|c| !matches!(c.try_wait(), Ok(None)))
                    {
                        child = None;
                    }
                    if child.is_none() && !group_alive(group) {
                        live().remove(&group);
                        return;
                    }
                    if !killed && start.elapsed() >= GRACE {
                        signal_group(group, Signal::SIGKILL);
                        killed = true;
                    }
                    if start.elapsed() >= GRACE * 25 {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
            });
    }
}

/// Reads to the end, keeping at most `limit` bytes; `Err(kept)` when there
/// was more.
async fn read_bounded<R: AsyncRead + Unpin>(
    mut from: R,
    limit: usize,
    on_overflow: impl FnOnce(),
) -> Result<Vec<u8>, Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match from.read(&mut buf).await {
            Ok(0) | Err(_) => return Ok(out),
            Ok(n) => {
                if out.len() + n > limit {
                    on_overflow();
                    return Err(out);
                }
                out.extend_from_slice(&buf[..n]);
            }
        }
    }
}

/// The last lines of what the process wrote to stderr, for a message.
pub(crate) fn stderr_tail(stderr: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return None;
    }
    let tail = lines[lines.len().saturating_sub(3)..].join(" | ");
    let mut tail: String = tail.chars().take(600).collect();
    if tail.len() < text.trim().len() && lines.len() > 3 {
        tail.insert_str(0, "… ");
    }
    Some(tail)
}

fn died(status: ExitStatus, stderr: &[u8], answered: bool) -> CallError {
    let how = match (status.signal(), status.code()) {
        (Some(sig), _) => {
            let name = Signal::try_from(sig).map_or("unknown signal", |s| s.as_str());
            format!("its process was killed by signal {sig} ({name})")
        }
        (None, Some(code)) if answered => format!("its process exited with status {code}"),
        (None, Some(code)) => format!("its process exited with status {code} before answering"),
        (None, None) => "its process ended abnormally".to_string(),
    };
    match stderr_tail(stderr) {
        Some(tail) => CallError::Crashed(format!("{how}; it said: {tail}")),
        None => CallError::Crashed(how),
    }
}

/// Has the process killed if sonde dies first. In a group of its own, a
/// plugin no longer gets the terminal's Ctrl-C with sonde; this is how it
/// still ends when sonde is interrupted or killed. For executables only:
/// a `pre_exec` step makes the standard library fork instead of using
/// `posix_spawn`, about 1 ms more per call (docs/benchmarks.md), so sonde's
/// own isolated child sets this itself once it runs.
#[allow(unsafe_code)]
pub(crate) fn die_with_sonde(cmd: &mut Command) {
    // SAFETY: the closure runs in the forked child before exec and only
    // makes one prctl(2) call, which is async-signal-safe; it allocates
    // nothing and takes no lock.
    unsafe {
        cmd.pre_exec(|| {
            nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(std::io::Error::from)
        });
    }
}

/// Starts `cmd`, writes `input` to its stdin, and returns what it wrote to
/// stdout once it has exited successfully. `stop` resolves, with a reason,
/// when the caller no longer wants the answer; the process is then stopped.
pub(crate) async fn exchange(
    mut cmd: Command,
    input: Vec<u8>,
    stop: impl Future<Output = String>,
) -> Result<Vec<u8>, CallError> {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // A group of its own, so that stopping it stops what it started.
        .process_group(0)
        .kill_on_drop(false);
    let program = cmd.as_std().get_program().to_string_lossy().into_owned();
    let child = cmd
        .spawn()
        .map_err(|e| CallError::Failed(format!("cannot start {program}: {e}")))?;
    let group = child.id().and_then(|p| i32::try_from(p).ok());
    if let Some(group) = group {
        live().insert(group);
    }
    let mut reaper = Reaper {
        child: Some(child),
        group,
    };
    let Some(child) = reaper.child() else {
        return Err(CallError::Failed("internal error: no child".into()));
    };
    let (Some(mut stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return Err(CallError::Failed(format!("cannot talk to {program}")));
    };
    let write = async move {
        // A plugin that exits without reading closes the pipe: not our error.
        let _ = stdin.write_all(&input).await;
        let _ = stdin.shutdown().await;
    };
    let stop_now = move || {
        if let Some(group) = group {
            signal_group(group, Signal::SIGKILL);
        }
    };
    let read_out = read_bounded(stdout, MAX_ANSWER, stop_now);
    let read_err = read_bounded(stderr, MAX_STDERR, || {});
    let talk = async {
        let ((), out, err) = tokio::join!(write, read_out, read_err);
        let err = err.unwrap_or_else(|kept| kept);
        let status = match reaper.child() {
            Some(child) => child.wait().await,
            None => return Err(CallError::Failed("internal error: no child".into())),
        };
        let status =
            status.map_err(|e| CallError::Failed(format!("cannot wait for {program}: {e}")))?;
        // Reaped; whatever it left in its group is stopped when the
        // reaper is dropped.
        reaper.child = None;
        let out = out.map_err(|_| {
            CallError::Failed(format!(
                "its answer is larger than the {} MiB sonde accepts; the process was stopped",
                MAX_ANSWER / (1024 * 1024)
            ))
        })?;
        if !status.success() {
            return Err(died(status, &err, !out.is_empty()));
        }
        if out.iter().all(u8::is_ascii_whitespace) {
            let mut msg = "its process exited without answering".to_string();
            if let Some(tail) = stderr_tail(&err) {
                msg.push_str(&format!("; it said: {tail}"));
            }
            return Err(CallError::Crashed(msg));
        }
        Ok(out)
    };
    tokio::select! {
        result = talk => result,
        reason = stop => Err(CallError::Failed(reason)),
    }
}
