//! The walk-through's Kafka leg: over the real Kafka-protocol test broker (Tansu on
//! 127.0.0.1:9092, `bash scripts/brokers/start.sh`), a consumer still on version 1 of
//! `OrderCreated` reads the messages version 2 producers send, and a consumer on
//! version 2 reads those of version-1 producers (`priority` = "normal"), each message
//! framed with its writer's schema id from the registry.

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use order_avro::{v1, OrderCreated};
use tidings::avro::compat::Level;
use tidings::avro::registry::server::RegistryServer;
use tidings::avro::registry::{self, RegistryClient};
use tidings::broker::{Broker, Headers, Outgoing, SubscribeSpec};
use tidings::kafka::KafkaBroker;
use tidings::{Codec, Message};

const BOOTSTRAP: &str = "127.0.0.1:9092";

fn require_broker() {
    let addr: SocketAddr = BOOTSTRAP.parse().expect("a socket address");
    if let Err(e) = TcpStream::connect_timeout(&addr, Duration::from_secs(3)) {
        panic!("no Kafka-protocol broker on {BOOTSTRAP} ({e}); start it with `bash scripts/brokers/start.sh`");
    }
}

/// A message encoded with `M`'s codec, as a producer of that version publishes it.
fn outgoing<M: Message>(message: &M) -> Outgoing {
    let payload = <M::Codec as Codec>::encode(message).expect("encodes");
    let mut headers = Headers::new();
    headers.insert("content-type", <M::Codec as Codec>::CONTENT_TYPE);
    Outgoing { payload: payload.into(), headers, key: None }
}

/// The next `n` payloads for consumer group `group`.
async fn read(broker: &KafkaBroker, group: &str, n: usize) -> Vec<Vec<u8>> {
    let spec = SubscribeSpec { address: "orders.created".into(), group: Some(group.into()), consumer: group.into() };
    let subscription = broker.subscribe(spec).await.expect("subscribe");
    let mut payloads = Vec::new();
    while payloads.len() < n {
        let delivery = tokio::time::timeout(Duration::from_secs(60), subscription.next())
            .await
            .unwrap_or_else(|_| panic!("group {group}: only {} of {n} messages within 60 s", payloads.len()))
            .expect("the subscription is open");
        assert_eq!(delivery.incoming.headers.get("content-type"), Some("application/vnd.apache.avro+binary"));
        payloads.push(delivery.incoming.payload.to_vec());
        delivery.acker.ack().await.expect("ack");
    }
    payloads
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_and_new_consumers_read_each_others_orders_over_kafka() {
    require_broker();
    let registry_server = RegistryServer::start("127.0.0.1:0", Level::Full).expect("a registry");
    registry::install(RegistryClient::new(&registry_server.url()).expect("a client"));
    let run = format!("avro{}", std::process::id());
    let url = format!(
        "kafka://{BOOTSTRAP}?topic_prefix={run}.&group_prefix={run}-&session_timeout_ms=6000&auto_offset_reset=earliest"
    );
    let broker = KafkaBroker::connect("avro", &url).await.expect("connect");

    // A version-2 producer and a version-1 producer publish to the same topic.
    let new_order = OrderCreated::sample(1);
    let old_order = v1::OrderCreated::from(OrderCreated::sample(2));
    broker.publish("orders.created", outgoing(&new_order)).await.expect("publish v2");
    broker.publish("orders.created", outgoing(&old_order)).await.expect("publish v1");

    // The consumer still on version 1 reads both; `priority` is skipped.
    let payloads = read(&broker, "old-consumer", 2).await;
    let mut old_view: Vec<v1::OrderCreated> = payloads
        .iter()
        .map(|p| <<v1::OrderCreated as Message>::Codec as Codec>::decode(p).expect("v1 decodes"))
        .collect();
    // The topic has several partitions: the order of the two messages is not fixed.
    old_view.sort_by(|a, b| a.order_id.cmp(&b.order_id));
    assert_eq!(old_view, [v1::OrderCreated::from(OrderCreated::sample(1)), old_order.clone()]);

    // The consumer on version 2 reads both; the old order gets the default priority.
    let payloads = read(&broker, "new-consumer", 2).await;
    let ids: Vec<u8> = payloads.iter().map(|p| p[4]).collect();
    assert_eq!(payloads.iter().map(|p| p[0]).collect::<Vec<_>>(), [0, 0], "Confluent magic byte");
    assert_ne!(ids[0], ids[1], "each message carries its writer's schema id");
    let mut new_view: Vec<OrderCreated> = payloads
        .iter()
        .map(|p| <<OrderCreated as Message>::Codec as Codec>::decode(p).expect("v2 decodes"))
        .collect();
    new_view.sort_by(|a, b| a.order_id.cmp(&b.order_id));
    assert_eq!(new_view, [new_order, OrderCreated { priority: "normal".into(), ..OrderCreated::sample(2) }]);
    broker.shutdown().await;
}
