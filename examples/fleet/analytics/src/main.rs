//! analytics: counts orders from the Kafka topic and forgets customers from the SQS
//! queue the privacy topic is copied onto. The servers are there for the document:
//! `--asyncapi` never connects; run it locally with `--server kafka=memory://
//! --server queues=memory://`.

use fleet_events::{CustomerDataDeletionRequest, OrderCreated};

/// Count a new order.
#[tidings::consumer(channel = "orders.created", group = "analytics")]
async fn count_order(order: OrderCreated) {
    println!("analytics: order {}", order.order_id);
}

/// Drop the customer from every report (from the SQS copy of the privacy topic).
#[tidings::consumer(channel = "privacy-deletions", group = "analytics")]
async fn forget_customer(request: CustomerDataDeletionRequest) {
    println!("analytics: forgetting {}", request.customer_id);
}

#[tidings::main]
fn main() -> tidings::App {
    tidings::app!()
        .title("analytics")
        .server("kafka", "kafka://kafka.internal:9092")
        .server("queues", "sqs://sqs.eu-west-1.amazonaws.com")
        .route("privacy-deletions", "queues")
}
