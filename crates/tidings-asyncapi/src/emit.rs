//! [`ServiceDescription`] -> AsyncAPI 3.0 [`Document`].
//!
//! Everything is keyed and sorted before it is written, so the output depends only on
//! the contents of the description, never on the order of its vectors. All problems
//! are collected and returned together in one [`SpecError`].
//!
//! The rules, in document order:
//! - `info` from title, version, description; `defaultContentType: application/json`.
//! - `servers`: one per configured server, by URL scheme (see [`crate::protocol`]);
//!   credentials, query and fragment are never copied; `memory://` servers are left
//!   out (a 3.0 server needs a reachable host).
//! - `channels`: one per address used by an operation or a reply, or described in
//!   [`ServiceDescription::channels`]. The key is the address with `{`/`}` dropped and
//!   anything a JSON Pointer or URI fragment would need escaped turned into `_`
//!   (`orders.{region}.created` -> `orders.region.created`). Every `{name}` gets a
//!   parameter; `messages` references `components/messages`; `servers` only when the
//!   channel is routed to one real server. Channel bindings (kafka 0.5.0 `topic`, sqs
//!   0.2.0 `queue`, amqp 0.3.0 `is: queue`) are written when the channel's protocol is
//!   known (its server, or the one protocol all real servers share) and its address
//!   has no parameters (a template names no concrete topic or queue). A channel's
//!   declared bridges become `x-tidings-bridge: [{to: protocol:address, convert?,
//!   description?}]`, sorted by target.
//!   Broker options declared for a channel ([`ChannelDescription::bindings`]: Kafka
//!   `partitions`/`replicas`, SQS queue attributes and `deadLetterQueue`) fill in the
//!   binding of its protocol; the derived topic or queue name stays.
//! - `operations`: keyed by id; messages reference the channel's messages, as 3.0
//!   requires; a consumer group becomes `x-tidings-group` plus, by protocol, the kafka
//!   `groupId` or nats `queue` operation binding; on a channel of one Kafka server every
//!   operation's kafka binding has that server's `clientId`; a reply references its
//!   channel.
//! - Kafka SASL (a `kafka+sasl*` scheme or `?sasl_mechanism=`): a security scheme
//!   `<server>-sasl` in `components/securitySchemes` (`plain`, `scramSha256`,
//!   `scramSha512`), referenced by the server; never the credentials.
//! - Kafka dead letters: every consumer on a Kafka channel gets a send operation
//!   `<id>_dlq` on the channel `<address>.dlq` (same message), where the Kafka broker
//!   publishes what the consumer rejects.
//! - Message keys: a producer on a Kafka channel declaring a key gives its message the
//!   kafka 0.5.0 message binding `key`: the key field's schema from the payload, or
//!   `{type: string}` for a key function. Two different keys for one message are an
//!   error.
//! - `components/messages`: keyed by message name, with `x-eventcatalog-message-type`
//!   and `x-eventcatalog-message-version`; `components/schemas`: every schemars
//!   definition, hoisted, with all `$ref`s rewritten (see the `schema` module).

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::description::{
    Action, BridgeDescription, ChannelDescription, KeyDescription, MessageDescription, OperationDescription,
    ServiceDescription,
};
use crate::error::{Problem, SpecError};
use crate::model::{
    Bindings, Channel, Components, Document, Info, Map, Message, Operation, OperationAction,
    OperationReply, Parameter, RefOr, Reference, Server,
};
use crate::protocol::{binding_protocol, kafka_client_id, kafka_sasl, query_option, server_for_url, sqs_queue_name};
use crate::schema::{self, component_name};

/// The content type messages have unless they say otherwise.
pub const DEFAULT_CONTENT_TYPE: &str = "application/json";

/// Extension naming an operation's consumer group, whatever the protocol.
pub const GROUP_EXTENSION: &str = "x-tidings-group";
/// Extension naming the in-process server a channel lives on (memory servers are not
/// in `servers`, so the channel cannot `$ref` them).
pub const SERVER_EXTENSION: &str = "x-tidings-server";
/// Extension listing the channels a channel is bridged to (`[{to: "sqs:order-events",
/// convert: "avro -> json"}]`), read by the event catalog (`tidings-catalog`).
pub const BRIDGE_EXTENSION: &str = "x-tidings-bridge";
/// EventCatalog's message kind extension (`event`, `command`, `query`).
pub const MESSAGE_TYPE_EXTENSION: &str = "x-eventcatalog-message-type";
/// EventCatalog's message version extension.
pub const MESSAGE_VERSION_EXTENSION: &str = "x-eventcatalog-message-version";

/// The longest queue group the NATS operation binding accepts.
const NATS_QUEUE_MAX: usize = 255;

/// Builds the AsyncAPI 3.0 document of a service.
///
/// The result depends only on the contents of `desc`: the order of its vectors does
/// not matter, and the same description always serializes to the same bytes. Every
/// problem found is reported in the one returned [`SpecError`].
pub fn emit(desc: &ServiceDescription) -> Result<Document, SpecError> {
    // One implementation, on an owned description, so that a service binary (which
    // calls `emit_owned`) carries one.
    emit_owned(desc.clone())
}

