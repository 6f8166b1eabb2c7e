//! Scale: writes N service documents (default 1,000) with M channels each (default 20)
//! as YAML files and as JSON files, then times loading each set into a catalog (wall and
//! CPU time) and answering queries.
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
    let mut add = |doc: &mut String,
                   id: String,
                   address: String,
                   server: &str,
                   message: String,
                   action: &str| {
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
            add(
                &mut doc,
                format!("c{j}"),
                format!("svc{i}.topic{j}"),
                "main",
                format!("Svc{i}Event{j}"),
                "send",
            );
        } else {
            let k = j - half;
            add(
                &mut doc,
                format!("c{j}"),
                format!("svc{next}.topic{k}"),
                "main",
                format!("Svc{next}Event{k}"),
                "receive",
            );
        }
    }
    if i == 0 {
        add(
            &mut doc,
            "privacy".into(),
            "privacy.deletions".into(),
            "main",
            "CustomerDataDeletionRequest".into(),
            "send",
        );
        doc.push_str("    x-tidings-bridge:\n    - to: sqs:privacy-deletions\n");
    } else if i % 10 == 0 {
        let (address, server) = if i % 20 == 0 {
            ("privacy-deletions", "queues")
        } else {
            ("privacy.deletions", "main")
        };
        add(
            &mut doc,
            "privacy".into(),
            address.into(),
            server,
            "CustomerDataDeletionRequest".into(),
            "receive",
        );
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

/// CPU time of this process so far (user + system), from /proc: wall time on a shared
/// machine counts other processes' work too.
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // Linux reports in USER_HZ, 100 on every mainstream configuration.
    Some(Duration::from_millis(ticks * 10))
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let services = arg("--services", 1000).max(1);
    let channels = arg("--channels", 20).max(2);
    let runs = arg("--runs", 5).max(1);
    let dir: PathBuf =
        std::env::temp_dir().join(format!("tidings-catalog-bench-{}", std::process::id()));
    let bytes = write_fleet(&dir, services, channels);
    println!(
        "catalog bench: {services} documents x {channels} channels ({:.1} MiB of YAML), {runs} runs, {} threads",
        bytes as f64 / (1024.0 * 1024.0),
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );
    let json_dir = dir.with_extension("json");
    let _ = std::fs::remove_dir_all(&json_dir);
    std::fs::create_dir_all(&json_dir).expect("create the JSON bench folder");
    for entry in std::fs::read_dir(&dir).expect("the YAML folder") {
        let path = entry.expect("an entry").path();
        let value: serde_json::Value =
            serde_yaml_ng::from_str(&std::fs::read_to_string(&path).expect("read")).expect("YAML");
        let name = path.with_extension("json");
        std::fs::write(
            json_dir.join(name.file_name().expect("a name")),
            value.to_string(),
        )
        .expect("write JSON");
    }
    let mut load_times = Vec::new();
    let mut load_cpu = Vec::new();
    let mut json_times = Vec::new();
    let mut json_cpu = Vec::new();
    let mut query_times = Vec::new();
    let mut flows_times = Vec::new();
    let mut consumers = 0;
    for _ in 0..runs {
        let (start, cpu) = (Instant::now(), cpu_time());
        let catalog = load(std::slice::from_ref(&json_dir), &LoadOptions::default())
            .expect("the JSON documents load");
        json_times.push(start.elapsed());
        json_cpu.extend(cpu.zip(cpu_time()).map(|(a, b)| b.saturating_sub(a)));
        assert_eq!(catalog.services.len(), services);
        let (start, cpu) = (Instant::now(), cpu_time());
        let catalog = load(std::slice::from_ref(&dir), &LoadOptions::default())
            .expect("the bench documents load");
        load_times.push(start.elapsed());
        load_cpu.extend(cpu.zip(cpu_time()).map(|(a, b)| b.saturating_sub(a)));
        assert_eq!(
            catalog.services.len(),
            services,
            "every document became a service"
        );
        assert!(
            catalog.diagnostics.is_empty(),
            "{:?}",
            catalog.diagnostics.first()
        );

        let start = Instant::now();
        consumers = catalog.who_consumes("CustomerDataDeletionRequest").len();
        let neighbour = catalog.who_consumes("Svc1Event0").len();
        query_times.push(start.elapsed());
        assert_eq!(neighbour, 1);

        let start = Instant::now();
        let flows = catalog.flows("CustomerDataDeletionRequest");
        flows_times.push(start.elapsed());
        assert_eq!(
            flows.len(),
            consumers,
            "every consumer is reached, half through the bridge"
        );
    }
    // Where loading spends its time, on one thread: the YAML parser, the typed model,
    // and the same documents as JSON.
    let texts: Vec<String> = (0..services)
        .map(|i| document(i, services, channels))
        .collect();
    let start = Instant::now();
    for text in &texts {
        tidings_asyncapi::Document::from_yaml(text).expect("parses");
    }
    let yaml_typed = start.elapsed();
    let start = Instant::now();
    let values: Vec<serde_json::Value> = texts
        .iter()
        .map(|t| serde_yaml_ng::from_str(t).expect("parses"))
        .collect();
    let yaml_value = start.elapsed();
    let jsons: Vec<String> = values.iter().map(|v| v.to_string()).collect();
    let start = Instant::now();
    for json in &jsons {
        tidings_asyncapi::Document::from_json(json).expect("parses");
    }
    let json_typed = start.elapsed();
    println!(
        "one thread, {services} documents: YAML -> model {}; YAML -> JSON value only {}; JSON ({:.1} MiB) -> model {}",
        ms(yaml_typed),
        ms(yaml_value),
        jsons.iter().map(String::len).sum::<usize>() as f64 / (1024.0 * 1024.0),
        ms(json_typed)
    );
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let cpu = |v: &mut Vec<Duration>| {
        if v.is_empty() {
            "n/a".to_owned()
        } else {
            ms(median(v))
        }
    };
    println!(
        "load YAML (read + parse + build):  median {}  (min {}), CPU {}",
        ms(median(&mut load_times)),
        ms(load_times[0]),
        cpu(&mut load_cpu)
    );
    println!(
        "load JSON (read + parse + build):  median {}  (min {}), CPU {}",
        ms(median(&mut json_times)),
        ms(json_times[0]),
        cpu(&mut json_cpu)
    );
    println!(
        "who-consumes (2 queries):          median {}",
        ms(median(&mut query_times))
    );
    println!(
        "flows CustomerDataDeletionRequest: median {}  ({consumers} consumers)",
        ms(median(&mut flows_times))
    );
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&json_dir);
}
