//! At-least-once consumers.
//!
//! One librdkafka consumer per subscription, polled by a thread of its own (not a tokio
//! task: the rebalance callback runs inside `poll` and may block for a while, waiting
//! for handlers and committing, without stalling the async runtime).
//!
//! The poll thread fetches in batches (one waiting poll, then whatever librdkafka
//! already holds, up to `POLL_BATCH`, 256) and moves a batch into per-partition queues
//! under one lock, waking one worker per partition that became ready. The pipeline's
//! workers share the subscription and take from a round-robin list of *ready*
//! partitions: a partition is ready when it has a queued message and none out. So a
//! partition's messages go out one at a time, in offset order (the next one only after
//! the previous one is settled), while different partitions are handled in parallel.
//! Wake-ups are one worker at a time (`notify_one`), never all of them, and a
//! partition stays with its worker while it has messages: settling wakes nobody, as the
//! worker that settled comes back for the next message and takes it without a
//! hand-off (no wake-up, no thread switch per message). A worker that takes a message
//! while more partitions are ready wakes the next one, and the poll thread wakes one
//! after each round when partitions are ready, so no message is left waiting for a
//! worker that does not come back.
//!
//! Settling:
//! - ack: the offset after the message becomes the partition's commit position. As a
//!   partition's messages are settled strictly in order, that position never passes an
//!   unsettled message.
//! - `Nack::Retry { after }`: the same message goes back to the head of its partition
//!   after the delay, with `attempt + 1`; the partition stays busy meanwhile, so no later
//!   message of it overtakes.
//! - `Nack::Reject`: the message is published to `<topic>.dlq` (with why, where from
//!   and how many attempts), then counts as settled. If that publish fails, it is
//!   delivered again a second later: never committed unless dead-lettered.
//!
//! Commits are asynchronous and batched (every `commit_interval`, or sooner after
//! `commit_batch` settled messages), and synchronous when partitions are revoked (after
//! waiting, up to `revoke_wait`, for their handlers) and at shutdown. Messages buffered
//! but not handed out when a partition is revoked are dropped: the next owner fetches
//! them again from the committed offset.
//!
//! Back-pressure: a partition whose buffer reaches `max_buffered` holds the poll thread
//! (no more fetching from librdkafka's queue, whose own prefetch limits then apply)
//! until the workers drain it to three quarters, for at most `HOLD_MAX` (100 ms). Only a
//! partition the workers do not drain in that time is paused, until they drain it to
//! half: pausing makes librdkafka drop what it prefetched for the partition and fetch it
//! again on resume, which cost a fast consumer close to half its throughput when every
//! full buffer paused.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::future::BoxFuture;
use rdkafka::client::ClientContext;
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::message::{Headers as _, Message as _};
use rdkafka::{Offset, TopicPartitionList};
use tidings_core::broker::{Acker, Delivery, Headers, Incoming, Nack, Outgoing, SubscribeSpec, Subscription};
use tidings_core::Error;
use tokio::sync::Notify;

use crate::config::KafkaConfig;
use crate::context::{forward_error, forward_log};
use crate::producer::KafkaProducer;
use crate::topic::{dlq_topic, TopicSelector};

/// Dead-letter header: why the message was rejected.
pub const DLQ_REASON: &str = "x-tidings-dlq-reason";
/// Dead-letter header: the topic it came from.
pub const DLQ_TOPIC: &str = "x-tidings-dlq-topic";
/// Dead-letter header: the partition it came from.
pub const DLQ_PARTITION: &str = "x-tidings-dlq-partition";
/// Dead-letter header: its offset there.
pub const DLQ_OFFSET: &str = "x-tidings-dlq-offset";
/// Dead-letter header: how many times it was handled.
pub const DLQ_ATTEMPTS: &str = "x-tidings-dlq-attempts";

/// The longest reason kept in the dead-letter header.
const MAX_REASON_BYTES: usize = 4096;
/// Wait before delivering a message again whose dead-lettering failed.
const DLQ_FAILURE_BACKOFF: Duration = Duration::from_secs(1);
/// Metadata refresh of pattern subscriptions unless configured: how soon a new
/// matching topic is consumed.
const PATTERN_METADATA_REFRESH: Duration = Duration::from_secs(5);
/// How long one poll waits for a message: also the latency of a stop request.
const POLL_TIMEOUT: Duration = Duration::from_millis(100);
/// The most messages the poll thread moves into the queues at once (after the first,
/// it takes only what librdkafka already fetched, without waiting).
const POLL_BATCH: usize = 256;
/// The longest the poll thread waits for the workers to drain a full partition before
/// pausing it (see the module's documentation).
const HOLD_MAX: Duration = Duration::from_millis(100);
/// The most bytes of fetched keys and payloads copied into one shared buffer (see
/// [`copy_out`]); a message larger than this gets a buffer of its own.
const SHARED_BUFFER: usize = 64 * 1024;
/// The most settled deliveries' allocations a subscription keeps for reuse (see
/// [`Spares`]): more than the workers of a consumer hold at once, unless its
/// concurrency is set higher.
const SPARES: usize = 32;

/// A partition: topic and number.
type Tp = (Arc<str>, i32);

/// The maps looked up for every message (partition state, topic names): foldhash, not
/// SipHash, which cost about 1,000 instructions a message in three lookups.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// A fetched message, owned.
#[derive(Debug, Clone)]
struct Record {
    topic: Arc<str>,
    /// The topic without the server's topic prefix: the channel the pipeline sees
    /// (shared by every record of a topic).
    channel: Arc<str>,
    partition: i32,
    offset: i64,
    key: Option<Bytes>,
    payload: Bytes,
    /// Its headers as [`copy_out`] wrote them into the round's shared buffer (see
    /// [`decode_headers`]); absent for a message without headers. The worker that takes
    /// the record decodes them: the poll thread allocates nothing per message that a
    /// worker would then free, and a record waiting in its queue stays small.
    headers: Option<Bytes>,
    attempt: u32,
    /// The consumer's rebalance count when it was fetched: a partition assigned after
    /// that (a revocation and a new assignment in between) does not take it.
    generation: u64,
}

impl Record {
    fn tp(&self) -> Tp {
        (self.topic.clone(), self.partition)
    }
}

/// One assigned partition.
#[derive(Debug)]
struct PartitionState {
    /// Which partition.
    tp: Tp,
    /// Which assignment this state belongs to (the rebalance count when it was
    /// assigned): settlements of an older one are ignored.
    epoch: u64,
    /// Fetched, not yet handed out; head first.
    queue: VecDeque<Record>,
    /// A message of this partition is out (in a handler, waiting to be retried, or
    /// being dead-lettered): no other one goes out.
    busy: bool,
    /// The message out is in a handler or being settled: a revocation waits for it.
    in_handler: bool,
    /// Listed in `Dispatch::ready`.
    in_ready: bool,
    /// Fetching is paused because the queue is full.
    paused: bool,
    /// Being revoked: nothing more goes out, settlements still count.
    revoking: bool,
    /// The offset to commit: one past the last settled message.
    settled_next: Option<i64>,
    /// The offset whose commit was last sent.
    committed: Option<i64>,
}

impl PartitionState {
    fn new(tp: Tp, epoch: u64) -> Self {
        PartitionState {
            tp,
            epoch,
            queue: VecDeque::new(),
            busy: false,
            in_handler: false,
            in_ready: false,
            paused: false,
            revoking: false,
            settled_next: None,
            committed: None,
        }
    }
}

#[derive(Debug, Default)]
struct Dispatch {
    /// The assigned partitions, each in a slot of its own. A delivery's acker and the
    /// ready list name a partition by its slot, so settling and taking a message look
    /// nothing up by name (hashing the topic cost about 240 instructions a message);
    /// `by_tp` is read once per fetched run of a partition's messages, and at rebalances.
    slots: Vec<Option<PartitionState>>,
    /// The slot of each assigned partition.
    by_tp: HashMap<Tp, usize>,
    /// Slots of partitions with a queued message and none out, in the order they became
    /// so. May name a slot whose partition was since assigned again or replaced: `take`
    /// checks the state it finds there.
    ready: VecDeque<usize>,
    /// Paused partitions drained enough to fetch again (the poll thread resumes them).
    resume: Vec<Tp>,
    /// Messages settled since the last commit.
    uncommitted: usize,
    /// Rebalances so far (assignments and revocations); also mirrored in
    /// `Shared::generation` for the poll thread.
    generation: u64,
    /// A revocation is waiting for handlers: settlements must signal `Shared::changed`.
    revoke_waiting: bool,
    /// The poll thread waits for a full partition to drain: a take that drains one to
    /// the hold level signals `Shared::drained`.
    holding: bool,
    closed: bool,
    /// Allocations of settled deliveries, for the next ones.
    spares: Spares,
}

/// The allocations of acknowledged deliveries, reused by the next deliveries: the
/// delivered message (when the acknowledgement held its last reference) and the
/// acker's box. Taking and settling a message lock the dispatch state anyway, so reuse
/// costs two `Vec` operations under that lock where a new message cost two allocations
/// and two frees (about 330 instructions a message with glibc's allocator), and the
/// message is filled in place, not built on the stack and moved into its allocation.
/// At most [`SPARES`] of each are kept.
#[derive(Default)]
struct Spares {
    /// Messages nobody else holds, emptied: no payload, key, headers or parameters.
    messages: Vec<Arc<Incoming>>,
    /// Ackers without a pending delivery (and so without a reference to `Shared`,
    /// which holds this list). Boxed: the box itself is what is reused, as the
    /// `Box<dyn Acker>` of the next delivery.
    #[allow(clippy::vec_box)]
    ackers: Vec<Box<KafkaAcker>>,
}

