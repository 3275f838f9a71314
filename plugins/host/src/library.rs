//! In-process plugin libraries: opening them, reading their entry table
//! and calling across the C boundary. This is the only module of the host
//! that uses `unsafe`; each use says why it is sound.
//!
//! Libraries are never unloaded: a Rust library with thread-local
//! destructors (or any library that started a thread) cannot be unloaded
//! soundly, so every opened library is kept for the life of the process,
//! once per path.

use std::collections::BTreeMap;
use std::ffi::{c_char, CStr, CString};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sonde_plugin_sdk::{AbiVersion, ENTRY_SYMBOL};

use crate::error::{CallError, LoadError};

/// The longest answer taken from a plugin, in bytes.
pub const MAX_ANSWER: usize = 16 * 1024 * 1024;

/// The fixed start of every version of the entry table: read before
/// anything else, so that a table of another version is never misread.
#[repr(C)]
struct Header {
    abi_major: u32,
    abi_minor: u32,
    size: usize,
}

/// The ABI 1.0 table (`Entry` in the SDK), with the function pointers
/// nullable so that a C plugin's NULL is caught instead of called.
#[repr(C)]
#[derive(Clone, Copy)]
struct RawEntry {
    header_major: u32,
    header_minor: u32,
    size: usize,
    describe: Option<unsafe extern "C" fn() -> *mut c_char>,
    run: Option<unsafe extern "C" fn(*const c_char) -> *mut c_char>,
    free: Option<unsafe extern "C" fn(*mut c_char)>,
}

/// A loaded plugin library and its functions.
pub struct Library {
    path: PathBuf,
    describe: unsafe extern "C" fn() -> *mut c_char,
    run: unsafe extern "C" fn(*const c_char) -> *mut c_char,
    free: unsafe extern "C" fn(*mut c_char),
}

impl std::fmt::Debug for Library {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Library").field("path", &self.path).finish()
    }
}

static LOADED: Mutex<BTreeMap<PathBuf, &'static Library>> = Mutex::new(BTreeMap::new());

