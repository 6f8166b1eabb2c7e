//! The order producer on Kafka, through the `tidings` facade's `kafka` feature: the
//! binary, configured with `TIDINGS_SERVER_DEFAULT=kafka://...`, publishes its orders to
//! the real broker (Tansu on 127.0.0.1:9092, `bash scripts/brokers/start.sh`).

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use tidings::broker::{Broker, SubscribeSpec};
use tidings::kafka::KafkaBroker;

const BOOTSTRAP: &str = "127.0.0.1:9092";

fn require_broker() {
    let addr: SocketAddr = BOOTSTRAP.parse().expect("a socket address");
    if let Err(e) = TcpStream::connect_timeout(&addr, Duration::from_secs(3)) {
        panic!("no Kafka-protocol broker on {BOOTSTRAP} ({e}); start it with `bash scripts/brokers/start.sh`");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_order_producer_publishes_to_kafka_when_a_kafka_server_is_configured() {
    require_broker();
    let run = format!("op{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let url = format!("kafka://{BOOTSTRAP}?topic_prefix={run}.&group_prefix={run}-&session_timeout_ms=6000");
    let binary = env!("CARGO_BIN_EXE_order-producer");
    let run_it = tokio::process::Command::new(binary).env("TIDINGS_SERVER_DEFAULT", &url).kill_on_drop(true).output();
    let output = tokio::time::timeout(Duration::from_secs(120), run_it)
        .await
        .expect("order-producer did not finish within 120 s")
        .expect("order-producer runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "order-producer failed: {}\n{stdout}\n{stderr}", output.status);
    assert!(stdout.contains("published order-5"), "{stdout}");
    assert!(stderr.contains("Kafka connected"), "it ran on Kafka, not the in-memory broker: {stderr}");

    // Read the orders back with the facade's re-export of the Kafka broker.
    let broker = KafkaBroker::connect("check", &url).await.expect("connect");
    let spec = SubscribeSpec { address: "orders.created".into(), group: Some("check".into()), consumer: "check".into() };
    let subscription = broker.subscribe(spec).await.expect("subscribe");
    let mut keys = Vec::new();
    for _ in 0..5 {
        let delivery = tokio::time::timeout(Duration::from_secs(60), subscription.next())
            .await
            .unwrap_or_else(|_| panic!("only {} of 5 orders arrived within 60 s: {keys:?}", keys.len()))
            .expect("the subscription is open");
        let incoming = &delivery.incoming;
        assert_eq!(&*incoming.channel, "orders.created");
        assert_eq!(incoming.headers.get("x-tidings-message"), Some("OrderCreated"));
        assert!(incoming.headers.get("traceparent").is_some(), "{:?}", incoming.headers);
        let order: serde_json::Value = serde_json::from_slice(&incoming.payload).expect("a JSON order");
        let key = String::from_utf8(incoming.key.clone().expect("a key").to_vec()).expect("a text key");
        assert_eq!(order["order_id"].as_str(), Some(key.as_str()), "keyed by order id");
        keys.push(key);
        delivery.acker.ack().await.expect("ack");
    }
    broker.shutdown().await;
    keys.sort();
    assert_eq!(keys, ["order-1", "order-2", "order-3", "order-4", "order-5"]);
}
