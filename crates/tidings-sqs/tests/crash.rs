//! Process-level tests: a consumer service killed mid-stream, then started again.
//!
//! - SIGKILL: of 5,000 messages none is lost (duplicates allowed, counted): what the
//!   killed process had received but not deleted shows again after the visibility
//!   timeout, and the restarted service handles it.
//! - SIGTERM: none is lost and none is handled twice (a graceful stop deletes what it
//!   handled and releases what it did not).
//!
//! The service is this same executable run with `TIDINGS_SQS_CRASH_OUT` set: a real
//! tidings app (`#[tidings::consumer]`, `App::run`, signal handling) that appends the
//! number of every event it handles to that file. A custom harness (`harness = false`)
//! so the child can be this binary; it prints libtest's summary line.
//!
//! `TIDINGS_SQS_CRASH_COUNT=N` runs them with N messages (at least 100) instead of
//! 5,000. moto slows down as a queue grows, so the publisher keeps the queue short,
//! publishing while the consumer runs.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures::StreamExt;
use tidings::broker::Broker;
use tidings::prelude::*;
use tidings::Outgoing;
use tidings_sqs::SqsBroker;

/// Set in the child: the file it appends handled event numbers to.
const OUT_ENV: &str = "TIDINGS_SQS_CRASH_OUT";
/// Messages per test, unless `TIDINGS_SQS_CRASH_COUNT` says otherwise.
const DEFAULT_COUNT: u32 = 5_000;
/// A wait on the child fails when its handled count has not moved for this long: the
/// bound does not depend on how fast the endpoint is (moto on a busy machine handles a
/// few messages a second), only on whether anything happens.
const STALL: Duration = Duration::from_secs(180);
/// The longest any one wait may take, progress or not.
const WAIT: Duration = Duration::from_secs(3600);
/// The publisher pauses while more messages than this wait in the queue.
const MAX_DEPTH: u64 = 200;

/// One event of the stream.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Message)]
#[message(name = "SqsCrashTestEvent")]
pub struct Event {
    /// Its number, from 0 to the count of the test.
    pub n: u32,
}

/// Where the child records what it handled.
pub struct Sink(Mutex<std::fs::File>);

/// Records every event: one line per handling, written before the ack.
#[tidings::consumer(channel = "crash.events", group = "crash", concurrency = 8)]
async fn sink(event: Event, sink: State<Sink>) -> Result<(), Error> {
    let mut file = sink.0 .0.lock().map_err(|_| Error::msg("sink lock poisoned"))?;
    file.write_all(format!("{}\n", event.n).as_bytes()).map_err(Error::handler)
}

/// Messages per test.
fn count() -> u32 {
    std::env::var("TIDINGS_SQS_CRASH_COUNT").ok().and_then(|c| c.parse().ok()).filter(|c| *c >= 100).unwrap_or(DEFAULT_COUNT)
}

fn main() {
    if let Ok(out) = std::env::var(OUT_ENV) {
        child(&out);
        return;
    }
    let filters: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let tests: [(&str, fn()); 2] = [
        ("sigkill_mid_stream_then_restart_loses_nothing", sigkill_mid_stream_then_restart_loses_nothing),
        ("sigterm_mid_stream_then_restart_loses_nothing_and_handles_nothing_twice", sigterm_mid_stream),
    ];
    let selected: Vec<_> = tests.iter().filter(|(name, _)| filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()))).collect();
    let started = Instant::now();
    println!("\nrunning {} tests", selected.len());
    let (mut passed, mut failed) = (0, Vec::new());
    for (name, test) in &selected {
        match std::panic::catch_unwind(test) {
            Ok(()) => {
                println!("test {name} ... ok");
                passed += 1;
            }
            Err(_) => {
                println!("test {name} ... FAILED");
                failed.push(*name);
            }
        }
    }
    let verdict = if failed.is_empty() { "ok" } else { "FAILED" };
    if !failed.is_empty() {
        println!("\nfailures:\n    {}", failed.join("\n    "));
    }
    println!(
        "\ntest result: {verdict}. {passed} passed; {} failed; 0 ignored; 0 measured; {} filtered out; finished in {:.2}s\n",
        failed.len(),
        tests.len() - selected.len(),
        started.elapsed().as_secs_f64()
    );
    if !failed.is_empty() {
        std::process::exit(101);
    }
}

