//! Consumers: long polling, delete on success, heartbeats, retries by visibility,
//! dead letters.
//!
//! One subscription per consumer and queue, with three tasks:
//! - the **poller** long-polls (`ReceiveMessage` with `WaitTimeSeconds`, up to 10
//!   messages, only as many as there is room for: at most `prefetch` messages wait for
//!   a worker) and queues what it receives for the pipeline's workers;
//! - the **heartbeat** keeps every received message that is not settled yet hidden:
//!   when less than half of a message's visibility timeout is left, it extends it
//!   (`ChangeMessageVisibilityBatch`), so a long handler never sees its message handed
//!   to someone else, and a crashed process's messages show again within one timeout;
//! - the **deleter** deletes acked messages in batches (`DeleteMessageBatch`, 10 at
//!   once or after `delete_interval`), and everything still pending at shutdown.
//!
//! Settling a delivery:
//! - ack: the message is queued for deletion; it stays hidden (heartbeat) until deleted;
//! - `Nack::Retry { after }`: the message's visibility becomes `after` (rounded up to
//!   whole seconds), so SQS delivers it again then, with `ApproximateReceiveCount` + 1
//!   as the attempt;
//! - `Nack::Reject { reason }`: the message is sent to the dead-letter queue (the
//!   queue's redrive target, else the server's `dlq` name) with attributes saying why,
//!   where from and after how many attempts, then deleted. If that send fails, the
//!   message is delivered again after [`DLQ_FAILURE_BACKOFF`] and rejected again: it is
//!   never deleted unless dead-lettered.
//!
//! FIFO queues: SQS hands out a message group's messages in order and no further one
//! while one is in flight; a receive may still return several of one group at once.
//! Those go to the workers one at a time, in order (the next only after the previous
//! was settled), while different groups run in parallel. When one is retried, the
//! group's later messages already received are released (made visible again) so SQS
//! delivers them again after it, in order.
//!
//! Shutdown: the poller stops (a receive in progress is abandoned: messages it would
//! have returned show again after the visibility timeout), received messages no worker
//! took are released at once, pending deletes are flushed, and messages whose handler
//! did not finish are released.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName,
};
use aws_sdk_sqs::Client;
use futures::future::BoxFuture;
use tidings_core::broker::{Acker, Delivery, Incoming, Nack, Outgoing, Subscription};
use tidings_core::Error;
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::{SqsConfig, MAX_BATCH};
use crate::producer::Publisher;
use crate::queue::{Queue, Queues};
use crate::wire;

/// Dead-letter attribute: why the message was rejected.
pub const DLQ_REASON: &str = "x-tidings-dlq-reason";
/// Dead-letter attribute: the queue it came from.
pub const DLQ_QUEUE: &str = "x-tidings-dlq-queue";
/// Dead-letter attribute: its message id there.
pub const DLQ_MESSAGE_ID: &str = "x-tidings-dlq-message-id";
/// Dead-letter attribute: how many times it was received (`ApproximateReceiveCount`).
pub const DLQ_ATTEMPTS: &str = "x-tidings-dlq-attempts";
/// Dead-letter attribute: the consumer that rejected it.
pub const DLQ_CONSUMER: &str = "x-tidings-dlq-consumer";

/// Wait before a message whose dead-lettering failed is delivered again.
pub const DLQ_FAILURE_BACKOFF: Duration = Duration::from_secs(5);
/// The longest reason kept in the dead-letter attribute.
const MAX_REASON_BYTES: usize = 4096;
/// Tries of one delete before it is given up (the message is then delivered again).
const DELETE_TRIES: u32 = 5;
/// Longest wait between failed receives.
const MAX_POLL_BACKOFF: Duration = Duration::from_secs(30);
/// The group of dead letters sent to a FIFO dead-letter queue without a group.
const DLQ_DEFAULT_GROUP: &str = "tidings-dead-letters";

/// A received message not yet deleted or released: kept hidden by the heartbeat.
#[derive(Debug, Clone)]
struct Lease {
    receipt: String,
    message_id: String,
    hidden_until: Instant,
}

/// A received message waiting for a worker.
#[derive(Debug)]
struct Received {
    lease: u64,
    incoming: Incoming,
    message_id: String,
    receipt: String,
    /// The FIFO message group; `None` on a standard queue.
    group: Option<String>,
}

#[derive(Debug, Default)]
struct Group {
    queue: VecDeque<Received>,
    /// One of its messages is with a worker.
    busy: bool,
    in_ready: bool,
}

