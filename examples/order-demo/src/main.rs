//! The order flow in one process on the embedded (in-memory) broker: the order
//! producer publishes `OrderCreated`, fulfilment accepts each order and publishes
//! `OrderAccepted`, and a shipping desk prints what was accepted. It stops after the
//! last order. `order-demo --asyncapi` prints the document of all of it.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use order_events::OrderAccepted;
use tidings::prelude::*;
// The fulfilment handlers register themselves; linking the crate is enough.
use order_fulfilment as _;

/// How many orders the demo publishes.
const ORDERS: u32 = 5;

/// Counts shipped orders, so the demo knows when it is done.
#[derive(Default)]
struct Shipped {
    count: AtomicU32,
}

/// Print each accepted order as the shipping desk would.
#[tidings::consumer(channel = "orders.accepted", group = "shipping")]
async fn ship(accepted: OrderAccepted, shipped: State<Shipped>) {
    let n = shipped.count.fetch_add(1, Ordering::SeqCst) + 1;
    println!("shipping desk: {} accepted, {} item(s) to pick [{n}/{ORDERS}]", accepted.order_id, accepted.item_count);
}

#[tidings::main]
async fn main() -> Result<(), tidings::Error> {
    tidings::app!()
        .state(Shipped::default())
        .run_with(|ctx| async move {
            order_producer::publish_orders(&ctx, ORDERS, Duration::from_millis(100)).await?;
            let shipped = ctx.state::<Shipped>().ok_or_else(|| Error::msg("state missing"))?;
            // Wait (bounded) for the last order to reach the shipping desk.
            for _ in 0..100 {
                if shipped.count.load(Ordering::SeqCst) >= ORDERS {
                    println!("all {ORDERS} orders shipped");
                    return Ok(());
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(Error::msg("not every order reached the shipping desk within 5 s"))
        })
        .await
}
