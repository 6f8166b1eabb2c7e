use tidings::prelude::*;

/// An order line.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Line {
    pub sku: String,
}

/// An order.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, tidings::Message)]
pub struct Order {
    pub order_id: String,
    pub lines: Vec<Line>,
}

#[tidings::producer(channel = "orders", key = lines)]
static ORDERS: Producer<Order>;

fn main() {}
