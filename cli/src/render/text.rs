//! The report as text for people: one block per collector, aligned fields
//! and tables, problems gathered at the end in plain words.
//!
//! Every string that reaches the terminal passes through [`printable`]
//! first: sections carry text from registries, servers and plugins, and a
//! control character in it (an escape sequence that recolours the screen or
//! retitles the window) must show as what it is, not act.

use std::borrow::Cow;
use std::fmt::Write as _;

use sonde_core::{Item, Outcome, Registry, Report, Tone, View};

use super::style::Style;

/// Draws a whole report. `order` is the plan's order of collectors.
pub fn report(report: &Report, order: &[String], registry: &Registry, style: Style) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {}  {}",
        style.bold("sonde"),
        style.bold(&printable(&report.target.host.to_string())),
        style.tone(
            Tone::Dim,
            &printable(&format!(
                "profile {} · {} ms · {}",
                report.profile, report.duration_ms, report.resolved_at
            ))
        )
    );
    for name in order {
        let Some(run) = report.collectors.get(name) else {
            continue;
        };
        out.push('\n');
        let (label, tone) = outcome_label(&run.outcome);
        let plugin = match &run.origin {
            sonde_core::Origin::Plugin { path, version } => {
                format!(" · plugin v{version} {path}")
            }
            sonde_core::Origin::Builtin => String::new(),
        };
        let _ = writeln!(
            out,
            "{}  {} {}",
            style.bold(&printable(&name.to_uppercase())),
            style.tone(tone, label),
            style.tone(
                Tone::Dim,
                &printable(&format!("{:.0} ms{plugin}", run.duration_ms()))
            )
        );
        match (&run.outcome, report.sections.get(name)) {
            (_, Some(section)) => {
                let view = registry
                    .get(name)
                    .map_or_else(|| View::from_json(section), |c| c.view(section));
                items(&mut out, &printable_items(&view.items), 1, style);
            }
            (Outcome::Skipped { reason }, None) => {
                let _ = writeln!(out, "  {}", style.tone(Tone::Dim, &printable(reason)));
            }
            _ => {}
        }
        for warning in &run.warnings {
            let _ = writeln!(
                out,
                "  {}",
                style.tone(Tone::Warn, &printable(&format!("warning: {warning}")))
            );
        }
    }
    if !report.errors.is_empty() {
        let _ = writeln!(out, "\n{}", style.bold("PROBLEMS"));
        let width = report
            .errors
            .keys()
            .map(|name| printable(name).chars().count())
            .max()
            .unwrap_or(0);
        for (name, error) in &report.errors {
            let _ = writeln!(
                out,
                "  {:<width$}  {}",
                printable(name),
                style.tone(Tone::Bad, &printable(error))
            );
        }
    }
    out
}

/// `text` with every control character (C0 including tab and line breaks,
/// DEL, C1) replaced by a visible escape such as `\x1b` or `\u{9b}`, so
/// that it cannot move the cursor, recolour or retitle the terminal. Callers
/// split multi-line values into lines first.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match u32::from(c) {
            code @ (0..=0x1f | 0x7f) => {
                let _ = write!(out, "\\x{code:02x}");
            }
            code @ 0x80..=0x9f => {
                let _ = write!(out, "\\u{{{code:x}}}");
            }
            _ => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// A copy of view items with [`printable`] applied to every string: keys,
/// titles and cells whole, values and notes line by line (their line breaks
/// are layout, drawn by [`items`]).
fn printable_items(list: &[Item]) -> Vec<Item> {
    let lines = |text: &str| {
        text.lines()
            .map(|line| printable(line).into_owned())
            .collect::<Vec<_>>()
            .join("\n")
    };
    list.iter()
        .map(|item| match item {
            Item::Field { key, value, tone } => Item::Field {
                key: printable(key).into_owned(),
                value: lines(value),
                tone: *tone,
            },
            Item::Table { headers, rows } => Item::Table {
                headers: headers.iter().map(|h| printable(h).into_owned()).collect(),
                rows: rows
                    .iter()
                    .map(|row| row.iter().map(|c| printable(c).into_owned()).collect())
                    .collect(),
            },
            Item::Note { text, tone } => Item::Note {
                text: lines(text),
                tone: *tone,
            },
            Item::Group { title, items } => Item::Group {
                title: printable(title).into_owned(),
                items: printable_items(items),
            },
        })
        .collect()
}