/// [`emit`], taking the description: its payload and headers schemas move into the
/// document instead of being copied (for a caller with no further use for it, as a
/// service answering `--asyncapi`).
pub fn emit_owned(mut desc: ServiceDescription) -> Result<Document, SpecError> {
    let mut problems = Vec::new();
    let servers = collect_servers(&desc, &mut problems);
    add_dead_letter_operations(&mut desc, &servers);
    // The description standing for each message name, by name, chosen while the schemas
    // are in place (choosing compares whole descriptions); then their schemas, moved out
    // in the same order.
    let chosen = collect_messages(&desc, &mut problems);
    let schemas: Vec<(Value, Option<Value>)> = chosen
        .iter()
        .map(|&i| (std::mem::take(&mut desc.messages[i].payload), desc.messages[i].headers.take()))
        .collect();
    let desc = &desc;
    let messages: Map<&str, &MessageDescription> =
        chosen.iter().map(|&i| (desc.messages[i].name.as_str(), &desc.messages[i])).collect();
    let (component_messages, schemas) = build_messages(&messages, schemas, &mut problems);
    let operations = collect_operations(desc, &messages, &mut problems);
    let channels = plan_channels(desc, &operations, &servers, &mut problems);
    let built_operations = build_operations(&operations, &channels, &mut problems);
    let message_keys = message_keys(desc, &component_messages, &channels, &mut problems);
    if !problems.is_empty() {
        return Err(SpecError::new(problems));
    }

    let mut document = Document::new(Info {
        title: desc.title.clone(),
        version: desc.version.clone(),
        description: desc.description.clone(),
        ..Info::default()
    });
    document.default_content_type = Some(DEFAULT_CONTENT_TYPE.to_owned());
    // Kafka servers authenticating with SASL: a security scheme each, referenced by
    // the server. What the scheme says, never the credentials.
    let mut security_schemes = BTreeMap::new();
    let mut servers = servers;
    for configured in &desc.servers {
        let Some(Some(server)) = servers.get_mut(&configured.name) else { continue };
        if let Some((mechanism, kind)) = kafka_sasl(&configured.url) {
            let key = format!("{}-sasl", configured.name);
            let transport = if server.protocol == "kafka-secure" { "over TLS" } else { "without TLS" };
            security_schemes.insert(
                key.clone(),
                json!({
                    "type": kind,
                    "description": format!(
                        "SASL/{mechanism} {transport}; the client reads its credentials from \
                         TIDINGS_KAFKA_SASL_USERNAME and TIDINGS_KAFKA_SASL_PASSWORD."
                    ),
                }),
            );
            let reference = json!({"$ref": format!("#/components/securitySchemes/{key}")});
            if !server.security.contains(&reference) {
                server.security.push(reference);
            }
        }
        if let Some(binding) = kafka_schema_registry(&configured.url) {
            server.bindings = Some(RefOr::item(Bindings::from([("kafka".to_owned(), binding)])));
        }
    }
    // Avro payloads travel in the Confluent wire format (tidings' Avro codec): where
    // the service is on Kafka, the message binding says the schema id is in the payload.
    let on_kafka = servers.values().flatten().any(|s| binding_protocol(&s.protocol) == Some("kafka"));
    let mut component_messages = component_messages;
    for message in component_messages.values_mut().filter_map(RefOr::as_item_mut).filter(|m| on_kafka && is_avro(m.payload.as_ref())) {
        let binding = json!({
            "schemaIdLocation": "payload",
            "schemaLookupStrategy": "RecordNameStrategy",
            "bindingVersion": "0.5.0",
        });
        message.bindings = Some(RefOr::item(Bindings::from([("kafka".to_owned(), binding)])));
    }
    // A key declared by a producer on Kafka: the message binding's `key`.
    for (name, key) in message_keys {
        let Some(message) = component_messages.get_mut(&name).and_then(RefOr::as_item_mut) else { continue };
        let bindings = match message.bindings.get_or_insert_with(|| RefOr::item(Bindings::new())) {
            RefOr::Item(bindings) => bindings,
            RefOr::Ref(_) => continue,
        };
        let binding = bindings
            .entry("kafka".to_owned())
            .or_insert_with(|| json!({"bindingVersion": "0.5.0"}));
        if let Value::Object(binding) = binding {
            binding.insert("key".to_owned(), key);
        }
    }
    document.servers = servers.into_iter().filter_map(|(name, server)| Some((name, RefOr::item(server?)))).collect();
    document.channels = channels
        .into_values()
        .map(|plan| {
            let ChannelPlan { id, channel, .. } = *plan;
            (id, RefOr::item(channel))
        })
        .collect();
    document.operations = built_operations;
    let components = Components {
        schemas,
        messages: component_messages,
        security_schemes,
        ..Components::default()
    };
    document.components = (!components.is_empty()).then_some(components);
    Ok(document)
}

/// The Kafka message binding `key` of every message a producer on a Kafka channel
/// declares a key for: the key field's schema from the (prepared) payload, or a string
/// for a key function or a field the payload schema does not list (a renamed field, an
/// Avro payload). Two different keys for one message are a problem.
fn message_keys(
    desc: &ServiceDescription,
    messages: &Map<String, RefOr<Message>>,
    channels: &Map<String, Box<ChannelPlan>>,
    problems: &mut Vec<Problem>,
) -> Map<String, Value> {
    let mut keys: Map<String, (Value, String)> = Map::new();
    let mut operations: Vec<&OperationDescription> = desc.operations.iter().filter(|o| o.action == Action::Send).collect();
    sort_by_text(&mut operations, |o| o.id.clone());
    for operation in operations {
        let Some(key) = &operation.key else { continue };
        if channels.get(&operation.channel).and_then(|plan| plan.protocol) != Some("kafka") {
            continue;
        }
        let (schema, how) = match key {
            KeyDescription::Field(field) => {
                let schema = messages
                    .get(&operation.message)
                    .and_then(RefOr::as_item)
                    .and_then(|m| m.payload.as_ref())
                    .and_then(|payload| payload.get("properties"))
                    .and_then(|properties| properties.get(field))
                    .cloned()
                    .unwrap_or_else(|| json!({"type": "string"}));
                (schema, format!("field `{field}` in `{}`", operation.id))
            }
            KeyDescription::Extractor(path) => (json!({"type": "string"}), format!("`{path}` in `{}`", operation.id)),
        };
        match keys.get(&operation.message) {
            Some((existing, first)) if *existing != schema => problems.push(Problem::ConflictingMessageKey {
                message: operation.message.clone(),
                first: first.clone(),
                second: how,
            }),
            Some(_) => {}
            None => {
                keys.insert(operation.message.clone(), (schema, how));
            }
        }
    }
    keys.into_iter().map(|(name, (schema, _))| (name, schema)).collect()
}

