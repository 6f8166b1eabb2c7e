//! The order service's producer, in a library so other binaries (the demo) can link it.

use order_events::OrderCreated;
use tidings::prelude::*;

/// Publishes new order events.
///
/// Keyed by order id: on Kafka one order's events stay in one partition, in order.
#[tidings::producer(channel = "orders.created", key = order_id)]
pub static ORDER_CREATED: Producer<OrderCreated>;

/// Publishes `count` sample orders (keyed by order id, as declared), `every` apart.
pub async fn publish_orders(ctx: &Context, count: u32, every: std::time::Duration) -> Result<(), Error> {
    for n in 1..=count {
        let order = OrderCreated::sample(n);
        ORDER_CREATED.publish(ctx, &order).await?;
        println!("published {} ({} items, total {})", order.order_id, order.items.len(), order.total_amount);
        tokio::time::sleep(every).await;
    }
    Ok(())
}
