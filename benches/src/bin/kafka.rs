//! Kafka (Tansu on 127.0.0.1:9092), tidings beside the raw rdkafka client, same topic,
//! same messages, same run (`benches/kafka.sh` drives it):
//!
//! - `raw-publish --topic T [--keys] [--linger-ms MS] [--encode] [--in-flight N]`: rdkafka
//!   `FutureProducer`, N sends with delivery confirmation, 256 in flight; fills the topic
//!   the consumers read. Without a key by default, as tidings' and FastStream's publishes
//!   (the partitioner then fills one partition's batch at a time); `--keys` keys each
//!   `order-<i>`. `--encode` JSON-encodes the order for every send, as tidings' typed
//!   publish does (and as the raw consumer decodes every message); `--headers` sets the
//!   four headers a tidings publish carries (content type, a new correlation id, the
//!   message name, a new `traceparent`). Without them the same pre-encoded bytes go out
//!   every time, with no headers.
//! - `raw-consume --topic T [--str-decode] [--headers]`: rdkafka `StreamConsumer`, N
//!   messages, each JSON-decoded into `OrderCreated` with `serde_json::from_slice` (the
//!   issue's raw-client baseline); `--str-decode` decodes as tidings' codec does (one UTF-8
//!   check, then `from_str`), to tell the framework's cost from the decoder's; `--headers`
//!   also reads every header as text, as tidings does for its extractors (librdkafka
//!   parses a message's header section on that first access, about 1,100 instructions
//!   even for a message without headers).
//! - `raw-consume-handoff --topic T`: the raw client in tidings' shape, without the
//!   framework: a thread polls a `BaseConsumer`, copies each message's payload and headers
//!   out and hands them, 256 at most at a time, to a task that decodes them as
//!   `--str-decode --headers` does. What one hop between threads costs by itself.
//! - `tidings-consume --prefix P [--group-prefix G]`: the real pipeline (`P` is the URL's
//!   `topic_prefix`, so the consumer's `bench.orders` is the topic the raw producer
//!   filled; its consumer group is `G` + `bench`, `G` defaulting to `P`).
//! - `tidings-publish --prefix P`: N `Producer::publish`es (each returns once the broker
//!   confirmed it), 256 in flight (`--in-flight N`; `--options linger_ms=0` and other URL
//!   options to try settings).
//! - `raw-latency --topic T` and `tidings-latency --prefix P` (`--rate R`, default 1,000 a
//!   second): end-to-end latency at a steady rate, not under a flood. One process
//!   publishes N orders R a second (each JSON-encoded, stamped with the send time in a
//!   header, its confirmation awaited in a task of its own so the pace never waits for
//!   it) and consumes them; the handler records now minus the stamp. Before the timed
//!   messages, unstamped warm-ups go out every 50 ms until the consumer has one: the
//!   group's join is not latency. The raw client is a `FutureProducer` at tidings'
//!   linger (1 ms) and a `StreamConsumer` reading the stamp from its headers;
//!   `raw-latency --handoff` consumes in tidings' shape instead, as `raw-consume-handoff`;
//!   `tidings-latency --raw-producer` publishes with the raw client's sends instead.
//!   `--fetch-wait-ms MS` sets the consumer's `fetch.wait.max.ms` (tidings' URL option
//!   `fetch_wait_ms`): Tansu holds a fetch that finds nothing for that long, so at
//!   librdkafka's default (500 ms) it, not the client, sets the latency.
//!
//! Throughput counts from the first message consumed (a group's first join is not
//! message cost). Prints one JSON line like the in-memory bench.

use std::hint::black_box;
use std::time::{Duration, Instant};

