//! Avro payloads as `$ref`s to the Schema Registry (`App::avro_schema_ref`): the
//! document names `<registry>/subjects/<record>/versions/latest/schema`, the official
//! parser resolves it against a registry running on loopback (`tidings registry serve`'s
//! server, in process) and accepts it, and `tidings bundle` inlines the schema again.

mod common;

use common::official_parser_accepts;
use order_avro::OrderCreated;
use tidings::avro::compat::Level;
use tidings::avro::registry::server::RegistryServer;
use tidings::avro::registry::RegistryClient;
use tidings::avro::{AvroType, Contract};
use tidings::{App, PackageInfo};
use tidings_cli::bundle::{bundle, render, RemotePolicy};

const INFO: PackageInfo = PackageInfo { name: "order-avro", version: "0.1.0", description: "" };
const SUBJECT: &str = "com.example.orders.OrderCreated";

fn app(registry: &str) -> App {
    App::new(INFO).server("main", format!("kafka://127.0.0.1:9092?schema_registry={registry}")).ignore_env()
}

#[test]
fn avro_payloads_by_reference_pass_the_parser_and_bundle_inline() {
    let server = RegistryServer::start("127.0.0.1:0", Level::Backward).expect("a registry");
    let contract = Contract::parse(<OrderCreated as AvroType>::SCHEMA).unwrap();
    RegistryClient::new(&server.url()).unwrap().register(SUBJECT, &contract.normalized).expect("registers");

    let document = app(&server.url()).avro_schema_ref("latest").asyncapi().expect("a document");
    let yaml = document.to_yaml();
    let value: serde_json::Value = serde_yaml_ng::from_str(&yaml).unwrap();
    let payload = &value["components"]["messages"]["OrderCreated"]["payload"];
    let url = format!("{}/subjects/{SUBJECT}/versions/latest/schema", server.url());
    assert_eq!(payload["schemaFormat"], "application/vnd.apache.avro;version=1.9.0");
    assert_eq!(payload["schema"], serde_json::json!({ "$ref": url }), "{yaml}");
    // The parser fetches the reference from the registry and checks the Avro schema.
    official_parser_accepts(yaml.as_bytes());

    // A pinned version, and no registry at all.
    let pinned = app(&server.url()).avro_schema_ref("1").asyncapi().unwrap().to_json();
    assert!(pinned.contains(&format!("/subjects/{SUBJECT}/versions/1/schema")), "{pinned}");
    let err = App::new(INFO).ignore_env().server("main", "kafka://127.0.0.1:9092").avro_schema_ref("latest");
    if std::env::var_os("TIDINGS_SCHEMA_REGISTRY_URL").is_none() {
        let e = err.asyncapi().unwrap_err().to_string();
        assert!(e.contains("need a Schema Registry"), "{e}");
    }
    let e = app(&server.url()).avro_schema_ref("newest").asyncapi().unwrap_err().to_string();
    assert!(e.contains("\"latest\" or a number"), "{e}");

    // `tidings bundle` inlines the registered schema where the reference was.
    let dir = std::env::temp_dir().join(format!("order-avro-ref-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("order-avro.yaml");
    std::fs::write(&file, &yaml).unwrap();
    let refused = bundle(&file, RemotePolicy::default()).expect("loads").expect_err("remote needs permission");
    assert!(refused.message.contains("--allow-host 127.0.0.1"), "{refused}");
    let policy = RemotePolicy { any: false, hosts: vec!["127.0.0.1".into()] };
    let bundled = bundle(&file, policy).expect("loads").expect("bundles");
    let _ = std::fs::remove_dir_all(&dir);
    let schema = &bundled.value["components"]["messages"]["OrderCreated"]["payload"]["schema"];
    assert_eq!(schema["name"], "OrderCreated");
    assert_eq!(Contract::parse(&schema.to_string()).unwrap().normalized, contract.normalized, "the registered schema, in place");
    assert!(bundled.value["components"]["schemas"].get("OrderCreated").is_none(), "not hoisted as a JSON Schema");
    let inline: serde_json::Value = serde_json::from_str(&app(&server.url()).asyncapi().unwrap().to_json()).unwrap();
    let inline_schema = &inline["components"]["messages"]["OrderCreated"]["payload"]["schema"];
    assert_eq!(Contract::parse(&inline_schema.to_string()).unwrap().normalized, contract.normalized);
    official_parser_accepts(render(&bundled.value, false).as_bytes());
}
