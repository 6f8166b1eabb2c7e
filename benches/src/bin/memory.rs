//! tidings on the in-memory broker: `consume` (N orders through the real pipeline:
//! delivery -> JSON decode -> handler -> ack, published meanwhile as fast as the bounded
//! queue lets), `publish` (N typed publishes through a declared producer: encode, headers,
//! enqueue), `ahead` (a publisher running ahead of slow handlers: memory must stay
//! flat) and `latency` (`consume` at a steady `--rate`, default 1,000 a second: a
//! message's own latency, the consumer idle between messages, not queueing behind a
//! flood). Prints one JSON line.
//!
//! `memory consume --n 100000`

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use order_events::OrderCreated;
use tidings::broker::Outgoing;
use tidings::prelude::*;
use tidings::{MemoryBroker, PackageInfo};
use tidings_benches::{arg, bench_order, now_ns, Recorder, Report, CHANNEL, SENT_HEADER};

static RECORDER: Recorder = Recorder::new();
// `ahead`: the handlers wait a millisecond each, so the publisher runs ahead of them.
static SLOW: AtomicBool = AtomicBool::new(false);

/// The bench consumer: decodes the order, reads a field, records the latency.
#[tidings::consumer(channel = "bench.orders", group = "bench")]
async fn consume(order: OrderCreated, ctx: Context) {
    black_box(order.items.len());
    if SLOW.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let sent = ctx.incoming().and_then(|i| i.headers.get(SENT_HEADER)).and_then(|v| v.parse().ok()).unwrap_or(0);
    RECORDER.record(sent);
}

/// The typed producer of the `publish` mode.
#[tidings::producer(channel = "bench.published")]
static PUBLISHED: Producer<OrderCreated>;

// As a service runs: `#[tidings::main]` installs the default `info` log subscriber.
#[tidings::main]
async fn main() -> Result<(), tidings::Error> {
    let mode = std::env::args().nth(1).unwrap_or_else(|| "consume".into());
    let n: usize = arg("--n", 100_000);
    let broker = MemoryBroker::default();
    let app = App::new(PackageInfo { name: "bench", version: "0.0.0", description: "" })
        .ignore_env()
        .args(Default::default())
        .server_broker("default", "memory://", std::sync::Arc::new(broker.clone()));
    let running = app.start_without_cli().await?;
    let ctx = running.context();
    let body = serde_json::to_vec(&bench_order(1)).map_err(tidings::Error::msg)?;
    let payload_bytes = body.len();
    let body = bytes::Bytes::from(body);
    now_ns();

    let report = match mode.as_str() {
        "consume" | "ahead" | "latency" => {
            SLOW.store(mode == "ahead", Ordering::Relaxed);
            // `latency`: one message every 1/rate s (a late wake-up catches up at once).
            let period = (mode == "latency").then(|| Duration::from_secs_f64(1.0 / f64::from(arg("--rate", 1_000u32).max(1))));
            RECORDER.arm(n);
            let start = Instant::now();
            let publisher = {
                let ctx = ctx.clone();
                tokio::spawn(async move {
                    let paced_from = tokio::time::Instant::now();
                    for i in 0..n {
                        if let Some(period) = period {
                            tokio::time::sleep_until(paced_from + period.mul_f64(i as f64)).await;
                        }
                        let mut out = Outgoing { payload: body.clone(), ..Default::default() };
                        out.headers.insert_static(SENT_HEADER, now_ns().to_string());
                        ctx.publish_raw(CHANNEL, out).await?;
                    }
                    Ok::<_, tidings::Error>(())
                })
            };
            RECORDER.finished().await;
            let secs = start.elapsed().as_secs_f64();
            publisher.await.map_err(tidings::Error::msg)??;
            Report {
                implementation: "tidings",
                broker: "memory",
                mode: match mode.as_str() {
                    "ahead" => "ahead",
                    "latency" => "latency",
                    _ => "consume",
                },
                n,
                payload_bytes,
                secs,
                latencies: RECORDER.sorted(),
            }
        }
        "publish" => {
            // A plain subscription drains the channel, so the publishes measure the
            // publish path (encode, headers, routing, enqueue), not a handler.
            let drain = broker.observe("bench.published")?;
            let drainer = tokio::spawn(async move {
                for _ in 0..n {
                    match drain.next().await {
                        Some(d) => d.acker.ack().await?,
                        None => break,
                    }
                }
                Ok::<_, tidings::Error>(())
            });
            let order = bench_order(1);
            let start = Instant::now();
            for _ in 0..n {
                PUBLISHED.publish(&ctx, &order).await?;
            }
            let secs = start.elapsed().as_secs_f64();
            drainer.await.map_err(tidings::Error::msg)??;
            Report {
                implementation: "tidings",
                broker: "memory",
                mode: "publish",
                n,
                payload_bytes,
                secs,
                latencies: Vec::new(),
            }
        }
        other => return Err(tidings::Error::msg(format!("unknown mode `{other}` (consume, publish, ahead, latency)"))),
    };
    println!("{}", report.json());
    running.shutdown().await
}
