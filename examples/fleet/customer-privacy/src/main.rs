//! customer-privacy: publishes `CustomerDataDeletionRequest` on the Kafka topic
//! `privacy.deletion-requests`; the catalog config mirrors it onto NATS and SQS. The
//! Kafka server is there for the document: run it locally with `--server kafka=memory://`.

use fleet_events::CustomerDataDeletionRequest;
use tidings::prelude::*;

/// Every erasure request, keyed by customer id.
#[tidings::producer(channel = "privacy.deletion-requests")]
static DELETION_REQUESTS: Producer<CustomerDataDeletionRequest>;

#[tidings::main]
async fn main() -> Result<(), tidings::Error> {
    tidings::app!()
        .title("customer-privacy")
        .server("kafka", "kafka://kafka.internal:9092")
        .run_with(|ctx| async move {
            let request = CustomerDataDeletionRequest {
                customer_id: "customer-1".into(),
                requested_at: "2026-01-01T00:00:00Z".into(),
            };
            DELETION_REQUESTS.publish(&ctx, request).await
        })
        .await
}
