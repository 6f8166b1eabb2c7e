//! Extractors: what a handler may take besides the message, read from the delivery.
//! A handler's first argument is the message; every other argument implements
//! [`FromDelivery`].

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;

use crate::broker::{header, Headers, Incoming};
use crate::error::Error;
use crate::runtime::context::Context;

/// Something a handler can take as an argument, read from the delivery it handles.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a handler argument",
    label = "not an extractor",
    note = "the first argument is the message; the others must implement `tidings::FromDelivery` \
            (Context, Headers, Key, CorrelationId, Params, Attempt, Channel, Raw, State<T>)"
)]
pub trait FromDelivery: Sized + Send {
    /// Reads the argument from the context of the delivery being handled.
    fn from_delivery(ctx: &Context) -> Result<Self, Error>;
}

fn incoming<'a>(ctx: &'a Context, what: &'static str) -> Result<&'a Incoming, Error> {
    // `ok_or_else`: the error's text is allocated only when there is no delivery, not
    // made and dropped for every message.
    ctx.incoming().ok_or_else(|| Error::Extract { what, reason: "no delivery is being handled".into() })
}

impl FromDelivery for Context {
    fn from_delivery(ctx: &Context) -> Result<Self, Error> {
        Ok(ctx.clone())
    }
}

impl FromDelivery for Headers {
    fn from_delivery(ctx: &Context) -> Result<Self, Error> {
        Ok(incoming(ctx, "Headers")?.headers.clone())
    }
}

/// The message key, where the broker has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key(pub Option<Bytes>);

impl FromDelivery for Key {
    fn from_delivery(ctx: &Context) -> Result<Self, Error> {
        Ok(Key(incoming(ctx, "Key")?.key.clone()))
    }
}

/// The correlation id header, where present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorrelationId(pub Option<String>);

impl FromDelivery for CorrelationId {
    fn from_delivery(ctx: &Context) -> Result<Self, Error> {
        Ok(CorrelationId(incoming(ctx, "CorrelationId")?.headers.get(header::CORRELATION_ID).map(str::to_owned)))
    }
}

/// Values of the channel address parameters (`region` in `orders.{region}.created`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Params(pub BTreeMap<String, String>);

impl Params {
    /// One parameter's value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

impl FromDelivery for Params {
    fn from_delivery(ctx: &Context) -> Result<Self, Error> {
        Ok(Params(incoming(ctx, "Params")?.params.clone()))
    }
}

/// Delivery attempt, starting at 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempt(pub u32);

impl FromDelivery for Attempt {
    fn from_delivery(ctx: &Context) -> Result<Self, Error> {
        Ok(Attempt(incoming(ctx, "Attempt")?.attempt))
    }
}

/// The concrete channel address the message arrived on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel(pub String);

impl FromDelivery for Channel {
    fn from_delivery(ctx: &Context) -> Result<Self, Error> {
        Ok(Channel(incoming(ctx, "Channel")?.channel.to_string()))
    }
}

/// The raw delivery: payload bytes, headers, key, attempt.
#[derive(Debug, Clone)]
pub struct Raw(pub Incoming);

impl FromDelivery for Raw {
    fn from_delivery(ctx: &Context) -> Result<Self, Error> {
        Ok(Raw(incoming(ctx, "Raw")?.clone()))
    }
}

/// Shared state registered with [`App::state`](crate::runtime::app::App::state).
#[derive(Debug)]
pub struct State<T>(pub Arc<T>);

impl<T> Clone for State<T> {
    fn clone(&self) -> Self {
        State(self.0.clone())
    }
}

impl<T> std::ops::Deref for State<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: Send + Sync + 'static> FromDelivery for State<T> {
    fn from_delivery(ctx: &Context) -> Result<Self, Error> {
        ctx.state::<T>().map(State).ok_or_else(|| Error::Extract {
            what: "State",
            reason: format!("no state of type `{}`: register it with App::state", std::any::type_name::<T>()),
        })
    }
}
