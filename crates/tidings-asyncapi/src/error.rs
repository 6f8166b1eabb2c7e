//! Why a service description cannot become a valid document.
//!
//! The emitter does not stop at the first problem: a [`SpecError`] lists every
//! [`Problem`] it found, sorted, so one run of the binary shows everything to fix.
//! Each problem names what is wrong and where it was declared. Server URLs only ever
//! appear masked (see [`crate::mask_url`]).

use std::fmt;

/// One thing in a service description that prevents a valid AsyncAPI document.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    /// A server URL that cannot be parsed. `url` is masked.
    #[error("server `{server}`: invalid URL `{url}`: {reason}")]
    InvalidServerUrl {
        /// The server name.
        server: String,
        /// The URL with credentials and query values replaced by `***`.
        url: String,
        /// What is wrong, without echoing any part of the URL.
        reason: String,
    },
    /// A server URL whose scheme names no protocol this crate knows. `url` is masked.
    #[error("server `{server}`: unsupported URL scheme `{scheme}` in `{url}`")]
    UnsupportedScheme {
        /// The server name.
        server: String,
        /// The scheme as written.
        scheme: String,
        /// The URL with credentials and query values replaced by `***`.
        url: String,
    },
    /// A server name that cannot be a key of `servers` and the target of a `$ref`.
    #[error("server `{server}`: invalid name: {reason}")]
    InvalidServerName {
        /// The server name.
        server: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Two servers with one name but different URLs.
    #[error("server `{server}` is configured twice with different URLs")]
    DuplicateServer {
        /// The server name.
        server: String,
    },
    /// A channel routed to a server that is not configured.
    #[error("channel `{channel}`: unknown server `{server}`")]
    UnknownServer {
        /// The channel address.
        channel: String,
        /// The server name it asks for.
        server: String,
    },
    /// A channel address that cannot be written as an AsyncAPI address.
    #[error("channel `{address}`: invalid address: {reason}")]
    InvalidAddress {
        /// The address as declared.
        address: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Two addresses that map to the same channel id.
    #[error("channels `{first}` and `{second}` both map to the channel id `{id}`")]
    ChannelIdCollision {
        /// The shared channel id.
        id: String,
        /// The first address (in sort order).
        first: String,
        /// The second address.
        second: String,
    },
    /// One address described twice with different details.
    #[error("channel `{address}` is described twice with different details")]
    ConflictingChannel {
        /// The address.
        address: String,
    },
    /// One message sent on Kafka with two different declared keys: the message
    /// binding's `key` can only say one.
    #[error("message `{message}`: producers declare different keys ({first} and {second}); the Kafka message binding describes one key per message")]
    ConflictingMessageKey {
        /// The message name.
        message: String,
        /// One declared key, with its operation.
        first: String,
        /// The other.
        second: String,
    },
    /// A bridge whose target is not `protocol:address`.
    #[error("channel `{channel}`: bridge target `{to}` is not `protocol:address` (`sqs:order-events`)")]
    InvalidBridge {
        /// The bridged channel's address.
        channel: String,
        /// The target as declared.
        to: String,
    },
    /// A parameter description for a `{name}` the address does not contain.
    #[error("channel `{address}`: parameter `{parameter}` is described but not in the address")]
    UnknownParameter {
        /// The address.
        address: String,
        /// The described parameter name.
        parameter: String,
    },
    /// Two Rust types that claim the same message name.
    #[error("message `{message}` is declared by two Rust types: `{first_type}` and `{second_type}`")]
    MessageNameConflict {
        /// The message name.
        message: String,
        /// The first Rust type (in sort order).
        first_type: String,
        /// The second Rust type.
        second_type: String,
    },
    /// One message (same name, same Rust type) described twice with different details.
    #[error("message `{message}` (Rust type `{rust_type}`) is described twice with different details")]
    ConflictingMessage {
        /// The message name.
        message: String,
        /// The Rust type.
        rust_type: String,
    },
    /// A message name that cannot be a key of `components/messages`.
    #[error("message `{message}` (Rust type `{rust_type}`): invalid name: {reason}")]
    InvalidMessageName {
        /// The message name.
        message: String,
        /// The Rust type.
        rust_type: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An operation that names a message nobody described.
    #[error("operation `{operation}` ({source_location}): unknown message `{message}`")]
    UnknownMessage {
        /// The operation id.
        operation: String,
        /// Where the operation was declared.
        source_location: String,
        /// The missing message name.
        message: String,
    },
    /// An operation whose reply names a message nobody described.
    #[error("operation `{operation}` ({source_location}): unknown reply message `{message}`")]
    UnknownReplyMessage {
        /// The operation id.
        operation: String,
        /// Where the operation was declared.
        source_location: String,
        /// The missing message name.
        message: String,
    },
    /// Two operations with one id.
    #[error("operation id `{operation}` is used twice: by {first_source} and by {second_source}")]
    DuplicateOperation {
        /// The operation id.
        operation: String,
        /// Where the first one was declared (in sort order).
        first_source: String,
        /// Where the second one was declared.
        second_source: String,
    },
    /// An operation id that cannot be a key of `operations`.
    #[error("operation `{operation}` ({source_location}): invalid id: {reason}")]
    InvalidOperationId {
        /// The operation id.
        operation: String,
        /// Where the operation was declared.
        source_location: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A consumer group that cannot be written (on a producer, empty, or too long for
    /// the protocol's binding).
    #[error("operation `{operation}` ({source_location}): invalid consumer group `{group}`: {reason}")]
    InvalidGroup {
        /// The operation id.
        operation: String,
        /// Where the operation was declared.
        source_location: String,
        /// The group.
        group: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Two messages whose schemas define one schema name differently.
    #[error("schema `{schema}` is defined differently by messages `{first_message}` and `{second_message}`")]
    SchemaConflict {
        /// The schema name under `components/schemas`.
        schema: String,
        /// The first message (in sort order).
        first_message: String,
        /// The second message.
        second_message: String,
    },
    /// A payload or headers schema that cannot be used.
    #[error("message `{message}`: invalid {part} schema: {reason}")]
    InvalidSchema {
        /// The message name.
        message: String,
        /// `payload` or `headers`.
        part: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// Every problem that keeps a service description from becoming a valid document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct SpecError {
    /// The problems, sorted and without duplicates; never empty when returned by
    /// [`crate::emit()`].
    pub problems: Vec<Problem>,
}

impl SpecError {
    /// An error of the given problems, sorted and deduplicated so the message is stable.
    pub fn new(mut problems: Vec<Problem>) -> Self {
        problems.sort();
        problems.dedup();
        SpecError { problems }
    }
}

impl From<Problem> for SpecError {
    fn from(problem: Problem) -> Self {
        SpecError::new(vec![problem])
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(
            f,
            "cannot build the AsyncAPI document: {n} problem{}",
            if n == 1 { "" } else { "s" }
        )?;
        for problem in &self.problems {
            write!(f, "\n  - {problem}")?;
        }
        Ok(())
    }
}
