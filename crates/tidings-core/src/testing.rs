//! Testing services without a broker and without patching: [`TestApp`] runs the real
//! pipeline of every consumer linked into the test on one in-memory broker, like
//! FastStream's `TestKafkaBroker`, but nothing is mocked.
//!
//! ```no_run
//! # use tidings_core::testing::TestApp;
//! # async fn t() -> Result<(), tidings_core::Error> {
//! let app = TestApp::start().await?;
//! let accepted = app.subscribe::<serde_json::Value>("orders.accepted").await?;
//! app.publish_json("orders.created", &serde_json::json!({"order_id": "o-1"})).await?;
//! app.settled().await?;
//! # Ok(()) }
//! ```

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use crate::broker::memory::{DeadLetter, MemoryBroker};
use crate::broker::{Broker, Incoming, Outgoing, Subscription};
use crate::codec::Codec;
use crate::error::Error;
use crate::message::Message;
use crate::runtime::app::{App, PackageInfo, Running};
use crate::runtime::context::Context;

/// How long the awaiting helpers wait before they fail the test.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// An app running on an in-memory broker inside a test.
pub struct TestApp {
    running: Running,
    broker: MemoryBroker,
    timeout: Duration,
}

impl TestApp {
    /// Starts every linked consumer on a fresh in-memory broker.
    pub async fn start() -> Result<Self, Error> {
        Self::start_with(App::new(PackageInfo { name: "test", version: "0.0.0", description: "" })).await
    }

    /// Starts `app` with one in-memory broker as its only server; routes are kept and
    /// all lead to it. Environment variables and process flags are ignored.
    pub async fn start_with(app: App) -> Result<Self, Error> {
        let broker = MemoryBroker::default();
        let app = app.ignore_env().server_broker(crate::runtime::app::DEFAULT_SERVER, "memory://", Arc::new(broker.clone()));
        let running = app.start_in_memory().await?;
        Ok(TestApp { running, broker, timeout: DEFAULT_TIMEOUT })
    }

    /// Changes how long [`settled`](Self::settled) and [`Captured::next`] wait.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// A context to publish through, as `main` would.
    pub fn context(&self) -> Context {
        self.running.context()
    }

    /// The in-memory broker under the app.
    pub fn broker(&self) -> &MemoryBroker {
        &self.broker
    }

    /// Publishes a message to a concrete channel address.
    pub async fn publish<T: Message>(&self, address: &str, message: &T) -> Result<(), Error> {
        self.context().publish(address, message).await
    }

    /// Publishes any JSON value (for payloads no type describes, such as broken ones).
    pub async fn publish_json(&self, address: &str, value: &serde_json::Value) -> Result<(), Error> {
        self.publish_bytes(address, serde_json::to_vec(value)?).await
    }

    /// Publishes raw bytes.
    pub async fn publish_bytes(&self, address: &str, payload: impl Into<bytes::Bytes>) -> Result<(), Error> {
        self.broker.publish(address, Outgoing { payload: payload.into(), ..Default::default() }).await
    }

    /// Captures what is published on a channel from now on. Subscribe before
    /// publishing what leads to it.
    pub async fn subscribe<T: serde::de::DeserializeOwned>(&self, address: &str) -> Result<Captured<T>, Error> {
        let sub = self.broker.observe(address)?;
        Ok(Captured { sub, timeout: self.timeout, address: address.into(), _t: PhantomData })
    }

    /// Waits until every published message was handled (acked or rejected, retries
    /// included). Fails after the timeout.
    pub async fn settled(&self) -> Result<(), Error> {
        tokio::time::timeout(self.timeout, self.broker.settled()).await.map_err(|_| {
            Error::Config(format!("messages still in flight after {:?}: {}", self.timeout, self.broker.in_flight()))
        })
    }

    /// Messages the pipeline rejected (undecodable, or failing on every attempt).
    pub fn dead_letters(&self) -> Vec<DeadLetter> {
        self.broker.dead_letters()
    }

    /// Shuts the app down gracefully.
    pub async fn shutdown(self) -> Result<(), Error> {
        self.running.shutdown().await
    }
}

/// What a [`TestApp::subscribe`] captured.
pub struct Captured<T> {
    sub: Box<dyn Subscription>,
    timeout: Duration,
    address: String,
    _t: PhantomData<fn() -> T>,
}

impl<T: serde::de::DeserializeOwned> Captured<T> {
    /// The next message, decoded as JSON; fails after the timeout.
    pub async fn next(&self) -> Result<T, Error> {
        let raw = self.next_raw().await?;
        crate::codec::Json::decode::<T>(&raw.payload).map_err(|source| Error::Decode {
            channel: raw.channel.to_string(),
            message: std::any::type_name::<T>(),
            source,
        })
    }

    /// The next message as it arrived; fails after the timeout.
    pub async fn next_raw(&self) -> Result<Incoming, Error> {
        let delivery = tokio::time::timeout(self.timeout, self.sub.next())
            .await
            .map_err(|_| Error::Config(format!("nothing published on `{}` within {:?}", self.address, self.timeout)))?
            .ok_or_else(|| Error::Config(format!("subscription to `{}` ended", self.address)))?;
        let incoming = delivery.incoming;
        delivery.acker.ack().await?;
        Ok(Arc::unwrap_or_clone(incoming))
    }

    /// Whether nothing more arrives within `wait`.
    pub async fn is_quiet_for(&self, wait: Duration) -> bool {
        match tokio::time::timeout(wait, self.sub.next()).await {
            Ok(Some(d)) => {
                let _ = d.acker.ack().await;
                false
            }
            _ => true,
        }
    }
}

impl App {
    /// Starts on the servers as given, reading neither flags nor environment.
    pub(crate) async fn start_in_memory(self) -> Result<Running, Error> {
        self.start_without_cli().await
    }
}
