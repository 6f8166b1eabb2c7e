//! Helpers of the tests against the real SQS endpoint (moto server on 127.0.0.1:4566,
//! started by `bash scripts/brokers/start.sh`).
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::{SocketAddr, TcpStream};
use std::sync::Once;
use std::time::{Duration, Instant};

use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use tidings_sqs::SqsBroker;

/// Where the tests find SQS.
pub const ENDPOINT: &str = "http://127.0.0.1:4566";
const ADDRESS: &str = "127.0.0.1:4566";

/// Fails the test (never skips it) when nothing answers on 127.0.0.1:4566, and gives
/// the SDK the dummy credentials moto takes (unless the environment has some).
pub fn require_sqs() {
    let addr: SocketAddr = ADDRESS.parse().expect("a socket address");
    if let Err(e) = TcpStream::connect_timeout(&addr, Duration::from_secs(3)) {
        panic!(
            "no SQS endpoint on {ADDRESS} ({e}): these tests need moto server; \
             start it with `bash scripts/brokers/start.sh`"
        );
    }
    static ENV: Once = Once::new();
    // Before any client reads the environment; every test calls this first.
    ENV.call_once(|| {
        for (key, value) in [
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            // No instance-metadata probing on a machine that is not on EC2.
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ] {
            if std::env::var_os(key).is_none() {
                std::env::set_var(key, value);
            }
        }
    });
}

/// A fresh id for this run: queues named with it do not collide with other tests or
/// earlier runs against the same endpoint.
pub fn run_id(test: &str) -> String {
    format!("t{}-{test}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

/// The server URL of one test run: queues prefixed with the run id and created on
/// demand, short long polls, a short visibility timeout (so the heartbeat works hard).
pub fn url(run: &str) -> String {
    format!(
        "sqs://us-east-1?endpoint={ENDPOINT}&create=true&queue_prefix={run}-&wait_time_s=1\
         &visibility_timeout_s=3&delete_interval_ms=50"
    )
}

/// A broker of the run, for looking at queues from outside the service.
pub async fn admin(run: &str) -> SqsBroker {
    SqsBroker::connect("admin", &url(run)).await.expect("the admin connection")
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

/// One message read back from a queue.
#[derive(Debug, Clone)]
pub struct ReadMessage {
    pub message_id: String,
    pub body: String,
    pub attributes: HashMap<String, String>,
    pub group_id: Option<String>,
    pub receive_count: u32,
}

/// Reads (and deletes) `count` messages from the queue at `queue_url`; fails the test
/// after `timeout`.
pub async fn read_queue(admin: &SqsBroker, queue_url: &str, count: usize, timeout: Duration) -> Vec<ReadMessage> {
    let deadline = Instant::now() + timeout;
    let mut out = Vec::new();
    while out.len() < count {
        assert!(Instant::now() < deadline, "read {} of {count} messages from `{queue_url}` within {timeout:?}: {out:?}", out.len());
        let received = admin
            .client()
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .message_attribute_names("All")
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .expect("receive from the queue");
        for m in received.messages() {
            let system = m.attributes();
            let mut attributes: HashMap<String, String> = m
                .message_attributes()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.string_value().unwrap_or_default().to_owned()))
                .collect();
            // Headers beyond SQS's 10 attributes travel packed in one: unpack them, as
            // a tidings consumer does.
            if let Some(packed) = attributes.remove(tidings_sqs::wire::PACKED_HEADERS) {
                let more: HashMap<String, String> = serde_json::from_str(&packed).expect("packed headers are a JSON object");
                attributes.extend(more);
            }
            out.push(ReadMessage {
                message_id: m.message_id().unwrap_or_default().to_owned(),
                body: m.body().unwrap_or_default().to_owned(),
                attributes,
                group_id: system.and_then(|a| a.get(&MessageSystemAttributeName::MessageGroupId)).cloned(),
                receive_count: system
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(0),
            });
            if let Some(receipt) = m.receipt_handle() {
                admin.client().delete_message().queue_url(queue_url).receipt_handle(receipt).send().await.expect("delete");
            }
        }
    }
    out
}

/// Messages in the queue: (visible, in flight, delayed).
pub async fn depth(admin: &SqsBroker, queue_url: &str) -> (u64, u64, u64) {
    let out = admin
        .client()
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .expect("queue attributes");
    let get = |name: QueueAttributeName| {
        out.attributes().and_then(|a| a.get(&name)).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
    };
    (
        get(QueueAttributeName::ApproximateNumberOfMessages),
        get(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
        get(QueueAttributeName::ApproximateNumberOfMessagesDelayed),
    )
}

/// Waits (bounded) until the queue holds nothing, visible or in flight: every message
/// was deleted.
pub async fn assert_drained(admin: &SqsBroker, queue_url: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let d = depth(admin, queue_url).await;
        if d == (0, 0, 0) {
            return;
        }
        assert!(Instant::now() < deadline, "queue `{queue_url}` still holds (visible, in flight, delayed) = {d:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
