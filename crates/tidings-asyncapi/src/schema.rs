//! Turning schemars root schemas into AsyncAPI payloads plus `components/schemas`.
//!
//! schemars emits a self-contained root schema: `$schema`, the type itself, and a
//! `definitions` (draft-07) or `$defs` (2020-12) block that `$ref`s point into. In an
//! AsyncAPI document the payload sits deep inside the document, so `#/definitions/X`
//! would resolve against the document root. Every definition is therefore hoisted into
//! `components/schemas` and every `$ref` rewritten to `#/components/schemas/X`.
//!
//! AsyncAPI 3.0's Schema Object is a superset of draft-07, so the few 2020-12
//! constructs schemars may produce are rewritten to their draft-07 equivalents:
//! `prefixItems` -> array `items` (+ `additionalItems`), `dependentRequired` /
//! `dependentSchemas` -> `dependencies`, and `$ref` with siblings (which draft-07
//! ignores) -> `allOf: [{$ref}]` with the siblings kept.
//!
//! The walk is schema-aware: only keywords whose value is a schema are descended
//! into, so a property called `$ref` or a `default` value that looks like a schema is
//! left alone.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// Where hoisted schemas live in the document.
pub(crate) const COMPONENT_SCHEMAS: &str = "#/components/schemas/";

/// Keywords whose value is one schema (or, for `items`, possibly an array).
const SINGLE: &[&str] = &[
    "additionalItems",
    "additionalProperties",
    "contains",
    "contentSchema",
    "else",
    "if",
    "items",
    "not",
    "propertyNames",
    "then",
    "unevaluatedItems",
    "unevaluatedProperties",
];
/// Keywords whose value is an array of schemas.
const ARRAYS: &[&str] = &["allOf", "anyOf", "oneOf", "prefixItems", "items"];
/// Keywords whose value maps names to schemas.
const MAPS: &[&str] = &[
    "$defs",
    "definitions",
    "dependencies",
    "dependentSchemas",
    "patternProperties",
    "properties",
];
/// Keywords holding definitions to hoist.
const DEFINITIONS: &[&str] = &["definitions", "$defs"];

/// A payload or headers schema ready for the document.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Prepared {
    /// What goes into the message: the root schema inline, or a `$ref` to it when the
    /// schema refers to its own root (recursive types).
    pub root: Value,
    /// Schemas to add to `components/schemas`, keyed by component name.
    pub hoisted: BTreeMap<String, Value>,
}

