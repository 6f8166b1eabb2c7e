//! The `Broker` API of `KafkaBroker` on the real broker, without the pipeline: what the
//! pipeline relies on (one message of a partition out at a time, redelivery in place,
//! errors that name what and where).

mod common;

use std::time::{Duration, Instant};

use common::*;
use tidings::broker::{Broker, Nack, SubscribeSpec, Subscription};
use tidings::Outgoing;
use tidings_kafka::KafkaBroker;

const WAIT: Duration = Duration::from_secs(60);

fn message(body: &str, key: &str) -> Outgoing {
    Outgoing { payload: body.as_bytes().to_vec().into(), key: Some(key.as_bytes().to_vec().into()), ..Default::default() }
}

fn spec(address: &str, group: &str) -> SubscribeSpec {
    SubscribeSpec { address: address.into(), group: Some(group.into()), consumer: group.into() }
}

/// Plain options: no quick metadata refresh, so subscribing must work on its own.
fn plain_url(run: &str) -> String {
    format!("kafka://{BOOTSTRAP}?topic_prefix={run}.&group_prefix={run}-&session_timeout_ms=6000")
}

async fn next(sub: &dyn Subscription, what: &str) -> tidings::broker::Delivery {
    tokio::time::timeout(WAIT, sub.next())
        .await
        .unwrap_or_else(|_| panic!("no delivery within {WAIT:?}: {what}"))
        .unwrap_or_else(|| panic!("the subscription ended: {what}"))
}

