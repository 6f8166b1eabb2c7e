//! The procedural macros of tidings. Use them through the `tidings` crate:
//! `#[derive(tidings::Message)]`, `#[tidings::consumer]`, `#[tidings::producer]`,
//! `#[tidings::main]`.
//!
//! Each macro parses its input, checks it, and expands it; a misuse is an error on the
//! offending token.

use proc_macro::TokenStream;

mod attr;
mod main_attr;
mod message;
mod operation;

fn into_tokens(result: syn::Result<proc_macro2::TokenStream>) -> TokenStream {
    result.unwrap_or_else(syn::Error::into_compile_error).into()
}

/// Implements `tidings::Message`: a stable name, version, kind and JSON Schema.
///
/// `#[message(name = "OrderCreated", version = "1.0.0", kind = "event", headers = H, codec = C)]`,
/// every key optional; the doc comment becomes the description.
#[proc_macro_derive(Message, attributes(message))]
pub fn derive_message(input: TokenStream) -> TokenStream {
    into_tokens(syn::parse(input).and_then(message::expand))
}

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
#[proc_macro_attribute]
pub fn producer(args: TokenStream, item: TokenStream) -> TokenStream {
    into_tokens(operation::producer(args.into(), item.into()))
}

/// Runs an async `main` on a multi-threaded tokio runtime with `tracing` output.
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    into_tokens(main_attr::expand(args.into(), item.into()))
}
