//! The in-memory broker: real asynchronous pub/sub inside the process, the embedded
//! default (`memory://`).
//!
//! - Consumer groups: every group subscribed to a channel gets each message once; its
//!   members share the group's queue. A subscriber without a group has a queue of its own.
//! - Bounded queues: `publish` waits while a group's queue is full (back-pressure), so a
//!   publisher cannot run ahead of its consumers without bound. A waiting publisher
//!   resumes once a quarter of the queue is free, not at every free slot, and a queue
//!   takes memory as it fills (and keeps what it took, at most its bound), not its whole
//!   capacity up front.
//! - Ack/nack: a retried message goes back to its group's queue after the delay; a
//!   rejected one is kept as a dead letter, readable through [`MemoryBroker::dead_letters`].
//! - Like NATS core, a message published where no group is subscribed is dropped.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use futures::future::BoxFuture;
use tokio::sync::Notify;

use super::{Acker, Broker, Delivery, Incoming, Nack, Outgoing, SubscribeSpec, Subscription};
use crate::address::AddressTemplate;
use crate::error::Error;

/// Default queue length per consumer group.
pub const DEFAULT_CAPACITY: usize = 1024;

/// Queued messages from which each new one wakes another consumer. A message that finds
/// the queue empty wakes one; one that finds a single message there does not: the
/// consumer woken for that one is on its way and takes both in turn (and the consumer
/// that takes a message and leaves one behind wakes the next). Waking a second
/// consumer for them made tokio move the first one to the runtime's other thread, which
/// it then had to wake: at a steady 1,000 messages a second, about one message in
/// thirteen comes right behind another, and those waited for a thread's wake-up
/// (docs/benchmarks.md, "A ninth session"). A queue that grows past this is a flood, and
/// every message wakes a consumer, so the runtime's threads decode in parallel.
const WAKE_MORE_AT: usize = 2;

/// A message the broker gave up on (a rejected delivery), with the reason.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    /// The message as last delivered.
    pub incoming: Incoming,
    /// Why it was rejected.
    pub reason: String,
    /// The group that rejected it (`None` for a group-less subscriber).
    pub group: Option<String>,
}

struct Group {
    template: AddressTemplate,
    // The address of a group subscribed without parameters: what its deliveries name as
    // their channel, shared rather than copied per message.
    literal: Option<Arc<str>>,
    name: Option<String>,
    // Observers (test captures) do not count towards `in_flight`: `settled` must not
    // wait for a test to read what it captured.
    tracked: bool,
    // A ring that grows as it fills and keeps its room (a bounded channel allocates every
    // slot when made: 1,024 messages of 448 bytes for a group that may never see one; an
    // unbounded one allocated and zeroed a 14 KB block every 31 messages and freed it
    // again, 4% of a consumed message's instructions); `push` bounds it.
    queue: Mutex<std::collections::VecDeque<Incoming>>,
    // The queue's length, readable without its lock.
    len: AtomicUsize,
    // Wakes a consumer waiting in `pop`.
    arrived: Notify,
    capacity: usize,
    // Back-pressure with hysteresis: a publisher that found the queue full waits until it
    // is down to `resume_at`. Woken at every free slot, a publisher ahead of its
    // consumers slept and woke once per message.
    resume_at: usize,
    room: Notify,
    publishers_waiting: AtomicUsize,
    // This group's messages in flight: `entered` counted by publishers, `left` by ackers,
    // each on its own cache line. One count for the whole broker, written by the
    // publishing core and the consuming ones for every message, passed its cache line
    // between them twice a message.
    entered: Padded<AtomicUsize>,
    left: Padded<AtomicUsize>,
    settling: Arc<Settling>,
}

/// A value alone on its cache line: 128 bytes, as x86-64 fetches 64-byte lines in pairs.
#[repr(align(128))]
#[derive(Default)]
struct Padded<T>(T);

impl<T> std::ops::Deref for Padded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// What settling a message may have to reach, shared by the broker and its groups.
#[derive(Default)]
struct Settling {
    // Callers of `settled()` waiting: an acker wakes them only when there are any.
    waiters: AtomicUsize,
    settled: Notify,
    dead: Mutex<Vec<DeadLetter>>,
}

