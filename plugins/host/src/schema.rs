//! A small JSON Schema validator: the subset plugins need to describe a
//! settings table and a section.
//!
//! Understood keywords: `type` (one or a list), `enum`, `const`,
//! `properties`, `required`, `additionalProperties` (boolean or schema),
//! `items`, `minItems`, `maxItems`, `minimum`, `maximum`,
//! `exclusiveMinimum`, `exclusiveMaximum`, `minLength`, `maxLength`,
//! `anyOf`, `oneOf`, `allOf`, `not`. Annotations (`title`, `description`,
//! `default`, `$schema`, ...) and keywords outside the subset are ignored,
//! so a schema written for a full validator still loads.

use serde_json::{Map, Value};

/// Checks `value` against `schema`; the error names where (a JSON pointer
/// such as `/redirects/0/status`) and what was expected.
pub fn validate(schema: &Value, value: &Value) -> Result<(), String> {
    check(schema, value, "")
}

/// Checks that a schema is one this validator can use (an object or a
/// boolean, with well-formed keywords of the subset).
pub fn check_schema(schema: &Value) -> Result<(), String> {
    match schema {
        Value::Bool(_) => Ok(()),
        Value::Object(map) => {
            if let Some(t) = map.get("type") {
                let names: Vec<&Value> = match t {
                    Value::Array(a) => a.iter().collect(),
                    other => vec![other],
                };
                for n in names {
                    match n.as_str() {
                        Some(
                            "object" | "array" | "string" | "integer" | "number" | "boolean"
                            | "null",
                        ) => {}
                        _ => return Err(format!("`type` {n} is not a JSON type")),
                    }
                }
            }
            if let Some(props) = map.get("properties") {
                let Some(props) = props.as_object() else {
                    return Err("`properties` must be an object".into());
                };
                for (k, s) in props {
                    check_schema(s).map_err(|e| format!("properties.{k}: {e}"))?;
                }
            }
            for key in ["items", "additionalProperties", "not"] {
                if let Some(s) = map.get(key) {
                    check_schema(s).map_err(|e| format!("{key}: {e}"))?;
                }
            }
            for key in ["anyOf", "oneOf", "allOf"] {
                if let Some(list) = map.get(key) {
                    let Some(list) = list.as_array() else {
                        return Err(format!("`{key}` must be a list of schemas"));
                    };
                    for s in list {
                        check_schema(s).map_err(|e| format!("{key}: {e}"))?;
                    }
                }
            }
            if let Some(req) = map.get("required") {
                if !req
                    .as_array()
                    .is_some_and(|a| a.iter().all(Value::is_string))
                {
                    return Err("`required` must be a list of names".into());
                }
            }
            Ok(())
        }
        other => Err(format!(
            "a schema is an object or a boolean, not {}",
            kind(other)
        )),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a table",
    }
}

fn is_type(v: &Value, name: &str) -> bool {
    match name {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        "number" => v.is_number(),
        "integer" => match v {
            Value::Number(n) => {
                n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
            }
            _ => false,
        },
        _ => true,
    }
}

fn at(path: &str) -> String {
    if path.is_empty() {
        "the top level".into()
    } else {
        format!("`{path}`")
    }
}

