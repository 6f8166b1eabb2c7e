//! Structural validation against the official AsyncAPI 3.0.0 JSON Schema (vendored from
//! `@asyncapi/specs`, see `schemas/asyncapi/README.md`), with the `jsonschema` crate.
//!
//! The raw errors of a schema made of `oneOf`s are hard to read ("not valid under any of
//! the schemas"), so each `oneOf`/`anyOf` failure is replaced by the errors of the branch
//! that got furthest, and each error gets a plain sentence.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use jsonschema::error::ValidationErrorKind;
use jsonschema::{ValidationError, Validator};
use serde_json::Value;

/// The vendored `@asyncapi/specs` 6.11.1 `schemas/3.0.0.json`.
pub const ASYNCAPI_3_0_0_SCHEMA: &str = include_str!("../schemas/asyncapi/3.0.0.json");

/// The schema as a value (parsed once).
pub fn schema_value() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        // The file is part of this crate and checked by a test; an empty schema would
        // accept everything, so a broken vendoring must not go unnoticed: the test
        // `vendored_schema_compiles` fails on it.
        serde_json::from_str(ASYNCAPI_3_0_0_SCHEMA).unwrap_or(Value::Bool(false))
    })
}

fn validator() -> Result<&'static Validator, String> {
    static VALIDATOR: OnceLock<Result<Validator, String>> = OnceLock::new();
    VALIDATOR
        .get_or_init(|| {
            jsonschema::options()
                .with_draft(jsonschema::Draft::Draft7)
                .build(schema_value())
                .map_err(|e| format!("the vendored AsyncAPI schema does not compile: {e}"))
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// The property names and required properties of a 3.0.0 object definition
/// (`messageObject`, `channel`, `server`, `operation`, ...), read from the schema.
pub fn object_shape(definition: &str) -> Option<(BTreeSet<String>, Vec<String>)> {
    let id = format!("http://asyncapi.com/definitions/3.0.0/{definition}.json");
    let def = schema_value().pointer(&format!("/definitions/{}", crate::source::escape_token(&id)))?;
    let names = def
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    let required = def
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default();
    Some((names, required))
}

/// One structural problem: where (a JSON pointer into the document) and what.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SchemaError {
    /// JSON pointer of the offending value.
    pub pointer: String,
    /// A sentence describing it.
    pub message: String,
}

/// Validates `document` against the AsyncAPI 3.0.0 schema; empty when it conforms.
pub fn validate(document: &Value) -> Result<Vec<SchemaError>, String> {
    let validator = validator()?;
    let mut out = BTreeSet::new();
    for error in validator.iter_errors(document) {
        explain(&error, &mut out);
    }
    Ok(out.into_iter().collect())
}

fn pointer_of(error: &ValidationError<'_>) -> String {
    error.instance_path().as_str().to_owned()
}

/// Whether a branch failed only because it is the "Reference Object" alternative.
fn is_reference_branch(errors: &[ValidationError<'static>]) -> bool {
    errors.iter().all(|e| match e.kind() {
        ValidationErrorKind::Required { property } => property.as_str() == Some("$ref"),
        _ => false,
    })
}

/// How far a branch got: the deepest pointer any of its errors reaches, then fewer errors.
fn progress(errors: &[ValidationError<'static>]) -> (usize, std::cmp::Reverse<usize>) {
    let depth = errors
        .iter()
        .map(|e| e.instance_path().as_str().matches('/').count())
        .max()
        .unwrap_or(0);
    (depth, std::cmp::Reverse(errors.len()))
}

fn explain(error: &ValidationError<'_>, out: &mut BTreeSet<SchemaError>) {
    let pointer = pointer_of(error);
    let mut push = |pointer: String, message: String| {
        out.insert(SchemaError { pointer, message });
    };
    match error.kind() {
        ValidationErrorKind::OneOfNotValid { context } | ValidationErrorKind::AnyOf { context } => {
            let best = context
                .iter()
                .filter(|branch| !branch.is_empty() && !is_reference_branch(branch))
                .max_by_key(|branch| progress(branch));
            match best {
                Some(branch) => {
                    for e in branch {
                        explain(e, out);
                    }
                }
                None => push(
                    pointer,
                    "is neither a valid object of this kind nor a `$ref` to one".into(),
                ),
            }
        }
        ValidationErrorKind::OneOfMultipleValid { .. } => push(
            pointer,
            "matches more than one of the forms allowed here, exactly one is required".into(),
        ),
        ValidationErrorKind::Required { property } => push(
            pointer,
            format!("required property {} is missing", short(property)),
        ),
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            for name in unexpected {
                push(
                    crate::source::join(&pointer, name),
                    format!("property \"{name}\" is not allowed here"),
                );
            }
        }
        ValidationErrorKind::Type { kind } => push(
            pointer,
            format!(
                "must be {}, but is {}",
                type_words(kind),
                json_type(error.instance())
            ),
        ),
        ValidationErrorKind::Enum { options } => push(
            pointer,
            format!(
                "is {}, but must be one of {}",
                short(error.instance()),
                short(options)
            ),
        ),
        ValidationErrorKind::Constant { expected_value } => push(
            pointer,
            format!(
                "is {}, but must be {}",
                short(error.instance()),
                short(expected_value)
            ),
        ),
        ValidationErrorKind::Pattern { pattern } => push(
            pointer,
            format!(
                "{} does not match the pattern `{pattern}`",
                short(error.instance())
            ),
        ),
        ValidationErrorKind::Format { format } => push(
            pointer,
            format!("{} is not a valid {format}", short(error.instance())),
        ),
        ValidationErrorKind::FalseSchema => push(pointer, "is not allowed here".into()),
        ValidationErrorKind::PropertyNames { error } => {
            push(
                pointer,
                format!(
                    "has a property name that is not allowed: {}",
                    short(error.instance())
                ),
            );
        }
        _ => push(pointer, clip(&error.to_string(), 300)),
    }
}

fn type_words(kind: &jsonschema::error::TypeKind) -> String {
    match kind {
        jsonschema::error::TypeKind::Single(t) => article(&t.to_string()),
        jsonschema::error::TypeKind::Multiple(set) => {
            let names: Vec<String> = set.iter().map(|t| article(&t.to_string())).collect();
            names.join(" or ")
        }
    }
}

fn article(word: &str) -> String {
    match word.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u') => format!("an {word}"),
        _ => format!("a {word}"),
    }
}

/// "a string", "an object", ... for the instance.
pub fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A value in a message: JSON, cut short.
pub fn short(value: &Value) -> String {
    clip(&value.to_string(), 80)
}

fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(max).collect();
        format!("{cut}...")
    }
}

