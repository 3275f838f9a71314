//! The http section as text.

use sonde_plugin_sdk::{Tone, View};

use crate::{Check, Output};

fn status_tone(status: u16) -> Tone {
    match status {
        200..=299 => Tone::Good,
        300..=399 => Tone::Warn,
        _ => Tone::Bad,
    }
}

fn check_view(c: &Check) -> View {
    let mut v = View::new();
    if let Some(status) = c.status {
        v = v.toned("status", status, status_tone(status));
    }
    if let Some(server) = &c.server {
        v = v.field("server", server);
    }
    if let Some(tls) = &c.tls_version {
        v = v.field("tls", tls);
    }
    if c.tls_version.is_some() {
        v = match &c.hsts {
            Some(h) => v.toned("hsts", h, Tone::Good),
            None => v.toned("hsts", "absent", Tone::Warn),
        };
    }
    if c.status.is_some() {
        let present: Vec<&str> = c.security_headers.keys().map(String::as_str).collect();
        v = v.field(
            "security headers",
            if present.is_empty() {
                "none".to_string()
            } else {
                present.join(", ")
            },
        );
        if !c.missing_security_headers.is_empty() {
            v = v.toned("missing", c.missing_security_headers.join(", "), Tone::Warn);
        }
    }
    if let Some(t) = &c.timing {
        let mut parts = vec![format!("connect {} ms", t.connect_ms)];
        if let Some(tls) = t.tls_ms {
            parts.push(format!("tls {tls} ms"));
        }
        parts.push(format!("first byte {} ms", t.first_byte_ms));
        parts.push(format!("total {} ms", t.total_ms));
        v = v.toned("timing", parts.join(" · "), Tone::Dim);
    }
    if c.hops.len() > 1 {
        let rows: Vec<Vec<String>> = c
            .hops
            .iter()
            .map(|h| {
                vec![
                    h.status.to_string(),
                    h.url.clone(),
                    h.location.clone().unwrap_or_default(),
                ]
            })
            .collect();
        v = v.group(
            "redirects",
            View::new().table(["STATUS", "URL", "LOCATION"], rows),
        );
    }
    if let Some(note) = &c.note {
        v = v.note(note, Tone::Warn);
    }
    if let Some(e) = &c.error {
        v = v.note(e, Tone::Bad);
    }
    v
}

/// Draws the section: one group per scheme.
pub fn view(output: &Output) -> View {
    let mut v = View::new().field("address", &output.address);
    for c in &output.checks {
        v = v.group(
            format!("{} {}", c.scheme.to_uppercase(), c.url),
            check_view(c),
        );
    }
    v
}