#[derive(Debug, Default)]
struct Dispatch {
    /// Standard queue: messages in arrival order.
    loose: VecDeque<Received>,
    /// FIFO queue: messages by group.
    groups: HashMap<String, Group>,
    /// FIFO groups with a queued message and none with a worker.
    ready: VecDeque<String>,
    /// Messages waiting for a worker.
    queued: usize,
    closed: bool,
}

impl Dispatch {
    fn push(&mut self, r: Received) {
        self.queued += 1;
        match r.group.clone() {
            None => self.loose.push_back(r),
            Some(g) => {
                self.groups.entry(g.clone()).or_default().queue.push_back(r);
                self.mark_ready(&g);
            }
        }
    }

    fn mark_ready(&mut self, group: &str) {
        if let Some(g) = self.groups.get_mut(group) {
            if !g.busy && !g.in_ready && !g.queue.is_empty() {
                g.in_ready = true;
                self.ready.push_back(group.to_owned());
            }
        }
    }

    fn take(&mut self) -> Option<Received> {
        if let Some(r) = self.loose.pop_front() {
            self.queued -= 1;
            return Some(r);
        }
        while let Some(name) = self.ready.pop_front() {
            let Some(g) = self.groups.get_mut(&name) else { continue };
            g.in_ready = false;
            if g.busy {
                continue;
            }
            if let Some(r) = g.queue.pop_front() {
                g.busy = true;
                self.queued -= 1;
                return Some(r);
            }
        }
        None
    }

    /// The group's message with a worker was settled: the next may go.
    fn finish(&mut self, group: &str) {
        let Some(g) = self.groups.get_mut(group) else { return };
        g.busy = false;
        if g.queue.is_empty() {
            self.groups.remove(group);
        } else {
            self.mark_ready(group);
        }
    }

    /// Takes the group's waiting messages out (to release them) and frees the group.
    fn drain_group(&mut self, group: &str) -> Vec<Received> {
        let Some(g) = self.groups.remove(group) else { return Vec::new() };
        self.queued -= g.queue.len();
        g.queue.into()
    }

    /// Takes every waiting message out.
    fn drain_all(&mut self) -> Vec<Received> {
        let mut out: Vec<Received> = self.loose.drain(..).collect();
        for (_, g) in self.groups.drain() {
            out.extend(g.queue);
        }
        self.ready.clear();
        self.queued = 0;
        out
    }
}

struct DeleteRequest {
    lease: u64,
    receipt: String,
    message_id: String,
    tries: u32,
}

/// What the tasks, the subscription and the ackers of one consumer share.
pub(crate) struct Shared {
    server: String,
    consumer: String,
    address: Arc<str>,
    queue: Arc<Queue>,
    client: Client,
    config: Arc<SqsConfig>,
    queues: Arc<Queues>,
    publisher: Arc<Publisher>,
    dispatch: Mutex<Dispatch>,
    /// Wakes workers waiting in `next`.
    ready: Notify,
    /// Wakes the poller waiting for room.
    room: Notify,
    leases: Mutex<HashMap<u64, Lease>>,
    next_lease: AtomicU64,
    /// Visibility changes of one queue go one at a time, so a heartbeat cannot undo a
    /// retry's delay it raced with.
    visibility: tokio::sync::Mutex<()>,
    deletes: mpsc::UnboundedSender<DeleteRequest>,
    deleter_stopped: AtomicBool,
    dead_letter_queue: tokio::sync::Mutex<Option<Arc<Queue>>>,
    stop_polling: CancellationToken,
    stop_deleting: CancellationToken,
    stop_heartbeat: CancellationToken,
}

