//! The order messages: one crate that the producer and the consumers share, so both
//! sides agree on names and schemas.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use tidings::prelude::*;

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OrderItem {
    /// Stock keeping unit.
    pub sku: String,
    /// How many.
    pub quantity: u32,
    /// Price of one, as a decimal string (`"19.90"`): exact, never a float.
    pub unit_price: Decimal,
}

/// Event published when a new order is created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Message)]
#[message(name = "OrderCreated", version = "1.0.0", kind = "event")]
pub struct OrderCreated {
    /// Unique order id.
    pub order_id: String,
    /// Where confirmations go.
    #[schemars(email)]
    pub customer_email: String,
    /// What was ordered.
    pub items: Vec<OrderItem>,
    /// Sum of the items, as a decimal string.
    pub total_amount: Decimal,
    /// When the order was placed (RFC 3339).
    pub created_at: DateTime<Utc>,
}

/// Event published when fulfilment accepted an order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Message)]
#[message(name = "OrderAccepted", version = "1.0.0", kind = "event")]
pub struct OrderAccepted {
    /// The accepted order.
    pub order_id: String,
    /// Items to pick.
    pub item_count: u32,
    /// When fulfilment accepted it.
    pub accepted_at: DateTime<Utc>,
}

/// Command to cancel an order in one region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Message)]
#[message(name = "CancelOrder", version = "1.0.0", kind = "command")]
pub struct CancelOrder {
    /// The order to cancel.
    pub order_id: String,
    /// Why.
    pub reason: Option<String>,
}

impl OrderCreated {
    /// A sample order, for demos and tests.
    pub fn sample(n: u32) -> Self {
        let items = vec![
            OrderItem { sku: format!("SKU-{:03}", n % 7), quantity: 1 + n % 3, unit_price: Decimal::new(1990, 2) },
            OrderItem { sku: "SKU-GIFT".into(), quantity: 1, unit_price: Decimal::new(500, 2) },
        ];
        let total_amount = items.iter().map(|i| i.unit_price * Decimal::from(i.quantity)).sum();
        OrderCreated {
            order_id: format!("order-{n}"),
            customer_email: format!("customer{n}@example.com"),
            items,
            total_amount,
            created_at: DateTime::from_timestamp(1_790_000_000 + i64::from(n), 0).unwrap_or_default(),
        }
    }
}

/// Event published when an order was cancelled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Message)]
#[message(name = "OrderCancelled", version = "1.0.0")]
pub struct OrderCancelled {
    /// The cancelled order.
    pub order_id: String,
    /// The region that cancelled it.
    pub region: String,
}
