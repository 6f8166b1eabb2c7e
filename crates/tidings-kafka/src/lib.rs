//! # tidings-kafka
//!
//! The Kafka broker of tidings, on `rdkafka` with its bundled librdkafka. A server
//! configured as `kafka://host:port[,host:port][?option=value&...]` runs its channels on
//! Kafka; linking this crate (the `kafka` feature of `tidings`) registers the
//! `kafka://` scheme (and `kafka+ssl`, `kafka+sasl`, `kafka+sasl_ssl`).
//!
//! - Producers: idempotent, and a publish returns only once the broker has the
//!   message (an awaited delivery report). The key is the message key; headers carry
//!   content type, correlation id, message name and a W3C `traceparent` (made when
//!   absent).
//! - Consumers: one consumer group per `group`; at-least-once: an offset is committed
//!   only once its message and every earlier one of its partition were settled (acked,
//!   or dead-lettered); order is kept per partition, partitions are handled in
//!   parallel. A failed handler is retried in place (its partition waits); a rejected
//!   message goes to `<topic>.dlq`. See [`consumer`] for the design.
//! - Channels with parameters (`orders.{region}.created`) subscribe by pattern.
//! - Declared topics ([`KafkaTopic`], `App::channel_options`): created at start with
//!   their partitions, replicas and configuration when missing.
//! - Security from the environment only ([`config`]): SASL PLAIN / SCRAM, TLS. TLS and
//!   SCRAM need the `tls` feature (`kafka-tls` of `tidings`), which links librdkafka with
//!   the system's OpenSSL; without it a server asking for them fails at start with a
//!   configuration error ([`KafkaConfig::check_linked`]), and the binary loads no OpenSSL.
//!
//! Options of the URL query: see [`KafkaConfig`].
#![warn(missing_docs)]

pub mod config;
pub mod consumer;
mod context;
pub mod options;
pub mod producer;
pub mod topic;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use tidings_core::broker::{Broker, BrokerFactory, ChannelOptions, Outgoing, SubscribeSpec, Subscription};
use tidings_core::Error;

pub use config::KafkaConfig;
pub use consumer::{DLQ_ATTEMPTS, DLQ_OFFSET, DLQ_PARTITION, DLQ_REASON, DLQ_TOPIC};
pub use options::KafkaTopic;
pub use producer::TRACEPARENT;

use consumer::ConsumerHandle;
use producer::KafkaProducer;

/// How long connecting waits for the cluster to answer before failing.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long shutdown waits for messages still queued in the producer.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(10);

/// A connected Kafka server: one producer, one consumer per subscription.
pub struct KafkaBroker {
    name: String,
    config: KafkaConfig,
    producer: Arc<KafkaProducer>,
    consumers: Mutex<Vec<ConsumerHandle>>,
}

impl std::fmt::Debug for KafkaBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaBroker").field("name", &self.name).field("config", &self.config).finish_non_exhaustive()
    }
}

impl KafkaBroker {
    /// Connects the server `name` at `url` (security from the `TIDINGS_KAFKA_*`
    /// environment) and checks that the cluster answers.
    pub async fn connect(name: &str, url: &str) -> Result<Self, Error> {
        let config = KafkaConfig::from_url(name, url)?;
        Self::connect_with(name, config).await
    }

    /// Connects with a configuration made by hand.
    pub async fn connect_with(name: &str, config: KafkaConfig) -> Result<Self, Error> {
        config.check_linked(name)?;
        let producer = Arc::new(KafkaProducer::new(name, &config)?);
        // librdkafka connects lazily and retries forever; ask for metadata once so a
        // wrong address or a broker that is down fails the start with a clear error.
        let probe = producer.clone();
        let checked = tokio::task::spawn_blocking(move || probe.fetch_metadata(CONNECT_TIMEOUT))
            .await
            .map_err(|e| Error::broker(name, format!("connection check did not finish: {e}")))?;
        if let Err(e) = checked {
            return Err(Error::broker(
                name,
                format!("Kafka at {} did not answer within {CONNECT_TIMEOUT:?}: {e}", config.bootstrap_servers()),
            ));
        }
        tracing::info!(server = name, bootstrap = %config.bootstrap_servers(), "Kafka connected");
        Ok(KafkaBroker { name: name.to_owned(), config, producer, consumers: Mutex::new(Vec::new()) })
    }

    /// The configuration in use.
    pub fn config(&self) -> &KafkaConfig {
        &self.config
    }

    /// The Kafka topic of a concrete channel address (the topic prefix added).
    pub fn topic_for<'a>(&self, address: &'a str) -> std::borrow::Cow<'a, str> {
        // Without a prefix (the usual case) the address is the topic: no copy per publish.
        if self.config.topic_prefix.is_empty() {
            std::borrow::Cow::Borrowed(address)
        } else {
            std::borrow::Cow::Owned(format!("{}{address}", self.config.topic_prefix))
        }
    }
}

