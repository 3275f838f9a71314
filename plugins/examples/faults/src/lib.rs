//! `faults`: a plugin that misbehaves on purpose, as its settings say, so
//! that the tests can prove a run survives each way a plugin can fail.
//!
//! ```toml
//! [collectors.faults]
//! fault = "segfault"   # none, panic, abort, segfault, loop, sleep, invalid-json,
//!                      # huge-output, exit, stdout-noise, settings-panic
//! sleep-ms = 60000     # for `sleep`
//! ```
//!
//! Setting `SONDE_FAULTS_ABI=MAJOR.MINOR` in the environment makes it
//! describe itself with that ABI version (a plugin built for another
//! sonde). It writes its entry table by hand instead of using
//! `export_collector!`, because two of its faults (invalid JSON, a huge
//! answer) are things the SDK never lets a plugin do.

use std::ffi::{c_char, CStr, CString};

use serde::{Deserialize, Serialize};
use serde_json::json;
use sonde_plugin_sdk::{answer, AbiVersion, Entry, Failure, Input, Manifest, View};

/// What to do wrong.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// Answer properly.
    #[default]
    None,
    /// Panic inside the plugin's function.
    Panic,
    /// Abort the process.
    Abort,
    /// Die of SIGSEGV.
    Segfault,
    /// Spin for ever.
    Loop,
    /// Sleep for `sleep-ms`.
    Sleep,
    /// Answer with text that is not JSON.
    InvalidJson,
    /// Answer with 20 MiB.
    HugeOutput,
    /// Exit the process with status 3 before answering.
    Exit,
    /// Print to stdout, then answer properly.
    StdoutNoise,
    /// Panic while its settings are read (in `Config`'s `Deserialize`).
    SettingsPanic,
}

/// The plugin's settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(from = "RawConfig")]
pub struct Config {
    /// What to do wrong.
    pub fault: Fault,
    /// How long `sleep` sleeps.
    pub sleep_ms: Option<u64>,
}

/// The settings as written; reading them into a [`Config`] is where
/// `settings-panic` panics.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
struct RawConfig {
    fault: Fault,
    sleep_ms: Option<u64>,
}

impl From<RawConfig> for Config {
    fn from(raw: RawConfig) -> Config {
        if raw.fault == Fault::SettingsPanic {
            panic!("the faults plugin was asked to panic while reading its settings");
        }
        Config {
            fault: raw.fault,
            sleep_ms: raw.sleep_ms,
        }
    }
}

/// Its section when it answers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Output {
    /// The fault it was asked for.
    pub fault: Fault,
    /// The target's host, to show the request arrived.
    pub host: String,
    /// Filler, for `huge-output`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub filler: String,
}

/// The manifest; the ABI version comes from `SONDE_FAULTS_ABI` when set.
pub fn manifest() -> Manifest {
    let mut m = Manifest::new(
        "faults",
        env!("CARGO_PKG_VERSION"),
        "Misbehaves on purpose, as its settings say",
    )
    .timeout(std::time::Duration::from_secs(5))
    .config_schema(json!({
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "fault": {"enum": ["none", "panic", "abort", "segfault", "loop", "sleep",
                               "invalid-json", "huge-output", "exit", "stdout-noise",
                               "settings-panic"]},
            "sleep-ms": {"type": "integer", "minimum": 0}
        }
    }))
    .output_schema(json!({
        "type": "object",
        "required": ["fault", "host"],
        "properties": {"fault": {"type": "string"}, "host": {"type": "string"}, "filler": {"type": "string"}}
    }));
    if let Some((major, minor)) = std::env::var("SONDE_FAULTS_ABI")
        .ok()
        .and_then(|v| v.split_once('.').map(|(a, b)| (a.parse(), b.parse())))
        .and_then(|(a, b)| Some((a.ok()?, b.ok()?)))
    {
        m.abi = AbiVersion { major, minor };
    }
    m
}

/// Does what the settings say.
pub fn collect(input: &Input<Config>) -> Result<Output, Failure> {
    let fault = input.config.fault;
    match fault {
        Fault::Panic => panic!("the faults plugin was asked to panic"),
        Fault::Abort => std::process::abort(),
        Fault::Segfault => {
            // A Rust host's stack-overflow handler takes the first SIGSEGV
            // and restores the default action; the second one kills, as a
            // real invalid access would.
            let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGSEGV);
            let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGSEGV);
        }
        Fault::Loop => loop {
            std::hint::spin_loop();
        },
        Fault::Sleep => std::thread::sleep(std::time::Duration::from_millis(
            input.config.sleep_ms.unwrap_or(60_000),
        )),
        Fault::Exit => std::process::exit(3),
        Fault::StdoutNoise => println!("this line must not reach sonde's answer"),
        Fault::None | Fault::InvalidJson | Fault::HugeOutput | Fault::SettingsPanic => {}
    }
    input.warn(format!(
        "fault `{}` injected",
        serde_json::to_value(fault)
            .unwrap_or_default()
            .as_str()
            .unwrap_or("?")
    ));
    Ok(Output {
        fault,
        host: input.target.host.clone(),
        filler: if fault == Fault::HugeOutput {
            "x".repeat(20 * 1024 * 1024)
        } else {
            String::new()
        },
    })
}

fn into_c(text: String) -> *mut c_char {
    CString::new(text).map_or(std::ptr::null_mut(), CString::into_raw)
}

extern "C" fn describe() -> *mut c_char {
    sonde_plugin_sdk::describe(manifest)
}

/// `run`, with the invalid-JSON fault answered before the SDK sees it.
///
/// # Safety
/// `request` is a NUL-terminated string that lives for the call (the ABI).
#[allow(unsafe_code)]
unsafe extern "C" fn run(request: *const c_char) -> *mut c_char {
    if request.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: non-null, NUL-terminated and live for the call per the ABI.
    let text = unsafe { CStr::from_ptr(request) }.to_string_lossy();
    if text.contains("\"invalid-json\"") {
        return into_c("{\"status\": \"ok\", \"section\": {\"fault\": ".into());
    }
    let response = answer(&text, collect, None::<fn(&Output) -> View>);
    into_c(serde_json::to_string(&response).unwrap_or_default())
}

static ENTRY: Entry = Entry::new(describe, run);

/// The plugin's entry table.
// SAFETY: the one symbol the ABI names, exported once by this library.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn sonde_plugin_entry() -> *const Entry {
    &ENTRY
}