impl Group {
    /// Messages of this group counted in flight.
    fn in_flight(&self) -> usize {
        // `left` first: a message that enters and leaves between the two reads is then
        // counted in neither, never in `left` alone.
        let left = self.left.load(Ordering::SeqCst);
        self.entered.load(Ordering::SeqCst).saturating_sub(left)
    }

    /// A delivered message of this group was acked or rejected for good.
    fn settle_one(&self) {
        if self.tracked {
            self.left.fetch_add(1, Ordering::SeqCst);
            if self.settling.waiters.load(Ordering::SeqCst) > 0 {
                self.settling.settled.notify_waiters();
            }
        }
    }

    /// Enqueues, first waiting while the queue is full. The bound holds per publisher:
    /// publishers that find room at the same moment may each add one more.
    async fn push(&self, message: Incoming) {
        if self.len() >= self.capacity {
            while self.len() > self.resume_at {
                let notified = self.room.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                let _waiting = Waiting::new(&self.publishers_waiting);
                // Checked after registering: a consumer that made room before we were
                // counted saw no one waiting and woke no one.
                if self.len() > self.resume_at {
                    notified.await;
                }
            }
        }
        self.enqueue(message);
    }

    /// Adds a message now (the bound is the caller's) and wakes a waiting consumer when
    /// the message needs one (see [`WAKE_MORE_AT`]).
    fn enqueue(&self, message: Incoming) {
        let mut queue = lock(&self.queue);
        let before = queue.len();
        queue.push_back(message);
        self.len.store(queue.len(), Ordering::SeqCst);
        drop(queue);
        // With no consumer waiting, a permit for the next one to wait: it then looks again.
        if before == 0 || before >= WAKE_MORE_AT {
            self.arrived.notify_one();
        }
    }

    /// Messages queued.
    fn len(&self) -> usize {
        self.len.load(Ordering::SeqCst)
    }

    /// Whether a publish would not wait.
    fn has_room(&self) -> bool {
        self.len() < self.capacity
    }

    /// The next message, waiting for one. Cancel-safe: a dropped call takes no message
    /// (and a wake-up it was given passes on to another waiting consumer).
    async fn pop(&self) -> Incoming {
        loop {
            if let Some(message) = self.try_pop() {
                return message;
            }
            // Registered before looking again, so a message queued in between wakes us.
            let notified = self.arrived.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(message) = self.try_pop() {
                return message;
            }
            notified.await;
        }
    }

    /// The next message if one is queued now; wakes the waiting publishers once the
    /// queue is down to `resume_at`.
    fn try_pop(&self) -> Option<Incoming> {
        let mut queue = lock(&self.queue);
        let message = queue.pop_front()?;
        let len = queue.len();
        self.len.store(len, Ordering::SeqCst);
        drop(queue);
        // Messages `enqueue` woke no one for: the next consumer. Woken from this one, it
        // runs after it on this thread (or another thread takes it), and the message goes
        // to whichever comes back first, this one included.
        if len > 0 && len < WAKE_MORE_AT {
            self.arrived.notify_one();
        }
        if self.publishers_waiting.load(Ordering::SeqCst) > 0 && len <= self.resume_at {
            self.room.notify_waiters();
        }
        Some(message)
    }
}

/// Counts a waiter (a publisher waiting for room, a caller of `settled`) for as long as
/// it waits, or until its future is dropped.
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn new(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Waiting(count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

struct Inner {
    capacity: usize,
    // Copy-on-write: a publish takes the current list with one reference count and
    // matches outside the lock; subscribing (rare) replaces the list.
    groups: Mutex<Arc<[Arc<Group>]>>,
    settling: Arc<Settling>,
}

/// The in-memory broker. Cheap to clone; clones share the same queues.
#[derive(Clone)]
pub struct MemoryBroker {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for MemoryBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryBroker")
            .field("capacity", &self.inner.capacity)
            .field("in_flight", &self.in_flight())
            .finish_non_exhaustive()
    }
}

impl Default for MemoryBroker {
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY)
    }
}