/// The tasks of one subscription, for shutdown.
pub(crate) struct ConsumerHandle {
    shared: Arc<Shared>,
    poller: JoinHandle<()>,
    deleter: JoinHandle<()>,
    heartbeat: JoinHandle<()>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A poisoned lock only means a thread panicked while holding it; every update
    // leaves the state consistent, so keep serving rather than spreading the panic.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// What [`subscribe`] needs from the broker.
pub(crate) struct SubscribeArgs {
    pub server: String,
    pub consumer: String,
    pub address: String,
    pub queue: Arc<Queue>,
    pub client: Client,
    pub config: Arc<SqsConfig>,
    pub queues: Arc<Queues>,
    pub publisher: Arc<Publisher>,
}

/// Starts the tasks of one subscription.
pub(crate) async fn subscribe(args: SubscribeArgs) -> (SqsSubscription, ConsumerHandle) {
    let (tx, rx) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared {
        server: args.server,
        consumer: args.consumer,
        address: Arc::from(args.address),
        queue: args.queue,
        client: args.client,
        config: args.config,
        queues: args.queues,
        publisher: args.publisher,
        dispatch: Mutex::new(Dispatch::default()),
        ready: Notify::new(),
        room: Notify::new(),
        leases: Mutex::new(HashMap::new()),
        next_lease: AtomicU64::new(1),
        visibility: tokio::sync::Mutex::new(()),
        deletes: tx,
        deleter_stopped: AtomicBool::new(false),
        dead_letter_queue: tokio::sync::Mutex::new(None),
        stop_polling: CancellationToken::new(),
        stop_deleting: CancellationToken::new(),
        stop_heartbeat: CancellationToken::new(),
    });
    // Find the dead-letter queue now, so a missing one is reported at start rather than
    // at the first rejection (which resolves it again and keeps the message if it fails).
    if let Err(e) = shared.dead_letter_queue().await {
        tracing::warn!(
            server = %shared.server, queue = %shared.queue.name, consumer = %shared.consumer, error = %e,
            "no dead-letter queue yet; rejected messages stay in the queue until there is one"
        );
    }
    let poller = tokio::spawn(poll(shared.clone()));
    let deleter = tokio::spawn(delete_loop(shared.clone(), rx));
    let heartbeat = tokio::spawn(heartbeat(shared.clone()));
    tracing::info!(
        server = %shared.server, queue = %shared.queue.name, consumer = %shared.consumer, fifo = shared.queue.fifo,
        "SQS consumer polling"
    );
    (SqsSubscription { shared: shared.clone() }, ConsumerHandle { shared, poller, deleter, heartbeat })
}

impl ConsumerHandle {
    /// Stops polling, releases what no worker took, flushes deletes, releases what was
    /// not settled.
    pub(crate) async fn stop(self) {
        let s = &self.shared;
        s.stop_polling.cancel();
        let _ = self.poller.await;
        let waiting = {
            let mut d = lock(&s.dispatch);
            d.closed = true;
            d.drain_all()
        };
        s.ready.notify_waiters();
        s.release(waiting.iter().map(|r| r.lease).collect()).await;
        s.stop_deleting.cancel();
        let _ = self.deleter.await;
        let unsettled: Vec<u64> = lock(&s.leases).keys().copied().collect();
        if !unsettled.is_empty() {
            tracing::info!(
                server = %s.server, queue = %s.queue.name, count = unsettled.len(),
                "releasing messages whose handlers did not finish; SQS delivers them again"
            );
        }
        s.release(unsettled).await;
        s.stop_heartbeat.cancel();
        let _ = self.heartbeat.await;
        tracing::info!(server = %s.server, queue = %s.queue.name, consumer = %s.consumer, "SQS consumer stopped");
    }
}

impl Shared {
    fn new_lease(&self, receipt: String, message_id: String, hidden_until: Instant) -> u64 {
        let id = self.next_lease.fetch_add(1, Ordering::Relaxed);
        lock(&self.leases).insert(id, Lease { receipt, message_id, hidden_until });
        id
    }

    /// Takes a message for a worker. Never awaits, so a message taken here always
    /// reaches the caller.
    fn take(self: &Arc<Self>) -> Result<Option<Delivery>, ()> {
        let taken = {
            let mut d = lock(&self.dispatch);
            match d.take() {
                Some(r) => r,
                None if d.closed => return Err(()),
                None => return Ok(None),
            }
        };
        self.room.notify_one();
        let Received { lease, incoming, message_id, receipt, group } = taken;
        let incoming = Arc::new(incoming);
        let acker = SqsAcker {
            inner: Some(Settle { shared: self.clone(), lease, message_id, receipt, group, incoming: incoming.clone() }),
        };
        Ok(Some(Delivery { incoming, acker: Box::new(acker) }))
    }

    fn finish_group(&self, group: Option<&str>) {
        if let Some(g) = group {
            let mut d = lock(&self.dispatch);
            d.finish(g);
            drop(d);
            self.ready.notify_waiters();
        }
    }

