//! Shared parts of the tidings benchmarks: the payload every program sends, the latency
//! recorder handlers write into, percentiles, and the process's memory as the kernel
//! reports it. The programs are in `src/bin/`; `benches/run.sh` runs them beside the
//! peers (RustStream, FastStream, the raw clients) and `docs/benchmarks.md` has the figures.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use order_events::{OrderCreated, OrderItem};
use rust_decimal::Decimal;

/// The header that carries the publish time, in nanoseconds since [`now_ns`]'s origin.
/// A header rather than a payload field, so every framework decodes the same payload.
pub const SENT_HEADER: &str = "x-bench-sent-ns";

/// The channel the benches publish and consume on.
pub const CHANNEL: &str = "bench.orders";

/// The order every bench sends: `OrderCreated` with five lines, about 400 bytes of JSON.
/// The RustStream and FastStream peers build the same values (and print the same size).
pub fn bench_order(n: u32) -> OrderCreated {
    let mut order = OrderCreated::sample(n);
    // Three more lines than the sample: the size the issue names (about 400 bytes).
    order.items.push(OrderItem { sku: "SKU-BOOK-0042".into(), quantity: 2, unit_price: Decimal::new(1250, 2) });
    order.items.push(OrderItem { sku: "SKU-PEN-0007".into(), quantity: 3, unit_price: Decimal::new(199, 2) });
    order.items.push(OrderItem { sku: "SKU-MUG-0311".into(), quantity: 1, unit_price: Decimal::new(899, 2) });
    order.total_amount = order.items.iter().map(|i| i.unit_price * Decimal::from(i.quantity)).sum();
    order
}

/// Nanoseconds since the first call in this process: publisher and handler share the
/// origin, so their difference is the end-to-end latency.
pub fn now_ns() -> u64 {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    ORIGIN.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// Latencies written by handlers without a lock: one slot per message, taken with one
/// atomic increment, so recording costs the same in every framework measured.
pub struct Recorder {
    next: AtomicUsize,
    slots: OnceLock<Box<[AtomicU64]>>,
    done: tokio::sync::Notify,
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new()
    }
}

impl Recorder {
    /// An unarmed recorder; [`arm`](Self::arm) it before the run.
    pub const fn new() -> Self {
        Recorder { next: AtomicUsize::new(0), slots: OnceLock::new(), done: tokio::sync::Notify::const_new() }
    }

    /// Makes room for `n` messages.
    pub fn arm(&self, n: usize) {
        let _ = self.slots.set((0..n).map(|_| AtomicU64::new(0)).collect());
    }

    /// Records one handled message that was published at `sent_ns` ([`now_ns`]).
    pub fn record(&self, sent_ns: u64) {
        self.store(now_ns().saturating_sub(sent_ns));
    }

    /// Counts one handled message without a latency (and without reading the clock: the
    /// raw Kafka consumer it is compared with reads none per message).
    pub fn tick(&self) {
        self.store(0);
    }

    fn store(&self, latency: u64) {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        if let Some(slots) = self.slots.get() {
            if let Some(slot) = slots.get(i) {
                slot.store(latency, Ordering::Relaxed);
            }
            if i + 1 == slots.len() {
                self.done.notify_one();
            }
        }
    }

    /// Messages recorded so far.
    pub fn count(&self) -> usize {
        self.next.load(Ordering::Acquire)
    }

    /// Waits until every armed slot is written.
    pub async fn finished(&self) {
        let n = self.slots.get().map_or(0, |s| s.len());
        while self.count() < n {
            // notify_one stores a permit, so a wake between the check and the wait is kept.
            self.done.notified().await;
        }
    }

    /// The latencies recorded, sorted, in nanoseconds.
    pub fn sorted(&self) -> Vec<u64> {
        let n = self.count();
        let mut v: Vec<u64> =
            self.slots.get().map(|s| s.iter().take(n).map(|a| a.load(Ordering::Relaxed)).collect()).unwrap_or_default();
        v.sort_unstable();
        v
    }
}

/// Set by a latency run's consumer when its first unstamped (warm-up) message arrives.
pub static WARM: AtomicBool = AtomicBool::new(false);

