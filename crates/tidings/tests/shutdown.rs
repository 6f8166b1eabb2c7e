//! Graceful shutdown: in-flight handlers finish, then the app stops taking deliveries.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tidings::prelude::*;
use tidings::{MemoryBroker, TidingsArgs};
use tokio::sync::Notify;

/// Work to do slowly.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Message)]
pub struct SlowJob {
    /// Job number.
    pub n: u32,
}

/// What the handler saw.
#[derive(Default)]
pub struct Progress {
    started: AtomicU32,
    finished: AtomicU32,
    first_started: Notify,
}

/// Takes a while.
#[tidings::consumer(channel = "jobs", group = "slow", concurrency = 1)]
async fn slow(_job: SlowJob, progress: State<Progress>) {
    if progress.started.fetch_add(1, Ordering::SeqCst) == 0 {
        progress.first_started.notify_one();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    progress.finished.fetch_add(1, Ordering::SeqCst);
}

#[tokio::test]
async fn shutdown_finishes_the_handler_in_flight_and_takes_no_more() {
    let broker = MemoryBroker::new(16);
    let progress = Arc::new(Progress::default());
    let app = tidings::app!()
        .ignore_env()
        .args(TidingsArgs::default())
        .server_broker("default", "memory://", Arc::new(broker.clone()));
    // The handler reads Progress; register the shared one under that type.
    let app = app.state_arc(progress.clone());
    let running = app.start_without_cli().await.unwrap();
    let ctx = running.context();
    for n in 0..3 {
        ctx.publish("jobs", &SlowJob { n }).await.unwrap();
    }
    progress.first_started.notified().await;
    running.shutdown().await.unwrap();
    // The job in flight finished; with one worker, the other two were never started.
    assert_eq!(progress.started.load(Ordering::SeqCst), 1);
    assert_eq!(progress.finished.load(Ordering::SeqCst), 1);
    // They are still queued, not lost: the broker holds them.
    assert_eq!(broker.in_flight(), 2);
}

