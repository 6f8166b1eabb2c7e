//! # tidings-avro-schema
//!
//! What every part of tidings that reads an `.avsc` needs, in one place: parsing
//! without panics, the named types of a schema and `Schema::Ref` resolution, the type a
//! logical type is written as, a short name of a schema for messages, and the Rust type
//! that fits a schema. The compile-time check (`tidings-macros`, a proc-macro crate, so
//! this crate depends on nothing but `apache-avro`), the codec and compatibility rules
//! (`tidings-avro`) and `tidings codegen avro` all use it, so they agree.
#![warn(missing_docs)]

use std::collections::HashMap;

pub use apache_avro::Schema;

/// Named types (records, enums, fixed) of a schema by full name: what a
/// `Schema::Ref` points at.
pub type Names = HashMap<String, Schema>;

/// Parses an `.avsc` text. apache-avro panics on some invalid names (`Order#Created`)
/// instead of returning an error: that is an error here too, never a panic.
pub fn parse(text: &str) -> Result<Schema, String> {
    std::panic::catch_unwind(|| Schema::parse_str(text))
        .map_err(|_| "apache-avro could not parse it (an invalid name?)".to_owned())?
        .map_err(|e| e.to_string())
}

/// Every named type defined inside `schema` with its full name, in the order a
/// depth-first walk meets their definitions (records before their fields' types).
pub fn named_types(schema: &Schema) -> Vec<(String, &Schema)> {
    let mut out = Vec::new();
    walk_names(schema, &mut out);
    out
}

fn walk_names<'a>(schema: &'a Schema, out: &mut Vec<(String, &'a Schema)>) {
    match schema {
        Schema::Record(r) => {
            out.push((r.name.fullname(None), schema));
            for f in &r.fields {
                walk_names(&f.schema, out);
            }
        }
        Schema::Enum(e) => out.push((e.name.fullname(None), schema)),
        Schema::Fixed(f) => out.push((f.name.fullname(None), schema)),
        Schema::Decimal(d) => walk_names(&d.inner, out),
        Schema::Array(a) => walk_names(&a.items, out),
        Schema::Map(m) => walk_names(&m.types, out),
        Schema::Union(u) => u.variants().iter().for_each(|v| walk_names(v, out)),
        _ => {}
    }
}

/// Every named type defined inside `schema`, by full name, added to `names`.
pub fn collect_names(schema: &Schema, names: &mut Names) {
    for (full, s) in named_types(schema) {
        names.insert(full, s.clone());
    }
}

/// `schema`, or the named type it refers to.
pub fn resolve<'a>(schema: &'a Schema, names: &'a Names) -> &'a Schema {
    match schema {
        Schema::Ref { name } => names.get(&name.fullname(None)).unwrap_or(schema),
        other => other,
    }
}

/// The type a logical type is written as; other schemas are their own.
pub fn underlying(s: &Schema) -> &Schema {
    match s {
        Schema::Date | Schema::TimeMillis => &Schema::Int,
        Schema::TimeMicros
        | Schema::TimestampMillis
        | Schema::TimestampMicros
        | Schema::TimestampNanos
        | Schema::LocalTimestampMillis
        | Schema::LocalTimestampMicros
        | Schema::LocalTimestampNanos => &Schema::Long,
        Schema::Uuid => &Schema::String,
        Schema::BigDecimal => &Schema::Bytes,
        Schema::Decimal(d) => underlying(&d.inner),
        other => other,
    }
}

/// Whether a schema is a record, an enum or a fixed: a type with a name.
pub fn is_named_kind(s: &Schema) -> bool {
    matches!(s, Schema::Record(_) | Schema::Enum(_) | Schema::Fixed(_))
}

/// A short name of a schema for messages (`int`, `decimal(10, 2)`, `record Item`,
/// `union [null, string]`).
pub fn describe(s: &Schema) -> String {
    match s {
        Schema::Null => "null".into(),
        Schema::Boolean => "boolean".into(),
        Schema::Int => "int".into(),
        Schema::Long => "long".into(),
        Schema::Float => "float".into(),
        Schema::Double => "double".into(),
        Schema::Bytes => "bytes".into(),
        Schema::String => "string".into(),
        Schema::Array(a) => format!("array<{}>", describe(&a.items)),
        Schema::Map(m) => format!("map<{}>", describe(&m.types)),
        Schema::Union(u) => format!("union [{}]", u.variants().iter().map(describe).collect::<Vec<_>>().join(", ")),
        Schema::Record(r) => format!("record {}", r.name.name),
        Schema::Enum(e) => format!("enum {}", e.name.name),
        Schema::Fixed(f) => format!("fixed {}({})", f.name.name, f.size),
        Schema::Decimal(d) => format!("decimal({}, {})", d.precision, d.scale),
        Schema::BigDecimal => "big-decimal".into(),
        Schema::Uuid => "uuid".into(),
        Schema::Date => "date".into(),
        Schema::TimeMillis => "time-millis".into(),
        Schema::TimeMicros => "time-micros".into(),
        Schema::TimestampMillis => "timestamp-millis".into(),
        Schema::TimestampMicros => "timestamp-micros".into(),
        Schema::TimestampNanos => "timestamp-nanos".into(),
        Schema::LocalTimestampMillis => "local-timestamp-millis".into(),
        Schema::LocalTimestampMicros => "local-timestamp-micros".into(),
        Schema::LocalTimestampNanos => "local-timestamp-nanos".into(),
        Schema::Duration => "duration".into(),
        Schema::Ref { name } => name.name.clone(),
    }
}

