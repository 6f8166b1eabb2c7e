//! Orders with an Avro contract. `schemas/order_created.avsc` is the source of truth
//! (in a real team: the schema in the Schema Registry); the Rust types below are
//! checked against it when they compile, and travel as Avro in the Confluent wire
//! format. `schemas/order_created.v1.avsc` is the version before `priority` was added.

use chrono::{DateTime, TimeZone, Utc};
use rust_decimal::Decimal;
use tidings::prelude::*;

/// One line of an order: the record `OrderItem` nested in the schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, tidings::Avro)]
#[avro(schema = "schemas/order_created.avsc", name = "OrderItem")]
pub struct OrderItem {
    /// Stock keeping unit.
    pub sku: String,
    /// How many.
    pub quantity: i32,
    /// Price of one: `decimal(10, 2)`.
    pub unit_price: Decimal,
}

/// Event published when a new order is created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Message)]
#[message(name = "OrderCreated", version = "2.0.0", avro = "schemas/order_created.avsc")]
pub struct OrderCreated {
    /// Unique order id.
    pub order_id: String,
    /// Who ordered.
    pub customer_id: String,
    /// What was ordered.
    pub items: Vec<OrderItem>,
    /// Sum of the items: `decimal(12, 2)`.
    pub total_amount: Decimal,
    /// When the order was placed (`timestamp-millis`).
    pub created_at: DateTime<Utc>,
    /// A note from the customer.
    pub note: Option<String>,
    /// How urgent: low, normal or high (added in version 2, default "normal").
    pub priority: String,
}

impl OrderCreated {
    /// A sample order, for demos and tests.
    pub fn sample(n: u32) -> Self {
        OrderCreated {
            order_id: format!("order-{n}"),
            customer_id: format!("customer-{n}"),
            items: vec![OrderItem { sku: "SKU-1".into(), quantity: 2, unit_price: Decimal::new(1990, 2) }],
            total_amount: Decimal::new(3980, 2),
            created_at: Utc.timestamp_millis_opt(1_714_558_830_123).single().unwrap_or_default(),
            note: (n != 1).then(|| "leave at the door".to_owned()),
            priority: "high".into(),
        }
    }
}

/// `OrderCreated` as it was before `priority` (`schemas/order_created.v1.avsc`): what a
/// consumer that has not been redeployed still runs. Kept to show, in the tests, that
/// old and new versions read each other's messages.
pub mod v1 {
    use super::*;

    /// One line of an order (version 1).
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, tidings::Avro)]
    #[avro(schema = "schemas/order_created.v1.avsc", name = "OrderItem")]
    pub struct OrderItem {
        /// Stock keeping unit.
        pub sku: String,
        /// How many.
        pub quantity: i32,
        /// Price of one.
        pub unit_price: Decimal,
    }

    /// Event published when a new order is created (version 1, no `priority`).
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Message)]
    #[message(name = "OrderCreatedV1", version = "1.0.0", avro = "schemas/order_created.v1.avsc")]
    pub struct OrderCreated {
        /// Unique order id.
        pub order_id: String,
        /// Who ordered.
        pub customer_id: String,
        /// What was ordered.
        pub items: Vec<OrderItem>,
        /// Sum of the items.
        pub total_amount: Decimal,
        /// When the order was placed.
        pub created_at: DateTime<Utc>,
        /// A note from the customer.
        pub note: Option<String>,
    }

    impl From<super::OrderCreated> for OrderCreated {
        /// What a version-1 reader sees of a version-2 order: everything but `priority`.
        fn from(o: super::OrderCreated) -> Self {
            OrderCreated {
                order_id: o.order_id,
                customer_id: o.customer_id,
                items: o
                    .items
                    .into_iter()
                    .map(|i| OrderItem { sku: i.sku, quantity: i.quantity, unit_price: i.unit_price })
                    .collect(),
                total_amount: o.total_amount,
                created_at: o.created_at,
                note: o.note,
            }
        }
    }
}

/// Publishes new orders.
#[tidings::producer(channel = "orders.created")]
pub static ORDER_CREATED: Producer<OrderCreated>;

/// Logs every new order.
#[tidings::consumer(channel = "orders.created", group = "order-log")]
async fn log_order(order: OrderCreated) {
    println!("order {} ({} priority)", order.order_id, order.priority);
}
