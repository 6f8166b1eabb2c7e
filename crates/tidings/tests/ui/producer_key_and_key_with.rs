use tidings::prelude::*;

/// An order.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, tidings::Message)]
pub struct Order {
    pub order_id: String,
}

fn order_key(order: &Order) -> String {
    order.order_id.clone()
}

#[tidings::producer(channel = "orders", key = order_id, key_with = order_key)]
static ORDERS: Producer<Order>;

fn main() {}
