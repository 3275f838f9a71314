//! How a section reads as text: fields, tables, notes and groups, each with
//! a tone. Built-in collectors and plugins describe their sections with the
//! same types (plugins send them as JSON beside the section); the CLI decides
//! alignment and colour. Keeping drawing out of the collectors means every
//! section looks alike and the engine never touches a terminal.

use serde::{Deserialize, Serialize};

/// How a value should stand out when drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tone {
    /// Plain text.
    #[default]
    Normal,
    /// A healthy result.
    Good,
    /// Something the user should look at.
    Warn,
    /// A failure.
    Bad,
    /// Secondary detail.
    Dim,
}

/// One element of a section's text form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "item", rename_all = "snake_case")]
pub enum Item {
    /// A key and its value, aligned with the other fields of the same group.
    Field {
        /// The label shown on the left.
        key: String,
        /// The value shown on the right.
        value: String,
        /// How the value stands out.
        tone: Tone,
    },
    /// A table with a header row.
    Table {
        /// Column titles.
        headers: Vec<String>,
        /// Cells, one vector per row, as many cells as headers.
        rows: Vec<Vec<String>>,
    },
    /// A free sentence: a warning, a hint, an explanation.
    Note {
        /// The sentence.
        text: String,
        /// How it stands out.
        tone: Tone,
    },
    /// A titled sub-group, drawn indented under its title.
    Group {
        /// The group's title.
        title: String,
        /// What the group holds.
        items: Vec<Item>,
    },
}

/// The text form of one section, built with the chained helpers below.
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

    /// Adds a table; rows shorter than the header are padded with blanks.
    pub fn table<H, R>(mut self, headers: H, rows: R) -> Self
    where
        H: IntoIterator,
        H::Item: Into<String>,
        R: IntoIterator<Item = Vec<String>>,
    {
        let headers: Vec<String> = headers.into_iter().map(Into::into).collect();
        let rows = rows
            .into_iter()
            .map(|mut row| {
                row.resize(headers.len().max(row.len()), String::new());
                row
            })
            .collect();
        self.items.push(Item::Table { headers, rows });
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

    /// Whether nothing was added.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// A generic view of any JSON section: scalars become fields, objects
    /// become groups, arrays of scalars are joined. Used for sections whose
    /// collector has no view of its own (plugins, older reports).
    pub fn from_json(value: &serde_json::Value) -> Self {
        use serde_json::Value;
        fn scalar(v: &Value) -> Option<String> {
            match v {
                Value::Null => Some("-".into()),
                Value::Bool(b) => Some(b.to_string()),
                Value::Number(n) => Some(n.to_string()),
                Value::String(s) => Some(s.clone()),
                Value::Array(a) if a.iter().all(|x| !x.is_object() && !x.is_array()) => {
                    Some(a.iter().filter_map(scalar).collect::<Vec<_>>().join(", "))
                }
                _ => None,
            }
        }
        let mut view = View::new();
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    view = match scalar(v) {
                        Some(s) => view.field(k, s),
                        None => view.group(k, View::from_json(v)),
                    };
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    view = match scalar(v) {
                        Some(s) => view.field(format!("[{i}]"), s),
                        None => view.group(format!("[{i}]"), View::from_json(v)),
                    };
                }
            }
            other => view = view.field("value", scalar(other).unwrap_or_default()),
        }
        view
    }
}