fn library_error(path: &Path, message: impl Into<String>) -> LoadError {
    LoadError::Library {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

impl Library {
    /// Opens a library once per canonical path and checks its ABI version.
    /// `name` names it in errors until its manifest is read.
    pub fn open(path: &Path, name: &str) -> Result<&'static Library, LoadError> {
        let canonical = std::fs::canonicalize(path).map_err(|e| LoadError::Missing {
            path: path.to_path_buf(),
            message: format!("cannot read it: {e}"),
        })?;
        let mut loaded = LOADED.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(lib) = loaded.get(&canonical) {
            return Ok(lib);
        }
        let lib = Self::load(&canonical, name)?;
        loaded.insert(canonical, lib);
        Ok(lib)
    }

    #[allow(unsafe_code)]
    fn load(path: &Path, name: &str) -> Result<&'static Library, LoadError> {
        use libloading::os::unix::{Library as Dl, RTLD_LOCAL, RTLD_NOW};
        // SAFETY: loading a library runs its initialisers; that is the
        // trust the user gives a plugin by asking for it in-process (the
        // isolated mode does this in a child process). RTLD_NOW resolves
        // every symbol now, so a missing one is an error here rather than a
        // crash later; RTLD_LOCAL keeps its symbols out of ours.
        let dl = unsafe { Dl::open(Some(path), RTLD_NOW | RTLD_LOCAL) }
            .map_err(|e| library_error(path, format!("cannot load the library: {e}")))?;
        // Never unloaded, not even when it is refused below: its
        // initialisers have run, and they may have registered thread-local
        // destructors or started threads whose code would vanish with the
        // library (see the module documentation). Leaking the handle here,
        // before any check can return, keeps it loaded on every path.
        let dl: &'static Dl = Box::leak(Box::new(dl));
        // SAFETY: the ABI defines the symbol as `const struct sonde_plugin
        // *sonde_plugin_entry(void)`; this is that type.
        let entry_fn =
            unsafe { dl.get::<unsafe extern "C" fn() -> *const Header>(ENTRY_SYMBOL.as_bytes()) }
                .map_err(|_| {
                library_error(
                    path,
                    format!(
                    "not a sonde plugin: it exports no `{ENTRY_SYMBOL}` symbol \
                     (build it with sonde-plugin-sdk's export_collector! or include/sonde_plugin.h)"
                ),
                )
            })?;
        // SAFETY: calling the entry function takes no arguments and, per
        // the ABI, returns a pointer to a static table (or NULL).
        let header = unsafe { entry_fn() };
        if header.is_null() {
            return Err(library_error(path, "`sonde_plugin_entry` returned NULL"));
        }
        // SAFETY: every ABI version's table starts with this header, and
        // the pointer is non-null and points to a static table.
        let (major, minor, size) =
            unsafe { ((*header).abi_major, (*header).abi_minor, (*header).size) };
        let plugin = AbiVersion { major, minor };
        if !AbiVersion::CURRENT.runs(plugin) {
            return Err(LoadError::Abi {
                name: name.to_string(),
                path: path.to_path_buf(),
                plugin,
                host: AbiVersion::CURRENT,
            });
        }
        if size < std::mem::size_of::<RawEntry>() {
            return Err(library_error(
                path,
                format!(
                    "its entry table is {size} bytes, smaller than ABI {plugin} requires ({})",
                    std::mem::size_of::<RawEntry>()
                ),
            ));
        }
        // SAFETY: the table's major version is ours and it says it is at
        // least as large as the 1.0 layout, which `RawEntry` mirrors with
        // nullable function pointers; it is copied out of static memory.
        let raw = unsafe { *header.cast::<RawEntry>() };
        let (Some(describe), Some(run), Some(free)) = (raw.describe, raw.run, raw.free) else {
            return Err(library_error(
                path,
                "its entry table has a NULL function (describe, run and free are all required)",
            ));
        };
        Ok(Box::leak(Box::new(Library {
            path: path.to_path_buf(),
            describe,
            run,
            free,
        })))
    }

    /// Calls `describe`: the manifest's JSON text.
    #[allow(unsafe_code)]
    pub fn describe(&self) -> Result<String, CallError> {
        // SAFETY: `describe` comes from a table whose version was checked;
        // it takes nothing and returns a string the plugin allocated.
        let text = unsafe { (self.describe)() };
        self.take(text, "describe")
    }

    /// Calls `run` with a request's JSON text: the response's JSON text.
    #[allow(unsafe_code)]
    pub fn run(&self, request: &str) -> Result<String, CallError> {
        let request = CString::new(request)
            .map_err(|_| CallError::Failed("the request holds a NUL byte".into()))?;
        // SAFETY: the request is NUL-terminated and outlives the call; the
        // answer is a string the plugin allocated (or NULL).
        let text = unsafe { (self.run)(request.as_ptr()) };
        self.take(text, "run")
    }

    /// Copies a string the plugin returned (bounded) and gives it back to
    /// the plugin's `free`.
    #[allow(unsafe_code)]
    fn take(&self, text: *mut c_char, call: &str) -> Result<String, CallError> {
        if text.is_null() {
            return Err(CallError::Failed(format!("`{call}` returned NULL")));
        }
        // SAFETY: non-null, and per the ABI a NUL-terminated string the
        // plugin allocated, valid until it is freed just below.
        let copied = {
            let c = unsafe { CStr::from_ptr(text) };
            if c.count_bytes() > MAX_ANSWER {
                Err(CallError::Failed(format!(
                    "its answer to `{call}` is {} bytes, more than the {} MiB sonde accepts",
                    c.count_bytes(),
                    MAX_ANSWER / (1024 * 1024)
                )))
            } else {
                c.to_str().map(str::to_owned).map_err(|e| {
                    CallError::Failed(format!("its answer to `{call}` is not UTF-8: {e}"))
                })
            }
        };
        // SAFETY: the string came from this plugin and is freed once, by
        // the plugin's own `free`, after the last read above.
        unsafe { (self.free)(text) };
        copied
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Compiles the C `code` (after `#include "sonde_plugin.h"`) into a
    /// library `lib{name}.so` in a fresh folder.
    pub(crate) fn c_library(name: &str, code: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("sonde-host-lib-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let source = dir.join(format!("{name}.c"));
        std::fs::write(&source, format!("#include \"sonde_plugin.h\"\n{code}\n")).expect("source");
        let out = dir.join(format!("lib{name}.so"));
        let include = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sdk/include");
        let status = std::process::Command::new("cc")
            .args(["-shared", "-fPIC", "-I"])
            .arg(include)
            .arg("-o")
            .arg(&out)
            .arg(&source)
            .status()
            .expect("the system C compiler (cc) runs");
        assert!(status.success(), "cc failed");
        out
    }

    /// A library whose entry table is `table` (an initialiser of `struct
    /// sonde_plugin`).
    fn with_table(name: &str, table: &str) -> PathBuf {
        c_library(
            name,
            &format!(
                "static const struct sonde_plugin table = {table};\n\
                 const struct sonde_plugin *sonde_plugin_entry(void) {{ return &table; }}"
            ),
        )
    }

    /// Whether the library at `path` is mapped into this process.
    fn mapped(path: &Path) -> bool {
        let canonical = std::fs::canonicalize(path).expect("canonical");
        std::fs::read_to_string("/proc/self/maps")
            .expect("maps")
            .contains(&canonical.display().to_string())
    }

    #[test]
    fn refused_libraries_stay_loaded() {
        let cases = [
            (
                "newabi",
                "{ 2, 0, sizeof(struct sonde_plugin), 0, 0, 0 }",
                "ABI 2.0",
            ),
            (
                "nullfns",
                "{ 1, 0, sizeof(struct sonde_plugin), 0, 0, 0 }",
                "has a NULL function",
            ),
            (
                "small",
                "{ 1, 0, 8, 0, 0, 0 }",
                "smaller than ABI 1.0 requires",
            ),
        ];
        for (name, table, want) in cases {
            let path = with_table(name, table);
            let err = Library::open(&path, name).expect_err(name).to_string();
            assert!(err.contains(want), "{name}: {err}");
            // Its initialisers ran: unloading it now would be unsound.
            assert!(mapped(&path), "{name}: the refused library was unloaded");
        }
    }
}