/// Rewrites the inline Avro schema of every Avro payload in `document`'s messages into
/// a `$ref` to the same schema in the Schema Registry at `registry`:
/// `<registry>/subjects/<record full name>/versions/<version>/schema` (`version` is
/// `latest` or a number). The subject is the record's full name: the record name
/// strategy the Avro codec registers under and the Kafka message binding's
/// `schemaLookupStrategy` names. Credentials in `registry` are dropped. Returns how many
/// payloads it rewrote. `tidings bundle --allow-host <registry host>` inlines them again.
pub fn reference_avro_payloads(document: &mut Document, registry: &str, version: &str) -> usize {
    let base = without_credentials(registry).trim_end_matches('/').to_owned();
    let mut count = 0;
    let Some(components) = document.components.as_mut() else { return 0 };
    for message in components.messages.values_mut() {
        let RefOr::Item(message) = message else { continue };
        if !is_avro(message.payload.as_ref()) {
            continue;
        }
        let Some(payload) = message.payload.as_mut().and_then(Value::as_object_mut) else { continue };
        let Some(name) = payload.get("schema").and_then(|s| s.get("name")).and_then(Value::as_str) else { continue };
        let namespace = payload.get("schema").and_then(|s| s.get("namespace")).and_then(Value::as_str);
        let full = match namespace {
            Some(ns) if !name.contains('.') && !ns.is_empty() => format!("{ns}.{name}"),
            _ => name.to_owned(),
        };
        payload.insert("schema".into(), json!({"$ref": format!("{base}/subjects/{full}/versions/{version}/schema")}));
        count += 1;
    }
    count
}

/// Whether a payload is a Multi Format Schema Object holding an Avro schema.
fn is_avro(payload: Option<&Value>) -> bool {
    payload
        .and_then(|p| p.get("schemaFormat"))
        .and_then(Value::as_str)
        .is_some_and(|f| f.starts_with("application/vnd.apache.avro"))
}

/// The Kafka server binding naming the Schema Registry of a `kafka://` URL with
/// `?schema_registry=http://host:8081` (and `schema_registry_vendor`, `confluent` by
/// default). Credentials in the registry URL are dropped like the server's own.
fn kafka_schema_registry(url: &str) -> Option<Value> {
    let scheme = url.split_once("://")?.0.to_ascii_lowercase();
    if !scheme.starts_with("kafka") {
        return None;
    }
    let registry = crate::protocol::schema_registry_url(url)?;
    let registry = without_credentials(&registry);
    let vendor = query_option(url, "schema_registry_vendor").filter(|v| !v.is_empty()).unwrap_or_else(|| "confluent".into());
    Some(json!({"schemaRegistryUrl": registry, "schemaRegistryVendor": vendor, "bindingVersion": "0.5.0"}))
}