use futures::StreamExt;
use order_events::OrderCreated;
use rdkafka::config::{ClientConfig, FromClientConfig};
use rdkafka::error::KafkaError;
use rdkafka::consumer::{BaseConsumer, Consumer, StreamConsumer};
use rdkafka::message::{Header, Headers as _, Message as _, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use tidings::prelude::*;
use tidings_benches::{
    all_recorded, arg, bench_app, bench_order, paced, paced_publishes, publish_confirmed, record_sent, record_stamped, Recorder,
    Report, SENT_HEADER,
};

const BROKERS: &str = "127.0.0.1:9092";
const IN_FLIGHT: usize = 256;

static RECORDER: Recorder = Recorder::new();
static FIRST: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

/// The bench consumer on Kafka: decode, read a field, count.
#[tidings::consumer(channel = "bench.orders", group = "bench")]
async fn consume_kafka(order: OrderCreated) {
    FIRST.get_or_init(Instant::now);
    black_box(order.items.len());
    RECORDER.tick();
}

/// The typed producer of `tidings-publish`.
#[tidings::producer(channel = "bench.published")]
static PUBLISHED: Producer<OrderCreated>;

/// The latency run's consumer: records send-to-handler time from the stamp the paced
/// publisher sets; an unstamped message is a warm-up.
#[tidings::consumer(channel = "bench.latency", group = "bench-latency")]
async fn consume_latency(order: OrderCreated, ctx: Context) {
    black_box(order.items.len());
    record_stamped(&RECORDER, &ctx);
}

/// The typed producer of `tidings-latency`.
#[tidings::producer(channel = "bench.latency")]
static LATENCY: Producer<OrderCreated>;

/// A raw consumer of `topic` from its start, in a group of its own (`group`-pid), with
/// `extra` librdkafka settings.
fn raw_consumer<C: FromClientConfig + Consumer>(group: &str, topic: &str, extra: &[(&str, String)]) -> Result<C, tidings::Error> {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", BROKERS)
        .set("group.id", format!("{group}-{}", std::process::id()))
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", "6000");
    for (key, value) in extra {
        config.set(*key, value);
    }
    let consumer: C = config.create().map_err(tidings::Error::msg)?;
    consumer.subscribe(&[topic]).map_err(tidings::Error::msg)?;
    Ok(consumer)
}

/// A message copied out of librdkafka: its payload and headers.
type Copied = (Vec<u8>, Vec<(String, Vec<u8>)>);

/// The raw client in tidings' shape: a thread polls `consumer` (one waiting poll, then
/// what librdkafka already holds, up to 256), copies each message's payload and headers
/// out and hands the round to the returned channel. A poll error ends it, sent after the
/// round it cut short, as the raw `StreamConsumer` benches end on one: not retried in a
/// loop that would spin.
fn poll_thread(consumer: BaseConsumer) -> tokio::sync::mpsc::Receiver<Result<Vec<Copied>, KafkaError>> {
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    std::thread::spawn(move || {
        let mut timeout = Duration::from_millis(100);
        loop {
            let mut round = Vec::with_capacity(256);
            let mut error = None;
            while round.len() < 256 {
                match consumer.poll(timeout) {
                    Some(Ok(m)) => {
                        let headers = m.headers().map_or_else(Vec::new, |h| {
                            h.iter().map(|h| (h.key.to_owned(), h.value.unwrap_or_default().to_vec())).collect()
                        });
                        round.push((m.payload().unwrap_or_default().to_vec(), headers));
                    }
                    Some(Err(e)) => {
                        error = Some(e);
                        break;
                    }
                    None => break,
                }
                timeout = Duration::ZERO;
            }
            timeout = Duration::from_millis(100);
            if !round.is_empty() && tx.blocking_send(Ok(round)).is_err() {
                return;
            }
            if let Some(e) = error {
                let _ = tx.blocking_send(Err(e));
                return;
            }
        }
    });
    rx
}

/// The latency runs' raw producer: a `FutureProducer` at tidings' linger (1 ms).
fn latency_producer() -> Result<FutureProducer, tidings::Error> {
    ClientConfig::new()
        .set("bootstrap.servers", BROKERS)
        .set("enable.idempotence", "true")
        .set("linger.ms", "1")
        .create()
        .map_err(tidings::Error::msg)
}

/// [`paced`] raw sends of the bench order to `topic`, each JSON-encoded and stamped in a
/// [`SENT_HEADER`] header (the warm-ups without), its confirmation awaited in its task.
async fn raw_paced_sends(producer: &FutureProducer, topic: &str, n: usize, rate: u32) -> Result<Instant, tidings::Error> {
    let order = std::sync::Arc::new(bench_order(1));
    paced(n, rate, |stamp| {
        let (producer, topic, order) = (producer.clone(), topic.to_owned(), order.clone());
        async move {
            let payload = serde_json::to_vec(&*order).expect("an order encodes");
            let stamp = stamp.map(|s| s.to_string());
            let mut record = FutureRecord::<(), _>::to(&topic).payload(&payload);
            if let Some(stamp) = &stamp {
                record = record.headers(OwnedHeaders::new().insert(Header { key: SENT_HEADER, value: Some(stamp.as_str()) }));
            }
            if let Err((e, _)) = producer.send(record, Duration::from_secs(30)).await {
                eprintln!("send failed: {e}");
            }
        }
    })
    .await
}

fn text_arg(name: &str) -> String {
    arg(name, String::new())
}

/// More of the URL's query from `--name value`: `&key=value`, or `&value` itself when
/// `key` is empty (`--options a=1&b=2`); nothing without the argument.
fn query_arg(name: &str, key: &str) -> String {
    match text_arg(name) {
        v if v.is_empty() => v,
        v if key.is_empty() => format!("&{v}"),
        v => format!("&{key}={v}"),
    }
}

#[tidings::main]
async fn main() -> Result<(), tidings::Error> {
    let mode = std::env::args().nth(1).unwrap_or_default();
    let n: usize = arg("--n", 100_000);
    let body = serde_json::to_vec(&bench_order(1)).map_err(tidings::Error::msg)?;
    let payload_bytes = body.len();
    let report = |mode: &'static str, implementation: &'static str, secs: f64| Report {
        implementation,
        broker: "kafka",
        mode,
        n,
        payload_bytes,
        secs,
        latencies: Vec::new(),
    };
    let out = match mode.as_str() {
        "raw-publish" => {
            let topic = text_arg("--topic");
            let mut config = ClientConfig::new();
            config.set("bootstrap.servers", BROKERS).set("enable.idempotence", "true");
            // librdkafka's default linger (5 ms) unless `--linger-ms` says otherwise.
            let linger = text_arg("--linger-ms");
            if !linger.is_empty() {
                config.set("linger.ms", &linger);
            }
            let in_flight: usize = arg("--in-flight", IN_FLIGHT);
            let producer: FutureProducer = config.create().map_err(tidings::Error::msg)?;
            let keyed = std::env::args().any(|a| a == "--keys");
            let encode = std::env::args().any(|a| a == "--encode");
            let with_headers = std::env::args().any(|a| a == "--headers");
            let order = bench_order(1);
            // One confirmed send first, untimed: the connection, the topic's metadata
            // and the idempotent producer id are set-up, not message cost (the tidings
            // publisher below does the same).
            if let Err((e, _)) = producer.send(FutureRecord::<(), _>::to(&topic).payload(&body), Duration::from_secs(30)).await {
                eprintln!("warm-up send failed: {e}");
            }
            let start = Instant::now();
            futures::stream::iter(0..n)
                .for_each_concurrent(in_flight, |i| {
                    let (producer, topic, body, order) = (&producer, &topic, &body, &order);
                    async move {
                        // Formatted only when keyed: the unkeyed run's loop is only sends.
                        let key = keyed.then(|| format!("order-{i}"));
                        let encoded = encode.then(|| serde_json::to_vec(order).expect("an order encodes"));
                        let mut record = FutureRecord::to(topic).payload(encoded.as_deref().unwrap_or(body));
                        if with_headers {
                            // The four headers a tidings publish carries, made the same way.
                            let correlation = uuid::Uuid::new_v4().hyphenated().to_string();
                            let traceparent = tidings::broker::header::new_traceparent();
                            record = record.headers(
                                OwnedHeaders::new_with_capacity(4)
                                    .insert(Header { key: "content-type", value: Some("application/json") })
                                    .insert(Header { key: "correlation-id", value: Some(correlation.as_str()) })
                                    .insert(Header { key: "x-tidings-message", value: Some("OrderCreated") })
                                    .insert(Header { key: "traceparent", value: Some(traceparent.as_str()) }),
                            );
                        }
                        let record = match &key {
                            Some(key) => record.key(key),
                            None => record,
                        };
                        if let Err((e, _)) = producer.send(record, Duration::from_secs(30)).await {
                            eprintln!("send failed: {e}");
                        }
                    }
                })
                .await;
            // Named by its linger when one was given: tidings' producer lingers 1 ms, so the
            // table can show the raw client with librdkafka's default and with tidings'.
            let mut name = String::from("rdkafka");
            if !linger.is_empty() {
                name.push_str(&format!(" linger.ms={linger}"));
            }
            if encode {
                name.push_str(" + JSON encode");
            }
            if with_headers {
                name.push_str(" + headers");
            }
            if in_flight != IN_FLIGHT {
                name.push_str(&format!(" in flight {in_flight}"));
            }
            let name: &'static str = Box::leak(name.into_boxed_str());
            report("publish", name, start.elapsed().as_secs_f64())
        }
        "raw-consume" => {
            let topic = text_arg("--topic");
            let str_decode = std::env::args().any(|a| a == "--str-decode");
            let read_headers = std::env::args().any(|a| a == "--headers");
            let consumer: StreamConsumer = raw_consumer("raw", &topic, &[])?;
            let mut stream = consumer.stream();
            let mut start = None;
            let mut seen = 0;
            while seen < n {
                let Some(m) = stream.next().await else { break };
                let m = m.map_err(tidings::Error::msg)?;
                start.get_or_insert_with(Instant::now);
                if read_headers {
                    // As a service reads its content type or correlation id: librdkafka
                    // parses the header section (even an empty one) on this first access.
                    if let Some(headers) = m.headers() {
                        for h in headers.iter() {
                            black_box((h.key, h.value.map(std::str::from_utf8)));
                        }
                    }
                }
                let payload = m.payload().unwrap_or_default();
                let order: OrderCreated = if str_decode {
                    // As tidings' JSON codec decodes: one UTF-8 check, then the str reader.
                    let text = std::str::from_utf8(payload).map_err(tidings::Error::msg)?;
                    serde_json::from_str(text).map_err(tidings::Error::msg)?
                } else {
                    serde_json::from_slice(payload).map_err(tidings::Error::msg)?
                };
                black_box(order.items.len());
                seen += 1;
            }
            let name = match (str_decode, read_headers) {
                (true, true) => "rdkafka + str decode + headers",
                (true, false) => "rdkafka + str decode",
                (false, true) => "rdkafka + headers",
                (false, false) => "rdkafka",
            };
            report("consume", name, start.map_or(0.0, |s| s.elapsed().as_secs_f64()))
        }
        "raw-consume-handoff" => {
            // The raw client in tidings' shape (`poll_thread`), decoding as tidings' codec
            // does. No framework: what the hop between two threads costs by itself.
            let topic = text_arg("--topic");
            let consumer: BaseConsumer = raw_consumer("raw-handoff", &topic, &[])?;
            let mut rx = poll_thread(consumer);
            let mut start = None;
            let mut seen = 0;
            while seen < n {
                let Some(round) = rx.recv().await else { break };
                let round = round.map_err(tidings::Error::msg)?;
                start.get_or_insert_with(Instant::now);
                for (payload, headers) in round {
                    for (name, value) in &headers {
                        black_box((name, std::str::from_utf8(value).is_ok()));
                    }
                    let text = std::str::from_utf8(&payload).map_err(tidings::Error::msg)?;
                    let order: OrderCreated = serde_json::from_str(text).map_err(tidings::Error::msg)?;
                    black_box(order.items.len());
                    seen += 1;
                }
            }
            report("consume", "rdkafka + str decode + headers, handed to a task", start.map_or(0.0, |s| s.elapsed().as_secs_f64()))
        }
        "tidings-consume" | "tidings-publish" => {
            let prefix = text_arg("--prefix");
            // Two builds reading one topic need consumer groups of their own.
            let group_prefix = arg("--group-prefix", prefix.clone());
            // More URL options (`--options max_buffered=5000&commit_batch=1000`), to try settings.
            let options = query_arg("--options", "");
            let url = format!(
                "kafka://{BROKERS}?topic_prefix={prefix}&group_prefix={group_prefix}&session_timeout_ms=6000&auto_offset_reset=earliest{options}"
            );
            if mode == "tidings-consume" {
                RECORDER.arm(n);
            }
            // The latency run's consumer is not part of these. Nor is the binary's consumer
            // part of a publish run: on the idle embedded server, no Kafka consumer group
            // forms and polls beside the timed publishes (a service that only publishes has
            // none).
            let idle: &[_] = if mode == "tidings-publish" { &["bench.latency", "bench.orders"] } else { &["bench.latency"] };
            let running = bench_app(url, idle).start_without_cli().await?;
            let ctx = running.context();
            let r = if mode == "tidings-consume" {
                RECORDER.finished().await;
                let secs = FIRST.get().map_or(0.0, |s| s.elapsed().as_secs_f64());
                report("consume", "tidings", secs)
            } else {
                let order = bench_order(1);
                // Untimed, as the raw publisher's first send.
                if let Err(e) = PUBLISHED.publish(&ctx, &order).await {
                    eprintln!("warm-up publish failed: {e}");
                }
                let start = Instant::now();
                let failed = publish_confirmed(&ctx, &PUBLISHED, &order, n, arg("--in-flight", IN_FLIGHT)).await;
                if failed > 0 {
                    eprintln!("{failed} publishes failed");
                }
                report("publish", "tidings", start.elapsed().as_secs_f64())
            };
            running.shutdown().await?;
            r
        }
        "raw-latency" => {
            let topic = text_arg("--topic");
            let rate: u32 = arg("--rate", 1_000);
            let producer = latency_producer()?;
            // The first send makes the topic, so the consumer finds it when it subscribes.
            let first = serde_json::to_vec(&bench_order(1)).map_err(tidings::Error::msg)?;
            producer
                .send(FutureRecord::<(), _>::to(&topic).payload(&first), Duration::from_secs(30))
                .await
                .map_err(|(e, _)| tidings::Error::msg(format!("first send to `{topic}`: {e}")))?;
            // `--fetch-wait-ms`: librdkafka's `fetch.wait.max.ms` (its default is 500).
            let fetch_wait = text_arg("--fetch-wait-ms");
            let extra: Vec<_> = if fetch_wait.is_empty() { Vec::new() } else { vec![("fetch.wait.max.ms", fetch_wait.clone())] };
            // `--handoff`: the consumer in tidings' shape (`poll_thread`); the hop from a
            // polling thread to a task is what this variant adds.
            let handoff = std::env::args().any(|a| a == "--handoff");
            RECORDER.arm(n);
            let mut reader = if handoff {
                let mut rx = poll_thread(raw_consumer("raw-latency-handoff", &topic, &extra)?);
                tokio::spawn(async move {
                    while RECORDER.count() < n {
                        let Some(round) = rx.recv().await else { break };
                        for (payload, headers) in round.map_err(tidings::Error::msg)? {
                            let order: OrderCreated = serde_json::from_slice(&payload).map_err(tidings::Error::msg)?;
                            black_box(order.items.len());
                            let sent = headers
                                .iter()
                                .find(|(name, _)| name == SENT_HEADER)
                                .and_then(|(_, v)| std::str::from_utf8(v).ok()?.parse::<u64>().ok());
                            record_sent(&RECORDER, sent);
                        }
                    }
                    Ok::<_, tidings::Error>(())
                })
            } else {
                let consumer: StreamConsumer = raw_consumer("raw-latency", &topic, &extra)?;
                tokio::spawn(async move {
                    let mut stream = consumer.stream();
                    while RECORDER.count() < n {
                        let Some(m) = stream.next().await else { break };
                        let m = m.map_err(tidings::Error::msg)?;
                        let order: OrderCreated = serde_json::from_slice(m.payload().unwrap_or_default()).map_err(tidings::Error::msg)?;
                        black_box(order.items.len());
                        let sent = m.headers().and_then(|h| {
                            h.iter()
                                .find(|h| h.key == SENT_HEADER)
                                .and_then(|h| std::str::from_utf8(h.value?).ok()?.parse::<u64>().ok())
                        });
                        record_sent(&RECORDER, sent);
                    }
                    Ok::<_, tidings::Error>(())
                })
            };
            let start = raw_paced_sends(&producer, &topic, n, rate).await?;
            all_recorded(&RECORDER, n, Duration::from_secs(60), Some(&mut reader)).await?;
            reader.abort();
            let name = if handoff { "rdkafka linger.ms=1, handed to a task" } else { "rdkafka linger.ms=1" };
            Report { latencies: RECORDER.sorted(), ..report("latency", name, start.elapsed().as_secs_f64()) }
        }
        "tidings-latency" => {
            let prefix = text_arg("--prefix");
            let rate: u32 = arg("--rate", 1_000);
            // `--fetch-wait-ms`: the URL's `fetch_wait_ms` (librdkafka's default, 500, without it).
            let fetch_wait = query_arg("--fetch-wait-ms", "fetch_wait_ms");
            // More URL options, to try settings (as `tidings-consume --options`).
            let options = query_arg("--options", "");
            let url = format!(
                "kafka://{BROKERS}?topic_prefix={prefix}&group_prefix={prefix}&session_timeout_ms=6000&auto_offset_reset=earliest{fetch_wait}{options}"
            );
            RECORDER.arm(n);
            // Only the latency consumer on Kafka: the others idle on the embedded broker.
            let running = bench_app(url, &["bench.orders"]).start_without_cli().await?;
            let ctx = running.context();
            // `--raw-producer`: the raw client's sends (`raw-latency`'s) into tidings'
            // consumer, to tell the publishing side's share of the latency from the
            // consuming side's.
            let raw_producer = std::env::args().any(|a| a == "--raw-producer");
            let start = if raw_producer {
                raw_paced_sends(&latency_producer()?, &format!("{prefix}bench.latency"), n, rate).await?
            } else {
                paced_publishes(&ctx, &LATENCY, n, rate).await?
            };
            all_recorded(&RECORDER, n, Duration::from_secs(60), None).await?;
            let name = if raw_producer { "tidings, rdkafka's sends" } else { "tidings" };
            let r = Report { latencies: RECORDER.sorted(), ..report("latency", name, start.elapsed().as_secs_f64()) };
            running.shutdown().await?;
            r
        }
        other => {
            return Err(tidings::Error::msg(format!(
                "unknown mode `{other}` (raw-publish, raw-consume, raw-consume-handoff, tidings-consume, tidings-publish, raw-latency, tidings-latency)"
            )))
        }
    };
    println!("{}", out.json());
    Ok(())
}
