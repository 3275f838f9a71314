//! Drawing reports and plans for people; JSON is serde's job.

mod style;
pub mod text;
pub mod timeline;

pub use style::Style;
