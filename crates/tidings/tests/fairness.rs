//! A consumer that always finds a delivery ready still lets the other tasks of its
//! thread run: its workers charge tokio's cooperative budget for every delivery.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use tidings::prelude::*;
use tidings::{MemoryBroker, TidingsArgs};

/// A unit of work that takes no time.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Message)]
pub struct Tick {
    /// Its number.
    pub n: u32,
}

/// How many ticks the handler saw.
#[derive(Default)]
pub struct Seen(AtomicU32);

/// Never waits: every delivery is ready and every handler call finishes at once.
#[tidings::consumer(channel = "ticks", group = "busy", concurrency = 1)]
async fn busy(_tick: Tick, seen: State<Seen>) {
    let Seen(count) = &*seen.0;
    count.fetch_add(1, Ordering::SeqCst);
}

#[tokio::test(flavor = "current_thread")]
async fn a_consumer_with_deliveries_always_ready_yields_to_other_tasks() {
    const TOTAL: u32 = 5_000;
    let broker = MemoryBroker::new(TOTAL as usize);
    let seen = Arc::new(Seen::default());
    let app = tidings::app!()
        .ignore_env()
        .args(TidingsArgs::default())
        .server_broker("default", "memory://", Arc::new(broker.clone()))
        .state_arc(seen.clone());
    let running = app.start_without_cli().await.unwrap();
    let ctx = running.context();
    // All queued before the worker runs: this task does not yield while publishing.
    for n in 0..TOTAL {
        ctx.publish("ticks", &Tick { n }).await.unwrap();
    }
    assert_eq!(seen.0.load(Ordering::SeqCst), 0, "the worker has not run yet");
    // One turn for the worker. Without a yield point it would take every message before
    // this task runs again.
    tokio::task::yield_now().await;
    let after_one_turn = seen.0.load(Ordering::SeqCst);
    assert!(after_one_turn > 0, "the worker ran");
    assert!(after_one_turn < TOTAL, "the worker yielded before the queue was empty ({after_one_turn} handled)");
    // The rest still arrives, nothing twice.
    while seen.0.load(Ordering::SeqCst) < TOTAL {
        tokio::task::yield_now().await;
    }
    running.shutdown().await.unwrap();
    assert_eq!(seen.0.load(Ordering::SeqCst), TOTAL);
    assert_eq!(broker.in_flight(), 0);
}
