//! Codecs turn messages into bytes on the wire and back (the `decode` and `encode`
//! steps of the pipeline). JSON is the default.

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
