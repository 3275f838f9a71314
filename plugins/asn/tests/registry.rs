//! The collector as the engine sees it: registered, declared, configured.

use std::time::Duration;

use sonde_core::{Registry, Settings};

#[test]
fn registered_after_dns_with_strict_settings() {
    let _ = sonde_asn::AsnCollector;
    let registry = Registry::builtins();
    let asn = registry.get(sonde_asn::NAME).expect("asn is a built-in");
    let spec = asn.spec();
    assert_eq!(spec.needs, ["dns"]);
    assert_eq!(spec.timeout, Duration::from_secs(5));
    assert!(!spec.raw_sockets && !spec.on_request);

    let table = |text: &str| -> toml::Table { toml::from_str(text).expect("test TOML") };
    assert!(asn
        .configure(Settings::Plain(table(
            "origin-zone = \"origin.asn.sonde.test\"\nlocal-ranges = [\"private\"]"
        )))
        .is_ok());
    for (text, want) in [
        ("concurrency = 0", "concurrency: 0 is out of range"),
        (
            "origin-zone = \"a b\"",
            "origin-zone: `a b` is not a DNS name",
        ),
        ("zones = 1", "unknown field `zones`"),
    ] {
        let err = asn
            .configure(Settings::Plain(table(text)))
            .err()
            .unwrap_or_else(|| panic!("{text} should be refused"));
        assert!(err.message.contains(want), "{text}: {}", err.message);
    }
}
