//! The broker side of the pipeline: what a broker must do (publish, subscribe, ack,
//! nack) and the data that crosses it. Each broker lives behind a URL scheme
//! (`memory://`, `kafka://`, ...) and registers a [`BrokerFactory`].

pub mod memory;

use std::any::Any;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use smallvec::SmallVec;

use crate::error::Error;

/// Message headers. Values are text: every broker we target carries text headers, and
/// binary values are rare enough to base64 by hand.
///
/// Shared copy-on-write: a clone (every delivery is cloned for its acker, every
/// published message for each consumer group) is one reference count, not a copy of
/// every name and value; the first change to a shared list copies it. Empty headers
/// allocate nothing; up to four headers live in the one shared allocation (a message
/// usually carries three or four), kept sorted by name. Static names and values
/// ([`insert_static`](Self::insert_static), and those tidings sets itself:
/// `content-type`, `x-tidings-message`...) are kept as the static strings they are, not
/// copied. Why it matters: headers are made by the publishing thread and freed by the
/// consuming one, and every allocation that crosses threads is a trip through the
/// allocator's locks.
#[derive(Clone, Default)]
pub struct Headers(Option<Arc<HeaderList>>);

type HeaderList = SmallVec<[(Cow<'static, str>, Cow<'static, str>); 4]>;

impl Headers {
    /// No headers.
    pub fn new() -> Self {
        Self::default()
    }
    fn list_mut(&mut self) -> &mut HeaderList {
        Arc::make_mut(self.0.get_or_insert_with(Default::default))
    }
    fn find(&self, name: &str) -> Result<usize, usize> {
        self.0.as_ref().map_or(Err(0), |l| l.binary_search_by(|(k, _)| k.as_ref().cmp(name)))
    }
    fn set(&mut self, name: Cow<'static, str>, value: Cow<'static, str>) {
        match self.find(&name) {
            Ok(i) => self.list_mut()[i].1 = value,
            Err(i) => self.list_mut().insert(i, (name, value)),
        }
    }
    /// A header's value.
    pub fn get(&self, name: &str) -> Option<&str> {
        let i = self.find(name).ok()?;
        self.0.as_ref().map(|l| l[i].1.as_ref())
    }
    /// Sets a header, replacing an old value.
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.set(Cow::Owned(name.into()), Cow::Owned(value.into()));
    }
    /// Sets a header whose name is a static string (and the value maybe too): the name is
    /// kept as it is, not copied.
    pub fn insert_static(&mut self, name: &'static str, value: impl Into<Cow<'static, str>>) {
        self.set(Cow::Borrowed(name), value.into());
    }
    /// Removes a header.
    pub fn remove(&mut self, name: &str) -> Option<String> {
        // Only a list that holds the name is copied out of its sharing.
        let i = self.find(name).ok()?;
        let list = self.list_mut();
        let (_, value) = list.remove(i);
        if list.is_empty() {
            self.0 = None;
        }
        Some(value.into_owned())
    }
    /// All headers, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().flat_map(|l| l.iter()).map(|(k, v)| (k.as_ref(), v.as_ref()))
    }
    /// Number of headers.
    pub fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |l| l.len())
    }
    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl PartialEq for Headers {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Headers {}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // As the derived Debug of the plain map was: `Headers({"name": "value"})`.
        f.debug_tuple("Headers").field(&DebugMap(self)).finish()
    }
}

struct DebugMap<'a>(&'a Headers);

impl fmt::Debug for DebugMap<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.0.iter()).finish()
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Headers {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut headers = Headers::new();
        for (k, v) in iter {
            headers.insert(k, v);
        }
        headers
    }
}

/// Well-known header names.
pub mod header {
    /// The payload's content type.
    pub const CONTENT_TYPE: &str = "content-type";
    /// The id that ties a chain of messages together.
    pub const CORRELATION_ID: &str = "correlation-id";
    /// The message name (`OrderCreated`).
    pub const MESSAGE_NAME: &str = "x-tidings-message";
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
    /// The message was not handled.
    fn nack(self: Box<Self>, nack: Nack) -> BoxFuture<'static, Result<(), Error>>;
}

/// One delivery: the message and the handle that settles it.
pub struct Delivery {
    /// The message.
    pub incoming: Incoming,
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

#[cfg(test)]
mod tests {
    use super::Headers;

    #[test]
    fn headers_are_copied_on_write_and_compare_by_content() {
        let mut a = Headers::new();
        assert!(a.is_empty());
        assert_eq!(a, Headers::default());
        a.insert("correlation-id", "c-1");
        a.insert_static("content-type", "application/json");
        let mut b = a.clone();
        b.insert("correlation-id", "c-2");
        assert_eq!(a.get("correlation-id"), Some("c-1"), "a clone's change is its own");
        assert_eq!(b.get("correlation-id"), Some("c-2"));
        assert_eq!(b.remove("content-type").as_deref(), Some("application/json"));
        assert_eq!(a.get("content-type"), Some("application/json"));
        assert_eq!(b.remove("absent"), None);
        assert_ne!(a, b);
        let c: Headers = [("content-type", "application/json"), ("correlation-id", "c-1")].into_iter().collect();
        assert_eq!(a, c);
        assert_eq!(format!("{a:?}"), r#"Headers({"content-type": "application/json", "correlation-id": "c-1"})"#);
        assert_eq!(a.iter().map(|(k, _)| k).collect::<Vec<_>>(), ["content-type", "correlation-id"]);
        let mut emptied = Headers::new();
        emptied.insert("x", "1");
        emptied.remove("x");
        assert_eq!(emptied, Headers::new());
        assert!(emptied.0.is_none(), "an emptied list is freed");
    }

    #[test]
    fn more_headers_than_fit_inline_stay_sorted_and_replaceable() {
        let mut h = Headers::new();
        for (i, name) in ["e", "c", "a", "f", "b", "d", "g"].into_iter().enumerate() {
            h.insert(name, i.to_string());
        }
        h.insert_static("c", "replaced");
        assert_eq!(h.len(), 7);
        assert_eq!(h.iter().map(|(k, _)| k).collect::<String>(), "abcdefg");
        assert_eq!(h.get("c"), Some("replaced"));
        assert_eq!(h.get("g"), Some("6"));
        assert_eq!(h.get("h"), None);
        assert_eq!(h.remove("a").as_deref(), Some("2"));
        assert_eq!(h.iter().map(|(k, _)| k).collect::<String>(), "bcdefg");
    }
}
