//! Port lists as people write them (`22,80,443,8000-8100`, `all`, `top-100`) and as the report
//! writes them back: sorted, without duplicates, runs folded into ranges.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::services;

/// A set of TCP ports, sorted and without duplicates.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PortSet(Vec<u16>);

/// Why a port specification was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// The text names no port at all.
    #[error("the port list is empty")]
    Empty,
    /// A token is neither a port, a range, `all` nor `top-N`.
    #[error("`{0}` is not a port, a range (`8000-8100`), `all` or `top-N`")]
    Token(String),
    /// Port 0 or beyond 65535.
    #[error("`{0}` is out of range: ports go from 1 to 65535")]
    OutOfRange(String),
    /// A range whose start is after its end.
    #[error("`{0}` is backwards: write the smaller port first")]
    Backwards(String),
    /// `top-N` asks for more ports than the curated list has.
    #[error("`top-{asked}` asks for more than the {have} ports of the curated list; use `all` or a range")]
    TopTooLarge {
        /// N as written.
        asked: usize,
        /// The list's length.
        have: usize,
    },
}

impl PortSet {
    /// Parses a specification: comma-separated ports, ranges `a-b`, `all` (1-65535) and
    /// `top-N` (the N most common service ports of sonde's own curated list).
    pub fn parse(text: &str) -> Result<PortSet, SpecError> {
        let mut ports = Vec::new();
        for token in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let lower = token.to_ascii_lowercase();
            if lower == "all" || lower == "-" {
                ports.extend(1..=u16::MAX);
            } else if let Some(n) = lower.strip_prefix("top-") {
                let asked: usize = n.parse().map_err(|_| SpecError::Token(token.into()))?;
                let have = services::TOP.len();
                if asked == 0 {
                    return Err(SpecError::Token(token.into()));
                }
                if asked > have {
                    return Err(SpecError::TopTooLarge { asked, have });
                }
                ports.extend_from_slice(&services::TOP[..asked]);
            } else if let Some((a, b)) = token.split_once('-') {
                let (a, b) = (port(a.trim(), token)?, port(b.trim(), token)?);
                if a > b {
                    return Err(SpecError::Backwards(token.into()));
                }
                ports.extend(a..=b);
            } else {
                ports.push(port(token, token)?);
            }
        }
        if ports.is_empty() {
            return Err(SpecError::Empty);
        }
        Ok(PortSet::from_ports(ports))
    }

    /// A set from any ports (sorted and deduplicated here).
    pub fn from_ports(mut ports: Vec<u16>) -> PortSet {
        if ports.len() < 4096 {
            ports.sort_unstable();
            ports.dedup();
            return PortSet(ports);
        }
        // A scan's lists run to every port of an address, in nearly ascending order with a
        // few late ones: marking them in a table is linear, where a sort of a run that is
        // not quite in order takes tens of milliseconds (past a deadline's margin).
        let mut present = vec![false; usize::from(u16::MAX) + 1];
        for &p in &ports {
            present[usize::from(p)] = true;
        }
        ports.clear();
        ports.extend(
            present
                .iter()
                .enumerate()
                .filter(|(_, &here)| here)
                .map(|(p, _)| p as u16),
        );
        PortSet(ports)
    }

    /// The ports, ascending.
    pub fn ports(&self) -> &[u16] {
        &self.0
    }

    /// How many ports.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `port` is in the set.
    pub fn contains(&self, port: u16) -> bool {
        self.0.binary_search(&port).is_ok()
    }
}

fn port(text: &str, token: &str) -> Result<u16, SpecError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SpecError::Token(token.into()));
    }
    match text.parse::<u32>() {
        Ok(p @ 1..=65535) => Ok(p as u16),
        _ => Err(SpecError::OutOfRange(token.into())),
    }
}

/// `1-21,23,25-79`: runs of consecutive ports folded into ranges, empty when there is none.
impl fmt::Display for PortSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        let mut i = 0;
        while i < self.0.len() {
            let start = self.0[i];
            let mut end = start;
            while i + 1 < self.0.len() && self.0[i + 1] == end.wrapping_add(1) {
                i += 1;
                end = self.0[i];
            }
            if !first {
                f.write_str(",")?;
            }
            first = false;
            if start == end {
                write!(f, "{start}")?;
            } else {
                write!(f, "{start}-{end}")?;
            }
            i += 1;
        }
        Ok(())
    }
}