impl std::fmt::Debug for Spares {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spares").field("messages", &self.messages.len()).field("ackers", &self.ackers.len()).finish()
    }
}

/// What an acknowledgement gives back for reuse.
#[derive(Default)]
struct Spare {
    message: Option<Arc<Incoming>>,
    acker: Option<Box<KafkaAcker>>,
}

impl Spares {
    /// Keeps what `spare` holds while there is room (the rest is dropped).
    fn keep(&mut self, spare: Spare) {
        if let Some(m) = spare.message.filter(|_| self.messages.len() < SPARES) {
            self.messages.push(m);
        }
        if let Some(a) = spare.acker.filter(|_| self.ackers.len() < SPARES) {
            self.ackers.push(a);
        }
    }
}

impl Dispatch {
    /// The state of partition `tp`, if assigned.
    fn get(&self, tp: &Tp) -> Option<&PartitionState> {
        self.by_tp.get(tp).and_then(|&slot| self.slots[slot].as_ref())
    }

    /// The state of partition `tp`, if assigned.
    fn get_mut(&mut self, tp: &Tp) -> Option<&mut PartitionState> {
        let slot = *self.by_tp.get(tp)?;
        in_slot(&mut self.slots, slot)
    }

    /// Tracks `state` (a new assignment of its partition): in the partition's slot when
    /// it has one, else in the first free slot.
    fn insert(&mut self, state: PartitionState) {
        let slot = match self.by_tp.get(&state.tp) {
            Some(&slot) => slot,
            None => match self.slots.iter().position(Option::is_none) {
                Some(free) => free,
                None => {
                    self.slots.push(None);
                    self.slots.len() - 1
                }
            },
        };
        self.by_tp.insert(state.tp.clone(), slot);
        self.slots[slot] = Some(state);
    }

    /// Forgets partition `tp`; returns its slot and state. A slot is reused only by a
    /// later assignment, whose epoch differs, so an acker of this one cannot settle
    /// the next partition in the slot.
    fn remove(&mut self, tp: &Tp) -> Option<(usize, PartitionState)> {
        let slot = self.by_tp.remove(tp)?;
        self.slots[slot].take().map(|p| (slot, p))
    }

    /// Every assigned partition's state.
    fn states_mut(&mut self) -> impl Iterator<Item = &mut PartitionState> {
        self.slots.iter_mut().flatten()
    }
}

/// The state in `slot`, if the slot holds a partition. A function of the slots alone, so
/// a caller can hold it and `Dispatch::ready` at once.
fn in_slot(slots: &mut [Option<PartitionState>], slot: usize) -> Option<&mut PartitionState> {
    slots.get_mut(slot).and_then(Option::as_mut)
}

/// Lists `p`, the state in `slot`, in `ready` when it has a message to hand out and none
/// out. For a caller that already holds the state: no second lookup of the partition.
fn list_if_ready(p: &mut PartitionState, ready: &mut VecDeque<usize>, slot: usize) -> bool {
    if !p.busy && !p.revoking && !p.in_ready && !p.queue.is_empty() {
        p.in_ready = true;
        ready.push_back(slot);
        true
    } else {
        false
    }
}

/// What the poll thread, the subscription and the ackers of one consumer share.
pub(crate) struct Shared {
    server: String,
    group: String,
    consumer: String,
    topic_prefix: String,
    max_buffered: usize,
    /// The subscription is a pattern (a channel with parameters): see [`Kept`].
    pattern: bool,
    revoke_wait: Duration,
    producer: Arc<KafkaProducer>,
    runtime: tokio::runtime::Handle,
    state: Mutex<Dispatch>,
    /// Wakes workers waiting in `next`.
    ready: Notify,
    /// Wakes a revocation waiting for handlers.
    changed: Condvar,
    /// Wakes the poll thread holding for a full partition to drain.
    drained: Condvar,
    /// `Dispatch::generation`, readable without the lock.
    generation: AtomicU64,
    stop: AtomicBool,
}