/// `https://user:secret@host/path` -> `https://host/path`.
fn without_credentials(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.split('/').next().and_then(|authority| authority.rfind('@')) {
            Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// Configured servers by name: `None` for in-process ones.
type Servers = Map<String, Option<Server>>;

/// Parses every server URL; duplicates and bad names are problems.
fn collect_servers(desc: &ServiceDescription, problems: &mut Vec<Problem>) -> Servers {
    // Name -> its distinct URLs (a set as a map to nothing, see `Map`).
    let mut by_name: Map<&str, Map<&str, ()>> = Map::new();
    for server in &desc.servers {
        by_name.get_or_insert_with(server.name.as_str(), Map::new).insert(server.url.as_str(), ());
    }
    let mut servers = Servers::new();
    for (name, urls) in by_name {
        if let Err(reason) = check_key(name) {
            problems.push(Problem::InvalidServerName {
                server: name.to_owned(),
                reason,
            });
        }
        if urls.len() > 1 {
            problems.push(Problem::DuplicateServer {
                server: name.to_owned(),
            });
        }
        // Still parse every URL so all their problems show at once.
        let mut parsed = None;
        for url in urls.into_keys() {
            match server_for_url(name, url) {
                Ok(server) => parsed = Some(server),
                Err(problem) => problems.push(problem),
            }
        }
        if let Some(server) = parsed {
            servers.insert(name.to_owned(), server);
        } else {
            // Known by name even when its URL is broken, so channels routed to it do not
            // also report an unknown server.
            servers.insert(name.to_owned(), None);
        }
    }
    servers
}

/// Messages by name, deduplicated; one name claimed by two Rust types is a problem.
fn collect_messages(desc: &ServiceDescription, problems: &mut Vec<Problem>) -> Vec<usize> {
    // By name, then Rust type: each name's descriptions are one run, and each type's
    // a run within it. Sorted, not grouped in maps: a map type per grouping was several
    // kilobytes of code each in every service binary. Indices into `desc.messages`, so
    // that the caller may take the chosen descriptions' schemas afterwards.
    let all = &desc.messages;
    let mut order: Vec<usize> = (0..all.len()).collect();
    sort_by_text(&mut order, |&i| format!("{}\0{}", all[i].name, all[i].rust_type));
    let mut chosen = Vec::new();
    for same_name in order.chunk_by_mut(|&a, &b| all[a].name == all[b].name) {
        let (name, first_type) = (all[same_name[0]].name.as_str(), all[same_name[0]].rust_type.as_str());
        for same in same_name.chunk_by_mut(|&a, &b| all[a].rust_type == all[b].rust_type) {
            let rust_type = all[same[0]].rust_type.as_str();
            if rust_type != first_type {
                problems.push(Problem::MessageNameConflict {
                    message: name.to_owned(),
                    first_type: first_type.to_owned(),
                    second_type: rust_type.to_owned(),
                });
            }
            sort_by_text(same, |&i| format!("{:?}", all[i]));
            if same.iter().any(|&i| all[i] != all[same[0]]) {
                problems.push(Problem::ConflictingMessage {
                    message: name.to_owned(),
                    rust_type: rust_type.to_owned(),
                });
            }
            if let Err(reason) = check_key(name) {
                problems.push(Problem::InvalidMessageName {
                    message: name.to_owned(),
                    rust_type: rust_type.to_owned(),
                    reason,
                });
            }
        }
        // The first type's first description, in content order.
        chosen.push(same_name[0]);
    }
    chosen
}

/// `components/messages` and `components/schemas`.
///
/// `taken` holds each message's payload and headers schemas, in the order of
/// `messages` (taken out of the descriptions, which hold `null` there now).
fn build_messages(
    messages: &Map<&str, &MessageDescription>,
    taken: Vec<(Value, Option<Value>)>,
    problems: &mut Vec<Problem>,
) -> (Map<String, RefOr<Message>>, BTreeMap<String, Value>) {
    // Schema name -> (schema, first message that defined it).
    let mut schemas: Map<String, (Value, String)> = Map::new();
    let mut built = Map::new();
    for ((name, desc), (payload, headers)) in messages.iter().zip(taken) {
        let mut prepare = |part: &str, schema: Value, suffix: &str| -> Option<Value> {
            match schema::prepare(schema, &format!("{name}{suffix}")) {
                Ok(prepared) => {
                    for (schema_name, schema) in prepared.hoisted {
                        match schemas.get(&schema_name) {
                            Some((existing, owner)) if *existing != schema => {
                                problems.push(Problem::SchemaConflict {
                                    schema: schema_name,
                                    first_message: owner.clone(),
                                    second_message: (*name).to_owned(),
                                })
                            }
                            Some(_) => {}
                            None => {
                                schemas.insert(schema_name, (schema, (*name).to_owned()));
                            }
                        }
                    }
                    Some(prepared.root)
                }
                Err(reasons) => {
                    problems.extend(reasons.into_iter().map(|reason| Problem::InvalidSchema {
                        message: (*name).to_owned(),
                        part: part.to_owned(),
                        reason,
                    }));
                    None
                }
            }
        };
        // `null` stands for "no payload" (a unit message).
        let payload = match payload {
            Value::Null => None,
            // A Multi Format Schema Object (an Avro contract): the schema is in its own
            // format, with nothing to hoist; it goes into the document as it is.
            multi_format if multi_format.get("schemaFormat").is_some() => Some(multi_format),
            payload => prepare("payload", payload, "Payload"),
        };
        let headers = match headers {
            None | Some(Value::Null) => None,
            Some(headers) => prepare("headers", headers, "Headers"),
        };
        let (summary, description) = summary_and_description(desc.description.as_deref());
        let mut message = Message {
            headers,
            payload,
            content_type: Some(desc.content_type.clone()).filter(|c| !c.is_empty()),
            name: Some((*name).to_owned()),
            title: desc.title.clone(),
            summary,
            description,
            ..Message::default()
        };
        message.extensions.insert(
            MESSAGE_TYPE_EXTENSION.to_owned(),
            Value::String(desc.kind.as_str().to_owned()),
        );
        if let Some(version) = &desc.version {
            message.extensions.insert(
                MESSAGE_VERSION_EXTENSION.to_owned(),
                Value::String(version.clone()),
            );
        }
        built.insert((*name).to_owned(), RefOr::item(message));
    }
    let schemas = map_of(schemas.into_iter().map(|(name, (schema, _))| (name, schema)));
    (built, schemas)
}

/// `summary` is the first line of a doc comment; `description` the whole of it when it
/// says more than that line.
fn summary_and_description(doc: Option<&str>) -> (Option<String>, Option<String>) {
    let Some(doc) = doc.map(str::trim).filter(|d| !d.is_empty()) else {
        return (None, None);
    };
    let summary = doc.lines().next().unwrap_or(doc).trim().to_owned();
    let description = (summary != doc).then(|| doc.to_owned());
    (Some(summary), description)
}

/// Operations by id, checked.
fn collect_operations<'a>(
    desc: &'a ServiceDescription,
    messages: &Map<&str, &MessageDescription>,
    problems: &mut Vec<Problem>,
) -> Map<&'a str, &'a OperationDescription> {
    // By id: each id's operations are one run (sorted, as messages above).
    let mut all: Vec<&OperationDescription> = desc.operations.iter().collect();
    sort_by_text(&mut all, |o| o.id.clone());
    let mut operations = Map::new();
    for same in all.chunk_by_mut(|a, b| a.id == b.id) {
        let id = same[0].id.as_str();
        sort_by_contents(same);
        sort_by_text(same, |o| o.source.clone());
        for other in &same[1..] {
            problems.push(Problem::DuplicateOperation {
                operation: id.to_owned(),
                first_source: same[0].source.clone(),
                second_source: other.source.clone(),
            });
        }
        let operation = same[0];
        let source = || operation.source.clone();
        if id.trim().is_empty() {
            problems.push(Problem::InvalidOperationId {
                operation: id.to_owned(),
                source_location: source(),
                reason: "empty".to_owned(),
            });
        }
        if !messages.contains_key(operation.message.as_str()) {
            problems.push(Problem::UnknownMessage {
                operation: id.to_owned(),
                source_location: source(),
                message: operation.message.clone(),
            });
        }
        if let Some(reply) = &operation.reply {
            if !messages.contains_key(reply.message.as_str()) {
                problems.push(Problem::UnknownReplyMessage {
                    operation: id.to_owned(),
                    source_location: source(),
                    message: reply.message.clone(),
                });
            }
        }
        if let Some(group) = &operation.group {
            let reason = if operation.action == Action::Send {
                Some("a producer has no consumer group")
            } else if group.is_empty() {
                Some("empty")
            } else {
                None
            };
            if let Some(reason) = reason {
                problems.push(Problem::InvalidGroup {
                    operation: id.to_owned(),
                    source_location: source(),
                    group: group.clone(),
                    reason: reason.to_owned(),
                });
            }
        }
        operations.insert(id, operation);
    }
    operations
}

/// One channel to write: its id and the object.
struct ChannelPlan {
    /// Key under `channels`.
    id: String,
    /// The channel object.
    channel: Channel,
    /// Binding key (`kafka`, `nats`, ...) of the protocol the channel is on, when it
    /// is on exactly one.
    protocol: Option<&'static str>,
    /// The Kafka `client.id` of the one Kafka server the channel is on.
    kafka_client_id: Option<String>,
}

/// The binding protocol of channels not routed to one server: the single binding
/// protocol of all real servers, if they agree.
fn shared_protocol(servers: &Servers) -> Option<&'static str> {
    let mut real_protocols = servers.values().flatten().map(|server| binding_protocol(&server.protocol));
    let first = real_protocols.next()?;
    real_protocols.all(|protocol| protocol == first).then_some(first).flatten()
}

