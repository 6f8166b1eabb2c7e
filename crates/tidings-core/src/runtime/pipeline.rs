//! The delivery path of one consumer: delivery -> decode -> handler -> encode ->
//! publish -> ack. Decode, the handler and encode run inside the generated handler
//! function; this module receives, publishes the reply, settles the delivery and applies
//! the failure policy.

use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::FutureExt;
use std::future::Future;
use tokio::task::JoinSet;
use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};
use tracing::Instrument;

use crate::address::AddressTemplate;
use crate::broker::{Acker, Delivery, Incoming, Nack, Subscription};
use crate::error::Error;
use crate::registry::{ConsumerDecl, HandlerResult};
use crate::runtime::context::Context;

/// Workers per consumer when the declaration does not say.
pub(crate) const DEFAULT_CONCURRENCY: usize = 8;

/// The stop signal every worker of every consumer shares: a flag each worker reads once
/// per delivery, and a token to wait on while no delivery is ready.
/// `CancellationToken::is_cancelled` locks the token's mutex, one for all the workers:
/// read per delivery, that lock was contended on every message.
#[derive(Clone)]
pub(crate) struct Shutdown {
    flag: Arc<AtomicBool>,
    token: CancellationToken,
}

impl Shutdown {
    pub(crate) fn new() -> Self {
        Shutdown { flag: Arc::new(AtomicBool::new(false)), token: CancellationToken::new() }
    }

    /// Tells the workers to stop: the flag for those about to take a delivery, the token
    /// for those waiting for one.
    pub(crate) fn signal(&self) {
        self.flag.store(true, Ordering::Release);
        self.token.cancel();
    }

    fn is_signalled(&self) -> bool {
        self.flag.load(Ordering::Acquire)
    }
}

/// Starts the workers of one consumer on `tasks`. Each worker takes a delivery, runs it
/// to the end (ack or nack) and takes the next; on shutdown it finishes the delivery it
/// holds and stops.
pub(crate) fn spawn_consumer(
    tasks: &mut JoinSet<()>,
    decl: &'static ConsumerDecl,
    subscription: Arc<dyn Subscription>,
    ctx: Context,
    shutdown: Shutdown,
) -> Result<(), Error> {
    let template = Arc::new(AddressTemplate::parse(decl.channel)?);
    let reply_template = match &decl.reply {
        Some(r) => Some(Arc::new(AddressTemplate::parse(r.channel)?)),
        None => None,
    };
    let workers = if decl.concurrency == 0 { DEFAULT_CONCURRENCY } else { decl.concurrency };
    for _ in 0..workers {
        let worker = Worker {
            decl,
            sub: subscription.clone(),
            ctx: ctx.clone(),
            shutdown: shutdown.clone(),
            template: template.clone(),
            reply_template: reply_template.clone(),
        };
        tasks.spawn((decl.worker)(worker));
    }
    Ok(())
}

/// What one worker of a consumer works with: handed by the runtime to the consumer's
/// generated [`WorkerFn`](crate::registry::WorkerFn), which runs [`run_worker`].
pub struct Worker {
    decl: &'static ConsumerDecl,
    sub: Arc<dyn Subscription>,
    ctx: Context,
    shutdown: Shutdown,
    template: Arc<AddressTemplate>,
    reply_template: Option<Arc<AddressTemplate>>,
}

/// The worker loop of one consumer around its generated `handler`; used by the code the
/// consumer macro generates. Generic over the handler, so its future is awaited in place
/// (not boxed per message); the rest of a delivery's path is not generic
/// (`next_delivery`, `begin`, `settle`), compiled once whatever the number of consumers.
pub fn run_worker<H, F>(worker: Worker, handler: H) -> BoxFuture<'static, ()>
where
    H: Fn(Context) -> F + Send + Sync + 'static,
    F: Future<Output = HandlerResult> + Send + 'static,
{
    Box::pin(async move {
        let w = &worker;
        // One wait for the whole loop: a fresh `cancelled()` per delivery registered
        // and removed a waiter (two lock round trips) on every message.
        let cancelled = w.shutdown.token.cancelled();
        tokio::pin!(cancelled);
        while let Some(delivery) = next_delivery(w, cancelled.as_mut()).await {
            let (delivered, acker, span) = begin(w, delivery);
            async {
                // The handler's context is its own (it carries the delivery); the
                // worker's serves for the reply, so a delivery clones the runtime's
                // handle once, not twice. A panicking handler is a failed handler, not a
                // dead worker.
                let result = AssertUnwindSafe(handler(w.ctx.for_delivery(delivered.clone()))).catch_unwind().await;
                settle(w, delivered, acker, result).await;
            }
            .instrument(span)
            .await;
        }
    })
}

