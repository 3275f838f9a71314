//! Certificate fields with x509-parser, and the order problems of a chain as sent.

use std::net::IpAddr;

use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::FromDer;
use x509_parser::public_key::PublicKey;

use crate::output::{CertInfo, KeyInfo};

/// Colon-separated hex: `0a:1b`, upper-case when asked.
pub fn hex(bytes: &[u8], upper: bool) -> String {
    bytes
        .iter()
        .map(|b| {
            if upper {
                format!("{b:02X}")
            } else {
                format!("{b:02x}")
            }
        })
        .collect::<Vec<_>>()
        .join(":")
}

/// SHA-256 of `bytes`, as [`hex`] upper-case.
pub fn sha256(bytes: &[u8]) -> String {
    hex(
        ring::digest::digest(&ring::digest::SHA256, bytes).as_ref(),
        true,
    )
}

fn rfc3339(ts: i64) -> String {
    OffsetDateTime::from_unix_timestamp(ts)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| ts.to_string())
}

/// Whole days from `now` to `until`, rounded toward zero: 89 days and 23 hours left is 89,
/// expired 30 days and an hour ago is -30.
pub fn days_between(now: i64, until: i64) -> i64 {
    (until - now) / 86_400
}

fn signature_name(oid: &str) -> String {
    let known = match oid {
        "1.2.840.113549.1.1.5" => "sha1WithRSAEncryption",
        "1.2.840.113549.1.1.4" => "md5WithRSAEncryption",
        "1.2.840.113549.1.1.10" => "rsassaPss",
        "1.2.840.113549.1.1.11" => "sha256WithRSAEncryption",
        "1.2.840.113549.1.1.12" => "sha384WithRSAEncryption",
        "1.2.840.113549.1.1.13" => "sha512WithRSAEncryption",
        "1.2.840.10045.4.1" => "ecdsa-with-SHA1",
        "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256",
        "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384",
        "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512",
        "1.3.101.112" => "Ed25519",
        "1.3.101.113" => "Ed448",
        other => return other.to_string(),
    };
    known.to_string()
}

fn key_info(cert: &X509Certificate<'_>) -> KeyInfo {
    let spki = cert.public_key();
    let alg = spki.algorithm.algorithm.to_id_string();
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.as_oid().ok())
        .map(|oid| match oid.to_id_string().as_str() {
            "1.2.840.10045.3.1.7" => "P-256".to_string(),
            "1.3.132.0.34" => "P-384".to_string(),
            "1.3.132.0.35" => "P-521".to_string(),
            other => other.to_string(),
        });
    let bits = spki.parsed().map(|k| k.key_size()).unwrap_or(0);
    match alg.as_str() {
        "1.2.840.113549.1.1.1" => KeyInfo {
            algorithm: "RSA".into(),
            bits,
            curve: None,
        },
        "1.2.840.10045.2.1" => KeyInfo {
            algorithm: "ECDSA".into(),
            bits: match curve.as_deref() {
                Some("P-256") => 256,
                Some("P-384") => 384,
                Some("P-521") => 521,
                _ => bits,
            },
            curve,
        },
        "1.3.101.112" => KeyInfo {
            algorithm: "Ed25519".into(),
            bits: 256,
            curve: None,
        },
        "1.3.101.113" => KeyInfo {
            algorithm: "Ed448".into(),
            bits: 456,
            curve: None,
        },
        _ => KeyInfo {
            algorithm: match spki.parsed() {
                Ok(PublicKey::DSA(_)) => "DSA".into(),
                _ => alg,
            },
            bits,
            curve: None,
        },
    }
}

/// Reads one certificate; `now` is Unix seconds.
pub fn parse(der: &[u8], now: i64) -> Result<CertInfo, String> {
    let (_, cert) = X509Certificate::from_der(der)
        .map_err(|e| format!("the certificate cannot be read: {e}"))?;
    let mut sans = Vec::new();
    if let Ok(Some(ext)) = cert.subject_alternative_name() {
        for name in &ext.value.general_names {
            match name {
                GeneralName::DNSName(n) => sans.push((*n).to_string()),
                GeneralName::IPAddress(bytes) => {
                    let ip = match bytes.len() {
                        4 => <[u8; 4]>::try_from(*bytes).ok().map(IpAddr::from),
                        16 => <[u8; 16]>::try_from(*bytes).ok().map(IpAddr::from),
                        _ => None,
                    };
                    sans.push(ip.map_or_else(|| hex(bytes, false), |ip| ip.to_string()));
                }
                _ => {}
            }
        }
    }
    let not_before = cert.validity().not_before.timestamp();
    let not_after = cert.validity().not_after.timestamp();
    let self_signed =
        cert.subject().as_raw() == cert.issuer().as_raw() && cert.verify_signature(None).is_ok();
    let common_name = cert
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_owned);
    Ok(CertInfo {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        common_name,
        sans,
        serial: hex(cert.raw_serial(), false),
        not_before: rfc3339(not_before),
        not_after: rfc3339(not_after),
        days_left: days_between(now, not_after),
        key: key_info(&cert),
        signature_algorithm: signature_name(&cert.signature_algorithm.algorithm.to_id_string()),
        sha256: sha256(der),
        is_ca: cert.is_ca(),
        self_signed,
    })
}