fn body(d: &tidings::broker::Delivery) -> String {
    String::from_utf8_lossy(&d.incoming.payload).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_subscribed_before_its_topic_exists_gets_what_is_published_later() {
    require_broker();
    let run = run_id("early");
    let broker = KafkaBroker::connect("main", &plain_url(&run)).await.unwrap();
    let sub = broker.subscribe(spec("early.events", "g")).await.unwrap();
    // Let the group form around a topic nobody has published to.
    tokio::time::sleep(Duration::from_secs(4)).await;
    broker.publish("early.events", message("first", "k")).await.unwrap();
    let d = next(sub.as_ref(), "the message published after subscribing").await;
    assert_eq!(body(&d), "first");
    assert_eq!(&*d.incoming.channel, "early.events");
    assert_eq!(d.incoming.attempt, 1);
    d.acker.ack().await.unwrap();
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_hands_out_one_message_at_a_time_and_a_retry_comes_back_first() {
    require_broker();
    let run = run_id("inplace");
    let broker = KafkaBroker::connect("main", &url(&run)).await.unwrap();
    for body in ["m0", "m1", "m2"] {
        broker.publish("inplace", message(body, "same-key")).await.unwrap();
    }
    let sub = broker.subscribe(spec("inplace", "g")).await.unwrap();
    let d0 = next(sub.as_ref(), "m0").await;
    assert_eq!(body(&d0), "m0");
    // m1 is in the same partition: it must not go out while m0 is unsettled.
    assert!(
        tokio::time::timeout(Duration::from_millis(1500), sub.next()).await.is_err(),
        "a second message of the partition went out while the first was unsettled"
    );
    d0.acker.nack(Nack::Retry { after: Duration::from_millis(200) }, &d0.incoming).await.unwrap();
    let again = next(sub.as_ref(), "m0 again").await;
    assert_eq!((body(&again).as_str(), again.incoming.attempt), ("m0", 2), "the retried message comes back first");
    again.acker.ack().await.unwrap();
    let d1 = next(sub.as_ref(), "m1").await;
    assert_eq!((body(&d1).as_str(), d1.incoming.attempt), ("m1", 1));
    // Dropping an unsettled delivery (an aborted worker) hands it out again.
    drop(d1);
    let d1 = next(sub.as_ref(), "m1 after the drop").await;
    assert_eq!(body(&d1), "m1");
    d1.acker.ack().await.unwrap();
    let d2 = next(sub.as_ref(), "m2").await;
    assert_eq!(body(&d2), "m2");
    d2.acker.ack().await.unwrap();
    broker.shutdown().await;
    let topic = format!("{run}.inplace");
    tokio::task::spawn_blocking(move || assert_all_committed(&format!("{run}-g"), &topic, 3)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitions_flow_in_parallel_while_one_is_busy() {
    require_broker();
    let run = run_id("parallel");
    let broker = KafkaBroker::connect("main", &url(&run)).await.unwrap();
    // Keys until two partitions are used (Tansu creates 4 per topic).
    let keys: Vec<String> = (0..32).map(|i| format!("key-{i}")).collect();
    for key in &keys {
        broker.publish("parallel", message(key, key)).await.unwrap();
    }
    let sub = broker.subscribe(spec("parallel", "g")).await.unwrap();
    // Hold the first delivery unsettled; the others of other partitions keep coming.
    let held = next(sub.as_ref(), "the first message").await;
    let mut others = Vec::new();
    let deadline = Instant::now() + WAIT;
    while others.is_empty() {
        assert!(Instant::now() < deadline, "no other partition delivered while one was busy");
        if let Ok(Some(d)) = tokio::time::timeout(Duration::from_millis(500), sub.next()).await {
            others.push(d);
        }
    }
    held.acker.ack().await.unwrap();
    for d in others {
        d.acker.ack().await.unwrap();
    }
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_addresses_are_errors_naming_them() {
    require_broker();
    let run = run_id("bad");
    let broker = KafkaBroker::connect("main", &url(&run)).await.unwrap();
    let err = broker.publish("orders created", message("x", "k")).await.unwrap_err().to_string();
    assert!(err.contains("orders created"), "{err}");
    let err = broker.subscribe(spec("orders/{region}", "g")).await.err().expect("an error").to_string();
    assert!(err.contains("orders/{region}"), "{err}");
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_broker_fails_the_connection_with_a_clear_error() {
    // Port 1 on the loopback: nothing listens there.
    let err = KafkaBroker::connect("main", "kafka://127.0.0.1:1").await.expect_err("an error").to_string();
    assert!(err.contains("127.0.0.1:1") && err.contains("did not answer"), "{err}");
}

/// The names of this process's threads (`/proc/self/task/*/comm`, 15 bytes at most).
fn thread_names() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .map(|tasks| {
            tasks
                .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
                .map(|name| name.trim_end().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The producer's poll thread sleeps while nothing is in flight: publishes that start
/// together after a quiet spell must all be confirmed, and dropping the broker ends the
/// thread. (How soon they are confirmed is not asserted: a lost wake-up would still be
/// served by the thread's idle poll a second later; `docs/benchmarks.md` has the timing.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishes_after_an_idle_spell_are_confirmed_and_dropping_the_broker_ends_its_poll_thread() {
    require_broker();
    let run = run_id("idle");
    // Thread names are cut to 15 bytes: "kafka-pub-idlep" is this test's producer.
    let thread = "kafka-pub-idlepub"[..15].to_owned();
    let broker = KafkaBroker::connect("idlepub", &url(&run)).await.unwrap();
    assert_eq!(thread_names().iter().filter(|n| **n == thread).count(), 1, "one poll thread: {:?}", thread_names());
    for round in 0..3 {
        // Longer than the poll thread's idle wait, so it is asleep when the round starts.
        tokio::time::sleep(Duration::from_millis(2500)).await;
        let sends = (0..20).map(|i| broker.publish("idle.events", message(&format!("{round}-{i}"), &format!("k{i}"))));
        let confirmed = tokio::time::timeout(WAIT, futures::future::join_all(sends))
            .await
            .unwrap_or_else(|_| panic!("round {round}: publishes not confirmed within {WAIT:?}"));
        for (i, result) in confirmed.into_iter().enumerate() {
            result.unwrap_or_else(|e| panic!("round {round}, publish {i}: {e}"));
        }
    }
    let stopped = tokio::time::timeout(
        WAIT,
        // Dropping joins the poll thread: blocking.
        tokio::task::spawn_blocking(move || {
            drop(broker);
            thread_names()
        }),
    )
    .await
    .expect("dropping the broker returned")
    .unwrap();
    assert!(!stopped.contains(&thread), "the poll thread ended with its producer: {stopped:?}");
}
