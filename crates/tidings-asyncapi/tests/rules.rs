//! The emitter's rules: errors, byte stability, credentials, schema hoisting.

mod fixtures;

use std::collections::BTreeMap;

use fixtures::{message, operation, SECRET, SECRET_USER};
use serde_json::{json, Value};
use tidings_asyncapi::{
    emit, Action, ChannelDescription, MessageKind, OperationDescription, Problem, ReplyDescription, ServerDescription,
    ServiceDescription, SpecError,
};

fn problems(desc: &ServiceDescription) -> Vec<Problem> {
    match emit(desc) {
        Ok(doc) => panic!("expected problems, got a document:\n{}", doc.to_yaml()),
        Err(SpecError { problems }) => problems,
    }
}

fn emitted(desc: &ServiceDescription) -> Value {
    match emit(desc) {
        Ok(doc) => serde_json::to_value(&doc).expect("serializes"),
        Err(error) => panic!("{error}"),
    }
}

/// A one-message service to vary.
fn small() -> ServiceDescription {
    ServiceDescription {
        title: "small".into(),
        version: "1.0.0".into(),
        messages: vec![message(
            "Ping",
            "small::Ping",
            MessageKind::Event,
            "A ping.",
            json!({"type": "object", "properties": {"n": {"type": "integer"}}}),
        )],
        operations: vec![OperationDescription {
            source: "small::pong".into(),
            ..operation("pong", Action::Receive, "pings", "Ping")
        }],
        ..Default::default()
    }
}

fn server(name: &str, url: &str) -> ServerDescription {
    ServerDescription {
        name: name.into(),
        url: url.into(),
    }
}

// ---------------------------------------------------------------------------------
// Byte stability

/// Deterministic permutations of a vector: reversed and every rotation.
fn shuffles<T: Clone>(items: &[T]) -> Vec<Vec<T>> {
    let mut out = vec![items.iter().rev().cloned().collect::<Vec<_>>()];
    for k in 1..items.len() {
        let mut rotated = items.to_vec();
        rotated.rotate_left(k);
        out.push(rotated);
    }
    out
}

#[test]
fn output_does_not_depend_on_input_order() {
    let base = fixtures::order_service();
    let expected_yaml = emit(&base).expect("valid").to_yaml();
    let expected_json = emit(&base).expect("valid").to_json();
    let mut variants = Vec::new();
    for servers in shuffles(&base.servers) {
        variants.push(ServiceDescription { servers, ..base.clone() });
    }
    for channels in shuffles(&base.channels) {
        variants.push(ServiceDescription { channels, ..base.clone() });
    }
    for messages in shuffles(&base.messages) {
        variants.push(ServiceDescription { messages, ..base.clone() });
    }
    for operations in shuffles(&base.operations) {
        variants.push(ServiceDescription { operations, ..base.clone() });
    }
    // Everything reversed at once, plus duplicated identical entries (deduplicated).
    let mut all = base.clone();
    all.servers.reverse();
    all.channels.reverse();
    all.messages.reverse();
    all.operations.reverse();
    all.messages.extend(base.messages.clone());
    all.channels.extend(base.channels.clone());
    all.servers.extend(base.servers.clone());
    variants.push(all);
    assert!(variants.len() > 10);
    for variant in variants {
        let doc = emit(&variant).expect("valid");
        assert_eq!(doc.to_yaml(), expected_yaml);
        assert_eq!(doc.to_json(), expected_json);
    }
}

#[test]
fn error_lists_do_not_depend_on_input_order() {
    let mut desc = fixtures::order_service();
    desc.operations.push(operation("accept", Action::Send, "x", "Missing"));
    desc.operations.push(operation("other", Action::Send, "y", "AlsoMissing"));
    desc.servers.push(server("bad", "kafka://u:p@:9092"));
    let expected = problems(&desc);
    // The kept `accept` is the one sorted first by source, so `Missing` is not reported.
    assert_eq!(expected.len(), 3, "{expected:?}");
    for operations in shuffles(&desc.operations) {
        let variant = ServiceDescription { operations, ..desc.clone() };
        assert_eq!(problems(&variant), expected);
    }
}

// ---------------------------------------------------------------------------------
// Credentials

