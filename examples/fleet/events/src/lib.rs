//! The messages of the example fleet, shared by every service so both sides of each
//! channel agree on names and schemas (and the catalog joins them by name).

use tidings::prelude::*;

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OrderLine {
    /// Stock keeping unit.
    pub sku: String,
    /// How many.
    pub quantity: u32,
}

/// Event published when a customer places an order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Message)]
#[message(name = "OrderCreated", version = "1.0.0", kind = "event")]
pub struct OrderCreated {
    /// Unique order id.
    pub order_id: String,
    /// Who ordered.
    pub customer_id: String,
    /// What was ordered.
    pub lines: Vec<OrderLine>,
}

/// Command to erase everything the company keeps about a customer (GDPR art. 17).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Message)]
#[message(
    name = "CustomerDataDeletionRequest",
    version = "1.0.0",
    kind = "command"
)]
pub struct CustomerDataDeletionRequest {
    /// The customer whose data goes.
    pub customer_id: String,
    /// When the customer asked (RFC 3339).
    pub requested_at: String,
}
