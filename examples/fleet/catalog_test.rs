//! The fleet's catalog, from the documents `cargo xtask spec` keeps in `docs/asyncapi/`
//! (the golden test keeps them equal to what the binaries print) and `catalog.toml`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use tidings_catalog::load::{load, LoadOptions};
use tidings_catalog::query::Severity;
use tidings_catalog::Catalog;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The fleet's documents only: `docs/asyncapi/fleet-*.yaml`.
fn fleet() -> Catalog {
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs/asyncapi"))
        .expect("docs/asyncapi exists (cargo xtask spec)")
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("fleet-")
        })
        .collect();
    docs.sort();
    assert_eq!(docs.len(), 6, "one document per fleet service: {docs:?}");
    let options = LoadOptions {
        strict: true,
        config: Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("catalog.toml")),
        threads: 1,
    };
    load(&docs, &options).expect("the fleet's documents load strictly")
}

#[test]
fn who_consumes_customer_data_deletion_request_answers_billing_email_and_analytics() {
    let catalog = fleet();
    let consumers: Vec<(String, String)> = catalog
        .who_consumes("CustomerDataDeletionRequest")
        .into_iter()
        .map(|p| (p.service, p.channel.to_string()))
        .collect();
    assert_eq!(
        consumers,
        [
            ("analytics".to_owned(), "sqs:privacy-deletions".to_owned()),
            (
                "billing".to_owned(),
                "kafka:privacy.deletion-requests".to_owned()
            ),
            ("email".to_owned(), "nats:privacy.deletions".to_owned()),
        ]
    );
    // And each of them is really reached from the producer, across the bridges.
    let reached: BTreeSet<String> = catalog
        .flows("CustomerDataDeletionRequest")
        .into_iter()
        .map(|f| f.consumer)
        .collect();
    assert_eq!(
        reached,
        BTreeSet::from(["analytics".into(), "billing".into(), "email".into()])
    );
}

#[test]
fn orders_reach_fulfilment_through_the_bridge_declared_in_code() {
    let catalog = fleet();
    let bridge = catalog
        .bridges
        .iter()
        .find(|b| b.to.to_string() == "sqs:order-events")
        .expect("orders declares its bridge with App::bridge");
    assert_eq!(bridge.declared_by.to_string(), "service orders");
    assert_eq!(bridge.convert.as_deref(), Some("avro -> json"));
    let paths: Vec<String> = catalog
        .flows("OrderCreated")
        .iter()
        .map(|f| {
            let channels: Vec<String> = f.channels.iter().map(ToString::to_string).collect();
            format!(
                "{} -> {} -> {}",
                f.producer,
                channels.join(" => "),
                f.consumer
            )
        })
        .collect();
    assert_eq!(
        paths,
        [
            "orders -> kafka:orders.created -> analytics",
            "orders -> kafka:orders.created => sqs:order-events -> fulfilment",
        ]
    );
}

#[test]
fn the_fleet_is_clean() {
    let catalog = fleet();
    // One contract crate: no message is defined two ways, no consumer is broken.
    let findings = catalog.lint();
    assert!(findings.is_empty(), "{findings:#?}");
    assert!(!findings.iter().any(|f| f.severity == Severity::Error));
    // Dead-letter topics are ignored by the config; everything else has both sides.
    assert_eq!(catalog.orphans(), Vec::new());
    let report = catalog.service("customer-privacy").unwrap();
    assert_eq!(report.owners, ["team-privacy"]);
    assert_eq!(report.sends[0].peers, ["analytics", "billing", "email"]);
}