// A poisoned lock only means another thread panicked while holding it; the data (a
// list) is still consistent, so keep serving rather than spreading the panic.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl MemoryBroker {
    /// A broker whose group queues hold `capacity` messages each (at least 1).
    pub fn new(capacity: usize) -> Self {
        MemoryBroker {
            inner: Arc::new(Inner {
                capacity: capacity.max(1),
                groups: Mutex::new(Arc::from(Vec::new())),
                settling: Arc::default(),
            }),
        }
    }

    /// Builds one from a `memory://` URL; `memory://?capacity=N` sets the queue length.
    pub fn from_url(url: &str) -> Result<Self, Error> {
        let rest = url
            .strip_prefix("memory://")
            .ok_or_else(|| Error::Config(format!("`{url}` is not a memory:// URL")))?;
        let mut capacity = DEFAULT_CAPACITY;
        if let Some((_, query)) = rest.split_once('?') {
            for pair in query.split('&').filter(|p| !p.is_empty()) {
                match pair.split_once('=') {
                    Some(("capacity", v)) => {
                        capacity = v.parse().map_err(|_| {
                            Error::Config(format!("`{url}`: capacity `{v}` is not a whole number"))
                        })?
                    }
                    _ => return Err(Error::Config(format!("`{url}`: unknown option `{pair}` (known: capacity)"))),
                }
            }
        }
        Ok(Self::new(capacity))
    }

    /// Messages enqueued and not yet acked or rejected.
    pub fn in_flight(&self) -> usize {
        lock(&self.inner.groups).iter().filter(|g| g.tracked).map(|g| g.in_flight()).sum()
    }

    /// Waits until every message published so far was acked or rejected (retries
    /// included).
    pub async fn settled(&self) {
        let settling = &self.inner.settling;
        // Counted while it waits, however that ends (also when the future is dropped).
        let _waiting = Waiting::new(&settling.waiters);
        loop {
            // Registered and counted before the check, so a settle between the check
            // and the wait still wakes us.
            let notified = settling.settled.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.in_flight() == 0 {
                return;
            }
            notified.await;
        }
    }

    /// Every message rejected so far.
    pub fn dead_letters(&self) -> Vec<DeadLetter> {
        lock(&self.inner.settling.dead).clone()
    }

    /// Subscribes an observer: it gets every message like a group of its own, but what
    /// it holds does not count as in flight, so [`settled`](Self::settled) ignores it.
    pub fn observe(&self, address: &str) -> Result<Box<dyn Subscription>, Error> {
        let spec = SubscribeSpec { address: address.to_owned(), group: None, consumer: "observer".into() };
        let group = self.group_for(&spec, false)?;
        Ok(Box::new(MemorySubscription { group }))
    }

    fn group_for(&self, spec: &SubscribeSpec, tracked: bool) -> Result<Arc<Group>, Error> {
        let template = AddressTemplate::parse(&spec.address)?;
        let mut groups = lock(&self.inner.groups);
        if let Some(name) = &spec.group {
            if let Some(g) = groups.iter().find(|g| g.name.as_ref() == Some(name) && g.template == template) {
                return Ok(g.clone());
            }
        }
        let capacity = self.inner.capacity;
        let literal = (!template.is_parameterized()).then(|| Arc::from(template.as_str()));
        let group = Arc::new(Group {
            template,
            literal,
            name: spec.group.clone(),
            tracked,
            queue: Mutex::default(),
            len: AtomicUsize::new(0),
            arrived: Notify::new(),
            capacity,
            resume_at: capacity - (capacity / 4).max(1),
            room: Notify::new(),
            publishers_waiting: AtomicUsize::new(0),
            entered: Padded::default(),
            left: Padded::default(),
            settling: self.inner.settling.clone(),
        });
        *groups = groups.iter().cloned().chain([group.clone()]).collect();
        Ok(group)
    }
}

