use tidings::prelude::*;

// `priority` (default "normal") was added to the schema; the struct lacks it.
#[derive(Serialize, Deserialize, JsonSchema, Message)]
#[message(avro = "tests/ui/avro/order_created.avsc")]
struct OrderCreated {
    order_id: String,
    customer_id: String,
}

fn main() {}