/// In the report a set is its folded text (`"1-21,23"`), compact even for 65535 ports; an
/// empty set is `""`.
impl Serialize for PortSet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// In a report, a port set is the same compact text as in a profile.
impl schemars::JsonSchema for PortSet {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "PortSet".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "Ports as comma-separated numbers and ranges, e.g. `22,80,8000-8100`; empty for none."
        })
    }
}

impl<'de> Deserialize<'de> for PortSet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        if text.trim().is_empty() {
            return Ok(PortSet::default());
        }
        PortSet::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specifications() {
        let ok = [
            ("22", vec![22]),
            ("22,80,443", vec![22, 80, 443]),
            (" 443 , 22,22 ", vec![22, 443]),
            ("8000-8003", vec![8000, 8001, 8002, 8003]),
            ("5-5", vec![5]),
            ("65535", vec![65535]),
        ];
        for (text, want) in ok {
            assert_eq!(
                PortSet::parse(text).expect(text).ports(),
                &want[..],
                "{text}"
            );
        }
        assert_eq!(PortSet::parse("all").expect("all").len(), 65535);
        assert_eq!(PortSet::parse("ALL,22").expect("all").len(), 65535);
        let top = PortSet::parse("top-10").expect("top");
        assert_eq!(top.len(), 10);
        assert!(top.contains(80) && top.contains(443) && top.contains(22));
        assert_eq!(
            PortSet::parse("top-5,1-3").expect("mixed").len(),
            8,
            "top-5 holds none of 1-3"
        );
    }

    #[test]
    fn refusals_name_the_token() {
        let cases = [
            ("", SpecError::Empty),
            (",", SpecError::Empty),
            ("http", SpecError::Token("http".into())),
            ("0", SpecError::OutOfRange("0".into())),
            ("65536", SpecError::OutOfRange("65536".into())),
            (
                "99999999999999",
                SpecError::OutOfRange("99999999999999".into()),
            ),
            ("90-80", SpecError::Backwards("90-80".into())),
            ("1-2-3", SpecError::Token("1-2-3".into())),
            ("-5", SpecError::Token("-5".into())),
            ("+5", SpecError::Token("+5".into())),
            ("top-0", SpecError::Token("top-0".into())),
            ("top-x", SpecError::Token("top-x".into())),
        ];
        for (text, want) in cases {
            assert_eq!(PortSet::parse(text), Err(want), "{text:?}");
        }
        assert!(matches!(
            PortSet::parse("top-100000"),
            Err(SpecError::TopTooLarge { asked: 100000, .. })
        ));
    }

    #[test]
    fn folded_text_reads_back() {
        let set = PortSet::from_ports(vec![1, 2, 3, 5, 7, 8, 65535, 65534]);
        assert_eq!(set.to_string(), "1-3,5,7-8,65534-65535");
        assert_eq!(PortSet::parse(&set.to_string()).expect("round trip"), set);
        assert_eq!(PortSet::default().to_string(), "");
        let all = PortSet::parse("all").expect("all");
        assert_eq!(all.to_string(), "1-65535");
        let json = serde_json::to_string(&set).expect("json");
        assert_eq!(json, "\"1-3,5,7-8,65534-65535\"");
        let back: PortSet = serde_json::from_str(&json).expect("back");
        assert_eq!(back, set);
        let empty: PortSet = serde_json::from_str("\"\"").expect("empty");
        assert!(empty.is_empty());
    }

    #[test]
    fn large_lists_are_sorted_and_deduplicated_like_small_ones() {
        // A scan's not-reached list: ascending, then a few ports settled late, repeated.
        let mut ports: Vec<u16> = (100..=65535).rev().step_by(3).collect();
        ports.extend([81, 7, 65535, 81, 0]);
        let mut want = ports.clone();
        want.sort_unstable();
        want.dedup();
        assert_eq!(PortSet::from_ports(ports).ports(), want.as_slice());
    }

    #[test]
    fn hostile_text_never_panics() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let alphabet = b"0123456789-,topalTOP \t9x";
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 24) as usize;
            let text: String = (0..len)
                .map(|i| alphabet[((seed >> (i % 8 * 8)) as usize + i) % alphabet.len()] as char)
                .collect();
            let _ = PortSet::parse(&text);
        }
    }
}
