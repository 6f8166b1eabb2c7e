//! The confirmed producer: idempotent, one awaited delivery report per publish.
//!
//! A `BaseProducer` with a poll thread of its own rather than rdkafka's `FutureProducer`:
//! that one's thread polls librdkafka every 100 ms for the life of the producer, and
//! rdkafka rounds each wait down to whole milliseconds, so the thread spins through the
//! last millisecond of every wait (about 3% of a consumer-only service's CPU under load,
//! measured with `perf`, for a producer that only dead letters would use). This one
//! polls while publishes await their reports and sleeps otherwise.

use std::sync::atomic::{fence, AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use rdkafka::client::ClientContext;
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, Message as _, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use tidings_core::broker::Outgoing;
use tidings_core::Error;
use tokio::sync::oneshot;

use crate::config::KafkaConfig;
use crate::context::LogContext;

/// The W3C trace context header.
pub use tidings_core::broker::header::TRACEPARENT;

/// How long the poll thread serves delivery reports in one go while publishes are in
/// flight.
const POLL_WAIT: Duration = Duration::from_millis(100);
/// How often an idle poll thread still serves librdkafka's events (errors, say) that
/// no publish announced.
const IDLE_POLL: Duration = Duration::from_secs(1);

/// The broker's confirmation of one message: its partition and offset.
type Report = Result<(i32, i64), KafkaError>;

/// What an [`enqueue`](KafkaProducer::enqueue)d message's confirmation arrives on.
pub(crate) type DeliveryFuture = oneshot::Receiver<Report>;

/// The producer's librdkafka context: logs and errors to `tracing`, each delivery
/// report to the publish awaiting it.
pub(crate) struct DeliveryContext {
    log: LogContext,
}

impl ClientContext for DeliveryContext {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        self.log.log(level, facility, message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.log.error(error, reason);
    }
}

impl ProducerContext for DeliveryContext {
    type DeliveryOpaque = Box<oneshot::Sender<Report>>;

    fn delivery(&self, result: &DeliveryResult<'_>, report: Self::DeliveryOpaque) {
        let report_value = match result {
            Ok(message) => Ok((message.partition(), message.offset())),
            Err((e, _)) => Err(e.clone()),
        };
        // The publish may have been dropped meanwhile: nobody to tell.
        let _ = report.send(report_value);
    }
}

/// Wakes the poll thread when a publish starts while it sleeps.
#[derive(Default)]
struct Poller {
    /// The poll thread is (about to be) asleep: a publish must wake it.
    sleeping: AtomicBool,
    /// Set under the lock by a publish (or by stop) for a sleeping poll thread.
    kicked: Mutex<bool>,
    wake: Condvar,
    stop: AtomicBool,
}

impl Poller {
    fn kick(&self) {
        *self.kicked.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.wake.notify_one();
    }
}

/// Publishes to Kafka and waits for the broker's acknowledgement.
pub(crate) struct KafkaProducer {
    server: String,
    inner: Arc<BaseProducer<DeliveryContext>>,
    poller: Arc<Poller>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl KafkaProducer {
    pub(crate) fn new(server: &str, config: &KafkaConfig) -> Result<Self, Error> {
        let mut cc = ClientConfig::new();
        for (k, v) in config.common() {
            cc.set(k, v);
        }
        // Idempotence: a retried send cannot duplicate or reorder a message in its
        // partition (it implies acks=all).
        cc.set("enable.idempotence", "true");
        cc.set("message.timeout.ms", config.message_timeout.as_millis().to_string());
        cc.set("linger.ms", config.linger.as_millis().to_string());
        let inner: BaseProducer<DeliveryContext> = cc
            .create_with_context(DeliveryContext { log: LogContext::new(server) })
            .map_err(|e| Error::broker(server, format!("cannot create the Kafka producer: {e}")))?;
        let inner = Arc::new(inner);
        let poller = Arc::new(Poller::default());
        let thread = {
            let (producer, poller) = (inner.clone(), poller.clone());
            std::thread::Builder::new()
                .name(format!("kafka-pub-{server}"))
                .spawn(move || poll_reports(&producer, &poller))
                .map_err(|e| Error::broker(server, format!("cannot start the Kafka producer's poll thread: {e}")))?
        };
        Ok(KafkaProducer { server: server.to_owned(), inner, poller, thread: Some(thread) })
    }

    /// Sends one message to `topic` and waits until the broker has it (or the
    /// message timeout passed). The partition comes from the key.
    pub(crate) async fn send(&self, topic: &str, message: &Outgoing) -> Result<(i32, i64), Error> {
        let delivery = self.enqueue(topic, message)?;
        self.confirmed(topic, delivery).await
    }

    /// Hands one message for `topic` to librdkafka, which copies it: what is left is the
    /// wait for the broker's confirmation ([`confirmed`](Self::confirmed)), and a publish
    /// in flight keeps nothing of the message.
    pub(crate) fn enqueue(&self, topic: &str, message: &Outgoing) -> Result<DeliveryFuture, Error> {
        crate::topic::check_topic(topic)?;
        let mut headers = OwnedHeaders::new_with_capacity(message.headers.len() + 1);
        for (name, value) in message.headers.iter() {
            headers = headers.insert(Header { key: name, value: Some(value) });
        }
        if message.headers.get(TRACEPARENT).is_none() {
            let traceparent = tidings_core::broker::header::new_traceparent();
            headers = headers.insert(Header { key: TRACEPARENT, value: Some(traceparent.as_str()) });
        }
        let (report, delivery) = oneshot::channel();
        let mut record: BaseRecord<'_, [u8], [u8], _> =
            BaseRecord::with_opaque_to(topic, Box::new(report)).payload(message.payload.as_ref()).headers(headers);
        if let Some(key) = &message.key {
            record = record.key(key.as_ref());
        }
        // A full local queue fails at once instead of blocking; the message timeout bounds
        // the wait for the broker.
        self.inner.send(record).map_err(|(e, _)| self.failed(topic, e))?;
        // Pairs with the poll thread's fence: either it sees this message counted or we
        // see it asleep.
        fence(Ordering::SeqCst);
        if self.poller.sleeping.load(Ordering::Relaxed) {
            self.poller.kick();
        }
        Ok(delivery)
    }

    fn failed(&self, topic: &str, why: impl std::fmt::Display) -> Error {
        Error::broker(&self.server, format!("publish to topic `{topic}` failed: {why}"))
    }

    /// Waits for the broker's confirmation of an [`enqueue`](Self::enqueue)d message: its
    /// partition and offset.
    pub(crate) async fn confirmed(&self, topic: &str, delivery: DeliveryFuture) -> Result<(i32, i64), Error> {
        match delivery.await {
            Ok(Ok(confirmed)) => Ok(confirmed),
            Ok(Err(e)) => Err(self.failed(topic, e)),
            Err(_) => Err(self.failed(topic, "the producer closed before the broker confirmed it")),
        }
    }

    /// Asks the cluster for metadata: fails when no broker answers within `timeout`.
    /// Blocking.
    pub(crate) fn fetch_metadata(&self, timeout: Duration) -> Result<(), rdkafka::error::KafkaError> {
        self.inner.client().fetch_metadata(None, timeout).map(|_| ())
    }

    /// Asks for the metadata of `topic`, which creates it where the cluster creates
    /// topics on first use (as a first publish would). `Ok(partitions)` when it exists.
    /// Blocking.
    pub(crate) fn touch_topic(&self, topic: &str, timeout: Duration) -> Result<usize, String> {
        let md = self.inner.client().fetch_metadata(Some(topic), timeout).map_err(|e| e.to_string())?;
        match md.topics().iter().find(|t| t.name() == topic) {
            Some(t) => match t.error() {
                Some(e) => Err(format!("{e:?}")),
                None if t.partitions().is_empty() => Err("no partitions yet".into()),
                None => Ok(t.partitions().len()),
            },
            None => Err("not in the metadata".into()),
        }
    }

    /// Waits (bounded) for messages still queued locally.
    pub(crate) fn flush(&self, timeout: Duration) {
        if let Err(e) = self.inner.flush(timeout) {
            tracing::warn!(server = %self.server, error = %e, "Kafka producer flush did not complete");
        }
    }
}

impl Drop for KafkaProducer {
    fn drop(&mut self) {
        self.poller.stop.store(true, Ordering::SeqCst);
        self.poller.kick();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        // Dropping the last `BaseProducer` purges what is still queued: those publishes
        // end with "the producer closed".
    }
}

/// The poll thread: serves delivery reports while messages are in flight, sleeps while
/// none are (woken by the next publish, or after [`IDLE_POLL`] to serve other events).
fn poll_reports(producer: &BaseProducer<DeliveryContext>, poller: &Poller) {
    while !poller.stop.load(Ordering::SeqCst) {
        // Messages not yet confirmed, and reports and events not yet served.
        if producer.in_flight_count() > 0 {
            producer.poll(POLL_WAIT);
            continue;
        }
        poller.sleeping.store(true, Ordering::Relaxed);
        // Pairs with `enqueue`'s fence (see there).
        fence(Ordering::SeqCst);
        let mut kicked = poller.kicked.lock().unwrap_or_else(|e| e.into_inner());
        if !*kicked && producer.in_flight_count() == 0 && !poller.stop.load(Ordering::SeqCst) {
            kicked = poller.wake.wait_timeout(kicked, IDLE_POLL).unwrap_or_else(|e| e.into_inner()).0;
        }
        *kicked = false;
        poller.sleeping.store(false, Ordering::Relaxed);
        drop(kicked);
        producer.poll(Duration::ZERO);
    }
}
