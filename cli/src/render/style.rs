//! Colour, only where it helps: on a terminal, unless NO_COLOR is set.

use std::io::IsTerminal;

use sonde_core::Tone;

/// Whether and how to colour text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    pub(super) colour: bool,
}

impl Style {
    /// Colour when `stream` is a terminal and NO_COLOR is unset or empty.
    pub fn detect(stream: &impl IsTerminal) -> Self {
        Self::for_terminal(stream.is_terminal())
    }

    /// Colour when writing to a terminal, unless `NO_COLOR` is set.
    pub fn for_terminal(terminal: bool) -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Style {
            colour: terminal && !no_color,
        }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.colour && !text.is_empty() {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    /// Text in a tone.
    pub fn tone(&self, tone: Tone, text: &str) -> String {
        match tone {
            Tone::Normal => text.to_string(),
            Tone::Good => self.paint("32", text),
            Tone::Warn => self.paint("33", text),
            Tone::Bad => self.paint("31", text),
            Tone::Dim => self.paint("2", text),
        }
    }

    /// A heading.
    pub fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }
}
