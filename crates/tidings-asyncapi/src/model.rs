//! AsyncAPI 3.0.0 document types: a faithful, serde-ready subset of the specification.
//!
//! Every map is ordered by key (a [`Map`] of named objects, a [`BTreeMap`] of JSON
//! values) so the same document always serializes to the same bytes; absent fields are `None` and left out. Struct fields are declared in the
//! order the specification lists them, which is the order they are written in.
//! JSON Schemas, bindings, security schemes and traits are kept as plain
//! [`serde_json::Value`]s: the emitter builds them from known shapes and this crate
//! does not need to look inside them after that.
//!
//! Objects that the specification lets carry `x-` fields keep them in a flattened
//! `extensions` map, so a document read from elsewhere round-trips unchanged.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use crate::map::Map;

/// The AsyncAPI version every [`Document`] built by this crate declares.
pub const ASYNCAPI_VERSION: &str = "3.0.0";

/// Specification extensions (`x-...` fields) of an object, written after its own fields.
pub type Extensions = BTreeMap<String, Value>;

/// Protocol-specific bindings of a server, channel, operation or message, keyed by
/// protocol (`kafka`, `nats`, `sqs`, ...). Each value is the binding object, including
/// its `bindingVersion`.
pub type Bindings = BTreeMap<String, Value>;

/// The root of an AsyncAPI 3.0 document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Document {
    /// The specification version, `3.0.0`.
    pub asyncapi: String,
    /// Identifier of the application (a URI), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Metadata about the application.
    pub info: Info,
    /// Content type of every message that does not name its own (`application/json`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_content_type: Option<String>,
    /// The brokers the application connects to, keyed by server name.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub servers: Map<String, RefOr<Server>>,
    /// The channels the application uses, keyed by channel id.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub channels: Map<String, RefOr<Channel>>,
    /// What the application does on those channels, keyed by operation id.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub operations: Map<String, RefOr<Operation>>,
    /// Reusable objects referenced from the rest of the document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub components: Option<Components>,
    /// `x-` fields.
    #[serde(flatten)]
    pub extensions: Extensions,
}

/// The Info Object: metadata about the application.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Info {
    /// Title of the application.
    pub title: String,
    /// Version of the application API (not the AsyncAPI version).
    pub version: String,
    /// Longer description; CommonMark allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// URL of the terms of service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terms_of_service: Option<String>,
    /// Contact information.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<Contact>,
    /// License information.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<License>,
    /// Tags for grouping applications.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<RefOr<Tag>>,
    /// Additional external documentation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_docs: Option<RefOr<ExternalDocs>>,
    /// `x-` fields.
    #[serde(flatten)]
    pub extensions: Extensions,
}

/// The Contact Object.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    /// Name of the contact person or organisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// URL pointing to the contact information.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Email address of the contact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `x-` fields.
    #[serde(flatten)]
    pub extensions: Extensions,
}

/// The License Object.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct License {
    /// License name (`Apache 2.0`).
    pub name: String,
    /// URL of the license text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// `x-` fields.
    #[serde(flatten)]
    pub extensions: Extensions,
}

/// The Tag Object.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tag {
    /// Tag name.
    pub name: String,
    /// Short description of the tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Additional external documentation for the tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_docs: Option<RefOr<ExternalDocs>>,
    /// `x-` fields.
    #[serde(flatten)]
    pub extensions: Extensions,
}

/// The External Documentation Object.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExternalDocs {
    /// Short description of the target documentation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// URL of the target documentation.
    pub url: String,
    /// `x-` fields.
    #[serde(flatten)]
    pub extensions: Extensions,
}

/// The Reference Object: a JSON Reference (`#/components/messages/OrderCreated`).
///
/// The specification forbids any other field next to `$ref`, so none is modelled;
/// deserialization rejects them, which keeps [`RefOr`] from mistaking an object with
/// extra fields for a reference.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reference {
    /// The reference: a URI, usually a fragment of this document.
    #[serde(rename = "$ref")]
    pub reference: String,
}

impl Reference {
    /// A reference to `target` (`#/channels/orders.created`).
    pub fn new(target: impl Into<String>) -> Self {
        Reference {
            reference: target.into(),
        }
    }
}

/// Either a [`Reference`] or the object itself, where the specification allows both.
///
/// Untagged: an object is read as a reference when it has exactly the `$ref` field.
///
/// The object is boxed: the document's maps hold these, and a B-tree node holds eleven
/// values inline, so a map of a few channels or messages (objects of several hundred
/// bytes) took a node of 5 KB each, a third of `--asyncapi`'s heap.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RefOr<T> {
    /// A `$ref` to the object.
    Ref(Reference),
    /// The object inline.
    Item(Box<T>),
}