#[test]
fn credentials_never_reach_the_document() {
    let doc = emit(&fixtures::order_service()).expect("valid");
    for text in [doc.to_yaml(), doc.to_json()] {
        assert!(!text.contains(SECRET), "password leaked:\n{text}");
        assert!(!text.contains(SECRET_USER), "user leaked:\n{text}");
        assert!(!text.contains("sasl"), "query leaked:\n{text}");
        assert!(!text.contains('@'), "userinfo leaked:\n{text}");
    }
    let json = emitted(&fixtures::order_service());
    assert_eq!(
        json["servers"],
        json!({"production": {"host": "broker-1.internal:9092,broker-2.internal:9092", "protocol": "kafka"}})
    );
}

#[test]
fn credentials_never_reach_error_messages() {
    let mut desc = small();
    desc.servers = vec![
        server("a", &format!("kafka://{SECRET_USER}:{SECRET}@")),
        server("b", &format!("smtp://{SECRET_USER}:{SECRET}@mail:25?token={SECRET}")),
        server("c", &format!("amqp://{SECRET_USER}:{SECRET}@h1,h2/vhost")),
        server("d", &format!("nats://{SECRET_USER}:{SECRET}#@nats:4222")),
        server("e", &format!("kafka://{SECRET}")),
    ];
    let error = emit(&desc).expect_err("invalid URLs");
    let text = format!("{error}\n{error:?}");
    assert!(!text.contains(SECRET), "{text}");
    assert!(!text.contains(SECRET_USER), "{text}");
    assert!(text.contains("server `b`: unsupported URL scheme `smtp` in `smtp://***@mail:25?token=***`"), "{text}");
    assert!(text.contains("server `a`: invalid URL `kafka://***@`: no host"), "{text}");
    // `e` has a (strange) host, not a credential: it is accepted, so 4 problems.
    assert_eq!(error.problems.len(), 4, "{text}");
}

#[test]
fn memory_servers_are_left_out() {
    let mut desc = small();
    desc.servers = vec![server("local", "memory://")];
    desc.channels = vec![ChannelDescription {
        address: "pings".into(),
        server: Some("local".into()),
        ..Default::default()
    }];
    let doc = emitted(&desc);
    assert!(doc.get("servers").is_none());
    assert!(doc["channels"]["pings"].get("servers").is_none());
    assert!(doc["channels"]["pings"].get("bindings").is_none());
    assert_eq!(doc["channels"]["pings"]["x-tidings-server"], json!("local"));
}

// ---------------------------------------------------------------------------------
// One test per problem

#[test]
fn message_name_claimed_by_two_rust_types() {
    let mut desc = small();
    let mut other = desc.messages[0].clone();
    other.rust_type = "other_crate::Ping".into();
    desc.messages.push(other);
    assert_eq!(
        problems(&desc),
        [Problem::MessageNameConflict {
            message: "Ping".into(),
            first_type: "other_crate::Ping".into(),
            second_type: "small::Ping".into(),
        }]
    );
    let text = emit(&desc).expect_err("conflict").to_string();
    assert!(text.contains("`other_crate::Ping`") && text.contains("`small::Ping`"), "{text}");
}

#[test]
fn same_message_twice_is_deduplicated_but_must_agree() {
    let mut desc = small();
    desc.messages.push(desc.messages[0].clone());
    assert_eq!(emitted(&desc), emitted(&small()));
    desc.messages[1].description = Some("Another text.".into());
    assert_eq!(
        problems(&desc),
        [Problem::ConflictingMessage {
            message: "Ping".into(),
            rust_type: "small::Ping".into()
        }]
    );
}

#[test]
fn unknown_message_and_reply_message() {
    let mut desc = small();
    let mut op = operation("ask", Action::Receive, "questions", "Question");
    op.reply = Some(ReplyDescription {
        channel: "answers".into(),
        message: "Answer".into(),
    });
    op.source = "small::ask".into();
    desc.operations.push(op);
    assert_eq!(
        problems(&desc),
        [
            Problem::UnknownMessage {
                operation: "ask".into(),
                source_location: "small::ask".into(),
                message: "Question".into(),
            },
            Problem::UnknownReplyMessage {
                operation: "ask".into(),
                source_location: "small::ask".into(),
                message: "Answer".into(),
            },
        ]
    );
}

