//! The plain-data description of one service that the emitter turns into a document.
//!
//! The runtime (`tidings-core`) builds a [`ServiceDescription`] from what the binary
//! registered through `inventory`; nothing here knows about Rust types or brokers, so
//! other tools (the CLI, tests) can build one by hand.

use std::collections::BTreeMap;

use serde_json::Value;

/// Everything the emitter needs to know about one service.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServiceDescription {
    /// `info.title`: defaults to the Cargo package name of the binary.
    pub title: String,
    /// `info.version`: defaults to the Cargo package version.
    pub version: String,
    /// `info.description`: defaults to the Cargo package description.
    pub description: Option<String>,
    /// Configured servers, each a named broker URL. The URL may hold credentials; the
    /// emitter never copies them into the document.
    pub servers: Vec<ServerDescription>,
    /// Channels with something to say beyond their address (description, server).
    /// Channels only named by operations are created by the emitter.
    pub channels: Vec<ChannelDescription>,
    /// Every message type the service sends or receives.
    pub messages: Vec<MessageDescription>,
    /// Every consumer (receive) and producer (send) of the service.
    pub operations: Vec<OperationDescription>,
}

/// One configured broker connection.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerDescription {
    /// The server's name, the key under `servers`.
    pub name: String,
    /// The connection URL as configured (`kafka://user:secret@host:9092`). `memory://`
    /// servers are in-process and are left out of the document.
    pub url: String,
}

/// Extra facts about a channel, keyed by its address.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChannelDescription {
    /// The address as declared, parameters included (`orders.{region}.created`).
    pub address: String,
    /// Human description of the channel.
    pub description: Option<String>,
    /// Name of the server the channel lives on, when the app routes it to one of
    /// several servers. `None` means every server.
    pub server: Option<String>,
    /// Descriptions of the address's `{parameters}`, by parameter name. Parameters
    /// without one are still listed in the document (with no description).
    pub parameters: BTreeMap<String, String>,
    /// Channels this one is copied onto by something outside the service (a Kafka
    /// Connect sink, a mirror), written as the `x-tidings-bridge` extension so an event
    /// catalog can follow messages across brokers.
    pub bridges: Vec<BridgeDescription>,
    /// Declared channel binding fields, by protocol (`kafka`: `partitions`, `replicas`;
    /// `sqs`: `queue` attributes, `deadLetterQueue`), each a JSON object. The emitter
    /// merges them over the binding it derives (which keeps its topic or queue name)
    /// when the channel is on that protocol; objects merge field by field.
    pub bindings: BTreeMap<String, Value>,
}

/// A declared bridge from a channel to a channel on another broker (or the same one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BridgeDescription {
    /// The target, `protocol:address` (`sqs:order-events`, `nats:privacy.deletions`).
    pub to: String,
    /// What the bridge converts, free text (`avro -> json`).
    pub convert: Option<String>,
    /// What runs the bridge, free text.
    pub description: Option<String>,
}

impl BridgeDescription {
    /// A bridge to `target` (`protocol:address`).
    pub fn to(target: impl Into<String>) -> Self {
        BridgeDescription { to: target.into(), ..Default::default() }
    }

    /// Says what the bridge converts (`avro -> json`).
    pub fn convert(mut self, convert: impl Into<String>) -> Self {
        self.convert = Some(convert.into());
        self
    }

    /// Says what runs the bridge.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }
}

impl From<&str> for BridgeDescription {
    fn from(target: &str) -> Self {
        BridgeDescription::to(target)
    }
}

impl From<String> for BridgeDescription {
    fn from(target: String) -> Self {
        BridgeDescription::to(target)
    }
}

/// The kind of a message, written as `x-eventcatalog-message-type`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MessageKind {
    /// Something that happened (the default).
    #[default]
    Event,
    /// A request for something to be done.
    Command,
    /// A request for information.
    Query,
}

impl MessageKind {
    /// The lower-case name EventCatalog expects.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Event => "event",
            MessageKind::Command => "command",
            MessageKind::Query => "query",
        }
    }
}

/// One message type.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageDescription {
    /// The stable, language-neutral message name (`OrderCreated`): the key under
    /// `components/messages` in every service, so catalogs can join producers and consumers.
    pub name: String,
    /// Optional human title.
    pub title: Option<String>,
    /// From the type's doc comment.
    pub description: Option<String>,
    /// `x-eventcatalog-message-version`.
    pub version: Option<String>,
    /// `x-eventcatalog-message-type`.
    pub kind: MessageKind,
    /// The content type on the wire (`application/json`).
    pub content_type: String,
    /// The payload's JSON Schema as schemars produced it: a root schema that may carry
    /// `$schema`, `title` and a `definitions` or `$defs` block. The emitter hoists the
    /// definitions into `components/schemas` and rewrites every `$ref`. Or a Multi
    /// Format Schema Object, `{schemaFormat, schema}` (an Avro contract), kept as is.
    pub payload: Value,
    /// The headers' JSON Schema, same form as `payload`, where declared.
    pub headers: Option<Value>,
    /// The Rust type that declared the message (`order_events::OrderCreated`), used to
    /// name both sides when two types claim one message name.
    pub rust_type: String,
}

/// Whether the service sends or receives on an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    /// The service publishes (a producer).
    Send,
    /// The service consumes (a consumer).
    Receive,
}

/// One consumer or producer.
#[derive(Debug, Clone, PartialEq)]
pub struct OperationDescription {
    /// Readable, unique operation id (`accept`, `order_created`).
    pub id: String,
    /// Send or receive.
    pub action: Action,
    /// The channel address (`orders.created`, `orders.{region}.created`).
    pub channel: String,
    /// The message name carried on that channel by this operation.
    pub message: String,
    /// `summary`: the first line of the doc comment.
    pub summary: Option<String>,
    /// `description`: the doc comment.
    pub description: Option<String>,
    /// Consumer group (receive only). Appears in the protocol's operation binding where
    /// it has one (kafka `groupId`, nats `queue`) and as `x-tidings-group`.
    pub group: Option<String>,
    /// When a consumer publishes its return value: the reply's channel and message.
    pub reply: Option<ReplyDescription>,
    /// The message key a producer (send) declares. On Kafka it becomes the message
    /// binding's `key`.
    pub key: Option<KeyDescription>,
    /// Where the operation was declared (`order_fulfilment::accept` or `file.rs:12`),
    /// used in error messages.
    pub source: String,
}

/// Where a producer's message key comes from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KeyDescription {
    /// A field of the message (`key = order_id`): the key's schema is that field's
    /// schema in the payload.
    Field(String),
    /// A function of the message (`key_with = path::to::fn`, its path here): the key is
    /// described as a string.
    Extractor(String),
}

/// What a consumer publishes with its return value.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplyDescription {
    /// Channel address the reply goes to.
    pub channel: String,
    /// Message name of the reply.
    pub message: String,
}
