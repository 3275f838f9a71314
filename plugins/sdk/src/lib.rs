//! The SDK for sonde collector plugins.
//!
//! A plugin is a `cdylib` that exports one C symbol, `sonde_plugin_entry`,
//! returning a table of three functions: `describe` (the [`Manifest`] as
//! JSON), `run` (a [`Request`] in, a [`Response`] out, as JSON) and `free`.
//! No Rust type crosses the boundary, so a plugin built by another compiler
//! version, or written in C against `include/sonde_plugin.h`, works the
//! same. This crate has no async runtime.
//!
//! ```no_run
//! use sonde_plugin_sdk::{export_collector, Failure, Input, Manifest};
//!
//! #[derive(serde::Deserialize, Default)]
//! #[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
//! struct Config { greeting: String }
//!
//! #[derive(serde::Serialize)]
//! struct Output { message: String }
//!
//! fn manifest() -> Manifest {
//!     Manifest::new("hello", env!("CARGO_PKG_VERSION"), "Greets the target")
//! }
//!
//! fn collect(input: &Input<Config>) -> Result<Output, Failure> {
//!     Ok(Output { message: format!("{} {}", input.config.greeting, input.target.host) })
//! }
//!
//! export_collector!(manifest, collect);
//! ```
//!
//! The macro catches panics at the boundary and reports them as failures.
//! See docs/writing-a-plugin.md for the walk-through and the versioning rules.

mod ffi;
mod input;
pub mod protocol;
mod view;

pub use ffi::{answer, answer_viewed, describe, free_text, Entry, ENTRY_SYMBOL};
pub use input::{error_chain, Failure, Input};
pub use protocol::{AbiVersion, Call, Manifest, Request, Response, Status, Target};
pub use view::{Item, Tone, View};

#[doc(hidden)]
pub mod __private {
    pub use crate::ffi::{describe, run, run_viewed};
}

/// Exports a collector: `export_collector!(manifest, collect)` or
/// `export_collector!(manifest, collect, view)`, where
/// `manifest: fn() -> Manifest`, `collect: fn(&Input<Config>) ->
/// Result<Output, Failure>` and `view: fn(&Output) -> View`. With a view,
/// `Output` must also be `Deserialize`: the section a
/// [`Failure::partial`] keeps is read back as `Output` to draw it.
///
/// It defines the `sonde_plugin_entry` symbol; a library can export one
/// collector.
#[macro_export]
macro_rules! export_collector {
    ($manifest:path, $collect:path $(,)?) => {
        $crate::export_collector!(@entry $manifest, |request| {
            // SAFETY: the host passes a NUL-terminated request that lives
            // for the call, as the ABI requires.
            unsafe {
                $crate::__private::run(request, $collect,
                    ::core::option::Option::None::<fn(&_) -> $crate::View>)
            }
        });
    };
    ($manifest:path, $collect:path, $view:path $(,)?) => {
        $crate::export_collector!(@entry $manifest, |request| {
            // SAFETY: the host passes a NUL-terminated request that lives
            // for the call, as the ABI requires.
            unsafe { $crate::__private::run_viewed(request, $collect, $view) }
        });
    };
    (@entry $manifest:path, |$request:ident| $run:block) => {
        const _: () = {
            extern "C" fn __sonde_describe() -> *mut ::std::ffi::c_char {
                $crate::__private::describe($manifest)
            }

            #[allow(unsafe_code)]
            unsafe extern "C" fn __sonde_run(
                $request: *const ::std::ffi::c_char,
            ) -> *mut ::std::ffi::c_char {
                $run
            }

            static __SONDE_ENTRY: $crate::Entry =
                $crate::Entry::new(__sonde_describe, __sonde_run);

            /// The plugin's entry table.
            // SAFETY: the one symbol the ABI names; a library exports it once.
            #[allow(unsafe_code)]
            #[no_mangle]
            pub extern "C" fn sonde_plugin_entry() -> *const $crate::Entry {
                &__SONDE_ENTRY
            }
        };
    };
}
