//! The order service's producer, in a library so other binaries (the demo) can link it.

use order_events::OrderCreated;
use tidings::prelude::*;

/// Publishes new order events.
#[tidings::producer(channel = "orders.created")]
pub static ORDER_CREATED: Producer<OrderCreated>;

/// Publishes `count` sample orders, keyed by order id, `every` apart.
pub async fn publish_orders(ctx: &Context, count: u32, every: std::time::Duration) -> Result<(), Error> {
    for n in 1..=count {
        let order = OrderCreated::sample(n);
        let key = order.order_id.clone();
        ORDER_CREATED.publish_with(ctx, &order, PublishOptions::default().key(key)).await?;
        println!("published {} ({} items, total {})", order.order_id, order.items.len(), order.total_amount);
        tokio::time::sleep(every).await;
    }
    Ok(())
}