/// Suffix of a Kafka dead-letter topic: the Kafka broker publishes a message a consumer
/// rejected to `<topic>.dlq`.
pub const DEAD_LETTER_SUFFIX: &str = ".dlq";

/// `desc` plus, for every consumer on a Kafka channel, the send operation of its
/// dead-letter topic (`<id>_dlq` on `<address>.dlq`, same message), routed like the
/// consumed channel.
fn add_dead_letter_operations(desc: &mut ServiceDescription, servers: &Servers) {
    for (channel, operation) in dead_letter_operations(desc, servers) {
        if !desc.channels.contains(&channel) {
            desc.channels.push(channel);
        }
        desc.operations.push(operation);
    }
}

/// The dead-letter channel and send operation of every consumer on a Kafka channel.
fn dead_letter_operations(desc: &ServiceDescription, servers: &Servers) -> Vec<(ChannelDescription, OperationDescription)> {
    let shared = shared_protocol(servers);
    let mut additions = Vec::new();
    for operation in desc.operations.iter().filter(|o| o.action == Action::Receive) {
        let routed = desc
            .channels
            .iter()
            .filter(|c| c.address == operation.channel)
            .find_map(|c| c.server.as_deref());
        let protocol = match routed {
            Some(server) => servers
                .get(server)
                .and_then(Option::as_ref)
                .and_then(|s| binding_protocol(&s.protocol)),
            None => shared,
        };
        if protocol != Some("kafka") {
            continue;
        }
        let address = format!("{}{DEAD_LETTER_SUFFIX}", operation.channel);
        let parameters = desc
            .channels
            .iter()
            .find(|c| c.address == operation.channel)
            .map(|c| c.parameters.clone())
            .unwrap_or_default();
        let channel = ChannelDescription {
            address: address.clone(),
            description: Some(format!(
                "Dead letters of `{}`: messages a consumer rejected (its handler failed on every \
                 attempt, or the payload did not decode), with headers `x-tidings-dlq-reason`, \
                 `x-tidings-dlq-topic`, `x-tidings-dlq-partition`, `x-tidings-dlq-offset` and \
                 `x-tidings-dlq-attempts`.",
                operation.channel
            )),
            server: routed.map(str::to_owned),
            parameters,
            bridges: Vec::new(),
            bindings: BTreeMap::new(),
        };
        let dead_letters = OperationDescription {
            id: format!("{}_dlq", operation.id),
            action: Action::Send,
            channel: address,
            message: operation.message.clone(),
            summary: Some(format!("Publishes what `{}` rejects to its dead-letter topic.", operation.id)),
            description: None,
            group: None,
            reply: None,
            key: None,
            source: operation.source.clone(),
        };
        additions.push((channel, dead_letters));
    }
    additions
}