impl<T> RefOr<T> {
    /// The object inline.
    pub fn item(item: T) -> Self {
        RefOr::Item(Box::new(item))
    }

    /// The inline object, or `None` for a reference.
    pub fn as_item(&self) -> Option<&T> {
        match self {
            RefOr::Item(item) => Some(item),
            RefOr::Ref(_) => None,
        }
    }

    /// The inline object to change, or `None` for a reference.
    pub fn as_item_mut(&mut self) -> Option<&mut T> {
        match self {
            RefOr::Item(item) => Some(item),
            RefOr::Ref(_) => None,
        }
    }

    /// The reference, or `None` for an inline object.
    pub fn as_reference(&self) -> Option<&Reference> {
        match self {
            RefOr::Ref(reference) => Some(reference),
            RefOr::Item(_) => None,
        }
    }
}

impl<T> From<Reference> for RefOr<T> {
    fn from(reference: Reference) -> Self {
        RefOr::Ref(reference)
    }
}

/// The Server Object: one broker the application connects to.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Server {
    /// Host name, optionally with a port (`broker:9092`); Kafka bootstrap lists keep
    /// their commas (`h1:9092,h2:9092`).
    pub host: String,
    /// Protocol name (`kafka`, `kafka-secure`, `amqp`, `nats`, `sqs`, ...).
    pub protocol: String,
    /// Protocol version (`0.9.1` for AMQP), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol_version: Option<String>,
    /// Path of a resource on the host (an AMQP virtual host: `/orders`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pathname: Option<String>,
    /// Longer description; CommonMark allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Human-friendly title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Short summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Variables substituted into `host` and `pathname`.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub variables: Map<String, RefOr<ServerVariable>>,
    /// Security schemes (Security Scheme Objects or references to them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub security: Vec<Value>,
    /// Tags of the server.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<RefOr<Tag>>,
    /// Additional external documentation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_docs: Option<RefOr<ExternalDocs>>,
    /// Protocol-specific server bindings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bindings: Option<RefOr<Bindings>>,
    /// `x-` fields.
    #[serde(flatten)]
    pub extensions: Extensions,
}

/// The Server Variable Object: a `{name}` substituted into a server's host or path.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerVariable {
    /// The allowed values.
    #[serde(default, rename = "enum", skip_serializing_if = "Vec::is_empty")]
    pub allowed: Vec<String>,
    /// Value used when none is supplied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// Description of the variable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Example values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<String>,
    /// `x-` fields.
    #[serde(flatten)]
    pub extensions: Extensions,
}

/// The Channel Object: an address messages travel on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Channel {
    /// The address as the broker knows it (`orders.{region}.created`), parameters in
    /// braces. `None` means unknown (generated at runtime).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Every message that may travel on the channel, keyed by message id.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub messages: Map<String, RefOr<Message>>,
    /// Human-friendly title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Short summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Longer description; CommonMark allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// References to the servers the channel lives on; empty means every server.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub servers: Vec<Reference>,
    /// One entry per `{name}` in the address.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub parameters: Map<String, RefOr<Parameter>>,
    /// Tags of the channel.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<RefOr<Tag>>,
    /// Additional external documentation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_docs: Option<RefOr<ExternalDocs>>,
    /// Protocol-specific channel bindings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bindings: Option<RefOr<Bindings>>,
    /// `x-` fields.
    #[serde(flatten)]
    pub extensions: Extensions,
}

/// The Parameter Object: one `{name}` of a channel address.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Parameter {
    /// The allowed values.
    #[serde(default, rename = "enum", skip_serializing_if = "Vec::is_empty")]
    pub allowed: Vec<String>,
    /// Value used when none is supplied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// Description of the parameter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Example values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<String>,
    /// Runtime expression locating the value in a message (`$message.payload#/region`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// `x-` fields.
    #[serde(flatten)]
    pub extensions: Extensions,
}

/// Whether the application sends or receives on an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OperationAction {
    /// The application publishes.
    Send,
    /// The application consumes.
    Receive,
}

