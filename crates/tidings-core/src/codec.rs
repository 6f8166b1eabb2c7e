//! Codecs turn messages into bytes on the wire and back (the `decode` and `encode`
//! steps of the pipeline). JSON is the default.

use std::sync::RwLock;

use serde::{de::DeserializeOwned, Serialize};

use crate::error::BoxError;

/// How a message is written on the wire.
pub trait Codec: Send + Sync + 'static {
    /// The content type this codec writes (`application/json`): the message's
    /// `contentType` in the document and the `content-type` header.
    const CONTENT_TYPE: &'static str;

    /// Encodes a message.
    fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, BoxError>;

    /// Decodes a message.
    fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, BoxError>;
}

/// JSON through `serde_json`: the default codec.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json;

impl Codec for Json {
    const CONTENT_TYPE: &'static str = "application/json";

    fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, BoxError> {
        // A typical event is a few hundred bytes: starting there saves the vector's
        // doubling from 8 bytes (five reallocations) on every publish.
        let mut out = Vec::with_capacity(256);
        serde_json::to_writer(&mut out, value)?;
        Ok(out)
    }

    fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, BoxError> {
        Ok(serde_json::from_slice(bytes)?)
    }
}

static SCHEMA_REGISTRY: RwLock<Option<String>> = RwLock::new(None);

/// The Schema Registry of the running service: the `schema_registry` option of its
/// first server URL that has one (`kafka://broker:9092?schema_registry=http://registry:8081`),
/// the very registry its document shows in the Kafka server binding. [`App`](crate::App)
/// announces it when it starts; codecs that need a registry (tidings' Avro codec) use it
/// before their own environment variable. Credentials in it are kept, for the codec.
pub fn schema_registry_url() -> Option<String> {
    SCHEMA_REGISTRY.read().unwrap_or_else(|p| p.into_inner()).clone()
}

/// Announces (or, with `None`, forgets) the service's Schema Registry: what
/// [`schema_registry_url`] returns. The app calls it when it starts.
pub fn set_schema_registry_url(url: Option<String>) {
    *SCHEMA_REGISTRY.write().unwrap_or_else(|p| p.into_inner()) = url;
}
