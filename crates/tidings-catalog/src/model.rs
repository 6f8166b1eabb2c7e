//! The catalog: services, the messages they send and receive, the channels those travel
//! on, and the bridges between channels, built from any AsyncAPI 3.0 documents.
//!
//! Joins:
//! - a message is named by its key under `components/messages` when the channel's
//!   message is a `$ref` to it, else by its key under the channel's `messages`; services
//!   are joined by that name (as EventCatalog does);
//! - a channel is its server protocol (family: `kafka-secure` is `kafka`) plus its
//!   address; a channel on two servers of different protocols is two channels; a
//!   document without servers puts its channels under the empty protocol, shown as the
//!   bare address;
//! - channels with parameters meet the channels they can be ([`addresses_meet`]): on one
//!   protocol, a template `orders.{region}.cancel` meets every concrete address its
//!   parameters fill in (`orders.eu.cancel`), and two templates meet when they are the
//!   same after renaming parameters (`orders.{r}.cancel`). Channels that meet are the
//!   same channel for who-consumes, who-produces, flows, orphans and lint (not
//!   transitively: `orders.eu.cancel` and `orders.us.cancel` both meet the template, not
//!   each other);
//! - a service is a document, named by `info.title`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;
use tidings_asyncapi::model::{
    Channel, Document, Message, Operation, OperationAction, RefOr, Server,
};

use crate::config::CatalogConfig;

/// Name of the channel extension that declares bridges in a document.
pub const BRIDGE_EXTENSION: &str = "x-tidings-bridge";

/// A channel across services: protocol family plus address.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct ChannelKey {
    /// Protocol family (`kafka`, `sqs`, `nats`, `amqp`, `mqtt`, ...); empty when the
    /// document names no server for the channel.
    pub protocol: String,
    /// The address as written in the document.
    pub address: String,
}

impl ChannelKey {
    /// A key, the protocol folded to its family (see [`protocol_family`]).
    pub fn new(protocol: &str, address: impl Into<String>) -> Self {
        ChannelKey {
            protocol: protocol_family(protocol),
            address: address.into(),
        }
    }

    /// Parses `protocol:address` (`kafka:orders.created`, `sqs:order-events`). The
    /// protocol is everything before the first `:`: letters, digits, `+`, `.`, `-`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (protocol, address) = text.split_once(':').ok_or_else(|| {
            format!("`{text}`: expected `protocol:address` (`kafka:orders.created`)")
        })?;
        let valid = !protocol.is_empty()
            && protocol
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-'));
        if !valid {
            return Err(format!("`{text}`: `{protocol}` is not a protocol name"));
        }
        if address.is_empty() {
            return Err(format!("`{text}`: empty address"));
        }
        Ok(ChannelKey::new(protocol, address))
    }
}

impl TryFrom<String> for ChannelKey {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        ChannelKey::parse(&text)
    }
}

impl fmt::Display for ChannelKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.protocol.is_empty() {
            f.write_str(&self.address)
        } else {
            write!(f, "{}:{}", self.protocol, self.address)
        }
    }
}

// As `protocol:address`, so a key can be a JSON object key too.
impl Serialize for ChannelKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// The protocol family a server protocol belongs to: lower-cased, TLS variants folded
/// (`kafka-secure` -> `kafka`, `secure-mqtt` -> `mqtt`, `amqps` -> `amqp`, `wss` ->
/// `ws`), so one cluster reached two ways is one set of channels.
pub fn protocol_family(protocol: &str) -> String {
    let p = protocol.trim().to_ascii_lowercase();
    let p = p.strip_suffix("-secure").unwrap_or(&p);
    let p = p.strip_prefix("secure-").unwrap_or(p);
    let p = p.split('+').next().unwrap_or(p);
    match p {
        "amqps" | "stomps" | "wss" | "https" => p[..p.len() - 1].to_owned(),
        other => other.to_owned(),
    }
}

/// One piece of an address: literal text or a `{parameter}`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Parameter,
}

/// An address as literal text and parameters; `None` when it has no (well-formed)
/// parameter, i.e. it is concrete.
fn template(address: &str) -> Option<Vec<Piece<'_>>> {
    let mut pieces = Vec::new();
    let mut rest = address;
    let mut any = false;
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}').map(|c| open + c)?;
        if close == open + 1 {
            return None; // `{}` names no parameter
        }
        if open > 0 {
            pieces.push(Piece::Text(&rest[..open]));
        }
        pieces.push(Piece::Parameter);
        any = true;
        rest = &rest[close + 1..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest));
    }
    any.then_some(pieces)
}

