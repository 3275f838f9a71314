//! Team Cymru's IP-to-ASN DNS interface: the names to ask and the TXT
//! answers, parsed strictly.
//!
//! ```text
//! 10.113.0.203.origin.asn.cymru.com  TXT "64500 | 203.0.113.0/24 | NL | ripencc | 2010-07-14"
//! AS64500.asn.cymru.com              TXT "64500 | NL | ripencc | 2010-07-14 | SONDE-TRANSIT - ..., NL"
//! ```
//!
//! One TXT record per covering prefix; several AS numbers separated by
//! spaces when several ASes announce one prefix. Country, registry and
//! date may be empty.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::config::Zones;
use crate::output::Origin;

/// Longest TXT answer read; Cymru's are under 200 bytes.
const MAX_TEXT: usize = 1024;
/// Most AS numbers accepted on one line.
const MAX_ASNS: usize = 16;

/// The name asked for the origins of `ip`.
pub fn origin_name(ip: IpAddr, zones: &Zones) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            format!("{d}.{c}.{b}.{a}.{}", zones.origin)
        }
        IpAddr::V6(v6) => {
            let mut name = String::with_capacity(64 + zones.origin6.len());
            for byte in v6.octets().iter().rev() {
                name.push_str(&format!("{:x}.{:x}.", byte & 0xf, byte >> 4));
            }
            name + &zones.origin6
        }
    }
}

/// The name asked for the name of AS `asn`.
pub fn as_name(asn: u32, zones: &Zones) -> String {
    format!("AS{asn}.{}", zones.asn)
}

/// Why a TXT answer was not understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name} answered {text:?}, which is not in Cymru's format ({why})")]
pub struct FormatError {
    /// The name asked.
    pub name: String,
    /// The answer, cut to 80 characters.
    pub text: String,
    /// What is wrong with it.
    pub why: String,
}

impl FormatError {
    fn new(name: &str, text: &str, why: impl Into<String>) -> Self {
        FormatError {
            name: name.to_string(),
            text: text.chars().take(80).collect(),
            why: why.into(),
        }
    }
}

/// One `origin` TXT: the origins it gives, one per AS number.
pub fn parse_origin(name: &str, text: &str, ip: IpAddr) -> Result<Vec<Origin>, FormatError> {
    let err = |why: String| FormatError::new(name, text, why);
    if text.len() > MAX_TEXT {
        return Err(err(format!("longer than {MAX_TEXT} bytes")));
    }
    let fields: Vec<&str> = text.split('|').map(str::trim).collect();
    if fields.len() < 2 || fields.len() > 5 {
        return Err(err(format!(
            "{} field(s); expected \"ASN | prefix | CC | registry | date\"",
            fields.len()
        )));
    }
    let asns = parse_asns(fields[0]).map_err(err)?;
    let prefix: IpNet = fields[1]
        .parse()
        .map_err(|_| err(format!("`{}` is not a prefix", fields[1])))?;
    if !prefix.contains(&ip) {
        return Err(err(format!("prefix {prefix} does not contain {ip}")));
    }
    let country = optional(fields.get(2), check_country).map_err(err)?;
    let registry = optional(fields.get(3), check_registry).map_err(err)?;
    let allocated = optional(fields.get(4), check_date).map_err(err)?;
    Ok(asns
        .into_iter()
        .map(|asn| Origin {
            asn,
            prefix: prefix.trunc(),
            country: country.clone(),
            registry: registry.clone(),
            allocated: allocated.clone(),
            as_name: None,
        })
        .collect())
}

/// What an `AS<n>` TXT says about the AS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsRecord {
    /// Country code.
    pub country: Option<String>,
    /// Registry.
    pub registry: Option<String>,
    /// Allocation date.
    pub allocated: Option<String>,
    /// The name.
    pub name: Option<String>,
}

