//! The report as text for people: one block per collector, aligned fields
//! and tables, problems gathered at the end in plain words.

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
        style.bold(&report.target.host.to_string()),
        style.tone(
            Tone::Dim,
            &format!(
                "profile {} · {} ms · {}",
                report.profile, report.duration_ms, report.resolved_at
            )
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
            style.bold(&name.to_uppercase()),
            style.tone(tone, label),
            style.tone(Tone::Dim, &format!("{:.0} ms{plugin}", run.duration_ms()))
        );
        match (&run.outcome, report.sections.get(name)) {
            (_, Some(section)) => {
                let view = registry
                    .get(name)
                    .map_or_else(|| View::from_json(section), |c| c.view(section));
                items(&mut out, &view.items, 1, style);
            }
            (Outcome::Skipped { reason }, None) => {
                let _ = writeln!(out, "  {}", style.tone(Tone::Dim, reason));
            }
            _ => {}
        }
        for warning in &run.warnings {
            let _ = writeln!(
                out,
                "  {}",
                style.tone(Tone::Warn, &format!("warning: {warning}"))
            );
        }
    }
    if !report.errors.is_empty() {
        let _ = writeln!(out, "\n{}", style.bold("PROBLEMS"));
        let width = report.errors.keys().map(String::len).max().unwrap_or(0);
        for (name, error) in &report.errors {
            let _ = writeln!(out, "  {:<width$}  {}", name, style.tone(Tone::Bad, error));
        }
    }
    out
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
                let _ = writeln!(out, "{pad}{}", style.tone(*tone, text));
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
