use tidings::prelude::*;

// camelCase on the wire: `orderId`, `customerId`; the schema says snake_case.
#[derive(Serialize, Deserialize, JsonSchema, Message)]
#[serde(rename_all = "camelCase")]
#[message(avro = "tests/ui/avro/order_created.avsc")]
struct OrderCreated {
    order_id: String,
    #[serde(rename = "customer_id")]
    customer_id: String,
    priority: String,
}

fn main() {}
