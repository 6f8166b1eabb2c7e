//! `order-service` (`benches/src/bin/order-service.rs`) with its `main` in the other form
//! of `#[tidings::main]`: a `fn main() -> App` that describes the service, as RustStream's
//! peer's `#[ruststream::app] fn app()`. tidings then answers `--asyncapi` before starting
//! any runtime: the second tidings row of `run.sh spec`.

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
fn main() -> App {
    tidings::app!()
}
