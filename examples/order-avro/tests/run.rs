//! `order-avro`'s `main` describes the service (`#[tidings::main] fn main() -> App`):
//! without `--asyncapi`, tidings builds the runtime, describes the app inside it, starts
//! the consumers, and stops gracefully on SIGTERM. Here on the embedded broker, so no
//! Kafka is needed.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

#[test]
fn the_described_service_runs_and_stops_on_sigterm() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_order-avro"))
        .env("TIDINGS_SERVER_DEFAULT", "memory://")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    // The log subscriber is installed (the process runs, it does not only print a
    // document) and the consumer starts.
    let started = loop {
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(line) if line.contains("consumer started") => break line,
            Ok(_) => continue,
            Err(_) => {
                let _ = child.kill();
                panic!("no `consumer started` line within 60 s");
            }
        }
    };
    assert!(started.contains("log_order") && started.contains("orders.created"), "{started}");

    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done_tx.send(child.wait());
    });
    let status = done_rx.recv_timeout(Duration::from_secs(30)).expect("stops within 30 s").expect("waits");
    assert!(status.success(), "{status}");
    let rest: Vec<String> = rx.try_iter().collect();
    assert!(rest.iter().any(|l| l.contains("shutdown signal received")), "{rest:?}");
}
