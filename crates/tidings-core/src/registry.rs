//! The registry: every `#[tidings::consumer]` and `#[tidings::producer]` submits a
//! declaration through `inventory`, so a binary's registry holds exactly what it links.
//! This is the first step of the path annotation -> registry -> document.

use futures::future::BoxFuture;
use tidings_asyncapi::description::{
    Action, KeyDescription, MessageDescription, OperationDescription, ReplyDescription,
};

use crate::broker::Outgoing;
use crate::error::Error;
use crate::runtime::pipeline::Worker;

/// What a generated handler returns: the encoded reply, if the handler has one. Boxed: the
/// result travels through several futures of the pipeline, and a handler without a reply
/// (most of them) then moves a pointer, not a message of a few hundred bytes (its inline
/// headers), at every step.
pub type HandlerResult = Result<Option<Box<Outgoing>>, Error>;

/// One worker of a consumer, as the consumer macro generates it: the pipeline's worker
/// loop (`tidings::__private::run_worker`) around the generated
/// handler (decode -> extract -> call the user's function -> encode its return value).
/// The loop is generated per consumer so that it awaits the handler's future in place:
/// a type-erased handler returned a boxed future, an allocation and a free a message.
pub type WorkerFn = fn(Worker) -> BoxFuture<'static, ()>;

/// A standalone producer: `#[tidings::producer] static X: Producer<T>;`.
#[derive(Debug)]
pub struct ProducerDecl {
    /// Operation id (the static's name in snake case).
    pub id: &'static str,
    /// Channel address.
    pub channel: &'static str,
    /// The message it sends.
    pub message: fn() -> MessageDescription,
    /// Doc comment.
    pub doc: Option<&'static str>,
    /// `module::NAME`, for error messages.
    pub source: &'static str,
    /// The declared message key (`key = field` or `key_with = path`).
    pub key: Option<KeyDecl>,
}

/// A producer's declared message key, for the document (the runtime calls the key
/// function the macro generated).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyDecl {
    /// `key = order_id`: a field of the message.
    Field(&'static str),
    /// `key_with = path::to::fn`: a function of the message, by its path.
    Extractor(&'static str),
}

impl KeyDecl {
    /// The description the document is built from.
    pub fn describe(&self) -> KeyDescription {
        match self {
            KeyDecl::Field(f) => KeyDescription::Field((*f).to_owned()),
            KeyDecl::Extractor(p) => KeyDescription::Extractor((*p).to_owned()),
        }
    }
}

/// What a consumer publishes with its return value (a stacked `#[tidings::producer]`).
#[derive(Debug)]
pub struct ReplyDecl {
    /// Operation id of the send side.
    pub id: &'static str,
    /// Channel address; its parameters are filled from the incoming channel's.
    pub channel: &'static str,
    /// The message it sends.
    pub message: fn() -> MessageDescription,
    /// The declared message key of what it sends.
    pub key: Option<KeyDecl>,
}

/// How often a failing handler is retried, and how long to wait in between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 = no retry).
    pub max_attempts: u32,
    /// Wait before the first retry, in milliseconds; doubles each time.
    pub initial_backoff_ms: u64,
    /// Upper bound of the wait, in milliseconds.
    pub max_backoff_ms: u64,
}

impl RetryPolicy {
    /// Three attempts, 100 ms then 200 ms apart.
    pub const DEFAULT: RetryPolicy = RetryPolicy { max_attempts: 3, initial_backoff_ms: 100, max_backoff_ms: 10_000 };

