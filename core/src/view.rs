//! How a section reads as text. The types live in the plugin SDK, because
//! plugins describe their sections with them too (as JSON); the engine and
//! the built-in collectors use the very same ones.

pub use sonde_plugin_sdk::{Item, Tone, View};
