use tidings::prelude::*;

#[derive(Serialize, Deserialize, JsonSchema, Message)]
#[message(avro = "tests/ui/avro/broken.avsc")]
struct Broken {
    x: i32,
}

#[derive(Serialize, Deserialize, JsonSchema, Message)]
#[message(avro = "tests/ui/avro/missing.avsc")]
struct Missing {
    x: i32,
}

#[derive(Serialize, Deserialize, JsonSchema, Message)]
#[message(avro = "tests/ui/avro/order_created.avsc", codec = tidings::Json)]
struct Both {
    order_id: String,
}

#[derive(Serialize, Deserialize, JsonSchema, tidings::Avro)]
#[avro(schema = "tests/ui/avro/nested.avsc", name = "Nope")]
struct Unknown {
    sku: String,
}

fn main() {}
