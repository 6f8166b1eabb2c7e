//! # tidings-avro
//!
//! Avro schema-first messages for tidings: the `.avsc` file is the contract.
//!
//! - [`Avro`]: a [`Codec`](tidings_core::Codec) writing the Confluent wire format (magic
//!   byte 0, the writer schema's registry id as 4 big-endian bytes, the Avro binary
//!   body). `#[derive(Message)] #[message(avro = "schemas/order_created.avsc")]` selects
//!   it and checks the Rust type against the schema at compile time.
//! - [`registry`]: a blocking client for the Confluent Schema Registry REST API (the
//!   one Confluent, Redpanda, Karapace and Apicurio serve), and an in-memory server of
//!   the same API for tests and local development.
//! - [`compat`]: the Avro specification's schema resolution rules as a compatibility
//!   checker with readable reasons (what the server and `tidings registry check` use).
//! - [`codegen`]: Rust types from `.avsc` files (`tidings codegen avro`).
//! - [`cli`]: `tidings registry serve | register-all | check` and `tidings codegen avro`.
//!
//! How the codec reaches the registry: the [`Codec`](tidings_core::Codec) trait has
//! static functions, so the codec uses the process-wide client of
//! [`registry::global`], configured from `TIDINGS_SCHEMA_REGISTRY_URL` (or installed
//! with [`registry::install`]). Every lookup is cached, so the registry is asked once
//! per schema, not per message.
#![warn(missing_docs)]

pub mod cli;
pub mod codec;
pub mod codegen;
pub mod compat;
pub mod convert;
pub mod registry;
pub mod schema;
pub mod wire;

pub use codec::Avro;
pub use schema::{Contract, SchemaError};

/// The media type of the Avro payload schemas in AsyncAPI documents.
pub const SCHEMA_FORMAT: &str = "application/vnd.apache.avro;version=1.9.0";

/// The content type of an Avro message on the wire (`content-type` header and the
/// message's `contentType`): Avro binary, behind the 5-byte Confluent header that the
/// Kafka message binding's `schemaIdLocation: payload` describes.
pub const CONTENT_TYPE: &str = "application/vnd.apache.avro+binary";

/// A Rust type tied to a named Avro type (record or enum) of an `.avsc` file.
///
/// `#[derive(Message)] #[message(avro = "...")]` implements it for a message (the
/// file's top-level record); `#[derive(tidings::Avro)] #[avro(schema = "...", name = "...")]`
/// for the records and enums nested in it. The derive of a record checks each field
/// whose type is another Rust type against this trait: the nested type must be tied to
/// the very record or enum the schema names at that field.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not tied to an Avro record or enum",
    label = "the schema names an Avro record or enum here",
    note = "derive it: #[derive(tidings::Avro)] #[avro(schema = \"schemas/....avsc\", name = \"...\")]"
)]
pub trait AvroType {
    /// The text of the `.avsc` file the type was checked against.
    const SCHEMA: &'static str;
    /// The full name of the named type within it (`com.example.OrderItem`).
    const FULLNAME: &'static str;
}

/// Used by the code the macros generate; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::AvroType;

    /// Compile-time check that a field's type is tied to the record or enum the schema
    /// names there: `const` so a mismatch fails the build.
    pub const fn same_name(a: &str, b: &str) -> bool {
        let (a, b) = (a.as_bytes(), b.as_bytes());
        if a.len() != b.len() {
            return false;
        }
        let mut i = 0;
        while i < a.len() {
            if a[i] != b[i] {
                return false;
            }
            i += 1;
        }
        true
    }

    /// Asserts at compile time that `T` is tied to an Avro named type.
    pub const fn assert_avro_type<T: AvroType + ?Sized>() {}

    /// The `{schemaFormat, schema}` payload of a message with an Avro contract.
    pub fn payload(schema: &str) -> serde_json::Value {
        crate::schema::payload(schema)
    }
}
