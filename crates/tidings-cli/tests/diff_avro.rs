//! `tidings diff` on Avro payloads: the Schema Registry levels (BACKWARD, FORWARD, FULL,
//! NONE, `_TRANSITIVE`) over real `.avsc` pairs in `tests/cli/avro/`, one per rule.

mod common;

use std::path::{Path, PathBuf};

use common::{corpus, temp_dir, tidings};
use serde_json::{json, Value};

/// An application receiving `Payment` (the `.avsc` as its payload) on `payments`.
fn document(avsc: &Path) -> Value {
    let text = std::fs::read_to_string(avsc).unwrap_or_else(|e| panic!("{}: {e}", avsc.display()));
    let schema: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", avsc.display()));
    json!({
        "asyncapi": "3.0.0",
        "info": {"title": "payments", "version": "1.0.0"},
        "channels": {
            "payments": {
                "address": "payments",
                "messages": {"Payment": {"$ref": "#/components/messages/Payment"}}
            }
        },
        "operations": {
            "onPayment": {"action": "receive", "channel": {"$ref": "#/channels/payments"}}
        },
        "components": {
            "messages": {
                "Payment": {
                    "contentType": "application/vnd.apache.avro+binary",
                    "payload": {"schemaFormat": "application/vnd.apache.avro;version=1.9.0", "schema": schema}
                }
            }
        }
    })
}

struct Run {
    code: i32,
    json: Value,
}

/// Diffs `<case>.old.avsc` -> `<case>.new.avsc` at `level`.
fn diff(case: &str, level: &str) -> Run {
    let dir = temp_dir(&format!("avro-{case}-{level}"));
    let avro = corpus().join("avro");
    let write = |name: &str, doc: &Value| -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, serde_json::to_string_pretty(doc).unwrap_or_default()).unwrap_or_else(|e| panic!("{e}"));
        path
    };
    let old = write("old.json", &document(&avro.join(format!("{case}.old.avsc"))));
    let new = write("new.json", &document(&avro.join(format!("{case}.new.avsc"))));
    let (old, new) = (old.display().to_string(), new.display().to_string());
    let out = tidings(&[
        "diff",
        old.as_str(),
        new.as_str(),
        "--format",
        "json",
        "--avro-compatibility",
        level,
    ]);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{case} at {level}: no JSON ({e}): {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    });
    let _ = std::fs::remove_dir_all(&dir);
    Run { code: out.status.code().unwrap_or(-1), json }
}