impl Broker for MemoryBroker {
    fn publish<'a>(&'a self, address: &'a str, message: Outgoing) -> BoxFuture<'a, Result<(), Error>> {
        let groups = lock(&self.inner.groups).clone();
        let count = groups.iter().filter(|g| g.template.is_match(address)).count();
        if count == 0 {
            tracing::debug!(channel = address, "no subscriber on the in-memory broker; message dropped");
            return super::settled();
        }
        // A group subscribed to this very address has the name to share; a parameterized
        // match gets one copy for all groups.
        let channel = groups
            .iter()
            .find_map(|g| g.literal.as_ref().filter(|l| &***l == address).cloned())
            .unwrap_or_else(|| Arc::from(address));
        let incoming = Incoming {
            channel,
            payload: message.payload,
            headers: message.headers,
            key: message.key,
            attempt: 1,
            params: Default::default(),
        };
        // Where every group has room (nearly always) the message is enqueued now: no
        // future of a couple of kilobytes to allocate for a publish that does not wait.
        // One group (the usual case) gets the message itself, with no copies to hand out.
        if count == 1 {
            if let Some(group) = groups.iter().find(|g| g.template.is_match(address)).filter(|g| g.has_room()) {
                InFlight::count(group).keep();
                group.enqueue(incoming);
                return super::settled();
            }
        } else if groups.iter().filter(|g| g.template.is_match(address)).all(|g| g.has_room()) {
            let mut copies = Copies { message: Some(incoming), left: count };
            for group in groups.iter().filter(|g| g.template.is_match(address)) {
                let Some(message) = copies.next() else { break };
                InFlight::count(group).keep();
                group.enqueue(message);
            }
            return super::settled();
        }
        Box::pin(async move {
            let mut copies = Copies { message: Some(incoming), left: count };
            for group in groups.iter().filter(|g| g.template.is_match(address)) {
                let Some(message) = copies.next() else { break };
                // Counted before it is enqueued (a consumer may settle it at once), and
                // uncounted again unless it was: a publish dropped while it waits for room
                // must not leave `settled` waiting for a message that never was.
                let counted = InFlight::count(group);
                // Waits while the queue is full: back-pressure on the publisher.
                group.push(message).await;
                counted.keep();
            }
            Ok(())
        })
    }

    fn subscribe(&self, spec: SubscribeSpec) -> BoxFuture<'_, Result<Box<dyn Subscription>, Error>> {
        Box::pin(async move {
            let group = self.group_for(&spec, true)?;
            Ok(Box::new(MemorySubscription { group }) as Box<dyn Subscription>)
        })
    }
}

/// A message for each of `left` groups: copies, and the message itself for the last.
struct Copies {
    message: Option<Incoming>,
    left: usize,
}

impl Copies {
    fn next(&mut self) -> Option<Incoming> {
        self.left = self.left.checked_sub(1)?;
        let m = self.message.take()?;
        if self.left > 0 {
            self.message = Some(m.clone());
        }
        Some(m)
    }
}

/// One message counted in flight until [`keep`](Self::keep)ed; dropped first, uncounted.
struct InFlight<'a> {
    group: &'a Group,
    counted: bool,
}

impl<'a> InFlight<'a> {
    fn count(group: &'a Group) -> Self {
        if group.tracked {
            group.entered.fetch_add(1, Ordering::SeqCst);
        }
        InFlight { group, counted: group.tracked }
    }
    fn keep(mut self) {
        self.counted = false;
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if self.counted {
            self.group.entered.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

struct MemorySubscription {
    group: Arc<Group>,
}

impl Subscription for MemorySubscription {
    fn next(&self) -> BoxFuture<'_, Option<Delivery>> {
        // Nothing is taken before the first poll: a `next()` dropped unpolled (the loser
        // of a `select!`) takes no message.
        Box::pin(async move {
            // `pop` is cancel-safe: a dropped wait takes no message. The queue never
            // closes, so neither does the subscription.
            let incoming = self.group.pop().await;
            Some(self.delivery(incoming))
        })
    }

    fn try_next(&self) -> Option<Delivery> {
        self.group.try_pop().map(|incoming| self.delivery(incoming))
    }
}

impl MemorySubscription {
    fn delivery(&self, incoming: Incoming) -> Delivery {
        Delivery { incoming: Arc::new(incoming), acker: Box::new(MemoryAcker { group: self.group.clone() }) }
    }
}

/// Settles through its group alone: one reference count a delivery, not two.
struct MemoryAcker {
    group: Arc<Group>,
}

impl Acker for MemoryAcker {
    fn ack(self: Box<Self>) -> BoxFuture<'static, Result<(), Error>> {
        self.group.settle_one();
        super::settled()
    }

    fn nack(self: Box<Self>, nack: Nack, delivered: &Incoming) -> BoxFuture<'static, Result<(), Error>> {
        let group = self.group;
        let mut incoming = delivered.clone();
        match nack {
            Nack::Retry { after } => {
                incoming.attempt = incoming.attempt.saturating_add(1);
                incoming.params.clear();
                // Redeliver from a task so the worker is free meanwhile; the message stays
                // counted in flight until it is finally acked or rejected.
                tokio::spawn(async move {
                    tokio::time::sleep(after).await;
                    group.push(incoming).await;
                });
            }
            Nack::Reject { reason } => {
                lock(&group.settling.dead).push(DeadLetter { incoming, reason, group: group.name.clone() });
                group.settle_one();
            }
        }
        super::settled()
    }
}