// A poisoned lock only means a thread panicked while holding it; every update keeps
// the state consistent, so keep going rather than spreading the panic.
fn lock(m: &Mutex<Dispatch>) -> MutexGuard<'_, Dispatch> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Dispatch> {
        lock(&self.state)
    }

    /// Counts a rebalance; returns the new count.
    fn next_generation(&self, st: &mut Dispatch) -> u64 {
        st.generation += 1;
        self.generation.store(st.generation, Ordering::Release);
        st.generation
    }

    /// Starts tracking newly assigned partitions.
    fn assign(&self, tpl: &TopicPartitionList) {
        let mut st = self.lock();
        let epoch = self.next_generation(&mut st);
        for e in tpl.elements() {
            st.insert(PartitionState::new((Arc::from(e.topic()), e.partition()), epoch));
        }
        tracing::info!(
            server = %self.server, group = %self.group, consumer = %self.consumer,
            partitions = %describe(tpl), "Kafka partitions assigned"
        );
    }

    /// Gives partitions up: stops handing their messages out, waits (bounded) for the
    /// handlers running on them, commits what they settled, forgets them.
    fn revoke(&self, consumer: &BaseConsumer<GroupContext>, tpl: &TopicPartitionList) {
        let revoked: Vec<Tp> = tpl.elements().iter().map(|e| (Arc::from(e.topic()), e.partition())).collect();
        let deadline = Instant::now() + self.revoke_wait;
        let mut st = self.lock();
        self.next_generation(&mut st);
        for tp in &revoked {
            if let Some(p) = st.get_mut(tp) {
                p.revoking = true;
                p.queue.clear();
            }
        }
        st.revoke_waiting = true;
        loop {
            let running = revoked.iter().filter(|tp| st.get(tp).is_some_and(|p| p.in_handler)).count();
            let now = Instant::now();
            if running == 0 {
                break;
            }
            if now >= deadline {
                tracing::warn!(
                    server = %self.server, group = %self.group, running,
                    "handlers still running on revoked partitions after {:?}; their messages will be delivered again to the next owner",
                    self.revoke_wait
                );
                break;
            }
            st = self.changed.wait_timeout(st, deadline - now).unwrap_or_else(|e| e.into_inner()).0;
        }
        st.revoke_waiting = false;
        let mut commits = Vec::new();
        let mut freed = Vec::new();
        for tp in &revoked {
            if let Some((slot, p)) = st.remove(tp) {
                freed.push(slot);
                // Even when already sent: an asynchronous commit may still fail.
                if let Some(next) = p.settled_next {
                    commits.push((tp.clone(), next));
                }
            }
        }
        st.ready.retain(|slot| !freed.contains(slot));
        st.resume.retain(|tp| !revoked.contains(tp));
        drop(st);
        self.commit_sync(consumer, &commits, "revocation");
        tracing::info!(
            server = %self.server, group = %self.group, consumer = %self.consumer,
            partitions = %describe(tpl), "Kafka partitions revoked"
        );
    }

    /// Queues fetched messages (in fetch order), under one lock; wakes one worker per
    /// partition that became ready. Returns the partitions whose buffer is full (not
    /// paused yet: see [`Shared::hold`]). Drains `records`.
    fn push(&self, records: &mut Vec<Record>) -> Vec<Tp> {
        let mut full = Vec::new();
        let mut woke = 0;
        let mut guard = self.lock();
        let st = &mut *guard;
        // A fetch brings runs of one partition's messages: one lookup of its state a run,
        // not one a message.
        let mut records = records.drain(..).peekable();
        while let Some(first) = records.next() {
            let tp = first.tp();
            // This record and the ones of its partition right after it.
            let run = std::iter::once(first)
                .chain(std::iter::from_fn(|| records.next_if(|r| r.partition == tp.1 && r.topic == tp.0)));
            let Some(slot) = st.by_tp.get(&tp).copied() else {
                // Fetched before a revocation took effect: the next owner fetches it again.
                for record in run {
                    tracing::debug!(topic = %record.topic, partition = record.partition, offset = record.offset,
                        "message of a partition no longer assigned; dropped");
                }
                continue;
            };
            let Some(p) = in_slot(&mut st.slots, slot) else { continue };
            for record in run {
                // Revoked, or assigned again after it was fetched (librdkafka fetches again
                // from the committed offset then): not this assignment's message.
                if !p.revoking && p.epoch <= record.generation {
                    p.queue.push_back(record);
                }
            }
            if !p.paused && p.queue.len() >= self.max_buffered && !full.contains(&tp) {
                full.push(tp.clone());
            }
            if list_if_ready(p, &mut st.ready, slot) {
                woke += 1;
            }
        }
        drop(guard);
        for _ in 0..woke {
            self.ready.notify_one();
        }
        full
    }

    /// The queue length a held partition must drain to: three quarters of
    /// `max_buffered`, always below it.
    fn hold_level(&self) -> usize {
        (self.max_buffered - self.max_buffered / 4).min(self.max_buffered - 1)
    }

    /// Holds the poll thread, at most `max`, while the workers drain the `full`
    /// partitions to the hold level; marks those still full as paused and returns them
    /// (the caller pauses their fetching). A partition the workers keep up with is never
    /// paused.
    fn hold(&self, full: &[Tp], max: Duration) -> Vec<Tp> {
        let level = self.hold_level();
        let deadline = Instant::now() + max;
        let mut st = self.lock();
        loop {
            let still: Vec<Tp> = full
                .iter()
                .filter(|tp| st.get(tp).is_some_and(|p| !p.revoking && !p.paused && p.queue.len() > level))
                .cloned()
                .collect();
            let now = Instant::now();
            if still.is_empty() || now >= deadline || st.closed || self.stop.load(Ordering::SeqCst) {
                st.holding = false;
                for tp in &still {
                    if let Some(p) = st.get_mut(tp) {
                        p.paused = true;
                    }
                }
                return still;
            }
            st.holding = true;
            st = self.drained.wait_timeout(st, deadline - now).unwrap_or_else(|e| e.into_inner()).0;
        }
    }

    /// The poll thread's look after each round: the partitions to resume and how many
    /// settled messages await a commit. Wakes one worker when a partition is ready: a
    /// settled partition waits for the worker that settled it, and should that worker
    /// not come back, another one takes it from here.
    fn after_round(&self) -> (Vec<Tp>, usize) {
        let mut st = self.lock();
        let out = (std::mem::take(&mut st.resume), st.uncommitted);
        let ready = !st.ready.is_empty();
        drop(st);
        if ready {
            self.ready.notify_one();
        }
        out
    }

    /// Hands the next message of the next ready partition out. Never awaits, so a
    /// message taken here always reaches the caller.
    fn take(self: &Arc<Self>) -> Option<Delivery> {
        let mut guard = self.lock();
        let st = &mut *guard;
        while let Some(slot) = st.ready.pop_front() {
            let resume_at = self.max_buffered / 2;
            let Some(p) = in_slot(&mut st.slots, slot) else { continue };
            p.in_ready = false;
            if p.busy || p.revoking {
                continue;
            }
            let Some(record) = p.queue.pop_front() else { continue };
            p.busy = true;
            p.in_handler = true;
            let epoch = p.epoch;
            let left = p.queue.len();
            if p.paused && left <= resume_at {
                p.paused = false;
                st.resume.push(p.tp.clone());
            }
            if st.holding && left <= self.hold_level() {
                // The poll thread re-checks under the lock; one signal is enough.
                st.holding = false;
                self.drained.notify_one();
            }
            // More partitions ready: pass the wake-up on to another worker.
            let more = !st.ready.is_empty();
            let (spare_message, spare_acker) = (st.spares.messages.pop(), st.spares.ackers.pop());
            drop(guard);
            if more {
                self.ready.notify_one();
            }
            let (incoming, kept) = Kept::deliver(record, self.pattern, spare_message);
            let pending = Some(Pending { shared: self.clone(), slot, epoch, kept });
            let acker = match spare_acker {
                Some(mut acker) => {
                    acker.pending = pending;
                    acker
                }
                None => Box::new(KafkaAcker { pending }),
            };
            return Some(Delivery { incoming, acker });
        }
        None
    }

    /// Records that the message `at` (topic, partition, offset), taken from `slot` under
    /// assignment `epoch`, is done with: its partition may commit past it and hand out
    /// the next message. What `spare` holds is kept for reuse.
    fn settle(&self, at: (&str, i32, i64), slot: usize, epoch: u64, spare: Spare) {
        let (topic, partition, offset) = at;
        let mut guard = self.lock();
        let st = &mut *guard;
        st.spares.keep(spare);
        match in_slot(&mut st.slots, slot) {
            Some(p) if p.epoch == epoch => {
                p.busy = false;
                p.in_handler = false;
                p.settled_next = Some(p.settled_next.map_or(offset + 1, |n| n.max(offset + 1)));
                st.uncommitted += 1;
                // No wake-up: the worker that settled takes the next ready partition
                // when it asks again (see the module's documentation).
                list_if_ready(p, &mut st.ready, slot);
                let revoke_waiting = st.revoke_waiting;
                drop(guard);
                if revoke_waiting {
                    self.changed.notify_all();
                }
            }
            _ => {
                drop(guard);
                tracing::debug!(topic, partition, offset,
                    "settled after its partition was revoked; the next owner handles it again");
                self.changed.notify_all();
            }
        }
    }

    /// The message out of `slot` is waiting (for a retry): a revocation need not wait
    /// for it.
    fn waiting(&self, slot: usize, epoch: u64) {
        let mut st = self.lock();
        if let Some(p) = in_slot(&mut st.slots, slot).filter(|p| p.epoch == epoch) {
            p.in_handler = false;
        }
        drop(st);
        self.changed.notify_all();
    }

    /// Puts `record` back at the head of its partition (in `slot`), to be delivered again.
    fn requeue(&self, record: Record, slot: usize, epoch: u64) {
        let mut guard = self.lock();
        let st = &mut *guard;
        match in_slot(&mut st.slots, slot) {
            Some(p) if p.epoch == epoch && !p.revoking => {
                p.busy = false;
                p.in_handler = false;
                p.queue.push_front(record);
                let woke = list_if_ready(p, &mut st.ready, slot);
                drop(guard);
                if woke {
                    self.ready.notify_one();
                }
            }
            _ => {
                drop(guard);
                tracing::debug!(topic = %record.topic, partition = record.partition, offset = record.offset,
                    "not redelivered: its partition was revoked; the next owner handles it again");
            }
        }
        self.changed.notify_all();
    }

    /// Redelivers `record` after `after`, from a task, so the caller is not held.
    fn requeue_after(self: &Arc<Self>, record: Record, slot: usize, epoch: u64, after: Duration) {
        self.waiting(slot, epoch);
        let shared = self.clone();
        self.runtime.spawn(async move {
            tokio::time::sleep(after).await;
            shared.requeue(record, slot, epoch);
        });
    }

    /// Publishes `record`, delivered with `headers`, to its dead-letter topic, then
    /// settles it. On failure it is delivered again later: a message is never committed
    /// unless dead-lettered.
    async fn dead_letter(
        self: Arc<Self>,
        record: Record,
        mut headers: Headers,
        slot: usize,
        epoch: u64,
        reason: String,
    ) -> Result<(), Error> {
        let dlq = dlq_topic(&record.topic);
        headers.insert(DLQ_REASON, truncate(&reason, MAX_REASON_BYTES));
        headers.insert(DLQ_TOPIC, &*record.topic);
        headers.insert(DLQ_PARTITION, record.partition.to_string());
        headers.insert(DLQ_OFFSET, record.offset.to_string());
        headers.insert(DLQ_ATTEMPTS, record.attempt.to_string());
        let message = Outgoing { payload: record.payload.clone(), headers, key: record.key.clone() };
        match self.producer.send(&dlq, &message).await {
            Ok((dlq_partition, dlq_offset)) => {
                tracing::warn!(
                    server = %self.server, topic = %record.topic, partition = record.partition, offset = record.offset,
                    attempts = record.attempt, dlq = %dlq, dlq_partition, dlq_offset, reason = %reason,
                    "message dead-lettered"
                );
                self.settle((&record.topic, record.partition, record.offset), slot, epoch, Spare::default());
                Ok(())
            }
            Err(e) => {
                let what = format!(
                    "dead-lettering topic `{}` partition {} offset {} to `{dlq}` failed ({e}); it will be delivered again",
                    record.topic, record.partition, record.offset
                );
                self.requeue_after(record, slot, epoch, DLQ_FAILURE_BACKOFF);
                Err(Error::broker(&self.server, what))
            }
        }
    }

    /// Offsets to commit now, marked as sent; with `all`, those already sent too (a
    /// final commit must not count on an asynchronous one still under way).
    fn take_commits(&self, all: bool) -> Vec<(Tp, i64)> {
        let mut st = self.lock();
        st.uncommitted = 0;
        let mut out = Vec::new();
        for p in st.states_mut() {
            if let Some(next) = p.settled_next.filter(|n| all || p.committed != Some(*n)) {
                p.committed = Some(next);
                out.push((p.tp.clone(), next));
            }
        }
        out
    }

    /// Forgets that these commits were sent, so the next round sends them again.
    fn commits_failed(&self, offsets: &TopicPartitionList) {
        let mut st = self.lock();
        for e in offsets.elements() {
            let tp: Tp = (Arc::from(e.topic()), e.partition());
            if let (Some(p), Offset::Offset(n)) = (st.get_mut(&tp), e.offset()) {
                if p.committed == Some(n) {
                    p.committed = None;
                }
            }
        }
    }

    fn commit_sync(&self, consumer: &BaseConsumer<GroupContext>, commits: &[(Tp, i64)], why: &str) {
        if commits.is_empty() {
            return;
        }
        let tpl = to_tpl(commits);
        match consumer.commit(&tpl, CommitMode::Sync) {
            Ok(()) => tracing::debug!(server = %self.server, group = %self.group, offsets = %describe(&tpl), why, "offsets committed"),
            Err(e) => tracing::warn!(
                server = %self.server, group = %self.group, offsets = %describe(&tpl), error = %e, why,
                "commit failed; those messages will be delivered again"
            ),
        }
    }

    fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_waiters();
    }
}

fn to_tpl(commits: &[(Tp, i64)]) -> TopicPartitionList {
    let mut tpl = TopicPartitionList::with_capacity(commits.len());
    for ((topic, partition), offset) in commits {
        // The topics came from librdkafka, so they hold no NUL; the offsets are valid.
        let _ = tpl.add_partition_offset(topic, *partition, Offset::Offset(*offset));
    }
    tpl
}

fn describe(tpl: &TopicPartitionList) -> String {
    let parts: Vec<String> = tpl
        .elements()
        .iter()
        .map(|e| match e.offset() {
            Offset::Offset(o) => format!("{}[{}]@{o}", e.topic(), e.partition()),
            _ => format!("{}[{}]", e.topic(), e.partition()),
        })
        .collect();
    parts.join(", ")
}

fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

/// The consumer's librdkafka context: logs, rebalances, commit results.
pub(crate) struct GroupContext {
    shared: Arc<Shared>,
}

impl ClientContext for GroupContext {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        forward_log(&self.shared.server, level, facility, message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        forward_error(&self.shared.server, &error, reason);
    }
}

