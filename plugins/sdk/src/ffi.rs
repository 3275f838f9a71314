//! The C entry table and the glue the [`export_collector!`](crate::export_collector)
//! macro expands to. Only NUL-terminated UTF-8 JSON crosses the boundary;
//! every string the plugin returns is freed by the plugin's own `free`.

use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::input::{Failure, Input};
use crate::protocol::{DescribeError, Manifest, Request, Response, Status};
use crate::view::View;

/// The name of the one symbol a plugin library exports: a function taking
/// nothing and returning a pointer to its [`Entry`].
pub const ENTRY_SYMBOL: &str = "sonde_plugin_entry";

/// The table a plugin library hands the host (`struct sonde_plugin` in
/// `include/sonde_plugin.h`). The host reads `abi_major`, `abi_minor` and
/// `size` before anything else; later minor versions only append fields,
/// which a host finds through `size`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    /// Major ABI version the plugin was built for.
    pub abi_major: u32,
    /// Minor ABI version the plugin was built for.
    pub abi_minor: u32,
    /// `sizeof` this table as the plugin knows it.
    pub size: usize,
    /// Returns the manifest as JSON (or `{"error": "..."}`).
    pub describe: unsafe extern "C" fn() -> *mut c_char,
    /// Takes a request as JSON, returns the response as JSON.
    pub run: unsafe extern "C" fn(request: *const c_char) -> *mut c_char,
    /// Frees a string returned by `describe` or `run`.
    pub free: unsafe extern "C" fn(text: *mut c_char),
}

impl Entry {
    /// The table for this SDK's ABI version, freeing with [`free_text`].
    pub const fn new(
        describe: unsafe extern "C" fn() -> *mut c_char,
        run: unsafe extern "C" fn(*const c_char) -> *mut c_char,
    ) -> Self {
        Entry {
            abi_major: crate::protocol::ABI_MAJOR,
            abi_minor: crate::protocol::ABI_MINOR,
            size: std::mem::size_of::<Entry>(),
            describe,
            run,
            free: free_text,
        }
    }
}

/// Frees a string made by this SDK.
///
/// # Safety
/// `text` must be null or a pointer returned by this SDK's `describe` or
/// `run` glue that was not freed yet.
#[allow(unsafe_code)]
pub unsafe extern "C" fn free_text(text: *mut c_char) {
    if !text.is_null() {
        // SAFETY: per the contract, `text` came from `CString::into_raw` in
        // `into_c` below and is freed once.
        drop(unsafe { CString::from_raw(text) });
    }
}

/// Hands a string to C. JSON escapes NUL, so the fallback never happens for
/// what this module writes; it keeps the function total.
fn into_c(text: String) -> *mut c_char {
    CString::new(text)
        .unwrap_or_else(|_| c"{\"error\":\"the plugin wrote a NUL byte\"}".to_owned())
        .into_raw()
}

thread_local! {
    /// Set while a plugin function runs on this thread: its panics are
    /// reported in the answer, not printed.
    static IN_CALL: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// Where the last panic in a call happened.
    static PANIC_AT: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Installs, once, a panic hook that keeps quiet about panics inside a
/// plugin call (they become the answer, with their location) and leaves
/// every other panic to the hook that was there before.
fn quiet_panics_in_calls() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if IN_CALL.with(std::cell::Cell::get) {
                let at = info.location().map(|l| l.to_string());
                PANIC_AT.with(|p| *p.borrow_mut() = at);
            } else {
                previous(info);
            }
        }));
    });
}

/// Runs `f` with its panics caught and described.
fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    quiet_panics_in_calls();
    IN_CALL.with(|c| c.set(true));
    let result = catch_unwind(AssertUnwindSafe(f));
    IN_CALL.with(|c| c.set(false));
    result.map_err(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned());
        let at = PANIC_AT.with(|p| p.borrow_mut().take());
        match (at, message) {
            (Some(at), Some(m)) => format!("panicked at {at}: {m}"),
            (Some(at), None) => format!("panicked at {at}"),
            (None, Some(m)) => format!("panicked: {m}"),
            (None, None) => "panicked".to_string(),
        }
    })
}