#[test]
fn duplicate_operation_names_both_sources() {
    let mut desc = small();
    let mut twin = operation("pong", Action::Send, "pings", "Ping");
    twin.source = "a_first::pong".into();
    desc.operations.push(twin);
    assert_eq!(
        problems(&desc),
        [Problem::DuplicateOperation {
            operation: "pong".into(),
            first_source: "a_first::pong".into(),
            second_source: "small::pong".into(),
        }]
    );
    let text = emit(&desc).expect_err("duplicate").to_string();
    assert!(text.contains("a_first::pong") && text.contains("small::pong"), "{text}");
}

#[test]
fn invalid_operation_id() {
    let mut desc = small();
    desc.operations[0].id = String::new();
    assert!(matches!(
        problems(&desc).as_slice(),
        [Problem::InvalidOperationId { reason, .. }] if reason == "empty"
    ));
}

#[test]
fn channel_id_collision() {
    let mut desc = small();
    desc.operations.push(operation("a", Action::Send, "orders.{region}.created", "Ping"));
    desc.operations.push(operation("b", Action::Send, "orders.region.created", "Ping"));
    assert_eq!(
        problems(&desc),
        [Problem::ChannelIdCollision {
            id: "orders.region.created".into(),
            first: "orders.region.created".into(),
            second: "orders.{region}.created".into(),
        }]
    );
}

