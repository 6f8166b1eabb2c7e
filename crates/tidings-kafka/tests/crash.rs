//! Process-level tests: a consumer service killed mid-stream, then started again.
//!
//! - SIGKILL: of 10,000 messages none is lost (duplicates allowed, counted).
//! - SIGTERM: none is lost and none is handled twice (a graceful stop commits what it
//!   handled).
//!
//! The service is this same executable run with `TIDINGS_KAFKA_CRASH_OUT` set: a real
//! tidings app (`#[tidings::consumer]`, `App::run`, signal handling) that appends the
//! number of every event it handles to that file. A custom harness (`harness = false`)
//! so the child can be this binary; it prints libtest's summary line.

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
use tidings_kafka::KafkaBroker;

/// Set in the child: the file it appends handled event numbers to.
const OUT_ENV: &str = "TIDINGS_KAFKA_CRASH_OUT";
/// Messages per test.
const COUNT: u32 = 10_000;
/// Bound of every wait on the child.
const WAIT: Duration = Duration::from_secs(180);

/// One event of the stream.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Message)]
#[message(name = "CrashTestEvent")]
pub struct Event {
    /// Its number, 0..COUNT.
    pub n: u32,
}

/// Where the child records what it handled.
pub struct Sink(Mutex<std::fs::File>);

/// Records every event: one line per handling, written before the ack.
///
/// A millisecond per event first, so the stream lasts seconds and a kill lands mid-way:
/// the consumer takes 10,000 events in well under the 100 ms between the test's looks,
/// and a test that finds everything handled before its kill tests nothing.
#[tidings::consumer(channel = "crash.events", group = "crash", concurrency = 8)]
async fn sink(event: Event, sink: State<Sink>) -> Result<(), Error> {
    tokio::time::sleep(Duration::from_millis(1)).await;
    let mut file = sink.0 .0.lock().map_err(|_| Error::msg("sink lock poisoned"))?;
    file.write_all(format!("{}\n", event.n).as_bytes()).map_err(Error::handler)
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
        tidings_kafka::link();
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
        common::require_broker();
        let run = common::run_id(name);
        let dir = std::env::temp_dir().join(format!("tidings-kafka-{run}"));
        std::fs::create_dir_all(&dir).expect("a temp dir");
        let out = dir.join("handled.txt");
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime");
        Scenario { run, dir, out, runtime, starts: 0 }
    }

    fn url(&self) -> String {
        common::url(&self.run)
    }

    /// Publishes events 0..COUNT, keyed over 16 keys, many in flight at once.
    fn publish_all(&self) {
        let url = self.url();
        self.runtime.block_on(async {
            let broker = KafkaBroker::connect("producer", &url).await.expect("connect the producer");
            let broker = &broker;
            let results: Vec<Result<(), tidings::Error>> = futures::stream::iter(0..COUNT)
                .map(|n| async move {
                    let message = Outgoing {
                        payload: serde_json::to_vec(&Event { n }).expect("JSON").into(),
                        headers: [("content-type", "application/json"), ("x-tidings-message", "CrashTestEvent")]
                            .into_iter()
                            .collect(),
                        key: Some(format!("k{}", n % 16).into_bytes().into()),
                    };
                    broker.publish("crash.events", message).await
                })
                .buffer_unordered(256)
                .collect()
                .await;
            let errors: Vec<String> = results.into_iter().filter_map(|r| r.err().map(|e| e.to_string())).take(5).collect();
            assert!(errors.is_empty(), "publishing failed: {errors:?}");
            broker.shutdown().await;
        });
    }

    /// Starts the consumer service.
    fn spawn(&mut self) -> Child {
        self.starts += 1;
        let log = std::fs::File::create(self.dir.join(format!("consumer-{}.log", self.starts))).expect("a log file");
        Command::new(std::env::current_exe().expect("this executable"))
            .env(OUT_ENV, &self.out)
            .env("TIDINGS_SERVER_DEFAULT", self.url())
            .env("RUST_LOG", "info,librdkafka=warn")
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
        let deadline = Instant::now() + WAIT;
        while !check(self) {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("the consumer exited ({status}) before {what}; log:\n{}", self.log_tail());
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                panic!(
                    "timed out after {WAIT:?} waiting for {what}: {} handled, {} distinct; log:\n{}",
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

    fn assert_committed(&self) {
        common::assert_all_committed(&format!("{}-crash", self.run), &format!("{}.crash.events", self.run), COUNT as usize);
    }

    fn cleanup(self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn sigkill_mid_stream_then_restart_loses_nothing() {
    let mut s = Scenario::new("sigkill");
    s.publish_all();
    let mut first = s.spawn();
    s.wait_until(&mut first, "a third of the events handled", |s| s.handled().len() >= COUNT as usize / 3);
    first.kill().expect("SIGKILL");
    first.wait().expect("reaped");
    let before = s.handled().len();
    let mut second = s.spawn();
    s.wait_until(&mut second, "every event handled", |s| s.distinct() == COUNT as usize);
    let status = s.terminate(&mut second);
    assert!(status.success(), "the restarted consumer stopped with {status}; log:\n{}", s.log_tail());

    let handled = s.handled();
    let mut counts: BTreeMap<u32, u32> = BTreeMap::new();
    for n in &handled {
        *counts.entry(*n).or_default() += 1;
    }
    let missing: Vec<u32> = (0..COUNT).filter(|n| !counts.contains_key(n)).take(20).collect();
    assert!(missing.is_empty(), "lost events (first 20): {missing:?}");
    assert!(counts.keys().all(|n| *n < COUNT), "events that were never published");
    let duplicates = handled.len() - COUNT as usize;
    eprintln!("sigkill: {before} handled before the kill; {duplicates} handled twice after the restart (allowed)");
    s.assert_committed();
    s.cleanup();
}

fn sigterm_mid_stream() {
    let mut s = Scenario::new("sigterm");
    s.publish_all();
    let mut first = s.spawn();
    s.wait_until(&mut first, "a fifth of the events handled", |s| s.handled().len() >= COUNT as usize / 5);
    let status = s.terminate(&mut first);
    assert!(status.success(), "SIGTERM: the consumer stopped with {status}; log:\n{}", s.log_tail());
    let before = s.handled().len();
    assert!(before < COUNT as usize, "the first run handled everything before SIGTERM; nothing was tested");
    let mut second = s.spawn();
    s.wait_until(&mut second, "every event handled", |s| s.distinct() == COUNT as usize);
    let status = s.terminate(&mut second);
    assert!(status.success(), "the restarted consumer stopped with {status}; log:\n{}", s.log_tail());

    let handled = s.handled();
    let mut sorted = handled.clone();
    sorted.sort_unstable();
    let twice: Vec<u32> = sorted.windows(2).filter(|w| w[0] == w[1]).map(|w| w[0]).take(20).collect();
    assert!(twice.is_empty(), "handled twice after a graceful stop (first 20): {twice:?}");
    assert_eq!(handled.len(), COUNT as usize, "each event exactly once");
    eprintln!("sigterm: {before} handled before SIGTERM, the rest after the restart, none twice");
    s.assert_committed();
    s.cleanup();
}
