//! Synthetic collectors for engine tests: each one's behaviour is a closure.

#![allow(dead_code, missing_docs)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use sonde_core::{
    Catalog, Collector, Config, Context, Engine, Failure, Registry, Section, Settings,
    SettingsError, Spec, View,
};

type Behaviour = Arc<
    dyn Fn(Context) -> Pin<Box<dyn Future<Output = Result<Section, Failure>> + Send>> + Send + Sync,
>;

pub struct Fake {
    spec: Spec,
    behave: Behaviour,
}

#[async_trait::async_trait]
impl Collector for Fake {
    fn spec(&self) -> &Spec {
        &self.spec
    }
    fn configure(&self, settings: Settings<'_>) -> Result<Config, SettingsError> {
        let table = match settings {
            Settings::Plain(t) => t,
            Settings::Spanned(de) => serde::Deserialize::deserialize(de)?,
        };
        if let Some(k) = table.keys().next() {
            return Err(SettingsError {
                message: format!("unknown setting `{k}`"),
                span: None,
            });
        }
        Ok(Arc::new(()))
    }
    async fn collect(&self, _config: &Config, ctx: &Context) -> Result<Section, Failure> {
        (self.behave)(ctx.clone()).await
    }
    fn view(&self, section: &serde_json::Value) -> View {
        View::from_json(section)
    }
}

pub fn fake<F, Fut>(spec: Spec, f: F) -> Arc<dyn Collector>
where
    F: Fn(Context) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Section, Failure>> + Send + 'static,
{
    Arc::new(Fake {
        spec,
        behave: Arc::new(move |ctx| Box::pin(f(ctx))),
    })
}

/// A collector that succeeds at once with `{"ok": name}`.
pub fn instant(spec: Spec) -> Arc<dyn Collector> {
    let name = spec.name.clone();
    fake(spec, move |_| {
        let name = name.clone();
        async move { Ok(Section::json(serde_json::json!({ "ok": name }))) }
    })
}

pub fn spec(name: &str) -> Spec {
    Spec::new(name, format!("test collector {name}")).timeout(Duration::from_secs(5))
}

pub fn registry(collectors: Vec<Arc<dyn Collector>>) -> Registry {
    let mut r = Registry::empty();
    for c in collectors {
        r.add(c).expect("unique test names");
    }
    r
}

/// An engine whose only profile is `text`, known as built-in profile "test".
pub fn engine(collectors: Vec<Arc<dyn Collector>>, text: &str) -> Engine {
    let text: &'static str = Box::leak(text.to_string().into_boxed_str());
    Engine::new(
        registry(collectors),
        Catalog::new(vec![("test", text)], None),
    )
}
