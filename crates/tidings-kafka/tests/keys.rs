//! Declared message keys and declared topics on the real broker: `key = field` on a
//! static producer and `key_with = fn` on a consumer's reply become the record keys
//! (same key, same partition), and `App::channel_options(.., KafkaTopic::partitions(n))`
//! creates the topic with `n` partitions; the document shows both.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use tidings_kafka::KafkaTopic;
use tidings::prelude::*;
use tidings::{Running, TidingsArgs};

const WAIT: Duration = Duration::from_secs(60);
/// Tansu creates topics on first use with 4 partitions: the declared counts differ.
const KEYED_PARTITIONS: u32 = 7;
const RELAYED_PARTITIONS: u32 = 5;

/// A test order, keyed by its customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Message)]
#[message(name = "KafkaKeyedOrder")]
pub struct KeyedOrder {
    /// Order number.
    pub n: u32,
    /// The customer: the key.
    pub customer: String,
}

/// What the relay publishes, keyed by a function of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Message)]
#[message(name = "KafkaRelayedOrder")]
pub struct Relayed {
    /// Order number.
    pub n: u32,
    /// The customer.
    pub customer: String,
}

/// The key of a relayed order: its customer, tagged.
pub fn relayed_key(relayed: &Relayed) -> String {
    format!("relay-{}", relayed.customer)
}

/// Publishes orders keyed by customer.
#[tidings::producer(channel = "kt.orders", key = customer)]
pub static KEYED: Producer<KeyedOrder>;

/// Keys the handler saw, by order number.
#[derive(Default)]
pub struct SeenKeys(Mutex<BTreeMap<u32, Option<String>>>);

impl SeenKeys {
    fn insert(&self, n: u32, key: Option<String>) {
        self.0.lock().unwrap().insert(n, key);
    }
}

/// Relays every order, keyed by `relayed_key`.
#[tidings::consumer(channel = "kt.orders", group = "relay")]
#[tidings::producer(channel = "kt.relayed", key_with = relayed_key)]
async fn relay(order: KeyedOrder, key: Key, seen: State<SeenKeys>) -> Relayed {
    let key = key.0.map(|k| String::from_utf8_lossy(&k).into_owned());
    seen.insert(order.n, key);
    Relayed { n: order.n, customer: order.customer }
}

fn app(run: &str, seen: Arc<SeenKeys>) -> tidings::App {
    tidings::app!()
        .ignore_env()
        .args(TidingsArgs::default())
        .server("default", url(run))
        .channel_options("kt.orders", KafkaTopic::partitions(KEYED_PARTITIONS).replicas(1))
        .channel_options("kt.relayed", KafkaTopic::partitions(RELAYED_PARTITIONS))
        .state_arc(seen)
        .shutdown_timeout(Duration::from_secs(20))
}

async fn start(run: &str, seen: Arc<SeenKeys>) -> Running {
    require_broker();
    tidings_kafka::link();
    app(run, seen).start_without_cli().await.unwrap_or_else(|e| panic!("the app did not start on {}: {e}", url(run)))
}