/// Validity of a certificate, Unix seconds: `(not_before, not_after)`.
pub fn validity(der: &[u8]) -> Option<(i64, i64)> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    Some((
        cert.validity().not_before.timestamp(),
        cert.validity().not_after.timestamp(),
    ))
}

/// Order problems of a chain as sent (leaf first): each certificate should be issued by the
/// next one; a root (self-signed) need not be sent; duplicates waste bytes.
pub fn chain_problems(chain: &[CertInfo]) -> Vec<String> {
    let mut problems = Vec::new();
    let label = |i: usize| format!("#{} ({})", i + 1, short(&chain[i]));
    for (i, cert) in chain.iter().enumerate() {
        if let Some(j) = chain[..i].iter().position(|c| c.sha256 == cert.sha256) {
            problems.push(format!("{} is sent twice (also {})", label(i), label(j)));
            continue;
        }
        if cert.self_signed {
            if i > 0 {
                problems.push(format!(
                    "{} is a self-signed root; servers should not send it",
                    label(i)
                ));
            }
            continue;
        }
        let Some(next) = chain.get(i + 1) else {
            continue;
        };
        // A duplicate next is reported on its own; the issuer check waits for the one after.
        if next.subject == cert.issuer || next.sha256 == cert.sha256 {
            continue;
        }
        match chain.iter().position(|c| c.subject == cert.issuer) {
            Some(j) => problems.push(format!(
                "out of order: the issuer of {} is {}, not the next certificate",
                label(i),
                label(j)
            )),
            None => problems.push(format!(
                "{} is not issued by the next certificate {}",
                label(i),
                label(i + 1)
            )),
        }
    }
    problems
}

fn short(cert: &CertInfo) -> String {
    cert.common_name
        .clone()
        .unwrap_or_else(|| cert.subject.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(cn: &str, issuer: &str, self_signed: bool) -> CertInfo {
        CertInfo {
            subject: format!("CN={cn}"),
            issuer: format!("CN={issuer}"),
            common_name: Some(cn.into()),
            sans: vec![],
            serial: "01".into(),
            not_before: String::new(),
            not_after: String::new(),
            days_left: 10,
            key: KeyInfo {
                algorithm: "ECDSA".into(),
                bits: 256,
                curve: Some("P-256".into()),
            },
            signature_algorithm: "ecdsa-with-SHA256".into(),
            sha256: format!("{cn}-{issuer}"),
            is_ca: cn != "leaf",
            self_signed,
        }
    }

    #[test]
    fn chain_order() {
        let leaf = cert("leaf", "inter", false);
        let inter = cert("inter", "root", false);
        let root = cert("root", "root", true);
        assert!(chain_problems(&[leaf.clone(), inter.clone()]).is_empty());
        assert!(chain_problems(std::slice::from_ref(&leaf)).is_empty());
        let p = chain_problems(&[leaf.clone(), root.clone(), inter.clone()]);
        assert_eq!(
            p,
            [
                "out of order: the issuer of #1 (leaf) is #3 (inter), not the next certificate",
                "#2 (root) is a self-signed root; servers should not send it",
            ]
        );
        let p = chain_problems(&[leaf.clone(), cert("other", "x", false)]);
        assert_eq!(
            p,
            ["#1 (leaf) is not issued by the next certificate #2 (other)"]
        );
        let p = chain_problems(&[leaf.clone(), inter.clone(), inter]);
        assert_eq!(p, ["#3 (inter) is sent twice (also #2 (inter))"]);
    }

    #[test]
    fn days_round_down() {
        assert_eq!(days_between(0, 86_400 * 3 - 1), 2);
        assert_eq!(days_between(0, -86_400 * 30 - 3600), -30);
        assert_eq!(days_between(0, -1), 0);
        assert_eq!(days_between(0, 0), 0);
    }

    #[test]
    fn hostile_der_is_an_error() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for len in 0..2000usize {
            let bytes: Vec<u8> = (0..len % 300)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed as u8
                })
                .collect();
            let mut framed = vec![0x30, 0x82, (bytes.len() >> 8) as u8, bytes.len() as u8];
            framed.extend_from_slice(&bytes);
            assert!(parse(&bytes, 0).is_err() || bytes.is_empty());
            let _ = parse(&framed, 0);
        }
    }
}
