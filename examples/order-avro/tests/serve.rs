//! `order-avro --asyncapi-serve 127.0.0.1:0`: the service binary serves the HTML page of
//! its own document, and the document, without touching a broker (its server here is a
//! Kafka address where nothing listens).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

mod child;

fn get(addr: &str, path: &str) -> (String, String) {
    let mut stream = TcpStream::connect(addr).expect("connects");
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("reads");
    let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
    (head.to_owned(), body.to_owned())
}

#[test]
fn the_binary_serves_its_own_docs_page_and_document() {
    let (mut service, rx) = child::spawn(
        &["--asyncapi-serve", "127.0.0.1:0"],
        &[("TIDINGS_SERVER_DEFAULT", "kafka://127.0.0.1:1?schema_registry=http://127.0.0.1:1")],
    );
    let line = rx.recv_timeout(Duration::from_secs(60)).unwrap_or_else(|_| {
        let _ = service.kill();
        panic!("no `serving ...` line within 60 s")
    });
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_owned();

    let (head, page) = get(&addr, "/");
    assert!(head.starts_with("HTTP/1.1 200") && head.contains("text/html"), "{head}");
    assert!(page.contains("<title>order-avro"), "{page}");
    for needle in ["orders.created", "OrderCreated", "log_order", "order_created", "priority", "application/vnd.apache.avro+binary"] {
        assert!(page.contains(needle), "the page does not name {needle}");
    }
    let (_, yaml) = get(&addr, "/asyncapi.yaml");
    let printed = Command::new(env!("CARGO_BIN_EXE_order-avro"))
        .arg("--asyncapi")
        .env("TIDINGS_SERVER_DEFAULT", "kafka://127.0.0.1:1?schema_registry=http://127.0.0.1:1")
        .output()
        .expect("runs");
    assert_eq!(yaml, String::from_utf8_lossy(&printed.stdout), "/asyncapi.yaml is what --asyncapi prints");
    let (_, json) = get(&addr, "/asyncapi.json");
    let doc: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(doc["servers"]["default"]["bindings"]["kafka"]["schemaRegistryUrl"], "http://127.0.0.1:1");
    assert!(get(&addr, "/nothing").0.starts_with("HTTP/1.1 404"));

    // SIGTERM stops it cleanly.
    child::stop(service);
}