#[test]
fn invalid_addresses() {
    let mut desc = small();
    desc.operations.push(operation("a", Action::Send, "orders.{region.created", "Ping"));
    desc.operations.push(operation("b", Action::Send, "", "Ping"));
    desc.operations.push(operation("c", Action::Send, "x.{}", "Ping"));
    let found = problems(&desc);
    let addresses: Vec<&str> = found
        .iter()
        .map(|p| match p {
            Problem::InvalidAddress { address, .. } => address.as_str(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(addresses, ["", "orders.{region.created", "x.{}"]);
}

#[test]
fn unknown_server_and_unknown_parameter() {
    let mut desc = small();
    desc.channels.push(ChannelDescription {
        address: "pings".into(),
        server: Some("nowhere".into()),
        parameters: BTreeMap::from([("region".into(), "Region.".into())]),
        ..Default::default()
    });
    assert_eq!(
        problems(&desc),
        [
            Problem::UnknownServer {
                channel: "pings".into(),
                server: "nowhere".into()
            },
            Problem::UnknownParameter {
                address: "pings".into(),
                parameter: "region".into()
            },
        ]
    );
}

#[test]
fn conflicting_channel_descriptions() {
    let mut desc = small();
    let first = ChannelDescription {
        address: "pings".into(),
        description: Some("One.".into()),
        ..Default::default()
    };
    let second = ChannelDescription {
        description: Some("Two.".into()),
        ..first.clone()
    };
    desc.channels = vec![first.clone(), first];
    assert!(emit(&desc).is_ok(), "identical descriptions are one");
    desc.channels.push(second);
    assert_eq!(problems(&desc), [Problem::ConflictingChannel { address: "pings".into() }]);
}

#[test]
fn server_problems() {
    let mut desc = small();
    desc.servers = vec![
        server("dup", "kafka://a:9092"),
        server("dup", "kafka://b:9092"),
        server("bad name", "kafka://c:9092"),
        server("pigeon", "pigeon://coop"),
        server("broken", "kafka://host:port"),
    ];
    assert_eq!(
        problems(&desc),
        [
            Problem::InvalidServerUrl {
                server: "broken".into(),
                url: "kafka://host:port".into(),
                reason: "malformed host or port".into(),
            },
            Problem::UnsupportedScheme {
                server: "pigeon".into(),
                scheme: "pigeon".into(),
                url: "pigeon://coop".into(),
            },
            Problem::InvalidServerName {
                server: "bad name".into(),
                reason: "only ASCII letters, digits, `.`, `-` and `_` are allowed".into(),
            },
            Problem::DuplicateServer { server: "dup".into() },
        ]
    );
}

#[test]
fn invalid_message_name() {
    let mut desc = small();
    desc.messages[0].name = "Order Created".into();
    desc.operations[0].message = "Order Created".into();
    assert!(matches!(
        problems(&desc).as_slice(),
        [Problem::InvalidMessageName { message, rust_type, .. }]
            if message == "Order Created" && rust_type == "small::Ping"
    ));
}

#[test]
fn invalid_groups() {
    let mut desc = small();
    let mut producer = operation("send", Action::Send, "pings", "Ping");
    producer.group = Some("g".into());
    desc.operations.push(producer);
    let mut empty = operation("empty", Action::Receive, "pings", "Ping");
    empty.group = Some(String::new());
    desc.operations.push(empty);
    let reasons: Vec<(String, String)> = problems(&desc)
        .into_iter()
        .map(|p| match p {
            Problem::InvalidGroup { operation, reason, .. } => (operation, reason),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        reasons,
        [
            ("empty".to_owned(), "empty".to_owned()),
            ("send".to_owned(), "a producer has no consumer group".to_owned()),
        ]
    );

    // NATS queue groups are limited to 255 characters; kafka group ids are not.
    let mut desc = small();
    desc.operations[0].group = Some("g".repeat(256));
    desc.servers = vec![server("kafka", "kafka://k:9092")];
    assert!(emit(&desc).is_ok());
    desc.servers = vec![server("nats", "nats://n:4222")];
    assert!(matches!(problems(&desc).as_slice(), [Problem::InvalidGroup { .. }]));
    desc.operations[0].group = Some("g".repeat(255));
    let doc = emitted(&desc);
    assert_eq!(doc["operations"]["pong"]["bindings"]["nats"]["queue"], json!("g".repeat(255)));
}

#[test]
fn schema_conflict_between_messages() {
    let mut desc = small();
    let with_item = |name: &str, item: Value| {
        message(
            name,
            &format!("small::{name}"),
            MessageKind::Event,
            "Has an item.",
            json!({
                "type": "object",
                "properties": {"item": {"$ref": "#/definitions/Item"}},
                "definitions": {"Item": item},
            }),
        )
    };
    desc.messages.push(with_item("A", json!({"type": "string"})));
    desc.messages.push(with_item("B", json!({"type": "string"})));
    let doc = emitted(&desc);
    assert_eq!(doc["components"]["schemas"], json!({"Item": {"type": "string"}}), "shared");
    desc.messages.push(with_item("C", json!({"type": "integer"})));
    assert_eq!(
        problems(&desc),
        [Problem::SchemaConflict {
            schema: "Item".into(),
            first_message: "A".into(),
            second_message: "C".into(),
        }]
    );
}

#[test]
fn invalid_schemas() {
    let mut desc = small();
    desc.messages[0].payload = json!([1, 2]);
    desc.messages[0].headers = Some(json!({"$ref": "#/definitions/Gone"}));
    assert_eq!(
        problems(&desc),
        [
            Problem::InvalidSchema {
                message: "Ping".into(),
                part: "headers".into(),
                reason: "`$ref: #/definitions/Gone` points to no definition".into(),
            },
            Problem::InvalidSchema {
                message: "Ping".into(),
                part: "payload".into(),
                reason: "not a JSON Schema (object or boolean)".into(),
            },
        ]
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let mut desc = small();
    desc.servers = vec![server("x", "pigeon://coop")];
    desc.operations.push(operation("pong", Action::Send, "{", "Nope"));
    desc.operations.push(operation("other", Action::Send, "pings", "Nope"));
    let found = problems(&desc);
    assert!(found.len() >= 3, "{found:?}");
    assert!(found.iter().any(|p| matches!(p, Problem::UnsupportedScheme { .. })));
    assert!(found.iter().any(|p| matches!(p, Problem::DuplicateOperation { .. })));
    assert!(found.iter().any(|p| matches!(p, Problem::UnknownMessage { .. })));
}

// ---------------------------------------------------------------------------------
// Schemas

/// Every key of every object in `value`, at any depth.
fn all_keys(value: &Value, into: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                into.push(key.clone());
                all_keys(value, into);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| all_keys(item, into)),
        _ => {}
    }
}

/// Every `$ref` value in `value`.
fn all_refs(value: &Value, into: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("$ref", Value::String(reference)) => into.push(reference.clone()),
                    _ => all_refs(value, into),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| all_refs(item, into)),
        _ => {}
    }
}

#[test]
fn refs_are_rewritten_at_every_depth() {
    let mut desc = small();
    desc.messages[0].payload = json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "Deep",
        "type": "object",
        "properties": {
            "list": {"type": "array", "items": {"$ref": "#/definitions/A"}},
            "tuple": {"type": "array", "items": [{"$ref": "#/definitions/A"}, {"type": "string"}]},
            "choice": {"anyOf": [{"$ref": "#/definitions/B"}, {"type": "null"}]},
            "one": {"oneOf": [{"$ref": "#/definitions/A"}]},
            "all": {"allOf": [{"$ref": "#/definitions/B"}]},
            "map": {"type": "object", "additionalProperties": {"$ref": "#/definitions/B"}},
            "patterned": {"patternProperties": {"^x": {"$ref": "#/definitions/A"}}},
            "negated": {"not": {"$ref": "#/definitions/A"}},
            "nested": {"type": "object", "properties": {"deeper": {"type": "array", "items": {"type": "object", "additionalProperties": {"anyOf": [{"$ref": "#/definitions/B"}]}}}}}
        },
        "definitions": {
            "A": {"type": "object", "properties": {"b": {"$ref": "#/definitions/B"}}},
            "B": {"type": "object", "properties": {"self": {"anyOf": [{"$ref": "#/definitions/B"}, {"type": "null"}]}}}
        }
    });
    let doc = emitted(&desc);
    let mut keys = Vec::new();
    all_keys(&doc, &mut keys);
    for forbidden in ["$schema", "definitions", "$defs"] {
        assert!(!keys.iter().any(|k| k == forbidden), "{forbidden} left in the document");
    }
    let mut refs = Vec::new();
    all_refs(&doc["components"], &mut refs);
    let schema_refs: Vec<&String> = refs.iter().filter(|r| !r.starts_with("#/components/messages/")).collect();
    // 9 in the payload, one in `A`, one in `B`.
    assert_eq!(schema_refs.len(), 11, "{schema_refs:?}");
    for reference in schema_refs {
        assert!(
            reference == "#/components/schemas/A" || reference == "#/components/schemas/B",
            "{reference}"
        );
    }
    let payload = &doc["components"]["messages"]["Ping"]["payload"];
    assert_eq!(
        payload["properties"]["nested"]["properties"]["deeper"]["items"]["additionalProperties"],
        json!({"anyOf": [{"$ref": "#/components/schemas/B"}]})
    );
    assert_eq!(payload["title"], json!("Deep"));
    assert_eq!(
        doc["components"]["schemas"]["B"]["properties"]["self"]["anyOf"][0],
        json!({"$ref": "#/components/schemas/B"})
    );
}