/// Whether the concrete `address` is one the template's parameters fill in (each with a
/// non-empty value without braces).
fn fills(pieces: &[Piece<'_>], address: &str) -> bool {
    match pieces.split_first() {
        None => address.is_empty(),
        Some((Piece::Text(t), rest)) => address.strip_prefix(t).is_some_and(|a| fills(rest, a)),
        Some((Piece::Parameter, rest)) => {
            // The parameter takes 1..n characters; try every split (addresses are short).
            address
                .char_indices()
                .skip(1)
                .map(|(i, _)| i)
                .chain([address.len()])
                .take_while(|&i| !address[..i].contains(['{', '}']))
                .any(|i| !address.is_empty() && fills(rest, &address[i..]))
        }
    }
}

/// The template with every parameter renamed to `{}`: two templates meet when these agree.
fn shape(address: &str) -> Option<String> {
    let pieces = template(address)?;
    Some(
        pieces
            .iter()
            .map(|p| match p {
                Piece::Text(t) => *t,
                Piece::Parameter => "{}",
            })
            .collect(),
    )
}

/// Whether two addresses (of one protocol) are the same channel: equal; one a template
/// whose parameters fill in to the other; or two templates equal after renaming their
/// parameters.
pub fn addresses_meet(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    match (template(a), template(b)) {
        (Some(_), Some(_)) => shape(a) == shape(b),
        (Some(t), None) => fills(&t, b),
        (None, Some(t)) => fills(&t, a),
        (None, None) => false,
    }
}

/// Every pair of different keys that meet ([`addresses_meet`]), both ways.
fn joins<'k>(keys: impl Iterator<Item = &'k ChannelKey>) -> BTreeMap<ChannelKey, Vec<ChannelKey>> {
    // Per protocol: concrete addresses (sorted, so a template's literal prefix is a range)
    // and templates by shape.
    let mut concrete: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut templates: BTreeMap<&str, BTreeMap<String, Vec<&str>>> = BTreeMap::new();
    for key in keys {
        match shape(&key.address) {
            Some(s) => templates
                .entry(&key.protocol)
                .or_default()
                .entry(s)
                .or_default()
                .push(&key.address),
            None => {
                concrete
                    .entry(&key.protocol)
                    .or_default()
                    .insert(&key.address);
            }
        }
    }
    let mut out: BTreeMap<ChannelKey, Vec<ChannelKey>> = BTreeMap::new();
    let mut link = |protocol: &str, a: &str, b: &str| {
        for (x, y) in [(a, b), (b, a)] {
            out.entry(ChannelKey {
                protocol: protocol.to_owned(),
                address: x.to_owned(),
            })
            .or_default()
            .push(ChannelKey {
                protocol: protocol.to_owned(),
                address: y.to_owned(),
            });
        }
    };
    for (protocol, shapes) in &templates {
        for same in shapes.values() {
            for (i, a) in same.iter().enumerate() {
                for b in &same[i + 1..] {
                    link(protocol, a, b);
                }
            }
        }
        let Some(addresses) = concrete.get(protocol) else {
            continue;
        };
        for template_address in shapes.values().flatten() {
            let Some(pieces) = template(template_address) else {
                continue;
            };
            let prefix = match pieces.first() {
                Some(Piece::Text(t)) => *t,
                _ => "",
            };
            for address in addresses
                .range(prefix..)
                .take_while(|a| a.starts_with(prefix))
            {
                if fills(&pieces, address) {
                    link(protocol, template_address, address);
                }
            }
        }
    }
    for others in out.values_mut() {
        others.sort();
        others.dedup();
    }
    out
}

/// Whether a service sends or receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// The service publishes.
    Send,
    /// The service consumes.
    Receive,
}

/// One message a service sends or receives on one channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Endpoint {
    /// The service.
    pub service: String,
    /// The operation id in the document (`<id>#reply` for a reply without its own
    /// operation).
    pub operation: String,
    /// Send or receive.
    pub action: Action,
    /// The message name.
    pub message: String,
    /// The channel.
    pub channel: ChannelKey,
    /// The consumer group (`x-tidings-group`, or the Kafka `groupId` / NATS `queue`
    /// binding), for receivers that have one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

/// How one service defines one message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MessageDef {
    /// The message name.
    pub name: String,
    /// The payload schema with every `#/components/schemas/...` reference inlined (a
    /// recursive one is left as a `$ref`); for a non-JSON schema (Avro) the schema as
    /// written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<Value>,
    /// The `schemaFormat` of a multi-format payload that is not a JSON Schema.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema_format: Option<String>,
    /// `contentType`, else the document's `defaultContentType`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// `x-eventcatalog-message-type` (`event`, `command`, `query`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// `x-eventcatalog-message-version`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// `summary`, else `title`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
}

/// A server of a service, without credentials (documents carry none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerInfo {
    /// The protocol as written (`kafka-secure`).
    pub protocol: String,
    /// Host and port.
    pub host: String,
}

/// One service: one AsyncAPI document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Service {
    /// `info.title` (the file name when the title is empty).
    pub name: String,
    /// `info.version`.
    pub version: String,
    /// `info.description`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The document it was read from.
    pub source: PathBuf,
    /// Its servers, by name.
    pub servers: BTreeMap<String, ServerInfo>,
    /// Everything it sends and receives, sorted.
    pub endpoints: Vec<Endpoint>,
    /// Its definition of every message it sends or receives.
    pub messages: BTreeMap<String, MessageDef>,
    /// Owners from the catalog config.
    pub owners: Vec<String>,
    /// Lifecycle from the catalog config.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<String>,
}

impl Service {
    /// The endpoints with this action.
    pub fn endpoints_with(&self, action: Action) -> impl Iterator<Item = &Endpoint> {
        self.endpoints.iter().filter(move |e| e.action == action)
    }
}

/// Where a bridge was declared.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase", tag = "kind", content = "name")]
pub enum BridgeOrigin {
    /// In the catalog config file (its path).
    Config(String),
    /// By a service's document (`x-tidings-bridge`), the service's name.
    Service(String),
}

