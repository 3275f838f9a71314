//! The sonde engine.
//!
//! A [`Target`] is inspected by [`Collector`]s. A [`Profile`](profile::Profile)
//! says which collectors run and how; the [`Plan`](plan::Plan) turns it into a
//! checked dependency graph; the [`scheduler`] runs that graph, each node the
//! moment its dependencies are done, and hands back a [`Report`]. There is no
//! network code and no drawing here: collectors live in their own crates and
//! the CLI draws.

pub mod address;
pub mod collector;
pub mod date;
pub mod dirs;
pub mod duration;
mod engine;
pub mod plan;
pub mod profile;
pub mod registry;
pub mod report;
pub mod scheduler;
mod suggest;
pub mod target;
pub mod view;

pub use address::SpecialRange;
pub use collector::{
    Collector, Config, Context, Failure, Origin, RunFlags, Section, Settings, SettingsError, Spec,
    Typed, TypedCollector,
};
pub use engine::{run, CollectOptions, Engine};
pub use plan::{Plan, PlanOptions};
pub use profile::{Catalog, Profile, ProfileError, ProfileErrors};
pub use registry::Registry;
pub use report::{CollectError, Limit, NodeRun, Outcome, Report};
pub use scheduler::Event;
pub use sonde_plugin_sdk::error_chain;
pub use target::{Host, Target, TargetError};
pub use view::{Item, Tone, View};

#[doc(hidden)]
pub use inventory;