#[test]
fn recursive_root_payload_is_hoisted() {
    let mut desc = small();
    desc.messages[0].payload = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Tree",
        "type": "object",
        "properties": {"children": {"type": "array", "items": {"$ref": "#"}}}
    });
    let doc = emitted(&desc);
    assert_eq!(
        doc["components"]["messages"]["Ping"]["payload"],
        json!({"$ref": "#/components/schemas/Tree"})
    );
    assert_eq!(
        doc["components"]["schemas"]["Tree"]["properties"]["children"]["items"],
        json!({"$ref": "#/components/schemas/Tree"})
    );
}

#[test]
fn unit_message_has_no_payload() {
    let mut desc = small();
    desc.messages[0].payload = Value::Null;
    let doc = emitted(&desc);
    assert!(doc["components"]["messages"]["Ping"].get("payload").is_none());
}

// ---------------------------------------------------------------------------------
// Messages, channels, servers

#[test]
fn message_fields() {
    let mut desc = small();
    desc.messages[0].title = Some("Ping!".into());
    desc.messages[0].kind = MessageKind::Query;
    desc.messages[0].version = None;
    desc.messages[0].content_type = "application/x-protobuf".into();
    desc.messages[0].headers = Some(json!({"type": "object", "properties": {"trace": {"type": "string"}}}));
    let doc = emitted(&desc);
    assert_eq!(
        doc["components"]["messages"]["Ping"],
        json!({
            "headers": {"type": "object", "properties": {"trace": {"type": "string"}}},
            "payload": {"type": "object", "properties": {"n": {"type": "integer"}}},
            "contentType": "application/x-protobuf",
            "name": "Ping",
            "title": "Ping!",
            "summary": "A ping.",
            "x-eventcatalog-message-type": "query",
        })
    );
    assert_eq!(doc["channels"]["pings"]["messages"], json!({"Ping": {"$ref": "#/components/messages/Ping"}}));
    assert_eq!(
        doc["operations"]["pong"],
        json!({
            "action": "receive",
            "channel": {"$ref": "#/channels/pings"},
            "messages": [{"$ref": "#/channels/pings/messages/Ping"}],
        })
    );
}