fn outcome_label(outcome: &Outcome) -> (&'static str, Tone) {
    let tone = match outcome {
        Outcome::Ok => Tone::Good,
        Outcome::Skipped { .. } => Tone::Dim,
        Outcome::TimedOut { .. } | Outcome::Cancelled { .. } => Tone::Warn,
        Outcome::Failed { .. } | Outcome::Crashed { .. } => Tone::Bad,
    };
    (outcome.label(), tone)
}

/// Draws view items at an indentation depth; consecutive fields share one
/// key column.
fn items(out: &mut String, list: &[Item], depth: usize, style: Style) {
    let pad = "  ".repeat(depth);
    let mut i = 0;
    while i < list.len() {
        if let Item::Field { .. } = &list[i] {
            let run_end = list[i..]
                .iter()
                .position(|it| !matches!(it, Item::Field { .. }))
                .map_or(list.len(), |p| i + p);
            let width = list[i..run_end]
                .iter()
                .filter_map(|it| match it {
                    Item::Field { key, .. } => Some(key.chars().count()),
                    _ => None,
                })
                .max()
                .unwrap_or(0);
            for it in &list[i..run_end] {
                if let Item::Field { key, value, tone } = it {
                    let key_pad = width - key.chars().count();
                    let mut lines = value.lines();
                    let first = lines.next().unwrap_or("");
                    let _ = writeln!(
                        out,
                        "{pad}{}{}  {}",
                        style.tone(Tone::Dim, key),
                        " ".repeat(key_pad),
                        style.tone(*tone, first)
                    );
                    for more in lines {
                        let _ = writeln!(
                            out,
                            "{pad}{}  {}",
                            " ".repeat(width),
                            style.tone(*tone, more)
                        );
                    }
                }
            }
            i = run_end;
            continue;
        }
        match &list[i] {
            Item::Table { headers, rows } => table(out, headers, rows, &pad, style),
            Item::Note { text, tone } => {
                for line in text.lines() {
                    let _ = writeln!(out, "{pad}{}", style.tone(*tone, line));
                }
            }
            Item::Group {
                title,
                items: inner,
            } => {
                let _ = writeln!(out, "{pad}{}", style.bold(title));
                items(out, inner, depth + 1, style);
            }
            Item::Field { .. } => {}
        }
        i += 1;
    }
}

