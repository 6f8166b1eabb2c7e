//! What `lint` calls *the same schema*: two definitions are the same when they are equal
//! after dropping what does not change the wire (`description`, `title`, `examples`,
//! `default`, `$comment`, `deprecated`, `readOnly`, `writeOnly`, `x-...`).
//!
//! How two different definitions differ, and whether a producer's schema breaks a
//! consumer's, are the compatibility rules `tidings diff` uses too, in the
//! [`tidings_compat`] crate: the producer's schema read as the old one and the consumer's
//! as the new one, every change that narrows breaks the consumer.

use std::fmt::Write as _;

use serde_json::Value;

/// Keywords that do not change what is valid on the wire.
const ANNOTATIONS: &[&str] = &[
    "description",
    "title",
    "examples",
    "example",
    "default",
    "$comment",
    "deprecated",
    "readOnly",
    "writeOnly",
];

/// The schema without annotations (see the module docs).
pub fn normalize(schema: &Value) -> Value {
    match schema {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| !ANNOTATIONS.contains(&k.as_str()) && !k.starts_with("x-"))
                .map(|(k, v)| {
                    // `properties` keys are names, not keywords: keep them all.
                    let v = if k == "properties"
                        || k == "patternProperties"
                        || k == "$defs"
                        || k == "definitions"
                    {
                        match v {
                            Value::Object(props) => Value::Object(
                                props
                                    .iter()
                                    .map(|(n, s)| (n.clone(), normalize(s)))
                                    .collect(),
                            ),
                            other => normalize(other),
                        }
                    } else if k == "enum" || k == "const" || k == "required" {
                        v.clone()
                    } else {
                        normalize(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(normalize).collect()),
        other => other.clone(),
    }
}

/// Canonical text of a value: object keys sorted, no whitespace. Equal values, equal text.
pub fn canonical(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let _ = write!(out, "{}:", Value::String(key.clone()));
                write_canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        other => {
            let _ = write!(out, "{other}");
        }
    }
}

/// The fingerprint two definitions share when they are the same schema.
pub fn fingerprint(payload: Option<&Value>, schema_format: Option<&str>) -> String {
    let schema = payload
        .map(normalize)
        .map(|v| canonical(&v))
        .unwrap_or_default();
    format!("{}|{schema}", schema_format.unwrap_or(""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn order(extra: Value) -> Value {
        let mut base = json!({
            "type": "object",
            "description": "An order",
            "properties": {
                "order_id": {"type": "string", "description": "id"},
                "total": {"type": "number"},
                "status": {"type": "string", "enum": ["new", "paid"]},
                "items": {"type": "array", "items": {"type": "object", "properties": {"sku": {"type": "string"}}, "required": ["sku"]}}
            },
            "required": ["order_id", "total", "status", "items"]
        });
        if let (Value::Object(b), Value::Object(e)) = (&mut base, extra) {
            for (k, v) in e {
                b.insert(k, v);
            }
        }
        base
    }

    #[test]
    fn annotations_do_not_make_a_different_schema() {
        let a = order(json!({}));
        let mut b = order(json!({"title": "Order", "description": "other words"}));
        b["properties"]["order_id"]["description"] = json!("changed");
        assert_eq!(fingerprint(Some(&a), None), fingerprint(Some(&b), None));
        b["properties"]["total"]["type"] = json!("string");
        assert_ne!(fingerprint(Some(&a), None), fingerprint(Some(&b), None));
        // A property named like an annotation is a field, not an annotation.
        let with_title = json!({"type": "object", "properties": {"title": {"type": "string"}}});
        assert!(canonical(&normalize(&with_title)).contains("\"title\""));
    }
}
