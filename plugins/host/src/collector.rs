//! A plugin as the engine sees it: a [`Collector`] whose settings and
//! section are JSON checked against the plugin's schemas.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value};
use sonde_core::{
    Collector, Config, Context, Failure, Host, Origin, Section, Settings, SettingsError, Spec, View,
};
use sonde_plugin_sdk::{AbiVersion, Call, Manifest, Request, Response, Status, Target};

use crate::error::CallError;
use crate::plugin::{preview, Plugin, Runner};
use crate::schema;

/// How long after its deadline a plugin is given up on when nothing else
/// stops it (the scheduler normally ends the node at the deadline itself).
const DEADLINE_MARGIN: Duration = Duration::from_secs(1);

/// A loaded plugin, ready for the registry.
pub struct PluginCollector {
    spec: Spec,
    manifest: Manifest,
    runner: Arc<Runner>,
    /// The view the plugin sent with its last section, for drawing it.
    last_view: Mutex<Option<(Value, View)>>,
}

impl PluginCollector {
    /// Wraps a plugin. `known` tells which collector names exist: `after`
    /// names that do not are dropped (ordering after a collector that is
    /// not installed means nothing), while `needs` are kept so the plan
    /// reports a missing one.
    pub fn new(plugin: &Plugin, known: impl Fn(&str) -> bool) -> Self {
        let m = &plugin.manifest;
        let mut spec = Spec::new(&m.name, &m.summary)
            .needs(m.needs.iter().cloned())
            .after(m.after.iter().filter(|n| known(n)).cloned())
            .timeout(Duration::from_millis(m.timeout_ms));
        spec.raw_sockets = m.raw_sockets;
        spec.on_request = m.on_request;
        spec.origin = Origin::Plugin {
            path: plugin.path.display().to_string(),
            version: m.version.clone(),
        };
        PluginCollector {
            spec,
            manifest: m.clone(),
            runner: Arc::clone(&plugin.runner),
            last_view: Mutex::new(None),
        }
    }

    /// The plugin's manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }
    /// Keeps the view a plugin sent with `section`, if it sent a valid one.
    fn keep_view(&self, section: &Value, view: Option<Value>) {
        if let Some(view) = view.and_then(|v| serde_json::from_value::<View>(v).ok()) {
            let mut last = self.last_view.lock().unwrap_or_else(|p| p.into_inner());
            *last = Some((section.clone(), view));
        }
    }
}

/// TOML settings as JSON (dates become strings).
fn to_json(value: toml::Value) -> Value {
    match value {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::from(i),
        toml::Value::Float(f) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(a) => Value::Array(a.into_iter().map(to_json).collect()),
        toml::Value::Table(t) => {
            Value::Object(t.into_iter().map(|(k, v)| (k, to_json(v))).collect())
        }
    }
}

fn target_of(ctx: &Context) -> Target {
    let t = ctx.target();
    Target {
        input: t.input.clone(),
        host: t.host.to_string(),
        kind: match t.host {
            Host::Name(_) => "name",
            Host::Ipv4(_) => "ipv4",
            Host::Ipv6(_) => "ipv6",
        }
        .to_string(),
        scheme: t.scheme.clone(),
        port: t.port,
    }
}

/// What an answer's text means for the node.
fn response_of(text: &str) -> Result<Response, Failure> {
    serde_json::from_str(text).map_err(|e| {
        Failure::failed(format!(
            "it answered with invalid JSON ({e}); the answer began: {}",
            preview(text)
        ))
    })
}

#[async_trait::async_trait]
impl Collector for PluginCollector {
    fn spec(&self) -> &Spec {
        &self.spec
    }

