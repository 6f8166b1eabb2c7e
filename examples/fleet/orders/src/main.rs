//! orders: publishes `OrderCreated` on the Kafka topic `orders.created`, which Kafka
//! Connect copies onto the SQS queue `order-events` (declared with `App::bridge`, so the
//! catalog follows it). The Kafka server is there for the document: `--asyncapi` never
//! connects; run it locally with `--server kafka=memory://`.

use fleet_events::{OrderCreated, OrderLine};
use tidings::asyncapi::BridgeDescription;
use tidings::prelude::*;

/// Every order placed, keyed by order id.
#[tidings::producer(channel = "orders.created", key = order_id)]
static ORDER_CREATED: Producer<OrderCreated>;

#[tidings::main]
async fn main() -> Result<(), tidings::Error> {
    tidings::app!()
        .title("orders")
        .server("kafka", "kafka://kafka.internal:9092")
        .channel_options("orders.created", tidings::kafka::KafkaTopic::partitions(12).replicas(3))
        .bridge(
            "orders.created",
            BridgeDescription::to("sqs:order-events")
                .convert("avro -> json")
                .description("Kafka Connect SQS sink"),
        )
        .run_with(|ctx| async move {
            let order = OrderCreated {
                order_id: "order-1".into(),
                customer_id: "customer-1".into(),
                lines: vec![OrderLine {
                    sku: "sku-1".into(),
                    quantity: 2,
                }],
            };
            ORDER_CREATED.publish(&ctx, order).await
        })
        .await
}
