//! One profile file, parsed with positions so that every problem names its
//! file, line and key.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use toml::de::{DeTable, DeValue, ValueDeserializer};
use toml::Spanned;

use super::source::Source;
use super::{Loc, ProfileError};
use crate::collector::Settings;
use crate::registry::Registry;

const TOP_KEYS: [&str; 7] = [
    "name",
    "description",
    "extends",
    "timeout",
    "critical",
    "collectors",
    "plugins",
];

/// A name written in a profile, with where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    /// The name.
    pub name: String,
    /// Where it was written.
    pub loc: Loc,
}

/// One collector's table in one file.
#[derive(Debug, Clone, Default)]
pub(crate) struct LayerEntry {
    pub loc: Loc,
    pub enabled: Option<bool>,
    pub timeout: Option<Duration>,
    pub needs: Vec<Named>,
    pub after: Vec<Named>,
    pub settings: toml::Table,
    /// The settings did not validate; the error is already reported.
    pub invalid: bool,
}

/// One profile file.
#[derive(Debug, Clone, Default)]
pub(crate) struct Layer {
    pub name: Option<String>,
    pub description: Option<String>,
    pub extends: Option<Named>,
    pub timeout: Option<Duration>,
    pub critical: Option<Vec<Named>>,
    pub collectors: BTreeMap<String, LayerEntry>,
    pub plugins: Vec<super::PluginDecl>,
}

pub(crate) struct Ctx<'a> {
    pub src: &'a Source,
    errors: &'a mut Vec<ProfileError>,
}

impl Ctx<'_> {
    pub(crate) fn loc(&self, span: std::ops::Range<usize>) -> Loc {
        Loc {
            origin: self.src.origin.clone(),
            line: Some(line_of(&self.src.text, span.start)),
        }
    }

    pub(crate) fn error(
        &mut self,
        span: std::ops::Range<usize>,
        key: &str,
        message: impl Into<String>,
    ) {
        let loc = self.loc(span);
        self.errors.push(ProfileError::new(loc, key, message));
    }

    pub(crate) fn string(&mut self, v: &Spanned<DeValue<'_>>, key: &str) -> Option<String> {
        match v.get_ref().as_str() {
            Some(s) => Some(s.to_string()),
            None => {
                let msg = format!("must be a string, not {}", v.get_ref().type_str());
                self.error(v.span(), key, msg);
                None
            }
        }
    }

    fn duration(&mut self, v: &Spanned<DeValue<'_>>, key: &str) -> Option<Duration> {
        let text = self.string(v, key)?;
        match crate::duration::parse(&text) {
            Ok(d) => Some(d),
            Err(msg) => {
                self.error(v.span(), key, msg);
                None
            }
        }
    }

    fn names(&mut self, v: &Spanned<DeValue<'_>>, key: &str) -> Option<Vec<Named>> {
        let Some(items) = v.get_ref().as_array() else {
            let msg = format!(
                "must be a list of collector names, not {}",
                v.get_ref().type_str()
            );
            self.error(v.span(), key, msg);
            return None;
        };
        let mut out = Vec::new();
        for item in items.iter() {
            if let Some(name) = self.string(item, key) {
                out.push(Named {
                    name,
                    loc: self.loc(item.span()),
                });
            }
        }
        Some(out)
    }
}

/// The 1-based line of a byte offset.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// Parses one file. Problems go to `errors`; what could be read is returned.
pub(crate) fn parse(src: &Source, registry: &Registry, errors: &mut Vec<ProfileError>) -> Layer {
    let mut layer = Layer::default();
    let root = match DeTable::parse(&src.text) {
        Ok(root) => root,
        Err(e) => {
            let line = e.span().map(|s| line_of(&src.text, s.start));
            errors.push(ProfileError::new(
                Loc {
                    origin: src.origin.clone(),
                    line,
                },
                "",
                format!("not valid TOML: {}", e.message().trim()),
            ));
            return layer;
        }
    };
    let mut cx = Ctx { src, errors };
    for (key, value) in root.get_ref().iter() {
        let k = key.get_ref().as_ref();
        match k {
            "name" => layer.name = cx.string(value, k),
            "description" => layer.description = cx.string(value, k),
            "extends" => {
                layer.extends = cx.string(value, k).map(|name| Named {
                    name,
                    loc: cx.loc(value.span()),
                })
            }
            "timeout" => layer.timeout = cx.duration(value, k),
            "critical" => layer.critical = cx.names(value, k),
            "plugins" => layer.plugins = super::plugins::parse(&mut cx, value),
            "collectors" => match value.get_ref().as_table() {
                Some(table) => {
                    for (name, body) in table.iter() {
                        if let Some(entry) = collector_entry(&mut cx, registry, name, body) {
                            layer.collectors.insert(name.get_ref().to_string(), entry);
                        }
                    }
                }
                None => cx.error(
                    value.span(),
                    k,
                    "must be a table: write [collectors.NAME] sections",
                ),
            },
            other => {
                let mut msg = "unknown key".to_string();
                if let Some(s) = crate::suggest::closest(other, TOP_KEYS) {
                    msg.push_str(&format!(" (did you mean `{s}`?)"));
                }
                msg.push_str(&format!("; a profile's keys are {}", TOP_KEYS.join(", ")));
                cx.error(key.span(), other, msg);
            }
        }
    }
    layer
}

