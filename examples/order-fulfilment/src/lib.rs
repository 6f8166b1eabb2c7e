//! The fulfilment handlers. They live in a library: the `order-fulfilment` binary and
//! the demo link them, and each binary's document shows them.

use chrono::Utc;
use order_events::{CancelOrder, OrderAccepted, OrderCancelled, OrderCreated};
use tidings::prelude::*;

/// Orders refused because they are empty.
#[derive(Debug)]
pub struct EmptyOrder(pub String);

impl std::fmt::Display for EmptyOrder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "order {} has no items", self.0)
    }
}

impl std::error::Error for EmptyOrder {}

/// Validate a freshly created order and accept it.
///
/// An order without items is refused (the error goes to the failure policy).
#[tidings::consumer(channel = "orders.created", group = "fulfilment")]
#[tidings::producer(channel = "orders.accepted", key = order_id)]
pub async fn accept(order: OrderCreated, correlation: CorrelationId) -> Result<OrderAccepted, Error> {
    if order.items.is_empty() {
        return Err(Error::handler(EmptyOrder(order.order_id)));
    }
    tracing::info!(order_id = %order.order_id, correlation_id = ?correlation.0, "order accepted");
    Ok(OrderAccepted {
        order_id: order.order_id,
        item_count: order.items.iter().map(|i| i.quantity).sum(),
        accepted_at: Utc::now(),
    })
}

/// Cancel an order in one region.
///
/// The reply goes to the same region's `cancelled` channel.
#[tidings::consumer(channel = "orders.{region}.cancel", group = "fulfilment")]
#[tidings::producer(channel = "orders.{region}.cancelled")]
pub async fn cancel(command: CancelOrder, params: Params) -> OrderCancelled {
    let region = params.get("region").unwrap_or_default().to_owned();
    tracing::info!(order_id = %command.order_id, region, reason = ?command.reason, "order cancelled");
    OrderCancelled { order_id: command.order_id, region }
}

/// Channels consumed by pattern, with their replies: SQS queues have no patterns, so
/// on SQS these stay on the embedded broker (see [`app_on`]).
pub const PATTERN_CHANNELS: [&str; 2] = ["orders.{region}.cancel", "orders.{region}.cancelled"];

/// The service's app with `url` as its default server. On `sqs://` (the fulfilment
/// consumer reading `OrderCreated` from an SQS queue), the regional cancellation
/// channels go to the embedded broker, a second server named `local`: an SQS consumer
/// reads one queue, not a pattern of them; and the orders queue is declared with a
/// visibility timeout of a minute (fulfilment may be slow) and 20 s long polls.
pub fn app_on(app: tidings::App, url: &str) -> tidings::App {
    let app = app.server("default", url);
    if !url.starts_with("sqs://") {
        return app;
    }
    let queue = tidings::sqs::SqsQueue::new()
        .visibility_timeout(std::time::Duration::from_secs(60))
        .receive_wait(std::time::Duration::from_secs(20));
    let app = app.channel_options("orders.created", queue);
    PATTERN_CHANNELS.into_iter().fold(app.server("local", "memory://"), |app, channel| app.route(channel, "local"))
}
