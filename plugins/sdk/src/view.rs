//! How a section reads as text: the same fields, tables, notes and groups
//! sonde's built-in collectors use, sent as JSON beside the section.

use serde::{Deserialize, Serialize};

/// How a value stands out when drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tone {
    /// Plain text.
    #[default]
    Normal,
    /// A healthy result.
    Good,
    /// Something to look at.
    Warn,
    /// A failure.
    Bad,
    /// Secondary detail.
    Dim,
}

/// One element of a view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "item", rename_all = "snake_case")]
pub enum Item {
    /// A key and its value, aligned with the neighbouring fields.
    Field {
        /// Label.
        key: String,
        /// Value.
        value: String,
        /// How the value stands out.
        tone: Tone,
    },
    /// A table with a header row.
    Table {
        /// Column titles.
        headers: Vec<String>,
        /// One vector of cells per row.
        rows: Vec<Vec<String>>,
    },
    /// A sentence.
    Note {
        /// The sentence.
        text: String,
        /// How it stands out.
        tone: Tone,
    },
    /// A titled, indented sub-group.
    Group {
        /// Title.
        title: String,
        /// Content.
        items: Vec<Item>,
    },
}

/// The text form of a section, built with the chained helpers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct View {
    /// The elements, in display order.
    pub items: Vec<Item>,
}

impl View {
    /// An empty view.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a plain field.
    pub fn field(self, key: impl Into<String>, value: impl ToString) -> Self {
        self.toned(key, value, Tone::Normal)
    }

    /// Adds a field with a tone.
    pub fn toned(mut self, key: impl Into<String>, value: impl ToString, tone: Tone) -> Self {
        self.items.push(Item::Field {
            key: key.into(),
            value: value.to_string(),
            tone,
        });
        self
    }

    /// Adds a table.
    pub fn table<H: Into<String>>(
        mut self,
        headers: impl IntoIterator<Item = H>,
        rows: Vec<Vec<String>>,
    ) -> Self {
        self.items.push(Item::Table {
            headers: headers.into_iter().map(Into::into).collect(),
            rows,
        });
        self
    }

    /// Adds a sentence.
    pub fn note(mut self, text: impl Into<String>, tone: Tone) -> Self {
        self.items.push(Item::Note {
            text: text.into(),
            tone,
        });
        self
    }

    /// Adds a titled sub-group.
    pub fn group(mut self, title: impl Into<String>, inner: View) -> Self {
        self.items.push(Item::Group {
            title: title.into(),
            items: inner.items,
        });
        self
    }
}
