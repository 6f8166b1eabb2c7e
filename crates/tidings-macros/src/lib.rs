//! The procedural macros of tidings. Use them through the `tidings` crate:
//! `#[derive(tidings::Message)]`, `#[tidings::consumer]`, `#[tidings::producer]`,
//! `#[tidings::main]`.
//!
//! Each macro parses its input, checks it, and expands it; a misuse is an error on the
//! offending token.

use proc_macro::TokenStream;

mod attr;
#[cfg(feature = "avro")]
mod avro;
mod main_attr;
mod message;
mod operation;

fn into_tokens(result: syn::Result<proc_macro2::TokenStream>) -> TokenStream {
    result.unwrap_or_else(syn::Error::into_compile_error).into()
}

/// Implements `tidings::Message`: a stable name, version, kind and JSON Schema.
///
/// `#[message(name = "OrderCreated", version = "1.0.0", kind = "event", headers = H, codec = C)]`,
/// every key optional; the doc comment becomes the description. With the `avro` feature,
/// `avro = "schemas/order_created.avsc"` makes the `.avsc` the contract: the struct is
/// checked against it at compile time and travels as Avro (Confluent wire format).
#[proc_macro_derive(Message, attributes(message))]
pub fn derive_message(input: TokenStream) -> TokenStream {
    into_tokens(syn::parse(input).and_then(message::expand))
}

/// Ties a record struct or an enum nested in an Avro message to its named type in the
/// `.avsc`, checking it like the message: `#[avro(schema = "schemas/order.avsc", name = "OrderItem")]`
/// (`name` defaults to the type's name; a full name also works). Needs the `avro` feature.
#[proc_macro_derive(Avro, attributes(avro))]
pub fn derive_avro(input: TokenStream) -> TokenStream {
    #[cfg(feature = "avro")]
    return into_tokens(syn::parse(input).and_then(avro::derive));
    #[cfg(not(feature = "avro"))]
    into_tokens(syn::parse::<syn::DeriveInput>(input).and_then(|i| Err(syn::Error::new_spanned(&i.ident, AVRO_FEATURE_OFF))))
}

/// What a use of Avro says without the `avro` feature.
#[cfg(not(feature = "avro"))]
const AVRO_FEATURE_OFF: &str = "Avro contracts need the `avro` feature of tidings: tidings = { ..., features = [\"avro\"] }";

/// Registers an async fn as a consumer of `channel`.
///
/// `#[consumer(channel = "orders.created", group = "fulfilment", id = "...", concurrency = 8, max_attempts = 3)]`.
/// The first argument is the message; the others are extractors. Stack
/// `#[producer(channel = "...")]` to publish the return value.
#[proc_macro_attribute]
pub fn consumer(args: TokenStream, item: TokenStream) -> TokenStream {
    into_tokens(operation::consumer(args.into(), item.into()))
}

/// Declares a producer: on `static NAME: Producer<T>;` a typed handle to publish with;
/// stacked on a consumer, the channel its return value goes to.
///
/// `#[producer(channel = "orders.created", id = "...", key = order_id)]`, or
/// `key_with = path::to::fn` (a `fn(&T) -> K`) instead of `key`: the message key (the
/// Kafka record key, the `MessageGroupId` on an SQS FIFO queue), computed from each
/// message; `K` (or the field's type) implements `tidings::AsKey` (strings, bytes,
/// integers, `Option`s of those). An explicit `PublishOptions::key` wins.
#[proc_macro_attribute]
pub fn producer(args: TokenStream, item: TokenStream) -> TokenStream {
    into_tokens(operation::producer(args.into(), item.into()))
}

/// The service's `main`, in one of two forms.
///
/// On an `async fn main`: runs it on a multi-threaded tokio runtime with `tracing` output.
/// With `--asyncapi` or `--asyncapi-out`, which print or write the document and exit,
/// `main` runs on a current-thread runtime with no log output: errors still reach stderr
/// as text.
///
/// On a `fn main() -> tidings::App` that describes the service (`tidings::app!()` and its
/// builder calls): tidings runs the app it returns, as `app.run()` would in an async
/// `main`, and answers `--asyncapi` from it before starting any runtime, so printing the
/// document starts no thread, no IO driver and no log subscriber. The function runs
/// inside the runtime otherwise, and outside any under `--asyncapi`: what it does to
/// describe the service must not need one.
///
/// ```ignore
/// #[tidings::main]
/// fn main() -> tidings::App {
///     tidings::app!().title("Fulfilment")
/// }
/// ```
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    into_tokens(main_attr::expand(args.into(), item.into()))
}
