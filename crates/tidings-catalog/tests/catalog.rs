//! The catalog over the `shop` fixtures: five services of mixed origin (YAML and JSON,
//! Kafka, Kafka over TLS, SQS, NATS), a bridge declared in a document, one in the config
//! file, and three files that are not usable documents.

use std::path::{Path, PathBuf};

use tidings_catalog::load::{load, LoadError, LoadOptions};
use tidings_catalog::model::{Catalog, ChannelKey, Level, SourceDocument};
use tidings_catalog::query::{OrphanKind, Severity};
use tidings_catalog::CatalogConfig;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
}

fn shop() -> Catalog {
    let options = LoadOptions {
        config: Some(fixtures().join("shop.toml")),
        ..LoadOptions::default()
    };
    load(&[fixtures().join("shop")], &options).expect("the shop loads")
}

fn key(text: &str) -> ChannelKey {
    ChannelKey::parse(text).unwrap()
}

#[test]
fn bad_documents_are_reported_with_their_file_and_skipped() {
    let catalog = shop();
    let names: Vec<&str> = catalog.services.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "analytics",
            "billing",
            "customer-privacy",
            "fulfilment",
            "orders"
        ]
    );
    let about = |file: &str| {
        catalog
            .diagnostics
            .iter()
            .find(|d| d.file.as_deref().is_some_and(|f| f.ends_with(file)))
            .unwrap_or_else(|| panic!("no diagnostic for {file}: {:?}", catalog.diagnostics))
    };
    assert_eq!(about("broken.yaml").level, Level::Error);
    assert!(
        about("broken.yaml")
            .message
            .contains("not a valid AsyncAPI document"),
        "{}",
        about("broken.yaml")
    );
    assert_eq!(about("legacy.yaml").level, Level::Error);
    assert!(about("legacy.yaml")
        .message
        .contains("AsyncAPI 2.6.0 is not supported"));
    // A YAML file that is not AsyncAPI at all, inside a folder: only a note.
    assert_eq!(about("notes.yaml").level, Level::Note);
    assert_eq!(catalog.diagnostics.len(), 3, "{:?}", catalog.diagnostics);
}

#[test]
fn strict_refuses_the_folder_naming_every_bad_file() {
    let options = LoadOptions {
        strict: true,
        ..LoadOptions::default()
    };
    let error = load(&[fixtures().join("shop")], &options).unwrap_err();
    let LoadError::Strict(problems) = &error else {
        panic!("expected a strict failure, got {error}");
    };
    assert_eq!(problems.len(), 2, "{problems:?}");
    let text = error.to_string();
    assert!(
        text.contains("broken.yaml") && text.contains("legacy.yaml"),
        "{text}"
    );
    // The good documents alone pass strict.
    let good: Vec<PathBuf> = ["orders.yaml", "fulfilment.yaml", "billing.json"]
        .iter()
        .map(|f| fixtures().join("shop").join(f))
        .collect();
    assert_eq!(load(&good, &options).unwrap().services.len(), 3);
    // A file named explicitly that is not AsyncAPI is an error, not a note.
    let explicit = load(&[fixtures().join("shop/extra/notes.yaml")], &options).unwrap_err();
    assert!(
        explicit.to_string().contains("no `asyncapi` field"),
        "{explicit}"
    );
}

#[test]
fn who_consumes_joins_by_message_name_across_brokers() {
    let catalog = shop();
    let consumers = catalog.who_consumes("CustomerDataDeletionRequest");
    let seen: Vec<(&str, String, Option<&str>)> = consumers
        .iter()
        .map(|p| {
            (
                p.service.as_str(),
                p.channel.to_string(),
                p.group.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                "analytics",
                "nats:privacy.deletions".to_owned(),
                Some("analytics")
            ),
            (
                "billing",
                "kafka:privacy.deletion-requests".to_owned(),
                Some("billing")
            ),
        ]
    );
    let producers = catalog.who_produces("CustomerDataDeletionRequest");
    assert_eq!(producers.len(), 1);
    assert_eq!(producers[0].service, "customer-privacy");
    // kafka-secure is the Kafka family: analytics reads the topic orders writes.
    let order_consumers: Vec<String> = catalog
        .who_consumes("OrderCreated")
        .into_iter()
        .map(|p| p.channel.to_string())
        .collect();
    assert_eq!(
        order_consumers,
        ["kafka:orders.created", "sqs:order-events"]
    );
    assert!(!catalog.knows_message("NoSuchMessage"));
    assert_eq!(
        catalog.similar_names("ordercreated", catalog.message_names()),
        ["OrderCreated"]
    );
}