/// Prepares one schemars root `schema` for the document, rewriting it in place.
/// `fallback_name` names the root in `components/schemas` when it must be hoisted and
/// has no usable `title`. Errors are reasons, without the message name (the caller adds
/// it).
pub(crate) fn prepare(schema: Value, fallback_name: &str) -> Result<Prepared, Vec<String>> {
    let mut root = match schema {
        Value::Bool(_) => return Ok(Prepared { root: schema, hoisted: BTreeMap::new() }),
        Value::Object(_) => schema,
        _ => return Err(vec!["not a JSON Schema (object or boolean)".to_owned()]),
    };
    let mut errors = Vec::new();

    // 1. Take every definition block out of the tree, wherever it is.
    let mut definitions: BTreeMap<String, Value> = BTreeMap::new();
    collect_definitions(&mut root, &mut definitions, &mut errors);
    strip_root_keywords(&mut root);
    for schema in definitions.values_mut() {
        strip_root_keywords(schema);
    }

    // 2. Component names: definition names already are, unless they hold characters
    //    a component key or a URI fragment cannot.
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    let mut taken: BTreeMap<String, String> = BTreeMap::new();
    for name in definitions.keys() {
        let component = component_name(name);
        if let Some(other) = taken.get(&component) {
            errors.push(format!(
                "definitions `{other}` and `{name}` both map to the schema name `{component}`"
            ));
            continue;
        }
        taken.insert(component.clone(), name.clone());
        names.insert(name.clone(), component);
    }

    // 3. A reference into the root itself (`#`, `#/properties/...`) needs the root in
    //    `components/schemas` too, since the payload is not at the document root.
    let mut refs = Vec::new();
    collect_refs(&root, &mut refs);
    for schema in definitions.values() {
        collect_refs(schema, &mut refs);
    }
    let needs_root = refs
        .iter()
        .any(|r| matches!(decode_fragment(r), Ok(Some(segments)) if definition_at(&segments).is_none()));
    let root_name = if needs_root {
        let titled = root
            .get("title")
            .and_then(Value::as_str)
            .map(component_name)
            .filter(|name| !name.is_empty() && !taken.contains_key(name));
        let fallback = component_name(fallback_name);
        match titled {
            Some(name) => Some(name),
            None if !taken.contains_key(&fallback) => Some(fallback),
            None => {
                errors.push(format!(
                    "the root schema refers to itself and its name `{fallback}` is taken by a definition"
                ));
                None
            }
        }
    } else {
        None
    };

    // 4. Rewrite references and 2020-12 keywords everywhere.
    let context = Context {
        names: &names,
        root_name: root_name.as_deref(),
    };
    transform(&mut root, &context, &mut errors);
    let mut hoisted = BTreeMap::new();
    for (name, mut schema) in definitions {
        transform(&mut schema, &context, &mut errors);
        if let Some(component) = names.get(&name) {
            hoisted.insert(component.clone(), schema);
        }
    }
    if !errors.is_empty() {
        errors.sort();
        errors.dedup();
        return Err(errors);
    }
    let root = match root_name {
        Some(name) => {
            let reference = format!("{COMPONENT_SCHEMAS}{name}");
            hoisted.insert(name, root);
            let mut object = Map::new();
            object.insert("$ref".to_owned(), Value::String(reference));
            Value::Object(object)
        }
        None => root,
    };
    Ok(Prepared { root, hoisted })
}

/// A name usable as a `components` key (`^[\w.\-]+$`) and, unescaped, in a `$ref`:
/// every other character becomes `_`.
pub(crate) fn component_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// What the rewrite needs to know.
struct Context<'a> {
    /// Definition name -> component name.
    names: &'a BTreeMap<String, String>,
    /// Component name of the root, when it is hoisted.
    root_name: Option<&'a str>,
}

/// Removes keywords that only make sense at the root of a standalone schema document.
fn strip_root_keywords(schema: &mut Value) {
    if let Value::Object(map) = schema {
        // `$id` would change the base URI the rewritten `#/components/...` refs resolve against.
        map.remove("$id");
    }
}

/// Calls `f` on every direct subschema of `map` (schema-valued keywords only).
fn for_each_subschema_mut(map: &mut Map<String, Value>, f: &mut dyn FnMut(&mut Value)) {
    for (key, value) in map.iter_mut() {
        let key = key.as_str();
        match value {
            Value::Array(items) if ARRAYS.contains(&key) => items.iter_mut().for_each(&mut *f),
            Value::Object(entries) if MAPS.contains(&key) => {
                for entry in entries.values_mut() {
                    // `dependencies` mixes schemas with arrays of property names.
                    if entry.is_object() || entry.is_boolean() {
                        f(entry);
                    }
                }
            }
            Value::Object(_) | Value::Bool(_) if SINGLE.contains(&key) => f(value),
            _ => {}
        }
    }
}

/// Calls `f` on every direct subschema of `value`.
fn for_each_subschema(value: &Value, f: &mut dyn FnMut(&Value)) {
    let Value::Object(map) = value else { return };
    for (key, value) in map {
        let key = key.as_str();
        match value {
            Value::Array(items) if ARRAYS.contains(&key) => items.iter().for_each(&mut *f),
            Value::Object(entries) if MAPS.contains(&key) => entries
                .values()
                .filter(|entry| entry.is_object() || entry.is_boolean())
                .for_each(&mut *f),
            Value::Object(_) | Value::Bool(_) if SINGLE.contains(&key) => f(value),
            _ => {}
        }
    }
}

