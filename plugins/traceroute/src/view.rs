//! The traceroute section as text: one table per trace, silent hops as `*`,
//! a trailing run of silent hops on one line.

use sonde_core::{Tone, View};

use crate::output::{EndReason, Hop, HopProbe, Trace, TracerouteOutput};

/// Describes a traceroute section for people.
pub fn render(out: &TracerouteOutput) -> View {
    let probe = match out.method.probe {
        crate::ProbeMethod::Icmp => "ICMP echo",
        crate::ProbeMethod::Udp => "UDP",
        crate::ProbeMethod::Tcp => "TCP SYN",
    };
    let paris = if out.method.paris {
        ", one flow (Paris)"
    } else {
        ""
    };
    let tone = if out.method.rung == sonde_net::Rung::Raw {
        Tone::Normal
    } else {
        Tone::Warn
    };
    let mut view = View::new()
        .toned(
            "method",
            format!("{probe}, {} socket{paris}", out.method.rung),
            tone,
        )
        .note(out.method.reason.clone(), Tone::Dim)
        .field(
            "probes",
            format!(
                "{} per hop, up to {} hops, {} ms wait",
                out.probes_per_hop, out.max_hops, out.wait_ms
            ),
        );
    for trace in &out.traces {
        view = view.group(format!("to {}", trace.destination), render_trace(trace));
    }
    view
}

fn render_trace(trace: &Trace) -> View {
    let tone = match trace.end.reason {
        EndReason::Reached => Tone::Good,
        EndReason::Unreachable | EndReason::Stopped => Tone::Bad,
        EndReason::MaxHops | EndReason::Timeout => Tone::Warn,
    };
    let mut view = View::new().toned(
        "end",
        format!("{} in {:.1} ms", trace.end.detail, trace.duration_ms),
        tone,
    );
    if let Some(e) = &trace.error {
        return view.toned("error", e, Tone::Bad);
    }
    let last_heard = trace
        .hops
        .iter()
        .rposition(|h| !h.is_silent())
        .map_or(0, |i| i + 1);
    let mut rows: Vec<Vec<String>> = trace.hops[..last_heard].iter().flat_map(hop_rows).collect();
    if let (Some(first), Some(last)) = (trace.hops.get(last_heard), trace.hops.last()) {
        let span = if first.ttl == last.ttl {
            first.ttl.to_string()
        } else {
            format!("{}-{}", first.ttl, last.ttl)
        };
        rows.push(vec![
            span,
            "*".into(),
            String::new(),
            "100%".into(),
            "no answer".into(),
        ]);
    }
    view = view.table(["hop", "address", "name", "loss", "rtt ms"], rows);
    for w in &trace.warnings {
        view = view.note(w.clone(), Tone::Warn);
    }
    view
}

fn hop_rows(hop: &Hop) -> Vec<Vec<String>> {
    let loss = format!("{}%", hop.loss_percent);
    if hop.addresses.is_empty() {
        let stars = hop.probes.iter().map(|_| "*").collect::<Vec<_>>().join(" ");
        return vec![vec![
            hop.ttl.to_string(),
            "*".into(),
            String::new(),
            loss,
            stars,
        ]];
    }
    // One row per address that answered, each with its own probes' times.
    hop.addresses
        .iter()
        .enumerate()
        .map(|(i, address)| {
            let times = hop
                .probes
                .iter()
                .filter(|p| p.from.is_none() || p.from == Some(address.ip))
                .map(probe_cell)
                .collect::<Vec<_>>()
                .join(" ");
            vec![
                if i == 0 {
                    hop.ttl.to_string()
                } else {
                    String::new()
                },
                address.ip.to_string(),
                address.name.clone().unwrap_or_default(),
                if i == 0 { loss.clone() } else { String::new() },
                times,
            ]
        })
        .collect()
}

fn probe_cell(p: &HopProbe) -> String {
    match (p.rtt_ms, p.answer) {
        (Some(rtt), Some(crate::Answer::Unreachable)) => {
            format!("{rtt:.3} !{}", p.code.unwrap_or_default())
        }
        (Some(rtt), _) => format!("{rtt:.3}"),
        (None, _) => "*".into(),
    }
}

#[cfg(test)]
mod tests {
    use sonde_core::Item;

    use super::*;
    use crate::output::End;

    #[test]
    fn a_reader_that_stopped_is_a_warning_under_its_trace() {
        let trace = Trace {
            destination: "192.0.2.7".parse().expect("ip"),
            reached: false,
            end: End {
                reason: EndReason::Timeout,
                hop: None,
                detail: "no answer".into(),
            },
            hops: Vec::new(),
            duration_ms: 12.0,
            error: None,
            warnings: vec![
                "receiving stopped: Network is down; later answers were not read".into(),
            ],
        };
        let items = render_trace(&trace).items;
        assert_eq!(
            items.last(),
            Some(&Item::Note {
                text: "receiving stopped: Network is down; later answers were not read".into(),
                tone: Tone::Warn,
            })
        );
    }
}
