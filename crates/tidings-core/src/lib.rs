//! The core of tidings: messages, the registry, the broker traits, the in-memory broker
//! and the runtime pipeline. Service authors use the `tidings` facade instead.
//!
//! Data paths:
//! - annotation -> [`registry`] -> document (`tidings_asyncapi::emit`);
//! - delivery ([`broker`]) -> decode ([`codec`]) -> handler -> encode -> publish -> ack
//!   ([`runtime`]'s pipeline).
#![warn(missing_docs)]

pub mod address;
pub mod broker;
pub mod codec;
pub mod error;
pub mod message;
pub mod registry;
pub mod runtime;
pub mod testing;

pub use broker::memory::MemoryBroker;
pub use broker::{Broker, ChannelOptions, Headers, Incoming, Outgoing};
pub use codec::{Codec, Json};
pub use error::{BoxError, Error};
pub use message::{Message, MessageKind};
pub use registry::RetryPolicy;
pub use runtime::app::{App, PackageInfo, Running};
pub use runtime::cli::TidingsArgs;
pub use runtime::context::Context;
pub use runtime::extract::{Attempt, Channel, CorrelationId, FromDelivery, Key, Params, Raw, State};
pub use runtime::key::AsKey;
pub use runtime::output::{HandlerOutput, NoReply};
pub use runtime::producer::{Producer, PublishOptions};

/// Sets up `tracing` output: `RUST_LOG` or `info`, to stderr (stdout carries documents).
pub fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// Used by the code the macros generate; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use futures::future::BoxFuture;
    pub use inventory;
    pub use tidings_asyncapi::description::{MessageDescription, MessageKind};

    pub use bytes::Bytes;

    pub use crate::registry::{ConsumerDecl, HandlerFuture, KeyDecl, ProducerDecl, ReplyDecl, RetryPolicy};
    pub use crate::runtime::key::{as_key, KeyFn};
    pub use crate::runtime::output::{PublishesMessage, PublishesNothing};

    use crate::codec::Codec;
    use crate::error::Error;
    use crate::message::Message;
    use crate::runtime::context::Context;

    /// The decode step: the payload of the delivery being handled as `T`.
    pub fn decode<T: Message>(ctx: &Context) -> Result<T, Error> {
        let incoming = ctx.incoming().ok_or(Error::Extract { what: "message", reason: "no delivery".into() })?;
        <T::Codec as Codec>::decode::<T>(&incoming.payload).map_err(|source| Error::Decode {
            channel: incoming.channel.clone(),
            message: T::NAME,
            source,
        })
    }

    /// Asserts at compile time that `T` is a message (the error points at `T`).
    pub const fn assert_message<T: Message>() {}
    /// Asserts at compile time that a handler without a producer returns no message.
    pub const fn assert_publishes_nothing<T: PublishesNothing + ?Sized>() {}
    /// Asserts at compile time that a handler with a producer returns a message.
    pub const fn assert_publishes_message<T: PublishesMessage + ?Sized>() {}
    /// Asserts at compile time that `T` is an extractor.
    pub const fn assert_extractor<T: crate::runtime::extract::FromDelivery>() {}
}
