//! [`Context`]: the handle a handler (or `main`) publishes through, with the delivery
//! being handled, if any.

use std::any::{Any, TypeId};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use futures::future::BoxFuture;

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
        headers.insert_static(header::CONTENT_TYPE, <T::Codec as Codec>::CONTENT_TYPE);
        headers.insert_static(header::MESSAGE_NAME, T::NAME);
        // Copied inline into the headers, never through a `String` of its own.
        match self.correlation_id() {
            Some(id) => headers.insert_static_copy(header::CORRELATION_ID, id),
            None => headers.insert_static_copy(header::CORRELATION_ID, new_correlation_id().encode_lower(&mut [0; 36])),
        }
        Ok(Outgoing { payload: payload.into(), headers, key: None })
    }

    /// Publishes an encoded message to a concrete address, through the server the
    /// address is routed to.
    ///
    /// Hands the message to the broker at once and returns the broker's own future (what
    /// is left is the wait for its confirmation), so a publish in flight holds no second
    /// copy of the message.
    pub fn publish_raw<'a>(&'a self, address: &'a str, message: Outgoing) -> BoxFuture<'a, Result<(), Error>> {
        match self.rt.broker_for(address) {
            Ok((_, broker)) => broker.publish(address, message),
            Err(e) => Box::pin(std::future::ready(Err(e))),
        }
    }

    /// Encodes and publishes a message to a concrete address. Prefer a declared
    /// [`Producer`](crate::runtime::producer::Producer): it appears in the document.
    pub async fn publish<T: Message>(&self, address: &str, message: &T) -> Result<(), Error> {
        let out = self.encode(message)?;
        self.publish_raw(address, out).await
    }
}

/// A random 128-bit id as a UUID v4 (its text form is the correlation id).
pub(crate) fn new_correlation_id() -> uuid::fmt::Hyphenated {
    uuid::Builder::from_random_bytes(random_u128().to_be_bytes()).into_uuid().hyphenated()
}

/// 128 random bits for ids (correlation ids, trace and span ids).
///
/// From a per-thread generator seeded once from the OS (through `Uuid::new_v4`), not a
/// `getrandom` system call per message: these ids must be unique, not secret.
pub(crate) fn random_u128() -> u128 {
    use std::cell::Cell;
    thread_local! {
        static STATE: Cell<(u64, u64)> = Cell::new({
            let seed = uuid::Uuid::new_v4().as_u64_pair();
            (seed.0, (seed.1 | 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
        });
    }
    STATE.with(|s| {
        let (mut a, b) = s.get();
        let mut next = || {
            // SplitMix64 over a Weyl sequence with a per-thread odd increment.
            a = a.wrapping_add(b);
            let mut z = a;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        let (hi, lo) = (next(), next());
        s.set((a, b));
        (u128::from(hi) << 64) | u128::from(lo)
    })
}

#[cfg(test)]
mod tests {
    use super::new_correlation_id;

    #[test]
    fn correlation_ids_are_v4_uuids_and_distinct() {
        let ids: std::collections::HashSet<String> = (0..1000).map(|_| new_correlation_id().to_string()).collect();
        assert_eq!(ids.len(), 1000);
        for id in ids.iter().take(10) {
            let u = uuid::Uuid::parse_str(id).unwrap();
            assert_eq!(u.get_version_num(), 4);
        }
    }
}