/// `describe` for the macro: the manifest as JSON, a panic as an error.
pub fn describe(manifest: fn() -> Manifest) -> *mut c_char {
    let text = match guarded(manifest) {
        Ok(m) => serde_json::to_string(&m),
        Err(error) => serde_json::to_string(&DescribeError { error }),
    };
    into_c(text.unwrap_or_else(|e| format!("{{\"error\":\"cannot write the manifest: {e}\"}}")))
}

/// `run` for the macro's form without a view.
///
/// # Safety
/// `request` must be null or point to a NUL-terminated string that stays
/// valid for the call.
#[allow(unsafe_code)]
pub unsafe fn run<C, O, F, V>(request: *const c_char, collect: F, view: Option<V>) -> *mut c_char
where
    C: DeserializeOwned,
    O: Serialize,
    F: Fn(&Input<C>) -> Result<O, Failure>,
    V: Fn(&O) -> View,
{
    // SAFETY: passed on under the same contract.
    unsafe { reply(request, |text| answer(text, collect, view)) }
}

/// `run` for the macro's form with a view: failed answers that keep a
/// section get their view too.
///
/// # Safety
/// `request` must be null or point to a NUL-terminated string that stays
/// valid for the call.
#[allow(unsafe_code)]
pub unsafe fn run_viewed<C, O, F, V>(request: *const c_char, collect: F, view: V) -> *mut c_char
where
    C: DeserializeOwned,
    O: Serialize + DeserializeOwned,
    F: Fn(&Input<C>) -> Result<O, Failure>,
    V: Fn(&O) -> View,
{
    // SAFETY: passed on under the same contract.
    unsafe { reply(request, |text| answer_viewed(text, collect, view)) }
}

/// Reads the request's text, answers it with `answer` and hands the JSON
/// response to C.
///
/// # Safety
/// `request` must be null or point to a NUL-terminated string that stays
/// valid for the call.
#[allow(unsafe_code)]
unsafe fn reply(request: *const c_char, answer: impl FnOnce(&str) -> Response) -> *mut c_char {
    let response = if request.is_null() {
        Response::failed("the host passed no request")
    } else {
        // SAFETY: non-null, and NUL-terminated and live per the contract.
        let text = unsafe { CStr::from_ptr(request) };
        match text.to_str() {
            Ok(text) => answer(text),
            Err(e) => Response::failed(format!("the request is not UTF-8: {e}")),
        }
    };
    into_c(serde_json::to_string(&response).unwrap_or_else(|e| {
        format!("{{\"status\":\"failed\",\"error\":\"cannot write the response: {e}\"}}")
    }))
}

/// Parses a request, calls the plugin's function with panics caught, and
/// builds the response; `view` draws a successful section. Public for
/// executables written in Rust and for tests; the C glue above calls it.
/// [`answer_viewed`] also draws the section a failure keeps.
pub fn answer<C, O, F, V>(request: &str, collect: F, view: Option<V>) -> Response
where
    C: DeserializeOwned,
    O: Serialize,
    F: Fn(&Input<C>) -> Result<O, Failure>,
    V: Fn(&O) -> View,
{
    respond(
        request,
        collect,
        |output: &O| view.as_ref().map(|v| v(output)),
        |_: &serde_json::Value| None,
    )
}

/// [`answer`] with a view that also draws the section a failure keeps
/// ([`Failure::partial`]): that section is read back as `O` for it.
pub fn answer_viewed<C, O, F, V>(request: &str, collect: F, view: V) -> Response
where
    C: DeserializeOwned,
    O: Serialize + DeserializeOwned,
    F: Fn(&Input<C>) -> Result<O, Failure>,
    V: Fn(&O) -> View,
{
    respond(
        request,
        collect,
        |output: &O| Some(view(output)),
        |section: &serde_json::Value| O::deserialize(section).ok().map(|output| view(&output)),
    )
}

