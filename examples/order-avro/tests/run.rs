//! `order-avro`'s `main` describes the service (`#[tidings::main] fn main() -> App`):
//! without `--asyncapi`, tidings builds the runtime, describes the app inside it, starts
//! the consumers, and stops gracefully on SIGTERM. Here on the embedded broker, so no
//! Kafka is needed.

use std::time::Duration;

mod child;

#[test]
fn the_described_service_runs_and_stops_on_sigterm() {
    let (mut service, rx) = child::spawn(&[], &[("TIDINGS_SERVER_DEFAULT", "memory://"), ("RUST_LOG", "info")]);
    // The log subscriber is installed (the process runs, it does not only print a
    // document) and the consumer starts.
    let started = loop {
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(line) if line.contains("consumer started") => break line,
            Ok(_) => continue,
            Err(_) => {
                let _ = service.kill();
                panic!("no `consumer started` line within 60 s");
            }
        }
    };
    assert!(started.contains("log_order") && started.contains("orders.created"), "{started}");

    child::stop(service);
    // The process has exited: its stderr is closed, so this ends.
    let rest: Vec<String> = rx.iter().collect();
    assert!(rest.iter().any(|l| l.contains("shutdown signal received")), "{rest:?}");
}
