//! Scale: writes N service documents (default 1,000) with M channels each (default 20)
//! as YAML files, then times loading them into a catalog and answering queries.
//!
//! `cargo bench -p tidings-catalog --bench catalog [-- --services N --channels M --runs R]`
//!
//! Service `i` sends `Svc{i}Event{j}` on `kafka:svc{i}.topic{j}` for the first half of its
//! channels and receives service `i+1`'s events on the second half; service 0 also sends
//! `CustomerDataDeletionRequest`, which every tenth service receives (half of them over
//! an SQS queue bridged from the Kafka topic).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tidings_catalog::load::{load, LoadOptions};

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn document(i: usize, services: usize, channels: usize) -> String {
    let next = (i + 1) % services;
    let half = channels / 2;
    let mut doc = format!(
        "asyncapi: 3.0.0\ninfo:\n  title: svc{i}\n  version: 1.0.0\ndefaultContentType: application/json\nservers:\n  main:\n    host: kafka:9092\n    protocol: kafka\n  queues:\n    host: sqs.eu-west-1.amazonaws.com\n    protocol: sqs\nchannels:\n"
    );
    let mut operations = String::from("operations:\n");
    let mut messages = String::from("components:\n  messages:\n");
    let mut add = |doc: &mut String, id: String, address: String, server: &str, message: String, action: &str| {
        let _ = write!(
            doc,
            "  {id}:\n    address: {address}\n    servers:\n    - $ref: '#/servers/{server}'\n    messages:\n      {message}:\n        $ref: '#/components/messages/{message}'\n"
        );
        let _ = write!(
            operations,
            "  {action}_{id}:\n    action: {action}\n    channel:\n      $ref: '#/channels/{id}'\n    messages:\n    - $ref: '#/channels/{id}/messages/{message}'\n"
        );
        let _ = write!(
            messages,
            "    {message}:\n      name: {message}\n      payload:\n        type: object\n        properties:\n          id:\n            type: string\n          amount:\n            type: number\n          at:\n            type: string\n            format: date-time\n        required:\n        - id\n        - at\n      x-eventcatalog-message-type: event\n      x-eventcatalog-message-version: 1.0.0\n"
        );
    };
    for j in 0..channels {
        if j < half {
            add(&mut doc, format!("c{j}"), format!("svc{i}.topic{j}"), "main", format!("Svc{i}Event{j}"), "send");
        } else {
            let k = j - half;
            add(&mut doc, format!("c{j}"), format!("svc{next}.topic{k}"), "main", format!("Svc{next}Event{k}"), "receive");
        }
    }
    if i == 0 {
        add(&mut doc, "privacy".into(), "privacy.deletions".into(), "main", "CustomerDataDeletionRequest".into(), "send");
        doc.push_str("    x-tidings-bridge:\n    - to: sqs:privacy-deletions\n");
    } else if i % 10 == 0 {
        let (address, server) = if i % 20 == 0 { ("privacy-deletions", "queues") } else { ("privacy.deletions", "main") };
        add(&mut doc, "privacy".into(), address.into(), server, "CustomerDataDeletionRequest".into(), "receive");
    }
    // The bridge entry sits inside the last channel written for service 0.
    doc.push_str(&operations);
    doc.push_str(&messages);
    doc
}

fn write_fleet(dir: &Path, services: usize, channels: usize) -> u64 {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("create the bench folder");
    let mut bytes = 0;
    for i in 0..services {
        let text = document(i, services, channels);
        bytes += text.len() as u64;
        std::fs::write(dir.join(format!("svc{i:04}.yaml")), text).expect("write a document");
    }
    bytes
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let services = arg("--services", 1000).max(1);
    let channels = arg("--channels", 20).max(2);
    let runs = arg("--runs", 5).max(1);
    let dir: PathBuf = std::env::temp_dir().join(format!("tidings-catalog-bench-{}", std::process::id()));
    let bytes = write_fleet(&dir, services, channels);
    println!(
        "catalog bench: {services} documents x {channels} channels ({:.1} MiB of YAML), {runs} runs, {} threads",
        bytes as f64 / (1024.0 * 1024.0),
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );
    let mut load_times = Vec::new();
    let mut query_times = Vec::new();
    let mut flows_times = Vec::new();
    let mut consumers = 0;
    for _ in 0..runs {
        let start = Instant::now();
        let catalog = load(&[dir.clone()], &LoadOptions::default()).expect("the bench documents load");
        load_times.push(start.elapsed());
        assert_eq!(catalog.services.len(), services, "every document became a service");
        assert!(catalog.diagnostics.is_empty(), "{:?}", catalog.diagnostics.first());

        let start = Instant::now();
        consumers = catalog.who_consumes("CustomerDataDeletionRequest").len();
        let neighbour = catalog.who_consumes("Svc1Event0").len();
        query_times.push(start.elapsed());
        assert_eq!(neighbour, 1);

        let start = Instant::now();
        let flows = catalog.flows("CustomerDataDeletionRequest");
        flows_times.push(start.elapsed());
        assert_eq!(flows.len(), consumers, "every consumer is reached, half through the bridge");
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    println!("load (read + parse + build):       median {}  (min {})", ms(median(&mut load_times)), ms(load_times[0]));
    println!("who-consumes (2 queries):          median {}", ms(median(&mut query_times)));
    println!("flows CustomerDataDeletionRequest: median {}  ({consumers} consumers)", ms(median(&mut flows_times)));
    let _ = std::fs::remove_dir_all(&dir);
}
