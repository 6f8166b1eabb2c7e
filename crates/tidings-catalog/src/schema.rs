//! Payload schemas compared field by field: what `lint` calls a different schema and
//! what it calls a producer breaking a consumer.
//!
//! Two definitions are *the same schema* when they are equal after dropping what does
//! not change the wire (`description`, `title`, `examples`, `default`, `$comment`,
//! `deprecated`, `readOnly`, `writeOnly`, `x-...`). A schema is flattened into fields
//! (`items[].sku`): each with its JSON types, whether it is required (in its object)
//! and its `enum`. A producer breaks a consumer when, for a field the consumer
//! requires whose parent the producer sends:
//! - the producer does not have the field (`missing`);
//! - the producer has it but does not require it (`optional`);
//! - the producer's types are not all accepted by the consumer (`type`; an `integer` is
//!   a `number`);
//! - the consumer has an `enum` and the producer may send a value outside it (`enum`).
//!
//! Fields the consumer does not require are checked for `type` and `enum` only when both
//! sides have them. Anything a flattening cannot see (`oneOf` of objects, `if`/`then`,
//! patterns) is not judged.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::Serialize;
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

/// The JSON Schema to compare a payload by: the payload itself, an Avro schema converted
/// ([`avro_to_json_schema`]), or `None` for other formats (compared for equality only).
pub fn comparable(payload: Option<&Value>, schema_format: Option<&str>) -> Option<Value> {
    let payload = payload?;
    match schema_format {
        None => Some(payload.clone()),
        Some(format) if format.to_ascii_lowercase().contains("avro") => {
            Some(avro_to_json_schema(payload))
        }
        Some(_) => None,
    }
}

/// One field of a flattened schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Field {
    /// JSON types (`string`, `integer`, `null`, ...); empty when the schema names none.
    pub types: BTreeSet<String>,
    /// Whether its object requires it.
    pub required: bool,
    /// Its `enum` (or `const`), canonical texts, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed: Option<BTreeSet<String>>,
}

/// Path (`customer.email`, `items[].sku`; `` for the payload itself) -> field.
pub type Fields = BTreeMap<String, Field>;

/// Flattens a payload schema into its fields (depth-limited: recursive types stop).
pub fn flatten(schema: &Value) -> Fields {
    let mut fields = Fields::new();
    walk(schema, String::new(), true, &mut fields, 0);
    fields
}

const MAX_DEPTH: usize = 12;

/// The non-null branch of a nullable `anyOf`/`oneOf` (`Option<Struct>` in schemars),
/// and whether null was one of the branches.
fn unwrap_nullable(schema: &Value) -> (&Value, bool) {
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(branches)) = schema.get(key) {
            let is_null = |b: &Value| b.get("type").and_then(Value::as_str) == Some("null");
            let non_null: Vec<&Value> = branches.iter().filter(|b| !is_null(b)).collect();
            if branches.len() == 2 && non_null.len() == 1 {
                return (non_null[0], true);
            }
        }
    }
    (schema, false)
}

fn walk(schema: &Value, path: String, required: bool, fields: &mut Fields, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    let (inner, nullable) = unwrap_nullable(schema);
    let mut types: BTreeSet<String> = match inner.get("type") {
        Some(Value::String(t)) => BTreeSet::from([t.clone()]),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => BTreeSet::new(),
    };
    if types.is_empty() && inner.get("properties").is_some() {
        types.insert("object".into());
    }
    if nullable && !types.is_empty() {
        types.insert("null".into());
    }
    let allowed = match (inner.get("enum"), inner.get("const")) {
        (Some(Value::Array(values)), _) => Some(values.iter().map(canonical).collect()),
        (_, Some(value)) => Some(BTreeSet::from([canonical(value)])),
        _ => None,
    };
    fields.insert(
        path.clone(),
        Field {
            types,
            required,
            allowed,
        },
    );
    if let Some(Value::Object(properties)) = inner.get("properties") {
        let required_names: BTreeSet<&str> = inner
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for (name, property) in properties {
            let child = if path.is_empty() {
                name.clone()
            } else {
                format!("{path}.{name}")
            };
            walk(
                property,
                child,
                required_names.contains(name.as_str()),
                fields,
                depth + 1,
            );
        }
    }
    if let Some(items) = inner.get("items").filter(|i| i.is_object()) {
        // An element exists whenever the array has one: "required" within the array.
        walk(items, format!("{path}[]"), true, fields, depth + 1);
    }
}

/// One way a producer's schema breaks a consumer's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Break {
    /// The field path (`` for the payload).
    pub field: String,
    /// `missing`, `optional`, `type` or `enum`.
    pub rule: &'static str,
    /// In words.
    pub detail: String,
}

