//! The `tidings` command line, for any AsyncAPI 3.0 document (YAML or JSON): `validate`,
//! `diff`, `bundle` and `docs`.
//!
//! Modules:
//! - [`source`]: reading YAML/JSON into a value, with a JSON pointer -> line:column index;
//! - [`schema`]: the vendored official AsyncAPI 3.0.0 JSON Schema;
//! - [`refs`]: `$ref` parsing and resolution (local, relative files);
//! - [`validate`]: schema + semantic checks -> [`validate::Finding`]s;
//! - [`diff`], [`bundle`], [`docs`]: the other commands;
//! - [`cli`]: the clap command line.
#![warn(missing_docs)]

pub mod bundle;
pub mod cli;
pub mod diff;
pub mod docs;
pub mod refs;
pub mod schema;
pub mod source;
pub mod validate;
