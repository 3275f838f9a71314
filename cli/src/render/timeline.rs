//! `--debug`: each collector's start and end as a timeline.

use std::fmt::Write as _;

use sonde_core::Report;

const BAR: usize = 40;

/// The timeline of a run, in plan order.
pub fn timeline(report: &Report, order: &[String]) -> String {
    let total = report
        .collectors
        .values()
        .map(|r| r.end_ms)
        .fold(report.duration_ms as f64, f64::max)
        .max(1.0);
    let width = order.iter().map(String::len).max().unwrap_or(0);
    let mut out = format!("timeline (0 to {total:.1} ms)\n");
    for name in order {
        let Some(run) = report.collectors.get(name) else {
            continue;
        };
        let col = |ms: f64| ((ms / total) * BAR as f64).round() as usize;
        let (from, bar) = match run.start_ms {
            Some(start) => {
                let a = col(start).min(BAR);
                let b = col(run.end_ms).clamp(a + 1, BAR.max(a + 1));
                (a, "█".repeat(b - a))
            }
            None => (col(run.end_ms).min(BAR), "·".to_string()),
        };
        let cells = format!("{}{}", " ".repeat(from), bar);
        let span = match run.start_ms {
            Some(start) => format!("{start:>8.1} → {:>8.1} ms", run.end_ms),
            None => format!("{:>8} → {:>8.1} ms", "-", run.end_ms),
        };
        let _ = writeln!(
            out,
            "  {name:<width$}  |{cells:<BAR$}|  {span}  {}",
            run.outcome.label()
        );
    }
    out
}
