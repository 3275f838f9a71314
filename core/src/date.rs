//! Calendar dates of Unix times, for sections that report when something
//! was built or registered (a database's build date, a certificate's
//! expiry). Plain arithmetic: never panics, whatever the input.

/// The UTC date `YYYY-MM-DD` of a Unix time in seconds (Howard Hinnant's
/// civil-from-days algorithm).
pub fn utc_date(epoch_secs: u64) -> String {
    let days = (epoch_secs / 86_400) as i64;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        for (epoch, want) in [
            (0, "1970-01-01"),
            (951_782_400, "2000-02-29"),
            (1_764_547_200, "2025-12-01"),
            (1_767_225_599, "2025-12-31"),
            (253_402_300_800, "10000-01-01"),
        ] {
            assert_eq!(utc_date(epoch), want, "{epoch}");
        }
        let _ = utc_date(u64::MAX);
    }
}