/// One `AS<n>` TXT, which must be about `asn`.
pub fn parse_as(name: &str, text: &str, asn: u32) -> Result<AsRecord, FormatError> {
    let err = |why: String| FormatError::new(name, text, why);
    if text.len() > MAX_TEXT {
        return Err(err(format!("longer than {MAX_TEXT} bytes")));
    }
    // The name is last and may itself hold a `|`: split the first four only.
    let fields: Vec<&str> = text.splitn(5, '|').map(str::trim).collect();
    if fields.len() != 5 {
        return Err(err(format!(
            "{} field(s); expected \"ASN | CC | registry | date | name\"",
            fields.len()
        )));
    }
    let got = parse_asns(fields[0]).map_err(err)?;
    if got != [asn] {
        return Err(err(format!("it is about AS{}, not AS{asn}", fields[0])));
    }
    let name_field = fields[4];
    if name_field.chars().any(char::is_control) {
        return Err(err("the name has control characters".into()));
    }
    Ok(AsRecord {
        country: optional(fields.get(1), check_country).map_err(err)?,
        registry: optional(fields.get(2), check_registry).map_err(err)?,
        allocated: optional(fields.get(3), check_date).map_err(err)?,
        name: (!name_field.is_empty()).then(|| name_field.to_string()),
    })
}

fn parse_asns(field: &str) -> Result<Vec<u32>, String> {
    let mut asns = Vec::new();
    for word in field.split_whitespace() {
        let word = word
            .strip_prefix("AS")
            .or_else(|| word.strip_prefix("as"))
            .unwrap_or(word);
        match word.parse::<u32>() {
            Ok(0) => return Err("AS0 is not an origin".into()),
            Ok(n) if !asns.contains(&n) => asns.push(n),
            Ok(_) => {}
            Err(_) => return Err(format!("`{word}` is not an AS number")),
        }
    }
    if asns.is_empty() {
        return Err("no AS number".into());
    }
    if asns.len() > MAX_ASNS {
        return Err(format!("more than {MAX_ASNS} AS numbers"));
    }
    Ok(asns)
}

/// An optional field: absent, empty or `NA` give none.
fn optional(
    field: Option<&&str>,
    check: fn(&str) -> Result<String, String>,
) -> Result<Option<String>, String> {
    match field.copied() {
        None | Some("") | Some("NA") => Ok(None),
        Some(value) => check(value).map(Some),
    }
}

fn check_country(v: &str) -> Result<String, String> {
    if v.len() == 2 && v.bytes().all(|b| b.is_ascii_alphabetic()) {
        Ok(v.to_ascii_uppercase())
    } else {
        Err(format!("`{v}` is not a country code"))
    }
}

fn check_registry(v: &str) -> Result<String, String> {
    if v.len() <= 16 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        Ok(v.to_ascii_lowercase())
    } else {
        Err(format!("`{v}` is not a registry name"))
    }
}

