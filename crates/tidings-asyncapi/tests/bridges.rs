//! Bridges declared on a channel become its `x-tidings-bridge` extension.

mod fixtures;

use fixtures::{message, operation};
use serde_json::json;
use tidings_asyncapi::{
    emit, Action, BridgeDescription, ChannelDescription, Document, MessageKind, Problem,
    ServiceDescription,
};

fn with_bridges(bridges: Vec<BridgeDescription>) -> ServiceDescription {
    ServiceDescription {
        title: "orders".into(),
        version: "1.0.0".into(),
        messages: vec![message(
            "OrderCreated",
            "o::OrderCreated",
            MessageKind::Event,
            "New.",
            json!({"type": "object"}),
        )],
        operations: vec![operation(
            "order_created",
            Action::Send,
            "orders.created",
            "OrderCreated",
        )],
        channels: vec![ChannelDescription {
            address: "orders.created".into(),
            bridges,
            ..Default::default()
        }],
        ..Default::default()
    }
}

#[test]
fn bridges_are_written_sorted_and_round_trip() {
    let desc = with_bridges(vec![
        BridgeDescription::to("sqs:order-events")
            .convert("avro -> json")
            .description("Kafka Connect SQS sink"),
        "nats:orders.mirror".into(),
        "nats:orders.mirror".into(),
    ]);
    let doc = emit(&desc).expect("valid");
    let channel = doc.channels["orders.created"]
        .as_item()
        .expect("inline channel");
    assert_eq!(
        channel.extensions["x-tidings-bridge"],
        json!([
            {"to": "nats:orders.mirror"},
            {"to": "sqs:order-events", "convert": "avro -> json", "description": "Kafka Connect SQS sink"},
        ])
    );
    let yaml = doc.to_yaml();
    assert!(
        yaml.contains("    x-tidings-bridge:\n    - to: nats:orders.mirror\n"),
        "{yaml}"
    );
    assert_eq!(Document::from_yaml(&yaml).expect("reads back"), doc);
    // No bridge, no extension.
    let plain = emit(&with_bridges(Vec::new())).expect("valid");
    assert!(plain.channels["orders.created"]
        .as_item()
        .unwrap()
        .extensions
        .is_empty());
}

#[test]
fn a_target_without_protocol_is_a_problem() {
    for bad in ["order-events", ":order-events", "sqs:", "s q s:x"] {
        let error = emit(&with_bridges(vec![bad.into()])).expect_err(bad);
        assert_eq!(
            error.problems,
            vec![Problem::InvalidBridge {
                channel: "orders.created".into(),
                to: bad.into()
            }],
            "{bad}"
        );
        assert!(
            error.to_string().contains("is not `protocol:address`"),
            "{error}"
        );
    }
}