fn collector_entry(
    cx: &mut Ctx<'_>,
    registry: &Registry,
    name: &Spanned<std::borrow::Cow<'_, str>>,
    body: &Spanned<DeValue<'_>>,
) -> Option<LayerEntry> {
    let key = format!("collectors.{}", name.get_ref());
    let Some(table) = body.get_ref().as_table() else {
        let msg = format!("must be a table: write [{key}]");
        cx.error(body.span(), &key, msg);
        return None;
    };
    let mut entry = LayerEntry {
        loc: cx.loc(name.span()),
        ..LayerEntry::default()
    };
    let mut settings = DeTable::new();
    for (k, v) in table.iter() {
        let full = format!("{key}.{}", k.get_ref());
        match k.get_ref().as_ref() {
            "enabled" => match v.get_ref().as_bool() {
                Some(b) => entry.enabled = Some(b),
                None => cx.error(v.span(), &full, "must be true or false"),
            },
            "timeout" => entry.timeout = cx.duration(v, &full),
            "needs" => entry.needs = cx.names(v, &full).unwrap_or_default(),
            "after" => entry.after = cx.names(v, &full).unwrap_or_default(),
            _ => {
                settings.insert(k.clone(), v.clone());
            }
        }
    }
    let Some(collector) = registry.get(name.get_ref()) else {
        // Unknown collectors are reported once the whole profile is merged,
        // so that the message can list what exists.
        entry.settings = plain(settings, body.span());
        return Some(entry);
    };
    let spanned = || Spanned::new(body.span(), DeValue::Table(settings.clone()));
    if let Err(e) = collector.configure(Settings::Spanned(ValueDeserializer::from(spanned()))) {
        entry.invalid = true;
        let (span, setting, message) = locate(&settings, e);
        let full = setting.map_or_else(|| key.clone(), |k| format!("{key}.{k}"));
        cx.error(span.unwrap_or(name.span()), &full, message);
    }
    entry.settings = plain(settings, body.span());
    Some(entry)
}

/// Which setting an error of a collector's `configure` is about, and where
/// it was written: the setting whose key or value holds the error's position
/// (serde's errors), or else the setting the message starts with (`check`'s
/// errors, which name their key as `key: why`).
fn locate(
    settings: &DeTable<'_>,
    e: crate::collector::SettingsError,
) -> (Option<std::ops::Range<usize>>, Option<String>, String) {
    if let Some(span) = e.span {
        let holder = settings
            .iter()
            .find(|(k, v)| k.span().contains(&span.start) || v.span().contains(&span.start));
        let setting = holder.map(|(k, _)| k.get_ref().to_string());
        return (Some(span), setting, e.message);
    }
    let named = e.message.split_once(": ").and_then(|(head, rest)| {
        settings
            .iter()
            .find(|(k, _)| k.get_ref().as_ref() == head)
            .map(|(k, v)| (v.span(), k.get_ref().to_string(), rest.to_string()))
    });
    match named {
        Some((span, setting, message)) => (Some(span), Some(setting), message),
        None => (None, None, e.message),
    }
}

/// The settings without positions, for merging across `extends`.
fn plain(settings: DeTable<'_>, span: std::ops::Range<usize>) -> toml::Table {
    let de = ValueDeserializer::from(Spanned::new(span, DeValue::Table(settings)));
    match toml::Value::deserialize(de) {
        Ok(toml::Value::Table(t)) => t,
        _ => toml::Table::new(),
    }
}