    /// Makes messages visible again at once (visibility 0) and forgets their leases.
    async fn release(&self, leases: Vec<u64>) {
        if leases.is_empty() {
            return;
        }
        let _guard = self.visibility.lock().await;
        let taken: Vec<(u64, Lease)> = {
            let mut all = lock(&self.leases);
            leases.into_iter().filter_map(|id| all.remove(&id).map(|l| (id, l))).collect()
        };
        for chunk in taken.chunks(MAX_BATCH) {
            if let Err(why) = self.change_visibility(chunk, 0).await {
                tracing::warn!(
                    server = %self.server, queue = %self.queue.name, count = chunk.len(), why = %why,
                    "could not release messages; they show again when their visibility timeout ends"
                );
            }
        }
    }

    /// `ChangeMessageVisibilityBatch` of up to 10 leases; returns the ids it changed.
    async fn change_visibility(&self, leases: &[(u64, Lease)], seconds: i32) -> Result<Vec<u64>, String> {
        let mut entries = Vec::with_capacity(leases.len());
        for (id, lease) in leases {
            let entry = ChangeMessageVisibilityBatchRequestEntry::builder()
                .id(id.to_string())
                .receipt_handle(&lease.receipt)
                .visibility_timeout(seconds)
                .build()
                .map_err(|e| e.to_string())?;
            entries.push(entry);
        }
        let out = self
            .client
            .change_message_visibility_batch()
            .queue_url(&self.queue.url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| DisplayErrorContext(&e).to_string())?;
        for failed in out.failed() {
            let message_id = failed
                .id()
                .parse::<u64>()
                .ok()
                .and_then(|id| leases.iter().find(|(l, _)| *l == id))
                .map(|(_, l)| l.message_id.clone())
                .unwrap_or_default();
            tracing::warn!(
                server = %self.server, queue = %self.queue.name, message_id = %message_id,
                code = %failed.code(), why = failed.message().unwrap_or_default(),
                "SQS refused a visibility change"
            );
        }
        Ok(out.successful().iter().filter_map(|s| s.id().parse().ok()).collect())
    }

    /// The dead-letter queue, resolved once it resolves.
    async fn dead_letter_queue(&self) -> Result<Arc<Queue>, Error> {
        let mut slot = self.dead_letter_queue.lock().await;
        if let Some(q) = slot.as_ref() {
            return Ok(q.clone());
        }
        let q = self.queues.dead_letter_queue(&self.queue).await?;
        *slot = Some(q.clone());
        Ok(q)
    }

    fn broker_error(&self, message_id: &str, what: impl std::fmt::Display) -> Error {
        Error::broker(&self.server, format!("queue `{}`, message `{message_id}`: {what}", self.queue.name))
    }
}

/// The consumer's side of a subscription: what the pipeline's workers share.
pub(crate) struct SqsSubscription {
    shared: Arc<Shared>,
}

impl Subscription for SqsSubscription {
    fn next(&self) -> BoxFuture<'_, Option<Delivery>> {
        Box::pin(async move {
            loop {
                // Registered before looking, so a message queued in between wakes us.
                let notified = self.shared.ready.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                match self.shared.take() {
                    Ok(Some(d)) => return Some(d),
                    Ok(None) => {}
                    Err(()) => return None,
                }
                notified.await;
            }
        })
    }
}

/// The poller task.
async fn poll(s: Arc<Shared>) {
    let mut backoff = Duration::from_millis(500);
    loop {
        let room = loop {
            let notified = s.room.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let queued = lock(&s.dispatch).queued;
            if queued < s.config.prefetch {
                break s.config.prefetch - queued;
            }
            tokio::select! {
                _ = &mut notified => {}
                _ = s.stop_polling.cancelled() => return,
            }
        };
        let started = Instant::now();
        let request = s
            .client
            .receive_message()
            .queue_url(&s.queue.url)
            .max_number_of_messages(room.min(MAX_BATCH) as i32)
            .wait_time_seconds(s.config.wait_time.as_secs() as i32)
            .visibility_timeout(s.config.visibility_timeout.as_secs() as i32)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send();
        let result = tokio::select! {
            r = request => r,
            _ = s.stop_polling.cancelled() => return,
        };
        match result {
            Ok(out) => {
                backoff = Duration::from_millis(500);
                let mut accepted = 0;
                for m in out.messages() {
                    if accept(&s, m, started) {
                        accepted += 1;
                    }
                }
                if accepted > 0 {
                    s.ready.notify_waiters();
                }
            }
            Err(e) => {
                tracing::error!(
                    server = %s.server, queue = %s.queue.name, consumer = %s.consumer,
                    error = %DisplayErrorContext(&e), retry_in_ms = backoff.as_millis() as u64,
                    "receiving from SQS failed; polling again"
                );
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = s.stop_polling.cancelled() => return,
                }
                backoff = (backoff * 2).min(MAX_POLL_BACKOFF);
            }
        }
    }
}

