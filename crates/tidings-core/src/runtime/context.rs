//! [`Context`]: the handle a handler (or `main`) publishes through, with the delivery
//! being handled, if any.

use std::any::{Any, TypeId};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::address::AddressTemplate;
use crate::broker::{header, Broker, Incoming, Outgoing};
use crate::codec::Codec;
use crate::error::Error;
use crate::message::Message;

pub(crate) type StateMap = HashMap<TypeId, Arc<dyn Any + Send + Sync>>;

/// What every context of one running app shares.
pub(crate) struct Runtime {
    pub(crate) servers: BTreeMap<String, Arc<dyn Broker>>,
    pub(crate) default_server: String,
    pub(crate) routes: Vec<(AddressTemplate, String)>,
    pub(crate) state: StateMap,
}

impl Runtime {
    /// The server a concrete address is routed to.
    pub(crate) fn broker_for(&self, address: &str) -> Result<(&str, &Arc<dyn Broker>), Error> {
        let name = self
            .routes
            .iter()
            .find(|(t, _)| t.as_str() == address || t.matches(address).is_some())
            .map(|(_, s)| s.as_str())
            .unwrap_or(&self.default_server);
        let broker = self
            .servers
            .get(name)
            .ok_or_else(|| Error::Config(format!("channel `{address}` is routed to unknown server `{name}`")))?;
        Ok((name, broker))
    }
}

/// The handle handlers and `main` publish through. Cheap to clone.
///
/// In a handler it also carries the delivery being handled, so what it publishes keeps
/// the incoming correlation id.
#[derive(Clone)]
pub struct Context {
    pub(crate) rt: Arc<Runtime>,
    pub(crate) current: Option<Arc<Incoming>>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context").field("current", &self.current).finish_non_exhaustive()
    }
}

impl Context {
    pub(crate) fn for_delivery(&self, incoming: Arc<Incoming>) -> Context {
        Context { rt: self.rt.clone(), current: Some(incoming) }
    }

    /// The delivery being handled, in a handler.
    pub fn incoming(&self) -> Option<&Incoming> {
        self.current.as_deref()
    }

    /// The correlation id of the delivery being handled.
    pub fn correlation_id(&self) -> Option<&str> {
        self.current.as_deref().and_then(|i| i.headers.get(header::CORRELATION_ID))
    }

    /// Shared state registered with [`App::state`](crate::runtime::app::App::state).
    pub fn state<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        self.rt.state.get(&TypeId::of::<T>()).cloned().and_then(|s| s.downcast::<T>().ok())
    }

    /// Encodes a message for publishing: payload, content type, message name, and the
    /// correlation id of the delivery being handled (or a new one).
    pub fn encode<T: Message>(&self, message: &T) -> Result<Outgoing, Error> {
        let payload = <T::Codec as Codec>::encode(message)
            .map_err(|source| Error::Encode { message: T::NAME, source })?;
        let mut headers = crate::broker::Headers::new();
        headers.insert(header::CONTENT_TYPE, <T::Codec as Codec>::CONTENT_TYPE);
        headers.insert(header::MESSAGE_NAME, T::NAME);
        let correlation = self.correlation_id().map(str::to_owned).unwrap_or_else(new_correlation_id);
        headers.insert(header::CORRELATION_ID, correlation);
        Ok(Outgoing { payload: payload.into(), headers, key: None })
    }

    /// Publishes an encoded message to a concrete address, through the server the
    /// address is routed to.
    pub async fn publish_raw(&self, address: &str, message: Outgoing) -> Result<(), Error> {
        let (_, broker) = self.rt.broker_for(address)?;
        broker.publish(address, message).await
    }

    /// Encodes and publishes a message to a concrete address. Prefer a declared
    /// [`Producer`](crate::runtime::producer::Producer): it appears in the document.
    pub async fn publish<T: Message>(&self, address: &str, message: &T) -> Result<(), Error> {
        let out = self.encode(message)?;
        self.publish_raw(address, out).await
    }
}

/// A random 128-bit id in UUID v4 text form.
pub(crate) fn new_correlation_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
