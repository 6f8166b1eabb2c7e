//! Messages with an Avro contract: the payload is a Multi Format Schema Object kept as
//! it is; on Kafka the message binding says the schema id is in the payload, and a
//! server with `?schema_registry=` names its registry.

mod fixtures;

use fixtures::{message, operation};
use serde_json::{json, Value};
use tidings_asyncapi::{emit, Action, MessageKind, ServerDescription, ServiceDescription};

const AVSC: &str = r#"{"type":"record","name":"OrderCreated","namespace":"com.example","fields":[{"name":"order_id","type":"string"},{"name":"priority","type":"string","default":"normal"}]}"#;

fn service(url: &str) -> ServiceDescription {
    let avro = json!({
        "schemaFormat": "application/vnd.apache.avro;version=1.9.0",
        "schema": serde_json::from_str::<Value>(AVSC).unwrap(),
    });
    let mut order = message("OrderCreated", "svc::OrderCreated", MessageKind::Event, "An order.", avro);
    order.content_type = "application/vnd.apache.avro+binary".into();
    let ping = message("Ping", "svc::Ping", MessageKind::Event, "A ping.", json!({"type": "object"}));
    ServiceDescription {
        title: "svc".into(),
        version: "1.0.0".into(),
        servers: vec![ServerDescription { name: "main".into(), url: url.into() }],
        messages: vec![order, ping],
        operations: vec![
            operation("publish_order", Action::Send, "orders.created", "OrderCreated"),
            operation("publish_ping", Action::Send, "pings", "Ping"),
        ],
        ..ServiceDescription::default()
    }
}

fn document(url: &str) -> Value {
    serde_json::to_value(emit(&service(url)).expect("a document")).unwrap()
}

#[test]
fn the_avro_schema_is_the_payload_as_written() {
    let doc = document("kafka://broker:9092");
    let order = &doc["components"]["messages"]["OrderCreated"];
    assert_eq!(order["payload"]["schemaFormat"], "application/vnd.apache.avro;version=1.9.0");
    assert_eq!(order["payload"]["schema"], serde_json::from_str::<Value>(AVSC).unwrap());
    assert_eq!(order["contentType"], "application/vnd.apache.avro+binary");
    assert!(doc["components"].get("schemas").is_none_or(|s| s.get("OrderCreated").is_none()), "nothing hoisted");
}

#[test]
fn on_kafka_avro_messages_say_the_schema_id_is_in_the_payload() {
    let doc = document("kafka://broker:9092");
    let binding = &doc["components"]["messages"]["OrderCreated"]["bindings"]["kafka"];
    assert_eq!(binding["schemaIdLocation"], "payload");
    assert_eq!(binding["schemaLookupStrategy"], "RecordNameStrategy");
    assert_eq!(binding["bindingVersion"], "0.5.0");
    assert!(doc["components"]["messages"]["Ping"].get("bindings").is_none(), "JSON messages get none");
    let doc = document("nats://broker:4222");
    assert!(doc["components"]["messages"]["OrderCreated"].get("bindings").is_none(), "not on Kafka");
}

#[test]
fn a_kafka_server_names_its_schema_registry_without_credentials() {
    let doc = document("kafka://broker:9092?schema_registry=http%3A%2F%2Fkey%3As3cr3t%40registry%3A8081&schema_registry_vendor=apicurio");
    let binding = &doc["servers"]["main"]["bindings"]["kafka"];
    assert_eq!(binding["schemaRegistryUrl"], "http://registry:8081");
    assert_eq!(binding["schemaRegistryVendor"], "apicurio");
    assert!(!doc.to_string().contains("s3cr3t"));
    let doc = document("kafka://broker:9092?schema_registry=http://127.0.0.1:8081");
    assert_eq!(doc["servers"]["main"]["bindings"]["kafka"]["schemaRegistryUrl"], "http://127.0.0.1:8081");
    assert_eq!(doc["servers"]["main"]["bindings"]["kafka"]["schemaRegistryVendor"], "confluent");
    assert!(document("kafka://broker:9092")["servers"]["main"].get("bindings").is_none());
}

#[test]
fn avro_payloads_can_reference_the_registry_instead() {
    let mut doc = emit(&service("kafka://broker:9092")).expect("a document");
    let n = tidings_asyncapi::emit::reference_avro_payloads(&mut doc, "https://key:s3cr3t@registry:8081/", "3");
    assert_eq!(n, 1, "only the Avro message");
    let doc = serde_json::to_value(doc).unwrap();
    assert_eq!(
        doc["components"]["messages"]["OrderCreated"]["payload"],
        json!({
            "schemaFormat": "application/vnd.apache.avro;version=1.9.0",
            "schema": {"$ref": "https://registry:8081/subjects/com.example.OrderCreated/versions/3/schema"},
        }),
        "the record name strategy's subject, no credentials"
    );
    assert_eq!(doc["components"]["messages"]["Ping"]["payload"], json!({"type": "object"}));
}

#[test]
fn the_registry_url_keeps_its_credentials_for_the_codec() {
    use tidings_asyncapi::protocol::schema_registry_url;
    let url = "kafka://b:9092?schema_registry=http%3A%2F%2Fk%3As%40registry%3A8081&client_id=x";
    assert_eq!(schema_registry_url(url).as_deref(), Some("http://k:s@registry:8081"));
    assert_eq!(schema_registry_url("kafka://b:9092"), None);
    assert_eq!(schema_registry_url("nats://b:4222?schema_registry=http://r:8081"), None, "Kafka servers only");
}