/// Queues one received message for the workers; false when it cannot be handled.
fn accept(s: &Arc<Shared>, m: &Message, received_at: Instant) -> bool {
    let message_id = m.message_id().unwrap_or_default().to_owned();
    let Some(receipt) = m.receipt_handle().map(str::to_owned) else {
        tracing::warn!(server = %s.server, queue = %s.queue.name, message_id = %message_id,
            "SQS returned a message without a receipt handle; it shows again after its visibility timeout");
        return false;
    };
    let system = m.attributes();
    let attempt = system
        .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
        .and_then(|c| c.parse::<u32>().ok())
        .filter(|c| *c >= 1)
        .unwrap_or(1);
    let group = if s.queue.fifo {
        system.and_then(|a| a.get(&MessageSystemAttributeName::MessageGroupId)).cloned()
    } else {
        None
    };
    let decoded = wire::decode(m);
    let incoming = Incoming {
        channel: s.address.clone(),
        payload: decoded.payload,
        headers: decoded.headers,
        key: decoded.key,
        attempt,
        params: Default::default(),
    };
    // The visibility timeout runs from when SQS answered; counting from the request is
    // the safe side.
    let lease = s.new_lease(receipt.clone(), message_id.clone(), received_at + s.config.visibility_timeout);
    lock(&s.dispatch).push(Received { lease, incoming, message_id, receipt, group });
    true
}

/// The heartbeat task: extends messages whose visibility timeout is half gone.
async fn heartbeat(s: Arc<Shared>) {
    let timeout = s.config.visibility_timeout;
    let period = (timeout / 4).clamp(Duration::from_millis(250), Duration::from_secs(10));
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = s.stop_heartbeat.cancelled() => return,
        }
        let _guard = s.visibility.lock().await;
        let now = Instant::now();
        let due: Vec<(u64, Lease)> = lock(&s.leases)
            .iter()
            .filter(|(_, l)| l.hidden_until.saturating_duration_since(now) < timeout / 2)
            .map(|(id, l)| (*id, l.clone()))
            .collect();
        for chunk in due.chunks(MAX_BATCH) {
            let sent = Instant::now();
            match s.change_visibility(chunk, timeout.as_secs() as i32).await {
                Ok(extended) => {
                    let mut leases = lock(&s.leases);
                    for id in extended {
                        if let Some(l) = leases.get_mut(&id) {
                            l.hidden_until = sent + timeout;
                        }
                    }
                }
                Err(why) => tracing::warn!(
                    server = %s.server, queue = %s.queue.name, count = chunk.len(), why = %why,
                    "could not extend the visibility of messages in flight; trying again"
                ),
            }
        }
    }
}

