//! Snapshots of realistic documents. `TIDINGS_ASYNCAPI_DUMP=DIR` also writes them to
//! DIR for the official parser (see `tests/asyncapi-parser/README.md`).

mod fixtures;

use std::collections::BTreeMap;

use fixtures::{message, operation, Kind};
use serde_json::json;
use tidings_asyncapi::{
    emit, Action, ChannelDescription, Document, MessageKind, ReplyDescription, ServerDescription,
    ServiceDescription,
};

#[test]
fn order_service_yaml() {
    let doc = emit(&fixtures::order_service()).expect("valid description");
    fixtures::dump("order-service", &doc);
    insta::assert_snapshot!(doc.to_yaml());
}

#[test]
fn order_service_json_is_the_same_document() {
    let doc = emit(&fixtures::order_service()).expect("valid description");
    let json = doc.to_json();
    assert!(json.ends_with("}\n"), "pretty JSON with a trailing newline");
    assert!(json.starts_with("{\n  \"asyncapi\": \"3.0.0\",\n  \"info\": {\n"));
    assert_eq!(Document::from_json(&json).expect("reads back"), doc);
    assert_eq!(Document::from_yaml(&doc.to_yaml()).expect("reads back"), doc);
}

/// schemars' default 2020-12 output gives the same document as its draft-07 output:
/// `$defs` are hoisted like `definitions`, `$ref` siblings are wrapped in `allOf`.
#[test]
fn draft_2020_12_input_gives_the_draft_07_document() {
    let from_07 = emit(&fixtures::order_service()).expect("valid description");
    let from_2020 =
        emit(&fixtures::order_service_with(fixtures::draft2020_of)).expect("valid description");
    fixtures::dump("order-service-2020-12", &from_2020);
    assert!(fixtures::draft2020_of(Kind::OrderCreated).get("$defs").is_some());
    assert_eq!(from_2020.to_yaml(), from_07.to_yaml());
}

/// Every protocol feature at once: kafka, nats and sqs servers, channels routed to
/// each, an sqs channel binding, a nats queue group, parameters and a reply.
pub fn multi_protocol() -> ServiceDescription {
    let schema = |kind| fixtures::draft07_of(kind);
    let mut accept = operation("accept", Action::Receive, "orders.created", "OrderCreated");
    accept.group = Some("fulfilment".into());
    accept.reply = Some(ReplyDescription {
        channel: "orders-accepted".into(),
        message: "OrderAccepted".into(),
    });
    let mut cancel = operation("cancel", Action::Receive, "orders.{region}.cancel", "CancelOrder");
    cancel.group = Some("cancellers".into());
    cancel.summary = Some("Cancels orders of one region.".into());
    let mut notify = operation("notify", Action::Send, "orders-accepted", "OrderAccepted");
    notify.description = Some("Sends accepted orders to the notification queue.".into());
    let mut rebuild = operation("rebuild", Action::Receive, "rebuild", "CancelOrder");
    rebuild.group = Some("rebuilders".into());
    ServiceDescription {
        title: "order-router".into(),
        version: "2.0.0".into(),
        description: None,
        servers: vec![
            ServerDescription {
                name: "events".into(),
                url: "kafka+ssl://user:pw@kafka-1:9093,kafka-2:9093".into(),
            },
            ServerDescription {
                name: "commands".into(),
                url: "nats://token@nats:4222".into(),
            },
            ServerDescription {
                name: "queues".into(),
                url: "sqs://sqs.eu-west-1.amazonaws.com/123456789012?access_key=AKIA&secret_key=x"
                    .into(),
            },
            ServerDescription {
                name: "test".into(),
                url: "memory://".into(),
            },
        ],
        channels: vec![
            ChannelDescription {
                address: "orders.created".into(),
                server: Some("events".into()),
                ..Default::default()
            },
            ChannelDescription {
                address: "orders.{region}.cancel".into(),
                server: Some("commands".into()),
                parameters: BTreeMap::from([("region".into(), "Sales region.".into())]),
                ..Default::default()
            },
            ChannelDescription {
                address: "orders-accepted".into(),
                description: Some("Queue the notifier drains.".into()),
                server: Some("queues".into()),
                ..Default::default()
            },
        ],
        messages: vec![
            message(
                "OrderCreated",
                "order_events::OrderCreated",
                MessageKind::Event,
                "Event published when a new order is created.",
                schema(Kind::OrderCreated),
            ),
            message(
                "OrderAccepted",
                "order_events::OrderAccepted",
                MessageKind::Event,
                "Event published when fulfilment accepted an order.",
                schema(Kind::OrderAccepted),
            ),
            message(
                "CancelOrder",
                "order_events::CancelOrder",
                MessageKind::Command,
                "Command to cancel an order in one region.",
                schema(Kind::CancelOrder),
            ),
        ],
        // `rebuild` has no server: with three protocols in play it gets no bindings.
        operations: vec![accept, cancel, notify, rebuild],
    }
}