#[test]
fn flows_cross_bridges_from_documents_and_from_the_config() {
    let catalog = shop();
    let flows = catalog.flows("OrderCreated");
    let paths: Vec<(String, Vec<String>, String)> = flows
        .iter()
        .map(|f| {
            (
                f.producer.clone(),
                f.channels.iter().map(ToString::to_string).collect(),
                f.consumer.clone(),
            )
        })
        .collect();
    assert_eq!(
        paths,
        [
            (
                "orders".to_owned(),
                vec!["kafka:orders.created".to_owned()],
                "analytics".to_owned()
            ),
            (
                "orders".to_owned(),
                vec![
                    "kafka:orders.created".to_owned(),
                    "sqs:order-events".to_owned()
                ],
                "fulfilment".to_owned()
            ),
        ]
    );
    // The document's x-tidings-bridge carries its conversion.
    assert_eq!(flows[1].bridges[0].convert.as_deref(), Some("avro -> json"));
    let bridge = catalog
        .bridges
        .iter()
        .find(|b| b.to == key("sqs:order-events"))
        .unwrap();
    assert_eq!(bridge.declared_by.to_string(), "service orders");

    // The config file's bridge: Kafka topic mirrored onto NATS.
    let deletion = catalog.flows("CustomerDataDeletionRequest");
    let consumers: Vec<(&str, usize)> = deletion
        .iter()
        .map(|f| (f.consumer.as_str(), f.bridges.len()))
        .collect();
    assert_eq!(consumers, [("analytics", 1), ("billing", 0)]);
    let bridge = catalog
        .bridges
        .iter()
        .find(|b| b.to == key("nats:privacy.deletions"))
        .unwrap();
    assert!(
        bridge.declared_by.to_string().ends_with("shop.toml"),
        "{}",
        bridge.declared_by
    );
}

#[test]
fn bridges_chain_and_cycles_end() {
    // a -> b -> c -> a: every path is simple, the walk ends.
    let text = |from: &str, to: &str| format!("[[bridges]]\nfrom = \"{from}\"\nto = \"{to}\"\n");
    let config = CatalogConfig::from_toml(
        &(text("kafka:a", "sqs:b") + &text("sqs:b", "nats:c") + &text("nats:c", "kafka:a")),
        "cycle.toml",
    )
    .unwrap();
    let doc = |title: &str, protocol: &str, address: &str, action: &str| {
        let yaml = format!(
            "asyncapi: 3.0.0\ninfo: {{title: {title}, version: '1'}}\nservers: {{s: {{host: h, protocol: {protocol}}}}}\nchannels:\n  c:\n    address: {address}\n    messages: {{M: {{payload: {{type: object}}}}}}\noperations:\n  op:\n    action: {action}\n    channel: {{$ref: '#/channels/c'}}\n"
        );
        SourceDocument {
            path: PathBuf::from(format!("{title}.yaml")),
            document: tidings_asyncapi::Document::from_yaml(&yaml).unwrap(),
        }
    };
    let catalog = Catalog::build(
        vec![
            doc("p", "kafka", "a", "send"),
            doc("q", "nats", "c", "receive"),
            doc("r", "kafka", "a", "receive"),
        ],
        config,
        "cycle.toml",
        Vec::new(),
    );
    let flows = catalog.flows("M");
    let hops: Vec<(&str, usize)> = flows
        .iter()
        .map(|f| (f.consumer.as_str(), f.channels.len()))
        .collect();
    assert_eq!(hops, [("q", 3), ("r", 1)]);
    assert!(catalog.orphans().is_empty(), "{:?}", catalog.orphans());
}

