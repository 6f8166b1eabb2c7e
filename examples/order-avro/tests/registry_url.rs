//! One registry for the document and the codec: a Kafka server URL with
//! `?schema_registry=` puts the registry in the document's server binding, and the
//! running service's Avro codec uses that same registry; `TIDINGS_SCHEMA_REGISTRY_URL`
//! is only the fallback. (Its own test binary: the codec's registry is process-wide.)

use std::sync::Arc;

use order_avro::{OrderCreated, ORDER_CREATED};
use tidings::avro::compat::Level;
use tidings::avro::registry::server::RegistryServer;
use tidings::avro::registry::{self, RegistryClient};
use tidings::{App, MemoryBroker, PackageInfo};

const INFO: PackageInfo = PackageInfo { name: "order-avro", version: "0.1.0", description: "" };

/// The service on a Kafka server that names `registry` (the in-memory broker carries
/// the messages; the URL is what the document and the codec read).
fn app(registry: &str, broker: &Arc<MemoryBroker>) -> App {
    let url = format!("kafka://127.0.0.1:9092?schema_registry={registry}");
    App::new(INFO).server_broker("main", url, broker.clone()).ignore_env()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_codec_uses_the_registry_the_document_shows_and_the_environment_otherwise() {
    let shown = RegistryServer::start("127.0.0.1:0", Level::Backward).expect("a registry");
    let fallback = RegistryServer::start("127.0.0.1:0", Level::Backward).expect("another registry");
    std::env::set_var(registry::URL_ENV, fallback.url());

    // No service started yet: the environment's registry.
    assert_eq!(registry::global().expect("a client").url(), fallback.url());

    let broker = Arc::new(MemoryBroker::new(64));
    let document = app(&shown.url(), &broker).asyncapi().expect("a document").to_json();
    let document: serde_json::Value = serde_json::from_str(&document).expect("JSON");
    assert_eq!(document["servers"]["main"]["bindings"]["kafka"]["schemaRegistryUrl"], shown.url().as_str());

    let running = app(&shown.url(), &broker).start_without_cli().await.expect("starts");
    assert_eq!(registry::global().expect("a client").url(), shown.url(), "the server's registry wins over the environment");
    ORDER_CREATED.publish(&running.context(), OrderCreated::sample(1)).await.expect("publishes");
    running.shutdown().await.expect("stops");

    let subject = "com.example.orders.OrderCreated";
    let subjects = RegistryClient::new(&shown.url()).unwrap().subjects().expect("subjects");
    assert_eq!(subjects, [subject], "the codec registered the schema in the document's registry");
    let elsewhere = RegistryClient::new(&fallback.url()).unwrap().subjects().expect("subjects");
    assert!(elsewhere.is_empty(), "nothing went to the environment's registry: {elsewhere:?}");
}