/// Moves every `definitions` / `$defs` entry, at any depth, into `into`.
fn collect_definitions(
    schema: &mut Value,
    into: &mut BTreeMap<String, Value>,
    errors: &mut Vec<String>,
) {
    let Value::Object(map) = schema else { return };
    let mut found = Vec::new();
    for keyword in DEFINITIONS {
        match map.remove(*keyword) {
            Some(Value::Object(entries)) => found.extend(entries),
            Some(_) => errors.push(format!("`{keyword}` is not an object")),
            None => {}
        }
    }
    for_each_subschema_mut(map, &mut |child| collect_definitions(child, into, errors));
    for (name, mut definition) in found {
        collect_definitions(&mut definition, into, errors);
        match into.get(&name) {
            Some(existing) if *existing != definition => {
                errors.push(format!("definition `{name}` appears twice with different content"))
            }
            Some(_) => {}
            None => {
                into.insert(name, definition);
            }
        }
    }
}

/// Every `$ref` string in schema positions of `schema`.
fn collect_refs(schema: &Value, into: &mut Vec<String>) {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        into.push(reference.to_owned());
    }
    for_each_subschema(schema, &mut |child| collect_refs(child, into));
}

/// Rewrites `schema` bottom-up (children first, so schemas this creates are not
/// visited again).
fn transform(schema: &mut Value, context: &Context<'_>, errors: &mut Vec<String>) {
    let Value::Object(map) = schema else { return };
    for_each_subschema_mut(map, &mut |child| transform(child, context, errors));

    map.remove("$schema");

    // 2020-12 tuples: `prefixItems` + `items` -> draft-07 array `items` + `additionalItems`.
    if let Some(prefix) = map.remove("prefixItems") {
        if let Some(rest) = map.remove("items") {
            map.insert("additionalItems".to_owned(), rest);
        }
        map.insert("items".to_owned(), prefix);
    }

    // 2020-12 split draft-07's `dependencies` in two; merge them back.
    for keyword in ["dependentRequired", "dependentSchemas"] {
        if let Some(Value::Object(entries)) = map.remove(keyword) {
            let dependencies = map
                .entry("dependencies")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(dependencies) = dependencies {
                dependencies.extend(entries);
            }
        }
    }

    if let Some(Value::String(reference)) = map.get("$ref") {
        let rewritten = match rewrite_ref(reference, context) {
            Ok(rewritten) => rewritten,
            Err(reason) => {
                errors.push(reason);
                reference.clone()
            }
        };
        if map.len() == 1 {
            map.insert("$ref".to_owned(), Value::String(rewritten));
        } else {
            // Draft-07 ignores everything next to `$ref`; `allOf` keeps the siblings
            // (usually a field's `description`) meaningful.
            map.remove("$ref");
            let mut target = Map::new();
            target.insert("$ref".to_owned(), Value::String(rewritten));
            let target = Value::Object(target);
            match map.get_mut("allOf") {
                Some(Value::Array(all_of)) => all_of.insert(0, target),
                _ => {
                    map.insert("allOf".to_owned(), Value::Array(vec![target]));
                }
            }
        }
    }
}

/// The new target of a `$ref`. References outside this schema (other documents, URLs)
/// stay as they are.
fn rewrite_ref(reference: &str, context: &Context<'_>) -> Result<String, String> {
    let segments = match decode_fragment(reference) {
        Ok(Some(segments)) => segments,
        Ok(None) => return Ok(reference.to_owned()),
        Err(reason) => return Err(format!("`$ref: {reference}`: {reason}")),
    };
    let (base, rest) = match definition_at(&segments) {
        Some(at) => {
            let name = &segments[at + 1];
            let component = context
                .names
                .get(name)
                .ok_or_else(|| format!("`$ref: {reference}` points to no definition"))?;
            (component.as_str(), &segments[at + 2..])
        }
        None => match context.root_name {
            Some(root) => (root, &segments[..]),
            None => return Err(format!("`$ref: {reference}` cannot be resolved")),
        },
    };
    let mut out = format!("{COMPONENT_SCHEMAS}{base}");
    for segment in rest {
        out.push('/');
        out.push_str(&encode_segment(segment));
    }
    Ok(out)
}

