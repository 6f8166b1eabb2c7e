//! The real pipeline on the real broker: a small service (the consumers below) started
//! with `App::server("default", "kafka://127.0.0.1:9092?...")`, one run id per test so
//! topics and groups never collide with other tests or earlier runs.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use tidings::prelude::*;
use tidings::{Outgoing, Running, TidingsArgs};

const WAIT: Duration = Duration::from_secs(60);

/// A test order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Message)]
#[message(name = "KafkaTestOrder")]
pub struct Order {
    /// Order number.
    pub n: u32,
    /// Which key it was published with.
    pub key: String,
}

/// What a handler saw.
#[derive(Debug, Clone)]
pub struct Seen {
    consumer: &'static str,
    order: Order,
    key: Option<String>,
    headers: Headers,
    attempt: u32,
    channel: String,
    params: BTreeMap<String, String>,
    ok: bool,
}

/// Everything the handlers of one app saw.
#[derive(Default)]
pub struct Log(Mutex<Vec<Seen>>);

impl Log {
    fn all(&self) -> Vec<Seen> {
        self.0.lock().unwrap().clone()
    }
    fn of(&self, consumer: &str) -> Vec<Seen> {
        self.all().into_iter().filter(|s| s.consumer == consumer).collect()
    }
}

#[allow(clippy::too_many_arguments)]
fn record(
    log: &Log,
    consumer: &'static str,
    order: &Order,
    key: Key,
    headers: Headers,
    attempt: u32,
    channel: String,
    params: BTreeMap<String, String>,
    ok: bool,
) {
    let key = key.0.map(|k| String::from_utf8_lossy(&k).into_owned());
    log.0.lock().unwrap().push(Seen { consumer, order: order.clone(), key, headers, attempt, channel, params, ok });
}

/// Publishes test orders.
#[tidings::producer(channel = "it.orders")]
pub static ORDERS: Producer<Order>;

/// Records every order with its key and headers.
#[tidings::consumer(channel = "it.orders", group = "roundtrip")]
async fn roundtrip(order: Order, key: Key, headers: Headers, attempt: Attempt, channel: Channel, log: State<Log>) {
    record(&log, "roundtrip", &order, key, headers, attempt.0, channel.0, BTreeMap::new(), true);
}

/// Fails the first two attempts of order 0, then succeeds; other orders succeed.
#[tidings::consumer(channel = "it.flaky", group = "flaky", max_attempts = 3)]
async fn flaky(order: Order, key: Key, headers: Headers, attempt: Attempt, log: State<Log>) -> Result<(), Error> {
    let ok = order.n != 0 || attempt.0 >= 3;
    record(&log, "flaky", &order, key, headers, attempt.0, String::new(), BTreeMap::new(), ok);
    if ok {
        Ok(())
    } else {
        Err(Error::msg(format!("order {} fails on attempt {}", order.n, attempt.0)))
    }
}

/// Order 0 fails on every attempt; the others succeed.
#[tidings::consumer(channel = "it.doomed", group = "doomed", max_attempts = 2)]
async fn doomed(order: Order, key: Key, headers: Headers, attempt: Attempt, log: State<Log>) -> Result<(), Error> {
    let ok = order.n != 0;
    record(&log, "doomed", &order, key, headers, attempt.0, String::new(), BTreeMap::new(), ok);
    if ok {
        Ok(())
    } else {
        Err(Error::msg("order 0 always fails"))
    }
}

/// Takes only well-formed orders (a non-JSON payload never gets here).
#[tidings::consumer(channel = "it.strict", group = "strict")]
async fn strict(order: Order, key: Key, headers: Headers, attempt: Attempt, log: State<Log>) {
    record(&log, "strict", &order, key, headers, attempt.0, String::new(), BTreeMap::new(), true);
}

/// Orders of every region, by pattern subscription.
#[tidings::consumer(channel = "it.{region}.orders", group = "regional")]
async fn regional(order: Order, key: Key, headers: Headers, params: Params, channel: Channel, log: State<Log>) {
    record(&log, "regional", &order, key, headers, 1, channel.0, params.0, true);
}

