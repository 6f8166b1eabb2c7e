//! [`Producer`]: a typed handle to publish one message type on one channel. Declared
//! as `#[tidings::producer(channel = "...")] static X: Producer<T>;`, it is both the
//! runtime handle and the document's `send` operation.

use std::borrow::{Borrow, Cow};
use std::collections::BTreeMap;
use std::marker::PhantomData;

use bytes::Bytes;

use crate::address::AddressTemplate;
use crate::broker::{Headers, Outgoing};
use crate::error::Error;
use crate::message::Message;
use crate::runtime::context::Context;
use crate::runtime::key::KeyFn;

/// A typed producer of `T` on one channel.
pub struct Producer<T> {
    channel: &'static str,
    key: Option<KeyFn<T>>,
    _message: PhantomData<fn(T)>,
}

impl<T> std::fmt::Debug for Producer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Producer").field("channel", &self.channel).field("keyed", &self.key.is_some()).finish()
    }
}

/// Options of one publish: key, extra headers, channel parameters.
#[derive(Debug, Clone, Default)]
pub struct PublishOptions {
    /// Message key, where the broker has one (Kafka partitions by it; on an SQS FIFO
    /// queue it is the `MessageGroupId`). Wins over the key the producer declares.
    pub key: Option<Bytes>,
    /// Headers added to the ones tidings sets.
    pub headers: Headers,
    /// Values for the channel's address parameters.
    pub params: BTreeMap<String, String>,
}

impl PublishOptions {
    /// Sets the key (instead of the declared one, if any).
    pub fn key(mut self, key: impl Into<Bytes>) -> Self {
        self.key = Some(key.into());
        self
    }
    /// Adds a header.
    pub fn header(mut self, name: impl AsRef<str>, value: impl AsRef<str>) -> Self {
        self.headers.insert(name, value);
        self
    }
    /// Sets a channel parameter.
    pub fn param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.params.insert(name.into(), value.into());
        self
    }
}

impl<T> Producer<T> {
    /// A producer on `channel`. The attribute macro calls this; write the attribute
    /// rather than calling it, so the producer shows in the document.
    pub const fn new(channel: &'static str) -> Self {
        Producer { channel, key: None, _message: PhantomData }
    }

    /// A producer on `channel` whose messages are keyed by `key` (`key = field` or
    /// `key_with = path` in the attribute, which calls this).
    pub const fn keyed(channel: &'static str, key: KeyFn<T>) -> Self {
        Producer { channel, key: Some(key), _message: PhantomData }
    }
}

impl<T: Message> Producer<T> {
    /// The channel address as declared.
    pub fn channel(&self) -> &'static str {
        self.channel
    }

    /// Publishes a message; returns once the broker has it.
    pub async fn publish(&self, ctx: &Context, message: impl Borrow<T>) -> Result<(), Error> {
        self.publish_with(ctx, message, PublishOptions::default()).await
    }

    /// Publishes with a key, extra headers or channel parameters. Without a key in
    /// `options`, the declared key (if any) is the message's key.
    pub async fn publish_with(
        &self,
        ctx: &Context,
        message: impl Borrow<T>,
        options: PublishOptions,
    ) -> Result<(), Error> {
        let (address, out) = self.outgoing(ctx, message.borrow(), options)?;
        ctx.publish_raw(&address, out).await
    }

    /// The address and the encoded message of one publish. Apart from the `async fn`
    /// above so that the options and the message are not kept across its wait.
    fn outgoing(&self, ctx: &Context, message: &T, options: PublishOptions) -> Result<(Cow<'static, str>, Outgoing), Error> {
        // A plain address (the common case) is used as declared: parsing and copying it
        // on every publish cost three allocations for nothing.
        let address = if self.channel.contains(['{', '}']) {
            Cow::Owned(AddressTemplate::parse(self.channel)?.render(&options.params)?)
        } else {
            Cow::Borrowed(self.channel)
        };
        let mut out = ctx.encode(message)?;
        for (k, v) in options.headers.iter() {
            out.headers.insert(k, v);
        }
        out.key = options.key.or_else(|| self.key.and_then(|key| key(message)));
        Ok((address, out))
    }
}