impl fmt::Display for BridgeOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BridgeOrigin::Config(path) => write!(f, "config {path}"),
            BridgeOrigin::Service(name) => write!(f, "service {name}"),
        }
    }
}

/// A declared link: everything on `from` is copied onto `to`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bridge {
    /// The source channel.
    pub from: ChannelKey,
    /// The target channel.
    pub to: ChannelKey,
    /// What it converts (`avro -> json`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub convert: Option<String>,
    /// What runs it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Who declared it (the first declaration when several agree).
    pub declared_by: BridgeOrigin,
}

/// A channel across every service that uses it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChannelInfo {
    /// The channel.
    pub key: ChannelKey,
    /// The first description found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Message names seen on it.
    pub messages: BTreeSet<String>,
    /// Services that send on it.
    pub senders: BTreeSet<String>,
    /// Services that receive from it.
    pub receivers: BTreeSet<String>,
}

/// How bad a [`Diagnostic`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Informational (a file in a folder that is not an AsyncAPI document).
    Note,
    /// Something was skipped or guessed; the catalog is still built.
    Warning,
    /// An input could not be used at all (a document that does not parse).
    Error,
}

/// A problem with the input, with the file it is in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// How bad.
    pub level: Level,
    /// The file, when the problem is in one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.level {
            Level::Note => "note",
            Level::Warning => "warning",
            Level::Error => "error",
        };
        match &self.file {
            Some(file) => write!(f, "{level}: {file}: {}", self.message),
            None => write!(f, "{level}: {}", self.message),
        }
    }
}

/// One document and where it came from.
#[derive(Debug, Clone)]
pub struct SourceDocument {
    /// The file.
    pub path: PathBuf,
    /// The parsed document.
    pub document: Document,
}

/// A reference to an endpoint: (service name, index in its `endpoints`).
pub(crate) type EndpointRef = (String, usize);

/// The whole catalog. Build it with [`Catalog::build`] (or `load::load`).
#[derive(Debug, Clone, Serialize)]
pub struct Catalog {
    /// Every service, by name.
    pub services: BTreeMap<String, Service>,
    /// Every channel, by key.
    pub channels: BTreeMap<ChannelKey, ChannelInfo>,
    /// Every bridge, from the config file and the documents, sorted and deduplicated.
    pub bridges: Vec<Bridge>,
    /// Problems met while reading the input.
    pub diagnostics: Vec<Diagnostic>,
    /// The config the catalog was built with.
    #[serde(skip)]
    pub config: CatalogConfig,
    /// Message name -> endpoints using it (an index for the queries).
    #[serde(skip)]
    pub(crate) by_message: BTreeMap<String, Vec<EndpointRef>>,
    /// Channel -> bridges leaving it (indexes into `bridges`).
    #[serde(skip)]
    pub(crate) bridges_from: BTreeMap<ChannelKey, Vec<usize>>,
    /// Channel -> bridges arriving at it.
    #[serde(skip)]
    pub(crate) bridges_to: BTreeMap<ChannelKey, Vec<usize>>,
    /// Channel -> the other channels it meets ([`addresses_meet`]).
    #[serde(skip)]
    pub(crate) joins: BTreeMap<ChannelKey, Vec<ChannelKey>>,
}

impl Catalog {
    /// Builds the catalog from parsed documents. `config_origin` names the config file
    /// in bridge origins; `diagnostics` (from loading) are kept and added to.
    pub fn build(
        documents: Vec<SourceDocument>,
        config: CatalogConfig,
        config_origin: &str,
        mut diagnostics: Vec<Diagnostic>,
    ) -> Catalog {
        let mut services: BTreeMap<String, Service> = BTreeMap::new();
        let mut bridges = Vec::new();
        let mut channels: BTreeMap<ChannelKey, ChannelInfo> = BTreeMap::new();
        for config_bridge in &config.bridges {
            // Validated when the config was parsed; a hand-built config may still hold junk.
            match (
                ChannelKey::parse(&config_bridge.from),
                ChannelKey::parse(&config_bridge.to),
            ) {
                (Ok(from), Ok(to)) => bridges.push(Bridge {
                    from,
                    to,
                    convert: config_bridge.convert.clone(),
                    description: config_bridge.description.clone(),
                    declared_by: BridgeOrigin::Config(config_origin.to_owned()),
                }),
                (Err(e), _) | (_, Err(e)) => diagnostics.push(Diagnostic {
                    level: Level::Warning,
                    file: Some(config_origin.to_owned()),
                    message: format!("bridge skipped: {e}"),
                }),
            }
        }
        for source in documents {
            let file = source.path.display().to_string();
            let mut read = read_document(&source, &mut diagnostics);
            if let Some(existing) = services.get(&read.service.name) {
                diagnostics.push(Diagnostic {
                    level: Level::Warning,
                    file: Some(file),
                    message: format!(
                        "service `{}` is already defined by {}; this document is skipped",
                        read.service.name,
                        existing.source.display()
                    ),
                });
                continue;
            }
            let settings = config.service(&read.service.name);
            read.service.owners = settings.owners;
            read.service.lifecycle = settings.lifecycle;
            for (key, description) in read.channel_descriptions {
                let info = channels.entry(key.clone()).or_insert_with(|| ChannelInfo {
                    key,
                    description: None,
                    messages: BTreeSet::new(),
                    senders: BTreeSet::new(),
                    receivers: BTreeSet::new(),
                });
                if info.description.is_none() {
                    info.description = description;
                }
            }
            for endpoint in &read.service.endpoints {
                if let Some(info) = channels.get_mut(&endpoint.channel) {
                    info.messages.insert(endpoint.message.clone());
                    let side = match endpoint.action {
                        Action::Send => &mut info.senders,
                        Action::Receive => &mut info.receivers,
                    };
                    side.insert(endpoint.service.clone());
                }
            }
            bridges.extend(read.bridges);
            services.insert(read.service.name.clone(), read.service);
        }
        // One bridge per (from, to): the first declaration wins, config first.
        let mut seen = BTreeSet::new();
        bridges.retain(|b| seen.insert((b.from.clone(), b.to.clone())));
        bridges.sort_by(|a, b| (&a.from, &a.to).cmp(&(&b.from, &b.to)));
        for bridge in &bridges {
            for key in [&bridge.from, &bridge.to] {
                channels.entry(key.clone()).or_insert_with(|| ChannelInfo {
                    key: key.clone(),
                    description: None,
                    messages: BTreeSet::new(),
                    senders: BTreeSet::new(),
                    receivers: BTreeSet::new(),
                });
            }
        }
        let mut catalog = Catalog {
            services,
            channels,
            bridges,
            diagnostics,
            config,
            by_message: BTreeMap::new(),
            bridges_from: BTreeMap::new(),
            bridges_to: BTreeMap::new(),
            joins: BTreeMap::new(),
        };
        catalog.index();
        catalog
    }