/// The binding kinds the schema has tables for.
pub const BINDING_KINDS: [&str; 4] = ["server", "channel", "operation", "message"];

/// `kind -> protocol -> accepted bindingVersion values` (an empty set: any version),
/// read from the schema's `<kind>BindingsObject.json` definitions, so it always agrees
/// with what the structural validation accepts.
pub fn binding_versions() -> &'static BTreeMap<String, BTreeMap<String, BTreeSet<String>>> {
    static TABLE: OnceLock<BTreeMap<String, BTreeMap<String, BTreeSet<String>>>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table = BTreeMap::new();
        for kind in BINDING_KINDS {
            let id = format!("http://asyncapi.com/definitions/3.0.0/{kind}BindingsObject.json");
            let mut protocols = BTreeMap::new();
            if let Some(props) = schema_value()
                .pointer(&format!("/definitions/{}/properties", crate::source::escape_token(&id)))
                .and_then(Value::as_object)
            {
                for (protocol, def) in props {
                    let versions = def
                        .pointer("/properties/bindingVersion/enum")
                        .and_then(Value::as_array)
                        .map(|a| {
                            a.iter()
                                .filter_map(Value::as_str)
                                .map(str::to_owned)
                                .collect()
                        })
                        .unwrap_or_default();
                    protocols.insert(protocol.clone(), versions);
                }
            }
            table.insert(kind.to_owned(), protocols);
        }
        table
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendored_schema_compiles() {
        assert!(schema_value().is_object());
        validator().expect("the vendored schema compiles offline");
    }

    #[test]
    fn binding_table_matches_the_documented_versions() {
        let t = binding_versions();
        let versions = |kind: &str, p: &str| -> Vec<String> {
            t[kind][p].iter().cloned().collect()
        };
        assert_eq!(versions("channel", "kafka"), ["0.3.0", "0.4.0", "0.5.0"]);
        assert_eq!(versions("channel", "sqs"), ["0.2.0"]);
        assert_eq!(versions("channel", "sns"), ["0.1.0"]);
        assert_eq!(versions("channel", "amqp"), ["0.3.0"]);
        assert_eq!(versions("operation", "mqtt"), ["0.2.0"]);
        assert_eq!(versions("operation", "nats"), ["0.1.0"]);
    }

    #[test]
    fn a_wrong_action_is_explained() {
        let doc: Value = serde_json::json!({
            "asyncapi": "3.0.0",
            "info": {"title": "t", "version": "1"},
            "operations": {"x": {"action": "shout", "channel": {"$ref": "#/channels/c"}}}
        });
        let errors = validate(&doc).expect("schema compiles");
        assert!(
            errors
                .iter()
                .any(|e| e.pointer == "/operations/x/action" && e.message.contains("send")),
            "{errors:#?}"
        );
    }
}
