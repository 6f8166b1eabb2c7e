//! The order producer service: publishes sample orders on `orders.created`.
//!
//! Runs on the in-memory broker unless a server is configured
//! (`TIDINGS_SERVER_DEFAULT=kafka://127.0.0.1:9092` or `--server default=...`). On Kafka
//! the topic is created with the declared 3 partitions when it does not exist yet.

use std::time::Duration;

#[tidings::main]
async fn main() -> Result<(), tidings::Error> {
    tidings::app!()
        .channel_description("orders.created", "Every order placed, keyed by order id.")
        .channel_options("orders.created", tidings::kafka::KafkaTopic::partitions(3))
        .run_with(|ctx| async move { order_producer::publish_orders(&ctx, 5, Duration::from_millis(200)).await })
        .await
}
