//! Declared message keys (the kafka message binding `key`) and declared channel
//! options (filled into the kafka and sqs channel bindings).

mod fixtures;

use std::collections::BTreeMap;

use fixtures::{message, operation};
use serde_json::{json, Value};
use tidings_asyncapi::{
    emit, Action, ChannelDescription, KeyDescription, MessageKind, OperationDescription, Problem, ServerDescription,
    ServiceDescription, SpecError,
};

fn emitted(desc: &ServiceDescription) -> Value {
    match emit(desc) {
        Ok(doc) => serde_json::to_value(&doc).expect("serializes"),
        Err(error) => panic!("{error}"),
    }
}

/// A service sending `Order` on `orders` (keyed by `key`) from a server at `url`.
fn service(url: &str, key: Option<KeyDescription>) -> ServiceDescription {
    ServiceDescription {
        title: "keys".into(),
        version: "1.0.0".into(),
        servers: vec![ServerDescription { name: "main".into(), url: url.into() }],
        messages: vec![message(
            "Order",
            "keys::Order",
            MessageKind::Event,
            "An order.",
            json!({
                "type": "object",
                "properties": {
                    "order_id": {"type": "string", "description": "The id."},
                    "line": {"$ref": "#/definitions/Line"},
                },
                "definitions": {"Line": {"type": "object", "properties": {"sku": {"type": "string"}}}},
            }),
        )],
        operations: vec![OperationDescription { key, ..operation("send_order", Action::Send, "orders", "Order") }],
        ..Default::default()
    }
}

#[test]
fn a_key_field_gives_the_kafka_message_binding_its_schema() {
    let doc = emitted(&service("kafka://k:9092", Some(KeyDescription::Field("order_id".into()))));
    assert_eq!(
        doc["components"]["messages"]["Order"]["bindings"]["kafka"],
        json!({"key": {"type": "string", "description": "The id."}, "bindingVersion": "0.5.0"})
    );
    // A field whose schema is a reference keeps the rewritten reference.
    let doc = emitted(&service("kafka://k:9092", Some(KeyDescription::Field("line".into()))));
    assert_eq!(doc["components"]["messages"]["Order"]["bindings"]["kafka"]["key"], json!({"$ref": "#/components/schemas/Line"}));
}

#[test]
fn a_key_function_or_an_unlisted_field_is_a_string() {
    for key in [KeyDescription::Extractor("keys::order_key".into()), KeyDescription::Field("renamed".into())] {
        let doc = emitted(&service("kafka://k:9092", Some(key.clone())));
        assert_eq!(doc["components"]["messages"]["Order"]["bindings"]["kafka"]["key"], json!({"type": "string"}), "{key:?}");
    }
}

#[test]
fn no_key_binding_off_kafka_or_without_a_key() {
    let doc = emitted(&service("sqs://us-east-1", Some(KeyDescription::Field("order_id".into()))));
    assert!(doc["components"]["messages"]["Order"].get("bindings").is_none(), "{doc}");
    let doc = emitted(&service("kafka://k:9092", None));
    assert!(doc["components"]["messages"]["Order"].get("bindings").is_none(), "{doc}");
}

#[test]
fn two_different_keys_for_one_message_are_a_problem_naming_both() {
    let mut desc = service("kafka://k:9092", Some(KeyDescription::Field("order_id".into())));
    desc.operations.push(OperationDescription {
        key: Some(KeyDescription::Extractor("keys::other".into())),
        ..operation("resend_order", Action::Send, "orders.again", "Order")
    });
    let problems = match emit(&desc) {
        Ok(doc) => panic!("expected a problem:\n{}", doc.to_yaml()),
        Err(SpecError { problems }) => problems,
    };
    assert!(
        problems.iter().any(|p| matches!(p, Problem::ConflictingMessageKey { message, .. } if message == "Order")),
        "{problems:?}"
    );
    let text = problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n");
    assert!(text.contains("send_order") && text.contains("resend_order") && text.contains("keys::other"), "{text}");
    // The same key twice is fine.
    desc.operations[1].key = Some(KeyDescription::Field("order_id".into()));
    emitted(&desc);
}

fn with_options(url: &str, protocol: &str, fields: Value) -> ServiceDescription {
    let mut desc = service(url, None);
    desc.channels.push(ChannelDescription {
        address: "orders".into(),
        bindings: BTreeMap::from([(protocol.to_owned(), fields)]),
        ..Default::default()
    });
    desc
}

#[test]
fn declared_kafka_options_fill_the_channel_binding_and_the_topic_stays() {
    let desc = with_options("kafka://k:9092?topic_prefix=p.", "kafka", json!({"partitions": 6, "replicas": 3, "topic": "ignored"}));
    let doc = emitted(&desc);
    assert_eq!(
        doc["channels"]["orders"]["bindings"]["kafka"],
        json!({"topic": "p.orders", "partitions": 6, "replicas": 3, "bindingVersion": "0.5.0"})
    );
}

#[test]
fn declared_sqs_options_fill_the_queue_and_the_name_stays() {
    let fields = json!({
        "queue": {"visibilityTimeout": 60, "receiveMessageWaitTime": 20, "name": "ignored",
                  "redrivePolicy": {"deadLetterQueue": {"name": "orders-dlq"}, "maxReceiveCount": 5}},
        "deadLetterQueue": {"name": "orders-dlq", "fifoQueue": false},
    });
    let doc = emitted(&with_options("sqs://us-east-1?queue_prefix=p-", "sqs", fields));
    assert_eq!(
        doc["channels"]["orders"]["bindings"]["sqs"],
        json!({
            "queue": {"name": "p-orders", "fifoQueue": false, "visibilityTimeout": 60, "receiveMessageWaitTime": 20,
                      "redrivePolicy": {"deadLetterQueue": {"name": "orders-dlq"}, "maxReceiveCount": 5}},
            "deadLetterQueue": {"name": "orders-dlq", "fifoQueue": false},
            "bindingVersion": "0.2.0",
        })
    );
}

#[test]
fn options_of_another_protocol_are_not_written() {
    let doc = emitted(&with_options("kafka://k:9092", "sqs", json!({"queue": {"visibilityTimeout": 60}})));
    assert_eq!(doc["channels"]["orders"]["bindings"], json!({"kafka": {"topic": "orders", "bindingVersion": "0.5.0"}}));
}