fn check(schema: &Value, value: &Value, path: &str) -> Result<(), String> {
    let map = match schema {
        Value::Bool(true) => return Ok(()),
        Value::Bool(false) => return Err(format!("{}: no value is allowed here", at(path))),
        Value::Object(map) => map,
        _ => return Ok(()),
    };
    if let Some(t) = map.get("type") {
        let names: Vec<&str> = match t {
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            other => other.as_str().into_iter().collect(),
        };
        if !names.is_empty() && !names.iter().any(|n| is_type(value, n)) {
            return Err(format!(
                "{}: expected {}, found {}",
                at(path),
                names.join(" or "),
                kind(value)
            ));
        }
    }
    if let Some(Value::Array(options)) = map.get("enum") {
        if !options.contains(value) {
            let list: Vec<String> = options.iter().map(Value::to_string).collect();
            return Err(format!(
                "{}: {value} is not one of {}",
                at(path),
                list.join(", ")
            ));
        }
    }
    if let Some(c) = map.get("const") {
        if c != value {
            return Err(format!("{}: must be {c}", at(path)));
        }
    }
    match value {
        Value::Object(obj) => object(map, obj, path)?,
        Value::Array(items) => array(map, items, path)?,
        Value::String(s) => {
            let n = s.chars().count() as u64;
            if let Some(min) = map.get("minLength").and_then(Value::as_u64) {
                if n < min {
                    return Err(format!("{}: shorter than {min} characters", at(path)));
                }
            }
            if let Some(max) = map.get("maxLength").and_then(Value::as_u64) {
                if n > max {
                    return Err(format!("{}: longer than {max} characters", at(path)));
                }
            }
        }
        Value::Number(n) => {
            let x = n.as_f64().unwrap_or(0.0);
            let bound = |k: &str| map.get(k).and_then(Value::as_f64);
            if let Some(min) = bound("minimum").filter(|m| x < *m) {
                return Err(format!("{}: {n} is less than {min}", at(path)));
            }
            if let Some(max) = bound("maximum").filter(|m| x > *m) {
                return Err(format!("{}: {n} is more than {max}", at(path)));
            }
            if let Some(min) = bound("exclusiveMinimum").filter(|m| x <= *m) {
                return Err(format!("{}: {n} must be more than {min}", at(path)));
            }
            if let Some(max) = bound("exclusiveMaximum").filter(|m| x >= *m) {
                return Err(format!("{}: {n} must be less than {max}", at(path)));
            }
        }
        _ => {}
    }
    combinators(map, value, path)
}

fn object(map: &Map<String, Value>, obj: &Map<String, Value>, path: &str) -> Result<(), String> {
    let props = map.get("properties").and_then(Value::as_object);
    if let Some(Value::Array(required)) = map.get("required") {
        for name in required.iter().filter_map(Value::as_str) {
            if !obj.contains_key(name) {
                return Err(format!("{}: missing `{name}`", at(path)));
            }
        }
    }
    for (k, v) in obj {
        let sub = format!("{path}/{k}");
        match props.and_then(|p| p.get(k)) {
            Some(s) => check(s, v, &sub)?,
            None => match map.get("additionalProperties") {
                Some(Value::Bool(false)) => {
                    let mut msg = format!("{}: unknown key `{k}`", at(path));
                    if let Some(p) = props.filter(|p| !p.is_empty()) {
                        let known: Vec<&str> = p.keys().map(String::as_str).collect();
                        msg.push_str(&format!("; known keys: {}", known.join(", ")));
                    }
                    return Err(msg);
                }
                Some(s) => check(s, v, &sub)?,
                None => {}
            },
        }
    }
    Ok(())
}

fn array(map: &Map<String, Value>, items: &[Value], path: &str) -> Result<(), String> {
    let n = items.len() as u64;
    if let Some(min) = map.get("minItems").and_then(Value::as_u64) {
        if n < min {
            return Err(format!("{}: fewer than {min} items", at(path)));
        }
    }
    if let Some(max) = map.get("maxItems").and_then(Value::as_u64) {
        if n > max {
            return Err(format!("{}: more than {max} items", at(path)));
        }
    }
    if let Some(s) = map.get("items") {
        for (i, v) in items.iter().enumerate() {
            check(s, v, &format!("{path}/{i}"))?;
        }
    }
    Ok(())
}