/// What [`answer`] and [`answer_viewed`] share: `view_ok` draws a section
/// of type `O`, `view_kept` the section of a failure, as JSON.
fn respond<C, O, F>(
    request: &str,
    collect: F,
    view_ok: impl Fn(&O) -> Option<View>,
    view_kept: impl Fn(&serde_json::Value) -> Option<View>,
) -> Response
where
    C: DeserializeOwned,
    O: Serialize,
    F: Fn(&Input<C>) -> Result<O, Failure>,
{
    let request: Request = match serde_json::from_str(request) {
        Ok(r) => r,
        Err(e) => return Response::failed(format!("the request is not valid: {e}")),
    };
    // The plugin's own Deserialize runs here: a panic in it is the
    // plugin's, caught like one in its function.
    let config = match guarded(|| C::deserialize(serde_json::Value::Object(request.config))) {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => return Response::failed(format!("invalid settings: {e}")),
        Err(panic) => {
            return Response::crashed(format!("reading its settings {panic}"));
        }
    };
    let input = Input::new(request.target, config, request.inputs, request.deadline_ms);
    let outcome = guarded(|| {
        let result = collect(&input);
        let view = match &result {
            Ok(output) => view_ok(output),
            Err(Failure::Partial { section, .. }) => view_kept(section),
            Err(_) => None,
        };
        (
            result.map(|o| serde_json::to_value(&o)),
            view.and_then(|v| serde_json::to_value(v).ok()),
        )
    });
    let warnings = input.take_warnings();
    let mut response = match outcome {
        Err(error) => Response::crashed(error),
        Ok((Ok(Ok(section)), view)) => Response {
            status: Status::Ok,
            section: Some(section),
            error: None,
            reason: None,
            warnings: Vec::new(),
            view,
        },
        Ok((Ok(Err(e)), _)) => Response::failed(format!("the output cannot be written: {e}")),
        Ok((Err(Failure::Failed(error)), _)) => Response::failed(error),
        Ok((Err(Failure::Skipped(reason)), _)) => Response {
            status: Status::Skipped,
            section: None,
            error: None,
            reason: Some(reason),
            warnings: Vec::new(),
            view: None,
        },
        Ok((Err(Failure::Partial { error, section }), view)) => Response {
            section: Some(section),
            view,
            ..Response::failed(error)
        },
    };
    response.warnings = warnings;
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{AbiVersion, Target};

    #[derive(serde::Deserialize, Default)]
    #[serde(default, deny_unknown_fields)]
    struct Config {
        mode: String,
    }

    fn collect(input: &Input<Config>) -> Result<serde_json::Value, Failure> {
        input.warn("looked");
        match input.config.mode.as_str() {
            "panic" => panic!("boom"),
            "skip" => Err(Failure::skipped("nothing to do")),
            "partial" => Err(Failure::partial("half", &serde_json::json!({"half": true}))),
            "fail" => Err(Failure::failed("no")),
            _ => {
                Ok(serde_json::json!({"host": input.target.host, "dns": input.section_json("dns")}))
            }
        }
    }

    fn request(config: serde_json::Value) -> String {
        let r = Request {
            abi: AbiVersion::CURRENT,
            target: Target {
                input: "example.com".into(),
                host: "example.com".into(),
                kind: "name".into(),
                scheme: None,
                port: None,
            },
            config: config.as_object().cloned().unwrap_or_default(),
            inputs: serde_json::json!({"dns": {"addresses": []}})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            deadline_ms: 1000,
        };
        serde_json::to_string(&r).unwrap_or_default()
    }

    fn call(config: serde_json::Value) -> Response {
        answer(
            &request(config),
            collect,
            None::<fn(&serde_json::Value) -> View>,
        )
    }

    #[test]
    fn every_ending_becomes_a_response() {
        let ok = call(serde_json::json!({}));
        assert_eq!(ok.status, Status::Ok);
        assert_eq!(
            ok.section,
            Some(serde_json::json!({"host": "example.com", "dns": {"addresses": []}}))
        );
        assert_eq!(ok.warnings, ["looked"]);
        let panicked = call(serde_json::json!({"mode": "panic"}));
        assert_eq!(panicked.status, Status::Crashed);
        let error = panicked.error.unwrap_or_default();
        assert!(
            error.starts_with("panicked at plugins/sdk/src/ffi.rs:") && error.ends_with(": boom"),
            "{error}"
        );
        assert_eq!(panicked.warnings, ["looked"]);
        let skipped = call(serde_json::json!({"mode": "skip"}));
        assert_eq!(
            (skipped.status, skipped.reason.as_deref()),
            (Status::Skipped, Some("nothing to do"))
        );
        let partial = call(serde_json::json!({"mode": "partial"}));
        assert_eq!(partial.status, Status::Failed);
        assert_eq!(partial.section, Some(serde_json::json!({"half": true})));
        let failed = call(serde_json::json!({"mode": "fail"}));
        assert_eq!(
            (failed.status, failed.error.as_deref()),
            (Status::Failed, Some("no"))
        );
        let bad = call(serde_json::json!({"mood": 1}));
        assert!(bad
            .error
            .unwrap_or_default()
            .starts_with("invalid settings: unknown field `mood`"));
        for garbage in ["", "{", "[1]", "{\"abi\":{}}"] {
            let r = answer(garbage, collect, None::<fn(&serde_json::Value) -> View>);
            assert_eq!(r.status, Status::Failed, "{garbage}");
            assert!(r
                .error
                .unwrap_or_default()
                .starts_with("the request is not valid"));
        }
    }

    #[test]
    fn the_c_glue_round_trips_and_frees() {
        let text = CString::new(request(serde_json::json!({}))).unwrap_or_default();
        #[allow(unsafe_code)]
        // SAFETY: a live NUL-terminated request; the answer is freed once.
        let answer = unsafe {
            let out = run(
                text.as_ptr(),
                collect,
                None::<fn(&serde_json::Value) -> View>,
            );
            let copied = CStr::from_ptr(out).to_string_lossy().into_owned();
            free_text(out);
            copied
        };
        let r: Response = serde_json::from_str(&answer).unwrap_or_else(|_| Response::failed("x"));
        assert_eq!(r.status, Status::Ok);
        #[allow(unsafe_code)]
        // SAFETY: null is allowed by the contract.
        let null = unsafe {
            run(
                std::ptr::null(),
                collect,
                None::<fn(&serde_json::Value) -> View>,
            )
        };
        #[allow(unsafe_code)]
        // SAFETY: as above.
        let text = unsafe { CStr::from_ptr(null).to_string_lossy().into_owned() };
        assert!(text.contains("the host passed no request"));
        #[allow(unsafe_code)]
        // SAFETY: returned by `run`, freed once.
        unsafe {
            free_text(null)
        };
    }

    /// Settings whose `Deserialize` panics.
    struct Explosive;

    impl<'de> serde::Deserialize<'de> for Explosive {
        fn deserialize<D: serde::Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
            panic!("settings exploded");
        }
    }

    fn never_called(_: &Input<Explosive>) -> Result<serde_json::Value, Failure> {
        Ok(serde_json::json!({}))
    }

    #[test]
    fn a_panic_reading_the_settings_is_an_answer() {
        let text = CString::new(request(serde_json::json!({}))).unwrap_or_default();
        #[allow(unsafe_code)]
        // SAFETY: a live NUL-terminated request; the answer is freed once.
        let answer = unsafe {
            let out = run(
                text.as_ptr(),
                never_called,
                None::<fn(&serde_json::Value) -> View>,
            );
            let copied = CStr::from_ptr(out).to_string_lossy().into_owned();
            free_text(out);
            copied
        };
        let r: Response = serde_json::from_str(&answer).unwrap_or_else(|_| Response::failed("x"));
        assert_eq!(r.status, Status::Crashed, "{answer}");
        let error = r.error.unwrap_or_default();
        assert!(
            error.starts_with("reading its settings panicked at plugins/sdk/src/ffi.rs:")
                && error.ends_with(": settings exploded"),
            "{error}"
        );
    }

    fn draw(output: &serde_json::Value) -> View {
        View::from_json(&serde_json::json!({"drawn": output}))
    }

    #[test]
    fn a_kept_section_has_its_view() {
        let viewed =
            |mode: &str| answer_viewed(&request(serde_json::json!({"mode": mode})), collect, draw);
        let partial = viewed("partial");
        assert_eq!(partial.status, Status::Failed);
        let want = serde_json::to_value(draw(&serde_json::json!({"half": true}))).ok();
        assert!(want.is_some());
        assert_eq!(partial.view, want);
        let ok = viewed("");
        assert_eq!(ok.status, Status::Ok);
        assert!(ok.view.is_some());
        assert_eq!(viewed("fail").view, None);
        // Without a view function, none.
        assert_eq!(call(serde_json::json!({"mode": "partial"})).view, None);
    }
}
