use tidings::prelude::*;

/// An order.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, tidings::Message)]
pub struct Order {
    pub order_id: String,
}

/// A shipment.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, tidings::Message)]
pub struct Shipment {
    pub shipment_id: String,
}

fn shipment_key(shipment: &Shipment) -> String {
    shipment.shipment_id.clone()
}

#[tidings::producer(channel = "orders", key_with = shipment_key)]
static ORDERS: Producer<Order>;

fn main() {}
