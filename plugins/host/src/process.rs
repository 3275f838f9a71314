//! One exchange with a plugin process: write a call on its stdin, read its
//! answer from stdout to the end, and make sure it is gone afterwards.
//!
//! A process that must stop early (deadline, cancellation, an answer too
//! large) is first sent SIGTERM and, if it is still there after a short
//! grace, SIGKILL; it is always reaped. Its stderr is kept (bounded) so that
//! a crash can say what the plugin said last.

use std::future::Future;
use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};

use crate::error::CallError;
use crate::library::MAX_ANSWER;

/// How long a process has to stop after SIGTERM before SIGKILL.
const GRACE: Duration = Duration::from_millis(200);
/// How much of stderr is kept for messages.
const MAX_STDERR: usize = 64 * 1024;

/// Plugin processes started and not yet reaped, by pid.
static LIVE: std::sync::Mutex<std::collections::BTreeSet<i32>> =
    std::sync::Mutex::new(std::collections::BTreeSet::new());

fn live() -> std::sync::MutexGuard<'static, std::collections::BTreeSet<i32>> {
    LIVE.lock().unwrap_or_else(|p| p.into_inner())
}

/// Stops every plugin process still running: SIGTERM, then SIGKILL after
/// the grace. Call it before sonde exits: a node that timed out may not
/// have been dropped yet (the scheduler abandons its runtime), and a plugin
/// that ignores SIGTERM must not outlive sonde. An unreaped child's pid
/// cannot be reused, so every pid here is still ours.
pub fn finish_stopping() {
    let pids: Vec<i32> = live().iter().copied().collect();
    if pids.is_empty() {
        return;
    }
    for &pid in &pids {
        let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
    }
    std::thread::sleep(GRACE);
    for &pid in &pids {
        if live().contains(&pid) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
}

/// Owns a child until it has exited; dropping it early stops the child
/// (SIGTERM, then SIGKILL after the grace) and reaps it.
struct Reaper(Option<Child>);

impl Reaper {
    fn child(&mut self) -> Option<&mut Child> {
        self.0.as_mut()
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        let Some(mut child) = self.0.take() else {
            return;
        };
        if !matches!(child.try_wait(), Ok(None)) {
            return;
        }
        if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        }
        // The scheduler may drop this future from any thread, inside or
        // outside a runtime: a plain thread finishes the job.
        let _ = std::thread::Builder::new()
            .name("sonde-plugin-reaper".into())
            .spawn(move || {
                let start = std::time::Instant::now();
                let mut killed = false;
                let pid = child.id().and_then(|p| i32::try_from(p).ok());
                if let Some(pid) = pid {
                    live().insert(pid);
                }
                loop {
                    match child.try_wait() {
                        Ok(None) => {}
                        _ => {
                            if let Some(pid) = pid {
                                live().remove(&pid);
                            }
                            return;
                        }
                    }
                    if !killed && start.elapsed() >= GRACE {
                        let _ = child.start_kill();
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
        .kill_on_drop(false);
    let program = cmd.as_std().get_program().to_string_lossy().into_owned();
    let child = cmd
        .spawn()
        .map_err(|e| CallError::Failed(format!("cannot start {program}: {e}")))?;
    let mut reaper = Reaper(Some(child));
    let Some(child) = reaper.child() else {
        return Err(CallError::Failed("internal error: no child".into()));
    };
    let pid = child.id().and_then(|p| i32::try_from(p).ok());
    if let Some(pid) = pid {
        live().insert(pid);
    }
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
        if let Some(pid) = pid {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
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
        reaper.0 = None;
        if let Some(pid) = pid {
            live().remove(&pid);
        }
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
