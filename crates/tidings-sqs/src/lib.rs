//! # tidings-sqs
//!
//! The Amazon SQS broker of tidings, on `aws-sdk-sqs`. A server configured as
//! `sqs://[region][?option=value&...]` runs its channels on SQS queues; linking this
//! crate (the `sqs` feature of `tidings`) registers the `sqs://` scheme.
//!
//! - Channels are queues: by name (`orders.created` is queue `orders-created`: SQS
//!   names have no dots) or by queue URL; resolved once with `GetQueueUrl`, created
//!   when missing only with `create=true`. See [`queue`].
//! - Consumers long-poll, hand messages to the pipeline's workers, delete a message
//!   only after its handler succeeded (in batches), keep a long handler's message
//!   hidden (a heartbeat extends its visibility), retry by changing the visibility,
//!   and send rejected messages to a dead-letter queue with why and where from. FIFO
//!   queues keep each message group in order. See [`consumer`].
//! - Producers send with `SendMessage`, batched (`SendMessageBatch`) when publishes
//!   come together; headers become message attributes; on FIFO queues the key is the
//!   `MessageGroupId` and the deduplication id is content-based unless a header sets
//!   it. See [`wire`].
//! - SQS has no consumer groups: a queue's consumers share its messages. Fan-out needs
//!   one queue per consumer (SNS), and channel addresses with parameters cannot be
//!   consumed (SQS has no patterns).
//!
//! Options of the URL: see [`SqsConfig`]. Options of one queue (visibility timeout,
//! receive wait, redrive target, FIFO): see [`SqsQueue`], declared with
//! `App::channel_options`.
#![warn(missing_docs)]

pub mod config;
pub mod consumer;
pub mod options;
mod producer;
pub mod queue;
pub mod wire;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_sdk_sqs::config::timeout::TimeoutConfig;
use aws_sdk_sqs::config::Region;
use aws_sdk_sqs::error::{DisplayErrorContext, SdkError};
use aws_sdk_sqs::Client;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use futures::future::BoxFuture;
use tidings_core::address::AddressTemplate;
use tidings_core::broker::{Broker, BrokerFactory, ChannelOptions, Outgoing, SubscribeSpec, Subscription};
use tidings_core::Error;

/// The AWS SDK for SQS this crate uses, for what tidings does not do.
pub use aws_sdk_sqs;
pub use config::SqsConfig;
pub use consumer::{DLQ_ATTEMPTS, DLQ_CONSUMER, DLQ_MESSAGE_ID, DLQ_QUEUE, DLQ_REASON};
pub use options::{Redrive, SqsQueue};
pub use queue::Queue;
pub use wire::{DEDUPLICATION_ID, GROUP_ID};

use consumer::ConsumerHandle;
use producer::Publisher;
use queue::Queues;

/// How long connecting waits for SQS to answer before failing.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A connected SQS server: one client, a publisher, one consumer per subscription.
pub struct SqsBroker {
    name: String,
    config: Arc<SqsConfig>,
    client: Client,
    queues: Arc<Queues>,
    publisher: Arc<Publisher>,
    consumers: Mutex<Vec<ConsumerHandle>>,
    /// Queue URL -> consumers on it, to warn when several share one queue.
    subscribed: Mutex<HashMap<String, Vec<String>>>,
}

impl std::fmt::Debug for SqsBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqsBroker").field("name", &self.name).field("config", &self.config).finish_non_exhaustive()
    }
}

impl SqsBroker {
    /// Connects the server `name` at `url` (credentials, and the region and endpoint the
    /// URL does not name, from the AWS environment) and checks that SQS answers.
    pub async fn connect(name: &str, url: &str) -> Result<Self, Error> {
        let config = SqsConfig::from_url(name, url)?;
        Self::connect_with(name, config).await
    }

