//! `tidings diff`: payload changes classified per side, structural changes, output formats,
//! exit codes and the version-bump policy; plus the shared `examples/diff` fixtures.

mod common;

use std::path::PathBuf;

use common::{corpus, temp_dir, tidings};
use serde_json::{json, Value};

/// An application that sends `OrderCreated` on `orders.created` and receives `PaymentMade`
/// on `payments.made`.
fn base() -> Value {
    json!({
        "asyncapi": "3.0.0",
        "info": {"title": "orders", "version": "1.0.0"},
        "servers": {"main": {"host": "broker:9092", "protocol": "kafka"}},
        "channels": {
            "orders.created": {
                "address": "orders.created",
                "messages": {"OrderCreated": {"$ref": "#/components/messages/OrderCreated"}}
            },
            "payments.made": {
                "address": "payments.made",
                "messages": {"PaymentMade": {"$ref": "#/components/messages/PaymentMade"}}
            }
        },
        "operations": {
            "publishOrder": {"action": "send", "channel": {"$ref": "#/channels/orders.created"}},
            "onPayment": {"action": "receive", "channel": {"$ref": "#/channels/payments.made"}}
        },
        "components": {
            "messages": {
                "OrderCreated": {
                    "x-eventcatalog-message-version": "1.0.0",
                    "payload": {"$ref": "#/components/schemas/Order"}
                },
                "PaymentMade": {
                    "payload": {
                        "type": "object",
                        "required": ["order_id"],
                        "properties": {
                            "order_id": {"type": "string"},
                            "method": {"type": "string", "enum": ["card", "cash"]},
                            "amount": {"type": ["integer", "null"], "default": 0}
                        }
                    }
                }
            },
            "schemas": {
                "Order": {
                    "type": "object",
                    "required": ["order_id", "total"],
                    "properties": {
                        "order_id": {"type": "string"},
                        "total": {"type": "integer"},
                        "note": {"type": "string"},
                        "status": {"type": "string", "enum": ["new", "paid"]}
                    }
                }
            }
        }
    })
}

struct Run {
    code: i32,
    json: Value,
}

fn write(dir: &std::path::Path, name: &str, doc: &Value) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_string_pretty(doc).unwrap_or_default())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    path
}

fn diff_with(test: &str, change: impl FnOnce(&mut Value), extra: &[&str]) -> Run {
    let dir = temp_dir(test);
    let old = write(&dir, "old.json", &base());
    let mut doc = base();
    change(&mut doc);
    let new = write(&dir, "new.json", &doc);
    let mut args = vec!["diff".to_owned(), old.display().to_string(), new.display().to_string(), "--format".into(), "json".into()];
    args.extend(extra.iter().map(|s| s.to_string()));
    let out = tidings(&args);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("no JSON ({e}): {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    });
    let _ = std::fs::remove_dir_all(&dir);
    Run { code: out.status.code().unwrap_or(-1), json }
}

fn change<'a>(run: &'a Run, kind: &str) -> &'a Value {
    run.json["changes"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["kind"] == kind))
        .unwrap_or_else(|| panic!("no `{kind}` change in {:#}", run.json))
}

fn breaks(c: &Value) -> Vec<String> {
    c["breaks"].as_array().map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect()).unwrap_or_default()
}

#[test]
fn identical_documents_have_no_changes() {
    let run = diff_with("same", |_| {}, &[]);
    assert_eq!(run.code, 0);
    assert_eq!(run.json["changes"], json!([]));
}

#[test]
fn a_sender_breaks_its_consumers_when_it_stops_sending_a_required_field() {
    let run = diff_with("send-remove", |d| {
        let order = &mut d["components"]["schemas"]["Order"];
        order["properties"].as_object_mut().map(|p| p.remove("total"));
        order["required"] = json!(["order_id"]);
    }, &[]);
    assert_eq!(run.code, 1);
    let c = change(&run, "required-field-removed");
    assert_eq!(breaks(c), ["consumers"], "{c:#}");
    assert_eq!(c["message"], "OrderCreated");
}

#[test]
fn a_required_field_added_on_the_send_side_breaks_nobody() {
    let run = diff_with("send-add-required", |d| {
        let order = &mut d["components"]["schemas"]["Order"];
        order["properties"]["currency"] = json!({"type": "string"});
        order["required"] = json!(["order_id", "total", "currency"]);
    }, &[]);
    assert_eq!(run.code, 0, "{:#}", run.json);
    assert_eq!(change(&run, "required-field-added")["breaking"], false);
}

#[test]
fn a_receiver_breaks_its_producers_when_it_requires_more() {
    let run = diff_with("receive-add-required", |d| {
        let p = &mut d["components"]["messages"]["PaymentMade"]["payload"];
        p["required"] = json!(["order_id", "method"]);
    }, &[]);
    assert_eq!(run.code, 1);
    assert_eq!(breaks(change(&run, "required-field-added")), ["producers"]);
}

