//! A parsed `.avsc` contract: the schema, its named types by full name, and the
//! normalized text the registry identifies it by. Parsed once per process per text.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use apache_avro::Schema;

pub use tidings_avro_schema::{collect_names, resolve, Names};

/// A schema that does not parse or is not what a message needs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SchemaError(pub String);

/// A parsed Avro schema with what encoding and decoding need.
#[derive(Debug, Clone)]
pub struct Contract {
    /// The schema.
    pub schema: Schema,
    /// Its named types, for `Schema::Ref`.
    pub names: Names,
    /// The full name of the top-level type (`com.example.OrderCreated`), when named.
    pub fullname: Option<String>,
    /// The schema as normalized JSON: the same for the same schema however it is
    /// spaced, and different when a default, alias or doc changes (which Avro's
    /// Parsing Canonical Form would drop, but which matter to compatibility).
    pub normalized: String,
}

impl Contract {
    /// Parses an `.avsc` text.
    pub fn parse(text: &str) -> Result<Contract, SchemaError> {
        // apache-avro panics on some invalid names (`Order#Created`) instead of
        // returning an error; a registry server must not lose its thread to that.
        let schema = tidings_avro_schema::parse(text).map_err(|e| SchemaError(format!("invalid Avro schema: {e}")))?;
        Ok(Contract::from_schema(schema))
    }

    /// Wraps a parsed schema.
    pub fn from_schema(schema: Schema) -> Contract {
        let mut names = Names::new();
        collect_names(&schema, &mut names);
        let fullname = schema.name().map(|n| n.fullname(None));
        let normalized = serde_json::to_string(&schema).unwrap_or_default();
        Contract { schema, names, fullname, normalized }
    }

    /// `schema`, or the named type it refers to.
    pub fn resolve<'a>(&'a self, schema: &'a Schema) -> &'a Schema {
        resolve(schema, &self.names)
    }
}

/// The parsed contract of a schema text compiled into the binary, parsed on first use.
pub fn cached(text: &'static str) -> Result<Arc<Contract>, SchemaError> {
    static CACHE: OnceLock<Mutex<HashMap<usize, Arc<Contract>>>> = OnceLock::new();
    // Keyed by address: a `'static` text compiled in by `include_str!` never moves.
    let key = text.as_ptr() as usize;
    let cache = CACHE.get_or_init(Default::default);
    if let Some(found) = cache.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
        return Ok(found.clone());
    }
    let contract = Arc::new(Contract::parse(text)?);
    cache.lock().unwrap_or_else(|p| p.into_inner()).insert(key, contract.clone());
    Ok(contract)
}

/// The AsyncAPI payload of a message with an Avro contract: a Multi Format Schema
/// Object holding the `.avsc` as JSON.
pub fn payload(text: &str) -> serde_json::Value {
    let schema: serde_json::Value = serde_json::from_str(text).unwrap_or(serde_json::Value::String(text.to_owned()));
    serde_json::json!({ "schemaFormat": crate::SCHEMA_FORMAT, "schema": schema })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NESTED: &str = r#"{"type":"record","name":"Order","namespace":"shop","fields":[
        {"name":"item","type":{"type":"record","name":"Item","fields":[{"name":"sku","type":"string"}]}},
        {"name":"spare","type":["null","Item"],"default":null}]}"#;

    #[test]
    fn named_types_are_found_by_full_name_and_refs_resolve() {
        let c = Contract::parse(NESTED).unwrap();
        assert_eq!(c.fullname.as_deref(), Some("shop.Order"));
        assert!(c.names.contains_key("shop.Item"), "{:?}", c.names.keys());
        let Schema::Record(r) = &c.schema else { panic!() };
        let Schema::Union(u) = &r.fields[1].schema else { panic!() };
        assert!(matches!(c.resolve(&u.variants()[1]), Schema::Record(item) if item.name.name == "Item"));
    }

    #[test]
    fn normalized_text_ignores_spacing_but_not_defaults() {
        let a = Contract::parse(r#"{"type":"record","name":"A","fields":[{"name":"x","type":"int"}]}"#).unwrap();
        let b = Contract::parse("{ \"type\" : \"record\", \"name\":\"A\",\n \"fields\":[{\"name\":\"x\",\"type\":\"int\"}]}").unwrap();
        let c = Contract::parse(r#"{"type":"record","name":"A","fields":[{"name":"x","type":"int","default":1}]}"#).unwrap();
        assert_eq!(a.normalized, b.normalized);
        assert_ne!(a.normalized, c.normalized);
    }

    #[test]
    fn invalid_names_are_errors_not_panics() {
        let bad = r#"{"type":"record","name":"Order#Created","fields":[{"name":"order_id","type":"string"}]}"#;
        assert!(Contract::parse(bad).unwrap_err().0.starts_with("invalid Avro schema"));
    }

    #[test]
    fn payload_is_a_multi_format_schema_object() {
        let p = payload(NESTED);
        assert_eq!(p["schemaFormat"], crate::SCHEMA_FORMAT);
        assert_eq!(p["schema"]["name"], "Order");
    }
}