#[test]
fn multi_protocol_yaml() {
    let doc = emit(&multi_protocol()).expect("valid description");
    fixtures::dump("multi-protocol", &doc);
    insta::assert_snapshot!(doc.to_yaml());
}

#[test]
fn multi_protocol_bindings() {
    let doc = emit(&multi_protocol()).expect("valid description");
    let doc = serde_json::to_value(&doc).expect("serializes");
    assert_eq!(
        doc["servers"],
        json!({
            "commands": {"host": "nats:4222", "protocol": "nats"},
            "events": {"host": "kafka-1:9093,kafka-2:9093", "protocol": "kafka-secure"},
            "queues": {"host": "sqs.eu-west-1.amazonaws.com", "protocol": "sqs", "pathname": "/123456789012"},
        })
    );
    let channels = &doc["channels"];
    assert_eq!(
        channels["orders-accepted"]["bindings"],
        json!({"sqs": {"queue": {"name": "orders-accepted", "fifoQueue": false}, "bindingVersion": "0.2.0"}})
    );
    assert_eq!(channels["orders-accepted"]["servers"], json!([{"$ref": "#/servers/queues"}]));
    assert_eq!(
        channels["orders.created"]["bindings"],
        json!({"kafka": {"topic": "orders.created", "bindingVersion": "0.5.0"}})
    );
    assert_eq!(channels["orders.region.cancel"]["parameters"], json!({"region": {"description": "Sales region."}}));
    assert!(channels["orders.region.cancel"].get("bindings").is_none());
    assert!(channels["rebuild"].get("bindings").is_none());
    assert!(channels["rebuild"].get("servers").is_none());

    let operations = &doc["operations"];
    assert_eq!(
        operations["cancel"]["bindings"],
        json!({"nats": {"queue": "cancellers", "bindingVersion": "0.1.0"}})
    );
    assert_eq!(
        operations["accept"]["bindings"],
        json!({"kafka": {
            "groupId": {"type": "string", "enum": ["fulfilment"]},
            "clientId": {"type": "string", "enum": ["tidings-events"]},
            "bindingVersion": "0.5.0",
        }})
    );
    // What `accept` rejects goes to the dead-letter topic of its Kafka channel.
    assert_eq!(
        channels["orders.created.dlq"]["bindings"],
        json!({"kafka": {"topic": "orders.created.dlq", "bindingVersion": "0.5.0"}})
    );
    assert_eq!(channels["orders.created.dlq"]["servers"], json!([{"$ref": "#/servers/events"}]));
    assert_eq!(operations["accept_dlq"]["action"], json!("send"));
    assert_eq!(
        operations["accept_dlq"]["messages"],
        json!([{"$ref": "#/channels/orders.created.dlq/messages/OrderCreated"}])
    );
    // Not on Kafka: no dead-letter channel.
    assert!(operations.get("cancel_dlq").is_none() && operations.get("rebuild_dlq").is_none());
    assert!(channels.get("orders.region.cancel.dlq").is_none());
    assert_eq!(
        operations["accept"]["reply"],
        json!({
            "channel": {"$ref": "#/channels/orders-accepted"},
            "messages": [{"$ref": "#/channels/orders-accepted/messages/OrderAccepted"}],
        })
    );
    assert!(operations["rebuild"].get("bindings").is_none());
    assert_eq!(operations["rebuild"]["x-tidings-group"], json!("rebuilders"));
}
