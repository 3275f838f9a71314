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

#[cfg(test)]
mod tests {
    use sonde_core::Item;

    use super::*;
    use crate::output::{
        FailureKind, HandshakeFailure, KeyInfo, Ocsp, Trust, Verdict, VersionTest,
    };

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

    fn cert(cn: &str, issuer: &str, days: i64) -> CertInfo {
        CertInfo {
            subject: format!("O=Example, CN={cn}"),
            issuer: format!("O=Example, CN={issuer}"),
            common_name: Some(cn.into()),
            sans: vec![cn.into(), "www.example.test".into()],
            serial: "10:01".into(),
            not_before: "2026-01-01T00:00:00Z".into(),
            not_after: "2026-12-10T00:00:00Z".into(),
            days_left: days,
            key: KeyInfo {
                algorithm: "ECDSA".into(),
                bits: 256,
                curve: Some("P-256".into()),
            },
            signature_algorithm: "ecdsa-with-SHA384".into(),
            sha256: "AB:CD".into(),
            is_ca: false,
            self_signed: false,
        }
    }

    #[test]
    fn reads_well() {
        let good = Endpoint {
            ip: "192.0.2.10".parse().expect("ip"),
            port: 443,
            sni: Some("example.test".into()),
            failure: None,
            protocol: Some("TLSv1.3".into()),
            cipher_suite: Some("TLS13_AES_256_GCM_SHA384".into()),
            key_exchange: Some("X25519".into()),
            alpn: Some("h2".into()),
            chain: vec![
                cert("example.test", "Example CA", 6),
                cert("Example CA", "Example Root", 900),
            ],
            chain_problems: vec![],
            verdict: Some(Verdict {
                web_roots: Trust {
                    trusted: true,
                    error: None,
                },
                ca_bundle: None,
                hostname_match: true,
                checked_name: "example.test".into(),
                expired: false,
                not_yet_valid: false,
                days_left: 6,
                self_signed: false,
            }),
            ocsp: Some(Ocsp {
                bytes: 1500,
                sha256: "00".into(),
            }),
            versions: vec![
                VersionTest {
                    version: "TLSv1.3".into(),
                    support: Support::Yes,
                    detail: None,
                },
                VersionTest {
                    version: "TLSv1.0".into(),
                    support: Support::No,
                    detail: None,
                },
            ],
            warnings: vec!["the certificate expires in 6 days".into()],
            handshake_ms: 12,
        };
        let v6 = Endpoint {
            ip: "2001:db8::10".parse().expect("ip"),
            ..good.clone()
        };
        let failed = Endpoint {
            port: 8443,
            failure: Some(HandshakeFailure {
                kind: FailureKind::Alert,
                detail: "alert: handshake_failure".into(),
            }),
            protocol: None,
            cipher_suite: None,
            key_exchange: None,
            alpn: None,
            chain: vec![],
            verdict: None,
            ocsp: None,
            versions: vec![],
            warnings: vec!["handshake failed: alert: handshake_failure".into()],
            ..good.clone()
        };
        let out = TlsOutput {
            candidates: vec![443, 8443],
            endpoints: vec![good, v6, failed],
            elapsed_ms: 40,
        };
        let mut text = String::new();
        draw(&render(&out).items, 0, &mut text);
        insta::assert_snapshot!(text);
    }
}