#[test]
fn reply_channel_exists_with_its_message() {
    let mut desc = small();
    desc.messages.push(message("Pong", "small::Pong", MessageKind::Event, "A pong.", json!(true)));
    desc.operations[0].reply = Some(ReplyDescription {
        channel: "pongs/{node}".into(),
        message: "Pong".into(),
    });
    let doc = emitted(&desc);
    assert_eq!(
        doc["channels"]["pongs_node"],
        json!({
            "address": "pongs/{node}",
            "messages": {"Pong": {"$ref": "#/components/messages/Pong"}},
            "parameters": {"node": {}},
        })
    );
    assert_eq!(
        doc["operations"]["pong"]["reply"],
        json!({
            "channel": {"$ref": "#/channels/pongs_node"},
            "messages": [{"$ref": "#/channels/pongs_node/messages/Pong"}],
        })
    );
}

#[test]
fn bindings_follow_the_only_protocol() {
    let mut desc = small();
    desc.operations[0].group = Some("workers".into());
    // Two kafka servers are still one protocol; memory servers do not count.
    desc.servers = vec![
        server("a", "kafka://a:9092"),
        server("b", "kafka+ssl://b:9093"),
        server("mem", "memory://"),
    ];
    let doc = emitted(&desc);
    assert_eq!(doc["channels"]["pings"]["bindings"], json!({"kafka": {"topic": "pings", "bindingVersion": "0.5.0"}}));
    assert_eq!(doc["operations"]["pong"]["bindings"]["kafka"]["groupId"]["enum"], json!(["workers"]));

    desc.servers = vec![server("q", "amqp://guest:guest@rabbit/vh")];
    let doc = emitted(&desc);
    assert_eq!(
        doc["channels"]["pings"]["bindings"],
        json!({"amqp": {"is": "queue", "queue": {"name": "pings"}, "bindingVersion": "0.3.0"}})
    );
    assert!(doc["operations"]["pong"].get("bindings").is_none());
    assert_eq!(doc["operations"]["pong"]["x-tidings-group"], json!("workers"));
    assert_eq!(
        doc["servers"]["q"],
        json!({"host": "rabbit", "protocol": "amqp", "protocolVersion": "0.9.1", "pathname": "/vh"})
    );

    desc.servers = vec![server("k", "kafka://k:9092"), server("n", "nats://n:4222")];
    let doc = emitted(&desc);
    assert!(doc["channels"]["pings"].get("bindings").is_none());
    assert!(doc["operations"]["pong"].get("bindings").is_none());
    assert_eq!(doc["operations"]["pong"]["x-tidings-group"], json!("workers"));
}