/// The Rust type the compile-time check accepts first for a schema, as a person reads
/// it in an error message (`Vec<OrderItem>`, `chrono::DateTime<Utc>`,
/// `Option<String>`). Named types are their short name.
pub fn rust_for(s: &Schema) -> String {
    match s {
        Schema::Null => "()".into(),
        Schema::Boolean => "bool".into(),
        Schema::Int => "i32".into(),
        Schema::Long => "i64".into(),
        Schema::Float => "f32".into(),
        Schema::Double => "f64".into(),
        Schema::Bytes => "Vec<u8>".into(),
        Schema::String => "String".into(),
        Schema::Array(a) => format!("Vec<{}>", rust_for(&a.items)),
        Schema::Map(m) => format!("HashMap<String, {}>", rust_for(&m.types)),
        Schema::Union(u) => match optional(s) {
            Some(one) if u.variants().len() == 2 => format!("Option<{}>", rust_for(one)),
            _ => "(no Rust type: a union of several types)".into(),
        },
        Schema::Record(r) => r.name.name.clone(),
        Schema::Enum(e) => e.name.name.clone(),
        Schema::Fixed(f) => format!("[u8; {}]", f.size),
        Schema::Decimal(_) => "rust_decimal::Decimal".into(),
        Schema::Uuid => "uuid::Uuid".into(),
        Schema::Date => "chrono::NaiveDate".into(),
        Schema::TimeMillis | Schema::TimeMicros => "chrono::NaiveTime".into(),
        Schema::TimestampMillis | Schema::TimestampMicros | Schema::TimestampNanos => "chrono::DateTime<Utc>".into(),
        Schema::LocalTimestampMillis | Schema::LocalTimestampMicros | Schema::LocalTimestampNanos => {
            "chrono::NaiveDateTime".into()
        }
        Schema::BigDecimal | Schema::Duration => "(not supported)".into(),
        Schema::Ref { name } => name.name.clone(),
    }
}

/// The other branch of a union of `null` and exactly one other type (`Option<T>` in
/// Rust); `None` for any other schema.
pub fn optional(s: &Schema) -> Option<&Schema> {
    let Schema::Union(u) = s else { return None };
    let variants = u.variants();
    let others: Vec<&Schema> = variants.iter().filter(|v| !matches!(v, Schema::Null)).collect();
    match others.as_slice() {
        [one] if variants.len() == 2 => Some(one),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NESTED: &str = r#"{"type":"record","name":"Order","namespace":"shop","fields":[
        {"name":"item","type":{"type":"record","name":"Item","fields":[{"name":"sku","type":"string"}]}},
        {"name":"status","type":{"type":"enum","name":"Status","symbols":["NEW"]}},
        {"name":"spare","type":["null","Item"],"default":null}]}"#;

    #[test]
    fn named_types_come_in_definition_order_and_refs_resolve() {
        let schema = parse(NESTED).unwrap();
        let names: Vec<String> = named_types(&schema).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["shop.Order", "shop.Item", "shop.Status"]);
        let mut all = Names::new();
        collect_names(&schema, &mut all);
        let Schema::Record(r) = &schema else { panic!("a record") };
        let inner = optional(&r.fields[2].schema).unwrap();
        assert!(matches!(inner, Schema::Ref { .. }));
        assert!(matches!(resolve(inner, &all), Schema::Record(item) if item.name.name == "Item"));
        assert_eq!(rust_for(&r.fields[2].schema), "Option<Item>");
        assert_eq!(describe(&r.fields[2].schema), "union [null, Item]");
    }

    #[test]
    fn invalid_names_are_errors_not_panics() {
        let bad = r#"{"type":"record","name":"Order#Created","fields":[{"name":"a","type":"string"}]}"#;
        assert!(parse(bad).is_err());
        assert!(parse("{").is_err());
    }

    #[test]
    fn logical_types_are_written_as_their_underlying_types() {
        let ts = parse(r#"{"type":"long","logicalType":"timestamp-millis"}"#).unwrap();
        assert_eq!(underlying(&ts), &Schema::Long);
        assert_eq!(rust_for(&ts), "chrono::DateTime<Utc>");
        let dec = parse(r#"{"type":"bytes","logicalType":"decimal","precision":10,"scale":2}"#).unwrap();
        assert_eq!((describe(&dec).as_str(), underlying(&dec)), ("decimal(10, 2)", &Schema::Bytes));
        assert!(optional(&parse(r#"["null","int","string"]"#).unwrap()).is_none());
    }
}
