//! JSON Schema payloads compared keyword by keyword, recursively through `properties`,
//! `items` and nullable wrappers (`anyOf: [X, {type: null}]`, what schemars writes for
//! `Option<Struct>`).
//!
//! | change | kind | effect |
//! |---|---|---|
//! | type set shrinks / grows / changes (`integer` is a `number`) | `type-narrowed` / `type-widened` / `type-changed` | narrows / loosens / both |
//! | a name added to `required` | `required-field-added` | narrows |
//! | a name dropped from `required`, the property kept | `required-field-made-optional` | loosens |
//! | a property removed | `required-field-removed`, `field-removed` | loosens (both when `additionalProperties: false`) |
//! | an optional property added | `field-added` | safe |
//! | an `enum` value removed / added | `enum-value-removed` / `enum-value-added` | narrows / loosens |
//! | an `enum` gained / lost | `enum-changed` | narrows / loosens |
//! | `const` changed | `const-changed` | both |
//! | `additionalProperties` tightened / loosened | `additional-properties-tightened` / `-loosened` | narrows / safe |
//! | `default` added / removed / changed | `default-added` / `default-removed` / `default-changed` | safe / loosens / loosens |
//! | a bound raised or lowered (`minimum`, `maxLength`, ...) | `constraint-tightened` / `-loosened` | narrows / loosens |
//! | `pattern`, `format` | `pattern-changed`, `format-changed` | narrows when added, loosens when removed, else both |
//! | `oneOf`, `anyOf`, `allOf`, `not`, `if`/`then`/`else`, `patternProperties`, `dependencies` | `composition-changed` | both (not classified precisely) |

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::pointer::join;
use crate::{Effect, SchemaChange, Wording};

/// Deepest nesting compared (recursive or adversarial schemas stop here).
const MAX_DEPTH: usize = 64;

/// Every change from `old` to `new` (both JSON Schemas, references inlined), in schema
/// order, described in `wording`.
pub fn changes(old: &Value, new: &Value, wording: Wording<'_>) -> Vec<SchemaChange> {
    let mut w = Walk {
        wording,
        out: Vec::new(),
    };
    w.schema("", "", old, new, false, 0);
    w.out
}

struct Walk<'a> {
    wording: Wording<'a>,
    out: Vec<SchemaChange>,
}

/// A value in a sentence: JSON, cut short.
pub(crate) fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() <= 80 {
        text
    } else {
        format!("{}...", text.chars().take(80).collect::<String>())
    }
}

fn show(v: Option<&Value>) -> String {
    match v {
        None => "(none)".into(),
        Some(Value::String(s)) => format!("\"{s}\""),
        Some(v) => short(v),
    }
}

/// The non-null branch of a nullable `anyOf`/`oneOf` of two, with its pointer token path.
fn unwrap_nullable(schema: &Value) -> Option<(&Value, String)> {
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(branches)) = schema.get(key) {
            let is_null = |b: &Value| b.get("type").and_then(Value::as_str) == Some("null");
            if branches.len() == 2 {
                if let Some(i) = branches.iter().position(|b| !is_null(b)) {
                    if is_null(&branches[1 - i]) {
                        return Some((&branches[i], format!("/{key}/{i}")));
                    }
                }
            }
        }
    }
    None
}

/// One side of a nullable comparison: the inner schema, its types (with `null` where it
/// is wrapped in an `anyOf`/`oneOf` with null) and the wrapper's pointer.
fn nullable_side<'a>(schema: &'a Value, wrapped: &Option<(&'a Value, String)>) -> (&'a Value, BTreeSet<String>, String) {
    match wrapped {
        Some((inner, p)) => (inner, raw_types(inner).into_iter().chain(["null".to_owned()]).collect(), p.clone()),
        None => (schema, raw_types(schema), String::new()),
    }
}

