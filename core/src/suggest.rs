//! "Did you mean" suggestions for misspelt names.

/// The candidate closest to `word`, if it is close enough to be a likely typo.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|(d, c)| *d <= (c.len().max(word.len()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::closest;

    #[test]
    fn finds_typos_only() {
        let names = ["dns", "ping", "traceroute", "whois"];
        assert_eq!(closest("dsn", names), Some("dns"));
        assert_eq!(closest("tracerout", names), Some("traceroute"));
        assert_eq!(closest("pnig", names), Some("ping"));
        assert_eq!(closest("geo", names), None);
    }
}