/// The latency runs' publisher: unstamped warm-ups every 50 ms until the consumer has
/// one ([`WARM`], at most a minute: a consumer group's first join is not latency), then
/// `n` sends stamped with [`now_ns`], `rate` a second. `send(stamp)` makes the future of
/// one send, which runs as a task of its own, so a confirmation that is slow to come
/// never holds up the pace. Returns when the stamped sends began.
pub async fn paced<F, Fut>(n: usize, rate: u32, mut send: F) -> Result<Instant, tidings::Error>
where
    F: FnMut(Option<u64>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let deadline = Instant::now() + Duration::from_secs(60);
    while !WARM.load(Ordering::Acquire) {
        if Instant::now() > deadline {
            return Err(tidings::Error::msg("no warm-up message came back within 60 s: is the consumer subscribed?"));
        }
        tokio::spawn(send(None));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let period = Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
    let start = tokio::time::Instant::now();
    let began = Instant::now();
    for i in 0..n {
        // Behind the pace (a late wake-up), the sends catch up at once: the offered load
        // stays `rate` on average.
        tokio::time::sleep_until(start + period.mul_f64(i as f64)).await;
        tokio::spawn(send(Some(now_ns())));
    }
    Ok(began)
}

/// The latency runs' tidings publisher: [`paced`] `publish_with`es of the bench order
/// through `producer`, each stamped in a [`SENT_HEADER`] header (the warm-ups without).
pub async fn paced_publishes(
    ctx: &tidings::Context,
    producer: &'static tidings::Producer<OrderCreated>,
    n: usize,
    rate: u32,
) -> Result<Instant, tidings::Error> {
    let order = std::sync::Arc::new(bench_order(1));
    paced(n, rate, |stamp| {
        let (ctx, order) = (ctx.clone(), order.clone());
        async move {
            let options = match stamp {
                Some(stamp) => tidings::PublishOptions::default().header(SENT_HEADER, stamp.to_string()),
                None => tidings::PublishOptions::default(),
            };
            if let Err(e) = producer.publish_with(&ctx, &*order, options).await {
                eprintln!("publish failed: {e}");
            }
        }
    })
    .await
}

/// A latency run's consumer, for one message: records its latency from its send-time
/// stamp, or, for an unstamped warm-up (`None`), sets [`WARM`].
pub fn record_sent(recorder: &Recorder, sent: Option<u64>) {
    match sent {
        Some(sent) => recorder.record(sent),
        None => WARM.store(true, Ordering::Release),
    }
}

/// A latency run's tidings handler: [`record_sent`] with the delivery's [`SENT_HEADER`].
pub fn record_stamped(recorder: &Recorder, ctx: &tidings::Context) {
    record_sent(recorder, ctx.incoming().and_then(|i| i.headers.get(SENT_HEADER)).and_then(|v| v.parse().ok()));
}

/// Waits until `recorder` has all `n` stamped messages, for at most `limit`. With the
/// raw clients' `reader` task, a reader that fails or stops first ends the wait at once,
/// with its error, instead of at the limit.
pub async fn all_recorded(
    recorder: &Recorder,
    n: usize,
    limit: Duration,
    reader: Option<&mut tokio::task::JoinHandle<Result<(), tidings::Error>>>,
) -> Result<(), tidings::Error> {
    let waited = async {
        tokio::time::timeout(limit, recorder.finished()).await.map_err(|_| {
            tidings::Error::msg(format!("{} of {n} stamped messages came back within {limit:?}", recorder.count()))
        })
    };
    let Some(reader) = reader else { return waited.await };
    tokio::select! {
        biased;
        done = waited => done,
        ended = reader => Err(match ended {
            Ok(Err(e)) => e,
            Ok(Ok(())) => tidings::Error::msg(format!("the consumer stopped after {} of {n} stamped messages", recorder.count())),
            Err(e) => tidings::Error::msg(format!("the consumer task failed: {e}")),
        }),
    }
}

/// The app of a bench's tidings modes, its broker at `url`, with the consumers of
/// `idle` channels (those the mode does not measure) on an embedded broker, so they do
/// not poll the measured broker beside the measured consumer.
pub fn bench_app(url: String, idle: &[&str]) -> tidings::App {
    let app = tidings::App::new(tidings::PackageInfo { name: "bench", version: "0.0.0", description: "" })
        .ignore_env()
        .args(Default::default())
        .server("default", url)
        .server("idle", "memory://");
    idle.iter().fold(app, |app, channel| app.route(*channel, "idle"))
}

/// The `p`-th percentile (0..=100) of sorted values, nearest rank.
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// A field of `/proc/self/status` in kB (`VmRSS`, `VmHWM`), 0 where there is none.
pub fn proc_status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix(field)?.strip_prefix(':')?.trim().trim_end_matches(" kB").trim().parse().ok()
            })
        })
        .unwrap_or(0)
}

