use tidings::prelude::*;

#[derive(Serialize, Deserialize, JsonSchema, Message)]
#[message(avro = "tests/ui/avro/order_created.avsc")]
struct OrderCreated {
    order_id: String,
    customer_id: String,
    priority: String,
    coupon: String,
}

fn main() {}