fn combinators(map: &Map<String, Value>, value: &Value, path: &str) -> Result<(), String> {
    if let Some(Value::Array(all)) = map.get("allOf") {
        for s in all {
            check(s, value, path)?;
        }
    }
    if let Some(Value::Array(any)) = map.get("anyOf") {
        let mut first = None;
        if !any.iter().any(|s| match check(s, value, path) {
            Ok(()) => true,
            Err(e) => {
                first.get_or_insert(e);
                false
            }
        }) {
            return Err(first.unwrap_or_else(|| format!("{}: matches no choice", at(path))));
        }
    }
    if let Some(Value::Array(one)) = map.get("oneOf") {
        let n = one.iter().filter(|s| check(s, value, path).is_ok()).count();
        if n != 1 {
            return Err(format!(
                "{}: matches {n} of the choices where exactly one must match",
                at(path)
            ));
        }
    }
    if let Some(not) = map.get("not") {
        if check(not, value, path).is_ok() {
            return Err(format!("{}: matches a schema it must not", at(path)));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["port"],
            "properties": {
                "port": {"type": "integer", "minimum": 1, "maximum": 65535},
                "mode": {"enum": ["fast", "slow"]},
                "paths": {"type": "array", "items": {"type": "string", "minLength": 1}, "maxItems": 2},
                "ratio": {"type": ["number", "null"], "exclusiveMinimum": 0},
                "pick": {"oneOf": [{"type": "string"}, {"type": "integer"}]}
            }
        })
    }

    #[test]
    fn accepts_and_refuses_with_where_and_why() {
        let cases: &[(Value, Option<&str>)] = &[
            (json!({"port": 80}), None),
            (
                json!({"port": 80, "mode": "fast", "paths": ["/"], "ratio": 0.5}),
                None,
            ),
            (json!({"port": 80.0}), None),
            (json!({}), Some("the top level: missing `port`")),
            (
                json!({"port": "80"}),
                Some("`/port`: expected integer, found a string"),
            ),
            (json!({"port": 0}), Some("`/port`: 0 is less than 1")),
            (
                json!({"port": 70000}),
                Some("`/port`: 70000 is more than 65535"),
            ),
            (
                json!({"port": 1.5}),
                Some("`/port`: expected integer, found a number"),
            ),
            (
                json!({"port": 1, "mode": "x"}),
                Some("`/mode`: \"x\" is not one of \"fast\", \"slow\""),
            ),
            (
                json!({"port": 1, "paths": ["/", ""]}),
                Some("`/paths/1`: shorter than 1 characters"),
            ),
            (
                json!({"port": 1, "paths": ["a", "b", "c"]}),
                Some("`/paths`: more than 2 items"),
            ),
            (
                json!({"port": 1, "ratio": 0}),
                Some("`/ratio`: 0 must be more than 0"),
            ),
            (
                json!({"port": 1, "prot": 2}),
                Some("the top level: unknown key `prot`; known keys: "),
            ),
            (
                json!({"port": 1, "pick": true}),
                Some("`/pick`: matches 0 of the choices"),
            ),
            (
                json!([1]),
                Some("the top level: expected object, found a list"),
            ),
        ];
        for (value, want) in cases {
            let got = validate(&schema(), value);
            match (want, got) {
                (None, Ok(())) => {}
                (Some(w), Err(e)) => assert!(e.starts_with(w), "{value}: {e} (want {w})"),
                (w, g) => panic!("{value}: got {g:?}, want {w:?}"),
            }
        }
    }

    #[test]
    fn schemas_outside_the_subset_are_refused_or_ignored() {
        assert!(check_schema(&schema()).is_ok());
        assert!(check_schema(&json!({"type": "strng"})).is_err());
        assert!(check_schema(&json!({"properties": []})).is_err());
        assert!(check_schema(&json!("object")).is_err());
        assert!(check_schema(&json!({"required": [1]})).is_err());
        // Unknown keywords are ignored.
        assert!(validate(&json!({"format": "uri", "pattern": "^x"}), &json!("y")).is_ok());
        assert!(validate(&json!(false), &json!(1)).is_err());
    }

    #[test]
    fn deep_hostile_values_do_not_panic() {
        let mut v = json!(1);
        for _ in 0..200 {
            v = json!({ "a": [v] });
        }
        let s = json!({"type": "object", "additionalProperties": {"type": "array", "items": true}});
        assert!(validate(&s, &v).is_ok());
    }
}