/// One result, printed as a JSON line that `benches/run.sh` collects.
#[derive(Debug, Clone)]
pub struct Report {
    /// `tidings`, `ruststream`, `rdkafka`, ...
    pub implementation: &'static str,
    /// `memory`, `kafka`, ...
    pub broker: &'static str,
    /// `consume`, `publish`, `ahead`.
    pub mode: &'static str,
    /// Messages.
    pub n: usize,
    /// Payload size in bytes.
    pub payload_bytes: usize,
    /// Wall time of the measured part, in seconds.
    pub secs: f64,
    /// Sorted latencies in nanoseconds (empty where none were measured).
    pub latencies: Vec<u64>,
}

impl Report {
    /// The JSON line: throughput, p50/p99 in microseconds, peak and current RSS.
    pub fn json(&self) -> String {
        let rate = if self.secs > 0.0 { self.n as f64 / self.secs } else { 0.0 };
        let us = |p| percentile(&self.latencies, p) as f64 / 1000.0;
        format!(
            "{{\"impl\":\"{}\",\"broker\":\"{}\",\"mode\":\"{}\",\"n\":{},\"payload_bytes\":{},\"secs\":{:.4},\"msgs_per_s\":{:.0},\"p50_us\":{:.1},\"p99_us\":{:.1},\"max_rss_kb\":{},\"rss_kb\":{}}}",
            self.implementation,
            self.broker,
            self.mode,
            self.n,
            self.payload_bytes,
            self.secs,
            rate,
            us(50.0),
            us(99.0),
            proc_status_kb("VmHWM"),
            proc_status_kb("VmRSS"),
        )
    }
}

/// Reads `--name value` from the arguments, or the default.
pub fn arg<T: std::str::FromStr>(name: &str, default: T) -> T {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Publishes `n` copies of `message` through `producer`, `in_flight` at once, each awaited
/// until the broker confirmed it; returns how many failed (the broker benches' publish
/// side, shared so every broker is measured the same way).
pub async fn publish_confirmed<T: tidings::Message>(
    ctx: &tidings::Context,
    producer: &tidings::Producer<T>,
    message: &T,
    n: usize,
    in_flight: usize,
) -> usize {
    use futures::StreamExt;
    let failures = AtomicUsize::new(0);
    futures::stream::iter(0..n)
        .for_each_concurrent(in_flight, |_| async {
            if producer.publish(ctx, message).await.is_err() {
                failures.fetch_add(1, Ordering::Relaxed);
            }
        })
        .await;
    failures.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), 50);
        assert_eq!(percentile(&v, 99.0), 99);
        assert_eq!(percentile(&v, 100.0), 100);
        assert_eq!(percentile(&[], 50.0), 0);
    }

    #[test]
    fn the_bench_order_is_about_400_bytes_of_json() {
        let len = serde_json::to_vec(&bench_order(1)).unwrap().len();
        assert!((330..=470).contains(&len), "{len} bytes");
    }

    #[test]
    fn the_recorder_counts_and_keeps_every_latency() {
        let r = Recorder::new();
        r.arm(3);
        for _ in 0..3 {
            r.record(now_ns());
        }
        assert_eq!(r.count(), 3);
        assert_eq!(r.sorted().len(), 3);
    }
}
