//! The order service binary: `ruststream-order-peer asyncapi gen` prints its document,
//! `run` runs it (the CLI that `#[ruststream::app]` generates).

#[ruststream::app]
fn app() -> impl ruststream::memory::prelude::App {
    ruststream_order_peer::app()
}
