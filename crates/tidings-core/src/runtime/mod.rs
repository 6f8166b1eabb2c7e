//! The runtime: the [`App`](app::App) that wires servers to channels, and the delivery
//! path delivery -> decode -> handler -> encode -> publish -> ack (`pipeline`).

pub mod app;
pub mod cli;
pub mod context;
pub mod extract;
pub mod key;
pub mod output;
pub(crate) mod pipeline;
pub mod producer;