/// key -> partitions its records are in.
fn partitions_by_key(messages: &[ReadMessage]) -> BTreeMap<String, BTreeSet<i32>> {
    let mut out: BTreeMap<String, BTreeSet<i32>> = BTreeMap::new();
    for m in messages {
        let key = m.key.as_ref().map(|k| String::from_utf8_lossy(k).into_owned()).unwrap_or_default();
        out.entry(key).or_default().insert(m.partition);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declared_keys_are_the_record_keys_and_declared_partitions_create_the_topic() {
    let run = run_id("keys");
    let seen = Arc::new(SeenKeys::default());
    let app = start(&run, seen.clone()).await;

    // The topics exist with the declared partition counts as soon as the app started.
    let (orders_topic, relayed_topic) = (format!("{run}.kt.orders"), format!("{run}.kt.relayed"));
    let counts = {
        let (a, b) = (orders_topic.clone(), relayed_topic.clone());
        tokio::task::spawn_blocking(move || {
            let reader: rdkafka::consumer::BaseConsumer =
                rdkafka::ClientConfig::new().set("bootstrap.servers", BOOTSTRAP).create().expect("a metadata client");
            (partitions(&reader, &a, WAIT).len(), partitions(&reader, &b, WAIT).len())
        })
        .await
        .unwrap()
    };
    assert_eq!(counts, (KEYED_PARTITIONS as usize, RELAYED_PARTITIONS as usize), "partitions of the declared topics");

    let ctx = app.context();
    let customers = ["ada", "bob", "cy", "dee", "eve", "fay"];
    let total = 60u32;
    for n in 0..total {
        let customer = customers[n as usize % customers.len()];
        KEYED.publish(&ctx, KeyedOrder { n, customer: customer.into() }).await.unwrap();
    }
    // An explicit key wins over the declared one.
    let explicit = KeyedOrder { n: total, customer: "ada".into() };
    KEYED.publish_with(&ctx, explicit, PublishOptions::default().key("explicit")).await.unwrap();
    wait_for(WAIT, "every order relayed", || (seen.0.lock().unwrap().len() > total as usize).then_some(()), || {
        format!("{} relayed", seen.0.lock().unwrap().len())
    })
    .await;
    app.shutdown().await.unwrap();

    // The handler's Key extractor saw the declared key (the customer), or the explicit one.
    let keys = seen.0.lock().unwrap().clone();
    for (n, key) in &keys {
        let want = if *n == total { "explicit".to_owned() } else { customers[*n as usize % customers.len()].to_owned() };
        assert_eq!(key.as_deref(), Some(want.as_str()), "key of order {n}");
    }

    let count = total as usize + 1;
    let (orders, relayed) = tokio::task::spawn_blocking(move || {
        (read_topic(&orders_topic, count, WAIT), read_topic(&relayed_topic, count, WAIT))
    })
    .await
    .unwrap();
    // Record keys: the customer field; the relay's: relayed_key of what it published.
    for m in &orders {
        let order: KeyedOrder = serde_json::from_slice(&m.payload).unwrap();
        let want = if order.n == total { "explicit".to_owned() } else { order.customer.clone() };
        assert_eq!(m.key.as_deref(), Some(want.as_bytes()), "record key of order {}", order.n);
    }
    for m in &relayed {
        let r: Relayed = serde_json::from_slice(&m.payload).unwrap();
        assert_eq!(m.key.as_deref(), Some(relayed_key(&r).as_bytes()), "record key of relayed order {}", r.n);
    }
    // Same key, one partition; and the keys spread over more than one partition.
    for (topic, messages) in [("orders", &orders), ("relayed", &relayed)] {
        let by_key = partitions_by_key(messages);
        for (key, parts) in &by_key {
            assert_eq!(parts.len(), 1, "{topic}: records of key `{key}` in partitions {parts:?}");
        }
        let used: BTreeSet<i32> = by_key.values().flatten().copied().collect();
        assert!(used.len() > 1, "{topic}: {} keys all in partitions {used:?}", by_key.len());
    }
}

#[test]
fn the_document_shows_the_declared_key_and_topic() {
    let document = app("doc", Arc::default()).asyncapi().expect("a document");
    let json: serde_json::Value = serde_json::from_str(&document.to_json()).unwrap();
    let messages = &json["components"]["messages"];
    assert_eq!(
        messages["KafkaKeyedOrder"]["bindings"]["kafka"],
        serde_json::json!({"key": {"description": "The customer: the key.", "type": "string"}, "bindingVersion": "0.5.0"}),
        "the key field's schema"
    );
    assert_eq!(
        messages["KafkaRelayedOrder"]["bindings"]["kafka"],
        serde_json::json!({"key": {"type": "string"}, "bindingVersion": "0.5.0"}),
        "a key function's key is a string"
    );
    assert_eq!(
        json["channels"]["kt.orders"]["bindings"]["kafka"],
        serde_json::json!({"topic": "doc.kt.orders", "partitions": KEYED_PARTITIONS, "replicas": 1, "bindingVersion": "0.5.0"})
    );
    assert_eq!(json["channels"]["kt.relayed"]["bindings"]["kafka"]["partitions"], RELAYED_PARTITIONS);
}