/// The deleter task.
async fn delete_loop(s: Arc<Shared>, mut rx: mpsc::UnboundedReceiver<DeleteRequest>) {
    let mut pending: Vec<DeleteRequest> = Vec::new();
    let mut due: Option<Instant> = None;
    loop {
        let stopping = tokio::select! {
            biased;
            r = rx.recv() => match r {
                Some(r) => {
                    pending.push(r);
                    due.get_or_insert_with(|| Instant::now() + s.config.delete_interval);
                    false
                }
                None => true,
            },
            _ = sleep_until(due) => {
                due = None;
                let all = std::mem::take(&mut pending);
                pending = flush(&s, all).await;
                if !pending.is_empty() {
                    due = Some(Instant::now() + s.config.delete_interval.max(Duration::from_millis(500)));
                }
                false
            }
            _ = s.stop_deleting.cancelled() => true,
        };
        if stopping {
            break;
        }
        while pending.len() >= MAX_BATCH {
            let rest = pending.split_off(MAX_BATCH);
            let batch = std::mem::replace(&mut pending, rest);
            let again = flush(&s, batch).await;
            pending.extend(again);
            if pending.len() >= MAX_BATCH && pending.iter().take(MAX_BATCH).all(|r| r.tries > 0) {
                // Failing batches wait for the timer instead of spinning.
                break;
            }
        }
        if pending.is_empty() {
            due = None;
        }
    }
    // Shutdown: take what is left and flush it, a few rounds for transient failures.
    s.deleter_stopped.store(true, Ordering::SeqCst);
    while let Ok(r) = rx.try_recv() {
        pending.push(r);
    }
    for round in 0..DELETE_TRIES {
        if pending.is_empty() {
            break;
        }
        if round > 0 {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let all = std::mem::take(&mut pending);
        pending = flush(&s, all).await;
    }
    if !pending.is_empty() {
        tracing::error!(
            server = %s.server, queue = %s.queue.name, count = pending.len(),
            "could not delete handled messages at shutdown; SQS delivers them again"
        );
    }
}

async fn sleep_until(due: Option<Instant>) {
    match due {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Deletes `requests` in batches of 10; returns those to try again.
async fn flush(s: &Shared, requests: Vec<DeleteRequest>) -> Vec<DeleteRequest> {
    let mut again = Vec::new();
    let mut requests = requests.into_iter().peekable();
    while requests.peek().is_some() {
        let batch: Vec<DeleteRequest> = requests.by_ref().take(MAX_BATCH).collect();
        let entries: Result<Vec<_>, _> = batch
            .iter()
            .enumerate()
            .map(|(i, r)| DeleteMessageBatchRequestEntry::builder().id(i.to_string()).receipt_handle(&r.receipt).build())
            .collect();
        let result = match entries {
            Ok(entries) => s
                .client
                .delete_message_batch()
                .queue_url(&s.queue.url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| DisplayErrorContext(&e).to_string()),
            Err(e) => Err(e.to_string()),
        };
        let out = match result {
            Ok(out) => out,
            Err(why) => {
                tracing::warn!(server = %s.server, queue = %s.queue.name, count = batch.len(), why = %why,
                    "deleting handled messages failed; trying again");
                again.extend(retry_or_give_up(s, batch, &why));
                continue;
            }
        };
        let mut slots: Vec<Option<DeleteRequest>> = batch.into_iter().map(Some).collect();
        let mut done = Vec::new();
        for ok in out.successful() {
            if let Some(r) = ok.id().parse::<usize>().ok().and_then(|i| slots.get_mut(i)).and_then(Option::take) {
                done.push(r.lease);
            }
        }
        for failed in out.failed() {
            let Some(r) = failed.id().parse::<usize>().ok().and_then(|i| slots.get_mut(i)).and_then(Option::take) else {
                continue;
            };
            let why = format!("{}: {}", failed.code(), failed.message().unwrap_or("no reason given"));
            if failed.sender_fault() {
                // An expired or stale receipt handle: the message was (or will be)
                // delivered again, and handled again.
                tracing::warn!(server = %s.server, queue = %s.queue.name, message_id = %r.message_id, why = %why,
                    "SQS refused to delete a handled message; it will be delivered again");
                done.push(r.lease);
            } else {
                again.extend(retry_or_give_up(s, vec![r], &why));
            }
        }
        again.extend(slots.into_iter().flatten().map(|mut r| {
            r.tries += 1;
            r
        }));
        let mut leases = lock(&s.leases);
        for id in done {
            leases.remove(&id);
        }
    }
    again
}

fn retry_or_give_up(s: &Shared, batch: Vec<DeleteRequest>, why: &str) -> Vec<DeleteRequest> {
    let mut again = Vec::new();
    for mut r in batch {
        r.tries += 1;
        if r.tries >= DELETE_TRIES {
            tracing::error!(server = %s.server, queue = %s.queue.name, message_id = %r.message_id, why = %why,
                "gave up deleting a handled message; it will be delivered again");
            lock(&s.leases).remove(&r.lease);
        } else {
            again.push(r);
        }
    }
    again
}

/// Everything needed to settle one delivery.
struct Settle {
    shared: Arc<Shared>,
    lease: u64,
    message_id: String,
    receipt: String,
    group: Option<String>,
    /// The message, shared with the delivery: for the dead letter.
    incoming: Arc<Incoming>,
}

/// Settles one SQS delivery. Dropped unsettled (a handler aborted at shutdown), it
/// releases its message.
struct SqsAcker {
    inner: Option<Settle>,
}

impl Drop for SqsAcker {
    fn drop(&mut self) {
        let Some(settle) = self.inner.take() else { return };
        settle.shared.finish_group(settle.group.as_deref());
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move { settle.shared.release(vec![settle.lease]).await });
        }
    }
}

impl Acker for SqsAcker {
    fn ack(mut self: Box<Self>) -> BoxFuture<'static, Result<(), Error>> {
        let settle = self.inner.take();
        Box::pin(async move {
            let Some(s) = settle else { return Ok(()) };
            let result = s.delete().await;
            s.shared.finish_group(s.group.as_deref());
            result
        })
    }

    fn nack(mut self: Box<Self>, nack: Nack, _delivered: &Incoming) -> BoxFuture<'static, Result<(), Error>> {
        let settle = self.inner.take();
        Box::pin(async move {
            let Some(s) = settle else { return Ok(()) };
            match nack {
                Nack::Retry { after } => s.retry_after(after, "retry").await,
                Nack::Reject { reason } => s.dead_letter(&reason).await,
            }
        })
    }
}

