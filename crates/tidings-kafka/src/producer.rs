//! The confirmed producer: idempotent, one awaited delivery report per publish.

use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};
use tidings_core::broker::{Headers, Outgoing};
use tidings_core::Error;

use crate::config::KafkaConfig;
use crate::context::LogContext;

/// The W3C trace context header.
pub use tidings_core::broker::header::TRACEPARENT;

/// Publishes to Kafka and waits for the broker's acknowledgement.
pub(crate) struct KafkaProducer {
    server: String,
    inner: FutureProducer<LogContext>,
}

impl KafkaProducer {
    pub(crate) fn new(server: &str, config: &KafkaConfig) -> Result<Self, Error> {
        let mut cc = ClientConfig::new();
        for (k, v) in config.common() {
            cc.set(k, v);
        }
        // Idempotence: a retried send cannot duplicate or reorder a message in its
        // partition (it implies acks=all).
        cc.set("enable.idempotence", "true");
        cc.set("message.timeout.ms", config.message_timeout.as_millis().to_string());
        cc.set("linger.ms", config.linger.as_millis().to_string());
        let inner = cc
            .create_with_context(LogContext::new(server))
            .map_err(|e| Error::broker(server, format!("cannot create the Kafka producer: {e}")))?;
        Ok(KafkaProducer { server: server.to_owned(), inner })
    }

    /// Sends one message to `topic` and waits until the broker has it (or the
    /// message timeout passed). The partition comes from the key.
    pub(crate) async fn send(&self, topic: &str, message: &Outgoing) -> Result<(i32, i64), Error> {
        let delivery = self.enqueue(topic, message)?;
        self.confirmed(topic, delivery).await
    }

    /// Hands one message for `topic` to librdkafka, which copies it: what is left is the
    /// wait for the broker's confirmation ([`confirmed`](Self::confirmed)), and a publish
    /// in flight keeps nothing of the message.
    pub(crate) fn enqueue(&self, topic: &str, message: &Outgoing) -> Result<DeliveryFuture, Error> {
        crate::topic::check_topic(topic)?;
        let mut headers = OwnedHeaders::new_with_capacity(message.headers.len() + 1);
        for (name, value) in message.headers.iter() {
            headers = headers.insert(Header { key: name, value: Some(value) });
        }
        if message.headers.get(TRACEPARENT).is_none() {
            let traceparent = tidings_core::broker::header::new_traceparent();
            headers = headers.insert(Header { key: TRACEPARENT, value: Some(traceparent.as_str()) });
        }
        let mut record: FutureRecord<'_, [u8], [u8]> =
            FutureRecord::to(topic).payload(message.payload.as_ref()).headers(headers);
        if let Some(key) = &message.key {
            record = record.key(key.as_ref());
        }
        // A full local queue fails at once instead of blocking; the message timeout bounds
        // the wait for the broker.
        self.inner.send_result(record).map_err(|(e, _)| self.failed(topic, e))
    }

    fn failed(&self, topic: &str, why: impl std::fmt::Display) -> Error {
        Error::broker(&self.server, format!("publish to topic `{topic}` failed: {why}"))
    }

    /// Waits for the broker's confirmation of an [`enqueue`](Self::enqueue)d message: its
    /// partition and offset.
    pub(crate) async fn confirmed(&self, topic: &str, delivery: DeliveryFuture) -> Result<(i32, i64), Error> {
        match delivery.await {
            Ok(Ok(delivery)) => Ok((delivery.partition, delivery.offset)),
            Ok(Err((e, _))) => Err(self.failed(topic, e)),
            Err(_) => Err(self.failed(topic, "the producer closed before the broker confirmed it")),
        }
    }

    /// Asks the cluster for metadata: fails when no broker answers within `timeout`.
    /// Blocking.
    pub(crate) fn fetch_metadata(&self, timeout: Duration) -> Result<(), rdkafka::error::KafkaError> {
        self.inner.client().fetch_metadata(None, timeout).map(|_| ())
    }

    /// Asks for the metadata of `topic`, which creates it where the cluster creates
    /// topics on first use (as a first publish would). `Ok(partitions)` when it exists.
    /// Blocking.
    pub(crate) fn touch_topic(&self, topic: &str, timeout: Duration) -> Result<usize, String> {
        let md = self.inner.client().fetch_metadata(Some(topic), timeout).map_err(|e| e.to_string())?;
        match md.topics().iter().find(|t| t.name() == topic) {
            Some(t) => match t.error() {
                Some(e) => Err(format!("{e:?}")),
                None if t.partitions().is_empty() => Err("no partitions yet".into()),
                None => Ok(t.partitions().len()),
            },
            None => Err("not in the metadata".into()),
        }
    }

    /// Waits (bounded) for messages still queued locally.
    pub(crate) fn flush(&self, timeout: Duration) {
        if let Err(e) = self.inner.flush(timeout) {
            tracing::warn!(server = %self.server, error = %e, "Kafka producer flush did not complete");
        }
    }
}

/// Kafka header values as tidings text headers: bytes that are not UTF-8 are replaced
/// (tidings headers are text), a header without a value becomes an empty string.
pub(crate) fn text_headers<'a>(headers: impl Iterator<Item = (&'a str, Option<&'a [u8]>)>) -> Headers {
    // Straight from librdkafka's buffers into the headers (inline when short): the poll
    // thread allocates nothing a worker would then free.
    let mut out = Headers::new();
    for (name, value) in headers {
        out.insert(name, String::from_utf8_lossy(value.unwrap_or_default()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_become_text() {
        let raw: Vec<(&str, Option<&[u8]>)> = vec![("a", Some(b"x")), ("b", None), ("c", Some(&[0xff, b'y']))];
        let h = text_headers(raw.into_iter());
        assert_eq!(h.get("a"), Some("x"));
        assert_eq!(h.get("b"), Some(""));
        assert_eq!(h.get("c"), Some("\u{fffd}y"));
    }
}
