//! docs/report.schema.json is generated from the report's types; this test
//! fails when they drift apart. `SONDE_UPDATE_SCHEMA=1 cargo test -p
//! sonde-core --test schema` rewrites the file.

use std::path::PathBuf;

#[test]
fn shipped_schema_matches_the_types() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/report.schema.json");
    let generated =
        serde_json::to_string_pretty(&sonde_core::report::json_schema()).unwrap() + "\n";
    if std::env::var_os("SONDE_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let shipped = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        shipped == generated,
        "docs/report.schema.json is out of date; rerun with SONDE_UPDATE_SCHEMA=1"
    );
}

#[test]
fn schema_describes_every_top_level_field() {
    let schema = sonde_core::report::json_schema();
    let props = schema["properties"].as_object().unwrap();
    for key in [
        "schema_version",
        "target",
        "resolved_at",
        "mode_no_agent",
        "profile",
        "duration_ms",
        "sections",
        "collectors",
        "errors",
    ] {
        assert!(props.contains_key(key), "{key}");
        assert!(
            props[key].get("description").is_some() || props[key].get("$ref").is_some(),
            "{key}"
        );
    }
}
