//! The blog post's walk-through, end to end (all but Kafka, which `tests/kafka.rs`
//! adds): production runs version 1 of `OrderCreated`; `priority` (default "normal")
//! is added to the `.avsc`; the Rust type does not compile until it has the field
//! (`crates/tidings/tests/ui/avro_missing_field.rs`); `register-all` accepts the new
//! version; the regenerated document shows the field; old and new consumers read each
//! other's messages; then removing a field that has no default is rejected by
//! `registry check`, which says why.

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

use common::official_parser_accepts;
use order_avro::{v1, OrderCreated};
use tidings::avro::cli::{execute, RegistryCommand, SchemaArgs};
use tidings::avro::compat::Level;
use tidings::avro::registry::server::RegistryServer;
use tidings::avro::registry::{self, RegistryClient, SubjectStrategy};
use tidings::{Codec, Message};

fn schema(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas").join(name)
}

/// `tidings registry <cmd>` in process: exit code and stdout.
fn registry_cli(cmd: RegistryCommand) -> (u8, String) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = execute(&cmd, &mut out, &mut err);
    let out = String::from_utf8(out).unwrap() + &String::from_utf8(err).unwrap();
    (code, out)
}

#[test]
fn add_a_field_with_a_default_then_try_to_remove_one_without() {
    // The team's registry: FULL, so both old and new consumers keep working.
    let server = RegistryServer::start("127.0.0.1:0", Level::Full).unwrap();
    let args = |path: PathBuf| SchemaArgs {
        paths: vec![path],
        registry: server.url(),
        strategy: Some(SubjectStrategy::Topic),
        topic: Some("orders.created".into()),
        compatibility: None,
    };

    // Production: version 1.
    let (code, out) = registry_cli(RegistryCommand::RegisterAll(args(schema("order_created.v1.avsc"))));
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("registered    orders.created-value: version 1 (id 1)"), "{out}");

    // `priority` with default "normal" is in schemas/order_created.avsc, and the Rust
    // type compiles only because it has the field (the derive checked it).
    let payload = OrderCreated::describe().payload;
    let fields = payload["schema"]["fields"].as_array().unwrap();
    assert!(fields.iter().any(|f| f["name"] == "priority" && f["default"] == "normal"));

    // register-all accepts it: a new field with a default reads old data (backward)
    // and old readers skip it (forward).
    let (code, out) = registry_cli(RegistryCommand::Check(args(schema("order_created.avsc"))));
    assert_eq!((code, out.trim()), (0, format!("compatible    orders.created-value (FULL) from {}", schema("order_created.avsc").display()).as_str()));
    let (code, out) = registry_cli(RegistryCommand::RegisterAll(args(schema("order_created.avsc"))));
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("registered    orders.created-value: version 2 (id 2)"), "{out}");

    // The regenerated document shows the field, and it is the registered schema.
    let output = Command::new(env!("CARGO_BIN_EXE_order-avro")).arg("--asyncapi=json").output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let message = &doc["components"]["messages"]["OrderCreated"];
    assert_eq!(message["contentType"], "application/vnd.apache.avro+binary");
    assert_eq!(message["payload"]["schemaFormat"], "application/vnd.apache.avro;version=1.9.0");
    let priority = message["payload"]["schema"]["fields"].as_array().unwrap().iter().find(|f| f["name"] == "priority");
    assert_eq!(priority.map(|f| &f["default"]), Some(&serde_json::json!("normal")));
    let doc_file = std::env::temp_dir().join(format!("order-avro-{}.json", std::process::id()));
    std::fs::write(&doc_file, &output.stdout).unwrap();
    let (code, out) = registry_cli(RegistryCommand::RegisterAll(SchemaArgs { strategy: None, topic: None, ..args(doc_file.clone()) }));
    let _ = std::fs::remove_file(&doc_file);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("unchanged     orders.created-value: version 2 (id 2)"), "{out}");
    // The service binary itself is a source too (run with `--asyncapi=json`).
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_order-avro"));
    let (code, out) = registry_cli(RegistryCommand::Check(SchemaArgs { strategy: None, topic: None, ..args(binary) }));
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("unchanged     orders.created-value: version 2 (id 2)"), "{out}");

    // On Kafka, the document names the registry and says where the schema id is; the
    // official parser (with its Avro schema parser) accepts it.
    let kafka = format!("kafka://127.0.0.1:9092?schema_registry={}", server.url());
    let yaml = Command::new(env!("CARGO_BIN_EXE_order-avro")).arg("--asyncapi").env("TIDINGS_SERVER_DEFAULT", &kafka).output().unwrap();
    assert!(yaml.status.success(), "{}", String::from_utf8_lossy(&yaml.stderr));
    let doc: serde_json::Value = serde_yaml_ng::from_slice(&yaml.stdout).unwrap();
    let server_binding = &doc["servers"]["default"]["bindings"]["kafka"];
    assert_eq!(server_binding["schemaRegistryUrl"], server.url().as_str());
    assert_eq!(server_binding["schemaRegistryVendor"], "confluent");
    assert_eq!(doc["components"]["messages"]["OrderCreated"]["bindings"]["kafka"]["schemaIdLocation"], "payload");
    official_parser_accepts(&yaml.stdout);

    // Old and new consumers read each other's messages (here through the codec; over
    // Kafka in tests/kafka.rs). The codec's id is the registered schema's id.
    registry::install(RegistryClient::new(&server.url()).unwrap());
    let new_bytes = <<OrderCreated as Message>::Codec as Codec>::encode(&OrderCreated::sample(1)).unwrap();
    assert_eq!(&new_bytes[..5], &[0, 0, 0, 0, 2], "magic byte, then schema id 2");
    let old_view = <<v1::OrderCreated as Message>::Codec as Codec>::decode::<v1::OrderCreated>(&new_bytes).unwrap();
    assert_eq!(old_view, OrderCreated::sample(1).into());
    let old_bytes = <<v1::OrderCreated as Message>::Codec as Codec>::encode(&v1::OrderCreated::from(OrderCreated::sample(2))).unwrap();
    assert_eq!(&old_bytes[..5], &[0, 0, 0, 0, 1]);
    let new_view = <<OrderCreated as Message>::Codec as Codec>::decode::<OrderCreated>(&old_bytes).unwrap();
    assert_eq!(new_view, OrderCreated { priority: "normal".into(), ..OrderCreated::sample(2) });

    // Removing `customer_id`, which has no default: version 2's readers could not read
    // the new data. `registry check` (CI, before a deploy) says so and why.
    let text = std::fs::read_to_string(schema("order_created.avsc")).unwrap();
    let mut without: serde_json::Value = serde_json::from_str(&text).unwrap();
    without["fields"].as_array_mut().unwrap().retain(|f| f["name"] != "customer_id");
    let file = std::env::temp_dir().join(format!("order_created.v3-{}.avsc", std::process::id()));
    std::fs::write(&file, without.to_string()).unwrap();
    let (code, out) = registry_cli(RegistryCommand::Check(args(file.clone())));
    let _ = std::fs::remove_file(&file);
    assert_eq!(code, 1, "{out}");
    assert!(out.starts_with("INCOMPATIBLE  orders.created-value (FULL)"), "{out}");
    assert!(
        out.contains(
            "FULL: version 2 cannot read data written with the new schema: OrderCreated.customer_id: \
             the reader's field `customer_id` has no default and the writer's record OrderCreated has no such field"
        ),
        "{out}"
    );
    let client = RegistryClient::new(&server.url()).unwrap();
    assert_eq!(client.versions("orders.created-value").unwrap(), [1, 2], "check registered nothing");
}
