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
pub use runtime::cli::{ArgsOutcome, TidingsArgs};
pub use runtime::context::Context;
pub use runtime::extract::{Attempt, Channel, CorrelationId, FromDelivery, Key, Params, Raw, State};
pub use runtime::key::AsKey;
pub use runtime::output::{HandlerOutput, NoReply};
pub use runtime::producer::{Producer, PublishOptions};

/// Sets up `tracing` output to stderr (stdout carries documents): `RUST_LOG` when set,
/// `info` otherwise.
///
/// `RUST_LOG` takes a default level and `target=level` directives (`info,tidings_kafka=debug`),
/// the syntax of tracing-subscriber's `Targets`; the `env-filter` feature swaps in
/// `EnvFilter` for span and field filters. A `RUST_LOG` that does not parse logs at `info`
/// and says why.
pub fn init_tracing() {
    use tracing_subscriber::filter::LevelFilter;
    let stderr = || {
        tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
    };
    let fmt = stderr();
    // Without RUST_LOG the filter is a plain level: no directive matching per callsite.
    let Some(spec) = std::env::var("RUST_LOG").ok().filter(|s| !s.trim().is_empty()) else {
        let _ = fmt.with_max_level(LevelFilter::INFO).try_init();
        return;
    };
    #[cfg(feature = "env-filter")]
    let filtered = tracing_subscriber::EnvFilter::try_new(&spec).map(|filter| fmt.with_env_filter(filter).try_init());
    #[cfg(not(feature = "env-filter"))]
    let filtered = if spec.contains(['[', ']', '{', '}']) {
        // `Targets` would take `[span]` for a target name and filter out everything.
        Err("span and field filters need the `env-filter` feature of tidings".to_owned())
    } else {
        spec.parse::<tracing_subscriber::filter::Targets>().map_err(|e| e.to_string()).map(|targets| {
            use tracing_subscriber::layer::SubscriberExt;
            use tracing_subscriber::util::SubscriberInitExt;
            fmt.with_max_level(LevelFilter::TRACE).finish().with(targets).try_init()
        })
    };
    if let Err(why) = filtered {
        let _ = stderr().with_max_level(LevelFilter::INFO).try_init();
        tracing::warn!(rust_log = %spec, error = %why, "RUST_LOG not understood; logging at info");
    }
}

/// Used by the code the macros generate; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use futures::future::BoxFuture;
    pub use inventory;
    pub use tidings_asyncapi::description::{MessageDescription, MessageKind};

    pub use bytes::Bytes;

    pub use crate::registry::{ConsumerDecl, HandlerResult, KeyDecl, ProducerDecl, ReplyDecl, RetryPolicy};
    pub use crate::runtime::pipeline::{run_worker, Worker};
    pub use crate::runtime::key::{as_key, KeyFn};
    pub use crate::runtime::output::{PublishesMessage, PublishesNothing};

    use crate::codec::Codec;
    use crate::error::Error;
    use crate::message::Message;
    use crate::runtime::context::Context;

    /// Whether the process's flags ask only for the AsyncAPI document (`--asyncapi`,
    /// `--asyncapi=FORMAT`, `--asyncapi-out PATH`): `#[tidings::main]` then runs `main`
    /// on a current-thread runtime without a log subscriber, as a process that prints a
    /// document and exits has no use for worker threads (starting them was a fifth of its
    /// run) or for the subscriber's span registry (32 KB of heap).
    pub fn spec_only() -> bool {
        spec_only_in(std::env::args_os().skip(1))
    }

    pub(crate) fn spec_only_in(args: impl Iterator<Item = std::ffi::OsString>) -> bool {
        args.take_while(|a| a != "--").any(|a| {
            let a = a.as_encoded_bytes();
            a == b"--asyncapi" || a.starts_with(b"--asyncapi=") || a == b"--asyncapi-out" || a.starts_with(b"--asyncapi-out=")
        })
    }

    /// With `--asyncapi` or `--asyncapi-out`, prints or writes `app`'s document and exits
    /// the process; otherwise returns. `#[tidings::main]` on a `fn main() -> App` calls it
    /// before it starts any runtime: the document needs none, and a runtime's drivers
    /// and code were a third of such a process's heap and a tenth of its page faults.
    pub fn answer_spec(app: &mut crate::runtime::app::App) -> Result<(), Error> {
        app.prepare().map(drop)
    }

    /// The decode step: the payload of the delivery being handled as `T`.
    pub fn decode<T: Message>(ctx: &Context) -> Result<T, Error> {
        // `ok_or_else`: `ok_or` made (and dropped) the error's `String` for every message.
        let incoming = ctx.incoming().ok_or_else(|| Error::Extract { what: "message", reason: "no delivery".into() })?;
        <T::Codec as Codec>::decode::<T>(&incoming.payload).map_err(|source| Error::Decode {
            channel: incoming.channel.to_string(),
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

#[cfg(test)]
mod tests {
    #[test]
    fn spec_only_sees_the_spec_flags_and_nothing_else() {
        let yes = |args: &[&str]| super::__private::spec_only_in(args.iter().map(std::ffi::OsString::from));
        assert!(yes(&["--asyncapi"]));
        assert!(yes(&["--server", "default=memory://", "--asyncapi=json"]));
        assert!(yes(&["--asyncapi-out", "doc.yaml"]));
        assert!(yes(&["--asyncapi-out=doc.json"]));
        assert!(!yes(&[]));
        assert!(!yes(&["--server", "default=memory://"]));
        assert!(!yes(&["--asyncapis"]), "another flag");
        assert!(!yes(&["--", "--asyncapi"]), "after `--` it is an argument, not a flag");
    }
}
