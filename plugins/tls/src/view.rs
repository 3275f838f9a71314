//! The tls section as text: per endpoint the warnings first, then what was negotiated, the
//! verdicts, the chain one certificate a line, and the protocol versions.

use sonde_core::{Tone, View};

use crate::output::{CertInfo, Endpoint, Support, TlsOutput};

/// Describes a tls section for people.
pub fn render(out: &TlsOutput) -> View {
    let mut view = View::new();
    let mut shown: Vec<(&Endpoint, String)> = Vec::new();
    for e in &out.endpoints {
        let title = if e.ip.is_ipv6() {
            format!("[{}]:{}", e.ip, e.port)
        } else {
            format!("{}:{}", e.ip, e.port)
        };
        // The same port on another address, serving the same thing: one line, not a repeat.
        if let Some((_, first)) = shown.iter().find(|(seen, _)| same_service(seen, e)) {
            view = view.toned(title, format!("same as {first}"), Tone::Dim);
            continue;
        }
        shown.push((e, title.clone()));
        view = view.group(title, endpoint(e));
    }
    view
}

/// Whether two endpoints differ only by address.
fn same_service(a: &Endpoint, b: &Endpoint) -> bool {
    a.port == b.port
        && a.failure == b.failure
        && a.protocol == b.protocol
        && a.cipher_suite == b.cipher_suite
        && a.chain
            .iter()
            .map(|c| &c.sha256)
            .eq(b.chain.iter().map(|c| &c.sha256))
        && a.versions
            .iter()
            .map(|v| v.support)
            .eq(b.versions.iter().map(|v| v.support))
        && a.warnings.len() == b.warnings.len()
}

fn endpoint(e: &Endpoint) -> View {
    let mut v = View::new();
    for (i, w) in e.warnings.iter().enumerate() {
        let tone = if i == 0 && e.failure.is_some() {
            Tone::Bad
        } else {
            Tone::Warn
        };
        v = v.note(w.clone(), tone);
    }
    if let Some(p) = &e.protocol {
        let mut parts = vec![p.clone()];
        parts.extend(e.cipher_suite.clone());
        parts.extend(e.key_exchange.clone());
        v = v.field("negotiated", parts.join(", "));
    }
    if let Some(alpn) = &e.alpn {
        v = v.field("alpn", alpn);
    }
    v = v.field(
        "sni",
        e.sni.clone().unwrap_or_else(|| "none (IP only)".into()),
    );
    if let Some(verdict) = &e.verdict {
        let trust = |t: &crate::output::Trust| match &t.error {
            None => ("trusted".to_string(), Tone::Good),
            Some(why) => (format!("not trusted: {why}"), Tone::Bad),
        };
        let (text, tone) = trust(&verdict.web_roots);
        v = v.toned("web roots", text, tone);
        if let Some(bundle) = &verdict.ca_bundle {
            let (text, tone) = trust(bundle);
            v = v.toned("ca bundle", text, tone);
        }
        v = v.toned(
            "name",
            format!(
                "{} {}",
                verdict.checked_name,
                if verdict.hostname_match {
                    "matches"
                } else {
                    "does not match"
                }
            ),
            if verdict.hostname_match {
                Tone::Good
            } else {
                Tone::Bad
            },
        );
        let expiry_tone = if verdict.expired || verdict.not_yet_valid {
            Tone::Bad
        } else if verdict.days_left < 14 {
            Tone::Warn
        } else {
            Tone::Good
        };
        let expiry = if verdict.expired {
            format!("expired {} days ago", -verdict.days_left)
        } else {
            format!("{} days left", verdict.days_left)
        };
        v = v.toned("expiry", expiry, expiry_tone);
    }
    if let Some(ocsp) = &e.ocsp {
        v = v.field("ocsp", format!("stapled, {} bytes", ocsp.bytes));
    }
    if !e.chain.is_empty() {
        let rows = e.chain.iter().enumerate().map(|(i, c)| cert_row(i, c));
        v = v.table(
            [
                "#",
                "subject",
                "issuer",
                "key",
                "signature",
                "valid until",
                "days",
            ],
            rows,
        );
        if let Some(leaf) = e.chain.first() {
            if !leaf.sans.is_empty() {
                v = v.field("names", leaf.sans.join(", "));
            }
            v = v.toned("serial", &leaf.serial, Tone::Dim);
            v = v.toned("sha256", &leaf.sha256, Tone::Dim);
        }
    }
    // Versions are worth a line once one of them got a verdict (not for a port that is
    // not TLS at all).
    if e.versions.iter().any(|t| t.support != Support::Unknown) {
        let text = e
            .versions
            .iter()
            .map(|t| {
                let mark = match t.support {
                    Support::Yes => "yes",
                    Support::No => "no",
                    Support::Unknown => "?",
                };
                format!("{} {mark}", t.version)
            })
            .collect::<Vec<_>>()
            .join(", ");
        v = v.field("versions", text);
    }
    v
}

fn cert_row(i: usize, c: &CertInfo) -> Vec<String> {
    let name = |dn: &str, cn: Option<&String>| cn.cloned().unwrap_or_else(|| dn.to_string());
    let issuer_cn = c
        .issuer
        .split(", ")
        .find_map(|part| part.strip_prefix("CN="))
        .map(str::to_owned);
    vec![
        (i + 1).to_string(),
        format!(
            "{}{}",
            name(&c.subject, c.common_name.as_ref()),
            if c.self_signed { " (self-signed)" } else { "" }
        ),
        name(&c.issuer, issuer_cn.as_ref()),
        c.key.label(),
        c.signature_algorithm.clone(),
        c.not_after.get(..10).unwrap_or(&c.not_after).to_string(),
        c.days_left.to_string(),
    ]
}
