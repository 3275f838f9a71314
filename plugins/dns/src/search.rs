//! The resolv.conf search list, as the C library applies it to a name the
//! user typed without a final dot: which names to ask, in which order.

use hickory_resolver::config::{ResolverConfig, ResolverOpts};

use crate::answer::to_fqdn;

/// glibc's ceiling for `options ndots:N` (RES_MAXNDOTS).
pub const MAX_NDOTS: u8 = 15;
/// Most search domains taken from a profile or resolv.conf.
pub const MAX_SEARCH: usize = 32;
/// Longest name that can be asked, without the final dot.
const MAX_NAME: usize = 253;

/// The names to ask for `name`, in order, as glibc's `res_search` does.
///
/// An absolute name (typed with a final dot) or an empty search list gives
/// the name alone. Otherwise a name with at least `ndots` dots is asked as
/// it is first and then with each suffix; a name with fewer dots gets the
/// suffixes first and is asked as it is last. Candidates too long to be a
/// DNS name are left out; duplicates are asked once.
pub fn candidates(name: &str, absolute: bool, search: &[String], ndots: u8) -> Vec<String> {
    let absolute = absolute || name.ends_with('.');
    let bare = name.trim_end_matches('.').to_string();
    if absolute || search.is_empty() {
        return vec![bare];
    }
    let suffixed = search
        .iter()
        .map(|suffix| suffix.trim_matches('.'))
        .filter(|suffix| !suffix.is_empty())
        .map(|suffix| format!("{bare}.{suffix}"))
        .filter(|c| c.len() <= MAX_NAME);
    let dots = bare.matches('.').count();
    let ordered: Vec<String> = if dots >= usize::from(ndots) {
        std::iter::once(bare.clone()).chain(suffixed).collect()
    } else {
        suffixed.chain(std::iter::once(bare.clone())).collect()
    };
    let mut names: Vec<String> = Vec::with_capacity(ordered.len());
    for candidate in ordered {
        if !names.iter().any(|n| n.eq_ignore_ascii_case(&candidate)) {
            names.push(candidate);
        }
    }
    names
}

/// The search list and ndots of a parsed resolv.conf: the last `search` or
/// `domain` line, or else the local domain (from the host name), as glibc
/// does; ndots capped at [`MAX_NDOTS`]. Invalid suffixes are left out.
pub fn from_system(config: &ResolverConfig, opts: &ResolverOpts) -> (Vec<String>, u8) {
    let names = if config.search().is_empty() {
        config.domain().into_iter().collect::<Vec<_>>()
    } else {
        config.search().iter().collect()
    };
    let search = names
        .into_iter()
        .map(|n| n.to_ascii().trim_end_matches('.').to_ascii_lowercase())
        .filter(|n| check_suffix(n).is_ok())
        .take(MAX_SEARCH)
        .collect();
    let ndots = u8::try_from(opts.ndots.min(usize::from(MAX_NDOTS))).unwrap_or(MAX_NDOTS);
    (search, ndots)
}

/// Why a search suffix cannot be used, if it cannot.
pub fn check_suffix(suffix: &str) -> Result<(), String> {
    let bare = suffix.trim_end_matches('.');
    if bare.is_empty() {
        return Err("it is empty".into());
    }
    if bare.len() >= MAX_NAME {
        return Err(format!("it is {} characters long", bare.len()));
    }
    to_fqdn(bare).map(|_| ())
}

#[cfg(test)]
mod tests {
    use hickory_resolver::system_conf::parse_resolv_conf;

    use super::*;

    fn list(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn candidate_order_follows_glibc() {
        let ab = list(&["a.example", "b.example"]);
        let messy = list(&[".a.example.", ".", "A.example"]);
        /// Name, typed absolute, search list, ndots, names asked.
        type Case<'a> = (&'a str, bool, &'a [String], u8, &'a [&'a str]);
        let cases: Vec<Case> = vec![
            // Fewer dots than ndots: suffixes first, the name as is last.
            (
                "myhost",
                false,
                &ab,
                1,
                &["myhost.a.example", "myhost.b.example", "myhost"],
            ),
            (
                "www.corp",
                false,
                &ab,
                2,
                &["www.corp.a.example", "www.corp.b.example", "www.corp"],
            ),
            // Enough dots: as is first.
            (
                "www.corp",
                false,
                &ab,
                1,
                &["www.corp", "www.corp.a.example", "www.corp.b.example"],
            ),
            (
                "myhost",
                false,
                &ab,
                0,
                &["myhost", "myhost.a.example", "myhost.b.example"],
            ),
            // Absolute names and an empty list: the name alone.
            ("myhost", true, &ab, 1, &["myhost"]),
            ("myhost.", false, &ab, 1, &["myhost"]),
            ("myhost", false, &[], 1, &["myhost"]),
            // Suffixes written with dots, empty ones, and duplicates.
            ("h", false, &messy, 1, &["h.a.example", "h"]),
        ];
        for (name, absolute, search, ndots, want) in cases {
            assert_eq!(
                candidates(name, absolute, search, ndots),
                list(want),
                "{name} absolute={absolute} search={search:?} ndots={ndots}"
            );
        }
    }

    #[test]
    fn too_long_candidates_are_left_out() {
        let long = format!("{}.example", "x".repeat(60));
        let name = vec!["y".repeat(60); 4].join(".");
        assert_eq!(candidates(&name, false, &[long], 1), vec![name.clone()]);
    }

    #[test]
    fn reads_search_and_ndots_from_resolv_conf_text() {
        let text = "# corporate\nnameserver 127.0.0.1\nsearch a.example b.example\noptions ndots:2 timeout:1\n";
        let (config, opts) = parse_resolv_conf(text).expect("resolv.conf parses");
        assert_eq!(
            from_system(&config, &opts),
            (list(&["a.example", "b.example"]), 2)
        );

        // The last of `domain` and `search` wins, junk lines are skipped.
        let text = "nameserver 127.0.0.1\nsearch old.example\nwhat is this\ndomain Corp.Example\n";
        let (config, opts) = parse_resolv_conf(text).expect("resolv.conf parses");
        assert_eq!(from_system(&config, &opts), (list(&["corp.example"]), 1));

        // ndots above glibc's ceiling is capped.
        let text = "nameserver 127.0.0.1\nsearch a.example\noptions ndots:40\n";
        let (config, opts) = parse_resolv_conf(text).expect("resolv.conf parses");
        assert_eq!(from_system(&config, &opts).1, MAX_NDOTS);
    }

    #[test]
    fn suffix_rules() {
        assert!(check_suffix("corp.example").is_ok());
        assert!(check_suffix("corp.example.").is_ok());
        assert_eq!(check_suffix(""), Err("it is empty".to_string()));
        assert_eq!(check_suffix("."), Err("it is empty".to_string()));
        assert!(check_suffix(&"a".repeat(300)).is_err());
        assert!(check_suffix("bad..example").is_err());
    }
}