/// The JSON types a schema names (an object with `properties` and no `type` is an object).
fn raw_types(v: &Value) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = match v.get("type") {
        Some(Value::String(t)) => [t.clone()].into(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => BTreeSet::new(),
    };
    if out.is_empty() && v.get("properties").is_some() {
        out.insert("object".into());
    }
    out
}

/// The types accepted: `number` accepts integers too.
fn accepted(types: &BTreeSet<String>) -> BTreeSet<String> {
    types
        .iter()
        .flat_map(|t| {
            if t == "number" {
                vec![t.clone(), "integer".to_owned()]
            } else {
                vec![t.clone()]
            }
        })
        .collect()
}

fn shown(types: &BTreeSet<String>) -> String {
    if types.is_empty() {
        "any type".into()
    } else {
        types.iter().cloned().collect::<Vec<_>>().join(" | ")
    }
}

fn names(v: Option<&Value>) -> BTreeSet<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn object<'v>(v: &'v Value, key: &str) -> BTreeMap<&'v String, &'v Value> {
    v.get(key)
        .and_then(Value::as_object)
        .map(|m| m.iter().collect())
        .unwrap_or_default()
}

fn child(field: &str, name: &str) -> String {
    if field.is_empty() {
        name.to_owned()
    } else {
        format!("{field}.{name}")
    }
}