#[test]
fn orphans_cross_bridges_and_honour_ignore_patterns() {
    let catalog = shop();
    let orphans: Vec<(OrphanKind, String, String, String)> = catalog
        .orphans()
        .into_iter()
        .map(|o| (o.kind, o.message, o.service, o.channel.to_string()))
        .collect();
    // orders.created.dlq is ignored by the config; fulfilment is reached through the bridge.
    assert_eq!(
        orphans,
        [(
            OrphanKind::ProducedNeverConsumed,
            "OrderCancelled".to_owned(),
            "orders".to_owned(),
            "kafka:orders.cancelled".to_owned()
        )]
    );
    // Without the config, the bridge to NATS is gone and the dead letters count.
    let bare = load(&[fixtures().join("shop")], &LoadOptions::default()).unwrap();
    let kinds: Vec<(OrphanKind, String)> = bare
        .orphans()
        .into_iter()
        .map(|o| (o.kind, o.channel.to_string()))
        .collect();
    assert!(
        kinds.contains(&(
            OrphanKind::ConsumedNeverProduced,
            "nats:privacy.deletions".to_owned()
        )),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&(
            OrphanKind::ProducedNeverConsumed,
            "kafka:orders.created.dlq".to_owned()
        )),
        "{kinds:?}"
    );
}

#[test]
fn lint_reports_different_schemas_and_broken_consumers() {
    let catalog = shop();
    let findings = catalog.lint();
    let summary: Vec<(Severity, &str, &str, Vec<&str>)> = findings
        .iter()
        .map(|f| {
            (
                f.severity,
                f.rule,
                f.message.as_str(),
                f.services.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                Severity::Error,
                "breaking-change",
                "OrderCreated",
                vec!["orders", "analytics"]
            ),
            (
                Severity::Warning,
                "schema-mismatch",
                "CustomerDataDeletionRequest",
                vec!["billing", "customer-privacy", "analytics"]
            ),
            (
                Severity::Warning,
                "schema-mismatch",
                "OrderCreated",
                vec!["analytics", "fulfilment", "orders"]
            ),
        ]
    );
    let breaking = &findings[0];
    let details = breaking.details.join("\n");
    assert!(
        details.contains(
            "`customer_id` is required by the consumer; the producer does not have it [required-field-added"
        ),
        "{details}"
    );
    assert!(
        details.contains(
            "`total`: the producer sends string, the consumer accepts number [type-changed"
        ),
        "{details}"
    );
    // billing and customer-privacy differ only in descriptions and titles: one variant.
    let mismatch = &findings[1];
    assert!(
        mismatch
            .details
            .contains(&"variant held by: billing, customer-privacy".to_owned()),
        "{:?}",
        mismatch.details
    );
    assert!(
        mismatch
            .details
            .iter()
            .any(|d| d.contains("`requested_at` only in billing")),
        "{:?}",
        mismatch.details
    );
}

#[test]
fn a_service_report_names_the_other_side() {
    let catalog = shop();
    let report = catalog.service("orders").unwrap();
    assert_eq!(report.owners, ["team-orders", "team-checkout"]);
    let created = report
        .sends
        .iter()
        .find(|x| x.channel == key("kafka:orders.created"))
        .unwrap();
    assert_eq!(created.peers, ["analytics", "fulfilment"]);
    let fulfilment = catalog.service("fulfilment").unwrap();
    assert_eq!(fulfilment.receives[0].peers, ["orders"]);
    assert_eq!(fulfilment.owners, ["platform"], "the config's defaults");
    assert!(catalog.service("nobody").is_none());
}

