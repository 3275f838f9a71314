//! The isolated child: `sonde __plugin-child LIBRARY` loads the library in
//! its own process, answers one call read from stdin on stdout, and exits.
//! Whatever the plugin does to this process (abort, segfault, endless
//! loop) cannot reach the run that started it.

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::path::Path;

use sonde_plugin_sdk::protocol::DescribeError;
use sonde_plugin_sdk::{Call, Response};

use crate::library::{Library, MAX_ANSWER};

/// Serves one call for the library at `path`; returns the exit code.
pub fn serve(path: &Path) -> u8 {
    // Die with the parent: a child left behind by a killed sonde must not
    // keep running a plugin.
    let _ = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL);
    // The answer goes to the real stdout; the plugin's own prints go to
    // stderr, so that they cannot corrupt the answer.
    let answer_fd = match divert_stdout() {
        Ok(fd) => fd,
        Err(e) => {
            eprintln!("sonde plugin child: cannot set up its output: {e}");
            return 2;
        }
    };
    let mut input = Vec::new();
    let read = std::io::stdin()
        .take(MAX_ANSWER as u64 + 1)
        .read_to_end(&mut input);
    let text = match read {
        Ok(_) => answer(path, &input),
        Err(e) => {
            eprintln!("sonde plugin child: cannot read the call: {e}");
            return 2;
        }
    };
    let mut out = std::fs::File::from(answer_fd);
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => 0,
        Err(_) => 2,
    }
}

/// Points this process's stdout at its stderr and returns the original
/// stdout: what a library loaded in this process prints can then never mix
/// with what the process itself must write there (the child's answer,
/// sonde's report when a plugin runs in-process).
pub fn divert_stdout() -> nix::Result<OwnedFd> {
    let saved = nix::unistd::dup(std::io::stdout())?;
    nix::unistd::dup2_stdout(std::io::stderr())?;
    Ok(saved)
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|e| {
        format!("{{\"status\":\"failed\",\"error\":\"cannot write the answer: {e}\"}}")
    })
}

fn answer(path: &Path, input: &[u8]) -> String {
    let call: Call = match serde_json::from_slice(input) {
        Ok(c) => c,
        Err(e) => {
            return json(&Response::failed(format!(
                "sonde sent a call it cannot read: {e}"
            )))
        }
    };
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into(),
    );
    let lib = match Library::open(path, &name) {
        Ok(lib) => lib,
        Err(e) => {
            return match call {
                Call::Describe { .. } => json(&DescribeError {
                    error: e.to_string(),
                }),
                Call::Run { .. } => json(&Response::failed(e.to_string())),
            }
        }
    };
    let result = match call {
        Call::Describe { .. } => lib.describe(),
        Call::Run { request } => match serde_json::to_string(&request) {
            Ok(text) => lib.run(&text),
            Err(e) => return json(&Response::failed(format!("cannot write the request: {e}"))),
        },
    };
    // The library's answer is passed on untouched: sonde checks it.
    result.unwrap_or_else(|e| json(&Response::failed(e.to_string())))
}