impl ConsumerContext for GroupContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(tpl) => self.shared.assign(tpl),
            Rebalance::Revoke(tpl) => self.shared.revoke(consumer, tpl),
            Rebalance::Error(e) => {
                tracing::warn!(server = %self.shared.server, group = %self.shared.group, error = %e, "Kafka rebalance error")
            }
        }
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(tpl) = rebalance {
            // A partition paused under an earlier assignment must not stay paused.
            let _ = consumer.resume(tpl);
        }
    }

    fn commit_callback(&self, result: KafkaResult<()>, offsets: &TopicPartitionList) {
        let failed_partitions = offsets.elements().iter().any(|e| e.error().is_err());
        match result {
            Err(e) => {
                // No offsets to commit is not a failure.
                if !matches!(e, KafkaError::ConsumerCommit(rdkafka::types::RDKafkaErrorCode::NoOffset)) {
                    tracing::warn!(server = %self.shared.server, group = %self.shared.group, error = %e,
                        offsets = %describe(offsets), "commit failed; retrying at the next commit");
                    self.shared.commits_failed(offsets);
                }
            }
            Ok(()) if failed_partitions => {
                tracing::warn!(server = %self.shared.server, group = %self.shared.group,
                    offsets = %describe(offsets), "commit failed for some partitions; retrying at the next commit");
                self.shared.commits_failed(offsets);
            }
            Ok(()) => {}
        }
    }
}

/// Settles one Kafka delivery.
struct KafkaAcker {
    /// `None` once settled (and while the box waits in [`Spares`]); still `Some` on
    /// drop means the pipeline dropped the delivery.
    pending: Option<Pending>,
}

/// An unsettled delivery.
struct Pending {
    shared: Arc<Shared>,
    /// Its partition's slot, and the assignment it was taken under.
    slot: usize,
    epoch: u64,
    kept: Kept,
}

/// What an acker keeps of its message, to deliver it again (a retry, or a delivery
/// dropped unsettled) or dead-letter it.
enum Kept {
    /// An exact topic's message: the delivered message itself, shared with the handler
    /// (the pipeline leaves it as it is), and the rest of its record.
    Delivered { topic: Arc<str>, partition: i32, offset: i64, message: Arc<Incoming> },
    /// A pattern's message: its record. The pipeline sets the channel's parameters on
    /// the delivered message, in place only while nobody else holds it; shared here, it
    /// would be copied whole. (Boxed: the acker of every message is allocated, and
    /// moved, at this enum's size.)
    Record(Box<Record>),
}

impl Kept {
    /// The message to deliver for `record`, and what its acker keeps. For an exact topic
    /// the record's parts move into the message, which the acker shares: three
    /// reference counts fewer to update, and drop, than copies would be (measured: 150
    /// to 190 instructions a message).
    ///
    /// `spare` is an emptied message nobody else holds: filled in place when given.
    fn deliver(record: Record, pattern: bool, spare: Option<Arc<Incoming>>) -> (Arc<Incoming>, Kept) {
        if !pattern {
            if let Some(mut message) = spare {
                if let Some(m) = Arc::get_mut(&mut message) {
                    let Record { topic, channel, partition, offset, key, payload, attempt, headers, .. } = record;
                    m.channel = channel;
                    m.payload = payload;
                    m.key = key;
                    m.attempt = attempt;
                    if let Some(block) = headers.as_deref() {
                        decode_headers_into(block, &mut m.headers);
                    }
                    return (message.clone(), Kept::Delivered { topic, partition, offset, message });
                }
            }
        }
        let headers = record.headers.as_deref().map(decode_headers).unwrap_or_default();
        if pattern {
            let message = Incoming {
                channel: record.channel.clone(),
                payload: record.payload.clone(),
                headers,
                key: record.key.clone(),
                attempt: record.attempt,
                params: Default::default(),
            };
            return (Arc::new(message), Kept::Record(Box::new(record)));
        }
        let Record { topic, channel, partition, offset, key, payload, attempt, .. } = record;
        let message = Arc::new(Incoming { channel, payload, headers, key, attempt, params: Default::default() });
        (message.clone(), Kept::Delivered { topic, partition, offset, message })
    }

    /// The message's record, to go back into its partition's queue (which takes it
    /// whatever its `generation`: assigned under `epoch`).
    fn into_record(self, epoch: u64) -> Record {
        match self {
            Kept::Delivered { topic, partition, offset, message } => Record {
                topic,
                channel: message.channel.clone(),
                partition,
                offset,
                key: message.key.clone(),
                payload: message.payload.clone(),
                headers: encode_headers(&message.headers),
                attempt: message.attempt,
                generation: epoch,
            },
            Kept::Record(record) => *record,
        }
    }
}

impl Acker for KafkaAcker {
    fn ack(mut self: Box<Self>) -> BoxFuture<'static, Result<(), Error>> {
        let Some(Pending { shared, slot, epoch, kept }) = self.pending.take() else {
            return tidings_core::broker::settled();
        };
        // The box, now without a pending delivery, and the message go back for reuse.
        match kept {
            Kept::Delivered { topic, partition, offset, message } => {
                let spare = Spare { message: emptied(message), acker: Some(self) };
                shared.settle((&topic, partition, offset), slot, epoch, spare);
            }
            Kept::Record(r) => {
                shared.settle((&r.topic, r.partition, r.offset), slot, epoch, Spare { message: None, acker: Some(self) });
            }
        }
        tidings_core::broker::settled()
    }

    fn nack(mut self: Box<Self>, nack: Nack, delivered: &Incoming) -> BoxFuture<'static, Result<(), Error>> {
        let Some(Pending { shared, slot, epoch, kept }) = self.pending.take() else {
            return tidings_core::broker::settled();
        };
        let mut record = kept.into_record(epoch);
        match nack {
            Nack::Retry { after } => {
                record.attempt = record.attempt.saturating_add(1);
                shared.requeue_after(record, slot, epoch, after);
                tidings_core::broker::settled()
            }
            Nack::Reject { reason } => {
                Box::pin(shared.dead_letter(record, delivered.headers.clone(), slot, epoch, reason))
            }
        }
    }
}

impl Drop for KafkaAcker {
    fn drop(&mut self) {
        // Dropped unsettled (a worker aborted at the shutdown timeout, say): deliver it
        // again rather than leave its partition blocked or skip it.
        if let Some(Pending { shared, slot, epoch, kept }) = self.pending.take() {
            let record = kept.into_record(epoch);
            tracing::debug!(topic = %record.topic, partition = record.partition, offset = record.offset,
                "delivery dropped without being settled; it will be delivered again");
            shared.requeue(record, slot, epoch);
        }
    }
}

/// `message` emptied for reuse, when the acker held its last reference (the pipeline
/// has let go of it, and no handler kept it).
fn emptied(mut message: Arc<Incoming>) -> Option<Arc<Incoming>> {
    // Every field named, so a field added to `Incoming` is a compile error here until it
    // is emptied (or, as `channel` and `attempt`, always set by `Kept::deliver`).
    let Incoming { channel: _, payload, headers, key, attempt: _, params } = Arc::get_mut(&mut message)?;
    // Release what it shares now (the payload's buffer holds a whole fetch round), not
    // when it is reused.
    *payload = Bytes::new();
    *key = None;
    headers.clear();
    // Only a pattern's messages have parameters, and those are not reused; `clear` on
    // an empty `BTreeMap` still walks it (about 60 instructions).
    if !params.is_empty() {
        params.clear();
    }
    Some(message)
}

/// The subscription the pipeline's workers share.
pub(crate) struct KafkaSubscription {
    shared: Arc<Shared>,
}

impl Subscription for KafkaSubscription {
    fn next(&self) -> BoxFuture<'_, Option<Delivery>> {
        // The workers call `try_next` first (and charge tokio's budget for it): here
        // nothing was ready a moment ago, so wait.
        Box::pin(async move {
            loop {
                // Registered before looking, so a message queued in between wakes us.
                let notified = self.shared.ready.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                if let Some(delivery) = self.shared.take() {
                    return Some(delivery);
                }
                if self.shared.lock().closed {
                    return None;
                }
                notified.await;
            }
        })
    }

    fn try_next(&self) -> Option<Delivery> {
        self.shared.take()
    }
}

/// A running consumer: its shared state and its poll thread.
pub(crate) struct ConsumerHandle {
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ConsumerHandle {
    /// Stops fetching, commits what is settled, leaves the group. Blocking: call from
    /// a blocking-friendly thread.
    pub(crate) fn stop(mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!(server = %self.shared.server, group = %self.shared.group, "Kafka poll thread panicked");
            }
        }
        self.shared.close();
    }
}

/// The librdkafka settings of one consumer of `group`: the server's common ones, manual
/// offset storing and commits (tidings commits what its handlers settled), where a group
/// without offsets starts, and the URL's consumer options.
fn client_config(config: &KafkaConfig, group: &str, reset: &str, selector: &TopicSelector) -> ClientConfig {
    let mut cc = ClientConfig::new();
    for (k, v) in config.common() {
        cc.set(k, v);
    }
    cc.set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("enable.partition.eof", "false")
        .set("auto.offset.reset", reset)
        // Subscribing to a topic nobody published to yet creates it (where the broker
        // allows), so the group gets its partitions without waiting for a publisher.
        .set("allow.auto.create.topics", "true");
    if let Some(session) = config.session_timeout {
        let ms = session.as_millis() as u64;
        cc.set("session.timeout.ms", ms.to_string());
        // librdkafka requires the heartbeat to be well under the session timeout.
        cc.set("heartbeat.interval.ms", (ms / 3).clamp(1, 3000).to_string());
    }
    if let Some(wait) = config.fetch_wait {
        cc.set("fetch.wait.max.ms", wait.as_millis().to_string());
    }
    // A pattern subscription finds new matching topics at each metadata refresh:
    // librdkafka's 5 minutes is too slow for a channel like `orders.{region}.created`.
    let refresh = match (config.metadata_refresh, selector) {
        (Some(r), _) => Some(r),
        (None, TopicSelector::Pattern(_)) => Some(PATTERN_METADATA_REFRESH),
        (None, TopicSelector::Topic(_)) => None,
    };
    if let Some(refresh) = refresh {
        cc.set("topic.metadata.refresh.interval.ms", refresh.as_millis().to_string());
    }
    cc
}

