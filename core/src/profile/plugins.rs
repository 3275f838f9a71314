//! The `[plugins]` table: third-party collectors a profile loads, by name.
//!
//! ```toml
//! [plugins.http]
//! path = "plugins/libsonde_plugin_http.so"   # relative to this file
//! isolation = "process"                      # or "none" (in-process, trusted)
//! kind = "library"                           # or "executable"; guessed when absent
//! ```
//!
//! The engine only reads the declarations; loading them is the plugin
//! host's job (the CLI does it before the profile is checked, so that the
//! plugins' `[collectors.NAME]` tables validate against their schemas).

use std::path::PathBuf;

use toml::de::DeValue;
use toml::Spanned;

use super::layer::Ctx;
use super::Loc;

/// How a plugin library runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Isolation {
    /// In a child process: a crash or hang kills only the child (default).
    #[default]
    Process,
    /// In sonde's own process: fastest, for trusted plugins only.
    None,
}

/// What a plugin file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginKind {
    /// A shared library exporting `sonde_plugin_entry`.
    Library,
    /// A program speaking the JSON protocol on stdin/stdout.
    Executable,
}

/// A plugin declared in a profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginDecl {
    /// The collector name it must have.
    pub name: String,
    /// Where it is, relative paths resolved against the profile's folder.
    pub path: PathBuf,
    /// How it runs (libraries only).
    pub isolation: Isolation,
    /// What it is, when the profile says.
    pub kind: Option<PluginKind>,
    /// Where it was declared.
    pub loc: Loc,
}

const KEYS: [&str; 3] = ["path", "isolation", "kind"];

/// Reads the `[plugins]` table of one file.
pub(crate) fn parse(cx: &mut Ctx<'_>, value: &Spanned<DeValue<'_>>) -> Vec<PluginDecl> {
    let Some(table) = value.get_ref().as_table() else {
        cx.error(
            value.span(),
            "plugins",
            "must be a table: write [plugins.NAME] sections with a `path`",
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, body) in table.iter() {
        let key = format!("plugins.{}", name.get_ref());
        let Some(body_table) = body.get_ref().as_table() else {
            let msg = format!("must be a table: write [{key}] with a `path`");
            cx.error(body.span(), &key, msg);
            continue;
        };
        let mut path = None;
        let mut isolation = Isolation::default();
        let mut isolation_span = None;
        let mut kind = None;
        let mut ok = true;
        for (k, v) in body_table.iter() {
            let full = format!("{key}.{}", k.get_ref());
            match k.get_ref().as_ref() {
                "path" => match cx.string(v, &full) {
                    Some(p) if !p.is_empty() => path = Some(p),
                    Some(_) => {
                        cx.error(v.span(), &full, "must not be empty");
                        ok = false;
                    }
                    None => ok = false,
                },
                "isolation" => match cx.string(v, &full).as_deref() {
                    Some("process") => isolation_span = Some(v.span()),
                    Some("none") => {
                        isolation = Isolation::None;
                        isolation_span = Some(v.span());
                    }
                    Some(other) => {
                        let msg = format!(
                            "`{other}` is not an isolation; write \"process\" (the default) or \"none\""
                        );
                        cx.error(v.span(), &full, msg);
                        ok = false;
                    }
                    None => ok = false,
                },
                "kind" => match cx.string(v, &full).as_deref() {
                    Some("library") => kind = Some(PluginKind::Library),
                    Some("executable") => kind = Some(PluginKind::Executable),
                    Some(other) => {
                        let msg = format!(
                            "`{other}` is not a plugin kind; write \"library\" or \"executable\""
                        );
                        cx.error(v.span(), &full, msg);
                        ok = false;
                    }
                    None => ok = false,
                },
                other => {
                    let mut msg = "unknown key".to_string();
                    if let Some(s) = crate::suggest::closest(other, KEYS) {
                        msg.push_str(&format!(" (did you mean `{s}`?)"));
                    }
                    msg.push_str(&format!("; a plugin's keys are {}", KEYS.join(", ")));
                    cx.error(k.span(), &full, msg);
                    ok = false;
                }
            }
        }
        if let (Some(PluginKind::Executable), Isolation::None, Some(span)) =
            (kind, isolation, isolation_span)
        {
            cx.error(
                span,
                &format!("{key}.isolation"),
                "an executable always runs in its own process; `isolation` applies to libraries",
            );
            ok = false;
        }
        let Some(path) = path else {
            if ok {
                let msg = "missing `path`: the plugin's library or executable";
                cx.error(name.span(), &key, msg);
            }
            continue;
        };
        if !ok {
            continue;
        }
        let path = PathBuf::from(path);
        let path = match &cx.src.dir {
            Some(dir) if path.is_relative() => dir.join(path),
            _ => path,
        };
        out.push(PluginDecl {
            name: name.get_ref().to_string(),
            path,
            isolation,
            kind,
            loc: cx.loc(name.span()),
        });
    }
    out
}
