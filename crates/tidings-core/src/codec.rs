//! Codecs turn messages into bytes on the wire and back (the `decode` and `encode`
//! steps of the pipeline). JSON is the default.

use std::sync::atomic::{AtomicUsize, Ordering};
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

/// The capacity the JSON encoder starts with (see [`Json::encode`]).
static ENCODE_HINT: AtomicUsize = AtomicUsize::new(256);

/// JSON through `serde_json`: the default codec.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json;

impl Codec for Json {
    const CONTENT_TYPE: &'static str = "application/json";

    fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, BoxError> {
        // Start with room for what the last message took (a power of two from 256 bytes
        // to 4 KiB), not the vector's doubling from 8 bytes: a service publishes the same
        // few kinds of event, so a publish usually allocates once. The cap keeps one big
        // message from making every later small one hold 64 KiB in the queues.
        let hint = ENCODE_HINT.load(Ordering::Relaxed);
        let mut out = Vec::with_capacity(hint);
        serde_json::to_writer(&mut out, value)?;
        let next = out.len().next_power_of_two().clamp(256, 4096);
        if next != hint {
            ENCODE_HINT.store(next, Ordering::Relaxed);
        }
        Ok(out)
    }

    fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, BoxError> {
        // One UTF-8 check of the whole payload, then serde_json's `&str` reader, which
        // checks no string again. Its slice reader checks every string on its own, and
        // those short checks were an eighth of decoding an order (callgrind).
        match std::str::from_utf8(bytes) {
            Ok(text) => Ok(serde_json::from_str(text)?),
            // Not UTF-8, so not JSON: the slice reader's error says where (line, column).
            Err(_) => Ok(serde_json::from_slice(bytes)?),
        }
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

#[cfg(test)]
mod tests {
    use super::{Codec, Json};

    #[test]
    fn json_encodes_alike_whatever_size_came_before() {
        // Sizes below, at and above the starting capacity, in an order that moves the
        // capacity hint up and down.
        for len in [10usize, 5000, 300, 0, 255, 256, 4096, 70_000, 1] {
            let value = "x".repeat(len);
            let encoded = Json::encode(&value).unwrap();
            assert_eq!(encoded, serde_json::to_vec(&value).unwrap(), "length {len}");
            assert_eq!(Json::decode::<String>(&encoded).unwrap(), value);
        }
    }

    #[test]
    fn json_decodes_text_beyond_ascii_and_says_where_bad_input_is() {
        #[derive(serde::Deserialize, Debug, PartialEq)]
        struct Customer {
            name: String,
            tags: Vec<String>,
        }
        let text = r#"{"name": "Zoë é ✓", "tags": ["ünïcode", "日本"]}"#;
        let decoded: Customer = Json::decode(text.as_bytes()).unwrap();
        assert_eq!(decoded, Customer { name: "Zoë é ✓".into(), tags: vec!["ünïcode".into(), "日本".into()] });
        // Not UTF-8 (a lone 0xff inside a string): an error naming the place, not a panic.
        let err = Json::decode::<Customer>(b"{\"name\": \"a\xff\", \"tags\": []}").unwrap_err().to_string();
        assert!(err.contains("line 1 column"), "{err}");
        // Malformed JSON: the same.
        let err = Json::decode::<Customer>(b"{\"name\": \"a\",\n \"tags\": [1}").unwrap_err().to_string();
        assert!(err.contains("line 2 column"), "{err}");
    }
}
