//! Where sonde's own output goes. A plugin loaded in-process shares the
//! process's stdout; before one is loaded, stdout is moved aside so that
//! whatever the plugin prints goes to stderr and the report stays clean.

use std::io::Write;
use std::sync::{Mutex, OnceLock};

static DIVERTED: OnceLock<Mutex<std::fs::File>> = OnceLock::new();

/// Keeps the real stdout for sonde and points fd 1 at stderr; a failure
/// leaves stdout as it was.
pub fn protect() {
    if DIVERTED.get().is_none() {
        if let Ok(fd) = sonde_plugin_host::child::divert_stdout() {
            let _ = DIVERTED.set(Mutex::new(std::fs::File::from(fd)));
        }
    }
}

/// Writes all of `bytes` to sonde's stdout and flushes.
pub fn write(bytes: &[u8]) -> std::io::Result<()> {
    match DIVERTED.get() {
        Some(file) => {
            let mut f = file.lock().unwrap_or_else(|p| p.into_inner());
            f.write_all(bytes)?;
            f.flush()
        }
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(bytes)?;
            out.flush()
        }
    }
}

/// Whether sonde's stdout is a terminal.
pub fn is_terminal() -> bool {
    use std::io::IsTerminal;
    match DIVERTED.get() {
        Some(file) => file.lock().unwrap_or_else(|p| p.into_inner()).is_terminal(),
        None => std::io::stdout().is_terminal(),
    }
}
