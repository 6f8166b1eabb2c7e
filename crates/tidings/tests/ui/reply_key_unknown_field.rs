use tidings::prelude::*;

/// An order.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, tidings::Message)]
pub struct Order {
    pub order_id: String,
}

/// An accepted order.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, tidings::Message)]
pub struct Accepted {
    pub order_id: String,
}

#[tidings::consumer(channel = "orders", group = "g")]
#[tidings::producer(channel = "accepted", key = customer_id)]
async fn accept(order: Order) -> Accepted {
    Accepted { order_id: order.order_id }
}

fn main() {}