/// The JSON Pointer segments of a same-document reference (`#/a/b`): `Ok(None)` for a
/// reference to another document.
fn decode_fragment(reference: &str) -> Result<Option<Vec<String>>, String> {
    let Some(fragment) = reference.strip_prefix('#') else {
        return Ok(None);
    };
    if fragment.is_empty() {
        return Ok(Some(Vec::new()));
    }
    let Some(pointer) = fragment.strip_prefix('/') else {
        return Err("anchors (`#name`) are not supported".to_owned());
    };
    pointer
        .split('/')
        .map(|segment| {
            let decoded = percent_decode(segment)?;
            Ok(decoded.replace("~1", "/").replace("~0", "~"))
        })
        .collect::<Result<Vec<_>, String>>()
        .map(Some)
}

/// Index of the `definitions`/`$defs` keyword a pointer goes through, if any (followed
/// by a definition name). A segment right after a name-to-schema map keyword is a
/// property name, not a keyword, and is skipped.
fn definition_at(segments: &[String]) -> Option<usize> {
    (0..segments.len().saturating_sub(1)).find(|&at| {
        DEFINITIONS.contains(&segments[at].as_str())
            && (at == 0 || !MAPS.contains(&segments[at - 1].as_str()))
    })
}

/// Decodes `%XX` escapes of a URI fragment segment.
fn percent_decode(segment: &str) -> Result<String, String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] == b'%' {
            let hex = segment
                .get(at + 1..at + 3)
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                .ok_or_else(|| "malformed percent-escape".to_owned())?;
            out.push(hex);
            at += 3;
        } else {
            out.push(bytes[at]);
            at += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "percent-escapes are not UTF-8".to_owned())
}

