//! The collector as the engine sees it: registered, declared, configured.

use std::time::Duration;

use sonde_core::{Registry, Settings};

#[test]
fn registered_with_its_spec_and_strict_settings() {
    // Naming the crate links it, and with it its registration.
    let _ = sonde_dns::DnsCollector;
    let registry = Registry::builtins();
    let dns = registry.get(sonde_dns::NAME).expect("dns is a built-in");
    let spec = dns.spec();
    assert_eq!(spec.timeout, Duration::from_secs(5));
    assert_eq!(spec.headline(), "DNS resolution failed");
    assert!(spec.needs.is_empty() && !spec.raw_sockets && !spec.on_request);

    let table = |text: &str| -> toml::Table { toml::from_str(text).expect("test TOML") };
    assert!(dns
        .configure(Settings::Plain(table(
            "nameservers = [\"127.0.0.1:5353\"]\nquery-timeout = \"1s\""
        )))
        .is_ok());
    let cases = [
        (
            "nameservers = [\"dns.example\"]",
            "nameservers: `dns.example` is not a nameserver address",
        ),
        ("attempts = 0", "attempts: 0 is out of range"),
        ("resolver = \"127.0.0.1\"", "unknown field `resolver`"),
    ];
    for (text, want) in cases {
        let err = dns
            .configure(Settings::Plain(table(text)))
            .err()
            .unwrap_or_else(|| panic!("{text} should be refused"));
        assert!(err.message.contains(want), "{text}: {}", err.message);
    }
}
