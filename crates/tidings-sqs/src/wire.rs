//! Messages on the wire: tidings headers, key and payload as an SQS body and message
//! attributes, and back.
//!
//! SQS limits what a message carries, so:
//! - The body is text: a payload that is not UTF-8 (or holds characters SQS refuses)
//!   travels as base64, marked by the [`BODY_ENCODING`] attribute.
//! - At most 10 message attributes, each with a non-empty value and a name of letters,
//!   digits, `-`, `_` and `.`: the well-known headers get attributes of their own (so
//!   the console and other clients see them), the rest travel together as one JSON
//!   object in [`PACKED_HEADERS`]. A consumer unpacks it: every header arrives.
//! - The key travels as [`KEY`]; on a FIFO queue it is the `MessageGroupId` unless the
//!   [`GROUP_ID`] header says otherwise.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_sqs::types::{Message, MessageAttributeValue, MessageSystemAttributeName};
use aws_smithy_types::base64;
use bytes::Bytes;
use tidings_core::broker::{header, Headers, Outgoing};

/// Header naming the FIFO `MessageGroupId` of a message (default: its key). Consumed on
/// publish, not sent as an attribute.
pub const GROUP_ID: &str = "x-tidings-sqs-group-id";
/// Header naming the FIFO `MessageDeduplicationId` of a message (default: the SHA-256
/// of its body, as SQS's content-based deduplication). Consumed on publish.
pub const DEDUPLICATION_ID: &str = "x-tidings-sqs-deduplication-id";
/// The W3C trace context header, made on publish when absent.
pub use tidings_core::broker::header::TRACEPARENT;
/// Attribute carrying the message key (UTF-8 keys).
pub const KEY: &str = "x-tidings-key";
/// Attribute carrying the message key in base64 (keys that are not UTF-8).
pub const KEY_BASE64: &str = "x-tidings-key-base64";
/// Attribute marking a base64 body (`base64`): the payload was not SQS-safe text.
pub const BODY_ENCODING: &str = "x-tidings-body-encoding";
/// Attribute holding, as one JSON object, the headers that did not get attributes of
/// their own.
pub const PACKED_HEADERS: &str = "x-tidings-headers";

/// The most message attributes SQS takes on one message.
pub const MAX_ATTRIBUTES: usize = 10;

/// Headers that get an attribute of their own first, in this order.
const PRIORITY: &[&str] = &[
    crate::DLQ_REASON,
    crate::DLQ_QUEUE,
    crate::DLQ_MESSAGE_ID,
    crate::DLQ_ATTEMPTS,
    header::CONTENT_TYPE,
    header::CORRELATION_ID,
    header::MESSAGE_NAME,
    TRACEPARENT,
];

/// A message ready for `SendMessage`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Encoded {
    pub body: String,
    pub attributes: HashMap<String, MessageAttributeValue>,
    pub group_id: Option<String>,
    pub deduplication_id: Option<String>,
}

impl Encoded {
    /// Bytes SQS counts against its size limits: body plus attribute names, types and
    /// values.
    pub fn size(&self) -> usize {
        self.body.len()
            + self
                .attributes
                .iter()
                .map(|(k, v)| k.len() + v.data_type().len() + v.string_value().map_or(0, str::len) + v.binary_value().map_or(0, |b| b.as_ref().len()))
                .sum::<usize>()
    }
}

