//! # tidings-compat
//!
//! The one set of schema compatibility rules that `tidings diff` (two versions of a
//! document) and `tidings catalog lint` (a producer's schema against a consumer's) share.
//!
//! Both ask the same question of two payload schemas, an *old* one and a *new* one: which
//! changes turn the one into the other, and what does each do to the set of valid messages?
//! A change either **narrows** what is accepted (a message valid under the old schema is
//! not under the new one: a required field added, a type narrowed, an enum value removed,
//! `additionalProperties` tightened) or **loosens** what is guaranteed (a message may now
//! lack something a reader relied on: a field removed, a type widened, an enum value
//! added, a default dropped), or both, or neither ([`Effect`]).
//!
//! - `tidings diff` reads old and new as two versions of one message: narrowing breaks the
//!   producers of a message the application receives, loosening the consumers of a
//!   message it sends.
//! - `tidings catalog lint` reads the producer's schema as old and the consumer's as new:
//!   whatever *narrows* from the one to the other is a message the producer may send and
//!   the consumer refuses ([`breaks`]).
//!
//! Modules:
//! - [`json`]: JSON Schema payloads, keyword by keyword ([`json::changes`]);
//! - [`avro`]: Avro payloads, by the Avro specification's resolution rules as a Schema
//!   Registry applies them (BACKWARD, FORWARD, FULL and their `_TRANSITIVE` forms), reusing
//!   [`tidings_avro::compat`];
//! - [`convert`]: an Avro schema as the JSON Schema of its JSON form, so an Avro producer
//!   and a JSON consumer on the two sides of a bridge are compared too.
#![warn(missing_docs)]

pub mod avro;
pub mod convert;
pub mod json;
mod pointer;

use serde::Serialize;
use serde_json::Value;

pub use tidings_avro::compat::Level;

/// What a change does to the set of valid messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Effect {
    /// Nothing anyone relies on.
    Safe,
    /// Some message valid under the old schema is not under the new one: writers of the
    /// old schema break.
    Narrows,
    /// Readers lose something the old schema guaranteed.
    Loosens,
    /// Both.
    Both,
}

impl Effect {
    /// Narrows (or both): writers of the old schema break.
    pub fn narrows(self) -> bool {
        matches!(self, Effect::Narrows | Effect::Both)
    }

    /// Loosens (or both): readers of the old schema break.
    pub fn loosens(self) -> bool {
        matches!(self, Effect::Loosens | Effect::Both)
    }
}

/// One change from an old schema to a new one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SchemaChange {
    /// What kind of change (`required-field-added`, `type-narrowed`, ...).
    pub kind: String,
    /// Where, as a JSON pointer relative to the schema (`""` is the schema itself): into
    /// the old schema, or the new one when [`SchemaChange::in_new`].
    pub pointer: String,
    /// Whether [`SchemaChange::pointer`] is into the new schema (what only it has).
    pub in_new: bool,
    /// The field it concerns (`customer.email`, `items[].sku`; `""` for the schema).
    pub field: String,
    /// What it does.
    pub effect: Effect,
    /// For Avro changes: the registry rule that finds it (`BACKWARD`, `FORWARD`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<&'static str>,
    /// For Avro changes: whether the chosen compatibility level checks that rule (an
    /// unchecked incompatibility is reported, not breaking). Always true otherwise.
    pub checked: bool,
    /// A sentence, in the [`Wording`] asked for.
    pub description: String,
}

/// How change descriptions name the two schemas.
#[derive(Debug, Clone, Copy)]
pub enum Wording<'a> {
    /// Two versions of one message (`tidings diff`): "field "total" of "OrderCreated"
    /// type changed from ...".
    Versions {
        /// The message id.
        message: &'a str,
        /// `payload` or `headers`.
        part: &'a str,
    },
    /// Two parties' schemas of one message (`catalog lint`): "`total`: the producer sends
    /// string, the consumer accepts number".
    Between {
        /// Who holds the old schema (`the producer`, a service name).
        old: &'a str,
        /// Its verb for a value (`sends`, `has`).
        old_verb: &'a str,
        /// Who holds the new schema (`the consumer`, a service name).
        new: &'a str,
        /// Its verb (`accepts`, `has`).
        new_verb: &'a str,
    },
}

impl Wording<'static> {
    /// The wording of lint's producer/consumer judgement.
    pub const PRODUCER_CONSUMER: Wording<'static> = Wording::Between {
        old: "the producer",
        old_verb: "sends",
        new: "the consumer",
        new_verb: "accepts",
    };
}

/// Whether a `schemaFormat` is Avro's.
pub fn is_avro_format(schema_format: &str) -> bool {
    schema_format.to_ascii_lowercase().contains("avro")
}

