//! Avro payloads, by the Avro specification's schema resolution rules as a Schema
//! Registry applies them. The rules themselves are [`tidings_avro::compat::can_read`]
//! (what the registry server and `tidings registry check` use); this module asks them in
//! both directions and says which direction a [`Level`] checks:
//!
//! - **BACKWARD**: the new schema reads data written with the old one (consumers upgrade
//!   first). A failure *narrows*: writers of the old schema break.
//! - **FORWARD**: the old schema reads data written with the new one (producers upgrade
//!   first). A failure *loosens*: readers of the old schema break.
//! - **FULL**: both. The `_TRANSITIVE` levels check every earlier version; between two
//!   documents there is one earlier version, so they check what their plain forms do.
//! - **NONE**: nothing is checked; every incompatibility is still reported, not breaking.
//!
//! Each incompatibility becomes a [`SchemaChange`] with the direction in
//! [`SchemaChange::rule`], whether the level checks it in [`SchemaChange::checked`], and a
//! JSON pointer to the field or type concerned. Changes that break neither direction
//! (a field added or removed with a default, a promotion read both ways) are listed as
//! safe.
//!
//! | rule broken | kind (BACKWARD failure) | kind (FORWARD failure) |
//! |---|---|---|
//! | a reader's field without default missing from the writer | `required-field-added` | `field-removed` |
//! | a type that cannot be read (no promotion such as int -> long) | `type-narrowed` | `type-widened` |
//! | ... in both directions | `type-changed` | `type-changed` |
//! | an enum symbol unknown to a reader without enum default | `enum-symbol-removed` | `enum-symbol-added` |
//! | a writer's union branch matching no reader branch | `union-narrowed` | `union-widened` |
//! | a record, enum or fixed renamed without alias | `name-changed` | `name-changed` |
//! | a fixed size / decimal precision or scale changed | `fixed-size-changed` / `decimal-changed` | same |

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use tidings_avro::compat::{can_read, Incompatibility, Level, Rule};
use tidings_avro::Contract;

use crate::json::short;
use crate::{Effect, SchemaChange, Wording};

/// Every change from the Avro schema `old` to `new`, incompatibilities first (BACKWARD,
/// then FORWARD), then the safe ones; `level` decides which directions are
/// [`checked`](SchemaChange::checked). An error when either schema is not valid Avro.
pub fn changes(
    old: &Value,
    new: &Value,
    level: Level,
    wording: Wording<'_>,
) -> Result<Vec<SchemaChange>, String> {
    let parse = |which: &str, v: &Value| {
        Contract::parse(&v.to_string())
            .map_err(|e| format!("the {which} Avro schema cannot be compared: {e}"))
    };
    let (o, n) = match wording {
        Wording::Versions { .. } => ("old", "new"),
        Wording::Between { old, new, .. } => (old, new),
    };
    let (oc, nc) = (parse(o, old)?, parse(n, new)?);
    let backward = can_read(&oc, &nc);
    let forward = can_read(&nc, &oc);
    let typed = |list: &[Incompatibility], rule: Rule| -> BTreeSet<String> {
        list.iter()
            .filter(|i| i.rule == rule)
            .map(|i| rest(&i.path).to_owned())
            .collect()
    };
    let both_types: BTreeSet<String> = typed(&backward[..], Rule::Type)
        .intersection(&typed(&forward[..], Rule::Type))
        .cloned()
        .collect();
    let mut out = Vec::new();
    for (list, is_backward) in [(&backward, true), (&forward, false)] {
        for i in list {
            let at = rest(&i.path);
            let kind = match (i.rule, is_backward) {
                (Rule::MissingField, true) => "required-field-added",
                (Rule::MissingField, false) => "field-removed",
                (Rule::Type, _) if both_types.contains(at) => "type-changed",
                (Rule::Type, true) => "type-narrowed",
                (Rule::Type, false) => "type-widened",
                (Rule::EnumSymbol, true) => "enum-symbol-removed",
                (Rule::EnumSymbol, false) => "enum-symbol-added",
                (Rule::UnionBranch, true) => "union-narrowed",
                (Rule::UnionBranch, false) => "union-widened",
                (Rule::Name, _) => "name-changed",
                (Rule::FixedSize, _) => "fixed-size-changed",
                (Rule::Decimal, _) => "decimal-changed",
            };
            // Only a field the new schema added is not in the old one.
            let in_new = is_backward && i.rule == Rule::MissingField;
            let pointer = pointer_of(if in_new { new } else { old }, at);
            let (direction, checked, effect) = if is_backward {
                ("BACKWARD", level.backward(), Effect::Narrows)
            } else {
                ("FORWARD", level.forward(), Effect::Loosens)
            };
            let description = match wording {
                Wording::Versions { .. } => {
                    let what = if is_backward {
                        "the new schema cannot read data written with the old one"
                    } else {
                        "the old schema cannot read data written with the new one"
                    };
                    let unchecked = if checked {
                        String::new()
                    } else {
                        format!(" (not checked at {level}: reported, not breaking)")
                    };
                    format!("Avro {direction}: {what}: {i}{unchecked}")
                }
                Wording::Between { old, new, .. } => {
                    let (reader, writer) = if is_backward { (new, old) } else { (old, new) };
                    format!("{reader} cannot read what {writer} writes: {i}")
                }
            };
            out.push(SchemaChange {
                kind: kind.to_owned(),
                pointer,
                in_new,
                field: field_of(at),
                effect,
                rule: Some(direction),
                checked,
                description,
            });
        }
    }
    let broken: Vec<String> = backward
        .iter()
        .chain(&forward)
        .map(|i| rest(&i.path).to_owned())
        .collect();
    let mut notes = Notes {
        wording,
        broken: &broken,
        out: Vec::new(),
    };
    notes.record(old, new, "", "", "", 0);
    out.extend(notes.out);
    Ok(out)
}