/// Encodes `message` for a queue (`fifo`: a FIFO queue). Errors say what is missing.
pub(crate) fn encode(message: &Outgoing, fifo: bool) -> Result<Encoded, String> {
    let mut headers = message.headers.clone();
    let group_header = headers.remove(GROUP_ID);
    let dedup_header = headers.remove(DEDUPLICATION_ID);
    if headers.get(TRACEPARENT).is_none() {
        headers.insert(TRACEPARENT, tidings_core::broker::header::new_traceparent().as_str());
    }
    if let Some(key) = &message.key {
        match std::str::from_utf8(key) {
            Ok(text) if !text.is_empty() && is_sqs_text(text) => headers.insert(KEY, text),
            _ => headers.insert(KEY_BASE64, base64::encode(key)),
        }
    }
    let body = match std::str::from_utf8(&message.payload) {
        Ok(text) if is_sqs_text(text) && !text.is_empty() => text.to_owned(),
        // SQS refuses an empty body; base64 of nothing is empty too, so mark it.
        Ok("") => {
            headers.insert(BODY_ENCODING, "empty");
            " ".to_owned()
        }
        _ => {
            headers.insert(BODY_ENCODING, "base64");
            base64::encode(&message.payload)
        }
    };

    let (group_id, deduplication_id) = if fifo {
        let group = match group_header {
            Some(g) => g,
            None => match &message.key {
                Some(k) => String::from_utf8(k.to_vec())
                    .map_err(|_| "the key is not UTF-8 and cannot be a MessageGroupId; set the group id header".to_owned())?,
                None => {
                    return Err(format!(
                        "a FIFO queue needs a MessageGroupId: publish with a key (PublishOptions::key) or the \
                         `{GROUP_ID}` header"
                    ))
                }
            },
        };
        check_fifo_id("MessageGroupId", &group)?;
        let dedup = match dedup_header {
            Some(d) => d,
            None => content_hash(body.as_bytes()),
        };
        check_fifo_id("MessageDeduplicationId", &dedup)?;
        (Some(group), Some(dedup))
    } else {
        (None, None)
    };

    Ok(Encoded { body, attributes: attributes_of(&headers)?, group_id, deduplication_id })
}

/// Message attributes for `headers`: at most [`MAX_ATTRIBUTES`], the overflow packed.
fn attributes_of(headers: &Headers) -> Result<HashMap<String, MessageAttributeValue>, String> {
    let (mut direct, mut packed): (Vec<(&str, &str)>, BTreeMap<&str, &str>) = (Vec::new(), BTreeMap::new());
    for (name, value) in headers.iter() {
        if is_attribute_name(name) && !value.is_empty() && is_sqs_text(value) && name != PACKED_HEADERS {
            direct.push((name, value));
        } else {
            packed.insert(name, value);
        }
    }
    let rank = |name: &str| PRIORITY.iter().position(|p| *p == name).unwrap_or(PRIORITY.len());
    // Markers the consumer needs before anything else.
    let marker = |name: &str| matches!(name, BODY_ENCODING | KEY | KEY_BASE64);
    direct.sort_by_key(|(name, _)| (!marker(name), rank(name), name.to_owned()));
    let room = if packed.is_empty() && direct.len() <= MAX_ATTRIBUTES { MAX_ATTRIBUTES } else { MAX_ATTRIBUTES - 1 };
    for (name, value) in direct.split_off(room.min(direct.len())) {
        packed.insert(name, value);
    }
    let mut out = HashMap::new();
    for (name, value) in direct {
        out.insert(name.to_owned(), string_attribute(value)?);
    }
    if !packed.is_empty() {
        let json = serde_json::to_string(&packed).map_err(|e| format!("packing headers: {e}"))?;
        // serde_json escapes control characters, so the JSON is SQS-safe text.
        out.insert(PACKED_HEADERS.to_owned(), string_attribute(&json)?);
    }
    Ok(out)
}

fn string_attribute(value: &str) -> Result<MessageAttributeValue, String> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(|e| format!("building a message attribute: {e}"))
}

/// A received message: payload, headers and key as tidings sees them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Decoded {
    pub payload: Bytes,
    pub headers: Headers,
    pub key: Option<Bytes>,
}

/// Decodes a received message. Never fails: what cannot be decoded is passed on as
/// it is (a base64 body that does not decode stays text, and the codec rejects it).
pub(crate) fn decode(message: &Message) -> Decoded {
    let mut headers = Headers::new();
    let mut packed = None;
    for (name, value) in message.message_attributes().into_iter().flatten() {
        let text = match (value.string_value(), value.binary_value()) {
            (Some(s), _) => s.to_owned(),
            (None, Some(b)) => base64::encode(b.as_ref()),
            (None, None) => value.string_list_values().join(","),
        };
        if name == PACKED_HEADERS {
            packed = Some(text);
        } else {
            headers.insert(name.clone(), text);
        }
    }
    if let Some(json) = packed {
        match serde_json::from_str::<BTreeMap<String, String>>(&json) {
            Ok(map) => {
                for (k, v) in map {
                    headers.insert(k, v);
                }
            }
            // Someone else's attribute of that name: keep it as it came.
            Err(_) => headers.insert(PACKED_HEADERS, json),
        }
    }
    let mut key = headers.remove(KEY).map(Bytes::from);
    if let Some(b64) = headers.remove(KEY_BASE64) {
        key = base64::decode(&b64).ok().map(Bytes::from).or(key);
    }
    if key.is_none() {
        key = message
            .attributes()
            .and_then(|a| a.get(&MessageSystemAttributeName::MessageGroupId))
            .map(|g| Bytes::from(g.clone()));
    }
    let body = message.body().unwrap_or_default();
    let payload = match headers.remove(BODY_ENCODING).as_deref() {
        Some("base64") => match base64::decode(body) {
            Ok(bytes) => Bytes::from(bytes),
            Err(_) => Bytes::from(body.to_owned()),
        },
        Some("empty") => Bytes::new(),
        Some(other) => {
            // An encoding we do not know: leave the marker for whoever reads it.
            headers.insert(BODY_ENCODING, other);
            Bytes::from(body.to_owned())
        }
        None => Bytes::from(body.to_owned()),
    };
    Decoded { payload, headers, key }
}