impl Settle {
    /// Queues the delete (or deletes now, once the deleter stopped).
    async fn delete(&self) -> Result<(), Error> {
        let sh = &self.shared;
        if !sh.deleter_stopped.load(Ordering::SeqCst) {
            let request =
                DeleteRequest { lease: self.lease, receipt: self.receipt.clone(), message_id: self.message_id.clone(), tries: 0 };
            if sh.deletes.send(request).is_ok() {
                return Ok(());
            }
        }
        let deleted = sh.client.delete_message().queue_url(&sh.queue.url).receipt_handle(&self.receipt).send().await;
        lock(&sh.leases).remove(&self.lease);
        deleted.map(|_| ()).map_err(|e| {
            sh.broker_error(&self.message_id, format_args!("delete failed: {}; it will be delivered again", DisplayErrorContext(&e)))
        })
    }

    /// Shows the message again after `after`; on a FIFO queue releases the group's
    /// later messages, so they come again after it.
    async fn retry_after(&self, after: Duration, why: &str) -> Result<(), Error> {
        let sh = &self.shared;
        let later = match &self.group {
            Some(g) => lock(&sh.dispatch).drain_group(g),
            None => Vec::new(),
        };
        if !later.is_empty() {
            sh.room.notify_one();
        }
        // Whole seconds, rounded up, within what SQS allows.
        let seconds = after.as_secs() + u64::from(after.subsec_nanos() > 0);
        let seconds = seconds.min(crate::config::MAX_VISIBILITY_TIMEOUT.as_secs()) as i32;
        let changed = {
            let _guard = sh.visibility.lock().await;
            lock(&sh.leases).remove(&self.lease);
            sh.client
                .change_message_visibility()
                .queue_url(&sh.queue.url)
                .receipt_handle(&self.receipt)
                .visibility_timeout(seconds)
                .send()
                .await
        };
        sh.release(later.iter().map(|r| r.lease).collect()).await;
        if self.group.is_none() || later.is_empty() {
            sh.finish_group(self.group.as_deref());
        }
        changed.map(|_| ()).map_err(|e| {
            sh.broker_error(
                &self.message_id,
                format_args!(
                    "could not delay the message for its {why} ({}); it shows again when its visibility timeout ends",
                    DisplayErrorContext(&e)
                ),
            )
        })
    }

    /// Sends the message to the dead-letter queue, then deletes it; when that fails,
    /// delivers it again later.
    async fn dead_letter(&self, reason: &str) -> Result<(), Error> {
        let sh = &self.shared;
        match self.send_to_dead_letter_queue(reason).await {
            Ok(dlq) => {
                tracing::warn!(
                    server = %sh.server, queue = %sh.queue.name, message_id = %self.message_id, dead_letter_queue = %dlq,
                    reason = %reason, "message rejected and sent to the dead-letter queue"
                );
                let deleted = self.delete().await;
                sh.finish_group(self.group.as_deref());
                deleted
            }
            Err(e) => {
                let kept = self.retry_after(DLQ_FAILURE_BACKOFF, "dead-lettering").await;
                Err(sh.broker_error(
                    &self.message_id,
                    format_args!(
                        "rejected ({reason}) but not dead-lettered: {e}; {}",
                        match kept {
                            Ok(()) => format!("it is delivered again in {DLQ_FAILURE_BACKOFF:?}"),
                            Err(_) => "it shows again when its visibility timeout ends".to_owned(),
                        }
                    ),
                ))
            }
        }
    }

