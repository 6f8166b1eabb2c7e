//! The order service of the comparison, on the embedded broker only: fulfilment's
//! `accept` (consume `orders.created`, reply on `orders.accepted`), the same service as
//! RustStream's `ruststream-order-peer` (`benches/peers/ruststream`). Built without the
//! crate's features it links no broker crate, as RustStream's memory-only peer links
//! none: the like-for-like binary for the idle-RSS and `--asyncapi` rows of `run.sh rss`
//! and `run.sh spec` (`examples/order-fulfilment` also links the SQS client).
//!
//! `order-service` runs it; `order-service --asyncapi` prints its document.

use chrono::Utc;
use order_events::{OrderAccepted, OrderCreated};
use tidings::prelude::*;

/// Validate a freshly created order and accept it.
#[tidings::consumer(channel = "orders.created", group = "fulfilment")]
#[tidings::producer(channel = "orders.accepted")]
async fn accept(order: OrderCreated) -> Result<OrderAccepted, Error> {
    if order.items.is_empty() {
        return Err(Error::msg(format!("order {} has no items", order.order_id)));
    }
    Ok(OrderAccepted {
        order_id: order.order_id,
        item_count: order.items.iter().map(|i| i.quantity).sum(),
        accepted_at: Utc::now(),
    })
}

#[tidings::main]
async fn main() -> Result<(), tidings::Error> {
    tidings::app!().run().await
}
