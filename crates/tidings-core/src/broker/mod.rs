//! The broker side of the pipeline: what a broker must do (publish, subscribe, ack,
//! nack) and the data that crosses it. Each broker lives behind a URL scheme
//! (`memory://`, `kafka://`, ...) and registers a [`BrokerFactory`].

mod headers;
pub mod memory;

pub use headers::Headers;

use std::any::Any;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;

use crate::error::Error;

/// Well-known header names.
pub mod header {
    /// The payload's content type.
    pub const CONTENT_TYPE: &str = "content-type";
    /// The id that ties a chain of messages together.
    pub const CORRELATION_ID: &str = "correlation-id";
    /// The message name (`OrderCreated`).
    pub const MESSAGE_NAME: &str = "x-tidings-message";
    /// The W3C trace context of the message.
    pub const TRACEPARENT: &str = "traceparent";

    /// A new W3C `traceparent` value: version `00`, a random trace id and span id,
    /// sampled (`00-<32 hex>-<16 hex>-01`), for brokers to set on a message that has none.
    /// On the stack and from a per-thread generator: no allocation and no system call per
    /// message.
    pub fn new_traceparent() -> TraceParent {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = *b"00-00000000000000000000000000000000-0000000000000000-01";
        let trace = crate::runtime::context::random_u128();
        let span = crate::runtime::context::random_u128() as u64;
        for (i, slot) in out[3..35].iter_mut().enumerate() {
            *slot = HEX[((trace >> (124 - 4 * i)) & 0xf) as usize];
        }
        for (i, slot) in out[36..52].iter_mut().enumerate() {
            *slot = HEX[((span >> (60 - 4 * i)) & 0xf) as usize];
        }
        TraceParent(out)
    }

    /// A `traceparent` value made by [`new_traceparent`].
    #[derive(Clone, Copy)]
    pub struct TraceParent([u8; 55]);

    impl TraceParent {
        /// The header value.
        pub fn as_str(&self) -> &str {
            // Only ASCII digits, letters and `-` are ever written into it.
            std::str::from_utf8(&self.0).unwrap_or_default()
        }
    }

    impl std::fmt::Debug for TraceParent {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.as_str())
        }
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn traceparents_have_the_w3c_shape_and_differ() {
            let a = super::new_traceparent();
            let tp = a.as_str();
            let parts: Vec<&str> = tp.split('-').collect();
            assert_eq!(parts.len(), 4, "{tp}");
            assert_eq!(parts[0], "00");
            assert_eq!(parts[1].len(), 32);
            assert_eq!(parts[2].len(), 16);
            assert_eq!(parts[3], "01");
            assert!(parts[1..3].iter().all(|p| p.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())));
            assert!(parts[1] != "0".repeat(32) && parts[2] != "0".repeat(16), "all-zero ids are invalid");
            let seen: std::collections::HashSet<String> = (0..1000).map(|_| super::new_traceparent().as_str().to_owned()).collect();
            assert_eq!(seen.len(), 1000);
        }
    }
}

/// A message as it arrived: what the decode step and the extractors read.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// The concrete channel address it arrived on. Shared: brokers hand every delivery of
    /// a subscription the same name, not a copy each.
    pub channel: Arc<str>,
    /// The raw payload.
    pub payload: Bytes,
    /// The headers.
    pub headers: Headers,
    /// The message key, where the broker has one.
    pub key: Option<Bytes>,
    /// Delivery attempt, starting at 1.
    pub attempt: u32,
    /// Values of the channel's address parameters (`region` in `orders.{region}.created`).
    pub params: BTreeMap<String, String>,
}

/// A message ready to publish: what the encode step produces.
#[derive(Debug, Clone, Default)]
pub struct Outgoing {
    /// The encoded payload.
    pub payload: Bytes,
    /// Headers, content type and correlation id included.
    pub headers: Headers,
    /// The message key, where the broker has one.
    pub key: Option<Bytes>,
}

/// What to do with a message that was not handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Nack {
    /// Deliver it again after a delay.
    Retry {
        /// How long to wait first (a backoff, so a failing message cannot spin).
        after: Duration,
    },
    /// Give up: the broker parks it where it keeps dead letters.
    Reject {
        /// Why, for the dead letter's record.
        reason: String,
    },
}

/// A settlement that is already done: `Ok(())` as the boxed future [`Acker`] returns,
/// without allocating (a zero-sized future boxes for free, `async { Ok(()) }` does not:
/// an allocation per acknowledged message).
pub fn settled() -> BoxFuture<'static, Result<(), Error>> {
    Box::pin(Settled)
}

struct Settled;

impl std::future::Future for Settled {
    type Output = Result<(), Error>;
    fn poll(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        std::task::Poll::Ready(Ok(()))
    }
}

/// Settles one delivery. Brokers implement it; the pipeline calls exactly one method.
pub trait Acker: Send + 'static {
    /// The message was handled.
    fn ack(self: Box<Self>) -> BoxFuture<'static, Result<(), Error>>;
    /// The message was not handled. `delivered` is the message as it was delivered, for
    /// a broker that has to send it again itself (the in-memory broker re-enqueues it), so
    /// an acker need not keep a copy of every message for the rare one that fails.
    fn nack(self: Box<Self>, nack: Nack, delivered: &Incoming) -> BoxFuture<'static, Result<(), Error>>;
}

