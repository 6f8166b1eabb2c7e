//! AsyncAPI 3.0 model and emitter: service description -> document.

pub mod description;
