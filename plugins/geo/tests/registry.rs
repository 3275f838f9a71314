//! The collector as the engine sees it: registered, declared, configured.

use std::time::Duration;

use sonde_core::{Registry, Settings};

#[test]
fn registered_after_dns_with_strict_settings() {
    let _ = sonde_geo::GeoCollector;
    let registry = Registry::builtins();
    let geo = registry.get(sonde_geo::NAME).expect("geo is a built-in");
    let spec = geo.spec();
    assert_eq!(spec.needs, ["dns"]);
    assert_eq!(spec.timeout, Duration::from_secs(5));
    assert!(!spec.raw_sockets && !spec.on_request);

    let table = |text: &str| -> toml::Table { toml::from_str(text).expect("test TOML") };
    assert!(geo
        .configure(Settings::Plain(table(
            "database = \"/tmp/x.mmdb\"\nlocal-ranges = [\"private\"]"
        )))
        .is_ok());
    for (text, want) in [
        (
            "http-url = \"https://ipinfo.io/json\"",
            "http-url: `https://ipinfo.io/json` has no `{ip}`",
        ),
        ("language = \"\"", "language: `` is not a language code"),
        ("path = \"/x\"", "unknown field `path`"),
    ] {
        let err = geo
            .configure(Settings::Plain(table(text)))
            .err()
            .unwrap_or_else(|| panic!("{text} should be refused"));
        assert!(err.message.contains(want), "{text}: {}", err.message);
    }
}
