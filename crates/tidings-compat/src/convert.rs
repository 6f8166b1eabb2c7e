//! An Avro schema as the JSON Schema of its JSON form, so an Avro producer and a JSON
//! consumer on the two sides of a bridge (`avro -> json`) are compared by the JSON rules.

use std::collections::BTreeMap;

use serde_json::Value;

/// Deepest nesting converted (recursive types stop here).
const MAX_DEPTH: usize = 12;

/// An Avro schema as the JSON Schema of its JSON form, so an Avro producer and a JSON
/// consumer on the two sides of a bridge (`avro -> json`) are compared field by field.
/// Every record field is required (Avro writes them all); a union with `null` is
/// nullable; `int`/`long` are integers, `float`/`double` numbers, `bytes`/`fixed`
/// strings (a `decimal` too, as tidings writes decimals), `enum` a string enum, `map`
/// an object. Other unions and unknown named types become `{}` (not judged).
pub fn avro_to_json_schema(avro: &Value) -> Value {
    let mut named = BTreeMap::new();
    avro_convert(avro, &mut named, 0)
}

fn avro_convert(avro: &Value, named: &mut BTreeMap<String, Value>, depth: usize) -> Value {
    if depth > MAX_DEPTH {
        return serde_json::json!({});
    }
    let primitive = |t: &str| -> Option<Value> {
        let json = match t {
            "null" => "null",
            "boolean" => "boolean",
            "int" | "long" => "integer",
            "float" | "double" => "number",
            "bytes" | "string" => "string",
            _ => return None,
        };
        Some(serde_json::json!({"type": json}))
    };
    match avro {
        Value::String(t) => primitive(t)
            .or_else(|| named.get(t).cloned())
            .unwrap_or_else(|| serde_json::json!({})),
        Value::Array(branches) => {
            let is_null = |b: &Value| b.as_str() == Some("null");
            let others: Vec<&Value> = branches.iter().filter(|b| !is_null(b)).collect();
            match (others.len(), branches.len()) {
                (1, 2) => {
                    serde_json::json!({"anyOf": [avro_convert(others[0], named, depth + 1), {"type": "null"}]})
                }
                (1, 1) => avro_convert(others[0], named, depth + 1),
                _ => serde_json::json!({}),
            }
        }
        Value::Object(map) => {
            let kind = map.get("type");
            if map.get("logicalType").and_then(Value::as_str) == Some("decimal") {
                return serde_json::json!({"type": "string"});
            }
            let converted = match kind.and_then(Value::as_str) {
                Some("record") | Some("error") => {
                    let mut properties = serde_json::Map::new();
                    let mut required = Vec::new();
                    for field in map
                        .get("fields")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                    {
                        let Some(name) = field.get("name").and_then(Value::as_str) else {
                            continue;
                        };
                        let ty = field.get("type").cloned().unwrap_or(Value::Null);
                        properties.insert(name.to_owned(), avro_convert(&ty, named, depth + 1));
                        required.push(Value::String(name.to_owned()));
                    }
                    serde_json::json!({"type": "object", "properties": properties, "required": required})
                }
                Some("enum") => {
                    serde_json::json!({"type": "string", "enum": map.get("symbols").cloned().unwrap_or(Value::Array(Vec::new()))})
                }
                Some("array") => {
                    let items = map
                        .get("items")
                        .map(|i| avro_convert(i, named, depth + 1))
                        .unwrap_or_default();
                    serde_json::json!({"type": "array", "items": items})
                }
                Some("map") => serde_json::json!({"type": "object"}),
                Some("fixed") => serde_json::json!({"type": "string"}),
                Some(other) => primitive(other).unwrap_or_else(|| serde_json::json!({})),
                // `{"type": {...}}` or `{"type": [...]}`: the type is nested.
                None => kind
                    .map(|k| avro_convert(k, named, depth + 1))
                    .unwrap_or_else(|| serde_json::json!({})),
            };
            // Named types can be referred to by name (plain or namespaced) later on.
            if let Some(name) = map.get("name").and_then(Value::as_str) {
                if matches!(
                    kind.and_then(Value::as_str),
                    Some("record" | "error" | "enum" | "fixed")
                ) {
                    named.insert(name.to_owned(), converted.clone());
                    if let Some(ns) = map.get("namespace").and_then(Value::as_str) {
                        named.insert(format!("{ns}.{name}"), converted.clone());
                    }
                }
            }
            converted
        }
        _ => serde_json::json!({}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn records_become_objects_with_every_field_required() {
        let avro = json!({
            "type": "record", "name": "Order", "namespace": "shop",
            "fields": [
                {"name": "order_id", "type": "string"},
                {"name": "total", "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}},
                {"name": "note", "type": ["null", "string"], "default": null},
                {"name": "status", "type": {"type": "enum", "name": "Status", "symbols": ["new", "paid"]}},
                {"name": "lines", "type": {"type": "array", "items": {"type": "record", "name": "Line", "fields": [{"name": "qty", "type": "int"}]}}},
                {"name": "previous", "type": ["null", "Line"]}
            ]
        });
        let json = avro_to_json_schema(&avro);
        assert_eq!(
            json["required"],
            json!(["order_id", "total", "note", "status", "lines", "previous"])
        );
        assert_eq!(json["properties"]["total"], json!({"type": "string"}));
        assert_eq!(
            json["properties"]["note"],
            json!({"anyOf": [{"type": "string"}, {"type": "null"}]})
        );
        assert_eq!(json["properties"]["status"]["enum"], json!(["new", "paid"]));
        assert_eq!(
            json["properties"]["lines"]["items"]["properties"]["qty"],
            json!({"type": "integer"})
        );
        assert_eq!(
            json["properties"]["previous"]["anyOf"][0]["properties"]["qty"],
            json!({"type": "integer"}),
            "named types resolve"
        );
    }
}