#[test]
fn a_name_claimed_twice_is_reported_not_merged() {
    let dir = std::env::temp_dir().join(format!("tidings-catalog-dup-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("a")).unwrap();
    std::fs::create_dir_all(dir.join("b")).unwrap();
    let orders = std::fs::read_to_string(fixtures().join("shop/orders.yaml")).unwrap();
    std::fs::write(dir.join("a/orders.yaml"), &orders).unwrap();
    std::fs::write(dir.join("b/orders.yaml"), &orders).unwrap();
    let catalog = load(std::slice::from_ref(&dir), &LoadOptions::default()).unwrap();
    assert_eq!(catalog.services.len(), 1);
    let warning = &catalog.diagnostics[0];
    assert_eq!(warning.level, Level::Warning);
    assert!(
        warning
            .message
            .contains("service `orders` is already defined by"),
        "{warning}"
    );
    assert!(warning.file.as_deref().unwrap().ends_with("b/orders.yaml"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn unreadable_inputs_and_bad_configs_fail_the_load() {
    let missing = load(&[fixtures().join("nope")], &LoadOptions::default()).unwrap_err();
    assert!(missing.to_string().contains("nope"), "{missing}");
    let options = LoadOptions {
        config: Some(fixtures().join("shop/orders.yaml")),
        ..LoadOptions::default()
    };
    let bad = load(&[fixtures().join("shop")], &options).unwrap_err();
    assert!(bad.to_string().contains("catalog config"), "{bad}");
}

#[test]
fn an_avro_producer_is_judged_against_a_json_consumer_across_the_bridge() {
    let producer = r#"
asyncapi: 3.0.0
info: {title: orders, version: '1'}
servers: {k: {host: k, protocol: kafka}}
channels:
  c:
    address: orders.created
    messages:
      OrderCreated: {$ref: '#/components/messages/OrderCreated'}
    x-tidings-bridge: [{to: 'sqs:order-events', convert: avro -> json}]
operations:
  publish: {action: send, channel: {$ref: '#/channels/c'}}
components:
  messages:
    OrderCreated:
      payload:
        schemaFormat: application/vnd.apache.avro;version=1.9.0
        schema:
          type: record
          name: OrderCreated
          fields:
          - {name: order_id, type: string}
          - {name: note, type: ['null', string], default: null}
"#;
    let consumer = r#"
asyncapi: 3.0.0
info: {title: fulfilment, version: '1'}
servers: {q: {host: q, protocol: sqs}}
channels:
  c:
    address: order-events
    messages:
      OrderCreated:
        payload:
          type: object
          properties:
            order_id: {type: string}
            note: {type: string}
            customer_id: {type: string}
          required: [order_id, note, customer_id]
operations:
  pick: {action: receive, channel: {$ref: '#/channels/c'}}
"#;
    let doc = |name: &str, text: &str| SourceDocument {
        path: PathBuf::from(name),
        document: tidings_asyncapi::Document::from_yaml(text).unwrap(),
    };
    let catalog = Catalog::build(
        vec![
            doc("orders.yaml", producer),
            doc("fulfilment.yaml", consumer),
        ],
        CatalogConfig::default(),
        "",
        Vec::new(),
    );
    let findings = catalog.lint();
    let breaking = findings
        .iter()
        .find(|f| f.rule == "breaking-change")
        .unwrap_or_else(|| panic!("{findings:#?}"));
    assert_eq!(breaking.services, ["orders", "fulfilment"]);
    let details = breaking.details.join("\n");
    assert!(
        details.contains(
            "`customer_id` is required by the consumer; the producer does not have it [required-field-added"
        ),
        "{details}"
    );
    assert!(
        details.contains(
            "`note`: the producer sends null | string, the consumer accepts string [type-narrowed"
        ),
        "{details}"
    );
    assert!(
        details.contains("path: orders -> kafka:orders.created -> sqs:order-events -> fulfilment"),
        "{details}"
    );
    let mismatch = findings
        .iter()
        .find(|f| f.rule == "schema-mismatch")
        .unwrap();
    assert!(
        mismatch.details.iter().any(|d| d.contains(
            "application/vnd.apache.avro;version=1.9.0 in orders, JSON Schema in fulfilment"
        ) || d.contains(
            "JSON Schema in fulfilment, application/vnd.apache.avro;version=1.9.0 in orders"
        )),
        "{:?}",
        mismatch.details
    );
}

/// A one-channel service document: `action` (`send`/`receive`) of `message` on `address`
/// over `protocol`.
fn one_channel(
    service: &str,
    protocol: &str,
    address: &str,
    action: &str,
    message: &str,
) -> SourceDocument {
    let parameters: Vec<String> = address
        .split('{')
        .skip(1)
        .filter_map(|rest| {
            rest.split_once('}')
                .map(|(name, _)| format!("{name}: {{}}"))
        })
        .collect();
    let parameters = if parameters.is_empty() {
        String::new()
    } else {
        format!("\n    parameters: {{{}}}", parameters.join(", "))
    };
    let text = format!(
        r#"
asyncapi: 3.0.0
info: {{title: {service}, version: '1'}}
servers: {{s: {{host: h, protocol: {protocol}}}}}
channels:
  c:
    address: '{address}'{parameters}
    messages:
      {message}: {{payload: {{type: object}}}}
operations:
  op: {{action: {action}, channel: {{$ref: '#/channels/c'}}}}
"#
    );
    SourceDocument {
        path: PathBuf::from(format!("{service}.yaml")),
        document: tidings_asyncapi::Document::from_yaml(&text)
            .unwrap_or_else(|e| panic!("{service}: {e}\n{text}")),
    }
}

#[test]
fn parameterized_addresses_join_the_concrete_ones_they_fill_in() {
    let catalog = Catalog::build(
        vec![
            one_channel(
                "orders",
                "kafka",
                "orders.{region}.cancel",
                "send",
                "OrderCancelled",
            ),
            one_channel(
                "eu-billing",
                "kafka",
                "orders.eu.cancel",
                "receive",
                "OrderCancelled",
            ),
            one_channel(
                "audit",
                "kafka-secure",
                "orders.{zone}.cancel",
                "receive",
                "OrderCancelled",
            ),
            one_channel(
                "us-shop",
                "kafka",
                "orders.us.cancel",
                "send",
                "OrderCancelled",
            ),
            // Another protocol, and an address the template does not fill in: not joined.
            one_channel(
                "sqs-copy",
                "sqs",
                "orders.eu.cancel",
                "receive",
                "OrderCancelled",
            ),
            one_channel(
                "refunds",
                "kafka",
                "orders.eu.refund",
                "receive",
                "OrderCancelled",
            ),
        ],
        CatalogConfig::default(),
        "",
        Vec::new(),
    );
    let flows = catalog.flows("OrderCancelled");
    let pairs: Vec<(&str, &str, Vec<String>)> = flows
        .iter()
        .map(|f| {
            (
                f.producer.as_str(),
                f.consumer.as_str(),
                f.channels.iter().map(ToString::to_string).collect(),
            )
        })
        .collect();
    assert_eq!(
        pairs,
        [
            // The template producer reaches the concrete consumer (its channel ends the path)
            // and the other template, renamed parameter and TLS variant alike.
            (
                "orders",
                "audit",
                vec![
                    "kafka:orders.{region}.cancel".to_owned(),
                    "kafka:orders.{zone}.cancel".to_owned()
                ]
            ),
            (
                "orders",
                "eu-billing",
                vec![
                    "kafka:orders.{region}.cancel".to_owned(),
                    "kafka:orders.eu.cancel".to_owned()
                ]
            ),
            // A concrete producer reaches the template consumer, not a consumer of another
            // concrete address (meeting is not transitive).
            (
                "us-shop",
                "audit",
                vec![
                    "kafka:orders.us.cancel".to_owned(),
                    "kafka:orders.{zone}.cancel".to_owned()
                ]
            ),
        ]
    );
    let orphans: Vec<(OrphanKind, String)> = catalog
        .orphans()
        .into_iter()
        .map(|o| (o.kind, o.service))
        .collect();
    assert_eq!(
        orphans,
        [
            (OrphanKind::ConsumedNeverProduced, "refunds".to_owned()),
            (OrphanKind::ConsumedNeverProduced, "sqs-copy".to_owned()),
        ]
    );
    let report = catalog.service("orders").unwrap();
    assert_eq!(report.sends[0].peers, ["audit", "eu-billing"]);
    let report = catalog.service("eu-billing").unwrap();
    assert_eq!(report.receives[0].peers, ["orders"]);
    // who-consumes lists every receiver with its own channel.
    let consumers: Vec<String> = catalog
        .who_consumes("OrderCancelled")
        .iter()
        .map(|p| format!("{} {}", p.service, p.channel))
        .collect();
    assert!(
        consumers.contains(&"eu-billing kafka:orders.eu.cancel".to_owned()),
        "{consumers:?}"
    );
    // The graph links the channels that meet.
    let mermaid = tidings_catalog::graph::to_mermaid(&tidings_catalog::graph::message_graph(
        &catalog,
        "OrderCancelled",
    ));
    assert!(mermaid.contains("same channel"), "{mermaid}");
}