/// The consumer service.
fn child(out: &str) {
    let file = std::fs::OpenOptions::new().create(true).append(true).open(out).expect("the output file opens");
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime");
    runtime.block_on(async {
        tidings::init_tracing();
        tidings_sqs::link();
        // The server comes from TIDINGS_SERVER_DEFAULT, like any service's.
        let result = tidings::app!()
            .args(tidings::TidingsArgs::default())
            .state(Sink(Mutex::new(file)))
            .shutdown_timeout(Duration::from_secs(20))
            .run()
            .await;
        if let Err(e) = result {
            eprintln!("crash-test consumer: {e}");
            std::process::exit(1);
        }
    });
}

/// One test's world: its topics and groups, its output file, its children.
struct Scenario {
    run: String,
    dir: PathBuf,
    out: PathBuf,
    runtime: tokio::runtime::Runtime,
    starts: u32,
}

impl Scenario {
    fn new(name: &str) -> Self {
        common::require_sqs();
        let run = common::run_id(name);
        let dir = std::env::temp_dir().join(format!("tidings-sqs-{run}"));
        std::fs::create_dir_all(&dir).expect("a temp dir");
        let out = dir.join("handled.txt");
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime");
        Scenario { run, dir, out, runtime, starts: 0 }
    }

    /// The run's queues; a 10 s visibility timeout so a killed consumer's messages
    /// come back soon.
    fn url(&self) -> String {
        format!(
            "sqs://us-east-1?endpoint={}&create=true&queue_prefix={}-&wait_time_s=1&visibility_timeout_s=10",
            common::ENDPOINT,
            self.run
        )
    }