/// Subscribes one consumer: creates its consumer, joins the group, starts polling.
pub(crate) fn subscribe(
    server: &str,
    config: &KafkaConfig,
    producer: Arc<KafkaProducer>,
    spec: &SubscribeSpec,
) -> Result<(KafkaSubscription, ConsumerHandle), Error> {
    let selector = crate::topic::selector(&config.topic_prefix, &spec.address)?;
    // Retries are timed on the runtime the subscription was made on.
    let runtime = tokio::runtime::Handle::try_current()
        .map_err(|_| Error::broker(server, "subscribing needs a tokio runtime (none is running here)"))?;
    let (group, reset) = match &spec.group {
        Some(g) => (format!("{}{g}", config.group_prefix), config.offset_reset()),
        // Every group-less subscriber gets every message: a group of its own, from now on.
        None => (format!("{}tidings-{}-{}", config.group_prefix, spec.consumer, uuid::Uuid::new_v4().simple()), "latest"),
    };
    let shared = Arc::new(Shared {
        server: server.to_owned(),
        group: group.clone(),
        consumer: spec.consumer.clone(),
        topic_prefix: config.topic_prefix.clone(),
        max_buffered: config.max_buffered.max(1),
        pattern: matches!(selector, TopicSelector::Pattern(_)),
        revoke_wait: config.revoke_wait,
        producer,
        runtime,
        state: Mutex::new(Dispatch::default()),
        ready: Notify::new(),
        changed: Condvar::new(),
        drained: Condvar::new(),
        generation: AtomicU64::new(0),
        stop: AtomicBool::new(false),
    });
    let cc = client_config(config, &group, reset, &selector);
    let context = GroupContext { shared: shared.clone() };
    let consumer: BaseConsumer<GroupContext> = cc
        .create_with_context(context)
        .map_err(|e| Error::broker(server, format!("cannot create the Kafka consumer of group `{group}`: {e}")))?;
    consumer.subscribe(&[selector.as_subscription()]).map_err(|e| {
        Error::broker(server, format!("group `{group}` cannot subscribe to `{}`: {e}", selector.as_subscription()))
    })?;
    tracing::info!(
        server, group = %group, consumer = %spec.consumer,
        topics = %selector.as_subscription(), pattern = matches!(selector, TopicSelector::Pattern(_)),
        "Kafka consumer subscribed"
    );
    let poll = PollLoop {
        shared: shared.clone(),
        consumer,
        commit_interval: config.commit_interval,
        commit_batch: config.commit_batch,
        topics: Topics::default(),
        blocks: Vec::new(),
        last_error: None,
    };
    let thread = std::thread::Builder::new()
        .name(format!("kafka-{}", spec.consumer))
        .spawn(move || poll.run())
        .map_err(|e| Error::broker(server, format!("cannot start the poll thread of group `{group}`: {e}")))?;
    Ok((KafkaSubscription { shared: shared.clone() }, ConsumerHandle { shared, thread: Some(thread) }))
}

struct PollLoop {
    shared: Arc<Shared>,
    consumer: BaseConsumer<GroupContext>,
    commit_interval: Duration,
    commit_batch: usize,
    /// Topic names and their channels, shared by every record of a partition (see
    /// [`to_record`]).
    topics: Topics,
    /// The header blocks of one poll round, before [`copy_out`] copies them (kept, so a
    /// round allocates none).
    blocks: Vec<u8>,
    /// The last poll error logged and when, so a repeating one is logged now and then.
    last_error: Option<(String, Instant)>,
}

impl PollLoop {
    fn run(mut self) {
        let mut last_commit = Instant::now();
        let mut batch = Vec::with_capacity(POLL_BATCH);
        while !self.shared.stop.load(Ordering::SeqCst) {
            // One poll that waits, then only what librdkafka already holds.
            let mut timeout = POLL_TIMEOUT;
            let mut polled = Vec::with_capacity(POLL_BATCH);
            let mut error = None;
            while polled.len() < POLL_BATCH {
                match self.consumer.poll(timeout) {
                    Some(Ok(message)) => {
                        // Read after the poll: a rebalance runs inside it, before it returns.
                        let generation = self.shared.generation.load(Ordering::Acquire);
                        polled.push((message, generation));
                    }
                    Some(Err(e)) => {
                        error = Some(e);
                        break;
                    }
                    None => break,
                }
                timeout = Duration::ZERO;
            }
            // The header blocks first, each message's headers read from librdkafka once.
            let mut blocks = std::mem::take(&mut self.blocks);
            blocks.clear();
            let spans: Vec<_> = polled
                .iter()
                .map(|(m, _)| {
                    m.headers().filter(|h| h.count() > 0).map(|h| {
                        let start = blocks.len();
                        write_block(h.iter().map(|h| (h.key, h.value.unwrap_or_default())), &mut blocks);
                        start..blocks.len()
                    })
                })
                .collect();
            let parts: Vec<_> = polled
                .iter()
                .zip(spans)
                .map(|((m, _), span)| (m.key(), m.payload().unwrap_or_default(), span.map(|r| &blocks[r])))
                .collect();
            copy_out(&parts, |i, copied| {
                let (message, generation) = &polled[i];
                batch.push(to_record(&mut self.topics, &self.shared.topic_prefix, message, *generation, copied));
            });
            drop(parts);
            self.blocks = blocks;
            drop(polled);
            self.topics.end_round();
            if let Some(e) = error {
                self.poll_error(e);
            }
            if !batch.is_empty() {
                let full = self.shared.push(&mut batch);
                if !full.is_empty() {
                    let pause = self.shared.hold(&full, HOLD_MAX);
                    if !pause.is_empty() {
                        self.set_paused(&pause, true);
                    }
                }
            }
            let (resume, uncommitted) = self.shared.after_round();
            if !resume.is_empty() {
                self.set_paused(&resume, false);
            }
            let due = last_commit.elapsed() >= self.commit_interval || uncommitted >= self.commit_batch;
            if due {
                self.commit(CommitMode::Async);
                last_commit = Instant::now();
            }
        }
        // Shutdown: the pipeline has stopped taking messages and finished its handlers.
        self.commit(CommitMode::Sync);
        let PollLoop { shared, consumer, .. } = self;
        // Dropping the consumer closes it: librdkafka revokes the partitions (the
        // rebalance callback commits again) and leaves the group.
        drop(consumer);
        tracing::info!(server = %shared.server, group = %shared.group, consumer = %shared.consumer, "Kafka consumer closed");
    }

    fn set_paused(&self, tps: &[Tp], pause: bool) {
        let mut tpl = TopicPartitionList::with_capacity(tps.len());
        for (topic, partition) in tps {
            tpl.add_partition(topic, *partition);
        }
        let result = if pause { self.consumer.pause(&tpl) } else { self.consumer.resume(&tpl) };
        if let Err(e) = result {
            tracing::warn!(server = %self.shared.server, partitions = %describe(&tpl), error = %e,
                pause, "cannot pause or resume fetching");
        }
    }

    fn commit(&self, mode: CommitMode) {
        let commits = self.shared.take_commits(matches!(mode, CommitMode::Sync));
        if commits.is_empty() {
            return;
        }
        let tpl = to_tpl(&commits);
        if let Err(e) = self.consumer.commit(&tpl, mode) {
            tracing::warn!(server = %self.shared.server, group = %self.shared.group, offsets = %describe(&tpl),
                error = %e, "commit failed; retrying at the next commit");
            self.shared.commits_failed(&tpl);
        }
    }

    fn poll_error(&mut self, e: KafkaError) {
        let text = e.to_string();
        let repeat = matches!(&self.last_error, Some((last, at)) if *last == text && at.elapsed() < Duration::from_secs(30));
        if !repeat {
            tracing::warn!(server = %self.shared.server, group = %self.shared.group, error = %text, "Kafka consumer error");
            self.last_error = Some((text, Instant::now()));
        }
    }
}

/// A fetched message's key, payload and header block, as librdkafka holds them.
type Part<'a> = (Option<&'a [u8]>, &'a [u8], Option<&'a [u8]>);

/// A fetched message's key, payload and header block, as [`copy_out`] copied them.
type Copied = (Option<Bytes>, Bytes, Option<Bytes>);

