use tidings::prelude::*;

#[derive(Serialize, Deserialize, JsonSchema, tidings::Avro)]
#[avro(schema = "tests/ui/avro/other.avsc")]
struct Other {
    sku: String,
}

#[derive(Serialize, Deserialize, JsonSchema, tidings::Avro)]
#[avro(schema = "tests/ui/avro/nested.avsc", name = "test.Line")]
struct Line {
    sku: String,
}

// Not tied to any Avro type.
#[derive(Serialize, Deserialize, JsonSchema)]
enum Status {
    New,
}

// `line` is the record test.Line, `status` the enum test.Status.
#[derive(Serialize, Deserialize, JsonSchema, Message)]
#[message(avro = "tests/ui/avro/nested.avsc")]
struct Order {
    line: Other,
    spare: Option<Line>,
    status: Status,
}

fn main() {}
