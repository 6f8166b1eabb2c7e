//! `tidings bundle`: external references hoisted into components, byte-stable output that
//! validates, cycles reported, files kept inside the tree, remote references only when
//! allowed (served here by a local HTTP server on 127.0.0.1).

mod common;

use std::path::Path;

use common::{corpus, temp_dir, tidings};
use serde_json::Value;

fn bundle(args: &[String]) -> (i32, String, String) {
    let mut all = vec!["bundle".to_owned()];
    all.extend(args.iter().cloned());
    let out = tidings(&all);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn p(path: &Path) -> String {
    path.display().to_string()
}

#[test]
fn the_shared_multifile_example_bundles_into_a_valid_stable_document() {
    let dir = temp_dir("bundle-multifile");
    let main = corpus().join("valid/multifile/main.yaml");
    let (out1, out2) = (dir.join("one.yaml"), dir.join("two.yaml"));
    let (code, _, err) = bundle(&[p(&main), "-o".into(), p(&out1)]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = bundle(&[p(&main), "-o".into(), p(&out2)]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&out1).unwrap_or_default();
    assert_eq!(text, std::fs::read_to_string(&out2).unwrap_or_default(), "not byte-stable");
    let doc: Value = serde_yaml_ng::from_str(&text).unwrap_or(Value::Null);
    assert_eq!(
        doc.pointer("/channels/orders.created/messages/OrderCreated/$ref"),
        Some(&Value::from("#/components/messages/OrderCreated")),
        "{text}"
    );
    assert_eq!(
        doc.pointer("/components/messages/OrderCreated/payload/required/0"),
        Some(&Value::from("order_id")),
        "{text}"
    );
    assert!(!text.contains("messages.yaml"), "an external reference is left: {text}");
    let v = tidings(&["validate".to_owned(), p(&out1)]);
    assert_eq!(v.status.code(), Some(0), "{}", String::from_utf8_lossy(&v.stdout));
    // JSON too, by extension.
    let json_out = dir.join("b.json");
    let (code, _, err) = bundle(&[p(&main), "-o".into(), p(&json_out)]);
    assert_eq!(code, 0, "{err}");
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&json_out).unwrap_or_default()).unwrap_or(Value::Null);
    assert_eq!(json, doc);
    let _ = std::fs::remove_dir_all(&dir);
}

const MAIN: &str = "asyncapi: 3.0.0
info: {title: t, version: 1.0.0}
channels:
  orders:
    address: orders
    messages:
      OrderCreated:
        $ref: 'common/messages.yaml#/OrderCreated'
      OrderShipped:
        $ref: 'common/messages.yaml#/OrderShipped'
operations:
  publish:
    action: send
    channel: {$ref: '#/channels/orders'}