/// A binary attribute value, as other SQS clients may send.
#[cfg(test)]
fn binary_attribute(bytes: &[u8]) -> Option<MessageAttributeValue> {
    let blob = aws_sdk_sqs::primitives::Blob::new(bytes);
    MessageAttributeValue::builder().data_type("Binary").binary_value(blob).build().ok()
}

/// True when SQS accepts `text` in a body or attribute value: `#x9 | #xA | #xD |
/// #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF`.
pub(crate) fn is_sqs_text(text: &str) -> bool {
    text.chars().all(|c| {
        matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
    })
}

/// True when `name` may be an SQS message attribute name: up to 256 of letters,
/// digits, `-`, `_`, `.`; no leading, trailing or double `.`; no `AWS.`/`Amazon.`
/// prefix.
pub(crate) fn is_attribute_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    !name.is_empty()
        && name.len() <= 256
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !name.starts_with('.')
        && !name.ends_with('.')
        && !name.contains("..")
        && !lower.starts_with("aws.")
        && !lower.starts_with("amazon.")
}

/// Checks a FIFO group or deduplication id: 1 to 128 of letters, digits and ASCII
/// punctuation.
fn check_fifo_id(what: &str, id: &str) -> Result<(), String> {
    let ok = (1..=128).contains(&id.len()) && id.chars().all(|c| c.is_ascii_alphanumeric() || c.is_ascii_punctuation());
    if ok {
        Ok(())
    } else {
        Err(format!("{what} `{id}` must be 1 to 128 letters, digits or ASCII punctuation"))
    }
}

