//! The seed order service of tidings (`examples/order-events`, `order-producer`,
//! `order-fulfilment`) written against RustStream 0.7.7's public API, for the benchmarks
//! in tidings' `docs/benchmarks.md`. Same messages, same field names, same values.

use chrono::{DateTime, Utc};
use ruststream::memory::prelude::*;
use schemars::JsonSchema;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Outgoing)]
#[outgoing(name = "orders.created")]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Outgoing)]
#[outgoing(name = "orders.accepted")]
pub struct OrderAccepted {
    /// The accepted order.
    pub order_id: String,
    /// Items to pick.
    pub item_count: u32,
    /// When fulfilment accepted it.
    pub accepted_at: DateTime<Utc>,
}

/// The bench order: tidings' `OrderCreated::sample(n)` plus the three lines
/// `tidings_benches::bench_order` adds (the same JSON bytes).
pub fn bench_order(n: u32) -> OrderCreated {
    let line = |sku: String, quantity, cents| OrderItem { sku, quantity, unit_price: Decimal::new(cents, 2) };
    let items = vec![
        line(format!("SKU-{:03}", n % 7), 1 + n % 3, 1990),
        line("SKU-GIFT".into(), 1, 500),
        line("SKU-BOOK-0042".into(), 2, 1250),
        line("SKU-PEN-0007".into(), 3, 199),
        line("SKU-MUG-0311".into(), 1, 899),
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

/// Validate a freshly created order and accept it.
#[subscriber("orders.created", reply)]
pub async fn accept(order: &OrderCreated) -> Result<OrderAccepted, HandlerOutcome> {
    if order.items.is_empty() {
        return Err(HandlerOutcome::drop());
    }
    Ok(OrderAccepted {
        order_id: order.order_id.clone(),
        item_count: order.items.iter().map(|i| i.quantity).sum(),
        accepted_at: Utc::now(),
    })
}

/// The order service: fulfilment's `accept` on `orders.created`, replying on
/// `orders.accepted`. RustStream documents sends only as a handler's outgoing messages,
/// so the producer's standalone `orders.created` send has no entry of its own.
pub fn app() -> impl App {
    RustStream::new(AppInfo::new("order-service", "0.1.0")).with_broker(MemoryBroker::new(), |b| {
        b.include(accept);
    })
}
