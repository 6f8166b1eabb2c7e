//! RustStream on its in-memory broker, the same scenarios as tidings' `memory` bench:
//! `consume` (N orders: delivery -> JSON decode -> handler -> ack, published meanwhile),
//! `publish` (N typed publishes), `ahead` (slow handlers, 8 workers as tidings'
//! default: memory as the publisher runs ahead) and `latency` (`consume` at a steady
//! `--rate`, default 1,000 a second). Prints one JSON line in the same shape.

use std::hint::black_box;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ruststream::memory::prelude::*;
use ruststream::{Bytes, OutgoingMessage};
use ruststream_order_peer::{OrderCreated, bench_order};

const SENT_HEADER: &str = "x-bench-sent-ns";

fn now_ns() -> u64 {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    ORIGIN.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// The same lock-free recorder as tidings_benches::Recorder.
struct Recorder {
    next: AtomicUsize,
    slots: OnceLock<Box<[AtomicU64]>>,
    done: tokio::sync::Notify,
}

static RECORDER: Recorder =
    Recorder { next: AtomicUsize::new(0), slots: OnceLock::new(), done: tokio::sync::Notify::const_new() };

impl Recorder {
    fn record(&self, sent: u64) {
        let latency = now_ns().saturating_sub(sent);
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        if let Some(slots) = self.slots.get() {
            if let Some(s) = slots.get(i) {
                s.store(latency, Ordering::Relaxed);
            }
            if i + 1 == slots.len() {
                self.done.notify_one();
            }
        }
    }
    async fn finished(&self) {
        let n = self.slots.get().map_or(0, |s| s.len());
        while self.next.load(Ordering::Acquire) < n {
            self.done.notified().await;
        }
    }
}

fn sent_of<K, S>(ctx: &Context<'_, K, S>) -> u64 {
    ctx.headers().get_str(SENT_HEADER).and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// The bench consumer, at RustStream's defaults (one delivery at a time).
#[subscriber("bench.orders")]
async fn consume(order: &OrderCreated, ctx: &mut Context<'_>) -> HandlerOutcome {
    black_box(order.items.len());
    RECORDER.record(sent_of(ctx));
    HandlerOutcome::ack()
}

/// The `ahead` consumer: a millisecond per order, eight at once (tidings' default).
#[subscriber("bench.slow", workers(8))]
async fn slow(order: &OrderCreated, ctx: &mut Context<'_>) -> HandlerOutcome {
    black_box(order.items.len());
    tokio::time::sleep(Duration::from_millis(1)).await;
    RECORDER.record(sent_of(ctx));
    HandlerOutcome::ack()
}

/// The raw body: the drain decodes nothing.
#[derive(Deserialized)]
struct RawBody<'a>(&'a [u8]);

/// Drains the `publish` mode's channel (the one `OrderCreated` names), raw: nothing decoded.
#[subscriber("orders.created")]
async fn drain(raw: &RawBody<'_>) -> HandlerOutcome {
    black_box(raw.0.len());
    HandlerOutcome::ack()
}

fn proc_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix(field)?.strip_prefix(':')?.trim().trim_end_matches(" kB").trim().parse().ok()))
        .unwrap_or(0)
}

fn pct(v: &[u64], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1] as f64 / 1000.0
}

fn arg(name: &str, default: usize) -> usize {
    let a: Vec<String> = std::env::args().collect();
    a.iter().position(|x| x == name).and_then(|i| a.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mode = std::env::args().nth(1).unwrap_or_else(|| "consume".into());
    let n = arg("--n", 100_000);
    let broker = MemoryBroker::new();
    let app = RustStream::new(AppInfo::new("bench", "0.0.0")).with_broker(broker.clone(), |b| {
        b.include(consume);
        b.include(slow);
        b.include(drain);
    });
    let running = app.start().await?;
    let publisher = broker.publisher();
    let order = bench_order(1);
    let body = Bytes::from(serde_json::to_vec(&order)?);
    let payload_bytes = body.len();
    now_ns();
    let (secs, latencies, mode_name) = match mode.as_str() {
        "consume" | "ahead" | "latency" => {
            let channel = if mode == "ahead" { "bench.slow" } else { "bench.orders" };
            // `latency`: one message every 1/rate s (a late wake-up catches up at once).
            let period = (mode == "latency").then(|| Duration::from_secs_f64(1.0 / arg("--rate", 1_000).max(1) as f64));
            let _ = RECORDER.slots.set((0..n).map(|_| AtomicU64::new(0)).collect());
            let start = Instant::now();
            let p = publisher.clone();
            let body = body.clone();
            let task = tokio::spawn(async move {
                let paced_from = tokio::time::Instant::now();
                for i in 0..n {
                    if let Some(period) = period {
                        tokio::time::sleep_until(paced_from + period.mul_f64(i as f64)).await;
                    }
                    let mut headers = HeaderMap::new();
                    headers.insert(Str::from_static(SENT_HEADER), now_ns().to_string());
                    p.publish(OutgoingMessage::new(channel, &body[..]).with_headers(headers), None).await.expect("publish");
                }
            });
            RECORDER.finished().await;
            let secs = start.elapsed().as_secs_f64();
            task.await?;
            let mut v: Vec<u64> = RECORDER.slots.get().map(|s| s.iter().map(|a| a.load(Ordering::Relaxed)).collect()).unwrap_or_default();
            v.sort_unstable();
            (secs, v, match mode.as_str() {
                "ahead" => "ahead",
                "latency" => "latency",
                _ => "consume",
            })
        }
        "publish" => {
            let start = Instant::now();
            for _ in 0..n {
                // The message type names its channel (`orders.created`): no `.to(..)`.
                publisher.message(&order).publish().await?;
            }
            (start.elapsed().as_secs_f64(), Vec::new(), "publish")
        }
        other => return Err(format!("unknown mode `{other}`").into()),
    };
    println!(
        "{{\"impl\":\"ruststream\",\"broker\":\"memory\",\"mode\":\"{mode_name}\",\"n\":{n},\"payload_bytes\":{payload_bytes},\"secs\":{secs:.4},\"msgs_per_s\":{:.0},\"p50_us\":{:.1},\"p99_us\":{:.1},\"max_rss_kb\":{},\"rss_kb\":{}}}",
        n as f64 / secs,
        pct(&latencies, 50.0),
        pct(&latencies, 99.0),
        proc_kb("VmHWM"),
        proc_kb("VmRSS"),
    );
    running.shutdown().await?;
    Ok(())
}