impl Walk<'_> {
    /// The label of a field in sentences.
    fn label(&self, field: &str) -> String {
        match self.wording {
            Wording::Versions { message, part } => {
                let plain = field.replace("[]", "");
                if plain.is_empty() {
                    format!("the {part} of \"{message}\"")
                } else {
                    format!("field \"{plain}\" of \"{message}\"")
                }
            }
            Wording::Between { .. } => {
                if field.is_empty() {
                    "the payload".into()
                } else {
                    format!("`{field}`")
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        kind: &str,
        pointer: String,
        in_new: bool,
        field: &str,
        effect: Effect,
        versions: String,
        between: impl FnOnce(&str, &str, &str, &str) -> String,
    ) {
        let description = match self.wording {
            Wording::Versions { .. } => versions,
            Wording::Between {
                old,
                old_verb,
                new,
                new_verb,
            } => between(old, old_verb, new, new_verb),
        };
        self.out.push(SchemaChange {
            kind: kind.to_owned(),
            pointer,
            in_new,
            field: field.to_owned(),
            effect,
            rule: None,
            checked: true,
            description,
        });
    }

    /// The types changed from `ot` to `nt` (shown as `os`, `ns`).
    fn types(
        &mut self,
        at: &str,
        field: &str,
        ot: &BTreeSet<String>,
        nt: &BTreeSet<String>,
        os: String,
        ns: String,
    ) {
        if ot == nt {
            return;
        }
        let (oa, na) = (accepted(ot), accepted(nt));
        if oa == na {
            return;
        }
        let effect = if nt.is_empty() {
            Effect::Loosens
        } else if ot.is_empty() || na.is_subset(&oa) {
            Effect::Narrows
        } else if oa.is_subset(&na) {
            Effect::Loosens
        } else {
            Effect::Both
        };
        let kind = match effect {
            Effect::Narrows => "type-narrowed",
            Effect::Loosens => "type-widened",
            _ => "type-changed",
        };
        let label = self.label(field);
        let (st, sn) = (shown(ot), shown(nt));
        self.push(
            kind,
            join(at, "type"),
            false,
            field,
            effect,
            format!("{label} type changed from {os} to {ns}"),
            |o, ov, n, nv| format!("{label}: {o} {ov} {st}, {n} {nv} {sn}"),
        );
    }

    fn schema(
        &mut self,
        at: &str,
        field: &str,
        old: &Value,
        new: &Value,
        types_done: bool,
        depth: usize,
    ) {
        if old == new || depth > MAX_DEPTH {
            return;
        }
        // Nullable wrappers: compare the types with `null`, then the inner schemas.
        let (ow, nw) = (unwrap_nullable(old), unwrap_nullable(new));
        if ow.is_some() || nw.is_some() {
            let (oi, ot, op) = nullable_side(old, &ow);
            let (ni, nt, _) = nullable_side(new, &nw);
            if !(types_done || ot.is_empty() && ow.is_none() || nt.is_empty() && nw.is_none()) {
                let (os, ns) = (shown(&ot), shown(&nt));
                self.types(at, field, &ot, &nt, os, ns);
            }
            self.default(at, field, old, new);
            self.schema(&format!("{at}{op}"), field, oi, ni, true, depth + 1);
            return;
        }
        let label = self.label(field);
        if !types_done {
            let (ot, nt) = (raw_types(old), raw_types(new));
            let (os, ns) = (show(old.get("type")), show(new.get("type")));
            self.types(at, field, &ot, &nt, os, ns);
        }
        // Required.
        let (or, nr) = (names(old.get("required")), names(new.get("required")));
        let (op, np) = (object(old, "properties"), object(new, "properties"));
        for r in nr.difference(&or) {
            let c = child(field, r);
            let has = op.contains_key(r);
            self.push(
                "required-field-added",
                join(at, "required"),
                true,
                &c,
                Effect::Narrows,
                format!("{label} now requires \"{r}\": messages without it are rejected"),
                |o, _, n, _| {
                    if has {
                        format!("`{c}` is required by {n}; {o} may leave it out")
                    } else {
                        format!("`{c}` is required by {n}; {o} does not have it")
                    }
                },
            );
        }
        for r in or.difference(&nr) {
            if np.contains_key(r) {
                let c = child(field, r);
                self.push(
                    "required-field-made-optional",
                    join(at, "required"),
                    false,
                    &c,
                    Effect::Loosens,
                    format!("\"{r}\" of {label} is no longer required: consumers may not get it"),
                    |o, _, n, _| format!("`{c}` is required by {o}, optional for {n}"),
                );
            }
        }
        // Properties.
        let closed = new.get("additionalProperties") == Some(&Value::Bool(false));
        for (name, os) in &op {
            let pat = join(&join(at, "properties"), name);
            let c = child(field, name);
            match np.get(name) {
                None => {
                    let (kind, text) = if or.contains(name.as_str()) {
                        ("required-field-removed", format!("required field \"{name}\" was removed from {label}: consumers reading it break"))
                    } else {
                        ("field-removed", format!("field \"{name}\" was removed from {label}: consumers reading it break"))
                    };
                    // Where extra properties are refused, old messages carrying it are rejected too.
                    let effect = if closed {
                        Effect::Both
                    } else {
                        Effect::Loosens
                    };
                    self.push(kind, pat, false, &c, effect, text, |o, _, n, _| {
                        if closed {
                            format!("`{c}` is in {o}; {n} refuses it (additionalProperties: false)")
                        } else {
                            format!("`{c}` only in {o}")
                        }
                    });
                }
                Some(ns) => self.schema(&pat, &c, os, ns, false, depth + 1),
            }
        }
        for name in np.keys().filter(|k| !op.contains_key(*k)) {
            if nr.contains(name.as_str()) {
                // Counted by required-field-added already.
                continue;
            }
            let c = child(field, name);
            self.push(
                "field-added",
                join(&join(at, "properties"), name),
                true,
                &c,
                Effect::Safe,
                format!("optional field \"{name}\" was added to {label}"),
                |_, _, n, _| format!("`{c}` only in {n} (optional)"),
            );
        }
        // Items.
        match (old.get("items"), new.get("items")) {
            (Some(oi @ Value::Object(_)), Some(ni @ Value::Object(_))) => self.schema(
                &join(at, "items"),
                &format!("{field}[]"),
                oi,
                ni,
                false,
                depth + 1,
            ),
            (a, b) if a != b && a.is_some() && b.is_some() => self.composition(at, field, "items"),
            _ => {}
        }
        // Enum.
        if let (Some(Value::Array(oe)), Some(Value::Array(ne))) = (old.get("enum"), new.get("enum"))
        {
            for v in oe.iter().filter(|v| !ne.contains(v)) {
                let s = short(v);
                self.push(
                    "enum-value-removed",
                    join(at, "enum"),
                    false,
                    field,
                    Effect::Narrows,
                    format!("{label} no longer allows {s}"),
                    |o, _, n, _| format!("{label}: {s} is allowed by {o}, not by {n}"),
                );
            }
            for v in ne.iter().filter(|v| !oe.contains(v)) {
                let s = short(v);
                self.push(
                    "enum-value-added",
                    join(at, "enum"),
                    true,
                    field,
                    Effect::Loosens,
                    format!("{label} now allows {s}: consumers may not handle it"),
                    |o, _, n, _| format!("{label}: {s} is allowed by {n}, not by {o}"),
                );
            }
        } else if old.get("enum").is_some() != new.get("enum").is_some() {
            let gained = new.get("enum").is_some();
            let effect = if gained {
                Effect::Narrows
            } else {
                Effect::Loosens
            };
            let list = show(new.get("enum").or(old.get("enum")));
            self.push(
                "enum-changed",
                join(at, "enum"),
                gained,
                field,
                effect,
                format!(
                    "{label} {} its list of allowed values",
                    if gained { "gained" } else { "lost" }
                ),
                |o, _, n, _| {
                    if gained {
                        format!(
                            "{label}: {n} accepts only {list}; {o} does not restrict its values"
                        )
                    } else {
                        format!("{label}: {o} restricts its values to {list}; {n} does not")
                    }
                },
            );
        }
        if old.get("const") != new.get("const") {
            let (a, b) = (show(old.get("const")), show(new.get("const")));
            self.push(
                "const-changed",
                join(at, "const"),
                false,
                field,
                Effect::Both,
                format!("{label} constant changed from {a} to {b}"),
                |o, _, n, _| format!("{label}: constant {a} in {o}, {b} in {n}"),
            );
        }
        // additionalProperties.
        let closedness = |v: &Value| match v.get("additionalProperties") {
            Some(Value::Bool(false)) => 2,
            Some(Value::Object(_)) => 1,
            _ => 0,
        };
        let (oa, na) = (closedness(old), closedness(new));
        let (a, b) = (
            show(old.get("additionalProperties")),
            show(new.get("additionalProperties")),
        );
        let between = |o: &str, _: &str, n: &str, _: &str| {
            format!("{label}: additionalProperties {a} in {o}, {b} in {n}")
        };
        if na > oa {
            let text =
                format!("{label} accepts fewer extra properties (additionalProperties {a} -> {b})");
            self.push(
                "additional-properties-tightened",
                join(at, "additionalProperties"),
                false,
                field,
                Effect::Narrows,
                text,
                between,
            );
        } else if na < oa {
            let text =
                format!("{label} accepts more extra properties (additionalProperties {a} -> {b})");
            self.push(
                "additional-properties-loosened",
                join(at, "additionalProperties"),
                false,
                field,
                Effect::Safe,
                text,
                between,
            );
        }
        self.default(at, field, old, new);
        // Bounds: a lower bound raised or an upper bound lowered narrows; the reverse loosens.
        for (key, lower) in [
            ("minimum", true),
            ("exclusiveMinimum", true),
            ("minLength", true),
            ("minItems", true),
            ("minProperties", true),
            ("maximum", false),
            ("exclusiveMaximum", false),
            ("maxLength", false),
            ("maxItems", false),
            ("maxProperties", false),
        ] {
            let (a, b) = (
                old.get(key).and_then(Value::as_f64),
                new.get(key).and_then(Value::as_f64),
            );
            let tighter = match (a, b) {
                _ if a == b => continue,
                (None, Some(_)) => true,
                (Some(_), None) => false,
                (Some(a), Some(b)) => {
                    if lower {
                        b > a
                    } else {
                        b < a
                    }
                }
                (None, None) => continue,
            };
            let effect = if tighter {
                Effect::Narrows
            } else {
                Effect::Loosens
            };
            let (sa, sb) = (show(old.get(key)), show(new.get(key)));
            self.push(
                if tighter {
                    "constraint-tightened"
                } else {
                    "constraint-loosened"
                },
                join(at, key),
                false,
                field,
                effect,
                format!("{label} {key} changed from {sa} to {sb}"),
                |o, _, n, _| format!("{label}: {key} {sa} in {o}, {sb} in {n}"),
            );
        }
        for key in ["pattern", "format"] {
            if old.get(key) != new.get(key) {
                let effect = match (old.get(key), new.get(key)) {
                    (None, Some(_)) => Effect::Narrows,
                    (Some(_), None) => Effect::Loosens,
                    _ => Effect::Both,
                };
                let (sa, sb) = (show(old.get(key)), show(new.get(key)));
                self.push(
                    &format!("{key}-changed"),
                    join(at, key),
                    false,
                    field,
                    effect,
                    format!("{label} {key} changed from {sa} to {sb}"),
                    |o, _, n, _| format!("{label}: {key} {sa} in {o}, {sb} in {n}"),
                );
            }
        }
        for key in [
            "oneOf",
            "anyOf",
            "allOf",
            "not",
            "if",
            "then",
            "else",
            "patternProperties",
            "dependencies",
        ] {
            if old.get(key) != new.get(key) {
                self.composition(at, field, key);
            }
        }
    }

    fn default(&mut self, at: &str, field: &str, old: &Value, new: &Value) {
        let label = self.label(field);
        let p = join(at, "default");
        match (old.get("default"), new.get("default")) {
            (None, Some(v)) => {
                let s = short(v);
                self.push(
                    "default-added",
                    p,
                    true,
                    field,
                    Effect::Safe,
                    format!("{label} gained the default {s}"),
                    |o, _, n, _| format!("{label}: default {s} in {n}, none in {o}"),
                )
            }
            (Some(v), None) => {
                let s = short(v);
                self.push(
                    "default-removed",
                    p,
                    false,
                    field,
                    Effect::Loosens,
                    format!("{label} lost its default {s}: consumers relying on it break"),
                    |o, _, n, _| format!("{label}: default {s} in {o}, none in {n}"),
                )
            }
            (Some(a), Some(b)) if a != b => {
                let (a, b) = (short(a), short(b));
                self.push(
                    "default-changed",
                    p,
                    false,
                    field,
                    Effect::Loosens,
                    format!("{label} default changed from {a} to {b}"),
                    |o, _, n, _| format!("{label}: default {a} in {o}, {b} in {n}"),
                )
            }
            _ => {}
        }
    }

    fn composition(&mut self, at: &str, field: &str, key: &str) {
        let label = self.label(field);
        self.push("composition-changed", join(at, key), false, field, Effect::Both, format!("{label} `{key}` changed; tidings does not classify such changes precisely and treats them as breaking"), |o, _, n, _| {
            format!("{label}: `{key}` differs between {o} and {n}; not classified precisely, treated as breaking")
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn kinds(old: &Value, new: &Value) -> Vec<(String, String, Effect)> {
        changes(old, new, Wording::PRODUCER_CONSUMER)
            .into_iter()
            .map(|c| (c.kind, c.field, c.effect))
            .collect()
    }

    fn order(extra: Value) -> Value {
        let mut base = json!({
            "type": "object",
            "properties": {
                "order_id": {"type": "string"},
                "total": {"type": "number"},
                "status": {"type": "string", "enum": ["new", "paid"]},
                "items": {"type": "array", "items": {"type": "object", "properties": {"sku": {"type": "string"}}, "required": ["sku"]}}
            },
            "required": ["order_id", "total", "status", "items"]
        });
        if let (Value::Object(b), Value::Object(e)) = (&mut base, extra) {
            b.extend(e);
        }
        base
    }

    #[test]
    fn a_compatible_producer_breaks_nothing() {
        let consumer = json!({"type": "object", "properties": {"order_id": {"type": "string"}, "total": {"type": "number"}}, "required": ["order_id"]});
        let mut producer = order(json!({}));
        producer["properties"]["total"]["type"] = json!("integer");
        let narrowing: Vec<_> = kinds(&producer, &consumer)
            .into_iter()
            .filter(|(_, _, e)| e.narrows())
            .collect();
        assert_eq!(narrowing, vec![]);
    }

    #[test]
    fn every_narrowing_rule_fires_with_producer_and_consumer_sentences() {
        let producer = json!({
            "type": "object",
            "properties": {
                "total": {"type": ["string", "null"]},
                "status": {"type": "string"},
                "items": {"type": "array", "items": {"type": "object", "properties": {"sku": {"type": "integer"}}}}
            },
            "required": ["total", "status"]
        });
        let consumer = order(json!({}));
        let found: Vec<SchemaChange> = changes(&producer, &consumer, Wording::PRODUCER_CONSUMER)
            .into_iter()
            .filter(|c| c.effect.narrows())
            .collect();
        let got: Vec<(&str, &str, &str)> = found
            .iter()
            .map(|c| (c.kind.as_str(), c.field.as_str(), c.description.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("required-field-added", "items", "`items` is required by the consumer; the producer may leave it out"),
                ("required-field-added", "order_id", "`order_id` is required by the consumer; the producer does not have it"),
                ("required-field-added", "items[].sku", "`items[].sku` is required by the consumer; the producer may leave it out"),
                ("type-changed", "items[].sku", "`items[].sku`: the producer sends integer, the consumer accepts string"),
                ("enum-changed", "status", "`status`: the consumer accepts only [\"new\",\"paid\"]; the producer does not restrict its values"),
                ("type-changed", "total", "`total`: the producer sends null | string, the consumer accepts number"),
            ]
        );
        assert_eq!(
            found[3].pointer,
            "/properties/items/items/properties/sku/type"
        );
    }

    #[test]
    fn nullable_wrappers_compare_their_inner_schema() {
        let wrap = |inner: Value| json!({"type": "object", "properties": {"address": {"anyOf": [inner, {"type": "null"}]}}});
        let a = wrap(json!({"type": "object", "properties": {"city": {"type": "string"}}}));
        let b = wrap(json!({"type": "object", "properties": {"city": {"type": "integer"}}}));
        assert_eq!(
            kinds(&a, &b),
            [("type-changed".into(), "address.city".into(), Effect::Both)]
        );
        assert_eq!(
            changes(&a, &b, Wording::PRODUCER_CONSUMER)[0].pointer,
            "/properties/address/anyOf/0/properties/city/type"
        );
        // Null dropped: narrowed; null allowed: widened.
        let plain = json!({"type": "object", "properties": {"address": {"type": "object", "properties": {"city": {"type": "string"}}}}});
        assert_eq!(
            kinds(&a, &plain),
            [("type-narrowed".into(), "address".into(), Effect::Narrows)]
        );
        assert_eq!(
            kinds(&plain, &a),
            [("type-widened".into(), "address".into(), Effect::Loosens)]
        );
    }

    #[test]
    fn versions_wording_names_the_message() {
        let old = order(json!({}));
        let mut new = order(json!({}));
        new["properties"]["status"]["enum"] = json!(["new"]);
        let found = changes(
            &old,
            &new,
            Wording::Versions {
                message: "OrderCreated",
                part: "payload",
            },
        );
        assert_eq!(
            found[0].description,
            "field \"status\" of \"OrderCreated\" no longer allows \"paid\""
        );
        assert_eq!(found[0].pointer, "/properties/status/enum");
    }

    #[test]
    fn deep_schemas_stop_instead_of_overflowing() {
        let mut a = json!({"type": "string"});
        let mut b = json!({"type": "integer"});
        for _ in 0..300 {
            a = json!({"type": "object", "properties": {"x": a}});
            b = json!({"type": "object", "properties": {"x": b}});
        }
        assert!(changes(&a, &b, Wording::PRODUCER_CONSUMER).is_empty());
    }
}