    fn configure(&self, settings: Settings<'_>) -> Result<Config, SettingsError> {
        // Keys keep their positions when the profile file gave them, so an
        // error names the key's line.
        let (table, spans): (Map<String, Value>, BTreeMap<String, std::ops::Range<usize>>) =
            match settings {
                Settings::Spanned(de) => {
                    let map = BTreeMap::<String, toml::Spanned<toml::Value>>::deserialize(de)?;
                    let spans = map.iter().map(|(k, v)| (k.clone(), v.span())).collect();
                    let table = map
                        .into_iter()
                        .map(|(k, v)| (k, to_json(v.into_inner())))
                        .collect();
                    (table, spans)
                }
                Settings::Plain(t) => (
                    t.into_iter().map(|(k, v)| (k, to_json(v))).collect(),
                    BTreeMap::new(),
                ),
            };
        let value = Value::Object(table);
        if let Err(message) = schema::validate(&self.manifest.config_schema, &value) {
            // `/key/...` points at the key that is wrong.
            let key = message
                .strip_prefix("`/")
                .and_then(|rest| rest.split(['/', '`']).next())
                .map(str::to_string);
            let span = key
                .as_ref()
                .and_then(|k| spans.get(k).cloned())
                .or_else(|| {
                    message
                        .split("unknown key `")
                        .nth(1)
                        .and_then(|r| r.split('`').next())
                        .and_then(|k| spans.get(k).cloned())
                });
            return Err(SettingsError {
                message: format!(
                    "does not match plugin `{}`'s settings schema: {message}",
                    self.spec.name
                ),
                span,
            });
        }
        let Value::Object(table) = value else {
            return Err(SettingsError {
                message: "settings must be a table".into(),
                span: None,
            });
        };
        Ok(Arc::new(table))
    }

    async fn collect(&self, config: &Config, ctx: &Context) -> Result<Section, Failure> {
        let config = config
            .downcast_ref::<Map<String, Value>>()
            .cloned()
            .ok_or_else(|| Failure::failed("internal error: settings of the wrong type"))?;
        let inputs = ctx
            .inputs()
            .filter_map(|name| {
                ctx.section_json(name)
                    .map(|s| (name.to_string(), s.clone()))
            })
            .collect();
        let request = Request {
            abi: AbiVersion::CURRENT,
            target: target_of(ctx),
            config,
            inputs,
            deadline_ms: u64::try_from(ctx.remaining().as_millis()).unwrap_or(u64::MAX),
        };
        let deadline = ctx.deadline() + DEADLINE_MARGIN;
        let stop = async {
            tokio::select! {
                () = ctx.cancelled() => "the run cancelled it".to_string(),
                () = tokio::time::sleep_until(deadline) => format!(
                    "it was still running {} ms after its deadline and was stopped",
                    DEADLINE_MARGIN.as_millis()
                ),
            }
        };
        let text = self
            .runner
            .call(&Call::Run { request }, stop)
            .await
            .map_err(|e| match e {
                CallError::Crashed(m) => Failure::crashed(m),
                CallError::Failed(m) => Failure::failed(m),
            })?;
        let response = response_of(&text)?;
        let warnings = response.warnings;
        let with_warnings = |error: String| {
            if warnings.is_empty() {
                error
            } else {
                format!("{error} (warnings: {})", warnings.join("; "))
            }
        };
        let error = || {
            response
                .error
                .clone()
                .unwrap_or_else(|| "no reason given".into())
        };
        match response.status {
            Status::Crashed => Err(Failure::crashed(with_warnings(error()))),
            Status::Skipped => Err(Failure::skipped(
                response
                    .reason
                    .clone()
                    .unwrap_or_else(|| "no reason given".into()),
            )),
            Status::Failed => match response.section.clone() {
                Some(section) => {
                    // A failure that keeps its section is drawn like a
                    // success: with the plugin's view when it sent one.
                    self.keep_view(&section, response.view.clone());
                    Err(Failure::Partial {
                        error: with_warnings(error()),
                        section: Section::json(section).with_warnings(warnings.clone()),
                    })
                }
                None => Err(Failure::failed(with_warnings(error()))),
            },
            Status::Ok => {
                let Some(section) = response.section else {
                    return Err(Failure::failed("it answered `ok` without a section"));
                };
                if let Err(e) = schema::validate(&self.manifest.output_schema, &section) {
                    return Err(Failure::Partial {
                        error: format!("its section does not match its output schema: {e}"),
                        section: Section::json(section).with_warnings(warnings),
                    });
                }
                self.keep_view(&section, response.view);
                Ok(Section::json(section).with_warnings(warnings))
            }
        }
    }

    fn view(&self, section: &Value) -> View {
        let last = self.last_view.lock().unwrap_or_else(|p| p.into_inner());
        match &*last {
            Some((s, view)) if s == section => view.clone(),
            _ => View::from_json(section),
        }
    }

    fn output_schema(&self) -> Option<Value> {
        Some(self.manifest.output_schema.clone())
    }
}