/// A compatibility path without its root name: `Order.items[].qty` -> `.items[].qty`.
fn rest(path: &str) -> &str {
    let cut = path.find(['.', '[', '{', '<']).unwrap_or(path.len());
    &path[cut..]
}

/// The field a path names: `.items[].qty<int>` -> `items[].qty`.
fn field_of(rest: &str) -> String {
    let mut out = String::new();
    let mut in_branch = 0;
    for c in rest.chars() {
        match c {
            '<' => in_branch += 1,
            '>' if in_branch > 0 => in_branch -= 1,
            _ if in_branch > 0 => {}
            _ => out.push(c),
        }
    }
    out.strip_prefix('.').map(str::to_owned).unwrap_or(out)
}

const PRIMITIVES: [&str; 8] = [
    "null", "boolean", "int", "long", "float", "double", "bytes", "string",
];

/// Named types of a schema by name and full name, with their pointers.
fn named_types<'v>(
    v: &'v Value,
    at: &str,
    namespace: Option<&str>,
    out: &mut NamedTypes<'v>,
    depth: usize,
) {
    if depth > 64 {
        return;
    }
    match v {
        Value::Object(map) => {
            let ns = map.get("namespace").and_then(Value::as_str).or(namespace);
            let named = matches!(
                map.get("type").and_then(Value::as_str),
                Some("record" | "error" | "enum" | "fixed")
            );
            if let (true, Some(name)) = (named, map.get("name").and_then(Value::as_str)) {
                out.entry(name.to_owned()).or_insert((v, at.to_owned()));
                if let Some(last) = name.rsplit('.').next() {
                    out.entry(last.to_owned()).or_insert((v, at.to_owned()));
                }
                if let Some(ns) = ns.filter(|_| !name.contains('.')) {
                    out.entry(format!("{ns}.{name}"))
                        .or_insert((v, at.to_owned()));
                }
            }
            for (k, child) in map {
                if matches!(k.as_str(), "type" | "fields" | "items" | "values") {
                    named_types(child, &format!("{at}/{k}"), ns, out, depth + 1);
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                named_types(item, &format!("{at}/{i}"), namespace, out, depth + 1);
            }
        }
        _ => {}
    }
}

/// Named types by name, with their pointers.
type NamedTypes<'v> = BTreeMap<String, (&'v Value, String)>;

/// `node` with named references and `{"type": {...}}` nesting followed, and its pointer.
fn resolve(names: &NamedTypes<'_>, node: &Value, ptr: String) -> (Value, String) {
    let (mut node, mut ptr) = (node.clone(), ptr);
    for _ in 0..16 {
        let next = match &node {
            Value::String(s) if !PRIMITIVES.contains(&s.as_str()) => match names.get(s) {
                Some((def, p)) => ((*def).clone(), p.clone()),
                None => break,
            },
            Value::Object(m) if m.get("type").is_some_and(|t| t.is_object() || t.is_array()) => {
                (m["type"].clone(), format!("{ptr}/type"))
            }
            _ => break,
        };
        (node, ptr) = next;
    }
    (node, ptr)
}

