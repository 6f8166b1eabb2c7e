//! SQS (moto on 127.0.0.1:4566), tidings beside the raw aws-sdk-sqs client, same queue,
//! same messages, same run (`benches/sqs.sh` drives it):
//!
//! - `raw-publish --queue Q`: `SendMessage` per message, each awaited (the HTTP
//!   answer is SQS's confirmation), 32 in flight; fills the queue the consumers read.
//! - `raw-consume --queue Q`: one receive at a time (`ReceiveMessage`, 10 at most,
//!   long poll of 1 s), each message JSON-decoded into `OrderCreated`, then one
//!   `DeleteMessageBatch` for the receive, awaited.
//! - `tidings-consume --prefix P`: the real pipeline (`P` is the URL's `queue_prefix`,
//!   so the consumer's `bench.orders` is the queue `P` + `bench-orders`).
//! - `tidings-publish --prefix P`: N `Producer::publish`es (each returns once SQS
//!   confirmed it), 32 in flight.
//! - `raw-latency --queue Q` and `tidings-latency --prefix P` (`--rate R`, default 20 a
//!   second: moto serves a few dozen requests a second): end-to-end latency at a steady
//!   rate, as the Kafka bench's modes of the same names. One process sends N orders R a
//!   second (each JSON-encoded, stamped with the send time in a message attribute, its
//!   `SendMessage` awaited in a task of its own) and receives them as the consume modes
//!   do (10 at most, long poll of 1 s, one `DeleteMessageBatch` a receive); the handler
//!   records now minus the stamp. `raw-latency --headers` also sends the four headers
//!   a tidings publish carries (content type, correlation id, message name,
//!   `traceparent`) as message attributes.
//!
//! Throughput counts from the first message consumed. Prints one JSON line like the
//! other benches. Dummy credentials (`test`) unless the environment has some. FastStream
//! 0.7.8 has no SQS broker, so it is not here.

use std::hint::black_box;
use std::time::{Duration, Instant};

use tidings::sqs::aws_sdk_sqs;
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageAttributeValue};
use futures::StreamExt;
use order_events::OrderCreated;
use tidings::prelude::*;
use tidings_benches::{
    all_recorded, arg, bench_app, bench_order, paced, paced_publishes, publish_confirmed, record_sent, record_stamped, Recorder,
    Report, SENT_HEADER,
};

const ENDPOINT: &str = "http://127.0.0.1:4566";
const IN_FLIGHT: usize = 32;

static RECORDER: Recorder = Recorder::new();
static FIRST: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

/// The bench consumer on SQS: decode, read a field, count.
#[tidings::consumer(channel = "bench.orders", group = "bench")]
async fn consume_sqs(order: OrderCreated) {
    FIRST.get_or_init(Instant::now);
    black_box(order.items.len());
    RECORDER.tick();
}

/// The typed producer of `tidings-publish`.
#[tidings::producer(channel = "bench.published")]
static PUBLISHED: Producer<OrderCreated>;

/// The latency run's consumer: records send-to-handler time from the stamp.
#[tidings::consumer(channel = "bench.latency", group = "bench-latency")]
async fn consume_latency(order: OrderCreated, ctx: Context) {
    black_box(order.items.len());
    record_stamped(&RECORDER, &ctx);
}

/// The typed producer of `tidings-latency`.
#[tidings::producer(channel = "bench.latency")]
static LATENCY: Producer<OrderCreated>;


fn text_arg(name: &str) -> String {
    arg(name, String::new())
}

fn fail(e: impl std::fmt::Display) -> tidings::Error {
    tidings::Error::msg(e.to_string())
}

/// The raw client against moto: the SDK client as `tidings-sqs` configures it (one
/// hyper client, rustls on ring), so both sides use the same HTTP stack; every call
/// below is the SDK's own, none goes through tidings.
async fn raw_client() -> Result<aws_sdk_sqs::Client, tidings::Error> {
    let broker = tidings::sqs::SqsBroker::connect("raw", &format!("sqs://us-east-1?endpoint={ENDPOINT}")).await?;
    Ok(broker.client().clone())
}

