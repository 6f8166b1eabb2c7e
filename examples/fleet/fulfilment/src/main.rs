//! fulfilment: Pick the lines of a new order (from the SQS queue Kafka Connect fills). The
//! `queues` server is there for the document: `--asyncapi` never connects; run it locally
//! with `--server queues=memory://`.

use fleet_events::OrderCreated;

/// Pick the lines of a new order (from the SQS queue Kafka Connect fills).
#[tidings::consumer(channel = "order-events", group = "fulfilment")]
async fn pick(message: OrderCreated) {
    println!("fulfilment: {message:?}");
}

#[tidings::main]
fn main() -> tidings::App {
    tidings::app!()
        .title("fulfilment")
        .server("queues", "sqs://sqs.eu-west-1.amazonaws.com")
        .channel_options(
            "order-events",
            tidings::sqs::SqsQueue::new()
                .visibility_timeout(std::time::Duration::from_secs(60))
                .receive_wait(std::time::Duration::from_secs(20))
                .redrive("order-events-dlq", 5),
        )
}
