//! Rust types generated from `.avsc` files: `src/events.rs` is written by
//!
//! ```sh
//! tidings codegen avro examples/avro-codegen/schemas/*.avsc -o examples/avro-codegen/src/events.rs
//! ```
//!
//! and checked by `--check` in the tests (`tests/codegen.rs`), which also send every
//! type through the Avro codec. The derives check each generated type against its
//! schema when it compiles, like hand-written ones. The file is left as generated:
//! `rustfmt::skip` keeps `cargo fmt` from rewriting what `--check` compares.

#[rustfmt::skip]
pub mod events;