/// Orders shared by the instances of one group.
#[tidings::consumer(channel = "it.shared", group = "shared")]
async fn shared(order: Order, key: Key, headers: Headers, log: State<Log>) {
    // Slow enough that a rebalance happens while partitions are busy.
    tokio::time::sleep(Duration::from_millis(2)).await;
    record(&log, "shared", &order, key, headers, 1, String::new(), BTreeMap::new(), true);
}

async fn start(run: &str, log: Arc<Log>) -> Running {
    require_broker();
    tidings_kafka::link();
    tidings::app!()
        .ignore_env()
        .args(TidingsArgs::default())
        .server("default", url(run))
        .state_arc(log)
        .shutdown_timeout(Duration::from_secs(20))
        .start_without_cli()
        .await
        .unwrap_or_else(|e| panic!("the app did not start on {}: {e}", url(run)))
}

fn order(n: u32, key: &str) -> Order {
    Order { n, key: key.to_owned() }
}

async fn publish(ctx: &Context, channel: &str, n: u32, key: &str) {
    let mut out = ctx.encode(&order(n, key)).unwrap();
    out.key = Some(key.as_bytes().to_vec().into());
    ctx.publish_raw(channel, out).await.unwrap_or_else(|e| panic!("publish {n} to {channel}: {e}"));
}

/// The order numbers of `seen`, per key, in the order handled.
fn per_key(seen: &[Seen]) -> BTreeMap<String, Vec<u32>> {
    let mut out: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for s in seen.iter().filter(|s| s.ok) {
        out.entry(s.key.clone().unwrap_or_default()).or_default().push(s.order.n);
    }
    out
}