/// `node` resolved, or the first branch of it (a union) that `want` accepts.
fn branch(
    names: &NamedTypes<'_>,
    node: &Value,
    ptr: String,
    want: &dyn Fn(&Value) -> bool,
) -> (Value, String) {
    let (node, ptr) = resolve(names, node, ptr);
    if let Value::Array(branches) = &node {
        for (i, b) in branches.iter().enumerate() {
            let (r, p) = resolve(names, b, format!("{ptr}/{i}"));
            if want(&r) {
                return (r, p);
            }
        }
    }
    (node, ptr)
}

/// A JSON pointer into `schema` for a compatibility path without its root
/// (`.items[].qty`): the field (`/fields/2/type/items/fields/0`) or type it names. As far
/// as it can be followed: a step that cannot is left out.
pub fn pointer_of(schema: &Value, rest: &str) -> String {
    let mut names = NamedTypes::new();
    named_types(schema, "", None, &mut names, 0);
    let mut node = schema.clone();
    let mut ptr = String::new();
    let mut at_field = false;
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        if at_field && c != '<' {
            // Standing on a field: continue into its type.
            match node.get("type").cloned() {
                Some(t) => {
                    node = t;
                    ptr.push_str("/type");
                }
                None => return ptr,
            }
            at_field = false;
        }
        match c {
            '.' => {
                let mut name = String::new();
                while let Some(&c) = chars.peek() {
                    if matches!(c, '.' | '[' | '{' | '<') {
                        break;
                    }
                    name.push(c);
                    chars.next();
                }
                let index = |r: &Value| {
                    r.get("fields").and_then(Value::as_array).and_then(|f| {
                        f.iter().position(|f| {
                            f.get("name").and_then(Value::as_str) == Some(name.as_str())
                        })
                    })
                };
                let (record, p) =
                    branch(&names, &node, ptr.clone(), &|r: &Value| index(r).is_some());
                let Some(i) = index(&record) else { return ptr };
                node = record["fields"][i].clone();
                ptr = format!("{p}/fields/{i}");
                at_field = true;
            }
            '[' | '{' => {
                chars.next(); // `]` or `}`
                let (kind, key) = if c == '[' {
                    ("array", "items")
                } else {
                    ("map", "values")
                };
                let (container, p) = branch(&names, &node, ptr.clone(), &|r: &Value| {
                    r.get("type").and_then(Value::as_str) == Some(kind)
                });
                let Some(inner) = container.get(key) else {
                    return ptr;
                };
                node = inner.clone();
                ptr = format!("{p}/{key}");
            }
            '<' => {
                // A branch of the writer's union: the reader's side has no pointer for it.
                for c in chars.by_ref() {
                    if c == '>' {
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    ptr
}

/// The safe changes: fields added or removed with a default, types changed and read both
/// ways, defaults changed; everything the incompatibilities do not already cover.
struct Notes<'a> {
    wording: Wording<'a>,
    broken: &'a [String],
    out: Vec<SchemaChange>,
}

fn inline_record(v: &Value) -> Option<&Value> {
    let t = v.get("type")?;
    match t.get("type").and_then(Value::as_str) {
        Some("record" | "error") => Some(t),
        _ => None,
    }
}

impl Notes<'_> {
    fn covered(&self, path: &str) -> bool {
        self.broken.iter().any(|b| {
            b == path
                || b.strip_prefix(path)
                    .is_some_and(|r| r.starts_with(['.', '[', '{', '<']))
        })
    }

    fn note(
        &mut self,
        kind: &str,
        pointer: String,
        in_new: bool,
        field: &str,
        versions: String,
        between: String,
    ) {
        let description = match self.wording {
            Wording::Versions { .. } => versions,
            Wording::Between { .. } => between,
        };
        self.out.push(SchemaChange {
            kind: kind.to_owned(),
            pointer,
            in_new,
            field: field.to_owned(),
            effect: Effect::Safe,
            rule: None,
            checked: true,
            description,
        });
    }

    fn record(&mut self, old: &Value, new: &Value, path: &str, op: &str, np: &str, depth: usize) {
        if depth > 16 || old == new {
            return;
        }
        let fields = |v: &Value| -> Vec<(String, Value)> {
            v.get("fields")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|f| Some((f.get("name")?.as_str()?.to_owned(), f.clone())))
                        .collect()
                })
                .unwrap_or_default()
        };
        let (of, nf) = (fields(old), fields(new));
        let (message, o, n) = match self.wording {
            Wording::Versions { message, .. } => (message, "the old schema", "the new schema"),
            Wording::Between { old, new, .. } => ("", old, new),
        };
        for (i, (name, f)) in of.iter().enumerate() {
            let fp = format!("{path}.{name}");
            let field = field_of(&fp);
            let fop = format!("{op}/fields/{i}");
            match nf.iter().position(|(k, _)| k == name) {
                None if !self.covered(&fp) => self.note(
                    "field-removed",
                    fop,
                    false,
                    &field,
                    format!("Avro field \"{field}\" was removed from \"{message}\"; readers of the old schema fill in its default"),
                    format!("`{field}` only in {o} ({n} does not read it)"),
                ),
                None => {}
                Some(j) => {
                    let g = &nf[j].1;
                    let fnp = format!("{np}/fields/{j}");
                    if let (Some(a), Some(b)) = (inline_record(f), inline_record(g)) {
                        self.record(a, b, &fp, &format!("{fop}/type"), &format!("{fnp}/type"), depth + 1);
                    } else if f.get("type") != g.get("type") && !self.covered(&fp) {
                        let (a, b) = (short(&f["type"]), short(&g["type"]));
                        self.note(
                            "type-changed",
                            format!("{fop}/type"),
                            false,
                            &field,
                            format!("Avro field \"{field}\" of \"{message}\" type changed from {a} to {b}; data reads both ways"),
                            format!("`{field}`: {a} in {o}, {b} in {n}; data reads both ways"),
                        );
                    }
                    match (f.get("default"), g.get("default")) {
                        (None, Some(d)) if !self.covered(&fp) => self.note(
                            "default-added",
                            format!("{fnp}/default"),
                            true,
                            &field,
                            format!("Avro field \"{field}\" of \"{message}\" gained the default {}", short(d)),
                            format!("`{field}`: default {} in {n}, none in {o}", short(d)),
                        ),
                        (Some(d), None) if !self.covered(&fp) => self.note(
                            "default-removed",
                            format!("{fop}/default"),
                            false,
                            &field,
                            format!("Avro field \"{field}\" of \"{message}\" lost its default {}", short(d)),
                            format!("`{field}`: default {} in {o}, none in {n}", short(d)),
                        ),
                        _ => {}
                    }
                }
            }
        }
        for (j, (name, _)) in nf.iter().enumerate() {
            let fp = format!("{path}.{name}");
            if of.iter().any(|(k, _)| k == name) || self.covered(&fp) {
                continue;
            }
            let field = field_of(&fp);
            self.note(
                "field-added",
                format!("{np}/fields/{j}"),
                true,
                &field,
                format!("Avro field \"{field}\" (with a default) was added to \"{message}\""),
                format!("`{field}` only in {n} (with a default)"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pointers_follow_fields_arrays_maps_unions_and_named_types() {
        let schema = json!({
            "type": "record", "name": "Order", "namespace": "shop",
            "fields": [
                {"name": "id", "type": "string"},
                {"name": "items", "type": {"type": "array", "items": {"type": "record", "name": "Item", "fields": [
                    {"name": "sku", "type": "string"}, {"name": "qty", "type": "int"}]}}},
                {"name": "tags", "type": {"type": "map", "values": "Item"}},
                {"name": "previous", "type": ["null", "shop.Item"], "default": null}
            ]
        });
        assert_eq!(pointer_of(&schema, ".id"), "/fields/0");
        assert_eq!(
            pointer_of(&schema, ".items[].qty"),
            "/fields/1/type/items/fields/1"
        );
        assert_eq!(
            pointer_of(&schema, ".tags{}.sku"),
            "/fields/1/type/items/fields/0",
            "a named reference points at its definition"
        );
        assert_eq!(
            pointer_of(&schema, ".previous.qty"),
            "/fields/1/type/items/fields/1"
        );
        assert_eq!(pointer_of(&schema, ".previous<null>"), "/fields/3");
        assert_eq!(pointer_of(&schema, ".nope.deeper"), "", "as far as it goes");
        assert_eq!(pointer_of(&schema, ""), "");
    }

    #[test]
    fn paths_become_fields() {
        assert_eq!(rest("Order.items[].qty"), ".items[].qty");
        assert_eq!(rest("$"), "");
        assert_eq!(field_of(".items[].qty<union [null, int]>"), "items[].qty");
    }
}