/// SHA-256 of `bytes` in hex: what SQS's content-based deduplication uses.
pub(crate) fn content_hash(bytes: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn received(encoded: &Encoded, group: Option<&str>) -> Message {
        let mut m = Message::builder().body(&encoded.body).set_message_attributes(Some(encoded.attributes.clone()));
        if let Some(g) = group {
            m = m.attributes(MessageSystemAttributeName::MessageGroupId, g);
        }
        m.build()
    }

    fn outgoing(payload: &[u8], headers: &[(&str, &str)], key: Option<&[u8]>) -> Outgoing {
        Outgoing {
            payload: Bytes::copy_from_slice(payload),
            headers: headers.iter().map(|(k, v)| (*k, *v)).collect(),
            key: key.map(Bytes::copy_from_slice),
        }
    }

    #[test]
    fn round_trip_of_a_json_message() {
        let out = outgoing(
            br#"{"order_id":"o-1"}"#,
            &[("content-type", "application/json"), ("correlation-id", "c-1"), ("x-tidings-message", "OrderCreated")],
            Some(b"customer-7"),
        );
        let e = encode(&out, false).unwrap();
        assert_eq!(e.body, r#"{"order_id":"o-1"}"#);
        assert_eq!((e.group_id.as_deref(), e.deduplication_id.as_deref()), (None, None));
        assert!(e.attributes.len() <= MAX_ATTRIBUTES);
        let d = decode(&received(&e, None));
        assert_eq!(d.payload, out.payload);
        assert_eq!(d.key.as_deref(), Some(&b"customer-7"[..]));
        assert_eq!(d.headers.get("correlation-id"), Some("c-1"));
        assert_eq!(d.headers.get("x-tidings-message"), Some("OrderCreated"));
        assert!(d.headers.get(TRACEPARENT).is_some_and(|t| t.len() == 55));
        assert_eq!(d.headers.get(KEY), None, "markers are not headers");
    }

    #[test]
    fn many_and_odd_headers_are_packed_and_all_arrive() {
        let mut pairs: Vec<(String, String)> = (0..15).map(|i| (format!("x-h{i:02}"), format!("v{i}"))).collect();
        pairs.push(("has space".into(), "odd name".into()));
        pairs.push(("empty".into(), String::new()));
        pairs.push(("AWS.reserved".into(), "x".into()));
        pairs.push(("content-type".into(), "application/json".into()));
        let out = Outgoing { payload: Bytes::from_static(b"{}"), headers: pairs.iter().cloned().collect(), key: None };
        let e = encode(&out, false).unwrap();
        assert_eq!(e.attributes.len(), MAX_ATTRIBUTES);
        assert!(e.attributes.contains_key("content-type"), "well-known headers first: {:?}", e.attributes.keys());
        assert!(e.attributes.contains_key(PACKED_HEADERS));
        let d = decode(&received(&e, None));
        for (k, v) in &pairs {
            assert_eq!(d.headers.get(k), Some(v.as_str()), "header {k}");
        }
        assert_eq!(d.headers.len(), pairs.len() + 1, "plus the traceparent: {:?}", d.headers);
    }

    #[test]
    fn binary_and_empty_payloads_and_keys_survive() {
        let out = outgoing(&[0, 159, 146, 150, 255], &[], Some(&[0xff, 0x00]));
        let e = encode(&out, false).unwrap();
        assert!(e.attributes.contains_key(BODY_ENCODING) && e.attributes.contains_key(KEY_BASE64));
        let d = decode(&received(&e, None));
        assert_eq!(d.payload, out.payload);
        assert_eq!(d.key, out.key);
        let e = encode(&outgoing(b"", &[], None), false).unwrap();
        assert!(!e.body.is_empty(), "SQS refuses empty bodies");
        assert_eq!(decode(&received(&e, None)).payload, Bytes::new());
        // A control character SQS refuses in a body.
        let e = encode(&outgoing(b"a\x01b", &[], None), false).unwrap();
        assert_eq!(decode(&received(&e, None)).payload, Bytes::from_static(b"a\x01b"));
    }

    #[test]
    fn fifo_ids_from_key_headers_or_content() {
        let e = encode(&outgoing(b"{}", &[], Some(b"customer-7")), true).unwrap();
        assert_eq!(e.group_id.as_deref(), Some("customer-7"));
        assert_eq!(e.deduplication_id, Some(content_hash(b"{}")));
        assert_eq!(e.deduplication_id.as_ref().map(String::len), Some(64));
        let e = encode(&outgoing(b"{}", &[(GROUP_ID, "g1"), (DEDUPLICATION_ID, "d1")], Some(b"k")), true).unwrap();
        assert_eq!((e.group_id.as_deref(), e.deduplication_id.as_deref()), (Some("g1"), Some("d1")));
        assert!(!e.attributes.contains_key(GROUP_ID) && !e.attributes.contains_key(DEDUPLICATION_ID));
        let err = encode(&outgoing(b"{}", &[], None), true).unwrap_err();
        assert!(err.contains("MessageGroupId") && err.contains(GROUP_ID), "{err}");
        assert!(encode(&outgoing(b"{}", &[(GROUP_ID, "has space")], None), true).is_err());
        // On a FIFO queue the group id is the key when no key attribute came.
        let d = decode(&Message::builder().body("{}").attributes(MessageSystemAttributeName::MessageGroupId, "g9").build());
        assert_eq!(d.key.as_deref(), Some(&b"g9"[..]));
    }

    #[test]
    fn attribute_names() {
        assert!(is_attribute_name("content-type") && is_attribute_name("x.y_z-1"));
        for bad in ["", ".a", "a.", "a..b", "AWS.x", "amazon.y", "a b", "ä"] {
            assert!(!is_attribute_name(bad), "{bad}");
        }
    }

    #[test]
    fn foreign_packed_attribute_is_kept() {
        let m = Message::builder().body("x").message_attributes(PACKED_HEADERS, string_attribute("not json").unwrap()).build();
        assert_eq!(decode(&m).headers.get(PACKED_HEADERS), Some("not json"));
        let m = Message::builder().body("x").message_attributes("bin", binary_attribute(&[1, 2]).unwrap()).build();
        assert_eq!(decode(&m).headers.get("bin"), Some("AQI="));
    }
}