fn table(out: &mut String, headers: &[String], rows: &[Vec<String>], pad: &str, style: Style) {
    let cols = headers.len();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut s = String::new();
        for (i, cell) in cells.iter().take(cols).enumerate() {
            if i + 1 == cols {
                s.push_str(cell);
            } else {
                let _ = write!(
                    s,
                    "{cell}{}  ",
                    " ".repeat(widths[i] - cell.chars().count())
                );
            }
        }
        s.trim_end().to_string()
    };
    let _ = writeln!(out, "{pad}{}", style.tone(Tone::Dim, &line(headers)));
    for row in rows {
        let _ = writeln!(out, "{pad}{}", line(row));
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use sonde_core::{NodeRun, Origin, Target};

    use super::*;

    const HOSTILE: &str = "EVIL\x1b[31mred\x1b]0;pwned\x07\u{9b}2J\x7f";

    /// Every character of `text` that is a control character, once colour
    /// codes of the form `ESC [ digits m` are taken out.
    fn controls_outside_colour(text: &str) -> Vec<char> {
        let mut found = Vec::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\x1b' && chars.peek() == Some(&'[') {
                chars.next();
                let mut code = String::new();
                while let Some(d) = chars.next_if(|d| d.is_ascii_digit()) {
                    code.push(d);
                }
                if !code.is_empty() && chars.next_if_eq(&'m').is_some() {
                    continue;
                }
                found.push(c);
            } else if c.is_control() && c != '\n' {
                found.push(c);
            }
        }
        found
    }

    #[test]
    fn printable_escapes_c0_del_and_c1_only() {
        let cases = [
            ("plain text", "plain text"),
            ("café ✓", "café ✓"),
            ("a\x1b[31mb", "a\\x1b[31mb"),
            ("bell\x07", "bell\\x07"),
            ("tab\there", "tab\\x09here"),
            ("cr\rlf\n", "cr\\x0dlf\\x0a"),
            ("del\x7f", "del\\x7f"),
            ("csi\u{9b}2J", "csi\\u{9b}2J"),
            ("nel\u{85}", "nel\\u{85}"),
        ];
        for (input, want) in cases {
            assert_eq!(printable(input), want, "{input:?}");
        }
    }

    #[test]
    fn hostile_view_strings_are_escaped_before_colour() {
        let view = View::new()
            .toned(HOSTILE, format!("{HOSTILE}\nsecond {HOSTILE}"), Tone::Bad)
            .table(
                [HOSTILE, "plain"],
                vec![vec![HOSTILE.to_string(), "ok".to_string()]],
            )
            .note(format!("note {HOSTILE}"), Tone::Warn)
            .group(HOSTILE, View::new().field("inner", HOSTILE));
        for colour in [false, true] {
            let mut out = String::new();
            let style = Style { colour };
            items(&mut out, &printable_items(&view.items), 1, style);
            assert_eq!(controls_outside_colour(&out), Vec::<char>::new(), "{out}");
            assert!(out.contains("EVIL\\x1b[31mred\\x1b]0;pwned\\x07\\u{9b}2J\\x7f"));
            // The value's line break is still a line break.
            assert!(!out.contains("\\x0a"), "{out}");
            let second = out.lines().find(|l| l.contains("second")).expect("line 2");
            let second = second.trim_start().trim_start_matches("\x1b[31m");
            assert!(second.starts_with("second EVIL"), "{second:?}");
        }
    }

    #[test]
    fn hostile_report_text_is_escaped_everywhere() {
        let mut sections = BTreeMap::new();
        sections.insert(
            "whois".to_string(),
            serde_json::json!({ "netname": HOSTILE, "nested": { HOSTILE: HOSTILE } }),
        );
        let run = NodeRun {
            outcome: Outcome::Ok,
            start_ms: Some(0.0),
            end_ms: 1.0,
            origin: Origin::Builtin,
            warnings: vec![format!("server said {HOSTILE}")],
        };
        let mut collectors = BTreeMap::new();
        collectors.insert("whois".to_string(), run.clone());
        collectors.insert(
            "geo".to_string(),
            NodeRun {
                outcome: Outcome::Skipped {
                    reason: format!("because {HOSTILE}"),
                },
                ..run
            },
        );
        let mut errors = BTreeMap::new();
        errors.insert("asn".to_string(), format!("bad answer {HOSTILE}"));
        let report = Report {
            schema_version: 1,
            target: Target::parse("example.com").expect("a valid target"),
            resolved_at: "2026-12-04T00:00:00Z".to_string(),
            mode_no_agent: true,
            profile: "default".to_string(),
            duration_ms: 1,
            sections,
            collectors,
            errors,
        };
        let order = ["whois".to_string(), "geo".to_string()];
        for colour in [false, true] {
            let out = super::report(&report, &order, &Registry::empty(), Style { colour });
            assert_eq!(controls_outside_colour(&out), Vec::<char>::new(), "{out}");
            assert_eq!(out.matches("pwned\\x07").count(), 7, "{out}");
        }
    }
}
