//! Hostile input never panics: every combination of odd strings and malformed schemas
//! gives either a document or a `SpecError`.

use serde_json::{json, Value};
use tidings_asyncapi::{
    emit, mask_url, server_for_url, Action, BridgeDescription, ChannelDescription, KeyDescription, MessageDescription,
    MessageKind, OperationDescription, ReplyDescription, ServerDescription, ServiceDescription,
};

const STRINGS: &[&str] = &[
    "",
    " ",
    "a",
    "{",
    "}",
    "{}",
    "{{a}}",
    "a.{b}.c",
    "ä/ö~ü",
    "🦀{🦀}",
    "%",
    "%zz",
    "#",
    "@",
    "@@@",
    "://",
    "kafka://",
    "kafka://@",
    "kafka://u:p@h:1?#@",
    "kafka://[::1",
    "kafka://h:99999999999",
    "memory://x",
    "nats://,,",
    "amqp://h:5672/%2f",
    "sqs://\u{0}",
    "x\u{7f}y",
    "ws://h/\u{2028}",
];

fn schemas() -> Vec<Value> {
    vec![
        Value::Null,
        json!(false),
        json!(3),
        json!("schema"),
        json!({"$ref": 5}),
        json!({"$ref": "#"}),
        json!({"$ref": "#/"}),
        json!({"$ref": "#/definitions"}),
        json!({"$ref": "#/definitions/"}),
        json!({"$ref": "#/%F0%9F"}),
        json!({"definitions": 3}),
        json!({"$defs": {"A": {"$ref": "#/$defs/A"}}, "$ref": "#/$defs/A"}),
        json!({"properties": [1], "items": "x", "allOf": {}, "anyOf": [null, 1, {"$ref": "#/definitions/X"}]}),
        json!({"prefixItems": 3, "dependentRequired": [], "dependentSchemas": {"a": true}}),
        json!({"title": "🦀 {x}", "properties": {"me": {"$ref": "#/properties/me"}}}),
        json!({"title": 7, "definitions": {"T": {}}, "properties": {"x": {"$ref": "#"}}}),
    ]
}

#[test]
fn urls_never_panic() {
    for a in STRINGS {
        for b in STRINGS {
            let url = format!("{a}{b}");
            let _ = mask_url(&url);
            let _ = server_for_url(a, &url);
        }
    }
}

#[test]
fn descriptions_never_panic() {
    let schemas = schemas();
    let mut documents = 0;
    for (i, text) in STRINGS.iter().enumerate() {
        let other = STRINGS[(i * 7 + 3) % STRINGS.len()];
        for (j, schema) in schemas.iter().enumerate() {
            let message = MessageDescription {
                name: if j % 2 == 0 { "M".into() } else { text.to_string() },
                title: Some(text.to_string()),
                description: Some(format!("{text}\n{other}")),
                version: Some(other.into()),
                kind: MessageKind::Query,
                content_type: text.to_string(),
                payload: schema.clone(),
                headers: Some(schemas[(j + 5) % schemas.len()].clone()),
                rust_type: other.into(),
            };
            let desc = ServiceDescription {
                title: text.to_string(),
                version: other.into(),
                description: Some(text.to_string()),
                servers: vec![
                    ServerDescription { name: text.to_string(), url: other.into() },
                    ServerDescription { name: "k".into(), url: "kafka://k:9092".into() },
                ],
                channels: vec![ChannelDescription {
                    address: other.into(),
                    description: Some(text.to_string()),
                    server: Some(text.to_string()),
                    parameters: [(text.to_string(), other.to_string())].into(),
                    bridges: vec![BridgeDescription::to(text.to_string()).convert(other)],
                    bindings: [("kafka".to_string(), json!({"partitions": text, "topic": other}))].into(),
                }],
                messages: vec![message.clone(), MessageDescription { name: "M".into(), ..message }],
                operations: vec![
                    OperationDescription {
                        id: text.to_string(),
                        action: Action::Receive,
                        channel: text.to_string(),
                        message: "M".into(),
                        summary: None,
                        description: Some(other.into()),
                        group: Some(text.repeat(300)),
                        reply: Some(ReplyDescription { channel: other.into(), message: text.to_string() }),
                        key: Some(KeyDescription::Field(text.to_string())),
                        source: other.into(),
                    },
                    OperationDescription {
                        id: "send".into(),
                        action: Action::Send,
                        channel: "plain".into(),
                        message: "M".into(),
                        summary: Some(text.to_string()),
                        description: None,
                        group: None,
                        reply: None,
                        key: Some(KeyDescription::Extractor(other.into())),
                        source: text.to_string(),
                    },
                ],
            };
            // Odd text in free-text fields only: these must give documents.
            let benign = ServiceDescription {
                title: text.to_string(),
                version: other.into(),
                description: Some(other.into()),
                servers: vec![ServerDescription { name: "k".into(), url: "kafka://k:9092".into() }],
                channels: Vec::new(),
                messages: vec![MessageDescription {
                    name: "M".into(),
                    rust_type: "m::M".into(),
                    payload: json!({"type": "object", "description": text, "title": other}),
                    headers: None,
                    ..desc.messages[0].clone()
                }],
                operations: vec![OperationDescription {
                    reply: None,
                    group: Some(other.into()).filter(|g: &String| !g.is_empty()),
                    ..desc.operations[0].clone()
                }],
            };
            let benign = ServiceDescription {
                operations: vec![OperationDescription {
                    id: "op".into(),
                    channel: "plain".into(),
                    ..benign.operations[0].clone()
                }],
                ..benign
            };
            match emit(&benign) {
                Ok(doc) => {
                    let yaml = doc.to_yaml();
                    let back = tidings_asyncapi::Document::from_yaml(&yaml).expect("YAML reads back");
                    assert_eq!(back, doc, "{yaml}");
                    documents += 1;
                }
                Err(error) => panic!("{text:?} / {other:?}: {error}"),
            }
            match emit(&desc) {
                Ok(doc) => {
                    documents += 1;
                    let _ = doc.to_yaml();
                    let _ = doc.to_json();
                }
                Err(error) => assert!(!error.problems.is_empty(), "an error lists its problems"),
            }
        }
    }
    // The loop is not vacuous: some combinations are valid documents.
    assert!(documents > 0);
}
