//! # tidings
//!
//! Event-driven services in Rust. Mark message types with `#[derive(Message)]`,
//! consumers with `#[tidings::consumer]` and producers with `#[tidings::producer]`;
//! every one registers itself. The same code runs on the in-memory broker (the
//! default) or a real one, and every binary prints its AsyncAPI 3.0 document with
//! `--asyncapi`.
//!
//! ```no_run
//! use tidings::prelude::*;
//!
//! /// An order was placed.
//! #[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Message)]
//! #[message(name = "OrderPlaced", version = "1.0.0")]
//! pub struct OrderPlaced { pub order_id: String }
//!
//! /// Logs every order.
//! #[tidings::consumer(channel = "orders.placed", group = "audit")]
//! async fn audit(order: OrderPlaced) {
//!     println!("order placed: {}", order.order_id);
//! }
//!
//! #[tidings::main]
//! async fn main() -> Result<(), tidings::Error> {
//!     tidings::app!().run().await
//! }
//! ```
//!
//! A `main` that only runs the app can return it instead: tidings runs the app, and
//! answers `--asyncapi` from it without starting any runtime.
//!
//! ```no_run
//! #[tidings::main]
//! fn main() -> tidings::App {
//!     tidings::app!().title("audit")
//! }
//! ```
#![warn(missing_docs)]

pub use tidings_core::{
    broker, codec, init_tracing, message, registry, testing, App, ArgsOutcome, AsKey, Attempt, BoxError, Broker, Channel,
    ChannelOptions, Codec, Context,
    CorrelationId, Error, FromDelivery, HandlerOutput, Headers, Incoming, Json, Key, MemoryBroker, Message, MessageKind,
    NoReply, Outgoing, PackageInfo, Params, Producer, PublishOptions, Raw, RetryPolicy, Running, State, TidingsArgs,
};
pub use tidings_macros::{consumer, main, producer, Avro, Message};

/// The AsyncAPI model and emitter.
pub use tidings_asyncapi as asyncapi;

/// The Kafka broker (`kafka://`), with the `kafka` feature; TLS and SASL/SCRAM need
/// `kafka-tls` (which links OpenSSL), and a server asking for them without it fails at start.
#[cfg(feature = "kafka")]
pub use tidings_kafka as kafka;

/// The SQS broker (`sqs://`), with the `sqs` feature.
#[cfg(feature = "sqs")]
pub use tidings_sqs as sqs;

/// Avro contracts and the Schema Registry, with the `avro` feature.
#[cfg(feature = "avro")]
pub use tidings_avro as avro;

/// What a service module needs: `use tidings::prelude::*;`.
pub mod prelude {
    pub use schemars::JsonSchema;
    pub use serde::{Deserialize, Serialize};

    pub use crate::{
        App, Attempt, Channel, Context, CorrelationId, Error, Headers, Key, Message, Params, Producer, PublishOptions, Raw,
        State,
    };
}

/// An [`App`] named after the calling crate's Cargo package (title, version and
/// description of its document).
#[macro_export]
macro_rules! app {
    () => {{
        $crate::__private::link_brokers();
        $crate::App::new($crate::PackageInfo {
            name: ::core::env!("CARGO_PKG_NAME"),
            version: ::core::env!("CARGO_PKG_VERSION"),
            description: ::core::env!("CARGO_PKG_DESCRIPTION"),
        })
    }};
}

/// Used by the code the macros generate; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use serde_json;
    pub use tidings_core::__private::*;
    pub use tidings_core::message::schema_of;
    pub use tokio;

    /// Names every broker crate the enabled features bring in, so the linker keeps
    /// them and their `inventory` registrations (a crate nothing refers to is dropped,
    /// and its `kafka://` with it). `app!()` and `#[tidings::main]` call it.
    #[inline(never)]
    pub fn link_brokers() {
        #[cfg(feature = "kafka")]
        ::std::hint::black_box(tidings_kafka::link());
        #[cfg(feature = "sqs")]
        ::std::hint::black_box(tidings_sqs::link());
    }
}