/// Copies fetched keys, payloads and header blocks (`(key, payload, headers)` of each
/// message; the block as [`write_block`] wrote it) out of librdkafka, handing `each` the
/// index of each message and its copy, in order (straight to the record, no vector of
/// copies in between): the small ones of a poll round into shared buffers of up to
/// [`SHARED_BUFFER`] bytes, each message a few slices of one. So the poll thread makes two allocations a round, not
/// two or three a message: the workers free what the poll thread allocated, and that
/// traffic between the threads' malloc arenas had cost about as much as the rest of the
/// hand-off. The cap bounds what one message still held (a retry waiting, say) keeps
/// alive of its neighbours.
fn copy_out(parts: &[Part<'_>], mut each: impl FnMut(usize, Copied)) {
    let size = |(key, payload, headers): &Part<'_>| {
        key.map_or(0, <[u8]>::len) + payload.len() + headers.map_or(0, <[u8]>::len)
    };
    let mut start = 0;
    while start < parts.len() {
        // The run of messages from `start` that fits one buffer (at least one message).
        let (mut end, mut bytes) = (start, 0);
        while end < parts.len() && (end == start || bytes + size(&parts[end]) <= SHARED_BUFFER) {
            bytes += size(&parts[end]);
            end += 1;
        }
        let mut buffer = Vec::with_capacity(bytes);
        for (key, payload, headers) in &parts[start..end] {
            // Absent parts are skipped, not copied as empty slices (a call each).
            if let Some(key) = key {
                buffer.extend_from_slice(key);
            }
            buffer.extend_from_slice(payload);
            if let Some(headers) = headers {
                buffer.extend_from_slice(headers);
            }
        }
        let buffer = Bytes::from(buffer);
        let mut at = 0;
        let mut next = |len: usize| {
            at += len;
            buffer.slice(at - len..at)
        };
        for (i, (key, payload, headers)) in (start..end).zip(&parts[start..end]) {
            let key = key.map(|k| next(k.len()));
            let payload = next(payload.len());
            let headers = headers.map(|h| next(h.len()));
            each(i, (key, payload, headers));
        }
        start = end;
    }
}

/// Appends `headers` to `out` as a block that [`decode_headers`] reads: each name and
/// value as a little-endian `u32` length and its bytes (a value librdkafka holds as
/// null, as empty).
fn write_block<'a>(headers: impl Iterator<Item = (&'a str, &'a [u8])>, out: &mut Vec<u8>) {
    for (name, value) in headers {
        for field in [name.as_bytes(), value] {
            // Kafka bounds a record, so its headers, far below 4 GiB.
            out.extend_from_slice(&(field.len() as u32).to_le_bytes());
            out.extend_from_slice(field);
        }
    }
}

/// `headers` as a block (for a message going back into its queue); `None` when empty.
fn encode_headers(headers: &Headers) -> Option<Bytes> {
    if headers.is_empty() {
        return None;
    }
    let mut block = Vec::new();
    write_block(headers.iter().map(|(name, value)| (name, value.as_bytes())), &mut block);
    Some(Bytes::from(block))
}

/// The headers of a block that [`write_block`] wrote (inline, nothing allocated for
/// short ones). Values become text, invalid UTF-8 replaced (names were text already).
fn decode_headers(block: &[u8]) -> Headers {
    let mut out = Headers::new();
    decode_headers_into(block, &mut out);
    out
}

/// [`decode_headers`] into `out` (a reused message's emptied headers).
fn decode_headers_into(mut block: &[u8], out: &mut Headers) {
    fn field(block: &[u8]) -> Option<(&[u8], &[u8])> {
        let (len, rest) = block.split_first_chunk::<4>()?;
        let len = u32::from_le_bytes(*len) as usize;
        (rest.len() >= len).then(|| rest.split_at(len))
    }
    while let Some((name, rest)) = field(block) {
        let Some((value, rest)) = field(rest) else { break };
        let name = std::str::from_utf8(name).map_or_else(|_| String::from_utf8_lossy(name), Cow::Borrowed);
        out.insert(name, String::from_utf8_lossy(value));
        block = rest;
    }
}

/// Per topic and partition, the topic's name and channel that the partition's records
/// share, and the last partition looked up (a fetch brings runs of one partition's
/// messages: most records need no lookup).
#[derive(Default)]
struct Topics {
    by_topic: HashMap<String, HashMap<i32, Names>>,
    /// The last partition looked up, its topic known by librdkafka's topic handle: a
    /// pointer comparison, where reading the name (a `strlen` and a UTF-8 check) and
    /// comparing it cost about 200 instructions a message. A handle names one topic only
    /// while the messages holding it live, so this is forgotten after every poll round
    /// ([`Topics::end_round`]).
    last: Option<(usize, i32, Names)>,
}

/// A partition's shared topic name and channel.
type Names = (Arc<str>, Arc<str>);

impl Topics {
    /// The shared name and channel of the partition `m` came from.
    fn names(&mut self, prefix: &str, m: &rdkafka::message::BorrowedMessage<'_>) -> Names {
        let (handle, partition) = (m.topic_ptr() as usize, m.partition());
        if let Some((h, p, (t, c))) = &self.last {
            if *h == handle && *p == partition {
                return (t.clone(), c.clone());
            }
        }
        let topic = m.topic();
        if !self.by_topic.contains_key(topic) {
            self.by_topic.insert(topic.to_owned(), HashMap::default());
        }
        let partitions = self.by_topic.get_mut(topic).expect("inserted above");
        let (t, c) = partitions
            .entry(partition)
            .or_insert_with(|| {
                let t: Arc<str> = Arc::from(topic);
                let c: Arc<str> = Arc::from(t.strip_prefix(prefix).unwrap_or(&t));
                (t, c)
            })
            .clone();
        self.last = Some((handle, partition, (t.clone(), c.clone())));
        (t, c)
    }

    /// Forgets the last topic handle: the round's messages, which kept it valid, are gone.
    fn end_round(&mut self) {
        self.last = None;
    }
}