/// The Operation Object: what the application does on one channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    /// Send or receive.
    pub action: OperationAction,
    /// Reference to the channel (`#/channels/<id>`).
    pub channel: Reference,
    /// Human-friendly title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Short summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Longer description; CommonMark allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Security schemes (Security Scheme Objects or references to them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub security: Vec<Value>,
    /// Tags of the operation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<RefOr<Tag>>,
    /// Additional external documentation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_docs: Option<RefOr<ExternalDocs>>,
    /// Protocol-specific operation bindings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bindings: Option<RefOr<Bindings>>,
    /// Operation traits (objects or references).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub traits: Vec<Value>,
    /// References to the channel's messages this operation handles
    /// (`#/channels/<id>/messages/<name>`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<Reference>,
    /// What the application answers with, for request/reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<RefOr<OperationReply>>,
    /// `x-` fields.
    #[serde(flatten)]
    pub extensions: Extensions,
}

/// The Operation Reply Object: the response of a request/reply operation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OperationReply {
    /// Where the reply address is found at runtime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<RefOr<OperationReplyAddress>>,
    /// Reference to the channel the reply is sent on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<Reference>,
    /// References to that channel's messages the reply may be.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<Reference>,
    /// `x-` fields.
    #[serde(flatten)]
    pub extensions: Extensions,
}

/// The Operation Reply Address Object: a runtime expression locating the reply address.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OperationReplyAddress {
    /// Description of the address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Runtime expression (`$message.header#/replyTo`).
    pub location: String,
    /// `x-` fields.
    #[serde(flatten)]
    pub extensions: Extensions,
}

/// The Message Object: one kind of message, its payload and headers schemas.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    /// Schema of the headers (a JSON Schema of type object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<Value>,
    /// Schema of the payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<Value>,
    /// Where the correlation id is found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<RefOr<CorrelationId>>,
    /// Content type of the payload; `defaultContentType` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// Machine-friendly name of the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Human-friendly title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Short summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Longer description; CommonMark allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Tags of the message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<RefOr<Tag>>,
    /// Additional external documentation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_docs: Option<RefOr<ExternalDocs>>,
    /// Protocol-specific message bindings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bindings: Option<RefOr<Bindings>>,
    /// Example messages.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<MessageExample>,
    /// Message traits (objects or references).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub traits: Vec<Value>,
    /// `x-` fields (`x-eventcatalog-message-type`, ...).
    #[serde(flatten)]
    pub extensions: Extensions,
}

/// The Correlation ID Object.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CorrelationId {
    /// Description of the identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Runtime expression locating it (`$message.header#/correlationId`).
    pub location: String,
    /// `x-` fields.
    #[serde(flatten)]
    pub extensions: Extensions,
}

/// The Message Example Object.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MessageExample {
    /// Example header values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<BTreeMap<String, Value>>,
    /// Example payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<Value>,
    /// Machine-friendly name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Short summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// `x-` fields.
    #[serde(flatten)]
    pub extensions: Extensions,
}

/// The Components Object: reusable objects, referenced as `#/components/<kind>/<name>`.
///
/// Keys must match `^[\w.\-]+$`. Kinds this crate never emits are kept as raw values.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Components {
    /// Reusable JSON Schemas (hoisted schemars definitions).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub schemas: BTreeMap<String, Value>,
    /// Reusable servers.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub servers: Map<String, RefOr<Server>>,
    /// Reusable channels.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub channels: Map<String, RefOr<Channel>>,
    /// Reusable operations.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub operations: Map<String, RefOr<Operation>>,
    /// Reusable messages: every message of the application, keyed by message name.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub messages: Map<String, RefOr<Message>>,
    /// Reusable security schemes.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub security_schemes: BTreeMap<String, Value>,
    /// Reusable server variables.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub server_variables: Map<String, RefOr<ServerVariable>>,
    /// Reusable channel parameters.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub parameters: Map<String, RefOr<Parameter>>,
    /// Reusable correlation ids.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub correlation_ids: Map<String, RefOr<CorrelationId>>,
    /// Reusable operation replies.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub replies: Map<String, RefOr<OperationReply>>,
    /// Reusable reply addresses.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub reply_addresses: Map<String, RefOr<OperationReplyAddress>>,
    /// Reusable external documentation.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub external_docs: Map<String, RefOr<ExternalDocs>>,
    /// Reusable tags.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub tags: Map<String, RefOr<Tag>>,
    /// Reusable operation traits.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub operation_traits: BTreeMap<String, Value>,
    /// Reusable message traits.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub message_traits: BTreeMap<String, Value>,
    /// Reusable server bindings.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub server_bindings: BTreeMap<String, Value>,
    /// Reusable channel bindings.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub channel_bindings: BTreeMap<String, Value>,
    /// Reusable operation bindings.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub operation_bindings: BTreeMap<String, Value>,
    /// Reusable message bindings.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub message_bindings: BTreeMap<String, Value>,
    /// `x-` fields.
    #[serde(flatten)]
    pub extensions: Extensions,
}