/// (kind, breaking, avro rule) of every change.
fn changes(run: &Run) -> Vec<(String, bool, Option<String>)> {
    run.json["changes"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|c| {
                    (
                        c["kind"].as_str().unwrap_or("").to_owned(),
                        c["breaking"].as_bool().unwrap_or(false),
                        c["avro_rule"].as_str().map(str::to_owned),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

const SCHEMA: &str = "/channels/payments/messages/Payment/payload/schema";

/// Each case: the change it makes, the direction that breaks (if any), and the pointer
/// (relative to the payload schema) the finding names.
#[test]
fn every_rule_is_classified_at_every_level() {
    // (case, kind, failing direction: Some("BACKWARD") / Some("FORWARD") / None, pointer)
    let cases: [(&str, &str, Option<&str>, &str); 11] = [
        ("field-added-with-default", "field-added", None, "/fields/1"),
        ("field-added-without-default", "required-field-added", Some("BACKWARD"), "/fields/1"),
        ("field-removed", "field-removed", Some("FORWARD"), "/fields/1"),
        ("field-removed-with-default", "field-removed", None, "/fields/1"),
        ("type-promoted-int-to-long", "type-widened", Some("FORWARD"), "/fields/1"),
        ("type-demoted-long-to-int", "type-narrowed", Some("BACKWARD"), "/fields/1"),
        ("enum-symbol-removed", "enum-symbol-removed", Some("BACKWARD"), "/fields/1"),
        ("enum-symbol-added", "enum-symbol-added", Some("FORWARD"), "/fields/1"),
        ("union-widened", "union-widened", Some("FORWARD"), "/fields/1"),
        ("union-narrowed", "union-narrowed", Some("BACKWARD"), "/fields/1"),
        ("nested-type-narrowed", "type-narrowed", Some("BACKWARD"), "/fields/1/type/items/fields/1"),
    ];
    for (case, kind, failing, pointer) in cases {
        for level in ["BACKWARD", "FORWARD", "FULL", "NONE", "BACKWARD_TRANSITIVE", "forward-transitive", "FULL_TRANSITIVE"] {
            let run = diff(case, level);
            let upper = level.to_ascii_uppercase().replace('-', "_");
            let checks = |direction: &str| match upper.as_str() {
                "NONE" => false,
                l if l.starts_with("FULL") => true,
                l => l.starts_with(direction),
            };
            let breaking = failing.is_some_and(checks);
            let found = changes(&run);
            assert_eq!(
                found,
                [(kind.to_owned(), breaking, failing.map(str::to_owned))],
                "{case} at {level}: {:#}",
                run.json
            );
            assert_eq!(run.code, i32::from(breaking), "{case} at {level}: exit code");
            let change = &run.json["changes"][0];
            assert_eq!(change["pointer"], format!("{SCHEMA}{pointer}"), "{case}");
            assert_eq!(run.json["avroCompatibility"], upper.as_str());
            if let Some(direction) = failing {
                let description = change["description"].as_str().unwrap_or("");
                assert!(description.starts_with(&format!("Avro {direction}: ")), "{case}: {description}");
                assert!(description.contains("Payment."), "{case}: names where: {description}");
                assert_eq!(description.contains("not checked at"), !breaking, "{case} at {level}: {description}");
            }
        }
    }
}

#[test]
fn who_breaks_follows_the_direction() {
    // The application receives Payment: a BACKWARD failure (it cannot read old data)
    // breaks its producers; a FORWARD one, at FULL, breaks the readers of the old schema.
    let run = diff("field-added-without-default", "FULL");
    assert_eq!(run.json["changes"][0]["breaks"], json!(["producers"]));
    let run = diff("field-removed", "FULL");
    assert_eq!(run.json["changes"][0]["breaks"], json!(["consumers"]));
    let description = run.json["changes"][0]["description"].as_str().unwrap_or("");
    assert_eq!(
        description,
        "Avro FORWARD: the old schema cannot read data written with the new one: Payment.customer: the reader's field `customer` has no default and the writer's record Payment has no such field"
    );
}

#[test]
fn text_output_names_the_rule_and_a_bad_level_is_unusable_input() {
    let dir = temp_dir("avro-text");
    let avro = corpus().join("avro");
    let old = dir.join("old.json");
    let new = dir.join("new.json");
    for (path, case) in [(&old, "union-narrowed.old.avsc"), (&new, "union-narrowed.new.avsc")] {
        std::fs::write(path, document(&avro.join(case)).to_string()).unwrap_or_else(|e| panic!("{e}"));
    }
    let (o, n) = (old.display().to_string(), new.display().to_string());
    let out = tidings(&["diff", o.as_str(), n.as_str()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("BREAKING for producers: Avro BACKWARD: the new schema cannot read data written with the old one: Payment.ref<long>: the writer's long matches no branch of the reader's union [null, string] [union-narrowed]"),
        "{text}"
    );
    let out = tidings(&["diff", o.as_str(), n.as_str(), "--avro-compatibility", "SIDEWAYS"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("BACKWARD_TRANSITIVE"), "lists the levels");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_invalid_avro_schema_is_reported_not_a_panic() {
    let dir = temp_dir("avro-invalid");
    let avro = corpus().join("avro");
    let old = document(&avro.join("field-removed.old.avsc"));
    let mut new = old.clone();
    new["components"]["messages"]["Payment"]["payload"]["schema"]["fields"][0]["type"] = json!("no-such-type");
    let (o, n) = (dir.join("old.json"), dir.join("new.json"));
    std::fs::write(&o, old.to_string()).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&n, new.to_string()).unwrap_or_else(|e| panic!("{e}"));
    let (o, n) = (o.display().to_string(), n.display().to_string());
    let out = tidings(&["diff", o.as_str(), n.as_str(), "--format", "json"]);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    assert_eq!(out.status.code(), Some(1), "{json:#}");
    assert_eq!(json["changes"][0]["kind"], "avro-schema-invalid", "{json:#}");
    let _ = std::fs::remove_dir_all(&dir);
}
