//! Declared keys and queue options on a real SQS endpoint: `key = customer` on a
//! producer is the `MessageGroupId` of a FIFO queue (per-group order held across
//! workers), and `App::channel_options(.., SqsQueue)` sets a created queue's attributes
//! and its dead-letter queue (which receives the poison message); the document shows
//! the sqs binding.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_sqs::types::QueueAttributeName;
use common::*;
use tidings::prelude::*;
use tidings::{Outgoing, Running, TidingsArgs};
use tidings_sqs::SqsQueue;

const WAIT: Duration = Duration::from_secs(60);

/// A test order, grouped by its customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Message)]
#[message(name = "SqsGroupedOrder")]
pub struct GroupedOrder {
    /// Order number.
    pub n: u32,
    /// The customer: the FIFO group.
    pub customer: String,
}

/// Publishes orders grouped by customer.
#[tidings::producer(channel = "so.orders.fifo", key = customer)]
pub static GROUPED: Producer<GroupedOrder>;

/// What the handlers saw: (consumer, order, key).
#[derive(Default)]
pub struct Log(Mutex<Vec<(&'static str, GroupedOrder, Option<String>)>>);

impl Log {
    fn push(&self, consumer: &'static str, order: GroupedOrder, key: Option<String>) {
        self.0.lock().unwrap().push((consumer, order, key));
    }
    fn of(&self, consumer: &str) -> Vec<(GroupedOrder, Option<String>)> {
        self.0.lock().unwrap().iter().filter(|s| s.0 == consumer).map(|s| (s.1.clone(), s.2.clone())).collect()
    }
}

fn key_text(key: Key) -> Option<String> {
    key.0.map(|k| String::from_utf8_lossy(&k).into_owned())
}

/// Handles grouped orders on 8 workers, each taking a while, later orders quicker.
#[tidings::consumer(channel = "so.orders.fifo", group = "grouped", concurrency = 8)]
async fn handle_grouped(order: GroupedOrder, key: Key, log: State<Log>) {
    tokio::time::sleep(Duration::from_millis(u64::from(30 - order.n % 30))).await;
    log.push("grouped", order, key_text(key));
}

/// Takes only well-formed orders; its queue's options are declared.
#[tidings::consumer(channel = "so.strict", group = "strict")]
async fn strict(order: GroupedOrder, key: Key, log: State<Log>) {
    log.push("strict", order, key_text(key));
}

/// The declared dead-letter queue of `so.strict` in run `run` (names are as written:
/// no queue prefix is added).
fn declared_dlq(run: &str) -> String {
    format!("{run}-declared-dead")
}

fn app(run: &str, log: Arc<Log>) -> tidings::App {
    tidings::app!()
        .ignore_env()
        .args(TidingsArgs::default())
        .server("default", url(run))
        .channel_options(
            "so.strict",
            SqsQueue::new().visibility_timeout(Duration::from_secs(7)).receive_wait(Duration::from_secs(2)).redrive(declared_dlq(run), 5),
        )
        .channel_options("so.orders.fifo", SqsQueue::new().fifo().content_based_dedup(true))
        .state_arc(log)
        .shutdown_timeout(Duration::from_secs(30))
}

async fn start(run: &str, log: Arc<Log>) -> Running {
    require_sqs();
    tidings_sqs::link();
    app(run, log).start_without_cli().await.unwrap_or_else(|e| panic!("the service starts on SQS: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_declared_key_is_the_fifo_group_and_keeps_each_group_in_order() {
    let run = run_id("groups");
    let log = Arc::new(Log::default());
    let app = start(&run, log.clone()).await;
    let ctx = app.context();
    let customers = ["ada", "bob", "cy"];
    let total = 45u32;
    // Concurrent publishes per customer would have no order to keep: one publisher.
    for n in 0..total {
        GROUPED.publish(&ctx, GroupedOrder { n, customer: customers[n as usize % 3].into() }).await.unwrap();
    }
    wait_for(WAIT, "every order handled", || (log.of("grouped").len() >= total as usize).then_some(()), || {
        format!("{:?}", log.of("grouped").iter().map(|(o, _)| o.n).collect::<Vec<_>>())
    })
    .await;
    app.shutdown().await.unwrap();

    let mut per_group: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for (order, key) in log.of("grouped") {
        assert_eq!(key.as_deref(), Some(order.customer.as_str()), "the declared key travels: order {}", order.n);
        per_group.entry(order.customer).or_default().push(order.n);
    }
    for (i, customer) in customers.iter().enumerate() {
        let want: Vec<u32> = (0..total).filter(|n| *n as usize % 3 == i).collect();
        assert_eq!(per_group[*customer], want, "group `{customer}` handled in publish order, once each");
    }
    let admin = admin(&run).await;
    let queue = admin.queue("so.orders.fifo").await.unwrap();
    assert!(queue.fifo, "{queue:?}");
    let attributes = admin
        .client()
        .get_queue_attributes()
        .queue_url(&queue.url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .unwrap();
    let content_based = attributes.attributes().and_then(|a| a.get(&QueueAttributeName::ContentBasedDeduplication)).cloned();
    assert_eq!(content_based.as_deref(), Some("true"), "the declared deduplication");
    assert_drained(&admin, &queue.url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declared_queue_options_set_the_attributes_and_the_dead_letter_queue() {
    let run = run_id("declared");
    let log = Arc::new(Log::default());
    let app = start(&run, log.clone()).await;
    let ctx = app.context();
    let admin = admin(&run).await;

    // The queue tidings created carries the declared attributes.
    let queue = admin.queue("so.strict").await.unwrap();
    let out = admin
        .client()
        .get_queue_attributes()
        .queue_url(&queue.url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .unwrap();
    let attributes = out.attributes().cloned().unwrap_or_default();
    let get = |name: QueueAttributeName| attributes.get(&name).cloned().unwrap_or_default();
    assert_eq!(get(QueueAttributeName::VisibilityTimeout), "7");
    assert_eq!(get(QueueAttributeName::ReceiveMessageWaitTimeSeconds), "2");
    let policy: serde_json::Value = serde_json::from_str(&get(QueueAttributeName::RedrivePolicy)).expect("a redrive policy");
    let target = policy["deadLetterTargetArn"].as_str().unwrap_or_default();
    assert!(target.ends_with(&format!(":{}", declared_dlq(&run))), "redrive target {target}");
    assert_eq!(policy["maxReceiveCount"].to_string().trim_matches('"'), "5");

    // A poison message goes to the declared dead-letter queue, not `<queue>-dlq`.
    let poison = Outgoing { payload: "this is not JSON".into(), ..Default::default() };
    ctx.publish_raw("so.strict", poison).await.unwrap();
    let good = GroupedOrder { n: 2, customer: "bob".into() };
    ctx.publish("so.strict", &good).await.unwrap();
    let dlq = admin.dead_letter_queue("so.strict").await.unwrap();
    assert_eq!(dlq.name, declared_dlq(&run));
    let dead = read_queue(&admin, &dlq.url, 1, WAIT).await;
    wait_for(WAIT, "the good order", || (!log.of("strict").is_empty()).then_some(()), || "none".into()).await;
    app.shutdown().await.unwrap();
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0].body, "this is not JSON");
    assert!(dead[0].attributes["x-tidings-dlq-reason"].contains("cannot decode"), "{:?}", dead[0].attributes);
    assert_eq!(log.of("strict").into_iter().map(|(o, _)| o).collect::<Vec<_>>(), vec![good]);
    let default_dlq = format!("{run}-so-strict-dlq");
    let listed = admin.client().list_queues().queue_name_prefix(&default_dlq).send().await.unwrap();
    assert!(listed.queue_urls().is_empty(), "the server's default dead-letter queue was not used: {:?}", listed.queue_urls());
    assert_drained(&admin, &queue.url).await;
}

#[tokio::test]
async fn options_that_do_not_fit_the_queue_fail_the_start_naming_the_channel() {
    require_sqs();
    tidings_sqs::link();
    let run = run_id("misfit");
    let err = tidings::app!()
        .ignore_env()
        .args(TidingsArgs::default())
        .server("default", url(&run))
        .channel_options("so.strict", SqsQueue::new().fifo())
        .start_without_cli()
        .await
        .err()
        .expect("a FIFO declaration on a standard queue fails the start");
    let text = err.to_string();
    assert!(text.contains("so.strict") && text.contains(".fifo"), "{text}");
}

#[test]
fn the_document_shows_the_declared_queue() {
    let document = app("doc", Arc::default()).asyncapi().expect("a document");
    let json: serde_json::Value = serde_json::from_str(&document.to_json()).unwrap();
    assert_eq!(
        json["channels"]["so.strict"]["bindings"]["sqs"],
        serde_json::json!({
            "queue": {
                "name": "doc-so-strict",
                "fifoQueue": false,
                "visibilityTimeout": 7,
                "receiveMessageWaitTime": 2,
                "redrivePolicy": {"deadLetterQueue": {"name": "doc-declared-dead"}, "maxReceiveCount": 5},
            },
            "deadLetterQueue": {"name": "doc-declared-dead", "fifoQueue": false},
            "bindingVersion": "0.2.0",
        })
    );
    assert_eq!(json["channels"]["so.orders.fifo"]["bindings"]["sqs"]["queue"]["fifoQueue"], true);
}
