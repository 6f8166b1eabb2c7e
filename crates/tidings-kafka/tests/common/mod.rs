//! Helpers of the tests against the real Kafka-protocol broker (Tansu on
//! 127.0.0.1:9092, started by `bash scripts/brokers/start.sh`).
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers as _, Message as _};
use rdkafka::{Offset, TopicPartitionList};

/// Where the tests find the broker.
pub const BOOTSTRAP: &str = "127.0.0.1:9092";

/// Fails the test (never skips it) when nothing answers on 127.0.0.1:9092.
pub fn require_broker() {
    let addr: SocketAddr = BOOTSTRAP.parse().expect("a socket address");
    if let Err(e) = TcpStream::connect_timeout(&addr, Duration::from_secs(3)) {
        panic!(
            "no Kafka-protocol broker on {BOOTSTRAP} ({e}): these tests need one; \
             start it with `bash scripts/brokers/start.sh`"
        );
    }
}

/// A fresh id for this run: topics and groups named with it do not collide with
/// earlier runs against the same broker.
pub fn run_id(test: &str) -> String {
    format!("t{}-{test}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

/// The server URL of one test run: topics and groups prefixed with the run id, a short
/// session timeout (a first join takes about half of it), quick commits.
pub fn url(run: &str) -> String {
    format!(
        "kafka://{BOOTSTRAP}?topic_prefix={run}.&group_prefix={run}-&session_timeout_ms=6000\
         &commit_interval_ms=50&client_id={run}"
    )
}

/// Polls `check` every 50 ms until it returns `Some`, or fails the test after `timeout`
/// with `what` and the last state `describe` gives.
pub async fn wait_for<T>(
    timeout: Duration,
    what: &str,
    mut check: impl FnMut() -> Option<T>,
    describe: impl Fn() -> String,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return v;
        }
        if Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for {what}; state: {}", describe());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One message read back from a topic.
#[derive(Debug, Clone)]
pub struct ReadMessage {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub payload: Vec<u8>,
    pub headers: HashMap<String, String>,
}

fn client(extra: &[(&str, &str)]) -> ClientConfig {
    let mut cc = ClientConfig::new();
    cc.set("bootstrap.servers", BOOTSTRAP).set("enable.auto.commit", "false").set("enable.partition.eof", "false");
    for (k, v) in extra {
        cc.set(*k, *v);
    }
    cc
}

/// Partition numbers of `topic`, waiting (bounded) for it to exist.
pub fn partitions(consumer: &BaseConsumer, topic: &str, timeout: Duration) -> Vec<i32> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(md) = consumer.fetch_metadata(Some(topic), Duration::from_secs(5)) {
            if let Some(t) = md.topics().iter().find(|t| t.name() == topic) {
                if t.error().is_none() && !t.partitions().is_empty() {
                    return t.partitions().iter().map(|p| p.id()).collect();
                }
            }
        }
        if Instant::now() >= deadline {
            panic!("topic `{topic}` did not appear within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Reads `topic` from the beginning of every partition (no group) until `count`
/// messages arrived; fails the test after `timeout`. Blocking.
pub fn read_topic(topic: &str, count: usize, timeout: Duration) -> Vec<ReadMessage> {
    let consumer: BaseConsumer = client(&[("group.id", "tidings-tests-reader")]).create().expect("a reader consumer");
    let mut tpl = TopicPartitionList::new();
    for p in partitions(&consumer, topic, timeout) {
        tpl.add_partition_offset(topic, p, Offset::Beginning).expect("a valid offset");
    }
    consumer.assign(&tpl).expect("assign");
    let deadline = Instant::now() + timeout;
    let mut out = Vec::new();
    while out.len() < count {
        if Instant::now() >= deadline {
            panic!("read {} of {count} messages from `{topic}` within {timeout:?}: {out:?}", out.len());
        }
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => out.push(ReadMessage {
                partition: m.partition(),
                offset: m.offset(),
                key: m.key().map(<[u8]>::to_vec),
                payload: m.payload().unwrap_or_default().to_vec(),
                headers: m
                    .headers()
                    .map(|h| {
                        h.iter()
                            .map(|h| (h.key.to_owned(), String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned()))
                            .collect()
                    })
                    .unwrap_or_default(),
            }),
            Some(Err(e)) => eprintln!("reader: {e}"),
            None => {}
        }
    }
    out
}

/// Committed offsets of `group` on the given partitions of `topic`. Blocking.
pub fn committed(group: &str, topic: &str, partitions: &[i32]) -> BTreeMap<i32, Option<i64>> {
    let consumer: BaseConsumer = client(&[("group.id", group)]).create().expect("a consumer");
    let mut tpl = TopicPartitionList::new();
    for p in partitions {
        tpl.add_partition(topic, *p);
    }
    let committed = consumer.committed_offsets(tpl, Duration::from_secs(10)).expect("committed offsets");
    committed
        .elements()
        .iter()
        .map(|e| {
            let offset = match e.offset() {
                Offset::Offset(o) => Some(o),
                _ => None,
            };
            (e.partition(), offset)
        })
        .collect()
}

/// Fails unless `group` committed every one of the `count` messages of `topic`: on
/// each partition, the offset after its last message. (Read back rather than asked for
/// the high watermark, which Tansu 0.6 reports as the start of the last batch.) Blocking.
pub fn assert_all_committed(group: &str, topic: &str, count: usize) {
    let mut ends: BTreeMap<i32, i64> = BTreeMap::new();
    for m in read_topic(topic, count, Duration::from_secs(60)) {
        let end = ends.entry(m.partition).or_default();
        *end = (*end).max(m.offset + 1);
    }
    let partitions: Vec<i32> = ends.keys().copied().collect();
    let committed = committed(group, topic, &partitions);
    for (partition, end) in &ends {
        assert_eq!(
            committed.get(partition).copied().flatten(),
            Some(*end),
            "group `{group}` on `{topic}` partition {partition}: committed vs the offset after its last message; \
             all partitions (committed): {committed:?}, (ends): {ends:?}"
        );
    }
}
