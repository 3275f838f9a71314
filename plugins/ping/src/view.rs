//! The ping section as text.

use sonde_core::{Tone, View};

use crate::output::{Fate, Method, PingOutput};

/// Describes a ping section for people.
pub fn render(out: &PingOutput) -> View {
    let method = match out.method {
        Method::IcmpRaw => "ICMP echo, raw socket",
        Method::IcmpDatagram => "ICMP echo, datagram socket",
        Method::TcpConnect => "TCP connect timing",
    };
    let method_tone = if out.method == Method::TcpConnect {
        Tone::Warn
    } else {
        Tone::Normal
    };
    let mut view = View::new()
        .toned("method", method, method_tone)
        .note(out.method_reason.clone(), Tone::Dim)
        .field(
            "probes",
            format!(
                "{} per address, {} ms apart, {} ms timeout",
                out.count, out.interval_ms, out.timeout_ms
            ),
        );
    let rows = out.targets.iter().map(|t| {
        let address = match t.port {
            Some(port) if t.address.is_ipv6() => format!("[{}]:{port}", t.address),
            Some(port) => format!("{}:{port}", t.address),
            None => t.address.to_string(),
        };
        let rtt = t
            .rtt
            .map(|r| {
                format!(
                    "{:.3}/{:.3}/{:.3}/{:.3}",
                    r.min_ms, r.avg_ms, r.max_ms, r.stddev_ms
                )
            })
            .unwrap_or_else(|| "-".into());
        let probes = match &t.error {
            Some(e) => e.clone(),
            None => t
                .probes
                .iter()
                .map(|p| p.fate.short())
                .collect::<Vec<_>>()
                .join(" "),
        };
        vec![
            address,
            format!("{}/{}", t.received, t.sent),
            format!("{}%", t.loss_percent),
            rtt,
            t.reply_ttl.map(|t| t.to_string()).unwrap_or_default(),
            probes,
        ]
    });
    view = view.table(
        [
            "address",
            "recv/sent",
            "loss",
            "min/avg/max/stddev ms",
            "ttl",
            "probes (ms)",
        ],
        rows,
    );
    for t in &out.targets {
        let tone = if t.received == 0 {
            Tone::Bad
        } else if t.received < t.sent {
            Tone::Warn
        } else {
            continue;
        };
        let unreachable = t
            .probes
            .iter()
            .find(|p| matches!(p.fate, Fate::Unreachable { .. } | Fate::TtlExceeded { .. }));
        let why = match unreachable {
            Some(p) => format!(": {}", p.fate.short()),
            None => String::new(),
        };
        view = view.note(
            format!("{}: {}% loss{why}", t.address, t.loss_percent),
            tone,
        );
    }
    for t in &out.targets {
        if t.duplicates > 0 {
            view = view.note(
                format!("{}: {} duplicate replies ignored", t.address, t.duplicates),
                Tone::Warn,
            );
        }
        for note in &t.notes {
            view = view.note(format!("{}: {note}", t.address), Tone::Dim);
        }
    }
    for w in &out.warnings {
        view = view.note(w.clone(), Tone::Warn);
    }
    view
}