    async fn send_to_dead_letter_queue(&self, reason: &str) -> Result<String, Error> {
        let sh = &self.shared;
        let dlq = sh.dead_letter_queue().await?;
        let mut headers = self.incoming.headers.clone();
        headers.insert(DLQ_REASON, truncate(reason, MAX_REASON_BYTES));
        headers.insert(DLQ_QUEUE, sh.queue.name.clone());
        headers.insert(DLQ_MESSAGE_ID, self.message_id.clone());
        headers.insert(DLQ_ATTEMPTS, self.incoming.attempt.to_string());
        headers.insert(DLQ_CONSUMER, sh.consumer.clone());
        if dlq.fifo {
            let group = self
                .group
                .clone()
                .or_else(|| self.incoming.key.as_ref().and_then(|k| String::from_utf8(k.to_vec()).ok()))
                .unwrap_or_else(|| DLQ_DEFAULT_GROUP.to_owned());
            headers.insert(wire::GROUP_ID, group);
            // The source message id: sending the same dead letter twice stores it once.
            headers.insert(wire::DEDUPLICATION_ID, self.message_id.clone());
        }
        let message = Outgoing { payload: self.incoming.payload.clone(), headers, key: self.incoming.key.clone() };
        let encoded = wire::encode(&message, dlq.fifo)
            .or_else(|_| {
                // A group id SQS would refuse: fall back to the default group.
                let mut m = message.clone();
                m.headers.insert(wire::GROUP_ID, DLQ_DEFAULT_GROUP);
                wire::encode(&m, dlq.fifo)
            })
            .map_err(|why| Error::broker(&sh.server, format!("dead letter for `{}`: {why}", dlq.name)))?;
        sh.publisher
            .send(&dlq, encoded)
            .await
            .map_err(|why| Error::broker(&sh.server, format!("sending to dead-letter queue `{}` failed: {why}", dlq.name)))?;
        Ok(dlq.name.clone())
    }
}

fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn received(lease: u64, group: Option<&str>) -> Received {
        Received {
            lease,
            incoming: Incoming {
                channel: "c".into(),
                payload: Default::default(),
                headers: Default::default(),
                key: None,
                attempt: 1,
                params: Default::default(),
            },
            message_id: format!("m{lease}"),
            receipt: format!("r{lease}"),
            group: group.map(str::to_owned),
        }
    }

    #[test]
    fn standard_messages_go_out_in_arrival_order_all_at_once() {
        let mut d = Dispatch::default();
        for i in 0..3 {
            d.push(received(i, None));
        }
        assert_eq!(d.queued, 3);
        let out: Vec<u64> = std::iter::from_fn(|| d.take()).map(|r| r.lease).collect();
        assert_eq!(out, vec![0, 1, 2]);
        assert_eq!(d.queued, 0);
    }

    #[test]
    fn fifo_groups_go_out_one_message_at_a_time_in_order() {
        let mut d = Dispatch::default();
        d.push(received(1, Some("a")));
        d.push(received(2, Some("a")));
        d.push(received(3, Some("b")));
        let first: Vec<u64> = std::iter::from_fn(|| d.take()).map(|r| r.lease).collect();
        assert_eq!(first, vec![1, 3], "one per group while the others are busy");
        assert!(d.take().is_none());
        d.finish("a");
        assert_eq!(d.take().map(|r| r.lease), Some(2));
        d.finish("a");
        d.finish("b");
        assert!(d.groups.is_empty() && d.ready.is_empty() && d.queued == 0);
    }

    #[test]
    fn draining_a_group_frees_it_and_keeps_the_count() {
        let mut d = Dispatch::default();
        d.push(received(1, Some("a")));
        d.push(received(2, Some("a")));
        d.push(received(3, Some("a")));
        d.push(received(4, Some("b")));
        assert_eq!(d.take().map(|r| r.lease), Some(1));
        let later: Vec<u64> = d.drain_group("a").into_iter().map(|r| r.lease).collect();
        assert_eq!(later, vec![2, 3]);
        assert_eq!(d.queued, 1);
        assert_eq!(d.take().map(|r| r.lease), Some(4));
        assert!(d.take().is_none());
        d.push(received(5, Some("a")));
        assert_eq!(d.take().map(|r| r.lease), Some(5), "the group is free again");
        assert_eq!(d.drain_all().len(), 0);
    }

    #[test]
    fn reasons_are_truncated_on_a_char_boundary() {
        assert_eq!(truncate("short", 10), "short");
        let t = truncate(&"é".repeat(10), 5);
        assert!(t.starts_with("éé") && t.ends_with('…'), "{t}");
    }
}
