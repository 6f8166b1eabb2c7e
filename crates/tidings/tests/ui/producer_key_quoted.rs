use tidings::prelude::*;

/// An order.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, tidings::Message)]
pub struct Order {
    pub order_id: String,
}

#[tidings::producer(channel = "orders", key = "order_id")]
static ORDERS: Producer<Order>;

fn main() {}