impl Broker for KafkaBroker {
    fn publish<'a>(&'a self, address: &'a str, message: Outgoing) -> BoxFuture<'a, Result<(), Error>> {
        // librdkafka copies the message now; the future only waits for the confirmation.
        let topic = self.topic_for(address);
        match self.producer.enqueue(&topic, &message) {
            Ok(delivery) => Box::pin(async move { self.producer.confirmed(&topic, delivery).await.map(|_| ()) }),
            Err(e) => Box::pin(std::future::ready(Err(e))),
        }
    }

    fn subscribe(&self, spec: SubscribeSpec) -> BoxFuture<'_, Result<Box<dyn Subscription>, Error>> {
        Box::pin(async move {
            // A consumer subscribed to a topic that does not exist only notices it at
            // its next metadata refresh (5 min by default): create it now, as a first
            // publish would, so the group gets its partitions when it forms.
            if let topic::TopicSelector::Topic(t) = topic::selector(&self.config.topic_prefix, &spec.address)? {
                let producer = self.producer.clone();
                let name = t.clone();
                let touched = tokio::task::spawn_blocking(move || producer.touch_topic(&name, CONNECT_TIMEOUT)).await;
                if let Ok(Err(why)) = touched {
                    tracing::warn!(server = %self.name, topic = %t, why = %why,
                        "topic not available yet; the consumer gets it once it exists");
                }
            }
            let (subscription, handle) = consumer::subscribe(&self.name, &self.config, self.producer.clone(), &spec)?;
            self.consumers.lock().unwrap_or_else(|e| e.into_inner()).push(handle);
            Ok(Box::new(subscription) as Box<dyn Subscription>)
        })
    }

    fn configure_channel<'a>(
        &'a self,
        address: &'a str,
        options: Arc<dyn ChannelOptions>,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let declared = tidings_core::broker::channel_options_as::<KafkaTopic>(&options, address, "Kafka", &self.name, "tidings::kafka::KafkaTopic")?;
            let topic::TopicSelector::Topic(topic) = topic::selector(&self.config.topic_prefix, address)? else {
                return Err(Error::Config(format!(
                    "channel `{address}` has parameters: it is many topics, so a KafkaTopic cannot describe it; \
                     declare the options of each concrete topic"
                )));
            };
            let created = options::ensure_topic(&self.name, &self.config, address, &topic, declared).await?;
            if !created {
                let producer = self.producer.clone();
                let name = topic.clone();
                let existing = tokio::task::spawn_blocking(move || producer.touch_topic(&name, CONNECT_TIMEOUT)).await;
                if let (Ok(Ok(found)), Some(wanted)) = (existing, declared.partitions) {
                    if found != wanted as usize {
                        tracing::warn!(server = %self.name, topic = %topic, partitions = found, declared = wanted,
                            "the topic exists with another partition count than declared; left as it is");
                    }
                }
            }
            Ok(())
        })
    }

    fn shutdown(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let consumers = std::mem::take(&mut *self.consumers.lock().unwrap_or_else(|e| e.into_inner()));
            let producer = self.producer.clone();
            // Stopping joins poll threads and closes consumers: blocking work.
            let stopped = tokio::task::spawn_blocking(move || {
                for consumer in consumers {
                    consumer.stop();
                }
                producer.flush(FLUSH_TIMEOUT);
            })
            .await;
            if let Err(e) = stopped {
                tracing::error!(server = %self.name, error = %e, "Kafka shutdown did not finish");
            }
        })
    }
}

fn connect(name: &str, url: &str) -> BoxFuture<'static, Result<Arc<dyn Broker>, Error>> {
    let (name, url) = (name.to_owned(), url.to_owned());
    Box::pin(async move { Ok(Arc::new(KafkaBroker::connect(&name, &url).await?) as Arc<dyn Broker>) })
}

inventory::submit! { BrokerFactory { scheme: "kafka", connect } }
inventory::submit! { BrokerFactory { scheme: "kafka+ssl", connect } }
inventory::submit! { BrokerFactory { scheme: "kafka+sasl", connect } }
inventory::submit! { BrokerFactory { scheme: "kafka+sasl_ssl", connect } }
inventory::submit! { BrokerFactory { scheme: "kafka+sasl-ssl", connect } }
inventory::submit! { BrokerFactory { scheme: "kafka-secure", connect } }

/// Makes sure this crate is linked, so its `kafka://` registration is too. The
/// `tidings` facade calls it; a binary that names nothing else of this crate can too.
#[inline(never)]
pub fn link() -> &'static [&'static str] {
    config::SCHEMES
}