components:
  schemas:
    Order: {type: string, description: the root's own Order, which must stay}
";

const MESSAGES: &str = "OrderCreated:
  payload:
    $ref: '#/Order'
OrderShipped:
  payload:
    type: object
    properties:
      order: {$ref: '#/Order'}
      address: {$ref: 'schemas/address.json'}
Order:
  type: object
  properties:
    id: {type: string}
";

#[test]
fn nested_references_are_hoisted_once_with_free_names() {
    let dir = temp_dir("bundle-nested");
    std::fs::create_dir_all(dir.join("common/schemas")).unwrap_or_default();
    std::fs::write(dir.join("main.yaml"), MAIN).unwrap_or_default();
    std::fs::write(dir.join("common/messages.yaml"), MESSAGES).unwrap_or_default();
    std::fs::write(dir.join("common/schemas/address.json"), r#"{"type": "object", "properties": {"city": {"type": "string"}}}"#).unwrap_or_default();
    let (code, out, err) = bundle(&[p(&dir.join("main.yaml"))]);
    assert_eq!(code, 0, "{err}");
    let doc: Value = serde_yaml_ng::from_str(&out).unwrap_or(Value::Null);
    // The external Order does not overwrite the root's own.
    assert_eq!(doc.pointer("/components/schemas/Order/type"), Some(&Value::from("string")), "{out}");
    assert_eq!(doc.pointer("/components/schemas/Order_2/properties/id/type"), Some(&Value::from("string")), "{out}");
    // Both messages use the one hoisted Order_2.
    assert_eq!(doc.pointer("/components/messages/OrderCreated/payload/$ref"), Some(&Value::from("#/components/schemas/Order_2")), "{out}");
    assert_eq!(doc.pointer("/components/messages/OrderShipped/payload/properties/order/$ref"), Some(&Value::from("#/components/schemas/Order_2")), "{out}");
    assert_eq!(doc.pointer("/components/schemas/address/properties/city/type"), Some(&Value::from("string")), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn cycles_are_reported_and_kept_as_local_references() {
    let dir = temp_dir("bundle-cycle");
    std::fs::write(dir.join("main.yaml"), "asyncapi: 3.0.0\ninfo: {title: t, version: '1'}\ncomponents:\n  messages:\n    Tree:\n      payload: {$ref: 'node.yaml#/Node'}\n").unwrap_or_default();
    std::fs::write(dir.join("node.yaml"), "Node:\n  type: object\n  properties:\n    children:\n      type: array\n      items: {$ref: '#/Node'}\n").unwrap_or_default();
    let (code, out, err) = bundle(&[p(&dir.join("main.yaml"))]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("reference cycle") && err.contains("node.yaml#/Node"), "{err}");
    let doc: Value = serde_yaml_ng::from_str(&out).unwrap_or(Value::Null);
    assert_eq!(doc.pointer("/components/schemas/Node/properties/children/items/$ref"), Some(&Value::from("#/components/schemas/Node")), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn files_outside_the_tree_and_missing_targets_fail_with_a_position() {
    let (code, _, err) = bundle(&[p(&corpus().join("invalid/ref-outside-tree.yaml"))]);
    assert_eq!(code, 1);
    assert!(err.contains("ref-outside-tree.yaml:15:9") && err.contains("outside the document's directory tree"), "{err}");
    let (code, _, err) = bundle(&[p(&corpus().join("invalid/missing-file-ref.yaml"))]);
    assert_eq!(code, 1);
    assert!(err.contains("no-such-file.yaml"), "{err}");
    let (code, _, err) = bundle(&[p(&corpus().join("unusable/syntax-error.yaml"))]);
    assert_eq!(code, 2, "{err}");
}

/// Serves `body` for every request on 127.0.0.1 (bounded: at most `requests` requests).
fn serve(body: &'static str, requests: usize) -> (String, std::thread::JoinHandle<()>) {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap_or_else(|e| panic!("binding: {e}"));
    let port = server.server_addr().to_ip().map(|a| a.port()).unwrap_or(0);
    let handle = std::thread::spawn(move || {
        for _ in 0..requests {
            match server.recv_timeout(std::time::Duration::from_secs(20)) {
                Ok(Some(req)) => {
                    let _ = req.respond(tiny_http::Response::from_string(body));
                }
                _ => break,
            }
        }
    });
    (format!("http://127.0.0.1:{port}"), handle)
}

#[test]
fn remote_references_need_permission() {
    let (base, handle) = serve(r#"{"type": "record", "name": "Order", "fields": [{"name": "id", "type": "string"}]}"#, 1);
    let dir = temp_dir("bundle-remote");
    let doc = format!(
        "asyncapi: 3.0.0\ninfo: {{title: t, version: '1'}}\ncomponents:\n  messages:\n    Order:\n      payload:\n        schemaFormat: application/vnd.apache.avro+json;version=1.9.0\n        schema: {{$ref: '{base}/subjects/orders-value/versions/latest/schema'}}\n"
    );
    std::fs::write(dir.join("main.yaml"), doc).unwrap_or_default();
    let main = p(&dir.join("main.yaml"));
    let (code, _, err) = bundle(std::slice::from_ref(&main));
    assert_eq!(code, 1);
    assert!(err.contains("--allow-remote") && err.contains("--allow-host 127.0.0.1"), "{err}");
    let (code, _, err) = bundle(&[main.clone(), "--allow-host".into(), "example.invalid".into()]);
    assert_eq!(code, 1, "{err}");
    let (code, out, err) = bundle(&[main, "--allow-host".into(), "127.0.0.1".into()]);
    assert_eq!(code, 0, "{err}");
    let bundled: Value = serde_yaml_ng::from_str(&out).unwrap_or(Value::Null);
    // An Avro schema is put where the reference was: under components/schemas it
    // would be read as a JSON Schema.
    assert_eq!(bundled.pointer("/components/messages/Order/payload/schema/name"), Some(&Value::from("Order")), "{out}");
    assert_eq!(
        bundled.pointer("/components/messages/Order/payload/schemaFormat"),
        Some(&Value::from("application/vnd.apache.avro+json;version=1.9.0")),
        "{out}"
    );
    assert_eq!(bundled.pointer("/components/schemas"), None, "nothing hoisted: {out}");
    let _ = handle.join();
    let _ = std::fs::remove_dir_all(&dir);
}