#[test]
fn a_field_removed_on_the_receive_side_breaks_nobody() {
    let run = diff_with("receive-remove", |d| {
        let p = &mut d["components"]["messages"]["PaymentMade"]["payload"];
        p["properties"].as_object_mut().map(|p| p.remove("method"));
    }, &[]);
    assert_eq!(run.code, 0, "{:#}", run.json);
    assert_eq!(change(&run, "field-removed")["breaking"], false);
}

#[test]
fn narrowing_on_the_receive_side_breaks_producers() {
    let run = diff_with("receive-narrow", |d| {
        let p = &mut d["components"]["messages"]["PaymentMade"]["payload"];
        p["properties"]["amount"]["type"] = json!("integer");
        p["properties"]["method"]["enum"] = json!(["card"]);
        p["additionalProperties"] = json!(false);
    }, &[]);
    assert_eq!(run.code, 1);
    for kind in ["type-narrowed", "enum-value-removed", "additional-properties-tightened"] {
        assert_eq!(breaks(change(&run, kind)), ["producers"], "{kind}");
    }
}

#[test]
fn loosening_on_the_send_side_breaks_consumers() {
    let run = diff_with("send-loosen", |d| {
        let order = &mut d["components"]["schemas"]["Order"];
        order["properties"]["total"]["type"] = json!(["integer", "string"]);
        order["properties"]["status"]["enum"] = json!(["new", "paid", "refunded"]);
    }, &[]);
    assert_eq!(run.code, 1);
    assert_eq!(breaks(change(&run, "type-widened")), ["consumers"]);
    assert_eq!(breaks(change(&run, "enum-value-added")), ["consumers"]);
}

#[test]
fn defaults_added_and_dropped() {
    let run = diff_with("defaults", |d| {
        let p = &mut d["components"]["messages"]["PaymentMade"]["payload"]["properties"];
        p["amount"].as_object_mut().map(|a| a.remove("default"));
        p["method"]["default"] = json!("card");
    }, &[]);
    assert_eq!(change(&run, "default-added")["breaking"], false);
    // PaymentMade is received: a dropped default changes what the application assumes,
    // not what its producers must send.
    assert_eq!(change(&run, "default-removed")["breaking"], false);
    let run = diff_with("defaults-send", |d| {
        d["components"]["schemas"]["Order"]["properties"]["note"]["default"] = json!("");
    }, &[]);
    assert_eq!(change(&run, "default-added")["breaking"], false);
}

#[test]
fn structural_changes() {
    let run = diff_with("structure", |d| {
        d["channels"]["orders.created"]["address"] = json!("orders.v2.created");
        d["servers"].as_object_mut().map(|s| s.remove("main"));
        d["operations"].as_object_mut().map(|o| o.remove("onPayment"));
        d["channels"]["refunds"] = json!({"address": "refunds"});
    }, &[]);
    assert_eq!(run.code, 1);
    assert_eq!(breaks(change(&run, "channel-address-changed")), ["producers", "consumers"]);
    assert_eq!(change(&run, "server-removed")["breaking"], true);
    assert_eq!(breaks(change(&run, "operation-removed")), ["producers"]);
    assert_eq!(change(&run, "channel-added")["breaking"], false);
}

#[test]
fn allow_breaking_exits_0_but_still_reports() {
    let run = diff_with("allow", |d| {
        d["channels"]["orders.created"]["address"] = json!("x");
    }, &["--allow-breaking"]);
    assert_eq!(run.code, 0);
    assert_eq!(run.json["breaking"], 1);
}

#[test]
fn a_version_bump_allows_breaking_changes_of_that_message_only_under_the_policy() {
    let mutate = |d: &mut Value| {
        d["components"]["messages"]["OrderCreated"]["x-eventcatalog-message-version"] = json!("2.0.0");
        d["components"]["schemas"]["Order"]["properties"].as_object_mut().map(|p| p.remove("note"));
    };
    let run = diff_with("bump", mutate, &[]);
    assert_eq!(run.code, 1, "without the policy a bump changes nothing: {:#}", run.json);
    let run = diff_with("bump-policy", mutate, &["--version-bump-allows"]);
    assert_eq!(run.code, 0, "{:#}", run.json);
    let c = change(&run, "field-removed");
    assert_eq!(c["breaking"], true);
    assert_eq!(c["allowed_by_version_bump"], true);
    assert!(change(&run, "message-version-changed")["description"].as_str().unwrap_or("").contains("2.0.0"));
    // A breaking change elsewhere still fails.
    let run = diff_with("bump-policy-other", |d| {
        mutate(d);
        d["components"]["messages"]["PaymentMade"]["payload"]["required"] = json!(["order_id", "method"]);
    }, &["--version-bump-allows"]);
    assert_eq!(run.code, 1, "{:#}", run.json);
}

