//! The Avro codec through the derive: every supported type round-trips through the
//! Confluent wire format, and old and new versions of OrderCreated read each other's
//! messages by Avro schema resolution (the registry serves the writer's schema).

use std::collections::HashMap;
use std::sync::OnceLock;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use order_avro::{v1, OrderCreated};
use rust_decimal::Decimal;
use tidings::avro::compat::Level;
use tidings::avro::registry::server::RegistryServer;
use tidings::avro::registry::{self, RegistryClient};
use tidings::prelude::*;
use tidings::Codec;

/// One in-memory registry for this test binary, installed as the codec's registry.
fn registry() -> &'static RegistryServer {
    static SERVER: OnceLock<RegistryServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        let server = RegistryServer::start("127.0.0.1:0", Level::Backward).expect("a registry");
        registry::install(RegistryClient::new(&server.url()).expect("a client"));
        server
    })
}

fn encode<T: Message>(m: &T) -> Vec<u8> {
    registry();
    <T::Codec as Codec>::encode(m).expect("encodes")
}

fn decode<T: Message>(bytes: &[u8]) -> Result<T, tidings::BoxError> {
    registry();
    <T::Codec as Codec>::decode::<T>(bytes)
}

/// A nested record of the kinds fixture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, tidings::Avro)]
#[avro(schema = "tests/fixtures/kinds.avsc")]
struct Line {
    sku: String,
}

/// An enum of the kinds fixture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, tidings::Avro)]
#[serde(rename_all = "UPPERCASE")]
#[avro(schema = "tests/fixtures/kinds.avsc")]
enum Status {
    New,
    Paid,
}

/// Every type the check and the codec support.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Message)]
#[message(name = "Kinds", avro = "tests/fixtures/kinds.avsc")]
struct Kinds {
    text: String,
    count: i32,
    big: i64,
    ratio: f32,
    precise: f64,
    flag: bool,
    blob: Vec<u8>,
    price: Decimal,
    at: DateTime<Utc>,
    on: NaiveDate,
    id: String,
    maybe: Option<String>,
    tags: Vec<String>,
    attrs: HashMap<String, i64>,
    time: NaiveTime,
    at_us: DateTime<Utc>,
    hash: [u8; 4],
    status: Status,
    lines: Vec<Line>,
    spare: Option<Line>,
    #[serde(rename = "renamed_field")]
    other_name: String,
}

fn kinds() -> Kinds {
    Kinds {
        text: "hello".into(),
        count: -7,
        big: 1 << 40,
        ratio: 0.5,
        precise: 2.25,
        flag: true,
        blob: vec![0, 1, 254, 255],
        price: Decimal::new(-1999, 2),
        at: Utc.timestamp_millis_opt(1_714_558_830_123).unwrap(),
        on: NaiveDate::from_ymd_opt(2024, 5, 3).unwrap(),
        id: "67e55044-10b1-426f-9247-bb680e5fe0c8".into(),
        maybe: None,
        tags: vec!["a".into(), "b".into()],
        attrs: HashMap::from([("x".into(), 1), ("y".into(), -2)]),
        time: NaiveTime::from_hms_milli_opt(10, 20, 30, 400).unwrap(),
        at_us: Utc.timestamp_micros(1_714_558_830_123_456).unwrap(),
        hash: [1, 2, 3, 4],
        status: Status::Paid,
        lines: vec![Line { sku: "s-1".into() }],
        spare: Some(Line { sku: "s-2".into() }),
        other_name: "renamed".into(),
    }
}

#[test]
fn every_supported_type_round_trips_in_the_confluent_wire_format() {
    let bytes = encode(&kinds());
    assert_eq!(bytes[0], 0, "magic byte");
    let id = u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
    let client = RegistryClient::new(&registry().url()).unwrap();
    assert!(client.schema_by_id(id).unwrap().contains("\"Kinds\""), "the id names the writer's schema");
    assert_eq!(client.subjects().unwrap().iter().filter(|s| *s == "test.Kinds").count(), 1, "record strategy subject");
    assert_eq!(decode::<Kinds>(&bytes).unwrap(), kinds());
}

#[test]
fn a_value_the_schema_cannot_hold_fails_to_encode_with_where() {
    let mut k = kinds();
    k.price = Decimal::new(12345, 3); // three decimal places; the schema has two
    registry();
    let err = <<Kinds as Message>::Codec as Codec>::encode(&k).unwrap_err().to_string();
    assert!(err.contains("price") && err.contains("more than the 2 decimal places"), "{err}");
}

#[test]
fn json_and_foreign_payloads_do_not_decode() {
    let err = decode::<Kinds>(br#"{"text":"hi"}"#).unwrap_err().to_string();
    assert!(err.contains("not the Confluent magic byte 0"), "{err}");
    let err = decode::<Kinds>(&[0, 0, 0, 0x7f, 0x7f, 1]).unwrap_err().to_string();
    assert!(err.contains("Schema 32639 not found"), "{err}");
}

fn v1_sample() -> v1::OrderCreated {
    OrderCreated::sample(4).into()
}

#[test]
fn an_old_consumer_reads_new_messages_and_a_new_one_reads_old_messages() {
    // New writer, old reader: `priority` is skipped.
    let new = OrderCreated::sample(4);
    let old_view: v1::OrderCreated = decode(&encode(&new)).unwrap();
    assert_eq!(old_view, v1_sample());
    // Old writer, new reader: `priority` takes the schema's default.
    let new_view: OrderCreated = decode(&encode(&v1_sample())).unwrap();
    assert_eq!(new_view, OrderCreated { priority: "normal".into(), ..OrderCreated::sample(4) });
    // Two versions under one subject, as a registry keeps them.
    let client = RegistryClient::new(&registry().url()).unwrap();
    assert_eq!(client.versions("com.example.orders.OrderCreated").unwrap().len(), 2);
}