/// Channels by address.
fn plan_channels(
    desc: &ServiceDescription,
    operations: &Map<&str, &OperationDescription>,
    servers: &Servers,
    problems: &mut Vec<Problem>,
) -> Map<String, Box<ChannelPlan>> {
    // Address -> messages carried on it (a set: a map to nothing).
    let mut carried: Map<&str, Map<&str, ()>> = Map::new();
    for operation in operations.values() {
        carried.get_or_insert_with(operation.channel.as_str(), Map::new).insert(operation.message.as_str(), ());
        if let Some(reply) = &operation.reply {
            carried.get_or_insert_with(reply.channel.as_str(), Map::new).insert(reply.message.as_str(), ());
        }
    }
    let mut channel_descriptions: Vec<&ChannelDescription> = desc.channels.iter().collect();
    sort_by_contents(&mut channel_descriptions);
    let mut described: Map<&str, &ChannelDescription> = Map::new();
    for channel in channel_descriptions {
        match described.get(channel.address.as_str()) {
            Some(existing) if *existing != channel => problems.push(Problem::ConflictingChannel {
                address: channel.address.clone(),
            }),
            Some(_) => {}
            None => {
                described.insert(channel.address.as_str(), channel);
                carried.get_or_insert_with(channel.address.as_str(), Map::new);
            }
        }
    }

    let shared_protocol = shared_protocol(servers);
    // The server of channels not routed to one: the only real server, if there is one.
    let mut real_servers = servers.iter().filter(|(_, server)| server.is_some());
    let only_server = match (real_servers.next(), real_servers.next()) {
        (Some((name, _)), None) => Some(name.clone()),
        _ => None,
    };
    // Kafka servers' topic prefixes (`kafka://...?topic_prefix=staging.`), when set.
    let topic_prefixes: Map<&str, String> = desc
        .servers
        .iter()
        .filter(|server| kafka_client_id(&server.name, &server.url).is_some())
        .filter_map(|server| {
            let prefix = query_option(&server.url, "topic_prefix").filter(|p| !p.is_empty())?;
            Some((server.name.as_str(), prefix))
        })
        .collect();
    let client_ids: Map<&str, String> = desc
        .servers
        .iter()
        .filter_map(|server| Some((server.name.as_str(), kafka_client_id(&server.name, &server.url)?)))
        .collect();
    // SQS servers' queue prefixes (`sqs://...?queue_prefix=staging-`), when set.
    let queue_prefixes: Map<&str, String> = desc
        .servers
        .iter()
        .filter(|server| server.url.get(..6).is_some_and(|s| s.eq_ignore_ascii_case("sqs://")))
        .filter_map(|server| {
            let prefix = query_option(&server.url, "queue_prefix").filter(|p| !p.is_empty())?;
            Some((server.name.as_str(), prefix))
        })
        .collect();

    let mut ids: Map<String, &str> = Map::new();
    let mut plans = Map::new();
    for (address, messages) in carried {
        let (id, parameters) = match parse_address(address) {
            Ok(parsed) => parsed,
            Err(reason) => {
                problems.push(Problem::InvalidAddress {
                    address: address.to_owned(),
                    reason,
                });
                continue;
            }
        };
        if let Some(first) = ids.get(&id) {
            problems.push(Problem::ChannelIdCollision {
                id: id.clone(),
                first: (*first).to_owned(),
                second: address.to_owned(),
            });
            continue;
        }
        ids.insert(id.clone(), address);

        let mut channel = Channel {
            address: Some(address.to_owned()),
            messages: messages
                .keys()
                .map(|name| {
                    let reference = Reference::new(format!("#/components/messages/{name}"));
                    ((*name).to_owned(), RefOr::Ref(reference))
                })
                .collect(),
            ..Channel::default()
        };
        let mut protocol = shared_protocol;
        let mut server_name = only_server.clone();
        if let Some(extra) = described.get(address) {
            channel.description = extra.description.clone();
            if let Some(bridges) = bridge_extension(address, &extra.bridges, problems) {
                channel.extensions.insert(BRIDGE_EXTENSION.to_owned(), bridges);
            }
            for parameter in extra.parameters.keys() {
                if !parameters.contains_key(parameter) {
                    problems.push(Problem::UnknownParameter {
                        address: address.to_owned(),
                        parameter: parameter.clone(),
                    });
                }
            }
            if let Some(server) = &extra.server {
                match servers.get(server) {
                    None => problems.push(Problem::UnknownServer {
                        channel: address.to_owned(),
                        server: server.clone(),
                    }),
                    Some(Some(real)) => {
                        channel
                            .servers
                            .push(Reference::new(format!("#/servers/{server}")));
                        protocol = binding_protocol(&real.protocol);
                        server_name = Some(server.clone());
                    }
                    Some(None) => {
                        // In-process (or broken, already reported): no `$ref` possible.
                        channel
                            .extensions
                            .insert(SERVER_EXTENSION.to_owned(), Value::String(server.clone()));
                        protocol = None;
                        server_name = None;
                    }
                }
            }
        }
        channel.parameters = parameters
            .keys()
            .map(|name| {
                let description = described.get(address).and_then(|extra| extra.parameters.get(name)).cloned();
                let parameter = Parameter { description, ..Parameter::default() };
                (name.clone(), RefOr::item(parameter))
            })
            .collect();
        // A templated address is no concrete topic or queue name, so it gets no binding.
        // A Kafka server with a `topic_prefix` puts the channel on `<prefix><address>`;
        // when the channel's server is unknown and some server has a prefix, the topic
        // is unknown too.
        let topic = match (protocol, server_name.as_deref()) {
            (Some("kafka"), Some(name)) => {
                Some(format!("{}{address}", topic_prefixes.get(name).map(String::as_str).unwrap_or_default()))
            }
            (Some("kafka"), None) if !topic_prefixes.is_empty() => None,
            // The SQS broker's queue name: dots as dashes, after the server's prefix.
            (Some("sqs"), Some(name)) => {
                Some(sqs_queue_name(queue_prefixes.get(name).map(String::as_str).unwrap_or_default(), address))
            }
            (Some("sqs"), None) if !queue_prefixes.is_empty() => None,
            (Some("sqs"), None) => Some(sqs_queue_name("", address)),
            _ => Some(address.to_owned()),
        };
        if parameters.is_empty() {
            if let Some(mut binding) = protocol.zip(topic).and_then(|(p, topic)| channel_binding(p, &topic)) {
                // Declared broker options of the channel's protocol (partitions, queue
                // attributes) fill the binding in; the derived topic or queue name stays.
                let declared = protocol.and_then(|p| Some((p, described.get(address)?.bindings.get(p)?)));
                if let Some((p, fields)) = declared {
                    if let Some(derived) = binding.get_mut(p) {
                        fill_in(derived, fields);
                    }
                }
                channel.bindings = Some(RefOr::item(binding));
            }
        }
        plans.insert(
            address.to_owned(),
            // Boxed: a B-tree node holds eleven values inline, and a plan is about 500
            // bytes, so a service's few channels took a 5 KB node each.
            Box::new(ChannelPlan {
                id,
                channel,
                protocol,
                kafka_client_id: server_name
                    .and_then(|name| client_ids.get(name.as_str()).cloned())
                    .filter(|_| protocol == Some("kafka")),
            }),
        );
    }
    plans
}

