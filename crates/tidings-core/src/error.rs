//! The one error type of tidings.

use std::fmt;

/// A boxed error from user code (handlers, extractors).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong in tidings, each naming what and where.
///
/// `Debug` prints the same sentence as `Display` plus its causes, because `main`
/// returning `Err` prints `Debug`, and a service's last words should be readable.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A payload could not be decoded into the message type the consumer expects.
    #[error("cannot decode {message} from channel `{channel}`: {source}")]
    Decode {
        /// Channel the payload arrived on.
        channel: String,
        /// Message name the consumer expects.
        message: &'static str,
        /// The codec's error.
        #[source]
        source: BoxError,
    },
    /// A message could not be encoded.
    #[error("cannot encode {message}: {source}")]
    Encode {
        /// Message name.
        message: &'static str,
        /// The codec's error.
        #[source]
        source: BoxError,
    },
    /// An extractor could not get what a handler asked for.
    #[error("handler argument `{what}` unavailable: {reason}")]
    Extract {
        /// The extractor type.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// A handler returned an error.
    #[error("handler failed: {0}")]
    Handler(#[source] BoxError),
    /// The broker failed (connection, publish, subscribe, ack).
    #[error("broker `{server}`: {reason}")]
    Broker {
        /// Server name (or URL scheme).
        server: String,
        /// What happened.
        reason: String,
    },
    /// The app's configuration is wrong (unknown server, bad URL, unroutable channel).
    #[error("configuration: {0}")]
    Config(String),
    /// The registered messages and operations do not form a valid document.
    #[error("{0}")]
    Spec(#[from] tidings_asyncapi::SpecError),
    /// I/O while writing a document or reading configuration.
    #[error("{context}: {source}")]
    Io {
        /// What was being done (`writing docs/asyncapi/x.yaml`).
        context: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")?;
        let mut cause = std::error::Error::source(self);
        while let Some(c) = cause {
            write!(f, "\n  caused by: {c}")?;
            cause = c.source();
        }
        Ok(())
    }
}

impl Error {
    /// Wraps any error returned by a handler.
    pub fn handler(err: impl Into<BoxError>) -> Self {
        Error::Handler(err.into())
    }

    /// A handler error made from a plain message.
    pub fn msg(message: impl fmt::Display) -> Self {
        Error::Handler(message.to_string().into())
    }

    /// A broker error.
    pub fn broker(server: impl Into<String>, reason: impl fmt::Display) -> Self {
        Error::Broker { server: server.into(), reason: reason.to_string() }
    }

    /// True for a payload that did not decode: retrying it cannot help.
    pub fn is_decode(&self) -> bool {
        matches!(self, Error::Decode { .. })
    }
}

impl From<serde_json::Error> for Error {
    fn from(err: serde_json::Error) -> Self {
        Error::Handler(Box::new(err))
    }
}
