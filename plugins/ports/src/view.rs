//! The ports section as text: per address a compact table of open ports, then the closed and
//! filtered ones folded into ranges.

use sonde_core::{Tone, View};

use crate::output::{Counts, HostScan, PortsOutput};

/// Longest folded port list shown before it is cut (the JSON keeps it whole).
const MAX_LIST: usize = 72;

/// Describes a ports section for people.
pub fn render(out: &PortsOutput) -> View {
    let mut view = View::new();
    for warning in &out.warnings {
        view = view.note(warning.clone(), Tone::Warn);
    }
    let method = match &out.fallback {
        Some(why) => format!("{} ({why})", out.method.as_str()),
        None => out.method.as_str().to_string(),
    };
    let totals = out.totals();
    view = view
        .toned(
            "method",
            method,
            if out.fallback.is_some() {
                Tone::Warn
            } else {
                Tone::Normal
            },
        )
        .field(
            "scanned",
            format!(
                "{} ({} ports) on {} address{} in {} ms",
                out.spec,
                out.ports_per_address,
                out.hosts.len(),
                if out.hosts.len() == 1 { "" } else { "es" },
                out.elapsed_ms
            ),
        )
        .toned(
            "found",
            summary(&totals),
            if totals.open > 0 {
                Tone::Good
            } else {
                Tone::Normal
            },
        );
    for (i, host) in out.hosts.iter().enumerate() {
        // Another address with exactly the same ports: one line, not a repeat.
        let same = out.hosts[..i].iter().find(|h| {
            h.open
                .iter()
                .map(|p| p.port)
                .eq(host.open.iter().map(|p| p.port))
                && h.closed == host.closed
                && h.filtered == host.filtered
                && h.not_reached == host.not_reached
                && h.unreachable == host.unreachable
                && h.error == host.error
        });
        view = match same {
            Some(first) => view.toned(
                host.ip.to_string(),
                format!("same ports as {}", first.ip),
                Tone::Dim,
            ),
            None => view.group(host.ip.to_string(), host_view(host)),
        };
    }
    view
}

fn summary(c: &Counts) -> String {
    let mut text = format!(
        "{} open, {} closed, {} filtered",
        c.open, c.closed, c.filtered
    );
    if c.not_reached > 0 {
        text.push_str(&format!(", {} not reached", c.not_reached));
    }
    if c.unreachable > 0 {
        text.push_str(&format!(", {} unreachable", c.unreachable));
    }
    text
}

fn host_view(host: &HostScan) -> View {
    let c = host.counts;
    let mut rtt = String::new();
    if let Some(srtt) = host.srtt_us {
        rtt = format!(", srtt {:.1} ms", srtt as f64 / 1000.0);
    }
    let mut view = View::new();
    if let Some(error) = &host.error {
        view = view.note(error.clone(), Tone::Warn);
    }
    view = view.field(
        "ports",
        format!("{}{rtt}, timeout {} ms", summary(&c), host.timeout_ms),
    );
    if !host.open.is_empty() {
        let banners = host.open.iter().any(|p| p.banner.is_some());
        let rows = host.open.iter().map(|p| {
            let mut row = vec![
                format!("{}/tcp", p.port),
                "open".to_string(),
                p.service.clone().unwrap_or_else(|| "-".into()),
                format!("{:.1} ms", p.rtt_us as f64 / 1000.0),
            ];
            if banners {
                row.push(match &p.banner {
                    Some(b) if b.bytes > 0 => cut(&b.text, 60),
                    Some(_) => "(silent)".into(),
                    None => String::new(),
                });
            }
            row
        });
        let mut headers = vec!["port", "state", "service", "rtt"];
        if banners {
            headers.push("banner");
        }
        view = view.table(headers, rows);
    }
    if !host.closed.is_empty() {
        view = view.toned("closed", cut(&host.closed.to_string(), MAX_LIST), Tone::Dim);
    }
    if !host.filtered.is_empty() {
        view = view.toned(
            "filtered",
            cut(&host.filtered.to_string(), MAX_LIST),
            Tone::Warn,
        );
    }
    if !host.not_reached.is_empty() {
        view = view.toned(
            "not reached",
            cut(&host.not_reached.to_string(), MAX_LIST),
            Tone::Warn,
        );
    }
    if !host.unreachable.is_empty() {
        view = view.toned(
            "unreachable",
            cut(&host.unreachable.to_string(), MAX_LIST),
            Tone::Warn,
        );
    }
    view
}

fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let kept: String = text.chars().take(max).collect();
    format!("{kept}…")
}

#[cfg(test)]
mod tests {
    use sonde_core::Item;

    use super::*;
    use crate::output::{Banner, OpenPort, ScanMethod};
    use crate::portspec::PortSet;

    fn draw(items: &[Item], indent: usize, out: &mut String) {
        let pad = " ".repeat(indent);
        for item in items {
            match item {
                Item::Field { key, value, tone } => {
                    out.push_str(&format!("{pad}{key:<12} {value}  [{tone:?}]\n"))
                }
                Item::Note { text, tone } => out.push_str(&format!("{pad}! {text}  [{tone:?}]\n")),
                Item::Table { headers, rows } => {
                    out.push_str(&format!("{pad}| {} |\n", headers.join(" | ")));
                    for row in rows {
                        out.push_str(&format!("{pad}| {} |\n", row.join(" | ")));
                    }
                }
                Item::Group { title, items } => {
                    out.push_str(&format!("{pad}{title}:\n"));
                    draw(items, indent + 2, out);
                }
            }
        }
    }

    #[test]
    fn reads_well() {
        let open = vec![
            OpenPort {
                port: 22,
                service: Some("ssh".into()),
                rtt_us: 310,
                banner: Some(Banner {
                    text: "SSH-2.0-OpenSSH_9.2\\r\\n".into(),
                    bytes: 21,
                }),
            },
            OpenPort {
                port: 443,
                service: Some("https".into()),
                rtt_us: 290,
                banner: Some(Banner {
                    text: String::new(),
                    bytes: 0,
                }),
            },
        ];
        let host = HostScan {
            ip: "192.0.2.10".parse().expect("ip"),
            counts: Counts {
                open: 2,
                closed: 96,
                filtered: 2,
                not_reached: 0,
                unreachable: 0,
            },
            open,
            closed: PortSet::parse("1-21,23-442,444-8079,8082-65535").expect("set"),
            filtered: PortSet::parse("8080-8081").expect("set"),
            not_reached: PortSet::default(),
            unreachable: PortSet::default(),
            error: None,
            srtt_us: Some(300),
            timeout_ms: 100,
            probes: 104,
        };
        let out = PortsOutput {
            method: ScanMethod::Connect,
            fallback: Some("raw sockets need root or CAP_NET_RAW".into()),
            spec: "top-100".into(),
            ports_per_address: 100,
            concurrency: 5000,
            retries: 2,
            complete: true,
            hosts: vec![
                host.clone(),
                HostScan {
                    ip: "2001:db8::10".parse().expect("ip"),
                    ..host
                },
            ],
            warnings: vec![],
            elapsed_ms: 412,
        };
        let mut text = String::new();
        draw(&render(&out).items, 0, &mut text);
        insta::assert_snapshot!(text);

        // An address the system has no route to: its reason first, its ports apart.
        let mut lost = out.hosts[1].clone();
        lost.open.clear();
        lost.closed = PortSet::default();
        lost.filtered = PortSet::default();
        lost.unreachable = PortSet::parse("1-100").expect("set");
        lost.counts = Counts {
            unreachable: 100,
            ..Counts::default()
        };
        lost.error = Some("no route to host: no port answered, 100 ports unreachable".into());
        let out = PortsOutput {
            hosts: vec![out.hosts[0].clone(), lost],
            ..out
        };
        let mut text = String::new();
        draw(&render(&out).items, 0, &mut text);
        assert!(
            text.contains(
                "  ! no route to host: no port answered, 100 ports unreachable  [Warn]\n"
            ),
            "{text}"
        );
        assert!(text.contains("unreachable  1-100  [Warn]"), "{text}");
        assert!(
            text.contains("found        2 open, 96 closed, 2 filtered, 100 unreachable"),
            "{text}"
        );
    }
}