/// Adds to `target` the fields of `fields` it lacks; objects on both sides are filled
/// in field by field, and what `target` already says stays.
fn fill_in(target: &mut Value, fields: &Value) {
    let (Value::Object(target), Value::Object(fields)) = (target, fields) else { return };
    for (key, value) in fields {
        match target.get_mut(key) {
            Some(existing) => fill_in(existing, value),
            None => {
                target.insert(key.clone(), value.clone());
            }
        }
    }
}

/// The channel id of `address` and its parameter names.
///
/// The id keeps letters, digits, `.`, `-` and `_`; braces are dropped
/// (`orders.{region}.created` -> `orders.region.created`) and anything else, which a
/// JSON Pointer or URI fragment would need escaped, becomes `_`.
fn parse_address(address: &str) -> Result<(String, Map<String, ()>), String> {
    if address.is_empty() {
        return Err("empty".to_owned());
    }
    let mut id = String::with_capacity(address.len());
    let mut parameters = Map::new();
    let mut open: Option<String> = None;
    for c in address.chars() {
        match (c, &mut open) {
            ('{', Some(_)) => return Err("`{` inside a parameter".to_owned()),
            ('{', None) => open = Some(String::new()),
            ('}', None) => return Err("`}` without `{`".to_owned()),
            ('}', Some(name)) => {
                if name.is_empty() {
                    return Err("empty parameter `{}`".to_owned());
                }
                parameters.insert(std::mem::take(name), ());
                open = None;
            }
            (c, Some(name)) => {
                if !(c.is_ascii_alphanumeric() || c == '_' || c == '-') {
                    return Err(format!(
                        "parameter names may only hold letters, digits, `_` and `-`, not `{c}`"
                    ));
                }
                name.push(c);
                id.push(c);
            }
            (c, None) => id.push(if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }),
        }
    }
    if open.is_some() {
        return Err("unclosed `{`".to_owned());
    }
    Ok((id, parameters))
}

/// The channel binding for `protocol`, where the official 3.0.0 schema has one worth
/// writing.
fn channel_binding(protocol: &str, address: &str) -> Option<Bindings> {
    let binding = match protocol {
        "kafka" => json!({"topic": address, "bindingVersion": "0.5.0"}),
        // The schema requires `fifoQueue`; AWS requires FIFO queue names to end in `.fifo`.
        "sqs" => json!({
            "queue": {"name": address, "fifoQueue": address.ends_with(".fifo")},
            "bindingVersion": "0.2.0",
        }),
        // Without an exchange name the address is the queue (the default exchange routes
        // by queue name), so describe the queue.
        "amqp" => json!({"is": "queue", "queue": {"name": address}, "bindingVersion": "0.3.0"}),
        _ => return None,
    };
    Some(Bindings::from([(protocol.to_owned(), binding)]))
}

/// The operation binding: the consumer group (kafka `groupId`, nats `queue`) and the
/// Kafka `clientId`, for protocols that have them.
fn operation_binding(protocol: &str, group: Option<&str>, kafka_client_id: Option<&str>) -> Option<Bindings> {
    let binding = match (protocol, group) {
        ("kafka", _) if group.is_some() || kafka_client_id.is_some() => {
            let mut binding = serde_json::Map::new();
            if let Some(group) = group {
                binding.insert("groupId".into(), json!({"type": "string", "enum": [group]}));
            }
            if let Some(client_id) = kafka_client_id {
                binding.insert("clientId".into(), json!({"type": "string", "enum": [client_id]}));
            }
            binding.insert("bindingVersion".into(), json!("0.5.0"));
            Value::Object(binding)
        }
        ("nats", Some(group)) => json!({"queue": group, "bindingVersion": "0.1.0"}),
        _ => return None,
    };
    Some(Bindings::from([(protocol.to_owned(), binding)]))
}

/// The `operations` map.
fn build_operations(
    operations: &Map<&str, &OperationDescription>,
    channels: &Map<String, Box<ChannelPlan>>,
    problems: &mut Vec<Problem>,
) -> Map<String, RefOr<Operation>> {
    let mut built = Map::new();
    for (id, desc) in operations {
        // A missing plan means its address was invalid, which is already reported.
        let Some(plan) = channels.get(&desc.channel) else {
            continue;
        };
        let mut operation = Operation {
            action: match desc.action {
                Action::Send => OperationAction::Send,
                Action::Receive => OperationAction::Receive,
            },
            channel: Reference::new(format!("#/channels/{}", plan.id)),
            title: None,
            summary: desc.summary.clone(),
            description: desc.description.clone(),
            security: Vec::new(),
            tags: Vec::new(),
            external_docs: None,
            bindings: None,
            traits: Vec::new(),
            messages: vec![Reference::new(format!(
                "#/channels/{}/messages/{}",
                plan.id, desc.message
            ))],
            reply: None,
            extensions: Default::default(),
        };
        let group = desc.group.as_ref().filter(|_| desc.action == Action::Receive);
        if let Some(group) = group {
            operation
                .extensions
                .insert(GROUP_EXTENSION.to_owned(), Value::String(group.clone()));
            if plan.protocol == Some("nats") && group.chars().count() > NATS_QUEUE_MAX {
                problems.push(Problem::InvalidGroup {
                    operation: (*id).to_owned(),
                    source_location: desc.source.clone(),
                    group: group.clone(),
                    reason: format!("NATS queue groups are at most {NATS_QUEUE_MAX} characters"),
                });
            }
        }
        operation.bindings = plan
            .protocol
            .and_then(|protocol| {
                operation_binding(protocol, group.map(String::as_str), plan.kafka_client_id.as_deref())
            })
            .map(RefOr::item);
        if let Some(reply) = &desc.reply {
            if let Some(reply_plan) = channels.get(&reply.channel) {
                operation.reply = Some(RefOr::item(OperationReply {
                    address: None,
                    channel: Some(Reference::new(format!("#/channels/{}", reply_plan.id))),
                    messages: vec![Reference::new(format!(
                        "#/channels/{}/messages/{}",
                        reply_plan.id, reply.message
                    ))],
                    extensions: Default::default(),
                }));
            }
        }
        built.insert((*id).to_owned(), RefOr::item(operation));
    }
    built
}