/// The parent path of a field (`a.b` -> `a`, `a[]` -> `a`, `a` -> ``); `None` for ``.
fn parent(path: &str) -> Option<&str> {
    if path.is_empty() {
        return None;
    }
    if let Some(stripped) = path.strip_suffix("[]") {
        return Some(stripped);
    }
    Some(path.rfind('.').map_or("", |at| &path[..at]))
}

fn accepts(consumer: &BTreeSet<String>, producer: &str) -> bool {
    consumer.contains(producer) || (producer == "integer" && consumer.contains("number"))
}

fn shown(types: &BTreeSet<String>) -> String {
    types.iter().cloned().collect::<Vec<_>>().join(" | ")
}

fn label(field: &str) -> String {
    if field.is_empty() {
        "the payload".to_owned()
    } else {
        format!("`{field}`")
    }
}

/// Every way `producer` breaks `consumer` (see the module docs), sorted by field.
pub fn breaks(producer: &Value, consumer: &Value) -> Vec<Break> {
    let p = flatten(producer);
    let c = flatten(consumer);
    let mut out = Vec::new();
    for (path, want) in &c {
        // A field matters only when its parent reaches the consumer: present on the
        // producer's side (and, for the parent, already judged on its own).
        if let Some(parent_path) = parent(path) {
            if !p.contains_key(parent_path) {
                continue;
            }
        }
        let Some(have) = p.get(path) else {
            if want.required {
                out.push(Break {
                    field: path.clone(),
                    rule: "missing",
                    detail: format!(
                        "{} is required by the consumer; the producer does not have it",
                        label(path)
                    ),
                });
            }
            continue;
        };
        if want.required && !have.required {
            out.push(Break {
                field: path.clone(),
                rule: "optional",
                detail: format!(
                    "{} is required by the consumer; the producer may leave it out",
                    label(path)
                ),
            });
        }
        if !want.types.is_empty() && !have.types.is_empty() {
            let rejected: BTreeSet<String> = have
                .types
                .iter()
                .filter(|t| !accepts(&want.types, t))
                .cloned()
                .collect();
            if !rejected.is_empty() {
                out.push(Break {
                    field: path.clone(),
                    rule: "type",
                    detail: format!(
                        "{}: the producer sends {}, the consumer accepts {}",
                        label(path),
                        shown(&have.types),
                        shown(&want.types)
                    ),
                });
            }
        }
        if let Some(accepted) = &want.allowed {
            let outside: Vec<&String> = match &have.allowed {
                Some(sent) => sent.iter().filter(|v| !accepted.contains(*v)).collect(),
                None => Vec::new(),
            };
            if have.allowed.is_none() {
                out.push(Break {
                    field: path.clone(),
                    rule: "enum",
                    detail: format!(
                        "{}: the consumer accepts only {}; the producer's values are not restricted",
                        label(path),
                        accepted.iter().cloned().collect::<Vec<_>>().join(", ")
                    ),
                });
            } else if !outside.is_empty() {
                out.push(Break {
                    field: path.clone(),
                    rule: "enum",
                    detail: format!(
                        "{}: the producer may send {}, which the consumer does not accept",
                        label(path),
                        outside
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                });
            }
        }
    }
    out
}

/// How two definitions differ, field by field, in words (for `schema-mismatch`).
pub fn differences(a: &Value, b: &Value, a_name: &str, b_name: &str) -> Vec<String> {
    let fa = flatten(a);
    let fb = flatten(b);
    let mut out = Vec::new();
    let paths: BTreeSet<&String> = fa.keys().chain(fb.keys()).collect();
    for path in paths {
        match (fa.get(path), fb.get(path)) {
            (Some(_), None) => out.push(format!("{} only in {a_name}", label(path))),
            (None, Some(_)) => out.push(format!("{} only in {b_name}", label(path))),
            (Some(x), Some(y)) => {
                if x.types != y.types {
                    out.push(format!(
                        "{}: {} in {a_name}, {} in {b_name}",
                        label(path),
                        shown(&x.types),
                        shown(&y.types)
                    ));
                }
                if x.required != y.required && !path.is_empty() {
                    let (req, opt) = if x.required {
                        (a_name, b_name)
                    } else {
                        (b_name, a_name)
                    };
                    out.push(format!(
                        "{}: required in {req}, optional in {opt}",
                        label(path)
                    ));
                }
                if x.allowed != y.allowed {
                    out.push(format!("{}: different allowed values", label(path)));
                }
            }
            (None, None) => {}
        }
    }
    if out.is_empty() {
        out.push("the fields agree; other keywords differ (format, pattern, bounds, ...)".into());
    }
    out
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

    #[test]
    fn a_compatible_producer_breaks_nothing() {
        let consumer = json!({"type": "object", "properties": {"order_id": {"type": "string"}, "total": {"type": "number"}}, "required": ["order_id"]});
        let mut producer = order(json!({}));
        producer["properties"]["total"]["type"] = json!("integer");
        assert_eq!(breaks(&producer, &consumer), vec![]);
    }

    #[test]
    fn every_rule_fires() {
        let consumer = order(json!({}));
        let producer = json!({
            "type": "object",
            "properties": {
                "total": {"type": ["string", "null"]},
                "status": {"type": "string"},
                "items": {"type": "array", "items": {"type": "object", "properties": {"sku": {"type": "integer"}}}}
            },
            "required": ["total", "status"]
        });
        let found = breaks(&producer, &consumer);
        let rules: Vec<(&str, &str)> = found.iter().map(|b| (b.field.as_str(), b.rule)).collect();
        assert_eq!(
            rules,
            vec![
                ("items", "optional"),
                ("items[].sku", "optional"),
                ("items[].sku", "type"),
                ("order_id", "missing"),
                ("status", "enum"),
                ("total", "type"),
            ]
        );
        assert!(
            found[5].detail.contains("null | string"),
            "{}",
            found[5].detail
        );
    }

    #[test]
    fn nested_fields_of_an_absent_optional_parent_are_not_judged() {
        let consumer = json!({"type": "object", "properties": {"customer": {"type": "object", "properties": {"email": {"type": "string"}}, "required": ["email"]}}});
        let producer = json!({"type": "object", "properties": {}});
        assert_eq!(breaks(&producer, &consumer), vec![]);
        // Present but without the required nested field: broken.
        let producer = json!({"type": "object", "properties": {"customer": {"type": "object", "properties": {}}}});
        assert_eq!(breaks(&producer, &consumer)[0].rule, "missing");
    }

    #[test]
    fn nullable_struct_references_flatten_through() {
        let schema = json!({"type": "object", "properties": {"address": {"anyOf": [{"type": "object", "properties": {"city": {"type": "string"}}}, {"type": "null"}]}}});
        let fields = flatten(&schema);
        assert_eq!(
            fields["address"].types,
            BTreeSet::from(["null".to_owned(), "object".to_owned()])
        );
        assert!(fields.contains_key("address.city"));
    }

    #[test]
    fn avro_records_compare_with_json_schemas() {
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
        let fields = flatten(&avro_to_json_schema(&avro));
        assert_eq!(
            fields["order_id"].types,
            BTreeSet::from(["string".to_owned()])
        );
        assert_eq!(fields["total"].types, BTreeSet::from(["string".to_owned()]));
        assert_eq!(
            fields["note"].types,
            BTreeSet::from(["null".to_owned(), "string".to_owned()])
        );
        assert!(fields["note"].required, "Avro writes every field");
        assert_eq!(
            fields["status"].allowed.as_ref().map(BTreeSet::len),
            Some(2)
        );
        assert_eq!(
            fields["lines[].qty"].types,
            BTreeSet::from(["integer".to_owned()])
        );
        assert!(
            fields.contains_key("previous.qty"),
            "named types resolve: {fields:?}"
        );
        // A JSON consumer that needs `note` as a plain string is broken by the Avro producer.
        let consumer = json!({"type": "object", "properties": {"note": {"type": "string"}, "order_id": {"type": "string"}}, "required": ["note", "order_id"]});
        let found = breaks(&avro_to_json_schema(&avro), &consumer);
        assert_eq!(
            found
                .iter()
                .map(|b| (b.field.as_str(), b.rule))
                .collect::<Vec<_>>(),
            [("note", "type")]
        );
        assert_eq!(
            comparable(
                Some(&avro),
                Some("application/vnd.apache.avro;version=1.9.0")
            ),
            Some(avro_to_json_schema(&avro))
        );
        assert_eq!(
            comparable(Some(&avro), Some("application/raml+yaml;version=1.0")),
            None
        );
    }

    #[test]
    fn differences_name_both_sides() {
        let a = order(json!({}));
        let b = json!({"type": "object", "properties": {"order_id": {"type": "integer"}}, "required": []});
        let diff = differences(&a, &b, "orders", "billing");
        assert!(
            diff.contains(&"`order_id`: string in orders, integer in billing".to_owned()),
            "{diff:?}"
        );
        assert!(
            diff.contains(&"`order_id`: required in orders, optional in billing".to_owned()),
            "{diff:?}"
        );
        assert!(
            diff.contains(&"`total` only in orders".to_owned()),
            "{diff:?}"
        );
    }
}