fn check_date(v: &str) -> Result<String, String> {
    let b = v.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() == 10
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
    {
        Ok(v.to_string())
    } else {
        Err(format!("`{v}` is not a date (YYYY-MM-DD)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const Q: &str = "q";

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test address")
    }

    #[test]
    fn names() {
        let zones = Zones::default();
        assert_eq!(
            origin_name(ip("8.8.4.4"), &zones),
            "4.4.8.8.origin.asn.cymru.com"
        );
        assert_eq!(
            origin_name(ip("2001:db8::1"), &zones),
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.origin6.asn.cymru.com"
        );
        assert_eq!(as_name(15169, &zones), "AS15169.asn.cymru.com");
    }

    #[test]
    fn real_answers_parse() {
        let o = parse_origin(
            Q,
            "15169 | 8.8.8.0/24 | US | arin | 2014-03-14",
            ip("8.8.8.8"),
        )
        .expect("parses");
        assert_eq!(o.len(), 1);
        assert_eq!(o[0].asn, 15169);
        assert_eq!(o[0].prefix.to_string(), "8.8.8.0/24");
        assert_eq!(o[0].country.as_deref(), Some("US"));
        assert_eq!(o[0].registry.as_deref(), Some("arin"));
        assert_eq!(o[0].allocated.as_deref(), Some("2014-03-14"));

        let moas = parse_origin(Q, "13335 23028 | 1.1.1.0/24 | AU | apnic |", ip("1.1.1.1"))
            .expect("parses");
        assert_eq!(
            moas.iter().map(|o| o.asn).collect::<Vec<_>>(),
            [13335, 23028]
        );
        assert_eq!(moas[1].allocated, None);

        let v6 = parse_origin(
            Q,
            "64520 | 2001:db8::/32 | DE | ripencc | 2012-05-05",
            ip("2001:db8:113::10"),
        )
        .expect("parses");
        assert_eq!(v6[0].prefix.to_string(), "2001:db8::/32");

        let a = parse_as(
            Q,
            "15169 | US | arin | 2000-03-30 | GOOGLE - Google LLC, US",
            15169,
        )
        .expect("parses");
        assert_eq!(a.name.as_deref(), Some("GOOGLE - Google LLC, US"));
        assert_eq!(a.country.as_deref(), Some("US"));
        let piped = parse_as(Q, "64500 | NL | ripencc | | A | B", 64500).expect("parses");
        assert_eq!(piped.name.as_deref(), Some("A | B"));
        assert_eq!(piped.allocated, None);
    }

    #[test]
    fn hostile_answers_are_refused_with_the_reason() {
        let addr = ip("203.0.113.10");
        let cases = [
            ("", "1 field(s)"),
            (" | 203.0.113.0/24", "no AS number"),
            ("origin lookups are closed for maintenance", "1 field(s)"),
            ("64500", "1 field(s)"),
            ("x | 203.0.113.0/24", "`x` is not an AS number"),
            ("0 | 203.0.113.0/24", "AS0"),
            ("64500 | 203.0.113.0/33", "is not a prefix"),
            ("64500 | 198.51.100.0/24", "does not contain 203.0.113.10"),
            (
                "64500 | 203.0.113.0/24 | NLD",
                "`NLD` is not a country code",
            ),
            ("64500 | 203.0.113.0/24 | NL | rip/e", "not a registry"),
            (
                "64500 | 203.0.113.0/24 | NL | ripe | 2010-7-14",
                "not a date",
            ),
            (
                "64500 | 203.0.113.0/24 | NL | ripe | 2010-07-14 | x",
                "6 field(s)",
            ),
            ("99999999999 | 203.0.113.0/24", "not an AS number"),
        ];
        for (text, want) in cases {
            let err = parse_origin(Q, text, addr).expect_err(text);
            assert!(err.to_string().contains(want), "{text}: {err}");
            assert!(err.to_string().starts_with("q answered"), "{err}");
        }
        let long = "1 ".repeat(600);
        assert!(parse_origin(Q, &long, addr).is_err());
        let many = format!(
            "{} | 203.0.113.0/24",
            (1..40).map(|n| n.to_string()).collect::<Vec<_>>().join(" ")
        );
        assert!(parse_origin(Q, &many, addr)
            .expect_err("too many")
            .to_string()
            .contains("more than 16"));
        for (text, want) in [
            (
                "64501 | NL | ripencc | 2010-07-14 | X",
                "about AS64501, not AS64500",
            ),
            ("64500 | NL | ripencc", "3 field(s)"),
            (
                "64500 | NL | ripencc | 2010-07-14 | a\u{7}b",
                "control characters",
            ),
        ] {
            let err = parse_as(Q, text, 64500).expect_err(text);
            assert!(err.to_string().contains(want), "{text}: {err}");
        }
    }

    #[test]
    fn arbitrary_text_never_panics() {
        // A cheap property test: every prefix of every sample, and bytes
        // shuffled in, must give Ok or Err, never a panic.
        let samples = [
            "15169 | 8.8.8.0/24 | US | arin | 2014-03-14",
            "64500 | NL | ripencc | 2010-07-14 | N",
            "||||||||",
            "\u{0}\u{ff}é|é|é",
        ];
        for s in samples {
            for (i, _) in s.char_indices() {
                let _ = parse_origin(Q, &s[..i], ip("8.8.8.8"));
                let _ = parse_as(Q, &s[..i], 15169);
                let _ = parse_origin(Q, &s[i..], ip("8.8.8.8"));
                let _ = parse_as(Q, &s[i..], 15169);
            }
        }
    }
}