#[test]
fn avro_fields_without_default_break_readers() {
    let avro = |fields: Value| json!({
        "schemaFormat": "application/vnd.apache.avro+json;version=1.9.0",
        "schema": {"type": "record", "name": "PaymentMade", "fields": fields}
    });
    let dir = temp_dir("avro");
    let mut old = base();
    old["components"]["messages"]["PaymentMade"]["payload"] = avro(json!([{"name": "order_id", "type": "string"}]));
    let mut new = old.clone();
    new["components"]["messages"]["PaymentMade"]["payload"] = avro(json!([
        {"name": "order_id", "type": "string"},
        {"name": "amount", "type": "long"},
        {"name": "note", "type": ["null", "string"], "default": null}
    ]));
    let (o, n) = (write(&dir, "old.json", &old), write(&dir, "new.json", &new));
    let out = tidings(&["diff".to_owned(), o.display().to_string(), n.display().to_string(), "--format".into(), "json".into()]);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    let run = Run { code: out.status.code().unwrap_or(-1), json };
    assert_eq!(run.code, 1, "{:#}", run.json);
    assert_eq!(breaks(change(&run, "required-field-added")), ["producers"]);
    assert_eq!(change(&run, "field-added")["breaking"], false);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn text_and_markdown_output() {
    let dir = corpus().join("diff");
    let valid = corpus().join("valid/a-producer.yaml");
    let out = tidings(&["diff".to_owned(), valid.display().to_string(), dir.join("d1-remove-required-field.yaml").display().to_string()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("BREAKING for consumers: required field \"order_id\" was removed"), "{text}");
    assert!(text.contains("a-producer.yaml:"), "located in the old file: {text}");
    let out = tidings(&["diff".to_owned(), valid.display().to_string(), dir.join("d4-combined.yaml").display().to_string(), "--format".into(), "markdown".into()]);
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(md.contains("| ❌ BREAKING for consumers | `channel-removed` |"), "{md}");
    assert!(md.contains("| ✅ non-breaking | `field-added` |"), "{md}");
}

/// The shared fixtures, where `@asyncapi/diff` says "unclassified" for payload changes:
/// d1 (a required field removed) breaks, d2 (an optional field added) does not, d3 (a
/// channel removed) breaks.
#[test]
fn shared_fixtures_are_classified() {
    let dir = corpus().join("diff");
    let valid = corpus().join("valid/a-producer.yaml");
    let run = |old: &PathBuf, new: &str| {
        tidings(&["diff".to_owned(), old.display().to_string(), dir.join(new).display().to_string()]).status.code()
    };
    assert_eq!(run(&valid, "d1-remove-required-field.yaml"), Some(1));
    assert_eq!(run(&valid, "d2-add-optional-field.yaml"), Some(0));
    assert_eq!(run(&dir.join("d3-base-two-channels.yaml"), "d3-remove-channel.yaml"), Some(1));
}

#[test]
fn unusable_input_exits_2() {
    let bad = corpus().join("unusable/syntax-error.yaml");
    let valid = corpus().join("valid/a-producer.yaml");
    let out = tidings(&["diff".to_owned(), valid.display().to_string(), bad.display().to_string()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("syntax-error.yaml:"));
}

/// An operation's channel is the one its `$ref` names, even when another channel has the
/// same contents (matched by value, the move between the two was invisible).
#[test]
fn an_operation_moved_to_an_identical_channel_is_a_change() {
    let run = diff_with("identical-channel", |d| {
        d["channels"]["orders/copy"] = d["channels"]["orders.created"].clone();
        d["operations"]["publishOrder"]["channel"] = json!({"$ref": "#/channels/orders~1copy"});
    }, &[]);
    let moved = change(&run, "operation-channel-changed");
    assert_eq!(moved["description"], "operation \"publishOrder\" moved from channel \"orders.created\" to \"orders/copy\"", "{moved:#}");
}

/// An operation whose channel is written out instead of referenced is still matched to
/// the channel equal to it.
#[test]
fn an_operation_with_its_channel_written_out_is_matched_by_value() {
    let run = diff_with("channel-by-value", |d| {
        let channel = d["channels"]["orders.created"].clone();
        d["operations"]["publishOrder"]["channel"] = channel;
    }, &[]);
    let kinds: Vec<&str> = run.json["changes"].as_array().into_iter().flatten().filter_map(|c| c["kind"].as_str()).collect();
    assert!(!kinds.contains(&"operation-channel-changed"), "{:#}", run.json);
    assert_eq!(run.code, 0, "{:#}", run.json);
}
