//! The real pipeline on a real SQS endpoint: a small service (the consumers below)
//! started with `App::server("default", "sqs://us-east-1?endpoint=...")`, one run id per
//! test so queues never collide with other tests or earlier runs.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use tidings::broker::Broker;
use tidings::prelude::*;
use tidings::{Outgoing, Running, TidingsArgs};

const WAIT: Duration = Duration::from_secs(60);

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Item {
    /// Stock keeping unit.
    pub sku: String,
    /// How many.
    pub quantity: u32,
}

/// A test order, shaped like the example's `OrderCreated`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Message)]
#[message(name = "SqsTestOrder")]
pub struct Order {
    /// Order number.
    pub n: u32,
    /// Which key (FIFO group) it was published with.
    pub key: String,
    /// What was ordered.
    pub items: Vec<Item>,
    /// Total, as the decimal string it is on the wire.
    pub total: String,
}

fn order(n: u32, key: &str) -> Order {
    Order {
        n,
        key: key.to_owned(),
        items: vec![Item { sku: format!("sku-{n}"), quantity: n % 3 + 1 }],
        total: format!("{n}.50"),
    }
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
    fn attempts(&self, consumer: &str) -> Vec<(u32, u32, bool)> {
        self.of(consumer).iter().map(|s| (s.order.n, s.attempt, s.ok)).collect()
    }
}

#[allow(clippy::too_many_arguments)]
fn record(log: &Log, consumer: &'static str, order: &Order, key: Key, headers: Headers, attempt: u32, channel: String, ok: bool) {
    let key = key.0.map(|k| String::from_utf8_lossy(&k).into_owned());
    log.0.lock().unwrap().push(Seen { consumer, order: order.clone(), key, headers, attempt, channel, ok });
}

/// Publishes test orders.
#[tidings::producer(channel = "it.orders")]
pub static ORDERS: Producer<Order>;

/// Records every order with its key and headers.
#[tidings::consumer(channel = "it.orders", group = "roundtrip")]
async fn roundtrip(order: Order, key: Key, headers: Headers, attempt: Attempt, channel: Channel, log: State<Log>) {
    record(&log, "roundtrip", &order, key, headers, attempt.0, channel.0, true);
}

/// Fails the first two attempts of order 0, then succeeds; other orders succeed.
#[tidings::consumer(channel = "it.flaky", group = "flaky", max_attempts = 4)]
async fn flaky(order: Order, key: Key, headers: Headers, attempt: Attempt, log: State<Log>) -> Result<(), Error> {
    let ok = order.n != 0 || attempt.0 >= 3;
    record(&log, "flaky", &order, key, headers, attempt.0, String::new(), ok);
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
    record(&log, "doomed", &order, key, headers, attempt.0, String::new(), ok);
    if ok {
        Ok(())
    } else {
        Err(Error::msg("order 0 always fails"))
    }
}

/// Takes only well-formed orders (a non-JSON body never gets here).
#[tidings::consumer(channel = "it.strict", group = "strict")]
async fn strict(order: Order, key: Key, headers: Headers, attempt: Attempt, log: State<Log>) {
    record(&log, "strict", &order, key, headers, attempt.0, String::new(), true);
}

/// FIFO orders, many workers: each group must still be handled in order.
#[tidings::consumer(channel = "it.orders.fifo", group = "fifo", concurrency = 8)]
async fn fifo(order: Order, key: Key, headers: Headers, attempt: Attempt, log: State<Log>) {
    // Uneven handling times: without per-group ordering, later messages would overtake.
    tokio::time::sleep(Duration::from_millis(u64::from((order.n * 7919) % 40))).await;
    record(&log, "fifo", &order, key, headers, attempt.0, String::new(), true);
}

/// Order 0 takes far longer than the visibility timeout (3 s).
#[tidings::consumer(channel = "it.slow", group = "slow", concurrency = 4)]
async fn slow(order: Order, key: Key, headers: Headers, attempt: Attempt, log: State<Log>) {
    record(&log, "slow-start", &order, key.clone(), headers.clone(), attempt.0, String::new(), true);
    if order.n == 0 {
        tokio::time::sleep(Duration::from_secs(10)).await;
    }
    record(&log, "slow", &order, key, headers, attempt.0, String::new(), true);
}

async fn start(run: &str, log: Arc<Log>) -> Running {
    require_sqs();
    tidings_sqs::link();
    tidings::app!()
        .ignore_env()
        .args(TidingsArgs::default())
        .server("default", url(run))
        .state_arc(log)
        .shutdown_timeout(Duration::from_secs(30))
        .start_without_cli()
        .await
        .unwrap_or_else(|e| panic!("the service starts on SQS: {e}"))
}

