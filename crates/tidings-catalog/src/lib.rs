//! Event catalog across services: who produces and who consumes every message, through
//! which channels, across brokers and the bridges between them.
//!
//! Input: AsyncAPI 3.x documents from any producer (files or folders), plus an optional
//! catalog config file ([`config`]) that declares bridges, owners and the domain.
//! Services of ours also declare bridges in their own documents, with the channel
//! extension [`model::BRIDGE_EXTENSION`] (`x-tidings-bridge`).
//!
//! ```no_run
//! use tidings_catalog::load::{load, LoadOptions};
//!
//! let catalog = load(&["docs/asyncapi".into()], &LoadOptions::default())?;
//! for consumer in catalog.who_consumes("CustomerDataDeletionRequest") {
//!     println!("{} on {}", consumer.service, consumer.channel);
//! }
//! # Ok::<(), tidings_catalog::load::LoadError>(())
//! ```
//!
//! Modules:
//! - [`load`]: files and folders -> documents (bad ones reported, skipped unless strict);
//! - [`model`]: the [`Catalog`]: services, channels, bridges, and how they are joined;
//! - [`query`]: who-consumes, who-produces, service, orphans, flows, lint;
//! - [`schema`]: what lint calls the same schema (the compatibility rules themselves are
//!   `tidings_compat`'s, shared with `tidings diff`);
//! - [`graph`]: flow graphs as Mermaid, DOT, or SVG laid out here;
//! - [`html`]: the static offline HTML catalog;
//! - [`ecosystem`]: Backstage `catalog-info.yaml`, EventCatalog generator configuration;
//! - [`cli`]: the `catalog` subcommands ([`cli::CatalogCommand`], [`cli::run`]).
#![warn(missing_docs)]

pub mod cli;
pub mod config;
pub mod ecosystem;
pub mod graph;
pub mod html;
pub mod load;
pub mod model;
pub mod query;
pub mod schema;

pub use config::CatalogConfig;
pub use model::{Bridge, Catalog, ChannelKey, Diagnostic, Service};