/// The worker's next delivery; `None` once it is to stop (shutdown, or the subscription
/// ended). Not generic: compiled once, not once per consumer.
async fn next_delivery(w: &Worker, mut cancelled: Pin<&mut WaitForCancellationFuture<'_>>) -> Option<Delivery> {
    // A worker that always finds a delivery ready would never yield to the other tasks of
    // its thread: charge tokio's budget as a wait would.
    tokio::task::consume_budget().await;
    // Shutdown first, as the biased `select!` below (checked after the yield, so no
    // delivery is taken once it is signalled).
    if w.shutdown.is_signalled() {
        return None;
    }
    match w.sub.try_next() {
        Some(d) => Some(d),
        None => tokio::select! {
            biased;
            _ = &mut cancelled => None,
            d = w.sub.next() => d,
        },
    }
}

/// A delivery's message (with its channel's parameters), acker and span.
fn begin(w: &Worker, delivery: Delivery) -> (Arc<Incoming>, Box<dyn Acker>, tracing::Span) {
    let Delivery { incoming: mut delivered, acker } = delivery;
    if w.template.is_parameterized() {
        let params = w.template.matches(&delivered.channel).unwrap_or_default();
        // The broker's is the only reference (a clone only if it kept one).
        Arc::make_mut(&mut delivered).params = params;
    }
    // At debug level, as tower-http's request spans: with the default `info` filter an
    // enabled span cost a sixth of a delivery (the fmt layer formats its fields when it
    // is made). The failure events below carry consumer, channel and attempt themselves.
    let span = tracing::debug_span!(
        "tidings.delivery",
        consumer = w.decl.id,
        channel = %delivered.channel,
        attempt = delivered.attempt,
    );
    (delivered, acker, span)
}

/// After the handler: publishes its reply, then acknowledges the delivery, or applies
/// the failure policy.
async fn settle(w: &Worker, delivered: Arc<Incoming>, acker: Box<dyn Acker>, result: std::thread::Result<HandlerResult>) {
    let decl = w.decl;
    let result = match result {
        Ok(r) => r,
        Err(panic) => Err(Error::msg(format!("handler panicked: {}", panic_text(&panic)))),
    };
    let result = match result {
        Ok(Some(reply)) => publish_reply(decl, w.reply_template.as_deref(), &w.ctx, &delivered, *reply).await,
        Ok(None) => Ok(()),
        Err(e) => Err(e),
    };
    let (consumer, channel, attempt) = (decl.id, &*delivered.channel, delivered.attempt);
    let settled = match result {
        Ok(()) => {
            // Let go of the message first: a broker whose acker holds the last reference
            // may reuse its allocation (the Kafka consumer does). The error names the
            // declared channel: cloning the delivered one's name (shared by every message
            // of the topic, counted by the poll thread too) cost CPU time on every message.
            drop(delivered);
            if let Err(e) = acker.ack().await {
                settle_failed(consumer, decl.channel, attempt, &e);
            }
            return;
        }
        Err(e) if e.is_decode() => {
            tracing::error!(consumer, channel, attempt, error = %e, "undecodable payload rejected; it never reaches the handler");
            acker.nack(Nack::Reject { reason: e.to_string() }, &delivered).await
        }
        Err(e) if attempt < decl.retry.max_attempts => {
            let after = decl.retry.backoff(attempt);
            tracing::warn!(consumer, channel, attempt, error = %e, retry_in_ms = after.as_millis() as u64, "handler failed; will retry");
            acker.nack(Nack::Retry { after }, &delivered).await
        }
        Err(e) => {
            tracing::error!(consumer, channel, attempts = attempt, error = %e, "handler failed on its last attempt; message rejected");
            acker.nack(Nack::Reject { reason: format!("failed after {attempt} attempt(s): {e}") }, &delivered).await
        }
    };
    if let Err(e) = settled {
        settle_failed(consumer, channel, attempt, &e);
    }
}

fn settle_failed(consumer: &str, channel: &str, attempt: u32, e: &Error) {
    tracing::error!(consumer, channel, attempt, error = %e, "could not settle the delivery; the broker will redeliver it");
}

async fn publish_reply(
    decl: &'static ConsumerDecl,
    reply_template: Option<&AddressTemplate>,
    ctx: &Context,
    delivered: &Incoming,
    reply: crate::broker::Outgoing,
) -> Result<(), Error> {
    let Some(template) = reply_template else {
        return Err(Error::Config(format!("consumer `{}` returned a reply but declares no reply channel", decl.source)));
    };
    // A reply channel without parameters is used as declared, not copied per reply.
    let rendered;
    let address = if template.is_parameterized() {
        rendered = template.render(&delivered.params)?;
        rendered.as_str()
    } else {
        template.as_str()
    };
    ctx.publish_raw(address, reply).await
}

fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-text panic payload".into())
}