async fn publish(ctx: &Context, channel: &str, n: u32, key: &str) {
    let options = PublishOptions::default().key(key.to_owned());
    let message = ctx.encode(&order(n, key)).expect("encode");
    let mut message = Outgoing { key: options.key, ..message };
    message.headers.insert("x-test", format!("h{n}"));
    ctx.publish_raw(channel, message).await.unwrap_or_else(|e| panic!("publish order {n} to {channel}: {e}"));
}

/// An order as a raw message, for publishing from outside the service.
fn raw_order(n: u32, key: &str) -> Outgoing {
    Outgoing {
        payload: serde_json::to_vec(&order(n, key)).expect("JSON").into(),
        headers: [("content-type", "application/json"), ("x-tidings-message", "SqsTestOrder")].into_iter().collect(),
        key: Some(key.to_owned().into()),
    }
}

#[test]
fn the_sqs_scheme_is_registered() {
    assert_eq!(tidings_sqs::link(), "sqs");
    assert!(tidings::broker::known_schemes().contains(&"sqs"), "{:?}", tidings::broker::known_schemes());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trip_of_orders_as_json_with_key_and_headers_then_deleted() {
    let run = run_id("roundtrip");
    let log = Arc::new(Log::default());
    let app = start(&run, log.clone()).await;
    let ctx = app.context();
    for n in 0..25u32 {
        let options = PublishOptions::default().key(format!("customer-{}", n % 4)).header("x-test", format!("h{n}"));
        ORDERS.publish_with(&ctx, order(n, &format!("customer-{}", n % 4)), options).await.unwrap();
    }
    wait_for(WAIT, "25 orders handled", || (log.of("roundtrip").len() >= 25).then_some(()), || {
        format!("{} handled", log.of("roundtrip").len())
    })
    .await;
    app.shutdown().await.unwrap();

    let seen = log.of("roundtrip");
    let mut ns: Vec<u32> = seen.iter().map(|s| s.order.n).collect();
    ns.sort_unstable();
    assert_eq!(ns, (0..25).collect::<Vec<_>>(), "each order exactly once");
    for s in &seen {
        assert_eq!(s.order, order(s.order.n, &s.order.key), "the JSON payload round-trips");
        assert_eq!(s.key.as_deref(), Some(s.order.key.as_str()), "the key travels: {s:?}");
        assert_eq!(s.channel, "it.orders", "the channel is the address, not the queue name");
        assert_eq!(s.attempt, 1, "ApproximateReceiveCount is the attempt");
        assert_eq!(s.headers.get("content-type"), Some("application/json"));
        assert_eq!(s.headers.get("x-tidings-message"), Some("SqsTestOrder"));
        assert!(s.headers.get("correlation-id").is_some_and(|c| !c.is_empty()), "{s:?}");
        assert_eq!(s.headers.get("x-test").map(str::to_owned), Some(format!("h{}", s.order.n)));
        let tp = s.headers.get("traceparent").unwrap_or_else(|| panic!("no traceparent: {s:?}"));
        assert!(tp.starts_with("00-") && tp.len() == 55, "traceparent `{tp}`");
    }
    let admin = admin(&run).await;
    let queue = admin.queue("it.orders").await.unwrap();
    assert_eq!(queue.name, format!("{run}-it-orders"), "dots become dashes, the prefix goes first");
    assert_drained(&admin, &queue.url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_failing_twice_then_succeeding_is_retried_and_deleted() {
    let run = run_id("flaky");
    let log = Arc::new(Log::default());
    let app = start(&run, log.clone()).await;
    let ctx = app.context();
    publish(&ctx, "it.flaky", 0, "k").await;
    publish(&ctx, "it.flaky", 1, "k").await;
    wait_for(WAIT, "order 0 succeeding on its third attempt", || log.attempts("flaky").contains(&(0, 3, true)).then_some(()), || {
        format!("{:?}", log.attempts("flaky"))
    })
    .await;
    wait_for(WAIT, "order 1", || log.attempts("flaky").iter().any(|a| a.0 == 1).then_some(()), || format!("{:?}", log.attempts("flaky")))
        .await;
    app.shutdown().await.unwrap();

    let mut zero: Vec<(u32, u32, bool)> = log.attempts("flaky").into_iter().filter(|a| a.0 == 0).collect();
    zero.sort();
    assert_eq!(zero, vec![(0, 1, false), (0, 2, false), (0, 3, true)], "one handling per attempt, attempts counted by SQS");
    assert_eq!(log.attempts("flaky").iter().filter(|a| a.0 == 1).count(), 1);
    let admin = admin(&run).await;
    let queue = admin.queue("it.flaky").await.unwrap();
    assert_drained(&admin, &queue.url).await;
    let dlq = admin.dead_letter_queue("it.flaky").await.unwrap();
    assert_eq!(depth(&admin, &dlq.url).await, (0, 0, 0), "nothing was dead-lettered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_failing_forever_ends_in_the_dead_letter_queue_with_why_and_where_from() {
    let run = run_id("doomed");
    let log = Arc::new(Log::default());
    let app = start(&run, log.clone()).await;
    let ctx = app.context();
    publish(&ctx, "it.doomed", 0, "k").await;
    publish(&ctx, "it.doomed", 1, "k").await;
    let admin = admin(&run).await;
    let dlq = admin.dead_letter_queue("it.doomed").await.unwrap();
    assert_eq!(dlq.name, format!("{run}-it-doomed-dlq"));
    let dead = read_queue(&admin, &dlq.url, 1, WAIT).await;
    wait_for(WAIT, "order 1", || log.attempts("doomed").iter().any(|a| a.0 == 1).then_some(()), || format!("{:?}", log.attempts("doomed")))
        .await;
    app.shutdown().await.unwrap();

    let mut zero: Vec<(u32, u32, bool)> = log.attempts("doomed").into_iter().filter(|a| a.0 == 0).collect();
    zero.sort();
    assert_eq!(zero, vec![(0, 1, false), (0, 2, false)], "max_attempts = 2, then rejected");
    assert_eq!(dead.len(), 1, "{dead:?}");
    let d = &dead[0];
    assert_eq!(serde_json::from_str::<Order>(&d.body).unwrap(), order(0, "k"), "the body is kept");
    let queue = admin.queue("it.doomed").await.unwrap();
    assert_eq!(d.attributes.get("x-tidings-dlq-queue"), Some(&queue.name));
    assert_eq!(d.attributes.get("x-tidings-dlq-attempts").map(String::as_str), Some("2"));
    assert_eq!(d.attributes.get("x-tidings-dlq-consumer").map(String::as_str), Some("doomed"));
    assert!(d.attributes.get("x-tidings-dlq-message-id").is_some_and(|m| !m.is_empty()), "{d:?}");
    let reason = &d.attributes["x-tidings-dlq-reason"];
    assert!(reason.contains("2 attempt") && reason.contains("order 0 always fails"), "reason: {reason}");
    let original = &log.of("doomed")[0].headers;
    for name in ["correlation-id", "x-tidings-message", "content-type", "traceparent"] {
        assert_eq!(d.attributes.get(name).map(String::as_str), original.get(name), "attribute {name} is kept");
    }
    assert_drained(&admin, &queue.url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_body_is_dead_lettered_at_once_and_the_rest_keep_flowing() {
    let run = run_id("poison");
    let log = Arc::new(Log::default());
    let app = start(&run, log.clone()).await;
    let ctx = app.context();
    publish(&ctx, "it.strict", 0, "k").await;
    let poison = Outgoing { payload: "this is not JSON".into(), ..Default::default() };
    ctx.publish_raw("it.strict", poison).await.unwrap();
    for n in 1..=5 {
        publish(&ctx, "it.strict", n, "k").await;
    }
    wait_for(WAIT, "the 6 good orders handled", || (log.of("strict").len() >= 6).then_some(()), || {
        format!("{:?}", log.of("strict").iter().map(|s| s.order.n).collect::<Vec<_>>())
    })
    .await;
    let admin = admin(&run).await;
    let dlq = admin.dead_letter_queue("it.strict").await.unwrap();
    let dead = read_queue(&admin, &dlq.url, 1, WAIT).await;
    app.shutdown().await.unwrap();

    let mut handled: Vec<(u32, u32)> = log.of("strict").iter().map(|s| (s.order.n, s.attempt)).collect();
    handled.sort();
    assert_eq!(handled, (0..=5).map(|n| (n, 1)).collect::<Vec<_>>(), "each good order once, past the poison message");
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0].body, "this is not JSON");
    assert_eq!(dead[0].attributes.get("x-tidings-dlq-attempts").map(String::as_str), Some("1"), "rejected at once");
    assert!(dead[0].attributes["x-tidings-dlq-reason"].contains("cannot decode"), "{:?}", dead[0].attributes);
    let queue = admin.queue("it.strict").await.unwrap();
    assert_drained(&admin, &queue.url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifo_groups_stay_in_order_across_workers_and_duplicates_are_dropped() {
    let run = run_id("fifo");
    require_sqs();
    let groups = ["alpha", "bravo", "charlie"];
    // Everything is in the queue before the service starts, so receives return several
    // messages of a group at once, and duplicates meet their originals still queued
    // (moto, unlike SQS, forgets a deduplication id once its message is deleted).
    let admin = admin(&run).await;
    for n in 0..30u32 {
        admin.publish("it.orders.fifo", raw_order(n, groups[n as usize % 3])).await.unwrap();
    }
    // The same body again (content-based deduplication), and a different body under
    // an explicit deduplication id already used.
    admin.publish("it.orders.fifo", raw_order(3, "alpha")).await.unwrap();
    let mut explicit = raw_order(100, "bravo");
    explicit.headers.insert(tidings_sqs::DEDUPLICATION_ID, "dedup-1");
    admin.publish("it.orders.fifo", explicit.clone()).await.unwrap();
    explicit.payload = serde_json::to_vec(&order(101, "bravo")).unwrap().into();
    admin.publish("it.orders.fifo", explicit).await.unwrap();
    // A last message per group: once each is handled, everything before it was too.
    for (i, g) in groups.iter().enumerate() {
        admin.publish("it.orders.fifo", raw_order(200 + i as u32, g)).await.unwrap();
    }
    let log = Arc::new(Log::default());
    let app = start(&run, log.clone()).await;
    wait_for(WAIT, "the last message of every group", || {
        let seen: Vec<u32> = log.of("fifo").iter().map(|s| s.order.n).collect();
        (200..203).all(|n| seen.contains(&n)).then_some(())
    }, || format!("{:?}", log.of("fifo").iter().map(|s| (s.order.key.clone(), s.order.n)).collect::<Vec<_>>()))
    .await;
    app.shutdown().await.unwrap();

    let mut per_group: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for s in log.of("fifo") {
        assert_eq!(s.key.as_deref(), Some(s.order.key.as_str()), "the group id is the key");
        per_group.entry(s.order.key.clone()).or_default().push(s.order.n);
    }
    let expected = |g: usize, extra: &[u32], last: u32| -> Vec<u32> {
        (0..30).filter(|n| *n as usize % 3 == g).chain(extra.iter().copied()).chain([last]).collect()
    };
    assert_eq!(per_group["alpha"], expected(0, &[], 200), "alpha in order; the repeated order 3 was dropped");
    assert_eq!(per_group["bravo"], expected(1, &[100], 201), "bravo in order; 101 reused a deduplication id");
    assert_eq!(per_group["charlie"], expected(2, &[], 202), "charlie in order");
    let queue = admin.queue("it.orders.fifo").await.unwrap();
    assert!(queue.fifo && queue.name.ends_with(".fifo"), "{queue:?}");
    assert_drained(&admin, &queue.url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_handler_keeps_its_message_hidden_until_it_finishes() {
    let run = run_id("slow");
    let log = Arc::new(Log::default());
    let app = start(&run, log.clone()).await;
    let ctx = app.context();
    publish(&ctx, "it.slow", 0, "k").await;
    wait_for(WAIT, "the slow handler to start", || (!log.of("slow-start").is_empty()).then_some(()), || "not started".into()).await;
    let admin = admin(&run).await;
    let queue = admin.queue("it.slow").await.unwrap();
    // The handler runs 10 s against a 3 s visibility timeout. Meanwhile nobody else
    // can receive the message: not this outside reader, not the service's other workers.
    let started = std::time::Instant::now();
    let mut looks = 0;
    while log.of("slow").is_empty() && started.elapsed() < Duration::from_secs(30) {
        let got = admin
            .client()
            .receive_message()
            .queue_url(&queue.url)
            .visibility_timeout(0)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("receive");
        assert!(got.messages().is_empty(), "the message showed while its handler ran: {:?}", got.messages());
        looks += 1;
    }
    wait_for(WAIT, "the slow handler to finish", || (!log.of("slow").is_empty()).then_some(()), || "still running".into()).await;
    app.shutdown().await.unwrap();
    assert!(looks >= 3, "looked {looks} times while the handler ran");
    assert_eq!(
        log.of("slow-start").iter().map(|s| (s.order.n, s.attempt)).collect::<Vec<_>>(),
        vec![(0, 1)],
        "handled once, never delivered again while it ran"
    );
    assert_drained(&admin, &queue.url).await;
}