impl Components {
    /// Whether nothing at all is defined (the document then leaves `components` out).
    pub fn is_empty(&self) -> bool {
        // Field by field rather than `== Components::default()`: that would link every
        // map's equality into each service binary for this one check.
        let Components {
            schemas,
            servers,
            channels,
            operations,
            messages,
            security_schemes,
            server_variables,
            parameters,
            correlation_ids,
            replies,
            reply_addresses,
            external_docs,
            tags,
            operation_traits,
            message_traits,
            server_bindings,
            channel_bindings,
            operation_bindings,
            message_bindings,
            extensions,
        } = self;
        [
            schemas,
            security_schemes,
            operation_traits,
            message_traits,
            server_bindings,
            channel_bindings,
            operation_bindings,
            message_bindings,
            extensions,
        ]
        .iter()
        .all(|map| map.is_empty())
            && servers.is_empty()
            && channels.is_empty()
            && operations.is_empty()
            && messages.is_empty()
            && server_variables.is_empty()
            && parameters.is_empty()
            && correlation_ids.is_empty()
            && replies.is_empty()
            && reply_addresses.is_empty()
            && external_docs.is_empty()
            && tags.is_empty()
    }
}

impl Document {
    /// An empty 3.0.0 document with the given info.
    pub fn new(info: Info) -> Self {
        Document {
            asyncapi: ASYNCAPI_VERSION.to_owned(),
            id: None,
            info,
            default_content_type: None,
            servers: Map::new(),
            channels: Map::new(),
            operations: Map::new(),
            components: None,
            extensions: Extensions::new(),
        }
    }

    /// The document as YAML. Byte-stable: the same document always gives the same text.
    pub fn to_yaml(&self) -> String {
        let Some(serialized) = crate::yaml::Serialized::new(self) else { return self.to_json() };
        // The lean writer's bytes are serde_yaml_ng's; it declines what it is not sure of.
        if let Some(yaml) = serialized.to_yaml() {
            return yaml;
        }
        match serde_yaml_ng::to_string(&serialized) {
            Ok(yaml) => yaml,
            // Unreachable for documents of this model (string keys, no NaN); JSON is
            // valid YAML, so fall back to it rather than panic.
            Err(_) => self.to_json(),
        }
    }

    /// The document as pretty-printed JSON (two-space indent) with a trailing newline.
    pub fn to_json(&self) -> String {
        // Through the same flat serialization as `to_yaml`: one compiled copy of the
        // model's `Serialize` impls, not one per output format.
        let json = match crate::yaml::Serialized::new(self) {
            Some(serialized) => serde_json::to_string_pretty(&serialized),
            None => Err(serde::ser::Error::custom("the document holds a value JSON cannot (a non-string key?)")),
        };
        match json {
            Ok(mut json) => {
                json.push('\n');
                json
            }
            // Unreachable: every map key is a string. Keep the signature infallible.
            Err(error) => format!("{{\"error\": {:?}}}\n", error.to_string()),
        }
    }

    /// Reads a document from JSON.
    pub fn from_json(text: &str) -> Result<Document, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Reads a document from YAML.
    pub fn from_yaml(text: &str) -> Result<Document, serde_yaml_ng::Error> {
        serde_yaml_ng::from_str(text)
    }
}

#[cfg(test)]
mod tests {
    use super::Components;

    #[test]
    fn components_are_empty_only_when_every_map_is() {
        assert!(Components::default().is_empty());
        let kinds = [
            "schemas", "servers", "channels", "operations", "messages", "securitySchemes", "serverVariables",
            "parameters", "correlationIds", "replies", "replyAddresses", "externalDocs", "tags", "operationTraits",
            "messageTraits", "serverBindings", "channelBindings", "operationBindings", "messageBindings",
        ];
        for kind in kinds {
            // A reference reads as an entry of every kind of map.
            let text = format!(r##"{{"{kind}": {{"k": {{"$ref": "#/k"}}}}}}"##);
            let components: Components = serde_json::from_str(&text).unwrap();
            assert!(!components.is_empty(), "{kind}");
        }
        let with_extension: Components = serde_json::from_str(r#"{"x-owner": "team"}"#).unwrap();
        assert!(!with_extension.is_empty());
    }
}