    /// Publishes events 0..count() from a thread of its own while the consumer runs,
    /// many in flight at once (sent in batches), pausing while more than
    /// [`MAX_DEPTH`] wait in the queue: moto's sends and receives slow down with the
    /// queue's length (a receive over 1,000 waiting messages takes seconds).
    fn start_publisher(&self) -> std::thread::JoinHandle<()> {
        let url = self.url();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
            runtime.block_on(async {
                let broker = SqsBroker::connect("producer", &url).await.expect("connect the producer");
                let queue = broker.queue("crash.events").await.expect("the queue");
                let broker = &broker;
                for chunk in (0..count()).collect::<Vec<u32>>().chunks(100) {
                    let deadline = Instant::now() + WAIT;
                    while common::depth(broker, &queue.url).await.0 > MAX_DEPTH {
                        assert!(Instant::now() < deadline, "the queue did not drain below {MAX_DEPTH} within {WAIT:?}");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                    let results: Vec<Result<(), tidings::Error>> = futures::stream::iter(chunk.iter().copied())
                        .map(|n| async move {
                            let message = Outgoing {
                                payload: serde_json::to_vec(&Event { n }).expect("JSON").into(),
                                headers: [("content-type", "application/json"), ("x-tidings-message", "SqsCrashTestEvent")]
                                    .into_iter()
                                    .collect(),
                                key: None,
                            };
                            broker.publish("crash.events", message).await
                        })
                        .buffer_unordered(32)
                        .collect()
                        .await;
                    let errors: Vec<String> =
                        results.into_iter().filter_map(|r| r.err().map(|e| e.to_string())).take(5).collect();
                    assert!(errors.is_empty(), "publishing failed: {errors:?}");
                }
                broker.shutdown().await;
            });
        })
    }

    /// Starts the consumer service.
    fn spawn(&mut self) -> Child {
        self.starts += 1;
        let log = std::fs::File::create(self.dir.join(format!("consumer-{}.log", self.starts))).expect("a log file");
        Command::new(std::env::current_exe().expect("this executable"))
            .env(OUT_ENV, &self.out)
            .env("TIDINGS_SERVER_DEFAULT", self.url())
            .env("RUST_LOG", "info,aws_config=warn,aws_smithy_runtime=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("the consumer service starts")
    }

    /// Handled event numbers, in file order.
    fn handled(&self) -> Vec<u32> {
        let text = std::fs::read_to_string(&self.out).unwrap_or_default();
        // A line cut by SIGKILL mid-write is not a handled event (it was never acked).
        text.split_inclusive('\n').filter(|l| l.ends_with('\n')).filter_map(|l| l.trim().parse().ok()).collect()
    }

    fn distinct(&self) -> usize {
        let mut h = self.handled();
        h.sort_unstable();
        h.dedup();
        h.len()
    }

    /// Waits until `check` holds, failing with the child's log when `child` exits or
    /// the wait runs out.
    fn wait_until(&self, child: &mut Child, what: &str, check: impl Fn(&Self) -> bool) {
        let started = Instant::now();
        let (mut last, mut moved) = (self.handled().len(), Instant::now());
        while !check(self) {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("the consumer exited ({status}) before {what}; log:\n{}", self.log_tail());
            }
            let now = self.handled().len();
            if now != last {
                (last, moved) = (now, Instant::now());
            }
            if moved.elapsed() >= STALL || started.elapsed() >= WAIT {
                let _ = child.kill();
                panic!(
                    "gave up waiting for {what} ({:?} without progress, {:?} in all): {} handled, {} distinct; log:\n{}",
                    moved.elapsed(),
                    started.elapsed(),
                    self.handled().len(),
                    self.distinct(),
                    self.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Sends SIGTERM and waits (bounded) for a clean exit.
    fn terminate(&self, child: &mut Child) -> ExitStatus {
        let status = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().expect("kill runs");
        assert!(status.success(), "kill -TERM {} failed", child.id());
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = child.try_wait().expect("try_wait") {
                return status;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                panic!("the consumer did not stop within 60 s of SIGTERM; log:\n{}", self.log_tail());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.dir.join(format!("consumer-{}.log", self.starts))).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// Fails unless the queue is empty (every message deleted) and nothing was
    /// dead-lettered.
    fn assert_deleted(&self) {
        let url = self.url();
        self.runtime.block_on(async {
            let admin = SqsBroker::connect("admin", &url).await.expect("the admin connection");
            let queue = admin.queue("crash.events").await.expect("the queue");
            common::assert_drained(&admin, &queue.url).await;
            let dlq = admin.dead_letter_queue("crash.events").await.expect("the dead-letter queue");
            assert_eq!(common::depth(&admin, &dlq.url).await, (0, 0, 0), "nothing dead-lettered");
        });
    }

    fn cleanup(self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn sigkill_mid_stream_then_restart_loses_nothing() {
    let mut s = Scenario::new("sigkill");
    let mut first = s.spawn();
    let publisher = s.start_publisher();
    s.wait_until(&mut first, "a third of the events handled", |s| s.handled().len() >= count() as usize / 3);
    first.kill().expect("SIGKILL");
    first.wait().expect("reaped");
    let before = s.handled().len();
    let mut second = s.spawn();
    s.wait_until(&mut second, "every event handled", |s| s.distinct() == count() as usize);
    publisher.join().expect("the publisher finished without error");
    let status = s.terminate(&mut second);
    assert!(status.success(), "the restarted consumer stopped with {status}; log:\n{}", s.log_tail());

    let handled = s.handled();
    let mut counts: BTreeMap<u32, u32> = BTreeMap::new();
    for n in &handled {
        *counts.entry(*n).or_default() += 1;
    }
    let missing: Vec<u32> = (0..count()).filter(|n| !counts.contains_key(n)).take(20).collect();
    assert!(missing.is_empty(), "lost events (first 20): {missing:?}");
    assert!(counts.keys().all(|n| *n < count()), "events that were never published");
    let duplicates = handled.len() - count() as usize;
    eprintln!("sigkill: {before} handled before the kill; {duplicates} handled twice after the restart (allowed)");
    s.assert_deleted();
    s.cleanup();
}

fn sigterm_mid_stream() {
    let mut s = Scenario::new("sigterm");
    let mut first = s.spawn();
    let publisher = s.start_publisher();
    s.wait_until(&mut first, "a fifth of the events handled", |s| s.handled().len() >= count() as usize / 5);
    let status = s.terminate(&mut first);
    assert!(status.success(), "SIGTERM: the consumer stopped with {status}; log:\n{}", s.log_tail());
    let before = s.handled().len();
    assert!(before < count() as usize, "the first run handled everything before SIGTERM; nothing was tested");
    let mut second = s.spawn();
    s.wait_until(&mut second, "every event handled", |s| s.distinct() == count() as usize);
    publisher.join().expect("the publisher finished without error");
    let status = s.terminate(&mut second);
    assert!(status.success(), "the restarted consumer stopped with {status}; log:\n{}", s.log_tail());

    let handled = s.handled();
    let mut sorted = handled.clone();
    sorted.sort_unstable();
    let twice: Vec<u32> = sorted.windows(2).filter(|w| w[0] == w[1]).map(|w| w[0]).take(20).collect();
    assert!(twice.is_empty(), "handled twice after a graceful stop (first 20): {twice:?}");
    assert_eq!(handled.len(), count() as usize, "each event exactly once");
    eprintln!("sigterm: {before} handled before SIGTERM, the rest after the restart, none twice");
    s.assert_deleted();
    s.cleanup();
}