fn connect(_name: &str, url: &str) -> BoxFuture<'static, Result<Arc<dyn Broker>, Error>> {
    let broker = MemoryBroker::from_url(url);
    Box::pin(async move { Ok(Arc::new(broker?) as Arc<dyn Broker>) })
}

inventory::submit! {
    super::BrokerFactory { scheme: "memory", connect }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn spec(address: &str, group: Option<&str>) -> SubscribeSpec {
        SubscribeSpec { address: address.into(), group: group.map(Into::into), consumer: "t".into() }
    }

    fn msg(body: &str) -> Outgoing {
        Outgoing { payload: body.as_bytes().to_vec().into(), ..Default::default() }
    }

    #[tokio::test]
    async fn a_next_dropped_before_it_is_polled_takes_no_message() {
        let b = MemoryBroker::new(16);
        let sub = b.subscribe(spec("orders", Some("g"))).await.unwrap();
        b.publish("orders", msg("only")).await.unwrap();
        drop(sub.next());
        let d = tokio::time::timeout(Duration::from_secs(5), sub.next())
            .await
            .expect("the message is still queued")
            .unwrap();
        assert_eq!(&d.incoming.payload[..], b"only");
        d.acker.ack().await.unwrap();
        assert_eq!(b.in_flight(), 0);
    }

    /// Two messages in a row wake one consumer (the second finds the first queued), and
    /// the consumer that takes the first wakes another for the second: a slow handler
    /// of the first never holds the second up while a consumer waits. On one thread, so
    /// that both are queued before either consumer runs.
    #[tokio::test]
    async fn a_message_left_behind_wakes_the_next_consumer() {
        let b = MemoryBroker::new(16);
        let sub: Arc<dyn Subscription> = Arc::from(b.subscribe(spec("orders", Some("g"))).await.unwrap());
        // Two consumers waiting before anything is published.
        let (first, second) = (sub.clone(), sub.clone());
        let (took_first, took_first_rx) = tokio::sync::oneshot::channel();
        let slow = tokio::spawn(async move {
            let d = first.next().await.expect("a delivery");
            took_first.send(()).unwrap();
            // Holds its message (a slow handler) until the other one got the second.
            tokio::time::sleep(Duration::from_secs(30)).await;
            d
        });
        let other = tokio::spawn(async move { second.next().await.expect("a delivery") });
        tokio::time::sleep(Duration::from_millis(50)).await;
        b.publish("orders", msg("one")).await.unwrap();
        b.publish("orders", msg("two")).await.unwrap();
        // Whichever consumer was woken first takes `one`; the other must get `two`.
        let both = async {
            took_first_rx.await.unwrap();
            other.await.unwrap()
        };
        let d = tokio::time::timeout(Duration::from_secs(5), both)
            .await
            .expect("each consumer got a message while the first one was held");
        assert_eq!(b.in_flight(), 2);
        d.acker.ack().await.unwrap();
        slow.abort();
    }

    #[tokio::test]
    async fn try_next_takes_what_is_queued_and_never_waits() {
        let b = MemoryBroker::new(16);
        let sub = b.subscribe(spec("orders", Some("g"))).await.unwrap();
        assert!(sub.try_next().is_none(), "nothing queued yet");
        b.publish("orders", msg("one")).await.unwrap();
        b.publish("orders", msg("two")).await.unwrap();
        let first = sub.try_next().expect("queued");
        assert_eq!(&first.incoming.payload[..], b"one");
        assert_eq!(b.in_flight(), 2, "taken is still in flight until settled");
        first.acker.ack().await.unwrap();
        let second = sub.next().await.expect("queued");
        assert_eq!(&second.incoming.payload[..], b"two");
        assert!(sub.try_next().is_none(), "nothing left");
        second.acker.ack().await.unwrap();
        assert_eq!(b.in_flight(), 0);
    }

    /// Publishers and consumers on several threads through a small queue, with consumers
    /// dropping waits at random (as a worker's `select!` does at shutdown): every message
    /// arrives exactly once, and nothing is left in flight.
    #[tokio::test(flavor = "multi_thread", worker_threads = 3)]
    async fn many_publishers_and_consumers_on_a_small_queue_lose_and_repeat_nothing() {
        const PUBLISHERS: u32 = 4;
        const EACH: u32 = 2_000;
        let b = MemoryBroker::new(8);
        let subs: Vec<Arc<dyn Subscription>> = {
            let mut v = Vec::new();
            for _ in 0..3 {
                v.push(Arc::from(b.subscribe(spec("orders", Some("g"))).await.unwrap()));
            }
            v
        };
        let seen = Arc::new(Mutex::new(Vec::new()));
        let total = (PUBLISHERS * EACH) as usize;
        let mut consumers = Vec::new();
        for (i, sub) in subs.into_iter().enumerate() {
            let seen = seen.clone();
            consumers.push(tokio::spawn(async move {
                let mut turn = i;
                while lock(&seen).len() < total {
                    turn += 1;
                    // Every third wait is given up after a moment and started again; every
                    // fifth turn takes only what is ready, as a busy worker does first.
                    let d = if turn % 5 == 0 {
                        match sub.try_next() {
                            Some(d) => Some(d),
                            None => continue,
                        }
                    } else if turn % 3 == 0 {
                        match tokio::time::timeout(Duration::from_micros(50), sub.next()).await {
                            Ok(d) => d,
                            Err(_) => continue,
                        }
                    } else {
                        match tokio::time::timeout(Duration::from_millis(100), sub.next()).await {
                            Ok(d) => d,
                            Err(_) => continue,
                        }
                    };
                    let d = d.expect("the subscription does not end");
                    lock(&seen).push(String::from_utf8(d.incoming.payload.to_vec()).unwrap());
                    d.acker.ack().await.unwrap();
                }
            }));
        }
        let mut publishers = Vec::new();
        for p in 0..PUBLISHERS {
            let b = b.clone();
            publishers.push(tokio::spawn(async move {
                for i in 0..EACH {
                    b.publish("orders", msg(&format!("{p}-{i}"))).await.unwrap();
                }
            }));
        }
        for p in publishers {
            p.await.unwrap();
        }
        tokio::time::timeout(Duration::from_secs(60), b.settled()).await.expect("everything settled");
        for c in consumers {
            c.await.unwrap();
        }
        let mut seen = std::mem::take(&mut *lock(&seen));
        assert_eq!(seen.len(), total, "each message once");
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), total, "no message twice");
        assert_eq!(b.in_flight(), 0);
    }

    #[tokio::test]
    async fn one_delivery_per_group_and_every_group_gets_it() {
        let b = MemoryBroker::new(16);
        let g1a = b.subscribe(spec("orders", Some("g1"))).await.unwrap();
        let g1b = b.subscribe(spec("orders", Some("g1"))).await.unwrap();
        let g2 = b.subscribe(spec("orders", Some("g2"))).await.unwrap();
        for i in 0..10 {
            b.publish("orders", msg(&i.to_string())).await.unwrap();
        }
        let mut seen_g1 = Vec::new();
        for _ in 0..10 {
            // Members of g1 share the queue: together they see each message once.
            let d = tokio::select! { d = g1a.next() => d, d = g1b.next() => d }.unwrap();
            seen_g1.push(String::from_utf8(d.incoming.payload.to_vec()).unwrap());
            d.acker.ack().await.unwrap();
        }
        seen_g1.sort_by_key(|s| s.parse::<u32>().unwrap());
        assert_eq!(seen_g1, (0..10).map(|i| i.to_string()).collect::<Vec<_>>());
        for _ in 0..10 {
            g2.next().await.unwrap().acker.ack().await.unwrap();
        }
        assert_eq!(b.in_flight(), 0);
        b.settled().await;
    }

    #[tokio::test]
    async fn parameterized_subscription_matches_concrete_channels() {
        let b = MemoryBroker::new(4);
        let s = b.subscribe(spec("orders.{region}.created", Some("g"))).await.unwrap();
        b.publish("orders.eu.created", msg("x")).await.unwrap();
        b.publish("orders.eu.deleted", msg("y")).await.unwrap();
        let d = s.next().await.unwrap();
        assert_eq!(&*d.incoming.channel, "orders.eu.created");
        d.acker.ack().await.unwrap();
        assert_eq!(b.in_flight(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn retry_redelivers_with_higher_attempt_and_reject_keeps_a_dead_letter() {
        let b = MemoryBroker::new(4);
        let s = b.subscribe(spec("c", Some("g"))).await.unwrap();
        b.publish("c", msg("x")).await.unwrap();
        let d = s.next().await.unwrap();
        assert_eq!(d.incoming.attempt, 1);
        d.acker.nack(Nack::Retry { after: Duration::from_millis(50) }, &d.incoming).await.unwrap();
        assert_eq!(b.in_flight(), 1);
        let d = s.next().await.unwrap();
        assert_eq!(d.incoming.attempt, 2);
        d.acker.nack(Nack::Reject { reason: "bad".into() }, &d.incoming).await.unwrap();
        assert_eq!(b.in_flight(), 0);
        let dead = b.dead_letters();
        assert_eq!(dead.len(), 1);
        assert_eq!(dead[0].reason, "bad");
        assert_eq!(dead[0].group.as_deref(), Some("g"));
    }

    #[tokio::test]
    async fn full_queue_applies_back_pressure() {
        let b = MemoryBroker::new(2);
        let s = b.subscribe(spec("c", Some("g"))).await.unwrap();
        b.publish("c", msg("1")).await.unwrap();
        b.publish("c", msg("2")).await.unwrap();
        let third = b.publish("c", msg("3"));
        tokio::pin!(third);
        // The queue is full: the third publish cannot finish until a message is taken.
        assert!(tokio::time::timeout(Duration::from_millis(50), third.as_mut()).await.is_err());
        s.next().await.unwrap().acker.ack().await.unwrap();
        tokio::time::timeout(Duration::from_secs(5), third).await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn a_waiting_publisher_resumes_once_a_quarter_is_free() {
        let b = MemoryBroker::new(8);
        let s = b.subscribe(spec("c", Some("g"))).await.unwrap();
        for i in 0..8 {
            b.publish("c", msg(&i.to_string())).await.unwrap();
        }
        let ninth = b.publish("c", msg("8"));
        tokio::pin!(ninth);
        let short = Duration::from_millis(50);
        assert!(tokio::time::timeout(short, ninth.as_mut()).await.is_err(), "full");
        s.next().await.unwrap().acker.ack().await.unwrap();
        assert!(tokio::time::timeout(short, ninth.as_mut()).await.is_err(), "7 of 8: still waiting");
        s.next().await.unwrap().acker.ack().await.unwrap();
        tokio::time::timeout(Duration::from_secs(5), ninth).await.expect("6 of 8: resumed").unwrap();
        // Nothing lost, order kept.
        let rest: Vec<String> = futures::future::join_all((0..7).map(|_| s.next()))
            .await
            .into_iter()
            .map(|d| String::from_utf8(d.unwrap().incoming.payload.to_vec()).unwrap())
            .collect();
        assert_eq!(rest, ["2", "3", "4", "5", "6", "7", "8"]);
    }

    #[tokio::test]
    async fn a_publish_dropped_while_waiting_is_no_longer_counted() {
        let b = MemoryBroker::new(1);
        let s = b.subscribe(spec("c", Some("g"))).await.unwrap();
        b.publish("c", msg("1")).await.unwrap();
        let group = lock(&b.inner.groups)[0].clone();
        {
            let second = b.publish("c", msg("2"));
            tokio::pin!(second);
            assert!(tokio::time::timeout(Duration::from_millis(20), second.as_mut()).await.is_err());
            assert_eq!(group.publishers_waiting.load(Ordering::SeqCst), 1);
        }
        assert_eq!(group.publishers_waiting.load(Ordering::SeqCst), 0, "dropped: not waiting any more");
        assert_eq!(b.in_flight(), 1, "the dropped publish is not in flight");
        let d = s.next().await.unwrap();
        assert_eq!(&d.incoming.payload[..], b"1");
        assert_eq!(group.len(), 0, "the dropped publish enqueued nothing");
        d.acker.ack().await.unwrap();
        tokio::time::timeout(Duration::from_secs(5), b.settled()).await.expect("settled");
    }

    #[test]
    fn url_options() {
        assert_eq!(MemoryBroker::from_url("memory://?capacity=8").unwrap().inner.capacity, 8);
        assert!(MemoryBroker::from_url("memory://?capacity=x").is_err());
        assert!(MemoryBroker::from_url("memory://?colour=red").is_err());
        assert!(MemoryBroker::from_url("kafka://x").is_err());
    }
}