/// One payload: its schema and `schemaFormat` (`None` for the default, JSON Schema).
#[derive(Debug, Clone, Copy)]
pub struct Payload<'a> {
    /// The schema (for a multi-format payload, its `schema`).
    pub schema: &'a Value,
    /// The `schemaFormat`, when not a JSON Schema.
    pub format: Option<&'a str>,
}

impl Payload<'_> {
    fn is_avro(&self) -> bool {
        self.format.is_some_and(is_avro_format)
    }

    /// The payload as a JSON Schema: itself, an Avro schema converted, `None` for other
    /// formats.
    pub fn as_json_schema(&self) -> Option<Value> {
        match self.format {
            None => Some(self.schema.clone()),
            Some(f) if is_avro_format(f) => Some(convert::avro_to_json_schema(self.schema)),
            Some(_) => None,
        }
    }
}

/// Why two payloads could not be compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotComparable(pub String);

/// Every way messages a producer writes with `producer` break a consumer reading with
/// `consumer`: the changes from the one to the other that narrow (the Avro `BACKWARD`
/// direction when both are Avro: can the consumer's schema read the producer's data?).
/// Mixed Avro and JSON Schema (the two sides of a converting bridge) are compared as
/// JSON Schemas. Other formats are not comparable.
pub fn breaks(
    producer: Payload<'_>,
    consumer: Payload<'_>,
) -> Result<Vec<SchemaChange>, NotComparable> {
    if producer.is_avro() && consumer.is_avro() {
        return avro::changes(
            producer.schema,
            consumer.schema,
            Level::Backward,
            Wording::PRODUCER_CONSUMER,
        )
        .map(|all| {
            all.into_iter()
                .filter(|c| c.checked && c.effect.narrows())
                .collect()
        })
        .map_err(NotComparable);
    }
    let (Some(p), Some(c)) = (producer.as_json_schema(), consumer.as_json_schema()) else {
        return Err(NotComparable(
            "not comparable: a format other than JSON Schema and Avro".into(),
        ));
    };
    Ok(json::changes(&p, &c, Wording::PRODUCER_CONSUMER)
        .into_iter()
        .filter(|c| c.effect.narrows())
        .collect())
}

/// Every change between two definitions of one message held by `a` and `b` (named so in
/// the sentences): the Avro changes in both directions when both are Avro, else the JSON
/// Schema changes of their JSON forms. What `catalog lint` lists for a message defined
/// differently by two services.
pub fn differences(
    a: Payload<'_>,
    b: Payload<'_>,
    a_name: &str,
    b_name: &str,
) -> Result<Vec<SchemaChange>, NotComparable> {
    let wording = Wording::Between {
        old: a_name,
        old_verb: "has",
        new: b_name,
        new_verb: "has",
    };
    if a.is_avro() && b.is_avro() {
        return avro::changes(a.schema, b.schema, Level::None, wording).map_err(NotComparable);
    }
    match (a.as_json_schema(), b.as_json_schema()) {
        (Some(x), Some(y)) => Ok(json::changes(&x, &y, wording)),
        _ => Err(NotComparable(
            "not comparable: a format other than JSON Schema and Avro".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn breaks_picks_the_rules_by_format() {
        let avro = json!({"type": "record", "name": "Order", "fields": [{"name": "id", "type": "string"}]});
        let avro_more = json!({"type": "record", "name": "Order", "fields": [
            {"name": "id", "type": "string"}, {"name": "total", "type": "long"}]});
        let fmt = Some("application/vnd.apache.avro;version=1.9.0");
        let found = breaks(
            Payload {
                schema: &avro,
                format: fmt,
            },
            Payload {
                schema: &avro_more,
                format: fmt,
            },
        )
        .unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].kind, "required-field-added");
        assert_eq!(found[0].pointer, "/fields/1");
        assert!(found[0].in_new);
        // The other way round the consumer skips the producer's extra field.
        assert!(breaks(
            Payload {
                schema: &avro_more,
                format: fmt
            },
            Payload {
                schema: &avro,
                format: fmt
            }
        )
        .unwrap()
        .is_empty());
        // Avro producer, JSON consumer: through the JSON form.
        let consumer = json!({"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]});
        let found = breaks(
            Payload {
                schema: &avro,
                format: fmt,
            },
            Payload {
                schema: &consumer,
                format: None,
            },
        )
        .unwrap();
        assert_eq!(
            found.iter().map(|c| c.kind.as_str()).collect::<Vec<_>>(),
            ["type-changed"]
        );
        assert_eq!(
            found[0].description,
            "`id`: the producer sends string, the consumer accepts integer"
        );
        let raml = Some("application/raml+yaml;version=1.0");
        assert!(breaks(
            Payload {
                schema: &consumer,
                format: raml
            },
            Payload {
                schema: &consumer,
                format: None
            }
        )
        .is_err());
    }
}
