//! AsyncAPI 3.0 model and emitter: service description -> document.
//!
//! The runtime describes a service as plain data ([`ServiceDescription`]); [`emit`](fn@emit)
//! turns that into an AsyncAPI 3.0.0 [`Document`] that the official
//! `@asyncapi/parser` accepts, and [`Document::to_yaml`] / [`Document::to_json`] print
//! it byte-stably.
//!
//! ```
//! use tidings_asyncapi::{emit, ServiceDescription};
//!
//! let desc = ServiceDescription {
//!     title: "order-service".into(),
//!     version: "1.0.0".into(),
//!     ..Default::default()
//! };
//! let yaml = emit(&desc).expect("a valid description").to_yaml();
//! assert!(yaml.starts_with("asyncapi: 3.0.0\n"));
//! ```
//!
//! Modules:
//! - [`description`]: the input;
//! - [`model`]: the AsyncAPI 3.0 document types;
//! - [`map`]: [`Map`](map::Map), the model's maps of named objects, ordered by name;
//! - [`emit`](mod@emit): the conversion and the rules it follows;
//! - [`protocol`]: broker URL -> server object, and [`mask_url`] for logging URLs;
//! - [`error`]: [`SpecError`], the list of every [`Problem`] found.
#![warn(missing_docs)]

pub mod description;
pub mod emit;
pub mod error;
pub mod map;
pub mod model;
pub mod protocol;
mod schema;
mod yaml;

pub use description::{
    Action, BridgeDescription, ChannelDescription, KeyDescription, MessageDescription, MessageKind,
    OperationDescription, ReplyDescription, ServerDescription, ServiceDescription,
};
pub use emit::{emit, emit_owned};
pub use error::{Problem, SpecError};
pub use model::Document;
pub use protocol::{mask_url, server_for_url};
