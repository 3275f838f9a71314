//! The report's JSON Schema: the envelope's fields, and sections embedded with
//! their own definitions. (docs/report.schema.json, which needs every built-in
//! collector, is checked in cli/tests/cli.rs.)

use serde_json::json;

#[test]
fn a_section_schema_is_embedded_with_its_definitions_renamed() {
    let section = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "ToyOutput",
        "type": "object",
        "properties": {"hops": {"type": "array", "items": {"$ref": "#/$defs/Hop"}}},
        "$defs": {
            "Hop": {"type": "object", "properties": {"next": {"$ref": "#/$defs/Next"}}},
            "Next": {"type": "integer"}
        }
    });
    let schema = sonde_core::report::json_schema([("toy".to_string(), section)]);
    let toy = &schema["properties"]["sections"]["properties"]["toy"];
    assert_eq!(toy["title"], "ToyOutput");
    assert!(toy.get("$schema").is_none() && toy.get("$defs").is_none());
    assert_eq!(
        toy["properties"]["hops"]["items"]["$ref"],
        "#/$defs/toy.Hop"
    );
    assert_eq!(
        schema["$defs"]["toy.Hop"]["properties"]["next"]["$ref"],
        "#/$defs/toy.Next"
    );
    assert_eq!(schema["$defs"]["toy.Next"]["type"], "integer");
    // The report's own definitions are still there.
    assert!(schema["$defs"]["Target"].is_object());
}

#[test]
fn schema_describes_every_top_level_field() {
    let schema = sonde_core::report::json_schema([]);
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
