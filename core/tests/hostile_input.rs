//! Property tests without a framework: parsers of what users type never
//! panic, whatever they are given. A small xorshift generator keeps the runs
//! reproducible (the seed is printed on failure by the assertion message).

mod common;

use common::{instant, registry, spec};
use sonde_core::{Catalog, Profile, Target};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const PIECES: &[&str] = &[
    "a", "Z", "0", "9", "-", "_", ".", ":", "::", "[", "]", "/", "//", "://", "@", "%", "?", "#",
    " ", "\t", "\n", "\0", "ü", "ß", "例", "xn--", "http", "https://", "255", "256", "1.2.3.4",
    "::ffff:", "%eth0", "..", "\u{200b}", "\u{fe0f}", "ﬀ", "Å", "\u{0301}",
];

#[test]
fn target_parse_never_panics() {
    let mut rng = Rng(0x5eed_0001);
    for _ in 0..50_000 {
        let len = rng.below(12);
        let input: String = (0..len).map(|_| PIECES[rng.below(PIECES.len())]).collect();
        if let Ok(t) = Target::parse(&input) {
            // Whatever parses prints and reparses to the same host.
            let again = Target::parse(&t.host.to_string());
            assert_eq!(again.map(|a| a.host), Ok(t.host.clone()), "{input:?}");
        }
    }
}

#[test]
fn profile_parse_never_panics() {
    let base = r#"name = "x"
extends = "y"
timeout = "3s"
critical = ["dns"]
[collectors.dns]
timeout = "1s"
needs = ["a"]
after = ["b"]
[collectors.a]
enabled = true
"#;
    let reg = registry(vec![
        instant(spec("dns")),
        instant(spec("a")),
        instant(spec("b")),
    ]);
    let mut rng = Rng(0x5eed_0002);
    let bytes = base.as_bytes();
    for _ in 0..3_000 {
        let mut text = bytes.to_vec();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(text.len() + 1);
            match rng.below(3) {
                0 if at < text.len() => {
                    text.remove(at);
                }
                1 => text.insert(at, b"[]=\"#.,\n {}0x"[rng.below(13)]),
                _ if at < text.len() => text[at] = b"[]=\"#.,\n {}0x"[rng.below(13)],
                _ => {}
            }
        }
        let Ok(text) = String::from_utf8(text) else {
            continue;
        };
        let leaked: &'static str = Box::leak(text.into_boxed_str());
        let catalog = Catalog::new(vec![("x", leaked), ("y", "")], None);
        let _ = Profile::load_lenient(&catalog, "x", &reg);
    }
}
