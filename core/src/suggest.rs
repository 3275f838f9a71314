//! "Did you mean" suggestions for misspelt names.

use std::cmp::Reverse;

/// The candidate closest to `word`, if it is close enough to be a likely typo.
///
/// Distance is Damerau-Levenshtein (a swap of two neighbours costs one). On a
/// tie the candidate sharing the longer prefix with `word` wins, as people
/// rarely mistype the first letter: `dsn` is `dns`, not `asn`.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|(d, c)| *d <= (c.len().max(word.len()) / 3).max(1))
        .min_by_key(|(d, c)| (*d, Reverse(common_prefix(word, c)), *c))
        .map(|(_, c)| c)
}

/// How many characters `a` and `b` share at their start.
fn common_prefix(a: &str, b: &str) -> usize {
    a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count()
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

    #[test]
    fn ties_go_to_the_longer_common_prefix() {
        let names = ["asn", "dns", "geo", "hop-asn", "ping", "ports", "tls"];
        assert_eq!(closest("dsn", names), Some("dns"));
        assert_eq!(closest("asm", names), Some("asn"));
        assert_eq!(closest("pirts", names), Some("ports"));
    }
}