    fn index(&mut self) {
        for (name, service) in &self.services {
            for (i, endpoint) in service.endpoints.iter().enumerate() {
                self.by_message
                    .entry(endpoint.message.clone())
                    .or_default()
                    .push((name.clone(), i));
            }
        }
        self.joins = joins(self.channels.keys());
        for (i, bridge) in self.bridges.iter().enumerate() {
            self.bridges_from
                .entry(bridge.from.clone())
                .or_default()
                .push(i);
            self.bridges_to
                .entry(bridge.to.clone())
                .or_default()
                .push(i);
        }
    }

    /// Every message name used by some service, sorted.
    pub fn message_names(&self) -> impl Iterator<Item = &str> {
        self.by_message.keys().map(String::as_str)
    }

    /// The endpoints using `message`, in service order.
    pub fn endpoints_of(&self, message: &str) -> impl Iterator<Item = &Endpoint> {
        self.by_message
            .get(message)
            .into_iter()
            .flatten()
            .filter_map(|(service, i)| self.services.get(service)?.endpoints.get(*i))
    }

    /// Every service's definition of `message`, by service.
    pub fn definitions_of(&self, message: &str) -> BTreeMap<&str, &MessageDef> {
        self.endpoints_of(message)
            .filter_map(|e| {
                let service = self.services.get(&e.service)?;
                Some((service.name.as_str(), service.messages.get(message)?))
            })
            .collect()
    }

    /// `channel` and every other channel it meets (the same channel once parameters are
    /// filled in: see [`addresses_meet`]).
    pub fn same_channel<'a>(
        &'a self,
        channel: &'a ChannelKey,
    ) -> impl Iterator<Item = &'a ChannelKey> {
        std::iter::once(channel).chain(self.joins.get(channel).into_iter().flatten())
    }

    /// Every pair of channels that meet, each pair once (the template first when one is).
    pub fn joined_channels(&self) -> impl Iterator<Item = (&ChannelKey, &ChannelKey)> {
        self.joins.iter().flat_map(|(a, others)| {
            others
                .iter()
                .filter(move |b| {
                    let (ta, tb) = (
                        template(&a.address).is_some(),
                        template(&b.address).is_some(),
                    );
                    (ta && !tb) || (ta == tb && a < *b)
                })
                .map(move |b| (a, b))
        })
    }

    /// The bridges leaving `channel`.
    pub fn bridges_from(&self, channel: &ChannelKey) -> impl Iterator<Item = &Bridge> {
        self.bridges_from
            .get(channel)
            .into_iter()
            .flatten()
            .filter_map(|&i| self.bridges.get(i))
    }

    /// The bridges arriving at `channel`.
    pub fn bridges_to(&self, channel: &ChannelKey) -> impl Iterator<Item = &Bridge> {
        self.bridges_to
            .get(channel)
            .into_iter()
            .flatten()
            .filter_map(|&i| self.bridges.get(i))
    }

    /// Whether any input problem is an error (what `--strict` refuses).
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(|d| d.level == Level::Error)
    }
}

/// What one document contributes.
struct ReadDocument {
    service: Service,
    bridges: Vec<Bridge>,
    channel_descriptions: Vec<(ChannelKey, Option<String>)>,
}

/// Most `$ref` hops followed before giving up (a loop of references).
const MAX_REF_HOPS: usize = 16;

/// The segments of a local JSON pointer reference (`#/channels/a~1b` -> `[channels, a/b]`).
pub(crate) fn pointer(reference: &str) -> Option<Vec<String>> {
    let rest = reference.strip_prefix("#/")?;
    Some(
        rest.split('/')
            .map(|s| percent_decode(s).replace("~1", "/").replace("~0", "~"))
            .collect(),
    )
}