/// A fetched message as an owned record, with its key, payload and headers as
/// [`copy_out`] copied them. `topics` gives every partition its own copy of the topic's
/// name and channel: shared by the whole topic, their reference counts were updated by
/// every worker for every message, one cache line passed between the cores; a
/// partition's records go to one worker at a time.
fn to_record(
    topics: &mut Topics,
    prefix: &str,
    m: &rdkafka::message::BorrowedMessage<'_>,
    generation: u64,
    (key, payload, headers): Copied,
) -> Record {
    let (topic, channel) = topics.names(prefix, m);
    Record {
        topic,
        channel,
        partition: m.partition(),
        offset: m.offset(),
        key,
        payload,
        headers,
        attempt: 1,
        generation,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_options_reach_the_consumers_librdkafka_settings() {
        let config = |url: &str| KafkaConfig::from_url_and_env("t", url, |_| None).unwrap();
        let topic = crate::topic::selector("", "orders.created").unwrap();
        let pattern = crate::topic::selector("", "orders.{region}.created").unwrap();

        let tuned = client_config(
            &config("kafka://b:9092?fetch_wait_ms=10&session_timeout_ms=6000&metadata_refresh_ms=1000"),
            "g1",
            "earliest",
            &topic,
        );
        assert_eq!(tuned.get("group.id"), Some("g1"));
        assert_eq!(tuned.get("auto.offset.reset"), Some("earliest"));
        assert_eq!(tuned.get("enable.auto.commit"), Some("false"), "tidings commits what was settled");
        assert_eq!(tuned.get("fetch.wait.max.ms"), Some("10"));
        assert_eq!(tuned.get("session.timeout.ms"), Some("6000"));
        assert_eq!(tuned.get("heartbeat.interval.ms"), Some("2000"));
        assert_eq!(tuned.get("topic.metadata.refresh.interval.ms"), Some("1000"));

        // Unset options are librdkafka's defaults, except a pattern's metadata refresh.
        let plain = client_config(&config("kafka://b:9092"), "g2", "latest", &topic);
        for key in ["fetch.wait.max.ms", "session.timeout.ms", "topic.metadata.refresh.interval.ms"] {
            assert_eq!(plain.get(key), None, "{key}");
        }
        let by_pattern = client_config(&config("kafka://b:9092"), "g3", "latest", &pattern);
        assert_eq!(by_pattern.get("topic.metadata.refresh.interval.ms"), Some("5000"));
    }

    /// A consumer's shared state with no broker behind it (the producer connects lazily
    /// and is never used here).
    fn shared(max_buffered: usize) -> Arc<Shared> {
        shared_with(max_buffered, false)
    }

    /// As [`shared`], of a pattern subscription when `pattern`.
    fn shared_with(max_buffered: usize, pattern: bool) -> Arc<Shared> {
        let config = KafkaConfig::from_url_and_env("t", "kafka://127.0.0.1:1", |_| None).unwrap();
        Arc::new(Shared {
            server: "t".into(),
            group: "g".into(),
            consumer: "c".into(),
            topic_prefix: "p.".into(),
            max_buffered,
            pattern,
            revoke_wait: Duration::from_millis(100),
            producer: Arc::new(KafkaProducer::new("t", &config).unwrap()),
            runtime: tokio::runtime::Handle::current(),
            state: Mutex::new(Dispatch::default()),
            ready: Notify::new(),
            changed: Condvar::new(),
            drained: Condvar::new(),
            generation: AtomicU64::new(0),
            stop: AtomicBool::new(false),
        })
    }

    fn assign(s: &Shared, partitions: &[i32]) {
        let mut tpl = TopicPartitionList::new();
        for p in partitions {
            tpl.add_partition("p.t", *p);
        }
        s.assign(&tpl);
    }

    fn record(partition: i32, offset: i64) -> Record {
        Record {
            topic: Arc::from("p.t"),
            channel: "t".into(),
            partition,
            offset,
            key: None,
            payload: Bytes::from(format!("{partition}:{offset}")),
            headers: None,
            attempt: 1,
            generation: u64::MAX,
        }
    }

    /// A record with the key `k` and the header `correlation-id: c-1`.
    fn keyed_with_a_header(partition: i32, offset: i64) -> Record {
        let mut headers = Headers::new();
        headers.insert("correlation-id", "c-1");
        Record { key: Some(Bytes::from_static(b"k")), headers: encode_headers(&headers), ..record(partition, offset) }
    }

    /// Queues one record; true when its partition is to be paused.
    fn push_one(s: &Shared, r: Record) -> bool {
        !s.push(&mut vec![r]).is_empty()
    }

    fn body(d: &Delivery) -> String {
        String::from_utf8_lossy(&d.incoming.payload).into_owned()
    }

    fn commits(s: &Shared) -> Vec<(i32, i64)> {
        let mut c: Vec<(i32, i64)> = s.take_commits(true).into_iter().map(|((_, p), o)| (p, o)).collect();
        c.sort_unstable();
        c
    }

    #[tokio::test]
    async fn one_message_per_partition_at_a_time_in_order_partitions_in_parallel() {
        let s = shared(100);
        assign(&s, &[0, 1]);
        for offset in 0..3 {
            push_one(&s, record(0, offset));
        }
        push_one(&s, record(1, 7));
        let a = s.take().unwrap();
        let b = s.take().unwrap();
        assert_eq!((body(&a).as_str(), body(&b).as_str()), ("0:0", "1:7"), "one of each partition");
        assert!(s.take().is_none(), "partition 0 is busy until 0:0 is settled");
        assert_eq!(&*a.incoming.channel, "t", "the channel has no topic prefix");
        a.acker.ack().await.unwrap();
        assert_eq!(body(&s.take().unwrap()), "0:1");
        assert_eq!(commits(&s), vec![(0, 1)], "committed up to the settled message only");
        b.acker.ack().await.unwrap();
        assert_eq!(commits(&s), vec![(0, 1), (1, 8)]);
    }

    #[tokio::test]
    async fn one_push_of_interleaved_runs_keeps_each_partition_in_order_and_drops_what_is_not_ours() {
        let s = shared(100);
        assign(&s, &[0, 1]);
        // Fetched before the current assignment: not this assignment's message.
        let stale = Record { generation: 0, ..record(1, 99) };
        let mut fetched = vec![record(0, 0), record(0, 1), record(1, 5), stale, record(1, 6), record(0, 2), record(9, 0)];
        assert!(s.push(&mut fetched).is_empty(), "nothing is full");
        assert!(fetched.is_empty(), "push drains what it was given");
        let a = s.take().unwrap();
        let b = s.take().unwrap();
        assert_eq!((body(&a).as_str(), body(&b).as_str()), ("0:0", "1:5"), "ready in the order they became so");
        assert!(s.take().is_none(), "one message of a partition out at a time; partition 9 is not assigned");
        a.acker.ack().await.unwrap();
        b.acker.ack().await.unwrap();
        let mut order = Vec::new();
        while let Some(d) = s.take() {
            order.push(body(&d));
            d.acker.ack().await.unwrap();
        }
        assert_eq!(order, ["0:1", "1:6", "0:2"], "each partition in fetch order, the stale record dropped");
        assert_eq!(commits(&s), vec![(0, 3), (1, 7)]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_retry_comes_back_first_with_the_next_attempt_and_nothing_overtakes_it() {
        let s = shared(100);
        assign(&s, &[0]);
        push_one(&s, record(0, 0));
        push_one(&s, record(0, 1));
        let d = s.take().unwrap();
        d.acker.nack(Nack::Retry { after: Duration::from_millis(500) }, &d.incoming).await.unwrap();
        assert!(s.take().is_none(), "0:1 must wait for the retry of 0:0");
        tokio::time::sleep(Duration::from_millis(600)).await;
        let again = s.take().unwrap();
        assert_eq!((body(&again).as_str(), again.incoming.attempt), ("0:0", 2));
        assert!(commits(&s).is_empty(), "nothing settled yet");
        again.acker.ack().await.unwrap();
        assert_eq!(body(&s.take().unwrap()), "0:1");
        assert_eq!(commits(&s), vec![(0, 1)]);
    }

    #[tokio::test]
    async fn a_dropped_delivery_is_handed_out_again() {
        let s = shared(100);
        assign(&s, &[0]);
        push_one(&s, record(0, 4));
        drop(s.take().unwrap());
        let d = s.take().expect("handed out again");
        assert_eq!((body(&d).as_str(), d.incoming.attempt), ("0:4", 1));
    }

    #[tokio::test]
    async fn settlements_from_an_earlier_assignment_are_ignored() {
        let s = shared(100);
        assign(&s, &[0]);
        push_one(&s, record(0, 0));
        let old = s.take().unwrap();
        // Reassigned (a rebalance gave the partition back): a new epoch.
        assign(&s, &[0]);
        old.acker.ack().await.unwrap();
        assert!(commits(&s).is_empty(), "an ack from before the reassignment commits nothing");
        push_one(&s, record(1, 0));
        assert!(s.take().is_none(), "a message of a partition not assigned is dropped");
    }

    #[tokio::test]
    async fn a_full_partition_not_drained_in_time_pauses_and_resumes_at_half() {
        let s = shared(4);
        assign(&s, &[0]);
        let full: Vec<bool> = (0..4).map(|o| push_one(&s, record(0, o))).collect();
        assert_eq!(full, vec![false, false, false, true], "full when the buffer reaches max_buffered");
        let paused = s.hold(&[(Arc::from("p.t"), 0)], Duration::from_millis(30));
        assert_eq!(paused.len(), 1, "nobody drained it before the deadline: pause");
        assert!(!push_one(&s, record(0, 4)), "a paused partition is not reported full again");
        s.take().unwrap().acker.ack().await.unwrap();
        s.take().unwrap().acker.ack().await.unwrap();
        assert!(s.lock().resume.is_empty(), "3 left: not yet");
        s.take().unwrap().acker.ack().await.unwrap();
        assert_eq!(s.lock().resume.len(), 1, "2 left: resume");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_partition_the_workers_drain_holds_the_poll_thread_without_a_pause() {
        let s = shared(8);
        assign(&s, &[0]);
        let full: Vec<bool> = (0..8).map(|o| push_one(&s, record(0, o))).collect();
        assert!(full[7], "full at max_buffered");
        let sub = KafkaSubscription { shared: s.clone() };
        let held = {
            let s = s.clone();
            // A deadline far off: only the drain can end this hold.
            std::thread::spawn(move || s.hold(&[(Arc::from("p.t"), 0)], Duration::from_secs(3600)))
        };
        // The hold level of 8 is 6: two messages drained end the hold.
        for _ in 0..2 {
            let d = tokio::time::timeout(Duration::from_secs(5), sub.next()).await.unwrap().unwrap();
            d.acker.ack().await.unwrap();
        }
        let joined = tokio::task::spawn_blocking(move || held.join().unwrap());
        let paused = tokio::time::timeout(Duration::from_secs(10), joined).await.expect("woken by the drain").unwrap();
        assert!(paused.is_empty(), "drained in time: no pause");
        assert!(!s.lock().states_mut().any(|p| p.paused));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn next_wakes_when_a_message_arrives_and_ends_when_closed() {
        let s = shared(100);
        assign(&s, &[0]);
        let sub = KafkaSubscription { shared: s.clone() };
        let pusher = s.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            push_one(&pusher, record(0, 0));
        });
        let d = tokio::time::timeout(Duration::from_secs(5), sub.next()).await.expect("woken").expect("a delivery");
        assert_eq!(body(&d), "0:0");
        s.close();
        assert!(tokio::time::timeout(Duration::from_secs(5), sub.next()).await.expect("ends").is_none());
    }

    #[tokio::test]
    async fn a_message_fetched_before_a_reassignment_is_dropped() {
        let s = shared(100);
        assign(&s, &[0]);
        let mut stale = record(0, 5);
        stale.generation = s.generation.load(Ordering::Acquire);
        // Revoked and assigned again after `stale` was fetched: librdkafka fetches
        // again from the committed offset, so `stale` must not go out (twice, or early).
        assign(&s, &[0]);
        push_one(&s, stale);
        assert!(s.take().is_none(), "a record of the earlier assignment is dropped");
        let mut fresh = record(0, 3);
        fresh.generation = s.generation.load(Ordering::Acquire);
        push_one(&s, fresh);
        assert_eq!(body(&s.take().unwrap()), "0:3");
    }

    #[tokio::test]
    async fn a_batch_keeps_each_partitions_order() {
        let s = shared(100);
        assign(&s, &[0, 1]);
        let mut batch = vec![record(0, 0), record(1, 0), record(0, 1), record(1, 1), record(0, 2)];
        assert!(s.push(&mut batch).is_empty(), "nothing to pause");
        assert!(batch.is_empty(), "the batch is drained");
        let mut seen = Vec::new();
        while let Some(d) = s.take() {
            seen.push(body(&d));
            d.acker.ack().await.unwrap();
        }
        let of = |p: &str| seen.iter().filter(|b| b.starts_with(p)).cloned().collect::<Vec<_>>();
        assert_eq!(of("0:"), vec!["0:0", "0:1", "0:2"]);
        assert_eq!(of("1:"), vec!["1:0", "1:1"]);
        assert_eq!(commits(&s), vec![(0, 3), (1, 2)]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_batch_wakes_a_worker_per_ready_partition() {
        let s = shared(100);
        assign(&s, &[0, 1]);
        let sub = Arc::new(KafkaSubscription { shared: s.clone() });
        let waiter = |sub: Arc<KafkaSubscription>| tokio::spawn(async move { sub.next().await.map(|d| body(&d)) });
        let (a, b) = (waiter(sub.clone()), waiter(sub.clone()));
        tokio::time::sleep(Duration::from_millis(50)).await;
        s.push(&mut vec![record(0, 0), record(1, 0)]);
        let wait = |h: tokio::task::JoinHandle<Option<String>>| async move {
            tokio::time::timeout(Duration::from_secs(5), h).await.expect("woken").unwrap().expect("a delivery")
        };
        let mut got = vec![wait(a).await, wait(b).await];
        got.sort();
        assert_eq!(got, vec!["0:0", "1:0"]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_settled_partition_goes_to_the_next_taker_or_is_swept_to_a_waiting_worker() {
        let s = shared(100);
        assign(&s, &[0]);
        for offset in 0..3 {
            push_one(&s, record(0, offset));
        }
        let sub = Arc::new(KafkaSubscription { shared: s.clone() });
        // The worker that settled asks again and gets the next message at once.
        sub.next().await.unwrap().acker.ack().await.unwrap();
        let second = tokio::time::timeout(Duration::from_secs(5), sub.next()).await.expect("ready").unwrap();
        assert_eq!(body(&second), "0:1");
        // Settled while another worker waits: the poll thread's round wakes it.
        let waiter = tokio::spawn({
            let sub = sub.clone();
            async move { sub.next().await.map(|d| body(&d)) }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        second.acker.ack().await.unwrap();
        assert!(!s.lock().ready.is_empty(), "0:2 is ready");
        s.after_round();
        let next = tokio::time::timeout(Duration::from_secs(5), waiter).await.expect("woken").unwrap();
        assert_eq!(next.as_deref(), Some("0:2"));
    }

    #[test]
    fn copied_out_messages_keep_their_bytes_and_share_buffers_up_to_the_cap() {
        let big = vec![7u8; SHARED_BUFFER + 1];
        let small = |i: u8| vec![i; 1000];
        let (k1, p1, p2, p4) = (b"k1".to_vec(), small(1), small(2), small(4));
        let near_cap = vec![3u8; SHARED_BUFFER - 3000];
        let mut headers = Headers::new();
        headers.insert("content-type", "application/json");
        headers.insert("empty", "");
        let block = encode_headers(&headers).unwrap();
        let parts: Vec<Part<'_>> = vec![
            (Some(&k1), &p1, None),
            (None, &p2, Some(&block)),
            (Some(b""), b"", None),
            (None, &near_cap, None),
            (None, &big, None),
            (Some(b"k4"), &p4, None),
        ];
        let mut out = Vec::new();
        copy_out(&parts, |i, copied| {
            assert_eq!(i, out.len(), "in order");
            out.push(copied);
        });
        assert_eq!(out.len(), parts.len());
        for ((key, payload, headers), (k, p, h)) in parts.iter().zip(&out) {
            assert_eq!(k.as_deref(), *key);
            assert_eq!(p.as_ref(), *payload);
            assert_eq!(h.as_deref(), *headers, "the header block is copied as it is");
        }
        // Slices of one buffer lie next to each other in memory.
        let addr = |b: &Bytes| b.as_ptr() as usize;
        assert_eq!(addr(&out[1].1), addr(&out[0].1) + 1000, "small ones share a buffer");
        assert_eq!(addr(&out[0].1), addr(out[0].0.as_ref().unwrap()) + 2, "key then payload");
        assert_eq!(addr(out[1].2.as_ref().unwrap()), addr(&out[1].1) + 1000, "then the header block");
        assert_ne!(addr(&out[4].1), addr(&out[3].1) + near_cap.len(), "a message over the cap is alone");
        assert_ne!(addr(&out[5].1), addr(&out[4].1) + big.len(), "and so starts a new buffer after it");
        copy_out(&[], |_, _| panic!("nothing to copy"));
    }

    #[test]
    fn header_blocks_decode_to_text_and_a_cut_block_loses_only_its_last_header() {
        let raw: Vec<(&str, &[u8])> = vec![("a", b"x"), ("b", b""), ("c", &[0xff, b'y'])];
        let mut block = Vec::new();
        write_block(raw.into_iter(), &mut block);
        let h = decode_headers(&block);
        assert_eq!((h.get("a"), h.get("b"), h.get("c")), (Some("x"), Some(""), Some("\u{fffd}y")));
        let cut = decode_headers(&block[..block.len() - 1]);
        assert_eq!((cut.len(), cut.get("c")), (2, None));
        assert!(encode_headers(&Headers::new()).is_none(), "no block for no headers");
        let again = decode_headers(&encode_headers(&h).unwrap());
        assert_eq!(again.iter().collect::<Vec<_>>(), h.iter().collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn a_retried_or_dropped_message_keeps_its_headers_key_and_payload_exact_topic_or_pattern() {
        for pattern in [false, true] {
            let s = shared_with(100, pattern);
            assign(&s, &[0]);
            push_one(&s, keyed_with_a_header(0, 0));
            let d = s.take().unwrap();
            assert_eq!(d.incoming.headers.get("correlation-id"), Some("c-1"));
            // The pipeline sets a pattern channel's parameters in place: only when nobody
            // else holds the message does that copy nothing.
            let holders = if pattern { 1 } else { 2 };
            assert_eq!(Arc::strong_count(&d.incoming), holders, "pattern: {pattern}");
            let incoming = d.incoming.clone();
            d.acker.nack(Nack::Retry { after: Duration::ZERO }, &incoming).await.unwrap();
            let again = loop {
                if let Some(d) = s.take() {
                    break d;
                }
                tokio::task::yield_now().await;
            };
            let i = &again.incoming;
            assert_eq!((body(&again).as_str(), i.attempt, i.key.as_deref()), ("0:0", 2, Some(&b"k"[..])));
            assert_eq!(i.headers.get("correlation-id"), Some("c-1"));
            drop(again);
            let dropped = s.take().expect("a dropped delivery comes back");
            assert_eq!((dropped.incoming.attempt, dropped.incoming.headers.len()), (2, 1));
            dropped.acker.ack().await.unwrap();
            assert_eq!(commits(&s), vec![(0, 1)]);
        }
    }

    #[tokio::test]
    async fn an_acknowledged_message_nobody_holds_is_reused_emptied_for_the_next() {
        let s = shared(100);
        assign(&s, &[0]);
        push_one(&s, keyed_with_a_header(0, 0));
        let Delivery { incoming, acker } = s.take().unwrap();
        let reused_at = Arc::as_ptr(&incoming);
        // As the pipeline does: the message let go of before the acknowledgement.
        drop(incoming);
        acker.ack().await.unwrap();
        {
            let st = s.lock();
            let (messages, ackers) = (&st.spares.messages, &st.spares.ackers);
            assert_eq!((messages.len(), ackers.len()), (1, 1), "both kept for the next delivery");
            let m = &messages[0];
            assert!(m.payload.is_empty() && m.key.is_none() && m.headers.is_empty(), "emptied: {m:?}");
            assert!(ackers[0].pending.is_none(), "a kept acker holds no delivery, so no reference to `Shared`");
        }
        push_one(&s, record(0, 1));
        let next = s.take().unwrap();
        assert_eq!(Arc::as_ptr(&next.incoming), reused_at, "the same allocation");
        let i = &next.incoming;
        assert_eq!((body(&next).as_str(), &*i.channel, i.attempt, i.key.as_deref()), ("0:1", "t", 1, None));
        assert!(i.headers.is_empty(), "no header of the earlier message: {:?}", i.headers);
        // Held elsewhere at its acknowledgement (a handler kept its context): not reused.
        let held = next.incoming.clone();
        drop(next.incoming);
        next.acker.ack().await.unwrap();
        assert!(s.lock().spares.messages.is_empty(), "a message someone holds is not kept");
        push_one(&s, record(0, 2));
        let third = s.take().unwrap();
        assert_ne!(Arc::as_ptr(&third.incoming), Arc::as_ptr(&held));
        assert_eq!((body(&third).as_str(), body_of(&held)), ("0:2", "0:1".to_owned()), "the held one is unchanged");
        assert_eq!(commits(&s), vec![(0, 2)]);
    }

    fn body_of(i: &Incoming) -> String {
        String::from_utf8_lossy(&i.payload).into_owned()
    }

    #[test]
    fn spares_keep_at_most_their_cap() {
        let mut spares = Spares::default();
        for _ in 0..SPARES + 5 {
            spares.keep(Spare {
                message: Some(Arc::new(Incoming {
                    channel: Arc::from("t"),
                    payload: Bytes::new(),
                    headers: Headers::new(),
                    key: None,
                    attempt: 1,
                    params: Default::default(),
                })),
                acker: Some(Box::new(KafkaAcker { pending: None })),
            });
        }
        assert_eq!((spares.messages.len(), spares.ackers.len()), (SPARES, SPARES));
    }

    #[tokio::test]
    async fn a_revoked_slot_reused_by_another_partition_ignores_the_old_ack() {
        let s = shared(100);
        assign(&s, &[0]);
        push_one(&s, record(0, 0));
        let old = s.take().unwrap();
        // Forgotten as a revocation forgets it (`revoke` itself needs a live consumer to
        // commit through) while its handler still holds the message; then another
        // partition takes the slot.
        {
            let mut st = s.lock();
            let removed = st.remove(&(Arc::from("p.t"), 0));
            assert_eq!(removed.map(|(slot, _)| slot), Some(0));
        }
        assign(&s, &[5]);
        assert_eq!(s.lock().by_tp.get(&(Arc::from("p.t"), 5)).copied(), Some(0), "the freed slot is reused");
        push_one(&s, record(5, 0));
        let new = s.take().unwrap();
        old.acker.ack().await.unwrap();
        assert!(s.take().is_none(), "the old ack did not settle partition 5's message");
        assert!(commits(&s).is_empty());
        new.acker.ack().await.unwrap();
        assert_eq!(commits(&s), vec![(5, 1)]);
    }

    #[test]
    fn long_reasons_are_cut_on_a_char_boundary() {
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(truncate("ééé", 3), "é...");
    }
}