/// One delivery: the message and the handle that settles it.
pub struct Delivery {
    /// The message. Shared, as the pipeline hands it to the handler's context: made once
    /// by the broker, then passed on as a pointer (a message with its inline headers is
    /// several hundred bytes to copy at every step).
    pub incoming: Arc<Incoming>,
    /// Settles it.
    pub acker: Box<dyn Acker>,
}

impl fmt::Debug for Delivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Delivery").field("incoming", &self.incoming).finish_non_exhaustive()
    }
}

/// What a consumer subscribes to.
#[derive(Debug, Clone)]
pub struct SubscribeSpec {
    /// The channel address, possibly with parameters (`orders.{region}.created`).
    pub address: String,
    /// Consumer group: one delivery per group. `None`: every subscriber gets every message.
    pub group: Option<String>,
    /// The consuming operation's id, for logs and client ids.
    pub consumer: String,
}

/// A stream of deliveries, shared by a consumer's workers.
pub trait Subscription: Send + Sync + 'static {
    /// The next delivery; `None` when the subscription has ended. Cancel-safe: dropping
    /// the future loses no message.
    fn next(&self) -> BoxFuture<'_, Option<Delivery>>;

    /// A delivery that is ready now, without waiting; `None` when there is none (or the
    /// broker cannot tell without waiting, as the default says).
    ///
    /// The workers ask this first and await [`next`](Subscription::next) only when it
    /// has nothing: a consumer that keeps up with a busy channel then allocates no future
    /// and registers no waiter per delivery.
    fn try_next(&self) -> Option<Delivery> {
        None
    }
}

/// Broker-specific options of one channel, declared with
/// [`App::channel_options`](crate::App::channel_options): a Kafka topic's partitions, an
/// SQS queue's attributes. Each broker crate defines its own type (`KafkaTopic`,
/// `SqsQueue`); the runtime hands it to the broker the channel is on
/// ([`Broker::configure_channel`]) and the document shows it in the channel binding of
/// its protocol.
pub trait ChannelOptions: Any + Send + Sync + fmt::Debug {
    /// The binding key of the protocol these options are for (`kafka`, `sqs`).
    fn protocol(&self) -> &'static str;
    /// The fields of the channel binding these options add (a JSON object), merged over
    /// what the emitter derives (the topic or queue name, which stay).
    fn binding(&self) -> serde_json::Value;
    /// `self`, for the broker to downcast to its own type.
    fn as_any(&self) -> &dyn Any;
}

/// The options of `address` as the broker's own type `T`, or the error every broker gives
/// when a channel routed to it declares another broker's options: `broker` names the
/// server kind (`Kafka`), `server` the configured server, `expected` the type to declare.
pub fn channel_options_as<'o, T: ChannelOptions>(
    options: &'o Arc<dyn ChannelOptions>,
    address: &str,
    broker: &str,
    server: &str,
    expected: &str,
) -> Result<&'o T, Error> {
    options.as_any().downcast_ref::<T>().ok_or_else(|| {
        let other = options.protocol();
        Error::Config(format!(
            "channel `{address}` is on the {broker} server `{server}` but declares {other} options ({options:?}); \
             declare a {expected}, or route the channel to a {other} server"
        ))
    })
}

/// A connected broker.
pub trait Broker: Send + Sync + 'static {
    /// Publishes one message; returns once the broker has it.
    fn publish<'a>(&'a self, address: &'a str, message: Outgoing) -> BoxFuture<'a, Result<(), Error>>;
    /// Subscribes to a channel.
    fn subscribe(&self, spec: SubscribeSpec) -> BoxFuture<'_, Result<Box<dyn Subscription>, Error>>;
    /// Applies the options declared for the channel `address` (as declared, parameters
    /// included) before any consumer starts; called once per declared channel on the
    /// broker the channel is routed to. A broker without per-channel options ignores
    /// them (the default: the in-memory broker, so a service's tests run unchanged); a
    /// broker given another broker's options should say so.
    fn configure_channel<'a>(
        &'a self,
        address: &'a str,
        options: Arc<dyn ChannelOptions>,
    ) -> BoxFuture<'a, Result<(), Error>> {
        let _ = (address, options);
        Box::pin(async { Ok(()) })
    }
    /// Flushes and disconnects. Called once, after the consumers stopped.
    fn shutdown(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}

/// What connecting a broker gives: the broker, or why not.
pub type ConnectFuture = BoxFuture<'static, Result<Arc<dyn Broker>, Error>>;

/// Connects a broker for one URL scheme. Broker crates register one with
/// `inventory::submit!`.
pub struct BrokerFactory {
    /// The URL scheme (`memory`, `kafka`, ...).
    pub scheme: &'static str,
    /// Connects to the server named `name` at `url`.
    pub connect: fn(name: &str, url: &str) -> ConnectFuture,
}

inventory::collect!(BrokerFactory);

/// The factory for a URL's scheme.
pub fn factory_for(url: &str) -> Option<&'static BrokerFactory> {
    let scheme = url.split_once("://").map(|(s, _)| s)?;
    inventory::iter::<BrokerFactory>.into_iter().find(|f| f.scheme == scheme)
}

/// Schemes of every linked broker, sorted, for error messages.
pub fn known_schemes() -> Vec<&'static str> {
    let mut v: Vec<_> = inventory::iter::<BrokerFactory>.into_iter().map(|f| f.scheme).collect();
    v.sort_unstable();
    v
}
