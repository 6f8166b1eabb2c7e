use tidings::prelude::*;

// The schema's enum Status is NEW, PAID, SHIPPED.
#[derive(Serialize, Deserialize, JsonSchema, tidings::Avro)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[avro(schema = "tests/ui/avro/nested.avsc")]
enum Status {
    New,
    Paid,
    Lost,
}

fn main() {}