/// The URL of `queue`, created when missing.
async fn queue_url(client: &aws_sdk_sqs::Client, queue: &str) -> Result<String, tidings::Error> {
    let out = client.create_queue().queue_name(queue).send().await.map_err(fail)?;
    out.queue_url().map(str::to_owned).ok_or_else(|| fail(format!("no URL for queue `{queue}`")))
}

#[tidings::main]
async fn main() -> Result<(), tidings::Error> {
    for (key, value) in [("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test"), ("AWS_EC2_METADATA_DISABLED", "true")] {
        if std::env::var_os(key).is_none() {
            std::env::set_var(key, value);
        }
    }
    let mode = std::env::args().nth(1).unwrap_or_default();
    let n: usize = arg("--n", 10_000);
    let body = serde_json::to_string(&bench_order(1)).map_err(fail)?;
    let payload_bytes = body.len();
    let report = |mode: &'static str, implementation: &'static str, secs: f64| Report {
        implementation,
        broker: "sqs",
        mode,
        n,
        payload_bytes,
        secs,
        latencies: Vec::new(),
    };
    let out = match mode.as_str() {
        "raw-publish" => {
            let client = raw_client().await?;
            let url = queue_url(&client, &text_arg("--queue")).await?;
            let start = Instant::now();
            let failures = std::sync::atomic::AtomicUsize::new(0);
            futures::stream::iter(0..n)
                .for_each_concurrent(IN_FLIGHT, |_| async {
                    if let Err(e) = client.send_message().queue_url(&url).message_body(&body).send().await {
                        eprintln!("send failed: {e}");
                        failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                })
                .await;
            let failed = failures.into_inner();
            if failed > 0 {
                eprintln!("{failed} sends failed");
            }
            report("publish", "aws-sdk-sqs", start.elapsed().as_secs_f64())
        }
        "raw-consume" => {
            let client = raw_client().await?;
            let url = queue_url(&client, &text_arg("--queue")).await?;
            let mut start = None;
            let mut seen = 0;
            while seen < n {
                let received = client
                    .receive_message()
                    .queue_url(&url)
                    .max_number_of_messages(10)
                    .wait_time_seconds(1)
                    .send()
                    .await
                    .map_err(fail)?;
                let mut deletes = Vec::new();
                for (i, m) in received.messages().iter().enumerate() {
                    start.get_or_insert_with(Instant::now);
                    let order: OrderCreated = serde_json::from_str(m.body().unwrap_or_default()).map_err(fail)?;
                    black_box(order.items.len());
                    let handle = m.receipt_handle().unwrap_or_default();
                    deletes.push(
                        DeleteMessageBatchRequestEntry::builder().id(i.to_string()).receipt_handle(handle).build().map_err(fail)?,
                    );
                    seen += 1;
                }
                if !deletes.is_empty() {
                    client.delete_message_batch().queue_url(&url).set_entries(Some(deletes)).send().await.map_err(fail)?;
                }
            }
            report("consume", "aws-sdk-sqs", start.map_or(0.0, |s| s.elapsed().as_secs_f64()))
        }
        "tidings-consume" | "tidings-publish" => {
            let prefix = text_arg("--prefix");
            let url = format!("sqs://us-east-1?endpoint={ENDPOINT}&create=true&queue_prefix={prefix}&wait_time_s=1");
            if mode == "tidings-consume" {
                RECORDER.arm(n);
            }
            let running = bench_app(url, &["bench.latency"]).start_without_cli().await?;
            let ctx = running.context();
            let r = if mode == "tidings-consume" {
                RECORDER.finished().await;
                let secs = FIRST.get().map_or(0.0, |s| s.elapsed().as_secs_f64());
                report("consume", "tidings", secs)
            } else {
                let order = bench_order(1);
                let start = Instant::now();
                let failed = publish_confirmed(&ctx, &PUBLISHED, &order, n, IN_FLIGHT).await;
                if failed > 0 {
                    eprintln!("{failed} publishes failed");
                }
                report("publish", "tidings", start.elapsed().as_secs_f64())
            };
            // Let the last deletes go out before stopping (shutdown flushes them too).
            tokio::time::sleep(Duration::from_millis(200)).await;
            running.shutdown().await?;
            r
        }
        "raw-latency" => {
            let rate: u32 = arg("--rate", 20);
            // `--headers`: also the four headers a tidings publish carries (like for like).
            let with_headers = std::env::args().any(|a| a == "--headers");
            let client = raw_client().await?;
            let url = queue_url(&client, &text_arg("--queue")).await?;
            RECORDER.arm(n);
            let mut reader = {
                let (client, url) = (client.clone(), url.clone());
                tokio::spawn(async move {
                    while RECORDER.count() < n {
                        let received = client
                            .receive_message()
                            .queue_url(&url)
                            .max_number_of_messages(10)
                            .wait_time_seconds(1)
                            .message_attribute_names("All")
                            .send()
                            .await
                            .map_err(fail)?;
                        let mut deletes = Vec::new();
                        for (i, m) in received.messages().iter().enumerate() {
                            let order: OrderCreated = serde_json::from_str(m.body().unwrap_or_default()).map_err(fail)?;
                            black_box(order.items.len());
                            let sent = m
                                .message_attributes()
                                .and_then(|a| a.get(SENT_HEADER))
                                .and_then(|v| v.string_value()?.parse::<u64>().ok());
                            record_sent(&RECORDER, sent);
                            let handle = m.receipt_handle().unwrap_or_default();
                            deletes.push(
                                DeleteMessageBatchRequestEntry::builder()
                                    .id(i.to_string())
                                    .receipt_handle(handle)
                                    .build()
                                    .map_err(fail)?,
                            );
                        }
                        if !deletes.is_empty() {
                            client.delete_message_batch().queue_url(&url).set_entries(Some(deletes)).send().await.map_err(fail)?;
                        }
                    }
                    Ok::<_, tidings::Error>(())
                })
            };
            let order = std::sync::Arc::new(bench_order(1));
            let start = paced(n, rate, |stamp| {
                let (client, url, order) = (client.clone(), url.clone(), order.clone());
                async move {
                    let body = serde_json::to_string(&*order).expect("an order encodes");
                    let mut send = client.send_message().queue_url(&url).message_body(body);
                    let text = |v: &str| MessageAttributeValue::builder().data_type("String").string_value(v).build().expect("a string attribute");
                    if let Some(stamp) = stamp {
                        send = send.message_attributes(SENT_HEADER, text(&stamp.to_string()));
                    }
                    if with_headers {
                        // The four headers a tidings publish carries, as message attributes.
                        let correlation = uuid::Uuid::new_v4().hyphenated().to_string();
                        send = send
                            .message_attributes("content-type", text("application/json"))
                            .message_attributes("correlation-id", text(&correlation))
                            .message_attributes("x-tidings-message", text("OrderCreated"))
                            .message_attributes("traceparent", text(tidings::broker::header::new_traceparent().as_str()));
                    }
                    if let Err(e) = send.send().await {
                        eprintln!("send failed: {e}");
                    }
                }
            })
            .await?;
            all_recorded(&RECORDER, n, Duration::from_secs(120), Some(&mut reader)).await?;
            reader.abort();
            let name = if with_headers { "aws-sdk-sqs + headers" } else { "aws-sdk-sqs" };
            Report { latencies: RECORDER.sorted(), ..report("latency", name, start.elapsed().as_secs_f64()) }
        }
        "tidings-latency" => {
            let rate: u32 = arg("--rate", 20);
            let prefix = text_arg("--prefix");
            let url = format!("sqs://us-east-1?endpoint={ENDPOINT}&create=true&queue_prefix={prefix}&wait_time_s=1");
            RECORDER.arm(n);
            let running = bench_app(url, &["bench.orders"]).start_without_cli().await?;
            let ctx = running.context();
            let start = paced_publishes(&ctx, &LATENCY, n, rate).await?;
            all_recorded(&RECORDER, n, Duration::from_secs(120), None).await?;
            let r = Report { latencies: RECORDER.sorted(), ..report("latency", "tidings", start.elapsed().as_secs_f64()) };
            running.shutdown().await?;
            r
        }
        other => {
            return Err(tidings::Error::msg(format!(
                "unknown mode `{other}` (raw-publish, raw-consume, tidings-consume, tidings-publish, raw-latency, tidings-latency)"
            )))
        }
    };
    println!("{}", out.json());
    Ok(())
}