    /// Connects with a configuration made by hand.
    pub async fn connect_with(name: &str, config: SqsConfig) -> Result<Self, Error> {
        // One hyper 1 client with rustls on ring, for SQS and the credential providers.
        let http = aws_smithy_http_client::Builder::new().tls_provider(tls::Provider::Rustls(CryptoMode::Ring)).build_https();
        // Bounded calls: a connection that dies silently cannot hang a poller. A long
        // poll takes up to `wait_time` (a queue's declared wait may be longer than the
        // server's, up to SQS's 20 s); every other call is quick.
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(5))
            .operation_attempt_timeout(config.wait_time.max(config::MAX_WAIT_TIME) + Duration::from_secs(15))
            .build();
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(http).timeout_config(timeouts);
        if let Some(region) = &config.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(endpoint) = &config.endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        let sdk = loader.load().await;
        if sdk.region().is_none() {
            return Err(Error::Config(format!(
                "server `{name}`: no AWS region; name it in the URL (`sqs://us-east-1`) or set AWS_REGION"
            )));
        }
        let client = Client::new(&sdk);
        let where_ = match (&config.endpoint, sdk.region()) {
            (Some(e), _) => e.clone(),
            (None, Some(r)) => format!("region {r}"),
            (None, None) => "the default endpoint".into(),
        };
        // The SDK connects lazily: ask once so a wrong endpoint, no credentials or an
        // unreachable service fail the start with a clear error. Any answer from SQS
        // (even "access denied" to listing queues) shows it is reachable.
        let probe = tokio::time::timeout(CONNECT_TIMEOUT, client.list_queues().max_results(1).send()).await;
        match probe {
            Err(_) => {
                return Err(Error::broker(name, format!("SQS at {where_} did not answer within {CONNECT_TIMEOUT:?}")));
            }
            Ok(Err(SdkError::ServiceError(e))) => {
                tracing::debug!(server = name, error = %DisplayErrorContext(e.err()), "SQS answered the connection check with an error");
            }
            Ok(Err(e)) => {
                return Err(Error::broker(name, format!("SQS at {where_} cannot be reached: {}", DisplayErrorContext(&e))));
            }
            Ok(Ok(_)) => {}
        }
        tracing::info!(server = name, at = %where_, "SQS connected");
        let config = Arc::new(config);
        Ok(SqsBroker {
            name: name.to_owned(),
            queues: Arc::new(Queues::new(name, client.clone(), config.clone())),
            publisher: Arc::new(Publisher::new(client.clone())),
            config,
            client,
            consumers: Mutex::new(Vec::new()),
            subscribed: Mutex::new(HashMap::new()),
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &SqsConfig {
        &self.config
    }

    /// The SQS client (for what tidings does not do: queue administration, purges).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The queue of a channel address, resolved (and created, with `create=true`).
    pub async fn queue(&self, address: &str) -> Result<Queue, Error> {
        Ok((*self.queues.for_address(address).await?).clone())
    }

    /// The dead-letter queue of a channel's queue: its redrive target, else the
    /// server's `dlq` name (created, with `create=true`).
    pub async fn dead_letter_queue(&self, address: &str) -> Result<Queue, Error> {
        let source = self.queues.for_address(address).await?;
        Ok((*self.queues.dead_letter_queue(&source).await?).clone())
    }
}

impl Broker for SqsBroker {
    fn publish<'a>(&'a self, address: &'a str, message: Outgoing) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let queue = self.queues.for_address(address).await?;
            let encoded = wire::encode(&message, queue.fifo).map_err(|why| {
                Error::broker(&self.name, format!("publish to queue `{}` (channel `{address}`): {why}", queue.name))
            })?;
            self.publisher.send(&queue, encoded).await.map_err(|why| {
                Error::broker(&self.name, format!("publish to queue `{}` (channel `{address}`) failed: {why}", queue.name))
            })
        })
    }

    fn subscribe(&self, spec: SubscribeSpec) -> BoxFuture<'_, Result<Box<dyn Subscription>, Error>> {
        Box::pin(async move {
            if AddressTemplate::parse(&spec.address)?.is_parameterized() {
                return Err(Error::Config(format!(
                    "server `{}`: consumer `{}` subscribes to `{}`, but SQS queues have no patterns; \
                     consume concrete channels (one queue each)",
                    self.name, spec.consumer, spec.address
                )));
            }
            let queue = self.queues.for_address(&spec.address).await?;
            {
                let mut subscribed = self.subscribed.lock().unwrap_or_else(|e| e.into_inner());
                let others = subscribed.entry(queue.url.clone()).or_default();
                if !others.is_empty() {
                    tracing::warn!(
                        server = %self.name, queue = %queue.name, consumer = %spec.consumer, others = ?others,
                        "several consumers on one SQS queue share its messages (each goes to one of them); \
                         fan-out needs a queue per consumer"
                    );
                }
                others.push(spec.consumer.clone());
            }
            // A queue's declared wait and visibility timeout override the server's.
            let config = match self.queues.declared(&queue.name) {
                Some(d) if d.receive_wait.is_some() || d.visibility_timeout.is_some() => {
                    let mut c = (*self.config).clone();
                    c.wait_time = d.receive_wait.unwrap_or(c.wait_time);
                    c.visibility_timeout = d.visibility_timeout.unwrap_or(c.visibility_timeout);
                    Arc::new(c)
                }
                _ => self.config.clone(),
            };
            let (subscription, handle) = consumer::subscribe(consumer::SubscribeArgs {
                server: self.name.clone(),
                consumer: spec.consumer.clone(),
                address: spec.address.clone(),
                queue,
                client: self.client.clone(),
                config,
                queues: self.queues.clone(),
                publisher: self.publisher.clone(),
            })
            .await;
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
            let declared = tidings_core::broker::channel_options_as::<SqsQueue>(&options, address, "SQS", &self.name, "tidings::sqs::SqsQueue")?;
            if AddressTemplate::parse(address)?.is_parameterized() {
                return Err(Error::Config(format!(
                    "channel `{address}` has parameters, and SQS queues have no patterns: declare SqsQueue options \
                     of concrete channels"
                )));
            }
            let name = self.queues.name_of(address)?;
            declared
                .check(&name)
                .map_err(|why| Error::Config(format!("server `{}`: channel `{address}` (queue `{name}`): {why}", self.name)))?;
            self.queues.declare(&name, declared.clone());
            // Resolved now: a missing queue fails the start (or is created with the
            // declared attributes, with `create=true`), and so does its redrive target.
            let queue = self.queues.for_address(address).await?;
            if declared.redrive.is_some() {
                self.queues.dead_letter_queue(&queue).await?;
            }
            Ok(())
        })
    }

    fn shutdown(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let consumers = std::mem::take(&mut *self.consumers.lock().unwrap_or_else(|e| e.into_inner()));
            futures::future::join_all(consumers.into_iter().map(ConsumerHandle::stop)).await;
            self.publisher.close();
        })
    }
}

fn connect(name: &str, url: &str) -> BoxFuture<'static, Result<Arc<dyn Broker>, Error>> {
    let (name, url) = (name.to_owned(), url.to_owned());
    Box::pin(async move { Ok(Arc::new(SqsBroker::connect(&name, &url).await?) as Arc<dyn Broker>) })
}

inventory::submit! { BrokerFactory { scheme: config::SCHEME, connect } }

/// Makes sure this crate is linked, so its `sqs://` registration is too. The
/// `tidings` facade calls it; a binary that names nothing else of this crate can too.
#[inline(never)]
pub fn link() -> &'static str {
    config::SCHEME
}