/// Checks that `key` is non-empty and only holds the characters `allowed` describes
/// (ASCII letters, digits, `.`, `-`, `_`), so it can be a map key and a `$ref` target as is.
fn check_key(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("empty".to_owned());
    }
    if component_name(key) != key {
        return Err("only ASCII letters, digits, `.`, `-` and `_` are allowed".to_owned());
    }
    Ok(())
}

/// The `x-tidings-bridge` value of a channel: one `{to, convert?, description?}` per
/// bridge, sorted; `None` without bridges. A target that is not `protocol:address` is a
/// problem.
fn bridge_extension(address: &str, bridges: &[BridgeDescription], problems: &mut Vec<Problem>) -> Option<Value> {
    let mut entries = Vec::new();
    for bridge in bridges {
        let valid = bridge.to.split_once(':').is_some_and(|(p, a)| {
            !p.is_empty() && !a.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-'))
        });
        if !valid {
            problems.push(Problem::InvalidBridge {
                channel: address.to_owned(),
                to: bridge.to.clone(),
            });
            continue;
        }
        let mut entry = serde_json::Map::new();
        entry.insert("to".into(), Value::String(bridge.to.clone()));
        if let Some(convert) = &bridge.convert {
            entry.insert("convert".into(), Value::String(convert.clone()));
        }
        if let Some(description) = &bridge.description {
            entry.insert("description".into(), Value::String(description.clone()));
        }
        entries.push(Value::Object(entry));
    }
    // By target first, so the order reads as a list of destinations.
    // `to`, a NUL, then the rest: orders as the pair would (a target holds no NUL).
    sort_by_text(&mut entries, |e| format!("{}\0{e}", e["to"].as_str().unwrap_or_default()));
    entries.dedup();
    (!entries.is_empty()).then_some(Value::Array(entries))
}

/// Sorts equal-keyed entries by their full contents, so which one is kept (and which
/// problems follow from it) never depends on the input order.
fn sort_by_contents<T: std::fmt::Debug>(items: &mut [&T]) {
    sort_by_text(items, |item| format!("{item:?}"));
}

/// Sorts `items` stably by a text key computed once per item.
///
/// It sorts indices, so the one instance of the standard sort serves every item type:
/// a sort per type is several kilobytes of code, and a service binary's code is resident
/// in whole (`--asyncapi`'s peak RSS).
fn sort_by_text<T: Clone>(items: &mut [T], key: impl Fn(&T) -> String) {
    // Mostly one item (one description per message name): no key to compute.
    if items.len() < 2 {
        return;
    }
    let keys: Vec<String> = items.iter().map(key).collect();
    let sorted: Vec<T> = sorted_order(&keys).into_iter().map(|i| items[i].clone()).collect();
    items.clone_from_slice(&sorted);
}

#[inline(never)]
fn sorted_order(keys: &[String]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..keys.len()).collect();
    order.sort_by(|&a, &b| keys[a].cmp(&keys[b]));
    order
}

/// A map built by inserting. `collect()` into a `BTreeMap` sorts a buffer first, and
/// every key and value type brings its own copy of that sort (code size, as above), for
/// maps of a few entries.
fn map_of<K: Ord, V>(entries: impl IntoIterator<Item = (K, V)>) -> BTreeMap<K, V> {
    let mut map = BTreeMap::new();
    for (key, value) in entries {
        map.insert(key, value);
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        let (id, params) = parse_address("orders.{region}.created").unwrap();
        assert_eq!(id, "orders.region.created");
        assert_eq!(params.into_keys().collect::<Vec<_>>(), ["region"]);
        assert_eq!(parse_address("a/b c~d").unwrap().0, "a_b_c_d");
        assert_eq!(parse_address("orders.>").unwrap().0, "orders._");
        assert_eq!(
            parse_address("{tenant}/{tenant}.x").unwrap(),
            ("tenant_tenant.x".to_owned(), Map::from([("tenant".to_owned(), ())]))
        );
        for bad in ["", "a.{", "a.}", "a.{}", "{a{b}}", "{a.b}"] {
            assert!(parse_address(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn summaries() {
        assert_eq!(summary_and_description(None), (None, None));
        assert_eq!(summary_and_description(Some("  ")), (None, None));
        assert_eq!(
            summary_and_description(Some("One line.")),
            (Some("One line.".to_owned()), None)
        );
        assert_eq!(
            summary_and_description(Some("Title.\n\nMore words.\n")),
            (
                Some("Title.".to_owned()),
                Some("Title.\n\nMore words.".to_owned())
            )
        );
    }
}
