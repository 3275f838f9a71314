//! Durations as people write them in profiles and on the command line:
//! `"3s"`, `"500ms"`, `"1m 30s"`.

use std::time::Duration;

/// The longest duration accepted: a diagnostic that needs more than a day
/// is a typo, and deadlines computed from it must stay far from overflow.
pub const MAX: Duration = Duration::from_secs(24 * 60 * 60);

/// [`MAX`] as people write it.
const MAX_TEXT: &str = "24h";

/// Parses a human duration; zero is refused because no collector can do
/// anything in no time, and anything over [`MAX`] because it is a mistake.
pub fn parse(text: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(text.trim())
        .map_err(|e| format!("`{text}` is not a duration ({e}); write e.g. \"3s\" or \"500ms\""))?;
    if d.is_zero() {
        return Err(format!("`{text}` is zero; a duration must be positive"));
    }
    if d > MAX {
        return Err(format!("`{text}` is longer than the limit of {MAX_TEXT}"));
    }
    Ok(d)
}

/// Formats a duration the way [`parse`] reads it.
pub fn format(d: Duration) -> String {
    if d.as_secs() > 0 && d.subsec_nanos() == 0 {
        format!("{}s", d.as_secs())
    } else if d.subsec_nanos().is_multiple_of(1_000_000) {
        format!("{}ms", d.as_millis())
    } else {
        humantime::format_duration(d).to_string()
    }
}

/// Serde for `Duration` fields written as human strings in TOML.
pub mod serde_human {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes `"3s"`.
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format(*d))
    }

    /// Reads `"3s"`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        super::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Serde for optional human durations.
pub mod serde_human_opt {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes `"3s"` or nothing.
    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_str(&super::format(*d)),
            None => s.serialize_none(),
        }
    }

    /// Reads `"3s"`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        let text = String::deserialize(d)?;
        super::parse(&text)
            .map(Some)
            .map_err(serde::de::Error::custom)
    }
}

/// Serde for durations in JSON reports: whole milliseconds.
pub mod serde_ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes milliseconds.
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }

    /// Reads milliseconds.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats() {
        for (text, want) in [
            ("3s", Duration::from_secs(3)),
            ("500ms", Duration::from_millis(500)),
            ("1m 30s", Duration::from_secs(90)),
            (" 2s ", Duration::from_secs(2)),
        ] {
            assert_eq!(parse(text), Ok(want), "{text}");
        }
        assert_eq!(format(Duration::from_secs(3)), "3s");
        assert_eq!(format(Duration::from_millis(1500)), "1500ms");
    }

    #[test]
    fn refuses_nonsense() {
        assert!(parse("3 parsecs")
            .unwrap_err()
            .contains("is not a duration"));
        assert!(parse("5").unwrap_err().contains("is not a duration"));
        assert_eq!(
            parse("0s").unwrap_err(),
            "`0s` is zero; a duration must be positive"
        );
        for huge in ["18446744073709551615s", "9223372036854775000s", "25h"] {
            assert_eq!(
                parse(huge).unwrap_err(),
                format!("`{huge}` is longer than the limit of 24h"),
            );
        }
        assert_eq!(parse(MAX_TEXT), Ok(MAX));
    }
}