#[test]
fn kafka_servers_show_version_client_id_topic_prefix_and_dead_letters() {
    let mut desc = small();
    desc.operations[0].group = Some("workers".into());
    desc.operations.push(operation("ping", Action::Send, "pings", "Ping"));
    desc.servers = vec![server(
        "k",
        "kafka://k:9092?client_id=pinger&topic_prefix=staging.&protocol_version=3.7&session_timeout_ms=6000",
    )];
    let doc = emitted(&desc);
    assert_eq!(doc["servers"]["k"], json!({"host": "k:9092", "protocol": "kafka", "protocolVersion": "3.7"}));
    assert_eq!(
        doc["channels"]["pings"]["bindings"],
        json!({"kafka": {"topic": "staging.pings", "bindingVersion": "0.5.0"}})
    );
    let client = json!({"type": "string", "enum": ["pinger"]});
    assert_eq!(
        doc["operations"]["pong"]["bindings"],
        json!({"kafka": {"groupId": {"type": "string", "enum": ["workers"]}, "clientId": client, "bindingVersion": "0.5.0"}})
    );
    assert_eq!(doc["operations"]["ping"]["bindings"], json!({"kafka": {"clientId": client, "bindingVersion": "0.5.0"}}));
    // The consumer's dead-letter topic: a channel with its send operation.
    let dlq = &doc["channels"]["pings.dlq"];
    assert_eq!(dlq["address"], json!("pings.dlq"));
    assert_eq!(dlq["bindings"], json!({"kafka": {"topic": "staging.pings.dlq", "bindingVersion": "0.5.0"}}));
    assert!(dlq["description"].as_str().unwrap().contains("x-tidings-dlq-reason"));
    assert_eq!(doc["operations"]["pong_dlq"]["action"], json!("send"));
    assert_eq!(doc["operations"]["pong_dlq"]["channel"], json!({"$ref": "#/channels/pings.dlq"}));
    assert!(doc["operations"].get("ping_dlq").is_none(), "producers reject nothing");
    fixtures::dump("protocol-kafka", &emit(&desc).expect("valid"));

    // Two Kafka servers with different prefixes and a channel on neither in particular:
    // its topic is unknown, so no channel binding (and no clientId).
    desc.servers.push(server("other", "kafka://o:9092"));
    let doc = emitted(&desc);
    assert!(doc["channels"]["pings"].get("bindings").is_none(), "{}", doc["channels"]["pings"]);
    assert!(doc["operations"]["pong"]["bindings"]["kafka"].get("clientId").is_none());
    assert!(doc["channels"].get("pings.dlq").is_some(), "still a Kafka consumer");

    // SASL: a security scheme per server, referenced by it; credentials never.
    desc.servers = vec![
        server("a", "kafka+sasl_ssl://a:9093"),
        server("b", "kafka://b:9092?sasl_mechanism=SCRAM-SHA-512"),
        server("c", "kafka://c:9092"),
    ];
    let doc = emitted(&desc);
    assert_eq!(doc["servers"]["a"]["security"], json!([{"$ref": "#/components/securitySchemes/a-sasl"}]));
    assert_eq!(doc["components"]["securitySchemes"]["a-sasl"]["type"], json!("plain"));
    assert_eq!(doc["components"]["securitySchemes"]["b-sasl"]["type"], json!("scramSha512"));
    assert!(doc["servers"]["c"].get("security").is_none());
    assert!(doc["components"]["securitySchemes"].get("c-sasl").is_none());
    fixtures::dump("protocol-kafka-sasl", &emit(&desc).expect("valid"));

    // Not on Kafka: no dead-letter channel.
    desc.servers = vec![server("n", "nats://n:4222")];
    let doc = emitted(&desc);
    assert!(doc["channels"].get("pings.dlq").is_none() && doc["operations"].get("pong_dlq").is_none());
}

#[test]
fn every_protocol_document_validates_in_the_dump() {
    // Documents for the official parser: one per protocol family.
    for (name, url) in [
        ("amqp", "amqps://u:p@rabbit:5671/orders"),
        ("mqtt", "mqtt://broker:1883"),
        ("nats", "nats://n1:4222,nats://n2:4222"),
        ("redis", "rediss://:pw@cache:6380/0"),
        ("sqs", "sqs://localhost:4566"),
        ("ws", "wss://gateway/events"),
    ] {
        let mut desc = small();
        desc.operations[0].group = Some("workers".into());
        desc.servers = vec![server(name, url)];
        let doc = emit(&desc).expect("valid");
        fixtures::dump(&format!("protocol-{name}"), &doc);
    }
    let mut desc = small();
    desc.messages[0].payload = json!({
        "title": "Tree",
        "type": "object",
        "properties": {"children": {"type": "array", "items": {"$ref": "#"}}, "pair": {"type": "array", "prefixItems": [{"type": "string"}], "items": false}}
    });
    fixtures::dump("recursive", &emit(&desc).expect("valid"));
    fixtures::dump("minimal", &emit(&ServiceDescription { title: "t".into(), version: "1".into(), ..Default::default() }).expect("valid"));
}