#[test]
fn the_kafka_scheme_is_registered() {
    // Naming the crate links it, and with it its registration.
    assert!(tidings_kafka::link().contains(&"kafka"));
    assert!(tidings::broker::known_schemes().contains(&"kafka"), "{:?}", tidings::broker::known_schemes());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trip_with_key_and_headers_in_order_per_key() {
    let run = run_id("roundtrip");
    let log = Arc::new(Log::default());
    let app = start(&run, log.clone()).await;
    let ctx = app.context();
    let keys = ["alpha", "bravo", "charlie", "delta", "echo"];
    for n in 0..50u32 {
        let key = keys[n as usize % keys.len()];
        let options = PublishOptions::default().key(key).header("x-test", format!("h{n}"));
        ORDERS.publish_with(&ctx, order(n, key), options).await.unwrap();
    }
    wait_for(WAIT, "50 orders handled", || (log.of("roundtrip").len() >= 50).then_some(()), || {
        format!("{} handled", log.of("roundtrip").len())
    })
    .await;
    app.shutdown().await.unwrap();

    let seen = log.of("roundtrip");
    assert_eq!(seen.len(), 50, "each order exactly once: {seen:?}");
    for s in &seen {
        assert_eq!(s.key.as_deref(), Some(s.order.key.as_str()), "the key travels: {s:?}");
        assert_eq!(s.channel, "it.orders", "the channel is the address, without the topic prefix");
        assert_eq!(s.attempt, 1);
        assert_eq!(s.headers.get("content-type"), Some("application/json"));
        assert_eq!(s.headers.get("x-tidings-message"), Some("KafkaTestOrder"));
        assert!(s.headers.get("correlation-id").is_some_and(|c| !c.is_empty()), "{s:?}");
        assert_eq!(s.headers.get("x-test").map(str::to_owned), Some(format!("h{}", s.order.n)));
        let tp = s.headers.get("traceparent").unwrap_or_else(|| panic!("no traceparent: {s:?}"));
        assert!(tp.starts_with("00-") && tp.len() == 55, "traceparent `{tp}`");
    }
    for (key, ns) in per_key(&seen) {
        let mut sorted = ns.clone();
        sorted.sort_unstable();
        assert_eq!(ns, sorted, "orders of key `{key}` handled out of order");
    }
    let topic = format!("{run}.it.orders");
    tokio::task::spawn_blocking(move || assert_all_committed(&format!("{run}-roundtrip"), &topic, 50)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_failing_twice_then_succeeding_is_retried_in_place_and_committed() {
    let run = run_id("flaky");
    let log = Arc::new(Log::default());
    let app = start(&run, log.clone()).await;
    let ctx = app.context();
    // Same key: same partition. Order 1 must wait until order 0 finally succeeded.
    publish(&ctx, "it.flaky", 0, "k").await;
    publish(&ctx, "it.flaky", 1, "k").await;
    wait_for(WAIT, "both orders handled", || (per_key(&log.of("flaky")).get("k").map(Vec::len) == Some(2)).then_some(()), || {
        format!("{:?}", log.of("flaky").iter().map(|s| (s.order.n, s.attempt, s.ok)).collect::<Vec<_>>())
    })
    .await;
    app.shutdown().await.unwrap();

    let attempts: Vec<(u32, u32, bool)> = log.of("flaky").iter().map(|s| (s.order.n, s.attempt, s.ok)).collect();
    assert_eq!(
        attempts,
        vec![(0, 1, false), (0, 2, false), (0, 3, true), (1, 1, true)],
        "order 0 handled once per attempt, order 1 only after it"
    );
    let topic = format!("{run}.it.flaky");
    tokio::task::spawn_blocking(move || assert_all_committed(&format!("{run}-flaky"), &topic, 2)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_failing_forever_ends_in_the_dead_letter_topic_with_its_headers() {
    let run = run_id("doomed");
    let log = Arc::new(Log::default());
    let app = start(&run, log.clone()).await;
    let ctx = app.context();
    publish(&ctx, "it.doomed", 0, "k").await;
    publish(&ctx, "it.doomed", 1, "k").await;
    wait_for(WAIT, "order 1 handled after order 0 was given up", || {
        log.of("doomed").iter().any(|s| s.order.n == 1).then_some(())
    }, || format!("{:?}", log.of("doomed").iter().map(|s| (s.order.n, s.attempt, s.ok)).collect::<Vec<_>>()))
    .await;
    app.shutdown().await.unwrap();

    let attempts: Vec<(u32, u32, bool)> = log.of("doomed").iter().map(|s| (s.order.n, s.attempt, s.ok)).collect();
    assert_eq!(attempts, vec![(0, 1, false), (0, 2, false), (1, 1, true)]);
    let original = log.of("doomed")[0].headers.clone();
    let topic = format!("{run}.it.doomed");
    let (t, r) = (topic.clone(), run.clone());
    let dead = tokio::task::spawn_blocking(move || {
        assert_all_committed(&format!("{r}-doomed"), &t, 2);
        read_topic(&format!("{t}.dlq"), 1, WAIT)
    })
    .await
    .unwrap();
    assert_eq!(dead.len(), 1, "{dead:?}");
    let d = &dead[0];
    assert_eq!(serde_json::from_slice::<Order>(&d.payload).unwrap(), order(0, "k"), "the payload is kept");
    assert_eq!(d.key.as_deref(), Some(&b"k"[..]), "the key is kept");
    assert_eq!(d.headers.get("x-tidings-dlq-topic"), Some(&topic));
    assert_eq!(d.headers.get("x-tidings-dlq-attempts").map(String::as_str), Some("2"));
    assert!(d.headers["x-tidings-dlq-partition"].parse::<i32>().is_ok(), "{d:?}");
    assert_eq!(d.headers["x-tidings-dlq-offset"].parse::<i64>().ok(), Some(0), "the first message of its partition");
    let reason = &d.headers["x-tidings-dlq-reason"];
    assert!(reason.contains("2 attempt") && reason.contains("order 0 always fails"), "reason: {reason}");
    for name in ["correlation-id", "x-tidings-message", "content-type", "traceparent"] {
        assert_eq!(d.headers.get(name).map(String::as_str), original.get(name), "header {name} is kept");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_json_payload_is_dead_lettered_at_once_and_the_partition_keeps_flowing() {
    let run = run_id("poison");
    let log = Arc::new(Log::default());
    let app = start(&run, log.clone()).await;
    let ctx = app.context();
    publish(&ctx, "it.strict", 0, "k").await;
    let poison = Outgoing { payload: "this is not JSON".into(), key: Some("k".into()), ..Default::default() };
    ctx.publish_raw("it.strict", poison).await.unwrap();
    for n in 1..=3 {
        publish(&ctx, "it.strict", n, "k").await;
    }
    wait_for(WAIT, "the 4 good orders handled", || (log.of("strict").len() >= 4).then_some(()), || {
        format!("{:?}", log.of("strict").iter().map(|s| s.order.n).collect::<Vec<_>>())
    })
    .await;
    app.shutdown().await.unwrap();

    let handled: Vec<(u32, u32)> = log.of("strict").iter().map(|s| (s.order.n, s.attempt)).collect();
    assert_eq!(handled, vec![(0, 1), (1, 1), (2, 1), (3, 1)], "in order, each once, past the poison message");
    let topic = format!("{run}.it.strict");
    let (t, r) = (topic.clone(), run.clone());
    let dead = tokio::task::spawn_blocking(move || {
        assert_all_committed(&format!("{r}-strict"), &t, 5);
        read_topic(&format!("{t}.dlq"), 1, WAIT)
    })
    .await
    .unwrap();
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0].payload, b"this is not JSON");
    assert_eq!(dead[0].headers.get("x-tidings-dlq-attempts").map(String::as_str), Some("1"), "rejected at once");
    assert_eq!(dead[0].headers["x-tidings-dlq-offset"], "1");
    assert!(dead[0].headers["x-tidings-dlq-reason"].contains("cannot decode"), "{:?}", dead[0].headers);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parameterized_channel_subscribes_by_pattern() {
    let run = run_id("regional");
    let log = Arc::new(Log::default());
    let app = start(&run, log.clone()).await;
    let ctx = app.context();
    publish(&ctx, "it.eu.orders", 1, "a").await;
    publish(&ctx, "it.us.orders", 2, "b").await;
    // Not matched: one segment only where the parameter is.
    publish(&ctx, "it.eu.west.orders", 3, "c").await;
    wait_for(WAIT, "orders of both regions", || (log.of("regional").len() >= 2).then_some(()), || {
        format!("{:?}", log.of("regional").iter().map(|s| &s.channel).collect::<Vec<_>>())
    })
    .await;
    // Order 3 would have come with the others: same discovery, same poll.
    tokio::time::sleep(Duration::from_secs(2)).await;
    app.shutdown().await.unwrap();
    let mut got: Vec<(u32, String, Option<String>)> = log
        .of("regional")
        .iter()
        .map(|s| (s.order.n, s.channel.clone(), s.params.get("region").cloned()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![(1, "it.eu.orders".into(), Some("eu".into())), (2, "it.us.orders".into(), Some("us".into()))]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_the_partitions_and_lose_nothing_across_a_rebalance() {
    let run = run_id("shared");
    let (log_a, log_b) = (Arc::new(Log::default()), Arc::new(Log::default()));
    let a = start(&run, log_a.clone()).await;
    let b = start(&run, log_b.clone()).await;
    let ctx = a.context();
    let mut published = 0u32;
    // Publish until both instances have handled something: they share the partitions.
    wait_for_async_publishing(&ctx, &mut published, || {
        !log_a.of("shared").is_empty() && !log_b.of("shared").is_empty()
    })
    .await;
    // A leaves the group mid-stream; B takes its partitions over.
    a.shutdown().await.unwrap();
    let ctx = b.context();
    for _ in 0..200 {
        publish(&ctx, "it.shared", published, &format!("k{}", published % 16)).await;
        published += 1;
    }
    let seen_all = || {
        let mut ns: Vec<u32> = log_a.of("shared").iter().chain(log_b.of("shared").iter()).map(|s| s.order.n).collect();
        ns.sort_unstable();
        ns.dedup();
        ns
    };
    wait_for(WAIT, "every order handled by one instance or the other", || (seen_all().len() == published as usize).then_some(()), || {
        let all = seen_all();
        let missing: Vec<u32> = (0..published).filter(|n| all.binary_search(n).is_err()).take(20).collect();
        format!("{} of {published} seen; missing (first 20): {missing:?}", all.len())
    })
    .await;
    b.shutdown().await.unwrap();
    let total = log_a.of("shared").len() + log_b.of("shared").len();
    eprintln!(
        "published {published}; instance A handled {}, B {}; duplicates {}",
        log_a.of("shared").len(),
        log_b.of("shared").len(),
        total - published as usize
    );
    let topic = format!("{run}.it.shared");
    tokio::task::spawn_blocking(move || assert_all_committed(&format!("{run}-shared"), &topic, published as usize))
        .await
        .unwrap();
}

/// Publishes to `it.shared`, 20 at a time, until `done` (bounded by [`WAIT`]).
async fn wait_for_async_publishing(ctx: &Context, published: &mut u32, done: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + WAIT;
    while !done() {
        assert!(std::time::Instant::now() < deadline, "the two instances did not both get partitions within {WAIT:?}");
        for _ in 0..20 {
            publish(ctx, "it.shared", *published, &format!("k{}", *published % 16)).await;
            *published += 1;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Runs the official AsyncAPI parser (`tests/asyncapi-parser`) over `file`. Fails when
/// Node.js is missing, unless `TIDINGS_SKIP_NODE=1` (then `false`: not run).
fn official_parser_accepts(file: &std::path::Path) -> bool {
    let harness = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/asyncapi-parser");
    let output = match std::process::Command::new("node").arg(harness.join("validate.mjs")).arg(file).output() {
        Ok(output) => output,
        Err(e) if std::env::var("TIDINGS_SKIP_NODE").as_deref() == Ok("1") => {
            eprintln!("SKIPPED the official parser (TIDINGS_SKIP_NODE=1): node: {e}");
            return false;
        }
        Err(e) => panic!("node: {e}: the official AsyncAPI parser needs Node.js 20 (or set TIDINGS_SKIP_NODE=1)"),
    };
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(
        output.status.success() && text.lines().any(|l| l == "1 valid, 0 invalid"),
        "the official AsyncAPI parser rejected {} (run `npm ci --ignore-scripts` in tests/asyncapi-parser first):\n{text}",
        file.display()
    );
    true
}

#[test]
fn the_document_of_a_kafka_service_shows_its_bindings_and_passes_the_official_parser() {
    // No broker needed: the document touches none.
    let url = "kafka://127.0.0.1:9092?client_id=it-service&protocol_version=3.7";
    let doc = tidings::app!().ignore_env().args(TidingsArgs::default()).server("default", url).asyncapi().unwrap();
    let yaml = doc.to_yaml();
    let v: serde_json::Value = serde_json::from_str(&doc.to_json()).unwrap();
    assert_eq!(
        v["servers"]["default"],
        serde_json::json!({"host": "127.0.0.1:9092", "protocol": "kafka", "protocolVersion": "3.7"})
    );
    assert_eq!(
        v["channels"]["it.orders"]["bindings"],
        serde_json::json!({"kafka": {"topic": "it.orders", "bindingVersion": "0.5.0"}})
    );
    assert_eq!(
        v["operations"]["roundtrip"]["bindings"],
        serde_json::json!({"kafka": {
            "groupId": {"type": "string", "enum": ["roundtrip"]},
            "clientId": {"type": "string", "enum": ["it-service"]},
            "bindingVersion": "0.5.0",
        }})
    );
    assert_eq!(
        v["operations"]["orders"]["bindings"],
        serde_json::json!({"kafka": {"clientId": {"type": "string", "enum": ["it-service"]}, "bindingVersion": "0.5.0"}}),
        "the producer"
    );
    // Every consumer's dead-letter topic, parameterized ones included.
    for (op, channel) in [("roundtrip_dlq", "it.orders.dlq"), ("doomed_dlq", "it.doomed.dlq"), ("regional_dlq", "it.region.orders.dlq")] {
        assert_eq!(v["operations"][op]["action"], "send", "{op}");
        assert_eq!(v["operations"][op]["channel"]["$ref"], format!("#/channels/{channel}"), "{op}");
    }
    assert_eq!(v["channels"]["it.region.orders.dlq"]["address"], "it.{region}.orders.dlq");
    assert_eq!(
        v["channels"]["it.doomed.dlq"]["bindings"],
        serde_json::json!({"kafka": {"topic": "it.doomed.dlq", "bindingVersion": "0.5.0"}})
    );
    let dir = std::env::temp_dir().join(format!("tidings-kafka-doc-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("kafka-service.yaml");
    std::fs::write(&file, yaml).unwrap();
    official_parser_accepts(&file);
    let _ = std::fs::remove_dir_all(&dir);
}
