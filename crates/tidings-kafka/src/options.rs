//! [`KafkaTopic`]: the declared options of one channel's topic, given to
//! `App::channel_options`. The broker creates the topic with them at start (when it does
//! not exist yet); the document's kafka channel binding shows them.

use std::any::Any;
use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::config::ClientConfig;
use rdkafka::types::RDKafkaErrorCode;
use serde_json::{json, Map, Value};
use tidings_core::broker::ChannelOptions;
use tidings_core::Error;

use crate::config::KafkaConfig;
use crate::context::LogContext;

/// How long topic creation waits for the cluster.
const ADMIN_TIMEOUT: Duration = Duration::from_secs(15);

/// The declared topic of a channel: partitions, replicas and topic configuration.
///
/// ```
/// use tidings_kafka::KafkaTopic;
/// let topic = KafkaTopic::partitions(6).replicas(3).config("retention.ms", "604800000");
/// # let _ = topic;
/// ```
///
/// At start the Kafka broker creates the topic with these settings when it does not
/// exist (an existing topic is left as it is, with a warning when its partition count
/// differs). The channel binding of the document carries `partitions`, `replicas` and
/// `topicConfiguration`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KafkaTopic {
    /// Partitions of the topic; `None`: the cluster's default.
    pub partitions: Option<u32>,
    /// Replicas of each partition; `None`: the cluster's default.
    pub replicas: Option<u16>,
    /// Topic configuration (`retention.ms`, `cleanup.policy`...), as Kafka takes it.
    pub config: BTreeMap<String, String>,
}

impl KafkaTopic {
    /// A topic of `partitions` partitions.
    pub fn partitions(partitions: u32) -> Self {
        KafkaTopic { partitions: Some(partitions), ..Default::default() }
    }

    /// Sets the replication factor.
    pub fn replicas(mut self, replicas: u16) -> Self {
        self.replicas = Some(replicas);
        self
    }

    /// Adds a topic configuration entry (`retention.ms`, `cleanup.policy`...).
    pub fn config(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.config.insert(key.into(), value.into());
        self
    }

    /// Checks the values Kafka would refuse.
    fn check(&self, address: &str) -> Result<(), Error> {
        let bad = |why: &str| Err(Error::Config(format!("channel `{address}`: KafkaTopic: {why}")));
        match (self.partitions, self.replicas) {
            (Some(0), _) => bad("partitions must be at least 1"),
            (Some(p), _) if p > i32::MAX as u32 => bad("too many partitions"),
            (_, Some(0)) => bad("replicas must be at least 1"),
            _ => Ok(()),
        }
    }
}

impl ChannelOptions for KafkaTopic {
    fn protocol(&self) -> &'static str {
        "kafka"
    }

    fn binding(&self) -> Value {
        let mut binding = Map::new();
        if let Some(p) = self.partitions {
            binding.insert("partitions".into(), json!(p));
        }
        if let Some(r) = self.replicas {
            binding.insert("replicas".into(), json!(r));
        }
        if !self.config.is_empty() {
            // The binding schema types some entries: `cleanup.policy` is a list, the
            // sizes and durations integers.
            let config: Map<String, Value> = self
                .config
                .iter()
                .map(|(k, v)| {
                    let value = if k == "cleanup.policy" {
                        json!(v.split(',').map(str::trim).filter(|s| !s.is_empty()).collect::<Vec<_>>())
                    } else if let Ok(n) = v.parse::<i64>() {
                        json!(n)
                    } else if let Ok(b) = v.parse::<bool>() {
                        json!(b)
                    } else {
                        json!(v)
                    };
                    (k.clone(), value)
                })
                .collect();
            binding.insert("topicConfiguration".into(), Value::Object(config));
        }
        Value::Object(binding)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Creates `topic` as declared unless it exists: `true` when it was created.
pub(crate) async fn ensure_topic(
    server: &str,
    config: &KafkaConfig,
    address: &str,
    topic: &str,
    declared: &KafkaTopic,
) -> Result<bool, Error> {
    declared.check(address)?;
    let mut cc = ClientConfig::new();
    for (k, v) in config.common() {
        cc.set(k, v);
    }
    // Its logs and errors go to `tracing` with the server's name, as the other clients'.
    let admin: AdminClient<LogContext> = cc
        .create_with_context(LogContext::new(server))
        .map_err(|e| Error::broker(server, format!("cannot create the Kafka admin client: {e}")))?;
    let partitions = declared.partitions.map_or(-1, |p| p as i32);
    let replication = TopicReplication::Fixed(declared.replicas.map_or(-1, i32::from));
    let mut new = NewTopic::new(topic, partitions, replication);
    for (k, v) in &declared.config {
        new = new.set(k, v);
    }
    let options = AdminOptions::new().operation_timeout(Some(ADMIN_TIMEOUT)).request_timeout(Some(ADMIN_TIMEOUT));
    let results = admin
        .create_topics([&new], &options)
        .await
        .map_err(|e| Error::broker(server, format!("creating topic `{topic}` (channel `{address}`) failed: {e}")))?;
    match results.into_iter().next() {
        Some(Ok(_)) => {
            tracing::info!(server, topic, partitions = ?declared.partitions, replicas = ?declared.replicas, "created Kafka topic");
            Ok(true)
        }
        Some(Err((_, RDKafkaErrorCode::TopicAlreadyExists))) => Ok(false),
        Some(Err((_, code))) => {
            Err(Error::broker(server, format!("creating topic `{topic}` (channel `{address}`) failed: {code}")))
        }
        None => Err(Error::broker(server, format!("creating topic `{topic}` (channel `{address}`): no answer"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binding_fields() {
        let t = KafkaTopic::partitions(6).replicas(3).config("retention.ms", "1000").config("cleanup.policy", "compact,delete");
        assert_eq!(
            t.binding(),
            json!({"partitions": 6, "replicas": 3, "topicConfiguration": {"retention.ms": 1000, "cleanup.policy": ["compact", "delete"]}})
        );
        assert_eq!(KafkaTopic::default().binding(), json!({}));
        assert!(KafkaTopic::partitions(0).check("a").is_err());
        assert!(KafkaTopic::partitions(1).replicas(0).check("a").is_err());
        assert!(KafkaTopic::partitions(1).check("a").is_ok());
    }
}
