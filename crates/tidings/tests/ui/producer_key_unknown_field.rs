use tidings::prelude::*;

/// An order.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, tidings::Message)]
pub struct Order {
    pub order_id: String,
}

#[tidings::producer(channel = "orders", key = ordr_id)]
static ORDERS: Producer<Order>;

fn main() {}