/// One JSON Pointer segment, escaped for use in a URI fragment.
fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for c in segment.chars() {
        match c {
            '~' => out.push_str("~0"),
            '/' => out.push_str("~1"),
            c if c.is_ascii_alphanumeric() || "-._!$&'()*+,;=:@".contains(c) => out.push(c),
            c => {
                let mut buffer = [0; 4];
                for byte in c.encode_utf8(&mut buffer).bytes() {
                    out.push_str(&format!("%{byte:02X}"));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ok(schema: Value) -> Prepared {
        match prepare(schema.clone(), "MsgPayload") {
            Ok(prepared) => prepared,
            Err(errors) => panic!("{errors:?}"),
        }
    }

    #[test]
    fn hoists_draft07_definitions_and_rewrites_refs_at_depth() {
        let prepared = ok(json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "title": "Order",
            "type": "object",
            "properties": {
                "items": {"type": "array", "items": {"$ref": "#/definitions/Item"}},
                "either": {"anyOf": [{"$ref": "#/definitions/Item"}, {"type": "null"}]},
                "by_sku": {"type": "object", "additionalProperties": {"$ref": "#/definitions/Item"}},
                "$ref": {"type": "string", "default": {"$ref": "#/definitions/NotARef"}}
            },
            "definitions": {
                "Item": {
                    "type": "object",
                    "properties": {"money": {"$ref": "#/definitions/Money"}}
                },
                "Money": {"type": "string"}
            }
        }));
        assert_eq!(
            prepared.root,
            json!({
                "title": "Order",
                "type": "object",
                "properties": {
                    "items": {"type": "array", "items": {"$ref": "#/components/schemas/Item"}},
                    "either": {"anyOf": [{"$ref": "#/components/schemas/Item"}, {"type": "null"}]},
                    "by_sku": {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/Item"}},
                    "$ref": {"type": "string", "default": {"$ref": "#/definitions/NotARef"}}
                }
            })
        );
        assert_eq!(
            prepared.hoisted,
            BTreeMap::from([
                (
                    "Item".to_owned(),
                    json!({"type": "object", "properties": {"money": {"$ref": "#/components/schemas/Money"}}})
                ),
                ("Money".to_owned(), json!({"type": "string"})),
            ])
        );
    }

    #[test]
    fn draft_2020_12_becomes_draft_07() {
        let prepared = ok(json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": {
                "pair": {"type": "array", "prefixItems": [{"type": "string"}, {"$ref": "#/$defs/N"}], "items": false},
                "documented": {"$ref": "#/$defs/N", "description": "Count."},
                "kind": {"const": "x"},
                "maybe": {"type": ["string", "null"]}
            },
            "dependentRequired": {"a": ["b"]},
            "$defs": {"N": {"type": "integer", "$defs": {"Deep": {"type": "boolean"}}}}
        }));
        assert_eq!(
            prepared.root,
            json!({
                "type": "object",
                "properties": {
                    "pair": {"type": "array", "items": [{"type": "string"}, {"$ref": "#/components/schemas/N"}], "additionalItems": false},
                    "documented": {"allOf": [{"$ref": "#/components/schemas/N"}], "description": "Count."},
                    "kind": {"const": "x"},
                    "maybe": {"type": ["string", "null"]}
                },
                "dependencies": {"a": ["b"]}
            })
        );
        assert_eq!(prepared.hoisted.keys().collect::<Vec<_>>(), ["Deep", "N"]);
        assert_eq!(prepared.hoisted["N"], json!({"type": "integer"}));
    }

    #[test]
    fn recursive_root_is_hoisted_under_its_title() {
        let prepared = ok(json!({
            "title": "Node",
            "type": "object",
            "properties": {"children": {"type": "array", "items": {"$ref": "#"}}}
        }));
        assert_eq!(prepared.root, json!({"$ref": "#/components/schemas/Node"}));
        assert_eq!(
            prepared.hoisted["Node"]["properties"]["children"]["items"],
            json!({"$ref": "#/components/schemas/Node"})
        );
        let untitled = ok(json!({"properties": {"me": {"$ref": "#/properties/x"}}}));
        assert_eq!(untitled.root, json!({"$ref": "#/components/schemas/MsgPayload"}));
        assert_eq!(
            untitled.hoisted["MsgPayload"]["properties"]["me"],
            json!({"$ref": "#/components/schemas/MsgPayload/properties/x"})
        );
    }

    #[test]
    fn escaped_definition_names_are_decoded_and_sanitized() {
        let prepared = ok(json!({
            "properties": {"a": {"$ref": "#/definitions/Page%3CItem%3E"}, "b": {"$ref": "#/definitions/a~1b"}},
            "definitions": {"Page<Item>": {"type": "object"}, "a/b": {"type": "string"}}
        }));
        assert_eq!(prepared.root["properties"]["a"], json!({"$ref": "#/components/schemas/Page_Item_"}));
        assert_eq!(prepared.root["properties"]["b"], json!({"$ref": "#/components/schemas/a_b"}));
    }

    #[test]
    fn errors() {
        assert!(prepare(json!("string"), "X").is_err());
        let dangling = prepare(json!({"$ref": "#/definitions/Missing"}), "X").unwrap_err();
        assert_eq!(dangling, ["`$ref: #/definitions/Missing` points to no definition"]);
        let collide = prepare(
            json!({"definitions": {"a b": {}, "a_b": {"type": "string"}}}),
            "X",
        )
        .unwrap_err();
        assert_eq!(collide, ["definitions `a b` and `a_b` both map to the schema name `a_b`"]);
        assert!(prepare(json!({"$ref": "#anchor"}), "X").is_err());
        assert!(prepare(json!({"$ref": "#/definitions/%ZZ"}), "X").is_err());
        // Booleans are schemas; external references are left alone.
        assert_eq!(ok(json!(true)).root, json!(true));
        assert_eq!(ok(json!({"$ref": "other.json#/X"})).root, json!({"$ref": "other.json#/X"}));
    }
}