    /// The wait after failed attempt `attempt` (1-based).
    pub fn backoff(&self, attempt: u32) -> std::time::Duration {
        let shift = attempt.saturating_sub(1).min(20);
        let ms = self.initial_backoff_ms.saturating_mul(1u64 << shift).min(self.max_backoff_ms);
        std::time::Duration::from_millis(ms)
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// A consumer: `#[tidings::consumer(channel = ...)] async fn ...`.
#[derive(Debug)]
pub struct ConsumerDecl {
    /// Operation id (the function's name).
    pub id: &'static str,
    /// Channel address, possibly with parameters.
    pub channel: &'static str,
    /// Consumer group; `None` means the operation id.
    pub group: Option<&'static str>,
    /// The message it receives.
    pub message: fn() -> MessageDescription,
    /// What it publishes with its return value.
    pub reply: Option<ReplyDecl>,
    /// Doc comment.
    pub doc: Option<&'static str>,
    /// `module::function`, for error messages.
    pub source: &'static str,
    /// Handlers of this consumer running at once; 0 = the default.
    pub concurrency: usize,
    /// Retries of a failing handler.
    pub retry: RetryPolicy,
    /// Runs one of its workers: the generated handler inside the pipeline's loop.
    pub worker: WorkerFn,
}

impl ConsumerDecl {
    /// The consumer group: the declared one, or the operation id, so instances of one
    /// service share the work by default.
    pub fn group(&self) -> &'static str {
        self.group.unwrap_or(self.id)
    }
}

inventory::collect!(ProducerDecl);
inventory::collect!(ConsumerDecl);

/// Every declaration linked into this binary, sorted by operation id.
#[derive(Debug, Clone)]
pub struct Registry {
    /// Standalone producers.
    pub producers: Vec<&'static ProducerDecl>,
    /// Consumers.
    pub consumers: Vec<&'static ConsumerDecl>,
}

/// Sorts declarations stably by `(id, source)`. It sorts indices, so one instance of the
/// standard sort serves both declaration types: each instance is several kilobytes of
/// code, and a service binary's code is resident in whole.
fn sort_by_id<T: Copy>(decls: &mut Vec<T>, key: impl Fn(T) -> (&'static str, &'static str)) {
    let keys: Vec<(&str, &str)> = decls.iter().map(|&decl| key(decl)).collect();
    *decls = sorted_order(&keys).into_iter().map(|i| decls[i]).collect();
}

#[inline(never)]
fn sorted_order(keys: &[(&str, &str)]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..keys.len()).collect();
    order.sort_by(|&a, &b| keys[a].cmp(&keys[b]));
    order
}

impl Registry {
    /// Collects what `inventory` gathered.
    pub fn collect() -> Self {
        let mut producers: Vec<_> = inventory::iter::<ProducerDecl>.into_iter().collect();
        let mut consumers: Vec<_> = inventory::iter::<ConsumerDecl>.into_iter().collect();
        sort_by_id(&mut producers, |p| (p.id, p.source));
        sort_by_id(&mut consumers, |c| (c.id, c.source));
        Registry { producers, consumers }
    }

    /// The messages and operations part of the service description.
    pub fn describe(&self) -> (Vec<MessageDescription>, Vec<OperationDescription>) {
        let mut messages = Vec::new();
        let mut operations = Vec::new();
        for p in &self.producers {
            let m = (p.message)();
            let mut op = operation(p.id, Action::Send, p.channel, &m.name, p.doc, None, None, p.source);
            op.key = p.key.as_ref().map(KeyDecl::describe);
            operations.push(op);
            messages.push(m);
        }
        for c in &self.consumers {
            let m = (c.message)();
            let reply = c.reply.as_ref().map(|r| {
                let rm = (r.message)();
                let desc = ReplyDescription { channel: r.channel.to_owned(), message: rm.name.clone() };
                let mut op = operation(r.id, Action::Send, r.channel, &rm.name, c.doc, None, None, c.source);
                op.key = r.key.as_ref().map(KeyDecl::describe);
                operations.push(op);
                messages.push(rm);
                desc
            });
            operations.push(operation(
                c.id,
                Action::Receive,
                c.channel,
                &m.name,
                c.doc,
                Some(c.group()),
                reply,
                c.source,
            ));
            messages.push(m);
        }
        (messages, operations)
    }
}

#[allow(clippy::too_many_arguments)]
fn operation(
    id: &str,
    action: Action,
    channel: &str,
    message: &str,
    doc: Option<&str>,
    group: Option<&str>,
    reply: Option<ReplyDescription>,
    source: &str,
) -> OperationDescription {
    let doc = doc.map(str::trim).filter(|d| !d.is_empty());
    OperationDescription {
        id: id.to_owned(),
        action,
        channel: channel.to_owned(),
        message: message.to_owned(),
        summary: doc.map(summary_of),
        // The description only when it says more than the summary.
        description: doc.filter(|d| summary_of(d) != d.split_whitespace().collect::<Vec<_>>().join(" ")).map(str::to_owned),
        group: group.map(str::to_owned),
        reply,
        key: None,
        source: source.to_owned(),
    }
}

/// The first paragraph of a doc comment, on one line.
fn summary_of(doc: &str) -> String {
    doc.split("\n\n").next().unwrap_or(doc).split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy { max_attempts: 10, initial_backoff_ms: 100, max_backoff_ms: 350 };
        let ms: Vec<u128> = (1..=4).map(|a| p.backoff(a).as_millis()).collect();
        assert_eq!(ms, vec![100, 200, 350, 350]);
        assert_eq!(p.backoff(u32::MAX).as_millis(), 350);
    }

    #[test]
    fn summary_is_the_first_paragraph() {
        assert_eq!(summary_of("Validate an order\nand accept it.\n\nMore."), "Validate an order and accept it.");
    }
}
