//! SQS servers and queues in the document: the host a region or endpoint stands for,
//! and the queue names the SQS broker really uses (dots as dashes, the server's
//! `queue_prefix` first), so the sqs 0.2.0 channel binding names the real queue.

mod fixtures;

use fixtures::{message, operation};
use serde_json::{json, Value};
use tidings_asyncapi::{emit, Action, MessageKind, ServerDescription, ServiceDescription};

fn service(url: &str, channels: &[&str]) -> ServiceDescription {
    ServiceDescription {
        title: "queues".into(),
        version: "1.0.0".into(),
        servers: vec![ServerDescription { name: "main".into(), url: url.into() }],
        messages: vec![message("Ping", "queues::Ping", MessageKind::Event, "A ping.", json!({"type": "object"}))],
        operations: channels
            .iter()
            .enumerate()
            .map(|(i, c)| operation(&format!("op{i}"), Action::Receive, c, "Ping"))
            .collect(),
        ..Default::default()
    }
}

/// The document as JSON; also dumped as `name` for the official parser.
fn emitted(name: &str, desc: &ServiceDescription) -> Value {
    let doc = emit(desc).unwrap_or_else(|e| panic!("{e}"));
    fixtures::dump(name, &doc);
    serde_json::to_value(&doc).expect("serializes")
}

#[test]
fn queue_names_in_bindings_are_the_queues_the_broker_uses() {
    let doc = emitted("protocol-sqs-queues", &service(
        "sqs://us-east-1?endpoint=http://127.0.0.1:4566&queue_prefix=staging-&create=true",
        &["orders.created", "orders.eu.fifo", "plain_queue"],
    ));
    assert_eq!(doc["servers"]["main"]["host"], "127.0.0.1:4566", "the endpoint is where the service is");
    assert_eq!(doc["servers"]["main"]["protocol"], "sqs");
    let queue = |channel: &str| doc["channels"][channel]["bindings"]["sqs"]["queue"].clone();
    assert_eq!(queue("orders.created"), json!({"name": "staging-orders-created", "fifoQueue": false}));
    assert_eq!(queue("orders.eu.fifo"), json!({"name": "staging-orders-eu.fifo", "fifoQueue": true}));
    assert_eq!(queue("plain_queue"), json!({"name": "staging-plain_queue", "fifoQueue": false}));
    assert_eq!(doc["channels"]["orders.created"]["address"], "orders.created", "the address stays the channel's");
    let text = serde_json::to_string(&doc).unwrap();
    assert!(!text.contains("create=true") && !text.contains("endpoint="), "no URL options in the document");
}

#[test]
fn region_and_bare_urls_name_the_aws_host() {
    let doc = emitted("protocol-sqs-region", &service("sqs://eu-west-1", &["orders.created"]));
    assert_eq!(doc["servers"]["main"]["host"], "sqs.eu-west-1.amazonaws.com");
    assert_eq!(doc["channels"]["orders.created"]["bindings"]["sqs"]["queue"]["name"], "orders-created");
    // Region from the AWS environment: the URL has no host, the document still has one.
    let doc = emitted("protocol-sqs-environment", &service("sqs://", &["orders.created"]));
    assert_eq!(doc["servers"]["main"]["host"], "sqs.amazonaws.com");
}

#[test]
fn a_queue_url_channel_names_its_queue() {
    let url = "https://sqs.us-east-1.amazonaws.com/123456789012/orders-in";
    let doc = emitted("protocol-sqs-queue-url", &service("sqs://us-east-1?queue_prefix=ignored-", &[url]));
    let channels = doc["channels"].as_object().expect("channels");
    let channel = channels.values().next().expect("one channel");
    assert_eq!(channel["address"], url);
    assert_eq!(channel["bindings"]["sqs"]["queue"]["name"], "orders-in");
}
