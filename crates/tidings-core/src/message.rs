//! The [`Message`] trait: a type that travels on a channel, with a stable name and a
//! JSON Schema. `#[derive(tidings::Message)]` implements it.

use schemars::JsonSchema;
use serde::{de::DeserializeOwned, Serialize};
pub use tidings_asyncapi::description::MessageKind;
use tidings_asyncapi::description::MessageDescription;

use crate::codec::Codec;

/// A message type: serializable, with a JSON Schema and a stable, language-neutral name.
///
/// Derive it: `#[derive(Serialize, Deserialize, JsonSchema, tidings::Message)]`, with
/// an optional `#[message(name = "...", version = "...", kind = "event")]`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a tidings message",
    label = "not a tidings::Message",
    note = "derive it: #[derive(Serialize, Deserialize, JsonSchema, tidings::Message)]"
)]
pub trait Message: Serialize + DeserializeOwned + JsonSchema + Send + Sync + 'static {
    /// The stable message name (`OrderCreated`): the id that joins services in a catalog.
    const NAME: &'static str;
    /// The message version (`x-eventcatalog-message-version`).
    const VERSION: Option<&'static str> = None;
    /// Event, command or query (`x-eventcatalog-message-type`).
    const KIND: MessageKind = MessageKind::Event;
    /// The doc comment of the type.
    const DESCRIPTION: Option<&'static str> = None;
    /// How the message is written on the wire.
    type Codec: Codec;

    /// JSON Schema of the headers, where the message declares a headers type.
    fn headers_schema() -> Option<serde_json::Value> {
        None
    }

    /// The payload's schema in the document: the type's JSON Schema, or, for a message
    /// whose contract is in another format (`#[message(avro = ...)]`), an AsyncAPI
    /// Multi Format Schema Object `{schemaFormat, schema}` that the emitter keeps as is.
    fn payload_schema() -> serde_json::Value {
        schema_of::<Self>()
    }

    /// The description of the message that the document is built from.
    fn describe() -> MessageDescription {
        MessageDescription {
            name: Self::NAME.to_owned(),
            title: None,
            description: Self::DESCRIPTION.map(str::to_owned),
            version: Self::VERSION.map(str::to_owned),
            kind: Self::KIND,
            content_type: <Self::Codec as Codec>::CONTENT_TYPE.to_owned(),
            payload: Self::payload_schema(),
            headers: Self::headers_schema(),
            rust_type: std::any::type_name::<Self>().to_owned(),
        }
    }
}

/// The draft-07 JSON Schema of `T` as schemars writes it (the emitter hoists its
/// `definitions` into `components/schemas`). Draft-07 because AsyncAPI 3.0's Schema
/// Object is a draft-07 superset.
pub fn schema_of<T: JsonSchema>() -> serde_json::Value {
    use schemars::transform::{RecursiveTransform, Transform};
    let mut schema = schemars::generate::SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<T>();
    RecursiveTransform(decimal_as_sent).transform(&mut schema);
    schema.to_value()
}

/// The pattern schemars gives `rust_decimal::Decimal`.
const DECIMAL_PATTERN: &str = r"^-?\d+(\.\d+)?([eE]\d+)?$";

/// Documents a `Decimal` as what is on the wire: schemars says "string or number"
/// because it reads both, but `rust_decimal` writes a string (unless its `serde-float`
/// feature is on), and a contract must say what producers send.
fn decimal_as_sent(schema: &mut schemars::Schema) {
    let is_decimal = schema.get("pattern").and_then(|p| p.as_str()) == Some(DECIMAL_PATTERN)
        && schema.get("type") == Some(&serde_json::json!(["string", "number"]));
    if is_decimal {
        schema.insert("type".into(), "string".into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(schemars::JsonSchema)]
    #[allow(dead_code)]
    struct Priced {
        price: rust_decimal::Decimal,
        prices: Vec<rust_decimal::Decimal>,
    }

    #[test]
    fn decimals_are_documented_as_strings_at_any_depth() {
        let schema = schema_of::<Priced>();
        assert_eq!(schema["properties"]["price"]["type"], "string");
        assert_eq!(schema["properties"]["prices"]["items"]["type"], "string");
        assert_eq!(schema["properties"]["price"]["pattern"], DECIMAL_PATTERN);
    }
}