fn percent_decode(text: &str) -> String {
    if !text.contains('%') {
        return text.to_owned();
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(high), Some(low)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((high * 16 + low) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A resolver of local references within one document.
struct Resolver<'d> {
    doc: &'d Document,
}

impl<'d> Resolver<'d> {
    fn channel(&self, reference: &str) -> Option<(String, &'d Channel)> {
        let mut reference = reference.to_owned();
        for _ in 0..MAX_REF_HOPS {
            let segments = pointer(&reference)?;
            let (id, found) = match segments.as_slice() {
                [c, id] if c == "channels" => (id.clone(), self.doc.channels.get(id)?),
                [c, k, id] if c == "components" && k == "channels" => {
                    (id.clone(), self.doc.components.as_ref()?.channels.get(id)?)
                }
                _ => return None,
            };
            match found {
                RefOr::Item(channel) => return Some((id, channel)),
                RefOr::Ref(next) => reference = next.reference.clone(),
            }
        }
        None
    }

    fn operation(&self, item: &'d RefOr<Operation>) -> Option<&'d Operation> {
        let mut current = item;
        for _ in 0..MAX_REF_HOPS {
            match current {
                RefOr::Item(op) => return Some(op),
                RefOr::Ref(r) => {
                    let segments = pointer(&r.reference)?;
                    current = match segments.as_slice() {
                        [c, id] if c == "operations" => self.doc.operations.get(id)?,
                        [c, k, id] if c == "components" && k == "operations" => {
                            self.doc.components.as_ref()?.operations.get(id)?
                        }
                        _ => return None,
                    };
                }
            }
        }
        None
    }

    /// The message a channel's `messages` entry stands for, with its name: the
    /// component key when it references `#/components/messages/<name>`, else `key`.
    fn message(&self, key: &str, item: &'d RefOr<Message>) -> (String, Option<&'d Message>) {
        let mut current = item;
        let mut name = key.to_owned();
        let mut named_by_component = false;
        for _ in 0..MAX_REF_HOPS {
            match current {
                RefOr::Item(message) => return (name, Some(message)),
                RefOr::Ref(r) => {
                    let Some(segments) = pointer(&r.reference) else {
                        return (name, None);
                    };
                    let next = match segments.as_slice() {
                        [c, k, id] if c == "components" && k == "messages" => {
                            // The first component named is the name (an alias chain keeps it).
                            if !named_by_component {
                                name = id.clone();
                                named_by_component = true;
                            }
                            self.doc
                                .components
                                .as_ref()
                                .and_then(|c| c.messages.get(id))
                        }
                        [c, _, m, id] if c == "channels" && m == "messages" => self
                            .channel(&format!(
                                "#/channels/{}",
                                segments[1].replace('~', "~0").replace('/', "~1")
                            ))
                            .and_then(|(_, ch)| ch.messages.get(id)),
                        _ => None,
                    };
                    match next {
                        Some(n) => current = n,
                        None => return (name, None),
                    }
                }
            }
        }
        (name, None)
    }

    fn server(&self, reference: &str) -> Option<&'d Server> {
        let mut reference = reference.to_owned();
        for _ in 0..MAX_REF_HOPS {
            let segments = pointer(&reference)?;
            let found = match segments.as_slice() {
                [s, id] if s == "servers" => self.doc.servers.get(id)?,
                [c, s, id] if c == "components" && s == "servers" => {
                    self.doc.components.as_ref()?.servers.get(id)?
                }
                _ => return None,
            };
            match found {
                RefOr::Item(server) => return Some(server),
                RefOr::Ref(next) => reference = next.reference.clone(),
            }
        }
        None
    }

    /// The channel keys of a channel: one per protocol family of its servers (every
    /// server of the document when it names none; the empty protocol when there are none).
    fn channel_keys(
        &self,
        id: &str,
        channel: &Channel,
        diagnostics: &mut Vec<String>,
    ) -> Vec<ChannelKey> {
        let address = channel
            .address
            .clone()
            // A runtime address joins nothing: keep it private to the document.
            .unwrap_or_else(|| format!("(dynamic {id})"));
        let mut protocols = BTreeSet::new();
        if channel.servers.is_empty() {
            for server in self.doc.servers.values() {
                let resolved = match server {
                    RefOr::Item(s) => Some(&**s),
                    RefOr::Ref(r) => self.server(&r.reference),
                };
                if let Some(s) = resolved {
                    protocols.insert(protocol_family(&s.protocol));
                }
            }
        } else {
            for r in &channel.servers {
                match self.server(&r.reference) {
                    Some(s) => {
                        protocols.insert(protocol_family(&s.protocol));
                    }
                    None => diagnostics.push(format!(
                        "channel `{id}`: server reference `{}` does not resolve; the channel's protocol is unknown",
                        r.reference
                    )),
                }
            }
        }
        if protocols.is_empty() {
            protocols.insert(String::new());
        }
        protocols
            .into_iter()
            .map(|protocol| ChannelKey {
                protocol,
                address: address.clone(),
            })
            .collect()
    }

    /// A payload schema with `#/components/schemas/...` references inlined.
    fn inline_schema(&self, schema: &Value, stack: &mut Vec<String>) -> Value {
        match schema {
            Value::Object(map) => {
                if let Some(Value::String(reference)) = map.get("$ref") {
                    let target =
                        pointer(reference).and_then(|segments| match segments.as_slice() {
                            [c, s, name] if c == "components" && s == "schemas" => {
                                Some(name.clone())
                            }
                            _ => None,
                        });
                    if let Some(name) = target {
                        let found = self
                            .doc
                            .components
                            .as_ref()
                            .and_then(|c| c.schemas.get(&name));
                        if let (Some(found), false) = (found, stack.contains(&name)) {
                            stack.push(name);
                            let mut inlined = self.inline_schema(found, stack);
                            stack.pop();
                            // Siblings of `$ref` (a description) stay next to the target's keys.
                            if let Value::Object(out) = &mut inlined {
                                for (k, v) in map.iter().filter(|(k, _)| *k != "$ref") {
                                    out.entry(k.clone())
                                        .or_insert_with(|| self.inline_schema(v, stack));
                                }
                            }
                            return inlined;
                        }
                    }
                }
                Value::Object(
                    map.iter()
                        .map(|(k, v)| (k.clone(), self.inline_schema(v, stack)))
                        .collect(),
                )
            }
            Value::Array(items) => {
                Value::Array(items.iter().map(|v| self.inline_schema(v, stack)).collect())
            }
            other => other.clone(),
        }
    }

    fn message_def(&self, name: &str, message: Option<&Message>) -> MessageDef {
        let default_content_type = self.doc.default_content_type.clone();
        let Some(message) = message else {
            return MessageDef {
                name: name.to_owned(),
                payload: None,
                schema_format: None,
                content_type: default_content_type,
                kind: None,
                version: None,
                summary: None,
            };
        };
        let mut schema_format = None;
        let payload = message.payload.as_ref().map(|payload| {
            // A Multi Format Schema Object: `{schemaFormat, schema}`.
            match (
                payload.get("schemaFormat").and_then(Value::as_str),
                payload.get("schema"),
            ) {
                (Some(format), Some(schema)) => {
                    let json = format.starts_with("application/vnd.aai.asyncapi")
                        || format.contains("schema+json")
                        || format.contains("schema+yaml");
                    if json {
                        self.inline_schema(schema, &mut Vec::new())
                    } else {
                        schema_format = Some(format.to_owned());
                        schema.clone()
                    }
                }
                _ => self.inline_schema(payload, &mut Vec::new()),
            }
        });
        let text = |key: &str| {
            message
                .extensions
                .get(key)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        MessageDef {
            name: name.to_owned(),
            payload,
            schema_format,
            content_type: message.content_type.clone().or(default_content_type),
            kind: text("x-eventcatalog-message-type"),
            version: text("x-eventcatalog-message-version"),
            summary: message.summary.clone().or_else(|| message.title.clone()),
        }
    }
}

/// The consumer group of an operation: `x-tidings-group`, else the Kafka `groupId`
/// binding (its `enum`'s single value or `const`), else the NATS `queue`.
fn operation_group(op: &Operation) -> Option<String> {
    if let Some(group) = op.extensions.get("x-tidings-group").and_then(Value::as_str) {
        return Some(group.to_owned());
    }
    let bindings = op.bindings.as_ref()?.as_item()?;
    if let Some(group_id) = bindings.get("kafka").and_then(|k| k.get("groupId")) {
        let value = group_id
            .get("enum")
            .and_then(|e| e.as_array())
            .filter(|e| e.len() == 1)
            .and_then(|e| e[0].as_str())
            .or_else(|| group_id.get("const").and_then(Value::as_str));
        if let Some(value) = value {
            return Some(value.to_owned());
        }
    }
    bindings
        .get("nats")
        .and_then(|n| n.get("queue"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// One declared bridge target: (to, convert, description).
type DeclaredBridge = (ChannelKey, Option<String>, Option<String>);

/// Bridges a channel declares through `x-tidings-bridge`: a list (or one) of
/// `{to: "protocol:address", convert?, description?}` or plain `"protocol:address"`.
fn declared_bridges(value: &Value) -> Result<Vec<DeclaredBridge>, String> {
    let entries: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    entries
        .into_iter()
        .map(|entry| match entry {
            Value::String(to) => Ok((ChannelKey::parse(to)?, None, None)),
            Value::Object(map) => {
                let to = map
                    .get("to")
                    .and_then(Value::as_str)
                    .ok_or("each entry needs `to: protocol:address`")?;
                let text = |key: &str| map.get(key).and_then(Value::as_str).map(str::to_owned);
                Ok((ChannelKey::parse(to)?, text("convert"), text("description")))
            }
            _ => Err("each entry is `protocol:address` or `{to, convert, description}`".to_owned()),
        })
        .collect()
}

/// Reads one document into a service, its bridges and its channels.
fn read_document(source: &SourceDocument, diagnostics: &mut Vec<Diagnostic>) -> ReadDocument {
    let doc = &source.document;
    let file = source.path.display().to_string();
    let resolver = Resolver { doc };
    let mut problems: Vec<String> = Vec::new();
    let name = match doc.info.title.trim() {
        "" => source
            .path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| file.clone()),
        title => title.to_owned(),
    };

    let mut servers = BTreeMap::new();
    for (server_name, server) in &doc.servers {
        let resolved = match server {
            RefOr::Item(s) => Some(&**s),
            RefOr::Ref(r) => resolver.server(&r.reference),
        };
        if let Some(s) = resolved {
            servers.insert(
                server_name.clone(),
                ServerInfo {
                    protocol: s.protocol.clone(),
                    host: s.host.clone(),
                },
            );
        }
    }

    // Channel keys and bridges, for every channel of the document.
    let mut keys_of: BTreeMap<String, Vec<ChannelKey>> = BTreeMap::new();
    let mut bridges = Vec::new();
    let mut channel_descriptions = Vec::new();
    for id in doc.channels.keys() {
        let Some((_, channel)) = resolver.channel(&format!(
            "#/channels/{}",
            id.replace('~', "~0").replace('/', "~1")
        )) else {
            problems.push(format!("channel `{id}`: reference does not resolve"));
            continue;
        };
        let keys = resolver.channel_keys(id, channel, &mut problems);
        if let Some(value) = channel.extensions.get(BRIDGE_EXTENSION) {
            match declared_bridges(value) {
                Ok(declared) => {
                    for from in &keys {
                        for (to, convert, description) in &declared {
                            bridges.push(Bridge {
                                from: from.clone(),
                                to: to.clone(),
                                convert: convert.clone(),
                                description: description.clone(),
                                declared_by: BridgeOrigin::Service(name.clone()),
                            });
                        }
                    }
                }
                Err(e) => {
                    problems.push(format!("channel `{id}`: `{BRIDGE_EXTENSION}` ignored: {e}"))
                }
            }
        }
        for key in &keys {
            channel_descriptions.push((
                key.clone(),
                channel
                    .description
                    .clone()
                    .or_else(|| channel.summary.clone()),
            ));
        }
        keys_of.insert(id.clone(), keys);
    }

    let mut endpoints: Vec<Endpoint> = Vec::new();
    let mut messages: BTreeMap<String, MessageDef> = BTreeMap::new();
    // Adds the endpoints of `action` on channel `channel_ref` for the message refs given
    // (every message of the channel when empty).
    let mut add = |operation: String,
                   action: Action,
                   channel_ref: &str,
                   message_refs: &[tidings_asyncapi::model::Reference],
                   group: Option<String>,
                   problems: &mut Vec<String>,
                   only_new: bool| {
        let Some((id, channel)) = resolver.channel(channel_ref) else {
            problems.push(format!(
                "operation `{operation}`: channel `{channel_ref}` does not resolve; skipped"
            ));
            return;
        };
        let keys = match keys_of.get(&id) {
            Some(keys) => keys.clone(),
            None => resolver.channel_keys(&id, channel, problems),
        };
        let mut used: Vec<(String, Option<&Message>)> = Vec::new();
        if message_refs.is_empty() {
            for (key, item) in &channel.messages {
                used.push(resolver.message(key, item));
            }
        } else {
            for r in message_refs {
                let segments = pointer(&r.reference).unwrap_or_default();
                let resolved = match segments.as_slice() {
                    [.., m, key]
                        if m == "messages"
                            && segments.first().map(String::as_str) == Some("channels") =>
                    {
                        channel
                            .messages
                            .get(key)
                            .map(|item| resolver.message(key, item))
                    }
                    [c, m, key] if c == "components" && m == "messages" => {
                        let item = RefOr::Ref(r.clone());
                        let (n, _) = resolver.message(key, &item);
                        Some((
                            n,
                            doc.components
                                .as_ref()
                                .and_then(|c| c.messages.get(key))
                                .and_then(RefOr::as_item),
                        ))
                    }
                    _ => None,
                };
                match resolved {
                    Some(found) => used.push(found),
                    None => problems.push(format!(
                        "operation `{operation}`: message `{}` does not resolve; skipped",
                        r.reference
                    )),
                }
            }
        }
        for (message_name, message) in used {
            messages
                .entry(message_name.clone())
                .or_insert_with(|| resolver.message_def(&message_name, message));
            for key in &keys {
                let exists = endpoints
                    .iter()
                    .any(|e| e.action == action && e.message == message_name && &e.channel == key);
                if only_new && exists {
                    continue;
                }
                endpoints.push(Endpoint {
                    service: name.clone(),
                    operation: operation.clone(),
                    action,
                    message: message_name.clone(),
                    channel: key.clone(),
                    group: group.clone(),
                });
            }
        }
    };

    let mut replies = Vec::new();
    for (op_id, item) in &doc.operations {
        let Some(op) = resolver.operation(item) else {
            problems.push(format!(
                "operation `{op_id}`: reference does not resolve; skipped"
            ));
            continue;
        };
        let action = match op.action {
            OperationAction::Send => Action::Send,
            OperationAction::Receive => Action::Receive,
        };
        let group = (action == Action::Receive)
            .then(|| operation_group(op))
            .flatten();
        add(
            op_id.clone(),
            action,
            &op.channel.reference,
            &op.messages,
            group,
            &mut problems,
            false,
        );
        if let Some(RefOr::Item(reply)) = &op.reply {
            if let Some(channel) = &reply.channel {
                replies.push((
                    op_id.clone(),
                    channel.reference.clone(),
                    reply.messages.clone(),
                ));
            }
        }
    }
    // A reply is something the replying side sends; our documents already list it as
    // `<id>_reply`, so only replies not yet sent on that channel are added.
    for (op_id, channel, message_refs) in replies {
        add(
            format!("{op_id}#reply"),
            Action::Send,
            &channel,
            &message_refs,
            None,
            &mut problems,
            true,
        );
    }
    endpoints.sort_by(|a, b| {
        (a.action, &a.message, &a.channel, &a.operation).cmp(&(
            b.action,
            &b.message,
            &b.channel,
            &b.operation,
        ))
    });
    endpoints.dedup();

    for message in problems {
        diagnostics.push(Diagnostic {
            level: Level::Warning,
            file: Some(file.clone()),
            message,
        });
    }
    ReadDocument {
        service: Service {
            name,
            version: doc.info.version.clone(),
            description: doc.info.description.clone(),
            source: source.path.clone(),
            servers,
            endpoints,
            messages,
            owners: Vec::new(),
            lifecycle: None,
        },
        bridges,
        channel_descriptions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_meet_when_parameters_fill_in() {
        assert!(addresses_meet("orders.{region}.cancel", "orders.eu.cancel"));
        assert!(addresses_meet("orders.eu.cancel", "orders.{region}.cancel"));
        assert!(
            addresses_meet("orders.{region}.cancel", "orders.{r}.cancel"),
            "renamed"
        );
        assert!(addresses_meet("{tenant}/orders/{id}", "acme/orders/42"));
        assert!(addresses_meet("a.b", "a.b"));
        assert!(
            !addresses_meet("orders.{region}.cancel", "orders..cancel"),
            "a parameter is not empty"
        );
        assert!(!addresses_meet(
            "orders.{region}.cancel",
            "orders.eu.refund"
        ));
        assert!(!addresses_meet("orders.eu.cancel", "orders.us.cancel"));
        assert!(
            !addresses_meet("orders.{region}.cancel", "orders.{a}.{b}"),
            "two templates join only when alike"
        );
        assert!(
            !addresses_meet("orders.{}.cancel", "orders.x.cancel"),
            "`{{}}` names no parameter: a plain address"
        );
        assert!(
            !addresses_meet("orders.{region", "orders.eu"),
            "unclosed: a plain address"
        );
    }

    #[test]
    fn joins_are_indexed_both_ways_and_per_protocol() {
        let keys = [
            ChannelKey::new("kafka", "orders.{region}.cancel"),
            ChannelKey::new("kafka", "orders.eu.cancel"),
            ChannelKey::new("kafka", "orders.{r}.cancel"),
            ChannelKey::new("sqs", "orders.eu.cancel"),
            ChannelKey::new("kafka", "other"),
        ];
        let joins = joins(keys.iter());
        let of = |k: &ChannelKey| joins.get(k).cloned().unwrap_or_default();
        assert_eq!(of(&keys[0]), [keys[1].clone(), keys[2].clone()]);
        assert_eq!(of(&keys[1]), [keys[0].clone(), keys[2].clone()]);
        assert!(of(&keys[3]).is_empty());
        assert!(of(&keys[4]).is_empty());
    }

    #[test]
    fn protocol_families_fold_tls_variants() {
        assert_eq!(protocol_family("kafka-secure"), "kafka");
        assert_eq!(protocol_family("KAFKA"), "kafka");
        assert_eq!(protocol_family("secure-mqtt"), "mqtt");
        assert_eq!(protocol_family("amqps"), "amqp");
        assert_eq!(protocol_family("sqs"), "sqs");
        assert_eq!(protocol_family("nats"), "nats");
    }

    #[test]
    fn channel_keys_parse_and_print() {
        let key = ChannelKey::parse("kafka-secure:orders.created").unwrap();
        assert_eq!(key, ChannelKey::new("kafka", "orders.created"));
        assert_eq!(key.to_string(), "kafka:orders.created");
        // Only the first colon splits: addresses may hold colons.
        assert_eq!(ChannelKey::parse("amqp:a:b").unwrap().address, "a:b");
        assert!(ChannelKey::parse("orders").is_err());
        assert!(ChannelKey::parse(":orders").is_err());
        assert!(ChannelKey::parse("kafka:").is_err());
        assert!(ChannelKey::parse("ka fka:x").is_err());
        assert_eq!(ChannelKey::new("", "a").to_string(), "a");
    }

    #[test]
    fn pointers_unescape() {
        assert_eq!(
            pointer("#/channels/a~1b~0c").unwrap(),
            vec!["channels", "a/b~c"]
        );
        assert_eq!(
            pointer("#/channels/a%7Bb%7D").unwrap(),
            vec!["channels", "a{b}"]
        );
        assert_eq!(pointer("other.yaml#/x"), None);
        assert_eq!(percent_decode("100%"), "100%");
    }

    #[test]
    fn bridge_extension_forms() {
        let one = declared_bridges(&serde_json::json!("sqs:q")).unwrap();
        assert_eq!(one[0].0, ChannelKey::new("sqs", "q"));
        let list =
            declared_bridges(&serde_json::json!([{"to": "nats:a.b", "convert": "avro -> json"}]))
                .unwrap();
        assert_eq!(list[0].1.as_deref(), Some("avro -> json"));
        assert!(declared_bridges(&serde_json::json!([{"convert": "x"}])).is_err());
        assert!(declared_bridges(&serde_json::json!(3)).is_err());
    }
}
